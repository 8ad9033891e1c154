//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

use cellseg::core::plane::Plane;
use cellseg::io::labels::ClassMap;

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
        cellseg::io::decode::decode_normalised(&read("upstream/Images/phase_027.tif")).unwrap();
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

/// `net` with every bias drawn from ±0.1 (fresh networks have zero biases, which would hide
/// a bias applied to the wrong channel), or with no biases at all when `seed` is `None`.
pub fn with_biases(
    mut net: cellseg::model::network::Network,
    seed: Option<u32>,
) -> cellseg::model::network::Network {
    use burn::module::Param;
    use burn::tensor::{Tensor, TensorData};
    let Some(seed) = seed else {
        for conv in &mut net.convs {
            conv.bias = None;
        }
        net.hidden.bias = None;
        net.output.bias = None;
        return net;
    };
    let mut state = seed.wrapping_mul(2_654_435_761).max(1);
    let mut draw = |n: usize, like: &Tensor<1>| -> Param<Tensor<1>> {
        let values: Vec<f32> = (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                (state as f32 / u32::MAX as f32 - 0.5) * 0.2
            })
            .collect();
        Param::from_data(TensorData::new(values, [n]), &like.device())
    };
    for conv in &mut net.convs {
        let b = conv.bias.as_ref().expect("a bias").val();
        conv.bias = Some(draw(b.dims()[0], &b));
    }
    for linear in [&mut net.hidden, &mut net.output] {
        let b = linear.bias.as_ref().expect("a bias").val();
        linear.bias = Some(draw(b.dims()[0], &b));
    }
    net
}
