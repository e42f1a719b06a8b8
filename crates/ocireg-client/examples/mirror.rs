//! The document's Mirror Images Between Registries:
//! `cargo run -p ocireg-client --example mirror -- HOST:PORT [SOURCE_REPO] [TARGET_REPO] [TAG]`
//! (one registry; the source is seeded with a random image when the tag is missing).
#![allow(clippy::print_stdout, reason = "an example program prints what it did")]

mod common;

use ocireg_client::examples;

#[tokio::main]
async fn main() -> common::Outcome {
    let base = common::client()?;
    let source = base.with_segment(common::arg(1, "org/project"));
    let target = base.with_segments(["mirror".to_owned(), common::arg(2, "org/project")]);
    let tag = common::arg(3, "v1.0.0");
    if !source.image_exists(&tag).await? {
        examples::seed_random_image(&source, &tag, 2, 7).await?;
    }
    let digest = examples::mirror_image(&source, &target, &tag).await?;
    println!(
        "Mirrored {}:{tag} to {}:{tag} ({digest})",
        source.registry(),
        target.registry()
    );
    Ok(())
}
