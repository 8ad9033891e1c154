//! Training the U-Net ([`crate::model::unet`]): Adam on square crops of the labelled image, every
//! pixel of a crop a training example.
//!
//! The posts balance the classes by drawing as many patches of each; a crop holds the classes
//! as the image does (two thirds background), so here each pixel's loss is weighted instead,
//! by the inverse of its class's share: the three classes weigh the same in the end. Pixels
//! nobody labelled weigh nothing. Optionally the edge pixels between two cells (the septa
//! that divide a rod, [`crate::train::patch::septa`]) weigh more again, as the U-Net paper weighs
//! the borders between touching cells.
//!
//! Crops take the looks of other microscopes ([`crate::train::looks`]) as patches do, one look a
//! crop, and the eight symmetries of the square.

use burn::module::Module;
use burn::optim::{AdamConfig, ModuleOptimizer};
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::core::plane::{Plane, Rect};
use crate::io::labels::{ClassMap, UNLABELLED};
use crate::model::backend::CPU_MAX_BUFFER;
use crate::model::unet::{ALIGN, UNet, segment};
use crate::train::debris;
use crate::train::lone_cells::{self, Crop, LoneCells};
use crate::train::looks::{Look, sampled_square};
use crate::train::patch::{septa, transform_square};
use crate::train::{StepReport, adam_update};

/// Side of a training crop: a multiple of [`ALIGN`], long enough to hold two cells end to
/// end and their neighbours.
pub const CROP: usize = 96;
const _: () = assert!(CROP.is_multiple_of(ALIGN));

/// Training settings.
#[derive(Clone, Debug, PartialEq)]
pub struct UNetConfig {
    pub learning_rate: f64,
    /// Crops a step.
    pub batch: usize,
    pub seed: u64,
    /// Flips and quarter turns.
    pub symmetries: bool,
    /// Other microscopes' looks, one a crop.
    pub looks: bool,
    /// Extra weight of the edge pixels between two cells, on top of the edge class's.
    pub septa_weight: f32,
    /// With `looks`: the largest magnification change either way ([`crate::train::looks::ZOOM`]
    /// by default).
    pub zoom: f32,
    /// Debris on the background of some crops ([`crate::train::debris`]), labelled background.
    pub debris: bool,
    /// Copies of labelled cells on the open background of some crops
    /// ([`crate::train::lone_cells`]).
    pub lone_cells: bool,
}

impl Default for UNetConfig {
    fn default() -> Self {
        UNetConfig {
            learning_rate: 1e-3,
            batch: 8,
            seed: 1,
            symmetries: true,
            looks: false,
            septa_weight: 0.0,
            zoom: crate::train::looks::ZOOM,
            debris: false,
            lone_cells: false,
        }
    }
}

/// Crops of a labelled image with per-pixel classes and loss weights.
pub struct CropSampler {
    region: Rect,
    /// Weight of each pixel of the image (0 outside what may be learnt from).
    weights: Vec<f32>,
    /// Each class's weight (the inverse of its share in the region).
    class_weight: [f32; 3],
    /// The cells copies are taken of, with `lone_cells`.
    lone: Option<LoneCells>,
    rng: StdRng,
    config: UNetConfig,
}

/// One batch: `n` crops, each [`CROP`]² pixels, classes and weights, row-major.
pub struct CropBatch {
    pub n: usize,
    pub pixels: Vec<f32>,
    pub classes: Vec<i64>,
    pub weights: Vec<f32>,
}

impl CropSampler {
    /// Crops lie inside `region` (so nothing outside it is seen, not even as context) and
    /// never overlap an unlabelled pixel (so a region forgotten with
    /// [`ClassMap::forget`] stays unseen).
    pub fn new(labels: &ClassMap, region: Rect, config: UNetConfig) -> Result<CropSampler, String> {
        let region = region.clamp(labels.width, labels.height);
        // a crop samples CROP pixels `zoom` apart: under the looks' largest zoom it spans more
        let zoom = if config.looks {
            config.zoom.max(1.0)
        } else {
            1.0
        };
        let span = (CROP as f32 * zoom).ceil() as usize + 1;
        if region.width() < span || region.height() < span {
            return Err(format!(
                "the training region ({}x{}) is smaller than one {CROP}x{CROP} crop \
                 ({span}x{span} pixels at zoom {zoom})",
                region.width(),
                region.height()
            ));
        }
        let mut counts = [0usize; 3];
        for y in region.y0..region.y1 {
            for x in region.x0..region.x1 {
                let c = labels.at(x, y);
                if c != UNLABELLED {
                    counts[c as usize] += 1;
                }
            }
        }
        let total: usize = counts.iter().sum();
        if let Some(class) = counts.iter().position(|&n| n == 0) {
            return Err(format!(
                "the training region has no {} pixels",
                crate::io::labels::class_name(class as u8)
            ));
        }
        let class_weight = counts.map(|n| total as f32 / (3.0 * n as f32));
        let mut weights: Vec<f32> = labels
            .classes
            .iter()
            .map(|&c| match c {
                UNLABELLED => 0.0,
                c => class_weight[c as usize],
            })
            .collect();
        if config.septa_weight > 0.0 {
            for (x, y) in septa(labels, region) {
                weights[y as usize * labels.width + x as usize] *= 1.0 + config.septa_weight;
            }
        }
        let lone = config.lone_cells.then(|| LoneCells::new(labels, region));
        if lone.as_ref().is_some_and(|l| l.count() == 0) {
            return Err(
                "no labelled cell of 150–1,000 px lies wholly inside the training \
                        region to copy as a lone cell"
                    .into(),
            );
        }
        Ok(CropSampler {
            region,
            weights,
            class_weight,
            lone,
            rng: StdRng::seed_from_u64(config.seed),
            config,
        })
    }

    /// The next `n` crops.
    pub fn batch(&mut self, plane: &Plane, labels: &ClassMap, n: usize) -> CropBatch {
        let area = CROP * CROP;
        let mut batch = CropBatch {
            n,
            pixels: Vec::with_capacity(n * area),
            classes: Vec::with_capacity(n * area),
            weights: Vec::with_capacity(n * area),
        };
        for _ in 0..n {
            let look = self.config.looks.then(|| {
                if self.rng.random_range(0.0..1.0f32) < crate::train::looks::EMPTY_FIELD_SHARE {
                    Look::empty_field_zoomed(&mut self.rng, self.config.zoom)
                } else {
                    Look::draw_zoomed(&mut self.rng, self.config.zoom)
                }
            });
            let zoom = look.map_or(1.0, |l| l.zoom);
            let (ox, oy) = self.origin(labels, zoom);
            let start = batch.pixels.len();
            sampled_square(plane, (ox, oy), CROP, zoom, &mut batch.pixels);
            let mut classes = Vec::with_capacity(area);
            let mut weights = Vec::with_capacity(area);
            for dy in 0..CROP {
                // the pixel nearest the image sample's position (`sampled_square`'s grid)
                let y = (oy + dy as f32 * zoom).round() as usize;
                for dx in 0..CROP {
                    let x = (ox + dx as f32 * zoom).round() as usize;
                    let i = y * labels.width + x;
                    let c = labels.classes[i];
                    classes.push(if c == UNLABELLED { 0 } else { c as i64 });
                    weights.push(self.weights[i]);
                }
            }
            // lone cells and debris before the look, so they share its focus, contrast and
            // noise (debris after the cells, so they keep clear of them)
            if let Some(lone) = &self.lone
                && self.rng.random_range(0.0..1.0f32) < lone_cells::SHARE
            {
                let mut crop = Crop {
                    pixels: &mut batch.pixels[start..],
                    classes: &mut classes,
                    weights: &mut weights,
                    side: CROP,
                    zoom,
                    class_weight: self.class_weight,
                };
                lone.paste(plane, labels, &mut crop, &mut self.rng);
            }
            if self.config.debris && self.rng.random_range(0.0..1.0f32) < debris::SHARE {
                debris::scatter(&mut batch.pixels[start..], &classes, CROP, &mut self.rng);
            }
            if let Some(look) = look {
                look.apply(&mut batch.pixels[start..], CROP, &mut self.rng);
            }
            let symmetry = if self.config.symmetries {
                (self.rng.random_bool(0.5), self.rng.random_range(0..4))
            } else {
                (false, 0)
            };
            transform_square(&mut batch.pixels[start..], CROP, symmetry);
            transform_square(&mut classes, CROP, symmetry);
            transform_square(&mut weights, CROP, symmetry);
            batch.classes.extend(classes);
            batch.weights.extend(weights);
        }
        batch
    }

    /// A crop's top-left corner: the crop (`CROP` samples `zoom` apart) inside the region
    /// and clear of unlabelled pixels, tried a few hundred times before settling for any
    /// position inside the region (whose unlabelled pixels then weigh nothing).
    fn origin(&mut self, labels: &ClassMap, zoom: f32) -> (f32, f32) {
        let span = (CROP as f32 * zoom).ceil() as usize + 1;
        let r = self.region;
        let max_x = r.x1.saturating_sub(span).max(r.x0);
        let max_y = r.y1.saturating_sub(span).max(r.y0);
        let mut pick = || {
            (
                self.rng.random_range(r.x0..=max_x),
                self.rng.random_range(r.y0..=max_y),
            )
        };
        for _ in 0..500 {
            let (x, y) = pick();
            let clear = (y..(y + span).min(labels.height)).all(|yy| {
                let row = &labels.classes[yy * labels.width..][x..(x + span).min(labels.width)];
                !row.contains(&UNLABELLED)
            });
            if clear {
                return (x as f32, y as f32);
            }
        }
        let (x, y) = pick();
        (x as f32, y as f32)
    }
}

/// A U-Net in training, its optimizer state, and the image and labels it learns from.
pub struct UNetTrainer {
    model: UNet,
    plane: Plane,
    labels: ClassMap,
    optimizer: ModuleOptimizer,
    sampler: CropSampler,
    heldout: Rect,
    device: Device,
    config: UNetConfig,
    step: usize,
}

impl UNetTrainer {
    /// Starts from `initial` and trains on crops inside `train`; measures on `heldout`.
    pub fn new(
        initial: UNet,
        plane: &Plane,
        labels: &ClassMap,
        train: Rect,
        heldout: Rect,
        config: UNetConfig,
        device: &Device,
    ) -> Result<UNetTrainer, String> {
        labels
            .check_size(plane.width, plane.height)
            .map_err(|e| e.to_string())?;
        let sampler = CropSampler::new(labels, train, config.clone())?;
        let device = device.clone().autodiff();
        Ok(UNetTrainer {
            model: initial.fork(&device).train(),
            plane: plane.clone(),
            labels: labels.clone(),
            optimizer: AdamConfig::new().init(),
            sampler,
            heldout: heldout.clamp(plane.width, plane.height),
            device,
            config,
            step: 0,
        })
    }

    pub fn set_learning_rate(&mut self, learning_rate: f64) {
        self.config.learning_rate = learning_rate;
    }

    /// One Adam step on a fresh batch of crops.
    pub async fn step(&mut self) -> Result<StepReport, String> {
        let b = self
            .sampler
            .batch(&self.plane, &self.labels, self.config.batch.max(1));
        let shape = [b.n, 1, CROP, CROP];
        let pixels = Tensor::<4>::from_data(TensorData::new(b.pixels, shape), &self.device);
        let classes = Tensor::<4, Int>::from_data(TensorData::new(b.classes, shape), &self.device);
        let weights = Tensor::<4>::from_data(TensorData::new(b.weights, shape), &self.device);
        let logits = self.model.forward(pixels);
        let picked = log_softmax(logits.clone(), 1).gather(1, classes.clone());
        let total = weights.clone().sum().clamp_min(1e-6);
        let loss = (picked * weights.clone()).sum().neg() / total;
        let labelled = weights.greater_elem(0.0).float();
        let wrong = logits
            .detach()
            .argmax(1)
            .not_equal(classes)
            .float()
            .mul(labelled.clone())
            .sum()
            / labelled.sum().clamp_min(1.0);
        let (loss, wrong) = adam_update(
            &mut self.model,
            &mut self.optimizer,
            self.config.learning_rate,
            loss,
            wrong,
            self.step + 1,
        )
        .await?;
        self.step += 1;
        Ok(StepReport {
            step: self.step,
            loss,
            batch_mistakes: wrong,
        })
    }

    /// The held-out region's mistake rate with the classes weighing the same (the mean over
    /// the three classes of the share of its labelled pixels taken for another class), as
    /// the posts' balanced held-out patches measure it.
    pub async fn heldout_mistake_rate(&self) -> Result<f32, String> {
        let device = self.device.clone().without_autodiff();
        let net = self.network();
        let map = segment(
            &net,
            &self.plane,
            self.heldout,
            CPU_MAX_BUFFER,
            &device,
            &mut |_, _| {},
        )
        .await?;
        Ok(balanced_mistakes(&map, &self.labels, self.heldout))
    }

    /// The network as trained so far, for inference.
    pub fn network(&self) -> UNet {
        self.model.valid()
    }
}

/// Mean over the classes of the share of their labelled pixels in `rect` that `map` (of
/// `rect`) gives to another class.
pub fn balanced_mistakes(
    map: &crate::core::probability::ProbabilityMap,
    labels: &ClassMap,
    rect: Rect,
) -> f32 {
    let (mut wrong, mut total) = ([0usize; 3], [0usize; 3]);
    let n = map.width * map.height;
    for y in 0..map.height {
        for x in 0..map.width {
            let truth = labels.at(rect.x0 + x, rect.y0 + y);
            if truth == UNLABELLED {
                continue;
            }
            let i = y * map.width + x;
            let best = (0..3)
                .max_by(|&a, &b| map.data[a * n + i].total_cmp(&map.data[b * n + i]))
                .expect("three classes");
            total[truth as usize] += 1;
            wrong[truth as usize] += usize::from(best != truth as usize);
        }
    }
    let rates: Vec<f32> = (0..3)
        .filter(|&c| total[c] > 0)
        .map(|c| wrong[c] as f32 / total[c] as f32)
        .collect();
    rates.iter().sum::<f32>() / rates.len().max(1) as f32
}
