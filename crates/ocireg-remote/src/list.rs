//! Tag and catalog listings (ggcr's `List`, `Lister`, `Catalog`, `CatalogPage`), as a full
//! walk following `Link` headers or one page at a time with `n` and `last` (the Deckhouse
//! registry client's `ListTags`/`ListRepositories` with limit and last).

use http::header::{ACCEPT, LINK};
use http::{Method, StatusCode, Uri};
use ocireg_name::{Registry, Repository};
use ocireg_transport::{Body, Transport};
use serde::Deserialize;
use std::collections::HashSet;

use crate::error::{Error, Result, Subject};
use crate::options::Options;
use crate::protocol::{self, next_link, query_value};

/// The most bytes one page of a listing may have (16 MiB).
pub const LIST_PAGE_LIMIT: u64 = 16 * 1024 * 1024;

/// One page of a listing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Page {
    /// The tags or repository names of this page, in the registry's order.
    pub items: Vec<String>,
    /// Where the next page is, when the registry said (`Link: <...>; rel="next"`), already
    /// resolved and checked. `None` on the last page.
    pub next: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Tags,
    Catalog,
}

impl Kind {
    fn action(self) -> &'static str {
        match self {
            Self::Tags => "listing tags of",
            Self::Catalog => "listing repositories of",
        }
    }
}

#[derive(Deserialize)]
struct TagsBody {
    #[serde(default)]
    tags: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct CatalogBody {
    #[serde(default)]
    repositories: Option<Vec<String>>,
}

/// Consecutive empty pages that still link to a next page before a walk is stopped.
pub const MAX_EMPTY_PAGES: usize = 10;

/// A listing walked page by page, following `Link` headers (ggcr's `Lister` and
/// `Catalogger`).
///
/// Each `Link` target is resolved against the URL it came with and must stay on the
/// registry (same scheme and host, ggcr #2332); anything else is refused before any request.
///
/// Beyond ggcr, a walk is bounded: it fails with [`Error::ListingUnbounded`] when a `Link`
/// leads back to a page already fetched, when a page ends on the same entry as the page
/// before (a `last` that does not advance), after [`MAX_EMPTY_PAGES`] empty pages in a row
/// that still link on, and past the page and entry limits of the options
/// ([`Options::max_list_pages`], [`Options::max_list_entries`]).
#[derive(Debug)]
pub struct Lister {
    transport: Transport,
    kind: Kind,
    what: Subject,
    next: Option<Uri>,
    pages: usize,
    entries: usize,
    empty_run: usize,
    seen: HashSet<String>,
    last_entry: Option<String>,
    max_pages: usize,
    max_entries: usize,
}

impl Lister {
    /// Lists the tags of `repository`, `page_size` at a time.
    pub async fn tags(repository: &Repository, options: &Options) -> Result<Self> {
        let transport = options.session().pull(repository).await?;
        let what = Subject::from(repository);
        let first = page_url(
            &transport,
            &protocol::tags(repository),
            &what,
            options.page_size(),
            None,
        )?;
        Ok(Self::new(transport, Kind::Tags, what, first, options))
    }

    /// Lists the repositories of `registry` (`/v2/_catalog`), `page_size` at a time.
    pub async fn catalog(registry: &Registry, options: &Options) -> Result<Self> {
        let transport = options.session().catalog(registry).await?;
        let what = Subject::from(registry);
        let first = page_url(
            &transport,
            protocol::CATALOG,
            &what,
            options.page_size(),
            None,
        )?;
        Ok(Self::new(transport, Kind::Catalog, what, first, options))
    }

    fn new(transport: Transport, kind: Kind, what: Subject, first: Uri, options: &Options) -> Self {
        Self {
            transport,
            kind,
            what,
            next: Some(first),
            pages: 0,
            entries: 0,
            empty_run: 0,
            seen: HashSet::new(),
            last_entry: None,
            max_pages: options.max_list_pages(),
            max_entries: options.max_list_entries(),
        }
    }

    fn unbounded(&self, reason: String) -> Error {
        Error::ListingUnbounded {
            action: self.kind.action(),
            reference: self.what.clone(),
            reason,
            pages: self.pages,
            entries: self.entries,
        }
    }

    /// Whether there is another page to fetch.
    pub fn has_next(&self) -> bool {
        self.next.is_some()
    }

    /// How many pages were fetched so far.
    pub fn pages(&self) -> usize {
        self.pages
    }

    /// How many entries were fetched so far.
    pub fn entries(&self) -> usize {
        self.entries
    }

    /// Fetches the next page; `None` after the last one. Fails with
    /// [`Error::ListingUnbounded`] when the walk leaves its bounds (see [`Lister`]).
    pub async fn next_page(&mut self) -> Result<Option<Vec<String>>> {
        let Some(url) = self.next.take() else {
            return Ok(None);
        };
        if self.pages >= self.max_pages {
            return Err(self.unbounded(format!(
                "the registry links to more than {} pages",
                self.max_pages
            )));
        }
        if !self.seen.insert(url.to_string()) {
            return Err(self.unbounded(format!(
                "the registry's pagination link leads back to a page already fetched ({})",
                ocireg_transport::redact_url(&url.to_string())
            )));
        }
        let (page, next) = fetch_page(&self.transport, self.kind, &self.what, url).await?;
        self.pages += 1;
        self.entries = self.entries.saturating_add(page.len());
        if self.entries > self.max_entries {
            return Err(self.unbounded(format!(
                "the listing has more than {} entries",
                self.max_entries
            )));
        }
        if let Some(next) = &next
            && self.seen.contains(&next.to_string())
        {
            return Err(self.unbounded(format!(
                "the registry's pagination link leads back to a page already fetched ({})",
                ocireg_transport::redact_url(&next.to_string())
            )));
        }
        if next.is_some() {
            if page.is_empty() {
                self.empty_run += 1;
                if self.empty_run >= MAX_EMPTY_PAGES {
                    return Err(self.unbounded(format!(
                        "the registry sent {MAX_EMPTY_PAGES} empty pages in a row that link on"
                    )));
                }
            } else {
                self.empty_run = 0;
            }
            if let Some(last) = page.last() {
                if self.last_entry.as_ref() == Some(last) {
                    return Err(self.unbounded(format!(
                        "two pages in a row end on the same entry {:?}: the registry does not advance",
                        last.chars().take(128).collect::<String>()
                    )));
                }
                self.last_entry = Some(last.clone());
            }
        }
        self.next = next;
        Ok(Some(page))
    }

    /// Fetches every remaining page and returns all items in order.
    pub async fn collect_all(mut self) -> Result<Vec<String>> {
        let mut all = Vec::new();
        while let Some(page) = self.next_page().await? {
            all.extend(page);
        }
        Ok(all)
    }
}

/// Every tag of `repository`, following `Link` headers (ggcr's `remote.List`).
pub async fn list_tags(repository: &Repository, options: &Options) -> Result<Vec<String>> {
    Lister::tags(repository, options).await?.collect_all().await
}

/// One page of the tags of `repository`: at most `n` tags (none sent when 0) after `last`
/// (the Deckhouse client's `ListTags` with limit and last). `Link` is not followed; its
/// target comes back in [`Page::next`].
pub async fn list_tags_page(
    repository: &Repository,
    options: &Options,
    n: usize,
    last: Option<&str>,
) -> Result<Page> {
    let transport = options.session().pull(repository).await?;
    let what = Subject::from(repository);
    let url = page_url(&transport, &protocol::tags(repository), &what, n, last)?;
    let (items, next) = fetch_page(&transport, Kind::Tags, &what, url).await?;
    Ok(Page {
        items,
        next: next.map(|u| u.to_string()),
    })
}

/// Every repository of `registry`, following `Link` headers (ggcr's `remote.Catalog`).
pub async fn catalog(registry: &Registry, options: &Options) -> Result<Vec<String>> {
    Lister::catalog(registry, options)
        .await?
        .collect_all()
        .await
}

/// One page of the catalog: at most `n` names after `last` (ggcr's `CatalogPage`, the
/// Deckhouse client's `ListRepositories` with limit and last).
pub async fn catalog_page(
    registry: &Registry,
    options: &Options,
    n: usize,
    last: Option<&str>,
) -> Result<Page> {
    let transport = options.session().catalog(registry).await?;
    let what = Subject::from(registry);
    let url = page_url(&transport, protocol::CATALOG, &what, n, last)?;
    let (items, next) = fetch_page(&transport, Kind::Catalog, &what, url).await?;
    Ok(Page {
        items,
        next: next.map(|u| u.to_string()),
    })
}

/// The URL of a listing page: `path` with `n` (unless 0) and `last` (unless empty).
fn page_url(
    transport: &Transport,
    path: &str,
    what: &Subject,
    n: usize,
    last: Option<&str>,
) -> Result<Uri> {
    let mut query = Vec::new();
    if n > 0 {
        query.push(format!("n={n}"));
    }
    if let Some(last) = last.filter(|l| !l.is_empty()) {
        query.push(format!("last={}", query_value(last, true)));
    }
    let pq = if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", query.join("&"))
    };
    protocol::url(transport, &pq, what)
}

async fn fetch_page(
    transport: &Transport,
    kind: Kind,
    what: &Subject,
    url: Uri,
) -> Result<(Vec<String>, Option<Uri>)> {
    let req = protocol::request(
        Method::GET,
        url.clone(),
        &[(ACCEPT, protocol::JSON.to_owned())],
        Body::empty(),
        what,
    )?;
    let response = transport
        .fetch_bytes(req, &[StatusCode::OK], LIST_PAGE_LIMIT)
        .await
        .map_err(|e| match e {
            ocireg_transport::Error::BodyTooLarge { limit, .. } => Error::TooLarge {
                what: "listing page",
                reference: what.clone(),
                size: limit + 1,
                limit,
            },
            e => Error::transport(kind.action(), what, e),
        })?;
    let next = match response
        .headers()
        .get_all(LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(next_link)
    {
        Some(link) => Some(checked_link(transport, kind, what, &url, &link)?),
        None => None,
    };
    let body = response.body();
    let bad_json = |e: serde_json::Error| {
        Error::protocol(
            kind.action(),
            what,
            format!("the registry sent a malformed listing: {e}"),
        )
    };
    let items = match kind {
        Kind::Tags => serde_json::from_slice::<TagsBody>(body)
            .map_err(bad_json)?
            .tags
            .unwrap_or_default(),
        Kind::Catalog => serde_json::from_slice::<CatalogBody>(body)
            .map_err(bad_json)?
            .repositories
            .unwrap_or_default(),
    };
    Ok((items, next))
}

/// Resolves a `Link` target and keeps it on the registry's scheme and host.
fn checked_link(
    transport: &Transport,
    kind: Kind,
    what: &Subject,
    base: &Uri,
    link: &str,
) -> Result<Uri> {
    let next = transport
        .resolve_url(base, link, "pagination link")
        .map_err(|e| Error::transport(kind.action(), what, e))?;
    let same_origin = next.scheme_str() == base.scheme_str()
        && next
            .authority()
            .zip(base.authority())
            .is_some_and(|(a, b)| a.as_str().eq_ignore_ascii_case(b.as_str()));
    if !same_origin {
        return Err(Error::protocol(
            kind.action(),
            what,
            format!(
                "refusing pagination link {} to another host",
                ocireg_transport::redact_url(&next.to_string())
            ),
        ));
    }
    Ok(next)
}
