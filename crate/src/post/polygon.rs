//! A cell's outline as a polygon along the edges of its pixels, its corners on pixel corners:
//! the way ImageJ's wand and QuPath trace a labelled object. Filled by the usual rule (a pixel
//! is inside when its centre is), the polygon gives back exactly the cell's pixels, and its
//! area is the cell's pixel count; this is what the ROI and GeoJSON exports hand to Fiji and
//! QuPath.
//!
//! Written here rather than taken from imageproc: its contours run through pixel *centres*
//! (half a pixel inside the cell, and no area at all for a cell one pixel thin), and no kept
//! crate traces the cracks between pixels.

use crate::core::cells::Cells;
use crate::core::plane::Rect;

/// Headings along the cracks, in image coordinates (y down).
const EAST: (i64, i64) = (1, 0);

fn right((dx, dy): (i64, i64)) -> (i64, i64) {
    (-dy, dx)
}

fn left((dx, dy): (i64, i64)) -> (i64, i64) {
    (dy, -dx)
}

/// The outer outline of cell `id`, whose pixels lie in `b` (image coordinates of `cells`):
/// its corners, clockwise on screen, from the top-left corner of its top row's first pixel,
/// without repeating the first corner at the end and without points in the middle of straight
/// runs. Where the cell touches itself only at a corner, the outline keeps the two sides apart
/// (the cell's pixels are 4-connected), so a pinched cell is traced as it is. A hole inside a
/// cell is not part of its outer outline. Empty for a cell with no pixels in `b`.
pub fn outline(cells: &Cells, id: u32, b: Rect) -> Vec<(i64, i64)> {
    let inside = |x: i64, y: i64| {
        x >= b.x0 as i64
            && y >= b.y0 as i64
            && x < b.x1 as i64
            && y < b.y1 as i64
            && cells.labels[y as usize * cells.width + x as usize] == id
    };
    let first = (b.y0..b.y1)
        .flat_map(|y| (b.x0..b.x1).map(move |x| (x as i64, y as i64)))
        .find(|&(x, y)| inside(x, y));
    let Some(start) = first else {
        return Vec::new();
    };
    // The pixel beside the crack just ahead of corner `v` on heading `d`, on its right or left
    // (doubled coordinates keep the pixel centres integral).
    let ahead = |v: (i64, i64), d: (i64, i64), side: (i64, i64)| {
        let (cx, cy) = (2 * v.0 + d.0 + side.0, 2 * v.1 + d.1 + side.1);
        inside((cx - 1).div_euclid(2), (cy - 1).div_euclid(2))
    };
    // The cell stays on the right: along the top of the first pixel, heading east. Nothing
    // lies above or left of that pixel, so only this outline passes through its corner.
    let mut corners = vec![start];
    let (mut v, mut d) = (start, EAST);
    loop {
        v = (v.0 + d.0, v.1 + d.1);
        if v == start {
            break;
        }
        // turn right as soon as the cell ends on the right: this keeps diagonal neighbours apart
        let next = if !ahead(v, d, right(d)) {
            right(d)
        } else if ahead(v, d, left(d)) {
            left(d)
        } else {
            d
        };
        if next != d {
            corners.push(v);
            d = next;
        }
    }
    corners
}

/// Twice the signed area of a closed polygon (shoelace), positive for one drawn clockwise on
/// screen (y down).
pub fn doubled_area(points: &[(i64, i64)]) -> i64 {
    (0..points.len())
        .map(|i| {
            let (a, b) = (points[i], points[(i + 1) % points.len()]);
            a.0 * b.1 - b.0 * a.1
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cells drawn as digits (`.` background); `from_labels` numbers them in reading order.
    fn cells_of(rows: &[&str]) -> Cells {
        let (w, h) = (rows[0].len(), rows.len());
        let labels: Vec<u32> = rows
            .iter()
            .flat_map(|r| {
                r.bytes()
                    .map(|c| if c == b'.' { 0 } else { (c - b'0') as u32 })
            })
            .collect();
        Cells::from_labels(labels, w, h, 1)
    }

    /// The id `from_labels` gave the cell drawn as `digit`.
    fn id_of(rows: &[&str], c: &Cells, digit: char) -> u32 {
        let at = rows.concat().find(digit).expect("drawn");
        c.labels[at]
    }

    fn whole(c: &Cells) -> Rect {
        Rect::new(0, 0, c.width, c.height)
    }

    /// The pixels whose centres lie inside a polygon (even-odd rule), as ImageJ fills an ROI.
    fn filled(points: &[(i64, i64)], w: usize, h: usize) -> Vec<bool> {
        (0..w * h)
            .map(|i| {
                let (px, py) = ((i % w) as f64 + 0.5, (i / w) as f64 + 0.5);
                let mut inside = false;
                for k in 0..points.len() {
                    let (a, b) = (points[k], points[(k + 1) % points.len()]);
                    let (ay, by) = (a.1 as f64, b.1 as f64);
                    if (ay > py) != (by > py) {
                        let x = a.0 as f64 + (py - ay) / (by - ay) * (b.0 - a.0) as f64;
                        if px < x {
                            inside = !inside;
                        }
                    }
                }
                inside
            })
            .collect()
    }

    #[test]
    fn a_square_is_its_four_corners() {
        let c = cells_of(&["....", ".11.", ".11.", "...."]);
        assert_eq!(
            outline(&c, 1, whole(&c)),
            vec![(1, 1), (3, 1), (3, 3), (1, 3)]
        );
    }

    #[test]
    fn a_one_pixel_cell_has_the_area_of_a_pixel() {
        let c = cells_of(&["...", ".1.", "..."]);
        let ring = outline(&c, 1, whole(&c));
        assert_eq!(ring, vec![(1, 1), (2, 1), (2, 2), (1, 2)]);
        assert_eq!(doubled_area(&ring), 2);
    }

    #[test]
    fn outlines_give_back_their_cells_pixels() {
        // a rod, two Ls, a one-pixel-thin line, a label in two pieces that touch only at a
        // corner, a ring with a hole, a cell that touches itself at a corner (around the
        // background pixel in its middle), and cells touching the image's edge
        let rows = [
            "11111....3",
            "1111..2..3",
            "......2..3",
            "44....222.",
            "44.55.....",
            "..4.5.6666",
            "..444.6..6",
            "......6666",
            "777.......",
            "7.7.......",
            ".77.......",
        ];
        let c = cells_of(&rows);
        for digit in "1234567".chars() {
            let id = id_of(&rows, &c, digit);
            let ring = outline(&c, id, whole(&c));
            let own: Vec<bool> = c.labels.iter().map(|&l| l == id).collect();
            let back = filled(&ring, c.width, c.height);
            let area = doubled_area(&ring);
            match digit {
                // the two pieces are two 4-components: the outline takes the first alone
                '4' => assert_eq!((back.iter().filter(|&&b| b).count(), area), (4, 8)),
                // the outer outline covers the hole (its two pixels)
                '6' => assert_eq!((back.iter().filter(|&&b| b).count(), area), (12, 24)),
                _ => {
                    assert_eq!(back, own, "cell {id}: {ring:?}");
                    assert_eq!(area, 2 * c.areas[id as usize - 1] as i64, "cell {id}");
                }
            }
        }
    }

    #[test]
    fn a_box_smaller_than_the_cell_keeps_to_the_box() {
        let c = cells_of(&["111", "111"]);
        let ring = outline(&c, 1, Rect::new(1, 0, 3, 2));
        assert_eq!(ring, vec![(1, 0), (3, 0), (3, 2), (1, 2)]);
        assert!(outline(&c, 2, whole(&c)).is_empty());
    }
}
