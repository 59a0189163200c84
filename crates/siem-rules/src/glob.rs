//! Case-insensitive wildcard matching (`*` any run, `?` one character) for event-type patterns
//! and the `~` operator. Iterative with one backtrack point, so it is linear in practice and
//! never recursive (a hostile pattern cannot blow the stack).

/// True when `text` matches `pattern`, ignoring ASCII case.
pub(crate) fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi].eq_ignore_ascii_case(&t[ti])) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
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
    p[pi..].iter().all(|&c| c == '*')
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
        // a pathological pattern stays fast and correct
        let text = "a".repeat(10_000);
        assert!(!glob_match(&format!("{}b", "*a".repeat(50)), &text));
    }
}
