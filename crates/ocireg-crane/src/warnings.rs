//! Registry `Warning` headers, collected during a command and shown once at
//! the end (ggcr's crane prints them as `[WARNING]: <msg>` on exit).
//!
//! [`Options::client`](crate::Options::client) hands every code-299 warning
//! the transport sees to the options' [`Warnings`].

use std::sync::{Arc, Mutex, PoisonError};

use ocireg_transport::{MAX_WARNING_BYTES, parse_warning_header};

/// The warnings registries sent during a command, without duplicates, in
/// the order first seen. Cheap to clone; clones share the list.
///
/// At most [`MAX_WARNING_BYTES`] of distinct text is kept (the distribution
/// spec's bound on one response's warnings), so a registry that varies its
/// warning on every response cannot flood the terminal; later texts are
/// dropped.
#[derive(Clone, Debug, Default)]
pub struct Warnings {
    seen: Arc<Mutex<Seen>>,
}

#[derive(Debug, Default)]
struct Seen {
    texts: Vec<String>,
    bytes: usize,
}

impl Warnings {
    /// Records a warning text unless it is empty, was seen already, or would
    /// take the collected text over [`MAX_WARNING_BYTES`].
    pub fn add(&self, text: impl Into<String>) {
        let text = text.into();
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let bytes = seen.bytes + text.len();
        if !text.is_empty() && bytes <= MAX_WARNING_BYTES && !seen.texts.contains(&text) {
            seen.texts.push(text);
            seen.bytes = bytes;
        }
    }

    /// Records the texts of a `Warning` header value that crane shows (code
    /// 299, see [`parse_warning_header`]).
    pub fn add_header(&self, value: &str) {
        for text in parse_warning_header(value) {
            self.add(text);
        }
    }

    /// Takes the warnings collected so far, leaving none.
    #[must_use]
    pub fn take(&self) -> Vec<String> {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        seen.bytes = 0;
        std::mem::take(&mut seen.texts)
    }

    /// Whether no warning was collected.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .texts
            .is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_are_deduplicated_and_taken_once() {
        let w = Warnings::default();
        let shared = w.clone();
        w.add("a");
        shared.add("b");
        w.add("a");
        w.add("");
        w.add_header(r#"299 - "b""#);
        w.add_header(r#"299 - "c", 199 - "not shown", 299 - "d""#);
        assert!(!w.is_empty());
        assert_eq!(w.take(), ["a", "b", "c", "d"]);
        assert!(shared.is_empty());
        assert!(w.take().is_empty());
    }

    #[test]
    fn collected_text_is_capped() {
        let w = Warnings::default();
        let long = "x".repeat(MAX_WARNING_BYTES - 10);
        w.add(long.clone());
        w.add("0123456789A");
        w.add("0123456789");
        w.add("more");
        assert_eq!(w.take(), [long, "0123456789".to_owned()]);
        // Taking frees the budget.
        w.add("more");
        assert_eq!(w.take(), ["more"]);
    }
}
