//! The command line: clap definitions only.
#![allow(
    rustdoc::broken_intra_doc_links,
    reason = "doc comments here are clap's --help text, where [:TAG] and HOST[:PORT] mean optional parts, not links"
)]

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  failure (network, registry or local error; `auth get` without credentials)
  2  usage error (bad flag, argument, reference or platform)
  3  not found (image, tag, digest or repository)
  4  authentication or authorization failed

Data (manifests, digests, tags, JSON) goes to stdout; progress, warnings and
errors go to stderr.

Time limits: every request is bounded: connecting 30 s, the TLS handshake
10 s, the response headers 60 s after the request body is sent, 60 s without
a byte of a response body (or of a request body the registry is reading),
and a response body must average at least 16 KiB/s after its first 30 s (a
4 KiB manifest gets 30 s, a 1 GiB layer about 18 h). A failed request is
tried at most 5 times, 1 s to 30 s apart (Retry-After honoured up to 60 s).
Listings stop after 10,000 pages or 1,000,000 entries. --timeout bounds
the whole run.";

const EDIT_CONFIG_EXAMPLES: &str = "\
Examples:
  # Edit the config of an image in $EDITOR and push it back in place
  crane edit config registry.example/app:v1

  # Replace it from stdin, pushing to another tag
  crane config registry.example/app:v1 | jq '.config.User = \"1000\"' | crane edit config registry.example/app:v1 -t registry.example/app:v1-user";

const EDIT_MANIFEST_EXAMPLES: &str = "\
Examples:
  # Edit a manifest in $EDITOR and push it back in place
  crane edit manifest registry.example/app:v1

  # Replace it from stdin
  crane manifest registry.example/app:v1 | jq '.annotations.owner = \"me\"' | crane edit manifest registry.example/app:v1";

const EDIT_FS_EXAMPLES: &str = "\
Examples:
  # Edit motd-news using $EDITOR
  crane edit fs ubuntu -f /etc/default/motd-news

  # Overwrite motd-news with 'ENABLED=0'
  echo 'ENABLED=0' | crane edit fs ubuntu -f /etc/default/motd-news";

const VALIDATE_EXAMPLES: &str = "\
Examples:
  # Validate an image in a registry, downloading and hashing every layer
  crane validate --remote registry.example/app:v1

  # Only check that the layers exist
  crane validate --remote registry.example/app:v1 --fast

  # Validate the image in a docker save tarball
  crane validate --tarball app.tar";

const INDEX_LIST_EXAMPLES: &str = "\
Examples:
  # The children of an index, with their platforms
  crane index list registry.example/app:v1

  # The entries of an OCI image layout's index.json
  crane index list ./layout";

const INDEX_FILTER_EXAMPLES: &str = "\
Examples:
  # Keep linux/amd64 and linux/arm64, push the result to another tag
  crane index filter registry.example/app:v1 --platform linux/amd64 --platform linux/arm64 -t registry.example/app:slim

  # Keep every linux image, in place
  crane index filter registry.example/app:v1 --platform linux";

const INDEX_APPEND_EXAMPLES: &str = "\
Examples:
  # Make an index from two images
  crane index append -m registry.example/app:amd64 -m registry.example/app:arm64 -t registry.example/app:v1

  # Append an image to an existing index, in place
  crane index append registry.example/app:v1 -m registry.example/app:s390x";

const COPY_EXAMPLES: &str = "\
Examples:
  # Copy an image to another registry, keeping its digest
  crane copy gcr.io/a/b:v1 r.example/b:v1

  # Copy every tag of a repository, leaving tags already there alone
  crane copy --all-tags --no-clobber gcr.io/a/b r.example/b

  # Copy one platform's image, with its signatures and SBOMs
  crane copy --platform linux/arm64 --referrers gcr.io/a/b:v1 r.example/b:v1-arm64

  # Copy every tag of a repository into an OCI image layout (tags become ref.names)
  crane copy --all-tags gcr.io/a/b ocidir://./layout";

const MANIFEST_EXAMPLES: &str = "\
Examples:
  # Print an image's manifest (or an index's), bytes as the registry sent them
  crane manifest gcr.io/a/b:v1

  # The manifest of one platform's image in an index
  crane manifest --platform linux/amd64 gcr.io/a/b:v1";

const DIGEST_EXAMPLES: &str = "\
Examples:
  # Print the digest of an image
  crane digest gcr.io/a/b:v1

  # Print it as a reference that pins the image (REPO@DIGEST)
  crane digest --full-ref gcr.io/a/b:v1

  # Print the digest of the image in a docker tarball
  crane digest --tarball image.tar";

const PULL_EXAMPLES: &str = "\
Examples:
  # Save two images in one docker tarball (`docker load` reads it)
  crane pull gcr.io/a/b:v1 gcr.io/a/c:v2 images.tar

  # Save an image (or its whole index) in an OCI image layout, tagged by reference
  crane pull --format oci --annotate-ref gcr.io/a/b:v1 ./layout

  # Keep the layers in a cache directory: a later pull of images sharing them
  # reads them from there (each checked for size and digest)
  crane pull -c ~/.cache/crane gcr.io/a/b:v1 b.tar";

const LAYOUT_GC_EXAMPLES: &str = "\
Examples:
  # Remove the blobs of images no longer listed in the layout
  crane layout gc ./layout";

const PUSH_EXAMPLES: &str = "\
Examples:
  # Push the image of a docker tarball
  crane push image.tar gcr.io/a/b:v1

  # Push the whole index of an OCI image layout
  crane push --index ./layout gcr.io/a/b:v1";

const CONFIG_EXAMPLES: &str = "\
Examples:
  # Print an image's config (its environment, entrypoint, history...)
  crane config gcr.io/a/b:v1

  # The config of one platform's image in an index
  crane config --platform linux/arm64 gcr.io/a/b:v1";

const LS_EXAMPLES: &str = "\
Examples:
  # List the tags of a repository
  crane ls gcr.io/a/b

  # As full references, without the sha256-... tags of signatures and attestations
  crane ls --full-ref --omit-digest-tags gcr.io/a/b";

const CATALOG_EXAMPLES: &str = "\
Examples:
  # List the repositories of a registry
  crane catalog r.example

  # As full repository names
  crane catalog --full-ref localhost:5000";

const TAG_EXAMPLES: &str = "\
Examples:
  # Tag gcr.io/a/b:v1 also as gcr.io/a/b:latest (no blob moves)
  crane tag gcr.io/a/b:v1 latest

  # Tag an entry of an OCI image layout (another ref.name entry in its index.json)
  crane tag ocidir://./layout:v1 stable";

const DELETE_EXAMPLES: &str = "\
Examples:
  # Delete a manifest by digest (most registries refuse deleting a tag)
  crane delete r.example/b@sha256:5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03

  # Remove an entry from an OCI image layout's index.json (by tag, or every entry
  # with a digest); its blobs stay on disk until `crane layout gc ./layout`
  crane delete ocidir://./layout:v1

  # Remove only the tag v1; the manifest and its other tags stay
  crane delete --tag-only r.example/b:v1";

const RATELIMIT_EXAMPLES: &str = "\
Examples:
  # How many Docker Hub pulls are left (a HEAD, which Hub does not count)
  crane ratelimit alpine
  # limit: 100 per 21600s
  # remaining: 76
  # source: 203.0.113.7

  # Only the remaining count (fields: .Limit .Remaining .WindowSeconds .ResetSeconds
  # .Source .Reported; absent values are null)
  crane ratelimit --format '{{.Remaining}}' alpine";

const ATTACH_EXAMPLES: &str = "\
Examples:
  # Attach an SBOM to an image; prints the artifact's REPO@DIGEST
  crane attach sbom.spdx.json application/spdx+json application/spdx+json r.example/b:v1

  # Then list what refers to the image
  crane refs r.example/b:v1

  # The same in an OCI image layout; prints ocidir://DIR@DIGEST
  crane attach sbom.spdx.json application/spdx+json application/spdx+json ocidir://./layout:v1";

const REFS_EXAMPLES: &str = "\
Examples:
  # Print the referrers index of an image (signatures, SBOMs, attestations)
  crane refs r.example/b:v1

  # Only the SBOMs
  crane refs --artifact-type application/spdx+json r.example/b:v1

  # The referrers of an entry of an OCI image layout (the manifests its index.json
  # lists whose subject is that entry)
  crane refs ocidir://./layout:v1";

const VERSION_EXAMPLES: &str = "\
Examples:
  crane version";

const COMPLETION_EXAMPLES: &str = "\
Examples:
  # Load completions into the current bash shell
  source <(crane completion bash)

  # Install them for zsh
  crane completion zsh > \"${fpath[1]}/_crane\"";

const AUTH_GET_EXAMPLES: &str = "\
Examples:
  # Read the configured credentials for r.example
  crane auth get r.example

  # The same, as docker calls a credential helper
  echo r.example | crane auth get";

const AUTH_LOGIN_EXAMPLES: &str = "\
Examples:
  # Log in to r.example, the password from stdin
  crane auth login r.example -u AzureDiamond --password-stdin < password.txt";

const AUTH_LOGOUT_EXAMPLES: &str = "\
Examples:
  # Log out of r.example
  crane auth logout r.example";

const AUTH_TOKEN_EXAMPLES: &str = "\
Examples:
  # Mount a blob from debian to ubuntu
  curl -H \"$(crane auth token -H --push --mount debian ubuntu)\" ...

  # Get the raw tag list of a repository
  curl -H \"$(crane auth token -H ubuntu)\" https://index.docker.io/v2/library/ubuntu/tags/list";

const SERVE_EXAMPLES: &str = "\
Examples:
  # Serve a registry in memory on a port the system picks (printed on stdout)
  crane registry serve

  # Serve on a fixed address, blobs on disk
  crane registry serve --address 127.0.0.1:5000 --disk /var/lib/registry";

const REGISTRY_SET_EXAMPLES: &str = "\
Examples:
  # Speak plain http to a registry (https is never tried)
  crane registry set --tls disabled registry.example:5000

  # https without certificate verification, for this registry only
  crane registry set --tls insecure dev.example

  # One token per repository (gcr.io cannot grant several repositories in one token)
  crane registry set --repo-auth gcr.io

  # Back to the defaults
  crane registry set --tls enabled --repo-auth=false gcr.io

  # Docker Hub's own API and its token, read from stdin
  crane registry set --api hub --api-token-stdin hub.docker.com < hub-token.txt

The settings live in $OCIREG_CONFIG, else $XDG_CONFIG_HOME/ocireg/config.json,
else ~/.config/ocireg/config.json (JSON, mode 0600), and every command that
talks to a registry follows them. --insecure still applies to every registry.";

const REGISTRY_CONFIG_EXAMPLES: &str = "\
Examples:
  # Every registry's settings (tokens shown as ***)
  crane registry config

  # One registry's
  crane registry config gcr.io

  # The TLS mode of one registry (empty when it is the default, enabled)
  crane registry config registry.example:5000 --format '{{.tls}}'";

const BLOB_HELP: &str = "\
Examples:
  # Write a layer to stdout
  crane blob gcr.io/a/b@sha256:5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03 > layer.tar.gz

  # Write it to a file, which appears only once its size and digest are verified
  crane blob -o layer.tar.gz gcr.io/a/b@sha256:5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03

  # A blob of an OCI image layout, verified as it is read
  crane blob ocidir://./layout@sha256:5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03

What the output holds:
  crane asks the registry for the blob's size first (HEAD) and refuses an
  absurd size or a Docker-Content-Digest that names another blob. It then
  reads at most that many bytes and checks the size and the digest.

  Without -o, the bytes go to stdout as they arrive. If the registry sends
  more, fewer or other bytes, crane stops and exits non-zero, and what is
  already on stdout is not the blob: a consumer of stdout must check crane's
  exit status and discard the output on failure.

  With -o FILE, the bytes go to a temporary file beside FILE, which is synced
  and renamed to FILE only once the size and digest are right. On failure the
  temporary file is removed and FILE is left as it was (absent, or the old
  file).";

/// crane is a tool for interacting with remote images and registries.
#[derive(Debug, Parser)]
#[command(
    name = "crane",
    version = ocireg_crane::VERSION,
    about = "crane is a tool for interacting with remote images and registries.",
    after_help = EXIT_CODES,
    subcommand_required = true,
    arg_required_else_help = true
)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: Global,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The heading of the flags every command takes, apart from its own (ggcr's "Global
/// Flags:").
const GLOBAL: &str = "Global Flags";

/// Flags every command takes.
#[derive(Debug, Args)]
#[expect(clippy::struct_excessive_bools, reason = "one field per crane flag")]
pub(crate) struct Global {
    /// Allow image references to be fetched without TLS (plain http, and no
    /// certificate verification).
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub(crate) insecure: bool,

    /// Specifies the platform in the form os/arch[/variant][:osversion]
    /// (e.g. linux/amd64); `all` means the whole index.
    #[arg(
        long,
        global = true,
        help_heading = GLOBAL,
        value_name = "PLATFORM",
        default_value = "all",
        action = clap::ArgAction::Append,
        value_delimiter = ','
    )]
    pub(crate) platform: Vec<String>,

    /// Enable debug logs (HTTP requests, redacted) and show the full cause of
    /// errors.
    #[arg(short, long, global = true, help_heading = GLOBAL)]
    pub(crate) verbose: bool,

    /// Allow pushing non-distributable (foreign) layers.
    #[arg(
        long = "allow-nondistributable-artifacts",
        global = true,
        help_heading = GLOBAL
    )]
    pub(crate) allow_nondistributable_artifacts: bool,

    /// How many blobs or tags to move at once.
    #[arg(
        short = 'j',
        long,
        global = true,
        help_heading = GLOBAL,
        value_name = "N",
        default_value_t = ocireg_crane::DEFAULT_JOBS,
        value_parser = parse_jobs
    )]
    pub(crate) jobs: usize,

    /// No progress, informational messages or retry logs on stderr (errors
    /// and registry warnings still show).
    #[arg(short, long, global = true, help_heading = GLOBAL)]
    pub(crate) quiet: bool,

    /// Give up when the whole run takes longer than this (e.g. 90s, 10m, 2h;
    /// default: no limit beyond the per-request limits that `crane --help` lists).
    #[arg(
        long,
        global = true,
        help_heading = GLOBAL,
        value_name = "DURATION",
        value_parser = parse_duration
    )]
    pub(crate) timeout: Option<std::time::Duration>,
}

/// `90s`, `10m`, `2h`, `1h30m` or a plain number of seconds.
fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let bad = || format!("expected a duration such as 90s, 10m or 2h, got {text:?}");
    let text = text.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return (secs > 0)
            .then(|| std::time::Duration::from_secs(secs))
            .ok_or_else(bad);
    }
    let mut total: u64 = 0;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            _ => return Err(bad()),
        };
        let n: u64 = number.parse().map_err(|_| bad())?;
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
        number.clear();
    }
    if !number.is_empty() || total == 0 {
        return Err(bad());
    }
    Ok(std::time::Duration::from_secs(total))
}

fn parse_jobs(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err("expected a whole number of at least 1".to_owned()),
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Efficiently copy a remote image from src to dst while retaining the
    /// digest value.
    #[command(visible_alias = "cp", after_help = COPY_EXAMPLES)]
    Copy {
        /// The image to copy (REGISTRY/REPO[:TAG|@DIGEST]; with --all-tags a repository).
        src: String,
        /// Where to copy it.
        dst: String,
        /// Copy all tags from SRC to DST.
        #[arg(short = 'a', long)]
        all_tags: bool,
        /// Avoid overwriting existing tags in DST.
        #[arg(short = 'n', long)]
        no_clobber: bool,
        /// Also copy the image's referrers (signatures, SBOMs, attestations).
        #[arg(long)]
        referrers: bool,
    },

    /// Get the manifest of an image.
    #[command(after_help = MANIFEST_EXAMPLES)]
    Manifest {
        /// The image reference.
        image: String,
        #[command(flatten)]
        format: crate::format::FormatArg,
    },

    /// Get the digest of an image.
    #[command(after_help = DIGEST_EXAMPLES)]
    Digest {
        /// The image reference.
        #[arg(required_unless_present = "tarball", conflicts_with = "tarball")]
        image: Option<String>,
        /// Print the full image reference by digest (REPO@DIGEST).
        #[arg(long, conflicts_with = "tarball")]
        full_ref: bool,
        /// Print the digest of the image in this `docker save` tarball.
        #[arg(long, value_name = "PATH")]
        tarball: Option<PathBuf>,
        /// With --tarball, the tag of the image to pick (when it holds several).
        #[arg(long, requires = "tarball")]
        tag: Option<String>,
        #[command(flatten)]
        format: crate::format::FormatArg,
    },

    /// Get the config of an image.
    #[command(after_help = CONFIG_EXAMPLES)]
    Config {
        /// The image reference.
        image: String,
        #[command(flatten)]
        format: crate::format::FormatArg,
    },

    /// Read a blob from the registry.
    #[command(after_help = BLOB_HELP)]
    Blob {
        /// The blob, as REPO@DIGEST or ocidir://DIR@DIGEST.
        blob: String,
        /// Write the blob to FILE instead of stdout, only once its size and digest are
        /// verified.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },

    /// List the tags in a repo.
    #[command(after_help = LS_EXAMPLES)]
    Ls {
        /// The repository.
        repo: String,
        /// If true, print the full image reference.
        #[arg(long)]
        full_ref: bool,
        /// If true, omit digest tags (e.g., ':sha256-...').
        #[arg(short = 'O', long)]
        omit_digest_tags: bool,
        #[command(flatten)]
        format: crate::format::FormatArg,
    },

    /// List the repos in a registry.
    #[command(after_help = CATALOG_EXAMPLES)]
    Catalog {
        /// The registry (HOST[:PORT]).
        registry: String,
        /// If true, print the full repository references.
        #[arg(long)]
        full_ref: bool,
        #[command(flatten)]
        format: crate::format::FormatArg,
    },

    /// Efficiently tag a remote image.
    #[command(after_help = TAG_EXAMPLES)]
    Tag {
        /// The image reference.
        image: String,
        /// The new tag, in the same repository.
        tag: String,
    },

    /// Delete an image reference from its registry, or an entry from an OCI image
    /// layout's index.json (ocidir://; its blobs stay until `crane layout gc`).
    #[command(after_help = DELETE_EXAMPLES)]
    Delete {
        /// The image reference.
        image: String,
        /// Remove only the tag, keeping the manifest and its other tags: the registry
        /// deletes the tag (OCI 1.1), or else a unique placeholder manifest is put under the
        /// tag and deleted by digest. Takes a tag, never a digest.
        #[arg(long)]
        tag_only: bool,
    },

    /// Show a registry's rate limit for an image (Docker Hub's pull limit), from the
    /// RateLimit-Limit/RateLimit-Remaining headers of a manifest HEAD (not counted as a
    /// pull by Docker Hub).
    #[command(after_help = RATELIMIT_EXAMPLES)]
    Ratelimit {
        /// The image reference.
        image: String,
        #[command(flatten)]
        format: crate::format::FormatArg,
    },

    /// Log in or access credentials.
    #[command(subcommand)]
    Auth(AuthCommand),

    /// Run a registry.
    #[command(subcommand)]
    Registry(RegistryCommand),

    /// Work with OCI image layouts on disk.
    #[command(subcommand)]
    Layout(LayoutCommand),

    /// Modify an image index.
    #[command(subcommand)]
    Index(IndexCommand),

    /// Edit the contents of an image (in $EDITOR, or from stdin when it is not a
    /// terminal).
    #[command(subcommand, hide = true)]
    Edit(EditCommand),

    /// Validate that an image is well-formed.
    #[command(after_help = VALIDATE_EXAMPLES)]
    Validate {
        /// Name of remote image to validate (or ocidir://DIR[:TAG|@DIGEST]).
        #[arg(long, required_unless_present = "tarball", conflicts_with = "tarball")]
        remote: Option<String>,
        /// Path to tarball to validate.
        #[arg(long, value_name = "PATH")]
        tarball: Option<PathBuf>,
        /// Skip downloading/digesting layers.
        #[arg(long)]
        fast: bool,
        #[command(flatten)]
        format: crate::format::FormatArg,
    },

    /// Print the version.
    #[command(after_help = VERSION_EXAMPLES)]
    Version,

    /// Push FILE as an artifact that refers to IMAGE; prints the artifact's
    /// REPO@DIGEST.
    #[command(after_help = ATTACH_EXAMPLES)]
    Attach {
        /// The file to attach.
        file: PathBuf,
        /// The media type of FILE's blob.
        media_type: String,
        /// The artifactType of the artifact manifest.
        artifact_type: String,
        /// The image the artifact refers to.
        image: String,
    },

    /// Pull remote images by reference and store their contents locally.
    #[command(after_help = PULL_EXAMPLES)]
    Pull {
        /// The images to pull, then the path to write (a tarball file, or an OCI image
        /// layout directory with --format oci).
        #[arg(required = true, num_args = 2.., value_name = "IMAGE... PATH")]
        args: Vec<String>,
        /// Format in which to save images.
        #[arg(long, value_enum, default_value = "tarball")]
        format: PullFormat,
        /// With --format oci, annotate each entry with its reference
        /// (org.opencontainers.image.ref.name).
        #[arg(long)]
        annotate_ref: bool,
        /// Path to cache image layers: layers are kept there by digest and later pulls
        /// read them from there (each checked for size and digest) instead of the registry.
        #[arg(short = 'c', long = "cache_path", value_name = "DIR")]
        cache_path: Option<PathBuf>,
    },

    /// Push local image contents to a remote registry: a `docker save` tarball (one
    /// image) or an OCI image layout directory; prints REPO@DIGEST.
    #[command(after_help = PUSH_EXAMPLES)]
    Push {
        /// The tarball or OCI image layout.
        path: PathBuf,
        /// Where to push it.
        image: String,
        /// Push a collection of images as a single index (the layout's index.json).
        #[arg(long)]
        index: bool,
        /// Path to a file where the pushed reference (REPO@DIGEST) is written.
        #[arg(long, value_name = "FILE")]
        image_refs: Option<PathBuf>,
    },

    /// Print the referrers index of an image as JSON.
    #[command(visible_alias = "referrers", after_help = REFS_EXAMPLES)]
    Refs {
        /// The image reference.
        image: String,
        /// Only referrers with this artifact type.
        #[arg(long)]
        artifact_type: Option<String>,
        #[command(flatten)]
        format: crate::format::FormatArg,
    },

    // ---- The mutate family (issue 12): definitions in cli_mutate.rs. ----
    /// Append contents of a tarball to a remote image; prints REPO@DIGEST.
    #[command(after_help = crate::cli_mutate::APPEND_EXAMPLES)]
    Append(crate::cli_mutate::AppendArgs),

    /// Modify image labels, annotations, config and platform; prints REPO@DIGEST.
    #[command(after_help = crate::cli_mutate::MUTATE_EXAMPLES)]
    Mutate(Box<crate::cli_mutate::MutateArgs>),

    /// Flatten an image's layers into a single layer; prints REPO@DIGEST.
    #[command(after_help = crate::cli_mutate::FLATTEN_EXAMPLES)]
    Flatten(crate::cli_mutate::FlattenArgs),

    /// Export filesystem of a container image as a tarball.
    #[command(after_help = crate::cli_mutate::EXPORT_EXAMPLES)]
    Export(crate::cli_mutate::ExportArgs),

    /// Rebase an image onto a new base image; prints REPO@DIGEST.
    #[command(after_help = crate::cli_mutate::REBASE_EXAMPLES)]
    Rebase(crate::cli_mutate::RebaseArgs),
    // ---- End of the mutate family. ----
    /// Print a shell completion script.
    #[command(after_help = COMPLETION_EXAMPLES)]
    Completion {
        /// The shell.
        shell: Shell,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum AuthCommand {
    /// Implements a credential helper: prints the credentials for a registry
    /// as {"Username": ..., "Secret": ...}.
    #[command(after_help = AUTH_GET_EXAMPLES)]
    Get {
        /// The registry; read from stdin when absent.
        registry: Option<String>,
    },

    /// Log in to a registry (stores the credentials in docker's config).
    #[command(after_help = AUTH_LOGIN_EXAMPLES)]
    Login {
        /// The registry (HOST[:PORT]).
        server: String,
        /// Username.
        #[arg(short, long)]
        username: Option<String>,
        /// Password (prefer --password-stdin: command lines are visible to
        /// other users).
        #[arg(short, long, conflicts_with = "password_stdin")]
        password: Option<String>,
        /// Take the password from stdin.
        #[arg(long)]
        password_stdin: bool,
    },

    /// Log out of a registry.
    #[command(after_help = AUTH_LOGOUT_EXAMPLES)]
    Logout {
        /// The registry (HOST[:PORT]).
        server: String,
    },

    /// Retrieves a token for a remote repo: prints {"token": ..., "refresh_token": ...,
    /// "expires_in": ...}, or with -H an Authorization header.
    #[command(after_help = AUTH_TOKEN_EXAMPLES)]
    Token {
        /// The repository.
        repo: String,
        /// Output in header format.
        #[arg(short = 'H', long, conflicts_with = "format")]
        header: bool,
        /// Request push scopes.
        #[arg(long)]
        push: bool,
        /// Scopes to mount from (repositories).
        #[arg(short, long, value_delimiter = ',')]
        mount: Vec<String>,
        #[command(flatten)]
        format: crate::format::FormatArg,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum EditCommand {
    /// Edit an image's config file.
    #[command(after_help = EDIT_CONFIG_EXAMPLES)]
    Config {
        /// The image.
        image: String,
        /// New tag reference to apply to mutated image. If not provided, uses original
        /// tag or pushes a new digest.
        #[arg(short = 't', long)]
        tag: Option<String>,
    },
    /// Edit an image's manifest.
    #[command(after_help = EDIT_MANIFEST_EXAMPLES)]
    Manifest {
        /// The image.
        image: String,
        /// New tag reference to apply to mutated image. If not provided, uses original
        /// tag or pushes a new digest.
        #[arg(short = 't', long)]
        tag: Option<String>,
        /// Override the mediaType used as the Content-Type for PUT.
        #[arg(short = 'm', long)]
        media_type: Option<String>,
    },
    /// Edit the contents of an image's filesystem.
    ///
    /// Appends a layer holding the new content of one file; from stdin when it is
    /// not a terminal (written as ggcr does: mode 0555, owned by 0:0), else in
    /// $EDITOR (an existing file keeps its mode and owner).
    #[command(after_help = EDIT_FS_EXAMPLES)]
    Fs {
        /// The image (a registry reference or ocidir://DIR[:TAG|@DIGEST]).
        image: String,
        /// Edit the given filename
        #[arg(short = 'f', long, required = true)]
        filename: String,
        /// New tag reference to apply to mutated image. If not provided, uses original
        /// tag or pushes a new digest.
        #[arg(short = 't', long)]
        tag: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum IndexCommand {
    /// List the manifests in an index.
    #[command(after_help = INDEX_LIST_EXAMPLES)]
    List {
        /// The index: a registry reference, ocidir://DIR[:TAG], or an OCI image layout path.
        reference: String,
        #[command(flatten)]
        format: crate::format::FormatArg,
    },

    /// Modifies a remote index by filtering based on platform.
    ///
    /// Keeps the children whose platform satisfies one of the --platform values
    /// (repeatable, or a comma list); prints REPO@DIGEST.
    #[command(after_help = INDEX_FILTER_EXAMPLES)]
    Filter {
        /// The index to filter.
        reference: String,
        /// Tag to apply to resulting image.
        #[arg(short = 't', long)]
        tag: Option<String>,
        /// The --platform values (taken from the global flag, which may repeat here).
        #[arg(skip)]
        platforms: Vec<String>,
    },

    /// Append manifests to a remote index.
    ///
    /// Pushes an index based on an (optional) base index, with appended manifests. The
    /// platform of each appended image is inferred from its config. A BASE that is a path
    /// (it exists, or starts with . or /) is an OCI image layout, created when missing,
    /// whose index.json is appended to.
    #[command(after_help = INDEX_APPEND_EXAMPLES)]
    Append {
        /// The base index, then more manifests to append.
        #[arg(value_name = "BASE [MANIFEST...]")]
        args: Vec<String>,
        /// References to manifests to append to the base index.
        #[arg(short = 'm', long = "manifest", value_delimiter = ',')]
        manifests: Vec<String>,
        /// Tag to apply to resulting image.
        #[arg(short = 't', long)]
        tag: Option<String>,
        /// If true, empty base index will have Docker media types instead of OCI.
        #[arg(long)]
        docker_empty_base: bool,
        /// If true, appending an index will append each of its children rather than the
        /// index itself.
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
        flatten: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum LayoutCommand {
    /// Remove the blobs no entry of the layout's index.json refers to; names each on
    /// stderr. Waits for writes into the layout in progress (pull, copy, attach, in any
    /// process), so their blobs are kept.
    #[command(after_help = LAYOUT_GC_EXAMPLES)]
    Gc {
        /// The OCI image layout directory.
        path: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum RegistryCommand {
    /// Serve a registry implementation on an automatically chosen port (:0),
    /// $PORT or --address. Blocks until interrupted; contents live in memory
    /// unless --disk is given.
    #[command(after_help = SERVE_EXAMPLES)]
    Serve {
        /// Address to listen on.
        #[arg(long)]
        address: Option<String>,
        /// Path to a directory where blobs will be stored.
        #[arg(long)]
        disk: Option<PathBuf>,
    },
    /// Set how crane talks to a registry: TLS mode, one token per repository, another API
    /// and its token (regclient's `regctl registry set`). Flags not given keep their value.
    #[command(after_help = REGISTRY_SET_EXAMPLES)]
    Set {
        /// The registry (HOST[:PORT]).
        host: String,
        /// enabled: https with verified certificates (the default); insecure: https without
        /// certificate verification, for this registry only; disabled: plain http only.
        #[arg(long, value_name = "MODE", value_parser = ["enabled", "insecure", "disabled"])]
        tls: Option<String>,
        /// One token per repository instead of one for all scopes (for registries such as
        /// gcr.io); --repo-auth=false turns it off.
        #[arg(
            long = "repo-auth",
            value_name = "BOOL",
            num_args = 0..=1,
            require_equals = true,
            default_missing_value = "true"
        )]
        repo_auth: Option<bool>,
        /// Another API on the host: hub (Docker Hub's API on hub.docker.com), or none.
        #[arg(long, value_name = "API", value_parser = ["hub", "none"])]
        api: Option<String>,
        /// Read the API token from stdin (never from the command line); an empty one
        /// removes it.
        #[arg(long = "api-token-stdin")]
        api_token_stdin: bool,
    },
    /// Print the per-registry settings as JSON (tokens shown as ***).
    #[command(after_help = REGISTRY_CONFIG_EXAMPLES)]
    Config {
        /// Only this registry's settings (`{}` when it has the defaults).
        host: Option<String>,
        #[command(flatten)]
        format: crate::format::FormatArg,
    },
}

/// `pull --format`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum PullFormat {
    /// A docker tarball (`docker load` reads it).
    Tarball,
    /// The legacy v1.2 docker tarball.
    Legacy,
    /// An OCI image layout directory.
    Oci,
}

/// Shells `completion` supports.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum Shell {
    /// bash
    Bash,
    /// zsh
    Zsh,
    /// fish
    Fish,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_flags_work_after_the_command() {
        let cli = Cli::try_parse_from([
            "crane",
            "copy",
            "a",
            "b",
            "-j",
            "8",
            "--insecure",
            "-q",
            "-v",
            "-n",
            "-a",
        ])
        .expect("parses");
        assert_eq!(cli.global.jobs, 8);
        assert!(cli.global.insecure && cli.global.quiet && cli.global.verbose);
        assert!(matches!(
            cli.command,
            Command::Copy {
                all_tags: true,
                no_clobber: true,
                referrers: false,
                ..
            }
        ));
    }

    #[test]
    fn durations() {
        use std::time::Duration;
        for (text, secs) in [
            ("90", 90),
            ("90s", 90),
            ("10m", 600),
            ("2h", 7200),
            ("1h30m", 5400),
        ] {
            assert_eq!(
                parse_duration(text),
                Ok(Duration::from_secs(secs)),
                "{text}"
            );
        }
        for bad in [
            "",
            "0",
            "0s",
            "10x",
            "m",
            "10m5",
            "-1s",
            "99999999999999999999h",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        let cli =
            Cli::try_parse_from(["crane", "manifest", "a", "--timeout", "5m"]).expect("parses");
        assert_eq!(cli.global.timeout, Some(Duration::from_secs(300)));
    }

    #[test]
    fn aliases_and_mounts() {
        let cli = Cli::try_parse_from(["crane", "cp", "a", "b"]).expect("cp");
        assert!(matches!(cli.command, Command::Copy { .. }));
        let cli = Cli::try_parse_from(["crane", "referrers", "a"]).expect("referrers");
        assert!(matches!(cli.command, Command::Refs { .. }));
        let cli = Cli::try_parse_from(["crane", "auth", "token", "r", "-m", "a,b", "--mount", "c"])
            .expect("token");
        let Command::Auth(AuthCommand::Token { mount, .. }) = cli.command else {
            panic!("not auth token");
        };
        assert_eq!(mount, ["a", "b", "c"]);
    }

    #[test]
    fn usage_errors() {
        for args in [
            &["crane", "copy", "a"][..],
            &["crane", "-j", "0", "version"],
            &["crane", "auth", "login", "r", "-p", "x", "--password-stdin"],
            &["crane", "nonsense"],
            &["crane", "completion", "tcsh"],
        ] {
            assert!(Cli::try_parse_from(args).is_err(), "{args:?}");
        }
    }
}
