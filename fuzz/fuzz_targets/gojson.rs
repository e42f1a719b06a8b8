//! The Go-compatible JSON writer: parse → write as Go would → parse again
//! gives an equal value, writing that again gives the same bytes, and the
//! output is a valid strict document with Go's escapes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ocireg_v1::{ConfigFile, Descriptor, IndexManifest, JsonDocument, Manifest, Platform};
use serde::Serialize;
use serde::de::DeserializeOwned;

fuzz_target!(|data: &[u8]| {
    // Any JSON value.
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        let written = check_output(&value);
        let again: serde_json::Value =
            serde_json::from_slice(&written).expect("our output is JSON");
        assert_eq!(again, value);
        assert_eq!(ocireg_v1::to_go_json(&again).expect("serialises"), written);
    }
    // The document types, through their strict parsers.
    typed::<Manifest>(data);
    typed::<IndexManifest>(data);
    typed::<ConfigFile>(data);
    // Types that appear inside documents, through plain serde.
    plain::<Descriptor>(data);
    plain::<Platform>(data);
});

fn typed<T: JsonDocument + PartialEq + std::fmt::Debug>(data: &[u8]) {
    let Ok(value) = T::parse_json(data) else {
        return;
    };
    let written = check_output(&value);
    let again = T::parse_json(&written).unwrap_or_else(|e| {
        panic!(
            "re-parsing our own {} failed: {e}\n{}",
            T::WHAT,
            String::from_utf8_lossy(&written)
        )
    });
    assert_eq!(again, value);
    assert_eq!(ocireg_v1::to_go_json(&again).expect("serialises"), written);
}

fn plain<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(data: &[u8]) {
    let Ok(value) = serde_json::from_slice::<T>(data) else {
        return;
    };
    let written = check_output(&value);
    let again: T = serde_json::from_slice(&written).expect("our output parses");
    assert_eq!(again, value);
    assert_eq!(ocireg_v1::to_go_json(&again).expect("serialises"), written);
}

/// Writes `value` and checks what Go's encoder guarantees of its output.
fn check_output<T: Serialize>(value: &T) -> Vec<u8> {
    let written = ocireg_v1::to_go_json(value).expect("a parsed value serialises");
    let text = std::str::from_utf8(&written).expect("Go JSON is UTF-8");
    for c in ['<', '>', '&', '\u{2028}', '\u{2029}'] {
        assert!(!text.contains(c), "{c:?} is not escaped in {text}");
    }
    // Go escapes C0 controls (DEL is written raw, as Go does).
    assert!(!text.chars().any(|c| c < ' '), "raw control character");
    ocireg_v1::check_document(&written, "fuzz").expect("our output passes the strict reader");
    let mut buffered = Vec::new();
    ocireg_v1::write_go_json(&mut buffered, value).expect("writes");
    assert_eq!(buffered, written);
    written
}
