//! A tour of ocireg-crane, end to end against the embedded registry: serve it, put an
//! image in it, then do what `crane` does with one call each: read the manifest, the
//! digest and the config, copy the image, tag it, list tags and repositories, attach a
//! file to it and list its referrers, and delete a tag.
//!
//! ```sh
//! cargo run -p ocireg-crane --example tour
//! ```

use ocireg_crane::Options;

type Result<T, E = Box<dyn std::error::Error>> = std::result::Result<T, E>;

fn main() -> Result<()> {
    // Synchronous code drives an operation (here, the whole tour) with `run`.
    ocireg_crane::run(tour())?
}

#[expect(clippy::print_stdout, reason = "an example shows what it does")]
async fn tour() -> Result<()> {
    let opts = Options::new();

    // 1. `crane registry serve`: the embedded registry, in memory, on a free port.
    let registry = ocireg_crane::registry_serve(Some("127.0.0.1:0"), None, &opts).await?;
    let host = registry.host();
    println!("serving a registry at {}", registry.url());

    // Put an image in it: two random layers, pushed with the remote layer (crane's own
    // way of making images on disk, `push`, is still to come).
    let image = ocireg_v1::random::image(4096, 2, 42)?;
    let remote = ocireg_remote::Options::builder().build()?;
    let app = format!("{host}/team/app:v1");
    ocireg_remote::write_image(&app.parse()?, image, &remote).await?;

    // 2. `crane manifest`, `crane digest`, `crane config`.
    let manifest = ocireg_crane::manifest(&app, &opts).await?;
    let digest = ocireg_crane::digest(&app, false, &opts).await?;
    let config = ocireg_crane::config(&app, &opts).await?;
    println!(
        "{app}: a {} byte manifest, digest {digest}, a {} byte config",
        manifest.len(),
        config.len()
    );

    // 3. `crane copy`: same digest at the destination.
    let mirror = format!("{host}/mirror/app:v1");
    let copied = ocireg_crane::copy(&app, &mirror, &opts).await?;
    assert_eq!(copied.to_string(), digest);
    println!("copied {app} to {mirror} ({copied})");

    // 4. `crane tag`, `crane ls`, `crane catalog`.
    ocireg_crane::tag(&mirror, "latest", &opts).await?;
    let tags = ocireg_crane::list_tags(&format!("{host}/mirror/app"), false, false, &opts).await?;
    let repositories = ocireg_crane::catalog(&host, false, &opts).await?;
    println!("tags of mirror/app: {tags:?}; repositories: {repositories:?}");

    // 5. `crane attach` and `crane refs`: an SBOM that refers to the image.
    let dir = tempfile::tempdir()?;
    let sbom = dir.path().join("sbom.spdx.json");
    fs_err::write(&sbom, r#"{"spdxVersion":"SPDX-2.3","name":"app"}"#)?;
    let sbom_type = "application/spdx+json";
    let artifact = ocireg_crane::attach(&sbom, sbom_type, sbom_type, &app, &opts).await?;
    let referrers = ocireg_crane::referrers(&app, None, &opts).await?;
    println!("attached {artifact}; referrers of {app}:");
    print!("{}", String::from_utf8(referrers)?);

    // 6. `crane delete`: the registry removes the manifest the tag names.
    let pinned = ocireg_crane::digest(&mirror, true, &opts).await?;
    ocireg_crane::delete(&pinned, &opts).await?;
    match ocireg_crane::manifest(&pinned, &opts).await {
        Err(e) if e.kind() == ocireg_crane::ErrorKind::NotFound => {
            println!("deleted {pinned}");
        }
        other => return Err(format!("{pinned} is still there: {other:?}").into()),
    }

    registry.shutdown().await?;
    Ok(())
}
