//! Measurements: one row per cell found, with the columns biologists put in their tables (what
//! Fiji's "Analyze Particles" and CellProfiler's size-and-shape module report, and what
//! Cellpose, ilastik and Omnipose users ask for): size, outline, length and width, orientation,
//! shape and intensity. The same table comes out of the CLI and the page.
//!
//! Outlines are imageproc's contours (Suzuki's border following, through the centres of a
//! cell's boundary pixels) and convex hulls; lengths and widths are the Feret diameters of the
//! hull of the cell's pixel squares, as ImageJ measures them (so a straight rod of n × m
//! pixels is m wide, and as long as its diagonal, √(n² + m²)). Circularity compares the
//! outline's own area and length, both through the boundary pixels' centres.

use imageproc::contours::{BorderType, find_contours};
use imageproc::geometry::{arc_length, contour_area, convex_hull};
use imageproc::point::Point;

use crate::core::cells::Cells;
use crate::core::plane::{Plane, Rect};

/// One cell's measurements, in pixels of the image (and its file's intensity units).
#[derive(Clone, Debug, PartialEq)]
pub struct Measures {
    /// The cell's id in the label image (1..).
    pub cell: u32,
    pub area: u32,
    /// Length of the outline through the boundary pixels' centres.
    pub perimeter: f64,
    /// Greatest distance between two points of the cell (its length).
    pub feret_max: f64,
    /// Least distance between two parallel lines enclosing the cell (its width).
    pub feret_min: f64,
    /// Direction of the long axis of the cell's pixels (second moments), degrees
    /// counter-clockwise from the x axis, 0..180 (ImageJ's "Angle").
    pub orientation: f64,
    /// `feret_max / feret_min`.
    pub aspect_ratio: f64,
    /// 4π area / perimeter² of the outline (1 for a disc), at most 1 (as ImageJ caps it).
    pub circularity: f64,
    /// Area over the area of the convex hull (1 for convex cells; less for bent or notched).
    pub solidity: f64,
    /// Mean and sum of the cell's pixel values, in the file's units.
    pub mean_intensity: f64,
    pub integrated_intensity: f64,
    /// Centre of mass, in image pixels (pixel centres at +0.5).
    pub centroid: (f64, f64),
    /// Bounding box in image pixels, `x1` and `y1` exclusive.
    pub bbox: Rect,
}

/// Measures every cell of `cells`, which cover `rect` of an image; `intensity` is that image
/// (the whole of it) in file units.
pub fn measure(cells: &Cells, rect: Rect, intensity: &Plane) -> Vec<Measures> {
    let (w, n) = (cells.width, cells.count());
    let boxes = cells.boxes();
    let mut sums = vec![0.0f64; n];
    for (i, &l) in cells.labels.iter().enumerate() {
        if l != 0 {
            sums[l as usize - 1] += intensity.at(rect.x0 + i % w, rect.y0 + i / w) as f64;
        }
    }
    let centroids = cells.centroids();
    let angles = orientations(cells);
    (0..n)
        .map(|k| {
            let id = k as u32 + 1;
            let b = boxes[k];
            let area = cells.areas[k];
            let outline = Outline::of(cells, id, b);
            let (feret_max, feret_min) = ferets(&outline.hull);
            let hull_area = contour_area(&outline.hull).max(1.0);
            let circularity = if outline.perimeter > 0.0 {
                (4.0 * std::f64::consts::PI * outline.area / outline.perimeter.powi(2)).min(1.0)
            } else {
                0.0
            };
            Measures {
                cell: id,
                area,
                perimeter: outline.perimeter,
                feret_max,
                feret_min,
                orientation: angles[k],
                aspect_ratio: feret_max / feret_min.max(1.0),
                circularity,
                solidity: (area as f64 / hull_area).min(1.0),
                mean_intensity: sums[k] / area as f64,
                integrated_intensity: sums[k],
                centroid: (
                    rect.x0 as f64 + centroids[k].0,
                    rect.y0 as f64 + centroids[k].1,
                ),
                bbox: Rect::new(
                    rect.x0 + b.x0,
                    rect.y0 + b.y0,
                    rect.x0 + b.x1,
                    rect.y0 + b.y1,
                ),
            }
        })
        .collect()
}

/// A cell's outer border (through its boundary pixels' centres) and the convex hull of its
/// pixel squares' corners.
struct Outline {
    perimeter: f64,
    /// Area inside the border (through pixel centres, so less than the pixel count).
    area: f64,
    hull: Vec<Point<i64>>,
}

impl Outline {
    fn of(cells: &Cells, id: u32, b: Rect) -> Outline {
        let border: Vec<Point<i64>> = border(cells, id, b)
            .into_iter()
            .map(|(x, y)| Point::new(x, y))
            .collect();
        let corners: Vec<Point<i64>> = border
            .iter()
            .flat_map(|p| {
                [(0, 0), (1, 0), (0, 1), (1, 1)].map(|(dx, dy)| Point::new(p.x + dx, p.y + dy))
            })
            .collect();
        Outline {
            perimeter: if border.len() > 1 {
                arc_length(&border, true)
            } else {
                0.0
            },
            area: if border.len() > 2 {
                contour_area(&border)
            } else {
                0.0
            },
            hull: convex_hull(corners),
        }
    }
}

/// The outer border of cell `id` (inside `b`, its bounding box in the cells' pixels): the
/// boundary pixels `(x, y)` in order around it, in the cells' pixels.
fn border(cells: &Cells, id: u32, b: Rect) -> Vec<(i64, i64)> {
    // the cell alone in its bounding box, one pixel of margin all round
    let (bw, bh) = (b.width() + 2, b.height() + 2);
    let mask = image::GrayImage::from_fn(bw as u32, bh as u32, |x, y| {
        let (x, y) = (x as usize, y as usize);
        let inside = x >= 1 && y >= 1 && x <= b.width() && y <= b.height();
        let own = inside && cells.labels[(b.y0 + y - 1) * cells.width + b.x0 + x - 1] == id;
        image::Luma([if own { 255 } else { 0 }])
    });
    // a cell is one 4-connected component: one outer border (the longest, to be safe)
    find_contours::<i64>(&mask)
        .into_iter()
        .filter(|c| c.border_type == BorderType::Outer)
        .max_by_key(|c| c.points.len())
        .map(|c| {
            c.points
                .iter()
                .map(|p| (p.x + b.x0 as i64 - 1, p.y + b.y0 as i64 - 1))
                .collect()
        })
        .unwrap_or_default()
}

/// (max, min) Feret diameters of a convex polygon: its greatest vertex-to-vertex distance, and
/// its least width over the directions of its edges (rotating calipers: the least width of a
/// convex polygon is always measured across one of its edges).
fn ferets(hull: &[Point<i64>]) -> (f64, f64) {
    let mut max = 0.0f64;
    for (i, a) in hull.iter().enumerate() {
        for b in &hull[i + 1..] {
            max = max.max(((a.x - b.x) as f64).hypot((a.y - b.y) as f64));
        }
    }
    let mut min = f64::INFINITY;
    for (i, a) in hull.iter().enumerate() {
        let b = hull[(i + 1) % hull.len()];
        let (ex, ey) = ((b.x - a.x) as f64, (b.y - a.y) as f64);
        let len = ex.hypot(ey);
        if len == 0.0 {
            continue;
        }
        let width = hull
            .iter()
            .map(|p| (ex * (p.y - a.y) as f64 - ey * (p.x - a.x) as f64).abs() / len)
            .fold(0.0, f64::max);
        min = min.min(width);
    }
    (max, if min.is_finite() { min } else { 0.0 })
}

/// The long axis' direction of each cell, from the second moments of its pixels, in degrees
/// counter-clockwise from the x axis (the image's y axis points down), 0..180.
fn orientations(cells: &Cells) -> Vec<f64> {
    cells
        .covariances()
        .iter()
        .map(|&[xx, yy, xy]| {
            // y down: a counter-clockwise angle on screen is a negative one in pixel rows
            let angle = (-0.5 * (2.0 * xy).atan2(xx - yy)).to_degrees();
            // 0 ≤ angle < 180, also once printed to a tenth (no "-0.0", no "180.0")
            let angle = if angle < 0.0 {
                angle + 180.0
            } else {
                angle.abs()
            };
            if angle >= 179.95 { 0.0 } else { angle }
        })
        .collect()
}

/// The table's columns, the same in the page's CSV and the CLI's. `_um` columns are empty
/// where the pixel size is unknown.
pub const HEADER: &str = "file,page,cell,area_px,area_um2,perimeter_px,perimeter_um,\
length_px,length_um,width_px,width_um,orientation_deg,aspect_ratio,circularity,solidity,\
mean_intensity,integrated_intensity,centroid_x,centroid_y,bbox_x0,bbox_y0,bbox_x1,bbox_y1";

/// The rows of `cells` as CSV lines (no header), for the image `file` (its `page`, counted
/// from 1), with µm columns when `micron` (the pixel size in µm) is known.
pub fn csv_rows(file: &str, page: usize, cells: &[Measures], micron: Option<f64>) -> String {
    let um = |v: f64, power: i32| match micron {
        Some(m) if m > 0.0 => format!("{:.4}", v * m.powi(power)),
        _ => String::new(),
    };
    let file = quoted(file);
    let mut out = String::new();
    for c in cells {
        let b = c.bbox;
        out.push_str(&format!(
            "{file},{page},{},{},{},{:.2},{},{:.2},{},{:.2},{},{:.1},{:.3},{:.3},{:.3},{:.6},{:.6},{:.2},{:.2},{},{},{},{}\n",
            c.cell,
            c.area,
            um(c.area as f64, 2),
            c.perimeter,
            um(c.perimeter, 1),
            c.feret_max,
            um(c.feret_max, 1),
            c.feret_min,
            um(c.feret_min, 1),
            c.orientation,
            c.aspect_ratio,
            c.circularity,
            c.solidity,
            c.mean_intensity,
            c.integrated_intensity,
            c.centroid.0,
            c.centroid.1,
            b.x0,
            b.y0,
            b.x1,
            b.y1,
        ));
    }
    out
}

/// A CSV field: quoted (quotes doubled) when it holds a comma, a quote or a line break.
pub fn quoted(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cells drawn by a predicate on a w x h grid: label = the predicate's answer.
    fn drawn(w: usize, h: usize, label: impl Fn(usize, usize) -> u32) -> Cells {
        let labels = (0..w * h).map(|i| label(i % w, i / w)).collect();
        Cells::from_labels(labels, w, h, 1)
    }

    #[test]
    fn a_horizontal_rod_measures_its_length_width_and_angle() {
        // 20 x 6 pixels at (5, 4)
        let cells = drawn(40, 20, |x, y| {
            u32::from((5..25).contains(&x) && (4..10).contains(&y))
        });
        let plane = Plane::new(40, 20, vec![2.0; 800]);
        let m = &measure(&cells, Rect::new(0, 0, 40, 20), &plane)[0];
        assert_eq!(m.area, 120);
        assert!((m.feret_max - (20f64).hypot(6.0)).abs() < 1e-9, "{m:?}");
        assert!((m.feret_min - 6.0).abs() < 1e-9, "{m:?}");
        assert!(m.orientation.abs() < 1e-9 || (m.orientation - 180.0).abs() < 1e-9);
        assert!((m.perimeter - 2.0 * (19.0 + 5.0)).abs() < 1e-9, "{m:?}");
        assert!((m.solidity - 1.0).abs() < 1e-9);
        assert_eq!((m.mean_intensity, m.integrated_intensity), (2.0, 240.0));
        assert_eq!(m.centroid, (15.0, 7.0));
        assert_eq!(m.bbox, Rect::new(5, 4, 25, 10));
    }

    #[test]
    fn a_disc_is_round_and_a_diagonal_rod_points_up_right() {
        let disc = drawn(60, 60, |x, y| {
            u32::from((x as f64 - 30.0).hypot(y as f64 - 30.0) < 15.0)
        });
        let plane = Plane::new(60, 60, vec![0.0; 3600]);
        let m = &measure(&disc, Rect::new(0, 0, 60, 60), &plane)[0];
        // a digital disc's outline is a staircase, a little longer than the circle's
        assert!(m.circularity > 0.85, "{m:?}");
        assert!(m.aspect_ratio < 1.1 && m.solidity > 0.95, "{m:?}");
        // a rod from bottom left to top right (y down): 45° counter-clockwise
        let rod = drawn(60, 60, |x, y| {
            u32::from((x as isize + y as isize - 60).abs() < 3 && (10..50).contains(&x))
        });
        let m = &measure(&rod, Rect::new(0, 0, 60, 60), &plane)[0];
        assert!((m.orientation - 45.0).abs() < 2.0, "{m:?}");
        assert!(m.aspect_ratio > 5.0 && m.circularity < 0.4, "{m:?}");
    }

    #[test]
    fn an_l_shaped_cell_is_not_solid_and_coordinates_follow_the_crop() {
        let l = drawn(30, 30, |x, y| {
            u32::from(
                (5..25).contains(&x) && (5..10).contains(&y)
                    || (5..10).contains(&x) && (5..25).contains(&y),
            )
        });
        let plane = Plane::new(100, 100, (0..10_000).map(|i| (i % 100) as f32).collect());
        let m = &measure(&l, Rect::new(50, 60, 80, 90), &plane)[0];
        assert!(m.solidity < 0.7, "{m:?}");
        assert_eq!(m.bbox, Rect::new(55, 65, 75, 85));
        // intensity comes from the image at the crop's place: the column index there
        let cols: f64 = (0..30 * 30)
            .filter(|&i| l.labels[i] == 1)
            .map(|i| (50 + i % 30) as f64)
            .sum();
        assert!((m.integrated_intensity - cols).abs() < 1e-6);
    }

    #[test]
    fn csv_rows_follow_the_header_and_give_microns_only_when_known() {
        let cells = drawn(10, 10, |x, y| {
            u32::from(x < 4 && y < 2) + 2 * u32::from(x > 6 && y > 6)
        });
        let plane = Plane::new(10, 10, vec![1.0; 100]);
        let m = measure(&cells, Rect::new(0, 0, 10, 10), &plane);
        let columns = HEADER.split(',').count();
        let plain = csv_rows("a, b.tif", 2, &m, None);
        let rows: Vec<&str> = plain.lines().collect();
        assert_eq!(rows.len(), 2);
        assert!(rows[0].starts_with("\"a, b.tif\",2,1,8,,"), "{}", rows[0]);
        let unquoted = rows[1].strip_prefix("\"a, b.tif\",").unwrap();
        assert_eq!(unquoted.split(',').count(), columns - 1);
        let scaled = csv_rows("c.tif", 1, &m, Some(0.5));
        let fields: Vec<&str> = scaled.lines().next().unwrap().split(',').collect();
        assert_eq!(fields.len(), columns);
        assert_eq!(fields[4], "2.0000"); // 8 px of 0.25 µm²
    }
}
