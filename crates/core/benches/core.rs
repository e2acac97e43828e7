//! MFCC of a 4.35 s clip and one forward pass of the 7-class model (188 frames), on the CPU.
//! `cargo bench --bench core`

use burn::prelude::*;
use burn::tensor::TensorData;
use criterion::{Criterion, criterion_group, criterion_main};
use timnet::features::Mfcc;
use timnet::model::TimNetConfig;

fn clip() -> Vec<f32> {
    (0..96_000).map(|i| (i as f32 * 0.031).sin() * 0.3 + ((i * 7919 % 1000) as f32 / 1000.0 - 0.5) * 0.05).collect()
}

fn mfcc(c: &mut Criterion) {
    let mfcc = Mfcc::default();
    let y = clip();
    c.bench_function("mfcc 4.35 s clip", |b| b.iter(|| mfcc.compute(std::hint::black_box(&y))));
}

fn forward(c: &mut Criterion) {
    let device = Device::flex();
    let model = TimNetConfig::default().init(&device);
    let features = Mfcc::default().compute(&clip());
    c.bench_function("forward 1 x 188 x 39 (flex)", |b| {
        b.iter(|| {
            let x = Tensor::<3>::from_data(
                TensorData::new(features.data.clone(), [1, features.frames, features.coeffs]),
                &device,
            );
            model.forward(x).into_data()
        })
    });
}

criterion_group!(benches, mfcc, forward);
criterion_main!(benches);
