//! An architecture is data: a list of layers that must shrink a 31x31 patch to 1x1, followed by
//! a fully-connected head (hidden units → 3 classes).
//!
//! From a [`Spec`] come the burn module ([`crate::model::network`]), the dense twin
//! ([`crate::model::dense`]), the layer table of the walkthrough, and the parameter and FLOP counts.
//! Specs have a short text form, e.g. the posts' original network:
//! `conv4x20 pool conv3x40 conv3x80 pool conv3x120 conv3x240 fc1000`.

use std::fmt;

/// Side of the square patch every network classifies (the posts' 31x31).
pub const PATCH: usize = 31;
/// Pixels from a patch's centre to its border.
pub const HALF: usize = PATCH / 2;
/// Limits on a network's text form. Far above any network the posts consider, and low enough
/// that sizes, parameter counts and FLOPs stay exact in 32-bit wasm arithmetic.
pub const MAX_KERNEL: usize = PATCH;
pub const MAX_CHANNELS: usize = 4096;
pub const MAX_HIDDEN: usize = 65536;
/// Layers in a network's text form, at most.
pub const MAX_LAYERS: usize = 64;
/// One spatial layer. Every conv is followed by a ReLU; every pool is a 2x2 max pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layer {
    /// k×k convolution with `channels` filters, stride 1, no padding ('valid').
    Conv { kernel: usize, channels: usize },
    /// 2x2 max pool with stride 2 (stride 1 and dilated in the dense twin).
    Pool,
}

/// A network: spatial layers, then fully-connected `hidden` units (ReLU) and 3 class scores.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spec {
    pub name: String,
    pub layers: Vec<Layer>,
    pub hidden: usize,
}

/// What each layer does to a patch: a row of the posts' layer table (also as the page's
/// worker receives it, [`crate::api::Description`]).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct LayerRow {
    pub label: String,
    /// Kernel (field) size of the layer.
    pub field: usize,
    /// Stride in the patch network (2 for pools, 1 for convs).
    pub stride: usize,
    /// Output channels.
    pub depth: usize,
    /// Output side for a 31x31 input.
    pub out: usize,
    /// Dilation of this layer in the dense twin.
    pub dilation: usize,
    pub params: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error("unknown layer '{0}': write convKxC (e.g. conv3x40), pool or fcN")]
    Syntax(String),
    #[error("the network has no layers")]
    Empty,
    #[error("a layer needs a kernel of at least 1 and at least 1 channel ('{0}')")]
    Zero(String),
    #[error(
        "'{0}' is too large: at most {MAX_KERNEL}x{MAX_KERNEL} kernels, {MAX_CHANNELS} channels, fc{MAX_HIDDEN} and {MAX_LAYERS} layers"
    )]
    TooLarge(String),
    #[error("layer {index} ({label}) receives a {size}x{size} map: too small for it")]
    TooSmall {
        index: usize,
        label: String,
        size: usize,
    },
    #[error(
        "a 31x31 patch ends at {size}x{size}x{depth} after layer {index} ({label}), but the head needs 1x1: {hint}"
    )]
    NotOne {
        index: usize,
        label: String,
        size: usize,
        depth: usize,
        hint: String,
    },
}

impl Layer {
    pub fn label(&self) -> String {
        match self {
            Layer::Conv { kernel, channels } => format!("conv{kernel}x{channels}"),
            Layer::Pool => "pool".into(),
        }
    }
}

impl fmt::Display for Spec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for layer in &self.layers {
            write!(f, "{} ", layer.label())?;
        }
        write!(f, "fc{}", self.hidden)
    }
}

impl Spec {
    /// Parses the text form (`conv4x20 pool ... fc1000`) and checks the network reduces a
    /// 31x31 patch to 1x1. `fcN` is optional (default 1000, as in the posts).
    pub fn parse(name: &str, text: &str) -> Result<Spec, SpecError> {
        let spec = Spec::draft(name, text)?;
        spec.rows()?;
        Ok(spec)
    }

    /// Parses the text form without checking the sizes: a network being edited, whose
    /// [`Spec::table`] shows how far a patch gets.
    pub fn draft(name: &str, text: &str) -> Result<Spec, SpecError> {
        let mut layers = Vec::new();
        let mut hidden = 1000;
        for word in text.split([' ', ',', '\n', '\t']).filter(|w| !w.is_empty()) {
            let w = word.to_ascii_lowercase();
            if w == "pool" {
                layers.push(Layer::Pool);
            } else if let Some(rest) = w.strip_prefix("conv") {
                let (k, c) = rest
                    .split_once('x')
                    .ok_or_else(|| SpecError::Syntax(word.into()))?;
                let kernel = k.parse().map_err(|_| SpecError::Syntax(word.into()))?;
                let channels = c.parse().map_err(|_| SpecError::Syntax(word.into()))?;
                if kernel == 0 || channels == 0 {
                    return Err(SpecError::Zero(word.into()));
                }
                if kernel > MAX_KERNEL || channels > MAX_CHANNELS {
                    return Err(SpecError::TooLarge(word.into()));
                }
                layers.push(Layer::Conv { kernel, channels });
            } else if let Some(n) = w.strip_prefix("fc") {
                hidden = n.parse().map_err(|_| SpecError::Syntax(word.into()))?;
                if hidden == 0 {
                    return Err(SpecError::Zero(word.into()));
                }
                if hidden > MAX_HIDDEN {
                    return Err(SpecError::TooLarge(word.into()));
                }
            } else {
                return Err(SpecError::Syntax(word.into()));
            }
            if layers.len() > MAX_LAYERS {
                return Err(SpecError::TooLarge(format!("{} layers", layers.len())));
            }
        }
        Ok(Spec {
            name: name.into(),
            layers,
            hidden,
        })
    }

    /// A preset by name: `original`, `network1`, `network2`, `network3`, `deepcell`.
    pub fn preset(name: &str) -> Option<Spec> {
        let text = PRESETS.iter().find(|(n, _, _)| *n == name)?.1;
        Some(Spec::parse(name, text).expect("presets are valid"))
    }

    /// A preset by name, else the text form of a network (named "custom").
    pub fn lookup(arch: &str) -> Result<Spec, SpecError> {
        Spec::preset(arch).map_or_else(|| Spec::parse("custom", arch), Ok)
    }

    /// The layer table for a 31x31 input, or where and why the network fails to reach 1x1.
    pub fn rows(&self) -> Result<Vec<LayerRow>, SpecError> {
        let (rows, check) = self.table();
        check.map(|()| rows)
    }

    /// The layer table as far as a 31x31 patch gets, and whether it reaches 1x1 (if not,
    /// where and why it stops).
    pub fn table(&self) -> (Vec<LayerRow>, Result<(), SpecError>) {
        let mut rows = Vec::with_capacity(self.layers.len());
        if self.layers.is_empty() {
            return (rows, Err(SpecError::Empty));
        }
        let (mut size, mut depth, mut dilation) = (PATCH, 1, 1);
        for (i, layer) in self.layers.iter().enumerate() {
            let (field, stride, params) = match *layer {
                Layer::Conv { kernel, channels } => {
                    if kernel > size {
                        let label = layer.label();
                        let index = i + 1;
                        return (rows, Err(SpecError::TooSmall { index, label, size }));
                    }
                    let params = kernel * kernel * depth * channels + channels;
                    size = size - kernel + 1;
                    depth = channels;
                    (kernel, 1, params)
                }
                Layer::Pool => {
                    if size < 2 {
                        let label = layer.label();
                        let index = i + 1;
                        return (rows, Err(SpecError::TooSmall { index, label, size }));
                    }
                    size /= 2;
                    (2, 2, 0)
                }
            };
            rows.push(LayerRow {
                label: layer.label(),
                field,
                stride,
                depth,
                out: size,
                dilation,
                params,
            });
            if *layer == Layer::Pool {
                dilation *= 2;
            }
        }
        if size != 1 {
            let last = rows.last().expect("non-empty");
            let hint = if size > 1 {
                format!("add layers that shrink it by {} more", size - 1)
            } else {
                "remove a layer or use smaller kernels".into()
            };
            let error = SpecError::NotOne {
                index: rows.len(),
                label: last.label.clone(),
                size,
                depth,
                hint,
            };
            return (rows, Err(error));
        }
        (rows, Ok(()))
    }

    /// Channels reaching the head.
    pub fn features(&self) -> usize {
        self.layers
            .iter()
            .rev()
            .find_map(|l| match l {
                Layer::Conv { channels, .. } => Some(*channels),
                Layer::Pool => None,
            })
            .unwrap_or(1)
    }

    /// Trainable parameters, head included.
    pub fn params(&self) -> usize {
        let convs: usize = self
            .rows()
            .map(|r| r.iter().map(|r| r.params).sum())
            .unwrap_or(0);
        convs + self.features() * self.hidden + self.hidden + self.hidden * 3 + 3
    }

    /// Floating-point operations (2 per multiply-add) to classify one isolated 31x31 patch.
    pub fn flops_per_patch(&self) -> u64 {
        let mut total = 0u64;
        let (mut size, mut depth) = (PATCH, 1);
        for layer in &self.layers {
            match *layer {
                Layer::Conv { kernel, channels } => {
                    size = size + 1 - kernel;
                    total += 2 * (kernel * kernel * depth * channels * size * size) as u64;
                    depth = channels;
                }
                Layer::Pool => size /= 2,
            }
        }
        total + self.head_flops()
    }

    /// Floating-point operations per output pixel of the dense twin: every layer runs once at
    /// every pixel, so nothing is recomputed between overlapping patches.
    pub fn flops_per_dense_pixel(&self) -> u64 {
        let mut total = 0u64;
        let mut depth = 1;
        for layer in &self.layers {
            if let Layer::Conv { kernel, channels } = *layer {
                total += 2 * (kernel * kernel * depth * channels) as u64;
                depth = channels;
            }
        }
        total + self.head_flops()
    }

    fn head_flops(&self) -> u64 {
        2 * (self.features() * self.hidden + self.hidden * 3) as u64
    }

    /// Side of the input region that one output depends on. 31 when every pool receives an
    /// even size; less when a pool drops a trailing row (the patch network ignores it too).
    pub fn receptive_field(&self) -> usize {
        let (mut field, mut dilation) = (1, 1);
        for layer in &self.layers {
            match *layer {
                Layer::Conv { kernel, .. } => field += (kernel - 1) * dilation,
                Layer::Pool => {
                    field += dilation;
                    dilation *= 2;
                }
            }
        }
        field
    }

    /// Floats per pixel of the largest buffer the dense twin holds at once (a conv's
    /// unfolded input or the head's hidden layer); sizes tiles to the device's limits.
    pub fn dense_floats_per_pixel(&self) -> usize {
        let mut largest = self.hidden.max(3);
        let mut depth = 1;
        for layer in &self.layers {
            if let Layer::Conv { kernel, channels } = *layer {
                largest = largest.max(kernel * kernel * depth).max(channels);
                depth = channels;
            }
        }
        largest
    }
}

/// The built-in networks: (name, text form, why).
///
/// Post 3 gives only the kernel sizes of its Networks 1–3, not their depths. We give them the
/// original's depth progression (20 → 40 → 80 → 120 → 240 feeding the same 1000-unit head), and
/// Network 2 half of each ("fewer filters per layer", as the post says).
/// DeepCell 2016's bacterial net (`bn_feature_net_31x31`) is reproduced without its batch
/// normalisation layers, which fold into the convolutions at inference time anyway.
pub const PRESETS: [(&str, &str, &str); 5] = [
    (
        "original",
        "conv4x20 pool conv3x40 conv3x80 pool conv3x120 conv3x240 fc1000",
        "Posts 1–2: two pools, two stacked 3x3 convs per stage",
    ),
    (
        "network1",
        "conv4x20 pool conv5x40 conv5x80 pool conv3x240 fc1000",
        "Post 3, Network 1: 5x5 kernels in the middle stage",
    ),
    (
        "network2",
        "conv6x10 pool conv4x20 pool conv3x40 conv3x120 fc1000",
        "Post 3, Network 2: larger early kernels, half the filters",
    ),
    (
        "network3",
        "conv8x20 pool conv3x40 conv3x80 conv3x120 pool conv3x240 fc1000",
        "Post 3, Network 3: one 8x8 kernel, three 3x3 convs before the second pool",
    ),
    (
        "deepcell",
        "conv4x32 pool conv3x64 conv3x64 pool conv3x128 conv3x200 fc200",
        "DeepCell 2016 bacterial net (Van Valen et al.)",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn original_layer_table_matches_the_posts() {
        let spec = Spec::preset("original").unwrap();
        let outs: Vec<_> = spec
            .rows()
            .unwrap()
            .iter()
            .map(|r| (r.out, r.depth, r.dilation))
            .collect();
        assert_eq!(
            outs,
            [
                (28, 20, 1),
                (14, 20, 1),
                (12, 40, 2),
                (10, 80, 2),
                (5, 80, 2),
                (3, 120, 4),
                (1, 240, 4)
            ]
        );
        assert_eq!(spec.receptive_field(), 31);
        assert_eq!(spec.features(), 240);
        // 340 + 7240 + 28880 + 86520 + 259440 convs, 241000 + 3003 head.
        assert_eq!(spec.params(), 626_423);
    }

    #[test]
    fn every_preset_reduces_a_patch_to_one_pixel() {
        for (name, _, _) in PRESETS {
            let spec = Spec::preset(name).unwrap();
            assert_eq!(spec.rows().unwrap().last().unwrap().out, 1, "{name}");
            assert!(
                spec.flops_per_patch() > spec.flops_per_dense_pixel(),
                "{name}"
            );
        }
    }

    #[test]
    fn text_form_round_trips() {
        let spec = Spec::preset("network3").unwrap();
        assert_eq!(Spec::parse("network3", &spec.to_string()).unwrap(), spec);
    }

    #[test]
    fn a_network_that_stops_short_says_where() {
        let err = Spec::parse("x", "conv4x20 pool conv3x40 conv3x80 pool conv3x120").unwrap_err();
        assert_eq!(
            err.to_string(),
            "a 31x31 patch ends at 3x3x120 after layer 6 (conv3x120), but the head needs 1x1: \
             add layers that shrink it by 2 more"
        );
    }

    #[test]
    fn a_draft_shows_its_table_up_to_where_it_fails() {
        let spec = Spec::draft("edit", "conv4x20 pool conv3x40 conv3x80").unwrap();
        let (rows, check) = spec.table();
        assert_eq!(
            rows.iter().map(|r| r.out).collect::<Vec<_>>(),
            [28, 14, 12, 10]
        );
        assert!(matches!(check, Err(SpecError::NotOne { size: 10, .. })));
        let (rows, check) = Spec::draft("edit", "conv20x8 conv20x8").unwrap().table();
        assert_eq!(rows.len(), 1);
        assert!(matches!(
            check,
            Err(SpecError::TooSmall {
                index: 2,
                size: 12,
                ..
            })
        ));
        assert!(
            Spec::draft("edit", "conv3x").is_err(),
            "syntax is still checked"
        );
        for huge in ["conv3x30000", "conv40x8", "conv4x20 fc100000000"] {
            assert!(
                matches!(Spec::draft("edit", huge), Err(SpecError::TooLarge(_))),
                "{huge}"
            );
        }
    }

    #[test]
    fn a_kernel_larger_than_its_input_is_refused() {
        let err = Spec::parse("x", "conv4x20 pool conv3x40 conv3x80 pool conv7x120").unwrap_err();
        assert!(
            matches!(
                err,
                SpecError::TooSmall {
                    index: 6,
                    size: 5,
                    ..
                }
            ),
            "{err}"
        );
        assert!(matches!(
            Spec::parse("x", "conv3y4"),
            Err(SpecError::Syntax(_))
        ));
        assert!(matches!(Spec::parse("x", "fc100"), Err(SpecError::Empty)));
    }

    #[test]
    fn odd_pool_inputs_shrink_the_receptive_field() {
        // 31 -> 29 -> 14 (a row dropped) -> 12 -> 6 -> 4 -> 1: fine for the patch net, field 30.
        let spec = Spec::parse("x", "conv3x4 pool conv3x4 pool conv3x4 conv4x4").unwrap();
        assert_eq!(spec.rows().unwrap().last().unwrap().out, 1);
        assert_eq!(spec.receptive_field(), 30);
    }
}
