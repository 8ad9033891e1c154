//! The naive way, for comparison: cut out the 31x31 patch around every pixel and classify
//! the patches in batches. Each layer's work is redone for every overlapping patch, which is
//! what the dense twin ([`crate::model::dense`]) avoids.

use burn::tensor::Device;
use burn::tensor::activation::softmax;

use crate::core::plane::{Plane, Rect};
use crate::core::probability::ProbabilityMap;
use crate::model::backend::read_floats;
use crate::model::network::{Network, patch_tensor};
use crate::model::spec::{HALF, PATCH};

/// Copies the patch centred on (x, y) into `out` (31x31 values).
pub fn patch_at(plane: &Plane, x: usize, y: usize, out: &mut Vec<f32>) {
    let (x, y) = (x as isize - HALF as isize, y as isize - HALF as isize);
    let inside =
        x >= 0 && y >= 0 && x as usize + PATCH <= plane.width && y as usize + PATCH <= plane.height;
    for dy in 0..PATCH as isize {
        if inside {
            let row = (y + dy) as usize * plane.width + x as usize;
            out.extend_from_slice(&plane.data[row..row + PATCH]);
        } else {
            out.extend((0..PATCH as isize).map(|dx| plane.reflected(x + dx, y + dy)));
        }
    }
}

/// Classifies every pixel of `rect` from its own patch, `batch` patches at a time.
pub async fn segment_naive(
    net: &Network,
    plane: &Plane,
    rect: Rect,
    batch: usize,
    device: &Device,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<ProbabilityMap, String> {
    let (rect, mut map) = ProbabilityMap::for_crop(plane, rect)?;
    let (w, n) = (rect.width(), rect.width() * rect.height());
    let batch = batch.max(1);
    let mut start = 0;
    while start < n {
        let end = (start + batch).min(n);
        let mut pixels = Vec::with_capacity((end - start) * PATCH * PATCH);
        for i in start..end {
            patch_at(plane, rect.x0 + i % w, rect.y0 + i / w, &mut pixels);
        }
        let probabilities = softmax(net.forward(patch_tensor(pixels, device)), 1);
        let values = read_floats(probabilities, "results").await?;
        for (k, p) in values.chunks_exact(3).enumerate() {
            for (class, &value) in p.iter().enumerate() {
                map.data[class * n + start + k] = value;
            }
        }
        start = end;
        progress(end, n);
    }
    Ok(map)
}
