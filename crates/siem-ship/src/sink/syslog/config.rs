//! What the user writes to configure syslog delivery, with builder-style constructors and the
//! validation that turns a mistake into an error naming the key and the reason.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::units;

/// The transport a syslog destination uses.
///
/// ```
/// use siem_ship::sink::syslog::Transport;
/// assert_eq!(Transport::Tls.default_port(), 6514);
/// assert_eq!(Transport::Udp.default_port(), 514);
/// assert_eq!(Transport::Tcp.as_str(), "tcp");
/// ```
#[derive(Deserialize, Serialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Transport {
    /// RFC 5426: one message per datagram, no acknowledgement, no failure detection.
    Udp,
    /// RFC 6587: a plain TCP stream (the IETF does not recommend it; prefer TLS).
    Tcp,
    /// RFC 5425: TCP with TLS, port 6514. The default: secure unless the user says otherwise.
    #[default]
    Tls,
    /// RELP, rsyslog's Reliable Event Logging Protocol, port 2514: the collector acknowledges
    /// every record. In TLS when a `tls:` section is given (`tls: {}` for the system's roots).
    Relp,
}

impl Transport {
    /// The port used when the configuration names none: 6514 for TLS, 2514 for RELP (with or
    /// without TLS, as rsyslog's `imrelp` examples use), 514 otherwise.
    ///
    /// ```
    /// use siem_ship::sink::syslog::Transport;
    /// assert_eq!(Transport::Tcp.default_port(), 514);
    /// assert_eq!(Transport::Relp.default_port(), 2514);
    /// ```
    pub fn default_port(self) -> u16 {
        match self {
            Transport::Tls => 6514,
            Transport::Relp => 2514,
            Transport::Udp | Transport::Tcp => 514,
        }
    }

    /// The name used in configuration files.
    ///
    /// ```
    /// use siem_ship::sink::syslog::Transport;
    /// assert_eq!(Transport::Tls.as_str(), "tls");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
            Transport::Relp => "relp",
        }
    }
}

/// How messages are delimited on a stream transport (RFC 6587 §3.4).
///
/// ```
/// use siem_ship::sink::syslog::Framing;
/// assert_eq!(Framing::default(), Framing::OctetCounting);
/// ```
#[derive(Deserialize, Serialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Framing {
    /// `LEN SP MSG`: transparent, a message may contain any byte. Required by RFC 5425 (TLS).
    #[default]
    OctetCounting,
    /// `MSG LF`, for receivers that only understand newline-delimited syslog. A line feed or NUL
    /// inside a message would end it early and forge a second message, so each is sent as a space.
    Lf,
}

/// A backup collector, tried in order when the primary (and earlier backups) cannot be reached.
///
/// ```
/// use siem_ship::sink::syslog::BackupHost;
/// let b = BackupHost::new("siem-backup.example.com").port(6515);
/// assert_eq!(b.port, Some(6515));
/// ```
#[derive(Deserialize, Serialize, Debug, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct BackupHost {
    /// Host name or IP address.
    pub host: String,
    /// Port; the primary's port when absent.
    #[serde(default)]
    pub port: Option<u16>,
    /// Name the TLS certificate must carry; `host` when absent. Each host is verified against its
    /// own name, never the primary's.
    #[serde(default)]
    pub server_name: Option<String>,
}

impl BackupHost {
    /// A backup host on the primary's port.
    ///
    /// ```
    /// use siem_ship::sink::syslog::BackupHost;
    /// assert_eq!(BackupHost::new("b.example.com").port, None);
    /// ```
    pub fn new(host: impl Into<String>) -> BackupHost {
        BackupHost {
            host: host.into(),
            port: None,
            server_name: None,
        }
    }

    /// Sets the port.
    ///
    /// ```
    /// use siem_ship::sink::syslog::BackupHost;
    /// assert_eq!(BackupHost::new("b").port(1514).port, Some(1514));
    /// ```
    pub fn port(mut self, port: u16) -> BackupHost {
        self.port = Some(port);
        self
    }

    /// Sets the name its TLS certificate must carry.
    ///
    /// ```
    /// use siem_ship::sink::syslog::BackupHost;
    /// let b = BackupHost::new("10.0.0.2").server_name("siem-2.example.com");
    /// assert_eq!(b.server_name.as_deref(), Some("siem-2.example.com"));
    /// ```
    pub fn server_name(mut self, name: impl Into<String>) -> BackupHost {
        self.server_name = Some(name.into());
        self
    }
}

/// TLS settings (RFC 5425). Verification of the certificate chain and of the host name is on
/// unless `dangerous_disable_verification` says otherwise.
///
/// ```
/// use siem_ship::sink::syslog::TlsConfig;
/// let tls = TlsConfig::default();
/// assert!(!tls.dangerous_disable_verification);
/// assert!(tls.ca_file.is_none(), "no CA file: the system's root certificates are used");
/// ```
#[derive(Deserialize, Serialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct TlsConfig {
    /// PEM file with the CA certificates that may sign the collector's certificate; the
    /// system's root certificates when absent.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// PEM certificate chain presented to the collector (mutual TLS).
    #[serde(default)]
    pub client_cert: Option<PathBuf>,
    /// PEM private key of `client_cert`. Only the path is kept here; the key itself is read
    /// into the TLS configuration and never printed.
    #[serde(default)]
    pub client_key: Option<PathBuf>,
    /// Name the primary's certificate must carry; `host` when absent.
    #[serde(default)]
    pub server_name: Option<String>,
    /// Accepts any certificate from anyone, which lets a man in the middle read and change
    /// every event. For lab setups only; a warning is printed when the sink starts.
    #[serde(default)]
    pub dangerous_disable_verification: bool,
}

impl TlsConfig {
    /// Sets `ca_file`: PEM file with the CA certificates that may sign the collector's certificate; the system's root certificates when absent.
    ///
    /// ```
    /// use siem_ship::sink::syslog::TlsConfig;
    /// let c = TlsConfig::default().ca_file("/etc/siem/ca.pem");
    /// assert_eq!(c.ca_file, Some("/etc/siem/ca.pem".into()));
    /// ```
    pub fn ca_file(mut self, ca_file: impl Into<PathBuf>) -> TlsConfig {
        self.ca_file = Some(ca_file.into());
        self
    }

    /// Sets `client_cert`: PEM certificate chain presented to the collector (mutual TLS).
    ///
    /// ```
    /// use siem_ship::sink::syslog::TlsConfig;
    /// let c = TlsConfig::default().client_cert("/etc/siem/client.pem");
    /// assert_eq!(c.client_cert, Some("/etc/siem/client.pem".into()));
    /// ```
    pub fn client_cert(mut self, client_cert: impl Into<PathBuf>) -> TlsConfig {
        self.client_cert = Some(client_cert.into());
        self
    }

    /// Sets `client_key`: PEM private key of `client_cert`.
    ///
    /// ```
    /// use siem_ship::sink::syslog::TlsConfig;
    /// let c = TlsConfig::default().client_key("/etc/siem/client.key");
    /// assert_eq!(c.client_key, Some("/etc/siem/client.key".into()));
    /// ```
    pub fn client_key(mut self, client_key: impl Into<PathBuf>) -> TlsConfig {
        self.client_key = Some(client_key.into());
        self
    }

    /// Sets `server_name`: name the primary's certificate must carry; `host` when absent.
    ///
    /// ```
    /// use siem_ship::sink::syslog::TlsConfig;
    /// let c = TlsConfig::default().server_name("siem.example.com");
    /// assert_eq!(c.server_name.as_deref(), Some("siem.example.com"));
    /// ```
    pub fn server_name(mut self, server_name: impl Into<String>) -> TlsConfig {
        self.server_name = Some(server_name.into());
        self
    }

    /// Sets `dangerous_disable_verification`: accepts any certificate from anyone, which lets a man in the middle read and change every event.
    ///
    /// ```
    /// use siem_ship::sink::syslog::TlsConfig;
    /// let c = TlsConfig::default().dangerous_disable_verification(true);
    /// assert!(c.dangerous_disable_verification);
    /// ```
    pub fn dangerous_disable_verification(
        mut self,
        dangerous_disable_verification: bool,
    ) -> TlsConfig {
        self.dangerous_disable_verification = dangerous_disable_verification;
        self
    }
}

/// RELP settings (`relp:`, only with `transport: relp`).
///
/// ```
/// use siem_ship::sink::syslog::RelpConfig;
/// assert_eq!(RelpConfig::default().window, 128);
/// assert_eq!(RelpConfig::default().window(16).window, 16);
/// ```
#[derive(Deserialize, Serialize, Debug, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RelpConfig {
    /// Records sent and not acknowledged yet, at most (1 to 65 536; 128 by default, as
    /// rsyslog's own `omrelp`). A larger window hides more of the round trip; the records in it
    /// are the ones sent again after a broken connection.
    #[serde(default = "default_relp_window")]
    pub window: u32,
}

impl RelpConfig {
    /// Sets `window`: how many records may await their acknowledgement at a time.
    ///
    /// ```
    /// use siem_ship::sink::syslog::RelpConfig;
    /// assert_eq!(RelpConfig::default().window(1).window, 1);
    /// ```
    pub fn window(mut self, window: u32) -> RelpConfig {
        self.window = window;
        self
    }
}

impl Default for RelpConfig {
    fn default() -> RelpConfig {
        RelpConfig {
            window: default_relp_window(),
        }
    }
}

fn default_relp_window() -> u32 {
    128
}

/// The resend window of plain stream syslog (`resend:`, only with `transport: tcp` or `tls`).
///
/// Plain syslog has no acknowledgement: a collector that goes away discards what it accepted
/// and had not read yet. So each batch's bytes are kept until the connection has been seen
/// healthy `interval` after they were written, and written again on the new connection when
/// the old one turns out to have broken (the collector may see them twice; events carry ids).
/// At most `max_size` bytes are kept: records pushed out before they were confirmed are
/// counted under the drop reason `unconfirmed` if the connection then breaks.
///
/// ```
/// use std::time::Duration;
/// use siem_ship::sink::syslog::ResendConfig;
/// let r = ResendConfig::default();
/// assert_eq!((r.interval, r.max_size), (Duration::from_secs(2), 8 * 1024 * 1024));
/// ```
#[derive(Deserialize, Serialize, Debug, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ResendConfig {
    /// How long after a write a healthy connection confirms it (2 s by default; up to 10 min):
    /// longer than the collector may take to read what it accepted.
    #[serde(
        default = "default_resend_interval",
        deserialize_with = "units::duration",
        serialize_with = "units::serialize_duration"
    )]
    pub interval: Duration,
    /// Most bytes kept (8 MiB by default; 0 to 1 GiB). Sized for the socket buffers on both
    /// ends, which is what a dying collector can discard.
    #[serde(
        default = "default_resend_max_size",
        deserialize_with = "units::byte_size"
    )]
    pub max_size: u64,
}

impl ResendConfig {
    /// Sets `interval`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use siem_ship::sink::syslog::ResendConfig;
    /// let r = ResendConfig::default().interval(Duration::from_secs(5));
    /// assert_eq!(r.interval, Duration::from_secs(5));
    /// ```
    pub fn interval(mut self, interval: Duration) -> ResendConfig {
        self.interval = interval;
        self
    }

    /// Sets `max_size`, in bytes.
    ///
    /// ```
    /// use siem_ship::sink::syslog::ResendConfig;
    /// assert_eq!(ResendConfig::default().max_size(1024).max_size, 1024);
    /// ```
    pub fn max_size(mut self, bytes: u64) -> ResendConfig {
        self.max_size = bytes;
        self
    }
}

impl Default for ResendConfig {
    fn default() -> ResendConfig {
        ResendConfig {
            interval: default_resend_interval(),
            max_size: default_resend_max_size(),
        }
    }
}

fn default_resend_interval() -> Duration {
    Duration::from_secs(2)
}
fn default_resend_max_size() -> u64 {
    8 * 1024 * 1024
}

/// Reconnection pacing: after each failed attempt to reach any host, the next attempt waits a
/// random time between `initial` and `min(initial × 2^failures, max)` (exponential backoff with
/// jitter, so many senders do not reconnect in lockstep after a collector restart).
///
/// ```
/// use siem_ship::sink::syslog::BackoffConfig;
/// let b = BackoffConfig::default();
/// assert!(b.initial < b.max);
/// ```
#[derive(Deserialize, Serialize, Debug, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct BackoffConfig {
    /// Shortest wait.
    #[serde(
        default = "default_backoff_initial",
        deserialize_with = "units::duration",
        serialize_with = "units::serialize_duration"
    )]
    pub initial: Duration,
    /// Longest wait.
    #[serde(
        default = "default_backoff_max",
        deserialize_with = "units::duration",
        serialize_with = "units::serialize_duration"
    )]
    pub max: Duration,
}

impl BackoffConfig {
    /// Sets `initial`: the shortest wait.
    ///
    /// ```
    /// use siem_ship::sink::syslog::BackoffConfig;
    /// use std::time::Duration;
    /// let c = BackoffConfig::default().initial(Duration::from_secs(30));
    /// assert_eq!(c.initial, Duration::from_secs(30));
    /// ```
    pub fn initial(mut self, initial: Duration) -> BackoffConfig {
        self.initial = initial;
        self
    }

    /// Sets `max`: longest wait.
    ///
    /// ```
    /// use siem_ship::sink::syslog::BackoffConfig;
    /// use std::time::Duration;
    /// let c = BackoffConfig::default().max(Duration::from_secs(30));
    /// assert_eq!(c.max, Duration::from_secs(30));
    /// ```
    pub fn max(mut self, max: Duration) -> BackoffConfig {
        self.max = max;
        self
    }
}

impl Default for BackoffConfig {
    fn default() -> BackoffConfig {
        BackoffConfig {
            initial: default_backoff_initial(),
            max: default_backoff_max(),
        }
    }
}

fn default_backoff_initial() -> Duration {
    Duration::from_millis(100)
}
fn default_backoff_max() -> Duration {
    Duration::from_secs(30)
}
fn default_connect_timeout() -> Duration {
    Duration::from_secs(10)
}
fn default_write_timeout() -> Duration {
    Duration::from_secs(5)
}
fn default_failback_after() -> Duration {
    Duration::from_secs(300)
}
fn default_max_datagram_size() -> u64 {
    2048
}
fn default_write_buffer_size() -> u64 {
    64 * 1024
}

/// The largest UDP payload over IPv4 (65 535 − 8 bytes of UDP header − 20 of IP header).
pub(super) const MAX_UDP_PAYLOAD: u64 = 65_507;
/// RFC 5426 §3.2: every IPv4 receiver must accept datagrams of this size.
pub(super) const MIN_DATAGRAM: u64 = 480;

/// Configuration of one syslog destination.
///
/// Deserialized from the user's configuration file (unknown keys are errors), or built in code:
///
/// ```
/// use siem_ship::sink::syslog::{Framing, SyslogConfig, Transport};
/// use std::time::Duration;
///
/// let config = SyslogConfig::tcp("collector.example.com")
///     .framing(Framing::Lf)
///     .backup("collector-2.example.com", None)
///     .connect_timeout(Duration::from_secs(3));
/// assert_eq!(config.effective_port(), 514);
/// assert!(config.validate().is_ok());
///
/// let tls = SyslogConfig::tls("siem.example.com").ca_file("/etc/siem/ca.pem");
/// assert_eq!(tls.effective_port(), 6514);
///
/// // LF framing is not allowed on TLS (RFC 5425 requires octet counting):
/// let bad = SyslogConfig::tls("siem.example.com").framing(Framing::Lf);
/// assert_eq!(bad.validate().unwrap_err().key(), "framing");
/// ```
#[derive(Deserialize, Serialize, Debug, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SyslogConfig {
    /// `udp`, `tcp`, `tls` (the default) or `relp`.
    #[serde(default)]
    pub transport: Transport,
    /// The primary collector: host name or IP address (IPv4 or IPv6).
    pub host: String,
    /// Port; when absent 6514 for TLS, 2514 for RELP and 514 otherwise.
    #[serde(default)]
    pub port: Option<u16>,
    /// Backup collectors for TCP and TLS, tried in order when the primary cannot be reached.
    #[serde(default)]
    pub backup: Vec<BackupHost>,
    /// Stream framing; octet counting when absent. Not allowed with UDP, and only octet
    /// counting with TLS.
    #[serde(default)]
    pub framing: Option<Framing>,
    /// UDP only: longer messages are truncated to this many bytes, keeping the syslog header,
    /// whole structured-data parameters and whole UTF-8 characters. 480 to 65 507; 2048 (what
    /// RFC 5426 says every receiver should accept) by default.
    #[serde(
        default = "default_max_datagram_size",
        deserialize_with = "units::byte_size"
    )]
    pub max_datagram_size: u64,
    /// TLS settings; with `transport: tls`, or with `transport: relp` to run RELP in TLS.
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    /// RELP settings; only with `transport: relp`.
    #[serde(default)]
    pub relp: Option<RelpConfig>,
    /// The resend window of plain stream syslog; only with `transport: tcp` or `tls`.
    #[serde(default)]
    pub resend: Option<ResendConfig>,
    /// Time allowed to open a connection (TCP connect plus TLS handshake) to one host.
    #[serde(
        default = "default_connect_timeout",
        deserialize_with = "units::duration",
        serialize_with = "units::serialize_duration"
    )]
    pub connect_timeout: Duration,
    /// Time a write may make no progress before the destination counts as failing (the error
    /// shows in its metrics) and the batch is retried on a new connection (default 5 s).
    #[serde(
        default = "default_write_timeout",
        deserialize_with = "units::duration",
        serialize_with = "units::serialize_duration"
    )]
    pub write_timeout: Duration,
    /// Pacing of reconnection attempts.
    #[serde(default)]
    pub backoff: BackoffConfig,
    /// While connected to a backup, how long to wait before trying the primary again (that try
    /// happens before a batch and may take up to `connect_timeout` if the primary is still down).
    #[serde(
        default = "default_failback_after",
        deserialize_with = "units::duration",
        serialize_with = "units::serialize_duration"
    )]
    pub failback_after: Duration,
    /// Stream transports (RELP too): framed records are written in chunks of up to this size,
    /// one call each (64 KiB by default; 1 KiB to 16 MiB).
    #[serde(
        default = "default_write_buffer_size",
        deserialize_with = "units::byte_size"
    )]
    pub write_buffer_size: u64,
}

impl SyslogConfig {
    /// A destination with every default for `transport` and `host`.
    ///
    /// ```
    /// use siem_ship::sink::syslog::{SyslogConfig, Transport};
    /// let c = SyslogConfig::new(Transport::Udp, "127.0.0.1");
    /// assert_eq!(c.effective_port(), 514);
    /// ```
    pub fn new(transport: Transport, host: impl Into<String>) -> SyslogConfig {
        SyslogConfig {
            transport,
            host: host.into(),
            port: None,
            backup: Vec::new(),
            framing: None,
            max_datagram_size: default_max_datagram_size(),
            tls: None,
            relp: None,
            resend: None,
            connect_timeout: default_connect_timeout(),
            write_timeout: default_write_timeout(),
            backoff: BackoffConfig::default(),
            failback_after: default_failback_after(),
            write_buffer_size: default_write_buffer_size(),
        }
    }

    /// Syslog over UDP (RFC 5426) to `host`, port 514.
    ///
    /// ```
    /// use siem_ship::sink::syslog::{SyslogConfig, Transport};
    /// assert_eq!(SyslogConfig::udp("h").transport, Transport::Udp);
    /// ```
    pub fn udp(host: impl Into<String>) -> SyslogConfig {
        SyslogConfig::new(Transport::Udp, host)
    }

    /// Syslog over plain TCP (RFC 6587) to `host`, port 514, octet-counted.
    ///
    /// ```
    /// use siem_ship::sink::syslog::{Framing, SyslogConfig};
    /// assert_eq!(SyslogConfig::tcp("h").effective_framing(), Framing::OctetCounting);
    /// ```
    pub fn tcp(host: impl Into<String>) -> SyslogConfig {
        SyslogConfig::new(Transport::Tcp, host)
    }

    /// Syslog over TLS (RFC 5425) to `host`, port 6514, verified against the system's roots.
    ///
    /// ```
    /// use siem_ship::sink::syslog::SyslogConfig;
    /// let c = SyslogConfig::tls("h");
    /// assert_eq!(c.effective_port(), 6514);
    /// assert!(!c.tls.unwrap().dangerous_disable_verification);
    /// ```
    pub fn tls(host: impl Into<String>) -> SyslogConfig {
        let mut config = SyslogConfig::new(Transport::Tls, host);
        config.tls = Some(TlsConfig::default());
        config
    }

    /// Syslog over RELP to `host`, port 2514, without TLS; add TLS settings (e.g.
    /// [`ca_file`](SyslogConfig::ca_file)) to run it in TLS.
    ///
    /// ```
    /// use siem_ship::sink::syslog::{RelpConfig, SyslogConfig};
    /// let c = SyslogConfig::relp("h").relp_window(64);
    /// assert_eq!(c.effective_port(), 2514);
    /// assert!(c.tls.is_none());
    /// assert!(c.validate().is_ok());
    /// let in_tls = SyslogConfig::relp("h").ca_file("/etc/siem/ca.pem");
    /// assert!(in_tls.tls.is_some());
    /// ```
    pub fn relp(host: impl Into<String>) -> SyslogConfig {
        SyslogConfig::new(Transport::Relp, host)
    }

    /// Sets how many RELP records may await their acknowledgement at a time.
    ///
    /// ```
    /// use siem_ship::sink::syslog::SyslogConfig;
    /// assert_eq!(SyslogConfig::relp("h").relp_window(8).relp.unwrap().window, 8);
    /// ```
    pub fn relp_window(mut self, window: u32) -> SyslogConfig {
        self.relp = Some(RelpConfig::default().window(window));
        self
    }

    /// Sets the resend window of plain stream syslog.
    ///
    /// ```
    /// use std::time::Duration;
    /// use siem_ship::sink::syslog::{ResendConfig, SyslogConfig};
    /// let c = SyslogConfig::tcp("h").resend(ResendConfig::default().interval(Duration::from_secs(5)));
    /// assert_eq!(c.resend.unwrap().interval, Duration::from_secs(5));
    /// ```
    pub fn resend(mut self, resend: ResendConfig) -> SyslogConfig {
        self.resend = Some(resend);
        self
    }

    /// Sets the primary's port.
    ///
    /// ```
    /// use siem_ship::sink::syslog::SyslogConfig;
    /// assert_eq!(SyslogConfig::tls("h").port(10514).effective_port(), 10514);
    /// ```
    pub fn port(mut self, port: u16) -> SyslogConfig {
        self.port = Some(port);
        self
    }

    /// Adds a backup host (on the primary's port when `port` is `None`).
    ///
    /// ```
    /// use siem_ship::sink::syslog::SyslogConfig;
    /// let c = SyslogConfig::tcp("a").backup("b", None).backup("c", Some(601));
    /// assert_eq!(c.backup.len(), 2);
    /// ```
    pub fn backup(mut self, host: impl Into<String>, port: Option<u16>) -> SyslogConfig {
        let mut backup = BackupHost::new(host);
        backup.port = port;
        self.backup.push(backup);
        self
    }

    /// Sets the stream framing.
    ///
    /// ```
    /// use siem_ship::sink::syslog::{Framing, SyslogConfig};
    /// assert_eq!(SyslogConfig::tcp("h").framing(Framing::Lf).effective_framing(), Framing::Lf);
    /// ```
    pub fn framing(mut self, framing: Framing) -> SyslogConfig {
        self.framing = Some(framing);
        self
    }

    /// Sets the largest UDP datagram.
    ///
    /// ```
    /// use siem_ship::sink::syslog::SyslogConfig;
    /// assert!(SyslogConfig::udp("h").max_datagram_size(8192).validate().is_ok());
    /// assert!(SyslogConfig::udp("h").max_datagram_size(100).validate().is_err());
    /// ```
    pub fn max_datagram_size(mut self, bytes: u64) -> SyslogConfig {
        self.max_datagram_size = bytes;
        self
    }

    fn tls_mut(&mut self) -> &mut TlsConfig {
        self.tls.get_or_insert_with(TlsConfig::default)
    }

    /// Trusts the CA certificates in this PEM file instead of the system's roots.
    ///
    /// ```
    /// use siem_ship::sink::syslog::SyslogConfig;
    /// let c = SyslogConfig::tls("h").ca_file("/etc/siem/ca.pem");
    /// assert!(c.tls.unwrap().ca_file.is_some());
    /// ```
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> SyslogConfig {
        self.tls_mut().ca_file = Some(path.into());
        self
    }

    /// Presents this certificate chain and key (PEM files) to the collector: mutual TLS.
    ///
    /// ```
    /// use siem_ship::sink::syslog::SyslogConfig;
    /// let c = SyslogConfig::tls("h").client_cert("/etc/siem/client.pem", "/etc/siem/client.key");
    /// assert!(c.validate().is_ok());
    /// ```
    pub fn client_cert(
        mut self,
        cert: impl Into<PathBuf>,
        key: impl Into<PathBuf>,
    ) -> SyslogConfig {
        let tls = self.tls_mut();
        tls.client_cert = Some(cert.into());
        tls.client_key = Some(key.into());
        self
    }

    /// Verifies the primary's certificate against this name instead of `host`.
    ///
    /// ```
    /// use siem_ship::sink::syslog::SyslogConfig;
    /// let c = SyslogConfig::tls("10.1.2.3").server_name("siem.example.com");
    /// assert_eq!(c.tls.unwrap().server_name.as_deref(), Some("siem.example.com"));
    /// ```
    pub fn server_name(mut self, name: impl Into<String>) -> SyslogConfig {
        self.tls_mut().server_name = Some(name.into());
        self
    }

    /// Accepts any certificate: anyone on the path can read and change events. Lab use only.
    ///
    /// ```
    /// use siem_ship::sink::syslog::SyslogConfig;
    /// let c = SyslogConfig::tls("lab").dangerous_disable_verification();
    /// assert!(c.tls.unwrap().dangerous_disable_verification);
    /// ```
    pub fn dangerous_disable_verification(mut self) -> SyslogConfig {
        self.tls_mut().dangerous_disable_verification = true;
        self
    }

    /// Sets the connect (and TLS handshake) timeout.
    ///
    /// ```
    /// use siem_ship::sink::syslog::SyslogConfig;
    /// use std::time::Duration;
    /// let c = SyslogConfig::tcp("h").connect_timeout(Duration::from_secs(2));
    /// assert_eq!(c.connect_timeout, Duration::from_secs(2));
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> SyslogConfig {
        self.connect_timeout = timeout;
        self
    }

    /// Sets the write timeout.
    ///
    /// ```
    /// use siem_ship::sink::syslog::SyslogConfig;
    /// use std::time::Duration;
    /// let c = SyslogConfig::tcp("h").write_timeout(Duration::from_secs(5));
    /// assert_eq!(c.write_timeout, Duration::from_secs(5));
    /// ```
    pub fn write_timeout(mut self, timeout: Duration) -> SyslogConfig {
        self.write_timeout = timeout;
        self
    }

    /// Sets the reconnection backoff.
    ///
    /// ```
    /// use siem_ship::sink::syslog::SyslogConfig;
    /// use std::time::Duration;
    /// let c = SyslogConfig::tcp("h").backoff(Duration::from_millis(50), Duration::from_secs(5));
    /// assert_eq!(c.backoff.max, Duration::from_secs(5));
    /// ```
    pub fn backoff(mut self, initial: Duration, max: Duration) -> SyslogConfig {
        self.backoff = BackoffConfig { initial, max };
        self
    }

    /// Sets how long to stay on a backup before trying the primary again.
    ///
    /// ```
    /// use siem_ship::sink::syslog::SyslogConfig;
    /// use std::time::Duration;
    /// let c = SyslogConfig::tcp("h").failback_after(Duration::from_secs(60));
    /// assert_eq!(c.failback_after, Duration::from_secs(60));
    /// ```
    pub fn failback_after(mut self, after: Duration) -> SyslogConfig {
        self.failback_after = after;
        self
    }

    /// Sets the size of the coalesced writes on stream transports.
    ///
    /// ```
    /// use siem_ship::sink::syslog::SyslogConfig;
    /// assert!(SyslogConfig::tcp("h").write_buffer_size(16 * 1024).validate().is_ok());
    /// ```
    pub fn write_buffer_size(mut self, bytes: u64) -> SyslogConfig {
        self.write_buffer_size = bytes;
        self
    }

    /// The primary's port, with the transport's default applied.
    ///
    /// ```
    /// use siem_ship::sink::syslog::SyslogConfig;
    /// assert_eq!(SyslogConfig::udp("h").effective_port(), 514);
    /// ```
    pub fn effective_port(&self) -> u16 {
        self.port.unwrap_or(self.transport.default_port())
    }

    /// The stream framing, with the default applied.
    ///
    /// ```
    /// use siem_ship::sink::syslog::{Framing, SyslogConfig};
    /// assert_eq!(SyslogConfig::tls("h").effective_framing(), Framing::OctetCounting);
    /// ```
    pub fn effective_framing(&self) -> Framing {
        self.framing.unwrap_or_default()
    }
}
