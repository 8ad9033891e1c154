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
use crate::plane::{Plane, Rect};
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

/// The summary row of a file that could not be segmented, with the reason.
pub fn failed_summary(file: &str, why: &str) -> String {
    format!(
        "{},,,,,{}\n",
        measure::quoted(file),
        measure::quoted(&format!("failed: {why}"))
    )
}

/// Segments every page of the file `bytes` (named `file` in the tables) at `scale`, each page
/// measured in its own file units; `on_page(done, pages)` follows the pages. The whole image
/// is segmented; `micron` is the pixel size for the µm columns.
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
) -> Result<Vec<Page>, String> {
    let pages = decode::page_count(bytes).map_err(|e| e.to_string())?;
    let mut out = Vec::with_capacity(pages);
    for page in 0..pages {
        on_page(page, pages);
        let options = Options {
            page,
            ..Options::default()
        };
        let decoded =
            decode::decode_with(bytes, options).map_err(|e| page_error(page, pages, e))?;
        let unit = decoded.unit as f32;
        let in_file_units = Plane::new(
            decoded.plane.width,
            decoded.plane.height,
            decoded.plane.data.iter().map(|v| v * unit).collect(),
        );
        let mut plane = decoded.plane;
        normalise(&mut plane);
        let whole = Rect::new(0, 0, plane.width, plane.height);
        let mut quiet = |_: usize, _: usize| {};
        let (seg, how) = match scale {
            ScaleChoice::Auto => {
                segment_auto(networks, &plane, whole, post, backend, &mut quiet).await
            }
            ScaleChoice::Factor(f) => {
                segment_cells(networks, &plane, whole, f, post, backend, &mut quiet)
                    .await
                    .map(|seg| (seg, format!("scale ×{f}, as given")))
            }
        }
        .map_err(|e| page_error(page, pages, e))?;
        let measured = measure::measure(&seg.cells, whole, &in_file_units);
        out.push(Page {
            page: page + 1,
            rows: measure::csv_rows(file, page + 1, &measured, micron),
            measures: measured,
            factor: seg.factor,
            how,
            cells: seg.cells,
        });
    }
    on_page(pages, pages);
    Ok(out)
}

/// An error on one page of a stack names the page.
fn page_error(page: usize, pages: usize, e: impl std::fmt::Display) -> String {
    if pages > 1 {
        format!("page {} of {pages}: {e}", page + 1)
    } else {
        e.to_string()
    }
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
        let failed = failed_summary("b, c.png", "not an image");
        assert_eq!(failed, "\"b, c.png\",,,,,failed: not an image\n");
    }
}
