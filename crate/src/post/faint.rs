//! Cells must stand out from the background at their own scale.
//!
//! The contrast check ([`super::drop_faint`]) asks a cell to differ from the ring around it by
//! `min_contrast` deviations of one pixel's noise: the networks can see cells in texture that
//! is nothing but noise. That yardstick is wrong both ways.
//! - A cell is hundreds of pixels, whose mean is known far better than one pixel's value. In a
//!   noisy field (a synthetic colony with four times the tutorial's noise) or a faint one (a
//!   third of its contrast) every cell is plain to the eye, and the check dropped nearly all
//!   of them: 0 and 31 of 226 were left (`cellseg segment`).
//! - A background's mottling is smooth, so it does not average out over a cell as noise does.
//!   An empty field mottled 2 px across, twice as strongly as its pixel noise, passed the
//!   check with 175 "cells".
//!
//! So the yardstick is taken from the image itself. Squares as wide as the typical cell are
//! set all over the empty background (clear of the cells and their rings), and how much
//! darker each square's inside is than the ring around it is measured there as it is for a
//! cell. A cell must differ from its ring by [`SPREADS`] of those squares' spread (the median
//! absolute deviation, as a standard deviation) beyond their median: a faint cell (below) the
//! way the image's typical cell does, darker in phase contrast, any other cell either way.
//! A square is as wide as a cell but a rod has more pixels, so the squares spread more than
//! rods would: the test errs towards keeping nothing false. Real cells stand 13 to 140 spreads
//! out (the other labs' images and phase_027), and the mottled field's "cells" all went.
//! Where the squares that fit cover fewer than [`MIN_PLACES`] squares' worth of background (a
//! packed colony, a small crop, a field the "cells" cover) there is no yardstick, and the
//! pixel noise's check is all there is, as before.
//!
//! In empty fields mottled more strongly or coarsely, the "cells" covered the field, and the
//! few of them clear of the pixel noise's check stayed without a word of doubt (44 to 3,333
//! in four such fields). Once the faint ones are dropped there is background around those
//! few, and measured on it they do not stand out: the result then says so ([`doubt`]; in
//! three of the four, where 0–1% stand out, against all the cells of every real image
//! measured). It does not drop them. Measured where faint cells were, the yardstick is not the empty
//! background's: in a colony whose cells are partly faint (a dim corner, a crop inside a
//! colony) it could take real cells for texture.
//!
//! Where there is no yardstick, the pixel noise's check stands alone, and it is the wrong
//! yardstick there as well: swarming *B. subtilis* packed over a 256 × 256 field (blurred,
//! noisy, their halos faint) stand out from their rings by 2.1–2.4 pixel noise deviations,
//! plain to the eye, and of the 21–34 cells the networks found in each of three such fields
//! 0–2 were kept: no cell, where the networks found them at F1 0.70–0.83. The check is there
//! for the fields the "cells" cover because they are a mottling, and the mottling check's
//! measure ([`crate::post::mottle::lopsidedness`]) tells those apart: where the cells found
//! make the image lopsided at their size by [`CELLS_LOPSIDED`] or more, the pixel noise's bar
//! is lowered to [`LOPSIDED_SHARE`] of itself, a cell still having to be as plain as the
//! image's own cells are ([`OF_TYPICAL`]) up to the bar itself (never beyond it). Measured:
//! the swarming fields 0.40–0.49; real images whose cells cover 5% of the field or more, 0.44
//! or more (the mottling check's measurements); the 32 empty mottled fields' "cells" (σ 1–12
//! px, 1–8× the pixel noise), at every scale the search tried, 0.16 at most, and their
//! results are unchanged, "cell" for "cell".
//!
//! A cell the pixel noise's check would drop must also be about as plain as the image's own
//! cells are ([`OF_TYPICAL`]): where the cells are faint, all of them are. Between packed rods
//! or cocci the background is darker than the halos ringing it, and it stood out from the
//! squares (by up to 22 spreads) at a tenth to a quarter of the typical cell's contrast.
//! Comparing a faint cell with the open background near it instead was tried; it lost real
//! cells, because in a packed colony the nearest open background is the shaded gaps, as dark
//! as a faint cell.

use crate::core::cells::{Cells, grow_within};
use crate::core::plane::Plane;
use crate::core::square_sums::square_sums;
use crate::post::inside_and_around;
use crate::scale::typical_width;

/// How many spreads of the background's own squares a cell must stand beyond them. Among a
/// background's thousands of places the most extreme lie about 4 spreads out.
pub const SPREADS: f64 = 6.0;

/// The fewest squares' worth of background that make a yardstick.
pub const MIN_PLACES: usize = 30;

/// The contrast a cell needs, at least, as a share of the typical cell's ([`typical`]),
/// where the pixel noise's check would drop it.
pub const OF_TYPICAL: f32 = 0.5;

/// How lopsided the cells found must make the image at their size (the mottling check's
/// measure) for the pixel noise's bar to be lowered where there is no yardstick.
pub const CELLS_LOPSIDED: f64 = 0.25;

/// The share of the pixel noise's bar a cell must reach where there is no yardstick and the
/// cells make the image lopsided.
pub const LOPSIDED_SHARE: f32 = 0.5;

/// The bar of the pixel noise's check (`contrast`: each of `cells`' difference from its ring,
/// in pixel noise deviations; `plane` the field they were found in, of the same size), where
/// the background holds no yardstick: `min_contrast`, or where the cells make the field
/// lopsided at their size as cells do, [`LOPSIDED_SHARE`] of it or [`OF_TYPICAL`] of the
/// typical cell's contrast, whichever is higher, but never above `min_contrast` (see the
/// module's doc). `plane` must hold `cells.width` × `cells.height` values.
pub fn pixel_bar(cells: &Cells, plane: &[f32], min_contrast: f32, contrast: &[f32]) -> f32 {
    // the response over the whole field is the costly part; with no cell under the bar, the
    // bar decides nothing
    if contrast.iter().all(|&c| c >= min_contrast) {
        return min_contrast;
    }
    let pixels = Plane::new(cells.width, cells.height, plane.to_vec());
    match crate::post::mottle::lopsided_at_cells(cells, &pixels) {
        // (infinite where a tail does not leave the median: a flat share of the field, as
        // padding or a field stop's outside, not cells)
        Some((_, lopsided)) if lopsided >= CELLS_LOPSIDED && lopsided.is_finite() => {
            (LOPSIDED_SHARE * min_contrast)
                .max(OF_TYPICAL * typical(contrast))
                .min(min_contrast)
        }
        _ => min_contrast,
    }
}

/// Below this share of the cells found standing out from the background at their own scale,
/// the result is doubtful ([`doubt`]).
pub const STANDING: f64 = 0.5;

/// Why the cells found are doubtful, where most of them do not stand out from the background
/// around them at their own scale ([`standing_out`], the cells of `plane` taken as they are);
/// none where the background holds no yardstick, or there are fewer than
/// [`super::halo::MIN_CELLS`].
pub fn doubt(cells: &Cells, plane: &[f32], left_out: Option<&[bool]>, ring: u32) -> Option<String> {
    let n = cells.count();
    if n < super::halo::MIN_CELLS {
        return None;
    }
    let means = inside_and_around(cells, plane, ring);
    let standing = standing_out(cells, plane, left_out, ring, &means, &vec![false; n])?;
    let share = standing.iter().filter(|&&s| s).count() as f64 / n as f64;
    (share < STANDING).then(|| {
        format!(
            "only {:.0}% of the cells found stand out from the background around them more \
             than its own texture does ({:.0}% or more expected): they may be the \
             background's mottling, not cells; check the result",
            100.0 * share,
            100.0 * STANDING
        )
    })
}

/// The typical cell's contrast: the median of the cells' `contrasts` (those with a ring
/// around them: the others' is infinite).
pub fn typical(contrasts: &[f32]) -> f32 {
    let mut sorted: Vec<f32> = contrasts
        .iter()
        .copied()
        .filter(|c| c.is_finite())
        .collect();
    sorted.sort_by(f32::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(0.0)
}

/// For each of `cells` (in `plane`, of the same size), whether it differs from the ring
/// `ring` px wide around it (`means`: its mean and its ring's, see
/// [`super::inside_and_around`]) by [`SPREADS`] spreads of the same measure on the background
/// beyond the squares' median: the `faint` ones (flagged) the way the image's typical cell
/// does (darker, in phase contrast), the others either way (a phase-bright spore is a cell
/// too). A cell with no background around it counts as standing out. None where the
/// background holds no yardstick (see the module's doc). `left_out` marks what is not
/// picture (padding, marks, a field stop's outside): not background either.
pub fn standing_out(
    cells: &Cells,
    plane: &[f32],
    left_out: Option<&[bool]>,
    ring: u32,
    means: &[(f64, Option<f64>)],
    faint: &[bool],
) -> Option<Vec<bool>> {
    if ring == 0 {
        return None;
    }
    let width = typical_width(cells)?;
    let background = background(cells, plane, left_out, ring);
    let inner = (width.round() as usize).max(3) / 2;
    let yardstick = Yardstick::measure(&background, inner, inner + ring as usize)?;
    let darker: Vec<Option<f64>> = means
        .iter()
        .map(|&(inside, around)| around.map(|around| around - inside))
        .collect();
    // the way the image's typical cell differs from its ring: darker, in phase contrast
    let mut known: Vec<f64> = darker.iter().flatten().copied().collect();
    let way = if known.is_empty() || median_and_spread(&mut known).0 >= 0.0 {
        1.0
    } else {
        -1.0
    };
    let standing = darker
        .iter()
        .zip(faint)
        .map(|(d, &faint)| d.is_none_or(|d| yardstick.stands_out(d, faint.then_some(way))))
        .collect();
    Some(standing)
}

/// `plane` where it is empty background: not a cell, more than `ring` + 1 steps (4-connected)
/// from one, and picture; NaN elsewhere.
fn background(cells: &Cells, plane: &[f32], left_out: Option<&[bool]>, ring: u32) -> Plane {
    let (w, h) = (cells.width, cells.height);
    let open: Vec<bool> = (0..w * h)
        .map(|i| cells.labels[i] == 0 && !left_out.is_some_and(|l| l[i]))
        .collect();
    let near_a_cell = grow_within(cells.labels.clone(), &open, w, h, ring + 1);
    let data = (0..w * h)
        .map(|i| {
            if open[i] && near_a_cell[i] == 0 {
                plane[i]
            } else {
                f32::NAN
            }
        })
        .collect();
    Plane::new(w, h, data)
}

/// How much darker than their ring cell-wide squares of empty background are: the median
/// and the spread.
struct Yardstick {
    median: f64,
    spread: f64,
}

impl Yardstick {
    /// Sets squares (2 `inner` + 1) px wide, with their rings out to `ringed`, on a grid half
    /// a square apart, where a square and its ring lie wholly on `background`; None where
    /// they cover fewer than [`MIN_PLACES`] squares' worth of it. Two sweeps, one a radius,
    /// hold 8 bytes a place: at most 2 a pixel, where cells are 3 px wide.
    fn measure(background: &Plane, inner: usize, ringed: usize) -> Option<Yardstick> {
        let (w, h) = (background.width, background.height);
        let step = inner.max(2);
        if w <= 2 * ringed || h <= 2 * ringed {
            return None;
        }
        let xs: Vec<usize> = (ringed..w - ringed).step_by(step).collect();
        let on_grid = |y: usize| y >= ringed && y < h - ringed && (y - ringed).is_multiple_of(step);
        let full = |radius: usize| ((2 * radius + 1) * (2 * radius + 1)) as u32;
        // the squares' sums where they lie wholly on background (NaN elsewhere), place by place
        let mut squares = Vec::new();
        square_sums(background, inner, |y, sums, counts| {
            if on_grid(y) {
                squares.extend(xs.iter().map(|&x| {
                    if counts[x] == full(inner) {
                        sums[x]
                    } else {
                        f64::NAN
                    }
                }));
            }
        });
        let mut darker = Vec::new();
        let mut place = 0;
        square_sums(background, ringed, |y, sums, counts| {
            if on_grid(y) {
                for &x in &xs {
                    let inside = squares[place];
                    if inside.is_finite() && counts[x] == full(ringed) {
                        let ring = (sums[x] - inside) / (full(ringed) - full(inner)) as f64;
                        darker.push(ring - inside / full(inner) as f64);
                    }
                    place += 1;
                }
            }
        });
        // places half a square apart overlap: count the squares' worth of background they cover
        let covered = darker.len() * step * step / full(inner) as usize;
        if covered < MIN_PLACES {
            return None;
        }
        let (median, spread) = median_and_spread(&mut darker);
        Some(Yardstick { median, spread })
    }

    /// Whether a cell darker than its ring by `darker` stands [`SPREADS`] beyond the squares:
    /// the `way` given (1: darker, -1: brighter), or either way.
    fn stands_out(&self, darker: f64, way: Option<f64>) -> bool {
        let beyond = (darker - self.median) / self.spread.max(f64::MIN_POSITIVE);
        way.map_or(beyond.abs(), |way| way * beyond) >= SPREADS
    }
}

/// The median of `values` and their spread: the median absolute deviation from it, scaled to
/// a normal distribution's standard deviation. Reorders `values`.
fn median_and_spread(values: &mut [f64]) -> (f64, f64) {
    let median = |v: &mut [f64]| {
        let mid = v.len() / 2;
        *v.select_nth_unstable_by(mid, f64::total_cmp).1
    };
    let m = median(values);
    let mut deviations: Vec<f64> = values.iter().map(|v| (v - m).abs()).collect();
    (m, 1.4826 * median(&mut deviations))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::post::{PostConfig, contrasts, drop_faint, inside_and_around};

    /// Reproducible noise of unit variance (uniform), from a tiny LCG.
    fn noise(state: &mut u64) -> f32 {
        *state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((*state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 12f32.sqrt()
    }

    /// A 240 × 200 field at 0.5 plus `pattern`, with white noise σ `sigma`, and 8 × 24 px
    /// rods `depth` darker at `places` (their top-left corners), labelled 1.. in turn.
    fn field(
        sigma: f32,
        pattern: impl Fn(usize, usize) -> f32,
        places: &[(usize, usize)],
        depth: f32,
    ) -> (Cells, Vec<f32>) {
        let (w, h) = (240, 200);
        let mut state = 7u64;
        let mut plane: Vec<f32> = (0..w * h)
            .map(|i| 0.5 + pattern(i % w, i / w) + sigma * noise(&mut state))
            .collect();
        let mut labels = vec![0u32; w * h];
        for (n, &(x0, y0)) in places.iter().enumerate() {
            for y in y0..y0 + 24 {
                for x in x0..x0 + 8 {
                    labels[y * w + x] = n as u32 + 1;
                    plane[y * w + x] -= depth;
                }
            }
        }
        (Cells::from_labels(labels, w, h, 1), plane)
    }

    fn grid() -> Vec<(usize, usize)> {
        (0..4)
            .flat_map(|i| (0..2).map(move |j| (20 + 55 * i, 30 + 90 * j)))
            .collect()
    }

    #[test]
    fn faint_cells_in_a_noisy_field_stay_and_its_noise_goes() {
        // rods 1.5 pixel noise deviations darker than the background: under the pixel noise's
        // check (3), but 192 pixels each
        let (cells, plane) = field(0.1, |_, _| 0.0, &grid(), 0.15);
        let c = contrasts(&cells, &plane, 0.1, 3);
        assert!(c.iter().all(|&c| (1.0..2.0).contains(&c)), "{c:?}");
        let kept = drop_faint(cells.clone(), &plane, 0.1, None, &PostConfig::default());
        assert_eq!(kept.count(), 8);
        // the same places undarkened are the noise's own texture
        let (texture, plane) = field(0.1, |_, _| 0.0, &grid(), 0.0);
        let kept = drop_faint(texture, &plane, 0.1, None, &PostConfig::default());
        assert_eq!(kept.count(), 0);
        // and beside faint rods, one undarkened place goes while the rods stay
        let mut places = grid();
        places.push((200, 170));
        let (cells, mut plane) = field(0.1, |_, _| 0.0, &places, 0.15);
        for (l, v) in cells.labels.iter().zip(plane.iter_mut()) {
            if *l == 9 {
                *v += 0.15;
            }
        }
        let kept = drop_faint(cells, &plane, 0.1, None, &PostConfig::default());
        assert_eq!(kept.count(), 8);
        assert_eq!(kept.labels[170 * 240 + 200], 0);
        // a clear cell brighter than the background (a phase-bright spore) stays beside
        // faint dark ones
        let (cells, mut plane) = field(0.1, |_, _| 0.0, &grid(), 0.15);
        for (l, v) in cells.labels.iter().zip(plane.iter_mut()) {
            if *l == 8 {
                *v += 0.65;
            }
        }
        let kept = drop_faint(cells, &plane, 0.1, None, &PostConfig::default());
        assert_eq!(kept.count(), 8);
    }

    #[test]
    fn mottles_clear_of_the_pixel_noise_go_and_cells_stay() {
        // "cells" on the dark mottles (sin · sin = -1 at x = 30 + 40k, y = 14 + 56j: the rods'
        // centres), clear of the pixel noise's check
        let on_mottles: Vec<(usize, usize)> = [(26, 2), (106, 58), (186, 114)].to_vec();
        let (cells, plane) = field(0.02, mottle, &on_mottles, 0.0);
        let c = contrasts(&cells, &plane, 0.02, 3);
        assert!(c.iter().all(|&c| c > 3.0), "{c:?}");
        let kept = drop_faint(cells, &plane, 0.02, None, &PostConfig::default());
        assert_eq!(kept.count(), 0);
        // rods as dark as phase contrast's cells, on the same mottling, stay
        let (cells, plane) = field(0.02, mottle, &on_mottles, 0.4);
        let kept = drop_faint(cells, &plane, 0.02, None, &PostConfig::default());
        assert_eq!(kept.count(), 3);
    }

    /// Rods side by side over the whole field, `gap` px apart side to side.
    fn packed(gap: usize) -> Vec<(usize, usize)> {
        (0..240 / (8 + gap))
            .flat_map(|i| (0..8).map(move |j| ((8 + gap) * i, 25 * j)))
            .collect()
    }

    #[test]
    fn no_yardstick_without_open_background() {
        // no place for a square and its ring
        let (cells, plane) = field(0.1, |_, _| 0.0, &packed(2), 0.15);
        assert!(standing(&cells, &plane, None).is_none());
    }

    #[test]
    fn packed_faint_rods_stay_where_they_make_the_field_lopsided() {
        // 4 px apart, still too close for a yardstick, 2.2 pixel noise deviations darker
        // than their gaps, as the swarming fields' cells are: under the pixel noise's bar,
        // but the dark rods make the field lopsided
        let (cells, plane) = field(0.1, |_, _| 0.0, &packed(4), 0.22);
        assert!(standing(&cells, &plane, None).is_none());
        let c = contrasts(&cells, &plane, 0.1, 3);
        assert!(c.iter().all(|&c| c < 3.0), "{c:?}");
        let bar = pixel_bar(&cells, &plane, 3.0, &c);
        assert!(bar < 3.0, "{bar}");
        let kept = drop_faint(cells.clone(), &plane, 0.1, None, &PostConfig::default());
        assert_eq!(kept.count(), cells.count());
        // crisp rods (10 deviations) lower nothing beyond the pixel noise's own bar: one at
        // 3.5 beside them stays, as it did before
        let (mut crisp, mut plane) = field(0.1, |_, _| 0.0, &packed(4), 1.0);
        for (l, v) in crisp.labels.iter().zip(plane.iter_mut()) {
            if *l == 1 {
                *v += 0.65;
            }
        }
        let c = contrasts(&crisp, &plane, 0.1, 3);
        assert!(c[0] > 3.0 && c[0] < 4.0 && typical(&c) > 9.0, "{c:?}");
        assert_eq!(pixel_bar(&crisp, &plane, 3.0, &c), 3.0);
        crisp = drop_faint(crisp, &plane, 0.1, None, &PostConfig::default());
        assert_eq!(crisp.count(), packed(4).len());
        // the same places undarkened are the noise's own texture: as dark as bright, the
        // bar stays, and so does every "cell" under it go
        let (texture, plane) = field(0.1, |_, _| 0.0, &packed(4), 0.0);
        let c = contrasts(&texture, &plane, 0.1, 3);
        assert_eq!(pixel_bar(&texture, &plane, 3.0, &c), 3.0);
        assert_eq!(
            drop_faint(texture, &plane, 0.1, None, &PostConfig::default()).count(),
            0
        );
        // and so on a mottling a cell's size, whose "cells" are clear of the pixel noise
        let (mottles, plane) = field(0.02, mottle, &packed(4), 0.0);
        let c = contrasts(&mottles, &plane, 0.02, 3);
        assert_eq!(pixel_bar(&mottles, &plane, 3.0, &c), 3.0);
    }

    #[test]
    fn clear_mottles_among_faint_ones_are_doubted_once_those_are_dropped() {
        // a field covered by "cells": three clear of the pixel noise's check, on dark
        // mottles, the rest faint; while all count, no yardstick fits
        let mut places: Vec<(usize, usize)> = vec![(26, 2), (106, 58), (186, 114)];
        for i in 0..24 {
            for j in 0..8 {
                let (x, y) = (10 * i, 25 * j);
                let clear_of = |&(px, py): &(usize, usize)| {
                    x + 8 <= px || px + 8 <= x || y + 24 <= py || py + 24 <= y
                };
                if places[..3].iter().all(clear_of) {
                    places.push((x, y));
                }
            }
        }
        let (cells, plane) = field(0.02, mottle, &places, 0.0);
        let means = inside_and_around(&cells, &plane, 3);
        let clear = vec![false; cells.count()];
        assert!(standing_out(&cells, &plane, None, 3, &means, &clear).is_none());
        assert_eq!(doubt(&cells, &plane, None, 3), None);
        // the faint ones dropped, the three clear mottles do not stand out: doubtful
        let kept: Vec<bool> = (0..cells.count()).map(|i| i < 3).collect();
        let three = crate::post::keep(&cells, &kept);
        assert!(doubt(&three, &plane, None, 3).is_none(), "too few to say");
        let mut more = places[..3].to_vec();
        more.extend([(66, 2), (146, 58)]);
        let (five, plane) = field(0.02, mottle, &more, 0.0);
        assert!(doubt(&five, &plane, None, 3).is_some());
        // dark rods on the same mottling stand out: no doubt
        let (rods, plane) = field(0.02, mottle, &more, 0.4);
        assert_eq!(doubt(&rods, &plane, None, 3), None);
    }

    #[test]
    fn squares_that_are_left_out_are_not_background() {
        let (cells, plane) = field(0.1, |_, _| 0.0, &grid(), 0.15);
        assert!(standing(&cells, &plane, None).is_some());
        let everything = vec![true; plane.len()];
        assert!(standing(&cells, &plane, Some(&everything)).is_none());
    }

    /// [`standing_out`] with rings of 3 px, every cell faint.
    fn standing(cells: &Cells, plane: &[f32], left_out: Option<&[bool]>) -> Option<Vec<bool>> {
        let means = inside_and_around(cells, plane, 3);
        standing_out(
            cells,
            plane,
            left_out,
            3,
            &means,
            &vec![true; cells.count()],
        )
    }

    /// Smooth mottling 12 pixel noise deviations deep (at σ 0.02), at a cell's size: dark
    /// where x = 30 + 40 k and y = 14 + 56 j, the rods' centres at the places used.
    fn mottle(x: usize, y: usize) -> f32 {
        let (x, y) = (x as f32, y as f32);
        0.25 * (x * std::f32::consts::TAU / 40.0).sin() * (y * std::f32::consts::TAU / 56.0).sin()
    }
}
