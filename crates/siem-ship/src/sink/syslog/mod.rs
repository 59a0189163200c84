//! Syslog delivery over UDP (RFC 5426), TCP (RFC 6587), TLS (RFC 5425) and RELP (rsyslog's
//! Reliable Event Logging Protocol, plain or in TLS).
//!
//! The sink receives records already encoded (RFC 5424, CEF, LEEF… one per event) and adds
//! what the transport needs: octet counting (`LEN SP MSG`, the default, and the only framing
//! RFC 5425 allows) or a trailing LF on streams; a `syslog` command per record on RELP; one
//! datagram per message, truncated to `max_datagram_size` with respect for the format, on UDP.
//!
//! Streams connect lazily (on the first batch), fail over to backup hosts in order, move back
//! to the primary after `failback_after`, and reconnect with exponential backoff and jitter.
//!
//! # Delivery guarantees, and the window that remains
//!
//! - A new connection is used only once the collector has had about one more round trip
//!   (25 ms to 1 s) to refuse it: collectors that reject a sender (rsyslog with a client
//!   certificate it does not accept, or an address it does not allow) close the connection
//!   only after accepting it, and anything written by then would vanish. Such a refusal is a
//!   connection error that says so.
//! - RELP: a batch is delivered when the collector has answered `200 OK` for each of its
//!   records. Records not acknowledged when the session breaks go out again on a new
//!   connection at once; if that fails too, the error names exactly those records, and the
//!   route retries them.
//! - TCP and TLS have no acknowledgement. Before each batch the connection is checked without
//!   blocking for a collector that has gone (end of stream, reset, TLS `close_notify` or
//!   alert). Each batch's bytes are kept (`resend`: 2 s, 8 MiB by default) until the
//!   connection has been seen healthy `resend.interval` after they were written; after a
//!   detected break the new connection first carries everything kept, then the batch. A write
//!   error or a `write_timeout` during a batch does the same. The collector may see records
//!   twice; every event carries an id for de-duplication.
//! - What remains on TCP and TLS: records pushed out of the window by `resend.max_size`
//!   before they were confirmed are reported through [`Sink::take_unconfirmed`] after a break,
//!   and the route counts them as dropped (`unconfirmed`); a collector that holds bytes unread
//!   for longer than `resend.interval` and then dies loses them without anybody knowing. UDP
//!   has no delivery guarantee at all.
//!
//! The sink never logs through `tracing` (that would feed its own events back into the
//! pipeline). The one warning it has, for `tls.dangerous_disable_verification`, is printed to
//! standard error with a `tracing-siem:` prefix when the sink is created, and is also kept in
//! [`SyslogSink::warnings`] for the caller to report its own way.
//!
//! ```
//! use std::io::Read;
//! use siem_ship::sink::syslog::{SyslogConfig, SyslogSink};
//! use siem_ship::{Batch, Sink};
//!
//! let collector = std::net::TcpListener::bind("127.0.0.1:0")?;
//! let port = collector.local_addr()?.port();
//! let mut sink = SyslogSink::new(SyslogConfig::tcp("127.0.0.1").port(port))?;
//!
//! let mut batch = Batch::default();
//! batch.push(b"<34>1 2026-01-02T03:04:05Z host app - - - one");
//! batch.push(b"<34>1 2026-01-02T03:04:05Z host app - - - two\nlines");
//! sink.send(&batch)?;
//! sink.close()?;
//!
//! let mut received = String::new();
//! collector.accept()?.0.read_to_string(&mut received)?;
//! assert_eq!(
//!     received,
//!     "45 <34>1 2026-01-02T03:04:05Z host app - - - one\
//!      51 <34>1 2026-01-02T03:04:05Z host app - - - two\nlines"
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # QRadar: LEEF over syslog, TLS
//!
//! QRadar's "TLS Syslog" log source listens on 6514 and parses LEEF carried as the MSG of a
//! syslog message:
//!
//! ```no_run
//! use siem_format::{build_encoder, BodyFormat, Format, FormatOptions};
//! use siem_ship::sink::syslog::{SyslogConfig, SyslogSink};
//!
//! let encoder = build_encoder(
//!     Format::Rfc5424,
//!     &FormatOptions::default().body(BodyFormat::Leef2),
//! )?;
//! let sink = SyslogSink::new(
//!     SyslogConfig::tls("qradar.example.com")
//!         .ca_file("/etc/siem/qradar-ca.pem")
//!         .backup("qradar-2.example.com", None),
//! )?;
//! # let _ = (encoder, sink);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # ArcSight: CEF over syslog, TCP
//!
//! An ArcSight Syslog SmartConnector reads CEF after a BSD-style syslog header, one message
//! per line:
//!
//! ```no_run
//! use siem_format::{build_encoder, BodyFormat, Format, FormatOptions};
//! use siem_ship::sink::syslog::{Framing, SyslogConfig, SyslogSink};
//!
//! let encoder = build_encoder(
//!     Format::Rfc3164,
//!     &FormatOptions::default().body(BodyFormat::Cef),
//! )?;
//! let sink = SyslogSink::new(
//!     SyslogConfig::tcp("arcsight-connector.example.com").framing(Framing::Lf),
//! )?;
//! # let _ = (encoder, sink);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

//! # rsyslog: RFC 5424 over RELP, in TLS
//!
//! rsyslog's `imrelp` (`input(type="imrelp" port="2514" tls="on" …)`) acknowledges every
//! record:
//!
//! ```no_run
//! use siem_ship::sink::syslog::{SyslogConfig, SyslogSink};
//!
//! let sink = SyslogSink::new(
//!     SyslogConfig::relp("rsyslog.example.com")
//!         .ca_file("/etc/siem/ca.pem")
//!         .relp_window(128),
//! )?;
//! # let _ = sink;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod backoff;
mod config;
mod connection;
mod destination;
mod framing;
mod relp;
mod resend;
mod socket;
mod stream;
#[cfg(feature = "tls")]
mod tls;
mod truncate;
mod udp;
mod validate;

use crate::ConfigError;
use std::fmt;
use std::net::SocketAddr;

pub use config::{
    BackoffConfig, BackupHost, Framing, RelpConfig, ResendConfig, SyslogConfig, TlsConfig,
    Transport,
};

use crate::{Batch, Sink, SinkError};
use connection::TlsSettings;
use relp::RelpSender;
use stream::StreamSender;
use udp::UdpSender;

enum Sender {
    Udp(UdpSender),
    Stream(StreamSender),
    Relp(RelpSender),
}

/// Delivers encoded records to a syslog collector over UDP, TCP, TLS or RELP.
///
/// Created from a [`SyslogConfig`]; nothing touches the network until the first batch.
///
/// ```
/// use siem_ship::sink::syslog::{SyslogConfig, SyslogSink};
/// use siem_ship::{Batch, Sink};
///
/// let collector = std::net::UdpSocket::bind("127.0.0.1:0")?;
/// let port = collector.local_addr()?.port();
/// let mut sink = SyslogSink::new(SyslogConfig::udp("127.0.0.1").port(port))?;
/// assert_eq!(sink.kind(), "syslog-udp");
///
/// let mut batch = Batch::default();
/// batch.push(b"<34>1 - host app - - - hello");
/// sink.send(&batch)?;
///
/// let mut datagram = [0u8; 2048];
/// let n = collector.recv(&mut datagram)?;
/// assert_eq!(&datagram[..n], b"<34>1 - host app - - - hello");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct SyslogSink {
    kind: &'static str,
    destination: String,
    sender: Sender,
    warnings: Vec<String>,
}

impl SyslogSink {
    /// Validates the configuration, loads TLS files (CA, client certificate and key), and
    /// returns a sink that connects on its first batch. Every error names the key at fault.
    ///
    /// ```
    /// use siem_ship::sink::syslog::{SyslogConfig, SyslogSink};
    /// # #[cfg(feature = "tls")] {
    /// let err = SyslogSink::new(SyslogConfig::tls("siem.example.com").ca_file("/nonexistent.pem"))
    ///     .unwrap_err();
    /// assert_eq!(err.key(), "tls.ca_file");
    /// assert!(err.to_string().contains("/nonexistent.pem"));
    /// # }
    /// ```
    pub fn new(config: SyslogConfig) -> Result<SyslogSink, ConfigError> {
        config.validate()?;
        let mut warnings = Vec::new();
        let tls = security(&config, &mut warnings)?;
        let kind = transport_kind(&config);
        let sender = match config.transport {
            Transport::Udp => Sender::Udp(UdpSender::new(&config)),
            Transport::Tcp | Transport::Tls => {
                Sender::Stream(StreamSender::new(&config, kind, tls)?)
            }
            Transport::Relp => Sender::Relp(RelpSender::new(&config, kind, tls)?),
        };
        for warning in &warnings {
            eprintln!("tracing-siem: warning: {warning}");
        }
        Ok(SyslogSink {
            kind,
            destination: format!("{}:{}", config.host, config.effective_port()),
            sender,
            warnings,
        })
    }

    /// Warnings about the configuration, already printed to standard error at creation.
    ///
    /// ```
    /// use siem_ship::sink::syslog::{SyslogConfig, SyslogSink};
    /// # #[cfg(feature = "tls")] {
    /// let sink = SyslogSink::new(SyslogConfig::tls("10.0.0.1").dangerous_disable_verification())?;
    /// assert!(sink.warnings()[0].contains("NOT verified"));
    /// # }
    /// # Ok::<(), siem_ship::ConfigError>(())
    /// ```
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The address of the collector currently connected (streams) or sent to (UDP); `None`
    /// before the first batch and after a failure.
    ///
    /// ```
    /// use siem_ship::sink::syslog::{SyslogConfig, SyslogSink};
    /// let sink = SyslogSink::new(SyslogConfig::tcp("127.0.0.1"))?;
    /// assert_eq!(sink.peer(), None, "connections are opened lazily");
    /// # Ok::<(), siem_ship::ConfigError>(())
    /// ```
    pub fn peer(&self) -> Option<SocketAddr> {
        match &self.sender {
            Sender::Udp(udp) => udp.peer(),
            Sender::Stream(stream) => stream.peer(),
            Sender::Relp(relp) => relp.peer(),
        }
    }
}

/// The sink's kind for a destination's transport, as metrics and errors name it.
fn transport_kind(config: &SyslogConfig) -> &'static str {
    match config.transport {
        Transport::Udp => "syslog-udp",
        Transport::Tcp => "syslog-tcp",
        Transport::Tls => "syslog-tls",
        Transport::Relp if config.in_tls() => "syslog-relp-tls",
        Transport::Relp => "syslog-relp",
    }
}

/// The TLS client configuration when connections run in TLS, built from the configured files
/// (so that a missing or malformed CA file, certificate or key is a configuration error, with
/// its key, before anything is sent); nothing otherwise. Warnings are pushed, not printed.
fn security(config: &SyslogConfig, warnings: &mut Vec<String>) -> Result<TlsSettings, ConfigError> {
    if !config.in_tls() {
        return Ok(None);
    }
    #[cfg(feature = "tls")]
    {
        let settings = config.tls.clone().unwrap_or_default();
        Ok(Some(tls::client_config(&settings, warnings)?))
    }
    #[cfg(not(feature = "tls"))]
    {
        let _ = warnings;
        Err(ConfigError::invalid(
            "transport",
            "TLS needs the `tls` feature of siem-ship, which this build leaves out",
        ))
    }
}

impl fmt::Debug for SyslogSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The TLS configuration (which holds the client key) is deliberately left out.
        f.debug_struct("SyslogSink")
            .field("kind", &self.kind)
            .field("destination", &self.destination)
            .field("peer", &self.peer())
            .finish_non_exhaustive()
    }
}

impl Sink for SyslogSink {
    fn kind(&self) -> &'static str {
        self.kind
    }

    fn send(&mut self, batch: &Batch) -> Result<(), SinkError> {
        match &mut self.sender {
            Sender::Udp(udp) => udp.send(batch),
            Sender::Stream(stream) => stream.send(batch),
            Sender::Relp(relp) => relp.send(batch),
        }
    }

    fn close(&mut self) -> Result<(), SinkError> {
        match &mut self.sender {
            Sender::Stream(stream) => stream.close(),
            Sender::Relp(relp) => relp.close(),
            Sender::Udp(_) => {}
        }
        Ok(())
    }

    fn take_unconfirmed(&mut self) -> u64 {
        match &mut self.sender {
            Sender::Stream(stream) => stream.take_unconfirmed(),
            Sender::Relp(_) | Sender::Udp(_) => 0,
        }
    }
}
