//! The native command line over the same library. For now: `cellseg bench`, the speed of the
//! posts' network per backend (dense px/s, naive px/s, training steps/s) on the real image.
//!
//! usage: cellseg bench [--backend cpu|wgpu] [--image phase_027.tif] [--labels classes.png]

use std::time::Instant;

use cellseg::backend::Backend;
use cellseg::dense::segment;
use cellseg::labels::ClassMap;
use cellseg::naive::segment_naive;
use cellseg::network::Network;
use cellseg::plane::{Plane, Rect};
use cellseg::spec::Spec;
use cellseg::train::{TrainConfig, Trainer, heldout_split};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Err(e) = run(&args) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

fn run(args: &[String]) -> Result<(), String> {
    match args.first().map(String::as_str) {
        Some("bench") => bench(args),
        _ => Err(
            "usage: cellseg bench [--backend cpu|wgpu] [--image IMG.tif] [--labels CLASSES.png]"
                .into(),
        ),
    }
}

fn bench(args: &[String]) -> Result<(), String> {
    // Where the tests find the data too: $CELLSEG_DATA, else beside the checkout.
    let data = std::env::var("CELLSEG_DATA").unwrap_or_else(|_| "../shared/data/bsubtilis".into());
    let image = flag(args, "--image").map_or_else(
        || format!("{data}/upstream/Images/phase_027.tif"),
        String::from,
    );
    let labels = flag(args, "--labels")
        .map_or_else(|| format!("{data}/phase_027_classes.png"), String::from);
    let backend = match flag(args, "--backend").unwrap_or("cpu") {
        "cpu" => Backend::cpu(),
        "wgpu" => pollster::block_on(Backend::gpu())?,
        other => return Err(format!("unknown backend '{other}'")),
    };
    let read = |p: &str| std::fs::read(p).map_err(|e| format!("{p}: {e}"));
    let (plane, _) =
        cellseg::decode::decode_normalised(&read(&image)?).map_err(|e| e.to_string())?;
    let labels = ClassMap::from_class_image(&read(&labels)?).map_err(|e| e.to_string())?;
    println!("backend: {} ({})", backend.name(), backend.adapter);
    let spec = Spec::preset("original").expect("preset");
    let net = Network::new(&spec, 1, &backend.device);
    let device = &backend.device;

    for side in [98, 256] {
        let rect = Rect::new(300, 300, 300 + side, 300 + side);
        let run = || {
            pollster::block_on(segment(
                &net,
                &plane,
                rect,
                backend.max_buffer,
                device,
                &mut |_, _| {},
            ))
        };
        run()?; // warm-up: kernels compiled, buffers allocated
        let t = Instant::now();
        run()?;
        let s = t.elapsed().as_secs_f64();
        println!(
            "dense {side}x{side}: {:.3} s, {:.0} px/s",
            s,
            (side * side) as f64 / s
        );
    }
    let rect = Rect::new(300, 300, 332, 332);
    let t = Instant::now();
    pollster::block_on(segment_naive(
        &net,
        &plane,
        rect,
        256,
        device,
        &mut |_, _| {},
    ))?;
    let s = t.elapsed().as_secs_f64();
    println!(
        "naive 32x32 (batch 256): {:.3} s, {:.0} px/s",
        s,
        1024.0 / s
    );

    for batch in [16, 256] {
        let config = TrainConfig {
            batch,
            ..TrainConfig::default()
        };
        let (train, held) = heldout_split(plane.width, plane.height);
        let mut trainer = Trainer::fresh(&spec, &plane, &labels, train, held, config, device)
            .map_err(|e| e.to_string())?;
        step(&mut trainer, &plane)?;
        let n = 10;
        let t = Instant::now();
        for _ in 0..n {
            step(&mut trainer, &plane)?;
        }
        let s = t.elapsed().as_secs_f64() / n as f64;
        println!(
            "train batch {batch}: {:.0} ms/step, {:.0} patches/s",
            1000.0 * s,
            batch as f64 / s
        );
    }
    Ok(())
}

fn step(trainer: &mut Trainer, plane: &Plane) -> Result<(), String> {
    pollster::block_on(trainer.step(plane)).map(|_| ())
}
