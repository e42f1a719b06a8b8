//! Deterministic pseudo-random layers, images and indexes for tests (ggcr's
//! `pkg/v1/random`, seeded as with its `WithSource` option).
//!
//! The same arguments and seed always give the same bytes and digests, on
//! every platform; a different seed gives different ones. Layers are tars
//! holding one file `random_file_<n>.txt` of `size` random bytes; images have
//! a Docker schema 2 manifest and a config whose history entries are
//! authored by `random.Image` and carry no timestamps (ggcr #1678); indexes
//! are OCI indexes of such images, without platforms.
//!
//! Everything is built in memory: keep sizes test-sized.
//!
//! ```
//! use ocireg_v1::{random, Image};
//!
//! # futures_executor::block_on(async {
//! let a = random::image(1024, 3, 42)?;
//! let b = random::image(1024, 3, 42)?;
//! assert_eq!(a.digest().await?, b.digest().await?);
//! assert_ne!(a.digest().await?, random::image(1024, 3, 43)?.digest().await?);
//! assert_eq!(a.layers().await?.len(), 3);
//! # Ok::<(), ocireg_v1::Error>(())
//! # }).unwrap();
//! ```

use std::io::Write as _;
use std::sync::Arc;

use bytes::Bytes;

use crate::partial::memory::{BytesLayer, MemoryImage, MemoryIndex};
use crate::{
    ConfigFile, Descriptor, Error, History, Image, ImageIndex, IndexManifest, Layer, Manifest,
    MediaType, Result, RootFs,
};

/// A random layer: a tar with one file `random_file_<n>.txt` of `size`
/// random bytes, compressed as `media_type` says (gzip level 1, zstd, or
/// not at all for the plain tar types; other types get gzip, as in ggcr).
pub fn layer(size: u64, media_type: MediaType, seed: u64) -> Result<Arc<dyn Layer>> {
    let mut rng = SplitMix64(seed);
    Ok(Arc::new(random_layer(size, media_type, &mut rng)?))
}

fn random_layer(size: u64, media_type: MediaType, rng: &mut SplitMix64) -> Result<BytesLayer> {
    let len = usize::try_from(size).map_err(|_| Error::TooLarge {
        limit: usize::MAX as u64,
        size,
    })?;
    let name = format!("random_file_{}.txt", rng.next_u64() >> 1);
    let mut content = vec![0u8; len];
    rng.fill(&mut content);
    let tar = Bytes::from(tar_one_file(&name, &content));
    let compressed = match &media_type {
        MediaType::OciUncompressedLayer
        | MediaType::OciUncompressedRestrictedLayer
        | MediaType::DockerUncompressedLayer => tar.clone(),
        MediaType::OciLayerZstd
        | MediaType::OciRestrictedLayerZstd
        | MediaType::DockerLayerZstd => {
            Bytes::from(zstd::bulk::compress(&tar, 1).map_err(Error::Io)?)
        }
        _ => {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(&tar).map_err(Error::Io)?;
            Bytes::from(gz.finish().map_err(Error::Io)?)
        }
    };
    Ok(BytesLayer::new(compressed, tar, media_type))
}

/// A random image: `layers` random Docker gzip layers of `size` bytes each,
/// under a Docker schema 2 manifest (ggcr's `random.Image`).
pub fn image(size: u64, layers: usize, seed: u64) -> Result<Arc<dyn Image>> {
    let mut rng = SplitMix64(seed);
    Ok(Arc::new(random_image(size, layers, &mut rng)?))
}

fn random_image(size: u64, count: usize, rng: &mut SplitMix64) -> Result<MemoryImage> {
    let mut layers = Vec::with_capacity(count);
    let mut diff_ids = Vec::with_capacity(count);
    let mut history = Vec::with_capacity(count);
    let mut descriptors = Vec::with_capacity(count);
    for i in 0..count {
        let layer = random_layer(size, MediaType::DockerLayer, rng)?;
        let (digest, diff_id, size, media_type) = layer.facts();
        diff_ids.push(diff_id);
        descriptors.push(Descriptor::new(media_type, size, digest));
        history.push(History {
            author: "random.Image".to_owned(),
            created_by: "random".to_owned(),
            comment: format!("this is a random history {i} of {count}"),
            ..History::default()
        });
        layers.push((digest, Arc::new(layer) as Arc<dyn Layer>));
    }
    let config = ConfigFile {
        history,
        rootfs: RootFs::layers(Some(diff_ids)),
        ..ConfigFile::default()
    };
    let raw_config = Bytes::from(crate::to_go_json(&config)?);
    let mut manifest = Manifest::new(
        MediaType::DockerManifestSchema2,
        Descriptor::for_bytes(MediaType::DockerConfig, &raw_config),
    );
    manifest.layers = descriptors;
    Ok(MemoryImage {
        raw_manifest: Bytes::from(crate::to_go_json(&manifest)?),
        raw_config,
        media_type: MediaType::DockerManifestSchema2,
        layers,
    })
}

/// A random OCI index of `count` random images, each with `layers` layers of
/// `size` bytes (ggcr's `random.Index`). Child descriptors have no platform.
pub fn index(size: u64, layers: usize, count: usize, seed: u64) -> Result<Arc<dyn ImageIndex>> {
    let mut rng = SplitMix64(seed);
    let mut manifest = IndexManifest::new(MediaType::OciImageIndex);
    let mut images = Vec::with_capacity(count);
    for _ in 0..count {
        let img = random_image(size, layers, &mut rng)?;
        let desc = Descriptor::for_bytes(img.media_type.clone(), &img.raw_manifest);
        images.push((desc.digest, Arc::new(img) as Arc<dyn Image>));
        manifest.manifests.push(desc);
    }
    Ok(Arc::new(MemoryIndex {
        raw_manifest: Bytes::from(crate::to_go_json(&manifest)?),
        media_type: MediaType::OciImageIndex,
        images,
        indexes: Vec::new(),
    }))
}

/// splitmix64: a tiny, well-mixed 64-bit generator (Steele, Lea and Flood
/// 2014). Not cryptographic; fixtures only need reproducible bytes.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn fill(&mut self, buf: &mut [u8]) {
        let mut chunks = buf.chunks_exact_mut(8);
        for chunk in &mut chunks {
            chunk.copy_from_slice(&self.next_u64().to_le_bytes());
        }
        let rest = chunks.into_remainder();
        let last = self.next_u64().to_le_bytes();
        rest.copy_from_slice(&last[..rest.len()]);
    }
}

/// A one-file USTAR archive: `name` with `content`, mode 0644, mtime 0.
fn tar_one_file(name: &str, content: &[u8]) -> Vec<u8> {
    const BLOCK: usize = 512;
    let mut out = vec![0u8; BLOCK];
    let h = &mut out[..];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..108].copy_from_slice(b"0000644\0");
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    write_size(&mut h[124..136], content.len() as u64);
    h[136..148].copy_from_slice(b"00000000000\0");
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    out.extend_from_slice(content);
    out.resize(out.len().div_ceil(BLOCK) * BLOCK + 2 * BLOCK, 0);
    out
}

/// The size field: 11 octal digits when it fits (< 8 GiB), else base-256.
fn write_size(field: &mut [u8], size: u64) {
    if size < 0o100_000_000_000 {
        field.copy_from_slice(format!("{size:011o}\0").as_bytes());
    } else {
        field.fill(0);
        field[0] = 0x80;
        field[4..].copy_from_slice(&size.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_reference_values() {
        // First outputs for seed 1234567 from the reference implementation.
        let mut rng = SplitMix64(1_234_567);
        assert_eq!(rng.next_u64(), 6_457_827_717_110_365_317);
        assert_eq!(rng.next_u64(), 3_203_168_211_198_807_973);
    }

    #[test]
    fn fill_covers_odd_lengths() {
        let mut a = vec![0u8; 13];
        SplitMix64(9).fill(&mut a);
        assert!(a.iter().any(|&b| b != 0));
        let mut b = vec![0u8; 13];
        SplitMix64(9).fill(&mut b);
        assert_eq!(a, b);
    }

    #[test]
    fn tar_layout() {
        let tar = tar_one_file("random_file_1.txt", b"hello");
        assert_eq!(tar.len(), 512 + 512 + 1024);
        assert_eq!(&tar[..17], b"random_file_1.txt");
        assert_eq!(&tar[124..136], b"00000000005\0");
        assert_eq!(&tar[512..517], b"hello");
        let sum: u32 = tar[..512]
            .iter()
            .enumerate()
            .map(|(i, &b)| {
                if (148..156).contains(&i) {
                    32
                } else {
                    u32::from(b)
                }
            })
            .sum();
        assert_eq!(&tar[148..156], format!("{sum:06o}\0 ").as_bytes());
    }

    #[test]
    fn big_sizes_use_base256() {
        let mut field = [0u8; 12];
        write_size(&mut field, 1 << 40);
        assert_eq!(field[0], 0x80);
        assert_eq!(u64::from_be_bytes(field[4..].try_into().unwrap()), 1 << 40);
    }
}
