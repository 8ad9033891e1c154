//! Noise beyond what the networks learned, traded for blur they learned to bear.
//!
//! The networks learned from phase_027, whose pixel noise is 2.6% of its 1–99% range, with
//! noise of up to 0.04 of that range added ([`crate::train::looks::NOISE`]; 4.8% together,
//! in quadrature) and its contrast cut by up to 1.4 ([`crate::train::looks::GAIN`]: 6.7% at
//! the most), and blurs up to σ 1.2 px. An image noisier than that (a short exposure, a
//! faint sample) gave the networks texture they never saw:
//! misshapen and missing cells. A Gaussian blur averages the noise down while a cell, many
//! pixels wide, keeps its shape: measured (`cellseg segment --scale auto`, held-out F1 @ 0.5)
//! on phase_027 with five times its noise 0.714 → 0.757, with its contrast ÷ 5 0.691 → 0.779,
//! and on a synthetic colony at half the contrast and 2.5 times the noise 0.819 → 0.998.
//!
//! The blur is chosen to bring the noise back to the tutorial's share of the range, and only
//! where it is beyond the noisiest the networks learned, so every image they learned to
//! segment (every dense real image measured: 0–3.3%; sparse ones below) is seen exactly as
//! before. The clean-up, the measurements and the cell exports read the image as it is; only
//! the networks' view (and so the probability maps) is smoothed.
//!
//! A sparse field is the exception ([`SPARSE_TAIL`]). A few cells on an empty background
//! leave the 1–99% window to the background alone, so the noise is a large share of it
//! (van Vliet's first pages, two *E. coli* in 727 × 1026 px: 4–9.7%) although the cells stand
//! far out of it. The networks learned such fields (a quarter of their crops had an empty
//! field's stretch of up to 4×), and they found those cells; smoothed and re-windowed, the
//! background's own mottling was stretched into 17–25 "cells" a page, next to the two real
//! ones.

use image::{GrayImage, ImageBuffer, Luma};
use imageproc::filter::{gaussian_blur_f32, median_filter};

use crate::core::plane::Plane;
use crate::io::marks::left_out;
use crate::io::normalise::{CLAMP, noise_sigma, percentile, window_with_noise};
use crate::train::looks;

/// The tutorial image's pixel noise as a share of its 1–99% range (checked by a test on the
/// real image).
pub const TUTORIAL_NOISE: f32 = 0.026;

/// Where cells lie more than this many noise deviations below the picture's 1% level, they
/// stand out beyond the window the background set: a sparse field, not smoothed. Measured on
/// the pixels that far below, each taken as the vote of the 5 × 5 square around it (dark
/// where 13 of its 25 are; squares reaching past the picture's edge do not count, and what
/// normalising left out is never dark), so a cell's body counts and its noisiest pixels, a
/// dead column or two or a fringe beside padding do not. Where noise is what hides the
/// cells, the darkest 1% are its own tail and the bodies lie at most 3.5 deviations further
/// (phase_027 and synthetic colonies made fainter or noisier); on van Vliet's sparse pages
/// 39–40 deviations further, in phase_027 itself 12.5, in the quality suite's sparse noisy
/// fields 9–12. Mottled empty fields read 0–11 (three of those that were smoothed no longer
/// are).
///
/// What it takes for a sparse field, too: any dark thing beyond the bar that normalising
/// does not leave out, as large as a cell's body — a field stop's corners under 1% of the
/// picture, a seam 3 px wide or more, opaque debris — so a noisy image holding one is seen
/// unsmoothed, as before smoothing was done at all.
pub const SPARSE_TAIL: f32 = 6.0;

/// The share of the picture such bodies must cover ([`SPARSE_TAIL`])...
pub const SPARSE_SHARE: f64 = 1e-4;
/// ...but at least the first and at most the second of these many pixels: about the dark
/// body of one cell as wide as the tutorial's rods (some 300 px of one at ×1), so a large
/// frame needs one cell, not a share of its own size.
pub const SPARSE_PIXELS: (usize, usize) = (16, 250);

/// The largest blur, σ in the networks' pixels: phase_027 blurred this much keeps its cells
/// (held-out F1 0.791 against 0.803), and on the noisiest copies measured it did better than
/// σ 1.2 and 1.6 (phase_027 at contrast ÷ 5, blurred beforehand: 0.787 / 0.779 / 0.807).
pub const MAX_BLUR: f32 = 2.0;

/// White noise blurred by a Gaussian of σ keeps 1 / (2√π σ) of its deviation.
fn kept(sigma: f32) -> f32 {
    1.0 / (2.0 * std::f32::consts::PI.sqrt() * sigma)
}

/// The noisiest the networks learned, as a share of the range: the tutorial's own noise and
/// the most the looks added, at the lowest contrast they drew. (A bar at 4.8%, without the
/// contrast, also smoothed the synthetic colonies' own look, 5.4–6.6%, and cost round cells
/// AP @ 0.75 0.563 → 0.297.)
pub fn learned_noise() -> f32 {
    TUTORIAL_NOISE.hypot(looks::NOISE) * looks::GAIN
}

/// `plane`'s pixel noise as a share of its 1–99% range (0 for a flat plane), and the noise
/// itself. Padding, marks and a field stop's outside are flat: left out, they neither halve
/// the noise nor narrow the range.
pub fn noise_share(plane: &Plane) -> (f32, f32) {
    share_of(&picture_only(plane))
}

/// [`noise_share`] of a picture already without what normalising left out (NaN).
fn share_of(picture: &Plane) -> (f32, f32) {
    let noise = noise_sigma(picture);
    let range = percentile(&picture.data, 0.99) - percentile(&picture.data, 0.01);
    if range > 0.0 {
        (noise / range, noise)
    } else {
        (0.0, noise)
    }
}

/// Whether `plane` is a sparse field whose cells stand out beyond its window
/// ([`SPARSE_TAIL`], [`SPARSE_SHARE`]), given its pixel `noise`.
pub fn sparse(plane: &Plane, noise: f32) -> bool {
    sparse_picture(&picture_only(plane), noise)
}

/// [`sparse`] of a picture already without what normalising left out (NaN: never dark).
fn sparse_picture(picture: &Plane, noise: f32) -> bool {
    if noise <= 0.0 {
        return false;
    }
    let level = percentile(&picture.data, 0.01) - SPARSE_TAIL * noise;
    let dark = GrayImage::from_fn(picture.width as u32, picture.height as u32, |x, y| {
        Luma([
            if picture.data[y as usize * picture.width + x as usize] < level {
                255
            } else {
                0
            },
        ])
    });
    // the median repeats the edge beyond it: only squares wholly inside count, or a dark
    // line along the edge (a drift correction's fill, a sensor's dark first row) would
    let (w, h) = (picture.width, picture.height);
    let bodies = median_filter(&dark, 2, 2)
        .enumerate_pixels()
        .filter(|&(x, y, p)| {
            let (x, y) = (x as usize, y as usize);
            p.0[0] != 0
                && (2..w.saturating_sub(2)).contains(&x)
                && (2..h.saturating_sub(2)).contains(&y)
        })
        .count();
    let pixels = picture.data.iter().filter(|v| !v.is_nan()).count();
    let needed =
        (SPARSE_SHARE * pixels as f64).clamp(SPARSE_PIXELS.0 as f64, SPARSE_PIXELS.1 as f64);
    bodies as f64 >= needed
}

/// `plane` with what normalising left out ([`left_out`]) as NaN, which measurements skip.
fn picture_only(plane: &Plane) -> Plane {
    let out = left_out(plane);
    if !out.contains(&true) {
        return plane.clone();
    }
    let data = (plane.data.iter().zip(&out))
        .map(|(&v, &o)| if o { f32::NAN } else { v })
        .collect();
    Plane::new(plane.width, plane.height, data)
}

/// The blur, σ in the image's pixels, that brings `share` of noise back to the tutorial's for
/// networks that see the image resampled by `factor`; None where they see no more noise than
/// they learned. Shrinking averages the noise down by the factor; enlarging spreads each
/// pixel's noise over several, so it is blurred in the image's own pixels either way. At most
/// [`MAX_BLUR`] in the networks' pixels.
pub fn blur_for(share: f32, factor: f64) -> Option<f32> {
    let factor = factor as f32;
    (share * factor.min(1.0) > learned_noise()).then(|| {
        let sigma = share / (TUTORIAL_NOISE / kept(1.0));
        sigma.min(MAX_BLUR / factor)
    })
}

/// A plane smoothed for the networks, and the blur used.
pub struct Smoothed {
    pub plane: Plane,
    /// σ of the blur in the networks' pixels.
    pub blur: f32,
}

/// `plane` (normalised) smoothed for networks that see it resampled by `factor`, where it is
/// noisier than they learned and not a sparse field whose cells stand out ([`sparse`]); None
/// where it is seen as it is.
///
/// The noise is measured in the image's own pixels, where it is what the camera gave
/// (resampled, neighbouring pixels share it and it reads lower than it is), and the blur is
/// applied there, before resampling. The smoothed plane then takes its own 1–99% window: the
/// noise's tails had set the old one, squeezing the cells' contrast (with the old window,
/// phase_027 at contrast ÷ 5 read held-out F1 0.743 smoothed, at ×1; 0.788 with its own).
/// Its floor is the noise as blurred (the noise read on the blurred plane would be lower
/// still): an empty field stays as faint as it was, not stretched into texture.
pub fn for_networks(plane: &Plane, factor: f64) -> Option<Smoothed> {
    let picture = picture_only(plane);
    let (share, noise) = share_of(&picture);
    let sigma = blur_for(share, factor).filter(|_| !sparse_picture(&picture, noise))?;
    let buffer = ImageBuffer::<Luma<f32>, _>::from_raw(
        plane.width as u32,
        plane.height as u32,
        plane.data.clone(),
    )
    .expect("a plane's data fills its size");
    let mut smoothed = Plane::new(
        plane.width,
        plane.height,
        gaussian_blur_f32(&buffer, sigma).into_raw(),
    );
    let w = window_with_noise(&picture_only(&smoothed), noise * kept(sigma).min(1.0));
    let span = (w.high - w.low).max(f32::EPSILON);
    for v in &mut smoothed.data {
        *v = ((*v - w.low) / span).clamp(CLAMP.0, CLAMP.1);
    }
    Some(Smoothed {
        plane: smoothed,
        blur: sigma * factor as f32,
    })
}

/// What smoothing by `blur` (σ in the networks' pixels) did, in words, for a result's notes.
pub fn note(blur: f32) -> String {
    format!(
        "noisier than the networks learned: they saw it smoothed (Gaussian σ {blur:.2} px in \
         their pixels), the cells measured on the image as it is"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::normalise::NOISE_SPAN;
    use rand::{RngExt, SeedableRng};

    /// A field of dark rods 12 px wide on a background (none where `rods` is false), with
    /// Gaussian noise of `noise`.
    fn field(noise: f32, rods: bool) -> Plane {
        let (w, h) = (120, 90);
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let data = (0..w * h)
            .map(|i| {
                let (x, y) = (i % w, i / w);
                let rod = rods && x % 30 < 12 && (10..80).contains(&y);
                // Box–Muller
                let u: f32 = rng.random_range(f32::EPSILON..1.0);
                let turn: f32 = rng.random_range(0.0..std::f32::consts::TAU);
                let gauss = (-2.0 * u.ln()).sqrt() * turn.cos();
                (if rod { 0.1 } else { 0.4 }) + noise * gauss
            })
            .collect();
        Plane::new(w, h, data)
    }

    #[test]
    fn images_as_noisy_as_the_networks_learned_are_seen_as_they_are() {
        for noise in [0.0, 0.005, 0.01] {
            let plane = field(noise, true);
            assert!(noise_share(&plane).0 <= learned_noise(), "{noise}");
            for factor in [0.5, 1.0, 2.0] {
                assert!(for_networks(&plane, factor).is_none(), "{noise} ×{factor}");
            }
        }
        assert!(
            for_networks(&Plane::new(4, 4, vec![0.5; 16]), 1.0).is_none(),
            "flat"
        );
    }

    #[test]
    fn noisier_images_are_smoothed_back_towards_the_tutorials_noise() {
        let plane = field(0.04, true);
        let (share, _) = noise_share(&plane);
        assert!(share > learned_noise(), "{share}");
        let smoothed = for_networks(&plane, 1.0).expect("smoothed");
        assert!(
            (0.5..=MAX_BLUR).contains(&smoothed.blur),
            "{}",
            smoothed.blur
        );
        let after = noise_share(&smoothed.plane).0;
        assert!(after < 0.6 * share, "{share} → {after}");
        // the rods keep their depth, and the new window stretches it: the middle of one
        // near 0, the background between them well above
        let at = |p: &Plane, x: usize, y: usize| p.data[y * p.width + x];
        let p = &smoothed.plane;
        assert!(at(p, 6, 45) < 0.15 && at(p, 21, 45) > 0.7);
    }

    #[test]
    fn a_sparse_field_whose_cells_stand_out_is_seen_as_it_is() {
        // two dark rods (0.2% of the pixels) on a noisy background 400 × 300: the window is
        // the background's, the noise a large share of it, but the rods lie far beyond it;
        // `dead`: columns at -1 (far below everything) instead
        let noisy = |depth: f32, rods: bool, dead: &[usize]| {
            let (w, h) = (400, 300);
            let mut rng = rand::rngs::StdRng::seed_from_u64(9);
            let data = (0..w * h)
                .map(|i| {
                    let (x, y) = (i % w, i / w);
                    let rod = rods && (100..130).contains(&y) && (x % 200) < 4;
                    let level = if rod { 0.4 - depth } else { 0.4 };
                    let u: f32 = rng.random_range(f32::EPSILON..1.0);
                    let turn: f32 = rng.random_range(0.0..std::f32::consts::TAU);
                    let gauss = (-2.0 * u.ln()).sqrt() * turn.cos();
                    if dead.contains(&x) {
                        -1.0
                    } else {
                        level + 0.04 * gauss
                    }
                })
                .collect();
            Plane::new(w, h, data)
        };
        let plane = noisy(0.8, true, &[]);
        let (share, noise) = noise_share(&plane);
        assert!(share > learned_noise(), "{share}");
        assert!(sparse(&plane, noise));
        assert!(for_networks(&plane, 1.0).is_none());
        // as faint as the noise, they no longer stand out: smoothed
        assert!(for_networks(&noisy(0.06, true, &[]), 1.0).is_some());
        // dead columns lie far darker, but as lines, not cells' bodies: smoothed, inside
        // the picture and along either edge (where the median repeats the edge beyond it)
        for dead in [&[300][..], &[300, 301], &[0], &[0, 1], &[399], &[398, 399]] {
            let plane = noisy(0.0, false, dead);
            assert!(for_networks(&plane, 1.0).is_some(), "{dead:?}");
        }
        // but three side by side are as wide as a thin cell's body
        assert!(for_networks(&noisy(0.0, false, &[300, 301, 302]), 1.0).is_none());
    }

    #[test]
    fn an_empty_field_smoothed_is_not_stretched_into_texture() {
        // pure noise: the window is the noise's floor before and after, so the smoothed
        // noise spans less of it than the noise did
        let plane = field(0.04, false);
        let w = crate::io::normalise::window(&plane);
        let before = noise_sigma(&plane) / (w.high - w.low);
        assert!((before - 1.0 / NOISE_SPAN).abs() < 0.01, "{before}");
        let smoothed = for_networks(&plane, 1.0).expect("smoothed");
        let spread = |p: &Plane| {
            let m = p.data.iter().sum::<f32>() / p.data.len() as f32;
            (p.data.iter().map(|v| (v - m).powi(2)).sum::<f32>() / p.data.len() as f32).sqrt()
        };
        let stretched = spread(&smoothed.plane);
        assert!(stretched < 1.2 / NOISE_SPAN, "{stretched}");
    }

    #[test]
    fn the_blur_is_in_the_images_pixels_and_at_most_max_blur_in_the_networks() {
        let share = 2.0 * learned_noise();
        let at_one = blur_for(share, 1.0).unwrap();
        // shrunk to half, the networks' pixels average four: the noise reads halved and
        // sits at the bar, so no blur
        assert_eq!(blur_for(learned_noise() * 1.9, 0.5), None);
        // shrunk less, the same blur in the image's pixels, and half as wide in the networks'
        assert_eq!(blur_for(share, 0.75), Some(at_one));
        // enlarged, the blur is still in the image's pixels, capped in the networks'
        let big = blur_for(1.0, 3.0).unwrap();
        assert!((big * 3.0 - MAX_BLUR).abs() < 1e-5, "{big}");
        assert_eq!(blur_for(1.0, 1.0), Some(MAX_BLUR));
        assert_eq!(blur_for(learned_noise(), 1.0), None);
        let plane = field(0.04, true);
        let twice = for_networks(&plane, 2.0).expect("smoothed");
        let once = for_networks(&plane, 1.0).expect("smoothed");
        assert!((twice.blur - 2.0 * once.blur).abs() < 1e-4 || twice.blur == MAX_BLUR);
    }

    #[test]
    fn a_flat_frame_neither_hides_the_noise_nor_narrows_the_range() {
        // a noisy picture in a black frame as wide again: read on the picture alone
        let inner = field(0.04, true);
        let (w, h) = (inner.width + 60, inner.height + 60);
        let mut data = vec![0.0; w * h];
        for y in 0..inner.height {
            for x in 0..inner.width {
                data[(y + 30) * w + x + 30] = inner.data[y * inner.width + x];
            }
        }
        let framed = Plane::new(w, h, data);
        let (inside, _) = noise_share(&inner);
        let (with_frame, _) = noise_share(&framed);
        assert!(
            (with_frame / inside - 1.0).abs() < 0.15,
            "{inside} {with_frame}"
        );
        assert!(for_networks(&framed, 1.0).is_some());
    }
}
