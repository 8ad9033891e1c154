//! The sureness check: how sure the networks are of the cells they found.
//!
//! The halo check ([`super::halo`]) and the texture check ([`super::faint::doubt`]) compare
//! the cells found with the empty background around them. Where the "cells" cover the field
//! there is none: an empty field mottled 2 px across at 8 times its pixel noise (one of 20
//! such fields measured) gave 3,440 "cells" that left no background to compare with, and no
//! word of doubt.
//!
//! What the networks give there says it. They learned cells they are sure of: in the cores of
//! real cells (p(cell) above post 2's 0.8) most pixels are above [`SURE`]. In mottling they
//! find cell-like blobs, but are sure of fewer of their pixels. Measured on the map the cells
//! were found on (image pixels, `cellseg segment --scale auto`), the share of core pixels
//! above 0.97:
//! - the U-Net: 0.46–0.68 over 33 images of real or synthetic cells (phase_027, 020, 033 and
//!   copies of 027 resampled ×0.33–×2.5, fainter and noisier; synthetic colonies, sparse
//!   fields and cocci; van Vliet's four pages; six of Omnipose's images, C. crescentus
//!   included), and no doubt on any page of van Vliet's 20-page stack. (Its sparse first
//!   pages, smoothed for a while, gave 17–25 "cells" for 2 from the background's mottling:
//!   two of those pages read 0.40–0.41.) 0.29 on Omnipose's curled filament, whose scale
//!   the search could not settle (F1 0.22). On 12 mottled empty fields where it found 5
//!   cells or more: 0.31–0.39 where the "cells" cover a sixth of the field or more,
//!   0.43–0.47 on three sparser ones the other checks doubt.
//! - the posts' networks (three averaged, with or without the looks): 0.46–0.63 on real and
//!   synthetic cells; 0.32–0.33 on mottled fields; 0.24–0.29 on C. crescentus, where they
//!   found 117–138 "cells" for 21.
//!
//! So below [`BAR`] the result is said to be doubtful. It is a doubt, not a filter: the
//! cells stay, as with the other checks. It does not catch every such field: the quality
//! suite's mottles (white noise blurred by a Gaussian) σ 2–3 px across at eight times the
//! noise give 1,159–2,050 "cells" the U-Net is as sure of as of real ones (0.53), still
//! without a word of doubt. The bar was measured on the shipped networks; a network trained
//! briefly (in the page's chapters) is less sure of everything, and the doubt says that may
//! be why.

use crate::core::cells::Cells;

/// A pixel is in a cell's core where p(cell) is above this (post 2's threshold, fixed here
/// whatever the clean-up's is: the measure is the networks', not the settings').
pub const CORE: f32 = 0.8;
/// A core pixel is sure where p(cell) is above this.
pub const SURE: f32 = 0.97;
/// Below this share of sure core pixels the result is doubtful: between the mottled fields'
/// highest (0.39) and real cells' lowest (0.46).
pub const BAR: f64 = 0.42;

/// The share of the core pixels of `cells` (p(cell) above [`CORE`], in `p_cell`, of the same
/// size) that the networks are sure of (above [`SURE`]); none where there are fewer than
/// [`super::halo::MIN_CELLS`] cells or no core.
pub fn share(cells: &Cells, p_cell: &[f32]) -> Option<f64> {
    if cells.count() < super::halo::MIN_CELLS || p_cell.len() != cells.labels.len() {
        return None;
    }
    let (mut core, mut sure) = (0usize, 0usize);
    for (&label, &p) in cells.labels.iter().zip(p_cell) {
        if label != 0 && p > CORE {
            core += 1;
            sure += usize::from(p > SURE);
        }
    }
    (core > 0).then(|| sure as f64 / core as f64)
}

/// Why the cells found are doubtful, where the networks are sure of too few of their core
/// pixels ([`share`]).
pub fn doubt(cells: &Cells, p_cell: &[f32]) -> Option<String> {
    let share = share(cells, p_cell)?;
    (share < BAR).then(|| {
        format!(
            "the networks are sure of only {:.0}% of the cells' cores ({:.0}% or more \
             expected of the shipped networks, which were sure of 46% or more on every real \
             image they segmented right): what they found is unlike the cells they learned (a \
             background's texture, or another kind of image), or the networks were trained \
             less than the shipped ones; check the result",
            100.0 * share,
            100.0 * BAR
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Five 4×4 cells in a row, 1 px apart, with `sure` of each cell's 16 pixels at p 0.99
    /// and the rest at 0.9 (core, not sure); the gaps at 0.1.
    fn five(sure: usize) -> (Cells, Vec<f32>) {
        let (w, h) = (25, 4);
        let mut labels = vec![0u32; w * h];
        let mut p = vec![0.1f32; w * h];
        for k in 0..5 {
            for i in 0..16 {
                let (x, y) = (5 * k + i % 4, i / 4);
                labels[y * w + x] = k as u32 + 1;
                p[y * w + x] = if i < sure { 0.99 } else { 0.9 };
            }
        }
        (Cells::from_labels(labels, w, h, 1), p)
    }

    #[test]
    fn the_share_counts_sure_pixels_among_the_cores() {
        let (cells, p) = five(8);
        assert_eq!(share(&cells, &p), Some(0.5));
        // pixels under the core's threshold do not count either way
        let (cells, mut p) = five(8);
        for (i, &l) in cells.labels.iter().enumerate() {
            if l != 0 && p[i] < 0.95 {
                p[i] = 0.6;
            }
        }
        assert_eq!(share(&cells, &p), Some(1.0));
    }

    #[test]
    fn cells_the_networks_are_unsure_of_are_doubted() {
        let (cells, p) = five(10);
        assert_eq!(doubt(&cells, &p), None, "10 of 16 sure");
        let (cells, p) = five(5);
        let why = doubt(&cells, &p).expect("5 of 16 sure: doubtful");
        assert!(why.contains("only 31%"), "{why}");
    }

    #[test]
    fn too_few_cells_or_no_core_say_nothing() {
        let (cells, p) = five(0);
        let three = crate::post::keep(&cells, &[true, true, true, false, false]);
        assert_eq!(share(&three, &p), None);
        let flat = vec![0.7f32; p.len()];
        assert_eq!(share(&cells, &flat), None, "no core");
        assert_eq!(share(&cells, &p[1..]), None, "a map of another size");
    }
}
