//! Saving and loading trained networks.
//!
//! A weights file is a short text header naming the architecture, then burn's record of the
//! parameters (burnpack):
//!
//! ```text
//! cellseg weights 1
//! name: original
//! spec: conv4x20 pool conv3x40 conv3x80 pool conv3x120 conv3x240 fc1000
//!
//! <burnpack bytes>
//! ```
//!
//! The header lets a loader build the right network before reading the parameters, and say
//! clearly when a file belongs to another architecture. The U-Net beyond the posts
//! ([`crate::model::unet`]) is stored the same way, named `unet` with its levels' channels as its
//! spec (`unet 16,32,64,128`); [`model_from_bytes`] loads either kind.
//!
//! Parameters are stored as f32 or, to halve downloads, f16 (burnpack records each tensor's
//! type); loading always gives an f32 network, so inference and training never see f16.

use burn::module::{Module, ModuleMapper, Param};
use burn::store::ModuleRecord;
use burn::tensor::{Bytes, DType, Device, Tensor};

use crate::model::Model;
use crate::model::network::Network;
use crate::model::spec::{Spec, SpecError};
use crate::model::unet::{UNet, WIDTHS};

const MAGIC: &str = "cellseg weights 1\n";

#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    #[error("not a cellseg weights file")]
    NotWeights,
    #[error("the weights file's header is damaged: {0}")]
    Header(String),
    #[error("the weights file names an invalid network: {0}")]
    Spec(#[from] SpecError),
    #[error(
        "these weights are for network '{found_name}' ({found}), not '{wanted_name}' ({wanted})"
    )]
    Mismatch {
        found_name: String,
        found: String,
        wanted_name: String,
        wanted: String,
    },
    #[error("the weights file is damaged: {0}")]
    Record(String),
    #[error("these weights are for the U-Net ({0}), not for one of the posts' patch networks")]
    UNet(String),
    #[error("these weights are for a U-Net of other widths ({found}; this cellseg has {wanted})")]
    UNetWidths { found: String, wanted: String },
}

/// The name a U-Net's weights file gives.
pub const UNET_NAME: &str = "unet";

/// The spec line of this cellseg's U-Net.
pub fn unet_spec() -> String {
    let widths: Vec<String> = WIDTHS.iter().map(|w| w.to_string()).collect();
    format!("{UNET_NAME} {}", widths.join(","))
}

/// How the parameters are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precision {
    F32,
    /// Half the size. f16 keeps 11 significant bits, far finer than the spread of trained
    /// weights; the pretrained networks' model card measures what it changes.
    F16,
}

/// Casts every float parameter, for saving in another precision.
struct CastTo(DType);

impl ModuleMapper for CastTo {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let dtype = self.0;
        param.map(|t| t.cast(dtype))
    }
}

/// Serialises a network in f32. Reads weights back synchronously: call it on a CPU copy
/// (see [`Network::copy_to`]) when the network lives on WebGPU in a browser.
pub fn to_bytes(net: &Network) -> Result<Vec<u8>, WeightsError> {
    to_bytes_as(net, Precision::F32)
}

/// Serialises a network with its parameters stored in `precision`.
pub fn to_bytes_as(net: &Network, precision: Precision) -> Result<Vec<u8>, WeightsError> {
    with_header(
        &net.spec.name,
        &net.spec.to_string(),
        net.clone(),
        precision,
    )
}

/// Serialises a model of either kind (see [`to_bytes_as`]).
pub fn model_to_bytes(model: &Model, precision: Precision) -> Result<Vec<u8>, WeightsError> {
    match model {
        Model::Patch(net) => to_bytes_as(net, precision),
        Model::UNet(net) => with_header(UNET_NAME, &unet_spec(), net.clone(), precision),
    }
}

fn with_header<M: Module>(
    name: &str,
    spec: &str,
    module: M,
    precision: Precision,
) -> Result<Vec<u8>, WeightsError> {
    let stored = match precision {
        Precision::F32 => module,
        Precision::F16 => module.map(&mut CastTo(DType::F16)),
    };
    let record = stored
        .into_record()
        .into_bytes()
        .map_err(|e| WeightsError::Record(e.to_string()))?;
    let mut out = format!("{MAGIC}name: {name}\nspec: {spec}\n\n").into_bytes();
    out.extend_from_slice(&record);
    Ok(out)
}

/// Reads the architecture a weights file was saved from, without loading the weights.
pub fn read_spec(bytes: &[u8]) -> Result<(Spec, usize), WeightsError> {
    let (name, text, offset) = read_header(bytes)?;
    if name == UNET_NAME {
        return Err(WeightsError::UNet(text));
    }
    Ok((Spec::parse(&name, &text)?, offset))
}

/// The header's name and spec, and where the parameters start.
fn read_header(bytes: &[u8]) -> Result<(String, String, usize), WeightsError> {
    let rest = bytes
        .strip_prefix(MAGIC.as_bytes())
        .ok_or(WeightsError::NotWeights)?;
    let end = rest
        .windows(2)
        .position(|w| w == b"\n\n")
        .ok_or_else(|| WeightsError::Header("no end of header".into()))?;
    let header =
        std::str::from_utf8(&rest[..end]).map_err(|_| WeightsError::Header("not text".into()))?;
    let (mut name, mut text) = (None, None);
    for line in header.lines() {
        match line.split_once(": ") {
            Some(("name", v)) => name = Some(v),
            Some(("spec", v)) => text = Some(v),
            _ => return Err(WeightsError::Header(format!("unexpected line '{line}'"))),
        }
    }
    let (name, text) = name
        .zip(text)
        .ok_or_else(|| WeightsError::Header("name or spec missing".into()))?;
    Ok((name.to_string(), text.to_string(), MAGIC.len() + end + 2))
}

/// Loads a model of either kind onto `device`.
pub fn model_from_bytes(bytes: &[u8], device: &Device) -> Result<Model, WeightsError> {
    let (name, text, offset) = read_header(bytes)?;
    if name != UNET_NAME {
        return from_bytes(bytes, None, device).map(Model::Patch);
    }
    if text != unet_spec() {
        return Err(WeightsError::UNetWidths {
            found: text,
            wanted: unet_spec(),
        });
    }
    UNet::new(0, device)
        .try_load_record(record_at(bytes, offset)?)
        .map(Model::UNet)
        .map_err(|e| WeightsError::Record(e.to_string()))
}

fn record_at(bytes: &[u8], offset: usize) -> Result<ModuleRecord, WeightsError> {
    Ok(
        ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes[offset..].to_vec()))
            .map_err(|e| WeightsError::Record(e.to_string()))?
            .cast_to_module_dtype(),
    )
}

/// Loads a network onto `device`. With `expected`, a file of another architecture is refused
/// with a message naming both.
pub fn from_bytes(
    bytes: &[u8],
    expected: Option<&Spec>,
    device: &Device,
) -> Result<Network, WeightsError> {
    let (spec, offset) = read_spec(bytes)?;
    if let Some(want) = expected
        && (&want.layers, want.hidden) != (&spec.layers, spec.hidden)
    {
        return Err(WeightsError::Mismatch {
            found_name: spec.name.clone(),
            found: spec.to_string(),
            wanted_name: want.name.clone(),
            wanted: want.to_string(),
        });
    }
    Network::new(&spec, 0, device)
        .try_load_record(record_at(bytes, offset)?)
        .map_err(|e| WeightsError::Record(e.to_string()))
}
