//! The rule "markings decide who may receive": the widest release a TLP level allows,
//! and the clamp that keeps the supervisor's choice inside it.
//!
//! - CLEAR, GREEN: every member and observer party except the submitter's own (which
//!   already holds the submission).
//! - AMBER, AMBER+STRICT: only the parties the submitter named (that are members or
//!   observers, other than its own).
//! - RED: only the operators the submitter named (of member or observer parties other
//!   than its own); their parties see it only through those operators.
//!
//! Plain types only: party ids and operator names are strings.

use crate::tlp::Tlp;
use std::collections::{BTreeMap, BTreeSet};

/// Who receives a release.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recipients {
    pub parties: BTreeSet<String>,
    /// For RED: the named operators, who alone may read it in their party's inbox.
    /// Empty for every other level.
    pub operators: BTreeSet<String>,
}

impl Recipients {
    pub fn is_empty(&self) -> bool {
        self.parties.is_empty() && self.operators.is_empty()
    }

    /// Whether every recipient of `self` is also one of `other`.
    pub fn is_subset(&self, other: &Recipients) -> bool {
        self.parties.is_subset(&other.parties) && self.operators.is_subset(&other.operators)
    }
}

/// The cell as the rule needs it: member and observer parties (never the supervisor),
/// and each operator's party.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Membership {
    pub parties: BTreeSet<String>,
    /// Operator name → party id.
    pub operators: BTreeMap<String, String>,
}

/// What the submitter asked for, beside the marking.
#[derive(Clone, Copy, Debug)]
pub struct Submitted<'a> {
    pub tlp: Tlp,
    pub submitter_party: &'a str,
    pub named_parties: &'a BTreeSet<String>,
    pub named_operators: &'a BTreeSet<String>,
}

/// The widest release a marking allows, with what the clamp needs to keep RED per
/// operator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allowed {
    pub tlp: Tlp,
    pub recipients: Recipients,
    /// For RED: each allowed operator's party.
    operator_party: BTreeMap<String, String>,
}

/// The maximal recipients the marking allows.
pub fn allowed_recipients(s: Submitted<'_>, cell: &Membership) -> Allowed {
    let others = |p: &String| cell.parties.contains(p) && p != s.submitter_party;
    let mut recipients = Recipients::default();
    let mut operator_party = BTreeMap::new();
    match s.tlp {
        Tlp::Clear | Tlp::Green => {
            recipients.parties = cell.parties.iter().filter(|p| others(p)).cloned().collect();
        }
        Tlp::Amber | Tlp::AmberStrict => {
            recipients.parties = s
                .named_parties
                .iter()
                .filter(|p| others(p))
                .cloned()
                .collect();
        }
        Tlp::Red => {
            for name in s.named_operators {
                if let Some(party) = cell.operators.get(name)
                    && others(party)
                {
                    recipients.operators.insert(name.clone());
                    recipients.parties.insert(party.clone());
                    operator_party.insert(name.clone(), party.clone());
                }
            }
        }
    }
    Allowed {
        tlp: s.tlp,
        recipients,
        operator_party,
    }
}

impl Allowed {
    /// What the supervisor asked for, never wider than the marking allows. `None`
    /// releases to everyone allowed.
    ///
    /// For RED, an operator is released to if the request names it, or names its party
    /// and no operator at all; the parties are then exactly those of the chosen
    /// operators. For the other levels, the parties asked for that are allowed, and no
    /// operators.
    pub fn clamp(&self, requested: Option<&Recipients>) -> Recipients {
        let Some(req) = requested else {
            return self.recipients.clone();
        };
        if self.tlp != Tlp::Red {
            return Recipients {
                parties: req
                    .parties
                    .intersection(&self.recipients.parties)
                    .cloned()
                    .collect(),
                operators: BTreeSet::new(),
            };
        }
        let mut out = Recipients::default();
        for (op, party) in &self.operator_party {
            let chosen = if req.operators.is_empty() {
                req.parties.contains(party)
            } else {
                req.operators.contains(op)
            };
            if chosen {
                out.operators.insert(op.clone());
                out.parties.insert(party.clone());
            }
        }
        out
    }
}

/// The widest release a marking allows (the form the server calls).
/// `members_and_observers` are the cell's non-supervising parties; `operators` pairs
/// operator names with their party.
pub fn allowed(
    tlp: Tlp,
    submitter_party: &str,
    named_parties: &BTreeSet<String>,
    named_operators: &BTreeSet<String>,
    members_and_observers: &BTreeSet<String>,
    operators: &[(String, String)],
) -> Recipients {
    let cell = Membership {
        parties: members_and_observers.clone(),
        operators: operators.iter().cloned().collect(),
    };
    allowed_recipients(
        Submitted {
            tlp,
            submitter_party,
            named_parties,
            named_operators,
        },
        &cell,
    )
    .recipients
}

/// What the supervisor asked for, never wider than `allowed`. Without the operator →
/// party map, a RED clamp keeps the requested operators and parties that are allowed,
/// and releases to nobody unless both remain; it cannot tell that a kept party has no
/// kept operator. Prefer [`Allowed::clamp`], which is exact.
pub fn clamp(requested: Option<&Recipients>, allowed: &Recipients) -> Recipients {
    let Some(req) = requested else {
        return allowed.clone();
    };
    let parties: BTreeSet<String> = req
        .parties
        .intersection(&allowed.parties)
        .cloned()
        .collect();
    if allowed.operators.is_empty() {
        return Recipients {
            parties,
            operators: BTreeSet::new(),
        };
    }
    let operators: BTreeSet<String> = req
        .operators
        .intersection(&allowed.operators)
        .cloned()
        .collect();
    if operators.is_empty() || parties.is_empty() {
        return Recipients::default();
    }
    Recipients { parties, operators }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn set(v: &[&str]) -> BTreeSet<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn cell() -> Membership {
        Membership {
            parties: set(&["il", "sy", "undof"]),
            operators: [
                ("il-duty", "il"),
                ("sy-liaison", "sy"),
                ("sy-duty", "sy"),
                ("undof-obs", "undof"),
                ("us-lead", "us"),
            ]
            .iter()
            .map(|(o, p)| (o.to_string(), p.to_string()))
            .collect(),
        }
    }

    fn allow(tlp: Tlp, parties: &[&str], ops: &[&str]) -> Allowed {
        allowed_recipients(
            Submitted {
                tlp,
                submitter_party: "il",
                named_parties: &set(parties),
                named_operators: &set(ops),
            },
            &cell(),
        )
    }

    #[test]
    fn markings_decide() {
        for t in [Tlp::Clear, Tlp::Green] {
            let a = allow(t, &[], &[]);
            assert_eq!(a.recipients.parties, set(&["sy", "undof"]));
            assert!(a.recipients.operators.is_empty());
        }
        for t in [Tlp::Amber, Tlp::AmberStrict] {
            // The supervisor ("us") and the submitter's own party are never recipients.
            let a = allow(t, &["sy", "il", "us"], &["undof-obs"]);
            assert_eq!(a.recipients.parties, set(&["sy"]));
            assert!(a.recipients.operators.is_empty());
        }
        let red = allow(
            Tlp::Red,
            &["sy", "undof"],
            &["sy-liaison", "il-duty", "us-lead"],
        );
        assert_eq!(red.recipients.operators, set(&["sy-liaison"]));
        assert_eq!(red.recipients.parties, set(&["sy"]));
        let legacy = allowed(
            Tlp::Red,
            "il",
            &set(&["sy"]),
            &set(&["sy-liaison"]),
            &cell().parties,
            &cell().operators.into_iter().collect::<Vec<_>>(),
        );
        assert_eq!(legacy, red.recipients);
    }

    #[test]
    fn red_clamp_follows_operators() {
        let red = allow(Tlp::Red, &[], &["sy-liaison", "sy-duty", "undof-obs"]);
        let ask = |p: &[&str], o: &[&str]| Recipients {
            parties: set(p),
            operators: set(o),
        };
        // Naming a party alone releases to its allowed operators.
        let got = red.clamp(Some(&ask(&["sy"], &[])));
        assert_eq!(got, ask(&["sy"], &["sy-duty", "sy-liaison"]));
        // Naming operators decides the parties, whatever parties are asked for.
        let got = red.clamp(Some(&ask(&["sy", "undof"], &["undof-obs"])));
        assert_eq!(got, ask(&["undof"], &["undof-obs"]));
        // Nobody allowed is asked for: nobody receives.
        assert!(red.clamp(Some(&ask(&["il"], &["il-duty"]))).is_empty());
        assert!(clamp(Some(&ask(&["sy"], &[])), &red.recipients).is_empty());
        assert_eq!(red.clamp(None), red.recipients);
    }

    fn names() -> impl Strategy<Value = BTreeSet<String>> {
        proptest::collection::btree_set(
            prop_oneof![
                Just("il".to_string()),
                Just("sy".to_string()),
                Just("undof".to_string()),
                Just("us".to_string()),
                Just("il-duty".to_string()),
                Just("sy-liaison".to_string()),
                Just("sy-duty".to_string()),
                Just("undof-obs".to_string()),
                Just("us-lead".to_string()),
                "[a-z]{1,6}",
            ],
            0..8,
        )
    }

    proptest! {
        #[test]
        fn never_wider_than_the_marking(
            tlp in 0usize..5,
            named_parties in names(),
            named_ops in names(),
            req_parties in names(),
            req_ops in names(),
            absent in any::<bool>(),
        ) {
            let tlp = Tlp::ALL[tlp];
            let c = cell();
            let a = allowed_recipients(
                Submitted { tlp, submitter_party: "il", named_parties: &named_parties, named_operators: &named_ops },
                &c,
            );
            let req = Recipients { parties: req_parties, operators: req_ops };
            let req = (!absent).then_some(&req);
            for got in [a.clamp(req), clamp(req, &a.recipients)] {
                prop_assert!(got.is_subset(&a.recipients));
                prop_assert!(!got.parties.contains("il"));
                prop_assert!(!got.parties.contains("us"));
                prop_assert!(got.parties.is_subset(&c.parties));
                match tlp {
                    Tlp::Red => {
                        prop_assert!(got.operators.is_subset(&named_ops));
                        prop_assert!(got.operators.is_empty() == got.parties.is_empty());
                    }
                    Tlp::Amber | Tlp::AmberStrict => {
                        prop_assert!(got.parties.is_subset(&named_parties));
                        prop_assert!(got.operators.is_empty());
                    }
                    Tlp::Clear | Tlp::Green => prop_assert!(got.operators.is_empty()),
                }
            }
            // The exact clamp: a RED party receives only through a chosen operator.
            let got = a.clamp(req);
            if tlp == Tlp::Red {
                let through: BTreeSet<String> =
                    got.operators.iter().filter_map(|o| c.operators.get(o).cloned()).collect();
                prop_assert_eq!(through, got.parties);
            }
        }
    }
}
