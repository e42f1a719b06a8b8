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
        let layer_tar = std::fs::read(testdata("layer.tar")).expect("layer.tar");
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
            again == std::fs::read(&theirs).expect("theirs"),
            "our tarball of ggcr's image is ggcr's tarball"
        );
    });
}
