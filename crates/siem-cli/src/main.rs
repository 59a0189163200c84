//! `siem`: check a tracing-siem configuration, send test events through it, and preview what
//! each SIEM will receive.
//!
//! Exit codes a script can rely on:
//! - 0: success;
//! - 1: events could not all be delivered (`send-test`), a destination is unreachable
//!   (`check --connect`), or a chain is broken (`verify`);
//! - 2: wrong usage (unknown option, missing argument, a file that does not exist or cannot
//!   be read);
//! - 3: the configuration is invalid (the message names the key and the reason);
//! - 4: some input lines could not be encoded (`encode`; the others were).
//!   `report`: some lines were not events (skipped, listed in the report).
//!
//! Every subcommand that reads a configuration takes it the same way, as its first argument
//! or with `--config`. Output stops quietly, with exit code 0, when the reader goes away
//! (`siem check siem.yaml | head`).

#![warn(missing_docs)]

use std::io::{self, BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, CommandFactory, Parser, Subcommand};

#[cfg(feature = "correlate")]
mod correlate_cmd;
mod report;
mod rules_test;
mod spool_cmd;
mod verify;
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
    /// Validate a configuration file and print it resolved: defaults filled in, secrets masked.
    Check {
        #[command(flatten)]
        config: ConfigArg,
        /// Also open each destination once (connect, TLS handshake; a file opened for
        /// appending, nothing written) and say whether it is reachable.
        #[arg(long)]
        connect: bool,
        /// How long each destination may take to answer `--connect`.
        #[arg(long, default_value = "5s", value_parser = parse_duration, requires = "connect")]
        timeout: Duration,
    },
    /// Send test events through the real pipeline to the configured destinations.
    SendTest {
        #[command(flatten)]
        config: ConfigArg,
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
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Test alert rules on recorded events.
    #[command(subcommand)]
    Rules(rules_test::RulesCommand),
    /// Check the tamper-evident chain of a file destination's output (`chain:`).
    Verify(verify::VerifyArgs),
    /// A compliance report (SOC 2, ISO 27001, NIS2) from JSON-lines event files, as JSON or HTML.
    Report(report::ReportArgs),
    /// Inspect, replay or delete a destination's disk spool while its program is stopped.
    #[command(subcommand)]
    Spool(spool_cmd::SpoolCommand),
    /// Correlate events fleet-wide: join a Kafka consumer group on the events topic, run the
    /// rules per partition and ship the alerts (the configuration's `correlate:` section).
    #[cfg(feature = "correlate")]
    Correlate {
        #[command(flatten)]
        config: ConfigArg,
    },
}

/// The configuration file, as the first argument or with `--config`: every subcommand takes
/// it both ways.
#[derive(Args)]
struct ConfigArg {
    /// The YAML configuration file.
    #[arg(value_name = "CONFIG", conflicts_with = "config")]
    file: Option<PathBuf>,
    /// The YAML configuration file (the same as giving it as the first argument).
    #[arg(long = "config", value_name = "CONFIG")]
    config: Option<PathBuf>,
}

impl ConfigArg {
    /// The file, if one was given.
    fn given(&self) -> Option<&Path> {
        self.file.as_deref().or(self.config.as_deref())
    }

    /// The file, which `command` cannot do without: a usage error (exit 2) if none was given.
    fn required(&self, command: &str) -> &Path {
        self.given().unwrap_or_else(|| {
            Cli::command()
                .error(
                    clap::error::ErrorKind::MissingRequiredArgument,
                    format!("{command} needs a configuration file: siem {command} CONFIG (or --config CONFIG)"),
                )
                .exit()
        })
    }
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    tracing_siem::ship::units::parse_duration(s)
}

const EXIT_UNDELIVERED: u8 = 1;
const EXIT_USAGE: u8 = 2;
const EXIT_CONFIG: u8 = 3;
const EXIT_INPUT: u8 = 4;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check {
            config,
            connect,
            timeout,
        } => check(config.required("check"), connect.then_some(timeout)),
        Command::SendTest {
            config,
            event_type,
            severity,
            count,
            timeout,
        } => send_test(
            config.required("send-test"),
            &event_type,
            &severity,
            count,
            timeout,
        ),
        Command::Encode {
            format,
            options,
            config,
        } => encode(&format, &options, config.given()),
        Command::Rules(command) => rules_test::run(command),
        Command::Verify(args) => verify::run(args),
        Command::Report(args) => report::run(args),
        Command::Spool(command) => spool_cmd::run(command),
        #[cfg(feature = "correlate")]
        Command::Correlate { config } => correlate_cmd::run(config.required("correlate")),
    }
}

fn config_error(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("siem: invalid configuration: {e}");
    ExitCode::from(EXIT_CONFIG)
}

/// A file the command was given that cannot be opened: a usage error (exit 2), since nothing
/// in it was wrong.
fn unreadable(path: &Path, e: &io::Error) -> ExitCode {
    if e.kind() == io::ErrorKind::NotFound {
        eprintln!("siem: {}: no such file", path.display());
    } else {
        eprintln!("siem: cannot read {}: {e}", path.display());
    }
    ExitCode::from(EXIT_USAGE)
}

/// Reads a configuration file: one that cannot be read is [`unreadable`], one that is too
/// long is an invalid configuration.
fn read_config(path: &Path) -> Result<String, ExitCode> {
    Config::read_yaml_text(path).map_err(|e| match e.kind() {
        io::ErrorKind::InvalidData => config_error(format!("{}: {e}", path.display())),
        _ => unreadable(path, &e),
    })
}

/// Reads and validates a configuration file.
fn load_config(path: &Path) -> Result<Config, ExitCode> {
    let text = read_config(path)?;
    Config::from_yaml_str(&text).map_err(config_error)
}

/// Writes `text` to standard output. A reader that has gone away (`| head`) ends the command
/// quietly and successfully, as it would a command killed by `SIGPIPE`.
fn print(text: &str) -> Result<(), ExitCode> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(output_failed)
}

/// The exit code for an error writing standard output: success when the reader is gone.
fn output_failed(e: io::Error) -> ExitCode {
    if e.kind() == io::ErrorKind::BrokenPipe {
        ExitCode::SUCCESS
    } else {
        eprintln!("siem: writing standard output: {e}");
        ExitCode::from(EXIT_UNDELIVERED)
    }
}

fn check(path: &Path, connect: Option<Duration>) -> ExitCode {
    let text = match read_config(path) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let config = match Config::from_yaml_str(&text) {
        Ok(c) => c,
        Err(e) => return config_error(e),
    };
    let resolved = match Config::resolved_yaml_masked(&text) {
        Ok(r) => r,
        Err(e) => return config_error(e),
    };
    let mut shown = format!("# {}: valid\n", path.display());
    for (name, d) in config.destination_names().iter().zip(&config.destinations) {
        shown.push_str(&format!(
            "# destination {name}: type {}, format {}\n",
            d.sink.type_name(),
            d.format
        ));
    }
    if let Some(correlate) = &config.correlate {
        // Validation succeeded, so the plan does too.
        if let Ok(plan) = correlate.plan(&config.rules) {
            shown.push_str(&format!(
                "# correlate: on the events topic (key {:?}): {:?}\n",
                plan.local.key_fields, plan.local.rules
            ));
            for slice in &plan.rekeyed {
                shown.push_str(&format!(
                    "# correlate: re-keyed by {:?}: {:?}\n",
                    slice.key_fields, slice.rules
                ));
            }
        }
    }
    shown.push_str(&resolved);
    if let Err(code) = print(&shown) {
        return code;
    }
    match connect {
        Some(timeout) => probe_destinations(&config, timeout),
        None => ExitCode::SUCCESS,
    }
}

/// Opens each destination once (`check --connect`), one line each, and fails when any is
/// unreachable.
fn probe_destinations(config: &Config, timeout: Duration) -> ExitCode {
    let mut unreachable = 0;
    for (name, d) in config.destination_names().iter().zip(&config.destinations) {
        let line = match d.sink.probe(timeout) {
            Ok(what) => format!("# connect {name}: reachable: {what}\n"),
            Err(why) => {
                unreachable += 1;
                format!("# connect {name}: unreachable: {why}\n")
            }
        };
        if let Err(code) = print(&line) {
            return code;
        }
    }
    if unreachable == 0 {
        ExitCode::SUCCESS
    } else {
        eprintln!("siem: {unreachable} destination(s) unreachable");
        ExitCode::from(EXIT_UNDELIVERED)
    }
}

fn send_test(
    path: &Path,
    event_type: &str,
    severity: &str,
    count: u64,
    timeout: Duration,
) -> ExitCode {
    if let Err(e) = severity.parse::<tracing_siem::event::Severity>() {
        eprintln!("siem: --severity: {e}");
        return ExitCode::from(2);
    }
    let config = match load_config(path) {
        Ok(c) => c,
        Err(code) => return code,
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
    // Drops before any destination (a burst faster than the queue drains, with the default
    // `overflow: drop-newest`) are counted at the queue, not by the destinations.
    let at_destinations: u64 = metrics.destinations.iter().map(|d| d.dropped_total()).sum();
    let before_destinations = metrics.events_dropped.saturating_sub(at_destinations);
    let mut shown = format!(
        "sent {count} test events; {before_destinations} dropped before reaching the destinations{}\n",
        if before_destinations > 0 {
            " (queue full: raise queue.capacity, or set queue.overflow: block)"
        } else {
            ""
        }
    );
    ok &= before_destinations == 0;
    for d in &metrics.destinations {
        shown.push_str(&format!("{d}\n"));
        ok &= d.dropped_total() == 0 && d.shipped + d.filtered == d.received;
    }
    // A closed standard output does not change whether the events were delivered.
    if let Err(code) = print(&shown) {
        if code != ExitCode::SUCCESS {
            return code;
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        eprintln!("siem: not every test event was delivered");
        ExitCode::from(EXIT_UNDELIVERED)
    }
}

fn encode(format: &str, options: &[String], config: Option<&Path>) -> ExitCode {
    let config = match config.map(load_config).transpose() {
        Ok(config) => config.unwrap_or_default(),
        Err(code) => return code,
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
                if let Err(e) = out.write_all(&buf) {
                    return output_failed(e);
                }
            }
            Err(e) => {
                bad += 1;
                eprintln!("siem: line {}: {e}", n + 1);
            }
        }
    }
    if let Err(e) = out.flush() {
        return output_failed(e);
    }
    if bad > 0 {
        ExitCode::from(EXIT_INPUT)
    } else {
        ExitCode::SUCCESS
    }
}
