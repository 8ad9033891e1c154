//! The networks' answer for every pixel: a probability per class, in three planes.

use crate::core::plane::{Plane, Rect};

/// Class probabilities per pixel: three planes (other, cell, edge), each `width * height`.
#[derive(Clone, Debug, PartialEq)]
pub struct ProbabilityMap {
    pub width: usize,
    pub height: usize,
    pub data: Vec<f32>,
}

impl ProbabilityMap {
    pub fn new(width: usize, height: usize) -> ProbabilityMap {
        ProbabilityMap {
            width,
            height,
            data: vec![0.0; 3 * width * height],
        }
    }
    /// An empty map for the part of `rect` inside the image (an error if nothing is).
    pub fn for_crop(plane: &Plane, rect: Rect) -> Result<(Rect, ProbabilityMap), String> {
        let rect = rect.clamp(plane.width, plane.height);
        if rect.is_empty() {
            return Err("the region to segment is empty".into());
        }
        Ok((rect, ProbabilityMap::new(rect.width(), rect.height())))
    }

    /// Copies a tile's probabilities into this map of `rect` (both in image pixels):
    /// `values` are three planes of `tile`'s size, and only the part of `tile` inside `rect`
    /// is kept.
    pub fn paste(&mut self, rect: Rect, tile: Rect, values: &[f32]) {
        let (tw, th) = (tile.width(), tile.height());
        assert_eq!(values.len(), 3 * tw * th, "three planes of the tile's size");
        let (x0, x1) = (tile.x0.max(rect.x0), tile.x1.min(rect.x1));
        let (y0, y1) = (tile.y0.max(rect.y0), tile.y1.min(rect.y1));
        if x0 >= x1 || y0 >= y1 {
            return;
        }
        let n = self.width * self.height;
        for class in 0..3 {
            for y in y0..y1 {
                let src = (class * th + y - tile.y0) * tw + x0 - tile.x0;
                let dst = class * n + (y - rect.y0) * self.width + x0 - rect.x0;
                self.data[dst..dst + x1 - x0].copy_from_slice(&values[src..src + x1 - x0]);
            }
        }
    }

    /// One class's plane.
    pub fn class(&self, class: u8) -> &[f32] {
        let n = self.width * self.height;
        &self.data[class as usize * n..(class as usize + 1) * n]
    }
    /// Largest absolute difference to another map of the same size.
    pub fn max_abs_diff(&self, other: &ProbabilityMap) -> f32 {
        assert_eq!((self.width, self.height), (other.width, other.height));
        self.data
            .iter()
            .zip(&other.data)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max)
    }
}
