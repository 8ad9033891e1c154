//! What a session in the page holds, in one place: the loaded image and the plane the
//! networks see, its labels and paint, the networks, the training run in progress and the
//! last result. `web` keeps one behind the wasm API; everything that depends on the image
//! is reset in one place ([`Session::replace_image`]), and [`Session::status`] is the
//! snapshot the worker attaches to its replies.

use std::rc::Rc;

use serde::Serialize;

use crate::batch::Archive;
use crate::core::cells::Cells;
use crate::core::plane::{Plane, Rect};
use crate::core::probability::ProbabilityMap;
use crate::io::display::FileUnits;
use crate::io::labels::ClassMap;
use crate::model::Model;
use crate::model::backend::Backend;
use crate::model::network::Network;
use crate::pipeline;
use crate::scale::auto_scale::{Doubted, ScaleSearch};
use crate::train::Trainer;
use crate::train::comparison::Comparison;

pub struct Session {
    pub backend: Backend,
    /// Set while an async job runs; other calls are refused until it ends.
    pub busy: bool,
    pub image: Option<Rc<Plane>>,
    pub labels: Option<ClassMap>,
    /// The network being trained (or loaded from a file).
    pub network: Network,
    /// The run training `network`. Fine-tuning samples the image as the networks see it at
    /// the scale of the day, so a new image, scale, labels, paint or network ends it; the
    /// worker starts the next run afresh when none is left, or when this one learns from
    /// something else or with another seed than asked ([`RunStatus`]).
    pub trainer: Option<Run>,
    /// Architectures in training side by side (post 3), apart from the network above.
    pub comparison: Option<Comparison>,
    /// Networks loaded to segment with instead, their maps averaged (the pretrained ones).
    pub ensemble: Vec<Model>,
    /// The pretrained patch networks fine-tuning on painted strokes starts from (the page's
    /// default network, the U-Net, is not trained in the page).
    pub fine_tune_starts: Vec<Network>,
    /// The last dense segmentation, kept so the clean-up can be redone without the networks.
    pub last_map: Option<ProbabilityMap>,
    /// The scale `last_map` was made at: its clean-up follows that one, whatever the scale
    /// is set to since.
    pub map_scale: f64,
    /// The last clean-up of it, and the median-filtered p(cell) it worked on, for export.
    pub last_cells: Option<(Cells, Vec<f32>)>,
    /// The cells the networks found in it before the image's check dropped those it does not
    /// bear out ([`crate::pipeline::borne_out`]), and what the image's checks doubt about the
    /// cells kept ([`crate::pipeline::doubts`]): what the scale search falls back on where the check
    /// dropped nearly all ([`crate::scale::auto_scale::ScaleSearch::check_found`]); with how far
    /// the image's edges rise around the cells kept ([`crate::pipeline::edges_around`]).
    pub last_found: Option<(Cells, Doubted, Option<f64>)>,
    /// The crop `last_map` covers, in image pixels.
    pub last_rect: Option<Rect>,
    /// The sureness bar of the networks `last_map` came from ([`crate::post::sure::bar`]).
    pub map_sure_bar: f64,
    /// A map being filled part by part (`beginMap`, `segmentPart`, `finishMap`), and the
    /// sureness bar of the networks that filled it (none before the first part; the strictest
    /// where parts came from networks of different bars, as for a mix).
    pub pending: Option<(Rect, ProbabilityMap, Option<f64>)>,
    /// The image's values in file units and the range to show them in, for the display window.
    pub units: Option<(FileUnits, (f64, f64))>,
    /// Resampling factor to the tutorial's scale ([`Session::set_scale`]).
    scale: f64,
    /// The image as the networks see it: resampled by `scale`, smoothed where it is noisier
    /// than they learned (none where that is the image itself).
    scaled: Option<Rc<Plane>>,
    /// The blur that smoothing used, σ in the networks' pixels ([`pipeline::networks_view`]).
    blur: Option<f32>,
    /// The blur the last map was made with (as `map_scale` is its scale).
    pub map_blur: Option<f32>,
    /// Labels painted on this image (unpainted pixels UNLABELLED), for fine-tuning.
    pub paint: Option<ClassMap>,
    /// A run over many files (`batchBegin`, `batchFile`, `batchFinish`): its zip so far.
    pub batch: Option<Archive>,
    /// The automatic scale while the cells found still check it; a scale set by hand, or a
    /// fine-tune on paint made at this scale, ends it.
    pub auto_scale: Option<ScaleSearch>,
}

/// What a training run learns from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum LearnsFrom {
    /// The image's labels, the left two thirds (chapter 2).
    Labels,
    /// The strokes painted on it (fine-tuning a network to one's own images).
    Paint,
}

/// A training run and what it was started on.
pub struct Run {
    pub trainer: Trainer,
    pub learns_from: LearnsFrom,
    /// The seed it draws its patches with.
    pub seed: u64,
}

/// What the page knows of a training run: enough to tell whether to go on with it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunStatus {
    pub learns_from: LearnsFrom,
    pub seed: u64,
}

/// What the page shows of a session, after every call that changes it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// The image's size, if one is loaded.
    pub image: Option<(usize, usize)>,
    /// The size the networks see it at (resampled to the scale).
    pub networks_see: Option<(usize, usize)>,
    /// The blur (σ in the networks' pixels) their view is smoothed with at this scale, where
    /// the image is noisier than they learned.
    pub blur: Option<f32>,
    pub scale: f64,
    /// Whether the automatic scale is still being checked by the cells found.
    pub checking_scale: bool,
    pub labelled: bool,
    pub painted: bool,
    /// The training run ready to take more steps, if any.
    pub trainer: Option<RunStatus>,
    /// Whether a map (and cells of it) can be cleaned up and exported.
    pub map: bool,
    pub cells: bool,
    /// Pretrained networks loaded to segment with.
    pub ensemble: usize,
}

impl Session {
    /// An empty session on `backend`, training `network`.
    pub fn new(backend: Backend, network: Network) -> Session {
        Session {
            backend,
            busy: false,
            image: None,
            labels: None,
            network,
            trainer: None,
            comparison: None,
            ensemble: Vec::new(),
            fine_tune_starts: Vec::new(),
            last_map: None,
            map_scale: 1.0,
            last_cells: None,
            last_found: None,
            last_rect: None,
            map_sure_bar: crate::post::sure::BAR,
            pending: None,
            units: None,
            scale: 1.0,
            scaled: None,
            blur: None,
            map_blur: None,
            paint: None,
            batch: None,
            auto_scale: None,
        }
    }

    /// Replaces the image: what was made for the one before (labels, paint, training runs,
    /// maps, cells, the automatic scale's checks) goes with it; the scale stays, applied to
    /// the new image.
    pub fn replace_image(
        &mut self,
        plane: Plane,
        labels: Option<ClassMap>,
        units: Option<(FileUnits, (f64, f64))>,
    ) {
        self.image = Some(Rc::new(plane));
        self.labels = labels;
        self.units = units;
        self.paint = None;
        self.set_scale(self.scale);
        self.auto_scale = None;
        self.trainer = None;
        self.comparison = None;
        self.last_map = None;
        self.last_cells = None;
        self.last_found = None;
        self.last_rect = None;
        self.pending = None;
    }

    /// Sets the scale and prepares the image for the networks as the CLI does
    /// ([`pipeline::networks_view`]: resampled, and smoothed where noisier than they learned).
    /// A training run may have sampled the plane before, so it ends.
    pub fn set_scale(&mut self, factor: f64) {
        self.scale = factor;
        let (seen, blur) = match &self.image {
            Some(image) => pipeline::networks_view(image, factor),
            None => (None, None),
        };
        self.scaled = seen.map(Rc::new);
        self.blur = blur;
        self.trainer = None;
    }

    /// The blur (σ in the networks' pixels) the networks' view is smoothed with at this scale,
    /// where the image is noisier than they learned.
    pub fn blur(&self) -> Option<f32> {
        self.blur
    }

    /// The resampling factor the networks see the image at.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// The image as the networks see it: resampled to the tutorial's scale if asked, smoothed
    /// where it is noisier than they learned.
    pub fn networks_plane(&self) -> Option<Rc<Plane>> {
        self.scaled.clone().or_else(|| self.image.clone())
    }

    /// The networks to segment with: the pretrained ones (`ensemble`; with the network in
    /// training too when `with_trained`), or the network in training alone.
    pub fn segmenting(&self, ensemble: bool, with_trained: bool) -> Result<Vec<Model>, String> {
        let trained = Model::Patch(self.network.clone());
        if !ensemble {
            return Ok(vec![trained]);
        }
        if self.ensemble.is_empty() {
            return Err("no pretrained networks loaded".into());
        }
        let mut networks = self.ensemble.clone();
        if with_trained {
            networks.push(trained);
        }
        Ok(networks)
    }

    /// The snapshot the page applies after each call.
    pub fn status(&self) -> Status {
        let size = |p: &Rc<Plane>| (p.width, p.height);
        Status {
            image: self.image.as_ref().map(size),
            networks_see: self.networks_plane().as_ref().map(size),
            blur: self.blur,
            scale: self.scale,
            checking_scale: self.auto_scale.as_ref().is_some_and(|s| !s.settled()),
            labelled: self.labels.is_some(),
            painted: self.paint.is_some(),
            trainer: self.trainer.as_ref().map(|run| RunStatus {
                learns_from: run.learns_from,
                seed: run.seed,
            }),
            map: self.last_map.is_some(),
            cells: self.last_cells.is_some(),
            ensemble: self.ensemble.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::spec::Spec;
    use crate::teach::colony::colony;
    use crate::train::{TrainConfig, heldout_split};

    fn session() -> Session {
        let backend = Backend::cpu();
        let network = Network::new(&Spec::preset("network3").unwrap(), 1, &backend.device);
        Session::new(backend, network)
    }

    /// A session with a colony, its labels and paint, a trainer, a map, cells and an
    /// automatic scale being checked: everything that depends on the image.
    fn loaded() -> Session {
        let mut s = session();
        let (plane, labels) = colony(96, 80, 3);
        s.replace_image(plane, Some(labels.clone()), None);
        s.set_scale(0.5);
        let seen = s.networks_plane().unwrap();
        let (train, heldout) = heldout_split(seen.width, seen.height);
        let at_scale = labels.paint_resized(seen.width, seen.height);
        s.trainer = Some(Run {
            trainer: Trainer::new(
                s.network.clone(),
                &seen,
                &at_scale,
                train,
                heldout,
                TrainConfig::default(),
                &s.backend.device,
            )
            .unwrap(),
            learns_from: LearnsFrom::Labels,
            seed: 1,
        });
        s.paint = Some(labels);
        s.last_map = Some(ProbabilityMap::new(96, 80));
        s.last_cells = Some((Cells::from_labels(vec![0; 96 * 80], 96, 80, 1), Vec::new()));
        s.last_rect = Some(Rect::new(0, 0, 96, 80));
        s.auto_scale = Some(ScaleSearch::from(0.5, "given".into()));
        s
    }

    #[test]
    fn a_new_image_resets_all_that_depended_on_the_old_one_and_keeps_the_scale() {
        let mut s = loaded();
        let before = s.status();
        assert!(before.labelled && before.painted && before.map);
        assert_eq!(
            before.trainer,
            Some(RunStatus {
                learns_from: LearnsFrom::Labels,
                seed: 1
            })
        );
        assert!(before.cells && before.checking_scale);
        let (plane, _) = colony(64, 48, 9);
        s.replace_image(plane, None, None);
        let after = s.status();
        assert_eq!(
            after,
            Status {
                image: Some((64, 48)),
                networks_see: Some((32, 24)),
                blur: None,
                scale: 0.5,
                checking_scale: false,
                labelled: false,
                painted: false,
                trainer: None,
                map: false,
                cells: false,
                ensemble: 0,
            }
        );
        assert!(s.last_rect.is_none() && s.pending.is_none() && s.comparison.is_none());
    }

    #[test]
    fn the_networks_see_the_image_resampled_and_a_new_scale_ends_the_training_run() {
        let mut s = loaded();
        assert_eq!(s.status().networks_see, Some((48, 40)));
        s.set_scale(1.0);
        // at 1 the networks see the image itself, not a copy
        assert!(Rc::ptr_eq(
            &s.networks_plane().unwrap(),
            s.image.as_ref().unwrap()
        ));
        assert_eq!(s.status().blur, None);
        assert!(
            s.status().trainer.is_none(),
            "the run sampled the plane at ×0.5"
        );
        s.set_scale(2.0);
        assert_eq!(s.status().networks_see, Some((192, 160)));
        // stripes with noise a tenth of their range, more than the networks learned: at 1
        // they see them smoothed, as the CLI's networks do (io::denoise), at their own size
        let mut state = 3u64;
        let stripes = (0..96 * 80)
            .map(|i| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let noise = ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.6;
                ((i % 96) / 12 % 2) as f32 + noise
            })
            .collect();
        s.replace_image(Plane::new(96, 80, stripes), None, None);
        s.set_scale(1.0);
        let status = s.status();
        assert_eq!(status.networks_see, Some((96, 80)));
        assert!(status.blur.is_some(), "{status:?}");
    }

    #[test]
    fn segmenting_uses_the_pretrained_networks_or_the_one_in_training() {
        let mut s = session();
        assert_eq!(s.segmenting(false, false).unwrap().len(), 1);
        assert!(
            s.segmenting(true, false)
                .unwrap_err()
                .contains("no pretrained")
        );
        s.ensemble = vec![Model::Patch(s.network.clone()); 3];
        assert_eq!(s.segmenting(true, false).unwrap().len(), 3);
        assert_eq!(s.segmenting(true, true).unwrap().len(), 4);
        assert_eq!(s.status().ensemble, 3);
    }
}
