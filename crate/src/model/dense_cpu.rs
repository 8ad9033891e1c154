//! The dense twin on the CPU, as matrix products.
//!
//! Same weights and the same function as [`Network::dense`], computed another way. burn's
//! CPU backend runs a dilated convolution in tiles of 512 pixels and changes the layout to
//! channels-last and back around every layer; profiled on the posts' network, only about half
//! of its time went into the matrix products themselves. Here every image between layers is
//! a stack of channel planes, and
//! - a conv is im2col (each of a band of output pixels' k×k×c taps, `d` apart: row
//!   segments copied from the planes) and one matrix product (weights × taps) written
//!   straight into the output planes, then bias and ReLU in one pass while the band is in
//!   cache;
//! - a stride-1 pool is the element-wise maximum of four shifted rows;
//! - the last conv, the head's two matrix products and the softmax run band by band
//!   together, so the widest image (240 channels in the posts' network) never exists whole;
//! - the images' memory goes round from layer to layer and call to call.
//!
//! Pixels run along the products' long, contiguous side: the kernels then work in full
//! blocks of 64 pixels (with channels there instead, 20, 40, 80, 120, 240 or 1000, edge
//! kernels took 14% of the time). The products come from `gemm`, the crate burn's CPU backend
//! uses too, with its tuned kernels (AVX2/AVX-512 natively, SIMD128 in wasm). Natively and
//! in the page's threaded wasm the bands run on every core (rayon); otherwise in turn.

use std::marker::PhantomData;

use crate::core::plane::Plane;
use crate::model::backend::read_floats;
use crate::model::network::Network;
use crate::model::spec::{Layer, PATCH, Spec};

/// Output pixels per band: enough for the products to run at full speed, few enough for a
/// band's taps to stay in the caches (measured natively, 256..2048: 512 best).
pub(crate) const BAND: usize = 512;
/// Floats of scratch per thread at most (64 MiB): a network with very wide layers gets
/// narrower bands rather than unbounded memory.
const SCRATCH_FLOATS: usize = 16 << 20;

/// Pixels per band for `per_pixel` floats of scratch each.
fn band_for(per_pixel: usize) -> usize {
    (SCRATCH_FLOATS / per_pixel.max(1)).clamp(1, BAND)
}

/// A layer as a matrix product: `weights` is `outputs x inputs`, row-major.
pub(crate) struct Matrix {
    pub(crate) outputs: usize,
    pub(crate) inputs: usize,
    pub(crate) weights: Vec<f32>,
    pub(crate) bias: Vec<f32>,
}

impl Matrix {
    /// Whether the weights and biases have the sizes the shape says.
    pub(crate) fn fits(&self) -> bool {
        self.weights.len() == self.outputs * self.inputs && self.bias.len() == self.outputs
    }
}

enum Step {
    /// `matrix.inputs` is channels × kernel × kernel, in burn's order (channel, ky, kx).
    Conv {
        kernel: usize,
        matrix: Matrix,
    },
    Pool,
}

/// `c` planes of `w` x `h` pixels: `data[(channel * h + y) * w + x]`.
pub(crate) struct Image {
    pub(crate) w: usize,
    pub(crate) h: usize,
    pub(crate) c: usize,
    pub(crate) data: Vec<f32>,
}

impl Image {
    fn plane(&self) -> usize {
        self.w * self.h
    }
}

/// Floats per input pixel that [`DenseCpu::run`] holds at once: a layer's input and output
/// images (the last conv runs inside the head's bands; the bands' scratch is bounded apart,
/// by [`SCRATCH_FLOATS`] per thread). Sizes its tiles to a memory budget.
pub fn floats_per_pixel(spec: &Spec) -> usize {
    let last_conv = match spec.layers.last() {
        Some(Layer::Conv { .. }) => spec.layers.len() - 1,
        _ => usize::MAX,
    };
    let (mut depth, mut largest) = (1, 0);
    for (i, layer) in spec.layers.iter().enumerate() {
        if i == last_conv {
            break;
        }
        let out = match *layer {
            Layer::Conv { channels, .. } => channels,
            Layer::Pool => depth,
        };
        largest = largest.max(depth + out);
        depth = out;
    }
    // the head: its input and the three class planes
    largest.max(depth + 3)
}

/// A network's weights laid out for [`DenseCpu::run`].
pub struct DenseCpu {
    steps: Vec<Step>,
    hidden: Matrix,
    output: Matrix,
}

impl DenseCpu {
    /// Reads `net`'s weights (asynchronously: they may live on a GPU).
    pub async fn new(net: &Network) -> Result<DenseCpu, String> {
        async fn bias(
            b: &Option<burn::module::Param<burn::tensor::Tensor<1>>>,
            n: usize,
        ) -> Result<Vec<f32>, String> {
            match b {
                Some(b) => read_floats(b.val(), "weights").await,
                None => Ok(vec![0.0; n]),
            }
        }
        let mut steps = Vec::new();
        let mut convs = net.convs.iter();
        let mut depth = 1;
        for layer in &net.spec.layers {
            match *layer {
                Layer::Conv { kernel, channels } => {
                    let conv = convs.next().expect("one conv per layer");
                    // burn's [out, in, ky, kx] is already outputs × (channel, ky, kx)
                    steps.push(Step::Conv {
                        kernel,
                        matrix: Matrix {
                            outputs: channels,
                            inputs: depth * kernel * kernel,
                            weights: read_floats(conv.weight.val(), "weights").await?,
                            bias: bias(&conv.bias, channels).await?,
                        },
                    });
                    depth = channels;
                }
                Layer::Pool => steps.push(Step::Pool),
            }
        }
        // burn's Linear weight is [in, out]: transposed here once
        let linear = async |l: &burn::nn::Linear| -> Result<Matrix, String> {
            let [inputs, outputs] = l.weight.val().dims();
            let w = read_floats(l.weight.val(), "weights").await?;
            let mut weights = vec![0.0; inputs * outputs];
            for i in 0..inputs {
                for o in 0..outputs {
                    weights[o * inputs + i] = w[i * outputs + o];
                }
            }
            Ok(Matrix {
                outputs,
                inputs,
                weights,
                bias: bias(&l.bias, outputs).await?,
            })
        };
        let (hidden, output) = (linear(&net.hidden).await?, linear(&net.output).await?);
        // the products below trust these shapes: a network that disagrees with its spec
        // gets an error here, not a write out of bounds
        let fits = Matrix::fits;
        let convs_fit = steps.iter().all(|s| match s {
            Step::Conv { matrix, .. } => fits(matrix),
            Step::Pool => true,
        });
        if !(convs_fit && fits(&hidden) && fits(&output))
            || hidden.inputs != depth
            || output.inputs != hidden.outputs
            || output.outputs != 3
        {
            return Err(format!(
                "the network's weights do not fit its layers ({})",
                net.spec
            ));
        }
        Ok(DenseCpu {
            steps,
            hidden,
            output,
        })
    }

    /// Probabilities `[3, h, w]` (row-major planes) for an input of `w + 30` x `h + 30`
    /// pixels, as [`Network::dense`] returns them.
    pub fn run(&self, input: &Plane) -> Vec<f32> {
        let (out_w, out_h) = (input.width + 1 - PATCH, input.height + 1 - PATCH);
        let [mut data, mut spare] = IMAGES.take();
        data.clear();
        data.extend_from_slice(&input.data);
        let mut x = Image {
            w: input.width,
            h: input.height,
            c: 1,
            data,
        };
        // The last conv, when the spatial layers end with one, runs band by band inside
        // the head: its output (the widest image) then never exists whole.
        let (last, body) = match self.steps.split_last() {
            Some((Step::Conv { kernel, matrix }, body)) => (Some((*kernel, matrix)), body),
            _ => (None, &self.steps[..]),
        };
        let mut d = 1;
        for step in body {
            let next = match step {
                Step::Conv { kernel, matrix } => conv(&x, *kernel, d, matrix, spare, true),
                Step::Pool => {
                    d *= 2;
                    pool(&x, d / 2, spare)
                }
            };
            spare = std::mem::replace(&mut x, next).data;
        }
        let probabilities = self.head(&x, last.map(|(k, m)| (k, d, m)), out_w, out_h);
        IMAGES.set([x.data, spare]);
        probabilities
    }

    /// Class probabilities `[3, out_h * out_w]`: the last conv (`last`: kernel, dilation,
    /// weights), if any, then the fully-connected head and a softmax, for every pixel of
    /// `x`'s top-left `out_w` x `out_h` (a field smaller than 31 leaves extra trailing
    /// pixels: output pixel i is input pixel i + 15).
    fn head(
        &self,
        x: &Image,
        last: Option<(usize, usize, &Matrix)>,
        out_w: usize,
        out_h: usize,
    ) -> Vec<f32> {
        let pixels = out_w * out_h;
        let (features, hidden) = (self.hidden.inputs, self.hidden.outputs);
        let taps_len = last.map_or(0, |(_, _, m)| m.inputs);
        let mut out = vec![0.0; 3 * pixels];
        let planes = Planes::new(&mut out, pixels);
        let band = band_for(taps_len + features + hidden);
        for_each_band(pixels, band, |start, px| {
            // SAFETY: bands are disjoint pixel ranges of the three planes
            let mut scores = unsafe { planes.band(start, px) };
            with_scratch((taps_len + features + hidden) * px, |scratch| {
                let (taps, rest) = scratch.split_at_mut(taps_len * px);
                let (f, h) = rest.split_at_mut(features * px);
                match last {
                    Some((kernel, d, m)) => {
                        im2col(x, kernel, d, out_w, start, px, taps);
                        let mut f = Band::of(f, px);
                        product(m, Operand::new(taps, px), &mut f);
                        finish(f.rows(), &m.bias, true);
                    }
                    // the last layer was a pool: its output's pixels, copied row by row
                    None => im2col(x, 1, 1, out_w, start, px, f),
                }
                let mut hb = Band::of(h, px);
                product(&self.hidden, Operand::new(f, px), &mut hb);
                finish(hb.rows(), &self.hidden.bias, true);
                product(&self.output, Operand::new(h, px), &mut scores);
            });
            // bias and softmax, pixel by pixel across the three planes
            let mut rows = scores.rows();
            let (p0, p1, p2) = (rows.next(), rows.next(), rows.next());
            let (p0, p1, p2) = (p0.expect("3"), p1.expect("3"), p2.expect("3"));
            let [b0, b1, b2] = [
                self.output.bias[0],
                self.output.bias[1],
                self.output.bias[2],
            ];
            for ((a, b), c) in p0.iter_mut().zip(p1.iter_mut()).zip(p2.iter_mut()) {
                let (va, vb, vc) = (*a + b0, *b + b1, *c + b2);
                let m = va.max(vb).max(vc);
                let (ea, eb, ec) = ((va - m).exp(), (vb - m).exp(), (vc - m).exp());
                let sum = ea + eb + ec;
                (*a, *b, *c) = (ea / sum, eb / sum, ec / sum);
            }
        });
        out
    }
}

/// im2col, transposed, for the output pixels `start..start + px` of a grid `w` wide:
/// one row of `px` values in `taps` per (channel, ky, kx) of a `kernel` x `kernel` conv
/// with taps `d` apart over `x`.
fn im2col(x: &Image, kernel: usize, d: usize, w: usize, start: usize, px: usize, taps: &mut [f32]) {
    let mut rows = taps.chunks_exact_mut(px);
    for channel in x.data.chunks_exact(x.plane()) {
        for ky in 0..kernel {
            for kx in 0..kernel {
                let row = rows.next().expect("one row per tap");
                // the band's pixels, output row by output row
                let mut p = start;
                while p < start + px {
                    let (y, x0) = (p / w, p % w);
                    let n = (w - x0).min(start + px - p);
                    let src = (y + ky * d) * x.w + x0 + kx * d;
                    row[p - start..][..n].copy_from_slice(&channel[src..src + n]);
                    p += n;
                }
            }
        }
    }
}

/// A `kernel` x `kernel` conv with taps `d` apart (no padding), then ReLU where `relu`, into
/// `out`'s memory.
pub(crate) fn conv(
    x: &Image,
    kernel: usize,
    d: usize,
    m: &Matrix,
    mut out: Vec<f32>,
    relu: bool,
) -> Image {
    let span = (kernel - 1) * d;
    let (w, h) = (x.w - span, x.h - span);
    let pixels = w * h;
    out.clear();
    out.reserve_exact(m.outputs * pixels); // exactly: these images are the big allocations
    out.resize(m.outputs * pixels, 0.0);
    let planes = Planes::new(&mut out, pixels);
    for_each_band(pixels, band_for(m.inputs), |start, px| {
        // SAFETY: bands are disjoint pixel ranges of the output planes
        let mut band = unsafe { planes.band(start, px) };
        with_scratch(m.inputs * px, |taps| {
            im2col(x, kernel, d, w, start, px, taps);
            product(m, Operand::new(taps, px), &mut band);
        });
        finish(band.rows(), &m.bias, relu);
    });
    Image {
        w,
        h,
        c: m.outputs,
        data: out,
    }
}

/// The stride-1 2x2 max pool with taps `d` apart, into `out`'s memory.
fn pool(x: &Image, d: usize, mut out: Vec<f32>) -> Image {
    let (w, h) = (x.w - d, x.h - d);
    out.clear();
    out.reserve_exact(w * h * x.c);
    for plane in x.data.chunks_exact(x.plane()) {
        let row = |y: usize, dx: usize| &plane[y * x.w + dx..][..w];
        for y in 0..h {
            let (a, b, e, f) = (row(y, 0), row(y, d), row(y + d, 0), row(y + d, d));
            out.extend(
                a.iter()
                    .zip(b)
                    .zip(e.iter().zip(f))
                    .map(|((a, b), (e, f))| a.max(*b).max(e.max(*f))),
            );
        }
    }
    Image {
        w,
        h,
        c: x.c,
        data: out,
    }
}

/// The right-hand side of a product: rows of values `row_stride` apart in `data`, as many
/// as the matrix has inputs, each as long as the destination's rows.
pub(crate) struct Operand<'a> {
    data: &'a [f32],
    row_stride: usize,
}

impl<'a> Operand<'a> {
    pub(crate) fn new(data: &'a [f32], row_stride: usize) -> Operand<'a> {
        Operand { data, row_stride }
    }
}

/// `dst = m.weights · rhs`: a row of `dst` per output of `m`. The bias comes after, with
/// the ReLU ([`finish`]) or the softmax.
fn product(m: &Matrix, rhs: Operand, dst: &mut Band) {
    multiply(&m.weights, m.outputs, m.inputs, rhs, dst, false);
}

/// `dst = weights · rhs`, or `dst += weights · rhs` where `add`: `weights` is `outputs` ×
/// `inputs`, row-major, and `dst` a row per output.
pub(crate) fn multiply(
    weights: &[f32],
    outputs: usize,
    inputs: usize,
    rhs: Operand,
    dst: &mut Band,
    add: bool,
) {
    let columns = dst.columns;
    assert_eq!(weights.len(), outputs * inputs);
    assert_eq!(dst.rows, outputs);
    assert!(inputs == 0 || rhs.data.len() >= (inputs - 1) * rhs.row_stride + columns);
    // SAFETY: the weights and rhs fit their shapes (asserted above), and a Band is
    // `rows` x `columns` floats the caller may write (see Band)
    unsafe {
        gemm::gemm(
            outputs,
            columns,
            inputs,
            dst.ptr,
            1,
            dst.stride as isize,
            add,
            weights.as_ptr(),
            1,
            inputs as isize,
            rhs.data.as_ptr(),
            1,
            rhs.row_stride as isize,
            // gemm computes dst = alpha * dst + beta * lhs * rhs: dst is read only to add to
            if add { 1.0 } else { 0.0 },
            1.0,
            false,
            false,
            false,
            // no threads inside: the bands are the parallel work, and the thread-local
            // scratch a band holds must not be reached by a stolen job
            gemm::Parallelism::None,
        );
    }
}

/// Adds each row's bias and, for hidden layers, applies the ReLU: one pass over the rows
/// while they are still in cache.
pub(crate) fn finish<'a>(rows: impl Iterator<Item = &'a mut [f32]>, bias: &[f32], relu: bool) {
    for (row, &b) in rows.zip(bias) {
        if relu {
            row.iter_mut().for_each(|v| *v = (*v + b).max(0.0));
        } else {
            row.iter_mut().for_each(|v| *v += b);
        }
    }
}

/// `rows` x `columns` floats, rows `stride` apart, that one band may write: a slice of its
/// own scratch, or its pixel range of every output plane.
pub(crate) struct Band<'a> {
    ptr: *mut f32,
    stride: usize,
    rows: usize,
    columns: usize,
    _memory: PhantomData<&'a mut [f32]>,
}

impl<'a> Band<'a> {
    /// All of `data`, as rows of `columns`.
    fn of(data: &'a mut [f32], columns: usize) -> Band<'a> {
        Band {
            ptr: data.as_mut_ptr(),
            stride: columns,
            rows: data.len() / columns,
            columns,
            _memory: PhantomData,
        }
    }

    pub(crate) fn rows(&mut self) -> impl Iterator<Item = &mut [f32]> {
        // SAFETY: a Band's rows are disjoint, in memory it may write (see `of`, Planes::band)
        (0..self.rows).map(move |r| unsafe {
            std::slice::from_raw_parts_mut(self.ptr.add(r * self.stride), self.columns)
        })
    }
}

/// Planes of `pixels` floats each, written band by band from several threads at once: each
/// band owns its pixel range in every plane, which no slice type can express.
pub(crate) struct Planes<'a> {
    ptr: *mut f32,
    pixels: usize,
    count: usize,
    _memory: PhantomData<&'a mut [f32]>,
}

// SAFETY: the pointer is used only through `band`, whose callers keep bands disjoint, and
// the planes' memory stays borrowed mutably for as long as the Planes live.
unsafe impl Send for Planes<'_> {}
unsafe impl Sync for Planes<'_> {}

impl<'a> Planes<'a> {
    pub(crate) fn new(out: &'a mut [f32], pixels: usize) -> Planes<'a> {
        Planes {
            ptr: out.as_mut_ptr(),
            pixels,
            count: out.len() / pixels.max(1),
            _memory: PhantomData,
        }
    }

    /// The pixels `start..start + px` of every plane.
    /// SAFETY: no other band in use overlaps `start..start + px`.
    pub(crate) unsafe fn band(&self, start: usize, px: usize) -> Band<'a> {
        assert!(start + px <= self.pixels);
        Band {
            ptr: unsafe { self.ptr.add(start) },
            stride: self.pixels,
            rows: self.count,
            columns: px,
            _memory: PhantomData,
        }
    }
}

/// Runs `f(first pixel, pixels)` over bands of up to `band` of `pixels`: on every core
/// natively and in the threaded wasm, one after another in the plain wasm.
pub(crate) fn for_each_band(pixels: usize, band: usize, f: impl Fn(usize, usize) + Sync + Send) {
    let bands = pixels.div_ceil(band);
    let run = |i: usize| f(i * band, band.min(pixels - i * band));
    #[cfg(any(not(target_arch = "wasm32"), feature = "threads"))]
    {
        use rayon::prelude::*;
        (0..bands).into_par_iter().for_each(run);
    }
    #[cfg(all(target_arch = "wasm32", not(feature = "threads")))]
    (0..bands).for_each(run);
}

thread_local! {
    /// Memory for the two images alive at a time, a layer's input and its output: it goes
    /// round from layer to layer, tile to tile and call to call (fresh allocations this size
    /// cost page faults and zeroing: 7% of the time, profiled).
    static IMAGES: std::cell::Cell<[Vec<f32>; 2]> = const { std::cell::Cell::new([Vec::new(), Vec::new()]) };
    /// Each thread's scratch for im2col rows and the head's hidden layer, kept between bands.
    static SCRATCH: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// `f` on `len` floats of this thread's scratch (contents unspecified: `f` overwrites them).
fn with_scratch(len: usize, f: impl FnOnce(&mut [f32])) {
    SCRATCH.with_borrow_mut(|scratch| {
        if scratch.len() < len {
            scratch.resize(len, 0.0);
        }
        f(&mut scratch[..len]);
    });
}
