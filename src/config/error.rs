//! Configuration errors: one key path from the top of the document to the value, whichever
//! layer of deserialization found the problem.

pub use siem_ship::ConfigError;

/// Turns a serde error with its path into a [`ConfigError`]: the key paths compose, unknown
/// names get a "did you mean", and the value is left out when the key holds a secret.
///
/// A value that deserializes itself from a sub-document (a destination takes its common keys,
/// then hands the rest to its sink) reports an error below it as `<relative key>: <reason>`
/// ; that key is put after the path serde knows, so the user reads
/// `destinations[0].rotation.max_size: …`, never `destinations[0]: rotation.max_size: …`.
pub(crate) fn from_path_error(e: serde_path_to_error::Error<serde_yaml_ng::Error>) -> ConfigError {
    let path = e.path().to_string();
    let outer = if path == "." { String::new() } else { path };
    let source = e.into_inner();
    let message = source.to_string();
    let (inner, reason) = split_nested(&message);
    let key = join(&outer, inner);
    let reason = super::suggest::with_suggestion(reason.to_owned());
    let error = ConfigError::invalid(&key, super::secret::reason_at(&key, reason));
    // serde's message quotes the value, so a secret's error keeps no cause to print.
    if super::secret::is_secret_path(&key) {
        error
    } else {
        error.with_source(source)
    }
}

/// `outer` and `inner` as one path: `destinations[0]` and `tls.ca_file` give
/// `destinations[0].tls.ca_file`; `[2]` is put on without a dot.
pub(crate) fn join(outer: &str, inner: &str) -> String {
    match (outer.is_empty(), inner.is_empty()) {
        (_, true) => outer.to_owned(),
        (true, false) => inner.to_owned(),
        (false, false) if inner.starts_with('[') => format!("{outer}{inner}"),
        (false, false) => format!("{outer}.{inner}"),
    }
}

/// Splits `<key>: <reason>` (`: <reason>` for the value itself). serde's own messages never start with
/// a bare key and a colon (`invalid type: …` has a space before it), so a message whose first
/// word before `: ` is made of key characters is a nested one.
fn split_nested(message: &str) -> (&str, &str) {
    match message.split_once(": ") {
        Some((key, reason)) if key.bytes().all(is_key_byte) => (key, reason),
        _ => ("", message),
    }
}

fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'[' | b']')
}

/// The key of an error from the rules engine: a rules file that cannot be read is about
/// `rules.rules_dir`, everything else about `rules`.
pub(crate) fn from_rules_error(e: siem_rules::RulesError) -> ConfigError {
    match e {
        siem_rules::RulesError::File { path, reason } => {
            ConfigError::invalid("rules.rules_dir", format!("{path}: {reason}"))
        }
        other => ConfigError::invalid("rules", other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_keys_compose_and_serde_messages_do_not_split() {
        assert_eq!(
            split_nested("rotation.max_size: invalid byte size"),
            ("rotation.max_size", "invalid byte size")
        );
        assert_eq!(
            split_nested(": missing field `host`"),
            ("", "missing field `host`")
        );
        assert_eq!(
            split_nested("invalid type: string \"x\", expected u16"),
            ("", "invalid type: string \"x\", expected u16")
        );
        assert_eq!(
            join("destinations[0]", "tls.ca_file"),
            "destinations[0].tls.ca_file"
        );
        assert_eq!(join("destinations", "[1].host"), "destinations[1].host");
        assert_eq!(join("", "app"), "app");
    }
}
