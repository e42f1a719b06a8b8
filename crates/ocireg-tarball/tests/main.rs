//! Integration tests of ocireg-tarball: ggcr's golden output, round trips,
//! multi-image tarballs, layers from files, and interop with skopeo.

mod it {
    mod ggcr;
    mod golden;
    mod layers;
    mod legacy;
    mod roundtrip;
    mod skopeo;
    pub(crate) mod support;
}
