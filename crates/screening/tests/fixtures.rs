//! The fixtures in each list's published format parse, and screening finds their entries
//! across scripts and spellings.

use liaison_screening::{Format, Kind, List, Query, Screener, SourceFile, THRESHOLD, parse};

const SDN: &[u8] = include_bytes!("../fixtures/ofac/sdn.csv");
const ALT: &[u8] = include_bytes!("../fixtures/ofac/alt.csv");
const ADD: &[u8] = include_bytes!("../fixtures/ofac/add.csv");
const UN: &[u8] = include_bytes!("../fixtures/un/consolidated.xml");
const FTM: &[u8] = include_bytes!("../fixtures/opensanctions/entities.ftm.json");

fn ofac() -> List {
    parse(
        Format::OfacCsv,
        &[
            SourceFile {
                name: "sdn.csv",
                bytes: SDN,
            },
            SourceFile {
                name: "alt.csv",
                bytes: ALT,
            },
            SourceFile {
                name: "add.csv",
                bytes: ADD,
            },
        ],
    )
    .expect("the OFAC fixture parses")
}

fn un() -> List {
    parse(
        Format::UnXml,
        &[SourceFile {
            name: "consolidated.xml",
            bytes: UN,
        }],
    )
    .expect("the UN fixture parses")
}

fn ftm() -> List {
    parse(
        Format::FtmJson,
        &[SourceFile {
            name: "entities.ftm.json",
            bytes: FTM,
        }],
    )
    .expect("the FtM fixture parses")
}

#[test]
fn ofac_csv_parses_with_aliases_countries_and_identifiers() {
    let l = ofac();
    assert_eq!(l.source, "ofac-sdn");
    assert_eq!(l.published, None);
    assert_eq!(l.entries.len(), 29);
    let z = &l.entries[0];
    assert_eq!(z.id, "10001");
    assert_eq!(z.kind, Kind::Person);
    assert_eq!(z.names[0], "AL-ZAWAHIRI, Ayman");
    assert!(z.names.contains(&"Ahmad Fuad Salim".to_string()));
    assert_eq!(z.countries, vec!["Egypt"]);
    assert_eq!(z.identifiers, vec!["Passport No. 1084010 (Egypt)"]);
    assert_eq!(z.programs, vec!["SDGT"]);
    let h = l
        .entries
        .iter()
        .find(|e| e.names[0] == "HIZBALLAH")
        .expect("Hizballah");
    assert_eq!(h.kind, Kind::Organisation);
    assert_eq!(h.programs, vec!["SDGT", "FTO"]);
    let v = l.entries.last().expect("a vessel");
    assert_eq!(v.kind, Kind::Vessel);
    assert_eq!(v.countries, vec!["Panama"]);
    assert!(v.identifiers.contains(&"IMO 9116412".to_string()));
}

#[test]
fn un_xml_parses_with_original_script_and_date() {
    let l = un();
    assert_eq!(l.source, "un-sc");
    assert_eq!(l.published.as_deref(), Some("2025-11-03"));
    assert_eq!(l.entries.len(), 28);
    let z = &l.entries[0];
    assert_eq!(z.id, "QDi.400");
    assert_eq!(z.names[0], "AYMAN MUHAMMED RABIE AL-ZAWAHIRI");
    assert_eq!(z.names[1], "أيمن محمد ربيع الظواهري");
    assert_eq!(z.identifiers, vec!["Passport 1084010"]);
    assert!(
        l.entries
            .iter()
            .any(|e| e.kind == Kind::Organisation && e.names[0] == "HAMAS")
    );
}

#[test]
fn ftm_parses_things_and_their_sanctions() {
    let l = ftm();
    assert_eq!(l.source, "opensanctions");
    assert_eq!(l.entries.len(), 16 + 12 + 8 + 1);
    let z = &l.entries[0];
    assert_eq!(z.kind, Kind::Person);
    assert_eq!(z.programs, vec!["SDGT", "Office of Foreign Assets Control"]);
    assert!(
        l.entries
            .iter()
            .any(|e| e.names.contains(&"להבה".to_string()))
    );
    assert!(l.entries.iter().any(|e| e.kind == Kind::Vessel));
}

fn screener() -> Screener {
    Screener::new(&[ofac(), un(), ftm()])
}

fn best(s: &Screener, kind: Option<Kind>, names: &[&str]) -> Vec<(String, String, f64)> {
    s.screen(&Query {
        kind,
        names,
        country: None,
    })
    .into_iter()
    .map(|m| (m.list, m.listed_name, m.score))
    .collect()
}

#[test]
fn arabic_script_meets_latin_listing() {
    let s = screener();
    let m = s.screen(&Query {
        kind: Some(Kind::Person),
        names: &["أيمن الظواهري"],
        country: None,
    });
    let ofac = m
        .iter()
        .find(|m| m.list == "ofac-sdn")
        .expect("an OFAC match");
    assert_eq!(ofac.entry_id, "10001");
    assert!(ofac.score >= THRESHOLD);
    assert!(ofac.why.contains("ar→latin"), "{}", ofac.why);
}

#[test]
fn spellings_word_order_and_honorifics() {
    let s = screener();
    for q in [
        "Sheikh Hassan Nasrallah",
        "Nasrallah Hasan",
        "Hasan Nasrullah",
        "حسن نصرالله",
    ] {
        let m = best(&s, Some(Kind::Person), &[q]);
        assert!(
            m.iter()
                .any(|(l, n, _)| l == "ofac-sdn" && n.to_lowercase().contains("nasr")),
            "{q}: {m:?}"
        );
    }
}

#[test]
fn company_forms_are_dropped() {
    let s = screener();
    let m = best(
        &s,
        Some(Kind::Organisation),
        &["Syriatel Mobile Telecom LLC"],
    );
    assert!(m.iter().any(|(_, n, _)| n.contains("SYRIATEL")), "{m:?}");
    let m = best(&s, Some(Kind::Organisation), &["شركة سيرياتل"]);
    assert!(!m.is_empty(), "{m:?}");
}

#[test]
fn hebrew_script_meets_latin_listing() {
    let s = Screener::new(&[ftm()]);
    let m = best(&s, Some(Kind::Person), &["דניאלה וייס"]);
    assert!(
        m.iter()
            .any(|(_, n, _)| n.contains("וייס") || n.contains("Weiss")),
        "{m:?}"
    );
    let m = best(&s, Some(Kind::Person), &["Baruch Marzel"]);
    assert!(!m.is_empty(), "{m:?}");
}

#[test]
fn different_people_do_not_match() {
    let s = screener();
    for q in [
        "John Smith",
        "Ahmad Hassan",
        "Muhammad Ali",
        "Mahmoud Abbas",
    ] {
        let m = best(&s, Some(Kind::Person), &[q]);
        assert!(m.is_empty(), "{q}: {m:?}");
    }
}

#[test]
fn kind_filters_and_a_later_list_replaces_an_earlier() {
    let s = screener();
    assert!(best(&s, Some(Kind::Organisation), &["Ayman al-Zawahiri"]).is_empty());
    let mut smaller = ofac();
    smaller.entries.retain(|e| e.id != "10001");
    let s = Screener::new(&[ofac(), smaller]);
    assert!(best(&s, None, &["Ayman al-Zawahiri"]).is_empty());
}
