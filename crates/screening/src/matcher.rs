//! The screener: every listed name and alias normalised once into tokens, an inverted
//! index from consonant skeletons (and their first three letters) to names, and a scorer
//! that aligns the query's tokens with a candidate's regardless of word order.
//!
//! Score of a query name against a listed name: each aligned pair of tokens contributes
//! its similarity times both tokens' weights; the query's unaligned tokens count fully
//! against it, the listed name's unaligned tokens at half (a list's full name often has
//! parts a counterparty's does not). A token's weight falls with how many listed names
//! share its skeleton, so "Muhammad" counts for less than "Zawahiri".

use crate::limits::{MAX_NAME_TOKENS, MAX_QUERY_NAMES};
use crate::normalize::{NormalName, Token, is_known_part, long_vowels_agree, normalize_name};
use crate::{Kind, List, Match, Query};
use std::collections::HashMap;

/// Matches at or above this score are reported.
pub const THRESHOLD: f64 = 0.80;
/// At most this many matches per query, best first.
pub const MAX_MATCHES: usize = 20;

/// Tokens less similar than this are not aligned.
const MIN_TOKEN_SIM: f32 = 0.75;
/// How much a listed name's unaligned token counts against the score.
const UNALIGNED_LISTED: f32 = 0.5;
/// Postings longer than this are not walked when a rarer token can find the name.
const POSTING_CAP: usize = 4_000;
/// Candidates scored in full per query name.
const CANDIDATES: usize = 256;

#[derive(Debug, Clone)]
struct Tok {
    form: Box<str>,
    skel: Box<str>,
    w: f32,
    vowelless: bool,
    initial: bool,
}

#[derive(Debug, Clone)]
struct NameRec {
    entry: u32,
    name: u32,
    start: u32,
    len: u8,
}

#[derive(Debug, Clone)]
struct EntryRec {
    list: u32,
    id: String,
    kind: Kind,
    countries: Vec<String>,
    names: Vec<String>,
}

/// An index over the lists in force, asked about names. Built once per set of lists.
#[derive(Debug, Clone, Default)]
pub struct Screener {
    sources: Vec<String>,
    entries: Vec<EntryRec>,
    names: Vec<NameRec>,
    toks: Vec<Tok>,
    postings: HashMap<Box<str>, Vec<u32>>,
}

fn weight(df: usize, initial: bool) -> f32 {
    if initial {
        return 0.3;
    }
    let df = df.max(1) as f32;
    (1.0 - 0.17 * (df / 5.0).log10()).clamp(0.5, 1.0)
}

fn prefix_key(skel: &str) -> Option<String> {
    (skel.len() >= 4).then(|| format!("~{}", &skel[..3]))
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

#[derive(Clone, Copy, PartialEq, Eq)]
enum How {
    Same,
    Skeleton,
    Spelling,
    Initial,
}

/// Levenshtein distance of two byte strings.
fn levenshtein(a: &[u8], b: &[u8]) -> usize {
    if a.is_empty() {
        return b.len();
    }
    let mut row: Vec<usize> = (0..=b.len()).collect();
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

fn lev_sim(a: &str, b: &str) -> f32 {
    let (la, lb) = (a.len(), b.len());
    let m = la.max(lb);
    if m == 0 {
        return 1.0;
    }
    if la.abs_diff(lb) * 4 > m {
        return 0.0;
    }
    1.0 - levenshtein(a.as_bytes(), b.as_bytes()) as f32 / m as f32
}

fn tok_sim(a: &Tok, b: &Tok) -> (f32, How) {
    if a.form == b.form {
        return (1.0, How::Same);
    }
    if a.initial || b.initial {
        let (i, other) = if a.initial { (a, b) } else { (b, a) };
        if !other.vowelless && other.form.starts_with(&*i.form) {
            return (0.9, How::Initial);
        }
        return (0.0, How::Initial);
    }
    let both_latin = !a.vowelless && !b.vowelless;
    let form = if both_latin {
        lev_sim(&a.form, &b.form)
    } else {
        0.0
    };
    if both_latin && is_known_part(&a.form) && is_known_part(&b.form) {
        // Two different known names (Hasan, Husayn): their spelling alone decides.
        return (form, How::Spelling);
    }
    if a.skel == b.skel && a.vowelless != b.vowelless {
        let (script, latin) = if a.vowelless { (a, b) } else { (b, a) };
        if !long_vowels_agree(&script.form, &latin.form) {
            return (0.7, How::Skeleton);
        }
    }
    if a.skel == b.skel {
        // Across scripts the consonants are all there is; between two Latin spellings
        // the vowels said something, so equal consonants count for less.
        let s = match (a.skel.len(), both_latin) {
            (1, _) => 0.8,
            (2, false) => 0.9,
            (_, false) => 0.95,
            (_, true) => 0.85,
        };
        if form > s {
            return (form, How::Spelling);
        }
        return (s, How::Skeleton);
    }
    let skel = if a.skel.len() >= 3 && b.skel.len() >= 3 {
        0.9 * lev_sim(&a.skel, &b.skel)
    } else {
        0.0
    };
    if form >= skel {
        (form, How::Spelling)
    } else {
        (skel, How::Skeleton)
    }
}

struct Scored {
    score: f32,
    pairs: Vec<(usize, usize, f32, How)>,
}

/// Aligns the query's tokens with a listed name's, best pairs first (ties broken by the
/// tokens' content, so the score does not depend on word order).
fn name_score(q: &[Tok], l: &[Tok]) -> Scored {
    let mut cands: Vec<(usize, usize, f32, How)> = Vec::with_capacity(q.len() * l.len());
    for (i, a) in q.iter().enumerate() {
        for (j, b) in l.iter().enumerate() {
            let (s, how) = tok_sim(a, b);
            if s >= MIN_TOKEN_SIM {
                cands.push((i, j, s, how));
            }
        }
    }
    cands.sort_by(|x, y| {
        y.2.total_cmp(&x.2)
            .then_with(|| (q[y.0].w + l[y.1].w).total_cmp(&(q[x.0].w + l[x.1].w)))
            .then_with(|| q[x.0].form.cmp(&q[y.0].form))
            .then_with(|| l[x.1].form.cmp(&l[y.1].form))
    });
    let mut used_q = [false; MAX_NAME_TOKENS];
    let mut used_l = [false; MAX_NAME_TOKENS];
    let mut pairs = Vec::new();
    let mut num = 0.0f32;
    for (i, j, s, how) in cands {
        if used_q[i] || used_l[j] {
            continue;
        }
        used_q[i] = true;
        used_l[j] = true;
        num += s * (q[i].w + l[j].w);
        pairs.push((i, j, s, how));
    }
    let wq: f32 = q.iter().map(|t| t.w).sum();
    let mut den = wq;
    for (j, t) in l.iter().enumerate() {
        den += if used_l[j] {
            t.w
        } else {
            UNALIGNED_LISTED * t.w
        };
    }
    let score = if den > 0.0 { num / den } else { 0.0 };
    Scored { score, pairs }
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
                    });
                    let mut keys: Vec<String> = Vec::new();
                    for t in n.tokens {
                        keys.push(t.skel.clone());
                        keys.extend(prefix_key(&t.skel));
                        s.toks.push(Tok {
                            form: t.form.into(),
                            skel: t.skel.into(),
                            w: 1.0,
                            vowelless: t.vowelless,
                            initial: t.initial,
                        });
                    }
                    keys.sort();
                    keys.dedup();
                    for k in keys {
                        s.postings.entry(k.into()).or_default().push(id);
                    }
                }
            }
        }
        let postings = &s.postings;
        for t in &mut s.toks {
            let df = postings.get(&t.skel).map_or(0, Vec::len);
            t.w = weight(df, t.initial);
        }
        s
    }

    /// Listed names and aliases indexed.
    pub fn names_indexed(&self) -> usize {
        self.names.len()
    }

    fn query_tokens(&self, n: &NormalName) -> Vec<Tok> {
        n.tokens
            .iter()
            .map(|t: &Token| Tok {
                form: t.form.as_str().into(),
                skel: t.skel.as_str().into(),
                w: weight(
                    self.postings.get(t.skel.as_str()).map_or(0, Vec::len),
                    t.initial,
                ),
                vowelless: t.vowelless,
                initial: t.initial,
            })
            .collect()
    }

    /// The names worth scoring in full, most promising first.
    fn candidates(&self, q: &[Tok]) -> Vec<u32> {
        let mut hits: HashMap<u32, f32> = HashMap::new();
        let mut walked = false;
        let mut seen: Vec<&str> = Vec::new();
        for t in q {
            if seen.contains(&&*t.skel) {
                continue;
            }
            seen.push(&t.skel);
            let exact = self.postings.get(&t.skel);
            if let Some(p) = exact
                && p.len() <= POSTING_CAP
            {
                walked = true;
                for id in p {
                    *hits.entry(*id).or_default() += t.w;
                }
            }
            if let Some(k) = prefix_key(&t.skel)
                && let Some(p) = self.postings.get(k.as_str())
                && p.len() <= POSTING_CAP
            {
                walked = true;
                for id in p {
                    *hits.entry(*id).or_default() += 0.5 * t.w;
                }
            }
        }
        if !walked {
            // Every token is common: names holding the two rarest, or, for one token,
            // the short names holding it.
            let mut lists: Vec<&Vec<u32>> = q
                .iter()
                .filter_map(|t| self.postings.get(&t.skel))
                .collect();
            lists.sort_by_key(|p| p.len());
            match lists.as_slice() {
                [] => {}
                [one] => {
                    for id in one.iter() {
                        if self.names[*id as usize].len <= 2 {
                            hits.insert(*id, 1.0);
                        }
                    }
                }
                [a, b, ..] => {
                    let (mut i, mut j) = (0, 0);
                    while i < a.len() && j < b.len() {
                        match a[i].cmp(&b[j]) {
                            std::cmp::Ordering::Less => i += 1,
                            std::cmp::Ordering::Greater => j += 1,
                            std::cmp::Ordering::Equal => {
                                hits.insert(a[i], 1.0);
                                i += 1;
                                j += 1;
                            }
                        }
                    }
                }
            }
        }
        let mut v: Vec<(u32, f32)> = hits.into_iter().collect();
        if v.len() > CANDIDATES {
            v.select_nth_unstable_by(CANDIDATES, |a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            v.truncate(CANDIDATES);
        }
        v.into_iter().map(|(id, _)| id).collect()
    }

    /// The entries one of the query's names meets at or above [`THRESHOLD`], best first,
    /// at most [`MAX_MATCHES`], one match per entry (its best name).
    pub fn screen(&self, q: &Query<'_>) -> Vec<Match> {
        self.screen_scored(q, THRESHOLD)
    }

    /// [`Screener::screen`] with another threshold (the evaluation draws its curve so).
    pub fn screen_scored(&self, q: &Query<'_>, threshold: f64) -> Vec<Match> {
        let country = q.country.map(country_key);
        // entry → (score, listed name id, query name index, alignment)
        let mut best: HashMap<u32, (f32, u32, usize, Scored)> = HashMap::new();
        let normals: Vec<NormalName> = q
            .names
            .iter()
            .take(MAX_QUERY_NAMES)
            .map(|n| normalize_name(n))
            .collect();
        for (qi, n) in normals.iter().enumerate() {
            let qt = self.query_tokens(n);
            if qt.is_empty() {
                continue;
            }
            for id in self.candidates(&qt) {
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
                let mut sc = name_score(&qt, lt);
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
        }
        let mut found: Vec<(u32, (f32, u32, usize, Scored))> = best
            .into_iter()
            .filter(|(_, b)| f64::from(b.0) >= threshold - 1e-9)
            .collect();
        found.sort_by(|a, b| b.1.0.total_cmp(&a.1.0).then_with(|| a.0.cmp(&b.0)));
        found.truncate(MAX_MATCHES);
        found
            .into_iter()
            .map(|(ei, (score, id, qi, sc))| {
                let entry = &self.entries[ei as usize];
                let rec = &self.names[id as usize];
                let listed = &entry.names[rec.name as usize];
                let lt = &self.toks[rec.start as usize..rec.start as usize + rec.len as usize];
                let qt = self.query_tokens(&normals[qi]);
                let why = explain(
                    &normals[qi],
                    &qt,
                    &normalize_name(listed),
                    lt,
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
    qt: &[Tok],
    listed: &NormalName,
    lt: &[Tok],
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
    let mut pairs = sc.pairs.clone();
    pairs.sort_by_key(|p| p.0);
    let aligned: Vec<String> = pairs
        .iter()
        .map(|(i, j, s, how)| {
            let (a, b) = (&qt[*i], &lt[*j]);
            match how {
                How::Same => format!("'{}'='{}'", a.form, b.form),
                How::Skeleton => format!("'{}'≈'{}' on consonants '{}'", a.form, b.form, b.skel),
                How::Spelling => format!("'{}'~'{}' spelling {:.2}", a.form, b.form, s),
                How::Initial => format!("initial '{}' for '{}'", a.form, b.form),
            }
        })
        .collect();
    parts.push(aligned.join(", "));
    let order: Vec<usize> = pairs.iter().map(|p| p.1).collect();
    if order.windows(2).any(|w| w[0] > w[1]) {
        parts.push("word order".into());
    }
    let lone_q: Vec<&str> = (0..qt.len())
        .filter(|i| !sc.pairs.iter().any(|p| p.0 == *i))
        .map(|i| &*qt[i].form)
        .collect();
    if !lone_q.is_empty() {
        parts.push(format!("ours also has '{}'", lone_q.join(" ")));
    }
    let lone_l: Vec<&str> = (0..lt.len())
        .filter(|j| !sc.pairs.iter().any(|p| p.1 == *j))
        .map(|j| &*lt[j].form)
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
