//! Intensity normalisation, the same for training, inference and every file format.
//!
//! We map the 1st percentile to 0 and the 99th to 1 (no clipping). Phase-contrast images
//! arrive as 8-bit, 12-bit-in-16 or full 16-bit data with arbitrary offsets and gains; a
//! percentile window ignores the few saturated halo pixels and dead pixels that would drag
//! a min/max or a mean/std scaling around, so the same network sees the same contrast in
//! every file.
//!
//! A percentile window alone fails on sparse fields: where a few cells cover under 1% of the
//! pixels, the 1st and 99th percentiles are the background's noise, and stretching noise to
//! the full range turns it into cell-like texture (a field with two cells gave over a
//! thousand "cells"). So the window is never narrower than [`NOISE_SPAN`] times the image's
//! noise (estimated from neighbouring pixels' differences, which structure hardly touches);
//! a widened window keeps the background where the tutorial image has it
//! ([`BACKGROUND_LEVEL`]). On images whose cells fill a fair part of the field (the tutorial
//! image, every image the networks were trained on) the floor does not bind and nothing
//! changes.

use crate::core::plane::Plane;

/// The intensity window a plane was normalised with.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Window {
    pub low: f32,
    pub high: f32,
}

/// The value below which `q` (0..=1) of the values lie (nearest rank on a sorted copy of at
/// most ~1M samples: exact for images up to that size, and within a hair beyond).
pub fn percentile(values: &[f32], q: f32) -> f32 {
    if values.is_empty() {
        return 0.0;
    }
    let step = values.len().div_ceil(1 << 20).max(1);
    let mut sample: Vec<f32> = values
        .iter()
        .step_by(step)
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    if sample.is_empty() {
        return 0.0;
    }
    let rank = ((sample.len() - 1) as f32 * q.clamp(0.0, 1.0)).round() as usize;
    let (_, v, _) = sample.select_nth_unstable_by(rank, f32::total_cmp);
    *v
}

/// The narrowest window allowed, in noise standard deviations: phase_027's 1–99% window
/// spans about NOISE_SPAN_TUTORIAL of them (checked by a test), so this binds only on fields
/// with several times less structure than noise would stretch to.
pub const NOISE_SPAN: f32 = 15.0;

/// Where the background (the median) sits in phase_027's window (checked by a test); a
/// widened window puts it there too.
pub const BACKGROUND_LEVEL: f32 = 0.33;

/// The standard deviation of the noise: the median absolute difference of horizontally
/// neighbouring pixels, scaled for a Gaussian (differences of two pixels have √2 σ, and a
/// Gaussian's median absolute value is 0.6745 σ). Edges are too few to move a median.
pub fn noise_sigma(plane: &Plane) -> f32 {
    let w = plane.width;
    if w < 2 {
        return 0.0;
    }
    let diffs: Vec<f32> = plane
        .data
        .chunks_exact(w)
        .flat_map(|row| row.windows(2).map(|p| (p[1] - p[0]).abs()))
        .collect();
    percentile(&diffs, 0.5) / (0.6745 * std::f32::consts::SQRT_2)
}

/// The 1–99% window of a plane, widened about the background to at least [`NOISE_SPAN`]
/// noise deviations.
pub fn window(plane: &Plane) -> Window {
    let (low, high) = (percentile(&plane.data, 0.01), percentile(&plane.data, 0.99));
    let floor = NOISE_SPAN * noise_sigma(plane);
    if high - low >= floor {
        return Window { low, high };
    }
    let background = percentile(&plane.data, 0.5);
    let low = background - BACKGROUND_LEVEL * floor;
    Window {
        low,
        high: low + floor,
    }
}

/// Scales a plane in place so its 1st percentile becomes 0 and its 99th becomes 1. A flat
/// image (window of zero width) becomes all zeros rather than dividing by zero.
pub fn normalise(plane: &mut Plane) -> Window {
    let w = window(plane);
    let span = w.high - w.low;
    let scale = if span > f32::EPSILON * w.high.abs().max(1.0) {
        1.0 / span
    } else {
        0.0
    };
    for v in &mut plane.data {
        *v = if v.is_finite() {
            (*v - w.low) * scale
        } else {
            0.0
        };
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_ramp() {
        let v: Vec<f32> = (0..101).map(|i| i as f32).collect();
        assert_eq!(percentile(&v, 0.01), 1.0);
        assert_eq!(percentile(&v, 0.99), 99.0);
    }

    #[test]
    fn normalised_window_is_zero_to_one_whatever_the_gain() {
        for gain in [1.0, 257.0, 0.01] {
            let mut p = Plane::new(101, 1, (0..101).map(|i| 500.0 + gain * i as f32).collect());
            normalise(&mut p);
            assert!(
                (p.data[1] - 0.0).abs() < 1e-4 && (p.data[99] - 1.0).abs() < 1e-4,
                "{gain}"
            );
        }
    }

    #[test]
    fn flat_image_becomes_zero() {
        let mut p = Plane::new(2, 2, vec![7.0; 4]);
        normalise(&mut p);
        assert_eq!(p.data, [0.0; 4]);
    }
}
