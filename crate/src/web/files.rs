//! Files out and in: the cells' exports, a whole session in one file, many files in one run.

use super::*;

/// A session file's parts ([`Engine::session_unpack`]).
#[wasm_bindgen]
pub struct SessionFile {
    meta: JsValue,
    paint: Vec<u8>,
    network: Vec<u8>,
}

#[wasm_bindgen]
impl SessionFile {
    /// `session.json`: `{format, version, image, scale, settings}`.
    #[wasm_bindgen(getter)]
    pub fn meta(&self) -> JsValue {
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

#[wasm_bindgen]
impl Engine {
    /// A whole session as one file ([`crate::io::session_file`]): `meta` holds its image
    /// (`{name, page, channel, width, height}` or null), `scale` and `settings`; `paint` the
    /// painted classes over that image (empty: none); `network` a weights file (empty: none).
    #[wasm_bindgen(js_name = sessionPack)]
    pub fn session_pack(
        meta: JsValue,
        paint: Vec<u8>,
        network: Vec<u8>,
    ) -> Result<Vec<u8>, JsValue> {
        let mut value: serde_json::Value = from_js(meta, "session")?;
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
            meta: to_js(&session.meta)?,
            paint: session.paint.unwrap_or_default(),
            network: session.network.unwrap_or_default(),
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
    /// found as the CLI's `--scale auto` finds it), with the clean-up `settings` (as `cells`
    /// takes them); `micron` above 0 is the pixel size (else what the file states).
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
        settings: JsValue,
        micron: f64,
        progress: Function,
    ) -> Promise {
        let settings: Result<api::CleanUp, _> = from_js(settings, "clean-up settings");
        self.job(move |state| async move {
            let post = settings?.config(MAX_MEDIAN);
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
            let rows = Engine::measured(s)?;
            let micron = (micron > 0.0).then_some(micron);
            Ok(format!(
                "{}\n{}",
                crate::post::measure::HEADER,
                crate::post::measure::csv_rows(file, page.max(1) as usize, &rows, micron)
            ))
        })
    }

    /// The last cells as QuPath's GeoJSON ([`crate::post::geojson`]): one polygon per cell in
    /// image coordinates, with its measurements (intensities in the file's units).
    #[wasm_bindgen(js_name = cellsGeojson)]
    pub fn cells_geojson(&self) -> Result<String, JsValue> {
        self.with(|s| {
            let rows = Engine::measured(s)?;
            let found = Engine::last_cells(s)?;
            let rect = s.last_rect.ok_or_else(|| err("segment a crop first"))?;
            Ok(crate::post::geojson::cells(found, rect, &rows).to_string())
        })
    }

    /// The last cells as an ImageJ/Fiji ROI set ([`crate::post::roi`]): a zip of one traced polygon
    /// per cell, named `cell-NNNN` by id, in image coordinates.
    #[wasm_bindgen(js_name = cellsRoiZip)]
    pub fn cells_roi_zip(&self) -> Result<Vec<u8>, JsValue> {
        self.with(|s| {
            let found = Engine::last_cells(s)?;
            let rect = s.last_rect.ok_or_else(|| err("segment a crop first"))?;
            crate::post::roi::zip(found, rect).map_err(err)
        })
    }
}

impl Engine {
    /// The measurements of the last cells ([`crate::post::measure`]), intensities in the
    /// file's units where the file has them.
    fn measured(s: &Session) -> Result<Vec<crate::post::measure::Measures>, JsValue> {
        let found = Engine::last_cells(s)?;
        let rect = s.last_rect.ok_or_else(|| err("segment a crop first"))?;
        let image = s.image.as_ref().ok_or_else(|| err("no image loaded"))?;
        let intensity = match &s.units {
            Some((units, _)) => units.plane(image),
            None => (**image).clone(),
        };
        Ok(crate::post::measure::measure(found, rect, &intensity))
    }
}
