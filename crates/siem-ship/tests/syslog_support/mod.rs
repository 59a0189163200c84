//! A real rsyslog for the syslog sink's tests: started in the foreground on a free loopback
//! port with its own configuration and work directory, writing every message it receives to
//! two files: the raw bytes (as a JSON string per line, so messages containing LF stay
//! distinguishable) and the structured data as rsyslog's `mmpstrucdata` parsed it.
//!
//! When `rsyslogd` is not installed (or `SIEM_RSYSLOGD` names a file that does not exist) the
//! tests skip, and the test binary says so in a `SKIPPED (rsyslogd not found)` line after its
//! results (see the `skips` module), unless `SIEM_REQUIRE_PEERS=1`, where a missing server fails
//! them.

#![allow(dead_code)]

#[path = "../skips/mod.rs"]
pub mod skips;

use std::fs;
use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// What rsyslog listens for.
pub enum Input {
    Udp,
    Tcp,
    /// Plain TCP (`imtcp`) into a ruleset that runs in the input's thread (a direct queue): a
    /// message is in the output file before rsyslog reads the next, so stopping or killing it
    /// loses only what it had not read.
    TcpDirect,
    /// For throughput runs: `imptcp` (rsyslog's faster plain-TCP input) and a single output
    /// file with one raw message per line and no JSON work (`plain.log`).
    TcpThroughput,
    /// RELP (`imrelp`), in TLS with these files (CA, certificate, key) when given; `imrelp`
    /// then wants a client certificate signed by that CA (`tls.authMode="certvalid"`). Its ruleset
    /// runs in the input's thread (a direct queue), so a message is in the output file before
    /// its acknowledgement goes out: killing rsyslog then loses nothing it acknowledged.
    Relp {
        tls: Option<(PathBuf, PathBuf, PathBuf)>,
    },
    /// TLS with the test CA; `require_client_cert` turns on `x509/certvalid`.
    Tls {
        ca: PathBuf,
        cert: PathBuf,
        key: PathBuf,
        require_client_cert: bool,
    },
}

/// A running rsyslog.
pub struct Rsyslog {
    dir: tempfile::TempDir,
    port: u16,
    udp: bool,
    child: Option<Child>,
}

/// Set to the rsyslogd to run instead of looking for one; a path that does not exist shows how
/// the tests behave on a machine without rsyslog.
pub const RSYSLOGD_VARIABLE: &str = "SIEM_RSYSLOGD";

fn rsyslogd() -> Option<PathBuf> {
    if let Some(chosen) = std::env::var_os(RSYSLOGD_VARIABLE) {
        return Some(PathBuf::from(chosen)).filter(|path| path.is_file());
    }
    let candidates = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain(["/usr/sbin".into(), "/sbin".into()]);
    candidates
        .map(|dir| dir.join("rsyslogd"))
        .find(|path| path.is_file())
}

/// Whether rsyslog's RELP input module is installed where rsyslogd looks for modules (its
/// `lib*/rsyslog` directories, `SIEM_RSYSLOGD` pointing elsewhere included).
fn imrelp_installed(binary: &Path) -> bool {
    let prefix = binary
        .parent()
        .and_then(Path::parent)
        .unwrap_or(Path::new("/usr"));
    let mut dirs = vec![prefix.join("lib/rsyslog"), prefix.join("lib64/rsyslog")];
    if let Ok(entries) = fs::read_dir(prefix.join("lib")) {
        dirs.extend(entries.flatten().map(|e| e.path().join("rsyslog")));
    }
    dirs.iter().any(|dir| dir.join("imrelp.so").is_file())
}

pub fn free_port(udp: bool) -> u16 {
    if udp {
        UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    } else {
        TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }
}

impl Rsyslog {
    /// Starts rsyslog, or returns `None` (after recording the skip) when it is not installed.
    pub fn start(input: Input) -> Option<Rsyslog> {
        Rsyslog::start_on(input, None)
    }

    /// Starts rsyslog on `port` (a free one when `None`).
    pub fn start_on(input: Input, port: Option<u16>) -> Option<Rsyslog> {
        let Some(binary) = rsyslogd() else {
            return skips::peer_missing(
                "rsyslogd not found",
                "install it (apt-get install rsyslog rsyslog-gnutls) to run this test",
            );
        };
        if matches!(input, Input::Relp { .. }) && !imrelp_installed(&binary) {
            return skips::peer_missing(
                "rsyslog's imrelp not found",
                "install it (apt-get install rsyslog-relp) to run this test",
            );
        }
        let udp = matches!(input, Input::Udp);
        // A port found free may be taken by another test before rsyslog binds it: then try
        // another one (unless the caller asked for this port).
        for _attempt in 0..5 {
            let chosen = port.unwrap_or_else(|| free_port(udp));
            let mut rsyslog = Rsyslog {
                dir: tempfile::tempdir().unwrap(),
                port: chosen,
                udp,
                child: None,
            };
            rsyslog.write_config(&input);
            if rsyslog.launch(&binary) {
                return Some(rsyslog);
            }
            assert!(port.is_none(), "port {chosen} is taken by another process");
        }
        panic!("could not find a free loopback port for rsyslog");
    }

    fn write_config(&self, input: &Input) {
        let dir = &self.dir;
        let port = self.port;
        let d = dir.path().display();
        fs::create_dir(dir.path().join("work")).unwrap();
        let mut global = format!(
            "workDirectory=\"{d}/work\" maxMessageSize=\"2m\" \
             parser.escapeControlCharactersOnReceive=\"off\""
        );
        let listener = match input {
            Input::Udp => format!(
                "module(load=\"imudp\")\n\
                 input(type=\"imudp\" port=\"{port}\" address=\"127.0.0.1\" ruleset=\"out\")"
            ),
            Input::Tcp => format!(
                "module(load=\"imtcp\" maxSessions=\"100\" maxFrameSize=\"4000000\")\n\
                 input(type=\"imtcp\" port=\"{port}\" address=\"127.0.0.1\" ruleset=\"out\")"
            ),
            Input::TcpDirect => format!(
                "module(load=\"imtcp\" maxSessions=\"100\")\n\
                 input(type=\"imtcp\" port=\"{port}\" address=\"127.0.0.1\" ruleset=\"acked\")"
            ),
            Input::TcpThroughput => format!(
                "module(load=\"imptcp\" threads=\"2\")\n\
                 input(type=\"imptcp\" port=\"{port}\" address=\"127.0.0.1\" ruleset=\"fast\")"
            ),
            Input::Relp { tls } => {
                let tls = tls.as_ref().map_or(String::new(), |(ca, cert, key)| {
                    format!(
                        " tls=\"on\" tls.caCert=\"{}\" tls.myCert=\"{}\" tls.myPrivKey=\"{}\" \
                         tls.authMode=\"certvalid\"",
                        ca.display(),
                        cert.display(),
                        key.display()
                    )
                });
                format!(
                    "module(load=\"imrelp\")\n\
                     input(type=\"imrelp\" port=\"{port}\" address=\"127.0.0.1\" ruleset=\"acked\"{tls})"
                )
            }
            Input::Tls {
                ca,
                cert,
                key,
                require_client_cert,
            } => {
                global += &format!(
                    " defaultNetstreamDriverCAFile=\"{}\" defaultNetstreamDriverCertFile=\"{}\" \
                     defaultNetstreamDriverKeyFile=\"{}\"",
                    ca.display(),
                    cert.display(),
                    key.display()
                );
                let auth = if *require_client_cert {
                    "x509/certvalid"
                } else {
                    "anon"
                };
                format!(
                    "module(load=\"imtcp\" maxSessions=\"100\" maxFrameSize=\"4000000\" streamDriver.name=\"gtls\" \
                     streamDriver.mode=\"1\" streamDriver.authMode=\"{auth}\")\n\
                     input(type=\"imtcp\" port=\"{port}\" address=\"127.0.0.1\" ruleset=\"out\")"
                )
            }
        };
        let conf = format!(
            "global({global})\n\
             module(load=\"mmpstrucdata\")\n\
             template(name=\"raw\" type=\"string\" string=\"\\\"%rawmsg:::json%\\\"\\n\")\n\
             template(name=\"sd\" type=\"string\" string=\"%$!rfc5424-sd%\\n\")\n\
             ruleset(name=\"out\") {{\n\
               action(type=\"omfile\" file=\"{d}/raw.log\" template=\"raw\")\n\
               action(type=\"mmpstrucdata\" sd_name.lowercase=\"off\")\n\
               action(type=\"omfile\" file=\"{d}/sd.log\" template=\"sd\")\n\
             }}\n\
             ruleset(name=\"acked\" queue.type=\"Direct\") {{\n\
               action(type=\"omfile\" file=\"{d}/raw.log\" template=\"raw\")\n\
             }}\n\
             template(name=\"plain\" type=\"string\" string=\"%rawmsg%\\n\")\n\
             ruleset(name=\"fast\" queue.type=\"fixedArray\" queue.size=\"250000\" \
                     queue.dequeueBatchSize=\"4096\") {{\n\
               action(type=\"omfile\" file=\"{d}/plain.log\" template=\"plain\" \
                      ioBufferSize=\"64k\")\n\
             }}\n\
             {listener}\n"
        );
        fs::write(dir.path().join("rsyslog.conf"), conf).unwrap();
    }

    /// Starts rsyslogd and waits until it listens; `false` when another process holds the port.
    fn launch(&mut self, binary: &Path) -> bool {
        let d = self.dir.path();
        let child = Command::new(binary)
            .arg("-n")
            .arg("-f")
            .arg(d.join("rsyslog.conf"))
            .arg("-i")
            .arg(d.join("rsyslog.pid"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(d.join("rsyslogd.stderr")).unwrap())
            .spawn()
            .expect("start rsyslogd");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            match self.listener_owner() {
                Some(true) => return true,
                Some(false) if self.stderr().contains("in use") => {
                    self.stop();
                    return false;
                }
                _ => {}
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "rsyslogd exited ({status}) before listening: {}",
                    self.stderr()
                );
            }
            if Instant::now() > deadline {
                let taken = self.listener_owner() == Some(false);
                self.stop();
                assert!(
                    taken,
                    "rsyslogd is not listening on port {} after 15 s: {}",
                    self.port,
                    self.stderr()
                );
                return false;
            }
            sleep(Duration::from_millis(20));
        }
    }

    /// Whether the port's socket is bound (`None`: not at all) and whether it is our rsyslog's
    /// (read from /proc, so that probing opens no session).
    fn listener_owner(&self) -> Option<bool> {
        let (table, state) = if self.udp {
            ("/proc/net/udp", "07")
        } else {
            ("/proc/net/tcp", "0A")
        };
        let local = format!("0100007F:{:04X}", self.port);
        let table = fs::read_to_string(table).unwrap_or_default();
        let inode = table.lines().find_map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            (cols.get(1) == Some(&local.as_str()) && cols.get(3) == Some(&state))
                .then(|| cols.get(9).map(|s| s.to_string()))
                .flatten()
        })?;
        let pid = self.child.as_ref()?.id();
        let wanted = format!("socket:[{inode}]");
        let ours = fs::read_dir(format!("/proc/{pid}/fd"))
            .map(|fds| {
                fds.flatten()
                    .any(|fd| fs::read_link(fd.path()).is_ok_and(|l| l.to_string_lossy() == wanted))
            })
            .unwrap_or(false);
        Some(ours)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn stderr(&self) -> String {
        fs::read_to_string(self.dir.path().join("rsyslogd.stderr")).unwrap_or_default()
    }

    /// Stops rsyslog (SIGTERM, as a service manager would) and waits until it has exited.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: plain kill(2) on the pid of a child we spawned and have not reaped.
            unsafe {
                libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
            }
            let _ = child.wait();
        }
    }

    /// Kills rsyslog (SIGKILL: no chance to finish anything) and waits until it has exited.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Whether rsyslog runs (it was not stopped or killed since it last started).
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Starts rsyslog again after [`Rsyslog::stop`], with the same configuration, on the same
    /// port, appending to the same output files.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "rsyslog is still running");
        let binary = rsyslogd().expect("was found at start");
        assert!(
            self.launch(&binary),
            "port {} was taken while rsyslog was down",
            self.port
        );
    }

    fn lines(&self, file: &str) -> Vec<String> {
        fs::read_to_string(self.dir.path().join(file))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Waits (up to 20 s) until rsyslog has written at least `n` messages; returns every
    /// message written so far, as the exact bytes rsyslog received.
    pub fn messages(&self, n: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let lines = self.lines("raw.log");
            if lines.len() >= n || Instant::now() > deadline {
                return lines
                    .iter()
                    .map(|l| {
                        serde_json::from_str::<String>(l).expect("rsyslog wrote a JSON string")
                    })
                    .collect();
            }
            sleep(Duration::from_millis(20));
        }
    }

    /// Like [`Rsyslog::messages`], for the structured data as mmpstrucdata parsed it (`null`
    /// for a message without any).
    pub fn structured_data(&self, n: usize) -> Vec<serde_json::Value> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let lines = self.lines("sd.log");
            if lines.len() >= n || Instant::now() > deadline {
                return lines
                    .iter()
                    .map(|l| match l.as_str() {
                        // A message without structured data (`-`) has none to show.
                        "" => serde_json::Value::Null,
                        json => serde_json::from_str(json).expect("mmpstrucdata wrote JSON"),
                    })
                    .collect();
            }
            sleep(Duration::from_millis(20));
        }
    }

    /// Bytes rsyslog has written to `plain.log` (the [`Input::TcpThroughput`] output).
    pub fn plain_bytes(&self) -> u64 {
        fs::metadata(self.dir.path().join("plain.log"))
            .map(|m| m.len())
            .unwrap_or(0)
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A test PKI made at test time: a CA, a server certificate for `localhost` and `127.0.0.1`,
/// a client certificate, and an unrelated CA.
pub struct Pki {
    _dir: tempfile::TempDir,
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    pub other_ca: PathBuf,
}

impl Pki {
    /// An rsyslog TLS input serving this PKI's server certificate.
    pub fn input(&self, require_client_cert: bool) -> Input {
        Input::Tls {
            ca: self.ca.clone(),
            cert: self.server_cert.clone(),
            key: self.server_key.clone(),
            require_client_cert,
        }
    }

    pub fn generate() -> Pki {
        use rcgen::{
            BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
            IsCa, KeyPair, KeyUsagePurpose,
        };
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, pem: String| {
            let path = dir.path().join(name);
            fs::write(&path, pem).unwrap();
            path
        };
        let ca_params = |cn: &str| {
            let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.distinguished_name.push(DnType::CommonName, cn);
            params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
            params
        };
        let ca = CertifiedIssuer::self_signed(
            ca_params("tracing-siem test CA"),
            KeyPair::generate().unwrap(),
        )
        .unwrap();
        let other =
            CertifiedIssuer::self_signed(ca_params("some other CA"), KeyPair::generate().unwrap())
                .unwrap();

        let server_key = KeyPair::generate().unwrap();
        let mut server =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        server
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server_cert = server.signed_by(&server_key, &ca).unwrap();

        let client_key = KeyPair::generate().unwrap();
        let mut client = CertificateParams::new(vec!["client.test".to_string()]).unwrap();
        client
            .distinguished_name
            .push(DnType::CommonName, "client.test");
        client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let client_cert = client.signed_by(&client_key, &ca).unwrap();

        Pki {
            ca: write("ca.pem", ca.pem()),
            server_cert: write("server.pem", server_cert.pem()),
            server_key: write("server-key.pem", server_key.serialize_pem()),
            client_cert: write("client.pem", client_cert.pem()),
            client_key: write("client-key.pem", client_key.serialize_pem()),
            other_ca: write("other-ca.pem", other.pem()),
            _dir: dir,
        }
    }
}

/// An RFC 5424 message built by hand (header, one SD element, MSG), as the encoder would.
pub fn rfc5424(seq: usize, sd: &str, msg: &str) -> String {
    format!("<36>1 2026-01-02T03:04:05.000006Z host.test tracing-siem 4242 auth.failure {sd} {msg} #{seq}")
}

/// Asserts that rsyslog received exactly `expected`, in order; a failure shows the first
/// difference with long messages shortened, never megabytes of text.
/// A batch holding these messages as its records.
pub fn batch_of(messages: &[String]) -> siem_ship::Batch {
    let mut batch = siem_ship::Batch::default();
    for m in messages {
        batch.push(m.as_bytes());
    }
    batch
}

pub fn assert_received(received: &[String], expected: &[String]) {
    fn short(s: &str) -> String {
        if s.len() <= 300 {
            return format!("{s:?}");
        }
        let head: String = s.chars().take(200).collect();
        let tail: String = s
            .chars()
            .rev()
            .take(60)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("{head:?} … ({} bytes in all) … {tail:?}", s.len())
    }
    for (i, (got, want)) in received.iter().zip(expected).enumerate() {
        assert!(
            got == want,
            "message {i} differs:\n  received {}\n  expected {}",
            short(got),
            short(want)
        );
    }
    assert_eq!(
        received.len(),
        expected.len(),
        "received {} messages, expected {}; first extra or missing: {}",
        received.len(),
        expected.len(),
        short(
            received
                .get(expected.len())
                .or_else(|| expected.get(received.len()))
                .map_or("", |s| s.as_str())
        )
    );
}

/// The events of [`ship_numbered`]: event `i` carries its number.
struct Numbered;
impl siem_ship::Processor<usize> for Numbered {
    fn process(&mut self, i: usize, out: &mut Vec<siem_event::SecurityEvent>) {
        out.push(siem_event::SecurityEvent::new(
            siem_event::EventType::parse("auth.failure"),
            format!("event {i}"),
        ));
    }
}

/// The message rsyslog stores for event `i` of [`ship_numbered`].
pub fn numbered(i: usize) -> String {
    format!("<36>1 - host.test tracing-siem - - - event {i}")
}

/// Encodes the events of [`ship_numbered`] as [`numbered`] says.
struct Line;
impl siem_format::Encoder for Line {
    fn encode(&self, e: &siem_event::SecurityEvent, out: &mut Vec<u8>) {
        out.extend_from_slice(b"<36>1 - host.test tracing-siem - - - ");
        out.extend_from_slice(e.message.as_bytes());
    }
}

/// How fast [`ship_numbered`] queues its events.
#[derive(Clone, Copy)]
pub enum Pace {
    /// A pause of 2 ms every 50 events: the sink sends a batch now and then.
    Paced,
    /// As fast as the queue takes them: the sink sends batch after batch.
    Flat,
}

/// Ships events 0 to `total - 1` through a pipeline to `sink` (batches of 100, retried without
/// limit, nothing dropped for lack of room), running `before(i)` before event `i` is queued,
/// then shuts down and returns the destination's figures.
pub fn ship_numbered(
    sink: Box<dyn siem_ship::Sink>,
    total: usize,
    pace: Pace,
    before: impl FnMut(usize),
) -> siem_ship::DestinationMetrics {
    ship_numbered_through(sink, None, total, pace, before)
}

/// [`ship_numbered`] with the destination's disk spool in `spool` when given.
pub fn ship_numbered_through(
    sink: Box<dyn siem_ship::Sink>,
    spool: Option<siem_ship::SpoolConfig>,
    total: usize,
    pace: Pace,
    mut before: impl FnMut(usize),
) -> siem_ship::DestinationMetrics {
    use siem_ship::{
        BatchConfig, Destination, OverflowPolicy, Pipeline, PipelineConfig, RetryConfig,
    };
    let destination = Destination::new("collector", Box::new(Line), sink)
        .with_batch(
            BatchConfig::default()
                .max_events(100)
                .interval(Duration::from_millis(5)),
        )
        .with_retry(
            RetryConfig::default()
                .initial_backoff(Duration::from_millis(20))
                .max_backoff(Duration::from_millis(200))
                // Open for as long as the longest backoff, not the default 5 s: the tests'
                // collectors come back within a second.
                .open_for(Duration::from_millis(200)),
        )
        .with_queue_capacity(total);
    let destination = match spool {
        Some(spool) => destination.with_spool(spool),
        None => destination,
    };
    let pipeline = Pipeline::start(
        PipelineConfig {
            queue_capacity: total,
            overflow: OverflowPolicy::Block {
                timeout: Duration::from_secs(60),
            },
            ..PipelineConfig::default()
        },
        Numbered,
        vec![destination],
    )
    .unwrap();
    for i in 0..total {
        before(i);
        assert!(pipeline.queue().push(i, false));
        if matches!(pace, Pace::Paced) && i % 50 == 0 {
            sleep(Duration::from_millis(2));
        }
    }
    let report = pipeline.shutdown(Duration::from_secs(60));
    assert!(report.completed, "{report:?}");
    pipeline.metrics().destinations.remove(0)
}

/// Asserts that every message of `expected` was received at least once and nothing else was
/// (at-least-once delivery: a message sent again after a broken connection may come twice);
/// returns the messages received more than once.
pub fn assert_each_at_least_once(received: &[String], expected: &[String]) -> Vec<String> {
    use std::collections::HashMap;
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for m in received {
        *seen.entry(m.as_str()).or_default() += 1;
    }
    let missing: Vec<&String> = expected
        .iter()
        .filter(|m| !seen.contains_key(m.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} messages never arrived, the first: {:?}",
        missing.len(),
        expected.len(),
        missing[0]
    );
    let wanted: std::collections::HashSet<&str> = expected.iter().map(String::as_str).collect();
    let unexpected = received.iter().find(|m| !wanted.contains(m.as_str()));
    assert!(
        unexpected.is_none(),
        "an unexpected message: {unexpected:?}"
    );
    let mut twice: Vec<String> = seen
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(m, _)| m.to_owned())
        .collect();
    twice.sort();
    twice
}

/// `n` authentication failures with the usual fields (user, source IP, resource, tenant,
/// one metadata number), varied per index: the workload of the throughput benches.
pub fn sample_events(n: usize) -> Vec<siem_event::SecurityEvent> {
    use siem_event::{EventType, Outcome, SecurityEvent, Severity};
    (0..n)
        .map(|i| {
            let mut e = SecurityEvent::new(EventType::parse("auth.failure"), "Failed login");
            e.severity = Severity::High;
            e.outcome = Outcome::Failure;
            e.actor.user = Some(format!("user{}", i % 97));
            e.actor.source_ip = Some(format!("10.0.{}.{}", i / 256 % 256, i % 256));
            e.target.resource = Some("/api/login".into());
            e.tenant_id = Some("tenant-a".into());
            e.push_metadata("attempts", (i % 7) as i64);
            e
        })
        .collect()
}

/// A TCP peer on loopback that reads and discards everything; returns its port.
pub fn tcp_blackhole() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || drain(stream));
        }
    });
    port
}

/// Reads a stream to its end, discarding what arrives.
pub fn drain(mut stream: impl std::io::Read) {
    let mut buf = vec![0u8; 256 * 1024];
    while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
}

/// A TLS peer on loopback (rustls, ring) that completes the handshake and then discards the
/// encrypted stream unread, as the TCP blackhole discards plaintext; returns its port and the
/// path in `dir` of the CA file that verifies it (server name `localhost`).
#[cfg(feature = "tls")]
pub fn tls_blackhole(dir: &Path) -> (u16, PathBuf) {
    let (config, ca) = self_signed_server(dir);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let config = std::sync::Arc::clone(&config);
            std::thread::spawn(move || {
                let mut conn = rustls::ServerConnection::new(config).unwrap();
                while conn.is_handshaking() {
                    if conn.complete_io(&mut stream).is_err() {
                        return;
                    }
                }
                while conn.wants_write() {
                    if conn.write_tls(&mut stream).is_err() {
                        return;
                    }
                }
                drain(stream);
            });
        }
    });
    (port, ca)
}

/// A rustls server configuration (ring) with a fresh self-signed certificate for `localhost`,
/// and the path in `dir` of the PEM file that verifies it.
#[cfg(feature = "tls")]
pub fn self_signed_server(dir: &Path) -> (std::sync::Arc<rustls::ServerConfig>, PathBuf) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let ca = dir.join("ca.pem");
    fs::write(&ca, certified.cert.pem()).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![certified.cert.der().clone()], key)
    .unwrap();
    (std::sync::Arc::new(config), ca)
}
