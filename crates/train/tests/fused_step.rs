//! The fused CPU training step computes what the network computes: Keras's gradients, loss
//! and moving statistics on the reference graph's fixture (tests/fixtures/make_fixtures.py,
//! section D), and burn's logits and autodiff gradients on every ablation.
#![cfg(not(target_arch = "wasm32"))]

use timnet_testkit::{self as common, fixture_bytes};

use burn::module::{Module, ModuleMapper, Param};
use burn::prelude::*;
use burn::tensor::Gradients;
use burn::tensor::activation::log_softmax;
use burn::tensor::{Distribution, TensorData};
use common::{keras_model, max_abs_diff, npy};
use timnet::model::{Ablations, DropoutMasks, KerasWeights, TimNet, TimNetConfig};
use timnet_train::fused::{Domains, Epsilon, FusedTrainer};

fn smoothed(labels: &[usize], classes: usize) -> Vec<f32> {
    let mut y = vec![0.1 / classes as f32; labels.len() * classes];
    for (r, &l) in labels.iter().enumerate() {
        y[r * classes + l] += 0.9;
    }
    y
}

fn keras_batch() -> (Vec<f32>, Vec<f32>) {
    let (_, x) = npy(fixture_bytes!("keras_input.npy"));
    (x, smoothed(&[0, 3, 6, 2], 7))
}

fn trainable(config: &TimNetConfig) -> Vec<std::ops::Range<usize>> {
    config.params().trainable().iter().map(|s| s.range()).collect()
}

fn max_diff_over(a: &[f32], b: &[f32], spans: &[std::ops::Range<usize>]) -> f32 {
    spans.iter().map(|r| max_abs_diff(&a[r.clone()], &b[r.clone()])).fold(0.0, f32::max)
}

#[test]
fn gradients_loss_and_moving_statistics_equal_kerases() {
    let mut model = keras_model(&Device::flex());
    // Keras's gradient fixture was taken with SpatialDropout at rate 0.
    model.config.dropout = 0.0;
    let mut fused = FusedTrainer::new(&model, 1e-3);
    let (x, y) = keras_batch();
    let pass = fused.pass(&x, 4, &y, 0);

    let (_, want) = npy(fixture_bytes!("keras_grads.npy"));
    let spans = trainable(model.config());
    let diff = max_diff_over(&pass.grads, &want, &spans);
    let largest = want.iter().fold(0.0f32, |m, g| m.max(g.abs()));
    println!("fused gradients: max |ours - keras| = {diff:.2e} (largest gradient {largest:.2e})");
    assert!(diff <= 1e-4, "max |ours - keras| = {diff}");

    let expected: serde_json::Value = serde_json::from_slice(fixture_bytes!("keras_grad_loss.json")).unwrap();
    let keras_loss = expected["loss"].as_f64().unwrap() as f32;
    println!("fused loss {} vs keras {keras_loss}", pass.loss);
    assert!((pass.loss - keras_loss).abs() <= 1e-5);

    // The moving statistics after that one training-mode pass, BatchNorm by BatchNorm.
    let (_, moving) = npy(fixture_bytes!("keras_moving_after_step.npy"));
    let after = KerasWeights::from_model(&fused.model(&Device::flex()).unwrap());
    let ours: Vec<f32> = after
        .table()
        .norms()
        .flat_map(|n| n.mean.slice(after.flat()).iter().chain(n.var.slice(after.flat())).copied().collect::<Vec<_>>())
        .collect();
    let diff = max_abs_diff(&ours, &moving);
    println!("moving statistics: max |ours - keras| = {diff:.2e}");
    assert!(diff <= 1e-5, "max |ours - keras| = {diff}");
}

#[test]
fn inference_logits_equal_kerases() {
    let mut fused = FusedTrainer::new(&keras_model(&Device::flex()), 1e-3);
    let (x, _) = keras_batch();
    let (_, want) = npy(fixture_bytes!("keras_logits.npy"));
    let diff = max_abs_diff(&fused.logits(&x, 4), &want);
    println!("fused inference logits: max |ours - keras| = {diff:.2e}");
    assert!(diff <= 1e-4);
}

/// Replaces every parameter by its gradient, so that the gradients read out in Keras's layout.
struct ToGradients<'a>(&'a Gradients);

impl ModuleMapper for ToGradients<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let value = param.val();
        let grad = value.grad(self.0).unwrap_or_else(|| value.zeros_like().inner());
        Param::from_tensor(grad)
    }
}

fn ablation_configs() -> Vec<(&'static str, TimNetConfig)> {
    let small = TimNetConfig { classes: 4, tabs: 4, dropout: 0.0, ..TimNetConfig::default() };
    let with = |a: Ablations| TimNetConfig { ablations: a, ..small.clone() };
    vec![
        ("full", small.clone()),
        ("kernel 3", TimNetConfig { kernel: 3, ..small.clone() }),
        // The wider variant: nothing in the fused step may assume the paper's 39 filters.
        ("64 filters", TimNetConfig { filters: 64, ..small.clone() }),
        ("tcn", with(Ablations { tcn: true, ..Default::default() })),
        ("w/o BD", with(Ablations { no_bidirection: true, ..Default::default() })),
        ("w/o MS", with(Ablations { no_multiscale: true, ..Default::default() })),
        ("w/o DF", with(Ablations { no_dynamic_fusion: true, ..Default::default() })),
    ]
}

#[test]
fn every_ablation_matches_burns_logits_and_gradients() {
    let device = Device::flex().autodiff();
    for (name, config) in ablation_configs() {
        device.seed(5);
        let model: TimNet = config.init(&device);
        let (batch, frames) = (3, 40);
        let x = Tensor::<3>::random([batch, frames, config.features], Distribution::Normal(0.0, 3.0), &device);
        let host = x.clone().into_data().try_to_vec::<f32>().unwrap();
        let y = smoothed(&[0, 2, 3], config.classes);

        let mut fused = FusedTrainer::new(&model, 1e-3);
        let logits = model.valid().forward(x.clone().inner()).into_data().try_to_vec::<f32>().unwrap();
        let diff = max_abs_diff(&fused.logits(&host, batch), &logits);
        assert!(diff <= 1e-4, "{name}: inference logits differ by {diff}");

        let target = Tensor::<2>::from_data(TensorData::new(y.clone(), [batch, config.classes]), &device);
        let loss = -(log_softmax(model.forward(x), 1) * target).sum_dim(1).mean();
        let grads = loss.backward();
        let burn = KerasWeights::from_model(&model.clone().map(&mut ToGradients(&grads))).into_flat();
        let pass = fused.pass(&host, batch, &y, 0);
        let diff = max_diff_over(&pass.grads, &burn, &trainable(&config));
        println!("{name}: max |fused - burn autodiff| gradient = {diff:.2e}");
        assert!(diff <= 1e-4, "{name}: gradients differ by {diff}");
    }
}

#[test]
fn a_checkpoint_restores_weights_and_optimiser() {
    let mut config = TimNetConfig { classes: 3, tabs: 3, ..TimNetConfig::default() };
    config.dropout = 0.1;
    let device = Device::flex();
    device.seed(9);
    let model = config.init(&device);
    let x: Vec<f32> = (0..2 * 30 * 39).map(|i| ((i * 37 % 101) as f32 - 50.0) / 10.0).collect();
    let y = smoothed(&[0, 2], 3);
    let mut a = FusedTrainer::new(&model, 1e-3);
    a.step(&x, 2, &y, 1);
    let file = common::scratch("fused-checkpoint").join("fused.bin");
    a.save(&file).unwrap();
    let mut b = FusedTrainer::new(&model, 1e-3);
    b.load(&file).unwrap();
    let (la, lb) = (a.step(&x, 2, &y, 2), b.step(&x, 2, &y, 2));
    assert_eq!(la.to_bits(), lb.to_bits());
    assert_eq!(a.logits(&x, 2), b.logits(&x, 2));

    let other = FusedTrainer::new(&TimNetConfig { tabs: 2, ..config }.init(&device), 1e-3);
    let mut other = other;
    let error = other.load(&file).unwrap_err().to_string();
    assert!(error.contains("another network"), "{error}");
    std::fs::write(&file, b"not a checkpoint").unwrap();
    let error = other.load(&file).unwrap_err().to_string();
    assert!(error.contains("not a fused-trainer checkpoint"), "{error}");
}

/// The fused step's spatial-dropout masks, as burn tensors [batch, channels, 1].
/// Weight averaging: the average is the mean of the weights after each step since it started
/// (not of those before), a checkpoint carries it, and adopting it makes it the model.
#[test]
fn the_weight_average_is_the_mean_of_the_steps_since_it_started() {
    let config = TimNetConfig { classes: 3, tabs: 3, ..TimNetConfig::default() };
    let device = Device::flex();
    device.seed(4);
    let model = config.init(&device);
    let x: Vec<f32> = (0..2 * 30 * 39).map(|i| ((i * 53 % 97) as f32 - 48.0) / 9.0).collect();
    let y = smoothed(&[1, 2], 3);
    let mut a = FusedTrainer::new(&model, 1e-2);
    a.step(&x, 2, &y, 1);
    assert!(!a.swap_average() && a.average().is_none(), "no average before it starts");
    a.start_averaging();
    let mut seen = Vec::new();
    for seed in 2..5 {
        a.step(&x, 2, &y, seed);
        seen.push(a.params().to_vec());
    }
    let average = a.average().expect("an average after three steps").params().to_vec();
    assert_eq!(a.average().unwrap().steps(), 3);
    for (k, &mean) in average.iter().enumerate() {
        let expected = seen.iter().map(|p| p[k]).sum::<f32>() / 3.0;
        assert!((mean - expected).abs() <= 1e-6 * (1.0 + expected.abs()), "weight {k}: {mean} against {expected}");
    }
    assert_ne!(average, seen[2], "the steps moved the weights, so their mean is not the last");

    let file = common::scratch("fused-average").join("fused.bin");
    a.save(&file).unwrap();
    let mut b = FusedTrainer::new(&model, 1e-2);
    b.load(&file).unwrap();
    assert_eq!(b.average().map(|a| (a.params().to_vec(), a.steps())), Some((average.clone(), 3)));
    let (la, lb) = (a.step(&x, 2, &y, 5), b.step(&x, 2, &y, 5));
    assert_eq!(la.to_bits(), lb.to_bits());
    assert_eq!(a.average(), b.average(), "both averages took in the fourth step alike");

    let four = a.average().unwrap().params().to_vec();
    a.adopt_average();
    assert_eq!(a.params(), &four[..], "adopted, the average is the weights");
    assert!(a.average().is_none() && !a.swap_average());
    // b still holds the last step's weights, which answer otherwise.
    assert_ne!(a.logits(&x, 2), b.logits(&x, 2));
}

fn burn_masks(fused: &FusedTrainer, batch: usize, seed: u64, device: &Device) -> DropoutMasks {
    let filters = fused.config().filters;
    fused
        .dropout_masks(batch, seed)
        .into_iter()
        .map(|direction| {
            direction
                .into_iter()
                .map(|pair| pair.map(|m| Tensor::<3>::from_data(TensorData::new(m, [batch, filters, 1]), device)))
                .collect()
        })
        .collect()
}

#[test]
fn with_dropout_on_the_same_masks_give_burns_gradients() {
    let device = Device::flex().autodiff();
    for (name, config) in ablation_configs() {
        let config = TimNetConfig { dropout: 0.3, ..config };
        device.seed(11);
        let model: TimNet = config.init(&device);
        let (batch, frames) = (4, 32);
        let x = Tensor::<3>::random([batch, frames, config.features], Distribution::Normal(0.0, 3.0), &device);
        let host = x.clone().into_data().try_to_vec::<f32>().unwrap();
        let y = smoothed(&[0, 2, 3, 1], config.classes);
        let mut fused = FusedTrainer::new(&model, 1e-3);
        let seed = 77;
        let masks = burn_masks(&fused, batch, seed, &device);
        let dropped = masks
            .iter()
            .flatten()
            .flatten()
            .map(|m| m.clone().inner().equal_elem(0.0).int().sum().into_scalar::<i64>())
            .sum::<i64>();
        assert!(dropped > 0, "{name}: a rate of 0.3 drops some channels");

        let target = Tensor::<2>::from_data(TensorData::new(y.clone(), [batch, config.classes]), &device);
        let loss = -(log_softmax(model.forward_masked(x, &masks), 1) * target).sum_dim(1).mean();
        let burn_loss: f32 = loss.clone().into_scalar();
        let grads = loss.backward();
        let burn = KerasWeights::from_model(&model.clone().map(&mut ToGradients(&grads))).into_flat();
        let pass = fused.pass(&host, batch, &y, seed);
        let diff = max_diff_over(&pass.grads, &burn, &trainable(&config));
        println!(
            "{name}, dropout 0.3: max |fused - burn autodiff| gradient = {diff:.2e}, loss {} vs {burn_loss}",
            pass.loss
        );
        assert!((pass.loss - burn_loss).abs() <= 1e-5, "{name}: losses differ");
        assert!(diff <= 1e-4, "{name}: gradients differ by {diff}");
    }
}

/// Keras (and so the fused step) adds ε to √v; burn's Adam adds ε·√(1-β₂ᵗ), i.e. ε to √v̂. The
/// two steps differ where √v̂ is not far above ε (1e-8), which happens: over 9 batches of 64
/// the weights drift apart by a sizeable share of what training moved them (printed below;
/// about a quarter here). What a user sees is the prediction, so that is what is bounded: the
/// two networks' class probabilities on a fresh batch.
#[test]
fn the_two_adam_epsilons_give_networks_that_predict_alike() {
    let config = TimNetConfig { classes: 4, tabs: 4, dropout: 0.1, ..TimNetConfig::default() };
    let device = Device::flex();
    device.seed(21);
    let model = config.init(&device);
    let (mut keras, mut burn) = (FusedTrainer::new(&model, 1e-3), FusedTrainer::new(&model, 1e-3));
    burn.set_epsilon(Epsilon::Burn);
    let (batch, frames) = (64, 60);
    let batch_of = |step: u64| -> Vec<f32> {
        (0..batch * frames * 39).map(|i| (((i as u64 * 7919 + step * 104_729) % 1009) as f32 - 504.0) / 50.0).collect()
    };
    for step in 0..9u64 {
        let x = batch_of(step);
        let labels: Vec<usize> = (0..batch).map(|b| (b + step as usize) % 4).collect();
        let y = smoothed(&labels, 4);
        keras.step(&x, batch, &y, step);
        burn.step(&x, batch, &y, step);
    }
    let spans = trainable(&config);
    let start = KerasWeights::from_model(&model).into_flat();
    let weight_gap = max_diff_over(keras.params(), burn.params(), &spans);
    let moved = max_diff_over(keras.params(), &start, &spans);
    assert!(weight_gap > 0.0, "the two placements are different computations");

    let fresh = batch_of(100);
    let mut untrained = FusedTrainer::new(&model, 1e-3);
    let [p0, pk, pb] = [untrained.logits(&fresh, batch), keras.logits(&fresh, batch), burn.logits(&fresh, batch)]
        .map(|logits| softmax_rows(&logits, 4));
    let gap = max_abs_diff(&pk, &pb);
    let learned = max_abs_diff(&pk, &p0);
    println!(
        "Adam ε as Keras vs as burn after 9 steps: weights {weight_gap:.2e} apart (training moved them {moved:.2e}); \
         probabilities {gap:.2e} apart (training moved them {learned:.2e})"
    );
    assert!(learned > 1e-3, "training moved the probabilities by only {learned:.2e}");
    assert!(
        gap <= 0.05 * learned,
        "the placements' probabilities differ by {gap:.2e} against a change of {learned:.2e}"
    );
}

fn softmax_rows(logits: &[f32], classes: usize) -> Vec<f32> {
    logits
        .chunks(classes)
        .flat_map(|row| {
            let top = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let e: Vec<f32> = row.iter().map(|v| (v - top).exp()).collect();
            let sum: f32 = e.iter().sum();
            e.into_iter().map(move |v| v / sum)
        })
        .collect()
}

/// burn's autodiff on a GPU through wgpu (in CI: lavapipe, Mesa's software Vulkan) gives the
/// fused CPU step's loss and gradients: BatchNorm in training mode, dropout off.
#[cfg(feature = "wgpu")]
#[test]
fn on_wgpu_burns_autodiff_gives_the_fused_steps_gradients() {
    let base = timnet_train::gpu::wgpu_device().expect("a wgpu adapter (lavapipe in CI: mesa-vulkan-drivers)");
    gives_the_fused_steps_gradients(base);
}

/// The same through CUDA, where there is an NVIDIA GPU (CI has none: it is skipped, in words).
#[cfg(feature = "cuda")]
#[test]
fn on_cuda_burns_autodiff_gives_the_fused_steps_gradients() {
    match timnet_train::gpu::first_device(timnet_train::gpu::Runtime::Cuda) {
        Ok(base) => gives_the_fused_steps_gradients(base),
        Err(e) => println!("SKIPPED: the CUDA gradient check: {e}"),
    }
}

/// burn's autodiff over `base` against the fused CPU step, for every ablation's network.
#[cfg(any(feature = "wgpu", feature = "cuda"))]
fn gives_the_fused_steps_gradients(base: Device) {
    let gpu = base.clone().autodiff();
    for (name, config) in ablation_configs() {
        let cpu = Device::flex();
        cpu.seed(5);
        let model: TimNet = config.init(&cpu);
        let (batch, frames) = (3, 40);
        let x = Tensor::<3>::random([batch, frames, config.features], Distribution::Normal(0.0, 3.0), &cpu);
        let host = x.into_data().try_to_vec::<f32>().unwrap();
        let y = smoothed(&[0, 2, 3], config.classes);
        let pass = FusedTrainer::new(&model, 1e-3).pass(&host, batch, &y, 0);

        let model = model.to_device(&base).train();
        let x = Tensor::<3>::from_data(TensorData::new(host, [batch, frames, config.features]), &gpu);
        let target = Tensor::<2>::from_data(TensorData::new(y, [batch, config.classes]), &gpu);
        let loss = -(log_softmax(model.forward(x), 1) * target).sum_dim(1).mean();
        let gpu_loss: f32 = loss.clone().into_scalar();
        let grads = loss.backward();
        let burn = KerasWeights::from_model(&model.clone().map(&mut ToGradients(&grads))).into_flat();
        let diff = max_diff_over(&pass.grads, &burn, &trainable(&config));
        let largest = pass.grads.iter().fold(0.0f32, |m, g| m.max(g.abs()));
        println!(
            "{name}: max |fused CPU - {base:?} autodiff| gradient = {diff:.2e} (largest {largest:.2e}), loss {} vs {gpu_loss}",
            pass.loss
        );
        assert!(largest > 1e-3, "{name}: the gradients are not all near zero");
        assert!((pass.loss - gpu_loss).abs() <= 1e-5, "{name}: losses differ");
        assert!(diff <= 1e-4, "{name}: gradients differ by {diff}");
    }
}

/// Replaces every parameter by its gradient from `GradientsParams` (what a training step hands
/// the optimiser), so that the gradients read out in Keras's layout.
#[cfg(feature = "wgpu")]
struct FromGradientsParams<'a>(&'a burn::optim::GradientsParams);

#[cfg(feature = "wgpu")]
impl ModuleMapper for FromGradientsParams<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let grad = self.0.get::<D>(param.id).unwrap_or_else(|| param.val().zeros_like().inner());
        Param::from_tensor(grad)
    }
}

/// Two wgpu devices (on one adapter: the default one and the one named "cpu", lavapipe both in
/// CI), each batch shared 3 + 2: the summed gradients equal the fused CPU step's on each share,
/// weighted by its part of the batch (BatchNorm normalises each share by its own statistics).
#[cfg(feature = "wgpu")]
#[test]
fn on_two_wgpu_devices_the_shares_gradients_sum_to_the_batchs() {
    use timnet_train::fit::{Backend, FitOptions, FitState, Learner};
    let (_, config) = ablation_configs().remove(0);
    let options =
        FitOptions { backend: Backend::Wgpu, devices: vec!["default".into(), "cpu".into()], ..FitOptions::default() };
    let state = FitState::new(&config, &options, 11).expect("two wgpu devices (lavapipe in CI: mesa-vulkan-drivers)");
    let initial = state.model().unwrap();

    let (batch, frames, features, classes) = (5, 40, config.features, config.classes);
    let cpu = Device::flex();
    cpu.seed(12);
    let x = Tensor::<3>::random([batch, frames, features], Distribution::Normal(0.0, 3.0), &cpu);
    let host = x.into_data().try_to_vec::<f32>().unwrap();
    let y = smoothed(&[0, 2, 3, 1, 2], classes);
    let mut fused = FusedTrainer::new(&initial, 1e-3);
    let mut share = |rows: std::ops::Range<usize>| {
        let x = &host[rows.start * frames * features..rows.end * frames * features];
        fused.pass(x, rows.len(), &y[rows.start * classes..rows.end * classes], 0)
    };
    let (first, second) = (share(0..3), share(3..5));
    let expected: Vec<f32> = first.grads.iter().zip(&second.grads).map(|(a, b)| 0.6 * a + 0.4 * b).collect();
    let whole = fused.pass(&host, batch, &y, 0);

    let (loss, grads) = state.gradients(&host, &y, batch, frames, 0).unwrap();
    let Learner::Autodiff { model, .. } = &state.learner else { unreachable!("a wgpu state") };
    let ours = KerasWeights::from_model(&(**model).clone().map(&mut FromGradientsParams(&grads))).into_flat();
    let spans = trainable(&config);
    let (diff, from_whole) = (max_diff_over(&expected, &ours, &spans), max_diff_over(&whole.grads, &ours, &spans));
    println!(
        "two wgpu devices: max |shares' fused CPU gradients - ours| = {diff:.2e}; from the whole batch's {from_whole:.2e}; loss {loss} vs {}",
        0.6 * first.loss + 0.4 * second.loss
    );
    assert!((loss - (0.6 * first.loss + 0.4 * second.loss)).abs() <= 1e-5, "losses differ");
    assert!(diff <= 1e-4, "gradients differ by {diff}");
    // The check can tell: the whole batch's gradients (one BatchNorm over all five) differ.
    assert!(from_whole > 1e-3, "the shares' gradients are indistinguishable from the whole batch's");
}

/// With a corpus critic, the network's gradient is that of the emotion loss less the critic's,
/// weighted: the gradient reversal. Checked by finite differences on the fusion weights, which
/// every row's fused vector (the critic's input) depends on.
#[test]
fn a_corpus_critic_s_gradient_reaches_the_network_reversed() {
    let config = TimNetConfig { classes: 3, tabs: 3, dropout: 0.0, ..TimNetConfig::default() };
    let device = Device::flex();
    device.seed(5);
    let model = config.init(&device);
    let x: Vec<f32> = (0..4 * 30 * 39).map(|i| ((i * 37 % 101) as f32 - 50.0) / 10.0).collect();
    let y = smoothed(&[0, 2, 1, 2], 3);
    let corpus = [0, 1, 2, 1];
    let weight = 0.7;
    let trainer = |params: Vec<f32>| {
        let model = KerasWeights::from_table_order(&config, params).unwrap().apply(config.init(&device)).unwrap();
        let mut fused = FusedTrainer::new(&model, 1e-3);
        fused.set_critic(3, 8);
        fused
    };
    // The objective the network descends: emotion loss less the weighted critic's loss.
    let objective = |params: Vec<f32>| {
        let pass = trainer(params).pass_with(&x, 4, &y, 0, Some(Domains { corpus: &corpus, weight }));
        pass.loss as f64 - weight as f64 * pass.critic.unwrap().loss as f64
    };
    let params = FusedTrainer::new(&model, 1e-3).params().to_vec();
    let reversed = trainer(params.clone()).pass_with(&x, 4, &y, 0, Some(Domains { corpus: &corpus, weight }));
    let plain = trainer(params.clone()).pass(&x, 4, &y, 0);
    assert!(plain.critic.is_none());
    let fusion = config.params().fusion.expect("the paper's network learns its fusion weights");
    // Small, so that few ReLUs turn on or off between the two sides.
    let h = 1e-3f32;
    let mut moved_by_critic = 0.0f32;
    for k in fusion.range() {
        let (mut up, mut down) = (params.clone(), params.clone());
        up[k] += h;
        down[k] -= h;
        let numeric = (objective(up) - objective(down)) / (2.0 * h as f64);
        let analytic = reversed.grads[k] as f64;
        println!("fusion weight {k}: numeric {numeric:.5}, reversed pass {analytic:.5}, plain {:.5}", plain.grads[k]);
        assert!((numeric - analytic).abs() <= 1e-3 + 0.03 * analytic.abs(), "weight {k}: {numeric} vs {analytic}");
        moved_by_critic = moved_by_critic.max((reversed.grads[k] - plain.grads[k]).abs());
    }
    // The critic's part is not negligible, so the check above could fail without it.
    assert!(moved_by_critic > 1e-2, "the critic moved the fusion gradients by {moved_by_critic}");
}
