//! Mutated images (ggcr `mutate.Append`, `Config`, `ConfigFile`,
//! `CreatedAt`, `MediaType`, `ConfigMediaType`, `Annotations`, `Subject`):
//! one lazy view over a base image.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use ocireg_v1::{
    Config, ConfigFile, Descriptor, Digest, History, Image, Layer, LayerExt as _, MediaType,
    StaticLayer, Time, async_trait,
};

use crate::{Error, Result};

/// A layer to append, with what goes beside it (ggcr `mutate.Addendum`).
///
/// `history` is appended to the config's history as it is (ggcr appends
/// even an empty one, whose `created` is written as the zero time);
/// `urls`, `annotations` and `media_type`, when set, override the layer's
/// own descriptor in the manifest.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Addendum {
    /// The layer; `None` only for a history entry marked `empty_layer`.
    pub layer: Option<Arc<dyn Layer>>,
    /// The history entry for the config.
    pub history: History,
    /// URLs for the layer's descriptor (foreign layers).
    pub urls: Vec<String>,
    /// Annotations for the layer's descriptor.
    pub annotations: BTreeMap<String, String>,
    /// The media type for the layer's descriptor.
    pub media_type: Option<MediaType>,
}

impl Addendum {
    /// An addendum of `layer` with an empty history entry.
    pub fn new(layer: Arc<dyn Layer>) -> Self {
        Self {
            layer: Some(layer),
            ..Self::default()
        }
    }

    /// A history entry with no layer (`empty_layer` is set).
    pub fn empty_layer(mut history: History) -> Self {
        history.empty_layer = true;
        Self {
            history,
            ..Self::default()
        }
    }

    /// Sets the history entry.
    #[must_use]
    pub fn with_history(mut self, history: History) -> Self {
        self.history = history;
        self
    }

    /// Sets the descriptor's annotations.
    #[must_use]
    pub fn with_annotations(mut self, annotations: BTreeMap<String, String>) -> Self {
        self.annotations = annotations;
        self
    }

    /// Sets the descriptor's URLs.
    #[must_use]
    pub fn with_urls(mut self, urls: Vec<String>) -> Self {
        self.urls = urls;
        self
    }

    /// Sets the descriptor's media type.
    #[must_use]
    pub fn with_media_type(mut self, media_type: MediaType) -> Self {
        self.media_type = Some(media_type);
        self
    }
}

/// The lazy view every image mutation returns.
#[derive(Debug, Default)]
struct Mutated {
    base: Option<Arc<dyn Image>>,
    adds: Vec<Addendum>,
    config_file: Option<ConfigFile>,
    annotations: Option<BTreeMap<String, String>>,
    media_type: Option<MediaType>,
    config_media_type: Option<MediaType>,
    subject: Option<Descriptor>,
    computed: OnceLock<Arc<Computed>>,
}

#[derive(Debug)]
struct Computed {
    raw_manifest: Bytes,
    raw_config: Bytes,
    config: Descriptor,
    by_diff_id: HashMap<Digest, Arc<dyn Layer>>,
    by_digest: HashMap<Digest, Arc<dyn Layer>>,
}

impl Mutated {
    fn over(base: Arc<dyn Image>) -> Self {
        Self {
            base: Some(base),
            ..Self::default()
        }
    }

    fn base(&self) -> &Arc<dyn Image> {
        self.base.as_ref().expect("every constructor sets the base")
    }

    fn into_image(self) -> Arc<dyn Image> {
        Arc::new(self)
    }

    async fn compute(&self) -> ocireg_v1::Result<Arc<Computed>> {
        if let Some(c) = self.computed.get() {
            return Ok(Arc::clone(c));
        }
        let base = self.base();
        let mut manifest = base.manifest().await?;
        let base_has_data = manifest.config.data.is_some();
        let image_config = manifest.config.media_type.is_config();
        let mut by_diff_id = HashMap::new();
        let mut by_digest = HashMap::new();

        // The config: re-serialised for image configs (and replacements);
        // an artifact's config is kept byte for byte (ggcr #2286).
        let raw_config = if image_config || self.config_file.is_some() {
            let mut config = match &self.config_file {
                Some(c) => c.clone(),
                None => base.config_file().await?,
            };
            if image_config {
                for add in &self.adds {
                    config.history.push(add.history.clone());
                    if let Some(layer) = &add.layer {
                        let diff_id = layer.diff_id().await?;
                        config
                            .rootfs
                            .diff_ids
                            .get_or_insert_with(Vec::new)
                            .push(diff_id);
                        by_diff_id.insert(diff_id, Arc::clone(layer));
                    }
                }
            }
            Bytes::from(ocireg_v1::to_go_json(&config)?)
        } else {
            base.raw_config_file().await?
        };

        for add in &self.adds {
            let Some(layer) = &add.layer else {
                continue; // Empty layers are only history.
            };
            let mut desc = layer.to_descriptor().await?;
            if !add.annotations.is_empty() {
                desc.annotations.clone_from(&add.annotations);
            }
            if !add.urls.is_empty() {
                desc.urls.clone_from(&add.urls);
            }
            if let Some(mt) = &add.media_type {
                desc.media_type = mt.clone();
            }
            by_digest.insert(desc.digest, Arc::clone(layer));
            manifest.layers.push(desc);
        }

        manifest.config.digest = ocireg_v1::sha256(&raw_config);
        manifest.config.size = raw_config.len() as u64;
        if base_has_data {
            manifest.config.data = Some(raw_config.clone());
        }
        if let Some(mt) = &self.config_media_type {
            manifest.config.media_type = mt.clone();
        }
        if let Some(mt) = &self.media_type {
            manifest.media_type = Some(mt.clone());
        }
        if let Some(annotations) = &self.annotations {
            for (k, v) in annotations {
                manifest.annotations.insert(k.clone(), v.clone());
            }
        }
        if let Some(subject) = &self.subject {
            manifest.subject = Some(subject.clone());
        }
        let computed = Arc::new(Computed {
            raw_manifest: Bytes::from(ocireg_v1::to_go_json(&manifest)?),
            raw_config,
            config: manifest.config.clone(),
            by_diff_id,
            by_digest,
        });
        Ok(Arc::clone(self.computed.get_or_init(|| computed)))
    }
}

#[async_trait]
impl Image for Mutated {
    async fn raw_manifest(&self) -> ocireg_v1::Result<Bytes> {
        Ok(self.compute().await?.raw_manifest.clone())
    }

    async fn raw_config_file(&self) -> ocireg_v1::Result<Bytes> {
        Ok(self.compute().await?.raw_config.clone())
    }

    async fn media_type(&self) -> ocireg_v1::Result<MediaType> {
        match &self.media_type {
            Some(mt) => Ok(mt.clone()),
            None => self.base().media_type().await,
        }
    }

    async fn layer_by_digest(&self, digest: Digest) -> ocireg_v1::Result<Arc<dyn Layer>> {
        let c = self.compute().await?;
        if digest == c.config.digest {
            return Ok(Arc::new(StaticLayer::with_digest(
                c.raw_config.clone(),
                c.config.media_type.clone(),
                digest,
            )?));
        }
        match c.by_digest.get(&digest) {
            Some(layer) => Ok(Arc::clone(layer)),
            None => self.base().layer_by_digest(digest).await,
        }
    }

    async fn layer_by_diff_id(&self, diff_id: Digest) -> ocireg_v1::Result<Arc<dyn Layer>> {
        let c = self.compute().await?;
        match c.by_diff_id.get(&diff_id) {
            Some(layer) => Ok(Arc::clone(layer)),
            None => self.base().layer_by_diff_id(diff_id).await,
        }
    }

    /// The layers in manifest order, looked up by digest, so two layers with
    /// one diff id but different compressions both survive (ggcr #2299).
    /// While a streaming layer is not yet consumed, the base's layers and
    /// the added ones, without computing anything.
    async fn layers(&self) -> ocireg_v1::Result<Vec<Arc<dyn Layer>>> {
        match self.compute().await {
            Err(ocireg_v1::Error::NotComputed { .. }) => {
                let mut layers = self.base().layers().await?;
                layers.extend(self.adds.iter().filter_map(|a| a.layer.clone()));
                Ok(layers)
            }
            Err(e) => Err(e),
            Ok(_) => {
                let manifest = self.manifest().await?;
                let mut layers = Vec::with_capacity(manifest.layers.len());
                for desc in &manifest.layers {
                    layers.push(self.layer_by_digest(desc.digest).await?);
                }
                Ok(layers)
            }
        }
    }
}

/// `base` with `adds` appended: one history entry per addendum (image
/// configs only), one diff id and one manifest layer per layer (ggcr
/// `mutate.Append`). Nothing is read until the result is asked for
/// something, so a streaming layer is not consumed before it is written.
///
/// No addendum gives `base` back. An addendum without a layer must be
/// marked `empty_layer` ([`Error::NilLayer`] otherwise).
pub fn append(base: Arc<dyn Image>, adds: Vec<Addendum>) -> Result<Arc<dyn Image>> {
    if adds.is_empty() {
        return Ok(base);
    }
    if adds
        .iter()
        .any(|a| a.layer.is_none() && !a.history.empty_layer)
    {
        return Err(Error::NilLayer);
    }
    let mut m = Mutated::over(base);
    m.adds = adds;
    Ok(m.into_image())
}

/// `base` with `layers` appended, each with an empty history entry (ggcr
/// `mutate.AppendLayers`).
pub fn append_layers(
    base: Arc<dyn Image>,
    layers: impl IntoIterator<Item = Arc<dyn Layer>>,
) -> Arc<dyn Image> {
    let adds: Vec<Addendum> = layers.into_iter().map(Addendum::new).collect();
    if adds.is_empty() {
        return base;
    }
    let mut m = Mutated::over(base);
    m.adds = adds;
    m.into_image()
}

/// `base` with the config replaced by `config` (ggcr `mutate.ConfigFile`);
/// the manifest's config descriptor follows.
pub fn config_file(base: Arc<dyn Image>, config: ConfigFile) -> Arc<dyn Image> {
    let mut m = Mutated::over(base);
    m.config_file = Some(config);
    m.into_image()
}

/// `base` with the `config` section of its config (entrypoint, env,
/// labels...) replaced (ggcr `mutate.Config`).
pub async fn config(base: Arc<dyn Image>, config: Config) -> Result<Arc<dyn Image>> {
    let mut file = base.config_file().await.map_err(Error::Image)?;
    file.config = config;
    Ok(config_file(base, file))
}

/// `base` with its config's `created` set (ggcr `mutate.CreatedAt`).
pub async fn created_at(base: Arc<dyn Image>, created: Time) -> Result<Arc<dyn Image>> {
    let mut file = base.config_file().await.map_err(Error::Image)?;
    file.created = created;
    Ok(config_file(base, file))
}

/// `img` with the manifest's media type set (ggcr `mutate.MediaType`).
pub fn media_type(img: Arc<dyn Image>, media_type: MediaType) -> Arc<dyn Image> {
    let mut m = Mutated::over(img);
    m.media_type = Some(media_type);
    m.into_image()
}

/// `img` with the config descriptor's media type set (ggcr
/// `mutate.ConfigMediaType`); a type that is not an image config makes the
/// image an artifact of that type.
pub fn config_media_type(img: Arc<dyn Image>, media_type: MediaType) -> Arc<dyn Image> {
    let mut m = Mutated::over(img);
    m.config_media_type = Some(media_type);
    m.into_image()
}

/// `img` with `annotations` merged into its manifest's (ggcr
/// `mutate.Annotations` on an image); existing keys are overwritten.
pub fn annotations(img: Arc<dyn Image>, annotations: BTreeMap<String, String>) -> Arc<dyn Image> {
    let mut m = Mutated::over(img);
    m.annotations = Some(annotations);
    m.into_image()
}

/// `img` with the manifest's `subject` set (ggcr `mutate.Subject`).
pub fn subject(img: Arc<dyn Image>, subject: Descriptor) -> Arc<dyn Image> {
    let mut m = Mutated::over(img);
    m.subject = Some(subject);
    m.into_image()
}
