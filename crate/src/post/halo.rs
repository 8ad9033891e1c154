//! The halo check: phase contrast rims every cell with a bright halo, and the networks learnt
//! cells with one. Where the cells found mostly lack it, the image is likely not phase
//! contrast as the networks know it (an inverted image, bright-field), and what they found
//! there is doubtful however many cells it counts: the result says so rather than pass.
//!
//! Measured (the U-Net at the automatic scale): the share of cells whose ring (up to 3 px
//! out) is brighter than the background (pixels over 12 px from any cell) is 0.97–1.00 on
//! phase_027 resampled, van Vliet's and Omnipose's phase-contrast images and synthetic
//! colonies; on phase_027's negative, where 1,390 "cells" were found, 0.54.

use crate::core::cells::{Cells, grow_within};

/// How far out a cell's ring reaches, in pixels.
pub const RING: u32 = 3;
/// Pixels further than this from every cell are the background the rings are compared with.
pub const FAR: u32 = 12;
/// Below this share of haloed cells the result is doubtful.
pub const SHARE: f64 = 0.8;
/// The check needs at least this many cells...
pub const MIN_CELLS: usize = 5;
/// ...and this many background pixels to say anything.
pub const MIN_BACKGROUND: usize = 1000;

/// The share of `cells` whose ring is brighter than the background's median, in `plane`
/// (the cells' pixels, same size); none where there are too few cells or too little
/// background to tell.
pub fn share(cells: &Cells, plane: &[f32]) -> Option<f64> {
    let (w, h) = (cells.width, cells.height);
    let n = cells.count();
    if n < MIN_CELLS || plane.len() != w * h {
        return None;
    }
    let outside: Vec<bool> = cells.labels.iter().map(|&l| l == 0).collect();
    let ring = grow_within(cells.labels.clone(), &outside, w, h, RING);
    let reach = grow_within(cells.labels.clone(), &outside, w, h, FAR);
    let background: Vec<f32> = (0..w * h)
        .filter(|&i| reach[i] == 0)
        .map(|i| plane[i])
        .collect();
    if background.len() < MIN_BACKGROUND {
        return None;
    }
    let level = crate::io::normalise::percentile(&background, 0.5) as f64;
    let mut sums = vec![(0.0f64, 0u32); n];
    for i in 0..w * h {
        if cells.labels[i] == 0 && ring[i] != 0 {
            let s = &mut sums[ring[i] as usize - 1];
            s.0 += plane[i] as f64;
            s.1 += 1;
        }
    }
    let haloed = sums
        .iter()
        .filter(|&&(sum, count)| count > 0 && sum / count as f64 > level)
        .count();
    Some(haloed as f64 / n as f64)
}

/// Why the cells found are doubtful, where most lack a halo.
pub fn doubt(cells: &Cells, plane: &[f32]) -> Option<String> {
    let share = share(cells, plane)?;
    (share < SHARE).then(|| {
        format!(
            "only {:.0}% of the cells found have the bright halo phase contrast gives cells \
             ({:.0}% or more expected): the image may not be phase contrast as the networks \
             know it (inverted, bright-field, or a fluorescence channel: pick the \
             phase-contrast channel of a multi-channel file); check the result",
            100.0 * share,
            100.0 * SHARE
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Dark square "cells" 6 px wide on a background of 0.5, rimmed (or not) by a bright halo.
    fn field(halo: bool) -> (Cells, Vec<f32>) {
        let (w, h) = (120, 120);
        let mut labels = vec![0u32; w * h];
        let mut plane = vec![0.5f32; w * h];
        let mut id = 0;
        for cy in (10..60).step_by(12) {
            for cx in (10..60).step_by(12) {
                id += 1;
                for y in cy - 3..cy + 3 {
                    for x in cx - 3..cx + 3 {
                        labels[y * w + x] = id;
                        plane[y * w + x] = 0.2;
                    }
                }
                if halo {
                    for y in cy - 5..cy + 5 {
                        for x in cx - 5..cx + 5 {
                            if labels[y * w + x] == 0 {
                                plane[y * w + x] = 0.8;
                            }
                        }
                    }
                }
            }
        }
        (Cells::from_labels(labels, w, h, 1), plane)
    }

    #[test]
    fn cells_with_halos_pass_and_cells_without_are_doubted() {
        let (cells, plane) = field(true);
        assert_eq!(share(&cells, &plane), Some(1.0));
        assert_eq!(doubt(&cells, &plane), None);
        let (cells, plane) = field(false);
        assert_eq!(share(&cells, &plane), Some(0.0));
        assert!(doubt(&cells, &plane).unwrap().contains("bright halo"));
    }

    #[test]
    fn too_few_cells_or_no_background_say_nothing() {
        let (cells, plane) = field(false);
        let few = Cells::from_labels(
            cells
                .labels
                .iter()
                .map(|&l| if l <= 4 { l } else { 0 })
                .collect(),
            cells.width,
            cells.height,
            1,
        );
        assert_eq!(share(&few, &plane), None);
        // a crop full of cells: no pixel far from them all
        let bands = (0..30 * 30).map(|i| (i / (30 * 6)) as u32 + 1).collect();
        let packed = Cells::from_labels(bands, 30, 30, 1);
        assert_eq!(packed.count(), 5);
        assert_eq!(share(&packed, &[0.5; 900]), None);
    }
}
