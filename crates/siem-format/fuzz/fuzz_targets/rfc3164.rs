//! The rfc3164 encoder never panics, writes one line, and its output parses back.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    siem_format_fuzz::check(siem_format::Format::Rfc3164, data);
});
