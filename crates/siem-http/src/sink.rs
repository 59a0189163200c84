//! The sink every HTTP destination uses: split the batch to the API's limits, send the
//! requests (a bounded number at once), read each response through the destination's
//! [`Endpoint`], dead-letter what was refused for good, and answer the route once.

use std::future::Future;
use std::io::Write;
use std::ops::Range;
use std::pin::Pin;
use std::time::Duration;

use flate2::write::GzEncoder;
use futures_util::stream::{self, StreamExt};
#[cfg(feature = "oauth")]
use reqwest::header::AUTHORIZATION;
use reqwest::header::{HeaderMap, CONTENT_ENCODING};
use reqwest::{Client, RequestBuilder, StatusCode};
use siem_ship::{Batch, ConfigError, Sink, SinkError};

use crate::chunk::{self, Envelope, Limits};
use crate::dead_letter::{DeadLetter, Refusal};
#[cfg(feature = "oauth")]
use crate::oauth::Bearer;
use crate::options::{Compression, HttpOptions};
use crate::reply::{by_status, Outcome, Verdict};
use crate::transport::{describe, read, Answer, Transport};

/// What one HTTP API needs to say about itself: how records travel in a body, how a request
/// is addressed and authenticated, and what a response means.
pub(crate) trait Endpoint: Send + Sync + 'static {
    /// The sink's kind, for metrics and the dead-letter file.
    fn kind(&self) -> &'static str;

    /// Bytes around a body's records and between two of them.
    fn envelope(&self) -> Envelope<'_>;

    /// The size of `record` once framed by [`frame`](Endpoint::frame).
    fn framed_len(&self, record: &[u8]) -> usize;

    /// Appends `record` as it travels in the body.
    fn frame(&self, record: &[u8], body: &mut Vec<u8>);

    /// For APIs whose body nests the records in length-prefixed framing (OTLP protobuf): the
    /// request body made of the framed records. The default sends them as framed.
    fn finish(&self, body: Vec<u8>) -> Vec<u8> {
        body
    }

    /// The request (method, URL, authentication, content type), without its body.
    fn request(&self, client: &Client) -> RequestBuilder;

    /// For APIs whose authentication covers the body (AWS SigV4): `request` completed for
    /// `body`, the bytes about to be sent.
    fn authorize(&self, request: RequestBuilder, body: &[u8]) -> RequestBuilder {
        let _ = body;
        request
    }

    /// For APIs authenticated by OAuth bearer tokens: where the `Authorization` comes from. A
    /// request answered 401 is sent once more with a token fetched anew.
    #[cfg(feature = "oauth")]
    fn bearer(&self) -> Option<&dyn Bearer> {
        None
    }

    /// For APIs that bound what one request may span (CloudWatch's 24 hours): whether
    /// `record` may travel in the request that `first` opens.
    fn same_request(&self, first: &[u8], record: &[u8]) -> bool {
        let _ = (first, record);
        true
    }

    /// For APIs that confirm delivery later (Splunk's indexer acknowledgement): what to await,
    /// after a response judged delivered, before its records count as delivered. `reply` is
    /// that response's body.
    fn confirm<'a>(&'a self, client: &'a Client, reply: &'a [u8]) -> Option<Confirmation<'a>> {
        let _ = (client, reply);
        None
    }

    /// What a response means for the `records` records of its request.
    fn judge(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
        records: usize,
    ) -> Verdict {
        let _ = records;
        Verdict::All(by_status(status, headers, body))
    }
}

/// The wait for a later confirmation, ending in the records' outcome.
pub(crate) type Confirmation<'a> = Pin<Box<dyn Future<Output = Outcome> + Send + 'a>>;

/// The settings of an [`HttpSink`] besides its endpoint.
pub(crate) struct SinkSettings<'a> {
    pub http: &'a HttpOptions,
    pub default_limits: Limits,
    pub default_compression: Compression,
}

pub(crate) struct HttpSink<E> {
    endpoint: E,
    transport: Transport,
    limits: Limits,
    compression: Compression,
    max_in_flight: usize,
    dead_letter: DeadLetter,
}

impl<E: Endpoint> HttpSink<E> {
    pub fn new(endpoint: E, settings: SinkSettings<'_>) -> Result<HttpSink<E>, ConfigError> {
        let kind = endpoint.kind();
        Ok(HttpSink {
            endpoint,
            transport: Transport::new(settings.http)?,
            limits: settings.http.limits(settings.default_limits),
            compression: settings
                .http
                .compression
                .unwrap_or(settings.default_compression),
            max_in_flight: settings.http.max_in_flight,
            dead_letter: DeadLetter::new(settings.http.dead_letter.as_deref(), kind),
        })
    }
}

/// What a request needs while in flight, borrowed from the sink.
struct Sender<'a, E> {
    endpoint: &'a E,
    client: Client,
    compression: Compression,
    batch: &'a Batch,
}

type Delivered<'a> = Pin<Box<dyn Future<Output = Vec<(Range<usize>, Verdict)>> + Send + 'a>>;

impl<E: Endpoint> Sender<'_, E> {
    fn body(&self, records: Range<usize>) -> Vec<u8> {
        let envelope = self.endpoint.envelope();
        let mut body = Vec::new();
        body.extend_from_slice(envelope.open);
        for i in records.clone() {
            if i > records.start {
                body.extend_from_slice(envelope.separator);
            }
            let record = self.batch.record(i).unwrap_or_default();
            self.endpoint.frame(record, &mut body);
        }
        body.extend_from_slice(envelope.close);
        self.endpoint.finish(body)
    }

    /// Sends the records as one request; a 413 splits them in halves, each sent in turn.
    fn deliver(&self, records: Range<usize>) -> Delivered<'_> {
        Box::pin(async move {
            let outcome = match self.send(records.clone()).await {
                Verdict::All(Outcome::TooLarge) if records.len() > 1 => {
                    let middle = records.start + records.len() / 2;
                    let mut first = self.deliver(records.start..middle).await;
                    first.extend(self.deliver(middle..records.end).await);
                    return first;
                }
                Verdict::All(Outcome::TooLarge) => Verdict::All(Outcome::Reject {
                    status: Some(413),
                    reason: "HTTP 413 Payload Too Large for this record alone".to_owned(),
                }),
                verdict => verdict,
            };
            vec![(records, outcome)]
        })
    }

    async fn send(&self, records: Range<usize>) -> Verdict {
        let body = self.body(records.clone());
        let mut request = self.endpoint.request(&self.client);
        let body = match self.compression {
            Compression::None => body,
            Compression::Gzip => {
                request = request.header(CONTENT_ENCODING, "gzip");
                gzip(&body)
            }
        };
        let request = self.endpoint.authorize(request, &body).body(body);
        let answer = match self.exchange(request).await {
            Ok(answer) => answer,
            Err(verdict) => return verdict,
        };
        let (status, headers, body) = answer;
        match self.endpoint.judge(status, &headers, &body, records.len()) {
            Verdict::All(Outcome::Delivered) => match self.endpoint.confirm(&self.client, &body) {
                Some(confirmation) => Verdict::All(confirmation.await),
                None => Verdict::All(Outcome::Delivered),
            },
            verdict => verdict,
        }
    }

    /// Sends the request and reads the answer.
    #[cfg(not(feature = "oauth"))]
    async fn exchange(&self, request: RequestBuilder) -> Result<Answer, Verdict> {
        send_and_read(request).await
    }

    /// Sends the request with the endpoint's bearer token, if it has one, and reads the
    /// answer; a 401 forgets the token and sends the request once more with a new one.
    #[cfg(feature = "oauth")]
    async fn exchange(&self, request: RequestBuilder) -> Result<Answer, Verdict> {
        let Some(bearer) = self.endpoint.bearer() else {
            return send_and_read(request).await;
        };
        // Bodies are bytes in memory, so the request can always be copied.
        let again = request.try_clone();
        let token = bearer
            .authorization(&self.client)
            .await
            .map_err(Verdict::All)?;
        let answer = send_and_read(request.header(AUTHORIZATION, token.clone())).await?;
        match again {
            Some(again) if answer.0 == StatusCode::UNAUTHORIZED => {
                bearer.invalidate(&token);
                let token = bearer
                    .authorization(&self.client)
                    .await
                    .map_err(Verdict::All)?;
                send_and_read(again.header(AUTHORIZATION, token)).await
            }
            _ => Ok(answer),
        }
    }
}

async fn send_and_read(request: RequestBuilder) -> Result<Answer, Verdict> {
    match request.send().await {
        Ok(response) => read(response).await.map_err(|e| retry(describe(e))),
        Err(e) => Err(retry(describe(e))),
    }
}

fn retry(reason: String) -> Verdict {
    Verdict::All(Outcome::Retry {
        reason,
        after: None,
    })
}

fn gzip(body: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(
        Vec::with_capacity(body.len() / 4),
        flate2::Compression::fast(),
    );
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(body);
    encoder.finish().unwrap_or_default()
}

impl<E: Endpoint> Sink for HttpSink<E> {
    fn kind(&self) -> &'static str {
        self.endpoint.kind()
    }

    fn send(&mut self, batch: &Batch) -> Result<(), SinkError> {
        let endpoint = &self.endpoint;
        let mut split = chunk::split(batch, self.limits, endpoint.envelope(), |r| {
            endpoint.framed_len(r)
        });
        split.requests = chunk::split_where(batch, split.requests, |first, record| {
            endpoint.same_request(first, record)
        });
        let mut outcomes = vec![Outcome::Delivered; batch.len()];
        for &i in &split.oversized {
            outcomes[i] = Outcome::Reject {
                status: None,
                reason: format!(
                    "record of {} bytes passes the destination's limits (max_entry_bytes {}, \
                     max_bytes {} with framing); not sent",
                    batch.record(i).map_or(0, <[u8]>::len),
                    self.limits.max_entry_bytes,
                    self.limits.max_bytes
                ),
            };
        }
        let sender = Sender {
            endpoint,
            client: self.transport.client().clone(),
            compression: self.compression,
            batch,
        };
        let in_flight = self.max_in_flight;
        let results = self.transport.block_on(
            stream::iter(split.requests)
                .map(|records| sender.deliver(records))
                .buffer_unordered(in_flight)
                .collect::<Vec<_>>(),
        )?;
        for (records, verdict) in results.into_iter().flatten() {
            match verdict {
                Verdict::All(outcome) => outcomes[records].fill(outcome),
                Verdict::Each(each) if each.len() == records.len() => {
                    for (slot, outcome) in outcomes[records].iter_mut().zip(each) {
                        *slot = outcome;
                    }
                }
                Verdict::Each(each) => outcomes[records.clone()].fill(Outcome::Retry {
                    reason: format!(
                        "the response accounts for {} records, the request held {}",
                        each.len(),
                        records.len()
                    ),
                    after: None,
                }),
            }
        }
        self.answer(batch, &outcomes)
    }
}

impl<E: Endpoint> HttpSink<E> {
    /// Sends one request outside any batch (a setup call such as creating a log stream) on
    /// the sink's runtime: its status and body, or why it could not be sent.
    // Only APIs with setup calls use this.
    #[cfg_attr(not(feature = "cloudwatch"), allow(dead_code))]
    pub fn call(
        &mut self,
        request: impl FnOnce(&E, &Client) -> RequestBuilder,
    ) -> Result<Result<(StatusCode, Vec<u8>), String>, SinkError> {
        let request = request(&self.endpoint, self.transport.client());
        self.transport.block_on(async {
            match request.send().await {
                Ok(response) => match read(response).await {
                    Ok((status, _, body)) => Ok((status, body)),
                    Err(e) => Err(describe(e)),
                },
                Err(e) => Err(describe(e)),
            }
        })
    }

    /// One answer for the route from every record's outcome, after dead-lettering the
    /// refused ones.
    fn answer(&mut self, batch: &Batch, outcomes: &[Outcome]) -> Result<(), SinkError> {
        let mut failed = Vec::new();
        let mut refusals = Vec::new();
        let mut rejected = Vec::new();
        let mut retry_reason = None;
        let mut wait: Option<Duration> = None;
        for (i, outcome) in outcomes.iter().enumerate() {
            match outcome {
                Outcome::Delivered => {}
                Outcome::Retry { reason, after } => {
                    failed.push(i);
                    retry_reason.get_or_insert(reason.as_str());
                    if let Some(after) = after {
                        wait = Some(wait.map_or(*after, |w| w.max(*after)));
                    }
                }
                Outcome::Reject { status, reason } => {
                    rejected.push(i);
                    refusals.push(Refusal {
                        record: batch.record(i).unwrap_or_default(),
                        status: *status,
                        reason,
                    });
                }
                // `deliver` splits a request answered 413; a record still too large is refused.
                Outcome::TooLarge => {
                    rejected.push(i);
                    refusals.push(Refusal {
                        record: batch.record(i).unwrap_or_default(),
                        status: Some(413),
                        reason: "HTTP 413 Payload Too Large",
                    });
                }
            }
        }
        let kind = self.endpoint.kind();
        let mut message = String::new();
        if let Some(reason) = retry_reason {
            message = format!(
                "{kind}: {} of {} records not delivered: {reason}",
                failed.len(),
                outcomes.len()
            );
        }
        if let Some(first) = refusals.first() {
            let written = match self.dead_letter.write(&refusals) {
                Ok(()) => format!("written to {}", self.dead_letter.path().display()),
                Err(e) => format!(
                    "the dead-letter file {} could not be written: {e}",
                    self.dead_letter.path().display()
                ),
            };
            let sep = if message.is_empty() { "" } else { "; " };
            message = format!(
                "{message}{sep}{kind}: {} records refused ({}), {written}",
                refusals.len(),
                first.reason
            );
        }
        if !failed.is_empty() {
            let mut e = SinkError::retryable(message).with_failed_records(failed);
            if !rejected.is_empty() {
                e = e.with_rejected_records(rejected);
            }
            if let Some(wait) = wait {
                e = e.with_retry_after(wait);
            }
            Err(e)
        } else if !rejected.is_empty() {
            Err(SinkError::permanent(message).with_failed_records(rejected))
        } else {
            Ok(())
        }
    }
}
