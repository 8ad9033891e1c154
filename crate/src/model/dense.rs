//! The dense twin: the patch network run over a whole image at once.
//!
//! Post 4's trick (Li et al. 2014, "d-regularly sparse" kernels): a stride-2 pool in the
//! patch network becomes a stride-1 pool, and every layer after it looks at inputs `d`
//! pixels apart, `d` doubling after each pool. Then every output pixel sees exactly the
//! 31x31 patch around it through the same weights, and work shared by overlapping patches is
//! done once. Same weights, the same numbers as classifying patch by patch — only faster.

use burn::tensor::activation::{relu, softmax};
use burn::tensor::module::{conv2d, max_pool2d};
use burn::tensor::ops::{ConvOptions, MaxPoolOptions};
use burn::tensor::{Device, Tensor, TensorData};

use crate::core::plane::{Plane, Rect};
use crate::core::probability::ProbabilityMap;
use crate::model::backend::read_floats;
use crate::model::dense_cpu::{self, DenseCpu};
use crate::model::network::Network;
use crate::model::spec::{HALF, Layer, PATCH};

/// Default limit on any one buffer: WebGPU's default `maxStorageBufferBindingSize` (128 MiB).
pub const DEFAULT_MAX_BUFFER: u64 = 128 << 20;
/// Output tiles are never larger than this, so progress stays fine-grained.
const MAX_TILE: usize = 512;

impl Network {
    /// Probabilities `[3, h, w]` for an input `[1, 1, h + 30, w + 30]`: the dense twin.
    /// (`h`, `w` here are for a receptive field of 31; with a smaller field the extra
    /// trailing outputs are cut off so output pixel `i` always belongs to input pixel `i + 15`.)
    pub fn dense(&self, input: Tensor<4>) -> Tensor<3> {
        let [_, _, in_h, in_w] = input.dims();
        let (out_h, out_w) = (in_h + 1 - PATCH, in_w + 1 - PATCH);
        let mut x = input;
        let mut d = 1;
        let mut convs = self.convs.iter();
        for layer in &self.spec.layers {
            x = match layer {
                Layer::Conv { .. } => {
                    let conv = convs.next().expect("one conv per layer");
                    let options = ConvOptions::new([1, 1], [0, 0], [d, d], 1);
                    relu(conv2d(
                        x,
                        conv.weight.val(),
                        conv.bias.as_ref().map(|b| b.val()),
                        options,
                    ))
                }
                Layer::Pool => {
                    let options = MaxPoolOptions::new([2, 2])
                        .with_stride([1, 1])
                        .with_dilation([d, d]);
                    d *= 2;
                    max_pool2d(x, options)
                }
            };
        }
        let [_, c, h, w] = x.dims();
        if (h, w) != (out_h, out_w) {
            x = x.slice([0..1, 0..c, 0..out_h, 0..out_w]);
        }
        // The head is a 1x1 convolution: one matrix product over all pixels at once.
        let features = x.reshape([c, out_h * out_w]).transpose();
        let probabilities = softmax(self.head(features), 1);
        probabilities.transpose().reshape([3, out_h, out_w])
    }
}

/// Output side of a square tile so that `floats_per_pixel` floats for every input pixel of
/// it stay within `max_buffer` bytes, or `None` when not even a one-pixel tile (31x31
/// input) fits. On a GPU that is one buffer's limit ([`Spec::dense_floats_per_pixel`]: a
/// conv's unfolded input or the head's hidden layer); on the CPU, the memory of the images
/// between two layers ([`dense_cpu::floats_per_pixel`]).
pub fn tile_side(floats_per_pixel: usize, max_buffer: u64) -> Option<usize> {
    let bytes_per_pixel = 4 * floats_per_pixel as u64;
    let side_with_halo = ((max_buffer / bytes_per_pixel) as f64).sqrt() as usize;
    (side_with_halo >= PATCH).then(|| (side_with_halo + 1 - PATCH).min(MAX_TILE))
}

/// Tiles covering `rect`, each at most `side` x `side`.
pub fn tiles(rect: Rect, side: usize) -> Vec<Rect> {
    let mut out = Vec::new();
    for y0 in (rect.y0..rect.y1).step_by(side) {
        for x0 in (rect.x0..rect.x1).step_by(side) {
            out.push(Rect::new(
                x0,
                y0,
                (x0 + side).min(rect.x1),
                (y0 + side).min(rect.y1),
            ));
        }
    }
    out
}

/// Segments `rect` of a normalised image densely, tile by tile. Each tile is read with a
/// 15-pixel halo (mirrored beyond the image border), so tiles join seamlessly and the output
/// has the crop's size. `progress(done, total)` is called after every tile.
pub async fn segment(
    net: &Network,
    plane: &Plane,
    rect: Rect,
    max_buffer: u64,
    device: &Device,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<ProbabilityMap, String> {
    let (rect, mut map) = ProbabilityMap::for_crop(plane, rect)?;
    // On the CPU the same function runs as plain matrix products (see dense_cpu), faster
    // than burn's CPU backend; elsewhere (WebGPU) burn runs the dilated twin.
    let (on_cpu, floats) = if *device == Device::flex() {
        let cpu = DenseCpu::new(net).await?;
        (Some(cpu), dense_cpu::floats_per_pixel(&net.spec))
    } else {
        (None, net.spec.dense_floats_per_pixel())
    };
    let side = tile_side(floats, max_buffer).ok_or_else(|| {
        format!("this device's buffers (at most {max_buffer} bytes) are too small for this network")
    })?;
    let tiles = tiles(rect, side);
    for (i, tile) in tiles.iter().enumerate() {
        let input = plane.crop_reflected(*tile, HALF);
        let values = match &on_cpu {
            Some(cpu) => cpu.run(&input),
            None => {
                let tensor = Tensor::from_data(
                    TensorData::new(input.data, [1, 1, input.height, input.width]),
                    device,
                );
                read_floats(net.dense(tensor), "results").await?
            }
        };
        map.paste(rect, *tile, &values);
        progress(i + 1, tiles.len());
    }
    Ok(map)
}
