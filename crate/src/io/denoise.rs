//! Noise beyond what the networks learned, traded for blur they learned to bear.
//!
//! The networks learned from phase_027, whose pixel noise is 2.6% of its 1–99% range, with
//! up to 0.04 of that range added ([`crate::train::looks::NOISE`]) and blurs up to σ 1.2 px.
//! An image noisier than that (a short exposure, a faint sample, a sparse field whose range
//! is mostly background) gave the networks texture they never saw: misshapen and missing
//! cells. A Gaussian blur averages the noise down while a cell, many pixels wide, keeps its
//! shape: measured (`cellseg segment --scale auto`, held-out F1 @ 0.5) on phase_027 with five
//! times its noise 0.714 → 0.762 at σ 1.2 and 0.781 at σ 2, with its contrast ÷ 5 0.691 →
//! 0.787 / 0.807, and on a synthetic colony at half the contrast and 2.5 times the noise
//! 0.819 → 0.991 / 0.998; phase_027 as it is, blurred σ 2, 0.791 against 0.803.
//!
//! The blur is chosen to bring the noise back to the tutorial's share of the range, and only
//! where it is beyond the noisiest the networks learned, so every image they learned to
//! segment (all real ones measured: 0–3.3%) is seen exactly as before.

use image::{ImageBuffer, Luma};
use imageproc::filter::gaussian_blur_f32;

use crate::core::plane::Plane;
use crate::io::normalise::{CLAMP, noise_sigma, percentile, window};
use crate::train::looks;

/// The tutorial image's pixel noise as a share of its 1–99% range (checked by a test on the
/// real image).
pub const TUTORIAL_NOISE: f32 = 0.026;

/// The largest blur, σ in the networks' pixels: phase_027 blurred this much keeps its cells
/// (held-out F1 0.791 against 0.803), and on the noisiest copies measured it did better than
/// σ 1.2 and 1.6.
pub const MAX_BLUR: f32 = 2.0;

/// The noisiest the networks learned: the tutorial's own noise and the most the looks added.
pub fn learned_noise() -> f32 {
    TUTORIAL_NOISE.hypot(looks::NOISE)
}

/// `plane`'s pixel noise as a share of its 1–99% range (0 for a flat plane).
pub fn noise_share(plane: &Plane) -> f32 {
    let range = percentile(&plane.data, 0.99) - percentile(&plane.data, 0.01);
    if range > 0.0 {
        noise_sigma(plane) / range
    } else {
        0.0
    }
}

/// The blur that brings `share` of noise back to the tutorial's: white noise blurred by σ
/// keeps 1 / (2√π σ) of its deviation. None at or below [`learned_noise`].
pub fn blur_for(share: f32) -> Option<f32> {
    (share > learned_noise()).then(|| {
        let sigma = share / (TUTORIAL_NOISE * 2.0 * std::f32::consts::PI.sqrt());
        sigma.min(MAX_BLUR)
    })
}

/// `plane` (normalised) smoothed for networks that see it resampled by `factor`, where it is
/// noisier than they learned, with the blur used in their pixels; None where it is seen as
/// it is.
///
/// The noise is measured in the image's own pixels, where it is what the camera gave
/// (resampled, neighbouring pixels share it and it reads lower than it is); shrinking the
/// image averages it down by the factor. The blur is applied before resampling, as wide in
/// the image's pixels as it must be in the networks'. The smoothed plane then takes its own
/// 1–99% window: the noise's tails had set the old one, squeezing the cells' contrast (with
/// the old window, phase_027 at contrast ÷ 5 read held-out F1 0.743 smoothed; 0.788 with its
/// own).
pub fn for_networks(plane: &Plane, factor: f64) -> Option<(Plane, f32)> {
    let sigma = blur_for(noise_share(plane) * factor.min(1.0) as f32)?;
    let buffer = ImageBuffer::<Luma<f32>, _>::from_raw(
        plane.width as u32,
        plane.height as u32,
        plane.data.clone(),
    )
    .expect("a plane's data fills its size");
    let mut smoothed = Plane::new(
        plane.width,
        plane.height,
        gaussian_blur_f32(&buffer, sigma / factor as f32).into_raw(),
    );
    let w = window(&smoothed);
    let span = (w.high - w.low).max(f32::EPSILON);
    for v in &mut smoothed.data {
        *v = ((*v - w.low) / span).clamp(CLAMP.0, CLAMP.1);
    }
    Some((smoothed, sigma))
}

/// What smoothing by `sigma` (in the networks' pixels) did, in words, for a result's notes.
pub fn note(sigma: f32) -> String {
    format!(
        "noisier than the networks learned: they saw it smoothed (Gaussian σ {sigma:.2} px in \
         their pixels; the cells are measured on the image as it is)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A field of dark rods 12 px wide on a background, with Gaussian noise of `noise`.
    fn rods(noise: f32) -> Plane {
        let (w, h) = (120, 90);
        let mut seed = 7u64;
        let mut uniform = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 11) as f32 + 0.5) / (1u64 << 53) as f32
        };
        let data = (0..w * h)
            .map(|i| {
                let (x, y) = (i % w, i / w);
                let base = if x % 30 < 12 && (10..80).contains(&y) {
                    0.1
                } else {
                    0.4
                };
                let (u, v) = (uniform(), uniform());
                let gauss = (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos();
                base + noise * gauss
            })
            .collect();
        Plane::new(w, h, data)
    }

    #[test]
    fn images_as_noisy_as_the_networks_learned_are_seen_as_they_are() {
        for noise in [0.0, 0.005, 0.01] {
            let plane = rods(noise);
            assert!(noise_share(&plane) <= learned_noise(), "{noise}");
            assert!(for_networks(&plane, 1.0).is_none(), "{noise}");
        }
        assert!(
            for_networks(&Plane::new(4, 4, vec![0.5; 16]), 1.0).is_none(),
            "flat"
        );
    }

    #[test]
    fn noisier_images_are_smoothed_back_towards_the_tutorials_noise() {
        let plane = rods(0.04);
        let share = noise_share(&plane);
        assert!(share > learned_noise(), "{share}");
        let (smoothed, sigma) = for_networks(&plane, 1.0).expect("smoothed");
        assert!((0.5..=MAX_BLUR).contains(&sigma), "{sigma}");
        let after = noise_share(&smoothed);
        assert!(after < 0.6 * share, "{share} → {after}");
        // the rods keep their depth, and the new window stretches it: the middle of one
        // near 0, the background between them well above
        let at = |p: &Plane, x: usize, y: usize| p.data[y * p.width + x];
        assert!(at(&smoothed, 6, 45) < 0.15 && at(&smoothed, 21, 45) > 0.7);
        // shrunk to half, the networks' pixels hold the noise of four: it reads halved, and
        // the same share calls for less blur or none
        match for_networks(&plane, 0.5) {
            Some((_, half)) => assert!(half < sigma, "{half} {sigma}"),
            None => assert!(share * 0.5 <= learned_noise()),
        }
    }

    #[test]
    fn the_blur_grows_with_the_noise_and_stops_at_its_cap() {
        let just = blur_for(learned_noise() * 1.01).unwrap();
        let more = blur_for(learned_noise() * 2.0).unwrap();
        assert!(just < more && more <= MAX_BLUR, "{just} {more}");
        assert_eq!(blur_for(1.0), Some(MAX_BLUR));
        assert_eq!(blur_for(learned_noise()), None);
    }
}
