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
    pub soc2: Vec<&'static str>,
    /// ISO/IEC 27001 Annex A controls (`A.9.2`, `A.9.4`, `A.12.4`, `A.16.1`).
    pub iso27001: Vec<&'static str>,
}

impl Compliance {
    /// The controls seed 003's compliance mapping names for a category.
    pub fn for_category(category: &str) -> Compliance {
        let mut soc2 = vec!["CC4"];
        let mut iso = vec!["A.12.4"];
        match category {
            "auth" | "authz" | "credential" => {
                soc2.push("CC6");
                iso.push("A.9.4");
            }
            "access" => {
                soc2.push("CC6");
                iso.push("A.9.2");
            }
            "config" | "availability" | "operational" | "network" | "data" => {
                soc2.push("CC7");
            }
            "security" | "integrity" | "alert" => {
                soc2.push("CC7");
                iso.push("A.16.1");
            }
            _ => {}
        }
        Compliance {
            soc2,
            iso27001: iso,
        }
    }

    /// True when no control is named.
    pub fn is_empty(&self) -> bool {
        self.soc2.is_empty() && self.iso27001.is_empty()
    }
}
