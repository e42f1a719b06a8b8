//! The document's Synchronize Repository Tags:
//! `cargo run -p ocireg-client --example sync_tags -- HOST:PORT [SOURCE_REPO] [TARGET_REPO]`.
#![allow(clippy::print_stdout, reason = "an example program prints what it did")]

mod common;

use ocireg_client::examples;

#[tokio::main]
async fn main() -> common::Outcome {
    let base = common::client()?;
    let source = base.with_segment(common::arg(1, "org/project"));
    let target = base.with_segment(common::arg(2, "mirror/org/project"));
    let report = examples::sync_tags(&source, &target).await?;
    for tag in &report.mirrored {
        println!("Mirrored: {tag}");
    }
    for tag in &report.present {
        println!("Already there: {tag}");
    }
    for (tag, err) in &report.failed {
        println!("Failed to mirror {tag}: {err}");
    }
    Ok(())
}
