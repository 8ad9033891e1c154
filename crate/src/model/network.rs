//! The patch network: a [`Spec`] made into a burn module that classifies 31x31 patches.

use burn::module::{Module, Param};
use burn::nn::conv::Conv2d;
use burn::nn::{Linear, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::module::max_pool2d;
use burn::tensor::ops::MaxPoolOptions;
use burn::tensor::{Device, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::model::spec::{Layer, PATCH, Spec};

/// Weights of a [`Spec`]: one burn `Conv2d` per conv layer, then the two head layers.
/// The same weights run patch by patch ([`Network::forward`]) or densely ([`crate::model::dense`]).
#[derive(Module, Debug)]
pub struct Network {
    pub convs: Vec<Conv2d>,
    pub hidden: Linear,
    pub output: Linear,
    #[module(skip)]
    pub spec: Spec,
}

impl Network {
    /// Fresh weights from `seed`: He-uniform (suited to ReLU layers), zero biases. The values
    /// are drawn on the CPU with our own generator, so a seed gives the same starting network
    /// on every backend.
    pub fn new(spec: &Spec, seed: u64, device: &Device) -> Network {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut depth = 1;
        let mut convs = Vec::new();
        for layer in &spec.layers {
            if let Layer::Conv { kernel, channels } = *layer {
                let shape = [channels, depth, kernel, kernel];
                convs.push(Conv2d {
                    weight: he_uniform(&mut rng, shape, depth * kernel * kernel, device),
                    bias: Some(zeros([channels], device)),
                    stride: [1, 1],
                    kernel_size: [kernel, kernel],
                    dilation: [1, 1],
                    groups: 1,
                    padding: PaddingConfig2d::Valid,
                });
                depth = channels;
            }
        }
        let features = spec.features();
        let hidden = Linear {
            weight: he_uniform(&mut rng, [features, spec.hidden], features, device),
            bias: Some(zeros([spec.hidden], device)),
        };
        let output = Linear {
            weight: he_uniform(&mut rng, [spec.hidden, 3], spec.hidden, device),
            bias: Some(zeros([3], device)),
        };
        Network {
            convs,
            hidden,
            output,
            spec: spec.clone(),
        }
    }

    /// Class scores (logits) for a batch of patches `[n, 1, 31, 31]` → `[n, 3]`.
    pub fn forward(&self, patches: Tensor<4>) -> Tensor<2> {
        let mut x = patches;
        let mut convs = self.convs.iter();
        for layer in &self.spec.layers {
            x = match layer {
                Layer::Conv { .. } => relu(convs.next().expect("one conv per layer").forward(x)),
                Layer::Pool => max_pool2d(x, MaxPoolOptions::new([2, 2])),
            };
        }
        let [n, c, _, _] = x.dims();
        self.head(x.reshape([n, c]))
    }

    /// The fully-connected head on feature vectors `[m, features]` → logits `[m, 3]`.
    pub fn head(&self, features: Tensor<2>) -> Tensor<2> {
        self.output.forward(relu(self.hidden.forward(features)))
    }

    /// A copy of the network on `device` (e.g. the CPU), reading the weights back
    /// asynchronously, which is the only way WebGPU allows in a browser.
    pub async fn copy_to(&self, device: &Device) -> Result<Network, String> {
        async fn param<const D: usize>(
            p: &Param<Tensor<D>>,
            device: &Device,
        ) -> Result<Param<Tensor<D>>, String> {
            let data = p
                .val()
                .into_data_async()
                .await
                .map_err(|e| format!("reading weights: {e:?}"))?;
            Ok(Param::from_data(data, device))
        }
        async fn linear(l: &Linear, device: &Device) -> Result<Linear, String> {
            let bias = match &l.bias {
                Some(b) => Some(param(b, device).await?),
                None => None,
            };
            Ok(Linear {
                weight: param(&l.weight, device).await?,
                bias,
            })
        }
        let mut convs = Vec::with_capacity(self.convs.len());
        for c in &self.convs {
            let bias = match &c.bias {
                Some(b) => Some(param(b, device).await?),
                None => None,
            };
            convs.push(Conv2d {
                weight: param(&c.weight, device).await?,
                bias,
                ..c.clone()
            });
        }
        Ok(Network {
            convs,
            hidden: linear(&self.hidden, device).await?,
            output: linear(&self.output, device).await?,
            spec: self.spec.clone(),
        })
    }
}

/// Shapes a batch of patch pixels (31x31 each, row-major) as the network's input tensor.
pub fn patch_tensor(pixels: Vec<f32>, device: &Device) -> Tensor<4> {
    let n = pixels.len() / (PATCH * PATCH);
    Tensor::from_data(TensorData::new(pixels, [n, 1, PATCH, PATCH]), device)
}

pub(crate) fn he_uniform<const D: usize>(
    rng: &mut StdRng,
    shape: [usize; D],
    fan_in: usize,
    device: &Device,
) -> Param<Tensor<D>> {
    let bound = (6.0 / fan_in as f32).sqrt();
    let n = shape.iter().product();
    let values: Vec<f32> = (0..n).map(|_| rng.random_range(-bound..bound)).collect();
    Param::from_data(TensorData::new(values, shape), device)
}

pub(crate) fn zeros<const D: usize>(shape: [usize; D], device: &Device) -> Param<Tensor<D>> {
    Param::from_data(TensorData::zeros::<f32, _>(shape), device)
}
