//! The wasm-bindgen surface: a thin layer that keeps the library's state between calls from
//! the Web Worker (www/worker.js) and converts to and from JavaScript types.
//!
//! Every method returning a Promise runs one job. The worker sends one request at a time; if a
//! second call arrives anyway, the busy flag answers it with an error rather than a panic.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Float32Array, Function, Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::backend::Backend;
use crate::dense::segment;
use crate::labels::ClassMap;
use crate::naive::segment_naive;
use crate::network::Network;
use crate::patch::Augment;
use crate::plane::{Plane, Rect};
use crate::spec::{PRESETS, Spec};
use crate::train::{TrainConfig, Trainer, heldout_split};
use crate::{decode, weights};

#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

struct State {
    backend: Backend,
    /// Set while an async job runs; other calls are refused until it ends.
    busy: bool,
    image: Option<Rc<Plane>>,
    labels: Option<ClassMap>,
    network: Network,
    trainer: Option<Trainer>,
}

/// The worker's handle on everything loaded: backend, image, labels, network, trainer.
#[wasm_bindgen]
pub struct Engine {
    state: Rc<RefCell<State>>,
}

fn err(message: impl std::fmt::Display) -> JsValue {
    JsError::new(&message.to_string()).into()
}

/// A preset by name, or a network in text form (`conv4x20 pool ... fc1000`).
fn spec_of(arch: &str) -> Result<Spec, JsValue> {
    Spec::lookup(arch).map_err(err)
}

/// The crop `x..x+width`, `y..y+height`.
fn crop(x: u32, y: u32, width: u32, height: u32) -> Rect {
    let (x, y) = (x as usize, y as usize);
    Rect::new(x, y, x + width as usize, y + height as usize)
}

/// Forwards `(done, total)` to a JavaScript callback.
fn reporter(progress: Function) -> impl FnMut(usize, usize) {
    move |done, total| {
        let _ = progress.call2(
            &JsValue::NULL,
            &(done as u32).into(),
            &(total as u32).into(),
        );
    }
}

/// Largest training batch the page may ask for.
const MAX_BATCH: u32 = 4096;

impl Engine {
    fn with<T>(&self, f: impl FnOnce(&mut State) -> Result<T, JsValue>) -> Result<T, JsValue> {
        let mut state = self.state.borrow_mut();
        if state.busy {
            return Err(err("busy: another job is running"));
        }
        f(&mut state)
    }

    /// Runs an async job. The job borrows the state only between awaits (never across one),
    /// and the busy flag refuses other calls until it ends.
    fn job<F, Fut>(&self, f: F) -> Promise
    where
        F: FnOnce(Rc<RefCell<State>>) -> Fut + 'static,
        Fut: std::future::Future<Output = Result<JsValue, JsValue>> + 'static,
    {
        let state = self.state.clone();
        future_to_promise(async move {
            if std::mem::replace(&mut state.borrow_mut().busy, true) {
                return Err(err("busy: another job is running"));
            }
            let result = f(state.clone()).await;
            state.borrow_mut().busy = false;
            result
        })
    }

    /// The image and the network, cloned cheaply out of the state for a job.
    fn inputs(state: &Rc<RefCell<State>>) -> Result<(Rc<Plane>, Network, Backend), JsValue> {
        let s = state.borrow();
        let image = s.image.clone().ok_or_else(|| err("no image loaded"))?;
        Ok((image, s.network.clone(), s.backend.clone()))
    }
}

#[wasm_bindgen]
impl Engine {
    /// Starts on `backend` ("webgpu" or "cpu") with a fresh original network.
    pub async fn create(backend: String) -> Result<Engine, JsValue> {
        let backend = match backend.as_str() {
            "webgpu" => Backend::gpu().await.map_err(err)?,
            "cpu" => Backend::cpu(),
            other => return Err(err(format!("unknown backend '{other}' (webgpu or cpu)"))),
        };
        let network = Network::new(
            &Spec::preset("original").expect("preset"),
            1,
            &backend.device,
        );
        let state = State {
            backend,
            busy: false,
            image: None,
            labels: None,
            network,
            trainer: None,
        };
        Ok(Engine {
            state: Rc::new(RefCell::new(state)),
        })
    }

    /// "webgpu" or "cpu".
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.state.borrow().backend.name().into()
    }

    /// The adapter's description.
    #[wasm_bindgen(getter)]
    pub fn adapter(&self) -> String {
        self.state.borrow().backend.adapter.clone()
    }

    /// Whether a training run is prepared (it is dropped when the image, labels or network
    /// change).
    #[wasm_bindgen(getter, js_name = hasTrainer)]
    pub fn has_trainer(&self) -> bool {
        self.state.borrow().trainer.is_some()
    }

    /// Presets as [name, text form, description, parameter count] arrays.
    pub fn presets() -> js_sys::Array {
        PRESETS
            .iter()
            .map(|(n, t, d)| {
                let params = Spec::preset(n).expect("preset").params() as f64;
                js_sys::Array::of4(&(*n).into(), &(*t).into(), &(*d).into(), &params.into())
            })
            .collect()
    }

    /// Decodes and normalises an image file; returns `[width, height, x]`, columns from `x`
    /// on being held out from training. Replaces the image (and drops its labels and
    /// trainer) only if decoding succeeds.
    #[wasm_bindgen(js_name = loadImage)]
    pub fn load_image(&self, bytes: &[u8]) -> Result<Vec<u32>, JsValue> {
        let (plane, _) = decode::decode_normalised(bytes).map_err(err)?;
        self.with(|s| {
            let (train, _) = heldout_split(plane.width, plane.height);
            let size = vec![plane.width as u32, plane.height as u32, train.x1 as u32];
            // Labels belong to the image they were drawn on, whatever its size.
            s.labels = None;
            s.image = Some(Rc::new(plane));
            s.trainer = None;
            Ok(size)
        })
    }

    /// The normalised image as RGBA bytes for an ImageData (1st–99th percentile → 0–255).
    #[wasm_bindgen(js_name = imageRgba)]
    pub fn image_rgba(&self) -> Result<Vec<u8>, JsValue> {
        self.with(|s| {
            let plane = s.image.as_ref().ok_or_else(|| err("no image loaded"))?;
            Ok(plane
                .data
                .iter()
                .flat_map(|v| {
                    let g = (v.clamp(0.0, 1.0) * 255.0).round() as u8;
                    [g, g, g, 255]
                })
                .collect())
        })
    }

    /// Labels from a class PNG (0 other, 1 cell, 2 edge); returns pixels per class.
    #[wasm_bindgen(js_name = loadClassLabels)]
    pub fn load_class_labels(&self, bytes: &[u8]) -> Result<Vec<u32>, JsValue> {
        let labels = ClassMap::from_class_image(bytes).map_err(err)?;
        self.set_labels(labels)
    }

    /// Labels from the tutorial's three .npy masks; returns pixels per class.
    #[wasm_bindgen(js_name = loadNpyLabels)]
    pub fn load_npy_labels(
        &self,
        cells: &[u8],
        edges: &[u8],
        other: &[u8],
    ) -> Result<Vec<u32>, JsValue> {
        let labels = ClassMap::from_npy_masks(cells, edges, other).map_err(err)?;
        self.set_labels(labels)
    }

    fn set_labels(&self, labels: ClassMap) -> Result<Vec<u32>, JsValue> {
        self.with(|s| {
            let image = s
                .image
                .as_ref()
                .ok_or_else(|| err("load the image before its labels"))?;
            labels.check_size(image.width, image.height).map_err(err)?;
            let counts = labels.counts().iter().map(|&c| c as u32).collect();
            s.labels = Some(labels);
            s.trainer = None;
            Ok(counts)
        })
    }

    /// Replaces the network by a fresh one: `arch` is a preset name or a text form.
    #[wasm_bindgen(js_name = newNetwork)]
    pub fn new_network(&self, arch: &str, seed: u32) -> Result<String, JsValue> {
        let spec = spec_of(arch)?;
        self.with(|s| {
            s.network = Network::new(&spec, seed as u64, &s.backend.device);
            s.trainer = None;
            Ok(spec.to_string())
        })
    }

    /// Prepares training of the current network on the left two thirds of the labelled image.
    #[wasm_bindgen(js_name = startTraining)]
    pub fn start_training(
        &self,
        learning_rate: f64,
        batch: u32,
        seed: u32,
        augment: bool,
    ) -> Result<(), JsValue> {
        self.with(|s| {
            let image = s.image.as_ref().ok_or_else(|| err("no image loaded"))?;
            let labels = s
                .labels
                .as_ref()
                .ok_or_else(|| err("training needs labels for the image"))?;
            let config = TrainConfig {
                learning_rate,
                batch: batch.clamp(1, MAX_BATCH) as usize,
                seed: seed as u64,
                augment: Augment {
                    flips: augment,
                    rotations: augment,
                },
                ..TrainConfig::default()
            };
            let (train, heldout) = heldout_split(image.width, image.height);
            let net = s.network.clone();
            s.trainer = Some(
                Trainer::new(
                    net,
                    image,
                    labels,
                    train,
                    heldout,
                    config,
                    &s.backend.device,
                )
                .map_err(err)?,
            );
            Ok(())
        })
    }

    /// Changes learning rate, batch size and augmentation of the prepared run, keeping its
    /// optimizer state.
    #[wasm_bindgen(js_name = adjustTraining)]
    pub fn adjust_training(
        &self,
        learning_rate: f64,
        batch: u32,
        augment: bool,
    ) -> Result<(), JsValue> {
        self.with(|s| {
            let trainer = s
                .trainer
                .as_mut()
                .ok_or_else(|| err("training was not started"))?;
            let augment = Augment {
                flips: augment,
                rotations: augment,
            };
            trainer.adjust(learning_rate, batch.clamp(1, MAX_BATCH) as usize, augment);
            Ok(())
        })
    }

    /// Runs `steps` Adam steps; resolves to a Float32Array of (step, loss, batch mistakes)
    /// triples.
    #[wasm_bindgen(js_name = trainSteps)]
    pub fn train_steps(&self, steps: u32) -> Promise {
        self.job(move |state| async move {
            let (image, _, _) = Engine::inputs(&state)?;
            let mut trainer = state
                .borrow_mut()
                .trainer
                .take()
                .ok_or_else(|| err("training was not started"))?;
            let mut out = Vec::with_capacity(3 * steps as usize);
            let mut result = Ok(());
            for _ in 0..steps {
                match trainer.step(&image).await {
                    Ok(r) => out.extend([r.step as f32, r.loss, r.batch_mistakes]),
                    Err(e) => {
                        result = Err(err(e));
                        break;
                    }
                }
            }
            let mut s = state.borrow_mut();
            s.network = trainer.network();
            s.trainer = Some(trainer);
            result.map(|_| Float32Array::from(out.as_slice()).into())
        })
    }

    /// Mistake rate (0..1) of the network in training on the held-out patches.
    #[wasm_bindgen(js_name = heldoutMistakes)]
    pub fn heldout_mistakes(&self) -> Promise {
        self.job(|state| async move {
            let trainer = state
                .borrow_mut()
                .trainer
                .take()
                .ok_or_else(|| err("training was not started"))?;
            let rate = trainer.heldout_mistake_rate().await;
            state.borrow_mut().trainer = Some(trainer);
            Ok(rate.map_err(err)?.into())
        })
    }

    /// Dense class probabilities of a crop: Float32Array of 3 planes (other, cell, edge).
    /// `progress(done, total)` is called after every tile.
    pub fn segment(&self, x: u32, y: u32, width: u32, height: u32, progress: Function) -> Promise {
        self.job(move |state| async move {
            let (image, network, backend) = Engine::inputs(&state)?;
            let rect = crop(x, y, width, height);
            let mut report = reporter(progress);
            let map = segment(
                &network,
                &image,
                rect,
                backend.max_buffer,
                &backend.device,
                &mut report,
            )
            .await
            .map_err(err)?;
            Ok(Float32Array::from(map.data.as_slice()).into())
        })
    }

    /// The same probabilities, patch by patch in batches of `batch` (the slow way).
    #[wasm_bindgen(js_name = segmentNaive)]
    pub fn segment_naive(
        &self,
        x: u32,
        y: u32,
        width: u32,
        height: u32,
        batch: u32,
        progress: Function,
    ) -> Promise {
        self.job(move |state| async move {
            let (image, network, backend) = Engine::inputs(&state)?;
            let rect = crop(x, y, width, height);
            let mut report = reporter(progress);
            let map = segment_naive(
                &network,
                &image,
                rect,
                batch as usize,
                &backend.device,
                &mut report,
            )
            .await
            .map_err(err)?;
            Ok(Float32Array::from(map.data.as_slice()).into())
        })
    }

    /// The current network as a weights file.
    #[wasm_bindgen(js_name = saveWeights)]
    pub fn save_weights(&self) -> Promise {
        self.job(|state| async move {
            let network = state.borrow().network.clone();
            let cpu = network
                .copy_to(&burn::tensor::Device::flex())
                .await
                .map_err(err)?;
            let bytes = weights::to_bytes(&cpu).map_err(err)?;
            Ok(Uint8Array::from(bytes.as_slice()).into())
        })
    }

    /// Replaces the network by one read from a weights file; returns its text form.
    #[wasm_bindgen(js_name = loadWeights)]
    pub fn load_weights(&self, bytes: &[u8]) -> Result<String, JsValue> {
        self.with(|s| {
            let net = weights::from_bytes(bytes, None, &s.backend.device).map_err(err)?;
            let text = format!("{} ({})", net.spec.name, net.spec);
            s.network = net;
            s.trainer = None;
            Ok(text)
        })
    }
}
