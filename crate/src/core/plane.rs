//! A single-channel f32 image, row-major: what every later stage works on.

/// A grayscale image as f32 values, row-major (`data[y * width + x]`).
#[derive(Clone, Debug, PartialEq)]
pub struct Plane {
    pub width: usize,
    pub height: usize,
    pub data: Vec<f32>,
}

/// A rectangle in pixels, half-open: columns `x0..x1`, rows `y0..y1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rect {
    pub x0: usize,
    pub y0: usize,
    pub x1: usize,
    pub y1: usize,
}

impl Rect {
    pub fn new(x0: usize, y0: usize, x1: usize, y1: usize) -> Rect {
        Rect { x0, y0, x1, y1 }
    }
    pub fn width(&self) -> usize {
        self.x1.saturating_sub(self.x0)
    }
    pub fn height(&self) -> usize {
        self.y1.saturating_sub(self.y0)
    }
    pub fn is_empty(&self) -> bool {
        self.width() == 0 || self.height() == 0
    }
    pub fn contains(&self, x: usize, y: usize) -> bool {
        (self.x0..self.x1).contains(&x) && (self.y0..self.y1).contains(&y)
    }
    /// The part of `self` inside a `width` x `height` image.
    pub fn clamp(&self, width: usize, height: usize) -> Rect {
        Rect::new(
            self.x0.min(width),
            self.y0.min(height),
            self.x1.min(width),
            self.y1.min(height),
        )
    }
}

/// Mirror index `i` (possibly outside `0..n`) back into `0..n` without repeating the edge
/// pixel (numpy's 'reflect'), folding as often as needed so tiny images work too.
pub fn reflect(i: isize, n: usize) -> usize {
    if n == 1 {
        return 0;
    }
    let period = 2 * (n as isize - 1);
    let m = i.rem_euclid(period);
    (if m < n as isize { m } else { period - m }) as usize
}

impl Plane {
    pub fn new(width: usize, height: usize, data: Vec<f32>) -> Plane {
        assert_eq!(
            data.len(),
            width * height,
            "plane data does not match its size"
        );
        Plane {
            width,
            height,
            data,
        }
    }

    pub fn at(&self, x: usize, y: usize) -> f32 {
        self.data[y * self.width + x]
    }

    /// Value at a position that may lie outside the image, mirrored back in.
    pub fn reflected(&self, x: isize, y: isize) -> f32 {
        self.at(reflect(x, self.width), reflect(y, self.height))
    }

    /// The pixels of `rect` grown by `margin` on every side; pixels beyond the image border
    /// are mirrored (so a crop at the border sees the same context as a patch would).
    pub fn crop_reflected(&self, rect: Rect, margin: usize) -> Plane {
        let (w, h) = (rect.width() + 2 * margin, rect.height() + 2 * margin);
        let (ox, oy) = (
            rect.x0 as isize - margin as isize,
            rect.y0 as isize - margin as isize,
        );
        let mut data = Vec::with_capacity(w * h);
        for y in 0..h as isize {
            let inside_y = (0..self.height as isize).contains(&(oy + y));
            for x in 0..w as isize {
                let (sx, sy) = (ox + x, oy + y);
                data.push(if inside_y && (0..self.width as isize).contains(&sx) {
                    self.data[sy as usize * self.width + sx as usize]
                } else {
                    self.reflected(sx, sy)
                });
            }
        }
        Plane::new(w, h, data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflect_mirrors_without_repeating_the_edge() {
        let got: Vec<_> = (-3..7).map(|i| reflect(i, 4)).collect();
        assert_eq!(got, [3, 2, 1, 0, 1, 2, 3, 2, 1, 0]);
        assert_eq!(reflect(-20, 3), 0);
        assert_eq!(reflect(5, 1), 0);
    }

    #[test]
    fn crop_with_margin_reflects_at_borders() {
        let p = Plane::new(3, 2, vec![0., 1., 2., 3., 4., 5.]);
        let c = p.crop_reflected(Rect::new(0, 0, 1, 1), 1);
        assert_eq!(c.data, [4., 3., 4., 1., 0., 1., 4., 3., 4.]);
    }
}
