//! `cellseg eval`: the held-out table (cells matched one-to-one at IoU 0.5 / 0.75 / 0.9,
//! core and whole) for each network and their average, over a grid of clean-up settings.

use std::path::PathBuf;

use clap::Args;

use cellseg::core::cells::Cells;
use cellseg::core::plane::{Plane, Rect};
use cellseg::core::probability::ProbabilityMap;
use cellseg::eval::evaluate::{Kind, Report, evaluate_kind};
use cellseg::model::Path as MapPath;
use cellseg::model::backend::Backend;
use cellseg::pipeline::borne_out;
use cellseg::post::{PostConfig, average, cells_from_smoothed, smoothed_cell_probability};
use cellseg::train::heldout_split;

use crate::{
    BackendArg, Result, backend, bar, image, instances_in, labels_for, networks, parse_rect,
};

/// The clean-up settings of `eval`: lists, so one run of the networks scores every
/// combination (the maps are the slow part; the clean-up is cheap).
#[derive(Args, Clone)]
struct PostGrid {
    /// Median filter radii over p(cell), comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [PostConfig::default().median_radius])]
    median: Vec<u32>,
    /// Thresholds on p(cell), comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [PostConfig::default().threshold])]
    threshold: Vec<f32>,
    /// Growth limits (see `segment --help`), comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [PostConfig::default().grow_to])]
    grow_to: Vec<f32>,
    /// Cells smaller than this many pixels are dropped.
    #[arg(long, default_value_t = PostConfig::default().min_area)]
    min_area: u32,
    /// Rims of whole cells (see `segment --help`); cores are scored without one.
    #[arg(long, default_value_t = PostConfig::default().rim)]
    rim: u32,
    /// Cells that do not stand out from the background, or this many pixel noise deviations,
    /// are dropped (see `segment --help`; 0: none).
    #[arg(long, default_value_t = PostConfig::default().min_contrast)]
    min_contrast: f32,
    /// Cells under this share of the typical cell are dropped (see `segment --help`).
    #[arg(long, default_value_t = PostConfig::default().min_share)]
    min_share: f32,
}

impl PostGrid {
    fn configs(&self) -> Vec<PostConfig> {
        let mut all = Vec::new();
        for &median_radius in &self.median {
            for &threshold in &self.threshold {
                for &grow_to in &self.grow_to {
                    all.push(PostConfig {
                        median_radius,
                        threshold,
                        grow_to,
                        min_area: self.min_area,
                        rim: self.rim,
                        min_contrast: self.min_contrast,
                        min_share: self.min_share,
                        ..PostConfig::default()
                    });
                }
            }
        }
        all
    }
}

#[derive(Args)]
pub(crate) struct EvalArgs {
    /// Weights files, comma-separated; reported one by one and averaged.
    #[arg(long, value_delimiter = ',', required = true)]
    weights: Vec<PathBuf>,
    /// Image to score (TIFF, PNG or JPEG).
    #[arg(long)]
    image: PathBuf,
    /// Class image: 0 other, 1 cell, 2 edge.
    #[arg(long)]
    labels: PathBuf,
    /// Instance image (0 background, else a cell id); default: the cell class's components.
    #[arg(long)]
    instances: Option<PathBuf>,
    /// Region to score; default: the held-out right third.
    #[arg(long, value_parser = parse_rect)]
    region: Option<Rect>,
    #[command(flatten)]
    post: PostGrid,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Where the networks run.
    #[arg(long, value_enum, default_value_t = BackendArg::Cpu)]
    backend: BackendArg,
}

/// Dense probabilities of `rect` for each weights file, with a progress bar.
fn probability_maps(
    paths: &[PathBuf],
    plane: &Plane,
    rect: Rect,
    backend: &Backend,
) -> Result<Vec<ProbabilityMap>> {
    // as `segment` shows the networks the image at ×1: smoothed where noisier than they learned
    let (smoothed, blur) = cellseg::pipeline::networks_view(plane, 1.0);
    if let Some(blur) = blur {
        eprintln!("{}", cellseg::io::denoise::note(blur));
    }
    let seen = smoothed.as_ref().unwrap_or(plane);
    let mut maps = Vec::new();
    for net in networks(paths, backend)? {
        let progress = bar(0, "segmenting");
        let mut report = |done: usize, total: usize| {
            progress.set_length(total as u64);
            progress.set_position(done as u64);
        };
        let map = pollster::block_on(net.map(seen, rect, backend, MapPath::Dense, &mut report))?;
        progress.finish_and_clear();
        maps.push(map);
    }
    Ok(maps)
}

pub(crate) fn run(a: EvalArgs) -> Result<()> {
    let backend = backend(&a.backend)?;
    let plane = image(&a.image)?;
    let labels = labels_for(&a.labels, &plane)?;
    let rect = a
        .region
        .unwrap_or(heldout_split(plane.width, plane.height).1)
        .clamp(plane.width, plane.height);
    let truth = labels.crop(rect);
    let truth_cells = match &a.instances {
        Some(path) => Cells::from_labels(
            instances_in(path, &plane, rect)?,
            rect.width(),
            rect.height(),
            1,
        ),
        None => truth.cells(),
    };
    let maps = probability_maps(&a.weights, &plane, rect, &backend)?;
    let mut named: Vec<(String, ProbabilityMap)> = a
        .weights
        .iter()
        .map(|p| p.display().to_string())
        .zip(maps.iter().cloned())
        .collect();
    if maps.len() > 1 {
        named.push((format!("average of {}", maps.len()), average(&maps)?));
    }
    // The median filter is the slow part of the clean-up: once per map and radius.
    let smoothed: Vec<Vec<(u32, Vec<f32>)>> = named
        .iter()
        .map(|(_, map)| {
            let radii = a.post.median.iter();
            radii
                .map(|&r| (r, smoothed_cell_probability(map, r)))
                .collect()
        })
        .collect();
    let mut rows: Vec<(&str, Kind, PostConfig, Report)> = Vec::new();
    for config in a.post.configs() {
        for kind in [Kind::Core, Kind::Whole] {
            // cores are the posts' cells, without a rim
            let config = match kind {
                Kind::Core => PostConfig { rim: 0, ..config },
                Kind::Whole => config,
            };
            for ((name, map), by_radius) in named.iter().zip(&smoothed) {
                let (_, p) = by_radius
                    .iter()
                    .find(|(r, _)| *r == config.median_radius)
                    .expect("every radius was smoothed");
                let found = borne_out(cells_from_smoothed(p, map, &config), &plane, rect, &config);
                let report = evaluate_kind(kind, map, &found, &truth, &truth_cells);
                rows.push((name.as_str(), kind, config, report));
            }
        }
    }
    if a.json {
        let json: Vec<_> = rows
            .iter()
            .map(|(name, kind, c, r)| {
                serde_json::json!({
                    "weights": name,
                    "cells": kind,
                    "region": [rect.x0, rect.y0, rect.x1, rect.y1],
                    "post": { "median": c.median_radius, "threshold": c.threshold,
                              "grow_to": c.grow_to, "min_area": c.min_area, "rim": c.rim,
                              "min_contrast": c.min_contrast, "min_share": c.min_share },
                    "report": r,
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json).expect("serialisable")
        );
        return Ok(());
    }
    println!(
        "region x {}..{}, y {}..{}; min area {}",
        rect.x0, rect.x1, rect.y0, rect.y1, a.post.min_area
    );
    println!(
        "{:<36} {:<5} {:>3} {:>5} {:>5} {:>3} {:>6} {:>8} {:>8} {:>7} {:>7} {:>7} {:>7}   \
         unmatched: missed/merged/split/misshaped/spurious",
        "weights",
        "cells",
        "med",
        "thr",
        "grow",
        "rim",
        "acc",
        "cellIoU",
        "cells",
        "F1@.5",
        "AP@.5",
        "AP@.75",
        "AP@.9",
    );
    for (name, kind, c, r) in &rows {
        println!(
            "{:<36} {:<5} {:>3} {:>5.2} {:>5.2} {:>3} {:>6.3} {:>8.3} {:>4}/{:<3} {:>7.3} {:>7.3} {:>7.3} {:>7.3}   {}/{}/{}/{}/{}",
            name,
            match kind {
                Kind::Core => "core",
                Kind::Whole => "whole",
            },
            c.median_radius,
            c.threshold,
            c.grow_to,
            c.rim,
            r.pixel_accuracy,
            r.class_iou[1],
            r.cells_predicted,
            r.cells_true,
            r.objects[0].f1,
            r.objects[0].ap,
            r.objects[1].ap,
            r.objects[2].ap,
            r.unmatched.missed,
            r.unmatched.merged,
            r.unmatched.split,
            r.unmatched.misshaped,
            r.unmatched.spurious
        );
    }
    Ok(())
}
