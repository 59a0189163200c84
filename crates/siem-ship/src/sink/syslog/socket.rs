//! Writes to a TCP socket that report a dead peer as an error instead of raising SIGPIPE.
//!
//! On Unix, writing to a connection the collector has reset raises SIGPIPE, which kills the
//! process unless the signal is ignored. Rust programs ignore it by default, but a library
//! cannot count on that (a command-line tool that restores the default, a C host program).
//! `send`/`sendmsg` with `MSG_NOSIGNAL` return `EPIPE` instead. The standard library's
//! `TcpStream::write` already uses `send(MSG_NOSIGNAL)`; its `write_vectored` uses `writev`,
//! which does not, so vectored writes go through `sendmsg` here.

use std::io::{self, Read};
#[cfg(feature = "tls")]
use std::io::{IoSlice, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// Resolves `host` within `timeout`. The system resolver may block far longer than any timeout
/// of ours (an unreachable name server), which would hold the destination's thread past the
/// shutdown deadline; so a name is looked up on a thread of its own, left to finish alone when
/// it takes too long. Addresses are used as they are.
pub(super) fn resolve(host: &str, port: u16, timeout: Duration) -> Result<Vec<SocketAddr>, String> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let (tx, rx) = crossbeam_channel::bounded(1);
    let name = host.to_owned();
    std::thread::Builder::new()
        .name("siem-resolve".to_owned())
        .spawn(move || {
            crate::mark_pipeline_thread();
            let found = (name.as_str(), port)
                .to_socket_addrs()
                .map(Iterator::collect::<Vec<_>>);
            let _ = tx.send(found);
        })
        .map_err(|e| format!("cannot start a name lookup: {e}"))?;
    match rx.recv_timeout(timeout) {
        Ok(Ok(addrs)) if addrs.is_empty() => Err("the host name resolves to no address".to_owned()),
        Ok(Ok(addrs)) => Ok(addrs),
        Ok(Err(e)) => Err(format!("cannot resolve the host name: {e}")),
        Err(_) => Err(format!(
            "the host name did not resolve within {timeout:?} (connect_timeout)"
        )),
    }
}

/// A [`Write`] over a borrowed socket whose writes never raise SIGPIPE (rustls writes its
/// records through it, vectored).
#[cfg(feature = "tls")]
pub(super) struct NoSigPipe<'a>(pub(super) &'a TcpStream);

#[cfg(feature = "tls")]
impl Write for NoSigPipe<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // `send(…, MSG_NOSIGNAL)` in the standard library.
        (&mut &*self.0).write(buf)
    }

    fn write_vectored(&mut self, slices: &[IoSlice<'_>]) -> io::Result<usize> {
        send_vectored(self.0, slices)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(feature = "tls")]
impl Read for NoSigPipe<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&mut &*self.0).read(buf)
    }
}

/// Reads what the collector has sent: without waiting when `until` is `None`, else waiting
/// until then at the latest. `Ok(None)`: nothing (more) arrived; `Ok(Some(0))`: end of stream.
pub(super) fn read_some(
    socket: &TcpStream,
    buf: &mut [u8],
    until: Option<Instant>,
) -> io::Result<Option<usize>> {
    loop {
        let read = match until {
            None => {
                socket.set_nonblocking(true)?;
                let read = (&mut &*socket).read(buf);
                socket.set_nonblocking(false)?;
                read
            }
            Some(until) => {
                let left = until.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Ok(None);
                }
                socket.set_read_timeout(Some(left))?;
                let read = (&mut &*socket).read(buf);
                socket.set_read_timeout(None)?;
                read
            }
        };
        return match read {
            Ok(n) => Ok(Some(n)),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Ok(None)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => Err(e),
        };
    }
}

#[cfg(all(feature = "tls", any(target_os = "linux", target_os = "android")))]
fn send_vectored(socket: &TcpStream, slices: &[IoSlice<'_>]) -> io::Result<usize> {
    use std::os::fd::AsRawFd;
    // Linux takes at most 1024 slices per call; the caller writes the rest next time.
    let count = slices.len().min(1024);
    // SAFETY: all-zero is a valid msghdr (no address, no control data).
    let mut message: libc::msghdr = unsafe { std::mem::zeroed() };
    // `IoSlice` is guaranteed to be ABI-compatible with `iovec` on Unix; the kernel only reads.
    message.msg_iov = slices.as_ptr() as *mut libc::iovec;
    message.msg_iovlen = count as _;
    // SAFETY: `message` points at `count` valid slices that outlive the call.
    let sent = unsafe { libc::sendmsg(socket.as_raw_fd(), &message, libc::MSG_NOSIGNAL) };
    if sent < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(sent as usize)
    }
}

#[cfg(all(feature = "tls", not(any(target_os = "linux", target_os = "android"))))]
fn send_vectored(socket: &TcpStream, slices: &[IoSlice<'_>]) -> io::Result<usize> {
    // Elsewhere the standard library sets SO_NOSIGPIPE (Apple) or there is no SIGPIPE (Windows).
    (&mut &*socket).write_vectored(slices)
}

#[cfg(all(test, feature = "tls"))]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn a_reset_peer_is_an_error_not_a_signal() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let sender = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (peer, _) = listener.accept().unwrap();
        drop(peer);
        let chunk = vec![b'x'; 64 * 1024];
        let slices = [IoSlice::new(&chunk), IoSlice::new(&chunk)];
        // With SIGPIPE's default action a `writev` here would kill the test process.
        #[cfg(unix)]
        // SAFETY: changes this process's SIGPIPE disposition; restored below.
        let previous = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
        // The first writes may still succeed; within a few the peer's RST turns them into errors.
        let err = (0..100).find_map(|_| NoSigPipe(&sender).write_vectored(&slices).err());
        #[cfg(unix)]
        // SAFETY: puts back the disposition found above.
        unsafe {
            libc::signal(libc::SIGPIPE, previous)
        };
        let err = err.expect("writes to a closed peer fail");
        assert!(
            matches!(
                err.kind(),
                io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
            ),
            "{err}"
        );
    }

    #[test]
    fn vectored_writes_arrive_in_order() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let sender = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut peer, _) = listener.accept().unwrap();
        let slices = [
            IoSlice::new(b"one "),
            IoSlice::new(b"two "),
            IoSlice::new(b"three"),
        ];
        assert_eq!(NoSigPipe(&sender).write_vectored(&slices).unwrap(), 13);
        drop(sender);
        let mut received = String::new();
        peer.read_to_string(&mut received).unwrap();
        assert_eq!(received, "one two three");
    }
}
