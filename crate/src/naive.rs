//! The naive way, for comparison: cut out the 31x31 patch around every pixel and classify
//! the patches in batches. Each layer's work is redone for every overlapping patch, which is
//! what the dense twin ([`crate::dense`]) avoids.

use burn::tensor::Device;
use burn::tensor::activation::softmax;

use crate::backend::read_floats;
use crate::dense::ProbabilityMap;
use crate::network::{Network, patch_tensor};
use crate::patch::patch_at;
use crate::plane::{Plane, Rect};
use crate::spec::PATCH;

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
