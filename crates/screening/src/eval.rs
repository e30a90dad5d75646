//! Screening quality against a labelled set of queries: each query is a name labelled
//! `match` (a variant of one listed entity's name, its `target`) or `nomatch` (a name no
//! listed entity carries). Recall at a threshold: the share of `match` queries whose
//! target is reported at or above it. False-match rate: the share of `nomatch` queries
//! for which anything is reported at or above it. Pure: the caller reads the files and
//! keeps the time.

use crate::{Kind, Query, Screener};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Label {
    Match,
    Nomatch,
}

/// One line of the evaluation set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelledQuery {
    pub id: String,
    pub name: String,
    pub kind: Kind,
    /// `latin`, `ar` or `he`.
    pub script: String,
    pub label: Label,
    /// The entity the query was made from.
    pub target: Option<String>,
    /// How it was made.
    pub variant: String,
}

/// Reads the evaluation set (JSON lines); errors name the line.
pub fn parse_queries(bytes: &[u8]) -> Result<Vec<LabelledQuery>, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8: {e}"))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).map_err(|e| format!("line {}: {e}", i + 1)))
        .collect()
}

/// What a system reported for one query: the best score of its target entity and the
/// best score of any other entity (0 when not reported).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub id: String,
    pub target_score: f64,
    pub best_other: f64,
    /// The anchor's score of the target compared directly, without its blocking (ours:
    /// none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oracle: Option<f64>,
}

/// The query as the screener is asked it.
pub fn query_of(q: &LabelledQuery) -> (Option<Kind>, [&str; 1]) {
    (Some(q.kind), [q.name.as_str()])
}

/// Matches looked at per query (the synthetic list repeats common names more than real
/// lists do, so a query may meet more entries than a screening reports).
pub const EVAL_LIMIT: usize = 100;

/// Our outcome for one query: everything the screener reports at or above `floor`.
pub fn outcome(s: &Screener, q: &LabelledQuery, floor: f64) -> Outcome {
    let (kind, names) = query_of(q);
    let found = s.screen_top(
        &Query {
            kind,
            names: &names,
            country: None,
        },
        floor,
        EVAL_LIMIT,
    );
    let mut target_score: f64 = 0.0;
    let mut best_other: f64 = 0.0;
    for m in found {
        if q.target.as_deref() == Some(m.entry_id.as_str()) {
            target_score = target_score.max(m.score);
        } else {
            best_other = best_other.max(m.score);
        }
    }
    Outcome {
        id: q.id.clone(),
        target_score,
        best_other,
        oracle: None,
    }
}

/// Recall and false-match rate at one threshold.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub threshold: f64,
    pub recall: f64,
    pub false_match_rate: f64,
}

/// The point at `threshold` for outcomes paired with their queries' labels.
pub fn point(pairs: &[(Label, &Outcome)], threshold: f64) -> Point {
    let (mut pos, mut hit, mut neg, mut fm) = (0usize, 0usize, 0usize, 0usize);
    for (label, o) in pairs {
        match label {
            Label::Match => {
                pos += 1;
                if o.target_score >= threshold {
                    hit += 1;
                }
            }
            Label::Nomatch => {
                neg += 1;
                if o.target_score.max(o.best_other) >= threshold {
                    fm += 1;
                }
            }
        }
    }
    Point {
        threshold,
        recall: hit as f64 / pos.max(1) as f64,
        false_match_rate: fm as f64 / neg.max(1) as f64,
    }
}

/// The recall at `threshold` when each `match` query's target is always among the
/// candidates (the anchor's `oracle` score; `None` when the outcomes carry none).
pub fn oracle_recall(pairs: &[(Label, &Outcome)], threshold: f64) -> Option<f64> {
    let mut pos = 0usize;
    let mut hit = 0usize;
    for (label, o) in pairs {
        if *label == Label::Match {
            pos += 1;
            if o.oracle? >= threshold {
                hit += 1;
            }
        }
    }
    Some(hit as f64 / pos.max(1) as f64)
}

/// The best recall at a false-match rate no higher than `rate`, over thresholds from
/// 0.50 to 1.00 in steps of 0.01.
pub fn recall_at_rate(pairs: &[(Label, &Outcome)], rate: f64) -> Point {
    (50..=100)
        .map(|t| point(pairs, f64::from(t) / 100.0))
        .filter(|p| p.false_match_rate <= rate + 1e-12)
        .max_by(|a, b| {
            a.recall
                .total_cmp(&b.recall)
                .then(b.false_match_rate.total_cmp(&a.false_match_rate))
        })
        .unwrap_or(Point {
            threshold: 1.0,
            recall: 0.0,
            false_match_rate: 0.0,
        })
}
