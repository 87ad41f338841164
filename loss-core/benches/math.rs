//! Throughput of `loss_core::math` against `libm` and `std`, over 4096-element
//! slices (elements per second; divide by 1e9 for elements/ns).
//!
//! `cargo bench -p loss-core --bench math`. The `+avx2,fma` variants are the
//! same source compiled for AVX2 and called after run-time detection; calling a
//! `#[target_feature]` function needs `unsafe`, which is why this dispatch
//! lives here and not in `loss-core` (see `docs/math.md` for the figures).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use loss_core::math;
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

/// The same loops compiled for AVX2 + FMA (the kernels use no FMA, so the
/// results are bit-identical; only the vector width changes).
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use loss_core::math::FastMath;

    #[target_feature(enable = "avx2,fma")]
    pub fn apply<F: FastMath>(x: &[F], out: &mut [F], which: u8) {
        match which {
            0 => loss_core::math::exp_slice(x, out),
            1 => loss_core::math::ln_slice(x, out),
            2 => loss_core::math::sigmoid_slice(x, out),
            _ => loss_core::math::softplus_slice(x, out),
        }
    }

    pub fn available() -> bool {
        is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
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
        #[cfg(target_arch = "x86_64")]
        if avx2::available() {
            g.bench_function("loss_core::math +avx2,fma", |b| {
                // SAFETY: the CPU supports AVX2 and FMA (checked just above).
                b.iter(|| unsafe { avx2::apply(black_box(&x), black_box(&mut out), $which) })
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
