//! Scoring a segmentation against hand labels: the clean-up of [`crate::post`] applied to a
//! probability map, then the pixel and object metrics of [`crate::metrics`].

use serde::Serialize;

use crate::dense::ProbabilityMap;
use crate::labels::ClassMap;
use crate::metrics::{ObjectScores, PixelScores, object_scores, pixel_scores};
use crate::post::{Cells, PostConfig, cells};
use crate::spec::{CLASS_CELL, CLASS_EDGE, CLASS_OTHER};
use crate::unmatched::{Unmatched, unmatched};

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
pub fn predicted_classes(map: &ProbabilityMap, config: &PostConfig) -> Vec<u8> {
    predicted_classes_from(map, &cells(map, config))
}

fn predicted_classes_from(map: &ProbabilityMap, found: &Cells) -> Vec<u8> {
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

/// Scores a probability map against the true classes and cell instances of the same region
/// (instances: 0 background, else a cell's id).
pub fn evaluate(
    map: &ProbabilityMap,
    truth: &ClassMap,
    instances: &[u32],
    config: &PostConfig,
) -> Report {
    assert_eq!(
        (map.width, map.height),
        (truth.width, truth.height),
        "map and labels differ in size"
    );
    let predicted = cells(map, config);
    let pixels: PixelScores =
        pixel_scores(&predicted_classes_from(map, &predicted), &truth.classes);
    let truth_cells = Cells::from_labels(instances.to_vec(), truth.width, truth.height, 1);
    Report {
        pixel_accuracy: pixels.accuracy,
        class_iou: pixels.iou,
        cells_predicted: predicted.count(),
        cells_true: truth_cells.count(),
        objects: TAUS
            .iter()
            .map(|&t| object_scores(&predicted.labels, &truth_cells.labels, t))
            .collect(),
        unmatched: unmatched(&predicted.labels, &truth_cells.labels),
    }
}
