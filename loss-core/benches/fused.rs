//! The generated fused value+gradient against a naive unfused version
//! written here (softmax into a fresh Vec, then its log, then the gradient
//! pass), f32, one thread.
//!
//! `cargo bench -p loss-core --bench fused`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use loss_core::{loss, Rows};
use std::hint::black_box;

loss! {
    pub fn ce(#[grad] z: Vector<C>, y: Class<C>) {
        cross_entropy(z, y)
    }

    pub fn distill(#[grad] s: Vector<C>, t: Vector<C>, y: Class<C>, alpha: Scalar, beta: Scalar, temp: Scalar) {
        alpha * cross_entropy(s, y) + beta * temp.powi(2) * kl_div(softmax(t / temp), softmax(s / temp))
    }
}

fn softmax(row: &[f32], scale: f32) -> Vec<f32> {
    let m = row.iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x * scale));
    let e: Vec<f32> = row.iter().map(|&x| (x * scale - m).exp()).collect();
    let s: f32 = e.iter().sum();
    e.into_iter().map(|x| x / s).collect()
}

/// Mean cross-entropy and its gradient, the way a first implementation does it.
fn naive_ce(z: &[f32], y: &[usize], c: usize, grad: &mut [f32]) -> f32 {
    let n = y.len();
    let mut total = 0.0;
    for i in 0..n {
        let p = softmax(&z[i * c..(i + 1) * c], 1.0);
        let logp: Vec<f32> = p.iter().map(|x| x.ln()).collect();
        total -= logp[y[i]];
        for j in 0..c {
            grad[i * c + j] = (p[j] - if j == y[i] { 1.0 } else { 0.0 }) / n as f32;
        }
    }
    total / n as f32
}

fn naive_distill(
    s: &[f32],
    t: &[f32],
    y: &[usize],
    c: usize,
    (alpha, beta, temp): (f32, f32, f32),
    grad: &mut [f32],
) -> f32 {
    let n = y.len();
    let mut total = 0.0;
    for i in 0..n {
        let (si, ti) = (&s[i * c..(i + 1) * c], &t[i * c..(i + 1) * c]);
        let ps = softmax(si, 1.0);
        let q = softmax(si, 1.0 / temp);
        let p = softmax(ti, 1.0 / temp);
        let logq: Vec<f32> = q.iter().map(|x| x.ln()).collect();
        let logp: Vec<f32> = p.iter().map(|x| x.ln()).collect();
        let kl: f32 = (0..c)
            .map(|j| {
                if p[j] > 0.0 {
                    p[j] * (logp[j] - logq[j])
                } else {
                    0.0
                }
            })
            .sum();
        total += alpha * -ps[y[i]].ln() + beta * temp * temp * kl;
        for j in 0..c {
            let hot = if j == y[i] { 1.0 } else { 0.0 };
            grad[i * c + j] = (alpha * (ps[j] - hot) + beta * temp * (q[j] - p[j])) / n as f32;
        }
    }
    total / n as f32
}

fn data(n: usize, c: usize) -> (Vec<f32>, Vec<f32>, Vec<usize>) {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let s = (0..n * c)
        .map(|_| (next() % 2000) as f32 / 100.0 - 10.0)
        .collect();
    let t = (0..n * c)
        .map(|_| (next() % 2000) as f32 / 100.0 - 10.0)
        .collect();
    let y = (0..n).map(|_| (next() % c as u64) as usize).collect();
    (s, t, y)
}

fn bench(cr: &mut Criterion) {
    for &(n, c) in &[(32, 10), (1024, 1000), (256, 32000)] {
        let (s, t, y) = data(n, c);
        let mut grad = vec![0.0_f32; n * c];
        let mut group = cr.benchmark_group(format!("{n}x{c}"));
        group.throughput(Throughput::Elements((n * c) as u64));
        if n * c > 100_000 {
            group.sample_size(20);
        }
        group.bench_function(BenchmarkId::new("cross_entropy", "fused"), |b| {
            b.iter(|| {
                ce::value_and_grad(Rows::new(black_box(&s), n, c), &y, &mut grad[..]).unwrap()
            })
        });
        // The same kernel held to baseline x86-64 (SSE2): what run-time
        // dispatch buys.
        loss_core::simd::set_max_level(Some(loss_core::simd::Level::Baseline));
        group.bench_function(BenchmarkId::new("cross_entropy", "fused-baseline"), |b| {
            b.iter(|| {
                ce::value_and_grad(Rows::new(black_box(&s), n, c), &y, &mut grad[..]).unwrap()
            })
        });
        loss_core::simd::set_max_level(None);
        group.bench_function(BenchmarkId::new("cross_entropy", "naive"), |b| {
            b.iter(|| naive_ce(black_box(&s), &y, c, &mut grad))
        });
        group.bench_function(BenchmarkId::new("distill", "fused"), |b| {
            b.iter(|| {
                distill::value_and_grad(
                    Rows::new(black_box(&s), n, c),
                    Rows::new(&t, n, c),
                    &y,
                    0.5,
                    0.5,
                    4.0,
                    &mut grad[..],
                )
                .unwrap()
            })
        });
        group.bench_function(BenchmarkId::new("distill", "naive"), |b| {
            b.iter(|| naive_distill(black_box(&s), &t, &y, c, (0.5, 0.5, 4.0), &mut grad))
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
