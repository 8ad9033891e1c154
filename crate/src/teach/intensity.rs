//! Why patches (post 1): a pixel's own brightness says little about its class. Cells are dark
//! in phase contrast, but so are parts of the background, and the bright halos sit next to
//! both. These are the numbers behind that argument: the intensity histogram of each class,
//! and for any pixel, a pixel of another class that is just as bright.

use crate::core::classes::{CLASS_CELL, CLASS_OTHER};
use crate::core::plane::Plane;
use crate::io::labels::ClassMap;

/// Histograms of normalised intensity (0..1, values outside clamped to the end bins) per
/// class: `counts[class][bin]`, `bins` equal bins.
pub fn class_histograms(plane: &Plane, labels: &ClassMap, bins: usize) -> [Vec<u32>; 3] {
    let bins = bins.max(1);
    let mut counts: [Vec<u32>; 3] = std::array::from_fn(|_| vec![0; bins]);
    for (&v, &c) in plane.data.iter().zip(&labels.classes) {
        let bin = ((v.clamp(0.0, 1.0) * bins as f32) as usize).min(bins - 1);
        counts[c as usize][bin] += 1;
    }
    counts
}

/// Share of pixels a brightness threshold would get wrong at best: the overlap of the cell
/// and background (other) intensity distributions, each normalised to 1. 0 = a threshold
/// separates them perfectly; 1 = identical.
pub fn overlap(histograms: &[Vec<u32>; 3]) -> f64 {
    let [other, cell] = [
        &histograms[CLASS_OTHER as usize],
        &histograms[CLASS_CELL as usize],
    ];
    let (n_other, n_cell) = (
        other.iter().map(|&c| c as f64).sum::<f64>().max(1.0),
        cell.iter().map(|&c| c as f64).sum::<f64>().max(1.0),
    );
    other
        .iter()
        .zip(cell)
        .map(|(&o, &c)| (o as f64 / n_other).min(c as f64 / n_cell))
        .sum()
}

/// The nearest pixel (in distance on the image) of the contrasting class — background (other)
/// for a cell pixel, a cell pixel for anything else — whose intensity is within `tolerance`.
/// Searches square rings outwards, so the answer is a close look-alike, not a far one.
pub fn lookalike(
    plane: &Plane,
    labels: &ClassMap,
    x: usize,
    y: usize,
    tolerance: f32,
) -> Option<(usize, usize)> {
    let wanted = if labels.at(x, y) == CLASS_CELL {
        CLASS_OTHER
    } else {
        CLASS_CELL
    };
    let v = plane.data[y * plane.width + x];
    let (w, h) = (plane.width as isize, plane.height as isize);
    let (cx, cy) = (x as isize, y as isize);
    let mut best: Option<(isize, (usize, usize))> = None;
    for r in 1..w.max(h) {
        if best.is_some_and(|(d, _)| d <= r * r) {
            break; // every later ring is farther than the best found
        }
        for (px, py) in ring(cx, cy, r) {
            if px < 0 || py < 0 || px >= w || py >= h {
                continue;
            }
            let (ux, uy) = (px as usize, py as usize);
            if labels.at(ux, uy) == wanted
                && (plane.data[uy * plane.width + ux] - v).abs() <= tolerance
            {
                let d = (px - cx).pow(2) + (py - cy).pow(2);
                if best.is_none_or(|(bd, _)| d < bd) {
                    best = Some((d, (ux, uy)));
                }
            }
        }
    }
    best.map(|(_, p)| p)
}

/// The pixels at Chebyshev distance exactly `r` from (cx, cy).
fn ring(cx: isize, cy: isize, r: isize) -> impl Iterator<Item = (isize, isize)> {
    (-r..=r).flat_map(move |d| {
        [
            (cx + d, cy - r),
            (cx + d, cy + r),
            (cx - r, cy + d),
            (cx + r, cy + d),
        ]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scene() -> (Plane, ClassMap) {
        // 8x1: cells (1) dark at x 0..=2, background (0) at 3..=7 with one dark spot at x 6
        let data = vec![0.1, 0.1, 0.15, 0.6, 0.7, 0.65, 0.12, 0.7];
        let classes = vec![1, 1, 1, 0, 0, 0, 0, 0];
        (
            Plane {
                width: 8,
                height: 1,
                data,
            },
            ClassMap {
                width: 8,
                height: 1,
                classes,
            },
        )
    }

    #[test]
    fn histograms_count_each_class_in_its_bins() {
        let (plane, labels) = scene();
        let h = class_histograms(&plane, &labels, 10);
        assert_eq!(h[1].iter().sum::<u32>(), 3);
        assert_eq!(h[0].iter().sum::<u32>(), 5);
        assert_eq!(h[1][1], 3); // 0.1, 0.1, 0.15
        assert_eq!(h[0][1], 1); // the dark background spot
        assert_eq!(h[0][6], 2); // 0.6, 0.65
        // the dark spot is the only overlap: min(1/5, 3/3) in bin 1
        assert!((overlap(&h) - 0.2).abs() < 1e-12);
    }

    #[test]
    fn a_lookalike_is_the_nearest_pixel_of_the_other_kind_as_bright() {
        let (plane, labels) = scene();
        assert_eq!(lookalike(&plane, &labels, 2, 0, 0.05), Some((6, 0)));
        assert_eq!(lookalike(&plane, &labels, 6, 0, 0.05), Some((2, 0)));
        assert_eq!(lookalike(&plane, &labels, 4, 0, 0.05), None);
    }
}
