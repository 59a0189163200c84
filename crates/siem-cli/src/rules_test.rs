//! `siem rules test RULES.yaml EVENTS.jsonl`: replays a JSON-lines event file through alert
//! rules on the events' own timestamps (the engine's clock follows each event, so cooldowns
//! and windows behave as they would have live, without sleeping) and prints the alerts.

use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::Subcommand;
use tracing_siem::format::decode_json;
use tracing_siem::rules::{Alert, Engine, ManualClock, RulesConfig};

use crate::{config_error, output_failed, unreadable, EXIT_INPUT};

/// `siem rules …`
#[derive(Subcommand)]
pub(crate) enum RulesCommand {
    /// Replay JSON-lines events through alert rules and print the alerts they raise.
    Test {
        /// The rules: what goes under `rules:` in a configuration (`alerts:`, `defaults:`,
        /// `correlation:`, `rules_dir:` …), or a bare list of alert rules.
        rules: PathBuf,
        /// One JSON event per line, replayed in file order on their `timestamp`s.
        events: PathBuf,
    },
}

pub(crate) fn run(command: RulesCommand) -> ExitCode {
    match command {
        RulesCommand::Test { rules, events } => test(&rules, &events),
    }
}

/// Reads a rules file: a `rules:` section, or a bare list of alert rules.
fn read_rules(path: &Path) -> Result<RulesConfig, ExitCode> {
    let text = std::fs::read_to_string(path).map_err(|e| unreadable(path, &e))?;
    let value: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text)
        .map_err(|e| config_error(format!("{}: {e}", path.display())))?;
    let value = match value {
        serde_yaml_ng::Value::Sequence(list) => {
            let mut section = serde_yaml_ng::Mapping::new();
            section.insert("alerts".into(), serde_yaml_ng::Value::Sequence(list));
            serde_yaml_ng::Value::Mapping(section)
        }
        other => other,
    };
    serde_yaml_ng::from_value(value).map_err(|e| config_error(format!("{}: {e}", path.display())))
}

fn test(rules_path: &Path, events_path: &Path) -> ExitCode {
    let config = match read_rules(rules_path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let clock = ManualClock::new(tracing_siem::event::Timestamp::from_unix_secs(0));
    let mut engine = match Engine::with_clock(&config, Arc::new(clock.clone())) {
        Ok(e) => e,
        Err(e) => return config_error(format!("{}: {e}", rules_path.display())),
    };
    let file = match std::fs::File::open(events_path) {
        Ok(f) => f,
        Err(e) => return unreadable(events_path, &e),
    };
    let mut out = BufWriter::new(io::stdout().lock());
    let (mut events, mut alerts, mut bad) = (0u64, 0u64, 0u64);
    for (n, line) in BufReader::new(file).split(b'\n').enumerate() {
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                eprintln!("siem: reading {}: {e}", events_path.display());
                return ExitCode::from(EXIT_INPUT);
            }
        };
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let mut event = match decode_json(&line) {
            Ok(e) => e,
            Err(e) => {
                bad += 1;
                eprintln!("siem: {} line {}: {e}", events_path.display(), n + 1);
                continue;
            }
        };
        events += 1;
        clock.set(event.timestamp);
        for alert in engine.process(&mut event) {
            alerts += 1;
            if let Err(e) = writeln!(out, "{}", describe(n + 1, &alert)) {
                return output_failed(e);
            }
        }
    }
    let summary = writeln!(out, "# {events} events, {alerts} alerts");
    if let Err(e) = summary.and_then(|()| out.flush()) {
        return output_failed(e);
    }
    if bad > 0 {
        ExitCode::from(EXIT_INPUT)
    } else {
        ExitCode::SUCCESS
    }
}

/// One alert as a line: the event line that raised it, its time, level, rule, action and
/// message, then its NIS2 early-warning deadline when reportable.
fn describe(line: usize, alert: &Alert) -> String {
    let c = &alert.context;
    let at = c
        .triggered_at
        .map_or_else(|| "-".to_owned(), |t| t.to_rfc3339());
    let mut text = format!("line {line}\t{at}\t{}\t{}", alert.level, alert.rule);
    if let Some(action) = &alert.action {
        text.push_str(&format!("\taction={action}"));
    }
    text.push('\t');
    text.push_str(&alert.message);
    if let Some(nis2) = &c.nis2 {
        text.push_str(&format!(
            "\tnis2_early_warning_due={}",
            nis2.early_warning_due.to_rfc3339()
        ));
    }
    text
}
