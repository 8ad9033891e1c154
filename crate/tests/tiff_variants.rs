//! TIFFs as other labs' microscopes and tools write them: the same real frame (a crop of
//! phase_027) in every sample format, BigTIFF, zstd, planar colour and separate channels must
//! give the networks the same input as the 16-bit original, and so must big-endian files,
//! contiguous RGB, a WhiteIsZero page (its complement stored), LZW, Deflate and PackBits with and without a predictor and a 20-page Deflate
//! time-lapse; a JPEG-compressed TIFF decodes as its JPEG does; what cannot be read is named.

mod common;

use std::io::Cursor;

use cellseg::io::decode::{Channel, DecodeError, Options, decode, decode_normalised, decode_with};
use tiff::encoder::{TiffEncoder, colortype};

const W: u32 = 160;
const H: u32 = 120;

/// The crop's raw 16-bit counts (values ~370–5600, as the camera wrote them).
fn frame() -> Vec<u16> {
    let raw = decode(&common::read("upstream/Images/phase_027.tif")).unwrap();
    let mut out = Vec::with_capacity((W * H) as usize);
    for y in 300..300 + H as usize {
        for x in 400..400 + W as usize {
            out.push((raw.plane.at(x, y) * 65535.0).round() as u16);
        }
    }
    out
}

fn encoded<C: colortype::ColorType>(data: &[C::Inner], big: bool) -> Vec<u8>
where
    [C::Inner]: tiff::encoder::TiffValue,
{
    let mut out = Cursor::new(Vec::new());
    if big {
        let mut e = TiffEncoder::new_big(&mut out).unwrap();
        e.write_image::<C>(W, H, data).unwrap();
    } else {
        let mut e = TiffEncoder::new(&mut out).unwrap();
        e.write_image::<C>(W, H, data).unwrap();
    }
    out.into_inner()
}

/// One IFD entry: tag, TIFF type (3 SHORT, 4 LONG) and values.
struct Entry(u16, u16, Vec<u32>);

/// A classic TIFF, one page, written by hand for what the encoder cannot write (planar
/// samples, zstd or JPEG compression, big-endian byte order, as older Macs' and some
/// microscope vendors' software writes): its strips as given, the tags as listed.
fn hand_written(strips: &[Vec<u8>], entries: Vec<Entry>) -> Vec<u8> {
    hand_written_in(false, strips, entries)
}

/// [`hand_written`] in either byte order (`big`: "MM", Motorola's).
fn hand_written_in(big: bool, strips: &[Vec<u8>], mut entries: Vec<Entry>) -> Vec<u8> {
    let u16_bytes = |v: u16| {
        if big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let u32_bytes = |v: u32| {
        if big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let mut out = if big { b"MM\0*" } else { b"II*\0" }.to_vec();
    out.extend_from_slice(&[0; 4]);
    let mut offsets = Vec::new();
    for s in strips {
        offsets.push(out.len() as u32);
        out.extend_from_slice(s);
    }
    entries.push(Entry(273, 4, offsets));
    entries.push(Entry(
        279,
        4,
        strips.iter().map(|s| s.len() as u32).collect(),
    ));
    entries.sort_by_key(|e| e.0);
    // values longer than 4 bytes go out of line, before the directory
    let mut inline = Vec::new();
    for Entry(tag, kind, values) in &entries {
        let bytes: Vec<u8> = values
            .iter()
            .flat_map(|&v| match kind {
                3 => u16_bytes(v as u16).to_vec(),
                _ => u32_bytes(v).to_vec(),
            })
            .collect();
        let field = if bytes.len() <= 4 {
            let mut f = bytes.clone();
            f.resize(4, 0);
            f
        } else {
            let at = out.len() as u32;
            out.extend_from_slice(&bytes);
            u32_bytes(at).to_vec()
        };
        inline.push((*tag, *kind, values.len() as u32, field));
    }
    let ifd = out.len() as u32;
    out[4..8].copy_from_slice(&u32_bytes(ifd));
    out.extend_from_slice(&u16_bytes(inline.len() as u16));
    for (tag, kind, count, field) in inline {
        out.extend_from_slice(&u16_bytes(tag));
        out.extend_from_slice(&u16_bytes(kind));
        out.extend_from_slice(&u32_bytes(count));
        // a SHORT value held in the field sits at its start, in the file's byte order
        out.extend_from_slice(&field);
    }
    out.extend_from_slice(&[0; 4]);
    out
}

/// 16-bit samples with `spp` samples per pixel, in one strip per plane when `planar`.
fn hand_written_u16(
    samples: &[Vec<u16>],
    planar: bool,
    big: bool,
    photometric: u32,
    compression: u32,
    compress: impl Fn(Vec<u8>) -> Vec<u8>,
) -> Vec<u8> {
    let spp = samples.len();
    let le = |v: &[u16]| {
        v.iter()
            .flat_map(|x| {
                if big {
                    x.to_be_bytes()
                } else {
                    x.to_le_bytes()
                }
            })
            .collect::<Vec<u8>>()
    };
    let strips: Vec<Vec<u8>> = if planar {
        samples.iter().map(|s| compress(le(s))).collect()
    } else {
        let chunky: Vec<u16> = (0..samples[0].len())
            .flat_map(|i| samples.iter().map(move |s| s[i]))
            .collect();
        vec![compress(le(&chunky))]
    };
    hand_written_in(
        big,
        &strips,
        vec![
            Entry(256, 4, vec![W]),
            Entry(257, 4, vec![H]),
            Entry(258, 3, vec![16; spp]),
            Entry(259, 3, vec![compression]),
            Entry(262, 3, vec![photometric]),
            Entry(277, 3, vec![spp as u32]),
            Entry(278, 4, vec![H]),
            Entry(284, 3, vec![if planar { 2 } else { 1 }]),
            Entry(339, 3, vec![1; spp]),
        ],
    )
}

fn normalised(bytes: &[u8], name: &str) -> Vec<f32> {
    decode_normalised(bytes)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .0
        .data
}

fn assert_same_input(name: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{name}");
    let worst = got
        .iter()
        .zip(want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(worst < 1e-4, "{name}: differs by up to {worst}");
}

#[test]
fn every_sample_format_gives_the_networks_the_same_input() {
    let counts = frame();
    let reference = normalised(&encoded::<colortype::Gray16>(&counts, false), "16-bit");
    let as_f32: Vec<f32> = counts.iter().map(|&v| v as f32).collect();
    let variants: Vec<(&str, Vec<u8>)> = vec![
        (
            "BigTIFF 16-bit",
            encoded::<colortype::Gray16>(&counts, true),
        ),
        (
            "float32 in 0..1",
            encoded::<colortype::Gray32Float>(
                &counts
                    .iter()
                    .map(|&v| v as f32 / 65535.0)
                    .collect::<Vec<_>>(),
                false,
            ),
        ),
        (
            "float32 raw counts",
            encoded::<colortype::Gray32Float>(&as_f32, false),
        ),
        (
            "float64 raw counts",
            encoded::<colortype::Gray64Float>(
                &counts.iter().map(|&v| v as f64).collect::<Vec<_>>(),
                false,
            ),
        ),
        (
            "uint32",
            encoded::<colortype::Gray32>(
                &counts.iter().map(|&v| v as u32).collect::<Vec<_>>(),
                false,
            ),
        ),
        (
            "signed int16, background subtracted",
            encoded::<colortype::GrayI16>(
                &counts.iter().map(|&v| v as i16 - 3000).collect::<Vec<_>>(),
                false,
            ),
        ),
        (
            "signed int32",
            encoded::<colortype::GrayI32>(
                &counts.iter().map(|&v| v as i32).collect::<Vec<_>>(),
                false,
            ),
        ),
        (
            "zstd",
            hand_written_u16(
                std::slice::from_ref(&counts),
                false,
                false,
                1,
                50000,
                |raw| zstd::encode_all(&raw[..], 3).unwrap(),
            ),
        ),
        (
            "planar RGB, luminance of gray",
            hand_written_u16(
                &[counts.clone(), counts.clone(), counts.clone()],
                true,
                false,
                2,
                1,
                |raw| raw,
            ),
        ),
        (
            "big-endian 16-bit",
            hand_written_u16(std::slice::from_ref(&counts), false, true, 1, 1, |raw| raw),
        ),
        (
            "big-endian contiguous RGB, luminance of gray",
            hand_written_u16(
                &[counts.clone(), counts.clone(), counts.clone()],
                false,
                true,
                2,
                1,
                |raw| raw,
            ),
        ),
        (
            // PhotometricInterpretation 0: 0 is white, as some scanners and older
            // tools write gray; read as it is drawn, not as its negative
            "16-bit WhiteIsZero, its complement stored",
            hand_written_u16(
                &[counts.iter().map(|&v| 65535 - v).collect()],
                false,
                false,
                0,
                1,
                |raw| raw,
            ),
        ),
        (
            "contiguous RGB, luminance of gray",
            encoded::<colortype::RGB16>(
                &counts.iter().flat_map(|&v| [v; 3]).collect::<Vec<_>>(),
                false,
            ),
        ),
    ];
    for (name, bytes) in &variants {
        assert_same_input(name, &normalised(bytes, name), &reference);
    }

    // float values stay in file units for the display: raw counts show as counts
    let d = decode(&variants[2].1).unwrap();
    assert_eq!((d.bits, d.unit), (32, 1.0));
    let lo = *counts.iter().min().unwrap() as f64;
    let hi = *counts.iter().max().unwrap() as f64;
    assert_eq!(d.range, (lo, hi));
    let d16 = decode(&encoded::<colortype::Gray16>(&counts, false)).unwrap();
    assert_eq!((d16.unit, d16.range), (65535.0, (0.0, 65535.0)));
}

#[test]
fn a_channel_of_a_planar_or_multi_band_page_can_be_chosen() {
    let counts = frame();
    let inverted: Vec<u16> = counts.iter().map(|&v| 6000 - v).collect();
    let flat = vec![1000u16; counts.len()];
    let reference = normalised(&encoded::<colortype::Gray16>(&inverted, false), "inverted");
    let pick = |bytes: &[u8], c: u8| {
        let mut d = decode_with(
            bytes,
            Options {
                page: 0,
                channel: Channel::Index(c),
            },
        )
        .unwrap();
        cellseg::io::normalise::normalise(&mut d.plane);
        d.plane.data
    };
    // planar RGB: green is the inverted frame
    let rgb = hand_written_u16(
        &[counts.clone(), inverted.clone(), flat.clone()],
        true,
        false,
        2,
        1,
        |raw| raw,
    );
    assert_same_input("planar RGB, green", &pick(&rgb, 1), &reference);
    // two separate channels in one page (BlackIsZero, 2 samples): the second
    for planar in [false, true] {
        let bands = hand_written_u16(
            &[flat.clone(), inverted.clone()],
            planar,
            false,
            1,
            1,
            |r| r,
        );
        assert_eq!(decode(&bands).unwrap().channels, 2);
        assert_same_input(
            &format!("bands, planar {planar}"),
            &pick(&bands, 1),
            &reference,
        );
        let err = decode_with(
            &bands,
            Options {
                page: 0,
                channel: Channel::Index(2),
            },
        )
        .err()
        .unwrap();
        assert!(
            matches!(
                err,
                DecodeError::NoChannel {
                    channel: 2,
                    channels: 2
                }
            ),
            "{err}"
        );
    }
}

#[test]
fn a_jpeg_compressed_tiff_decodes_as_its_jpeg_does() {
    // the frame in 8 bits as a baseline JPEG, then that JPEG as the one strip of a TIFF with
    // compression 7 (as some slide scanners and older acquisition software write them)
    let counts = frame();
    let top = *counts.iter().max().unwrap() as f32;
    let gray: Vec<u8> = counts
        .iter()
        .map(|&v| (v as f32 / top * 255.0).round() as u8)
        .collect();
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 95)
        .encode(&gray, W, H, image::ExtendedColorType::L8)
        .unwrap();
    let tiff = hand_written(
        std::slice::from_ref(&jpeg),
        vec![
            Entry(256, 4, vec![W]),
            Entry(257, 4, vec![H]),
            Entry(258, 3, vec![8]),
            Entry(259, 3, vec![7]),
            Entry(262, 3, vec![1]),
            Entry(277, 3, vec![1]),
            Entry(278, 4, vec![H]),
        ],
    );
    let from_tiff = normalised(&tiff, "JPEG in TIFF");
    let from_jpeg = normalised(&jpeg, "the JPEG itself");
    assert_same_input("JPEG in TIFF", &from_tiff, &from_jpeg);
    // and it is the frame, as far as 8 bits and a JPEG keep it (0.012 on average here)
    let reference = normalised(&encoded::<colortype::Gray16>(&counts, false), "16-bit");
    let mean = from_tiff
        .iter()
        .zip(&reference)
        .map(|(a, b)| (a - b).abs())
        .sum::<f32>()
        / reference.len() as f32;
    assert!(
        mean < 0.02,
        "JPEG in TIFF differs from the frame by {mean} on average"
    );
}

#[test]
fn unreadable_tiffs_say_what_is_unsupported() {
    let counts = frame();
    // LZMA (34925), as libtiff writes it: the compression is named, with what to do
    let lzma = hand_written_u16(
        std::slice::from_ref(&counts),
        false,
        false,
        1,
        34925,
        |raw| raw,
    );
    let err = decode(&lzma).err().unwrap().to_string();
    assert!(
        err.contains("LZMA compression is not supported") && err.contains("LZW or Deflate"),
        "{err}"
    );
    // float pixels that are all NaN: nothing to segment
    let nan = encoded::<colortype::Gray32Float>(&vec![f32::NAN; counts.len()], false);
    let err = decode(&nan).err().unwrap().to_string();
    assert!(err.contains("no finite values"), "{err}");
}

#[test]
fn nan_pixels_in_a_float_image_become_background() {
    let counts = frame();
    let mut values: Vec<f32> = counts.iter().map(|&v| v as f32).collect();
    for v in values.iter_mut().step_by(97) {
        *v = f32::NAN;
    }
    values[5] = f32::INFINITY;
    let d = decode(&encoded::<colortype::Gray32Float>(&values, false)).unwrap();
    assert!(d.plane.data.iter().all(|v| v.is_finite()));
    let median = cellseg::io::normalise::percentile(
        &values
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .collect::<Vec<_>>(),
        0.5,
    );
    assert_eq!(d.plane.data[0], median);
    assert_eq!(d.plane.data[5], median);
}

/// The frame as Fiji or an OME tool saves it: its description and resolution tags as given.
fn described(description: &str, per_unit: (u32, u32)) -> Vec<u8> {
    use tiff::encoder::Rational;
    use tiff::tags::ResolutionUnit;
    let mut out = Cursor::new(Vec::new());
    let mut e = TiffEncoder::new(&mut out).unwrap();
    let mut image = e.new_image::<colortype::Gray16>(W, H).unwrap();
    image
        .encoder()
        .write_tag(tiff::tags::Tag::ImageDescription, description)
        .unwrap();
    let (n, d) = per_unit;
    image.resolution(ResolutionUnit::None, Rational { n, d });
    image.write_data(&frame()).unwrap();
    out.into_inner()
}

#[test]
fn the_pixel_size_comes_from_imagej_and_ome_metadata() {
    use cellseg::io::pixel_size::of_file;
    // Fiji: 15.3846 pixels per micron (0.065 µm), as a rational
    let fiji = described(
        "ImageJ=1.54f\nimages=1\nunit=micron\nloop=false\n",
        (153846, 10000),
    );
    assert!((of_file(&fiji).unwrap() - 0.065).abs() < 1e-6);
    // OME tools write the unit in UTF-8, which the encoder's ASCII tag refuses: written with
    // two placeholder bytes, then patched
    let mut ome = described(
        r#"<?xml version="1.0" encoding="UTF-8"?><OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06"><Image ID="Image:0"><Pixels ID="Pixels:0" DimensionOrder="XYCZT" Type="uint16" SizeX="160" SizeY="120" SizeC="1" SizeZ="1" SizeT="1" PhysicalSizeX="0.1083" PhysicalSizeXUnit="@@m" PhysicalSizeY="0.1083"><Channel ID="Channel:0:0" SamplesPerPixel="1"/></Pixels></Image></OME>"#,
        (1, 1),
    );
    let at = ome.windows(3).position(|w| w == b"@@m").unwrap();
    ome[at..at + 2].copy_from_slice("µ".as_bytes());
    assert_eq!(of_file(&ome), Some(0.1083));
    // a plain TIFF's 72 dpi, and Fiji's uncalibrated default, state no size
    let plain = described("a camera", (72, 1));
    assert_eq!(of_file(&plain), None);
    let uncalibrated = described("ImageJ=1.54f\nimages=1\n", (1, 1));
    assert_eq!(of_file(&uncalibrated), None);
    // and the image itself reads as before
    assert_eq!(normalised(&fiji, "fiji"), normalised(&plain, "plain"));
}

/// `frame` as the encoder writes it with `compression` (and `predictor`), `pages` times, page
/// k's counts raised by k.
fn compressed(
    frame: &[u16],
    compression: tiff::encoder::Compression,
    predictor: tiff::tags::Predictor,
    pages: u16,
) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    let mut e = TiffEncoder::new(&mut out)
        .unwrap()
        .with_compression(compression)
        .with_predictor(predictor);
    for k in 0..pages {
        let page: Vec<u16> = frame.iter().map(|&v| v + k).collect();
        e.write_image::<colortype::Gray16>(W, H, &page).unwrap();
    }
    out.into_inner()
}

#[test]
fn compressed_tiffs_and_a_twenty_page_deflate_time_lapse_give_the_same_input() {
    use tiff::encoder::{Compression, DeflateLevel};
    use tiff::tags::Predictor;
    let counts = frame();
    let reference = normalised(&encoded::<colortype::Gray16>(&counts, false), "16-bit");
    let deflate = Compression::Deflate(DeflateLevel::Balanced);
    for (name, compression, predictor) in [
        ("LZW", Compression::Lzw, Predictor::None),
        (
            "LZW, horizontal predictor",
            Compression::Lzw,
            Predictor::Horizontal,
        ),
        ("Deflate", deflate, Predictor::None),
        (
            "Deflate, horizontal predictor",
            deflate,
            Predictor::Horizontal,
        ),
        ("PackBits", Compression::Packbits, Predictor::None),
    ] {
        let bytes = compressed(&counts, compression, predictor, 1);
        assert_same_input(name, &normalised(&bytes, name), &reference);
    }
    // a time-lapse as microscopes save it: every page readable, each its own frame
    let stack = compressed(&counts, deflate, Predictor::Horizontal, 20);
    assert_eq!(cellseg::io::decode::page_count(&stack).unwrap(), 20);
    for page in [0, 7, 19] {
        let options = Options {
            page,
            channel: Channel::Luminance,
        };
        let decoded = decode_with(&stack, options).unwrap();
        let want = (counts[0] + page as u16) as f32 / 65535.0;
        assert!(
            (decoded.plane.data[0] - want).abs() < 1e-6,
            "page {page}: {} against {want}",
            decoded.plane.data[0]
        );
    }
}

/// `values` (each under 2^bits) packed `bits` to a sample, most significant bit first, each
/// row starting on a byte, as libtiff writes 10-, 12- and 14-bit data.
fn packed_rows(values: &[u16], bits: u8) -> Vec<Vec<u8>> {
    values
        .chunks(W as usize)
        .map(|row| {
            let (mut out, mut acc, mut held) = (Vec::new(), 0u32, 0u8);
            for &v in row {
                acc = (acc << bits) | v as u32;
                held += bits;
                while held >= 8 {
                    held -= 8;
                    out.push((acc >> held) as u8);
                    acc &= (1 << held) - 1;
                }
            }
            if held > 0 {
                out.push((acc << (8 - held)) as u8);
            }
            out
        })
        .collect()
}

/// PackBits, plainly: literal runs of up to 128 bytes (what any reader must undo).
fn packbits(raw: Vec<u8>) -> Vec<u8> {
    raw.chunks(128)
        .flat_map(|c| std::iter::once((c.len() - 1) as u8).chain(c.iter().copied()))
        .collect()
}

#[test]
fn packed_10_12_and_14_bit_samples_give_the_networks_the_same_input() {
    use std::io::Write;
    let counts = frame();
    for bits in [10u8, 12, 14] {
        // the frame's counts brought within the bit depth (the normalisation ignores gain)
        let shift = 16 - bits - 2;
        let values: Vec<u16> = counts.iter().map(|&v| v >> shift).collect();
        let reference = normalised(&encoded::<colortype::Gray16>(&values, false), "16-bit");
        let rows = packed_rows(&values, bits);
        let whole: Vec<u8> = rows.concat();
        let by_50: Vec<Vec<u8>> = rows.chunks(50).map(|r| r.concat()).collect();
        let lzw = weezl::encode::Encoder::with_tiff_size_switch(weezl::BitOrder::Msb, 8)
            .encode(&whole)
            .unwrap();
        let mut deflate =
            flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        deflate.write_all(&whole).unwrap();
        let deflate = deflate.finish().unwrap();
        let page = |strips: Vec<Vec<u8>>, compression: u32, rows_per_strip: u32, predictor| {
            hand_written(
                &strips,
                vec![
                    Entry(256, 4, vec![W]),
                    Entry(257, 4, vec![H]),
                    Entry(258, 3, vec![bits as u32]),
                    Entry(259, 3, vec![compression]),
                    Entry(262, 3, vec![1]),
                    Entry(277, 3, vec![1]),
                    Entry(278, 4, vec![rows_per_strip]),
                    Entry(317, 3, vec![predictor]),
                ],
            )
        };
        for (name, bytes) in [
            ("uncompressed", page(vec![whole.clone()], 1, H, 1)),
            ("uncompressed, strips of 50 rows", page(by_50, 1, 50, 1)),
            ("LZW", page(vec![lzw], 5, H, 1)),
            ("Deflate", page(vec![deflate], 8, H, 1)),
            ("PackBits", page(vec![packbits(whole.clone())], 32773, H, 1)),
        ] {
            let name = format!("{bits}-bit packed, {name}");
            assert_same_input(&name, &normalised(&bytes, &name), &reference);
            assert_eq!(decode(&bytes).unwrap().bits, bits as u16, "{name}");
        }
        // what packed files never hold is named, not misread
        let err = decode(&page(vec![whole.clone()], 1, H, 2))
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains(&format!("{bits}-bit samples use a predictor")),
            "{err}"
        );
    }
}
