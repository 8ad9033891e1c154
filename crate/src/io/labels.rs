//! Hand labels: one class per pixel (0 other, 1 cell, 2 edge), from a class PNG or from the
//! upstream tutorial's three .npy masks.

use std::io::Cursor;

use crate::core::classes::{CLASS_CELL, CLASS_EDGE, CLASS_OTHER, CLASSES};
use crate::io::decode::{DecodeError, decode};

/// The class value of a pixel nobody labelled: painted corrections label only some pixels.
pub const UNLABELLED: u8 = 255;

/// A class per pixel, row-major, same size as the image it labels. Hand-labelled images
/// label every pixel; painted maps leave the rest [`UNLABELLED`].
#[derive(Clone, Debug, PartialEq)]
pub struct ClassMap {
    pub width: usize,
    pub height: usize,
    pub classes: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum LabelError {
    #[error("label image: {0}")]
    Decode(#[from] DecodeError),
    #[error(
        "label image has value {value} at ({x}, {y}); classes are 0 = other, 1 = cell, 2 = edge"
    )]
    BadClass { value: u32, x: usize, y: usize },
    #[error("{name}: not a readable .npy file ({reason})")]
    Npy { name: String, reason: String },
    #[error("{name}: expected a 2-D uint8 mask, found {found}")]
    NpyShape { name: String, found: String },
    #[error(
        "painted labels hold value {value}; classes are 0 = other, 1 = cell, 2 = edge, 255 = none"
    )]
    BadPaint { value: u8 },
    #[error("the {name} is {w}x{h} pixels but the cells mask is {cw}x{ch}")]
    MaskMismatch {
        name: String,
        w: usize,
        h: usize,
        cw: usize,
        ch: usize,
    },
    #[error("the {what} are {w}x{h} pixels but the image is {iw}x{ih}")]
    SizeMismatch {
        what: String,
        w: usize,
        h: usize,
        iw: usize,
        ih: usize,
    },
}

impl ClassMap {
    /// Reads a grayscale PNG (or TIFF) whose pixel values are the class numbers.
    pub fn from_class_image(bytes: &[u8]) -> Result<ClassMap, LabelError> {
        let decoded = decode(bytes)?;
        let max = decoded.unit as f32;
        let p = decoded.plane;
        let mut classes = Vec::with_capacity(p.data.len());
        for (i, v) in p.data.iter().enumerate() {
            let value = (v * max).round() as u32;
            if value > CLASS_EDGE as u32 {
                return Err(LabelError::BadClass {
                    value,
                    x: i % p.width,
                    y: i / p.width,
                });
            }
            classes.push(value as u8);
        }
        Ok(ClassMap {
            width: p.width,
            height: p.height,
            classes,
        })
    }

    /// Builds the class map from the tutorial's masks (uint8, 0 or 255, C order). A pixel
    /// marked as edge is an edge, else a cell pixel is a cell, else it is other — the
    /// upstream masks partition the image, so the order only matters for damaged files.
    pub fn from_npy_masks(
        cells: &[u8],
        edges: &[u8],
        other: &[u8],
    ) -> Result<ClassMap, LabelError> {
        let (w, h, cells) = read_mask("cells mask", cells)?;
        let shape_of = |name: &str, bytes: &[u8]| -> Result<Vec<u8>, LabelError> {
            let (mw, mh, m) = read_mask(name, bytes)?;
            if (mw, mh) != (w, h) {
                return Err(LabelError::MaskMismatch {
                    name: name.into(),
                    w: mw,
                    h: mh,
                    cw: w,
                    ch: h,
                });
            }
            Ok(m)
        };
        let edges = shape_of("edges mask", edges)?;
        let _other = shape_of("other mask", other)?;
        let classes = cells
            .iter()
            .zip(&edges)
            .map(|(&c, &e)| {
                if e > 0 {
                    CLASS_EDGE
                } else if c > 0 {
                    CLASS_CELL
                } else {
                    CLASS_OTHER
                }
            })
            .collect();
        Ok(ClassMap {
            width: w,
            height: h,
            classes,
        })
    }

    /// Fails with a clear message unless the labels cover an image of this size exactly.
    pub fn check_size(&self, width: usize, height: usize) -> Result<(), LabelError> {
        if (self.width, self.height) == (width, height) {
            Ok(())
        } else {
            Err(LabelError::SizeMismatch {
                what: "labels".into(),
                w: self.width,
                h: self.height,
                iw: width,
                ih: height,
            })
        }
    }

    /// The class map of a crop.
    pub fn crop(&self, rect: crate::core::plane::Rect) -> ClassMap {
        let rect = rect.clamp(self.width, self.height);
        let classes = (rect.y0..rect.y1)
            .flat_map(|y| {
                self.classes[y * self.width + rect.x0..y * self.width + rect.x1]
                    .iter()
                    .copied()
            })
            .collect();
        ClassMap {
            width: rect.width(),
            height: rect.height(),
            classes,
        }
    }

    pub fn at(&self, x: usize, y: usize) -> u8 {
        self.classes[y * self.width + x]
    }

    /// Marks the pixels of `rect` unlabelled, so training never draws a patch centred there
    /// (patches centred nearby still see it: grow `rect` by half a patch to hide it).
    pub fn forget(&mut self, rect: crate::core::plane::Rect) {
        let rect = rect.clamp(self.width, self.height);
        for y in rect.y0..rect.y1 {
            self.classes[y * self.width + rect.x0..y * self.width + rect.x1].fill(UNLABELLED);
        }
    }

    /// The labelled cells: connected components of the cell class (edges keep touching cells
    /// apart), as the instance image of the data README is made.
    pub fn cells(&self) -> crate::core::cells::Cells {
        let mask: Vec<bool> = self.classes.iter().map(|&c| c == CLASS_CELL).collect();
        crate::core::cells::Cells::from_mask(&mask, self.width, self.height, 1)
    }

    /// The labelled cells whole: each cell (see [`ClassMap::cells`]) with the edge pixels
    /// nearest to it, reached through edge pixels (the rim the hand labels draw around every
    /// cell; where two cells touch, their shared line is split between them by distance).
    /// This is what a biologist measures and what Cellpose and Omnipose return, so it is the
    /// reference for whole-cell scores.
    pub fn whole_cells(&self) -> crate::core::cells::Cells {
        self.with_rims(&self.cells())
    }

    /// Labelled cores (e.g. an instance image of these labels) grown over their rims, as
    /// [`ClassMap::whole_cells`] grows the cell class's components.
    pub fn with_rims(&self, cores: &crate::core::cells::Cells) -> crate::core::cells::Cells {
        let rim: Vec<bool> = self.classes.iter().map(|&c| c == CLASS_EDGE).collect();
        let grown = crate::core::cells::grow(cores.labels.clone(), &rim, self.width, self.height);
        crate::core::cells::Cells::from_labels(grown, self.width, self.height, 1)
    }

    /// Painted labels: classes 0..=2 where painted, [`UNLABELLED`] elsewhere.
    pub fn painted(width: usize, height: usize, classes: Vec<u8>) -> Result<ClassMap, LabelError> {
        if classes.len() != width * height {
            return Err(LabelError::SizeMismatch {
                what: "painted labels".into(),
                w: classes.len(),
                h: 1,
                iw: width,
                ih: height,
            });
        }
        if let Some(&value) = classes.iter().find(|&&c| c > CLASS_EDGE && c != UNLABELLED) {
            return Err(LabelError::BadPaint { value });
        }
        Ok(ClassMap {
            width,
            height,
            classes,
        })
    }

    /// Pixels of each class, in class order (unlabelled pixels are not counted).
    pub fn counts(&self) -> [usize; 3] {
        let mut n = [0; 3];
        for &c in &self.classes {
            if let Some(k) = n.get_mut(c as usize) {
                *k += 1;
            }
        }
        n
    }

    /// The map resampled to `width` x `height` by nearest neighbour (classes do not blend).
    pub fn resized(&self, width: usize, height: usize) -> ClassMap {
        self.resampled(width, height, |nearest, _| nearest)
    }

    /// Painted labels resampled to `width` x `height`: by nearest neighbour, except that a
    /// target pixel covering painted edge is edge (a stroke one pixel thin, as edges are
    /// painted between cells, survives the image being halved), and one whose nearest source
    /// pixel is unpainted takes the class painted most among those it covers. (Full label
    /// maps keep [`ClassMap::resized`]: their edge band is already as wide as it should be.)
    pub fn paint_resized(&self, width: usize, height: usize) -> ClassMap {
        self.resampled(width, height, |nearest, counts| {
            if counts[CLASS_EDGE as usize] > 0 {
                return CLASS_EDGE;
            }
            if nearest != UNLABELLED {
                return nearest;
            }
            // the last of equal counts wins: cell before other
            match (0..CLASSES.len()).max_by_key(|&c| counts[c]) {
                Some(c) if counts[c] > 0 => c as u8,
                _ => UNLABELLED,
            }
        })
    }

    /// Resampling to `width` x `height`: each target pixel's class is `pick(nearest source
    /// class, class counts of the source pixels it covers)`.
    fn resampled(
        &self,
        width: usize,
        height: usize,
        pick: impl Fn(u8, [usize; CLASSES.len()]) -> u8,
    ) -> ClassMap {
        let (sw, sh) = (self.width, self.height);
        let span = |i: usize, to: usize, from: usize| {
            let a = (i * from / to.max(1)).min(from - 1);
            (a, ((i + 1) * from / to.max(1)).clamp(a + 1, from))
        };
        let mut classes = Vec::with_capacity(width * height);
        for y in 0..height {
            let (y0, y1) = span(y, height, sh);
            for x in 0..width {
                let (x0, x1) = span(x, width, sw);
                let mut counts = [0usize; CLASSES.len()];
                for row in y0..y1 {
                    for &c in &self.classes[row * sw + x0..row * sw + x1] {
                        if let Some(n) = counts.get_mut(c as usize) {
                            *n += 1;
                        }
                    }
                }
                classes.push(pick(self.classes[y0 * sw + x0], counts));
            }
        }
        ClassMap {
            width,
            height,
            classes,
        }
    }
}

/// Reads an instance image (8- or 16-bit gray PNG/TIFF: 0 background, else an object's id)
/// as `(width, height, ids)`.
pub fn instances_from_image(bytes: &[u8]) -> Result<(usize, usize, Vec<u32>), LabelError> {
    let decoded = decode(bytes)?;
    let max = decoded.unit as f32;
    let p = decoded.plane;
    Ok((
        p.width,
        p.height,
        p.data.iter().map(|v| (v * max).round() as u32).collect(),
    ))
}

/// Class names, for messages.
pub fn class_name(class: u8) -> &'static str {
    CLASSES[class as usize]
}

/// Whether a .npy header nests brackets deeper than a mask's ever does: `{'descr': '|u1',
/// 'fortran_order': False, 'shape': (H, W), }` nests two deep. npyz's header parser takes time
/// exponential in the nesting, so a 500-byte file of `[[[[…` or `{{{{…` hung it for minutes
/// (found by `make fuzz`); such headers are refused before it looks.
fn nested_header(bytes: &[u8]) -> bool {
    let (start, len): (usize, Option<usize>) = match bytes.get(6) {
        Some(1) => (
            10,
            bytes
                .get(8..10)
                .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize),
        ),
        Some(_) => (
            12,
            bytes
                .get(8..12)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize),
        ),
        None => (0, None),
    };
    let Some(len) = len else { return false };
    let end = start.saturating_add(len).min(bytes.len());
    let header = bytes.get(start..end).unwrap_or_default();
    let mut depth = 0i32;
    header.iter().any(|&c| {
        match c {
            b'{' | b'[' | b'(' => depth += 1,
            b'}' | b']' | b')' => depth -= 1,
            _ => {}
        }
        depth > 2
    })
}

fn read_mask(name: &str, bytes: &[u8]) -> Result<(usize, usize, Vec<u8>), LabelError> {
    let err = |reason: String| LabelError::Npy {
        name: name.into(),
        reason,
    };
    if nested_header(bytes) {
        return Err(LabelError::NpyShape {
            name: name.into(),
            found: "a header nested too deeply (a structured dtype?)".into(),
        });
    }
    let npy = npyz::NpyFile::new(Cursor::new(bytes)).map_err(|e| err(e.to_string()))?;
    let shape = npy.shape().to_vec();
    let dtype = npy.dtype().descr().trim_matches('\'').to_string();
    if shape.len() != 2 || dtype != "|u1" {
        return Err(LabelError::NpyShape {
            name: name.into(),
            found: format!("shape {shape:?}, dtype {dtype}"),
        });
    }
    if npy.order() != npyz::Order::C {
        return Err(err(
            "Fortran order is not supported; save with C order".into()
        ));
    }
    let (h, w) = (shape[0] as usize, shape[1] as usize);
    let data: Vec<u8> = npy.into_vec::<u8>().map_err(|e| err(e.to_string()))?;
    if data.len() != w * h {
        return Err(err(format!(
            "holds {} values, its shape says {}",
            data.len(),
            w * h
        )));
    }
    Ok((w, h, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thin_painted_stroke_survives_halving_and_full_labels_shrink_by_nearest() {
        // a one-pixel edge stroke on row 3 (odd: nearest sampling of a halved map skips it)
        // and a blob of cell paint, the rest unpainted
        let (w, h) = (12, 8);
        let mut classes = vec![UNLABELLED; w * h];
        classes[3 * w + 2..3 * w + 10].fill(CLASS_EDGE);
        for y in 5..8 {
            classes[y * w..y * w + 4].fill(CLASS_CELL);
        }
        // an edge line between two cells painted on row 1, under the cell paint's nearest samples
        classes[2 * w + 8..2 * w + 12].fill(CLASS_CELL);
        classes[w + 8..w + 12].fill(CLASS_EDGE);
        classes[8..12].fill(CLASS_CELL);
        let paint = ClassMap::painted(w, h, classes).unwrap();
        let half = paint.paint_resized(6, 4);
        assert_eq!(half.at(4, 0), CLASS_EDGE, "{:?}", half.classes);
        assert_eq!(half.counts()[CLASS_EDGE as usize], 6, "{:?}", half.classes);
        assert_eq!(half.at(1, 1), CLASS_EDGE);
        assert_eq!(half.at(0, 3), CLASS_CELL);
        assert_eq!(half.at(5, 3), UNLABELLED);
        // a full class map shrinks by nearest neighbour
        let full = ClassMap {
            width: 4,
            height: 2,
            classes: vec![0, 1, 2, 0, 1, 1, 0, 2],
        };
        assert_eq!(full.resized(4, 1).classes, vec![0, 1, 2, 0]);
        assert_eq!(full.resized(2, 1).classes, vec![0, 2]);
    }
}
