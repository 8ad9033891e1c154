//! Many images, one table: every page of a file segmented with the same networks and settings,
//! its cells measured ([`crate::post::measure`]) and summed up in a row of its own. A lab segments
//! folders and time-lapse stacks this way; the CLI's `segment --out-dir` is a loop over files
//! around [`segment_file`], and a file that cannot be read gets its own message while the rest
//! go on.

use std::collections::HashSet;
use std::io::{Cursor, Write};

use crate::core::cells::Cells;
use crate::core::plane::Rect;
use crate::io::decode::{self, Channel, Options};
use crate::io::normalise::normalise_keeping;
use crate::io::pixel_size;
use crate::io::{denoise, export, hyperstack};
use crate::model::Model;
use crate::model::backend::Backend;
use crate::pipeline::{ScaleChoice, segment_auto, segment_cells};
use crate::post::PostConfig;
use crate::post::measure;
use crate::post::{geojson, roi};

/// The summary table's columns: one row per page (or per file that failed).
/// `um_per_px` is the pixel size the µm columns used (given, or stated by the file; empty if none).
pub const SUMMARY_HEADER: &str = "file,page,cells,median_area_px,scale,um_per_px,status,note";

/// One page segmented.
pub struct Page {
    /// Counted from 1.
    pub page: usize,
    pub cells: Cells,
    /// The scale the networks saw the page at, and how it was chosen.
    pub factor: f64,
    pub how: String,
    /// Why the automatic scale is doubtful, where it is
    /// ([`crate::scale::auto_scale::ScaleSearch::doubt`]): the summary's note.
    pub doubt: Option<String>,
    /// What normalising left out or evened ([`crate::io::normalise::Normalised::notes`]),
    /// and whether the networks saw the page smoothed ([`denoise::note`]): the note's end.
    pub notes: Vec<String>,
    /// How many cells confirmed the scale, where it was found on this page and they did
    /// ([`crate::scale::auto_scale::ScaleSearch::confirmed_by`]).
    pub confirmed_by: Option<usize>,
    /// The pixel size in µm the measurements used, if known.
    pub micron: Option<f64>,
    /// Its cells' measurements, and their rows of the table ([`measure::HEADER`]).
    pub measures: Vec<measure::Measures>,
    pub rows: String,
}

impl Page {
    /// Its row of the summary table.
    pub fn summary(&self, file: &str) -> String {
        let mut areas = self.cells.areas.clone();
        areas.sort_unstable();
        let median = areas.get(areas.len() / 2).copied().unwrap_or(0);
        format!(
            "{},{},{},{median},{:.3},{},ok,{}\n",
            measure::quoted(file),
            self.page,
            self.cells.count(),
            self.factor,
            self.micron.map(|m| m.to_string()).unwrap_or_default(),
            measure::quoted(
                &self
                    .doubt
                    .iter()
                    .chain(&self.notes)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        )
    }
}

/// The summary row of a file (or one of its pages, counted from 1) that could not be
/// segmented, with the reason.
pub fn failed_summary(file: &str, page: Option<usize>, why: &str) -> String {
    format!(
        "{},{},,,,,{},\n",
        measure::quoted(file),
        page.map(|p| p.to_string()).unwrap_or_default(),
        measure::quoted(&format!("failed: {why}"))
    )
}

/// How many cells must confirm a page's automatic scale before a stack's later pages keep it:
/// as many as speak for a population.
pub const PIN_CELLS: usize = crate::scale::auto_scale::POPULATION;

/// A page that could not be segmented: its number (from 1) and why.
pub type PageError = (usize, String);

/// Segments `channel` of every page of the file `bytes` (named `file` in the tables; in a
/// hyperstack, every page of that channel, [`pages_of_channel`]) at `scale`, each page
/// measured in its own file units; `on_page(done, pages)` follows the pages. The whole image
/// is segmented; `micron` is the pixel size for the µm columns (by default the one the file
/// states, [`pixel_size::of_file`]). With `--scale auto` the scale is found on each page
/// until the cells found on one confirm it ([`PIN_CELLS`] of them, [`ScaleSearch::confirmed_by`]), and
/// that page's scale is kept for the rest: a stack's pages come from one microscope, and
/// sizes compared across a time-lapse must be measured alike — but a time-lapse often
/// starts with a cell or two among debris, too little to measure a scale by. A
/// file that cannot be read at all is an `Err`; a page that fails is its own `Err` in the
/// list, and the other pages go on. Before each page, and once after the last,
/// `on_page(done, pages)` is awaited: answering `false` stops the file there, and the pages
/// done so far are what it gave (the page awaits a moment there, so that a Stop can come
/// in between a stack's pages).
#[allow(clippy::too_many_arguments)]
pub async fn segment_file<Next: Future<Output = bool>>(
    bytes: &[u8],
    file: &str,
    channel: Channel,
    networks: &[Model],
    scale: ScaleChoice,
    post: &PostConfig,
    micron: Option<f64>,
    backend: &Backend,
    mut on_page: impl FnMut(usize, usize) -> Next,
) -> Result<Vec<Result<Page, PageError>>, String> {
    let all = decode::page_count(bytes).map_err(|e| e.to_string())?;
    let (chosen, channel) = pages_of_channel(bytes, all, channel)?;
    let pages = chosen.len();
    let micron = micron.or_else(|| pixel_size::of_file(bytes));
    let mut out = Vec::with_capacity(pages);
    let mut scale = scale;
    let mut found_on = None;
    for (done, page) in chosen.into_iter().enumerate() {
        if !on_page(done, pages).await {
            return Ok(out);
        }
        let options = Options { page, channel };
        let result =
            segment_page(bytes, file, options, networks, scale, post, micron, backend).await;
        if let (ScaleChoice::Auto, Ok(done)) = (scale, &result)
            && done.confirmed_by.is_some_and(|cells| cells >= PIN_CELLS)
        {
            scale = ScaleChoice::Factor(done.factor);
            found_on = Some(page + 1);
        }
        out.push(result.map(|mut done| {
            if let Some(first) = found_on.filter(|&first| first != page + 1) {
                done.how = format!("scale ×{:.3}, as found on page {first}", done.factor);
            }
            done
        }));
    }
    on_page(pages, pages).await;
    if pages == 1 {
        // a one-page file that fails is a file that fails
        if let Some(Err((_, why))) = out.first() {
            return Err(why.clone());
        }
    }
    Ok(out)
}

/// The page (and channel) that stands for the file where one image is segmented: the first,
/// or the first of `channel`'s pages in a hyperstack (see [`pages_of_channel`]).
pub fn first_page(bytes: &[u8], channel: Channel) -> Result<Options, String> {
    // pages that cannot be counted are left to the decoder, which says why
    let Ok(all) = decode::page_count(bytes) else {
        return Ok(Options { page: 0, channel });
    };
    let (pages, channel) = pages_of_channel(bytes, all, channel)?;
    let page = pages.first().copied().ok_or("the file has no pages")?;
    Ok(Options { page, channel })
}

/// The pages (from 0) to segment of a file of `pages` pages for `channel`, and the channel to
/// take from each: every page, or, where the file stores channels as pages of their own
/// ([`hyperstack`]), the chosen channel's pages whole. Such a file with no channel chosen is
/// refused: its luminance would mix phase contrast with fluorescence.
fn pages_of_channel(
    bytes: &[u8],
    pages: usize,
    channel: Channel,
) -> Result<(Vec<usize>, Channel), String> {
    let layout = hyperstack::layout(bytes, pages);
    let last = layout.channels.saturating_sub(1);
    match channel {
        _ if layout.channels == 1 => Ok(((0..pages).collect(), channel)),
        Channel::Index(c) if (c as usize) < layout.channels => {
            Ok((layout.pages_of(c as usize, pages), Channel::Luminance))
        }
        Channel::Index(c) => Err(format!(
            "channel {c} is not in this {} hyperstack of {} channels (0..{last})",
            layout.source, layout.channels
        )),
        Channel::Luminance => Err(format!(
            "this {} hyperstack holds {} channels as pages of their own: choose the phase \
             contrast one (--channel 0..{last}; in the page, the channel menu under Many files)",
            layout.source, layout.channels
        )),
    }
}

/// A page (from 0) and channel of the file, segmented and measured.
#[allow(clippy::too_many_arguments)]
async fn segment_page(
    bytes: &[u8],
    file: &str,
    options: Options,
    networks: &[Model],
    scale: ScaleChoice,
    post: &PostConfig,
    micron: Option<f64>,
    backend: &Backend,
) -> Result<Page, PageError> {
    let page = options.page;
    let failed = |e: String| (page + 1, e);
    let decoded = decode::decode_with(bytes, options).map_err(|e| failed(e.to_string()))?;
    let in_file_units = decoded.in_file_units();
    let mut plane = decoded.plane;
    let mut notes = normalise_keeping(&mut plane).notes();
    let whole = Rect::new(0, 0, plane.width, plane.height);
    let mut quiet = |_: usize, _: usize| {};
    let (seg, how, confirmed_by, doubt) = match scale {
        ScaleChoice::Auto => segment_auto(networks, &plane, whole, post, backend, &mut quiet)
            .await
            .map(|(seg, search)| {
                let doubt = search.doubt().map(str::to_string);
                (seg, search.how(), search.confirmed_by(), doubt)
            }),
        ScaleChoice::Factor(f) => {
            segment_cells(networks, &plane, whole, f, post, backend, &mut quiet)
                .await
                .map(|seg| (seg, format!("scale ×{f}, as given"), None, None))
        }
    }
    .map_err(failed)?;
    notes.extend(seg.blur.map(denoise::note));
    let measured = measure::measure(&seg.cells, whole, &in_file_units);
    Ok(Page {
        page: page + 1,
        rows: measure::csv_rows(file, page + 1, &measured, micron),
        measures: measured,
        factor: seg.factor,
        how,
        // the scale's doubt and the cells' own, as one note
        doubt: match (doubt, seg.doubt) {
            (Some(a), Some(b)) => Some(format!("{a}; {b}")),
            (a, b) => a.or(b),
        },
        notes,
        confirmed_by,
        micron,
        cells: seg.cells,
    })
}

/// Output names for pages, unique across a run: `stem` for a one-page file, `stem-pN` for a
/// stack's pages, with `-2`, `-3`, … after the stem where files share one.
#[derive(Default)]
pub struct Names {
    taken: HashSet<String>,
}

impl Names {
    /// Names for the `pages` pages of a file with this stem (its name without extension).
    pub fn claim(&mut self, stem: &str, pages: usize) -> Vec<String> {
        let names = |stem: &str| -> Vec<String> {
            if pages > 1 {
                (1..=pages).map(|p| format!("{stem}-p{p}")).collect()
            } else {
                vec![stem.to_string()]
            }
        };
        let free = (1..)
            .map(|k| {
                if k == 1 {
                    names(stem)
                } else {
                    names(&format!("{stem}-{k}"))
                }
            })
            .find(|n| n.iter().all(|n| !self.taken.contains(n)))
            .expect("some name is free");
        self.taken.extend(free.iter().cloned());
        free
    }
}

/// The stem of a file name: without its folders and its last extension.
pub fn stem(file: &str) -> &str {
    let name = file.rsplit(['/', '\\']).next().unwrap_or(file);
    match name.rfind('.') {
        Some(dot) if dot > 0 => &name[..dot],
        _ => name,
    }
}

/// The files of one page's results, named after the page: its 16-bit label TIFF, its outlines
/// as QuPath GeoJSON and as a Fiji ROI set.
pub fn page_files(page: &Page, name: &str) -> Result<Vec<(String, Vec<u8>)>, String> {
    let whole = Rect::new(0, 0, page.cells.width, page.cells.height);
    let labels =
        export::labels(&page.cells, image::ImageFormat::Tiff).map_err(|e| e.to_string())?;
    let outlines = geojson::cells(&page.cells, whole, &page.measures).to_string();
    Ok(vec![
        (format!("{name}-labels.tif"), labels),
        (format!("{name}-cells.geojson"), outlines.into_bytes()),
        (format!("{name}-rois.zip"), roi::zip(&page.cells, whole)?),
    ])
}

/// A run's results as one zip, built a file at a time (the page's download): every page's
/// [`page_files`], then `cells.csv` (every cell) and `summary.csv` (a row per page, failures
/// with their reason).
pub struct Archive {
    zip: zip::ZipWriter<Cursor<Vec<u8>>>,
    names: Names,
    cells: String,
    summary: String,
}

impl Default for Archive {
    fn default() -> Archive {
        Archive {
            zip: zip::ZipWriter::new(Cursor::new(Vec::new())),
            names: Names::default(),
            cells: format!("{}\n", measure::HEADER),
            summary: format!("{SUMMARY_HEADER}\n"),
        }
    }
}

impl Archive {
    fn put(&mut self, name: &str, bytes: &[u8]) -> Result<(), String> {
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        self.zip
            .start_file(name, options)
            .map_err(|e| e.to_string())
            .and_then(|()| self.zip.write_all(bytes).map_err(|e| e.to_string()))
            .map_err(|e| format!("writing {name} into the zip: {e}"))
    }

    /// Adds what [`segment_file`] gave for `file`; returns the file's summary rows.
    pub fn add(
        &mut self,
        file: &str,
        result: &Result<Vec<Result<Page, PageError>>, String>,
    ) -> Result<String, String> {
        let mut rows = String::new();
        match result {
            Err(why) => rows.push_str(&failed_summary(file, None, why)),
            Ok(pages) => {
                let names = self.names.claim(stem(file), pages.len());
                for (page, name) in pages.iter().zip(&names) {
                    match page {
                        Err((number, why)) => {
                            rows.push_str(&failed_summary(file, Some(*number), why))
                        }
                        Ok(page) => {
                            for (entry, bytes) in page_files(page, name)? {
                                self.put(&entry, &bytes)?;
                            }
                            self.cells.push_str(&page.rows);
                            rows.push_str(&page.summary(file));
                        }
                    }
                }
            }
        }
        self.summary.push_str(&rows);
        Ok(rows)
    }

    /// The zip, with the two tables.
    pub fn finish(mut self) -> Result<Vec<u8>, String> {
        let (cells, summary) = (
            std::mem::take(&mut self.cells),
            std::mem::take(&mut self.summary),
        );
        self.put("cells.csv", cells.as_bytes())?;
        self.put("summary.csv", summary.as_bytes())?;
        let done = self
            .zip
            .finish()
            .map_err(|e| format!("writing the zip: {e}"))?;
        Ok(done.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::plane::Plane;

    /// A 64 × 48 16-bit stack of `pages` pages (page k's counts raised by k), the first page
    /// carrying `description`.
    #[cfg(not(target_arch = "wasm32"))]
    fn stack(pages: u16, description: Option<&str>) -> Vec<u8> {
        use tiff::encoder::{TiffEncoder, colortype::Gray16};
        let mut bytes = Vec::new();
        let mut encoder = TiffEncoder::new(Cursor::new(&mut bytes)).unwrap();
        for k in 0..pages {
            let mut image = encoder.new_image::<Gray16>(64, 48).unwrap();
            if let Some(description) = description.filter(|_| k == 0) {
                image
                    .encoder()
                    .write_tag(tiff::tags::Tag::ImageDescription, description)
                    .unwrap();
            }
            let pixels: Vec<u16> = (0..64 * 48).map(|i| 1000 + (i % 64) * 3 + k).collect();
            image.write_data(&pixels).unwrap();
        }
        bytes
    }

    /// `bytes` segmented at ×1 by an untrained U-Net (quick; only the pages matter here), the
    /// pages found (from 1), with `on_page` between them.
    #[cfg(not(target_arch = "wasm32"))]
    fn pages_segmented(
        bytes: &[u8],
        channel: Channel,
        on_page: impl FnMut(usize, usize) -> std::future::Ready<bool>,
    ) -> Result<Vec<usize>, String> {
        let backend = Backend::cpu();
        let networks = [Model::UNet(crate::model::unet::UNet::new(
            0,
            &backend.device,
        ))];
        let out = pollster::block_on(segment_file(
            bytes,
            "stack.tif",
            channel,
            &networks,
            ScaleChoice::Factor(1.0),
            &PostConfig::default(),
            None,
            &backend,
            on_page,
        ))?;
        Ok(out.iter().map(|p| p.as_ref().unwrap().page).collect())
    }

    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn a_stack_stops_between_pages_when_asked_and_keeps_the_pages_done() {
        let bytes = stack(3, None);
        let run = |pages_wanted: usize| {
            let mut asked = Vec::new();
            let pages = pages_segmented(&bytes, Channel::Luminance, |done, pages| {
                asked.push((done, pages));
                std::future::ready(done < pages_wanted)
            });
            (pages.unwrap(), asked)
        };
        // stopped before the second page: the first is kept, nothing after it is segmented
        assert_eq!(run(1), (vec![1], vec![(0, 3), (1, 3)]));
        assert_eq!(
            run(usize::MAX),
            (vec![1, 2, 3], vec![(0, 3), (1, 3), (2, 3), (3, 3)])
        );
    }

    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn a_hyperstack_segments_the_chosen_channels_pages_and_refuses_to_mix_them() {
        // as Fiji saves 2 channels × 3 frames: pages c0 t0, c1 t0, c0 t1, …
        let description = "ImageJ=1.54f\nimages=6\nchannels=2\nframes=3\nhyperstack=true\n";
        let bytes = stack(6, Some(description));
        let run = |channel| pages_segmented(&bytes, channel, |_, _| std::future::ready(true));
        assert_eq!(run(Channel::Index(1)), Ok(vec![2, 4, 6]));
        assert_eq!(run(Channel::Index(0)), Ok(vec![1, 3, 5]));
        let mixed = run(Channel::Luminance).unwrap_err();
        assert!(
            mixed.contains("2 channels as pages of their own"),
            "{mixed}"
        );
        assert!(run(Channel::Index(2)).unwrap_err().contains("0..1"));
        assert_eq!(first_page(&bytes, Channel::Index(1)).unwrap().page, 1);
    }

    #[test]
    fn names_stay_unique_across_files_and_pages() {
        let mut names = Names::default();
        assert_eq!(names.claim("a", 1), ["a"]);
        assert_eq!(names.claim("a", 2), ["a-p1", "a-p2"]);
        assert_eq!(names.claim("a", 1), ["a-2"]);
        assert_eq!(names.claim("a", 2), ["a-2-p1", "a-2-p2"]);
        assert_eq!(names.claim("a-p1", 1), ["a-p1-2"]);
        assert_eq!(stem("dir/x.y.tif"), "x.y");
        assert_eq!(stem(".hidden"), ".hidden");
        assert_eq!(stem("C:\\data\\plate.tiff"), "plate");
    }

    #[test]
    fn an_archive_holds_each_pages_files_and_both_tables() {
        let cells = Cells::from_labels(vec![1, 1, 0, 2, 2, 2], 3, 2, 1);
        let measures = measure::measure(
            &cells,
            Rect::new(0, 0, 3, 2),
            &Plane::new(3, 2, vec![0.5; 6]),
        );
        let page = |number| Page {
            page: number,
            cells: cells.clone(),
            factor: 1.0,
            how: String::new(),
            doubt: None,
            notes: Vec::new(),
            confirmed_by: None,
            micron: None,
            rows: measure::csv_rows("s.tif", number, &measures, None),
            measures: measures.clone(),
        };
        let mut archive = Archive::default();
        archive.add("one.png", &Ok(vec![Ok(page(1))])).unwrap();
        let stack = Ok(vec![Ok(page(1)), Err((2, "truncated".to_string()))]);
        let rows = archive.add("s.tif", &stack).unwrap();
        assert_eq!(rows.lines().count(), 2);
        archive.add("bad.tif", &Err("not an image".into())).unwrap();
        let zip = archive.finish().unwrap();
        let mut read = zip::ZipArchive::new(Cursor::new(zip)).unwrap();
        let names: Vec<&str> = read.file_names().collect();
        let mut names = names.into_iter().map(String::from).collect::<Vec<_>>();
        names.sort();
        assert_eq!(
            names,
            [
                "cells.csv",
                "one-cells.geojson",
                "one-labels.tif",
                "one-rois.zip",
                "s-p1-cells.geojson",
                "s-p1-labels.tif",
                "s-p1-rois.zip",
                "summary.csv"
            ]
        );
        let mut summary = String::new();
        std::io::Read::read_to_string(&mut read.by_name("summary.csv").unwrap(), &mut summary)
            .unwrap();
        let lines: Vec<&str> = summary.lines().collect();
        assert_eq!(lines.len(), 5, "{summary}");
        assert!(lines[3].starts_with("s.tif,2,") && lines[3].ends_with("failed: truncated,"));
        assert!(lines[4].starts_with("bad.tif,,"));
        let mut table = String::new();
        std::io::Read::read_to_string(&mut read.by_name("cells.csv").unwrap(), &mut table).unwrap();
        assert_eq!(
            table.lines().count(),
            1 + 2 + 2,
            "a header and two cells per page"
        );
    }

    #[test]
    fn summary_rows_follow_their_header_and_quote_what_needs_it() {
        let cells = Cells::from_labels(vec![1, 1, 0, 2, 2, 2], 3, 2, 1);
        let page = Page {
            page: 2,
            cells,
            factor: 0.5,
            how: String::new(),
            doubt: None,
            notes: Vec::new(),
            confirmed_by: None,
            micron: Some(0.065),
            measures: Vec::new(),
            rows: String::new(),
        };
        let columns = SUMMARY_HEADER.split(',').count();
        let row = page.summary("a.tif");
        assert_eq!(row, "a.tif,2,2,3,0.500,0.065,ok,\n");
        assert_eq!(row.trim_end_matches('\n').split(',').count(), columns);
        // a doubtful scale is the row's note, quoted as it needs
        let doubtful = Page {
            doubt: Some("the scale is doubtful, and so are the cells".into()),
            ..page
        };
        assert_eq!(
            doubtful.summary("a.tif"),
            "a.tif,2,2,3,0.500,0.065,ok,\"the scale is doubtful, and so are the cells\"\n"
        );
        // and what normalising left out or evened follows it
        let evened = Page {
            notes: vec!["uneven light (its brightest part ×2.4 its darkest) evened out".into()],
            ..doubtful
        };
        assert!(evened.summary("a.tif").ends_with(
            ",ok,\"the scale is doubtful, and so are the cells; uneven light (its brightest part ×2.4 its darkest) evened out\"\n"
        ));
        let failed = failed_summary("b, c.png", None, "not an image");
        assert_eq!(failed, "\"b, c.png\",,,,,,failed: not an image,\n");
        let page = failed_summary("d.tif", Some(3), "too large");
        assert_eq!(page, "d.tif,3,,,,,failed: too large,\n");
        assert_eq!(page.trim_end_matches('\n').split(',').count(), columns);
    }
}
