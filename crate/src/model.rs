//! The networks that make probability maps, of either kind: the posts' patch networks (run
//! densely through their dilated twin, or patch by patch) and the U-Net beyond the posts.
//! Everything after the map (averaging, clean-up, cells, metrics) takes either.

use crate::backend::Backend;
use crate::dense::{ProbabilityMap, segment};
use crate::naive::segment_naive;
use crate::network::Network;
use crate::pipeline::Path;
use crate::plane::{Plane, Rect};
use crate::unet::UNet;

/// A network that labels every pixel.
#[derive(Clone, Debug)]
pub enum Model {
    /// One of the posts' patch networks.
    Patch(Network),
    /// The U-Net ([`crate::unet`]).
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
            Model::UNet(_) => crate::weights::UNET_NAME,
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
                crate::unet::segment(net, plane, rect, max_buffer, device, progress).await
            }
        }
    }
}
