//! Interop with ggcr's own crane (found through `OCIREG_GGCR_CRANE`).

use std::path::Path;
use std::sync::Arc;

use ocireg_name::Reference;
use ocireg_v1::{Image, Layer as _, validate};

use super::support::{ggcr_crane, rt, testdata};

fn run(crane: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new(crane)
        .args(args)
        .output()
        .expect("ggcr's crane runs");
    assert!(
        out.status.success(),
        "crane {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn ggcr_reads_ours_and_we_rewrite_ggcrs_byte_for_byte() {
    let Some(crane) = ggcr_crane() else {
        return;
    };
    rt().block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let ours = dir.path().join("ours.tar");
        let img = ocireg_v1::random::image(3000, 2, 5).expect("random");
        let refs = [(
            Reference::parse("example.com/app:v1").expect("r"),
            Arc::clone(&img),
        )];
        ocireg_tarball::write_to_file(&ours, &refs)
            .await
            .expect("write");
        let digest = run(
            &crane,
            &["digest", "--tarball", &ours.display().to_string()],
        );
        assert_eq!(digest.trim(), img.digest().await.expect("d").to_string());

        // ggcr writes a tarball (gzipping the layer itself); we read it and
        // write the same image back: the same bytes.
        let theirs = dir.path().join("theirs.tar");
        let tag = "index.docker.io/library/x:1";
        run(
            &crane,
            &[
                "append",
                "-f",
                &testdata("layer.tar").display().to_string(),
                "-t",
                tag,
                "-o",
                &theirs.display().to_string(),
            ],
        );
        let back = ocireg_tarball::image_from_path(&theirs, None)
            .await
            .expect("read ggcr's tarball");
        validate::image(&*back, validate::Options::default())
            .await
            .expect("validates");
        let layer_tar = fs_err::read(testdata("layer.tar")).expect("layer.tar");
        let layers = back.layers().await.expect("layers");
        assert_eq!(
            layers[0].diff_id().await.expect("diff id"),
            ocireg_v1::sha256(&layer_tar)
        );
        let mut again = Vec::new();
        ocireg_tarball::write(&[(Reference::parse(tag).expect("r"), back)], &mut again)
            .await
            .expect("write");
        assert!(
            again == fs_err::read(&theirs).expect("theirs"),
            "our tarball of ggcr's image is ggcr's tarball"
        );
    });
}

/// ggcr's `crane registry serve` on a free port; killed on drop.
struct Registry {
    child: std::process::Child,
    host: String,
}

impl Registry {
    fn start(crane: &Path) -> Self {
        use std::io::BufRead as _;
        let mut child = std::process::Command::new(crane)
            .args(["registry", "serve", "--address", "127.0.0.1:0"])
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("crane registry serve");
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = std::io::BufReader::new(stderr).lines();
        let port = loop {
            let line = lines
                .next()
                .expect("crane registry serve says its port")
                .expect("line");
            if let Some(port) = line.split("serving on port ").nth(1) {
                break port.trim().to_owned();
            }
        };
        // Keep reading its log, or its writes to a closed pipe stop it.
        std::thread::spawn(move || lines.for_each(drop));
        Self {
            child,
            host: format!("127.0.0.1:{port}"),
        }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn ggcr_pulls_the_same_tarballs_we_write_for_a_multi_layer_image() {
    let Some(crane) = ggcr_crane() else {
        return;
    };
    let registry = Registry::start(&crane);
    rt().block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let img = ocireg_v1::random::image(5000, 3, 8).expect("random");
        let ours = dir.path().join("ours.tar");
        let reference = format!("{}/golden/multi:v1", registry.host);
        let refs = [(Reference::parse(&reference).expect("r"), Arc::clone(&img))];
        ocireg_tarball::write_to_file(&ours, &refs)
            .await
            .expect("write");
        let ours_s = ours.display().to_string();
        run(&crane, &["push", "--insecure", &ours_s, &reference]);
        for format in ["tarball", "legacy"] {
            let theirs = dir.path().join(format!("{format}.tar"));
            run(
                &crane,
                &[
                    "pull",
                    "--insecure",
                    "--format",
                    format,
                    &reference,
                    &theirs.display().to_string(),
                ],
            );
            let mut mine = Vec::new();
            if format == "legacy" {
                ocireg_tarball::legacy::write(&refs, &mut mine)
                    .await
                    .expect("legacy");
            } else {
                ocireg_tarball::write(&refs, &mut mine)
                    .await
                    .expect("tarball");
            }
            assert!(
                mine == fs_err::read(&theirs).expect("theirs"),
                "{format}: our bytes differ from ggcr's"
            );
        }
    });
}
