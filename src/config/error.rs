pub use siem_ship::ConfigError;

/// Turns a serde error with its path into a [`ConfigError`].
pub(crate) fn from_path_error(e: serde_path_to_error::Error<serde_yaml_ng::Error>) -> ConfigError {
    let path = e.path().to_string();
    let key = if path == "." { String::new() } else { path };
    ConfigError::invalid(key, e.into_inner().to_string())
}
