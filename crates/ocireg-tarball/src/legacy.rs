//! The legacy `docker save` format, v1.2 (ggcr `pkg/legacy/tarball`): every
//! layer uncompressed in a folder named by its v1 ID, with the `json` and
//! `VERSION` files old Docker versions need, and a `repositories` file.
//!
//! Member order, per distinct image: `<config hex>.json`, then for each
//! layer `<id>/layer.tar`, `<id>/json`, `<id>/VERSION`; after all images
//! `manifest.json` and `repositories`. v1 IDs chain: a layer's ID is the
//! SHA-256 of `"<digest hex> <parent id>"`, and the top layer's adds
//! `" <raw config>"`, as ggcr computes them.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use ocireg_name::Reference;
use ocireg_v1::{Blob, Config, ConfigFile, History, Image, Layer as _, LayerExt as _};
use tokio::io::{AsyncWrite, AsyncWriteExt as _};

use crate::WriteOptions;
use crate::write::{Counting, Tagged, Target};
use crate::{Error, ManifestEntry, Result};

/// Distinct images in first-seen order with their tags as written (legacy
/// ggcr adds no `:latest`).
fn dedup(refs: &[(Reference, Arc<dyn Image>)]) -> Vec<Tagged> {
    let mut out: Vec<Tagged> = Vec::new();
    for (reference, img) in refs {
        let slot = if let Some(p) = out.iter().position(|(i, _)| Arc::ptr_eq(i, img)) {
            p
        } else {
            out.push((Arc::clone(img), None));
            out.len() - 1
        };
        if let Some(tag) = reference.as_tag() {
            out[slot]
                .1
                .get_or_insert_with(Vec::new)
                .push(tag.to_string());
        }
    }
    out
}

/// Splits `<repo>:<tag>` at the last `:` unless what follows has a `/`
/// (ggcr's `splitTag`: an untagged name gives an empty tag).
fn split_tag(name: &str) -> (&str, &str) {
    match name.rsplit_once(':') {
        Some((base, tag)) if !tag.contains('/') => (base, tag),
        _ => (name, ""),
    }
}

/// The `json` file of a legacy layer, field for field as Go marshals ggcr's
/// `legacy.LayerConfigFile` (an embedded `ConfigFile`, then its own fields).
fn layer_json(base: &ConfigFile, history: &History, id: &str, parent: &str) -> Result<Vec<u8>> {
    let mut json = ocireg_v1::to_go_json(base)?;
    json.pop(); // the closing brace
    let mut container_config = Config::default();
    container_config.cmd = vec![history.created_by.clone()];
    json.extend_from_slice(b",\"container_config\":");
    json.extend(ocireg_v1::to_go_json(&container_config)?);
    for (key, value) in [("id", id), ("parent", parent)] {
        if !value.is_empty() {
            json.extend_from_slice(format!(",\"{key}\":").as_bytes());
            json.extend(ocireg_v1::to_go_json(value)?);
        }
    }
    if history.empty_layer {
        json.extend_from_slice(b",\"throwaway\":true");
    }
    if !history.comment.is_empty() {
        json.extend_from_slice(b",\"comment\":");
        json.extend(ocireg_v1::to_go_json(&history.comment)?);
    }
    json.push(b'}');
    Ok(json)
}

/// Writes `refs` in the legacy v1.2 format to `out` (ggcr legacy
/// `tarball.MultiWrite`); returns the bytes written. Layers are streamed
/// uncompressed; a layer that does not know its uncompressed size is read
/// twice (once to count).
pub async fn write<W>(refs: &[(Reference, Arc<dyn Image>)], out: W) -> Result<u64>
where
    W: AsyncWrite + Unpin,
{
    write_with(refs, out, WriteOptions::new()).await
}

/// [`write()`] with options: progress, each config and layer reported as it is written
/// (layers by diff id: they are written uncompressed); see [`WriteOptions::progress`].
pub async fn write_with<W>(
    refs: &[(Reference, Arc<dyn Image>)],
    out: W,
    options: WriteOptions,
) -> Result<u64>
where
    W: AsyncWrite + Unpin,
{
    let mut out = Counting {
        inner: out,
        written: 0,
        progress: options.progress,
    };
    let mut manifest = Vec::new();
    let mut repositories: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut written_ids = HashSet::new();
    for (img, tags) in dedup(refs) {
        let entry = write_image(&mut out, &*img, tags, &mut written_ids, &mut repositories).await?;
        manifest.push(entry);
    }
    let manifest_json = ocireg_v1::to_go_json(&manifest)?;
    let len = manifest_json.len() as u64;
    out.member("manifest.json", Blob::from_bytes(manifest_json), len)
        .await?;
    let repositories_json = ocireg_v1::to_go_json(&repositories)?;
    let len = repositories_json.len() as u64;
    out.member("repositories", Blob::from_bytes(repositories_json), len)
        .await?;
    out.put(&[0u8; 1024]).await?;
    out.inner.flush().await.map_err(Error::Write)?;
    Ok(out.written)
}

/// Writes one image's config and layers; returns its `manifest.json` entry.
async fn write_image<W: AsyncWrite + Unpin>(
    out: &mut Counting<W>,
    img: &dyn Image,
    tags: Option<Vec<String>>,
    written_ids: &mut HashSet<String>,
    repositories: &mut BTreeMap<String, BTreeMap<String, String>>,
) -> Result<ManifestEntry> {
    let raw_config = img.raw_config_file().await?;
    let config_name = format!("{}.json", img.config_name().await?.hex());
    if written_ids.insert(config_name.clone()) {
        out.blob_member(
            &config_name,
            img.config_name().await?,
            Blob::from_bytes(raw_config.clone()),
            raw_config.len() as u64,
        )
        .await?;
    }
    let config = img.config_file().await?;
    let manifest_doc = img.manifest().await?;
    let layers = img.layers().await?;
    let mut history: Vec<History> = config
        .history
        .iter()
        .filter(|h| !h.empty_layer)
        .cloned()
        .collect();
    if history.is_empty() {
        history = vec![History::default(); layers.len()];
    } else if history.len() != layers.len() {
        return Err(Error::Unwritable {
            reason: format!(
                "the config has {} non-empty history entries for {} layers",
                history.len(),
                layers.len()
            ),
        });
    }
    let mut layer_files = Vec::with_capacity(layers.len());
    let mut layer_sources = BTreeMap::new();
    let mut parent = String::new();
    for (i, layer) in layers.iter().enumerate() {
        let desc = &manifest_doc.layers[i];
        if !desc.media_type.is_distributable() {
            let diff_ids = config.rootfs.diff_ids();
            if let Some(d) = diff_ids.get(i) {
                layer_sources.insert(d.to_string(), desc.clone());
            }
        }
        let top = i + 1 == layers.len();
        let mut seed = format!("{} {parent}", layer.digest().await?.hex());
        if top && !raw_config.is_empty() {
            seed.push(' ');
            seed.push_str(&String::from_utf8_lossy(&raw_config));
        }
        let id = ocireg_v1::sha256(seed.as_bytes()).hex();
        let mut base = ConfigFile::default();
        base.created = history[i].created;
        base.author.clone_from(&history[i].author);
        base.rootfs.kind = String::new();
        if top {
            base.architecture.clone_from(&config.architecture);
            base.container.clone_from(&config.container);
            base.docker_version.clone_from(&config.docker_version);
            base.os.clone_from(&config.os);
            base.config = config.config.clone();
            base.created = config.created;
        }
        let json = layer_json(&base, &history[i], &id, &parent)?;
        let layer_file = format!("{id}/layer.tar");
        if written_ids.insert(id.clone()) {
            let size = layer.uncompressed_size_or_count().await?;
            let diff_id = layer.diff_id().await?;
            let blob = layer.uncompressed().await?.verified(diff_id, Some(size));
            out.blob_member(&layer_file, diff_id, blob, size).await?;
            let len = json.len() as u64;
            out.member(&format!("{id}/json"), Blob::from_bytes(json), len)
                .await?;
            out.member(&format!("{id}/VERSION"), Blob::from_bytes("1.0"), 3)
                .await?;
        }
        layer_files.push(layer_file);
        parent = id;
    }
    for tag in tags.iter().flatten() {
        let (base, t) = split_tag(tag);
        repositories
            .entry(base.to_owned())
            .or_default()
            .insert(t.to_owned(), parent.clone());
    }
    Ok(ManifestEntry {
        config: config_name,
        repo_tags: tags,
        layers: layer_files,
        layer_sources,
    })
}

/// [`write()`] to a file at `path`, through a temporary file beside it that is
/// fsynced and renamed.
pub async fn write_to_file(
    path: impl AsRef<Path>,
    refs: &[(Reference, Arc<dyn Image>)],
) -> Result<u64> {
    write_to_file_with(path, refs, WriteOptions::new()).await
}

/// [`write_to_file`] with options (progress).
pub async fn write_to_file_with(
    path: impl AsRef<Path>,
    refs: &[(Reference, Arc<dyn Image>)],
    options: WriteOptions,
) -> Result<u64> {
    let mut target = Target::create(path.as_ref())?;
    let written = write_with(refs, target.writer(), options)
        .await
        .map_err(|e| target.name_write_error(e))?;
    target.persist().await?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_tag_is_ggcrs() {
        assert_eq!(split_tag("a/b:1"), ("a/b", "1"));
        assert_eq!(split_tag("localhost:5000/b"), ("localhost:5000/b", ""));
        assert_eq!(split_tag("ubuntu"), ("ubuntu", ""));
    }
}
