//! The tokens of the rule language: words, quoted strings (with `\\` escapes), operators,
//! parentheses and commas, each with its byte offset for error messages.

use std::fmt;

use crate::expr::CmpOp;
use crate::ParseError;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Word(String),
    Quoted(String),
    Op(CmpOp),
    LParen,
    RParen,
    Comma,
    AndSym,
    OrSym,
    NotSym,
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tok::Word(w) => write!(f, "{w:?}"),
            Tok::Quoted(q) => write!(f, "the string {q:?}"),
            Tok::Op(op) => write!(f, "the operator {}", op_text(*op)),
            Tok::LParen => f.write_str("'('"),
            Tok::RParen => f.write_str("')'"),
            Tok::Comma => f.write_str("','"),
            Tok::AndSym => f.write_str("'&&'"),
            Tok::OrSym => f.write_str("'||'"),
            Tok::NotSym => f.write_str("'!'"),
        }
    }
}

fn op_text(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Eq => "==",
        CmpOp::Ne => "!=",
        CmpOp::Gt => ">",
        CmpOp::Ge => ">=",
        CmpOp::Lt => "<",
        CmpOp::Le => "<=",
        CmpOp::Like => "~",
    }
}

pub(crate) fn error_at(text: &str, position: usize, message: impl Into<String>) -> ParseError {
    let position = position.min(text.len());
    let mut boundary = position;
    while !text.is_char_boundary(boundary) {
        boundary -= 1;
    }
    ParseError {
        position,
        column: text[..boundary].chars().count() + 1,
        message: message.into(),
    }
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '.' | '-' | '*' | '?' | '/' | ':' | '@' | '+')
}

pub(crate) fn tokenize(text: &str) -> Result<Vec<(usize, Tok)>, ParseError> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(at, c)) = chars.peek() {
        let two = text.get(at..at + 2).unwrap_or("");
        let tok = match c {
            c if c.is_whitespace() => {
                chars.next();
                continue;
            }
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            ',' => Tok::Comma,
            '~' => Tok::Op(CmpOp::Like),
            '\'' | '"' => {
                chars.next();
                let mut value = String::new();
                let mut closed = false;
                while let Some((_, ch)) = chars.next() {
                    if ch == c {
                        closed = true;
                        break;
                    }
                    if ch == '\\' {
                        match chars.next() {
                            Some((_, esc)) => value.push(esc),
                            None => break,
                        }
                    } else {
                        value.push(ch);
                    }
                }
                if !closed {
                    return Err(error_at(
                        text,
                        at,
                        format!("unterminated string starting with {c}"),
                    ));
                }
                out.push((at, Tok::Quoted(value)));
                continue;
            }
            _ if two == "==" => Tok::Op(CmpOp::Eq),
            _ if two == "!=" => Tok::Op(CmpOp::Ne),
            _ if two == ">=" => Tok::Op(CmpOp::Ge),
            _ if two == "<=" => Tok::Op(CmpOp::Le),
            _ if two == "&&" => Tok::AndSym,
            _ if two == "||" => Tok::OrSym,
            '=' => Tok::Op(CmpOp::Eq),
            '>' => Tok::Op(CmpOp::Gt),
            '<' => Tok::Op(CmpOp::Lt),
            '!' => Tok::NotSym,
            c if is_word_char(c) => {
                let mut end = at;
                while let Some(&(i, ch)) = chars.peek() {
                    if !is_word_char(ch) {
                        break;
                    }
                    end = i + ch.len_utf8();
                    chars.next();
                }
                out.push((at, Tok::Word(text[at..end].to_owned())));
                continue;
            }
            other => {
                return Err(error_at(
                    text,
                    at,
                    format!("unexpected character {other:?}"),
                ));
            }
        };
        let width = match tok {
            Tok::Op(CmpOp::Eq) if two == "==" => 2,
            Tok::Op(CmpOp::Ne | CmpOp::Ge | CmpOp::Le) | Tok::AndSym | Tok::OrSym => 2,
            _ => 1,
        };
        for _ in 0..width {
            chars.next();
        }
        out.push((at, tok));
    }
    Ok(out)
}
