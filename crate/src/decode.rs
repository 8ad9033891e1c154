//! File bytes → grayscale plane: TIFF (8/16-bit), PNG (8/16-bit, gray or colour), JPEG.
//!
//! Decoding is the `image` crate's; this module adds the size limits, the colour →
//! luminance rule and error messages a person can act on.

use std::io::Cursor;

use image::{ImageReader, Limits};

use crate::normalise::{Window, normalise};
use crate::plane::Plane;

/// Largest image accepted: 64 megapixels (8192x8192), checked from the header before any
/// pixel buffer is allocated, so a file claiming 100000x100000 pixels is refused cheaply.
pub const MAX_PIXELS: u64 = 64 << 20;

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("this file is not an image we can read (TIFF, PNG or JPEG expected)")]
    UnknownFormat,
    #[error("the image is {width}x{height} pixels; the limit is {} megapixels", MAX_PIXELS >> 20)]
    TooLarge { width: u32, height: u32 },
    #[error("the image is empty (0 pixels)")]
    Empty,
    #[error("could not decode the image: {0}")]
    Corrupt(String),
}

/// A decoded image: its luminance (raw scale, 0..1 of the file's range) and bit depth.
pub struct Decoded {
    pub plane: Plane,
    pub bits: u16,
    pub channels: u8,
}

/// Decodes any supported file to luminance in 0..=1 of the file's numeric range. Colour
/// images become luminance (Rec. 709 weights, the `image` crate's rule).
pub fn decode(bytes: &[u8]) -> Result<Decoded, DecodeError> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| DecodeError::Corrupt(e.to_string()))?;
    if reader.format().is_none() {
        return Err(DecodeError::UnknownFormat);
    }
    let (width, height) = reader
        .into_dimensions()
        .map_err(|e| DecodeError::Corrupt(e.to_string()))
        .and_then(|(w, h)| check_size(w, h).map(|_| (w, h)))?;
    reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .expect("read before");
    let mut limits = Limits::default();
    limits.max_image_width = Some(width);
    limits.max_image_height = Some(height);
    limits.max_alloc = Some(MAX_PIXELS * 16);
    reader.limits(limits);
    let image = reader.decode().map_err(|e| match e {
        image::ImageError::Unsupported(_) => DecodeError::UnknownFormat,
        other => DecodeError::Corrupt(other.to_string()),
    })?;
    let color = image.color();
    let luma = image.to_luma32f();
    let plane = Plane::new(width as usize, height as usize, luma.into_raw());
    Ok(Decoded {
        plane,
        bits: color.bits_per_pixel() / color.channel_count() as u16,
        channels: color.channel_count(),
    })
}

fn check_size(width: u32, height: u32) -> Result<(), DecodeError> {
    if width == 0 || height == 0 {
        Err(DecodeError::Empty)
    } else if width as u64 * height as u64 > MAX_PIXELS {
        Err(DecodeError::TooLarge { width, height })
    } else {
        Ok(())
    }
}

/// Decodes and normalises (see [`crate::normalise`]): what the networks take as input.
pub fn decode_normalised(bytes: &[u8]) -> Result<(Plane, Window), DecodeError> {
    let mut plane = decode(bytes)?.plane;
    let window = normalise(&mut plane);
    Ok((plane, window))
}
