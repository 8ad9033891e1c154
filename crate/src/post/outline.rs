//! Pictures of a segmentation: the image in gray with each cell's outline drawn over it, the
//! way post 2 shows its results. With labels to compare against, the true outlines are drawn
//! too, so a reader sees at a glance where the networks and the hand labels disagree.

use image::{Rgb, RgbImage};

use crate::core::plane::{Plane, Rect};

/// Outline colour of the predicted cells.
pub const PREDICTED: Rgb<u8> = Rgb([255, 200, 0]);
/// Outline colour of the labelled cells.
pub const LABELLED: Rgb<u8> = Rgb([0, 170, 255]);

/// The pixels of a labelling (0 = background) that touch a pixel of another label: a cell's
/// outline, one pixel wide, inside the cell.
pub fn boundary(labels: &[u32], width: usize, height: usize) -> Vec<bool> {
    (0..labels.len())
        .map(|i| {
            let (x, y) = (i % width, i / width);
            let l = labels[i];
            l != 0
                && [
                    (x > 0).then(|| i - 1),
                    (x + 1 < width).then(|| i + 1),
                    (y > 0).then(|| i - width),
                    (y + 1 < height).then(|| i + width),
                ]
                .into_iter()
                .any(|j| j.is_none_or(|j| labels[j] != l))
        })
        .collect()
}

/// `region` of a normalised plane (0..1) in gray, with the outlines of `predicted` and, when
/// given, `labelled` (both labellings of the region, row-major) drawn in their colours.
/// Where both outlines fall on a pixel the predicted one wins; it is the one being judged.
pub fn overlay(
    plane: &Plane,
    region: Rect,
    predicted: &[u32],
    labelled: Option<&[u32]>,
) -> RgbImage {
    let (w, h) = (region.width(), region.height());
    let mut picture = RgbImage::from_fn(w as u32, h as u32, |x, y| {
        let v = plane.data[(region.y0 + y as usize) * plane.width + region.x0 + x as usize];
        let g = (v.clamp(0.0, 1.0) * 255.0).round() as u8;
        Rgb([g, g, g])
    });
    let mut draw = |labels: &[u32], colour: Rgb<u8>| {
        for (i, on) in boundary(labels, w, h).into_iter().enumerate() {
            if on {
                picture.put_pixel((i % w) as u32, (i / w) as u32, colour);
            }
        }
    };
    if let Some(truth) = labelled {
        draw(truth, LABELLED);
    }
    draw(predicted, PREDICTED);
    picture
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundary_is_the_rim_of_each_cell() {
        // a 4x4 cell at (1,1) in a 6x6 image, split into two 2x4 halves with ids 1 and 2
        let (w, h) = (6, 6);
        let mut labels = vec![0u32; w * h];
        for y in 1..5 {
            for x in 1..5 {
                labels[y * w + x] = if x < 3 { 1 } else { 2 };
            }
        }
        let rim = boundary(&labels, w, h);
        let count = rim.iter().filter(|&&b| b).count();
        // every pixel of a 2-wide half touches the other half or the background
        assert_eq!(count, 16);
        assert!(!rim[0]);
        // a cell at the image border is outlined along the border too
        let full = vec![7u32; 9];
        assert_eq!(boundary(&full, 3, 3).iter().filter(|&&b| b).count(), 8);
    }

    #[test]
    fn overlay_draws_gray_image_and_coloured_outlines() {
        let plane = Plane {
            width: 4,
            height: 3,
            data: vec![0.0, 0.5, 1.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        };
        let region = Rect::new(1, 0, 4, 3);
        let mut predicted = vec![0u32; 9];
        predicted[4] = 1;
        let truth = vec![0, 0, 0, 0, 3, 3, 0, 0, 0];
        let picture = overlay(&plane, region, &predicted, Some(&truth));
        assert_eq!(picture.dimensions(), (3, 3));
        assert_eq!(picture.get_pixel(0, 0), &Rgb([128, 128, 128]));
        assert_eq!(picture.get_pixel(2, 0), &Rgb([255, 255, 255])); // 2.0 clamps to white
        assert_eq!(picture.get_pixel(1, 1), &PREDICTED);
        assert_eq!(picture.get_pixel(2, 1), &LABELLED);
    }
}
