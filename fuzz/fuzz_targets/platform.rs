//! Platforms (`os[/arch[/variant]][:osversion]`): parsing never panics, and
//! what parses displays as a string that parses back to the same platform.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ocireg_v1::Platform;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(p) = input.parse::<Platform>() {
        assert!(p.satisfies(&p));
        assert!(p.satisfies(&Platform::default()));
        assert!(p.matches_for_pull(&p));
        let shown = p.to_string();
        // Display leaves out an empty OS entirely and an empty architecture
        // before a variant (as ggcr's String does), so only the other
        // platforms can come back from their string (and parsing trims
        // whitespace around the whole string).
        if !p.os.is_empty()
            && !(p.architecture.is_empty() && !p.variant.is_empty())
            && shown.trim() == shown
        {
            let again: Platform = shown.parse().expect("Display re-parses");
            assert_eq!(again, p, "{input:?} -> {shown:?}");
            assert_eq!(again.to_string(), shown);
        }
        // The JSON form round-trips exactly.
        let json = serde_json::to_vec(&p).expect("a platform serialises");
        let back: Platform = serde_json::from_slice(&json).expect("own JSON parses");
        assert_eq!(back, p);
    }
    // Platforms as they appear in JSON documents.
    if let Ok(p) = serde_json::from_slice::<Platform>(data) {
        assert!(p.satisfies(&p));
        let json = ocireg_v1::to_go_json(&p).expect("a platform serialises");
        let back: Platform = serde_json::from_slice(&json).expect("own JSON parses");
        assert_eq!(back, p);
    }
});
