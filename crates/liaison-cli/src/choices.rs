//! The fixed choices of the command line, as enumerations: clap lists their values in
//! `--help`, completes them, and refuses anything else before a request is sent. Each
//! value is the word the API takes; the sets the core owns are held to the core's
//! lists by the tests below.

/// An enumeration of command-line values, each with the API's word for it.
macro_rules! choice {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
        pub enum $name {
            $($(#[$vm])* #[value(name = $text)] $variant),+
        }

        impl $name {
            /// The word the API takes.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

choice! {
    /// How urgent a message, report or submission is; it sets the deadlines.
    Precedence {
        /// The most urgent: immediate danger to life or of escalation.
        Flash => "flash",
        /// Urgent operational matters.
        Immediate => "immediate",
        /// Important, within hours.
        Priority => "priority",
        /// Everything else.
        Routine => "routine",
    }
}

choice! {
    /// Which messages to list.
    Mailbox {
        /// Messages to your party.
        Inbox => "inbox",
        /// Messages your party sent.
        Sent => "sent",
        /// Both.
        All => "all",
    }
}

choice! {
    /// What kind of incident it is.
    IncidentCategory {
        /// An aircraft or drone crossed into another party's airspace.
        AirspaceViolation => "airspace_violation",
        /// A strike.
        Strike => "strike",
        /// Fire across the line of separation.
        FireAcrossTheLine => "fire_across_the_line",
        /// Ground forces crossed the line.
        GroundIncursion => "ground_incursion",
        /// A zone's rules were broken.
        ZoneViolation => "zone_violation",
        /// A protected site was harmed.
        HarmToProtectedSite => "harm_to_protected_site",
        /// Anything else.
        Other => "other",
    }
}

choice! {
    /// How precisely the time of an incident is known.
    TimePrecision {
        /// To the minute.
        Exact => "exact",
        /// Within the day.
        Day => "day",
        /// Within the week.
        Week => "week",
    }
}

choice! {
    /// Which incidents to list.
    IncidentStatus {
        /// Not closed yet.
        Open => "open",
        /// Closed with an outcome, or withdrawn.
        Closed => "closed",
    }
}

choice! {
    /// How an incident ends.
    Outcome {
        /// Settled.
        Resolved => "resolved",
        /// Closed without settlement.
        Unresolved => "unresolved",
        /// Closed because the report no longer stands.
        Withdrawn => "withdrawn",
    }
}

choice! {
    /// An answer to another party's notification.
    NotificationAnswer {
        /// Taken note of; no objection.
        Acknowledge => "acknowledge",
        /// Objected to (say why with --text).
        Object => "object",
    }
}

choice! {
    /// An answer to a proposed change to your party's site.
    ProposalAnswer {
        /// The site takes the proposed version.
        Accept => "accept",
        /// The site stays as it is.
        Reject => "reject",
    }
}

choice! {
    /// Your party's stance on a zone.
    Stance {
        /// Your party agrees to the zone.
        Accepted => "accepted",
        /// Your party disputes the zone.
        Disputed => "disputed",
    }
}

choice! {
    /// What a protected site is.
    SiteCategory {
        /// A town or village.
        PopulationCentre => "population_centre",
        /// A community of a minority.
        MinorityCommunity => "minority_community",
        /// A hospital or clinic.
        Medical => "medical",
        /// A school or university.
        School => "school",
        /// A place of worship.
        Religious => "religious",
        /// A humanitarian site or route.
        Humanitarian => "humanitarian",
        /// A UN position.
        UnPost => "un_post",
        /// Water, power or other civilian infrastructure.
        CriticalInfrastructure => "critical_infrastructure",
        /// An embassy or other diplomatic premises.
        Diplomatic => "diplomatic",
    }
}

choice! {
    /// Which intelligence submissions to list.
    IntelState {
        /// Awaiting the supervisor's decision.
        Pending => "pending",
        /// Released (approved or redacted).
        Released => "released",
        /// Rejected by the supervisor.
        Rejected => "rejected",
        /// Withdrawn by the submitting party.
        Withdrawn => "withdrawn",
    }
}

choice! {
    /// The supervisor's decision on a submission.
    IntelDecision {
        /// Release it as submitted.
        Approve => "approve",
        /// Release nothing (give --reason).
        Reject => "reject",
        /// Release it without the objects and properties named by --remove-object and
        /// --remove-property.
        Redact => "redact",
    }
}

choice! {
    /// What an operator may do in its party.
    OperatorRole {
        /// A liaison officer: the hotline, incidents, notifications.
        Liaison => "liaison",
        /// An analyst: intelligence.
        Analyst => "analyst",
        /// The supervising party's officer.
        Supervisor => "supervisor",
        /// Reads what its party may read.
        Observer => "observer",
        /// Manages its party's operators.
        Admin => "admin",
    }
}

choice! {
    /// The form of the exported picture.
    ExportFormat {
        /// A GeoJSON FeatureCollection.
        Geojson => "geojson",
        /// Cursor-on-Target XML, for TAK clients.
        Cot => "cot",
    }
}

choice! {
    /// The supervisor's review of a screening match.
    ReviewOutcome {
        /// Not the listed party: the match no longer blocks the proposal.
        Clear => "clear",
        /// Blocks the proposal until cleared.
        Hold => "hold",
        /// Ends the proposal.
        Reject => "reject",
    }
}

choice! {
    /// The published format of a sanctions list.
    ListFormat {
        /// OFAC's SDN list: sdn.csv, with alt.csv and add.csv.
        OfacCsv => "ofac-csv",
        /// The UN Security Council consolidated list (XML).
        UnXml => "un-xml",
        /// OpenSanctions' FollowTheMoney entities (JSON lines).
        FtmJson => "ftm-json",
    }
}

choice! {
    /// The kind of a name checked.
    CounterpartyKind {
        /// A person.
        Person => "person",
        /// A company or organisation.
        Organisation => "organisation",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    fn words<T: ValueEnum>() -> Vec<String> {
        T::value_variants()
            .iter()
            .filter_map(|v| v.to_possible_value())
            .map(|p| p.get_name().to_string())
            .collect()
    }

    #[test]
    fn the_core_sets_are_the_command_lines() {
        use liaison_core::deconfliction as d;
        use liaison_core::incident as i;
        let core = |v: Vec<&str>| v.into_iter().map(String::from).collect::<Vec<_>>();
        assert_eq!(
            words::<Precedence>(),
            core(liaison_core::Precedence::ALL.map(|p| p.as_str()).to_vec())
        );
        assert_eq!(
            words::<IncidentCategory>(),
            core(i::Category::ALL.map(|c| c.as_str()).to_vec())
        );
        assert_eq!(
            words::<SiteCategory>(),
            core(d::SiteCategory::ALL.map(|c| c.as_str()).to_vec())
        );
    }

    /// Sets the core keeps without a list: every word here is one the core reads.
    #[test]
    fn every_word_is_one_the_core_reads() {
        use liaison_core::charter::OperatorRole as Role;
        use liaison_core::incident::TimePrecision as Precision;
        for w in words::<OperatorRole>() {
            assert!(
                serde_json::from_value::<Role>(serde_json::json!(w)).is_ok(),
                "{w}"
            );
        }
        for w in words::<ReviewOutcome>() {
            assert!(
                liaison_core::cooperation::Review::parse(&w).is_some(),
                "{w}"
            );
        }
        for w in words::<CounterpartyKind>() {
            assert!(
                liaison_core::cooperation::CounterpartyKind::parse(&w).is_some(),
                "{w}"
            );
        }
        for w in words::<TimePrecision>() {
            assert!(
                serde_json::from_value::<Precision>(serde_json::json!(w)).is_ok(),
                "{w}"
            );
        }
    }
}
