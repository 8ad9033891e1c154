//! File bytes → grayscale plane: TIFF (every page and sample format, [`crate::io::tiff_pages`]),
//! PNG (8/16-bit, gray or colour), JPEG.
//!
//! Decoding is the `tiff` and `image` crates'; this module adds the size limits, the colour →
//! luminance rule and error messages a person can act on.

use std::io::Cursor;

use image::{ImageReader, Limits};

use crate::core::plane::Plane;
use crate::io::normalise::{Normalised, Window, normalise, normalise_keeping};
use crate::io::tiff_pages::{self, is_tiff};

/// Largest image accepted: 64 megapixels (8192x8192), checked from the header before any
/// pixel buffer is allocated, so a file claiming 100000x100000 pixels is refused cheaply.
pub const MAX_PIXELS: u64 = 64 << 20;

/// Largest file accepted: 512 MiB, room for 64 megapixels of 16-bit RGBA uncompressed. The page
/// checks it before reading a file at all.
pub const MAX_FILE_BYTES: usize = 512 << 20;

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("this file is not an image we can read (TIFF, PNG or JPEG expected)")]
    UnknownFormat,
    #[error("the image is {width}x{height} pixels; the limit is {} megapixels", MAX_PIXELS >> 20)]
    TooLarge { width: u32, height: u32 },
    #[error("the file is {} MiB, over the limit of {} MiB", .0.div_ceil(1 << 20), MAX_FILE_BYTES >> 20)]
    FileTooLarge(usize),
    #[error("the image is empty (0 pixels)")]
    Empty,
    #[error("could not decode the image: {0}")]
    Corrupt(String),
    #[error("page {page} was asked for, but the file has {pages} page(s)")]
    NoPage { page: usize, pages: usize },
    #[error("page {page} of the TIFF could not be read: {reason}")]
    BadPage { page: usize, reason: String },
    #[error(
        "channel {channel} was asked for; colour images have red (0), green (1) and blue (2), separate channels count from 0; this one has {channels} channel(s)"
    )]
    NoChannel { channel: u8, channels: u8 },
}

/// A decoded image: one plane and what it came from. The plane holds 8- and 16-bit data as
/// fractions of the bit depth's range and every other sample format (32-bit integers, signed,
/// float) in file units; `unit` says which, so file values can be shown again.
pub struct Decoded {
    pub plane: Plane,
    /// Bits per sample.
    pub bits: u16,
    pub channels: u8,
    /// File units of 1.0 in the plane (65535 for 16-bit data, 1 for float data).
    pub unit: f64,
    /// The range to show the file's values in, in file units: the bit depth's for 8/16-bit
    /// data, the values' own for the rest.
    pub range: (f64, f64),
}

impl Decoded {
    /// The plane in the file's own units (what intensities are measured in).
    pub fn in_file_units(&self) -> Plane {
        let unit = self.unit as f32;
        let data = self.plane.data.iter().map(|v| v * unit).collect();
        Plane::new(self.plane.width, self.plane.height, data)
    }
}

/// Which plane of a colour image to use: luminance (Rec. 709 weights, the `image` crate's
/// rule) or one channel (0 red, 1 green, 2 blue).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Channel {
    #[default]
    Luminance,
    Index(u8),
}

/// Which page (multi-page TIFF) and which channel to decode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    pub page: usize,
    pub channel: Channel,
}

/// What a file holds: its first page's size, channels and depth, and its page count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Info {
    pub width: u32,
    pub height: u32,
    /// Pages (images) in a TIFF; 1 for other formats.
    pub pages: usize,
    pub channels: u8,
    pub bits: u16,
}

/// Most pages counted in a TIFF: the page picker stops there.
pub const MAX_PAGES: usize = 4096;

/// Decodes any supported file's first page to its luminance (see [`Decoded`]).
pub fn decode(bytes: &[u8]) -> Result<Decoded, DecodeError> {
    decode_with(bytes, Options::default())
}

/// Pages in a file: a TIFF's, counted from its directories (headers only); 1 for the rest.
pub fn page_count(bytes: &[u8]) -> Result<usize, DecodeError> {
    if is_tiff(bytes) {
        tiff_pages::count(bytes)
    } else {
        Ok(1)
    }
}

/// The size, page count, channels and bit depth of the first page.
pub fn probe(bytes: &[u8]) -> Result<Info, DecodeError> {
    let decoded = decode(bytes)?;
    Ok(Info {
        width: decoded.plane.width as u32,
        height: decoded.plane.height as u32,
        pages: page_count(bytes)?,
        channels: decoded.channels,
        bits: decoded.bits,
    })
}

/// Decodes one page and one channel (or the luminance); see [`Decoded`] for its values.
pub fn decode_with(bytes: &[u8], options: Options) -> Result<Decoded, DecodeError> {
    check_file_size(bytes.len())?;
    if is_tiff(bytes) {
        // The header's size first: a TIFF claiming 100000x100000 pixels is "too large", not
        // whatever inconsistency its strips then show to the decoder.
        if let Some((w, h)) = tiff_claimed_size(bytes) {
            check_size(w, h)?;
        }
        return match tiff_pages::decode_page(bytes, options) {
            // The `image` crate converts what the page reader leaves (CMYK, 1-bit pages) on
            // first pages; where it cannot either, the page reader's reason stands.
            Err(e @ DecodeError::Corrupt(_)) if options.page == 0 => {
                decode_other(bytes, options).map_err(|_| e)
            }
            other => other,
        };
    }
    if options.page > 0 {
        return Err(DecodeError::NoPage {
            page: options.page + 1,
            pages: 1,
        });
    }
    if let Some((w, h)) = png_claimed_size(bytes) {
        check_size(w, h)?;
    }
    decode_other(bytes, options)
}

/// PNG, JPEG (and first pages of TIFFs the page reader leaves) through the `image` crate.
fn decode_other(bytes: &[u8], options: Options) -> Result<Decoded, DecodeError> {
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
    let channels = color.channel_count();
    let data = match options.channel {
        Channel::Index(c) if channels >= 3 => {
            check_channel(c, channels)?;
            let rgb = image.to_rgb32f();
            rgb.pixels().map(|p| p.0[c as usize]).collect()
        }
        _ => image.to_luma32f().into_raw(),
    };
    let bits = color.bits_per_pixel() / channels as u16;
    // 32-bit float (RGB) comes back as it is, in file units
    let unit = if bits <= 16 {
        ((1u32 << bits) - 1) as f64
    } else {
        1.0
    };
    Ok(Decoded {
        plane: Plane::new(width as usize, height as usize, data),
        bits,
        channels,
        unit,
        range: (0.0, unit),
    })
}

/// The width and height the first directory of a TIFF claims, read without checking
/// anything else. The `tiff` crate validates the strips before it reports a size, so a
/// decompression bomb would only get its "inconsistent sizes"; this peek (two tags of the
/// baseline TIFF header) lets the message say what is wrong.
fn tiff_claimed_size(bytes: &[u8]) -> Option<(u32, u32)> {
    let little = bytes.starts_with(b"II*\0");
    if !little && !bytes.starts_with(b"MM\0*") {
        return None;
    }
    let u16_at = |i: usize| -> Option<u32> {
        let b: [u8; 2] = bytes.get(i..i + 2)?.try_into().ok()?;
        Some(if little {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        } as u32)
    };
    let u32_at = |i: usize| -> Option<u32> {
        let b: [u8; 4] = bytes.get(i..i + 4)?.try_into().ok()?;
        Some(if little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    };
    let ifd = u32_at(4)? as usize;
    let (mut width, mut height) = (None, None);
    for e in 0..u16_at(ifd)? as usize {
        let at = ifd + 2 + 12 * e;
        let value = match u16_at(at + 2)? {
            3 => u16_at(at + 8)?,
            4 => u32_at(at + 8)?,
            _ => continue,
        };
        match u16_at(at)? {
            256 => width = Some(value),
            257 => height = Some(value),
            _ => {}
        }
    }
    Some((width?, height?))
}

/// The width and height in a PNG's IHDR, which the PNG format puts at a fixed place. In
/// 32-bit wasm the `png` crate's own buffer arithmetic fails first ("memory limit") for a
/// header claiming 100000x100000, so the size is checked here before it looks.
fn png_claimed_size(bytes: &[u8]) -> Option<(u32, u32)> {
    if !bytes.starts_with(b"\x89PNG\r\n\x1a\n") || bytes.get(12..16)? != b"IHDR" {
        return None;
    }
    let be = |i: usize| Some(u32::from_be_bytes(bytes.get(i..i + 4)?.try_into().ok()?));
    Some((be(16)?, be(20)?))
}

fn check_channel(channel: u8, channels: u8) -> Result<(), DecodeError> {
    if channel < 3 {
        Ok(())
    } else {
        Err(DecodeError::NoChannel { channel, channels })
    }
}

/// Refuses files over [`MAX_FILE_BYTES`].
pub fn check_file_size(len: usize) -> Result<(), DecodeError> {
    if len > MAX_FILE_BYTES {
        Err(DecodeError::FileTooLarge(len))
    } else {
        Ok(())
    }
}

pub(crate) fn check_size(width: u32, height: u32) -> Result<(), DecodeError> {
    if width == 0 || height == 0 {
        Err(DecodeError::Empty)
    } else if width as u64 * height as u64 > MAX_PIXELS {
        Err(DecodeError::TooLarge { width, height })
    } else {
        Ok(())
    }
}

/// Decodes and normalises (see [`crate::io::normalise`]): what the networks take as input.
pub fn decode_normalised(bytes: &[u8]) -> Result<(Plane, Window), DecodeError> {
    let mut plane = decode(bytes)?.plane;
    let window = normalise(&mut plane);
    Ok((plane, window))
}

/// A page and channel, decoded (bit depth and channels kept) with its plane normalised, and
/// what normalising did: the pixels it did not map linearly, with their decoded values, and
/// the light it evened out ([`crate::io::normalise::normalise_keeping`]).
pub fn decode_normalised_with(
    bytes: &[u8],
    options: Options,
) -> Result<(Decoded, Normalised), DecodeError> {
    let mut decoded = decode_with(bytes, options)?;
    let normalised = normalise_keeping(&mut decoded.plane);
    Ok((decoded, normalised))
}
