//! Which NIS2 obligations (Directive (EU) 2022/2555) an event is evidence for, from its category
//! — the table of docs/compliance.md, which must be changed with this one.

/// One obligation: its article reference and what it asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Obligation {
    /// `Art. 21(2)(b)`.
    pub article: &'static str,
    /// `Incident handling`.
    pub title: &'static str,
}

const fn obligation(article: &'static str, title: &'static str) -> Obligation {
    Obligation { article, title }
}

/// Business continuity, backup management, disaster recovery.
const CONTINUITY: Obligation = obligation(
    "Art. 21(2)(c)",
    "Business continuity, backup management and disaster recovery",
);
/// Incident handling.
const INCIDENT_HANDLING: Obligation = obligation("Art. 21(2)(b)", "Incident handling");
/// Security in acquisition, development and maintenance of systems.
const MAINTENANCE: Obligation = obligation(
    "Art. 21(2)(e)",
    "Security in network and information systems acquisition, development and maintenance",
);
/// Assessing the effectiveness of the risk-management measures.
const EFFECTIVENESS: Obligation = obligation(
    "Art. 21(2)(f)",
    "Assessing the effectiveness of cybersecurity risk-management measures",
);
/// Cryptography and encryption.
const CRYPTOGRAPHY: Obligation = obligation(
    "Art. 21(2)(h)",
    "Policies and procedures on cryptography and encryption",
);
/// Access control.
const ACCESS_CONTROL: Obligation = obligation(
    "Art. 21(2)(i)",
    "Human resources security, access control policies and asset management",
);
/// Authentication.
const AUTHENTICATION: Obligation =
    obligation("Art. 21(2)(j)", "Multi-factor or continuous authentication");
/// Incident reporting to the CSIRT or competent authority.
pub(crate) const REPORTING: Obligation = obligation(
    "Art. 23",
    "Reporting of significant incidents (early warning 24 h, notification 72 h, final report 1 month)",
);

/// Every obligation the mapping names, in article order (the report lists each, with zero
/// events when nothing is evidence for it).
pub(crate) const ALL: [Obligation; 8] = [
    INCIDENT_HANDLING,
    CONTINUITY,
    MAINTENANCE,
    EFFECTIVENESS,
    CRYPTOGRAPHY,
    ACCESS_CONTROL,
    AUTHENTICATION,
    REPORTING,
];

/// The obligations an event of `event_type` (category `category`) is evidence for. Every event
/// is evidence that monitoring works (21(2)(f)), as every event is for SOC 2 CC4 and ISO 27001
/// A.12.4; reportable alerts and `incident.*` events are evidence for Article 23.
pub(crate) fn obligations(category: &str, event_type: &str, reportable: bool) -> Vec<Obligation> {
    let mut out = vec![EFFECTIVENESS];
    match category {
        "auth" => out.extend([ACCESS_CONTROL, AUTHENTICATION]),
        "authz" | "access" | "credential" | "data" => out.push(ACCESS_CONTROL),
        "config" | "network" | "firewall" => out.push(MAINTENANCE),
        "availability" | "operational" => out.push(CONTINUITY),
        "security" | "integrity" | "alert" => out.push(INCIDENT_HANDLING),
        "incident" => out.extend([INCIDENT_HANDLING, REPORTING]),
        _ => {}
    }
    if event_type.ends_with("key_rotated") || event_type.ends_with("token_rotated") {
        out.push(CRYPTOGRAPHY);
    }
    if reportable {
        out.push(REPORTING);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn articles(category: &str, event_type: &str, reportable: bool) -> Vec<&'static str> {
        obligations(category, event_type, reportable)
            .iter()
            .map(|o| o.article)
            .collect()
    }

    #[test]
    fn the_documented_table() {
        assert_eq!(
            articles("auth", "auth.failure", false),
            ["Art. 21(2)(f)", "Art. 21(2)(i)", "Art. 21(2)(j)"]
        );
        assert_eq!(
            articles("config", "config.encryption_key_rotated", false),
            ["Art. 21(2)(f)", "Art. 21(2)(e)", "Art. 21(2)(h)"]
        );
        assert_eq!(
            articles("alert", "alert.threshold", true),
            ["Art. 21(2)(f)", "Art. 21(2)(b)", "Art. 23"]
        );
        assert_eq!(
            articles("billing", "billing.refund_issued", false),
            ["Art. 21(2)(f)"]
        );
        for obligation in ALL {
            assert!(
                ALL.iter()
                    .filter(|o| o.article == obligation.article)
                    .count()
                    == 1
            );
        }
    }
}
