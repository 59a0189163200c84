use std::fmt;

/// What came of the action an event records, read from its `result` (or `outcome`) field.
///
/// ```
/// use siem_event::Outcome;
/// assert_eq!(Outcome::from_text("FAILED"), Outcome::Failure);
/// assert_eq!(Outcome::from_text("forbidden"), Outcome::Denied);
/// assert_eq!(Outcome::from_text("maybe"), Outcome::Unknown);
/// assert_eq!(Outcome::Denied.as_str(), "denied");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Outcome {
    /// The action succeeded.
    Success,
    /// The action was attempted and failed (bad password, error).
    Failure,
    /// The action was refused by a policy (permission denied, blocked).
    Denied,
    /// Not stated, or not one of the words we know.
    #[default]
    Unknown,
}

impl Outcome {
    /// `success`, `failure`, `denied` or `unknown`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Denied => "denied",
            Outcome::Unknown => "unknown",
        }
    }

    /// Reads the usual words for an outcome, in any case; anything else is `Unknown`.
    pub fn from_text(text: &str) -> Outcome {
        let t = text.trim();
        let is = |w: &str| t.eq_ignore_ascii_case(w);
        if [
            "success",
            "succeeded",
            "successful",
            "ok",
            "allowed",
            "granted",
            "true",
            "pass",
            "passed",
        ]
        .iter()
        .any(|w| is(w))
        {
            Outcome::Success
        } else if ["failure", "failed", "fail", "error", "false", "invalid"]
            .iter()
            .any(|w| is(w))
        {
            Outcome::Failure
        } else if [
            "denied",
            "deny",
            "blocked",
            "block",
            "rejected",
            "forbidden",
            "unauthorized",
        ]
        .iter()
        .any(|w| is(w))
        {
            Outcome::Denied
        } else {
            Outcome::Unknown
        }
    }

    /// `Some(true)` for success, `Some(false)` for failure or denial, `None` when unknown.
    pub const fn is_success(self) -> Option<bool> {
        match self {
            Outcome::Success => Some(true),
            Outcome::Failure | Outcome::Denied => Some(false),
            Outcome::Unknown => None,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
