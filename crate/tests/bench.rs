//! The benchmark measures what it says (every figure of a small plan, positive and finite,
//! reported as measured); and the CPU's dense twin (matrix products, `dense_cpu`) computes
//! what burn's dilated twin (the one WebGPU runs) computes.

mod common;

use burn::tensor::{Device, Tensor, TensorData};
use cellseg::bench::{self, Plan};
use cellseg::core::plane::Rect;
use cellseg::model::backend::Backend;
use cellseg::model::dense_cpu::DenseCpu;
use cellseg::model::network::Network;
use cellseg::model::spec::{HALF, PRESETS, Spec};
use cellseg::teach::colony::colony;

#[test]
fn a_small_plan_measures_every_figure() {
    let backend = Backend::cpu();
    let (plane, labels) = colony(160, 120, 3);
    let plan = Plan {
        dense: vec![24, 40],
        whole: true,
        naive: 8,
        train: vec![4],
        repeats: 2,
        unet: true,
    };
    let started = std::time::Instant::now();
    let clock = || started.elapsed().as_secs_f64() * 1000.0;
    let mut seen = Vec::new();
    let figures = pollster::block_on(bench::run(
        &backend,
        &plane,
        &labels,
        &plan,
        &clock,
        &mut |f| seen.push(f.key.clone()),
    ))
    .unwrap();
    let keys: Vec<_> = figures.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "dense_24_px_per_s",
            "dense_40_px_per_s",
            "dense_full_px_per_s",
            "naive_px_per_s",
            "unet_256_px_per_s",
            "unet_full_px_per_s",
            "train_4_patches_per_s"
        ]
    );
    assert_eq!(seen, keys, "each figure is reported as it is measured");
    for f in &figures {
        assert!(f.value.is_finite() && f.value > 0.0, "{f:?}");
    }
    // a rate is the work over the median time
    let dense = &figures[0];
    assert!(
        (dense.value * dense.seconds - 24.0 * 24.0).abs() < 1e-6,
        "{dense:?}"
    );
    assert!((figures[2].value * figures[2].seconds - 160.0 * 120.0).abs() < 1e-6);
}

#[test]
fn the_cpu_dense_twin_equals_burns_dilated_twin() {
    let device = Device::flex();
    let (plane, _) = colony(96, 80, 11);
    let mut specs: Vec<Spec> = PRESETS
        .iter()
        .map(|(name, _, _)| Spec::preset(name).unwrap())
        .collect();
    // a pool dropping a trailing row (field under 31), and a network ending in a pool
    specs.push(Spec::parse("odd", "conv3x6 pool conv3x8 pool conv3x8 conv4x8 fc16").unwrap());
    specs.push(
        Spec::parse(
            "pool last",
            "conv4x6 pool conv3x8 conv3x8 pool conv4x8 pool fc16",
        )
        .unwrap(),
    );
    for (i, spec) in specs.iter().enumerate() {
        let name = &spec.name;
        // random biases (a fresh network's are zero), and once none at all
        let biases = if i == 1 { None } else { Some(i as u32 + 1) };
        let net = common::with_biases(Network::new(spec, 5, &device), biases);
        let input = plane.crop_reflected(Rect::new(20, 10, 57, 39), HALF);
        let burn = net
            .dense(Tensor::from_data(
                TensorData::new(input.data.clone(), [1, 1, input.height, input.width]),
                &device,
            ))
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let cpu = DenseCpu::new(&net);
        let ours = pollster::block_on(cpu).unwrap().run(&input);
        assert_eq!(ours.len(), burn.len());
        let diff = ours
            .iter()
            .zip(&burn)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(diff <= 1e-5, "{name}: max |cpu - burn| = {diff}");
    }
}
