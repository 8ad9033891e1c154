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

/// A NumPy .npy file (version 1) of `data` with this dtype and shape.
pub fn npy(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let dims = if dims.len() == 1 {
        format!("{},", dims[0])
    } else {
        dims.join(", ")
    };
    npy_with_header(
        &format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': ({dims}), }}"),
        data,
    )
}

/// A .npy file (version 1) with this header dict, padded as NumPy pads it.
pub fn npy_with_header(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut header = dict.to_string();
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header.as_bytes());
    out.extend(data);
    out
}
