//! The packed-field check: where the cells found leave no open background, the two measures
//! left must vouch for them together.
//!
//! The halo and texture checks ([`super::halo`], [`super::faint::doubt`]) compare the cells
//! with the empty background around them. In a small crop the cells cover, there is none, and
//! only the networks' sureness ([`super::sure`]) and the image's lopsidedness
//! ([`super::mottle`]) can speak. Each alone is too weak there:
//! - the U-Net's sureness bar ([`super::sure::UNET_BAR`], 0.33) sits under round cells, and
//!   its cells in packed crops read low: synthetic long rods ×0.6 0.38–0.39;
//! - the tails the lopsidedness compares are a few dozen pixels in a crop of 100 × 100, so a
//!   mottling can read as lopsided by chance.
//!
//! Measured (`cellseg segment --scale auto`), on crops of 96–160 px where fewer than
//! [`super::halo::MIN_BACKGROUND`] pixels lie over [`super::halo::FAR`] from every cell and 5
//! or more cells were found:
//! - 11 crops of empty fields mottled 1–3 px across at 4–8 times their pixel noise (7 of
//!   them gave 23–136 "cells" and no word): sureness 0.29–0.37, lopsidedness 0.03–0.29;
//! - 21 crops of other labs' colonies (swarming *B. subtilis*, four species, Omnipose's and
//!   van Vliet's images): sureness 0.43–0.64, lopsidedness 0.26–1.10;
//! - 45 crops of synthetic colonies (rods ×0.4–×1.6, long rods, cocci ×0.6–×1, faint and
//!   noisy, bright and calm): sureness 0.38–0.68, lopsidedness 0.45–1.43; the two under
//!   [`super::sure::BAR`] (long rods, 0.38 and 0.39) read 0.67 and 0.69.
//!
//! Neither measure alone parts real crops from mottled ones: real crops read as little as
//! 0.26 lopsided (every one of them 0.43 sure or more), and sureness parts them from the
//! mottles by a few hundredths. Together they do, with a margin: under the posts' bar of
//! [`super::sure::BAR`], between mottles and real cells, only the long rods came, and they
//! read more than twice as lopsided as any mottled crop. So where there is no open
//! background the cells are doubted unless the networks are sure of [`super::sure::BAR`] of
//! their cores or the image is [`LOPSIDED_ENOUGH`] lopsided at their size (over every
//! mottled crop's, under the long rods' and under every real image's whose cells cover 5% of
//! it or more, 0.44). Where the crop is too small to measure its lopsidedness, nothing is
//! said. It only affects the U-Net (the posts' networks are held to that bar everywhere,
//! [`super::sure::bar`]).
//!
//! As with the other checks it is a doubt, not a filter: the cells stay. Nor does it take
//! back a scale the search tried, but the octave's ([`crate::pipeline::doubts`]: to the
//! search it is only [`crate::scale::auto_scale::Doubted::Unsure`]): a real packed crop the
//! networks are less sure of than these at the right scale would be sent back to a wrong
//! one.

use super::halo;
use super::mottle::lopsided_at_cells;
use super::sure;
use crate::core::cells::Cells;
use crate::core::plane::Plane;

/// Cells that make the image at least this lopsided at their size vouch for themselves where
/// there is no background: over mottled crops' 0.29, under packed long rods' 0.67 and real
/// images' 0.44.
pub const LOPSIDED_ENOUGH: f64 = 0.4;

/// Why the cells found are doubtful, where there are at least [`halo::MIN_CELLS`] of them in
/// `pixels` (the field they were found in, of the same size as `p_cell`, their p(cell)), they
/// leave too little background for the halo and texture checks (beyond what `flat` marks:
/// padding, marks, a field stop's outside), the networks are sure of fewer of their cores
/// than [`sure::BAR`] and the image is less lopsided at their size than [`LOPSIDED_ENOUGH`].
/// None where any of that cannot be told.
pub fn doubt(
    cells: &Cells,
    pixels: &Plane,
    flat: Option<&[bool]>,
    p_cell: &[f32],
) -> Option<String> {
    let n = cells.count();
    if n < halo::MIN_CELLS
        || pixels.data.len() != cells.labels.len()
        || halo::has_background(cells, &pixels.data, flat)
    {
        return None;
    }
    let share = sure::share(cells, p_cell)?;
    if share >= sure::BAR {
        return None;
    }
    let (_, lopsided) = lopsided_at_cells(cells, pixels)?;
    if lopsided >= LOPSIDED_ENOUGH {
        return None;
    }
    // (rounded down, so that a share under the bar never reads as the bar)
    let percent = (1000.0 * share).floor() / 10.0;
    Some(format!(
        "the {n} \"cells\" found cover the image, leaving no empty background to compare them \
         with; the networks are sure of only {percent:.1}% of their cores ({:.0}% or more \
         expected where nothing else can check them, of the shipped networks: a network \
         trained briefly is less sure of everything), and the image is hardly darker in its \
         dark spots than it is bright in its bright ones at their size ({lopsided:.2}; cells' \
         dark bodies and bright halos make it {LOPSIDED_ENOUGH:.2} or more): they may be a \
         mottled background's texture, not cells; check the result",
        100.0 * sure::BAR
    ))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::post::mottle::tests::{blobs_below, mottled, rods_at};

    /// p(cell) over `cells`' pixels: the first `sure` share of all cell pixels (in raster
    /// order) above [`sure::SURE`], the rest at 0.9 (core, not sure); 0.1 elsewhere.
    pub(crate) fn p_cell(cells: &Cells, sure: f64) -> Vec<f32> {
        let mut seen = 0usize;
        let total = cells.labels.iter().filter(|&&l| l != 0).count();
        cells
            .labels
            .iter()
            .map(|&l| {
                if l == 0 {
                    return 0.1;
                }
                seen += 1;
                if (seen as f64) <= sure * total as f64 {
                    0.99
                } else {
                    0.9
                }
            })
            .collect()
    }

    /// Dark 8 × 24 rods with 2 px bright halos, `contrast` below and above the field's 0.5,
    /// tiled over `plane` 16 px apart across and 32 down.
    fn packed_rods(plane: &Plane, contrast: f32) -> (Plane, Cells) {
        let xs = (2..=plane.width - 12).step_by(16);
        let ys = (2..=plane.height - 28).step_by(32);
        rods_at(plane, contrast, xs, ys)
    }

    #[test]
    fn a_mottled_crop_the_cells_cover_is_doubted_where_the_networks_are_unsure() {
        // a crop whose dark blobs cover it, closer than FAR to every pixel
        let field = mottled(120, 120, 2.0, 3);
        let cells = blobs_below(&field, 0.5);
        assert!(cells.count() >= halo::MIN_CELLS);
        assert!(!halo::has_background(&cells, &field.data, None));
        let unsure = p_cell(&cells, 0.36);
        assert!(
            doubt(&cells, &field, None, &unsure)
                .unwrap()
                .contains("no empty background")
        );
        // as sure of them as of real cells: they pass
        assert_eq!(doubt(&cells, &field, None, &p_cell(&cells, 0.5)), None);
    }

    #[test]
    fn packed_cells_that_make_the_crop_lopsided_pass_however_unsure() {
        // rods with halos tiled 16 px apart across and 32 down leave no pixel FAR from a cell
        let (field, cells) = packed_rods(&mottled(128, 128, 2.0, 3), 0.3);
        assert!(cells.count() >= halo::MIN_CELLS);
        assert!(!halo::has_background(&cells, &field.data, None));
        let (_, lopsided) = lopsided_at_cells(&cells, &field).unwrap();
        assert!(lopsided >= LOPSIDED_ENOUGH, "{lopsided}");
        assert_eq!(doubt(&cells, &field, None, &p_cell(&cells, 0.36)), None);
    }

    /// Rods barely darker than the mottling (0.4 of its spread) packed over a crop of it: the
    /// crop reads 0.30 lopsided, over the mottling check's bar and under this one's.
    pub(crate) fn faint_packed_rods() -> (Plane, Cells) {
        packed_rods(&mottled(128, 128, 2.0, 3), 0.02)
    }

    #[test]
    fn packed_cells_between_the_mottling_bar_and_this_one_are_doubted_here_alone() {
        let (field, cells) = faint_packed_rods();
        let (_, lopsided) = lopsided_at_cells(&cells, &field).unwrap();
        let bar = crate::post::mottle::LOPSIDED;
        assert!((bar..LOPSIDED_ENOUGH).contains(&lopsided), "{lopsided}");
        assert_eq!(crate::post::mottle::doubt(&cells, &field), None);
        let said = doubt(&cells, &field, None, &p_cell(&cells, 0.36)).unwrap();
        // (the share rounded down: just under 36%)
        assert!(said.contains("only 35.9% of their cores"), "{said}");
        assert_eq!(doubt(&cells, &field, None, &p_cell(&cells, 0.45)), None);
    }

    #[test]
    fn cells_with_background_around_them_are_left_to_the_other_checks() {
        let field = mottled(400, 300, 3.0, 7);
        let cells = blobs_below(&field, 0.42);
        assert!(cells.count() >= halo::MIN_CELLS);
        assert!(halo::has_background(&cells, &field.data, None));
        assert_eq!(doubt(&cells, &field, None, &p_cell(&cells, 0.36)), None);
    }
}
