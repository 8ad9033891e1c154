//! Cells found or labelled: one id per pixel, and what every later stage measures of them.

use image::{GrayImage, Luma};
use imageproc::region_labelling::{Connectivity, connected_components};

use crate::core::plane::Rect;

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

    /// Each cell's width: the extent of its short axis, measured as [`Cells::lengths`].
    pub fn widths(&self) -> Vec<f64> {
        self.axes().iter().map(|&(_, minor)| minor).collect()
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
