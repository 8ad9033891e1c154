//! Comparing architectures (post 3): several networks trained side by side on the very same
//! batches, so their learning curves differ only because their layers do.

use crate::core::plane::{Plane, Rect};
use crate::io::labels::ClassMap;
use crate::model::spec::Spec;
use crate::train::patch::EmptyClass;
use crate::train::{StepReport, TrainConfig, Trainer};
use burn::tensor::Device;

/// Networks in training together. Every trainer is built with the same seed, so each also
/// holds the same held-out set; the batches all come from the first one's sampler.
pub struct Comparison {
    trainers: Vec<Trainer>,
}

impl Comparison {
    /// Fresh networks of `specs`, each initialised from `config.seed`.
    pub fn new(
        specs: &[Spec],
        plane: &Plane,
        labels: &ClassMap,
        train: Rect,
        heldout: Rect,
        config: TrainConfig,
        device: &Device,
    ) -> Result<Comparison, EmptyClass> {
        let trainers = specs
            .iter()
            .map(|spec| Trainer::fresh(spec, plane, labels, train, heldout, config.clone(), device))
            .collect::<Result<_, _>>()?;
        Ok(Comparison { trainers })
    }

    pub fn len(&self) -> usize {
        self.trainers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.trainers.is_empty()
    }

    /// One Adam step of every network on one shared batch; reports in the order of the specs.
    pub async fn step(&mut self) -> Result<Vec<StepReport>, String> {
        let Some(first) = self.trainers.first_mut() else {
            return Ok(vec![]);
        };
        let batch = first.next_batch();
        let mut reports = Vec::with_capacity(self.trainers.len());
        for trainer in &mut self.trainers {
            reports.push(trainer.learn(batch.clone()).await?);
        }
        Ok(reports)
    }

    /// Each network's mistake rate (0..=1) on the shared held-out patches.
    pub async fn heldout_mistake_rates(&self) -> Result<Vec<f32>, String> {
        let mut rates = Vec::with_capacity(self.trainers.len());
        for trainer in &self.trainers {
            rates.push(trainer.heldout_mistake_rate().await?);
        }
        Ok(rates)
    }
}
