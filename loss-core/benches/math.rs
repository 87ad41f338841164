//! Throughput of `loss_core::math` against `libm` and `std`, over 4096-element
//! slices (elements per second; divide by 1e9 for elements/ns).
//!
//! `cargo bench -p loss-core --bench math`. `loss_core::math` is the public
//! function compiled for the baseline; the `wide` variants are the same source
//! at the widest level the CPU has (through `loss_core::simd`), in both
//! flavours of multiply-add (see `docs/math.md` for the figures).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use loss_core::math::{self, FastMath, Fused, MulAdd, Plain};
use loss_core::simd::{self, Level};
use std::hint::black_box;

const N: usize = 4096;

fn inputs<F: From<f32>>(lo: f32, hi: f32) -> Vec<F> {
    (0..N)
        .map(|i| F::from(lo + (hi - lo) * i as f32 / N as f32))
        .collect()
}

fn map<F: Copy>(x: &[F], out: &mut [F], f: impl Fn(F) -> F) {
    for (o, &v) in out.iter_mut().zip(x) {
        *o = f(v);
    }
}

/// `out[i] = f(x[i])` for function `which`, evaluated with `M`. Plain
/// `for` loops: an iterator's `for_each` is not always inlined, and a fused
/// kernel compiled outside the wide function makes a library call of every
/// multiply-add (softplus ran 6x slower than the baseline that way).
#[inline(always)]
fn apply<F: FastMath, M: MulAdd>(x: &[F], out: &mut [F], which: u8) {
    match which {
        0 => {
            for (o, &v) in out.iter_mut().zip(x) {
                *o = v.exp_with::<M>();
            }
        }
        1 => {
            for (o, &v) in out.iter_mut().zip(x) {
                *o = v.ln_with::<M>();
            }
        }
        2 => {
            for (o, &v) in out.iter_mut().zip(x) {
                *o = v.sigmoid_with::<M>();
            }
        }
        4 => {
            for (o, &v) in out.iter_mut().zip(x) {
                *o = v.tanh_with::<M>();
            }
        }
        _ => {
            for (o, &v) in out.iter_mut().zip(x) {
                *o = v.softplus_with::<M>();
            }
        }
    }
}

macro_rules! bench_fn {
    ($c:expr, $name:literal, $t:ty, $range:expr, $which:expr, $ours:path, $libm:expr, $std:expr) => {{
        let x: Vec<$t> = inputs($range.0, $range.1);
        let mut out = vec![0.0 as $t; N];
        let mut g = $c.benchmark_group($name);
        g.throughput(Throughput::Elements(N as u64));
        g.bench_function("loss_core::math", |b| {
            b.iter(|| $ours(black_box(&x), black_box(&mut out)))
        });
        if simd::detected() >= Level::Avx2 {
            // The same source at the widest level: plain (the baseline's
            // bits), then fused (what the generated losses run there).
            g.bench_function("loss_core::math wide, plain", |b| {
                b.iter(|| {
                    simd::run(
                        #[inline(always)]
                        || apply::<$t, Plain>(black_box(&x), black_box(&mut out), $which),
                    )
                })
            });
            g.bench_function("loss_core::math wide, fused", |b| {
                b.iter(|| {
                    simd::run_as::<Fused, _>(
                        #[inline(always)]
                        || apply::<$t, Fused>(black_box(&x), black_box(&mut out), $which),
                    )
                })
            });
        }
        g.bench_function("libm", |b| {
            b.iter(|| map(black_box(&x), black_box(&mut out), $libm))
        });
        g.bench_function("std", |b| {
            b.iter(|| map(black_box(&x), black_box(&mut out), $std))
        });
        g.finish();
    }};
}

fn sigmoid_libm_f32(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + libm::expf(-x))
    } else {
        let e = libm::expf(x);
        e / (1.0 + e)
    }
}

fn sigmoid_libm_f64(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + libm::exp(-x))
    } else {
        let e = libm::exp(x);
        e / (1.0 + e)
    }
}

fn benches(c: &mut Criterion) {
    bench_fn!(
        c,
        "exp_f32",
        f32,
        (-80.0, 80.0),
        0,
        math::exp_slice,
        libm::expf,
        f32::exp
    );
    bench_fn!(
        c,
        "exp_f64",
        f64,
        (-80.0, 80.0),
        0,
        math::exp_slice,
        libm::exp,
        f64::exp
    );
    bench_fn!(
        c,
        "ln_f32",
        f32,
        (1e-3, 1e3),
        1,
        math::ln_slice,
        libm::logf,
        f32::ln
    );
    bench_fn!(
        c,
        "ln_f64",
        f64,
        (1e-3, 1e3),
        1,
        math::ln_slice,
        libm::log,
        f64::ln
    );
    bench_fn!(
        c,
        "sigmoid_f32",
        f32,
        (-20.0, 20.0),
        2,
        math::sigmoid_slice,
        sigmoid_libm_f32,
        |v: f32| 1.0 / (1.0 + (-v).exp())
    );
    bench_fn!(
        c,
        "sigmoid_f64",
        f64,
        (-20.0, 20.0),
        2,
        math::sigmoid_slice,
        sigmoid_libm_f64,
        |v: f64| 1.0 / (1.0 + (-v).exp())
    );
    bench_fn!(
        c,
        "softplus_f32",
        f32,
        (-20.0, 20.0),
        3,
        math::softplus_slice,
        |v: f32| v.max(0.0) + libm::log1pf(libm::expf(-v.abs())),
        |v: f32| v.max(0.0) + (-v.abs()).exp().ln_1p()
    );
    bench_fn!(
        c,
        "tanh_f32",
        f32,
        (-10.0, 10.0),
        4,
        math::tanh_slice,
        libm::tanhf,
        f32::tanh
    );
    bench_fn!(
        c,
        "tanh_f64",
        f64,
        (-10.0, 10.0),
        4,
        math::tanh_slice,
        libm::tanh,
        f64::tanh
    );
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(1))
}

criterion_group! {
    name = math_benches;
    config = config();
    targets = benches
}
criterion_main!(math_benches);
