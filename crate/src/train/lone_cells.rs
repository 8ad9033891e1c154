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
//!
//! Three copies in four are shortened: a stretch of the rod's middle, across its long axis,
//! is left out and the two ends joined, down to a round cell (more often nearly round than
//! not). phase_027 holds rods only, and a network taught debris beside rods alone took round
//! cells for debris: synthetic cocci, five fields, mean F1 0.959 → 0.83–0.88; with half the
//! copies shortened evenly 0.918; as here 0.960 (the model card). Cutting the middle rather
//! than squashing the whole keeps the poles' caps and halos as they are.

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
/// Share of the copies shortened (see the module docs).
const SHORTEN: f32 = 0.75;
/// Cores copied: whole cells (a sliver cut by the region's edge or a merged clump is neither).
const AREAS: std::ops::RangeInclusive<u32> = 150..=1000;

/// The labelled cells a crop may take copies of.
pub struct LoneCells {
    cells: Cells,
    /// The cells that may be copied.
    copies: Vec<Copyable>,
}

/// A cell that may be copied: its label in `cells`, its box grown by [`RIM`] and its axes.
#[derive(Clone, Copy, Debug)]
struct Copyable {
    label: u32,
    bounds: Bounds,
    axes: Axes,
}

/// A core's long axis, in the image's pixels: its centre (the middle of its extent along
/// the axis, at its centroid across), the axis's direction (unit) and the core's length and
/// width along and across it (pixel centres' extents, plus one).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Axes {
    centre: (f32, f32),
    along: (f32, f32),
    length: f32,
    width: f32,
}

impl Axes {
    /// From the core's pixel centres: the long axis is the main one of their second moments.
    fn of(pixels: &[(usize, usize)]) -> Axes {
        let n = pixels.len() as f32;
        let (mx, my) = pixels.iter().fold((0.0, 0.0), |(sx, sy), &(x, y)| {
            (sx + x as f32 / n, sy + y as f32 / n)
        });
        let (mut xx, mut xy, mut yy) = (0.0f32, 0.0f32, 0.0f32);
        for &(x, y) in pixels {
            let (dx, dy) = (x as f32 - mx, y as f32 - my);
            xx += dx * dx;
            xy += dx * dy;
            yy += dy * dy;
        }
        let angle = 0.5 * (2.0 * xy).atan2(xx - yy);
        // an upright rod's axis exactly upright: cos(π/2) in f32 is -4e-8, whose sign would
        // split the centre row between the two ends a shortened copy joins
        let exact = |v: f32| if v.abs() < 1e-6 { 0.0 } else { v };
        let along = (exact(angle.cos()), exact(angle.sin()));
        let extent = |(ux, uy): (f32, f32)| {
            pixels
                .iter()
                .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &(x, y)| {
                    let t = (x as f32 - mx) * ux + (y as f32 - my) * uy;
                    (lo.min(t), hi.max(t))
                })
        };
        let (t0, t1) = extent(along);
        let (s0, s1) = extent((-along.1, along.0));
        let mid = 0.5 * (t0 + t1);
        Axes {
            centre: (mx + mid * along.0, my + mid * along.1),
            along,
            length: t1 - t0 + 1.0,
            width: s1 - s0 + 1.0,
        }
    }
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
        let mut cores = vec![Vec::new(); cells.count()];
        for (i, &l) in cells.labels.iter().enumerate() {
            if l > 0 {
                let b = &mut boxes[l as usize - 1];
                let (x, y) = (i % w, i / w);
                *b = (b.0.min(x), b.1.min(y), b.2.max(x + 1), b.3.max(y + 1));
                cores[l as usize - 1].push((x, y));
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
            .zip(&cores)
            .filter_map(|(((label, (x0, y0, x1, y1)), &area), core)| {
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
                (inside && AREAS.contains(&area) && labelled(grown)).then(|| Copyable {
                    label,
                    bounds: grown,
                    axes: Axes::of(core),
                })
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
            let copy = &self.copies[rng.random_range(0..self.copies.len())];
            // enlarged up to GROW (uniform in the logarithm): wider bacteria stand alone too
            let grow = (rng.random_range(0.0..1.0f32) * GROW.ln()).exp();
            // shortened anywhere from not at all to round, more often nearly round
            let cut = if rng.random_range(0.0..1.0f32) < SHORTEN {
                rng.random_range(0.0..1.0f32).sqrt() * (copy.axes.length - copy.axes.width).max(0.0)
            } else {
                0.0
            };
            let stamp = self.stamp(copy, labels, crop.zoom / grow, cut);
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

    /// The copy of `copy` at `zoom`, `cut` image pixels shorter: for each crop pixel of the
    /// copy, where in the image it samples, its class there and how much of it is laid over
    /// the crop (0: none).
    fn stamp(&self, copy: &Copyable, labels: &ClassMap, zoom: f32, cut: f32) -> Stamp {
        let Copyable {
            label: own,
            bounds: (x0, y0, x1, y1),
            axes,
        } = *copy;
        let (cx, cy) = axes.centre;
        let (ux, uy) = axes.along;
        let (vx, vy) = (-uy, ux);
        // the grown box's reach from the centre along and across the axis (image pixels; in
        // crop pixels once divided by the zoom)
        let corners = [(x0, y0), (x1, y0), (x0, y1), (x1, y1)];
        let reach = |(ax, ay): (f32, f32)| {
            corners
                .iter()
                .map(|&(x, y)| ((x as f32 - 0.5 - cx) * ax + (y as f32 - 0.5 - cy) * ay).abs())
                .fold(0.0f32, f32::max)
        };
        let along = (reach((ux, uy)) - 0.5 * cut).max(0.0) / zoom;
        let across = reach((vx, vy)) / zoom;
        let half_w = (along * ux.abs() + across * vx.abs()).ceil() as usize;
        let half_h = (along * uy.abs() + across * vy.abs()).ceil() as usize;
        let (w, h) = (2 * half_w + 1, 2 * half_h + 1);

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
                // the copy's middle left out: each half moved cut / 2 towards the centre
                let dx = (i as f32 - half_w as f32) * zoom;
                let dy = (j as f32 - half_h as f32) * zoom;
                let t = dx * ux + dy * uy;
                let n = dx * vx + dy * vy;
                let t = t + 0.5 * cut * t.signum();
                let (sx, sy) = (cx + t * ux + n * vx, cy + t * uy + n * vy);
                let (px, py) = (sx.round(), sy.round());
                let inside = px >= x0 as f32 && py >= y0 as f32 && px < x1 as f32 && py < y1 as f32;
                if !inside {
                    pixels.push(Sample {
                        at: (sx, sy),
                        class: CLASS_OTHER,
                        cover: 0.0,
                    });
                    continue;
                }
                let (px, py) = (px as usize, py as usize);
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
        Stamp { w, h, pixels }.trimmed()
    }
}

#[derive(Clone, Copy)]
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
    /// Without its rows and columns that lay nothing (the box's corners, turned with the
    /// cell's axis, reach past the cell's surround).
    fn trimmed(self) -> Stamp {
        let laid = |i: usize, j: usize| self.pixels[j * self.w + i].cover > 0.0;
        let cols: Vec<usize> = (0..self.w)
            .filter(|&i| (0..self.h).any(|j| laid(i, j)))
            .collect();
        let rows: Vec<usize> = (0..self.h)
            .filter(|&j| (0..self.w).any(|i| laid(i, j)))
            .collect();
        let (Some(&i0), Some(&i1), Some(&j0), Some(&j1)) =
            (cols.first(), cols.last(), rows.first(), rows.last())
        else {
            return Stamp {
                w: 0,
                h: 0,
                pixels: Vec::new(),
            };
        };
        let pixels = (j0..=j1)
            .flat_map(|j| (i0..=i1).map(move |i| (i, j)))
            .map(|(i, j)| self.pixels[j * self.w + i])
            .collect();
        Stamp {
            w: i1 - i0 + 1,
            h: j1 - j0 + 1,
            pixels,
        }
    }

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
        let (mut largest, mut shortest, mut longest) = (0.0f32, f32::MAX, 0.0f32);
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
                // each copy's core is one rod (12 × 30 px) enlarged up to GROW at zoom 1, as
                // wide as ever and as long or shortened down to round
                let mask: Vec<bool> = classes.iter().map(|&c| c == CLASS_CELL as i64).collect();
                let copies = Cells::from_mask(&mask, side, side, 1);
                let mut boxes = vec![(side, side, 0, 0); copies.count()];
                for (i, &l) in copies.labels.iter().enumerate() {
                    if l > 0 {
                        let b = &mut boxes[l as usize - 1];
                        let (x, y) = (i % side, i / side);
                        *b = (b.0.min(x), b.1.min(y), b.2.max(x + 1), b.3.max(y + 1));
                    }
                }
                for (x0, y0, x1, y1) in boxes {
                    let (wide, long) = ((x1 - x0) as f32 * zoom, (y1 - y0) as f32 * zoom);
                    assert!(
                        (12.0 * 0.85..12.0 * GROW * 1.15).contains(&wide),
                        "{wide} px wide at {zoom}"
                    );
                    let aspect = long / wide;
                    assert!((0.8..2.5 * 1.15).contains(&aspect), "{long} × {wide}");
                    shortest = shortest.min(aspect);
                    longest = longest.max(aspect);
                    largest = largest.max(wide / 12.0);
                }
            }
        }
        assert!(pasted > 10_000, "copies were set ({pasted} px)");
        assert!(largest > 1.4, "some copies enlarged (at most ×{largest})");
        assert!(shortest < 1.2, "some copies round (at least {shortest}:1)");
        assert!(longest > 2.2, "some copies whole (at most {longest}:1)");
    }

    #[test]
    fn a_rods_axes_follow_it_at_any_angle() {
        // a rod 6 px wide and 24 long, along the diagonal, centred on (40, 30)
        let rod: Vec<(usize, usize)> = (0..80 * 60)
            .map(|i| (i % 80, i / 80))
            .filter(|&(x, y)| {
                let (dx, dy) = (x as f32 - 40.0, y as f32 - 30.0);
                let (t, n) = ((dx + dy) / 2f32.sqrt(), (dy - dx) / 2f32.sqrt());
                t.abs() <= 12.0 && n.abs() <= 3.0
            })
            .collect();
        let axes = Axes::of(&rod);
        let (ux, uy) = axes.along;
        assert!(
            (ux.abs() - 0.707).abs() < 0.02 && ux * uy > 0.0,
            "{ux}, {uy}"
        );
        assert!((axes.length - 25.0).abs() < 2.0, "length {}", axes.length);
        assert!((axes.width - 7.0).abs() < 2.0, "width {}", axes.width);
        let (cx, cy) = axes.centre;
        assert!(
            (cx - 40.0).abs() < 0.5 && (cy - 30.0).abs() < 0.5,
            "{cx}, {cy}"
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
