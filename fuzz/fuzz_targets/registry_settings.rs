//! The per-registry settings file (ocireg-crane `RegistrySettings`): any bytes either fail
//! with a message or parse into settings that write back and read again unchanged, with
//! every token left out of the redacted form.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ocireg_crane::RegistrySettings;

fuzz_target!(|data: &[u8]| {
    let Ok(settings) = RegistrySettings::from_json(data) else {
        return;
    };
    let written = settings.to_json();
    let again = RegistrySettings::from_json(&written).expect("what we write reads back");
    assert_eq!(again, settings, "round trip");
    assert_eq!(again.to_json(), written, "stable bytes");
    let redacted: serde_json::Value =
        serde_json::from_slice(&settings.to_redacted_json()).expect("redacted JSON");
    for (name, host) in settings.hosts() {
        if host.token().is_some() {
            assert_eq!(redacted["hosts"][name]["token"], "***", "token shown");
        }
    }
});
