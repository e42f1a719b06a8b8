//! `Content-Range` of a resumed download (ocireg-remote): what parses is a
//! valid range within its total, and canonical ranges parse back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ocireg_remote::fuzzing::parse_content_range;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = std::str::from_utf8(data) else {
        return;
    };
    if let Some((start, total)) = parse_content_range(value) {
        assert!(
            value.contains(&start.to_string()) || value.contains('+'),
            "{value:?}"
        );
        if let Some(total) = total {
            assert!(
                start < total,
                "{value:?}: start {start} not below total {total}"
            );
        }
    }
    // Canonical forms built from the input's bytes.
    if data.len() >= 16 {
        let n = |b: &[u8]| u64::from_le_bytes(b.try_into().expect("8 bytes"));
        let (a, b) = (n(&data[..8]), n(&data[8..16]));
        let (start, end) = (a.min(b), a.max(b));
        assert_eq!(
            parse_content_range(&format!("bytes {start}-{end}/*")),
            Some((start, None))
        );
        let want = end.checked_add(1).map(|total| (start, Some(total)));
        if let Some(total) = end.checked_add(1) {
            assert_eq!(
                parse_content_range(&format!("bytes {start}-{end}/{total}")),
                want
            );
        }
        assert_eq!(
            parse_content_range(&format!("bytes {start}-{end}/{end}")),
            None
        );
        if start < end {
            assert_eq!(parse_content_range(&format!("bytes {end}-{start}/*")), None);
        }
    }
});
