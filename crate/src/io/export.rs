//! Results as image files, the same from the command line and the page: cells as a 16-bit
//! label image (0 background, one id per cell), the cell mask, p(cell) as 16-bit gray, and
//! the three class probabilities as a float32 TIFF stack for other tools to threshold.

use std::io::Cursor;

use image::{ImageBuffer, ImageFormat, Luma};

use crate::core::cells::Cells;
use crate::core::classes::{CLASS_CELL, CLASS_EDGE, CLASS_OTHER};
use crate::core::probability::ProbabilityMap;

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

/// TIFF's PageName tag (the `tiff` crate has no name for it): Fiji shows it as the slice label.
const PAGE_NAME: u16 = 285;

/// The pages of [`probabilities`], in order.
pub const PROBABILITY_PAGES: [&str; 3] = ["p(cell)", "p(edge)", "p(other)"];

/// The map's three class probabilities as a float32 TIFF of three pages ([`PROBABILITY_PAGES`]),
/// described the way Fiji writes a 3-channel stack, so it opens as one image with a channel
/// slider (and in napari or Python as an array `[3, height, width]`).
pub fn probabilities(map: &ProbabilityMap) -> Result<Vec<u8>, ExportError> {
    use tiff::encoder::{TiffEncoder, colortype::Gray32Float};
    use tiff::tags::Tag;
    let failed = |e: tiff::TiffError| ExportError::Encode {
        format: ImageFormat::Tiff,
        reason: e.to_string(),
    };
    let (w, h) = (map.width as u32, map.height as u32);
    let description = "ImageJ=1.54f\nimages=3\nchannels=3\nmode=grayscale\nloop=false\n";
    let mut out = Cursor::new(Vec::new());
    let mut encoder = TiffEncoder::new(&mut out).map_err(failed)?;
    for (k, class) in [CLASS_CELL, CLASS_EDGE, CLASS_OTHER]
        .into_iter()
        .enumerate()
    {
        let mut page = encoder.new_image::<Gray32Float>(w, h).map_err(failed)?;
        if k == 0 {
            page.encoder()
                .write_tag(Tag::ImageDescription, description)
                .map_err(failed)?;
        }
        page.encoder()
            .write_tag(Tag::Unknown(PAGE_NAME), PROBABILITY_PAGES[k])
            .map_err(failed)?;
        page.write_data(map.class(class)).map_err(failed)?;
    }
    Ok(out.into_inner())
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
    use crate::io::labels::instances_from_image;

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
    fn the_probability_stack_reads_back_page_by_page() {
        let mut map = ProbabilityMap::new(3, 2);
        for (i, v) in map.data.iter_mut().enumerate() {
            *v = i as f32 / 17.0;
        }
        let bytes = probabilities(&map).unwrap();
        let mut decoder = tiff::decoder::Decoder::new(Cursor::new(&bytes)).unwrap();
        for (k, class) in [CLASS_CELL, CLASS_EDGE, CLASS_OTHER]
            .into_iter()
            .enumerate()
        {
            if k > 0 {
                decoder.next_image().unwrap();
            }
            assert_eq!(decoder.dimensions().unwrap(), (3, 2));
            let tiff::decoder::DecodingResult::F32(values) = decoder.read_image().unwrap() else {
                panic!("not float32");
            };
            assert_eq!(values, map.class(class), "page {k}");
            let name = decoder
                .get_tag_ascii_string(tiff::tags::Tag::Unknown(PAGE_NAME))
                .unwrap();
            assert_eq!(name, PROBABILITY_PAGES[k]);
        }
        assert!(!decoder.more_images());
    }

    #[test]
    fn probabilities_span_sixteen_bits() {
        let bytes = probability(&[0.0, 0.5, 1.0, 1.5], 2, 2, ImageFormat::Png).unwrap();
        let image = image::load_from_memory(&bytes).unwrap().into_luma16();
        assert_eq!(image.into_raw(), [0, 32768, 65535, 65535]);
    }
}
