//! Which threshold rules can match an event, by its type: a rule whose condition pins the
//! event type (`event_type == 'auth.failure'`, seed 000's defaults, `event_type: x` without
//! wildcards) is only looked at for events of that type; the others for every event.

use std::collections::HashMap;

use crate::expr::Expr;

#[derive(Debug, Default)]
pub(crate) struct RuleIndex {
    by_type: HashMap<String, Vec<usize>>,
    always: Vec<usize>,
}

impl RuleIndex {
    pub(crate) fn new<'a>(rules: impl Iterator<Item = &'a Expr>) -> RuleIndex {
        let mut index = RuleIndex::default();
        for (i, expr) in rules.enumerate() {
            match expr.required_event_types() {
                Some(mut types) => {
                    types.sort();
                    types.dedup();
                    for t in types {
                        index.by_type.entry(t).or_default().push(i);
                    }
                }
                None => index.always.push(i),
            }
        }
        index
    }

    /// The rules to evaluate for an event of this canonical type, in rule order.
    pub(crate) fn candidates(&self, event_type: &str, out: &mut Vec<usize>) {
        out.clear();
        let typed = if event_type.bytes().any(|b| b.is_ascii_uppercase()) {
            self.by_type.get(&event_type.to_ascii_lowercase())
        } else {
            self.by_type.get(event_type)
        };
        let typed: &[usize] = typed.map_or(&[], Vec::as_slice);
        let (mut a, mut b) = (0, 0);
        while a < typed.len() || b < self.always.len() {
            let take_typed =
                b >= self.always.len() || (a < typed.len() && typed[a] < self.always[b]);
            if take_typed {
                out.push(typed[a]);
                a += 1;
            } else {
                out.push(self.always[b]);
                b += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Condition;

    fn expr(text: &str) -> Expr {
        Condition::parse(text).unwrap().expr
    }

    #[test]
    fn pinned_types_are_indexed_in_rule_order() {
        let rules = [
            expr("event_type == 'auth.failure' AND user = a"),
            expr("user = b"),
            expr("event_type == 'auth.*'"),
            expr("event_type = authentication"),
            expr("event_type == 'Auth.Failure' OR event_type == 'authz.access_denied'"),
            expr("NOT event_type == 'auth.failure'"),
        ];
        let index = RuleIndex::new(rules.iter());
        let mut out = Vec::new();
        index.candidates("auth.failure", &mut out);
        assert_eq!(out, [0, 1, 2, 3, 4, 5]);
        index.candidates("authz.access_denied", &mut out);
        assert_eq!(out, [1, 2, 3, 4, 5]);
        index.candidates("config.changed", &mut out);
        assert_eq!(out, [1, 2, 3, 5]);
        index.candidates("AUTH.FAILURE", &mut out);
        assert_eq!(out, [0, 1, 2, 3, 4, 5]);
    }
}
