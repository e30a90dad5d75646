//! Sanctions screening: the lists in their published formats, and names matched against
//! them across scripts and spellings.
//!
//! Pure: no IO, no clock, no randomness. The caller hands in the bytes of a list's files
//! and gets a [`List`] or a [`ParseError`] naming the file and line; it builds a
//! [`Screener`] over the lists in force and asks it about names.
//!
//! What it must never do: accept a file that is not in the format it claims, truncated, or
//! past its limits ([`limits`]); expand an XML entity beyond the five predefined ones or
//! read a DTD; panic on any input.
//!
//! Formats: OFAC's SDN list as its legacy CSV files (`sdn.csv`, `alt.csv`, `add.csv`), the
//! UN Security Council consolidated list (XML), and OpenSanctions' FollowTheMoney entities
//! (JSON lines). Matching ([`Screener::screen`]) normalises every name (Unicode NFKC, case
//! fold, diacritics, ʿayn and hamza), transliterates Arabic and Hebrew into Latin letters,
//! compares full forms and consonant skeletons token by token regardless of word order,
//! and explains each match in [`Match::why`].

pub mod eval;
mod ftm;
pub mod limits;
mod matcher;
mod normalize;
mod ofac;
mod un;
mod xml;

pub use matcher::{MAX_MATCHES, Screener, THRESHOLD};
pub use normalize::{NormalName, normalize_name};

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A list's published format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Format {
    /// OFAC's SDN list as CSV: `sdn.csv` (required), `alt.csv`, `add.csv`.
    #[serde(rename = "ofac-csv")]
    OfacCsv,
    /// The UN Security Council consolidated list, one XML file.
    #[serde(rename = "un-xml")]
    UnXml,
    /// OpenSanctions' FollowTheMoney entities, one JSON-lines file.
    #[serde(rename = "ftm-json")]
    FtmJson,
}

impl Format {
    /// Every format, in the order the CLI lists them.
    pub const ALL: [Format; 3] = [Format::OfacCsv, Format::UnXml, Format::FtmJson];

    /// The format's name on the command line and in the record.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::OfacCsv => "ofac-csv",
            Format::UnXml => "un-xml",
            Format::FtmJson => "ftm-json",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| format!("unknown list format {s:?} (ofac-csv, un-xml or ftm-json)"))
    }
}

/// One file of a list as loaded: its name (OFAC's files are told apart by name) and bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceFile<'a> {
    pub name: &'a str,
    pub bytes: &'a [u8],
}

/// What a listed entry or a screened counterparty is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Person,
    #[serde(alias = "organization")]
    Organisation,
    Vessel,
    Aircraft,
    Other,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Person,
        Kind::Organisation,
        Kind::Vessel,
        Kind::Aircraft,
        Kind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Person => "person",
            Kind::Organisation => "organisation",
            Kind::Vessel => "vessel",
            Kind::Aircraft => "aircraft",
            Kind::Other => "other",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "organization" {
            return Ok(Kind::Organisation);
        }
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                format!("unknown kind {s:?} (person, organisation, vessel, aircraft or other)")
            })
    }
}

/// A sanctions list as parsed from its files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct List {
    /// `ofac-sdn`, `un-sc`, or for FollowTheMoney the dataset all entities share
    /// (otherwise `opensanctions`).
    pub source: String,
    /// The publication date (YYYY-MM-DD) the files carry, when their format carries one
    /// (the UN list's `dateGenerated`; OFAC's CSV files and FtM lines carry none).
    pub published: Option<String>,
    pub entries: Vec<Entry>,
}

/// One listed person, organisation, vessel or aircraft.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The list's own id (OFAC's `ent_num`, the UN reference number, the FtM id).
    pub id: String,
    pub kind: Kind,
    /// The primary name first, then the aliases, each as written in the list.
    pub names: Vec<String>,
    pub countries: Vec<String>,
    pub identifiers: Vec<String>,
    pub programs: Vec<String>,
}

/// Why a list's files were refused: the file, the line when there is one, and the problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParseError {
    pub file: String,
    pub line: Option<u64>,
    pub message: String,
}

impl ParseError {
    pub(crate) fn new(file: &str, line: Option<u64>, message: impl Into<String>) -> ParseError {
        ParseError {
            file: file.to_string(),
            line,
            message: message.into(),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{} line {}: {}", self.file, line, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for ParseError {}

/// Parses a list from its files in the format given.
///
/// OFAC: files named `sdn.csv` (required), `alt.csv` and `add.csv` (by their file name,
/// any folder). UN: one XML file. FtM: one JSON-lines file.
pub fn parse(format: Format, files: &[SourceFile<'_>]) -> Result<List, ParseError> {
    parse_stated(format, files, None)
}

/// [`parse`], and when the caller states a publication date (YYYY-MM-DD), refuses files
/// that carry a different one. A format that carries no date takes the stated one.
pub fn parse_stated(
    format: Format,
    files: &[SourceFile<'_>],
    stated: Option<&str>,
) -> Result<List, ParseError> {
    let first = files.first().map_or("(no file)", |f| f.name);
    if files.is_empty() {
        return Err(ParseError::new(first, None, "no file given"));
    }
    if files.len() > limits::MAX_FILES {
        return Err(ParseError::new(
            first,
            None,
            format!("{} files given; at most {}", files.len(), limits::MAX_FILES),
        ));
    }
    for f in files {
        if f.bytes.len() > limits::MAX_FILE_BYTES {
            return Err(ParseError::new(
                f.name,
                None,
                format!(
                    "{} bytes; a list file may have at most {}",
                    f.bytes.len(),
                    limits::MAX_FILE_BYTES
                ),
            ));
        }
    }
    if let Some(date) = stated
        && !is_date(date)
    {
        return Err(ParseError::new(
            first,
            None,
            format!("stated publication date {date:?} is not YYYY-MM-DD"),
        ));
    }
    let mut list = match format {
        Format::OfacCsv => ofac::parse(files)?,
        Format::UnXml => {
            let f = single(files, "un-xml")?;
            un::parse(f.name, f.bytes)?
        }
        Format::FtmJson => {
            let f = single(files, "ftm-json")?;
            ftm::parse(f.name, f.bytes)?
        }
    };
    match (stated, &list.published) {
        (Some(stated), Some(found)) if stated != found => {
            return Err(ParseError::new(
                first,
                None,
                format!("the file says it was published on {found}, not on {stated} as stated"),
            ));
        }
        (Some(stated), None) => list.published = Some(stated.to_string()),
        _ => {}
    }
    Ok(list)
}

fn single<'a>(files: &'a [SourceFile<'a>], format: &str) -> Result<&'a SourceFile<'a>, ParseError> {
    match files {
        [one] => Ok(one),
        [_, second, ..] => Err(ParseError::new(
            second.name,
            None,
            format!("{format} takes one file, {} given", files.len()),
        )),
        [] => Err(ParseError::new("(no file)", None, "no file given")),
    }
}

/// YYYY-MM-DD with a month 01–12 and a day 01–31.
pub(crate) fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        && (1..=12).contains(&s[5..7].parse::<u8>().unwrap_or(0))
        && (1..=31).contains(&s[8..10].parse::<u8>().unwrap_or(0))
}

/// A name screened: its kind when known, every form of it (e.g. as written in Arabic,
/// Hebrew and Latin letters), and its country when known.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Query<'a> {
    pub kind: Option<Kind>,
    pub names: &'a [&'a str],
    pub country: Option<&'a str>,
}

/// A listed entry that one of the query's names met.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Match {
    /// The list's `source`.
    pub list: String,
    pub entry_id: String,
    /// The listed name or alias met, as written in the list.
    pub listed_name: String,
    /// The query's name that met it, as given.
    pub our_name: String,
    /// 0..=1.
    pub score: f64,
    /// Which normalisations brought the two together.
    pub why: String,
}
