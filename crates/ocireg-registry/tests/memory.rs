//! The memory cap: client data held in memory is bounded.

mod common;

use bytes::Bytes;
use common::{Harness, OCI_MANIFEST, image_manifest, pseudo_random};
use ocireg_registry::{Registry, Storage};

const KIB: usize = 1024;

/// Issue 9: the memory store grew without bound. Past the cap, blobs and
/// uploads are refused with 507 `SIZE_INVALID`, a single body larger than
/// the whole cap with 413, and the room comes back when data is deleted.
#[tokio::test]
async fn memory_store_is_capped() {
    let registry = Registry::builder()
        .memory_limit(64 * 1024)
        .build()
        .expect("builds");
    let h = Harness::serve(registry.clone()).await;
    let first = pseudo_random(40 * KIB, 1);
    let first_digest = h.push_blob("mem", &first).await;
    assert_eq!(registry.memory_in_use(), first.len() as u64);

    // Declared too large for the room left: refused before reading.
    let second = pseudo_random(40 * KIB, 2);
    let second_digest = ocireg_v1::sha256(&second);
    let monolithic = format!("/v2/mem/blobs/uploads/?digest={second_digest}");
    let resp = h.send("POST", &monolithic, second.clone()).await;
    assert_eq!(resp.status, 507, "{resp:?}");
    assert_eq!(resp.error_code(), "SIZE_INVALID");
    let message = resp.json()["errors"][0]["message"]
        .as_str()
        .expect("message")
        .to_owned();
    assert!(message.contains("memory limit of 65536 bytes"), "{message}");
    // Not declared: refused once the bytes reach the cap.
    assert_eq!(h.send_chunked("POST", &monolithic, &second).await, 507);
    // Larger than the whole cap.
    let huge = vec![0u8; 65 * KIB];
    let resp = h
        .send(
            "POST",
            &format!("/v2/mem/blobs/uploads/?digest={}", ocireg_v1::sha256(&huge)),
            huge,
        )
        .await;
    assert_eq!(resp.status, 413);
    assert_eq!(resp.error_code(), "SIZE_INVALID");
    assert_eq!(registry.memory_in_use(), first.len() as u64);

    // Uploads in progress count too; a refused chunk leaves the session.
    let start = h.send("POST", "/v2/mem/blobs/uploads/", Bytes::new()).await;
    let location = start.header("Location").expect("Location").to_owned();
    let patch = h
        .send("PATCH", &location, second[..20 * KIB].to_vec())
        .await;
    assert_eq!(patch.status, 202);
    let patch = h
        .send("PATCH", &location, second[20 * KIB..].to_vec())
        .await;
    assert_eq!(patch.status, 507);
    assert_eq!(h.get(&location).await.header("Range"), Some("0-20479"));

    // Deleting the first blob makes room.
    let del = h
        .send(
            "DELETE",
            &format!("/v2/mem/blobs/{first_digest}"),
            Bytes::new(),
        )
        .await;
    assert_eq!(del.status, 202);
    let patch = h
        .send("PATCH", &location, second[20 * KIB..].to_vec())
        .await;
    assert_eq!(patch.status, 202);
    let put = h
        .send(
            "PUT",
            &format!("{location}?digest={second_digest}"),
            Bytes::new(),
        )
        .await;
    put.assert_blob_created("mem", &second_digest);
    assert_eq!(registry.memory_in_use(), second.len() as u64);
    let get = h.get(&format!("/v2/mem/blobs/{second_digest}")).await;
    assert_eq!(&get.body[..], &second[..]);

    // A session dropped with its bytes gives them back.
    let start = h.send("POST", "/v2/mem/blobs/uploads/", Bytes::new()).await;
    let location = start.header("Location").expect("Location").to_owned();
    h.send("PATCH", &location, vec![1u8; 1000]).await;
    assert_eq!(registry.memory_in_use(), second.len() as u64 + 1000);
    h.send("DELETE", &location, Bytes::new()).await;
    h.send(
        "DELETE",
        &format!("/v2/mem/blobs/{second_digest}"),
        Bytes::new(),
    )
    .await;
    assert_eq!(registry.memory_in_use(), 0);
}

/// Manifests are held in memory whatever the storage, so they count too.
#[tokio::test]
async fn manifests_count_against_the_memory_cap() {
    let dir = tempfile::tempdir().expect("tempdir");
    let registry = Registry::builder()
        .storage(Storage::Disk(dir.path().to_owned()))
        .memory_limit(1800)
        .build()
        .expect("builds");
    let h = Harness::serve(registry.clone()).await;
    // Blobs on disk are not charged.
    let config = h.push_blob("man", &pseudo_random(10 * KIB, 3)).await;
    assert_eq!(registry.memory_in_use(), 0);
    let manifest = |n: usize| {
        let extra = format!(r#""annotations":{{"k":"{}"}}"#, "x".repeat(n));
        image_manifest((&config, 10 * KIB), &[], Some(&extra))
    };
    let one = manifest(100);
    let resp = h.put_manifest("man", "one", OCI_MANIFEST, &one).await;
    assert_eq!(resp.status, 201, "{resp:?}");
    assert_eq!(registry.memory_in_use(), one.len() as u64);
    let two = manifest(1300);
    assert!(one.len() + two.len() > 1800 && two.len() < 1800 && 2 * one.len() < 1800);
    let resp = h.put_manifest("man", "two", OCI_MANIFEST, &two).await;
    assert_eq!(resp.status, 507, "{resp:?}");
    assert_eq!(resp.error_code(), "SIZE_INVALID");
    assert_eq!(h.get("/v2/man/manifests/two").await.status, 404);
    // Pushing the same manifest again does not charge it twice.
    let resp = h.put_manifest("man", "again", OCI_MANIFEST, &one).await;
    assert_eq!(resp.status, 201, "{resp:?}");
    assert_eq!(registry.memory_in_use(), one.len() as u64);
    let digest = ocireg_v1::sha256(&one);
    let del = h
        .send(
            "DELETE",
            &format!("/v2/man/manifests/{digest}"),
            Bytes::new(),
        )
        .await;
    assert_eq!(del.status, 202);
    assert_eq!(registry.memory_in_use(), 0);
    let resp = h.put_manifest("man", "two", OCI_MANIFEST, &two).await;
    assert_eq!(resp.status, 201, "{resp:?}");
}
