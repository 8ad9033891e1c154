//! The labels and chapter 1's patches: class maps loaded or painted, their pixels per class
//! and histograms, the patch around a pixel and the lookalike of another class.

use super::*;

#[wasm_bindgen]
impl Engine {
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
    /// [`api::Point`], or null when there is none.
    pub fn lookalike(&self, x: u32, y: u32) -> Result<JsValue, JsValue> {
        self.with(|s| {
            let (image, labels) = Engine::labelled(s)?;
            let (x, y) = Engine::inside(image, x, y)?;
            to_js(
                &intensity::lookalike(image, labels, x, y, 0.01).map(|(x, y)| api::Point { x, y }),
            )
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
}
