//! Reproducible images (ggcr `mutate.Time`, `mutate.Canonical`), streamed:
//! each layer is rewritten entry by entry as it is read, never held in
//! memory (ggcr buffers each rewritten layer).

use std::collections::VecDeque;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use futures_util::StreamExt as _;
use ocireg_v1::partial::{UncompressedLayer, UncompressedToLayer};
use ocireg_v1::{
    Blob, ConfigFile, Digest, Hasher, History, Image, Layer, MediaType, Time, async_trait,
};

use crate::tar::{self, Entry, Event, Reader, TarTime};
use crate::{Error, Result};

/// `img` with every timestamp set to `t` (ggcr `mutate.Time`): each layer's
/// tar entries get modification time `t` (and access and change times `t`
/// where the entry had them), and the image is rebuilt on the empty image
/// with those layers (gzip, Docker layer media type): `created` and every
/// history entry's `created` are `t`, authors are cleared, and the
/// architecture, OS, OS version and `config` section are copied over.
///
/// Layers are rewritten as they stream: computing the diff ids here reads
/// each once; the digests are learnt on first use by compressing once more.
pub async fn time(img: Arc<dyn Image>, t: Time) -> Result<Arc<dyn Image>> {
    let layers = img.layers().await.map_err(Error::Image)?;
    let original = img.config_file().await.map_err(Error::Image)?;
    let mut new_layers: Vec<Arc<dyn Layer>> = Vec::with_capacity(layers.len());
    let mut diff_ids = Vec::with_capacity(layers.len());
    let mut history = Vec::with_capacity(layers.len());
    for (index, layer) in layers.into_iter().enumerate() {
        let retimed = Retimed::new(layer, t);
        let diff_id = retimed
            .diff_id()
            .await
            .map_err(|source| Error::Layer { index, source })?;
        diff_ids.push(diff_id);
        let mut h = History::default();
        h.created = t;
        if let Some(o) = original.history.get(index) {
            h.created_by.clone_from(&o.created_by);
            h.comment.clone_from(&o.comment);
            h.empty_layer = o.empty_layer;
        }
        history.push(h);
        new_layers.push(Arc::new(UncompressedToLayer::new(retimed)));
    }
    let appended = crate::append_layers(ocireg_v1::empty::image(), new_layers);
    let mut config = appended.config_file().await.map_err(Error::Image)?;
    config.architecture.clone_from(&original.architecture);
    config.os.clone_from(&original.os);
    config.os_version.clone_from(&original.os_version);
    config.config = original.config.clone();
    config.created = t;
    config.history = history;
    config.rootfs.diff_ids = (!diff_ids.is_empty()).then_some(diff_ids);
    Ok(crate::config_file(appended, config))
}

/// `img` made reproducible (ggcr `mutate.Canonical`): [`time`] with the
/// zero time (mtime 0 in the tars, `0001-01-01T00:00:00Z` in the config),
/// and the host-dependent `container`, `config.Hostname` and
/// `docker_version` cleared.
pub async fn canonical(img: Arc<dyn Image>) -> Result<Arc<dyn Image>> {
    let img = time(img, Time::ZERO).await?;
    let mut config: ConfigFile = img.config_file().await.map_err(Error::Image)?;
    config.container.clear();
    config.config.hostname.clear();
    config.docker_version.clear();
    Ok(crate::config_file(img, config))
}

/// A layer with its tar's timestamps rewritten, streamed.
#[derive(Debug)]
struct Retimed {
    inner: Arc<dyn Layer>,
    mtime: TarTime,
    other: Option<TarTime>,
    /// Diff id and size of the rewritten tar.
    computed: OnceLock<(Digest, u64)>,
}

impl Retimed {
    fn new(inner: Arc<dyn Layer>, t: Time) -> Self {
        // Go writes the zero time as 0 and leaves zero access and change times out.
        let tt = if t.is_zero() {
            TarTime::default()
        } else {
            TarTime {
                secs: t.unix_seconds(),
                nanos: t.subsec_nanos(),
            }
        };
        Self {
            inner,
            mtime: tt,
            other: (!t.is_zero()).then_some(tt),
            computed: OnceLock::new(),
        }
    }

    async fn computed(&self) -> ocireg_v1::Result<(Digest, u64)> {
        if let Some(c) = self.computed.get() {
            return Ok(*c);
        }
        let mut stream = self.uncompressed().await?;
        let mut hasher = Hasher::sha256();
        while let Some(chunk) = stream.next().await {
            hasher.update(&chunk.map_err(ocireg_v1::Error::from_io)?);
        }
        let len = hasher.len();
        let c = (hasher.finish(), len);
        Ok(*self.computed.get_or_init(|| c))
    }
}

#[async_trait]
impl UncompressedLayer for Retimed {
    async fn diff_id(&self) -> ocireg_v1::Result<Digest> {
        Ok(self.computed().await?.0)
    }

    async fn uncompressed(&self) -> ocireg_v1::Result<Blob> {
        let (mtime, other) = (self.mtime, self.other);
        let blob = rewrite(self.inner.uncompressed().await?, move |mut e: Entry| {
            e.mtime = mtime;
            if e.atime.is_some() {
                e.atime = other;
            }
            if e.ctime.is_some() {
                e.ctime = other;
            }
            e
        });
        Ok(match self.computed.get() {
            Some((diff_id, size)) => blob.verified(*diff_id, Some(*size)),
            None => blob,
        })
    }

    async fn media_type(&self) -> ocireg_v1::Result<MediaType> {
        Ok(MediaType::DockerLayer)
    }

    async fn uncompressed_size(&self) -> ocireg_v1::Result<Option<u64>> {
        Ok(self.computed.get().map(|c| c.1))
    }
}

/// A tar rewritten entry by entry: headers through `f`, content passed on.
fn rewrite(input: Blob, f: impl FnMut(Entry) -> Entry + Send + 'static) -> Blob {
    struct State<F> {
        input: Blob,
        reader: Reader,
        f: F,
        queue: VecDeque<Bytes>,
        remaining: u64,
        pad: usize,
        done: bool,
    }
    let state = State {
        input,
        reader: Reader::new(),
        f,
        queue: VecDeque::new(),
        remaining: 0,
        pad: 0,
        done: false,
    };
    let stream = futures_util::stream::try_unfold(state, |mut st| async move {
        loop {
            if let Some(b) = st.queue.pop_front() {
                return Ok(Some((b, st)));
            }
            if st.done {
                return Ok(None);
            }
            let Some(chunk) = st.input.next().await else {
                st.reader.finish().map_err(to_io)?;
                st.queue.push_back(tar::end_of_archive());
                st.done = true;
                continue;
            };
            let mut events = Vec::new();
            st.reader.feed(chunk?, &mut events).map_err(to_io)?;
            for event in events {
                match event {
                    Event::Entry(e) => {
                        let e = (st.f)(*e);
                        st.remaining = e.size;
                        st.pad = tar::padding(e.size);
                        st.queue.push_back(tar::header_blocks(&e));
                    }
                    Event::Data(d) => {
                        st.remaining -= d.len() as u64;
                        st.queue.push_back(d);
                        if st.remaining == 0 && st.pad > 0 {
                            st.queue.push_back(Bytes::from(vec![0u8; st.pad]));
                        }
                    }
                }
            }
        }
    });
    Blob::new(stream, None)
}

fn to_io(e: tar::TarError) -> std::io::Error {
    ocireg_v1::Error::from(Error::Tar {
        index: 0,
        source: e,
    })
    .into_io()
}
