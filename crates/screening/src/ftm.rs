//! OpenSanctions' FollowTheMoney entities, one JSON object a line: `id`, `schema`,
//! `properties` (each a list of strings: `name`, `alias`, `weakAlias`, `previousName`,
//! `country`, `nationality`, `jurisdiction`, identifiers, `program`), `datasets`.
//! Entities of the "thing" schemata become entries; `Sanction` entities add their
//! `program` to the entity they name; the other schemata (addresses, links) are skipped.

use crate::limits::{
    MAX_ENTRIES, MAX_LINE_BYTES, MAX_NAME_BYTES, MAX_NAMES_PER_ENTRY, MAX_VALUE_BYTES,
    MAX_VALUES_PER_ENTRY,
};
use crate::{Entry, Kind, List, ParseError};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};

#[derive(Deserialize)]
struct Line {
    id: String,
    schema: String,
    #[serde(default)]
    properties: BTreeMap<String, Vec<serde_json::Value>>,
    #[serde(default)]
    datasets: Vec<String>,
}

const NAME_PROPS: [&str; 4] = ["name", "alias", "previousName", "weakAlias"];
const COUNTRY_PROPS: [&str; 4] = ["country", "nationality", "citizenship", "jurisdiction"];
const ID_PROPS: [&str; 12] = [
    "idNumber",
    "passportNumber",
    "registrationNumber",
    "taxNumber",
    "innCode",
    "ogrnCode",
    "leiCode",
    "swiftBic",
    "imoNumber",
    "mmsi",
    "callSign",
    "vatCode",
];

fn kind_of(schema: &str) -> Option<Kind> {
    Some(match schema {
        "Person" => Kind::Person,
        "Organization" | "Company" | "LegalEntity" | "PublicBody" => Kind::Organisation,
        "Vessel" => Kind::Vessel,
        "Airplane" => Kind::Aircraft,
        "Thing" | "Asset" | "Vehicle" | "Security" | "CryptoWallet" => Kind::Other,
        _ => return None,
    })
}

fn strings(
    props: &BTreeMap<String, Vec<serde_json::Value>>,
    key: &str,
) -> Result<Vec<String>, String> {
    let Some(values) = props.get(key) else {
        return Ok(Vec::new());
    };
    values
        .iter()
        .map(|v| match v {
            serde_json::Value::String(s) => Ok(s.split_whitespace().collect::<Vec<_>>().join(" ")),
            _ => Err(format!(
                "properties.{key} holds a value that is not a string"
            )),
        })
        .collect()
}

fn push(
    out: &mut Vec<String>,
    v: String,
    max_bytes: usize,
    max: usize,
    what: &str,
) -> Result<(), String> {
    if v.is_empty() || out.contains(&v) {
        return Ok(());
    }
    if v.len() > max_bytes {
        return Err(format!("a {what} longer than {max_bytes} bytes"));
    }
    if out.len() == max {
        return Err(format!("more than {max} {what}s in one entity"));
    }
    out.push(v);
    Ok(())
}

pub(crate) fn parse(file: &str, bytes: &[u8]) -> Result<List, ParseError> {
    let mut entries: Vec<Entry> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut sanctions: Vec<(u64, String, Vec<String>)> = Vec::new();
    let mut datasets: Option<Vec<String>> = None;
    let mut shared = true;
    if !bytes.is_empty() && bytes.last() != Some(&b'\n') {
        let line = 1 + bytes.iter().filter(|b| **b == b'\n').count() as u64;
        return Err(ParseError::new(
            file,
            Some(line),
            "the last line does not end with a line feed: truncated?",
        ));
    }
    for (i, raw) in bytes.split(|b| *b == b'\n').enumerate() {
        let line = i as u64 + 1;
        let err = |m: String| ParseError::new(file, Some(line), m);
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if raw.len() > MAX_LINE_BYTES {
            return Err(err(format!("a line longer than {MAX_LINE_BYTES} bytes")));
        }
        let l: Line = serde_json::from_slice(raw)
            .map_err(|e| err(format!("not a FollowTheMoney entity: {e}")))?;
        if l.id.is_empty() || l.id.len() > MAX_VALUE_BYTES {
            return Err(err("an entity id must have 1 to 4096 bytes".into()));
        }
        if l.schema == "Sanction" {
            let targets = strings(&l.properties, "entity").map_err(err)?;
            let programs: Vec<String> = ["program", "programId", "authority"]
                .iter()
                .map(|k| strings(&l.properties, k))
                .collect::<Result<Vec<_>, _>>()
                .map_err(err)?
                .into_iter()
                .flatten()
                .collect();
            sanctions.push((line, targets.join("\u{0}"), programs));
            continue;
        }
        let Some(kind) = kind_of(&l.schema) else {
            continue;
        };
        match &datasets {
            None => datasets = Some(l.datasets.clone()),
            Some(d) if *d != l.datasets => shared = false,
            Some(_) => {}
        }
        let mut e = Entry {
            id: l.id.clone(),
            kind,
            names: Vec::new(),
            countries: Vec::new(),
            identifiers: Vec::new(),
            programs: Vec::new(),
        };
        for key in NAME_PROPS {
            for v in strings(&l.properties, key).map_err(err)? {
                push(&mut e.names, v, MAX_NAME_BYTES, MAX_NAMES_PER_ENTRY, "name").map_err(err)?;
            }
        }
        if e.names.is_empty() {
            return Err(err(format!("{} entity {} has no name", l.schema, l.id)));
        }
        for key in COUNTRY_PROPS {
            for v in strings(&l.properties, key).map_err(err)? {
                push(
                    &mut e.countries,
                    v,
                    MAX_VALUE_BYTES,
                    MAX_VALUES_PER_ENTRY,
                    "country",
                )
                .map_err(err)?;
            }
        }
        for key in ID_PROPS {
            for v in strings(&l.properties, key).map_err(err)? {
                push(
                    &mut e.identifiers,
                    v,
                    MAX_VALUE_BYTES,
                    MAX_VALUES_PER_ENTRY,
                    "identifier",
                )
                .map_err(err)?;
            }
        }
        for v in strings(&l.properties, "program").map_err(err)? {
            push(
                &mut e.programs,
                v,
                MAX_VALUE_BYTES,
                MAX_VALUES_PER_ENTRY,
                "programme",
            )
            .map_err(err)?;
        }
        if index.insert(l.id.clone(), entries.len()).is_some() {
            return Err(err(format!("entity {} appears twice", l.id)));
        }
        if entries.len() == MAX_ENTRIES {
            return Err(err(format!("more than {MAX_ENTRIES} entries")));
        }
        entries.push(e);
    }
    for (line, targets, programs) in sanctions {
        for t in targets.split('\u{0}') {
            if let Some(i) = index.get(t) {
                for p in &programs {
                    push(
                        &mut entries[*i].programs,
                        p.clone(),
                        MAX_VALUE_BYTES,
                        MAX_VALUES_PER_ENTRY,
                        "programme",
                    )
                    .map_err(|m| ParseError::new(file, Some(line), m))?;
                }
            }
        }
    }
    if entries.is_empty() {
        return Err(ParseError::new(
            file,
            None,
            "no person, organisation, vessel or aircraft entity in the file",
        ));
    }
    let source = match datasets {
        Some(d) if shared && d.len() == 1 => d[0].clone(),
        _ => "opensanctions".to_string(),
    };
    Ok(List {
        source,
        published: None,
        entries,
    })
}
