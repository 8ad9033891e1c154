//! Memory over a long run of segmentations, on the CPU or (with `CELLSEG_SOAK_BACKEND=wgpu`)
//! the native WebGPU backend; on a software Vulkan driver such as lavapipe the "GPU" memory is
//! this process's memory, so the resident size shows GPU-side growth too. Ignored by default
//! (minutes): `cargo test --test soak -- --ignored --nocapture`.

use cellseg::core::plane::{Plane, Rect};
use cellseg::model::backend::Backend;
use cellseg::model::network::Network;
use cellseg::model::spec::Spec;

fn resident_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

#[test]
#[ignore]
fn resident_memory_stays_flat_over_many_segmentations() {
    let backend = match std::env::var("CELLSEG_SOAK_BACKEND").as_deref() {
        Ok("wgpu") => pollster::block_on(Backend::gpu()).expect("a WebGPU adapter"),
        _ => Backend::cpu(),
    };
    let runs: usize = std::env::var("CELLSEG_SOAK_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let net = Network::new(&Spec::preset("original").unwrap(), 1, &backend.device);
    let plane = Plane::new(
        128,
        128,
        (0..128 * 128)
            .map(|i| ((i * 37) % 101) as f32 / 101.0)
            .collect(),
    );
    let mut samples = Vec::new();
    for run in 1..=runs {
        let map = pollster::block_on(cellseg::model::dense::segment(
            &net,
            &plane,
            Rect::new(15, 15, 113, 113),
            backend.max_buffer,
            &backend.device,
            &mut |_, _| {},
        ))
        .unwrap();
        assert_eq!(map.width, 98);
        if run == 1 || run % 10 == 0 {
            samples.push((run, resident_mib()));
            println!(
                "{} run {run}: resident {:.1} MiB",
                backend.name(),
                resident_mib()
            );
        }
    }
    // after the first run (kernels compiled, pools warmed), within 10%
    let after = &samples[1..];
    let (lo, hi) = after
        .iter()
        .fold((f64::MAX, 0f64), |(lo, hi), &(_, m)| (lo.min(m), hi.max(m)));
    assert!(hi <= lo * 1.10, "resident memory grew: {samples:?}");
}
