//! OFAC's SDN list in its legacy CSV files: no header, every field quoted, `-0- ` for an
//! empty field, CRLF line ends, and a last line holding only the end-of-file mark 0x1A.
//! `sdn.csv`: ent_num, SDN_Name, SDN_Type, Program, Title, Call_Sign, Vess_type, Tonnage,
//! GRT, Vess_flag, Vess_owner, Remarks. `alt.csv`: ent_num, alt_num, alt_type, alt_name,
//! alt_remarks. `add.csv`: ent_num, Add_num, Address, City/State/Province/Postal Code,
//! Country, Add_remarks.

use crate::limits::{
    MAX_ENTRIES, MAX_NAME_BYTES, MAX_NAMES_PER_ENTRY, MAX_VALUE_BYTES, MAX_VALUES_PER_ENTRY,
};
use crate::{Entry, Kind, List, ParseError, SourceFile};
use std::collections::HashMap;

const EOF_MARK: u8 = 0x1A;

/// A field's value with OFAC's empty marker read as nothing.
fn field(raw: &str) -> Option<&str> {
    let t = raw.trim();
    if t.is_empty() || t == "-0-" {
        None
    } else {
        Some(t)
    }
}

fn base_name(name: &str) -> &str {
    name.rsplit(['/', '\\']).next().unwrap_or(name)
}

pub(crate) fn parse(files: &[SourceFile<'_>]) -> Result<List, ParseError> {
    let mut sdn = None;
    let mut alt = None;
    let mut add = None;
    for f in files {
        let slot = match base_name(f.name).to_ascii_lowercase().as_str() {
            "sdn.csv" => &mut sdn,
            "alt.csv" => &mut alt,
            "add.csv" => &mut add,
            other => {
                return Err(ParseError::new(
                    f.name,
                    None,
                    format!("{other:?} is not one of OFAC's files (sdn.csv, alt.csv, add.csv)"),
                ));
            }
        };
        if slot.is_some() {
            return Err(ParseError::new(f.name, None, "this file is given twice"));
        }
        *slot = Some(f);
    }
    let sdn = sdn.ok_or_else(|| {
        ParseError::new(
            files.first().map_or("sdn.csv", |f| f.name),
            None,
            "ofac-csv needs sdn.csv",
        )
    })?;
    let mut entries: Vec<Entry> = Vec::new();
    let mut by_num: HashMap<String, usize> = HashMap::new();
    for (line, rec) in records(sdn, 12)? {
        let err = |m: String| ParseError::new(sdn.name, Some(line), m);
        let num =
            ent_num(&rec[0]).ok_or_else(|| err(format!("ent_num {:?} is not a number", rec[0])))?;
        if by_num.contains_key(&num) {
            return Err(err(format!("ent_num {num} appears twice")));
        }
        if entries.len() == MAX_ENTRIES {
            return Err(err(format!("more than {MAX_ENTRIES} entries")));
        }
        let name = field(&rec[1]).ok_or_else(|| err(format!("entry {num} has no name")))?;
        let kind = match field(&rec[2]) {
            None => Kind::Organisation,
            Some(t) if t.eq_ignore_ascii_case("individual") => Kind::Person,
            Some(t) if t.eq_ignore_ascii_case("vessel") => Kind::Vessel,
            Some(t) if t.eq_ignore_ascii_case("aircraft") => Kind::Aircraft,
            Some(t) => {
                return Err(err(format!(
                    "SDN_Type {t:?} is not individual, vessel, aircraft or -0-"
                )));
            }
        };
        let mut e = Entry {
            id: num.clone(),
            kind,
            names: Vec::new(),
            countries: Vec::new(),
            identifiers: Vec::new(),
            programs: Vec::new(),
        };
        add_name(&mut e, name).map_err(err)?;
        if let Some(p) = field(&rec[3]) {
            for p in p.split("] [").map(|p| p.trim_matches(['[', ']', ' '])) {
                add_value(&mut e.programs, p, "programme").map_err(err)?;
            }
        }
        if let Some(call) = field(&rec[5]) {
            add_value(
                &mut e.identifiers,
                &format!("Call Sign {call}"),
                "identifier",
            )
            .map_err(err)?;
        }
        if let Some(flag) = field(&rec[9]) {
            add_value(&mut e.countries, flag, "country").map_err(err)?;
        }
        if let Some(remarks) = field(&rec[11]) {
            remarks_into(&mut e, remarks).map_err(err)?;
        }
        by_num.insert(num, entries.len());
        entries.push(e);
    }
    if let Some(alt) = alt {
        for (line, rec) in records(alt, 5)? {
            let err = |m: String| ParseError::new(alt.name, Some(line), m);
            let e = entry_of(&rec[0], &by_num, &mut entries).map_err(err)?;
            if let Some(name) = field(&rec[3]) {
                add_name(e, name).map_err(err)?;
            }
        }
    }
    if let Some(add) = add {
        for (line, rec) in records(add, 6)? {
            let err = |m: String| ParseError::new(add.name, Some(line), m);
            let e = entry_of(&rec[0], &by_num, &mut entries).map_err(err)?;
            if let Some(country) = field(&rec[4]) {
                add_value(&mut e.countries, country, "country").map_err(err)?;
            }
        }
    }
    Ok(List {
        source: "ofac-sdn".into(),
        published: None,
        entries,
    })
}

fn ent_num(raw: &str) -> Option<String> {
    let t = raw.trim();
    (!t.is_empty() && t.len() <= 12 && t.bytes().all(|b| b.is_ascii_digit())).then(|| t.to_string())
}

fn entry_of<'e>(
    raw: &str,
    by_num: &HashMap<String, usize>,
    entries: &'e mut [Entry],
) -> Result<&'e mut Entry, String> {
    let num = ent_num(raw).ok_or_else(|| format!("ent_num {raw:?} is not a number"))?;
    let i = by_num
        .get(&num)
        .ok_or_else(|| format!("ent_num {num} is not in sdn.csv"))?;
    Ok(&mut entries[*i])
}

fn add_name(e: &mut Entry, name: &str) -> Result<(), String> {
    let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.len() > MAX_NAME_BYTES {
        return Err(format!("a name longer than {MAX_NAME_BYTES} bytes"));
    }
    if e.names.contains(&name) {
        return Ok(());
    }
    if e.names.len() == MAX_NAMES_PER_ENTRY {
        return Err(format!(
            "entry {} has more than {MAX_NAMES_PER_ENTRY} names",
            e.id
        ));
    }
    e.names.push(name);
    Ok(())
}

fn add_value(out: &mut Vec<String>, v: &str, what: &str) -> Result<(), String> {
    let v = v.trim().trim_end_matches('.').trim();
    if v.is_empty() || out.iter().any(|x| x == v) {
        return Ok(());
    }
    if v.len() > MAX_VALUE_BYTES {
        return Err(format!("a {what} longer than {MAX_VALUE_BYTES} bytes"));
    }
    if out.len() == MAX_VALUES_PER_ENTRY {
        return Err(format!(
            "more than {MAX_VALUES_PER_ENTRY} {what}s in one entry"
        ));
    }
    out.push(v.to_string());
    Ok(())
}

/// Identifiers and nationalities written in the remarks ("Passport No. 1084010 (Egypt);
/// nationality Egypt; ...").
fn remarks_into(e: &mut Entry, remarks: &str) -> Result<(), String> {
    const IDS: [&str; 9] = [
        "Passport No.",
        "National ID No.",
        "Identification Number",
        "Registration Number",
        "Business Registration Number",
        "Tax ID No.",
        "Company Number",
        "Vessel Registration Identification",
        "IMO",
    ];
    for part in remarks.split(';') {
        let part = part.trim();
        let part = part.strip_prefix("alt. ").unwrap_or(part);
        if let Some(c) = part
            .strip_prefix("nationality ")
            .or_else(|| part.strip_prefix("citizen "))
        {
            add_value(&mut e.countries, c, "country")?;
        } else if IDS.iter().any(|p| part.starts_with(p)) {
            add_value(&mut e.identifiers, part, "identifier")?;
        }
    }
    Ok(())
}

/// The file's records with their line numbers, each with exactly `width` fields.
fn records(f: &SourceFile<'_>, width: usize) -> Result<Vec<(u64, Vec<String>)>, ParseError> {
    let end = f
        .bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .ok_or_else(|| ParseError::new(f.name, None, "the file is empty"))?;
    if f.bytes[end] != EOF_MARK {
        let line = 1 + f.bytes.iter().filter(|b| **b == b'\n').count() as u64;
        return Err(ParseError::new(
            f.name,
            Some(line),
            "the file does not end with OFAC's end-of-file mark (0x1A): truncated, or not an OFAC CSV file",
        ));
    }
    let body = &f.bytes[..end];
    if let Some(at) = body.iter().position(|b| *b == EOF_MARK) {
        let line = 1 + body[..at].iter().filter(|b| **b == b'\n').count() as u64;
        return Err(ParseError::new(
            f.name,
            Some(line),
            "an end-of-file mark (0x1A) before the end of the file",
        ));
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(body);
    let mut out = Vec::new();
    let mut rec = csv::StringRecord::new();
    // The csv crate's own line count lags behind on CRLF line ends: count from bytes.
    let mut counted = (0usize, 1u64);
    let mut line_at = |byte: u64| {
        let mut byte = usize::try_from(byte).unwrap_or(usize::MAX).min(body.len());
        // A record's position may be the line end before it.
        while byte < body.len() && matches!(body[byte], b'\r' | b'\n') {
            byte += 1;
        }
        if byte >= counted.0 {
            counted.1 += body[counted.0..byte]
                .iter()
                .filter(|b| **b == b'\n')
                .count() as u64;
            counted.0 = byte;
        }
        counted.1
    };
    loop {
        let line = line_at(reader.position().byte());
        match reader.read_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {
                let line = rec.position().map_or(line, |p| line_at(p.byte()));
                if rec.len() == 1 && rec[0].trim().is_empty() {
                    continue;
                }
                if rec.len() != width {
                    return Err(ParseError::new(
                        f.name,
                        Some(line),
                        format!("{} fields; this file's records have {width}", rec.len()),
                    ));
                }
                out.push((line, rec.iter().map(str::to_string).collect()));
            }
            Err(e) => {
                let line = e.position().map_or(line, |p| line_at(p.byte()));
                let message = match e.kind() {
                    csv::ErrorKind::Utf8 { .. } => "not UTF-8 text".to_string(),
                    _ => format!("malformed CSV: {e}"),
                };
                return Err(ParseError::new(f.name, Some(line), message));
            }
        }
    }
    if out.is_empty() {
        return Err(ParseError::new(f.name, None, "no records"));
    }
    Ok(out)
}
