//! The pixel size a TIFF states, in µm, so measurements come in µm without asking: OME-TIFF's
//! `PhysicalSizeX` (in its `PhysicalSizeXUnit`, µm by default), or, in a file Fiji wrote, the
//! `unit=` of its ImageJ description with the XResolution tag (pixels per unit). Nothing else
//! is trusted: plain TIFFs carry 72 dpi from whatever wrote them, which says nothing about the
//! sample.

use std::io::Cursor;

use tiff::decoder::{Decoder, ifd::Value};
use tiff::tags::Tag;

use crate::io::tiff_pages::is_tiff;

/// The first page's pixel size in µm, when the file states one (see the module docs).
pub fn of_file(bytes: &[u8]) -> Option<f64> {
    if !is_tiff(bytes) {
        return None;
    }
    let mut decoder = Decoder::new(Cursor::new(bytes)).ok()?;
    let description = decoder.get_tag_ascii_string(Tag::ImageDescription).ok()?;
    let size = if description.contains("<OME") {
        ome(&description)
    } else if description.starts_with("ImageJ=") {
        let per_unit = rational(decoder.get_tag(Tag::XResolution).ok()?)?;
        imagej(&description, per_unit)
    } else {
        None
    };
    size.filter(|s| s.is_finite() && *s > 0.0)
}

/// A RATIONAL tag's value (the `tiff` crate's `get_tag_f64` takes only floats).
fn rational(value: Value) -> Option<f64> {
    match value {
        Value::Rational(n, d) => (d != 0).then(|| n as f64 / d as f64),
        other => other.into_f64().ok(),
    }
}

/// µm in one `unit`, as OME and ImageJ spell units; `None` for units that are not lengths
/// (ImageJ's default "pixel", inches from a scanner).
fn microns_in(unit: &str) -> Option<f64> {
    match unit.trim() {
        "µm" | "μm" | "um" | "micron" | "microns" | "\\u00B5m" => Some(1.0),
        "nm" => Some(1e-3),
        "mm" => Some(1e3),
        "cm" => Some(1e4),
        "m" => Some(1e6),
        "pm" => Some(1e-6),
        _ => None,
    }
}

/// The value of XML attribute `name` in the first element that has it.
pub(crate) fn attribute<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=");
    let at = xml.find(&key)? + key.len();
    let quote = xml[at..]
        .chars()
        .next()
        .filter(|c| *c == '"' || *c == '\'')?;
    let rest = &xml[at + 1..];
    rest.find(quote).map(|end| &rest[..end])
}

/// From an OME-XML description: the first `Pixels` element's `PhysicalSizeX`.
fn ome(xml: &str) -> Option<f64> {
    let pixels = &xml[xml.find("<Pixels")?..];
    let element = &pixels[..pixels.find('>')?];
    let size: f64 = attribute(element, "PhysicalSizeX")?.parse().ok()?;
    let unit = attribute(element, "PhysicalSizeXUnit").unwrap_or("µm");
    Some(size * microns_in(unit)?)
}

/// From an ImageJ description (`key=value` lines) and XResolution in pixels per its unit.
fn imagej(description: &str, per_unit: f64) -> Option<f64> {
    let unit = description.lines().find_map(|l| l.strip_prefix("unit="))?;
    (per_unit > 0.0).then(|| microns_in(unit).map(|m| m / per_unit))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ome_sizes_are_read_in_their_units() {
        let xml = r#"<?xml version="1.0"?><OME xmlns="x"><Image ID="Image:0"><Pixels ID="Pixels:0" DimensionOrder="XYCZT" PhysicalSizeX="0.065" PhysicalSizeY="0.065" SizeX="4"/></Image></OME>"#;
        assert_eq!(ome(xml), Some(0.065));
        let nm = xml.replace(
            r#"PhysicalSizeX="0.065""#,
            r#"PhysicalSizeX="65" PhysicalSizeXUnit="nm""#,
        );
        assert!((ome(&nm).unwrap() - 0.065).abs() < 1e-12);
        let pixels = xml.replace(r#"PhysicalSizeX="0.065""#, r#"PhysicalSizeXUnit="pixel""#);
        assert_eq!(ome(&pixels), None);
    }

    #[test]
    fn imagej_sizes_need_a_length_unit() {
        let fiji = "ImageJ=1.54f\nimages=1\nunit=micron\n";
        assert_eq!(imagej(fiji, 10.0), Some(0.1));
        assert_eq!(imagej("ImageJ=1.54f\nunit=\\u00B5m\n", 4.0), Some(0.25));
        assert_eq!(imagej("ImageJ=1.54f\nunit=nm\n", 0.01), Some(0.1));
        // ImageJ's default: no unit line, or "pixel"
        assert_eq!(imagej("ImageJ=1.54f\nimages=1\n", 1.0), None);
        assert_eq!(imagej("ImageJ=1.54f\nunit=pixel\n", 1.0), None);
        assert_eq!(imagej("ImageJ=1.54f\nunit=micron\n", 0.0), None);
    }

    #[test]
    fn other_files_state_nothing() {
        assert_eq!(of_file(b"\x89PNG\r\n\x1a\n"), None);
        assert_eq!(of_file(b"II*\0garbage"), None);
    }
}
