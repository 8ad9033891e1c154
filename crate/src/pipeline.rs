//! The whole segmentation, one way for the CLI, the page and the tests: an ensemble of
//! networks at a scale → averaged probability map in the image's pixels → clean-up at that
//! scale → whole cells.

use crate::backend::Backend;
use crate::dense::ProbabilityMap;
use crate::model::Model;
use crate::normalise::noise_sigma;
use crate::plane::{Plane, Rect};
use crate::post::{Cells, PostConfig, average, cells, drop_faint};
use crate::width::NoEstimate;
use crate::{scale, width};

/// How the scale is chosen: measured from the image ([`crate::width`]) or given.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ScaleChoice {
    Auto,
    Factor(f64),
}

impl std::str::FromStr for ScaleChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<ScaleChoice, String> {
        if s == "auto" {
            return Ok(ScaleChoice::Auto);
        }
        let factor: f64 = s
            .parse()
            .map_err(|_| format!("'{s}' is neither 'auto' nor a scale factor"))?;
        check_factor(factor)?;
        Ok(ScaleChoice::Factor(factor))
    }
}

/// A factor the networks can use, or why not.
pub fn check_factor(factor: f64) -> Result<f64, String> {
    if (scale::MIN_FACTOR..=scale::MAX_FACTOR).contains(&factor) {
        Ok(factor)
    } else {
        Err(format!(
            "scale {factor} is outside {}..{}",
            scale::MIN_FACTOR,
            scale::MAX_FACTOR
        ))
    }
}

/// Segments `rect` at a scale found automatically, and says how it was found. The image's
/// own estimate ([`crate::width`]) comes first; it can be off where cells lie apart (a lone
/// cell's halo makes it look wider than a packed one), so the cells found at that scale are
/// measured across ([`scale::typical_width`]: pieces of a split cell are as wide as the
/// cell, unlike their lengths) and, while that disagrees by more than 5%, the image is
/// segmented again at the scale their width gives ([`CHECKS`] times at most, and no further
/// than an octave from the start). Where no width
/// stands out in the image ([`NoEstimate::Unclear`]), the checks start from ×1. An image with
/// nothing above its noise is segmented as it is (and gives no cells); cells finer than the
/// sweep, or a scale outside the factors offered, are refused. If the checks do not settle,
/// the last scale is kept and `how` says so.
pub async fn segment_auto(
    networks: &[Model],
    plane: &Plane,
    rect: Rect,
    post: &PostConfig,
    backend: &Backend,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<(Segmentation, String), String> {
    let (first, mut how) = match width::estimate(plane) {
        Ok(e) => (
            e.factor,
            format!(
                "scale ×{:.3}, measured from the image (cells answer best at σ {:.2} px; \
                 the tutorial's at σ {:.2} px)",
                e.factor,
                e.sigma,
                width::TUTORIAL_SIGMA
            ),
        ),
        Err(why @ NoEstimate::NoiseOnly) => (1.0, format!("{why}; scale ×1")),
        // ×1 and then the width of the cells found, which holds even where cells split
        Err(why @ NoEstimate::Unclear { .. }) => (1.0, format!("{why}; scale ×1 to start")),
        Err(why) => return Err(format!("no automatic scale: {why}")),
    };
    let mut factor = first;
    let mut seg = segment_cells(networks, plane, rect, factor, post, backend, progress).await?;
    // Each round measures the cells found across and segments again at the scale their width
    // gives, until the two agree: at a scale far off, the cells found are only roughly as
    // wide as the cells, and nearer the right scale they are measured better.
    let mut rounds = 0;
    while rounds < CHECKS {
        let Some(width) = scale::typical_width(&seg.cells).filter(|_| seg.cells.count() >= 3)
        else {
            break;
        };
        // an octave either side of the start at most: where the cells found are debris or
        // merged clumps, each check can take the scale further the wrong way
        let next = scale::factor_for_width(width).clamp(first / REACH, first * REACH);
        if (next / factor - 1.0).abs() <= 0.05 {
            how.push_str(&format!(
                "; the cells found are {width:.1} px wide, as expected"
            ));
            break;
        }
        how.push_str(&format!(
            "; the cells found there are {width:.1} px wide (the tutorial's {:.1}): scale ×{next:.3}",
            scale::TUTORIAL_CELL_WIDTH
        ));
        factor = next;
        seg = segment_cells(networks, plane, rect, factor, post, backend, progress).await?;
        rounds += 1;
    }
    if rounds == CHECKS {
        how.push_str(&format!(
            "; not settled after {CHECKS} checks: set the scale by hand if the cells look wrong"
        ));
    }
    Ok((seg, how))
}

/// How far [`segment_auto`]'s checks may take the scale from where they started: an octave.
const REACH: f64 = 2.0;

/// How many times [`segment_auto`] checks a scale against the width of the cells found.
const CHECKS: usize = 3;

/// `plane` as the networks see it at `factor` (itself at 1).
pub fn resampled(plane: &Plane, factor: f64) -> Plane {
    let (w, h) = scale::scaled_size(plane.width, plane.height, factor);
    scale::resample(plane, w, h)
}

/// How a map is made: densely (the dilated twin), or patch by patch in batches of a size
/// (post 4's slow way, to compare against).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    Dense,
    PatchByPatch(usize),
}

/// The mean probability map of `rect` (in `plane`'s pixels) over the networks, which see
/// `scaled` — `plane` resampled by `factor` ([`resampled`]; `plane` itself at 1) — along
/// `path`. `progress(done, total)` follows all networks' work as one bar.
#[allow(clippy::too_many_arguments)]
pub async fn ensemble_map(
    networks: &[Model],
    plane: &Plane,
    scaled: &Plane,
    factor: f64,
    rect: Rect,
    backend: &Backend,
    path: Path,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<ProbabilityMap, String> {
    if networks.is_empty() {
        return Err("no networks to segment with".into());
    }
    let (rect, _) = ProbabilityMap::for_crop(plane, rect)?;
    let on_scaled = if factor == 1.0 {
        rect
    } else {
        scale::scaled_rect(rect, factor, scaled.width, scaled.height)
    };
    let n = networks.len();
    let mut maps = Vec::with_capacity(n);
    for (k, net) in networks.iter().enumerate() {
        let mut overall = |done: usize, total: usize| progress(k * total + done, n * total);
        let map = net
            .map(scaled, on_scaled, backend, path, &mut overall)
            .await;
        maps.push(map?);
    }
    let map = average(&maps)?;
    Ok(if factor == 1.0 {
        map
    } else {
        scale::map_back(&map, on_scaled, factor, rect)
    })
}

/// What one segmentation gave: the map (image pixels), the cells and the scale used.
pub struct Segmentation {
    pub map: ProbabilityMap,
    pub cells: Cells,
    pub factor: f64,
}

/// Segments `rect` of a normalised plane: the ensemble at the chosen scale, then the clean-up
/// `post` (given at the networks' scale) in the image's pixels.
pub async fn segment_cells(
    networks: &[Model],
    plane: &Plane,
    rect: Rect,
    factor: f64,
    post: &PostConfig,
    backend: &Backend,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Segmentation, String> {
    let factor = check_factor(factor)?;
    let scaled = if factor == 1.0 {
        None
    } else {
        Some(resampled(plane, factor))
    };
    let on = scaled.as_ref().unwrap_or(plane);
    let dense = Path::Dense;
    let map = ensemble_map(networks, plane, on, factor, rect, backend, dense, progress).await?;
    let cells = clean_up(&map, plane, rect, &post.at_scale(factor));
    Ok(Segmentation { map, cells, factor })
}

/// The clean-up of a map of `rect` of `plane`, with settings in the image's pixels: cells,
/// then the faint ones dropped against the image's own noise.
pub fn clean_up(map: &ProbabilityMap, plane: &Plane, rect: Rect, post: &PostConfig) -> Cells {
    let found = cells(map, post);
    faint_dropped(found, plane, rect, post)
}

/// `found` (cells of `rect` of `plane`) without the faint ones ([`drop_faint`]).
pub fn faint_dropped(found: Cells, plane: &Plane, rect: Rect, post: &PostConfig) -> Cells {
    if post.min_contrast <= 0.0 {
        return found;
    }
    let pixels = plane.crop_reflected(rect, 0);
    drop_faint(found, &pixels.data, noise_sigma(plane), post)
}
