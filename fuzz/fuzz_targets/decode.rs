//! Any bytes through the image decoder, as the page and the CLI call it: probe, then one page
//! and channel picked by the first byte.
#![no_main]

use cellseg::io::decode::{Channel, Options, decode_with, probe};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let _ = probe(bytes);
    let channel = match pick % 4 {
        3 => Channel::Luminance,
        c => Channel::Index(c),
    };
    if let Ok(d) = decode_with(bytes, Options { page: (pick / 4 % 3) as usize, channel }) {
        assert_eq!(d.plane.data.len(), d.plane.width * d.plane.height);
    }
});
