//! Cells as GeoJSON, the way QuPath exports and imports objects: a FeatureCollection of one
//! Polygon feature per cell — its outline along its pixels' edges ([`crate::post::polygon`]), in
//! image pixel coordinates, which QuPath fills back to exactly the cell's pixels — with the
//! cell's measurements ([`crate::post::measure`]) as QuPath's `measurements` and `objectType`
//! "detection", so the cells open in QuPath (File → Import objects) with their table.

use serde_json::{Value, json};

use crate::core::cells::Cells;
use crate::core::plane::Rect;
use crate::post::measure::Measures;
use crate::post::polygon;

/// The cells (covering `rect` of the image) and their measurements, as GeoJSON.
pub fn cells(cells: &Cells, rect: Rect, measures: &[Measures]) -> Value {
    let features: Vec<Value> = measures
        .iter()
        .map(|m| {
            // the box back in the cells' own pixels
            let b = Rect::new(
                m.bbox.x0 - rect.x0,
                m.bbox.y0 - rect.y0,
                m.bbox.x1 - rect.x0,
                m.bbox.y1 - rect.y0,
            );
            let mut ring: Vec<[i64; 2]> = polygon::outline(cells, m.cell, b)
                .iter()
                .map(|&(x, y)| [rect.x0 as i64 + x, rect.y0 as i64 + y])
                .collect();
            ring.push(ring[0]); // GeoJSON rings end where they start
            json!({
                "type": "Feature",
                "id": m.cell,
                "geometry": { "type": "Polygon", "coordinates": [ring] },
                "properties": {
                    "objectType": "detection",
                    "name": format!("cell {}", m.cell),
                    "classification": { "name": "Cell" },
                    "measurements": {
                        "Area px": m.area,
                        "Perimeter px": m.perimeter,
                        "Length px": m.feret_max,
                        "Width px": m.feret_min,
                        "Orientation deg": m.orientation,
                        "Aspect ratio": m.aspect_ratio,
                        "Circularity": m.circularity,
                        "Solidity": m.solidity,
                        "Mean intensity": m.mean_intensity,
                        "Integrated intensity": m.integrated_intensity,
                    }
                }
            })
        })
        .collect();
    json!({ "type": "FeatureCollection", "features": features })
}
