//! Fuzzing the text an operator hands over: charter files and RFC 3339 times, valid
//! ones with bytes deleted, inserted or replaced (TOML's and RFC 3339's punctuation,
//! digits, letters, quotes, newlines). Never a panic; a refused charter names a line of
//! the file it was given; a time that parses stays the same time when written back.

use liaison_api::charter_toml::parse_charter;
use liaison_api::time;
use liaison_core::Timestamp;
use proptest::prelude::*;

const CHARTERS: [&str; 2] = [
    include_str!("../../../examples/demo.toml"),
    include_str!("../../../examples/golan.toml"),
];

const ALPHABET: &[u8] = b"\n\n=[]{}\",.:-+_ #'\\0123456789TZtzeaxh\t\r\x00\xc3";

fn edits() -> impl Strategy<Value = Vec<(usize, u8, u8)>> {
    prop::collection::vec(
        (
            any::<usize>(),
            0u8..3,
            prop::sample::select(ALPHABET.to_vec()),
        ),
        1..6,
    )
}

fn mangle(text: &str, edits: &[(usize, u8, u8)]) -> String {
    let mut b = text.as_bytes().to_vec();
    for &(at, op, x) in edits {
        let at = at % (b.len() + 1);
        match op {
            0 if at < b.len() => {
                b.remove(at);
            }
            1 => b.insert(at, x),
            _ if at < b.len() => b[at] = x,
            _ => b.push(x),
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

#[test]
fn the_example_charters_parse() {
    for text in CHARTERS {
        if let Err(e) = parse_charter(text) {
            panic!("{e:?}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, .. ProptestConfig::default() })]

    #[test]
    fn a_mangled_charter_is_taken_or_refused_at_one_of_its_lines(
        which in 0usize..CHARTERS.len(),
        edits in edits(),
    ) {
        let text = mangle(CHARTERS[which], &edits);
        if let Err(e) = parse_charter(&text) {
            let lines = text.split('\n').count();
            if let Some(line) = e.line {
                prop_assert!((1..=lines).contains(&line), "line {} of {}: {:?}", line, lines, e);
            }
            prop_assert!(!e.message.is_empty() && !e.field.is_empty(), "{:?}", e);
        }
    }

    #[test]
    fn a_time_written_reads_back(micros in -62_135_596_800_000_000i64..253_402_300_799_999_999) {
        let t = Timestamp::from_micros(micros);
        prop_assert_eq!(time::parse(&time::format(t)), Ok(t));
    }

    #[test]
    fn a_mangled_time_that_parses_stays_that_time(
        micros in -62_135_596_800_000_000i64..253_402_300_799_999_999,
        offset in prop::sample::select(vec!["Z", "+00:00", "+03:00", "-05:30", "+14:00"]),
        edits in edits(),
    ) {
        let written = time::format(Timestamp::from_micros(micros));
        let written = written.replacen('Z', offset, 1);
        let text = mangle(&written, &edits);
        if let Ok(t) = time::parse(&text) {
            prop_assert_eq!(time::parse(&time::format(t)), Ok(t), "{}", text);
        }
    }
}

/// The manglings reach both outcomes: some charters are still taken, many are
/// refused, most of those at a line.
#[test]
fn the_manglings_reach_both_outcomes() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = (0usize..CHARTERS.len(), edits());
    let (mut taken, mut at_a_line, cases) = (0, 0, 400);
    for _ in 0..cases {
        let (which, edits) = strategy.new_tree(&mut runner).expect("a case").current();
        match parse_charter(&mangle(CHARTERS[which], &edits)) {
            Ok(_) => taken += 1,
            Err(e) => at_a_line += usize::from(e.line.is_some()),
        }
    }
    assert!(taken * 40 > cases, "taken {taken} of {cases}");
    assert!(
        at_a_line * 4 > cases,
        "refused at a line {at_a_line} of {cases}"
    );
}
