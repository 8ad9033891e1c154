//! Other microscopes' looks, for training: a patch as it might appear in another lab's image.
//!
//! The networks learn from one image, so every patch shares its magnification, focus, noise and
//! — after the percentile normalisation — its contrast. Other images differ in all four: the
//! scale estimate leaves a few percent of magnification, lenses blur, cameras are noisier, and
//! a sparse or crowded field moves the 1–99% window and with it the cells' contrast. Drawing
//! each training patch with a little of each teaches the networks that none of them changes
//! what a cell is. The ranges stay within what the rest of the pipeline leaves over (the
//! scale estimate's error, the noise floor of the normalisation), so the tutorial image
//! itself stays in range.

use rand::RngExt;
use rand::rngs::StdRng;

use crate::core::plane::Plane;
use crate::io::normalise::BACKGROUND_LEVEL;
use crate::model::spec::{HALF, PATCH};

/// Largest magnification change, either way (the scale estimate is within 3% on resampled
/// copies of the tutorial image, and a tenth more covers cells that differ in size).
pub const ZOOM: f32 = 1.15;
/// Largest blur, σ in pixels (a lens a little out of focus), applied to half the patches.
pub const BLUR: f32 = 1.2;
/// Largest contrast change, either way, about the background level.
pub const GAIN: f32 = 1.4;
/// Largest shift of the whole patch, in normalised units (the background sits at 0.33).
pub const OFFSET: f32 = 0.08;
/// Largest added noise, σ in normalised units (the tutorial image's own is about 0.027).
pub const NOISE: f32 = 0.04;

/// Share of the "other" patches drawn from plain background with an empty field's look
/// ([`Look::empty_field`]), when the looks are on.
pub const EMPTY_FIELD_SHARE: f32 = 0.25;
/// Largest extra stretch of an empty field's look. A field without cells is normalised on its
/// background alone, so its window shrinks to the noise floor ([`crate::io::normalise::NOISE_SPAN`]
/// noise deviations against the tutorial image's 38): phase_027's cell-free corners, loaded as
/// images of their own, come out stretched 3.4 and 3.7 times against the whole image.
pub const EMPTY_FIELD_GAIN: f32 = 4.0;

/// The look of one patch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Look {
    pub zoom: f32,
    pub blur: f32,
    pub gain: f32,
    pub offset: f32,
    pub noise: f32,
}

impl Look {
    /// A look drawn uniformly (zoom and gain uniform in their logarithm, so shrinking and
    /// growing are equally likely).
    pub fn draw(rng: &mut StdRng) -> Look {
        Look::draw_zoomed(rng, ZOOM)
    }

    /// [`Look::draw`] with magnification changes up to `zoom` either way instead of [`ZOOM`]:
    /// a network that should bear the scale estimate's error on other cells than the
    /// tutorial's, not only on its own.
    pub fn draw_zoomed(rng: &mut StdRng, zoom: f32) -> Look {
        let log_uniform =
            |rng: &mut StdRng, top: f32| (rng.random_range(-1.0..1.0f32) * top.ln()).exp();
        Look {
            zoom: log_uniform(rng, zoom.max(1.0)),
            blur: if rng.random_bool(0.5) {
                rng.random_range(0.0..BLUR)
            } else {
                0.0
            },
            gain: log_uniform(rng, GAIN),
            offset: rng.random_range(-OFFSET..OFFSET),
            noise: rng.random_range(0.0..NOISE),
        }
    }

    /// A look for a patch of plain background as a field without cells shows it: any look,
    /// its contrast further stretched up to [`EMPTY_FIELD_GAIN`] times (uniform in the
    /// logarithm). Without these patches a network that learnt faint, blurred cells from the
    /// other looks finds "cells" in the stretched mottling of an empty field.
    pub fn empty_field(rng: &mut StdRng) -> Look {
        Look::empty_field_zoomed(rng, ZOOM)
    }

    /// [`Look::empty_field`] with magnification changes up to `zoom` either way.
    pub fn empty_field_zoomed(rng: &mut StdRng, zoom: f32) -> Look {
        let look = Look::draw_zoomed(rng, zoom);
        let stretch = (rng.random_range(0.0..1.0f32) * EMPTY_FIELD_GAIN.ln()).exp();
        Look {
            gain: look.gain * stretch,
            ..look
        }
    }

    /// The patch centred on (x, y) with this look, appended to `out` (31x31 values).
    pub fn patch(&self, plane: &Plane, x: usize, y: usize, rng: &mut StdRng, out: &mut Vec<f32>) {
        let start = out.len();
        zoomed_patch(plane, x, y, self.zoom, out);
        self.apply(&mut out[start..], PATCH, rng);
    }

    /// This look's focus, contrast, offset and noise on a square of side `side` (a patch,
    /// or a U-Net's training crop already sampled at this look's zoom), in place.
    pub fn apply(&self, square: &mut [f32], side: usize, rng: &mut StdRng) {
        if self.blur > 0.3 {
            blur(square, side, self.blur);
        }
        for v in square.iter_mut() {
            *v = BACKGROUND_LEVEL
                + self.gain * (*v - BACKGROUND_LEVEL)
                + self.offset
                + self.noise * gaussian(rng);
        }
    }
}

/// The 31x31 patch about (x, y) sampled `zoom` pixels apart (bilinear; beyond the border the
/// image is mirrored, as [`crate::model::naive::patch_at`] does). `zoom` 1 is the patch itself.
pub fn zoomed_patch(plane: &Plane, x: usize, y: usize, zoom: f32, out: &mut Vec<f32>) {
    let half = HALF as f32 * zoom;
    sampled_square(plane, (x as f32 - half, y as f32 - half), PATCH, zoom, out);
}

/// `side` x `side` samples of `plane` from `origin`, `step` pixels apart (bilinear, mirrored
/// beyond the border), appended to `out`.
pub fn sampled_square(
    plane: &Plane,
    origin: (f32, f32),
    side: usize,
    step: f32,
    out: &mut Vec<f32>,
) {
    for dy in 0..side {
        let sy = origin.1 + dy as f32 * step;
        for dx in 0..side {
            out.push(bilinear(plane, (origin.0 + dx as f32 * step, sy)));
        }
    }
}

/// `plane` at (x, y) (bilinear, mirrored beyond the border).
pub fn bilinear(plane: &Plane, (x, y): (f32, f32)) -> f32 {
    let (x0, fx) = (x.floor() as isize, x - x.floor());
    let (y0, fy) = (y.floor() as isize, y - y.floor());
    let top = plane.reflected(x0, y0) * (1.0 - fx) + plane.reflected(x0 + 1, y0) * fx;
    let bottom = plane.reflected(x0, y0 + 1) * (1.0 - fx) + plane.reflected(x0 + 1, y0 + 1) * fx;
    top * (1.0 - fy) + bottom * fy
}

/// A Gaussian blur of a square of side `side` in place (imageproc's; the few border pixels
/// its edge handling touches lie far from a patch's centre, and a crop's are few).
fn blur(square: &mut [f32], side: usize, sigma: f32) {
    let side = side as u32;
    let image = image::ImageBuffer::<image::Luma<f32>, _>::from_raw(side, side, square.to_vec())
        .expect("a square of side `side`");
    square.copy_from_slice(&imageproc::filter::gaussian_blur_f32(&image, sigma));
}

/// A standard normal draw (Box–Muller).
fn gaussian(rng: &mut StdRng) -> f32 {
    let u: f32 = rng.random_range(f32::EPSILON..1.0);
    let v: f32 = rng.random_range(0.0..1.0);
    (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::naive::patch_at;
    use rand::SeedableRng;

    fn ramp(w: usize, h: usize) -> Plane {
        Plane::new(
            w,
            h,
            (0..w * h)
                .map(|i| (i % w) as f32 + 0.5 * (i / w) as f32)
                .collect(),
        )
    }

    #[test]
    fn zoom_one_is_the_patch_itself_and_zoom_scales_about_the_centre() {
        let p = ramp(50, 50);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        patch_at(&p, 3, 40, &mut a);
        zoomed_patch(&p, 3, 40, 1.0, &mut b);
        assert_eq!(a, b);
        let mut z = Vec::new();
        zoomed_patch(&p, 25, 25, 1.1, &mut z);
        // a linear ramp stays linear: the centre keeps its value, one step right adds 1.1
        let c = HALF * PATCH + HALF;
        assert!((z[c] - p.at(25, 25)).abs() < 1e-4);
        assert!((z[c + 1] - z[c] - 1.1).abs() < 1e-4);
        assert!((z[c + PATCH] - z[c] - 0.55).abs() < 1e-4);
    }

    #[test]
    fn blur_keeps_the_mean_of_a_flat_patch_and_softens_a_spike() {
        let mut flat = vec![0.4f32; PATCH * PATCH];
        blur(&mut flat, PATCH, 1.0);
        assert!(flat.iter().all(|v| (v - 0.4).abs() < 1e-5));
        let mut spike = vec![0.0f32; PATCH * PATCH];
        spike[HALF * PATCH + HALF] = 1.0;
        blur(&mut spike, PATCH, 1.0);
        let c = spike[HALF * PATCH + HALF];
        assert!((0.1..0.2).contains(&c), "{c}"); // 1/(2πσ²) ≈ 0.16
        assert!((spike.iter().sum::<f32>() - 1.0).abs() < 1e-4);
    }

    #[test]
    fn looks_stay_in_their_ranges_and_keep_the_background_level() {
        let mut rng = StdRng::seed_from_u64(5);
        for _ in 0..200 {
            let l = Look::draw(&mut rng);
            assert!((1.0 / ZOOM..=ZOOM).contains(&l.zoom), "{l:?}");
            assert!((1.0 / GAIN..=GAIN).contains(&l.gain), "{l:?}");
            assert!(l.offset.abs() <= OFFSET && (0.0..NOISE).contains(&l.noise));
            assert!((0.0..BLUR).contains(&l.blur));
        }
        // an empty field's look is stretched further, never less than a look is
        let gains: Vec<f32> = (0..400).map(|_| Look::empty_field(&mut rng).gain).collect();
        assert!(
            gains
                .iter()
                .all(|g| (1.0 / GAIN..=GAIN * EMPTY_FIELD_GAIN).contains(g))
        );
        assert!(
            gains.iter().any(|&g| g > GAIN * 2.0),
            "the stretch reaches past a look's"
        );
        // a patch at the background level, with gain only, stays there
        let p = Plane::new(40, 40, vec![BACKGROUND_LEVEL; 1600]);
        let look = Look {
            zoom: 1.1,
            blur: 1.0,
            gain: 1.3,
            offset: 0.0,
            noise: 0.0,
        };
        let mut out = Vec::new();
        look.patch(&p, 20, 20, &mut rng, &mut out);
        assert!(out.iter().all(|v| (v - BACKGROUND_LEVEL).abs() < 1e-5));
    }
}
