//! Names built from a record's fields: a Kafka topic such as `siem-{event_type}` or a NATS
//! subject such as `siem.{tenant}.{event_type}`.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What a placeholder becomes when the record has no such field.
pub const MISSING: &str = "unknown";

/// A name with `{field}` placeholders, each replaced by the record's field of that name (the
/// names rules use: `event_type`, `tenant`, `source_ip`, any metadata name), or by `unknown`
/// when the record has none. Characters the destination does not allow in a name are replaced
/// by `_`, so a field's value never changes the name's structure.
///
/// ```
/// use siem_stream::NameTemplate;
/// let t = NameTemplate::parse("siem-{event_type}").unwrap();
/// let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-');
/// let name = t.render(|f| (f == "event_type").then(|| "auth.failure".into()), allowed);
/// assert_eq!(name, "siem-auth.failure");
/// let odd = t.render(|_| Some("a b/c".into()), allowed);
/// assert_eq!(odd, "siem-a_b_c");
/// assert_eq!(t.fields().collect::<Vec<_>>(), ["event_type"]);
/// assert!(NameTemplate::parse("siem-{").is_err());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct NameTemplate {
    text: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Field(String),
}

impl NameTemplate {
    /// Reads `text`: literal text and `{name}` placeholders, a name made of letters, digits,
    /// `_`, `.`, `-` and `@`. The reason when it is not.
    ///
    /// ```
    /// use siem_stream::NameTemplate;
    /// assert!(NameTemplate::parse("siem.{tenant}.{event_type}").is_ok());
    /// assert!(NameTemplate::parse("siem.{tenant name}").unwrap_err().contains("not a field name"));
    /// ```
    pub fn parse(text: &str) -> Result<NameTemplate, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            match rest.find(['{', '}']) {
                Some(at) if rest[at..].starts_with('}') => {
                    return Err(format!(
                        "a `}}` at byte {} opens no placeholder",
                        text.len() - rest.len() + at
                    ));
                }
                Some(at) => {
                    if at > 0 {
                        parts.push(Part::Literal(rest[..at].to_owned()));
                    }
                    let Some(end) = rest[at..].find('}') else {
                        return Err("a `{` is never closed by `}`".to_owned());
                    };
                    let name = &rest[at + 1..at + end];
                    if name.is_empty()
                        || !name
                            .chars()
                            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '-' | '@'))
                    {
                        return Err(format!(
                            "{{{name}}} is not a field name (letters, digits, _ . - @)"
                        ));
                    }
                    parts.push(Part::Field(name.to_owned()));
                    rest = &rest[at + end + 1..];
                }
                None => {
                    parts.push(Part::Literal(rest.to_owned()));
                    rest = "";
                }
            }
        }
        Ok(NameTemplate {
            text: text.to_owned(),
            parts,
        })
    }

    /// The template as written.
    ///
    /// ```
    /// assert_eq!(siem_stream::NameTemplate::parse("a.{b}").unwrap().as_str(), "a.{b}");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The names of the fields it reads, in order.
    ///
    /// ```
    /// let t = siem_stream::NameTemplate::parse("{tenant}.{event_type}").unwrap();
    /// assert_eq!(t.fields().count(), 2);
    /// ```
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Field(name) => Some(name.as_str()),
            Part::Literal(_) => None,
        })
    }

    /// Whether the name is the same for every record (no placeholder).
    ///
    /// ```
    /// assert!(siem_stream::NameTemplate::parse("siem-events").unwrap().is_static());
    /// ```
    pub fn is_static(&self) -> bool {
        self.fields().next().is_none()
    }

    /// The name for one record: literal text as written, each placeholder replaced by
    /// `value(name)` (or `unknown`) with every character that `allowed` refuses replaced by `_`.
    ///
    /// ```
    /// let t = siem_stream::NameTemplate::parse("t-{tenant}").unwrap();
    /// assert_eq!(t.render(|_| None, |_| true), "t-unknown");
    /// assert_eq!(t.render(|_| Some("a b".into()), |c| c != ' '), "t-a_b");
    /// ```
    pub fn render<'a>(
        &self,
        value: impl Fn(&str) -> Option<Cow<'a, str>>,
        allowed: impl Fn(char) -> bool,
    ) -> String {
        let mut out = String::with_capacity(self.text.len() + 16);
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Field(name) => {
                    let v = value(name);
                    let v = v.as_deref().unwrap_or(MISSING);
                    out.extend(v.chars().map(|c| if allowed(c) { c } else { '_' }));
                }
            }
        }
        out
    }
}

impl fmt::Debug for NameTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.text, f)
    }
}

impl<'de> Deserialize<'de> for NameTemplate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<NameTemplate, D::Error> {
        let text = String::deserialize(d)?;
        NameTemplate::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl Serialize for NameTemplate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(template: &str, fields: &[(&str, &str)]) -> String {
        NameTemplate::parse(template).unwrap().render(
            |name| {
                fields
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| Cow::Owned(v.to_string()))
            },
            |c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'),
        )
    }

    #[test]
    fn placeholders_take_the_fields_and_refused_characters_become_underscores() {
        assert_eq!(
            render("siem-{event_type}", &[("event_type", "auth.failure")]),
            "siem-auth.failure"
        );
        assert_eq!(render("{tenant}/x", &[("tenant", "a b*>")]), "a_b__/x");
        assert_eq!(render("t-{tenant}", &[]), "t-unknown");
        assert_eq!(render("plain", &[]), "plain");
        assert_eq!(render("{a}{b}", &[("a", "1"), ("b", "é")]), "1_");
    }

    #[test]
    fn malformed_templates_say_why() {
        for (text, why) in [
            ("siem-{", "never closed"),
            ("siem-}", "opens no placeholder"),
            ("{}", "not a field name"),
            ("{a b}", "not a field name"),
            ("{{a}}", "not a field name"),
        ] {
            let e = NameTemplate::parse(text).unwrap_err();
            assert!(e.contains(why), "{text}: {e}");
        }
    }
}
