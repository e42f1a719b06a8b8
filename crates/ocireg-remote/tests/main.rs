//! Integration tests of ocireg-remote against real registries on loopback: CNCF
//! distribution (ocireg-testsupport) and ocireg-registry, plus scripted fault servers.

mod it {
    mod common;
    pub(crate) mod support;

    // ---- read side ----
    mod faults;
    mod hostile_list;
    mod list;
    mod progress;
    mod read;
    mod referrers;
    mod skopeo;

    // ---- write side ----
}
