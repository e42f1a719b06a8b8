//! The registry server (ocireg-registry): routing of `/v2/...` paths, query
//! strings and range headers, and whole request sequences against a fresh
//! in-memory registry.
//!
//! Input: requests separated by a line `----`, each written like HTTP/1.1:
//!
//! ```text
//! PUT /v2/app/manifests/v1
//! Content-Type: application/vnd.oci.image.manifest.v1+json
//!
//! {"schemaVersion":2,...}
//! ```
//!
//! The word `UPLOAD` in a request target stands for the id of the upload
//! the registry last started (its ids are random).
//!
//! Properties: nothing panics; a routed path written back with its parts
//! percent-encoded routes the same; ranges stay inside the blob; no request
//! gets a 5xx from the in-memory registry; HEAD answers have no body; what a
//! 201 says was stored can be read back by its digest with those bytes.
#![no_main]

use std::sync::OnceLock;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use libfuzzer_sys::fuzz_target;
use ocireg_registry::Registry;
use ocireg_registry::fuzzing::{
    RouteParts, is_valid_repository, parse_content_range, parse_range, query_pairs, route,
};
use sha2::{Digest as _, Sha256};

const MAX_REQUESTS: usize = 16;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime")
    })
}

/// Splits `data` at every occurrence of `sep`.
fn split<'a>(data: &'a [u8], sep: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while let Some(i) = rest.windows(sep.len()).position(|w| w == sep) {
        out.push(&rest[..i]);
        rest = &rest[i + sep.len()..];
    }
    out.push(rest);
    out
}

struct Req {
    method: Method,
    uri: Uri,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Bytes,
}

fn parse_request(chunk: &[u8]) -> Option<Req> {
    let (head, body) = match chunk.windows(2).position(|w| w == b"\n\n") {
        Some(i) => (&chunk[..i], &chunk[i + 2..]),
        None => (chunk, &b""[..]),
    };
    let head = std::str::from_utf8(head).ok()?;
    let mut lines = head.lines();
    let (method, target) = lines.next()?.split_once(' ')?;
    let method = Method::from_bytes(method.as_bytes()).ok()?;
    let uri: Uri = target.parse().ok()?;
    let headers = lines
        .filter_map(|line| {
            let (name, value) = line.split_once(':')?;
            Some((
                HeaderName::from_bytes(name.trim().as_bytes()).ok()?,
                HeaderValue::from_str(value.trim()).ok()?,
            ))
        })
        .collect();
    Some(Req {
        method,
        uri,
        headers,
        body: Bytes::copy_from_slice(body),
    })
}

/// Percent-encodes one path segment so that it decodes to itself.
fn encode_segment(segment: &str) -> String {
    let mut out = String::new();
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:@".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The path of a route, every part percent-encoded.
fn write_route(r: &RouteParts) -> String {
    let name = r.name.as_deref().map(|n| {
        n.split('/')
            .map(encode_segment)
            .collect::<Vec<_>>()
            .join("/")
    });
    let last = r.last.as_deref().map(encode_segment).unwrap_or_default();
    let name = name.unwrap_or_default();
    match r.endpoint {
        "base" => "/v2/".to_owned(),
        "catalog" => "/v2/_catalog".to_owned(),
        "tags" => format!("/v2/{name}/tags/list"),
        "manifest" => format!("/v2/{name}/manifests/{last}"),
        "upload-start" => format!("/v2/{name}/blobs/uploads/"),
        "upload" => format!("/v2/{name}/blobs/uploads/{last}"),
        "blob" => format!("/v2/{name}/blobs/{last}"),
        "referrers" => format!("/v2/{name}/referrers/{last}"),
        other => panic!("unknown endpoint {other}"),
    }
}

fn check_parsers(req: &Req) {
    let path = req.uri.path();
    if let Some(parts) = route(path) {
        assert_eq!(
            parts.name.is_some(),
            !matches!(parts.endpoint, "base" | "catalog")
        );
        if let Some(name) = &parts.name {
            // `/v2//tags/list` routes with an empty name; the handlers refuse it
            // as an invalid name (the requests below check that none gets a 5xx).
            let _ = is_valid_repository(name);
        }
        let written = write_route(&parts);
        assert_eq!(
            route(&written).as_ref(),
            Some(&parts),
            "{path:?} -> {written:?}"
        );
    }
    let _ = query_pairs(req.uri.query());
    for (name, value) in &req.headers {
        let Ok(value) = value.to_str() else { continue };
        if name == http::header::RANGE {
            for size in [0, 1, 10, 4096, u64::MAX] {
                match parse_range(value, size) {
                    None | Some(None) => {}
                    Some(Some((start, end))) => {
                        assert!(
                            start <= end && end < size,
                            "{value:?} of {size}: {start}-{end}"
                        );
                    }
                }
            }
        }
        if name == http::header::CONTENT_RANGE
            && let Some((start, end)) = parse_content_range(value)
        {
            assert!(start <= end);
        }
    }
}

async fn send(registry: &Registry, req: &Req) -> (StatusCode, http::HeaderMap, Bytes) {
    let mut builder = Request::builder()
        .method(req.method.clone())
        .uri(req.uri.clone());
    for (name, value) in &req.headers {
        builder = builder.header(name, value);
    }
    let request = builder
        .body(Full::new(req.body.clone()))
        .expect("a valid request");
    let response = registry.handle(request).await;
    let status = response.status();
    let (parts, body) = response.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    (status, parts.headers, body)
}

fn get(path: String) -> Req {
    Req {
        method: Method::GET,
        uri: path.parse().expect("a valid path"),
        headers: Vec::new(),
        body: Bytes::new(),
    }
}

fuzz_target!(|data: &[u8]| {
    let requests: Vec<Req> = split(data, b"\n----\n")
        .into_iter()
        .take(MAX_REQUESTS)
        .filter_map(parse_request)
        .collect();
    for req in &requests {
        check_parsers(req);
    }
    let registry = Registry::builder()
        .referrers(true)
        .build()
        .expect("an in-memory registry");
    runtime().block_on(async {
        let mut upload_id = String::from("none");
        for req in &requests {
            let substituted;
            let req = if req.uri.to_string().contains("UPLOAD") {
                let target = req.uri.to_string().replace("UPLOAD", &upload_id);
                let Ok(uri) = target.parse() else { continue };
                substituted = Req {
                    uri,
                    method: req.method.clone(),
                    headers: req.headers.clone(),
                    body: req.body.clone(),
                };
                &substituted
            } else {
                req
            };
            let (status, headers, body) = send(&registry, req).await;
            if status == StatusCode::ACCEPTED
                && let Some(location) = headers
                    .get(http::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                && let Some(parts) = route(location.split('?').next().unwrap_or_default())
                && parts.endpoint == "upload"
            {
                upload_id = parts.last.unwrap_or_default();
            }
            assert!(
                !status.is_server_error(),
                "{} {} -> {status}: {}",
                req.method,
                req.uri,
                String::from_utf8_lossy(&body)
            );
            if req.method == Method::HEAD {
                assert!(body.is_empty(), "HEAD {} has a body", req.uri);
            }
            if status != StatusCode::CREATED {
                continue;
            }
            let Some(parts) = route(req.uri.path()) else {
                panic!("{} {} -> 201 without a route", req.method, req.uri)
            };
            let Some(digest) = headers
                .get("Docker-Content-Digest")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
            else {
                continue;
            };
            let name = parts.name.clone().unwrap_or_default();
            let name = name
                .split('/')
                .map(encode_segment)
                .collect::<Vec<_>>()
                .join("/");
            let digest_segment = encode_segment(&digest);
            match parts.endpoint {
                "manifest" => {
                    let (status, _, stored) = send(
                        &registry,
                        &get(format!("/v2/{name}/manifests/{digest_segment}")),
                    )
                    .await;
                    assert_eq!(status, StatusCode::OK, "GET manifest {digest} after 201");
                    assert_eq!(stored, req.body, "manifest {digest} reads back other bytes");
                    let hex = format!("sha256:{:x}", Sha256::digest(&stored));
                    assert!(!digest.starts_with("sha256:") || digest == hex);
                }
                "upload" | "upload-start" => {
                    let (status, _, stored) = send(
                        &registry,
                        &get(format!("/v2/{name}/blobs/{digest_segment}")),
                    )
                    .await;
                    assert_eq!(status, StatusCode::OK, "GET blob {digest} after 201");
                    if digest.starts_with("sha256:") {
                        let hex = format!("sha256:{:x}", Sha256::digest(&stored));
                        assert_eq!(digest, hex, "blob content does not match its digest");
                    }
                }
                _ => {}
            }
        }
    });
});
