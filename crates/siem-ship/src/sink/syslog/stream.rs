//! Syslog over a stream, TCP (RFC 6587) or TLS (RFC 5425): a lazy connection, failover to
//! backup hosts and back to the primary, detection of a collector that has gone, and resending
//! the batch that a broken connection interrupted.
//!
//! The guarantees this gives, and the window that remains, are in the parent module's docs.

use std::io;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

#[cfg(feature = "tls")]
use std::sync::Arc;

use super::backoff::Backoff;
use super::config::{Framing, SyslogConfig};
use super::framing::write_framed;
use super::socket::{read_some, resolve};
#[cfg(feature = "tls")]
use super::tls::{self, TlsLink};
use crate::ConfigError;
use crate::{Batch, SinkError};

/// One collector address, as configured.
pub(super) struct Endpoint {
    host: String,
    port: u16,
    /// The name its TLS certificate must carry (TLS only).
    #[cfg(feature = "tls")]
    server_name: Option<rustls::pki_types::ServerName<'static>>,
}

/// The TLS settings shared by every endpoint.
#[cfg(feature = "tls")]
pub(super) type TlsSettings = Option<Arc<rustls::ClientConfig>>;
#[cfg(not(feature = "tls"))]
pub(super) type TlsSettings = Option<std::convert::Infallible>;

enum Link {
    Plain(TcpStream),
    #[cfg(feature = "tls")]
    Tls(Box<TlsLink>),
}

impl Link {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Link::Plain(sock) => io::Write::write_all(sock, bytes),
            #[cfg(feature = "tls")]
            Link::Tls(tls) => tls.write_all(bytes),
        }
    }

    /// Reads what the collector sent (nothing is expected: a collector only listens) until
    /// `until`, or without waiting when `None`, and says why the connection can no longer carry
    /// messages, if it cannot (end of stream, reset, TLS alert or `close_notify`).
    fn watch(&mut self, until: Option<Instant>) -> Result<(), String> {
        match self {
            Link::Plain(sock) => plain_watch(sock, until),
            #[cfg(feature = "tls")]
            Link::Tls(tls) => tls.watch(until),
        }
    }

    fn close(self) {
        match self {
            Link::Plain(sock) => {
                let _ = sock.shutdown(Shutdown::Write);
            }
            #[cfg(feature = "tls")]
            Link::Tls(tls) => tls.close(),
        }
    }
}

fn plain_watch(sock: &mut TcpStream, until: Option<Instant>) -> Result<(), String> {
    let mut scratch = [0u8; 512];
    loop {
        match read_some(sock, &mut scratch, until) {
            Ok(None) => return Ok(()),
            Ok(Some(0)) => return Err("the collector closed the connection".to_string()),
            // A syslog collector has nothing to say; discard anything it sends.
            Ok(Some(_)) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// Shortest and longest wait, after connecting, for a collector to refuse the connection.
const MIN_SETTLE: Duration = Duration::from_millis(25);
const MAX_SETTLE: Duration = Duration::from_secs(1);

struct Connection {
    link: Link,
    endpoint: usize,
    peer: SocketAddr,
    since: Instant,
}

pub(super) struct StreamSender {
    kind: &'static str,
    endpoints: Vec<Endpoint>,
    framing: Framing,
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    tls: TlsSettings,
    connect_timeout: Duration,
    write_timeout: Duration,
    failback_after: Duration,
    backoff: Backoff,
    buffer: Vec<u8>,
    buffer_limit: usize,
    current: Option<Connection>,
    last_error: Option<String>,
    /// Whether a client certificate is presented (for the hint when a collector says no).
    client_cert: bool,
}

/// The collectors to try, in order (primary first), each with the name its TLS certificate
/// must carry when `tls` is on: an error names the key of a name that cannot be verified.
pub(super) fn endpoints(config: &SyslogConfig, tls: bool) -> Result<Vec<Endpoint>, ConfigError> {
    let port = config.effective_port();
    let mut endpoints = vec![Endpoint {
        host: config.host.clone(),
        port,
        #[cfg(feature = "tls")]
        server_name: None,
    }];
    for backup in &config.backup {
        endpoints.push(Endpoint {
            host: backup.host.clone(),
            port: backup.port.unwrap_or(port),
            #[cfg(feature = "tls")]
            server_name: None,
        });
    }
    #[cfg(feature = "tls")]
    if tls {
        let primary_name = config.tls.as_ref().and_then(|t| t.server_name.as_deref());
        let (key, name) = match primary_name {
            Some(name) => ("tls.server_name", name),
            None => ("host", config.host.as_str()),
        };
        endpoints[0].server_name = Some(tls::server_name(key, name)?);
        for (i, backup) in config.backup.iter().enumerate() {
            let (key, name) = match &backup.server_name {
                Some(name) => (format!("backup[{i}].server_name"), name),
                None => (format!("backup[{i}].host"), &backup.host),
            };
            endpoints[i + 1].server_name = Some(tls::server_name(&key, name)?);
        }
    }
    #[cfg(not(feature = "tls"))]
    let _ = tls;
    Ok(endpoints)
}

impl StreamSender {
    pub(super) fn new(
        config: &SyslogConfig,
        kind: &'static str,
        tls: TlsSettings,
    ) -> Result<StreamSender, ConfigError> {
        let endpoints = endpoints(config, tls.is_some())?;
        let buffer_limit = config.write_buffer_size as usize;
        Ok(StreamSender {
            kind,
            endpoints,
            framing: config.effective_framing(),
            tls,
            connect_timeout: config.connect_timeout,
            write_timeout: config.write_timeout,
            failback_after: config.failback_after,
            backoff: Backoff::new(&config.backoff),
            buffer: Vec::with_capacity(buffer_limit),
            buffer_limit,
            current: None,
            last_error: None,
            client_cert: config.tls.as_ref().is_some_and(|t| t.client_cert.is_some()),
        })
    }

    /// The collector currently connected, if any.
    pub(super) fn peer(&self) -> Option<SocketAddr> {
        self.current.as_ref().map(|c| c.peer)
    }

    pub(super) fn send(&mut self, batch: &Batch) -> Result<(), SinkError> {
        if batch.is_empty() {
            return Ok(());
        }
        self.fail_back_when_due();
        if let Some(conn) = &mut self.current {
            if let Err(why) = conn.link.watch(None) {
                let peer = conn.peer;
                self.current = None;
                self.last_error = Some(format!("{peer}: {why}"));
            }
        }
        let mut resending = false;
        loop {
            if self.current.is_none() {
                self.connect()?;
            }
            let StreamSender {
                current,
                buffer,
                framing,
                buffer_limit,
                ..
            } = self;
            let conn = current.as_mut().expect("connected above");
            // Records are framed into one buffer and written in large contiguous chunks: the
            // kernel (and rustls) copy one long slice much faster than a vectored write of
            // headers and records (BENCHMARKS.md, G8 and G11).
            let written = write_framed(*framing, batch.records(), *buffer_limit, buffer, |chunk| {
                conn.link.write_all(chunk)
            });
            let Err(e) = written else {
                return Ok(());
            };
            let stalled = matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            );
            let why = if stalled {
                format!(
                    "writing to {} made no progress for {:?} (write_timeout)",
                    conn.peer, self.write_timeout
                )
            } else {
                format!("writing to {} failed: {e}", conn.peer)
            };
            self.current = None;
            self.last_error = Some(why.clone());
            // A stalled collector is a failure to report now (within write_timeout), not a
            // broken connection to replace at once: the retry resends the batch after backoff.
            if resending || stalled {
                return Err(SinkError::retryable(format!(
                    "{}: {why}, on a new connection too; the batch was not delivered",
                    self.kind
                )));
            }
            // The connection broke under this batch: open a new one at once and send the whole
            // batch again, so nothing handed over after the failure is lost.
            resending = true;
        }
    }

    /// Tries every endpoint in order, unless the backoff says it is too early.
    fn connect(&mut self) -> Result<(), SinkError> {
        if let Err(wait) = self.backoff.check(Instant::now()) {
            return Err(SinkError::retryable(format!(
                "{}: not connected ({}); next connection attempt in {wait:?}",
                self.kind,
                self.last_error.as_deref().unwrap_or("no attempt yet"),
            )));
        }
        let mut errors = Vec::new();
        for index in 0..self.endpoints.len() {
            match self.open(index) {
                Ok(conn) => {
                    self.current = Some(conn);
                    self.backoff.succeeded();
                    return Ok(());
                }
                Err(why) => {
                    let e = &self.endpoints[index];
                    errors.push(format!("{}:{}: {why}", e.host, e.port));
                }
            }
        }
        let wait = self.backoff.failed(Instant::now());
        let why = errors.join("; ");
        self.last_error = Some(why.clone());
        Err(SinkError::retryable(format!(
            "{}: cannot connect to {why}; next attempt in {wait:?}",
            self.kind
        )))
    }

    /// Connects once, trying every endpoint in order like a first batch would (TLS handshake
    /// included), closes the connection again, and says which collector answered; or why none
    /// did. Nothing is written.
    pub(super) fn probe(&self) -> Result<String, String> {
        let mut errors = Vec::new();
        for index in 0..self.endpoints.len() {
            let e = &self.endpoints[index];
            match self.open(index) {
                Ok(conn) => {
                    let peer = conn.peer;
                    conn.link.close();
                    let role = if index == 0 { "" } else { " (a backup)" };
                    return Ok(format!(
                        "{} {}:{} reachable at {peer}{role}",
                        self.kind, e.host, e.port
                    ));
                }
                Err(why) => errors.push(format!("{}:{}: {why}", e.host, e.port)),
            }
        }
        Err(format!(
            "{}: cannot connect to {}",
            self.kind,
            errors.join("; ")
        ))
    }

    fn open(&self, index: usize) -> Result<Connection, String> {
        let endpoint = &self.endpoints[index];
        let addrs = resolve(&endpoint.host, endpoint.port, self.connect_timeout)?;
        // Errors name the address tried when the host is a name (the caller names the host).
        let label = |addr: &SocketAddr| {
            if addr.ip().to_string() == endpoint.host {
                String::new()
            } else {
                format!("{addr}: ")
            }
        };
        let mut last = "the host name resolves to no address".to_string();
        for addr in addrs {
            let started = Instant::now();
            match TcpStream::connect_timeout(&addr, self.connect_timeout) {
                Ok(sock) => {
                    let mut link = self
                        .set_up(index, sock)
                        .map_err(|e| format!("{}{e}", label(&addr)))?;
                    // A collector that refuses a sender (a client certificate it does not
                    // accept, an address it does not allow) closes the connection only after
                    // accepting it; whatever was written by then is lost without a trace.
                    // So give it about one more round trip to say no before writing.
                    let settle = started
                        .elapsed()
                        .clamp(MIN_SETTLE, MAX_SETTLE)
                        .min(self.connect_timeout);
                    link.watch(Some(Instant::now() + settle)).map_err(|why| {
                        format!(
                            "{}{why}, just after accepting it ({})",
                            label(&addr),
                            self.refusal_hint()
                        )
                    })?;
                    return Ok(Connection {
                        link,
                        endpoint: index,
                        peer: addr,
                        since: Instant::now(),
                    });
                }
                Err(e) => last = format!("{}{e}", label(&addr)),
            }
        }
        Err(last)
    }

    fn refusal_hint(&self) -> &'static str {
        match (self.tls.is_some(), self.client_cert) {
            (true, false) => "does it require a client certificate (tls.client_cert)? its log says",
            (true, true) => "does it accept tls.client_cert? its log says",
            (false, _) => "is this host allowed to send to it? its log says",
        }
    }

    #[cfg_attr(not(feature = "tls"), allow(unused_variables))]
    fn set_up(&self, index: usize, sock: TcpStream) -> Result<Link, String> {
        let io = |e: io::Error| e.to_string();
        // Writes are already coalesced; Nagle's delay would only hold back a batch's tail.
        sock.set_nodelay(true).map_err(io)?;
        sock.set_write_timeout(Some(self.write_timeout))
            .map_err(io)?;
        #[cfg(feature = "tls")]
        if let Some(config) = &self.tls {
            let name = self.endpoints[index]
                .server_name
                .as_ref()
                .expect("TLS endpoints have a server name");
            let link = TlsLink::handshake(config, name, sock, self.connect_timeout)?;
            link.socket()
                .set_write_timeout(Some(self.write_timeout))
                .map_err(io)?;
            return Ok(Link::Tls(Box::new(link)));
        }
        Ok(Link::Plain(sock))
    }

    /// On a backup for long enough: try the primary, and move back to it if it answers.
    fn fail_back_when_due(&mut self) {
        let Some(conn) = &mut self.current else {
            return;
        };
        if conn.endpoint == 0 || conn.since.elapsed() < self.failback_after {
            return;
        }
        // Whatever happens, wait another `failback_after` before the next try.
        conn.since = Instant::now();
        if let Ok(primary) = self.open(0) {
            if let Some(old) = self.current.replace(primary) {
                old.link.close();
            }
        }
    }

    /// Closes the connection cleanly (TLS `close_notify`, then TCP FIN).
    pub(super) fn close(&mut self) {
        if let Some(conn) = self.current.take() {
            conn.link.close();
        }
    }
}
