//! Fragments: pieces of cells and specks of debris, dropped by their size, unless the
//! networks are sure of them as of whole cells.
//!
//! A cell much smaller than the typical one ([`Cells::typical_area`]: the cell holding the
//! median cell pixel) is a piece the networks broke off a cell, or a speck of debris; the
//! clean-up drops it ([`super::PostConfig::min_share`]). That yardstick fails where a few long
//! filaments hold most of the cell pixels: the typical cell is then a filament, and whole rods
//! beside it fall under a quarter of it. MEDUSSA's *B. subtilis* field (11 cells: three
//! filaments, one of them 52,000 px, beside rods of 700–5,300 px) lost 5 rods so: F1@0.5 0.63,
//! against 0.95 with no cell dropped for its size.
//!
//! The networks' sureness tells the two apart. Where they broke a cell, they were unsure
//! along it. Where they found a speck, they are often unsure too. A whole rod, however
//! short, they are sure of. Measured as [`super::sure`] measures a field, but cell by cell:
//! the share of each cell's core pixels (p(cell) above [`CORE`]) they are sure of (above
//! [`SURE`]), on the map the cells were found on (`cellseg segment --scale auto`):
//! - MEDUSSA's three rods standing free of the filaments: 0.64–0.72; a pale cell in the gap
//!   between two rods, 0.66; a rod where two others meet it, 0.29;
//! - micromorph's field of long curved filaments: five pieces the networks broke off them
//!   (none matches a true cell): 0.00–0.30, and two at 0.53 and 0.55;
//! - the cells the size rule considered over 48 images of other labs (swarming
//!   *B. subtilis*, four species, Omnipose's and van Vliet's), in every try of the scale
//!   search: 87, of which 17 are sure of half their core or more. Of those, 13 are specks
//!   smaller than a round cell of the field's width: van Vliet's round speck beside
//!   *E. coli* is 133 px, sure of 0.70, where a disc as wide as the cells (17.2 px) is 233 px.
//!
//! So a cell the size rule would drop stays where the networks are sure of [`WHOLE_SURE`] of
//! its core and it is no smaller than a disc as wide as the typical cell
//! ([`crate::scale::typical_width`]): no whole cell of the field's kind is smaller. Half lies
//! between most pieces and every free rod measured; it is also the lowest share the default
//! network had over whole fields of rods ([`super::sure`]). It is the same bar for every
//! network: the posts' networks, less sure of everything, keep fewer small cells by it, which
//! is the behaviour before this check.
//!
//! Measured with it: four cells of the 48 images passed in some try of the scale search, and
//! two of the final results changed, by a cell each, neither a true cell (F1 0.905 → 0.902 on
//! one image). MEDUSSA: F1 0.84, the three free rods back. Its pale cell passes here, but the
//! contrast check ([`super::drop_faint`]) then drops it: the unsure rod beside it is gone,
//! and the ring it is compared with takes in that rod's dark pixels. Micromorph's filaments
//! keep the two sure pieces: F1 0.53 → 0.48. Synthetic fields of long and short rods mixed
//! (the long ones holding most cell pixels): 18 clean fields 0.85 → 1.00, 12 faint, noisy
//! ones with debris 0.84 → 0.90.

use crate::core::cells::Cells;
use crate::post::keep;
use crate::post::sure::{CORE, SURE};
use crate::scale::typical_width;

/// A cell under the size rule stays where the networks are sure of this share of its core.
pub const WHOLE_SURE: f64 = 0.5;

/// `cells` without those smaller than `share` of the typical cell that do not touch the frame
/// (and may be cut by it), unless the networks are sure of them as of whole cells
/// ([`whole`]); `p_cell` is p(cell) of the map they were found on, the same size.
pub fn drop_fragments(cells: Cells, share: f32, p_cell: &[f32]) -> Cells {
    // (a share over 1 would drop typical cells too; NaN or 0 keeps every cell)
    let Some(typical) = cells.typical_area().filter(|_| share > 0.0) else {
        return cells;
    };
    let smallest = share.min(1.0) as f64 * typical as f64;
    let small: Vec<bool> = cells
        .areas
        .iter()
        .zip(cells.on_border())
        .map(|(&a, cut)| !cut && (a as f64) < smallest)
        .collect();
    if !small.contains(&true) {
        return cells;
    }
    let kept: Vec<bool> = small
        .iter()
        .zip(whole(&cells, p_cell))
        .map(|(&small, whole)| !small || whole)
        .collect();
    if kept.iter().all(|&k| k) {
        return cells;
    }
    keep(&cells, &kept)
}

/// Whether the networks are sure of each cell as of a whole one: of [`WHOLE_SURE`] of its core
/// pixels or more, the cell no smaller than a disc as wide as the typical cell. All false
/// where `p_cell` is not the cells' size or no width can be measured.
pub fn whole(cells: &Cells, p_cell: &[f32]) -> Vec<bool> {
    let n = cells.count();
    let width = typical_width(cells);
    let (Some(width), true) = (width, p_cell.len() == cells.labels.len()) else {
        return vec![false; n];
    };
    let disc = std::f64::consts::FRAC_PI_4 * width * width;
    let (mut core, mut sure) = (vec![0usize; n], vec![0usize; n]);
    for (&label, &p) in cells.labels.iter().zip(p_cell) {
        if label != 0 && p > CORE {
            core[label as usize - 1] += 1;
            sure[label as usize - 1] += usize::from(p > SURE);
        }
    }
    (0..n)
        .map(|i| {
            core[i] > 0
                && sure[i] as f64 >= WHOLE_SURE * core[i] as f64
                && cells.areas[i] as f64 >= disc
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Paints `id` over the `cw` × `ch` box at (`x0`, `y0`) of a `w`-wide field, with p(cell) `p`.
    #[allow(clippy::too_many_arguments)]
    fn put(
        labels: &mut [u32],
        ps: &mut [f32],
        w: usize,
        id: u32,
        x0: usize,
        y0: usize,
        cw: usize,
        ch: usize,
        p: f32,
    ) {
        for y in y0..y0 + ch {
            for x in x0..x0 + cw {
                labels[y * w + x] = id;
                ps[y * w + x] = p;
            }
        }
    }

    #[test]
    fn fragments_and_specks_go_unless_the_frame_cuts_them() {
        // a 20 x 12 field: two cells of 30 px (the typical cell), a speck of 4 px and a
        // cell just divided of 9 px inside, and a 4 px sliver cut by the left edge; the
        // networks sure of none of them
        let (w, h) = (20, 12);
        let (mut labels, mut p) = (vec![0u32; w * h], vec![0.1f32; w * h]);
        for (id, x0, y0, cw, ch) in [
            (1, 2, 1, 10, 3),
            (2, 2, 6, 10, 3),
            (3, 15, 1, 2, 2),
            (4, 14, 6, 3, 3),
            (5, 0, 10, 2, 2),
        ] {
            put(&mut labels, &mut p, w, id, x0, y0, cw, ch, 0.9);
        }
        let cells = Cells::from_labels(labels, w, h, 1);
        assert_eq!(cells.typical_area(), Some(30));
        assert_eq!(cells.on_border(), [false, false, false, false, true]);
        let kept = drop_fragments(cells.clone(), 0.25, &p);
        // 4 < 7.5 goes; 9 stays; the cut sliver stays
        assert_eq!(kept.areas, [30, 30, 9, 4]);
        assert_eq!(kept.labels[w + 15], 0);
        assert_eq!(drop_fragments(cells.clone(), 0.0, &p), cells);
        assert_eq!(drop_fragments(cells.clone(), 0.5, &p).areas, [30, 30, 4]);
        // the default clean-up drops them; post 2's does not
        assert_eq!(super::super::PostConfig::default().min_share, 0.25);
        assert_eq!(super::super::PostConfig::posts().min_share, 0.0);
    }

    /// A 200 × 60 field of cells 6 px wide: a filament 180 px long (1,080 px, the typical
    /// cell), a rod of 6 × 24 (144 px, under a quarter of it) whose core the networks are
    /// `rod` sure of, a piece of 6 × 20 they are unsure of, and a speck of 4 × 4 they are sure
    /// of. Returns the cells and p(cell).
    fn filament_field(rod: f32) -> (Cells, Vec<f32>) {
        let (w, h) = (200, 60);
        let (mut labels, mut p) = (vec![0u32; w * h], vec![0.05f32; w * h]);
        put(&mut labels, &mut p, w, 1, 10, 5, 180, 6, 0.99);
        put(&mut labels, &mut p, w, 2, 10, 25, 24, 6, rod);
        put(&mut labels, &mut p, w, 3, 60, 25, 20, 6, 0.9);
        put(&mut labels, &mut p, w, 4, 110, 25, 4, 4, 0.99);
        (Cells::from_labels(labels, w, h, 1), p)
    }

    #[test]
    fn a_whole_rod_beside_a_filament_stays_where_the_networks_are_sure_of_it() {
        let (cells, p) = filament_field(0.99);
        assert_eq!(cells.typical_area(), Some(1080));
        assert_eq!(typical_width(&cells).map(f64::round), Some(6.0));
        assert_eq!(whole(&cells, &p), [true, true, false, false]);
        // the rod stays; the unsure piece and the speck (16 px, under a 6 px disc's 28) go
        assert_eq!(drop_fragments(cells.clone(), 0.25, &p).areas, [1080, 144]);
        // half of the rod's core sure is enough; less is not
        let (mut cells_p, mut half) = (cells.clone(), p.clone());
        for (i, &l) in cells.labels.iter().enumerate() {
            if l == 2 && i % 200 < 22 {
                half[i] = 0.9;
            }
        }
        assert_eq!(
            drop_fragments(cells_p.clone(), 0.25, &half).areas,
            [1080, 144]
        );
        for (i, &l) in cells.labels.iter().enumerate() {
            if l == 2 && i % 200 == 22 {
                half[i] = 0.9;
            }
        }
        assert_eq!(drop_fragments(cells_p.clone(), 0.25, &half).areas, [1080]);
        // an unsure rod goes, as before; so does everything where the map is another size
        let (unsure, q) = filament_field(0.9);
        assert_eq!(drop_fragments(unsure, 0.25, &q).areas, [1080]);
        cells_p = drop_fragments(cells_p, 0.25, &p[1..]);
        assert_eq!(cells_p.areas, [1080]);
    }

    #[test]
    fn the_clean_up_hears_the_networks_raw_map_not_the_smoothed_one() {
        use crate::core::probability::ProbabilityMap;
        use crate::post::{PostConfig, cells, cells_from_smoothed};
        let map_of = |p: &[f32], w: usize, h: usize| {
            let mut map = ProbabilityMap::new(w, h);
            map.data[w * h..2 * w * h].copy_from_slice(p);
            // the background is background: no rim grows
            map.data[..w * h]
                .iter_mut()
                .zip(p)
                .for_each(|(o, &c)| *o = 1.0 - c);
            map
        };
        let config = PostConfig {
            median_radius: 0,
            min_area: 1,
            ..Default::default()
        };
        let (sure, p) = filament_field(0.99);
        let (w, h) = (sure.width, sure.height);
        assert_eq!(cells(&map_of(&p, w, h), &config).areas, [1080, 144]);
        // the sureness is read on the networks' own map: the median (here the other field's
        // map, unsure of the rod) finds the cores, and does not decide
        let (_, unsure) = filament_field(0.9);
        let areas = |smoothed: &[f32], raw: &[f32]| {
            cells_from_smoothed(smoothed, &map_of(raw, w, h), &config).areas
        };
        assert_eq!(areas(&unsure, &p), [1080, 144]);
        assert_eq!(areas(&p, &unsure), [1080]);
    }
}
