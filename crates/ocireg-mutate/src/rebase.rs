//! [`rebase`]: an image moved from one base onto another (ggcr `mutate.Rebase`).

use std::sync::Arc;

use ocireg_v1::{History, Image, Layer, empty};

use crate::{Addendum, Error, Result};

/// `orig`, built on `old_base`, rebuilt on `new_base` (ggcr `mutate.Rebase`):
/// the empty image with `orig`'s `config` section and `new_base`'s
/// architecture, OS and OS version, then `new_base`'s layers and history,
/// then `orig`'s layers and history above the old base.
///
/// `orig`'s first layers must be `old_base`'s, digest for digest
/// ([`Error::NotBasedOn`] otherwise). History and layers are walked
/// independently (history entries marked `empty_layer` have no layer); a
/// history with more layer entries than there are layers is an error, and
/// layers beyond the history are appended with empty history, as in ggcr.
pub async fn rebase(
    orig: Arc<dyn Image>,
    old_base: Arc<dyn Image>,
    new_base: Arc<dyn Image>,
) -> Result<Arc<dyn Image>> {
    let orig_layers = orig.layers().await.map_err(Error::Image)?;
    let old_layers = old_base.layers().await.map_err(Error::Image)?;
    if old_layers.len() > orig_layers.len() {
        return Err(Error::NotBasedOn {
            reason: format!(
                "it has {} layers, the old base {}",
                orig_layers.len(),
                old_layers.len()
            ),
        });
    }
    for (i, (old, ours)) in old_layers.iter().zip(&orig_layers).enumerate() {
        let (a, b) = (
            old.digest().await.map_err(Error::Image)?,
            ours.digest().await.map_err(Error::Image)?,
        );
        if a != b {
            return Err(Error::NotBasedOn {
                reason: format!("layer {i} is {b}, the old base's {a}"),
            });
        }
    }
    let old_config = old_base.config_file().await.map_err(Error::Image)?;
    let orig_config = orig.config_file().await.map_err(Error::Image)?;
    let new_config = new_base.config_file().await.map_err(Error::Image)?;

    let mut config = empty::image().config_file().await.map_err(Error::Image)?;
    config.config = orig_config.config.clone();
    config.architecture.clone_from(&new_config.architecture);
    config.os.clone_from(&new_config.os);
    config.os_version.clone_from(&new_config.os_version);
    let rebased = crate::config_file(empty::image(), config);

    let new_layers = new_base.layers().await.map_err(Error::Image)?;
    let rebased = crate::append(rebased, addenda(0, 0, &new_config.history, &new_layers)?)?;
    crate::append(
        rebased,
        addenda(
            old_config.history.len(),
            old_layers.len() + 1,
            &orig_config.history,
            &orig_layers,
        )?,
    )
}

/// ggcr's `createAddendums`: history and layers walked together, from the
/// history entry `start_history` or the layer `start_layer - 1` on.
fn addenda(
    start_history: usize,
    start_layer: usize,
    history: &[History],
    layers: &[Arc<dyn Layer>],
) -> Result<Vec<Addendum>> {
    let mut adds = Vec::new();
    let mut layer_index = 0;
    for (history_index, h) in history.iter().enumerate() {
        let mut layer = None;
        if !h.empty_layer {
            let Some(l) = layers.get(layer_index) else {
                return Err(Error::MalformedHistory {
                    layers: layers.len(),
                });
            };
            layer = Some(Arc::clone(l));
            layer_index += 1;
        }
        if history_index >= start_history || layer_index >= start_layer {
            let mut add = Addendum::empty_layer(h.clone());
            add.history.empty_layer = h.empty_layer;
            add.layer = layer;
            adds.push(add);
        }
    }
    // A history that is malformed or missing: the remaining layers as they are.
    for (i, l) in layers.iter().enumerate().skip(layer_index) {
        if i >= start_layer {
            adds.push(Addendum::new(Arc::clone(l)));
        }
    }
    Ok(adds)
}
