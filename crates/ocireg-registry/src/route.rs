//! Request parsing: the route of a `/v2/...` path, query parameters, and the
//! `Range` and `Content-Range` headers.

/// An endpoint of the distribution API, with the raw (unvalidated) parts of
/// its path. Names, references and digests are validated by the handlers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    /// `/v2/`
    Base,
    /// `/v2/_catalog`
    Catalog,
    /// `/v2/<name>/tags/list`
    Tags { name: String },
    /// `/v2/<name>/manifests/<reference>`
    Manifest { name: String, reference: String },
    /// `/v2/<name>/blobs/uploads/` (start an upload)
    UploadStart { name: String },
    /// `/v2/<name>/blobs/uploads/<id>`
    Upload { name: String, id: String },
    /// `/v2/<name>/blobs/<digest>`
    Blob { name: String, digest: String },
    /// `/v2/<name>/referrers/<digest>`
    Referrers { name: String, digest: String },
}

impl Route {
    /// Routes a request path (without query). `None` for paths outside the API.
    ///
    /// Repository names may contain slashes, so the endpoint is recognised
    /// from the end of the path and everything before it is the name.
    pub(crate) fn parse(path: &str) -> Option<Self> {
        let rest = path.strip_prefix("/v2")?;
        if rest.is_empty() || rest == "/" {
            return Some(Self::Base);
        }
        let rest = rest.strip_prefix('/')?;
        if rest == "_catalog" {
            return Some(Self::Catalog);
        }
        let segments: Vec<String> = rest.split('/').map(percent_decode).collect::<Option<_>>()?;
        let n = segments.len();
        let name_of =
            |upto: usize| -> Option<String> { (upto > 0).then(|| segments[..upto].join("/")) };
        let tail = |k: usize| -> Vec<&str> {
            segments[n.saturating_sub(k)..]
                .iter()
                .map(String::as_str)
                .collect()
        };
        if n >= 3 {
            match tail(3).as_slice() {
                ["blobs", "uploads", ""] => {
                    return Some(Self::UploadStart {
                        name: name_of(n - 3)?,
                    });
                }
                ["blobs", "uploads", id] => {
                    return Some(Self::Upload {
                        name: name_of(n - 3)?,
                        id: (*id).to_owned(),
                    });
                }
                _ => {}
            }
        }
        if n >= 2 {
            let name = name_of(n - 2);
            match tail(2).as_slice() {
                ["tags", "list"] => return Some(Self::Tags { name: name? }),
                ["blobs", "uploads"] => return Some(Self::UploadStart { name: name? }),
                ["manifests", reference] if !reference.is_empty() => {
                    return Some(Self::Manifest {
                        name: name?,
                        reference: (*reference).to_owned(),
                    });
                }
                ["blobs", digest] if !digest.is_empty() => {
                    return Some(Self::Blob {
                        name: name?,
                        digest: (*digest).to_owned(),
                    });
                }
                ["referrers", digest] if !digest.is_empty() => {
                    return Some(Self::Referrers {
                        name: name?,
                        digest: (*digest).to_owned(),
                    });
                }
                _ => {}
            }
        }
        None
    }
}

/// Decodes `%XX` escapes (and, in query strings, `+` as a space, as Go's
/// `url.ParseQuery` does, since the clients we mirror are written in Go).
fn decode(input: &str, plus_is_space: bool) -> Option<String> {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Decodes one path segment. `None` when the escapes are malformed or a
/// decoded segment would contain a slash (which would change the routing).
fn percent_decode(segment: &str) -> Option<String> {
    let decoded = decode(segment, false)?;
    (!decoded.contains('/')).then_some(decoded)
}

/// The decoded `key=value` pairs of a query string, in order. Malformed
/// pairs are skipped.
pub(crate) fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    let Some(query) = query else {
        return Vec::new();
    };
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .filter_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            Some((decode(key, true)?, decode(value, true)?))
        })
        .collect()
}

/// The first value of `key`, if any.
pub(crate) fn query_get<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// The outcome of interpreting a `Range` request header against a blob size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RangeRequest {
    /// No range (or one we ignore, as RFC 9110 allows): send everything.
    Full,
    /// Send bytes `start..=end` (already clamped to the blob).
    Partial { start: u64, end: u64 },
    /// The range cannot be satisfied: 416.
    Unsatisfiable,
}

/// Interprets a single `bytes=` range: `a-b`, `a-` or `-n`.
///
/// Other units and multi-range requests are ignored (the whole blob is
/// sent). A range whose end is before its start, or that starts past the
/// end, is unsatisfiable, as the conformance suite expects.
pub(crate) fn parse_range(header: &str, size: u64) -> RangeRequest {
    let Some(spec) = header.trim().strip_prefix("bytes=") else {
        return RangeRequest::Full;
    };
    if spec.contains(',') {
        return RangeRequest::Full;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeRequest::Unsatisfiable;
    };
    let parse = |s: &str| -> Option<u64> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    match (first.trim(), last.trim()) {
        ("", suffix) => match parse(suffix) {
            Some(n) if n > 0 && size > 0 => RangeRequest::Partial {
                start: size.saturating_sub(n),
                end: size - 1,
            },
            // RFC 9110 §14.1.1: on an empty representation a suffix range
            // is the one satisfiable form, yet no byte range can describe
            // it; we ignore it, as §14.2 allows, and send the (empty) whole.
            Some(n) if n > 0 => RangeRequest::Full,
            _ => RangeRequest::Unsatisfiable,
        },
        (start, "") => match parse(start) {
            Some(start) if start < size => RangeRequest::Partial {
                start,
                end: size - 1,
            },
            _ => RangeRequest::Unsatisfiable,
        },
        (start, end) => match (parse(start), parse(end)) {
            (Some(start), Some(end)) if start <= end && start < size => RangeRequest::Partial {
                start,
                end: end.min(size - 1),
            },
            _ => RangeRequest::Unsatisfiable,
        },
    }
}

/// Parses an upload chunk's `Content-Range: <start>-<end>` (inclusive; a
/// `bytes ` or `bytes=` prefix is tolerated). `None` when malformed.
pub(crate) fn parse_content_range(header: &str) -> Option<(u64, u64)> {
    let spec = header.trim();
    let spec = spec
        .strip_prefix("bytes=")
        .or_else(|| spec.strip_prefix("bytes "))
        .unwrap_or(spec);
    let (start, end) = spec.split_once('-')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(start) || !digits(end) {
        return None;
    }
    let (start, end): (u64, u64) = (start.parse().ok()?, end.parse().ok()?);
    (start <= end).then_some((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> String {
        v.to_owned()
    }

    #[test]
    fn routes() {
        let d = "sha256:0123";
        let table: Vec<(&str, Option<Route>)> = vec![
            ("/v2/", Some(Route::Base)),
            ("/v2", Some(Route::Base)),
            ("/v2/_catalog", Some(Route::Catalog)),
            ("/v2/a/tags/list", Some(Route::Tags { name: s("a") })),
            (
                "/v2/a/b/c/tags/list",
                Some(Route::Tags { name: s("a/b/c") }),
            ),
            (
                "/v2/a/b/manifests/latest",
                Some(Route::Manifest {
                    name: s("a/b"),
                    reference: s("latest"),
                }),
            ),
            (
                "/v2/a/manifests/b/manifests/x",
                Some(Route::Manifest {
                    name: s("a/manifests/b"),
                    reference: s("x"),
                }),
            ),
            (
                "/v2/a/b/blobs/uploads/",
                Some(Route::UploadStart { name: s("a/b") }),
            ),
            (
                "/v2/a/b/blobs/uploads",
                Some(Route::UploadStart { name: s("a/b") }),
            ),
            (
                "/v2/a/b/blobs/uploads/1234-5678",
                Some(Route::Upload {
                    name: s("a/b"),
                    id: s("1234-5678"),
                }),
            ),
            (
                "/v2/a/b/blobs/sha256:0123",
                Some(Route::Blob {
                    name: s("a/b"),
                    digest: s(d),
                }),
            ),
            (
                "/v2/a/b/blobs/sha256%3A0123",
                Some(Route::Blob {
                    name: s("a/b"),
                    digest: s(d),
                }),
            ),
            (
                "/v2/a/referrers/sha256:0123",
                Some(Route::Referrers {
                    name: s("a"),
                    digest: s(d),
                }),
            ),
            ("/v2/tags/list", None),
            ("/v2/manifests/latest", None),
            ("/v2/a/manifests/", None),
            ("/v2/a/blobs/", None),
            ("/v2/a/unknown", None),
            ("/v2/a/b%2fc/tags/list", None),
            ("/v2/a/b%zz/tags/list", None),
            ("/v3/", None),
            ("/v2x/", None),
            ("/", None),
        ];
        for (path, want) in table {
            assert_eq!(Route::parse(path), want, "{path}");
        }
    }

    #[test]
    fn query() {
        let pairs = query_pairs(Some(
            "n=10&last=a%2Fb&artifactType=application%2Fx%2Bjson&flag&x=a+b&tag=1&tag=2",
        ));
        assert_eq!(query_get(&pairs, "n"), Some("10"));
        assert_eq!(query_get(&pairs, "last"), Some("a/b"));
        assert_eq!(
            query_get(&pairs, "artifactType"),
            Some("application/x+json")
        );
        assert_eq!(query_get(&pairs, "flag"), Some(""));
        assert_eq!(query_get(&pairs, "x"), Some("a b"));
        assert_eq!(query_get(&pairs, "missing"), None);
        assert_eq!(pairs.iter().filter(|(k, _)| k == "tag").count(), 2);
        assert!(query_pairs(None).is_empty());
        assert!(query_pairs(Some("bad=%zz")).is_empty());
    }

    #[test]
    fn ranges() {
        use RangeRequest::{Full, Partial, Unsatisfiable};
        let table: &[(&str, u64, RangeRequest)] = &[
            (
                "bytes=500-1499",
                2048,
                Partial {
                    start: 500,
                    end: 1499,
                },
            ),
            (
                "bytes=500-",
                2048,
                Partial {
                    start: 500,
                    end: 2047,
                },
            ),
            (
                "bytes=-500",
                2048,
                Partial {
                    start: 1548,
                    end: 2047,
                },
            ),
            (
                "bytes=-5000",
                2048,
                Partial {
                    start: 0,
                    end: 2047,
                },
            ),
            (
                "bytes=2000-5000",
                2048,
                Partial {
                    start: 2000,
                    end: 2047,
                },
            ),
            ("bytes=0-0", 1, Partial { start: 0, end: 0 }),
            ("bytes=500-0", 2048, Unsatisfiable),
            ("bytes=5000-10000", 2048, Unsatisfiable),
            ("bytes=2048-", 2048, Unsatisfiable),
            ("bytes=-0", 2048, Unsatisfiable),
            ("bytes=0-0", 0, Unsatisfiable),
            ("bytes=0-", 0, Unsatisfiable),
            ("bytes=-1", 0, Full),
            ("bytes=-0", 0, Unsatisfiable),
            ("bytes=x-1", 2048, Unsatisfiable),
            ("bytes=1", 2048, Unsatisfiable),
            ("bytes=+1-2", 2048, Unsatisfiable),
            ("bytes=0-1,4-5", 2048, Full),
            ("items=0-1", 2048, Full),
        ];
        for (header, size, want) in table {
            assert_eq!(parse_range(header, *size), *want, "{header} of {size}");
        }
    }

    #[test]
    fn content_ranges() {
        let table: &[(&str, Option<(u64, u64)>)] = &[
            ("0-9", Some((0, 9))),
            ("10-19", Some((10, 19))),
            ("bytes 0-9", Some((0, 9))),
            ("bytes=0-9", Some((0, 9))),
            ("9-0", None),
            ("0-", None),
            ("-9", None),
            ("a-b", None),
            ("0-9/10", None),
            ("", None),
        ];
        for (header, want) in table {
            assert_eq!(parse_content_range(header), *want, "{header}");
        }
    }
}
