//! What the environment puts into a configuration besides `${VAR}` text: `SIEM__KEY__SUBKEY`
//! overrides, seed 004's `SIEM_HOST` / `SIEM_PORT` for the collector, and the types of values
//! that came in as text.
//!
//! Overrides are written with two underscores after `SIEM` so that they cannot collide with
//! the `SIEM_…` variables deployments already have: seed 004's docker-compose sets `SIEM_HOST`
//! and `SIEM_PORT` for the collector, and secrets such as `SIEM_API_KEY` are read through
//! `${…}`. Every override must reach a key; one that does not is an error naming the variable.

use std::collections::HashSet;

use serde::de::DeserializeOwned;
use serde_yaml_ng::{Mapping, Value};

use super::{error, ConfigError};

/// One step of a key path: a mapping key or a list index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    Key(String),
    Index(usize),
}

/// A key path as errors show it: `destinations[0].tls.ca_file`.
pub(crate) fn display(path: &[Segment]) -> String {
    let mut out = String::new();
    for segment in path {
        match segment {
            Segment::Key(k) if out.is_empty() => out.push_str(k),
            Segment::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Segment::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// A value that came from the environment as text: a whole `${…}` or an override. It is put
/// in the document as a string and takes another scalar type (number, boolean, null) only if
/// its key refuses a string, so `port: "${P:-5514}"` is the number 5514 while
/// `app: "${APP}"` stays the text `"1234"` and a secret is never anything but text.
#[derive(Debug, Clone)]
pub(crate) struct EnvText {
    path: Vec<Segment>,
    key: String,
    text: String,
    /// The override's variable, which errors about the key then name.
    variable: Option<String>,
}

impl EnvText {
    /// Text that a whole `${…}` put at `path`.
    pub(crate) fn interpolated(path: &[Segment], text: &str) -> EnvText {
        EnvText {
            path: path.to_vec(),
            key: display(path),
            text: text.to_owned(),
            variable: None,
        }
    }

    fn overridden(path: Vec<Segment>, text: &str, variable: &str) -> EnvText {
        EnvText {
            key: display(&path),
            path,
            text: text.to_owned(),
            variable: Some(variable.to_owned()),
        }
    }

    /// The scalar the text reads as in YAML, if it is not text (`5514`, `true`, `null`).
    fn as_other_scalar(&self) -> Option<Value> {
        match serde_yaml_ng::from_str::<Value>(&self.text).ok()? {
            scalar @ (Value::Number(_) | Value::Bool(_) | Value::Null) => Some(scalar),
            _ => None,
        }
    }
}

/// The variables that name the collector, as seed 004's docker-compose sets them, and the key
/// of the syslog destination each sets.
const COLLECTOR_VARIABLES: [(&str, &str); 2] = [("SIEM_HOST", "host"), ("SIEM_PORT", "port")];

/// Applies the environment's overrides to `root` (the document after interpolation):
///
/// - `SIEM__A__B=value` sets `a.b` (`__` separates levels, a number indexes a list);
/// - `SIEM_HOST` / `SIEM_PORT` set the `host` / `port` of the configuration's one syslog
///   destination, unless the configuration reads them itself with `${…}` (in `read`);
/// - a variable in the former override form (`SIEM_QUEUE__CAPACITY`, `SIEM_APP`) is refused
///   with its new spelling, rather than ignored.
///
/// Other `SIEM_…` variables are left alone. Returns what was set, for typing and for errors.
pub(crate) fn apply_overrides(
    root: &mut Value,
    vars: impl IntoIterator<Item = (String, String)>,
    read: &HashSet<String>,
    top_level_keys: &[&str],
) -> Result<Vec<EnvText>, ConfigError> {
    let mut vars: Vec<(String, String)> = vars
        .into_iter()
        .filter(|(name, _)| name.starts_with("SIEM_"))
        .collect();
    vars.sort();
    let mut set = Vec::new();
    for (name, text) in &vars {
        if let Some(rest) = name.strip_prefix("SIEM__") {
            let path = override_path(root, name, rest)?;
            set_at(root, &path, Value::String(text.clone()));
            set.push(EnvText::overridden(path, text, name));
        } else if let Some((_, key)) = COLLECTOR_VARIABLES.iter().find(|(v, _)| v == name) {
            if read.contains(name.as_str()) {
                continue;
            }
            let i = the_syslog_destination(root, name, key)?;
            let path = vec![
                Segment::Key("destinations".into()),
                Segment::Index(i),
                Segment::Key((*key).into()),
            ];
            set_at(root, &path, Value::String(text.clone()));
            set.push(EnvText::overridden(path, text, name));
        } else if is_former_override(name, top_level_keys) {
            let rest = &name["SIEM_".len()..];
            return Err(ConfigError::invalid(
                "",
                format!(
                    "environment variable {name}: overrides are written with two underscores \
                     after SIEM, so that they cannot be mistaken for other SIEM_ variables: \
                     SIEM__{rest}"
                ),
            ));
        }
    }
    Ok(set)
}

/// Whether `name` is written as overrides were before they took two underscores: a level
/// separator, or a top-level key on its own (`SIEM_APP`).
fn is_former_override(name: &str, top_level_keys: &[&str]) -> bool {
    let rest = name["SIEM_".len()..].to_ascii_lowercase();
    rest.contains("__") || top_level_keys.contains(&rest.as_str())
}

/// The index of the only `type: syslog` destination, for `variable` (which sets its `key`); an
/// error naming the variable when there is none or more than one.
fn the_syslog_destination(root: &Value, variable: &str, key: &str) -> Result<usize, ConfigError> {
    let syslog: Vec<usize> = root
        .get("destinations")
        .and_then(Value::as_sequence)
        .map(|items| {
            items
                .iter()
                .enumerate()
                .filter(|(_, d)| d.get("type").and_then(Value::as_str) == Some("syslog"))
                .map(|(i, _)| i)
                .collect()
        })
        .unwrap_or_default();
    let how = format!(
        "write `{key}: ${{{variable}}}` in the destination it is for, or set \
         SIEM__DESTINATIONS__<index>__{}",
        key.to_ascii_uppercase()
    );
    match syslog.as_slice() {
        [i] => Ok(*i),
        [] => Err(ConfigError::invalid(
            "destinations",
            format!(
                "environment variable {variable} sets the collector's {key} (seed 004), but there \
                 is no syslog destination; add one, or unset {variable}"
            ),
        )),
        several => Err(ConfigError::invalid(
            "destinations",
            format!(
                "environment variable {variable} sets the collector's {key} (seed 004), but \
                 there are {} syslog destinations ({}); {how}",
                several.len(),
                several
                    .iter()
                    .map(|i| format!("destinations[{i}]"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

/// The key path `SIEM__A__0__B` names, checked against the document: a level that is a list
/// takes an index that exists, and a list can only be indexed where the document has one.
fn override_path(root: &Value, variable: &str, rest: &str) -> Result<Vec<Segment>, ConfigError> {
    let refuse = |at: &[Segment], reason: String| {
        ConfigError::invalid(
            display(at),
            format!("environment variable {variable}: {reason}"),
        )
    };
    let mut path = Vec::new();
    let mut node = Some(root);
    for part in rest.split("__") {
        if part.is_empty() {
            return Err(refuse(
                &path,
                "an empty level (three or more underscores in a row)".into(),
            ));
        }
        let part = part.to_ascii_lowercase();
        match node {
            Some(Value::Sequence(items)) => {
                let Ok(i) = part.parse::<usize>() else {
                    return Err(refuse(&path, format!("{part:?} is not a list index")));
                };
                if i >= items.len() {
                    return Err(refuse(
                        &path,
                        format!("no item {i} (the list has {})", items.len()),
                    ));
                }
                node = items.get(i);
                path.push(Segment::Index(i));
            }
            Some(Value::Mapping(map)) => {
                node = map.get(part.as_str());
                path.push(Segment::Key(part));
            }
            None | Some(Value::Null) => {
                if part.parse::<usize>().is_ok() {
                    let hint = sibling_hint(root, &path, rest);
                    return Err(refuse(
                        &path,
                        format!("not a list in the configuration{hint}"),
                    ));
                }
                node = None;
                path.push(Segment::Key(part));
            }
            Some(_) => {
                return Err(refuse(
                    &path,
                    format!("a value here, not a mapping (expected a mapping or list to put {part:?} in)"),
                ));
            }
        }
    }
    Ok(path)
}

/// "; did you mean SIEM__DESTINATIONS__0__HOST?" when the last key of `path` (the levels of
/// `rest` read so far) is missing from its mapping and a key there is near it.
fn sibling_hint(root: &Value, path: &[Segment], rest: &str) -> String {
    let Some((Segment::Key(missing), parent)) = path.split_last() else {
        return String::new();
    };
    let mut node = root;
    for segment in parent {
        node = match (segment, node) {
            (Segment::Key(k), Value::Mapping(m)) => m.get(k.as_str()).unwrap_or(&Value::Null),
            (Segment::Index(i), Value::Sequence(s)) => s.get(*i).unwrap_or(&Value::Null),
            _ => &Value::Null,
        };
    }
    let keys: Vec<&str> = node
        .as_mapping()
        .map(|m| m.keys().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(near) = super::suggest::nearest(missing, &keys) else {
        return String::new();
    };
    let mut levels: Vec<String> = rest.split("__").map(str::to_ascii_uppercase).collect();
    levels[parent.len()] = near.to_ascii_uppercase();
    format!("; did you mean SIEM__{}?", levels.join("__"))
}

/// Puts `value` at `path`, creating the mappings on the way (the path was checked by
/// [`override_path`]).
fn set_at(node: &mut Value, path: &[Segment], value: Value) {
    let Some((first, rest)) = path.split_first() else {
        *node = value;
        return;
    };
    if !matches!(node, Value::Mapping(_) | Value::Sequence(_)) {
        *node = Value::Mapping(Mapping::new());
    }
    let child = match (first, node) {
        (Segment::Key(k), Value::Mapping(map)) => {
            map.entry(Value::String(k.clone())).or_insert(Value::Null)
        }
        (Segment::Index(i), Value::Sequence(items)) => match items.get_mut(*i) {
            Some(item) => item,
            None => return,
        },
        _ => return,
    };
    set_at(child, rest, value);
}

/// Deserializes the resolved document. A value from the environment that its key refuses as
/// text is read as the YAML scalar it spells (in `value` too, so that it shows as what it
/// became) and the document is tried again; an error about a key an override set names the
/// variable.
pub(crate) fn deserialize<T: DeserializeOwned>(
    value: &mut Value,
    from_env: &[EnvText],
) -> Result<T, ConfigError> {
    let mut retyped = vec![false; from_env.len()];
    loop {
        let err = match serde_path_to_error::deserialize(value.clone()) {
            Ok(t) => return Ok(t),
            Err(e) => error::from_path_error(e),
        };
        let retype = from_env.iter().enumerate().find_map(|(i, t)| {
            let refuses_text = !retyped[i]
                && t.key == err.key()
                && err.reason().starts_with("invalid type: string")
                && !super::secret::is_secret_path(&t.key);
            refuses_text
                .then(|| t.as_other_scalar().map(|s| (i, s)))
                .flatten()
        });
        match retype {
            Some((i, scalar)) => {
                retyped[i] = true;
                set_at(value, &from_env[i].path, scalar);
            }
            None => return Err(attribute(err, from_env)),
        }
    }
}

/// `err` with the variable named when an override set its key or a value inside it (serde
/// reports an unknown key at the key itself).
pub(crate) fn attribute(err: ConfigError, from_env: &[EnvText]) -> ConfigError {
    let key = err.key();
    let by = from_env.iter().find_map(|t| {
        let variable = t.variable.as_deref()?;
        let at_or_inside = key == t.key
            || key
                .strip_prefix(t.key.as_str())
                .is_some_and(|rest| rest.starts_with(['.', '[']));
        at_or_inside.then_some(variable)
    });
    match by {
        Some(variable) => {
            err.with_reason(|reason| format!("{reason} (set by environment variable {variable})"))
        }
        None => err,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn apply(yaml: &str, list: &[(&str, &str)]) -> Result<Value, ConfigError> {
        let mut v: Value = serde_yaml_ng::from_str(yaml).unwrap();
        apply_overrides(
            &mut v,
            vars(list),
            &HashSet::new(),
            &["queue", "destinations", "app"],
        )?;
        Ok(v)
    }

    #[test]
    fn overrides_set_nested_and_indexed_keys() {
        let v = apply(
            "destinations: [{type: stdout}]",
            &[
                ("SIEM__QUEUE__CAPACITY", "5000"),
                ("SIEM__DESTINATIONS__0__FORMAT", "cef"),
                ("SIEM_REQUIRE_PEERS", "1"),
                ("OTHER", "x"),
            ],
        )
        .unwrap();
        assert_eq!(v["queue"]["capacity"].as_str(), Some("5000"));
        assert_eq!(v["destinations"][0]["format"].as_str(), Some("cef"));
        assert!(v.get("require_peers").is_none());
    }

    #[test]
    fn an_override_that_reaches_no_key_names_its_variable() {
        for (name, key) in [
            ("SIEM__DESTINATIONS__3__FORMAT", "destinations"),
            ("SIEM__DESTINATION__0__HOST", "destination"),
            ("SIEM__QUEUE____CAPACITY", "queue"),
            ("SIEM__DESTINATIONS__X", "destinations"),
        ] {
            let err = apply("destinations: [{type: stdout}]", &[(name, "v")]).unwrap_err();
            assert_eq!(err.key(), key, "{name}");
            assert!(err.to_string().contains(name), "{err}");
        }
        for name in ["SIEM__DESTINATION__0__HOST", "SIEM__destination__0__Host"] {
            let err = apply("destinations: [{type: stdout}]", &[(name, "v")]).unwrap_err();
            assert!(
                err.to_string()
                    .contains("did you mean SIEM__DESTINATIONS__0__HOST?"),
                "{err}"
            );
        }
    }

    #[test]
    fn the_former_form_is_refused_with_the_new_spelling() {
        for name in [
            "SIEM_QUEUE__CAPACITY",
            "SIEM_APP",
            "SIEM_DESTINATION__0__HOST",
        ] {
            let err = apply("{}", &[(name, "1")]).unwrap_err();
            let new = name.replacen("SIEM_", "SIEM__", 1);
            assert!(err.to_string().contains(&new), "{err}");
        }
        assert!(apply("{}", &[("SIEM_API_KEY", "x"), ("SIEM_REDACT_KEY", "y")]).is_ok());
    }

    #[test]
    fn collector_variables_set_the_one_syslog_destination() {
        let yaml = "host: web-01\ndestinations: [{type: stdout}, {type: syslog, host: a}]";
        let v = apply(
            yaml,
            &[("SIEM_HOST", "siem.company.com"), ("SIEM_PORT", "514")],
        )
        .unwrap();
        assert_eq!(v["host"].as_str(), Some("web-01"));
        assert_eq!(
            v["destinations"][1]["host"].as_str(),
            Some("siem.company.com")
        );
        assert_eq!(v["destinations"][1]["port"].as_str(), Some("514"));
        let err = apply("destinations: [{type: stdout}]", &[("SIEM_PORT", "514")]).unwrap_err();
        assert!(err.to_string().contains("SIEM_PORT"), "{err}");
        assert!(err.to_string().contains("no syslog destination"), "{err}");
        let two = "destinations: [{type: syslog, host: a}, {type: syslog, host: b}]";
        let err = apply(two, &[("SIEM_HOST", "c")]).unwrap_err();
        assert!(
            err.to_string().contains("destinations[0], destinations[1]"),
            "{err}"
        );
        // A configuration that reads the variable itself decides where it goes.
        let mut v: Value = serde_yaml_ng::from_str(two).unwrap();
        let read = HashSet::from(["SIEM_HOST".to_owned()]);
        apply_overrides(&mut v, vars(&[("SIEM_HOST", "c")]), &read, &[]).unwrap();
        assert_eq!(v["destinations"][0]["host"].as_str(), Some("a"));
    }
}
