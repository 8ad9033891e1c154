//! `cellseg segment`: dense inference and the clean-up, at a scale given or found
//! (`--scale auto`), for one image (with every export) or many (a folder of outputs and one
//! summary row per page).

use std::path::{Path, PathBuf};

use clap::Args;

use cellseg::batch;
use cellseg::core::cells::Cells;
use cellseg::core::plane::Rect;
use cellseg::io::export;
use cellseg::io::labels::instances_from_image;
use cellseg::pipeline::{ScaleChoice, segment_auto, segment_cells};
use cellseg::post::measure;
use cellseg::post::outline;
use cellseg::post::{PostConfig, ks_test, smoothed_cell_probability};

use crate::{
    BackendArg, Result, backend, bar, format_of, instances_in, networks, parse_rect, read, say,
    write,
};

#[derive(Args, Clone)]
struct PostArgs {
    /// Median filter radius over p(cell), in pixels (window (2r+1)²; 0 = none).
    #[arg(long, default_value_t = PostConfig::default().median_radius)]
    median: u32,
    /// A pixel is cell when p(cell) is above this.
    #[arg(long, default_value_t = PostConfig::default().threshold)]
    threshold: f32,
    /// Cells grow from their cores over touching pixels with p(cell) above this; at or above
    /// the threshold nothing grows.
    #[arg(long, default_value_t = PostConfig::default().grow_to)]
    grow_to: f32,
    /// Cells smaller than this many pixels are dropped.
    #[arg(long, default_value_t = PostConfig::default().min_area)]
    min_area: u32,
    /// Whole cells: each cell takes the rim pixels likelier cell or edge than background, up
    /// to this many pixels out (0: the posts' cores only).
    #[arg(long, default_value_t = PostConfig::default().rim)]
    rim: u32,
    /// Cells must stand out from the empty background at their own scale; where the image
    /// has too little empty background to measure that, differ from the ring around them by
    /// this many pixel noise deviations on average (in a field of faint cells, half the
    /// typical cell's contrast will do). 0: keep every cell.
    #[arg(long, default_value_t = PostConfig::default().min_contrast)]
    min_contrast: f32,
    /// Cells smaller than this share of the typical cell (the one holding the median cell
    /// pixel) are dropped as fragments or debris, unless they touch the edge of what is
    /// segmented, or the networks are sure of half their core and they are no smaller than a
    /// disc as wide as the typical cell (0: keep every cell).
    #[arg(long, default_value_t = PostConfig::default().min_share)]
    min_share: f32,
}

impl PostArgs {
    fn config(&self) -> PostConfig {
        PostConfig {
            median_radius: self.median,
            threshold: self.threshold,
            grow_to: self.grow_to,
            min_area: self.min_area,
            rim: self.rim,
            min_contrast: self.min_contrast,
            min_share: self.min_share,
            ..PostConfig::default()
        }
    }
}

#[derive(Args)]
pub(crate) struct SegmentArgs {
    /// Weights files, comma-separated; their probabilities are averaged.
    #[arg(long, value_delimiter = ',', required = true)]
    weights: Vec<PathBuf>,
    /// Image(s) to segment (TIFF, PNG or JPEG), or folders of them. Several images (or
    /// --out-dir) segment every page of each into --out-dir.
    #[arg(long, num_args = 1.., required = true)]
    image: Vec<PathBuf>,
    /// Segment every page of every image into this folder: a 16-bit label TIFF, the outlines
    /// as GeoJSON (NAME-cells.geojson) and as a Fiji ROI set (NAME-rois.zip) per page,
    /// cells.csv (the --out-cells columns,
    /// all images) and summary.csv (a row per page, failures with their reason). A file that
    /// fails does not stop the others; the exit status then is 1, listing them.
    #[arg(long)]
    out_dir: Option<PathBuf>,
    /// Only this region (default: the whole image).
    #[arg(long, value_parser = parse_rect)]
    region: Option<Rect>,
    /// Resample the image by this factor for the networks (cells twice as wide as the
    /// tutorial's want 0.5), or `auto`: measured from the image, then checked against the
    /// width of the cells found. Results stay in the image's pixels; the clean-up's sizes
    /// follow the factor.
    #[arg(long, default_value = "auto")]
    scale: ScaleChoice,
    #[command(flatten)]
    post: PostArgs,
    /// Write p(cell) after the median filter, 16-bit (0..65535), as .png or .tif.
    #[arg(long)]
    out_prob: Option<PathBuf>,
    /// Write the cell mask (255 = cell) as PNG.
    #[arg(long)]
    out_mask: Option<PathBuf>,
    /// Write the cells as a 16-bit label PNG (0 background, 1.. one id per cell).
    #[arg(long)]
    out_labels: Option<PathBuf>,
    /// Write a picture: the image in gray with the cells' outlines (yellow), as PNG.
    #[arg(long)]
    out_overlay: Option<PathBuf>,
    /// Write one row per cell as CSV: area, perimeter, length and width (Feret), orientation,
    /// aspect ratio, circularity, solidity, intensity in the file's units, centroid, box.
    #[arg(long)]
    out_cells: Option<PathBuf>,
    /// Write the cells' outlines with their measurements as GeoJSON (QuPath: File → Import
    /// objects).
    #[arg(long)]
    out_geojson: Option<PathBuf>,
    /// Write the cells as an ImageJ/Fiji ROI set (.zip): one traced polygon per cell, named
    /// cell-NNNN by id (Fiji: drag the zip onto it, or ROI Manager › More › Open).
    #[arg(long)]
    out_rois: Option<PathBuf>,
    /// Write the three class probabilities, p(cell), p(edge), p(other), as a float32 TIFF of
    /// three pages (unsmoothed, as the networks gave them).
    #[arg(long)]
    out_probs: Option<PathBuf>,
    /// Segment this channel of colour or multi-channel images (0 the first; e.g. the phase
    /// contrast of a stack with fluorescence). By default their luminance.
    #[arg(long)]
    channel: Option<u8>,
    /// The image's pixel size in µm: --out-cells then also gives µm and µm². By default the
    /// size a TIFF states in its ImageJ or OME metadata, if any.
    #[arg(long)]
    pixel_size: Option<f64>,
    /// Draw these labelled cells (an instance image, 0 background) in the overlay too (blue).
    #[arg(long)]
    compare: Option<PathBuf>,
    /// Compare the found cells' sizes with the cells of this instance image (any image's
    /// labels, e.g. the hand-labelled phase_027): two-sample Kolmogorov–Smirnov test, as post 2.
    #[arg(long)]
    sizes_vs: Option<PathBuf>,
    /// Enlarge the overlay this many times (pixel blocks), so one-pixel outlines show.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=8))]
    zoom: u32,
    /// Where the networks run.
    #[arg(long, value_enum, default_value_t = BackendArg::Cpu)]
    backend: BackendArg,
}

pub(crate) fn run(a: SegmentArgs) -> Result<()> {
    let files = image_files(&a.image)?;
    check_pixel_size(a.pixel_size)?;
    if a.out_dir.is_some() || files.len() > 1 {
        return segment_many(&a, &files);
    }
    let path = &files[0];
    let backend = backend(&a.backend)?;
    let bytes = read(path)?;
    let options = batch::first_page(&bytes, channel_of(a.channel))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let decoded = cellseg::io::decode::decode_with(&bytes, options)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let micron = a
        .pixel_size
        .or_else(|| cellseg::io::pixel_size::of_file(&bytes));
    // the file's own values, for the cells' intensities
    let in_file_units = decoded.in_file_units();
    let mut plane = decoded.plane;
    let normalised = cellseg::io::normalise::normalise_keeping(&mut plane);
    if let Some(ratio) = normalised.light.map(|l| l.ratio) {
        eprintln!(
            "the light falls unevenly across the image (its brightest part lit {ratio:.1} \
             times its darkest): it is evened out before the intensity window is taken"
        );
    }
    if normalised.outside > 0.0 {
        eprintln!(
            "a field stop's dark outside (the camera's dark level and its noise, reaching the \
             image's edge) covers {:.0}% of the image and is left out: it sets no intensity \
             level and holds no cell",
            (100.0 * normalised.outside).max(1.0)
        );
    }
    if normalised.marks > 0.0 {
        eprintln!(
            "marks burnt into the image (a timestamp's box, a scale bar: flat upright \
             rectangles) cover {:.1}% of it and are left out: they set no intensity level and \
             hold no cell",
            100.0 * normalised.marks
        );
    }
    let frame = normalised.padding;
    if frame > 0.0 {
        eprintln!(
            "a flat frame over {:.0}% of the image (padding) is left out: it sets no \
             intensity level and holds no cell",
            (100.0 * frame).max(1.0)
        );
    }
    let rect = a
        .region
        .unwrap_or(Rect::new(0, 0, plane.width, plane.height));
    let networks = networks(&a.weights, &backend)?;
    let progress = bar(0, "segmenting");
    let mut report = |done: usize, total: usize| {
        progress.set_length(total as u64);
        progress.set_position(done as u64);
    };
    let config = a.post.config();
    let result = match a.scale {
        ScaleChoice::Auto => {
            let (result, search) = pollster::block_on(segment_auto(
                &networks,
                &plane,
                rect,
                &config,
                &backend,
                &mut report,
            ))?;
            say(&progress, search.how());
            if search.doubt().is_some() {
                say(
                    &progress,
                    "warning: the scale is doubtful (above): check the result".into(),
                );
            }
            result
        }
        ScaleChoice::Factor(factor) => pollster::block_on(segment_cells(
            &networks,
            &plane,
            rect,
            factor,
            &config,
            &backend,
            &mut report,
        ))?,
    };
    progress.finish_and_clear();
    if let Some(blur) = result.blur {
        eprintln!("{}", cellseg::io::denoise::note(blur));
    }
    if let Some(doubt) = &result.doubt {
        eprintln!("warning: {doubt}");
    }
    let factor = result.factor;
    let (map, found) = (result.map, result.cells);
    if let Some(path) = &a.out_prob {
        let format = format_of(path)?;
        let p = smoothed_cell_probability(&map, config.at_scale(factor).median_radius);
        write(path, export::probability(&p, map.width, map.height, format))?;
    }
    if let Some(path) = &a.out_probs {
        write(path, export::probabilities(&map))?;
    }
    if let Some(path) = &a.out_mask {
        write(path, export::mask(&found, format_of(path)?))?;
    }
    if let Some(path) = &a.out_overlay {
        let truth = match &a.compare {
            Some(path) => Some(instances_in(path, &plane, rect)?),
            None => None,
        };
        let picture = outline::overlay(&plane, rect, &found.labels, truth.as_deref());
        let (pw, ph) = picture.dimensions();
        let filter = image::imageops::FilterType::Nearest;
        image::imageops::resize(&picture, pw * a.zoom, ph * a.zoom, filter)
            .save(path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    if let Some(path) = &a.out_labels {
        write(path, export::labels(&found, format_of(path)?))?;
    }
    let rows = measure::measure(&found, rect, &in_file_units);
    if let Some(json) = &a.out_geojson {
        let text = cellseg::post::geojson::cells(&found, rect, &rows).to_string();
        std::fs::write(json, text).map_err(|e| format!("{}: {e}", json.display()))?;
    }
    if let Some(zip) = &a.out_rois {
        let bytes = cellseg::post::roi::zip(&found, rect)?;
        std::fs::write(zip, bytes).map_err(|e| format!("{}: {e}", zip.display()))?;
    }
    if let Some(table) = &a.out_cells {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let text = format!(
            "{}\n{}",
            measure::HEADER,
            measure::csv_rows(&name, 1, &rows, micron)
        );
        std::fs::write(table, text).map_err(|e| format!("{}: {e}", table.display()))?;
    }
    let mut areas = found.areas.clone();
    areas.sort_unstable();
    let median = areas.get(areas.len() / 2).copied().unwrap_or(0);
    println!("{} cells; median area {median} px", found.count());
    if let Some(path) = &a.sizes_vs
        && found.count() == 0
    {
        println!(
            "no cells found, so no sizes to compare with {}",
            path.display()
        );
    } else if let Some(path) = &a.sizes_vs {
        let (w, h, ids) =
            instances_from_image(&read(path)?).map_err(|e| format!("{}: {e}", path.display()))?;
        let labelled = Cells::from_labels(ids, w, h, config.min_area);
        let mut theirs = labelled.areas.clone();
        theirs.sort_unstable();
        let (d, p) = ks_test(&found.areas, &labelled.areas)?;
        println!(
            "sizes vs {} ({} cells, median {} px): KS D = {d:.3}, p = {p:.2e}",
            path.display(),
            labelled.count(),
            theirs.get(theirs.len() / 2).copied().unwrap_or(0)
        );
    }
    Ok(())
}

/// A pixel size must be a length.
fn check_pixel_size(micron: Option<f64>) -> Result<()> {
    match micron {
        Some(m) if !(m.is_finite() && m > 0.0) => Err(format!(
            "--pixel-size {m} is not a size in µm (a number above 0)"
        )),
        _ => Ok(()),
    }
}

/// The images named, with each folder replaced by the images in it (by name; label images
/// this command wrote are left out).
fn image_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let is_image = |p: &Path| {
        let name = p
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_lowercase();
        let ext = p
            .extension()
            .unwrap_or_default()
            .to_string_lossy()
            .to_lowercase();
        ["tif", "tiff", "png", "jpg", "jpeg"].contains(&ext.as_str())
            && !name.ends_with("-labels.tif")
    };
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut inside: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| format!("{}: {e}", path.display()))?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && is_image(p))
                .collect();
            if inside.is_empty() {
                return Err(format!(
                    "{}: no TIFF, PNG or JPEG images in it",
                    path.display()
                ));
            }
            inside.sort();
            out.extend(inside);
        } else {
            out.push(path.clone());
        }
    }
    Ok(out)
}

/// `segment` over many files: every page of each into `--out-dir` (see [`SegmentArgs`]).
fn segment_many(a: &SegmentArgs, files: &[PathBuf]) -> Result<()> {
    let dir = a
        .out_dir
        .as_ref()
        .ok_or("several images need --out-dir: their label images and tables go there")?;
    let single: [(&str, bool); 10] = [
        ("--out-prob", a.out_prob.is_some()),
        ("--out-probs", a.out_probs.is_some()),
        ("--out-rois", a.out_rois.is_some()),
        ("--out-mask", a.out_mask.is_some()),
        ("--out-labels", a.out_labels.is_some()),
        ("--out-overlay", a.out_overlay.is_some()),
        ("--out-cells", a.out_cells.is_some()),
        ("--out-geojson", a.out_geojson.is_some()),
        ("--compare", a.compare.is_some()),
        ("--region", a.region.is_some()),
    ];
    if let Some((flag, _)) = single.iter().find(|(_, given)| *given) {
        return Err(format!(
            "{flag} is for one image; with --out-dir each page gets a label image and rows in \
             cells.csv and summary.csv"
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let backend = backend(&a.backend)?;
    let networks = networks(&a.weights, &backend)?;
    let config = a.post.config();
    let progress = bar(files.len(), "images");
    let mut cells_csv = format!("{}\n", measure::HEADER);
    let mut summary = format!("{}\n", batch::SUMMARY_HEADER);
    let (mut failed, mut pages, mut cells) = (Vec::new(), 0, 0);
    let mut names = batch::Names::default();
    for (i, path) in files.iter().enumerate() {
        progress.set_position(i as u64);
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        let result = read(path).and_then(|bytes| {
            pollster::block_on(batch::segment_file(
                &bytes,
                &name,
                channel_of(a.channel),
                &networks,
                a.scale,
                &config,
                a.pixel_size,
                &backend,
                |_, _| std::future::ready(true),
            ))
        });
        let segmented = match result {
            Ok(segmented) => segmented,
            Err(e) => {
                say(&progress, format!("{}: {e}", path.display()));
                summary.push_str(&batch::failed_summary(&name, None, &e));
                failed.push(name);
                continue;
            }
        };
        // outputs named by the file's stem, made unique where files share one
        let stem = path
            .file_name()
            .map(|n| batch::stem(&n.to_string_lossy()).to_string())
            .unwrap_or_default();
        let many = segmented.len() > 1;
        let page_names = names.claim(&stem, segmented.len());
        let mut failed_pages = Vec::new();
        for page in &segmented {
            let page = match page {
                Ok(page) => page,
                Err((number, e)) => {
                    say(&progress, format!("{}, page {number}: {e}", path.display()));
                    summary.push_str(&batch::failed_summary(&name, Some(*number), e));
                    failed_pages.push(number.to_string());
                    continue;
                }
            };
            for (file, bytes) in batch::page_files(page, &page_names[page.page - 1])? {
                let path = dir.join(file);
                std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
            }
            cells_csv.push_str(&page.rows);
            summary.push_str(&page.summary(&name));
            let which = if many {
                format!(", page {}", page.page)
            } else {
                String::new()
            };
            say(
                &progress,
                format!("{name}{which}: {} cells ({})", page.cells.count(), page.how),
            );
            cells += page.cells.count();
            pages += 1;
        }
        if !failed_pages.is_empty() {
            failed.push(format!("{name} (page {})", failed_pages.join(", ")));
        }
    }
    progress.finish_and_clear();
    for (file, text) in [("cells.csv", &cells_csv), ("summary.csv", &summary)] {
        let path = dir.join(file);
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    println!(
        "{} of {} images segmented in full ({pages} pages, {cells} cells): {}",
        files.len() - failed.len(),
        files.len(),
        dir.display()
    );
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("{} failed: {}", failed.len(), failed.join(", ")))
    }
}

/// The channel asked for, or the luminance.
fn channel_of(channel: Option<u8>) -> cellseg::io::decode::Channel {
    channel.map_or(
        cellseg::io::decode::Channel::Luminance,
        cellseg::io::decode::Channel::Index,
    )
}
