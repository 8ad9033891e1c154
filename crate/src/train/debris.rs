//! Debris, for training: specks and blobs of dirt painted onto the background of a training
//! crop, labelled background, so the networks learn that a dark blob is not a cell for being
//! dark.
//!
//! phase_027 is a clean colony: nothing dark in it is anything but a cell, so a network
//! trained on it alone takes any dark blob of a cell's size for one. Real fields, sparse ones
//! most, hold dirt, dust and precipitate as wide as the cells (synthetic sparse fields with
//! such specks gave 11–39 "cells" of debris each, without a word of doubt). What sets a cell
//! apart in phase contrast is its optics: a phase-dense body is ringed by a bright halo,
//! which a speck of dirt absorbing or scattering light does not get. So the debris here have
//! none: flat dark or bright ellipses, 1.5–15 px along their longer half-axis and at least
//! [`ROUND`] as wide (a rod's elongation stays the cells'), with soft edges, painted before
//! a crop takes its look so they share its focus, contrast and noise, and only where the
//! crop's labels hold background for 3 px around (a blob touching a cell would hide its
//! halo). The shapes and sizes differ from `cellseg colony`'s specks (hard-edged disks),
//! which the checks measure against.
//!
//! Alone, debris teach the wrong thing: phase_027 has no cell standing apart, so a network
//! learns that whatever is dark on open background is debris. Train with lone cells beside
//! them ([`crate::train::lone_cells`]). The two, as a fine-tune of `unet-1`, made the default
//! U-Net (`unet-2`); what each variant measured: the model card (`models/README.md`).

use rand::RngExt;
use rand::rngs::StdRng;

use crate::core::classes::CLASS_OTHER;

/// Share of the training crops that get debris.
pub const SHARE: f32 = 0.5;
/// Most debris in one crop (at least one).
const MOST: usize = 6;
/// Tries to place each one on background before giving up.
const TRIES: usize = 20;
/// Shortest half-axis against the longest. Round debris cost round cells unless round cells
/// stand beside them: synthetic cocci (five fields) read F1 0.829 after a fine-tune with 0.7,
/// 0.884 with 0.5, 0.959 without debris, and 0.960 with 0.5 beside lone cells shortened down
/// to round (the model card).
const ROUND: f32 = 0.5;
/// Background kept clear around each one, in pixels.
const CLEAR: f32 = 3.0;

/// Paints debris on `square` (a crop of side `side`, normalised, before its look) where
/// `classes` (the crop's, row-major) hold background, in place.
pub fn scatter(square: &mut [f32], classes: &[i64], side: usize, rng: &mut StdRng) {
    let n = rng.random_range(1..=MOST);
    for _ in 0..n {
        let blob = Blob::draw(rng);
        if let Some(blob) = (0..TRIES)
            .map(|_| blob.moved(side, rng))
            .find(|b| b.on_background(classes, side))
        {
            blob.paint(square, side);
        }
    }
}

/// One speck: an ellipse centred at (x, y), half-axes `a` ≥ `b`, turned by `angle`, its tone
/// changed by `depth` (negative: dark) with edges `soft` px wide.
#[derive(Clone, Copy, Debug)]
struct Blob {
    x: f32,
    y: f32,
    a: f32,
    b: f32,
    angle: f32,
    soft: f32,
    depth: f32,
}

impl Blob {
    /// A blob's size, shape and tone; [`Blob::moved`] places it.
    fn draw(rng: &mut StdRng) -> Blob {
        // sizes uniform in their logarithm: specks as often as blobs
        let a = 1.5 * (rng.random_range(0.0..1.0f32) * 10f32.ln()).exp();
        // dark as deep as a cell's body below the background (0.33 normalised) at most,
        // bright as a halo
        let depth = if rng.random_bool(0.7) {
            -rng.random_range(0.08..0.35f32)
        } else {
            rng.random_range(0.08..0.4f32)
        };
        Blob {
            x: 0.0,
            y: 0.0,
            a,
            b: a * rng.random_range(ROUND..1.0f32),
            angle: rng.random_range(0.0..std::f32::consts::PI),
            soft: rng.random_range(0.3..1.0f32),
            depth,
        }
    }

    fn moved(&self, side: usize, rng: &mut StdRng) -> Blob {
        Blob {
            x: rng.random_range(0.0..side as f32),
            y: rng.random_range(0.0..side as f32),
            ..*self
        }
    }

    /// How far (px, roughly) the pixel centre (px, py) lies outside the ellipse; negative
    /// inside.
    fn outside(&self, px: f32, py: f32) -> f32 {
        let (dx, dy) = (px - self.x, py - self.y);
        let (s, c) = self.angle.sin_cos();
        let (u, v) = (dx * c + dy * s, -dx * s + dy * c);
        let r = ((u / self.a).powi(2) + (v / self.b).powi(2)).sqrt();
        // scaled by the shorter half-axis: exact along it, an underestimate along the other
        (r - 1.0) * self.b
    }

    /// The pixels it could touch: its bounding square, grown by `margin`, within the crop.
    fn span(&self, side: usize, margin: f32) -> (std::ops::Range<usize>, std::ops::Range<usize>) {
        let reach = self.a + margin;
        let lo = |c: f32| (c - reach).floor().max(0.0) as usize;
        let hi = |c: f32| ((c + reach).ceil().max(0.0) as usize + 1).min(side);
        (lo(self.x)..hi(self.x), lo(self.y)..hi(self.y))
    }

    /// Whether every pixel within [`CLEAR`] of it is background.
    fn on_background(&self, classes: &[i64], side: usize) -> bool {
        let (xs, ys) = self.span(side, CLEAR);
        ys.clone().all(|y| {
            xs.clone().all(|x| {
                let near = self.outside(x as f32 + 0.5, y as f32 + 0.5) < CLEAR;
                !near || classes[y * side + x] == CLASS_OTHER as i64
            })
        })
    }

    fn paint(&self, square: &mut [f32], side: usize) {
        // `outside` shrinks distances along the long axis by b / a: reach as far there
        let (xs, ys) = self.span(side, 3.0 * self.soft * self.a / self.b);
        for y in ys {
            for x in xs.clone() {
                let d = self.outside(x as f32 + 0.5, y as f32 + 0.5);
                let cover = 1.0 / (1.0 + (d / (0.5 * self.soft)).exp());
                square[y * side + x] += self.depth * cover;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::classes::CLASS_CELL;
    use rand::SeedableRng;

    #[test]
    fn debris_lie_on_background_only_and_change_it() {
        let side = 96;
        // a cell band across the middle, background above and below
        let classes: Vec<i64> = (0..side * side)
            .map(|i| {
                let y = i / side;
                if (40..56).contains(&y) {
                    CLASS_CELL as i64
                } else {
                    CLASS_OTHER as i64
                }
            })
            .collect();
        let mut rng = StdRng::seed_from_u64(3);
        let mut painted = 0;
        for _ in 0..200 {
            let mut square = vec![0.33f32; side * side];
            scatter(&mut square, &classes, side, &mut rng);
            // nothing painted on the cells, nor a pixel beside them
            for (i, &v) in square.iter().enumerate() {
                let y = i / side;
                if (39..57).contains(&y) {
                    assert!((v - 0.33).abs() < 0.02, "painted next to a cell at row {y}");
                }
            }
            painted += square.iter().filter(|&&v| (v - 0.33).abs() > 0.05).count();
        }
        assert!(
            painted > 200 * 20,
            "debris were painted ({painted} px in 200 crops)"
        );
    }

    #[test]
    fn a_crop_full_of_cells_gets_none() {
        let side = 48;
        let classes = vec![CLASS_CELL as i64; side * side];
        let mut square = vec![0.1f32; side * side];
        scatter(&mut square, &classes, side, &mut StdRng::seed_from_u64(1));
        assert!(square.iter().all(|&v| v == 0.1));
    }
}
