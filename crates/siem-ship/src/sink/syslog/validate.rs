//! Validation of a syslog configuration: every mistake becomes an error that names the key at
//! fault and says why, before anything touches the network.

use std::time::Duration;

use crate::ConfigError;

use super::config::{Framing, SyslogConfig, TlsConfig, Transport, MAX_UDP_PAYLOAD, MIN_DATAGRAM};

impl SyslogConfig {
    /// Checks every key; the error names the first bad key and why it is bad. Reading the TLS
    /// files (CA, client certificate and key) is left to [`SinkConfig::validate`] and
    /// [`SyslogSink::new`](super::SyslogSink::new), which do it too.
    ///
    /// [`SinkConfig::validate`]: crate::sink::SinkConfig::validate
    ///
    /// ```
    /// use siem_ship::sink::syslog::SyslogConfig;
    /// let err = SyslogConfig::tcp("h").port(0).validate().unwrap_err();
    /// assert_eq!(err.to_string(), "port: 0 is not a port a collector can listen on");
    /// let err = SyslogConfig::tcp("h").backup("", None).validate().unwrap_err();
    /// assert_eq!(err.key(), "backup[0].host");
    /// let err = SyslogConfig::tcp("h").ca_file("/ca.pem").validate().unwrap_err();
    /// assert_eq!(err.reason(), "only applies to transport tls or relp (transport is tcp)");
    /// ```
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_host("host", &self.host)?;
        if self.port == Some(0) {
            return Err(ConfigError::invalid(
                "port",
                "0 is not a port a collector can listen on",
            ));
        }
        for (i, backup) in self.backup.iter().enumerate() {
            check_host(&format!("backup[{i}].host"), &backup.host)?;
            if backup.port == Some(0) {
                return Err(ConfigError::invalid(
                    format!("backup[{i}].port"),
                    "0 is not a port a collector can listen on",
                ));
            }
            if backup.server_name.is_some() && !self.in_tls() {
                return Err(ConfigError::invalid(
                    format!("backup[{i}].server_name"),
                    "only applies in TLS (transport tls, or relp with a tls section)",
                ));
            }
        }
        match (self.transport, self.framing) {
            (Transport::Udp, Some(_)) => {
                return Err(ConfigError::invalid(
                    "framing",
                    "does not apply to transport udp: each message is its own datagram",
                ))
            }
            (Transport::Relp, Some(_)) => {
                return Err(ConfigError::invalid(
                    "framing",
                    "does not apply to transport relp: RELP frames each record itself",
                ))
            }
            (Transport::Tls, Some(Framing::Lf)) => {
                return Err(ConfigError::invalid(
                    "framing",
                    "lf is not allowed with transport tls: RFC 5425 requires octet-counting",
                ))
            }
            _ => {}
        }
        if self.transport == Transport::Udp && !self.backup.is_empty() {
            return Err(ConfigError::invalid(
                "backup",
                "needs transport tcp or tls: UDP never learns that a collector is down, so it \
                 cannot fail over",
            ));
        }
        if !(MIN_DATAGRAM..=MAX_UDP_PAYLOAD).contains(&self.max_datagram_size) {
            return Err(ConfigError::invalid(
                "max_datagram_size",
                format!(
                    "{} is out of range: must be between {MIN_DATAGRAM} and {MAX_UDP_PAYLOAD} bytes",
                    self.max_datagram_size
                ),
            ));
        }
        if !(1024..=16 * 1024 * 1024).contains(&self.write_buffer_size) {
            return Err(ConfigError::invalid(
                "write_buffer_size",
                format!(
                    "{} is out of range: must be between 1KiB and 16MiB",
                    self.write_buffer_size
                ),
            ));
        }
        for (key, value) in [
            ("connect_timeout", self.connect_timeout),
            ("write_timeout", self.write_timeout),
            ("backoff.initial", self.backoff.initial),
        ] {
            if value.is_zero() {
                return Err(ConfigError::invalid(key, "must be longer than zero"));
            }
        }
        if self.backoff.max < self.backoff.initial {
            return Err(ConfigError::invalid(
                "backoff.max",
                format!(
                    "{:?} is shorter than backoff.initial ({:?})",
                    self.backoff.max, self.backoff.initial
                ),
            ));
        }
        if let Some(relp) = &self.relp {
            if self.transport != Transport::Relp {
                return Err(ConfigError::invalid(
                    "relp",
                    format!(
                        "only applies to transport relp (transport is {})",
                        self.transport.as_str()
                    ),
                ));
            }
            if !(1..=65_536).contains(&relp.window) {
                return Err(ConfigError::invalid(
                    "relp.window",
                    format!(
                        "{} is out of range: must be between 1 and 65536",
                        relp.window
                    ),
                ));
            }
        }
        if let Some(resend) = &self.resend {
            if !matches!(self.transport, Transport::Tcp | Transport::Tls) {
                let why = match self.transport {
                    Transport::Relp => "RELP resends what the collector did not acknowledge",
                    _ => "UDP never learns that a datagram was lost",
                };
                return Err(ConfigError::invalid(
                    "resend",
                    format!(
                        "only applies to transport tcp or tls (transport is {}: {why})",
                        self.transport.as_str()
                    ),
                ));
            }
            if resend.interval.is_zero() || resend.interval > Duration::from_secs(600) {
                return Err(ConfigError::invalid(
                    "resend.interval",
                    format!(
                        "{:?} is out of range: must be longer than zero and at most 10 minutes",
                        resend.interval
                    ),
                ));
            }
            if resend.max_size > 1024 * 1024 * 1024 {
                return Err(ConfigError::invalid(
                    "resend.max_size",
                    format!("{} is out of range: must be at most 1GiB", resend.max_size),
                ));
            }
        }
        match (&self.tls, self.transport) {
            (Some(_), Transport::Udp | Transport::Tcp) => Err(ConfigError::invalid(
                "tls",
                format!(
                    "only applies to transport tls or relp (transport is {})",
                    self.transport.as_str()
                ),
            )),
            (Some(tls), Transport::Tls | Transport::Relp) => check_tls(tls),
            (None, _) => Ok(()),
        }
    }

    /// Whether connections run in TLS: `transport: tls`, or `relp` with a `tls:` section.
    ///
    /// ```
    /// use siem_ship::sink::syslog::SyslogConfig;
    /// assert!(SyslogConfig::tls("h").in_tls());
    /// assert!(!SyslogConfig::relp("h").in_tls());
    /// assert!(SyslogConfig::relp("h").ca_file("/ca.pem").in_tls());
    /// ```
    pub fn in_tls(&self) -> bool {
        match self.transport {
            Transport::Tls => true,
            Transport::Relp => self.tls.is_some(),
            Transport::Udp | Transport::Tcp => false,
        }
    }
}

fn check_host(key: &str, host: &str) -> Result<(), ConfigError> {
    if host.trim().is_empty() {
        return Err(ConfigError::invalid(key, "must not be empty"));
    }
    if host.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ConfigError::invalid(
            key,
            format!("{host:?} contains blanks or control characters"),
        ));
    }
    if host.starts_with('[') || host.contains("]:") {
        return Err(ConfigError::invalid(
            key,
            format!("{host:?}: write the address without brackets and the port under `port`"),
        ));
    }
    // A colon belongs only in an IPv6 address; `name:514` is a port written into the host,
    // which the resolver would refuse only when the first batch is sent.
    if host.contains(':') && host.parse::<std::net::Ipv6Addr>().is_err() {
        let reason = match host.rsplit_once(':') {
            Some((name, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
                format!("{host:?} has a port in it: write `{name}` here and the port under `port`")
            }
            _ => format!("{host:?} is neither a host name nor an IP address"),
        };
        return Err(ConfigError::invalid(key, reason));
    }
    Ok(())
}

fn check_tls(tls: &TlsConfig) -> Result<(), ConfigError> {
    match (&tls.client_cert, &tls.client_key) {
        (Some(_), None) => {
            return Err(ConfigError::invalid(
                "tls.client_key",
                "missing: tls.client_cert is set, and a certificate needs its private key",
            ))
        }
        (None, Some(_)) => {
            return Err(ConfigError::invalid(
                "tls.client_cert",
                "missing: tls.client_key is set without the certificate it belongs to",
            ))
        }
        _ => {}
    }
    if tls.dangerous_disable_verification && tls.ca_file.is_some() {
        return Err(ConfigError::invalid(
            "tls.ca_file",
            "has no effect while tls.dangerous_disable_verification is true; remove one of them",
        ));
    }
    if let Some(name) = &tls.server_name {
        check_host("tls.server_name", name)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::config::{BackupHost, ResendConfig};
    use super::*;
    use std::time::Duration;

    fn key_of(config: SyslogConfig) -> String {
        config.validate().unwrap_err().key().to_string()
    }

    #[test]
    fn defaults_are_valid() {
        for config in [
            SyslogConfig::udp("127.0.0.1"),
            SyslogConfig::tcp("::1"),
            SyslogConfig::tcp("fe80::1"),
            SyslogConfig::tls("collector.example.com"),
            SyslogConfig::relp("127.0.0.1"),
            SyslogConfig::relp("collector.example.com").ca_file("/ca.pem"),
        ] {
            config.validate().unwrap();
        }
    }

    #[test]
    fn each_mistake_names_its_key() {
        assert_eq!(key_of(SyslogConfig::tcp(" ")), "host");
        assert_eq!(key_of(SyslogConfig::tcp("a b")), "host");
        assert_eq!(key_of(SyslogConfig::tcp("[::1]:514")), "host");
        assert_eq!(key_of(SyslogConfig::tcp("127.0.0.1:514")), "host");
        assert_eq!(key_of(SyslogConfig::tcp("siem.example.com:")), "host");
        assert_eq!(
            key_of(SyslogConfig::tcp("h").backup("b.example.com:6514", None)),
            "backup[0].host"
        );
        assert_eq!(key_of(SyslogConfig::tcp("h").port(0)), "port");
        assert_eq!(
            key_of(SyslogConfig::tcp("h").backup("", None)),
            "backup[0].host"
        );
        assert_eq!(key_of(SyslogConfig::udp("h").backup("b", None)), "backup");
        assert_eq!(
            key_of(SyslogConfig::udp("h").framing(Framing::Lf)),
            "framing"
        );
        assert_eq!(
            key_of(SyslogConfig::tls("h").framing(Framing::Lf)),
            "framing"
        );
        assert_eq!(
            key_of(SyslogConfig::udp("h").max_datagram_size(100)),
            "max_datagram_size"
        );
        assert_eq!(
            key_of(SyslogConfig::udp("h").max_datagram_size(70_000)),
            "max_datagram_size"
        );
        assert_eq!(
            key_of(SyslogConfig::tcp("h").write_buffer_size(10)),
            "write_buffer_size"
        );
        assert_eq!(
            key_of(SyslogConfig::tcp("h").connect_timeout(Duration::ZERO)),
            "connect_timeout"
        );
        assert_eq!(
            key_of(SyslogConfig::tcp("h").backoff(Duration::from_secs(2), Duration::from_secs(1))),
            "backoff.max"
        );
        assert_eq!(key_of(SyslogConfig::tcp("h").ca_file("/ca.pem")), "tls");
        assert_eq!(
            key_of(SyslogConfig::relp("h").framing(Framing::OctetCounting)),
            "framing"
        );
        assert_eq!(key_of(SyslogConfig::tcp("h").relp_window(8)), "relp");
        assert_eq!(
            key_of(SyslogConfig::relp("h").relp_window(0)),
            "relp.window"
        );
        assert_eq!(
            key_of(SyslogConfig::relp("h").resend(Default::default())),
            "resend"
        );
        assert_eq!(
            key_of(SyslogConfig::tcp("h").resend(ResendConfig::default().interval(Duration::ZERO))),
            "resend.interval"
        );
        assert_eq!(
            key_of(SyslogConfig::tls("h").resend(ResendConfig::default().max_size(u64::MAX))),
            "resend.max_size"
        );
        let mut relp_tls_backup = SyslogConfig::relp("h").ca_file("/ca.pem");
        relp_tls_backup
            .backup
            .push(BackupHost::new("b").server_name("b.example.com"));
        relp_tls_backup.validate().unwrap();
        let mut relp_plain_backup = SyslogConfig::relp("h");
        relp_plain_backup
            .backup
            .push(BackupHost::new("b").server_name("b.example.com"));
        assert_eq!(key_of(relp_plain_backup), "backup[0].server_name");
        let mut only_cert = SyslogConfig::tls("h");
        only_cert.tls.as_mut().unwrap().client_cert = Some("/c.pem".into());
        assert_eq!(key_of(only_cert), "tls.client_key");
        assert_eq!(
            key_of(
                SyslogConfig::tls("h")
                    .ca_file("/ca.pem")
                    .dangerous_disable_verification()
            ),
            "tls.ca_file"
        );
    }
}
