//! A second reading of the cells' width from the image: each ridge centre votes for its own σ.
//!
//! The image's estimate ([`crate::scale::width`]) scores each σ by how much significant
//! response the whole image holds there. A cell's response spreads wider the larger σ is, so
//! where there is open background for it to spread into, that score rewards coarse σ: on
//! sparse fields it read the cells 17–33% too wide (synthetic fields of 2–5% cells against
//! colonies of the same cells), and on small colonies in wide noisy fields it found no cell
//! peak at all and settled on the colony (×0.26–×0.28 where ×0.7–×1 was right), whose
//! "cells", the colony's lobes, then confirmed it without a word of doubt.
//!
//! Here each ridge centre (a rod's centre line, a coccus's centre: a maximum of the
//! scale-normalised Laplacian across the cell and across σ) votes for the σ where it answers
//! most (once, unless it has more than one maximum across σ), with its length (the level's pixel) and its response beyond the noise's bar,
//! cubed. Where a ridge lies does not matter, so a sparse field votes as a colony of the same
//! cells does. Cubing is what makes the vote hold on real images: a background's texture (a
//! camera's few grey levels, heavy-tailed noise, mottling) has ridges too, many and faint,
//! and with the response taken as it is they outvoted the cells (Omnipose's DeLTA colony
//! ×3.6 where ×1.7 is right; 7 to 14 of 20 noisy fields of another lab at σ 1 px). Cubed, the
//! darkest structures weigh most, and a colony's edge, where rods pack into one dark band,
//! can outvote the cells (crops of phase_027 at ×0.73): so the votes only ever correct the
//! image's estimate towards finer cells, the way its bias runs, and only where the image is
//! lopsided at their σ as cells make it (`width::estimate`; an empty mottled field's votes
//! find its blobs).

use crate::scale::width::LEVELS;

/// Where phase_027's ridge centres vote, in its pixels; checked by a test on the real image.
pub const TUTORIAL_SIGMA: f64 = 3.55;

/// A ridge centre is a maximum along at least this many of the four axes (a rod's centre
/// line is one along all but its own; a blob's flank, along the one tangent to it).
const AXES: usize = 3;

/// One σ of the sweep as a map: the scale-normalised Laplacian over the level's grid (NaN
/// within the border the blur cannot see past), the level's pixel in the image's pixels, and
/// the bar a response must clear to vote.
pub struct Response {
    pub sigma: f64,
    pub pixel: f64,
    pub width: usize,
    pub height: usize,
    pub data: Vec<f32>,
    pub bar: f32,
}

impl Response {
    /// The response nearest a point given in the image's pixels (NaN off the level). Across a
    /// halving, three in four fine pixels lie between coarse ones and read the one half a
    /// coarse pixel down or right: a little low on a ridge, so the level before each halving
    /// passes the test across σ a little easily (calibrated on phase_027; not measured apart).
    fn at_image(&self, x: f64, y: f64) -> f32 {
        let (lx, ly) = ((x / self.pixel).round(), (y / self.pixel).round());
        if lx < 0.0 || ly < 0.0 || lx >= self.width as f64 || ly >= self.height as f64 {
            return f32::NAN;
        }
        self.data[ly as usize * self.width + lx as usize]
    }
}

/// The votes, level by level as the sweep goes: only three levels are ever held at once.
#[derive(Default)]
pub struct Votes {
    levels: Vec<Response>,
    /// Per level, `(σ, the votes' weight)`.
    curve: Vec<(f64, f64)>,
    /// Each vote's σ (its log, interpolated between levels) and weight.
    votes: Vec<(f64, f64)>,
}

impl Votes {
    /// Takes the sweep's next level; the one before it votes, now that its coarser
    /// neighbour is known (the last level never does).
    pub fn push(&mut self, level: Response) {
        self.curve.push((level.sigma, 0.0));
        self.levels.push(level);
        let k = self.levels.len() - 1;
        if k >= 1 {
            let finer = k.checked_sub(2).map(|j| &self.levels[j]);
            self.curve[k - 1].1 =
                vote(finer, &self.levels[k - 1], &self.levels[k], &mut self.votes);
        }
        if k >= 2 {
            self.levels[k - 2].data = Vec::new();
        }
    }

    /// The σ the votes settle on, or None where no σ stands out: the highest level of the
    /// curve (smoothed across levels), leading the curve an octave either side by
    /// `clear_peak`, and the votes' weighted median within half an octave of it. Both octaves
    /// must have been swept: stricter than the score, so the votes are not heard for cells
    /// under about 1.6 px σ (×2.2 the tutorial's size and finer) nor past the coarsest octave.
    pub fn sigma(&self, clear_peak: f64) -> Option<f64> {
        let raw: Vec<f64> = self.curve.iter().map(|c| c.1).collect();
        let at = |j: usize| raw.get(j).copied().unwrap_or(0.0);
        let smooth: Vec<f64> = (0..raw.len())
            .map(|k| 0.25 * k.checked_sub(1).map_or(0.0, at) + 0.5 * at(k) + 0.25 * at(k + 1))
            .collect();
        let (best, &top) = smooth
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))?;
        let octave_away = [best.checked_sub(LEVELS), Some(best + LEVELS)].map(|k| {
            k.and_then(|k| smooth.get(k))
                .copied()
                .unwrap_or(f64::INFINITY)
        });
        let clear = top > 0.0 && top >= clear_peak * octave_away[0].max(octave_away[1]);
        if !clear {
            return None;
        }
        Some(median_vote(&self.votes, self.curve[best].0))
    }
}

/// The votes of `here`'s ridge centres: points beyond its bar that are maxima of the response
/// along at least [`AXES`] of the four axes and across σ (at the finest level, against the
/// coarser one alone). Each vote's σ is interpolated between the levels and pushed to
/// `votes` with its weight; returns their sum.
fn vote(
    finer: Option<&Response>,
    here: &Response,
    coarser: &Response,
    votes: &mut Vec<(f64, f64)>,
) -> f64 {
    let step = (2f64).powf(1.0 / LEVELS as f64).ln();
    let (w, h) = (here.width, here.height);
    let r = &here.data;
    let mut total = 0.0;
    for y in 1..h.saturating_sub(1) {
        for x in 1..w.saturating_sub(1) {
            let i = y * w + x;
            let v = r[i];
            // (written so that NaN, the border, never counts)
            let beyond = v > here.bar;
            if !beyond {
                continue;
            }
            let axes = [1, w, w + 1, w - 1]
                .iter()
                .filter(|&&d| v >= r[i - d] && v >= r[i + d])
                .count();
            if axes < AXES {
                continue;
            }
            let (ix, iy) = (x as f64 * here.pixel, y as f64 * here.pixel);
            let up = coarser.at_image(ix, iy);
            let above_coarser = v >= up;
            if !above_coarser {
                continue;
            }
            let offset = match finer {
                Some(f) => {
                    let down = f.at_image(ix, iy);
                    let above_finer = v >= down;
                    if !above_finer {
                        continue;
                    }
                    // a parabola through the three levels, in log σ
                    let denominator = down - 2.0 * v + up;
                    if denominator < 0.0 {
                        (0.5 * (down - up) / denominator).clamp(-0.5, 0.5) as f64
                    } else {
                        0.0
                    }
                }
                None => 0.0,
            };
            let weight = ((v - here.bar) as f64).powi(3) * here.pixel;
            votes.push((here.sigma.ln() + offset * step, weight));
            total += weight;
        }
    }
    total
}

/// The votes' weighted median σ within half an octave of `sigma`.
fn median_vote(votes: &[(f64, f64)], sigma: f64) -> f64 {
    let half_octave = 0.5 * std::f64::consts::LN_2;
    let mut near: Vec<(f64, f64)> = votes
        .iter()
        .copied()
        .filter(|(s, _)| (s - sigma.ln()).abs() <= half_octave)
        .collect();
    near.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: f64 = near.iter().map(|v| v.1).sum();
    let mut seen = 0.0;
    for (s, w) in &near {
        seen += w;
        if seen >= 0.5 * total {
            return s.exp();
        }
    }
    sigma
}
