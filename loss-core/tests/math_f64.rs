//! Error of the f64 functions of `loss_core::math`, against a double-double
//! reference (about 100 correct bits), on random inputs and hard cases.
//!
//! The reference is built from exact transformations (2Sum, FMA products) and
//! Taylor series of `e^t - 1` for `|t| <= 0.7`; `ln` is one Newton step on
//! `e^y` from the `std` value, which doubles its 53 correct bits. Its own
//! error is below 2^-90 relative, invisible at the printed precision.
//!
//! `cargo test --release -p loss-core --test math_f64 -- --nocapture` prints
//! the measured maxima (two or three sets of `SAMPLES` random inputs per
//! function: 2^22 each in release, 2^14 in a debug build).

use loss_core::math::{self, FastMath, Fused, Plain};

// ---------------------------------------------------------------- double-double

/// `hi + lo` with `|lo| <= ulp(hi) / 2`.
#[derive(Clone, Copy, Debug)]
struct Dd {
    hi: f64,
    lo: f64,
}

fn dd(x: f64) -> Dd {
    Dd { hi: x, lo: 0.0 }
}

fn two_sum(a: f64, b: f64) -> Dd {
    let s = a + b;
    let bb = s - a;
    Dd {
        hi: s,
        lo: (a - (s - bb)) + (b - bb),
    }
}

fn fast_two_sum(a: f64, b: f64) -> Dd {
    let s = a + b;
    Dd {
        hi: s,
        lo: b - (s - a),
    }
}

fn add(a: Dd, b: Dd) -> Dd {
    let s = two_sum(a.hi, b.hi);
    fast_two_sum(s.hi, s.lo + a.lo + b.lo)
}

fn neg(a: Dd) -> Dd {
    Dd {
        hi: -a.hi,
        lo: -a.lo,
    }
}

fn mul(a: Dd, b: Dd) -> Dd {
    let p = a.hi * b.hi;
    let e = a.hi.mul_add(b.hi, -p) + (a.hi * b.lo + a.lo * b.hi);
    fast_two_sum(p, e)
}

fn div(a: Dd, b: Dd) -> Dd {
    let q1 = a.hi / b.hi;
    let r = add(a, neg(mul(dd(q1), b)));
    let q2 = r.hi / b.hi;
    let r = add(r, neg(mul(dd(q2), b)));
    let q3 = r.hi / b.hi;
    add(fast_two_sum(q1, q2), dd(q3))
}

/// ln 2 to 106 bits.
const LN2: Dd = Dd {
    hi: core::f64::consts::LN_2,
    lo: 2.319_046_813_846_299_6e-17,
};

/// `1 / n!` for `n < 28`: `0.7^28 / 28! < 2^-110`.
fn inverse_factorials() -> &'static [Dd; 28] {
    static TABLE: std::sync::OnceLock<[Dd; 28]> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = [dd(1.0); 28];
        for n in 1..28 {
            t[n] = div(t[n - 1], dd(n as f64));
        }
        t
    })
}

/// `e^t - 1` for `|t| <= 0.7`, by its Taylor series (Horner).
fn expm1_taylor(t: Dd) -> Dd {
    let c = inverse_factorials();
    let mut sum = c[27];
    for n in (1..27).rev() {
        sum = add(mul(sum, t), c[n]);
    }
    mul(sum, t)
}

/// `e^x = value * 2^k`, value in `[0.7, 1.42]`.
fn exp_ref(x: f64) -> (Dd, i32) {
    let k = (x * core::f64::consts::LOG2_E).round();
    let r = add(dd(x), neg(mul(LN2, dd(k))));
    (add(dd(1.0), expm1_taylor(r)), k as i32)
}

/// `e^x - 1`, unscaled (`x >= -800`, `x <= 700`).
fn expm1_ref(x: f64) -> Dd {
    if x.abs() <= 0.7 {
        return expm1_taylor(dd(x));
    }
    let (v, k) = exp_ref(x);
    let v = scale(v, k);
    if v.hi.is_infinite() {
        return v;
    }
    add(v, dd(-1.0))
}

fn scale(a: Dd, k: i32) -> Dd {
    let s1 = 2f64.powi(k / 2);
    let s2 = 2f64.powi(k - k / 2);
    Dd {
        hi: a.hi * s1 * s2,
        lo: a.lo * s1 * s2,
    }
}

/// `ln(1 + f)` for `-0.5 <= f <= 1`: one Newton step from `std`'s value.
fn log1p_core(f: f64) -> Dd {
    let y0 = f.ln_1p();
    let m = expm1_taylor(dd(-y0)); // e^-y0 - 1
                                   // (1 + f)(1 + m) - 1 = f + m + f m
    let delta = add(add(dd(f), m), mul(dd(f), m));
    add(dd(y0), delta)
}

/// `ln x` for finite `x > 0`.
fn ln_ref(x: f64) -> Dd {
    if (0.5..=2.0).contains(&x) {
        return log1p_core(x - 1.0);
    }
    let (m, e) = frexp(x);
    add(mul(LN2, dd(f64::from(e))), log1p_core(m - 1.0))
}

/// `x = m 2^e`, `m` in `[1, 2)`.
fn frexp(x: f64) -> (f64, i32) {
    let (x, bias) = if x < f64::MIN_POSITIVE {
        (x * 2f64.powi(64), 64)
    } else {
        (x, 0)
    };
    let e = ((x.to_bits() >> 52) & 0x7ff) as i32 - 1023;
    (
        f64::from_bits((x.to_bits() & !(0x7ff << 52)) | (1023 << 52)),
        e - bias,
    )
}

/// `ln(1 + x)` for finite `x > -1`, with `x` a double-double.
fn log1p_ref(x: Dd) -> Dd {
    if (-0.5..=1.0).contains(&x.hi) {
        // ln(1 + hi + lo) = ln(1 + hi) + lo / (1 + hi)
        return add(log1p_core(x.hi), dd(x.lo / (1.0 + x.hi)));
    }
    let u = add(dd(1.0), x);
    add(ln_ref(u.hi), dd(u.lo / u.hi))
}

/// `1 / (1 + e^-x)` as `value * 2^k`.
fn sigmoid_ref(x: f64) -> (Dd, i32) {
    let (t, k) = exp_ref(-x.abs());
    let den = add(dd(1.0), scale(t, k));
    if x >= 0.0 {
        (div(dd(1.0), den), 0)
    } else {
        (div(t, den), k)
    }
}

/// `ln(1 + e^x)` as `value * 2^k`.
fn softplus_ref(x: f64) -> (Dd, i32) {
    let (t, k) = exp_ref(-x.abs());
    if k < -80 {
        // ln(1 + t) = t (1 - t / 2 + ...), t < 2^-80
        let v = mul(t, dd(1.0 - scale(t, k).hi / 2.0));
        return if x > 0.0 {
            (add(dd(x), scale(v, k)), 0)
        } else {
            (v, k)
        };
    }
    (add(dd(x.max(0.0)), log1p_ref(scale(t, k))), 0)
}

/// `tanh(x) = u / (u + 2)` with `u = e^2|x| - 1`, the sign put back (`|x|
/// <= 300`).
fn tanh_ref(x: f64) -> (Dd, i32) {
    let u = expm1_ref(2.0 * x.abs());
    let t = div(u, add(u, dd(2.0)));
    (if x < 0.0 { neg(t) } else { t }, 0)
}

// ---------------------------------------------------------------- ULPs

/// Error of `got` in ULPs of f64 at the exact value `value * 2^k`.
fn ulps(got: f64, value: Dd, k: i32) -> f64 {
    if got.is_nan() {
        return f64::INFINITY;
    }
    if value.hi == 0.0 {
        return if got == 0.0 { 0.0 } else { f64::INFINITY };
    }
    let binade = ((value.hi.abs().to_bits() >> 52) as i32 - 1023) + k;
    if got.is_infinite() {
        // Correct iff the exact value is beyond f64::MAX + ulp / 2.
        let beyond = binade >= 1024 || (binade == 1023 && scale(value, k).hi.is_infinite());
        return if beyond && got.signum() == value.hi.signum() {
            0.0
        } else {
            f64::INFINITY
        };
    }
    let got_scaled = got * 2f64.powi(-(k / 2)) * 2f64.powi(-(k - k / 2));
    let diff = (got_scaled - value.hi) - value.lo;
    let ulp_scaled_exp = binade.max(-1022) - 52 - k;
    (diff / 2f64.powi(ulp_scaled_exp / 2) / 2f64.powi(ulp_scaled_exp - ulp_scaled_exp / 2)).abs()
}

// ---------------------------------------------------------------- inputs

/// xorshift64*: a fixed, reproducible stream.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in `[lo, hi)`.
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * ((self.next() >> 11) as f64 / (1u64 << 53) as f64)
    }
    /// Uniform in the bit patterns of `[lo, hi]`, both finite and of one sign
    /// (so every binade is equally likely).
    fn bits(&mut self, lo: f64, hi: f64) -> f64 {
        let (a, b) = (
            lo.to_bits().min(hi.to_bits()),
            lo.to_bits().max(hi.to_bits()),
        );
        f64::from_bits(a + self.next() % (b - a + 1))
    }
}

const SAMPLES: usize = if cfg!(debug_assertions) {
    1 << 14
} else {
    1 << 22
};

/// The inputs near `x`: `x` and its neighbours up to 4 ULPs away.
fn around(x: f64) -> impl Iterator<Item = f64> {
    (-4_i64..=4).map(move |d| f64::from_bits((x.to_bits() as i64 + d) as u64))
}

/// A function in both flavours of its multiply-adds: [`Plain`] (the public
/// function, what the baseline runs) and [`Fused`] (what AVX2 and AVX-512
/// run).
macro_rules! flavours {
    ($method:ident) => {
        [
            (|x: f64| x.$method::<Plain>()) as fn(f64) -> f64,
            |x: f64| x.$method::<Fused>(),
        ]
    };
}

fn measure(
    name: &str,
    bounds: [f64; 2],
    inputs: impl Iterator<Item = f64>,
    kernels: [fn(f64) -> f64; 2],
    reference: impl Fn(f64) -> (Dd, i32),
) {
    let inputs: Vec<(f64, Dd, i32)> = inputs
        .map(|x| {
            let (v, k) = reference(x);
            (x, v, k)
        })
        .collect();
    for ((flavour, bound), kernel) in ["plain", "fused"].into_iter().zip(bounds).zip(kernels) {
        let mut worst = (0.0_f64, 0.0_f64);
        for &(x, v, k) in &inputs {
            let e = ulps(kernel(x), v, k);
            if e > worst.0 {
                worst = (e, x);
            }
        }
        eprintln!(
            "{name} ({flavour}): max error {:.4} ULP at x = {:e}",
            worst.0, worst.1
        );
        assert!(
            worst.0 <= bound,
            "{name} ({flavour}): {} ULP at {:e} exceeds the documented {bound}",
            worst.0,
            worst.1
        );
    }
}

// ---------------------------------------------------------------- tests

#[test]
fn exp_f64_random_and_hard_cases() {
    let mut rng = Rng(1);
    let wide = (0..SAMPLES)
        .map(|_| rng.uniform(-745.1, 709.78))
        .collect::<Vec<_>>();
    let small =
        (0..SAMPLES).map(|_| rng.bits(1e-300, 1.0) * if rng.next() & 1 == 0 { 1.0 } else { -1.0 });
    let hard = [
        709.782_712_893_384,
        -708.396_418_532_264_1,
        -745.133_219_101_941_1,
        0.346_573_590_279_972_6,
    ]
    .into_iter()
    .flat_map(around);
    // Normal results: only the final rounding is large.
    let normal = wide.iter().copied().filter(|&x| x > -708.39);
    measure(
        "exp_f64 (normal results)",
        [0.71, 0.70],
        normal,
        flavours!(exp_with),
        exp_ref,
    );
    // Subnormal results are rounded twice.
    let inputs = wide.into_iter().chain(small).chain(hard);
    measure(
        "exp_f64",
        [0.76, 0.76],
        inputs,
        flavours!(exp_with),
        exp_ref,
    );
}

/// `short` gives the bits of `full` on `inputs`, in both flavours.
fn same_bits(name: &str, inputs: &[f64], short: [fn(f64) -> f64; 2], full: [fn(f64) -> f64; 2]) {
    for ((flavour, short), full) in ["plain", "fused"].into_iter().zip(short).zip(full) {
        for &x in inputs {
            assert_eq!(
                short(x).to_bits(),
                full(x).to_bits(),
                "{name} ({flavour}) differs at {x:e}"
            );
        }
    }
}

/// Random inputs in `[lo, hi]` (uniform, and uniform in the bit patterns of
/// each sign), the ends and their neighbours.
fn domain(rng: &mut Rng, lo: f64, hi: f64) -> Vec<f64> {
    let mut inputs: Vec<f64> = (0..SAMPLES).map(|_| rng.uniform(lo, hi)).collect();
    for _ in 0..SAMPLES {
        let x = if lo < 0.0 && rng.next() & 1 == 1 {
            rng.bits(-0.0, lo)
        } else {
            rng.bits(lo.max(0.0), hi)
        };
        inputs.push(x);
    }
    inputs.extend(
        [lo, hi, 0.0, -0.0, 1.0]
            .into_iter()
            .flat_map(around)
            .filter(|&x| (lo..=hi).contains(&x)),
    );
    inputs
}

/// The short exp of the fused kernels gives the bits of `exp_f64` on its
/// domain.
#[test]
fn exp_normal_f64_is_exp_f64_on_its_domain() {
    let (lo, hi) = f64::EXP_NORMAL;
    same_bits(
        "exp_normal_f64",
        &domain(&mut Rng(7), lo, hi),
        flavours!(exp_normal_with),
        flavours!(exp_with),
    );
}

/// The short ln of the fused kernels gives the bits of `ln_f64` on the
/// positive normal numbers.
#[test]
fn ln_normal_f64_is_ln_f64_on_its_domain() {
    let (lo, hi) = f64::LN_NORMAL;
    same_bits(
        "ln_normal_f64",
        &domain(&mut Rng(8), lo, hi),
        flavours!(ln_normal_with),
        flavours!(ln_with),
    );
}

/// The short `ln(1 + x)` of the fused kernels gives the bits of `log1p_f64`
/// above -1.
#[test]
fn log1p_normal_f64_is_log1p_f64_on_its_domain() {
    let (lo, hi) = f64::LN_1P_NORMAL;
    same_bits(
        "log1p_normal_f64",
        &domain(&mut Rng(9), lo, hi),
        flavours!(ln_1p_normal_with),
        flavours!(ln_1p_with),
    );
}

#[test]
fn ln_f64_random_and_hard_cases() {
    let mut rng = Rng(2);
    let all = (0..SAMPLES)
        .map(|_| rng.bits(f64::from_bits(1), f64::MAX))
        .collect::<Vec<_>>();
    let near_one = (0..SAMPLES)
        .map(|_| rng.uniform(0.5, 2.0))
        .collect::<Vec<_>>();
    let hard = [
        1.0,
        core::f64::consts::FRAC_1_SQRT_2,
        core::f64::consts::SQRT_2,
        f64::MIN_POSITIVE,
        f64::MAX,
    ]
    .into_iter()
    .flat_map(around);
    let inputs = all
        .into_iter()
        .chain(near_one)
        .chain(hard)
        .filter(|&x| x > 0.0 && x.is_finite());
    measure("ln_f64", [0.89, 0.89], inputs, flavours!(ln_with), |x| {
        (ln_ref(x), 0)
    });
}

#[test]
fn log1p_f64_random_and_hard_cases() {
    let mut rng = Rng(3);
    let all = (0..SAMPLES)
        .map(|_| rng.bits(1e-300, f64::MAX))
        .collect::<Vec<_>>();
    let negative = (0..SAMPLES)
        .map(|_| -rng.bits(1e-300, 1.0))
        .collect::<Vec<_>>();
    let near_zero = (0..SAMPLES)
        .map(|_| rng.uniform(-0.5, 1.0))
        .collect::<Vec<_>>();
    let hard = [
        -0.5,
        1.0,
        core::f64::consts::SQRT_2 - 1.0,
        core::f64::consts::FRAC_1_SQRT_2 - 1.0,
        2f64.powi(53),
    ]
    .into_iter()
    .flat_map(around);
    let inputs = all
        .into_iter()
        .chain(negative)
        .chain(near_zero)
        .chain(hard)
        .filter(|&x| x > -1.0);
    measure(
        "log1p_f64",
        [0.89, 0.88],
        inputs,
        flavours!(ln_1p_with),
        |x| (log1p_ref(dd(x)), 0),
    );
}

#[test]
fn expm1_f64_random_and_hard_cases() {
    let mut rng = Rng(4);
    let wide = (0..SAMPLES)
        .map(|_| rng.uniform(-40.0, 709.78))
        .collect::<Vec<_>>();
    let small =
        (0..SAMPLES).map(|_| rng.bits(1e-300, 2.0) * if rng.next() & 1 == 0 { 1.0 } else { -1.0 });
    let hard = [
        709.782_712_893_384,
        0.346_573_590_279_972_6,
        -0.346_573_590_279_972_6,
        1.039_720_770_839_917_9,
    ]
    .into_iter()
    .flat_map(around);
    let inputs = wide.into_iter().chain(small).chain(hard);
    measure(
        "expm1_f64",
        [1.1, 1.15],
        inputs,
        flavours!(exp_m1_with),
        |x| (expm1_ref(x), 0),
    );
}

/// `e^x - 1 - x`: below `|x| = 2^-20` the first terms of its series (the next
/// is below 2^-88 of the sum), above it `expm1 - x` in double-double, whose
/// cancellation costs at most 20 of its 100 bits there.
fn expm1mx_ref(x: f64) -> Dd {
    if x.abs() < 2f64.powi(-20) {
        let inverse = |n: f64| div(dd(1.0), dd(n));
        let tail = add(inverse(24.0), mul(dd(x), inverse(120.0)));
        let tail = add(inverse(6.0), mul(dd(x), tail));
        let q = add(dd(0.5), mul(dd(x), tail));
        mul(mul(dd(x), dd(x)), q)
    } else {
        add(expm1_ref(x), dd(-x))
    }
}

#[test]
fn expm1mx_f64_random_and_hard_cases() {
    let mut rng = Rng(8);
    let wide = (0..SAMPLES)
        .map(|_| rng.uniform(-745.0, 709.78))
        .collect::<Vec<_>>();
    let small =
        (0..SAMPLES).map(|_| rng.bits(1e-300, 4.0) * if rng.next() & 1 == 0 { 1.0 } else { -1.0 });
    // Where the series gives way to `expm1 - x`, and where that cancels most.
    let hard = [-1.0, 1.25, 1.0, 0.5, -0.5, 1e-5, -1e-5, 2f64.powi(-20)]
        .into_iter()
        .flat_map(around);
    let inputs = wide.into_iter().chain(small).chain(hard);
    measure(
        "expm1mx_f64",
        [2.25, 2.25],
        inputs,
        flavours!(exp_m1_minus_x_with),
        |x| (expm1mx_ref(x), 0),
    );
}

#[test]
fn sigmoid_f64_random_and_hard_cases() {
    let mut rng = Rng(5);
    let wide = (0..SAMPLES)
        .map(|_| rng.uniform(-745.0, 40.0))
        .collect::<Vec<_>>();
    let small =
        (0..SAMPLES).map(|_| rng.bits(1e-300, 4.0) * if rng.next() & 1 == 0 { 1.0 } else { -1.0 });
    let inputs = wide.into_iter().chain(small).chain(around(-708.4));
    measure(
        "sigmoid_f64",
        [2.3, 2.3],
        inputs,
        flavours!(sigmoid_with),
        sigmoid_ref,
    );
}

#[test]
fn softplus_f64_random_and_hard_cases() {
    let mut rng = Rng(6);
    let wide = (0..SAMPLES)
        .map(|_| rng.uniform(-745.0, 40.0))
        .collect::<Vec<_>>();
    let small =
        (0..SAMPLES).map(|_| rng.bits(1e-300, 4.0) * if rng.next() & 1 == 0 { 1.0 } else { -1.0 });
    let inputs = wide.into_iter().chain(small).chain(around(-708.4));
    measure(
        "softplus_f64",
        [2.0, 2.0],
        inputs,
        flavours!(softplus_with),
        softplus_ref,
    );
}

#[test]
fn tanh_f64_random_and_hard_cases() {
    let mut rng = Rng(9);
    let wide = (0..SAMPLES)
        .map(|_| rng.uniform(-25.0, 25.0))
        .collect::<Vec<_>>();
    let small =
        (0..SAMPLES).map(|_| rng.bits(1e-300, 4.0) * if rng.next() & 1 == 0 { 1.0 } else { -1.0 });
    // Where expm1 changes its reduction, where tanh rounds to 1 (55 ln 2 / 2),
    // the clamp, subnormals, and the largest errors found by a search in
    // exact arithmetic (results just below 1/8 and 1/32).
    let hard = [
        0.125_391_755_700_557_86,
        0.125_422_922_100_692_72,
        0.031_239_269_611_593_4,
        0.173_286_795_139_986_3,
        0.519_860_385_419_958_9,
        19.061_541_219_392_9,
        20.0,
        -20.0,
        1e-320,
        -2.5e-310,
    ]
    .into_iter()
    .flat_map(around);
    // Just below atanh(2^-n), where the result sits just below a power of
    // two and a relative error counts up to twice in ULPs: the largest
    // errors are there.
    let below_powers_of_two = (1..=40).flat_map(|n| {
        let top = 2f64.powi(-n).atanh();
        let mut rng = Rng(100 + n as u64);
        (0..SAMPLES / 64).map(move |_| rng.bits(top * (1.0 - 1.0 / 64.0), top))
    });
    let inputs = wide
        .into_iter()
        .chain(small)
        .chain(hard)
        .chain(below_powers_of_two);
    measure(
        "tanh_f64",
        [2.6, 2.6],
        inputs,
        flavours!(tanh_with),
        tanh_ref,
    );
}

#[test]
fn special_values() {
    let nan = f64::NAN;
    for f in [
        math::exp_f64,
        math::ln_f64,
        math::log1p_f64,
        math::expm1_f64,
        math::sigmoid_f64,
        math::softplus_f64,
        math::tanh_f64,
    ] {
        assert!(f(nan).is_nan());
    }
    assert_eq!(math::exp_f64(f64::INFINITY), f64::INFINITY);
    assert_eq!(math::exp_f64(f64::NEG_INFINITY), 0.0);
    assert_eq!(math::exp_f64(-0.0), 1.0);
    assert_eq!(math::ln_f64(0.0), f64::NEG_INFINITY);
    assert_eq!(math::ln_f64(-0.0), f64::NEG_INFINITY);
    assert!(math::ln_f64(-1e-300).is_nan());
    assert_eq!(math::ln_f64(f64::INFINITY), f64::INFINITY);
    assert!((math::ln_f64(f64::from_bits(1)) + 744.440_071_921_381_3).abs() < 1e-12);
    assert_eq!(math::log1p_f64(-0.0).to_bits(), (-0.0_f64).to_bits());
    assert_eq!(math::log1p_f64(-1.0), f64::NEG_INFINITY);
    assert!(math::log1p_f64(-1.5).is_nan());
    assert_eq!(math::log1p_f64(f64::INFINITY), f64::INFINITY);
    assert_eq!(math::expm1_f64(-0.0).to_bits(), (-0.0_f64).to_bits());
    assert_eq!(math::expm1_f64(f64::NEG_INFINITY), -1.0);
    assert_eq!(math::expm1_f64(f64::INFINITY), f64::INFINITY);
    assert_eq!(math::expm1_f64(710.0), f64::INFINITY);
    assert_eq!(math::sigmoid_f64(f64::INFINITY), 1.0);
    assert_eq!(math::sigmoid_f64(f64::NEG_INFINITY), 0.0);
    assert_eq!(math::softplus_f64(f64::INFINITY), f64::INFINITY);
    assert_eq!(math::softplus_f64(f64::NEG_INFINITY), 0.0);
    assert_eq!(math::tanh_f64(f64::INFINITY), 1.0);
    assert_eq!(math::tanh_f64(f64::NEG_INFINITY), -1.0);
    assert_eq!(math::tanh_f64(-0.0).to_bits(), (-0.0_f64).to_bits());
    assert_eq!(math::tanh_f64(-1e-300), -1e-300);
}

#[test]
fn reference_agrees_with_std() {
    for x in [-700.0_f64, -1.0, -1e-10, 0.3, 1.0, 20.0, 700.0] {
        let (v, k) = exp_ref(x);
        assert!(ulps(x.exp(), v, k) < 1.0, "exp {x}");
        assert!(ulps(x.exp_m1(), expm1_ref(x), 0) < 1.0, "expm1 {x}");
        let (t, k) = tanh_ref(x / 40.0);
        assert!(ulps((x / 40.0).tanh(), t, k) < 1.0, "tanh {x}");
    }
    for x in [1e-300_f64, 1e-5, 0.7, 1.0 + 1e-12, 3.0, 1e300] {
        assert!(ulps(x.ln(), ln_ref(x), 0) < 1.0, "ln {x}");
        assert!(ulps(x.ln_1p(), log1p_ref(dd(x)), 0) < 1.0, "log1p {x}");
    }
}
