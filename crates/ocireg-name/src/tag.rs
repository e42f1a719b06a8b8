//! [`Tag`]: a repository plus a tag (ggcr `name.Tag`).

use crate::error::{StrictRule, TagRule};
use crate::{Error, Options, Repository};

/// Longest tag, in characters.
const MAX_TAG_LEN: usize = 128;

/// A tag reference such as `ubuntu:22.04` or `gcr.io/project/app:v1`
/// (ggcr `name.Tag`).
///
/// The input is split at its last `:` when the text after it has no `/`
/// (so the `:5000` in `localhost:5000/app` is a port, not a tag). The tag
/// is 1-128 characters of `[A-Za-z0-9_.-]`, with no rule for the first
/// character (`-x` and `.x` pass, as in ggcr); an empty tag after a `:` is
/// an error. Without a tag, the default tag applies (`latest` unless
/// [`Options::default_tag`] says otherwise); strict validation requires
/// one.
///
/// `Display` is the input as the user wrote it; [`name`](Self::name) is
/// the fully qualified `<registry>/<repository>:<tag>`. Equality,
/// ordering and hashing compare `name()`.
///
/// ```
/// use ocireg_name::Tag;
///
/// let tag: Tag = "ubuntu".parse()?;
/// assert_eq!(tag.to_string(), "ubuntu");
/// assert_eq!(tag.name(), "index.docker.io/library/ubuntu:latest");
/// assert_eq!(tag.tag_str(), "latest");
/// assert_eq!(tag, "docker.io/library/ubuntu:latest".parse()?);
/// # Ok::<(), ocireg_name::Error>(())
/// ```
#[derive(Clone)]
pub struct Tag {
    repository: Repository,
    /// The tag, after defaulting.
    identifier: String,
    /// `<repository name>:<tag>`.
    name: String,
    original: String,
}

/// Checks the tag grammar: 1-128 characters of `[A-Za-z0-9_.-]`.
pub(crate) fn check_tag(tag: &str) -> Result<(), TagRule> {
    if tag.is_empty() {
        return Err(TagRule::Empty);
    }
    let len = tag.chars().count();
    if len > MAX_TAG_LEN {
        return Err(TagRule::TooLong { len });
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    match tag.chars().find(|&c| !allowed(c)) {
        None => Ok(()),
        Some(c) => Err(TagRule::InvalidCharacter(c)),
    }
}

/// Splits `input` into its base and the tag written after the last `:`,
/// if the text after that `:` has no `/`.
pub(crate) fn split_tag(input: &str) -> (&str, Option<&str>) {
    match input.rsplit_once(':') {
        Some((base, tag)) if !tag.contains('/') => (base, Some(tag)),
        _ => (input, None),
    }
}

impl Tag {
    /// Parses a tag reference with the default (weak) options.
    pub fn new(reference: &str) -> Result<Self, Error> {
        Self::with_options(reference, &Options::default())
    }

    /// Parses a tag reference with the given options.
    pub fn with_options(reference: &str, opts: &Options) -> Result<Self, Error> {
        let (base, written) = split_tag(reference);
        let tag = match written {
            Some(tag) => tag,
            None if opts.is_strict() => {
                return Err(Error::Strict {
                    input: reference.to_owned(),
                    rule: StrictRule::TagRequired,
                });
            }
            None => opts.default_tag_name(),
        };
        check_tag(tag).map_err(|rule| Error::Tag {
            tag: tag.to_owned(),
            rule,
        })?;
        let repository = Repository::with_options(base, opts)?;
        Ok(Self::build(repository, tag, reference.to_owned()))
    }

    /// A tag in `repository`; its `Display` is its name.
    pub(crate) fn in_repository(repository: Repository, tag: &str) -> Result<Self, Error> {
        check_tag(tag).map_err(|rule| Error::Tag {
            tag: tag.to_owned(),
            rule,
        })?;
        let mut built = Self::build(repository, tag, String::new());
        built.original.clone_from(&built.name);
        Ok(built)
    }

    fn build(repository: Repository, tag: &str, original: String) -> Self {
        let name = format!("{}:{tag}", repository.name());
        Self {
            repository,
            identifier: tag.to_owned(),
            name,
            original,
        }
    }

    /// Gives up the tag for its repository.
    pub(crate) fn into_repository(self) -> Repository {
        self.repository
    }

    /// The tag, after defaulting (ggcr `TagStr()`).
    pub fn tag_str(&self) -> &str {
        &self.identifier
    }

    /// What names the manifest in the registry's API: the tag.
    pub fn identifier(&self) -> &str {
        &self.identifier
    }
}

crate::string_form::impl_reference_common!(Tag, "tag", "<registry>/<repository>:<tag>");
crate::string_form::impl_identity_by_name!(Tag);
crate::string_form::impl_serde!(Tag);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_split() {
        for (input, want) in [
            ("ubuntu", ("ubuntu", None)),
            ("ubuntu:1", ("ubuntu", Some("1"))),
            ("ubuntu:", ("ubuntu", Some(""))),
            ("localhost:5000/app", ("localhost:5000/app", None)),
            ("localhost:5000/app:v", ("localhost:5000/app", Some("v"))),
            ("localhost:5000", ("localhost", Some("5000"))),
            ("a:b:c", ("a:b", Some("c"))),
        ] {
            assert_eq!(split_tag(input), want, "{input:?}");
        }
    }

    #[test]
    fn tag_grammar() {
        for (tag, want) in [
            ("latest", Ok(())),
            ("-x", Ok(())),
            (".x", Ok(())),
            ("_", Ok(())),
            ("V1.0_rc-2", Ok(())),
            ("", Err(TagRule::Empty)),
            ("x!", Err(TagRule::InvalidCharacter('!'))),
            ("a b", Err(TagRule::InvalidCharacter(' '))),
            ("a/b", Err(TagRule::InvalidCharacter('/'))),
            ("a@b", Err(TagRule::InvalidCharacter('@'))),
        ] {
            assert_eq!(check_tag(tag), want, "{tag:?}");
        }
        assert_eq!(check_tag(&"a".repeat(128)), Ok(()));
        assert_eq!(
            check_tag(&"a".repeat(129)),
            Err(TagRule::TooLong { len: 129 })
        );
    }
}
