//! Making text that came from a registry safe to print.
//!
//! A registry chooses the bytes of its error bodies, `Warning` headers, tag and
//! repository names, annotations and artifact types. Printed raw, an escape
//! sequence in them (`ESC [ 2 J`, an OSC title, a C1 `CSI`) drives the user's
//! terminal, a carriage return overwrites what crane printed, and a bidi
//! override makes the text read differently from what it is. Every piece of
//! human text crane prints goes through [`escape_text`]; JSON crane prints
//! goes through [`escape_json`]. Both use the one rule of [`is_unsafe_char`].
//! Bytes crane prints as data (manifests, configs, blobs) are the registry's
//! content and are never changed.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` must not reach a terminal as it is.
///
/// That is every control character (C0 `U+0000`–`U+001F`, including tab,
/// newline and carriage return; DEL `U+007F`; C1 `U+0080`–`U+009F`), the
/// bidirectional formatting characters (`U+061C`, `U+200E`, `U+200F`,
/// `U+202A`–`U+202E`, `U+2066`–`U+2069`), the line and paragraph separators
/// (`U+2028`, `U+2029`) and the invisible characters that can hide or disguise
/// text (zero-width space and joiners `U+200B`–`U+200D`, `U+2060`–`U+2064`,
/// the byte order mark `U+FEFF`, the interlinear annotation characters
/// `U+FFF9`–`U+FFFB` and the tag characters `U+E0000`–`U+E007F`).
///
/// ```
/// use ocireg_crane::is_unsafe_char;
///
/// assert!(is_unsafe_char('\u{1b}'));
/// assert!(is_unsafe_char('\u{9b}'));
/// assert!(is_unsafe_char('\u{202e}'));
/// assert!(!is_unsafe_char('a'));
/// assert!(!is_unsafe_char('é'));
/// ```
#[must_use]
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{2069}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
                | '\u{E0000}'..='\u{E007F}'
        )
}

/// `text` with every [unsafe](is_unsafe_char) character replaced by a visible
/// escape: `\t`, `\n` and `\r` for those three, `\xNN` for the other ASCII
/// controls (`\x1b` for ESC, `\x07` for BEL, `\x7f` for DEL) and `\u{N}` for the
/// rest (`\u{9b}`, `\u{202e}`). Escaping twice changes nothing more: an escape
/// is made of safe characters only. Backslashes are not escaped, so the result
/// is for reading, not for parsing back.
///
/// ```
/// use ocireg_crane::escape_text;
///
/// assert_eq!(escape_text("tag\u{1b}[2J\r\u{7}"), r"tag\x1b[2J\r\x07");
/// assert_eq!(escape_text("\u{202e}txt.exe"), r"\u{202e}txt.exe");
/// assert_eq!(escape_text("v1.2-rc"), "v1.2-rc");
/// ```
#[must_use]
pub fn escape_text(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '\t' => out.push_str(r"\t"),
            '\n' => out.push_str(r"\n"),
            '\r' => out.push_str(r"\r"),
            c if c.is_ascii() && is_unsafe_char(c) => {
                let _ = write!(out, r"\x{:02x}", u32::from(c));
            }
            c if is_unsafe_char(c) => {
                let _ = write!(out, r"\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Each line of `text` escaped with [`escape_text`], the line breaks (`\n`)
/// kept: for multi-line messages crane itself composes (the verbose error
/// report), whose parts were escaped already.
#[must_use]
pub fn escape_lines(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c != '\n' && is_unsafe_char(c)) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.split('\n')
            .map(escape_text)
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

/// A JSON text with every [unsafe](is_unsafe_char) character written as a JSON
/// `\uXXXX` escape (a surrogate pair above `U+FFFF`), except the JSON
/// whitespace between tokens (tab, newline, carriage return): the same JSON
/// value, safe to print. Correct for any valid JSON, because the other unsafe
/// characters can only occur inside strings, where such an escape means the
/// character itself.
///
/// ```
/// use ocireg_crane::escape_json;
///
/// let json = "{\"a\":\"\u{9b}31m\u{202e}\"}\n";
/// assert_eq!(escape_json(json), "{\"a\":\"\\u009b31m\\u202e\"}\n");
/// let back: serde_json::Value = serde_json::from_str(&escape_json(json)).unwrap();
/// assert_eq!(back["a"], "\u{9b}31m\u{202e}");
/// ```
#[must_use]
pub fn escape_json(json: &str) -> Cow<'_, str> {
    let unsafe_in_json = |c: char| !matches!(c, '\t' | '\n' | '\r') && is_unsafe_char(c);
    if !json.chars().any(unsafe_in_json) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if unsafe_in_json(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                let _ = write!(out, r"\u{unit:04x}");
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One of each kind of unsafe character.
    const HOSTILE: &str = "a\u{1b}[2J\r\u{7}\t\n\u{0}\u{7f}\u{80}\u{9b}\u{9f}\u{61c}\u{200b}\u{200e}\u{2028}\u{202e}\u{2066}\u{2069}\u{feff}\u{fffb}\u{e0041}z";

    #[test]
    fn every_unsafe_character_is_escaped_visibly() {
        let escaped = escape_text(HOSTILE);
        assert_eq!(
            escaped,
            r"a\x1b[2J\r\x07\t\n\x00\x7f\u{80}\u{9b}\u{9f}\u{61c}\u{200b}\u{200e}\u{2028}\u{202e}\u{2066}\u{2069}\u{feff}\u{fffb}\u{e0041}z"
        );
        assert!(!escaped.chars().any(is_unsafe_char));
        assert_eq!(escape_text(&escaped), escaped, "escaping again is a no-op");
    }

    #[test]
    fn ordinary_text_is_borrowed_unchanged() {
        for text in [
            "",
            "v1",
            "registry.example:5000/team/app@sha256:00",
            "café ✓ 日本",
            "a\\x1b",
        ] {
            assert!(
                matches!(escape_text(text), Cow::Borrowed(t) if t == text),
                "{text}"
            );
            assert!(
                matches!(escape_json(text), Cow::Borrowed(t) if t == text),
                "{text}"
            );
        }
    }

    #[test]
    fn lines_keep_their_breaks() {
        assert_eq!(
            escape_lines("Error: x\u{1b}]0;t\u{7}\n  caused by: \u{202e}y\r"),
            "Error: x\\x1b]0;t\\x07\n  caused by: \\u{202e}y\\r"
        );
        assert!(matches!(escape_lines("a\nb"), Cow::Borrowed("a\nb")));
    }

    #[test]
    fn json_keeps_its_value() {
        let value = serde_json::json!({
            "annotations": { "k\u{202e}": HOSTILE },
            "artifactType": "application/x\u{9b}y",
        });
        let json = format!("{}\n", serde_json::to_string_pretty(&value).expect("json"));
        let escaped = escape_json(&json);
        assert!(
            !escaped.chars().any(|c| is_unsafe_char(c) && c != '\n'),
            "{escaped}"
        );
        assert!(
            escaped.contains(r"\u202e") && escaped.contains(r"\u009b"),
            "{escaped}"
        );
        assert!(
            escaped.contains(r"\udb40\udc41"),
            "a surrogate pair: {escaped}"
        );
        let back: serde_json::Value = serde_json::from_str(&escaped).expect("still JSON");
        assert_eq!(back, value);
    }
}
