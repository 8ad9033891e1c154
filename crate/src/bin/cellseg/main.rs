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

use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

use cellseg::core::plane::{Plane, Rect};
use cellseg::io::export;
use cellseg::io::labels::{ClassMap, instances_from_image};
use cellseg::model::Model;
use cellseg::model::backend::Backend;
use cellseg::model::weights;

mod bench;
mod colony;
mod convert;
mod eval;
mod segment;
mod train;

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
    Train(train::TrainArgs),
    /// Segment an image densely with one or more networks (averaged) and clean up.
    Segment(segment::SegmentArgs),
    /// Measure segmentation quality against labels on a region.
    Eval(eval::EvalArgs),
    /// Measure speed: dense and naive px/s, training steps.
    Bench(bench::BenchArgs),
    /// Store a weights file's parameters in another precision (f16 halves the size).
    Convert(convert::ConvertArgs),
    /// Draw a synthetic phase-contrast colony and its exact labels.
    Colony(colony::ColonyArgs),
}

/// `--backend`: the CPU or the GPU.
#[derive(Clone, Copy, ValueEnum)]
enum BackendArg {
    /// burn's flex backend, every core
    Cpu,
    /// burn's wgpu backend (Vulkan/Metal/DX12)
    Wgpu,
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(a) => train::run(a),
        Command::Segment(a) => segment::run(a),
        Command::Eval(a) => eval::run(a),
        Command::Bench(a) => bench::run(a),
        Command::Convert(a) => convert::run(a),
        Command::Colony(a) => colony::run(a),
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

/// PNG or TIFF, from the file name.
fn format_of(path: &Path) -> Result<image::ImageFormat> {
    match image::ImageFormat::from_path(path) {
        Ok(f @ (image::ImageFormat::Png | image::ImageFormat::Tiff)) => Ok(f),
        _ => Err(format!("{}: write .png, .tif or .tiff", path.display())),
    }
}

fn write(path: &Path, bytes: std::result::Result<Vec<u8>, export::ExportError>) -> Result<()> {
    let bytes = bytes.map_err(|e| format!("{}: {e}", path.display()))?;
    std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
}
