//! The messages of the wasm API, as Rust types: what `web`'s methods return to the page's
//! worker (serialised to plain JavaScript objects with serde-wasm-bindgen, keys in camelCase)
//! and the settings they take from it. One schema, written once: the worker passes these
//! objects on rather than unpacking arrays by position. Compiled natively too, so the
//! shapes are tested without a browser.

use serde::{Deserialize, Serialize};

use crate::eval::evaluate::Report;
use crate::io::decode;
use crate::model::spec::{LayerRow, PRESETS, Spec};
use crate::post::PostConfig;
use crate::train::StepReport;

/// A loaded image: its size, what the file holds and how it is shown.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageInfo {
    pub width: usize,
    pub height: usize,
    /// Columns from here on are held out from training.
    pub heldout_from: usize,
    pub pages: usize,
    pub channels: usize,
    pub bits: usize,
    /// The pixel size (µm) the file states in its ImageJ or OME metadata.
    pub micron: Option<f64>,
    pub display: DisplayRange,
    /// The share of the image that is a flat frame (padding), left out of the picture.
    pub padding: f64,
    /// How many times brighter the brightest part of the field was lit than the darkest,
    /// where the light was uneven and was evened out (`crate::io::light`).
    pub light: Option<f64>,
    /// The share of the image under marks burnt into it (a timestamp's box, a scale bar), left
    /// out of the picture (`crate::io::marks`).
    pub marks: f64,
    /// The share of the image in a field stop's dark outside (the camera's dark level and its
    /// noise), left out of the picture (`crate::io::field_stop`).
    pub outside: f64,
}

/// The display window of auto-levels (1st, 99th percentile) and the file's range, in file
/// units: floor..full is 0..65535 for 16-bit data, the values' own for float and signed data.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct DisplayRange {
    pub low: f64,
    pub high: f64,
    pub floor: f64,
    pub full: f64,
}

/// A synthetic colony replacing the image, with its labels' pixels per class.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ColonyInfo {
    pub width: usize,
    pub height: usize,
    pub heldout_from: usize,
    /// Pixels of other, cell and edge.
    pub counts: [usize; 3],
}

/// The size the networks see the image at.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Size {
    pub width: usize,
    pub height: usize,
}

/// The automatic scale's start ([`crate::scale::auto_scale::ScaleSearch`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScaleEstimate {
    pub factor: f64,
    pub reason: String,
    /// The resampled size.
    pub width: usize,
    pub height: usize,
}

/// One check of the automatic scale against the cells found.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScaleCheck {
    /// Segment again, at `factor`.
    pub again: bool,
    pub factor: f64,
    pub width: usize,
    pub height: usize,
    /// The whole story of the search so far.
    pub how: String,
    /// Why the scale the search settled at is doubtful, where it is (none while `again`).
    pub doubt: Option<String>,
}

/// The median width of the cells found and the scale factor it gives; none without cells.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct CellWidth {
    pub width: Option<f64>,
    pub factor: Option<f64>,
    /// The tutorial's cell width, for comparison.
    pub tutorial: f64,
}

/// The median length of the cells found and the scale factor it gives; none without cells.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct CellLength {
    pub length: Option<f64>,
    pub factor: Option<f64>,
}

/// The last cells scored against true labels of the crop.
#[derive(Clone, Debug, Serialize)]
pub struct Evaluation {
    /// How the labels were read: "classes" or "instances".
    pub kind: &'static str,
    /// The crop scored: x, y, width, height.
    pub crop: [usize; 4],
    pub report: Report,
}

/// A preset of the posts' networks, for the menus.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Preset {
    pub name: String,
    pub text: String,
    pub about: String,
    pub params: usize,
}

/// What the page needs to know before anything is loaded.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Defaults {
    pub presets: Vec<Preset>,
    pub post: CleanUp,
    pub limits: Limits,
}

/// The largest input the page takes.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Limits {
    pub max_pixels: u64,
    pub max_file_bytes: usize,
}

impl Defaults {
    pub fn new() -> Defaults {
        Defaults {
            presets: PRESETS
                .iter()
                .map(|(name, text, about)| Preset {
                    name: name.to_string(),
                    text: text.to_string(),
                    about: about.to_string(),
                    params: Spec::preset(name).expect("preset").params(),
                })
                .collect(),
            post: PostConfig::default().into(),
            limits: Limits {
                max_pixels: decode::MAX_PIXELS,
                max_file_bytes: decode::MAX_FILE_BYTES,
            },
        }
    }
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults::new()
    }
}

/// The clean-up's settings as the page's form holds them ([`PostConfig`] for the rest).
/// Counts read from any number a form or a shared link can hold (2.5 → 3, -1 → 0), as
/// wasm-bindgen's own integer arguments did.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CleanUp {
    /// Median filter radius in pixels.
    #[serde(deserialize_with = "whole")]
    pub median: u32,
    pub threshold: f32,
    pub grow_to: f32,
    #[serde(deserialize_with = "whole")]
    pub min_area: u32,
    #[serde(default, deserialize_with = "whole")]
    pub rim: u32,
    #[serde(default)]
    pub min_contrast: f32,
    #[serde(default)]
    pub min_share: f32,
}

/// A count from a number: rounded, at least 0; not a number is refused.
fn whole<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let v = f64::deserialize(d)?;
    if v.is_finite() {
        Ok(v.round().clamp(0.0, u32::MAX as f64) as u32)
    } else {
        Err(serde::de::Error::custom(format!("{v} is not a count")))
    }
}

impl From<PostConfig> for CleanUp {
    fn from(c: PostConfig) -> CleanUp {
        CleanUp {
            median: c.median_radius,
            threshold: c.threshold,
            grow_to: c.grow_to,
            min_area: c.min_area,
            rim: c.rim,
            min_contrast: c.min_contrast,
            min_share: c.min_share,
        }
    }
}

impl CleanUp {
    /// The full configuration, with the median radius at most `max_median` (a page's form
    /// can ask for any).
    pub fn config(&self, max_median: u32) -> PostConfig {
        PostConfig {
            median_radius: self.median.min(max_median),
            threshold: self.threshold,
            grow_to: self.grow_to,
            min_area: self.min_area,
            rim: self.rim,
            min_contrast: self.min_contrast,
            min_share: self.min_share,
            ..PostConfig::default()
        }
    }
}

/// A network's layer table as far as a 31x31 patch gets, for a preset or a text form being
/// typed; the totals only for a network that reaches 1x1, `error` where it does not.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Description {
    pub name: Option<String>,
    pub text: Option<String>,
    /// The posts' layer table, row by row.
    pub rows: Vec<LayerRow>,
    pub error: Option<String>,
    pub params: Option<usize>,
    pub flops_per_patch: Option<f64>,
    pub flops_per_dense_pixel: Option<f64>,
    pub receptive_field: Option<usize>,
}

impl Description {
    /// `arch` is a preset name or a text form; never fails: a bad text is an `error`.
    pub fn of(arch: &str) -> Description {
        let spec = Spec::preset(arch).map_or_else(|| Spec::draft("custom", arch), Ok);
        let (spec, rows, check) = match spec {
            Ok(spec) => {
                let (rows, check) = spec.table();
                (Some(spec), rows, check)
            }
            Err(e) => (None, Vec::new(), Err(e)),
        };
        let whole = spec.as_ref().filter(|_| check.is_ok());
        Description {
            name: spec.as_ref().map(|s| s.name.clone()),
            text: spec.as_ref().map(|s| s.to_string()),
            rows,
            error: check.err().map(|e| e.to_string()),
            params: whole.map(|s| s.params()),
            flops_per_patch: whole.map(|s| s.flops_per_patch() as f64),
            flops_per_dense_pixel: whole.map(|s| s.flops_per_dense_pixel() as f64),
            receptive_field: whole.map(|s| s.receptive_field()),
        }
    }
}

/// A pixel's position.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Point {
    pub x: usize,
    pub y: usize,
}

/// Two-sample Kolmogorov–Smirnov test of two size samples.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct KsTest {
    pub d: f64,
    pub p: f64,
}

/// One step of the networks compared side by side, in the order they were started.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ComparisonStep {
    pub loss: Vec<f32>,
    pub batch_mistakes: Vec<f32>,
}

/// One Adam step of the network in training.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    /// Steps done so far, this one included.
    pub step: usize,
    pub loss: f32,
    pub batch_mistakes: f32,
}

impl From<StepReport> for Step {
    fn from(r: StepReport) -> Step {
        Step {
            step: r.step,
            loss: r.loss,
            batch_mistakes: r.batch_mistakes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn replies_have_the_keys_the_worker_reads() {
        let info = ImageInfo {
            width: 4,
            height: 3,
            heldout_from: 2,
            pages: 1,
            channels: 1,
            bits: 16,
            micron: None,
            display: DisplayRange {
                low: 1.0,
                high: 9.0,
                floor: 0.0,
                full: 65535.0,
            },
            padding: 0.25,
            light: Some(2.5),
            marks: 0.01,
            outside: 0.2,
        };
        assert_eq!(
            serde_json::to_value(&info).unwrap(),
            json!({"width": 4, "height": 3, "heldoutFrom": 2, "pages": 1, "channels": 1,
                   "bits": 16, "micron": null,
                   "display": {"low": 1.0, "high": 9.0, "floor": 0.0, "full": 65535.0},
                   "padding": 0.25, "light": 2.5, "marks": 0.01, "outside": 0.2})
        );
        let step = ComparisonStep {
            loss: vec![1.0],
            batch_mistakes: vec![0.5],
        };
        assert_eq!(
            serde_json::to_value(&step).unwrap(),
            json!({"loss": [1.0], "batchMistakes": [0.5]})
        );
    }

    #[test]
    fn the_defaults_hold_every_preset_and_the_clean_up_reads_back() {
        let d = Defaults::new();
        assert_eq!(d.presets.len(), PRESETS.len());
        assert_eq!(
            d.presets[0].params,
            Spec::preset(PRESETS[0].0).unwrap().params()
        );
        let form = serde_json::to_value(d.post).unwrap();
        assert_eq!(
            form.as_object().unwrap().keys().collect::<Vec<_>>(),
            [
                "growTo",
                "median",
                "minArea",
                "minContrast",
                "minShare",
                "rim",
                "threshold"
            ]
        );
        let back: CleanUp = serde_json::from_value(form).unwrap();
        assert_eq!(back.config(u32::MAX), PostConfig::default());
        // the page's older forms without rim and contrast still read, as the posts' clean-up
        let old: CleanUp = serde_json::from_value(
            json!({"median": 9, "threshold": 0.8, "growTo": 0.5, "minArea": 30}),
        )
        .unwrap();
        assert_eq!(
            (
                old.rim,
                old.min_contrast,
                old.min_share,
                old.config(4).median_radius
            ),
            (0, 0.0, 0.0, 4)
        );
        // counts from whatever number a form holds
        let odd: CleanUp = serde_json::from_value(
            json!({"median": 2.5, "threshold": 0.8, "growTo": 0.5, "minArea": -3, "rim": 1e12}),
        )
        .unwrap();
        assert_eq!((odd.median, odd.min_area, odd.rim), (3, 0, u32::MAX));
    }

    #[test]
    fn a_description_has_totals_only_for_a_network_that_reaches_one_pixel() {
        let good = Description::of("original");
        let first = serde_json::to_value(&good.rows[0]).unwrap();
        assert_eq!(
            first.as_object().unwrap().keys().collect::<Vec<_>>(),
            [
                "depth", "dilation", "field", "label", "out", "params", "stride"
            ]
        );
        assert_eq!(good.name.as_deref(), Some("original"));
        assert!(good.error.is_none() && good.params.is_some() && good.rows.len() > 3);
        let short = Description::of("conv3x8");
        assert!(short.error.is_some() && short.params.is_none() && !short.rows.is_empty());
        let bad = Description::of("conv banana");
        assert!(bad.error.is_some() && bad.rows.is_empty() && bad.text.is_none());
    }
}
