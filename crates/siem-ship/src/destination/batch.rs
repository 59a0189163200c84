/// A batch of encoded records, stored back to back in one reused buffer.
///
/// Encoders append one record each (no framing, no trailing newline); sinks add the framing
/// their transport needs (a newline for JSON lines, octet counting for syslog over TCP, …).
///
/// ```
/// use siem_ship::Batch;
/// let mut batch = Batch::default();
/// batch.push_with(|out| out.extend_from_slice(b"one"));
/// batch.push_with(|out| out.extend_from_slice(b"two"));
/// assert_eq!(batch.records().collect::<Vec<_>>(), vec![&b"one"[..], &b"two"[..]]);
/// assert_eq!(batch.len(), 2);
/// assert_eq!(batch.byte_len(), 6);
/// ```
#[derive(Debug, Default, Clone)]
pub struct Batch {
    bytes: Vec<u8>,
    ends: Vec<usize>,
    /// Room the destination's spool keeps free for this batch while the delivery thread holds
    /// it (it spills there if its send fails); 0 without a spool.
    spool_reserve: u64,
}

impl Batch {
    /// An empty batch with room for `records` records of `bytes` bytes in all.
    pub fn with_capacity(records: usize, bytes: usize) -> Batch {
        Batch {
            bytes: Vec::with_capacity(bytes),
            ends: Vec::with_capacity(records),
            spool_reserve: 0,
        }
    }

    /// Appends one record written by `write` into the batch's buffer.
    pub fn push_with(&mut self, write: impl FnOnce(&mut Vec<u8>)) {
        write(&mut self.bytes);
        self.ends.push(self.bytes.len());
    }

    /// Appends one record from bytes.
    pub fn push(&mut self, record: &[u8]) {
        self.push_with(|out| out.extend_from_slice(record));
    }

    /// The records in order.
    pub fn records(&self) -> impl ExactSizeIterator<Item = &[u8]> + '_ {
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let r = &self.bytes[start..end];
            start = end;
            r
        })
    }

    /// Record `i`, if there is one.
    pub fn record(&self, i: usize) -> Option<&[u8]> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        Some(&self.bytes[start..end])
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True when the batch holds no record.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Bytes the batch can hold before its buffer grows.
    ///
    /// ```
    /// use siem_ship::Batch;
    /// assert!(Batch::with_capacity(10, 4096).byte_capacity() >= 4096);
    /// ```
    pub fn byte_capacity(&self) -> usize {
        self.bytes.capacity()
    }

    /// Total encoded bytes, without framing.
    pub fn byte_len(&self) -> usize {
        self.bytes.len()
    }

    /// Sets the room the spool keeps free for this batch.
    pub(crate) fn set_spool_reserve(&mut self, bytes: u64) {
        self.spool_reserve = bytes;
    }

    /// The room the spool keeps free for this batch, which it no longer needs.
    pub(crate) fn take_spool_reserve(&mut self) -> u64 {
        std::mem::take(&mut self.spool_reserve)
    }

    /// Empties the batch, keeping its buffers for reuse.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
    }

    /// Keeps only the records whose index `keep` accepts (used to resend what a partial failure
    /// left undelivered).
    pub fn retain_indices(&mut self, mut keep: impl FnMut(usize) -> bool) {
        let mut bytes = Vec::with_capacity(self.bytes.len());
        let mut ends = Vec::with_capacity(self.ends.len());
        for (i, r) in self.records().enumerate() {
            if keep(i) {
                bytes.extend_from_slice(r);
                ends.push(bytes.len());
            }
        }
        self.bytes = bytes;
        self.ends = ends;
    }
}
