//! The dense twin computes exactly what the patch network computes, pixel by pixel.

mod common;

use burn::tensor::Device;
use cellseg::core::plane::{Plane, Rect};
use cellseg::model::dense::{segment, tile_side};
use cellseg::model::dense_cpu;
use cellseg::model::naive::segment_naive;
use cellseg::model::network::Network;
use cellseg::model::spec::{PRESETS, Spec};

fn real_crop() -> Plane {
    let (plane, _) =
        cellseg::io::decode::decode_normalised(&common::read("upstream/Images/phase_027.tif"))
            .unwrap();
    plane
}

fn compare(spec: &Spec, plane: &Plane, rect: Rect, max_buffer: u64) -> f32 {
    let device = Device::flex();
    let net = common::with_biases(Network::new(spec, 7, &device), Some(7));
    let dense = pollster::block_on(segment(
        &net,
        plane,
        rect,
        max_buffer,
        &device,
        &mut |_, _| {},
    ))
    .unwrap();
    let naive = pollster::block_on(segment_naive(
        &net,
        plane,
        rect,
        97,
        &device,
        &mut |_, _| {},
    ))
    .unwrap();
    assert_eq!((dense.width, dense.height), (rect.width(), rect.height()));
    // probabilities, not something trivially equal
    assert!(dense.class(1).iter().any(|&p| p > 0.0 && p < 1.0));
    dense.max_abs_diff(&naive)
}

#[test]
fn every_preset_dense_equals_patch_by_patch_on_random_weights() {
    let plane = real_crop();
    // at the image corner (mirrored border) and inside
    for (name, _, _) in PRESETS {
        let spec = Spec::preset(name).unwrap();
        for rect in [Rect::new(0, 0, 19, 13), Rect::new(500, 300, 517, 321)] {
            let diff = compare(&spec, &plane, rect, 128 << 20);
            assert!(
                diff <= 1e-5,
                "{name} {rect:?}: max |dense - naive| = {diff}"
            );
        }
    }
}

#[test]
fn tiles_join_seamlessly() {
    let plane = real_crop();
    let spec = Spec::preset("original").unwrap();
    // Limits small enough for 9x9 output tiles: many tiles and halos. The CPU sizes tiles by
    // its images between layers, a GPU by its largest buffer.
    let floats = dense_cpu::floats_per_pixel(&spec);
    assert_eq!(floats, 80 + 120); // conv3 -> conv4; conv5 runs inside the head
    let small = 4 * floats as u64 * 39 * 39;
    assert_eq!(tile_side(floats, small), Some(9));
    assert_eq!(tile_side(floats, small / 4), None);
    let gpu = spec.dense_floats_per_pixel();
    assert_eq!(gpu, 3 * 3 * 120);
    assert_eq!(tile_side(gpu, 4 * gpu as u64 * 39 * 39), Some(9));
    let diff = compare(&spec, &plane, Rect::new(1380, 1020, 1392, 1040), small);
    assert!(diff <= 1e-5, "tiled: {diff}");
}

#[test]
fn odd_pool_inputs_still_match() {
    let plane = real_crop();
    let spec = Spec::parse("odd", "conv3x6 pool conv3x8 pool conv3x8 conv4x8 fc16").unwrap();
    let diff = compare(&spec, &plane, Rect::new(40, 40, 52, 50), 128 << 20);
    assert!(diff <= 1e-5, "{diff}");
    // ending with a pool (the CPU runs a last conv inside the head; here there is none)
    let spec = Spec::parse(
        "pool last",
        "conv4x6 pool conv3x8 conv3x8 pool conv4x8 pool fc16",
    )
    .unwrap();
    let diff = compare(&spec, &plane, Rect::new(40, 40, 52, 50), 128 << 20);
    assert!(diff <= 1e-5, "{diff}");
}
