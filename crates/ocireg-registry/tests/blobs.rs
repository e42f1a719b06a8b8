//! Blob endpoints and uploads over loopback HTTP.

mod common;

use bytes::Bytes;
use common::{Harness, pseudo_random};
use ocireg_registry::{Registry, Storage};
use ocireg_v1::{Algorithm, Digest};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

#[tokio::test]
async fn base_endpoint() {
    let h = Harness::start().await;
    for path in ["/v2/", "/v2"] {
        let resp = h.get(path).await;
        assert_eq!(resp.status, 200);
        assert_eq!(
            resp.header("Docker-Distribution-API-Version"),
            Some("registry/2.0")
        );
    }
    let resp = h.get("/v3/").await;
    assert_eq!(resp.status, 404);
}

#[tokio::test]
async fn monolithic_upload_then_head_get_delete() {
    let h = Harness::start().await;
    let data = pseudo_random(5000, 1);
    let digest = ocireg_v1::sha256(&data);
    let path = format!("/v2/a/b/c/blobs/{digest}");

    assert_eq!(h.get(&path).await.status, 404);
    let missing = h.send("HEAD", &path, Bytes::new()).await;
    assert_eq!(missing.status, 404);

    let resp = h
        .send(
            "POST",
            &format!("/v2/a/b/c/blobs/uploads/?digest={digest}"),
            data.clone(),
        )
        .await;
    resp.assert_blob_created("a/b/c", &digest);

    let head = h.send("HEAD", &path, Bytes::new()).await;
    assert_eq!(head.status, 200);
    assert_eq!(head.header("Content-Length"), Some("5000"));
    assert_eq!(
        head.header("Docker-Content-Digest"),
        Some(digest.to_string().as_str())
    );
    assert!(head.body.is_empty());

    let get = h.get(&path).await;
    assert_eq!(get.status, 200);
    assert_eq!(&get.body[..], &data[..]);
    assert_eq!(get.header("Content-Length"), Some("5000"));

    let del = h.send("DELETE", &path, Bytes::new()).await;
    assert_eq!(del.status, 202);
    let gone = h.get(&path).await;
    assert_eq!(gone.status, 404);
    assert_eq!(gone.error_code(), "BLOB_UNKNOWN");
    let again = h.send("DELETE", &path, Bytes::new()).await;
    assert_eq!(again.status, 404);
}

#[tokio::test]
async fn blobs_are_linked_per_repository() {
    let h = Harness::start().await;
    let digest = h.push_blob("one", b"shared bytes").await;
    assert_eq!(h.get(&format!("/v2/one/blobs/{digest}")).await.status, 200);
    assert_eq!(h.get(&format!("/v2/two/blobs/{digest}")).await.status, 404);
    // Uploading the same bytes to a second repository and deleting them in
    // the first leaves the second intact.
    h.push_blob("two", b"shared bytes").await;
    let del = h
        .send("DELETE", &format!("/v2/one/blobs/{digest}"), Bytes::new())
        .await;
    assert_eq!(del.status, 202);
    assert_eq!(h.get(&format!("/v2/one/blobs/{digest}")).await.status, 404);
    let resp = h.get(&format!("/v2/two/blobs/{digest}")).await;
    assert_eq!(resp.status, 200);
    assert_eq!(&resp.body[..], b"shared bytes");
}

#[tokio::test]
async fn range_requests() {
    let h = Harness::start().await;
    let data = pseudo_random(2048, 2);
    let digest = h.push_blob("r", &data).await;
    let path = format!("/v2/r/blobs/{digest}");
    let ok: &[(&str, usize, usize)] = &[
        ("bytes=500-1499", 500, 1499),
        ("bytes=500-", 500, 2047),
        ("bytes=-500", 1548, 2047),
        ("bytes=2000-5000", 2000, 2047),
        ("bytes=0-0", 0, 0),
    ];
    for (range, start, end) in ok {
        let resp = h.req("GET", &path, &[("Range", range)], Bytes::new()).await;
        assert_eq!(resp.status, 206, "{range}");
        assert_eq!(&resp.body[..], &data[*start..=*end], "{range}");
        assert_eq!(
            resp.header("Content-Range"),
            Some(format!("bytes {start}-{end}/2048").as_str()),
            "{range}"
        );
        assert_eq!(
            resp.header("Content-Length"),
            Some((end - start + 1).to_string().as_str())
        );
    }
    for range in ["bytes=500-0", "bytes=5000-10000", "bytes=2048-", "bytes=-0"] {
        let resp = h.req("GET", &path, &[("Range", range)], Bytes::new()).await;
        assert_eq!(resp.status, 416, "{range}");
        assert_eq!(
            resp.header("Content-Range"),
            Some("bytes */2048"),
            "{range}"
        );
    }
    // A multi-range request is answered with the whole blob.
    let resp = h
        .req("GET", &path, &[("Range", "bytes=0-1,5-6")], Bytes::new())
        .await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.body.len(), 2048);
}

#[tokio::test]
async fn streamed_upload() {
    let h = Harness::start().await;
    let data = pseudo_random(100_000, 3);
    let digest = ocireg_v1::sha256(&data);
    let start = h.send("POST", "/v2/s/blobs/uploads/", Bytes::new()).await;
    assert_eq!(start.status, 202);
    assert_eq!(start.header("Range"), Some("0-0"));
    let location = start.header("Location").expect("Location").to_owned();
    let uuid = start.header("Docker-Upload-UUID").expect("uuid");
    assert_eq!(location, format!("/v2/s/blobs/uploads/{uuid}"));

    let patch = h.send("PATCH", &location, data.clone()).await;
    assert_eq!(patch.status, 202, "{patch:?}");
    assert_eq!(patch.header("Range"), Some("0-99999"));
    assert_eq!(patch.header("Location"), Some(location.as_str()));

    let put = h
        .send("PUT", &format!("{location}?digest={digest}"), Bytes::new())
        .await;
    put.assert_blob_created("s", &digest);
    assert_eq!(
        &h.get(&format!("/v2/s/blobs/{digest}")).await.body[..],
        &data[..]
    );
    // The session is gone.
    assert_eq!(h.get(&location).await.status, 404);
}

#[tokio::test]
async fn post_then_put_with_the_whole_body() {
    let h = Harness::start().await;
    let data = b"post then put".to_vec();
    let digest = ocireg_v1::sha256(&data);
    let start = h.send("POST", "/v2/pp/blobs/uploads/", Bytes::new()).await;
    let location = start.header("Location").expect("Location").to_owned();
    let put = h
        .send("PUT", &format!("{location}?digest={digest}"), data)
        .await;
    assert_eq!(put.status, 201, "{put:?}");
    assert_eq!(h.get(&format!("/v2/pp/blobs/{digest}")).await.status, 200);
}

#[tokio::test]
async fn chunked_upload_with_out_of_order_chunks() {
    let h = Harness::start().await;
    let data = pseudo_random(30, 4);
    let digest = ocireg_v1::sha256(&data);
    let start = h.send("POST", "/v2/c/blobs/uploads/", Bytes::new()).await;
    let location = start.header("Location").expect("Location").to_owned();

    // A chunk that does not start at 0.
    let bad = h
        .req(
            "PATCH",
            &location,
            &[("Content-Range", "10-19")],
            data[10..20].to_vec(),
        )
        .await;
    assert_eq!(bad.status, 416, "{bad:?}");
    assert_eq!(bad.error_code(), "BLOB_UPLOAD_INVALID");
    assert_eq!(bad.header("Range"), Some("0-0"));

    let first = h
        .req(
            "PATCH",
            &location,
            &[("Content-Range", "0-9")],
            data[..10].to_vec(),
        )
        .await;
    assert_eq!(first.status, 202, "{first:?}");
    assert_eq!(first.header("Range"), Some("0-9"));

    // Re-sending the previous chunk.
    let again = h
        .req(
            "PATCH",
            &location,
            &[("Content-Range", "0-9")],
            data[..10].to_vec(),
        )
        .await;
    assert_eq!(again.status, 416);

    let status = h.get(&location).await;
    assert_eq!(status.status, 204);
    assert_eq!(status.header("Range"), Some("0-9"));
    assert_eq!(status.header("Location"), Some(location.as_str()));

    let second = h
        .req(
            "PATCH",
            &location,
            &[("Content-Range", "10-19")],
            data[10..20].to_vec(),
        )
        .await;
    assert_eq!(second.status, 202);
    assert_eq!(second.header("Range"), Some("0-19"));

    // A chunk whose body disagrees with its Content-Range is refused
    // before a byte is written: the upload stays as it was.
    let short = h
        .req(
            "PATCH",
            &location,
            &[("Content-Range", "20-29")],
            data[20..25].to_vec(),
        )
        .await;
    assert_eq!(short.status, 400);
    assert_eq!(short.error_code(), "BLOB_UPLOAD_INVALID");
    let status = h.get(&location).await;
    assert_eq!(status.header("Range"), Some("0-19"));
    // The rest follows on the PUT, out of order first.
    let bad_final = h
        .req(
            "PUT",
            &format!("{location}?digest={digest}"),
            &[("Content-Range", "25-29")],
            data[25..].to_vec(),
        )
        .await;
    assert_eq!(bad_final.status, 416);
    let put = h
        .req(
            "PUT",
            &format!("{location}?digest={digest}"),
            &[("Content-Range", "20-29")],
            data[20..].to_vec(),
        )
        .await;
    assert_eq!(put.status, 201, "{put:?}");
    assert_eq!(
        &h.get(&format!("/v2/c/blobs/{digest}")).await.body[..],
        &data[..]
    );
}

#[tokio::test]
async fn digest_mismatches_are_rejected() {
    let h = Harness::start().await;
    let wrong = ocireg_v1::sha256(b"something else");

    let mono = h
        .send(
            "POST",
            &format!("/v2/d/blobs/uploads/?digest={wrong}"),
            &b"data"[..],
        )
        .await;
    assert_eq!(mono.status, 400);
    assert_eq!(mono.error_code(), "DIGEST_INVALID");
    assert_eq!(h.get(&format!("/v2/d/blobs/{wrong}")).await.status, 404);

    let start = h.send("POST", "/v2/d/blobs/uploads/", Bytes::new()).await;
    let location = start.header("Location").expect("Location").to_owned();
    let patch = h
        .req(
            "PATCH",
            &location,
            &[("Content-Range", "0-3")],
            &b"data"[..],
        )
        .await;
    assert_eq!(patch.status, 202);
    let put = h
        .send("PUT", &format!("{location}?digest={wrong}"), Bytes::new())
        .await;
    assert_eq!(put.status, 400);
    assert_eq!(put.error_code(), "DIGEST_INVALID");
    // A failed verification ends the session.
    assert_eq!(h.get(&location).await.status, 404);

    // Malformed and missing digests.
    let start = h.send("POST", "/v2/d/blobs/uploads/", Bytes::new()).await;
    let location = start.header("Location").expect("Location").to_owned();
    for query in ["?digest=sha256:abc", "?digest=md5:0000", ""] {
        let put = h
            .send("PUT", &format!("{location}{query}"), Bytes::new())
            .await;
        assert_eq!(put.status, 400, "{query}");
        assert_eq!(put.error_code(), "DIGEST_INVALID");
    }
    // ... which leave the session usable.
    let digest = ocireg_v1::sha256(b"");
    let put = h
        .send("PUT", &format!("{location}?digest={digest}"), Bytes::new())
        .await;
    assert_eq!(put.status, 201, "the empty blob");
    let bad = h.get("/v2/d/blobs/sha256:totallywrong").await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.error_code(), "DIGEST_INVALID");
}

#[tokio::test]
async fn sha512_blobs() {
    let h = Harness::start().await;
    let data = pseudo_random(3000, 5);
    let digest = ocireg_v1::digest_of(Algorithm::Sha512, &data);
    let resp = h
        .send(
            "POST",
            &format!("/v2/x/blobs/uploads/?digest={digest}"),
            data.clone(),
        )
        .await;
    assert_eq!(resp.status, 201, "{resp:?}");
    let get = h.get(&format!("/v2/x/blobs/{digest}")).await;
    assert_eq!(&get.body[..], &data[..]);
    assert_eq!(
        get.header("Docker-Content-Digest"),
        Some(digest.to_string().as_str())
    );
    // A sha256 digest of the same bytes is a different blob.
    assert_eq!(
        h.get(&format!("/v2/x/blobs/{}", ocireg_v1::sha256(&data)))
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn cancel_upload() {
    let h = Harness::start().await;
    let start = h.send("POST", "/v2/k/blobs/uploads/", Bytes::new()).await;
    let location = start.header("Location").expect("Location").to_owned();
    h.send("PATCH", &location, &b"abc"[..]).await;
    let del = h.send("DELETE", &location, Bytes::new()).await;
    assert_eq!(del.status, 204);
    let status = h.get(&location).await;
    assert_eq!(status.status, 404);
    assert_eq!(status.error_code(), "BLOB_UPLOAD_UNKNOWN");
    let patch = h.send("PATCH", &location, &b"abc"[..]).await;
    assert_eq!(patch.status, 404);
    assert_eq!(h.send("DELETE", &location, Bytes::new()).await.status, 404);
    // A session is bound to its repository.
    let start = h.send("POST", "/v2/k/blobs/uploads/", Bytes::new()).await;
    let uuid = start.header("Docker-Upload-UUID").expect("uuid");
    assert_eq!(
        h.get(&format!("/v2/other/blobs/uploads/{uuid}"))
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn cross_repository_mount() {
    let h = Harness::start().await;
    let digest = h.push_blob("src/repo", b"mount me").await;
    let resp = h
        .send(
            "POST",
            &format!("/v2/dst/repo/blobs/uploads/?mount={digest}&from=src/repo"),
            Bytes::new(),
        )
        .await;
    resp.assert_blob_created("dst/repo", &digest);
    assert_eq!(
        &h.get(&format!("/v2/dst/repo/blobs/{digest}")).await.body[..],
        b"mount me"
    );

    // A blob the source does not have, and a mount without `from`: sessions.
    let missing = ocireg_v1::sha256(b"not there");
    for query in [
        format!("mount={missing}&from=src/repo"),
        format!("mount={digest}"),
    ] {
        let resp = h
            .send(
                "POST",
                &format!("/v2/third/blobs/uploads/?{query}"),
                Bytes::new(),
            )
            .await;
        assert_eq!(resp.status, 202, "{query}");
        assert!(
            resp.header("Location")
                .expect("Location")
                .starts_with("/v2/third/blobs/uploads/")
        );
    }
    assert_eq!(
        h.get(&format!("/v2/third/blobs/{missing}")).await.status,
        404
    );
}

#[tokio::test]
async fn names_methods_and_warning() {
    let h = Harness::with(Registry::builder().warning(Some("test \"warning\"".to_owned()))).await;
    let resp = h.get("/v2/UPPER/tags/list").await;
    assert_eq!(resp.status, 400);
    assert_eq!(resp.error_code(), "NAME_INVALID");
    assert_eq!(resp.header("Warning"), Some(r#"299 - "test \"warning\"""#));
    let resp = h.send("PATCH", "/v2/a/blobs/sha256:00", Bytes::new()).await;
    assert_eq!(resp.status, 405);
    assert_eq!(resp.error_code(), "UNSUPPORTED");
    assert!(resp.header("Warning").is_some());
    let resp = h.get("/v2/a/nonsense").await;
    assert_eq!(resp.status, 404);
}

#[tokio::test]
async fn interrupted_patch_keeps_received_bytes_for_resumption() {
    let h = Harness::start().await;
    let data = pseudo_random(2000, 6);
    let digest = ocireg_v1::sha256(&data);
    let start = h
        .send("POST", "/v2/resume/blobs/uploads/", Bytes::new())
        .await;
    let location = start.header("Location").expect("Location").to_owned();

    // Announce 2000 bytes, send 1200, then hang up.
    let mut stream = tokio::net::TcpStream::connect(h.running.addr())
        .await
        .expect("connect");
    let head = format!(
        "PATCH {location} HTTP/1.1\r\nHost: {}\r\nContent-Length: 2000\r\n\r\n",
        h.running.host()
    );
    stream.write_all(head.as_bytes()).await.expect("write");
    stream.write_all(&data[..1200]).await.expect("write");
    stream.flush().await.expect("flush");
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    drop(stream);

    // The session comes back with what arrived.
    let mut range = None;
    for _ in 0..100 {
        let status = h.get(&location).await;
        if status.status == 204 && status.header("Range") == Some("0-1199") {
            range = status.header("Range").map(str::to_owned);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(range.as_deref(), Some("0-1199"));
    let put = h
        .req(
            "PUT",
            &format!("{location}?digest={digest}"),
            &[("Content-Range", "1200-1999")],
            data[1200..].to_vec(),
        )
        .await;
    assert_eq!(put.status, 201, "{put:?}");
    assert_eq!(
        &h.get(&format!("/v2/resume/blobs/{digest}")).await.body[..],
        &data[..]
    );
}

fn upload_dir_entries(root: &std::path::Path) -> usize {
    fs_err::read_dir(root.join("uploads"))
        .expect("uploads dir")
        .count()
}

#[tokio::test]
async fn disk_storage_round_trip_and_no_leftovers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let h = Harness::with(Registry::builder().storage(Storage::Disk(dir.path().to_owned()))).await;
    let data = pseudo_random(300_000, 7);
    let digest = h.push_blob("disk", &data).await;
    let blob_file = dir.path().join("blobs/sha256").join(digest.hex());
    assert_eq!(fs_err::read(&blob_file).expect("blob file"), data);
    let resp = h.get(&format!("/v2/disk/blobs/{digest}")).await;
    assert_eq!(&resp.body[..], &data[..]);
    let resp = h
        .req(
            "GET",
            &format!("/v2/disk/blobs/{digest}"),
            &[("Range", "bytes=100000-100009")],
            Bytes::new(),
        )
        .await;
    assert_eq!(resp.status, 206);
    assert_eq!(&resp.body[..], &data[100_000..100_010]);
    assert_eq!(upload_dir_entries(dir.path()), 0);

    // A failed monolithic upload: nothing stored, nothing left behind.
    let wrong = ocireg_v1::sha256(b"nope");
    let resp = h
        .send(
            "POST",
            &format!("/v2/disk/blobs/uploads/?digest={wrong}"),
            data.clone(),
        )
        .await;
    assert_eq!(resp.status, 400);
    assert!(!dir.path().join("blobs/sha256").join(wrong.hex()).exists());
    assert_eq!(upload_dir_entries(dir.path()), 0);

    // A failed chunked upload.
    let start = h
        .send("POST", "/v2/disk/blobs/uploads/", Bytes::new())
        .await;
    let location = start.header("Location").expect("Location").to_owned();
    h.send("PATCH", &location, data.clone()).await;
    assert_eq!(upload_dir_entries(dir.path()), 1);
    let put = h
        .send("PUT", &format!("{location}?digest={wrong}"), Bytes::new())
        .await;
    assert_eq!(put.status, 400);
    assert_eq!(upload_dir_entries(dir.path()), 0);

    // A cancelled upload.
    let start = h
        .send("POST", "/v2/disk/blobs/uploads/", Bytes::new())
        .await;
    let location = start.header("Location").expect("Location").to_owned();
    h.send("PATCH", &location, data.clone()).await;
    h.send("DELETE", &location, Bytes::new()).await;
    assert_eq!(upload_dir_entries(dir.path()), 0);

    // sha512 on disk, and DELETE removes the file.
    let d512: Digest = ocireg_v1::digest_of(Algorithm::Sha512, &data);
    let start = h
        .send("POST", "/v2/disk/blobs/uploads/", Bytes::new())
        .await;
    let location = start.header("Location").expect("Location").to_owned();
    h.req(
        "PATCH",
        &location,
        &[("Content-Range", "0-99")],
        data[..100].to_vec(),
    )
    .await;
    let put = h
        .send(
            "PUT",
            &format!("{location}?digest={d512}"),
            data[100..].to_vec(),
        )
        .await;
    assert_eq!(put.status, 201, "{put:?}");
    let file512 = dir.path().join("blobs/sha512").join(d512.hex());
    assert!(file512.exists());
    assert_eq!(
        h.req(
            "DELETE",
            &format!("/v2/disk/blobs/{d512}"),
            &[],
            Bytes::new()
        )
        .await
        .status,
        202
    );
    assert!(!file512.exists());
    assert_eq!(upload_dir_entries(dir.path()), 0);
}

#[tokio::test]
async fn head_response_over_raw_http_has_length_and_no_body() {
    let h = Harness::start().await;
    let digest = h.push_blob("raw", &pseudo_random(777, 8)).await;
    let mut stream = tokio::net::TcpStream::connect(h.running.addr())
        .await
        .expect("connect");
    let request =
        format!("HEAD /v2/raw/blobs/{digest} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut out = Vec::new();
    stream.read_to_end(&mut out).await.expect("read");
    let text = String::from_utf8(out).expect("ascii");
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(
        text.to_ascii_lowercase()
            .contains("content-length: 777\r\n"),
        "{text}"
    );
    assert!(text.ends_with("\r\n\r\n"), "{text}");
}

/// Issue 9: upload sessions lived forever. An unused one is dropped with its
/// temporary file by the server, without any request, and a later PATCH,
/// PUT or status GET gets 404 `BLOB_UPLOAD_UNKNOWN`.
#[tokio::test]
async fn idle_upload_sessions_expire_and_lose_their_bytes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let h = Harness::with(
        Registry::builder()
            .storage(Storage::Disk(dir.path().to_owned()))
            .upload_idle_timeout(std::time::Duration::from_millis(300)),
    )
    .await;
    let start = h
        .send("POST", "/v2/idle/blobs/uploads/", Bytes::new())
        .await;
    assert_eq!(start.status, 202);
    let location = start.header("Location").expect("Location").to_owned();
    let patch = h.send("PATCH", &location, vec![1u8; 1000]).await;
    assert_eq!(patch.status, 202);
    assert_eq!(upload_dir_entries(dir.path()), 1);

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while upload_dir_entries(dir.path()) > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the expired session's file was not removed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let digest = ocireg_v1::sha256([1u8; 1000]);
    for resp in [
        h.send("PATCH", &location, vec![2u8; 10]).await,
        h.send("PUT", &format!("{location}?digest={digest}"), Bytes::new())
            .await,
        h.get(&location).await,
    ] {
        assert_eq!(resp.status, 404, "{resp:?}");
        assert_eq!(resp.error_code(), "BLOB_UPLOAD_UNKNOWN");
    }
    assert_eq!(h.get(&format!("/v2/idle/blobs/{digest}")).await.status, 404);
}

/// Issue 9: upload sessions were unbounded in number.
#[tokio::test]
async fn upload_sessions_are_capped() {
    let h = Harness::with(Registry::builder().max_upload_sessions(3)).await;
    let mut sessions = Vec::new();
    for _ in 0..3 {
        let start = h.send("POST", "/v2/cap/blobs/uploads/", Bytes::new()).await;
        assert_eq!(start.status, 202);
        sessions.push(start.header("Location").expect("Location").to_owned());
    }
    let refused = h.send("POST", "/v2/cap/blobs/uploads/", Bytes::new()).await;
    assert_eq!(refused.status, 429);
    assert_eq!(refused.error_code(), "TOOMANYREQUESTS");
    assert_eq!(refused.header("Retry-After"), Some("10"));
    // A mount that falls back to a session is refused the same way.
    let missing = ocireg_v1::sha256(b"missing");
    let mount = h
        .send(
            "POST",
            &format!("/v2/cap/blobs/uploads/?mount={missing}&from=other"),
            Bytes::new(),
        )
        .await;
    assert_eq!(mount.status, 429);
    // Monolithic uploads open no session.
    h.push_blob("cap", b"monolithic").await;
    // Finishing or cancelling a session makes room.
    assert_eq!(
        h.send("DELETE", &sessions[0], Bytes::new()).await.status,
        204
    );
    let digest = ocireg_v1::sha256(b"");
    let put = h
        .send(
            "PUT",
            &format!("{}?digest={digest}", sessions[1]),
            Bytes::new(),
        )
        .await;
    assert_eq!(put.status, 201);
    for _ in 0..2 {
        let start = h.send("POST", "/v2/cap/blobs/uploads/", Bytes::new()).await;
        assert_eq!(start.status, 202);
    }
    let refused = h.send("POST", "/v2/cap/blobs/uploads/", Bytes::new()).await;
    assert_eq!(refused.status, 429);
}
