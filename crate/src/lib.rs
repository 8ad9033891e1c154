//! cellseg: cell segmentation of phase-contrast microscopy with the small patch CNNs of
//! J. Levine's 2017 "Segmentation" posts, trained and run natively or in a browser.
//!
//! The flow of data, one module per box:
//!
//! ```text
//! file bytes ─▶ decode ─▶ normalise ─▶ plane ─┬─▶ patch (balanced sampler) ─▶ train ─▶ weights
//! labels (PNG / .npy) ─▶ labels ─────────────┘                                 │
//! spec (list of layers) ─▶ network ◀───────────────────────────────────────────┘
//!                          └▶ dense (dilated twin, tiled; on the CPU as matrix products,
//!                             dense_cpu) ─▶ probability maps
//!                          └▶ naive (patch by patch, for comparison)
//! image + labels ─▶ unet_train (crops, weighted pixels) ─▶ unet (beyond the posts: a U-Net,
//!                        dense by design; on the CPU as matrix products, unet_cpu) ─▶ probability maps
//! probability maps ─▶ post (average nets, median, threshold, whole cells) ─▶ metrics, outline
//! ```
//! `model` holds a network of either kind, so everything from the map on takes both.
//! `pipeline` is that flow end to end for the CLI, the page and the tests: an ensemble at a
//! scale, the map back in the image's pixels, the clean-up at that scale; `batch` runs it over
//! every page of many files, one table of cells and a summary row per page (`hyperstack`
//! says which pages hold which channel).
//! Around it: `comparison` trains several architectures on the same batches (post 3);
//! `scale` resamples an image to the tutorial's cell size and maps back, `width` measures
//! that size from the image itself (scale space, before any cell is found), and
//! `auto_scale` checks it against the cells found there, step by step (the CLI's
//! `--scale auto` and the page's Segment alike); `display` is the
//! display window in file units, and `pixel_size` the µm per pixel a TIFF states; `colony`
//! draws synthetic images with exact labels; `export` writes labels, masks and maps,
//! `measure` each cell's size, shape and intensity (the CSV table), `polygon` each cell's
//! outline along its pixels' edges, and `geojson` and `roi` those outlines with the
//! measurements, as QuPath reads objects and Fiji reads ROI sets; `intensity`, `evaluate` and
//! `unmatched` explain results; `session` packs a whole session (image reference, paint,
//! network, settings) into one file.
//! `backend` picks WebGPU or the CPU at run time; `bench` times the network densely, patch by
//! patch and in training (for the CLI and the page); `web` is the wasm-bindgen surface.

pub mod auto_scale;
pub mod backend;
pub mod batch;
pub mod bench;
pub mod colony;
pub mod comparison;
pub mod decode;
pub mod dense;
pub mod dense_cpu;
pub mod display;
pub mod evaluate;
pub mod export;
pub mod geojson;
pub mod hyperstack;
pub mod intensity;
pub mod labels;
pub mod looks;
pub mod measure;
pub mod metrics;
pub mod mistake;
pub mod model;
pub mod naive;
pub mod network;
pub mod normalise;
pub mod outline;
pub mod patch;
pub mod pipeline;
pub mod pixel_size;
pub mod plane;
pub mod polygon;
pub mod post;
pub mod roi;
pub mod scale;
pub mod session;
pub mod spec;
pub mod tiff_pages;
pub mod train;
pub mod unet;
pub mod unet_cpu;
pub mod unet_train;
pub mod unmatched;
pub mod weights;
pub mod width;

#[cfg(target_arch = "wasm32")]
pub mod web;
