//! The stateless part of a rule: a predicate over one event's fields, compiled once.
//!
//! Field names resolve through the one vocabulary ([`SecurityEvent::field`]): the name a field
//! was logged under, its canonical name or a synonym (`client_ip`, `user.name`). Text
//! comparisons ignore ASCII case (as Sigma does by default). Ordering operators compare numbers
//! numerically and the event's severity by rank (`severity >= high`). The event's type compares
//! against the canonical name, the name the event was given, and seed 004's bare categories
//! (`event_type=authentication` matches `auth.failure` when the outcome is a failure).

use siem_event::{EventType, FieldRef, SecurityEvent, Severity, WellKnownField};

use crate::glob::{glob_match, has_wildcard};

/// A comparison operator of the rule language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    /// `~`: wildcard match (`*`, `?`).
    Like,
}

/// A literal on the right of a comparison, prepared for fast matching.
#[derive(Debug, Clone)]
pub(crate) struct Literal {
    text: String,
    number: Option<f64>,
    severity: Option<Severity>,
    wildcard: bool,
    /// For `event_type`: the literal names a seed vocabulary that maps onto the taxonomy.
    mapped_type: bool,
}

impl Literal {
    pub(crate) fn new(text: String) -> Literal {
        let number = text.trim().parse::<f64>().ok().filter(|n| n.is_finite());
        let severity = text.parse::<Severity>().ok();
        let wildcard = has_wildcard(&text);
        let parsed = EventType::parse(&text);
        let mapped_type = parsed.as_str() != text
            || text.eq_ignore_ascii_case("authentication")
            || text.eq_ignore_ascii_case("authorization");
        Literal {
            text,
            number,
            severity,
            wildcard,
            mapped_type,
        }
    }
}

/// A field comparison.
#[derive(Debug, Clone)]
pub(crate) struct Comparison {
    pub(crate) field: String,
    pub(crate) op: CmpOp,
    /// One literal, or several for `field in (a, b)` (any of them).
    pub(crate) values: Vec<Literal>,
}

/// A boolean predicate over one event.
#[derive(Debug, Clone)]
pub(crate) enum Expr {
    /// Always true (a rule with no field conditions).
    True,
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Cmp(Comparison),
}

impl Expr {
    pub(crate) fn matches(&self, event: &SecurityEvent) -> bool {
        match self {
            Expr::True => true,
            Expr::And(all) => all.iter().all(|e| e.matches(event)),
            Expr::Or(any) => any.iter().any(|e| e.matches(event)),
            Expr::Not(inner) => !inner.matches(event),
            Expr::Cmp(c) => c.matches(event),
        }
    }

    /// The lower-case canonical event types an event must have to match, when the expression
    /// pins them; `None` when any type may match. Used to index rules by event type.
    pub(crate) fn required_event_types(&self) -> Option<Vec<String>> {
        match self {
            // Only the canonical name: a synonym may be answered by a field logged under it.
            Expr::Cmp(c)
                if c.field == WellKnownField::EventType.canonical_name() && c.op == CmpOp::Eq =>
            {
                c.values
                    .iter()
                    .map(|l| (!l.wildcard && !l.mapped_type).then(|| l.text.to_ascii_lowercase()))
                    .collect()
            }
            Expr::And(all) => all.iter().find_map(Expr::required_event_types),
            Expr::Or(any) => {
                let mut out = Vec::new();
                for e in any {
                    out.extend(e.required_event_types()?);
                }
                Some(out)
            }
            _ => None,
        }
    }

    /// `self AND other`, flattening nested conjunctions.
    pub(crate) fn and(self, other: Expr) -> Expr {
        match (self, other) {
            (Expr::True, e) | (e, Expr::True) => e,
            (Expr::And(mut a), Expr::And(b)) => {
                a.extend(b);
                Expr::And(a)
            }
            (Expr::And(mut a), e) => {
                a.push(e);
                Expr::And(a)
            }
            (e, Expr::And(mut b)) => {
                b.insert(0, e);
                Expr::And(b)
            }
            (a, b) => Expr::And(vec![a, b]),
        }
    }
}

impl Comparison {
    fn matches(&self, event: &SecurityEvent) -> bool {
        let Some(found) = event.field(&self.field) else {
            // A missing field equals nothing, so `!=` holds and every other operator fails.
            return self.op == CmpOp::Ne;
        };
        let known = match found {
            FieldRef::Known(known, _) => Some(known),
            _ => None,
        };
        if known == Some(WellKnownField::EventType) {
            return self.matches_event_type(event);
        }
        let by_rank = known == Some(WellKnownField::Severity);
        let actual = found.text();
        match self.op {
            CmpOp::Ne => !self
                .values
                .iter()
                .any(|l| Self::compare(CmpOp::Eq, &actual, l, by_rank)),
            op => self
                .values
                .iter()
                .any(|l| Self::compare(op, &actual, l, by_rank)),
        }
    }

    /// `actual op literal`; `by_rank` compares severities by rank instead of as numbers.
    fn compare(op: CmpOp, actual: &str, literal: &Literal, by_rank: bool) -> bool {
        match op {
            CmpOp::Eq | CmpOp::Ne => {
                if literal.wildcard {
                    glob_match(&literal.text, actual)
                } else if let (Some(n), Ok(a)) = (literal.number, actual.trim().parse::<f64>()) {
                    a == n
                } else {
                    actual.eq_ignore_ascii_case(&literal.text)
                }
            }
            CmpOp::Like => glob_match(&literal.text, actual),
            CmpOp::Gt | CmpOp::Ge | CmpOp::Lt | CmpOp::Le => {
                let ord = if by_rank {
                    match (actual.parse::<Severity>().ok(), literal.severity) {
                        (Some(a), Some(l)) => a.partial_cmp(&l),
                        _ => None,
                    }
                } else {
                    match (actual.trim().parse::<f64>().ok(), literal.number) {
                        (Some(a), Some(l)) => a.partial_cmp(&l),
                        _ => None,
                    }
                };
                let Some(ord) = ord else { return false };
                match op {
                    CmpOp::Gt => ord.is_gt(),
                    CmpOp::Ge => ord.is_ge(),
                    CmpOp::Lt => ord.is_lt(),
                    _ => ord.is_le(),
                }
            }
        }
    }

    fn matches_event_type(&self, event: &SecurityEvent) -> bool {
        let ty = &event.event_type;
        let is = |l: &Literal| {
            if l.wildcard {
                glob_match(&l.text, ty.as_str()) || glob_match(&l.text, ty.original())
            } else {
                ty.as_str().eq_ignore_ascii_case(&l.text)
                    || ty.original().eq_ignore_ascii_case(&l.text)
                    || (l.mapped_type
                        && EventType::parse_with_outcome(&l.text, event.outcome).as_str()
                            == ty.as_str())
            }
        };
        match self.op {
            CmpOp::Eq | CmpOp::Like => self.values.iter().any(is),
            CmpOp::Ne => !self.values.iter().any(is),
            // Ordering on a type name means nothing; the parser refuses it.
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use siem_event::Outcome;

    fn cmp(field: &str, op: CmpOp, v: &str) -> Expr {
        Expr::Cmp(Comparison {
            field: field.into(),
            op,
            values: vec![Literal::new(v.into())],
        })
    }

    fn event(ty: &str, outcome: Outcome) -> SecurityEvent {
        let mut e = SecurityEvent::new(EventType::parse_with_outcome(ty, outcome), "m");
        e.outcome = outcome;
        e
    }

    #[test]
    fn event_type_vocabularies() {
        let e = event("authentication", Outcome::Failure);
        assert!(cmp("event_type", CmpOp::Eq, "auth.failure").matches(&e));
        assert!(cmp("event_type", CmpOp::Eq, "authentication").matches(&e));
        assert!(cmp("event_type", CmpOp::Eq, "authentication_failure").matches(&e));
        assert!(cmp("event_type", CmpOp::Eq, "auth.*").matches(&e));
        assert!(!cmp("event_type", CmpOp::Eq, "authz.*").matches(&e));
        assert!(cmp("event_type", CmpOp::Ne, "auth.success").matches(&e));
        let ok = event("authentication", Outcome::Success);
        assert!(!cmp("event_type", CmpOp::Eq, "authentication_failure").matches(&ok));
    }

    #[test]
    fn numbers_severity_and_missing_fields() {
        let mut e = event("auth.failure", Outcome::Failure);
        e.severity = Severity::High;
        e.push_metadata("attempts", 7i64);
        assert!(cmp("attempts", CmpOp::Gt, "5").matches(&e));
        assert!(!cmp("attempts", CmpOp::Lt, "5").matches(&e));
        assert!(cmp("attempts", CmpOp::Eq, "7.0").matches(&e));
        assert!(cmp("severity", CmpOp::Ge, "medium").matches(&e));
        assert!(!cmp("severity", CmpOp::Gt, "high").matches(&e));
        assert!(!cmp("nope", CmpOp::Eq, "x").matches(&e));
        assert!(cmp("nope", CmpOp::Ne, "x").matches(&e));
        assert!(!cmp("attempts", CmpOp::Gt, "many").matches(&e));
    }

    #[test]
    fn text_is_case_insensitive_and_literal() {
        let mut e = event("auth.failure", Outcome::Failure);
        e.actor.user = Some("Alice|x=1\\".into());
        assert!(cmp("user", CmpOp::Eq, "alice|X=1\\").matches(&e));
        assert!(!cmp("user", CmpOp::Eq, "alice").matches(&e));
        assert!(cmp("user", CmpOp::Like, "ali*").matches(&e));
        assert!(cmp("result", CmpOp::Eq, "failure").matches(&e));
    }

    #[test]
    fn field_names_resolve_through_the_vocabulary() {
        let mut e = event("authentication", Outcome::Failure);
        e.severity = Severity::High;
        e.actor.source_ip = Some("10.1.2.3".into());
        e.push_metadata("type", "EXECVE");
        assert!(cmp("client_ip", CmpOp::Like, "10.*").matches(&e));
        assert!(cmp("source.ip", CmpOp::Eq, "10.1.2.3").matches(&e));
        assert!(cmp("log.level", CmpOp::Ge, "medium").matches(&e));
        assert!(cmp("EventType", CmpOp::Eq, "authentication").matches(&e));
        // `type` is the field logged as `type`, not the event type.
        assert!(cmp("type", CmpOp::Eq, "EXECVE").matches(&e));
        assert!(!cmp("type", CmpOp::Eq, "auth.failure").matches(&e));
    }
}
