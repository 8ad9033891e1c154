//! Training on the real tutorial image lowers the held-out mistake rate far below chance.

mod common;

use burn::tensor::Device;
use cellseg::core::plane::Plane;
use cellseg::io::labels::ClassMap;
use cellseg::model::network::Network;
use cellseg::model::spec::Spec;
use cellseg::train::comparison::Comparison;
use cellseg::train::patch::Augment;
use cellseg::train::{TrainConfig, Trainer, heldout_split};

/// A run on phase_027's train region (x < 928), measured on the held-out rest.
fn run_on(plane: &Plane, labels: &ClassMap, initial: Network, config: TrainConfig) -> Trainer {
    let (train, heldout) = heldout_split(plane.width, plane.height);
    Trainer::new(
        initial,
        plane,
        labels,
        train,
        heldout,
        config,
        &Device::flex(),
    )
    .unwrap()
}

#[test]
fn training_on_the_train_region_learns_the_heldout_region() {
    let (plane, labels) = common::training_image();
    let (train, heldout) = heldout_split(plane.width, plane.height);
    // The data README's convention: train on x < 928, measure on x >= 928.
    assert_eq!((train.x1, heldout.x0), (928, 928));
    let config = TrainConfig {
        learning_rate: 1e-3,
        batch: 32,
        seed: 5,
        augment: Augment {
            flips: true,
            rotations: true,
            looks: false,
        },
        heldout_patches: 600,
        septa_share: 0.0,
    };
    let initial = Network::new(
        &Spec::preset("original").unwrap(),
        config.seed,
        &Device::flex(),
    );
    let mut trainer = run_on(&plane, &labels, initial, config);
    let before = pollster::block_on(trainer.heldout_mistake_rate()).unwrap();
    let mut first_losses = Vec::new();
    let mut last_losses = Vec::new();
    let steps = 300;
    for i in 0..steps {
        let r = pollster::block_on(trainer.step()).unwrap();
        assert!(r.loss.is_finite());
        if i < 20 {
            first_losses.push(r.loss);
        } else if i >= steps - 20 {
            last_losses.push(r.loss);
        }
    }
    let after = pollster::block_on(trainer.heldout_mistake_rate()).unwrap();
    let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len() as f32;
    eprintln!(
        "held-out mistakes {before:.3} -> {after:.3}; loss {:.3} -> {:.3}",
        mean(&first_losses),
        mean(&last_losses)
    );
    assert!(mean(&last_losses) < 0.7 * mean(&first_losses));
    // Chance is 2/3 on class-balanced patches.
    assert!(after < 0.2, "held-out mistake rate {after}");
}

#[test]
fn a_new_run_starts_from_the_trained_network() {
    let (plane, labels) = common::training_image();
    let config = TrainConfig {
        learning_rate: 1e-3,
        batch: 16,
        heldout_patches: 300,
        ..TrainConfig::default()
    };
    let initial = Network::new(&Spec::preset("original").unwrap(), 1, &Device::flex());
    let mut first = run_on(&plane, &labels, initial, config.clone());
    for _ in 0..60 {
        pollster::block_on(first.step()).unwrap();
    }
    let trained = pollster::block_on(first.heldout_mistake_rate()).unwrap();
    let second = run_on(&plane, &labels, first.network(), config);
    let resumed = pollster::block_on(second.heldout_mistake_rate()).unwrap();
    eprintln!("held-out mistakes after 60 steps {trained:.3}, in the new run {resumed:.3}");
    assert_eq!(
        trained, resumed,
        "the new run measures the same network on the same patches"
    );
}

/// Same seed, same backend: the same network, bit for bit in its outputs (CPU, 2 threads).
/// Different seed: different.
#[test]
fn training_is_deterministic_for_a_seed_on_the_cpu() {
    let (plane, labels) = common::training_image();
    let weights_after = |seed: u64| {
        let config = TrainConfig {
            learning_rate: 1e-3,
            batch: 12,
            seed,
            ..TrainConfig::default()
        };
        let spec = Spec::preset("network2").unwrap();
        let initial = Network::new(&spec, seed, &Device::flex());
        let mut trainer = run_on(&plane, &labels, initial, config);
        for _ in 0..5 {
            pollster::block_on(trainer.step()).unwrap();
        }
        // the network's outputs on fixed inputs (weights files also hold random parameter ids)
        let input: Vec<f32> = (0..4 * 31 * 31)
            .map(|i| ((i * 37) % 101) as f32 / 101.0)
            .collect();
        let x = burn::tensor::Tensor::from_data(
            burn::tensor::TensorData::new(input, [4, 1, 31, 31]),
            &Device::flex(),
        );
        let out = trainer.network().forward(x).into_data();
        out.try_to_vec::<f32>()
            .unwrap()
            .iter()
            .map(|v| v.to_bits())
            .collect::<Vec<_>>()
    };
    let first = weights_after(3);
    assert!(first == weights_after(3), "two runs with seed 3 differ");
    assert!(first != weights_after(4));
}

/// Networks compared side by side see the same batches: each one's losses are exactly those
/// of the same network trained alone with the same seed (CPU backend, deterministic).
#[test]
fn compared_networks_train_on_the_same_batches_as_alone() {
    let (plane, labels) = common::training_image();
    let (train, heldout) = heldout_split(plane.width, plane.height);
    let config = TrainConfig {
        learning_rate: 1e-3,
        batch: 8,
        seed: 7,
        heldout_patches: 60,
        ..TrainConfig::default()
    };
    let specs = [
        Spec::preset("network2").unwrap(),
        Spec::preset("network3").unwrap(),
    ];
    let device = Device::flex();
    let mut together = Comparison::new(
        &specs,
        &plane,
        &labels,
        train,
        heldout,
        config.clone(),
        &device,
    )
    .unwrap();
    assert_eq!(together.len(), 2);
    let steps = 4;
    let mut curves = vec![Vec::new(); 2];
    for _ in 0..steps {
        let reports = pollster::block_on(together.step()).unwrap();
        for (curve, r) in curves.iter_mut().zip(reports) {
            curve.push(r.loss.to_bits());
        }
    }
    for (spec, curve) in specs.iter().zip(&curves) {
        let mut alone = Trainer::fresh(
            spec,
            &plane,
            &labels,
            train,
            heldout,
            config.clone(),
            &device,
        )
        .unwrap();
        let losses: Vec<u32> = (0..steps)
            .map(|_| pollster::block_on(alone.step()).unwrap().loss.to_bits())
            .collect();
        assert_eq!(&losses, curve, "{} learned differently alone", spec.name);
    }
    assert_ne!(curves[0], curves[1], "two architectures, one curve");
    let rates = pollster::block_on(together.heldout_mistake_rates()).unwrap();
    assert_eq!(rates.len(), 2);
    assert!(rates.iter().all(|r| (0.0..=1.0).contains(r)));
}
