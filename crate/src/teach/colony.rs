//! A procedural phase-contrast colony: rod-shaped cells packed in a few colonies, dark with
//! bright halos on a mid-gray background, with noise — and their exact cell/edge/other labels.
//! It lets the page teach with nothing downloaded, and gives tests an image whose truth is
//! known by construction.
//!
//! Each cell is a capsule (a segment with round caps). A pixel's signed distance to the
//! nearest capsule wall decides both its label (inside: cell; within a pixel of the wall:
//! edge, as the hand labels draw a thin line between touching cells) and its brightness
//! (dark inside, a halo that fades outside, as phase contrast shows bacteria).

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::core::classes::{CLASS_CELL, CLASS_EDGE, CLASS_OTHER};
use crate::core::plane::Plane;
use crate::io::labels::ClassMap;

/// One rod-shaped cell: the segment between its cap centres, and its radius.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Rod {
    a: (f32, f32),
    b: (f32, f32),
    radius: f32,
}

impl Rod {
    /// Distance from (x, y) to the wall: negative inside.
    fn wall_distance(&self, x: f32, y: f32) -> f32 {
        let (dx, dy) = (self.b.0 - self.a.0, self.b.1 - self.a.1);
        let t = (((x - self.a.0) * dx + (y - self.a.1) * dy) / (dx * dx + dy * dy).max(1e-6))
            .clamp(0.0, 1.0);
        let (px, py) = (self.a.0 + t * dx, self.a.1 + t * dy);
        ((x - px).powi(2) + (y - py).powi(2)).sqrt() - self.radius
    }

    /// Shortest distance between the two rods' axes (sampled; exact enough for spacing).
    fn axis_gap(&self, other: &Rod) -> f32 {
        (0..=8)
            .map(|i| {
                let t = i as f32 / 8.0;
                let x = self.a.0 + t * (self.b.0 - self.a.0);
                let y = self.a.1 + t * (self.b.1 - self.a.1);
                other.wall_distance(x, y) + other.radius
            })
            .fold(f32::INFINITY, f32::min)
    }
}

/// Half the width of the edge band, in pixels.
const EDGE: f32 = 1.0;

/// How a synthetic field looks, for tests of images the networks never saw: other cell
/// sizes (another magnification or organism), other contrast and noise, sparse fields,
/// debris. The default is the tutorial's look.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Look {
    /// Cell size (width and length) relative to the tutorial's cells.
    pub size: f32,
    /// Depth of the dark body and the halo, relative to the tutorial's.
    pub contrast: f32,
    /// Noise, relative to the default σ ≈ 0.03.
    pub noise: f32,
    /// Chance that each place in a colony holds a cell (sparse fields: small).
    pub fill: f32,
    /// No cells at all (an empty field: background, noise, debris).
    pub cells: bool,
    /// Small dark and bright specks (1–3 px across), labelled background.
    pub debris: usize,
    /// The specks' size relative to that: real fields hold specks as wide as the cells.
    pub speck_size: f32,
    /// The cells' length between their round ends, relative to the tutorial's rods: 0 draws
    /// round cells (cocci), 2 rods twice as long.
    pub length: f32,
}

/// A colony's sides in pixels: from one patch across (31, the networks' field) to a large
/// camera frame. The CLI and the page refuse others alike ([`Look::check`]).
pub const SIDES: std::ops::RangeInclusive<usize> = 31..=8192;

impl Look {
    /// Whether a `width` x `height` colony of this look can be drawn: every setting in its
    /// range, checked here once for the CLI's flags and the page's menu; where not, which
    /// setting and its range.
    pub fn check(&self, width: usize, height: usize) -> Result<(), String> {
        if !SIDES.contains(&width) || !SIDES.contains(&height) {
            return Err(format!(
                "a colony is {} to {} pixels a side, not {width}x{height}",
                SIDES.start(),
                SIDES.end()
            ));
        }
        let within = |v: f32, lo: f32, hi: f32, what: &str| {
            if (lo..=hi).contains(&v) {
                Ok(())
            } else {
                Err(format!("{what} {v} is outside {lo}..{hi}"))
            }
        };
        within(self.size, 0.25, 4.0, "size")?;
        within(self.fill, 0.0, 1.0, "fill")?;
        within(self.contrast, 0.1, 4.0, "contrast")?;
        within(self.noise, 0.0, 10.0, "noise")?;
        within(self.debris as f32, 0.0, 100_000.0, "debris")?;
        within(self.speck_size, 0.5, 10.0, "speck size")?;
        within(self.length, 0.0, 4.0, "length")
    }
}

impl Default for Look {
    fn default() -> Self {
        Look {
            size: 1.0,
            contrast: 1.0,
            noise: 1.0,
            fill: 0.92,
            cells: true,
            debris: 0,
            speck_size: 1.0,
            length: 1.0,
        }
    }
}

/// A `width` x `height` colony image (normalised like a decoded one: background near 0.5)
/// and its labels. The same seed gives the same colony.
pub fn colony(width: usize, height: usize, seed: u64) -> (Plane, ClassMap) {
    colony_with(width, height, seed, &Look::default())
}

/// A colony with another [`Look`]; the labels stay exact (debris is background).
pub fn colony_with(width: usize, height: usize, seed: u64, look: &Look) -> (Plane, ClassMap) {
    let mut rng = StdRng::seed_from_u64(seed);
    let (s, c) = (look.size, look.contrast);
    let rods = if look.cells {
        // drawn at the tutorial's size in a field 1/s as large, then scaled up
        let mut rods = place_rods(
            width as f32 / s,
            height as f32 / s,
            look.fill,
            look.length,
            &mut rng,
        );
        for r in &mut rods {
            r.a = (r.a.0 * s, r.a.1 * s);
            r.b = (r.b.0 * s, r.b.1 * s);
            r.radius *= s;
        }
        rods
    } else {
        Vec::new()
    };
    let specks = debris(
        width as f32,
        height as f32,
        look.debris,
        look.speck_size,
        seed,
    );
    let mut data = vec![0f32; width * height];
    let mut classes = vec![CLASS_OTHER; width * height];
    // A slow illumination gradient, as real fields have.
    let (gx, gy) = (
        rng.random_range(-0.1..0.1f32),
        rng.random_range(-0.1..0.1f32),
    );
    for y in 0..height {
        for x in 0..width {
            let (fx, fy) = (x as f32 + 0.5, y as f32 + 0.5);
            let d = rods
                .iter()
                .map(|r| r.wall_distance(fx, fy))
                .fold(f32::INFINITY, f32::min);
            let i = y * width + x;
            classes[i] = if d < -EDGE * s {
                CLASS_CELL
            } else if d < EDGE * s {
                CLASS_EDGE
            } else {
                CLASS_OTHER
            };
            let base = 0.5 + gx * (fx / width as f32 - 0.5) + gy * (fy / height as f32 - 0.5);
            // dark body and bright halo, blended over a pixel or so: optics blur the wall
            let inside = 1.0 / (1.0 + (d / (0.8 * s)).exp());
            let halo = 0.45 * c * (-d.max(0.0) / (2.5 * s)).exp();
            let body = base - c * (base - 0.12);
            let mut tone = inside * body + (1.0 - inside) * (base + halo);
            for &(sx, sy, radius, depth) in &specks {
                if (fx - sx).powi(2) + (fy - sy).powi(2) < radius * radius {
                    tone += depth;
                }
            }
            data[i] = tone + look.noise * noise(&mut rng);
        }
    }
    let plane = Plane {
        width,
        height,
        data,
    };
    let labels = ClassMap {
        width,
        height,
        classes,
    };
    (plane, labels)
}

/// Debris: `n` round specks `(x, y, radius, brightness change)`, radii 0.6–1.6 px times
/// `size`, from their own stream so they do not move the cells.
fn debris(width: f32, height: f32, n: usize, size: f32, seed: u64) -> Vec<(f32, f32, f32, f32)> {
    let mut rng = StdRng::seed_from_u64(seed ^ 0xdeb415);
    (0..n)
        .map(|_| {
            let depth = rng.random_range(0.15..0.4f32);
            (
                rng.random_range(0.0..width),
                rng.random_range(0.0..height),
                rng.random_range(0.6..1.6f32) * size,
                if rng.random_range(0.0..1.0f32) < 0.5 {
                    -depth
                } else {
                    depth
                },
            )
        })
        .collect()
}

/// Gaussian-ish noise (sum of uniforms), σ ≈ 0.03.
fn noise(rng: &mut StdRng) -> f32 {
    let s: f32 = (0..4).map(|_| rng.random_range(-0.5..0.5f32)).sum();
    0.052 * s
}

/// Cells grow in a few colonies, in rows: along each row rods lie end to end, rows sit side
/// by side, and a colony's rows share a heading with a little jitter, as dividing bacteria
/// pack. A rod is kept only where it keeps a gap to every kept rod (so walls never merge and
/// an edge line separates neighbours, as in the hand labels) and lies inside the colony's
/// outline and the image.
fn place_rods(width: f32, height: f32, fill: f32, length: f32, rng: &mut StdRng) -> Vec<Rod> {
    let mut rods: Vec<Rod> = Vec::new();
    let colonies = 1 + ((width * height) / 120_000.0) as usize;
    for _ in 0..colonies {
        let centre = (
            rng.random_range(0.25..0.75f32) * width,
            rng.random_range(0.25..0.75f32) * height,
        );
        let (rx, ry) = (
            rng.random_range(0.3..0.5f32) * width,
            rng.random_range(0.3..0.5f32) * height,
        );
        let heading = rng.random_range(0.0..std::f32::consts::PI);
        let (ux, uy) = (heading.cos(), heading.sin()); // along the rows
        let (vx, vy) = (-uy, ux); // across them
        let reach = rx.max(ry);
        let pitch = 12.5; // row spacing: two radii, the edge band and a hair
        let mut across = -reach;
        while across < reach {
            let mut along = -reach + rng.random_range(0.0..20.0f32);
            while along < reach {
                let half = rng.random_range(9.0..17.0f32) * length;
                let radius = rng.random_range(4.3..5.2f32);
                let jitter = rng.random_range(-0.12..0.12f32);
                let (ax, ay) = (ux + jitter * vx, uy + jitter * vy);
                let mid = (
                    centre.0 + (along + half + radius) * ux + across * vx,
                    centre.1 + (along + half + radius) * uy + across * vy,
                );
                let rod = Rod {
                    a: (mid.0 - half * ax, mid.1 - half * ay),
                    b: (mid.0 + half * ax, mid.1 + half * ay),
                    radius,
                };
                along += 2.0 * (half + radius) + rng.random_range(3.0..6.0f32);
                let in_colony =
                    ((mid.0 - centre.0) / rx).powi(2) + ((mid.1 - centre.1) / ry).powi(2) < 1.0;
                let in_image = [rod.a, rod.b].iter().all(|&(x, y)| {
                    x > radius + 2.0
                        && y > radius + 2.0
                        && x < width - radius - 2.0
                        && y < height - radius - 2.0
                });
                let clear = rods
                    .iter()
                    .all(|r| rod.axis_gap(r) > rod.radius + r.radius + 2.0 * EDGE + 0.5);
                // a few gaps, as real colonies have
                if in_colony && in_image && clear && rng.random_range(0.0..1.0f32) < fill {
                    rods.push(rod);
                }
            }
            across += pitch + rng.random_range(0.0..1.5f32);
        }
    }
    rods
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_look_out_of_range_is_refused_with_its_range() {
        assert_eq!(Look::default().check(512, 384), Ok(()));
        assert!(
            Look::default()
                .check(30, 384)
                .unwrap_err()
                .contains("31 to 8192")
        );
        let big = Look {
            size: 5.0,
            ..Look::default()
        };
        assert!(
            big.check(512, 384)
                .unwrap_err()
                .contains("size 5 is outside 0.25..4")
        );
        let nan = Look {
            noise: f32::NAN,
            ..Look::default()
        };
        assert!(nan.check(512, 384).is_err());
        let long = Look {
            length: -1.0,
            ..Look::default()
        };
        assert!(
            long.check(512, 384)
                .unwrap_err()
                .contains("length -1 is outside 0..4")
        );
    }

    #[test]
    fn a_colony_is_deterministic_and_labelled_like_the_real_image() {
        let (plane, labels) = colony(256, 192, 7);
        assert_eq!((plane.width, plane.height), (256, 192));
        assert_eq!(colony(256, 192, 7).0, plane, "same seed, same image");
        assert_ne!(colony(256, 192, 8).0, plane);
        let n = labels.classes.len() as f64;
        let share = |c: u8| labels.classes.iter().filter(|&&k| k == c).count() as f64 / n;
        // the real phase_027: 22% cell, 11% edge, 67% other
        assert!(
            (0.08..0.45).contains(&share(CLASS_CELL)),
            "{}",
            share(CLASS_CELL)
        );
        assert!(
            (0.03..0.25).contains(&share(CLASS_EDGE)),
            "{}",
            share(CLASS_EDGE)
        );
        // cells are darker than background on average, but the two overlap somewhat
        let mean = |c: u8| {
            let v: Vec<f32> = (0..plane.data.len())
                .filter(|&i| labels.classes[i] == c)
                .map(|i| plane.data[i])
                .collect();
            v.iter().sum::<f32>() / v.len() as f32
        };
        assert!(mean(CLASS_CELL) < mean(CLASS_OTHER) - 0.2);
        // the cells are separate objects of plausible size (real median: 377 px)
        let cells = labels.cells();
        assert!(cells.count() >= 15, "{} cells", cells.count());
        let mut areas = cells.areas.clone();
        areas.sort_unstable();
        let median = areas[areas.len() / 2];
        assert!((80..500).contains(&median), "median area {median}");
    }
}
