//! Pull progress adds up to the blob sizes; pulls respect the jobs limit.

use std::sync::Arc;
use std::time::Duration;

use ocireg_remote::{BlobOutcome, Direction, ProgressTracker};
use ocireg_v1::{Image, Layer};

use super::support;

#[tokio::test]
async fn pull_progress_adds_up_to_blob_sizes() {
    let t = support::in_process(false).await;
    let repo = t.repo("progress/img");
    let img = ocireg_v1::random::image(100_000, 3, 21).expect("image");
    support::push_image(&repo, "v1", &*img).await;
    let tracker = Arc::new(ProgressTracker::new());
    let opts = support::builder()
        .progress(tracker.clone())
        .build()
        .expect("options");
    let pulled = ocireg_remote::image(&t.reference("progress/img:v1"), &opts)
        .await
        .expect("image");
    pulled.raw_config_file().await.expect("config");
    let mut expected = pulled.manifest().await.expect("manifest").config.size;
    for layer in pulled.layers().await.expect("layers") {
        expected += layer.size().await.expect("size");
        layer
            .compressed()
            .await
            .expect("open")
            .drain()
            .await
            .expect("read");
    }
    let s = tracker.snapshot();
    assert_eq!(s.blobs_total, 4);
    assert_eq!(s.blobs_done, 4);
    assert_eq!(s.bytes_total, expected);
    assert_eq!(s.bytes_done, expected);
    assert_eq!(s.bytes_transferred, expected);
    assert_eq!(s.manifests, 1);
    assert!(s.blobs.iter().all(|b| b.direction == Direction::Pull
        && b.outcome == Some(BlobOutcome::Downloaded)
        && Some(b.done) == b.total));
}

#[tokio::test]
async fn pulls_hold_one_of_jobs_slots_until_the_stream_ends() {
    let t = support::in_process(false).await;
    let repo = t.repo("progress/jobs");
    let img = ocireg_v1::random::image(1000, 2, 22).expect("image");
    support::push_image(&repo, "v1", &*img).await;
    let opts = support::builder().jobs(1).build().expect("options");
    let pulled = ocireg_remote::image(&t.reference("progress/jobs:v1"), &opts)
        .await
        .expect("image");
    let layers = pulled.layers().await.expect("layers");
    let first = layers[0].compressed().await.expect("first download");
    // The only slot is taken: the second download waits.
    let second = tokio::time::timeout(Duration::from_millis(300), layers[1].compressed()).await;
    assert!(second.is_err(), "a second download started while jobs = 1");
    // Reading the first to the end frees the slot.
    first.drain().await.expect("first read");
    let second = tokio::time::timeout(Duration::from_secs(10), layers[1].compressed())
        .await
        .expect("slot freed")
        .expect("second download");
    second.drain().await.expect("second read");
}
