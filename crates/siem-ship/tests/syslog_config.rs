//! The syslog destination's configuration as users write it: units, defaults, and unknown or
//! misspelled keys refused with the key's name.

use std::time::Duration;

use siem_ship::sink::syslog::{Framing, SyslogConfig, Transport};
use siem_ship::sink::SinkConfig;

#[test]
fn deserializes_with_units_and_refuses_unknown_keys() {
    let config: SyslogConfig = serde_json::from_str(
        r#"{"transport": "tcp", "host": "siem.example.com", "framing": "lf",
            "backup": [{"host": "siem-2.example.com", "port": 1514}],
            "connect_timeout": "3s", "backoff": {"initial": "250ms", "max": "1m"},
            "write_buffer_size": "16KiB"}"#,
    )
    .unwrap();
    assert_eq!(config.transport, Transport::Tcp);
    assert_eq!(config.effective_port(), 514);
    assert_eq!(config.effective_framing(), Framing::Lf);
    assert_eq!(config.backup[0].port, Some(1514));
    assert_eq!(config.connect_timeout, Duration::from_secs(3));
    assert_eq!(config.backoff.initial, Duration::from_millis(250));
    assert_eq!(config.backoff.max, Duration::from_secs(60));
    assert_eq!(config.write_buffer_size, 16 * 1024);
    config.validate().unwrap();

    let tls: SyslogConfig = serde_json::from_str(
        r#"{"host": "h", "tls": {"ca_file": "/ca.pem", "dangerous_disable_verification": false}}"#,
    )
    .unwrap();
    assert_eq!(tls.transport, Transport::Tls, "TLS unless told otherwise");
    assert_eq!(tls.effective_port(), 6514);

    for (json, key) in [
        (r#"{"host": "h", "transprt": "udp"}"#, "transprt"),
        (r#"{"host": "h", "tls": {"verify": false}}"#, "verify"),
        (r#"{"host": "h", "transport": "sctp"}"#, "sctp"),
        (
            r#"{"host": "h", "max_datagram_size": "2 parsecs"}"#,
            "parsecs",
        ),
    ] {
        let err = serde_json::from_str::<SyslogConfig>(json)
            .unwrap_err()
            .to_string();
        assert!(err.contains(key), "{err}");
    }
}

#[test]
fn relp_and_resend_keys_deserialize_and_are_checked_as_siem_check_does() {
    let relp: SyslogConfig = serde_json::from_str(
        r#"{"transport": "relp", "host": "rsyslog.example.com", "relp": {"window": 64},
            "tls": {"ca_file": "/nonexistent/ca.pem"}}"#,
    )
    .unwrap();
    assert_eq!(relp.transport, Transport::Relp);
    assert_eq!(relp.effective_port(), 2514);
    assert_eq!(relp.relp.as_ref().unwrap().window, 64);
    relp.validate().unwrap();
    // `siem check` also reads the TLS files: the CA that is not there is named.
    let err = SinkConfig::validate(&relp).unwrap_err();
    assert_eq!(err.key(), "tls.ca_file");

    let tcp: SyslogConfig = serde_json::from_str(
        r#"{"transport": "tcp", "host": "h", "resend": {"interval": "5s", "max_size": "1MiB"}}"#,
    )
    .unwrap();
    let resend = tcp.resend.as_ref().unwrap();
    assert_eq!(resend.interval, Duration::from_secs(5));
    assert_eq!(resend.max_size, 1024 * 1024);
    SinkConfig::validate(&tcp).unwrap();

    for (json, key) in [
        (
            r#"{"transport": "relp", "host": "h", "relp": {"window": 0}}"#,
            "relp.window",
        ),
        (
            r#"{"transport": "relp", "host": "h", "framing": "lf"}"#,
            "framing",
        ),
        (r#"{"transport": "tcp", "host": "h", "relp": {}}"#, "relp"),
        (
            r#"{"transport": "udp", "host": "h", "resend": {}}"#,
            "resend",
        ),
        (
            r#"{"transport": "relp", "host": "h", "resend": {}}"#,
            "resend",
        ),
        (
            r#"{"transport": "tls", "host": "h", "resend": {"interval": "0s"}}"#,
            "resend.interval",
        ),
    ] {
        let config: SyslogConfig = serde_json::from_str(json).unwrap();
        let err = SinkConfig::validate(&config).unwrap_err();
        assert_eq!(err.key(), key, "{json}: {err}");
    }
    let err = serde_json::from_str::<SyslogConfig>(
        r#"{"transport": "relp", "host": "h", "relp": {"windw": 8}}"#,
    )
    .unwrap_err();
    assert!(err.to_string().contains("windw"), "{err}");
}

#[test]
fn relp_accepts_the_formats_the_other_stream_transports_accept() {
    use siem_format::{BodyFormat, Format, FormatOptions};
    let relp = SyslogConfig::relp("h");
    let tcp = SyslogConfig::tcp("h");
    let cef_body = FormatOptions::default().body(BodyFormat::Cef);
    for (format, options) in [
        (Format::Rfc5424, FormatOptions::default()),
        (Format::Rfc3164, FormatOptions::default()),
        (Format::Rfc3164, cef_body),
        (Format::Cef, FormatOptions::default()),
        (Format::Json, FormatOptions::default()),
    ] {
        assert_eq!(
            relp.accepts(format, &options).is_ok(),
            tcp.accepts(format, &options).is_ok(),
            "{format}"
        );
    }
    assert_eq!(relp.default_format(), Format::Rfc5424);
}
