//! A pipeline for events that are already security events: no capture, no classification, no
//! rules, just the configured destinations with their formats, filters, batching, retries and
//! spools. `siem correlate` ships the alerts it raises through one.

use std::sync::Arc;
use std::time::Duration;

use siem_event::SecurityEvent;
use siem_ship::{DeliveryReport, DestinationMetrics, Pipeline, PipelineConfig, Processor};

use super::{open_destinations, Origin, SiemBuilder};
use crate::config::{Compiled, ConfigError};

/// The configured destinations, fed with ready-made [`SecurityEvent`]s (see
/// [`SiemBuilder::build_relay`]).
///
/// ```
/// use std::time::Duration;
/// use tracing_siem::event::{EventType, SecurityEvent};
/// use tracing_siem::{DestinationConfig, FileConfig, SiemLayer};
///
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("alerts.jsonl");
/// let relay = SiemLayer::builder()
///     .destination(DestinationConfig::new(FileConfig::new(&path)))
///     .build_relay()
///     .unwrap();
/// assert!(relay.submit(SecurityEvent::new(EventType::parse("alert.threshold"), "brute force")));
/// assert!(relay.flush(Duration::from_secs(5)).completed);
/// assert!(std::fs::read_to_string(&path).unwrap().contains("brute force"));
/// ```
pub struct SiemRelay {
    pipeline: Pipeline<SecurityEvent>,
    shutdown_timeout: Duration,
}

/// Gives events that came without an origin this process's host, application and labels.
struct Stamp {
    host: Arc<str>,
    app: Arc<str>,
    labels: Arc<[(String, String)]>,
}

impl Processor<SecurityEvent> for Stamp {
    fn process(&mut self, mut event: SecurityEvent, out: &mut Vec<SecurityEvent>) {
        if event.host.is_empty() {
            self.complete(&mut event);
        }
        out.push(event);
    }

    fn complete(&mut self, event: &mut SecurityEvent) {
        event.host = Arc::clone(&self.host);
        event.app = Arc::clone(&self.app);
        event.labels = Arc::clone(&self.labels);
    }
}

impl SiemBuilder {
    /// Starts the destinations alone, for a program that has security events already (a
    /// relay, a correlator reading them from a log) rather than `tracing` events to capture.
    /// The configuration is validated as for [`SiemBuilder::build`]; the rules are not run
    /// (their actions still route alert events to their destinations), so callbacks
    /// registered with `on_alert` are refused.
    pub fn build_relay(self) -> Result<SiemRelay, ConfigError> {
        let SiemBuilder {
            mut config,
            custom,
            callbacks,
        } = self;
        if !callbacks.is_empty() {
            return Err(ConfigError::invalid(
                "rules",
                "a relay runs no rules, so alert callbacks and action handlers cannot be registered on it",
            ));
        }
        if config.destinations.is_empty() && custom.is_empty() {
            config.destinations.push(crate::DestinationConfig::stdout());
        }
        let Compiled {
            overflow,
            engine,
            destinations: compiled,
            ..
        } = config.compile()?;
        let mut names = config.destination_names();
        names.extend(
            custom
                .iter()
                .enumerate()
                .map(|(j, c)| super::custom_name(c, j)),
        );
        let actions = crate::actions::check(&config.rules, &engine, &names, None)?;
        let destinations = open_destinations(&config, compiled, custom, &actions)?;
        let origin = Origin::of(&config);
        let stamp = Stamp {
            host: origin.host,
            app: origin.app,
            labels: origin.labels,
        };
        let pipeline_config = PipelineConfig {
            queue_capacity: config.queue.capacity,
            overflow,
            tick: config.queue.poll_interval,
            drop_report_interval: config.drop_report_interval,
            notices: config.stderr_notices,
            thread_name: "siem-relay".to_owned(),
            ..PipelineConfig::default()
        };
        let pipeline = Pipeline::start(pipeline_config, stamp, destinations).map_err(|e| {
            ConfigError::invalid("", format!("cannot start the pipeline thread: {e}"))
                .with_source(e)
        })?;
        Ok(SiemRelay {
            pipeline,
            shutdown_timeout: config.shutdown_timeout,
        })
    }
}

impl SiemRelay {
    /// Queues one event for the destinations. False when it was not taken (the queue is full
    /// under `overflow: drop-newest`, or the relay is shut down): it is counted as dropped.
    pub fn submit(&self, event: SecurityEvent) -> bool {
        self.pipeline.queue().push(event, false)
    }

    /// Delivers every event submitted before this call and flushes every destination,
    /// waiting at most `timeout`.
    pub fn flush(&self, timeout: Duration) -> DeliveryReport {
        self.pipeline.flush(timeout)
    }

    /// Each destination's figures.
    ///
    /// ```
    /// let relay = tracing_siem::SiemLayer::builder().build_relay().unwrap();
    /// assert_eq!(relay.destinations()[0].shipped, 0);
    /// ```
    pub fn destinations(&self) -> Vec<DestinationMetrics> {
        self.pipeline.metrics().destinations
    }

    /// Events dropped so far, at the queue and at every destination.
    ///
    /// ```
    /// let relay = tracing_siem::SiemLayer::builder().build_relay().unwrap();
    /// assert_eq!(relay.dropped(), 0);
    /// ```
    pub fn dropped(&self) -> u64 {
        self.pipeline.metrics().dropped()
    }

    /// Stops taking events, delivers what is queued within `timeout` and closes every
    /// destination.
    pub fn shutdown(&self, timeout: Duration) -> DeliveryReport {
        self.pipeline.shutdown(timeout)
    }
}

impl Drop for SiemRelay {
    fn drop(&mut self) {
        let report = self.pipeline.shutdown(self.shutdown_timeout);
        if !report.completed {
            eprintln!(
                "tracing-siem: relay shutdown deadline passed with {} security events undelivered ({:?})",
                report.undelivered_total(),
                report.undelivered
            );
        }
    }
}
