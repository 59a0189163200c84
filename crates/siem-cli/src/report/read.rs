//! Reading event files line by line, plain or gzip-compressed, in bounded memory: a line longer
//! than [`MAX_LINE`] is reported as such and skipped, never buffered whole.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

/// The longest line kept (1 MiB): the file destination writes far shorter ones, so a longer line
/// is damage or hostile input.
pub(crate) const MAX_LINE: usize = 1 << 20;

/// One line of a file.
pub(crate) enum Line<'a> {
    /// The line's bytes, without its newline.
    Text(&'a [u8]),
    /// A line longer than [`MAX_LINE`] (its bytes were skipped).
    TooLong,
}

/// Opens `path` for reading (a `.gz` file decompressed, several gzip members included, as
/// rotation writes them).
pub(crate) fn open(path: &Path) -> io::Result<impl BufRead> {
    let file = File::open(path)?;
    let reader: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    Ok(BufReader::with_capacity(64 * 1024, reader))
}

/// Calls `each` with the number (from 1) and content of every non-empty line of `reader`.
/// An error (a truncated gzip stream …) ends the reading; the lines before it were handed over.
pub(crate) fn each_line(
    mut reader: impl BufRead,
    mut each: impl FnMut(u64, Line<'_>),
) -> io::Result<()> {
    let mut line = Vec::new();
    let mut too_long = false;
    let mut number = 0u64;
    let mut finish = |number: u64, line: &mut Vec<u8>, too_long: &mut bool| {
        if *too_long {
            each(number, Line::TooLong);
        } else if !line.trim_ascii().is_empty() {
            each(number, Line::Text(line));
        }
        line.clear();
        *too_long = false;
    };
    loop {
        let buffer = match reader.fill_buf() {
            Ok(buffer) => buffer,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buffer.is_empty() {
            if !line.is_empty() || too_long {
                finish(number + 1, &mut line, &mut too_long);
            }
            return Ok(());
        }
        let (chunk, ends_line) = match buffer.iter().position(|b| *b == b'\n') {
            Some(end) => (&buffer[..end], true),
            None => (buffer, false),
        };
        if !too_long {
            if line.len() + chunk.len() > MAX_LINE {
                too_long = true;
                line = Vec::new();
            } else {
                line.extend_from_slice(chunk);
            }
        }
        let used = chunk.len() + usize::from(ends_line);
        reader.consume(used);
        if ends_line {
            number += 1;
            finish(number, &mut line, &mut too_long);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8]) -> Vec<(u64, Option<Vec<u8>>)> {
        let mut out = Vec::new();
        each_line(BufReader::with_capacity(7, input), |n, line| {
            out.push((
                n,
                match line {
                    Line::Text(text) => Some(text.to_vec()),
                    Line::TooLong => None,
                },
            ));
        })
        .unwrap();
        out
    }

    #[test]
    fn numbers_lines_across_buffer_boundaries_and_skips_blank_ones() {
        let got = lines(b"first line\n\nthird, a longer one\n  \nlast without newline");
        assert_eq!(
            got,
            [
                (1, Some(b"first line".to_vec())),
                (3, Some(b"third, a longer one".to_vec())),
                (5, Some(b"last without newline".to_vec())),
            ]
        );
    }

    #[test]
    fn an_overlong_line_is_reported_and_the_next_one_read() {
        let mut input = vec![b'x'; MAX_LINE + 1];
        input.extend_from_slice(b"\nok\n");
        assert_eq!(lines(&input), [(1, None), (2, Some(b"ok".to_vec()))]);
        let exact = vec![b'y'; MAX_LINE];
        assert_eq!(lines(&exact), [(1, Some(exact.clone()))]);
    }
}
