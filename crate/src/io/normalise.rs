//! Intensity normalisation, the same for training, inference and every file format.
//!
//! We map the 1st percentile to 0 and the 99th to 1 (clamped only far outside, [`CLAMP`]). Phase-contrast images
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
//!
//! Cameras leave hot and dead pixels: single pixels far brighter or darker than all eight
//! around them. Left in, a hot pixel normalises to ten or more times the cells' contrast, and
//! a network that sees 100 px around each pixel turns a field of them into a field of merged
//! cells (0.1% of phase_027's pixels made hot took F1 from 0.81 to 0.09; 300 saturated specks
//! of 2 × 2 px, to 0.13). No optics draws a lone pixel, or a speck of four, that far from
//! everything around it ([`SPIKE`], [`SPECK`]), so such pixels take their surroundings'
//! median first, as Fiji's "Remove Outliers" does, and the window is measured after; what is
//! larger and still extreme is clamped ([`CLAMP`]). phase_027 has none of either.
//!
//! A flat black frame (stitching, registration, a round field stop) is not part of the
//! picture either: it is left out of the window and takes the background's level
//! ([`crate::io::padding`]); so are marks burnt into an exported image, a timestamp's box or a
//! scale bar ([`crate::io::marks`]), and a field stop's outside that is not flat but the
//! camera's dark and its noise ([`crate::io::field_stop`]). And where the light falls
//! unevenly across the field, it is divided out before the window is taken
//! ([`crate::io::light`]).

use crate::core::plane::Plane;
use crate::io::field_stop;
use crate::io::light::{Light, uneven};
use crate::io::marks::marks_beside;
use crate::io::padding::padding;

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
    window_with_noise(plane, noise_sigma(plane))
}

/// [`window`] with the noise deviation given: where the plane's own reads low (a blurred
/// plane's neighbours share their noise), the floor must still be the noise's.
pub fn window_with_noise(plane: &Plane, noise: f32) -> Window {
    let (low, high) = (percentile(&plane.data, 0.01), percentile(&plane.data, 0.99));
    let floor = NOISE_SPAN * noise;
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

/// Pixels normalising did not map linearly (padding, marks, a field stop's outside, calmed or
/// clamped): index and value as the file holds it.
pub type Outliers = Vec<(usize, f32)>;

/// What normalising did to a plane.
#[derive(Clone, Debug, PartialEq)]
pub struct Normalised {
    /// The window, in the plane's values (evened out, where the light was uneven).
    pub window: Window,
    /// The pixels it did not map linearly (padding, marks, a field stop's outside, calmed or
    /// clamped), with their values as the file holds them.
    pub outliers: Outliers,
    /// The light, where it was uneven and divided out ([`crate::io::light::uneven`]): every
    /// other pixel's value in the file is its evened value times the light there.
    pub light: Option<Light>,
    /// The share of the image that is padding, left out of the picture
    /// ([`crate::io::padding`]).
    pub padding: f64,
    /// The share of the image under burnt-in marks, left out like padding
    /// ([`crate::io::marks`]).
    pub marks: f64,
    /// The share of the image in a field stop's dark outside, left out like padding
    /// ([`crate::io::field_stop`]).
    pub outside: f64,
}

/// Normalised values are kept within this range: wide enough for what microscopes draw
/// (phase_027 runs from -0.37 to 1.83; van Vliet et al.'s sparse pages, whose window is
/// widened to the noise, from -2.8 to 2.5, and clamping those at -1 and 2 cost their stack F1
/// 0.04), while saturated debris larger than [`calm_spikes`] sees would otherwise reach 10 or
/// more and upset everything the networks see around it (300 saturated 2 × 2 specks, before
/// they were calmed, took phase_027's held-out F1 from 0.81 to 0.13; 0.76 with this clamp).
pub const CLAMP: (f32, f32) = (-4.0, 3.0);

/// A pixel is a spike (hot or dead) when it lies beyond all eight of its neighbours by more
/// than this share of the 1–99% window, and by more than [`SPIKE_NOISE`] noise deviations.
/// phase_027's sharpest pixel stands out of its neighbours by under 0.1 of its window.
pub const SPIKE: f32 = 0.25;

/// A speck of up to 2 × 2 pixels (a cluster of hot pixels, saturated debris) is one whose
/// pixels lie beyond all sixteen pixels two steps away by more than this share of the
/// window. Real structure comes closer: the bright points between packed cells in Omnipose's
/// images reach 0.25–0.5 of their window above that ring, nothing in phase_027 0.25.
pub const SPECK: f32 = 1.0;

/// The noise floor of a spike, in noise standard deviations (for sparse fields, whose
/// window is the noise's).
pub const SPIKE_NOISE: f32 = 8.0;

/// Replaces hot and dead pixels (see [`SPIKE`]), then specks of up to 2 × 2 ([`SPECK`]), by
/// the median of the ring of pixels around them; returns each changed pixel's index and
/// value before. The outermost row and column (and, for specks, two) are left as they are.
pub fn calm_spikes(plane: &mut Plane) -> Outliers {
    let window = window(plane);
    let span = window.high - window.low;
    let floor = SPIKE_NOISE * noise_sigma(plane);
    let mut changed = calm(plane, 1, (SPIKE * span).max(floor));
    changed.extend(calm(plane, 2, (SPECK * span).max(floor)));
    changed
}

/// Replaces each pixel beyond all pixels of the square ring `r` steps around it by more
/// than `margin` with the ring's median; returns their indices and values before.
fn calm(plane: &mut Plane, r: usize, margin: f32) -> Outliers {
    let (w, h) = (plane.width, plane.height);
    // a NaN margin (a plane of NaN) compares false and calms nothing
    if w <= 2 * r || h <= 2 * r || margin.is_nan() || margin <= 0.0 {
        return Vec::new();
    }
    let ring: Vec<(usize, usize)> = (0..=2 * r)
        .flat_map(|dy| (0..=2 * r).map(move |dx| (dx, dy)))
        .filter(|&(dx, dy)| dx == 0 || dy == 0 || dx == 2 * r || dy == 2 * r)
        .collect();
    let data = &plane.data;
    let mut around = vec![0.0f32; ring.len()];
    let mut fixes = Vec::new();
    for y in r..h - r {
        for x in r..w - r {
            let v = data[y * w + x];
            for (a, &(dx, dy)) in around.iter_mut().zip(&ring) {
                *a = data[(y + dy - r) * w + x + dx - r];
            }
            let (low, high) = around
                .iter()
                .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &a| {
                    (l.min(a), h.max(a))
                });
            if v > high + margin || v < low - margin {
                // the median of the ring's numbers (padding beside it is NaN here)
                let mut ring: Vec<f32> = around.iter().copied().filter(|a| a.is_finite()).collect();
                if ring.is_empty() {
                    continue;
                }
                ring.sort_unstable_by(f32::total_cmp);
                let mid = ring.len() / 2;
                let median = if ring.len().is_multiple_of(2) {
                    (ring[mid - 1] + ring[mid]) / 2.0
                } else {
                    ring[mid]
                };
                fixes.push((y * w + x, median));
            }
        }
    }
    fixes
        .into_iter()
        .map(|(i, v)| (i, std::mem::replace(&mut plane.data[i], v)))
        .collect()
}

impl Normalised {
    /// What normalising did that changes what the networks see, in a few words each, for a
    /// summary's note.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if self.padding > 0.0 {
            notes.push(format!(
                "a flat frame over {:.0}% of the image left out",
                (100.0 * self.padding).max(1.0)
            ));
        }
        if self.outside > 0.0 {
            notes.push(format!(
                "a field stop's dark outside over {:.0}% of the image left out",
                (100.0 * self.outside).max(1.0)
            ));
        }
        if self.marks > 0.0 {
            notes.push("marks burnt into the image (a box, a bar) left out".into());
        }
        if let Some(light) = &self.light {
            notes.push(format!(
                "uneven light (its brightest part ×{:.1} its darkest) evened out",
                light.ratio
            ));
        }
        notes
    }
}

/// Scales a plane in place so its 1st percentile becomes 0 and its 99th becomes 1, after
/// evening out uneven light ([`crate::io::light`]) and calming its hot and dead pixels
/// ([`calm_spikes`]); its padding (a flat black frame, or no number at all:
/// [`crate::io::padding`]), the marks burnt into it ([`crate::io::marks`]) and a field stop's
/// noisy dark outside ([`crate::io::field_stop`]) are left out of that window and set to the
/// background's level. A flat image (window of zero width) becomes
/// all zeros rather than dividing by zero.
pub fn normalise(plane: &mut Plane) -> Window {
    normalise_keeping(plane).window
}

/// [`normalise`], also returning the pixels it did not map linearly (padding, marks, a field
/// stop's outside, calmed or clamped) with their values in the file, so measurements in the
/// file's units can use the file's own values there, as the CLI's do; the light it evened
/// out; and how much of the image was padding, marks and a stop's outside.
pub fn normalise_keeping(plane: &mut Plane) -> Normalised {
    // Padding and burnt-in marks are left out of everything measured below (each skips what
    // is not a number) and then take the background's level.
    let pad = padding(plane);
    let marked = marks_beside(plane, &pad);
    let mut changed: Outliers = Vec::new();
    for (i, (&p, &m)) in pad.iter().zip(&marked).enumerate() {
        if (p || m) && plane.data[i].is_finite() {
            changed.push((i, std::mem::replace(&mut plane.data[i], f32::NAN)));
        }
    }
    // and so is a field stop's dark outside, noisy where padding is flat
    let dark = field_stop::outside(plane);
    for (i, _) in dark.iter().enumerate().filter(|&(_, &d)| d) {
        changed.push((i, std::mem::replace(&mut plane.data[i], f32::NAN)));
    }
    let light = uneven(plane);
    if let Some(light) = &light {
        for (i, v) in plane.data.iter_mut().enumerate() {
            *v /= light.at(i);
        }
    }
    // what is changed from here on is recorded as the file holds it
    let lit = |i: usize| light.as_ref().map_or(1.0, |l| l.at(i));
    let calmed = calm_spikes(plane);
    changed.extend(calmed.into_iter().map(|(i, v)| (i, v * lit(i))));
    let w = window(plane);
    let span = w.high - w.low;
    let scale = if span > f32::EPSILON * w.high.abs().max(1.0) {
        1.0 / span
    } else {
        0.0
    };
    let background = ((percentile(&plane.data, 0.5) - w.low) * scale).clamp(CLAMP.0, CLAMP.1);
    for (i, v) in plane.data.iter_mut().enumerate() {
        *v = if v.is_finite() {
            let linear = (*v - w.low) * scale;
            let kept = linear.clamp(CLAMP.0, CLAMP.1);
            if kept != linear {
                changed.push((i, *v * lit(i)));
            }
            kept
        } else {
            background
        };
    }
    let share = |n: usize| n as f64 / plane.data.len().max(1) as f64;
    Normalised {
        window: w,
        outliers: changed,
        light,
        padding: share(
            (pad.iter().zip(&marked))
                .filter(|&(&p, &m)| p && !m)
                .count(),
        ),
        marks: share(marked.iter().filter(|&&m| m).count()),
        outside: share(dark.iter().filter(|&&d| d).count()),
    }
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
    fn hot_and_dead_pixels_and_specks_take_their_neighbours_median() {
        // a smooth ramp with a little texture, one hot pixel, one dead one, a saturated
        // 2 × 2 speck, and a bright 2-px-wide bar (structure, not a spike)
        let (w, h) = (40, 30);
        let mut data: Vec<f32> = (0..w * h)
            .map(|i| 1000.0 + 10.0 * (i % w) as f32 + 3.0 * ((i * 7919) % 13) as f32)
            .collect();
        for y in 5..25 {
            data[y * w + 30] += 400.0;
            data[y * w + 31] += 400.0;
        }
        let before = data.clone();
        data[10 * w + 10] = 65535.0;
        data[20 * w + 15] = 0.0;
        let speck = [5 * w + 20, 5 * w + 21, 6 * w + 20, 6 * w + 21];
        for i in speck {
            data[i] = 65535.0;
        }
        let mut plane = Plane::new(w, h, data);
        assert_eq!(calm_spikes(&mut plane).len(), 6);
        for (i, (&a, &b)) in plane.data.iter().zip(&before).enumerate() {
            if i == 10 * w + 10 || i == 20 * w + 15 || speck.contains(&i) {
                assert!((a - b).abs() < 60.0, "pixel {i}: {a} for about {b}");
            } else {
                assert_eq!(a, b, "pixel {i} untouched");
            }
        }
        // and normalising sees the image without them
        let mut hot = Plane::new(w, h, before.clone());
        hot.data[10 * w + 10] = 65535.0;
        let mut clean = Plane::new(w, h, before);
        normalise(&mut hot);
        normalise(&mut clean);
        let most = hot
            .data
            .iter()
            .zip(&clean.data)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(most < 0.05, "normalised alike within {most}");
    }

    #[test]
    fn uneven_light_is_evened_out_and_every_pixel_keeps_its_value_before() {
        // a textured field lit from 160% to 40% across, in 64-px squares enough to read it
        let (w, h) = (512, 256);
        let raw: Vec<f32> = (0..w * h)
            .map(|i| {
                let texture = 1000.0 + ((i * 7919 + i / w * 104_729) % 101) as f32;
                texture * (1.6 - 1.2 * (i % w) as f32 / (w - 1) as f32)
            })
            .collect();
        let mut plane = Plane::new(w, h, raw.clone());
        let normalised = normalise_keeping(&mut plane);
        let ratio = normalised.light.as_ref().expect("uneven light read").ratio;
        assert!((ratio / 4.0 - 1.0).abs() < 0.15, "{ratio}");
        // evened: the left and right tenths of the field have one level
        let mean = |x0: usize| {
            let values: Vec<f32> = (0..h)
                .flat_map(|y| plane.data[y * w + x0..y * w + x0 + w / 10].to_vec())
                .collect();
            values.iter().sum::<f32>() / values.len() as f32
        };
        assert!(
            (mean(0) - mean(w - w / 10)).abs() < 0.1,
            "{} {}",
            mean(0),
            mean(w - w / 10)
        );
        // and the file's own values come back, for measuring in them
        let units = crate::io::display::FileUnits::new(normalised.window, 1.0)
            .keeping(&normalised.outliers, 1.0)
            .lit(normalised.light);
        let back = units.plane(&plane);
        for (i, (&b, &r)) in back.data.iter().zip(&raw).enumerate() {
            assert!((b - r).abs() < 1e-3 * r, "pixel {i}: {b} for {r}");
        }
    }

    #[test]
    fn a_field_stops_dark_outside_is_left_out_and_keeps_its_values() {
        // rods on a mid-grey field inside a round stop; outside, the camera's dark and noise
        let (w, h) = (640, 480);
        let mut raw = crate::io::light::tests::field(w, h, |_, _| 1.0);
        let mut dark = 0;
        for (i, v) in raw.data.iter_mut().enumerate() {
            if ((i % w) as f32 - 320.0).hypot((i / w) as f32 - 240.0) > 290.0 {
                *v = 60.0 + (i * 7919 % 41) as f32;
                dark += 1;
            }
        }
        let mut plane = raw.clone();
        let normalised = normalise_keeping(&mut plane);
        let share = dark as f64 / (w * h) as f64;
        assert!(
            (normalised.outside - share).abs() < 0.01,
            "{} for {share}",
            normalised.outside
        );
        // the window is the picture's: its rods (400) to its halos (1600)
        assert!(normalised.window.low > 350.0, "{:?}", normalised.window);
        assert!(normalised.notes()[0].contains("field stop"));
        let units = crate::io::display::FileUnits::new(normalised.window, 1.0)
            .keeping(&normalised.outliers, 1.0);
        let back = units.plane(&plane);
        for (i, (&b, &r)) in back.data.iter().zip(&raw.data).enumerate() {
            assert!((b - r).abs() < 1e-3 * r, "pixel {i}: {b} for {r}");
        }
    }

    #[test]
    fn flat_image_becomes_zero() {
        let mut p = Plane::new(2, 2, vec![7.0; 4]);
        normalise(&mut p);
        assert_eq!(p.data, [0.0; 4]);
    }
}
