//! The UN Security Council consolidated list (XML): `CONSOLIDATED_LIST` with its
//! `dateGenerated`, `INDIVIDUALS/INDIVIDUAL` (`FIRST_NAME`..`FOURTH_NAME`,
//! `NAME_ORIGINAL_SCRIPT`, `INDIVIDUAL_ALIAS/ALIAS_NAME`, `NATIONALITY/VALUE`,
//! `INDIVIDUAL_ADDRESS/COUNTRY`, `INDIVIDUAL_DOCUMENT`) and `ENTITIES/ENTITY`.

use crate::limits::{
    MAX_ENTRIES, MAX_NAME_BYTES, MAX_NAMES_PER_ENTRY, MAX_VALUE_BYTES, MAX_VALUES_PER_ENTRY,
};
use crate::xml::{self, Element};
use crate::{Entry, Kind, List, ParseError};

pub(crate) fn parse(file: &str, bytes: &[u8]) -> Result<List, ParseError> {
    let root = xml::read(file, bytes)?;
    let err = |line: u64, m: String| ParseError::new(file, Some(line), m);
    if root.name != "CONSOLIDATED_LIST" {
        return Err(err(
            root.line,
            format!(
                "the root element is <{}>, not the UN list's <CONSOLIDATED_LIST>",
                root.name
            ),
        ));
    }
    let generated = root.attr("dateGenerated").ok_or_else(|| {
        err(
            root.line,
            "<CONSOLIDATED_LIST> has no dateGenerated attribute".into(),
        )
    })?;
    let published = generated
        .get(..10)
        .filter(|d| crate::is_date(d))
        .ok_or_else(|| {
            err(
                root.line,
                format!("dateGenerated {generated:?} does not start with a YYYY-MM-DD date"),
            )
        })?;
    let (Some(individuals), Some(entities)) = (root.child("INDIVIDUALS"), root.child("ENTITIES"))
    else {
        return Err(err(
            root.line,
            "<CONSOLIDATED_LIST> must hold <INDIVIDUALS> and <ENTITIES>".into(),
        ));
    };
    let mut entries = Vec::new();
    for (group, item, kind) in [
        (individuals, "INDIVIDUAL", Kind::Person),
        (entities, "ENTITY", Kind::Organisation),
    ] {
        for el in &group.children {
            if el.name != item {
                return Err(err(
                    el.line,
                    format!(
                        "<{}> holds <{item}> elements, not <{}>",
                        group.name, el.name
                    ),
                ));
            }
            if entries.len() == MAX_ENTRIES {
                return Err(err(el.line, format!("more than {MAX_ENTRIES} entries")));
            }
            entries.push(entry(file, el, kind)?);
        }
    }
    Ok(List {
        source: "un-sc".into(),
        published: Some(published.to_string()),
        entries,
    })
}

fn push(
    file: &str,
    line: u64,
    what: &str,
    out: &mut Vec<String>,
    value: &str,
    max_bytes: usize,
    max_count: usize,
) -> Result<(), ParseError> {
    let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
    if value.is_empty() || out.contains(&value) {
        return Ok(());
    }
    if value.len() > max_bytes {
        return Err(ParseError::new(
            file,
            Some(line),
            format!("a {what} longer than {max_bytes} bytes"),
        ));
    }
    if out.len() == max_count {
        return Err(ParseError::new(
            file,
            Some(line),
            format!("more than {max_count} {what}s in one entry"),
        ));
    }
    out.push(value);
    Ok(())
}

fn entry(file: &str, el: &Element, kind: Kind) -> Result<Entry, ParseError> {
    let id = el
        .child_text("REFERENCE_NUMBER")
        .or_else(|| el.child_text("DATAID"))
        .ok_or_else(|| {
            ParseError::new(
                file,
                Some(el.line),
                format!("<{}> has neither REFERENCE_NUMBER nor DATAID", el.name),
            )
        })?
        .to_string();
    let mut names = Vec::new();
    let name = |v: &str, line: u64, names: &mut Vec<String>| {
        push(
            file,
            line,
            "name",
            names,
            v,
            MAX_NAME_BYTES,
            MAX_NAMES_PER_ENTRY,
        )
    };
    let primary: Vec<&str> = ["FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME"]
        .iter()
        .filter_map(|n| el.child_text(n))
        .collect();
    if primary.is_empty() {
        return Err(ParseError::new(
            file,
            Some(el.line),
            format!("<{}> {id} has no FIRST_NAME", el.name),
        ));
    }
    name(&primary.join(" "), el.line, &mut names)?;
    if let Some(original) = el.child_text("NAME_ORIGINAL_SCRIPT") {
        name(original, el.line, &mut names)?;
    }
    let alias_tag = if kind == Kind::Person {
        "INDIVIDUAL_ALIAS"
    } else {
        "ENTITY_ALIAS"
    };
    for alias in el.children(alias_tag) {
        if let Some(a) = alias.child_text("ALIAS_NAME") {
            name(a, alias.line, &mut names)?;
        }
    }
    let mut countries = Vec::new();
    let value = |out: &mut Vec<String>, v: &str, line: u64, what: &str| {
        push(
            file,
            line,
            what,
            out,
            v,
            MAX_VALUE_BYTES,
            MAX_VALUES_PER_ENTRY,
        )
    };
    if let Some(nat) = el.child("NATIONALITY") {
        for v in nat.children("VALUE") {
            value(&mut countries, &v.text, v.line, "country")?;
        }
    }
    let address_tag = if kind == Kind::Person {
        "INDIVIDUAL_ADDRESS"
    } else {
        "ENTITY_ADDRESS"
    };
    for a in el.children(address_tag) {
        if let Some(c) = a.child_text("COUNTRY") {
            value(&mut countries, c, a.line, "country")?;
        }
    }
    let mut identifiers = Vec::new();
    for d in el.children("INDIVIDUAL_DOCUMENT") {
        if let Some(number) = d.child_text("NUMBER") {
            let label = match d.child_text("TYPE_OF_DOCUMENT") {
                Some(t) => format!("{t} {number}"),
                None => number.to_string(),
            };
            value(&mut identifiers, &label, d.line, "identifier")?;
        }
    }
    let mut programs = Vec::new();
    if let Some(p) = el.child_text("UN_LIST_TYPE") {
        value(&mut programs, p, el.line, "programme")?;
    }
    Ok(Entry {
        id,
        kind,
        names,
        countries,
        identifiers,
        programs,
    })
}
