//! JetStream atomic batch publishing (ADR-50, nats-server 2.12 or later): the records of a
//! batch carry `Nats-Batch-Id` and `Nats-Batch-Sequence` headers, the last one
//! `Nats-Batch-Commit: 1`, and the server stores the whole batch at the commit or none of it,
//! answering the commit alone. Only the commit is a request: the messages before it are plain
//! publishes on the same connection (so they reach the server first), and any of them the
//! server refuses makes it refuse the commit.
//!
//! What nats-server 2.15.1 was seen to do (tests/nats.rs): a batch holding a `Nats-Msg-Id`
//! already in the stream's duplicate window is refused whole with error 10201, storing
//! nothing; a stream without `allow_atomic` refuses with 10174, storing nothing; more than
//! 1 000 messages are refused with 10199. Both refusals hand the batch to one-at-a-time
//! publishing, whose acknowledgements say which records were already stored.

use async_nats::jetstream::context::PublishError;
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::{self, ErrorCode};
use async_nats::HeaderMap;
use bytes::Bytes;

use super::NatsConfig;
use crate::RecordFields;

/// The most messages nats-server takes in one atomic batch.
///
/// ```
/// assert_eq!(siem_stream::nats::MAX_ATOMIC_BATCH, 1000);
/// ```
pub const MAX_ATOMIC_BATCH: usize = 1000;

/// Batches of one stream the server keeps open at once (ADR-50's limit per stream).
const MAX_OPEN_BATCHES: usize = 50;

/// What became of one atomic batch.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Verdict {
    /// The commit's acknowledgement counted every record of the batch.
    Stored,
    /// Nothing stored; publishing the records one at a time settles them: some were stored
    /// before (a resent batch), or could not be sent as part of a batch.
    OneByOne,
    /// Not taken as an atomic batch: the stream does not allow them (nothing stored), or the
    /// server predates them (it stored the messages one by one, unacknowledged but for the
    /// last).
    Disabled,
    /// Not acknowledged (nothing stored, or not known); trying again may help.
    Retry(String),
}

/// The records of one atomic batch, as headers and payloads ready to send.
struct Prepared {
    id: String,
    messages: Vec<(String, HeaderMap, Bytes)>,
}

fn prepare(config: &NatsConfig, id: String, records: &[&[u8]]) -> Prepared {
    let last = records.len();
    let messages = records
        .iter()
        .enumerate()
        .map(|(i, record)| {
            let fields = RecordFields::read(record);
            let mut headers = HeaderMap::new();
            headers.insert("Nats-Batch-Id", id.as_str());
            headers.insert("Nats-Batch-Sequence", (i + 1).to_string().as_str());
            if i + 1 == last {
                headers.insert("Nats-Batch-Commit", "1");
            }
            if let Some(event_id) = fields.event_id() {
                headers.insert("Nats-Msg-Id", event_id);
            }
            if let Some(stream) = &config.stream {
                headers.insert("Nats-Expected-Stream", stream.as_str());
            }
            (
                config.subject_of(&fields),
                headers,
                Bytes::copy_from_slice(record),
            )
        })
        .collect();
    Prepared { id, messages }
}

/// A batch id unique to this connection's life: the tail of a fresh inbox name (a NUID).
fn batch_id(context: &jetstream::Context) -> String {
    let inbox = context.client().new_inbox();
    inbox.rsplit('.').next().unwrap_or(&inbox).to_owned()
}

/// Publishes `records` as atomic batches of `size`, several open at once, and says what
/// became of each batch (in order; batch `i` holds `records[i * size..]`).
pub(super) async fn publish(
    config: &NatsConfig,
    context: &jetstream::Context,
    records: &[&[u8]],
    size: usize,
) -> Vec<Verdict> {
    let size = size.clamp(1, MAX_ATOMIC_BATCH);
    let open = (config.max_in_flight / size).clamp(1, MAX_OPEN_BATCHES);
    let batches: Vec<&[&[u8]]> = records.chunks(size).collect();
    let mut verdicts = Vec::with_capacity(batches.len());
    for window in batches.chunks(open) {
        let mut commits = Vec::with_capacity(window.len());
        for batch in window {
            let prepared = prepare(config, batch_id(context), batch);
            commits.push((
                prepared.id.clone(),
                batch.len(),
                send(context, prepared).await,
            ));
        }
        let answers =
            futures_util::future::join_all(commits.into_iter().map(|(id, len, sent)| async move {
                match sent {
                    Ok(ack) => judge_ack(&id, len, ack.await),
                    Err(verdict) => verdict,
                }
            }))
            .await;
        verdicts.extend(answers);
    }
    verdicts
}

/// Sends a batch's messages and its commit; the commit's acknowledgement to await, or why
/// the batch went no further.
async fn send(
    context: &jetstream::Context,
    prepared: Prepared,
) -> Result<jetstream::context::PublishAckFuture, Verdict> {
    let client = context.client();
    let mut messages = prepared.messages;
    // `chunks` makes no empty batch; an empty one would have nothing to store.
    let Some((subject, headers, payload)) = messages.pop() else {
        return Err(Verdict::Stored);
    };
    for (subject, headers, payload) in messages {
        // The server drops a batch that is never committed: nothing of it is stored.
        if client
            .publish_with_headers(subject, headers, payload)
            .await
            .is_err()
        {
            return Err(Verdict::OneByOne);
        }
    }
    context
        .send_publish(
            subject,
            PublishMessage::build().headers(headers).payload(payload),
        )
        .await
        .map_err(|_| Verdict::OneByOne)
}

fn judge_ack(
    id: &str,
    len: usize,
    ack: Result<jetstream::publish::PublishAck, PublishError>,
) -> Verdict {
    match ack {
        Ok(ack) if ack.batch_id.as_deref() == Some(id) && ack.batch_size == Some(len as u64) => {
            Verdict::Stored
        }
        // A server before 2.12 ignores the batch headers and answers the last message alone.
        Ok(ack) if ack.batch_id.is_none() => Verdict::Disabled,
        Ok(ack) => Verdict::Retry(format!(
            "the commit of batch {id} acknowledged {:?} of {len} records",
            ack.batch_size
        )),
        Err(e) => match code(&e) {
            Some(ErrorCode::ATOMIC_PUBLISH_CONTAINS_DUPLICATE_MESSAGE) => Verdict::OneByOne,
            Some(ErrorCode::ATOMIC_PUBLISH_DISABLED) => Verdict::Disabled,
            _ => Verdict::Retry(e.to_string()),
        },
    }
}

/// JetStream's error code behind a failed publish, when the server answered with one.
fn code(e: &PublishError) -> Option<ErrorCode> {
    std::error::Error::source(e)?
        .downcast_ref::<jetstream::Error>()
        .map(jetstream::Error::error_code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ack(json: serde_json::Value) -> Result<jetstream::publish::PublishAck, PublishError> {
        Ok(serde_json::from_value(json).unwrap())
    }

    #[test]
    fn only_a_commit_naming_the_batch_and_all_its_records_counts_them_stored() {
        let whole = ack(serde_json::json!({"stream": "S", "seq": 9, "batch": "b1", "count": 3}));
        assert_eq!(judge_ack("b1", 3, whole), Verdict::Stored);
        let short = ack(serde_json::json!({"stream": "S", "seq": 9, "batch": "b1", "count": 2}));
        assert!(matches!(judge_ack("b1", 3, short), Verdict::Retry(_)));
        let other = ack(serde_json::json!({"stream": "S", "seq": 9, "batch": "b2", "count": 3}));
        assert!(matches!(judge_ack("b1", 3, other), Verdict::Retry(_)));
        // A server before 2.12 acknowledges the last message as an ordinary publish.
        let plain = ack(serde_json::json!({"stream": "S", "seq": 9}));
        assert_eq!(judge_ack("b1", 3, plain), Verdict::Disabled);
    }
}
