use std::fmt;

/// A unique event id, for de-duplication on the SIEM side (a random UUID v4).
///
/// ```
/// use siem_event::EventId;
/// let a = EventId::new();
/// assert_ne!(a, EventId::new());
/// assert_eq!(a.to_string().len(), 36);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventId(u128);

impl EventId {
    /// A fresh random id.
    pub fn new() -> EventId {
        EventId(uuid::Uuid::new_v4().as_u128())
    }

    /// An id from its 128-bit value (for decoding events that already carry one).
    pub const fn from_u128(v: u128) -> EventId {
        EventId(v)
    }

    /// Parses the hyphenated or plain hex form.
    pub fn parse(text: &str) -> Option<EventId> {
        uuid::Uuid::try_parse(text)
            .ok()
            .map(|u| EventId(u.as_u128()))
    }

    /// The 128-bit value.
    pub const fn as_u128(self) -> u128 {
        self.0
    }

    /// Writes the hyphenated lower-case form (36 bytes) into `out` without allocating.
    pub fn write_to(self, out: &mut Vec<u8>) {
        let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
        out.extend_from_slice(
            uuid::Uuid::from_u128(self.0)
                .hyphenated()
                .encode_lower(&mut buf)
                .as_bytes(),
        );
    }
}

impl Default for EventId {
    fn default() -> Self {
        EventId::new()
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&uuid::Uuid::from_u128(self.0).hyphenated(), f)
    }
}

impl fmt::Debug for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EventId({self})")
    }
}
