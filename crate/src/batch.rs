//! Many images, one table: every page of a file segmented with the same networks and settings,
//! its cells measured ([`crate::measure`]) and summed up in a row of its own. A lab segments
//! folders and time-lapse stacks this way; the CLI's `segment --out-dir` is a loop over files
//! around [`segment_file`], and a file that cannot be read gets its own message while the rest
//! go on.

use crate::backend::Backend;
use crate::decode::{self, Options};
use crate::measure;
use crate::network::Network;
use crate::normalise::normalise;
use crate::pipeline::{ScaleChoice, segment_auto, segment_cells};
use crate::plane::Rect;
use crate::post::{Cells, PostConfig};

/// The summary table's columns: one row per page (or per file that failed).
pub const SUMMARY_HEADER: &str = "file,page,cells,median_area_px,scale,status";

/// One page segmented.
pub struct Page {
    /// Counted from 1.
    pub page: usize,
    pub cells: Cells,
    /// The scale the networks saw the page at, and how it was chosen.
    pub factor: f64,
    pub how: String,
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
            "{},{},{},{median},{:.3},ok\n",
            measure::quoted(file),
            self.page,
            self.cells.count(),
            self.factor
        )
    }
}

/// The summary row of a file (or one of its pages, counted from 1) that could not be
/// segmented, with the reason.
pub fn failed_summary(file: &str, page: Option<usize>, why: &str) -> String {
    format!(
        "{},{},,,,{}\n",
        measure::quoted(file),
        page.map(|p| p.to_string()).unwrap_or_default(),
        measure::quoted(&format!("failed: {why}"))
    )
}

/// A page that could not be segmented: its number (from 1) and why.
pub type PageError = (usize, String);

/// Segments every page of the file `bytes` (named `file` in the tables) at `scale`, each page
/// measured in its own file units; `on_page(done, pages)` follows the pages. The whole image
/// is segmented; `micron` is the pixel size for the µm columns. With `--scale auto` the scale
/// is found on the first page that segments and kept for the rest: a stack's pages come
/// from one microscope, and sizes compared across a time-lapse must be measured alike. A
/// file that cannot be read at all is an `Err`; a page that fails is its own `Err` in the
/// list, and the other pages go on.
#[allow(clippy::too_many_arguments)]
pub async fn segment_file(
    bytes: &[u8],
    file: &str,
    networks: &[Network],
    scale: ScaleChoice,
    post: &PostConfig,
    micron: Option<f64>,
    backend: &Backend,
    on_page: &mut dyn FnMut(usize, usize),
) -> Result<Vec<Result<Page, PageError>>, String> {
    let pages = decode::page_count(bytes).map_err(|e| e.to_string())?;
    let mut out = Vec::with_capacity(pages);
    let mut scale = scale;
    let mut found_on = None;
    for page in 0..pages {
        on_page(page, pages);
        let result = segment_page(bytes, file, page, networks, scale, post, micron, backend).await;
        if let (ScaleChoice::Auto, Ok(done)) = (scale, &result) {
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
    on_page(pages, pages);
    if pages == 1 {
        // a one-page file that fails is a file that fails
        if let Some(Err((_, why))) = out.first() {
            return Err(why.clone());
        }
    }
    Ok(out)
}

/// Page `page` (from 0) of the file, segmented and measured.
#[allow(clippy::too_many_arguments)]
async fn segment_page(
    bytes: &[u8],
    file: &str,
    page: usize,
    networks: &[Network],
    scale: ScaleChoice,
    post: &PostConfig,
    micron: Option<f64>,
    backend: &Backend,
) -> Result<Page, PageError> {
    let failed = |e: String| (page + 1, e);
    let options = Options {
        page,
        ..Options::default()
    };
    let decoded = decode::decode_with(bytes, options).map_err(|e| failed(e.to_string()))?;
    let in_file_units = decoded.in_file_units();
    let mut plane = decoded.plane;
    normalise(&mut plane);
    let whole = Rect::new(0, 0, plane.width, plane.height);
    let mut quiet = |_: usize, _: usize| {};
    let (seg, how) = match scale {
        ScaleChoice::Auto => segment_auto(networks, &plane, whole, post, backend, &mut quiet).await,
        ScaleChoice::Factor(f) => {
            segment_cells(networks, &plane, whole, f, post, backend, &mut quiet)
                .await
                .map(|seg| (seg, format!("scale ×{f}, as given")))
        }
    }
    .map_err(failed)?;
    let measured = measure::measure(&seg.cells, whole, &in_file_units);
    Ok(Page {
        page: page + 1,
        rows: measure::csv_rows(file, page + 1, &measured, micron),
        measures: measured,
        factor: seg.factor,
        how,
        cells: seg.cells,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_rows_follow_their_header_and_quote_what_needs_it() {
        let cells = Cells::from_labels(vec![1, 1, 0, 2, 2, 2], 3, 2, 1);
        let page = Page {
            page: 2,
            cells,
            factor: 0.5,
            how: String::new(),
            measures: Vec::new(),
            rows: String::new(),
        };
        let columns = SUMMARY_HEADER.split(',').count();
        let row = page.summary("a.tif");
        assert_eq!(row, "a.tif,2,2,3,0.500,ok\n");
        assert_eq!(row.trim_end().split(',').count(), columns);
        let failed = failed_summary("b, c.png", None, "not an image");
        assert_eq!(failed, "\"b, c.png\",,,,,failed: not an image\n");
        let page = failed_summary("d.tif", Some(3), "too large");
        assert_eq!(page, "d.tif,3,,,,failed: too large\n");
    }
}
