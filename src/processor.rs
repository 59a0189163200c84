//! The work done on the pipeline thread for each captured event.

use siem_event::SecurityEvent;
use siem_ship::Processor;

use crate::capture::CapturedEvent;
use crate::normalize::Normalizer;

/// Normalises captured events into security events.
pub(crate) struct SecurityProcessor {
    pub normalizer: Normalizer,
}

impl Processor<Box<CapturedEvent>> for SecurityProcessor {
    fn process(&mut self, item: Box<CapturedEvent>, out: &mut Vec<SecurityEvent>) {
        out.push(self.normalizer.normalize(&item));
    }
}
