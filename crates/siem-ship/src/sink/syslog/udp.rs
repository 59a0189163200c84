//! Syslog over UDP (RFC 5426): one message per datagram, truncated to fit, sent in groups of
//! up to 64 per `sendmmsg` call on Linux (one `send` each elsewhere).
//!
//! UDP has no acknowledgement and no connection: a datagram the collector does not receive is
//! lost without a trace. The one failure it can see is on the same host or a network that
//! returns ICMP "port unreachable": the socket is connected, so the kernel reports that as
//! `ConnectionRefused` on a later send. That send is tried once more (the error belonged to an
//! earlier datagram); a second refusal fails the rest of the batch with a retryable error.

use std::io;
use std::net::{SocketAddr, UdpSocket};

use super::config::SyslogConfig;
use super::socket::resolve;
use super::truncate::truncate;
use crate::{Batch, SinkError};

/// Datagrams per `sendmmsg` call.
const GROUP: usize = 64;

/// Resolves `host` within `timeout` and connects a new socket to its first address: the kernel
/// checks the route once, and later reports "port unreachable" on this socket. No datagram is
/// sent.
pub(super) fn connect(
    host: &str,
    port: u16,
    timeout: std::time::Duration,
) -> Result<(UdpSocket, SocketAddr), String> {
    let addr = resolve(host, port, timeout)?[0];
    let local: SocketAddr = if addr.is_ipv4() {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = UdpSocket::bind(local).map_err(|e| format!("cannot open a socket: {e}"))?;
    socket
        .connect(addr)
        .map_err(|e| format!("cannot reach {addr}: {e}"))?;
    Ok((socket, addr))
}

pub(super) struct UdpSender {
    host: String,
    port: u16,
    /// How long a name lookup may take (the connect timeout).
    resolve_timeout: std::time::Duration,
    max: usize,
    socket: Option<(UdpSocket, SocketAddr)>,
    /// Truncated copies of the oversized records of the current group.
    truncated: Vec<u8>,
    one: Vec<u8>,
}

impl UdpSender {
    pub(super) fn new(config: &SyslogConfig) -> UdpSender {
        UdpSender {
            host: config.host.clone(),
            port: config.effective_port(),
            resolve_timeout: config.connect_timeout,
            max: config.max_datagram_size as usize,
            socket: None,
            truncated: Vec::new(),
            one: Vec::new(),
        }
    }

    pub(super) fn peer(&self) -> Option<SocketAddr> {
        self.socket.as_ref().map(|(_, addr)| *addr)
    }

    fn open(&mut self) -> Result<(), SinkError> {
        let connected = connect(&self.host, self.port, self.resolve_timeout).map_err(|why| {
            SinkError::retryable(format!("syslog-udp: {}:{}: {why}", self.host, self.port))
        })?;
        self.socket = Some(connected);
        Ok(())
    }

    pub(super) fn send(&mut self, batch: &Batch) -> Result<(), SinkError> {
        if batch.is_empty() {
            return Ok(());
        }
        if self.socket.is_none() {
            self.open()?;
        }
        let mut next = 0;
        while next < batch.len() {
            let end = (next + GROUP).min(batch.len());
            if let Err(e) = self.send_group(batch, next, end) {
                // Start afresh next time: the name is resolved again (the collector may have
                // moved) and a new socket forgets any stale error.
                self.socket = None;
                return Err(e);
            }
            next = end;
        }
        Ok(())
    }

    /// Sends records `start..end`; on failure, the error lists every record from the first one
    /// not sent to the end of the batch.
    fn send_group(&mut self, batch: &Batch, start: usize, end: usize) -> Result<(), SinkError> {
        // First copy the truncated forms, then borrow: `truncated` must not move while
        // `datagrams` points into it.
        self.truncated.clear();
        let mut cuts = [(0usize, 0usize); GROUP];
        for (slot, i) in (start..end).enumerate() {
            let record = batch.record(i).unwrap_or_default();
            if record.len() > self.max {
                truncate(record, self.max, &mut self.one);
                let from = self.truncated.len();
                self.truncated.extend_from_slice(&self.one);
                cuts[slot] = (from, self.truncated.len());
            }
        }
        let mut datagrams: [&[u8]; GROUP] = [&[]; GROUP];
        let mut indices = [0usize; GROUP];
        let mut count = 0;
        for (slot, i) in (start..end).enumerate() {
            let record = batch.record(i).unwrap_or_default();
            // An empty record carries no event; an empty datagram would only confuse receivers.
            if record.is_empty() {
                continue;
            }
            datagrams[count] = if record.len() > self.max {
                &self.truncated[cuts[slot].0..cuts[slot].1]
            } else {
                record
            };
            indices[count] = i;
            count += 1;
        }
        let (socket, addr) = self.socket.as_ref().expect("opened in send");
        let mut sent = 0;
        let mut refused_once = false;
        while sent < count {
            match send_many(socket, &datagrams[sent..count]) {
                Ok(0) => {
                    return Err(failed_from(
                        batch,
                        indices[sent],
                        "the socket sent nothing",
                        addr,
                    ))
                }
                Ok(n) => sent += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused && !refused_once => {
                    refused_once = true;
                }
                Err(e) => return Err(failed_from(batch, indices[sent], &e.to_string(), addr)),
            }
        }
        Ok(())
    }
}

fn failed_from(batch: &Batch, first: usize, why: &str, addr: &SocketAddr) -> SinkError {
    SinkError::retryable(format!("syslog-udp: sending to {addr} failed: {why}"))
        .with_failed_records((first..batch.len()).collect())
}

/// Sends the datagrams in order with as few system calls as the platform allows; returns how
/// many were sent.
#[cfg(target_os = "linux")]
fn send_many(socket: &UdpSocket, datagrams: &[&[u8]]) -> io::Result<usize> {
    use std::os::fd::AsRawFd;
    debug_assert!(datagrams.len() <= GROUP);
    // SAFETY: all-zero is a valid value for these plain C structs (null pointers, zero lengths).
    let mut iovecs: [libc::iovec; GROUP] = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let mut headers: [libc::mmsghdr; GROUP] = unsafe { std::mem::zeroed() };
    for (i, datagram) in datagrams.iter().enumerate() {
        iovecs[i].iov_base = datagram.as_ptr() as *mut libc::c_void;
        iovecs[i].iov_len = datagram.len();
        headers[i].msg_hdr.msg_iov = &mut iovecs[i];
        headers[i].msg_hdr.msg_iovlen = 1;
    }
    // SAFETY: `headers[..len]` point at `iovecs`, which point at the borrowed datagrams; all
    // outlive the call, and the kernel only reads them. The socket is connected, so no
    // destination address is needed.
    let sent = unsafe {
        libc::sendmmsg(
            socket.as_raw_fd(),
            headers.as_mut_ptr(),
            datagrams.len() as libc::c_uint,
            0,
        )
    };
    if sent < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(sent as usize)
    }
}

#[cfg(not(target_os = "linux"))]
fn send_many(socket: &UdpSocket, datagrams: &[&[u8]]) -> io::Result<usize> {
    let mut sent = 0;
    for datagram in datagrams {
        match socket.send(datagram) {
            Ok(_) => sent += 1,
            Err(e) if sent == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(sent)
}
