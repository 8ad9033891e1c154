//! Lone cells, for training: cells of the colony copied with their rim onto a crop's open
//! background, labelled as they were, so the networks learn that a cell standing alone is
//! still a cell ("copy-paste" augmentation, Ghiasi et al. 2021).
//!
//! phase_027 is one packed colony: every cell in it has neighbours. A network taught that
//! dark blobs on open background are debris ([`crate::train::debris`]) learns, from that
//! image alone, that anything dark on open background is debris: measured, a fine-tune with
//! debris alone found no cell in some synthetic sparse fields (0 of 336, 2 of 131) where it
//! had found them all. Sparse fields are what other labs' images often are, so here cells
//! stand alone too: each copied from a grown box around one labelled cell (its core and the
//! pixels within [`RIM`] of it that are not another cell's, as the image shows them: its rim
//! and halo), sampled at the crop's own zoom and enlarged up to [`GROW`], set where the
//! crop's labels hold background with room around, its outermost ring blended into what was
//! there.

use rand::RngExt;
use rand::rngs::StdRng;

use crate::core::cells::Cells;
use crate::core::classes::{CLASS_CELL, CLASS_EDGE, CLASS_OTHER};
use crate::core::plane::{Plane, Rect};
use crate::io::labels::{ClassMap, UNLABELLED};
use crate::train::looks::bilinear;

/// Share of the training crops that get lone cells.
pub const SHARE: f32 = 0.5;
/// Most cells set in one crop.
const MOST: usize = 3;
/// The surround copied with a cell's core, in image pixels (its edge ring and halo).
pub const RIM: usize = 3;
/// Places tried for each cell before giving up.
const TRIES: usize = 20;
/// Largest enlargement of a copy: bacteria up to half as wide again as the tutorial's are
/// segmented at ×1 ([`crate::scale::auto_scale::WIDER`]), and a network taught debris and
/// copies at their own size took such lone cells' flat dark bodies for debris (van Vliet's
/// *E. coli*, 1.35–1.6 times as wide: p(cell) 0.72 on them against 0.92).
const GROW: f32 = 1.6;
/// Cores copied: whole cells (a sliver cut by the region's edge or a merged clump is neither).
const AREAS: std::ops::RangeInclusive<u32> = 150..=1000;

/// The labelled cells a crop may take copies of.
pub struct LoneCells {
    cells: Cells,
    /// The cells that may be copied: each one's label in `cells` and its box (x0, y0, x1,
    /// y1), grown by [`RIM`], in the image's pixels.
    copies: Vec<(u32, Bounds)>,
}

/// A box (x0, y0, x1, y1), half-open, in the image's pixels.
type Bounds = (usize, usize, usize, usize);

/// The crop a copy goes into: its pixels, classes and loss weights (row-major, `side`²), the
/// zoom it was sampled at, and the weight of each class.
pub struct Crop<'a> {
    pub pixels: &'a mut [f32],
    pub classes: &'a mut [i64],
    pub weights: &'a mut [f32],
    pub side: usize,
    pub zoom: f32,
    pub class_weight: [f32; 3],
}

impl LoneCells {
    /// The cells of `labels` (cores of 150–1,000 px) whose grown box lies inside `region` and
    /// holds no unlabelled pixel.
    pub fn new(labels: &ClassMap, region: Rect) -> LoneCells {
        let (w, h) = (labels.width, labels.height);
        let mask: Vec<bool> = (0..w * h)
            .map(|i| labels.classes[i] == CLASS_CELL && region.contains(i % w, i / w))
            .collect();
        let cells = Cells::from_mask(&mask, w, h, 1);
        let mut boxes = vec![(usize::MAX, usize::MAX, 0, 0); cells.count()];
        for (i, &l) in cells.labels.iter().enumerate() {
            if l > 0 {
                let b = &mut boxes[l as usize - 1];
                let (x, y) = (i % w, i / w);
                *b = (b.0.min(x), b.1.min(y), b.2.max(x + 1), b.3.max(y + 1));
            }
        }
        // a box wholly inside the region (so no cell cut by its edge or the image's is
        // copied as if whole) and wholly labelled (no guessed class under a copy)
        let labelled = |(x0, y0, x1, y1): Bounds| {
            (y0..y1).all(|y| !labels.classes[y * w + x0..y * w + x1].contains(&UNLABELLED))
        };
        let copies = (1..)
            .zip(boxes)
            .zip(&cells.areas)
            .filter_map(|((label, (x0, y0, x1, y1)), &area)| {
                let inside = x0 >= region.x0 + RIM
                    && y0 >= region.y0 + RIM
                    && x1 + RIM <= region.x1
                    && y1 + RIM <= region.y1;
                let grown = (
                    x0.wrapping_sub(RIM),
                    y0.wrapping_sub(RIM),
                    x1 + RIM,
                    y1 + RIM,
                );
                (inside && AREAS.contains(&area) && labelled(grown)).then_some((label, grown))
            })
            .collect();
        LoneCells { cells, copies }
    }

    /// How many cells may be copied.
    pub fn count(&self) -> usize {
        self.copies.len()
    }

    /// Sets up to [`MOST`] copies on `crop`'s open background, where they fit.
    pub fn paste(&self, plane: &Plane, labels: &ClassMap, crop: &mut Crop, rng: &mut StdRng) {
        if self.copies.is_empty() {
            return;
        }
        for _ in 0..rng.random_range(1..=MOST) {
            let (label, bounds) = self.copies[rng.random_range(0..self.copies.len())];
            // enlarged up to GROW (uniform in the logarithm): wider bacteria stand alone too
            let grow = (rng.random_range(0.0..1.0f32) * GROW.ln()).exp();
            let stamp = self.stamp(label, bounds, labels, crop.zoom / grow);
            for _ in 0..TRIES {
                let room = |n: usize| crop.side.saturating_sub(n + 4);
                let (rw, rh) = (room(stamp.w), room(stamp.h));
                if rw == 0 || rh == 0 {
                    break;
                }
                let at = (2 + rng.random_range(0..rw), 2 + rng.random_range(0..rh));
                if stamp.fits(crop, at) {
                    stamp.set(plane, crop, at);
                    break;
                }
            }
        }
    }

    /// The copy at `zoom` of the cell labelled `own`, in its grown box `bounds`: for each crop
    /// pixel of the box, where in the image it samples, its class there and how much of it
    /// is laid over the crop (0: none).
    fn stamp(&self, own: u32, bounds: Bounds, labels: &ClassMap, zoom: f32) -> Stamp {
        let (x0, y0, x1, y1) = bounds;
        let w = ((x1 - x0) as f32 / zoom).floor() as usize;
        let h = ((y1 - y0) as f32 / zoom).floor() as usize;
        let width = labels.width;
        let label = |x: usize, y: usize| self.cells.labels[y * width + x];
        // how near the cell's core an image pixel lies, in whole pixels up to RIM + 1
        let near = |x: usize, y: usize| -> usize {
            let r = RIM as isize;
            let mut best = RIM + 1;
            for dy in -r..=r {
                for dx in -r..=r {
                    let (xx, yy) = (x as isize + dx, y as isize + dy);
                    if xx >= 0
                        && yy >= 0
                        && (xx as usize) < width
                        && (yy as usize) < labels.height
                        && label(xx as usize, yy as usize) == own
                    {
                        best = best.min(dx.unsigned_abs().max(dy.unsigned_abs()));
                    }
                }
            }
            best
        };
        let mut pixels = Vec::with_capacity(w * h);
        for j in 0..h {
            for i in 0..w {
                let (sx, sy) = (x0 as f32 + i as f32 * zoom, y0 as f32 + j as f32 * zoom);
                let (px, py) = (sx.round() as usize, sy.round() as usize);
                let (px, py) = (px.min(width - 1), py.min(labels.height - 1));
                let l = label(px, py);
                let d = if l == own { 0 } else { near(px, py) };
                // the core, and its surround that is no other cell's; the outermost ring
                // half laid, so no seam shows
                let cover = match d {
                    _ if l != own && l != 0 => 0.0,
                    0 => 1.0,
                    d if d < RIM => 1.0,
                    d if d == RIM => 0.5,
                    _ => 0.0,
                };
                let class = if l == own {
                    CLASS_CELL
                } else if labels.at(px, py) == CLASS_EDGE {
                    CLASS_EDGE
                } else {
                    CLASS_OTHER
                };
                pixels.push(Sample {
                    at: (sx, sy),
                    class,
                    cover,
                });
            }
        }
        Stamp { w, h, pixels }
    }
}

struct Sample {
    at: (f32, f32),
    class: u8,
    cover: f32,
}

struct Stamp {
    w: usize,
    h: usize,
    pixels: Vec<Sample>,
}

impl Stamp {
    /// Whether the crop holds background under it and 2 px around, at `at`.
    fn fits(&self, crop: &Crop, (ax, ay): (usize, usize)) -> bool {
        (ay - 2..ay + self.h + 2).all(|y| {
            (ax - 2..ax + self.w + 2).all(|x| crop.classes[y * crop.side + x] == CLASS_OTHER as i64)
        })
    }

    /// Lays it on `crop` at `at`: values sampled from `plane` (bilinear), classes and
    /// weights where it covers wholly (its blended outer ring keeps what was there).
    fn set(&self, plane: &Plane, crop: &mut Crop, (ax, ay): (usize, usize)) {
        for j in 0..self.h {
            for i in 0..self.w {
                let s = &self.pixels[j * self.w + i];
                if s.cover == 0.0 {
                    continue;
                }
                let d = (ay + j) * crop.side + ax + i;
                let v = bilinear(plane, s.at);
                crop.pixels[d] = s.cover * v + (1.0 - s.cover) * crop.pixels[d];
                if s.cover >= 1.0 {
                    crop.classes[d] = s.class as i64;
                    crop.weights[d] = crop.class_weight[s.class as usize];
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// A 200 × 120 image: a packed row of rods (cells 12 × 30, edge lines between) on the
    /// left, open background on the right.
    fn colony() -> (Plane, ClassMap) {
        let (w, h) = (200, 120);
        let mut classes = vec![CLASS_OTHER; w * h];
        let mut data = vec![0.33f32; w * h];
        for rod in 0..4 {
            let x0 = 4 + rod * 16;
            for y in 20..56 {
                for x in x0..x0 + 16 {
                    let core = (x0 + 2..x0 + 14).contains(&x) && (23..53).contains(&y);
                    classes[y * w + x] = if core { CLASS_CELL } else { CLASS_EDGE };
                    data[y * w + x] = if core { 0.05 } else { 0.8 };
                }
            }
        }
        let plane = Plane {
            width: w,
            height: h,
            data,
        };
        (
            plane,
            ClassMap {
                width: w,
                height: h,
                classes,
            },
        )
    }

    #[test]
    fn copies_land_on_background_with_their_classes() {
        let (plane, labels) = colony();
        let lone = LoneCells::new(&labels, Rect::new(0, 0, 200, 120));
        assert_eq!(lone.count(), 4, "four whole rods, each 360 px");
        let side = 96;
        let mut rng = StdRng::seed_from_u64(4);
        let mut pasted = 0;
        let mut largest = 0.0f32;
        for zoom in [1.0f32, 1.15, 0.87] {
            for _ in 0..20 {
                // an open crop: all background
                let mut pixels = vec![0.33f32; side * side];
                let mut classes = vec![CLASS_OTHER as i64; side * side];
                let mut weights = vec![0.5f32; side * side];
                let mut crop = Crop {
                    pixels: &mut pixels,
                    classes: &mut classes,
                    weights: &mut weights,
                    side,
                    zoom,
                    class_weight: [0.5, 2.0, 3.0],
                };
                lone.paste(&plane, &labels, &mut crop, &mut rng);
                let cell = classes.iter().filter(|&&c| c == CLASS_CELL as i64).count();
                pasted += cell;
                // cell pixels weigh as cells and are dark (but where a zoomed sample mixes
                // the core's edge with the rim); background stays as it was
                let mut dark = 0.0;
                for i in 0..side * side {
                    match classes[i] as u8 {
                        CLASS_CELL => {
                            assert_eq!(weights[i], 2.0);
                            dark += pixels[i];
                        }
                        CLASS_EDGE => assert_eq!(weights[i], 3.0),
                        _ => assert_eq!(weights[i], 0.5),
                    }
                }
                assert!(cell == 0 || dark / (cell as f32) < 0.2, "cells dark");
                // each copy's core is one rod of 360 px, enlarged up to GROW² at zoom 1
                let mask: Vec<bool> = classes.iter().map(|&c| c == CLASS_CELL as i64).collect();
                let copies = Cells::from_mask(&mask, side, side, 1);
                for &area in &copies.areas {
                    let grown = area as f32 * zoom * zoom / 360.0;
                    assert!(
                        (0.7..1.3 * GROW * GROW).contains(&grown),
                        "{area} px at {zoom}"
                    );
                    largest = largest.max(grown);
                }
            }
        }
        assert!(pasted > 10_000, "copies were set ({pasted} px)");
        assert!(
            largest > 1.5,
            "some copies enlarged (at most ×{largest} the area)"
        );
    }

    #[test]
    fn a_crop_without_room_is_left_alone() {
        let (plane, labels) = colony();
        let lone = LoneCells::new(&labels, Rect::new(0, 0, 200, 120));
        let side = 48;
        let mut pixels = vec![0.1f32; side * side];
        let mut classes = vec![CLASS_CELL as i64; side * side];
        let mut weights = vec![1.0f32; side * side];
        let mut crop = Crop {
            pixels: &mut pixels,
            classes: &mut classes,
            weights: &mut weights,
            side,
            zoom: 1.0,
            class_weight: [1.0; 3],
        };
        lone.paste(&plane, &labels, &mut crop, &mut StdRng::seed_from_u64(2));
        assert!(pixels.iter().all(|&v| v == 0.1));
    }

    #[test]
    fn cells_cut_by_the_region_or_forgotten_are_not_copied() {
        let (_, mut labels) = colony();
        // the region ends inside the third rod, which keeps 270 px of its 360 there
        let lone = LoneCells::new(&labels, Rect::new(0, 0, 47, 120));
        assert_eq!(lone.count(), 2);
        // the region starts inside the first rod (the image's edge clamps nothing here)
        let lone = LoneCells::new(&labels, Rect::new(8, 0, 200, 120));
        assert_eq!(lone.count(), 3);
        // the image's own edge cuts the first rod (240 px of it left): not a whole cell
        let cut = ClassMap {
            width: 190,
            height: 120,
            classes: (0..190 * 120)
                .map(|i| labels.classes[(i / 190) * 200 + 10 + i % 190])
                .collect(),
        };
        assert_eq!(LoneCells::new(&cut, Rect::new(0, 0, 190, 120)).count(), 3);
        // a forgotten pixel in the second rod's rim: its copy would carry a guessed class
        labels.forget(Rect::new(21, 30, 22, 31));
        let lone = LoneCells::new(&labels, Rect::new(0, 0, 200, 120));
        assert_eq!(lone.count(), 3);
    }
}
