//! TLP 2.0 markings and the rule they impose: who may receive what.

use std::collections::BTreeSet;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tlp {
    Clear,
    Green,
    Amber,
    AmberStrict,
    Red,
}

/// The OASIS TLP 2.0 marking-definition ids, and the TLP 1.0 ids STIX 2.1 predefines.
const IDS: [(&str, Tlp); 9] = [
    (
        "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
        Tlp::Clear,
    ),
    (
        "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
        Tlp::Green,
    ),
    (
        "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
        Tlp::Amber,
    ),
    (
        "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
        Tlp::AmberStrict,
    ),
    (
        "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
        Tlp::Red,
    ),
    (
        "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
        Tlp::Clear,
    ),
    (
        "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
        Tlp::Green,
    ),
    (
        "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
        Tlp::Amber,
    ),
    (
        "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
        Tlp::Red,
    ),
];

impl Tlp {
    pub fn from_marking(id: &str) -> Option<Tlp> {
        IDS.iter().find(|(i, _)| *i == id).map(|(_, t)| *t)
    }

    pub fn parse(s: &str) -> Option<Tlp> {
        match s.to_ascii_lowercase().trim_start_matches("tlp:") {
            "clear" | "white" => Some(Tlp::Clear),
            "green" => Some(Tlp::Green),
            "amber" => Some(Tlp::Amber),
            "amber+strict" => Some(Tlp::AmberStrict),
            "red" => Some(Tlp::Red),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Tlp::Clear => "clear",
            Tlp::Green => "green",
            Tlp::Amber => "amber",
            Tlp::AmberStrict => "amber+strict",
            Tlp::Red => "red",
        }
    }

    /// The TLP 2.0 marking-definition id.
    pub fn marking_id(self) -> &'static str {
        IDS.iter()
            .find(|(_, t)| *t == self)
            .map(|(i, _)| *i)
            .unwrap_or(IDS[2].0)
    }
}

/// The strictest TLP among marking references, if any is a TLP marking.
pub fn strictest<'a>(refs: impl IntoIterator<Item = &'a String>) -> Option<Tlp> {
    refs.into_iter().filter_map(|r| Tlp::from_marking(r)).max()
}

/// Who may receive a release.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recipients {
    pub parties: BTreeSet<String>,
    /// For RED: the named operators, who alone may read it in their party's inbox.
    pub operators: BTreeSet<String>,
}

/// The widest release a marking allows. `members_and_observers` are the cell's
/// non-supervising parties; `operators` maps operator names to their party.
pub fn allowed(
    tlp: Tlp,
    submitter_party: &str,
    named_parties: &BTreeSet<String>,
    named_operators: &BTreeSet<String>,
    members_and_observers: &BTreeSet<String>,
    operators: &[(String, String)],
) -> Recipients {
    let mut r = Recipients::default();
    match tlp {
        Tlp::Clear | Tlp::Green => {
            r.parties = members_and_observers
                .iter()
                .filter(|p| *p != submitter_party)
                .cloned()
                .collect();
        }
        Tlp::Amber | Tlp::AmberStrict => {
            r.parties = named_parties
                .intersection(members_and_observers)
                .filter(|p| *p != submitter_party)
                .cloned()
                .collect();
        }
        Tlp::Red => {
            for (name, party) in operators {
                if named_operators.contains(name)
                    && members_and_observers.contains(party)
                    && party != submitter_party
                {
                    r.operators.insert(name.clone());
                    r.parties.insert(party.clone());
                }
            }
        }
    }
    r
}

/// What the supervisor asked for, never wider than what the marking allows.
pub fn clamp(requested: Option<&Recipients>, allowed: &Recipients) -> Recipients {
    match requested {
        None => allowed.clone(),
        Some(req) => {
            let parties: BTreeSet<String> = req
                .parties
                .intersection(&allowed.parties)
                .cloned()
                .collect();
            let operators = if allowed.operators.is_empty() {
                BTreeSet::new()
            } else {
                req.operators
                    .intersection(&allowed.operators)
                    .cloned()
                    .collect()
            };
            Recipients { parties, operators }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn set(v: &[&str]) -> BTreeSet<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn markings_decide() {
        let all = set(&["il", "sy", "undof"]);
        let ops = vec![
            ("sy-liaison".to_string(), "sy".to_string()),
            ("undof-observer".to_string(), "undof".to_string()),
        ];
        assert_eq!(
            allowed(Tlp::Green, "il", &set(&[]), &set(&[]), &all, &ops).parties,
            set(&["sy", "undof"])
        );
        assert_eq!(
            allowed(Tlp::Amber, "il", &set(&["sy"]), &set(&[]), &all, &ops).parties,
            set(&["sy"])
        );
        let red = allowed(
            Tlp::Red,
            "il",
            &set(&["sy", "undof"]),
            &set(&["sy-liaison"]),
            &all,
            &ops,
        );
        assert_eq!(red.operators, set(&["sy-liaison"]));
        assert_eq!(red.parties, set(&["sy"]));
    }

    proptest! {
        #[test]
        fn never_wider_than_the_marking(req in proptest::collection::btree_set("[a-z]{2}", 0..6), tlp in 0usize..5) {
            let tlp = [Tlp::Clear, Tlp::Green, Tlp::Amber, Tlp::AmberStrict, Tlp::Red][tlp];
            let all = set(&["il", "sy", "undof"]);
            let ops = vec![("sy-liaison".to_string(), "sy".to_string())];
            let a = allowed(tlp, "il", &set(&["sy"]), &set(&["sy-liaison"]), &all, &ops);
            let asked = Recipients { parties: req.clone(), operators: req };
            let got = clamp(Some(&asked), &a);
            prop_assert!(got.parties.is_subset(&a.parties));
            prop_assert!(got.operators.is_subset(&a.operators));
        }
    }
}
