//! Fuzzing the record's text and byte forms as a hostile party or a broken line would
//! hand them over: checkpoints, signed notes, cosignature lines, receipts, tile paths
//! and entry bundles, valid ones with bytes deleted, inserted or replaced (newlines,
//! digits, base64's alphabet and padding, the signature line's dash, carriage returns).
//! Never a panic; a checkpoint, a receipt, a tile path or a bundle that parses is the
//! one text or byte string that means it; and a mangled note, cosignature or receipt
//! that still verifies says exactly what was signed.

use ed25519_dalek::SigningKey;
use liaison_log::checkpoint::Checkpoint;
use liaison_log::cosignature::{cosign, verify_cosignature_line, witness_signer};
use liaison_log::merkle::{Tree, leaf_hash};
use liaison_log::note::{Signer, TYPE_ED25519, open_note, sign_note, split_note};
use liaison_log::proof::Receipt;
use liaison_log::tiles::{TilePath, entry_bundle, parse_entry_bundle};
use proptest::prelude::*;

/// What a mangling writes: the forms' own punctuation and alphabets, and a few
/// bytes that have no business there.
const ALPHABET: &[u8] = b"\n\n\n \r0123456789+/=AQaz.-x_pentrisy\x00\xff";

/// Up to four edits at arbitrary places: delete, insert or replace a byte.
fn edits() -> impl Strategy<Value = Vec<(usize, u8, u8)>> {
    prop::collection::vec(
        (
            any::<usize>(),
            0u8..3,
            prop::sample::select(ALPHABET.to_vec()),
        ),
        1..5,
    )
}

fn mangle(bytes: &[u8], edits: &[(usize, u8, u8)]) -> Vec<u8> {
    let mut b = bytes.to_vec();
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
    b
}

/// A mangled text, as the UTF-8 the parsers take (invalid bytes replaced, as a
/// transport that decodes text would).
fn mangle_text(text: &str, edits: &[(usize, u8, u8)]) -> String {
    String::from_utf8_lossy(&mangle(text.as_bytes(), edits)).into_owned()
}

fn checkpoint() -> impl Strategy<Value = Checkpoint> {
    (
        "[a-z]{1,8}(\\.[a-z]{1,8}){0,2}(/[a-z0-9]{1,6})?",
        any::<u64>(),
        any::<[u8; 32]>(),
        prop::collection::vec("[ -~]{1,16}", 0..3),
    )
        .prop_map(|(origin, size, root, extensions)| Checkpoint {
            origin,
            size,
            root,
            extensions,
        })
}

fn log_signer(seed: u8) -> Signer {
    Signer::new(
        "log.example/cell",
        TYPE_ED25519,
        SigningKey::from_bytes(&[seed; 32]),
    )
    .expect("signer")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, .. ProptestConfig::default() })]

    #[test]
    fn a_checkpoint_that_parses_is_its_own_text(cp in checkpoint(), edits in edits()) {
        let text = cp.to_text();
        prop_assert_eq!(Checkpoint::parse(&text), Ok(cp));
        let mangled = mangle_text(&text, &edits);
        if let Ok(back) = Checkpoint::parse(&mangled) {
            prop_assert_eq!(back.to_text(), mangled);
        }
    }

    #[test]
    fn a_mangled_note_verifies_only_as_what_was_signed(
        cp in checkpoint(),
        seed in any::<u8>(),
        edits in edits(),
    ) {
        let signer = log_signer(seed);
        let text = cp.to_text();
        let note = sign_note(&text, &[&signer]);
        prop_assert_eq!(open_note(&note, &[signer.verifier()]).map(|o| o.text().to_string()), Ok(text.clone()));
        let mangled = mangle_text(&note, &edits);
        let _ = split_note(&mangled);
        if let Ok(opened) = open_note(&mangled, &[signer.verifier()]) {
            prop_assert_eq!(opened.text(), text.as_str());
        }
        // A key of another seed never opens it.
        let other = log_signer(seed.wrapping_add(1));
        prop_assert!(open_note(&mangled, &[other.verifier()]).is_err());
    }

    #[test]
    fn a_mangled_cosignature_verifies_only_for_what_was_cosigned(
        cp in checkpoint(),
        time in any::<u64>(),
        line_edits in edits(),
        body_edits in edits(),
    ) {
        let witness = witness_signer("sy.witness", SigningKey::from_bytes(&[7; 32])).expect("witness");
        let vkey = witness.verifier().vkey();
        let body = cp.to_text();
        let line = cosign(&body, &witness, time);
        prop_assert_eq!(verify_cosignature_line(&vkey, &body, &line), Ok(time));
        // The line mangled: it verifies only for the same time, over the same body.
        let mangled = mangle_text(&line, &line_edits);
        if let Ok(t) = verify_cosignature_line(&vkey, &body, &mangled) {
            prop_assert_eq!(t, time);
        }
        // The body mangled: the true line no longer verifies.
        let other_body = mangle_text(&body, &body_edits);
        if other_body != body {
            prop_assert!(verify_cosignature_line(&vkey, &other_body, &line).is_err());
        }
    }

    #[test]
    fn a_mangled_receipt_verifies_only_for_its_entry(
        size in 1u64..300,
        index in any::<u64>(),
        seed in any::<u8>(),
        edits in edits(),
    ) {
        let signer = log_signer(seed);
        let index = index % size;
        let tree = Tree::from_leaf_hashes((0..size).map(|i| leaf_hash(&i.to_be_bytes())));
        let cp = Checkpoint::new("log.example/cell", size, tree.root());
        let receipt = Receipt {
            index,
            proof: tree.inclusion_proof(index, size).expect("proof"),
            checkpoint: sign_note(&cp.to_text(), &[&signer]),
        };
        let text = receipt.to_text();
        prop_assert_eq!(Receipt::parse(&text), Ok(receipt.clone()));
        let leaf = leaf_hash(&index.to_be_bytes());
        prop_assert_eq!(receipt.verify(&signer.verifier(), &leaf), Ok(cp.clone()));

        let mangled = mangle_text(&text, &edits);
        let Ok(back) = Receipt::parse(&mangled) else { return Ok(()) };
        prop_assert_eq!(back.to_text(), mangled.clone());
        // Whatever still verifies proves the same entry at the same place in the same tree.
        for other in 0..size.min(8) {
            let leaf = leaf_hash(&other.to_be_bytes());
            if let Ok(anchored) = back.verify(&signer.verifier(), &leaf) {
                prop_assert_eq!(other, index);
                prop_assert_eq!(back.index, index);
                prop_assert_eq!(&anchored, &cp);
            }
        }
    }

    #[test]
    fn a_tile_path_that_parses_is_its_own_path(
        level in 0u8..8,
        index in any::<u64>(),
        width in prop::option::of(1u16..256),
        entries in any::<bool>(),
        edits in edits(),
    ) {
        let path = if entries {
            TilePath::Entries { index, width }
        } else {
            TilePath::Hashes { level, index, width }
        };
        let text = path.format();
        prop_assert_eq!(TilePath::parse(&text), Ok(path));
        let mangled = mangle_text(&text, &edits);
        if let Ok(back) = TilePath::parse(&mangled) {
            prop_assert_eq!(back.format(), mangled);
        }
    }

    #[test]
    fn a_bundle_that_parses_is_its_own_bytes(
        entries in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 0..12),
        edits in edits(),
    ) {
        let refs: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
        let bytes = entry_bundle(&refs).expect("bundle");
        prop_assert_eq!(parse_entry_bundle(&bytes), Ok(entries));
        let mangled = mangle(&bytes, &edits);
        if let Ok(back) = parse_entry_bundle(&mangled) {
            let refs: Vec<&[u8]> = back.iter().map(Vec::as_slice).collect();
            prop_assert_eq!(entry_bundle(&refs).expect("bundle"), mangled);
        }
    }
}
