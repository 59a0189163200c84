//! RELP frames: `TXNR SP COMMAND SP DATALEN [SP DATA] LF`, written for the collector and read
//! from it, where a reply that does not follow the grammar, or announces more data than a reply
//! can need, is an error (never a panic, never an unbounded buffer).

use std::fmt;

/// The largest transaction number; the next one is 1 again.
pub(super) const MAX_TXNR: u32 = 999_999_999;

/// The most data a reply from the collector may announce. Replies carry a status line and, for
/// `open`, a few offers: a few hundred bytes. Anything near this is not a RELP collector.
pub(super) const MAX_REPLY_DATA: usize = 64 * 1024;

/// Longest command name accepted (RELP's are at most 32 characters).
const MAX_COMMAND: usize = 32;

/// The transaction number after `txnr` (999 999 999 is followed by 1).
pub(super) fn next_txnr(txnr: u32) -> u32 {
    if txnr >= MAX_TXNR {
        1
    } else {
        txnr + 1
    }
}

/// Appends one frame to `out`.
pub(super) fn encode(txnr: u32, command: &str, data: &[u8], out: &mut Vec<u8>) {
    use std::io::Write;
    // Writing into a Vec cannot fail.
    let _ = write!(out, "{txnr} {command} {}", data.len());
    if !data.is_empty() {
        out.push(b' ');
        out.extend_from_slice(data);
    }
    out.push(b'\n');
}

/// A frame read from the collector, borrowing its bytes.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Frame<'a> {
    pub(super) txnr: u32,
    pub(super) command: &'a str,
    pub(super) data: &'a [u8],
}

/// Why bytes from the collector are not a RELP frame.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct BadFrame(String);

impl fmt::Display for BadFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the collector sent an invalid RELP frame: {}", self.0)
    }
}

fn bad(why: impl Into<String>) -> BadFrame {
    BadFrame(why.into())
}

/// Reads the first frame of `input`: `Ok(None)` while the frame is incomplete (what is there so
/// far is valid), else the frame and the number of bytes it took.
pub(super) fn parse(input: &[u8]) -> Result<Option<(Frame<'_>, usize)>, BadFrame> {
    let mut at = 0;
    let Some(txnr) = number(input, &mut at, "transaction number")? else {
        return Ok(None);
    };
    if txnr > u64::from(MAX_TXNR) {
        return Err(bad(format!(
            "transaction number {txnr} is above {MAX_TXNR}"
        )));
    }
    if !space(input, &mut at, "after the transaction number")? {
        return Ok(None);
    }
    let start = at;
    while at < input.len() && input[at].is_ascii_alphabetic() {
        at += 1;
        if at - start > MAX_COMMAND {
            return Err(bad("the command is longer than 32 characters"));
        }
    }
    if at == input.len() {
        return Ok(None);
    }
    if at == start {
        return Err(bad(format!(
            "expected a command, found {}",
            shown(input[at])
        )));
    }
    let command = std::str::from_utf8(&input[start..at]).expect("ASCII letters");
    if !space(input, &mut at, "after the command")? {
        return Ok(None);
    }
    let Some(len) = number(input, &mut at, "data length")? else {
        return Ok(None);
    };
    if len > MAX_REPLY_DATA as u64 {
        return Err(bad(format!(
            "{command} announces {len} bytes of data; a reply needs at most {MAX_REPLY_DATA}"
        )));
    }
    let len = len as usize;
    if len > 0 {
        if !space(input, &mut at, "after the data length")? {
            return Ok(None);
        }
        if input.len() < at + len {
            return Ok(None);
        }
    }
    let data = &input[at..at + len];
    at += len;
    match input.get(at) {
        None => Ok(None),
        Some(b'\n') => Ok(Some((
            Frame {
                txnr: txnr as u32,
                command,
                data,
            },
            at + 1,
        ))),
        Some(&other) => Err(bad(format!(
            "expected a line feed after {len} bytes of data, found {}",
            shown(other)
        ))),
    }
}

/// Reads 1 to 9 decimal digits ending at a non-digit; `Ok(None)` when the input ends first.
fn number(input: &[u8], at: &mut usize, what: &str) -> Result<Option<u64>, BadFrame> {
    let start = *at;
    let mut value = 0u64;
    while let Some(&b) = input.get(*at) {
        if !b.is_ascii_digit() {
            break;
        }
        if *at - start == 9 {
            return Err(bad(format!("the {what} has more than 9 digits")));
        }
        value = value * 10 + u64::from(b - b'0');
        *at += 1;
    }
    match input.get(*at) {
        None => Ok(None),
        Some(_) if *at == start => Err(bad(format!(
            "expected the {what}, found {}",
            shown(input[*at])
        ))),
        Some(_) => Ok(Some(value)),
    }
}

/// Reads one space; `Ok(false)` when the input ends first.
fn space(input: &[u8], at: &mut usize, after: &str) -> Result<bool, BadFrame> {
    match input.get(*at) {
        None => Ok(false),
        Some(b' ') => {
            *at += 1;
            Ok(true)
        }
        Some(&other) => Err(bad(format!(
            "expected a space {after}, found {}",
            shown(other)
        ))),
    }
}

fn shown(b: u8) -> String {
    if b.is_ascii_graphic() {
        format!("{:?}", b as char)
    } else {
        format!("byte 0x{b:02x}")
    }
}

/// A parsed `rsp` payload: `CODE [SP TEXT] [LF DATA]`.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Reply<'a> {
    pub(super) code: u16,
    pub(super) text: String,
    pub(super) data: &'a [u8],
}

impl Reply<'_> {
    pub(super) fn is_ok(&self) -> bool {
        self.code == 200
    }
}

/// Reads the payload of an `rsp` frame.
pub(super) fn reply(payload: &[u8]) -> Result<Reply<'_>, BadFrame> {
    let (line, data) = match payload.iter().position(|&b| b == b'\n') {
        Some(i) => (&payload[..i], &payload[i + 1..]),
        None => (payload, &payload[payload.len()..]),
    };
    let code = line
        .get(..3)
        .filter(|d| d.iter().all(u8::is_ascii_digit))
        .filter(|_| matches!(line.get(3), None | Some(b' ')))
        .ok_or_else(|| bad("a reply does not start with a three-digit status code"))?;
    let code = code.iter().fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
    let text = String::from_utf8_lossy(line.get(4..).unwrap_or_default())
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect();
    Ok(Reply { code, text, data })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(input: &[u8]) -> Frame<'_> {
        let (frame, used) = parse(input).unwrap().expect("a whole frame");
        assert_eq!(used, input.len());
        frame
    }

    #[test]
    fn frames_are_written_as_the_grammar_says() {
        let mut out = Vec::new();
        encode(7, "syslog", b"<13>1 - h a - - - x", &mut out);
        encode(8, "close", b"", &mut out);
        assert_eq!(out, b"7 syslog 19 <13>1 - h a - - - x\n8 close 0\n");
    }

    #[test]
    fn replies_as_rsyslog_sends_them_are_read() {
        let open = b"1 rsp 93 200 OK\nrelp_version=0\nrelp_software=librelp,1.11.0,http://librelp.adiscon.com\ncommands=syslog\n";
        let frame = whole(open);
        assert_eq!((frame.txnr, frame.command), (1, "rsp"));
        let r = reply(frame.data).unwrap();
        assert!(r.is_ok());
        assert_eq!(r.text, "OK");
        assert!(r.data.ends_with(b"\ncommands=syslog"));
        assert_eq!(
            whole(b"0 serverclose 0\n"),
            Frame {
                txnr: 0,
                command: "serverclose",
                data: b""
            }
        );
        let refused = reply(whole(b"1 rsp 20 500 command disabled\n").data).unwrap();
        assert_eq!(
            (refused.code, refused.text.as_str()),
            (500, "command disabled")
        );
    }

    #[test]
    fn incomplete_frames_wait_for_more_at_every_cut() {
        let two = b"2 rsp 6 200 OK\n3 rsp 6 200 OK\n";
        for cut in 0..15 {
            assert_eq!(parse(&two[..cut]), Ok(None), "cut at {cut}");
        }
        let (first, used) = parse(two).unwrap().unwrap();
        assert_eq!((first.txnr, used), (2, 15));
        assert_eq!(whole(&two[used..]).txnr, 3);
    }

    #[test]
    fn hostile_replies_are_errors() {
        let cases: &[(&[u8], &str)] = &[
            (
                b"HTTP/1.1 400 Bad Request\r\n",
                "expected the transaction number, found 'H'",
            ),
            (b"1234567890 rsp 6 200 OK\n", "more than 9 digits"),
            (b"1 rsp 999999999 ", "announces 999999999 bytes"),
            (b"1 rsp 65537 ", "announces 65537 bytes"),
            (
                b"1 rsp 6 200 OKX\n",
                "expected a line feed after 6 bytes of data, found 'X'",
            ),
            (b"1 rsp 6 200 OK\r\n", "found byte 0x0d"),
            (b"1  rsp", "expected a command, found byte 0x20"),
            (
                b"1 r\x00sp",
                "expected a space after the command, found byte 0x00",
            ),
            (b"1 rsp -1", "expected the data length, found '-'"),
            (b"1 rsp 6\n", "expected a space after the data length"),
            (b"1\trsp", "expected a space after the transaction number"),
            (b"1 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "longer than 32"),
        ];
        for (input, why) in cases {
            let err = parse(input).expect_err(why).to_string();
            assert!(err.contains(why), "{input:?}: {err}");
        }
        assert!(reply(b"OK").is_err());
        assert!(reply(b"20").is_err());
        assert!(reply(b"2000 OK").is_err());
        assert_eq!(reply(b"200").unwrap().code, 200);
    }

    #[test]
    fn random_bytes_never_panic() {
        // A fixed pseudo-random stream (xorshift), so a failure can be reproduced.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            let len = (x % 40) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    // Mostly digits, spaces, letters and LF, so parsing gets deep.
                    b"0123456789 rsp\n\x00\xffOK"[(x % 19) as usize]
                })
                .collect();
            if let Ok(Some((frame, used))) = parse(&bytes) {
                assert!(used <= bytes.len() && frame.data.len() <= MAX_REPLY_DATA);
                let _ = reply(frame.data);
            }
        }
    }

    #[test]
    fn transaction_numbers_wrap_to_one() {
        assert_eq!(next_txnr(1), 2);
        assert_eq!(next_txnr(MAX_TXNR), 1);
    }
}
