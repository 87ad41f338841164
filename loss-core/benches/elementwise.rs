//! The elementwise losses of the standard library, `multi_margin_loss` (a
//! hinge per element against the label's score), a declared `tanh`
//! regression (`tanh_mse`) and a power law with a learned exponent
//! (`power_law`, `powf`), value and gradient, f32, one thread, at the
//! dispatched level and in the AVX2 copy. Their lane
//! loops vectorise only while every runtime helper they call stays inline
//! and branch-free: one that does not (an out-of-line `libm` call, an
//! `else if` chain) shows here as a drop to a few elements per ns or less
//! (docs/performance.md).
//!
//! `cargo bench -p loss-core --bench elementwise`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use loss_core::losses;
use loss_core::simd::{self, Level};
use loss_core::{loss, Rows};
use std::hint::black_box;

loss! {
    /// A squared error through a `tanh` head: the elementwise `tanh` and its
    /// slope in the lane loops.
    pub fn tanh_mse(#[grad] x: Vector<D>, y: Vector<D>) {
        mean((tanh(x) - y).powi(2))
    }

    /// A power law whose exponent is learned: `powf` with a computed
    /// exponent in the lanes, and its two partial derivatives.
    pub fn power_law(#[grad] x: Vector<D>, y: Vector<D>, #[grad] a: Scalar) {
        mean((powf(x * x + 1.0, a) - y).powi(2))
    }
}

const N: usize = 256;
const D: usize = 1000;

#[path = "../tests/common/rng.rs"]
mod rng;

/// A deterministic row-major batch in `[lo, hi)`.
fn batch(seed: u64, lo: f32, hi: f32) -> Vec<f32> {
    let mut rng = rng::Rng::new(seed);
    (0..N * D)
        .map(|_| rng.uniform(lo.into(), hi.into()) as f32)
        .collect()
}

/// `v` as a batch of `N` rows of `D`, hidden from the optimiser.
fn rows(v: &[f32]) -> Rows<'_, f32> {
    Rows::new(black_box(v), N, D)
}

fn bench(cr: &mut Criterion) {
    let x = batch(1, -4.0, 4.0);
    let y = batch(2, -4.0, 4.0);
    let prob = batch(3, 0.01, 0.99);
    let target = batch(4, 0.0, 1.0);
    let labels: Vec<usize> = (0..N).map(|i| i * 7919 % D).collect();
    let class_weights = vec![1.0_f32; D];
    let mut grad = vec![0.0_f32; N * D];
    for (name, level) in [("dispatch", None), ("avx2", Some(Level::Avx2))] {
        simd::set_max_level(level);
        let mut group = cr.benchmark_group(format!("{N}x{D} {name}"));
        group.throughput(Throughput::Elements((N * D) as u64));
        group.sample_size(30);
        let mut run = |loss: &str, f: &mut dyn FnMut(&mut [f32]) -> f32| {
            group.bench_function(BenchmarkId::from_parameter(loss), |b| {
                b.iter(|| f(&mut grad[..]))
            });
        };
        run("mse", &mut |g| {
            losses::mse::value_and_grad(rows(&x), rows(&y), g).unwrap()
        });
        run("l1_loss", &mut |g| {
            losses::l1_loss::value_and_grad(rows(&x), rows(&y), g).unwrap()
        });
        run("huber_loss", &mut |g| {
            losses::huber_loss::value_and_grad(rows(&x), rows(&y), 1.0, g).unwrap()
        });
        run("smooth_l1_loss", &mut |g| {
            losses::smooth_l1_loss::value_and_grad(rows(&x), rows(&y), 1.0, g).unwrap()
        });
        run("multi_margin_loss", &mut |g| {
            losses::multi_margin_loss::value_and_grad(rows(&x), &labels, 1.0, &class_weights, g)
                .unwrap()
        });
        run("log_cosh", &mut |g| {
            losses::log_cosh::value_and_grad(rows(&x), rows(&y), g).unwrap()
        });
        run("hinge", &mut |g| {
            losses::hinge::value_and_grad(rows(&x), rows(&y), g).unwrap()
        });
        run("binary_cross_entropy", &mut |g| {
            losses::binary_cross_entropy::value_and_grad(rows(&prob), rows(&target), g).unwrap()
        });
        run("binary_cross_entropy_with_logits", &mut |g| {
            losses::binary_cross_entropy_with_logits::value_and_grad(rows(&x), rows(&target), g)
                .unwrap()
        });
        run("sigmoid_focal_loss", &mut |g| {
            losses::sigmoid_focal_loss::value_and_grad(rows(&x), rows(&target), 0.25, 2.0, g)
                .unwrap()
        });
        run("tanh_mse", &mut |g| {
            tanh_mse::value_and_grad(rows(&x), rows(&y), g).unwrap()
        });
        run("power_law", &mut |g| {
            let mut ga = 0.0;
            power_law::value_and_grad(rows(&x), rows(&y), 0.7, g, &mut ga).unwrap()
        });
        group.finish();
    }
    simd::set_max_level(None);
}

criterion_group!(benches, bench);
criterion_main!(benches);
