//! Cells as an ImageJ/Fiji ROI set: a zip of one `.roi` file per cell, which Fiji's ROI
//! Manager opens (File → Open, or drag the zip onto Fiji) with each cell named by its id.
//!
//! The `.roi` format is ImageJ's own (its `RoiDecoder` is the reference; there is no kept Rust
//! crate for it): a 64-byte big-endian header, the polygon's corners as 16-bit offsets from
//! its bounding box, then a second 64-byte header that points at the name. Each cell is a
//! "traced" polygon — the type ImageJ's wand and Analyze Particles make — along its pixels'
//! edges ([`crate::post::polygon`]), so Fiji fills it back to exactly the cell's pixels.

use std::io::{Cursor, Write};

use crate::core::cells::Cells;
use crate::core::plane::Rect;
use crate::post::polygon;

/// RoiDecoder's type for a polygon traced along pixel edges.
const TRACED: u8 = 8;
/// The format version written (228: with the second header, names and positions).
const VERSION: i16 = 228;
const HEADER: usize = 64;
const HEADER2: usize = 64;

/// One cell's `.roi` file: the polygon `corners` (image pixel corners) named `name`. `None`
/// when a corner lies beyond the 16-bit coordinates of the format (32767 pixels).
pub fn encode(name: &str, corners: &[(i64, i64)]) -> Option<Vec<u8>> {
    let fits = |v: i64| (0..=i16::MAX as i64).contains(&v);
    if corners.is_empty() || !corners.iter().all(|&(x, y)| fits(x) && fits(y)) {
        return None;
    }
    let left = corners.iter().map(|c| c.0).min()?;
    let top = corners.iter().map(|c| c.1).min()?;
    let right = corners.iter().map(|c| c.0).max()?;
    let bottom = corners.iter().map(|c| c.1).max()?;
    let n = corners.len();
    if n > u16::MAX as usize {
        return None;
    }
    let name: Vec<u16> = name.encode_utf16().collect();
    let header2 = HEADER + 4 * n;
    let mut out = vec![0u8; header2 + HEADER2 + 2 * name.len()];
    out[0..4].copy_from_slice(b"Iout");
    out[4..6].copy_from_slice(&VERSION.to_be_bytes());
    out[6] = TRACED;
    for (at, v) in [(8, top), (10, left), (12, bottom), (14, right)] {
        out[at..at + 2].copy_from_slice(&(v as i16).to_be_bytes());
    }
    out[16..18].copy_from_slice(&(n as u16).to_be_bytes());
    out[60..64].copy_from_slice(&(header2 as i32).to_be_bytes());
    for (k, &(x, y)) in corners.iter().enumerate() {
        let (xs, ys) = (HEADER + 2 * k, HEADER + 2 * (n + k));
        out[xs..xs + 2].copy_from_slice(&((x - left) as i16).to_be_bytes());
        out[ys..ys + 2].copy_from_slice(&((y - top) as i16).to_be_bytes());
    }
    // the second header: where the name is (offset 16) and how many UTF-16 units (offset 20)
    let name_at = header2 + HEADER2;
    out[header2 + 16..header2 + 20].copy_from_slice(&(name_at as i32).to_be_bytes());
    out[header2 + 20..header2 + 24].copy_from_slice(&(name.len() as i32).to_be_bytes());
    for (k, unit) in name.iter().enumerate() {
        out[name_at + 2 * k..name_at + 2 * k + 2].copy_from_slice(&unit.to_be_bytes());
    }
    Some(out)
}

/// The name of cell `id`, zero-padded so that the ROI Manager lists cells in order.
pub fn name(id: u32) -> String {
    format!("cell-{id:04}")
}

/// The cells (covering `rect` of the image) as an ROI set: a zip of `cell-NNNN.roi`, one per
/// cell, in image coordinates. Errors when the image is too large for the format.
pub fn zip(cells: &Cells, rect: Rect) -> Result<Vec<u8>, String> {
    let boxes = cells.boxes();
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (k, b) in boxes.iter().enumerate() {
        let id = k as u32 + 1;
        let corners: Vec<(i64, i64)> = polygon::outline(cells, id, *b)
            .into_iter()
            .map(|(x, y)| (x + rect.x0 as i64, y + rect.y0 as i64))
            .collect();
        let name = name(id);
        let bytes = encode(&name, &corners).ok_or_else(|| {
            format!("{name} lies beyond ImageJ's 32767-pixel ROI coordinates; crop the image")
        })?;
        zip.start_file(format!("{name}.roi"), options)
            .and_then(|()| zip.write_all(&bytes).map_err(Into::into))
            .map_err(|e| format!("writing the ROI zip: {e}"))?;
    }
    let done = zip
        .finish()
        .map_err(|e| format!("writing the ROI zip: {e}"))?;
    Ok(done.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn short(b: &[u8], at: usize) -> i16 {
        i16::from_be_bytes([b[at], b[at + 1]])
    }

    fn int(b: &[u8], at: usize) -> i32 {
        i32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
    }

    #[test]
    fn a_roi_holds_its_box_corners_and_name_where_imagej_reads_them() {
        let roi = encode("cell-0007", &[(10, 20), (14, 20), (14, 23), (10, 23)]).unwrap();
        assert_eq!(&roi[0..4], b"Iout");
        assert_eq!(short(&roi, 4), VERSION);
        assert_eq!(roi[6], TRACED);
        // top, left, bottom, right, then the number of corners
        let header: Vec<i16> = (0..5).map(|k| short(&roi, 8 + 2 * k)).collect();
        assert_eq!(header, vec![20, 10, 23, 14, 4]);
        let xs: Vec<i16> = (0..4).map(|k| short(&roi, 64 + 2 * k)).collect();
        let ys: Vec<i16> = (0..4).map(|k| short(&roi, 72 + 2 * k)).collect();
        assert_eq!((xs, ys), (vec![0, 4, 4, 0], vec![0, 0, 3, 3]));
        let header2 = int(&roi, 60) as usize;
        assert_eq!(header2, 80);
        let (at, len) = (
            int(&roi, header2 + 16) as usize,
            int(&roi, header2 + 20) as usize,
        );
        let name: Vec<u16> = (0..len).map(|k| short(&roi, at + 2 * k) as u16).collect();
        assert_eq!(String::from_utf16(&name).unwrap(), "cell-0007");
        assert_eq!(roi.len(), at + 2 * len);
    }

    #[test]
    fn corners_beyond_the_format_are_refused() {
        assert!(encode("c", &[(0, 0), (40_000, 0), (40_000, 1)]).is_none());
        assert!(encode("c", &[]).is_none());
    }

    #[test]
    fn the_zip_has_one_roi_per_cell_in_image_coordinates() {
        let cells = Cells::from_labels(vec![1, 1, 0, 0, 0, 2], 3, 2, 1);
        let zip = zip(&cells, Rect::new(100, 50, 103, 52)).unwrap();
        let mut archive = zip::ZipArchive::new(Cursor::new(zip)).unwrap();
        let names: Vec<String> = archive.file_names().map(String::from).collect();
        assert_eq!(names, vec!["cell-0001.roi", "cell-0002.roi"]);
        let mut second = Vec::new();
        std::io::Read::read_to_end(&mut archive.by_name("cell-0002.roi").unwrap(), &mut second)
            .unwrap();
        // cell 2 is the pixel (2, 1) of the crop: (102, 51) in the image
        let header: Vec<i16> = (0..5).map(|k| short(&second, 8 + 2 * k)).collect();
        assert_eq!(header, vec![51, 102, 52, 103, 4]);
    }
}
