//! The networks that make probability maps, of either kind: the posts' patch networks (run
//! densely through their dilated twin, or patch by patch) and the U-Net beyond the posts.
//! Everything after the map (averaging, clean-up, cells, metrics) takes either.

pub mod backend;
pub mod dense;
pub mod dense_cpu;
pub mod naive;
pub mod network;
pub mod spec;
pub mod unet;
pub mod unet_cpu;
pub mod weights;

use crate::core::plane::{Plane, Rect};
use crate::core::probability::ProbabilityMap;
use crate::model::backend::Backend;
use crate::model::dense::segment;
use crate::model::naive::segment_naive;
use crate::model::network::Network;
use crate::model::unet::UNet;

/// How a map is made: densely (the dilated twin), or patch by patch in batches of a size
/// (post 4's slow way, to compare against).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    Dense,
    PatchByPatch(usize),
}

/// A network that labels every pixel.
#[derive(Clone, Debug)]
pub enum Model {
    /// One of the posts' patch networks.
    Patch(Network),
    /// The U-Net ([`crate::model::unet`]).
    UNet(UNet),
}

impl From<Network> for Model {
    fn from(net: Network) -> Model {
        Model::Patch(net)
    }
}

impl From<UNet> for Model {
    fn from(net: UNet) -> Model {
        Model::UNet(net)
    }
}

impl Model {
    /// The architecture's name ("original", "unet", ...).
    pub fn name(&self) -> &str {
        match self {
            Model::Patch(net) => &net.spec.name,
            Model::UNet(_) => crate::model::weights::UNET_NAME,
        }
    }

    /// Class probabilities for `rect` of a normalised plane. `path` chooses how a patch
    /// network runs; the U-Net has only one way (it is dense by design).
    pub async fn map(
        &self,
        plane: &Plane,
        rect: Rect,
        backend: &Backend,
        path: Path,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<ProbabilityMap, String> {
        let (device, max_buffer) = (&backend.device, backend.max_buffer);
        match (self, path) {
            (Model::Patch(net), Path::Dense) => {
                segment(net, plane, rect, max_buffer, device, progress).await
            }
            (Model::Patch(net), Path::PatchByPatch(batch)) => {
                segment_naive(net, plane, rect, batch, device, progress).await
            }
            (Model::UNet(net), _) => {
                crate::model::unet::segment(net, plane, rect, max_buffer, device, progress).await
            }
        }
    }
}
