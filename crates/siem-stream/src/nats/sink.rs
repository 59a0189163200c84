//! The NATS sink: a JetStream publisher on the destination's own single-threaded tokio runtime,
//! driven only by the destination's delivery thread (as the HTTP destinations do), connected
//! on its first batch and reconnecting by itself afterwards.

use std::time::Duration;

use async_nats::jetstream::context::{PublishError, PublishErrorKind};
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::{self, stream};
use async_nats::{Client, ConnectOptions};
use bytes::Bytes;
use siem_ship::{Batch, Sink, SinkError};
use tokio::runtime::{Builder, Runtime};

use super::atomic::{self, Verdict};
use super::NatsConfig;
use crate::RecordFields;

/// What JetStream said about one record.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    /// Stored, or recognised as a copy of a stored message (`duplicate: true`).
    Delivered,
    /// Not acknowledged; trying again may help.
    Retry(String),
    /// Refused for good (larger than the server's `max_payload`).
    Reject(String),
}

fn judge(e: &PublishError) -> Outcome {
    match e.kind() {
        PublishErrorKind::MaxPayloadExceeded => Outcome::Reject(e.to_string()),
        _ => Outcome::Retry(e.to_string()),
    }
}

/// A sink publishing each record as one JetStream message, acknowledged on its own or, with
/// `atomic_batch`, at the commit of its atomic batch.
///
/// ```no_run
/// use siem_ship::{Batch, Sink};
/// use siem_stream::nats::{NatsConfig, NatsSink};
/// let mut sink = NatsSink::new(NatsConfig::new("nats://127.0.0.1:4222"));
/// let mut batch = Batch::default();
/// batch.push(br#"{"event_type":"auth.failure","message":"Failed login"}"#);
/// sink.send(&batch).unwrap(); // returns once JetStream acknowledged the message
/// ```
pub struct NatsSink {
    config: NatsConfig,
    runtime: Option<Runtime>,
    jetstream: Option<jetstream::Context>,
    /// Set once the stream refused an atomic batch for want of `allow_atomic`: from then on
    /// every record goes on its own.
    atomic_refused: bool,
}

impl NatsSink {
    /// A sink for `config` (checked with [`SinkConfig::validate`](siem_ship::sink::SinkConfig::validate));
    /// it connects on its first batch.
    pub fn new(config: NatsConfig) -> NatsSink {
        NatsSink {
            config,
            runtime: None,
            jetstream: None,
            atomic_refused: false,
        }
    }
}

/// Connects to the servers with the configured credentials and TLS.
async fn connect(config: &NatsConfig) -> Result<Client, String> {
    let mut options = ConnectOptions::new()
        .name(concat!("tracing-siem/", env!("CARGO_PKG_VERSION")))
        .connection_timeout(config.connect_timeout)
        .request_timeout(Some(config.ack_timeout));
    if let (Some(user), Some(password)) = (&config.user, &config.password) {
        options = options.user_and_password(user.clone(), password.expose().to_owned());
    }
    if let Some(token) = &config.token {
        options = options.token(token.expose().to_owned());
    }
    if let Some(seed) = &config.nkey {
        options = options.nkey(seed.expose().to_owned());
    }
    if let Some(path) = &config.credentials_file {
        options = options
            .credentials_file(path)
            .await
            .map_err(|e| format!("cannot read the credentials file {}: {e}", path.display()))?;
    }
    if let Some(tls) = &config.tls {
        options = options.require_tls(tls.required);
        if let Some(ca) = &tls.ca_file {
            options = options.add_root_certificates(ca.clone());
        }
        if let (Some(cert), Some(key)) = (&tls.cert_file, &tls.key_file) {
            options = options.add_client_certificate(cert.clone(), key.clone());
        }
    }
    let servers: Vec<&str> = config
        .servers
        .as_slice()
        .iter()
        .map(String::as_str)
        .collect();
    let addresses = servers
        .iter()
        .map(|s| s.parse::<async_nats::ServerAddr>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("bad server address: {e}"))?;
    options
        .connect(addresses)
        .await
        .map_err(|e| format!("cannot connect to {}: {e}", config.servers.joined()))
}

/// A JetStream context on a new connection, with the stream created when asked.
async fn session(config: &NatsConfig) -> Result<jetstream::Context, String> {
    let client = connect(config).await?;
    let context = jetstream::ContextBuilder::new()
        .timeout(config.ack_timeout)
        .max_ack_inflight(config.max_in_flight)
        .backpressure_on_inflight(true)
        .build(client);
    if let (Some(name), Some(create)) = (&config.stream, &config.create_stream) {
        context
            .get_or_create_stream(stream::Config {
                name: name.clone(),
                subjects: config.stream_subjects(create),
                num_replicas: create.replicas,
                duplicate_window: create.duplicate_window,
                allow_atomic_publish: config.atomic_batch.is_some(),
                ..Default::default()
            })
            .await
            .map_err(|e| format!("cannot create the stream {name}: {e}"))?;
    }
    Ok(context)
}

/// Publishes every record on its own, at most `max_in_flight` awaiting their
/// acknowledgement at once, and says what became of each.
async fn publish(
    config: &NatsConfig,
    context: &jetstream::Context,
    records: &[&[u8]],
) -> Vec<Outcome> {
    let mut outcomes = Vec::with_capacity(records.len());
    // `validate` refuses 0; a configuration built in code may skip it.
    for window in records.chunks(config.max_in_flight.max(1)) {
        let mut acks = Vec::with_capacity(window.len());
        for record in window {
            let fields = RecordFields::read(record);
            let mut message = PublishMessage::build().payload(Bytes::copy_from_slice(record));
            if let Some(id) = fields.event_id() {
                message = message.message_id(id);
            }
            if let Some(stream) = &config.stream {
                message = message.expected_stream(stream);
            }
            acks.push(
                context
                    .send_publish(config.subject_of(&fields), message)
                    .await,
            );
        }
        // The acknowledgements arrive in any order; awaiting them together bounds the wait
        // by one `ack_timeout` for the whole window.
        let answers = futures_util::future::join_all(acks.into_iter().map(|sent| async move {
            match sent {
                Ok(ack) => ack.await.map(drop),
                Err(e) => Err(e),
            }
        }))
        .await;
        outcomes.extend(answers.iter().map(|a| match a {
            Ok(()) => Outcome::Delivered,
            Err(e) => judge(e),
        }));
    }
    outcomes
}

/// Publishes the records as atomic batches of `size`; a batch the server refused whole
/// because it holds records stored before, or because the stream does not allow atomic
/// batches, goes again one record at a time. Says what became of each record, and whether
/// the stream refused atomic batches.
async fn publish_atomic(
    config: &NatsConfig,
    context: &jetstream::Context,
    records: &[&[u8]],
    size: usize,
) -> (Vec<Outcome>, bool) {
    let verdicts = atomic::publish(config, context, records, size).await;
    let mut outcomes = vec![Outcome::Delivered; records.len()];
    let mut one_by_one = Vec::new();
    let mut refused = false;
    for (verdict, (start, batch)) in verdicts
        .iter()
        .zip(records.chunks(size).enumerate().map(|(i, b)| (i * size, b)))
    {
        let range = start..start + batch.len();
        match verdict {
            Verdict::Stored => {}
            Verdict::Retry(why) => outcomes[range].fill(Outcome::Retry(why.clone())),
            Verdict::Disabled => {
                refused = true;
                one_by_one.extend(range);
            }
            Verdict::OneByOne => one_by_one.extend(range),
        }
    }
    if !one_by_one.is_empty() {
        let again: Vec<&[u8]> = one_by_one.iter().map(|&i| records[i]).collect();
        for (i, outcome) in one_by_one
            .into_iter()
            .zip(publish(config, context, &again).await)
        {
            outcomes[i] = outcome;
        }
    }
    (outcomes, refused)
}

/// One answer for the route from every record's outcome.
fn answer(outcomes: &[Outcome]) -> Result<(), SinkError> {
    let failed: Vec<usize> = (0..outcomes.len())
        .filter(|&i| matches!(outcomes[i], Outcome::Retry(_)))
        .collect();
    let rejected: Vec<usize> = (0..outcomes.len())
        .filter(|&i| matches!(outcomes[i], Outcome::Reject(_)))
        .collect();
    let reason = |i: usize| match &outcomes[i] {
        Outcome::Retry(r) | Outcome::Reject(r) => r.as_str(),
        Outcome::Delivered => "",
    };
    let n = outcomes.len();
    if let Some(&first) = failed.first() {
        let mut message = format!(
            "nats: {} of {n} records not acknowledged: {}",
            failed.len(),
            reason(first)
        );
        if let Some(&r) = rejected.first() {
            message.push_str(&format!("; {} refused: {}", rejected.len(), reason(r)));
        }
        let e = SinkError::retryable(message).with_failed_records(failed);
        return Err(if rejected.is_empty() {
            e
        } else {
            e.with_rejected_records(rejected)
        });
    }
    if let Some(&r) = rejected.first() {
        return Err(SinkError::permanent(format!(
            "nats: {} of {n} records refused: {}",
            rejected.len(),
            reason(r)
        ))
        .with_failed_records(rejected));
    }
    Ok(())
}

impl Sink for NatsSink {
    fn kind(&self) -> &'static str {
        "nats"
    }

    fn send(&mut self, batch: &Batch) -> Result<(), SinkError> {
        let runtime = match &mut self.runtime {
            Some(r) => r,
            None => self.runtime.insert(runtime()?),
        };
        let config = &self.config;
        let context = match &self.jetstream {
            Some(c) => c.clone(),
            None => {
                let c = runtime
                    .block_on(session(config))
                    .map_err(|e| SinkError::retryable(format!("nats: {e}")))?;
                self.jetstream.insert(c).clone()
            }
        };
        let records: Vec<&[u8]> = batch.records().collect();
        let outcomes = match config.atomic_batch {
            Some(size) if !self.atomic_refused => {
                let (outcomes, refused) =
                    runtime.block_on(publish_atomic(config, &context, &records, size));
                self.atomic_refused = refused;
                outcomes
            }
            _ => runtime.block_on(publish(config, &context, &records)),
        };
        answer(&outcomes)
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        // Every batch waited for its acknowledgements: nothing of ours is buffered.
        Ok(())
    }

    fn close(&mut self) -> Result<(), SinkError> {
        if let (Some(runtime), Some(context)) = (&self.runtime, self.jetstream.take()) {
            // Best effort: the server drops the connection's state either way.
            let _ = runtime.block_on(context.client().drain());
        }
        Ok(())
    }
}

fn runtime() -> std::io::Result<Runtime> {
    Builder::new_current_thread().enable_all().build()
}

/// Connects and asks JetStream for its account information (and the stream's, when one is
/// named): what it found, or why not.
pub(super) fn probe(config: &NatsConfig, timeout: Duration) -> Result<String, String> {
    let mut config = config.clone();
    config.connect_timeout = config.connect_timeout.min(timeout);
    config.ack_timeout = config.ack_timeout.min(timeout);
    // Probing changes nothing on the server.
    config.create_stream = None;
    let runtime = runtime().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let run = async {
            let context = session(&config).await?;
            let account = context
                .query_account()
                .await
                .map_err(|e| format!("JetStream is not available: {e}"))?;
            let mut found = format!("JetStream: {} streams in the account", account.streams);
            if let Some(name) = &config.stream {
                match context.get_stream(name).await {
                    Ok(mut s) => {
                        let info = s.info().await.map_err(|e| e.to_string())?;
                        found.push_str(&format!(
                            "; stream {name} holds {} messages",
                            info.state.messages
                        ));
                        if config.atomic_batch.is_some() && !info.config.allow_atomic_publish {
                            found.push_str(
                                " (it does not allow atomic batches: `atomic_batch` falls back \
                                 to one record at a time)",
                            );
                        }
                    }
                    Err(e) => found.push_str(&format!("; stream {name}: {e}")),
                }
            }
            Ok(found)
        };
        tokio::time::timeout(timeout, run)
            .await
            .map_err(|_| format!("no answer within {}", humantime::format_duration(timeout)))?
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_name_the_records_not_acknowledged() {
        assert!(answer(&[Outcome::Delivered]).is_ok());
        let e = answer(&[
            Outcome::Retry("timed out".into()),
            Outcome::Delivered,
            Outcome::Reject("too large".into()),
        ])
        .unwrap_err();
        assert!(e.is_retryable());
        assert_eq!(e.failed_records(), Some(&[0usize][..]));
        assert_eq!(e.rejected_records(), Some(&[2usize][..]));
        let e = answer(&[Outcome::Reject("too large".into())]).unwrap_err();
        assert!(!e.is_retryable());
    }
}
