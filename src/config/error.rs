pub use siem_ship::ConfigError;

/// Turns a serde error with its path into a [`ConfigError`], without the value when the key
/// holds a secret.
pub(crate) fn from_path_error(e: serde_path_to_error::Error<serde_yaml_ng::Error>) -> ConfigError {
    let path = e.path().to_string();
    let key = if path == "." { String::new() } else { path };
    let reason = super::secret::reason_at(&key, e.into_inner().to_string());
    ConfigError::invalid(key, reason)
}
