//! [`DigestReference`]: a repository plus a content digest (ggcr
//! `name.Digest`).

use crate::tag::split_tag;
use crate::{Digest, Error, Options, Repository, Tag};

/// A digest reference such as `ubuntu@sha256:<64 hex>` (ggcr
/// `name.Digest`; renamed so that it does not clash with the hash value
/// type [`Digest`]).
///
/// The input must contain exactly one `@`. The text after it must be a
/// valid [`Digest`]: `sha256:` with 64 lowercase hex characters, or
/// (beyond ggcr, which takes only sha256) `sha512:` with 128. The text
/// before it is first read as a [`Tag`]; when that works, the tag's
/// repository is used, so a tag written next to the digest
/// (`app:v1@sha256:...`) is accepted and kept only in `Display` and
/// [`tag_str`](Self::tag_str). Otherwise it is read as a
/// [`Repository`]. Strict validation needs no tag next to a digest.
///
/// `Display` is the input as written; [`name`](Self::name) is
/// `<registry>/<repository>@<digest>`. Equality, ordering and hashing
/// compare `name()`, so the tag written next to a digest does not count.
///
/// ```
/// use ocireg_name::DigestReference;
///
/// let hex = "5b943e2b943f6c81dbbd4e2eca5121f4fcc39139e3d1219d6d89bd925b77d9fe";
/// let input = format!("gcr.io/app:v1@sha256:{hex}");
/// let d: DigestReference = input.parse()?;
/// assert_eq!(d.to_string(), input);
/// assert_eq!(d.name(), format!("gcr.io/app@sha256:{hex}"));
/// assert_eq!(d.tag_str(), Some("v1"));
/// assert_eq!(d.digest().hex(), hex);
/// # Ok::<(), ocireg_name::Error>(())
/// ```
#[derive(Clone)]
pub struct DigestReference {
    repository: Repository,
    digest: Digest,
    /// The tag the user wrote before the `@`, if any.
    tag: Option<String>,
    /// `<repository name>@<digest>`.
    name: String,
    original: String,
}

impl DigestReference {
    /// Parses a digest reference with the default (weak) options.
    pub fn new(reference: &str) -> Result<Self, Error> {
        Self::with_options(reference, &Options::default())
    }

    /// Parses a digest reference with the given options.
    pub fn with_options(reference: &str, opts: &Options) -> Result<Self, Error> {
        let Some((base, digest)) = reference.split_once('@').filter(|(_, d)| !d.contains('@'))
        else {
            return Err(Error::DigestSeparator {
                input: reference.to_owned(),
                found: reference.matches('@').count(),
            });
        };
        let digest: Digest = digest.parse()?;
        let written_tag = split_tag(base).1;
        let (repository, tag) = match Tag::with_options(base, opts) {
            Ok(tag) => (tag.into_repository(), written_tag.map(str::to_owned)),
            // A written tag that fails its own rules: its error says more
            // than the repository's would (the ':' would be the complaint).
            Err(err) if written_tag.is_some() => return Err(err),
            Err(_) => (Repository::with_options(base, opts)?, None),
        };
        Ok(Self::build(repository, digest, tag, reference.to_owned()))
    }

    /// A digest reference in `repository`; its `Display` is its name.
    pub(crate) fn in_repository(repository: Repository, digest: Digest) -> Self {
        let mut built = Self::build(repository, digest, None, String::new());
        built.original.clone_from(&built.name);
        built
    }

    fn build(
        repository: Repository,
        digest: Digest,
        tag: Option<String>,
        original: String,
    ) -> Self {
        let name = format!("{}@{digest}", repository.name());
        Self {
            repository,
            digest,
            tag,
            name,
            original,
        }
    }

    /// The digest.
    pub fn digest(&self) -> Digest {
        self.digest
    }

    /// The tag written next to the digest (`v1` in `app:v1@sha256:...`),
    /// if any. It plays no part in [`name`](Self::name) or equality.
    pub fn tag_str(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// What names the manifest in the registry's API: the digest as a
    /// string (`sha256:<hex>`).
    pub fn identifier(&self) -> &str {
        self.name.rsplit_once('@').map_or("", |(_, digest)| digest)
    }
}

crate::string_form::impl_reference_common!(
    DigestReference,
    "digest",
    "<registry>/<repository>@<digest>"
);
crate::string_form::impl_identity_by_name!(DigestReference);
crate::string_form::impl_serde!(DigestReference);
