//! Any bytes as labels: a class image, an instance image, and (split in three) .npy masks.
#![no_main]

use cellseg::io::labels::{ClassMap, instances_from_image};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(map) = ClassMap::from_class_image(data) {
        assert!(map.classes.iter().all(|&c| c <= 2));
        let _ = map.cells();
    }
    let _ = instances_from_image(data);
    let third = data.len() / 3;
    let (a, rest) = data.split_at(third);
    let (b, c) = rest.split_at(third);
    if let Ok(map) = ClassMap::from_npy_masks(a, b, c) {
        assert_eq!(map.classes.len(), map.width * map.height);
    }
});
