//! Results as image files, the same from the command line and the page: cells as a 16-bit
//! label image (0 background, one id per cell), the cell mask, and p(cell) as 16-bit gray.

use std::io::Cursor;

use image::{ImageBuffer, ImageFormat, Luma};

use crate::post::Cells;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{0} cells do not fit a 16-bit label image (at most 65535)")]
    TooManyCells(usize),
    #[error("cannot write {format:?}: {reason}")]
    Encode { format: ImageFormat, reason: String },
}

/// Cells as 16-bit labels.
pub fn labels(cells: &Cells, format: ImageFormat) -> Result<Vec<u8>, ExportError> {
    if cells.count() > u16::MAX as usize {
        return Err(ExportError::TooManyCells(cells.count()));
    }
    let data = cells.labels.iter().map(|&l| l as u16).collect();
    gray16(data, cells.width, cells.height, format)
}

/// The cell mask: 255 where a cell is, 0 elsewhere.
pub fn mask(cells: &Cells, format: ImageFormat) -> Result<Vec<u8>, ExportError> {
    let data: Vec<u8> = cells
        .labels
        .iter()
        .map(|&l| if l > 0 { 255 } else { 0 })
        .collect();
    let image =
        ImageBuffer::<Luma<u8>, Vec<u8>>::from_raw(cells.width as u32, cells.height as u32, data)
            .expect("one value per pixel");
    encode(image, format)
}

/// Probabilities (0..1) as 16-bit gray, 0..65535.
pub fn probability(
    p: &[f32],
    width: usize,
    height: usize,
    format: ImageFormat,
) -> Result<Vec<u8>, ExportError> {
    let data = p
        .iter()
        .map(|v| (v.clamp(0.0, 1.0) * 65535.0).round() as u16)
        .collect();
    gray16(data, width, height, format)
}

fn gray16(
    data: Vec<u16>,
    width: usize,
    height: usize,
    format: ImageFormat,
) -> Result<Vec<u8>, ExportError> {
    let image = ImageBuffer::<Luma<u16>, Vec<u16>>::from_raw(width as u32, height as u32, data)
        .expect("one value per pixel");
    encode(image, format)
}

fn encode<P>(
    image: ImageBuffer<P, Vec<P::Subpixel>>,
    format: ImageFormat,
) -> Result<Vec<u8>, ExportError>
where
    P: image::PixelWithColorType,
    [P::Subpixel]: image::EncodableLayout,
{
    let mut out = Cursor::new(Vec::new());
    image
        .write_to(&mut out, format)
        .map_err(|e| ExportError::Encode {
            format,
            reason: e.to_string(),
        })?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::instances_from_image;

    #[test]
    fn labels_round_trip_through_png_and_tiff() {
        let raw: Vec<u32> = (0..12)
            .map(|i| if i % 3 == 0 { 0 } else { 1 + i % 2 })
            .collect();
        let cells = Cells::from_labels(raw, 4, 3, 1);
        for format in [ImageFormat::Png, ImageFormat::Tiff] {
            let bytes = labels(&cells, format).unwrap();
            let (w, h, ids) = instances_from_image(&bytes).unwrap();
            assert_eq!((w, h), (4, 3));
            assert_eq!(ids, cells.labels, "{format:?}");
        }
        let m = image::load_from_memory(&mask(&cells, ImageFormat::Png).unwrap()).unwrap();
        assert_eq!(m.as_luma8().unwrap().get_pixel(1, 0).0, [255]);
        assert_eq!(m.as_luma8().unwrap().get_pixel(0, 0).0, [0]);
    }

    #[test]
    fn probabilities_span_sixteen_bits() {
        let bytes = probability(&[0.0, 0.5, 1.0, 1.5], 2, 2, ImageFormat::Png).unwrap();
        let image = image::load_from_memory(&bytes).unwrap().into_luma16();
        assert_eq!(image.into_raw(), [0, 32768, 65535, 65535]);
    }
}
