//! How wide the cells are, measured from the image itself: the scale estimate that does not
//! need the cells to be found first.
//!
//! Measuring the cells a network found goes wrong exactly when it matters: at the wrong
//! scale the networks split each cell into tutorial-sized fragments, and the fragments then
//! "confirm" the wrong scale. Instead we use scale-space theory (Lindeberg): a dark rod of
//! width w answers the scale-normalised Laplacian of Gaussian, σ²∇²(G_σ ∗ I), most strongly at
//! a σ proportional to w, whatever its contrast or length. So we sweep σ over a pyramid,
//! score each σ by how much significant dark-ridge response the image holds there, and take
//! the best σ. Because the score is a statistic of the response's distribution, an image
//! resampled by r peaks at σ·r exactly (up to noise and pixels): the estimate follows the
//! magnification. The tutorial image's own best σ ([`TUTORIAL_SIGMA`]) calibrates it.
//!
//! "Significant" is what keeps sparse fields honest: each σ's response is measured against
//! its own spread over the image (a robust noise level), so the background's noise, which
//! peaks at the finest σ, does not vote; a field with nothing in it above noise has no
//! estimate, and says so, rather than a made-up one.
//!
//! A statistic over the whole image has one bias: a cell's response spreads wider the larger
//! σ is, so where background lies open around the cells the score rewards coarse σ (sparse
//! fields read 17–33% too wide). The same sweep also lets each ridge centre vote for its own
//! σ ([`crate::scale::ridges`]), wherever it lies; where those votes find the cells finer by
//! over [`SPARSE_BIAS`] and the image is lopsided at their σ as cells make it (the mottling
//! check's measure, [`crate::post::mottle::lopsidedness`]), they set the estimate.

use image::{ImageBuffer, Luma};
use imageproc::filter::gaussian_blur_f32;

use crate::core::plane::Plane;
use crate::io::normalise::{noise_sigma, percentile};
use crate::post::mottle;
use crate::scale::ridges::{self, Response, Votes};
use crate::scale::{MAX_FACTOR, MIN_FACTOR};

/// Where phase_027 (the tutorial's cells, about 10 px wide) scores best, in its pixels;
/// checked by a test on the real image.
pub const TUTORIAL_SIGMA: f64 = 3.56;

/// Levels per octave of the σ sweep (steps of 9%; the peak is interpolated between them).
pub(crate) const LEVELS: usize = 8;
/// The finest σ, in pixels of the image: below it, a cell would be under 3 px wide.
const SIGMA_MIN: f64 = 0.8;
/// Responses count from this many noise spreads above the level's median.
const SIGNIFICANT: f32 = 3.0;
/// Below this mean excess (in spreads) a level holds nothing but noise: Gaussian noise
/// alone gives 0.0004, so this leaves a wide margin.
const NOISE_ONLY: f64 = 0.01;

/// How close to 1 a factor counts as 1: the estimate's own error on resampled copies of the
/// tutorial image (within 3%, `tests/quality.rs`). Resampling by less would only blur.
pub const SAME_SCALE: f64 = 0.03;

/// One σ of the sweep: its mean excess response and the spread it was measured against.
struct Swept {
    sigma: f64,
    excess: f64,
    spread: f64,
}

/// A scale estimate and what it rests on.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Estimate {
    /// The factor that brings the cells to the tutorial's scale (see [`crate::scale`]); 1
    /// where the estimate lies within [`SAME_SCALE`] of it.
    pub factor: f64,
    /// The best σ in the image's pixels: the score's, or the votes' where they set the
    /// estimate (each against its own calibration, [`TUTORIAL_SIGMA`] or
    /// [`crate::scale::ridges::TUTORIAL_SIGMA`]).
    pub sigma: f64,
    /// The score at each σ swept, `(σ, score)`, for plots and for doubting.
    pub curve: Vec<(f64, f64)>,
    /// Whether the ridge centres' votes ([`crate::scale::ridges`]) set the factor and σ: they
    /// found the cells over [`SPARSE_BIAS`] finer than the score did, and the image is
    /// lopsided at their σ.
    pub by_ridges: bool,
    /// The best σ of the score over the whole image (`sigma` but where the votes set it).
    pub whole_sigma: f64,
}

/// Why an image has no scale estimate.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum NoEstimate {
    #[error("the image is too small to measure its cells")]
    TooSmall,
    /// Nothing above the noise: an empty field, which has no cells to find either.
    #[error("no cells stand out from the noise: nothing to measure the scale by")]
    NoiseOnly,
    #[error("the cells seem {0}: set the scale by hand")]
    OutOfRange(String),
    /// Structures of many sizes answer about as strongly (a small field with a colony's edge,
    /// debris and cells): no width stands out clearly enough to trust.
    #[error(
        "no cell width stands out clearly: the best, σ {sigma:.1} px, leads by {lead:.0}% an \
         octave either side (20% needed; 0% where the image is too small to sweep an octave \
         beyond it)"
    )]
    Unclear { sigma: f64, lead: f64 },
}

/// The scale estimate of a normalised plane, or why there is none.
pub fn estimate(plane: &Plane) -> Result<Estimate, NoEstimate> {
    let noise = noise_sigma(plane);
    let mut votes = Votes::default();
    let levels = sweep(plane, noise, &mut votes);
    let curve: Vec<(f64, f64)> = levels.iter().map(|l| (l.sigma, l.excess)).collect();
    let (best, top) = cells_peak(&curve).ok_or(NoEstimate::TooSmall)?;
    // Gaussian noise alone exceeds its 3-spread bar by 0.0004 spreads on average
    let noise_here = noise * unit_noise_spreads().get(best).copied().unwrap_or(0.0);
    // (written so that a NaN score counts as noise too)
    let stands_out = top > NOISE_ONLY * noise_here as f64;
    if !stands_out {
        return Err(NoEstimate::NoiseOnly);
    }
    if best == 0 {
        return Err(NoEstimate::OutOfRange(format!(
            "smaller than the range measured (σ {:.1}–{:.1} px)",
            curve[0].0,
            curve[curve.len() - 1].0
        )));
    }
    // The peak must stand out from the curve an octave either side: on the coarse side that
    // octave must have been swept (a small image cannot show whether the curve falls there),
    // on the fine side the finest level stands in (noise leaves it near 0 anyway).
    let octave_away = [best.saturating_sub(LEVELS), best + LEVELS]
        .map(|k| curve.get(k).map_or(f64::INFINITY, |&(_, score)| score));
    let octave_away = octave_away[0].max(octave_away[1]);
    if top < CLEAR_PEAK * octave_away {
        return Err(NoEstimate::Unclear {
            sigma: curve[best].0,
            lead: 100.0 * (top / octave_away - 1.0).max(0.0),
        });
    }
    // a parabola through the best level and its neighbours, in log σ
    let (l, c, r) = (curve[best - 1].1, top, curve[best + 1].1);
    let denominator = l - 2.0 * c + r;
    let offset = if denominator < 0.0 {
        (0.5 * (l - r) / denominator).clamp(-0.5, 0.5)
    } else {
        0.0
    };
    let step = (2f64).powf(1.0 / LEVELS as f64).ln();
    let whole_sigma = (curve[best].0.ln() + offset * step).exp();
    let mut sigma = whole_sigma;
    let mut factor = TUTORIAL_SIGMA / sigma;
    // the score's bias runs one way, to coarse σ where background lies open; the votes', to
    // the darkest structures: so they are heard only where they find the cells finer, and
    // where the image is lopsided at their σ, as cells make it and a mottling does not
    // (post::mottle: the votes of an empty mottled field find its blobs, at their own size)
    let ridge = votes
        .sigma(CLEAR_PEAK)
        .filter(|r| ridges::TUTORIAL_SIGMA / r > SPARSE_BIAS * factor);
    let by_ridges = ridge.is_some_and(|r| {
        let response = response_at(plane, r * TUTORIAL_SIGMA / ridges::TUTORIAL_SIGMA);
        mottle::lopsidedness(&response).is_some_and(|l| l >= mottle::LOPSIDED)
    });
    if let (true, Some(r)) = (by_ridges, ridge) {
        (sigma, factor) = (r, ridges::TUTORIAL_SIGMA / r);
    }
    if (factor - 1.0).abs() <= SAME_SCALE {
        factor = 1.0;
    }
    if !(MIN_FACTOR..=MAX_FACTOR).contains(&factor) {
        return Err(NoEstimate::OutOfRange(format!(
            "to need a scale of ×{factor:.2}, outside {MIN_FACTOR}..{MAX_FACTOR}"
        )));
    }
    Ok(Estimate {
        factor,
        sigma,
        curve,
        by_ridges,
        whole_sigma,
    })
}

/// The σ the ridge centres of a normalised plane vote for ([`crate::scale::ridges`]), where one
/// stands out.
pub fn ridge_sigma(plane: &Plane) -> Option<f64> {
    let mut votes = Votes::default();
    sweep(plane, noise_sigma(plane), &mut votes);
    votes.sigma(CLEAR_PEAK)
}

/// How much finer than the score's the ridge centres' votes must find the cells to be taken
/// instead: beyond the 15% of zoom the networks learned to bear, and within the score's bias
/// on sparse fields (17–33%).
pub const SPARSE_BIAS: f64 = 1.2;

/// The cells' peak must score this many times the curve an octave either side. Measured:
/// whole images of rods lead by 31–50% (phase_027, its copies resampled ×0.5 and ×2, a crop
/// of a packed colony beside debris), synthetic 512 × 384 colonies of cells twice the
/// tutorial's size by 11–24% where lowest; the 250 × 200 crops of phase_027 whose best σ
/// was wrong by over 15% by 7–18%.
const CLEAR_PEAK: f64 = 1.2;
/// A finer peak is the cells' if it scores at least this share of the highest one...
const FINER_PEAK_SHARE: f64 = 0.6;
/// ...and the curve dips below this share of it before rising to the highest.
const FINER_PEAK_DIP: f64 = 0.9;

/// The level that answers for the cells, and its score: the highest, unless a finer level is
/// a peak of its own nearly as high. Cells are the finest dark structures above the noise;
/// coarser ones answer too — a packed colony is darker as a whole than the background, a
/// clump of debris is one big dark blob — and in a small field they can outscore the cells
/// (crops of phase_027 a quarter of a megapixel across did, in one case in five, some by ×4).
/// A curve with one peak (every whole image measured so far) is left as it is.
fn cells_peak(curve: &[(f64, f64)]) -> Option<(usize, f64)> {
    let (top, &(_, highest)) = curve
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.1.total_cmp(&b.1.1))?;
    let finer = (1..top).find(|&k| {
        let here = curve[k].1;
        let peak = here >= curve[k - 1].1 && here >= curve[k + 1].1;
        let dip = curve[k..=top]
            .iter()
            .map(|c| c.1)
            .fold(f64::INFINITY, f64::min);
        peak && here >= FINER_PEAK_SHARE * highest && dip <= FINER_PEAK_DIP * here
    });
    Some(finer.map_or((top, highest), |k| (k, curve[k].1)))
}

type Level = ImageBuffer<Luma<f32>, Vec<f32>>;

/// The score at each σ (in the plane's pixels), finest first, in steps of 2^(1/LEVELS). Each
/// level is blurred from the one before (Gaussians compose: σ² adds). Once the blur reaches
/// two octaves above the finest σ, the image is halved (every second pixel; the blur keeps
/// that free of aliasing) and the sweep goes on there, so the local σ always spans
/// 2·SIGMA_MIN..4·SIGMA_MIN — enough pixels for the Laplacian — and the sweep costs a few
/// blurs of the full image.
fn sweep(plane: &Plane, noise: f32, votes: &mut Votes) -> Vec<Swept> {
    let unit_noise = unit_noise_spreads();
    sweep_with(
        plane,
        &|k| noise * unit_noise.get(k).copied().unwrap_or(0.0),
        Some(votes),
    )
}

/// The spread of each level's response to white noise of σ 1, measured once on a noise
/// image through the very same blurs, halvings and Laplacians (what is left of the noise
/// after them is easier measured than derived).
fn unit_noise_spreads() -> &'static [f32] {
    static SPREADS: std::sync::OnceLock<Vec<f32>> = std::sync::OnceLock::new();
    SPREADS.get_or_init(|| {
        let (w, h) = (768, 768);
        let mut state = 0x9e3779b97f4a7c15u64;
        let mut uniform = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        };
        let data = (0..w * h)
            .map(|_| {
                let (u, v) = (uniform(), uniform());
                ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
            })
            .collect();
        let noise = Plane::new(w, h, data);
        // with no bar, `excess` is the mean positive response: σ/√(2π) of a Gaussian
        sweep_with(&noise, &|_| f32::NEG_INFINITY, None)
            .iter()
            .map(|l| l.spread as f32)
            .collect()
    })
}

/// The sweep, each level's bar at its median plus SIGNIFICANT times `noise_spread(level)`;
/// each level's response also goes to the ridge centres' `votes`, where given.
fn sweep_with(
    plane: &Plane,
    noise_spread: &dyn Fn(usize) -> f32,
    mut votes: Option<&mut Votes>,
) -> Vec<Swept> {
    let Some(mut level) =
        Level::from_raw(plane.width as u32, plane.height as u32, plane.data.clone())
    else {
        return Vec::new();
    };
    let mut curve = Vec::new();
    // sampling already blurs by about half a pixel
    let (mut sigma_here, mut pixel) = (0.5f64, 1.0f64);
    for k in 0.. {
        let sigma = SIGMA_MIN * (2f64).powf(k as f64 / LEVELS as f64);
        let mut local = sigma / pixel;
        if local >= 4.0 * SIGMA_MIN - 1e-9 {
            level = blur_to(&level, &mut sigma_here, local);
            level = halve(&level);
            pixel *= 2.0;
            sigma_here /= 2.0;
            local /= 2.0;
        }
        // a σ needs room: the image at least a dozen σ across, away from its borders
        if (level.width().min(level.height()) as f64) < 12.0 * local {
            break;
        }
        level = blur_to(&level, &mut sigma_here, local);
        let response = laplacian_map(&level, local);
        let (excess, spread, bar) = score(&response, noise_spread(k));
        curve.push(Swept {
            sigma,
            excess,
            spread,
        });
        if let Some(votes) = votes.as_deref_mut() {
            // beyond the levels the noise was measured at, no bar: no votes
            let spread = noise_spread(k);
            votes.push(Response {
                sigma,
                pixel,
                width: level.width() as usize,
                height: level.height() as usize,
                data: response,
                bar: if spread > 0.0 { bar } else { f32::INFINITY },
            });
        }
    }
    curve
}

/// The scale-normalised Laplacian of Gaussian of `plane` at `sigma` (its pixels), the sweep's
/// response at one σ, reached as the sweep reaches it: blurred to 4 × [`SIGMA_MIN`] and halved,
/// while σ is at least that in the level's pixels and the level keeps 24 pixels a side (so a
/// few short blurs, whatever σ), then blurred to σ; the border the blur cannot see past is left
/// out. Empty where the plane is too small for σ.
pub fn response_at(plane: &Plane, sigma: f64) -> Vec<f32> {
    let Some(mut level) =
        Level::from_raw(plane.width as u32, plane.height as u32, plane.data.clone())
    else {
        return Vec::new();
    };
    let (mut sigma_here, mut local) = (0.5f64, sigma);
    while local >= 4.0 * SIGMA_MIN && level.width().min(level.height()) >= 24 {
        level = blur_to(&level, &mut sigma_here, 4.0 * SIGMA_MIN);
        level = halve(&level);
        sigma_here /= 2.0;
        local /= 2.0;
    }
    level = blur_to(&level, &mut sigma_here, local);
    laplacian(&level, local)
}

/// `level` (blurred by `here`) blurred further to `target`, all in its own pixels.
fn blur_to(level: &Level, here: &mut f64, target: f64) -> Level {
    let extra = (target * target - *here * *here).max(0.0).sqrt();
    *here = target;
    if extra > 0.05 {
        gaussian_blur_f32(level, extra as f32)
    } else {
        level.clone()
    }
}

/// How much significant dark-ridge response a level holds: the mean, over the pixels of its
/// response (σ² times the Laplacian of the level blurred to σ, NaN by the border), of its
/// excess over the level's median plus `SIGNIFICANT` times `noise_spread`; the response's own
/// robust spread (1.4826 × MAD); and that bar. Phase-contrast cells are darker than their
/// surround, so their Laplacian is positive; bright halos and debris edges answer with the
/// other sign.
fn score(response: &[f32], noise_spread: f32) -> (f64, f64, f32) {
    // the border left out first, so that `percentile`'s sampling of large levels sees what it
    // saw before the map kept it
    let response: Vec<f32> = response.iter().copied().filter(|r| r.is_finite()).collect();
    let median = percentile(&response, 0.5);
    let deviations: Vec<f32> = response.iter().map(|r| (r - median).abs()).collect();
    let spread = 1.4826 * percentile(&deviations, 0.5);
    let bar = if noise_spread.is_finite() {
        median + SIGNIFICANT * noise_spread
    } else {
        f32::NEG_INFINITY
    };
    let excess: f64 = response.iter().map(|&r| (r - bar).max(0.0) as f64).sum();
    (excess / response.len().max(1) as f64, spread as f64, bar)
}

/// σ² times the 5-point Laplacian of a level blurred to `sigma` (its pixels), over the whole
/// level; NaN near the border, where the blur sees clamped context, so two σ and
/// the stencil are left out.
fn laplacian_map(level: &Level, sigma: f64) -> Vec<f32> {
    let (w, h) = (level.width() as usize, level.height() as usize);
    let v = level.as_raw();
    let s2 = (sigma * sigma) as f32;
    let margin = (2.0 * sigma).ceil() as usize + 1;
    let mut map = vec![f32::NAN; w * h];
    for y in margin..h.saturating_sub(margin) {
        for x in margin..w.saturating_sub(margin) {
            let i = y * w + x;
            map[i] = s2 * (v[i - 1] + v[i + 1] + v[i - w] + v[i + w] - 4.0 * v[i]);
        }
    }
    map
}

/// [`laplacian_map`] without its border: the response at the pixels it measures.
fn laplacian(level: &Level, sigma: f64) -> Vec<f32> {
    let mut response = laplacian_map(level, sigma);
    response.retain(|r| r.is_finite());
    response
}

fn halve(level: &Level) -> Level {
    let (w, h) = (level.width() / 2, level.height() / 2);
    Level::from_fn(w, h, |x, y| *level.get_pixel(2 * x, 2 * y))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::teach::colony::{Look, colony_with};

    #[test]
    fn the_response_at_one_sigma_reached_by_halving_matches_the_full_resolution_one() {
        // a dark disc 24 px across on a flat field: its centre answers σ 8 within a tenth as
        // strongly whether the blur was reached in short steps and halvings or in one long blur
        let (w, h) = (200, 200);
        let data = (0..w * h)
            .map(|i| {
                let (x, y) = ((i % w) as f32 - 100.0, (i / w) as f32 - 100.0);
                if x * x + y * y < 144.0 { 0.2 } else { 0.6 }
            })
            .collect();
        let plane = Plane::new(w, h, data);
        let peak = |r: &[f32]| r.iter().copied().fold(f32::MIN, f32::max);
        let halved = peak(&response_at(&plane, 8.0));
        let level = Level::from_raw(w as u32, h as u32, plane.data.clone()).unwrap();
        let full = peak(&laplacian(&gaussian_blur_f32(&level, 8.0), 8.0));
        assert!(
            (halved / full - 1.0).abs() < 0.1,
            "halved {halved}, full resolution {full}"
        );
    }

    #[test]
    fn the_estimate_follows_the_cells_size() {
        // synthetic colonies drawn with cells 0.6, 1 and 1.8 times the tutorial's size
        let mut sigmas = Vec::new();
        for size in [0.6, 1.0, 1.8] {
            let look = Look {
                size,
                ..Look::default()
            };
            let (plane, _) = colony_with(420, 320, 3, &look);
            sigmas.push(estimate(&plane).expect("cells to measure").sigma);
        }
        for (k, size) in [0.6, 1.8].into_iter().enumerate() {
            let ratio = sigmas[[0, 2][k]] / sigmas[1];
            assert!((ratio / size - 1.0).abs() < 0.15, "{sigmas:?}");
        }
    }

    #[test]
    fn a_sparse_field_is_measured_as_a_colony_of_the_same_cells() {
        // 5% of the places hold a cell, among specks of debris: the score over the whole image
        // read such fields 17–33% too coarse; the ridge centres' votes set them right
        for size in [0.6f32, 1.0, 1.6] {
            let look = |fill| Look {
                size,
                fill,
                debris: 30,
                ..Look::default()
            };
            let (colony, _) = colony_with(640, 480, 1, &look(0.92));
            let (sparse, _) = colony_with(640, 480, 1, &look(0.05));
            let (dense, sparse) = (estimate(&colony).unwrap(), estimate(&sparse).unwrap());
            let right = 1.0 / size as f64;
            for e in [&dense, &sparse] {
                assert!((e.factor / right - 1.0).abs() < 0.12, "×{size}: {e:?}");
            }
            assert!(sparse.by_ridges, "×{size}");
        }
    }

    #[test]
    fn noise_alone_has_no_scale() {
        let look = Look {
            cells: false,
            ..Look::default()
        };
        let (plane, _) = colony_with(300, 200, 5, &look);
        assert_eq!(estimate(&plane), Err(NoEstimate::NoiseOnly));
    }
}
