//! Quality on images the networks never saw: the committed ensemble on transformed copies of
//! phase_027 (contrast, gamma, noise, other magnifications with the scale measured from the
//! image), on empty fields (phase_027's cell-free corners, synthetic noise and debris) and on
//! synthetic colonies of other cell sizes. Scored on the held-out third, whole cells,
//! matched one-to-one at IoU 0.5 as the field does.

mod common;

use cellseg::core::cells::Cells;
use cellseg::core::classes::CLASS_CELL;
use cellseg::core::plane::{Plane, Rect};
use cellseg::eval::evaluate::{Kind, Report, evaluate_kind};
use cellseg::io::labels::ClassMap;
use cellseg::io::normalise::{normalise, normalise_keeping};
use cellseg::model::Model;
use cellseg::model::backend::Backend;
use cellseg::model::weights;
use cellseg::pipeline::{Segmentation, resampled, segment_auto, segment_cells};
use cellseg::post::PostConfig;
use cellseg::scale::auto_scale::ScaleSearch;
use cellseg::scale::{self, edges, ridges, width};
use cellseg::teach::colony::{Look, colony_with};
use cellseg::train::heldout_split;

/// The default ensemble: the networks models/index.json lists for the page.
fn ensemble(backend: &Backend) -> Vec<Model> {
    let models = concat!(env!("CARGO_MANIFEST_DIR"), "/../models");
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(format!("{models}/index.json")).unwrap()).unwrap();
    index["ensemble"]
        .as_array()
        .expect("index.json lists an ensemble")
        .iter()
        .map(|name| {
            let path = format!("{models}/{}", name.as_str().unwrap());
            weights::model_from_bytes(&std::fs::read(path).unwrap(), &backend.device).unwrap()
        })
        .collect()
}

/// phase_027 as the camera wrote it (not normalised) and its labels.
fn raw_tutorial() -> (Plane, ClassMap) {
    let raw = cellseg::io::decode::decode(&common::read("upstream/Images/phase_027.tif"))
        .unwrap()
        .plane;
    let (_, labels) = common::training_image();
    (raw, labels)
}

/// A raw plane normalised as a loaded file is.
fn normalised(mut plane: Plane) -> Plane {
    normalise(&mut plane);
    plane
}

/// A synthetic field as a camera writes it (`offset + gain · v`), loaded and normalised.
fn as_loaded(field: Plane, offset: f32, gain: f32) -> Plane {
    let counts = field.data.iter().map(|v| offset + gain * v).collect();
    normalised(Plane::new(field.width, field.height, counts))
}

/// The default segmentation of `rect` at `factor`.
fn segmented(nets: &[Model], plane: &Plane, rect: Rect, factor: f64, b: &Backend) -> Segmentation {
    let post = PostConfig::default();
    pollster::block_on(segment_cells(
        nets,
        plane,
        rect,
        factor,
        &post,
        b,
        &mut |_, _| {},
    ))
    .unwrap()
}

fn cells_of(nets: &[Model], plane: &Plane, rect: Rect, factor: f64, b: &Backend) -> Cells {
    segmented(nets, plane, rect, factor, b).cells
}

/// The whole of `plane` segmented at the automatic scale with the default clean-up, as
/// `cellseg segment` does, and how the scale was found.
fn segmented_auto(nets: &[Model], plane: &Plane, b: &Backend) -> (Segmentation, ScaleSearch) {
    let whole = Rect::new(0, 0, plane.width, plane.height);
    let post = PostConfig::default();
    pollster::block_on(segment_auto(nets, plane, whole, &post, b, &mut |_, _| {})).unwrap()
}

/// A 480 × 360 colony of `look` (seed 21), loaded as a camera writes it, segmented at the
/// automatic scale, and its whole cells scored.
fn colony_segmented(
    nets: &[Model],
    look: &Look,
    b: &Backend,
) -> (Segmentation, ScaleSearch, Report) {
    let (image, truth) = colony_with(480, 360, 21, look);
    let image = as_loaded(image, 300.0, 1500.0);
    let (seg, search) = segmented_auto(nets, &image, b);
    let r = evaluate_kind(Kind::Whole, &seg.map, &seg.cells, &truth, &truth.cells());
    (seg, search, r)
}

/// Whole-cell scores of the default segmentation of the held-out region of `plane` (labels
/// `labels`, same size) at `factor`.
fn heldout_whole(
    nets: &[Model],
    plane: &Plane,
    labels: &ClassMap,
    factor: f64,
    b: &Backend,
) -> Report {
    let rect = heldout_split(plane.width, plane.height).1;
    let seg = segmented(nets, plane, rect, factor, b);
    let truth = labels.crop(rect);
    evaluate_kind(Kind::Whole, &seg.map, &seg.cells, &truth, &truth.cells())
}

/// `plane` under uneven light: each pixel times `light(x, y)`, with x and y running 0..1 across
/// the image.
fn lit(plane: &Plane, light: impl Fn(f32, f32) -> f32) -> Plane {
    let (w, h) = (plane.width, plane.height);
    let data = plane
        .data
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let x = (i % w) as f32 / (w - 1) as f32;
            let y = (i / w) as f32 / (h - 1) as f32;
            v * light(x, y)
        })
        .collect();
    Plane::new(w, h, data)
}

/// `plane` blurred by a Gaussian of `sigma` px, as a lens slightly out of focus blurs.
fn blurred(plane: &Plane, sigma: f32) -> Plane {
    let image = image::ImageBuffer::<image::Luma<f32>, _>::from_raw(
        plane.width as u32,
        plane.height as u32,
        plane.data.clone(),
    )
    .unwrap();
    let out = imageproc::filter::gaussian_blur_f32(&image, sigma);
    Plane::new(plane.width, plane.height, out.into_raw())
}

/// `plane` with `count` saturated `size` × `size` specks at reproducible places (a camera's
/// hot pixels, or bright debris).
fn with_specks(plane: &Plane, size: usize, count: usize) -> Plane {
    let mut out = plane.clone();
    let mut state = 2024u64;
    let mut next = |n: usize| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as usize) % n
    };
    for _ in 0..count {
        let (x, y) = (next(plane.width - size), next(plane.height - size));
        for dy in 0..size {
            for dx in 0..size {
                out.data[(y + dy) * plane.width + x + dx] = 1.0;
            }
        }
    }
    out
}

/// `plane` (fractions of full scale) as an 8-bit JPEG of its 1–99% window at `quality`,
/// read back as a dropped file is.
fn as_jpeg(plane: &Plane, quality: u8) -> Plane {
    let w = cellseg::io::normalise::window(plane);
    let bytes: Vec<u8> = plane
        .data
        .iter()
        .map(|&v| ((v - w.low) / (w.high - w.low) * 255.0).clamp(0.0, 255.0) as u8)
        .collect();
    let mut file = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut file, quality)
        .encode(
            &bytes,
            plane.width as u32,
            plane.height as u32,
            image::ExtendedColorType::L8,
        )
        .unwrap();
    cellseg::io::decode::decode(&file).unwrap().plane
}

/// How many pixels of `cells` lie where `at(x, y)` says.
fn cell_pixels_where(cells: &Cells, at: impl Fn(usize, usize) -> bool) -> usize {
    let w = cells.width;
    (cells.labels.iter().enumerate())
        .filter(|&(i, &id)| id > 0 && at(i % w, i / w))
        .count()
}

fn f1(r: &Report) -> f64 {
    r.objects[0].f1
}

#[test]
fn whole_cells_on_the_heldout_third_and_on_changed_contrast_gamma_noise_and_camera_flaws() {
    let b = Backend::cpu();
    let nets = ensemble(&b);
    let (raw, labels) = raw_tutorial();
    let base = heldout_whole(&nets, &normalised(raw.clone()), &labels, 1.0, &b);
    // the tutorial's noise share (io::denoise) is phase_027's own, which is seen as it is
    let (share, _) = cellseg::io::denoise::noise_share(&normalised(raw.clone()));
    assert!(
        (share - cellseg::io::denoise::TUTORIAL_NOISE).abs() < 0.001,
        "{share}"
    );
    assert!(cellseg::io::denoise::for_networks(&normalised(raw.clone()), 1.0).is_none());
    eprintln!(
        "held-out, whole cells: F1 {:.3}, AP@0.5/0.75/0.9 {:.3}/{:.3}/{:.3}",
        f1(&base),
        base.objects[0].ap,
        base.objects[1].ap,
        base.objects[2].ap
    );
    // measured 0.806 and 0.566 (models/README.md): a floor a little below, to catch regressions
    assert!(f1(&base) > 0.78, "{base:?}");
    assert!(base.objects[1].ap > 0.53, "{base:?}");
    let (low, high) = (
        cellseg::io::normalise::percentile(&raw.data, 0.001),
        cellseg::io::normalise::percentile(&raw.data, 0.999),
    );
    let unit = |v: f32| ((v - low) / (high - low)).clamp(0.0, 1.0);
    let mut state = 12345u64;
    let mut gaussian = move || {
        // Box–Muller from a tiny LCG: reproducible without another dependency
        let mut uniform = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        };
        let (u, v) = (uniform(), uniform());
        ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
    };
    let changed: Vec<(&str, Plane)> = vec![
        (
            "contrast ÷ 4, offset + 30% of full scale",
            Plane::new(
                raw.width,
                raw.height,
                raw.data.iter().map(|&v| 0.3 + v / 4.0).collect(),
            ),
        ),
        (
            "gamma 0.6",
            Plane::new(
                raw.width,
                raw.height,
                raw.data.iter().map(|&v| unit(v).powf(0.6)).collect(),
            ),
        ),
        (
            "gamma 1.6",
            Plane::new(
                raw.width,
                raw.height,
                raw.data.iter().map(|&v| unit(v).powf(1.6)).collect(),
            ),
        ),
        (
            "noise σ 2% of the range (about twice the image's own)",
            Plane::new(
                raw.width,
                raw.height,
                raw.data
                    .iter()
                    .map(|&v| v + 0.02 * (high - low) * gaussian())
                    .collect(),
            ),
        ),
        ("slightly out of focus (blur σ 1 px)", blurred(&raw, 1.0)),
        ("hot pixels: 0.1% at full scale", with_specks(&raw, 1, 1440)),
        (
            "300 saturated specks of 2 × 2 px (hot clusters, bright debris)",
            with_specks(&raw, 2, 300),
        ),
        ("four dead columns", {
            let mut dead = raw.clone();
            for y in 0..dead.height {
                for x in [100, 500, 1000, 1200] {
                    dead.data[y * dead.width + x] = 0.0;
                }
            }
            dead
        }),
        ("8-bit JPEG, quality 20", as_jpeg(&raw, 20)),
    ];
    for (what, plane) in changed {
        let r = heldout_whole(&nets, &normalised(plane), &labels, 1.0, &b);
        eprintln!("{what}: F1 {:.3} (unchanged {:.3})", f1(&r), f1(&base));
        assert!(f1(&r) > f1(&base) - 0.06, "{what}: {r:?}");
    }
    // Fainter and noisier: most cells stay plain to the eye, but fell short of 3 pixel noise
    // deviations and were dropped (post::faint). Held-out F1 at the automatic scale
    // (`cellseg segment` on such files) was 0.614 and 0.608, then 0.733 and 0.736 (here 0.727
    // and 0.702). Both are noisier than the networks learned, and seen smoothed
    // (io::denoise) they read 0.760 and 0.759 here.
    let median = cellseg::io::normalise::percentile(&raw.data, 0.5);
    let sigma = cellseg::io::normalise::noise_sigma(&raw);
    let faint: Vec<(&str, Plane, f64)> = vec![
        (
            "contrast ÷ 5 about the background, its noise kept",
            Plane::new(
                raw.width,
                raw.height,
                (raw.data.iter())
                    .map(|&v| median + (v - median) / 5.0 + sigma * 0.98 * gaussian())
                    .collect(),
            ),
            0.74,
        ),
        (
            "five times the noise",
            Plane::new(
                raw.width,
                raw.height,
                (raw.data.iter())
                    .map(|&v| v + sigma * 24f32.sqrt() * gaussian())
                    .collect(),
            ),
            0.74,
        ),
    ];
    for (what, plane, floor) in faint {
        let plane = normalised(plane);
        let (seg, _) = segmented_auto(&nets, &plane, &b);
        let r = heldout_whole(&nets, &plane, &labels, seg.factor, &b);
        eprintln!(
            "{what}: F1 {:.3} at ×{:.3} (unchanged {:.3})",
            f1(&r),
            seg.factor,
            f1(&base)
        );
        assert!(f1(&r) > floor, "{what}: {r:?}");
        // real cells, however faint: none of the checks may doubt them (post::sure's bar
        // sits under the networks' sureness of real cells, 46% or more, where noise lowers
        // it); both copies are seen smoothed, not taken for sparse fields
        let sure = cellseg::post::sure::share(&seg.cells, seg.map.class(CLASS_CELL));
        eprintln!(
            "  sure of {sure:?} of the cores, seen with blur {:?}",
            seg.blur
        );
        assert!(seg.blur.is_some(), "{what}");
        assert_eq!(seg.doubt, None, "{what}");
    }
    // Padding (stitching, registration, rotation, a round field stop) leaves the held-out third
    // as it was, so its cells must come out as they were, and no cell may reach into the black
    // (before io::padding, the window began at the black: held-out F1 0.747 for either, from
    // `cellseg segment --scale auto` on such files; 0.812 and 0.810 after).
    let w = raw.width;
    // which pixels are black, by column and row
    type Frame = fn(usize, usize) -> bool;
    let frames: [(&str, Frame); 2] = [
        ("a black band over the left 300 columns", |x, _| x < 300),
        ("a round field stop, off centre", |x, y| {
            (x as f32 - 1160.0).hypot(y as f32 - 520.0) > 750.0
        }),
    ];
    for (what, black) in frames {
        let mut framed = raw.clone();
        for (i, v) in framed.data.iter_mut().enumerate() {
            if black(i % w, i / w) {
                *v = 0.0;
            }
        }
        let plane = normalised(framed);
        let r = heldout_whole(&nets, &plane, &labels, 1.0, &b);
        let (seg, search) = segmented_auto(&nets, &plane, &b);
        let cells = &seg.cells;
        let in_black = cell_pixels_where(cells, black);
        eprintln!(
            "{what}: F1 {:.3} (unchanged {:.3}); automatic scale ×{:.3}, {} cells, {in_black} cell pixels in the black",
            f1(&r),
            f1(&base),
            seg.factor,
            cells.count()
        );
        assert!(f1(&r) > f1(&base) - 0.02, "{what}: {r:?}");
        assert_eq!(in_black, 0, "{what}");
        assert!((seg.factor - 1.0).abs() < 0.15, "{what}: {}", search.how());
    }
    // A field stop's outside that is not flat but the camera's dark level and its noise (at
    // 15% of the background, the held-out third inside the aperture) is left out too
    // (io::field_stop). Before, it was read as picture and the window began in the dark:
    // held-out F1 0.755 from `cellseg segment --scale auto` on such a file; 0.808 after.
    let background = cellseg::io::normalise::percentile(&raw.data, 0.5);
    let sigma = cellseg::io::normalise::noise_sigma(&raw);
    let beyond = |x: usize, y: usize| (x as f32 - 1000.0).hypot(y as f32 - 520.0) - 700.0;
    let mut stopped = raw.clone();
    let mut dark = 0;
    for (i, v) in stopped.data.iter_mut().enumerate() {
        if beyond(i % w, i / w) > 0.0 {
            *v = 0.15 * background + sigma * gaussian();
            dark += 1;
        }
    }
    let mut plane = stopped;
    let outside = normalise_keeping(&mut plane).outside;
    let r = heldout_whole(&nets, &plane, &labels, 1.0, &b);
    let (seg, search) = segmented_auto(&nets, &plane, &b);
    let cells = &seg.cells;
    // a cell cut by the aperture may keep a pixel or two beyond it
    let in_dark = cell_pixels_where(cells, |x, y| beyond(x, y) > 2.0);
    let share = dark as f64 / raw.data.len() as f64;
    eprintln!(
        "a round field stop's noisy dark outside ({:.0}%, read as {:.0}%): F1 {:.3} (unchanged {:.3}); automatic scale ×{:.3}, {} cells, {in_dark} cell pixels in the dark",
        100.0 * share,
        100.0 * outside,
        f1(&r),
        f1(&base),
        seg.factor,
        cells.count()
    );
    assert!((outside - share).abs() < 0.01, "{outside} for {share}");
    assert!(f1(&r) > f1(&base) - 0.02, "{r:?}");
    assert_eq!(in_dark, 0);
    assert!((seg.factor - 1.0).abs() < 0.15, "{}", search.how());
    // Marks burnt into an exported image, drawn into the held-out third: a timestamp (a black
    // box with white digits) and a white scale bar. Read as picture, the box gave 11 "cells"
    // (held-out F1 0.738 from `cellseg segment` on such a file, 0.807 without the marks);
    // left out (io::marks), none (0.749 there). What is left of the fall is the 21 cells the
    // marks cover or cut: on the cells away from them, F1 is the unmarked image's (0.793).
    let mut marked = raw.clone();
    let paint = |p: &mut Plane, (x0, y0, x1, y1): (usize, usize, usize, usize), v: f32| {
        for y in y0..y1 {
            for x in x0..x1 {
                p.data[y * w + x] = v;
            }
        }
    };
    paint(&mut marked, (1150, 10, 1380, 40), 0.0);
    for d in 0..13 {
        let x = 1160 + 16 * d;
        paint(&mut marked, (x, 16, x + 3, 34), 1.0);
        paint(&mut marked, (x, 16, x + 9, 19), 1.0);
    }
    paint(&mut marked, (1150, 1000, 1350, 1012), 1.0);
    let on_marks = |x: usize, y: usize| {
        ((1148..1382).contains(&x) && (8..42).contains(&y))
            || ((1148..1352).contains(&x) && (998..1014).contains(&y))
    };
    let plane = normalised(marked);
    let r = heldout_whole(&nets, &plane, &labels, 1.0, &b);
    let (seg, search) = segmented_auto(&nets, &plane, &b);
    let cells = &seg.cells;
    let on = cell_pixels_where(cells, on_marks);
    eprintln!(
        "a timestamp and a scale bar burnt in: F1 {:.3} (unchanged {:.3}); automatic scale ×{:.3}, {on} cell pixels on them",
        f1(&r),
        f1(&base),
        seg.factor,
    );
    assert_eq!(on, 0);
    assert!(f1(&r) > f1(&base) - 0.07, "{r:?}");
    assert!((seg.factor - 1.0).abs() < 0.15, "{}", search.how());
    // Uneven light is divided out before the window is taken (io::light): the held-out third
    // keeps its F1, however the light falls across it. Before, with one window for the whole
    // field: 0.804, 0.789, 0.749 and 0.757 (`cellseg segment --scale auto` on such files).
    type Lamp = fn(f32, f32) -> f32;
    fn vignetting(depth: f32, x: f32, y: f32) -> f32 {
        let (dx, dy) = (2.0 * x - 1.0, 2.0 * y - 1.0);
        1.0 - depth / 2.0 * (dx * dx + dy * dy)
    }
    let lamps: [(&str, f32, Lamp); 4] = [
        (
            "light falling from 120% to 80% left to right",
            1.5,
            |x, _| 1.2 - 0.4 * x,
        ),
        (
            "vignetting: 35% darker in the corners",
            1.0 / 0.65,
            |x, y| vignetting(0.35, x, y),
        ),
        ("light falling fourfold, 160% to 40%", 4.0, |x, _| {
            1.6 - 1.2 * x
        }),
        (
            "vignetting: 70% darker in the corners",
            1.0 / 0.3,
            |x, y| vignetting(0.7, x, y),
        ),
    ];
    for (what, ratio, lamp) in lamps {
        let mut plane = lit(&raw, lamp);
        let light = normalise_keeping(&mut plane).light.map(|l| l.ratio);
        let r = heldout_whole(&nets, &plane, &labels, 1.0, &b);
        eprintln!(
            "{what}: F1 {:.3} (unchanged {:.3}); light read as {light:?} (×{ratio:.2})",
            f1(&r),
            f1(&base)
        );
        assert!(f1(&r) > f1(&base) - 0.02, "{what}: {r:?}");
        let read = light.unwrap_or(1.0);
        assert!((read / ratio - 1.0).abs() < 0.25, "{what}: {light:?}");
    }
    // A colony beside an empty field is not uneven light: phase_027's cells on the right,
    // its background's level and noise over the left 700 columns.
    let mut half = raw.clone();
    for (i, v) in half.data.iter_mut().enumerate() {
        if i % half.width < 700 {
            *v = background + sigma * gaussian();
        }
    }
    let light = cellseg::io::light::light(&half).map(|l| l.ratio);
    assert!(normalise_keeping(&mut half).light.is_none(), "{light:?}");
}

/// Small fields hold structures of many sizes (a colony's edge, debris, background beside the
/// cells), which can outscore the cells in the scale sweep: the estimate must then find the
/// cells' own peak or say that no width stands out, never confidently pick a wrong one.
#[test]
fn small_crops_of_phase_027_get_its_scale_or_say_it_is_unclear() {
    let (raw, labels) = raw_tutorial();
    let (w, h) = (250, 200);
    let (mut crops, mut unclear) = (0, 0);
    for y in (0..=raw.height - h).step_by(h / 2) {
        for x in (0..=raw.width - w).step_by(w / 2) {
            let rect = Rect::new(x, y, x + w, y + h);
            if labels.crop(rect).counts()[1] * 10 < w * h {
                continue; // fewer than a tenth of the pixels are cells
            }
            crops += 1;
            match width::estimate(&normalised(raw.crop_reflected(rect, 0))) {
                Ok(e) => assert!((e.factor - 1.0).abs() < 0.2, "{rect:?}: ×{:.3}", e.factor),
                Err(width::NoEstimate::Unclear { .. }) => unclear += 1,
                Err(e) => panic!("{rect:?}: {e}"),
            }
        }
    }
    eprintln!(
        "{crops} crops of {w} × {h} with cells: {unclear} unclear, the rest within 20% of ×1"
    );
    assert!(
        crops > 50 && unclear * 3 < crops,
        "{unclear} of {crops} unclear"
    );
}

/// The scale of synthetic colonies (512 × 384, the page's) of other cell sizes, over seeds.
#[test]
fn synthetic_colonies_of_other_sizes_get_their_scale_or_say_it_is_unclear() {
    for size in [0.6f32, 1.0, 1.6, 2.0] {
        let mut unclear = 0;
        for seed in 0..20 {
            let look = Look {
                size,
                ..Look::default()
            };
            let (image, _) = colony_with(512, 384, seed, &look);
            match width::estimate(&image) {
                Ok(e) => {
                    let off = (e.factor * size as f64 - 1.0).abs();
                    assert!(off < 0.2, "size ×{size}, seed {seed}: ×{:.3}", e.factor);
                }
                Err(width::NoEstimate::Unclear { .. }) => unclear += 1,
                Err(e) => panic!("size ×{size}, seed {seed}: {e}"),
            }
        }
        assert!(unclear <= 2, "size ×{size}: {unclear} of 20 unclear");
    }
}

#[test]
fn the_scale_is_measured_from_the_image_at_other_magnifications() {
    let b = Backend::cpu();
    let nets = ensemble(&b);
    let (plane, labels) = common::training_image();
    let at_one = width::estimate(&plane).unwrap();
    assert!((at_one.factor - 1.0).abs() < 0.02, "{:?}", at_one.factor);
    // the ridge centres' calibration (scale::ridges)
    let ridge = width::ridge_sigma(&plane).unwrap();
    assert!(
        (ridge / ridges::TUTORIAL_SIGMA - 1.0).abs() < 0.02,
        "σ {ridge}"
    );
    // the reference width: the cells the ensemble finds in phase_027, measured across
    let whole = Rect::new(0, 0, plane.width, plane.height);
    let found = cells_of(&nets, &plane, whole, 1.0, &b);
    let width = scale::typical_width(&found).unwrap();
    eprintln!("phase_027's cells found: {width:.2} px wide (median)");
    assert!(
        (width / scale::TUTORIAL_CELL_WIDTH - 1.0).abs() < 0.02,
        "{width}"
    );
    // and how sharp its edges are (scale::edges), which follows the magnification below
    let rise = edges::rise(&found, &plane.data, None).unwrap();
    eprintln!("phase_027's edges rise over {rise:.2} px");
    assert!(
        (rise / edges::TUTORIAL_EDGE_RISE - 1.0).abs() < 0.03,
        "{rise}"
    );
    for r in [0.5, 0.7, 1.4, 2.0] {
        // the tutorial image as another microscope's: cells r times as large in pixels
        let (w, h) = scale::scaled_size(plane.width, plane.height, r);
        let image = resampled(&plane, r);
        let truth = labels.resized(w, h);
        let estimate = width::estimate(&image).unwrap();
        let right = 1.0 / r;
        eprintln!(
            "×{r}: estimated factor {:.3}, right {right:.3}",
            estimate.factor
        );
        assert!(
            (estimate.factor / right - 1.0).abs() < 0.15,
            "×{r}: {}",
            estimate.factor
        );
        let whole = Rect::new(0, 0, image.width, image.height);
        let rise = edges::rise(
            &cells_of(&nets, &image, whole, right, &b),
            &image.data,
            None,
        )
        .unwrap();
        eprintln!("  its edges rise over {rise:.2} px");
        let expected = r * edges::TUTORIAL_EDGE_RISE;
        if r < 0.7 {
            // halved, its edges are finer than a pixel's steps can follow: sharper, no more
            assert!(rise < 1.2 * expected, "×{r}: {rise}");
        } else {
            assert!((rise / expected - 1.0).abs() < 0.15, "×{r}: {rise}");
        }
        let at_estimate = heldout_whole(&nets, &image, &truth, estimate.factor, &b);
        let at_right = heldout_whole(&nets, &image, &truth, right, &b);
        eprintln!(
            "  F1 at the estimate {:.3}, at the right scale {:.3}",
            f1(&at_estimate),
            f1(&at_right)
        );
        assert!(f1(&at_estimate) > f1(&at_right) - 0.03, "×{r}");
    }
}

#[test]
fn empty_fields_give_no_cells() {
    let b = Backend::cpu();
    let nets = ensemble(&b);
    let (raw, labels) = raw_tutorial();
    // phase_027's cell-free corners, each loaded as an image of its own
    for rect in [
        Rect::new(0, 0, 200, 200),
        Rect::new(0, raw.height - 300, 300, raw.height),
    ] {
        assert!(
            labels.crop(rect).counts()[1] == 0,
            "the corner holds no labelled cell"
        );
        let corner = normalised(raw.crop_reflected(rect, 0));
        let whole = Rect::new(0, 0, corner.width, corner.height);
        let found = cells_of(&nets, &corner, whole, 1.0, &b);
        assert_eq!(found.count(), 0, "{rect:?}");
        assert!(
            width::estimate(&corner).is_err(),
            "no scale from an empty corner"
        );
    }
    // synthetic empty fields: noise (as a 16-bit camera writes it) with and without debris
    for (noise, debris) in [(1.0, 0), (3.0, 0), (1.0, 60), (3.0, 60)] {
        let look = Look {
            cells: false,
            noise,
            debris,
            ..Look::default()
        };
        let field = as_loaded(colony_with(400, 300, 11, &look).0, 800.0, 2000.0);
        let whole = Rect::new(0, 0, field.width, field.height);
        let found = cells_of(&nets, &field, whole, 1.0, &b);
        assert_eq!(found.count(), 0, "noise ×{noise}, {debris} specks");
    }
    // empty fields mottled 4 px across, two and four times as strongly as their pixel noise:
    // the mottles passed the pixel noise's check, and the scale search made them cell-sized
    // (116 "cells" without a word of doubt in such a field). The result must say it is
    // doubtful: most of the "cells" do not stand out from the texture around them
    // (post::faint), or lack a halo. Finer mottles (σ 1–3 px) gave the U-Net before it
    // learned debris (unet-1) hundreds to thousands of "cells": at σ 1.5 px and eight times
    // the noise 3,954 of them, which cover the field and leave no background for either check
    // (there it was sure of too little of them, post::sure), and at σ 2–3 px 1,159–2,050 it
    // was as sure of as of real ones, without a word of doubt. The default finds none at
    // σ 1.5–2 px. At σ 3 px and eight times the noise it finds 1,101 "cells" and is as sure of
    // them as of real round cells, with halos all round: only the image itself says they are
    // not cells, as dark as it is bright at their size (post::mottle).
    for (size, strength, seed) in [
        (4.0, 2.0, 12),
        (4.0, 4.0, 14),
        (2.0, 4.0, 16),
        (1.0, 4.0, 22),
        (1.5, 8.0, 24),
        (2.0, 8.0, 26),
        (3.0, 8.0, 28),
    ] {
        let look = Look {
            cells: false,
            ..Look::default()
        };
        let field = as_loaded(colony_with(800, 600, seed, &look).0, 800.0, 2000.0);
        let sigma = cellseg::io::normalise::noise_sigma(&field);
        let mut state = seed;
        let white: Vec<f32> = (0..field.data.len())
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((state >> 40) as f32 / (1u64 << 24) as f32) - 0.5
            })
            .collect();
        let mottle = blurred(&Plane::new(field.width, field.height, white), size);
        let spread =
            (mottle.data.iter().map(|v| v * v).sum::<f32>() / mottle.data.len() as f32).sqrt();
        let data = (field.data.iter().zip(&mottle.data))
            .map(|(&v, &m)| v + strength * sigma * m / spread)
            .collect();
        let mottled = Plane::new(field.width, field.height, data);
        let (seg, search) = segmented_auto(&nets, &mottled, &b);
        let found = seg.cells.count();
        eprintln!(
            "mottles σ {size} px, {strength} × the noise: {found} cells; {:?}",
            seg.doubt
        );
        assert!(
            found == 0 || seg.doubt.is_some(),
            "mottles σ {size} px, {strength} × the noise: {found} cells, {}",
            search.how()
        );
        if strength == 8.0 && size < 3.0 {
            // mottles whose "cells" would cover the field and leave the halo and texture
            // checks no background: unet-1 found thousands there, which only its sureness
            // (post::sure) doubted; the default finds none
            assert_eq!(found, 0, "mottles σ {size} px, 8 × the noise");
        }
        if size == 3.0 {
            let doubt = seg.doubt.as_deref().unwrap_or_default();
            // said by the mottling check (post::mottle), the one that sees it
            assert!(
                doubt.contains("as dark as it is bright"),
                "σ 3 px: {found} cells, {doubt}"
            );
        }
    }
}

#[test]
fn sparse_fields_and_other_cell_sizes_find_their_cells_and_nothing_else() {
    let b = Backend::cpu();
    let nets = ensemble(&b);
    for (size, fill, debris, speck_size) in [
        (1.0, 0.06, 40, 1.0),
        (2.0, 0.3, 0, 1.0),
        (0.6, 0.9, 0, 1.0),
        (1.6, 0.1, 40, 1.0),
        // as in van Vliet et al.'s E. coli time-lapse: a few large cells among many specks
        // 5–13 px across, which outnumber them (once, 31 "cells" were found beside 2)
        (1.5, 0.04, 40, 4.0),
    ] {
        let look = Look {
            size,
            fill,
            debris,
            speck_size,
            ..Look::default()
        };
        let (image, truth) = colony_with(480, 360, 21, &look);
        let image = as_loaded(image, 300.0, 1500.0);
        let whole = Rect::new(0, 0, image.width, image.height);
        let (seg, search) = segmented_auto(&nets, &image, &b);
        let how = search.how();
        eprintln!("{how}");
        let factor = seg.factor;
        let r = evaluate_kind(Kind::Whole, &seg.map, &seg.cells, &truth, &truth.cells());
        let right = segmented(&nets, &image, whole, 1.0 / size as f64, &b);
        let r1 = evaluate_kind(
            Kind::Whole,
            &right.map,
            &right.cells,
            &truth,
            &truth.cells(),
        );
        eprintln!(
            "  at the right scale: {} found, F1 {:.3}",
            r1.cells_predicted,
            f1(&r1)
        );
        eprintln!(
            "size ×{size}, fill {fill}, {debris} specks: scale ×{factor:.2} (right ×{:.2}), {} cells found of {}, F1 {:.3}",
            1.0 / size,
            r.cells_predicted,
            r.cells_true,
            f1(&r)
        );
        assert!(
            (factor * size as f64 - 1.0).abs() < 0.2,
            "size ×{size}: scale ×{factor}"
        );
        assert!(f1(&r) > 0.8, "size ×{size}: {r:?}");
        assert_eq!(
            search.doubt(),
            None,
            "phase-contrast cells leave no doubt: {how}"
        );
        assert_eq!(seg.doubt, None, "synthetic cells have their halos");
    }
}

/// Colonies fainter or noisier than the tutorial's: every cell is plain to the eye, but the
/// pixel noise's check kept 31 and 0 of 226 (`cellseg segment`; post::faint).
#[test]
fn faint_and_noisy_colonies_keep_their_cells() {
    let b = Backend::cpu();
    let nets = ensemble(&b);
    for (contrast, noise) in [(0.3, 1.0), (1.0, 4.0)] {
        let look = Look {
            contrast,
            noise,
            ..Look::default()
        };
        let (seg, search, r) = colony_segmented(&nets, &look, &b);
        eprintln!(
            "contrast ×{contrast}, noise ×{noise}: scale ×{:.2}, {} cells found of {}, F1 {:.3}",
            seg.factor,
            r.cells_predicted,
            r.cells_true,
            f1(&r)
        );
        assert!(f1(&r) > 0.9, "contrast ×{contrast}, noise ×{noise}: {r:?}");
        assert_eq!(search.doubt(), None, "{}", search.how());
        // both are noisier than the networks learned, and were shown them smoothed
        // (io::denoise; 0.972 and 0.944 before)
        assert!(seg.blur.is_some(), "contrast ×{contrast}, noise ×{noise}");
    }
}

/// Sparse fields whose few cells stand far out of a noisy background, as on van Vliet et
/// al.'s first pages (the 1–99% window is the background's, the noise 4–9.7% of it; here
/// 21%): the networks see them as they are (io::denoise::SPARSE_TAIL), and find every cell
/// and nothing else, with no word of doubt (their cells' bodies lie 9–12 noise deviations
/// below the 1% level, against the bar's 6). Smoothed and re-windowed, the first field gave
/// 3 "cells" for 1, and van Vliet's pages 17–25 for 2, from their background's mottling.
#[test]
fn sparse_fields_of_plain_cells_are_not_smoothed() {
    let b = Backend::cpu();
    let nets = ensemble(&b);
    for (width, height, fill) in [(480, 360, 0.004), (1200, 900, 0.001), (1200, 900, 0.0015)] {
        let look = Look {
            fill,
            contrast: 4.0,
            noise: 4.0,
            debris: 0,
            ..Look::default()
        };
        let (image, truth) = colony_with(width, height, 23, &look);
        let image = as_loaded(image, 300.0, 1500.0);
        let (share, noise) = cellseg::io::denoise::noise_share(&image);
        let (seg, search) = segmented_auto(&nets, &image, &b);
        let r = evaluate_kind(Kind::Whole, &seg.map, &seg.cells, &truth, &truth.cells());
        let sure = cellseg::post::sure::share(&seg.cells, seg.map.class(CLASS_CELL));
        eprintln!(
            "a sparse field {width} × {height}, noise {:.1}% of its window: {} cells found of {}, F1 {:.3}, sure of {sure:?}; {}",
            100.0 * share,
            r.cells_predicted,
            r.cells_true,
            f1(&r),
            search.how()
        );
        let field = format!("{width} × {height}, fill {fill}");
        assert!(
            share > cellseg::io::denoise::learned_noise(),
            "{field}: {share}"
        );
        assert!(cellseg::io::denoise::sparse(&image, noise), "{field}");
        assert_eq!(seg.blur, None, "{field}");
        assert_eq!(
            (r.cells_predicted, f1(&r)),
            (r.cells_true, 1.0),
            "{field}: {r:?}"
        );
        assert_eq!(seg.doubt, None, "{field}");
    }
}

/// Other bacteria: round cells (cocci, in chains) and rods twice the tutorial's length, at
/// the tutorial's size and 1.8 times it, drawn with exact labels. The networks learnt only
/// phase_027's rods; each cell must still be found whole, with no word of doubt. (The scale
/// settles where the cells are as wide as the tutorial's rods, which for cocci 10 px across
/// is not 1 / size: it is not checked here.)
#[test]
fn round_cells_and_long_rods_are_found_whole() {
    let b = Backend::cpu();
    let nets = ensemble(&b);
    for (length, size) in [(0.0, 1.0), (0.0, 1.8), (2.0, 1.0), (2.0, 1.8)] {
        let look = Look {
            length,
            size,
            ..Look::default()
        };
        let (seg, search, r) = colony_segmented(&nets, &look, &b);
        eprintln!(
            "length ×{length}, size ×{size}: scale ×{:.2}, {} cells found of {}, F1 {:.3}, AP@0.75 {:.3}",
            seg.factor,
            r.cells_predicted,
            r.cells_true,
            f1(&r),
            r.objects[1].ap
        );
        assert!(f1(&r) > 0.9, "length ×{length}, size ×{size}: {r:?}");
        assert_eq!(search.doubt(), None, "{}", search.how());
        assert_eq!(seg.doubt, None);
    }
}

/// Packed long rods 7.6 px wide (×0.6 the tutorial's width, 2.5 times as long: *E. coli*
/// filaments under a 60× objective) filling a 1024 × 768 field. The image's score over the
/// whole field gives about ×1.3, where the networks find a thousand thin cores and the
/// contrast check keeps almost none (the rest of each cell, taken for background, is
/// texture they do not stand out from): too few to check the scale by. The scale the cores'
/// width gives was tried then (`auto_scale`'s unit tests keep that path), and the cells
/// found there, whole, confirmed it. Since 2026-12-07 the rods' ridge centres give ×1.65 at
/// the start (`scale::ridges`), which the cells found confirm.
#[test]
fn packed_thin_rods_dropped_as_faint_cores_get_the_scale_their_width_gives() {
    let b = Backend::cpu();
    let nets = ensemble(&b);
    let look = Look {
        size: 0.6,
        length: 2.5,
        ..Look::default()
    };
    let (image, truth) = colony_with(1024, 768, 8, &look);
    let (seg, search) = segmented_auto(&nets, &as_loaded(image, 300.0, 1500.0), &b);
    let r = evaluate_kind(Kind::Whole, &seg.map, &seg.cells, &truth, &truth.cells());
    eprintln!(
        "{}: {} cells found of {}, F1 {:.3}, AP@0.75 {:.3}",
        search.how(),
        r.cells_predicted,
        r.cells_true,
        f1(&r),
        r.objects[1].ap
    );
    assert!(f1(&r) > 0.95, "{r:?}");
    assert!((seg.factor * 0.6 - 1.0).abs() < 0.15, "×{:.3}", seg.factor);
    assert_eq!(search.doubt(), None);
    assert_eq!(seg.doubt, None);
}

/// Phase contrast inverted (an export with the wrong polarity): the networks still find
/// hundreds of "cells", dark gaps without the bright halo real cells have. The result must
/// say it is doubtful; the same crop as it is leaves no doubt.
#[test]
fn an_inverted_phase_contrast_image_is_said_to_be_doubtful() {
    let b = Backend::cpu();
    let nets = ensemble(&b);
    let (raw, _) = raw_tutorial();
    let crop = Rect::new(400, 300, 800, 700);
    let raw = raw.crop_reflected(crop, 0);
    let top = raw.data.iter().copied().fold(f32::MIN, f32::max);
    let inverted = Plane::new(
        raw.width,
        raw.height,
        raw.data.iter().map(|v| top - v).collect(),
    );
    for (image, doubtful) in [
        (normalised(raw.clone()), false),
        (normalised(inverted), true),
    ] {
        let (seg, search) = segmented_auto(&nets, &image, &b);
        eprintln!(
            "inverted {doubtful}: {} cells at ×{:.3}; {:?}",
            seg.cells.count(),
            seg.factor,
            seg.doubt
        );
        assert!(
            seg.cells.count() > 100,
            "cells are found either way: {}",
            search.how()
        );
        assert_eq!(seg.doubt.is_some(), doubtful, "{:?}", seg.doubt);
    }
}

/// Not phase contrast: bright rods on a dark field, as a fluorescence image shows cells. The
/// networks know dark cells with bright halos; here the posts' networks and `unet-1` find a
/// few huge "cells" (the field between the rods), which want a scale far beyond what the
/// checks may reach, and the default (taught that bright blobs are debris) finds none where
/// the rods set the scale. Either way the result must say it is doubtful rather than pass for
/// an answer.
#[test]
fn bright_cells_on_black_are_said_to_be_doubtful() {
    let b = Backend::cpu();
    let nets = ensemble(&b);
    let (w, h) = (320usize, 256usize);
    let mut data = vec![0f32; w * h];
    for k in 0..25usize {
        let (cy, cx) = (
            (20 + (k * 97) % (h - 40)) as f32,
            (20 + (k * 61) % (w - 40)) as f32,
        );
        let (sin, cos) = (k as f32 * 0.7).sin_cos();
        for (i, v) in data.iter_mut().enumerate() {
            let (x, y) = ((i % w) as f32 - cx, (i / w) as f32 - cy);
            let (along, across) = (x * cos + y * sin, -x * sin + y * cos);
            let d = ((along.abs() - 12.0).max(0.0).powi(2) + across * across).sqrt();
            *v += (1.0 - (d - 5.0)).clamp(0.0, 1.0);
        }
    }
    for (i, v) in data.iter_mut().enumerate() {
        *v += ((i % w * 7 + i / w * 13) % 5) as f32 * 0.0013;
    }
    let image = as_loaded(Plane::new(w, h, data), 1000.0, 3000.0);
    let (_, search) = segmented_auto(&nets, &image, &b);
    let how = search.how();
    eprintln!("{how}");
    let doubt = search.doubt().unwrap_or_else(|| panic!("no doubt: {how}"));
    assert!(doubt.contains("may not be cells"), "{doubt}");
    assert!(!how.contains("as expected"), "{how}");
}

/// `fields` as a 16-bit TIFF stack, as a camera writes them (`offset + gain · v`).
fn tiff_stack(fields: &[&Plane]) -> Vec<u8> {
    use tiff::encoder::{TiffEncoder, colortype::Gray16};
    let mut bytes = Vec::new();
    let mut encoder = TiffEncoder::new(std::io::Cursor::new(&mut bytes)).unwrap();
    for field in fields {
        let counts: Vec<u16> = field
            .data
            .iter()
            .map(|v| (800.0 + 2000.0 * v).clamp(0.0, 65535.0) as u16)
            .collect();
        encoder
            .write_image::<Gray16>(field.width as u32, field.height as u32, &counts)
            .unwrap();
    }
    bytes
}

#[test]
fn a_time_lapse_that_starts_sparse_keeps_the_scale_its_colony_confirms() {
    // cells ×1.5 the tutorial's: a first frame of 3 cells among specks of debris (too few to
    // check a scale by), then the colony grown (enough to confirm one), then more of it
    let b = Backend::cpu();
    let nets = ensemble(&b);
    let sparse = Look {
        size: 1.5,
        fill: 0.04,
        debris: 40,
        speck_size: 4.0,
        ..Look::default()
    };
    let colony = Look {
        size: 1.5,
        fill: 0.3,
        ..Look::default()
    };
    let frames = [
        colony_with(480, 360, 21, &sparse),
        colony_with(480, 360, 5, &colony),
        colony_with(480, 360, 6, &colony),
    ];
    let bytes = tiff_stack(&frames.iter().map(|(plane, _)| plane).collect::<Vec<_>>());
    let pages = pollster::block_on(cellseg::batch::segment_file(
        &bytes,
        "time-lapse.tif",
        cellseg::io::decode::Channel::Luminance,
        &nets,
        cellseg::pipeline::ScaleChoice::Auto,
        &PostConfig::default(),
        None,
        &b,
        |_, _| std::future::ready(true),
    ))
    .unwrap();
    let pages: Vec<_> = pages.into_iter().map(|p| p.unwrap()).collect();
    for (page, (_, truth)) in pages.iter().zip(&frames) {
        let f1 = cellseg::eval::metrics::object_scores(
            &page.cells.labels,
            &truth.whole_cells().labels,
            0.5,
        )
        .f1;
        eprintln!(
            "page {}: ×{:.3}, {} cells of {}, F1 {f1:.3}, confirmed by {:?}: {}",
            page.page,
            page.factor,
            page.cells.count(),
            truth.cells().count(),
            page.confirmed_by,
            page.how
        );
        assert!(f1 >= 0.8, "page {}: F1 {f1:.3}", page.page);
    }
    // the first frame's scale was not kept: its cells could not confirm it
    assert!(page_is_its_own(&pages[1].how), "{}", pages[1].how);
    assert!(
        pages[0]
            .confirmed_by
            .is_none_or(|n| n < cellseg::batch::PIN_CELLS)
    );
    // the colony's was, for the frame after it
    assert!(pages[1].confirmed_by.unwrap() >= cellseg::batch::PIN_CELLS);
    assert_eq!(pages[2].factor, pages[1].factor);
    assert_eq!(
        pages[2].how,
        format!("scale ×{:.3}, as found on page 2", pages[1].factor)
    );
}

fn page_is_its_own(how: &str) -> bool {
    how.contains("measured from the image") || how.starts_with("scale ×1.000")
}
