//! Any bytes as a weights file, loaded onto the CPU backend.
#![no_main]

use burn::tensor::Device;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = cellseg::model::weights::from_bytes(data, None, &Device::flex());
});
