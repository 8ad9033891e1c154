//! The benchmark: how fast the posts' original network runs densely, patch by patch and in
//! training on one backend, and how fast the U-Net beyond the posts segments. The CLI (`cellseg bench`) and the page's bench mode run this same
//! code, so their figures mean the same thing; the peers (TensorFlow, TF.js) time the same
//! shapes on the same sizes.
//!
//! Every figure is the median of `repeats` timed runs after one untimed warm-up (kernels
//! compiled, buffers allocated), except the whole image, timed once: it is long enough not to
//! need more, and it runs after the smaller crops have warmed everything up.

use serde::{Deserialize, Serialize};

use crate::core::plane::{Plane, Rect};
use crate::io::labels::ClassMap;
use crate::model::backend::Backend;
use crate::model::dense::segment;
use crate::model::naive::segment_naive;
use crate::model::network::Network;
use crate::model::spec::Spec;
use crate::model::unet::{self, UNet};
use crate::train::{TrainConfig, Trainer, heldout_split};

/// What to measure (the page's bench, www/bench.js, sends its plans as JSON).
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Plan {
    /// Sides of the square crops segmented densely.
    pub dense: Vec<usize>,
    /// Also segment the whole image, tiled as the page and the CLI tile it.
    pub whole: bool,
    /// Side of the square crop classified patch by patch, 256 patches per batch.
    pub naive: usize,
    /// Batch sizes of the Adam steps timed.
    pub train: Vec<usize>,
    /// Timed runs per figure (their median is reported).
    pub repeats: usize,
    /// Also the U-Net ([`crate::model::unet`]): a 256×256 crop, and the whole image with `whole`.
    #[serde(default)]
    pub unet: bool,
}

impl Plan {
    /// The plan with every size and count inside what a browser tab can hold and finish:
    /// crops up to 2048 pixels a side, patch by patch up to 256, batches up to 1024 and
    /// 1..=20 repeats (plans also come from a page's URL).
    pub fn within_limits(self) -> Plan {
        Plan {
            dense: self.dense.into_iter().map(|s| s.clamp(1, 2048)).collect(),
            naive: self.naive.min(256),
            train: self.train.into_iter().map(|b| b.clamp(1, 1024)).collect(),
            repeats: self.repeats.clamp(1, 20),
            ..self
        }
    }

    /// The full set: what `cellseg bench` measures.
    pub fn full() -> Plan {
        Plan {
            dense: vec![98, 256],
            whole: true,
            naive: 32,
            train: vec![16, 256],
            repeats: 3,
            unet: true,
        }
    }
}

/// One measured figure.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Figure {
    /// Machine-readable name, shared with the peers' scripts (e.g. `dense_256_px_per_s`).
    pub key: String,
    /// The rate: pixels or patches per second.
    pub value: f64,
    /// Median seconds per run.
    pub seconds: f64,
    /// A line for people.
    pub text: String,
}

/// The median of some timings (seconds).
pub fn median(mut seconds: Vec<f64>) -> f64 {
    seconds.sort_by(f64::total_cmp);
    let n = seconds.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => seconds[n / 2],
        _ => 0.5 * (seconds[n / 2 - 1] + seconds[n / 2]),
    }
}

/// Median seconds of `repeats` timed runs of `job`, after one untimed warm-up.
async fn median_time<Fut>(
    repeats: usize,
    clock: &dyn Fn() -> f64,
    job: impl Fn() -> Fut,
) -> Result<f64, String>
where
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let mut times = Vec::with_capacity(repeats);
    for i in 0..=repeats {
        let t = clock();
        job().await?;
        if i > 0 {
            times.push((clock() - t) / 1000.0);
        }
    }
    Ok(median(times))
}

/// Runs `plan` on `backend` with a fresh original network (seed 1) over `plane` (at least
/// 256 + 30 pixels each way for the default plans; `labels` give the training patches).
/// `clock` returns milliseconds (`Instant` natively, `performance.now()` in a browser);
/// `report` sees each figure as soon as it is measured.
pub async fn run(
    backend: &Backend,
    plane: &Plane,
    labels: &ClassMap,
    plan: &Plan,
    clock: &dyn Fn() -> f64,
    report: &mut dyn FnMut(&Figure),
) -> Result<Vec<Figure>, String> {
    let device = &backend.device;
    let spec = Spec::preset("original").expect("preset");
    let net = &Network::new(&spec, 1, device);
    let repeats = plan.repeats.max(1);
    let mut figures = Vec::new();
    let mut record = |figure: Figure, figures: &mut Vec<Figure>| {
        report(&figure);
        figures.push(figure);
    };
    // a crop away from the border, inside the image however small
    let crop = |side: usize| {
        let x0 = (plane.width.saturating_sub(side)) / 2;
        let y0 = (plane.height.saturating_sub(side)) / 2;
        Rect::new(x0, y0, x0 + side, y0 + side).clamp(plane.width, plane.height)
    };

    let dense_map = |rect: Rect| async move {
        segment(net, plane, rect, backend.max_buffer, device, &mut |_, _| {})
            .await
            .map(|_| ())
    };

    for &side in &plan.dense {
        let rect = crop(side);
        let s = median_time(repeats, clock, || dense_map(rect)).await?;
        let px = (rect.width() * rect.height()) as f64 / s;
        record(
            Figure {
                key: format!("dense_{side}_px_per_s"),
                value: px,
                seconds: s,
                text: format!("dense {side}×{side}: {s:.3} s, {px:.0} px/s"),
            },
            &mut figures,
        );
    }

    if plan.whole {
        let rect = Rect::new(0, 0, plane.width, plane.height);
        let t = clock();
        dense_map(rect).await?;
        let s = (clock() - t) / 1000.0;
        let px = (rect.width() * rect.height()) as f64 / s;
        record(
            Figure {
                key: "dense_full_px_per_s".into(),
                value: px,
                seconds: s,
                text: format!(
                    "dense {}×{} (whole image): {s:.2} s, {px:.0} px/s",
                    plane.width, plane.height
                ),
            },
            &mut figures,
        );
    }

    if plan.naive > 0 {
        let rect = crop(plan.naive);
        let job = || async move {
            segment_naive(net, plane, rect, 256, device, &mut |_, _| {})
                .await
                .map(|_| ())
        };
        let s = median_time(repeats, clock, job).await?;
        let px = (rect.width() * rect.height()) as f64 / s;
        let side = plan.naive;
        record(
            Figure {
                key: "naive_px_per_s".into(),
                value: px,
                seconds: s,
                text: format!(
                    "patch by patch {side}×{side} (batches of 256): {s:.3} s, {px:.0} px/s"
                ),
            },
            &mut figures,
        );
    }

    if plan.unet {
        let net = &UNet::new(1, device);
        let unet_map = |rect: Rect| async move {
            unet::segment(net, plane, rect, backend.max_buffer, device, &mut |_, _| {})
                .await
                .map(|_| ())
        };
        let rect = crop(256);
        let s = median_time(repeats, clock, || unet_map(rect)).await?;
        let px = (rect.width() * rect.height()) as f64 / s;
        record(
            Figure {
                key: "unet_256_px_per_s".into(),
                value: px,
                seconds: s,
                text: format!("U-Net 256×256: {s:.3} s, {px:.0} px/s"),
            },
            &mut figures,
        );
        if plan.whole {
            let rect = Rect::new(0, 0, plane.width, plane.height);
            let t = clock();
            unet_map(rect).await?;
            let s = (clock() - t) / 1000.0;
            let px = (rect.width() * rect.height()) as f64 / s;
            record(
                Figure {
                    key: "unet_full_px_per_s".into(),
                    value: px,
                    seconds: s,
                    text: format!(
                        "U-Net {}×{} (whole image): {s:.2} s, {px:.0} px/s",
                        plane.width, plane.height
                    ),
                },
                &mut figures,
            );
        }
    }

    let (train_region, heldout) = heldout_split(plane.width, plane.height);
    for &batch in &plan.train {
        let config = TrainConfig {
            batch,
            heldout_patches: 3,
            ..TrainConfig::default()
        };
        let mut trainer =
            Trainer::fresh(&spec, plane, labels, train_region, heldout, config, device)
                .map_err(|e| e.to_string())?;
        // steps return after reading the loss back, so each timing includes the GPU's work
        let mut times = Vec::new();
        for i in 0..=repeats {
            let t = clock();
            trainer.step().await?;
            if i > 0 {
                times.push((clock() - t) / 1000.0);
            }
        }
        let s = median(times);
        let rate = batch as f64 / s;
        record(
            Figure {
                key: format!("train_{batch}_patches_per_s"),
                value: rate,
                seconds: s,
                text: format!(
                    "Adam step, batch {batch}: {:.0} ms, {rate:.0} patches/s",
                    1000.0 * s
                ),
            },
            &mut figures,
        );
    }
    Ok(figures)
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(vec![]).is_nan());
    }
}
