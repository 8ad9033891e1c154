//! Beyond the posts: a small U-Net (Ronneberger et al. 2015) that labels every pixel of a
//! tile at once, with the same three classes as the posts' patch networks.
//!
//! The posts' network sees a 31×31 patch: less than one cell's length here, so whether a
//! faint line across a rod is a division septum or nothing is decided without seeing where
//! the rod ends. A U-Net halves the resolution three times on the way down and comes back up
//! joined to each level's own features, so every output pixel sees about 100 px around it and
//! still draws its answer at full resolution. It is also cheaper per pixel than the posts'
//! dense twin (about 80 kFLOP against 1.25 MFLOP), and it is fully convolutional by design:
//! there is no patch version to make dense.
//!
//! Its maps are the same [`ProbabilityMap`]s, so the clean-up, the whole cells and the metrics
//! downstream do not know which network made them.

use burn::module::Module;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::tensor::activation::{relu, softmax};
use burn::tensor::module::{interpolate, max_pool2d};
use burn::tensor::ops::{InterpolateMode, InterpolateOptions, MaxPoolOptions};
use burn::tensor::{Device, Tensor, TensorData};
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::core::plane::{Plane, Rect};
use crate::core::probability::ProbabilityMap;
use crate::model::backend::read_floats;
use crate::model::network::{he_uniform, zeros};
use crate::model::unet_cpu::UNetCpu;

/// Channels at each level, from full resolution down to the bottom (1/8).
pub const WIDTHS: [usize; 4] = [16, 32, 64, 128];
/// Tile sides and origins are multiples of this (three 2×2 pools), so every tile pools on
/// the same grid as the whole image would and tiles join without seams.
pub const ALIGN: usize = 8;
/// Context read around every tile (a multiple of [`ALIGN`]). The network's field reaches
/// about 50 px from a pixel; beyond it, what the zero padding of a tile's own border does
/// cannot reach the tile's inside.
pub const HALO: usize = 64;
/// Floats per input pixel of the largest intermediate on a GPU (the first decoder conv
/// unfolded: 3×3 × the two finest levels' channels), for choosing tile sizes within a buffer
/// limit. (On the CPU, [`crate::model::unet_cpu::FLOATS_PER_PIXEL`].)
pub const GPU_FLOATS_PER_PIXEL: usize = 9 * (WIDTHS[0] + WIDTHS[1]);
/// Output tiles are never larger than this, so progress stays fine-grained.
const MAX_TILE: usize = 512;

/// Two 3×3 convolutions with ReLU, zero-padded to keep the size.
#[derive(Module, Debug)]
pub struct Block {
    pub first: Conv2d,
    pub second: Conv2d,
}

impl Block {
    fn new(rng: &mut StdRng, inputs: usize, outputs: usize, device: &Device) -> Block {
        Block {
            first: conv(rng, inputs, outputs, 3, device),
            second: conv(rng, outputs, outputs, 3, device),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        relu(self.second.forward(relu(self.first.forward(x))))
    }
}

/// The U-Net: `down[i]` works at 1/2^i of the resolution (the last is the bottom), `up[i]`
/// joins level `len - 2 - i`'s features with the upsampled ones from below, and `out` is a
/// 1×1 convolution to the three classes' scores.
#[derive(Module, Debug)]
pub struct UNet {
    pub down: Vec<Block>,
    pub up: Vec<Block>,
    pub out: Conv2d,
}

impl UNet {
    /// Fresh weights from `seed` (He-uniform, zero biases; drawn on the CPU so a seed gives
    /// the same network on every backend).
    pub fn new(seed: u64, device: &Device) -> UNet {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut down = Vec::new();
        let mut inputs = 1;
        for &w in &WIDTHS {
            down.push(Block::new(&mut rng, inputs, w, device));
            inputs = w;
        }
        let mut up = Vec::new();
        for level in (0..WIDTHS.len() - 1).rev() {
            let joined = WIDTHS[level] + WIDTHS[level + 1];
            up.push(Block::new(&mut rng, joined, WIDTHS[level], device));
        }
        let out = conv(&mut rng, WIDTHS[0], 3, 1, device);
        UNet { down, up, out }
    }

    /// Class scores (logits) `[n, 3, h, w]` for images `[n, 1, h, w]` whose sides are
    /// multiples of [`ALIGN`].
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let mut skips = Vec::with_capacity(self.down.len());
        let mut x = x;
        for (i, block) in self.down.iter().enumerate() {
            if i > 0 {
                x = max_pool2d(x, MaxPoolOptions::new([2, 2]));
            }
            x = block.forward(x);
            skips.push(x.clone());
        }
        skips.pop(); // the bottom level is `x` itself
        for block in &self.up {
            let skip = skips.pop().expect("one skip per level going up");
            let [_, _, h, w] = skip.dims();
            let mut options = InterpolateOptions::new(InterpolateMode::Nearest);
            options.align_corners = false;
            let up = interpolate(x, options.with_output_size([h, w]));
            x = block.forward(Tensor::cat(vec![skip, up], 1));
        }
        self.out.forward(x)
    }

    /// Parameters to learn.
    pub fn params(&self) -> usize {
        self.num_params()
    }

    /// Multiply-adds per pixel of the image, times two: the cost of a dense map.
    pub fn flops_per_pixel() -> u64 {
        let mut flops = 0u64;
        let mut inputs = 1;
        for (level, &w) in WIDTHS.iter().enumerate() {
            let per_pixel = 9 * (inputs * w + w * w) as u64;
            flops += (2 * per_pixel) >> (2 * level);
            inputs = w;
        }
        for level in 0..WIDTHS.len() - 1 {
            let (w, joined) = (WIDTHS[level], WIDTHS[level] + WIDTHS[level + 1]);
            flops += (2 * 9 * (joined * w + w * w) as u64) >> (2 * level);
        }
        flops + 2 * 3 * WIDTHS[0] as u64
    }
}

/// The middle `tw` x `th` of each of three planes `tw + 2 HALO` wide (the tile without its
/// halo).
fn interior(planes: &[f32], tw: usize, th: usize) -> Vec<f32> {
    let (nw, nh) = (tw + 2 * HALO, th + 2 * HALO);
    let mut out = Vec::with_capacity(3 * tw * th);
    for plane in planes.chunks_exact(nw * nh) {
        for y in HALO..HALO + th {
            out.extend_from_slice(&plane[y * nw + HALO..][..tw]);
        }
    }
    out
}

fn conv(rng: &mut StdRng, inputs: usize, outputs: usize, k: usize, device: &Device) -> Conv2d {
    let pad = k / 2;
    Conv2d {
        weight: he_uniform(rng, [outputs, inputs, k, k], inputs * k * k, device),
        bias: Some(zeros([outputs], device)),
        stride: [1, 1],
        kernel_size: [k, k],
        dilation: [1, 1],
        groups: 1,
        padding: PaddingConfig2d::Explicit(pad, pad, pad, pad),
    }
}

/// Output side of the tiles for a buffer limit, with `floats_per_pixel` floats held for
/// every input pixel: a multiple of [`ALIGN`], at least one alignment step, at most
/// [`MAX_TILE`].
pub fn tile_side(floats_per_pixel: usize, max_buffer: u64) -> usize {
    let bytes_per_pixel = 4 * floats_per_pixel as u64;
    let with_halo = ((max_buffer / bytes_per_pixel) as f64).sqrt() as usize;
    let side = with_halo.saturating_sub(2 * HALO) / ALIGN * ALIGN;
    side.clamp(ALIGN, MAX_TILE)
}

/// Class probabilities for `rect` of a normalised plane, tile by tile. Tiles sit on a grid
/// of [`ALIGN`] in image coordinates and read [`HALO`] pixels around them (mirrored beyond
/// the image's border), so a pixel's probabilities do not depend on the crop asked for. On
/// the CPU the network runs as matrix products ([`crate::model::unet_cpu`]), elsewhere through burn.
pub async fn segment(
    net: &UNet,
    plane: &Plane,
    rect: Rect,
    max_buffer: u64,
    device: &Device,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<ProbabilityMap, String> {
    let (rect, mut map) = ProbabilityMap::for_crop(plane, rect)?;
    let (on_cpu, floats) = if *device == Device::flex() {
        let cpu = UNetCpu::new(net).await?;
        (Some(cpu), crate::model::unet_cpu::FLOATS_PER_PIXEL)
    } else {
        (None, GPU_FLOATS_PER_PIXEL)
    };
    let (ax, ay) = (rect.x0 / ALIGN * ALIGN, rect.y0 / ALIGN * ALIGN);
    // As few tiles as the memory allows, each as small as that many need: every tile pays
    // for its halo, so 1392 px are three tiles of 464, not two of 512 and one of 368.
    let largest = tile_side(floats, max_buffer);
    let share = |span: usize| {
        let pieces = span.div_ceil(largest);
        span.div_ceil(pieces).next_multiple_of(ALIGN)
    };
    let (tw, th) = (share(rect.x1 - ax), share(rect.y1 - ay));
    let mut tiles = Vec::new();
    for y0 in (ay..rect.y1).step_by(th) {
        for x0 in (ax..rect.x1).step_by(tw) {
            tiles.push(Rect::new(x0, y0, x0 + tw, y0 + th));
        }
    }
    let (nw, nh) = (tw + 2 * HALO, th + 2 * HALO);
    for (i, tile) in tiles.iter().enumerate() {
        let input = plane.crop_reflected(*tile, HALO);
        let values = match &on_cpu {
            Some(cpu) => interior(&cpu.run(&input), tw, th),
            None => {
                let tensor = Tensor::from_data(TensorData::new(input.data, [1, 1, nh, nw]), device);
                let probabilities = softmax(net.forward(tensor), 1).slice([
                    0..1,
                    0..3,
                    HALO..HALO + th,
                    HALO..HALO + tw,
                ]);
                read_floats(probabilities, "results").await?
            }
        };
        map.paste(rect, *tile, &values);
        progress(i + 1, tiles.len());
    }
    Ok(map)
}
