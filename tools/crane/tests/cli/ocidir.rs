//! `ocidir://` with `blob`, `tag`, `delete`, `attach`, `refs` and `copy --all-tags`, against
//! the embedded registry: the same meaning as the registry form, in an OCI image layout.

use std::path::Path;
use std::sync::Arc;

use ocireg_registry::{Registry, RunningRegistry};

use crate::support::{Crane, runtime};

fn remote_options() -> ocireg_remote::Options {
    ocireg_remote::Options::builder()
        .auth(Arc::new(ocireg_authn::Anonymous))
        .build()
        .expect("remote options")
}

/// The embedded registry with random images at `team/app:v1` and `team/app:v2`; returns
/// their digests.
fn seeded(rt: &tokio::runtime::Runtime) -> (RunningRegistry, Vec<String>) {
    rt.block_on(async {
        let server = Registry::builder()
            .build()
            .expect("registry")
            .spawn_on("127.0.0.1:0")
            .await
            .expect("spawn");
        let host = server.host();
        let opts = remote_options();
        let mut digests = Vec::new();
        for (tag, seed) in [("v1", 3), ("v2", 4)] {
            let image = ocireg_v1::random::image(1024, 2, seed).expect("random image");
            let at: ocireg_name::Reference = format!("{host}/team/app:{tag}").parse().expect("ref");
            let d = ocireg_remote::write_image(&at, image, &opts)
                .await
                .expect("seed image");
            digests.push(d.to_string());
        }
        (server, digests)
    })
}

fn s(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

fn lines(text: &str) -> Vec<&str> {
    text.lines().collect()
}

#[test]
#[expect(
    clippy::too_many_lines,
    reason = "one story: each step works on the layout the previous one left"
)]
fn blob_tag_delete_attach_and_refs_work_in_a_layout() {
    let rt = runtime();
    let (server, digests) = seeded(&rt);
    let host = server.host();
    let crane = Crane::new();
    let dir = crane.home().join("oci");
    let at = |suffix: &str| format!("ocidir://{}{suffix}", s(&dir));
    crane
        .run(&["copy", &format!("{host}/team/app:v1"), &at(":v1")])
        .ok();

    // blob: the config, verified, to stdout and to a file; a missing one is "not found".
    let manifest: serde_json::Value =
        serde_json::from_str(crane.run(&["manifest", &at(":v1")]).ok()).expect("json");
    let config_digest = manifest["config"]["digest"].as_str().expect("config");
    let config = crane.run(&["config", &at(":v1")]).ok().to_owned();
    let blob = crane
        .run(&["blob", &at(&format!("@{config_digest}"))])
        .ok()
        .to_owned();
    assert_eq!(blob, config);
    let out = crane.home().join("config.json");
    crane
        .run(&["blob", "-o", s(&out), &at(&format!("@{config_digest}"))])
        .ok();
    assert_eq!(fs_err::read_to_string(&out).expect("read"), config);
    let missing = format!("@sha256:{}", "0".repeat(64));
    crane.run(&["blob", &at(&missing)]).failed_with(3);
    crane.run(&["blob", &at(":v1")]).failed_with(2);
    // A blob whose bytes changed on disk is refused.
    let layer = manifest["layers"][0]["digest"].as_str().expect("layer");
    let layer_path = dir.join("blobs/sha256").join(&layer["sha256:".len()..]);
    let good = fs_err::read(&layer_path).expect("layer file");
    let mut bad = good.clone();
    bad[0] ^= 0xff;
    fs_err::write(&layer_path, &bad).expect("sabotage");
    let run = crane.run(&["blob", "-o", s(&out), &at(&format!("@{layer}"))]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("digest"), "{run:?}");
    assert_eq!(fs_err::read_to_string(&out).expect("read"), config);
    fs_err::write(&layer_path, &good).expect("restore");

    // tag: another ref.name entry for the same manifest; moving a tag replaces its entry.
    crane.run(&["tag", &at(":v1"), "stable"]).ok();
    crane.run(&["tag", &at(":v1"), "stable"]).ok();
    assert_eq!(lines(crane.run(&["ls", &at("")]).ok()), ["v1", "stable"]);
    let d = crane.run(&["digest", &at(":stable")]).ok().to_owned();
    assert_eq!(d.trim(), digests[0]);
    crane.run(&["tag", &at(":nope"), "x"]).failed_with(3);
    crane.run(&["tag", &at(":v1"), "bad tag"]).failed_with(2);
    crane
        .run(&["tag", &at(&format!("@{}", digests[0])), "pinned"])
        .ok();
    assert_eq!(
        lines(crane.run(&["ls", &at("")]).ok()),
        ["v1", "stable", "pinned"]
    );

    // attach + refs: the artifact is listed untagged and found as a referrer.
    let sbom = crane.home().join("sbom.json");
    fs_err::write(&sbom, br#"{"spdxVersion":"SPDX-2.3"}"#).expect("write");
    let sbom_type = "application/spdx+json";
    let written = crane
        .run(&["attach", s(&sbom), sbom_type, sbom_type, &at(":stable")])
        .ok()
        .trim()
        .to_owned();
    let artifact = written
        .strip_prefix(&at("@"))
        .unwrap_or_else(|| panic!("{written}"))
        .to_owned();
    let refs: serde_json::Value =
        serde_json::from_str(crane.run(&["refs", &at(":v1")]).ok()).expect("json");
    assert_eq!(
        refs["mediaType"], "application/vnd.oci.image.index.v1+json",
        "{refs}"
    );
    let found = refs["manifests"].as_array().expect("manifests");
    assert_eq!(found.len(), 1, "{refs}");
    assert_eq!(found[0]["digest"], artifact.as_str());
    assert_eq!(found[0]["artifactType"], sbom_type);
    let filtered: serde_json::Value = serde_json::from_str(
        crane
            .run(&["refs", "--artifact-type", "text/other", &at(":v1")])
            .ok(),
    )
    .expect("json");
    assert!(
        filtered["manifests"].as_array().is_none_or(Vec::is_empty),
        "{filtered}"
    );
    let artifact_blob = crane
        .run(&["blob", &at(&format!("@{artifact}"))])
        .ok()
        .to_owned();
    assert!(artifact_blob.contains(&digests[0]), "{artifact_blob}");
    assert_eq!(lines(crane.run(&["ls", &at("")]).ok()).len(), 3);

    // delete: the entry goes, the blobs stay until `layout gc`.
    crane.run(&["delete", &at(":v1")]).ok();
    crane.run(&["delete", &at(":v1")]).failed_with(3);
    assert_eq!(
        lines(crane.run(&["ls", &at("")]).ok()),
        ["stable", "pinned"]
    );
    crane
        .run(&["delete", &at(&format!("@{}", digests[0]))])
        .ok();
    assert!(crane.run(&["ls", &at("")]).ok().is_empty());
    crane.run(&["blob", &at(&format!("@{config_digest}"))]).ok();
    // The artifact (untagged, still listed) keeps its subject's blobs alive.
    let run = crane.run(&["layout", "gc", s(&dir)]);
    run.ok();
    assert!(!run.stderr.contains("garbage collecting"), "{run:?}");
    crane.run(&["delete", &at(&format!("@{artifact}"))]).ok();
    let run = crane.run(&["layout", "gc", s(&dir)]);
    run.ok();
    assert!(
        run.stderr
            .contains(&format!("garbage collecting: {config_digest}")),
        "{run:?}"
    );
    crane
        .run(&["blob", &at(&format!("@{config_digest}"))])
        .failed_with(3);
    rt.block_on(server.shutdown()).expect("shutdown");
}

#[test]
fn copy_all_tags_to_and_from_a_layout() {
    let rt = runtime();
    let (server, digests) = seeded(&rt);
    let host = server.host();
    let crane = Crane::new();
    let dir = crane.home().join("all");
    let layout = format!("ocidir://{}", s(&dir));
    let run = crane.run(&["copy", "--all-tags", &format!("{host}/team/app"), &layout]);
    run.ok();
    assert!(run.stderr.contains("copied 2 tags"), "{run:?}");
    let mut tags = lines(crane.run(&["ls", &layout]).ok())
        .into_iter()
        .map(str::to_owned)
        .collect::<Vec<_>>();
    tags.sort();
    assert_eq!(tags, ["v1", "v2"]);
    for (tag, digest) in ["v1", "v2"].iter().zip(&digests) {
        let d = crane
            .run(&["digest", &format!("{layout}:{tag}")])
            .ok()
            .to_owned();
        assert_eq!(d.trim(), digest.as_str());
    }
    // Nothing new to copy: --no-clobber skips both.
    let run = crane.run(&["copy", "-a", "-n", &format!("{host}/team/app"), &layout]);
    run.ok();
    assert!(run.stderr.contains("copied 0 tags"), "{run:?}");
    // Again without it: the tags are replaced, not listed twice.
    crane
        .run(&["copy", "-a", &format!("{host}/team/app"), &layout])
        .ok();
    assert_eq!(lines(crane.run(&["ls", &layout]).ok()).len(), 2);

    // Layout → registry, and layout → layout.
    let back = format!("{host}/back/app");
    crane.run(&["copy", "-a", &layout, &back]).ok();
    let other = format!("ocidir://{}", s(&crane.home().join("other")));
    crane.run(&["copy", "-a", &layout, &other]).ok();
    for (tag, digest) in ["v1", "v2"].iter().zip(&digests) {
        for at in [format!("{back}:{tag}"), format!("{other}:{tag}")] {
            let d = crane.run(&["digest", &at]).ok().to_owned();
            assert_eq!(d.trim(), digest.as_str(), "{at}");
        }
    }
    // A layout named with a tag is a usage error with --all-tags.
    crane
        .run(&["copy", "-a", &format!("{layout}:v1"), &back])
        .failed_with(2);
    // --no-clobber on a single copy into a layout refuses an existing tag.
    let run = crane.run(&[
        "copy",
        "-n",
        &format!("{host}/team/app:v2"),
        &format!("{layout}:v1"),
    ]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("refusing to clobber"), "{run:?}");
    rt.block_on(server.shutdown()).expect("shutdown");
}

/// regclient's documented reference forms (seed 000): `ocidir://name:tag` is `./name`
/// relative to the working directory, `ocidir:///abs/name:tag` (three slashes) an absolute
/// path, and one directory holds several tags like a repository.
#[test]
fn regclient_documented_forms_name_the_directories_it_says() {
    let rt = runtime();
    let (server, digests) = seeded(&rt);
    let host = server.host();
    let crane = Crane::new();
    let cwd = crane.home().join("work");
    fs_err::create_dir_all(&cwd).expect("cwd");
    let in_cwd = |args: &[&str]| {
        let out = crane
            .command(args)
            .current_dir(&cwd)
            .output()
            .expect("run crane");
        assert!(out.status.success(), "{args:?}: {out:?}");
        String::from_utf8(out.stdout).expect("utf-8")
    };
    // `ocidir://name:tag`: ./name, two tags in one directory.
    in_cwd(&["copy", &format!("{host}/team/app:v1"), "ocidir://name:v1"]);
    in_cwd(&["copy", &format!("{host}/team/app:v2"), "ocidir://name:v2"]);
    assert!(cwd.join("name/index.json").is_file());
    assert!(cwd.join("name/oci-layout").is_file());
    assert!(!crane.home().join("name").exists());
    assert_eq!(lines(&in_cwd(&["ls", "ocidir://name"])), ["v1", "v2"]);
    for (tag, digest) in ["v1", "v2"].iter().zip(&digests) {
        let d = in_cwd(&["digest", &format!("ocidir://name:{tag}")]);
        assert_eq!(d.trim(), digest.as_str(), "{tag}");
    }
    // `ocidir:///abs/name:tag`: the third slash makes the path absolute.
    let abs = crane.home().join("abs-name");
    let abs_ref = format!("ocidir://{}:v2", s(&abs));
    assert!(abs_ref.starts_with("ocidir:///"), "{abs_ref}");
    in_cwd(&["copy", "ocidir://name:v2", &abs_ref]);
    assert!(abs.join("index.json").is_file());
    assert_eq!(in_cwd(&["digest", &abs_ref]).trim(), digests[1]);
    // And back to a registry, as the same repository would be.
    in_cwd(&["copy", &abs_ref, &format!("{host}/back/app:v2")]);
    let back = crane
        .run(&["digest", &format!("{host}/back/app:v2")])
        .ok()
        .to_owned();
    assert_eq!(back.trim(), digests[1]);
    rt.block_on(server.shutdown()).expect("shutdown");
}
