//! Hostile shapes cost linear time: thousands of span fields and deeply nested configuration
//! are capped or refused at once. The sizes are chosen so that the quadratic code these tests
//! replace takes many seconds on them (debug build) and the current code well under one; the
//! tests assert on results only.

mod support;

use tracing::warn;
use tracing_siem::event::Value;
use tracing_siem::{Config, SiemBuilder, SiemLayer};

/// A span with 32 fields (tracing's most per callsite) named `<prefix>.f0` … `<prefix>.f31`.
macro_rules! span32 {
    ($p:ident) => {
        tracing::warn_span!(
            "layer",
            $p.f0 = 0u64,
            $p.f1 = 1u64,
            $p.f2 = 2u64,
            $p.f3 = 3u64,
            $p.f4 = 4u64,
            $p.f5 = 5u64,
            $p.f6 = 6u64,
            $p.f7 = 7u64,
            $p.f8 = 8u64,
            $p.f9 = 9u64,
            $p.f10 = 10u64,
            $p.f11 = 11u64,
            $p.f12 = 12u64,
            $p.f13 = 13u64,
            $p.f14 = 14u64,
            $p.f15 = 15u64,
            $p.f16 = 16u64,
            $p.f17 = 17u64,
            $p.f18 = 18u64,
            $p.f19 = 19u64,
            $p.f20 = 20u64,
            $p.f21 = 21u64,
            $p.f22 = 22u64,
            $p.f23 = 23u64,
            $p.f24 = 24u64,
            $p.f25 = 25u64,
            $p.f26 = 26u64,
            $p.f27 = 27u64,
            $p.f28 = 28u64,
            $p.f29 = 29u64,
            $p.f30 = 30u64,
            $p.f31 = "text"
        )
    };
}

/// Enters one `span32!` per prefix, each inside the one before, and returns the guards.
macro_rules! nest {
    ($($p:ident)*) => {{
        let mut entered = Vec::new();
        $( entered.push(span32!($p).entered()); )*
        entered
    }};
}

#[test]
fn thousands_of_inherited_span_fields_are_capped() {
    let (sink, _) = support::run(SiemLayer::builder().app("test-app"), || {
        // 100 nested spans, 3 200 distinct fields.
        let spans = nest!(
            s00 s01 s02 s03 s04 s05 s06 s07 s08 s09 s10 s11 s12 s13 s14 s15 s16 s17 s18 s19
            s20 s21 s22 s23 s24 s25 s26 s27 s28 s29 s30 s31 s32 s33 s34 s35 s36 s37 s38 s39
            s40 s41 s42 s43 s44 s45 s46 s47 s48 s49 s50 s51 s52 s53 s54 s55 s56 s57 s58 s59
            s60 s61 s62 s63 s64 s65 s66 s67 s68 s69 s70 s71 s72 s73 s74 s75 s76 s77 s78 s79
            s80 s81 s82 s83 s84 s85 s86 s87 s88 s89 s90 s91 s92 s93 s94 s95 s96 s97 s98 s99
        );
        for i in 0..20u64 {
            warn!(
                event_type = "auth.failure",
                user = "alice",
                attempt = i,
                "deep"
            );
        }
        drop(spans);
    });
    // (Twenty failures for one user also raise an alert, a record of its own.)
    let events: Vec<_> = sink
        .events()
        .into_iter()
        .filter(|e| e.message == "deep")
        .collect();
    assert_eq!(events.len(), 20);
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e.actor.user.as_deref(), Some("alice"));
        assert_eq!(e.metadata("attempt"), Some(&Value::I64(i as i64)));
        // The innermost spans' fields are kept, the outermost ones are not.
        assert_eq!(e.metadata("s99.f0"), Some(&Value::I64(0)));
        assert_eq!(e.metadata("s99.f31"), Some(&Value::Str("text".into())));
        assert_eq!(e.metadata("s00.f0"), None);
        assert_eq!(e.metadata("siem_truncated"), Some(&Value::Bool(true)));
        let inherited = e
            .metadata
            .iter()
            .filter(|f| f.name.starts_with('s'))
            .count();
        assert!(
            (90..128).contains(&inherited),
            "{inherited} span fields kept"
        );
    }
}

#[test]
fn the_field_cap_is_configurable_and_exact() {
    let config = Config::from_yaml_with_env("limits: { max_fields: 5 }", &|_| None, []).unwrap();
    let (sink, _) = support::run(SiemBuilder::from_config(config), || {
        let outer = tracing::warn_span!("outer", user = "outer-user", tenant_id = "t1").entered();
        let inner = tracing::warn_span!("inner", user = "inner-user", request = "r1").entered();
        // Own fields: event_type, message and attempt; the inner span adds `user` and
        // `request`, and then the set is full: `tenant_id` is left out.
        warn!(event_type = "auth.failure", attempt = 1u64, "full");
        // The outer span only repeats `user`: nothing is left out.
        drop(inner);
        warn!(event_type = "auth.failure", attempt = 2u64, "fits");
        drop(outer);
    });
    let events = sink.events();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].actor.user.as_deref(), Some("inner-user"));
    assert_eq!(
        events[0].metadata("request"),
        Some(&Value::Str("r1".into()))
    );
    assert_eq!(events[0].tenant_id, None);
    assert_eq!(
        events[0].metadata("siem_truncated"),
        Some(&Value::Bool(true))
    );
    assert_eq!(events[1].actor.user.as_deref(), Some("outer-user"));
    assert_eq!(events[1].tenant_id.as_deref(), Some("t1"));
    assert_eq!(events[1].metadata("siem_truncated"), None);
}

#[test]
fn a_deeply_nested_configuration_is_refused_before_parsing() {
    for text in [
        format!("app: {}", "[".repeat(50_000)),
        format!("app: {}", "{a: ".repeat(50_000)),
        format!("destinations:\n{}x", "- ".repeat(50_000)),
    ] {
        let err = Config::from_yaml_with_env(&text, &|_| None, []).unwrap_err();
        assert_eq!(err.key(), "");
        assert!(
            err.to_string()
                .contains("nests deeper than the limit of 64 levels (line "),
            "{err}"
        );
    }
    let err = Config::from_yaml_with_env("limits: { max_fields: 0 }", &|_| None, []).unwrap_err();
    assert_eq!(err.key(), "limits.max_fields");
}

#[test]
fn an_oversized_configuration_is_refused_before_parsing() {
    let text = format!("app: x\n{}", "# padding\n".repeat(500_000));
    let err = Config::from_yaml_with_env(&text, &|_| None, []).unwrap_err();
    assert!(
        err.to_string().contains("longer than the limit of 4 MiB"),
        "{err}"
    );
}
