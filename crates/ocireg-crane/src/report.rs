//! [`Report`]: how an error and its causes are shown to a user, on one line or (verbose)
//! one line per cause, escaped for a terminal.

use std::error::Error as StdError;
use std::fmt;

use ocireg_transport::Error as TransportError;

use crate::error::Error;
use crate::text::escape_text;

/// How an error and its causes are shown to a user.
///
/// The short form is one line, `<what we were doing>: <why>`, where `why` is
/// the immediate cause followed by the root cause when there is more than one.
/// Each thing is said once, decided by the kinds of the errors, never by
/// comparing their text:
///
/// - under a crane context about one [`subject`](Error::subject)
///   (`fetching the manifest of r.io/app:v1`), the remote layer's own step
///   (`fetching manifest r.io/app:v1`: an action and a reference, its reason in
///   its cause) is left out: the cause that follows names what failed (the
///   URL of a request, the digest of content);
/// - under `parsing reference "x"`, the name parser's `invalid reference "x"`
///   gives way to the rule that was broken;
/// - a ping failure, which sums up its own cause in its message, is not
///   followed by that cause again, nor is a layout's file error (`open <path>: <why>`,
///   or `fs_err`'s ``failed to open file `<path>`: <why>``);
///
/// and registry error details (`{"Tag":"v1"}`) are not shown. The verbose form
/// lists every cause on its own line, details included (the alternate `{:#}`
/// form of each).
///
/// Both forms are safe to print to a terminal: control characters, bidi
/// overrides and the other [unsafe characters](crate::is_unsafe_char) in any
/// message (a registry chooses its error messages and bodies) are shown as
/// escapes (`\x1b`, `\u{202e}`, see [`escape_text`]); the only line breaks are
/// the verbose form's own.
#[derive(Debug)]
pub struct Report<'a> {
    error: &'a (dyn StdError + 'static),
    verbose: bool,
}

impl<'a> Report<'a> {
    /// A report of `error`; `verbose` shows the whole cause chain.
    #[must_use]
    pub fn new(error: &'a (dyn StdError + 'static), verbose: bool) -> Self {
        Self { error, verbose }
    }
}

/// What the one-line report shows for the immediate cause of a crane error.
enum FirstCause {
    /// The cause itself.
    Shown,
    /// Nothing: it only restates the error's context; its own cause follows.
    Skipped,
    /// This instead: the cause restates the context and then says why.
    Instead(String),
}

impl Error {
    /// Whether the immediate cause restates what this error's own message says, by the
    /// kinds of the two (see [`Report`]).
    fn first_cause(&self) -> FirstCause {
        match self {
            // Crane's context names the one subject; the remote layer's step frame names
            // what it was doing on it (or a part of it) and keeps its reason in its cause.
            Self::Remote {
                subject: Some(_),
                source,
                ..
            } if matches!(
                **source,
                ocireg_remote::Error::Transport { .. } | ocireg_remote::Error::Content { .. }
            ) =>
            {
                FirstCause::Skipped
            }
            // `parsing reference "x"` over `invalid reference "x": <rule>`: the input crane
            // quotes is the one it parsed.
            Self::InvalidReference {
                source: ocireg_name::Error::Reference { cause, .. },
                ..
            } => FirstCause::Instead(cause.to_string()),
            _ => FirstCause::Shown,
        }
    }
}

/// Whether `err`'s message sums up its own cause chain already (a ping that failed over
/// https and over http says how each failed; a layout's file error ends with its cause,
/// which names the file).
fn sums_up_its_cause(err: &(dyn StdError + 'static)) -> bool {
    let layout = err.downcast_ref::<ocireg_layout::Error>().or_else(|| {
        err.downcast_ref::<Box<ocireg_layout::Error>>()
            .map(|b| &**b)
    });
    matches!(
        err.downcast_ref::<TransportError>(),
        Some(TransportError::Ping { .. })
    ) || matches!(layout, Some(ocireg_layout::Error::Io { .. }))
}

/// `err`'s causes, outermost first.
fn causes<'a>(
    err: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(err.source(), |&e| e.source())
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Registry text (error messages, bodies, details) reaches a terminal: every message
        // is escaped.
        if self.verbose {
            write!(f, "{}", escape_text(&format!("{:#}", self.error)))?;
            for cause in causes(self.error) {
                write!(f, "\n  caused by: {}", escape_text(&format!("{cause:#}")))?;
            }
            return Ok(());
        }
        write!(f, "{}", escape_text(&self.error.to_string()))?;
        let first_cause = self
            .error
            .downcast_ref::<Error>()
            .map_or(FirstCause::Shown, Error::first_cause);
        let mut chain = causes(self.error);
        let first = match first_cause {
            FirstCause::Shown => chain.next().map(|c| (c.to_string(), Some(c))),
            FirstCause::Skipped => {
                chain.next();
                chain.next().map(|c| (c.to_string(), Some(c)))
            }
            FirstCause::Instead(text) => {
                chain.next();
                Some((text, None))
            }
        };
        let Some((text, first)) = first else {
            return Ok(());
        };
        write!(f, ": {}", escape_text(&text))?;
        if first.is_some_and(sums_up_its_cause) {
            return Ok(());
        }
        if let Some(root) = chain.last() {
            write!(f, ": {}", escape_text(&root.to_string()))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io;

    use http::{Method, StatusCode};
    use ocireg_transport::RegistryError;

    use super::*;
    use crate::error::ErrorKind;

    fn registry_error(status: u16, body: &str) -> TransportError {
        TransportError::from(RegistryError::from_body(
            StatusCode::from_u16(status).expect("valid status"),
            Method::GET,
            "http://r.io/v2/app/manifests/v1".to_owned(),
            body.as_bytes(),
        ))
    }

    const NOT_FOUND: &str = r#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"v1"}}]}"#;

    fn remote_not_found(reference: &str) -> Box<ocireg_remote::Error> {
        Box::new(ocireg_remote::Error::Transport {
            action: "fetching manifest",
            reference: ocireg_remote::Subject::from(
                reference
                    .parse::<ocireg_name::Reference>()
                    .expect("a valid reference"),
            ),
            source: registry_error(404, NOT_FOUND),
        })
    }

    #[test]
    fn report_says_each_thing_once() {
        let err = Error::Remote {
            doing: "fetching the manifest of r.io/app:v1".to_owned(),
            subject: Some("r.io/app:v1".to_owned()),
            source: remote_not_found("r.io/app:v1"),
        };
        assert_eq!(
            Report::new(&err, false).to_string(),
            "fetching the manifest of r.io/app:v1: GET http://r.io/v2/app/manifests/v1: \
             MANIFEST_UNKNOWN: manifest unknown"
        );
        assert_eq!(
            Report::new(&err, true).to_string(),
            "fetching the manifest of r.io/app:v1\n  \
             caused by: fetching manifest r.io/app:v1\n  \
             caused by: GET http://r.io/v2/app/manifests/v1: \
             MANIFEST_UNKNOWN: manifest unknown; {\"Tag\":\"v1\"}"
        );
        assert_eq!(err.kind(), ErrorKind::NotFound);
    }

    #[test]
    fn report_keeps_context_that_says_something_new() {
        // About two references: the remote layer's context says which one failed.
        let err = Error::Remote {
            doing: "copying r.io/app:v1 to r.io/app:v2".to_owned(),
            subject: None,
            source: remote_not_found("r.io/app:v1"),
        };
        assert_eq!(
            Report::new(&err, false).to_string(),
            "copying r.io/app:v1 to r.io/app:v2: fetching manifest r.io/app:v1: \
             GET http://r.io/v2/app/manifests/v1: MANIFEST_UNKNOWN: manifest unknown"
        );
        // About one subject, failing on a part of it (a child, the fallback tag): the step
        // is left out by its kind, and the request's URL says what failed.
        let err = Error::Remote {
            doing: "listing the referrers of r.io/app@sha256:00".to_owned(),
            subject: Some("r.io/app@sha256:00".to_owned()),
            source: remote_not_found("r.io/app:sha256-00"),
        };
        assert_eq!(
            Report::new(&err, false).to_string(),
            "listing the referrers of r.io/app@sha256:00: \
             GET http://r.io/v2/app/manifests/v1: MANIFEST_UNKNOWN: manifest unknown"
        );
        // A remote failure that is not a step frame says its own reason: shown.
        let err = Error::Remote {
            doing: "fetching the manifest of r.io/app:v1".to_owned(),
            subject: Some("r.io/app:v1".to_owned()),
            source: Box::new(ocireg_remote::Error::NoMatchingPlatform {
                reference: Box::new("r.io/app:v1".parse().expect("a valid reference")),
                platform: "linux/s390x".parse().expect("a valid platform"),
                available: vec!["linux/amd64".parse().expect("a valid platform")],
            }),
        };
        assert_eq!(
            Report::new(&err, false).to_string(),
            "fetching the manifest of r.io/app:v1: no child of index r.io/app:v1 matches \
             linux/s390x; available: linux/amd64"
        );
    }

    #[test]
    fn a_ping_failure_is_not_followed_by_its_own_cause() {
        let refused = |scheme: &'static str| {
            Box::new(TransportError::Connect {
                host: "r.io".to_owned(),
                source: Box::new(io::Error::new(
                    io::ErrorKind::ConnectionRefused,
                    format!("{scheme} refused"),
                )),
            })
        };
        let err = Error::Transport {
            doing: "getting a token for r.io/app".to_owned(),
            source: TransportError::Ping {
                registry: "r.io".to_owned(),
                attempts: 1,
                scheme: "https",
                error: refused("https"),
                other: refused("http"),
            },
        };
        let line = Report::new(&err, false).to_string();
        assert_eq!(
            line,
            "getting a token for r.io/app: pinging r.io failed over https and over http \
             (http: connecting to r.io: http refused)",
        );
    }

    #[test]
    fn report_escapes_what_the_registry_wrote() {
        let hostile = "{\"errors\":[{\"code\":\"MANIFEST_UNKNOWN\",\
            \"message\":\"gone\\u001b[2J\\r\\u0007\\u009b31m\\u202eevil\\n  caused by: fake\",\
            \"detail\":{\"Tag\":\"\\u009d\\u202e\"}}]}";
        let err = Error::Remote {
            doing: "fetching the manifest of r.io/app:v1".to_owned(),
            subject: Some("r.io/app:v1".to_owned()),
            source: Box::new(ocireg_remote::Error::Transport {
                action: "fetching manifest",
                reference: ocireg_remote::Subject::from(
                    "r.io/app:v1"
                        .parse::<ocireg_name::Reference>()
                        .expect("a valid reference"),
                ),
                source: registry_error(404, hostile),
            }),
        };
        let line = Report::new(&err, false).to_string();
        assert_eq!(
            line,
            "fetching the manifest of r.io/app:v1: GET http://r.io/v2/app/manifests/v1: \
             MANIFEST_UNKNOWN: gone\\x1b[2J\\r\\x07\\u{9b}31m\\u{202e}evil\\n  caused by: fake"
        );
        let verbose = Report::new(&err, true).to_string();
        assert!(
            verbose.ends_with(r#"caused by: fake; {"Tag":"\u{9d}\u{202e}"}"#),
            "{verbose}"
        );
        assert_eq!(
            verbose.lines().count(),
            3,
            "only the report's own breaks: {verbose}"
        );
        for text in [&line, &verbose] {
            assert!(
                !text.chars().any(|c| c != '\n' && crate::is_unsafe_char(c)),
                "{text:?}"
            );
        }

        // A body that is not a registry error body is shown escaped too.
        let err = Error::Transport {
            doing: "pinging r.io".to_owned(),
            source: registry_error(502, "<h1>\u{1b}]0;pwned\u{7}bad gateway\u{85}</h1>"),
        };
        assert!(
            Report::new(&err, false)
                .to_string()
                .ends_with(r"<h1>\x1b]0;pwned\x07bad gateway\u{85}</h1>"),
            "{}",
            Report::new(&err, false)
        );
    }

    #[test]
    fn report_short_and_verbose() {
        let inner = io::Error::new(io::ErrorKind::ConnectionRefused, "connection refused");
        let err = Error::Io {
            doing: "reading the password from stdin".to_owned(),
            source: inner,
        };
        assert_eq!(
            Report::new(&err, false).to_string(),
            "reading the password from stdin: connection refused"
        );
        assert_eq!(
            Report::new(&err, true).to_string(),
            "reading the password from stdin\n  caused by: connection refused"
        );
        assert_eq!(err.kind(), ErrorKind::Other);
    }

    #[tokio::test]
    async fn a_layout_file_error_says_its_path_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let blocker = dir.path().join("file");
        fs_err::write(&blocker, b"").expect("write");
        let layout = blocker.join("layout");
        let Err(source) = ocireg_layout::Layout::create(&layout).await else {
            panic!("a file is in the way of {}", layout.display());
        };
        let err = Error::Layout {
            doing: "writing the image layout",
            path: layout.clone(),
            source: Box::new(source),
        };
        // Crane names the layout; fs_err, in the layout's error, the directory that failed.
        let line = Report::new(&err, false).to_string();
        let failed = layout.join("blobs").display().to_string();
        assert_eq!(line.matches(&*failed).count(), 1, "{line}");
        assert!(line.contains(": failed to create directory `"), "{line}");
    }
}
