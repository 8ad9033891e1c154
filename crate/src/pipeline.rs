//! The whole segmentation, one way for the CLI, the page and the tests: an ensemble of
//! networks at a scale → averaged probability map in the image's pixels → clean-up at that
//! scale → whole cells.

use crate::core::cells::Cells;
use crate::core::classes::CLASS_CELL;
use crate::core::plane::{Plane, Rect};
use crate::core::probability::ProbabilityMap;
use crate::io::denoise;
use crate::io::marks::left_out;
use crate::io::normalise::noise_sigma;
use crate::model::backend::Backend;
use crate::model::{Model, Path};
use crate::post::{PostConfig, average, cells, drop_faint, keep};
use crate::scale;
use crate::scale::auto_scale::{Check, Doubted, POPULATION, ScaleSearch};

/// How the scale is chosen: measured from the image ([`crate::scale::width`]) or given.
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

/// Segments `rect` at a scale found automatically ([`crate::scale::auto_scale`]: the image's own
/// estimate, checked against the width of the cells found there); the search that found it
/// says how ([`ScaleSearch::how`]) and how many cells confirmed it. If the checks do not
/// settle, the last scale is kept and the search says so (a doubt, unless the cells' last ask
/// was near it).
pub async fn segment_auto(
    networks: &[Model],
    plane: &Plane,
    rect: Rect,
    post: &PostConfig,
    backend: &Backend,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<(Segmentation, ScaleSearch), String> {
    let mut search = ScaleSearch::start(plane)?;
    loop {
        let seg = segment_cells(
            networks,
            plane,
            rect,
            search.factor(),
            post,
            backend,
            progress,
        )
        .await?;
        let edges = edges_around(&seg.cells, plane, rect);
        let check = search.check_found_with_edges(&seg.cells, &seg.found, seg.doubted, edges);
        if let Check::Again { .. } = check {
            continue;
        }
        return Ok((seg, search));
    }
}

/// `plane` as the networks see it at `factor` (itself at 1).
pub fn resampled(plane: &Plane, factor: f64) -> Plane {
    let (w, h) = scale::scaled_size(plane.width, plane.height, factor);
    scale::resample(plane, w, h)
}

/// `plane` as the networks see it at `factor`: smoothed where it is noisier than they learned
/// and not a sparse field whose cells stand out ([`denoise::for_networks`]), then resampled;
/// None where that is `plane` itself. With it, the blur used (σ in the networks' pixels), if
/// any.
pub fn networks_view(plane: &Plane, factor: f64) -> (Option<Plane>, Option<f32>) {
    let smoothed = denoise::for_networks(plane, factor);
    let blur = smoothed.as_ref().map(|s| s.blur);
    let smoothed = smoothed.map(|s| s.plane);
    let base = smoothed.as_ref().unwrap_or(plane);
    let scaled = (factor != 1.0).then(|| resampled(base, factor));
    (scaled.or(smoothed), blur)
}

/// The mean probability map of `rect` (in `plane`'s pixels) over the networks, which see
/// `scaled` — `plane` as they are shown it at `factor` ([`networks_view`]: resampled, and
/// smoothed where noisier than they learned; `plane` itself where neither) — along `path`.
/// `progress(done, total)` follows all networks' work as one bar.
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
    /// The cells the networks found, before those the image does not bear out were dropped
    /// ([`borne_out`]): what the scale search falls back on where it dropped nearly all.
    pub found: Cells,
    /// Why the cells found are doubtful ([`doubts`]).
    pub doubt: Option<String>,
    /// What the image's checks doubt, for the scale search ([`doubts`]: where the halo's
    /// doubt is the one said, the cells' own may be doubted too).
    pub doubted: Doubted,
    /// The blur (σ in the networks' pixels) their view was smoothed with, where the image was
    /// noisier than they learned ([`networks_view`]).
    pub blur: Option<f32>,
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
    let (seen, blur) = networks_view(plane, factor);
    let on = seen.as_ref().unwrap_or(plane);
    let dense = Path::Dense;
    let map = ensemble_map(networks, plane, on, factor, rect, backend, dense, progress).await?;
    let post = post.at_scale(factor);
    let found = cells(&map, &post);
    let cells = borne_out(found.clone(), plane, rect, &post);
    let bar = crate::post::sure::bar(networks);
    let (doubt, doubted) = doubts(&cells, plane, rect, &post, &map, bar);
    Ok(Segmentation {
        map,
        cells,
        factor,
        found,
        doubt,
        doubted,
        blur,
    })
}

/// How far the image's edges rise around `cells` (of `rect` of `plane`), for the scale
/// search: [`crate::scale::edges::rise`], off the image's padding and marks. None where too
/// few cells were found for the search to hear it (a population, [`POPULATION`]).
pub fn edges_around(cells: &Cells, plane: &Plane, rect: Rect) -> Option<f64> {
    if cells.count() < POPULATION {
        return None;
    }
    let flat = within(&left_out(plane), plane, rect);
    crate::scale::edges::rise(cells, &plane.crop_reflected(rect, 0).data, flat.as_deref())
}

/// `found` (cells of `rect` of `plane`) as far as the image bears them out: off its padding,
/// its burnt-in marks and a field stop's outside ([`off_padding`]) and, unless
/// `post.min_contrast` is 0, none that fails to stand out from the background at its own
/// scale, or where that has no yardstick, from the pixel noise ([`drop_faint`]).
pub fn borne_out(found: Cells, plane: &Plane, rect: Rect, post: &PostConfig) -> Cells {
    if found.count() == 0 {
        return found;
    }
    let flat = left_out(plane);
    let found = off_padding(found, &flat, plane.width, rect);
    if post.min_contrast <= 0.0 {
        return found;
    }
    let pixels = plane.crop_reflected(rect, 0);
    // padding's flat level would halve the noise a picture with much of it seems to have
    let noise = if flat.contains(&true) {
        let picture = plane.data.iter().zip(&flat);
        let data = picture
            .map(|(&v, &f)| if f { f32::NAN } else { v })
            .collect();
        noise_sigma(&Plane::new(plane.width, plane.height, data))
    } else {
        noise_sigma(plane)
    };
    drop_faint(
        found,
        &pixels.data,
        noise,
        within(&flat, plane, rect).as_deref(),
        post,
    )
}

/// `rect` of a `plane`-sized mask, where it marks anything.
fn within(mask: &[bool], plane: &Plane, rect: Rect) -> Option<Vec<bool>> {
    mask.contains(&true).then(|| {
        (rect.y0..rect.y1)
            .flat_map(|y| mask[y * plane.width..][rect.x0..rect.x1].iter().copied())
            .collect()
    })
}

/// Why the cells found in `rect` of `plane` (with settings `post` in the image's pixels) from
/// `map` are doubtful: most of them lack phase contrast's halo ([`crate::post::halo`]), do not
/// stand out from the background's own texture ([`crate::post::faint::doubt`]), or the
/// networks are sure of too little of them, under `sure_bar` ([`crate::post::sure::bar`] of the
/// networks that made `map`; where the "cells" cover the field, there is no background for the
/// other two to compare with), or the image is as dark as it is bright at their size, as a
/// random mottling is ([`crate::post::mottle`]), or, where they leave no open background,
/// neither the networks' sureness nor the image's lopsidedness vouches for them
/// ([`crate::post::packed`]); with what the doubts are about, for the scale search: the
/// image's kind (the halo's), the cells themselves (the next three, asked even where the
/// halo's doubt is the one said), or, where neither is, that the networks are less sure of
/// the cells than of most real cells ([`Doubted::Unsure`]; so it is where the packed crops'
/// doubt is said).
pub fn doubts(
    cells: &Cells,
    plane: &Plane,
    rect: Rect,
    post: &PostConfig,
    map: &ProbabilityMap,
    sure_bar: f64,
) -> (Option<String>, Doubted) {
    let pixels = plane.crop_reflected(rect, 0);
    let halo = crate::post::halo::doubt(cells, &pixels.data);
    let flat = within(&left_out(plane), plane, rect);
    let of_cells = crate::post::faint::doubt(cells, &pixels.data, flat.as_deref(), post.ring)
        .or_else(|| crate::post::sure::doubt(cells, map.class(CLASS_CELL), sure_bar))
        .or_else(|| crate::post::mottle::doubt(cells, &pixels));
    // too few cells for the checks above to speak: whether they are plain dark bodies (where
    // that cannot be told, they are not)
    let few = cells.count() < crate::post::halo::MIN_CELLS;
    let unplain =
        || few && crate::post::halo::plain(cells, &pixels.data, flat.as_deref()) != Some(true);
    // nothing said of the cells, but less sure of them than of most real cells: for the
    // scale search
    let unsure = || {
        crate::post::sure::share(cells, map.class(CLASS_CELL))
            .is_some_and(|share| share < crate::post::sure::BAR)
    };
    let doubted = match (&halo, &of_cells) {
        (_, Some(_)) => Doubted::Cells,
        (Some(_), None) => Doubted::Halo,
        (None, None) if unplain() => Doubted::Unplain,
        (None, None) if unsure() => Doubted::Unsure,
        (None, None) => Doubted::Nothing,
    };
    // said; the search hears only that the networks are unsure (Doubted::Unsure, for which
    // it takes back no try but the octave's): a real packed crop the networks are unsure of
    // at the right scale would be sent back to a wrong one
    let packed =
        || crate::post::packed::doubt(cells, &pixels, flat.as_deref(), map.class(CLASS_CELL));
    (halo.or(of_cells).or_else(packed), doubted)
}

/// `found` (cells of `rect` of an image `width` wide) without their pixels on `flat`, the
/// image's padding, marks and a field stop's outside ([`left_out`]: normalising set them to
/// one level), and without the
/// cells that leaves less than half of. Beside a halo, a flat field looks enough like a cell
/// body for the networks to find cells there; a real cell cut by the padding keeps its part
/// in the picture.
pub fn off_padding(found: Cells, flat: &[bool], width: usize, rect: Rect) -> Cells {
    if !flat.contains(&true) {
        return found;
    }
    let mut labels = found.labels.clone();
    for (i, label) in labels.iter_mut().enumerate() {
        let (x, y) = (rect.x0 + i % found.width, rect.y0 + i / found.width);
        if flat[y * width + x] {
            *label = 0;
        }
    }
    let mut left = vec![0u32; found.count()];
    for &l in labels.iter().filter(|&&l| l > 0) {
        left[l as usize - 1] += 1;
    }
    let kept: Vec<bool> = left
        .iter()
        .zip(&found.areas)
        .map(|(&n, &area)| 2 * n >= area)
        .collect();
    keep(
        &Cells {
            labels,
            areas: left,
            ..found
        },
        &kept,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_packed_crop_the_networks_are_unsure_of_is_said_to_be_doubtful_but_takes_no_try_back() {
        let (field, cells) = crate::post::packed::tests::faint_packed_rods();
        let p_cell = crate::post::packed::tests::p_cell(&cells, 0.36);
        let mut map = ProbabilityMap::new(field.width, field.height);
        let n = field.width * field.height;
        map.data[n..2 * n].copy_from_slice(&p_cell);
        let rect = Rect::new(0, 0, field.width, field.height);
        let post = PostConfig::default();
        let bar = crate::post::sure::UNET_BAR;
        let (doubt, doubted) = doubts(&cells, &field, rect, &post, &map, bar);
        let doubt = doubt.expect("said");
        assert!(doubt.contains("no empty background"), "{doubt}");
        // (for the search, only less sure than of most real cells: no try but the octave's
        // is taken back for it)
        assert_eq!(doubted, Doubted::Unsure);
    }

    #[test]
    fn the_networks_see_dark_bodies_and_bright_halos_beyond_the_window_at_every_scale() {
        // a cell's body below the window and its halo above it, as a sparse field's window,
        // set by the background, leaves them (van Vliet's first pages: -2.5 and 1.7)
        let (w, h) = (160, 120);
        let data = (0..w * h)
            .map(|i| {
                let (x, y) = ((i % w) as f32 - 80.0, (i / w) as f32 - 60.0);
                match (x * x + y * y).sqrt() {
                    d if d < 16.0 => -2.5,
                    d if d < 28.0 => 1.7,
                    _ => 0.33,
                }
            })
            .collect();
        let plane = Plane::new(w, h, data);
        for factor in [0.57, 1.6] {
            let (view, _) = networks_view(&plane, factor);
            let view = view.expect("resampled");
            let low = view.data.iter().copied().fold(f32::INFINITY, f32::min);
            let high = view.data.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            assert!(
                (low + 2.5).abs() < 1e-3 && (high - 1.7).abs() < 1e-3,
                "×{factor}: {low}..{high}"
            );
        }
    }
}
