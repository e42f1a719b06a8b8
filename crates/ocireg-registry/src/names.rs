//! The distribution-spec grammars for repository names and tags.

/// The longest repository name accepted.
const MAX_NAME_LEN: usize = 255;

/// The longest tag accepted.
const MAX_TAG_LEN: usize = 128;

/// Whether `name` matches
/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`
/// and is at most 255 characters long.
pub(crate) fn is_valid_repository(name: &str) -> bool {
    !name.is_empty() && name.len() <= MAX_NAME_LEN && name.split('/').all(is_valid_component)
}

/// One path component: alphanumeric runs joined by `.`, `_`, `__` or dashes.
fn is_valid_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let mut i = 0;
    loop {
        // An alphanumeric run of at least one character.
        let start = i;
        while i < bytes.len() && alnum(bytes[i]) {
            i += 1;
        }
        if i == start {
            return false;
        }
        if i == bytes.len() {
            return true;
        }
        // A separator, then another run.
        match bytes[i] {
            b'.' => i += 1,
            b'_' => {
                i += 1;
                if bytes.get(i) == Some(&b'_') {
                    i += 1;
                }
            }
            b'-' => {
                while bytes.get(i) == Some(&b'-') {
                    i += 1;
                }
            }
            _ => return false,
        }
    }
}

/// Whether `tag` matches `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
pub(crate) fn is_valid_tag(tag: &str) -> bool {
    let bytes = tag.as_bytes();
    let Some((&first, rest)) = bytes.split_first() else {
        return false;
    };
    bytes.len() <= MAX_TAG_LEN
        && (first.is_ascii_alphanumeric() || first == b'_')
        && rest
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_names() {
        let table: &[(&str, bool)] = &[
            ("a", true),
            ("library/ubuntu", true),
            ("a/b/c/d", true),
            ("foo.bar_baz__qux--quux---x", true),
            ("0abc/9-9", true),
            ("", false),
            ("A", false),
            ("a/", false),
            ("/a", false),
            ("a//b", false),
            ("a.", false),
            (".a", false),
            ("a..b", false),
            ("a___b", false),
            ("a_-b", false),
            ("-a", false),
            ("a-", false),
            ("a b", false),
            ("a:b", false),
            ("..", false),
            ("a/../b", false),
            ("a%2fb", false),
        ];
        for (name, want) in table {
            assert_eq!(is_valid_repository(name), *want, "{name:?}");
        }
        assert!(is_valid_repository(&"a".repeat(255)));
        assert!(!is_valid_repository(&"a".repeat(256)));
    }

    #[test]
    fn tags() {
        let table: &[(&str, bool)] = &[
            ("latest", true),
            ("v1.2.3-rc.1", true),
            ("_x", true),
            ("A_b.C-d", true),
            ("", false),
            (".x", false),
            ("-x", false),
            ("a:b", false),
            ("a/b", false),
            ("sha256:abc", false),
        ];
        for (tag, want) in table {
            assert_eq!(is_valid_tag(tag), *want, "{tag:?}");
        }
        assert!(is_valid_tag(&"a".repeat(128)));
        assert!(!is_valid_tag(&"a".repeat(129)));
    }
}
