//! Why cells go unmatched: an F1 below target says how many, this says which kind of mistake,
//! and each kind has its own fix — a missed cell wants a lower threshold, a merge wants the
//! edges found (a higher threshold, better training), a split wants smoothing, a misshapen
//! cell wants its rim back (growing).
//!
//! Read at IoU 0.5, where a true cell is matched exactly when some predicted cell overlaps
//! it with IoU ≥ 0.5 (two cells cannot both pass 0.5 against the same one).

use std::collections::HashMap;

use serde::Serialize;

use crate::eval::metrics::Overlaps;

/// Unmatched true cells by kind, and predicted cells with no true cell under them at all.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Unmatched {
    /// No predicted cell touches it.
    pub missed: usize,
    /// The predicted cell covering most of it covers most of another true cell too.
    pub merged: usize,
    /// Two or more predicted cells lie mostly inside it.
    pub split: usize,
    /// Found once, but the shapes overlap by IoU < 0.5.
    pub misshaped: usize,
    /// Predicted cells touching no true cell.
    pub spurious: usize,
}

/// Classifies the unmatched cells of two labellings of the same pixels (0 = background).
pub fn unmatched(predicted: &[u32], truth: &[u32]) -> Unmatched {
    unmatched_from(&Overlaps::count(predicted, truth))
}

/// [`unmatched`] from overlaps already counted.
pub(crate) fn unmatched_from(o: &Overlaps) -> Unmatched {
    let Overlaps {
        area_p,
        area_t,
        inter,
    } = o;
    // For each cell, the cell of the other labelling it overlaps most (ties: lower id).
    let mut best_p: HashMap<u32, (usize, u32)> = HashMap::new(); // true → predicted
    let mut best_t: HashMap<u32, (usize, u32)> = HashMap::new(); // predicted → true
    let mut matched_t = std::collections::HashSet::new();
    for (&(p, t), &i) in inter {
        let better = |old: Option<&(usize, u32)>, id: u32| {
            old.is_none_or(|&(n, o)| i > n || (i == n && id < o))
        };
        if better(best_p.get(&t), p) {
            best_p.insert(t, (i, p));
        }
        if better(best_t.get(&p), t) {
            best_t.insert(p, (i, t));
        }
        if 2 * i >= area_p[&p] + area_t[&t] - i {
            matched_t.insert(t); // IoU = i / (a_p + a_t - i) ≥ 0.5
        }
    }
    let mut holds: HashMap<u32, usize> = HashMap::new(); // predicted → true cells it covers most
    for &(_, p) in best_p.values() {
        *holds.entry(p).or_default() += 1;
    }
    let mut parts: HashMap<u32, usize> = HashMap::new(); // true → predicted cells mostly inside
    for (&p, &(i, t)) in &best_t {
        if 2 * i > area_p[&p] {
            *parts.entry(t).or_default() += 1;
        }
    }
    let mut out = Unmatched {
        spurious: area_p.keys().filter(|p| !best_t.contains_key(p)).count(),
        ..Unmatched::default()
    };
    for &t in area_t.keys().filter(|t| !matched_t.contains(t)) {
        match best_p.get(&t) {
            None => out.missed += 1,
            Some(_) if parts.get(&t).copied().unwrap_or(0) >= 2 => out.split += 1,
            Some(&(_, p)) if holds[&p] >= 2 => out.merged += 1,
            Some(_) => out.misshaped += 1,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 1-pixel-high image of `len` pixels with `(id, from, to)` runs (inclusive).
    fn runs(len: usize, spans: &[(u32, usize, usize)]) -> Vec<u32> {
        let mut m = vec![0; len];
        for &(id, from, to) in spans {
            m[from..=to].fill(id);
        }
        m
    }

    #[test]
    fn each_kind_is_told_apart() {
        // true: A 0-3, B 5-8, C 10-13, D 15-20, E 22-25
        let t = runs(
            30,
            &[(1, 0, 3), (2, 5, 8), (3, 10, 13), (4, 15, 20), (5, 22, 25)],
        );
        // predicted: A found; one cell over B and C (IoU 4/9 each); D in three parts;
        // E as a sliver (IoU 1/4); a cell at 28 over nothing
        let p = runs(
            30,
            &[
                (1, 0, 3),
                (2, 5, 13),
                (3, 15, 16),
                (4, 17, 18),
                (5, 19, 20),
                (6, 22, 22),
                (7, 28, 28),
            ],
        );
        let u = unmatched(&p, &t);
        assert_eq!(
            u,
            Unmatched {
                missed: 0,
                merged: 2,
                split: 1,
                misshaped: 1,
                spurious: 1
            }
        );
        // cells nobody found
        assert_eq!(unmatched(&[0; 30], &t).missed, 5);
        // a perfect answer leaves nothing unmatched
        assert_eq!(unmatched(&t, &t), Unmatched::default());
    }
}
