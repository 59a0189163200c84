//! A connection to a collector over TCP or TLS, shared by the stream transports (plain syslog
//! and RELP): a lazy connection, failover to backup hosts in order and back to the primary,
//! reconnection paced by backoff, and detection of a collector that has gone.

use std::io;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

#[cfg(feature = "tls")]
use std::sync::Arc;

use super::backoff::Backoff;
use super::config::SyslogConfig;
use super::socket::{read_some, resolve};
#[cfg(feature = "tls")]
use super::tls::{self, TlsLink};
use crate::ConfigError;
use crate::SinkError;

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

/// A byte stream to a collector, plain or TLS.
pub(super) enum Link {
    Plain(TcpStream),
    #[cfg(feature = "tls")]
    Tls(Box<TlsLink>),
}

impl Link {
    pub(super) fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Link::Plain(sock) => io::Write::write_all(sock, bytes),
            #[cfg(feature = "tls")]
            Link::Tls(tls) => tls.write_all(bytes),
        }
    }

    /// Reads what the collector sent into `buf`, waiting until `until` at the latest, or not at
    /// all when `None`. `Ok(None)`: nothing arrived in time; `Ok(Some(0))`: end of stream (for
    /// TLS: `close_notify` too).
    pub(super) fn read(
        &mut self,
        buf: &mut [u8],
        until: Option<Instant>,
    ) -> io::Result<Option<usize>> {
        match self {
            Link::Plain(sock) => read_some(sock, buf, until),
            #[cfg(feature = "tls")]
            Link::Tls(tls) => tls.read(buf, until),
        }
    }

    /// Reads and discards what the collector sent (a syslog collector has nothing to say)
    /// until `until`, or without waiting when `None`, and says why the connection can no
    /// longer carry messages, if it cannot (end of stream, reset, TLS alert or `close_notify`).
    pub(super) fn watch(&mut self, until: Option<Instant>) -> Result<(), String> {
        let mut scratch = [0u8; 512];
        loop {
            match self.read(&mut scratch, until) {
                Ok(None) => return Ok(()),
                Ok(Some(0)) => return Err("the collector closed the connection".to_string()),
                Ok(Some(_)) => {}
                Err(e) => return Err(e.to_string()),
            }
        }
    }

    /// Ends the stream in this direction (TLS `close_notify`, then TCP FIN); the socket stays
    /// open for reading until the link is dropped.
    pub(super) fn finish(&mut self) {
        match self {
            Link::Plain(sock) => {
                let _ = sock.shutdown(Shutdown::Write);
            }
            #[cfg(feature = "tls")]
            Link::Tls(tls) => tls.finish(),
        }
    }
}

/// Shortest and longest wait, after connecting, for a collector to refuse the connection.
const MIN_SETTLE: Duration = Duration::from_millis(25);
const MAX_SETTLE: Duration = Duration::from_secs(1);

/// An open connection and where it leads.
pub(super) struct Connection {
    pub(super) link: Link,
    endpoint: usize,
    pub(super) peer: SocketAddr,
    since: Instant,
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

/// Opens connections to the configured collectors and keeps the current one.
pub(super) struct Connector {
    pub(super) kind: &'static str,
    endpoints: Vec<Endpoint>,
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    tls: TlsSettings,
    connect_timeout: Duration,
    pub(super) write_timeout: Duration,
    failback_after: Duration,
    backoff: Backoff,
    pub(super) current: Option<Connection>,
    last_error: Option<String>,
    /// Whether a client certificate is presented (for the hint when a collector says no).
    client_cert: bool,
}

impl Connector {
    pub(super) fn new(
        config: &SyslogConfig,
        kind: &'static str,
        tls: TlsSettings,
    ) -> Result<Connector, ConfigError> {
        Ok(Connector {
            kind,
            endpoints: endpoints(config, tls.is_some())?,
            tls,
            connect_timeout: config.connect_timeout,
            write_timeout: config.write_timeout,
            failback_after: config.failback_after,
            backoff: Backoff::new(&config.backoff),
            current: None,
            last_error: None,
            client_cert: config.tls.as_ref().is_some_and(|t| t.client_cert.is_some()),
        })
    }

    /// The collector currently connected, if any.
    pub(super) fn peer(&self) -> Option<SocketAddr> {
        self.current.as_ref().map(|c| c.peer)
    }

    /// Forgets the current connection, which failed for `why`.
    pub(super) fn broken(&mut self, why: String) {
        self.current = None;
        self.last_error = Some(why);
    }

    /// Checks the current connection without blocking; forgets it (with the reason) when the
    /// collector has gone. Returns whether a connection remains.
    pub(super) fn check(&mut self) -> bool {
        let Some(conn) = &mut self.current else {
            return false;
        };
        match conn.link.watch(None) {
            Ok(()) => true,
            Err(why) => {
                let why = format!("{}: {why}", conn.peer);
                self.broken(why);
                false
            }
        }
    }

    /// The current connection, opened first when there is none: every endpoint in order,
    /// unless the backoff says it is too early.
    pub(super) fn connection(&mut self) -> Result<&mut Connection, SinkError> {
        if self.current.is_none() {
            self.connect()?;
        }
        Ok(self.current.as_mut().expect("connected above"))
    }

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
    /// included), lets `greet` run on the connection (RELP opens its session there), closes
    /// the connection again, and says which collector answered; or why none did.
    pub(super) fn probe(
        &self,
        mut greet: impl FnMut(&mut Connection) -> Result<(), String>,
    ) -> Result<String, String> {
        let mut errors = Vec::new();
        for index in 0..self.endpoints.len() {
            let e = &self.endpoints[index];
            match self.open(index).and_then(|mut conn| {
                greet(&mut conn)?;
                Ok(conn)
            }) {
                Ok(mut conn) => {
                    let peer = conn.peer;
                    conn.link.finish();
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

    /// On a backup for long enough: opens a connection to the primary, when it answers, for
    /// the caller to move to; `None` otherwise.
    pub(super) fn primary_when_due(&mut self) -> Option<Connection> {
        let conn = self.current.as_mut()?;
        if conn.endpoint == 0 || conn.since.elapsed() < self.failback_after {
            return None;
        }
        // Whatever happens, wait another `failback_after` before the next try.
        conn.since = Instant::now();
        self.open(0).ok()
    }
}
