use std::borrow::Cow;

/// Compliance controls an event is evidence for (seed 003's `compliance` object).
///
/// Derived from the event's category by [`Compliance::for_category`]; every security event is
/// evidence for SOC 2 CC4 (monitoring activities) and ISO 27001 A.12.4 (logging and monitoring).
///
/// ```
/// use siem_event::Compliance;
/// let c = Compliance::for_category("auth");
/// assert!(c.soc2.contains(&"CC6"));
/// assert!(c.iso27001.contains(&"A.9.4"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Compliance {
    /// SOC 2 common criteria (`CC4`, `CC6`, `CC7`).
    pub soc2: Cow<'static, [&'static str]>,
    /// ISO/IEC 27001 Annex A controls (`A.9.2`, `A.9.4`, `A.12.4`, `A.16.1`).
    pub iso27001: Cow<'static, [&'static str]>,
}

impl Compliance {
    /// The controls seed 003's compliance mapping names for a category (static tables: no
    /// allocation).
    pub fn for_category(category: &str) -> Compliance {
        let (soc2, iso27001): (&'static [&'static str], &'static [&'static str]) = match category {
            "auth" | "authz" | "credential" => (&["CC4", "CC6"], &["A.12.4", "A.9.4"]),
            "access" => (&["CC4", "CC6"], &["A.12.4", "A.9.2"]),
            "config" | "availability" | "operational" | "network" | "data" => {
                (&["CC4", "CC7"], &["A.12.4"])
            }
            "security" | "integrity" | "alert" => (&["CC4", "CC7"], &["A.12.4", "A.16.1"]),
            _ => (&["CC4"], &["A.12.4"]),
        };
        Compliance {
            soc2: Cow::Borrowed(soc2),
            iso27001: Cow::Borrowed(iso27001),
        }
    }

    /// True when no control is named.
    pub fn is_empty(&self) -> bool {
        self.soc2.is_empty() && self.iso27001.is_empty()
    }
}
