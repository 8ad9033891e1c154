//! Which pages of a stack hold which channel. ImageJ hyperstacks (`channels=` in the
//! description, pages in channel, slice, frame order) and OME-TIFF (`SizeC` and
//! `DimensionOrder` of its `Pixels`) store each channel of a multi-channel time-lapse as pages
//! of their own, phase contrast beside fluorescence. Segmenting every page as phase contrast
//! would segment the fluorescence too, and silently; so a stack's pages are picked by channel,
//! and a file of several channels with none picked is refused with what to pick.

use std::io::Cursor;

use tiff::decoder::Decoder;
use tiff::tags::Tag;

use crate::io::pixel_size::attribute;
use crate::io::tiff_pages::is_tiff;

/// How a file's pages hold channels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Layout {
    /// Channels stored as pages of their own (1: none; channels within a page, such as RGB,
    /// are picked from each page instead).
    pub channels: usize,
    /// How many pages apart one channel's page is from the next channel's.
    stride: usize,
    /// Where the layout was read: "ImageJ" or "OME".
    pub source: &'static str,
}

impl Layout {
    /// Every page is its own image.
    pub const PLAIN: Layout = Layout {
        channels: 1,
        stride: 1,
        source: "",
    };

    /// The pages (from 0) of channel `channel`, of `pages` in all.
    pub fn pages_of(&self, channel: usize, pages: usize) -> Vec<usize> {
        (0..pages)
            .filter(|p| (p / self.stride) % self.channels == channel)
            .collect()
    }
}

/// The layout of the `pages` pages of `bytes`, as its first page's description states it
/// ([`Layout::PLAIN`] for anything else, or where the counts do not add up to the pages).
pub fn layout(bytes: &[u8], pages: usize) -> Layout {
    if !is_tiff(bytes) {
        return Layout::PLAIN;
    }
    let description = Decoder::new(Cursor::new(bytes))
        .ok()
        .and_then(|mut d| d.get_tag_ascii_string(Tag::ImageDescription).ok());
    description
        .and_then(|d| of_description(&d, pages))
        .unwrap_or(Layout::PLAIN)
}

/// The layout a description states, if it states one that fits `pages` pages.
fn of_description(description: &str, pages: usize) -> Option<Layout> {
    let (channels, stride, source) = if description.contains("<OME") {
        let pixels = &description[description.find("<Pixels")?..];
        let element = &pixels[..pixels.find('>')?];
        let size = |name| -> Option<usize> { attribute(element, name)?.parse().ok() };
        let (c, z, t) = (size("SizeC")?, size("SizeZ")?, size("SizeT")?);
        // channels within each page (RGB): the pages are only z and t
        if c * z * t != pages {
            return None;
        }
        // DimensionOrder lists the fastest-changing dimension first, after X and Y
        let order = attribute(element, "DimensionOrder").unwrap_or("XYZCT");
        let faster = order.get(2..)?.chars().take_while(|&d| d != 'C');
        let stride = faster
            .map(|d| match d {
                'Z' => z,
                'T' => t,
                _ => 1,
            })
            .product();
        (c, stride, "OME")
    } else if description.starts_with("ImageJ=") {
        let value = |key: &str| -> Option<usize> {
            description
                .lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))?
                .trim()
                .parse()
                .ok()
        };
        let c = value("channels")?;
        if !pages.is_multiple_of(c) {
            return None;
        }
        (c, 1, "ImageJ")
    } else {
        return None;
    };
    (channels > 1).then_some(Layout {
        channels,
        stride,
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imagej_hyperstacks_interleave_channels() {
        let d = "ImageJ=1.54f\nimages=6\nchannels=2\nframes=3\nhyperstack=true\nmode=composite\n";
        let layout = of_description(d, 6).unwrap();
        assert_eq!((layout.channels, layout.source), (2, "ImageJ"));
        assert_eq!(layout.pages_of(0, 6), [0, 2, 4]);
        assert_eq!(layout.pages_of(1, 6), [1, 3, 5]);
        // a plain stack, or counts that do not fit the pages, are pages of their own
        assert_eq!(
            of_description("ImageJ=1.54f\nimages=6\nframes=6\n", 6),
            None
        );
        assert_eq!(of_description(d, 5), None);
    }

    #[test]
    fn ome_follows_its_dimension_order() {
        let ome = |order: &str| {
            format!(
                "<?xml version=\"1.0\"?><OME><Image><Pixels DimensionOrder=\"{order}\" \
                 SizeC=\"2\" SizeT=\"3\" SizeZ=\"1\" SizeX=\"64\" SizeY=\"48\"></Pixels></Image></OME>"
            )
        };
        // channels fastest: interleaved
        assert_eq!(
            of_description(&ome("XYCZT"), 6).unwrap().pages_of(1, 6),
            [1, 3, 5]
        );
        // time before channels: each channel's pages in one run
        let layout = of_description(&ome("XYZTC"), 6).unwrap();
        assert_eq!(layout.pages_of(0, 6), [0, 1, 2]);
        assert_eq!(layout.pages_of(1, 6), [3, 4, 5]);
        // RGB pages (three channels within each page) are not channels of pages
        assert_eq!(
            of_description(&ome("XYCZT").replace("SizeC=\"2\"", "SizeC=\"3\""), 3),
            None
        );
        assert_eq!(of_description("plain", 6), None);
    }
}
