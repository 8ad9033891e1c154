//! The dense twin on the CPU, as matrix products.
//!
//! Same weights and the same function as [`Network::dense`], computed another way. burn's
//! CPU backend runs a dilated convolution in tiles of 512 pixels and changes the layout to
//! channels-last and back around every layer; profiled on the posts' network, only about half
//! of its time went into the matrix products themselves. Here every image between layers is
//! a stack of channel planes, and
//! - a conv is im2col (each of a band of output pixels' k×k×c taps, `d` apart: row
//!   segments copied from the planes) and one matrix product (weights × taps) written
//!   straight into the output planes, bias first, ReLU after, while the band is in cache;
//! - a stride-1 pool is the element-wise maximum of four shifted rows;
//! - the head is two more matrix products over bands of pixels, then a softmax.
//!
//! Pixels run along the products' long, contiguous side: the kernels then work in full
//! blocks of 64 pixels (with channels there instead, 20, 40, 80, 120, 240 or 1000, edge
//! kernels took 14% of the time). The products come from `gemm`, the crate burn's CPU backend
//! uses too, with its tuned kernels (AVX2/AVX-512 natively, SIMD128 in wasm). Natively and
//! in the page's threaded wasm the bands run on every core (rayon); otherwise in turn.

use crate::network::Network;
use crate::plane::Plane;
use crate::spec::{Layer, PATCH, Spec};

/// Output pixels per band: enough for the products to run at full speed, few enough for a
/// band's taps to stay in the caches.
const BAND: usize = 512;

/// A layer as a matrix product: `weights` is `outputs x inputs`, row-major.
struct Matrix {
    outputs: usize,
    inputs: usize,
    weights: Vec<f32>,
    bias: Vec<f32>,
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
struct Image {
    w: usize,
    h: usize,
    c: usize,
    data: Vec<f32>,
}

impl Image {
    fn plane(&self) -> usize {
        self.w * self.h
    }
}

/// Floats per input pixel that [`DenseCpu::run`] holds at once: a layer's input and output
/// images (the last conv runs inside the head's bands, and the bands' scratch is small and
/// fixed). Sizes its tiles to a memory budget.
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
        async fn values<const D: usize>(t: burn::tensor::Tensor<D>) -> Result<Vec<f32>, String> {
            let data = t
                .into_data_async()
                .await
                .map_err(|e| format!("reading weights: {e:?}"))?;
            Ok(data.iter::<f32>().collect())
        }
        async fn bias(
            b: &Option<burn::module::Param<burn::tensor::Tensor<1>>>,
            n: usize,
        ) -> Result<Vec<f32>, String> {
            match b {
                Some(b) => values(b.val()).await,
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
                            weights: values(conv.weight.val()).await?,
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
            let w = values(l.weight.val()).await?;
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
        Ok(DenseCpu {
            steps,
            hidden: linear(&net.hidden).await?,
            output: linear(&net.output).await?,
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
                Step::Conv { kernel, matrix } => conv(&x, *kernel, d, matrix, spare),
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
        for_each_band(pixels, |start, px| {
            with_scratch((taps_len + features + hidden) * px, |scratch| {
                let (taps, rest) = scratch.split_at_mut(taps_len * px);
                let (f, h) = rest.split_at_mut(features * px);
                match last {
                    Some((kernel, d, m)) => {
                        im2col(x, kernel, d, out_w, start, px, taps);
                        product(m, Operand::new(taps, px, px), f.as_mut_ptr(), px, px);
                        finish(f.chunks_exact_mut(px), &m.bias, true);
                    }
                    // the last layer was a pool: its output's pixels, copied row by row
                    None => im2col(x, 1, 1, out_w, start, px, f),
                }
                product(
                    &self.hidden,
                    Operand::new(f, px, px),
                    h.as_mut_ptr(),
                    px,
                    px,
                );
                finish(h.chunks_exact_mut(px), &self.hidden.bias, true);
                // SAFETY: bands are disjoint pixel ranges of the three planes
                product(
                    &self.output,
                    Operand::new(h, px, px),
                    unsafe { planes.at(start) },
                    pixels,
                    px,
                );
            });
            // SAFETY: as above, this band's pixels only
            finish(
                unsafe { planes.band(start, px, 3) },
                &self.output.bias,
                false,
            );
            // SAFETY: as above
            let mut band = unsafe { planes.band(start, px, 3) };
            let (p0, p1, p2) = (band.next(), band.next(), band.next());
            let (p0, p1, p2) = (p0.expect("3"), p1.expect("3"), p2.expect("3"));
            for ((a, b), c) in p0.iter_mut().zip(p1.iter_mut()).zip(p2.iter_mut()) {
                let m = a.max(*b).max(*c);
                let (ea, eb, ec) = ((*a - m).exp(), (*b - m).exp(), (*c - m).exp());
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

/// A `kernel` x `kernel` conv with taps `d` apart, then ReLU, into `out`'s memory.
fn conv(x: &Image, kernel: usize, d: usize, m: &Matrix, mut out: Vec<f32>) -> Image {
    let span = (kernel - 1) * d;
    let (w, h) = (x.w - span, x.h - span);
    let pixels = w * h;
    out.clear();
    out.resize(m.outputs * pixels, 0.0);
    let planes = Planes::new(&mut out, pixels);
    for_each_band(pixels, |start, px| {
        with_scratch(m.inputs * px, |taps| {
            im2col(x, kernel, d, w, start, px, taps);
            // SAFETY: bands are disjoint pixel ranges of the output planes
            product(
                m,
                Operand::new(taps, px, px),
                unsafe { planes.at(start) },
                pixels,
                px,
            );
        });
        // SAFETY: as above
        finish(unsafe { planes.band(start, px, m.outputs) }, &m.bias, true);
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

/// The right-hand side of a product: `m.inputs` rows of `columns` values, `row_stride`
/// apart in `data`.
struct Operand<'a> {
    data: &'a [f32],
    row_stride: usize,
    columns: usize,
}

impl<'a> Operand<'a> {
    fn new(data: &'a [f32], row_stride: usize, columns: usize) -> Operand<'a> {
        Operand {
            data,
            row_stride,
            columns,
        }
    }
}

/// `dst = m.weights · rhs`: `m.outputs` rows of `rhs.columns` values at `dst`,
/// `dst_stride` apart. The bias comes after, with the ReLU ([`finish`]).
fn product(m: &Matrix, rhs: Operand, dst: *mut f32, dst_stride: usize, columns: usize) {
    assert_eq!(m.weights.len(), m.outputs * m.inputs);
    assert_eq!(rhs.columns, columns);
    assert!(rhs.data.len() >= (m.inputs - 1) * rhs.row_stride + columns);
    // SAFETY: the weights and rhs fit their shapes (asserted above), and the caller hands
    // over `m.outputs` rows of `columns` floats at `dst`, `dst_stride` apart
    unsafe {
        gemm::gemm(
            m.outputs,
            columns,
            m.inputs,
            dst,
            1,
            dst_stride as isize,
            false,
            m.weights.as_ptr(),
            1,
            m.inputs as isize,
            rhs.data.as_ptr(),
            1,
            rhs.row_stride as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// Adds each row's bias and, for hidden layers, applies the ReLU: one pass over the rows
/// while they are still in cache.
fn finish<'a>(rows: impl Iterator<Item = &'a mut [f32]>, bias: &[f32], relu: bool) {
    for (row, &b) in rows.zip(bias) {
        if relu {
            row.iter_mut().for_each(|v| *v = (*v + b).max(0.0));
        } else {
            row.iter_mut().for_each(|v| *v += b);
        }
    }
}

/// Planes of `pixels` floats each, written band by band from several threads at once: each
/// band owns its pixel range in every plane, which no slice type can express.
struct Planes {
    ptr: *mut f32,
    pixels: usize,
}

// SAFETY: the pointer is only used through `at` and `band`, whose callers keep the bands
// disjoint, while `out` (borrowed mutably for the Planes' whole use) outlives them.
unsafe impl Send for Planes {}
unsafe impl Sync for Planes {}

impl Planes {
    fn new(out: &mut [f32], pixels: usize) -> Planes {
        Planes {
            ptr: out.as_mut_ptr(),
            pixels,
        }
    }

    /// The first plane's pixel `start`.
    /// SAFETY: the caller writes only its own band's pixels from there.
    unsafe fn at(&self, start: usize) -> *mut f32 {
        unsafe { self.ptr.add(start) }
    }

    /// The pixels `start..start + px` of each of the first `n` planes.
    /// SAFETY: the caller's band is disjoint from every other band in use.
    unsafe fn band(&self, start: usize, px: usize, n: usize) -> impl Iterator<Item = &mut [f32]> {
        (0..n).map(move |plane| unsafe {
            std::slice::from_raw_parts_mut(self.ptr.add(plane * self.pixels + start), px)
        })
    }
}

/// Runs `f(first pixel, pixels)` over bands of up to [`BAND`] of `pixels`: on every core
/// natively and in the threaded wasm, one after another in the plain wasm.
fn for_each_band(pixels: usize, f: impl Fn(usize, usize) + Sync + Send) {
    let bands = pixels.div_ceil(BAND);
    let run = |i: usize| f(i * BAND, BAND.min(pixels - i * BAND));
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
