//! The destination's HTTP client and its own tokio runtime.
//!
//! The runtime is single-threaded and is driven only from the destination's delivery thread
//! (`block_on` inside `Sink::send`), which the pipeline marks as its own: the application's
//! runtime is never used or required, nothing runs between two batches, and shutting down is
//! dropping the sink on that thread. It is built on the first batch, not at `open`, so that
//! opening a destination inside `#[tokio::main]` creates no runtime in the application's.

use std::future::Future;
use std::time::Duration;

use reqwest::{Client, RequestBuilder};
use siem_ship::{ConfigError, SinkError};
use tokio::runtime::{Builder, Runtime};

use crate::options::HttpOptions;
use crate::reply::{quote, status_reason};

/// Idle keep-alive connections are closed after this long, below the usual server timeouts
/// (60 s and more) so the client rarely reuses a connection the server is closing.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// The most of a response body read; the rest is ignored (a reason quotes 300 characters,
/// and a bulk response for the largest batch stays far below this).
pub(crate) const MAX_RESPONSE_BYTES: usize = 16 << 20;

pub(crate) struct Transport {
    client: Client,
    runtime: Option<Runtime>,
}

impl Transport {
    /// A client with the options' timeouts, keep-alive and rustls; no runtime yet.
    pub fn new(options: &HttpOptions) -> Result<Transport, ConfigError> {
        Ok(Transport {
            client: client(options)?,
            runtime: None,
        })
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Runs `future` to completion on the destination's runtime, building it if needed.
    pub fn block_on<F: Future>(&mut self, future: F) -> Result<F::Output, SinkError> {
        let runtime = match &mut self.runtime {
            Some(r) => r,
            None => self.runtime.insert(runtime()?),
        };
        Ok(runtime.block_on(future))
    }
}

fn runtime() -> std::io::Result<Runtime> {
    Builder::new_current_thread().enable_all().build()
}

fn client(options: &HttpOptions) -> Result<Client, ConfigError> {
    Client::builder()
        .use_rustls_tls()
        .timeout(options.timeout)
        .connect_timeout(options.connect_timeout)
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        .pool_max_idle_per_host(options.max_in_flight)
        .tcp_nodelay(true)
        // A redirect would carry the credentials to wherever it points.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("tracing-siem/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| {
            ConfigError::invalid("http", format!("cannot build the HTTP client: {e}"))
                .with_source(e)
        })
}

/// A request error as a message without the URL (whose query may hold a token) and with its
/// causes (`connection refused`, `operation timed out`).
pub(crate) fn describe(e: reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut message = what.to_owned();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    message
}

/// A response's status, headers and (the start of) its body.
pub(crate) type Answer = (reqwest::StatusCode, reqwest::header::HeaderMap, Vec<u8>);

/// Reads a response's status, headers and at most [`MAX_RESPONSE_BYTES`] of its body.
pub(crate) async fn read(response: reqwest::Response) -> Result<Answer, reqwest::Error> {
    read_at_most(response, MAX_RESPONSE_BYTES).await
}

/// Reads a response's status, headers and at most `limit` bytes of its body.
pub(crate) async fn read_at_most(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Answer, reqwest::Error> {
    let status = response.status();
    let headers = std::mem::take(response.headers_mut());
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = limit - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() == limit {
            break;
        }
    }
    Ok((status, headers, body))
}

/// Sends one request built by `request` within `timeout` and says what answered, for
/// `siem check --connect`. It runs on a thread of its own with a runtime of its own, so it
/// works from synchronous code and from inside an application's runtime alike. Credentials
/// refused (401, 403) and server errors (5xx) count as failures.
// The OAuth destinations probe through `probe_with`.
#[cfg_attr(
    not(any(
        feature = "webhook",
        feature = "splunk",
        feature = "elasticsearch",
        feature = "datadog",
        feature = "otlp",
        feature = "cloudwatch"
    )),
    allow(dead_code)
)]
pub(crate) fn probe(
    options: &HttpOptions,
    timeout: Duration,
    request: impl FnOnce(&Client) -> RequestBuilder + Send,
) -> Result<String, String> {
    probe_with(options, timeout, |client| {
        std::future::ready(Ok::<_, String>(request(&client)))
    })
}

/// [`probe`] for a request whose building takes a call of its own (an OAuth token first);
/// an error building it is the probe's failure.
pub(crate) fn probe_with<F>(
    options: &HttpOptions,
    timeout: Duration,
    request: impl FnOnce(Client) -> F + Send,
) -> Result<String, String>
where
    F: Future<Output = Result<RequestBuilder, String>>,
{
    let options = HttpOptions {
        timeout,
        connect_timeout: timeout,
        ..options.clone()
    };
    std::thread::scope(|s| {
        s.spawn(move || {
            let mut transport = Transport::new(&options).map_err(|e| e.to_string())?;
            let request = request(transport.client().clone());
            let response = transport
                .block_on(async {
                    let request = request.await?;
                    match request.send().await {
                        Ok(response) => read(response).await.map_err(describe),
                        Err(e) => Err(describe(e)),
                    }
                })
                .map_err(|e| e.to_string())??;
            let (status, _, body) = response;
            if status.is_server_error() || matches!(status.as_u16(), 401 | 403) {
                Err(status_reason(status, &body))
            } else if body.is_empty() {
                Ok(format!("HTTP {status}"))
            } else {
                Ok(format!("HTTP {status}: {}", quote(&body)))
            }
        })
        .join()
        .unwrap_or_else(|_| Err("the probe thread panicked".to_owned()))
    })
}
