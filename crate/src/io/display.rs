//! How the image is shown, apart from what the networks see: a display window in the file's
//! own units (e.g. 0..65535 for 16-bit data) and the histogram to choose it from. The
//! networks always get the 1–99% normalisation of [`crate::io::normalise`]; the display starts
//! there too (auto-levels), so 16-bit data never shows as black.

use crate::core::plane::Plane;
use crate::io::light::Light;
use crate::io::normalise::Window;

/// A normalised plane's values back in file units: `window` is the normalisation's window
/// (in the decoded plane's values), `unit` the file units of 1.0 there
/// ([`crate::io::decode::Decoded::unit`]). Where normalising evened out uneven light, the
/// window, auto-levels, the histogram and the display are in evened values (the file's at the
/// picture's mean light), so the display shows the field as the networks see it; the cells'
/// intensities ([`FileUnits::plane`]) are the file's own.
pub struct FileUnits {
    low: f64,
    span: f64,
    /// The light normalising divided out, if any.
    light: Option<Light>,
    /// Pixels normalising did not map linearly (padding, marks, hot pixels calmed, outliers
    /// clamped) and their values in file units.
    outliers: Vec<(usize, f64)>,
}

impl FileUnits {
    pub fn new(window: Window, unit: f64) -> FileUnits {
        FileUnits {
            low: window.low as f64 * unit,
            span: (window.high - window.low) as f64 * unit,
            light: None,
            outliers: Vec::new(),
        }
    }

    /// The same, with the light normalising divided out
    /// ([`crate::io::normalise::Normalised::light`]).
    pub fn lit(self, light: Option<Light>) -> FileUnits {
        FileUnits { light, ..self }
    }

    /// The same, with the pixels normalising did not map linearly and their values before,
    /// as [`crate::io::decode::decode_normalised_with`] gives them (`unit` as above).
    pub fn keeping(self, outliers: &[(usize, f32)], unit: f64) -> FileUnits {
        FileUnits {
            outliers: outliers
                .iter()
                .map(|&(i, v)| (i, v as f64 * unit))
                .collect(),
            ..self
        }
    }

    /// A whole normalised plane back in file units, the file's own values where normalising
    /// changed them: what cells' intensities are measured in, as the CLI measures them.
    pub fn plane(&self, normalised: &Plane) -> Plane {
        let mut data: Vec<f32> = normalised.data.iter().map(|&v| self.of(v) as f32).collect();
        if let Some(light) = &self.light {
            for (i, d) in data.iter_mut().enumerate() {
                *d *= light.at(i);
            }
        }
        // last to first: a pixel changed twice (calmed, then clamped) gets its first "before",
        // the file's own value
        for &(i, v) in self.outliers.iter().rev() {
            if let Some(d) = data.get_mut(i) {
                *d = v as f32;
            }
        }
        Plane::new(normalised.width, normalised.height, data)
    }

    pub fn of(&self, normalised: f32) -> f64 {
        self.low + normalised as f64 * self.span
    }

    /// The auto-levels window (1st and 99th percentiles) in file units.
    pub fn auto(&self) -> (f64, f64) {
        (self.of(0.0), self.of(1.0))
    }
}

/// Counts of the plane's values (in file units) in `bins` equal bins over `range`.
pub fn histogram(plane: &Plane, units: &FileUnits, range: (f64, f64), bins: usize) -> Vec<u32> {
    let mut counts = vec![0u32; bins.max(1)];
    let last = counts.len() - 1;
    let span = (range.1 - range.0).max(f64::MIN_POSITIVE);
    for &v in &plane.data {
        let x = (units.of(v) - range.0) / span;
        let bin = (x * counts.len() as f64).floor().clamp(0.0, last as f64) as usize;
        counts[bin] += 1;
    }
    counts
}

/// The plane as gray RGBA bytes: file value `low` (and below) black, `high` (and above) white.
pub fn rgba(plane: &Plane, units: &FileUnits, low: f64, high: f64) -> Vec<u8> {
    let span = (high - low).max(f64::EPSILON);
    plane
        .data
        .iter()
        .flat_map(|&v| {
            let g = (((units.of(v) - low) / span).clamp(0.0, 1.0) * 255.0).round() as u8;
            [g, g, g, 255]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::normalise::normalise;

    /// 12-bit data in a 16-bit file: values 1000..=1100 of 65535.
    fn dim_16_bit() -> (Plane, FileUnits) {
        let raw: Vec<f32> = (0..101).map(|i| (1000 + i) as f32 / 65535.0).collect();
        let mut plane = Plane::new(101, 1, raw);
        let window = normalise(&mut plane);
        (plane, FileUnits::new(window, 65535.0))
    }

    #[test]
    fn auto_levels_are_the_percentiles_in_file_units() {
        let (_, units) = dim_16_bit();
        let (low, high) = units.auto();
        assert!(
            (low - 1001.0).abs() < 0.05 && (high - 1099.0).abs() < 0.05,
            "{low} {high}"
        );
    }

    #[test]
    fn dim_16_bit_data_shows_from_black_to_white_not_all_black() {
        let (plane, units) = dim_16_bit();
        let (low, high) = units.auto();
        let px = rgba(&plane, &units, low, high);
        assert_eq!(px[0], 0);
        assert!(px[4 * 50].abs_diff(128) <= 1, "{}", px[4 * 50]);
        assert_eq!(px[4 * 100], 255);
        // the file's full range instead: 1100 of 65535 is 4 gray levels of 255, all but black
        let full = rgba(&plane, &units, 0.0, 65535.0);
        assert!(full.chunks(4).all(|p| p[0] <= 5));
    }

    #[test]
    fn intensities_come_back_in_file_units_with_hot_pixels_as_the_file_has_them() {
        // 16-bit texture around 1000..1100 with one hot pixel the networks do not see
        let raw: Vec<f32> = (0..40 * 30)
            .map(|i| (1000 + (i * 7919) % 101) as f32 / 65535.0)
            .collect();
        let mut hot = raw.clone();
        hot[15 * 40 + 20] = 1.0;
        let mut plane = Plane::new(40, 30, hot.clone());
        let normalised = crate::io::normalise::normalise_keeping(&mut plane);
        assert_eq!(normalised.outliers.len(), 1, "the hot pixel was calmed");
        let units =
            FileUnits::new(normalised.window, 65535.0).keeping(&normalised.outliers, 65535.0);
        let back = units.plane(&plane);
        for (i, (&b, &h)) in back.data.iter().zip(&hot).enumerate() {
            assert!(
                (b - h * 65535.0).abs() < 0.05,
                "pixel {i}: {b} for {}",
                h * 65535.0
            );
        }
    }

    #[test]
    fn histogram_bins_the_file_values() {
        let (plane, units) = dim_16_bit();
        let h = histogram(&plane, &units, (0.0, 2000.0), 20);
        // 1000..=1099 fall in bin 10 (1000..1100), 1100 in bin 11 (give or take rounding at
        // the bin edges)
        assert!(h[10] >= 99, "{h:?}");
        assert_eq!(h[9] + h[10] + h[11], 101);
    }
}
