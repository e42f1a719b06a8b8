//! Registry `Warning` headers, collected during a command and shown once at
//! the end (ggcr's crane prints them as `[WARNING]: <msg>` on exit).

use std::sync::{Arc, Mutex, PoisonError};

/// The warnings registries sent during a command, without duplicates, in
/// the order first seen. Cheap to clone; clones share the list.
#[derive(Clone, Debug, Default)]
pub struct Warnings {
    seen: Arc<Mutex<Vec<String>>>,
}

impl Warnings {
    /// Records a warning text unless it was seen already.
    pub fn add(&self, text: impl Into<String>) {
        let text = text.into();
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        if !text.is_empty() && !seen.contains(&text) {
            seen.push(text);
        }
    }

    /// Records the text of a `Warning` header value if it is one crane shows
    /// (code 299, see [`parse_warning_header`]).
    pub fn add_header(&self, value: &str) {
        if let Some(text) = parse_warning_header(value) {
            self.add(text);
        }
    }

    /// Takes the warnings collected so far, leaving none.
    #[must_use]
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.seen.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Whether no warning was collected.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty()
    }
}

/// The text of a `Warning: 299 - "<text>"` header value (RFC 7234 §5.5,
/// as the distribution spec uses it); other codes and malformed values give
/// `None`. Quoted-pair escapes (`\"`, `\\`) are undone and control
/// characters dropped, so a registry cannot write escape sequences to the
/// terminal.
#[must_use]
pub fn parse_warning_header(value: &str) -> Option<String> {
    let rest = value.trim().strip_prefix("299")?;
    let rest = rest.trim_start().strip_prefix('-')?.trim_start();
    let mut chars = rest.strip_prefix('"')?.chars();
    let mut text = String::new();
    loop {
        match chars.next()? {
            '"' => break,
            '\\' => text.push(chars.next()?),
            c => text.push(c),
        }
    }
    text.retain(|c| !c.is_control());
    let text = text.trim().to_owned();
    (!text.is_empty()).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warning_header_table() {
        let table = [
            (
                r#"299 - "deprecated repository""#,
                Some("deprecated repository"),
            ),
            (
                r#"299 - "with \"quotes\" inside" "Sat, 25 Aug 2012""#,
                Some(r#"with "quotes" inside"#),
            ),
            (r#"  299  -  "spaced"  "#, Some("spaced")),
            (r#"199 - "other code""#, None),
            (r#"299 registry.example "agent""#, None),
            (r#"299 - "unterminated"#, None),
            (r#"299 - """#, None),
            ("299 - \"esc\u{1b}[31mape\"", Some("esc[31mape")),
            ("", None),
        ];
        for (input, want) in table {
            assert_eq!(parse_warning_header(input).as_deref(), want, "{input:?}");
        }
    }

    #[test]
    fn warnings_are_deduplicated_and_taken_once() {
        let w = Warnings::default();
        let shared = w.clone();
        w.add("a");
        shared.add("b");
        w.add("a");
        w.add_header(r#"299 - "b""#);
        w.add_header(r#"299 - "c""#);
        assert!(!w.is_empty());
        assert_eq!(w.take(), ["a", "b", "c"]);
        assert!(shared.is_empty());
        assert!(w.take().is_empty());
    }
}
