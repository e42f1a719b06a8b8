//! Fixtures of the read-side tests: the shared registries and options (from `common`),
//! and a tiny raw-HTTP pusher so the read side can be tested without the write side.

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use ocireg_name::Repository;
use ocireg_transport::{Body, Transport};
use ocireg_v1::{Descriptor, Digest, Image, IndexManifest, MediaType, Platform};

pub(crate) use super::common::{Target, builder, client, distribution, in_process, options};

async fn push_transport(repo: &Repository) -> Transport {
    client()
        .transport(
            repo.registry(),
            ocireg_transport::Scopes::push(repo.repository_str()),
            Arc::new(ocireg_authn::Anonymous),
        )
        .await
        .expect("push transport")
}

/// Uploads a blob with POST + PUT (monolithic), unless it is there.
pub(crate) async fn push_blob(t: &Transport, repo: &Repository, bytes: Bytes) -> Digest {
    let digest = ocireg_v1::sha256(&bytes);
    let head = Request::builder()
        .method(Method::HEAD)
        .uri(format!("/v2/{}/blobs/{digest}", repo.repository_str()))
        .body(Body::empty())
        .expect("request");
    if t.send(head).await.expect("HEAD blob").status() == StatusCode::OK {
        return digest;
    }
    let post = Request::builder()
        .method(Method::POST)
        .uri(format!("/v2/{}/blobs/uploads/", repo.repository_str()))
        .body(Body::empty())
        .expect("request");
    let response = t
        .send_expect(post, &[StatusCode::ACCEPTED])
        .await
        .expect("upload starts");
    let location = response.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let base = t.url("/v2/").expect("url");
    let mut url = t
        .resolve_url(&base, &location, "upload location")
        .expect("location")
        .to_string();
    url.push(if url.contains('?') { '&' } else { '?' });
    url.push_str("digest=");
    url.push_str(&digest.to_string());
    let put = Request::builder()
        .method(Method::PUT)
        .uri(url)
        .header("content-type", "application/octet-stream")
        .body(Body::from_bytes(bytes))
        .expect("request");
    t.send_expect(put, &[StatusCode::CREATED])
        .await
        .expect("upload completes");
    digest
}

/// PUTs a manifest under `reference` (a tag or a digest).
pub(crate) async fn push_manifest(
    t: &Transport,
    repo: &Repository,
    reference: &str,
    media_type: &MediaType,
    bytes: Bytes,
) {
    let put = Request::builder()
        .method(Method::PUT)
        .uri(format!(
            "/v2/{}/manifests/{reference}",
            repo.repository_str()
        ))
        .header("content-type", media_type.as_str())
        .body(Body::from_bytes(bytes))
        .expect("request");
    t.send_expect(
        put,
        &[StatusCode::CREATED, StatusCode::OK, StatusCode::ACCEPTED],
    )
    .await
    .expect("manifest PUT");
}

/// Pushes an in-memory image (blobs read whole: test images are small); returns its digest.
pub(crate) async fn push_image(repo: &Repository, tag: &str, img: &dyn Image) -> Digest {
    let t = push_transport(repo).await;
    push_image_with(&t, repo, tag, img).await
}

async fn push_image_with(t: &Transport, repo: &Repository, tag: &str, img: &dyn Image) -> Digest {
    push_blob(t, repo, img.raw_config_file().await.expect("config")).await;
    for layer in img.layers().await.expect("layers") {
        let bytes = layer
            .compressed()
            .await
            .expect("layer")
            .read_to_end(1 << 30)
            .await
            .expect("layer bytes");
        push_blob(t, repo, bytes).await;
    }
    let raw = img.raw_manifest().await.expect("manifest");
    let digest = ocireg_v1::sha256(&raw);
    let mt = img.media_type().await.expect("media type");
    push_manifest(t, repo, tag, &mt, raw).await;
    digest
}

/// Pushes an index of one small random image per platform under `tag`; returns the index
/// digest and each child's digest.
pub(crate) async fn push_platform_index(
    repo: &Repository,
    tag: &str,
    platforms: &[&str],
) -> (Digest, Vec<(Platform, Digest)>) {
    let t = push_transport(repo).await;
    let mut index = IndexManifest::new(MediaType::OciImageIndex);
    let mut children = Vec::new();
    for (i, p) in platforms.iter().enumerate() {
        let platform: Platform = p.parse().expect("platform");
        let layer = ocireg_v1::random::layer(64, MediaType::OciLayer, 1000 + i as u64)
            .expect("random layer");
        let layer_bytes = layer
            .compressed()
            .await
            .expect("layer")
            .read_to_end(1 << 20)
            .await
            .expect("bytes");
        push_blob(&t, repo, layer_bytes.clone()).await;
        let mut config = ocireg_v1::ConfigFile::new(&*platform.os, &*platform.architecture)
            .with_rootfs(ocireg_v1::RootFs::layers(Some(vec![
                layer.diff_id().await.expect("diff id"),
            ])));
        config.variant.clone_from(&platform.variant);
        let raw_config = Bytes::from(ocireg_v1::to_go_json(&config).expect("json"));
        push_blob(&t, repo, raw_config.clone()).await;
        let mut m = ocireg_v1::Manifest::new(
            MediaType::OciManifest,
            Descriptor::for_bytes(MediaType::OciConfig, &raw_config),
        );
        m.layers
            .push(Descriptor::for_bytes(MediaType::OciLayer, &layer_bytes));
        let raw = Bytes::from(ocireg_v1::to_go_json(&m).expect("json"));
        let digest = ocireg_v1::sha256(&raw);
        push_manifest(
            &t,
            repo,
            &digest.to_string(),
            &MediaType::OciManifest,
            raw.clone(),
        )
        .await;
        let mut desc = Descriptor::for_bytes(MediaType::OciManifest, &raw);
        desc.platform = Some(platform.clone());
        index.manifests.push(desc);
        children.push((platform, digest));
    }
    let raw = Bytes::from(ocireg_v1::to_go_json(&index).expect("json"));
    let digest = ocireg_v1::sha256(&raw);
    push_manifest(&t, repo, tag, &MediaType::OciImageIndex, raw).await;
    (digest, children)
}

/// Pushes the same tiny manifest under `count` tags `t0000`... with `jobs` requests at once.
pub(crate) async fn push_many_tags(repo: &Repository, count: usize, jobs: usize) -> Vec<String> {
    let t = push_transport(repo).await;
    let img = ocireg_v1::random::image(16, 1, 7).expect("image");
    push_image_with(&t, repo, "seed", &*img).await;
    let raw = img.raw_manifest().await.expect("manifest");
    let mt = img.media_type().await.expect("mt");
    let tags: Vec<String> = (0..count).map(|i| format!("t{i:04}")).collect();
    let sem = Arc::new(tokio::sync::Semaphore::new(jobs));
    let mut tasks = Vec::new();
    for tag in tags.clone() {
        let (t, repo, raw, mt, sem) = (
            t.clone(),
            repo.clone(),
            raw.clone(),
            mt.clone(),
            sem.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let _permit = sem.acquire().await.expect("open");
            push_manifest(&t, &repo, &tag, &mt, raw).await;
        }));
    }
    for task in tasks {
        task.await.expect("push task");
    }
    tags
}

/// An error and all its sources, for assertions on causes.
pub(crate) fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        out.push_str(": ");
        out.push_str(&e.to_string());
        cur = e.source();
    }
    out
}
