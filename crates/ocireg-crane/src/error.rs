//! The crate's error type, with the exit-code class and a hint for each failure.

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::path::PathBuf;

use ocireg_transport::{Error as TransportError, ErrorCode};

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The class of a failure, which decides crane's exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The command line or an argument is wrong (a bad reference, platform or flag).
    Usage,
    /// The image, tag, blob or repository does not exist.
    NotFound,
    /// Credentials are missing, wrong, or lack permission.
    Auth,
    /// Anything else: network, registry and local failures.
    Other,
}

impl ErrorKind {
    /// The process exit code for this class: usage 2, not found 3,
    /// authentication or authorization 4, anything else 1.
    #[must_use]
    pub fn exit_code(self) -> u8 {
        match self {
            Self::Other => 1,
            Self::Usage => 2,
            Self::NotFound => 3,
            Self::Auth => 4,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Usage => "usage error",
            Self::NotFound => "not found",
            Self::Auth => "authentication or authorization failure",
            Self::Other => "failure",
        })
    }
}

/// Everything a crane operation can fail with.
///
/// Each message says what was being done and to which reference or
/// registry; the cause is in [`source`](std::error::Error::source), never
/// in the message. [`kind`](Self::kind) gives the exit-code class and
/// [`hint`](Self::hint) what to try.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An image reference (`[REGISTRY/]REPOSITORY[:TAG|@DIGEST]`) does not parse.
    #[error("parsing reference {reference:?}")]
    InvalidReference {
        /// The reference as given.
        reference: String,
        /// Why it does not parse.
        #[source]
        source: ocireg_name::Error,
    },

    /// A repository (`[REGISTRY/]REPOSITORY`) does not parse.
    #[error("parsing repository {repository:?}")]
    InvalidRepository {
        /// The repository as given.
        repository: String,
        /// Why it does not parse.
        #[source]
        source: ocireg_name::Error,
    },

    /// A registry (`host[:port]`) does not parse.
    #[error("parsing registry {registry:?}")]
    InvalidRegistry {
        /// The registry as given.
        registry: String,
        /// Why it does not parse.
        #[source]
        source: ocireg_name::Error,
    },

    /// A platform (`os/arch[/variant][:osversion]`) does not parse.
    #[error("parsing platform {platform:?}")]
    InvalidPlatform {
        /// The platform as given.
        platform: String,
        /// Why it does not parse.
        #[source]
        source: ocireg_v1::Error,
    },

    /// An argument is missing or not acceptable.
    #[error("{doing}: {reason}")]
    InvalidArgument {
        /// What we were doing (`logging in to r.io`).
        doing: String,
        /// What is wrong (`username and password required`).
        reason: &'static str,
    },

    /// Reading, storing or erasing credentials failed.
    #[error("{doing}")]
    Credentials {
        /// What we were doing (`storing credentials for r.io`).
        doing: String,
        /// The cause.
        #[source]
        source: ocireg_authn::Error,
    },

    /// Talking to a registry failed.
    #[error("{doing}")]
    Transport {
        /// What we were doing (`getting a token for r.io/app`).
        doing: String,
        /// The cause.
        #[source]
        source: TransportError,
    },

    /// Reading from or writing to a registry failed.
    #[error("{doing}")]
    Remote {
        /// What we were doing (`fetching the manifest of r.io/app:v1`).
        doing: String,
        /// The one reference, repository or registry `doing` is about (`r.io/app:v1`), if
        /// there is one. Then the remote layer's own step under it (`fetching manifest
        /// r.io/app:v1`) is left out of the one-line [`Report`](crate::Report); about
        /// several things (`copying A to B`) it is `None` and the step says which failed.
        subject: Option<String>,
        /// The cause (boxed: remote errors are large).
        #[source]
        source: Box<ocireg_remote::Error>,
    },

    /// A reference names an image on disk (`ocidir://dir:tag`, `./dir`, `/abs/dir`,
    /// `dir/`) where the operation takes registry references only (or a path where an
    /// `ocidir://` reference is wanted): such a name would otherwise be taken for a
    /// registry host.
    #[error("{reference:?}: images on disk (OCI image layouts) are not supported here")]
    LocalImage {
        /// The reference as given.
        reference: String,
    },

    /// Reading or writing the per-registry settings file failed, or it is not valid
    /// (see [`RegistrySettings`](crate::RegistrySettings)).
    #[error("{doing}")]
    Settings {
        /// What we were doing; it names the file when the cause does not
        /// (`reading registry settings /home/u/.config/ocireg/config.json`).
        doing: String,
        /// The settings file.
        path: PathBuf,
        /// The cause (what is wrong with the contents, as `InvalidData`).
        #[source]
        source: io::Error,
    },

    /// `copy --referrers` found more referrers (counting referrers of referrers) than it
    /// carries along.
    #[error(
        "copying the referrers of {reference}: more than {limit} referrers (counting referrers of referrers)"
    )]
    TooManyReferrers {
        /// The image whose referrers were being copied.
        reference: String,
        /// The limit.
        limit: usize,
    },

    /// `copy --no-clobber` found the destination tag already there.
    #[error("refusing to clobber existing tag {tag}@{digest}")]
    RefusingToClobber {
        /// The destination tag reference.
        tag: String,
        /// What it points to now.
        digest: String,
    },

    /// `auth token` for a registry that does not hand out bearer tokens.
    #[error("getting a token for {registry}: the registry does not use bearer tokens")]
    NoBearerToken {
        /// The registry (`host[:port]`).
        registry: String,
    },

    /// Starting or running the embedded registry failed.
    #[error("serving the registry on {address}")]
    Serve {
        /// The address we were asked to listen on.
        address: String,
        /// The cause.
        #[source]
        source: ocireg_registry::Error,
    },

    /// A registry announced a blob larger than [`MAX_BLOB_SIZE`](crate::MAX_BLOB_SIZE)
    /// (crane's `blob` reads at most that much).
    #[error(
        "reading blob {reference}: the registry announces {size} bytes, more than the {limit} bytes crane reads"
    )]
    BlobTooLarge {
        /// The blob (`repo@digest`).
        reference: String,
        /// The size the registry announced.
        size: u64,
        /// The limit.
        limit: u64,
    },

    /// Creating, writing, syncing or renaming a local file failed.
    #[error("{action} {}", path.display())]
    File {
        /// What we were doing to it (`creating a temporary file beside`).
        action: &'static str,
        /// The file the user named.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },

    /// Reading or writing an OCI image layout on disk failed.
    #[error("{doing} {}", path.display())]
    Layout {
        /// What we were doing (`writing the image layout`).
        doing: &'static str,
        /// The layout's directory.
        path: PathBuf,
        /// The cause (boxed: layout errors are large).
        #[source]
        source: Box<ocireg_layout::Error>,
    },

    /// Reading or writing a `docker save` tarball failed.
    #[error("{doing} {}", path.display())]
    Tarball {
        /// What we were doing (`writing the tarball`).
        doing: &'static str,
        /// The tarball.
        path: PathBuf,
        /// The cause (boxed: tarball errors are large).
        #[source]
        source: Box<ocireg_tarball::Error>,
    },

    /// A local IO operation failed.
    #[error("{doing}")]
    Io {
        /// What we were doing (`reading the password from stdin`).
        doing: String,
        /// The cause.
        #[source]
        source: io::Error,
    },

    /// The whole run took longer than its limit (`crane --timeout`).
    #[error("gave up after {limit:?}: the run took longer than --timeout allows")]
    TimedOut {
        /// The limit.
        limit: std::time::Duration,
    },

    /// `validate` found an image or index that is not well formed (every problem is in
    /// the cause).
    #[error("validating {what}")]
    Invalid {
        /// The image as the user named it (a reference or a tarball path).
        what: String,
        /// What is wrong.
        #[source]
        source: Box<ocireg_v1::Error>,
    },

    /// A `--format` template that does not parse, or fails while it runs.
    #[error("template:{line}:{column}: {message}")]
    Template {
        /// The line of the template (1-based).
        line: usize,
        /// The column of the template, in characters (1-based).
        column: usize,
        /// What is wrong there.
        message: String,
    },

    /// The Docker Hub API refused or failed a request (tag deletion with an API token).
    #[error("{doing}: Docker Hub API answered {status}{}", detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    HubApi {
        /// What we were doing (`deleting tag v1 of team/app through the Docker Hub API`).
        doing: String,
        /// The HTTP status.
        status: u16,
        /// The `detail` or `message` of the answer, escaped and cut short.
        detail: Option<String>,
    },

    /// A tag-only delete could not go on without risking the manifest, or the registry
    /// left the tag in place.
    #[error("deleting tag {reference}: {reason}")]
    TagDelete {
        /// The tag (`r.io/app:v1`).
        reference: String,
        /// What went wrong.
        reason: String,
    },

    /// The operation needs the remote layer, which this build does not have yet.
    #[error("crane {command} is not implemented yet")]
    NotImplemented {
        /// The command (`copy`, `manifest`, ...).
        command: &'static str,
    },
}

impl Error {
    /// The exit-code class of this failure.
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::InvalidReference { .. }
            | Self::InvalidRepository { .. }
            | Self::InvalidRegistry { .. }
            | Self::InvalidPlatform { .. }
            | Self::InvalidArgument { .. }
            | Self::Template { .. }
            | Self::LocalImage { .. } => ErrorKind::Usage,
            Self::Credentials { source, .. } => match source {
                ocireg_authn::Error::InvalidServer { .. }
                | ocireg_authn::Error::InvalidCredentials { .. } => ErrorKind::Usage,
                _ => ErrorKind::Other,
            },
            Self::Transport { source, .. } => transport_kind(source),
            Self::Layout { source, .. } => match **source {
                ocireg_layout::Error::NotFound { .. } => ErrorKind::NotFound,
                _ => ErrorKind::Other,
            },
            Self::Remote { source, .. } => {
                if source.is_not_found()
                    || matches!(**source, ocireg_remote::Error::NoMatchingPlatform { .. })
                {
                    ErrorKind::NotFound
                } else {
                    chain_kind(source.as_ref())
                }
            }
            Self::HubApi { status, .. } => match status {
                401 | 403 => ErrorKind::Auth,
                404 => ErrorKind::NotFound,
                _ => ErrorKind::Other,
            },
            Self::NoBearerToken { .. }
            | Self::TagDelete { .. }
            | Self::Serve { .. }
            | Self::BlobTooLarge { .. }
            | Self::File { .. }
            | Self::Tarball { .. }
            | Self::Io { .. }
            | Self::Settings { .. }
            | Self::NotImplemented { .. }
            | Self::Invalid { .. }
            | Self::TimedOut { .. }
            | Self::TooManyReferrers { .. }
            | Self::RefusingToClobber { .. } => ErrorKind::Other,
        }
    }

    /// What the user could try, when there is something to say.
    #[must_use]
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::InvalidReference { .. } => Some(
                "check the reference: [REGISTRY/]REPOSITORY[:TAG|@DIGEST], e.g. \
                 registry.example/team/app:v1"
                    .to_owned(),
            ),
            Self::InvalidRepository { .. } => Some(
                "check the repository: [REGISTRY/]REPOSITORY, e.g. registry.example/team/app"
                    .to_owned(),
            ),
            Self::InvalidRegistry { .. } => {
                Some("check the registry: HOST[:PORT], e.g. registry.example:5000".to_owned())
            }
            Self::Template { .. } => Some(
                "--format takes a Go text/template, e.g. '{{.MediaType}}' or \
                 '{{range .Layers}}{{.Digest}} {{end}}' (see `crane manifest --help`)"
                    .to_owned(),
            ),
            Self::InvalidPlatform { .. } => {
                Some("use os/arch[/variant][:osversion], e.g. linux/arm64/v8, or `all`".to_owned())
            }
            Self::LocalImage { .. } => Some(
                "name an image on disk as ocidir://DIR[:TAG|@DIGEST] (copy, manifest, digest, \
                 config, blob, ls, tag, delete, refs and attach take it); elsewhere give \
                 REGISTRY/REPOSITORY[:TAG|@DIGEST], e.g. registry.example/team/app:v1"
                    .to_owned(),
            ),
            Self::Credentials { source, .. } => credentials_hint(source),
            Self::Transport { source, .. } => transport_hint(source),
            Self::Remote { source, .. } => {
                if let ocireg_remote::Error::Credentials { source, .. } = source.as_ref() {
                    return credentials_hint(source);
                }
                if matches!(**source, ocireg_remote::Error::NoMatchingPlatform { .. }) {
                    return Some("check --platform against the platforms of the index".to_owned());
                }
                let mut cur: Option<&(dyn StdError + 'static)> = Some(source.as_ref());
                while let Some(e) = cur {
                    if let Some(t) = e.downcast_ref::<TransportError>() {
                        return transport_hint(t);
                    }
                    cur = e.source();
                }
                None
            }
            Self::HubApi { status, .. } => hub_hint(*status),
            Self::Settings { path, .. } => Some(format!(
                "fix or remove {} (see `crane registry set --help`; OCIREG_CONFIG names another file)",
                path.display()
            )),
            Self::RefusingToClobber { .. } => {
                Some("drop --no-clobber to overwrite it, or choose another tag".to_owned())
            }
            Self::NotImplemented { .. } => Some(
                "this command needs the remote layer (ocireg-remote), which is not part of \
                 this build yet"
                    .to_owned(),
            ),
            Self::Serve { .. } => Some(
                "check that the address is free and valid (HOST:PORT, e.g. 127.0.0.1:5000)"
                    .to_owned(),
            ),
            Self::TimedOut { .. } => {
                Some("raise --timeout, or run with -v to see which requests were slow".to_owned())
            }
            Self::InvalidArgument { .. }
            | Self::TagDelete { .. }
            | Self::NoBearerToken { .. }
            | Self::BlobTooLarge { .. }
            | Self::TooManyReferrers { .. }
            | Self::File { .. }
            | Self::Layout { .. }
            | Self::Tarball { .. }
            | Self::Io { .. } => None,
            Self::Invalid { .. } => Some(
                "the image is not well formed: rebuild or re-push it; the cause lists every problem"
                    .to_owned(),
            ),
        }
    }

    /// The one reference, repository or registry the failure is about, when the message
    /// names one (see [`Report`](crate::Report) for what is then left unsaid).
    #[must_use]
    pub fn subject(&self) -> Option<&str> {
        match self {
            Self::InvalidReference { reference, .. } | Self::LocalImage { reference } => {
                Some(reference)
            }
            Self::InvalidRepository { repository, .. } => Some(repository),
            Self::InvalidRegistry { registry, .. } => Some(registry),
            Self::Remote { subject, .. } => subject.as_deref(),
            _ => None,
        }
    }

    /// Whether the failure is an interrupted copy or a closed pipe on stdout
    /// (`crane manifest x | head -c1`), which callers treat as success.
    #[must_use]
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Self::Io { source, .. } if source.kind() == io::ErrorKind::BrokenPipe)
    }
}

/// The class of a transport failure: 401/403 and the auth errors are
/// [`ErrorKind::Auth`]; 404 and the `*_UNKNOWN` codes are
/// [`ErrorKind::NotFound`]; everything else is [`ErrorKind::Other`].
pub(crate) fn transport_kind(err: &TransportError) -> ErrorKind {
    match err {
        TransportError::AuthenticationRequired { .. }
        | TransportError::AuthenticationFailed { .. } => return ErrorKind::Auth,
        TransportError::Registry(e) => {
            if e.has_code(&ErrorCode::Unauthorized) || e.has_code(&ErrorCode::Denied) {
                return ErrorKind::Auth;
            }
            if e.has_code(&ErrorCode::ManifestUnknown)
                || e.has_code(&ErrorCode::NameUnknown)
                || e.has_code(&ErrorCode::BlobUnknown)
            {
                return ErrorKind::NotFound;
            }
        }
        _ => {}
    }
    match err.status().map(|s| s.as_u16()) {
        Some(401 | 403) => ErrorKind::Auth,
        Some(404) => ErrorKind::NotFound,
        _ => ErrorKind::Other,
    }
}

/// Finds the first transport error in a cause chain (remote errors wrap
/// transport errors) and classifies it.
pub(crate) fn chain_kind(err: &(dyn StdError + 'static)) -> ErrorKind {
    let mut cur = Some(err);
    while let Some(e) = cur {
        if let Some(t) = e.downcast_ref::<TransportError>() {
            return transport_kind(t);
        }
        cur = e.source();
    }
    ErrorKind::Other
}

fn registry_of(err: &TransportError) -> Option<&str> {
    match err {
        TransportError::AuthenticationRequired { registry, .. }
        | TransportError::AuthenticationFailed { registry, .. }
        | TransportError::Ping { registry, .. }
        | TransportError::Credentials { registry, .. } => Some(registry),
        _ => None,
    }
}

fn transport_hint(err: &TransportError) -> Option<String> {
    let registry = registry_of(err).unwrap_or("REGISTRY");
    match err {
        TransportError::AuthenticationRequired { .. } => Some(format!(
            "authentication required: run `crane auth login {registry}`"
        )),
        TransportError::AuthenticationFailed { .. } => Some(format!(
            "the credentials were refused: check them, or log in again with `crane auth login {registry}`"
        )),
        TransportError::Ping { .. }
        | TransportError::Connect { .. }
        | TransportError::Timeout { .. } => Some(
            "check that the registry is running and reachable; for a plain-http registry \
                 pass --insecure"
                .to_owned(),
        ),
        TransportError::Credentials { source, .. } => credentials_hint(source),
        TransportError::RateLimited { .. } => Some("wait a while and try again".to_owned()),
        _ if err.status().is_some_and(|s| s.as_u16() == 429) => Some(
            "the registry's rate limit was reached (429 TOOMANYREQUESTS): wait for its window \
             to reset, or log in, which usually raises the limit; `crane ratelimit IMAGE` \
             shows what is left"
                .to_owned(),
        ),
        _ => match transport_kind(err) {
            ErrorKind::Auth => Some(format!(
                "access denied: check that your account may use this repository, or log in \
                 with `crane auth login {registry}`"
            )),
            ErrorKind::NotFound => Some(
                "check the reference: the repository, tag or digest does not exist there"
                    .to_owned(),
            ),
            _ => None,
        },
    }
}

fn hub_hint(status: u16) -> Option<String> {
    match status {
        401 => Some(
            "the Docker Hub API token is expired or invalid: get a new one (log in at \
             hub.docker.com) and store it again for hub.docker.com"
                .to_owned(),
        ),
        403 => Some(
            "the Docker Hub API token may not delete in this repository: use a token of an \
             account with write access to it"
                .to_owned(),
        ),
        404 => Some(
            "no such tag or repository on Docker Hub: check the name (official images are \
             library/NAME) with `crane ls`"
                .to_owned(),
        ),
        429 => {
            Some("Docker Hub's API rate limit was reached: wait a while and try again".to_owned())
        }
        _ => None,
    }
}

fn credentials_hint(err: &ocireg_authn::Error) -> Option<String> {
    match err {
        ocireg_authn::Error::HelperNotFound { helper } => Some(format!(
            "install docker-credential-{helper} or remove it from docker's config.json"
        )),
        ocireg_authn::Error::ParseConfig { path, .. } => {
            Some(format!("fix or remove {}", path.display()))
        }
        ocireg_authn::Error::EnvConfig { .. } => {
            Some("check the OCIREG_REGISTRY_* environment variables".to_owned())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Report;
    use http::{Method, StatusCode};
    use ocireg_transport::RegistryError;

    fn registry_error(status: u16, body: &str) -> TransportError {
        TransportError::from(RegistryError::from_body(
            StatusCode::from_u16(status).expect("valid status"),
            Method::GET,
            "http://r.io/v2/app/manifests/v1".to_owned(),
            body.as_bytes(),
        ))
    }

    #[test]
    fn transport_kinds() {
        let cases = [
            (registry_error(404, ""), ErrorKind::NotFound),
            (
                registry_error(
                    404,
                    r#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"x"}]}"#,
                ),
                ErrorKind::NotFound,
            ),
            (
                registry_error(400, r#"{"errors":[{"code":"NAME_UNKNOWN","message":"x"}]}"#),
                ErrorKind::NotFound,
            ),
            (registry_error(403, ""), ErrorKind::Auth),
            (
                registry_error(400, r#"{"errors":[{"code":"DENIED","message":"x"}]}"#),
                ErrorKind::Auth,
            ),
            (registry_error(500, ""), ErrorKind::Other),
            (
                TransportError::AuthenticationRequired {
                    registry: "r.io".to_owned(),
                    method: Method::GET,
                    url: "https://r.io/v2/".to_owned(),
                },
                ErrorKind::Auth,
            ),
            (
                TransportError::InvalidRequest {
                    reason: "x".to_owned(),
                },
                ErrorKind::Other,
            ),
        ];
        for (err, kind) in cases {
            assert_eq!(transport_kind(&err), kind, "{err}");
            assert_eq!(chain_kind(&err), kind, "{err}");
        }
    }

    #[test]
    fn exit_codes_are_distinct() {
        let codes = [
            ErrorKind::Other,
            ErrorKind::Usage,
            ErrorKind::NotFound,
            ErrorKind::Auth,
        ]
        .map(ErrorKind::exit_code);
        assert_eq!(codes, [1, 2, 3, 4]);
    }

    #[test]
    fn auth_required_hint_names_the_registry() {
        let err = Error::Transport {
            doing: "fetching the manifest of r.io/app:v1".to_owned(),
            source: TransportError::AuthenticationRequired {
                registry: "r.io".to_owned(),
                method: Method::GET,
                url: "https://r.io/v2/".to_owned(),
            },
        };
        assert_eq!(err.kind(), ErrorKind::Auth);
        assert_eq!(
            err.hint().as_deref(),
            Some("authentication required: run `crane auth login r.io`")
        );
    }

    #[test]
    fn invalid_reference_is_usage_with_hint() {
        let source = ocireg_name::Reference::parse("UPPER/Case").expect_err("invalid");
        let err = Error::InvalidReference {
            reference: "UPPER/Case".to_owned(),
            source,
        };
        assert_eq!(err.kind(), ErrorKind::Usage);
        assert!(
            err.hint()
                .is_some_and(|h| h.starts_with("check the reference"))
        );
        let line = Report::new(&err, false).to_string();
        assert!(
            line.starts_with("parsing reference \"UPPER/Case\": invalid repository "),
            "the name error's own \"invalid reference\" is not said again: {line}"
        );
        assert!(!line.contains('\n'));
        let verbose = Report::new(&err, true).to_string();
        assert!(
            verbose.contains("\n  caused by: invalid reference \"UPPER/Case\": "),
            "{verbose}"
        );
    }

    #[test]
    fn broken_pipe_is_recognised() {
        let err = Error::Io {
            doing: "writing the manifest to stdout".to_owned(),
            source: io::Error::from(io::ErrorKind::BrokenPipe),
        };
        assert!(err.is_broken_pipe());
    }
}
