//! A whole session in one file, to stop work and take it up again (or hand it to a colleague):
//! a zip holding `session.json` (which image it was made on — its name, page, channel and size
//! — with the page's settings and scale), `paint.png` (the painted corrections, 8-bit: 0 other,
//! 1 cell, 2 edge, 255 unpainted) and `network.cellseg` (the network as trained, in the
//! weights format). Images are referred to, never stored: they stay where their owner keeps
//! them, and the file stays small. Any unzip tool shows what a session holds.

use std::io::{Cursor, Read, Write};

use image::{GrayImage, ImageFormat};
use serde::{Deserialize, Serialize};

/// `session.json`'s `format`: what the file is.
pub const FORMAT: &str = "cellseg-session";
/// The version written; files of later versions are refused with a message.
pub const VERSION: u32 = 1;
/// The painted classes a pixel may hold (`UNPAINTED` where nothing was painted).
pub const UNPAINTED: u8 = 255;

/// The image a session was made on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImageRef {
    pub name: String,
    /// Page and channel as the page picks them (page from 0; channel -1 the luminance).
    pub page: u32,
    pub channel: i32,
    pub width: u32,
    pub height: u32,
}

/// What `session.json` holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    pub format: String,
    pub version: u32,
    pub image: Option<ImageRef>,
    /// The scale the networks saw the image at.
    pub scale: f64,
    /// The page's settings as its address keeps them (`key=value&…`).
    pub settings: String,
}

/// A session: its description, the paint over its image (`width * height` classes, row by
/// row) and the network's weights file.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionFile {
    pub meta: Meta,
    pub paint: Option<Vec<u8>>,
    pub network: Option<Vec<u8>>,
}

/// Largest session file read (a network is ~5 MB in f32; the paint compresses well).
pub const MAX_BYTES: usize = 256 << 20;

/// The session as one zip file.
pub fn pack(session: &SessionFile) -> Result<Vec<u8>, String> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let mut put = |name: &str, bytes: &[u8]| {
        zip.start_file(name, options)
            .map_err(|e| e.to_string())
            .and_then(|()| zip.write_all(bytes).map_err(|e| e.to_string()))
            .map_err(|e| format!("writing {name}: {e}"))
    };
    let json = serde_json::to_vec_pretty(&session.meta).map_err(|e| e.to_string())?;
    put("session.json", &json)?;
    if let Some(paint) = &session.paint {
        let image = session
            .meta
            .image
            .as_ref()
            .ok_or("paint needs the image it was painted on")?;
        let picture = GrayImage::from_raw(image.width, image.height, paint.clone())
            .ok_or("the paint is not the size of its image")?;
        let mut png = Cursor::new(Vec::new());
        picture
            .write_to(&mut png, ImageFormat::Png)
            .map_err(|e| e.to_string())?;
        put("paint.png", png.get_ref())?;
    }
    if let Some(network) = &session.network {
        put("network.cellseg", network)?;
    }
    let done = zip
        .finish()
        .map_err(|e| format!("writing the session: {e}"))?;
    Ok(done.into_inner())
}

/// Reads a session file back, or says why it is not one.
pub fn unpack(bytes: &[u8]) -> Result<SessionFile, String> {
    const NOT: &str = "this is not a cellseg session (a .cellseg-session file saved by the page)";
    if bytes.len() > MAX_BYTES {
        return Err(format!("{NOT}: it is larger than any session"));
    }
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|_| NOT.to_string())?;
    let mut read = |name: &str, limit: u64| -> Result<Option<Vec<u8>>, String> {
        let Ok(file) = zip.by_name(name) else {
            return Ok(None);
        };
        let mut out = Vec::new();
        file.take(limit)
            .read_to_end(&mut out)
            .map_err(|e| format!("{name} in the session cannot be read: {e}"))?;
        Ok(Some(out))
    };
    let json = read("session.json", 1 << 20)?.ok_or_else(|| NOT.to_string())?;
    let meta: Meta = serde_json::from_slice(&json).map_err(|e| format!("{NOT}: {e}"))?;
    if meta.format != FORMAT {
        return Err(NOT.to_string());
    }
    if meta.version > VERSION {
        return Err(format!(
            "this session was saved by a newer cellseg (version {}; this page reads {VERSION})",
            meta.version
        ));
    }
    let paint = match read("paint.png", MAX_BYTES as u64)? {
        None => None,
        Some(png) => {
            let image = meta
                .image
                .as_ref()
                .ok_or("the session's paint has no image to go with")?;
            let picture = image::load_from_memory_with_format(&png, ImageFormat::Png)
                .map_err(|e| format!("the session's paint cannot be read: {e}"))?
                .into_luma8();
            if picture.dimensions() != (image.width, image.height) {
                return Err(format!(
                    "the session's paint is {}×{}, its image {}×{}",
                    picture.width(),
                    picture.height(),
                    image.width,
                    image.height
                ));
            }
            let classes = picture.into_raw();
            if let Some(bad) = classes.iter().find(|&&c| c > 2 && c != UNPAINTED) {
                return Err(format!("the session's paint holds class {bad}"));
            }
            Some(classes)
        }
    };
    let network = read("network.cellseg", MAX_BYTES as u64)?;
    Ok(SessionFile {
        meta,
        paint,
        network,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> SessionFile {
        SessionFile {
            meta: Meta {
                format: FORMAT.into(),
                version: VERSION,
                image: Some(ImageRef {
                    name: "plate 1.tif".into(),
                    page: 2,
                    channel: -1,
                    width: 4,
                    height: 3,
                }),
                scale: 0.5,
                settings: "arch=original&lr=0.001".into(),
            },
            paint: Some(vec![255, 0, 1, 2, 255, 255, 1, 1, 255, 255, 255, 2]),
            network: Some(b"weights bytes".to_vec()),
        }
    }

    #[test]
    fn a_session_comes_back_as_it_was_saved() {
        let s = session();
        assert_eq!(unpack(&pack(&s).unwrap()).unwrap(), s);
        let bare = SessionFile {
            paint: None,
            network: None,
            ..session()
        };
        assert_eq!(unpack(&pack(&bare).unwrap()).unwrap(), bare);
    }

    #[test]
    fn other_files_are_refused_with_a_reason() {
        assert!(
            unpack(b"not a zip")
                .unwrap_err()
                .contains("not a cellseg session")
        );
        // a zip without session.json
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        zip.start_file("a.txt", zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(b"hello").unwrap();
        let other = zip.finish().unwrap().into_inner();
        assert!(
            unpack(&other)
                .unwrap_err()
                .contains("not a cellseg session")
        );
        // a newer version
        let mut newer = session();
        newer.meta.version = VERSION + 1;
        assert!(
            unpack(&pack(&newer).unwrap())
                .unwrap_err()
                .contains("newer cellseg")
        );
        // paint of another size than its image: session.json says 6×2, paint.png is 4×3
        let mut claims = session().meta;
        claims.image.as_mut().unwrap().width = 6;
        claims.image.as_mut().unwrap().height = 2;
        let packed = pack(&session()).unwrap();
        let mut from = zip::ZipArchive::new(Cursor::new(packed)).unwrap();
        let mut png = Vec::new();
        from.by_name("paint.png")
            .unwrap()
            .read_to_end(&mut png)
            .unwrap();
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default();
        zip.start_file("session.json", options).unwrap();
        zip.write_all(&serde_json::to_vec(&claims).unwrap())
            .unwrap();
        zip.start_file("paint.png", options).unwrap();
        zip.write_all(&png).unwrap();
        let mismatched = zip.finish().unwrap().into_inner();
        assert!(
            unpack(&mismatched)
                .unwrap_err()
                .contains("paint is 4×3, its image 6×2")
        );
        let mut resized = session();
        resized.meta.image.as_mut().unwrap().width = 6;
        assert!(
            pack(&resized).is_err(),
            "paint of the wrong size is not packed"
        );
        // a class beyond edge
        let mut bad = session();
        bad.paint.as_mut().unwrap()[0] = 7;
        assert!(
            unpack(&pack(&bad).unwrap())
                .unwrap_err()
                .contains("class 7")
        );
    }
}
