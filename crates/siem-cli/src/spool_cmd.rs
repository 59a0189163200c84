//! `siem spool ls|replay|drop PATH`: look at a destination's disk spool while the program that
//! owns it is stopped, send it to the destination by hand, or delete it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;
use tracing_siem::ship::spool::{self, SpoolSummary};

use crate::{
    config_error, load_config, print, unreadable, ConfigArg, EXIT_UNDELIVERED, EXIT_USAGE,
};

/// `siem spool …`
#[derive(Subcommand)]
pub(crate) enum SpoolCommand {
    /// List the spool's segments: records, bytes, damaged records, how far delivery got.
    Ls {
        /// The spool directory (a destination's `spool.path`).
        path: PathBuf,
    },
    /// Send what the spool holds to the destination whose `spool.path` it is (or the one
    /// named), oldest first, deleting what the destination accepted. The program that owns
    /// the spool must be stopped.
    Replay {
        /// The spool directory.
        path: PathBuf,
        /// The configuration that names the destination.
        #[command(flatten)]
        config: ConfigArg,
        /// The destination to send to (default: the one whose `spool.path` is PATH).
        #[arg(long)]
        destination: Option<String>,
    },
    /// Delete the spool: its events are lost. Needs `--yes`.
    Drop {
        /// The spool directory.
        path: PathBuf,
        /// Confirm the deletion.
        #[arg(long)]
        yes: bool,
    },
}

pub(crate) fn run(command: SpoolCommand) -> ExitCode {
    let done = match command {
        SpoolCommand::Ls { path } => ls(&path),
        SpoolCommand::Replay {
            path,
            config,
            destination,
        } => replay(
            &path,
            config.required("spool replay"),
            destination.as_deref(),
        ),
        SpoolCommand::Drop { path, yes } => drop_spool(&path, yes),
    };
    done.unwrap_or_else(|code| code)
}

/// The spool at `path`, read: a missing or unreadable directory is a usage error.
fn summary(path: &Path) -> Result<SpoolSummary, ExitCode> {
    if !path.is_dir() {
        eprintln!("siem: {}: not a spool directory", path.display());
        return Err(ExitCode::from(EXIT_USAGE));
    }
    spool::inspect(path).map_err(|e| unreadable(path, &e))
}

fn ls(path: &Path) -> Result<ExitCode, ExitCode> {
    let s = summary(path)?;
    let mut out = format!(
        "{:<26} {:>12} {:>10} {:>8}\n",
        "segment", "bytes", "records", "corrupt"
    );
    for seg in &s.segments {
        let name = format!("{:020}.seg", seg.id);
        match &seg.unreadable {
            Some(why) => out.push_str(&format!("{name:<26} {:>12} unreadable: {why}\n", seg.bytes)),
            None => out.push_str(&format!(
                "{name:<26} {:>12} {:>10} {:>8}\n",
                seg.bytes, seg.records, seg.corrupt_records
            )),
        }
    }
    out.push_str(&format!(
        "{} segments, {} records, {} bytes, {} damaged records",
        s.segments.len(),
        s.records(),
        s.bytes(),
        s.corrupt_records()
    ));
    if let Some((segment, offset)) = s.acknowledged {
        out.push_str(&format!(
            "; delivered up to byte {offset} of segment {segment:020}.seg"
        ));
    }
    out.push('\n');
    print(&out)?;
    Ok(ExitCode::SUCCESS)
}

fn replay(path: &Path, config_path: &Path, name: Option<&str>) -> Result<ExitCode, ExitCode> {
    summary(path)?;
    let config = load_config(config_path)?;
    let names = config.destination_names();
    let wanted = |i: usize| match name {
        Some(n) => names[i] == n,
        None => config.destinations[i]
            .spool
            .as_ref()
            .is_some_and(|s| same_directory(&s.path, path)),
    };
    let Some(i) = (0..config.destinations.len()).find(|&i| wanted(i)) else {
        return Err(config_error(match name {
            Some(n) => format!("{}: no destination named {n:?}", config_path.display()),
            None => format!(
                "{}: no destination has `spool: {{ path: {} }}`; name one with --destination",
                config_path.display(),
                path.display()
            ),
        }));
    };
    let d = &config.destinations[i];
    let mut sink = d
        .sink
        .open()
        .map_err(|e| config_error(format!("destinations[{i}]: {e}")))?;
    let report = match spool::replay(path, sink.as_mut(), d.batch) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("siem: spool {}: {e}", path.display());
            return Err(ExitCode::from(EXIT_UNDELIVERED));
        }
    };
    let mut out = format!(
        "{}: shipped {}, damaged records skipped {}",
        names[i], report.shipped, report.corrupt
    );
    if let Some(e) = &report.error {
        out.push_str(&format!("; stopped: {e} (the rest stays in the spool)"));
    }
    out.push('\n');
    print(&out)?;
    Ok(if report.error.is_some() {
        ExitCode::from(EXIT_UNDELIVERED)
    } else {
        ExitCode::SUCCESS
    })
}

/// Whether two paths name the same directory (as written, or once resolved).
fn same_directory(a: &Path, b: &Path) -> bool {
    a == b
        || matches!(
            (std::fs::canonicalize(a), std::fs::canonicalize(b)),
            (Ok(x), Ok(y)) if x == y
        )
}

fn drop_spool(path: &Path, yes: bool) -> Result<ExitCode, ExitCode> {
    let s = summary(path)?;
    if !yes {
        eprintln!(
            "siem: this deletes {} records ({} bytes) in {}; run again with --yes to delete them",
            s.records(),
            s.bytes(),
            path.display()
        );
        return Err(ExitCode::from(EXIT_USAGE));
    }
    match spool::remove(path) {
        Ok(records) => {
            print(&format!(
                "deleted {records} records from {}\n",
                path.display()
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("siem: spool {}: {e}", path.display());
            Err(ExitCode::from(EXIT_UNDELIVERED))
        }
    }
}
