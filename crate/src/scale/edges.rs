//! How sharp the cells' edges are: the optics' scale, beside the cells' width.
//!
//! A cell's width in pixels is the bacterium's width times the magnification; the scale
//! search ([`crate::scale::auto_scale`]) cannot tell the two apart from widths alone, and aims
//! every image's cells at the tutorial's width. But the edge between a phase-contrast cell's
//! dark body and its bright halo is as wide as the microscope blurs it, whatever the
//! bacterium: it widens with the magnification, not with the cell. Shrinking an image whose
//! edges are already as sharp as the tutorial's makes them sharper than the networks
//! learned, and the rim they draw (as wide as the tutorial's, in their pixels) swells in the
//! image's (swarming *B. subtilis* of a third lab, whose edges rise over 2.7–3.2 px like the
//! tutorial's 3.2, read AP @ 0.75 0.16–0.30 at the ×0.74–×0.83 their width gave and
//! 0.35–0.80 at ×1). So the search asks this measure too.
//!
//! The measure: the image's median level at each distance from the cells' outer outline
//! (inside negative, in quarter pixels; touching cells' shared outlines are inside), and how
//! far that profile takes to rise from a quarter to three quarters of the way from its
//! darkest, inside, to its brightest, the halo. It follows the magnification (phase_027
//! resampled ×0.7 / ×1.4 reads 0.66 / 1.34 times its own) and a median over every cell's
//! outline is steady where the cells are a population (one time-lapse's frames agree within
//! about 10%; a field's one or two cells do not).

use imageproc::distance_transform::euclidean_squared_distance_transform;

use image::{GrayImage, Luma};

use crate::core::cells::Cells;

/// How far the tutorial's edges rise (px): [`rise`] of the cells the default network finds in
/// phase_027 at ×1 (checked by a test).
pub const TUTORIAL_EDGE_RISE: f64 = 3.2;

/// Edges that rise within this share of the tutorial's, either way, are the tutorial's optics:
/// twice the scale checks' agreement ([`crate::scale::auto_scale::AGREE`]), for the measure's
/// own spread. Phase_027 enlarged ×1.19 reads beyond it. Sharper edges are other optics,
/// which magnified read as the tutorial's would (a synthetic colony, drawn sharper than
/// phase_027, enlarged ×1.4 reads 0.65–0.82 of its rise), so they say nothing either way.
pub const SHARP: f64 = 1.1;

/// How far the profile reaches either side of the outline (px).
const REACH: f64 = 8.0;

/// The profile's step (px).
const STEP: f64 = 0.25;

/// Fewer pixels than this at a distance leave its level unread.
const MIN_PIXELS: usize = 20;

/// How far (px) the image's level takes to rise across the outline of `cells` from its dark
/// inside to its bright halo (a quarter to three quarters of the way), `pixels` being the
/// image under them (one value per label), less its pixels on `flat` (padding, burnt-in
/// marks, a field stop's outside: [`crate::io::marks::left_out`]). None where no cell is
/// found, the profile has too few pixels, or it does not rise (or `pixels` or `flat` do not
/// cover the cells' plane).
pub fn rise(cells: &Cells, pixels: &[f32], flat: Option<&[bool]>) -> Option<f64> {
    let covers = |len: usize| len == cells.labels.len();
    if cells.count() == 0 || !covers(pixels.len()) || flat.is_some_and(|f| !covers(f.len())) {
        return None;
    }
    let (w, h) = (cells.width as u32, cells.height as u32);
    let index = |x: u32, y: u32| y as usize * cells.width + x as usize;
    let at = |x: u32, y: u32| cells.labels[index(x, y)] > 0;
    // squared distances to the nearest cell pixel (outside) and to the nearest non-cell one
    // (inside): imageproc measures to the nearest foreground (non-zero) pixel
    let cell = GrayImage::from_fn(w, h, |x, y| Luma([if at(x, y) { 255 } else { 0 }]));
    let open = GrayImage::from_fn(w, h, |x, y| Luma([if at(x, y) { 0 } else { 255 }]));
    let to_cell = euclidean_squared_distance_transform(&cell);
    let to_open = euclidean_squared_distance_transform(&open);
    let bins = (2.0 * REACH / STEP) as usize;
    let mut levels: Vec<Vec<f32>> = vec![Vec::new(); bins];
    for y in 0..h {
        for x in 0..w {
            let i = index(x, y);
            // a pixel's centre lies half a pixel from the outline between it and its neighbour
            let d = if at(x, y) {
                0.5 - to_open.get_pixel(x, y)[0].sqrt()
            } else {
                to_cell.get_pixel(x, y)[0].sqrt() - 0.5
            };
            let bin = ((d + REACH) / STEP).floor();
            let left_out = flat.is_some_and(|flat| flat[i]);
            if (0.0..bins as f64).contains(&bin) && pixels[i].is_finite() && !left_out {
                levels[bin as usize].push(pixels[i]);
            }
        }
    }
    let profile: Vec<(f64, f64)> = levels
        .iter_mut()
        .enumerate()
        .filter(|(_, v)| v.len() >= MIN_PIXELS)
        .map(|(k, v)| {
            let mid = v.len() / 2;
            let (_, median, _) = v.select_nth_unstable_by(mid, f32::total_cmp);
            (-REACH + (k as f64 + 0.5) * STEP, *median as f64)
        })
        .collect();
    // the darkest level inside (or within a pixel of the outline), then the brightest beyond
    let darkest = profile
        .iter()
        .enumerate()
        .filter(|(_, (d, _))| *d < 1.0)
        .min_by(|a, b| a.1.1.total_cmp(&b.1.1))?
        .0;
    let brightest = darkest
        + profile[darkest..]
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.1.total_cmp(&b.1.1))?
            .0;
    let (low, high) = (profile[darkest].1, profile[brightest].1);
    if high <= low {
        return None;
    }
    // where the profile first crosses `share` of the way up, between two steps
    let crossing = |share: f64| {
        let level = low + share * (high - low);
        profile[darkest..=brightest]
            .windows(2)
            .find(|p| p[0].1 <= level && level <= p[1].1 && p[0].1 < p[1].1)
            .map(|p| p[0].0 + (level - p[0].1) / (p[1].1 - p[0].1) * (p[1].0 - p[0].0))
    };
    Some(crossing(0.75)? - crossing(0.25)?)
}

/// Whether edges that rise over `rise` px are as sharp as the tutorial's ([`SHARP`]).
pub fn as_sharp_as_the_tutorials(rise: f64) -> bool {
    (TUTORIAL_EDGE_RISE / SHARP..=SHARP * TUTORIAL_EDGE_RISE).contains(&rise)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A field of discs `radius` px across, their edge a ramp `ramp` px wide from dark
    /// inside to a bright halo, then a background between the two.
    fn discs(radius: f64, ramp: f64) -> (Cells, Vec<f32>) {
        let (w, h) = (200, 160);
        let centres = [(50.0, 50.0), (140.0, 60.0), (70.0, 120.0), (150.0, 120.0)];
        let mut mask = vec![false; w * h];
        let mut pixels = vec![0.5f32; w * h];
        for y in 0..h {
            for x in 0..w {
                let d = centres
                    .iter()
                    .map(|&(cx, cy)| (x as f64 + 0.5 - cx).hypot(y as f64 + 0.5 - cy) - radius)
                    .fold(f64::INFINITY, f64::min);
                mask[y * w + x] = d < 0.0;
                // dark 0 inside, rising linearly over `ramp` to the halo's 1 at the outline
                // plus half the ramp, then down to the background's 0.5 beyond 4 px
                let v = if d < -ramp / 2.0 {
                    0.0
                } else if d < ramp / 2.0 {
                    (d + ramp / 2.0) / ramp
                } else if d < 4.0 + ramp {
                    1.0
                } else {
                    0.5
                };
                pixels[y * w + x] = v as f32;
            }
        }
        (Cells::from_mask(&mask, w, h, 1), pixels)
    }

    #[test]
    fn the_rise_follows_the_magnification_not_the_cells_size() {
        let base = rise(&discs(12.0, 3.0).0, &discs(12.0, 3.0).1, None).unwrap();
        // the same field magnified: cells and edges k times as large
        for k in [1.5, 2.0] {
            let (cells, pixels) = discs(12.0 * k, 3.0 * k);
            let r = rise(&cells, &pixels, None).unwrap();
            assert!((r / (k * base) - 1.0).abs() < 0.12, "×{k}: {r} for {base}");
        }
        // a wider cell, its edges as sharp
        let (cells, pixels) = discs(20.0, 3.0);
        let r = rise(&cells, &pixels, None).unwrap();
        assert!((r / base - 1.0).abs() < 0.1, "{r} for {base}");
        // sharper edges rise over less
        let (cells, pixels) = discs(12.0, 1.5);
        assert!(rise(&cells, &pixels, None).unwrap() < 0.75 * base);
    }

    #[test]
    fn no_cells_or_a_flat_image_have_no_rise() {
        let (cells, _) = discs(12.0, 4.0);
        assert_eq!(rise(&cells, &vec![0.3; cells.labels.len()], None), None);
        let none = Cells::from_mask(&[false; 100], 10, 10, 1);
        assert_eq!(rise(&none, &[0.0; 100], None), None);
        // every pixel left out (padding), or a mask of another size: nothing to read
        let (cells, pixels) = discs(12.0, 3.0);
        assert_eq!(rise(&cells, &pixels, Some(&vec![true; pixels.len()])), None);
        assert_eq!(rise(&cells, &pixels, Some(&[false; 10])), None);
        assert!(rise(&cells, &pixels, Some(&vec![false; pixels.len()])).is_some());
        assert!(as_sharp_as_the_tutorials(TUTORIAL_EDGE_RISE));
        assert!(!as_sharp_as_the_tutorials(1.19 * TUTORIAL_EDGE_RISE));
        assert!(!as_sharp_as_the_tutorials(0.8 * TUTORIAL_EDGE_RISE));
    }
}
