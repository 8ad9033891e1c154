//! Scoring a segmentation against hand labels: the clean-up of [`crate::post`] applied to a
//! probability map, then the pixel and object metrics of [`crate::eval::metrics`].

use serde::Serialize;

use crate::core::cells::Cells;
use crate::core::classes::{CLASS_CELL, CLASS_EDGE, CLASS_OTHER};
use crate::core::probability::ProbabilityMap;
use crate::eval::metrics::{ObjectScores, Overlaps, PixelScores, object_scores_from, pixel_scores};
use crate::eval::unmatched::{Unmatched, unmatched_from};
use crate::io::labels::ClassMap;

/// IoU thresholds reported, as the field does.
pub const TAUS: [f64; 3] = [0.5, 0.75, 0.9];

/// Everything measured on one region.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub pixel_accuracy: f64,
    /// IoU of other, cell, edge.
    pub class_iou: [f64; 3],
    pub cells_predicted: usize,
    pub cells_true: usize,
    pub objects: Vec<ObjectScores>,
    /// Why true cells went unmatched at IoU 0.5.
    pub unmatched: Unmatched,
}

/// The predicted class of every pixel: cell where the clean-up found a cell, otherwise the
/// likelier of edge and other.
pub fn predicted_classes(map: &ProbabilityMap, found: &Cells) -> Vec<u8> {
    let (other, edge) = (map.class(CLASS_OTHER), map.class(CLASS_EDGE));
    (0..found.labels.len())
        .map(|i| {
            if found.labels[i] != 0 {
                CLASS_CELL
            } else if edge[i] > other[i] {
                CLASS_EDGE
            } else {
                CLASS_OTHER
            }
        })
        .collect()
}

/// Which cells are scored: the cores the posts found (cell pixels only), or whole cells
/// (cores with their rims; see [`crate::post`] and [`ClassMap::whole_cells`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Core,
    Whole,
}

/// [`evaluate`] for `kind`: `found` are cells of that kind, `truth_cores` the labelled
/// cores (an instance image or [`ClassMap::cells`]). For whole cells the truth cores take
/// their rims, and the class "cell" of the pixel scores is the whole-cell mask on both sides.
pub fn evaluate_kind(
    kind: Kind,
    map: &ProbabilityMap,
    found: &Cells,
    truth: &ClassMap,
    truth_cores: &Cells,
) -> Report {
    match kind {
        Kind::Core => evaluate(map, found, truth, truth_cores),
        Kind::Whole => {
            let whole = truth.with_rims(truth_cores);
            let classes = truth
                .classes
                .iter()
                .zip(&whole.labels)
                .map(|(&c, &l)| if l != 0 { CLASS_CELL } else { c })
                .collect();
            let truth = ClassMap {
                classes,
                ..truth.clone()
            };
            evaluate(map, found, &truth, &whole)
        }
    }
}

/// Scores the cells found in a probability map (by [`crate::post::cells`]) against the true
/// classes and cells of the same region (`truth_cells`: e.g. [`ClassMap::cells`], or an
/// instance image renumbered by [`Cells::from_labels`]).
pub fn evaluate(
    map: &ProbabilityMap,
    found: &Cells,
    truth: &ClassMap,
    truth_cells: &Cells,
) -> Report {
    assert_eq!(
        (map.width, map.height),
        (truth.width, truth.height),
        "map and labels differ in size"
    );
    let pixels: PixelScores = pixel_scores(&predicted_classes(map, found), &truth.classes);
    let overlaps = Overlaps::count(&found.labels, &truth_cells.labels);
    Report {
        pixel_accuracy: pixels.accuracy,
        class_iou: pixels.iou,
        cells_predicted: found.count(),
        cells_true: truth_cells.count(),
        objects: TAUS
            .iter()
            .map(|&t| object_scores_from(&overlaps, t))
            .collect(),
        unmatched: unmatched_from(&overlaps),
    }
}
