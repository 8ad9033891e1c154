//! Padding: the flat black that stitching, registration, rotation and a microscope's round
//! field stop leave around the specimen, and the NaN a float image holds where it has no data.
//!
//! It is not part of the picture, but left in, it is. The 1–99% window starts at its black,
//! so the cells' contrast is squeezed (a black band over a fifth of phase_027 took the U-Net's
//! held-out F1 from 0.81 to 0.75; a round field stop, to 0.76), and a black region reads to
//! the networks as one huge dark cell body. [`crate::io::normalise`] leaves the padding out of
//! the window and gives it the background's level; the clean-up finds it again there
//! ([`flat_regions`]) and keeps cells off it, as what the networks make of a flat field
//! beside a halo is not a cell.
//!
//! Padding is told from dark parts of the picture by being exactly flat: pixels of one value
//! with nothing else within [`FLAT_RADIUS`] (no camera draws a 5 × 5 square of one value
//! through its noise, and a clipped cell body or a dead column is narrower than a band of
//! padding), in a region of at least [`MIN_SHARE`] of the image and [`MIN_PIXELS`] (many
//! cells' worth: a dead pixel, a clipped speck or a cell's clipped core is not padding).

use image::{GrayImage, Luma};
use imageproc::distance_transform::Norm;
use imageproc::morphology::dilate;
use imageproc::region_labelling::{Connectivity, connected_components};

use crate::core::plane::Plane;

/// Padding is flat over squares of this half-width (5 × 5).
pub const FLAT_RADIUS: u8 = 2;

/// The least share of the image a region of padding covers.
pub const MIN_SHARE: f64 = 0.01;

/// The fewest pixels a region of padding covers (50 × 50; four of the tutorial's cells).
pub const MIN_PIXELS: usize = 2_500;

/// Which pixels are padding in a plane as the file holds it: the image's lowest value where
/// it is flat over a large region (see the module docs), the pixels at that value joined to
/// such a region (the steps of a round stop's edge, narrower than the square), and every
/// pixel that is not a finite number.
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
    if blank.iter().filter(|&&b| b).count() < least_region(w, h) {
        return pad;
    }
    // blank pixels as one value and the rest as another: the flat regions of the first
    let two = Plane::new(
        w,
        h,
        blank.iter().map(|&b| f32::from(u8::from(!b))).collect(),
    );
    let flat = flat_regions(&two);
    let mask = GrayImage::from_fn(w as u32, h as u32, |x, y| {
        Luma([255 * u8::from(blank[y as usize * w + x as usize])])
    });
    let joined = connected_components(&mask, Connectivity::Eight, Luma([0]));
    let regions = joined.pixels().map(|p| p[0] as usize).max().unwrap_or(0) + 1;
    let mut padded = vec![false; regions];
    for (i, region) in joined.pixels().enumerate() {
        if flat[i] && blank[i] {
            padded[region[0] as usize] = true;
        }
    }
    for (i, region) in joined.pixels().enumerate() {
        pad[i] |= region[0] > 0 && padded[region[0] as usize];
    }
    pad
}

/// The large regions of one exact value: every pixel a 5 × 5 square of a single value covers
/// (beyond the edge, the edge's pixels go on), in a region of at least [`MIN_SHARE`] of the
/// image and [`MIN_PIXELS`]. On a normalised plane that is its padding, which normalising
/// set to one level, and any other flat frame; a picture through a camera has none.
pub fn flat_regions(plane: &Plane) -> Vec<bool> {
    let (w, h) = (plane.width, plane.height);
    if w == 0 || h == 0 {
        return Vec::new();
    }
    let r = FLAT_RADIUS as isize;
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
    // the squares themselves: cores grown by the square's half-width
    let squares = dilate(&core, Norm::LInf, FLAT_RADIUS);
    let in_square: Vec<bool> = squares.pixels().map(|p| p[0] > 0).collect();
    // Regions of one value (8-connected): a flood by hand, as imageproc labels u8 images and
    // these values are any f32. A pixel in a square has the square's value.
    let least = least_region(w, h);
    let mut flat = vec![false; w * h];
    let mut seen = vec![false; w * h];
    let mut region = Vec::new();
    for start in 0..w * h {
        if !in_square[start] || seen[start] {
            continue;
        }
        let v = plane.data[start];
        seen[start] = true;
        region.clear();
        region.push(start);
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
        if region.len() >= least {
            for &i in &region {
                flat[i] = true;
            }
        }
    }
    flat
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

/// The fewest pixels a region of padding covers in a `w` × `h` image.
fn least_region(w: usize, h: usize) -> usize {
    ((MIN_SHARE * (w * h) as f64).ceil() as usize).max(MIN_PIXELS)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A noisy mid-grey field (values 1000 ± 40, no two neighbours alike for long).
    fn field(w: usize, h: usize) -> Plane {
        let data = (0..w * h)
            .map(|i| 1000.0 + ((i * 7919 + i / w * 104_729) % 81) as f32 - 40.0)
            .collect();
        Plane::new(w, h, data)
    }

    fn count(pad: &[bool]) -> usize {
        pad.iter().filter(|&&p| p).count()
    }

    #[test]
    fn a_black_band_and_a_round_field_stop_are_padding() {
        let (w, h) = (200, 150);
        let mut band = field(w, h);
        for y in 0..h {
            for x in 0..40 {
                band.data[y * w + x] = 0.0;
            }
        }
        let pad = padding(&band);
        assert_eq!(count(&pad), 40 * h);
        assert!(pad[10 * w + 39] && !pad[10 * w + 40]);

        // four corners outside a circle, each a region of its own
        let (w, h) = (300, 240);
        let mut stop = field(w, h);
        let mut outside = 0;
        for y in 0..h {
            for x in 0..w {
                if ((x as f32 - 150.0).powi(2) + (y as f32 - 120.0).powi(2)).sqrt() > 130.0 {
                    stop.data[y * w + x] = 0.0;
                    outside += 1;
                }
            }
        }
        assert_eq!(count(&padding(&stop)), outside);
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
