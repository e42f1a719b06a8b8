//! Image configs from untrusted bytes: what parses survives a Go-JSON round
//! trip, its platform is consistent, and its times re-parse.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ocireg_v1::bytes::Bytes;
use ocireg_v1::{ConfigFile, Document, Time, sha256};

fuzz_target!(|data: &[u8]| {
    // Times on their own, as `created` values.
    if let Ok(s) = std::str::from_utf8(data)
        && let Ok(t) = s.parse::<Time>()
    {
        let shown = t.to_string();
        let again: Time = shown.parse().expect("a displayed time re-parses");
        assert!(again.same_instant(&t), "{s:?} -> {shown:?}");
        assert_eq!(again.to_string(), shown);
    }

    let Ok(doc) = Document::<ConfigFile>::parse(Bytes::copy_from_slice(data)) else {
        return;
    };
    assert_eq!(doc.digest(), sha256(data));
    assert_eq!(doc.bytes().as_ref(), data);
    let config = doc.value();
    if let Some(p) = config.platform() {
        assert_eq!(p.os, config.os);
        assert_eq!(p.architecture, config.architecture);
    }
    let _ = config.rootfs.diff_ids();
    let written = ocireg_v1::to_go_json(config).expect("a parsed config serialises");
    let again = ConfigFile::parse(&written).unwrap_or_else(|e| {
        panic!(
            "re-parsing our own output failed: {e}\n{}",
            String::from_utf8_lossy(&written)
        )
    });
    assert_eq!(&again, config);
    assert_eq!(
        ocireg_v1::to_go_json(&again).expect("serialises"),
        written,
        "Go JSON output is not stable"
    );
});
