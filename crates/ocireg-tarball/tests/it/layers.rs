//! Layers from tar, tar.gz and tar.zst files and streams, and tarballs whose
//! layers are plain tars (docker save before 25, the legacy per-layer
//! format, Docker 25+ blobs with symlinks).

use std::io::Write as _;
use std::sync::Arc;

use bytes::Bytes;
use ocireg_tarball::{LayerOptions, layer_from_file, layer_from_stream};
use ocireg_v1::{
    Blob, Compression, ConfigFile, GzipLevel, Image, Layer, MediaType, RootFs, validate,
};

use super::support::{bytes, rt};

fn a_tar(seed: u8) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let data = vec![seed; 3000];
    let mut h = tar::Header::new_ustar();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    b.append_data(&mut h, format!("file-{seed}.txt"), &data[..])
        .expect("append");
    b.into_inner().expect("tar")
}

#[test]
fn layers_from_tar_gz_and_zst_files() {
    rt().block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let tar = a_tar(1);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&tar).expect("gz");
        let gz = gz.finish().expect("gz");
        let zst = zstd::encode_all(&tar[..], 3).expect("zstd");
        let ours_gz = bytes(Blob::new(
            ocireg_v1::gzip(Blob::from_bytes(tar.clone()), GzipLevel::BEST_SPEED),
            None,
        ))
        .await;
        for (file, content, compression, digest, media_type) in [
            (
                "l.tar",
                &tar,
                Compression::None,
                ocireg_v1::sha256(&ours_gz),
                MediaType::DockerLayer,
            ),
            (
                "l.tar.gz",
                &gz,
                Compression::Gzip,
                ocireg_v1::sha256(&gz),
                MediaType::DockerLayer,
            ),
            (
                "l.tar.zst",
                &zst,
                Compression::Zstd,
                ocireg_v1::sha256(&zst),
                MediaType::OciLayerZstd,
            ),
        ] {
            let path = dir.path().join(file);
            fs_err::write(&path, content).expect("write");
            let layer = layer_from_file(&path, LayerOptions::new())
                .await
                .expect(file);
            assert_eq!(layer.file_compression(), compression, "{file}");
            assert_eq!(
                layer.diff_id().await.expect("diff id"),
                ocireg_v1::sha256(&tar),
                "{file}"
            );
            assert_eq!(layer.digest().await.expect("digest"), digest, "{file}");
            assert_eq!(layer.media_type().await.expect("mt"), media_type, "{file}");
            assert_eq!(
                bytes(layer.uncompressed().await.expect("u")).await,
                tar,
                "{file}"
            );
            validate::layer(&layer, validate::Options::default())
                .await
                .expect(file);

            let chunks: Vec<std::io::Result<Bytes>> = content
                .chunks(700)
                .map(|c| Ok(Bytes::copy_from_slice(c)))
                .collect();
            let streamed =
                layer_from_stream(futures_util::stream::iter(chunks), LayerOptions::new())
                    .await
                    .expect("stream");
            assert_eq!(
                streamed.digest().await.expect("d"),
                digest,
                "{file} streamed"
            );
            let temp = streamed.path().to_path_buf();
            drop(streamed);
            assert!(!temp.exists(), "the spooled file is removed with the layer");
        }
        let err = layer_from_file(dir.path().join("missing.tar"), LayerOptions::new())
            .await
            .unwrap_err();
        // The cause (fs_err's) names the file; the message says what we were doing.
        let mut shown = err.to_string();
        let mut cause = std::error::Error::source(&err);
        while let Some(c) = cause {
            shown = format!("{shown}: {c}");
            cause = c.source();
        }
        assert_eq!(shown.matches("missing.tar").count(), 1, "{shown}");
        assert!(
            shown.starts_with("reading the layer file's metadata: failed to "),
            "{shown}"
        );
    });
}

/// Writes a docker-save style tarball by hand: plain tar layers, a config
/// named `<hex>.json`, legacy `<id>/layer.tar` names or Docker 25+ blobs
/// reached through symlinks.
fn hand_tarball(docker25: bool) -> (Vec<u8>, Bytes, Vec<Vec<u8>>) {
    let layers = vec![a_tar(7), a_tar(8)];
    let diff_ids: Vec<_> = layers.iter().map(ocireg_v1::sha256).collect();
    let config =
        ConfigFile::new("linux", "amd64").with_rootfs(RootFs::layers(Some(diff_ids.clone())));
    let config = Bytes::from(ocireg_v1::to_go_json(&config).expect("json"));
    let config_name = if docker25 {
        format!("blobs/sha256/{}", ocireg_v1::sha256(&config).hex())
    } else {
        format!("{}.json", ocireg_v1::sha256(&config).hex())
    };
    let mut b = tar::Builder::new(Vec::new());
    let mut add = |name: &str, data: &[u8]| {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, name, data).expect("append");
    };
    add(&config_name, &config);
    let mut names = Vec::new();
    for (i, l) in layers.iter().enumerate() {
        let legacy = format!("layer{i}/layer.tar");
        if docker25 {
            add(&format!("blobs/sha256/{}", diff_ids[i].hex()), l);
        } else {
            add(&legacy, l);
            add(&format!("layer{i}/VERSION"), b"1.0");
        }
        names.push(legacy);
    }
    // Docker 25+ lists every layer in LayerSources as an uncompressed OCI
    // layer, and adds an OCI layout beside manifest.json.
    let sources = if docker25 {
        let entries: Vec<String> = diff_ids
            .iter()
            .zip(&layers)
            .map(|(d, l)| {
                format!(
                    r#""{d}":{{"mediaType":"application/vnd.oci.image.layer.v1.tar","size":{},"digest":"{d}"}}"#,
                    l.len()
                )
            })
            .collect();
        add("oci-layout", br#"{"imageLayoutVersion": "1.0.0"}"#);
        add("index.json", br#"{"schemaVersion":2,"manifests":[]}"#);
        format!(r#","LayerSources":{{{}}}"#, entries.join(","))
    } else {
        String::new()
    };
    let manifest = format!(
        r#"[{{"Config":"{config_name}","RepoTags":["r.example/app:1"],"Layers":["{}","{}"]{sources}}}]"#,
        names[0], names[1]
    );
    add("manifest.json", manifest.as_bytes());
    if docker25 {
        for (i, name) in names.iter().enumerate() {
            let mut h = tar::Header::new_ustar();
            h.set_entry_type(tar::EntryType::Symlink);
            h.set_size(0);
            h.set_mode(0o777);
            b.append_link(
                &mut h,
                name,
                format!("../blobs/sha256/{}", diff_ids[i].hex()),
            )
            .expect("link");
        }
    }
    (b.into_inner().expect("tar"), config, layers)
}

#[test]
fn reads_uncompressed_legacy_and_docker25_tarballs() {
    rt().block_on(async {
        for docker25 in [false, true] {
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join("saved.tar");
            let (tarball, config, layers) = hand_tarball(docker25);
            fs_err::write(&path, tarball).expect("write");
            let img = ocireg_tarball::image_from_path(&path, None)
                .await
                .expect("image");
            assert_eq!(img.raw_config_file().await.expect("c"), config);
            let got = img.layers().await.expect("layers");
            assert_eq!(got.len(), 2);
            for (l, tar) in got.iter().zip(&layers) {
                assert_eq!(l.diff_id().await.expect("diff id"), ocireg_v1::sha256(tar));
                assert_eq!(l.media_type().await.expect("mt"), MediaType::DockerLayer);
                assert_eq!(
                    &bytes(l.uncompressed().await.expect("u")).await[..],
                    &tar[..]
                );
            }
            validate::image(&*img, validate::Options::default())
                .await
                .expect("validates");

            // And written back out, it reads again as the same image.
            let out = dir.path().join("again.tar");
            let refs = [(
                ocireg_name::Reference::parse("r.example/app:1").expect("r"),
                Arc::clone(&img),
            )];
            ocireg_tarball::write_to_file(&out, &refs)
                .await
                .expect("write");
            let again = ocireg_tarball::image_from_path(&out, None)
                .await
                .expect("again");
            assert_eq!(
                again.digest().await.expect("d"),
                img.digest().await.expect("d")
            );
        }
    });
}

#[test]
fn a_plain_tar_can_be_served_zstd_compressed() {
    rt().block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let tar = a_tar(3);
        let path = dir.path().join("l.tar");
        fs_err::write(&path, &tar).expect("write");
        let layer = layer_from_file(&path, LayerOptions::new().compression(Compression::Zstd))
            .await
            .expect("layer");
        assert_eq!(
            layer.media_type().await.expect("mt"),
            MediaType::OciLayerZstd
        );
        let zst = bytes(layer.compressed().await.expect("c")).await;
        assert_eq!(&zst[..4], &ocireg_v1::ZSTD_MAGIC);
        assert_eq!(layer.digest().await.expect("d"), ocireg_v1::sha256(&zst));
        assert_eq!(zstd::decode_all(&zst[..]).expect("zstd"), tar);
        validate::layer(&layer, validate::Options::default())
            .await
            .expect("validates");
    });
}
