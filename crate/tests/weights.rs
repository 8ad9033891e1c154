//! Weights files round-trip, and refuse what they cannot load with a clear reason.

use burn::tensor::{Device, Tensor, TensorData};
use cellseg::model::network::Network;
use cellseg::model::spec::Spec;
use cellseg::model::weights::{
    Precision, WeightsError, from_bytes, read_spec, to_bytes, to_bytes_as,
};

fn outputs(net: &Network) -> Vec<f32> {
    let input: Vec<f32> = (0..2 * 31 * 31)
        .map(|i| ((i * 37) % 101) as f32 / 101.0)
        .collect();
    let x = Tensor::from_data(TensorData::new(input, [2, 1, 31, 31]), &Device::flex());
    net.forward(x).into_data().try_to_vec::<f32>().unwrap()
}

#[test]
fn weights_round_trip_exactly() {
    let device = Device::flex();
    let spec = Spec::preset("network2").unwrap();
    let net = Network::new(&spec, 11, &device);
    let bytes = to_bytes(&net).unwrap();
    assert_eq!(read_spec(&bytes).unwrap().0, spec);
    let back = from_bytes(&bytes, Some(&spec), &device).unwrap();
    assert_eq!(outputs(&net), outputs(&back));
    assert_ne!(outputs(&net), outputs(&Network::new(&spec, 12, &device)));
}

#[test]
fn half_precision_files_are_half_the_size_and_load_as_f32_close_to_the_original() {
    let device = Device::flex();
    let spec = Spec::preset("original").unwrap();
    let net = Network::new(&spec, 5, &device);
    let (full, half) = (
        to_bytes(&net).unwrap(),
        to_bytes_as(&net, Precision::F16).unwrap(),
    );
    let ratio = half.len() as f64 / full.len() as f64;
    assert!((0.49..0.52).contains(&ratio), "{ratio}");
    let back = from_bytes(&half, Some(&spec), &device).unwrap();
    // the loaded network computes in f32 (into_data as f32 would fail otherwise) and differs
    // from the original only by f16 rounding of its weights
    let (a, b) = (outputs(&net), outputs(&back));
    assert_ne!(a, b);
    let worst = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0f32, f32::max);
    assert!(worst < 1e-2, "{worst}");
    // saving the loaded network again in f16 changes nothing
    assert_eq!(to_bytes_as(&back, Precision::F16).unwrap(), half);
}

#[test]
fn weights_of_another_network_are_refused_by_name() {
    let device = Device::flex();
    let bytes = to_bytes(&Network::new(
        &Spec::preset("deepcell").unwrap(),
        1,
        &device,
    ))
    .unwrap();
    let want = Spec::preset("original").unwrap();
    let err = from_bytes(&bytes, Some(&want), &device).unwrap_err();
    assert!(matches!(err, WeightsError::Mismatch { .. }));
    assert!(
        err.to_string()
            .starts_with("these weights are for network 'deepcell'"),
        "{err}"
    );
}

#[test]
fn garbage_and_truncated_files_are_refused() {
    let device = Device::flex();
    assert!(matches!(
        from_bytes(b"\x00\x01random", None, &device),
        Err(WeightsError::NotWeights)
    ));
    let bytes = to_bytes(&Network::new(
        &Spec::preset("original").unwrap(),
        1,
        &device,
    ))
    .unwrap();
    let err =
        from_bytes(&bytes[..bytes.len() / 2], None, &device).expect_err("truncated must fail");
    assert!(matches!(err, WeightsError::Record(_)), "{err}");
    let mut bad_spec = bytes.clone();
    let at = bad_spec.windows(7).position(|w| w == b"conv4x2").unwrap();
    bad_spec[at + 4] = b'9';
    let err = from_bytes(&bad_spec, None, &device).expect_err("bad spec must fail");
    assert!(matches!(err, WeightsError::Spec(_)), "{err}");
}
