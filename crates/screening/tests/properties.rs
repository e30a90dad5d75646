//! Properties: the parsers never panic on any bytes (and a file cut or corrupted anywhere
//! is refused with a line inside it, or still parses); normalisation is idempotent; a
//! name's word order does not change its score; scores stay in 0..=1.

use liaison_screening::{
    Format, Kind, List, Query, Screener, SourceFile, normalize_name, parse, parse_stated,
};
use proptest::prelude::*;
use std::sync::OnceLock;

const SDN: &[u8] = include_bytes!("../fixtures/ofac/sdn.csv");
const ALT: &[u8] = include_bytes!("../fixtures/ofac/alt.csv");
const ADD: &[u8] = include_bytes!("../fixtures/ofac/add.csv");
const UN: &[u8] = include_bytes!("../fixtures/un/consolidated.xml");
const FTM: &[u8] = include_bytes!("../fixtures/opensanctions/entities.ftm.json");

fn lines(b: &[u8]) -> u64 {
    1 + b.iter().filter(|c| **c == b'\n').count() as u64
}

/// Parses `bytes` as the file of `format` named `name`; an error names that file and a
/// line inside it.
fn check(format: Format, name: &str, bytes: &[u8]) {
    let r = match format {
        Format::OfacCsv => parse(
            format,
            &[
                SourceFile { name, bytes },
                SourceFile {
                    name: "alt.csv",
                    bytes: ALT,
                },
            ],
        ),
        _ => parse(format, &[SourceFile { name, bytes }]),
    };
    if let Err(e) = r {
        assert!(!e.message.is_empty());
        if e.file == name
            && let Some(line) = e.line
        {
            assert!(
                line >= 1 && line <= lines(bytes),
                "{e} (of {} lines)",
                lines(bytes)
            );
        }
    }
}

fn fixture(format: Format) -> (&'static str, &'static [u8]) {
    match format {
        Format::OfacCsv => ("sdn.csv", SDN),
        Format::UnXml => ("un.xml", UN),
        Format::FtmJson => ("entities.ftm.json", FTM),
    }
}

fn format() -> impl Strategy<Value = Format> {
    prop_oneof![
        Just(Format::OfacCsv),
        Just(Format::UnXml),
        Just(Format::FtmJson)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn parsers_never_panic_on_arbitrary_bytes(f in format(), bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        check(f, fixture(f).0, &bytes);
    }

    #[test]
    fn a_fixture_cut_anywhere_is_refused_or_parses(f in format(), cut in 0.0f64..1.0) {
        let (name, bytes) = fixture(f);
        let at = (bytes.len() as f64 * cut) as usize;
        check(f, name, &bytes[..at]);
    }

    #[test]
    fn a_fixture_with_bytes_changed_is_refused_or_parses(
        f in format(),
        changes in proptest::collection::vec((0.0f64..1.0, any::<u8>()), 1..8),
    ) {
        let (name, bytes) = fixture(f);
        let mut b = bytes.to_vec();
        for (at, byte) in changes {
            let i = ((b.len() - 1) as f64 * at) as usize;
            b[i] = byte;
        }
        check(f, name, &b);
    }

    #[test]
    fn normalising_never_panics(s in "\\PC{0,80}") {
        let n = normalize_name(&s);
        for t in &n.tokens {
            prop_assert!(!t.form.is_empty());
            prop_assert!(!t.skel.is_empty());
        }
    }
}

/// Words in one script each, as names are written: Latin (with diacritics and
/// apostrophes), Arabic (with harakat and hamza carriers) or Hebrew (with points).
fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-zéüçñ'’ʿ]{1,10}",
        "(al-|el-|Abd al-)?[A-Za-z]{2,9}",
        "(ال)?[ابتثجحخدذرزسشصضطظعغفقكلمنهوية أإآئؤ\u{064E}\u{0650}]{2,8}",
        "[אבגדהוזחטיכלמנסעפצקרשתךםןףץ\u{05B4}]{2,7}",
    ]
}

fn latin_name() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            "[A-Za-zéüçñ'’ʿ]{1,10}",
            "(al-|el-|Abd al-|bin )?[A-Za-z]{2,9}"
        ],
        1..5,
    )
    .prop_map(|w| w.join(" "))
}

fn name() -> impl Strategy<Value = String> {
    proptest::collection::vec(word(), 1..5).prop_map(|w| w.join(" "))
}

fn fixtures_screener() -> &'static Screener {
    static S: OnceLock<Screener> = OnceLock::new();
    S.get_or_init(|| {
        let ofac = parse(
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
        .expect("ofac");
        let un = parse_stated(
            Format::UnXml,
            &[SourceFile {
                name: "un.xml",
                bytes: UN,
            }],
            None,
        )
        .expect("un");
        let ftm = parse(
            Format::FtmJson,
            &[SourceFile {
                name: "e.json",
                bytes: FTM,
            }],
        )
        .expect("ftm");
        Screener::new(&[ofac, un, ftm])
    })
}

fn all_names() -> Vec<String> {
    let lists: Vec<List> = vec![
        parse(
            Format::UnXml,
            &[SourceFile {
                name: "un.xml",
                bytes: UN,
            }],
        )
        .expect("un"),
        parse(
            Format::FtmJson,
            &[SourceFile {
                name: "e.json",
                bytes: FTM,
            }],
        )
        .expect("ftm"),
    ];
    lists
        .into_iter()
        .flat_map(|l| l.entries.into_iter().flat_map(|e| e.names))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Normalising what normalising gave a Latin name changes nothing. (Not so for a
    /// transliteration, which is no Latin spelling: `علي` gives `aly`, which as Latin is
    /// a spelling of `ali`.)
    #[test]
    fn normalising_is_idempotent(s in latin_name()) {
        let once = normalize_name(&s);
        let twice = normalize_name(&once.text());
        let f1: Vec<&str> = once.tokens.iter().map(|t| t.form.as_str()).collect();
        let f2: Vec<&str> = twice.tokens.iter().map(|t| t.form.as_str()).collect();
        prop_assert_eq!(&f1, &f2, "{:?} → {:?}", s, once.text());
        let s1: Vec<&str> = once.tokens.iter().map(|t| t.skel.as_str()).collect();
        let s2: Vec<&str> = twice.tokens.iter().map(|t| t.skel.as_str()).collect();
        prop_assert_eq!(s1, s2);
    }

    #[test]
    fn word_order_does_not_change_the_score(i in 0usize..1000, seed in any::<u64>(), kind in prop_oneof![Just(None), Just(Some(Kind::Person)), Just(Some(Kind::Organisation))]) {
        let names = all_names();
        let listed = &names[i % names.len()];
        // Words of the listed name, `Abd` kept with the word it joins.
        let mut words: Vec<String> = Vec::new();
        for w in listed.split_whitespace() {
            match words.last_mut() {
                Some(last)
                    if ["abd", "abdul", "abdel", "abdal", "abdu", "abdol", "abdoul", "abdur", "abdar", "abdil", "abdi", "عبد"]
                        .contains(&last.to_lowercase().as_str()) =>
                {
                    last.push(' ');
                    last.push_str(w);
                }
                _ => words.push(w.to_string()),
            }
        }
        let mut shuffled = words.clone();
        let mut x = seed;
        for k in (1..shuffled.len()).rev() {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let j = (x >> 33) as usize % (k + 1);
            shuffled.swap(k, j);
        }
        let a = words.join(" ");
        let b = shuffled.join(" ");
        let s = fixtures_screener();
        let score = |n: &str| {
            let m = s.screen_top(&Query { kind, names: &[n], country: None }, 0.0, 10_000);
            let mut v: Vec<(String, String, f64)> = m.into_iter().map(|m| (m.list, m.entry_id, m.score)).collect();
            v.sort_by(|x, y| (&x.0, &x.1).cmp(&(&y.0, &y.1)));
            v
        };
        let (sa, sb) = (score(&a), score(&b));
        prop_assert_eq!(sa.len(), sb.len(), "{} / {}", a, b);
        for (x, y) in sa.iter().zip(&sb) {
            prop_assert_eq!((&x.0, &x.1), (&y.0, &y.1));
            prop_assert!((x.2 - y.2).abs() <= 0.0011, "{:?} / {:?}: {} {}", a, b, x.2, y.2);
        }
    }

    #[test]
    fn scores_are_between_zero_and_one(q in name(), country in prop_oneof![Just(None), Just(Some("Syria")), Just(Some("il"))]) {
        let s = fixtures_screener();
        let found = s.screen_scored(&Query { kind: None, names: &[q.as_str()], country }, 0.0);
        prop_assert!(found.len() <= liaison_screening::MAX_MATCHES);
        for m in found {
            prop_assert!((0.0..=1.0).contains(&m.score), "{}", m.score);
            prop_assert!(!m.why.is_empty());
        }
    }
}

#[test]
fn every_listed_name_finds_its_entry_with_score_one() {
    let s = fixtures_screener();
    let lists = [
        parse(
            Format::UnXml,
            &[SourceFile {
                name: "un.xml",
                bytes: UN,
            }],
        )
        .expect("un"),
        parse(
            Format::FtmJson,
            &[SourceFile {
                name: "e.json",
                bytes: FTM,
            }],
        )
        .expect("ftm"),
    ];
    for l in &lists {
        for e in &l.entries {
            for n in &e.names {
                let found = s.screen(&Query {
                    kind: Some(e.kind),
                    names: &[n.as_str()],
                    country: None,
                });
                assert!(
                    found
                        .iter()
                        .any(|m| m.list == l.source && m.entry_id == e.id && m.score >= 0.999),
                    "{n}: {found:?}"
                );
            }
        }
    }
}
