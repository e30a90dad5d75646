//! The screener: every listed name and alias normalised once into tokens, an inverted
//! index from consonant skeletons (and known name parts) to names, and a scorer that
//! aligns the query's tokens with a candidate's regardless of word order.
//!
//! Score of a query name against a listed name: the sum, over aligned pairs of tokens, of
//! their similarity times both tokens' weights, divided by the aligned tokens' weights,
//! the query's unaligned tokens' at 1.3 (a part the listed name lacks says it may be
//! someone else) and the listed name's unaligned tokens' at 0.3 (a list's full name often
//! has parts a counterparty's does not). A token's weight falls with how many listed
//! names share its skeleton, so "Muhammad" counts for less than "Zawahiri".

use crate::limits::{MAX_NAME_TOKENS, MAX_QUERY_NAMES};
use crate::normalize::{
    NormalName, Token, known_part, known_spellings, latin_vowels_agree, long_vowels_agree,
    normalize_name,
};
use crate::{Kind, List, Match, Query};
use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Matches at or above this score are reported.
pub const THRESHOLD: f64 = 0.80;
/// At most this many matches per query, best first.
pub const MAX_MATCHES: usize = 20;

/// Tokens less similar than this are not aligned.
const MIN_TOKEN_SIM: f32 = 0.75;
/// How much a listed name's unaligned token counts against the score (a list's full
/// name often has parts a counterparty's does not).
const UNALIGNED_LISTED: f32 = 0.3;
/// How much a query's unaligned token counts against the score (a name part the listed
/// name does not have says it may be someone else).
const UNALIGNED_QUERY: f32 = 1.3;
/// Postings longer than this are not walked when a rarer token can find the name.
const POSTING_CAP: usize = 2_000;
/// Postings walked per query name once its rarest word is walked; the other words are
/// checked on the names found.
const WALK_BUDGET: usize = 1_500;
/// Candidates scored in full per query name.
const CANDIDATES: usize = 40;

/// A fast hash for the index's integer and short string keys (FxHash's mixing); the
/// keys are the list's own words, so no caller chooses them to collide.
#[derive(Default, Clone, Copy)]
struct Fx(u64);

impl Hasher for Fx {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(b));
        }
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_u32(&mut self, x: u32) {
        self.write_u64(u64::from(x));
    }
    fn write_u8(&mut self, x: u8) {
        self.write_u64(u64::from(x));
    }
    fn write_usize(&mut self, x: usize) {
        self.write_u64(x as u64);
    }
}

type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<Fx>>;

const NO_KNOWN: u16 = u16::MAX;

/// A listed token: its form and skeleton as ids into the screener's tables.
#[derive(Debug, Clone, Copy)]
struct Tok {
    form: u32,
    skel: u32,
    w: f32,
    vowelless: bool,
    hebrew: bool,
    initial: bool,
    known: u16,
}

/// A query's token: its strings, and their ids when the list has them.
#[derive(Debug, Clone)]
struct QTok {
    form: String,
    skel: String,
    form_id: Option<u32>,
    skel_id: Option<u32>,
    form_mask: u64,
    skel_mask: u64,
    w: f32,
    vowelless: bool,
    hebrew: bool,
    initial: bool,
    known: u16,
}

#[derive(Debug, Clone)]
struct NameRec {
    entry: u32,
    name: u32,
    start: u32,
    len: u8,
    kind: Kind,
    /// The sum of its tokens' weights.
    weight: f32,
}

#[derive(Debug, Clone)]
struct EntryRec {
    list: u32,
    id: String,
    kind: Kind,
    countries: Vec<String>,
    names: Vec<String>,
}

/// Strings interned: id → string (and the set of its letters), string → id.
#[derive(Debug, Clone, Default)]
struct Interner {
    strings: Vec<Box<str>>,
    masks: Vec<u64>,
    ids: FxMap<Box<str>, u32>,
}

/// The set of a word's bytes, folded into 64 bits: one edit changes at most two of them,
/// so half the bits two words do not share is a lower bound of their edit distance.
fn letter_mask(s: &str) -> u64 {
    s.bytes().fold(0, |m, b| m | 1 << (b % 64))
}

/// Whether two words could be `MIN_TOKEN_SIM` alike (a cheap bound before the edit
/// distance).
fn may_be_alike(a: &str, ma: u64, b: &str, mb: u64) -> bool {
    let m = a.len().max(b.len()).max(1) as f32;
    let lower = (ma ^ mb).count_ones().div_ceil(2) as f32;
    1.0 - lower / m >= MIN_TOKEN_SIM
}

impl Interner {
    fn intern(&mut self, s: &str) -> u32 {
        if let Some(id) = self.ids.get(s) {
            return *id;
        }
        let id = self.strings.len() as u32;
        self.strings.push(s.into());
        self.masks.push(letter_mask(s));
        self.ids.insert(s.into(), id);
        id
    }
    fn get(&self, s: &str) -> Option<u32> {
        self.ids.get(s).copied()
    }
    fn str(&self, id: u32) -> &str {
        &self.strings[id as usize]
    }
    fn mask(&self, id: u32) -> u64 {
        self.masks[id as usize]
    }
}

/// An index over the lists in force, asked about names. Built once per set of lists;
/// `Send + Sync`, and a screening takes it by shared reference.
#[derive(Debug, Clone, Default)]
pub struct Screener {
    sources: Vec<String>,
    entries: Vec<EntryRec>,
    names: Vec<NameRec>,
    /// Each name's kind, beside the names (read for every posting walked).
    name_kinds: Vec<Kind>,
    toks: Vec<Tok>,
    forms: Interner,
    skels: Interner,
    /// Skeleton id → the names holding it, in increasing order.
    postings: Vec<Vec<u32>>,
}

/// The posting key of a known name (no skeleton starts with `#`).
fn known_key(k: u16) -> String {
    format!("#{k}")
}

fn weight(df: usize, initial: bool) -> f32 {
    if initial {
        return 0.3;
    }
    let df = df.max(1) as f32;
    (1.0 - 0.17 * (df / 5.0).log10()).clamp(0.5, 1.0)
}

/// The country as a key: ISO 3166 alpha-2 for the names the lists spell out in the
/// region, otherwise the name's letters.
fn country_key(s: &str) -> String {
    let k: String = s
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    let code = match k.as_str() {
        "syria" | "syrianarabrepublic" => "sy",
        "lebanon" => "lb",
        "israel" => "il",
        "iran" | "iranislamicrepublicof" | "islamicrepublicofiran" => "ir",
        "iraq" => "iq",
        "egypt" => "eg",
        "jordan" => "jo",
        "saudiarabia" => "sa",
        "yemen" => "ye",
        "turkey" | "turkiye" => "tr",
        "russia" | "russianfederation" => "ru",
        "unitedarabemirates" | "uae" => "ae",
        "palestine" | "stateofpalestine" | "palestinianterritories" | "westbank" | "gaza" => "ps",
        "afghanistan" => "af",
        "pakistan" => "pk",
        "libya" => "ly",
        "sudan" => "sd",
        "somalia" => "so",
        "qatar" => "qa",
        "kuwait" => "kw",
        "bahrain" => "bh",
        "oman" => "om",
        "algeria" => "dz",
        "tunisia" => "tn",
        "morocco" => "ma",
        "northkorea" | "dprk" | "democraticpeoplesrepublicofkorea" => "kp",
        "unitedstates" | "usa" | "unitedstatesofamerica" => "us",
        "unitedkingdom" | "uk" => "gb",
        "china" => "cn",
        "cyprus" => "cy",
        "germany" => "de",
        "france" => "fr",
        _ => return k,
    };
    code.to_string()
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum How {
    Same,
    Known,
    Skeleton,
    Spelling,
    Initial,
}

/// Levenshtein distance of two short byte strings (longer ones are cut at 48 bytes).
fn levenshtein(a: &[u8], b: &[u8]) -> usize {
    let a = &a[..a.len().min(48)];
    let b = &b[..b.len().min(48)];
    if a.is_empty() {
        return b.len();
    }
    let mut row = [0usize; 49];
    for (j, r) in row.iter_mut().enumerate().take(b.len() + 1) {
        *r = j;
    }
    for (i, ca) in a.iter().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let up = row[j + 1];
            let cost = usize::from(ca != cb);
            row[j + 1] = (diag + cost).min(up + 1).min(row[j] + 1);
            diag = up;
        }
    }
    row[b.len()]
}

/// 1 − edits / length; one edit in a word of five letters or fewer says less (Sami and
/// Samir are two names), so short words lose a tenth more.
fn lev_sim(a: &str, b: &str) -> f32 {
    let (la, lb) = (a.len(), b.len());
    let m = la.max(lb);
    if m == 0 {
        return 1.0;
    }
    if la.abs_diff(lb) * 4 > m {
        return 0.0;
    }
    let d = levenshtein(a.as_bytes(), b.as_bytes());
    let s = 1.0 - d as f32 / m as f32;
    if d > 0 && m <= 5 { s * 0.9 } else { s }
}

/// How alike a query token and a listed one are, and why.
fn tok_sim(q: &QTok, l: &Tok, s: &Screener) -> (f32, How) {
    if q.form_id == Some(l.form) {
        return (1.0, How::Same);
    }
    if q.known != NO_KNOWN && l.known != NO_KNOWN {
        if q.known == l.known {
            return (1.0, How::Known);
        }
        // Two different known names: their spelling alone decides, across scripts not
        // at all.
        if q.vowelless || l.vowelless {
            return (0.0, How::Known);
        }
        return (0.9 * lev_sim(&q.form, s.forms.str(l.form)), How::Spelling);
    }
    let lform = s.forms.str(l.form);
    if q.initial || l.initial {
        let (i, other, other_vowelless) = if q.initial {
            (q.form.as_str(), lform, l.vowelless)
        } else {
            (lform, q.form.as_str(), q.vowelless)
        };
        if !other_vowelless && other.len() > 1 && other.starts_with(i) {
            return (0.9, How::Initial);
        }
        return (0.0, How::Initial);
    }
    let both_latin = !q.vowelless && !l.vowelless;
    // One side a known name written in its script, the other an unknown Latin
    // spelling: the Latin spelling is held to the known name's spellings.
    if q.vowelless != l.vowelless {
        let (known, latin) = if q.vowelless {
            (q.known, lform)
        } else {
            (l.known, q.form.as_str())
        };
        if known != NO_KNOWN {
            let best = known_spellings(known)
                .iter()
                .map(|k| lev_sim(k, latin))
                .fold(0.0f32, f32::max);
            return (best, How::Spelling);
        }
    }
    // Two words of one script that writes long vowels: their letters decide.
    if q.vowelless && l.vowelless && q.hebrew == l.hebrew {
        let sim = if may_be_alike(&q.form, q.form_mask, lform, s.forms.mask(l.form)) {
            lev_sim(&q.form, lform)
        } else {
            0.0
        };
        return (sim, How::Spelling);
    }
    let form = if both_latin && may_be_alike(&q.form, q.form_mask, lform, s.forms.mask(l.form)) {
        lev_sim(&q.form, lform)
    } else {
        0.0
    };
    if q.skel_id == Some(l.skel) {
        let agree = if both_latin {
            latin_vowels_agree(&q.form, lform)
        } else if q.vowelless != l.vowelless {
            let (script, latin) = if q.vowelless {
                (q.form.as_str(), lform)
            } else {
                (lform, q.form.as_str())
            };
            long_vowels_agree(script, latin)
        } else {
            true
        };
        if !agree {
            return (form.min(0.7), How::Spelling);
        }
        // Across scripts the consonants are all there is; between two Latin spellings
        // the vowels said something too. One consonant alone says little.
        let one_consonant = if q.vowelless != l.vowelless {
            // Across scripts, a long vowel written in the script and agreed with is
            // a second piece of evidence (Iyad, إياد).
            let script = if q.vowelless { q.form.as_str() } else { lform };
            if script
                .bytes()
                .skip(1)
                .any(|b| matches!(b, b'a' | b'w' | b'y'))
            {
                0.8
            } else {
                0.7
            }
        } else {
            0.7
        };
        let sk = match (q.skel.len(), both_latin) {
            (1, _) => one_consonant,
            (2, false) => 0.85,
            (_, false) => 0.95,
            (_, true) => 0.85,
        };
        if form > sk {
            return (form, How::Spelling);
        }
        return (sk, How::Skeleton);
    }
    let lskel = s.skels.str(l.skel);
    let skel = if q.skel.len() >= 3
        && lskel.len() >= 3
        && may_be_alike(&q.skel, q.skel_mask, lskel, s.skels.mask(l.skel))
    {
        0.9 * lev_sim(&q.skel, lskel)
    } else {
        0.0
    };
    if form >= skel {
        (form, How::Spelling)
    } else {
        (skel, How::Skeleton)
    }
}

#[derive(Debug, Clone, Copy)]
struct Scored {
    score: f32,
    /// The aligned pairs (query token, listed token, similarity, how), `n` of them.
    pairs: [(usize, usize, f32, How); MAX_NAME_TOKENS],
    n: usize,
}

/// Per query token, the similarity to each listed form met so far (the same listed
/// words recur across candidates).
type SimCache = Vec<FxMap<u32, (f32, How)>>;

/// Aligns the query's tokens with a listed name's, best pairs first (ties broken by the
/// tokens' content, so the score does not depend on word order).
fn name_score(q: &[QTok], l: &[Tok], s: &Screener, cache: &mut SimCache) -> Scored {
    let mut buf = [(0usize, 0usize, 0f32, How::Same); MAX_NAME_TOKENS * MAX_NAME_TOKENS];
    let mut n = 0;
    for (i, a) in q.iter().enumerate() {
        for (j, b) in l.iter().enumerate() {
            let (sim, how) = *cache[i].entry(b.form).or_insert_with(|| tok_sim(a, b, s));
            if sim >= MIN_TOKEN_SIM {
                buf[n] = (i, j, sim, how);
                n += 1;
            }
        }
    }
    let cands = &mut buf[..n];
    if cands.len() > 1 {
        cands.sort_by(|x, y| {
            y.2.total_cmp(&x.2)
                .then_with(|| (q[y.0].w + l[y.1].w).total_cmp(&(q[x.0].w + l[x.1].w)))
                .then_with(|| q[x.0].form.cmp(&q[y.0].form))
                .then_with(|| l[x.1].form.cmp(&l[y.1].form))
        });
    }
    let mut used_q = [false; MAX_NAME_TOKENS];
    let mut used_l = [false; MAX_NAME_TOKENS];
    let mut pairs = [(0usize, 0usize, 0f32, How::Same); MAX_NAME_TOKENS];
    let mut np = 0;
    let mut num = 0.0f32;
    for &mut (i, j, sim, how) in cands {
        if used_q[i] || used_l[j] {
            continue;
        }
        used_q[i] = true;
        used_l[j] = true;
        num += sim * (q[i].w + l[j].w);
        pairs[np] = (i, j, sim, how);
        np += 1;
    }
    let mut den = 0.0;
    for (i, t) in q.iter().enumerate() {
        den += if used_q[i] {
            t.w
        } else {
            UNALIGNED_QUERY * t.w
        };
    }
    for (j, t) in l.iter().enumerate() {
        den += if used_l[j] {
            t.w
        } else {
            UNALIGNED_LISTED * t.w
        };
    }
    let score = if den > 0.0 { num / den } else { 0.0 };
    Scored {
        score,
        pairs,
        n: np,
    }
}

/// Per-thread scratch of the candidate search: hit weights per listed name (reset after
/// each query name, only where it touched), the names it touched, and per name the last
/// query token that counted it (so a name found under two keys of one token counts once).
#[derive(Default)]
struct Scratch {
    hits: Vec<f32>,
    touched: Vec<u32>,
    stamps: Vec<u32>,
    stamp: u32,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

impl Screener {
    /// The index over the lists; a later list with the same `source` replaces an earlier.
    pub fn new(lists: &[List]) -> Screener {
        let mut s = Screener::default();
        let mut keep: Vec<&List> = Vec::new();
        for l in lists {
            if let Some(k) = keep.iter_mut().find(|k| k.source == l.source) {
                *k = l;
            } else {
                keep.push(l);
            }
        }
        // The known part of each form, Latin and transliterated, once.
        let mut known_of: Vec<Option<u16>> = Vec::new();
        for list in keep {
            let li = s.sources.len() as u32;
            s.sources.push(list.source.clone());
            for e in &list.entries {
                let ei = s.entries.len() as u32;
                s.entries.push(EntryRec {
                    list: li,
                    id: e.id.clone(),
                    kind: e.kind,
                    countries: e.countries.iter().map(|c| country_key(c)).collect(),
                    names: e.names.clone(),
                });
                for (ni, name) in e.names.iter().enumerate() {
                    let n = normalize_name(name);
                    if n.tokens.is_empty() {
                        continue;
                    }
                    let id = s.names.len() as u32;
                    s.names.push(NameRec {
                        entry: ei,
                        name: ni as u32,
                        start: s.toks.len() as u32,
                        len: n.tokens.len() as u8,
                        kind: e.kind,
                        weight: 0.0,
                    });
                    let mut keys: Vec<u32> = Vec::with_capacity(n.tokens.len());
                    for t in &n.tokens {
                        let skel = s.skels.intern(&t.skel);
                        keys.push(skel);
                        let form = s.forms.intern(&t.form);
                        let slot = usize::from(t.vowelless) + 2 * form as usize;
                        if known_of.len() <= slot {
                            known_of.resize(slot + 2, None);
                        }
                        let known = *known_of[slot]
                            .get_or_insert_with(|| known_part(t).unwrap_or(NO_KNOWN));
                        // A known name is also found under its own key, whatever its
                        // script (דוד and David have different skeletons).
                        if known != NO_KNOWN {
                            keys.push(s.skels.intern(&known_key(known)));
                        }
                        s.toks.push(Tok {
                            form,
                            skel,
                            w: 1.0,
                            vowelless: t.vowelless,
                            hebrew: t.hebrew,
                            initial: t.initial,
                            known,
                        });
                    }
                    keys.sort_unstable();
                    keys.dedup();
                    if s.postings.len() < s.skels.strings.len() {
                        s.postings.resize(s.skels.strings.len(), Vec::new());
                    }
                    for k in keys {
                        s.postings[k as usize].push(id);
                    }
                }
            }
        }
        let postings = &s.postings;
        for t in &mut s.toks {
            t.w = weight(postings[t.skel as usize].len(), t.initial);
        }
        s.name_kinds = s.names.iter().map(|n| n.kind).collect();
        for n in &mut s.names {
            n.weight = s.toks[n.start as usize..n.start as usize + n.len as usize]
                .iter()
                .map(|t| t.w)
                .sum();
        }
        s
    }

    /// Listed names and aliases indexed.
    pub fn names_indexed(&self) -> usize {
        self.names.len()
    }

    fn query_tokens(&self, n: &NormalName) -> Vec<QTok> {
        n.tokens
            .iter()
            .map(|t: &Token| {
                let skel_id = self.skels.get(&t.skel);
                let df = skel_id.map_or(0, |k| self.postings[k as usize].len());
                QTok {
                    form_mask: letter_mask(&t.form),
                    skel_mask: letter_mask(&t.skel),
                    form_id: self.forms.get(&t.form),
                    skel_id,
                    form: t.form.clone(),
                    skel: t.skel.clone(),
                    w: weight(df, t.initial),
                    vowelless: t.vowelless,
                    hebrew: t.hebrew,
                    initial: t.initial,
                    known: known_part(t).unwrap_or(NO_KNOWN),
                }
            })
            .collect()
    }

    /// The names worth scoring in full, most promising first: those that share a
    /// skeleton with the query, by the weight they share.
    fn candidates(&self, q: &[QTok], kind: Option<Kind>, threshold: f64) -> Vec<u32> {
        // A name whose words shared with the query would not come near the threshold
        // even if they were all it met is not scored (words that only look alike add
        // less than this margin).
        let least = (threshold as f32 - 0.35).max(0.0);
        let fits = |id: u32| match kind {
            None | Some(Kind::Other) => true,
            Some(k) => {
                let nk = self.name_kinds[id as usize];
                nk == k || nk == Kind::Other
            }
        };
        SCRATCH.with(|cell| {
            let mut guard = cell.borrow_mut();
            let Scratch {
                hits,
                touched,
                stamps,
                stamp,
            } = &mut *guard;
            if hits.len() < self.names.len() {
                hits.resize(self.names.len(), 0.0);
                stamps.resize(self.names.len(), 0);
            }
            let mut walked = false;
            let mut seen: Vec<u32> = Vec::new();
            // Rarest tokens first; once one is walked, a token whose postings would
            // pass the budget is not walked but checked on the names found.
            let mut order: Vec<(usize, [Option<u32>; 2], usize)> = q
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    let mut keys = [t.skel_id, None];
                    if t.known != NO_KNOWN {
                        keys[1] = self.skels.get(&known_key(t.known));
                    }
                    let len = keys
                        .iter()
                        .flatten()
                        .map(|k| self.postings[*k as usize].len())
                        .filter(|l| *l <= POSTING_CAP)
                        .sum();
                    (i, keys, len)
                })
                .collect();
            order.sort_by_key(|o| (o.2, o.0));
            let mut budget = WALK_BUDGET;
            let mut deferred: Vec<(usize, [Option<u32>; 2])> = Vec::new();
            for (i, keys, len) in order {
                let t = &q[i];
                if walked && len > budget {
                    deferred.push((i, keys));
                    continue;
                }
                budget = budget.saturating_sub(len);
                // A name found under both keys of one token counts it once.
                *stamp = stamp.wrapping_add(1);
                if *stamp == 0 {
                    stamps.iter_mut().for_each(|s| *s = 0);
                    *stamp = 1;
                }
                for k in keys.into_iter().flatten() {
                    if seen.contains(&k) {
                        continue;
                    }
                    seen.push(k);
                    let p = &self.postings[k as usize];
                    if p.len() > POSTING_CAP {
                        continue;
                    }
                    walked = true;
                    for id in p {
                        let st = &mut stamps[*id as usize];
                        if *st == *stamp || !fits(*id) {
                            continue;
                        }
                        *st = *stamp;
                        let h = &mut hits[*id as usize];
                        if *h == 0.0 {
                            touched.push(*id);
                        }
                        *h += t.w;
                    }
                }
            }
            for (i, keys) in &deferred {
                let t = &q[*i];
                for id in touched.iter() {
                    let rec = &self.names[*id as usize];
                    let toks =
                        &self.toks[rec.start as usize..rec.start as usize + rec.len as usize];
                    if toks.iter().any(|x| {
                        Some(x.skel) == keys[0] || (t.known != NO_KNOWN && x.known == t.known)
                    }) {
                        hits[*id as usize] += t.w;
                    }
                }
                for k in keys.iter().flatten() {
                    if !seen.contains(k) {
                        seen.push(*k);
                    }
                }
            }
            if !walked {
                // Every token is common: names holding the two rarest, or, for one
                // token, the short names holding it.
                let mut lists: Vec<&Vec<u32>> =
                    seen.iter().map(|k| &self.postings[*k as usize]).collect();
                lists.sort_by_key(|p| p.len());
                match lists.as_slice() {
                    [] => {}
                    [one] => {
                        for id in one.iter() {
                            if self.names[*id as usize].len <= 2 && fits(*id) {
                                touched.push(*id);
                                hits[*id as usize] = 1.0;
                            }
                        }
                    }
                    [a, b, ..] => {
                        let (mut i, mut j) = (0, 0);
                        while i < a.len() && j < b.len() {
                            match a[i].cmp(&b[j]) {
                                std::cmp::Ordering::Less => i += 1,
                                std::cmp::Ordering::Greater => j += 1,
                                std::cmp::Ordering::Equal if !fits(a[i]) => {
                                    i += 1;
                                    j += 1;
                                }
                                std::cmp::Ordering::Equal => {
                                    touched.push(a[i]);
                                    hits[a[i] as usize] = 1.0;
                                    i += 1;
                                    j += 1;
                                }
                            }
                        }
                    }
                }
            }
            // A name that shares less than this much of the query's weight on exact
            // skeletons is not scored (a typo in one of two words still passes).
            let floor = if walked {
                0.45 * q.iter().map(|t| t.w).sum::<f32>()
            } else {
                0.0
            };
            // An initial meets any word it begins.
            let initials: Vec<u8> = q
                .iter()
                .filter(|t| t.initial)
                .filter_map(|t| t.form.bytes().next())
                .collect();
            let wq: f32 = q.iter().map(|t| t.w).sum();
            // Ranked by the score the name would have if the words it shares were
            // all it met.
            let mut v: Vec<(u32, f32)> = touched
                .iter()
                .filter(|id| hits[**id as usize] >= floor)
                .map(|id| {
                    let rec = &self.names[*id as usize];
                    let mut h = hits[*id as usize];
                    if !initials.is_empty() {
                        let toks =
                            &self.toks[rec.start as usize..rec.start as usize + rec.len as usize];
                        for c in &initials {
                            if toks.iter().any(|t| {
                                !t.vowelless && self.forms.str(t.form).as_bytes().first() == Some(c)
                            }) {
                                h += 0.3;
                            }
                        }
                    }
                    let approx = 2.0 * h / (wq + h + UNALIGNED_LISTED * (rec.weight - h).max(0.0));
                    (*id, approx)
                })
                .filter(|(_, approx)| *approx >= least)
                .collect();
            for id in touched.drain(..) {
                hits[id as usize] = 0.0;
            }
            if v.len() > CANDIDATES {
                v.select_nth_unstable_by(CANDIDATES, |a, b| {
                    b.1.total_cmp(&a.1).then(a.0.cmp(&b.0))
                });
                v.truncate(CANDIDATES);
            }
            v.into_iter().map(|(id, _)| id).collect()
        })
    }

    /// The entries one of the query's names meets at or above [`THRESHOLD`], best first,
    /// at most [`MAX_MATCHES`], one match per entry (its best name).
    pub fn screen(&self, q: &Query<'_>) -> Vec<Match> {
        self.screen_scored(q, THRESHOLD)
    }

    /// [`Screener::screen`] with another threshold (the evaluation draws its curve so).
    pub fn screen_scored(&self, q: &Query<'_>, threshold: f64) -> Vec<Match> {
        self.screen_top(q, threshold, MAX_MATCHES)
    }

    /// [`Screener::screen_scored`] with another limit on the matches reported.
    pub fn screen_top(&self, q: &Query<'_>, threshold: f64, limit: usize) -> Vec<Match> {
        let country = q.country.map(country_key);
        // entry → (score, listed name id, query name index, alignment)
        let mut best: FxMap<u32, (f32, u32, usize, Scored)> = FxMap::default();
        let normals: Vec<NormalName> = q
            .names
            .iter()
            .take(MAX_QUERY_NAMES)
            .map(|n| normalize_name(n))
            .collect();
        let mut tokens: Vec<Vec<QTok>> = Vec::with_capacity(normals.len());
        for (qi, n) in normals.iter().enumerate() {
            let qt = self.query_tokens(n);
            if qt.is_empty() {
                tokens.push(qt);
                continue;
            }
            let mut cache: SimCache = vec![FxMap::default(); qt.len()];
            for id in self.candidates(&qt, q.kind, threshold) {
                let rec = &self.names[id as usize];
                let entry = &self.entries[rec.entry as usize];
                if let Some(k) = q.kind
                    && k != entry.kind
                    && k != Kind::Other
                    && entry.kind != Kind::Other
                {
                    continue;
                }
                let lt = &self.toks[rec.start as usize..rec.start as usize + rec.len as usize];
                let mut sc = name_score(&qt, lt, self, &mut cache);
                if let Some(c) = &country
                    && !entry.countries.is_empty()
                    && !entry.countries.contains(c)
                {
                    sc.score *= 0.95;
                }
                let better = match best.get(&rec.entry) {
                    None => true,
                    Some(b) => sc.score > b.0 || (sc.score == b.0 && (id, qi) < (b.1, b.2)),
                };
                if better {
                    best.insert(rec.entry, (sc.score, id, qi, sc));
                }
            }
            tokens.push(qt);
        }
        let mut found: Vec<(u32, (f32, u32, usize, Scored))> = best
            .into_iter()
            .filter(|(_, b)| f64::from(b.0) >= threshold - 1e-9)
            .collect();
        found.sort_by(|a, b| b.1.0.total_cmp(&a.1.0).then_with(|| a.0.cmp(&b.0)));
        found.truncate(limit);
        found
            .into_iter()
            .map(|(ei, (score, id, qi, sc))| {
                let entry = &self.entries[ei as usize];
                let rec = &self.names[id as usize];
                let listed = &entry.names[rec.name as usize];
                let lt = &self.toks[rec.start as usize..rec.start as usize + rec.len as usize];
                let why = explain(
                    &normals[qi],
                    &tokens[qi],
                    &normalize_name(listed),
                    lt,
                    self,
                    rec.name == 0,
                    &sc,
                    country.as_deref(),
                    &entry.countries,
                );
                Match {
                    list: self.sources[entry.list as usize].clone(),
                    entry_id: entry.id.clone(),
                    listed_name: listed.clone(),
                    our_name: q.names[qi].to_string(),
                    score: (f64::from(score) * 1000.0).round() / 1000.0,
                    why,
                }
            })
            .collect()
    }
}

#[allow(clippy::too_many_arguments)]
fn explain(
    ours: &NormalName,
    qt: &[QTok],
    listed: &NormalName,
    lt: &[Tok],
    s: &Screener,
    primary: bool,
    sc: &Scored,
    country: Option<&str>,
    countries: &[String],
) -> String {
    let mut parts: Vec<String> = Vec::new();
    parts.push(if primary {
        "met the listed name".into()
    } else {
        "met an alias".into()
    });
    let mut pairs = sc.pairs[..sc.n].to_vec();
    pairs.sort_by_key(|p| p.0);
    let aligned: Vec<String> = pairs
        .iter()
        .map(|(i, j, sim, how)| {
            let (a, b) = (&qt[*i], &lt[*j]);
            let bf = s.forms.str(b.form);
            match how {
                How::Same => format!("'{}'='{bf}'", a.form),
                How::Known => format!("'{}'='{bf}' (one name)", a.form),
                How::Skeleton => format!(
                    "'{}'≈'{bf}' on consonants '{}'",
                    a.form,
                    s.skels.str(b.skel)
                ),
                How::Spelling => format!("'{}'~'{bf}' spelling {sim:.2}", a.form),
                How::Initial => format!("initial '{}' for '{bf}'", a.form),
            }
        })
        .collect();
    parts.push(aligned.join(", "));
    let order: Vec<usize> = pairs.iter().map(|p| p.1).collect();
    if order.windows(2).any(|w| w[0] > w[1]) {
        parts.push("word order".into());
    }
    let lone_q: Vec<&str> = (0..qt.len())
        .filter(|i| !pairs.iter().any(|p| p.0 == *i))
        .map(|i| qt[i].form.as_str())
        .collect();
    if !lone_q.is_empty() {
        parts.push(format!("ours also has '{}'", lone_q.join(" ")));
    }
    let lone_l: Vec<&str> = (0..lt.len())
        .filter(|j| !pairs.iter().any(|p| p.1 == *j))
        .map(|j| s.forms.str(lt[j].form))
        .collect();
    if !lone_l.is_empty() {
        parts.push(format!("listed also has '{}'", lone_l.join(" ")));
    }
    if !ours.notes.is_empty() {
        parts.push(format!("ours: {}", ours.notes.join("; ")));
    }
    if !listed.notes.is_empty() {
        parts.push(format!("listed: {}", listed.notes.join("; ")));
    }
    if let Some(c) = country
        && !countries.is_empty()
    {
        if countries.iter().any(|x| x == c) {
            parts.push(format!("country {c} listed"));
        } else {
            parts.push(format!("country {c} not listed (×0.95)"));
        }
    }
    parts.join("; ")
}
