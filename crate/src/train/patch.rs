//! Patches for training: class-balanced batches of the 31x31 neighbourhoods the patch
//! network classifies, cut by [`crate::model::naive::patch_at`].
//!
//! Borders: a patch centred near the image edge takes its missing pixels by mirroring the
//! image (numpy's 'reflect', see [`crate::core::plane::reflect`]), exactly as the dense twin pads the
//! whole image, so a pixel gets the same input whichever way it is classified. (The upstream
//! code instead skipped centres within 15 px of the border; mirroring keeps every labelled
//! pixel usable and makes border pixels segmentable.)

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::core::classes::{CLASS_EDGE, CLASS_OTHER};
use crate::core::plane::{Plane, Rect};
use crate::io::labels::ClassMap;
use crate::model::naive::patch_at;
use crate::model::spec::{HALF, PATCH};
use crate::train::looks::Look;

/// A batch of patches ready for the network: `n` patches of 31x31 values, row-major, and
/// their classes.
#[derive(Clone, Debug, Default)]
pub struct PatchBatch {
    pub pixels: Vec<f32>,
    pub classes: Vec<u8>,
}

impl PatchBatch {
    pub fn len(&self) -> usize {
        self.classes.len()
    }
    pub fn is_empty(&self) -> bool {
        self.classes.is_empty()
    }
}

/// Flips and quarter turns applied to training patches (the 8 symmetries of a square).
/// Cells in these images have no preferred orientation, so each symmetry is a new example.
/// `looks` also draws each patch as another microscope might show it ([`crate::train::looks`]:
/// magnification, focus, contrast and noise a little off).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Augment {
    pub flips: bool,
    pub rotations: bool,
    pub looks: bool,
}

/// Draws training patches with the same number per class, as the posts do: cell, edge and
/// other pixels are 22%, 11% and 67% of the image, and sampling them evenly keeps the
/// network from learning "everything is background".
pub struct Sampler {
    by_class: [Vec<(u32, u32)>; 3],
    /// Edge pixels between two cells (see [`septa`]).
    septa: Vec<(u32, u32)>,
    rng: StdRng,
    pub augment: Augment,
    /// Share of the edge patches drawn from the edge pixels between two cells rather than
    /// from all edge pixels (0: as the posts). Most of the ensemble's misses are two cells
    /// merged into one (models/README.md), and such lines are a small part of the edge class.
    pub septa_share: f32,
    /// "Other" pixels whose whole patch is background (see [`background`]), from which the
    /// looks draw some "other" patches as an empty field would show them; indexed only when
    /// the looks are wanted ([`Sampler::index_background`]).
    background: Vec<(u32, u32)>,
}

/// The "other" pixels whose whole 31x31 patch holds no cell, edge or unlabelled pixel: plain
/// background, as a field without cells is all made of. Unlabelled pixels count as possible
/// cells, so a painted map (which leaves most of the image unlabelled) yields almost none.
pub fn background(labels: &ClassMap, region: Rect) -> Vec<(u32, u32)> {
    use imageproc::distance_transform::{Norm, distance_transform};
    let (w, h) = (labels.width as u32, labels.height as u32);
    let not_other = image::GrayImage::from_fn(w, h, |x, y| {
        image::Luma([u8::from(labels.at(x as usize, y as usize) != CLASS_OTHER)])
    });
    // L∞ distance to the nearest pixel that is not "other" (255 where there is none)
    let distance = distance_transform(&not_other, Norm::LInf);
    let mut out = Vec::new();
    for y in region.y0..region.y1 {
        for x in region.x0..region.x1 {
            if distance.get_pixel(x as u32, y as u32)[0] as usize > HALF {
                out.push((x as u32, y as u32));
            }
        }
    }
    out
}

/// The edge pixels that separate two cells: within 2 px of two different cells (4-connected
/// components of the cell class). Where cells divide, this line is all that tells them apart.
pub fn septa(labels: &ClassMap, region: Rect) -> Vec<(u32, u32)> {
    let cells = labels.cells();
    let (w, h) = (labels.width as isize, labels.height as isize);
    let mut out = Vec::new();
    for y in region.y0..region.y1 {
        for x in region.x0..region.x1 {
            if labels.at(x, y) != CLASS_EDGE {
                continue;
            }
            let mut first = 0;
            let two = (-2..=2isize).any(|dy| {
                (-2..=2isize).any(|dx| {
                    let (nx, ny) = (x as isize + dx, y as isize + dy);
                    if nx < 0 || ny < 0 || nx >= w || ny >= h {
                        return false;
                    }
                    let l = cells.labels[(ny * w + nx) as usize];
                    if l == 0 || l == first {
                        return false;
                    }
                    if first == 0 {
                        first = l;
                        return false;
                    }
                    true
                })
            });
            if two {
                out.push((x as u32, y as u32));
            }
        }
    }
    out
}

#[derive(Debug, thiserror::Error)]
#[error(
    "the region {region:?} has no {class} pixels to sample (counts other/cell/edge: {counts:?})"
)]
pub struct EmptyClass {
    pub class: &'static str,
    pub region: Rect,
    pub counts: [usize; 3],
}

impl Sampler {
    /// Indexes the labelled pixels whose centre lies in `region`. Every class must be present;
    /// unlabelled pixels are left out.
    pub fn new(labels: &ClassMap, region: Rect, seed: u64) -> Result<Sampler, EmptyClass> {
        let region = region.clamp(labels.width, labels.height);
        let mut by_class: [Vec<(u32, u32)>; 3] = Default::default();
        for y in region.y0..region.y1 {
            for x in region.x0..region.x1 {
                // unlabelled pixels (painted maps) are not sampled
                if let Some(pool) = by_class.get_mut(labels.at(x, y) as usize) {
                    pool.push((x as u32, y as u32));
                }
            }
        }
        let counts = [by_class[0].len(), by_class[1].len(), by_class[2].len()];
        if let Some(c) = counts.iter().position(|&n| n == 0) {
            return Err(EmptyClass {
                class: crate::io::labels::class_name(c as u8),
                region,
                counts,
            });
        }
        Ok(Sampler {
            by_class,
            septa: septa(labels, region),
            background: Vec::new(),
            rng: StdRng::seed_from_u64(seed),
            augment: Augment::default(),
            septa_share: 0.0,
        })
    }

    /// Indexes the plain background of `region` for the looks' empty-field patches (a
    /// distance transform of the labels: done once, and only by samplers that use looks).
    pub fn index_background(&mut self, labels: &ClassMap, region: Rect) {
        self.background = background(labels, region.clamp(labels.width, labels.height));
    }

    /// A batch of `n` patches: classes in turn (other, cell, edge, other, ...), each centre
    /// drawn uniformly from that class's pixels.
    pub fn batch(&mut self, plane: &Plane, n: usize) -> PatchBatch {
        let mut batch = PatchBatch {
            pixels: Vec::with_capacity(n * PATCH * PATCH),
            classes: Vec::with_capacity(n),
        };
        let offset = self.rng.random_range(0..3);
        for i in 0..n {
            let class = (i + offset) % 3;
            let between = class == CLASS_EDGE as usize
                && !self.septa.is_empty()
                && self.septa_share > 0.0
                && self.rng.random_range(0.0..1.0f32) < self.septa_share;
            let empty_field = class == CLASS_OTHER as usize
                && self.augment.looks
                && !self.background.is_empty()
                && self.rng.random_range(0.0..1.0f32) < crate::train::looks::EMPTY_FIELD_SHARE;
            let pool = if between {
                &self.septa
            } else if empty_field {
                &self.background
            } else {
                &self.by_class[class]
            };
            let (x, y) = pool[self.rng.random_range(0..pool.len())];
            let start = batch.pixels.len();
            let (x, y) = (x as usize, y as usize);
            if self.augment.looks {
                let look = if empty_field {
                    Look::empty_field(&mut self.rng)
                } else {
                    Look::draw(&mut self.rng)
                };
                look.patch(plane, x, y, &mut self.rng, &mut batch.pixels);
            } else {
                patch_at(plane, x, y, &mut batch.pixels);
            }
            let symmetry = self.symmetry();
            transform(&mut batch.pixels[start..], symmetry);
            batch.classes.push(class as u8);
        }
        batch
    }

    fn symmetry(&mut self) -> (bool, u8) {
        let flip = self.augment.flips && self.rng.random_bool(0.5);
        let turns = if self.augment.rotations {
            self.rng.random_range(0..4)
        } else {
            0
        };
        (flip, turns)
    }
}

/// Mirrors (left-right) and then turns a 31x31 patch by quarter turns, in place.
fn transform(patch: &mut [f32], symmetry: (bool, u8)) {
    transform_square(patch, PATCH, symmetry);
}

/// Mirrors (left-right) and then turns a square of side `side` by quarter turns, in place:
/// patches, and the U-Net's training crops with their labels.
pub fn transform_square<T: Copy>(square: &mut [T], side: usize, (flip, turns): (bool, u8)) {
    if flip {
        for row in square.chunks_mut(side) {
            row.reverse();
        }
    }
    for _ in 0..turns {
        let src = square.to_vec();
        for y in 0..side {
            for x in 0..side {
                square[y * side + x] = src[x * side + (side - 1 - y)];
            }
        }
    }
}

/// A fixed, evenly class-balanced set of patches from `region` for measuring the mistake
/// rate: the same set every time it is asked for with the same seed.
pub fn evaluation_set(
    plane: &Plane,
    labels: &ClassMap,
    region: Rect,
    n: usize,
    seed: u64,
) -> Result<PatchBatch, EmptyClass> {
    Ok(Sampler::new(labels, region, seed)?.batch(plane, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn septa_are_the_edge_pixels_between_two_cells() {
        // cell, cell, edge, cell, cell, edge, other... along one row of 9: the edge at 2
        // touches two cells, the one at 5 only one
        let classes = vec![1, 1, 2, 1, 1, 2, 0, 0, 0];
        let labels = ClassMap {
            width: 9,
            height: 1,
            classes,
        };
        let found = septa(&labels, Rect::new(0, 0, 9, 1));
        assert_eq!(found, [(2, 0)]);
    }

    #[test]
    fn background_is_the_other_pixels_whose_whole_patch_is_other() {
        // one cell pixel at (40, 10) in a 100x20 field of "other", a column unlabelled at x 90
        let (w, h) = (100, 20);
        let mut classes = vec![CLASS_OTHER; w * h];
        classes[10 * w + 40] = crate::core::classes::CLASS_CELL;
        for y in 0..h {
            classes[y * w + 90] = crate::io::labels::UNLABELLED;
        }
        let labels = ClassMap::painted(w, h, classes).unwrap();
        let found = background(&labels, Rect::new(0, 0, w, h));
        for x in 0..w {
            let expected =
                (x as isize - 40).abs() > HALF as isize && (90 - x as isize).abs() > HALF as isize;
            assert_eq!(found.contains(&(x as u32, 0)), expected, "x {x}");
        }
        assert!(found.iter().all(|&(_, y)| y < h as u32));
    }

    fn ramp(w: usize, h: usize) -> Plane {
        Plane::new(w, h, (0..w * h).map(|i| i as f32).collect())
    }

    #[test]
    fn interior_patch_is_the_neighbourhood() {
        let p = ramp(40, 40);
        let mut out = Vec::new();
        patch_at(&p, 20, 17, &mut out);
        assert_eq!(out.len(), PATCH * PATCH);
        assert_eq!(out[0], p.at(5, 2));
        assert_eq!(out[HALF * PATCH + HALF], p.at(20, 17));
    }

    #[test]
    fn border_patch_is_mirrored() {
        let p = ramp(40, 40);
        let mut out = Vec::new();
        patch_at(&p, 0, 0, &mut out);
        // one column left of the centre mirrors to x = 1
        assert_eq!(out[HALF * PATCH + HALF - 1], p.at(1, 0));
        assert_eq!(out[0], p.at(15, 15));
    }

    #[test]
    fn classes_are_balanced_and_inside_the_region() {
        let (w, h) = (60, 40);
        let classes = (0..w * h)
            .map(|i| {
                if i % 10 == 0 {
                    2
                } else if i % 7 == 0 {
                    1
                } else {
                    0
                }
            })
            .collect();
        let labels = ClassMap {
            width: w,
            height: h,
            classes,
        };
        let plane = ramp(w, h);
        let region = Rect::new(0, 0, 30, 40);
        let mut s = Sampler::new(&labels, region, 7).unwrap();
        let b = s.batch(&plane, 300);
        for c in 0..3u8 {
            assert_eq!(b.classes.iter().filter(|&&k| k == c).count(), 100);
        }
        // centres come back as the middle pixel: all inside the region, with the right class
        for (i, &c) in b.classes.iter().enumerate() {
            let v = b.pixels[i * PATCH * PATCH + HALF * PATCH + HALF] as usize;
            assert!(region.contains(v % w, v / w));
            assert_eq!(labels.at(v % w, v / w), c);
        }
        let again = Sampler::new(&labels, region, 7).unwrap().batch(&plane, 300);
        assert_eq!(again.pixels, b.pixels, "same seed, same patches");
    }

    #[test]
    fn unlabelled_pixels_are_never_drawn() {
        use crate::io::labels::UNLABELLED;
        let (w, h) = (20, 10);
        let mut classes = vec![UNLABELLED; w * h];
        classes[3] = 0;
        classes[50] = 1;
        classes[120] = 2;
        let labels = ClassMap::painted(w, h, classes).unwrap();
        assert_eq!(labels.counts(), [1, 1, 1]);
        let plane = ramp(w, h);
        let b = Sampler::new(&labels, Rect::new(0, 0, w, h), 3)
            .unwrap()
            .batch(&plane, 30);
        for (i, &c) in b.classes.iter().enumerate() {
            let v = b.pixels[i * PATCH * PATCH + HALF * PATCH + HALF] as usize;
            assert_eq!(v, [3, 50, 120][c as usize]);
        }
        assert!(ClassMap::painted(w, h, vec![7; w * h]).is_err());
    }

    #[test]
    fn a_region_without_a_class_is_refused() {
        let labels = ClassMap {
            width: 4,
            height: 1,
            classes: vec![0, 1, 1, 2],
        };
        let err = Sampler::new(&labels, Rect::new(0, 0, 3, 1), 0)
            .err()
            .unwrap();
        assert_eq!(err.class, "edge");
    }

    #[test]
    fn four_quarter_turns_and_two_flips_are_identity() {
        let orig: Vec<f32> = (0..PATCH * PATCH).map(|i| i as f32).collect();
        let mut p = orig.clone();
        transform(&mut p, (false, 1));
        assert_ne!(p, orig);
        assert_eq!(p[HALF * PATCH + HALF], orig[HALF * PATCH + HALF]);
        transform(&mut p, (false, 3));
        assert_eq!(p, orig);
        transform(&mut p, (true, 0));
        transform(&mut p, (true, 0));
        assert_eq!(p, orig);
    }
}
