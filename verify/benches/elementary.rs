//! Cost of rigorous enclosures: exp and ln at 200 bits (the issue asks for
//! well under a millisecond), and the other functions for comparison.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use verify::Interval;

fn elementary(c: &mut Criterion) {
    let mut group = c.benchmark_group("enclosure_200_bits");
    let x = Interval::from_f64_with_precision(0.7390851332151607, 200);
    let big = Interval::from_f64_with_precision(-700.25, 200);
    let tiny = Interval::from_f64_with_precision(1e-20, 200);
    group.bench_function("exp", |b| b.iter(|| black_box(&x).exp()));
    group.bench_function("exp(-700.25)", |b| b.iter(|| black_box(&big).exp()));
    group.bench_function("ln", |b| b.iter(|| black_box(&x).ln()));
    group.bench_function("ln(1e300)", |b| {
        let y = Interval::from_f64_with_precision(1e300, 200);
        b.iter(|| black_box(&y).ln())
    });
    group.bench_function("ln_1p(1e-20)", |b| b.iter(|| black_box(&tiny).ln_1p()));
    group.bench_function("exp_m1(1e-20)", |b| b.iter(|| black_box(&tiny).exp_m1()));
    group.bench_function("sigmoid", |b| b.iter(|| black_box(&x).sigmoid()));
    group.bench_function("softplus", |b| b.iter(|| black_box(&x).softplus()));
    group.bench_function("tanh", |b| b.iter(|| black_box(&x).tanh()));
    group.bench_function("sqrt", |b| b.iter(|| black_box(&x).sqrt()));
    group.bench_function("mul", |b| b.iter(|| black_box(&x) * black_box(&x)));
    group.bench_function("div", |b| b.iter(|| black_box(&x) / black_box(&big)));
    group.finish();
}

criterion_group!(benches, elementary);
criterion_main!(benches);
