//! A list of `host:port` addresses, written as a YAML list or as one comma-separated string.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use siem_ship::ConfigError;

/// Server addresses (`host:port`), read from a list (`[a:9092, b:9092]`) or from one
/// comma-separated string (`"a:9092,b:9092"`, as Kafka tools write a bootstrap list).
///
/// ```
/// use siem_stream::Servers;
/// let s: Servers = serde_json::from_str(r#""k1:9092, k2:9092""#).unwrap();
/// assert_eq!(s.as_slice(), ["k1:9092", "k2:9092"]);
/// let l: Servers = serde_json::from_str(r#"["k1:9092"]"#).unwrap();
/// assert_eq!(l.joined(), "k1:9092");
/// ```
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Servers(Vec<String>);

impl Servers {
    /// Servers from addresses.
    ///
    /// ```
    /// let s = siem_stream::Servers::new(["127.0.0.1:4222"]);
    /// assert_eq!(s.as_slice().len(), 1);
    /// ```
    pub fn new(addresses: impl IntoIterator<Item = impl Into<String>>) -> Servers {
        Servers(addresses.into_iter().map(Into::into).collect())
    }

    /// The addresses, in order.
    ///
    /// ```
    /// assert!(siem_stream::Servers::default().as_slice().is_empty());
    /// ```
    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    /// The addresses joined by commas.
    ///
    /// ```
    /// let s = siem_stream::Servers::new(["a:1", "b:2"]);
    /// assert_eq!(s.joined(), "a:1,b:2");
    /// ```
    pub fn joined(&self) -> String {
        self.0.join(",")
    }

    /// Refuses an empty list and any address that is not `host:port` (a URL scheme such as
    /// `nats://` or `tls://` in front is allowed when `schemes` names it); errors name `key`.
    pub(crate) fn check(&self, key: &str, schemes: &[&str]) -> Result<(), ConfigError> {
        if self.0.is_empty() {
            return Err(ConfigError::invalid(
                key,
                "at least one server address is needed",
            ));
        }
        for (i, address) in self.0.iter().enumerate() {
            let at = format!("{key}[{i}]");
            let rest = match address.split_once("://") {
                Some((scheme, rest)) if schemes.contains(&scheme) => rest,
                Some((scheme, _)) => {
                    return Err(ConfigError::invalid(
                        &at,
                        format!("unknown scheme {scheme:?} in {address:?}"),
                    ))
                }
                None => address.as_str(),
            };
            let Some((host, port)) = rest.rsplit_once(':') else {
                return Err(ConfigError::invalid(
                    &at,
                    format!("{address:?} is not host:port"),
                ));
            };
            let host = host.trim_start_matches('[').trim_end_matches(']');
            if host.is_empty()
                || host
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '/' | ',' | '@'))
            {
                return Err(ConfigError::invalid(
                    &at,
                    format!("{address:?} has no valid host name"),
                ));
            }
            if !matches!(port.parse::<u16>(), Ok(p) if p > 0) {
                return Err(ConfigError::invalid(
                    &at,
                    format!("{address:?}: the port must be a number from 1 to 65535"),
                ));
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Servers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.0).finish()
    }
}

impl<'de> Deserialize<'de> for Servers {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Servers, D::Error> {
        #[derive(Deserialize)]
        #[serde(
            untagged,
            expecting = "a list of host:port addresses or one comma-separated string"
        )]
        enum Form {
            One(String),
            Many(Vec<String>),
        }
        let list = match Form::deserialize(d)? {
            Form::One(text) => text.split(',').map(str::to_owned).collect(),
            Form::Many(list) => list,
        };
        Ok(Servers(
            list.into_iter()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect(),
        ))
    }
}

impl Serialize for Servers {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn servers(json: &str) -> Servers {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn good_addresses_pass() {
        for s in [
            r#""127.0.0.1:9092""#,
            r#"["k1:9092","[::1]:9093"]"#,
            r#""nats://n1:4222""#,
        ] {
            assert!(servers(s).check("servers", &["nats"]).is_ok(), "{s}");
        }
    }

    #[test]
    fn bad_addresses_name_the_entry() {
        for (s, key) in [
            (r#""""#, "servers"),
            (r#"[]"#, "servers"),
            (r#""k1""#, "servers[0]"),
            (r#""k1:9092,k2:0""#, "servers[1]"),
            (r#""k1:port""#, "servers[0]"),
            (r#""http://k1:9092""#, "servers[0]"),
            (r#""user@k1:9092""#, "servers[0]"),
            (r#"":9092""#, "servers[0]"),
        ] {
            let e = servers(s).check("servers", &[]).unwrap_err();
            assert_eq!(e.key(), key, "{s}: {e}");
        }
    }

    #[test]
    fn other_shapes_are_refused() {
        assert!(serde_json::from_str::<Servers>("9092").is_err());
        assert!(serde_json::from_str::<Servers>(r#"{"a":1}"#).is_err());
    }
}
