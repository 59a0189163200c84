//! The `tracing` layer: per-callsite interest, field capture, enqueue. Everything else
//! (classification, normalisation, rules) happens on the pipeline thread.

use std::any::{Any, TypeId};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use siem_ship::EventQueue;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::filter::Filtered;
use tracing_subscriber::layer::{Context, Filter, Layer};
use tracing_subscriber::registry::LookupSpan;

use crate::capture::{CapturedEvent, FieldSet, Limits, Recycler};
use crate::classify::Classifier;

/// Span fields kept in the span's extensions, inherited by the events inside it.
struct SpanFields(FieldSet);

/// Captures security-relevant events and queues them for the pipeline.
pub(crate) struct Capture {
    pub queue: Arc<EventQueue<Box<CapturedEvent>>>,
    /// Events at or above this severity take the queue's protected path (`queue.protect`).
    pub protected_from: Option<siem_event::Severity>,
    pub classifier: Arc<Classifier>,
    pub limits: Limits,
    pub recycler: Arc<Recycler>,
    /// Events that would have been captured but were logged where they could feed the
    /// pipeline with itself (see [`Metrics::events_ignored`](crate::Metrics)).
    pub ignored: Arc<AtomicU64>,
    /// Set once the "logged after the guard was dropped" notice was printed; `None` when
    /// notices are off.
    pub notices: Option<std::sync::atomic::AtomicBool>,
}

impl Capture {
    /// An event the queue refused because the pipeline has stopped: almost always a guard
    /// dropped at once (`let (layer, _) = …build()`), which silently disables the layer. Said
    /// once, on the refusal path only.
    #[cold]
    fn refused_after_shutdown(&self) {
        if let Some(said) = &self.notices {
            if !said.swap(true, Ordering::Relaxed) {
                eprintln!(
                    "tracing-siem: a security event was logged after the pipeline stopped and was \
                     dropped (after_shutdown). Was the SiemGuard dropped early? `let (layer, _) = \
                     builder.build()?` drops it at once: bind it for as long as the program logs \
                     (`let (layer, _guard) = …`)."
                );
            }
        }
    }
}

/// Decides once per callsite whether it can ever yield a security event.
pub(crate) struct SecurityCallsites {
    pub classifier: Arc<Classifier>,
    /// Shared with [`Capture::ignored`].
    pub ignored: Arc<AtomicU64>,
}

impl SecurityCallsites {
    /// Whether the callsite can yield a security event, leaving aside where it is logged.
    fn wants(&self, meta: &Metadata<'_>) -> bool {
        if meta.is_span() {
            // Spans are needed only for the fields their events inherit.
            return !meta.fields().is_empty();
        }
        meta.fields().field("event_type").is_some() || self.classifier.covers(meta.level())
    }
}

/// This library's own crates: their events never become security events, since they could
/// loop. A module path matches when it is one of them or inside one (`siem_ship::route`),
/// not when it merely starts with the same letters (a user's `siem_shipping`).
const OWN_CRATES: [&str; 6] = [
    "tracing_siem",
    "siem_ship",
    "siem_format",
    "siem_rules",
    "siem_event",
    "siem_http",
];

/// The severity an event asks for on the application thread: its `severity` field when that
/// names one, else its level's (ERROR is high, WARN medium). It picks the queue's path
/// (`queue.protect`) and whether the pipeline is woken at once (critical).
fn logged_severity(field: Option<&str>, level: &tracing::Level) -> siem_event::Severity {
    field
        .and_then(|s| s.parse::<siem_event::Severity>().ok())
        .unwrap_or_else(|| siem_event::Severity::from_level_name(level.as_str()))
}

fn is_own_target(target: &str) -> bool {
    OWN_CRATES.iter().any(|own| {
        target
            .strip_prefix(own)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
    })
}

impl<S> Filter<S> for SecurityCallsites {
    fn enabled(&self, meta: &Metadata<'_>, _: &Context<'_, S>) -> bool {
        if !self.wants(meta) {
            return false;
        }
        if is_own_target(meta.target()) {
            // Reached only for own callsites (they are `sometimes`), never on the hot path.
            if meta.is_event() {
                self.ignored.fetch_add(1, Ordering::Relaxed);
            }
            return false;
        }
        true
    }

    fn callsite_enabled(&self, meta: &'static Metadata<'static>) -> Interest {
        if !self.wants(meta) {
            Interest::never()
        } else if is_own_target(meta.target()) {
            // Asked per event, so that each one ignored is counted.
            Interest::sometimes()
        } else {
            Interest::always()
        }
    }
}

impl<S> Layer<S> for Capture
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = FieldSet::new(self.limits);
        attrs.record(&mut fields);
        if !fields.fields.is_empty() {
            span.extensions_mut().insert(SpanFields(fields));
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        match ext.get_mut::<SpanFields>() {
            Some(SpanFields(fields)) => values.record(fields),
            None => {
                let mut fields = FieldSet::new(self.limits);
                values.record(&mut fields);
                ext.insert(SpanFields(fields));
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if siem_ship::on_pipeline_thread() {
            self.ignored.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let meta = event.metadata();
        let mut captured = self.recycler.take(meta, self.limits);
        event.record(&mut captured.fields);
        // An event without its own `event_type` is a candidate only at a classified level;
        // whether it is a security event is decided on the pipeline thread, off this one.
        captured.explicit_type = captured.fields.get("event_type").is_some();
        if !captured.explicit_type && !self.classifier.covers(meta.level()) {
            self.recycler.give_back(captured);
            return;
        }
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope {
                if let Some(SpanFields(fields)) = span.extensions().get::<SpanFields>() {
                    captured.fields.inherit(fields);
                }
            }
        }
        let severity = logged_severity(captured.fields.get_str("severity"), meta.level());
        let urgent = severity == siem_event::Severity::Critical;
        let pushed = match self.protected_from {
            Some(threshold) if severity >= threshold => self.queue.push_protected(captured, urgent),
            _ => self.queue.push(captured, urgent),
        };
        if !pushed && self.queue.is_closed() {
            self.refused_after_shutdown();
        }
    }
}

/// The layer to add to a `tracing_subscriber::Registry`: turns security-relevant events into
/// [`SecurityEvent`](siem_event::SecurityEvent)s and queues them for the shipping pipeline.
///
/// Made by [`SiemBuilder::build`](crate::SiemBuilder::build), which also returns the
/// [`SiemGuard`](crate::SiemGuard) that flushes on drop.
///
/// What it does on the application thread, and nothing more: decide once per callsite whether
/// the callsite can ever give a security event (an `event_type` field, or a level the
/// classifier covers); for those events capture the event's and its spans' fields, classify, and
/// push one record onto a lock-free queue without blocking (unless the block overflow policy
/// was chosen). Formatting and I/O happen on other threads.
///
/// It composes: its interest is a per-layer filter, so it never disables a callsite for other
/// layers, and what `fmt` or any other layer prints is unchanged.
///
/// ```
/// use tracing_subscriber::prelude::*;
///
/// let (layer, guard) = tracing_siem::SiemLayer::builder()
///     .destination(tracing_siem::DestinationConfig::stdout())
///     .build()
///     .unwrap();
/// let subscriber = tracing_subscriber::registry().with(layer);
/// tracing::subscriber::with_default(subscriber, || {
///     tracing::warn!(event_type = "authentication", user = "alice", result = "failure", "Failed login");
/// });
/// drop(guard); // delivers what is queued
/// ```
///
/// The type names no subscriber: one layer, built once, fits whichever stack a branch of the
/// program assembles, bare or inside an `Option`:
///
/// ```
/// use tracing_subscriber::prelude::*;
///
/// let (siem, guard) = tracing_siem::SiemLayer::builder().build().unwrap();
/// let print_too = std::env::args().count() > 100;
/// let _default = if print_too {
///     let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::sink);
///     tracing::subscriber::set_default(tracing_subscriber::registry().with(fmt).with(siem))
/// } else {
///     tracing::subscriber::set_default(tracing_subscriber::registry().with(Some(siem)))
/// };
/// tracing::warn!(event_type = "auth.failure", user = "alice", "Failed login");
/// drop(guard);
/// ```
pub struct SiemLayer {
    /// Capture and its filter, until the layer joins a subscriber stack.
    parts: Option<(Capture, SecurityCallsites)>,
    /// Once joined to a stack of type `S` ([`Layer::on_layer`]): the per-layer-filtered capture
    /// for that stack, a `Filtered<Capture, SecurityCallsites, S>`. Typed by `S` only through
    /// a marker, it is kept as `Any` so that `SiemLayer` itself names no `S`; every call
    /// recovers it with one type-id comparison.
    joined: Option<Box<dyn Any + Send + Sync>>,
}

type Joined<S> = Filtered<Capture, SecurityCallsites, S>;

impl SiemLayer {
    pub(crate) fn new(capture: Capture, callsites: SecurityCallsites) -> SiemLayer {
        SiemLayer {
            parts: Some((capture, callsites)),
            joined: None,
        }
    }

    /// A builder with the defaults (see [`SiemBuilder`](crate::SiemBuilder)).
    ///
    /// ```
    /// let (layer, guard) = tracing_siem::SiemLayer::builder().app("payments").build().unwrap();
    /// # drop((layer, guard));
    /// ```
    pub fn builder() -> crate::SiemBuilder {
        crate::SiemBuilder::default()
    }

    /// The capture as joined to a stack of type `S`; `None` before [`Layer::on_layer`] (the
    /// layer is in no stack yet, so nothing calls it for events).
    fn joined<S>(&self) -> Option<&Joined<S>>
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        self.joined.as_deref()?.downcast_ref::<Joined<S>>()
    }
}

impl std::fmt::Debug for SiemLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SiemLayer")
            .field("joined", &self.joined.is_some())
            .finish_non_exhaustive()
    }
}

impl<S> Layer<S> for SiemLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_register_dispatch(&self, subscriber: &tracing::Dispatch) {
        if let Some(inner) = self.joined::<S>() {
            inner.on_register_dispatch(subscriber)
        }
    }
    fn on_layer(&mut self, subscriber: &mut S) {
        // Joined once: a layer is moved into exactly one stack.
        if let Some((capture, callsites)) = self.parts.take() {
            let mut inner: Joined<S> = capture.with_filter(callsites);
            inner.on_layer(subscriber);
            self.joined = Some(Box::new(inner));
        }
    }
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        match self.joined::<S>() {
            Some(inner) => inner.register_callsite(metadata),
            // In no stack: the neutral answer of a layer without opinion.
            None => Interest::always(),
        }
    }
    fn enabled(&self, metadata: &Metadata<'_>, ctx: Context<'_, S>) -> bool {
        self.joined::<S>()
            .is_none_or(|inner| inner.enabled(metadata, ctx))
    }
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if let Some(inner) = self.joined::<S>() {
            inner.on_new_span(attrs, id, ctx)
        }
    }
    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        self.joined::<S>().and_then(|inner| inner.max_level_hint())
    }
    fn on_record(&self, span: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(inner) = self.joined::<S>() {
            inner.on_record(span, values, ctx)
        }
    }
    fn on_follows_from(&self, span: &Id, follows: &Id, ctx: Context<'_, S>) {
        if let Some(inner) = self.joined::<S>() {
            inner.on_follows_from(span, follows, ctx)
        }
    }
    fn event_enabled(&self, event: &Event<'_>, ctx: Context<'_, S>) -> bool {
        self.joined::<S>()
            .is_none_or(|inner| inner.event_enabled(event, ctx))
    }
    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if let Some(inner) = self.joined::<S>() {
            inner.on_event(event, ctx)
        }
    }
    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        if let Some(inner) = self.joined::<S>() {
            inner.on_enter(id, ctx)
        }
    }
    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        if let Some(inner) = self.joined::<S>() {
            inner.on_exit(id, ctx)
        }
    }
    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        if let Some(inner) = self.joined::<S>() {
            inner.on_close(id, ctx)
        }
    }
    fn on_id_change(&self, old: &Id, new: &Id, ctx: Context<'_, S>) {
        if let Some(inner) = self.joined::<S>() {
            inner.on_id_change(old, new, ctx)
        }
    }
    unsafe fn downcast_raw(&self, id: TypeId) -> Option<*const ()> {
        if id == TypeId::of::<Self>() {
            return Some(self as *const Self as *const ());
        }
        if let Some(inner) = self.joined::<S>() {
            // SAFETY: forwarded to the wrapped layer, which upholds the same contract (the
            // pointer it returns is into the box, which lives as long as `self`); this lets
            // the registry see the per-layer filter inside.
            return unsafe { inner.downcast_raw(id) };
        }
        // Not joined yet, so "no per-layer filter" to `and_then`, which asks before joining.
        // The answer changes nothing: a per-layer-filtered layer's interest is always
        // `always` and it enables everything (the filter decides inside), and ours gives no
        // level hint, so `Layered` picks the same interest and hint either way.
        None
    }
}

#[cfg(test)]
mod tests {
    use super::{is_own_target, logged_severity};
    use siem_event::Severity;
    use tracing::Level;

    #[test]
    fn the_severity_field_wins_over_the_level_and_nonsense_falls_back_to_it() {
        assert_eq!(logged_severity(None, &Level::ERROR), Severity::High);
        assert_eq!(logged_severity(None, &Level::WARN), Severity::Medium);
        assert_eq!(
            logged_severity(Some("CRITICAL"), &Level::INFO),
            Severity::Critical
        );
        assert_eq!(logged_severity(Some("low"), &Level::ERROR), Severity::Low);
        assert_eq!(logged_severity(Some("9"), &Level::INFO), Severity::Critical);
        assert_eq!(
            logged_severity(Some("apocalyptic"), &Level::ERROR),
            Severity::High
        );
    }

    #[test]
    fn own_targets_are_whole_module_paths() {
        for own in [
            "siem_ship",
            "siem_ship::route",
            "tracing_siem",
            "siem_rules::engine",
            "siem_http::splunk_hec",
        ] {
            assert!(is_own_target(own), "{own}");
        }
        for user in [
            "siem_shipping",
            "tracing_siem_demo::auth",
            "siem_eventsourcing",
            "app",
        ] {
            assert!(!is_own_target(user), "{user}");
        }
    }
}
