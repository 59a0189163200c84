//! A user's JSON body template: a JSON document whose strings may hold `{{field}}`
//! placeholders, each replaced by the alert's field JSON-escaped, so that a value (quotes,
//! backslashes, newlines, `"}]`) always stays inside the string it was put in.

use siem_ship::ConfigError;

use super::facts::AlertFacts;

/// A template cut into literal text and placeholders, checked once when configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Field(String),
}

impl Template {
    /// Reads `text`: placeholders only inside JSON strings, names of letters, digits, `_`, `.`,
    /// `-` and `@`, and the document valid JSON once they are filled. Errors name `key`.
    pub fn parse(text: &str, key: &str) -> Result<Template, ConfigError> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut in_string = false;
        let mut escaped = false;
        let mut rest = text;
        while let Some(c) = rest.chars().next() {
            if in_string && !escaped && rest.starts_with("{{") {
                let Some(end) = rest.find("}}") else {
                    return Err(ConfigError::invalid(key, "a `{{` is never closed by `}}`"));
                };
                let name = rest[2..end].trim();
                if name.is_empty()
                    || !name
                        .chars()
                        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '-' | '@'))
                {
                    return Err(ConfigError::invalid(
                        key,
                        format!("{{{{{name}}}}} is not a field name (letters, digits, _ . - @)"),
                    ));
                }
                parts.push(Part::Literal(std::mem::take(&mut literal)));
                parts.push(Part::Field(name.to_owned()));
                rest = &rest[end + 2..];
                continue;
            }
            if !in_string && rest.starts_with("{{") {
                return Err(ConfigError::invalid(
                    key,
                    "a {{placeholder}} must sit inside a JSON string (\"{{rule}}\")",
                ));
            }
            match c {
                '"' if !escaped => in_string = !in_string,
                '\\' if in_string && !escaped => {
                    escaped = true;
                    literal.push(c);
                    rest = &rest[1..];
                    continue;
                }
                _ => {}
            }
            escaped = false;
            literal.push(c);
            rest = &rest[c.len_utf8()..];
        }
        parts.push(Part::Literal(literal));
        parts.retain(|p| !matches!(p, Part::Literal(l) if l.is_empty()));
        let template = Template { parts };
        let mut filled = Vec::new();
        template.fill(&mut filled, |_| String::new());
        serde_json::from_slice::<serde::de::IgnoredAny>(&filled).map_err(|e| {
            ConfigError::invalid(key, format!("not a JSON document: {e}")).with_source(e)
        })?;
        Ok(template)
    }

    /// The body for `alert`: each placeholder replaced by the field's text (empty when the
    /// alert has none).
    pub fn render(&self, alert: &AlertFacts<'_>, out: &mut Vec<u8>) {
        self.fill(out, |name| alert.field(name).into_owned());
    }

    fn fill(&self, out: &mut Vec<u8>, value: impl Fn(&str) -> String) {
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.extend_from_slice(text.as_bytes()),
                Part::Field(name) => {
                    let quoted = serde_json::to_string(&value(name)).unwrap_or_default();
                    // The JSON string without its quotes: the template has them.
                    out.extend_from_slice(&quoted.as_bytes()[1..quoted.len() - 1]);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use siem_event::{EventType, SecurityEvent};

    fn render(template: &str, message: &str) -> String {
        let t = Template::parse(template, "custom_template").unwrap();
        let e = SecurityEvent::new(EventType::parse("alert.threshold"), message);
        let mut out = Vec::new();
        t.render(&AlertFacts { event: &e }, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn placeholders_are_filled_json_escaped() {
        let hostile = "x\", \"injected\": true, \"y\": \"\\\n}]";
        let body = render(r#"{"m": "alert: {{message}}!", "n": 1}"#, hostile);
        let parsed: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(parsed["m"], format!("alert: {hostile}!"));
        assert_eq!(parsed.as_object().unwrap().len(), 2);
    }

    #[test]
    fn escaped_quotes_and_braces_outside_placeholders_stay_literal() {
        assert_eq!(
            render(r#"{"a": "say \"{{message}}\"", "b": "\\"}"#, "hi"),
            r#"{"a": "say \"hi\"", "b": "\\"}"#
        );
    }

    #[test]
    fn bad_templates_are_refused_with_their_key() {
        for bad in [
            r#"{"a": {{message}}}"#,
            r#"{"a": "{{message"}"#,
            r#"{"a": "{{ }}"}"#,
            r#"{"a": "{{a b}}"}"#,
            r#"{"a": "{{rule}}""#,
        ] {
            let e = Template::parse(bad, "custom_template").unwrap_err();
            assert_eq!(e.key(), "custom_template", "{bad}");
        }
    }
}
