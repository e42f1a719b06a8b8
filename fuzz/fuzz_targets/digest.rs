//! Content digests: parsing accepts exactly `sha256:<64 lowercase hex>` and
//! `sha512:<128 lowercase hex>`, and a parsed digest displays as the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ocireg_name::{Algorithm, Digest};

/// The grammar, written independently of the parser.
fn grammar(s: &str) -> Option<Algorithm> {
    let (alg, hex) = s.split_once(':')?;
    let algorithm = match alg {
        "sha256" => Algorithm::Sha256,
        "sha512" => Algorithm::Sha512,
        _ => return None,
    };
    let ok = hex.len() == algorithm.hex_len()
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    ok.then_some(algorithm)
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = input.parse::<Digest>();
    assert_eq!(
        parsed.as_ref().ok().map(Digest::algorithm),
        grammar(input),
        "{input:?}: parser and grammar disagree"
    );
    // serde agrees with FromStr.
    let json = serde_json::to_string(input).expect("a string serialises");
    let from_json = serde_json::from_str::<Digest>(&json);
    assert_eq!(from_json.is_ok(), parsed.is_ok());
    match parsed {
        Ok(d) => {
            assert_eq!(d.to_string(), input);
            assert_eq!(d.hex().len(), d.algorithm().hex_len());
            assert_eq!(d.as_bytes().len(), d.algorithm().output_len());
            let rebuilt = Digest::from_bytes(d.algorithm(), d.as_bytes()).expect("own bytes");
            assert_eq!(rebuilt, d);
            assert_eq!(from_json.expect("checked above"), d);
            assert_eq!(
                serde_json::to_string(&d).expect("a digest serialises"),
                json
            );
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
