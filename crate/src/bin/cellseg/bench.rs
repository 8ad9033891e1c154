//! `cellseg bench`: the speed figures of `make bench` (the posts' network dense against
//! naive, the U-Net, training steps) on the CPU or the GPU.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

use cellseg::bench::{self, Plan};

use crate::{BackendArg, Result, backend, image, labels_for};

#[derive(Args)]
pub(crate) struct BenchArgs {
    /// Image to run on (default: phase_027 from $CELLSEG_DATA or ../shared/data/bsubtilis).
    #[arg(long)]
    image: Option<PathBuf>,
    /// Its labels, for the training figures.
    #[arg(long)]
    labels: Option<PathBuf>,
    /// Where the networks run.
    #[arg(long, value_enum, default_value_t = BackendArg::Cpu)]
    backend: BackendArg,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Timed runs per figure, after a warm-up; the median is reported.
    #[arg(long, default_value_t = 3)]
    repeats: usize,
}

pub(crate) fn run(a: BenchArgs) -> Result<()> {
    // Where the tests find the data too: $CELLSEG_DATA, else beside the checkout.
    let data = PathBuf::from(
        std::env::var("CELLSEG_DATA").unwrap_or_else(|_| "../shared/data/bsubtilis".into()),
    );
    let image_path = a
        .image
        .unwrap_or_else(|| data.join("upstream/Images/phase_027.tif"));
    let labels_path = a
        .labels
        .unwrap_or_else(|| data.join("phase_027_classes.png"));
    let backend = backend(&a.backend)?;
    let plane = image(&image_path)?;
    let labels = labels_for(&labels_path, &plane)?;
    let plan = Plan {
        repeats: a.repeats,
        ..Plan::full()
    }
    .within_limits();
    if !a.json {
        println!("backend: {} ({})", backend.name(), backend.adapter);
    }
    let started = Instant::now();
    let clock = || started.elapsed().as_secs_f64() * 1000.0;
    let figures = pollster::block_on(bench::run(
        &backend,
        &plane,
        &labels,
        &plan,
        &clock,
        &mut |f| {
            if !a.json {
                println!("{}", f.text);
            }
        },
    ))?;
    if a.json {
        let mut results = serde_json::Map::new();
        for f in figures {
            results.insert(f.key, f.value.into());
        }
        results.insert("backend".into(), backend.name().into());
        results.insert("adapter".into(), backend.adapter.clone().into());
        results.insert("repeats".into(), plan.repeats.into());
        println!("{}", serde_json::Value::Object(results));
    }
    Ok(())
}
