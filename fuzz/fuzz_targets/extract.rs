//! Layer tars from untrusted bytes through `ocireg_mutate::extract`: it never
//! panics, and whatever it writes is a tar it reads back, with only clean,
//! relative names.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use ocireg_v1::{Image, Layer, MediaType, StaticLayer, empty};

fuzz_target!(|data: &[u8]| {
    // The input is one or two layers, split at the first 0xff 0xfe pair.
    let split = data.windows(2).position(|w| w == [0xff, 0xfe]);
    let parts: Vec<&[u8]> = match split {
        Some(i) => vec![&data[..i], &data[i + 2..]],
        None => vec![data],
    };
    let layers: Vec<Arc<dyn Layer>> = parts
        .into_iter()
        .map(|p| {
            Arc::new(StaticLayer::new(p.to_vec(), MediaType::OciUncompressedLayer))
                as Arc<dyn Layer>
        })
        .collect();
    let img: Arc<dyn Image> = ocireg_mutate::append_layers(empty::image(), layers);
    let Ok(out) = futures_executor::block_on(ocireg_mutate::extract(img).read_to_end(1 << 26))
    else {
        return;
    };
    let mut archive = tar::Archive::new(&out[..]);
    for entry in archive.entries().expect("our output is a tar") {
        let entry = entry.expect("each entry of our output reads");
        let path = entry.path_bytes();
        let path = String::from_utf8_lossy(&path);
        assert!(!path.starts_with('/'), "absolute name {path:?}");
        assert!(
            !path.split('/').any(|c| c == ".."),
            "a name that climbs out: {path:?}"
        );
    }
});
