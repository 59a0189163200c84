//! Which field names are sensitive: names and configured entries are both read as sequences of
//! lowercase words, so `privateKey`, `private-key`, `PRIVATE_KEY` and `private.key` are one name.
//!
//! A name is cut into words at every character that is not a letter or a digit, between a
//! lowercase letter and an uppercase one (`cardNumber`), before the last capital of a run
//! followed by a lowercase letter (`XApiKey` → `x api key`), and between letters and digits
//! (`cvv2`). An entry then matches:
//! - one word of [`LONG_WORD`] characters or more: anywhere, even inside a word (`password`
//!   catches `passwords` and `oldpassword`);
//! - a shorter word: a whole word only (`pin` catches `user_pin` and `userPin`, not `shipping`);
//! - several words: the same words in a row (`api key` catches `X-Api-Key`), or the words run
//!   together, matched as one word by the rules above (`apikey`, `sessionid`).

use aho_corasick::AhoCorasick;
use smallvec::SmallVec;

/// Words at least this long match inside other words; shorter ones (`pin`, `otp`, `ssn`) occur
/// inside too many ordinary words (`shipping`, `spinner`, `lesson`) to match anywhere.
pub(super) const LONG_WORD: usize = 5;

/// Names up to this many bytes are normalised on the stack.
const INLINE_NAME: usize = 64;

/// The normalised form of a name: its words, lowercase, each followed by one space and the
/// first preceded by one, so that ` pin ` finds the whole word `pin`.
type Words = SmallVec<[u8; INLINE_NAME]>;

/// Matches field names against a list of entries (see the module documentation).
#[derive(Clone, Debug)]
pub(super) struct NameMatcher {
    /// All patterns at once: one pass over a normalised name.
    patterns: Option<AhoCorasick>,
}

impl NameMatcher {
    /// A matcher for `entries`; entries without any letter or digit are ignored.
    pub fn new(entries: &[impl AsRef<str>]) -> NameMatcher {
        let mut patterns: Vec<Vec<u8>> = Vec::new();
        for entry in entries {
            let words = normalise(entry.as_ref());
            let inner = words.get(1..words.len().saturating_sub(1)).unwrap_or(&[]);
            if inner.is_empty() {
                continue;
            }
            if inner.contains(&b' ') {
                patterns.push(words.to_vec());
                let joined: Vec<u8> = inner.iter().copied().filter(|&b| b != b' ').collect();
                patterns.push(word_pattern(&joined));
            } else {
                patterns.push(word_pattern(inner));
            }
        }
        let patterns = (!patterns.is_empty()).then(|| {
            AhoCorasick::builder()
                .kind(Some(aho_corasick::AhoCorasickKind::DFA))
                .prefilter(false)
                .build(&patterns)
                .expect("plain byte strings always build")
        });
        NameMatcher { patterns }
    }

    /// Whether `name` matches an entry.
    pub fn matches(&self, name: &str) -> bool {
        self.patterns
            .as_ref()
            .is_some_and(|p| p.is_match(normalise(name).as_slice()))
    }
}

/// The pattern of one word: bare when long, so that it matches inside words, between spaces
/// when short, so that it matches whole words only.
fn word_pattern(word: &[u8]) -> Vec<u8> {
    if word.len() >= LONG_WORD {
        word.to_vec()
    } else {
        [b" ", word, b" "].concat()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Lower,
    Upper,
    Digit,
    /// Any other character: not part of a word. Non-ASCII characters count as lowercase
    /// letters, so that a name in another script stays one word instead of vanishing.
    Separator,
}

fn class(b: u8) -> Class {
    match b {
        b'a'..=b'z' | 0x80..=0xff => Class::Lower,
        b'A'..=b'Z' => Class::Upper,
        b'0'..=b'9' => Class::Digit,
        _ => Class::Separator,
    }
}

/// `name` as ` word word … `, lowercase (see the module documentation for where words break).
fn normalise(name: &str) -> Words {
    let bytes = name.as_bytes();
    let mut out = Words::new();
    out.push(b' ');
    let mut prev = Class::Separator;
    for (i, &b) in bytes.iter().enumerate() {
        let this = class(b);
        if this == Class::Separator {
            prev = this;
            continue;
        }
        let next = bytes.get(i + 1).map_or(Class::Separator, |&n| class(n));
        let starts_word = match (prev, this) {
            (Class::Separator, _) => true,
            (Class::Lower, Class::Upper) => true,
            (Class::Digit, Class::Lower | Class::Upper) => true,
            (Class::Lower | Class::Upper, Class::Digit) => true,
            // The last capital of a run starts the next word when a lowercase letter follows.
            (Class::Upper, Class::Upper) => next == Class::Lower,
            _ => false,
        };
        if starts_word && out.len() > 1 {
            out.push(b' ');
        }
        out.push(b.to_ascii_lowercase());
        prev = this;
    }
    out.push(b' ');
    if out.len() == 2 {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(name: &str) -> String {
        String::from_utf8(normalise(name).to_vec()).unwrap()
    }

    #[test]
    fn names_are_cut_into_lowercase_words() {
        for (name, expected) in [
            ("privateKey", " private key "),
            ("private-key", " private key "),
            ("PRIVATE_KEY", " private key "),
            ("private.key", " private key "),
            ("private key", " private key "),
            ("X-Api-Key", " x api key "),
            ("XApiKey", " x api key "),
            ("HTTPServerName", " http server name "),
            ("cvv2", " cvv 2 "),
            ("sha256Hash", " sha 256 hash "),
            ("__user__pin__", " user pin "),
            ("mot_de_passé", " mot de passé "),
            ("", " "),
            ("-_.", " "),
        ] {
            assert_eq!(words(name), expected, "{name}");
        }
    }

    #[test]
    fn entries_without_words_match_nothing() {
        let m = NameMatcher::new(&["", " ", "-_"]);
        assert!(!m.matches("password"));
        assert!(!m.matches(""));
    }
}
