//! Scale: the networks learned cells at the tutorial's magnification (about 10 px wide in a
//! 31x31 patch). Other images are resampled to that scale before the networks see them, and
//! the probability maps resampled back, so results are in the image's own pixels.

pub mod auto_scale;
pub mod edges;
pub mod ridges;
pub mod width;

use image::ImageBuffer;
use image::Luma;
use image::imageops::{FilterType, resize};

use crate::core::cells::Cells;
use crate::core::plane::{Plane, Rect};
use crate::core::probability::ProbabilityMap;

/// Smallest and largest factors offered: beyond them a cell is under 2 px or over a patch.
pub const MIN_FACTOR: f64 = 0.1;
pub const MAX_FACTOR: f64 = 4.0;

/// How long the tutorial's cells are: the median length of phase_027's 801 labelled
/// B. subtilis cells is 43.6 px (checked by a test). Cells `n` px long need factor 44 / n.
pub const TUTORIAL_CELL_LENGTH: f64 = 44.0;

/// How wide the tutorial's cells come out of the default clean-up (whole cells): the median
/// short axis of the cells the committed ensemble finds in phase_027 (checked by a test).
/// Widths, unlike lengths, survive a cell split into pieces: each piece is as wide as the cell.
pub const TUTORIAL_CELL_WIDTH: f64 = 12.7;

/// The factor that brings cells `typical_width` px wide to the tutorial's scale.
pub fn factor_for_width(typical_width: f64) -> f64 {
    (TUTORIAL_CELL_WIDTH / typical_width).clamp(MIN_FACTOR, MAX_FACTOR)
}

/// How wide the cells are: the median width (see [`Cells::widths`]) of the cells at least a
/// quarter the size of the cell that holds the median cell pixel, if there are any. The
/// small ones are left out because a sparse field's few cells are outnumbered by specks of
/// debris passing for small cells: in van Vliet et al.'s E. coli time-lapse, one rod of
/// 1,400 px beside a dozen dark specks of 50–130 px, whose widths, counted alike, pulled the
/// scale the wrong way. Not weighted by area beyond that, so that a colony's merged clumps
/// (wider than its cells) do not count for more than one cell each.
pub fn typical_width(cells: &Cells) -> Option<f64> {
    typical_width_measured(cells).map(|(width, _)| width)
}

/// [`typical_width`] and how many cells it measured (the ones large enough to count).
pub fn typical_width_measured(cells: &Cells) -> Option<(f64, usize)> {
    let large = cells.typical_area()?;
    let widths: Vec<f64> = cells
        .widths()
        .into_iter()
        .zip(&cells.areas)
        .filter(|&(_, &a)| 4 * a >= large)
        .map(|(w, _)| w)
        .collect();
    let measured = widths.len();
    median(widths).map(|width| (width, measured))
}

fn median(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mid = values.len() / 2;
    let (_, m, _) = values.select_nth_unstable_by(mid, f64::total_cmp);
    Some(*m)
}

/// The factor that brings cells `typical_length` px long to the tutorial's scale.
pub fn factor_for(typical_length: f64) -> f64 {
    (TUTORIAL_CELL_LENGTH / typical_length).clamp(MIN_FACTOR, MAX_FACTOR)
}

/// The median length of `cells` (see [`Cells::lengths`]), if there are any.
pub fn typical_length(cells: &Cells) -> Option<f64> {
    median(cells.lengths())
}

/// `width` x `height` after scaling by `factor` (at least 1 x 1).
pub fn scaled_size(width: usize, height: usize, factor: f64) -> (usize, usize) {
    let s = |n: usize| ((n as f64 * factor).round() as usize).max(1);
    (s(width), s(height))
}

/// The part of the scaled image covering `rect` of the original (rounded outwards).
pub fn scaled_rect(rect: Rect, factor: f64, width: usize, height: usize) -> Rect {
    let lo = |v: usize| (v as f64 * factor).floor() as usize;
    let hi = |v: usize| (v as f64 * factor).ceil() as usize;
    Rect::new(lo(rect.x0), lo(rect.y0), hi(rect.x1), hi(rect.y1)).clamp(width, height)
}

/// A plane resampled to `width` x `height` (bilinear: smooth enough for the networks, and
/// averaging when shrinking).
///
/// `resize` clamps `f32` pixels to 0..1, the range it takes for an image's, and a normalised
/// plane runs beyond it on both sides (phase_027 from -0.37 to 1.83: its darkest cell bodies
/// and brightest halos). Clamped, the networks saw those flattened at every scale but ×1,
/// where they learned them unclamped (the training's zoom samples its own way,
/// [`crate::train::looks`]): van Vliet's first pages, whose two cells lie at -2.5 and their
/// halos at 1.7, came out as flat black blobs in flat white, which every network took for
/// background at ×0.5–×0.76. So the plane is resized mapped into 0..1 by its finite range and
/// mapped back: none of the filter's weights is negative, so what it gives lies within that
/// range.
pub fn resample(plane: &Plane, width: usize, height: usize) -> Plane {
    if (plane.width, plane.height) == (width, height) {
        return plane.clone();
    }
    let finite = plane.data.iter().copied().filter(|v| v.is_finite());
    let low = finite.clone().fold(f32::INFINITY, f32::min);
    let high = finite.fold(f32::NEG_INFINITY, f32::max);
    // (a flat plane maps to 0, and back; one with no finite value is resized unmapped)
    let low = if low.is_finite() { low } else { 0.0 };
    let span = if high > low {
        (high - low).min(f32::MAX)
    } else {
        1.0
    };
    let unit = plane.data.iter().map(|v| (v - low) / span).collect();
    let buffer: ImageBuffer<Luma<f32>, Vec<f32>> =
        ImageBuffer::from_raw(plane.width as u32, plane.height as u32, unit)
            .expect("a plane's data matches its size");
    let out = resize(&buffer, width as u32, height as u32, FilterType::Triangle);
    let data = out.into_raw().iter().map(|v| low + v * span).collect();
    Plane::new(width, height, data)
}

/// A map computed on `scaled` (a region of the scaled image) brought back to `rect` of the
/// original image: each class plane resampled, then renormalised to sum to 1 per pixel.
pub fn map_back(map: &ProbabilityMap, scaled: Rect, factor: f64, rect: Rect) -> ProbabilityMap {
    let n = map.width * map.height;
    let mut out = ProbabilityMap::new(rect.width(), rect.height());
    let m = out.width * out.height;
    for class in 0..3 {
        let plane = Plane::new(
            map.width,
            map.height,
            map.data[class * n..(class + 1) * n].to_vec(),
        );
        for y in 0..rect.height() {
            for x in 0..rect.width() {
                // the original pixel's centre, in the scaled region's pixels
                let sx = ((rect.x0 + x) as f64 + 0.5) * factor - 0.5 - scaled.x0 as f64;
                let sy = ((rect.y0 + y) as f64 + 0.5) * factor - 0.5 - scaled.y0 as f64;
                out.data[class * m + y * out.width + x] = bilinear(&plane, sx, sy);
            }
        }
    }
    for i in 0..m {
        let sum: f32 = (0..3).map(|c| out.data[c * m + i]).sum();
        if sum > 0.0 {
            (0..3).for_each(|c| out.data[c * m + i] /= sum);
        }
    }
    out
}

fn bilinear(p: &Plane, x: f64, y: f64) -> f32 {
    let x = x.clamp(0.0, (p.width - 1) as f64);
    let y = y.clamp(0.0, (p.height - 1) as f64);
    let (x0, y0) = (x.floor() as usize, y.floor() as usize);
    let (x1, y1) = ((x0 + 1).min(p.width - 1), (y0 + 1).min(p.height - 1));
    let (fx, fy) = ((x - x0 as f64) as f32, (y - y0 as f64) as f32);
    let top = p.at(x0, y0) * (1.0 - fx) + p.at(x1, y0) * fx;
    let bottom = p.at(x0, y1) * (1.0 - fx) + p.at(x1, y1) * fx;
    top * (1.0 - fy) + bottom * fy
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resampling_keeps_values_beyond_0_to_1() {
        // dark bodies below 0 and halos above 1, as a normalised plane holds them
        let (w, h) = (40, 30);
        let data = (0..w * h)
            .map(|i| match (i % w) / 10 {
                0 => -2.5,
                1 => 0.33,
                2 => 1.8,
                _ => 0.5,
            })
            .collect();
        let plane = Plane::new(w, h, data);
        for (sw, sh) in [(20, 15), (57, 43)] {
            let out = resample(&plane, sw, sh);
            let low = out.data.iter().copied().fold(f32::INFINITY, f32::min);
            let high = out.data.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            assert!(
                (low + 2.5).abs() < 1e-4 && (high - 1.8).abs() < 1e-4,
                "{low} {high}"
            );
            // and what lies between keeps its level: the background strip's middle row
            let middle = out.data[(sh / 2) * sw + (15 * sw) / 40];
            assert!((middle - 0.33).abs() < 1e-4, "{middle}");
        }
        // a flat plane stays flat
        let flat = resample(&Plane::new(w, h, vec![-0.7; w * h]), 20, 15);
        assert!(flat.data.iter().all(|&v| (v + 0.7).abs() < 1e-6));
    }

    #[test]
    fn halving_and_back_keeps_a_smooth_map() {
        // p(cell) a ramp across x; other and edge share the rest
        let (w, h) = (40, 20);
        let mut map = ProbabilityMap::new(w, h);
        for y in 0..h {
            for x in 0..w {
                let p = x as f32 / (w - 1) as f32;
                let i = y * w + x;
                map.data[i] = (1.0 - p) / 2.0;
                map.data[w * h + i] = p;
                map.data[2 * w * h + i] = (1.0 - p) / 2.0;
            }
        }
        // pretend the map was computed at half scale: 20 x 10 of it
        let (sw, sh) = scaled_size(w, h, 0.5);
        assert_eq!((sw, sh), (20, 10));
        let small = Plane::new(w, h, map.class(1).to_vec());
        let small = resample(&small, sw, sh);
        let mut half = ProbabilityMap::new(sw, sh);
        for i in 0..sw * sh {
            half.data[sw * sh + i] = small.data[i];
            half.data[i] = (1.0 - small.data[i]) / 2.0;
            half.data[2 * sw * sh + i] = (1.0 - small.data[i]) / 2.0;
        }
        let full = Rect::new(0, 0, w, h);
        let back = map_back(&half, Rect::new(0, 0, sw, sh), 0.5, full);
        assert_eq!((back.width, back.height), (w, h));
        let err = back.max_abs_diff(&map);
        assert!(err < 0.05, "max error {err}");
        for i in 0..w * h {
            let sum: f32 = (0..3).map(|c| back.data[c * w * h + i]).sum();
            assert!((sum - 1.0).abs() < 1e-5);
        }
    }

    #[test]
    fn a_rod_is_as_long_as_it_is() {
        // a 5 x 21 rod, tilted by drawing it along a diagonal: 21 px long both ways
        let (w, h) = (40, 40);
        let mut mask = vec![false; w * h];
        for t in 0..21 {
            for k in 0..5 {
                mask[(5 + k) * w + 5 + t] = true;
            }
        }
        let cells = Cells::from_mask(&mask, w, h, 1);
        let len = typical_length(&cells).unwrap();
        assert!((len - 21.0).abs() < 0.01, "{len}");
        assert_eq!(
            typical_length(&Cells::from_mask(&[false; 4], 2, 2, 1)),
            None
        );
    }

    #[test]
    fn a_crop_maps_to_its_scaled_region() {
        let r = scaled_rect(Rect::new(10, 5, 31, 17), 0.5, 100, 100);
        assert_eq!(r, Rect::new(5, 2, 16, 9));
        assert_eq!(
            scaled_rect(Rect::new(0, 0, 50, 50), 2.0, 60, 60),
            Rect::new(0, 0, 60, 60)
        );
    }
}
