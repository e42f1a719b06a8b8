//! The document's Error Handling: a typed image-not-found, transport statuses, and a
//! fallback across tags:
//! `cargo run -p ocireg-client --example error_handling -- HOST:PORT REPO`.
#![allow(
    clippy::print_stdout,
    reason = "an example program prints what it found"
)]

mod common;

use ocireg_client::examples::{self, FailureKind};

#[tokio::main]
async fn main() -> common::Outcome {
    let client = common::client()?.with_segment(common::arg(1, "org/project"));
    match client.check_image_exists("v1.0.0").await {
        Ok(()) => println!("Image exists"),
        Err(e) if e.is_image_not_found() => println!("Image not found"),
        Err(e) => return Err(e.into()),
    }
    match examples::pull_first_available(&client, &["latest", "stable", "v1.0.0"]).await {
        Ok(Some((tag, _img))) => println!("Successfully pulled: {tag}"),
        Ok(None) => println!("None of the tags exists"),
        Err(e) => {
            let what = match examples::classify(&e) {
                FailureKind::Unauthorized => "Authentication failed",
                FailureKind::Forbidden => "Access forbidden",
                FailureKind::NotFound => "Image not found",
                FailureKind::ServerError => "Registry server error",
                _ => "Other error",
            };
            println!("{what}: {e}");
        }
    }
    println!(
        "Using {}",
        examples::check_or_default(&client, "v1.0.0", "default").await?
    );
    Ok(())
}
