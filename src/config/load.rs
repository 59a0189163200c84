//! Reading configuration text: YAML, `${VAR}` interpolation, `SIEM_*` overrides.
//!
//! Interpolation happens inside string values after the YAML is parsed, so a variable's value
//! can never add keys or change the document's structure.

use serde_yaml_ng::{Mapping, Value};

use super::ConfigError;

/// Replaces `${VAR}` and `${VAR:-default}` in every string of `value`; `$${` is a literal `${`.
pub(crate) fn interpolate(
    value: &mut Value,
    path: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    match value {
        Value::String(s) => {
            if s.contains('$') {
                *s = interpolate_str(s, env).map_err(|e| {
                    ConfigError::invalid(path, e.describe(super::secret::is_secret_path(path)))
                })?;
            }
        }
        Value::Sequence(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                interpolate(item, &format!("{path}[{i}]"), env)?;
            }
        }
        Value::Mapping(map) => {
            for (k, v) in map.iter_mut() {
                let key = key_text(k);
                let child = if path.is_empty() {
                    key
                } else {
                    format!("{path}.{key}")
                };
                interpolate(v, &child, env)?;
            }
        }
        Value::Tagged(t) => interpolate(&mut t.value, path, env)?,
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
    Ok(())
}

fn key_text(k: &Value) -> String {
    match k {
        Value::String(s) => s.clone(),
        other => serde_yaml_ng::to_string(other)
            .map(|s| s.trim().to_owned())
            .unwrap_or_default(),
    }
}

/// Why a string cannot be interpolated.
#[derive(Debug)]
enum InterpolationError {
    /// `${` without its `}`.
    Unclosed,
    /// `${…}` around something that is not a variable name.
    InvalidName(String),
    /// `${VAR}` without a default, and `VAR` is not set.
    Unset(String),
}

impl InterpolationError {
    /// The reason; under a key that holds a secret, without any of the value's text (what
    /// sits between `${` and `}` there may be part of the secret itself).
    fn describe(&self, secret: bool) -> String {
        match self {
            InterpolationError::Unclosed => "unclosed ${ (write $${ for a literal ${)".to_owned(),
            InterpolationError::InvalidName(_) if secret => {
                "invalid variable name in ${…} (not shown: this key holds a secret)".to_owned()
            }
            InterpolationError::InvalidName(expr) => {
                format!("invalid variable name in ${{{expr}}}")
            }
            InterpolationError::Unset(name) => format!(
                "environment variable {name} is not set (write ${{{name}:-default}} for a default)"
            ),
        }
    }
}

fn interpolate_str(
    s: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, InterpolationError> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix("${") {
            out.push_str("${");
            rest = tail;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = body.find('}').ok_or(InterpolationError::Unclosed)?;
            let expr = &body[..end];
            let (name, default) = match expr.split_once(":-") {
                Some((n, d)) => (n, Some(d)),
                None => (expr, None),
            };
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(InterpolationError::InvalidName(expr.to_owned()));
            }
            match (env(name), default) {
                (Some(v), _) => out.push_str(&v),
                (None, Some(d)) => out.push_str(d),
                (None, None) => return Err(InterpolationError::Unset(name.to_owned())),
            }
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Applies `SIEM_A__B=value` overrides (`a.b`; `__` separates levels, numbers index lists).
/// Only variables whose first level is one of `top_level_keys` are applied, so unrelated
/// `SIEM_…` variables (secrets referenced by `${…}`, test switches) are left alone.
pub(crate) fn apply_overrides(
    root: &mut Value,
    vars: impl IntoIterator<Item = (String, String)>,
    top_level_keys: &[&str],
) -> Result<(), ConfigError> {
    let mut vars: Vec<_> = vars
        .into_iter()
        .filter_map(|(k, v)| k.strip_prefix("SIEM_").map(|p| (p.to_ascii_lowercase(), v)))
        .filter(|(k, _)| {
            let first = k.split("__").next().unwrap_or("");
            top_level_keys.contains(&first)
        })
        .collect();
    vars.sort();
    for (key, text) in vars {
        let parts: Vec<&str> = key.split("__").collect();
        let dotted = parts.join(".");
        if parts.iter().any(|p| p.is_empty()) {
            return Err(ConfigError::invalid(
                dotted,
                "empty key segment in environment override",
            ));
        }
        let parsed: Value = serde_yaml_ng::from_str(&text).unwrap_or(Value::String(text.clone()));
        let value = match parsed {
            Value::Mapping(_) | Value::Sequence(_) | Value::Tagged(_) => Value::String(text),
            scalar => scalar,
        };
        set_path(root, &parts, value).map_err(|r| ConfigError::invalid(dotted.clone(), r))?;
    }
    Ok(())
}

fn set_path(node: &mut Value, parts: &[&str], value: Value) -> Result<(), String> {
    let Some((first, rest)) = parts.split_first() else {
        *node = value;
        return Ok(());
    };
    if node.is_null() {
        *node = Value::Mapping(Mapping::new());
    }
    match node {
        Value::Mapping(map) => {
            let key = Value::String((*first).to_owned());
            let child = map.entry(key).or_insert(Value::Null);
            set_path(child, rest, value)
        }
        Value::Sequence(items) => {
            let i: usize = first
                .parse()
                .map_err(|_| format!("{first:?} is not a list index"))?;
            let len = items.len();
            let child = items
                .get_mut(i)
                .ok_or_else(|| format!("index {i} is out of range (the list has {len} items)"))?;
            set_path(child, rest, value)
        }
        _ => Err("cannot override inside a scalar value".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "TOKEN" => Some("s3cr3t".into()),
            "NEWLINE" => Some("a\nb: c".into()),
            _ => None,
        }
    }

    #[test]
    fn interpolation_forms() {
        assert_eq!(
            interpolate_str("Bearer ${TOKEN}", &env).unwrap(),
            "Bearer s3cr3t"
        );
        assert_eq!(interpolate_str("${MISSING:-dflt}", &env).unwrap(), "dflt");
        assert_eq!(
            interpolate_str("$${TOKEN} $5", &env).unwrap(),
            "${TOKEN} $5"
        );
        assert!(interpolate_str("${MISSING}", &env)
            .unwrap_err()
            .describe(true)
            .contains("MISSING"));
        assert!(interpolate_str("${TOKEN", &env).is_err());
        assert!(interpolate_str("${TO KEN}", &env).is_err());
    }

    #[test]
    fn errors_under_a_secret_key_do_not_quote_it() {
        for (text, secret) in [("s3cr3t${", "s3cr3t"), ("a${s3cr3t!}", "s3cr3t")] {
            let mut v: Value =
                serde_yaml_ng::from_str(&format!("redact: {{ hash_key: {text:?} }}")).unwrap();
            let err = interpolate(&mut v, "", &env).unwrap_err();
            assert_eq!(err.key(), "redact.hash_key");
            assert!(!err.to_string().contains(secret), "{err}");
        }
        let mut v: Value = serde_yaml_ng::from_str("app: \"a${bad name}\"").unwrap();
        let err = interpolate(&mut v, "", &env).unwrap_err();
        assert!(err.to_string().contains("bad name"), "{err}");
    }

    #[test]
    fn a_variable_cannot_add_keys() {
        let mut v: Value = serde_yaml_ng::from_str("app: \"${NEWLINE}\"").unwrap();
        interpolate(&mut v, "", &env).unwrap();
        let map = v.as_mapping().unwrap();
        assert_eq!(map.len(), 1);
        assert_eq!(map.get("app").unwrap().as_str(), Some("a\nb: c"));
    }

    #[test]
    fn overrides_set_nested_and_indexed_keys() {
        let mut v: Value = serde_yaml_ng::from_str("destinations: [{type: stdout}]").unwrap();
        apply_overrides(
            &mut v,
            [
                ("SIEM_QUEUE__CAPACITY".to_owned(), "5000".to_owned()),
                ("SIEM_DESTINATIONS__0__FORMAT".to_owned(), "cef".to_owned()),
                ("SIEM_REQUIRE_PEERS".to_owned(), "1".to_owned()),
                ("OTHER".to_owned(), "x".to_owned()),
            ],
            &["queue", "destinations"],
        )
        .unwrap();
        assert_eq!(v["queue"]["capacity"].as_u64(), Some(5000));
        assert_eq!(v["destinations"][0]["format"].as_str(), Some("cef"));
        assert!(v.get("require_peers").is_none());
        let err = apply_overrides(
            &mut v,
            [("SIEM_DESTINATIONS__3__FORMAT".to_owned(), "cef".to_owned())],
            &["destinations"],
        )
        .unwrap_err();
        assert_eq!(err.key(), "destinations.3.format");
    }
}
