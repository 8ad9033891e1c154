//! Segmenting: the networks' maps (whole, or part by part with progress), the clean-up into
//! cells, scoring them against true labels, and the benchmark.

use super::*;

/// Cells found in a crop.
#[wasm_bindgen]
pub struct FoundCells {
    labels: Vec<u32>,
    areas: Vec<u32>,
    centroids: Vec<f64>,
    lengths: Vec<f64>,
    doubt: Option<String>,
    blur: Option<f32>,
}

#[wasm_bindgen]
impl FoundCells {
    /// Why these cells are doubtful ([`crate::pipeline::doubts`]: most lack phase contrast's
    /// halo, do not stand out from the background's texture, or the networks are sure of too
    /// little of them); undefined where they are not.
    #[wasm_bindgen(getter)]
    pub fn doubt(&self) -> Option<String> {
        self.doubt.clone()
    }

    /// σ (in the networks' pixels) of the blur the networks saw the image smoothed with, where
    /// it was noisier than they learned ([`crate::io::denoise`]); undefined where it was not.
    #[wasm_bindgen(getter)]
    pub fn blur(&self) -> Option<f32> {
        self.blur
    }

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

#[wasm_bindgen]
impl Engine {
    /// Scores the last cells against true labels of the image: a class map (0 other, 1 cell,
    /// 2 edge) or an instance image (0 background, each cell its own id), `kind` "classes",
    /// "instances" or "auto" (classes when no value exceeds 2): [`api::Evaluation`].
    #[wasm_bindgen(js_name = evaluateTruth)]
    pub fn evaluate_truth(&self, bytes: &[u8], kind: &str) -> Result<JsValue, JsValue> {
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
            let found = Engine::last_cells(s)?;
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
            to_js(&api::Evaluation {
                kind: if as_classes { "classes" } else { "instances" },
                crop: [rect.x0, rect.y0, rect.width(), rect.height()],
                report,
            })
        })
    }

    /// The benchmark ([`crate::bench`]) on this engine's backend, over a synthetic colony of
    /// `width` x `height` (nothing loaded is touched), following `plan` ([`Plan`]).
    /// `progress(figure)` sees each figure as it is measured; resolves to all.
    pub fn bench(&self, width: u32, height: u32, plan: JsValue, progress: Function) -> Promise {
        let plan: Result<Plan, _> = from_js(plan, "benchmark plan");
        self.job(move |state| async move {
            let plan = plan?.within_limits();
            let backend = state.borrow().backend.clone();
            let (w, h) = (
                width.clamp(64, 2048) as usize,
                height.clamp(64, 2048) as usize,
            );
            let (plane, labels) = colony::colony(w, h, 1);
            let figures = bench::run(&backend, &plane, &labels, &plan, &now, &mut |figure| {
                if let Ok(value) = to_js(figure) {
                    let _ = progress.call1(&JsValue::NULL, &value);
                }
            })
            .await
            .map_err(err)?;
            to_js(&figures)
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
            let (rect, map, bar) =
                Engine::map_of(&state, rect, ensemble, with_trained, naive_batch, progress).await?;
            let out = Float32Array::from(map.data.as_slice());
            if naive_batch == 0 {
                // the naive map only exists to be compared with the dense one
                let mut s = state.borrow_mut();
                s.last_map = Some(map);
                s.map_sure_bar = bar;
                s.map_scale = s.scale();
                s.map_blur = s.blur();
                s.last_rect = Some(rect);
                s.last_cells = None; // cells of the map before: found again by `cells`
                s.last_found = None;
            }
            Ok(out.into())
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
            s.pending = Some((rect, map, None));
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
                .map(|(r, _, _)| *r)
                .ok_or_else(|| err("no map was begun"))?;
            let part = crop(x, y, width, height);
            if !(whole.contains(part.x0, part.y0) && part.x1 <= whole.x1 && part.y1 <= whole.y1) {
                return Err(err("the part lies outside the map begun"));
            }
            let (part, map, bar) =
                Engine::map_of(&state, part, ensemble, with_trained, 0, progress).await?;
            let mut s = state.borrow_mut();
            let (whole, pending, pending_bar) =
                s.pending.as_mut().ok_or_else(|| err("no map was begun"))?;
            pending.paste(*whole, part, &map.data);
            // parts from networks of different bars: the strictest, as for a mix (sure::bar)
            *pending_bar = Some(pending_bar.map_or(bar, |before| before.max(bar)));
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Completes the map begun by `beginMap`: it becomes the last segmentation.
    #[wasm_bindgen(js_name = finishMap)]
    pub fn finish_map(&self) -> Result<Float32Array, JsValue> {
        self.with(|s| {
            let (rect, map, bar) = s.pending.take().ok_or_else(|| err("no map was begun"))?;
            let out = Float32Array::from(map.data.as_slice());
            s.last_map = Some(map);
            s.map_sure_bar = bar.unwrap_or(crate::post::sure::BAR);
            s.map_scale = s.scale();
            s.map_blur = s.blur();
            s.last_rect = Some(rect);
            s.last_cells = None;
            s.last_found = None;
            Ok(out)
        })
    }

    /// The clean-up of the last `segment` result (see [`crate::post`]) with `settings`
    /// ([`api::CleanUp`]) at the networks' scale (sizes follow the image's scale; `rim` 0
    /// keeps the posts' cores).
    pub fn cells(&self, settings: JsValue) -> Result<FoundCells, JsValue> {
        let settings: api::CleanUp = from_js(settings, "clean-up settings")?;
        self.with(|s| {
            let factor = s.map_scale;
            let map = Engine::last_map(s)?;
            let config = settings.config(u32::MAX).at_scale(factor);
            let config = PostConfig {
                median_radius: config.median_radius.min(MAX_MEDIAN),
                ..config
            };
            let p = smoothed_cell_probability(map, config.median_radius);
            let found = cells_from_smoothed(&p, map, &config);
            let image = s.image.as_ref().ok_or_else(|| err("no image loaded"))?;
            let rect = s.last_rect.ok_or_else(|| err("segment a crop first"))?;
            let networks_found = found.clone();
            let found = crate::pipeline::borne_out(found, image, rect, &config);
            let bar = s.map_sure_bar;
            let (doubt, doubted) = crate::pipeline::doubts(&found, image, rect, &config, map, bar);
            // (for the scale search alone, while one is being checked)
            let checking = s
                .auto_scale
                .as_ref()
                .is_some_and(|search| !search.settled());
            let edges = checking
                .then(|| crate::pipeline::edges_around(&found, image, rect))
                .flatten();
            s.last_cells = Some((found.clone(), p));
            s.last_found = Some((networks_found, doubted, edges));
            let centroids = found.centroids().into_iter().flat_map(|(x, y)| [x, y]);
            Ok(FoundCells {
                doubt,
                blur: s.map_blur,
                lengths: found.lengths(),
                centroids: centroids.collect(),
                labels: found.labels,
                areas: found.areas,
            })
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

    /// Two-sample Kolmogorov–Smirnov test of two size samples ([`api::KsTest`]).
    #[wasm_bindgen(js_name = ksTest)]
    pub fn ks_test(a: &[u32], b: &[u32]) -> Result<JsValue, JsValue> {
        let (d, p) = crate::post::ks_test(a, b).map_err(err)?;
        to_js(&api::KsTest { d, p })
    }
}
