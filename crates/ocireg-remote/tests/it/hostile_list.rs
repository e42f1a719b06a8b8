//! Listings from a registry that paginates with hostile `Link` headers: a link back to the
//! same page, an endless chain of new pages, pages that never advance, endless empty pages
//! and a listing larger than the entry cap. Each walk stops with
//! [`Error::ListingUnbounded`] after a bounded number of requests.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ocireg_name::{Registry, Repository};
use ocireg_remote::Error;
use ocireg_testsupport::{FaultServer, Reply};

use super::support;

/// A registry whose tag and catalog pages are made by `page(n, query)`: (items, next link).
async fn paginating<F>(page: F) -> (FaultServer, Arc<AtomicUsize>)
where
    F: Fn(usize, Option<&str>) -> (Vec<String>, Option<String>) + Send + Sync + 'static,
{
    let pages = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&pages);
    let server = FaultServer::with_handler(move |req| {
        let path = req.path();
        if path == "/v2/" {
            return Reply::ok().body("{}");
        }
        let key = if path.ends_with("/tags/list") {
            "tags"
        } else if path == "/v2/_catalog" {
            "repositories"
        } else {
            return Reply::status(404);
        };
        let n = counter.fetch_add(1, Ordering::SeqCst);
        let (items, next) = page(n, req.query());
        let mut reply = Reply::ok().json(&serde_json::json!({ "name": "t", key: items }));
        if let Some(next) = next {
            reply = reply.header("link", format!("<{next}>; rel=\"next\""));
        }
        reply
    })
    .await
    .expect("fault server");
    (server, pages)
}

fn repo(server: &FaultServer) -> Repository {
    format!("{}/t", server.host()).parse().expect("repository")
}

fn unbounded(e: &Error) -> &str {
    match e {
        Error::ListingUnbounded { reason, .. } => reason,
        other => panic!("expected ListingUnbounded, got {other:?}"),
    }
}

#[tokio::test]
async fn a_link_back_to_the_same_page_stops_at_once() {
    let (server, pages) = paginating(|_, _| {
        (
            vec!["a".to_owned()],
            Some("/v2/t/tags/list?n=1&last=a".to_owned()),
        )
    })
    .await;
    let opts = support::builder().page_size(1).build().expect("options");
    let err = ocireg_remote::list_tags(&repo(&server), &opts)
        .await
        .expect_err("a loop is an error");
    assert!(
        unbounded(&err).contains("leads back to a page already fetched"),
        "{err}"
    );
    // The first page, the linked page, and no third request for the same URL.
    assert_eq!(pages.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn an_endless_chain_of_new_pages_stops_at_the_page_cap() {
    let (server, pages) = paginating(|n, _| {
        (
            vec![format!("tag{n:06}")],
            Some(format!("/v2/t/tags/list?n=1&last=tag{n:06}")),
        )
    })
    .await;
    let opts = support::builder()
        .page_size(1)
        .list_limits(50, 1_000_000)
        .build()
        .expect("options");
    let err = ocireg_remote::list_tags(&repo(&server), &opts)
        .await
        .expect_err("an endless chain is an error");
    assert!(unbounded(&err).contains("more than 50 pages"), "{err}");
    assert_eq!(pages.load(Ordering::SeqCst), 50);
    // The catalog walk is bounded the same way.
    let (server, pages) = paginating(|n, _| {
        (
            vec![format!("repo{n:06}")],
            Some(format!("/v2/_catalog?n=1&last=repo{n:06}")),
        )
    })
    .await;
    let registry = Registry::new(&server.host()).expect("registry");
    let err = ocireg_remote::catalog(&registry, &opts)
        .await
        .expect_err("an endless catalog is an error");
    assert!(unbounded(&err).contains("more than 50 pages"), "{err}");
    assert_eq!(pages.load(Ordering::SeqCst), 50);
}

#[tokio::test]
async fn pages_that_do_not_advance_stop() {
    // New URLs every time (a counter in the query), but the same entries.
    let (server, pages) = paginating(|n, _| {
        (
            vec!["a".to_owned(), "b".to_owned()],
            Some(format!("/v2/t/tags/list?n=2&last=b&x={n}")),
        )
    })
    .await;
    let err = ocireg_remote::list_tags(&repo(&server), &support::options())
        .await
        .expect_err("a walk that does not advance is an error");
    assert!(unbounded(&err).contains("does not advance"), "{err}");
    assert_eq!(pages.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn endless_empty_pages_stop() {
    let (server, pages) =
        paginating(|n, _| (Vec::new(), Some(format!("/v2/t/tags/list?x={n}")))).await;
    let err = ocireg_remote::list_tags(&repo(&server), &support::options())
        .await
        .expect_err("endless empty pages are an error");
    assert!(unbounded(&err).contains("empty pages"), "{err}");
    assert_eq!(pages.load(Ordering::SeqCst), ocireg_remote::MAX_EMPTY_PAGES);
}

#[tokio::test]
async fn a_listing_past_the_entry_cap_stops() {
    let (server, pages) = paginating(|n, _| {
        let items = (0..100).map(|i| format!("p{n:04}-{i:03}")).collect();
        (
            items,
            Some(format!("/v2/t/tags/list?n=100&last=p{n:04}-099")),
        )
    })
    .await;
    let opts = support::builder()
        .page_size(100)
        .list_limits(10_000, 250)
        .build()
        .expect("options");
    let err = ocireg_remote::list_tags(&repo(&server), &opts)
        .await
        .expect_err("too many entries is an error");
    assert!(unbounded(&err).contains("more than 250 entries"), "{err}");
    assert_eq!(pages.load(Ordering::SeqCst), 3);
    // A listing within the limits is unaffected (and an empty last page ends it).
    let (server, _) = paginating(|n, _| match n {
        0 => (
            vec!["a".to_owned()],
            Some("/v2/t/tags/list?last=a".to_owned()),
        ),
        1 => (Vec::new(), Some("/v2/t/tags/list?last=a&again".to_owned())),
        _ => (vec!["b".to_owned()], None),
    })
    .await;
    let tags = ocireg_remote::list_tags(&repo(&server), &support::options())
        .await
        .expect("a bounded walk");
    assert_eq!(tags, ["a", "b"]);
}
