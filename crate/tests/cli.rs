//! The command line end to end on small crops of the real image: train a few steps, segment,
//! evaluate with --json, and refuse bad input with a message.

mod common;

use std::path::PathBuf;
use std::process::Command;

fn cellseg(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_cellseg"))
        .args(args)
        .output()
        .expect("runs")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cellseg-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn data(name: &str) -> String {
    common::data_dir().join(name).display().to_string()
}

#[test]
fn train_segment_eval_on_small_crops() {
    let dir = scratch("e2e");
    let (image, labels) = (
        data("upstream/Images/phase_027.tif"),
        data("phase_027_classes.png"),
    );
    let w = dir.join("w.cellseg").display().to_string();
    let curve = dir.join("curve.csv").display().to_string();
    let out = cellseg(&[
        "train",
        "--image",
        &image,
        "--labels",
        &labels,
        "--steps",
        "4",
        "--batch",
        "6",
        "--eval-every",
        "2",
        "--region",
        "100,100,400,400",
        "--heldout",
        "928,100,1200,400",
        "--curve",
        &curve,
        "--out",
        &w,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = std::fs::read_to_string(&curve).unwrap();
    assert_eq!(csv.lines().count(), 5, "{csv}");
    assert!(
        csv.lines()
            .nth(2)
            .unwrap()
            .split(',')
            .nth(3)
            .unwrap()
            .parse::<f32>()
            .is_ok(),
        "held-out at step 2"
    );

    // f16 storage: half the bytes, and it loads like any weights file
    let half = dir.join("w16.cellseg").display().to_string();
    let out = cellseg(&["convert", "--weights", &w, "--out", &half]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let size = |p: &str| std::fs::metadata(p).unwrap().len() as f64;
    assert!((0.45..0.55).contains(&(size(&half) / size(&w))));

    let (mask, ids, prob) = (dir.join("m.png"), dir.join("l.png"), dir.join("p.tif"));
    let (overlay, table) = (dir.join("o.png"), dir.join("cells.csv"));
    let out = cellseg(&[
        "segment",
        "--weights",
        &format!("{w},{half}"),
        "--out-overlay",
        overlay.to_str().unwrap(),
        "--zoom",
        "2",
        "--compare",
        &data("phase_027_cells_instances.png"),
        "--sizes-vs",
        &data("phase_027_cells_instances.png"),
        // a 4-step network is unsure everywhere: threshold 0 makes the crop one big cell,
        // so there are sizes to compare
        "--threshold",
        "0",
        "--image",
        &image,
        "--region",
        "978,600,1038,640",
        "--out-mask",
        mask.to_str().unwrap(),
        "--out-labels",
        ids.to_str().unwrap(),
        "--out-prob",
        prob.to_str().unwrap(),
        "--out-cells",
        table.to_str().unwrap(),
        "--pixel-size",
        "0.1",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("cells; median area"), "{stdout}");
    assert!(
        stdout.contains("(801 cells, median 377 px): KS D = "),
        "{stdout}"
    );
    let o = image::open(&overlay).unwrap();
    assert_eq!((o.width(), o.height()), (120, 80), "zoomed twice");
    assert_eq!(o.color(), image::ColorType::Rgb8);
    let m = image::open(&mask).unwrap();
    assert_eq!((m.width(), m.height()), (60, 40));
    assert_eq!(image::open(&ids).unwrap().color(), image::ColorType::L16);
    assert_eq!(image::open(&prob).unwrap().color(), image::ColorType::L16);
    // the measurements: one row per cell, in image pixels, µm where the pixel size is given,
    // intensities in the file's 16-bit units
    let found: usize = stdout
        .split(" cells")
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let csv = std::fs::read_to_string(&table).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(
        header,
        cellseg::post::measure::HEADER
            .split(',')
            .collect::<Vec<_>>()
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), found, "{csv}");
    assert!(found >= 1);
    let col = |row: &[&str], name: &str| -> f64 {
        row[header.iter().position(|h| *h == name).unwrap()]
            .parse()
            .unwrap()
    };
    for row in &rows {
        assert_eq!(row[0], "phase_027.tif");
        let area = col(row, "area_px");
        assert!((col(row, "area_um2") - area * 0.01).abs() < 1e-3, "{row:?}");
        assert!(
            col(row, "bbox_x0") >= 978.0 && col(row, "bbox_x1") <= 1038.0,
            "{row:?}"
        );
        assert!(
            col(row, "bbox_y0") >= 600.0 && col(row, "bbox_y1") <= 640.0,
            "{row:?}"
        );
        assert!(
            col(row, "mean_intensity") > 255.0,
            "file units, not fractions: {row:?}"
        );
        assert!(col(row, "length_px") >= col(row, "width_px"));
    }

    let out = cellseg(&[
        "eval",
        "--weights",
        &w,
        "--image",
        &image,
        "--labels",
        &labels,
        "--instances",
        &data("phase_027_cells_instances.png"),
        "--region",
        "978,600,1078,700",
        "--threshold",
        "0.7,0.9",
        "--grow-to",
        "0.5",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // one row per setting in the grid and kind of cell (cores, whole cells), each naming both
    assert_eq!(json.as_array().unwrap().len(), 4);
    assert_eq!(json[2]["post"]["threshold"].as_f64().unwrap() as f32, 0.9);
    assert_eq!(json[2]["post"]["grow_to"].as_f64().unwrap() as f32, 0.5);
    assert_eq!(json[2]["cells"], "core");
    assert_eq!(json[2]["post"]["rim"], 0, "cores have no rim");
    assert_eq!(json[3]["cells"], "whole");
    assert_eq!(json[3]["post"]["rim"], 3);
    let report = &json[0]["report"];
    let unmatched = &report["unmatched"];
    for key in ["missed", "merged", "split", "misshaped", "spurious"] {
        assert!(unmatched[key].is_u64(), "{key} missing: {unmatched}");
    }
    assert_eq!(json[0]["region"], serde_json::json!([978, 600, 1078, 700]));
    assert!(report["cells_true"].as_u64().unwrap() > 5, "{report}");
    for key in ["pixel_accuracy", "class_iou", "cells_predicted", "objects"] {
        assert!(!report[key].is_null(), "{key} missing: {report}");
    }
    let objects = report["objects"].as_array().unwrap();
    assert_eq!(
        objects
            .iter()
            .map(|o| o["tau"].as_f64().unwrap())
            .collect::<Vec<_>>(),
        [0.5, 0.75, 0.9]
    );
    for o in objects {
        for key in ["precision", "recall", "f1", "ap", "mean_matched_iou"] {
            let v = o[key].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&v), "{key} = {v}");
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_input_gets_a_message_not_a_panic() {
    let dir = scratch("bad");
    let text = dir.join("notes.tif");
    std::fs::write(&text, "not an image").unwrap();
    let out = cellseg(&[
        "segment",
        "--weights",
        text.to_str().unwrap(),
        "--image",
        &data("upstream/Images/phase_027.tif"),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a cellseg weights file"));
    let out = cellseg(&[
        "train",
        "--image",
        text.to_str().unwrap(),
        "--labels",
        "x.png",
        "--out",
        "w",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an image we can read"));
    let out = cellseg(&[
        "eval",
        "--weights",
        "w",
        "--image",
        "i",
        "--labels",
        "l",
        "--region",
        "5,5,1,1",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("X0 < X1"));
    // the debris and lone cells of the U-Net's crops are not the posts' patches: refused
    let out = cellseg(&[
        "train",
        "--image",
        &data("upstream/Images/phase_027.tif"),
        "--labels",
        &data("phase_027_classes.png"),
        "--arch",
        "original",
        "--debris",
        "--out",
        dir.join("w").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("are for the U-Net"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn segment_measures_the_scale_when_asked_and_refuses_a_bad_one() {
    let dir = scratch("scale");
    let image = dir.join("colony.png");
    let out = cellseg(&[
        "colony",
        "--width",
        "240",
        "--height",
        "200",
        "--out-image",
        image.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let weights = format!(
        "{}/../models/original-1.cellseg",
        env!("CARGO_MANIFEST_DIR")
    );
    let segment = |scale: &str| {
        cellseg(&[
            "segment",
            "--weights",
            &weights,
            "--image",
            image.to_str().unwrap(),
            "--scale",
            scale,
        ])
    };
    let out = segment("auto");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("measured from the image"), "{said}");
    assert!(String::from_utf8_lossy(&out.stdout).contains(" cells; median area "));
    for bad in ["big", "0", "9"] {
        let out = segment(bad);
        assert!(!out.status.success());
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(
            said.contains("auto") || said.contains("outside"),
            "{bad}: {said}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn colony_draws_other_magnifications_and_sparse_fields_for_the_scale_to_find() {
    let dir = scratch("colony-look");
    let image = dir.join("big.png");
    let draw = |extra: &[&str]| {
        let mut args = vec!["colony", "--width", "320", "--height", "240"];
        args.extend_from_slice(extra);
        args.extend(["--out-image", image.to_str().unwrap()]);
        cellseg(&args)
    };
    // cells twice the tutorial's size, a sparse field with specks of debris
    let out = draw(&[
        "--size", "2", "--fill", "0.5", "--debris", "20", "--seed", "3",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let weights = format!("{}/../models/unet-2.cellseg", env!("CARGO_MANIFEST_DIR"));
    let out = cellseg(&[
        "segment",
        "--weights",
        &weights,
        "--image",
        image.to_str().unwrap(),
        "--scale",
        "auto",
    ]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    // the scale the search ended at: the last "×F" it names
    let last = said
        .rsplit("scale ×")
        .next()
        .and_then(|tail| {
            tail.split(|c: char| !(c.is_ascii_digit() || c == '.'))
                .next()
        })
        .and_then(|f| f.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no scale in {said}"));
    assert!(
        (0.4..0.65).contains(&last),
        "cells ×2 want about ×0.5: {said}"
    );
    for (flag, bad) in [("--size", "9"), ("--fill", "1.5"), ("--noise", "20")] {
        let out = draw(&[flag, bad]);
        assert!(!out.status.success());
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(
            said.contains("outside") || said.contains("invalid"),
            "{flag} {bad}: {said}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn colony_writes_its_whole_cells_to_score_against() {
    let dir = scratch("colony-cells");
    let (image, classes, cells) = (
        dir.join("c.png"),
        dir.join("c-classes.png"),
        dir.join("c-cells.tif"),
    );
    // cocci in chains: touching cells, kept apart by the edge between them
    let out = cellseg(&[
        "colony",
        "--width",
        "200",
        "--height",
        "160",
        "--length",
        "0",
        "--out-image",
        image.to_str().unwrap(),
        "--out-labels",
        classes.to_str().unwrap(),
        "--out-cells",
        cells.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let classes = image::open(&classes).unwrap().into_luma8().into_raw();
    let ids = image::open(&cells).unwrap().into_luma16().into_raw();
    // every cell pixel and no background pixel is in a cell; the edges lie in one or another
    for (&class, &id) in classes.iter().zip(&ids) {
        match class {
            0 => assert_eq!(id, 0),
            1 => assert_ne!(id, 0),
            _ => {}
        }
    }
    let edge_in_cells = (classes.iter().zip(&ids)).filter(|&(&c, &id)| c == 2 && id != 0);
    assert!(edge_in_cells.count() * 10 > classes.iter().filter(|&&c| c == 2).count() * 9);
    // one cell per core: as many as the cell class has components, each holding one
    let map = cellseg::io::labels::ClassMap {
        width: 200,
        height: 160,
        classes,
    };
    let cores = map.cells();
    let mut distinct: Vec<u16> = ids.iter().copied().filter(|&id| id != 0).collect();
    distinct.sort_unstable();
    distinct.dedup();
    assert!(cores.count() > 20, "{}", cores.count());
    assert_eq!(distinct.len(), cores.count());
    let mut cell_of_core = std::collections::HashMap::new();
    for (&core, &id) in cores.labels.iter().zip(&ids) {
        if core != 0 {
            assert_eq!(*cell_of_core.entry(core).or_insert(id), id, "a core split");
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// A 16-bit crop of phase_027 as raw pixels.
fn crop16(x0: usize, y0: usize, w: usize, h: usize) -> Vec<u16> {
    let bytes = std::fs::read(data("upstream/Images/phase_027.tif")).unwrap();
    let image = image::load_from_memory(&bytes).unwrap().into_luma16();
    let mut out = Vec::with_capacity(w * h);
    for y in y0..y0 + h {
        for x in x0..x0 + w {
            out.push(image.get_pixel(x as u32, y as u32)[0]);
        }
    }
    out
}

#[test]
fn a_folder_and_a_stack_segment_page_by_page_and_a_bad_file_does_not_stop_them() {
    use tiff::encoder::{TiffEncoder, colortype};
    let dir = scratch("batch");
    let (inputs, out_dir) = (dir.join("in"), dir.join("out"));
    std::fs::create_dir_all(&inputs).unwrap();
    let (w, h) = (160, 120);
    image::ImageBuffer::<image::Luma<u16>, _>::from_raw(
        w as u32,
        h as u32,
        crop16(1000, 600, w, h),
    )
    .unwrap()
    .save(inputs.join("one.png"))
    .unwrap();
    // the stack as Fiji saves one: its description and 10 pixels a micron
    let mut stack = std::io::Cursor::new(Vec::new());
    let mut encoder = TiffEncoder::new(&mut stack).unwrap();
    for (k, (x, y)) in [(1100, 420), (1160, 460)].into_iter().enumerate() {
        let mut page = encoder
            .new_image::<colortype::Gray16>(w as u32, h as u32)
            .unwrap();
        if k == 0 {
            let fiji = "ImageJ=1.54f\nimages=2\nslices=2\nunit=micron\nloop=false\n";
            page.encoder()
                .write_tag(tiff::tags::Tag::ImageDescription, fiji)
                .unwrap();
        }
        let per_micron = tiff::encoder::Rational { n: 10, d: 1 };
        page.resolution(tiff::tags::ResolutionUnit::None, per_micron);
        page.write_data(&crop16(x, y, w, h)).unwrap();
    }
    std::fs::write(inputs.join("stack.tif"), stack.into_inner()).unwrap();
    std::fs::write(inputs.join("broken.png"), b"\x89PNG but not really").unwrap();

    let out = cellseg(&[
        "segment",
        "--weights",
        &format!("{}/../models/looks-1.cellseg", env!("CARGO_MANIFEST_DIR")),
        "--scale",
        "1",
        "--image",
        inputs.to_str().unwrap(),
        "--out-dir",
        out_dir.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a failed file fails the run");
    assert!(stderr.contains("1 failed: broken.png"), "{stderr}");
    let summary = std::fs::read_to_string(out_dir.join("summary.csv")).unwrap();
    let rows: Vec<Vec<&str>> = summary
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(
        rows.iter().map(|r| (r[0], r[1])).collect::<Vec<_>>(),
        [
            ("broken.png", ""),
            ("one.png", "1"),
            ("stack.tif", "1"),
            ("stack.tif", "2")
        ],
        "{summary}"
    );
    assert!(
        rows[0][6].starts_with("\"failed: this file is not an image"),
        "{summary}"
    );
    let found: usize = rows[1..]
        .iter()
        .map(|r| r[2].parse::<usize>().unwrap())
        .sum();
    assert!(
        rows[1..]
            .iter()
            .all(|r| r[2].parse::<usize>().unwrap() > 0 && r[6] == "ok"),
        "{summary}"
    );
    // the stack's pixel size, from its metadata, and none for the PNG
    let sizes: Vec<&str> = rows[1..].iter().map(|r| r[5]).collect();
    assert_eq!(sizes, ["", "0.1", "0.1"], "{summary}");
    // every cell of every page in one table, and a 16-bit label image per page
    let cells = std::fs::read_to_string(out_dir.join("cells.csv")).unwrap();
    assert_eq!(cells.lines().count(), found + 1);
    assert!(
        cells
            .lines()
            .skip(1)
            .any(|l| l.starts_with("stack.tif,2,1,"))
    );
    let header: Vec<&str> = cells.lines().next().unwrap().split(',').collect();
    let area_um = header.iter().position(|c| *c == "area_um2").unwrap();
    for line in cells.lines().skip(1) {
        let (file, fields): (&str, Vec<&str>) =
            (line.split(',').next().unwrap(), line.split(',').collect());
        let area: f64 = fields[3].parse().unwrap();
        if file == "stack.tif" {
            let um2: f64 = fields[area_um].parse().unwrap();
            assert!((um2 - area * 0.01).abs() < 1e-3, "{line}");
        } else {
            assert_eq!(fields[area_um], "", "{line}");
        }
    }
    for (name, row) in [
        ("one", &rows[1]),
        ("stack-p1", &rows[2]),
        ("stack-p2", &rows[3]),
    ] {
        let labels = image::open(out_dir.join(format!("{name}-labels.tif"))).unwrap();
        assert_eq!(labels.color(), image::ColorType::L16, "{name}");
        assert_eq!((labels.width(), labels.height()), (w as u32, h as u32));
        // and an ROI set with one ROI per cell
        let zip = std::fs::File::open(out_dir.join(format!("{name}-rois.zip"))).unwrap();
        let rois = zip::ZipArchive::new(zip).unwrap();
        assert_eq!(rois.len().to_string(), row[2], "{name}");
    }
    // the outlines, as an independent reader (georust's geojson) sees them: a polygon per
    // cell, closed, inside the image, enclosing about the cell's area
    let text = std::fs::read_to_string(out_dir.join("one-cells.geojson")).unwrap();
    let geojson::GeoJson::FeatureCollection(collection) = text.parse().unwrap() else {
        panic!("not a FeatureCollection: {text}")
    };
    assert_eq!(
        collection.features.len().to_string(),
        rows[1][2],
        "one feature per cell"
    );
    let mut exact = 0;
    for feature in &collection.features {
        let Some(geojson::Value::Polygon(rings)) = feature.geometry.as_ref().map(|g| &g.value)
        else {
            panic!("not a polygon: {feature:?}")
        };
        let ring = &rings[0];
        assert_eq!(ring.first(), ring.last(), "closed");
        assert!(
            ring.iter()
                .all(|p| (0.0..=w as f64).contains(&p[0]) && (0.0..=h as f64).contains(&p[1]))
        );
        let twice: f64 = ring
            .windows(2)
            .map(|e| e[0][0] * e[1][1] - e[1][0] * e[0][1])
            .sum();
        let props = feature.properties.as_ref().unwrap();
        assert_eq!(props["objectType"], "detection");
        let area = props["measurements"]["Area px"].as_f64().unwrap();
        // along the pixels' edges: the outline holds the cell's pixels (and any hole)
        let inside = twice.abs() / 2.0;
        assert!(
            inside >= area && inside <= 1.1 * area,
            "outline {inside} px² for {area} px"
        );
        exact += usize::from(inside == area);
    }
    // cells without holes (nearly all) are exactly their pixel count
    assert!(
        10 * exact >= 9 * collection.features.len(),
        "{exact} of {} outlines exact",
        collection.features.len()
    );
    // single-image outputs are refused with several images
    let out = cellseg(&[
        "segment",
        "--weights",
        &format!("{}/../models/looks-1.cellseg", env!("CARGO_MANIFEST_DIR")),
        "--image",
        inputs.join("one.png").to_str().unwrap(),
        inputs.join("stack.tif").to_str().unwrap(),
        "--out-mask",
        "m.png",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("several images need --out-dir"));
    std::fs::remove_dir_all(&dir).ok();
}
