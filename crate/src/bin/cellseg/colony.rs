//! `cellseg colony`: a synthetic phase-contrast colony and its exact labels, of other
//! sizes, contrasts and densities than the tutorial's.

use std::path::{Path, PathBuf};

use clap::Args;
use image::{ImageBuffer, Luma};

use cellseg::io::export;

use crate::{Result, format_of, write};

#[derive(Args)]
pub(crate) struct ColonyArgs {
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

pub(crate) fn run(a: ColonyArgs) -> Result<()> {
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
