//! Hostile files, generated here: truncated and bit-flipped images, wrong magic bytes, 0x0 and
//! 1x1 images, headers claiming 100000x100000 pixels, 16-bit TIFFs with odd strip and tile
//! layouts, a multi-page TIFF with a broken page, bad labels, bad .npy masks and bad weights.
//! Each goes through the library (and a sample through the CLI): a clear error or a correct
//! result, never a panic.

mod common;

use std::io::Cursor;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::Command;

use burn::tensor::Device;
use cellseg::core::plane::Rect;
use cellseg::io::decode::{Channel, Options, decode, decode_with, probe};
use cellseg::io::labels::ClassMap;
use cellseg::model::network::Network;
use cellseg::model::spec::Spec;
use image::{DynamicImage, ImageBuffer, ImageFormat, Luma, Rgb};

/// Runs `f`, turning a panic into a test failure that names the file.
fn no_panic<T>(name: &str, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| panic!("{name}: the library panicked"))
}

fn encode(image: DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).unwrap();
    out.into_inner()
}

fn phase_like(w: u32, h: u32) -> ImageBuffer<Luma<u16>, Vec<u16>> {
    ImageBuffer::from_fn(w, h, |x, y| {
        Luma([if (x % 12 < 5) && (y % 30 > 3) {
            9000
        } else {
            20000
        } + ((x * 31 + y * 17) % 300) as u16])
    })
}

/// How a hand-written TIFF lays out its one 16-bit gray page.
#[derive(Clone, Copy)]
enum Layout {
    Strips { rows: u32 },
    Tiles { side: u32 },
}

/// A little-endian TIFF of 16-bit gray pages, written by hand so layouts and header fields
/// can be anything, consistent or not. `claim` overrides the width and height in the header.
fn tiff(pages: &[(&[u16], u32, u32, Layout)], claim: Option<(u32, u32)>) -> Vec<u8> {
    let mut out = b"II*\0\0\0\0\0".to_vec();
    let mut previous_next = 4usize; // where the offset of the next IFD is to be written
    for &(pixels, w, h, layout) in pages {
        let (tile_w, tile_h) = match layout {
            Layout::Strips { rows } => (w, rows),
            Layout::Tiles { side } => (side, side),
        };
        let (across, down) = (w.div_ceil(tile_w), h.div_ceil(tile_h));
        let mut offsets = Vec::new();
        let mut counts = Vec::new();
        for ty in 0..down {
            for tx in 0..across {
                offsets.push(out.len() as u32);
                // strips end at the image's last row; tiles are always whole (padded)
                let rows = match layout {
                    Layout::Strips { .. } => tile_h.min(h - ty * tile_h),
                    Layout::Tiles { .. } => tile_h,
                };
                for y in ty * tile_h..ty * tile_h + rows {
                    for x in tx * tile_w..tx * tile_w + tile_w {
                        let v = if x < w && y < h {
                            pixels[(y * w + x) as usize]
                        } else {
                            0
                        };
                        out.extend(v.to_le_bytes());
                    }
                }
                counts.push(out.len() as u32 - offsets.last().unwrap());
            }
        }
        // arrays of more than one value live outside the IFD
        let array = |out: &mut Vec<u8>, values: &[u32]| -> u32 {
            if values.len() == 1 {
                return values[0];
            }
            let at = out.len() as u32;
            values.iter().for_each(|v| out.extend(v.to_le_bytes()));
            at
        };
        let offsets_at = array(&mut out, &offsets);
        let counts_at = array(&mut out, &counts);
        let (cw, ch) = claim.unwrap_or((w, h));
        let mut tags: Vec<(u16, u16, u32, u32)> = vec![
            (256, 4, 1, cw),
            (257, 4, 1, ch),
            (258, 3, 1, 16),
            (259, 3, 1, 1),
            (262, 3, 1, 1),
            (277, 3, 1, 1),
        ];
        match layout {
            Layout::Strips { rows } => tags.extend([
                (273, 4, offsets.len() as u32, offsets_at),
                (278, 4, 1, rows),
                (279, 4, counts.len() as u32, counts_at),
            ]),
            Layout::Tiles { side } => tags.extend([
                (322, 4, 1, side),
                (323, 4, 1, side),
                (324, 4, offsets.len() as u32, offsets_at),
                (325, 4, counts.len() as u32, counts_at),
            ]),
        }
        tags.sort();
        if out.len() % 2 == 1 {
            out.push(0);
        }
        let ifd = out.len() as u32;
        out[previous_next..previous_next + 4].copy_from_slice(&ifd.to_le_bytes());
        out.extend((tags.len() as u16).to_le_bytes());
        for (tag, kind, count, value) in tags {
            out.extend(tag.to_le_bytes());
            out.extend(kind.to_le_bytes());
            out.extend(count.to_le_bytes());
            if kind == 3 && count == 1 {
                out.extend((value as u16).to_le_bytes());
                out.extend([0, 0]);
            } else {
                out.extend(value.to_le_bytes());
            }
        }
        previous_next = out.len();
        out.extend([0, 0, 0, 0]);
    }
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A PNG whose header claims `w` x `h` (with a valid checksum) and holds one tiny IDAT.
fn png_claiming(w: u32, h: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |kind: &[u8], data: &[u8]| {
        out.extend((data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend(data);
        out.extend(&body);
        out.extend(crc32(&body).to_be_bytes());
    };
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend(h.to_be_bytes());
    ihdr.extend([8, 0, 0, 0, 0]); // 8-bit gray
    chunk(b"IHDR", &ihdr);
    chunk(b"IDAT", &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
    chunk(b"IEND", &[]);
    out
}

/// `n` copies of `bytes`, each with a few bytes flipped (deterministic).
fn bit_flipped(bytes: &[u8], n: usize) -> Vec<Vec<u8>> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..n)
        .map(|_| {
            let mut copy = bytes.to_vec();
            for _ in 0..1 + next() % 8 {
                let i = (next() % copy.len() as u64) as usize;
                copy[i] ^= 1 << (next() % 8);
            }
            copy
        })
        .collect()
}

/// Decodes `bytes` every way the page and the CLI can, expecting an error that contains
/// `message`.
fn refused(name: &str, bytes: &[u8], message: &str) {
    let err = no_panic(name, || decode(bytes)).err();
    let text = err
        .map(|e| e.to_string())
        .unwrap_or_else(|| panic!("{name}: was accepted"));
    assert!(
        text.contains(message),
        "{name}: '{text}' does not say '{message}'"
    );
    assert!(
        no_panic(name, || probe(bytes)).is_err(),
        "{name}: probe accepted it"
    );
}

/// A 16-bit TIFF, a 16-bit PNG and a colour JPEG, all readable: to cut and to flip bits in.
fn good_images() -> [Vec<u8>; 3] {
    let good = encode(
        DynamicImage::ImageLuma16(phase_like(64, 48)),
        ImageFormat::Tiff,
    );
    let png = encode(
        DynamicImage::ImageLuma16(phase_like(64, 48)),
        ImageFormat::Png,
    );
    let jpeg = encode(
        DynamicImage::ImageRgb8(ImageBuffer::from_fn(64, 48, |x, _| {
            Rgb([(x * 4) as u8, 90, 30])
        })),
        ImageFormat::Jpeg,
    );
    [good, png, jpeg]
}

/// The image files every reader of images must refuse, with what the message must say.
fn bad_images() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let [good, png, jpeg] = good_images();
    let tiny = |claim| tiff(&[(&[1; 4], 2, 2, Layout::Strips { rows: 2 })], Some(claim));
    let unreadable = "not an image we can read";
    let corrupt = "could not decode";
    let empty = "the image is empty (0 pixels)";
    let huge = "the limit is 64 megapixels";
    vec![
        ("empty file", vec![], unreadable),
        (
            "a text file named .tif",
            b"Dear reviewer,\nthis is not a TIFF.\n".to_vec(),
            unreadable,
        ),
        (
            "PNG magic, then junk",
            b"\x89PNG\r\n\x1a\n0123456789abcdef".to_vec(),
            corrupt,
        ),
        ("TIFF magic only", b"II*\0".to_vec(), corrupt),
        ("truncated TIFF", good[..good.len() / 2].to_vec(), corrupt),
        ("truncated PNG", png[..png.len() / 2].to_vec(), corrupt),
        ("truncated JPEG", jpeg[..jpeg.len() / 2].to_vec(), corrupt),
        (
            "TIFF claiming 100000x100000",
            tiny((100_000, 100_000)),
            huge,
        ),
        (
            "PNG claiming 100000x100000",
            png_claiming(100_000, 100_000),
            huge,
        ),
        ("PNG claiming 0x0", png_claiming(0, 0), empty),
        ("TIFF claiming 0x5", tiny((0, 5)), empty),
        // a header that claims more pixels than the data holds
        (
            "TIFF claiming 4000x4000 over 4 pixels",
            tiny((4000, 4000)),
            corrupt,
        ),
    ]
}

#[test]
fn bad_image_files_get_specific_messages() {
    let [good, png, jpeg] = good_images();
    for (name, bytes, message) in bad_images() {
        refused(name, &bytes, message);
    }

    // bit flips: any outcome but a panic, and a decoded image is as large as its header says
    let mut decoded = 0;
    for (kind, file) in [("TIFF", &good), ("PNG", &png), ("JPEG", &jpeg)] {
        for (i, bad) in bit_flipped(file, 60).iter().enumerate() {
            if let Ok(d) = no_panic(&format!("bit-flipped {kind} #{i}"), || decode(bad)) {
                assert_eq!(d.plane.data.len(), d.plane.width * d.plane.height);
                decoded += 1;
            }
        }
    }
    println!("bit-flipped files: {decoded} of 180 still decoded, the rest refused");
}

#[test]
fn tiny_and_odd_but_valid_images_decode_and_segment() {
    let spec = Spec::preset("network2").unwrap();
    let net = Network::new(&spec, 1, &Device::flex());
    for (w, h) in [(1, 1), (1, 9), (7, 1), (2, 2), (31, 31), (33, 5)] {
        let name = format!("{w}x{h} PNG");
        let bytes = encode(
            DynamicImage::ImageLuma16(phase_like(w, h)),
            ImageFormat::Png,
        );
        let plane = no_panic(&name, || cellseg::io::decode::decode_normalised(&bytes))
            .unwrap()
            .0;
        let map = no_panic(&name, || {
            pollster::block_on(cellseg::model::dense::segment(
                &net,
                &plane,
                Rect::new(0, 0, w as usize, h as usize),
                cellseg::model::dense::DEFAULT_MAX_BUFFER,
                &Device::flex(),
                &mut |_, _| {},
            ))
        })
        .unwrap();
        assert_eq!((map.width, map.height), (w as usize, h as usize), "{name}");
        assert!(map.data.iter().all(|p| p.is_finite()), "{name}");
    }
}

#[test]
fn tiff_strip_and_tile_layouts_decode_to_the_same_pixels() {
    let (w, h) = (37u32, 29u32); // not a multiple of any tile or strip
    let pixels: Vec<u16> = phase_like(w, h).into_raw();
    let reference: Vec<f32> = pixels.iter().map(|&v| v as f32 / 65535.0).collect();
    for layout in [
        Layout::Strips { rows: 1 },
        Layout::Strips { rows: 7 },
        Layout::Strips { rows: 29 },
        Layout::Tiles { side: 16 },
        Layout::Tiles { side: 32 },
    ] {
        let bytes = tiff(&[(&pixels, w, h, layout)], None);
        let name = match layout {
            Layout::Strips { rows } => format!("TIFF in strips of {rows} rows"),
            Layout::Tiles { side } => format!("TIFF in {side}x{side} tiles"),
        };
        let d = no_panic(&name, || decode(&bytes)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(d.bits, 16, "{name}");
        assert_eq!(d.plane.data, reference, "{name}");
    }
}

#[test]
fn a_broken_page_is_named_and_the_good_pages_still_load() {
    let pixels: Vec<u16> = phase_like(20, 10).into_raw();
    let mut bytes = tiff(
        &[
            (&pixels, 20, 10, Layout::Strips { rows: 10 }),
            (&pixels, 20, 10, Layout::Strips { rows: 10 }),
        ],
        None,
    );
    // point the second page's strip past the end of the file
    let second = bytes.len() - 4 - 2 - 12 * 9; // its IFD: count, 9 entries, next offset
    for e in 0..9 {
        let at = second + 2 + 12 * e;
        if u16::from_le_bytes([bytes[at], bytes[at + 1]]) == 273 {
            bytes[at + 8..at + 12].copy_from_slice(&10_000_000u32.to_le_bytes());
        }
    }
    let info = no_panic("broken page 2", || probe(&bytes)).unwrap();
    assert_eq!(info.pages, 2);
    let page = |p| {
        no_panic("broken page 2", || {
            decode_with(
                &bytes,
                Options {
                    page: p,
                    channel: Channel::Luminance,
                },
            )
        })
    };
    assert!(page(0).is_ok());
    let err = page(1).err().expect("page 2 is broken").to_string();
    assert!(
        err.starts_with("page 2 of the TIFF could not be read"),
        "{err}"
    );
}

#[test]
fn bad_labels_and_masks_are_refused_with_reasons() {
    let classes = |w: u32, h: u32, f: fn(u32, u32) -> u8| {
        encode(
            DynamicImage::ImageLuma8(ImageBuffer::from_fn(w, h, |x, y| Luma([f(x, y)]))),
            ImageFormat::Png,
        )
    };
    let labels = no_panic("class PNG", || {
        ClassMap::from_class_image(&classes(8, 6, |x, _| (x % 3) as u8))
    })
    .unwrap();
    let err = labels.check_size(9, 6).err().unwrap().to_string();
    assert_eq!(err, "the labels are 8x6 pixels but the image is 9x6");
    let err = no_panic("value 7", || {
        ClassMap::from_class_image(&classes(8, 6, |x, y| if (x, y) == (3, 2) { 7 } else { 0 }))
    })
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains("value 7 at (3, 2)"), "{err}");
    let err = no_panic("text as labels", || ClassMap::from_class_image(b"0,1,2\n"))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("not an image we can read"), "{err}");

    let ones = vec![1u8; 12];
    let zeros = vec![0u8; 12];
    let good = common::npy("|u1", &[3, 4], &ones);
    let z = common::npy("|u1", &[3, 4], &zeros);
    let cases: [(&str, Vec<u8>, &str); 5] = [
        (
            "float masks",
            common::npy("<f4", &[3, 4], &[0; 48]),
            "expected a 2-D uint8 mask",
        ),
        (
            "3-D masks",
            common::npy("|u1", &[3, 2, 2], &ones),
            "expected a 2-D uint8 mask",
        ),
        (
            "truncated masks",
            good[..good.len() - 5].to_vec(),
            "not a readable .npy file",
        ),
        (
            "random bytes",
            b"\x93NUMPY\x01\x00\xff\xff garbage".to_vec(),
            "not a readable .npy file",
        ),
        (
            "wrong size",
            common::npy("|u1", &[4, 4], &[0; 16]),
            "the edges mask is 4x3 pixels but the cells mask is 4x4",
        ),
    ];
    // found by `make fuzz`: deeply nested lists or dicts in the header made npyz's parser take
    // minutes (without the check this test hangs)
    for opener in ["[", "{"] {
        let descr = format!("{}'|u1'", opener.repeat(200));
        let nested = common::npy_with_header(
            &format!("{{'descr': {descr}, 'fortran_order': False, 'shape': (3, 4), }}"),
            &[0; 12],
        );
        let err = no_panic("nested header", || {
            ClassMap::from_npy_masks(&nested, &z, &z)
        })
        .err()
        .unwrap()
        .to_string();
        assert!(
            err.contains("found a header nested too deeply"),
            "{opener}: {err}"
        );
    }
    for (name, bad, message) in cases {
        let err = no_panic(name, || ClassMap::from_npy_masks(&bad, &z, &z))
            .err()
            .unwrap_or_else(|| panic!("{name}: accepted"))
            .to_string();
        assert!(
            err.contains(message),
            "{name}: '{err}' does not say '{message}'"
        );
    }
}

#[test]
fn bad_weights_files_are_refused_with_reasons() {
    let device = Device::flex();
    let spec = Spec::preset("network2").unwrap();
    let good = cellseg::model::weights::to_bytes(&Network::new(&spec, 1, &device)).unwrap();
    let random: Vec<u8> = bit_flipped(&[0u8; 4096], 1)
        .remove(0)
        .iter()
        .enumerate()
        .map(|(i, b)| b ^ (i as u8).wrapping_mul(37))
        .collect();
    let cases: [(&str, Vec<u8>, &str); 4] = [
        ("random bytes", random, "not a cellseg weights file"),
        ("empty", vec![], "not a cellseg weights file"),
        (
            "truncated",
            good[..good.len() / 2].to_vec(),
            "the weights file is damaged",
        ),
        (
            "header only",
            good[..40.min(good.len())].to_vec(),
            "damaged",
        ),
    ];
    for (name, bad, message) in cases {
        let err = no_panic(name, || {
            cellseg::model::weights::from_bytes(&bad, None, &device)
        })
        .err()
        .unwrap_or_else(|| panic!("{name}: accepted"))
        .to_string();
        assert!(
            err.contains(message),
            "{name}: '{err}' does not say '{message}'"
        );
    }
    let other = Spec::preset("original").unwrap();
    let err = cellseg::model::weights::from_bytes(&good, Some(&other), &device)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.starts_with("these weights are for network 'network2'"),
        "{err}"
    );
    for (i, bad) in bit_flipped(&good, 40).iter().enumerate() {
        let _ = no_panic(&format!("bit-flipped weights #{i}"), || {
            cellseg::model::weights::from_bytes(bad, None, &device)
        });
    }
}

#[test]
fn the_cli_refuses_the_same_files_with_the_same_messages() {
    let dir = std::env::temp_dir().join(format!("cellseg-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let models = concat!(env!("CARGO_MANIFEST_DIR"), "/../models/original-1.cellseg");
    let image = dir.join("ok.png");
    std::fs::write(
        &image,
        encode(
            DynamicImage::ImageLuma16(phase_like(40, 30)),
            ImageFormat::Png,
        ),
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_cellseg"))
            .args(args)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.join(name.replace(' ', "_"));
        std::fs::write(&path, bytes).unwrap();
        path.display().to_string()
    };
    let check = |what: &str, (ok, stderr): (bool, String), message: &str| {
        assert!(!ok, "{what}: accepted");
        assert!(
            stderr.contains(message),
            "{what}: '{stderr}' does not say '{message}'"
        );
        assert!(!stderr.contains("panicked"), "{what}: {stderr}");
    };
    for (name, bytes, message) in bad_images() {
        let path = write(name, &bytes);
        check(
            name,
            run(&["segment", "--weights", models, "--image", &path]),
            message,
        );
    }
    let weights = cellseg::model::weights::to_bytes(&Network::new(
        &Spec::preset("network2").unwrap(),
        1,
        &Device::flex(),
    ))
    .unwrap();
    for (name, bytes, message) in [
        (
            "random weights",
            vec![7u8; 300],
            "not a cellseg weights file",
        ),
        (
            "truncated weights",
            weights[..weights.len() / 2].to_vec(),
            "the weights file is damaged",
        ),
    ] {
        let path = write(name, &bytes);
        check(
            name,
            run(&[
                "segment",
                "--weights",
                &path,
                "--image",
                image.to_str().unwrap(),
            ]),
            message,
        );
    }
    let classes = |w: u32, h: u32, v: u8| {
        encode(
            DynamicImage::ImageLuma8(ImageBuffer::from_pixel(w, h, Luma([v]))),
            ImageFormat::Png,
        )
    };
    for (name, bytes, message) in [
        (
            "labels of the wrong size",
            classes(20, 30, 1),
            "the labels are 20x30 pixels but the image is 40x30",
        ),
        (
            "labels with class 7",
            classes(40, 30, 7),
            "has value 7 at (0, 0)",
        ),
        (
            "text as labels",
            b"0,1,2".to_vec(),
            "not an image we can read",
        ),
    ] {
        let path = write(name, &bytes);
        let out = dir.join("w.cellseg").display().to_string();
        check(
            name,
            run(&[
                "train",
                "--image",
                image.to_str().unwrap(),
                "--labels",
                &path,
                "--steps",
                "1",
                "--out",
                &out,
            ]),
            message,
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn limits_are_checked_before_allocating() {
    use cellseg::io::decode::{MAX_FILE_BYTES, check_file_size};
    assert!(check_file_size(MAX_FILE_BYTES).is_ok());
    let err = check_file_size(MAX_FILE_BYTES + 1)
        .err()
        .unwrap()
        .to_string();
    assert_eq!(err, "the file is 513 MiB, over the limit of 512 MiB");
    let err = check_file_size(3 << 30).err().unwrap().to_string();
    assert_eq!(err, "the file is 3072 MiB, over the limit of 512 MiB");
}
