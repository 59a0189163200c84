//! A sink that stalls its destination until the test opens it, then records what it delivers:
//! for tests that need a destination's queue to fill behind a send that does not return.

use std::sync::{Arc, Condvar, Mutex};

use siem_ship::{Batch, Sink, SinkError};

/// Records every delivered record, but only once opened: until then every send waits.
#[derive(Clone, Default)]
pub struct Gate {
    open: Arc<(Mutex<bool>, Condvar)>,
    got: Arc<Mutex<Vec<String>>>,
}

impl Gate {
    /// Lets every waiting and later send through.
    pub fn open(&self) {
        *self.open.0.lock().unwrap() = true;
        self.open.1.notify_all();
    }

    /// The records delivered so far that contain `text`.
    pub fn delivered_containing(&self, text: &str) -> Vec<String> {
        let got = self.got.lock().unwrap();
        got.iter().filter(|r| r.contains(text)).cloned().collect()
    }
}

impl Sink for Gate {
    fn kind(&self) -> &'static str {
        "gate"
    }

    fn send(&mut self, batch: &Batch) -> Result<(), SinkError> {
        let (open, changed) = &*self.open;
        let mut open = open.lock().unwrap();
        while !*open {
            open = changed.wait(open).unwrap();
        }
        let records = batch
            .records()
            .map(|r| String::from_utf8_lossy(r).into_owned());
        self.got.lock().unwrap().extend(records);
        Ok(())
    }
}
