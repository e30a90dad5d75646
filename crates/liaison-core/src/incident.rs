//! Incidents and disputes: every side's account kept side by side, never overwritten,
//! until the supervisor records a finding and closes the incident.

use crate::charter::Precedence;
use crate::hotline::AttachmentRef;
use crate::time::{Duration, Timestamp};
use crate::{OperatorName, PartyId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const MAX_TEXT: usize = 64 * 1024;
pub const MAX_LINKS: usize = 64;
pub const MAX_AREA_VERTICES: usize = 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    AirspaceViolation,
    Strike,
    FireAcrossTheLine,
    GroundIncursion,
    ZoneViolation,
    HarmToProtectedSite,
    Other,
}

impl Category {
    pub const ALL: [Category; 7] = [
        Category::AirspaceViolation,
        Category::Strike,
        Category::FireAcrossTheLine,
        Category::GroundIncursion,
        Category::ZoneViolation,
        Category::HarmToProtectedSite,
        Category::Other,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Category::AirspaceViolation => "airspace_violation",
            Category::Strike => "strike",
            Category::FireAcrossTheLine => "fire_across_the_line",
            Category::GroundIncursion => "ground_incursion",
            Category::ZoneViolation => "zone_violation",
            Category::HarmToProtectedSite => "harm_to_protected_site",
            Category::Other => "other",
        }
    }
    pub fn parse(s: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimePrecision {
    Exact,
    Day,
    Week,
}

/// Where it happened: a point, or an area (a closed ring of lon/lat), with an uncertainty.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Place {
    /// `[lon, lat]` pairs; one pair for a point, a closed ring for an area.
    pub coordinates: Vec<[f64; 2]>,
    pub uncertainty_m: f64,
}

impl Place {
    pub fn check(&self) -> Result<(), String> {
        let n = self.coordinates.len();
        if n == 0 || n > MAX_AREA_VERTICES {
            return Err(format!(
                "give a point or an area of at most {MAX_AREA_VERTICES} vertices"
            ));
        }
        for [lon, lat] in &self.coordinates {
            if !lon.is_finite() || !lat.is_finite() || lon.abs() > 180.0 || lat.abs() > 90.0 {
                return Err(format!("coordinate [{lon}, {lat}] is out of range"));
            }
        }
        if n > 1 && (n < 4 || self.coordinates[0] != self.coordinates[n - 1]) {
            return Err("an area must be a closed ring of at least 4 positions".into());
        }
        if !self.uncertainty_m.is_finite()
            || self.uncertainty_m < 0.0
            || self.uncertainty_m > 1_000_000.0
        {
            return Err("uncertainty_m must be between 0 and 1,000,000".into());
        }
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Resolved,
    Unresolved,
    Withdrawn,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Resolved => "resolved",
            Outcome::Unresolved => "unresolved",
            Outcome::Withdrawn => "withdrawn",
        }
    }
}

/// One party's words about the incident: its account, a later submission, or an answer
/// to a request for information. Never edited; further words are appended.
#[derive(Clone, Debug, PartialEq)]
pub struct Account {
    pub party: PartyId,
    pub operator: OperatorName,
    pub at: Timestamp,
    pub text: String,
    /// "Not ours": the party disowns the forces involved.
    pub disowned: bool,
    /// The request for information this answers, if any.
    pub answers: Option<u32>,
    pub attachments: Vec<AttachmentRef>,
    pub seq: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct InfoRequest {
    pub number: u32,
    pub party: PartyId,
    pub question: String,
    pub within: Duration,
    pub at: Timestamp,
    pub answered_at: Option<Timestamp>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    pub text: String,
    pub by: OperatorName,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Closure {
    pub outcome: Outcome,
    pub measures: String,
    pub by: OperatorName,
    pub at: Timestamp,
}

/// A correction by the reporting party: what it changed, why, and what it said before.
#[derive(Clone, Debug, PartialEq)]
pub struct Correction {
    pub by: OperatorName,
    pub at: Timestamp,
    pub reason: String,
    /// The values before the correction, for the fields it changed.
    pub previous_category: Option<Category>,
    pub previous_place: Option<Place>,
    pub previous_occurred_at: Option<(Timestamp, TimePrecision)>,
}

/// The reporting party's withdrawal of its report.
#[derive(Clone, Debug, PartialEq)]
pub struct Withdrawal {
    pub by: OperatorName,
    pub at: Timestamp,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Incident {
    pub id: u64,
    pub reporter_party: PartyId,
    pub reporter: OperatorName,
    pub reported_at: Timestamp,
    pub category: Category,
    pub precedence: Precedence,
    pub occurred_at: Timestamp,
    pub precision: TimePrecision,
    pub place: Place,
    pub description: String,
    pub attributed_to: Option<PartyId>,
    pub links: Vec<String>,
    pub attachments: Vec<AttachmentRef>,
    pub acknowledged: BTreeMap<PartyId, (Timestamp, OperatorName)>,
    pub accounts: Vec<Account>,
    pub info_requests: Vec<InfoRequest>,
    pub findings: Vec<Finding>,
    pub closure: Option<Closure>,
    /// Corrections in order; the current fields hold the latest values.
    pub corrections: Vec<Correction>,
    pub withdrawal: Option<Withdrawal>,
}

impl Incident {
    /// Parties entitled to read it: the reporter's and the one it names.
    pub fn parties(&self) -> Vec<PartyId> {
        let mut p = vec![self.reporter_party.clone()];
        if let Some(a) = &self.attributed_to
            && a != &self.reporter_party
        {
            p.push(a.clone());
        }
        p
    }

    /// Neither closed by the supervisor nor withdrawn by its reporter.
    pub fn is_open(&self) -> bool {
        self.closure.is_none() && self.withdrawal.is_none()
    }
}
