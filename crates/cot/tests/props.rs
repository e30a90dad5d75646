//! Properties: rendering then parsing gives the event back; parsing, rendering and parsing
//! again is stable with the kept detail bytes byte-equal; no input makes the parser panic.

use liaison_cot::{
    Detail, Element, Ellipse, Event, Limits, LinkPoint, Point, parse, parse_each, render_document,
    render_event,
};
use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;

/// Any text XML 1.0 can carry, tabs and line breaks included.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[\\PC\t\n\r]{0,24}",
        "[a-z &<>\"'\t\n\r]{0,12}",
        Just(String::new()),
    ]
}

fn name() -> impl Strategy<Value = String> {
    "[a-z_][a-z0-9_.-]{0,8}"
}

fn time() -> impl Strategy<Value = String> {
    (
        1970u32..2100,
        1u32..13,
        1u32..29,
        0u32..24,
        0u32..60,
        0u32..60,
        option::of("[0-9]{1,9}"),
        prop_oneof![Just("Z".to_string()), "[+-](0[0-9]|1[0-4]):[0-5][0-9]"],
    )
        .prop_map(|(y, mo, d, h, mi, s, frac, off)| {
            let frac = frac.map(|f| format!(".{f}")).unwrap_or_default();
            format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{frac}{off}")
        })
}

fn attrs(reserved: &'static [&'static str]) -> impl Strategy<Value = Vec<(String, String)>> {
    btree_map(name(), text(), 0..4).prop_map(move |m| {
        m.into_iter()
            .filter(|(k, _)| !reserved.contains(&k.as_str()))
            .collect()
    })
}

fn escape(v: &str) -> String {
    v.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('"', "&quot;")
        .replace('\t', "&#9;")
        .replace('\n', "&#10;")
        .replace('\r', "&#13;")
}

/// Children Liaison does not model, well-formed and self-contained, as TAK writes them.
fn unknown() -> impl Strategy<Value = String> {
    prop_oneof![
        (text(), text()).prop_map(|(n, r)| format!(
            r#"<__group name="{}" role="{}"/>"#,
            escape(&n),
            escape(&r)
        )),
        text().prop_map(|v| format!(
            r#"<takv os="34" version="{}" platform="ATAK-CIV"></takv>"#,
            escape(&v)
        )),
        text().prop_map(|v| format!(
            "<x:sensor xmlns:x=\"urn:example\"><x:range unit='m'>{}</x:range><!-- c --></x:sensor>",
            escape(&v)
        )),
        Just(r#"<link uid="ANDROID-1" relation="p-p" type="a-f-G-U-C"/>"#.to_string()),
        Just("<contact><phone>+1</phone></contact>".to_string()),
        Just("<remarks><![CDATA[<raw> & ok]]></remarks>".to_string()),
        Just("<shape><polyline closed=\"true\"/></shape>".to_string()),
        Just("<status\n   battery = '87' />".to_string()),
    ]
}

fn element(reserved: &'static [&'static str], with_text: bool) -> impl Strategy<Value = Element> {
    (attrs(reserved), text()).prop_map(move |(attrs, t)| Element {
        attrs,
        text: if with_text { t } else { String::new() },
    })
}

fn detail() -> impl Strategy<Value = Detail> {
    (
        option::of(element(&[], false)),
        option::of(element(&[], true)),
        vec(
            (
                -90.0f64..=90.0,
                -180.0f64..=180.0,
                option::of(-500.0f64..9000.0),
            )
                .prop_map(|(lat, lon, hae)| LinkPoint { lat, lon, hae }),
            0..5,
        ),
        option::of((0.0f64..1e6, 0.0f64..1e6, -360.0f64..360.0).prop_map(
            |(major, minor, angle)| Ellipse {
                major,
                minor,
                angle,
            },
        )),
        option::of(element(&[], false)),
        vec(unknown(), 0..4),
    )
        .prop_map(|(contact, remarks, links, ellipse, liaison, kept)| Detail {
            contact,
            remarks,
            links,
            ellipse,
            liaison,
            kept: kept.concat(),
        })
}

fn event() -> impl Strategy<Value = Event> {
    (
        "[A-Za-z0-9._:-]{1,40}",
        prop_oneof![
            Just("a-f-G-U-C".to_string()),
            Just("u-d-f".to_string()),
            Just("u-d-c-c".to_string()),
            "[a-z](-[A-Za-z0-9.]{1,3}){0,5}"
        ],
        time(),
        prop_oneof![Just("h-e".to_string()), Just("m-g".to_string())],
        attrs(&["version", "uid", "type", "time", "start", "stale", "how"]),
        (
            -90.0f64..=90.0,
            -180.0f64..=180.0,
            prop_oneof![Just(liaison_cot::UNKNOWN), -500.0f64..9000.0],
            prop_oneof![Just(liaison_cot::UNKNOWN), 0.0f64..1e5],
            prop_oneof![Just(liaison_cot::UNKNOWN), 0.0f64..1e5],
        ),
        option::of(detail()),
    )
        .prop_map(
            |(uid, cot_type, t, how, extra, (lat, lon, hae, ce, le), detail)| {
                // Same start and stale keep the window valid whatever the offset.
                Event {
                    uid,
                    cot_type,
                    time: t.clone(),
                    start: t.clone(),
                    stale: t,
                    how,
                    extra,
                    point: Point {
                        lat,
                        lon,
                        hae,
                        ce,
                        le,
                    },
                    detail,
                }
            },
        )
}

/// A `<detail>` written by hand: known and unknown children in any order, with
/// whitespace and comments between them.
fn detail_source() -> impl Strategy<Value = String> {
    let child = prop_oneof![
        unknown(),
        text().prop_map(|c| format!("<contact callsign=\"{}\"/>", escape(&c))),
        text().prop_map(|r| format!("<remarks>{}</remarks>", escape(&r).replace('>', "&gt;"))),
        (-90.0f64..=90.0, -180.0f64..=180.0)
            .prop_map(|(a, o)| format!("<link point=\"{a},{o}\"/>")),
        Just("<shape><ellipse major=\"10\" minor=\"5\" angle=\"0\"/></shape>".to_string()),
        Just("<liaison category=\"medical\" radius_m=\"300\"/>".to_string()),
    ];
    let gap = prop_oneof![
        Just(String::new()),
        Just("\n  ".to_string()),
        Just("<!-- between -->".to_string())
    ];
    vec((gap, child), 0..8).prop_map(|parts| {
        let inner: String = parts.into_iter().map(|(g, c)| g + &c).collect();
        format!("<detail>{inner}</detail>")
    })
}

fn wrap(detail: &str) -> String {
    format!(
        "<event version=\"2.0\" uid=\"u-1\" type=\"a-n-G\" time=\"2026-03-01T12:00:00Z\" start=\"2026-03-01T12:00:00Z\" stale=\"2026-03-02T12:00:00Z\" how=\"h-e\">\n<point lat=\"33.1\" lon=\"35.8\" hae=\"9999999.0\" ce=\"50\" le=\"9999999.0\"/>{detail}</event>"
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn render_then_parse_gives_the_event_back(e in event()) {
        let back = parse(render_event(&e).as_bytes(), &Limits::default());
        prop_assert_eq!(back, Ok(vec![e]));
    }

    #[test]
    fn a_document_of_many_reads_back_in_order(es in vec(event(), 0..6)) {
        let back = parse(render_document(&es).as_bytes(), &Limits::default());
        prop_assert_eq!(back, Ok(es));
    }

    #[test]
    fn parse_render_parse_is_stable_and_kept_bytes_are_equal(d in detail_source()) {
        let first = parse(wrap(&d).as_bytes(), &Limits::default());
        prop_assert!(first.is_ok(), "{:?}", first);
        let first = first.unwrap_or_default();
        let second = parse(render_document(&first).as_bytes(), &Limits::default());
        prop_assert_eq!(&second, &Ok(first.clone()));
        // Every unknown child is in the kept bytes exactly as written.
        let kept = first[0].detail.as_ref().map(|d| d.kept.clone()).unwrap_or_default();
        for k in ["<__group", "<takv", "<x:sensor", "<status", "<contact><phone>"] {
            prop_assert_eq!(d.matches(k).count(), kept.matches(k).count(), "{}", k);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..600)) {
        let _ = parse_each(&bytes, &Limits::default());
    }

    #[test]
    fn mangled_events_never_panic_and_what_parses_is_stable(
        d in detail_source(),
        cuts in vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let mut b = wrap(&d).into_bytes();
        for (i, byte) in cuts {
            let at = i.index(b.len() + 1);
            match byte % 3 {
                0 => b.insert(at, b"<>&;\"'=/!?-x "[usize::from(byte) % 13]),
                1 if at < b.len() => { b.remove(at); }
                _ => b.truncate(at),
            }
        }
        if let Ok(events) = parse(&b, &Limits::default()) {
            let again = parse(render_document(&events).as_bytes(), &Limits::default());
            prop_assert_eq!(again, Ok(events));
        }
    }
}
