//! The consumer group member: takes events from the events topic (and the repartition topic),
//! evaluates them partition by partition, ships the alerts and commits what it shipped.

use std::collections::{BTreeMap, HashMap};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::{ClientConfig, ClientContext, Offset, TopicPartitionList};
use tracing_siem::format::decode_json;
use tracing_siem::{Config, CorrelateConfig, CorrelationPlan, SiemBuilder, SiemRelay};

use crate::metrics::{CorrelateMetrics, MetricsServer, PartitionLabels};
use crate::partition::PartitionState;
use crate::repartition::{origin_of, slice_name, slice_of, Repartitioner};
use crate::warmup::WarmUp;
use crate::{stable_alert_id, CorrelateError};

/// A topic and partition.
type Tp = (String, i32);

/// How long to wait before re-reading a batch whose alerts could not be shipped.
const RETRY_PAUSE: Duration = Duration::from_millis(500);

/// A batch is closed at most this long after its first event, so alerts never wait long.
const MAX_BATCH_AGE: Duration = Duration::from_millis(200);

/// How often the partitions' lag is measured (a round trip to the brokers).
const LAG_EVERY: Duration = Duration::from_secs(2);

/// One `siem correlate` instance.
///
/// ```no_run
/// use std::sync::atomic::AtomicBool;
/// use std::sync::Arc;
/// let config = tracing_siem::Config::from_yaml_file("correlate.yaml").unwrap();
/// let stop = Arc::new(AtomicBool::new(false));
/// siem_correlate::Correlator::start(config).unwrap().run(&stop).unwrap();
/// ```
pub struct Correlator {
    consumer: BaseConsumer<Group>,
    work: Arc<Mutex<Work>>,
    metrics: Arc<CorrelateMetrics>,
    /// Serves the metrics while the correlator lives.
    _metrics_server: Option<MetricsServer>,
}

/// Everything the main loop and the rebalance callbacks both touch.
struct Work {
    settings: CorrelateConfig,
    plan: CorrelationPlan,
    /// The slice header values of the re-keyed slices, in plan order.
    slice_names: Vec<String>,
    relay: SiemRelay,
    repartitioner: Option<Repartitioner>,
    warmup: WarmUp,
    /// Partitions assigned to this instance and warm.
    owned: HashMap<Tp, PartitionState>,
    /// Partitions revoked cleanly (committed up to their state), kept in case they come back.
    parked: HashMap<Tp, PartitionState>,
    /// The batch: per partition, the first offset it holds and the offset after its last.
    batch: BTreeMap<Tp, (i64, i64)>,
    batch_started: Option<Instant>,
    batch_events: usize,
    /// An alert the relay refused (full queue): the batch must not be committed.
    batch_failed: bool,
    /// When the lag was last measured.
    lag_updated: Option<Instant>,
    metrics: Arc<CorrelateMetrics>,
}

/// The consumer's context: the rebalance callbacks commit what was shipped before
/// partitions leave, and count the moves.
struct Group {
    work: Arc<Mutex<Work>>,
    metrics: Arc<CorrelateMetrics>,
}

impl ClientContext for Group {}

impl ConsumerContext for Group {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        self.metrics.rebalances.inc();
        let Rebalance::Revoke(revoked) = rebalance else {
            return;
        };
        let mut work = self.work.lock();
        let shipped = work.finish_batch(consumer, false);
        for element in revoked.elements() {
            let tp = (element.topic().to_owned(), element.partition());
            if let Some(state) = work.owned.remove(&tp) {
                // A partition whose batch was not shipped is re-read by its next owner.
                if shipped {
                    work.parked.insert(tp, state);
                }
            }
        }
        work.metrics.partitions_owned.set(work.owned.len() as i64);
        eprintln!("siem correlate: revoked {}", describe(revoked));
    }

    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(assigned) = rebalance {
            self.metrics.partitions_owned.set(assigned.count() as i64);
            eprintln!("siem correlate: assigned {}", describe(assigned));
        }
    }
}

fn describe(list: &TopicPartitionList) -> String {
    let parts: Vec<String> = list
        .elements()
        .iter()
        .map(|e| format!("{}/{}", e.topic(), e.partition()))
        .collect();
    format!("[{}]", parts.join(", "))
}

/// librdkafka settings of every client, from the `correlate:` section.
fn client_config(settings: &CorrelateConfig) -> ClientConfig {
    let mut client = ClientConfig::new();
    client.set("bootstrap.servers", &settings.brokers);
    for (key, value) in &settings.kafka {
        client.set(key, value);
    }
    client
}

impl Correlator {
    /// Validates `config`, starts its destinations and metrics, and joins the consumer group.
    pub fn start(config: Config) -> Result<Correlator, CorrelateError> {
        let settings = config
            .correlate
            .clone()
            .ok_or(CorrelateError::NotConfigured)?;
        config.validate()?;
        let plan = settings.plan(&config.rules)?;
        let lookback = settings.lookback(&config.rules);
        let relay = SiemBuilder::from_config(config).build_relay()?;
        let metrics = Arc::new(CorrelateMetrics::default());
        let metrics_server = match &settings.metrics.listen {
            Some(listen) => {
                let listener = TcpListener::bind(listen).map_err(CorrelateError::Metrics)?;
                Some(
                    MetricsServer::start(listener, Arc::clone(&metrics))
                        .map_err(CorrelateError::Metrics)?,
                )
            }
            None => None,
        };
        let client = client_config(&settings);
        let repartitioner = match (&settings.repartition_topic, plan.rekeyed.is_empty()) {
            (Some(topic), false) => Some(Repartitioner::new(&client, topic)?),
            _ => None,
        };
        let warmup = WarmUp::new(&client, lookback, settings.checkpoint.max_events)?;
        let mut topics = vec![settings.topic.clone()];
        topics.extend(
            repartitioner
                .as_ref()
                .and(settings.repartition_topic.clone()),
        );
        let group_id = settings.group_id.clone();
        let work = Arc::new(Mutex::new(Work {
            slice_names: plan.rekeyed.iter().map(slice_name).collect(),
            plan,
            relay,
            repartitioner,
            warmup,
            owned: HashMap::new(),
            parked: HashMap::new(),
            batch: BTreeMap::new(),
            batch_started: None,
            batch_events: 0,
            batch_failed: false,
            lag_updated: None,
            metrics: Arc::clone(&metrics),
            settings,
        }));
        let consumer: BaseConsumer<Group> = client
            .clone()
            .set("group.id", &group_id)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .create_with_context(Group {
                work: Arc::clone(&work),
                metrics: Arc::clone(&metrics),
            })?;
        let topics: Vec<&str> = topics.iter().map(String::as_str).collect();
        consumer.subscribe(&topics)?;
        Ok(Correlator {
            consumer,
            work,
            metrics,
            _metrics_server: metrics_server,
        })
    }

    /// The Prometheus text of the figures (what `GET /metrics` serves).
    pub fn metrics_text(&self) -> String {
        self.metrics.render()
    }

    /// Consumes until `stop` is set (SIGTERM, SIGINT), then finishes the batch, ships it,
    /// commits it and leaves the group.
    pub fn run(self, stop: &AtomicBool) -> Result<(), CorrelateError> {
        while !stop.load(Ordering::Relaxed) {
            let polled = self.consumer.poll(Duration::from_millis(100));
            let mut work = self.work.lock();
            match polled {
                Some(Ok(message)) => work.take(&message),
                Some(Err(e)) => eprintln!("siem correlate: kafka: {e}"),
                None => {}
            }
            if work.batch_due() && !work.finish_batch(&self.consumer, true) {
                drop(work);
                std::thread::sleep(RETRY_PAUSE);
            }
        }
        let shipped = self.work.lock().finish_batch(&self.consumer, false);
        if !shipped {
            eprintln!("siem correlate: stopping with a batch whose alerts were not all shipped: it was not committed and will be read again");
        }
        self.consumer.unsubscribe();
        let settings_timeout = self.work.lock().settings.flush_timeout;
        // Leaving the group hands the partitions over at once instead of after the session
        // timeout.
        drop(self.consumer);
        let report = self.work.lock().relay.shutdown(settings_timeout);
        if !report.completed {
            eprintln!(
                "siem correlate: {} alerts undelivered at shutdown",
                report.undelivered_total()
            );
        }
        Ok(())
    }
}

impl Work {
    /// Whether the batch should be shipped and committed now.
    fn batch_due(&self) -> bool {
        self.batch_events >= self.settings.batch_events
            || self
                .batch_started
                .is_some_and(|t| t.elapsed() >= MAX_BATCH_AGE)
    }

    /// Evaluates one message and adds it to the batch.
    fn take(&mut self, message: &BorrowedMessage<'_>) {
        let tp = (message.topic().to_owned(), message.partition());
        let offset = message.offset();
        self.batch_started.get_or_insert_with(Instant::now);
        self.batch_events += 1;
        let span = self.batch.entry(tp.clone()).or_insert((offset, offset));
        span.1 = offset + 1;
        let slices = 1 + self.plan.rekeyed.len();
        if !self.owned.contains_key(&tp) {
            let state = match self.parked.remove(&tp) {
                Some(state) if state.next_offset == offset => state,
                _ => self.warm_up(&tp, message, slices),
            };
            self.owned.insert(tp.clone(), state);
        }
        let state = self.owned.get_mut(&tp).expect("warmed above");
        state.next_offset = offset + 1;
        let Some(payload) = message.payload() else {
            self.metrics.skip("empty");
            return;
        };
        if payload.len() > self.settings.max_message_bytes {
            self.metrics.skip("too_large");
            return;
        }
        let slice = if tp.0 == self.settings.topic {
            0
        } else {
            match slice_of(message.headers(), &self.slice_names) {
                Some(slice) => slice,
                None => {
                    self.metrics.skip("unknown_slice");
                    return;
                }
            }
        };
        if slice > 0 {
            if let Some(origin) = origin_of(message.headers()) {
                if !state.first_sight(slice, origin) {
                    self.metrics.skip("repeated_copy");
                    return;
                }
            }
        }
        let mut event = match decode_json(payload) {
            Ok(event) => event,
            Err(_) => {
                self.metrics.skip("not_json");
                return;
            }
        };
        self.metrics.events.inc();
        if slice == 0 {
            if let Some(repartitioner) = &self.repartitioner {
                for rekeyed in &self.plan.rekeyed {
                    if repartitioner.send(
                        rekeyed,
                        &event,
                        payload,
                        (tp.1, offset),
                        message.timestamp().to_millis(),
                    ) {
                        self.metrics.repartitioned.inc();
                    } else {
                        self.batch_failed = true;
                    }
                }
            }
        }
        match state.evaluate(&self.plan, slice, &mut event) {
            Ok(alerts) => {
                for mut alert in alerts {
                    alert.id = stable_alert_id(&alert);
                    self.metrics.alerts.inc();
                    if !self.relay.submit(alert.to_event()) {
                        self.batch_failed = true;
                    }
                }
            }
            Err(e) => {
                eprintln!("siem correlate: {e}");
                self.batch_failed = true;
            }
        }
    }

    /// A new state for a partition this instance did not hold, rebuilt from the log before
    /// `first` (see [`WarmUp`]).
    fn warm_up(&mut self, tp: &Tp, first: &BorrowedMessage<'_>, slices: usize) -> PartitionState {
        let mut state = PartitionState::new(slices, first.offset());
        let is_events_topic = tp.0 == self.settings.topic;
        let plan = &self.plan;
        let names = &self.slice_names;
        let max_bytes = self.settings.max_message_bytes;
        let metrics = &self.metrics;
        let replayed = self.warmup.replay(tp, first, |message| {
            let Some(payload) = message.payload().filter(|p| p.len() <= max_bytes) else {
                return;
            };
            let slice = if is_events_topic {
                Some(0)
            } else {
                slice_of(message.headers(), names)
            };
            let Some(slice) = slice else {
                return;
            };
            let repeat = slice > 0
                && origin_of(message.headers()).is_some_and(|o| !state.first_sight(slice, o));
            let (false, Ok(mut event)) = (repeat, decode_json(payload)) else {
                return;
            };
            metrics.warmup_events.inc();
            if let Ok(alerts) = state.evaluate(plan, slice, &mut event) {
                // Raised before the committed offset: the previous owner shipped them.
                metrics.alerts_suppressed.inc_by(alerts.len() as u64);
            }
        });
        if let Err(e) = replayed {
            eprintln!(
                "siem correlate: {}/{}: could not re-read the window before offset {}: {e} (windows start empty)",
                tp.0,
                tp.1,
                first.offset()
            );
        }
        state.next_offset = first.offset();
        state
    }

    /// Ships the batch's alerts (and its re-keyed copies) and commits its offsets; true when
    /// it did. Otherwise nothing is committed: with `rewind`, the batch's partitions are
    /// sought back to their first uncommitted message and their windows are rebuilt, so the
    /// events are evaluated, and their alerts shipped, again.
    fn finish_batch(&mut self, consumer: &BaseConsumer<Group>, rewind: bool) -> bool {
        if self.batch.is_empty() {
            return true;
        }
        let timeout = self.settings.flush_timeout;
        let dropped_before = self.relay.dropped();
        let mut shipped = !self.batch_failed;
        if let Some(repartitioner) = &mut self.repartitioner {
            shipped &= repartitioner.flush(timeout);
        }
        let report = self.relay.flush(timeout);
        shipped &= report.completed && self.relay.dropped() == dropped_before;
        let batch = std::mem::take(&mut self.batch);
        self.batch_started = None;
        self.batch_events = 0;
        self.batch_failed = false;
        if shipped {
            let mut offsets = TopicPartitionList::new();
            for ((topic, partition), (_, next)) in &batch {
                let _ = offsets.add_partition_offset(topic, *partition, Offset::Offset(*next));
            }
            match consumer.commit(&offsets, CommitMode::Sync) {
                Ok(()) => {
                    self.metrics.commits.inc();
                }
                // Not fatal: the events are read again by whoever owns them next.
                Err(e) => eprintln!("siem correlate: commit failed: {e}"),
            }
            self.update_lag(consumer, &batch);
            return true;
        }
        self.metrics.commits_deferred.inc();
        eprintln!(
            "siem correlate: alerts not shipped ({} undelivered, {} dropped): offsets not committed, the batch will be read again",
            report.undelivered_total(),
            self.relay.dropped() - dropped_before
        );
        if rewind {
            for ((topic, partition), (first, _)) in &batch {
                self.owned.remove(&(topic.clone(), *partition));
                if let Err(e) = consumer.seek(
                    topic,
                    *partition,
                    Offset::Offset(*first),
                    Duration::from_secs(5),
                ) {
                    eprintln!(
                        "siem correlate: {topic}/{partition}: cannot seek back to {first}: {e}"
                    );
                }
            }
        }
        false
    }

    /// Sets the lag of the batch's partitions from their high watermarks, asked of the
    /// brokers at most every [`LAG_EVERY`].
    fn update_lag(&mut self, consumer: &BaseConsumer<Group>, batch: &BTreeMap<Tp, (i64, i64)>) {
        if self.lag_updated.is_some_and(|t| t.elapsed() < LAG_EVERY) {
            return;
        }
        self.lag_updated = Some(Instant::now());
        for ((topic, partition), (_, next)) in batch {
            if let Ok((_, high)) =
                consumer.fetch_watermarks(topic, *partition, Duration::from_secs(1))
            {
                self.metrics
                    .lag
                    .get_or_create(&PartitionLabels {
                        topic: topic.clone(),
                        partition: *partition,
                    })
                    .set((high - next).max(0));
            }
        }
    }
}
