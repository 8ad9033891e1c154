//! The U-Net beyond the posts: its shapes, maps that do not depend on how the image is cut
//! into tiles, a weights file that loads back to the same network (and is refused where a
//! patch network is wanted), and training that lowers the loss.

use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor, TensorData};
use cellseg::core::plane::Rect;
use cellseg::model::Model;
use cellseg::model::Path;
use cellseg::model::backend::Backend;
use cellseg::model::unet::{UNet, segment, tile_side};
use cellseg::model::unet_cpu::UNetCpu;
use cellseg::model::weights::{self, Precision, WeightsError};
use cellseg::teach::colony::colony;
use cellseg::train::unet_train::{CROP, CropSampler, UNetConfig, UNetTrainer};

fn device() -> Device {
    Backend::cpu().device
}

/// A buffer limit that makes tiles of `side` pixels on the CPU.
fn buffer_for(side: usize) -> u64 {
    let with_halo = (side + 2 * cellseg::model::unet::HALO) as u64;
    with_halo * with_halo * 4 * cellseg::model::unet_cpu::FLOATS_PER_PIXEL as u64
}

#[test]
fn forward_keeps_the_size_and_gives_three_scores_a_pixel() {
    let net = UNet::new(1, &device());
    let x = Tensor::<4>::from_data(
        TensorData::new(vec![0.3f32; 2 * 40 * 48], [2, 1, 40, 48]),
        &device(),
    );
    assert_eq!(net.forward(x).dims(), [2, 3, 40, 48]);
    assert!(
        (400_000..600_000).contains(&net.params()),
        "{}",
        net.params()
    );
    // about 80 kFLOP a pixel: a sixteenth of the posts' dense twin
    assert!((50_000..120_000).contains(&UNet::flops_per_pixel()));
}

#[test]
fn a_map_does_not_depend_on_the_tiles_or_the_crop() {
    let (plane, _) = colony(150, 110, 3);
    let net = UNet::new(2, &device());
    assert_eq!(
        tile_side(cellseg::model::unet_cpu::FLOATS_PER_PIXEL, buffer_for(16)),
        16
    );
    let whole = pollster::block_on(segment(
        &net,
        &plane,
        Rect::new(0, 0, 150, 110),
        buffer_for(16),
        &device(),
        &mut |_, _| {},
    ))
    .unwrap();
    // a crop off the tile grid, in one big tile
    let rect = Rect::new(37, 21, 121, 99);
    let crop = pollster::block_on(segment(
        &net,
        &plane,
        rect,
        buffer_for(512),
        &device(),
        &mut |_, _| {},
    ))
    .unwrap();
    assert_eq!((crop.width, crop.height), (84, 78));
    let n = crop.width * crop.height;
    let mut worst = 0.0f32;
    for class in 0..3 {
        for y in 0..crop.height {
            for x in 0..crop.width {
                let a = crop.data[class * n + y * crop.width + x];
                let b = whole.data[class * 150 * 110 + (y + rect.y0) * 150 + (x + rect.x0)];
                worst = worst.max((a - b).abs());
            }
        }
    }
    assert!(worst < 1e-4, "tiles disagree by {worst}");
    // probabilities: each pixel's three sum to one
    for i in 0..n {
        let s: f32 = (0..3).map(|c| crop.data[c * n + i]).sum();
        assert!((s - 1.0).abs() < 1e-4);
    }
}

#[test]
fn the_cpu_path_computes_what_burn_computes() {
    let net = UNet::new(3, &device());
    let cpu = pollster::block_on(UNetCpu::new(&net)).unwrap();
    // one size after another: each run reuses the memory the one before left
    for (w, h) in [(72, 56), (40, 24), (72, 56)] {
        let (plane, _) = colony(w, h, 8);
        let ours = cpu.run(&plane);
        let x =
            Tensor::<4>::from_data(TensorData::new(plane.data.clone(), [1, 1, h, w]), &device());
        let burn = softmax(net.forward(x), 1)
            .into_data()
            .try_into_vec::<f32>()
            .unwrap();
        assert_eq!(ours.len(), burn.len());
        let worst = (ours.iter().zip(&burn))
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-5, "{w}×{h}: CPU path and burn differ by {worst}");
    }
}

#[test]
fn weights_load_back_to_the_same_map_and_are_refused_as_a_patch_network() {
    let net = UNet::new(4, &device());
    let bytes = weights::model_to_bytes(&Model::UNet(net.clone()), Precision::F32).unwrap();
    let back = weights::model_from_bytes(&bytes, &device()).unwrap();
    assert_eq!(back.name(), "unet");
    let (plane, _) = colony(64, 64, 5);
    let rect = Rect::new(0, 0, 64, 64);
    let b = Backend::cpu();
    let map = |m: &Model| pollster::block_on(m.map(&plane, rect, &b, Path::Dense, &mut |_, _| {}));
    assert_eq!(
        map(&Model::UNet(net)).unwrap(),
        map(&back).unwrap(),
        "f32 weights load back exactly"
    );
    let err = weights::from_bytes(&bytes, None, &device()).unwrap_err();
    assert!(matches!(err, WeightsError::UNet(_)), "{err}");
    assert!(err.to_string().contains("U-Net"));
    // f16 files are half the size and load as f32
    let half = weights::model_to_bytes(&back, Precision::F16).unwrap();
    assert!(half.len() < bytes.len() * 6 / 10);
    assert!(matches!(
        weights::model_from_bytes(&half, &device()).unwrap(),
        Model::UNet(_)
    ));
}

#[test]
fn crops_stay_inside_the_region_and_clear_of_forgotten_pixels() {
    let (plane, mut labels) = colony(300, 200, 6);
    labels.forget(Rect::new(0, 0, 150, 100));
    // the looks' magnification changes as patches have them, and wider (`train --zoom`)
    for zoom in [1.15, 1.3] {
        let config = UNetConfig {
            looks: true,
            septa_weight: 2.0,
            zoom,
            ..UNetConfig::default()
        };
        let mut sampler = CropSampler::new(&labels, Rect::new(0, 0, 300, 200), config).unwrap();
        let batch = sampler.batch(&plane, &labels, 20);
        assert_eq!(batch.pixels.len(), 20 * CROP * CROP);
        // no crop reached the forgotten corner: every pixel weighs something
        assert!(batch.weights.iter().all(|&w| w > 0.0), "zoom {zoom}");
        assert!(batch.classes.iter().all(|&c| (0..3).contains(&c)));
    }
    // a region smaller than a crop is refused with a reason
    let small = CropSampler::new(&labels, Rect::new(0, 0, 50, 50), UNetConfig::default());
    assert!(small.err().unwrap().contains("smaller than one"));
}

#[test]
fn debris_and_lone_cells_keep_every_pixel_weighed_as_its_class() {
    // a sparse colony: room on its background for copies and debris
    let look = cellseg::teach::colony::Look {
        fill: 0.3,
        ..cellseg::teach::colony::Look::default()
    };
    let (plane, labels) = cellseg::teach::colony::colony_with(400, 300, 7, &look);
    let region = Rect::new(0, 0, 400, 300);
    let copies = cellseg::train::lone_cells::LoneCells::new(&labels, region);
    assert!(copies.count() > 10, "cells to copy: {}", copies.count());
    let config = UNetConfig {
        looks: true,
        debris: true,
        lone_cells: true,
        ..UNetConfig::default()
    };
    let mut sampler = CropSampler::new(&labels, region, config.clone()).unwrap();
    let batch = sampler.batch(&plane, &labels, 40);
    // a class's pixels all weigh the same: a copy of a cell set on background carries its
    // class's weight with it, debris leave the background's
    let mut weight = [None; 3];
    for (&c, &w) in batch.classes.iter().zip(&batch.weights) {
        let seen = weight[c as usize].get_or_insert(w);
        assert_eq!(*seen, w, "class {c}");
    }
    assert!(weight.iter().all(Option::is_some));
    // cells too large to copy (over 1,000 px) leave nothing to copy: refused, with why
    let large = cellseg::teach::colony::Look {
        size: 2.5,
        ..cellseg::teach::colony::Look::default()
    };
    let (_, labels) = cellseg::teach::colony::colony_with(400, 300, 7, &large);
    let refused = CropSampler::new(&labels, region, config.clone());
    assert!(refused.err().unwrap().contains("to copy as a lone cell"));
}

#[test]
fn training_lowers_the_loss() {
    let (plane, labels) = colony(256, 192, 7);
    let b = Backend::cpu();
    let config = UNetConfig {
        batch: 2,
        ..UNetConfig::default()
    };
    let all = Rect::new(0, 0, 256, 192);
    let mut trainer = UNetTrainer::new(
        UNet::new(1, &b.device),
        &plane,
        &labels,
        all,
        Rect::new(0, 0, 128, 96),
        config,
        &b.device,
    )
    .unwrap();
    let before = pollster::block_on(trainer.heldout_mistake_rate()).unwrap();
    let mut losses = Vec::new();
    for _ in 0..40 {
        losses.push(pollster::block_on(trainer.step()).unwrap().loss);
    }
    let first: f32 = losses[..5].iter().sum::<f32>() / 5.0;
    let last: f32 = losses[35..].iter().sum::<f32>() / 5.0;
    assert!(last < 0.8 * first, "loss {first} -> {last}");
    let after = pollster::block_on(trainer.heldout_mistake_rate()).unwrap();
    assert!(after < before, "held-out mistakes {before} -> {after}");
}
