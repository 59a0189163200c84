//! The sink writing one log stream: it creates the group and stream when asked, sorts each
//! batch by timestamp (CloudWatch refuses a call whose events are out of order), and hands it
//! to the shared HTTP sink, which splits, sends and judges.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;

use reqwest::StatusCode;
use siem_event::Timestamp;
use siem_ship::{Batch, Sink, SinkError};

use super::api::{error_type, LogsApi, RETRYABLE};
use crate::record::time_millis;
use crate::reply::status_reason;
use crate::sink::HttpSink;

pub(crate) struct LogStreamSink {
    inner: HttpSink<LogsApi>,
    batch_time: Arc<AtomicI64>,
    ready: Arc<AtomicBool>,
    group: String,
    stream: String,
}

impl LogStreamSink {
    pub fn new(
        inner: HttpSink<LogsApi>,
        batch_time: Arc<AtomicI64>,
        ready: Arc<AtomicBool>,
        group: String,
        stream: String,
    ) -> LogStreamSink {
        LogStreamSink {
            inner,
            batch_time,
            ready,
            group,
            stream,
        }
    }

    /// Creates the log group, then the log stream; either existing already is fine.
    fn create(&mut self) -> Result<(), SinkError> {
        let group = serde_json::json!({ "logGroupName": self.group });
        let stream = serde_json::json!({
            "logGroupName": self.group,
            "logStreamName": self.stream,
        });
        for (action, body) in [("CreateLogGroup", group), ("CreateLogStream", stream)] {
            let body = body.to_string().into_bytes();
            let answer = self
                .inner
                .call(|api, client| api.call(client, action, body))?;
            let (status, reply) = answer.map_err(|reason| {
                SinkError::retryable(format!("cloudwatch: {action}: {reason}"))
            })?;
            let kind = error_type(&Default::default(), &reply).unwrap_or_default();
            if status.is_success() || kind == "ResourceAlreadyExistsException" {
                continue;
            }
            let message = format!("cloudwatch: {action}: {}", status_reason(status, &reply));
            return Err(if RETRYABLE.contains(&kind.as_str()) || retryable(status) {
                SinkError::retryable(message)
            } else {
                SinkError::permanent(message)
            });
        }
        self.ready.store(true, Ordering::Relaxed);
        Ok(())
    }
}

fn retryable(status: StatusCode) -> bool {
    status.is_server_error() || matches!(status.as_u16(), 408 | 429)
}

impl Sink for LogStreamSink {
    fn kind(&self) -> &'static str {
        "cloudwatch"
    }

    fn send(&mut self, batch: &Batch) -> Result<(), SinkError> {
        if batch.is_empty() {
            return Ok(());
        }
        if !self.ready.load(Ordering::Relaxed) {
            self.create()?;
        }
        let now = Timestamp::now().unix_millis();
        self.batch_time.store(now, Ordering::Relaxed);
        let times: Vec<i64> = batch.records().map(|r| time_millis(r, now)).collect();
        let mut order: Vec<usize> = (0..batch.len()).collect();
        // Stable: records of the same millisecond keep their order.
        order.sort_by_key(|&i| times[i]);
        if order.iter().enumerate().all(|(at, &i)| at == i) {
            return self.inner.send(batch);
        }
        let mut sorted = Batch::with_capacity(batch.len(), batch.byte_len());
        for &i in &order {
            sorted.push(batch.record(i).unwrap_or_default());
        }
        self.inner
            .send(&sorted)
            .map_err(|e| in_batch_order(e, &order))
    }
}

/// `e`, about the sorted batch, with its record indices taken back to the batch's own order
/// (`order[k]` is the batch index of sorted record `k`).
fn in_batch_order(e: SinkError, order: &[usize]) -> SinkError {
    let back = |indices: &[usize]| {
        let mut mapped: Vec<usize> = indices
            .iter()
            .filter_map(|&k| order.get(k).copied())
            .collect();
        mapped.sort_unstable();
        mapped
    };
    let mut out = if e.is_retryable() {
        SinkError::retryable(e.message())
    } else {
        SinkError::permanent(e.message())
    };
    if let Some(failed) = e.failed_records() {
        out = out.with_failed_records(back(failed));
    }
    if let Some(rejected) = e.rejected_records() {
        out = out.with_rejected_records(back(rejected));
    }
    if let Some(wait) = e.retry_after() {
        out = out.with_retry_after(wait);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn indices_return_to_the_batch_order() {
        let e = SinkError::retryable("HTTP 503")
            .with_failed_records(vec![0, 1])
            .with_rejected_records(vec![2])
            .with_retry_after(Duration::from_secs(3));
        let back = in_batch_order(e, &[2, 0, 1]);
        assert!(back.is_retryable());
        assert_eq!(back.failed_records(), Some(&[0usize, 2][..]));
        assert_eq!(back.rejected_records(), Some(&[1usize][..]));
        assert_eq!(back.retry_after(), Some(Duration::from_secs(3)));
        assert_eq!(back.message(), "HTTP 503");
    }
}
