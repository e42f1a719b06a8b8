//! ggcr's edge cases of `mutate`: artifacts, duplicate diff ids, streaming layers,
//! addenda, config data, media types, and reproducible times.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures_executor::block_on;
use ocireg_mutate::{Addendum, Error};
use ocireg_v1::bytes::Bytes;
use ocireg_v1::{
    Descriptor, History, Image, Layer, LayerExt as _, MediaType, StaticLayer, StreamLayer, Time,
    empty, random,
};

fn tar_with(name: &str, body: &[u8], mtime: u64) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_ustar();
    h.set_size(body.len() as u64);
    h.set_mode(0o644);
    h.set_mtime(mtime);
    b.append_data(&mut h, name, body).expect("append");
    b.into_inner().expect("tar")
}

fn plain(tar: Vec<u8>) -> Arc<dyn Layer> {
    Arc::new(StaticLayer::new(tar, MediaType::OciUncompressedLayer))
}

#[test]
fn no_addendum_gives_the_base_back_and_a_nil_layer_needs_empty_layer() {
    let base = empty::image();
    let same = ocireg_mutate::append(Arc::clone(&base), Vec::new()).expect("append");
    assert!(Arc::ptr_eq(&base, &same));
    let err = ocireg_mutate::append(Arc::clone(&base), vec![Addendum::default()]).expect_err("nil");
    assert!(matches!(err, Error::NilLayer));
    let img = ocireg_mutate::append(base, vec![Addendum::empty_layer(history_by("ENV A=1"))])
        .expect("empty layer");
    let config = block_on(img.config_file()).expect("config");
    assert!(config.history[0].empty_layer);
    assert!(block_on(img.layers()).expect("layers").is_empty());
    assert_eq!(
        config.rootfs.diff_ids, None,
        "no layer, diff_ids stay null as in ggcr"
    );
}

#[test]
fn addenda_override_the_layer_descriptor() {
    let layer = plain(tar_with("a", b"a", 0));
    let add = Addendum::new(Arc::clone(&layer))
        .with_annotations(BTreeMap::from([("k".into(), "v".into())]))
        .with_urls(vec!["https://example.com/blob".into()])
        .with_media_type(MediaType::DockerForeignLayer)
        .with_history({
            let mut h = History::default();
            h.author = "me".into();
            h
        });
    let img = ocireg_mutate::append(empty::image(), vec![add]).expect("append");
    let m = block_on(img.manifest()).expect("manifest");
    assert_eq!(m.layers[0].annotations["k"], "v");
    assert_eq!(m.layers[0].urls, ["https://example.com/blob"]);
    assert_eq!(m.layers[0].media_type, MediaType::DockerForeignLayer);
    let c = block_on(img.config_file()).expect("config");
    assert_eq!(c.history[0].author, "me");
    // Layers are found by digest and by diff id.
    let d = block_on(layer.digest()).expect("digest");
    assert_eq!(
        block_on(
            block_on(img.layer_by_digest(d))
                .expect("by digest")
                .digest()
        )
        .expect("d"),
        d
    );
    let by_diff = block_on(img.layer_by_diff_id(block_on(layer.diff_id()).expect("diff id")));
    assert!(by_diff.is_ok());
    // The config is served as a blob too.
    let cn = block_on(img.manifest()).expect("m").config.digest;
    let cl = block_on(img.layer_by_digest(cn)).expect("config layer");
    assert_eq!(
        block_on(
            block_on(cl.compressed())
                .expect("blob")
                .read_to_end(1 << 20)
        )
        .expect("bytes"),
        block_on(img.raw_config_file()).expect("raw")
    );
}

#[test]
fn an_artifact_keeps_its_config_bytes() {
    // An artifact: its config is not an image config, and not even JSON ggcr could re-write.
    let raw = br#"{"whatever": [1, 2, 3],   "spaced": true}"#;
    let img = ocireg_mutate::config_media_type(
        empty::image(),
        MediaType::Other("application/vnd.example.config+json".into()),
    );
    let img = Arc::new(ArtifactWithConfig(img, raw));
    let appended = ocireg_mutate::append_layers(img, [plain(tar_with("a", b"a", 0))]);
    assert_eq!(
        block_on(appended.raw_config_file())
            .expect("config")
            .as_ref(),
        raw
    );
    let m = block_on(appended.manifest()).expect("manifest");
    assert_eq!(m.config.digest, ocireg_v1::sha256(raw));
    assert_eq!(m.layers.len(), 1);
}

/// An image whose config is `raw`, whatever its base says.
#[derive(Debug)]
struct ArtifactWithConfig(Arc<dyn Image>, &'static [u8]);

#[ocireg_v1::async_trait]
impl Image for ArtifactWithConfig {
    async fn raw_manifest(&self) -> ocireg_v1::Result<Bytes> {
        let mut m = self.0.manifest().await?;
        m.config = Descriptor::for_bytes(m.config.media_type.clone(), self.1);
        Ok(ocireg_v1::to_go_json(&m)?.into())
    }
    async fn raw_config_file(&self) -> ocireg_v1::Result<Bytes> {
        Ok(Bytes::from_static(self.1))
    }
    async fn media_type(&self) -> ocireg_v1::Result<MediaType> {
        self.0.media_type().await
    }
    async fn layer_by_digest(&self, d: ocireg_v1::Digest) -> ocireg_v1::Result<Arc<dyn Layer>> {
        self.0.layer_by_digest(d).await
    }
}

#[test]
fn two_layers_with_one_diff_id_but_different_compressions_both_survive() {
    let tar = tar_with("same", b"content", 0);
    let a = plain(tar.clone());
    let gz = {
        use std::io::Write as _;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(&tar).expect("gz");
        e.finish().expect("gz")
    };
    let b: Arc<dyn Layer> = Arc::new(ocireg_v1::partial::CompressedToLayer::new(Gz(gz.into())));
    assert_eq!(
        block_on(a.diff_id()).expect("a"),
        block_on(b.diff_id()).expect("b")
    );
    let img = ocireg_mutate::append_layers(empty::image(), [Arc::clone(&a), Arc::clone(&b)]);
    let layers = block_on(img.layers()).expect("layers");
    assert_eq!(layers.len(), 2);
    assert_eq!(
        block_on(layers[0].digest()).expect("0"),
        block_on(a.digest()).expect("a")
    );
    assert_eq!(
        block_on(layers[1].digest()).expect("1"),
        block_on(b.digest()).expect("b")
    );
}

#[derive(Debug)]
struct Gz(Bytes);

#[ocireg_v1::async_trait]
impl ocireg_v1::partial::CompressedLayer for Gz {
    async fn digest(&self) -> ocireg_v1::Result<ocireg_v1::Digest> {
        Ok(ocireg_v1::sha256(&self.0))
    }
    async fn size(&self) -> ocireg_v1::Result<u64> {
        Ok(self.0.len() as u64)
    }
    async fn media_type(&self) -> ocireg_v1::Result<MediaType> {
        Ok(MediaType::OciLayer)
    }
    async fn compressed(&self) -> ocireg_v1::Result<ocireg_v1::Blob> {
        Ok(ocireg_v1::Blob::from_bytes(self.0.clone()))
    }
}

#[test]
fn a_streaming_layer_is_not_consumed_before_it_is_written() {
    let tar = tar_with("s", b"streamed", 0);
    let stream = Arc::new(StreamLayer::new(futures_util::stream::iter([Ok(
        Bytes::from(tar),
    )])));
    let img = ocireg_mutate::append_layers(
        random::image(64, 1, 3).expect("random"),
        [stream.clone() as Arc<dyn Layer>],
    );
    // Before the stream is read, the manifest cannot be computed, but the layers can be listed.
    assert!(block_on(img.raw_manifest()).is_err());
    let layers = block_on(img.layers()).expect("layers");
    assert_eq!(layers.len(), 2);
    assert!(!stream.is_consumed());
    // A writer consumes it; then everything is known.
    block_on(
        block_on(layers[1].compressed())
            .expect("stream")
            .read_to_end(1 << 20),
    )
    .expect("read");
    let m = block_on(img.manifest()).expect("manifest");
    assert_eq!(m.layers.len(), 2);
    assert_eq!(
        m.layers[1].digest,
        block_on(stream.digest()).expect("digest")
    );
}

#[test]
fn config_data_media_types_created_and_subject() {
    let base = random::image(64, 1, 5).expect("random");
    let img = ocireg_mutate::media_type(Arc::clone(&base), MediaType::OciManifest);
    let img = ocireg_mutate::config_media_type(img, MediaType::OciConfig);
    let t = Time::from_unix(1_700_000_000, 5);
    let img = block_on(ocireg_mutate::created_at(img, t)).expect("created");
    let subject = block_on(ocireg_v1::ImageExt::to_descriptor(&*base)).expect("subject");
    let img = ocireg_mutate::subject(img, subject.clone());
    assert_eq!(
        block_on(img.media_type()).expect("mt"),
        MediaType::OciManifest
    );
    let m = block_on(img.manifest()).expect("manifest");
    assert_eq!(m.media_type, Some(MediaType::OciManifest));
    assert_eq!(m.config.media_type, MediaType::OciConfig);
    assert_eq!(m.subject, Some(subject));
    assert_eq!(block_on(img.config_file()).expect("c").created, t);
    // The manifest's config descriptor follows the new config.
    assert_eq!(
        m.config.digest,
        ocireg_v1::sha256(block_on(img.raw_config_file()).expect("raw"))
    );
}

#[test]
fn time_and_canonical_are_reproducible_and_streamed() {
    let a = ocireg_mutate::append_layers(empty::image(), [plain(tar_with("f", b"x", 1000))]);
    let mut cf = block_on(a.config_file()).expect("config");
    cf.architecture = "amd64".into();
    cf.os = "linux".into();
    cf.container = "abc".into();
    cf.docker_version = "20".into();
    cf.history[0].author = "someone".into();
    cf.history[0].created_by = "ADD f".into();
    cf.config.hostname = "host".into();
    let a = ocireg_mutate::config_file(a, cf);
    // The same content with another mtime gives the same canonical image.
    let b = ocireg_mutate::append_layers(empty::image(), [plain(tar_with("f", b"x", 99999))]);
    let ca = block_on(ocireg_mutate::canonical(a)).expect("canonical a");
    let cb = block_on(ocireg_mutate::canonical(b)).expect("canonical b");
    let fs_a = block_on(ocireg_mutate::extract(Arc::clone(&ca)).read_to_end(1 << 20)).expect("fs");
    let fs_b = block_on(ocireg_mutate::extract(Arc::clone(&cb)).read_to_end(1 << 20)).expect("fs");
    assert_eq!(fs_a, fs_b, "mtimes are gone");
    assert_eq!(&fs_a[136..148], b"00000000000\0", "mtime 0");
    let c = block_on(ca.config_file()).expect("config");
    assert!(c.created.is_zero());
    assert_eq!((c.architecture.as_str(), c.os.as_str()), ("amd64", "linux"));
    assert!(c.container.is_empty() && c.docker_version.is_empty() && c.config.hostname.is_empty());
    assert_eq!(c.history[0].created_by, "ADD f");
    assert!(c.history[0].author.is_empty());
    // The layer's digests hold when read again (and the image passes validation).
    block_on(ocireg_v1::validate::image(
        &*ca,
        ocireg_v1::validate::Options::default(),
    ))
    .expect("valid");
    let t = Time::from_unix(1_600_000_000, 0);
    let timed = block_on(ocireg_mutate::time(ca, t)).expect("time");
    let fs = block_on(ocireg_mutate::extract(Arc::clone(&timed)).read_to_end(1 << 20)).expect("fs");
    assert_eq!(
        &fs[136..148],
        format!("{:011o}\0", 1_600_000_000).as_bytes()
    );
    assert_eq!(block_on(timed.config_file()).expect("c").created, t);
    let layer = &block_on(timed.layers()).expect("layers")[0];
    assert_eq!(
        block_on(layer.media_type()).expect("mt"),
        MediaType::DockerLayer
    );
    assert!(block_on(layer.to_descriptor()).is_ok());
}

#[test]
fn rebase_walks_history_and_layers_independently() {
    let old_layer = plain(tar_with("old", b"old", 0));
    let new_layer = plain(tar_with("new", b"new", 0));
    let app_layer = plain(tar_with("app", b"app", 0));
    let old_base = ocireg_mutate::append_layers(empty::image(), [Arc::clone(&old_layer)]);
    let new_base = ocireg_mutate::append_layers(empty::image(), [Arc::clone(&new_layer)]);
    let h = history_by;
    let orig = ocireg_mutate::append(
        Arc::clone(&old_base),
        vec![
            Addendum::empty_layer(h("ENV A=1")),
            Addendum::new(Arc::clone(&app_layer)).with_history(h("COPY app")),
        ],
    )
    .expect("orig");
    let rebased = block_on(ocireg_mutate::rebase(
        Arc::clone(&orig),
        Arc::clone(&old_base),
        Arc::clone(&new_base),
    ))
    .expect("rebase");
    let c = block_on(rebased.config_file()).expect("config");
    let by: Vec<&str> = c.history.iter().map(|h| h.created_by.as_str()).collect();
    assert_eq!(by, ["", "ENV A=1", "COPY app"]);
    let digests: Vec<_> = block_on(rebased.layers())
        .expect("layers")
        .iter()
        .map(|l| block_on(l.digest()).expect("digest"))
        .collect();
    assert_eq!(
        digests,
        [
            block_on(new_layer.digest()).expect("d"),
            block_on(app_layer.digest()).expect("d")
        ]
    );
    // An image not built on the old base is refused.
    let err = block_on(ocireg_mutate::rebase(new_base, old_base, orig)).expect_err("not based");
    assert!(matches!(err, Error::NotBasedOn { .. }), "{err}");
}

fn history_by(by: &str) -> History {
    let mut h = History::default();
    h.created_by = by.into();
    h
}
