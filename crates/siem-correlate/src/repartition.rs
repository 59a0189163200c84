//! Re-keying, as Kafka Streams does: each event of the events topic is re-produced to the
//! repartition topic once per re-keyed slice of the rules, keyed by that slice's fields and
//! marked with the slice in a header, so that every group of those rules lands in one
//! partition and no rule sees an event twice.
//!
//! Each copy also names the events-topic message it copies (its partition and offset). A batch
//! whose offsets were not committed (its instance died, or its alerts could not be shipped) is
//! copied again by whoever reads it next; the copies of one events partition reach a
//! repartition partition in offset order, so a copy at or below the highest origin offset
//! already seen is such a repeat, and is skipped ([`crate::partition::PartitionState::first_sight`]):
//! a repeat must not count twice in a window.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rdkafka::message::{Header, Headers, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::{ClientConfig, ClientContext};
use tracing_siem::event::SecurityEvent;
use tracing_siem::Slice;

use crate::CorrelateError;

/// The header naming the slice a repartitioned message is for: its key fields, joined by `,`
/// (empty for the global slice).
pub(crate) const SLICE_HEADER: &str = "siem-slice";

/// The header naming the events-topic message a copy was made from: `partition/offset`.
pub(crate) const ORIGIN_HEADER: &str = "siem-origin";

/// Counts messages the brokers did not acknowledge, so a batch is committed only when its
/// re-produced copies all were.
#[derive(Default)]
pub(crate) struct Acknowledgements {
    failed: AtomicU64,
}

impl ClientContext for Acknowledgements {}

impl ProducerContext for Acknowledgements {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if result.is_err() {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The producer of the repartition topic.
pub(crate) struct Repartitioner {
    producer: BaseProducer<Acknowledgements>,
    topic: String,
    /// Failures already accounted for by an earlier [`Repartitioner::flush`].
    failures_seen: u64,
}

/// The value of the slice header for `slice`.
pub(crate) fn slice_name(slice: &Slice) -> String {
    slice.key_fields.join(",")
}

/// The message key of `event` in `slice`: the slice, then each key field's value (absent
/// fields as an empty value), separated by a byte that never occurs in UTF-8. Never empty:
/// librdkafka's default partitioner scatters empty keys at random, which would split the
/// global slice (no key fields) over every partition.
fn key_of(slice: &Slice, event: &SecurityEvent) -> Vec<u8> {
    let mut key = b"slice:".to_vec();
    key.extend_from_slice(slice_name(slice).as_bytes());
    for field in &slice.key_fields {
        key.push(0xff);
        if let Some(value) = event.field_text(field) {
            key.extend_from_slice(value.as_bytes());
        }
    }
    key
}

impl Repartitioner {
    pub fn new(client: &ClientConfig, topic: &str) -> Result<Repartitioner, CorrelateError> {
        let producer = client
            .clone()
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .create_with_context(Acknowledgements::default())?;
        Ok(Repartitioner {
            producer,
            topic: topic.to_owned(),
            failures_seen: 0,
        })
    }

    /// Queues `payload` (the event's message as read, at `origin` in the events topic, with
    /// its message time `timestamp` in ms) for `slice`, keyed by its fields. The copy keeps the
    /// original's message time, so a warm-up's lookback selects copies by when the events
    /// were produced, not by when they were copied (a correlator catching up copies hours of
    /// events in minutes).
    pub fn send(
        &self,
        slice: &Slice,
        event: &SecurityEvent,
        payload: &[u8],
        origin: (i32, i64),
        timestamp: Option<i64>,
    ) -> bool {
        let key = key_of(slice, event);
        let name = slice_name(slice);
        let origin = format!("{}/{}", origin.0, origin.1);
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: SLICE_HEADER,
                value: Some(name.as_bytes()),
            })
            .insert(Header {
                key: ORIGIN_HEADER,
                value: Some(origin.as_bytes()),
            });
        let mut record = BaseRecord::to(&self.topic)
            .key(&key)
            .payload(payload)
            .headers(headers);
        if let Some(ms) = timestamp {
            record = record.timestamp(ms);
        }
        loop {
            match self.producer.send(record) {
                Ok(()) => return true,
                Err((
                    rdkafka::error::KafkaError::MessageProduction(
                        rdkafka::types::RDKafkaErrorCode::QueueFull,
                    ),
                    back,
                )) => {
                    // The local queue drains as the brokers acknowledge.
                    self.producer.poll(Duration::from_millis(50));
                    record = back;
                }
                Err(_) => return false,
            }
        }
    }

    /// Waits until every queued message is acknowledged: true when all were since the last
    /// call.
    pub fn flush(&mut self, timeout: Duration) -> bool {
        // rdkafka's own `flush` serves delivery reports in 100 ms steps, which would cap a
        // batch at one per 100 ms; polling in short steps ends as soon as the last arrives.
        let deadline = std::time::Instant::now() + timeout;
        while self.producer.in_flight_count() > 0 && std::time::Instant::now() < deadline {
            self.producer.poll(Duration::from_millis(1));
        }
        let flushed = self.producer.in_flight_count() == 0;
        let failed = self.producer.context().failed.load(Ordering::Relaxed);
        let clean = failed == self.failures_seen;
        self.failures_seen = failed;
        flushed && clean
    }
}

/// The slice a repartitioned message is for, by its header (index into the plan's
/// `rekeyed`, plus one: 0 is the events topic's own slice).
pub(crate) fn slice_of(
    headers: Option<&rdkafka::message::BorrowedHeaders>,
    names: &[String],
) -> Option<usize> {
    let headers = headers?;
    let value = headers
        .iter()
        .find(|h| h.key == SLICE_HEADER)
        .and_then(|h| h.value)?;
    names
        .iter()
        .position(|n| n.as_bytes() == value)
        .map(|i| i + 1)
}

/// The events-topic partition and offset a copy was made from, by its header; `None` when
/// the header is missing or malformed (such a copy is evaluated without the repeat check).
pub(crate) fn origin_of(headers: Option<&rdkafka::message::BorrowedHeaders>) -> Option<(i32, i64)> {
    let value = headers?
        .iter()
        .find(|h| h.key == ORIGIN_HEADER)
        .and_then(|h| h.value)?;
    let (partition, offset) = std::str::from_utf8(value).ok()?.split_once('/')?;
    Some((partition.parse().ok()?, offset.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_siem::event::EventType;
    use tracing_siem::Config;

    fn plan() -> tracing_siem::CorrelationPlan {
        let yaml = "correlate: { brokers: 'b:9092', topic: t, repartition_topic: r }\nrules: { alerts: [{ name: per_user, event_type: auth.failure, group_by: [user] }] }";
        let config = Config::from_yaml_str(yaml).unwrap();
        config
            .correlate
            .as_ref()
            .unwrap()
            .plan(&config.rules)
            .unwrap()
    }

    #[test]
    fn keys_are_never_empty_and_tell_groups_and_slices_apart() {
        let plan = plan();
        let (by_user, global) = (&plan.rekeyed[0], &plan.rekeyed[1]);
        assert_eq!(by_user.key_fields, ["user"]);
        assert!(global.key_fields.is_empty());
        let mut alice = SecurityEvent::new(EventType::parse("auth.failure"), "m");
        alice.actor.user = Some("alice".into());
        let mut bob = alice.clone();
        bob.actor.user = Some("bob".into());
        assert!(!key_of(global, &alice).is_empty());
        assert_eq!(key_of(global, &alice), key_of(global, &bob));
        assert_ne!(key_of(by_user, &alice), key_of(by_user, &bob));
        assert_ne!(key_of(by_user, &alice), key_of(global, &alice));
    }
}
