//! The document's Concurrent Operations (`processTags`): every tag's digest, four at a time:
//! `cargo run -p ocireg-client --example process_tags -- HOST:PORT REPO`.
#![allow(
    clippy::print_stdout,
    reason = "an example program prints what it found"
)]

mod common;

use ocireg_client::{ListOptions, examples};

#[tokio::main]
async fn main() -> common::Outcome {
    let client = common::client()?.with_segment(common::arg(1, "org/project"));
    let tags = client.list_tags(ListOptions::new()).await?;
    for (tag, digest) in examples::process_tags(&client, &tags, 4).await {
        match digest {
            Ok(d) => println!("Tag {tag}: {d}"),
            Err(e) => println!("Failed to get digest for {tag}: {e}"),
        }
    }
    Ok(())
}
