//! Images and labels from files the tests write, and from the real tutorial files.

mod common;

use std::io::Cursor;

use cellseg::io::decode::{DecodeError, decode, decode_normalised};
use cellseg::io::labels::{ClassMap, LabelError};
use image::{DynamicImage, ImageBuffer, ImageFormat, Luma, Rgb};

fn encode(image: DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).unwrap();
    out.into_inner()
}

fn gradient16(w: u32, h: u32) -> ImageBuffer<Luma<u16>, Vec<u16>> {
    ImageBuffer::from_fn(w, h, |x, y| Luma([370 + (x * 97 + y * 13) as u16]))
}

#[test]
fn tiff16_keeps_every_level() {
    let img = gradient16(40, 30);
    let d = decode(&encode(
        DynamicImage::ImageLuma16(img.clone()),
        ImageFormat::Tiff,
    ))
    .unwrap();
    assert_eq!(
        (d.plane.width, d.plane.height, d.bits, d.channels),
        (40, 30, 16, 1)
    );
    for (got, want) in d.plane.data.iter().zip(img.pixels()) {
        assert!((got * 65535.0 - want.0[0] as f32).abs() < 0.01);
    }
}

#[test]
fn png8_png16_and_colour_decode_to_luminance() {
    let img16 = gradient16(20, 10);
    let d = decode(&encode(
        DynamicImage::ImageLuma16(img16.clone()),
        ImageFormat::Png,
    ))
    .unwrap();
    assert_eq!(d.bits, 16);
    assert!((d.plane.at(3, 2) * 65535.0 - img16.get_pixel(3, 2).0[0] as f32).abs() < 0.01);

    let img8: ImageBuffer<Luma<u8>, _> = ImageBuffer::from_fn(20, 10, |x, _| Luma([x as u8 * 10]));
    let d = decode(&encode(DynamicImage::ImageLuma8(img8), ImageFormat::Png)).unwrap();
    assert_eq!(d.bits, 8);
    assert!((d.plane.at(5, 0) - 50.0 / 255.0).abs() < 1e-6);

    // Pure green → Rec. 709 luminance 0.7152.
    let rgb: ImageBuffer<Rgb<u8>, _> = ImageBuffer::from_pixel(8, 8, Rgb([0, 255, 0]));
    let d = decode(&encode(DynamicImage::ImageRgb8(rgb), ImageFormat::Png)).unwrap();
    assert_eq!(d.channels, 3);
    assert!(
        (d.plane.at(4, 4) - 0.7152).abs() < 0.01,
        "{}",
        d.plane.at(4, 4)
    );
}

#[test]
fn jpeg_decodes_close_to_the_original() {
    let img8: ImageBuffer<Luma<u8>, _> =
        ImageBuffer::from_fn(64, 64, |x, y| Luma([(x + y) as u8 * 2]));
    let d = decode(&encode(
        DynamicImage::ImageLuma8(img8.clone()),
        ImageFormat::Jpeg,
    ))
    .unwrap();
    let worst = d
        .plane
        .data
        .iter()
        .zip(img8.pixels())
        .map(|(g, w)| (g * 255.0 - w.0[0] as f32).abs())
        .fold(0.0, f32::max);
    assert!(worst < 8.0, "JPEG error {worst}");
}

#[test]
fn bad_files_get_clear_errors() {
    assert!(matches!(
        decode(b"hello, this is text"),
        Err(DecodeError::UnknownFormat)
    ));
    let png = encode(
        DynamicImage::ImageLuma16(gradient16(50, 50)),
        ImageFormat::Png,
    );
    let err = decode(&png[..png.len() / 2])
        .err()
        .expect("truncated PNG must fail");
    assert!(matches!(err, DecodeError::Corrupt(_)), "{err}");
}

#[test]
fn normalisation_is_independent_of_bit_depth() {
    let img16 = gradient16(30, 30);
    let img8: ImageBuffer<Luma<u8>, _> =
        ImageBuffer::from_fn(30, 30, |x, y| Luma([((370 + x * 97 + y * 13) / 16) as u8]));
    let (a, _) =
        decode_normalised(&encode(DynamicImage::ImageLuma16(img16), ImageFormat::Tiff)).unwrap();
    let (b, _) =
        decode_normalised(&encode(DynamicImage::ImageLuma8(img8), ImageFormat::Png)).unwrap();
    let worst = a
        .data
        .iter()
        .zip(&b.data)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max);
    assert!(worst < 0.02, "{worst}");
}

#[test]
fn class_png_labels_and_their_errors() {
    let img: ImageBuffer<Luma<u8>, _> =
        ImageBuffer::from_fn(6, 4, |x, y| Luma([((x + y) % 3) as u8]));
    let labels =
        ClassMap::from_class_image(&encode(DynamicImage::ImageLuma8(img), ImageFormat::Png))
            .unwrap();
    assert_eq!((labels.width, labels.height), (6, 4));
    assert_eq!(labels.at(2, 1), 0);
    assert_eq!(labels.at(1, 0), 1);
    assert_eq!(labels.counts().iter().sum::<usize>(), 24);
    let err = labels.check_size(7, 4).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the labels are 6x4 pixels but the image is 7x4"
    );

    let bad: ImageBuffer<Luma<u8>, _> =
        ImageBuffer::from_fn(3, 3, |x, _| Luma([if x == 2 { 255 } else { 1 }]));
    let err = ClassMap::from_class_image(&encode(DynamicImage::ImageLuma8(bad), ImageFormat::Png))
        .unwrap_err();
    assert!(
        matches!(
            err,
            LabelError::BadClass {
                value: 255,
                x: 2,
                y: 0
            }
        ),
        "{err}"
    );
}

/// A .npy file written by hand from the format description (so the parser is checked
/// against the format, not against itself).

#[test]
fn npy_masks_make_a_class_map() {
    // 2x3: cell, edge, other / other, cell, edge
    let cells = common::npy("|u1", &[2, 3], &[255, 0, 0, 0, 255, 0]);
    let edges = common::npy("|u1", &[2, 3], &[0, 255, 0, 0, 0, 255]);
    let other = common::npy("|u1", &[2, 3], &[0, 0, 255, 255, 0, 0]);
    let labels = ClassMap::from_npy_masks(&cells, &edges, &other).unwrap();
    assert_eq!((labels.width, labels.height), (3, 2));
    assert_eq!(labels.classes, [1, 2, 0, 0, 1, 2]);

    let wrong_shape = common::npy("|u1", &[3, 2], &[0; 6]);
    let err = ClassMap::from_npy_masks(&cells, &wrong_shape, &other).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the edges mask is 2x3 pixels but the cells mask is 3x2"
    );
    let float = common::npy("<f4", &[2, 3], &[0; 24]);
    let err = ClassMap::from_npy_masks(&float, &edges, &other).unwrap_err();
    assert!(err.to_string().contains("uint8"), "{err}");
    let err = ClassMap::from_npy_masks(b"not numpy", &edges, &other).unwrap_err();
    assert!(matches!(err, LabelError::Npy { .. }), "{err}");
}

#[test]
fn tutorial_npy_masks_equal_the_class_png() {
    let m = |name: &str| common::read(&format!("upstream/Masks/image_027_mask_{name}.npy"));
    let from_npy = ClassMap::from_npy_masks(&m("cells"), &m("edges"), &m("other")).unwrap();
    let from_png = ClassMap::from_class_image(&common::read("phase_027_classes.png")).unwrap();
    assert_eq!((from_npy.width, from_npy.height), (1392, 1040));
    assert!(from_npy == from_png, "the two label sources disagree");
    let (image, _) = decode_normalised(&common::read("upstream/Images/phase_027.tif")).unwrap();
    from_npy.check_size(image.width, image.height).unwrap();
}

#[test]
fn tutorial_instances_are_the_cell_pixels() {
    let (w, h, ids) =
        cellseg::io::labels::instances_from_image(&common::read("phase_027_cells_instances.png"))
            .unwrap();
    assert_eq!((w, h), (1392, 1040));
    assert_eq!(ids.iter().max(), Some(&801));
    let classes = ClassMap::from_class_image(&common::read("phase_027_classes.png")).unwrap();
    assert!(
        ids.iter()
            .zip(&classes.classes)
            .all(|(&id, &c)| (id != 0) == (c == 1))
    );
}

/// The scale's reference: phase_027's labelled cells are as long as `TUTORIAL_CELL_LENGTH`.
#[test]
fn tutorial_cell_length_is_phase_027s() {
    let (_, labels) = common::training_image();
    let len = cellseg::scale::typical_length(&labels.cells()).unwrap();
    println!("phase_027: median labelled cell length {len:.1} px");
    let reference = cellseg::scale::TUTORIAL_CELL_LENGTH;
    assert!((len / reference - 1.0).abs() < 0.05, "{len} vs {reference}");
}

/// A two-page 16-bit TIFF, written with the `tiff` crate's encoder.
fn two_page_tiff() -> Vec<u8> {
    use tiff::encoder::{TiffEncoder, colortype::Gray16};
    let mut out = Cursor::new(Vec::new());
    let mut encoder = TiffEncoder::new(&mut out).unwrap();
    let first: Vec<u16> = (0..12 * 8).map(|i| 1000 + i as u16).collect();
    let second: Vec<u16> = (0..10 * 6).map(|i| 60000 - 100 * i as u16).collect();
    encoder.write_image::<Gray16>(12, 8, &first).unwrap();
    encoder.write_image::<Gray16>(10, 6, &second).unwrap();
    out.into_inner()
}

#[test]
fn multi_page_tiff_pages_are_counted_and_each_decodes() {
    use cellseg::io::decode::{Channel, Options, decode_with, probe};
    let bytes = two_page_tiff();
    let info = probe(&bytes).unwrap();
    assert_eq!(
        (info.width, info.height, info.pages, info.bits),
        (12, 8, 2, 16)
    );
    let page = |page| {
        decode_with(
            &bytes,
            Options {
                page,
                channel: Channel::Luminance,
            },
        )
    };
    let first = page(0).unwrap();
    assert_eq!(
        (first.plane.width, first.plane.at(1, 0) * 65535.0),
        (12, 1001.0)
    );
    let second = page(1).unwrap();
    assert_eq!(
        (second.plane.width, second.plane.height, second.bits),
        (10, 6, 16)
    );
    assert!((second.plane.at(1, 0) * 65535.0 - 59900.0).abs() < 0.01);
    let err = page(2).err().unwrap();
    assert!(
        matches!(err, DecodeError::NoPage { page: 3, pages: 2 }),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "page 3 was asked for, but the file has 2 page(s)"
    );
    let png = encode(
        DynamicImage::ImageLuma16(gradient16(4, 4)),
        ImageFormat::Png,
    );
    assert!(matches!(
        decode_with(
            &png,
            Options {
                page: 1,
                channel: Channel::Luminance
            }
        ),
        Err(DecodeError::NoPage { pages: 1, .. })
    ));
}

#[test]
fn a_colour_channel_can_be_chosen_instead_of_luminance() {
    use cellseg::io::decode::{Channel, Options, decode_with, probe};
    let rgb = ImageBuffer::from_fn(4, 2, |x, _| Rgb([200u8, 10 * x as u8, 50]));
    let bytes = encode(DynamicImage::ImageRgb8(rgb), ImageFormat::Png);
    assert_eq!(probe(&bytes).unwrap().channels, 3);
    let channel = |c| {
        decode_with(
            &bytes,
            Options {
                page: 0,
                channel: c,
            },
        )
        .unwrap()
        .plane
    };
    assert!((channel(Channel::Index(0)).at(3, 1) - 200.0 / 255.0).abs() < 1e-6);
    assert!((channel(Channel::Index(1)).at(3, 1) - 30.0 / 255.0).abs() < 1e-6);
    assert!((channel(Channel::Index(2)).at(0, 0) - 50.0 / 255.0).abs() < 1e-6);
    // luminance: Rec. 709 weights
    let luma = channel(Channel::Luminance).at(0, 0);
    let expected = (0.2126 * 200.0 + 0.0722 * 50.0) / 255.0;
    assert!((luma - expected).abs() < 0.01, "{luma} vs {expected}");
    let err = decode_with(
        &bytes,
        Options {
            page: 0,
            channel: Channel::Index(3),
        },
    )
    .err()
    .unwrap();
    assert!(
        matches!(err, DecodeError::NoChannel { channel: 3, .. }),
        "{err}"
    );
}
