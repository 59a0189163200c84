//! The rule language: one grammar for seed 003's and seed 004's condition strings.
//!
//! ```text
//! condition  := or_expr
//! or_expr    := and_expr ( ("OR" | "||") and_expr )*
//! and_expr   := unary ( ("AND" | "&&") unary )*
//! unary      := ("NOT" | "!") unary | "(" or_expr ")" | count | comparison
//! comparison := field op value | field "IN" "(" value ("," value)* ")"
//! op         := "==" | "=" | "!=" | ">" | ">=" | "<" | "<=" | "~"
//! count      := "count" (">" | ">=") integer "in" duration ["by" field ("," field)*]
//! value      := 'single quoted' | "double quoted" | bare-word
//! ```
//!
//! Keywords are case-insensitive. `count` may appear once, as a term of the top-level `AND`
//! (`event_type == 'auth.failure' AND count > 5 in 5m`): it turns the rule into a threshold
//! rule. `count > 5` means six or more events, `count >= 5` five or more.
//!
//! A `field` (and a `by` field) is any name of the one vocabulary,
//! [`siem_event::WellKnownField`]: the name a field was logged under, its canonical name or a
//! synonym (`client_ip`, `source.ip` and `source_ip` all reach the actor's address). `type` is
//! not the event type but the field logged as `type`.

use std::time::Duration;

use siem_event::SecurityEvent;

use crate::expr::{CmpOp, Comparison, Expr, Literal};
use crate::tokens::{error_at, tokenize, Tok};
use siem_event::units::parse_duration;

/// A rule condition that does not parse, with where.
///
/// `position` is the byte offset into the condition, `column` the 1-based character column.
///
/// ```
/// use siem_rules::Condition;
/// let err = Condition::parse("event_type == 'auth.failure' AND").unwrap_err();
/// assert_eq!(err.column, 33);
/// assert!(err.to_string().contains("column 33"), "{err}");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at column {column}: {message}")]
pub struct ParseError {
    /// Byte offset of the problem in the condition text.
    pub position: usize,
    /// 1-based character column of the problem.
    pub column: usize,
    /// What was expected or wrong.
    pub message: String,
}

/// The threshold part of a condition: `count > 5 in 5m by user`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CountClause {
    pub(crate) min_count: u64,
    pub(crate) window: Duration,
    pub(crate) group_by: Vec<String>,
}

/// A parsed rule condition: a predicate over one event and, optionally, a count threshold.
///
/// ```
/// use siem_event::{EventType, SecurityEvent};
/// use siem_rules::Condition;
/// use std::time::Duration;
///
/// let c = Condition::parse("event_type == 'auth.failure' AND count > 5 in 5m by user").unwrap();
/// assert_eq!(c.threshold(), Some((6, Duration::from_secs(300))));
/// assert_eq!(c.group_by(), ["user"]);
/// assert!(c.matches(&SecurityEvent::new(EventType::parse("auth.failure"), "x")));
///
/// let seed_004 = Condition::parse("event_type=authentication AND result=failure").unwrap();
/// assert_eq!(seed_004.threshold(), None);
/// ```
#[derive(Debug, Clone)]
pub struct Condition {
    pub(crate) expr: Expr,
    pub(crate) count: Option<CountClause>,
}

impl Condition {
    /// Parses a condition (grammar in the module docs). Input over 64 KiB is refused.
    pub fn parse(text: &str) -> Result<Condition, ParseError> {
        if text.len() > MAX_CONDITION_BYTES {
            return Err(error_at(
                text,
                MAX_CONDITION_BYTES,
                format!("condition longer than {MAX_CONDITION_BYTES} bytes"),
            ));
        }
        let tokens = tokenize(text)?;
        let mut parser = Parser {
            text,
            tokens,
            pos: 0,
            depth: 0,
        };
        parser.parse_condition()
    }

    /// True when the event satisfies the predicate (the count part is not looked at).
    pub fn matches(&self, event: &SecurityEvent) -> bool {
        self.expr.matches(event)
    }

    /// The count threshold as (minimum number of events, window), when the condition has one.
    pub fn threshold(&self) -> Option<(u64, Duration)> {
        self.count.as_ref().map(|c| (c.min_count, c.window))
    }

    /// The `by` fields of the count clause (empty without one).
    pub fn group_by(&self) -> &[String] {
        self.count.as_ref().map_or(&[], |c| &c.group_by)
    }
}

const MAX_CONDITION_BYTES: usize = 64 * 1024;
const MAX_DEPTH: usize = 64;

/// A parsed term: a predicate or the count clause (which is only legal at the top level).
enum Term {
    Expr(Expr),
    Count(CountClause, usize),
}

struct Parser<'a> {
    text: &'a str,
    tokens: Vec<(usize, Tok)>,
    pos: usize,
    depth: usize,
}

fn keyword(tok: Option<&Tok>, word: &str) -> bool {
    matches!(tok, Some(Tok::Word(w)) if w.eq_ignore_ascii_case(word))
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos).map(|(_, t)| t)
    }

    fn here(&self) -> usize {
        self.tokens
            .get(self.pos)
            .map_or(self.text.len(), |(at, _)| *at)
    }

    fn err(&self, message: impl Into<String>) -> ParseError {
        error_at(self.text, self.here(), message)
    }

    fn found(&self) -> String {
        self.peek()
            .map_or_else(|| "the end".to_owned(), |t| t.to_string())
    }

    fn parse_condition(&mut self) -> Result<Condition, ParseError> {
        if self.tokens.is_empty() {
            return Err(self.err("empty condition"));
        }
        let mut terms = vec![self.parse_unary_term()?];
        let mut count: Option<CountClause> = None;
        let mut ors: Vec<Expr> = Vec::new();
        loop {
            if keyword(self.peek(), "and") || self.peek() == Some(&Tok::AndSym) {
                self.pos += 1;
                terms.push(self.parse_unary_term()?);
            } else if keyword(self.peek(), "or") || self.peek() == Some(&Tok::OrSym) {
                let at = self.here();
                self.pos += 1;
                ors.push(self.fold_and(std::mem::take(&mut terms), &mut count, at, true)?);
                terms.push(self.parse_unary_term()?);
            } else if self.peek().is_none() {
                break;
            } else {
                return Err(self.err(format!(
                    "expected AND, OR or the end, found {}",
                    self.found()
                )));
            }
        }
        let at = self.here();
        let last = self.fold_and(terms, &mut count, at, !ors.is_empty())?;
        let expr = if ors.is_empty() {
            last
        } else {
            ors.push(last);
            Expr::Or(ors)
        };
        Ok(Condition { expr, count })
    }

    /// Joins a top-level AND chain; takes its count clause out (only when not beside an OR).
    fn fold_and(
        &self,
        terms: Vec<Term>,
        count: &mut Option<CountClause>,
        _at: usize,
        in_or: bool,
    ) -> Result<Expr, ParseError> {
        let mut expr = Expr::True;
        for term in terms {
            match term {
                Term::Expr(e) => expr = expr.and(e),
                Term::Count(c, at) => {
                    if in_or {
                        return Err(error_at(
                            self.text,
                            at,
                            "a count clause cannot be part of an OR; put it beside the whole condition with AND",
                        ));
                    }
                    if count.is_some() {
                        return Err(error_at(self.text, at, "only one count clause is allowed"));
                    }
                    *count = Some(c);
                }
            }
        }
        Ok(expr)
    }

    fn parse_unary_term(&mut self) -> Result<Term, ParseError> {
        if keyword(self.peek(), "count") && !self.next_is_operator_on_field() {
            let at = self.here();
            return Ok(Term::Count(self.parse_count()?, at));
        }
        Ok(Term::Expr(self.parse_unary()?))
    }

    /// `count` is a keyword unless it is a field compared with a non-count form; the count
    /// clause always has `in` after its number, so look two tokens ahead for it.
    fn next_is_operator_on_field(&self) -> bool {
        !keyword(self.tokens.get(self.pos + 3).map(|(_, t)| t), "in")
    }

    fn parse_count(&mut self) -> Result<CountClause, ParseError> {
        self.pos += 1; // `count`
        let op = match self.peek() {
            Some(Tok::Op(op @ (CmpOp::Gt | CmpOp::Ge))) => *op,
            Some(Tok::Op(_)) => {
                return Err(self
                    .err("a count is compared with > or >= (an alert fires when it is reached)"));
            }
            _ => {
                return Err(self.err(format!(
                    "expected > or >= after count, found {}",
                    self.found()
                )))
            }
        };
        self.pos += 1;
        let n = match self.peek() {
            Some(Tok::Word(w)) => w
                .parse::<u64>()
                .map_err(|_| self.err(format!("expected a whole number of events, found {w:?}")))?,
            _ => {
                return Err(self.err(format!(
                    "expected a number of events, found {}",
                    self.found()
                )))
            }
        };
        let min_count = if op == CmpOp::Gt {
            n.saturating_add(1)
        } else {
            n.max(1)
        };
        self.pos += 1;
        if !keyword(self.peek(), "in") {
            return Err(self.err(format!(
                "expected `in` and a window (count > 5 in 5m), found {}",
                self.found()
            )));
        }
        self.pos += 1;
        let window = match self.peek() {
            Some(Tok::Word(w)) | Some(Tok::Quoted(w)) => {
                parse_duration(w).map_err(|e| self.err(e))?
            }
            _ => {
                return Err(self.err(format!(
                    "expected a window such as 5m or 300, found {}",
                    self.found()
                )))
            }
        };
        if window.is_zero() {
            return Err(self.err("the window must be longer than zero"));
        }
        self.pos += 1;
        let mut group_by = Vec::new();
        if keyword(self.peek(), "by") {
            self.pos += 1;
            loop {
                match self.peek() {
                    Some(Tok::Word(w)) => group_by.push(w.clone()),
                    _ => {
                        return Err(self.err(format!(
                            "expected a field name to group by, found {}",
                            self.found()
                        )))
                    }
                }
                self.pos += 1;
                if self.peek() == Some(&Tok::Comma) {
                    self.pos += 1;
                } else {
                    break;
                }
            }
        }
        Ok(CountClause {
            min_count,
            window,
            group_by,
        })
    }

    fn parse_or(&mut self) -> Result<Expr, ParseError> {
        let mut any = vec![self.parse_and()?];
        while keyword(self.peek(), "or") || self.peek() == Some(&Tok::OrSym) {
            self.pos += 1;
            any.push(self.parse_and()?);
        }
        Ok(if any.len() == 1 {
            any.remove(0)
        } else {
            Expr::Or(any)
        })
    }

    fn parse_and(&mut self) -> Result<Expr, ParseError> {
        let mut expr = self.parse_unary()?;
        while keyword(self.peek(), "and") || self.peek() == Some(&Tok::AndSym) {
            self.pos += 1;
            expr = expr.and(self.parse_unary()?);
        }
        Ok(expr)
    }

    fn parse_unary(&mut self) -> Result<Expr, ParseError> {
        if self.depth >= MAX_DEPTH {
            return Err(self.err(format!("nested deeper than {MAX_DEPTH} levels")));
        }
        if keyword(self.peek(), "not") || self.peek() == Some(&Tok::NotSym) {
            self.pos += 1;
            self.depth += 1;
            let inner = self.parse_unary();
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner?)));
        }
        if self.peek() == Some(&Tok::LParen) {
            self.pos += 1;
            self.depth += 1;
            let inner = self.parse_or();
            self.depth -= 1;
            let inner = inner?;
            if self.peek() != Some(&Tok::RParen) {
                return Err(self.err(format!("expected ')', found {}", self.found())));
            }
            self.pos += 1;
            return Ok(inner);
        }
        if keyword(self.peek(), "count") && !self.next_is_operator_on_field() {
            return Err(self.err("a count clause must be a term of the top-level AND"));
        }
        self.parse_comparison()
    }

    fn parse_comparison(&mut self) -> Result<Expr, ParseError> {
        let field = match self.peek() {
            Some(Tok::Word(w)) if !is_reserved(w) => w.clone(),
            _ => return Err(self.err(format!("expected a field name, found {}", self.found()))),
        };
        self.pos += 1;
        if keyword(self.peek(), "in") {
            self.pos += 1;
            if self.peek() != Some(&Tok::LParen) {
                return Err(self.err(format!("expected '(' after IN, found {}", self.found())));
            }
            self.pos += 1;
            let mut values = vec![self.parse_value()?];
            while self.peek() == Some(&Tok::Comma) {
                self.pos += 1;
                values.push(self.parse_value()?);
            }
            if self.peek() != Some(&Tok::RParen) {
                return Err(self.err(format!(
                    "expected ',' or ')' in the IN list, found {}",
                    self.found()
                )));
            }
            self.pos += 1;
            return Ok(Expr::Cmp(Comparison {
                field,
                op: CmpOp::Eq,
                values,
            }));
        }
        let op = match self.peek() {
            Some(Tok::Op(op)) => *op,
            _ => {
                return Err(self.err(format!(
                "expected an operator (==, =, !=, >, >=, <, <=, ~ or IN) after {field:?}, found {}",
                self.found()
            )))
            }
        };
        let op_at = self.here();
        self.pos += 1;
        if siem_event::WellKnownField::from_name(&field)
            == Some(siem_event::WellKnownField::EventType)
            && matches!(op, CmpOp::Gt | CmpOp::Ge | CmpOp::Lt | CmpOp::Le)
        {
            return Err(error_at(
                self.text,
                op_at,
                "event types are compared with ==, != or ~, not by order",
            ));
        }
        let value = self.parse_value()?;
        Ok(Expr::Cmp(Comparison {
            field,
            op,
            values: vec![value],
        }))
    }

    fn parse_value(&mut self) -> Result<Literal, ParseError> {
        let value = match self.peek() {
            Some(Tok::Quoted(q)) => q.clone(),
            Some(Tok::Word(w)) if !is_reserved(w) => w.clone(),
            _ => return Err(self.err(format!("expected a value, found {}", self.found()))),
        };
        self.pos += 1;
        Ok(Literal::new(value))
    }
}

fn is_reserved(word: &str) -> bool {
    ["and", "or", "not", "in"]
        .iter()
        .any(|k| word.eq_ignore_ascii_case(k))
}

#[cfg(test)]
mod tests {
    use super::*;
    use siem_event::{EventType, Outcome};

    fn ev(ty: &str) -> SecurityEvent {
        SecurityEvent::new(EventType::parse(ty), "m")
    }

    #[test]
    fn seed_003_forms() {
        let c = Condition::parse("event_type == 'auth.failure' AND count > 5 in 5m").unwrap();
        assert_eq!(c.threshold(), Some((6, Duration::from_secs(300))));
        assert!(c.matches(&ev("auth.failure")));
        assert!(!c.matches(&ev("auth.success")));
        let c = Condition::parse("event_type == 'authz.privilege_escalation'").unwrap();
        assert_eq!(c.threshold(), None);
        assert!(c.matches(&ev("authz.privilege_escalation")));
    }

    #[test]
    fn seed_004_forms() {
        let c = Condition::parse("event_type=authentication AND result=failure").unwrap();
        let mut e = SecurityEvent::new(
            EventType::parse_with_outcome("authentication", Outcome::Failure),
            "m",
        );
        e.outcome = Outcome::Failure;
        assert!(c.matches(&e));
        e.outcome = Outcome::Success;
        e.event_type = EventType::parse_with_outcome("authentication", Outcome::Success);
        assert!(!c.matches(&e));
        let c =
            Condition::parse("event_type=availability AND action=circuit_breaker_open").unwrap();
        let mut e = ev("availability");
        e.action = Some("circuit_breaker_open".into());
        assert!(c.matches(&e));
    }

    #[test]
    fn precedence_not_in_and_parentheses() {
        let c = Condition::parse(
            "user = a OR user = b AND NOT (source_ip IN ('10.0.0.1', \"10.0.0.2\"))",
        )
        .unwrap();
        let mut e = ev("auth.failure");
        e.actor.user = Some("b".into());
        e.actor.source_ip = Some("10.0.0.2".into());
        assert!(!c.matches(&e));
        e.actor.source_ip = Some("10.0.0.3".into());
        assert!(c.matches(&e));
        e.actor.user = Some("a".into());
        e.actor.source_ip = Some("10.0.0.2".into());
        assert!(c.matches(&e), "AND binds tighter than OR");
    }

    #[test]
    fn count_forms() {
        let c =
            Condition::parse("count >= 3 in 300 by user, source_ip AND severity >= high").unwrap();
        assert_eq!(c.threshold(), Some((3, Duration::from_secs(300))));
        assert_eq!(c.group_by(), ["user", "source_ip"]);
        // a field that happens to be called count
        let c = Condition::parse("count > 5").unwrap();
        assert_eq!(c.threshold(), None);
    }

    #[test]
    fn errors_point_at_the_position() {
        let cases = [
            ("", 1, "empty"),
            ("event_type ==", 14, "expected a value"),
            ("event_type == 'auth", 15, "unterminated"),
            ("user = a AND AND", 14, "expected a field"),
            ("user = a b", 10, "expected AND, OR"),
            ("(user = a", 10, "expected ')'"),
            ("count < 5 in 5m", 7, "> or >="),
            ("count > x in 5m", 9, "whole number"),
            ("count > 5 in 5parsecs", 14, "invalid duration"),
            ("user = a OR count > 5 in 5m", 13, "OR"),
            ("count > 1 in 1m AND count > 2 in 1m", 21, "only one"),
            ("event_type > 'a'", 12, "not by order"),
            ("user = a ; drop", 10, "unexpected character"),
            ("NOT (count > 5 in 5m)", 6, "top-level AND"),
            ("user IN (a, b", 14, "IN list"),
        ];
        for (text, column, needle) in cases {
            let err = Condition::parse(text).unwrap_err();
            assert_eq!(err.column, column, "{text:?}: {err}");
            assert!(err.message.contains(needle), "{text:?}: {err}");
        }
    }

    #[test]
    fn hostile_input_is_an_error_not_a_panic() {
        let deep = format!("{}user = a{}", "(".repeat(10_000), ")".repeat(10_000));
        assert!(Condition::parse(&deep)
            .unwrap_err()
            .message
            .contains("nested"));
        let nots = format!("{}user = a", "NOT ".repeat(10_000));
        assert!(Condition::parse(&nots).is_err());
        assert!(Condition::parse(&"x".repeat(1 << 20))
            .unwrap_err()
            .message
            .contains("longer"));
        assert!(Condition::parse("user = 'é\u{0}|=\\\\]\"\r\n\t'").is_ok());
        let err = Condition::parse("ééé ~").unwrap_err();
        assert_eq!(err.column, 6);
        let c = Condition::parse("message ~ '*\r\n*'").unwrap();
        let mut e = ev("x");
        e.message = "line1\r\nforged".into();
        assert!(c.matches(&e));
    }
}
