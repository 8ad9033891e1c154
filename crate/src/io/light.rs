//! Uneven light: a field lit more brightly on one side than the other, or darker in its
//! corners (vignetting), as a misaligned lamp, a condenser off centre or a low-magnification
//! objective leave it.
//!
//! One intensity window for the whole field gives the dim side a fraction of the contrast the
//! networks know: light falling fourfold across phase_027 took the U-Net's held-out F1 (the
//! held-out third is the dim side) from 0.81 to 0.75, and corners 70% darker, to 0.76. So the
//! light is measured from the image itself and divided out before the window is taken
//! ([`uneven`], from [`crate::io::normalise`]).
//!
//! The light is read from the background: in phase contrast the cells are dark and their
//! halos bright around a mid-grey background that holds most of any region's pixels, so the
//! median of each [`TILE`]-sized square follows the light, and even a packed colony's squares
//! hardly drop (phase_027's medians vary by 5% across its packed field). A smooth surface, the
//! exponential of a quadratic in x and y, is fitted to the log of those medians by least
//! squares, again and again without the squares that lie far off it (a colony's edge, a
//! clump of debris). Light only counts as uneven where that surface spans more than [`EVEN`]
//! times from its darkest to its brightest point: an evenly lit image is left exactly as it
//! was, and below that the one window costs little (light falling 1.5-fold across phase_027:
//! held-out F1 0.804, evened 0.813).

use nalgebra::{DMatrix, DVector};

use crate::core::plane::Plane;
use crate::io::normalise::percentile;

/// The side of the squares whose medians read the light, in pixels.
pub const TILE: usize = 64;

/// The fewest squares the light is read from: a quadratic has six terms, and the fit drops
/// the squares far off it.
pub const MIN_TILES: usize = 12;

/// Light spanning at most this ratio, darkest to brightest, is even and left as it is
/// (phase_027 reads 1.05, every image of the other labs' checked so far 1.03–1.05 but one
/// packed Omnipose field, 1.5).
pub const EVEN: f32 = 1.25;

/// Light spanning more than this is not light: medians that run from near zero (a
/// background-subtracted or signed image) make a ratio of anything, and the image is left as
/// it is.
pub const MOST: f32 = 20.0;

/// The light over a plane, as a smooth surface: `ln` of the light at (x, y) is a quadratic in
/// x and y (each -0.5..0.5 across the image), less its mean over the picture.
#[derive(Clone, Debug, PartialEq)]
pub struct Light {
    width: usize,
    height: usize,
    /// the quadratic's terms: 1, x, y, x², xy, y²
    fit: [f64; 6],
    /// how many times brighter the brightest pixel of the picture is lit than the darkest
    pub ratio: f32,
}

impl Light {
    /// The light at pixel `i`, 1 on (geometric) average over the picture.
    pub fn at(&self, i: usize) -> f32 {
        let (x, y) = centred(i % self.width, i / self.width, self.width, self.height);
        dot(&self.fit, x, y).exp() as f32
    }
}

/// The light over a plane as the file holds it (what is not a number, such as padding, is
/// skipped), or None where the plane is too small to read it from [`MIN_TILES`] squares or
/// its medians are not all above zero (no multiplicative light can be read from such values).
pub fn light(plane: &Plane) -> Option<Light> {
    let (w, h) = (plane.width, plane.height);
    let Squares { centres, medians } = squares(plane)?;
    if medians.iter().any(|&m| m <= 0.0) {
        return None;
    }
    let levels: Vec<f64> = medians.iter().map(|&m| (m as f64).ln()).collect();
    // The first fit is to the squares within a factor of two of the median square: what lies
    // beyond (the dark outside of a field stop, noisy rather than flat, so not padding; a
    // packed colony's edge) would drag a plain least-squares fit to itself. Each fit then
    // keeps the squares near it, so a slope's far ends come back in once the slope is seen.
    let middle = {
        let logs: Vec<f32> = levels.iter().map(|&l| l as f32).collect();
        percentile(&logs, 0.5) as f64
    };
    let mut kept: Vec<bool> = levels
        .iter()
        .map(|l| (l - middle).abs() < std::f64::consts::LN_2)
        .collect();
    let mut fit = [0.0; 6];
    for _ in 0..4 {
        let rows: Vec<usize> = (0..levels.len()).filter(|&i| kept[i]).collect();
        if rows.len() < MIN_TILES {
            return None;
        }
        let a = DMatrix::from_fn(rows.len(), 6, |r, c| {
            let (x, y) = centres[rows[r]];
            terms(x, y)[c]
        });
        let b = DVector::from_iterator(rows.len(), rows.iter().map(|&i| levels[i]));
        let solved = a.svd(true, true).solve(&b, 1e-12).ok()?;
        fit.copy_from_slice(solved.as_slice());
        let off: Vec<f64> = (centres.iter().zip(&levels))
            .map(|(&(x, y), level)| level - dot(&fit, x, y))
            .collect();
        // a Gaussian's deviation from the median absolute deviation of the squares kept, at
        // least 2% (or a near-exact fit would drop every square a hair off it)
        let spread: Vec<f32> = rows.iter().map(|&i| off[i].abs() as f32).collect();
        let spread = (1.4826 * percentile(&spread, 0.5) as f64).max(0.02);
        kept = off.iter().map(|o| o.abs() < 3.0 * spread).collect();
    }
    // the surface's mean and extremes over the picture (where the file has no number, as in
    // padding's corners, the quadratic only runs on, and says nothing of the light)
    let (mut sum, mut n, mut low, mut high) = (0.0, 0usize, f64::INFINITY, f64::NEG_INFINITY);
    for (i, value) in plane.data.iter().enumerate() {
        if value.is_finite() {
            let (cx, cy) = centred(i % w, i / w, w, h);
            let v = dot(&fit, cx, cy);
            sum += v;
            n += 1;
            (low, high) = (low.min(v), high.max(v));
        }
    }
    fit[0] -= sum / n.max(1) as f64;
    Some(Light {
        width: w,
        height: h,
        fit,
        ratio: (high - low).exp() as f32,
    })
}

/// The [`TILE`]-sized squares of a plane that are mostly numbers.
pub(crate) struct Squares {
    /// each square's centre, each coordinate -0.5..0.5 across the image
    pub centres: Vec<(f64, f64)>,
    /// each square's median
    pub medians: Vec<f32>,
}

/// The median of each [`TILE`]-sized square of a plane that is mostly numbers, with its
/// centre; None where the plane holds fewer than [`MIN_TILES`] squares.
pub(crate) fn squares(plane: &Plane) -> Option<Squares> {
    let (w, h) = (plane.width, plane.height);
    let (nx, ny) = (w / TILE, h / TILE);
    if nx * ny < MIN_TILES {
        return None;
    }
    let mut centres = Vec::new();
    let mut medians = Vec::new();
    for j in 0..ny {
        for i in 0..nx {
            let (x0, x1) = (split(i, w, nx), split(i + 1, w, nx));
            let (y0, y1) = (split(j, h, ny), split(j + 1, h, ny));
            let values: Vec<f32> = (y0..y1)
                .flat_map(|y| plane.data[y * w + x0..y * w + x1].iter().copied())
                .filter(|v| v.is_finite())
                .collect();
            // mostly padding: the light is not read there
            if values.len() < (x1 - x0) * (y1 - y0) / 2 {
                continue;
            }
            centres.push(centred((x0 + x1) / 2, (y0 + y1) / 2, w, h));
            medians.push(percentile(&values, 0.5));
        }
    }
    Some(Squares { centres, medians })
}

/// The light over a plane as the file holds it where it is uneven (see the module docs):
/// spanning more than [`EVEN`] times from the darkest point to the brightest (and less than
/// [`MOST`]). Normalising divides it out ([`crate::io::normalise::normalise_keeping`]).
pub fn uneven(plane: &Plane) -> Option<Light> {
    light(plane).filter(|l| l.ratio > EVEN && l.ratio < MOST)
}

/// Where the `k`th of `n` equal parts of `len` pixels begins (in 64 bits: on wasm32, `k · len`
/// can pass 2³² for a long strip).
fn split(k: usize, len: usize, n: usize) -> usize {
    (k as u64 * len as u64 / n as u64) as usize
}

/// Pixel (x, y)'s centre in -0.5..0.5 across a `w` × `h` image.
fn centred(x: usize, y: usize, w: usize, h: usize) -> (f64, f64) {
    (
        (x as f64 + 0.5) / w as f64 - 0.5,
        (y as f64 + 0.5) / h as f64 - 0.5,
    )
}

fn terms(x: f64, y: f64) -> [f64; 6] {
    [1.0, x, y, x * x, x * y, y * y]
}

fn dot(fit: &[f64; 6], x: f64, y: f64) -> f64 {
    terms(x, y).iter().zip(fit).map(|(t, c)| t * c).sum()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A phase-contrast-like field: a noisy mid-grey background with dark rods and bright
    /// halos on a third of it, everything times `lamp(x, y)` (x and y 0..1 across).
    pub(crate) fn field(w: usize, h: usize, lamp: impl Fn(f32, f32) -> f32) -> Plane {
        let data = (0..w * h)
            .map(|i| {
                let (x, y) = (i % w, i / w);
                let noise = ((i * 7919 + y * 104_729) % 41) as f32 - 20.0;
                let rod = (x / 12 + y / 40) % 3 == 0;
                let level = match (rod, x % 12) {
                    (true, 0 | 11) => 1600.0,
                    (true, _) => 400.0,
                    (false, _) => 1000.0,
                };
                (level + noise) * lamp(x as f32 / (w - 1) as f32, y as f32 / (h - 1) as f32)
            })
            .collect();
        Plane::new(w, h, data)
    }

    #[test]
    fn even_light_is_left_as_it_is() {
        let even = field(640, 480, |_, _| 1.0);
        let light = light(&even).unwrap();
        assert!(light.ratio < 1.05, "{}", light.ratio);
        assert!(uneven(&even).is_none());
    }

    #[test]
    fn a_slope_and_vignetting_are_read_and_divided_out() {
        let slope = |x: f32, _: f32| 1.6 - 1.2 * x;
        let vignette = |x: f32, y: f32| {
            let (dx, dy) = (2.0 * x - 1.0, 2.0 * y - 1.0);
            1.0 - 0.35 * (dx * dx + dy * dy)
        };
        for (lamp, ratio) in [
            (&slope as &dyn Fn(f32, f32) -> f32, 4.0),
            (&vignette, 1.0 / 0.3),
        ] {
            let lit = field(640, 480, lamp);
            let light = uneven(&lit).expect("uneven");
            assert!(
                (light.ratio / ratio - 1.0).abs() < 0.2,
                "{} for {ratio}",
                light.ratio
            );
            // divided out, what is left of it is within a fifth (the quadratic in the log
            // only comes near a slope's log)
            let evened: Vec<f32> = (lit.data.iter().enumerate())
                .map(|(i, v)| v / light.at(i))
                .collect();
            let evened = Plane::new(640, 480, evened);
            assert!(light_of(&evened) < 1.2, "{}", light_of(&evened));
        }
    }

    fn light_of(plane: &Plane) -> f32 {
        light(plane).unwrap().ratio
    }

    #[test]
    fn the_dark_outside_of_a_field_stop_is_not_light() {
        // evenly lit inside a round stop; outside, the camera's dark level and its noise (not
        // flat, so not padding): a fifth of the image
        let mut p = field(640, 480, |_, _| 1.0);
        for (i, v) in p.data.iter_mut().enumerate() {
            let (x, y) = ((i % 640) as f32, (i / 640) as f32);
            if (x - 320.0).hypot(y - 240.0) > 300.0 {
                *v = 60.0 + (i * 7919 % 41) as f32;
            }
        }
        assert!(uneven(&p).is_none(), "{}", light_of(&p));
    }

    #[test]
    fn padding_is_skipped_and_signed_or_small_images_are_left_alone() {
        let mut lit = field(640, 480, |x, _| 1.6 - 1.2 * x);
        for v in &mut lit.data[..640 * 100] {
            *v = f32::NAN;
        }
        let ratio = uneven(&lit).expect("uneven").ratio;
        assert!((ratio / 4.0 - 1.0).abs() < 0.2, "{ratio}");
        // a background-subtracted image: medians at or below zero read no light
        let signed = Plane::new(640, 480, lit.data.iter().map(|v| v - 800.0).collect());
        assert!(light(&signed).is_none());
        // too small for twelve squares
        assert!(light(&field(200, 150, |x, _| 1.6 - 1.2 * x)).is_none());
    }
}
