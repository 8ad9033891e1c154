//! cellseg: cell segmentation of phase-contrast microscopy with the small patch CNNs of
//! J. Levine's 2017 "Segmentation" posts, trained and run natively or in a browser.
//!
//! The crate is laid out as the pipeline runs, a folder per stage. Each depends only on the
//! ones listed above it (tests aside), so a change to a stage touches that folder and what
//! sits on top:
//!
//! ```text
//! core/    the shared types: plane (the image, crops), probability (the networks' answer
//!          per pixel), cells (labelled regions, region growing), classes (other/cell/edge)
//! io/      files in: decode (tiff_pages, hyperstack, pixel_size, packed) ─▶ padding ─▶
//!          normalise; labels (PNG, .npy); display (the display window in file units);
//!          export (label images, maps), session_file (a whole session in one file)
//! scale/   mod.rs (resample to the tutorial's cell size and back), width (that size
//!          measured from the image, scale space), ridges (its ridge centres' votes, for
//!          sparse fields), edges (how sharp the cells' edges are: the optics' scale),
//!          auto_scale (checked against the cells found)
//! model/   spec (list of layers) ─▶ network ─▶ dense (the dilated twin, tiled; dense_cpu on
//!          the CPU as matrix products) ─▶ probability maps; naive (patch by patch, post 4's
//!          slow way); unet, unet_cpu (beyond the posts: the default); backend (WebGPU or the
//!          CPU, chosen at run time); weights (the file format); mod.rs: either kind (Model)
//! train/   patch (balanced sampler), looks (other microscopes' looks) ─▶ mod.rs (Trainer,
//!          Adam) ─▶ weights; unet_train (crops, weighted pixels); comparison (post 3:
//!          architectures on the same batches); mistake (the mistake rate)
//! post/    mod.rs (average nets, median, threshold, cells, rims, the contrast check), halo
//!          (do the cells found have phase contrast's halos?) ─▶
//!          measure (the CSV table), polygon (outlines) ─▶ geojson, roi (QuPath, Fiji);
//!          outline (pictures)
//! eval/    metrics (one-to-one matching, F1, AP), evaluate (held-out reports), unmatched
//! teach/   colony (synthetic images with exact labels), intensity (histograms per class)
//! ```
//! On top: `pipeline` is the flow end to end for the CLI, the page and the tests (an
//! ensemble at a scale, the map back in the image's pixels, the clean-up at that scale);
//! `batch` runs it over every page of many files (one table of cells, a summary row per
//! page); `bench` times the network densely, patch by patch and in training; `web` is the
//! wasm-bindgen surface over a `session` (the page's state in one place: image, labels,
//! paint, networks, the run in progress, the last result), its messages typed in `api`
//! (what the worker sends and gets back, as serde structs), and `src/bin/cellseg/` the CLI
//! (a file per command).

pub mod api;
pub mod batch;
pub mod bench;
pub mod core;
pub mod eval;
pub mod io;
pub mod model;
pub mod pipeline;
pub mod post;
pub mod scale;
pub mod session;
pub mod teach;
pub mod train;

#[cfg(target_arch = "wasm32")]
pub mod web;
