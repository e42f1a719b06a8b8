//! Integration tests of the write side and of copy, against CNCF distribution
//! (ocireg-testsupport), ocireg-registry (behind a recording front) and scripted servers.
//! A test binary of its own, so it builds independently of the read-side tests.

mod it {
    mod common;
    pub(crate) mod write_support;

    mod copy;
    mod write;
    mod write_faults;
}
