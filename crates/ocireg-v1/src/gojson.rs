//! JSON the way Go's `encoding/json` writes it, and strict reading of
//! untrusted documents.
//!
//! Writing: struct fields in declaration order (our types declare them in
//! ggcr's order), map keys sorted (`BTreeMap`), no whitespace, and strings
//! escaped as Go does: `<`, `>`, `&`, U+2028 and U+2029 become `\u003c`,
//! `\u003e`, `\u0026`, `\u2028`, `\u2029`; control characters use `\b \f \n
//! \r \t` or `\u00XX` (lowercase hex). Which fields are omitted when empty,
//! and which are written as `null`, is decided by each type's serde
//! attributes, mirroring ggcr's `omitempty` tags.
//!
//! Reading: [`check_document`] rejects invalid UTF-8 and duplicate keys at any
//! depth before a document is deserialised, so that no two parsers can
//! disagree about what it says (CVE-2014-8179).

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fmt;
use std::io;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::{Error, Result};

/// Serialises `value` to the bytes Go's `encoding/json.Marshal` would produce
/// for the equivalent ggcr struct.
///
/// Use this for every manifest and config we write, so that digests agree
/// with ggcr's.
///
/// ```
/// let json = ocireg_v1::to_go_json(&serde_json::json!({"b": "a && b <c>", "a": 1}))?;
/// assert_eq!(json, br#"{"a":1,"b":"a \u0026\u0026 b \u003cc\u003e"}"#);
/// # Ok::<(), ocireg_v1::Error>(())
/// ```
pub fn to_go_json<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(256);
    write_go_json(&mut out, value)?;
    Ok(out)
}

/// Like [`to_go_json`], writing into `writer`.
pub fn write_go_json<W: io::Write, T: Serialize + ?Sized>(writer: W, value: &T) -> Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(writer, GoFormatter);
    value.serialize(&mut ser).map_err(|source| Error::Encode {
        what: std::any::type_name::<T>()
            .rsplit("::")
            .next()
            .unwrap_or("value"),
        source,
    })
}

/// [`to_go_json`] as a `String` (Go JSON is always UTF-8).
#[cfg(test)]
pub(crate) fn to_string<T: Serialize + ?Sized>(value: &T) -> Result<String> {
    let bytes = to_go_json(value)?;
    String::from_utf8(bytes).map_err(|e| Error::InvalidUtf8 {
        what: "encoded JSON",
        offset: e.utf8_error().valid_up_to(),
    })
}

/// A `serde_json` formatter that escapes strings like Go's `encoding/json`.
///
/// serde_json already escapes `"`, `\` and control characters exactly as Go
/// does (`\b \f \n \r \t`, else `\u00xx`); this adds Go's HTML-safe escapes
/// and the JavaScript line separators.
#[derive(Debug, Clone, Copy, Default)]
#[allow(
    clippy::exhaustive_structs,
    reason = "a unit formatter; it will never carry fields"
)]
pub struct GoFormatter;

impl serde_json::ser::Formatter for GoFormatter {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            let escape: &[u8] = match c {
                '<' => b"\\u003c",
                '>' => b"\\u003e",
                '&' => b"\\u0026",
                '\u{2028}' => b"\\u2028",
                '\u{2029}' => b"\\u2029",
                _ => continue,
            };
            writer.write_all(&fragment.as_bytes()[start..i])?;
            writer.write_all(escape)?;
            start = i + c.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }
}

/// Checks that `bytes` is one JSON value in valid UTF-8 with no duplicate
/// object keys at any depth, and returns the keys of the top-level object
/// (empty when the value is not an object).
///
/// `what` names the document in errors (`image manifest`, `image config`...).
pub fn check_document(bytes: &[u8], what: &'static str) -> Result<BTreeSet<String>> {
    if let Err(e) = std::str::from_utf8(bytes) {
        return Err(Error::InvalidUtf8 {
            what,
            offset: e.valid_up_to(),
        });
    }
    let duplicate = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let keys = TopLevel {
        duplicate: &duplicate,
    }
    .deserialize(&mut de)
    .and_then(|keys| de.end().map(|()| keys));
    match (keys, duplicate.into_inner()) {
        (_, Some(key)) => Err(Error::DuplicateKey { what, key }),
        (Err(source), None) => Err(Error::Json { what, source }),
        (Ok(keys), None) => Ok(keys),
    }
}

/// Parses `bytes` as a `T` after [`check_document`].
pub(crate) fn parse_strict<T: de::DeserializeOwned>(
    bytes: &[u8],
    what: &'static str,
) -> Result<(T, BTreeSet<String>)> {
    let keys = check_document(bytes, what)?;
    let value = serde_json::from_slice(bytes).map_err(|source| Error::Json { what, source })?;
    Ok((value, keys))
}

type Dup<'a> = &'a RefCell<Option<String>>;

struct TopLevel<'a> {
    duplicate: Dup<'a>,
}

impl<'de> DeserializeSeed<'de> for TopLevel<'_> {
    type Value = BTreeSet<String>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(Walk {
            duplicate: self.duplicate,
        })
    }
}

/// Walks any JSON value, returning the keys when it is an object.
#[derive(Clone, Copy)]
struct Walk<'a> {
    duplicate: Dup<'a>,
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = BTreeSet<String>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = BTreeSet<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(BTreeSet::new())
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(BTreeSet::new())
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(BTreeSet::new())
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(BTreeSet::new())
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(BTreeSet::new())
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(BTreeSet::new())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element_seed(self)?.is_some() {}
        Ok(BTreeSet::new())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut keys = BTreeSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if keys.contains(&key) {
                let message = format!("duplicate key {key:?}");
                *self.duplicate.borrow_mut() = Some(key);
                return Err(de::Error::custom(message));
            }
            map.next_value_seed(self)?;
            keys.insert(key);
        }
        Ok(keys)
    }
}

/// Finds a key that Go's `encoding/json` would take for one of the `known`
/// struct fields although it is not spelled exactly like it (Go matches field
/// names case-insensitively, with Unicode folding: `Layers`, `LAYERS`,
/// `ſize`). Such keys are how a document says one thing to Go and another to
/// us, so strict parsers reject them.
pub(crate) fn case_variant<'a>(
    keys: impl IntoIterator<Item = &'a String>,
    known: &[&'static str],
) -> Option<(&'a String, &'static str)> {
    let fold = |s: &str| -> String {
        s.chars()
            .map(|c| match c {
                '\u{17f}' => 's',
                '\u{212a}' => 'k',
                c => c.to_ascii_lowercase(),
            })
            .collect()
    };
    keys.into_iter().find_map(|key| {
        let folded = fold(key);
        known
            .iter()
            .find(|k| **k != key.as_str() && fold(k) == folded)
            .map(|k| (key, *k))
    })
}

/// [`case_variant`] as an error for a parsed document.
pub(crate) fn reject_case_variants<'a>(
    keys: impl IntoIterator<Item = &'a String>,
    known: &[&'static str],
    what: &'static str,
) -> Result<()> {
    match case_variant(keys, known) {
        Some((key, field)) => Err(Error::AmbiguousDocument {
            what,
            reason: format!("key {key:?} is not {field:?} but Go would read it as that field"),
        }),
        None => Ok(()),
    }
}

/// Deserialises `null` as the type's default, as Go leaves a field untouched
/// (zero) when it reads `null`.
pub(crate) fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Deserialises an optional media type, treating `""` and `null` as absent
/// (Go's `omitempty` makes them the same).
pub(crate) fn empty_as_none<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<crate::MediaType>, D::Error> {
    let value = Option::<crate::MediaType>::deserialize(d)?;
    Ok(value.filter(|m| !m.as_str().is_empty()))
}

/// Whether an optional media type is absent or empty (Go omits both).
#[expect(clippy::ref_option, reason = "serde's skip_serializing_if signature")]
pub(crate) fn is_empty_media_type(value: &Option<crate::MediaType>) -> bool {
    value.as_ref().is_none_or(|m| m.as_str().is_empty())
}

/// Skips any value (used to ignore the contents of `{}` set members).
pub(crate) fn ignore<'de, D: Deserializer<'de>>(d: D) -> Result<(), D::Error> {
    IgnoredAny::deserialize(d).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn escapes_like_go() {
        let table = [
            ("plain", r#""plain""#),
            ("a && b <c>", r#""a \u0026\u0026 b \u003cc\u003e""#),
            ("quote\" back\\", r#""quote\" back\\""#),
            ("\n\r\t\u{8}\u{c}", r#""\n\r\t\b\f""#),
            ("\u{0}\u{1f}\u{7f}", "\"\\u0000\\u001f\u{7f}\""),
            ("line\u{2028}para\u{2029}", r#""line\u2028para\u2029""#),
            ("é日本🦀", "\"é日本🦀\""),
            ("/ slash", r#""/ slash""#),
            ("<<>>&&", r#""\u003c\u003c\u003e\u003e\u0026\u0026""#),
        ];
        for (input, want) in table {
            assert_eq!(to_string(input).unwrap(), want, "{input:?}");
            // And serde_json reads it back to the same string.
            assert_eq!(serde_json::from_str::<String>(want).unwrap(), input);
        }
    }

    #[test]
    fn keys_are_escaped_and_sorted() {
        let v = json!({"b<": 1, "a": [true, null, 1.5, -2], "c": {}});
        assert_eq!(
            to_string(&v).unwrap(),
            r#"{"a":[true,null,1.5,-2],"b\u003c":1,"c":{}}"#
        );
    }

    #[test]
    fn check_document_rejects_duplicates_at_any_depth() {
        let bad = [
            (r#"{"layers":[1],"layers":[2]}"#, "layers"),
            (r#"{"a":{"b":1,"c":2,"b":3}}"#, "b"),
            (r#"[{"x":1},{"y":[{"z":1,"z":1}]}]"#, "z"),
            (r#"{"a":1,"\u0061":2}"#, "a"),
        ];
        for (doc, key) in bad {
            match check_document(doc.as_bytes(), "test") {
                Err(Error::DuplicateKey {
                    what: "test",
                    key: k,
                }) => assert_eq!(k, key, "{doc}"),
                other => panic!("{doc}: {other:?}"),
            }
        }
        let keys = check_document(br#"{"b":{"a":1},"a":[{"a":1},{"a":2}]}"#, "t").unwrap();
        assert_eq!(keys.into_iter().collect::<Vec<_>>(), ["a", "b"]);
        assert!(check_document(b"[1,2]", "t").unwrap().is_empty());
    }

    #[test]
    fn check_document_rejects_malformed_input() {
        match check_document(b"{\"a\":\"\xff\"}", "doc") {
            Err(Error::InvalidUtf8 {
                what: "doc",
                offset: 6,
            }) => {}
            other => panic!("{other:?}"),
        }
        for doc in [
            &b""[..],
            b"{",
            b"{} {}",
            b"{\"a\":1,}",
            b"{\"a\":\"\\ud800\"}",
            b"nul",
        ] {
            assert!(
                matches!(check_document(doc, "doc"), Err(Error::Json { .. })),
                "{:?}",
                String::from_utf8_lossy(doc)
            );
        }
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(check_document(deep.as_bytes(), "doc").is_err());
        assert!(check_document(b" {} \n", "doc").is_ok());
    }
}
