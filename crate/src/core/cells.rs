//! Cells found or labelled: one id per pixel, and what every later stage measures of them.

use image::{GrayImage, Luma};
use imageproc::distance_transform::euclidean_squared_distance_transform;
use imageproc::region_labelling::{Connectivity, connected_components};

use crate::core::plane::Rect;

/// A cell whose short axis spans more than this many times its width at its widest is bent,
/// and its width is its thickness ([`Cells::widths`]).
pub const BENT: f64 = 1.25;

/// [`BENT`] for a cell the frame cuts.
pub const BENT_CUT: f64 = 3.0;

/// How thick a cell is along its medial ridge (the median, [`Cells::thicknesses`]) and at
/// its widest, both measured alike.
#[derive(Clone, Copy, Debug)]
struct Girth {
    /// 2√d − 0.5 for the median distance d along the ridge
    thickness: f64,
    /// the same for the largest distance: the widest disc inside the cell
    widest: f64,
}

/// Cells as labelled regions: `labels[i]` is 0 for background or the cell's id (1..=count).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cells {
    pub width: usize,
    pub height: usize,
    pub labels: Vec<u32>,
    /// Pixel count of cell `id` at `areas[id - 1]`.
    pub areas: Vec<u32>,
}

impl Cells {
    pub fn count(&self) -> usize {
        self.areas.len()
    }

    /// The typical cell's area: that of the cell holding the median cell pixel (half of all
    /// cell pixels lie in cells at most this large). Weighing by area lets a few large cells
    /// outvote many specks of debris, as a biologist's eye does; `None` where there is no cell.
    pub fn typical_area(&self) -> Option<u32> {
        let mut areas = self.areas.clone();
        areas.sort_unstable();
        let half = areas.iter().map(|&a| a as u64).sum::<u64>().div_ceil(2);
        let mut seen = 0;
        areas.into_iter().find(|&a| {
            seen += a as u64;
            seen >= half
        })
    }

    /// Whether each cell touches the edge of its frame, by id order (such a cell may be cut).
    pub fn on_border(&self) -> Vec<bool> {
        let (w, h) = (self.width, self.height);
        let mut touches = vec![false; self.count()];
        if w == 0 || h == 0 {
            return touches;
        }
        let edge = (0..w)
            .flat_map(|x| [x, (h - 1) * w + x])
            .chain((0..h).flat_map(|y| [y * w, y * w + w - 1]));
        for i in edge {
            if let Some(l) = self.labels[i].checked_sub(1) {
                touches[l as usize] = true;
            }
        }
        touches
    }

    /// Centre of mass of each cell, `(x, y)` in pixels (pixel centres at +0.5), by id order.
    pub fn centroids(&self) -> Vec<(f64, f64)> {
        let mut sums = vec![(0.0, 0.0); self.count()];
        for (i, &l) in self.labels.iter().enumerate() {
            if l != 0 {
                let s = &mut sums[l as usize - 1];
                s.0 += (i % self.width) as f64 + 0.5;
                s.1 += (i / self.width) as f64 + 0.5;
            }
        }
        sums.iter()
            .zip(&self.areas)
            .map(|(&(x, y), &a)| (x / a as f64, y / a as f64))
            .collect()
    }

    /// The bounding box of each cell in its own pixels (half-open), by id order.
    pub fn boxes(&self) -> Vec<Rect> {
        let mut boxes = vec![Rect::new(usize::MAX, usize::MAX, 0, 0); self.count()];
        for (i, &l) in self.labels.iter().enumerate() {
            if l != 0 {
                let (x, y) = (i % self.width, i / self.width);
                let b = &mut boxes[l as usize - 1];
                *b = Rect::new(b.x0.min(x), b.y0.min(y), b.x1.max(x + 1), b.y1.max(y + 1));
            }
        }
        boxes
    }

    /// Each cell's length: the extent of its long axis, from the second moments of its
    /// pixels (a rod n pixels long has variance (n² − 1) / 12 along its axis).
    pub fn lengths(&self) -> Vec<f64> {
        self.axes().iter().map(|&(major, _)| major).collect()
    }

    /// Each cell's width: the extent of its short axis, measured as [`Cells::lengths`], or
    /// where the cell is bent, its [`Cells::thicknesses`]. A cell is bent where its short axis
    /// spans over [`BENT`] times its width at its widest (the widest disc inside it), or
    /// [`BENT_CUT`] times where the frame cuts it.
    ///
    /// The short axis of a curved filament, a crescent or a bent pair spans the curve: a
    /// *B. subtilis* chain 19 px thick, winding across the field, measured 344 px, and the
    /// scale search shrank the image to chase it. A straight cell is about as wide across as
    /// at its widest (a rod as wide, a disc 0.87 of it), so [`BENT`] leaves room. The bar is
    /// the widest point, not the thickness: a cell with a thin waist and fat ends (a dividing
    /// rod the networks found in lumpy pieces, in van Vliet et al.'s *E. coli*: 13.5 px thick
    /// at its waist, 18–21 at its widest, 21–22 across) would read bent and as thin as its
    /// waist, and the scale search went to ×0.94 where ×0.60 was right. A cell the frame cuts
    /// has the higher bar because a sliver of a rod cut lengthwise, or half a disc, can read
    /// up to 2.5 times as wide across as along its ridge, and a chain crossing the frame many
    /// times that.
    pub fn widths(&self) -> Vec<f64> {
        self.axes()
            .iter()
            .zip(self.girths())
            .zip(self.on_border())
            .map(|((&(_, minor), girth), cut)| {
                if minor > if cut { BENT_CUT } else { BENT } * girth.widest {
                    girth.thickness
                } else {
                    minor
                }
            })
            .collect()
    }

    /// Each cell's thickness: twice the median distance from its medial ridge to the outside,
    /// half a pixel taken off so that a straight rod w px wide reads w (w ± 0.5 by its
    /// parity). The ridge is the pixels at least as far from the outside as all eight
    /// neighbours (ties kept: a rod an even number of pixels wide has two middle rows), but
    /// not those within √2 px of it where any other is: a pixelated outline's corners and
    /// steps pass the test at the outline itself, and a disc's few middle pixels would be
    /// outvoted by them.
    pub fn thicknesses(&self) -> Vec<f64> {
        self.girths().iter().map(|g| g.thickness).collect()
    }

    fn girths(&self) -> Vec<Girth> {
        self.boxes()
            .iter()
            .enumerate()
            .map(|(i, b)| self.girth(i as u32 + 1, *b))
            .collect()
    }

    fn girth(&self, id: u32, b: Rect) -> Girth {
        // the cell's box with a one-pixel margin of outside
        let (bw, bh) = (b.width() + 2, b.height() + 2);
        let inside = |x: usize, y: usize| {
            (1..=b.width()).contains(&x)
                && (1..=b.height()).contains(&y)
                && self.labels[(b.y0 + y - 1) * self.width + b.x0 + x - 1] == id
        };
        let outside = GrayImage::from_fn(bw as u32, bh as u32, |x, y| {
            Luma([if inside(x as usize, y as usize) {
                0
            } else {
                255
            }])
        });
        let distance = euclidean_squared_distance_transform(&outside);
        let at = |x: usize, y: usize| distance.get_pixel(x as u32, y as u32)[0];
        let mut ridge: Vec<f64> = (1..bh - 1)
            .flat_map(|y| (1..bw - 1).map(move |x| (x, y)))
            .filter(|&(x, y)| inside(x, y))
            .filter(|&(x, y)| {
                let d = at(x, y);
                (y - 1..=y + 1).all(|ny| (x - 1..=x + 1).all(|nx| d >= at(nx, ny)))
            })
            .map(|(x, y)| at(x, y))
            .collect();
        if ridge.iter().any(|&d2| d2 > 2.0) {
            ridge.retain(|&d2| d2 > 2.0);
        }
        if ridge.is_empty() {
            return Girth {
                thickness: 0.0,
                widest: 0.0,
            };
        }
        // the deepest pixel is on the ridge (no neighbour is deeper) and outlasts the filter
        let deepest = ridge.iter().copied().fold(0.0, f64::max);
        let mid = ridge.len() / 2;
        let (_, median, _) = ridge.select_nth_unstable_by(mid, f64::total_cmp);
        Girth {
            thickness: 2.0 * median.sqrt() - 0.5,
            widest: 2.0 * deepest.sqrt() - 0.5,
        }
    }

    /// The covariance `[xx, yy, xy]` of each cell's pixel positions (pixel centres), by id.
    pub fn covariances(&self) -> Vec<[f64; 3]> {
        let centroids = self.centroids();
        let mut sums = vec![[0.0f64; 3]; self.count()];
        for (i, &l) in self.labels.iter().enumerate() {
            if l != 0 {
                let (cx, cy) = centroids[l as usize - 1];
                let dx = (i % self.width) as f64 + 0.5 - cx;
                let dy = (i / self.width) as f64 + 0.5 - cy;
                let m = &mut sums[l as usize - 1];
                m[0] += dx * dx;
                m[1] += dy * dy;
                m[2] += dx * dy;
            }
        }
        sums.iter()
            .zip(&self.areas)
            .map(|(m, &a)| m.map(|v| v / a as f64))
            .collect()
    }

    /// (long, short) axis extents of each cell: √(12 λ + 1) for the eigenvalues λ of its
    /// pixels' covariance.
    fn axes(&self) -> Vec<(f64, f64)> {
        self.covariances()
            .iter()
            .map(|&[xx, yy, xy]| {
                let root = (((xx - yy) / 2.0).powi(2) + xy * xy).sqrt();
                let (major, minor) = ((xx + yy) / 2.0 + root, ((xx + yy) / 2.0 - root).max(0.0));
                ((12.0 * major + 1.0).sqrt(), (12.0 * minor + 1.0).sqrt())
            })
            .collect()
    }

    /// Connected components (4-connected) of a mask, smaller ones than `min_area` dropped,
    /// the rest numbered 1.. in scan order.
    pub fn from_mask(mask: &[bool], width: usize, height: usize, min_area: u32) -> Cells {
        let image = GrayImage::from_fn(width as u32, height as u32, |x, y| {
            Luma([mask[y as usize * width + x as usize] as u8])
        });
        let components = connected_components(&image, Connectivity::Four, Luma([0]));
        Cells::from_labels(components.into_raw(), width, height, min_area)
    }

    /// Renumbers any labelling (0 = background) to 1..=count, dropping regions smaller than
    /// `min_area` pixels.
    pub fn from_labels(raw: Vec<u32>, width: usize, height: usize, min_area: u32) -> Cells {
        let max = raw.iter().copied().max().unwrap_or(0) as usize;
        let mut area = vec![0u32; max + 1];
        for &l in &raw {
            area[l as usize] += 1;
        }
        let mut new_id = vec![0u32; max + 1];
        let mut areas = Vec::new();
        for &l in &raw {
            let l = l as usize;
            if l != 0 && new_id[l] == 0 && area[l] >= min_area.max(1) {
                areas.push(area[l]);
                new_id[l] = areas.len() as u32;
            }
        }
        let labels = raw.iter().map(|&l| new_id[l as usize]).collect();
        Cells {
            width,
            height,
            labels,
            areas,
        }
    }
}

/// Seeded region growing: every `room` pixel reachable from a labelled pixel through `room`
/// takes the label of the nearest one (4-connected steps, ties to whichever the queue meets
/// first). A breadth-first flood from all seeds at once does that in one pass; imageproc has
/// no marker-based growing, and a watershed crate would need a heightmap this does not use.
pub fn grow(labels: Vec<u32>, room: &[bool], width: usize, height: usize) -> Vec<u32> {
    grow_within(labels, room, width, height, u32::MAX)
}

/// [`grow`], but no further than `steps` 4-connected steps from the seeds.
pub fn grow_within(
    mut labels: Vec<u32>,
    room: &[bool],
    width: usize,
    height: usize,
    steps: u32,
) -> Vec<u32> {
    let mut queue: std::collections::VecDeque<(usize, u32)> = (0..labels.len())
        .filter(|&i| labels[i] != 0)
        .map(|i| (i, 0))
        .collect();
    while let Some((i, d)) = queue.pop_front() {
        if d >= steps {
            continue;
        }
        let (x, y) = (i % width, i / width);
        let neighbours = [
            (x > 0).then(|| i - 1),
            (x + 1 < width).then(|| i + 1),
            (y > 0).then(|| i - width),
            (y + 1 < height).then(|| i + width),
        ];
        for j in neighbours.into_iter().flatten() {
            if labels[j] == 0 && room[j] {
                labels[j] = labels[i];
                queue.push_back((j, d + 1));
            }
        }
    }
    labels
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One cell in a `w` × `h` field: the pixels whose centres `inside` accepts.
    fn cell(w: usize, h: usize, inside: impl Fn(f64, f64) -> bool) -> Cells {
        let mask: Vec<bool> = (0..w * h)
            .map(|i| inside((i % w) as f64 + 0.5, (i / w) as f64 + 0.5))
            .collect();
        Cells::from_mask(&mask, w, h, 1)
    }

    /// A rod `width` px wide with round caps, from (20, 30) to (60, 30) turned by `angle`
    /// about (40, 30).
    fn rod(width: f64, angle: f64) -> Cells {
        let (c, s) = (angle.cos(), angle.sin());
        cell(80, 60, |x, y| {
            let (dx, dy) = (x - 40.0, y - 30.0);
            let along = (dx * c + dy * s).clamp(-20.0, 20.0);
            let across = (-dx * s + dy * c, dx * c + dy * s - along);
            across.0.hypot(across.1) < width / 2.0
        })
    }

    #[test]
    fn straight_rods_are_as_wide_as_they_are_thick() {
        for width in [5.0, 8.0, 9.0, 12.0, 16.0] {
            for angle in [0.0, 0.5, 1.2] {
                let rod = rod(width, angle);
                // (its pixels' centres within width / 2 of the axis: 4 rows for 5 px at 0°)
                let (w, t) = (rod.widths()[0], rod.thicknesses()[0]);
                assert!((w - width).abs() <= 1.5, "{width} at {angle}: width {w}");
                assert!(
                    (t - w).abs() <= 1.0,
                    "{width} at {angle}: thickness {t}, width {w}"
                );
                assert_eq!(w, rod.axes()[0].1, "straight, not bent");
            }
        }
    }

    #[test]
    fn a_round_cell_keeps_its_short_axis() {
        let disc = cell(40, 40, |x, y| (x - 20.0).hypot(y - 20.0) < 8.0);
        let short = disc.axes()[0].1;
        assert_eq!(disc.widths()[0], short);
        assert!((short - 0.87 * 16.0).abs() < 1.0, "{short}");
        // its ridge, the four middle pixels, 7.6 px from the nearest outside pixel's centre
        assert!(
            (disc.thicknesses()[0] - 16.0).abs() <= 1.5,
            "{:?}",
            disc.thicknesses()
        );
    }

    #[test]
    fn pixelated_outlines_do_not_make_compact_cells_bent() {
        // a disc centred on a pixel's centre (its outline's four flat ends are ridge-like
        // corners), a square, a flat-ended rod: each keeps its short axis
        let disc = cell(41, 41, |x, y| (x - 20.5).hypot(y - 20.5) < 10.0);
        let square = cell(40, 40, |x, y| {
            (12.0..28.0).contains(&x) && (12.0..28.0).contains(&y)
        });
        let flat = cell(40, 40, |x, y| {
            (10.0..17.0).contains(&x) && (10.0..24.0).contains(&y)
        });
        for (name, c) in [("disc", disc), ("square", square), ("flat rod", flat)] {
            let (short, thick) = (c.axes()[0].1, c.thicknesses()[0]);
            assert_eq!(
                c.widths()[0],
                short,
                "{name}: short axis {short}, thickness {thick}"
            );
            // (stricter than the rule, whose bar is the widest point)
            assert!(
                short <= BENT * thick,
                "{name}: short axis {short}, thickness {thick}"
            );
        }
    }

    #[test]
    fn cells_the_frame_cuts_are_bent_only_far_beyond_their_widest_point() {
        // half a disc keeps its short axis
        let half_disc = cell(30, 40, |x, y| (x - 0.0).hypot(y - 20.5) < 12.0);
        assert!(half_disc.on_border()[0]);
        assert_eq!(half_disc.widths()[0], half_disc.axes()[0].1);
        // a half ring whose ends the frame cuts is bent all the same
        let arc = cell(100, 50, |x, y| {
            let r = (x - 50.0).hypot(y - 2.0);
            (r - 40.0).abs() < 4.5
        });
        assert!(arc.on_border()[0]);
        assert!((arc.widths()[0] - 9.0).abs() <= 1.0, "{}", arc.widths()[0]);
    }

    #[test]
    fn a_cell_with_a_thin_waist_and_fat_ends_keeps_its_short_axis() {
        // two discs 20 px wide joined by a bar 12 px thick: along its ridge mostly the bar,
        // and its short axis over 1.25 times that, but not wider than its ends
        let dumbbell = cell(80, 60, |x, y| {
            let end = (x - 20.0).hypot(y - 30.0).min((x - 60.0).hypot(y - 30.0)) < 10.0;
            end || ((20.0..60.0).contains(&x) && (y - 30.0).abs() < 6.0)
        });
        let (short, thick) = (dumbbell.axes()[0].1, dumbbell.thicknesses()[0]);
        let widest = dumbbell.girths()[0].widest;
        assert!(
            short > BENT * thick,
            "short axis {short}, thickness {thick}"
        );
        assert!(
            short <= BENT * widest,
            "short axis {short}, widest {widest}"
        );
        assert_eq!(dumbbell.widths()[0], short);
    }

    #[test]
    fn a_curved_filament_is_as_wide_as_it_is_thick() {
        // half a ring 9 px thick about a circle of radius 40: its short axis spans the curve
        let arc = cell(100, 60, |x, y| {
            let r = (x - 50.0).hypot(y - 10.0);
            y > 10.0 && (r - 40.0).abs() < 4.5
        });
        assert!(arc.axes()[0].1 > 40.0, "{:?}", arc.axes());
        let width = arc.widths()[0];
        assert!((width - 9.0).abs() <= 1.0, "{width}");
    }
}
