//! Reading configuration text: size and nesting checks, YAML, `${VAR}` interpolation.
//!
//! Interpolation happens inside string values after the YAML is parsed, so a variable's value
//! can never add keys or change the document's structure.

use std::collections::HashSet;
use std::io::Read as _;
use std::path::Path;

use serde_yaml_ng::Value;

use super::environment::{display, EnvText, Segment};
use super::ConfigError;

/// The longest configuration text accepted: far above any real configuration (a thousand alert
/// rules take about 200 KB), small enough that parsing it stays quick.
pub(crate) const MAX_CONFIG_BYTES: usize = 4 << 20;

/// The deepest nesting of mappings, lists and flow collections accepted (real configurations
/// nest about six levels).
pub(crate) const MAX_NESTING: usize = 64;

/// Reads a configuration file, refusing one longer than [`MAX_CONFIG_BYTES`] without reading
/// more than that (`/dev/zero` or a multi-gigabyte log given by mistake).
pub(crate) fn read_file(path: &Path) -> Result<String, ConfigError> {
    read_text(path).map_err(|e| {
        ConfigError::invalid("", format!("cannot read {}: {e}", path.display())).with_source(e)
    })
}

/// [`read_file`] with the I/O error as it is, so that a caller can tell a missing file from a
/// file that is not a configuration; a file past the limit is `InvalidData`.
pub(crate) fn read_text(path: &Path) -> std::io::Result<String> {
    let file = std::fs::File::open(path)?;
    let mut text = String::new();
    file.take(MAX_CONFIG_BYTES as u64 + 1)
        .read_to_string(&mut text)?;
    check_size(&text)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.reason().to_owned()))?;
    Ok(text)
}

fn check_size(text: &str) -> Result<(), ConfigError> {
    if text.len() > MAX_CONFIG_BYTES {
        return Err(ConfigError::invalid(
            "",
            format!(
                "the configuration is longer than the limit of {} MiB",
                MAX_CONFIG_BYTES >> 20
            ),
        ));
    }
    Ok(())
}

/// Refuses, before it is parsed, text longer than [`MAX_CONFIG_BYTES`] or nesting deeper than
/// [`MAX_NESTING`] levels.
///
/// The YAML parser keeps state per open level that it walks for every token, so a document
/// nested 50 000 deep costs it minutes, and its own depth limit applies only after the whole
/// document is read. This is one pass over the text that follows the parser's rules for where
/// a level opens (a `[` or `{`, a `- ` or `? ` entry, a `key:` at a new column) and for what
/// cannot open one (quoted and block scalars, plain scalars, comments), erring towards counting
/// a level too many.
pub(crate) fn check_shape(text: &str) -> Result<(), ConfigError> {
    check_size(text)?;
    let mut scan = Nesting {
        bytes: text.as_bytes(),
        pos: 0,
        col: 0,
        line: 1,
        flow: 0,
        levels: Vec::new(),
        key_col: None,
    };
    scan.run().map_err(|line| {
        ConfigError::invalid(
            "",
            format!(
                "the configuration nests deeper than the limit of {MAX_NESTING} levels (line {line})"
            ),
        )
    })
}

/// The scanner behind [`check_shape`]: positions, open block levels (as the YAML scanner's
/// indentation stack) and open flow collections.
struct Nesting<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// Column of `pos` in characters, as the YAML parser counts it.
    col: usize,
    line: usize,
    flow: usize,
    levels: Vec<Level>,
    /// Column of the first token of a possible `key:` on this line.
    key_col: Option<usize>,
}

/// An open block collection: the column of its keys or entries, and its kind.
struct Level {
    col: usize,
    kind: Kind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Mapping,
    Sequence,
    /// A sequence whose entries stand at the column of the mapping key it is the value of
    /// (`key:` then `- item` below it): the parser's indentation stack has no level of its own
    /// for it, but it nests all the same.
    IndentlessSequence,
}

impl Nesting<'_> {
    fn peek(&self, ahead: usize) -> Option<u8> {
        self.bytes.get(self.pos + ahead).copied()
    }

    /// The length of the line break `ahead` of `pos` (CR LF, CR, LF, and the NEL, LS and PS
    /// the YAML parser also ends lines at), 0 if none.
    fn break_len(&self, ahead: usize) -> usize {
        match self.bytes.get(self.pos + ahead..).unwrap_or_default() {
            [b'\r', b'\n', ..] => 2,
            [b'\r' | b'\n', ..] => 1,
            [0xC2, 0x85, ..] => 2,
            [0xE2, 0x80, 0xA8 | 0xA9, ..] => 3,
            _ => 0,
        }
    }

    fn at_end(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    /// Whether the byte `ahead` of `pos` ends a token: a blank, a line break or the end.
    fn blank_at(&self, ahead: usize) -> bool {
        matches!(self.peek(ahead), None | Some(b' ' | b'\t')) || self.break_len(ahead) > 0
    }

    fn at_document_marker(&self) -> bool {
        self.col == 0
            && (self.bytes[self.pos..].starts_with(b"---")
                || self.bytes[self.pos..].starts_with(b"..."))
            && self.blank_at(3)
    }

    /// Moves past one byte (a line break is passed with [`Nesting::newline`]).
    fn advance(&mut self) {
        if self.peek(0).is_some_and(|b| !(0x80..0xC0).contains(&b)) {
            self.col += 1;
        }
        self.pos += 1;
    }

    /// Moves past the line break at `pos`, if any.
    fn newline(&mut self) -> bool {
        let n = self.break_len(0);
        if n == 0 {
            return false;
        }
        self.pos += n;
        self.col = 0;
        self.line += 1;
        self.key_col = None;
        true
    }

    fn skip_to_line_end(&mut self) {
        while !self.at_end() && self.break_len(0) == 0 {
            self.advance();
        }
    }

    fn deep(&self) -> bool {
        self.levels.len() + self.flow > MAX_NESTING
    }

    /// The column of the innermost open block level.
    fn open_col(&self) -> Option<usize> {
        self.levels.last().map(|l| l.col)
    }

    /// Opens a block level at `col` unless one is open there already (the parser's roll); an
    /// entry (`- `) at the column of a mapping opens the sequence that is that key's value.
    fn roll(&mut self, col: usize, kind: Kind) -> Result<(), usize> {
        let opens = match self.levels.last() {
            None => Some(kind),
            Some(top) if top.col < col => Some(kind),
            Some(top) if top.col == col && top.kind == Kind::Mapping && kind == Kind::Sequence => {
                Some(Kind::IndentlessSequence)
            }
            Some(_) => None,
        };
        if let Some(kind) = opens {
            self.levels.push(Level { col, kind });
        }
        if self.deep() {
            return Err(self.line);
        }
        Ok(())
    }

    /// Closes the block levels a token at `col` ends (the parser's unroll): those further
    /// right, and a sequence at the column of its mapping unless the token is another entry.
    fn unroll(&mut self, col: usize, entry: bool) {
        while let Some(top) = self.levels.last() {
            let ends =
                top.col > col || (top.col == col && top.kind == Kind::IndentlessSequence && !entry);
            if !ends {
                return;
            }
            self.levels.pop();
        }
    }

    fn run(&mut self) -> Result<(), usize> {
        if self.bytes.starts_with("\u{feff}".as_bytes()) {
            self.pos = 3;
        }
        loop {
            self.skip_separation();
            let Some(c) = self.peek(0) else {
                return Ok(());
            };
            let col = self.col;
            let entry = c == b'-' && self.blank_at(1);
            if self.flow == 0 {
                self.unroll(col, entry);
            }
            if self.at_document_marker() {
                self.levels.clear();
                self.flow = 0;
                self.pos += 3;
                self.col += 3;
                continue;
            }
            match c {
                b'%' if col == 0 => self.skip_to_line_end(),
                b'[' | b'{' => {
                    self.note_key(col);
                    self.flow += 1;
                    if self.deep() {
                        return Err(self.line);
                    }
                    self.advance();
                }
                b']' | b'}' => {
                    self.flow = self.flow.saturating_sub(1);
                    self.advance();
                }
                b',' => {
                    self.key_col = None;
                    self.advance();
                }
                b'-' | b'?' if self.blank_at(1) => {
                    if self.flow == 0 {
                        let kind = if entry { Kind::Sequence } else { Kind::Mapping };
                        self.roll(col, kind)?;
                    }
                    self.key_col = None;
                    self.advance();
                }
                b':' if self.flow > 0 || self.blank_at(1) => {
                    if self.flow == 0 {
                        if let Some(key) = self.key_col.take() {
                            self.roll(key, Kind::Mapping)?;
                        }
                    }
                    self.key_col = None;
                    self.advance();
                }
                b'&' | b'*' | b'!' => {
                    self.note_key(col);
                    while !self.at_property_end() {
                        self.advance();
                    }
                }
                b'|' | b'>' if self.flow == 0 => self.skip_block_scalar(),
                b'\'' | b'"' => {
                    self.note_key(col);
                    self.skip_quoted(c);
                }
                _ => {
                    self.note_key(col);
                    self.skip_plain();
                }
            }
        }
    }

    /// A token that may be a key (in block context) is noted at the column where it starts.
    fn note_key(&mut self, col: usize) {
        if self.flow == 0 && self.key_col.is_none() {
            self.key_col = Some(col);
        }
    }

    /// Whether an anchor, alias or tag ends here: at a blank, or at a flow indicator in flow
    /// context.
    fn at_property_end(&self) -> bool {
        self.blank_at(0) || (self.flow > 0 && self.at_flow_indicator())
    }

    fn at_flow_indicator(&self) -> bool {
        matches!(self.peek(0), Some(b',' | b'[' | b']' | b'{' | b'}'))
    }

    /// Skips blanks, comments and line breaks up to the next token.
    fn skip_separation(&mut self) {
        loop {
            match self.peek(0) {
                Some(b' ' | b'\t') => self.advance(),
                Some(b'#') => self.skip_to_line_end(),
                Some(_) if self.newline() => {}
                _ => return,
            }
        }
    }

    /// A single- (`''` escapes a quote) or double-quoted (`\` escapes anything) scalar,
    /// across lines.
    fn skip_quoted(&mut self, quote: u8) {
        self.advance();
        while let Some(b) = self.peek(0) {
            if self.newline() {
                continue;
            }
            if quote == b'"' && b == b'\\' {
                self.advance();
                if !self.newline() && !self.at_end() {
                    self.advance();
                }
            } else if b == quote {
                self.advance();
                if quote == b'\'' && self.peek(0) == Some(b'\'') {
                    self.advance();
                } else {
                    return;
                }
            } else {
                self.advance();
            }
        }
    }

    /// A plain scalar: it ends at `: `, at ` #`, in flow context at `,[]{}`, and at a line
    /// break unless the next line continues it (indented past the open block level, or
    /// anywhere in flow context).
    fn skip_plain(&mut self) {
        loop {
            while let Some(b) = self.peek(0) {
                if self.break_len(0) > 0 {
                    break;
                }
                let ends = match b {
                    b':' => {
                        self.blank_at(1)
                            || (self.flow > 0
                                && matches!(self.peek(1), Some(b',' | b'[' | b']' | b'{' | b'}')))
                    }
                    b'#' => self.pos > 0 && matches!(self.bytes[self.pos - 1], b' ' | b'\t'),
                    _ => self.flow > 0 && self.at_flow_indicator(),
                };
                if ends {
                    return;
                }
                self.advance();
            }
            // At a line break: look at where the next token would be.
            let saved = (self.pos, self.col, self.line, self.key_col);
            while self.newline() {
                while matches!(self.peek(0), Some(b' ' | b'\t')) {
                    self.advance();
                }
            }
            let continues = !self.at_end()
                && self.peek(0) != Some(b'#')
                && (self.flow > 0 || self.open_col().is_none_or(|top| self.col > top))
                && !self.at_document_marker();
            if !continues {
                (self.pos, self.col, self.line, self.key_col) = saved;
                return;
            }
        }
    }

    /// A literal (`|`) or folded (`>`) block scalar: its header line, then every line that is
    /// blank or indented at least as far as its content. The content's indentation is given by
    /// a digit in the header, else by its first non-blank line (or a longer blank line before
    /// it), and is always past the open block level, as the parser has it.
    fn skip_block_scalar(&mut self) {
        let open = self.open_col();
        let mut indent = None;
        self.advance();
        while let Some(b) = self.peek(0) {
            match b {
                b'1'..=b'9' => {
                    let d = usize::from(b - b'0');
                    indent = Some(open.map_or(d, |top| top + d));
                }
                b'+' | b'-' => {}
                _ => break,
            }
            self.advance();
        }
        self.skip_to_line_end();
        let least = open.map_or(1, |top| top + 1);
        let mut longest_blank = 0;
        loop {
            let saved = (self.pos, self.col, self.line);
            if !self.newline() {
                return;
            }
            let mut spaces = 0;
            while self.peek(0) == Some(b' ') {
                self.advance();
                spaces += 1;
            }
            if self.at_end() {
                return;
            }
            if self.break_len(0) > 0 {
                longest_blank = longest_blank.max(spaces);
                continue;
            }
            let content = *indent.get_or_insert(spaces.max(longest_blank).max(least));
            if spaces < content {
                (self.pos, self.col, self.line) = saved;
                return;
            }
            self.skip_to_line_end();
        }
    }
}

/// What interpolation read from the environment.
#[derive(Debug, Default)]
pub(crate) struct Interpolated {
    /// Strings that were one `${…}` and nothing else: they take the type their key expects.
    pub whole: Vec<EnvText>,
    /// Every variable a `${…}` named, set or not.
    pub variables: HashSet<String>,
}

/// Replaces `${VAR}` and `${VAR:-default}` in every string of `value`; `$${` is a literal `${`.
/// `path` is where `value` stands in the document.
pub(crate) fn interpolate(
    value: &mut Value,
    path: &mut Vec<Segment>,
    env: &dyn Fn(&str) -> Option<String>,
    read: &mut Interpolated,
) -> Result<(), ConfigError> {
    match value {
        Value::String(s) => {
            if s.contains('$') {
                let whole = is_one_reference(s);
                let mut lookup = |name: &str| {
                    read.variables.insert(name.to_owned());
                    env(name)
                };
                *s = interpolate_str(s, &mut lookup).map_err(|e| {
                    let key = display(path);
                    let secret = super::secret::is_secret_path(&key);
                    ConfigError::invalid(key, e.describe(secret))
                })?;
                if whole {
                    read.whole.push(EnvText::interpolated(path, s));
                }
            }
        }
        Value::Sequence(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                path.push(Segment::Index(i));
                interpolate(item, path, env, read)?;
                path.pop();
            }
        }
        Value::Mapping(map) => {
            for (k, v) in map.iter_mut() {
                path.push(Segment::Key(key_text(k)));
                interpolate(v, path, env, read)?;
                path.pop();
            }
        }
        Value::Tagged(t) => interpolate(&mut t.value, path, env, read)?,
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
    Ok(())
}

/// Whether `s` is a single `${…}` and nothing else (`"${PORT:-5514}"`, not `"${HOST}:514"`).
fn is_one_reference(s: &str) -> bool {
    s.strip_prefix("${")
        .and_then(|body| body.strip_suffix('}'))
        .is_some_and(|body| !body.contains('}'))
}

fn key_text(k: &Value) -> String {
    match k {
        Value::String(s) => s.clone(),
        other => serde_yaml_ng::to_string(other)
            .map(|s| s.trim().to_owned())
            .unwrap_or_default(),
    }
}

/// Why a string cannot be interpolated.
#[derive(Debug)]
enum InterpolationError {
    /// `${` without its `}`.
    Unclosed,
    /// `${…}` around something that is not a variable name.
    InvalidName(String),
    /// `${VAR}` without a default, and `VAR` is not set.
    Unset(String),
}

impl InterpolationError {
    /// The reason; under a key that holds a secret, without any of the value's text (what
    /// sits between `${` and `}` there may be part of the secret itself).
    fn describe(&self, secret: bool) -> String {
        match self {
            InterpolationError::Unclosed => "unclosed ${ (write $${ for a literal ${)".to_owned(),
            InterpolationError::InvalidName(_) if secret => {
                "invalid variable name in ${…} (not shown: this key holds a secret)".to_owned()
            }
            InterpolationError::InvalidName(expr) => {
                format!("invalid variable name in ${{{expr}}}")
            }
            InterpolationError::Unset(name) => format!(
                "environment variable {name} is not set (write ${{{name}:-default}} for a default)"
            ),
        }
    }
}

fn interpolate_str(
    s: &str,
    env: &mut dyn FnMut(&str) -> Option<String>,
) -> Result<String, InterpolationError> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix("${") {
            out.push_str("${");
            rest = tail;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = body.find('}').ok_or(InterpolationError::Unclosed)?;
            let expr = &body[..end];
            let (name, default) = match expr.split_once(":-") {
                Some((n, d)) => (n, Some(d)),
                None => (expr, None),
            };
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(InterpolationError::InvalidName(expr.to_owned()));
            }
            match (env(name), default) {
                (Some(v), _) => out.push_str(&v),
                (None, Some(d)) => out.push_str(d),
                (None, None) => return Err(InterpolationError::Unset(name.to_owned())),
            }
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_yaml_ng::Mapping;

    fn env(name: &str) -> Option<String> {
        match name {
            "PORT" => Some("5514".into()),
            "TOKEN" => Some("s3cr3t".into()),
            "NEWLINE" => Some("a\nb: c".into()),
            _ => None,
        }
    }

    fn run(v: &mut Value) -> Result<Interpolated, ConfigError> {
        let mut read = Interpolated::default();
        interpolate(v, &mut Vec::new(), &env, &mut read)?;
        Ok(read)
    }

    #[test]
    fn whole_references_are_recorded_with_their_key() {
        let mut v: Value = serde_yaml_ng::from_str(
            "destinations: [{ port: \"${PORT}\", host: \"${HOST:-h}:1\" }]",
        )
        .unwrap();
        let read = run(&mut v).unwrap();
        assert_eq!(read.whole.len(), 1);
        assert!(format!("{:?}", read.whole[0]).contains("destinations[0].port"));
        assert!(read.variables.contains("PORT") && read.variables.contains("HOST"));
        assert!(is_one_reference("${A:-1}") && !is_one_reference("${A}${B}"));
    }

    #[test]
    fn interpolation_forms() {
        assert_eq!(
            interpolate_str("Bearer ${TOKEN}", &mut env).unwrap(),
            "Bearer s3cr3t"
        );
        assert_eq!(
            interpolate_str("${MISSING:-dflt}", &mut env).unwrap(),
            "dflt"
        );
        assert_eq!(
            interpolate_str("$${TOKEN} $5", &mut env).unwrap(),
            "${TOKEN} $5"
        );
        assert!(interpolate_str("${MISSING}", &mut env)
            .unwrap_err()
            .describe(true)
            .contains("MISSING"));
        assert!(interpolate_str("${TOKEN", &mut env).is_err());
        assert!(interpolate_str("${TO KEN}", &mut env).is_err());
    }

    #[test]
    fn errors_under_a_secret_key_do_not_quote_it() {
        for (text, secret) in [("s3cr3t${", "s3cr3t"), ("a${s3cr3t!}", "s3cr3t")] {
            let mut v: Value =
                serde_yaml_ng::from_str(&format!("redact: {{ hash_key: {text:?} }}")).unwrap();
            let err = run(&mut v).unwrap_err();
            assert_eq!(err.key(), "redact.hash_key");
            assert!(!err.to_string().contains(secret), "{err}");
        }
        let mut v: Value = serde_yaml_ng::from_str("app: \"a${bad name}\"").unwrap();
        let err = run(&mut v).unwrap_err();
        assert!(err.to_string().contains("bad name"), "{err}");
    }

    #[test]
    fn a_variable_cannot_add_keys() {
        let mut v: Value = serde_yaml_ng::from_str("app: \"${NEWLINE}\"").unwrap();
        run(&mut v).unwrap();
        let map = v.as_mapping().unwrap();
        assert_eq!(map.len(), 1);
        assert_eq!(map.get("app").unwrap().as_str(), Some("a\nb: c"));
    }

    fn nesting_error(text: &str) -> Option<String> {
        check_shape(text).err().map(|e| e.to_string())
    }

    #[test]
    fn real_configurations_pass_the_shape_check() {
        let docs = include_str!("../../docs/configuration.md");
        let yaml = docs
            .split("```yaml\n")
            .nth(1)
            .and_then(|rest| rest.split("```").next())
            .unwrap();
        assert!(yaml.contains("destinations:"));
        assert_eq!(nesting_error(yaml), None);
        let reference = serde_yaml_ng::from_str::<Value>(yaml);
        assert!(reference.is_ok(), "the documented example parses");
    }

    #[test]
    fn every_way_of_nesting_is_counted() {
        let deep = MAX_NESTING + 1;
        let flow = format!("a: {}{}", "[".repeat(deep), "]".repeat(deep));
        let braces = format!("a: {}", "{x: ".repeat(deep));
        let dashes = format!("{}x", "- ".repeat(deep));
        let indented: String = (0..deep)
            .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
            .collect();
        let items: String = (0..deep)
            .map(|i| format!("{}- k{i}:\n", "  ".repeat(i)))
            .collect();
        for text in [&flow, &braces, &dashes, &indented, &items] {
            let err = nesting_error(text).unwrap_or_else(|| panic!("not refused: {text:?}"));
            assert!(err.contains("limit of 64 levels"), "{err}");
        }
        let fits = MAX_NESTING - 1;
        let flow = format!("a: {}{}", "[".repeat(fits), "]".repeat(fits));
        let dashes = format!("{}x", "- ".repeat(fits));
        let indented: String = (0..fits)
            .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
            .collect();
        for text in [&flow, &dashes, &indented] {
            assert_eq!(nesting_error(text), None, "{text:?}");
        }
        // Siblings do not add up: levels close when the indentation or a bracket says so.
        let siblings = "a:\n  b: [1, [2]]\n  c: {d: [3]}\n".repeat(1000);
        assert_eq!(nesting_error(&siblings), None);
    }

    /// A pseudo-random number from `seed` (xorshift), for trees that differ from run to run of
    /// the loop but not from one test run to the next.
    fn next(seed: &mut u64) -> usize {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        (*seed % 1_000_003) as usize
    }

    /// A tree of mappings and lists exactly `depth` levels deep, with hostile strings for keys
    /// and leaves: one child goes one level deeper, its siblings are leaves.
    fn tree(seed: &mut u64, depth: usize) -> Value {
        const TEXT: &[&str] = &[
            "[",
            "]]",
            "{x",
            "# no comment",
            "a: b",
            "- c",
            "'q",
            "\"",
            "|",
            "> x",
            "?",
            "&a",
            "*b",
            "!t",
            "---",
            "x\n  [[\n- y",
            "\u{2028}[[",
            "plain",
            "1",
            "",
        ];
        let text = |seed: &mut u64| Value::String(TEXT[next(seed) % TEXT.len()].to_owned());
        if depth == 0 {
            return text(seed);
        }
        let deeper = tree(seed, depth - 1);
        let siblings = next(seed) % 3;
        let deeper_at = next(seed) % (siblings + 1);
        let mut children: Vec<Value> = (0..siblings).map(|_| text(seed)).collect();
        children.insert(deeper_at, deeper);
        if next(seed).is_multiple_of(2) {
            Value::Sequence(children)
        } else {
            let mut map = Mapping::new();
            for (i, child) in children.into_iter().enumerate() {
                // (Not U+2028 in a key: serde_json writes it raw, and a YAML key must be one line.)
                let key = format!("{}{i}", TEXT[next(seed) % TEXT.len()]).replace('\u{2028}', "");
                map.insert(Value::String(key), child);
            }
            Value::Mapping(map)
        }
    }

    #[test]
    fn generated_documents_are_refused_exactly_past_the_limit() {
        let mut seed = 0x5eed_u64;
        for round in 0..40 {
            for depth in [
                1,
                2,
                3,
                5,
                10,
                30,
                MAX_NESTING - 1,
                MAX_NESTING,
                MAX_NESTING + 1,
                80,
            ] {
                let value = tree(&mut seed, depth);
                // Block style (YAML's serializer) and flow style (JSON is YAML too).
                let block = serde_yaml_ng::to_string(&value).unwrap();
                let flow = serde_json::to_string(&value).unwrap();
                for text in [&block, &flow] {
                    let refused = nesting_error(text).is_some();
                    assert_eq!(
                        refused,
                        depth > MAX_NESTING,
                        "round {round}, depth {depth}:\n{text}"
                    );
                    if depth <= 30 {
                        let back: Value = serde_yaml_ng::from_str(text).unwrap();
                        assert_eq!(back, value);
                    }
                }
            }
        }
    }

    #[test]
    fn brackets_in_scalars_and_comments_are_text() {
        let many = "[".repeat(200);
        for text in [
            format!("a: \"{many}\"\n"),
            format!("a: '{many}'\n"),
            format!("a: x{many}\n"),
            format!("a: don't {many}\n"),
            format!("# {many}\na: 1\n"),
            format!("a: 1 # {many}\n"),
            format!("a: |\n  {many}\n  {many}\nb: 2\n"),
            format!("- >-\n    {many}\n"),
            format!("a: plain\n  continued {many}\n"),
            format!("a: [\"]\", '{many}', \"x\\\"{many}\"]\n"),
        ] {
            assert_eq!(nesting_error(&text), None, "{text:?}");
        }
    }

    #[test]
    fn text_cannot_hide_nesting_from_the_check() {
        let open = "[".repeat(40);
        // Closing brackets inside a quoted scalar close nothing.
        let quoted = format!("a: {open} \"{}\", {open}", "]".repeat(40));
        // A quote inside a plain scalar opens nothing.
        let apostrophe = format!("a: [don't, {open}{open}]");
        // The parser ends a comment at U+2028 too.
        let separator = format!("# note\u{2028}{open}{open}");
        // A block scalar ends at the first line indented less than its content.
        let block = format!("a: |\n    text\n  b: {open}{open}\n");
        for text in [&quoted, &apostrophe, &separator, &block] {
            assert!(nesting_error(text).is_some(), "{text:?}");
        }
    }

    #[test]
    fn size_is_checked_before_anything_else() {
        let big = "#".repeat(MAX_CONFIG_BYTES + 1);
        let err = nesting_error(&big).unwrap();
        assert!(err.contains("longer than the limit of 4 MiB"), "{err}");
        let dir = std::env::temp_dir().join(format!("siem-load-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("big.yaml");
        std::fs::write(&path, &big).unwrap();
        let err = read_file(&path).unwrap_err().to_string();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(err.contains("longer than the limit of 4 MiB"), "{err}");
    }
}
