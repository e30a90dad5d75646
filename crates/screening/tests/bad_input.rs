//! Files that are not what they claim, truncated, past a limit, or with another
//! publication date than stated are refused with the file and line named.

use liaison_screening::{Format, ParseError, SourceFile, parse, parse_stated};

const SDN: &[u8] = include_bytes!("../fixtures/ofac/sdn.csv");
const ALT: &[u8] = include_bytes!("../fixtures/ofac/alt.csv");
const UN: &[u8] = include_bytes!("../fixtures/un/consolidated.xml");
const FTM: &[u8] = include_bytes!("../fixtures/opensanctions/entities.ftm.json");

fn one(format: Format, name: &str, bytes: &[u8]) -> Result<liaison_screening::List, ParseError> {
    parse(format, &[SourceFile { name, bytes }])
}

fn refused(r: Result<liaison_screening::List, ParseError>) -> ParseError {
    match r {
        Ok(l) => panic!("accepted {} entries", l.entries.len()),
        Err(e) => e,
    }
}

#[test]
fn truncated_files_are_refused() {
    let e = refused(one(Format::OfacCsv, "sdn.csv", &SDN[..SDN.len() / 2]));
    assert_eq!(e.file, "sdn.csv");
    assert!(e.message.contains("end-of-file mark"), "{e}");
    assert!(e.line.is_some());

    let e = refused(one(Format::UnXml, "un.xml", &UN[..UN.len() - 200]));
    assert!(e.message.contains("truncated"), "{e}");
    let at_line_end = UN[..UN.len() - 200]
        .iter()
        .rposition(|b| *b == b'\n')
        .expect("lines");
    let e = refused(one(Format::UnXml, "un.xml", &UN[..at_line_end + 1]));
    assert!(e.message.contains("ends inside <"), "{e}");
    assert!(e.to_string().starts_with("un.xml line "), "{e}");

    let cut = FTM.len() - 40;
    let e = refused(one(Format::FtmJson, "e.json", &FTM[..cut]));
    assert!(e.message.contains("truncated"), "{e}");
    let last_line = 1 + FTM[..cut].iter().filter(|b| **b == b'\n').count() as u64;
    assert_eq!(e.line, Some(last_line));
}

#[test]
fn a_file_in_another_format_is_refused() {
    let e = refused(one(Format::UnXml, "sdn.csv", SDN));
    assert_eq!(e.line, Some(1), "{e}");
    let e = refused(one(Format::FtmJson, "un.xml", UN));
    assert!(e.message.contains("not a FollowTheMoney entity"), "{e}");
    assert_eq!(e.line, Some(1));
    let e = refused(one(Format::OfacCsv, "sdn.csv", FTM));
    assert!(e.message.contains("end-of-file mark"), "{e}");
    let e = refused(one(Format::OfacCsv, "alt.csv", ALT));
    assert!(e.message.contains("needs sdn.csv"), "{e}");
    let e = refused(one(Format::OfacCsv, "list.csv", SDN));
    assert!(e.message.contains("not one of OFAC's files"), "{e}");
    // alt.csv given as sdn.csv: five fields where twelve are due.
    let e = refused(one(Format::OfacCsv, "sdn.csv", ALT));
    assert_eq!(e.line, Some(1));
    assert!(e.message.contains("5 fields"), "{e}");
}

#[test]
fn a_bad_record_is_named_by_its_line() {
    let mut bad = SDN.to_vec();
    let third = bad
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .nth(1)
        .map(|(i, _)| i + 1)
        .expect("lines");
    bad.splice(third..third, b"X".iter().copied());
    let e = refused(one(Format::OfacCsv, "sdn.csv", &bad));
    assert_eq!(e.line, Some(3), "{e}");

    let text = String::from_utf8(UN.to_vec()).expect("utf-8");
    let bad = text
        .replacen("<REFERENCE_NUMBER>QDi.402</REFERENCE_NUMBER>", "", 1)
        .replacen("<DATAID>6908003</DATAID>", "", 1);
    let e = refused(one(Format::UnXml, "un.xml", bad.as_bytes()));
    assert!(
        e.message.contains("neither REFERENCE_NUMBER nor DATAID"),
        "{e}"
    );
    let line = 1 + text[..text.find("<DATAID>6908003").expect("entry")]
        .matches('\n')
        .count() as u64;
    assert_eq!(e.line, Some(line - 1));

    let bad = text.replacen(
        "<CONSOLIDATED_LIST",
        "<!DOCTYPE x [<!ENTITY a \"b\">]>\n<CONSOLIDATED_LIST",
        1,
    );
    let e = refused(one(Format::UnXml, "un.xml", bad.as_bytes()));
    assert!(e.message.contains("DOCTYPE"), "{e}");
}

#[test]
fn a_publication_date_other_than_stated_is_refused() {
    let files = [SourceFile {
        name: "un.xml",
        bytes: UN,
    }];
    let ok = parse_stated(Format::UnXml, &files, Some("2025-11-03")).expect("same date");
    assert_eq!(ok.published.as_deref(), Some("2025-11-03"));
    let e = refused(parse_stated(Format::UnXml, &files, Some("2025-10-01")));
    assert!(
        e.message
            .contains("published on 2025-11-03, not on 2025-10-01"),
        "{e}"
    );
    let e = refused(parse_stated(Format::UnXml, &files, Some("1 Oct 2025")));
    assert!(e.message.contains("YYYY-MM-DD"), "{e}");
    // OFAC's CSV carries no date: the stated one is taken.
    let l = parse_stated(
        Format::OfacCsv,
        &[SourceFile {
            name: "sdn.csv",
            bytes: SDN,
        }],
        Some("2025-11-01"),
    )
    .expect("ofac");
    assert_eq!(l.published.as_deref(), Some("2025-11-01"));
}

#[test]
fn limits_are_held() {
    let long = "A".repeat(liaison_screening::limits::MAX_NAME_BYTES + 1);
    let line = format!(
        "{{\"id\":\"x\",\"schema\":\"Person\",\"properties\":{{\"name\":[\"{long}\"]}}}}\n"
    );
    let e = refused(one(Format::FtmJson, "e.json", line.as_bytes()));
    assert!(e.message.contains("longer than"), "{e}");
    let names: Vec<String> = (0..=liaison_screening::limits::MAX_NAMES_PER_ENTRY)
        .map(|i| format!("\"n{i}\""))
        .collect();
    let line = format!(
        "{{\"id\":\"x\",\"schema\":\"Person\",\"properties\":{{\"name\":[{}]}}}}\n",
        names.join(",")
    );
    let e = refused(one(Format::FtmJson, "e.json", line.as_bytes()));
    assert!(e.message.contains("more than 1000 names"), "{e}");
    let e = refused(parse(
        Format::UnXml,
        &[
            SourceFile {
                name: "a.xml",
                bytes: UN,
            },
            SourceFile {
                name: "b.xml",
                bytes: UN,
            },
        ],
    ));
    assert_eq!(e.file, "b.xml");
    let e = refused(one(
        Format::FtmJson,
        "e.json",
        b"{\"id\":\"x\",\"schema\":\"Person\",\"properties\":{}}\n",
    ));
    assert!(e.message.contains("has no name"), "{e}");
}
