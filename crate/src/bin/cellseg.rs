//! `cellseg`: the native command line over the same library as the page.
//!
//! ```text
//! cellseg train   --image IMG --labels CLASSES.png --out W.cellseg   learn a network
//!                 [--arch unet]                                        (or the U-Net)
//! cellseg segment --weights W1[,W2..] --image IMG --out-mask M.png    dense inference + clean-up
//!                 [--scale auto|FACTOR]                                at the networks' scale
//!                                                                      (measured by default)
//! cellseg eval    --weights W1[,W2..] --image IMG --labels CLASSES.png  quality on a region
//! cellseg bench                                                        speed per backend
//! cellseg convert --weights W --precision f16 --out W16                 smaller weights files
//! cellseg colony  --out-image IMG.png --out-labels CLASSES.png         a synthetic colony
//!                 [--size 2 --fill 0.1 --debris 40 ...]                other sizes, sparse
//! ```
//! Every flag has `--help`. Regions are `X0,Y0,X1,Y1` in pixels, half-open.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Args, Parser, Subcommand, ValueEnum};
use image::{ImageBuffer, Luma};
use indicatif::{ProgressBar, ProgressStyle};

use cellseg::batch;
use cellseg::bench::{self, Plan};
use cellseg::core::cells::Cells;
use cellseg::core::plane::{Plane, Rect};
use cellseg::core::probability::ProbabilityMap;
use cellseg::eval::evaluate::{Kind, Report, evaluate_kind};
use cellseg::io::export;
use cellseg::io::labels::{ClassMap, instances_from_image};
use cellseg::model::Model;
use cellseg::model::Path as MapPath;
use cellseg::model::backend::Backend;
use cellseg::model::network::Network;
use cellseg::model::spec::Spec;
use cellseg::model::unet::UNet;
use cellseg::model::weights::{self, Precision};
use cellseg::pipeline::{ScaleChoice, borne_out, segment_auto, segment_cells};
use cellseg::post::measure;
use cellseg::post::outline;
use cellseg::post::{PostConfig, average, cells_from_smoothed, ks_test, smoothed_cell_probability};
use cellseg::train::patch::Augment;
use cellseg::train::unet_train::{CROP, UNetConfig, UNetTrainer};
use cellseg::train::{StepReport, TrainConfig, Trainer, cosine_decay, heldout_split};

#[derive(Parser)]
#[command(
    name = "cellseg",
    version,
    about = "Cell segmentation of phase-contrast images with patch CNNs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a network on the labelled pixels of one image.
    Train(TrainArgs),
    /// Segment an image densely with one or more networks (averaged) and clean up.
    Segment(SegmentArgs),
    /// Measure segmentation quality against labels on a region.
    Eval(EvalArgs),
    /// Measure speed: dense and naive px/s, training steps.
    Bench(BenchArgs),
    /// Store a weights file's parameters in another precision (f16 halves the size).
    Convert(ConvertArgs),
    /// Draw a synthetic phase-contrast colony and its exact labels.
    Colony(ColonyArgs),
}

#[derive(Args)]
struct ColonyArgs {
    #[arg(long, default_value_t = 512)]
    width: usize,
    #[arg(long, default_value_t = 384)]
    height: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Cell size relative to the tutorial's (another magnification), 0.25..=4.
    #[arg(long, default_value_t = 1.0)]
    size: f32,
    /// Chance that each place holds a cell (a sparse field: small), 0..=1.
    #[arg(long, default_value_t = 0.92)]
    fill: f32,
    /// Depth of the dark body and the halo relative to the tutorial's, 0.1..=4.
    #[arg(long, default_value_t = 1.0)]
    contrast: f32,
    /// Noise relative to the tutorial's, 0..=10.
    #[arg(long, default_value_t = 1.0)]
    noise: f32,
    /// How many specks of debris (dark and bright, labelled background), 0..=100000.
    #[arg(long, default_value_t = 0)]
    debris: usize,
    /// The specks' size relative to 1–3 px across, 0.5..=10 (real fields hold specks as wide
    /// as the cells).
    #[arg(long, default_value_t = 1.0)]
    speck_size: f32,
    /// The cells' length between their round ends relative to the tutorial's rods, 0..=4 (0:
    /// round cells, cocci, in chains; 2: rods twice as long).
    #[arg(long, default_value_t = 1.0)]
    length: f32,
    /// The image, 16-bit gray PNG.
    #[arg(long)]
    out_image: PathBuf,
    /// The labels as a class PNG (0 other, 1 cell, 2 edge).
    #[arg(long)]
    out_labels: Option<PathBuf>,
    /// The whole cells as an instance image (0 background, else a cell's number; 16-bit PNG
    /// or TIFF), as `segment --out-labels` writes its own: the reference to score it against.
    #[arg(long)]
    out_cells: Option<PathBuf>,
}

#[derive(Args)]
struct ConvertArgs {
    /// Weights file to read.
    #[arg(long)]
    weights: PathBuf,
    /// The precision to store the parameters in.
    #[arg(long, value_enum, default_value_t = PrecisionArg::F16)]
    precision: PrecisionArg,
    /// Where to write the converted file.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args)]
struct TrainArgs {
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

#[derive(Args, Clone)]
struct PostArgs {
    /// Median filter radius over p(cell), in pixels (window (2r+1)²; 0 = none).
    #[arg(long, default_value_t = PostConfig::default().median_radius)]
    median: u32,
    /// A pixel is cell when p(cell) is above this.
    #[arg(long, default_value_t = PostConfig::default().threshold)]
    threshold: f32,
    /// Cells grow from their cores over touching pixels with p(cell) above this; at or above
    /// the threshold nothing grows.
    #[arg(long, default_value_t = PostConfig::default().grow_to)]
    grow_to: f32,
    /// Cells smaller than this many pixels are dropped.
    #[arg(long, default_value_t = PostConfig::default().min_area)]
    min_area: u32,
    /// Whole cells: each cell takes the rim pixels likelier cell or edge than background, up
    /// to this many pixels out (0: the posts' cores only).
    #[arg(long, default_value_t = PostConfig::default().rim)]
    rim: u32,
    /// Cells must stand out from the empty background at their own scale; where the image
    /// has too little empty background to measure that, differ from the ring around them by
    /// this many pixel noise deviations on average (in a field of faint cells, half the
    /// typical cell's contrast will do). 0: keep every cell.
    #[arg(long, default_value_t = PostConfig::default().min_contrast)]
    min_contrast: f32,
    /// Cells smaller than this share of the typical cell (the one holding the median cell
    /// pixel) are dropped as fragments or debris, unless they touch the edge of what is
    /// segmented, or the networks are sure of half their core and they are no smaller than a
    /// disc as wide as the typical cell (0: keep every cell).
    #[arg(long, default_value_t = PostConfig::default().min_share)]
    min_share: f32,
}

impl PostArgs {
    fn config(&self) -> PostConfig {
        PostConfig {
            median_radius: self.median,
            threshold: self.threshold,
            grow_to: self.grow_to,
            min_area: self.min_area,
            rim: self.rim,
            min_contrast: self.min_contrast,
            min_share: self.min_share,
            ..PostConfig::default()
        }
    }
}

/// The clean-up settings of `eval`: lists, so one run of the networks scores every
/// combination (the maps are the slow part; the clean-up is cheap).
#[derive(Args, Clone)]
struct PostGrid {
    /// Median filter radii over p(cell), comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [PostConfig::default().median_radius])]
    median: Vec<u32>,
    /// Thresholds on p(cell), comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [PostConfig::default().threshold])]
    threshold: Vec<f32>,
    /// Growth limits (see `segment --help`), comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [PostConfig::default().grow_to])]
    grow_to: Vec<f32>,
    /// Cells smaller than this many pixels are dropped.
    #[arg(long, default_value_t = PostConfig::default().min_area)]
    min_area: u32,
    /// Rims of whole cells (see `segment --help`); cores are scored without one.
    #[arg(long, default_value_t = PostConfig::default().rim)]
    rim: u32,
    /// Cells that do not stand out from the background, or this many pixel noise deviations,
    /// are dropped (see `segment --help`; 0: none).
    #[arg(long, default_value_t = PostConfig::default().min_contrast)]
    min_contrast: f32,
    /// Cells under this share of the typical cell are dropped (see `segment --help`).
    #[arg(long, default_value_t = PostConfig::default().min_share)]
    min_share: f32,
}

impl PostGrid {
    fn configs(&self) -> Vec<PostConfig> {
        let mut all = Vec::new();
        for &median_radius in &self.median {
            for &threshold in &self.threshold {
                for &grow_to in &self.grow_to {
                    all.push(PostConfig {
                        median_radius,
                        threshold,
                        grow_to,
                        min_area: self.min_area,
                        rim: self.rim,
                        min_contrast: self.min_contrast,
                        min_share: self.min_share,
                        ..PostConfig::default()
                    });
                }
            }
        }
        all
    }
}

#[derive(Args)]
struct SegmentArgs {
    /// Weights files, comma-separated; their probabilities are averaged.
    #[arg(long, value_delimiter = ',', required = true)]
    weights: Vec<PathBuf>,
    /// Image(s) to segment (TIFF, PNG or JPEG), or folders of them. Several images (or
    /// --out-dir) segment every page of each into --out-dir.
    #[arg(long, num_args = 1.., required = true)]
    image: Vec<PathBuf>,
    /// Segment every page of every image into this folder: a 16-bit label TIFF, the outlines
    /// as GeoJSON (NAME-cells.geojson) and as a Fiji ROI set (NAME-rois.zip) per page,
    /// cells.csv (the --out-cells columns,
    /// all images) and summary.csv (a row per page, failures with their reason). A file that
    /// fails does not stop the others; the exit status then is 1, listing them.
    #[arg(long)]
    out_dir: Option<PathBuf>,
    /// Only this region (default: the whole image).
    #[arg(long, value_parser = parse_rect)]
    region: Option<Rect>,
    /// Resample the image by this factor for the networks (cells twice as wide as the
    /// tutorial's want 0.5), or `auto`: measured from the image, then checked against the
    /// width of the cells found. Results stay in the image's pixels; the clean-up's sizes
    /// follow the factor.
    #[arg(long, default_value = "auto")]
    scale: ScaleChoice,
    #[command(flatten)]
    post: PostArgs,
    /// Write p(cell) after the median filter, 16-bit (0..65535), as .png or .tif.
    #[arg(long)]
    out_prob: Option<PathBuf>,
    /// Write the cell mask (255 = cell) as PNG.
    #[arg(long)]
    out_mask: Option<PathBuf>,
    /// Write the cells as a 16-bit label PNG (0 background, 1.. one id per cell).
    #[arg(long)]
    out_labels: Option<PathBuf>,
    /// Write a picture: the image in gray with the cells' outlines (yellow), as PNG.
    #[arg(long)]
    out_overlay: Option<PathBuf>,
    /// Write one row per cell as CSV: area, perimeter, length and width (Feret), orientation,
    /// aspect ratio, circularity, solidity, intensity in the file's units, centroid, box.
    #[arg(long)]
    out_cells: Option<PathBuf>,
    /// Write the cells' outlines with their measurements as GeoJSON (QuPath: File → Import
    /// objects).
    #[arg(long)]
    out_geojson: Option<PathBuf>,
    /// Write the cells as an ImageJ/Fiji ROI set (.zip): one traced polygon per cell, named
    /// cell-NNNN by id (Fiji: drag the zip onto it, or ROI Manager › More › Open).
    #[arg(long)]
    out_rois: Option<PathBuf>,
    /// Write the three class probabilities, p(cell), p(edge), p(other), as a float32 TIFF of
    /// three pages (unsmoothed, as the networks gave them).
    #[arg(long)]
    out_probs: Option<PathBuf>,
    /// Segment this channel of colour or multi-channel images (0 the first; e.g. the phase
    /// contrast of a stack with fluorescence). By default their luminance.
    #[arg(long)]
    channel: Option<u8>,
    /// The image's pixel size in µm: --out-cells then also gives µm and µm². By default the
    /// size a TIFF states in its ImageJ or OME metadata, if any.
    #[arg(long)]
    pixel_size: Option<f64>,
    /// Draw these labelled cells (an instance image, 0 background) in the overlay too (blue).
    #[arg(long)]
    compare: Option<PathBuf>,
    /// Compare the found cells' sizes with the cells of this instance image (any image's
    /// labels, e.g. the hand-labelled phase_027): two-sample Kolmogorov–Smirnov test, as post 2.
    #[arg(long)]
    sizes_vs: Option<PathBuf>,
    /// Enlarge the overlay this many times (pixel blocks), so one-pixel outlines show.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=8))]
    zoom: u32,
    /// Where the networks run.
    #[arg(long, value_enum, default_value_t = BackendArg::Cpu)]
    backend: BackendArg,
}

#[derive(Args)]
struct EvalArgs {
    /// Weights files, comma-separated; reported one by one and averaged.
    #[arg(long, value_delimiter = ',', required = true)]
    weights: Vec<PathBuf>,
    /// Image to score (TIFF, PNG or JPEG).
    #[arg(long)]
    image: PathBuf,
    /// Class image: 0 other, 1 cell, 2 edge.
    #[arg(long)]
    labels: PathBuf,
    /// Instance image (0 background, else a cell id); default: the cell class's components.
    #[arg(long)]
    instances: Option<PathBuf>,
    /// Region to score; default: the held-out right third.
    #[arg(long, value_parser = parse_rect)]
    region: Option<Rect>,
    #[command(flatten)]
    post: PostGrid,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Where the networks run.
    #[arg(long, value_enum, default_value_t = BackendArg::Cpu)]
    backend: BackendArg,
}

#[derive(Args)]
struct BenchArgs {
    /// Image to run on (default: phase_027 from $CELLSEG_DATA or ../shared/data/bsubtilis).
    #[arg(long)]
    image: Option<PathBuf>,
    /// Its labels, for the training figures.
    #[arg(long)]
    labels: Option<PathBuf>,
    /// Where the networks run.
    #[arg(long, value_enum, default_value_t = BackendArg::Cpu)]
    backend: BackendArg,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Timed runs per figure, after a warm-up; the median is reported.
    #[arg(long, default_value_t = 3)]
    repeats: usize,
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(a) => train(a),
        Command::Segment(a) => segment_cmd(a),
        Command::Eval(a) => eval(a),
        Command::Bench(a) => bench(a),
        Command::Convert(a) => convert(a),
        Command::Colony(a) => colony_cmd(a),
    };
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

type Result<T> = std::result::Result<T, String>;

fn parse_rect(s: &str) -> Result<Rect> {
    let v: Vec<usize> = s
        .split(',')
        .map(|p| {
            p.trim()
                .parse()
                .map_err(|_| format!("'{s}' is not X0,Y0,X1,Y1"))
        })
        .collect::<Result<_>>()?;
    match v[..] {
        [x0, y0, x1, y1] if x0 < x1 && y0 < y1 => Ok(Rect::new(x0, y0, x1, y1)),
        _ => Err(format!("'{s}' is not X0,Y0,X1,Y1 with X0 < X1 and Y0 < Y1")),
    }
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// `--backend`: the CPU or the GPU.
#[derive(Clone, Copy, ValueEnum)]
enum BackendArg {
    /// burn's flex backend, every core
    Cpu,
    /// burn's wgpu backend (Vulkan/Metal/DX12)
    Wgpu,
}

/// `--precision` of a converted weights file.
#[derive(Clone, Copy, ValueEnum)]
enum PrecisionArg {
    /// half the size; what the committed networks use
    F16,
    F32,
}

fn backend(kind: &BackendArg) -> Result<Backend> {
    match kind {
        BackendArg::Cpu => Ok(Backend::cpu()),
        BackendArg::Wgpu => pollster::block_on(Backend::gpu()),
    }
}

fn image(path: &Path) -> Result<Plane> {
    let (plane, _) = cellseg::io::decode::decode_normalised(&read(path)?)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(plane)
}

fn labels_for(path: &Path, plane: &Plane) -> Result<ClassMap> {
    let labels =
        ClassMap::from_class_image(&read(path)?).map_err(|e| format!("{}: {e}", path.display()))?;
    labels
        .check_size(plane.width, plane.height)
        .map_err(|e| e.to_string())?;
    Ok(labels)
}

/// The cell ids of an instance image inside `rect`, row-major.
fn instances_in(path: &Path, plane: &Plane, rect: Rect) -> Result<Vec<u32>> {
    let (w, h, ids) =
        instances_from_image(&read(path)?).map_err(|e| format!("{}: {e}", path.display()))?;
    if (w, h) != (plane.width, plane.height) {
        return Err(format!(
            "{}: the instances are {w}x{h} but the image is {}x{}",
            path.display(),
            plane.width,
            plane.height
        ));
    }
    Ok((rect.y0..rect.y1)
        .flat_map(|y| ids[y * w + rect.x0..y * w + rect.x1].to_vec())
        .collect())
}

fn bar(len: usize, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} ({elapsed}, {eta} left)")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    bar
}

/// A line above the progress bar, or on stderr when there is no bar (not a terminal).
fn say(progress: &ProgressBar, line: String) {
    if progress.is_hidden() {
        eprintln!("{line}");
    } else {
        progress.println(line);
    }
}

fn train(a: TrainArgs) -> Result<()> {
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
/// The networks of some weights files (either kind).
fn networks(paths: &[PathBuf], backend: &Backend) -> Result<Vec<Model>> {
    paths
        .iter()
        .map(|path| {
            weights::model_from_bytes(&read(path)?, &backend.device)
                .map_err(|e| format!("{}: {e}", path.display()))
        })
        .collect()
}

/// Dense probabilities of `rect` for each weights file, with a progress bar.
fn probability_maps(
    paths: &[PathBuf],
    plane: &Plane,
    rect: Rect,
    backend: &Backend,
) -> Result<Vec<ProbabilityMap>> {
    // as `segment` shows the networks the image at ×1: smoothed where noisier than they learned
    let (smoothed, blur) = cellseg::pipeline::networks_view(plane, 1.0);
    if let Some(blur) = blur {
        eprintln!("{}", cellseg::io::denoise::note(blur));
    }
    let seen = smoothed.as_ref().unwrap_or(plane);
    let mut maps = Vec::new();
    for net in networks(paths, backend)? {
        let progress = bar(0, "segmenting");
        let mut report = |done: usize, total: usize| {
            progress.set_length(total as u64);
            progress.set_position(done as u64);
        };
        let map = pollster::block_on(net.map(seen, rect, backend, MapPath::Dense, &mut report))?;
        progress.finish_and_clear();
        maps.push(map);
    }
    Ok(maps)
}

fn segment_cmd(a: SegmentArgs) -> Result<()> {
    let files = image_files(&a.image)?;
    check_pixel_size(a.pixel_size)?;
    if a.out_dir.is_some() || files.len() > 1 {
        return segment_many(&a, &files);
    }
    let path = &files[0];
    let backend = backend(&a.backend)?;
    let bytes = read(path)?;
    let options = batch::first_page(&bytes, channel_of(a.channel))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let decoded = cellseg::io::decode::decode_with(&bytes, options)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let micron = a
        .pixel_size
        .or_else(|| cellseg::io::pixel_size::of_file(&bytes));
    // the file's own values, for the cells' intensities
    let in_file_units = decoded.in_file_units();
    let mut plane = decoded.plane;
    let normalised = cellseg::io::normalise::normalise_keeping(&mut plane);
    if let Some(ratio) = normalised.light.map(|l| l.ratio) {
        eprintln!(
            "the light falls unevenly across the image (its brightest part lit {ratio:.1} \
             times its darkest): it is evened out before the intensity window is taken"
        );
    }
    if normalised.outside > 0.0 {
        eprintln!(
            "a field stop's dark outside (the camera's dark level and its noise, reaching the \
             image's edge) covers {:.0}% of the image and is left out: it sets no intensity \
             level and holds no cell",
            (100.0 * normalised.outside).max(1.0)
        );
    }
    if normalised.marks > 0.0 {
        eprintln!(
            "marks burnt into the image (a timestamp's box, a scale bar: flat upright \
             rectangles) cover {:.1}% of it and are left out: they set no intensity level and \
             hold no cell",
            100.0 * normalised.marks
        );
    }
    let frame = normalised.padding;
    if frame > 0.0 {
        eprintln!(
            "a flat frame over {:.0}% of the image (padding) is left out: it sets no \
             intensity level and holds no cell",
            (100.0 * frame).max(1.0)
        );
    }
    let rect = a
        .region
        .unwrap_or(Rect::new(0, 0, plane.width, plane.height));
    let networks = networks(&a.weights, &backend)?;
    let progress = bar(0, "segmenting");
    let mut report = |done: usize, total: usize| {
        progress.set_length(total as u64);
        progress.set_position(done as u64);
    };
    let config = a.post.config();
    let result = match a.scale {
        ScaleChoice::Auto => {
            let (result, search) = pollster::block_on(segment_auto(
                &networks,
                &plane,
                rect,
                &config,
                &backend,
                &mut report,
            ))?;
            say(&progress, search.how());
            if search.doubt().is_some() {
                say(
                    &progress,
                    "warning: the scale is doubtful (above): check the result".into(),
                );
            }
            result
        }
        ScaleChoice::Factor(factor) => pollster::block_on(segment_cells(
            &networks,
            &plane,
            rect,
            factor,
            &config,
            &backend,
            &mut report,
        ))?,
    };
    progress.finish_and_clear();
    if let Some(blur) = result.blur {
        eprintln!("{}", cellseg::io::denoise::note(blur));
    }
    if let Some(doubt) = &result.doubt {
        eprintln!("warning: {doubt}");
    }
    let factor = result.factor;
    let (map, found) = (result.map, result.cells);
    if let Some(path) = &a.out_prob {
        let format = format_of(path)?;
        let p = smoothed_cell_probability(&map, config.at_scale(factor).median_radius);
        write(path, export::probability(&p, map.width, map.height, format))?;
    }
    if let Some(path) = &a.out_probs {
        write(path, export::probabilities(&map))?;
    }
    if let Some(path) = &a.out_mask {
        write(path, export::mask(&found, format_of(path)?))?;
    }
    if let Some(path) = &a.out_overlay {
        let truth = match &a.compare {
            Some(path) => Some(instances_in(path, &plane, rect)?),
            None => None,
        };
        let picture = outline::overlay(&plane, rect, &found.labels, truth.as_deref());
        let (pw, ph) = picture.dimensions();
        let filter = image::imageops::FilterType::Nearest;
        image::imageops::resize(&picture, pw * a.zoom, ph * a.zoom, filter)
            .save(path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    if let Some(path) = &a.out_labels {
        write(path, export::labels(&found, format_of(path)?))?;
    }
    let rows = measure::measure(&found, rect, &in_file_units);
    if let Some(json) = &a.out_geojson {
        let text = cellseg::post::geojson::cells(&found, rect, &rows).to_string();
        std::fs::write(json, text).map_err(|e| format!("{}: {e}", json.display()))?;
    }
    if let Some(zip) = &a.out_rois {
        let bytes = cellseg::post::roi::zip(&found, rect)?;
        std::fs::write(zip, bytes).map_err(|e| format!("{}: {e}", zip.display()))?;
    }
    if let Some(table) = &a.out_cells {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let text = format!(
            "{}\n{}",
            measure::HEADER,
            measure::csv_rows(&name, 1, &rows, micron)
        );
        std::fs::write(table, text).map_err(|e| format!("{}: {e}", table.display()))?;
    }
    let mut areas = found.areas.clone();
    areas.sort_unstable();
    let median = areas.get(areas.len() / 2).copied().unwrap_or(0);
    println!("{} cells; median area {median} px", found.count());
    if let Some(path) = &a.sizes_vs
        && found.count() == 0
    {
        println!(
            "no cells found, so no sizes to compare with {}",
            path.display()
        );
    } else if let Some(path) = &a.sizes_vs {
        let (w, h, ids) =
            instances_from_image(&read(path)?).map_err(|e| format!("{}: {e}", path.display()))?;
        let labelled = Cells::from_labels(ids, w, h, config.min_area);
        let mut theirs = labelled.areas.clone();
        theirs.sort_unstable();
        let (d, p) = ks_test(&found.areas, &labelled.areas)?;
        println!(
            "sizes vs {} ({} cells, median {} px): KS D = {d:.3}, p = {p:.2e}",
            path.display(),
            labelled.count(),
            theirs.get(theirs.len() / 2).copied().unwrap_or(0)
        );
    }
    Ok(())
}

/// A pixel size must be a length.
fn check_pixel_size(micron: Option<f64>) -> Result<()> {
    match micron {
        Some(m) if !(m.is_finite() && m > 0.0) => Err(format!(
            "--pixel-size {m} is not a size in µm (a number above 0)"
        )),
        _ => Ok(()),
    }
}

/// The images named, with each folder replaced by the images in it (by name; label images
/// this command wrote are left out).
fn image_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let is_image = |p: &Path| {
        let name = p
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_lowercase();
        let ext = p
            .extension()
            .unwrap_or_default()
            .to_string_lossy()
            .to_lowercase();
        ["tif", "tiff", "png", "jpg", "jpeg"].contains(&ext.as_str())
            && !name.ends_with("-labels.tif")
    };
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut inside: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| format!("{}: {e}", path.display()))?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && is_image(p))
                .collect();
            if inside.is_empty() {
                return Err(format!(
                    "{}: no TIFF, PNG or JPEG images in it",
                    path.display()
                ));
            }
            inside.sort();
            out.extend(inside);
        } else {
            out.push(path.clone());
        }
    }
    Ok(out)
}

/// `segment` over many files: every page of each into `--out-dir` (see [`SegmentArgs`]).
fn segment_many(a: &SegmentArgs, files: &[PathBuf]) -> Result<()> {
    let dir = a
        .out_dir
        .as_ref()
        .ok_or("several images need --out-dir: their label images and tables go there")?;
    let single: [(&str, bool); 10] = [
        ("--out-prob", a.out_prob.is_some()),
        ("--out-probs", a.out_probs.is_some()),
        ("--out-rois", a.out_rois.is_some()),
        ("--out-mask", a.out_mask.is_some()),
        ("--out-labels", a.out_labels.is_some()),
        ("--out-overlay", a.out_overlay.is_some()),
        ("--out-cells", a.out_cells.is_some()),
        ("--out-geojson", a.out_geojson.is_some()),
        ("--compare", a.compare.is_some()),
        ("--region", a.region.is_some()),
    ];
    if let Some((flag, _)) = single.iter().find(|(_, given)| *given) {
        return Err(format!(
            "{flag} is for one image; with --out-dir each page gets a label image and rows in \
             cells.csv and summary.csv"
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let backend = backend(&a.backend)?;
    let networks = networks(&a.weights, &backend)?;
    let config = a.post.config();
    let progress = bar(files.len(), "images");
    let mut cells_csv = format!("{}\n", measure::HEADER);
    let mut summary = format!("{}\n", batch::SUMMARY_HEADER);
    let (mut failed, mut pages, mut cells) = (Vec::new(), 0, 0);
    let mut names = batch::Names::default();
    for (i, path) in files.iter().enumerate() {
        progress.set_position(i as u64);
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        let result = read(path).and_then(|bytes| {
            pollster::block_on(batch::segment_file(
                &bytes,
                &name,
                channel_of(a.channel),
                &networks,
                a.scale,
                &config,
                a.pixel_size,
                &backend,
                |_, _| std::future::ready(true),
            ))
        });
        let segmented = match result {
            Ok(segmented) => segmented,
            Err(e) => {
                say(&progress, format!("{}: {e}", path.display()));
                summary.push_str(&batch::failed_summary(&name, None, &e));
                failed.push(name);
                continue;
            }
        };
        // outputs named by the file's stem, made unique where files share one
        let stem = path
            .file_name()
            .map(|n| batch::stem(&n.to_string_lossy()).to_string())
            .unwrap_or_default();
        let many = segmented.len() > 1;
        let page_names = names.claim(&stem, segmented.len());
        let mut failed_pages = Vec::new();
        for page in &segmented {
            let page = match page {
                Ok(page) => page,
                Err((number, e)) => {
                    say(&progress, format!("{}, page {number}: {e}", path.display()));
                    summary.push_str(&batch::failed_summary(&name, Some(*number), e));
                    failed_pages.push(number.to_string());
                    continue;
                }
            };
            for (file, bytes) in batch::page_files(page, &page_names[page.page - 1])? {
                let path = dir.join(file);
                std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
            }
            cells_csv.push_str(&page.rows);
            summary.push_str(&page.summary(&name));
            let which = if many {
                format!(", page {}", page.page)
            } else {
                String::new()
            };
            say(
                &progress,
                format!("{name}{which}: {} cells ({})", page.cells.count(), page.how),
            );
            cells += page.cells.count();
            pages += 1;
        }
        if !failed_pages.is_empty() {
            failed.push(format!("{name} (page {})", failed_pages.join(", ")));
        }
    }
    progress.finish_and_clear();
    for (file, text) in [("cells.csv", &cells_csv), ("summary.csv", &summary)] {
        let path = dir.join(file);
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    println!(
        "{} of {} images segmented in full ({pages} pages, {cells} cells): {}",
        files.len() - failed.len(),
        files.len(),
        dir.display()
    );
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("{} failed: {}", failed.len(), failed.join(", ")))
    }
}

/// PNG or TIFF, from the file name.
fn format_of(path: &Path) -> Result<image::ImageFormat> {
    match image::ImageFormat::from_path(path) {
        Ok(f @ (image::ImageFormat::Png | image::ImageFormat::Tiff)) => Ok(f),
        _ => Err(format!("{}: write .png, .tif or .tiff", path.display())),
    }
}

/// The channel asked for, or the luminance.
fn channel_of(channel: Option<u8>) -> cellseg::io::decode::Channel {
    channel.map_or(
        cellseg::io::decode::Channel::Luminance,
        cellseg::io::decode::Channel::Index,
    )
}

fn write(path: &Path, bytes: std::result::Result<Vec<u8>, export::ExportError>) -> Result<()> {
    let bytes = bytes.map_err(|e| format!("{}: {e}", path.display()))?;
    std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
}

fn save<P: image::PixelWithColorType>(
    buffer: Option<ImageBuffer<P, Vec<P::Subpixel>>>,
    path: &Path,
) -> Result<()>
where
    [P::Subpixel]: image::EncodableLayout,
{
    buffer
        .expect("buffer matches its size")
        .save(path)
        .map_err(|e| format!("{}: {e}", path.display()))
}

fn eval(a: EvalArgs) -> Result<()> {
    let backend = backend(&a.backend)?;
    let plane = image(&a.image)?;
    let labels = labels_for(&a.labels, &plane)?;
    let rect = a
        .region
        .unwrap_or(heldout_split(plane.width, plane.height).1)
        .clamp(plane.width, plane.height);
    let truth = labels.crop(rect);
    let truth_cells = match &a.instances {
        Some(path) => Cells::from_labels(
            instances_in(path, &plane, rect)?,
            rect.width(),
            rect.height(),
            1,
        ),
        None => truth.cells(),
    };
    let maps = probability_maps(&a.weights, &plane, rect, &backend)?;
    let mut named: Vec<(String, ProbabilityMap)> = a
        .weights
        .iter()
        .map(|p| p.display().to_string())
        .zip(maps.iter().cloned())
        .collect();
    if maps.len() > 1 {
        named.push((format!("average of {}", maps.len()), average(&maps)?));
    }
    // The median filter is the slow part of the clean-up: once per map and radius.
    let smoothed: Vec<Vec<(u32, Vec<f32>)>> = named
        .iter()
        .map(|(_, map)| {
            let radii = a.post.median.iter();
            radii
                .map(|&r| (r, smoothed_cell_probability(map, r)))
                .collect()
        })
        .collect();
    let mut rows: Vec<(&str, Kind, PostConfig, Report)> = Vec::new();
    for config in a.post.configs() {
        for kind in [Kind::Core, Kind::Whole] {
            // cores are the posts' cells, without a rim
            let config = match kind {
                Kind::Core => PostConfig { rim: 0, ..config },
                Kind::Whole => config,
            };
            for ((name, map), by_radius) in named.iter().zip(&smoothed) {
                let (_, p) = by_radius
                    .iter()
                    .find(|(r, _)| *r == config.median_radius)
                    .expect("every radius was smoothed");
                let found = borne_out(cells_from_smoothed(p, map, &config), &plane, rect, &config);
                let report = evaluate_kind(kind, map, &found, &truth, &truth_cells);
                rows.push((name.as_str(), kind, config, report));
            }
        }
    }
    if a.json {
        let json: Vec<_> = rows
            .iter()
            .map(|(name, kind, c, r)| {
                serde_json::json!({
                    "weights": name,
                    "cells": kind,
                    "region": [rect.x0, rect.y0, rect.x1, rect.y1],
                    "post": { "median": c.median_radius, "threshold": c.threshold,
                              "grow_to": c.grow_to, "min_area": c.min_area, "rim": c.rim,
                              "min_contrast": c.min_contrast, "min_share": c.min_share },
                    "report": r,
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json).expect("serialisable")
        );
        return Ok(());
    }
    println!(
        "region x {}..{}, y {}..{}; min area {}",
        rect.x0, rect.x1, rect.y0, rect.y1, a.post.min_area
    );
    println!(
        "{:<36} {:<5} {:>3} {:>5} {:>5} {:>3} {:>6} {:>8} {:>8} {:>7} {:>7} {:>7} {:>7}   \
         unmatched: missed/merged/split/misshaped/spurious",
        "weights",
        "cells",
        "med",
        "thr",
        "grow",
        "rim",
        "acc",
        "cellIoU",
        "cells",
        "F1@.5",
        "AP@.5",
        "AP@.75",
        "AP@.9",
    );
    for (name, kind, c, r) in &rows {
        println!(
            "{:<36} {:<5} {:>3} {:>5.2} {:>5.2} {:>3} {:>6.3} {:>8.3} {:>4}/{:<3} {:>7.3} {:>7.3} {:>7.3} {:>7.3}   {}/{}/{}/{}/{}",
            name,
            match kind {
                Kind::Core => "core",
                Kind::Whole => "whole",
            },
            c.median_radius,
            c.threshold,
            c.grow_to,
            c.rim,
            r.pixel_accuracy,
            r.class_iou[1],
            r.cells_predicted,
            r.cells_true,
            r.objects[0].f1,
            r.objects[0].ap,
            r.objects[1].ap,
            r.objects[2].ap,
            r.unmatched.missed,
            r.unmatched.merged,
            r.unmatched.split,
            r.unmatched.misshaped,
            r.unmatched.spurious
        );
    }
    Ok(())
}

fn colony_cmd(a: ColonyArgs) -> Result<()> {
    let look = cellseg::teach::colony::Look {
        size: a.size,
        fill: a.fill,
        contrast: a.contrast,
        noise: a.noise,
        debris: a.debris,
        speck_size: a.speck_size,
        length: a.length,
        ..cellseg::teach::colony::Look::default()
    };
    look.check(a.width, a.height)?;
    let (plane, labels) = cellseg::teach::colony::colony_with(a.width, a.height, a.seed, &look);
    let (w, h) = (a.width as u32, a.height as u32);
    // intensities 0..1 quantise to 16 bits exactly as probabilities do
    let format = format_of(&a.out_image)?;
    write(
        &a.out_image,
        export::probability(&plane.data, a.width, a.height, format),
    )?;
    if let Some(path) = &a.out_cells {
        // each core with the edge pixels nearest it: the whole-cell reference `eval` scores
        write(
            path,
            export::labels(&labels.whole_cells(), format_of(path)?),
        )?;
    }
    if let Some(path) = &a.out_labels {
        save(
            ImageBuffer::<Luma<u8>, Vec<u8>>::from_raw(w, h, labels.classes),
            path,
        )?;
    }
    Ok(())
}

fn convert(a: ConvertArgs) -> Result<()> {
    let (precision, name) = match a.precision {
        PrecisionArg::F16 => (Precision::F16, "f16"),
        PrecisionArg::F32 => (Precision::F32, "f32"),
    };
    let bytes = read(&a.weights)?;
    let net = weights::model_from_bytes(&bytes, &Backend::cpu().device)
        .map_err(|e| format!("{}: {e}", a.weights.display()))?;
    let out = weights::model_to_bytes(&net, precision).map_err(|e| e.to_string())?;
    std::fs::write(&a.out, &out).map_err(|e| format!("{}: {e}", a.out.display()))?;
    eprintln!(
        "wrote {} ({}, {} -> {} bytes)",
        a.out.display(),
        name,
        bytes.len(),
        out.len()
    );
    Ok(())
}

fn bench(a: BenchArgs) -> Result<()> {
    // Where the tests find the data too: $CELLSEG_DATA, else beside the checkout.
    let data = PathBuf::from(
        std::env::var("CELLSEG_DATA").unwrap_or_else(|_| "../shared/data/bsubtilis".into()),
    );
    let image_path = a
        .image
        .unwrap_or_else(|| data.join("upstream/Images/phase_027.tif"));
    let labels_path = a
        .labels
        .unwrap_or_else(|| data.join("phase_027_classes.png"));
    let backend = backend(&a.backend)?;
    let plane = image(&image_path)?;
    let labels = labels_for(&labels_path, &plane)?;
    let plan = Plan {
        repeats: a.repeats,
        ..Plan::full()
    }
    .within_limits();
    if !a.json {
        println!("backend: {} ({})", backend.name(), backend.adapter);
    }
    let started = Instant::now();
    let clock = || started.elapsed().as_secs_f64() * 1000.0;
    let figures = pollster::block_on(bench::run(
        &backend,
        &plane,
        &labels,
        &plan,
        &clock,
        &mut |f| {
            if !a.json {
                println!("{}", f.text);
            }
        },
    ))?;
    if a.json {
        let mut results = serde_json::Map::new();
        for f in figures {
            results.insert(f.key, f.value.into());
        }
        results.insert("backend".into(), backend.name().into());
        results.insert("adapter".into(), backend.adapter.clone().into());
        results.insert("repeats".into(), plan.repeats.into());
        println!("{}", serde_json::Value::Object(results));
    }
    Ok(())
}
