//! Building the layer and its pipeline from a [`Config`].

use std::sync::Arc;
use std::time::Duration;

use siem_ship::{Destination, Pipeline, PipelineConfig, Sink};

use crate::capture::{Limits, Recycler};
use crate::config::{Compiled, CompiledDestination, Config, ConfigError, DestinationConfig};
use crate::handle::{Runtime, SiemGuard, SiemHandle};
use crate::layer::{Capture, SecurityCallsites};
use crate::normalize::Normalizer;
use crate::processor::SecurityProcessor;
use crate::redact::CallsiteRedactor;
use crate::SiemLayer;

/// Emptied capture records kept for reuse (about 430 bytes each, so at most ~220 KiB).
const RECYCLED_RECORDS: usize = 512;

mod alerting;
mod relay;

pub use relay::SiemRelay;

/// An alert callback or action handler registered on the builder.
enum Callback {
    Sync(String, siem_rules::SyncCallback),
    Async(String, siem_rules::AsyncCallback),
    Action(String, siem_rules::SyncCallback),
    ActionAsync(String, siem_rules::AsyncCallback),
}

/// A destination whose sink the program made itself.
struct CustomDestination {
    config: DestinationConfig,
    sink: Box<dyn Sink>,
}

/// Builds a [`SiemLayer`] and its [`SiemGuard`].
///
/// Starts from [`Config::default`] (or a loaded [`Config`]); every setter changes one key.
/// With no destination at all, events go to standard output as JSON.
///
/// ```
/// use tracing_siem::{DestinationConfig, SiemLayer};
/// use tracing_siem::format::Format;
///
/// let (layer, guard) = SiemLayer::builder()
///     .app("payments")
///     .static_field("constitutional_hash", "cdd01ef066bc6cf2")
///     .destination(DestinationConfig::stdout().format(Format::Json))
///     .build()
///     .unwrap();
/// # drop((layer, guard));
/// ```
#[derive(Default)]
pub struct SiemBuilder {
    config: Config,
    custom: Vec<CustomDestination>,
    callbacks: Vec<Callback>,
}

impl SiemBuilder {
    /// A builder starting from a configuration (e.g. one read with [`Config::from_yaml_file`]).
    pub fn from_config(config: Config) -> SiemBuilder {
        SiemBuilder {
            config,
            custom: Vec::new(),
            callbacks: Vec::new(),
        }
    }

    /// The configuration as it stands.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Application name on every event (default: the executable's name).
    pub fn app(mut self, app: impl Into<String>) -> Self {
        self.config.app = Some(app.into());
        self
    }

    /// Host name on every event (default: the system's).
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.config.host = Some(host.into());
        self
    }

    /// A label added to every event (seed 000's constitutional hash is one).
    pub fn static_field(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.config.static_fields.insert(name.into(), value.into());
        self
    }

    /// Events below this level are not classified (default WARN); `event_type` events always count.
    pub fn min_level(mut self, level: tracing::Level) -> Self {
        self.config.classify.min_level = level;
        self
    }

    /// Capacity of the application-side queue (default 10 000).
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.config.queue.capacity = capacity;
        self
    }

    /// Caps on the text kept for one field and for one event (defaults 8 KiB and 16 KiB).
    pub fn text_limits(mut self, max_field_bytes: usize, max_event_bytes: usize) -> Self {
        self.config.limits = crate::LimitsConfig {
            max_field_bytes,
            max_event_bytes,
            ..self.config.limits
        };
        self
    }

    /// What a full queue does (default [`Overflow::DropNewest`](crate::Overflow)).
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_siem::{Overflow, SiemLayer};
    /// let builder = SiemLayer::builder()
    ///     .overflow(Overflow::Block)
    ///     .block_timeout(Duration::from_secs(1));
    /// ```
    pub fn overflow(mut self, policy: crate::Overflow) -> Self {
        self.config.queue.overflow = policy;
        self
    }

    /// How long a logging thread waits for room under [`Overflow::Block`](crate::Overflow)
    /// (default 100 ms).
    pub fn block_timeout(mut self, timeout: Duration) -> Self {
        self.config.queue.block_timeout = timeout;
        self
    }

    /// Whether to tell a person on standard error about failing destinations, events logged
    /// after the guard was dropped and a level filter that hides the SIEM's events (default
    /// true; see [`Config::stderr_notices`](crate::Config)).
    ///
    /// ```
    /// let quiet = tracing_siem::SiemLayer::builder().stderr_notices(false);
    /// assert!(!quiet.config().stderr_notices);
    /// ```
    pub fn stderr_notices(mut self, on: bool) -> Self {
        self.config.stderr_notices = on;
        self
    }

    /// How long the guard waits on drop (default 10 s).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.config.shutdown_timeout = timeout;
        self
    }

    /// Adds a destination.
    pub fn destination(mut self, destination: DestinationConfig) -> Self {
        self.config.destinations.push(destination);
        self
    }

    /// Adds a destination with a sink the program made (the config's own `sink` is ignored;
    /// its name, format, filter, batch and retry apply).
    pub fn destination_with_sink(mut self, config: DestinationConfig, sink: Box<dyn Sink>) -> Self {
        self.custom.push(CustomDestination { config, sink });
        self
    }

    /// Alert rules, correlation and Sigma: the rules of `rules` are added to those given so
    /// far (with [`SiemBuilder::alert`] or earlier calls) and its other settings replace the
    /// current ones. Seed 000's default rules stay on unless `rules.defaults` is false or
    /// [`SiemBuilder::without_default_rules`] is called.
    pub fn rules(mut self, mut rules: siem_rules::RulesConfig) -> Self {
        let mut alerts = std::mem::take(&mut self.config.rules.alerts);
        alerts.append(&mut rules.alerts);
        rules.alerts = alerts;
        rules.defaults &= self.config.rules.defaults;
        self.config.rules = rules;
        self
    }

    /// Calls `callback` for every alert (seed 000's `alert_callback`), on a dedicated thread:
    /// a slow callback delays only itself, and a panicking one is caught and counted.
    ///
    /// ```
    /// use tracing_siem::rules::AlertLevel;
    /// let builder = tracing_siem::SiemLayer::builder().on_alert("pager", |alert| {
    ///     if alert.level >= AlertLevel::Page {
    ///         eprintln!("page on-call: {}", alert.message);
    ///     }
    /// });
    /// # drop(builder);
    /// ```
    pub fn on_alert<F>(mut self, name: &str, callback: F) -> Self
    where
        F: Fn(&siem_rules::Alert) + Send + Sync + 'static,
    {
        self.callbacks
            .push(Callback::Sync(name.to_owned(), Box::new(callback)));
        self
    }

    /// Like [`SiemBuilder::on_alert`] for an async callback; it runs on its own thread's small
    /// executor, so no async runtime is needed.
    pub fn on_alert_async<F, Fut>(mut self, name: &str, callback: F) -> Self
    where
        F: Fn(siem_rules::Alert) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        self.callbacks.push(Callback::Async(
            name.to_owned(),
            Box::new(move |a| Box::pin(callback(a))),
        ));
        self
    }

    /// Starts the pipeline and returns the layer and its guard.
    pub fn build(self) -> Result<(SiemLayer, SiemGuard), ConfigError> {
        let SiemBuilder {
            mut config,
            custom,
            callbacks,
        } = self;
        if config.destinations.is_empty() && custom.is_empty() {
            config.destinations.push(DestinationConfig::stdout());
        }
        let Compiled {
            overflow,
            classifier,
            mut engine,
            destinations: compiled,
        } = config.compile()?;
        let sampler = config.sampling.compile()?;
        let mut destination_names = config.destination_names();
        destination_names.extend(custom.iter().enumerate().map(|(j, c)| custom_name(c, j)));
        let handlers: Vec<String> = callbacks
            .iter()
            .filter_map(|c| match c {
                Callback::Action(name, _) | Callback::ActionAsync(name, _) => Some(name.clone()),
                Callback::Sync(..) | Callback::Async(..) => None,
            })
            .collect();
        let actions =
            crate::actions::check(&config.rules, &engine, &destination_names, Some(&handlers))?;
        let classifier = Arc::new(classifier);
        let redactor = CallsiteRedactor::new(config.redact.redactor());

        let destinations = open_destinations(&config, compiled, custom, &actions)?;
        let protect = &config.queue.protect;
        let protected_from = protect.threshold()?;

        let origin = Origin::of(&config);
        let normalizer = Normalizer {
            classifier: Arc::clone(&classifier),
            redactor,
            host: origin.host,
            app: origin.app,
            labels: origin.labels,
        };
        let pipeline_config = PipelineConfig {
            queue_capacity: config.queue.capacity,
            overflow,
            protection: protected_from.map(|_| siem_ship::Protection {
                reserve: protect.reserve_of(config.queue.capacity),
                max_wait: protect.max_wait,
            }),
            tick: config.queue.poll_interval,
            drop_report_interval: config.drop_report_interval,
            notices: config.stderr_notices,
            ..PipelineConfig::default()
        };
        for c in callbacks {
            match c {
                Callback::Sync(name, f) => engine.on_alert(&name, f),
                Callback::Async(name, f) => engine.on_alert_async(&name, f),
                Callback::Action(name, f) => engine.on_action(&name, f),
                Callback::ActionAsync(name, f) => engine.on_action_async(&name, f),
            }
        }
        let rules_metrics = engine.metrics_handle();
        let engine = Arc::new(parking_lot::Mutex::new(engine));
        let recycler = Arc::new(Recycler::new(RECYCLED_RECORDS));
        let not_security = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let ignored = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let processor = SecurityProcessor {
            normalizer,
            engine: Arc::clone(&engine),
            recycler: Arc::clone(&recycler),
            not_security: Arc::clone(&not_security),
            level_check: config.stderr_notices.then(|| crate::processor::LevelCheck {
                due: std::time::Instant::now() + crate::processor::LevelCheck::AFTER,
            }),
            sampler,
        };
        let sampling = Arc::clone(&processor.sampler.counters);
        let pipeline = Pipeline::start(pipeline_config, processor, destinations).map_err(|e| {
            ConfigError::invalid("", format!("cannot start the pipeline thread: {e}"))
                .with_source(e)
        })?;
        let capture = Capture {
            queue: Arc::clone(pipeline.queue()),
            protected_from,
            classifier: Arc::clone(&classifier),
            limits: Limits {
                field: config.limits.max_field_bytes,
                total: config.limits.max_event_bytes,
                fields: config.limits.max_fields,
            },
            recycler,
            ignored: Arc::clone(&ignored),
            notices: config.stderr_notices.then(Default::default),
        };
        let layer = SiemLayer::new(
            capture,
            SecurityCallsites {
                classifier,
                ignored: Arc::clone(&ignored),
            },
        );
        let handle = SiemHandle {
            runtime: Arc::new(Runtime {
                pipeline,
                engine,
                rules_metrics,
                shutdown_timeout: config.shutdown_timeout,
                not_security,
                ignored,
                sampling,
            }),
        };
        Ok((layer, SiemGuard::new(handle)))
    }
}

/// Opens every destination, the configured ones then those with a sink the program made, each
/// with its filter narrowed by the rules' action routes.
fn open_destinations(
    config: &Config,
    compiled: Vec<CompiledDestination>,
    custom: Vec<CustomDestination>,
    actions: &crate::actions::ActionRoutes,
) -> Result<Vec<Destination>, ConfigError> {
    let protect = &config.queue.protect;
    let protected_from = protect.threshold()?;
    // Each destination's queue keeps the same share of places for protected events as the
    // application queue.
    let reserve = |d: &DestinationConfig| {
        protected_from.map(|severity| {
            let places = protect.reserve_of(config.queue.capacity) as u128
                * d.queue_capacity as u128
                / config.queue.capacity.max(1) as u128;
            (severity, places as usize)
        })
    };
    let mut destinations = Vec::new();
    let names = config.destination_names();
    for (i, ((d, name), parts)) in config
        .destinations
        .iter()
        .zip(names)
        .zip(compiled)
        .enumerate()
    {
        // `compile` has run the sink's `validate` and `accepts`: this only opens it.
        let sink = d
            .sink
            .open()
            .map_err(|e| e.within(&format!("destinations[{i}]")))?;
        let mut parts = parts;
        parts.filter = actions.filter_for(&name, parts.filter.take());
        if d.sink.alerts_only() {
            parts.filter = Some(crate::actions::only_alerts(parts.filter.take()));
        }
        destinations.push(route(d, name, sink, parts, reserve(d)));
    }
    for (j, c) in custom.into_iter().enumerate() {
        let mut parts = c.config.compile(&format!("custom_destinations[{j}]"))?;
        let name = custom_name(&c, j);
        parts.filter = actions.filter_for(&name, parts.filter.take());
        destinations.push(route(&c.config, name, c.sink, parts, reserve(&c.config)));
    }
    Ok(destinations)
}

/// The name of the `j`-th destination with a sink the program made.
fn custom_name(c: &CustomDestination, j: usize) -> String {
    c.config
        .name
        .clone()
        .unwrap_or_else(|| format!("{}-{}", c.sink.kind(), j + 1))
}

/// A running destination from its configuration, name, transport and compiled parts.
fn route(
    d: &DestinationConfig,
    name: String,
    sink: Box<dyn Sink>,
    parts: CompiledDestination,
    reserve: Option<(siem_event::Severity, usize)>,
) -> Destination {
    let dest = Destination::new(name, parts.encoder, sink)
        .with_batch(d.batch)
        .with_retry(d.retry)
        .with_queue_capacity(d.queue_capacity);
    let dest = match reserve {
        Some((severity, places)) => dest.with_reserve(severity, places),
        None => dest,
    };
    let dest = match &d.spool {
        Some(spool) => dest.with_spool(spool.clone()),
        None => dest,
    };
    match parts.filter {
        Some(filter) => dest.with_filter(filter),
        None => dest,
    }
}

/// Where this process's events come from, as they carry it: its host, its application and
/// the configuration's static labels.
struct Origin {
    host: Arc<str>,
    app: Arc<str>,
    labels: Arc<[(String, String)]>,
}

impl Origin {
    /// The configured host and application, else the system's host name and the executable's.
    fn of(config: &Config) -> Origin {
        Origin {
            host: Arc::from(config.host.clone().unwrap_or_else(system_host_name)),
            app: Arc::from(config.app.clone().unwrap_or_else(executable_name)),
            labels: config
                .static_fields
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }
}

fn system_host_name() -> String {
    gethostname::gethostname()
        .into_string()
        .unwrap_or_else(|h| h.to_string_lossy().into_owned())
}

fn executable_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "tracing-siem".to_owned())
}
