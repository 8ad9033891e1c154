//! The wasm-bindgen surface: a thin layer that keeps the library's state between calls from
//! the Web Worker (www/worker.js) and converts to and from JavaScript types.
//!
//! Every method returning a Promise runs one job. The worker sends one request at a time; if a
//! second call arrives anyway, the busy flag answers it with an error rather than a panic.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Float32Array, Function, Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, future_to_promise};

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
use crate::model::spec::{PRESETS, Spec};
use crate::model::{naive, weights};
use crate::pipeline::{ScaleChoice, ensemble_map};
use crate::post::{PostConfig, cells_from_smoothed, smoothed_cell_probability};
use crate::scale;
use crate::scale::auto_scale::{Check, ScaleSearch};
use crate::session::Session;
use crate::teach::{colony, intensity};
use crate::train::comparison::Comparison;
use crate::train::patch::Augment;
use crate::train::{TrainConfig, Trainer, heldout_split};
use image::ImageFormat;

/// `initThreadPool(n)`: starts rayon's `n` workers (the threaded package only).
#[cfg(feature = "threads")]
pub use wasm_bindgen_rayon::init_thread_pool;

#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// A session file's parts ([`Engine::session_unpack`]).
#[wasm_bindgen]
pub struct SessionFile {
    meta: String,
    paint: Vec<u8>,
    network: Vec<u8>,
}

#[wasm_bindgen]
impl SessionFile {
    /// `session.json`: `{format, version, image, scale, settings}`.
    #[wasm_bindgen(getter)]
    pub fn meta(&self) -> String {
        self.meta.clone()
    }
    /// The painted classes over the session's image (empty when nothing was painted).
    #[wasm_bindgen(getter)]
    pub fn paint(&self) -> Vec<u8> {
        self.paint.clone()
    }
    /// The network's weights file (empty when the session has none).
    #[wasm_bindgen(getter)]
    pub fn network(&self) -> Vec<u8> {
        self.network.clone()
    }
}

/// Cells found in a crop.
#[wasm_bindgen]
pub struct FoundCells {
    labels: Vec<u32>,
    areas: Vec<u32>,
    centroids: Vec<f64>,
    lengths: Vec<f64>,
}

#[wasm_bindgen]
impl FoundCells {
    /// One label per pixel of the crop, row-major: 0 none, 1.. a cell.
    #[wasm_bindgen(getter)]
    pub fn labels(&self) -> Vec<u32> {
        self.labels.clone()
    }

    /// Pixel count of cell `id` at index `id - 1`.
    #[wasm_bindgen(getter)]
    pub fn areas(&self) -> Vec<u32> {
        self.areas.clone()
    }

    /// Length of each cell's long axis in pixels, in id order.
    #[wasm_bindgen(getter)]
    pub fn lengths(&self) -> Vec<f64> {
        self.lengths.clone()
    }

    /// Centre of mass of each cell in crop pixels: x, y pairs in id order.
    #[wasm_bindgen(getter)]
    pub fn centroids(&self) -> Vec<f64> {
        self.centroids.clone()
    }
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

/// A value as a JavaScript object, through JSON (small values only).
fn serde_wasm(value: &impl serde::Serialize) -> Result<JsValue, JsValue> {
    let text = serde_json::to_string(value).map_err(err)?;
    js_sys::JSON::parse(&text)
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
    ) -> Result<(Rect, ProbabilityMap), JsValue> {
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
        Ok((rect, map))
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
            Ok(s) if !s.busy => serde_wasm(&s.status()),
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

    /// A network's layer table, as far as a 31x31 patch gets, for a preset name or a text
    /// form being typed: `{name, text, rows: [{label, field, stride, depth, out, dilation,
    /// params}], error}`; a network that reaches 1x1 also has `params`, `flopsPerPatch`,
    /// `flopsPerDensePixel` and `receptiveField`. Never throws: a bad text is an `error`.
    pub fn describe(arch: &str) -> JsValue {
        let out = js_sys::Object::new();
        let set = |key: &str, value: JsValue| {
            js_sys::Reflect::set(&out, &key.into(), &value).expect("plain object");
        };
        let spec = Spec::preset(arch).map_or_else(|| Spec::draft("custom", arch), Ok);
        let (spec, rows, check) = match spec {
            Ok(spec) => {
                let (rows, check) = spec.table();
                (Some(spec), rows, check)
            }
            Err(e) => (None, Vec::new(), Err(e)),
        };
        let table: js_sys::Array = rows
            .iter()
            .map(|r| {
                let row = js_sys::Object::new();
                let fields: [(&str, JsValue); 7] = [
                    ("label", r.label.clone().into()),
                    ("field", r.field.into()),
                    ("stride", r.stride.into()),
                    ("depth", r.depth.into()),
                    ("out", r.out.into()),
                    ("dilation", r.dilation.into()),
                    ("params", r.params.into()),
                ];
                for (key, value) in fields {
                    js_sys::Reflect::set(&row, &key.into(), &value).expect("plain object");
                }
                row
            })
            .collect();
        set("rows", table.into());
        set(
            "error",
            check
                .as_ref()
                .err()
                .map_or(JsValue::NULL, |e| e.to_string().into()),
        );
        if let Some(spec) = spec {
            set("name", spec.name.clone().into());
            set("text", spec.to_string().into());
            if check.is_ok() {
                set("params", spec.params().into());
                set("flopsPerPatch", (spec.flops_per_patch() as f64).into());
                set(
                    "flopsPerDensePixel",
                    (spec.flops_per_dense_pixel() as f64).into(),
                );
                set("receptiveField", spec.receptive_field().into());
            }
        }
        out.into()
    }

    /// Decodes and normalises an image file; returns `[width, height, x, pages, channels,
    /// bits]`: columns from `x` on are held out from training, and the rest describes the file
    /// (for the page and channel menus). Replaces the image (and drops its labels and
    /// trainer) only if decoding succeeds.
    /// `page` picks a page of a multi-page TIFF (0 the first); `channel` a colour image's
    /// channel (0 red, 1 green, 2 blue; -1 luminance).
    #[wasm_bindgen(js_name = loadImage)]
    pub fn load_image(&self, bytes: &[u8], page: u32, channel: i32) -> Result<Vec<u32>, JsValue> {
        let options = Options {
            page: page as usize,
            channel: u8::try_from(channel).map_or(Channel::Luminance, Channel::Index),
        };
        let (decoded, window) = decode::decode_normalised_with(bytes, options).map_err(err)?;
        let pages = decode::page_count(bytes).map_err(err)?;
        let (plane, bits) = (decoded.plane, decoded.bits);
        self.with(|s| {
            let (train, _) = heldout_split(plane.width, plane.height);
            let size = vec![
                plane.width as u32,
                plane.height as u32,
                train.x1 as u32,
                pages as u32,
                decoded.channels as u32,
                bits as u32,
            ];
            let units = (FileUnits::new(window, decoded.unit), decoded.range);
            s.replace_image(plane, None, Some(units));
            Ok(size)
        })
    }

    /// The pixel size (µm) the file states in its ImageJ or OME metadata; 0 when none.
    #[wasm_bindgen(js_name = statedPixelSize)]
    pub fn stated_pixel_size(bytes: &[u8]) -> f64 {
        crate::io::pixel_size::of_file(bytes).unwrap_or(0.0)
    }

    /// A whole session as one file ([`crate::io::session_file`]): `meta` is the JSON of its image
    /// (`{name, page, channel, width, height}` or null), `scale` and `settings`; `paint` the
    /// painted classes over that image (empty: none); `network` a weights file (empty: none).
    #[wasm_bindgen(js_name = sessionPack)]
    pub fn session_pack(meta: &str, paint: Vec<u8>, network: Vec<u8>) -> Result<Vec<u8>, JsValue> {
        let mut value: serde_json::Value = serde_json::from_str(meta).map_err(err)?;
        value["format"] = crate::io::session_file::FORMAT.into();
        value["version"] = crate::io::session_file::VERSION.into();
        let session = crate::io::session_file::SessionFile {
            meta: serde_json::from_value(value).map_err(err)?,
            paint: (!paint.is_empty()).then_some(paint),
            network: (!network.is_empty()).then_some(network),
        };
        crate::io::session_file::pack(&session).map_err(err)
    }

    /// A session file read back, or why it is not one.
    #[wasm_bindgen(js_name = sessionUnpack)]
    pub fn session_unpack(bytes: &[u8]) -> Result<SessionFile, JsValue> {
        let session = crate::io::session_file::unpack(bytes).map_err(err)?;
        Ok(SessionFile {
            meta: serde_json::to_string(&session.meta).map_err(err)?,
            paint: session.paint.unwrap_or_default(),
            network: session.network.unwrap_or_default(),
        })
    }

    /// The input limits: `[largest image in pixels, largest file in bytes]`.
    pub fn limits() -> Vec<f64> {
        vec![decode::MAX_PIXELS as f64, decode::MAX_FILE_BYTES as f64]
    }

    /// The display window of auto-levels (1st, 99th percentile) and the file's full scale, in
    /// file units: `[low, high, full, floor]` (the file's range is floor..full: 0..65535 for
    /// 16-bit data, the values' own for float and signed data).
    #[wasm_bindgen(js_name = displayRange)]
    pub fn display_range(&self) -> Result<Vec<f64>, JsValue> {
        self.with(|s| {
            let (units, range) = s.units.as_ref().ok_or_else(|| err("no image loaded"))?;
            let (low, high) = units.auto();
            Ok(vec![low, high, range.1, range.0])
        })
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
    /// image's pixels); returns the resampled `[width, height]`.
    #[wasm_bindgen(js_name = setScale)]
    pub fn set_scale(&self, factor: f64) -> Result<Vec<u32>, JsValue> {
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
            Ok(vec![image.width as u32, image.height as u32])
        })
    }

    /// Starts the automatic scale ([`crate::scale::auto_scale`], as the CLI's `--scale auto`): the
    /// image's own estimate, set as the scale, to be checked against the cells found there
    /// (`checkScale`). Returns `{factor, reason, width, height}` (the resampled size), or an
    /// error saying why there is none (cells finer than the sweep).
    #[wasm_bindgen(js_name = estimateScale)]
    pub fn estimate_scale(&self) -> Result<JsValue, JsValue> {
        self.with(|s| {
            let image = s.image.as_ref().ok_or_else(|| err("no image loaded"))?;
            let search = ScaleSearch::start(image).map_err(err)?;
            s.set_scale(search.factor());
            let plane = s.networks_plane().ok_or_else(|| err("no image loaded"))?;
            let reply = serde_wasm(&serde_json::json!({
                "factor": search.factor(),
                "reason": search.reason(),
                "width": plane.width,
                "height": plane.height,
            }));
            s.auto_scale = Some(search);
            reply
        })
    }

    /// Checks the automatic scale against the cells found last (`cells`), as the CLI's
    /// `--scale auto` does after each segmentation, and moves the scale where they say.
    /// Returns `{again, factor, width, height, how}`: `again` when the image should be
    /// segmented again at the new `factor` (resampled to `width` x `height`), `how` the whole
    /// story so far; null when no automatic scale is being checked (none was started, it
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
            let again = matches!(search.check(found), Check::Again { .. });
            let (factor, how) = (search.factor(), search.how());
            if again {
                s.set_scale(factor);
            }
            let plane = s.networks_plane().ok_or_else(|| err("no image loaded"))?;
            serde_wasm(&serde_json::json!({
                "again": again,
                "factor": factor,
                "width": plane.width,
                "height": plane.height,
                "how": how,
            }))
        })
    }

    /// The median width of the cells found last and the scale factor it gives
    /// ([`scale::typical_width`]: pieces of a split cell are as wide as the cell, so this
    /// holds where lengths mislead), `[width, factor, the tutorial's width]`, NaN if none.
    #[wasm_bindgen(js_name = typicalWidth)]
    pub fn typical_width(&self) -> Result<Vec<f64>, JsValue> {
        self.with(|s| {
            let (found, _) = s
                .last_cells
                .as_ref()
                .ok_or_else(|| err("segment a crop first"))?;
            let width = scale::typical_width(found).unwrap_or(f64::NAN);
            let factor = if width.is_nan() {
                f64::NAN
            } else {
                scale::factor_for_width(width)
            };
            Ok(vec![width, factor, scale::TUTORIAL_CELL_WIDTH])
        })
    }

    /// The median length of the cells found last (for the scale), or NaN if none.
    #[wasm_bindgen(js_name = typicalLength)]
    pub fn typical_length(&self) -> Result<f64, JsValue> {
        self.with(|s| {
            let (found, _) = s
                .last_cells
                .as_ref()
                .ok_or_else(|| err("segment a crop first"))?;
            Ok(scale::typical_length(found).unwrap_or(f64::NAN))
        })
    }

    /// The scale factor for cells `length` px long.
    #[wasm_bindgen(js_name = factorFor)]
    pub fn factor_for(length: f64) -> f64 {
        scale::factor_for(length)
    }

    /// Labels painted on the image: one value per pixel, 0 other, 1 cell, 2 edge, 255 none.
    /// Returns the painted pixels per class.
    #[wasm_bindgen(js_name = setPaint)]
    pub fn set_paint(&self, classes: Vec<u8>) -> Result<Vec<u32>, JsValue> {
        self.with(|s| {
            let image = s.image.as_ref().ok_or_else(|| err("no image loaded"))?;
            let paint = ClassMap::painted(image.width, image.height, classes).map_err(err)?;
            let counts = paint.counts().iter().map(|&c| c as u32).collect();
            s.paint = Some(paint);
            s.trainer = None;
            Ok(counts)
        })
    }

    /// Makes pretrained patch network `index` (of those given to `setFineTuneStarts`) the
    /// network to train (to fine-tune it).
    #[wasm_bindgen(js_name = usePretrained)]
    pub fn use_pretrained(&self, index: u32) -> Result<String, JsValue> {
        self.with(|s| {
            let net = s
                .fine_tune_starts
                .get(index as usize)
                .ok_or_else(|| err("the pretrained networks are not loaded"))?;
            s.network = net.clone();
            s.trainer = None;
            Ok(format!("{} ({})", net.spec.name, net.spec))
        })
    }

    /// The pretrained patch networks that fine-tuning may start from (weights files as
    /// Uint8Arrays); returns their text forms. All or nothing, as `setEnsemble`.
    #[wasm_bindgen(js_name = setFineTuneStarts)]
    pub fn set_fine_tune_starts(&self, files: js_sys::Array) -> Result<Vec<String>, JsValue> {
        self.with(|s| {
            let mut nets = Vec::new();
            for (k, file) in files.iter().enumerate() {
                let bytes = Uint8Array::new(&file).to_vec();
                let net = weights::from_bytes(&bytes, None, &s.backend.device)
                    .map_err(|e| err(format!("pretrained network {} to fine-tune: {e}", k + 1)))?;
                nets.push(net);
            }
            let texts = nets
                .iter()
                .map(|n| format!("{} ({})", n.spec.name, n.spec))
                .collect();
            s.fine_tune_starts = nets;
            Ok(texts)
        })
    }

    /// Prepares fine-tuning of the current network on the painted pixels (all of the image
    /// is fair game: the paint is the only truth here), at the image's scale.
    #[wasm_bindgen(js_name = startFineTuning)]
    pub fn start_fine_tuning(
        &self,
        learning_rate: f64,
        batch: u32,
        seed: u32,
        augment: bool,
    ) -> Result<(), JsValue> {
        self.with(|s| {
            let paint = s
                .paint
                .as_ref()
                .ok_or_else(|| err("paint some pixels of each class first"))?;
            let [other, cell, edge] = paint.counts();
            let missing: Vec<&str> = [(other, "other"), (cell, "cell"), (edge, "edge")]
                .iter()
                .filter(|(n, _)| *n == 0)
                .map(|(_, name)| *name)
                .collect();
            if !missing.is_empty() {
                return Err(err(format!(
                    "fine-tuning needs painted pixels of every class: paint some {} too",
                    missing.join(" and ")
                )));
            }
            let plane = s.networks_plane().ok_or_else(|| err("no image loaded"))?;
            let paint = paint.paint_resized(plane.width, plane.height);
            let whole = Rect::new(0, 0, plane.width, plane.height);
            let config = TrainConfig {
                heldout_patches: 300,
                ..train_config(learning_rate, batch, seed, augment)
            };
            let trainer = Trainer::new(
                s.network.clone(),
                &plane,
                &paint,
                whole,
                whole,
                config,
                &s.backend.device,
            )
            .map_err(|e| err(format!("painted labels: {e}")))?;
            s.trainer = Some(trainer);
            s.auto_scale = None; // the paint was made for this scale: it stays
            Ok(())
        })
    }

    /// Scores the last cells against true labels of the image: a class map (0 other, 1 cell,
    /// 2 edge) or an instance image (0 background, each cell its own id), `kind` "classes",
    /// "instances" or "auto" (classes when no value exceeds 2). Returns the report as JSON.
    #[wasm_bindgen(js_name = evaluateTruth)]
    pub fn evaluate_truth(&self, bytes: &[u8], kind: &str) -> Result<String, JsValue> {
        let (w, h, values) = crate::io::labels::instances_from_image(bytes).map_err(err)?;
        self.with(|s| {
            let image = s.image.as_ref().ok_or_else(|| err("no image loaded"))?;
            if (w, h) != (image.width, image.height) {
                return Err(err(format!(
                    "the true labels are {w}x{h} pixels but the image is {}x{}",
                    image.width, image.height
                )));
            }
            let as_classes = match kind {
                "classes" => true,
                "instances" => false,
                _ => values.iter().all(|&v| v <= 2),
            };
            let rect = s.last_rect.ok_or_else(|| err("segment a crop first"))?;
            let map = Engine::last_map(s)?;
            let (found, _) = s
                .last_cells
                .as_ref()
                .ok_or_else(|| err("segment a crop first"))?;
            let truth = if as_classes {
                ClassMap::painted(w, h, values.iter().map(|&v| v.min(255) as u8).collect())
                    .ok()
                    .filter(|m| m.classes.iter().all(|&c| c <= 2))
                    .ok_or_else(|| err("a class map holds 0 (other), 1 (cell) and 2 (edge) only"))?
            } else {
                // instances: cells where an id is, background elsewhere (no edge class)
                ClassMap::painted(w, h, values.iter().map(|&v| (v != 0) as u8).collect())
                    .map_err(err)?
            }
            .crop(rect);
            let truth_cells = if as_classes {
                truth.cells()
            } else {
                let cropped: Vec<u32> = (rect.y0..rect.y1)
                    .flat_map(|y| values[y * w + rect.x0..y * w + rect.x1].iter().copied())
                    .collect();
                Cells::from_labels(cropped, rect.width(), rect.height(), 1)
            };
            let report = evaluate::evaluate(map, found, &truth, &truth_cells);
            serde_json::to_string(&serde_json::json!({
                "kind": if as_classes { "classes" } else { "instances" },
                "crop": [rect.x0, rect.y0, rect.width(), rect.height()],
                "report": report,
            }))
            .map_err(err)
        })
    }

    /// Replaces image and labels by a synthetic colony (see [`crate::teach::colony`]) of cells `size`
    /// times the tutorial's (0.5..=3; another magnification, to practise the scale on);
    /// returns `[width, height, x, other, cell, edge]`: size, held-out column and pixels per
    /// class.
    #[wasm_bindgen(js_name = loadColony)]
    pub fn load_colony(
        &self,
        width: u32,
        height: u32,
        seed: u32,
        size: f64,
    ) -> Result<Vec<u32>, JsValue> {
        let (w, h) = (
            width.clamp(64, 2048) as usize,
            height.clamp(64, 2048) as usize,
        );
        let look = colony::Look {
            size: if size.is_finite() {
                size.clamp(0.5, 3.0) as f32
            } else {
                1.0
            },
            ..colony::Look::default()
        };
        let (plane, labels) = colony::colony_with(w, h, seed as u64, &look);
        self.with(|s| {
            let (train, _) = heldout_split(w, h);
            let mut out = vec![w as u32, h as u32, train.x1 as u32];
            out.extend(labels.counts().iter().map(|&c| c as u32));
            s.replace_image(plane, Some(labels), None);
            Ok(out)
        })
    }

    /// The image as RGBA bytes for an ImageData: file value `low` black, `high` white (see
    /// `displayRange`; NaN for either means auto-levels).
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
            s.comparison = None;
            Ok(counts)
        })
    }

    /// The labels of the image, one class per pixel, row-major: 0 other, 1 cell, 2 edge.
    #[wasm_bindgen(js_name = classMap)]
    pub fn class_map(&self) -> Result<Vec<u8>, JsValue> {
        self.with(|s| Ok(Engine::labelled(s)?.1.classes.clone()))
    }

    /// Intensity histograms of the labelled image, `bins` bins over 0..1 per class, in class
    /// order (other, cell, edge), concatenated.
    #[wasm_bindgen(js_name = classHistograms)]
    pub fn class_histograms(&self, bins: u32) -> Result<Vec<u32>, JsValue> {
        self.with(|s| {
            let (image, labels) = Engine::labelled(s)?;
            let bins = bins.clamp(1, 1024) as usize;
            Ok(intensity::class_histograms(image, labels, bins).concat())
        })
    }

    /// How much the cell and background intensity distributions overlap (0..1).
    #[wasm_bindgen(js_name = intensityOverlap)]
    pub fn intensity_overlap(&self, bins: u32) -> Result<f64, JsValue> {
        self.with(|s| {
            let (image, labels) = Engine::labelled(s)?;
            let bins = bins.clamp(1, 1024) as usize;
            Ok(intensity::overlap(&intensity::class_histograms(
                image, labels, bins,
            )))
        })
    }

    /// The 31x31 patch around (x, y), normalised intensities, row-major (borders reflected).
    #[wasm_bindgen(js_name = patchAt)]
    pub fn patch_at(&self, x: u32, y: u32) -> Result<Vec<f32>, JsValue> {
        self.with(|s| {
            let image = s.image.as_ref().ok_or_else(|| err("no image loaded"))?;
            let (x, y) = Engine::inside(image, x, y)?;
            let mut out = Vec::with_capacity(PATCH * PATCH);
            naive::patch_at(image, x, y, &mut out);
            Ok(out)
        })
    }

    /// The class of (x, y): 0 other, 1 cell, 2 edge; -1 without labels.
    #[wasm_bindgen(js_name = classAt)]
    pub fn class_at(&self, x: u32, y: u32) -> Result<i32, JsValue> {
        self.with(|s| {
            let image = s.image.as_ref().ok_or_else(|| err("no image loaded"))?;
            let (x, y) = Engine::inside(image, x, y)?;
            Ok(s.labels.as_ref().map_or(-1, |l| l.at(x, y) as i32))
        })
    }

    /// The nearest pixel of the other kind (cell vs not) within 0.01 of (x, y)'s intensity:
    /// `[x, y]`, or empty when there is none.
    pub fn lookalike(&self, x: u32, y: u32) -> Result<Vec<u32>, JsValue> {
        self.with(|s| {
            let (image, labels) = Engine::labelled(s)?;
            let (x, y) = Engine::inside(image, x, y)?;
            Ok(intensity::lookalike(image, labels, x, y, 0.01)
                .map_or(vec![], |(a, b)| vec![a as u32, b as u32]))
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
            let config = train_config(learning_rate, batch, seed, augment);
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
                looks: false,
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
            let mut trainer = state
                .borrow_mut()
                .trainer
                .take()
                .ok_or_else(|| err("training was not started"))?;
            let mut out = Vec::with_capacity(3 * steps as usize);
            let mut result = Ok(());
            for _ in 0..steps {
                match trainer.step().await {
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

    /// The benchmark ([`crate::bench`]) on this engine's backend, over a synthetic colony of
    /// `width` x `height` (nothing loaded is touched), following `plan` (JSON of
    /// [`Plan`]). `progress(figure)` sees each figure as it is measured; resolves to all.
    pub fn bench(&self, width: u32, height: u32, plan: &str, progress: Function) -> Promise {
        let plan: Result<Plan, _> = serde_json::from_str(plan);
        self.job(move |state| async move {
            let plan = plan
                .map_err(|e| err(format!("bad benchmark plan: {e}")))?
                .within_limits();
            let backend = state.borrow().backend.clone();
            let (w, h) = (
                width.clamp(64, 2048) as usize,
                height.clamp(64, 2048) as usize,
            );
            let (plane, labels) = colony::colony(w, h, 1);
            let figures = bench::run(&backend, &plane, &labels, &plan, &now, &mut |figure| {
                if let Ok(value) = serde_wasm(figure) {
                    let _ = progress.call1(&JsValue::NULL, &value);
                }
            })
            .await
            .map_err(err)?;
            serde_wasm(&figures)
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

    /// Prepares fresh networks of `archs` (preset names or text forms) to train side by side
    /// on the same batches; returns their text forms. The network of `startTraining` is
    /// left alone.
    #[wasm_bindgen(js_name = startComparison)]
    pub fn start_comparison(
        &self,
        archs: Vec<String>,
        learning_rate: f64,
        batch: u32,
        seed: u32,
        augment: bool,
    ) -> Result<Vec<String>, JsValue> {
        let specs = archs
            .iter()
            .map(|a| spec_of(a))
            .collect::<Result<Vec<_>, _>>()?;
        if !(2..=MAX_COMPARED).contains(&specs.len()) {
            return Err(err(format!(
                "compare 2 to {MAX_COMPARED} networks, not {}",
                specs.len()
            )));
        }
        self.with(|s| {
            let (image, labels) = Engine::labelled(s)?;
            let config = train_config(learning_rate, batch, seed, augment);
            let (train, heldout) = heldout_split(image.width, image.height);
            let comparison = Comparison::new(
                &specs,
                image,
                labels,
                train,
                heldout,
                config,
                &s.backend.device,
            )
            .map_err(err)?;
            s.comparison = Some(comparison);
            Ok(specs.iter().map(|spec| spec.to_string()).collect())
        })
    }

    /// One step of every compared network on one shared batch; resolves to a Float32Array
    /// of (loss, batch mistakes) pairs in the order of `startComparison`.
    #[wasm_bindgen(js_name = comparisonStep)]
    pub fn comparison_step(&self) -> Promise {
        self.job(|state| async move {
            let mut comparison = Engine::take_comparison(&state)?;
            let reports = comparison.step().await;
            state.borrow_mut().comparison = Some(comparison);
            let out: Vec<f32> = reports
                .map_err(err)?
                .iter()
                .flat_map(|r| [r.loss, r.batch_mistakes])
                .collect();
            Ok(Float32Array::from(out.as_slice()).into())
        })
    }

    /// Each compared network's mistake rate (0..1) on the shared held-out patches.
    #[wasm_bindgen(js_name = comparisonHeldout)]
    pub fn comparison_heldout(&self) -> Promise {
        self.job(|state| async move {
            let comparison = Engine::take_comparison(&state)?;
            let rates = comparison.heldout_mistake_rates().await;
            state.borrow_mut().comparison = Some(comparison);
            Ok(Float32Array::from(rates.map_err(err)?.as_slice()).into())
        })
    }

    /// Replaces the ensemble used by `segment(.., true, ..)` with the networks in `files` (an
    /// array of weights files as Uint8Arrays); returns their text forms. All or nothing: a bad
    /// file leaves the ensemble as it was.
    #[wasm_bindgen(js_name = setEnsemble)]
    pub fn set_ensemble(&self, files: js_sys::Array) -> Result<Vec<String>, JsValue> {
        self.with(|s| {
            let mut nets = Vec::new();
            for (k, file) in files.iter().enumerate() {
                let bytes = Uint8Array::new(&file).to_vec();
                let net = weights::model_from_bytes(&bytes, &s.backend.device)
                    .map_err(|e| err(format!("network {} of the ensemble: {e}", k + 1)))?;
                nets.push(net);
            }
            let texts = nets
                .iter()
                .map(|m| match m {
                    Model::Patch(n) => format!("{} ({})", n.spec.name, n.spec),
                    Model::UNet(n) => format!("unet ({} parameters)", n.params()),
                })
                .collect();
            s.ensemble = nets;
            Ok(texts)
        })
    }

    /// How many networks the ensemble holds.
    #[wasm_bindgen(getter, js_name = ensembleSize)]
    pub fn ensemble_size(&self) -> u32 {
        self.state.borrow().ensemble.len() as u32
    }

    /// Class probabilities of a crop: Float32Array of 3 planes (other, cell, edge), from the
    /// network in training or, with `ensemble`, the mean of the ensemble's maps (and the
    /// network in training's too, `with_trained`: post 2 averages networks). Dense (the
    /// dilated twin, tiled) when `naive_batch` is 0, else patch by patch in batches of that
    /// size (the slow way, for comparison). `progress(done, total)` follows the work; a dense
    /// map is kept for `cells`.
    #[allow(clippy::too_many_arguments)] // a crop, three choices and a callback
    pub fn segment(
        &self,
        x: u32,
        y: u32,
        width: u32,
        height: u32,
        ensemble: bool,
        with_trained: bool,
        naive_batch: u32,
        progress: Function,
    ) -> Promise {
        self.job(move |state| async move {
            let rect = crop(x, y, width, height);
            let (rect, map) =
                Engine::map_of(&state, rect, ensemble, with_trained, naive_batch, progress).await?;
            let out = Float32Array::from(map.data.as_slice());
            if naive_batch == 0 {
                // the naive map only exists to be compared with the dense one
                let mut s = state.borrow_mut();
                s.last_map = Some(map);
                s.map_scale = s.scale();
                s.last_rect = Some(rect);
                s.last_cells = None; // cells of the map before: found again by `cells`
            }
            Ok(out.into())
        })
    }

    /// Starts a run over many files: each `batchFile` adds its pages' results, and
    /// `batchFinish` hands back one zip of them all (see [`crate::batch::Archive`]). The files
    /// come one at a time, so memory holds one image and the compressed results.
    #[wasm_bindgen(js_name = batchBegin)]
    pub fn batch_begin(&self) -> Result<(), JsValue> {
        self.with(|s| {
            s.batch = Some(crate::batch::Archive::default());
            Ok(())
        })
    }

    /// Segments `channel` (-1: the luminance) of every page of the file `bytes` (named `name`
    /// in the tables) with the pretrained networks (`ensemble`; else the network from step 2
    /// alone), and the network from step 2 too when `with_trained`, at scale `factor` (0:
    /// measured from the file's first page, as the CLI's `--scale auto`), with the clean-up
    /// settings `cells` takes; `micron` above 0 is the pixel size (else what the file states).
    /// Returns the file's summary rows (CSV, [`crate::batch::SUMMARY_HEADER`]'s columns); a
    /// file that cannot be read gives a row with the reason, not an error.
    /// `progress(done, pages)` follows its pages.
    #[wasm_bindgen(js_name = batchFile)]
    #[allow(clippy::too_many_arguments)] // a file, the networks, a scale, the clean-up, a callback
    pub fn batch_file(
        &self,
        bytes: Vec<u8>,
        name: String,
        channel: i32,
        ensemble: bool,
        with_trained: bool,
        factor: f64,
        median_radius: u32,
        threshold: f32,
        grow_to: f32,
        min_area: u32,
        rim: u32,
        min_contrast: f32,
        micron: f64,
        progress: Function,
    ) -> Promise {
        self.job(move |state| async move {
            let (networks, backend) = {
                let s = state.borrow();
                if s.batch.is_none() {
                    return Err(err("start the run first (batchBegin)"));
                }
                (
                    s.segmenting(ensemble, with_trained).map_err(err)?,
                    s.backend.clone(),
                )
            };
            let scale = if factor > 0.0 {
                ScaleChoice::Factor(factor)
            } else {
                ScaleChoice::Auto
            };
            let post = PostConfig {
                median_radius: median_radius.min(MAX_MEDIAN),
                threshold,
                grow_to,
                min_area,
                rim,
                min_contrast,
                ..PostConfig::default()
            };
            let micron = (micron > 0.0).then_some(micron);
            let channel = u8::try_from(channel).map_or(Channel::Luminance, Channel::Index);
            let result = crate::batch::segment_file(
                &bytes,
                &name,
                channel,
                &networks,
                scale,
                &post,
                micron,
                &backend,
                between_pages(progress),
            )
            .await;
            let mut s = state.borrow_mut();
            let archive = s
                .batch
                .as_mut()
                .ok_or_else(|| err("the run was not started"))?;
            let rows = archive.add(&name, &result).map_err(err)?;
            Ok(rows.into())
        })
    }

    /// The run's zip: every page's label TIFF, GeoJSON and ROI set, `cells.csv` and
    /// `summary.csv`. Ends the run.
    #[wasm_bindgen(js_name = batchFinish)]
    pub fn batch_finish(&self) -> Result<Vec<u8>, JsValue> {
        self.with(|s| {
            let archive = s.batch.take().ok_or_else(|| err("no run to finish"))?;
            archive.finish().map_err(err)
        })
    }

    /// Starts a map of a large crop that `segmentPart` fills part by part (so the worker can
    /// show progress and stop between parts) and `finishMap` completes.
    #[wasm_bindgen(js_name = beginMap)]
    pub fn begin_map(&self, x: u32, y: u32, width: u32, height: u32) -> Result<(), JsValue> {
        self.with(|s| {
            let image = s.image.as_ref().ok_or_else(|| err("no image loaded"))?;
            let (rect, map) =
                ProbabilityMap::for_crop(image, crop(x, y, width, height)).map_err(err)?;
            s.pending = Some((rect, map));
            Ok(())
        })
    }

    /// Segments one part of the map begun by `beginMap` (densely; see `segment`).
    #[wasm_bindgen(js_name = segmentPart)]
    #[allow(clippy::too_many_arguments)]
    pub fn segment_part(
        &self,
        x: u32,
        y: u32,
        width: u32,
        height: u32,
        ensemble: bool,
        with_trained: bool,
        progress: Function,
    ) -> Promise {
        self.job(move |state| async move {
            let whole = state
                .borrow()
                .pending
                .as_ref()
                .map(|(r, _)| *r)
                .ok_or_else(|| err("no map was begun"))?;
            let part = crop(x, y, width, height);
            if !(whole.contains(part.x0, part.y0) && part.x1 <= whole.x1 && part.y1 <= whole.y1) {
                return Err(err("the part lies outside the map begun"));
            }
            let (part, map) =
                Engine::map_of(&state, part, ensemble, with_trained, 0, progress).await?;
            let mut s = state.borrow_mut();
            let (whole, pending) = s.pending.as_mut().ok_or_else(|| err("no map was begun"))?;
            pending.paste(*whole, part, &map.data);
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Completes the map begun by `beginMap`: it becomes the last segmentation.
    #[wasm_bindgen(js_name = finishMap)]
    pub fn finish_map(&self) -> Result<Float32Array, JsValue> {
        self.with(|s| {
            let (rect, map) = s.pending.take().ok_or_else(|| err("no map was begun"))?;
            let out = Float32Array::from(map.data.as_slice());
            s.last_map = Some(map);
            s.map_scale = s.scale();
            s.last_rect = Some(rect);
            s.last_cells = None;
            Ok(out)
        })
    }

    /// The clean-up of the last `segment` result (see [`crate::post`]), with settings at
    /// the networks' scale (sizes follow the image's scale; `rim` 0 keeps the posts' cores).
    pub fn cells(
        &self,
        median_radius: u32,
        threshold: f32,
        grow_to: f32,
        min_area: u32,
        rim: u32,
        min_contrast: f32,
    ) -> Result<FoundCells, JsValue> {
        self.with(|s| {
            let factor = s.map_scale;
            let map = Engine::last_map(s)?;
            let config = PostConfig {
                median_radius,
                threshold,
                grow_to,
                min_area,
                rim,
                min_contrast,
                ..PostConfig::default()
            }
            .at_scale(factor);
            let config = PostConfig {
                median_radius: config.median_radius.min(MAX_MEDIAN),
                ..config
            };
            let p = smoothed_cell_probability(map, config.median_radius);
            let found = cells_from_smoothed(&p, map, &config);
            let image = s.image.as_ref().ok_or_else(|| err("no image loaded"))?;
            let rect = s.last_rect.ok_or_else(|| err("segment a crop first"))?;
            let found = crate::pipeline::faint_dropped(found, image, rect, &config);
            s.last_cells = Some((found.clone(), p));
            let centroids = found.centroids().into_iter().flat_map(|(x, y)| [x, y]);
            Ok(FoundCells {
                lengths: found.lengths(),
                centroids: centroids.collect(),
                labels: found.labels,
                areas: found.areas,
            })
        })
    }

    /// The last cells as an image file: `what` is "labels" (16-bit ids), "mask",
    /// "probability" (p(cell) after the median, 16-bit), each as `format` "png" or "tiff", or
    /// "probabilities" (p(cell), p(edge), p(other) unsmoothed: a float32 TIFF of three pages,
    /// whatever `format` says).
    #[wasm_bindgen(js_name = exportCells)]
    pub fn export_cells(&self, what: &str, format: &str) -> Result<Vec<u8>, JsValue> {
        let format = match format {
            "png" => ImageFormat::Png,
            "tiff" => ImageFormat::Tiff,
            other => return Err(err(format!("unknown format '{other}' (png or tiff)"))),
        };
        self.with(|s| {
            let (found, p) = s
                .last_cells
                .as_ref()
                .ok_or_else(|| err("segment a crop first"))?;
            let bytes = match what {
                "labels" => export::labels(found, format),
                "mask" => export::mask(found, format),
                "probability" => export::probability(p, found.width, found.height, format),
                // the three classes as the networks gave them: always a float32 TIFF stack
                "probabilities" => export::probabilities(Engine::last_map(s)?),
                other => return Err(err(format!("unknown export '{other}'"))),
            };
            bytes.map_err(err)
        })
    }

    /// The last cells' measurements as a CSV table ([`crate::post::measure`], the CLI's columns):
    /// for the image `file`, its `page` (from 1), with µm columns when `micron` (the pixel
    /// size) is above 0. Intensities are in the file's units where the file has them.
    #[wasm_bindgen(js_name = cellsCsv)]
    pub fn cells_csv(&self, file: &str, page: u32, micron: f64) -> Result<String, JsValue> {
        self.with(|s| {
            let (found, _) = s
                .last_cells
                .as_ref()
                .ok_or_else(|| err("segment a crop first"))?;
            let rect = s.last_rect.ok_or_else(|| err("segment a crop first"))?;
            let image = s.image.as_ref().ok_or_else(|| err("no image loaded"))?;
            let intensity = match &s.units {
                Some((units, _)) => Plane::new(
                    image.width,
                    image.height,
                    image.data.iter().map(|&v| units.of(v) as f32).collect(),
                ),
                None => (**image).clone(),
            };
            let rows = crate::post::measure::measure(found, rect, &intensity);
            let micron = (micron > 0.0).then_some(micron);
            Ok(format!(
                "{}\n{}",
                crate::post::measure::HEADER,
                crate::post::measure::csv_rows(file, page.max(1) as usize, &rows, micron)
            ))
        })
    }

    /// The last cells as an ImageJ/Fiji ROI set ([`crate::post::roi`]): a zip of one traced polygon
    /// per cell, named `cell-NNNN` by id, in image coordinates.
    #[wasm_bindgen(js_name = cellsRoiZip)]
    pub fn cells_roi_zip(&self) -> Result<Vec<u8>, JsValue> {
        self.with(|s| {
            let (found, _) = s
                .last_cells
                .as_ref()
                .ok_or_else(|| err("segment a crop first"))?;
            let rect = s.last_rect.ok_or_else(|| err("segment a crop first"))?;
            crate::post::roi::zip(found, rect).map_err(err)
        })
    }

    /// p(cell) of the last segmentation after a median filter of `radius` (post 2's averaging
    /// over space), one value per pixel of the crop.
    #[wasm_bindgen(js_name = smoothedCellProbability)]
    pub fn smoothed_cell_probability(&self, radius: u32) -> Result<Vec<f32>, JsValue> {
        self.with(|s| {
            let map = Engine::last_map(s)?;
            Ok(smoothed_cell_probability(map, radius.min(MAX_MEDIAN)))
        })
    }

    /// Areas of the labelled cells of the loaded image (components of the cell class).
    #[wasm_bindgen(js_name = labelledCellAreas)]
    pub fn labelled_cell_areas(&self) -> Result<Vec<u32>, JsValue> {
        self.with(|s| {
            let (_, labels) = Engine::labelled(s)?;
            Ok(labels.cells().areas)
        })
    }

    /// Two-sample Kolmogorov–Smirnov test of two size samples: `[D, p]`.
    #[wasm_bindgen(js_name = ksTest)]
    pub fn ks_test(a: &[u32], b: &[u32]) -> Result<Vec<f64>, JsValue> {
        let (d, p) = crate::post::ks_test(a, b).map_err(err)?;
        Ok(vec![d, p])
    }

    /// The clean-up's default settings: [median radius, threshold, grow-to, min area, rim,
    /// min contrast].
    #[wasm_bindgen(js_name = postDefaults)]
    pub fn post_defaults() -> Vec<f64> {
        let d = PostConfig::default();
        vec![
            d.median_radius as f64,
            d.threshold as f64,
            d.grow_to as f64,
            d.min_area as f64,
            d.rim as f64,
            d.min_contrast as f64,
        ]
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
