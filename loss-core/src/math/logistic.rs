//! The logistic sigmoid `1 / (1 + e^-x)`, softplus `ln(1 + e^x)`, and the
//! hyperbolic tangent `tanh(x) = 2 sigmoid(2x) - 1`.
//!
//! The first two evaluate `e^-|x|`, which never overflows, and choose the
//! branch with a select:
//!
//! - `sigmoid(x) = 1 / (1 + t)` for `x >= 0`, `t / (1 + t)` for `x < 0`, with
//!   `t = e^-|x|`; full relative accuracy in both tails.
//! - `softplus(x) = max(x, 0) + ln(1 + t)`.
//!
//! `tanh` is odd, so it works on `a = |x|` and puts the sign back:
//! `tanh(a) = u / (u + 2)` with `u = e^2a - 1` from `expm1`, which keeps its
//! relative accuracy near 0 (where `2 sigmoid(2x) - 1` would cancel), and `a`
//! clamped to where the result has rounded to 1 and `u` is still finite.

use super::exp::{abs_f32, abs_f64, exp_f32_with, exp_f64_with, expm1_f32_with, expm1_f64_with};
use super::log::{log1p_f32_with, log1p_f64_with};
use super::{MulAdd, Plain};

/// The logistic sigmoid `1 / (1 + e^-x)` for `f32`, vectorisable.
///
/// **Error: at most 2.41 ULP** (for `x < 0` the errors of `t`, of `1 + t` and
/// of the division add up), proven over all non-trivial inputs by
/// `sigmoid_f32_all_inputs` in `tests/math_f32_exhaustive.rs`.
/// `sigmoid(+inf) = 1`, `sigmoid(-inf) = 0`, NaN for NaN.
///
/// ```
/// use loss_core::math::sigmoid_f32;
/// assert_eq!(sigmoid_f32(0.0), 0.5);
/// assert_eq!(sigmoid_f32(100.0), 1.0);
/// assert!(sigmoid_f32(-100.0) > 0.0);
/// ```
#[inline(always)]
pub fn sigmoid_f32(x: f32) -> f32 {
    sigmoid_f32_with::<Plain>(x)
}

/// [`sigmoid_f32`] with `a * b + c` evaluated as `M` says.
#[inline(always)]
pub(crate) fn sigmoid_f32_with<M: MulAdd>(x: f32) -> f32 {
    let t = exp_f32_with::<M>(-abs_f32(x));
    let num = if x < 0.0 { t } else { 1.0 };
    num / (1.0 + t)
}

/// The logistic sigmoid `1 / (1 + e^-x)` for `f64`, vectorisable.
///
/// As [`sigmoid_f32`]. **Error: 2.29 ULP**, the maximum measured on random
/// inputs against a double-double reference by
/// `sigmoid_f64_random_and_hard_cases` in `tests/math_f64.rs`.
///
/// ```
/// use loss_core::math::sigmoid_f64;
/// assert_eq!(sigmoid_f64(0.0), 0.5);
/// assert_eq!(sigmoid_f64(f64::NEG_INFINITY), 0.0);
/// ```
#[inline(always)]
pub fn sigmoid_f64(x: f64) -> f64 {
    sigmoid_f64_with::<Plain>(x)
}

/// [`sigmoid_f64`] with `a * b + c` evaluated as `M` says.
#[inline(always)]
pub(crate) fn sigmoid_f64_with<M: MulAdd>(x: f64) -> f64 {
    let t = exp_f64_with::<M>(-abs_f64(x));
    let num = if x < 0.0 { t } else { 1.0 };
    num / (1.0 + t)
}

/// Softplus `ln(1 + e^x)` for `f32`, vectorisable, never overflowing.
///
/// **Error: at most 1.64 ULP** (the errors of `e^-|x|` and of `log1p` add
/// up near `x = -1`), proven over all non-trivial inputs by
/// `softplus_f32_all_inputs` in `tests/math_f32_exhaustive.rs`.
/// `softplus(+inf) = +inf`, `softplus(-inf) = 0`, NaN for NaN.
///
/// ```
/// use loss_core::math::softplus_f32;
/// assert!((softplus_f32(0.0) - core::f32::consts::LN_2).abs() <= f32::EPSILON);
/// assert_eq!(softplus_f32(1000.0), 1000.0);
/// assert!(softplus_f32(-50.0) > 0.0);
/// ```
#[inline(always)]
pub fn softplus_f32(x: f32) -> f32 {
    softplus_f32_with::<Plain>(x)
}

/// [`softplus_f32`] with `a * b + c` evaluated as `M` says.
#[inline(always)]
pub(crate) fn softplus_f32_with<M: MulAdd>(x: f32) -> f32 {
    let positive = if x > 0.0 { x } else { 0.0 };
    positive + log1p_f32_with::<M>(exp_f32_with::<M>(-abs_f32(x)))
}

/// Softplus `ln(1 + e^x)` for `f64`, vectorisable, never overflowing.
///
/// As [`softplus_f32`]. **Error: 1.41 ULP**, the maximum measured on random
/// inputs against a double-double reference by
/// `softplus_f64_random_and_hard_cases` in `tests/math_f64.rs`.
///
/// ```
/// use loss_core::math::softplus_f64;
/// assert!((softplus_f64(0.0) - core::f64::consts::LN_2).abs() <= f64::EPSILON);
/// assert_eq!(softplus_f64(1e300), 1e300);
/// ```
#[inline(always)]
pub fn softplus_f64(x: f64) -> f64 {
    softplus_f64_with::<Plain>(x)
}

/// [`softplus_f64`] with `a * b + c` evaluated as `M` says.
#[inline(always)]
pub(crate) fn softplus_f64_with<M: MulAdd>(x: f64) -> f64 {
    let positive = if x > 0.0 { x } else { 0.0 };
    positive + log1p_f64_with::<M>(exp_f64_with::<M>(-abs_f64(x)))
}

/// Past this `|x|`, `tanh(x)` rounds to `±1` in f32 (`1 - tanh(x) < 2e^-2x`,
/// below half an ULP of 1 from `x = 9.02`), and `e^2x - 1` is still finite.
const TANH_SATURATED_F32: f32 = 10.0;
/// The same for f64 (`tanh(x)` rounds to 1 from `x = 19.07`).
const TANH_SATURATED_F64: f64 = 20.0;

/// The hyperbolic tangent for `f32`, vectorisable.
///
/// **Error: at most 2.44 ULP** (the errors of `expm1`, of `u + 2` and of the
/// division add up, most where the result is just below a power of two, near
/// 0.0622), proven over all non-trivial inputs by
/// `tanh_f32_all_inputs` in `tests/math_f32_exhaustive.rs`. Odd to the bit
/// (`tanh(-x) = -tanh(x)`, so `tanh(-0) = -0`), `tanh(±inf) = ±1`, NaN for
/// NaN.
///
/// ```
/// use loss_core::math::tanh_f32;
/// assert_eq!(tanh_f32(0.0), 0.0);
/// assert_eq!(tanh_f32(1e-30), 1e-30);
/// assert_eq!(tanh_f32(-20.0), -1.0);
/// assert!((tanh_f32(0.5) - 0.462_117_16).abs() <= 2.0 * f32::EPSILON);
/// ```
#[inline(always)]
pub fn tanh_f32(x: f32) -> f32 {
    tanh_f32_with::<Plain>(x)
}

/// [`tanh_f32`] with `a * b + c` evaluated as `M` says.
#[inline(always)]
pub(crate) fn tanh_f32_with<M: MulAdd>(x: f32) -> f32 {
    let a = abs_f32(x);
    // A select, not `min`: a NaN fails the compare and stays NaN.
    let a = if a > TANH_SATURATED_F32 {
        TANH_SATURATED_F32
    } else {
        a
    };
    // `a + a` is exact.
    let u = expm1_f32_with::<M>(a + a);
    let t = u / (u + 2.0);
    f32::from_bits(t.to_bits() | (x.to_bits() & 0x8000_0000))
}

/// The hyperbolic tangent for `f64`, vectorisable.
///
/// As [`tanh_f32`]. **Error: 2.51 ULP**, the maximum measured against a
/// double-double reference on random inputs, on inputs where the result is
/// just below a power of two (where the error peaks, as in f32) and on
/// hard cases, by `tanh_f64_random_and_hard_cases` in `tests/math_f64.rs`
/// (bound checked: 2.6).
///
/// ```
/// use loss_core::math::tanh_f64;
/// assert_eq!(tanh_f64(-0.0).to_bits(), (-0.0_f64).to_bits());
/// assert_eq!(tanh_f64(f64::INFINITY), 1.0);
/// assert!((tanh_f64(0.5) - 0.462_117_157_260_009_8).abs() <= 2.0 * f64::EPSILON);
/// ```
#[inline(always)]
pub fn tanh_f64(x: f64) -> f64 {
    tanh_f64_with::<Plain>(x)
}

/// [`tanh_f64`] with `a * b + c` evaluated as `M` says.
#[inline(always)]
pub(crate) fn tanh_f64_with<M: MulAdd>(x: f64) -> f64 {
    let a = abs_f64(x);
    let a = if a > TANH_SATURATED_F64 {
        TANH_SATURATED_F64
    } else {
        a
    };
    let u = expm1_f64_with::<M>(a + a);
    let t = u / (u + 2.0);
    f64::from_bits(t.to_bits() | (x.to_bits() & 0x8000_0000_0000_0000))
}
