//! Reading a rules directory: YAML alert-rule files and Sigma rule files.

use std::path::Path;

use serde::Deserialize;

use crate::{AlertRuleConfig, RulesError};

/// Largest rule file read (a guard against pointing the directory at something huge).
const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

/// What a rules directory held.
#[derive(Default)]
pub(crate) struct Loaded {
    pub(crate) alerts: Vec<AlertRuleConfig>,
    pub(crate) sigma: crate::sigma::Collection,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum AlertFile {
    List(Vec<AlertRuleConfig>),
    Wrapped(Wrapped),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Wrapped {
    alerts: Vec<AlertRuleConfig>,
}

fn file_error(path: &Path, reason: impl Into<String>) -> RulesError {
    RulesError::File {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

pub(crate) fn load_dir(dir: &Path) -> Result<Loaded, RulesError> {
    let entries = std::fs::read_dir(dir).map_err(|e| file_error(dir, e.to_string()))?;
    let mut paths = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| file_error(dir, e.to_string()))?.path();
        let yaml = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml"));
        if yaml && path.is_file() {
            paths.push(path);
        }
    }
    paths.sort();
    let mut loaded = Loaded::default();
    for path in paths {
        let size = std::fs::metadata(&path)
            .map_err(|e| file_error(&path, e.to_string()))?
            .len();
        if size > MAX_FILE_BYTES {
            return Err(file_error(
                &path,
                format!("larger than {MAX_FILE_BYTES} bytes"),
            ));
        }
        let text = std::fs::read_to_string(&path).map_err(|e| file_error(&path, e.to_string()))?;
        load_text(&text, &path.display().to_string(), &mut loaded)?;
    }
    Ok(loaded)
}

pub(crate) fn load_text(text: &str, origin: &str, into: &mut Loaded) -> Result<(), RulesError> {
    if looks_like_sigma(text) {
        return crate::sigma::merge(&mut into.sigma, text, origin).map_err(|reason| {
            RulesError::File {
                path: origin.to_owned(),
                reason,
            }
        });
    }
    // Parse strictly as each form to report the error of the form the file looks like.
    let rules = match yaml_serde::from_str::<AlertFile>(text) {
        Ok(AlertFile::List(l)) => l,
        Ok(AlertFile::Wrapped(w)) => w.alerts,
        Err(_) => {
            let err = if text.trim_start().starts_with('-') {
                yaml_serde::from_str::<Vec<AlertRuleConfig>>(text).err()
            } else {
                yaml_serde::from_str::<Wrapped>(text).err()
            };
            return Err(RulesError::File {
                path: origin.to_owned(),
                reason: err
                    .map_or_else(|| "not a list of alert rules".to_owned(), |e| e.to_string()),
            });
        }
    };
    into.alerts.extend(rules);
    Ok(())
}

/// True when a YAML text looks like Sigma (a top-level `detection:`, `correlation:` or, for
/// Sigma filter documents, `filter:` section; alert-rule files have none of these keys).
fn looks_like_sigma(yaml: &str) -> bool {
    yaml.lines().any(|l| {
        l.starts_with("detection:") || l.starts_with("correlation:") || l.starts_with("filter:")
    })
}
