//! Tag and catalog listings: full walks across pages, single pages with n and last.

use ocireg_name::Registry;

use super::support::{self, Target};

async fn walk_1200_tags(t: &Target, paginates: bool) {
    let repo = t.repo("list/many");
    let mut tags = support::push_many_tags(&repo, 1200, 8).await;
    tags.push("seed".to_owned());
    tags.sort();
    let opts = support::builder().page_size(100).build().expect("options");
    let mut lister = ocireg_remote::Lister::tags(&repo, &opts)
        .await
        .expect("lister");
    let mut seen = Vec::new();
    while let Some(page) = lister.next_page().await.expect("page") {
        if paginates {
            assert!(page.len() <= 100, "pages respect n");
        }
        seen.extend(page);
    }
    if paginates {
        assert_eq!(lister.pages(), 13, "followed Link across every page");
        assert_eq!(seen, tags, "every tag, in order, once");
    } else {
        // distribution 2.8 ignores n and last for tags (it paginates only the catalog,
        // tags from v3 on): one unsorted page with everything.
        seen.sort();
        assert_eq!(seen, tags, "every tag once");
    }
    // The one-call walk agrees.
    let mut all = ocireg_remote::list_tags(&repo, &opts).await.expect("walk");
    if !paginates {
        all.sort();
    }
    assert_eq!(all, tags);
}

#[tokio::test]
async fn walk_1200_tags_across_pages_on_ocireg_registry() {
    walk_1200_tags(&support::in_process(false).await, true).await;
}

#[tokio::test]
async fn walk_1200_tags_on_distribution() {
    walk_1200_tags(&support::distribution().await, false).await;
}

async fn pages_and_catalog(t: &Target) {
    let repo = t.repo("list/few");
    let mut tags = support::push_many_tags(&repo, 5, 4).await;
    tags.push("seed".to_owned());
    tags.sort();
    let opts = support::options();
    // One page with n and last, without following Link (distribution 2.8 ignores n and
    // last for tags; ocireg-registry honours them).
    if t.name == "ocireg-registry" {
        let page = ocireg_remote::list_tags_page(&repo, &opts, 2, Some("t0001"))
            .await
            .expect("page");
        assert_eq!(page.items, ["t0002", "t0003"]);
        assert!(page.next.is_some(), "more pages announced by Link");
        let last = ocireg_remote::list_tags_page(&repo, &opts, 10, Some("t0003"))
            .await
            .expect("page");
        assert_eq!(last.items, ["t0004"]);
        assert_eq!(last.next, None);
    }
    // The whole list.
    let mut all = ocireg_remote::list_tags(&repo, &opts).await.expect("all");
    all.sort();
    assert_eq!(all, tags);

    // The catalog, walked one name per page and in one page.
    for name in ["list/a", "list/b/c"] {
        let img = ocireg_v1::random::image(8, 1, 1).expect("image");
        support::push_image(&t.repo(name), "x", &*img).await;
    }
    let registry = Registry::new(&t.host).expect("registry");
    let one_by_one = support::builder().page_size(1).build().expect("options");
    let all = ocireg_remote::catalog(&registry, &one_by_one)
        .await
        .expect("catalog");
    assert_eq!(all, ["list/a", "list/b/c", "list/few"], "{}", t.name);
    let page = ocireg_remote::catalog_page(&registry, &opts, 1, Some("list/a"))
        .await
        .expect("catalog page");
    assert_eq!(page.items, ["list/b/c"]);
    // A repository that does not exist: a not-found error.
    let err = ocireg_remote::list_tags(&t.repo("list/none"), &opts)
        .await
        .expect_err("unknown repository");
    assert!(err.is_not_found(), "{err:?}");
}

#[tokio::test]
async fn pages_and_catalog_distribution() {
    pages_and_catalog(&support::distribution().await).await;
}

#[tokio::test]
async fn pages_and_catalog_ocireg_registry() {
    pages_and_catalog(&support::in_process(false).await).await;
}

#[tokio::test]
async fn link_to_another_host_is_refused() {
    use ocireg_testsupport::{FaultServer, Reply};
    let server = FaultServer::builder()
        .handler(|req| match req.path() {
            "/v2/" => Reply::ok().body("{}"),
            _ => Reply::ok()
                .header("content-type", "application/json")
                .header(
                    "link",
                    "<http://169.254.169.254/v2/x/tags/list?last=a>; rel=\"next\"",
                )
                .body(r#"{"name":"x","tags":["a"]}"#),
        })
        .start()
        .await
        .expect("server");
    let repo = ocireg_name::Repository::new(&format!("{}/x", server.host())).expect("repo");
    let err = ocireg_remote::list_tags(&repo, &support::options())
        .await
        .expect_err("refused");
    let msg = support::chain(&err);
    assert!(msg.contains("pagination link"), "{msg}");
    assert!(
        server
            .requests()
            .iter()
            .all(|r| !r.target.contains("169.254")),
        "no request to the link target"
    );
}
