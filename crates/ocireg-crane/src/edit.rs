//! `edit config` and `edit manifest` (ggcr's hidden `crane edit`): the caller changes the
//! bytes (in an editor, or from stdin: `tools/crane` decides), and the result is pushed.

use std::collections::BTreeMap;

use bytes::Bytes;
use ocireg_name::Reference;
use ocireg_v1::{Digest, Image as _, MediaType, StaticLayer};
use serde_json::value::RawValue;

use crate::error::{Error, Result};
use crate::options::Options;
use crate::setup::{Doing, remote_err, remote_options, view_err};

/// Where an edit is pushed: `dst`, else back to `src` (by the new digest when `src`
/// named a digest, as ggcr does).
fn destination(
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

fn invalid_edit(what: &str, reason: &'static str) -> Error {
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
    // As ggcr v0.21.9: the manifest is edited as a generic JSON object (its keys come out
    // sorted) whose `config` is the new descriptor (in the descriptor's own field order),
    // its embedded `data` replaced too when that was correct (ggcr#1552).
    let raw_manifest = img
        .raw_manifest()
        .await
        .map_err(view_err(Doing::on("fetching", &r)))?;
    let serialising = || view_err(format!("serialising the manifest of {r}"));
    let doc: BTreeMap<String, serde_json::Value> = serde_json::from_slice(&raw_manifest)
        .map_err(|e| serialising()(ocireg_v1::Error::backend(e, false)))?;
    if manifest.config.verified_data().is_ok_and(|d| d.is_some()) {
        manifest.config.data = Some(edited.clone());
    }
    manifest.config.digest = ocireg_v1::sha256(&edited);
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
                doing: format!("serialising the manifest of {r}"),
                reason: "a field did not serialise as JSON",
            })?;
        fields.insert(key, raw);
    }
    let body = Bytes::from(ocireg_v1::to_go_json(&fields).map_err(serialising())?);
    let target = destination(&r, dst, ocireg_v1::sha256(&body), opts)?;
    let layer = std::sync::Arc::new(StaticLayer::new(edited, manifest.config.media_type.clone()));
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
    let media_type = match media_type {
        Some(mt) => MediaType::from(mt),
        None => serde_json::from_slice::<serde_json::Value>(&edited)
            .ok()
            .and_then(|v| v.get("mediaType")?.as_str().map(MediaType::from))
            .filter(|mt| !mt.as_str().is_empty())
            .unwrap_or_else(|| desc.media_type().clone()),
    };
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
