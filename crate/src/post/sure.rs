//! The sureness check: how sure the networks are of the cells they found.
//!
//! The halo check ([`super::halo`]) and the texture check ([`super::faint::doubt`]) compare
//! the cells found with the empty background around them. Where the "cells" cover the field
//! there is none: an empty field mottled 2 px across at 8 times its pixel noise (one of 20
//! such fields measured) gave `unet-1` 3,440 "cells" that left no background to compare
//! with, and no word of doubt (the default finds none there).
//!
//! What the networks give there says it. They learned cells they are sure of: in the cores of
//! real cells (p(cell) above post 2's 0.8) most pixels are above [`SURE`]. In mottling they
//! find cell-like blobs, but are sure of fewer of their pixels. Measured on the map the cells
//! were found on (image pixels, `cellseg segment --scale auto`), the share of core pixels
//! above 0.97:
//! - the default U-Net (`unet-2`, taught debris beside lone cells): 0.50–0.79 over 53 images
//!   of real or synthetic rods (phase_027, 020, 033 and copies of 027 resampled ×0.33–×2.5,
//!   fainter and noisier; synthetic colonies, sparse fields, fields with debris; van Vliet's
//!   four pages; six of Omnipose's images, C. crescentus included); round cells less: 0.365
//!   and 0.42 on two fields of synthetic cocci, 0.39 on the quality suite's cocci ×1.8 (it
//!   learned round debris beside them). On 20 mottled empty fields it found cells in 9, 5 or
//!   more in 8: 0.26–0.35 where they cover a sixth of the field or more, 0.375 and 0.41 on
//!   two sparser ones; every one of the 8 also lacks the halos cells have ([`super::halo`]).
//! - `unet-1`, before it learned debris: 0.46–0.68 over 33 of those images, cocci included;
//!   0.31–0.39 on mottled fields, 0.29 on Omnipose's curled filament.
//! - the posts' networks (three averaged, with or without the looks): 0.46–0.63 on real and
//!   synthetic cells; 0.32–0.33 on mottled fields; 0.24–0.29 on C. crescentus, where they
//!   found 117–138 "cells" for 21.
//!
//! So below a bar the result is said to be doubtful, the bar the networks' own ([`bar`]):
//! [`UNET_BAR`] for the U-Net, measured on the default, [`BAR`] for the posts' networks and any
//! mix. It is a doubt, not a filter: the cells stay, as with the other checks. For the
//! default it is a backstop: its bar sits below the cocci, so it says only what the halo
//! check also says of the densest mottles (and `unet-1`, loaded by hand, is held to it too:
//! its mottles at 0.33–0.39 pass it). The bars were measured on the shipped networks; a
//! network trained briefly (in the page's chapters) is less sure of everything, and the doubt
//! says that may be why. Where the cells leave no open background for the halo check, it
//! cannot back this bar, and the posts' bar holds for every network unless the image is as
//! lopsided as cells make it ([`super::packed`]).

use crate::core::cells::Cells;
use crate::model::Model;

/// A pixel is in a cell's core where p(cell) is above this (post 2's threshold, fixed here
/// whatever the clean-up's is: the measure is the networks', not the settings').
pub const CORE: f32 = 0.8;
/// A core pixel is sure where p(cell) is above this.
pub const SURE: f32 = 0.97;
/// Below this share of sure core pixels the posts' networks' result is doubtful: between the
/// mottled fields' highest (0.39, `unet-1`'s; theirs 0.32–0.33) and real cells' lowest (0.46).
pub const BAR: f64 = 0.42;
/// The U-Net's bar: under round cells' lowest (0.365), among the mottled fields' that cover a
/// sixth of the field or more (0.26–0.35, see the module docs): the two above it, as the
/// sparser ones, are doubted by the halo check.
pub const UNET_BAR: f64 = 0.33;

/// The bar for a map averaged from `networks`: the strictest of theirs ([`UNET_BAR`] for a
/// U-Net, [`BAR`] for the posts' networks, and for none).
pub fn bar(networks: &[Model]) -> f64 {
    let own = |network: &Model| match network {
        Model::UNet(_) => UNET_BAR,
        Model::Patch(_) => BAR,
    };
    networks.iter().map(own).reduce(f64::max).unwrap_or(BAR)
}

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
/// pixels ([`share`]): under `bar` ([`bar`]).
pub fn doubt(cells: &Cells, p_cell: &[f32], bar: f64) -> Option<String> {
    let share = share(cells, p_cell)?;
    (share < bar).then(|| {
        format!(
            "the networks are sure of only {:.0}% of the cells' cores ({:.0}% or more \
             expected of these networks, were they the shipped ones, which were sure of more \
             on every image of cells they segmented right): what they found is unlike the \
             cells they learned (a background's texture, or another kind of image), or the \
             networks were trained less than the shipped ones; check the result",
            100.0 * share,
            100.0 * bar
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
        assert_eq!(doubt(&cells, &p, BAR), None, "10 of 16 sure");
        let (cells, p) = five(6);
        let why = doubt(&cells, &p, BAR).expect("6 of 16 sure: doubtful");
        assert!(
            why.contains("only 38%") && why.contains("42% or more"),
            "{why}"
        );
        // the U-Net's bar is lower: 6 of 16 pass it, 5 do not
        assert_eq!(doubt(&cells, &p, UNET_BAR), None);
        let (cells, p) = five(5);
        let why = doubt(&cells, &p, UNET_BAR).expect("5 of 16 sure: doubtful");
        assert!(
            why.contains("only 31%") && why.contains("33% or more"),
            "{why}"
        );
    }

    #[test]
    fn the_bar_is_the_strictest_of_the_networks() {
        use crate::model::backend::Backend;
        use crate::model::network::Network;
        use crate::model::spec::Spec;
        use crate::model::unet::UNet;
        let device = Backend::cpu().device;
        let unet = Model::UNet(UNet::new(0, &device));
        let posts = Model::Patch(Network::new(&Spec::lookup("original").unwrap(), 0, &device));
        assert_eq!(bar(std::slice::from_ref(&unet)), UNET_BAR);
        assert_eq!(bar(std::slice::from_ref(&posts)), BAR);
        assert_eq!(bar(&[unet, posts]), BAR, "a mix");
        assert_eq!(bar(&[]), BAR);
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
