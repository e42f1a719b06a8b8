//! The document's Quick Start, List Tags with pagination and Discover Repository Structure:
//! `cargo run -p ocireg-client --example quick_start -- HOST:PORT [REPO] [TAG]`.
#![allow(
    clippy::print_stdout,
    reason = "an example program prints what it found"
)]

mod common;

use ocireg_client::examples;

#[tokio::main]
async fn main() -> common::Outcome {
    let base = common::client()?;
    let module = base.with_segment(common::arg(1, "deckhouse/modules/my-module"));
    let tag = common::arg(2, "v1.0.0");
    if !module.image_exists(&tag).await? {
        examples::seed_random_image(&module, &tag, 2, 1).await?;
    }
    let found = examples::quick_start(&module, &tag).await?;
    println!("Available tags: {:?}", found.tags);
    println!("Image labels: {:?}", found.labels);
    for (i, page) in examples::tag_pages(&module, 50).await?.iter().enumerate() {
        println!("Page {i}: {page:?}");
    }
    for (org, projects) in examples::discover(&base, 50, 20).await? {
        println!("Organization: {org}");
        for project in projects {
            println!("  Project: {project}");
        }
    }
    Ok(())
}
