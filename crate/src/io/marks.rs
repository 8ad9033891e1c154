//! Burnt-in marks: a timestamp's box, a scale bar, a label's panel, drawn into an exported
//! image on top of the picture.
//!
//! Left in, they are read as picture: a black box of 230 × 30 px with white digits, drawn into
//! phase_027's held-out third, gave 11 "cells" where its black met the digits and the halos
//! around it. They are told from the picture the way padding is ([`crate::io::padding`]):
//! no camera draws a 5 × 5 square of one value through its noise. What is flat in an image
//! that is otherwise a camera's, in an upright rectangle, is a mark:
//! - flat squares cover under [`MOST_FLAT`] of the image (more is a drawn image, or one
//!   quantised so coarsely that its background is flat: neither says anything by being flat);
//! - the region of one value they make is an upright rectangle: it holds its bounding box's
//!   corners and fills the box, once the digits or letters it holds are counted in
//!   ([`FILL`]): a box, a bar or a panel, and not a clipped cell, a saturated halo or a clump
//!   of debris, which are never square-cornered;
//! - and it is large enough to be drawn ([`MIN_PIXELS`]; a saturated speck is a square or
//!   two).
//!
//! Normalising leaves marks out of everything it measures and gives them the background's
//! level, as it does padding, so the networks see no edge there; the clean-up keeps cells off
//! them ([`left_out`]).

use crate::core::plane::Plane;
use crate::io::padding::{FLAT_RADIUS, MOST_FLAT, flat_cores, flat_regions_of, regions_of_squares};

/// The share of its bounding box a mark fills, counting what it encloses.
pub const FILL: f64 = 0.97;

/// The fewest pixels a mark covers (a scale bar of 5 × 80 px).
pub const MIN_PIXELS: usize = 400;

/// Which pixels of a plane as the file holds it are burnt-in marks: each mark's bounding box
/// (what it encloses included, such as a timestamp's digits), grown by [`FLAT_RADIUS`] for the
/// edge a renderer smooths.
pub fn marks(plane: &Plane) -> Vec<bool> {
    marks_beside(plane, &crate::io::padding::padding(plane))
}

/// [`marks`], given the plane's padding. Padding along the image's edge stays padding; what
/// the padding rules took of a box inside the picture (a black timestamp box as large as a
/// region of padding, in a small image) is a mark, digits and all.
pub fn marks_beside(plane: &Plane, padding: &[bool]) -> Vec<bool> {
    match flat_cores(plane) {
        Some(core) => marks_of(
            plane,
            &regions_of_squares(plane, &core),
            padding,
            FLAT_RADIUS,
        ),
        None => vec![false; plane.width * plane.height],
    }
}

/// What normalising left out of a picture and set to one level, found again on the
/// normalised plane for the clean-up to keep cells off: its padding and a field stop's outside
/// ([`crate::io::padding::flat_regions`]) and its marks, which normalising made flat from edge
/// to edge (already grown, so not grown again).
pub fn left_out(plane: &Plane) -> Vec<bool> {
    let Some(core) = flat_cores(plane) else {
        return vec![false; plane.width * plane.height];
    };
    let regions = regions_of_squares(plane, &core);
    let mut out = flat_regions_of(plane, &regions);
    for (i, m) in marks_of(plane, &regions, &out, 0).into_iter().enumerate() {
        out[i] |= m;
    }
    out
}

/// The marks among a plane's [`regions_of_squares`], beside its `padding`, which does not
/// count towards [`MOST_FLAT`]; each mark's box grown by `grow`.
fn marks_of(plane: &Plane, regions: &[(u32, Vec<usize>)], padding: &[bool], grow: u8) -> Vec<bool> {
    let (w, h) = (plane.width, plane.height);
    let mut marked = vec![false; w * h];
    let padded = |i: usize| padding.get(i).copied().unwrap_or(false);
    let flat = (regions.iter().flat_map(|(_, r)| r))
        .filter(|&&i| !padded(i))
        .count();
    let picture = (plane.data.iter().enumerate())
        .filter(|&(i, v)| v.is_finite() && !padded(i))
        .count();
    if flat as f64 > MOST_FLAT * picture as f64 {
        return marked;
    }
    let grow = grow as usize;
    let on_edge = |i: usize| {
        let (x, y) = (i % w, i / w);
        x == 0 || y == 0 || x == w - 1 || y == h - 1
    };
    for (_, region) in regions.iter().filter(|(_, r)| r.len() >= MIN_PIXELS) {
        // padding along the edge is padding, and not grown
        if padded(region[0]) && region.iter().any(|&i| on_edge(i)) {
            continue;
        }
        let (x0, y0, x1, y1) = bounds(region, w);
        if !upright_rectangle(region, w, (x0, y0, x1, y1)) {
            continue;
        }
        for y in y0.saturating_sub(grow)..(y1 + grow).min(h - 1) + 1 {
            for x in x0.saturating_sub(grow)..(x1 + grow).min(w - 1) + 1 {
                marked[y * w + x] = true;
            }
        }
    }
    marked
}

/// The inclusive bounding box of a region of pixel indices in a `w`-wide image.
fn bounds(region: &[usize], w: usize) -> (usize, usize, usize, usize) {
    region
        .iter()
        .fold((usize::MAX, usize::MAX, 0, 0), |(x0, y0, x1, y1), &i| {
            (x0.min(i % w), y0.min(i / w), x1.max(i % w), y1.max(i / w))
        })
}

/// Whether a region is an upright rectangle: it holds its bounding box's four corners (a rod's
/// rounded ends do not, however square a clipped one looks) and fills [`FILL`] of the box with
/// what it encloses, every pixel of the box that cannot be reached from the box's edge
/// without crossing the region.
fn upright_rectangle(
    region: &[usize],
    w: usize,
    (x0, y0, x1, y1): (usize, usize, usize, usize),
) -> bool {
    let (bw, bh) = (x1 - x0 + 1, y1 - y0 + 1);
    let mut inside = vec![false; bw * bh];
    for &i in region {
        inside[(i / w - y0) * bw + i % w - x0] = true;
    }
    if ![0, bw - 1, (bh - 1) * bw, bh * bw - 1]
        .iter()
        .all(|&c| inside[c])
    {
        return false;
    }
    // flood the box's outside in from its edge, through what the region leaves (4-connected,
    // as the region is 8-connected: a hole it closes only at a corner is still a hole)
    let mut outside = vec![false; bw * bh];
    let mut todo: Vec<usize> = (0..bw * bh)
        .filter(|&j| {
            let (x, y) = (j % bw, j / bw);
            (x == 0 || y == 0 || x == bw - 1 || y == bh - 1) && !inside[j]
        })
        .collect();
    for &j in &todo {
        outside[j] = true;
    }
    while let Some(j) = todo.pop() {
        let (x, y) = ((j % bw) as isize, (j / bw) as isize);
        for (dx, dy) in [(1, 0), (-1, 0), (0, 1), (0, -1)] {
            let (nx, ny) = (x + dx, y + dy);
            if nx < 0 || ny < 0 || nx >= bw as isize || ny >= bh as isize {
                continue;
            }
            let k = ny as usize * bw + nx as usize;
            if !inside[k] && !outside[k] {
                outside[k] = true;
                todo.push(k);
            }
        }
    }
    outside.iter().filter(|&&o| !o).count() as f64 >= FILL * (bw * bh) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::padding::tests::{count, field};

    fn fill(p: &mut Plane, (x0, y0, x1, y1): (usize, usize, usize, usize), v: f32) {
        for y in y0..y1 {
            for x in x0..x1 {
                p.data[y * p.width + x] = v;
            }
        }
    }

    #[test]
    fn a_timestamp_box_with_digits_and_a_scale_bar_are_marks() {
        let (w, h) = (400, 300);
        let mut p = field(w, h);
        // a black box with white "digits" (3-px strokes, no flat square of their own)
        fill(&mut p, (20, 10, 140, 40), 0.0);
        for d in 0..8 {
            let x = 28 + 14 * d;
            fill(&mut p, (x, 16, x + 3, 34), 65535.0);
            fill(&mut p, (x, 16, x + 9, 19), 65535.0);
        }
        // and a white bar of 100 × 8
        fill(&mut p, (250, 270, 350, 278), 65535.0);
        let m = marks(&p);
        let reach = FLAT_RADIUS as usize;
        // the box with its digits, and the bar, each grown by the reach
        let boxed = (120 + 2 * reach) * (30 + 2 * reach);
        let bar = (100 + 2 * reach) * (8 + 2 * reach);
        assert_eq!(count(&m), boxed + bar);
        assert!(m[25 * w + 30] && m[274 * w + 300] && !m[150 * w + 200]);
    }

    #[test]
    fn a_frame_and_marks_together_are_each_found_and_found_again_once_normalised() {
        let (w, h) = (400, 300);
        let mut p = field(w, h);
        fill(&mut p, (0, 0, 80, h), 0.0); // padding: a band at the lowest value
        fill(&mut p, (150, 10, 270, 40), 0.0); // a timestamp's box, digits left out
        fill(&mut p, (300, 280, 380, 285), 65535.0); // a scale bar of 80 × 5
        // the band is padding beside a white bar (a black box as large may be taken for
        // padding too: either way it is left out)
        let pad = crate::io::padding::padding(&p);
        assert!(pad[10 * w + 40] && !pad[282 * w + 340]);
        let normalised = crate::io::normalise::normalise_keeping(&mut p.clone());
        assert!(normalised.marks > 0.0);
        crate::io::normalise::normalise(&mut p);
        let out = left_out(&p);
        for (x, y) in [(40, 150), (79, 5), (200, 25), (150, 10), (340, 282)] {
            assert!(out[y * w + x], "({x}, {y}) left out");
        }
        for (x, y) in [(100, 150), (200, 100), (340, 270)] {
            assert!(!out[y * w + x], "({x}, {y}) in the picture");
        }
    }

    #[test]
    fn a_timestamp_box_as_large_as_padding_is_a_mark_digits_and_all() {
        // in a small image, a black box of 120 × 30 px passes padding's size rules
        let (w, h) = (400, 300);
        let mut p = field(w, h);
        fill(&mut p, (150, 10, 270, 40), 0.0);
        for d in 0..8 {
            let x = 158 + 14 * d;
            fill(&mut p, (x, 16, x + 3, 34), 65535.0);
        }
        let normalised = crate::io::normalise::normalise_keeping(&mut p);
        assert_eq!(normalised.padding, 0.0);
        assert!(normalised.marks > 0.0);
        // the digits went with the box: all of it is at one level
        let level = p.data[12 * w + 152];
        assert!((10..40).all(|y| (150..270).all(|x| p.data[y * w + x] == level)));
    }

    #[test]
    fn clipped_cells_saturated_halos_and_a_drawn_image_have_no_marks() {
        let (w, h) = (400, 300);
        let mut p = field(w, h);
        // rods clipped to black, 12 px wide with rounded ends, upright and lying
        for (cx, cy, long, across) in [(100.0, 100.0, 30.0, 6.0), (250.0, 150.0, 6.0, 30.0)] {
            for y in 0..h {
                for x in 0..w {
                    let (dx, dy) = ((x as f32 - cx).abs(), (y as f32 - cy).abs());
                    let inside = if long > across {
                        (dx - (long - across)).max(0.0).hypot(dy) < across
                    } else {
                        (dy - (across - long)).max(0.0).hypot(dx) < long
                    };
                    if inside {
                        p.data[y * w + x] = 0.0;
                    }
                }
            }
        }
        // saturated specks of a few squares
        fill(&mut p, (300, 40, 308, 48), 65535.0);
        fill(&mut p, (320, 40, 331, 52), 65535.0);
        assert_eq!(count(&marks(&p)), 0);
        // a canvas: rods on a flat background, all of it flat
        let mut drawn = Plane::new(w, h, vec![20.0; w * h]);
        fill(&mut drawn, (50, 50, 90, 250), 230.0);
        assert_eq!(count(&marks(&drawn)), 0);
    }
}
