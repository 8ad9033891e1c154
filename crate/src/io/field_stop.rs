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
//! - it is dark: its 9 × 9 means lie below [`DARK`] of the way from the darkest square's
//!   median to the picture's background (the upper quartile of the squares' medians; see
//!   [`crate::io::light`]), and the darkest square is under half that background
//!   ([`CONTRAST`]). Phase contrast's cells are dark but their halos bright, so a packed
//!   colony's means hardly drop;
//! - it reaches the image's edge (or its padding), as what lies outside an aperture does;
//! - what it leaves is one picture: the largest piece of the rest holds [`ONE_PICTURE`] of it.
//!   A fluorescence channel, whose dark background reaches every edge, leaves a thousand cells
//!   apart;
//! - it is wide: [`MIN_INNER`] pixels lie [`INNER`] pixels or more inside it;
//! - and it has no structure: beyond its noise, its 9 × 9 means hardly change from one to the
//!   next ([`STRUCTURE`]). The dim corner of a vignetted field holds cells or the light's own
//!   slope, both of which do. Measured on copies of phase_027, in the steps the noise alone
//!   gives: a noisy dark outside 1.0 (its edge blurred, 1.0; saved as an 8-bit JPEG, 1.9); the
//!   dim side of light falling fourfold 5.8, the corners of vignetting 70% darker 6.4, and 88%
//!   darker 10.
//!
//! The region found by its means ends a few pixels short of the aperture's edge, so it is
//! grown through the pixels below half that level (where the noise of a camera's dark hardly
//! reaches, and a cell's body does not), at most [`GROW`] pixels.

use std::collections::VecDeque;

use image::{GrayImage, Luma};
use imageproc::distance_transform::Norm;
use imageproc::morphology::erode;

use crate::core::plane::Plane;
use crate::io::light::squares;
use crate::io::normalise::percentile;
use crate::io::padding::{MIN_PIXELS, MIN_SHARE};

/// The half-width of the squares whose means tell dark from picture (9 × 9).
pub const RADIUS: usize = 4;

/// Dark is below this share of the way from the darkest square's median to the background.
pub const DARK: f32 = 0.35;

/// The darkest square's median is under this share of the background where there is a stop
/// (the dark level of a camera is far below what its light gives it).
pub const CONTRAST: f32 = 0.5;

/// The share of the rest of the image its largest piece holds.
pub const ONE_PICTURE: f64 = 0.99;

/// How far inside the region its inner pixels lie, in pixels.
pub const INNER: u8 = 9;

/// The fewest inner pixels.
pub const MIN_INNER: usize = MIN_PIXELS;

/// The most the region's 9 × 9 means move one square on (along x and y together, as the
/// median over the region), in the steps the noise alone gives them (see the module docs).
pub const STRUCTURE: f32 = 3.0;

/// The most pixels the region grows, to the aperture's edge.
pub const GROW: usize = 8;

/// Which pixels of a plane as the file holds it lie in a field stop's dark outside (see the
/// module docs); what is not a number (padding, marks) is skipped and never counted in.
pub fn outside(plane: &Plane) -> Vec<bool> {
    let none = vec![false; plane.width * plane.height];
    let Some((darkest, background)) = levels(plane) else {
        return none;
    };
    let level = |share: f32| darkest + share * (background - darkest);
    let means = means(plane);
    let dark: Vec<bool> = means.iter().map(|&m| m < level(DARK)).collect();
    let region = from_the_edge(plane, &dark, usize::MAX);
    if !is_outside(plane, &region, &means) {
        return none;
    }
    // to the edge of the aperture, through what is darker still pixel by pixel (a cell's
    // dark body touching the edge is not taken along)
    let dark: Vec<bool> = plane.data.iter().map(|&v| v < level(DARK / 2.0)).collect();
    let mut seeds = region;
    for (s, &d) in seeds.iter_mut().zip(&dark) {
        *s &= d;
    }
    grow(plane, seeds, &dark, GROW)
}

/// The darkest square's median and the background's (the upper quartile of the squares'
/// medians), or None where no square is dark enough to be a stop's outside (or the plane is
/// too small to read squares from, or signed).
fn levels(plane: &Plane) -> Option<(f32, f32)> {
    let medians = squares(plane)?.medians;
    let darkest = medians.iter().copied().fold(f32::INFINITY, f32::min);
    let background = percentile(&medians, 0.75);
    (darkest >= 0.0 && background > 0.0 && darkest < CONTRAST * background)
        .then_some((darkest, background))
}

/// Each pixel's mean over the (2 [`RADIUS`] + 1)² square around it, of the numbers there (NaN
/// where there are none), from summed-area tables.
fn means(plane: &Plane) -> Vec<f32> {
    let (w, h) = (plane.width, plane.height);
    // tables one larger each way: entry (x, y) sums the pixels above and left of it
    let (tw, th) = (w + 1, h + 1);
    let mut sum = vec![0.0f64; tw * th];
    let mut count = vec![0u64; tw * th];
    for y in 0..h {
        let (mut row_sum, mut row_count) = (0.0f64, 0u64);
        for x in 0..w {
            let v = plane.data[y * w + x];
            if v.is_finite() {
                row_sum += v as f64;
                row_count += 1;
            }
            sum[(y + 1) * tw + x + 1] = sum[y * tw + x + 1] + row_sum;
            count[(y + 1) * tw + x + 1] = count[y * tw + x + 1] + row_count;
        }
    }
    let mut out = vec![f32::NAN; w * h];
    for y in 0..h {
        let (y0, y1) = (y.saturating_sub(RADIUS), (y + RADIUS + 1).min(h));
        for x in 0..w {
            let (x0, x1) = (x.saturating_sub(RADIUS), (x + RADIUS + 1).min(w));
            let corners = [y1 * tw + x1, y0 * tw + x0, y0 * tw + x1, y1 * tw + x0];
            let n =
                (count[corners[0]] + count[corners[1]]) - (count[corners[2]] + count[corners[3]]);
            if n > 0 {
                let total =
                    (sum[corners[0]] + sum[corners[1]]) - (sum[corners[2]] + sum[corners[3]]);
                out[y * w + x] = (total / n as f64) as f32;
            }
        }
    }
    out
}

/// The pixels of `within` reachable from the image's edge or from what is not a number,
/// through `within` (4-connected), at most `steps` from where they started.
fn from_the_edge(plane: &Plane, within: &[bool], steps: usize) -> Vec<bool> {
    let (w, h) = (plane.width, plane.height);
    let padded = |x: usize, y: usize| !plane.data[y * w + x].is_finite();
    let seeds: Vec<bool> = (0..w * h)
        .map(|i| {
            let (x, y) = (i % w, i / w);
            within[i]
                && (x == 0
                    || y == 0
                    || x + 1 == w
                    || y + 1 == h
                    || padded(x - 1, y)
                    || padded(x + 1, y)
                    || padded(x, y - 1)
                    || padded(x, y + 1))
        })
        .collect();
    grow(plane, seeds, within, steps)
}

/// `seeds`, grown through `within` (4-connected) by at most `steps` pixels.
fn grow(plane: &Plane, mut region: Vec<bool>, within: &[bool], steps: usize) -> Vec<bool> {
    let (w, h) = (plane.width, plane.height);
    let mut queue: VecDeque<(usize, usize)> =
        (0..w * h).filter(|&i| region[i]).map(|i| (i, 0)).collect();
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
    region
}

/// Whether a dark region from the edge is a stop's outside: large, wide, leaving one picture,
/// and without structure (see the module docs).
fn is_outside(plane: &Plane, region: &[bool], means: &[f32]) -> bool {
    let (w, h) = (plane.width, plane.height);
    let size = region.iter().filter(|&&r| r).count();
    if size == 0 || (size as f64) < MIN_SHARE * (w * h) as f64 {
        return false;
    }
    if !one_picture(plane, region) {
        return false;
    }
    let mask = GrayImage::from_fn(w as u32, h as u32, |x, y| {
        Luma([255 * u8::from(region[y as usize * w + x as usize])])
    });
    let inner: Vec<bool> = erode(&mask, Norm::LInf, INNER)
        .pixels()
        .map(|p| p[0] > 0)
        .collect();
    if inner.iter().filter(|&&i| i).count() < MIN_INNER {
        return false;
    }
    // the noise: pixels about their 9 × 9 means
    let residuals: Vec<f32> = (0..w * h)
        .filter(|&i| inner[i])
        .map(|i| plane.data[i] - means[i])
        .collect();
    let middle = percentile(&residuals, 0.5);
    let spread: Vec<f32> = residuals.iter().map(|r| (r - middle).abs()).collect();
    let noise = 1.4826 * percentile(&spread, 0.5);
    // the structure: how far the 9 × 9 means move one square on, along x and y together (a
    // slope along one of them is structure too). The noise alone moves each by √2 σ / 9, and
    // the length of two such steps has a median 1.1774 times that (a Rayleigh's).
    let step = 2 * RADIUS + 1;
    let mut moves = Vec::new();
    for y in 0..h.saturating_sub(step) {
        for x in 0..w.saturating_sub(step) {
            let i = y * w + x;
            if inner[i] && inner[i + step] && inner[i + step * w] {
                moves.push((means[i + step] - means[i]).hypot(means[i + step * w] - means[i]));
            }
        }
    }
    let structure = percentile(&moves, 0.5) / 1.1774;
    structure <= STRUCTURE * noise * std::f32::consts::SQRT_2 / step as f32
}

/// Whether the pixels outside `region` (and not padding) make one picture: its largest
/// 4-connected piece holds [`ONE_PICTURE`] of them.
fn one_picture(plane: &Plane, region: &[bool]) -> bool {
    let (w, h) = (plane.width, plane.height);
    let picture: Vec<bool> = (0..w * h)
        .map(|i| !region[i] && plane.data[i].is_finite())
        .collect();
    let total = picture.iter().filter(|&&p| p).count();
    let enough = (ONE_PICTURE * total as f64).ceil() as usize;
    let mut seen = vec![false; w * h];
    let mut visited = 0;
    let mut stack = Vec::new();
    for start in 0..w * h {
        if !picture[start] || seen[start] {
            continue;
        }
        // no piece left can be large enough
        if total - visited < enough {
            return false;
        }
        seen[start] = true;
        stack.push(start);
        let mut piece = 0;
        while let Some(i) = stack.pop() {
            piece += 1;
            for j in beside(i, w, h).into_iter().flatten() {
                if picture[j] && !seen[j] {
                    seen[j] = true;
                    stack.push(j);
                }
            }
        }
        if piece >= enough {
            return true;
        }
        visited += piece;
    }
    total == 0
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
        for (what, plane) in [
            ("even", even),
            ("vignetted", vignetted),
            ("fluorescence", fluorescence),
            ("capped", capped),
        ] {
            assert_eq!(count(&outside(&plane)), 0, "{what}");
        }
    }
}
