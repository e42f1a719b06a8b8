//! The command line of the mutate family (`append`, `mutate`, `flatten`,
//! `export`): clap definitions only, kept apart from `cli.rs`.
#![allow(
    rustdoc::broken_intra_doc_links,
    reason = "doc comments are clap's help text, which writes brackets as in ggcr (os/arch[/variant])"
)]

use std::path::PathBuf;

use clap::Args;

pub(crate) const APPEND_EXAMPLES: &str = "\
Examples:
  # Add a layer to an image and push the result (prints REPO@DIGEST)
  crane append -b gcr.io/a/b:v1 -f layer.tar.gz -t r.example/b:v2

  # An image from scratch, its layer read from stdin, saved as a docker tarball
  tar -c app | crane append -f - -t app:latest -o app.tar";

pub(crate) const MUTATE_EXAMPLES: &str = "\
Examples:
  # Set a label and the entrypoint, push back to the same tag (prints REPO@DIGEST)
  crane mutate r.example/b:v1 -l team=blue --entrypoint /app,--serve

  # Annotate, and push by digest to another repository
  crane mutate r.example/b:v1 -a org.example/reviewed=yes --repo r.example/reviewed";

pub(crate) const FLATTEN_EXAMPLES: &str = "\
Examples:
  # Squash an image's layers into one, tagged anew (prints REPO@DIGEST)
  crane flatten r.example/b:v1 -t r.example/b:v1-flat";

pub(crate) const EXPORT_EXAMPLES: &str = "\
Examples:
  # Write tarball to stdout
  crane export ubuntu -

  # Write tarball to file
  crane export ubuntu ubuntu.tar

  # Read image from stdin
  crane export - ubuntu.tar";

/// `crane append`.
#[derive(Debug, Args)]
pub(crate) struct AppendArgs {
    /// Name of base image to append to (default: the empty image).
    #[arg(short = 'b', long = "base", value_name = "IMAGE")]
    pub(crate) base: Option<String>,
    /// Path to tarball to append to image (tar, tar.gz or tar.zst; `-` for stdin;
    /// repeatable or comma-separated).
    #[arg(
        short = 'f',
        long = "new_layer",
        required = true,
        value_delimiter = ',',
        value_name = "FILE"
    )]
    pub(crate) new_layer: Vec<String>,
    /// Tag to apply to resulting image.
    #[arg(short = 't', long = "new_tag", required = true, value_name = "IMAGE")]
    pub(crate) new_tag: String,
    /// Path to new tarball of resulting image.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// If true, empty base image will have OCI media types instead of Docker.
    #[arg(long = "oci-empty-base")]
    pub(crate) oci_empty_base: bool,
    /// If true, annotate the resulting image as being based on the base image.
    #[arg(long = "set-base-image-annotations")]
    pub(crate) set_base_image_annotations: bool,
    /// How plain tars are compressed: gzip (ggcr's only choice, on every core here) or
    /// zstd (OCI zstd layers). tar.gz and tar.zst files are kept as they are.
    #[arg(long, value_enum, default_value = "gzip")]
    pub(crate) compression: LayerCompression,
}

/// `append --compression`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum LayerCompression {
    /// gzip (the default, as in ggcr).
    Gzip,
    /// zstd, with the OCI zstd layer media type.
    Zstd,
}

/// `crane mutate`.
#[derive(Debug, Args)]
pub(crate) struct MutateArgs {
    /// The image to change.
    pub(crate) image: String,
    /// New annotations to add (KEY=VALUE, repeatable or comma-separated).
    #[arg(short = 'a', long = "annotation", value_name = "KEY=VALUE")]
    pub(crate) annotation: Vec<String>,
    /// New labels to add (KEY=VALUE, repeatable or comma-separated).
    #[arg(short = 'l', long = "label", value_name = "KEY=VALUE")]
    pub(crate) label: Vec<String>,
    /// New envvar to add (KEY=VALUE, repeatable).
    #[arg(short = 'e', long = "env", value_name = "KEY=VALUE")]
    pub(crate) env: Vec<String>,
    /// New entrypoint to set (comma-separated); clears the cmd.
    #[arg(long, value_delimiter = ',')]
    pub(crate) entrypoint: Vec<String>,
    /// New cmd to set (comma-separated).
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
    pub(crate) cmd: Vec<String>,
    /// New user to set.
    #[arg(short = 'u', long)]
    pub(crate) user: Option<String>,
    /// New working dir to set.
    #[arg(short = 'w', long)]
    pub(crate) workdir: Option<String>,
    /// New ports to expose (replacing the set; comma-separated).
    #[arg(long = "exposed-ports", value_delimiter = ',')]
    pub(crate) exposed_ports: Vec<String>,
    /// Path to tarball to append to image.
    #[arg(long = "append", value_delimiter = ',', value_name = "FILE")]
    pub(crate) append: Vec<String>,
    /// New platform to set in the form os/arch[/variant][:osversion] (e.g. linux/amd64).
    #[arg(long = "set-platform", value_name = "PLATFORM")]
    pub(crate) set_platform: Option<String>,
    /// New tag reference to apply to mutated image. If not provided, push by digest
    /// to the original image repository.
    #[arg(short = 't', long)]
    pub(crate) tag: Option<String>,
    /// Repository to push the mutated image to. If provided, push by digest to this
    /// repository.
    #[arg(long, conflicts_with = "tag")]
    pub(crate) repo: Option<String>,
    /// Path to new tarball of resulting image.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
}

/// `crane flatten`.
#[derive(Debug, Args)]
pub(crate) struct FlattenArgs {
    /// The image to flatten.
    pub(crate) image: String,
    /// New tag to apply to flattened image. If not provided, push by digest to the
    /// original image repository.
    #[arg(short = 't', long)]
    pub(crate) tag: Option<String>,
}

/// `crane export`.
#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// The image, or `-` for a docker tarball on stdin.
    #[arg(value_name = "IMAGE|-")]
    pub(crate) image: String,
    /// Where to write the tar (`-`, the default, is stdout).
    #[arg(value_name = "TARBALL|-", default_value = "-")]
    pub(crate) tarball: String,
}

pub(crate) const REBASE_EXAMPLES: &str = "\
Examples:
  # Move an app from its old base onto a new one, both named
  crane rebase r.example/app:v1 --old_base debian:12.5 --new_base debian:12.6 -t r.example/app:v1-rebased

  # The bases from the annotations `append --set-base-image-annotations` wrote
  crane rebase r.example/app:v1 --new_base debian:12.6";

/// `crane rebase`.
#[derive(Debug, Args)]
pub(crate) struct RebaseArgs {
    /// The image to rebase.
    #[arg(required_unless_present = "original")]
    pub(crate) image: Option<String>,
    /// Old base image to remove (default: from the image's base annotations).
    #[arg(long = "old_base", value_name = "IMAGE")]
    pub(crate) old_base: Option<String>,
    /// New base image to insert (default: from the image's base annotations).
    #[arg(long = "new_base", value_name = "IMAGE")]
    pub(crate) new_base: Option<String>,
    /// Tag to apply to rebased image (default: the original, by digest when named by digest).
    #[arg(short = 't', long, value_name = "IMAGE")]
    pub(crate) tag: Option<String>,
    /// Original image to rebase (deprecated: give IMAGE).
    #[arg(long, hide = true, conflicts_with = "image")]
    pub(crate) original: Option<String>,
    /// Tag to apply to rebased image (deprecated: use --tag).
    #[arg(long, hide = true, conflicts_with = "tag")]
    pub(crate) rebased: Option<String>,
}
