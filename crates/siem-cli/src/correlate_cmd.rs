//! `siem correlate CONFIG`: runs this instance of the fleet's correlator until SIGTERM or
//! SIGINT (see `docs/correlate.md`).

use std::path::Path;
use std::process::ExitCode;

use siem_correlate::{CorrelateError, Correlator};

use crate::{config_error, load_config, EXIT_UNDELIVERED};

pub(crate) fn run(path: &Path) -> ExitCode {
    let config = match load_config(path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let stop = match siem_correlate::stop_on_signals() {
        Ok(stop) => stop,
        Err(e) => {
            eprintln!("siem: cannot handle SIGTERM/SIGINT: {e}");
            return ExitCode::from(EXIT_UNDELIVERED);
        }
    };
    let correlator = match Correlator::start(config) {
        Ok(c) => c,
        Err(e @ (CorrelateError::NotConfigured | CorrelateError::Config(_))) => {
            return config_error(e)
        }
        Err(e) => {
            eprintln!("siem correlate: {e}");
            return ExitCode::from(EXIT_UNDELIVERED);
        }
    };
    match correlator.run(&stop) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("siem correlate: {e}");
            ExitCode::from(EXIT_UNDELIVERED)
        }
    }
}
