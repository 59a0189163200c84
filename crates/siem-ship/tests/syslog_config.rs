//! The syslog destination's configuration as users write it: units, defaults, and unknown or
//! misspelled keys refused with the key's name.

use std::time::Duration;

use siem_ship::sink::syslog::{Framing, SyslogConfig, Transport};

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
