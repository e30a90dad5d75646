//! The parser on events as TAK clients send them, and on the attacks it must refuse.

use liaison_cot::{Limits, ParseError, UNKNOWN, parse, parse_each, render_event};

const TAK: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<event version="2.0" uid="ANDROID-358f2a1c" type="a-f-G-U-C" time="2026-03-01T12:00:00.000Z" start="2026-03-01T12:00:00.000Z" stale="2026-03-01T12:05:00.000Z" how="m-g" access="Unclassified">
  <point lat="33.2700" lon="35.7680" hae="9999999.0" ce="15.0" le="9999999.0"/>
  <detail>
    <takv os="34" version="4.10.0.1" device="SAMSUNG SM-G991B" platform="ATAK-CIV"/>
    <contact endpoint="*:-1:stcp" callsign="CYAN-1"/>
    <__group name="Cyan" role="Team Member"/>
    <remarks source="BAO.F.ATAK" time="2026-03-01T12:00:00Z">Checkpoint &amp; clinic, "north" gate</remarks>
    <x:sensor xmlns:x="urn:example:sensor" fov="45"><x:range>1200</x:range></x:sensor>
    <status battery="87"/>
  </detail>
</event>
"#;

fn one(xml: &str) -> liaison_cot::Event {
    let mut v = parse(xml.as_bytes(), &Limits::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v.len(), 1);
    v.remove(0)
}

fn refused(xml: &str) -> ParseError {
    match parse_each(xml.as_bytes(), &Limits::default()) {
        Err(e) => e,
        Ok(v) => panic!("accepted: {v:?}"),
    }
}

#[test]
fn a_tak_position_report_reads_and_keeps_what_it_does_not_model() {
    let e = one(TAK);
    assert_eq!(e.uid, "ANDROID-358f2a1c");
    assert_eq!(e.cot_type, "a-f-G-U-C");
    assert_eq!(e.how, "m-g");
    assert_eq!(e.extra, vec![("access".into(), "Unclassified".into())]);
    assert_eq!(e.point.lat, 33.27);
    assert_eq!(e.point.ce, 15.0);
    assert_eq!(e.point.hae, UNKNOWN);
    let d = e.detail.as_ref().expect("detail");
    assert_eq!(d.callsign(), Some("CYAN-1"));
    let r = d.remarks.as_ref().expect("remarks");
    assert_eq!(r.text, "Checkpoint & clinic, \"north\" gate");
    assert_eq!(r.attr("source"), Some("BAO.F.ATAK"));
    assert_eq!(
        d.kept,
        concat!(
            r#"<takv os="34" version="4.10.0.1" device="SAMSUNG SM-G991B" platform="ATAK-CIV"/>"#,
            r#"<__group name="Cyan" role="Team Member"/>"#,
            r#"<x:sensor xmlns:x="urn:example:sensor" fov="45"><x:range>1200</x:range></x:sensor>"#,
            r#"<status battery="87"/>"#
        )
    );
    // Rendered and read again: the same event, the kept bytes byte for byte.
    let again = one(&render_event(&e));
    assert_eq!(again, e);
}

#[test]
fn shapes_read_links_and_ellipses() {
    let e = one(
        r#"<event version="2.0" uid="s1" type="u-d-f" time="2026-03-01T12:00:00Z" start="2026-03-01T12:00:00Z" stale="2026-03-02T12:00:00Z" how="h-e">
        <point lat="33.1" lon="35.8" hae="0" ce="9999999.0" le="9999999.0"/>
        <detail><link point="33.1,35.8"/><link point="33.2,35.9,120.5"/><link uid="x" relation="p-p" type="a-f-G"/>
        <shape><ellipse major="500" minor="300" angle="90"/></shape></detail></event>"#,
    );
    let d = e.detail.expect("detail");
    assert_eq!(d.links.len(), 2);
    assert_eq!(d.links[1].hae, Some(120.5));
    assert_eq!(d.ellipse.as_ref().map(|e| e.major), Some(500.0));
    assert_eq!(d.kept, r#"<link uid="x" relation="p-p" type="a-f-G"/>"#);
}

#[test]
fn an_events_wrapper_reports_each_bad_event() {
    let xml = r#"<events>
<event version="2.0" uid="good" type="a-n-G" time="2026-03-01T12:00:00Z" start="2026-03-01T12:00:00Z" stale="2026-03-01T13:00:00Z" how="h-e"><point lat="1" lon="2" hae="0" ce="1" le="1"/></event>
<event version="2.0" uid="north" type="a-n-G" time="2026-03-01T12:00:00Z" start="2026-03-01T12:00:00Z" stale="2026-03-01T13:00:00Z" how="h-e"><point lat="91" lon="2" hae="0" ce="1" le="1"/></event>
<event version="2.0" uid="late" type="a-n-G" time="2026-03-01T12:00:00Z" start="2026-03-01T12:00:00Z" stale="2026-02-30T13:00:00Z" how="h-e"><point lat="1" lon="2" hae="0" ce="1" le="1"/></event>
<event version="2.0" type="a-n-G" time="2026-03-01T12:00:00Z" start="2026-03-01T12:00:00Z" stale="2026-03-01T13:00:00Z" how="h-e"><point lat="1" lon="2" hae="0" ce="1" le="1"/></event>
</events>"#;
    let v = parse_each(xml.as_bytes(), &Limits::default()).expect("well-formed");
    assert_eq!(v.len(), 4);
    assert!(v[0].is_ok());
    let e1 = v[1].as_ref().expect_err("latitude");
    assert_eq!(
        (e1.index, e1.uid.as_deref(), e1.line),
        (1, Some("north"), 3)
    );
    assert!(e1.problem.contains("latitude 91"), "{e1}");
    let e2 = v[2].as_ref().expect_err("date");
    assert!(e2.problem.starts_with("stale:"), "{e2}");
    let e3 = v[3].as_ref().expect_err("uid");
    assert_eq!(e3.uid, None);
    assert!(e3.problem.contains("no uid"), "{e3}");
}

#[test]
fn a_doctype_is_refused_before_any_entity_is_read() {
    let e = refused(
        r#"<?xml version="1.0"?>
<!DOCTYPE event [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<event version="2.0" uid="x" type="a-n-G" time="2026-03-01T12:00:00Z" start="2026-03-01T12:00:00Z" stale="2026-03-01T13:00:00Z" how="h-e"><point lat="1" lon="2" hae="0" ce="1" le="1"/><detail><remarks>&xxe;</remarks></detail></event>"#,
    );
    assert_eq!((e.line, e.offset), (2, 22));
    assert!(e.problem.contains("DOCTYPE"), "{e}");
}

#[test]
fn undeclared_entities_are_refused_and_the_predefined_ones_read() {
    let e = refused(
        r#"<event version="2.0" uid="x" type="a-n-G" time="2026-03-01T12:00:00Z" start="2026-03-01T12:00:00Z" stale="2026-03-01T13:00:00Z" how="h-e"><point lat="1" lon="2" hae="0" ce="1" le="1"/><detail><remarks>a &lol9; b</remarks></detail></event>"#,
    );
    assert!(e.problem.contains("&lol9;"), "{e}");
    let e = refused(
        r#"<event version="2.0" uid="&ext;" type="a-n-G" time="2026-03-01T12:00:00Z" start="2026-03-01T12:00:00Z" stale="2026-03-01T13:00:00Z" how="h-e"><point lat="1" lon="2" hae="0" ce="1" le="1"/></event>"#,
    );
    assert!(e.problem.contains("uid"), "{e}");
    // In a kept element too: a TAK client must never be handed an entity it cannot resolve.
    let e = refused(
        r#"<event version="2.0" uid="x" type="a-n-G" time="2026-03-01T12:00:00Z" start="2026-03-01T12:00:00Z" stale="2026-03-01T13:00:00Z" how="h-e"><point lat="1" lon="2" hae="0" ce="1" le="1"/><detail><x>&ent;</x></detail></event>"#,
    );
    assert!(e.problem.contains("&ent;"), "{e}");
    let ok = one(
        r#"<event version="2.0" uid="a&amp;b&#x41;&#66;" type="a-n-G" time="2026-03-01T12:00:00Z" start="2026-03-01T12:00:00Z" stale="2026-03-01T13:00:00Z" how="h-e"><point lat="1" lon="2" hae="0" ce="1" le="1"/><detail><remarks>&lt;&gt;&quot;&apos;&#10;</remarks></detail></event>"#,
    );
    assert_eq!(ok.uid, "a&bAB");
    assert_eq!(
        ok.detail.and_then(|d| d.remarks).map(|r| r.text),
        Some("<>\"'\n".into())
    );
}

#[test]
fn limits_are_enforced() {
    let deep = format!(
        r#"<event version="2.0" uid="x" type="a-n-G" time="2026-03-01T12:00:00Z" start="2026-03-01T12:00:00Z" stale="2026-03-01T13:00:00Z" how="h-e"><point lat="1" lon="2" hae="0" ce="1" le="1"/><detail>{}{}</detail></event>"#,
        "<a>".repeat(100),
        "</a>".repeat(100)
    );
    let e = refused(&deep);
    assert!(e.problem.contains("nested deeper than 16"), "{e}");
    // Many unclosed elements is refused at the limit, not after reading them all.
    let e = refused(&"<a>".repeat(600_000));
    assert!(e.problem.contains("root element is <a>"), "{e}");
    let e = refused(&format!("<events>{}</events>", "<a>".repeat(100_000)));
    assert!(e.problem.contains("only <event>"), "{e}");

    let small = Limits {
        max_bytes: 100,
        ..Limits::default()
    };
    let e = parse_each(TAK.as_bytes(), &small).expect_err("too big");
    assert!(e.problem.contains("at most 100"), "{e}");
    let few = Limits {
        max_events: 1,
        ..Limits::default()
    };
    let two = format!(
        "<events>{0}{0}</events>",
        TAK.trim_start_matches(r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#)
    );
    let e = parse_each(two.as_bytes(), &few).expect_err("too many");
    assert!(e.problem.contains("more than 1 events"), "{e}");
    let long = format!(
        r#"<event version="2.0" uid="{}" type="a-n-G" time="2026-03-01T12:00:00Z" start="2026-03-01T12:00:00Z" stale="2026-03-01T13:00:00Z" how="h-e"><point lat="1" lon="2" hae="0" ce="1" le="1"/></event>"#,
        "u".repeat(5000)
    );
    assert!(refused(&long).problem.contains("longer than 4096"));
}

#[test]
fn malformed_documents_name_line_and_offset() {
    let e = refused("<event version=\"2.0\">\n<point></event>");
    assert_eq!(e.line, 2, "{e}");
    assert!(e.problem.starts_with("malformed XML"), "{e}");
    let e = refused("<event/><event/>");
    assert!(e.problem.contains("second root"), "{e}");
    let e = refused("");
    assert!(e.problem.contains("no <event>"), "{e}");
    let e = refused("<event>\u{1}</event>");
    assert_eq!(e.offset, 7);
    let e = parse_each(b"<event>\xff</event>", &Limits::default()).expect_err("utf8");
    assert_eq!(
        (e.offset, e.problem.as_str()),
        (7, "the document is not UTF-8")
    );
    let e = refused(r#"<?xml version="1.0" encoding="ISO-8859-1"?><event/>"#);
    assert!(e.problem.contains("UTF-8"), "{e}");
    let e = refused(r#"<?xml-stylesheet href="x"?><event/>"#);
    assert!(e.problem.contains("processing instructions"), "{e}");
}

#[test]
fn attribute_whitespace_survives_a_round_trip() {
    let e = one(
        "<event version=\"2.0\" uid=\"x\" type=\"a-n-G\" time=\"2026-03-01T12:00:00Z\" start=\"2026-03-01T12:00:00Z\" stale=\"2026-03-01T13:00:00Z\" how=\"h-e\"><point lat=\"1\" lon=\"2\" hae=\"0\" ce=\"1\" le=\"1\"/><detail><contact callsign=\"a&#10;b\tc\"/></detail></event>",
    );
    // A literal tab is normalised to a space; a referenced line feed is not.
    assert_eq!(e.detail.as_ref().and_then(|d| d.callsign()), Some("a\nb c"));
    assert_eq!(one(&render_event(&e)), e);
}
