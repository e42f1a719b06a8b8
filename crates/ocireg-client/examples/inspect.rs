//! The document's Get Image Manifest, Inspect Image Metadata, Working with Image Layers and
//! Extract Image Content:
//! `cargo run -p ocireg-client --example inspect -- HOST:PORT REPO TAG [OUT.tar]`.
#![allow(
    clippy::print_stdout,
    reason = "an example program prints what it found"
)]

mod common;

use ocireg_client::examples::{self, ManifestSummary};

#[tokio::main]
async fn main() -> common::Outcome {
    let client = common::client()?.with_segment(common::arg(1, "org/project"));
    let tag = common::arg(2, "v1.0.0");
    match examples::manifest_summary(&client, &tag).await? {
        ManifestSummary::Index {
            media_type,
            schema_version,
            manifests,
        } => {
            println!("Media Type: {media_type}\nSchema Version: {schema_version}");
            for (platform, digest, size) in manifests {
                println!(
                    "Platform: {}\n  Digest: {digest}\n  Size: {size} bytes",
                    platform.unwrap_or_default()
                );
            }
        }
        ManifestSummary::Image {
            media_type,
            schema_version,
            config,
            layers,
            annotations,
        } => {
            println!(
                "Media Type: {media_type}\nSchema Version: {schema_version}\nConfig Digest: {config}"
            );
            for (i, (digest, size)) in layers.iter().enumerate() {
                println!("Layer {i}: {digest} ({size} bytes)");
            }
            for (k, v) in annotations {
                println!("Annotation {k}: {v}");
            }
        }
    }
    print!("{}", examples::inspect_image(&client, &tag).await?);
    for (i, (digest, size)) in examples::image_layers(&client, &tag)
        .await?
        .iter()
        .enumerate()
    {
        println!("Layer {i}: {digest} ({size} bytes)");
    }
    let out = common::arg(3, "");
    if !out.is_empty() {
        let n = examples::extract_to_file(&client, &tag, out.as_ref()).await?;
        println!("Extracted {n} bytes of flattened filesystem to {out}");
    }
    Ok(())
}
