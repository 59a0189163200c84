//! The Kafka sink: every record of a batch handed to librdkafka, then the delivery reports
//! awaited, so that a batch is answered only once the brokers acknowledged — or failed — each
//! of its records.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{
    BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext, PurgeConfig,
    ThreadedProducer,
};
use rdkafka::ClientContext;
use siem_ship::{Batch, Sink, SinkError};

use super::KafkaConfig;
use crate::RecordFields;

/// How long a batch may wait for its delivery reports beyond `delivery_timeout`, which
/// librdkafka enforces itself: only a stuck client runs into this.
const REPORT_MARGIN: Duration = Duration::from_secs(5);

/// How long to wait for a delivery report when librdkafka's queue is full, before trying to
/// hand it the record again.
const QUEUE_FULL_WAIT: Duration = Duration::from_millis(10);

/// How long one flush waits before the deadline is looked at again.
const FLUSH_STEP: Duration = Duration::from_millis(100);

/// How long a purge of what is left after the deadline may take to be reported.
const PURGE_WAIT: Duration = Duration::from_secs(1);

/// Which record of which batch a delivery report is about.
struct Ticket {
    batch: u64,
    record: usize,
}

/// What a delivery report said about one record.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    /// Not reported yet.
    Pending,
    /// Acknowledged by the brokers.
    Delivered,
    /// Not delivered; trying again may help.
    Retry(String),
    /// Refused for good (too large, not authorized, invalid topic).
    Reject(String),
}

/// The producer's context: passes each delivery report, as librdkafka's polling thread hands
/// it over, to the sink's thread waiting for them.
struct Reports {
    sender: Sender<(Ticket, Outcome)>,
}

impl ClientContext for Reports {}

impl ProducerContext for Reports {
    type DeliveryOpaque = Box<Ticket>;

    fn delivery(&self, result: &DeliveryResult<'_>, ticket: Box<Ticket>) {
        let outcome = match result {
            Ok(_) => Outcome::Delivered,
            Err((e, _)) => judge(e),
        };
        // The sink's end is gone only when the sink is: nobody waits for the report.
        let _ = self.sender.send((*ticket, outcome));
    }
}

/// Whether a failure may pass when the record is sent again.
fn judge(e: &KafkaError) -> Outcome {
    let code = e.rdkafka_error_code();
    let permanent = matches!(
        code,
        Some(
            RDKafkaErrorCode::MessageSizeTooLarge
                | RDKafkaErrorCode::InvalidMessageSize
                | RDKafkaErrorCode::InvalidMessage
                | RDKafkaErrorCode::InvalidRecord
                | RDKafkaErrorCode::MessageBatchTooLarge
                | RDKafkaErrorCode::InvalidTopic
                | RDKafkaErrorCode::TopicAuthorizationFailed
                | RDKafkaErrorCode::ClusterAuthorizationFailed
                | RDKafkaErrorCode::PolicyViolation
        )
    );
    if permanent {
        Outcome::Reject(e.to_string())
    } else {
        Outcome::Retry(e.to_string())
    }
}

/// A running producer (librdkafka polls it on a thread of its own) and where its delivery
/// reports arrive.
struct Producing {
    producer: ThreadedProducer<Reports>,
    reports: Receiver<(Ticket, Outcome)>,
}

/// A sink producing each record as one Kafka message.
///
/// ```no_run
/// use siem_ship::{Batch, Sink};
/// use siem_stream::kafka::{KafkaConfig, KafkaSink};
/// let mut sink = KafkaSink::open(KafkaConfig::new("127.0.0.1:9092")).unwrap();
/// let mut batch = Batch::default();
/// batch.push(br#"{"event_type":"auth.failure","message":"Failed login","user":"alice"}"#);
/// sink.send(&batch).unwrap(); // returns once the brokers acknowledged the message
/// ```
pub struct KafkaSink {
    config: KafkaConfig,
    client_config: ClientConfig,
    /// Started on the first batch, and again after a fatal error of the idempotent producer.
    producing: Option<Producing>,
    batches: u64,
}

impl KafkaSink {
    /// A sink for `config` (checked with [`SinkConfig::validate`](siem_ship::sink::SinkConfig::validate));
    /// it connects on its first batch.
    pub fn open(config: KafkaConfig) -> Result<KafkaSink, siem_ship::ConfigError> {
        let client_config = config.client_config()?;
        Ok(KafkaSink::new(config, client_config))
    }

    pub(crate) fn new(config: KafkaConfig, client_config: ClientConfig) -> KafkaSink {
        KafkaSink {
            config,
            client_config,
            producing: None,
            batches: 0,
        }
    }
}

impl Producing {
    /// The producer, started when there is none; one that stopped for good is dropped (what
    /// it still held was already reported) and the batch answered retryable, so the next one
    /// starts a new producer.
    fn ensure<'a>(
        slot: &'a mut Option<Producing>,
        config: &ClientConfig,
    ) -> Result<&'a Producing, SinkError> {
        if let Some((code, reason)) = slot
            .as_ref()
            .and_then(|p| p.producer.client().fatal_error())
        {
            *slot = None;
            return Err(SinkError::retryable(format!(
                "kafka: the idempotent producer stopped ({code:?}: {reason}); a new one starts with the next batch"
            )));
        }
        match slot {
            Some(p) => Ok(p),
            None => {
                let (sender, reports) = mpsc::channel();
                let producer = config
                    .create_with_context(Reports { sender })
                    .map_err(|e| {
                        SinkError::retryable(format!("kafka: cannot start the producer: {e}"))
                    })?;
                Ok(slot.insert(Producing { producer, reports }))
            }
        }
    }

    /// Records the reports of batch `number` that have arrived, waiting up to `wait` for the
    /// first; false when none came. A report of an earlier batch, purged after its deadline,
    /// is ignored: that batch already counted the record as not delivered.
    fn take_reports(&self, number: u64, outcomes: &mut [Outcome], wait: Duration) -> bool {
        let first = match self.reports.recv_timeout(wait) {
            Ok(report) => report,
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return false,
        };
        for (ticket, outcome) in std::iter::once(first).chain(self.reports.try_iter()) {
            if ticket.batch == number && outcomes.get(ticket.record) == Some(&Outcome::Pending) {
                outcomes[ticket.record] = outcome;
            }
        }
        true
    }

    /// Hands every record to librdkafka (waiting for room when its queue is full); a record it
    /// refuses outright gets its outcome now.
    fn produce(&self, config: &KafkaConfig, number: u64, batch: &Batch, outcomes: &mut [Outcome]) {
        for (i, record) in batch.records().enumerate() {
            let fields = RecordFields::read(record);
            let topic = config.topic_of(&fields);
            let key = config.key_of(&fields);
            let ticket = Box::new(Ticket {
                batch: number,
                record: i,
            });
            let mut message = BaseRecord::with_opaque_to(&topic, ticket)
                .payload(record)
                .headers(headers(&fields));
            if let Some(key) = &key {
                message = message.key(key.as_bytes());
            }
            loop {
                match self.producer.send(message) {
                    Ok(()) => break,
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                        message = back;
                        self.take_reports(number, outcomes, QUEUE_FULL_WAIT);
                    }
                    Err((e, _)) => {
                        outcomes[i] = judge(&e);
                        break;
                    }
                }
            }
        }
    }

    /// Has librdkafka send what it holds without waiting out `linger.ms` (no record of this
    /// batch is still to come), until every message it holds is acknowledged or failed, or
    /// `wait` passed. The delivery reports it serves meanwhile go to the channel as always.
    fn flush(&self, wait: Duration) {
        // rdkafka's own `flush` flushes for an instant then polls in steps of up to 100 ms, so
        // a broker thread that wakes after that instant lingers anyway; librdkafka's flush
        // keeps the flushing state on for the whole wait.
        let ms = i32::try_from(wait.as_millis()).unwrap_or(i32::MAX);
        // SAFETY: the handle is this producer's, alive as long as `self`; `rd_kafka_flush` may
        // be called from any thread while librdkafka's polling thread runs, and it only serves
        // delivery reports (to `Reports::delivery`) and waits.
        unsafe {
            rdkafka::bindings::rd_kafka_flush(self.producer.client().native_ptr(), ms);
        }
    }

    /// Waits until every record of batch `number` has its outcome or `deadline` passed; then
    /// purges what is left, which counts as not delivered.
    fn await_reports(&self, number: u64, outcomes: &mut [Outcome], deadline: Instant) {
        while outcomes.contains(&Outcome::Pending) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                self.producer
                    .purge(PurgeConfig::default().queue().inflight());
                let purged = Instant::now() + PURGE_WAIT;
                while outcomes.contains(&Outcome::Pending) && Instant::now() < purged {
                    self.take_reports(number, outcomes, PURGE_WAIT);
                }
                for o in outcomes.iter_mut().filter(|o| **o == Outcome::Pending) {
                    *o =
                        Outcome::Retry("no delivery report before the delivery timeout".to_owned());
                }
                return;
            }
            self.flush(left.min(FLUSH_STEP));
            self.take_reports(number, outcomes, Duration::ZERO);
        }
    }
}

/// The `event_id` and `event_type` headers, when the record is readable.
fn headers(fields: &RecordFields) -> OwnedHeaders {
    let mut headers = OwnedHeaders::new_with_capacity(2);
    if let Some(id) = fields.event_id() {
        headers = headers.insert(Header {
            key: "event_id",
            value: Some(id.as_bytes()),
        });
    }
    if let Some(event_type) = fields.event_type() {
        headers = headers.insert(Header {
            key: "event_type",
            value: Some(event_type.as_bytes()),
        });
    }
    headers
}

/// One answer for the route from every record's outcome.
fn answer(outcomes: &[Outcome]) -> Result<(), SinkError> {
    let mut failed = Vec::new();
    let mut rejected = Vec::new();
    let mut retry_reason = None;
    let mut reject_reason = None;
    for (i, outcome) in outcomes.iter().enumerate() {
        match outcome {
            Outcome::Delivered => {}
            Outcome::Retry(reason) => {
                failed.push(i);
                retry_reason.get_or_insert(reason.as_str());
            }
            Outcome::Reject(reason) => {
                rejected.push(i);
                reject_reason.get_or_insert(reason.as_str());
            }
            Outcome::Pending => {
                failed.push(i);
                retry_reason.get_or_insert("no delivery report");
            }
        }
    }
    let n = outcomes.len();
    match (retry_reason, reject_reason) {
        (None, None) => Ok(()),
        (Some(retry), reject) => {
            let mut message = format!(
                "kafka: {} of {n} records not delivered: {retry}",
                failed.len()
            );
            if let Some(reject) = reject {
                message.push_str(&format!("; {} refused: {reject}", rejected.len()));
            }
            let e = SinkError::retryable(message).with_failed_records(failed);
            Err(if rejected.is_empty() {
                e
            } else {
                e.with_rejected_records(rejected)
            })
        }
        (None, Some(reject)) => Err(SinkError::permanent(format!(
            "kafka: {} of {n} records refused: {reject}",
            rejected.len()
        ))
        .with_failed_records(rejected)),
    }
}

impl Sink for KafkaSink {
    fn kind(&self) -> &'static str {
        "kafka"
    }

    fn send(&mut self, batch: &Batch) -> Result<(), SinkError> {
        self.batches += 1;
        let number = self.batches;
        let deadline = Instant::now() + self.config.delivery_timeout + REPORT_MARGIN;
        let producing = Producing::ensure(&mut self.producing, &self.client_config)?;
        let mut outcomes = vec![Outcome::Pending; batch.len()];
        producing.produce(&self.config, number, batch, &mut outcomes);
        producing.await_reports(number, &mut outcomes, deadline);
        answer(&outcomes)
    }

    fn close(&mut self) -> Result<(), SinkError> {
        // Every batch waited for its reports: nothing of ours is left in the producer.
        drop(self.producing.take());
        Ok(())
    }
}

/// Connects with `config` and fetches the cluster's metadata (of `topic` when the topic is
/// one name): what it found, or why not.
pub(super) fn probe(
    config: &ClientConfig,
    topic: Option<&str>,
    timeout: Duration,
) -> Result<String, String> {
    let producer: BaseProducer = config
        .create()
        .map_err(|e| format!("cannot start the producer: {e}"))?;
    let metadata = producer
        .client()
        .fetch_metadata(topic, timeout)
        .map_err(|e| format!("no metadata from the brokers: {e}"))?;
    let brokers = metadata.brokers().len();
    match topic.and_then(|t| metadata.topics().iter().find(|m| m.name() == t)) {
        Some(t) if t.error().is_none() => Ok(format!(
            "{brokers} brokers; topic {} has {} partitions",
            t.name(),
            t.partitions().len()
        )),
        Some(t) => Ok(format!(
            "{brokers} brokers; topic {}: {:?}",
            t.name(),
            t.error().map(RDKafkaErrorCode::from)
        )),
        None => Ok(format!("{brokers} brokers")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_name_the_records_not_delivered() {
        assert!(answer(&[Outcome::Delivered, Outcome::Delivered]).is_ok());
        let e = answer(&[
            Outcome::Delivered,
            Outcome::Retry("timed out".into()),
            Outcome::Reject("too large".into()),
        ])
        .unwrap_err();
        assert!(e.is_retryable());
        assert_eq!(e.failed_records(), Some(&[1usize][..]));
        assert_eq!(e.rejected_records(), Some(&[2usize][..]));
        let e = answer(&[Outcome::Reject("too large".into()), Outcome::Delivered]).unwrap_err();
        assert!(!e.is_retryable());
        assert_eq!(e.failed_records(), Some(&[0usize][..]));
    }

    #[test]
    fn size_and_authorization_errors_are_permanent() {
        let large = KafkaError::MessageProduction(RDKafkaErrorCode::MessageSizeTooLarge);
        assert!(matches!(judge(&large), Outcome::Reject(_)));
        let timeout = KafkaError::MessageProduction(RDKafkaErrorCode::MessageTimedOut);
        assert!(matches!(judge(&timeout), Outcome::Retry(_)));
    }
}
