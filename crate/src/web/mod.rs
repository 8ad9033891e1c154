//! The wasm-bindgen surface: a thin layer that keeps the library's state between calls from
//! the Web Worker (www/worker.js) and converts to and from JavaScript types.
//!
//! Every method returning a Promise runs one job. The worker sends one request at a time; if a
//! second call arrives anyway, the busy flag answers it with an error rather than a panic.
//! Replies and settings are the typed messages of [`crate::api`].
//!
//! Here: the engine, the image and its scale. The rest of the API, one file per part of the
//! page: `labels` (class maps, paint, chapter 1's patches), `training` (chapter 2's runs,
//! post 3's comparison, fine-tuning, weights), `segment` (maps, cells, scores, the
//! benchmark) and `files` (exports, session files, many files in one run).

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Float32Array, Function, Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, future_to_promise};

use crate::api;
use crate::bench::{self, Plan};
use crate::core::cells::Cells;
use crate::core::plane::{Plane, Rect};
use crate::core::probability::ProbabilityMap;
use crate::eval::evaluate;
use crate::io::decode::{Channel, Options};
use crate::io::display::FileUnits;
use crate::io::labels::ClassMap;
use crate::io::{decode, display, export};
use crate::model::Model;
use crate::model::Path;
use crate::model::backend::Backend;
use crate::model::network::Network;
use crate::model::spec::PATCH;
use crate::model::spec::Spec;
use crate::model::{naive, weights};
use crate::pipeline::{ScaleChoice, ensemble_map};
use crate::post::{PostConfig, cells_from_smoothed, smoothed_cell_probability};
use crate::scale;
use crate::scale::auto_scale::{Check, Doubted, ScaleSearch};
use crate::session::{LearnsFrom, Run, Session};
use crate::teach::{colony, intensity};
use crate::train::comparison::Comparison;
use crate::train::patch::Augment;
use crate::train::{TrainConfig, Trainer, heldout_split};
use image::ImageFormat;

/// `initThreadPool(n)`: starts rayon's `n` workers (the threaded package only).
#[cfg(feature = "threads")]
pub use wasm_bindgen_rayon::init_thread_pool;

mod files;
mod labels;
mod segment;
mod training;

pub use files::SessionFile;
pub use segment::FoundCells;

#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// The worker's handle on everything loaded: backend, image, labels, network, trainer.
#[wasm_bindgen]
pub struct Engine {
    state: Rc<RefCell<Session>>,
}

fn err(message: impl std::fmt::Display) -> JsValue {
    JsError::new(&message.to_string()).into()
}

/// A preset by name, or a network in text form (`conv4x20 pool ... fc1000`).
fn spec_of(arch: &str) -> Result<Spec, JsValue> {
    Spec::lookup(arch).map_err(err)
}

#[wasm_bindgen]
extern "C" {
    /// `performance.now()`: there in a page and in a worker alike (`window` is not).
    #[wasm_bindgen(js_namespace = performance)]
    fn now() -> f64;
}

/// A reply ([`crate::api`]) as a plain JavaScript object: maps as objects, `None` as null.
fn to_js(value: &impl serde::Serialize) -> Result<JsValue, JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(err)
}

/// Settings from the page ([`crate::api`]), or why they are not.
fn from_js<T: serde::de::DeserializeOwned>(value: JsValue, what: &str) -> Result<T, JsValue> {
    serde_wasm_bindgen::from_value(value).map_err(|e| err(format!("bad {what}: {e}")))
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

/// `progress(done, total)` between the pages of a stack: its answer, or the value of the
/// promise it returns, `false` stops the stack there (anything else goes on). Awaiting the
/// promise lets the worker take messages, such as Stop, between pages.
fn between_pages(
    progress: Function,
) -> impl FnMut(usize, usize) -> std::pin::Pin<Box<dyn Future<Output = bool>>> {
    move |done, total| {
        let answer = progress.call2(
            &JsValue::NULL,
            &(done as u32).into(),
            &(total as u32).into(),
        );
        Box::pin(async move {
            let value = match answer {
                Ok(v) if v.is_instance_of::<Promise>() => JsFuture::from(Promise::from(v))
                    .await
                    .unwrap_or(JsValue::TRUE),
                Ok(v) => v,
                Err(_) => JsValue::TRUE,
            };
            value.as_bool() != Some(false)
        })
    }
}

/// The page's training settings (flips and rotations together), with the batch capped.
fn train_config(learning_rate: f64, batch: u32, seed: u32, augment: bool) -> TrainConfig {
    TrainConfig {
        learning_rate,
        batch: batch.clamp(1, MAX_BATCH) as usize,
        seed: seed as u64,
        augment: Augment {
            flips: augment,
            rotations: augment,
            looks: false,
        },
        ..TrainConfig::default()
    }
}

/// Largest training batch the page may ask for.
const MAX_BATCH: u32 = 4096;
/// Most networks trained side by side: each holds its own Adam state.
const MAX_COMPARED: usize = 5;
/// Largest median radius: the window grows as its square, and cells are ~10 px wide.
const MAX_MEDIAN: u32 = 7;

impl Engine {
    fn with<T>(&self, f: impl FnOnce(&mut Session) -> Result<T, JsValue>) -> Result<T, JsValue> {
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
        F: FnOnce(Rc<RefCell<Session>>) -> Fut + 'static,
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

    /// The image and its labels, or why they are not there.
    fn labelled(s: &Session) -> Result<(&Plane, &ClassMap), JsValue> {
        let image = s.image.as_deref().ok_or_else(|| err("no image loaded"))?;
        let labels = s
            .labels
            .as_ref()
            .ok_or_else(|| err("this needs labels for the image"))?;
        Ok((image, labels))
    }

    /// The last dense segmentation, or why there is none.
    fn last_map(s: &Session) -> Result<&ProbabilityMap, JsValue> {
        s.last_map
            .as_ref()
            .ok_or_else(|| err("segment a crop first"))
    }

    /// The cells of the last clean-up, or why there are none.
    fn last_cells(s: &Session) -> Result<&Cells, JsValue> {
        s.last_cells
            .as_ref()
            .map(|(found, _)| found)
            .ok_or_else(|| err("segment a crop first"))
    }

    /// (x, y) as indices, if inside the image.
    fn inside(image: &Plane, x: u32, y: u32) -> Result<(usize, usize), JsValue> {
        let (x, y) = (x as usize, y as usize);
        if x < image.width && y < image.height {
            Ok((x, y))
        } else {
            Err(err(format!(
                "({x}, {y}) is outside the {}x{} image",
                image.width, image.height
            )))
        }
    }

    /// The comparison in progress, taken out of the state for the length of a job.
    fn take_comparison(state: &Rc<RefCell<Session>>) -> Result<Comparison, JsValue> {
        state
            .borrow_mut()
            .comparison
            .take()
            .ok_or_else(|| err("the comparison was not started"))
    }

    /// The class map of `rect` (image pixels, clamped to the image) from the chosen networks,
    /// averaged: densely, or patch by patch in batches of `naive_batch`. The networks see the
    /// image at its scale (see `setScale`); the map comes back in image pixels.
    async fn map_of(
        state: &Rc<RefCell<Session>>,
        rect: Rect,
        ensemble: bool,
        with_trained: bool,
        naive_batch: u32,
        progress: Function,
    ) -> Result<(Rect, ProbabilityMap, f64), JsValue> {
        let (image, _, backend) = Engine::inputs(state)?;
        let (plane, factor) = {
            let s = state.borrow();
            (s.networks_plane().expect("an image is loaded"), s.scale())
        };
        let networks = state
            .borrow()
            .segmenting(ensemble, with_trained)
            .map_err(err)?;
        let (rect, _) = ProbabilityMap::for_crop(&image, rect).map_err(err)?;
        let path = match naive_batch {
            0 => Path::Dense,
            batch => Path::PatchByPatch(batch as usize),
        };
        let mut report = reporter(progress);
        let map = ensemble_map(
            &networks,
            &image,
            &plane,
            factor,
            rect,
            &backend,
            path,
            &mut report,
        )
        .await
        .map_err(err)?;
        Ok((rect, map, crate::post::sure::bar(&networks)))
    }

    /// The image and the network, cloned cheaply out of the state for a job.
    fn inputs(state: &Rc<RefCell<Session>>) -> Result<(Rc<Plane>, Network, Backend), JsValue> {
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
        let state = Session::new(backend, network);
        Ok(Engine {
            state: Rc::new(RefCell::new(state)),
        })
    }

    /// The session's snapshot ([`crate::session::Status`]): what is loaded, trained and
    /// found, at which scale. The worker attaches it to every reply. While a job runs the
    /// state is lent to it, and the snapshot is null.
    pub fn status(&self) -> Result<JsValue, JsValue> {
        match self.state.try_borrow() {
            Ok(s) if !s.busy => to_js(&s.status()),
            _ => Ok(JsValue::NULL),
        }
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

    /// The training run ready for more steps ([`crate::session::RunStatus`]: what it learns
    /// from, its seed), or null; it ends when the image, scale, labels, paint or network
    /// change.
    #[wasm_bindgen(getter)]
    pub fn trainer(&self) -> Result<JsValue, JsValue> {
        self.with(|s| to_js(&s.status().trainer))
    }

    /// The presets, the clean-up's default settings and the input limits
    /// ([`api::Defaults`]).
    pub fn defaults() -> Result<JsValue, JsValue> {
        to_js(&api::Defaults::new())
    }

    /// A network's layer table, as far as a 31x31 patch gets, for a preset name or a text
    /// form being typed ([`api::Description`]). Never throws: a bad text is an `error`.
    pub fn describe(arch: &str) -> Result<JsValue, JsValue> {
        to_js(&api::Description::of(arch))
    }

    /// Decodes and normalises an image file; returns what it holds ([`api::ImageInfo`]: size,
    /// held-out columns, pages, channels, bits, stated pixel size, display window). Replaces
    /// the image (and drops its labels and trainer) only if decoding succeeds.
    /// `page` picks a page of a multi-page TIFF (0 the first); `channel` a colour image's
    /// channel (0 red, 1 green, 2 blue; -1 luminance).
    #[wasm_bindgen(js_name = loadImage)]
    pub fn load_image(&self, bytes: &[u8], page: u32, channel: i32) -> Result<JsValue, JsValue> {
        let options = Options {
            page: page as usize,
            channel: u8::try_from(channel).map_or(Channel::Luminance, Channel::Index),
        };
        let (decoded, normalised) = decode::decode_normalised_with(bytes, options).map_err(err)?;
        let window = normalised.window;
        let pages = decode::page_count(bytes).map_err(err)?;
        let (plane, bits) = (decoded.plane, decoded.bits);
        self.with(|s| {
            let (train, _) = heldout_split(plane.width, plane.height);
            let info = api::ImageInfo {
                width: plane.width,
                height: plane.height,
                heldout_from: train.x1,
                pages,
                channels: decoded.channels as usize,
                bits: bits as usize,
                micron: crate::io::pixel_size::of_file(bytes),
                display: Engine::display(&(FileUnits::new(window, decoded.unit), decoded.range)),
                padding: normalised.padding,
                light: normalised.light.as_ref().map(|l| f64::from(l.ratio)),
                marks: normalised.marks,
                outside: normalised.outside,
            };
            let units = (
                FileUnits::new(window, decoded.unit)
                    .keeping(&normalised.outliers, decoded.unit)
                    .lit(normalised.light),
                decoded.range,
            );
            s.replace_image(plane, None, Some(units));
            to_js(&info)
        })
    }

    /// The display window of auto-levels and the file's range ([`api::DisplayRange`]).
    fn display((units, range): &(FileUnits, (f64, f64))) -> api::DisplayRange {
        let (low, high) = units.auto();
        api::DisplayRange {
            low,
            high,
            floor: range.0,
            full: range.1,
        }
    }

    /// Histogram of the image's values in `bins` bins over the file's range (floor..full).
    #[wasm_bindgen(js_name = displayHistogram)]
    pub fn display_histogram(&self, bins: u32) -> Result<Vec<u32>, JsValue> {
        self.with(|s| {
            let image = s.image.as_ref().ok_or_else(|| err("no image loaded"))?;
            let (units, range) = s.units.as_ref().ok_or_else(|| err("no image loaded"))?;
            Ok(display::histogram(
                image,
                units,
                *range,
                bins.clamp(1, 4096) as usize,
            ))
        })
    }

    /// Resamples the image by `factor` before the networks see it (results come back in the
    /// image's pixels), smoothed where it is noisier than they learned
    /// ([`crate::pipeline::networks_view`]); returns the resampled size ([`api::Size`]).
    #[wasm_bindgen(js_name = setScale)]
    pub fn set_scale(&self, factor: f64) -> Result<JsValue, JsValue> {
        if !(scale::MIN_FACTOR..=scale::MAX_FACTOR).contains(&factor) {
            return Err(err(format!(
                "scale {factor} is outside {}..{}",
                scale::MIN_FACTOR,
                scale::MAX_FACTOR
            )));
        }
        self.with(|s| {
            s.set_scale(factor);
            s.auto_scale = None; // set by hand: the cells found no longer move it
            let image = s.networks_plane().ok_or_else(|| err("no image loaded"))?;
            to_js(&api::Size {
                width: image.width,
                height: image.height,
            })
        })
    }

    /// Starts the automatic scale ([`crate::scale::auto_scale`], as the CLI's `--scale auto`): the
    /// image's own estimate, set as the scale, to be checked against the cells found there
    /// (`checkScale`). Returns [`api::ScaleEstimate`], or an error saying why there is none
    /// (cells finer than the sweep).
    #[wasm_bindgen(js_name = estimateScale)]
    pub fn estimate_scale(&self) -> Result<JsValue, JsValue> {
        self.with(|s| {
            let image = s.image.as_ref().ok_or_else(|| err("no image loaded"))?;
            let search = ScaleSearch::start(image).map_err(err)?;
            s.set_scale(search.factor());
            let plane = s.networks_plane().ok_or_else(|| err("no image loaded"))?;
            let reply = to_js(&api::ScaleEstimate {
                factor: search.factor(),
                reason: search.reason().to_string(),
                width: plane.width,
                height: plane.height,
            });
            s.auto_scale = Some(search);
            reply
        })
    }

    /// Checks the automatic scale against the cells found last (`cells`), as the CLI's
    /// `--scale auto` does after each segmentation, and moves the scale where they say.
    /// Returns [`api::ScaleCheck`]: `again` when the image should be segmented again at the
    /// new `factor`; null when no automatic scale is being checked (none was started, it
    /// settled, a scale was set by hand, or the last cells were found at another scale).
    #[wasm_bindgen(js_name = checkScale)]
    pub fn check_scale(&self) -> Result<JsValue, JsValue> {
        self.with(|s| {
            let found_at = s.map_scale;
            let (Some(search), Some((found, _))) = (s.auto_scale.as_mut(), s.last_cells.as_ref())
            else {
                return Ok(JsValue::NULL);
            };
            if search.settled() || search.factor() != found_at {
                return Ok(JsValue::NULL);
            }
            let (networks_found, doubtful, edges) = match &s.last_found {
                Some((networks_found, doubtful, edges)) => (networks_found, *doubtful, *edges),
                None => (found, Doubted::Nothing, None),
            };
            let check = search.check_found_with_edges(found, networks_found, doubtful, edges);
            let again = matches!(check, Check::Again { .. });
            let (factor, how) = (search.factor(), search.how());
            let doubt = search.doubt().map(str::to_string);
            if again {
                s.set_scale(factor);
            }
            let plane = s.networks_plane().ok_or_else(|| err("no image loaded"))?;
            to_js(&api::ScaleCheck {
                again,
                factor,
                width: plane.width,
                height: plane.height,
                how,
                doubt,
            })
        })
    }

    /// The median width of the cells found last and the scale factor it gives
    /// ([`scale::typical_width`]: pieces of a split cell are as wide as the cell, so this
    /// holds where lengths mislead): [`api::CellWidth`].
    #[wasm_bindgen(js_name = typicalWidth)]
    pub fn typical_width(&self) -> Result<JsValue, JsValue> {
        self.with(|s| {
            let found = Engine::last_cells(s)?;
            let width = scale::typical_width(found);
            to_js(&api::CellWidth {
                width,
                factor: width.map(scale::factor_for_width),
                tutorial: scale::TUTORIAL_CELL_WIDTH,
            })
        })
    }

    /// The median length of the cells found last and the scale it gives ([`api::CellLength`]).
    #[wasm_bindgen(js_name = typicalLength)]
    pub fn typical_length(&self) -> Result<JsValue, JsValue> {
        self.with(|s| {
            let found = Engine::last_cells(s)?;
            let length = scale::typical_length(found);
            to_js(&api::CellLength {
                length,
                factor: length.map(scale::factor_for),
            })
        })
    }

    /// The scale factor for cells `length` px long.
    #[wasm_bindgen(js_name = factorFor)]
    pub fn factor_for(length: f64) -> f64 {
        scale::factor_for(length)
    }

    /// Replaces image and labels by a synthetic colony (see [`crate::teach::colony`]) of cells `size`
    /// times the tutorial's (another magnification, to practise the scale on), within the
    /// limits the CLI's colonies have ([`colony::Look::check`]); returns [`api::ColonyInfo`]:
    /// size, held-out columns and pixels per class.
    #[wasm_bindgen(js_name = loadColony)]
    pub fn load_colony(
        &self,
        width: u32,
        height: u32,
        seed: u32,
        size: f64,
    ) -> Result<JsValue, JsValue> {
        let (w, h) = (width as usize, height as usize);
        let look = colony::Look {
            size: size as f32,
            ..colony::Look::default()
        };
        look.check(w, h).map_err(err)?;
        let (plane, labels) = colony::colony_with(w, h, seed as u64, &look);
        self.with(|s| {
            let (train, _) = heldout_split(w, h);
            let info = api::ColonyInfo {
                width: w,
                height: h,
                heldout_from: train.x1,
                counts: labels.counts(),
            };
            s.replace_image(plane, Some(labels), None);
            to_js(&info)
        })
    }

    /// The image as RGBA bytes for an ImageData: file value `low` black, `high` white (see
    /// the `display` of `loadImage`; NaN for either means auto-levels).
    #[wasm_bindgen(js_name = imageRgba)]
    pub fn image_rgba(&self, low: f64, high: f64) -> Result<Vec<u8>, JsValue> {
        self.with(|s| {
            let plane = s.image.as_ref().ok_or_else(|| err("no image loaded"))?;
            let units = match &s.units {
                Some((units, _)) => units,
                // a synthetic colony: already 0..1
                None => &FileUnits::new(
                    crate::io::normalise::Window {
                        low: 0.0,
                        high: 1.0,
                    },
                    1.0,
                ),
            };
            let (auto_low, auto_high) = units.auto();
            let low = if low.is_nan() { auto_low } else { low };
            let high = if high.is_nan() { auto_high } else { high };
            Ok(display::rgba(plane, units, low, high))
        })
    }
}
