//! The index half of [`crate::validate`]: an index's children are what its descriptors
//! say, each child checked in depth once however often it is listed.

use futures_util::FutureExt as _;
use futures_util::future::BoxFuture;

use super::{Options, Report, check_image, check_layer, check_raw_digest_and_size};
use crate::{Descriptor, Digest, Image, ImageIndex, IndexManifest, MediaType, Platform, Result};

pub(super) fn check_index<'a>(
    idx: &'a dyn ImageIndex,
    opts: Options,
    prefix: String,
    report: &'a mut Report,
) -> BoxFuture<'a, ()> {
    async move {
        let raw = report.ok(&prefix, "raw_manifest()", idx.raw_manifest().await);
        if let Some(raw) = &raw {
            check_raw_digest_and_size(
                &prefix,
                "index manifest",
                raw,
                idx.digest().await,
                idx.size().await,
                report,
            );
        }
        let parsed = raw.and_then(|raw| {
            report.ok(
                &prefix,
                "parsing raw_manifest()",
                IndexManifest::parse(&raw),
            )
        });
        let manifest = report.ok(&prefix, "index_manifest()", idx.index_manifest().await);
        if let (Some(parsed), Some(manifest)) = (&parsed, &manifest)
            && parsed != manifest
        {
            report.push(
                &prefix,
                "index_manifest() differs from the parsed raw_manifest()",
            );
        }
        let manifest = manifest.or(parsed);
        if let Some(mt) = report.ok(&prefix, "media_type()", idx.media_type().await) {
            if let Some(declared) = manifest.as_ref().and_then(|m| m.media_type.as_ref()) {
                report.eq(&prefix, "index mediaType vs media_type()", declared, &mt);
            }
            if !mt.is_index() {
                report.push(
                    &prefix,
                    format_args!("media_type() {mt} is not an index type"),
                );
            }
        }
        let Some(manifest) = manifest else {
            return;
        };
        // A child listed many times is checked in depth once; each further descriptor of
        // it is still compared with the child (an index of 1,000 copies of one entry costs
        // one walk, not 1,000).
        let mut walked = std::collections::HashSet::new();
        for (i, desc) in manifest.manifests.iter().enumerate() {
            let p = format!("{prefix}manifests[{i}] {}: ", desc.digest);
            let deep = walked.insert(desc.digest);
            check_child(idx, desc, opts, deep, &p, report).await;
        }
    }
    .boxed()
}

async fn check_child(
    idx: &dyn ImageIndex,
    desc: &Descriptor,
    opts: Options,
    deep: bool,
    p: &str,
    report: &mut Report,
) {
    let mt = &desc.media_type;
    if mt.is_index() {
        let Some(child) = report.ok(p, "image_index()", idx.image_index(desc.digest).await) else {
            return;
        };
        if deep {
            check_index(&*child, opts, p.to_owned(), report).await;
        }
        check_child_descriptor(
            desc,
            child.media_type().await,
            child.digest().await,
            child.size().await,
            p,
            report,
        );
    } else if mt.is_image() {
        let Some(child) = report.ok(p, "image()", idx.image(desc.digest).await) else {
            return;
        };
        if deep {
            check_image(&*child, opts, desc.artifact_type.is_some(), p, report).await;
        }
        check_child_descriptor(
            desc,
            child.media_type().await,
            child.digest().await,
            child.size().await,
            p,
            report,
        );
        if let Some(want) = &desc.platform {
            check_platform(&*child, want, p, report).await;
        }
    } else if let Some(Some(layer)) = report.ok(p, "layer()", idx.layer(desc.digest).await) {
        // A plain blob listed in the index (ggcr #819): check it as a layer.
        // Failures of non-distributable blobs are not the index's fault.
        let mut sub = Report::default();
        let facts = check_layer(&*layer, opts, p, &mut sub).await;
        if let Some(digest) = facts.digest {
            sub.eq(p, "descriptor digest vs digest()", &desc.digest, &digest);
        }
        if mt.is_distributable() {
            report.problems.append(&mut sub.problems);
            report.transient = report.transient.take().or(sub.transient);
        }
    }
}

/// Checks a child's media type, digest and size against its descriptor.
fn check_child_descriptor(
    desc: &Descriptor,
    media_type: Result<MediaType>,
    digest: Result<Digest>,
    size: Result<u64>,
    p: &str,
    report: &mut Report,
) {
    if let Some(mt) = report.ok(p, "media_type()", media_type) {
        report.eq(
            p,
            "descriptor media type vs media_type()",
            &desc.media_type,
            &mt,
        );
    }
    if let Some(d) = report.ok(p, "digest()", digest) {
        report.eq(p, "descriptor digest vs digest()", &desc.digest, &d);
    }
    if let Some(s) = report.ok(p, "size()", size) {
        report.eq(p, "descriptor size vs size()", &desc.size, &s);
    }
}

/// Checks the platform an index declares for an image against its config.
async fn check_platform(img: &dyn Image, want: &Platform, p: &str, report: &mut Report) {
    let Some(config) = report.ok(p, "config_file()", img.config_file().await) else {
        return;
    };
    let Some(got) = config.platform() else {
        report.push(
            p,
            format_args!(
                "the index declares platform {want} but the config has no platform fields"
            ),
        );
        return;
    };
    if got != *want {
        report.push(
            p,
            format_args!("the index declares platform {want:?} but the config says {got:?}"),
        );
    }
}
