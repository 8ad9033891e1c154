//! The mistake rate: the share of patches whose most probable class is not their label —
//! the posts' measure of how well a network is doing, on a held-out region.

use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::model::network::{Network, patch_tensor};
use crate::model::spec::PATCH;
use crate::train::patch::PatchBatch;

/// Patches per forward pass when measuring, small enough for any device.
const CHUNK: usize = 256;

/// Number of patches in `logits` ([n, 3]) whose arg-max differs from `classes`, as a tensor
/// so the count can be read back together with other values.
pub fn count_mistakes(logits: Tensor<2>, classes: Tensor<1, Int>) -> Tensor<1> {
    let [n, _] = logits.dims();
    let predicted = logits.argmax(1).reshape([n]);
    predicted.not_equal(classes).float().sum()
}

/// Class labels as an integer tensor.
pub fn class_tensor(classes: &[u8], device: &Device) -> Tensor<1, Int> {
    let values: Vec<i64> = classes.iter().map(|&c| c as i64).collect();
    Tensor::from_data(TensorData::new(values, [classes.len()]), device)
}

/// Fraction (0..=1) of `batch` the network gets wrong.
pub async fn mistake_rate(
    net: &Network,
    batch: &PatchBatch,
    device: &Device,
) -> Result<f32, String> {
    if batch.is_empty() {
        return Err("no patches to measure".into());
    }
    let mut total: Option<Tensor<1>> = None;
    for (pixels, classes) in batch
        .pixels
        .chunks(CHUNK * PATCH * PATCH)
        .zip(batch.classes.chunks(CHUNK))
    {
        let logits = net.forward(patch_tensor(pixels.to_vec(), device));
        let wrong = count_mistakes(logits, class_tensor(classes, device));
        total = Some(match total {
            Some(t) => t + wrong,
            None => wrong,
        });
    }
    let wrong: f32 = total
        .expect("non-empty")
        .into_scalar_async()
        .await
        .map_err(|e| format!("reading the mistake count: {e:?}"))?;
    Ok(wrong / batch.len() as f32)
}
