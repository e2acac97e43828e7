//! The architecture is the paper's: with the Keras reference graph's weights loaded, our
//! network gives Keras's logits (tests/fixtures/make_fixtures.py, section D).

use timnet_testkit::{self as common, fixture_bytes};

use burn::prelude::*;
use burn::tensor::TensorData;
use common::{keras_model, max_abs_diff, npy};
use timnet::model::TimNetConfig;

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
// In the browser (wasm-bindgen-test runs in Node otherwise), as the page does.
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

pub fn keras_logits_on(device: &Device) -> f32 {
    let model = keras_model(device);
    let (shape, x) = npy(fixture_bytes!("keras_input.npy"));
    let (_, want) = npy(fixture_bytes!("keras_logits.npy"));
    let input = Tensor::<3>::from_data(TensorData::new(x, [shape[0], shape[1], shape[2]]), device);
    let got = model.forward(input).into_data().try_to_vec::<f32>().unwrap();
    max_abs_diff(&got, &want)
}

#[test]
fn logits_equal_keras_within_1e_4() {
    let diff = keras_logits_on(&Device::flex());
    println!("inference logits: max |ours - keras| = {diff:.2e}");
    assert!(diff <= 1e-4, "max |ours - keras| = {diff}");
}

#[test]
fn parameter_counts_are_the_papers() {
    let config = TimNetConfig::default();
    let model = config.init(&Device::flex());
    // burn counts BatchNorm's running statistics as Keras does; the shape-derived count of
    // trainable parameters must account for the rest exactly.
    assert_eq!(model.num_params(), 106_992);
    assert_eq!(config.trainable_parameters(), 104_496);
    assert_eq!(config.trainable_parameters() + config.running_statistics(), model.num_params());
}

#[test]
fn import_refuses_a_model_of_another_shape() {
    let weights = common::keras_weights();
    let six = TimNetConfig::default().with_classes(6).init(&Device::flex());
    let error = weights.apply(six).unwrap_err().to_string();
    assert!(error.contains("dense.kernel") && error.contains("[39, 7]"), "{error}");
}
