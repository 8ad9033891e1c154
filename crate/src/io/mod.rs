//! Files in and out: decoding every image a microscope writes (TIFF pages, samples and
//! channels, hyperstacks, the pixel size), normalising it for the networks, the display
//! window, labels, and what goes back out as images and sessions (label images, masks,
//! maps, session files). Weights are the model's own format (`model::weights`); outlines
//! with their measurements are the clean-up's (`post::geojson`, `post::roi`).

pub mod decode;
pub mod denoise;
pub mod display;
pub mod export;
pub mod field_stop;
pub mod hyperstack;
pub mod labels;
pub mod light;
pub mod marks;
pub mod normalise;
pub mod packed;
pub mod padding;
pub mod pixel_size;
pub mod session_file;
pub mod tiff_pages;
