//! `siem verify FILE…`: checks the tamper-evident chain of a file destination's output (files
//! oldest first, `.gz` rotations included) and names the first event modified, removed,
//! inserted or reordered — or how many events are intact.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use tracing_siem::{read_maybe_gzip, Verifier};

use crate::{print, unreadable, EXIT_USAGE};

/// The exit code when the chain is broken.
const EXIT_TAMPERED: u8 = 1;

/// `siem verify …`
#[derive(Args)]
pub(crate) struct VerifyArgs {
    /// The files, oldest first: `audit.jsonl.3.gz audit.jsonl.2.gz audit.jsonl.1 audit.jsonl`
    /// (`.gz` files are read compressed).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// The environment variable that holds the chain key (the `chain.key` of the destination).
    #[arg(long, default_value = "SIEM_CHAIN_KEY", value_name = "VAR")]
    key_env: String,
}

pub(crate) fn run(args: VerifyArgs) -> ExitCode {
    let Some(key) = std::env::var_os(&args.key_env).filter(|k| !k.is_empty()) else {
        eprintln!(
            "siem verify: the chain key is not set: put it in ${} (or name another variable with --key-env)",
            args.key_env
        );
        return ExitCode::from(EXIT_USAGE);
    };
    let mut verifier = Verifier::new(key.as_encoded_bytes());
    let mut first_seq = None;
    for path in &args.files {
        let text = match read_maybe_gzip(path) {
            Ok(text) => text,
            Err(e) => return unreadable(path, &e),
        };
        for (number, line) in text.split(|b| *b == b'\n').enumerate() {
            if line.is_empty() {
                continue;
            }
            if let Err(tamper) = verifier.check(line) {
                eprintln!(
                    "siem verify: {} line {}: {tamper} ({} events verified before it)",
                    path.display(),
                    number + 1,
                    verifier.verified()
                );
                return ExitCode::from(EXIT_TAMPERED);
            }
            first_seq = first_seq.or(verifier.last_seq());
        }
    }
    let summary = match (first_seq, verifier.last_seq()) {
        (Some(first), Some(last)) => format!(
            "verified {} events (seq {first} to {last}) in {} file(s): none modified, removed, inserted or reordered\n",
            verifier.verified(),
            args.files.len()
        ),
        _ => "no chained events in the files\n".to_owned(),
    };
    match print(&summary) {
        Ok(()) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}
