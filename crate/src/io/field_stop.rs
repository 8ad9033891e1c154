//! A field stop's dark outside: where the round aperture of a microscope or its camera
//! adapter cuts the field off, the image holds the camera's dark level and its noise.
//!
//! Flat padding is left out already ([`crate::io::padding`]), but a camera's dark is not flat:
//! it carries read noise, so it was read as picture. The 1–99% window then starts in the
//! dark, the cells keep a fraction of the contrast the networks know, and phase_027 with a
//! fifth of it outside a round stop (300 ± 63 counts against a background of 2,000) fell from
//! a held-out F1 of 0.81 to 0.75. So the outside is found and left out of the picture as
//! padding is.
//!
//! A region is a stop's outside when all of these hold:
//! - it is dark: its 9 × 9 means lie below [`DARK`] of the way from the darkest 64-px
//!   square's median to the picture's background (the upper quartile of the squares'
//!   medians; see [`crate::io::light`]), the darkest square is under half that background
//!   ([`CONTRAST`]), and the two are [`CONTRAST_NOISE`] noise deviations apart. Phase
//!   contrast's cells are dark but their halos bright, so a packed colony's means hardly drop;
//! - it reaches the image's edge, or what is not a number (padding, marks), as what lies
//!   outside an aperture does;
//! - what it leaves is one picture: the largest piece of the rest holds [`ONE_PICTURE`] of it.
//!   A fluorescence channel, whose dark background lies between its cells, leaves them apart;
//! - it is wide: [`MIN_INNER`] pixels lie more than [`INNER`] pixels inside it;
//! - it lies at one level, as a camera's dark does: its 9 × 9 means span at most [`LEVEL`] of
//!   the contrast (10th to 90th percentile). The dim side of uneven light, or a vignetted
//!   corner, runs down to the darkest square and up to the threshold;
//! - and it has no structure: its 9 × 9 means move from one square to the next by little more
//!   than the noise alone moves them ([`STRUCTURE`]). Cells, or the light's own slope, move
//!   them more. Measured on copies of phase_027, in the steps the noise alone gives: a noisy
//!   dark outside 1.0 (its edge blurred, 1.0; saved as an 8-bit JPEG, 1.9); the dim side of
//!   light falling fourfold 5.8, the corners of vignetting 70% darker 6.4, and 88% darker 10.
//!
//! What is left out is then the region's inside, as a whole, and from there to the aperture's
//! edge (at most [`GROW`] pixels beyond the region) the pixels dark themselves, below half the
//! level; what that encloses (a hot pixel, the noise's brightest) goes with it. Each piece left out is as
//! large as a region of padding must be ([`MIN_PIXELS`]), so the clean-up finds it again once
//! normalising has made it flat ([`crate::io::marks::left_out`]).

use std::collections::VecDeque;

use image::{GrayImage, Luma};
use imageproc::distance_transform::Norm;
use imageproc::morphology::erode;

use crate::core::cells::Cells;
use crate::core::plane::Plane;
use crate::core::square_sums::square_sums;
use crate::io::light::squares;
use crate::io::normalise::{noise_sigma, percentile};
use crate::io::padding::{MIN_PIXELS, MIN_SHARE};

/// The half-width of the squares whose means tell dark from picture (9 × 9).
pub const RADIUS: usize = 4;

/// Dark is below this share of the way from the darkest square's median to the background.
pub const DARK: f32 = 0.35;

/// The darkest square's median is under this share of the background where there is a stop
/// (the dark level of a camera is far below what its light gives it).
pub const CONTRAST: f32 = 0.5;

/// ... and this many noise deviations below it (a background-subtracted image's few counts
/// are no stop).
pub const CONTRAST_NOISE: f32 = 10.0;

/// The share of the rest of the image its largest piece holds.
pub const ONE_PICTURE: f64 = 0.99;

/// How far inside the region its inner pixels lie, in pixels.
pub const INNER: u8 = 9;

/// The fewest inner pixels.
pub const MIN_INNER: usize = MIN_PIXELS;

/// The most the region's 9 × 9 means span (10th to 90th percentile), as a share of the
/// contrast (background less darkest square): stray light in a stop's dark, 300 to 600
/// counts across phase_027's width, spans 0.05 of it.
pub const LEVEL: f32 = 0.15;

/// The most the region's 9 × 9 means move one square on (along x and y together, as the
/// median over the region), in the steps the noise alone gives them (see the module docs).
pub const STRUCTURE: f32 = 3.0;

/// The most pixels what is left out reaches beyond the region its means find, to the
/// aperture's edge.
pub const GROW: usize = 8;

/// Samples enough for the medians of [`is_outside`]: its inner pixels, taken evenly.
const SAMPLES: usize = 1 << 20;

/// Which pixels of a plane as the file holds it lie in a field stop's dark outside (see the
/// module docs); what is not a number (padding, marks) is never among them.
pub fn outside(plane: &Plane) -> Vec<bool> {
    let (w, h) = (plane.width, plane.height);
    let none = vec![false; w * h];
    let Some((darkest, background)) = levels(plane) else {
        return none;
    };
    let level = darkest + DARK * (background - darkest);
    let means = means(plane);
    let dark: Vec<bool> = (plane.data.iter().zip(&means))
        .map(|(v, &m)| v.is_finite() && m < level)
        .collect();
    let region = from_the_edge(plane, &dark);
    if !is_outside(plane, &region, &means, darkest, background) {
        return none;
    }
    // the region's inside as a whole (its means are the dark's, and a noisy pixel of it is
    // still the dark); then to the aperture's edge through what is dark itself, below half
    // the level (where the noise of a camera's dark hardly reaches, and a cell's dark body
    // touching the edge does not)
    let mut left = eroded(&region, w, h, RADIUS as u8);
    let half = darkest + DARK / 2.0 * (background - darkest);
    let dark_itself: Vec<bool> = plane.data.iter().map(|&v| v < half).collect();
    grow(plane, &mut left, &dark_itself, RADIUS + GROW);
    // what that encloses goes with it: small pieces apart from the picture (its largest
    // piece) that no padding or mark cuts off, which would be picture too
    let rest: Vec<bool> = (0..w * h)
        .map(|i| !left[i] && plane.data[i].is_finite())
        .collect();
    let pieces = Cells::from_mask(&rest, w, h, 0);
    let largest = (pieces.areas.iter().enumerate())
        .max_by_key(|&(_, &n)| n)
        .map_or(0, |(i, _)| i + 1);
    // by piece (0: none): whether it goes
    let mut enclosed: Vec<bool> = std::iter::once(false)
        .chain(
            (pieces.areas.iter().enumerate())
                .map(|(i, &n)| i + 1 != largest && (n as usize) < MIN_PIXELS),
        )
        .collect();
    for (i, &p) in pieces.labels.iter().enumerate() {
        let cut_off = || {
            beside(i, w, h)
                .into_iter()
                .flatten()
                .any(|j| !plane.data[j].is_finite())
        };
        if enclosed[p as usize] && cut_off() {
            enclosed[p as usize] = false;
        }
    }
    for (l, &p) in left.iter_mut().zip(&pieces.labels) {
        *l |= enclosed[p as usize];
    }
    // and each piece large enough for the clean-up to find again once it is flat
    let pieces = Cells::from_mask(&left, w, h, MIN_PIXELS as u32);
    for (l, &p) in left.iter_mut().zip(&pieces.labels) {
        *l &= p != 0;
    }
    let total = left.iter().filter(|&&l| l).count();
    if (total as f64) < MIN_SHARE * (w * h) as f64 {
        return none;
    }
    left
}

/// The darkest square's median and the background's (the upper quartile of the squares'
/// medians), or None where no square is dark enough to be a stop's outside ([`CONTRAST`],
/// [`CONTRAST_NOISE`]), or the plane is too small to read squares from, or signed.
fn levels(plane: &Plane) -> Option<(f32, f32)> {
    let medians = squares(plane)?.medians;
    let darkest = medians.iter().copied().fold(f32::INFINITY, f32::min);
    let background = percentile(&medians, 0.75);
    // the noise last: it is the dearest to measure
    let dark = darkest >= 0.0 && background > 0.0 && darkest < CONTRAST * background;
    (dark && background - darkest >= CONTRAST_NOISE * noise_sigma(plane))
        .then_some((darkest, background))
}

/// Each pixel's mean over the (2 [`RADIUS`] + 1)² square around it, of the numbers there (NaN
/// where there are none).
fn means(plane: &Plane) -> Vec<f32> {
    let w = plane.width;
    let mut out = vec![f32::NAN; w * plane.height];
    square_sums(plane, RADIUS, |y, sums, counts| {
        let row = &mut out[y * w..][..w];
        for ((m, &s), &n) in row.iter_mut().zip(sums).zip(counts) {
            if n > 0 {
                *m = (s / n as f64) as f32;
            }
        }
    });
    out
}

/// The pixels of `within` reachable from the image's edge or from what is not a number,
/// through `within` (4-connected).
fn from_the_edge(plane: &Plane, within: &[bool]) -> Vec<bool> {
    let (w, h) = (plane.width, plane.height);
    let padded = |j: Option<usize>| j.is_some_and(|j| !plane.data[j].is_finite());
    let mut region: Vec<bool> = (0..w * h)
        .map(|i| {
            let (x, y) = (i % w, i / w);
            let edge = x == 0 || y == 0 || x + 1 == w || y + 1 == h;
            within[i] && (edge || beside(i, w, h).into_iter().any(padded))
        })
        .collect();
    grow(plane, &mut region, within, usize::MAX);
    region
}

/// Grows `region` through the numbers of `within` (4-connected), at most `steps` pixels on.
fn grow(plane: &Plane, region: &mut [bool], within: &[bool], steps: usize) {
    let (w, h) = (plane.width, plane.height);
    // from the region's boundary only: its inside has nowhere to go
    let mut queue: VecDeque<(usize, usize)> = (0..w * h)
        .filter(|&i| region[i] && beside(i, w, h).into_iter().flatten().any(|j| !region[j]))
        .map(|i| (i, 0))
        .collect();
    while let Some((i, step)) = queue.pop_front() {
        if step == steps {
            continue;
        }
        for j in beside(i, w, h).into_iter().flatten() {
            if within[j] && !region[j] && plane.data[j].is_finite() {
                region[j] = true;
                queue.push_back((j, step + 1));
            }
        }
    }
}

/// What of `mask` lies more than `by` pixels inside it (the chessboard distance).
fn eroded(mask: &[bool], w: usize, h: usize, by: u8) -> Vec<bool> {
    let image = GrayImage::from_fn(w as u32, h as u32, |x, y| {
        Luma([255 * u8::from(mask[y as usize * w + x as usize])])
    });
    erode(&image, Norm::LInf, by)
        .pixels()
        .map(|p| p[0] > 0)
        .collect()
}

/// Whether a dark region from the edge is a stop's outside: large, wide, leaving one picture,
/// at one level and without structure (see the module docs).
fn is_outside(
    plane: &Plane,
    region: &[bool],
    means: &[f32],
    darkest: f32,
    background: f32,
) -> bool {
    let (w, h) = (plane.width, plane.height);
    let size = region.iter().filter(|&&r| r).count();
    if size == 0 || (size as f64) < MIN_SHARE * (w * h) as f64 {
        return false;
    }
    let rest: Vec<bool> = (0..w * h)
        .map(|i| !region[i] && plane.data[i].is_finite())
        .collect();
    let areas = Cells::from_mask(&rest, w, h, 0).areas;
    let total: usize = areas.iter().map(|&n| n as usize).sum();
    let largest = areas.iter().copied().max().unwrap_or(0) as usize;
    if total == 0 || (largest as f64) < ONE_PICTURE * total as f64 {
        return false;
    }
    let inner = eroded(region, w, h, INNER);
    let count = inner.iter().filter(|&&i| i).count();
    if count < MIN_INNER {
        return false;
    }
    let every = count.div_ceil(SAMPLES).max(1);
    let sampled: Vec<usize> = (0..w * h).filter(|&i| inner[i]).step_by(every).collect();
    // at one level
    let levels: Vec<f32> = sampled.iter().map(|&i| means[i]).collect();
    let span = percentile(&levels, 0.9) - percentile(&levels, 0.1);
    if span > LEVEL * (background - darkest) {
        return false;
    }
    // the noise: pixels about their 9 × 9 means (neighbouring pixels' differences would
    // miss the noise a JPEG smooths over a few pixels); where a dark clipped at zero leaves
    // most of them at one value, from their spread
    let residuals: Vec<f32> = sampled.iter().map(|&i| plane.data[i] - means[i]).collect();
    let middle = percentile(&residuals, 0.5);
    let typical: Vec<f32> = residuals.iter().map(|r| (r - middle).abs()).collect();
    // the spread of all but the farthest 1% (hot pixels, not yet calmed here)
    let far = percentile(&typical, 0.99);
    let near: Vec<f64> = (typical.iter().filter(|&&t| t <= far))
        .map(|&t| f64::from(t).powi(2))
        .collect();
    let spread = (near.iter().sum::<f64>() / near.len().max(1) as f64).sqrt() as f32;
    let noise = (1.4826 * percentile(&typical, 0.5)).max(0.5 * spread);
    // the structure: how far the 9 × 9 means move one square on, along x and y together (a
    // slope along one of them is structure too). The noise alone moves each by √2 σ / 9, and
    // the length of two such steps has a median 1.1774 times that (a Rayleigh's).
    let step = 2 * RADIUS + 1;
    let moves: Vec<f32> = (sampled.iter())
        .filter(|&&i| i % w + step < w && i + step * w < w * h)
        .filter(|&&i| inner[i + step] && inner[i + step * w])
        .map(|&i| (means[i + step] - means[i]).hypot(means[i + step * w] - means[i]))
        .collect();
    if moves.len() < MIN_INNER / 4 {
        return false;
    }
    let structure = percentile(&moves, 0.5) / 1.1774;
    structure <= STRUCTURE * noise * std::f32::consts::SQRT_2 / step as f32
}

/// Pixel `i`'s four neighbours in a `w` × `h` image, where it has them.
fn beside(i: usize, w: usize, h: usize) -> [Option<usize>; 4] {
    let (x, y) = (i % w, i / w);
    [
        (x > 0).then(|| i - 1),
        (x + 1 < w).then(|| i + 1),
        (y > 0).then(|| i - w),
        (y + 1 < h).then(|| i + w),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::light::tests::field;

    /// The camera's dark level and its noise, at pixel `i`.
    fn dark(i: usize) -> f32 {
        60.0 + (i * 7919 % 41) as f32
    }

    /// Noise of about one standard deviation at pixel `i`, near a Gaussian (the sum of four
    /// hashed uniforms), the same on every run.
    fn gaussian(i: usize) -> f32 {
        let uniform = |k: u64| {
            let mut z = (i as u64 * 4 + k).wrapping_add(0x9E37_79B9_7F4A_7C15);
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) >> 11) as f32 / (1u64 << 53) as f32
        };
        ((0..4).map(uniform).sum::<f32>() - 2.0) * 3.0f32.sqrt()
    }

    /// A sparse field: a few dark rods with bright halos on a background of 1,000 with
    /// Gaussian noise of `noise`, everything times `lamp(x, y)` (x and y 0..1 across).
    fn sparse(w: usize, h: usize, noise: f32, lamp: impl Fn(f32, f32) -> f32) -> Plane {
        let data = (0..w * h)
            .map(|i| {
                let (x, y) = (i % w, i / w);
                let rod = x % 160 < 12 && y % 120 < 40;
                let level = match (rod, x % 160) {
                    (true, 0 | 11) => 1600.0,
                    (true, _) => 500.0,
                    (false, _) => 1000.0,
                };
                let lit = lamp(x as f32 / (w - 1) as f32, y as f32 / (h - 1) as f32);
                (level + noise * gaussian(i)) * lit
            })
            .collect();
        Plane::new(w, h, data)
    }

    /// `plane` with what lies beyond `radius` of (`cx`, `cy`) dark; how many pixels that is.
    fn stopped(mut plane: Plane, cx: f32, cy: f32, radius: f32) -> (Plane, usize) {
        let w = plane.width;
        let mut n = 0;
        for (i, v) in plane.data.iter_mut().enumerate() {
            if ((i % w) as f32 - cx).hypot((i / w) as f32 - cy) > radius {
                *v = dark(i);
                n += 1;
            }
        }
        (plane, n)
    }

    fn count(mask: &[bool]) -> usize {
        mask.iter().filter(|&&m| m).count()
    }

    #[test]
    fn a_round_stops_noisy_dark_outside_is_found_to_its_edge() {
        for (cx, radius) in [(320.0, 300.0), (400.0, 260.0)] {
            let (plane, n) = stopped(field(640, 480, |_, _| 1.0), cx, 240.0, radius);
            let found = outside(&plane);
            assert!(
                count(&found).abs_diff(n) < n / 50,
                "{} of {n}",
                count(&found)
            );
            // nothing more than a pixel inside the aperture
            for (i, &f) in found.iter().enumerate() {
                let r = ((i % 640) as f32 - cx).hypot((i / 640) as f32 - 240.0);
                assert!(!f || r > radius - 1.5, "pixel {i} at {r}");
            }
        }
    }

    #[test]
    fn a_blurred_stop_beside_padding_is_found() {
        // the aperture's edge blurred over some 10 px, and the corners beyond it flat black
        let mut plane = field(640, 480, |_, _| 1.0);
        for (i, v) in plane.data.iter_mut().enumerate() {
            let r = ((i % 640) as f32 - 320.0).hypot((i / 640) as f32 - 240.0);
            let open = 1.0 / (1.0 + ((r - 280.0) / 3.0).exp());
            let picture = *v;
            *v = if r > 380.0 {
                f32::NAN
            } else {
                open * picture + (1.0 - open) * dark(i)
            };
        }
        let found = outside(&plane);
        let beyond = |radius: f32| {
            (0..640 * 480)
                .filter(|&i| {
                    let r = ((i % 640) as f32 - 320.0).hypot((i / 640) as f32 - 240.0);
                    r > radius && plane.data[i].is_finite()
                })
                .count()
        };
        assert!(count(&found) >= beyond(292.0), "{}", count(&found));
        assert!(count(&found) <= beyond(270.0), "{}", count(&found));
    }

    #[test]
    fn dark_parts_of_a_picture_are_not_a_stop() {
        // even light, and the dim corners of a field vignetted to an eighth
        let even = field(640, 480, |_, _| 1.0);
        let vignetted = field(640, 480, |x, y| {
            let (dx, dy) = (2.0 * x - 1.0, 2.0 * y - 1.0);
            1.0 - 0.44 * (dx * dx + dy * dy)
        });
        // a fluorescence channel: a colony of bright rods on the camera's dark, which lies
        // between them and reaches every edge
        let w = 640;
        let fluorescence = Plane::new(
            w,
            480,
            (0..w * 480)
                .map(|i| {
                    let (x, y) = (i % w, i / w);
                    if x > 320 && x % 12 < 8 && y % 40 < 34 {
                        2000.0 + dark(i)
                    } else {
                        dark(i)
                    }
                })
                .collect(),
        );
        // and a camera with its cap on
        let capped = Plane::new(w, 480, (0..w * 480).map(dark).collect());
        // sparse fields under uneven light, noisy: the dim side of light falling fourfold,
        // and corners vignetted to 30%
        let fourfold = sparse(1392, 1040, 30.0, |x, _| 1.6 - 1.2 * x);
        let corners = sparse(1392, 1040, 60.0, |x, y| {
            let (dx, dy) = (2.0 * x - 1.0, 2.0 * y - 1.0);
            1.0 - 0.35 * (dx * dx + dy * dy)
        });
        for (what, plane) in [
            ("even", even),
            ("vignetted", vignetted),
            ("a sparse field lit fourfold", fourfold),
            ("a sparse field vignetted", corners),
            ("fluorescence", fluorescence),
            ("capped", capped),
        ] {
            assert_eq!(count(&outside(&plane)), 0, "{what}");
        }
    }

    #[test]
    fn a_very_noisy_dark_and_a_hot_pixel_in_it_are_left_out_whole() {
        // the dark at 15% of the background with noise of 9% of it; a hot pixel in the corner
        let (w, h) = (640, 480);
        let mut plane = sparse(w, h, 20.0, |_, _| 1.0);
        let mut n = 0;
        for (i, v) in plane.data.iter_mut().enumerate() {
            if ((i % w) as f32 - 320.0).hypot((i / w) as f32 - 240.0) > 280.0 {
                *v = 150.0 + 90.0 * gaussian(i);
                n += 1;
            }
        }
        plane.data[5 * w + 5] = 60_000.0;
        let found = outside(&plane);
        assert!(found[5 * w + 5], "the hot pixel goes with the dark");
        // every pixel of the dark but a thin fringe at the aperture's edge
        assert!(count(&found) > n - n / 100, "{} of {n}", count(&found));
        assert!(count(&found) <= n + 1, "{} of {n}", count(&found));
    }

    #[test]
    fn corners_too_small_to_find_again_are_left_in() {
        // a round stop leaving four corners of about 1,500 px each: under a region of padding
        let (w, h) = (640, 480);
        let (plane, n) = stopped(field(w, h, |_, _| 1.0), 320.0, 240.0, 360.0);
        assert!(n > 4_000 && n < 4 * MIN_PIXELS, "{n}");
        assert_eq!(count(&outside(&plane)), 0);
    }

    #[test]
    fn the_clean_up_finds_the_outside_again_once_normalised() {
        let (w, h) = (640, 480);
        let (mut plane, _) = stopped(field(w, h, |_, _| 1.0), 320.0, 240.0, 290.0);
        let found = outside(&plane);
        crate::io::normalise::normalise(&mut plane);
        let again = crate::io::marks::left_out(&plane);
        // all but slivers at the aperture's jagged edge narrower than a flat square
        let missed = (found.iter().zip(&again))
            .filter(|&(&f, &a)| f && !a)
            .count();
        assert!(count(&found) > 0, "found");
        assert!(
            missed < count(&found) / 1000,
            "{missed} of {}",
            count(&found)
        );
    }
}
