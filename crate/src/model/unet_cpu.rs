//! The U-Net on the CPU, as matrix products: the same function as [`UNet::forward`] with a
//! softmax, computed the way [`crate::model::dense_cpu`] computes the posts' dense twin.
//!
//! burn's CPU backend ran this network at the same pixels per second as the posts' dense
//! twin although it does a sixteenth of the work, and four to five times slower than
//! TensorFlow (`make bench`): its convolutions change the layout around every layer. Here the
//! images between layers stay stacks of channel planes, a 3×3 conv is the dense twin's
//! im2col and one `gemm` product per band of pixels (on a copy of its input with a zero
//! border, which is what "same" padding means), a pool keeps the largest of each 2×2, going
//! up repeats each pixel 2×2, and joining two levels is laying their planes one after the
//! other — exactly burn's channel order in `Tensor::cat`.

use burn::nn::conv::Conv2d;

use crate::core::plane::Plane;
use crate::model::backend::read_floats;
use crate::model::dense_cpu::{Image, Matrix, conv};
use crate::model::unet::UNet;

/// Two 3×3 convs (each followed by a ReLU).
struct Block([Matrix; 2]);

/// A U-Net's weights laid out for [`UNetCpu::run`].
pub struct UNetCpu {
    down: Vec<Block>,
    up: Vec<Block>,
    out: Matrix,
}

/// Floats per input pixel that [`UNetCpu::run`] holds at once, at most: at full resolution,
/// the level's kept features (16), the joined input (48) and its zero-bordered copy (48), and
/// the conv's output (16); the coarser levels add a third of that again. Sizes its tiles.
pub const FLOATS_PER_PIXEL: usize = 172;

impl UNetCpu {
    /// Reads `net`'s weights (asynchronously: they may live on a GPU).
    pub async fn new(net: &UNet) -> Result<UNetCpu, String> {
        async fn matrix(c: &Conv2d) -> Result<Matrix, String> {
            let [outputs, inputs, ky, kx] = c.weight.val().dims();
            // burn's [out, in, ky, kx] is already outputs × (channel, ky, kx)
            let weights = read_floats(c.weight.val().flatten::<1>(0, 3), "weights").await?;
            let bias = match &c.bias {
                Some(b) => read_floats(b.val(), "weights").await?,
                None => vec![0.0; outputs],
            };
            let m = Matrix {
                outputs,
                inputs: inputs * ky * kx,
                weights,
                bias,
            };
            m.fits()
                .then_some(m)
                .ok_or_else(|| "the U-Net's weights do not fit its layers".to_string())
        }
        async fn block(b: &crate::model::unet::Block) -> Result<Block, String> {
            Ok(Block([matrix(&b.first).await?, matrix(&b.second).await?]))
        }
        let mut down = Vec::new();
        for b in &net.down {
            down.push(block(b).await?);
        }
        let mut up = Vec::new();
        for b in &net.up {
            up.push(block(b).await?);
        }
        Ok(UNetCpu {
            down,
            up,
            out: matrix(&net.out).await?,
        })
    }

    /// Probabilities `[3, h, w]` (row-major planes) for an input whose sides are multiples
    /// of [`crate::model::unet::ALIGN`].
    pub fn run(&self, input: &Plane) -> Vec<f32> {
        let input = Image {
            w: input.width,
            h: input.height,
            c: 1,
            data: input.data.clone(),
        };
        // each level's features, kept to join on the way back up
        let mut levels: Vec<Image> = Vec::with_capacity(self.down.len());
        for b in &self.down {
            let level = match levels.last() {
                None => block(&input, b),
                Some(above) => block(&pool(above), b),
            };
            levels.push(level);
        }
        let mut x = levels.pop().expect("a U-Net has levels"); // the bottom
        for b in &self.up {
            let skip = levels.pop().expect("one level per block going up");
            x = block(&join(skip, &up(&x)), b);
        }
        let mut scores = conv(&x, 1, 1, &self.out, Vec::new(), false);
        softmax(&mut scores);
        scores.data
    }
}

/// Two 3×3 convs with ReLU, "same" padded.
fn block(x: &Image, b: &Block) -> Image {
    let first = conv(&bordered(x), 3, 1, &b.0[0], Vec::new(), true);
    conv(&bordered(&first), 3, 1, &b.0[1], Vec::new(), true)
}

/// `x` with a border of one zero pixel.
fn bordered(x: &Image) -> Image {
    let (w, h) = (x.w + 2, x.h + 2);
    let mut data = vec![0.0; x.c * w * h];
    for (src, dst) in x
        .data
        .chunks_exact(x.w * x.h)
        .zip(data.chunks_exact_mut(w * h))
    {
        for (y, row) in src.chunks_exact(x.w).enumerate() {
            dst[(y + 1) * w + 1..][..x.w].copy_from_slice(row);
        }
    }
    Image { w, h, c: x.c, data }
}

/// The 2×2 max pool with stride 2 (sides even).
fn pool(x: &Image) -> Image {
    let (w, h) = (x.w / 2, x.h / 2);
    let mut data = Vec::with_capacity(x.c * w * h);
    for plane in x.data.chunks_exact(x.w * x.h) {
        for y in 0..h {
            let (a, b) = (
                &plane[2 * y * x.w..][..x.w],
                &plane[(2 * y + 1) * x.w..][..x.w],
            );
            data.extend((0..w).map(|i| a[2 * i].max(a[2 * i + 1]).max(b[2 * i].max(b[2 * i + 1]))));
        }
    }
    Image { w, h, c: x.c, data }
}

/// Each pixel repeated 2×2 (nearest upsampling).
fn up(x: &Image) -> Image {
    let (w, h) = (x.w * 2, x.h * 2);
    let mut data = Vec::with_capacity(x.c * w * h);
    for plane in x.data.chunks_exact(x.w * x.h) {
        for row in plane.chunks_exact(x.w) {
            let start = data.len();
            data.extend(row.iter().flat_map(|&v| [v, v]));
            data.extend_from_within(start..start + w);
        }
    }
    Image { w, h, c: x.c, data }
}

/// `a`'s planes, then `b`'s.
fn join(mut a: Image, b: &Image) -> Image {
    assert_eq!((a.w, a.h), (b.w, b.h), "levels of the same size");
    a.data.extend_from_slice(&b.data);
    a.c += b.c;
    a
}

/// Softmax across the three class planes, pixel by pixel, in place.
fn softmax(scores: &mut Image) {
    let n = scores.w * scores.h;
    let (p0, rest) = scores.data.split_at_mut(n);
    let (p1, p2) = rest.split_at_mut(n);
    for ((a, b), c) in p0.iter_mut().zip(p1.iter_mut()).zip(p2.iter_mut()) {
        let m = a.max(*b).max(*c);
        let (ea, eb, ec) = ((*a - m).exp(), (*b - m).exp(), (*c - m).exp());
        let sum = ea + eb + ec;
        (*a, *b, *c) = (ea / sum, eb / sum, ec / sum);
    }
}
