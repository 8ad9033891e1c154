//! The U-Net on the CPU, as matrix products: the same function as [`UNet::forward`] with a
//! softmax, computed the way [`crate::model::dense_cpu`] computes the posts' dense twin.
//!
//! burn's CPU backend ran this network at the same pixels per second as the posts' dense
//! twin although it does a sixteenth of the work, and four to five times slower than
//! TensorFlow (`make bench`): its convolutions change the layout around every layer. Here the
//! images between layers stay stacks of channel planes; a 3×3 conv reads its input, with a
//! border of zeros (which is what "same" padding means), in place: nine `gemm` products per
//! band of pixels, one per tap, added up ([`same`]; the dense twin's im2col copied every tap
//! first, which cost about as much as multiplying). A pool keeps the largest of each 2×2,
//! going up repeats each pixel 2×2, and joining two levels is laying their planes one after
//! the other — exactly burn's channel order in `Tensor::cat`. The images' memory goes round
//! ([`memory`]).

use burn::nn::conv::Conv2d;

use crate::core::plane::Plane;
use crate::model::backend::read_floats;
use crate::model::dense_cpu::{
    BAND, Image, Matrix, Operand, Planes, conv, finish, for_each_band, multiply,
};
use crate::model::unet::UNet;

/// Two 3×3 convs (each followed by a ReLU).
struct Block([Taps; 2]);

/// A 3×3 conv laid out for [`same`]: one `outputs × channels` matrix (row-major) per tap.
struct Taps {
    outputs: usize,
    channels: usize,
    /// tap (ky, kx) at `3 · ky + kx`
    taps: Vec<Vec<f32>>,
    bias: Vec<f32>,
}

impl Taps {
    /// `m`'s weights, in burn's (channel, ky, kx) order, by tap; None where they are not a
    /// 3×3 conv's.
    fn of(m: Matrix) -> Option<Taps> {
        if !m.inputs.is_multiple_of(9) {
            return None;
        }
        let channels = m.inputs / 9;
        let taps = (0..9)
            .map(|tap| {
                (0..m.outputs)
                    .flat_map(|o| (0..channels).map(move |c| (o, c)))
                    .map(|(o, c)| m.weights[o * m.inputs + c * 9 + tap])
                    .collect()
            })
            .collect();
        Some(Taps {
            outputs: m.outputs,
            channels,
            taps,
            bias: m.bias,
        })
    }
}

/// A U-Net's weights laid out for [`UNetCpu::run`].
pub struct UNetCpu {
    down: Vec<Block>,
    up: Vec<Block>,
    out: Matrix,
}

/// Floats per input pixel that [`UNetCpu::run`] holds, at most: at full resolution the
/// level's kept features (16), the joined input (48) and a block's two outputs (16 each), the
/// coarser levels a third of that again; and the spare memory it keeps going round, which
/// holds what the largest tile left of each (see [`memory`]). Sizes its tiles.
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
            let taps = |m: Matrix| {
                Taps::of(m).ok_or_else(|| "the U-Net's blocks are not 3×3 convs".to_string())
            };
            Ok(Block([
                taps(matrix(&b.first).await?)?,
                taps(matrix(&b.second).await?)?,
            ]))
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
        let (w, h) = (input.width, input.height);
        let mut x = framed(w, h, 1);
        for (y, row) in input.data.chunks_exact(w).enumerate() {
            x.data[(y + 1) * x.w + 1..][..w].copy_from_slice(row);
        }
        // each level's features, kept to join on the way back up
        let mut levels: Vec<Image> = Vec::with_capacity(self.down.len());
        for b in &self.down {
            let level = match levels.last() {
                None => block(&x, b),
                Some(above) => {
                    let pooled = pool(above);
                    let level = block(&pooled, b);
                    recycle(pooled);
                    level
                }
            };
            levels.push(level);
        }
        recycle(x);
        let mut x = levels.pop().expect("a U-Net has levels"); // the bottom
        for b in &self.up {
            let skip = levels.pop().expect("one level per block going up");
            let joined = up_beside(skip, &x);
            recycle(x);
            x = block(&joined, b);
            recycle(joined);
        }
        let framed_scores = conv(&x, 1, 1, &self.out, memory(3 * x.w * x.h), false);
        recycle(x);
        // the answer leaves, in memory of its own size (a spare would leave the round with it)
        let mut scores = unframed(&framed_scores, Vec::new());
        recycle(framed_scores);
        softmax(&mut scores);
        scores.data
    }
}

thread_local! {
    /// The memory of the images between layers, going round from layer to layer, tile to
    /// tile and call to call: fresh allocations this large are fresh pages from the system,
    /// and their page faults took a quarter of the time (profiled).
    static SPARE: std::cell::RefCell<Vec<Vec<f32>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The most images' memory kept spare: as many as are alive at once in [`UNetCpu::run`] at
/// its widest (the levels kept, a block's input and its two outputs).
const SPARES: usize = 12;

/// Memory for at least `len` floats, holding whatever it held last (the smallest spare that
/// has room, or new and empty).
fn memory(len: usize) -> Vec<f32> {
    SPARE.with_borrow_mut(|spare| {
        let fitting = (spare.iter().enumerate())
            .filter(|(_, v)| v.capacity() >= len)
            .min_by_key(|(_, v)| v.capacity())
            .map(|(i, _)| i);
        fitting.map_or_else(|| Vec::with_capacity(len), |i| spare.swap_remove(i))
    })
}

/// Gives an image's memory back for the next to use (the smallest spare goes where there
/// are more than [`SPARES`]).
fn recycle(image: Image) {
    SPARE.with_borrow_mut(|spare| {
        spare.push(image.data);
        if spare.len() > SPARES {
            let smallest = (spare.iter().enumerate())
                .min_by_key(|(_, v)| v.capacity())
                .map(|(i, _)| i);
            if let Some(i) = smallest {
                spare.swap_remove(i);
            }
        }
    });
}

/// `c` planes of `w` × `h` pixels inside a border of one zero pixel (what a "same" 3×3 conv
/// reads beyond the edge): `w + 2` × `h + 2` each. Every image between the U-Net's layers is
/// one, so no layer copies its input to border it. Inside the border, the values are left
/// for the caller to write.
fn framed(w: usize, h: usize, c: usize) -> Image {
    let (fw, fh) = (w + 2, h + 2);
    let mut data = memory(c * fw * fh);
    // what the memory held inside the border the caller overwrites: only the border is set
    // (and what it never held, zeroed as it grows)
    data.truncate(c * fw * fh);
    data.resize(c * fw * fh, 0.0);
    for plane in data.chunks_exact_mut(fw * fh) {
        plane[..fw].fill(0.0);
        plane[(fh - 1) * fw..].fill(0.0);
        for y in 1..fh - 1 {
            plane[y * fw] = 0.0;
            plane[y * fw + fw - 1] = 0.0;
        }
    }
    Image {
        w: fw,
        h: fh,
        c,
        data,
    }
}

/// Two 3×3 convs with ReLU, "same" padded, of a [`framed`] image into another.
fn block(x: &Image, b: &Block) -> Image {
    let first = same(x, &b.0[0]);
    let second = same(&first, &b.0[1]);
    recycle(first);
    second
}

/// A 3×3 conv with ReLU of a [`framed`] image, into another, without copying its taps.
///
/// Counted along the framed image's rows, the tap (ky, kx) of every output pixel lies
/// `ky · width + kx` after the pixel's own top-left tap: so the whole conv is nine matrix
/// products, one per tap, of `outputs × channels` weights with the input's planes read in
/// place from that offset, added up. Counted that way, each row also holds two pixels past
/// its right end, whose sums are of no pixel; written one row and one pixel on, they land
/// exactly on the output's border, where they are set to zero.
fn same(x: &Image, m: &Taps) -> Image {
    let (fw, fh) = (x.w, x.h);
    let (w, h) = (fw - 2, fh - 2);
    let channels = x.c;
    assert_eq!(m.channels, channels, "a 3×3 conv of the image's channels");
    let plane = fw * fh;
    let mut out = framed(w, h, m.outputs);
    // the outputs counted along the framed rows, less the last row's two past its end
    // (whose taps would lie beyond the input)
    let pixels = h * fw - 2;
    let planes = Planes::new(&mut out.data, plane);
    for_each_band(pixels, BAND, |start, px| {
        // SAFETY: bands are disjoint pixel ranges of the output planes
        let mut band = unsafe { planes.band(fw + 1 + start, px) };
        for (tap, weights) in m.taps.iter().enumerate() {
            let offset = (tap / 3) * fw + tap % 3 + start;
            let rhs = Operand::new(&x.data[offset..], plane);
            multiply(weights, m.outputs, channels, rhs, &mut band, tap > 0);
        }
        finish(band.rows(), &m.bias, true);
        // the sums past each row's end are the border
        let first = start - start % fw + w;
        for row in band.rows() {
            for end in (first..start + px + 2).step_by(fw) {
                for q in end..end + 2 {
                    if (start..start + px).contains(&q) {
                        row[q - start] = 0.0;
                    }
                }
            }
        }
    });
    out
}

/// The planes inside a [`framed`] image's border, in `data`'s memory.
fn unframed(x: &Image, mut data: Vec<f32>) -> Image {
    let (w, h) = (x.w - 2, x.h - 2);
    data.clear();
    data.reserve_exact(x.c * w * h);
    for plane in x.data.chunks_exact(x.w * x.h) {
        for y in 1..=h {
            data.extend_from_slice(&plane[y * x.w + 1..][..w]);
        }
    }
    Image { w, h, c: x.c, data }
}

/// The 2×2 max pool with stride 2 (sides even), of a [`framed`] image into another.
fn pool(x: &Image) -> Image {
    let (w, h) = ((x.w - 2) / 2, (x.h - 2) / 2);
    let mut out = framed(w, h, x.c);
    let (fw, fh) = (out.w, out.h);
    for (src, dst) in (x.data.chunks_exact(x.w * x.h)).zip(out.data.chunks_exact_mut(fw * fh)) {
        for y in 0..h {
            let (a, b) = (
                &src[(2 * y + 1) * x.w + 1..][..2 * w],
                &src[(2 * y + 2) * x.w + 1..][..2 * w],
            );
            let row = &mut dst[(y + 1) * fw + 1..][..w];
            for (i, v) in row.iter_mut().enumerate() {
                *v = a[2 * i].max(a[2 * i + 1]).max(b[2 * i].max(b[2 * i + 1]));
            }
        }
    }
    out
}

/// The level kept on the way down (`skip`), then the level below it gone up (each of its
/// pixels repeated 2×2, nearest upsampling), as one [`framed`] image: burn's channel order in
/// `Tensor::cat`.
fn up_beside(skip: Image, below: &Image) -> Image {
    let (w, h) = (skip.w - 2, skip.h - 2);
    assert_eq!(
        ((below.w - 2) * 2, (below.h - 2) * 2),
        (w, h),
        "levels of the same size"
    );
    let mut out = framed(w, h, skip.c + below.c);
    let (fw, fh) = (out.w, out.h);
    // the kept level's planes as they are, border and all
    out.data[..skip.data.len()].copy_from_slice(&skip.data);
    let ups = out.data[skip.data.len()..].chunks_exact_mut(fw * fh);
    for (src, dst) in below.data.chunks_exact(below.w * below.h).zip(ups) {
        for y in 0..h {
            let from = &src[(y / 2 + 1) * below.w + 1..][..w / 2];
            let row = &mut dst[(y + 1) * fw + 1..][..w];
            for (pair, &v) in row.chunks_exact_mut(2).zip(from) {
                pair.fill(v);
            }
        }
    }
    recycle(skip);
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A 3×3 conv with ReLU and a zero border, pixel by pixel: what [`same`] must compute.
    fn naive(x: &[f32], w: usize, h: usize, c: usize, m: &Matrix) -> Vec<f32> {
        let mut out = vec![0.0; m.outputs * w * h];
        for o in 0..m.outputs {
            for y in 0..h {
                for xx in 0..w {
                    let mut sum = m.bias[o];
                    for ch in 0..c {
                        for ky in 0..3 {
                            for kx in 0..3 {
                                let (sy, sx) = (y + ky, xx + kx);
                                if sy == 0 || sx == 0 || sy > h || sx > w {
                                    continue;
                                }
                                let v = x[(ch * h + sy - 1) * w + sx - 1];
                                sum += m.weights[o * m.inputs + ch * 9 + ky * 3 + kx] * v;
                            }
                        }
                    }
                    out[(o * h + y) * w + xx] = sum.max(0.0);
                }
            }
        }
        out
    }

    #[test]
    fn a_conv_reading_its_input_in_place_is_a_3x3_conv() {
        // sizes whose bands start on either of a row's two sums past its end, one channel and
        // three; run one after another, so each reuses memory the one before left dirty
        for (w, h, c) in [(9, 7, 1), (1, 180, 3), (41, 131, 1), (9, 7, 3), (64, 40, 3)] {
            let values = |n: usize, k: usize| -> Vec<f32> {
                (0..n)
                    .map(|i| ((i * 7919 + k * 104_729) % 211) as f32 / 105.0 - 1.0)
                    .collect()
            };
            let outputs = 5;
            let m = Matrix {
                outputs,
                inputs: c * 9,
                weights: values(outputs * c * 9, 1),
                bias: values(outputs, 2),
            };
            let input = values(c * w * h, 3);
            let mut x = framed(w, h, c);
            for (ch, plane) in input.chunks_exact(w * h).enumerate() {
                for (y, row) in plane.chunks_exact(w).enumerate() {
                    x.data[ch * x.w * x.h + (y + 1) * x.w + 1..][..w].copy_from_slice(row);
                }
            }
            let want = naive(&input, w, h, c, &m);
            let got = same(&x, &Taps::of(m).unwrap());
            recycle(x);
            // the border is zero, the inside the conv
            for (plane, want) in got
                .data
                .chunks_exact(got.w * got.h)
                .zip(want.chunks_exact(w * h))
            {
                for (i, &v) in plane.iter().enumerate() {
                    let (fx, fy) = (i % got.w, i / got.w);
                    let inside = fx >= 1 && fy >= 1 && fx <= w && fy <= h;
                    let expected = if inside {
                        want[(fy - 1) * w + fx - 1]
                    } else {
                        0.0
                    };
                    assert!(
                        (v - expected).abs() < 1e-4,
                        "{w}×{h}×{c}: ({fx}, {fy}) {v} for {expected}"
                    );
                }
            }
            recycle(got);
        }
    }
}
