//! `siem`: check a tracing-siem configuration, send test events through it, and preview what
//! each SIEM will receive.
//!
//! Exit codes a script can rely on:
//! - 0: success;
//! - 1: events could not all be delivered (`send-test`);
//! - 2: wrong usage (unknown option, missing argument);
//! - 3: the configuration is invalid (the message names the key and the reason);
//! - 4: some input lines could not be encoded (`encode`; the others were).

#![warn(missing_docs)]

use std::io::{self, BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

mod rules_test;
use tracing_siem::format::{build_encoder, decode_json, Format, FormatOptions};
use tracing_siem::{Config, SiemBuilder};
use tracing_subscriber::prelude::*;

#[derive(Parser)]
#[command(
    name = "siem",
    version,
    about = "Check tracing-siem configurations, send test events, preview wire formats"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate a configuration file and print it resolved, with secrets masked.
    Check {
        /// The YAML configuration file.
        config: PathBuf,
    },
    /// Send test events through the real pipeline to the configured destinations.
    SendTest {
        /// The YAML configuration file.
        #[arg(long)]
        config: PathBuf,
        /// Event type of the test events.
        #[arg(long = "type", default_value = "auth.failure")]
        event_type: String,
        /// Severity of the test events (info, low, medium, high, critical).
        #[arg(long, default_value = "medium")]
        severity: String,
        /// How many events to send.
        #[arg(long, default_value_t = 1)]
        count: u64,
        /// How long to wait for delivery.
        #[arg(long, default_value = "10s", value_parser = parse_duration)]
        timeout: Duration,
    },
    /// Encode JSON events read from standard input (one per line) into a wire format, with
    /// sensitive fields redacted as the layer redacts them.
    Encode {
        /// json, ecs, ocsf, cef, leef1, leef2, rfc5424, rfc3164 or hec.
        #[arg(long, default_value = "json")]
        format: String,
        /// A format option as key=value (vendor=Acme, facility=local0, sd_id=acme@32473 …);
        /// repeat for several.
        #[arg(long = "option", value_name = "KEY=VALUE")]
        options: Vec<String>,
        /// Redact as this configuration's `redact` section says (default: the default
        /// redaction, masking).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Test alert rules on recorded events.
    #[command(subcommand)]
    Rules(rules_test::RulesCommand),
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    tracing_siem::ship::units::parse_duration(s)
}

const EXIT_UNDELIVERED: u8 = 1;
const EXIT_CONFIG: u8 = 3;
const EXIT_INPUT: u8 = 4;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { config } => check(&config),
        Command::SendTest {
            config,
            event_type,
            severity,
            count,
            timeout,
        } => send_test(&config, &event_type, &severity, count, timeout),
        Command::Encode {
            format,
            options,
            config,
        } => encode(&format, &options, config.as_deref()),
        Command::Rules(command) => rules_test::run(command),
    }
}

fn config_error(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("siem: invalid configuration: {e}");
    ExitCode::from(EXIT_CONFIG)
}

fn check(path: &PathBuf) -> ExitCode {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return config_error(format!("cannot read {}: {e}", path.display())),
    };
    let config = match Config::from_yaml_str(&text) {
        Ok(c) => c,
        Err(e) => return config_error(e),
    };
    let resolved = match Config::resolved_yaml_masked(&text) {
        Ok(r) => r,
        Err(e) => return config_error(e),
    };
    println!("# {}: valid", path.display());
    for (name, d) in config.destination_names().iter().zip(&config.destinations) {
        println!(
            "# destination {name}: type {}, format {}",
            d.sink.type_name(),
            d.format
        );
    }
    print!("{resolved}");
    ExitCode::SUCCESS
}

fn send_test(
    path: &PathBuf,
    event_type: &str,
    severity: &str,
    count: u64,
    timeout: Duration,
) -> ExitCode {
    if let Err(e) = severity.parse::<tracing_siem::event::Severity>() {
        eprintln!("siem: --severity: {e}");
        return ExitCode::from(2);
    }
    let config = match Config::from_yaml_file(path) {
        Ok(c) => c,
        Err(e) => return config_error(e),
    };
    let (layer, guard) = match SiemBuilder::from_config(config).build() {
        Ok(v) => v,
        Err(e) => return config_error(e),
    };
    let handle = guard.handle();
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(subscriber, || {
        for i in 0..count {
            tracing::warn!(
                event_type = event_type,
                severity = severity,
                test = true,
                sequence = i + 1,
                "SIEM integration test event"
            );
        }
    });
    // Shutting down delivers what is queued within the timeout and counts what it could not.
    let report = guard.shutdown(timeout);
    let metrics = handle.metrics();
    let mut ok = report.completed;
    for d in &metrics.destinations {
        println!("{d}");
        ok &= d.dropped_total() == 0 && d.shipped + d.filtered == d.received;
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        eprintln!("siem: not every test event was delivered");
        ExitCode::from(EXIT_UNDELIVERED)
    }
}

fn encode(format: &str, options: &[String], config: Option<&Path>) -> ExitCode {
    let config = match config.map(Config::from_yaml_file).transpose() {
        Ok(config) => config.unwrap_or_default(),
        Err(e) => return config_error(e),
    };
    let redactor = config.redact.redactor();
    let format: Format = match format.parse() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("siem: --format: {e}");
            return ExitCode::from(2);
        }
    };
    let mut yaml = String::new();
    for o in options {
        let Some((k, v)) = o.split_once('=') else {
            eprintln!("siem: --option {o:?}: expected KEY=VALUE");
            return ExitCode::from(2);
        };
        yaml.push_str(&format!(
            "{}: {}\n",
            k.trim(),
            serde_yaml_ng::to_string(&v).unwrap_or_default().trim()
        ));
    }
    let options: FormatOptions = if yaml.is_empty() {
        FormatOptions::default()
    } else {
        match serde_yaml_ng::from_str(&yaml) {
            Ok(o) => o,
            Err(e) => return config_error(format!("--option: {e}")),
        }
    };
    let encoder = match build_encoder(format, &options) {
        Ok(e) => e,
        Err(e) => return config_error(e),
    };
    // Events without a host get the one the layer would give them: the configuration's
    // `host`, else this machine's name; the `hostname` option, meant for exactly such events,
    // comes before the machine's name.
    let host: std::sync::Arc<str> = match (&config.host, &options.hostname) {
        (Some(h), _) | (None, Some(h)) => h.as_str().into(),
        (None, None) => gethostname::gethostname().to_string_lossy().into(),
    };
    let stdin = io::stdin();
    let mut out = BufWriter::new(io::stdout().lock());
    let mut buf = Vec::new();
    let mut bad = 0u64;
    for (n, line) in stdin.lock().split(b'\n').enumerate() {
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                eprintln!("siem: reading standard input: {e}");
                return ExitCode::from(EXIT_INPUT);
            }
        };
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match decode_json(&line) {
            Ok(mut event) => {
                if event.host.is_empty() {
                    event.host = std::sync::Arc::clone(&host);
                }
                // As the layer does: a type that states its outcome gives it when no
                // `result` / `outcome` was read.
                if event.outcome == tracing_siem::event::Outcome::Unknown {
                    event.outcome = event.event_type.implied_outcome();
                }
                redactor.redact_event(&mut event);
                buf.clear();
                encoder.encode(&event, &mut buf);
                buf.push(b'\n');
                if out.write_all(&buf).is_err() {
                    return ExitCode::from(EXIT_UNDELIVERED);
                }
            }
            Err(e) => {
                bad += 1;
                eprintln!("siem: line {}: {e}", n + 1);
            }
        }
    }
    if out.flush().is_err() {
        return ExitCode::from(EXIT_UNDELIVERED);
    }
    if bad > 0 {
        ExitCode::from(EXIT_INPUT)
    } else {
        ExitCode::SUCCESS
    }
}
