//! Listing endpoints: tags, catalog and referrers.

use std::ops::Bound;

use http::{HeaderValue, Response, StatusCode, header};
use ocireg_v1::{Descriptor, MediaType};
use serde::Serialize;

use crate::body::ResponseBody;
use crate::error::{ApiError, Code};
use crate::limits::MAX_PAGE;
use crate::registry::{Inner, Req, header_value, json_response, parse_digest, valid_name};
use crate::route::query_get;

/// The page size of the catalog when the client gives no `n`.
const DEFAULT_CATALOG_PAGE: usize = MAX_PAGE;

/// `n` and `last` of a list request. `n` is `None` when absent.
fn page_params(req: &Req) -> Result<(Option<usize>, Option<&str>), ApiError> {
    let n = match query_get(&req.query, "n") {
        None | Some("") => None,
        Some(n) => Some(n.parse::<usize>().map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                Code::Unsupported,
                "n must be a non-negative integer",
            )
            .detail(serde_json::json!({ "n": n }))
        })?),
    };
    let last = query_get(&req.query, "last").filter(|l| !l.is_empty());
    Ok((n, last))
}

/// Takes up to `n` names after `last` from a sorted sequence; the second
/// value says whether more remain.
fn page<'a>(items: impl Iterator<Item = &'a String>, n: usize) -> (Vec<String>, bool) {
    let mut items = items.peekable();
    let taken: Vec<String> = items.by_ref().take(n).cloned().collect();
    (taken, items.peek().is_some())
}

/// A JSON list response, with `Link: <...>; rel="next"` when more remain.
fn list_response(
    body: &impl Serialize,
    next: Option<String>,
) -> Result<Response<ResponseBody>, ApiError> {
    let body = serde_json::to_vec(body)
        .map_err(|e| ApiError::internal("encoding a list", &std::io::Error::other(e)))?;
    let mut response = json_response(StatusCode::OK, body);
    if let Some(next) = next {
        response.headers_mut().insert(
            header::LINK,
            header_value(format!("<{next}>; rel=\"next\"")),
        );
    }
    Ok(response)
}

/// `GET /v2/<name>/tags/list?n=&last=`: tags in sorted order (digest-only
/// manifests are not listed). Without `n`, every tag.
pub(crate) fn tags(reg: &Inner, name: &str, req: &Req) -> Result<Response<ResponseBody>, ApiError> {
    #[derive(Serialize)]
    struct TagList<'a> {
        name: &'a str,
        tags: Vec<String>,
    }
    let name = valid_name(name)?;
    let (n, last) = page_params(req)?;
    let (tags, more) = {
        let state = reg.state();
        let repo = state
            .repos
            .get(name)
            .ok_or_else(|| ApiError::name_unknown(name))?;
        let after = last.map_or(Bound::Unbounded, |l| Bound::Excluded(l.to_owned()));
        let items = repo
            .tags
            .range((after, Bound::Unbounded))
            .map(|(tag, _)| tag);
        match n {
            None => (items.cloned().collect(), false),
            Some(n) => page(items, n.min(MAX_PAGE)),
        }
    };
    // Tags and names only hold characters that need no escaping in a URL.
    let next = match (more, tags.last(), n) {
        (true, Some(last), Some(n)) => Some(format!("/v2/{name}/tags/list?last={last}&n={n}")),
        _ => None,
    };
    list_response(&TagList { name, tags }, next)
}

/// `GET /v2/_catalog?n=&last=`: repository names in sorted order, 10,000 per
/// page at most.
pub(crate) fn catalog(reg: &Inner, req: &Req) -> Result<Response<ResponseBody>, ApiError> {
    #[derive(Serialize)]
    struct Catalog {
        repositories: Vec<String>,
    }
    let (n, last) = page_params(req)?;
    let n = n.unwrap_or(DEFAULT_CATALOG_PAGE).min(MAX_PAGE);
    let (repositories, more) = {
        let state = reg.state();
        let after = last.map_or(Bound::Unbounded, |l| Bound::Excluded(l.to_owned()));
        page(
            state
                .repos
                .range((after, Bound::Unbounded))
                .map(|(name, _)| name),
            n,
        )
    };
    let next = match (more, repositories.last()) {
        (true, Some(last)) => Some(format!("/v2/_catalog?last={last}&n={n}")),
        _ => None,
    };
    list_response(&Catalog { repositories }, next)
}

/// `GET /v2/<name>/referrers/<digest>?artifactType=`: an OCI index of the
/// repository's manifests whose `subject` is `digest` (whether or not that
/// manifest exists), in digest order.
pub(crate) fn referrers(
    reg: &Inner,
    name: &str,
    digest: &str,
    req: &Req,
) -> Result<Response<ResponseBody>, ApiError> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Index {
        schema_version: u8,
        media_type: &'static str,
        manifests: Vec<Descriptor>,
    }
    let name = valid_name(name)?;
    let subject = parse_digest(digest)?;
    let filter = query_get(&req.query, "artifactType").filter(|t| !t.is_empty());
    let mut manifests: Vec<Descriptor> = {
        let state = reg.state();
        state
            .repos
            .get(name)
            .into_iter()
            .flat_map(|repo| repo.manifests.iter())
            .filter(|(_, m)| m.subject == Some(subject))
            .filter(|(_, m)| filter.is_none() || m.artifact_type.as_deref() == filter)
            .map(|(digest, m)| {
                let media_type = MediaType::from(m.media_type.to_str().unwrap_or_default());
                let mut d = Descriptor::new(media_type, m.bytes.len() as u64, *digest);
                d.artifact_type = m.artifact_type.as_deref().map(MediaType::from);
                d.annotations.clone_from(&m.annotations);
                d
            })
            .collect()
    };
    manifests.sort_by_key(|d| d.digest);
    let index = Index {
        schema_version: 2,
        media_type: "application/vnd.oci.image.index.v1+json",
        manifests,
    };
    let mut response = list_response(&index, None)?;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.oci.image.index.v1+json"),
    );
    if filter.is_some() {
        headers.insert(
            "OCI-Filters-Applied",
            HeaderValue::from_static("artifactType"),
        );
    }
    Ok(response)
}
