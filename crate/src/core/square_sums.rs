//! Sums over the square around every pixel, of the numbers there (what is not a number, such
//! as padding or what a caller masks out, is left out and not counted).
//!
//! Column sums over a band of rows slide down the image and a window slides along them, so
//! what is held is one row: a summed-area table would hold 16 bytes a pixel, too much for a
//! large camera frame in wasm32's memory.

use crate::core::plane::Plane;

/// For each row `y` in turn, `row(y, sums, counts)`: for every pixel of the row, the sum of
/// the finite values over the (2 `radius` + 1)² square around it (cut off by the image's
/// edges) and how many there were.
pub fn square_sums(plane: &Plane, radius: usize, mut row: impl FnMut(usize, &[f64], &[u32])) {
    let (w, h) = (plane.width, plane.height);
    let (mut columns, mut column_counts) = (vec![0.0f64; w], vec![0u32; w]);
    // a row into the columns' sums, or out of them
    let add = |y: usize, into: bool, sums: &mut [f64], counts: &mut [u32]| {
        let values = &plane.data[y * w..][..w];
        for ((s, n), &v) in sums.iter_mut().zip(counts.iter_mut()).zip(values) {
            if v.is_finite() {
                if into {
                    (*s, *n) = (*s + v as f64, *n + 1);
                } else {
                    (*s, *n) = (*s - v as f64, *n - 1);
                }
            }
        }
    };
    let (mut sums, mut counts) = (vec![0.0f64; w], vec![0u32; w]);
    for y in 0..radius.min(h) {
        add(y, true, &mut columns, &mut column_counts);
    }
    for y in 0..h {
        if y + radius < h {
            add(y + radius, true, &mut columns, &mut column_counts);
        }
        if y > radius {
            add(y - radius - 1, false, &mut columns, &mut column_counts);
        }
        // the window along the row: columns x - radius ..= x + radius
        let (mut s, mut n) = (0.0f64, 0u32);
        for x in 0..radius.min(w) {
            (s, n) = (s + columns[x], n + column_counts[x]);
        }
        for x in 0..w {
            if x + radius < w {
                (s, n) = (s + columns[x + radius], n + column_counts[x + radius]);
            }
            if x > radius {
                (s, n) = (
                    s - columns[x - radius - 1],
                    n - column_counts[x - radius - 1],
                );
            }
            (sums[x], counts[x]) = (s, n);
        }
        row(y, &sums, &counts);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_and_counts_match_adding_up_each_square() {
        let (w, h) = (13, 9);
        let data: Vec<f32> = (0..w * h)
            .map(|i| {
                if i % 7 == 3 {
                    f32::NAN
                } else {
                    (i * i % 17) as f32
                }
            })
            .collect();
        let plane = Plane::new(w, h, data);
        for radius in [0, 1, 3, 10] {
            square_sums(&plane, radius, |y, sums, counts| {
                for x in 0..w {
                    let (mut s, mut n) = (0.0f64, 0u32);
                    for yy in y.saturating_sub(radius)..(y + radius + 1).min(h) {
                        for xx in x.saturating_sub(radius)..(x + radius + 1).min(w) {
                            let v = plane.data[yy * w + xx];
                            if v.is_finite() {
                                (s, n) = (s + v as f64, n + 1);
                            }
                        }
                    }
                    assert_eq!(counts[x], n, "radius {radius} at ({x}, {y})");
                    assert!((sums[x] - s).abs() < 1e-9, "radius {radius} at ({x}, {y})");
                }
            });
        }
    }
}
