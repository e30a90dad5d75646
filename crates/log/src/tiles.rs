//! The C2SP tlog-tiles layout: tiles of 256 hashes (height 8) at `tile/<L>/<N>[.p/<W>]`,
//! entry bundles at `tile/entries/<N>[.p/<W>]`, and a [`HashSource`] that reads only the
//! tiles a proof needs, for witnesses and auditors that hold nothing but HTTP access.

use crate::merkle::{Hash, HashSource, ProofError, Tree, node_hash};
use std::collections::HashMap;

pub const HEIGHT: u8 = 8;
pub const WIDTH: u64 = 256;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TilePath {
    /// Hash tile: level L holds Merkle level 8L; `width` is `Some(W)` for a partial tile.
    Hashes {
        level: u8,
        index: u64,
        width: Option<u16>,
    },
    Entries {
        index: u64,
        width: Option<u16>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TileError {
    #[error("malformed tile path: {0}")]
    Path(String),
    #[error("tile is beyond the end of the log")]
    NotYet,
    #[error("entry of {0} bytes is too large for a bundle")]
    EntryTooLarge(usize),
    #[error("malformed entry bundle: {0}")]
    Bundle(String),
}

fn format_index(n: u64) -> String {
    let s = n.to_string();
    let pad = (3 - s.len() % 3) % 3;
    let s = format!("{}{s}", "0".repeat(pad));
    let groups: Vec<&str> = (0..s.len() / 3).map(|i| &s[i * 3..i * 3 + 3]).collect();
    let last = groups.len() - 1;
    groups
        .iter()
        .enumerate()
        .map(|(i, g)| {
            if i < last {
                format!("x{g}")
            } else {
                g.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn parse_index(parts: &[&str]) -> Result<u64, TileError> {
    let bad = || TileError::Path(parts.join("/"));
    // An index has one spelling, in the fewest groups: `x000/001` would name the tile
    // of `001` under another path.
    if parts.is_empty() || parts.len() > 7 || (parts.len() > 1 && parts[0] == "x000") {
        return Err(bad());
    }
    let mut n: u64 = 0;
    for (i, p) in parts.iter().enumerate() {
        let digits = if i + 1 < parts.len() {
            p.strip_prefix('x').ok_or_else(bad)?
        } else {
            p
        };
        if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let d: u64 = digits.parse().map_err(|_| bad())?;
        n = n
            .checked_mul(1000)
            .and_then(|v| v.checked_add(d))
            .ok_or_else(bad)?;
    }
    Ok(n)
}

impl TilePath {
    pub fn parse(path: &str) -> Result<TilePath, TileError> {
        let bad = || TileError::Path(path.to_string());
        let rest = path.strip_prefix("tile/").ok_or_else(bad)?;
        let (main, width) = match rest.split_once(".p/") {
            Some((m, w)) => {
                if w.is_empty()
                    || w.len() > 3
                    || w.starts_with('0')
                    || !w.bytes().all(|b| b.is_ascii_digit())
                {
                    return Err(bad());
                }
                let w: u16 = w.parse().map_err(|_| bad())?;
                if !(1..=255).contains(&w) {
                    return Err(bad());
                }
                (m, Some(w))
            }
            None => (rest, None),
        };
        let parts: Vec<&str> = main.split('/').collect();
        let (head, idx) = parts.split_first().ok_or_else(bad)?;
        if *head == "entries" {
            return Ok(TilePath::Entries {
                index: parse_index(idx)?,
                width,
            });
        }
        if head.is_empty()
            || head.len() > 2
            || (head.len() > 1 && head.starts_with('0'))
            || !head.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        let level: u8 = head.parse().map_err(|_| bad())?;
        if level > 7 {
            return Err(bad());
        }
        Ok(TilePath::Hashes {
            level,
            index: parse_index(idx)?,
            width,
        })
    }

    pub fn format(&self) -> String {
        let (head, index, width) = match self {
            TilePath::Hashes {
                level,
                index,
                width,
            } => (level.to_string(), *index, *width),
            TilePath::Entries { index, width } => ("entries".to_string(), *index, *width),
        };
        let w = width.map(|w| format!(".p/{w}")).unwrap_or_default();
        format!("tile/{head}/{}{w}", format_index(index))
    }
}

/// The bytes of hash tile (`level`, `index`) of `tree`: 256 hashes, or `width` of them.
pub fn tile_bytes(
    tree: &Tree,
    level: u8,
    index: u64,
    width: Option<u16>,
) -> Result<Vec<u8>, TileError> {
    let hashes = tree.level(level * HEIGHT);
    let w = width.map(u64::from).unwrap_or(WIDTH);
    let start = index.checked_mul(WIDTH).ok_or(TileError::NotYet)?;
    let end = start.checked_add(w).ok_or(TileError::NotYet)?;
    if end > hashes.len() as u64 {
        return Err(TileError::NotYet);
    }
    Ok(hashes[start as usize..end as usize]
        .iter()
        .flat_map(|h| h.iter().copied())
        .collect())
}

/// Encodes entries as a bundle: each as a big-endian u16 length, then its bytes.
pub fn entry_bundle(entries: &[&[u8]]) -> Result<Vec<u8>, TileError> {
    let mut out = Vec::new();
    for e in entries {
        let n = u16::try_from(e.len()).map_err(|_| TileError::EntryTooLarge(e.len()))?;
        out.extend_from_slice(&n.to_be_bytes());
        out.extend_from_slice(e);
    }
    Ok(out)
}

/// The first bytes of a bundle's item that stands for an entry its reader may not read:
/// `"LSNH"` followed by the entry's leaf hash (36 bytes in all). An entry begins with
/// `"LSNE"` (`entry.rs`), so the two are never confused.
pub const WITHHELD_MAGIC: &[u8; 4] = b"LSNH";

/// The bundle item that withholds an entry and gives only its leaf hash.
pub fn withheld_item(leaf: &Hash) -> Vec<u8> {
    let mut out = Vec::with_capacity(36);
    out.extend_from_slice(WITHHELD_MAGIC);
    out.extend_from_slice(leaf);
    out
}

/// One item of an entry bundle as Liaison serves it: an entry's bytes, or only its leaf
/// hash when the reader may not read its event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BundleItem<'a> {
    Entry(&'a [u8]),
    Withheld(Hash),
}

impl<'a> BundleItem<'a> {
    pub fn of(item: &'a [u8]) -> BundleItem<'a> {
        match item.strip_prefix(WITHHELD_MAGIC.as_slice()) {
            Some(rest) if rest.len() == 32 => {
                let mut h = [0u8; 32];
                h.copy_from_slice(rest);
                BundleItem::Withheld(h)
            }
            _ => BundleItem::Entry(item),
        }
    }

    /// The leaf hash the item puts in the tree.
    pub fn leaf_hash(&self) -> Hash {
        match self {
            BundleItem::Entry(e) => crate::merkle::leaf_hash(e),
            BundleItem::Withheld(h) => *h,
        }
    }
}

pub fn parse_entry_bundle(bytes: &[u8]) -> Result<Vec<Vec<u8>>, TileError> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        if at + 2 > bytes.len() {
            return Err(TileError::Bundle("truncated length".into()));
        }
        let n = u16::from_be_bytes([bytes[at], bytes[at + 1]]) as usize;
        at += 2;
        if at + n > bytes.len() {
            return Err(TileError::Bundle("truncated entry".into()));
        }
        out.push(bytes[at..at + n].to_vec());
        at += n;
        if out.len() > WIDTH as usize {
            return Err(TileError::Bundle("more than 256 entries".into()));
        }
    }
    Ok(out)
}

/// Reads complete-subtree hashes of a tree of `size` from its tiles, fetching each tile
/// at most once.
pub struct TiledHashes<F> {
    size: u64,
    fetch: F,
    cache: HashMap<(u8, u64), Vec<Hash>>,
}

impl<F: FnMut(TilePath) -> Result<Vec<u8>, String>> TiledHashes<F> {
    pub fn new(size: u64, fetch: F) -> Self {
        TiledHashes {
            size,
            fetch,
            cache: HashMap::new(),
        }
    }

    fn tile(&mut self, level: u8, index: u64) -> Result<&Vec<Hash>, ProofError> {
        if !self.cache.contains_key(&(level, index)) {
            let count = self.size >> (u32::from(level) * u32::from(HEIGHT));
            let w = count.saturating_sub(index * WIDTH).min(WIDTH);
            if w == 0 {
                return Err(ProofError::Source(format!(
                    "tile {level}/{index} is beyond size {}",
                    self.size
                )));
            }
            let width = if w == WIDTH { None } else { Some(w as u16) };
            let bytes = (self.fetch)(TilePath::Hashes {
                level,
                index,
                width,
            })
            .map_err(ProofError::Source)?;
            if bytes.len() as u64 != w * 32 {
                return Err(ProofError::Source(format!(
                    "tile {level}/{index} has {} bytes, expected {}",
                    bytes.len(),
                    w * 32
                )));
            }
            let hashes = bytes.chunks_exact(32).map(|c| {
                let mut h = [0u8; 32];
                h.copy_from_slice(c);
                h
            });
            self.cache.insert((level, index), hashes.collect());
        }
        self.cache
            .get(&(level, index))
            .ok_or_else(|| ProofError::Source("tile cache".into()))
    }
}

impl<F: FnMut(TilePath) -> Result<Vec<u8>, String>> HashSource for TiledHashes<F> {
    fn complete(&mut self, level: u8, index: u64) -> Result<Hash, ProofError> {
        let tl = level / HEIGHT;
        let j = u32::from(level % HEIGHT);
        let first = index << j;
        let n = 1u64 << j;
        let tile_index = first / WIDTH;
        let offset = (first % WIDTH) as usize;
        let tile = self.tile(tl, tile_index)?;
        let mut row: Vec<Hash> = tile
            .get(offset..offset + n as usize)
            .ok_or_else(|| ProofError::Source(format!("subtree {level}/{index} not in its tile")))?
            .to_vec();
        while row.len() > 1 {
            row = row
                .chunks_exact(2)
                .map(|p| node_hash(&p[0], &p[1]))
                .collect();
        }
        row.first()
            .copied()
            .ok_or_else(|| ProofError::Source("empty subtree".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{consistency_proof, inclusion_proof, leaf_hash, root};
    use proptest::prelude::*;

    #[test]
    fn a_withheld_item_gives_the_leaf_hash_and_an_entry_is_hashed() {
        let entry = b"LSNE\x03an entry".as_slice();
        let leaf = leaf_hash(entry);
        let bundle = entry_bundle(&[entry, &withheld_item(&leaf)]).expect("bundle");
        let items = parse_entry_bundle(&bundle).expect("parse");
        assert_eq!(BundleItem::of(&items[0]), BundleItem::Entry(entry));
        assert_eq!(BundleItem::of(&items[1]), BundleItem::Withheld(leaf));
        assert_eq!(BundleItem::of(&items[0]).leaf_hash(), leaf);
        assert_eq!(BundleItem::of(&items[1]).leaf_hash(), leaf);
        // The marker and a hash of another length are bytes to hash, not a leaf.
        let short = &items[1][..35];
        assert_eq!(BundleItem::of(short), BundleItem::Entry(short));
    }

    /// `tile/0/x072/x057/x594/x037/x927/935`: its 256 hashes would end at 2^64, past
    /// any tree; it is not there yet (the sum overflowed, and the slice panicked).
    #[test]
    fn a_tile_ending_past_the_index_range_is_not_yet() {
        let t =
            crate::merkle::Tree::from_leaf_hashes((0..300u16).map(|i| leaf_hash(&i.to_be_bytes())));
        let p = TilePath::parse("tile/0/x072/x057/x594/x037/x927/935").expect("a tile path");
        let TilePath::Hashes {
            level,
            index,
            width,
        } = p
        else {
            panic!("a hash tile: {p:?}");
        };
        assert_eq!(index, (1 << 56) - 1);
        assert_eq!(tile_bytes(&t, level, index, width), Err(TileError::NotYet));
        for w in [None, Some(1), Some(255)] {
            assert_eq!(tile_bytes(&t, 0, u64::MAX / 256, w), Err(TileError::NotYet));
        }
        assert_eq!(tile_bytes(&t, 0, 0, None).map(|b| b.len()), Ok(256 * 32));
    }

    #[test]
    fn paths_round_trip() {
        for (p, want) in [
            (
                TilePath::Hashes {
                    level: 0,
                    index: 0,
                    width: None,
                },
                "tile/0/000",
            ),
            (
                TilePath::Hashes {
                    level: 1,
                    index: 1234067,
                    width: Some(5),
                },
                "tile/1/x001/x234/067.p/5",
            ),
            (
                TilePath::Entries {
                    index: 1000,
                    width: None,
                },
                "tile/entries/x001/000",
            ),
        ] {
            assert_eq!(p.format(), want);
            assert_eq!(TilePath::parse(want), Ok(p));
        }
        for bad in [
            "tile/0/00",
            "tile/0/1",
            "tile/01/000",
            "tile/0/000.p/0",
            "tile/0/000.p/256",
            "tile/0/001/000",
            "tile/8/000",
            "tile/x/000",
            "0/000",
            "tile/entries/000.p/",
            "tile/0/x000/000.p/05",
            "tile/0/x000/001",
            "tile/entries/x000/x001/234",
        ] {
            assert!(TilePath::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn bundles_round_trip() {
        let e: Vec<Vec<u8>> = vec![vec![], vec![1, 2, 3], vec![9; 300]];
        let refs: Vec<&[u8]> = e.iter().map(|v| v.as_slice()).collect();
        let b = entry_bundle(&refs).expect("bundle");
        assert_eq!(parse_entry_bundle(&b), Ok(e));
        assert!(parse_entry_bundle(&[0, 5, 1]).is_err());
    }

    proptest! {
        #[test]
        fn proofs_from_tiles_equal_proofs_from_memory(n in 1u64..2000, a in 0u64..10_000, b in 0u64..10_000) {
            let t = Tree::from_leaf_hashes((0..n).map(|i| leaf_hash(&i.to_be_bytes())));
            let tr = &t;
            let mut tiled = TiledHashes::new(n, |p: TilePath| match p {
                TilePath::Hashes { level, index, width } => tile_bytes(tr, level, index, width).map_err(|e| e.to_string()),
                TilePath::Entries { .. } => Err("no entries".into()),
            });
            prop_assert_eq!(root(&mut tiled, n).expect("root"), t.root());
            let index = a % n;
            prop_assert_eq!(inclusion_proof(&mut tiled, index, n).expect("inc"), t.inclusion_proof(index, n).expect("inc"));
            let old = 1 + b % n;
            prop_assert_eq!(consistency_proof(&mut tiled, old, n).expect("cons"), t.consistency_proof(old, n).expect("cons"));
        }
    }
}
