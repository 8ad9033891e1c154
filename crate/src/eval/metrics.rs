//! Quality as the field reports it: pixel accuracy and per-class IoU of the class maps, and
//! object-level scores from a one-to-one matching of predicted and true cells.

use std::collections::HashMap;

use pathfinding::kuhn_munkres::kuhn_munkres;
use pathfinding::matrix::Matrix;

/// Pixel-level agreement of two class maps (0 other, 1 cell, 2 edge).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PixelScores {
    pub accuracy: f64,
    /// Intersection over union per class, in class order.
    pub iou: [f64; 3],
}

pub fn pixel_scores(predicted: &[u8], truth: &[u8]) -> PixelScores {
    assert_eq!(
        predicted.len(),
        truth.len(),
        "class maps of different sizes"
    );
    let (mut inter, mut union) = ([0usize; 3], [0usize; 3]);
    let mut right = 0;
    for (&p, &t) in predicted.iter().zip(truth) {
        if p == t {
            right += 1;
            inter[p as usize] += 1;
            union[p as usize] += 1;
        } else {
            union[p as usize] += 1;
            union[t as usize] += 1;
        }
    }
    let iou = std::array::from_fn(|c| {
        if union[c] == 0 {
            1.0
        } else {
            inter[c] as f64 / union[c] as f64
        }
    });
    PixelScores {
        accuracy: right as f64 / truth.len().max(1) as f64,
        iou,
    }
}

/// Object-level scores at one IoU threshold τ.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct ObjectScores {
    pub tau: f64,
    /// Predicted cells matched to a true cell with IoU ≥ τ.
    pub true_positives: usize,
    /// Predicted cells left unmatched.
    pub false_positives: usize,
    /// True cells left unmatched.
    pub false_negatives: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// TP / (TP + FP + FN), the "average precision" of the cell-segmentation challenges.
    pub ap: f64,
    /// Mean IoU of the matched pairs.
    pub mean_matched_iou: f64,
}

/// Pixel counts of two labellings of the same pixels (0 = background): each object's area,
/// and the intersection of every overlapping (predicted, true) pair.
pub(crate) struct Overlaps {
    pub area_p: HashMap<u32, usize>,
    pub area_t: HashMap<u32, usize>,
    pub inter: HashMap<(u32, u32), usize>,
}

impl Overlaps {
    pub fn count(predicted: &[u32], truth: &[u32]) -> Overlaps {
        assert_eq!(
            predicted.len(),
            truth.len(),
            "label maps of different sizes"
        );
        let mut o = Overlaps {
            area_p: HashMap::new(),
            area_t: HashMap::new(),
            inter: HashMap::new(),
        };
        for (&p, &t) in predicted.iter().zip(truth) {
            if p != 0 {
                *o.area_p.entry(p).or_default() += 1;
            }
            if t != 0 {
                *o.area_t.entry(t).or_default() += 1;
            }
            if p != 0 && t != 0 {
                *o.inter.entry((p, t)).or_default() += 1;
            }
        }
        o
    }

    /// IoU of an overlapping pair with intersection `i`.
    pub fn iou(&self, p: u32, t: u32, i: usize) -> f64 {
        i as f64 / (self.area_p[&p] + self.area_t[&t] - i) as f64
    }
}

/// Matches predicted to true objects one-to-one, maximising total IoU among pairs with
/// IoU ≥ τ (Hungarian algorithm, per group of mutually overlapping objects), and scores it.
pub fn object_scores(predicted: &[u32], truth: &[u32], tau: f64) -> ObjectScores {
    object_scores_from(&Overlaps::count(predicted, truth), tau)
}

/// [`object_scores`] from overlaps already counted (one count serves every τ).
pub(crate) fn object_scores_from(o: &Overlaps, tau: f64) -> ObjectScores {
    let (n_pred, n_true) = (o.area_p.len(), o.area_t.len());
    let candidates: Vec<((u32, u32), f64)> = o
        .inter
        .iter()
        .map(|(&(p, t), &i)| ((p, t), o.iou(p, t, i)))
        .filter(|&(_, v)| v >= tau)
        .collect();
    let matched = match_groups(&candidates);
    let tp = matched.len();
    let (fp, fn_) = (n_pred - tp, n_true - tp);
    let ratio = |a: usize, b: usize| if b == 0 { 1.0 } else { a as f64 / b as f64 };
    let (precision, recall) = (ratio(tp, tp + fp), ratio(tp, tp + fn_));
    ObjectScores {
        tau,
        true_positives: tp,
        false_positives: fp,
        false_negatives: fn_,
        precision,
        recall,
        f1: if precision + recall == 0.0 {
            0.0
        } else {
            2.0 * precision * recall / (precision + recall)
        },
        ap: ratio(tp, tp + fp + fn_),
        mean_matched_iou: if tp == 0 {
            0.0
        } else {
            matched.iter().sum::<f64>() / tp as f64
        },
    }
}

/// The IoUs of an optimal one-to-one matching over candidate pairs. For τ ≥ 0.5 every object
/// has at most one candidate, so groups are single pairs; below that the assignment matters.
fn match_groups(candidates: &[((u32, u32), f64)]) -> Vec<f64> {
    // Group candidates by connected components of the bipartite overlap graph.
    let mut groups: Vec<Vec<((u32, u32), f64)>> = Vec::new();
    let mut group_of_p: HashMap<u32, usize> = HashMap::new();
    let mut group_of_t: HashMap<u32, usize> = HashMap::new();
    for &((p, t), v) in candidates {
        let g = match (group_of_p.get(&p).copied(), group_of_t.get(&t).copied()) {
            (Some(a), Some(b)) if a != b => {
                let moved = std::mem::take(&mut groups[b]);
                for &((mp, mt), _) in &moved {
                    group_of_p.insert(mp, a);
                    group_of_t.insert(mt, a);
                }
                groups[a].extend(moved);
                a
            }
            (Some(a), _) | (None, Some(a)) => a,
            (None, None) => {
                groups.push(Vec::new());
                groups.len() - 1
            }
        };
        group_of_p.insert(p, g);
        group_of_t.insert(t, g);
        groups[g].push(((p, t), v));
    }
    let mut matched = Vec::new();
    for group in groups.into_iter().filter(|g| !g.is_empty()) {
        if let [(_, v)] = group.as_slice() {
            matched.push(*v);
            continue;
        }
        let mut ps: Vec<u32> = group.iter().map(|((p, _), _)| *p).collect();
        let mut ts: Vec<u32> = group.iter().map(|((_, t), _)| *t).collect();
        ps.sort_unstable();
        ps.dedup();
        ts.sort_unstable();
        ts.dedup();
        // kuhn_munkres wants rows ≤ columns and integer weights (IoU in millionths).
        let transpose = ps.len() > ts.len();
        let (rows, cols) = if transpose { (&ts, &ps) } else { (&ps, &ts) };
        let mut weights = Matrix::new(rows.len(), cols.len(), 0i64);
        let mut value = HashMap::new();
        for &((p, t), v) in &group {
            let (r, c) = if transpose { (t, p) } else { (p, t) };
            let (ri, ci) = (
                rows.binary_search(&r).unwrap(),
                cols.binary_search(&c).unwrap(),
            );
            weights[(ri, ci)] = (v * 1e6).round() as i64;
            value.insert((ri, ci), v);
        }
        let (_, assignment) = kuhn_munkres(&weights);
        for (ri, ci) in assignment.into_iter().enumerate() {
            if let Some(&v) = value.get(&(ri, ci)) {
                matched.push(v);
            }
        }
    }
    matched
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 12x4 image with up to three 3x3 objects side by side; `ids` gives each one's label.
    fn objects(ids: [u32; 3]) -> Vec<u32> {
        let mut m = vec![0; 12 * 4];
        for (k, &id) in ids.iter().enumerate() {
            for y in 0..3 {
                for x in 0..3 {
                    m[y * 12 + 4 * k + x] = id;
                }
            }
        }
        m
    }

    #[test]
    fn perfect_match() {
        let t = objects([1, 2, 3]);
        let p = objects([7, 5, 9]); // ids need not agree
        let s = object_scores(&p, &t, 0.5);
        assert_eq!(
            (s.true_positives, s.false_positives, s.false_negatives),
            (3, 0, 0)
        );
        assert_eq!(
            (s.precision, s.recall, s.f1, s.ap, s.mean_matched_iou),
            (1.0, 1.0, 1.0, 1.0, 1.0)
        );
    }

    #[test]
    fn a_missed_cell_is_a_false_negative() {
        let s = object_scores(&objects([1, 2, 0]), &objects([1, 2, 3]), 0.5);
        assert_eq!(
            (s.true_positives, s.false_positives, s.false_negatives),
            (2, 0, 1)
        );
        assert!((s.recall - 2.0 / 3.0).abs() < 1e-12 && s.precision == 1.0);
        assert!((s.ap - 2.0 / 3.0).abs() < 1e-12);
        assert!((s.f1 - 0.8).abs() < 1e-12);
    }

    #[test]
    fn a_split_cell_matches_no_part() {
        // true: one 12-pixel object; predicted: the same pixels split into three parts of 4
        let t = vec![1u32; 12];
        let p: Vec<u32> = (0..12).map(|i| 1 + i / 4).collect();
        let s = object_scores(&p, &t, 0.5);
        assert_eq!(
            (s.true_positives, s.false_positives, s.false_negatives),
            (0, 3, 1)
        );
        // at τ = 0.3 one part matches (IoU 1/3), the other two are false positives
        let s = object_scores(&p, &t, 0.3);
        assert_eq!(
            (s.true_positives, s.false_positives, s.false_negatives),
            (1, 2, 0)
        );
        assert!((s.mean_matched_iou - 1.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn shifted_masks_lose_matches_as_tau_rises() {
        // a 4x4 square against the same square shifted by one column: IoU = 12/20 = 0.6
        let square = |dx: usize| -> Vec<u32> {
            let mut m = vec![0; 8 * 4];
            for y in 0..4 {
                for x in dx..dx + 4 {
                    m[y * 8 + x] = 1;
                }
            }
            m
        };
        let (t, p) = (square(0), square(1));
        assert_eq!(object_scores(&p, &t, 0.5).true_positives, 1);
        assert!((object_scores(&p, &t, 0.5).mean_matched_iou - 0.6).abs() < 1e-12);
        assert_eq!(object_scores(&p, &t, 0.75).true_positives, 0);
        let classes = |m: &[u32]| m.iter().map(|&v| v as u8).collect::<Vec<_>>();
        let px = pixel_scores(&classes(&p), &classes(&t));
        assert!((px.iou[1] - 0.6).abs() < 1e-12);
        assert!((px.accuracy - 24.0 / 32.0).abs() < 1e-12);
        assert_eq!(px.iou[2], 1.0, "a class absent from both counts as perfect");
    }

    #[test]
    fn below_half_the_assignment_maximises_total_iou() {
        // true A (cols 0-3) and B (cols 4-7); predicted X covers A's right half and B's left,
        // predicted Y covers B exactly. Greedy-by-X could give X→B; optimal is X→A, Y→B.
        let t: Vec<u32> = (0..8).map(|x| if x < 4 { 1 } else { 2 }).collect();
        let p: Vec<u32> = (0..8)
            .map(|x| match x {
                2..=5 => 1,
                6..=7 => 2,
                _ => 0,
            })
            .collect();
        let s = object_scores(&p, &t, 0.3);
        assert_eq!(s.true_positives, 2, "{s:?}");
    }
}
