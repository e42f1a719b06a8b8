//! [`multi_write`]: many images and indexes at once, sharing blob uploads (ggcr's
//! `remote.MultiWrite`, carvel imgpkg's `MultiWrite`).

use ocireg_name::Reference;
use ocireg_v1::Digest;

use futures_util::{StreamExt as _, TryStreamExt as _};

use crate::error::Result;
use crate::options::Options;
use crate::writable::Writable;
use crate::write::Pusher;

/// Pushes every `(reference, image or index)` pair, at most `jobs` at once, through one
/// [`Pusher`]: a blob (or child manifest) shared by several of them is uploaded once per
/// repository, and uploads across all of them respect one `jobs` limit. Returns the digest
/// pushed for each reference, in the order given; the first failure stops the rest.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use ocireg_remote::{multi_write, Options, Writable};
///
/// let base = ocireg_v1::random::image(1 << 20, 3, 7)?;
/// let items = vec![
///     ("reg.example/app:1".parse()?, Writable::Image(base.clone())),
///     ("reg.example/app:2".parse()?, Writable::Image(base)),
/// ];
/// let pushed = multi_write(items, &Options::new()?).await?;
/// assert_eq!(pushed[0].1, pushed[1].1);
/// # Ok(()) }
/// ```
pub async fn multi_write(
    items: impl IntoIterator<Item = (Reference, Writable)>,
    options: &Options,
) -> Result<Vec<(Reference, Digest)>> {
    let pusher = Pusher::new(options);
    multi_write_with(&pusher, items).await
}

/// [`multi_write`] with a caller's [`Pusher`] (to share what it already pushed).
pub async fn multi_write_with(
    pusher: &Pusher,
    items: impl IntoIterator<Item = (Reference, Writable)>,
) -> Result<Vec<(Reference, Digest)>> {
    let jobs = pusher.options().jobs();
    futures_util::stream::iter(items)
        .map(|(reference, item)| async move {
            let digest = pusher.push(&reference, &item).await?;
            Ok((reference, digest))
        })
        .buffered(jobs)
        .try_collect()
        .await
}
