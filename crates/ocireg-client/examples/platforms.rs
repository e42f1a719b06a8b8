//! The document's Platform-Specific Image Retrieval:
//! `cargo run -p ocireg-client --example platforms -- HOST:PORT REPO TAG`.
#![allow(
    clippy::print_stdout,
    reason = "an example program prints what it found"
)]

mod common;

use ocireg_client::examples;
use ocireg_v1::Platform;

#[tokio::main]
async fn main() -> common::Outcome {
    let client = common::client()?.with_segment(common::arg(1, "myapp"));
    let tag = common::arg(2, "latest");
    let platforms = [
        Platform::new("linux", "amd64"),
        Platform::new("linux", "arm64"),
        Platform::new("linux", "arm").with_variant("v7"),
    ];
    if !client.image_exists(&tag).await? {
        examples::seed_multi_platform_index(&client, &tag, &platforms).await?;
    }
    for (platform, got) in examples::platform_images(&client, &tag, &platforms).await {
        match got {
            Ok(info) => println!(
                "Platform: {}/{}, Size: {} layers",
                info.os, info.architecture, info.layers
            ),
            Err(e) => println!("Failed to get {platform}: {e}"),
        }
    }
    Ok(())
}
