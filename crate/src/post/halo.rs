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
    let background = background(cells, plane, None)?;
    let level = crate::io::normalise::percentile(&background, 0.5) as f64;
    let outside: Vec<bool> = cells.labels.iter().map(|&l| l == 0).collect();
    let ring = grow_within(cells.labels.clone(), &outside, w, h, RING);
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

/// How far darker than the background a cell's body must be, on average, to be plain where
/// too few cells were found for this check or the others to speak: in spreads of the
/// background's own pixels (their median absolute deviation, as a standard deviation). A
/// lone round cell in HoldenLab's 85 × 85 px crop lies 19 of them below; the one or two
/// "cells" found in crops of the empty mottled fields, 0–1.2.
pub const PLAIN: f64 = 6.0;

/// Whether every one of `cells` is darker than the background (pixels over [`FAR`] from any
/// cell, less those `flat` marks: padding, marks, a field stop's outside, set to one level)
/// by [`PLAIN`] of the background's spreads, on average over its pixels, in `plane` (the
/// cells' pixels, same size); none where that cannot be told: no cell, too little
/// background, or a background without spread (flat, or quantised to one level).
pub fn plain(cells: &Cells, plane: &[f32], flat: Option<&[bool]>) -> Option<bool> {
    let n = cells.count();
    if n == 0 || plane.len() != cells.labels.len() {
        return None;
    }
    let background = background(cells, plane, flat)?;
    let level = crate::io::normalise::percentile(&background, 0.5);
    let deviations: Vec<f32> = background.iter().map(|v| (v - level).abs()).collect();
    let spread = 1.4826 * crate::io::normalise::percentile(&deviations, 0.5) as f64;
    if spread <= 0.0 {
        return None;
    }
    let mut sums = vec![(0.0f64, 0u32); n];
    for (&label, &v) in cells.labels.iter().zip(plane) {
        if label != 0 && v.is_finite() {
            let s = &mut sums[label as usize - 1];
            s.0 += v as f64;
            s.1 += 1;
        }
    }
    Some(
        sums.iter()
            .all(|&(sum, count)| count > 0 && level as f64 - sum / count as f64 >= PLAIN * spread),
    )
}

/// Whether `plane` (the cells' pixels, same size) holds enough background beyond [`FAR`] from
/// every one of `cells`, less what `flat` marks, for the checks to compare them with
/// ([`MIN_BACKGROUND`] pixels).
pub fn has_background(cells: &Cells, plane: &[f32], flat: Option<&[bool]>) -> bool {
    background(cells, plane, flat).is_some()
}

/// The background the checks compare with: the values of `plane` (the cells' pixels, same
/// size) over [`FAR`] from every cell, less those `flat` marks; none where they are fewer
/// than [`MIN_BACKGROUND`].
fn background(cells: &Cells, plane: &[f32], flat: Option<&[bool]>) -> Option<Vec<f32>> {
    let (w, h) = (cells.width, cells.height);
    let outside: Vec<bool> = cells.labels.iter().map(|&l| l == 0).collect();
    let reach = grow_within(cells.labels.clone(), &outside, w, h, FAR);
    let is_flat = |i: usize| flat.is_some_and(|f| f.get(i).copied().unwrap_or(false));
    let pixels: Vec<f32> = (0..w * h)
        .filter(|&i| reach[i] == 0 && !is_flat(i))
        .map(|i| plane[i])
        .filter(|v| v.is_finite())
        .collect();
    (pixels.len() >= MIN_BACKGROUND).then_some(pixels)
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
    fn a_dark_body_is_plain_and_a_faint_one_is_not() {
        // cells 1 and 2 (depths given) of the field, on a background of 0.5 with uniform
        // noise of ±0.05 (a spread of about 0.04 with the other cells' halos), with or without
        // their own halos
        let noisy = |depths: [f32; 2], halo: bool| {
            let (cells, plane) = field(halo);
            let kept: Vec<u32> = cells
                .labels
                .iter()
                .map(|&l| if l <= 2 { l } else { 0 })
                .collect();
            let cells = Cells::from_labels(kept, cells.width, cells.height, 1);
            let mut state = 1u64;
            let plane: Vec<f32> = plane
                .iter()
                .zip(&cells.labels)
                .map(|(&v, &l)| {
                    state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
                    let jitter = ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.1;
                    let level = match l {
                        0 => v.max(0.5),
                        l => 0.5 - depths[l as usize - 1],
                    };
                    level + jitter
                })
                .collect();
            (cells, plane)
        };
        for halo in [true, false] {
            let (cells, plane) = noisy([0.4, 0.4], halo);
            assert_eq!(cells.count(), 2);
            assert_eq!(plain(&cells, &plane, None), Some(true), "{halo}");
        }
        // one of the two only as deep as the background's own variation, or brighter
        for depths in [[0.4, 0.05], [0.05, 0.4], [0.4, -0.3]] {
            let (cells, plane) = noisy(depths, true);
            assert_eq!(plain(&cells, &plane, None), Some(false), "{depths:?}");
        }
        // the background left out as flat, or none at all, or no cell: nothing to tell
        let (cells, plane) = noisy([0.4, 0.4], true);
        let all = vec![true; plane.len()];
        assert_eq!(plain(&cells, &plane, Some(&all)), None);
        let bands = (0..30 * 30).map(|i| (i / (30 * 6)) as u32 + 1).collect();
        let packed = Cells::from_labels(bands, 30, 30, 1);
        assert_eq!(plain(&packed, &[0.5; 900], None), None);
        let none = Cells::from_labels(vec![0; 900], 30, 30, 1);
        assert_eq!(plain(&none, &[0.5; 900], None), None);
        // a flat background (quantised to one level) has no spread to measure by
        let (cells, _) = noisy([0.4, 0.4], false);
        let flat: Vec<f32> = cells
            .labels
            .iter()
            .map(|&l| if l == 0 { 0.5 } else { 0.1 })
            .collect();
        assert_eq!(plain(&cells, &flat, None), None);
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
