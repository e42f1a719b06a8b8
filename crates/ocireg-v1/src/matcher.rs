//! Descriptor predicates (ggcr's `pkg/v1/match`), for picking or removing
//! children of an index or entries of a layout.

use std::fmt;
use std::sync::Arc;

use crate::{ANNOTATION_REF_NAME, Descriptor, Digest, MediaType, Platform};

/// A predicate over [`Descriptor`]s, cheap to clone and shareable across threads.
///
/// Build one with the constructors ([`Matcher::name`], [`Matcher::platforms`]...)
/// or from any closure, and combine with [`Matcher::and`], [`Matcher::or`] and
/// [`Matcher::not`].
///
/// ```
/// use ocireg_v1::{Descriptor, Matcher, MediaType, Platform};
///
/// let mut d = Descriptor::new(MediaType::OciManifest, 1, ocireg_v1::sha256(b"x"));
/// d.platform = Some(Platform::new("linux", "amd64"));
/// let m = Matcher::media_types([MediaType::OciManifest, MediaType::DockerManifestSchema2])
///     .and(Matcher::platforms([Platform::new("linux", "amd64")]));
/// assert!(m.matches(&d));
/// assert!(!m.not().matches(&d));
/// ```
#[derive(Clone)]
pub struct Matcher(Arc<dyn Fn(&Descriptor) -> bool + Send + Sync>);

impl Matcher {
    /// A matcher from any predicate.
    pub fn new(f: impl Fn(&Descriptor) -> bool + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }

    /// Whether `descriptor` matches.
    pub fn matches(&self, descriptor: &Descriptor) -> bool {
        (self.0)(descriptor)
    }

    /// Matches descriptors whose `org.opencontainers.image.ref.name`
    /// annotation is `name` (ggcr's `match.Name`).
    pub fn name(name: impl Into<String>) -> Self {
        Self::annotation(ANNOTATION_REF_NAME, name)
    }

    /// Matches descriptors with annotation `key` equal to `value`
    /// (ggcr's `match.Annotation`).
    pub fn annotation(key: impl Into<String>, value: impl Into<String>) -> Self {
        let (key, value) = (key.into(), value.into());
        Self::new(move |d| d.annotations.get(&key) == Some(&value))
    }

    /// Matches descriptors whose platform equals one of `platforms`, feature
    /// order ignored; descriptors without a platform never match (ggcr's
    /// `match.Platforms`).
    pub fn platforms(platforms: impl IntoIterator<Item = Platform>) -> Self {
        let platforms: Vec<Platform> = platforms.into_iter().collect();
        Self::new(move |d| d.platform.as_ref().is_some_and(|p| platforms.contains(p)))
    }

    /// Matches descriptors whose platform [satisfies](Platform::satisfies)
    /// `spec` (empty fields are wildcards), as `crane index filter` does.
    /// Descriptors without a platform never match.
    pub fn satisfies(spec: Platform) -> Self {
        Self::new(move |d| d.platform.as_ref().is_some_and(|p| p.satisfies(&spec)))
    }

    /// Matches descriptors with one of `media_types` (ggcr's `match.MediaTypes`).
    pub fn media_types(media_types: impl IntoIterator<Item = MediaType>) -> Self {
        let media_types: Vec<MediaType> = media_types.into_iter().collect();
        Self::new(move |d| media_types.contains(&d.media_type))
    }

    /// Matches descriptors with one of `digests` (ggcr's `match.Digests`).
    pub fn digests(digests: impl IntoIterator<Item = Digest>) -> Self {
        let digests: Vec<Digest> = digests.into_iter().collect();
        Self::new(move |d| digests.contains(&d.digest))
    }

    /// Matches everything.
    pub fn any() -> Self {
        Self::new(|_| true)
    }

    /// Matches when both match.
    #[must_use]
    pub fn and(self, other: Self) -> Self {
        Self::new(move |d| self.matches(d) && other.matches(d))
    }

    /// Matches when either matches.
    #[must_use]
    pub fn or(self, other: Self) -> Self {
        Self::new(move |d| self.matches(d) || other.matches(d))
    }

    /// Matches when this does not.
    #[must_use]
    #[expect(
        clippy::should_implement_trait,
        reason = "reads better than `!matcher` in chains"
    )]
    pub fn not(self) -> Self {
        Self::new(move |d| !self.matches(d))
    }

    /// Matches when all of `matchers` match (true for none).
    pub fn all(matchers: impl IntoIterator<Item = Self>) -> Self {
        let matchers: Vec<Self> = matchers.into_iter().collect();
        Self::new(move |d| matchers.iter().all(|m| m.matches(d)))
    }

    /// Matches when any of `matchers` matches (false for none).
    pub fn any_of(matchers: impl IntoIterator<Item = Self>) -> Self {
        let matchers: Vec<Self> = matchers.into_iter().collect();
        Self::new(move |d| matchers.iter().any(|m| m.matches(d)))
    }
}

impl<F: Fn(&Descriptor) -> bool + Send + Sync + 'static> From<F> for Matcher {
    fn from(f: F) -> Self {
        Self::new(f)
    }
}

impl fmt::Debug for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Matcher(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desc(n: u8) -> Descriptor {
        Descriptor::new(MediaType::OciManifest, u64::from(n), crate::sha256([n]))
    }

    #[test]
    fn name_and_annotation() {
        let mut d = desc(1);
        assert!(!Matcher::name("latest").matches(&d));
        d.annotations
            .insert(ANNOTATION_REF_NAME.into(), "latest".into());
        d.annotations.insert("k".into(), "v".into());
        assert!(Matcher::name("latest").matches(&d));
        assert!(!Matcher::name("v1").matches(&d));
        assert!(Matcher::annotation("k", "v").matches(&d));
        assert!(!Matcher::annotation("k", "w").matches(&d));
        assert!(!Matcher::annotation("v", "k").matches(&d));
        assert!(!Matcher::annotation("k", "").matches(&desc(2)));
    }

    #[test]
    fn platforms_compare_with_equality() {
        let mut d = desc(1);
        let m = Matcher::platforms([
            "linux/arm64/v8".parse().unwrap(),
            "linux/amd64".parse().unwrap(),
        ]);
        assert!(!m.matches(&d), "no platform never matches");
        let mut p: Platform = "linux/amd64".parse().unwrap();
        d.platform = Some(p.clone());
        assert!(m.matches(&d));
        p.features = vec!["b".into(), "a".into()];
        d.platform = Some(p.clone());
        assert!(!m.matches(&d), "equality, not satisfies");
        let mut wanted = p.clone();
        wanted.features.reverse();
        assert!(
            Matcher::platforms([wanted]).matches(&d),
            "feature order ignored"
        );
        assert!(Matcher::satisfies("linux".parse().unwrap()).matches(&d));
        assert!(!Matcher::satisfies("windows".parse().unwrap()).matches(&d));
        assert!(!Matcher::satisfies(Platform::default()).matches(&desc(3)));
        assert!(!Matcher::platforms([]).matches(&d));
    }

    #[test]
    fn media_types_and_digests() {
        let d = desc(1);
        assert!(Matcher::media_types([MediaType::OciManifest]).matches(&d));
        assert!(!Matcher::media_types([MediaType::OciImageIndex]).matches(&d));
        assert!(!Matcher::media_types([]).matches(&d));
        assert!(Matcher::digests([crate::sha256([9]), crate::sha256([1])]).matches(&d));
        assert!(!Matcher::digests([crate::sha256([9])]).matches(&d));
    }

    #[test]
    fn composition() {
        let (one, two) = (desc(1), desc(2));
        let is_one = Matcher::digests([one.digest]);
        let is_two = Matcher::from(|d: &Descriptor| d.size == 2);
        assert!(is_one.clone().or(is_two.clone()).matches(&two));
        assert!(!is_one.clone().and(is_two.clone()).matches(&two));
        assert!(is_one.clone().not().matches(&two));
        assert!(Matcher::all([]).matches(&one) && !Matcher::any_of([]).matches(&one));
        assert!(Matcher::any_of([is_one.clone(), is_two.clone()]).matches(&one));
        assert!(!Matcher::all([is_one, is_two]).matches(&one));
        assert!(Matcher::any().matches(&one));
        let kept: Vec<u64> = [desc(1), desc(2), desc(3)]
            .into_iter()
            .filter(|d| Matcher::digests([crate::sha256([2])]).not().matches(d))
            .map(|d| d.size)
            .collect();
        assert_eq!(kept, [1, 3]);
        assert_eq!(format!("{:?}", Matcher::any()), "Matcher(..)");
    }
}
