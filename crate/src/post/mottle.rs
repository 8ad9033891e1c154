//! The mottling check: cells make an image lopsided, a random mottling does not.
//!
//! An empty field mottled at a cell's size (an uneven pad, a dirty lens, noise smoothed by
//! the optics) is as dark in its dark blobs as it is bright in its bright ones. The networks
//! take its dark blobs for cells, and where they cover the field there is no background left
//! for the halo and texture checks ([`super::halo`], [`super::faint::doubt`]) to measure: of
//! 64 synthetic empty fields mottled 1.5–6 px across at 2–8 times their pixel noise, the
//! default found cells in 49, 5 or more in 46, and in one of those (2,440 "cells", half the
//! field) no check said a word; nor in the quality suite's field mottled 3 px across at 8
//! times its noise (1,101 "cells"), whose "cells" have halos and which the networks are as
//! sure of as of real round cells. (Measured before the networks' view stopped being clamped
//! at scales other than ×1, [`crate::scale::resample`]; since, 50 give cells, 47 five or more,
//! and the other checks doubt every one of these 64, but the quality suite's.)
//!
//! Cells break that symmetry, whatever the optics: dark bodies and bright halos are not each
//! other's mirror image (a cell is wide and dark, its halo thin and bright; a sparse field's
//! cells are dark blots on a flat background, a colony's gaps bright lines between them).
//! So the check takes the image's response at the cells' size (the scale estimate's Laplacian
//! of Gaussian, [`crate::scale::width::response_at`], at the σ that answers to the typical
//! cell found) and compares its two tails, how far the darkest and the brightest 0.1% to 25%
//! of it reach beyond the median. Measured, the log of that ratio, at its largest over the
//! tails:
//! - the 46 mottled fields with 5 "cells" or more: 0.01–0.03 (47 since the mend above, the
//!   same);
//! - 58 real and synthetic images with 5 cells or more (phase_027, 020 and 033, copies of 027
//!   resampled ×0.33–×2.5, fainter and noisier; six of Omnipose's images; four pages of van
//!   Vliet's time-lapse; synthetic colonies, noisy and faint ones included, cocci, sparse
//!   fields with debris, flat rods without halos): 0.13–1.54 (0.13–1.44 since). Under 0.25
//!   only on two of van Vliet's pages, where 9 and 15 cells cover 2% of the field; of the 50
//!   where the cells cover 5% of it or more, real images read 0.42 or more (0.44 since).
//!
//! So where the cells found cover at least [`MIN_COVER`] of the field, a response whose tails
//! match within [`LOPSIDED`] says the "cells" are likely the background's mottling. As with
//! the other checks, it is a doubt, not a filter: the cells stay. The image's padding or a
//! field stop's dark outside is measured as picture: flat, it adds to the response's middle
//! and its edge to one tail, so it can only quiet the check, never raise it.

use crate::core::cells::Cells;
use crate::core::plane::Plane;
use crate::scale::width::{TUTORIAL_SIGMA, response_at};
use crate::scale::{TUTORIAL_CELL_WIDTH, typical_width};

/// The tails compared: how far each of these shares of the response reaches beyond the median
/// on the dark side and on the bright side.
pub const TAILS: [f64; 6] = [0.001, 0.003, 0.01, 0.03, 0.1, 0.25];
/// Below this (the log of the larger tail over the smaller, at the tail where they differ
/// most) the image is as dark as it is bright.
pub const LOPSIDED: f64 = 0.08;
/// The check needs the cells found to cover this share of the field: sparse cells hardly move
/// the response's tails.
pub const MIN_COVER: f64 = 0.05;

/// How lopsided `response` is: the largest log ratio of its dark and bright [`TAILS`] (near 0
/// for a mirror-symmetric one; infinite where a tail does not reach beyond the median at all);
/// none where it is too small to have tails.
pub fn lopsidedness(response: &[f32]) -> Option<f64> {
    let mut sorted: Vec<f32> = response.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.len() < 1000 {
        return None;
    }
    sorted.sort_unstable_by(f32::total_cmp);
    let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize] as f64;
    let median = at(0.5);
    TAILS
        .iter()
        .map(|&q| {
            let (low, high) = (median - at(q), at(1.0 - q) - median);
            if low > 0.0 && high > 0.0 {
                (high / low).ln().abs()
            } else {
                // a tail that does not leave the median: nothing mottled about it
                f64::INFINITY
            }
        })
        .reduce(f64::max)
}

/// The σ (pixels of the image) at which the typical cell of `cells` answers, as the
/// tutorial's cells do at [`TUTORIAL_SIGMA`].
fn sigma_of(cells: &Cells) -> Option<f64> {
    typical_width(cells).map(|width| TUTORIAL_SIGMA * width / TUTORIAL_CELL_WIDTH)
}

/// The σ of the typical cell of `cells` and how lopsided `pixels` (the field they were found
/// in, of the same size) is at it; none where they are fewer than [`super::halo::MIN_CELLS`] or
/// cover less than [`MIN_COVER`] of the field.
pub fn lopsided_at_cells(cells: &Cells, pixels: &Plane) -> Option<(f64, f64)> {
    let area: u64 = cells.areas.iter().map(|&a| a as u64).sum();
    let cover = area as f64 / cells.labels.len().max(1) as f64;
    if cells.count() < super::halo::MIN_CELLS || cover < MIN_COVER {
        return None;
    }
    let sigma = sigma_of(cells)?;
    Some((sigma, lopsidedness(&response_at(pixels, sigma))?))
}

/// Why the cells found are doubtful, where they cover at least [`MIN_COVER`] of `pixels` (the
/// field they were found in, of the same size) and its response at their size is as dark as it
/// is bright; none where there are fewer than [`super::halo::MIN_CELLS`] cells.
pub fn doubt(cells: &Cells, pixels: &Plane) -> Option<String> {
    let (sigma, lopsided) = lopsided_at_cells(cells, pixels)?;
    (lopsided < LOPSIDED).then(|| {
        format!(
            "the image is as dark as it is bright at the size of the cells found (σ {sigma:.1} \
             px), as a random mottling is, where cells (dark bodies, bright halos) would make \
             it lopsided: the {} \"cells\" may be the background's mottling, not cells; check \
             the result",
            cells.count()
        )
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A `w` × `h` field mottled `size` px across: white noise blurred, spread about 0.05
    /// around 0.5.
    pub(crate) fn mottled(w: usize, h: usize, size: f32, seed: u64) -> Plane {
        let mut state = seed;
        let white: Vec<f32> = (0..w * h)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((state >> 40) as f32 / (1u64 << 24) as f32) - 0.5
            })
            .collect();
        let image =
            image::ImageBuffer::<image::Luma<f32>, _>::from_raw(w as u32, h as u32, white).unwrap();
        let blurred = imageproc::filter::gaussian_blur_f32(&image, size).into_raw();
        let spread = (blurred.iter().map(|v| v * v).sum::<f32>() / (w * h) as f32).sqrt();
        Plane::new(
            w,
            h,
            blurred.iter().map(|v| 0.5 + 0.05 * v / spread).collect(),
        )
    }

    /// `cells` of `plane` from its blobs darker than `below`, each labelled apart.
    pub(crate) fn blobs_below(plane: &Plane, below: f32) -> Cells {
        let mask: Vec<bool> = plane.data.iter().map(|&v| v < below).collect();
        Cells::from_mask(&mask, plane.width, plane.height, 4)
    }

    /// Dark 8 × 24 rods with 2 px bright halos, `contrast` below and above the field's 0.5,
    /// on `plane`, every 40 px.
    fn with_rods(plane: &Plane, contrast: f32) -> (Plane, Cells) {
        let (w, h) = (plane.width, plane.height);
        let xs = (20..w - 20).step_by(40).map(|cx| cx - 6);
        let ys = (20..h - 20).step_by(40).map(|cy| cy - 14);
        rods_at(plane, contrast, xs, ys)
    }

    /// Dark 8 × 24 rods with 2 px bright halos (12 × 28 px in all), `contrast` below and
    /// above the field's 0.5, on `plane`, their halos' top left corners at every `ys` × `xs`
    /// (row by row).
    pub(crate) fn rods_at(
        plane: &Plane,
        contrast: f32,
        xs: impl Iterator<Item = usize> + Clone,
        ys: impl Iterator<Item = usize>,
    ) -> (Plane, Cells) {
        let (w, h) = (plane.width, plane.height);
        let mut out = plane.clone();
        let mut labels = vec![0u32; w * h];
        let mut id = 0;
        for y0 in ys {
            for x0 in xs.clone() {
                id += 1;
                for y in y0..y0 + 28 {
                    for x in x0..x0 + 12 {
                        let body = (2..26).contains(&(y - y0)) && (2..10).contains(&(x - x0));
                        out.data[y * w + x] = if body { 0.5 - contrast } else { 0.5 + contrast };
                        if body {
                            labels[y * w + x] = id;
                        }
                    }
                }
            }
        }
        (out, Cells::from_labels(labels, w, h, 1))
    }

    #[test]
    fn a_mottled_field_is_symmetric_and_its_blobs_are_doubted() {
        let field = mottled(400, 300, 3.0, 7);
        let cells = blobs_below(&field, 0.47);
        assert!(cells.count() >= 5);
        let sigma = sigma_of(&cells).unwrap();
        let lopsided = lopsidedness(&response_at(&field, sigma)).unwrap();
        assert!(lopsided < LOPSIDED, "{lopsided}");
        assert!(doubt(&cells, &field).unwrap().contains("mottling"));
    }

    #[test]
    fn cells_on_a_mottled_field_make_it_lopsided() {
        // rods standing out from the mottling by twice its spread, and by twelve times
        for contrast in [0.1, 0.3] {
            let (field, cells) = with_rods(&mottled(400, 300, 3.0, 7), contrast);
            let sigma = sigma_of(&cells).unwrap();
            let lopsided = lopsidedness(&response_at(&field, sigma)).unwrap();
            assert!(lopsided > 2.0 * LOPSIDED, "contrast {contrast}: {lopsided}");
            assert_eq!(doubt(&cells, &field), None);
        }
    }

    #[test]
    fn cells_as_wide_as_the_tutorials_answer_at_its_sigma() {
        let (w, h) = (200, 100);
        let mut mask = vec![false; w * h];
        // rods 13 px wide and 40 long, as the tutorial's whole cells are
        for x0 in [20, 80, 140] {
            for y in 30..43 {
                for x in x0..x0 + 40 {
                    mask[y * w + x] = true;
                }
            }
        }
        let cells = Cells::from_mask(&mask, w, h, 4);
        let sigma = sigma_of(&cells).unwrap();
        let want = TUTORIAL_SIGMA * typical_width(&cells).unwrap() / TUTORIAL_CELL_WIDTH;
        assert_eq!(sigma, want);
        assert!((sigma / TUTORIAL_SIGMA - 1.0).abs() < 0.1, "σ {sigma}");
    }

    #[test]
    fn few_or_sparse_cells_say_nothing() {
        let field = mottled(400, 300, 3.0, 7);
        let cells = blobs_below(&field, 0.47);
        let few = crate::post::keep(
            &cells,
            &(0..cells.count()).map(|i| i < 4).collect::<Vec<_>>(),
        );
        assert_eq!(doubt(&few, &field), None);
        // the darkest blobs only, well under MIN_COVER of the field
        let sparse = blobs_below(&field, 0.38);
        let area: u32 = sparse.areas.iter().sum();
        assert!(sparse.count() >= 5 && (area as f64) < MIN_COVER * 400.0 * 300.0);
        assert_eq!(doubt(&sparse, &field), None);
    }

    #[test]
    fn a_one_sided_response_is_as_lopsided_as_can_be() {
        let mut response = vec![0.0f32; 2000];
        response[..100].iter_mut().for_each(|r| *r = 1.0);
        assert_eq!(lopsidedness(&response), Some(f64::INFINITY));
        assert_eq!(lopsidedness(&response[..500]), None);
    }
}
