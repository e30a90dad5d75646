//! RFC 6962 Merkle trees: hashing, an append-only in-memory tree, proofs built from any
//! source of complete-subtree hashes, and the RFC 9162 §2.1.3.2 / §2.1.4.2 verifiers.

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

/// SHA-256(0x00 || entry)
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(entry);
    h.finalize().into()
}

/// SHA-256(0x01 || left || right)
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the empty tree: SHA-256 of nothing.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("index {index} is not in a tree of size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("tree size {size} is larger than the tree ({len})")]
    SizeOutOfRange { size: u64, len: u64 },
    #[error("proof has the wrong number of hashes")]
    WrongLength,
    #[error("the computed root does not match")]
    RootMismatch,
    #[error("sizes must satisfy 0 < old <= new")]
    BadSizes,
    #[error("hash source: {0}")]
    Source(String),
}

/// Where proofs read complete-subtree hashes from: the level (0 = leaves) and index of a
/// subtree of 2^level leaves starting at leaf index << level.
pub trait HashSource {
    fn complete(&mut self, level: u8, index: u64) -> Result<Hash, ProofError>;
}

fn largest_pow2_below(n: u64) -> u64 {
    debug_assert!(n > 1);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// MTH(D[lo:hi]) for a range the RFC recursion produces (its left parts are aligned).
pub fn range_hash<S: HashSource + ?Sized>(
    src: &mut S,
    lo: u64,
    hi: u64,
) -> Result<Hash, ProofError> {
    let n = hi - lo;
    if n == 0 {
        return Ok(empty_root());
    }
    if n.is_power_of_two() && lo.is_multiple_of(n) {
        return src.complete(n.trailing_zeros() as u8, lo / n);
    }
    let k = largest_pow2_below(n);
    let left = range_hash(src, lo, lo + k)?;
    let right = range_hash(src, lo + k, hi)?;
    Ok(node_hash(&left, &right))
}

/// The root of the first `size` entries.
pub fn root<S: HashSource + ?Sized>(src: &mut S, size: u64) -> Result<Hash, ProofError> {
    range_hash(src, 0, size)
}

/// RFC 6962 §2.1.1 PATH(index, D[0:size]).
pub fn inclusion_proof<S: HashSource + ?Sized>(
    src: &mut S,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let mut out = Vec::new();
    let (mut lo, mut hi) = (0u64, size);
    let mut stack = Vec::new();
    while hi - lo > 1 {
        let k = largest_pow2_below(hi - lo);
        if index < lo + k {
            stack.push((lo + k, hi));
            hi = lo + k;
        } else {
            stack.push((lo, lo + k));
            lo += k;
        }
    }
    while let Some((a, b)) = stack.pop() {
        out.push(range_hash(src, a, b)?);
    }
    Ok(out)
}

/// RFC 6962 §2.1.2 PROOF(old, D[0:new]).
pub fn consistency_proof<S: HashSource + ?Sized>(
    src: &mut S,
    old: u64,
    new: u64,
) -> Result<Vec<Hash>, ProofError> {
    if old == 0 || old > new {
        return Err(ProofError::BadSizes);
    }
    let mut rev = Vec::new();
    let (mut m, mut lo, hi0) = (old, 0u64, new);
    let mut hi = hi0;
    let mut b = true;
    loop {
        let n = hi - lo;
        if m == n {
            if !b {
                rev.push((lo, hi));
            }
            break;
        }
        let k = largest_pow2_below(n);
        if m <= k {
            rev.push((lo + k, hi));
            hi = lo + k;
        } else {
            rev.push((lo, lo + k));
            lo += k;
            m -= k;
            b = false;
        }
    }
    let mut out = Vec::with_capacity(rev.len());
    for (a, c) in rev.into_iter().rev() {
        out.push(range_hash(src, a, c)?);
    }
    Ok(out)
}

/// RFC 9162 §2.1.3.2: verifies that `leaf` is at `index` in the tree of `size` with `root`.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return Err(ProofError::WrongLength);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(ProofError::WrongLength);
    }
    if &r != root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// RFC 9162 §2.1.4.2: verifies that the tree of `size1` with `root1` is a prefix of the
/// tree of `size2` with `root2`. An empty old tree is refused here; see
/// [`verify_consistency_from`] for witnesses, which accept it.
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    proof: &[Hash],
    root1: &Hash,
    root2: &Hash,
) -> Result<(), ProofError> {
    if size1 == 0 || size1 > size2 {
        return Err(ProofError::BadSizes);
    }
    if size1 == size2 {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength);
        }
        return if root1 == root2 {
            Ok(())
        } else {
            Err(ProofError::RootMismatch)
        };
    }
    if proof.is_empty() {
        return Err(ProofError::WrongLength);
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if size1.is_power_of_two() {
        path.push(*root1);
    }
    path.extend_from_slice(proof);
    let (mut fn_, mut sn) = (size1 - 1, size2 - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let mut fr = path[0];
    let mut sr = path[0];
    for c in &path[1..] {
        if sn == 0 {
            return Err(ProofError::WrongLength);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(ProofError::WrongLength);
    }
    if &fr != root1 || &sr != root2 {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Consistency as a witness sees it: an empty old tree is consistent with anything,
/// with an empty proof.
pub fn verify_consistency_from(
    size1: u64,
    size2: u64,
    proof: &[Hash],
    root1: &Hash,
    root2: &Hash,
) -> Result<(), ProofError> {
    if size1 == 0 {
        return if proof.is_empty() && size2 >= size1 {
            Ok(())
        } else {
            Err(ProofError::WrongLength)
        };
    }
    verify_consistency(size1, size2, proof, root1, root2)
}

/// An append-only tree that keeps every complete-subtree hash, so roots and proofs cost
/// O(log n) hashes and pushes are amortised O(1).
#[derive(Clone, Debug, Default)]
pub struct Tree {
    /// levels[k][i]: the subtree of 2^k leaves starting at leaf i << k.
    levels: Vec<Vec<Hash>>,
}

impl Tree {
    pub fn new() -> Tree {
        Tree {
            levels: vec![Vec::new()],
        }
    }

    pub fn from_leaf_hashes(leaves: impl IntoIterator<Item = Hash>) -> Tree {
        let mut t = Tree::new();
        for l in leaves {
            t.push(l);
        }
        t
    }

    pub fn len(&self) -> u64 {
        self.levels.first().map(|l| l.len() as u64).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends a leaf hash and returns its index.
    pub fn push(&mut self, leaf: Hash) -> u64 {
        if self.levels.is_empty() {
            self.levels.push(Vec::new());
        }
        self.levels[0].push(leaf);
        let index = self.levels[0].len() as u64 - 1;
        let mut level = 0;
        while self.levels[level].len().is_multiple_of(2) {
            let n = self.levels[level].len();
            let parent = node_hash(&self.levels[level][n - 2], &self.levels[level][n - 1]);
            if self.levels.len() == level + 1 {
                self.levels.push(Vec::new());
            }
            self.levels[level + 1].push(parent);
            level += 1;
        }
        index
    }

    /// Drops every leaf from `size` on (used to undo a batch that failed to commit).
    pub fn truncate(&mut self, size: u64) {
        for (k, l) in self.levels.iter_mut().enumerate() {
            l.truncate((size >> k) as usize);
        }
    }

    /// Stored hashes at `level`: complete subtrees of 2^level leaves.
    pub fn level(&self, level: u8) -> &[Hash] {
        self.levels
            .get(level as usize)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    pub fn root(&self) -> Hash {
        self.root_at(self.len()).unwrap_or_else(|_| empty_root())
    }

    pub fn root_at(&self, size: u64) -> Result<Hash, ProofError> {
        self.check_size(size)?;
        root(&mut &*self, size)
    }

    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, ProofError> {
        self.check_size(size)?;
        inclusion_proof(&mut &*self, index, size)
    }

    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, ProofError> {
        self.check_size(new)?;
        consistency_proof(&mut &*self, old, new)
    }

    fn check_size(&self, size: u64) -> Result<(), ProofError> {
        if size > self.len() {
            return Err(ProofError::SizeOutOfRange {
                size,
                len: self.len(),
            });
        }
        Ok(())
    }
}

impl HashSource for &Tree {
    fn complete(&mut self, level: u8, index: u64) -> Result<Hash, ProofError> {
        self.levels
            .get(level as usize)
            .and_then(|l| l.get(index as usize))
            .copied()
            .ok_or_else(|| ProofError::Source(format!("no subtree at level {level} index {index}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn leaves() -> Vec<Vec<u8>> {
        [
            "",
            "00",
            "10",
            "2021",
            "3031",
            "40414243",
            "5051525354555657",
            "606162636465666768696a6b6c6d6e6f",
        ]
        .iter()
        .map(|h| hex::decode(h).unwrap_or_default())
        .collect()
    }

    #[test]
    fn known_roots_of_the_standard_eight_leaves() {
        let prefixes = [
            "6e340b9c", "fac54203", "aeb6bcfe", "d37ee418", "4e3bbb1f", "76e67dad", "ddb89be4",
            "5dc9da79",
        ];
        let mut t = Tree::new();
        for (i, l) in leaves().iter().enumerate() {
            t.push(leaf_hash(l));
            assert!(
                hex::encode(t.root()).starts_with(prefixes[i]),
                "root of size {}",
                i + 1
            );
        }
        assert_eq!(
            hex::encode(t.root()),
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
        );
        assert_eq!(
            hex::encode(empty_root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    fn tree(n: u64) -> Tree {
        Tree::from_leaf_hashes((0..n).map(|i| leaf_hash(&i.to_be_bytes())))
    }

    proptest! {
        #[test]
        fn every_inclusion_proof_verifies(n in 1u64..300, seed in 0u64..1000) {
            let t = tree(n);
            let index = seed % n;
            let size = index + 1 + (seed / 7) % (n - index);
            let p = t.inclusion_proof(index, size).expect("proof");
            let root = t.root_at(size).expect("root");
            prop_assert!(verify_inclusion(&leaf_hash(&index.to_be_bytes()), index, size, &p, &root).is_ok());
        }

        #[test]
        fn any_prefix_is_consistent_with_any_longer_tree(n in 2u64..300, a in 0u64..1000, b in 0u64..1000) {
            let t = tree(n);
            let old = 1 + a % n;
            let new = old + b % (n - old + 1);
            let p = t.consistency_proof(old, new).expect("proof");
            let (r1, r2) = (t.root_at(old).expect("r1"), t.root_at(new).expect("r2"));
            prop_assert!(verify_consistency(old, new, &p, &r1, &r2).is_ok());
        }

        #[test]
        fn any_flipped_bit_fails(n in 2u64..200, a in 0u64..1000, bit in 0usize..256, which in 0usize..3) {
            let t = tree(n);
            let index = a % n;
            let mut p = t.inclusion_proof(index, n).expect("proof");
            let mut root = t.root();
            let mut leaf = leaf_hash(&index.to_be_bytes());
            match which {
                0 if !p.is_empty() => { let k = bit % p.len(); p[k][bit / 8 % 32] ^= 1 << (bit % 8); }
                1 => root[bit / 8] ^= 1 << (bit % 8),
                _ => leaf[bit / 8] ^= 1 << (bit % 8),
            }
            prop_assert!(verify_inclusion(&leaf, index, n, &p, &root).is_err());
        }

        #[test]
        fn a_flipped_bit_in_a_consistency_proof_fails(n in 3u64..200, a in 0u64..1000, bit in 0usize..256) {
            let t = tree(n);
            let old = 1 + a % (n - 1);
            let mut p = t.consistency_proof(old, n).expect("proof");
            prop_assume!(!p.is_empty());
            let k = bit % p.len();
            p[k][bit / 8 % 32] ^= 1 << (bit % 8);
            prop_assert!(verify_consistency(old, n, &p, &t.root_at(old).expect("r1"), &t.root()).is_err());
        }
    }

    #[test]
    fn truncate_undoes_pushes() {
        let mut t = tree(37);
        let root = t.root_at(20).expect("root");
        t.truncate(20);
        assert_eq!(t.len(), 20);
        assert_eq!(t.root(), root);
        for i in 20..37u64 {
            t.push(leaf_hash(&i.to_be_bytes()));
        }
        assert_eq!(t.root(), tree(37).root());
    }
}
