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

use image::{GrayImage, Luma};
use imageproc::filter::median_filter;
use imageproc::region_labelling::{Connectivity, connected_components};
use statrs::stats_tests::NaNPolicy;
use statrs::stats_tests::ks_test::{KSTwoSampleAlternativeMethod, ks_twosample};

use crate::dense::ProbabilityMap;
use crate::spec::CLASS_CELL;

/// Post-processing settings. The defaults are post 2's threshold and a 5x5 median, and growth
/// down to 0.5, where a rim pixel is likelier cell than not. They were set before measuring
/// on the held-out region, not tuned on it (the model card in models/ shows how the scores move
/// around them).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PostConfig {
    /// Median filter radius in pixels (0 = none); the window is (2r+1)².
    pub median_radius: u32,
    /// A pixel is cell when its (filtered) p(cell) is above this.
    pub threshold: f32,
    /// Cells grow from their cores (p above `threshold`) over connected pixels with p above
    /// this; at or above `threshold` nothing grows.
    pub grow_to: f32,
    /// Cells smaller than this many pixels (after growing) are dropped as noise.
    pub min_area: u32,
}

impl Default for PostConfig {
    fn default() -> Self {
        PostConfig {
            median_radius: 2,
            threshold: 0.8,
            grow_to: 0.5,
            min_area: 30,
        }
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

/// Cells as labelled regions: `labels[i]` is 0 for background or the cell's id (1..=count).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cells {
    pub width: usize,
    pub height: usize,
    pub labels: Vec<u32>,
    /// Pixel count of cell `id` at `areas[id - 1]`.
    pub areas: Vec<u32>,
}

impl Cells {
    pub fn count(&self) -> usize {
        self.areas.len()
    }

    /// Centre of mass of each cell, `(x, y)` in pixels (pixel centres at +0.5), by id order.
    pub fn centroids(&self) -> Vec<(f64, f64)> {
        let mut sums = vec![(0.0, 0.0); self.count()];
        for (i, &l) in self.labels.iter().enumerate() {
            if l != 0 {
                let s = &mut sums[l as usize - 1];
                s.0 += (i % self.width) as f64 + 0.5;
                s.1 += (i / self.width) as f64 + 0.5;
            }
        }
        sums.iter()
            .zip(&self.areas)
            .map(|(&(x, y), &a)| (x / a as f64, y / a as f64))
            .collect()
    }

    /// Each cell's length: the extent of its long axis, from the second moments of its
    /// pixels (a rod n pixels long has variance (n² − 1) / 12 along its axis).
    pub fn lengths(&self) -> Vec<f64> {
        let centroids = self.centroids();
        let mut moments = vec![[0.0f64; 3]; self.count()]; // xx, yy, xy
        for (i, &l) in self.labels.iter().enumerate() {
            if l != 0 {
                let (cx, cy) = centroids[l as usize - 1];
                let dx = (i % self.width) as f64 + 0.5 - cx;
                let dy = (i / self.width) as f64 + 0.5 - cy;
                let m = &mut moments[l as usize - 1];
                m[0] += dx * dx;
                m[1] += dy * dy;
                m[2] += dx * dy;
            }
        }
        moments
            .iter()
            .zip(&self.areas)
            .map(|(m, &a)| {
                let (xx, yy, xy) = (m[0] / a as f64, m[1] / a as f64, m[2] / a as f64);
                let major = (xx + yy) / 2.0 + (((xx - yy) / 2.0).powi(2) + xy * xy).sqrt();
                (12.0 * major + 1.0).sqrt()
            })
            .collect()
    }

    /// Connected components (4-connected) of a mask, smaller ones than `min_area` dropped,
    /// the rest numbered 1.. in scan order.
    pub fn from_mask(mask: &[bool], width: usize, height: usize, min_area: u32) -> Cells {
        let image = GrayImage::from_fn(width as u32, height as u32, |x, y| {
            Luma([mask[y as usize * width + x as usize] as u8])
        });
        let components = connected_components(&image, Connectivity::Four, Luma([0]));
        Cells::from_labels(components.into_raw(), width, height, min_area)
    }

    /// Renumbers any labelling (0 = background) to 1..=count, dropping regions smaller than
    /// `min_area` pixels.
    pub fn from_labels(raw: Vec<u32>, width: usize, height: usize, min_area: u32) -> Cells {
        let max = raw.iter().copied().max().unwrap_or(0) as usize;
        let mut area = vec![0u32; max + 1];
        for &l in &raw {
            area[l as usize] += 1;
        }
        let mut new_id = vec![0u32; max + 1];
        let mut areas = Vec::new();
        for &l in &raw {
            let l = l as usize;
            if l != 0 && new_id[l] == 0 && area[l] >= min_area.max(1) {
                areas.push(area[l]);
                new_id[l] = areas.len() as u32;
            }
        }
        let labels = raw.iter().map(|&l| new_id[l as usize]).collect();
        Cells {
            width,
            height,
            labels,
            areas,
        }
    }
}

/// The whole clean-up: (averaged) map → median → threshold → cores → grown cells.
pub fn cells(map: &ProbabilityMap, config: &PostConfig) -> Cells {
    let p = smoothed_cell_probability(map, config.median_radius);
    cells_from_smoothed(&p, map.width, map.height, config)
}

/// The clean-up after the median: `p` is p(cell) already filtered with
/// `config.median_radius` (computed once when several thresholds are tried on it).
pub fn cells_from_smoothed(p: &[f32], w: usize, h: usize, config: &PostConfig) -> Cells {
    let cores: Vec<bool> = p.iter().map(|&v| v > config.threshold).collect();
    if config.grow_to >= config.threshold {
        return Cells::from_mask(&cores, w, h, config.min_area);
    }
    let cores = Cells::from_mask(&cores, w, h, 1);
    let room: Vec<bool> = p.iter().map(|&v| v > config.grow_to).collect();
    Cells::from_labels(grow(cores.labels, &room, w, h), w, h, config.min_area)
}

/// Seeded region growing: every `room` pixel reachable from a labelled pixel through `room`
/// takes the label of the nearest one (4-connected steps, ties to whichever the queue meets
/// first). A breadth-first flood from all seeds at once does that in one pass; imageproc has
/// no marker-based growing, and a watershed crate would need a heightmap this does not use.
pub fn grow(mut labels: Vec<u32>, room: &[bool], width: usize, height: usize) -> Vec<u32> {
    let mut queue: std::collections::VecDeque<usize> =
        (0..labels.len()).filter(|&i| labels[i] != 0).collect();
    while let Some(i) = queue.pop_front() {
        let (x, y) = (i % width, i / width);
        let neighbours = [
            (x > 0).then(|| i - 1),
            (x + 1 < width).then(|| i + 1),
            (y > 0).then(|| i - width),
            (y + 1 < height).then(|| i + width),
        ];
        for j in neighbours.into_iter().flatten() {
            if labels[j] == 0 && room[j] {
                labels[j] = labels[i];
                queue.push_back(j);
            }
        }
    }
    labels
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
