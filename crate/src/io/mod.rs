//! Files in and out: decoding every image a microscope writes (TIFF pages, samples and
//! channels, hyperstacks, the pixel size), normalising it for the networks, the display
//! window, labels, and what goes back out (label images, maps, weights, GeoJSON, ROI sets,
//! sessions).

pub mod decode;
pub mod display;
pub mod export;
pub mod hyperstack;
pub mod labels;
pub mod normalise;
pub mod pixel_size;
pub mod session_file;
pub mod tiff_pages;
