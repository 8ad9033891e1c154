//! Padding: the flat black that stitching, registration, rotation and a microscope's round
//! field stop leave around the specimen.
//!
//! It is not part of the picture, but left in, it is. The 1–99% window starts at its black,
//! so the cells' contrast is squeezed (a black band over a fifth of phase_027 took the U-Net's
//! held-out F1 from 0.81 to 0.75; a round field stop, too), and a black region reads to the
//! networks as one huge dark cell body. [`crate::io::normalise`] leaves the padding out of the
//! window and gives it the background's level; the clean-up finds it again there
//! ([`flat_regions`]) and keeps cells off it, as what the networks make of a flat field beside
//! a halo is not a cell. (A float file's NaN is set to its median when decoded, so it is flat
//! too; a NaN still in a plane counts as padding.)
//!
//! Padding is told from dark parts of the picture by being exactly flat: pixels of one value
//! with nothing else within [`FLAT_RADIUS`] (no camera draws a 5 × 5 square of one value
//! through its noise, and a clipped cell body or a dead column is narrower than a band of
//! padding), in regions of at least [`MIN_PIXELS`] (many cells' worth: a dead pixel, a clipped
//! speck or a cell's clipped core is not padding) that together cover at least [`MIN_SHARE`]
//! of the image (the four corners a round stop blacks out count together).

use image::{GrayImage, Luma};
use imageproc::distance_transform::Norm;
use imageproc::morphology::dilate;
use std::collections::HashMap;

use crate::core::plane::Plane;

/// Padding is flat over squares of this half-width (5 × 5).
pub const FLAT_RADIUS: u8 = 2;

/// The least share of the image a region of padding covers.
pub const MIN_SHARE: f64 = 0.01;

/// Flat squares of other values than the padding's covering more than this share of the rest
/// of the image make it a drawn image (or one quantised to a few levels), in which being flat
/// says nothing; under it, they are the marks burnt into a picture ([`crate::io::marks`]) or
/// specks it saturated.
pub const MOST_FLAT: f64 = 0.05;

/// The fewest pixels one region of padding covers (50 × 50; four of the tutorial's cells,
/// and more than a clipped cell body holds at twice its magnification).
pub const MIN_PIXELS: usize = 2_500;

/// Which pixels are padding in a plane as the file holds it: the image's lowest value where
/// it is flat over large regions and little else is flat (see the module docs and
/// [`flat_regions`]), the pixels at that value within [`FLAT_RADIUS`] of them (the steps of a
/// round stop's edge, narrower than the square), and every pixel that is not a number.
pub fn padding(plane: &Plane) -> Vec<bool> {
    let (w, h) = (plane.width, plane.height);
    let lowest = plane
        .data
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(f32::INFINITY, f32::min);
    let blank: Vec<bool> = plane
        .data
        .iter()
        .map(|&v| !v.is_finite() || v == lowest)
        .collect();
    let mut pad: Vec<bool> = plane.data.iter().map(|v| !v.is_finite()).collect();
    if blank.iter().filter(|&&b| b).count() < least_total(w, h) {
        return pad;
    }
    let flat = flat_regions(plane);
    let mask = GrayImage::from_fn(w as u32, h as u32, |x, y| {
        let i = y as usize * w + x as usize;
        Luma([255 * u8::from(flat[i] && blank[i])])
    });
    let near = dilate(&mask, Norm::LInf, FLAT_RADIUS);
    for ((p, b), n) in pad.iter_mut().zip(&blank).zip(near.pixels()) {
        *p |= *b && n[0] > 0;
    }
    pad
}

/// The large regions of one exact value: every pixel a 5 × 5 square of a single value covers
/// (beyond the edge, the edge's pixels go on), in regions of at least [`MIN_PIXELS`] that, for
/// that value, together cover at least [`MIN_SHARE`] of the image; of one value only, the one
/// they cover most of, and none where squares of other values cover more than [`MOST_FLAT`]
/// of the rest of the image (a drawn image, not a camera's). On a normalised plane that is
/// its padding (and its larger marks), which normalising set to one level, or another flat
/// frame (a white one too: it holds no cell either); a picture through a camera has none.
pub fn flat_regions(plane: &Plane) -> Vec<bool> {
    match flat_cores(plane) {
        Some(core) => flat_regions_of(plane, &regions_of_squares(plane, &core)),
        None => vec![false; plane.width * plane.height],
    }
}

/// [`flat_regions`], given the plane's [`regions_of_squares`].
pub(crate) fn flat_regions_of(plane: &Plane, regions: &[(u32, Vec<usize>)]) -> Vec<bool> {
    let (w, h) = (plane.width, plane.height);
    let mut flat = vec![false; w * h];
    // A picture through a camera has no flat square but in its padding, all of one value, and
    // in the few marks burnt into it (a timestamp's box, a scale bar: crate::io::marks) or
    // specks it saturated. A drawn one (a canvas, a synthetic test image) is flat in several
    // values over much of what is not its background, and then none is taken for padding.
    let large = |region: &Vec<usize>| region.len() >= MIN_PIXELS;
    let mut all: HashMap<u32, usize> = HashMap::new();
    let mut big: HashMap<u32, usize> = HashMap::new();
    for (value, region) in regions {
        *all.entry(*value).or_default() += region.len();
        if large(region) {
            *big.entry(*value).or_default() += region.len();
        }
    }
    let Some((&most, &covered)) = big.iter().max_by_key(|&(&v, &n)| (n, v)) else {
        return flat;
    };
    if covered < least_total(w, h) {
        return flat;
    }
    let others: usize = (all.iter().filter(|&(&v, _)| v != most))
        .map(|(_, &n)| n)
        .sum();
    let rest = w * h - all[&most];
    if others as f64 > MOST_FLAT * rest as f64 {
        return flat;
    }
    for (_, region) in regions.iter().filter(|(v, r)| *v == most && large(r)) {
        for &i in region {
            flat[i] = true;
        }
    }
    flat
}

/// The centres of 5 × 5 squares of a single value (255 there; beyond the edge, the edge's
/// pixels go on), or None where there is none (most pictures through a camera: the answer
/// comes at once, as the clean-up asks every time).
pub(crate) fn flat_cores(plane: &Plane) -> Option<GrayImage> {
    let (w, h) = (plane.width, plane.height);
    if w == 0 || h == 0 {
        return None;
    }
    let r = FLAT_RADIUS as isize;
    // A square's middle row is a run of one value first: most pictures have none, and one
    // comparison a pixel (mostly) says so, where the squares take twenty-five (normalising
    // asks for every image, the clean-up every time).
    let run = |row: &[f32], x: usize| {
        let at = |k: usize| row[(x + k).saturating_sub(r as usize).min(w - 1)];
        (1..=2 * r as usize).all(|k| at(k) == at(0))
    };
    if !plane
        .data
        .chunks_exact(w)
        .any(|row| (0..w).any(|x| run(row, x)))
    {
        return None;
    }
    let at = |x: isize, y: isize| {
        let (x, y) = (x.clamp(0, w as isize - 1), y.clamp(0, h as isize - 1));
        plane.data[y as usize * w + x as usize]
    };
    let core = GrayImage::from_fn(w as u32, h as u32, |x, y| {
        let (x, y) = (x as isize, y as isize);
        let v = at(x, y);
        let flat = (-r..=r).all(|dy| (-r..=r).all(|dx| at(x + dx, y + dy) == v));
        Luma([255 * u8::from(flat)])
    });
    core.pixels().any(|c| c[0] > 0).then_some(core)
}

/// The regions the squares around `core`'s centres make, one value each (8-connected), with
/// that value's bits and their pixels' indices.
pub(crate) fn regions_of_squares(plane: &Plane, core: &GrayImage) -> Vec<(u32, Vec<usize>)> {
    let (w, h) = (plane.width, plane.height);
    // the squares themselves: cores grown by the square's half-width
    let squares = dilate(core, Norm::LInf, FLAT_RADIUS);
    let in_square: Vec<bool> = squares.pixels().map(|p| p[0] > 0).collect();
    // A flood by hand, as imageproc labels u8 images and these values are any f32. A pixel in
    // a square has the square's value.
    let mut regions: Vec<(u32, Vec<usize>)> = Vec::new();
    let mut seen = vec![false; w * h];
    for start in 0..w * h {
        if !in_square[start] || seen[start] {
            continue;
        }
        let v = plane.data[start];
        seen[start] = true;
        let mut region = vec![start];
        let mut next = 0;
        while next < region.len() {
            let i = region[next];
            next += 1;
            let (x, y) = ((i % w) as isize, (i / w) as isize);
            for (dx, dy) in NEIGHBOURS {
                let (nx, ny) = (x + dx, y + dy);
                if nx < 0 || ny < 0 || nx >= w as isize || ny >= h as isize {
                    continue;
                }
                let j = ny as usize * w + nx as usize;
                if in_square[j] && !seen[j] && plane.data[j] == v {
                    seen[j] = true;
                    region.push(j);
                }
            }
        }
        regions.push((v.to_bits(), region));
    }
    regions
}

const NEIGHBOURS: [(isize, isize); 8] = [
    (-1, -1),
    (0, -1),
    (1, -1),
    (-1, 0),
    (1, 0),
    (-1, 1),
    (0, 1),
    (1, 1),
];

/// The fewest pixels the regions of padding cover together in a `w` × `h` image.
fn least_total(w: usize, h: usize) -> usize {
    ((MIN_SHARE * (w * h) as f64).ceil() as usize).max(MIN_PIXELS)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A noisy mid-grey field (values 1000 ± 40, no two neighbours alike for long).
    pub(crate) fn field(w: usize, h: usize) -> Plane {
        let data = (0..w * h)
            .map(|i| 1000.0 + ((i * 7919 + i / w * 104_729) % 81) as f32 - 40.0)
            .collect();
        Plane::new(w, h, data)
    }

    pub(crate) fn count(pad: &[bool]) -> usize {
        pad.iter().filter(|&&p| p).count()
    }

    /// A `w` × `h` field with the pixels `black` picks set to 0, and how many it picked.
    fn blacked(w: usize, h: usize, black: impl Fn(f32, f32) -> bool) -> (Plane, usize) {
        let mut p = field(w, h);
        let mut picked = 0;
        for (i, v) in p.data.iter_mut().enumerate() {
            if black((i % w) as f32, (i / w) as f32) {
                *v = 0.0;
                picked += 1;
            }
        }
        (p, picked)
    }

    #[test]
    fn a_black_band_and_a_round_field_stop_are_padding() {
        let (w, h) = (200, 150);
        let (band, _) = blacked(w, h, |x, _| x < 40.0);
        let pad = padding(&band);
        assert_eq!(count(&pad), 40 * h);
        assert!(pad[10 * w + 39] && !pad[10 * w + 40]);

        // four corners outside a circle, each a region of its own
        let (stop, outside) = blacked(300, 240, |x, y| (x - 150.0).hypot(y - 120.0) > 130.0);
        assert_padding_within(&padding(&stop), &stop, outside);
    }

    /// All padding found is black, and all the black is found but for the few tips along the
    /// image's edge narrower than a square's reach.
    fn assert_padding_within(pad: &[bool], plane: &Plane, black: usize) {
        assert!(pad.iter().zip(&plane.data).all(|(&p, &v)| !p || v == 0.0));
        assert!(count(pad) + 16 >= black, "{} of {black}", count(pad));
    }

    #[test]
    fn corners_each_under_the_share_count_together() {
        // a centred stop in 1000 × 800: each corner 0.9% of the image, 3.5% in all
        let (w, h) = (1000, 800);
        let (stop, outside) = blacked(w, h, |x, y| (x - 500.0).hypot(y - 400.0) > 560.0);
        assert!(outside / 4 < w * h / 100 && outside > w * h / 100);
        assert_padding_within(&padding(&stop), &stop, outside);
    }

    #[test]
    fn clipped_cells_touching_a_frame_stay_in_the_picture() {
        let (w, h) = (200, 150);
        let (mut p, _) = blacked(w, h, |x, _| x < 40.0);
        // a dark cell body against the frame, half its pixels clipped to the frame's black
        for y in 60..72 {
            for x in 40..90 {
                p.data[y * w + x] = if (x * 7 + y * 13) % 2 == 0 { 0.0 } else { 30.0 };
            }
        }
        let pad = padding(&p);
        let reach = FLAT_RADIUS as usize;
        assert!(count(&pad) <= 40 * h + 12 * reach);
        assert!((60..72).all(|y| (40 + reach..90).all(|x| !pad[y * w + x])));
    }

    #[test]
    fn a_drawn_image_flat_in_several_values_has_no_padding() {
        // six bright rods on a flat background, as a canvas draws them: over a fifth of a
        // small image, and sparse (3%) on a large black one
        for (w, h, background, rod, rows, step) in [
            (96, 80, 20.0, 7, 15..55, 14),
            (400, 300, 0.0, 10, 100..160, 50),
        ] {
            let mut p = Plane::new(w, h, vec![background; w * h]);
            for i in 0..6 {
                for y in rows.clone() {
                    for x in 8 + step * i..8 + step * i + rod {
                        p.data[y * w + x] = 230.0;
                    }
                }
            }
            assert_eq!(count(&padding(&p)), 0, "{w} × {h}");
            assert_eq!(count(&flat_regions(&p)), 0, "{w} × {h}");
        }
    }

    #[test]
    fn dark_specks_lines_and_clipped_cells_are_not_padding() {
        let (w, h) = (200, 150);
        let mut p = field(w, h);
        // dead pixels, a dead column, 3-px-wide dark lines, and clipped cell bodies 12 px
        // wide (together more than a region of padding covers, so each is weighed alone)
        p.data[5 * w + 5] = 0.0;
        for y in 0..h {
            p.data[y * w + 100] = 0.0;
        }
        for top in [40, 60, 80] {
            for y in top..top + 12 {
                for x in 20..90 {
                    p.data[y * w + x] = 0.0;
                }
            }
        }
        for top in [110, 120, 130] {
            for y in top..top + 3 {
                for x in 0..w {
                    p.data[y * w + x] = 0.0;
                }
            }
        }
        assert!(p.data.iter().filter(|&&v| v == 0.0).count() >= MIN_PIXELS);
        assert_eq!(count(&padding(&p)), 0);
    }

    #[test]
    fn not_a_number_is_always_padding_and_a_flat_image_is_all_padding() {
        let mut p = field(20, 10);
        p.data[7] = f32::NAN;
        p.data[8] = f32::INFINITY;
        assert_eq!(count(&padding(&p)), 2);
        assert_eq!(count(&padding(&Plane::new(60, 60, vec![3.0; 3600]))), 3600);
    }

    #[test]
    fn flat_regions_of_any_value_but_not_a_cameras_picture() {
        let (w, h) = (200, 150);
        let mut p = field(w, h);
        assert_eq!(count(&flat_regions(&p)), 0);
        for y in 0..h {
            for x in 150..w {
                p.data[y * w + x] = 0.33;
            }
        }
        assert_eq!(count(&flat_regions(&p)), 50 * h);
    }
}
