//! Packed samples: gray TIFFs of 9 to 15 bits a sample, written bit after bit with no padding
//! but at the end of each row (some cameras' 10-, 12- and 14-bit files; libtiff and Fiji read
//! them). The `tiff` crate unpacks only 1, 2 and 4 bits, and refuses these before reading a
//! byte, so here the strips are read as the TIFF 6.0 specification lays them out: the crate
//! finds the tags, the same crates it decompresses with undo LZW (weezl) and Deflate
//! (flate2), PackBits is undone by hand (ten lines: no kept crate does only that), and the
//! samples are taken most significant bit first. Tiles, predictors and several samples a
//! pixel are refused by name: no camera writes those packed.

use std::io::{Cursor, Read};

use tiff::decoder::Decoder;
use tiff::tags::Tag;

/// Whether a page of `channels` samples of `bits` bits is one [`read`] unpacks.
pub fn is_packed(channels: u8, bits: u8) -> bool {
    channels == 1 && (9..=15).contains(&bits)
}

/// The samples of the page `decoder` stands at (`width` × `height`, `bits` a sample), row by
/// row, as integers 0..2^bits.
pub fn read(
    decoder: &mut Decoder<Cursor<&[u8]>>,
    width: usize,
    height: usize,
    bits: u8,
) -> Result<Vec<u16>, String> {
    let tag = |d: &mut Decoder<Cursor<&[u8]>>, t: Tag| d.find_tag_unsigned::<u64>(t);
    let fail = |e: tiff::TiffError| e.to_string();
    if tag(decoder, Tag::TileWidth).map_err(fail)?.is_some() {
        return Err(format!(
            "its {bits}-bit samples are tiled, which is not supported"
        ));
    }
    if tag(decoder, Tag::Predictor).map_err(fail)?.unwrap_or(1) != 1 {
        return Err(format!(
            "its {bits}-bit samples use a predictor, which is not supported"
        ));
    }
    let compression = tag(decoder, Tag::Compression).map_err(fail)?.unwrap_or(1);
    let rows_per_strip = tag(decoder, Tag::RowsPerStrip)
        .map_err(fail)?
        .map_or(height, |r| (r as usize).clamp(1, height.max(1)));
    let offsets = decoder.get_tag_u64_vec(Tag::StripOffsets).map_err(fail)?;
    let counts = decoder
        .get_tag_u64_vec(Tag::StripByteCounts)
        .map_err(fail)?;
    let row_bytes = (width * bits as usize).div_ceil(8);
    let bytes: &[u8] = decoder.inner().get_ref();
    let mut samples = Vec::with_capacity(width * height);
    for (strip, (&offset, &count)) in offsets.iter().zip(&counts).enumerate() {
        let rows = rows_per_strip.min(height.saturating_sub(strip * rows_per_strip));
        if rows == 0 {
            break;
        }
        let raw = usize::try_from(offset)
            .ok()
            .zip(usize::try_from(count).ok())
            .and_then(|(o, c)| bytes.get(o..o.checked_add(c)?))
            .ok_or("a strip lies beyond the end of the file")?;
        let data = expand(raw, compression, rows * row_bytes)?;
        if data.len() < rows * row_bytes {
            return Err("a strip holds fewer samples than its rows need".into());
        }
        for row in data.chunks_exact(row_bytes).take(rows) {
            unpack_row(row, width, bits, &mut samples);
        }
    }
    if samples.len() < width * height {
        return Err("it holds fewer samples than its size says".into());
    }
    Ok(samples)
}

/// A strip's bytes without their compression (`want`: the bytes its rows take).
fn expand(raw: &[u8], compression: u64, want: usize) -> Result<Vec<u8>, String> {
    match compression {
        1 => Ok(raw.to_vec()),
        5 => weezl::decode::Decoder::with_tiff_size_switch(weezl::BitOrder::Msb, 8)
            .decode(raw)
            .map_err(|e| format!("its LZW data is broken ({e})")),
        8 | 32946 => {
            let mut out = Vec::with_capacity(want);
            flate2::read::ZlibDecoder::new(raw)
                .read_to_end(&mut out)
                .map_err(|e| format!("its Deflate data is broken ({e})"))?;
            Ok(out)
        }
        32773 => Ok(unpack_bits(raw, want)),
        other => Err(format!(
            "its {} compression is not supported with packed samples; save it again \
             uncompressed, or as 16-bit",
            match other {
                7 => "JPEG".to_string(),
                other => format!("method {other}"),
            }
        )),
    }
}

/// PackBits (TIFF 6.0, section 9): a header byte n, then n + 1 literal bytes (n ≥ 0) or one
/// byte repeated 1 − n times (n < 0; −128 is a no-op).
fn unpack_bits(raw: &[u8], want: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(want);
    let mut i = 0;
    while i < raw.len() && out.len() < want {
        let n = raw[i] as i8;
        i += 1;
        if n >= 0 {
            let end = (i + n as usize + 1).min(raw.len());
            out.extend_from_slice(&raw[i..end]);
            i = end;
        } else if n != -128 {
            if let Some(&b) = raw.get(i) {
                out.extend(std::iter::repeat_n(b, (1 - n as isize) as usize));
            }
            i += 1;
        }
    }
    out
}

/// One row's `width` samples of `bits` bits, most significant bit first.
fn unpack_row(row: &[u8], width: usize, bits: u8, out: &mut Vec<u16>) {
    let (mut acc, mut held) = (0u32, 0u8);
    let mut bytes = row.iter();
    for _ in 0..width {
        while held < bits {
            acc = (acc << 8) | *bytes.next().unwrap_or(&0) as u32;
            held += 8;
        }
        held -= bits;
        out.push(((acc >> held) & ((1 << bits) - 1)) as u16);
        acc &= (1 << held) - 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_unpack_most_significant_bit_first() {
        // 12 bits: 0xABC, 0x123 → AB C1 23; a row of three pads its last half byte
        let mut out = Vec::new();
        unpack_row(&[0xAB, 0xC1, 0x23], 2, 12, &mut out);
        assert_eq!(out, [0xABC, 0x123]);
        let mut out = Vec::new();
        unpack_row(&[0xAB, 0xC1, 0x23, 0xFF, 0xF0], 3, 12, &mut out);
        assert_eq!(out, [0xABC, 0x123, 0xFFF]);
        // 10 bits: 1023, 0, 512, 1 → 1111111111 0000000000 1000000000 0000000001
        let mut out = Vec::new();
        unpack_row(&[0xFF, 0xC0, 0x08, 0x00, 0x01], 4, 10, &mut out);
        assert_eq!(out, [1023, 0, 512, 1]);
    }

    #[test]
    fn packbits_undoes_runs_and_literals() {
        // the specification's example
        let packed = [
            0xFE, 0xAA, 0x02, 0x80, 0x00, 0x2A, 0xFD, 0xAA, 0x03, 0x80, 0x00, 0x2A, 0x22, 0xF7,
            0xAA,
        ];
        let unpacked = [
            0xAA, 0xAA, 0xAA, 0x80, 0x00, 0x2A, 0xAA, 0xAA, 0xAA, 0xAA, 0x80, 0x00, 0x2A, 0x22,
            0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA,
        ];
        assert_eq!(unpack_bits(&packed, 24), unpacked);
    }
}
