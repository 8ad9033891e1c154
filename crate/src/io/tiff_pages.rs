//! TIFF files as microscopes, Fiji and OME tools write them, read with the `tiff` crate:
//! classic and BigTIFF, any page, chunky or planar samples, and every sample format a camera
//! or an analysis step leaves behind (8/16-bit and 32/64-bit unsigned, signed, 16/32/64-bit
//! float; gray samples packed at 9–15 bits through [`crate::io::packed`]). The `image` crate reads only the first page of 8/16-bit unsigned or 32-bit float
//! TIFFs and calls everything else "not an image"; here what cannot be read is named.
//!
//! Values: 8- and 16-bit unsigned data are kept as fractions of the type's range, as the
//! other formats are (so a label image's ids come back exactly); every other sample format
//! is kept in file units (a float image in 0..1 stays in 0..1, raw counts stay counts). The
//! networks never see either directly: [`crate::io::normalise`] maps the percentiles to 0..1.

use std::io::Cursor;

use tiff::decoder::{Decoder, DecodingResult, Limits};
use tiff::tags::CompressionMethod;
use tiff::{ColorType, TiffError, TiffUnsupportedError};

use crate::core::plane::Plane;
use crate::io::decode::{
    Channel, DecodeError, Decoded, MAX_PAGES, MAX_PIXELS, Options, check_size,
};
use crate::io::packed;

/// Classic TIFF ("II*\0", "MM\0*") or BigTIFF ("II+\0", "MM\0+").
pub fn is_tiff(bytes: &[u8]) -> bool {
    [b"II*\0", b"MM\0*", b"II+\0", b"MM\0+"]
        .iter()
        .any(|magic| bytes.starts_with(*magic))
}

/// The reason a page cannot be read, in words a person can act on: unsupported compression
/// and colour layouts are named (with what to do), the rest is the decoder's own message.
fn reason(e: &TiffError) -> String {
    match e {
        TiffError::UnsupportedError(TiffUnsupportedError::UnsupportedCompressionMethod(m)) => {
            compression_advice(*m)
        }
        TiffError::UnsupportedError(TiffUnsupportedError::UnknownCompressionMethod) => {
            "its compression is unknown to TIFF readers".into()
        }
        TiffError::LimitsExceeded => format!(
            "its pixels need more memory than the {} megapixel limit allows",
            MAX_PIXELS >> 20
        ),
        other => other.to_string(),
    }
}

fn compression_advice(method: CompressionMethod) -> String {
    let name = match method.to_u16() {
        34925 => "LZMA".to_string(),
        50000 if cfg!(target_arch = "wasm32") => {
            return "it is zstd-compressed, which the command-line tool reads but the browser \
                    package does not; save it again with LZW or Deflate compression, or segment \
                    it with `cellseg segment`"
                .into();
        }
        50000 => "zstd".to_string(),
        50001 => "WebP".to_string(),
        34712 | 33003 | 33005 => "JPEG 2000".to_string(),
        34887 => "LERC".to_string(),
        other => format!("method {other}"),
    };
    format!(
        "its {name} compression is not supported; save it again with LZW or Deflate \
         compression (Fiji: File › Save As › Tiff…, or bfconvert -compression LZW)"
    )
}

fn decoder(bytes: &[u8]) -> Result<Decoder<Cursor<&[u8]>>, TiffError> {
    let mut limits = Limits::default();
    // room for the largest image accepted in its widest sample format (64-bit gray), or
    // 16-bit RGBA; the pixel count itself is checked from the header first
    limits.decoding_buffer_size = (MAX_PIXELS * 8) as usize;
    Ok(Decoder::new(Cursor::new(bytes))?.with_limits(limits))
}

/// Counts a TIFF's pages by walking its directory chain (headers only).
pub fn count(bytes: &[u8]) -> Result<usize, DecodeError> {
    let mut decoder = decoder(bytes).map_err(|e| DecodeError::Corrupt(reason(&e)))?;
    let mut pages = 1;
    while decoder.more_images() && pages < MAX_PAGES {
        decoder.next_image().map_err(|e| DecodeError::BadPage {
            page: pages + 1,
            reason: reason(&e),
        })?;
        pages += 1;
    }
    Ok(pages)
}

/// Samples, per pixel and channel, of one decoded page.
struct Samples {
    values: Vec<f32>,
    /// File units of 1.0 in `values`.
    unit: f64,
    /// Whether `values` are fractions of the type's range (8/16-bit unsigned).
    fractions: bool,
}

/// The file's samples as `f32`: 8/16-bit unsigned as fractions of the bit depth's range,
/// everything else in file units (see the module docs).
fn samples(result: DecodingResult, bits: u8) -> Samples {
    fn raw<T: Copy>(v: &[T], f: impl Fn(T) -> f32) -> Vec<f32> {
        v.iter().map(|&x| f(x)).collect()
    }
    let full = ((1u64 << bits.clamp(1, 16)) - 1) as f64;
    let fraction = |v: Vec<f32>| Samples {
        values: v,
        unit: full,
        fractions: true,
    };
    let units = |v: Vec<f32>| Samples {
        values: v,
        unit: 1.0,
        fractions: false,
    };
    match result {
        DecodingResult::U8(v) => fraction(raw(&v, |x| (x as f64 / full) as f32)),
        DecodingResult::U16(v) => fraction(raw(&v, |x| (x as f64 / full) as f32)),
        DecodingResult::U32(v) => units(raw(&v, |x| x as f32)),
        DecodingResult::U64(v) => units(raw(&v, |x| x as f32)),
        DecodingResult::I8(v) => units(raw(&v, |x| x as f32)),
        DecodingResult::I16(v) => units(raw(&v, |x| x as f32)),
        DecodingResult::I32(v) => units(raw(&v, |x| x as f32)),
        DecodingResult::I64(v) => units(raw(&v, |x| x as f32)),
        DecodingResult::F16(v) => units(raw(&v, |x| x.to_f32())),
        DecodingResult::F32(v) => units(v),
        DecodingResult::F64(v) => units(raw(&v, |x| x as f32)),
    }
}

/// One page, one channel (or the luminance), as a plane; see the module docs for its values.
/// Errors on the first page are [`DecodeError::Corrupt`] (the file as a whole is bad), on
/// later pages [`DecodeError::BadPage`] (the rest of the file may be fine).
pub fn decode_page(bytes: &[u8], options: Options) -> Result<Decoded, DecodeError> {
    let page = options.page;
    let bad = |why: String| {
        if page == 0 {
            DecodeError::Corrupt(why)
        } else {
            DecodeError::BadPage {
                page: page + 1,
                reason: why,
            }
        }
    };
    let pages = if page > 0 { count(bytes)? } else { 1 };
    if page >= pages {
        return Err(DecodeError::NoPage {
            page: page + 1,
            pages,
        });
    }
    let mut decoder = decoder(bytes).map_err(|e| bad(reason(&e)))?;
    decoder.seek_to_image(page).map_err(|e| bad(reason(&e)))?;
    let (width, height) = decoder.dimensions().map_err(|e| bad(reason(&e)))?;
    check_size(width, height)?;
    let (channels, bits, kind) = match decoder.colortype().map_err(|e| bad(reason(&e)))? {
        ColorType::Gray(b) => (1, b, Kind::Gray),
        ColorType::GrayA(b) => (2, b, Kind::Gray),
        ColorType::RGB(b) => (3, b, Kind::Colour),
        ColorType::RGBA(b) => (4, b, Kind::Colour),
        ColorType::Multiband {
            bit_depth,
            num_samples,
        } => (num_samples.min(255) as u8, bit_depth, Kind::Bands),
        other => {
            return Err(bad(format!(
                "its {other:?} pixels are not supported (gray, RGB or separate channels expected)"
            )));
        }
    };
    let (result, planes) = if packed::is_packed(channels, bits) {
        let samples = packed::read(&mut decoder, width as usize, height as usize, bits);
        (DecodingResult::U16(samples.map_err(bad)?), 1)
    } else if [8, 16, 32, 64].contains(&bits) {
        let mut result = DecodingResult::U8(Vec::new());
        let layout = decoder
            .read_image_to_buffer(&mut result)
            .map_err(|e| bad(reason(&e)))?;
        (result, layout.planes)
    } else {
        return Err(bad(format!(
            "its {bits}-bit samples are not supported (8 to 16, 32 or 64 bits expected)"
        )));
    };
    let n = width as usize * height as usize;
    let Samples {
        mut values,
        unit,
        fractions,
    } = samples(result, bits);
    if values.len() < n * channels as usize {
        return Err(bad("it holds fewer samples than its size says".into()));
    }
    if !fractions {
        replace_non_finite(&mut values).map_err(bad)?;
    }
    // chunky: the samples of a pixel lie together; planar: one whole plane per channel
    let planar = planes > 1;
    let at = |i: usize, c: usize| {
        if planar {
            values[c * n + i]
        } else {
            values[i * channels as usize + c]
        }
    };
    let choices = match kind {
        Kind::Gray => 0,
        Kind::Colour => 3,
        Kind::Bands => channels,
    };
    let data: Vec<f32> = match options.channel {
        Channel::Index(c) if choices > 0 => {
            if c >= choices {
                return Err(DecodeError::NoChannel {
                    channel: c,
                    channels,
                });
            }
            (0..n).map(|i| at(i, c as usize)).collect()
        }
        _ if kind == Kind::Colour => (0..n)
            .map(|i| 0.2126 * at(i, 0) + 0.7152 * at(i, 1) + 0.0722 * at(i, 2))
            .collect(),
        _ => (0..n).map(|i| at(i, 0)).collect(),
    };
    let range = if fractions {
        (0.0, unit)
    } else {
        let (lo, hi) = data
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
        (lo as f64, hi as f64)
    };
    Ok(Decoded {
        plane: Plane::new(width as usize, height as usize, data),
        bits: bits as u16,
        channels,
        unit,
        range,
    })
}

/// NaN and infinite samples (masked or saturated pixels in float images) become the median of
/// the finite ones: background, which neither the normalisation nor the networks read as a
/// cell. A page without any finite sample cannot be segmented.
fn replace_non_finite(values: &mut [f32]) -> Result<(), String> {
    if values.iter().all(|v| v.is_finite()) {
        return Ok(());
    }
    if !values.iter().any(|v| v.is_finite()) {
        return Err("it holds no finite values (all NaN or infinite)".into());
    }
    let median = crate::io::normalise::percentile(values, 0.5);
    for v in values.iter_mut().filter(|v| !v.is_finite()) {
        *v = median;
    }
    Ok(())
}

/// What a page's channels are: gray (perhaps with alpha), colour (RGB, perhaps with alpha:
/// a channel or the luminance), or separate bands (a microscope's channels in one page: one
/// of them, the first unless asked).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Gray,
    Colour,
    Bands,
}
