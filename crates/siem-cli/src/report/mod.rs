//! `siem report FILE…`: a compliance report from a file destination's JSON-lines output (`.gz`
//! rotations included): events per SOC 2 criterion, ISO 27001 control and NIS2 obligation, alerts,
//! NIS2 incidents and their early-warning deadlines, and gaps per source — as JSON or as one
//! self-contained HTML page (docs/compliance.md).

mod aggregate;
mod chart;
mod event;
mod html;
mod json;
mod nis2;
mod read;
mod tally;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, ValueEnum};
use tracing_siem::event::Timestamp;

use crate::{parse_duration, print, unreadable, EXIT_INPUT, EXIT_USAGE};
use aggregate::{Aggregator, Bounds};
use read::Line;

/// `siem report …`
#[derive(Args)]
pub(crate) struct ReportArgs {
    /// The files, oldest first: `audit.jsonl.2.gz audit.jsonl.1 audit.jsonl` (`.gz` files are
    /// read compressed).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Start of the period (RFC 3339); default: the earliest event.
    #[arg(long, value_parser = parse_time)]
    from: Option<Timestamp>,
    /// End of the period (RFC 3339); default: the latest event.
    #[arg(long, value_parser = parse_time)]
    to: Option<Timestamp>,
    /// A source (host and app) silent longer than this inside the period has a gap.
    #[arg(long, default_value = "1h", value_parser = parse_duration)]
    gap: Duration,
    /// json or html.
    #[arg(long, value_enum, default_value_t = OutputFormat::Json)]
    format: OutputFormat,
    /// Write the report to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
}

/// The report's form.
#[derive(Clone, Copy, ValueEnum)]
enum OutputFormat {
    /// Pretty-printed JSON.
    Json,
    /// One self-contained HTML page with charts.
    Html,
}

fn parse_time(text: &str) -> Result<Timestamp, String> {
    Timestamp::parse_rfc3339(text).map_err(|e| format!("not an RFC 3339 time ({e})"))
}

pub(crate) fn run(args: ReportArgs) -> ExitCode {
    if let (Some(from), Some(to)) = (args.from, args.to) {
        if from > to {
            eprintln!("siem report: --from is after --to");
            return ExitCode::from(EXIT_USAGE);
        }
    }
    let mut aggregator = Aggregator::new(
        Bounds {
            from: args.from,
            to: args.to,
        },
        args.gap,
    );
    for path in &args.files {
        let reader = match read::open(path) {
            Ok(reader) => reader,
            Err(e) => return unreadable(path, &e),
        };
        aggregator.file(path.display().to_string());
        let read = read::each_line(reader, |number, line| match line {
            Line::Text(text) => match event::parse(text) {
                Ok(event) => aggregator.event(event),
                Err(reason) => aggregator.malformed(number, &reason),
            },
            Line::TooLong => aggregator.malformed(
                number,
                &format!("line longer than {} bytes", read::MAX_LINE),
            ),
        });
        if let Err(e) = read {
            eprintln!(
                "siem report: {}: reading stopped early: {e}",
                path.display()
            );
            aggregator.read_error(e.to_string());
        }
    }
    let report = aggregator.finish();
    let malformed = report.input.malformed_lines;
    let incomplete = malformed > 0 || !report.input.read_errors.is_empty();
    if malformed > 0 {
        eprintln!("siem report: {malformed} malformed line(s) skipped (listed in the report)");
    }
    let text = match args.format {
        OutputFormat::Json => json::render(&report),
        OutputFormat::Html => html::render(&report),
    };
    let written = match &args.output {
        Some(path) => std::fs::write(path, text).map_err(|e| {
            eprintln!("siem report: cannot write {}: {e}", path.display());
            ExitCode::from(EXIT_USAGE)
        }),
        None => print(&text),
    };
    match written {
        Err(code) => code,
        Ok(()) if incomplete => ExitCode::from(EXIT_INPUT),
        Ok(()) => ExitCode::SUCCESS,
    }
}
