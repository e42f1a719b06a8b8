//! `edit config` and `edit manifest` (ggcr's hidden `crane edit`): the caller changes the
//! bytes (in an editor, or from stdin: `tools/crane` decides), and the result is pushed.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use ocireg_name::Reference;
use ocireg_v1::{Descriptor, Digest, Image as _, Manifest, Matcher, MediaType, StaticLayer};
use serde_json::value::RawValue;

use crate::error::{Error, Result};
use crate::options::Options;
use crate::setup::{Doing, remote_err, remote_options, view_err};

/// Where an edit is pushed: `dst`, else back to `src` (by the new digest when `src`
/// named a digest, as ggcr does).
pub(crate) fn destination(
    src: &Reference,
    dst: Option<&str>,
    digest: Digest,
    opts: &Options,
) -> Result<Reference> {
    match dst {
        Some(dst) => opts.parse_reference(dst),
        None => Ok(match src {
            Reference::Digest(d) => Reference::Digest(d.repository().digest(digest)),
            Reference::Tag(_) => src.clone(),
        }),
    }
}

pub(crate) fn invalid_edit(what: &str, reason: &'static str) -> Error {
    Error::InvalidArgument {
        doing: format!("reading the edited {what}"),
        reason,
    }
}

/// Replaces the config of the image `src` with what `edit` makes of it, uploads the new
/// config to the destination's repository and pushes the manifest pointing at it (to
/// `dst`, else back to `src`). The manifest is written through the Go JSON writer, its
/// config `data` updated when it held the old config. Returns the destination pushed.
pub async fn edit_config(
    src: &str,
    dst: Option<&str>,
    edit: impl FnOnce(&[u8]) -> Result<Vec<u8>>,
    opts: &Options,
) -> Result<String> {
    if crate::ocidir::is_ocidir(src) {
        return edit_in_layout(src, dst, None, true, edit).await;
    }
    let r = opts.parse_reference(src)?;
    let remote = remote_options(opts, None).await?;
    let doing = Doing::on("fetching", &r);
    let desc = ocireg_remote::get(&r, &remote)
        .await
        .map_err(remote_err(doing.clone()))?;
    let img = match opts.platform() {
        Some(p) if desc.is_index() => desc.image_for_platform(p).await,
        _ => desc.image().await,
    }
    .map_err(remote_err(doing.clone()))?;
    let media_type = img.media_type().await.map_err(view_err(doing.clone()))?;
    let mut manifest = img.manifest().await.map_err(view_err(doing.clone()))?;
    let raw = img.raw_config_file().await.map_err(view_err(doing))?;
    let edited = Bytes::from(edit(&raw)?);
    if u64::try_from(edited.len()).unwrap_or(u64::MAX) > ocireg_v1::CONFIG_LIMIT {
        return Err(invalid_edit(
            "config",
            "it is larger than a config may be (8 MiB)",
        ));
    }
    let raw_manifest = img
        .raw_manifest()
        .await
        .map_err(view_err(Doing::on("fetching", &r)))?;
    let body = with_config(&raw_manifest, &mut manifest, &edited, &r.to_string())?;
    let target = destination(&r, dst, ocireg_v1::sha256(&body), opts)?;
    let layer = Arc::new(StaticLayer::new(edited, manifest.config.media_type.clone()));
    ocireg_remote::write_layer(target.repository(), layer, &remote)
        .await
        .map_err(remote_err(Doing::on(
            "uploading the edited config to",
            &target,
        )))?;
    let raw = ocireg_remote::RawManifest::new(body, media_type);
    ocireg_remote::put(&target, &raw, &remote)
        .await
        .map_err(remote_err(Doing::on(
            "pushing the edited manifest to",
            &target,
        )))?;
    Ok(target.to_string())
}

/// Replaces the manifest `src` with what `edit` makes of it and pushes it (to `dst`, else
/// back to `src`) as `media_type`, else the edited document's own `mediaType`, else the
/// media type it had. Returns the destination pushed.
pub async fn edit_manifest(
    src: &str,
    dst: Option<&str>,
    media_type: Option<&str>,
    edit: impl FnOnce(&[u8]) -> Result<Vec<u8>>,
    opts: &Options,
) -> Result<String> {
    if crate::ocidir::is_ocidir(src) {
        return edit_in_layout(src, dst, media_type, false, edit).await;
    }
    let r = opts.parse_reference(src)?;
    let remote = remote_options(opts, None).await?;
    let desc = ocireg_remote::get(&r, &remote)
        .await
        .map_err(remote_err(Doing::on("fetching the manifest of", &r)))?;
    let edited = Bytes::from(edit(desc.raw_manifest())?);
    if u64::try_from(edited.len()).unwrap_or(u64::MAX) > ocireg_v1::MANIFEST_LIMIT {
        return Err(invalid_edit(
            "manifest",
            "it is larger than a manifest may be (8 MiB)",
        ));
    }
    let media_type = edited_media_type(media_type, &edited, desc.media_type());
    let target = destination(&r, dst, ocireg_v1::sha256(&edited), opts)?;
    let raw = ocireg_remote::RawManifest::new(edited, media_type);
    ocireg_remote::put(&target, &raw, &remote)
        .await
        .map_err(remote_err(Doing::on(
            "pushing the edited manifest to",
            &target,
        )))?;
    Ok(target.to_string())
}

/// The manifest `raw` (parsed as `manifest`) pointing at the config `edited`, as ggcr
/// v0.21.9 writes it: a generic JSON object (its keys come out sorted) whose `config` is the
/// new descriptor (in the descriptor's own field order), its embedded `data` replaced too
/// when that was correct (ggcr#1552).
fn with_config(raw: &[u8], manifest: &mut Manifest, edited: &Bytes, what: &str) -> Result<Bytes> {
    let serialising = || view_err(format!("serialising the manifest of {what}"));
    let doc: BTreeMap<String, serde_json::Value> = serde_json::from_slice(raw)
        .map_err(|e| serialising()(ocireg_v1::Error::backend(e, false)))?;
    if manifest.config.verified_data().is_ok_and(|d| d.is_some()) {
        manifest.config.data = Some(edited.clone());
    }
    manifest.config.digest = ocireg_v1::sha256(edited);
    manifest.config.size = edited.len() as u64;
    let mut fields = BTreeMap::new();
    for (key, value) in doc {
        let json = if key == "config" {
            ocireg_v1::to_go_json(&manifest.config)
        } else {
            ocireg_v1::to_go_json(&value)
        }
        .map_err(serialising())?;
        let raw = String::from_utf8(json)
            .ok()
            .and_then(|j| RawValue::from_string(j).ok())
            .ok_or_else(|| Error::InvalidArgument {
                doing: format!("serialising the manifest of {what}"),
                reason: "a field did not serialise as JSON",
            })?;
        fields.insert(key, raw);
    }
    Ok(Bytes::from(
        ocireg_v1::to_go_json(&fields).map_err(serialising())?,
    ))
}

/// The media type of an edited manifest: `given`, else the document's own `mediaType`,
/// else `had`.
fn edited_media_type(given: Option<&str>, edited: &[u8], had: &MediaType) -> MediaType {
    match given {
        Some(mt) => MediaType::from(mt),
        None => serde_json::from_slice::<serde_json::Value>(edited)
            .ok()
            .and_then(|v| v.get("mediaType")?.as_str().map(MediaType::from))
            .filter(|mt| !mt.as_str().is_empty())
            .unwrap_or_else(|| had.clone()),
    }
}

/// An edit of an image in an OCI layout: the new blobs are written into the layout and the
/// entry named by `dst` (else `src`) points at the new manifest. Both must name the same
/// layout: the image's other blobs are not copied.
async fn edit_in_layout(
    src: &str,
    dst: Option<&str>,
    media_type: Option<&str>,
    config: bool,
    edit: impl FnOnce(&[u8]) -> Result<Vec<u8>>,
) -> Result<String> {
    let r = crate::ocidir::parse(src)?;
    let target = crate::ocidir::parse(dst.unwrap_or(src))?;
    if target.path != r.path {
        return Err(Error::InvalidArgument {
            doing: format!("editing {src} into {}", dst.unwrap_or(src)),
            reason: "an edit in an image layout stays in that layout",
        });
    }
    let layout = r.open().await?;
    let err = |doing| crate::local::layout_err(doing, &r.path);
    let _writing = layout
        .write_guard()
        .await
        .map_err(err("writing to the image layout"))?;
    let desc = r.descriptor(&layout).await?;
    let raw = layout
        .blob_bytes(desc.digest, Some(desc.size), ocireg_v1::MANIFEST_LIMIT)
        .await
        .map_err(err("reading a manifest of the image layout"))?;
    let (body, mt) = if config {
        let mut manifest =
            Manifest::parse(&raw).map_err(view_err(format!("reading the manifest of {src}")))?;
        let current = layout
            .blob_bytes(
                manifest.config.digest,
                Some(manifest.config.size),
                ocireg_v1::CONFIG_LIMIT,
            )
            .await
            .map_err(err("reading a config of the image layout"))?;
        let edited = Bytes::from(edit(&current)?);
        if edited.len() as u64 > ocireg_v1::CONFIG_LIMIT {
            return Err(invalid_edit(
                "config",
                "it is larger than a config may be (8 MiB)",
            ));
        }
        layout
            .write_blob(
                ocireg_v1::sha256(&edited),
                Some(edited.len() as u64),
                ocireg_v1::Blob::from_bytes(edited.clone()),
            )
            .await
            .map_err(err("writing the edited config to the image layout"))?;
        let body = with_config(&raw, &mut manifest, &edited, src)?;
        (body, desc.media_type.clone())
    } else {
        let edited = Bytes::from(edit(&raw)?);
        if edited.len() as u64 > ocireg_v1::MANIFEST_LIMIT {
            return Err(invalid_edit(
                "manifest",
                "it is larger than a manifest may be (8 MiB)",
            ));
        }
        let mt = edited_media_type(media_type, &edited, &desc.media_type);
        (edited, mt)
    };
    let digest = ocireg_v1::sha256(&body);
    layout
        .write_blob(
            digest,
            Some(body.len() as u64),
            ocireg_v1::Blob::from_bytes(body.clone()),
        )
        .await
        .map_err(err("writing the edited manifest to the image layout"))?;
    let mut entry = Descriptor::new(mt, body.len() as u64, digest);
    let written = match (&target.tag, target.digest) {
        (_, Some(_)) => layout.append_descriptor(entry).await,
        (tag, None) => {
            let tag = tag.clone().unwrap_or_else(|| "latest".to_owned());
            entry = entry.with_annotation(ocireg_v1::ANNOTATION_REF_NAME, tag.clone());
            layout.replace_descriptor(entry, Matcher::name(tag)).await
        }
    };
    written.map_err(err("updating the image layout's index.json"))?;
    Ok(format!("ocidir://{}@{digest}", r.path.display()))
}
