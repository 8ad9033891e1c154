//! `cellseg train`: chapter 2's training of the posts' network on one labelled image, or
//! the U-Net's (`--arch unet`), with held-out mistake rates as it goes.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

use cellseg::core::plane::{Plane, Rect};
use cellseg::io::labels::ClassMap;
use cellseg::model::Model;
use cellseg::model::backend::Backend;
use cellseg::model::network::Network;
use cellseg::model::spec::Spec;
use cellseg::model::unet::UNet;
use cellseg::model::weights::{self, Precision};
use cellseg::train::patch::Augment;
use cellseg::train::unet_train::{CROP, UNetConfig, UNetTrainer};
use cellseg::train::{StepReport, TrainConfig, Trainer, cosine_decay, heldout_split};

use crate::{BackendArg, Result, backend, bar, image, labels_for, parse_rect, read, say};

#[derive(Args)]
pub(crate) struct TrainArgs {
    /// Image to learn from (TIFF, PNG or JPEG).
    #[arg(long)]
    image: PathBuf,
    /// Class image of the same size: 0 other, 1 cell, 2 edge.
    #[arg(long)]
    labels: PathBuf,
    /// Architecture: a preset (original, network1, network2, network3, deepcell), a text
    /// form such as "conv4x20 pool conv3x40 conv3x80 pool conv3x120 conv3x240 fc1000", or
    /// "unet" (beyond the posts: the U-Net, trained on whole crops; see the crate's `unet`).
    #[arg(long, default_value = "original")]
    arch: String,
    /// Adam steps.
    #[arg(long, default_value_t = 2000)]
    steps: usize,
    /// Patches per step (an equal number per class); for the U-Net, crops of 96x96 per step.
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// Adam learning rate (the posts used 1e-4).
    #[arg(long, default_value_t = 1e-4)]
    lr: f64,
    /// Anneal the learning rate from --lr down to this along half a cosine (default: constant).
    #[arg(long)]
    lr_final: Option<f64>,
    /// Seed for weights, patch sampling and augmentation.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Patch centres come from this region; default: the left two thirds of the image.
    #[arg(long, value_parser = parse_rect)]
    region: Option<Rect>,
    /// Patch centres never come from this region (repeatable; its pixels count as
    /// unlabelled). Patches centred up to 15 px outside it (18 with --looks' zoom) still see
    /// its edge: grow it by that much to keep it wholly unseen, to test on later.
    #[arg(long, value_parser = parse_rect)]
    exclude: Vec<Rect>,
    /// Held-out mistake rate measured on this region; default: the right third.
    #[arg(long, value_parser = parse_rect)]
    heldout: Option<Rect>,
    /// Measure the held-out mistake rate every this many steps.
    #[arg(long, default_value_t = 250)]
    eval_every: usize,
    /// Train without flips and quarter turns.
    #[arg(long)]
    no_augment: bool,
    /// Also draw each patch as another microscope might show it: magnification, focus,
    /// contrast and noise a little off (see the crate's `looks` module).
    #[arg(long)]
    looks: bool,
    /// Share of the edge patches drawn from the lines between two touching cells (0..1);
    /// for the U-Net, the extra weight of those pixels' loss (0: as any edge pixel).
    #[arg(long, default_value_t = 0.0)]
    septa: f32,
    /// With --looks, the U-Net's largest magnification change either way, 1..=2 (the
    /// patches' stays the looks module's ZOOM, 1.15).
    #[arg(long, default_value_t = cellseg::train::looks::ZOOM, value_parser = zoom_range)]
    zoom: f32,
    /// The U-Net only: paint debris (dark and bright blobs without a halo, 3–30 px across)
    /// on the background of half the crops, labelled background (see the crate's `debris`;
    /// with --lone-cells, or the network learns that anything standing apart is debris).
    #[arg(long)]
    debris: bool,
    /// The U-Net only: copy labelled cells, with their rim, onto the open background of
    /// half the crops, so cells standing alone are learnt too (see the crate's `lone_cells`).
    #[arg(long)]
    lone_cells: bool,
    /// Where the networks run.
    #[arg(long, value_enum, default_value_t = BackendArg::Cpu)]
    backend: BackendArg,
    /// Write the learning curve here as CSV (step, loss, batch_mistakes, heldout_mistakes).
    #[arg(long)]
    curve: Option<PathBuf>,
    /// Start from these weights instead of fresh ones.
    #[arg(long)]
    init: Option<PathBuf>,
    /// Where to save the trained weights.
    #[arg(long)]
    out: PathBuf,
}

pub(crate) fn run(a: TrainArgs) -> Result<()> {
    let backend = backend(&a.backend)?;
    let plane = image(&a.image)?;
    let mut labels = labels_for(&a.labels, &plane)?;
    for rect in &a.exclude {
        labels.forget(*rect);
    }
    let (default_train, default_heldout) = heldout_split(plane.width, plane.height);
    let (region, heldout) = (
        a.region.unwrap_or(default_train),
        a.heldout.unwrap_or(default_heldout),
    );
    if a.arch == weights::UNET_NAME {
        return train_unet(&a, &backend, &plane, &labels, region, heldout);
    }
    if a.debris || a.lone_cells {
        return Err("--debris and --lone-cells are for the U-Net (--arch unet): the posts' networks learn as \
                    chapter 2 teaches"
            .into());
    }
    let spec = Spec::lookup(&a.arch).map_err(|e| e.to_string())?;
    let config = TrainConfig {
        learning_rate: a.lr,
        batch: a.batch.max(1),
        seed: a.seed,
        augment: Augment {
            flips: !a.no_augment,
            rotations: !a.no_augment,
            looks: a.looks,
        },
        septa_share: a.septa.clamp(0.0, 1.0),
        ..TrainConfig::default()
    };
    let initial = match &a.init {
        Some(path) => weights::from_bytes(&read(path)?, Some(&spec), &backend.device)
            .map_err(|e| e.to_string())?,
        None => Network::new(&spec, a.seed, &backend.device),
    };
    let mut trainer = Trainer::new(
        initial,
        &plane,
        &labels,
        region,
        heldout,
        config,
        &backend.device,
    )
    .map_err(|e| e.to_string())?;
    eprintln!(
        "training {} ({}) on {} for {} steps, batch {}, lr {}{}",
        spec.name,
        spec,
        backend.adapter,
        a.steps,
        a.batch,
        a.lr,
        a.lr_final
            .map(|end| format!(" annealed to {end}"))
            .unwrap_or_default()
    );
    run_steps(&a, &mut trainer)?;
    save_trained(&a, &Model::Patch(trainer.network()))
}

/// `--zoom`: a magnification change either way, 1..=2.
fn zoom_range(s: &str) -> Result<f32> {
    match s.parse::<f32>() {
        Ok(z) if (1.0..=2.0).contains(&z) => Ok(z),
        _ => Err(format!("'{s}' is not a zoom between 1 and 2")),
    }
}

/// The U-Net's training run (`train --arch unet`): the same flags, crops for patches.
fn train_unet(
    a: &TrainArgs,
    backend: &Backend,
    plane: &Plane,
    labels: &ClassMap,
    region: Rect,
    heldout: Rect,
) -> Result<()> {
    let config = UNetConfig {
        learning_rate: a.lr,
        batch: a.batch.max(1),
        seed: a.seed,
        symmetries: !a.no_augment,
        looks: a.looks,
        septa_weight: a.septa.max(0.0),
        zoom: a.zoom,
        debris: a.debris,
        lone_cells: a.lone_cells,
    };
    let initial = match &a.init {
        Some(path) => match weights::model_from_bytes(&read(path)?, &backend.device)
            .map_err(|e| format!("{}: {e}", path.display()))?
        {
            Model::UNet(net) => net,
            Model::Patch(_) => return Err(format!("{}: not U-Net weights", path.display())),
        },
        None => UNet::new(a.seed, &backend.device),
    };
    let params = initial.params();
    let mut trainer = UNetTrainer::new(
        initial,
        plane,
        labels,
        region,
        heldout,
        config,
        &backend.device,
    )?;
    eprintln!(
        "training the U-Net ({params} parameters) on {} for {} steps, {} crops of {CROP}x{CROP} a step, lr {}{}{}{}{}",
        backend.adapter,
        a.steps,
        a.batch,
        a.lr,
        a.lr_final
            .map(|end| format!(" annealed to {end}"))
            .unwrap_or_default(),
        if a.septa > 0.0 {
            format!(", septa weighing {}x more", 1.0 + a.septa)
        } else {
            String::new()
        },
        if a.debris {
            ", debris on half the crops"
        } else {
            ""
        },
        if a.lone_cells {
            ", lone cells on half the crops"
        } else {
            ""
        }
    );
    run_steps(a, &mut trainer)?;
    save_trained(a, &Model::UNet(trainer.network()))
}

/// What the training loop needs of a trainer of either kind.
trait Steps {
    fn set_learning_rate(&mut self, lr: f64);
    fn step(&mut self) -> Result<StepReport>;
    fn heldout_mistake_rate(&mut self) -> Result<f32>;
}

impl Steps for Trainer {
    fn set_learning_rate(&mut self, lr: f64) {
        Trainer::set_learning_rate(self, lr);
    }
    fn step(&mut self) -> Result<StepReport> {
        pollster::block_on(Trainer::step(self))
    }
    fn heldout_mistake_rate(&mut self) -> Result<f32> {
        pollster::block_on(Trainer::heldout_mistake_rate(self))
    }
}

impl Steps for UNetTrainer {
    fn set_learning_rate(&mut self, lr: f64) {
        UNetTrainer::set_learning_rate(self, lr);
    }
    fn step(&mut self) -> Result<StepReport> {
        pollster::block_on(UNetTrainer::step(self))
    }
    fn heldout_mistake_rate(&mut self) -> Result<f32> {
        pollster::block_on(UNetTrainer::heldout_mistake_rate(self))
    }
}

/// The training loop of either kind: the schedule, a progress bar, the held-out mistake
/// rate every `--eval-every` steps, and the learning curve written to `--curve`.
fn run_steps(a: &TrainArgs, trainer: &mut dyn Steps) -> Result<()> {
    let start = Instant::now();
    let mut csv = String::from("step,loss,batch_mistakes,heldout_mistakes\n");
    let progress = bar(a.steps, "training");
    for i in 1..=a.steps {
        if let Some(end) = a.lr_final {
            trainer.set_learning_rate(cosine_decay(i - 1, a.steps, a.lr, end));
        }
        let r = trainer.step()?;
        let mut heldout = String::new();
        if i % a.eval_every.max(1) == 0 || i == a.steps {
            let rate = trainer.heldout_mistake_rate()?;
            heldout = format!("{rate:.4}");
            say(
                &progress,
                format!(
                    "step {i}: loss {:.4}, held-out mistakes {:.1}% ({:.0} s)",
                    r.loss,
                    100.0 * rate,
                    start.elapsed().as_secs_f64()
                ),
            );
        }
        csv.push_str(&format!(
            "{},{:.5},{:.4},{heldout}\n",
            r.step, r.loss, r.batch_mistakes
        ));
        progress.inc(1);
    }
    progress.finish_and_clear();
    if let Some(path) = &a.curve {
        std::fs::write(path, csv).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    eprintln!(
        "trained for {:.1} min",
        start.elapsed().as_secs_f64() / 60.0
    );
    Ok(())
}

/// Saves a trained model to `--out` in f32.
fn save_trained(a: &TrainArgs, model: &Model) -> Result<()> {
    let bytes = weights::model_to_bytes(model, Precision::F32).map_err(|e| e.to_string())?;
    std::fs::write(&a.out, bytes).map_err(|e| format!("{}: {e}", a.out.display()))?;
    eprintln!("saved {}", a.out.display());
    Ok(())
}
