//! Training: Adam on cross-entropy over class-balanced patch batches, one step at a time so
//! the caller can pause, resume or stop between steps and show progress as it goes.

pub mod comparison;
pub mod debris;
pub mod lone_cells;
pub mod looks;
pub mod mistake;
pub mod patch;
pub mod unet_train;

use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor};

use crate::core::plane::{Plane, Rect};
use crate::io::labels::ClassMap;
use crate::model::network::{Network, patch_tensor};
use crate::model::spec::Spec;
use crate::train::mistake::{class_tensor, count_mistakes, mistake_rate};
use crate::train::patch::{Augment, EmptyClass, PatchBatch, Sampler, evaluation_set};

/// The train and held-out regions of a labelled image: columns left of two thirds of the
/// width for training, the rest held out. For phase_027 (1392 wide) that is the data
/// README's convention, x < 928 and x >= 928.
pub fn heldout_split(width: usize, height: usize) -> (Rect, Rect) {
    let x = (2 * width).div_ceil(3);
    (Rect::new(0, 0, x, height), Rect::new(x, 0, width, height))
}

/// The learning rate for `step` (0-based) of `total` when it decays from `start` to `end`
/// along half a cosine. Long runs need it: at a constant 1e-3 the held-out mistakes stop
/// falling after a few thousand steps while the batch loss keeps jumping about; annealing
/// lets Adam settle into the minimum it has found instead of rattling around it.
pub fn cosine_decay(step: usize, total: usize, start: f64, end: f64) -> f64 {
    let t = step as f64 / total.saturating_sub(1).max(1) as f64;
    end + (start - end) * 0.5 * (1.0 + (std::f64::consts::PI * t.min(1.0)).cos())
}

/// One Adam update of `model` by the gradients of `loss`, then the loss and `wrong` (a
/// count or share of mistakes) read back together: on a GPU every read is a round trip. A
/// step whose loss is not finite is undone, with a message naming step `step`.
pub(crate) async fn adam_update<M: Module + Clone>(
    model: &mut M,
    optimizer: &mut ModuleOptimizer,
    learning_rate: f64,
    loss: Tensor<1>,
    wrong: Tensor<1>,
    step: usize,
) -> Result<(f32, f32), String> {
    let grads = GradientsParams::from_grads(loss.backward(), &*model);
    // Cheap (the tensors are shared): lets a step with a non-finite loss be undone.
    let before = model.clone();
    *model = optimizer.step(learning_rate, before.clone(), grads);
    let values = Tensor::cat(vec![loss.detach(), wrong], 0)
        .into_data_async()
        .await
        .map_err(|e| format!("reading the loss: {e:?}"))?;
    let v = values.as_slice::<f32>().map_err(|e| format!("{e:?}"))?;
    if !v[0].is_finite() {
        *model = before;
        return Err(format!(
            "the loss became {} at step {step}: the step was undone; lower the learning rate",
            v[0]
        ));
    }
    Ok((v[0], v[1]))
}

/// Training settings. Defaults follow the posts: Adam at 1e-4; batch 256 as upstream.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainConfig {
    pub learning_rate: f64,
    pub batch: usize,
    pub seed: u64,
    pub augment: Augment,
    /// Patches in the fixed held-out set the mistake rate is measured on.
    pub heldout_patches: usize,
    /// Share of edge patches drawn from the lines between two cells ([`crate::train::patch::septa`]).
    pub septa_share: f32,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            learning_rate: 1e-4,
            batch: 256,
            seed: 1,
            augment: Augment {
                flips: true,
                rotations: true,
                looks: false,
            },
            heldout_patches: 600,
            septa_share: 0.0,
        }
    }
}

/// What one step reports.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepReport {
    /// Steps done so far, this one included.
    pub step: usize,
    /// Mean cross-entropy of the batch.
    pub loss: f32,
    /// Share of the batch misclassified before the update (0..=1).
    pub batch_mistakes: f32,
}

/// A network in training, its optimizer state and the patches it learns from. It keeps the
/// plane it samples from (a copy), so its patches always come from the picture its labels
/// were made for, at the scale they were made at.
pub struct Trainer {
    model: Network,
    plane: Plane,
    optimizer: ModuleOptimizer,
    sampler: Sampler,
    heldout: PatchBatch,
    device: Device,
    config: TrainConfig,
    step: usize,
}

impl Trainer {
    /// Starts from `initial` (fresh or loaded weights, on any device) and trains on the
    /// patches centred in `train`; measures on a fixed set from `heldout`.
    pub fn new(
        initial: Network,
        plane: &Plane,
        labels: &ClassMap,
        train: Rect,
        heldout: Rect,
        config: TrainConfig,
        device: &Device,
    ) -> Result<Trainer, EmptyClass> {
        let mut sampler = Sampler::new(labels, train, config.seed)?;
        sampler.augment = config.augment;
        if config.augment.looks {
            sampler.index_background(labels, train);
        }
        sampler.septa_share = config.septa_share;
        let heldout = evaluation_set(
            plane,
            labels,
            heldout,
            config.heldout_patches,
            config.seed ^ 0x5eed,
        )?;
        let device = device.clone().autodiff();
        Ok(Trainer {
            model: initial.fork(&device).train(),
            plane: plane.clone(),
            optimizer: AdamConfig::new().init(),
            sampler,
            heldout,
            device,
            config,
            step: 0,
        })
    }

    /// A fresh network of `spec`, seeded from the config.
    pub fn fresh(
        spec: &Spec,
        plane: &Plane,
        labels: &ClassMap,
        train: Rect,
        heldout: Rect,
        config: TrainConfig,
        device: &Device,
    ) -> Result<Trainer, EmptyClass> {
        let net = Network::new(spec, config.seed, device);
        Trainer::new(net, plane, labels, train, heldout, config, device)
    }

    /// One Adam step on a fresh batch.
    pub async fn step(&mut self) -> Result<StepReport, String> {
        let batch = self.next_batch();
        self.learn(batch).await
    }

    /// The next batch this run would train on (class-balanced, augmented as configured).
    pub fn next_batch(&mut self) -> PatchBatch {
        self.sampler.batch(&self.plane, self.config.batch)
    }

    /// One Adam step on `batch`, which may come from another trainer: networks compared on
    /// the same batches differ only in their architecture.
    pub async fn learn(&mut self, batch: PatchBatch) -> Result<StepReport, String> {
        let n = batch.len();
        let classes = class_tensor(&batch.classes, &self.device);
        let logits = self.model.forward(patch_tensor(batch.pixels, &self.device));
        let loss = CrossEntropyLossConfig::new()
            .init(&self.device)
            .forward(logits.clone(), classes.clone());
        let wrong = count_mistakes(logits.detach(), classes);
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
            batch_mistakes: wrong / n as f32,
        })
    }

    /// Mistake rate (0..=1) on the held-out patches.
    pub async fn heldout_mistake_rate(&self) -> Result<f32, String> {
        mistake_rate(
            &self.network(),
            &self.heldout,
            &self.device.clone().without_autodiff(),
        )
        .await
    }

    /// The network as trained so far, for inference (no autodiff).
    pub fn network(&self) -> Network {
        self.model.valid()
    }

    /// Changes only the learning rate (a schedule's step), keeping Adam's state.
    pub fn set_learning_rate(&mut self, learning_rate: f64) {
        self.config.learning_rate = learning_rate;
    }

    /// Changes the learning rate, batch size and augmentation for the next steps, keeping
    /// Adam's moment estimates: a fresh Adam moves every weight by a full learning rate on its
    /// first step, which would shake a trained network.
    pub fn adjust(&mut self, learning_rate: f64, batch: usize, augment: Augment) {
        self.config.learning_rate = learning_rate;
        self.config.batch = batch.max(1);
        self.config.augment = augment;
        self.sampler.augment = augment;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_decay_runs_from_start_to_end_through_the_middle() {
        assert_eq!(cosine_decay(0, 101, 1e-3, 1e-5), 1e-3);
        assert!((cosine_decay(50, 101, 1e-3, 1e-5) - 0.5 * (1e-3 + 1e-5)).abs() < 1e-12);
        assert!((cosine_decay(100, 101, 1e-3, 1e-5) - 1e-5).abs() < 1e-12);
        let rates: Vec<f64> = (0..101).map(|i| cosine_decay(i, 101, 1e-3, 1e-5)).collect();
        assert!(rates.windows(2).all(|w| w[1] <= w[0]));
        // A one-step run trains at the start rate rather than dividing by zero.
        assert_eq!(cosine_decay(0, 1, 1e-3, 1e-5), 1e-3);
    }

    #[test]
    fn heldout_split_is_the_data_readme_line_for_phase_027() {
        let (train, heldout) = heldout_split(1392, 1040);
        assert_eq!((train.x1, heldout.x0, heldout.x1), (928, 928, 1392));
    }
}
