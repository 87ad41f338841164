//! Exhaustive proofs of the f32 error bounds of `loss_core::math` (and
//! `powf_f32`'s, whose two inputs are checked on random pairs instead).
//!
//! Every test runs its function on every f32 input where the function is not
//! trivial (a constant, the input itself, or NaN), and on every 61st of all
//! 2^32 bit patterns (NaNs, infinities, zeros and subnormals included); each
//! test states why the rest is trivial. It compares each result with the `f64`
//! function of `std` (glibc: error below 1 ULP of f64, that is below 2^-28
//! ULP of f32, negligible next to the bounds), as real numbers:
//! `error = |result - reference| / ulp_f32(reference)`.
//!
//! Each function is checked in both flavours of its multiply-adds
//! ([`math::Plain`], the baseline's, and [`math::Fused`], what AVX2 and
//! AVX-512 run), each against its own documented bound; the fused ones only
//! where the CPU has FMA (elsewhere they would be library calls, hours).
//!
//! Run with `cargo test --release -p loss-core --test math_f32_exhaustive --
//! --nocapture` to see the measured maxima; in a debug build they are ignored
//! (hours instead of seconds).

use loss_core::math::{FastMath, Fused, Plain};
use loss_core::simd::{self, Level};
use std::sync::atomic::{AtomicU64, Ordering};

/// A function over a batch, in both flavours.
#[derive(Clone, Copy)]
struct Kernel {
    plain: fn(&[f32], &mut [f32]),
    fused: fn(&[f32], &mut [f32]),
}

/// The [`Kernel`] of a `FastMath` method, each flavour compiled for the
/// widest vector instructions it runs with.
macro_rules! kernel {
    ($method:ident) => {
        Kernel {
            plain: |x, y| {
                simd::run_as::<Plain, _>(|| {
                    for (o, &v) in y.iter_mut().zip(x) {
                        *o = v.$method::<Plain>();
                    }
                })
            },
            fused: |x, y| {
                simd::run_as::<Fused, _>(|| {
                    for (o, &v) in y.iter_mut().zip(x) {
                        *o = v.$method::<Fused>();
                    }
                })
            },
        }
    };
}

/// Inputs per work item; a thread takes the next item from a shared counter.
const CHUNK: u64 = 1 << 20;
/// Inputs per call of the vectorised loop.
const BATCH: usize = 4096;

/// Error of `got` in ULPs of f32 at the exact value `exact`.
///
/// An infinite result is exact beyond the overflow threshold, elsewhere it
/// counts as `±2^128` (the next power of two above `f32::MAX`). NaN must meet
/// NaN; a zero must have the sign of the exact value (an underflow keeps its
/// sign).
fn ulp_error(got: f32, exact: f64) -> f64 {
    if exact.is_nan() || got.is_nan() {
        return if exact.is_nan() && got.is_nan() {
            0.0
        } else {
            f64::INFINITY
        };
    }
    if exact.is_infinite() {
        return if f64::from(got) == exact {
            0.0
        } else {
            f64::INFINITY
        };
    }
    if exact == 0.0 {
        return if got.to_bits() == (exact as f32).to_bits() {
            0.0
        } else {
            f64::INFINITY
        };
    }
    if got == 0.0 && got.is_sign_negative() != exact.is_sign_negative() {
        return f64::INFINITY;
    }
    // Beyond `f32::MAX + ulp / 2` the correctly rounded result is infinity.
    let overflow = 2f64.powi(128) - 2f64.powi(103);
    if exact.abs() >= overflow && got.is_infinite() && f64::from(got).signum() == exact.signum() {
        return 0.0;
    }
    let got = if got.is_infinite() {
        2f64.powi(128).copysign(f64::from(got))
    } else {
        f64::from(got)
    };
    let binade = ((exact.abs().to_bits() >> 52) as i32 - 1023).clamp(-126, 127);
    (got - exact).abs() / 2f64.powi(binade - 23)
}

/// A set of inputs: the bit patterns `start, start + step, ...` below `end`.
#[derive(Clone, Copy)]
struct Sweep {
    start: u64,
    end: u64,
    step: u64,
}

/// Every bit pattern from `lo` to `hi` (both included).
const fn dense(lo: u32, hi: u32) -> Sweep {
    Sweep {
        start: lo as u64,
        end: hi as u64 + 1,
        step: 1,
    }
}

/// Every 61st bit pattern of all 2^32: the trivial parts of a domain (results
/// that are constants, the input itself, or NaN), checked by sampling.
const SPARSE: Sweep = Sweep {
    start: 0,
    end: 1 << 32,
    step: 61,
};

/// What [`over_sweeps`] runs on each batch: inputs, two scratch buffers;
/// returns the batch's largest `(score, input)`.
type Batch<'a> = dyn Fn(&[f32], &mut [f32], &mut [f32]) -> (f64, f32) + Sync + 'a;

/// Runs `batch` over the inputs of `sweeps`, `BATCH` at a time, on a few
/// threads, with two scratch buffers the size of the batch; returns the
/// largest `(score, input)` the batches report.
fn over_sweeps(sweeps: &[Sweep], batch: &Batch<'_>) -> (f64, f32) {
    // Work items: (sweep, first index, last index) of CHUNK indices each.
    let items: Vec<(Sweep, u64, u64)> = sweeps
        .iter()
        .flat_map(|&s| {
            let n = (s.end - s.start).div_ceil(s.step);
            (0..n)
                .step_by(CHUNK as usize)
                .map(move |i| (s, i, (i + CHUNK).min(n)))
        })
        .collect();
    let next = AtomicU64::new(0);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut worst = (0.0_f64, 0.0_f32);
                    let mut x = vec![0.0_f32; BATCH];
                    let mut y = vec![0.0_f32; BATCH];
                    let mut z = vec![0.0_f32; BATCH];
                    loop {
                        let item = next.fetch_add(1, Ordering::Relaxed) as usize;
                        let Some(&(sweep, first, last)) = items.get(item) else {
                            return worst;
                        };
                        for start in (first..last).step_by(BATCH) {
                            let n = ((last - start) as usize).min(BATCH);
                            for (i, v) in x[..n].iter_mut().enumerate() {
                                let bits = sweep.start + (start + i as u64) * sweep.step;
                                *v = f32::from_bits(bits as u32);
                            }
                            let found = batch(&x[..n], &mut y[..n], &mut z[..n]);
                            if found.0 > worst.0 {
                                worst = found;
                            }
                        }
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap())
            .fold((0.0, 0.0), |a, b| if b.0 > a.0 { b } else { a })
    })
}

/// Largest error of `kernel` against `reference` over the inputs of `sweeps`,
/// and the first input where it occurs.
fn max_error(
    sweeps: &[Sweep],
    kernel: fn(&[f32], &mut [f32]),
    reference: fn(f64) -> f64,
) -> (f64, f32) {
    over_sweeps(sweeps, &|x, y, _| {
        kernel(x, y);
        let mut worst = (0.0_f64, 0.0_f32);
        for (&xi, &yi) in x.iter().zip(&*y) {
            let e = ulp_error(yi, reference(f64::from(xi)));
            if e > worst.0 {
                worst = (e, xi);
            }
        }
        worst
    })
}

fn check(
    name: &str,
    bounds: [f64; 2],
    sweeps: &[Sweep],
    kernel: Kernel,
    reference: fn(f64) -> f64,
) {
    let fma = simd::current() >= Level::Avx2;
    for (flavour, bound, run) in [
        ("plain", bounds[0], kernel.plain),
        ("fused", bounds[1], kernel.fused),
    ] {
        if flavour == "fused" && !fma {
            eprintln!("{name} (fused): skipped, this CPU has no FMA");
            continue;
        }
        let (err, at) = max_error(sweeps, run, reference);
        eprintln!(
            "{name} ({flavour}): max error {err:.4} ULP at x = {at:e} ({:#010x})",
            at.to_bits()
        );
        assert!(
            err <= bound,
            "{name} ({flavour}): {err} ULP at {at:e} exceeds the documented {bound}"
        );
    }
}

#[test]
#[cfg_attr(debug_assertions, ignore = "exhaustive: run with --release")]
fn exp_f32_all_inputs() {
    // Dense: 2^-25 <= |x|, x <= 89, x >= -104. Outside: `exp_f32` clamps to
    // +-89 / -104 first (so the dense results at the ends cover it), and for
    // |x| < 2^-25 the reduction gives k = 0, hi = 1, lo ~ x and the result
    // rounds to 1, the correctly rounded value; the sparse sweep confirms.
    let sweeps = [
        dense(0x3300_0000, 0x42b2_0000),
        dense(0xb300_0000, 0xc2d0_0000),
        SPARSE,
    ];
    check(
        "exp_f32",
        [0.78, 0.77],
        &sweeps,
        kernel!(exp_with),
        f64::exp,
    );
    // Normal results (x >= ln 2^-126): only the final rounding is large. In
    // the subnormal range `(hi + lo) 2^k` is rounded twice.
    let normal = [
        dense(0x3300_0000, 0x42b2_0000),
        dense(0xb300_0000, 0xc2ae_ac4f),
    ];
    check(
        "exp_f32 (normal results)",
        [0.70, 0.69],
        &normal,
        kernel!(exp_with),
        f64::exp,
    );
}

/// `short` gives the bits of `full` on every input of `domain`, in both
/// flavours.
fn same_bits(name: &str, domain: &[Sweep], short: Kernel, full: Kernel) {
    let fma = simd::current() >= Level::Avx2;
    for (flavour, short, full) in [
        ("plain", short.plain, full.plain),
        ("fused", short.fused, full.fused),
    ] {
        if flavour == "fused" && !fma {
            eprintln!("{name} (fused): skipped, this CPU has no FMA");
            continue;
        }
        let (differs, at) = over_sweeps(domain, &|x, y, z| {
            short(x, y);
            full(x, z);
            let first = x
                .iter()
                .zip(y.iter().zip(&*z))
                .find(|(_, (a, b))| a.to_bits() != b.to_bits());
            first.map_or((0.0, 0.0), |(&xi, _)| (1.0, xi))
        });
        assert!(
            differs == 0.0,
            "{name} ({flavour}) differs at {at:e} ({:#010x})",
            at.to_bits()
        );
    }
}

/// The short exp the fused kernels take where a whole chunk is in range
/// gives the bits of `exp_f32` on every input of its domain, so the bounds
/// above hold for it too.
#[test]
#[cfg_attr(debug_assertions, ignore = "exhaustive: run with --release")]
fn exp_normal_f32_is_exp_f32_on_its_domain() {
    let (lo, hi) = f32::EXP_NORMAL;
    same_bits(
        "exp_normal_f32",
        &[dense(0, hi.to_bits()), dense(0x8000_0000, lo.to_bits())],
        kernel!(exp_normal_with),
        kernel!(exp_with),
    );
}

/// The short ln (of `xlogy_lanes` and `ln_lanes` in the fused kernels) gives the bits of
/// `ln_f32` on every positive normal number.
#[test]
#[cfg_attr(debug_assertions, ignore = "exhaustive: run with --release")]
fn ln_normal_f32_is_ln_f32_on_its_domain() {
    let (lo, hi) = f32::LN_NORMAL;
    same_bits(
        "ln_normal_f32",
        &[dense(lo.to_bits(), hi.to_bits())],
        kernel!(ln_normal_with),
        kernel!(ln_with),
    );
}

/// The short `ln(1 + x)` (of `log1p_lanes` in the fused kernels) gives the
/// bits of `log1p_f32` on every input above -1.
#[test]
#[cfg_attr(debug_assertions, ignore = "exhaustive: run with --release")]
fn log1p_normal_f32_is_log1p_f32_on_its_domain() {
    let (lo, hi) = f32::LN_1P_NORMAL;
    same_bits(
        "log1p_normal_f32",
        &[dense(0, hi.to_bits()), dense(0x8000_0000, lo.to_bits())],
        kernel!(ln_1p_normal_with),
        kernel!(ln_1p_with),
    );
}

#[test]
#[cfg_attr(debug_assertions, ignore = "exhaustive: run with --release")]
fn ln_f32_all_inputs() {
    // Dense: every non-negative number; negative numbers give NaN (sparse).
    check(
        "ln_f32",
        [0.89, 0.86],
        &[dense(0, 0x7f80_0000), SPARSE],
        kernel!(ln_with),
        f64::ln,
    );
}

#[test]
#[cfg_attr(debug_assertions, ignore = "exhaustive: run with --release")]
fn log1p_f32_all_inputs() {
    // Dense: x >= 2^-30 and -1 <= x <= -2^-30. For |x| < 2^-30, u = 1 and the
    // result is c / u = x, within x^2 / 2 < 2^-31 |x| of the exact value; below
    // -1 it is NaN (sparse).
    let sweeps = [
        dense(0x3080_0000, 0x7f80_0000),
        dense(0xb080_0000, 0xbf80_0000),
        SPARSE,
    ];
    check(
        "log1p_f32",
        [0.9, 0.89],
        &sweeps,
        kernel!(ln_1p_with),
        f64::ln_1p,
    );
}

#[test]
#[cfg_attr(debug_assertions, ignore = "exhaustive: run with --release")]
fn expm1_f32_all_inputs() {
    // Dense: 2^-30 <= x <= 89 and -18 <= x <= -2^-30. Outside: clamped to 89 /
    // -30 (the result at -18 already rounds to -1); for |x| < 2^-30 the result
    // is x rounded from x + x^2 q, the exact value within 2^-31 |x|.
    let sweeps = [
        dense(0x3080_0000, 0x42b2_0000),
        dense(0xb080_0000, 0xc190_0000),
        SPARSE,
    ];
    check(
        "expm1_f32",
        [1.09, 0.94],
        &sweeps,
        kernel!(exp_m1_with),
        f64::exp_m1,
    );
}

/// `e^x - 1 - x` in f64: below `|x| = 1/2` its Taylor series term by term
/// (no cancellation), above it `exp_m1(x) - x` (a cancellation of at most
/// 4.4, so within `2^-49` relative).
fn expm1mx_f64_reference(x: f64) -> f64 {
    if x.abs() < 0.5 {
        let (mut term, mut sum) = (x * x / 2.0, 0.0);
        for n in 3..30 {
            sum += term;
            term *= x / f64::from(n);
            if term.abs() < sum.abs() * 1e-20 {
                break;
            }
        }
        sum
    } else if x == f64::INFINITY {
        x
    } else {
        x.exp_m1() - x
    }
}

#[test]
#[cfg_attr(debug_assertions, ignore = "exhaustive: run with --release")]
fn expm1mx_f32_all_inputs() {
    // Dense: 2^-30 <= x <= 89 and -40 <= x <= -2^-30. Outside, sampled: the
    // result overflows (x > 88.73); or it is -1 - x rounded once, exactly
    // `expm1_f64(x) = -1` minus x (x < -40, where e^x < 2^-57); or |x| <
    // 2^-30, where the f64 series is `x^2` (exact in f64) times `1/2 + x/6 +
    // ...` (within 2^-52), rounded once.
    let sweeps = [
        dense(0x3080_0000, 0x42b2_0000),
        dense(0xb080_0000, 0xc220_0000),
        SPARSE,
    ];
    check(
        "expm1mx_f32",
        [0.5001, 0.5001],
        &sweeps,
        kernel!(exp_m1_minus_x_with),
        expm1mx_f64_reference,
    );
}

fn sigmoid_f64(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn softplus_f64(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

#[test]
#[cfg_attr(debug_assertions, ignore = "exhaustive: run with --release")]
fn sigmoid_f32_all_inputs() {
    // Dense: 2^-26 <= x <= 18, -104 <= x <= -2^-26. Outside: e^-|x| is below
    // 2^-25 (the result rounds to 1), or the result is below 2^-150 (0), or
    // |x| < 2^-26 and the result 1/2 + x/4 rounds to 1/2.
    let sweeps = [
        dense(0x3280_0000, 0x4190_0000),
        dense(0xb280_0000, 0xc2d0_0000),
        SPARSE,
    ];
    check(
        "sigmoid_f32",
        [2.41, 2.41],
        &sweeps,
        kernel!(sigmoid_with),
        sigmoid_f64,
    );
}

#[test]
#[cfg_attr(debug_assertions, ignore = "exhaustive: run with --release")]
fn softplus_f32_all_inputs() {
    // Dense: 2^-26 <= x <= 20, -104 <= x <= -2^-26. Outside: the result is x
    // (e^-x below half an ULP of x), 0 (below 2^-150), or ln 2 + x/2 which
    // rounds to ln 2.
    let sweeps = [
        dense(0x3280_0000, 0x41a0_0000),
        dense(0xb280_0000, 0xc2d0_0000),
        SPARSE,
    ];
    check(
        "softplus_f32",
        [1.64, 1.61],
        &sweeps,
        kernel!(softplus_with),
        softplus_f64,
    );
}

#[test]
#[cfg_attr(debug_assertions, ignore = "exhaustive: run with --release")]
fn tanh_f32_all_inputs() {
    // Dense: 2^-30 <= x <= 10. Outside, sampled: the result is 1 (clamped to
    // 10, where tanh has rounded to 1 since 9.02), or for x < 2^-30 it is x
    // exactly (expm1 gives 2x, 2x + 2 rounds to 2); negative inputs give
    // the negated result, to the bit, by construction (the sign is put back
    // on the result for |x|).
    let sweeps = [dense(0x3080_0000, 0x4120_0000), SPARSE];
    check(
        "tanh_f32",
        [2.44, 2.44],
        &sweeps,
        kernel!(tanh_with),
        f64::tanh,
    );
}

/// `x^e` has two inputs, too many for every pair: 2^26 random pairs instead,
/// against `f64::powf` (glibc: below 1 ULP of f64), and a list of hard
/// pairs. A pair draws `|x|` uniform in the bit patterns of `[2^-149,
/// 2^128)`, its sign, and the logarithm of the result, `y = e ln|x|`,
/// uniform in `[-110, 95]` (results from below the smallest subnormal to
/// beyond `f32::MAX`), each from its own random number; `e = y / ln|x|`,
/// rounded to an integer one time in four (where a negative base's sign
/// rules apply). The bound holds with room: the f64 evaluation's error is
/// below 2^-20 ULP of f32 wherever the result is finite and not 0.
#[test]
#[cfg_attr(debug_assertions, ignore = "2^26 pairs: run with --release")]
fn powf_f32_random_pairs() {
    use std::sync::atomic::AtomicUsize;
    const PAIRS: usize = 1 << 26;
    // splitmix64: a reproducible stream per pair.
    fn mix(mut z: u64) -> u64 {
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn pair(i: u64) -> (f32, f32) {
        let (a, b, c) = (mix(3 * i), mix(3 * i + 1), mix(3 * i + 2));
        let magnitude = f32::from_bits(1 + (a as u32) % (0x7f80_0000 - 1));
        let x = if b & 1 == 1 { -magnitude } else { magnitude };
        let y = -110.0 + 205.0 * ((c >> 11) as f64 / (1u64 << 53) as f64);
        let e = (y / f64::from(magnitude).ln()) as f32;
        let e = if (b >> 1) & 3 == 0 { e.round() } else { e };
        (x, e)
    }
    let hard: Vec<(f32, f32)> = [
        (-3.0_f32, 80.0_f32),
        (-3.0, 81.0),
        (2.0, 127.999),
        (2.0, 128.0),
        (2.0, -149.0),
        (2.0, -149.5),
        (-2.0, -149.0),
        (0.5, 149.0),
        (-1.000_000_1, 16_777_215.0),
        (-1.000_000_1, 8_388_609.0),
        (-1.000_000_1, 8_388_607.5),
        (-0.999_999_9, 16_777_216.0),
        (1e-45, 0.9),
        (-1e-45, 3.0),
        (3.4e38, -1.0),
    ]
    .into_iter()
    .collect();
    let next = AtomicUsize::new(0);
    let worst = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    let mut worst = (0.0_f64, 0.0_f32, 0.0_f32);
                    let (mut x, mut e, mut y) = (
                        vec![0.0_f32; BATCH],
                        vec![0.0_f32; BATCH],
                        vec![0.0_f32; BATCH],
                    );
                    loop {
                        let start = next.fetch_add(BATCH, Ordering::Relaxed);
                        if start >= PAIRS + hard.len() {
                            return worst;
                        }
                        let n = BATCH.min(PAIRS + hard.len() - start);
                        for i in 0..n {
                            (x[i], e[i]) = match (start + i).checked_sub(PAIRS) {
                                Some(h) => hard[h],
                                None => pair((start + i) as u64),
                            };
                        }
                        simd::run(|| {
                            for ((o, &a), &b) in y[..n].iter_mut().zip(&x).zip(&e) {
                                *o = loss_core::math::powf_f32(a, b);
                            }
                        });
                        for i in 0..n {
                            let exact = f64::from(x[i]).powf(f64::from(e[i]));
                            let err = ulp_error(y[i], exact);
                            if err > worst.0 {
                                worst = (err, x[i], e[i]);
                            }
                        }
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap())
            .fold((0.0, 0.0, 0.0), |a, b| if b.0 > a.0 { b } else { a })
    });
    eprintln!(
        "powf_f32: max error {:.6} ULP at x = {:e}, e = {:e}",
        worst.0, worst.1, worst.2
    );
    assert!(
        worst.0 <= 0.5 + 2f64.powi(-19),
        "powf_f32: {} ULP at x = {:e}, e = {:e}",
        worst.0,
        worst.1,
        worst.2
    );
}

/// Every pair of special and ordinary values gives `libm::powf`'s result
/// (NaN for NaN, and the sign of a zero or an infinity).
#[test]
fn powf_f32_special_values_are_libms() {
    let values = [
        0.0_f32,
        -0.0,
        1.0,
        -1.0,
        0.5,
        -0.5,
        2.0,
        -2.0,
        3.0,
        -3.0,
        2.5,
        -2.5,
        1e-30,
        -1e-30,
        1e30,
        -1e30,
        16_777_216.0,
        -16_777_215.0,
        8_388_609.0,
        -8_388_609.0,
        8_388_607.5,
        f32::MIN_POSITIVE / 4.0,
        -f32::MIN_POSITIVE / 4.0,
        f32::MAX,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
    ];
    for &x in &values {
        for &e in &values {
            let (ours, theirs) = (loss_core::math::powf_f32(x, e), libm::powf(x, e));
            // Bit for bit, or (where libm's own rounding differs) a nonzero
            // result within the bound of the exact power.
            let same = (ours.is_nan() && theirs.is_nan())
                || ours.to_bits() == theirs.to_bits()
                || (ours.is_finite()
                    && ours != 0.0
                    && theirs != 0.0
                    && ulp_error(ours, f64::from(x).powf(f64::from(e))) <= 0.5001);
            assert!(same, "powf({x:e}, {e:e}): {ours:e}, libm {theirs:e}");
        }
    }
}

#[test]
fn ulp_error_measures_in_f32_ulps() {
    assert_eq!(ulp_error(1.0, 1.0), 0.0);
    assert_eq!(ulp_error(1.0, 1.0 + f64::from(f32::EPSILON) / 2.0), 0.5);
    assert_eq!(ulp_error(f32::from_bits(1), 0.0), f64::INFINITY);
    assert_eq!(ulp_error(0.0, 2f64.powi(-150)), 0.5);
    assert_eq!(ulp_error(f32::INFINITY, f64::from(f32::MAX)), 1.0);
    assert_eq!(ulp_error(-0.0, 0.0), f64::INFINITY);
    assert_eq!(ulp_error(f32::NAN, f64::NAN), 0.0);
}
