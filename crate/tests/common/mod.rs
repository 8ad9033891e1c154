//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

use cellseg::labels::ClassMap;
use cellseg::plane::Plane;

/// The real labelled data (third-party, never committed): `../shared/data/bsubtilis` beside
/// the checkout, or `$CELLSEG_DATA`.
pub fn data_dir() -> PathBuf {
    std::env::var_os("CELLSEG_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/bsubtilis")
        })
}

pub fn read(name: &str) -> Vec<u8> {
    let path = data_dir().join(name);
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e} (set CELLSEG_DATA)", path.display()))
}

/// phase_027, normalised, and its class labels.
pub fn training_image() -> (Plane, ClassMap) {
    let (plane, _) =
        cellseg::decode::decode_normalised(&read("upstream/Images/phase_027.tif")).unwrap();
    let labels = ClassMap::from_class_image(&read("phase_027_classes.png")).unwrap();
    labels.check_size(plane.width, plane.height).unwrap();
    (plane, labels)
}
