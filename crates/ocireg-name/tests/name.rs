//! Table tests porting the intent of ggcr's `pkg/name/*_test.go`, plus the
//! defaulting, scheme, scope, serde and error-message tables, and a
//! property test that `name()` parses back to an equal value.

use std::collections::HashSet;

use ocireg_name::{
    Action, DEFAULT_REGISTRY, DEFAULT_TAG, Digest, DigestReference, DigestRule, Error, Options,
    Reference, Registry, RegistryRule, Repository, RepositoryRule, StrictRule, Tag, TagRule,
};

const D256: &str = "sha256:deadb33fdeadb33fdeadb33fdeadb33fdeadb33fdeadb33fdeadb33fdeadb33f";

fn d512() -> String {
    format!("sha512:{}", "ab".repeat(64))
}

fn weak() -> Options {
    Options::new()
}

fn strict() -> Options {
    Options::new().strict(true)
}

// ---------------------------------------------------------------- registry

/// Valid in both modes, and `name()` reproduces the input.
const GOOD_STRICT_REGISTRIES: &[&str] = &[
    "gcr.io",
    "gcr.io:9001",
    "index.docker.io",
    "us.gcr.io",
    "example.text",
    "localhost",
    "localhost:9090",
    "registry-1.docker.io",
    "Upper.Case.IO",
    "my_registry.io",
    "10.0.0.1:5000",
    "[::1]:5000",
    "[::1]",
    "::1",
    "[2001:db8::1]:443",
    "gcr.io:",
    "b\u{fc}cher.de",
];

/// Valid weak, rejected strict (or changed by defaulting).
const GOOD_WEAK_REGISTRIES: &[&str] = &[""];

/// Rejected in both modes, with the rule they break.
const BAD_REGISTRIES: &[(&str, RegistryRule)] = &[
    ("white space", RegistryRule::InvalidCharacter(' ')),
    ("gcr?com", RegistryRule::InvalidCharacter('?')),
    ("gcr#com", RegistryRule::InvalidCharacter('#')),
    ("user@gcr.io", RegistryRule::InvalidCharacter('@')),
    ("gcr.io/path", RegistryRule::InvalidCharacter('/')),
    ("%41.io", RegistryRule::InvalidCharacter('%')),
    ("tab\there.io", RegistryRule::InvalidCharacter('\t')),
    ("gcr.io:http", RegistryRule::Port),
    ("gcr.io:50a0", RegistryRule::Port),
    ("fe80::1:zz", RegistryRule::Port),
    ("[::1", RegistryRule::Ipv6Literal),
    ("[not-ipv6]:5000", RegistryRule::Ipv6Literal),
    ("[::1]:x", RegistryRule::Port),
];

#[test]
fn registry_good_strict() {
    for &input in GOOD_STRICT_REGISTRIES {
        for opts in [weak(), strict()] {
            let reg = Registry::with_options(input, &opts)
                .unwrap_or_else(|e| panic!("{input:?} should be a valid registry: {e}"));
            assert_eq!(reg.name(), input, "name() of {input:?}");
            assert_eq!(reg.to_string(), input, "Display of {input:?}");
        }
    }
}

#[test]
fn registry_good_weak_only() {
    for &input in GOOD_WEAK_REGISTRIES {
        let reg = Registry::new(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(reg.name(), DEFAULT_REGISTRY);
        match Registry::with_options(input, &strict()) {
            Err(Error::Strict {
                rule: StrictRule::RegistryRequired,
                ..
            }) => {}
            other => panic!("{input:?} strict: expected RegistryRequired, got {other:?}"),
        }
    }
}

#[test]
fn registry_bad() {
    for (input, rule) in BAD_REGISTRIES {
        for opts in [weak(), strict(), weak().insecure(true)] {
            match Registry::with_options(input, &opts) {
                Err(Error::Registry {
                    registry,
                    rule: got,
                }) => {
                    assert_eq!(&registry, input);
                    assert_eq!(&got, rule, "{input:?}");
                }
                other => panic!("{input:?}: expected a registry error, got {other:?}"),
            }
        }
    }
}

#[test]
fn registry_defaults_and_alias() {
    // (input, default registry option, expected name)
    let table: &[(&str, Option<&str>, &str)] = &[
        ("", None, "index.docker.io"),
        ("docker.io", None, "index.docker.io"),
        ("", Some("gcr.io"), "gcr.io"),
        ("docker.io", Some("gcr.io"), "index.docker.io"),
        ("", Some("docker.io"), "index.docker.io"),
        ("quay.io", Some("gcr.io"), "quay.io"),
        ("registry-1.docker.io", None, "registry-1.docker.io"),
        ("Docker.io", None, "Docker.io"),
        ("docker.io:443", None, "docker.io:443"),
    ];
    for (input, default, want) in table {
        let opts = default.map_or_else(weak, |d| weak().default_registry(d));
        let reg = Registry::with_options(input, &opts).unwrap();
        assert_eq!(reg.name(), *want, "{input:?} with default {default:?}");
    }
}

#[test]
fn registry_bad_defaults_are_reported() {
    let err = Registry::with_options("", &weak().default_registry("")).unwrap_err();
    assert_eq!(
        err,
        Error::Registry {
            registry: String::new(),
            rule: RegistryRule::EmptyDefault
        }
    );
    let err = Registry::with_options("", &weak().default_registry("a b")).unwrap_err();
    assert!(
        matches!(&err, Error::Registry { registry, .. } if registry == "a b"),
        "{err:?}"
    );
    // A written registry does not consult the default.
    assert!(Registry::with_options("gcr.io", &weak().default_registry("a b")).is_ok());
}

#[test]
fn registry_scope_ignores_everything() {
    for input in ["gcr.io", "", "localhost:5000"] {
        assert_eq!(Registry::new(input).unwrap().scope(), "registry:catalog:*");
    }
}

// ------------------------------------------------------------------ scheme

/// ggcr's scheme table plus the edges of each heuristic.
const SCHEMES: &[(&str, &str)] = &[
    ("foo.svc.localhost:1234", "http"),
    ("foo.svc.local:1234", "https"),
    ("registry.local", "https"),
    ("127.0.0.1:1234", "http"),
    ("127.0.0.1", "http"),
    ("127.0.0.1.evil.com", "https"),
    ("my127.0.0.1registry.io", "https"),
    ("127.0.0.1:123456", "https"),
    ("127.0.0.2", "https"),
    ("localhost", "https"),
    ("localhost:8080", "http"),
    ("localhost:", "http"),
    ("LOCALHOST:8080", "https"),
    ("localhost.example.com", "https"),
    ("a.localhost", "http"),
    ("a.localhost:99999", "http"),
    ("a.localhost:123456", "https"),
    ("localhostx:80", "https"),
    ("gcr.io", "https"),
    ("index.docker.io", "https"),
    ("::1", "http"),
    ("[::1]", "http"),
    ("[::1]:5000", "http"),
    ("[::1]:123456", "https"),
    ("[2001:db8::1]:5000", "https"),
    ("10.2.3.4:5000", "http"),
    ("10.0.0.1", "http"),
    ("172.16.0.1", "http"),
    ("172.31.255.255:80", "http"),
    ("172.32.0.1", "https"),
    ("172.15.0.1", "https"),
    ("192.168.3.4", "http"),
    ("192.169.0.1", "https"),
    ("8.8.8.8", "https"),
    ("10.256.0.0:5000", "https"),
    ("010.0.0.1", "https"),
];

#[test]
fn registry_scheme_table() {
    for (input, want) in SCHEMES {
        let reg = Registry::new(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(reg.scheme(), *want, "scheme of {input:?}");
        assert!(!reg.is_insecure());
        let insecure = Registry::with_options(input, &weak().insecure(true)).unwrap();
        assert_eq!(insecure.scheme(), "http", "insecure {input:?}");
        assert!(insecure.is_insecure());
    }
}

#[test]
fn insecure_reaches_children() {
    let repo = Repository::with_options("example.com/repo", &weak().insecure(true)).unwrap();
    let tag = repo.tag("foo").unwrap();
    assert_eq!(tag.registry().scheme(), "http");
    assert_eq!(tag.to_string(), "example.com/repo:foo");
    let digest = repo.digest(D256.parse().unwrap());
    assert_eq!(digest.registry().scheme(), "http");
    assert_eq!(digest.to_string(), format!("example.com/repo@{D256}"));
    let r = Reference::with_options("gcr.io/x:y", &weak().insecure(true)).unwrap();
    assert_eq!(r.registry().scheme(), "http");
    assert_eq!(
        Reference::parse("gcr.io/x:y").unwrap().registry().scheme(),
        "https"
    );
}

// -------------------------------------------------------------- repository

/// Valid in both modes; `name()` reproduces the input.
const GOOD_STRICT_REPOSITORIES: &[&str] = &[
    "gcr.io/g-convoy/hello-world",
    "gcr.io/google.com/project-id/hello-world",
    "us.gcr.io/project-id/sub-repo",
    "example.text/foo/bar",
    "mirror.gcr.io/ubuntu",
    "index.docker.io/library/ubuntu",
    "example.com/a",
    "example.com/a/b",
    "localhost/testimage",
    "localhost:5000/a//b",
    "gcr.io/-x",
    "gcr.io/x/",
    "gcr.io/_/.-/-",
    "gcr.io/a/.b/..c",
    "[::1]:5000/app",
    "10.1.2.3/app",
];

/// Valid weak (with their canonical name), rejected strict.
const GOOD_WEAK_REPOSITORIES: &[(&str, &str)] = &[
    (
        "namespace/pathcomponent/image",
        "index.docker.io/namespace/pathcomponent/image",
    ),
    ("library/ubuntu", "index.docker.io/library/ubuntu"),
    ("ubuntu", "index.docker.io/library/ubuntu"),
    ("a", "index.docker.io/library/a"),
    ("0", "index.docker.io/library/0"),
    ("gcr.io", "index.docker.io/library/gcr.io"),
    ("localhost", "index.docker.io/library/localhost"),
    ("index.docker.io/foo", "index.docker.io/library/foo"),
    ("docker.io/foo", "index.docker.io/library/foo"),
    ("foo.bar", "index.docker.io/library/foo.bar"),
];

/// Rejected in both modes.
const BAD_REPOSITORIES: &[(&str, RepositoryRule)] = &[
    ("white space", RepositoryRule::InvalidCharacter(' ')),
    ("b@char/image", RepositoryRule::InvalidCharacter('@')),
    ("", RepositoryRule::Empty),
    ("gcr.io/", RepositoryRule::Empty),
    ("Uppercase", RepositoryRule::Uppercase),
    ("gcr.io/Upper", RepositoryRule::Uppercase),
    ("a:b", RepositoryRule::InvalidCharacter(':')),
    ("gcr?io/foo", RepositoryRule::InvalidCharacter('?')),
    ("local host/foo", RepositoryRule::InvalidCharacter(' ')),
    (
        "gcr.io/caf\u{e9}",
        RepositoryRule::InvalidCharacter('\u{e9}'),
    ),
    // Beyond ggcr: dot segments would be normalised into another repository.
    ("gcr.io/_/./-", RepositoryRule::DotSegment(".")),
    ("gcr.io/a/../b", RepositoryRule::DotSegment("..")),
];

#[test]
fn repository_good_strict() {
    for &input in GOOD_STRICT_REPOSITORIES {
        for opts in [weak(), strict()] {
            let repo = Repository::with_options(input, &opts)
                .unwrap_or_else(|e| panic!("{input:?} should be valid: {e}"));
            assert_eq!(repo.name(), input);
            assert_eq!(repo.to_string(), input);
        }
    }
}

#[test]
fn repository_good_weak_only() {
    for (input, name) in GOOD_WEAK_REPOSITORIES {
        let repo = Repository::new(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(repo.name(), *name, "{input:?}");
        let err = Repository::with_options(input, &strict()).unwrap_err();
        assert!(
            matches!(err, Error::Strict { .. }),
            "{input:?} strict: {err:?}"
        );
    }
}

#[test]
fn repository_bad() {
    for (input, rule) in BAD_REPOSITORIES {
        for opts in [weak(), strict()] {
            match Repository::with_options(input, &opts) {
                Err(Error::Repository { rule: got, .. }) => assert_eq!(&got, rule, "{input:?}"),
                other => panic!("{input:?}: expected a repository error, got {other:?}"),
            }
        }
    }
    // The registry part is checked after the path.
    let err = Repository::new("gcr.io:abc/foo").unwrap_err();
    assert!(
        matches!(
            err,
            Error::Registry {
                rule: RegistryRule::Port,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn repository_lengths() {
    let max = format!("gcr.io/{}", "a".repeat(255));
    assert!(Repository::new(&max).is_ok());
    let over = format!("gcr.io/{}", "a".repeat(256));
    assert!(matches!(
        Repository::new(&over),
        Err(Error::Repository {
            rule: RepositoryRule::TooLong { len: 256 },
            ..
        })
    ));
    // On Docker Hub the implied `library/` counts: 247 + 8 = 255 is fine,
    // 248 + 8 is not, so that `name()` always parses back.
    assert!(Repository::new(&"a".repeat(247)).is_ok());
    assert!(matches!(
        Repository::new(&"a".repeat(248)),
        Err(Error::Repository {
            rule: RepositoryRule::TooLong { len: 256 },
            ..
        })
    ));
    assert!(Repository::new(&format!("x/{}", "a".repeat(253))).is_ok());
}

#[test]
fn repository_components() {
    let repo = Repository::with_options("gcr.io/project-id/image", &strict()).unwrap();
    assert_eq!(repo.registry().name(), "gcr.io");
    assert_eq!(repo.repository_str(), "project-id/image");
    let hub = Repository::new("ubuntu").unwrap();
    assert_eq!(hub.registry().name(), "index.docker.io");
    assert_eq!(hub.repository_str(), "library/ubuntu");
}

#[test]
fn repository_from_registry() {
    let hub = Registry::new("").unwrap();
    assert_eq!(
        hub.repository("ubuntu").unwrap().name(),
        "index.docker.io/library/ubuntu"
    );
    let gcr = Registry::new("gcr.io").unwrap();
    assert_eq!(gcr.repository("a/b").unwrap().name(), "gcr.io/a/b");
    assert_eq!(gcr.repository("ubuntu").unwrap().name(), "gcr.io/ubuntu");
    assert!(matches!(
        gcr.repository("A"),
        Err(Error::Repository {
            rule: RepositoryRule::Uppercase,
            ..
        })
    ));
    assert!(gcr.repository("").is_err());
    let insecure = Registry::with_options("gcr.io", &weak().insecure(true)).unwrap();
    assert_eq!(
        insecure.repository("x").unwrap().registry().scheme(),
        "http"
    );
}

// --------------------------------------------------------------------- tag

/// Valid in both modes; `name()` reproduces the input.
const GOOD_STRICT_TAGS: &[&str] = &[
    "gcr.io/g-convoy/hello-world:latest",
    "gcr.io/google.com/g-convoy/hello-world:latest",
    "gcr.io/project-id/with-nums:v2",
    "us.gcr.io/project-id/image:with.period.in.tag",
    "gcr.io/project-id/image:w1th-alpha_num3ric.PLUScaps",
    "domain.with.port:9001/image:latest",
    "localhost:5000/app:-x",
    "gcr.io/app:.x",
    "gcr.io/app:_",
    "[::1]:5000/app:v1",
    "index.docker.io/library/ubuntu:latest",
    "localhost/app:5000",
];

/// Valid weak (with their canonical name); rejected strict.
const GOOD_WEAK_TAGS: &[(&str, &str)] = &[
    (
        "namespace/pathcomponent/image",
        "index.docker.io/namespace/pathcomponent/image:latest",
    ),
    ("library/ubuntu", "index.docker.io/library/ubuntu:latest"),
    (
        "gcr.io/project-id/implicit-latest",
        "gcr.io/project-id/implicit-latest:latest",
    ),
    (
        "www.example.test:12345/repo/path",
        "www.example.test:12345/repo/path:latest",
    ),
    ("ubuntu", "index.docker.io/library/ubuntu:latest"),
    ("ubuntu:22.04", "index.docker.io/library/ubuntu:22.04"),
    (
        "docker.io/ubuntu:22.04",
        "index.docker.io/library/ubuntu:22.04",
    ),
    ("localhost:5000", "index.docker.io/library/localhost:5000"),
    ("gcr.io", "index.docker.io/library/gcr.io:latest"),
    // No per-component grammar, as in ggcr: "/" is a repository.
    ("/", "index.docker.io//:latest"),
];

/// A rejected input and a check on its error.
type BadCase = (String, fn(&Error) -> bool);

/// Rejected in both modes: (input, check on the error).
fn bad_tags() -> Vec<BadCase> {
    vec![
        ("gcr.io/project-id/bad_chars:c@n'tuse".into(), |e| {
            matches!(
                e,
                Error::Tag {
                    rule: TagRule::InvalidCharacter('@'),
                    ..
                }
            )
        }),
        ("gcr.io/project-id/wrong-length:white space".into(), |e| {
            matches!(
                e,
                Error::Tag {
                    rule: TagRule::InvalidCharacter(' '),
                    ..
                }
            )
        }),
        (
            format!("gcr.io/project-id/too-many-chars:{}", "t".repeat(129)),
            |e| {
                matches!(
                    e,
                    Error::Tag {
                        rule: TagRule::TooLong { len: 129 },
                        ..
                    }
                )
            },
        ),
        ("gcr.io/app:".into(), |e| {
            matches!(
                e,
                Error::Tag {
                    rule: TagRule::Empty,
                    ..
                }
            )
        }),
        ("ubuntu:".into(), |e| {
            matches!(
                e,
                Error::Tag {
                    rule: TagRule::Empty,
                    ..
                }
            )
        }),
        ("gcr.io/Ubuntu:1".into(), |e| {
            matches!(
                e,
                Error::Repository {
                    rule: RepositoryRule::Uppercase,
                    ..
                }
            )
        }),
        ("gcr.io/ubuntu:a/b:v1".into(), |e| {
            matches!(
                e,
                Error::Repository {
                    rule: RepositoryRule::InvalidCharacter(':'),
                    ..
                }
            )
        }),
        ("ubuntu:a/b:v1".into(), |e| {
            matches!(
                e,
                Error::Registry {
                    rule: RegistryRule::Port,
                    ..
                }
            )
        }),
        ("gcr.io/a b:1".into(), |e| {
            matches!(
                e,
                Error::Repository {
                    rule: RepositoryRule::InvalidCharacter(' '),
                    ..
                }
            )
        }),
        (":latest".into(), |e| {
            matches!(
                e,
                Error::Repository {
                    rule: RepositoryRule::Empty,
                    ..
                }
            )
        }),
    ]
}

/// Every digest name (with or without a tag) is rejected as a tag.
fn digest_names() -> Vec<String> {
    let mut v: Vec<String> = GOOD_STRICT_DIGESTS
        .iter()
        .map(|n| format!("{n}@{D256}"))
        .collect();
    v.extend(
        GOOD_STRICT_TAG_DIGESTS
            .iter()
            .map(|n| format!("{n}@{D256}")),
    );
    v.extend(GOOD_WEAK_DIGESTS.iter().map(|(n, _)| format!("{n}@{D256}")));
    v.extend(
        GOOD_WEAK_TAG_DIGESTS
            .iter()
            .map(|(n, _)| format!("{n}@{D256}")),
    );
    v
}

#[test]
fn tag_good_strict() {
    for &input in GOOD_STRICT_TAGS {
        for opts in [weak(), strict()] {
            let tag = Tag::with_options(input, &opts)
                .unwrap_or_else(|e| panic!("{input:?} should be valid: {e}"));
            assert_eq!(tag.name(), input);
            assert_eq!(tag.to_string(), input);
        }
    }
}

#[test]
fn tag_good_weak_only() {
    for (input, name) in GOOD_WEAK_TAGS {
        let tag = Tag::new(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(tag.name(), *name, "{input:?}");
        assert_eq!(tag.to_string(), *input);
        let err = Tag::with_options(input, &strict()).unwrap_err();
        assert!(
            matches!(err, Error::Strict { .. }),
            "{input:?} strict: {err:?}"
        );
    }
}

#[test]
fn tag_bad() {
    for (input, check) in bad_tags() {
        for opts in [weak(), strict()] {
            let err = Tag::with_options(&input, &opts)
                .expect_err(&format!("{input:?} should be rejected"));
            assert!(check(&err), "{input:?}: unexpected error {err:?}");
        }
    }
    for input in digest_names() {
        for opts in [weak(), strict()] {
            assert!(
                Tag::with_options(&input, &opts).is_err(),
                "{input:?} is not a tag"
            );
        }
    }
}

#[test]
fn tag_lengths() {
    let max = format!("gcr.io/a:{}", "t".repeat(128));
    assert_eq!(Tag::new(&max).unwrap().tag_str().len(), 128);
}

#[test]
fn tag_components() {
    let input = "gcr.io/project-id/image:latest";
    let tag = Tag::with_options(input, &strict()).unwrap();
    assert_eq!(tag.registry().name(), "gcr.io");
    assert_eq!(tag.repository().repository_str(), "project-id/image");
    assert_eq!(tag.tag_str(), "latest");
    assert_eq!(tag.identifier(), "latest");
    assert_eq!(tag.context().to_string(), "gcr.io/project-id/image");
    assert_eq!(tag.to_string(), input);
}

#[test]
fn tag_children_are_checked() {
    let repo = Repository::new("gcr.io/app").unwrap();
    let tag = repo.tag("v1").unwrap();
    assert_eq!(tag.name(), "gcr.io/app:v1");
    assert_eq!(tag.to_string(), "gcr.io/app:v1");
    for bad in ["", "a b", "a/b", "a@b", "a:b"] {
        assert!(matches!(repo.tag(bad), Err(Error::Tag { .. })), "{bad:?}");
    }
}

// ------------------------------------------------------------------ digest

const GOOD_STRICT_DIGESTS: &[&str] = &[
    "gcr.io/g-convoy/hello-world",
    "gcr.io/google.com/project-id/hello-world",
    "us.gcr.io/project-id/sub-repo",
    "example.text/foo/bar",
    "localhost:5000/app",
    "index.docker.io/library/ubuntu",
];

const GOOD_STRICT_TAG_DIGESTS: &[&str] = &[
    "example.text/foo/bar:latest",
    "example.text:8443/foo/bar:latest",
    "example.text/foo/bar:v1.0.0-alpine",
];

/// (base before the '@', canonical repository name)
const GOOD_WEAK_DIGESTS: &[(&str, &str)] = &[
    (
        "namespace/pathcomponent/image",
        "index.docker.io/namespace/pathcomponent/image",
    ),
    ("library/ubuntu", "index.docker.io/library/ubuntu"),
    ("ubuntu", "index.docker.io/library/ubuntu"),
    ("docker.io/ubuntu", "index.docker.io/library/ubuntu"),
];

const GOOD_WEAK_TAG_DIGESTS: &[(&str, &str)] = &[
    ("nginx:latest", "index.docker.io/library/nginx"),
    ("library/nginx:latest", "index.docker.io/library/nginx"),
    ("localhost:5000", "index.docker.io/library/localhost"),
];

fn bad_digests() -> Vec<BadCase> {
    vec![
        ("gcr.io/project-id/unknown-alg@unknown:abc123".into(), |e| {
            matches!(
                e,
                Error::Digest {
                    reason: DigestRule::UnsupportedAlgorithm(_),
                    ..
                }
            )
        }),
        (
            "gcr.io/project-id/wrong-length@sha256:d34db33fd34db33f".into(),
            |e| {
                matches!(
                    e,
                    Error::Digest {
                        reason: DigestRule::Length { actual: 16, .. },
                        ..
                    }
                )
            },
        ),
        ("gcr.io/project-id/missing-digest@".into(), |e| {
            matches!(
                e,
                Error::Digest {
                    reason: DigestRule::Separator,
                    ..
                }
            )
        }),
        (
            format!(
                "gcr.io/upper@{}",
                D256.to_uppercase().replace("SHA256", "sha256")
            ),
            |e| {
                matches!(
                    e,
                    Error::Digest {
                        reason: DigestRule::NotLowercaseHex,
                        ..
                    }
                )
            },
        ),
        (format!("gcr.io/short512@sha512:{}", "ab".repeat(32)), |e| {
            matches!(
                e,
                Error::Digest {
                    reason: DigestRule::Length { expected: 128, .. },
                    ..
                }
            )
        }),
        ("gcr.io/No-at-sign".into(), |e| {
            matches!(e, Error::DigestSeparator { found: 0, .. })
        }),
        (format!("gcr.io/two@{D256}@{D256}"), |e| {
            matches!(e, Error::DigestSeparator { found: 2, .. })
        }),
        (format!("gcr.io/Upper@{D256}"), |e| {
            matches!(
                e,
                Error::Repository {
                    rule: RepositoryRule::Uppercase,
                    ..
                }
            )
        }),
        (format!("gcr.io/app:bad!@{D256}"), |e| {
            matches!(
                e,
                Error::Tag {
                    rule: TagRule::InvalidCharacter('!'),
                    ..
                }
            )
        }),
        (format!("gcr.io/app:@{D256}"), |e| {
            matches!(
                e,
                Error::Tag {
                    rule: TagRule::Empty,
                    ..
                }
            )
        }),
        (format!("@{D256}"), |e| {
            matches!(
                e,
                Error::Repository {
                    rule: RepositoryRule::Empty,
                    ..
                }
            )
        }),
    ]
}

#[test]
fn digest_good_strict() {
    for base in GOOD_STRICT_DIGESTS {
        for digest in [D256.to_owned(), d512()] {
            let input = format!("{base}@{digest}");
            for opts in [weak(), strict()] {
                let d = DigestReference::with_options(&input, &opts)
                    .unwrap_or_else(|e| panic!("{input:?} should be valid: {e}"));
                assert_eq!(d.name(), input);
                assert_eq!(d.to_string(), input);
                assert_eq!(d.identifier(), digest);
                assert_eq!(d.tag_str(), None);
            }
        }
    }
}

#[test]
fn digest_with_tag_good_strict() {
    for base in GOOD_STRICT_TAG_DIGESTS {
        let input = format!("{base}@{D256}");
        for opts in [weak(), strict()] {
            let d = DigestReference::with_options(&input, &opts)
                .unwrap_or_else(|e| panic!("{input:?} should be valid: {e}"));
            let (repo, tag) = base.rsplit_once(':').unwrap();
            assert_eq!(d.name(), format!("{repo}@{D256}"), "the tag leaves name()");
            assert_eq!(d.to_string(), input, "the tag stays in Display");
            assert_eq!(d.tag_str(), Some(tag));
            // ggcr's TestTagRetrieval: name and tag rebuild the input.
            let rebuilt = format!("{}:{}@{}", d.context(), d.tag_str().unwrap(), d.digest());
            assert_eq!(rebuilt, input);
        }
    }
}

#[test]
fn digest_good_weak_only() {
    for (base, repo) in GOOD_WEAK_DIGESTS.iter().chain(GOOD_WEAK_TAG_DIGESTS) {
        let input = format!("{base}@{D256}");
        let d = DigestReference::new(&input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(d.name(), format!("{repo}@{D256}"), "{input:?}");
        assert_eq!(d.context().name(), *repo);
        assert_eq!(d.to_string(), input);
        let err = DigestReference::with_options(&input, &strict()).unwrap_err();
        assert!(
            matches!(err, Error::Strict { .. } | Error::Repository { .. }),
            "{input:?} strict: {err:?}"
        );
    }
}

#[test]
fn digest_bad() {
    for (input, check) in bad_digests() {
        for opts in [weak(), strict()] {
            let err = DigestReference::with_options(&input, &opts)
                .expect_err(&format!("{input:?} should be rejected"));
            assert!(check(&err), "{input:?}: unexpected error {err:?}");
        }
    }
}

#[test]
fn digest_components() {
    let input = format!("gcr.io/project-id/image@{D256}");
    let d = DigestReference::with_options(&input, &strict()).unwrap();
    assert_eq!(d.to_string(), input);
    assert_eq!(d.identifier(), D256);
    assert_eq!(d.digest(), D256.parse::<Digest>().unwrap());
    assert_eq!(d.registry().name(), "gcr.io");
    assert_eq!(d.repository().repository_str(), "project-id/image");
    assert_eq!(d.context().to_string(), "gcr.io/project-id/image");
}

#[test]
fn digest_tag_defaults_do_not_count_as_written() {
    let d = DigestReference::new(&format!("ubuntu@{D256}")).unwrap();
    assert_eq!(d.tag_str(), None);
    let d =
        DigestReference::with_options(&format!("ubuntu@{D256}"), &weak().default_tag("x")).unwrap();
    assert_eq!(d.tag_str(), None);
    assert_eq!(d.name(), format!("index.docker.io/library/ubuntu@{D256}"));
}

// --------------------------------------------------------------- reference

#[test]
fn reference_matches_tag_and_digest_parsers() {
    let mut tags: Vec<(String, Options)> = GOOD_STRICT_TAGS
        .iter()
        .flat_map(|t| [((*t).to_owned(), weak()), ((*t).to_owned(), strict())])
        .collect();
    tags.extend(
        GOOD_WEAK_TAGS
            .iter()
            .map(|(t, _)| ((*t).to_owned(), weak())),
    );
    for (input, opts) in &tags {
        let r = Reference::with_options(input, opts).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        let t = Tag::with_options(input, opts).unwrap();
        assert_eq!(r, Reference::Tag(t.clone()));
        assert_eq!(r.as_tag(), Some(&t));
        assert_eq!(r.digest(), None);
        assert_eq!(r.to_string(), *input);
    }

    let mut digests: Vec<(String, Options)> = Vec::new();
    for base in GOOD_STRICT_DIGESTS.iter().chain(GOOD_STRICT_TAG_DIGESTS) {
        digests.push((format!("{base}@{D256}"), weak()));
        digests.push((format!("{base}@{D256}"), strict()));
    }
    for (base, _) in GOOD_WEAK_DIGESTS.iter().chain(GOOD_WEAK_TAG_DIGESTS) {
        digests.push((format!("{base}@{D256}"), weak()));
    }
    for (input, opts) in &digests {
        let r = Reference::with_options(input, opts).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        let d = DigestReference::with_options(input, opts).unwrap();
        assert_eq!(r, Reference::Digest(d.clone()));
        assert_eq!(r.as_digest(), Some(&d));
        assert_eq!(r.digest(), Some(d.digest()));
        assert_eq!(r.to_string(), *input);
    }
}

#[test]
fn reference_bad() {
    let mut inputs: Vec<String> = bad_tags().into_iter().map(|(i, _)| i).collect();
    inputs.extend(bad_digests().into_iter().map(|(i, _)| i));
    inputs.extend(["@@", "@", ":", "http://gcr.io/x", "https://gcr.io/x"].map(String::from));
    for input in inputs {
        for opts in [weak(), strict()] {
            let err = Reference::with_options(&input, &opts)
                .expect_err(&format!("{input:?} should be rejected"));
            let msg = err.to_string();
            assert!(
                msg.contains(&format!("{input:?}")),
                "{msg} should quote {input:?}"
            );
        }
    }
}

#[test]
fn reference_picks_the_relevant_cause() {
    // No '@': the tag reading's reason.
    match Reference::parse("ubuntu:x!") {
        Err(Error::Reference { input, cause }) => {
            assert_eq!(input, "ubuntu:x!");
            assert!(matches!(
                *cause,
                Error::Tag {
                    rule: TagRule::InvalidCharacter('!'),
                    ..
                }
            ));
        }
        other => panic!("{other:?}"),
    }
    // An '@': the digest reading's reason.
    match Reference::parse("ubuntu@sha256:abc") {
        Err(Error::Reference { cause, .. }) => {
            assert!(matches!(
                *cause,
                Error::Digest {
                    reason: DigestRule::Length { .. },
                    ..
                }
            ));
        }
        other => panic!("{other:?}"),
    }
    // ggcr's TestBadName.
    match Reference::parse("@@") {
        Err(Error::Reference { input, cause }) => {
            assert_eq!(input, "@@");
            assert!(matches!(*cause, Error::DigestSeparator { found: 2, .. }));
        }
        other => panic!("{other:?}"),
    }
    // Strict: the missing tag is the reason, not the missing '@'.
    match Reference::with_options("gcr.io/app", &strict()) {
        Err(Error::Reference { cause, .. }) => {
            assert!(matches!(
                *cause,
                Error::Strict {
                    rule: StrictRule::TagRequired,
                    ..
                }
            ));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn reference_rejects_url_schemes() {
    for input in ["http://gcr.io/app", "https://localhost:5000/app:v1"] {
        assert_eq!(
            Reference::parse(input),
            Err(Error::UrlScheme {
                input: input.to_owned()
            })
        );
    }
    // The lower-level parsers keep ggcr's behaviour ("http:" is a host with an empty port).
    assert_eq!(Tag::new("http://x").unwrap().registry().name(), "http:");
}

#[test]
fn reference_accessors() {
    let r = Reference::parse(&format!("gcr.io/a/b:v1@{D256}")).unwrap();
    assert_eq!(r.name(), format!("gcr.io/a/b@{D256}"));
    assert_eq!(r.identifier(), D256);
    assert_eq!(r.context().name(), "gcr.io/a/b");
    assert_eq!(r.repository().name(), "gcr.io/a/b");
    assert_eq!(r.registry().name(), "gcr.io");
    assert_eq!(r.scope(Action::Pull), "repository:a/b:pull");
    let t = Reference::from(Tag::new("gcr.io/a:v2").unwrap());
    assert_eq!(t.identifier(), "v2");
    let d = Reference::from(DigestReference::new(&format!("gcr.io/a@{D256}")).unwrap());
    assert_eq!(d.identifier(), D256);
}

// -------------------------------------------------------------- defaulting

/// (input, options, name(), registry name, repository_str(), identifier)
type DefaultingRow = (String, Options, String, &'static str, &'static str, String);

#[rustfmt::skip]
fn defaulting_table() -> Vec<DefaultingRow> {
    let gcr = || weak().default_registry("gcr.io");
    let row = |i: &str, o: Options, n: &str, reg, repo, id: &str| {
        (i.to_owned(), o, n.to_owned(), reg, repo, id.to_owned())
    };
    vec![
        row("ubuntu", weak(), "index.docker.io/library/ubuntu:latest", "index.docker.io", "library/ubuntu", "latest"),
        row("docker.io/ubuntu", weak(), "index.docker.io/library/ubuntu:latest", "index.docker.io", "library/ubuntu", "latest"),
        row("docker.io/library/ubuntu:22.04", weak(), "index.docker.io/library/ubuntu:22.04", "index.docker.io", "library/ubuntu", "22.04"),
        row("index.docker.io/ubuntu", weak(), "index.docker.io/library/ubuntu:latest", "index.docker.io", "library/ubuntu", "latest"),
        row("registry-1.docker.io/ubuntu", weak(), "registry-1.docker.io/ubuntu:latest", "registry-1.docker.io", "ubuntu", "latest"),
        row("gcr.io/ubuntu", weak(), "gcr.io/ubuntu:latest", "gcr.io", "ubuntu", "latest"),
        row("foo/bar", weak(), "index.docker.io/foo/bar:latest", "index.docker.io", "foo/bar", "latest"),
        row("gcr.io", weak(), "index.docker.io/library/gcr.io:latest", "index.docker.io", "library/gcr.io", "latest"),
        row("localhost:5000", weak(), "index.docker.io/library/localhost:5000", "index.docker.io", "library/localhost", "5000"),
        row("localhost/foo", weak(), "localhost/foo:latest", "localhost", "foo", "latest"),
        row("ubuntu", gcr(), "gcr.io/ubuntu:latest", "gcr.io", "ubuntu", "latest"),
        row("a/b:c", gcr(), "gcr.io/a/b:c", "gcr.io", "a/b", "c"),
        row("docker.io/x", gcr(), "index.docker.io/library/x:latest", "index.docker.io", "library/x", "latest"),
        row("ubuntu", weak().default_registry("docker.io"), "index.docker.io/library/ubuntu:latest", "index.docker.io", "library/ubuntu", "latest"),
        row("a/b", weak().default_registry("registry.local:5000"), "registry.local:5000/a/b:latest", "registry.local:5000", "a/b", "latest"),
        row("ubuntu", weak().default_tag("stable"), "index.docker.io/library/ubuntu:stable", "index.docker.io", "library/ubuntu", "stable"),
        row("ubuntu:1", weak().default_tag("stable"), "index.docker.io/library/ubuntu:1", "index.docker.io", "library/ubuntu", "1"),
        row("ubuntu", gcr().default_tag("v"), "gcr.io/ubuntu:v", "gcr.io", "ubuntu", "v"),
        row(&format!("ubuntu@{D256}"), weak(), &format!("index.docker.io/library/ubuntu@{D256}"), "index.docker.io", "library/ubuntu", D256),
        row(&format!("ubuntu@{D256}"), gcr(), &format!("gcr.io/ubuntu@{D256}"), "gcr.io", "ubuntu", D256),
        row(&format!("docker.io/x:y@{D256}"), weak(), &format!("index.docker.io/library/x@{D256}"), "index.docker.io", "library/x", D256),
    ]
}

#[test]
fn defaulting() {
    assert_eq!(DEFAULT_REGISTRY, "index.docker.io");
    assert_eq!(DEFAULT_TAG, "latest");
    for (input, opts, name, registry, repo, id) in defaulting_table() {
        let r = Reference::with_options(&input, &opts).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(r.name(), name, "name() of {input:?} with {opts:?}");
        assert_eq!(r.registry().name(), registry, "{input:?}");
        assert_eq!(r.context().repository_str(), repo, "{input:?}");
        assert_eq!(r.identifier(), id, "{input:?}");
        assert_eq!(r.to_string(), input, "Display keeps the input");
    }
}

#[test]
fn strict_rules() {
    let at = |base: &str| format!("{base}@{D256}");
    let table: Vec<(String, StrictRule)> = vec![
        ("ubuntu:latest".into(), StrictRule::RegistryRequired),
        ("library/ubuntu:latest".into(), StrictRule::RegistryRequired),
        ("gcr.io/foo".into(), StrictRule::TagRequired),
        ("localhost:5000/foo".into(), StrictRule::TagRequired),
        (
            "index.docker.io/ubuntu:latest".into(),
            StrictRule::LibraryNamespace,
        ),
        (
            "docker.io/ubuntu:latest".into(),
            StrictRule::LibraryNamespace,
        ),
        (at("ubuntu"), StrictRule::RegistryRequired),
        (at("index.docker.io/ubuntu"), StrictRule::LibraryNamespace),
        (at("docker.io/ubuntu:v1"), StrictRule::LibraryNamespace),
    ];
    for (input, rule) in table {
        match Reference::with_options(&input, &strict()) {
            Err(Error::Reference { cause, .. }) => match *cause {
                Error::Strict { rule: got, .. } => assert_eq!(got, rule, "{input:?}"),
                other => panic!("{input:?}: expected {rule:?}, got {other:?}"),
            },
            other => panic!("{input:?}: expected {rule:?}, got {other:?}"),
        }
        assert!(Reference::parse(&input).is_ok(), "{input:?} is fine weak");
    }
}

#[test]
fn bad_default_tag_is_reported() {
    for bad in ["", "bad tag", "a/b"] {
        let err = Tag::with_options("ubuntu", &weak().default_tag(bad)).unwrap_err();
        assert!(
            matches!(&err, Error::Tag { tag, .. } if tag == bad),
            "{bad:?}: {err:?}"
        );
        // A written tag does not consult the default.
        assert!(Tag::with_options("ubuntu:1", &weak().default_tag(bad)).is_ok());
    }
}

// ------------------------------------------------------ display vs name()

#[test]
fn display_versus_name() {
    // (input, Display, name())
    let table: Vec<(String, String)> = vec![
        (
            "ubuntu".into(),
            "index.docker.io/library/ubuntu:latest".into(),
        ),
        (
            "docker.io/ubuntu:22.04".into(),
            "index.docker.io/library/ubuntu:22.04".into(),
        ),
        ("gcr.io/app".into(), "gcr.io/app:latest".into()),
        ("gcr.io/app:v1".into(), "gcr.io/app:v1".into()),
        (
            format!("app@{D256}"),
            format!("index.docker.io/library/app@{D256}"),
        ),
        (
            format!("gcr.io/app:v1@{D256}"),
            format!("gcr.io/app@{D256}"),
        ),
    ];
    for (input, name) in table {
        let r = Reference::parse(&input).unwrap();
        assert_eq!(r.to_string(), input);
        assert_eq!(r.name(), name);
    }
    // Registry and Repository display their name, as in ggcr.
    assert_eq!(
        Registry::new("docker.io").unwrap().to_string(),
        "index.docker.io"
    );
    assert_eq!(
        Repository::new("ubuntu").unwrap().to_string(),
        "index.docker.io/library/ubuntu"
    );
}

#[test]
fn equality_is_on_name() {
    let a = Reference::parse("ubuntu").unwrap();
    let b = Reference::parse("index.docker.io/library/ubuntu:latest").unwrap();
    let c = Reference::parse("docker.io/library/ubuntu").unwrap();
    assert_eq!(a, b);
    assert_eq!(b, c);
    let set: HashSet<Reference> = [a, b, c].into_iter().collect();
    assert_eq!(set.len(), 1);

    let with_tag = Reference::parse(&format!("gcr.io/x:v1@{D256}")).unwrap();
    let without = Reference::parse(&format!("gcr.io/x@{D256}")).unwrap();
    assert_eq!(with_tag, without);
    assert_ne!(Reference::parse("gcr.io/x:v1").unwrap(), without);
    assert_ne!(
        Reference::parse("gcr.io/x:v1").unwrap(),
        Reference::parse("gcr.io/x:v2").unwrap()
    );

    let secure = Registry::new("gcr.io").unwrap();
    let insecure = Registry::with_options("gcr.io", &weak().insecure(true)).unwrap();
    assert_eq!(secure, insecure, "insecure is not part of the identity");
    assert_ne!(Registry::new("GCR.io").unwrap(), secure, "case is kept");
    assert_eq!(
        Repository::new("ubuntu").unwrap(),
        Repository::new("library/ubuntu").unwrap()
    );
    let mut sorted = [Tag::new("b").unwrap(), Tag::new("a").unwrap()];
    sorted.sort();
    assert_eq!(sorted[0].to_string(), "a");
}

// ------------------------------------------------------------------ scopes

#[test]
fn scopes() {
    let repo = Repository::new("gcr.io/project-id/image").unwrap();
    let table = [
        (Action::Pull, "repository:project-id/image:pull"),
        (Action::Push, "repository:project-id/image:push"),
        (Action::Delete, "repository:project-id/image:delete"),
        (Action::PushPull, "repository:project-id/image:push,pull"),
        (
            Action::PushPullDelete,
            "repository:project-id/image:push,pull,delete",
        ),
        (Action::All, "repository:project-id/image:*"),
    ];
    let tag = repo.tag("latest").unwrap();
    let digest = repo.digest(D256.parse().unwrap());
    for (action, want) in table {
        assert_eq!(repo.scope(action), want);
        assert_eq!(tag.scope(action), want);
        assert_eq!(digest.scope(action), want);
        assert_eq!(Reference::from(tag.clone()).scope(action), want);
    }
    assert_eq!(
        repo.scope_str("pull,push"),
        "repository:project-id/image:pull,push"
    );
    assert_eq!(
        tag.scope_str("metadata"),
        "repository:project-id/image:metadata"
    );
    // Docker Hub scopes carry the library/ namespace.
    assert_eq!(
        Reference::parse("ubuntu").unwrap().scope(Action::Pull),
        "repository:library/ubuntu:pull"
    );
}

// ------------------------------------------------------------------- serde

#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Doc {
    registry: Registry,
    repository: Repository,
    tag: Tag,
    digest: DigestReference,
    reference: Reference,
}

#[test]
fn json_round_trips() {
    let json = format!(
        r#"{{"registry":"docker.io","repository":"ubuntu","tag":"ubuntu","digest":"app:v1@{D256}","reference":"gcr.io/x"}}"#
    );
    let doc: Doc = serde_json::from_str(&json).unwrap();
    assert_eq!(doc.registry.name(), "index.docker.io");
    assert_eq!(doc.tag.name(), "index.docker.io/library/ubuntu:latest");
    let out = serde_json::to_string(&doc).unwrap();
    // Registries and repositories write their name; tags and digests the input.
    let want = format!(
        r#"{{"registry":"index.docker.io","repository":"index.docker.io/library/ubuntu","tag":"ubuntu","digest":"app:v1@{D256}","reference":"gcr.io/x"}}"#
    );
    assert_eq!(out, want);
    let again: Doc = serde_json::from_str(&out).unwrap();
    assert_eq!(again, doc);
    assert_eq!(again.digest.to_string(), doc.digest.to_string());
}

#[test]
fn json_uses_weak_options_and_rejects_bad_names() {
    let r: Reference = serde_json::from_str(r#""ubuntu""#).unwrap();
    assert_eq!(r.name(), "index.docker.io/library/ubuntu:latest");
    for bad in [r#""Ubuntu""#, r#""a b""#, "42", "null", r#""x@sha256:1""#] {
        assert!(serde_json::from_str::<Reference>(bad).is_err(), "{bad}");
    }
    let err = serde_json::from_str::<Tag>(r#""ubuntu:x!""#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("\"x!\""), "{err}");
}

// ---------------------------------------------------------- error messages

#[test]
fn error_messages_quote_input_and_rule() {
    let table: Vec<(Result<(), Error>, String)> = vec![
        (
            Tag::new("ubuntu:x!").map(drop),
            r#"invalid tag "x!": tags are 1-128 characters of [A-Za-z0-9_.-] (found '!')"#.into(),
        ),
        (
            Tag::new("ubuntu:").map(drop),
            r#"invalid tag "": tags are 1-128 characters of [A-Za-z0-9_.-] (the tag after ':' is empty)"#.into(),
        ),
        (
            Repository::new("Foo").map(drop),
            r#"invalid repository "Foo": repository must be lowercase"#.into(),
        ),
        (
            Repository::new("gcr.io/").map(drop),
            r#"invalid repository "": a repository name must be given"#.into(),
        ),
        (
            Registry::new("a b").map(drop),
            r#"registry "a b" is not a valid host[:port]: invalid character ' '"#.into(),
        ),
        (
            Registry::new("gcr.io:http").map(drop),
            r#"registry "gcr.io:http" is not a valid host[:port]: the port after the last ':' must be digits"#.into(),
        ),
        (
            Tag::with_options("ubuntu:1", &strict()).map(drop),
            r#"strict validation rejected "ubuntu": the registry must be given explicitly"#.into(),
        ),
        (
            Tag::with_options("gcr.io/app", &strict()).map(drop),
            r#"strict validation rejected "gcr.io/app": a tag or digest must be given explicitly"#.into(),
        ),
        (
            Tag::with_options("index.docker.io/ubuntu:1", &strict()).map(drop),
            r#"strict validation rejected "index.docker.io/ubuntu": Docker Hub repository needs the library/ namespace spelled out"#.into(),
        ),
        (
            DigestReference::new("ubuntu@sha256:abc").map(drop),
            r#"invalid digest "sha256:abc": sha256 needs 64 hex characters, found 3"#.into(),
        ),
        (
            Reference::parse("@@").map(drop),
            r#"invalid reference "@@": invalid digest reference "@@": expected exactly one '@' between repository and digest (registry/repository@algorithm:hex), found 2"#.into(),
        ),
        (
            Reference::parse("Ubuntu").map(drop),
            r#"invalid reference "Ubuntu": invalid repository "Ubuntu": repository must be lowercase"#.into(),
        ),
        (
            Reference::parse("http://gcr.io/x").map(drop),
            r#"invalid reference "http://gcr.io/x": image references have no URL scheme; drop the "http://" or "https://" (use the insecure option for plain http)"#.into(),
        ),
        (
            "pull,fetch".parse::<Action>().map(drop),
            r#"unknown scope action "pull,fetch" (expected pull, push, delete, push,pull, push,pull,delete or *)"#.into(),
        ),
    ];
    for (result, want) in table {
        let err = result.expect_err(&want);
        assert_eq!(err.to_string(), want);
    }
}

#[test]
fn errors_are_std_errors() {
    fn assert_error<E: std::error::Error + Send + Sync + 'static>(_: &E) {}
    let err = Reference::parse("@@").unwrap_err();
    assert_error(&err);
    // The cause is in the message, not repeated as a source.
    assert!(std::error::Error::source(&err).is_none());
}

// ---------------------------------------------------------------- property

mod property {
    use super::*;
    use proptest::prelude::*;

    fn registry() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            prop::sample::select(vec![
                "gcr.io",
                "docker.io",
                "index.docker.io",
                "registry-1.docker.io",
                "localhost",
                "localhost:5000",
                "[::1]:5000",
                "::1",
                "127.0.0.1:8080",
                "10.0.0.2",
                "Upper.Example.COM",
                "host_name.io:",
            ])
            .prop_map(str::to_owned),
            "[a-z][a-z0-9-]{0,8}\\.[a-z]{2,4}(:[0-9]{1,5})?",
        ]
    }

    fn path() -> impl Strategy<Value = String> {
        // Segments of `.` or `..` are refused (beyond ggcr), so the generator skips them.
        prop::collection::vec(
            "[a-z0-9_.-]{1,8}".prop_filter("not a dot segment", |s| s != "." && s != ".."),
            1..4,
        )
        .prop_map(|v| v.join("/"))
    }

    fn suffix() -> impl Strategy<Value = String> {
        let tag = "[A-Za-z0-9_.-]{1,20}";
        let digest = prop_oneof![
            "[0-9a-f]{64}".prop_map(|h| format!("sha256:{h}")),
            "[0-9a-f]{128}".prop_map(|h| format!("sha512:{h}")),
        ];
        prop_oneof![
            Just(String::new()),
            tag.prop_map(|t| format!(":{t}")),
            digest.clone().prop_map(|d| format!("@{d}")),
            (tag, digest).prop_map(|(t, d)| format!(":{t}@{d}")),
        ]
    }

    fn check_fixed_point(r: &Reference) -> Result<(), TestCaseError> {
        let again = Reference::parse(r.name()).map_err(|e| {
            TestCaseError::fail(format!("name() {:?} does not parse: {e}", r.name()))
        })?;
        prop_assert_eq!(&again, r);
        prop_assert_eq!(again.name(), r.name());
        prop_assert_eq!(again.to_string(), r.name());
        prop_assert_eq!(
            matches!(again, Reference::Tag(_)),
            matches!(r, Reference::Tag(_))
        );
        let twice = Reference::parse(again.name()).expect("a fixed point parses");
        prop_assert_eq!(twice.name(), r.name());
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Well-formed references parse, keep their spelling in Display,
        /// and their name() parses back to an equal reference.
        #[test]
        fn valid_references_round_trip(reg in registry(), path in path(), suffix in suffix()) {
            let input = if reg.is_empty() { format!("{path}{suffix}") } else { format!("{reg}/{path}{suffix}") };
            // Short Docker Hub paths get library/ and stay short; only a
            // leading component that looks like a host changes meaning,
            // which parsing still accepts.
            let r = Reference::parse(&input)
                .map_err(|e| TestCaseError::fail(format!("{input:?}: {e}")))?;
            prop_assert_eq!(r.to_string(), input.clone());
            check_fixed_point(&r)?;
        }

        /// Whatever parses, however odd, has a name() that is a fixed point.
        #[test]
        fn anything_that_parses_has_a_fixed_point(s in "[a-zA-Z0-9:/@._\\[\\]-]{0,24}", d in prop::option::of("[0-9a-f]{64}")) {
            let input = match d { Some(h) => format!("{s}@sha256:{h}"), None => s };
            if let Ok(r) = Reference::parse(&input) {
                prop_assert_eq!(r.to_string(), input.clone());
                check_fixed_point(&r)?;
            }
        }
    }
}

/// `.` and `..` segments never reach a URL: every way of naming a repository refuses them
/// (beyond ggcr, which passes `reg/repo/../x` through to `/v2/repo/../x/...`).
#[test]
fn dot_segments_are_refused_everywhere() {
    for input in [
        "reg.example/repo/../x",
        "reg.example/repo/../x:tag",
        "reg.example/./x:tag",
        "localhost:5000/a/..",
        "repo/../x",
    ] {
        let err = input.parse::<Reference>().expect_err(input).to_string();
        assert!(err.contains("may not be"), "{input}: {err}");
    }
    for input in ["reg.example/repo/../x", "localhost:5000/a/..", "x/./y"] {
        assert!(input.parse::<Repository>().is_err(), "{input}");
    }
    let d = format!("reg.example/a/../b@sha256:{}", "0".repeat(64));
    assert!(d.parse::<Reference>().is_err(), "{d}");
    // Dots inside a segment stay valid.
    assert!("reg.example/a/..b/.c:tag".parse::<Reference>().is_ok());
}

/// regclient's documented registry references (seed 000): a missing registry is Docker Hub,
/// a missing namespace there is `library`, and a host with a port and a digest stays as
/// written.
#[test]
fn regclient_documented_references() {
    let alpine = Reference::parse("alpine").expect("alpine");
    assert_eq!(alpine.registry().name(), DEFAULT_REGISTRY);
    assert_eq!(alpine.repository().repository_str(), "library/alpine");
    assert_eq!(alpine.identifier(), "latest");
    assert_eq!(alpine.name(), "index.docker.io/library/alpine:latest");
    let hex = "3f5754829e9747db418bd1a5a40f418b073ed863cba4d57aaeaefa08118c4743";
    let pinned = Reference::parse(&format!(
        "registry.example.com:5000/username/project@sha256:{hex}"
    ))
    .expect("pinned");
    assert_eq!(pinned.registry().name(), "registry.example.com:5000");
    assert_eq!(pinned.repository().repository_str(), "username/project");
    assert_eq!(
        pinned.digest().map(|d| d.to_string()),
        Some(format!("sha256:{hex}"))
    );
    // The first component counts as a registry only with a `.`, a `:` or `localhost`.
    for (given, registry) in [
        ("localhost/x", "localhost"),
        ("a.b/x", "a.b"),
        ("a:1/x", "a:1"),
        ("user/x", DEFAULT_REGISTRY),
    ] {
        let r = Reference::parse(given).expect(given);
        assert_eq!(r.registry().name(), registry, "{given}");
    }
}
