//! Referrers through the API (ocireg-registry) and through the fallback tag
//! (distribution 2.8, which has no API).

use bytes::Bytes;
use ocireg_name::DigestReference;
use ocireg_remote::{Error, ReferrersSource};
use ocireg_transport::Scopes;
use ocireg_v1::{Descriptor, Digest, IndexManifest, Manifest, MediaType};

use super::support::{self, Target};

const SIG: &str = "application/vnd.example.signature";
const SBOM: &str = "application/vnd.example.sbom";

/// Pushes a subject image and two artifacts referring to it; returns the subject digest
/// and the artifacts' descriptors (with their artifact types).
async fn seed(t: &Target) -> (DigestReference, Vec<Descriptor>) {
    let repo = t.repo("ref/app");
    let img = ocireg_v1::random::image(64, 1, 3).expect("image");
    let subject = support::push_image(&repo, "v1", &*img).await;
    let subject_desc = {
        let raw = ocireg_v1::Image::raw_manifest(&*img).await.expect("raw");
        Descriptor::for_bytes(MediaType::DockerManifestSchema2, &raw)
    };
    let transport = support::client()
        .transport(
            repo.registry(),
            Scopes::push(repo.repository_str()),
            std::sync::Arc::new(ocireg_authn::Anonymous),
        )
        .await
        .expect("transport");
    let empty = support::push_blob(&transport, &repo, Bytes::from_static(b"{}")).await;
    assert_eq!(empty, Descriptor::empty_json().digest);
    let mut out = Vec::new();
    for (i, at) in [SIG, SBOM].into_iter().enumerate() {
        let payload = Bytes::from(format!("payload {i}"));
        support::push_blob(&transport, &repo, payload.clone()).await;
        let mut m = Manifest::new(MediaType::OciManifest, Descriptor::empty_json());
        m.config.data = None;
        m.artifact_type = Some(MediaType::from(at));
        m.layers.push(Descriptor::for_bytes(
            MediaType::from("application/octet-stream"),
            &payload,
        ));
        m.subject = Some(subject_desc.clone());
        let raw = Bytes::from(ocireg_v1::to_go_json(&m).expect("json"));
        let mut desc = Descriptor::for_bytes(MediaType::OciManifest, &raw);
        desc.artifact_type = Some(MediaType::from(at));
        support::push_manifest(
            &transport,
            &repo,
            &desc.digest.to_string(),
            &MediaType::OciManifest,
            raw,
        )
        .await;
        out.push(desc);
    }
    (repo.digest(subject), out)
}

fn digests(r: &ocireg_remote::Referrers) -> Vec<Digest> {
    let mut v: Vec<Digest> = r.descriptors().iter().map(|d| d.digest).collect();
    v.sort();
    v
}

#[tokio::test]
async fn through_the_api_on_ocireg_registry() {
    let t = support::in_process(true).await;
    let (subject, artifacts) = seed(&t).await;
    let opts = support::options();
    let all = ocireg_remote::referrers(&subject, None, &opts)
        .await
        .expect("referrers");
    assert_eq!(all.source, ReferrersSource::Api);
    let mut want: Vec<Digest> = artifacts.iter().map(|d| d.digest).collect();
    want.sort();
    assert_eq!(digests(&all), want);
    let sigs = ocireg_remote::referrers(&subject, Some(&MediaType::from(SIG)), &opts)
        .await
        .expect("filtered");
    assert_eq!(digests(&sigs), [artifacts[0].digest]);
    assert_eq!(
        sigs.descriptors()[0].artifact_type.as_deref_str(),
        Some(SIG)
    );
}

trait AsDerefStr {
    fn as_deref_str(&self) -> Option<&str>;
}

impl AsDerefStr for Option<MediaType> {
    fn as_deref_str(&self) -> Option<&str> {
        self.as_ref().map(MediaType::as_str)
    }
}

#[tokio::test]
async fn through_the_fallback_tag_on_distribution() {
    let t = support::distribution().await;
    let (subject, artifacts) = seed(&t).await;
    let opts = support::options();
    // No fallback tag yet: no referrers (and no error).
    let none = ocireg_remote::referrers(&subject, None, &opts)
        .await
        .expect("empty");
    assert_eq!(none.source, ReferrersSource::FallbackTag);
    assert!(none.descriptors().is_empty());
    // Maintain the fallback tag as a pusher would.
    let mut index = IndexManifest::new(MediaType::OciImageIndex);
    index.manifests = artifacts.clone();
    let raw = Bytes::from(ocireg_v1::to_go_json(&index).expect("json"));
    let repo = subject.repository().clone();
    let transport = support::client()
        .transport(
            repo.registry(),
            Scopes::push(repo.repository_str()),
            std::sync::Arc::new(ocireg_authn::Anonymous),
        )
        .await
        .expect("transport");
    let tag = ocireg_remote::referrers_tag(&subject.digest());
    support::push_manifest(&transport, &repo, &tag, &MediaType::OciImageIndex, raw).await;

    let all = ocireg_remote::referrers(&subject, None, &opts)
        .await
        .expect("referrers");
    assert_eq!(all.source, ReferrersSource::FallbackTag);
    assert_eq!(all.descriptors().len(), 2);
    // The filter is applied here, since no server applied it.
    let sboms = ocireg_remote::referrers(&subject, Some(&MediaType::from(SBOM)), &opts)
        .await
        .expect("filtered");
    assert_eq!(digests(&sboms), [artifacts[1].digest]);
    // With the fallback off, a registry without the API is an error.
    let strict = support::builder()
        .referrers_tag_fallback(false)
        .build()
        .expect("options");
    let err = ocireg_remote::referrers(&subject, None, &strict)
        .await
        .expect_err("no API");
    assert!(matches!(err, Error::ReferrersUnsupported { .. }), "{err:?}");
}
