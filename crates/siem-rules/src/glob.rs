//! Case-insensitive wildcard matching (`*` any run, `?` one character) for event-type patterns
//! and the `~` operator. Iterative with one backtrack point, so it is linear in practice and
//! never recursive (a hostile pattern cannot blow the stack).

/// True when `text` matches `pattern`, ignoring ASCII case.
pub(crate) fn glob_match(pattern: &str, text: &str) -> bool {
    if pattern.is_ascii() && text.is_ascii() {
        // The common case, without allocating: one byte is one character.
        return match_units(pattern.as_bytes(), text.as_bytes(), b'*', b'?');
    }
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    match_units(&p, &t, '*', '?')
}

/// The matcher over characters (or ASCII bytes).
fn match_units<C: Copy + PartialEq + AsciiCase>(p: &[C], t: &[C], star_unit: C, any: C) -> bool {
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == any || p[pi].same_ignoring_case(t[ti])) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == star_unit {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == star_unit)
}

trait AsciiCase {
    fn same_ignoring_case(self, other: Self) -> bool;
}

impl AsciiCase for u8 {
    fn same_ignoring_case(self, other: u8) -> bool {
        self.eq_ignore_ascii_case(&other)
    }
}

impl AsciiCase for char {
    fn same_ignoring_case(self, other: char) -> bool {
        self.eq_ignore_ascii_case(&other)
    }
}

/// True when the text holds a wildcard character.
pub(crate) fn has_wildcard(text: &str) -> bool {
    text.contains(['*', '?'])
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn wildcards() {
        assert!(glob_match("auth.*", "auth.failure"));
        assert!(glob_match("AUTH.*", "auth.failure"));
        assert!(!glob_match("auth.*", "authz.access_denied"));
        assert!(glob_match("*", ""));
        assert!(glob_match("a?c", "abc"));
        assert!(!glob_match("a?c", "ac"));
        assert!(glob_match("*.failure", "auth.failure"));
        assert!(glob_match("*a*b*c*", "xxaxxbxxcxx"));
        assert!(!glob_match("*a*b*c*d", "xxaxxbxxcxx"));
        assert!(glob_match("é*", "éte"));
        assert!(glob_match("?x", "éx"), "? is one character, not one byte");
        assert!(!glob_match("??x", "éx"));
        // a pathological pattern stays fast and correct
        let text = "a".repeat(10_000);
        assert!(!glob_match(&format!("{}b", "*a".repeat(50)), &text));
    }
}
