//! Rebuilding a partition's windows when it moves: its new owner re-reads the span of the log
//! before the first message it will process (the committed offset), on a consumer of its own
//! outside the group, and evaluates it with the alerts suppressed, since the previous owner
//! committed those offsets only after shipping their alerts.

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use crate::CorrelateError;

/// How long the re-read may go without a message before it is given up.
const QUIET: Duration = Duration::from_secs(10);

/// The re-reading consumer (assigned partitions, no group membership, no commits).
pub(crate) struct WarmUp {
    reader: BaseConsumer,
    lookback: Duration,
    max_events: u64,
}

impl WarmUp {
    pub fn new(
        client: &ClientConfig,
        lookback: Duration,
        max_events: u64,
    ) -> Result<WarmUp, CorrelateError> {
        let reader = client
            .clone()
            // Required by librdkafka for any consumer; this one never joins or commits.
            .set("group.id", "siem-correlate-warmup")
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            // Should retention delete messages while they are being re-read, go on from the
            // oldest left rather than wait.
            .set("auto.offset.reset", "earliest")
            .create()?;
        Ok(WarmUp {
            reader,
            lookback,
            max_events,
        })
    }

    /// Feeds `each` the messages of `first`'s partition from `lookback` (by message time)
    /// before `first` up to the one before it, at most `max_events` of them.
    pub fn replay(
        &self,
        (topic, partition): &(String, i32),
        first: &BorrowedMessage<'_>,
        mut each: impl FnMut(&BorrowedMessage<'_>),
    ) -> Result<(), CorrelateError> {
        let end = first.offset();
        if end <= 0 || self.lookback.is_zero() {
            return Ok(());
        }
        // Retention may have deleted the log's beginning: what is gone cannot be re-read.
        let (oldest, _) = self.reader.fetch_watermarks(topic, *partition, LOOKUP)?;
        if end <= oldest {
            return Ok(());
        }
        let floor = end
            .saturating_sub(i64::try_from(self.max_events).unwrap_or(i64::MAX))
            .max(oldest);
        let since = first.timestamp().to_millis().map(|at| {
            at.saturating_sub(i64::try_from(self.lookback.as_millis()).unwrap_or(i64::MAX))
        });
        let start = match since {
            Some(since) => match self.offset_at(topic, *partition, since)? {
                Some(offset) if offset < end => offset,
                // Some brokers (librdkafka's mock among them) answer a time lookup with the
                // end of the log: the message before `first` tells whether the span is empty.
                _ if self.time_of(topic, *partition, end - 1)? >= Some(since) => floor,
                _ => end,
            },
            None => floor,
        }
        .max(floor);
        if start >= end {
            return Ok(());
        }
        let mut assignment = TopicPartitionList::new();
        assignment.add_partition_offset(topic, *partition, Offset::Offset(start))?;
        self.reader.assign(&assignment)?;
        let mut last_message = Instant::now();
        let result = loop {
            match self.reader.poll(Duration::from_millis(100)) {
                Some(Ok(message)) => {
                    last_message = Instant::now();
                    if message.offset() >= end {
                        break Ok(());
                    }
                    let recent = match (since, message.timestamp().to_millis()) {
                        (Some(since), Some(at)) => at >= since,
                        _ => true,
                    };
                    if recent {
                        each(&message);
                    }
                    if message.offset() + 1 >= end {
                        break Ok(());
                    }
                }
                Some(Err(e)) => break Err(e.into()),
                None if last_message.elapsed() > QUIET => {
                    break Err(CorrelateError::Kafka(
                        rdkafka::error::KafkaError::PartitionEOF(*partition),
                    ))
                }
                None => {}
            }
        };
        self.reader.unassign()?;
        result
    }

    /// The first offset of the partition at or after `millis` (message time), if the broker
    /// knows one.
    fn offset_at(
        &self,
        topic: &str,
        partition: i32,
        millis: i64,
    ) -> Result<Option<i64>, CorrelateError> {
        let mut query = TopicPartitionList::new();
        query.add_partition_offset(topic, partition, Offset::Offset(millis))?;
        let found = self.reader.offsets_for_times(query, LOOKUP)?;
        Ok(
            match found.find_partition(topic, partition).map(|e| e.offset()) {
                Some(Offset::Offset(o)) => Some(o),
                _ => None,
            },
        )
    }

    /// The message time of the message at `offset`, if it can be read.
    fn time_of(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
    ) -> Result<Option<i64>, CorrelateError> {
        let mut assignment = TopicPartitionList::new();
        assignment.add_partition_offset(topic, partition, Offset::Offset(offset))?;
        self.reader.assign(&assignment)?;
        let deadline = Instant::now() + LOOKUP;
        let mut found = None;
        while Instant::now() < deadline {
            match self.reader.poll(Duration::from_millis(100)) {
                Some(Ok(message)) => {
                    found = message.timestamp().to_millis();
                    break;
                }
                Some(Err(e)) => {
                    self.reader.unassign()?;
                    return Err(e.into());
                }
                None => {}
            }
        }
        self.reader.unassign()?;
        Ok(found)
    }
}

/// How long a broker lookup may take.
const LOOKUP: Duration = Duration::from_secs(10);
