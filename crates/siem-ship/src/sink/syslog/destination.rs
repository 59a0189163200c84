//! Syslog as a destination type (`type: syslog`): every setting checked (TLS files read, no
//! socket opened), the formats that make sense on a syslog transport, and a one-off
//! reachability check.

use std::time::Duration;

use siem_format::{BodyFormat, Format, FormatOptions};

use super::config::{SyslogConfig, Transport};
use super::connection::endpoints;
use super::relp::RelpSender;
use super::stream::StreamSender;
use super::udp;
use super::{security, transport_kind, SyslogSink};
use crate::sink::{Sink, SinkConfig};
use crate::ConfigError;

/// `type: syslog`: records must carry a syslog header (`rfc5424`, the default, or `rfc3164`
/// with a body that keeps the fields).
///
/// ```
/// use siem_format::{BodyFormat, Format, FormatOptions};
/// use siem_ship::sink::syslog::SyslogConfig;
/// use siem_ship::sink::SinkConfig;
///
/// let config = SyslogConfig::tcp("127.0.0.1");
/// assert_eq!(config.default_format(), Format::Rfc5424);
/// let plain = FormatOptions::default();
/// assert!(config.accepts(Format::Rfc5424, &plain).is_ok());
/// // Bare CEF has no syslog header: it travels as the body of an RFC 5424 message.
/// let why = config.accepts(Format::Cef, &plain).unwrap_err();
/// assert!(why.contains("format: rfc5424") && why.contains("body: cef"), "{why}");
/// // RFC 3164 carries only its MSG: the plain message would drop every field.
/// assert!(config.accepts(Format::Rfc3164, &plain).is_err());
/// let cef_body = FormatOptions::default().body(BodyFormat::Cef);
/// assert!(config.accepts(Format::Rfc3164, &cef_body).is_ok());
///
/// let err = SinkConfig::validate(&SyslogConfig::tcp("127.0.0.1:514")).unwrap_err();
/// assert_eq!(err.key(), "host");
/// ```
impl SinkConfig for SyslogConfig {
    fn type_name(&self) -> &'static str {
        "syslog"
    }

    /// The settings with the transport's port and the defaults of its own sections: framing and
    /// the resend window on TCP and TLS, the acknowledgement window on RELP (each refuses the
    /// others' keys, and UDP all of them).
    fn settings(&self) -> serde_json::Value {
        let mut settings = crate::sink::settings_of(self);
        settings["port"] = self.effective_port().into();
        match self.transport {
            Transport::Tcp | Transport::Tls => {
                settings["framing"] = crate::sink::settings_of(&self.effective_framing());
                let resend = self.resend.clone().unwrap_or_default();
                settings["resend"] = crate::sink::settings_of(&resend);
            }
            Transport::Relp => {
                let relp = self.relp.clone().unwrap_or_default();
                settings["relp"] = crate::sink::settings_of(&relp);
            }
            Transport::Udp => {}
        }
        settings
    }

    /// Everything [`SyslogSink::new`] checks: the keys, the TLS files (read and parsed) and the
    /// names certificates are verified against.
    fn validate(&self) -> Result<(), ConfigError> {
        SyslogConfig::validate(self)?;
        let tls = security(self, &mut Vec::new())?;
        endpoints(self, tls.is_some()).map(drop)
    }

    fn accepts(&self, format: Format, options: &FormatOptions) -> Result<(), String> {
        match format {
            Format::Rfc5424 => Ok(()),
            Format::Rfc3164 if options.body == BodyFormat::Message => Err(
                "rfc3164 carries only its message text, so with format_options.body: message \
                 (the default) the user, source IP and every other field are dropped: set \
                 format_options.body to cef, leef2 or json, or use format: rfc5424, whose \
                 structured data carries the fields"
                    .to_owned(),
            ),
            Format::Rfc3164 => Ok(()),
            Format::Cef | Format::Leef1 | Format::Leef2 => Err(format!(
                "{format} alone has no syslog header (priority, time, host), which syslog \
                 collectors need: use format: rfc5424 with format_options.body: {format}"
            )),
            other => Err(format!(
                "{other} alone has no syslog header (priority, time, host), which syslog \
                 collectors need: use format: rfc5424 (its structured data carries the \
                 fields), or rfc5424 with format_options.body: json"
            )),
        }
    }

    fn default_format(&self) -> Format {
        Format::Rfc5424
    }

    fn open(&self) -> Result<Box<dyn Sink>, ConfigError> {
        Ok(Box::new(SyslogSink::new(self.clone())?))
    }

    /// Streams: connects to the primary, else to each backup in turn, with the TLS handshake
    /// (and for RELP the session's `open`), within `timeout` per attempt, then closes. UDP has no connection to make: the host is
    /// resolved and a socket connected to it, which says the address is routable, not that a
    /// collector listens.
    fn probe(&self, timeout: Duration) -> Result<String, String> {
        SinkConfig::validate(self).map_err(|e| e.to_string())?;
        let mut config = self.clone();
        config.connect_timeout = timeout;
        let kind = transport_kind(&config);
        if config.transport == Transport::Udp {
            let port = config.effective_port();
            let (_, addr) = udp::connect(&config.host, port, timeout)
                .map_err(|why| format!("{kind}: {}:{port}: {why}", config.host))?;
            return Ok(format!(
                "{kind} {}:{port} resolves to {addr} (UDP has no connection: whether a \
                 collector listens cannot be checked)",
                config.host
            ));
        }
        let tls = security(&config, &mut Vec::new()).map_err(|e| e.to_string())?;
        if config.transport == Transport::Relp {
            return RelpSender::new(&config, kind, tls)
                .map_err(|e| e.to_string())?
                .probe();
        }
        StreamSender::new(&config, kind, tls)
            .map_err(|e| e.to_string())?
            .probe()
    }

    fn clone_box(&self) -> Box<dyn SinkConfig> {
        Box::new(self.clone())
    }
}
