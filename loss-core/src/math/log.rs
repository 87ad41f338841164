//! `ln x` and `ln(1 + x)`.
//!
//! Both share one kernel, [`ln_core_f32`] / [`ln_core_f64`], which returns
//! `ln(u) + c` for a small correction `c`:
//!
//! - `u = 2^e m` with `m` in `[sqrt(1/2), sqrt 2)`, read from the bits
//!   (subtract the bits of `sqrt(1/2)`, the exponent field of the difference is
//!   `e`); a subnormal `u` is first scaled by `2^23` (`2^54`), with a select.
//! - `f = m - 1` is exact (Sterbenz). With `s = f / (2 + f)`, `|s| <= 0.1716`,
//!   `ln(1 + f) = 2 atanh(s) = f - f^2/2 + s (f^2/2 + z P(z))`, `z = s^2`
//!   (the fdlibm form: the large part `f` is exact, the rounding errors are
//!   all in the small correction).
//! - `ln u = e LN2_HI + f + (e LN2_LO + correction + c)`: `e LN2_HI` is exact
//!   and `e LN2_HI + f` is summed exactly into `hi + lo` (Fast2Sum), so the only
//!   large rounding is the final one.
//! - Special values are chosen with selects at the end, not branches.
//!
//! Every `a * b + c` is evaluated as the [`MulAdd`] parameter says (see
//! `exp.rs`).

use super::{MulAdd, Plain};
use crate::Float;

/// Coefficients of `P(z) ~ (2 atanh(s) / s - 2) / z`, `z = s^2 <= 0.02944`,
/// f32. From `tests/fixtures/math_coefficients.py`: `|z (P - P*)| / 2 <
/// 2^-31.6`, relative to `ln(1 + f)`.
const LN_P_F32: [f32; 4] = [
    f32::from_bits(0x3f2a_aaab), // 0.6666667
    f32::from_bits(0x3ecc_ccf6), // 0.40000123
    f32::from_bits(0x3e92_2e1f), // 0.28550813
    f32::from_bits(0x3e6e_e806), // 0.23330697
];

/// Coefficients of `P(z) ~ (2 atanh(s) / s - 2) / z`, `z = s^2 <= 0.02944`,
/// f64. From `tests/fixtures/math_coefficients.py`: `|z (P - P*)| / 2 <
/// 2^-57.6`, relative to `ln(1 + f)`.
const LN_P_F64: [f64; 7] = [
    f64::from_bits(0x3fe5_5555_5555_5558), // 0.666666666666667
    f64::from_bits(0x3fd9_9999_9999_52cc), // 0.3999999999989938
    f64::from_bits(0x3fd2_4924_92df_3ba9), // 0.28571428626031065
    f64::from_bits(0x3fcc_71c6_2e26_208b), // 0.2222221112572281
    f64::from_bits(0x3fc7_462b_58e4_6ebe), // 0.18182889786191042
    f64::from_bits(0x3fc3_9fe4_2e97_40a7), // 0.15331699633543858
    f64::from_bits(0x3fc2_b59b_7136_16c9), // 0.14616721179861816
];

/// High part of ln 2, 15 significant bits: `e * LN2_HI_F32` is exact.
const LN2_HI_F32: f32 = f32::from_bits(0x3f31_7200);
/// `ln 2 - LN2_HI_F32`, rounded.
const LN2_LO_F32: f32 = f32::from_bits(0x35bf_be8e);
/// Bits of `sqrt(1/2)` rounded, f32.
const SQRT_HALF_BITS_F32: i32 = 0x3f35_04f3;

/// High part of ln 2, 32 significant bits: `e * LN2_HI_F64` is exact.
const LN2_HI_F64: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
/// `ln 2 - LN2_HI_F64`, rounded.
const LN2_LO_F64: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
/// Bits of `sqrt(1/2)` rounded, f64.
const SQRT_HALF_BITS_F64: i64 = 0x3fe6_a09e_667f_3bcd;

/// `ln(u) + c`, for `|c| <= ulp(u)` (the rounding error of `u`), f32.
#[inline(always)]
pub(crate) fn ln_core_f32<M: MulAdd>(u: f32, c_over_u: f32) -> f32 {
    let subnormal = u < f32::MIN_POSITIVE;
    let scaled = if subnormal { u * 8_388_608.0 } else { u }; // 2^23
    let v = ln_positive_f32::<M>(scaled, if subnormal { 23 } else { 0 }, c_over_u);
    let v = if u == f32::INFINITY { u } else { v };
    let v = if u == 0.0 { f32::NEG_INFINITY } else { v };
    // Negative or NaN.
    if u < 0.0 || u.is_nan() {
        f32::NAN
    } else {
        v
    }
}

/// `ln(u 2^-scale) + c` for a positive normal finite `u`, f32: the reduction
/// and the polynomial, without the special values.
#[inline(always)]
fn ln_positive_f32<M: MulAdd>(u: f32, scale: i32, c_over_u: f32) -> f32 {
    let ix = u.to_bits() as i32;
    let t = ix.wrapping_sub(SQRT_HALF_BITS_F32);
    let e = (t >> 23) - scale;
    let m = f32::from_bits(ix.wrapping_sub(t & (0xff80_0000_u32 as i32)) as u32);
    let f = m - 1.0;
    let s = f / (2.0 + f);
    let z = s * s;
    let z2 = z * z;
    let p = &LN_P_F32;
    let r = z * M::f32(z2, M::f32(p[3], z, p[2]), M::f32(p[1], z, p[0]));
    let hfsq = 0.5 * f * f;
    let ef = e as f32;
    let a = ef * LN2_HI_F32;
    let hi = a + f;
    let lo = (a - hi) + f;
    let small = M::f32(ef, LN2_LO_F32, c_over_u) + M::f32(s, hfsq + r, -hfsq);
    hi + (lo + small)
}

/// `ln(u) + c`, for `|c| <= ulp(u)` (the rounding error of `u`), f64.
#[inline(always)]
pub(crate) fn ln_core_f64<M: MulAdd>(u: f64, c_over_u: f64) -> f64 {
    let subnormal = u < f64::MIN_POSITIVE;
    let scaled = if subnormal {
        u * 18_014_398_509_481_984.0
    } else {
        u
    }; // 2^54
    let v = ln_positive_f64::<M>(scaled, if subnormal { 54 } else { 0 }, c_over_u);
    let v = if u == f64::INFINITY { u } else { v };
    let v = if u == 0.0 { f64::NEG_INFINITY } else { v };
    if u < 0.0 || u.is_nan() {
        f64::NAN
    } else {
        v
    }
}

/// `ln(u 2^-scale) + c` for a positive normal finite `u`, f64 (as
/// [`ln_positive_f32`]).
#[inline(always)]
fn ln_positive_f64<M: MulAdd>(u: f64, scale: i64, c_over_u: f64) -> f64 {
    let ix = u.to_bits() as i64;
    let t = ix.wrapping_sub(SQRT_HALF_BITS_F64);
    let e = (t >> 52) - scale;
    let m = f64::from_bits(ix.wrapping_sub(t & (0xfff0_0000_0000_0000_u64 as i64)) as u64);
    let f = m - 1.0;
    let s = f / (2.0 + f);
    let z = s * s;
    let z2 = z * z;
    let z4 = z2 * z2;
    let p = &LN_P_F64;
    let p01 = M::f64(p[1], z, p[0]);
    let p23 = M::f64(p[3], z, p[2]);
    let p45 = M::f64(p[5], z, p[4]);
    let r = z * M::f64(z4, M::f64(z2, p[6], p45), M::f64(z2, p23, p01));
    let hfsq = 0.5 * f * f;
    let ef = e as i32 as f64;
    let a = ef * LN2_HI_F64;
    let hi = a + f;
    let lo = (a - hi) + f;
    let small = M::f64(ef, LN2_LO_F64, c_over_u) + M::f64(s, hfsq + r, -hfsq);
    hi + (lo + small)
}

/// Natural logarithm of an `f32`, vectorisable.
///
/// **Error: at most 0.89 ULP** (the correction `s (hfsq + R) - hfsq` is up to
/// a quarter of the result near `x = 1/sqrt 2`, and its roundings count),
/// proven exhaustively over all non-negative inputs (and every 61st of the
/// rest) by `ln_f32_all_inputs` in `tests/math_f32_exhaustive.rs`, against `f64` `ln`.
/// `ln 1 = 0` exactly, `ln(±0) = -inf`, `ln(+inf) = +inf`, NaN for negative
/// numbers and NaN.
///
/// ```
/// use loss_core::math::ln_f32;
/// assert_eq!(ln_f32(1.0), 0.0);
/// assert!((ln_f32(core::f32::consts::E) - 1.0).abs() <= f32::EPSILON);
/// assert_eq!(ln_f32(0.0), f32::NEG_INFINITY);
/// assert!(ln_f32(-1.0).is_nan());
/// ```
#[inline(always)]
pub fn ln_f32(x: f32) -> f32 {
    ln_f32_with::<Plain>(x)
}

/// [`ln_f32`] with `a * b + c` evaluated as `M` says.
#[inline(always)]
pub(crate) fn ln_f32_with<M: MulAdd>(x: f32) -> f32 {
    ln_core_f32::<M>(x, 0.0)
}

/// Natural logarithm of an `f64`, vectorisable.
///
/// **Error: 0.885 ULP** (the same analysis as [`ln_f32`]), the maximum
/// measured on 2^21 random inputs and hard cases against a double-double
/// reference by `ln_f64_random_and_hard_cases` in `tests/math_f64.rs`. Special values as [`ln_f32`].
///
/// ```
/// use loss_core::math::ln_f64;
/// assert_eq!(ln_f64(1.0), 0.0);
/// assert!((ln_f64(core::f64::consts::E) - 1.0).abs() <= f64::EPSILON);
/// assert_eq!(ln_f64(f64::INFINITY), f64::INFINITY);
/// ```
#[inline(always)]
pub fn ln_f64(x: f64) -> f64 {
    ln_f64_with::<Plain>(x)
}

/// [`ln_f64`] with `a * b + c` evaluated as `M` says.
#[inline(always)]
pub(crate) fn ln_f64_with<M: MulAdd>(x: f64) -> f64 {
    ln_core_f64::<M>(x, 0.0)
}

/// [`ln_f32_with`] for a positive normal finite `x`: no special values, the
/// same bits.
#[inline(always)]
pub(crate) fn ln_normal_f32_with<M: MulAdd>(x: f32) -> f32 {
    ln_positive_f32::<M>(x, 0, 0.0)
}

/// [`ln_f64_with`] for a positive normal finite `x`: no special values, the
/// same bits.
#[inline(always)]
pub(crate) fn ln_normal_f64_with<M: MulAdd>(x: f64) -> f64 {
    ln_positive_f64::<M>(x, 0, 0.0)
}

/// `ln(1 + x)` for `f32`, accurate for small `x`, vectorisable.
///
/// `u = 1 + x` is rounded, its rounding error `c` (Fast2Sum) enters the kernel
/// as `c / u`. **Error: at most 0.90 ULP**, proven over all non-trivial
/// inputs by `log1p_f32_all_inputs` in `tests/math_f32_exhaustive.rs`.
/// `log1p(±0) = ±0`, `log1p(-1) = -inf`, NaN below -1.
///
/// ```
/// use loss_core::math::log1p_f32;
/// assert_eq!(log1p_f32(1e-10), 1e-10);
/// assert_eq!(log1p_f32(-1.0), f32::NEG_INFINITY);
/// assert!((log1p_f32(1.0) - core::f32::consts::LN_2).abs() <= f32::EPSILON);
/// ```
#[inline(always)]
pub fn log1p_f32(x: f32) -> f32 {
    log1p_f32_with::<Plain>(x)
}

/// [`log1p_f32`] with `a * b + c` evaluated as `M` says.
#[inline(always)]
pub(crate) fn log1p_f32_with<M: MulAdd>(x: f32) -> f32 {
    log1p_by(
        x,
        #[inline(always)]
        |u, c_over_u| ln_core_f32::<M>(u, c_over_u),
    )
}

/// [`log1p_f32_with`] for `x` in `[-1 + 2^-24, MAX]`, where `1 + x` is a
/// positive normal number: no special values, the same bits.
#[inline(always)]
pub(crate) fn log1p_normal_f32_with<M: MulAdd>(x: f32) -> f32 {
    log1p_by(
        x,
        #[inline(always)]
        |u, c_over_u| ln_positive_f32::<M>(u, 0, c_over_u),
    )
}

/// `ln(1 + x)` through `ln_plus(u, c / u)`, the `ln` kernel (general or
/// short) given `u = 1 + x` rounded and `c` its rounding error (Fast2Sum:
/// the larger operand first). `ln(1 ± 0) = ±0`, the sign kept.
#[inline(always)]
fn log1p_by<F: Float>(x: F, ln_plus: impl FnOnce(F, F) -> F) -> F {
    let u = F::ONE + x;
    let big_x = if x > F::ONE { x } else { F::ONE };
    let small_x = if x > F::ONE { F::ONE } else { x };
    let c = (big_x - u) + small_x;
    let v = ln_plus(u, c / u);
    if x == F::ZERO {
        x
    } else {
        v
    }
}

/// `ln(1 + x)` for `f64`, accurate for small `x`, vectorisable.
///
/// As [`log1p_f32`]. **Error: 0.887 ULP**, the maximum measured as for
/// [`ln_f64`] by `log1p_f64_random_and_hard_cases` in `tests/math_f64.rs`.
///
/// ```
/// use loss_core::math::log1p_f64;
/// assert_eq!(log1p_f64(1e-20), 1e-20);
/// assert!((log1p_f64(1.0) - core::f64::consts::LN_2).abs() <= f64::EPSILON);
/// ```
#[inline(always)]
pub fn log1p_f64(x: f64) -> f64 {
    log1p_f64_with::<Plain>(x)
}

/// [`log1p_f64`] with `a * b + c` evaluated as `M` says.
#[inline(always)]
pub(crate) fn log1p_f64_with<M: MulAdd>(x: f64) -> f64 {
    log1p_by(
        x,
        #[inline(always)]
        |u, c_over_u| ln_core_f64::<M>(u, c_over_u),
    )
}

/// [`log1p_f64_with`] for `x` in `[-1 + 2^-53, MAX]`, where `1 + x` is a
/// positive normal number: no special values, the same bits.
#[inline(always)]
pub(crate) fn log1p_normal_f64_with<M: MulAdd>(x: f64) -> f64 {
    log1p_by(
        x,
        #[inline(always)]
        |u, c_over_u| ln_positive_f64::<M>(u, 0, c_over_u),
    )
}
