//! Cleaning up the probability maps, as post 2 does: average several networks, average over
//! space with a median filter, threshold p(cell), and split the cell pixels into cells.
//!
//! Edge pixels are neither cell nor background, so a thresholded cell mask leaves a gap
//! between touching cells: its connected components are the cells.
//!
//! A strict threshold (post 2's 0.8) separates cells well but keeps only their cores: the
//! networks are least sure at a cell's rim, so thresholded cells come out thinner than the
//! labelled ones. Optionally each core then grows back over the neighbouring pixels that are
//! still likely cell ([`PostConfig::grow_to`]); growth never joins two cores, so the split
//! the strict threshold found is kept.
//!
//! A cell as a biologist measures it (and as Cellpose or Omnipose return it) is the whole
//! cell: its core and the rim the hand labels draw as "edge". So, last, each cell takes the
//! rim pixels beside it that are likelier cell or edge than background
//! ([`PostConfig::rim`]), the nearest cell winning where two touch — the same rule that makes
//! the whole-cell reference from the hand labels ([`crate::io::labels::ClassMap::whole_cells`]).

pub mod faint;
pub mod fragment;
pub mod geojson;
pub mod halo;
pub mod measure;
pub mod mottle;
pub mod outline;
pub mod packed;
pub mod polygon;
pub mod roi;
pub mod sure;

use image::{GrayImage, Luma};
use imageproc::filter::median_filter;
use statrs::stats_tests::NaNPolicy;
use statrs::stats_tests::ks_test::{KSTwoSampleAlternativeMethod, ks_twosample};

use crate::core::cells::{Cells, grow, grow_within};
use crate::core::classes::{CLASS_CELL, CLASS_OTHER};
use crate::core::probability::ProbabilityMap;

/// Post-processing settings, in the pixels of the map they clean (see [`PostConfig::at_scale`]
/// for a map of an image at another magnification). The defaults are post 2's threshold and a
/// 5x5 median, growth down to 0.5, where a pixel is likelier cell than not, and whole cells
/// (a rim of up to 3 px). They were set before measuring on the held-out region, not tuned on
/// it (the model card in models/ shows how the scores move around them).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PostConfig {
    /// Median filter radius in pixels (0 = none); the window is (2r+1)².
    pub median_radius: u32,
    /// A pixel is cell when its (filtered) p(cell) is above this.
    pub threshold: f32,
    /// Cells grow from their cores (p above `threshold`) over connected pixels with p above
    /// this; at or above `threshold` nothing grows.
    pub grow_to: f32,
    /// Cells smaller than this many pixels (after growing) are dropped as noise. The default,
    /// 100, is below a round cell as wide as the tutorial's rods (π/4 · 12.7² ≈ 127 px): at
    /// the networks' scale, anything smaller is a speck of debris or a sliver, not a cell.
    pub min_area: u32,
    /// Whole cells: each grown cell then takes the touching pixels with p(other) < 0.5 (the
    /// rim: cell or edge is likelier than background), up to this many pixels out; 0 keeps
    /// the posts' cells (no rim).
    pub rim: u32,
    /// Cells must differ from the background ring around them (`ring` px wide) by this many
    /// noise deviations on average ([`contrasts`]): the networks can see cells in texture
    /// that is nothing but noise, and this drops them, unless they stand out from the
    /// background at their own scale ([`faint`]). 0 keeps every cell.
    pub min_contrast: f32,
    pub ring: u32,
    /// Cells smaller than this share of the typical cell ([`Cells::typical_area`]) are
    /// dropped as fragments or specks of debris, unless they touch the frame (and may be cut
    /// by it) or the networks are sure of them as of whole cells ([`fragment`]: a short rod
    /// beside long filaments); 0 keeps every cell. The default, a quarter, is the size the
    /// scale check already asks of a cell it measures ([`crate::scale::typical_width`]), and
    /// half of what a cell just divided from a typical one has.
    pub min_share: f32,
}

impl Default for PostConfig {
    fn default() -> Self {
        PostConfig {
            median_radius: 2,
            threshold: 0.8,
            grow_to: 0.5,
            min_area: 100,
            rim: 3,
            min_contrast: 3.0,
            ring: 3,
            min_share: 0.25,
        }
    }
}

impl PostConfig {
    /// Post 2's clean-up as the posts did it: median, threshold, components — the cores only.
    pub fn posts() -> PostConfig {
        PostConfig {
            grow_to: 0.8,
            rim: 0,
            min_contrast: 0.0,
            min_share: 0.0,
            // as this reproduction has always dropped specks for post 2 (the default is
            // larger now, for fields with debris)
            min_area: 30,
            ..PostConfig::default()
        }
    }

    /// The same clean-up for a map in the pixels of an image that was resampled by `factor`
    /// to the networks' scale: lengths divide by the factor, areas by its square (a cell drawn
    /// twice as wide as the tutorial's needs twice the median and rim and four times the
    /// smallest area). Lengths round to whole pixels, but a rim over 1 px never to one
    /// ([`rim_length`]).
    pub fn at_scale(&self, factor: f64) -> PostConfig {
        let length = |v: u32| (v as f64 / factor).round() as u32;
        PostConfig {
            median_radius: length(self.median_radius),
            rim: rim_length(self.rim, factor),
            ring: length(self.ring).max(1),
            min_area: ((self.min_area as f64 / (factor * factor)).round() as u32).max(1),
            ..*self
        }
    }
}

/// `rim` px at the networks' scale in the pixels of an image enlarged by `factor` for them:
/// rounded, but where that leaves one pixel of a rim over one, two. Between ×2 and ×3 the 3 px
/// rim is 1–1.5 of the image's pixels, and one 4-connected step cut a third of it or more from
/// cells a few pixels across: cocci 7.6 px across (a synthetic field at ×0.6 the tutorial's
/// size, 10,816 of them) came out a quarter smaller, under the smallest area, and of the 10,244
/// found at ×1.99 none was left at ×2.02. With two, 10,305 at ×2.05 (F1 0.976); rods at ×0.4
/// the tutorial's size keep their rims (AP @ 0.75 0.704 → 0.815).
fn rim_length(rim: u32, factor: f64) -> u32 {
    let exact = rim as f64 / factor;
    let rounded = exact.round() as u32;
    if rounded == 1 && exact > 1.0 {
        2
    } else {
        rounded
    }
}

/// The mean of several networks' maps (same size).
pub fn average(maps: &[ProbabilityMap]) -> Result<ProbabilityMap, String> {
    let first = maps.first().ok_or("no probability maps to average")?;
    if let Some(other) = maps
        .iter()
        .find(|m| (m.width, m.height) != (first.width, first.height))
    {
        return Err(format!(
            "maps of different sizes: {}x{} and {}x{}",
            first.width, first.height, other.width, other.height
        ));
    }
    let mut mean = ProbabilityMap::new(first.width, first.height);
    let scale = 1.0 / maps.len() as f32;
    for map in maps {
        for (m, v) in mean.data.iter_mut().zip(&map.data) {
            *m += v * scale;
        }
    }
    Ok(mean)
}

/// p(cell) after a median filter of the given radius. imageproc's median works on 8-bit
/// images, so probabilities are quantised to 1/255 first — far finer than any threshold.
pub fn smoothed_cell_probability(map: &ProbabilityMap, radius: u32) -> Vec<f32> {
    let p = map.class(CLASS_CELL);
    if radius == 0 {
        return p.to_vec();
    }
    let image = GrayImage::from_fn(map.width as u32, map.height as u32, |x, y| {
        Luma([(p[y as usize * map.width + x as usize] * 255.0).round() as u8])
    });
    median_filter(&image, radius, radius)
        .pixels()
        .map(|q| q.0[0] as f32 / 255.0)
        .collect()
}

/// The whole clean-up: (averaged) map → median → threshold → cores → grown cells → rims →
/// fragments and specks dropped.
pub fn cells(map: &ProbabilityMap, config: &PostConfig) -> Cells {
    let p = smoothed_cell_probability(map, config.median_radius);
    cells_from_smoothed(&p, map, config)
}

/// The clean-up after the median: `p` is p(cell) of `map` already filtered with
/// `config.median_radius` (computed once when several thresholds are tried on it).
pub fn cells_from_smoothed(p: &[f32], map: &ProbabilityMap, config: &PostConfig) -> Cells {
    let (w, h) = (map.width, map.height);
    let cores: Vec<bool> = p.iter().map(|&v| v > config.threshold).collect();
    let mut labels = Cells::from_mask(&cores, w, h, 1).labels;
    if config.grow_to < config.threshold {
        let room: Vec<bool> = p.iter().map(|&v| v > config.grow_to).collect();
        labels = grow(labels, &room, w, h);
    }
    if config.rim > 0 {
        let room: Vec<bool> = map.class(CLASS_OTHER).iter().map(|&v| v < 0.5).collect();
        labels = grow_within(labels, &room, w, h, config.rim);
    }
    fragment::drop_fragments(
        Cells::from_labels(labels, w, h, config.min_area),
        config.min_share,
        map.class(CLASS_CELL),
    )
}

/// Each cell's contrast: how much darker or brighter than the ring of background around it
/// (up to `ring` px out, other cells excluded) its pixels are on average, in units of the
/// image's noise `noise` (see [`crate::io::normalise::noise_sigma`]). `plane` holds the cells'
/// pixels (same size as `cells`).
pub fn contrasts(cells: &Cells, plane: &[f32], noise: f32, ring: u32) -> Vec<f32> {
    contrasts_of(&inside_and_around(cells, plane, ring), noise)
}

/// [`contrasts`] from each cell's mean and its ring's ([`inside_and_around`]).
fn contrasts_of(means: &[(f64, Option<f64>)], noise: f32) -> Vec<f32> {
    means
        .iter()
        .map(|&(inside, around)| match around {
            // a cell with no background around it (a crop full of cell): nothing to doubt
            None => f32::INFINITY,
            Some(around) => ((around - inside).abs() / noise.max(f32::MIN_POSITIVE) as f64) as f32,
        })
        .collect()
}

/// Each cell's mean value in `plane` (the same size as `cells`), and the mean over the ring of
/// background around it, up to `ring` px out (other cells excluded; None where there is none).
pub(crate) fn inside_and_around(
    cells: &Cells,
    plane: &[f32],
    ring: u32,
) -> Vec<(f64, Option<f64>)> {
    let (w, h) = (cells.width, cells.height);
    let background: Vec<bool> = cells.labels.iter().map(|&l| l == 0).collect();
    let around = grow_within(cells.labels.clone(), &background, w, h, ring);
    let n = cells.count();
    let (mut inside, mut outside) = (vec![(0.0f64, 0u32); n], vec![(0.0f64, 0u32); n]);
    for i in 0..w * h {
        let (l, a) = (cells.labels[i], around[i]);
        let sums = if l != 0 {
            &mut inside[l as usize - 1]
        } else if a != 0 {
            &mut outside[a as usize - 1]
        } else {
            continue;
        };
        sums.0 += plane[i] as f64;
        sums.1 += 1;
    }
    let mean = |(sum, count): (f64, u32)| sum / count.max(1) as f64;
    inside
        .iter()
        .zip(&outside)
        .map(|(&i, &o)| (mean(i), (o.1 > 0).then(|| mean(o))))
        .collect()
}

/// `cells` without those the image does not bear out, unless `config.min_contrast` is 0. Where
/// the background gives a yardstick ([`faint::standing_out`]), a cell must stand out from it
/// at its own scale, and be fainter than `config.min_contrast` pixel noise deviations
/// (`noise`) against its surround in `plane` ([`contrasts`]) only where the image's cells are
/// all about as faint ([`faint::OF_TYPICAL`]); where it gives none, a cell must pass that
/// pixel noise's check, whose bar is lowered where the cells make the field lopsided as cells
/// do ([`faint::pixel_bar`]). `plane` holds the cells' pixels; `left_out` marks what is not
/// picture (padding, marks, a field stop's outside), where there is any.
pub fn drop_faint(
    cells: Cells,
    plane: &[f32],
    noise: f32,
    left_out: Option<&[bool]>,
    config: &PostConfig,
) -> Cells {
    if config.min_contrast <= 0.0 || cells.count() == 0 {
        return cells;
    }
    let means = inside_and_around(&cells, plane, config.ring);
    let contrast = contrasts_of(&means, noise);
    let clear = |c: f32| c >= config.min_contrast;
    let faint: Vec<bool> = contrast.iter().map(|&c| !clear(c)).collect();
    let kept: Vec<bool> =
        match faint::standing_out(&cells, plane, left_out, config.ring, &means, &faint) {
            Some(standing) => {
                let plain = faint::OF_TYPICAL * faint::typical(&contrast);
                (contrast.iter().zip(standing))
                    .map(|(&c, standing)| standing && (clear(c) || c >= plain))
                    .collect()
            }
            None => {
                let bar = faint::pixel_bar(&cells, plane, config.min_contrast, &contrast);
                contrast.iter().map(|&c| c >= bar).collect()
            }
        };
    if kept.iter().all(|&k| k) {
        return cells;
    }
    keep(&cells, &kept)
}

/// The cells whose keep flag is set, renumbered.
pub fn keep(cells: &Cells, keep: &[bool]) -> Cells {
    let labels = cells
        .labels
        .iter()
        .map(|&l| if l != 0 && keep[l as usize - 1] { l } else { 0 })
        .collect();
    Cells::from_labels(labels, cells.width, cells.height, 1)
}

/// Two-sample Kolmogorov–Smirnov test of two size distributions (post 2 compares cell sizes
/// this way): the statistic D and its two-sided asymptotic p-value.
pub fn ks_test(a: &[u32], b: &[u32]) -> Result<(f64, f64), String> {
    if a.is_empty() || b.is_empty() {
        return Err("KS test: a sample is empty".into());
    }
    // statrs 0.19 sums Kolmogorov's series until a term is below 1e-10, which never happens
    // when D = 0 (identical distributions): answer that case here.
    if same_distribution(a, b) {
        return Ok((0.0, 1.0));
    }
    let as_f64 = |v: &[u32]| v.iter().map(|&x| x as f64).collect::<Vec<_>>();
    ks_twosample(
        as_f64(a),
        as_f64(b),
        KSTwoSampleAlternativeMethod::TwoSidedAsymptotic,
        NaNPolicy::Error,
    )
    .map_err(|e| format!("KS test: {e}"))
}

/// Whether two samples have the same empirical distribution (every value equally frequent).
fn same_distribution(a: &[u32], b: &[u32]) -> bool {
    let counts = |v: &[u32]| {
        let mut m = std::collections::BTreeMap::new();
        for &x in v {
            *m.entry(x).or_insert(0u64) += 1;
        }
        m
    };
    let (ca, cb) = (counts(a), counts(b));
    ca.len() == cb.len()
        && ca
            .iter()
            .zip(&cb)
            .all(|((xa, na), (xb, nb))| xa == xb && na * b.len() as u64 == nb * a.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map_from_cell_probabilities(w: usize, h: usize, p: &[f32]) -> ProbabilityMap {
        let mut m = ProbabilityMap::new(w, h);
        m.data[w * h..2 * w * h].copy_from_slice(p);
        m
    }

    #[test]
    fn averaging_is_the_mean() {
        let a = map_from_cell_probabilities(2, 1, &[0.2, 1.0]);
        let b = map_from_cell_probabilities(2, 1, &[0.6, 0.0]);
        let m = average(&[a, b]).unwrap();
        assert!((m.class(1)[0] - 0.4).abs() < 1e-6 && (m.class(1)[1] - 0.5).abs() < 1e-6);
        assert!(average(&[]).is_err());
        assert!(average(&[ProbabilityMap::new(2, 1), ProbabilityMap::new(1, 2)]).is_err());
    }

    #[test]
    fn median_removes_salt_and_keeps_blocks() {
        let (w, h) = (9, 9);
        let mut p = vec![0.0; w * h];
        p[4 * w + 4] = 1.0; // an isolated bright pixel
        for y in 0..4 {
            for x in 0..4 {
                p[y * w + x] = 0.9;
            }
        }
        let s = smoothed_cell_probability(&map_from_cell_probabilities(w, h, &p), 1);
        assert_eq!(s[4 * w + 4], 0.0);
        assert!((s[w + 1] - 0.9).abs() < 0.01);
    }

    #[test]
    fn edges_split_touching_cells_and_small_ones_go() {
        // two 3x3 blocks separated by a column of edge pixels, and a single stray pixel
        let (w, h) = (9, 5);
        let mut mask = vec![false; w * h];
        for y in 1..4 {
            for x in (1..4).chain(5..8) {
                mask[y * w + x] = true;
            }
        }
        mask[8] = true;
        let cells = Cells::from_mask(&mask, w, h, 2);
        assert_eq!(cells.count(), 2);
        assert_eq!(cells.areas, [9, 9]);
        assert_eq!(cells.labels[w + 1], 1);
        assert_eq!(cells.labels[w + 5], 2);
        assert_eq!(cells.labels[8], 0);
        assert_eq!(cells.centroids(), [(2.5, 2.5), (6.5, 2.5)]);
    }

    #[test]
    fn growing_fills_the_rim_but_never_joins_two_cores() {
        // p along one row: two cores (0.9) in a band of 0.6 that touches between them
        let p = [0.1, 0.6, 0.9, 0.9, 0.6, 0.6, 0.6, 0.9, 0.6, 0.1, 0.6];
        let map = map_from_cell_probabilities(p.len(), 1, &p);
        let strict = PostConfig {
            median_radius: 0,
            threshold: 0.8,
            grow_to: 0.8,
            min_area: 1,
            rim: 0,
            min_contrast: 0.0,
            ring: 3,
            min_share: 0.0,
        };
        assert_eq!(
            cells(&map, &strict).labels,
            [0, 0, 1, 1, 0, 0, 0, 2, 0, 0, 0]
        );
        let grown = cells(
            &map,
            &PostConfig {
                grow_to: 0.5,
                ..strict
            },
        );
        // the shared band is split by distance; the lone 0.6 on the right has no core
        assert_eq!(grown.labels, [0, 1, 1, 1, 1, 1, 2, 2, 2, 0, 0]);
        assert_eq!(grown.areas, [5, 3]);
        // min_area counts the grown size
        let big = cells(
            &map,
            &PostConfig {
                grow_to: 0.5,
                min_area: 4,
                ..strict
            },
        );
        assert_eq!(big.count(), 1);
    }

    #[test]
    fn whole_cells_take_their_rim_and_no_more() {
        // one row: background, rim (edge likelier), core, rim shared by two cells, core, a
        // long run of rim-like pixels, background. p(other) below 0.5 marks the rim.
        let cell = [0.0, 0.1, 0.9, 0.9, 0.1, 0.1, 0.9, 0.1, 0.1, 0.1, 0.1, 0.0];
        let other = [0.9, 0.3, 0.0, 0.0, 0.3, 0.3, 0.0, 0.3, 0.3, 0.3, 0.3, 0.9];
        let n = cell.len();
        let mut map = ProbabilityMap::new(n, 1);
        for i in 0..n {
            map.data[i] = other[i];
            map.data[n + i] = cell[i];
            map.data[2 * n + i] = 1.0 - other[i] - cell[i];
        }
        let config = PostConfig {
            median_radius: 0,
            min_area: 1,
            rim: 2,
            ..PostConfig::default()
        };
        let whole = cells(&map, &config);
        // the shared rim is split by distance; the run on the right stops 2 px out
        assert_eq!(whole.labels, [0, 1, 1, 1, 1, 2, 2, 2, 2, 0, 0, 0]);
        let cores = cells(&map, &PostConfig { rim: 0, ..config });
        assert_eq!(cores.labels, [0, 0, 1, 1, 0, 0, 2, 0, 0, 0, 0, 0]);
        assert_eq!(cells(&map, &PostConfig::posts()).count(), 0, "min area 30");
    }

    #[test]
    fn faint_cells_go_and_clear_ones_stay() {
        // two 3x3 "cells" on a background of 1.0 with noise σ 0.1: one at 0.2 (8σ darker),
        // one at 0.95 (half a σ: texture, not a cell)
        let (w, h) = (16, 7);
        let mut labels = vec![0u32; w * h];
        let mut plane = vec![1.0f32; w * h];
        for y in 2..5 {
            for x in 2..5 {
                labels[y * w + x] = 1;
                plane[y * w + x] = 0.2;
                labels[y * w + x + 8] = 2;
                plane[y * w + x + 8] = 0.95;
            }
        }
        let cells = Cells::from_labels(labels, w, h, 1);
        let c = contrasts(&cells, &plane, 0.1, 2);
        assert!(
            (c[0] - 8.0).abs() < 1e-4 && (c[1] - 0.5).abs() < 1e-4,
            "{c:?}"
        );
        let kept = drop_faint(cells.clone(), &plane, 0.1, None, &PostConfig::default());
        assert_eq!(kept.count(), 1);
        assert_eq!(kept.labels[2 * w + 2], 1);
        assert_eq!(kept.labels[2 * w + 10], 0);
        let all = PostConfig {
            min_contrast: 0.0,
            ..PostConfig::default()
        };
        assert_eq!(drop_faint(cells, &plane, 0.1, None, &all).count(), 2);
    }

    #[test]
    fn settings_follow_the_scale() {
        let d = PostConfig::default();
        let twice_as_wide = d.at_scale(0.5);
        assert_eq!(twice_as_wide.median_radius, 2 * d.median_radius);
        assert_eq!(twice_as_wide.rim, 2 * d.rim);
        assert_eq!(twice_as_wide.min_area, 4 * d.min_area);
        assert_eq!(twice_as_wide.ring, 2 * d.ring);
        assert_eq!(twice_as_wide.threshold, d.threshold);
        assert_eq!(d.at_scale(1.0), d);
        // enlarged for the networks, the rim in the image's pixels: rounded (3 / 1.4 → 2,
        // 3 / 2 → 2), but not down to one where it is more (3 / 2.05 → 2, not 1); one at ×3
        // and beyond
        let rims: Vec<u32> = [1.4, 2.0, 2.05, 2.9, 3.0, 4.0]
            .iter()
            .map(|&f| d.at_scale(f).rim)
            .collect();
        assert_eq!(rims, [2, 2, 2, 2, 1, 1]);
        assert_eq!(d.at_scale(2.05).ring, 1);
    }

    #[test]
    fn ks_test_matches_known_values() {
        // identical samples: D = 0, p = 1
        let a: Vec<u32> = (1..=50).collect();
        let (d, p) = ks_test(&a, &a).unwrap();
        assert_eq!((d, p), (0.0, 1.0));
        let twice: Vec<u32> = a.iter().chain(&a).copied().collect();
        assert_eq!(ks_test(&a, &twice).unwrap(), (0.0, 1.0));
        // disjoint samples: D = 1, tiny p
        let b: Vec<u32> = (101..=150).collect();
        let (d, p) = ks_test(&a, &b).unwrap();
        assert!((d - 1.0).abs() < 1e-12);
        assert!(p < 1e-10, "{p}");
        // shifted by 10 of 50: D = 0.2, effective n = 50·50/100 = 25, so λ = √25·0.2 = 1 and
        // Kolmogorov's limit Q(λ) = 2 Σ (-1)^(k-1) exp(-2k²λ²) = 0.2700.
        let c: Vec<u32> = (11..=60).collect();
        let (d, p) = ks_test(&a, &c).unwrap();
        assert!((d - 0.2).abs() < 1e-12);
        let q: f64 = (1..100)
            .map(|k| 2.0 * (-1f64).powi(k - 1) * (-2.0 * (k * k) as f64).exp())
            .sum();
        assert!((q - 0.2700).abs() < 1e-4);
        assert!((p - q).abs() < 1e-3, "{p} vs {q}");
    }
}
