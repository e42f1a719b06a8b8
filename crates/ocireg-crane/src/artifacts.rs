//! Artifacts that refer to images (OCI 1.1 referrers): `attach`, and carrying an image's
//! referrers along a copy (`copy --referrers`). Listing them (`refs`) is a read, in
//! `read`.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use ocireg_name::Reference;
use ocireg_v1::{Descriptor, Digest, Manifest, MediaType, StaticLayer};

use crate::error::{Error, Result};
use crate::options::Options;
use crate::setup::{Doing, remote_err, remote_options, view_err};

/// How deep referrers of referrers are followed (a signature of an SBOM of an image is 2).
const MAX_REFERRER_DEPTH: usize = 8;
/// The most referrers one copy carries along.
const MAX_REFERRERS: usize = 10_000;

/// Copies every referrer of `digest` in `src`'s repository to `dst`'s
/// repository, by digest (the destination keeps its referrers index or
/// fallback tag right as the manifests are written), and their referrers in
/// turn. Each digest is listed and copied once, however often a registry
/// lists it (or lists a subject as its own referrer), at most
/// [`MAX_REFERRER_DEPTH`] levels deep and [`MAX_REFERRERS`] in all.
pub(crate) async fn copy_referrers(
    src: &Reference,
    dst: &Reference,
    digest: Digest,
    remote: &ocireg_remote::Options,
) -> Result<()> {
    let mut seen = HashSet::from([digest]);
    let mut level = vec![digest];
    for _ in 0..MAX_REFERRER_DEPTH {
        let mut next = Vec::new();
        for subject in level {
            let subject = src.repository().digest(subject);
            let found = ocireg_remote::referrers(&subject, None, remote)
                .await
                .map_err(remote_err(Doing::on("listing the referrers of", &subject)))?;
            for desc in found.descriptors() {
                if !seen.insert(desc.digest) {
                    continue;
                }
                if seen.len() > MAX_REFERRERS {
                    return Err(Error::TooManyReferrers {
                        reference: src.to_string(),
                        limit: MAX_REFERRERS,
                    });
                }
                let from = Reference::Digest(src.repository().digest(desc.digest));
                let to = Reference::Digest(dst.repository().digest(desc.digest));
                let copied = ocireg_remote::copy(&from, &to, remote)
                    .await
                    .map_err(remote_err(format!("copying referrer {from} to {to}")))?;
                next.push(copied);
            }
        }
        if next.is_empty() {
            return Ok(());
        }
        level = next;
    }
    Ok(())
}

/// The artifact manifest `attach` writes: an OCI 1.1 image manifest of type
/// `artifact_type` with the empty config, `layer` as its one layer and `subject` as its
/// subject, as Go JSON in [`Manifest`]'s field order (the bytes ggcr writes for it).
pub(crate) fn artifact_manifest(
    artifact_type: &str,
    layer: Descriptor,
    subject: Descriptor,
) -> ocireg_v1::Result<Vec<u8>> {
    let mut manifest = Manifest::new(MediaType::OciManifest, Descriptor::empty_json());
    manifest.layers.push(layer);
    manifest.subject = Some(subject);
    manifest.artifact_type = Some(MediaType::from(artifact_type));
    ocireg_v1::to_go_json(&manifest)
}

/// Pushes `file` as an artifact of type `artifact_type` whose one blob has
/// `media_type`, referring to the image `image` (crane's `attach`): an OCI
/// 1.1 image manifest with `artifactType`, the empty config and `subject` =
/// the image's descriptor. On registries without the referrers API the
/// `sha256-<hex>` fallback tag is updated. Returns the artifact's `repo@digest`.
///
/// With `image` = `ocidir://DIR[:TAG|@DIGEST]`, the blobs and the manifest are written into
/// the OCI image layout and the manifest listed (untagged) in its `index.json`, where
/// [`referrers`](crate::referrers) finds it; returns `ocidir://DIR@DIGEST`.
pub async fn attach(
    file: &Path,
    media_type: &str,
    artifact_type: &str,
    image: &str,
    opts: &Options,
) -> Result<String> {
    let r = if crate::ocidir::is_ocidir(image) {
        None
    } else {
        Some(opts.parse_reference(image)?)
    };
    // fs_err's error names the path.
    let bytes = fs_err::read(file).map_err(|source| Error::Io {
        doing: "reading the file to attach".to_owned(),
        source,
    })?;
    let Some(r) = r else {
        let dir = crate::ocidir::parse(image)?;
        return crate::ocidir::attach(&dir, bytes, media_type, artifact_type).await;
    };
    let remote = remote_options(opts, None).await?;
    let subject = ocireg_remote::head(&r, &remote)
        .await
        .map_err(remote_err(Doing::on("looking up", &r)))?;
    let subject = Descriptor::new(subject.media_type, subject.size, subject.digest);
    let repo = r.repository();
    let layer_media = MediaType::from(media_type);
    let blob = Arc::new(StaticLayer::new(bytes, layer_media.clone()));
    let layer = Descriptor::new(layer_media, blob.bytes().len() as u64, blob.digest());
    let pusher = ocireg_remote::Pusher::new(&remote);
    let doing = Doing::from(format!("attaching {} to {r}", file.display()));
    pusher
        .upload(repo, blob)
        .await
        .map_err(remote_err(doing.clone()))?;
    pusher
        .upload(
            repo,
            Arc::new(StaticLayer::new(&b"{}"[..], MediaType::OciEmpty)),
        )
        .await
        .map_err(remote_err(doing.clone()))?;
    let body = artifact_manifest(artifact_type, layer, subject).map_err(view_err(doing.clone()))?;
    let raw = ocireg_remote::RawManifest::new(body, MediaType::OciManifest);
    let digest = raw.digest();
    let at = Reference::Digest(repo.digest(digest));
    pusher.put(&at, &raw).await.map_err(remote_err(doing))?;
    Ok(format!("{}@{digest}", repo.name()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_artifact_manifest_is_go_json_in_manifest_order() {
        let layer = Descriptor::for_bytes(MediaType::from("text/plain"), b"hello\n");
        let subject = Descriptor::for_bytes(MediaType::OciManifest, b"{}");
        let bytes =
            artifact_manifest("application/vnd.example.sbom", layer, subject).expect("encodes");
        let want = concat!(
            r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","#,
            r#""config":{"mediaType":"application/vnd.oci.empty.v1+json","size":2,"#,
            r#""digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","#,
            r#""data":"e30="},"#,
            r#""layers":[{"mediaType":"text/plain","size":6,"#,
            r#""digest":"sha256:5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"}],"#,
            r#""subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":2,"#,
            r#""digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},"#,
            r#""artifactType":"application/vnd.example.sbom"}"#,
        );
        assert_eq!(String::from_utf8_lossy(&bytes), want);
    }
}
