//! The MSG part of a syslog message: the plain message, or a whole CEF, LEEF or JSON record.

use siem_event::SecurityEvent;

use crate::text::write_without_controls;
use crate::{
    BodyFormat, CefEncoder, Encoder, FormatError, FormatOptions, JsonEncoder, LeefEncoder,
};

/// What a syslog encoder writes after its header.
#[derive(Debug, Clone)]
pub(crate) enum Body {
    Message,
    Cef(CefEncoder),
    Leef(Box<LeefEncoder>),
    Json(JsonEncoder),
}

impl Body {
    pub(crate) fn new(options: &FormatOptions) -> Result<Body, FormatError> {
        Ok(match options.body {
            BodyFormat::Message => Body::Message,
            BodyFormat::Cef => Body::Cef(CefEncoder::new(options)?),
            BodyFormat::Leef1 => Body::Leef(Box::new(LeefEncoder::v1(options)?)),
            BodyFormat::Leef2 => Body::Leef(Box::new(LeefEncoder::v2(options)?)),
            BodyFormat::Json => Body::Json(JsonEncoder::from_product(options.product_info()?)),
        })
    }

    /// Whether this body writes nothing for the event (an empty plain message).
    pub(crate) fn is_empty(&self, event: &SecurityEvent) -> bool {
        matches!(self, Body::Message) && event.message.is_empty()
    }

    /// Appends the body; a plain message has its unsafe characters (controls, Unicode line
    /// breaks, bidi controls) replaced by spaces, so that
    /// it cannot end the syslog line.
    pub(crate) fn write(&self, event: &SecurityEvent, out: &mut Vec<u8>) {
        match self {
            Body::Message => write_without_controls(out, &event.message),
            Body::Cef(e) => e.encode(event, out),
            Body::Leef(e) => e.encode(event, out),
            Body::Json(e) => e.encode(event, out),
        }
    }
}
