//! [`Options`]: the configuration every crane operation takes (ggcr's
//! `crane.Option` list).

use std::fmt;
use std::sync::Arc;

use ocireg_authn::{DefaultKeychain, DockerConfigKeychain, Environment, Keychain, Resource};
use ocireg_name::{Reference, Registry, Repository};
use ocireg_transport::Client;
use ocireg_v1::Platform;

use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::settings::RegistrySettings;
use crate::warnings::Warnings;

/// How many blobs or tags are moved at once when nothing else is said
/// (ggcr's `crane.WithJobs` default).
pub const DEFAULT_JOBS: usize = 4;

/// The configuration of a crane operation: defaultable settings (ggcr's
/// `crane.Option`s); the required inputs (references, files) are the
/// operation's parameters.
///
/// Clones share the HTTP client (built on first use), the collected
/// registry warnings and the progress reporter, so one `Options` serves a
/// whole command.
///
/// ```
/// use ocireg_crane::Options;
///
/// let opts = Options::new().with_insecure(true).with_jobs(8).with_platform_str("linux/arm64")?;
/// assert!(opts.insecure());
/// assert_eq!(opts.jobs(), 8);
/// assert_eq!(opts.platform().map(ToString::to_string).as_deref(), Some("linux/arm64"));
/// // `all` means every platform, as in crane.
/// assert!(Options::new().with_platform_str("all")?.platform().is_none());
/// Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
#[must_use]
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent switches, one per crane flag, as in ggcr's options"
)]
pub struct Options {
    insecure: bool,
    platform: Option<Platform>,
    jobs: usize,
    keychain: Option<Arc<dyn Keychain>>,
    environment: Environment,
    user_agent_suffix: Option<String>,
    allow_nondistributable: bool,
    no_clobber: bool,
    referrers: bool,
    verbose: bool,
    progress: Option<Arc<dyn Progress>>,
    warnings: Warnings,
    registry_settings: SettingsSource,
    client: Arc<tokio::sync::OnceCell<Client>>,
}

/// Where the per-registry settings come from.
#[derive(Clone, Debug, Default)]
enum SettingsSource {
    /// None: every registry gets the defaults.
    #[default]
    None,
    /// These.
    Given(Arc<RegistrySettings>),
    /// The settings file of the environment, read when the client is built.
    Environment,
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("insecure", &self.insecure)
            .field("platform", &self.platform)
            .field("jobs", &self.jobs)
            .field("keychain", &self.keychain)
            .field("environment", &self.environment)
            .field("user_agent_suffix", &self.user_agent_suffix)
            .field("allow_nondistributable", &self.allow_nondistributable)
            .field("no_clobber", &self.no_clobber)
            .field("referrers", &self.referrers)
            .field("verbose", &self.verbose)
            .field("progress", &self.progress.is_some())
            .field("registry_settings", &self.registry_settings)
            .finish_non_exhaustive()
    }
}

impl Default for Options {
    fn default() -> Self {
        Self::new()
    }
}

impl Options {
    /// The defaults: TLS required, every platform, [`DEFAULT_JOBS`] jobs, the
    /// default keychain (environment, then docker's and podman's files) over
    /// the process environment.
    pub fn new() -> Self {
        Self {
            insecure: false,
            platform: None,
            jobs: DEFAULT_JOBS,
            keychain: None,
            environment: Environment::from_process(),
            user_agent_suffix: None,
            allow_nondistributable: false,
            no_clobber: false,
            referrers: false,
            verbose: false,
            progress: None,
            warnings: Warnings::default(),
            registry_settings: SettingsSource::None,
            client: Arc::new(tokio::sync::OnceCell::new()),
        }
    }

    /// crane's `--insecure`: plain http is allowed for every registry and
    /// TLS certificates are not verified.
    pub fn with_insecure(mut self, insecure: bool) -> Self {
        self.insecure = insecure;
        self.client = Arc::default();
        self
    }

    /// Per-registry settings (TLS mode, one token per repository): see
    /// [`RegistrySettings`]. `--insecure` ([`with_insecure`](Self::with_insecure)) still
    /// applies to every registry on top of them.
    ///
    /// ```
    /// use ocireg_crane::{HostSettings, Options, RegistrySettings, TlsMode};
    ///
    /// let settings = RegistrySettings::new()
    ///     .with_host("r.example:5000", HostSettings::new().with_tls(TlsMode::Disabled))?;
    /// let opts = Options::new().with_registry_settings(settings);
    /// let tls = opts.registry_settings()?.host("r.example:5000").map(HostSettings::tls);
    /// assert_eq!(tls, Some(TlsMode::Disabled));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_registry_settings(mut self, settings: RegistrySettings) -> Self {
        self.registry_settings = SettingsSource::Given(Arc::new(settings));
        self.client = Arc::default();
        self
    }

    /// Reads the per-registry settings from the settings file of the
    /// [environment](Self::with_environment) (see
    /// [`settings_path`](crate::settings_path)) when the HTTP client is built, so that only
    /// operations that talk to registries read it, and a file that is not valid fails them
    /// (crane does this for every command).
    pub fn with_registry_settings_from_environment(mut self) -> Self {
        self.registry_settings = SettingsSource::Environment;
        self.client = Arc::default();
        self
    }

    /// The per-registry settings: those given, those of the settings file (read now) when
    /// [`with_registry_settings_from_environment`](Self::with_registry_settings_from_environment)
    /// was called, else none.
    pub fn registry_settings(&self) -> Result<RegistrySettings> {
        match &self.registry_settings {
            SettingsSource::None => Ok(RegistrySettings::new()),
            SettingsSource::Given(s) => Ok((**s).clone()),
            SettingsSource::Environment => RegistrySettings::load(&self.environment),
        }
    }

    /// Operate on the image for this platform inside an index (crane's
    /// `--platform`); `None` means the whole index.
    pub fn with_platform(mut self, platform: Option<Platform>) -> Self {
        self.platform = platform;
        self
    }

    /// [`with_platform`](Self::with_platform) from crane's spelling:
    /// `os/arch[/variant][:osversion]`, or `all` (or empty) for no platform.
    pub fn with_platform_str(self, platform: &str) -> Result<Self> {
        let trimmed = platform.trim();
        if trimmed.is_empty() || trimmed == "all" {
            return Ok(self.with_platform(None));
        }
        let parsed = trimmed
            .parse::<Platform>()
            .map_err(|source| Error::InvalidPlatform {
                platform: platform.to_owned(),
                source,
            })?;
        if parsed.os.is_empty() {
            return Err(Error::InvalidArgument {
                doing: format!("parsing platform {platform:?}"),
                reason: "the operating system is missing",
            });
        }
        Ok(self.with_platform(Some(parsed)))
    }

    /// How many blobs or tags are moved at once (at least 1).
    pub fn with_jobs(mut self, jobs: usize) -> Self {
        self.jobs = jobs.max(1);
        self
    }

    /// Where credentials come from (default: [`DefaultKeychain`] over
    /// [`with_environment`](Self::with_environment)'s environment).
    pub fn with_keychain(mut self, keychain: Arc<dyn Keychain>) -> Self {
        self.keychain = Some(keychain);
        self
    }

    /// The environment variables and home directory that credential lookup,
    /// `auth login`/`logout` and `registry serve` (`$PORT`) read (default:
    /// the process environment).
    pub fn with_environment(mut self, environment: Environment) -> Self {
        self.environment = environment;
        self.client = Arc::default();
        self
    }

    /// Appended to the user agent `ocireg/<version>` (crane passes
    /// `crane/<version>`).
    pub fn with_user_agent_suffix(mut self, suffix: impl Into<String>) -> Self {
        self.user_agent_suffix = Some(suffix.into());
        self.client = Arc::default();
        self
    }

    /// Push non-distributable (foreign) layers too (crane's
    /// `--allow-nondistributable-artifacts`).
    pub fn with_allow_nondistributable(mut self, allow: bool) -> Self {
        self.allow_nondistributable = allow;
        self
    }

    /// Refuse to overwrite an existing tag when copying (crane's
    /// `copy --no-clobber`).
    pub fn with_no_clobber(mut self, no_clobber: bool) -> Self {
        self.no_clobber = no_clobber;
        self
    }

    /// Copy the referrers (signatures, SBOMs, attestations) along with an
    /// image (`copy --referrers`, beyond ggcr).
    pub fn with_referrers(mut self, referrers: bool) -> Self {
        self.referrers = referrers;
        self
    }

    /// Operations may log more detail (the caller installs the logger).
    pub fn with_verbose(mut self, verbose: bool) -> Self {
        self.verbose = verbose;
        self
    }

    /// The front end that draws the progress of operations that move blobs (copies):
    /// see [`Progress`].
    pub fn with_progress(mut self, progress: Arc<dyn Progress>) -> Self {
        self.progress = Some(progress);
        self
    }

    /// Whether `--insecure` is set.
    #[must_use]
    pub fn insecure(&self) -> bool {
        self.insecure
    }

    /// The platform to pick inside an index, if any.
    #[must_use]
    pub fn platform(&self) -> Option<&Platform> {
        self.platform.as_ref()
    }

    /// How many blobs or tags are moved at once.
    #[must_use]
    pub fn jobs(&self) -> usize {
        self.jobs
    }

    /// The environment.
    #[must_use]
    pub fn environment(&self) -> &Environment {
        &self.environment
    }

    /// Whether non-distributable layers are pushed.
    #[must_use]
    pub fn allow_nondistributable(&self) -> bool {
        self.allow_nondistributable
    }

    /// Whether existing tags are left alone by copies.
    #[must_use]
    pub fn no_clobber(&self) -> bool {
        self.no_clobber
    }

    /// Whether copies carry referrers along.
    #[must_use]
    pub fn referrers(&self) -> bool {
        self.referrers
    }

    /// Whether verbose output was asked for.
    #[must_use]
    pub fn verbose(&self) -> bool {
        self.verbose
    }

    /// The progress reporter, if any.
    #[must_use]
    pub fn progress(&self) -> Option<&Arc<dyn Progress>> {
        self.progress.as_ref()
    }

    /// The registry `Warning` headers seen so far, shared by all clones.
    #[must_use]
    pub fn warnings(&self) -> &Warnings {
        &self.warnings
    }

    /// The keychain to use: the one given, else [`DefaultKeychain`] over the
    /// environment (which fails when the `OCIREG_REGISTRY_*` variables are
    /// inconsistent).
    pub fn keychain(&self) -> Result<Arc<dyn Keychain>> {
        if let Some(k) = &self.keychain {
            return Ok(Arc::clone(k));
        }
        DefaultKeychain::new(self.environment.clone())
            .map(|k| Arc::new(k) as Arc<dyn Keychain>)
            .map_err(|source| Error::Credentials {
                doing: "reading registry credentials from the environment".to_owned(),
                source,
            })
    }

    /// Resolves the credentials for a resource through [`keychain`](Self::keychain).
    pub(crate) async fn authenticator(
        &self,
        resource: &Resource,
    ) -> Result<Arc<dyn ocireg_authn::Authenticator>> {
        self.keychain()?
            .resolve(resource)
            .await
            .map_err(|source| Error::Credentials {
                doing: format!("looking up credentials for {resource}"),
                source,
            })
    }

    /// The name-parsing options: weak defaults, insecure when `--insecure`.
    pub(crate) fn name_options(&self) -> ocireg_name::Options {
        ocireg_name::Options::new().insecure(self.insecure)
    }

    /// Parses an image reference with these options. An image on disk (`ocidir://dir:tag`,
    /// a path such as `./dir`) is refused with [`Error::LocalImage`].
    pub fn parse_reference(&self, reference: &str) -> Result<Reference> {
        refuse_local(reference)?;
        Reference::with_options(reference, &self.name_options()).map_err(|source| {
            Error::InvalidReference {
                reference: reference.to_owned(),
                source,
            }
        })
    }

    /// Parses a repository with these options. A directory (`ocidir://dir`, a path such
    /// as `./dir`) is refused with [`Error::LocalImage`].
    pub fn parse_repository(&self, repository: &str) -> Result<Repository> {
        refuse_local(repository)?;
        Repository::with_options(repository, &self.name_options()).map_err(|source| {
            Error::InvalidRepository {
                repository: repository.to_owned(),
                source,
            }
        })
    }

    /// Parses a registry with these options.
    pub fn parse_registry(&self, registry: &str) -> Result<Registry> {
        Registry::with_options(registry, &self.name_options()).map_err(|source| {
            Error::InvalidRegistry {
                registry: registry.to_owned(),
                source,
            }
        })
    }

    /// The HTTP client for every registry this command talks to, built on
    /// first use: `--insecure`, the user agent, the per-registry settings (see
    /// [`with_registry_settings`](Self::with_registry_settings); a settings file that is
    /// not valid fails here), and the `HttpHeaders` of
    /// docker's config file (except `User-Agent`, as ggcr). A config file that
    /// cannot be read only loses its headers (logged at debug level), as in
    /// crane. Registry `Warning` headers go to [`warnings`](Self::warnings),
    /// each distinct text once.
    pub async fn client(&self) -> Result<Client> {
        self.client
            .get_or_try_init(|| async {
                let warnings = self.warnings.clone();
                let mut builder = Client::builder()
                    .insecure(self.insecure)
                    .warning_sink(move |text| warnings.add(text));
                if let Some(suffix) = &self.user_agent_suffix {
                    builder = builder.user_agent_suffix(suffix.clone());
                }
                builder = match &self.registry_settings {
                    SettingsSource::None => builder,
                    SettingsSource::Given(s) => s.apply(builder),
                    SettingsSource::Environment => {
                        let env = self.environment.clone();
                        let settings =
                            tokio::task::spawn_blocking(move || RegistrySettings::load(&env))
                                .await
                                .map_err(|e| Error::Io {
                                    doing: "reading registry settings".to_owned(),
                                    source: std::io::Error::other(e.to_string()),
                                })??;
                        settings.apply(builder)
                    }
                };
                match DockerConfigKeychain::new(self.environment.clone())
                    .config_file()
                    .await
                {
                    Ok(Some(file)) => {
                        let headers: Vec<(String, String)> = file
                            .http_headers()
                            .iter()
                            .filter(|(k, _)| !k.eq_ignore_ascii_case("user-agent"))
                            .cloned()
                            .collect();
                        builder = builder.http_headers(headers);
                    }
                    Ok(None) => {}
                    Err(error) => {
                        tracing::debug!(%error, "not adding HttpHeaders: reading the config file failed");
                    }
                }
                builder.build().map_err(|source| Error::Transport {
                    doing: "setting up the HTTP client".to_owned(),
                    source,
                })
            })
            .await
            .cloned()
    }
}

/// Refuses a name of an image on disk: an `ocidir://` reference or a path (`./dir`,
/// `../dir`, `/abs/dir`, `~/dir`, `dir/`, `.`, `..`). No registry reference has that
/// shape, and the name parser would take some of them for a registry host.
fn refuse_local(name: &str) -> Result<()> {
    let trimmed = name.trim();
    // The path without a `@digest` or `:tag` (a colon followed by a slash is a port).
    let path = trimmed.split_once('@').map_or(trimmed, |(path, _)| path);
    let path = match path.rsplit_once(':') {
        Some((path, tag)) if !tag.contains('/') => path,
        _ => path,
    };
    let local = trimmed.starts_with("ocidir:")
        || ["./", "../", "/", "~/"].iter().any(|p| path.starts_with(p))
        || path.ends_with('/')
        || path == "."
        || path == "..";
    if local {
        return Err(Error::LocalImage {
            reference: name.to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn platform_strings() {
        let table = [
            ("all", None),
            ("", None),
            ("linux/amd64", Some("linux/amd64")),
            ("linux/arm64/v8", Some("linux/arm64/v8")),
            ("windows/amd64:10.0.17763", Some("windows/amd64:10.0.17763")),
        ];
        for (input, want) in table {
            let opts = Options::new().with_platform_str(input).expect(input);
            assert_eq!(
                opts.platform().map(ToString::to_string).as_deref(),
                want,
                "{input}"
            );
        }
        for bad in ["a/b/c/d", "linux:1:2", "/amd64"] {
            let err = Options::new().with_platform_str(bad).expect_err(bad);
            assert_eq!(err.kind(), ErrorKind::Usage, "{bad}");
        }
    }

    #[test]
    fn jobs_are_at_least_one() {
        assert_eq!(Options::new().jobs(), DEFAULT_JOBS);
        assert_eq!(Options::new().with_jobs(0).jobs(), 1);
        assert_eq!(Options::new().with_jobs(16).jobs(), 16);
    }

    #[test]
    fn references_parse_with_usage_errors() {
        let opts = Options::new();
        assert_eq!(
            opts.parse_reference("r.io/app:v1").expect("valid").name(),
            "r.io/app:v1"
        );
        for bad in ["r.io/App:v1", "r.io/app:", "r.io/app@sha256:abc"] {
            assert_eq!(
                opts.parse_reference(bad).expect_err(bad).kind(),
                ErrorKind::Usage,
                "{bad}"
            );
        }
        assert_eq!(
            opts.parse_repository("r.io/a b").expect_err("space").kind(),
            ErrorKind::Usage
        );
        assert_eq!(
            opts.parse_registry("a b").expect_err("space").kind(),
            ErrorKind::Usage
        );
    }

    #[test]
    fn images_on_disk_are_refused_as_usage_errors() {
        let opts = Options::new();
        for local in [
            "ocidir://dir:tag",
            "ocidir:dir",
            "./dir",
            "../dir:v1",
            "/abs/path",
            "~/images/app",
            "dir/",
            "dir/:v1",
            "dir/@sha256:0000",
            ".",
            "..:v1",
        ] {
            for err in [
                opts.parse_reference(local).expect_err(local),
                opts.parse_repository(local).expect_err(local),
            ] {
                assert!(matches!(err, Error::LocalImage { .. }), "{local}: {err:?}");
                assert_eq!(err.kind(), ErrorKind::Usage, "{local}");
                assert!(
                    err.to_string()
                        .ends_with("images on disk (OCI image layouts) are not supported here"),
                    "{err}"
                );
            }
        }
        // Registry references that merely contain dots and slashes are not paths.
        for remote in ["r.io/app:v1", "localhost:5000/a/b", "app", "r.io/a.b/c"] {
            opts.parse_reference(remote).expect(remote);
        }
    }

    #[test]
    fn insecure_reaches_names() {
        let opts = Options::new().with_insecure(true);
        assert_eq!(
            opts.parse_reference("r.io/app")
                .expect("valid")
                .registry()
                .scheme(),
            "http"
        );
        assert_eq!(
            Options::new()
                .parse_reference("r.io/app")
                .expect("valid")
                .registry()
                .scheme(),
            "https"
        );
    }

    #[test]
    fn debug_hides_nothing_secret_and_names_settings() {
        let opts = Options::new()
            .with_environment(Environment::empty().with_var("OCIREG_REGISTRY_PASSWORD", "hunter2"));
        let text = format!("{opts:?}");
        assert!(text.contains("insecure"));
        assert!(!text.contains("hunter2"));
    }

    #[tokio::test]
    async fn a_bad_settings_file_fails_the_client_only_when_asked_to_read_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("settings.json");
        fs_err::write(
            &path,
            "{\"hosts\": {\"r.example\": {\"tls\": \"sometimes\"}}}",
        )
        .expect("write settings");
        let env = Environment::empty().with_var("OCIREG_CONFIG", path.to_string_lossy());
        let opts = Options::new().with_environment(env);
        opts.client()
            .await
            .expect("the file is not read without being asked");
        let opts = opts.with_registry_settings_from_environment();
        let err = opts.client().await.expect_err("a bad file");
        assert!(matches!(err, Error::Settings { .. }), "{err:?}");
        assert!(err.to_string().contains("settings.json"), "{err}");
        assert!(opts.registry_settings().is_err());
        fs_err::write(
            &path,
            "{\"hosts\": {\"r.example\": {\"tls\": \"disabled\"}}}",
        )
        .expect("write settings");
        let opts = opts.with_registry_settings_from_environment();
        opts.client().await.expect("a good file");
        assert!(
            opts.registry_settings()
                .expect("settings")
                .host("r.example")
                .is_some()
        );
    }

    #[tokio::test]
    async fn client_builds_once_and_is_shared() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs_err::write(
            dir.path().join("config.json"),
            r#"{"HttpHeaders": {"X-Meta": "yes", "User-Agent": "docker"}}"#,
        )
        .expect("write config");
        let opts = Options::new()
            .with_environment(
                Environment::empty().with_var("DOCKER_CONFIG", dir.path().to_string_lossy()),
            )
            .with_user_agent_suffix("crane/test");
        let a = opts.client().await.expect("client");
        let b = opts.clone().client().await.expect("client");
        assert!(a.user_agent().ends_with("crane/test"), "{}", a.user_agent());
        assert_eq!(a.user_agent(), b.user_agent());
    }
}
