//! `e^x`, `e^x - 1` and `e^x - 1 - x`.
//!
//! Both share one reduction: `x = k ln2 + r` with `k = round(x / ln2)`, so
//! `|r| <= ln2 / 2`, and `e^r = 1 + r + r^2 q(r)` with `q` a polynomial.
//!
//! - `k` is rounded with the shifter trick (`x log2e + 1.5 * 2^p`, then
//!   subtract the shifter again), and its integer value is read from the bits
//!   of the shifted number: no float-to-int conversion, no branch.
//! - `ln2 = LN2_HI + LN2_LO`, `LN2_HI` with enough trailing zero bits that
//!   `k * LN2_HI` and `x - k * LN2_HI` are exact (Cody and Waite); `r` is
//!   carried as `r_hi + r_lo` with `r_lo = -k * LN2_LO`.
//! - `1 + r_hi` is summed exactly into `hi + lo` (Fast2Sum, `|1| >= |r_hi|`),
//!   so the only large rounding is the final one.
//! - `2^k` is applied as two exact powers of two, `2^(k >> 1) * 2^(k - (k >>
//!   1))`: the first product is exact, the second rounds once, also into the
//!   subnormal range, and overflows to infinity by itself.
//! - The input is clamped (with comparisons, which let NaN through) to a range
//!   whose ends already overflow or underflow, so `k` stays small.
//!
//! Every `a * b + c` is evaluated as the [`MulAdd`] parameter says: [`Plain`]
//! (two roundings, the same bits on every target) for the public functions,
//! [`Fused`](super::Fused) where the CPU has FMA. The exhaustive tests prove
//! the bounds for both.

use super::{MulAdd, Plain};

/// Coefficients of `q(r) ~ (e^r - 1 - r) / r^2` on `|r| <= 0.3467`, f32.
///
/// From `tests/fixtures/math_coefficients.py`: interpolation at Chebyshev
/// nodes; `|r^2 (q - Q)| < 2^-30.8` after rounding to f32.
const EXP_Q_F32: [f32; 6] = [
    f32::from_bits(0x3f00_0000), // 0.5
    f32::from_bits(0x3e2a_aaab), // 0.16666667
    f32::from_bits(0x3d2a_aa74), // 0.041666463
    f32::from_bits(0x3c08_8870), // 0.008333310
    f32::from_bits(0x3ab6_a1a7), // 0.0013933674
    f32::from_bits(0x3950_928b), // 0.00019891017
];

/// Coefficients of `q(r) ~ (e^r - 1 - r) / r^2` on `|r| <= 0.3467`, f64.
///
/// From `tests/fixtures/math_coefficients.py`; `|r^2 (q - Q)| < 2^-61.6`.
const EXP_Q_F64: [f64; 11] = [
    f64::from_bits(0x3fe0_0000_0000_0000), // 0.5
    f64::from_bits(0x3fc5_5555_5555_5557), // 0.16666666666666670
    f64::from_bits(0x3fa5_5555_5555_5556), // 0.041666666666666670
    f64::from_bits(0x3f81_1111_1111_00d3), // 0.0083333333333261200
    f64::from_bits(0x3f56_c16c_16c1_62cf), // 0.0013888888888883737
    f64::from_bits(0x3f2a_01a0_1abe_ccc3), // 0.00019841269874873975
    f64::from_bits(0x3efa_01a0_1a6d_b488), // 2.480158732558584e-5
    f64::from_bits(0x3ec7_1de0_2225_a2f3), // 2.755725533255441e-6
    f64::from_bits(0x3e92_7e4d_b5bb_725a), // 2.7557273594799413e-7
    f64::from_bits(0x3e5a_f4e0_92e1_705b), // 2.510524515390137e-8
    f64::from_bits(0x3e21_f731_5649_f2d7), // 2.0914707069612355e-9
];

/// `log2(e)`, f32.
const LOG2E_F32: f32 = core::f32::consts::LOG2_E;
/// High part of ln 2: 0x3f317200, 15 significant bits, so `k * LN2_HI_F32` is
/// exact for `|k| < 2^9`.
const LN2_HI_F32: f32 = f32::from_bits(0x3f31_7200);
/// `ln 2 - LN2_HI_F32`, rounded.
const LN2_LO_F32: f32 = f32::from_bits(0x35bf_be8e);
/// `1.5 * 2^23`: adding it rounds a number below 2^22 to an integer.
const SHIFT_F32: f32 = 12_582_912.0;

/// `log2(e)`, f64.
const LOG2E_F64: f64 = core::f64::consts::LOG2_E;
/// High part of ln 2: 0x3fe62e42fee00000, 32 significant bits, so
/// `k * LN2_HI_F64` is exact for `|k| < 2^21`.
const LN2_HI_F64: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
/// `ln 2 - LN2_HI_F64`, rounded.
const LN2_LO_F64: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
/// `1.5 * 2^52`: adding it rounds a number below 2^51 to an integer.
const SHIFT_F64: f64 = 6_755_399_441_055_744.0;

/// `e^x = 2^k (hi + lo)` before scaling: `hi + lo` is `e^r` in `[0.7, 1.42]`.
#[derive(Clone, Copy)]
pub(crate) struct ExpParts<F, K> {
    pub(crate) k: K,
    pub(crate) hi: F,
    pub(crate) lo: F,
}

impl ExpParts<f32, i32> {
    /// `2^k (hi + lo)` for any `k` the clamp allows, as two exact powers of
    /// two: the first product is exact, the second rounds once, also into
    /// the subnormal range, and overflows to infinity by itself.
    #[inline(always)]
    fn scaled(self) -> f32 {
        let k1 = self.k >> 1;
        ((self.hi + self.lo) * pow2_f32(k1)) * pow2_f32(self.k.wrapping_sub(k1))
    }

    /// `2^k (hi + lo)` where the result is a normal number: `k` added to
    /// the exponent bits of `hi + lo`, exact there.
    #[inline(always)]
    fn normal(self) -> f32 {
        f32::from_bits(
            (self.hi + self.lo)
                .to_bits()
                .wrapping_add((self.k as u32) << 23),
        )
    }
}

impl ExpParts<f64, i64> {
    /// As for f32: two exact powers of two.
    #[inline(always)]
    fn scaled(self) -> f64 {
        let k1 = self.k >> 1;
        ((self.hi + self.lo) * pow2_f64(k1)) * pow2_f64(self.k.wrapping_sub(k1))
    }

    /// As for f32: `k` added to the exponent bits.
    #[inline(always)]
    fn normal(self) -> f64 {
        f64::from_bits(
            (self.hi + self.lo)
                .to_bits()
                .wrapping_add((self.k as u64) << 52),
        )
    }
}

/// The reduction and the polynomial, f32; `x` must be clamped already.
#[inline(always)]
pub(crate) fn exp_parts_f32<M: MulAdd>(x: f32) -> ExpParts<f32, i32> {
    reduced_f32::<M>(x, |kf| -(kf * LN2_LO_F32))
}

/// [`exp_parts_f32`] of `x + err`, where `err` is far below the last bit of
/// `x` (the rounding error of the subtraction that gave `x`): `err` joins
/// the low part of the reduced argument, `r_lo = err - k ln2_lo`, in the
/// one operation that computed `r_lo` alone. For `err = 0` the same bits as
/// [`exp_parts_f32`].
#[inline(always)]
pub(crate) fn exp_parts_plus_f32<M: MulAdd>(x: f32, err: f32) -> ExpParts<f32, i32> {
    reduced_f32::<M>(x, |kf| M::f32(kf, -LN2_LO_F32, err))
}

/// The reduction and the polynomial, f32, with the low part of the reduced
/// argument from `low(k)`.
#[inline(always)]
fn reduced_f32<M: MulAdd>(x: f32, low: impl Fn(f32) -> f32) -> ExpParts<f32, i32> {
    let shifted = M::f32(x, LOG2E_F32, SHIFT_F32);
    let kf = shifted - SHIFT_F32;
    // Wrapping: a NaN input gives a meaningless `k`, and a NaN result anyway.
    let k = (shifted.to_bits() as i32).wrapping_sub(SHIFT_F32.to_bits() as i32);
    let r_hi = M::f32(kf, -LN2_HI_F32, x);
    let r_lo = low(kf);
    let r = r_hi + r_lo;
    let r2 = r * r;
    let c = &EXP_Q_F32;
    // Estrin: three independent pairs, then two levels.
    let q01 = M::f32(c[1], r, c[0]);
    let q23 = M::f32(c[3], r, c[2]);
    let q45 = M::f32(c[5], r, c[4]);
    let q = M::f32(r2, M::f32(r2, q45, q23), q01);
    let hi = 1.0 + r_hi;
    let lo = (1.0 - hi) + r_hi;
    ExpParts {
        k,
        hi,
        lo: lo + M::f32(r2, q, r_lo),
    }
}

/// The reduction and the polynomial, f64; `x` must be clamped already.
#[inline(always)]
pub(crate) fn exp_parts_f64<M: MulAdd>(x: f64) -> ExpParts<f64, i64> {
    reduced_f64::<M>(x, |kf| -(kf * LN2_LO_F64))
}

/// [`exp_parts_f64`] of `x + err` (as [`exp_parts_plus_f32`]).
#[inline(always)]
pub(crate) fn exp_parts_plus_f64<M: MulAdd>(x: f64, err: f64) -> ExpParts<f64, i64> {
    reduced_f64::<M>(x, |kf| M::f64(kf, -LN2_LO_F64, err))
}

/// The reduction and the polynomial, f64 (as [`reduced_f32`]).
#[inline(always)]
fn reduced_f64<M: MulAdd>(x: f64, low: impl Fn(f64) -> f64) -> ExpParts<f64, i64> {
    let shifted = M::f64(x, LOG2E_F64, SHIFT_F64);
    let kf = shifted - SHIFT_F64;
    // Wrapping: a NaN input gives a meaningless `k`, and a NaN result anyway.
    let k = (shifted.to_bits() as i64).wrapping_sub(SHIFT_F64.to_bits() as i64);
    let r_hi = M::f64(kf, -LN2_HI_F64, x);
    let r_lo = low(kf);
    let r = r_hi + r_lo;
    let r2 = r * r;
    let r4 = r2 * r2;
    let r8 = r4 * r4;
    let c = &EXP_Q_F64;
    let q01 = M::f64(c[1], r, c[0]);
    let q23 = M::f64(c[3], r, c[2]);
    let q45 = M::f64(c[5], r, c[4]);
    let q67 = M::f64(c[7], r, c[6]);
    let q89 = M::f64(c[9], r, c[8]);
    let q0_3 = M::f64(r2, q23, q01);
    let q4_7 = M::f64(r2, q67, q45);
    let q8_10 = M::f64(r2, c[10], q89);
    let q = M::f64(r8, q8_10, M::f64(r4, q4_7, q0_3));
    let hi = 1.0 + r_hi;
    let lo = (1.0 - hi) + r_hi;
    ExpParts {
        k,
        hi,
        lo: lo + M::f64(r2, q, r_lo),
    }
}

/// `2^k` for `-126 <= k <= 127`, f32.
#[inline(always)]
pub(crate) fn pow2_f32(k: i32) -> f32 {
    f32::from_bits((k.wrapping_add(127) as u32) << 23)
}

/// `2^k` for `-1022 <= k <= 1023`, f64.
#[inline(always)]
pub(crate) fn pow2_f64(k: i64) -> f64 {
    f64::from_bits((k.wrapping_add(1023) as u64) << 52)
}

/// `|x|` by clearing the sign bit (`f32::abs` is not in `core` before 1.85).
#[inline(always)]
pub(crate) fn abs_f32(x: f32) -> f32 {
    f32::from_bits(x.to_bits() & 0x7fff_ffff)
}

/// `|x|` by clearing the sign bit.
#[inline(always)]
pub(crate) fn abs_f64(x: f64) -> f64 {
    f64::from_bits(x.to_bits() & 0x7fff_ffff_ffff_ffff)
}

/// Clamp with comparisons only, so that NaN passes through unchanged.
#[inline(always)]
pub(crate) fn clamp_f32(x: f32, lo: f32, hi: f32) -> f32 {
    let x = if x > hi { hi } else { x };
    if x < lo {
        lo
    } else {
        x
    }
}

/// Clamp with comparisons only, so that NaN passes through unchanged.
#[inline(always)]
pub(crate) fn clamp_f64(x: f64, lo: f64, hi: f64) -> f64 {
    let x = if x > hi { hi } else { x };
    if x < lo {
        lo
    } else {
        x
    }
}

/// `e^x` for `f32`, vectorisable.
///
/// **Error: at most 0.70 ULP for normal results, 0.78 ULP for subnormal
/// results** (`hi + lo` carries about 2^-26.5 relative error before the final
/// rounding; a subnormal result is rounded twice), proven over every
/// non-trivial input by `exp_f32_all_inputs` in `tests/math_f32_exhaustive.rs`,
/// against `f64` `exp`. Exact at 0; `+inf` for
/// `x > 88.72284`, `+0` for `x < -103.97208`, `e^-inf = 0`, NaN for NaN.
///
/// ```
/// use loss_core::math::exp_f32;
/// assert_eq!(exp_f32(0.0), 1.0);
/// assert!((exp_f32(1.0) - core::f32::consts::E).abs() <= f32::EPSILON);
/// assert_eq!(exp_f32(f32::NEG_INFINITY), 0.0);
/// assert!(exp_f32(f32::NAN).is_nan());
/// ```
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    exp_f32_with::<Plain>(x)
}

/// [`exp_f32`] with `a * b + c` evaluated as `M` says.
#[inline(always)]
pub(crate) fn exp_f32_with<M: MulAdd>(x: f32) -> f32 {
    // e^89 overflows f32, e^-104 < 2^-150 rounds to 0.
    exp_parts_f32::<M>(clamp_f32(x, -104.0, 89.0)).scaled()
}

/// `e^(x + err)` (see [`exp_parts_plus_f32`]): [`exp_f32_with`] with the
/// rounding error `err` of `x` in the reduction, one rounding fewer than
/// `e^x (1 + err)` after it, and one operation fewer.
///
/// `err` is clamped to [`ERR_MAX_F32`], half an ULP of the largest `x` the
/// clamp leaves alone (NaN passes). Where `x` was clamped, the rounding
/// error of the subtraction that gave it can be as large as `x`'s own ULP
/// (`-1e9 - 31` is `-1e9` with an error of `-31`), and would throw the
/// reduction off: a negative or infinite exp of a logit far below its
/// row's maximum. Clamped, it leaves `e^-104 = 0` and `e^89 = inf` as
/// they are.
#[inline(always)]
pub(crate) fn exp_plus_f32_with<M: MulAdd>(x: f32, err: f32) -> f32 {
    let err = clamp_f32(err, -ERR_MAX_F32, ERR_MAX_F32);
    exp_parts_plus_f32::<M>(clamp_f32(x, -104.0, 89.0), err).scaled()
}

/// [`exp_plus_f32_with`] for `x` in [`EXP_NORMAL_F32`] (as
/// [`exp_normal_f32_with`]): the same bits there.
#[inline(always)]
pub(crate) fn exp_normal_plus_f32_with<M: MulAdd>(x: f32, err: f32) -> f32 {
    exp_parts_plus_f32::<M>(x, err).normal()
}

/// [`exp_f32_with`] for `x` in [`EXP_NORMAL_F32`], where the result is a
/// normal number: no clamp, and `2^k` applied by adding `k` to the exponent
/// bits of `hi + lo` (exact there, as the two products of the general path
/// are). The same bits as [`exp_f32_with`] in that range.
#[inline(always)]
pub(crate) fn exp_normal_f32_with<M: MulAdd>(x: f32) -> f32 {
    exp_parts_f32::<M>(x).normal()
}

/// Where [`exp_normal_f32_with`] holds: `k <= 127` and `(hi + lo) 2^k >=
/// 0.7 * 2^-125`, a normal number.
pub(crate) const EXP_NORMAL_F32: (f32, f32) = (-86.0, 88.0);

/// `e^x` for `f64`, vectorisable.
///
/// **Error: 0.70 ULP for normal results, 0.76 ULP for subnormal results**
/// (the same analysis as [`exp_f32`]), the maxima measured on 2^21 random
/// inputs and the thresholds against a double-double reference by
/// `exp_f64_random_and_hard_cases` in `tests/math_f64.rs`; `+inf` above 709.78, `+0` below -745.14, NaN for NaN.
///
/// ```
/// use loss_core::math::exp_f64;
/// assert_eq!(exp_f64(0.0), 1.0);
/// assert!((exp_f64(1.0) - core::f64::consts::E).abs() <= f64::EPSILON);
/// assert_eq!(exp_f64(1000.0), f64::INFINITY);
/// ```
#[inline(always)]
pub fn exp_f64(x: f64) -> f64 {
    exp_f64_with::<Plain>(x)
}

/// [`exp_f64`] with `a * b + c` evaluated as `M` says.
#[inline(always)]
pub(crate) fn exp_f64_with<M: MulAdd>(x: f64) -> f64 {
    // e^710 overflows f64, e^-746 < 2^-1075 rounds to 0.
    exp_parts_f64::<M>(clamp_f64(x, -746.0, 710.0)).scaled()
}

/// The largest rounding error of an `x` in `[-128, 128]`, which holds the
/// range that [`exp_plus_f32_with`] does not clamp: half its ULP, `2^-18`.
const ERR_MAX_F32: f32 = 1.0 / 262_144.0;

/// The largest rounding error of an `x` in `[-1024, 1024]` (the range of
/// [`exp_plus_f64_with`]): `2^-44`.
const ERR_MAX_F64: f64 = 1.0 / 17_592_186_044_416.0;

/// `e^(x + err)`, f64 (as [`exp_plus_f32_with`], `err` clamped to
/// [`ERR_MAX_F64`]).
#[inline(always)]
pub(crate) fn exp_plus_f64_with<M: MulAdd>(x: f64, err: f64) -> f64 {
    let err = clamp_f64(err, -ERR_MAX_F64, ERR_MAX_F64);
    exp_parts_plus_f64::<M>(clamp_f64(x, -746.0, 710.0), err).scaled()
}

/// [`exp_plus_f64_with`] for `x` in [`EXP_NORMAL_F64`]: the same bits there.
#[inline(always)]
pub(crate) fn exp_normal_plus_f64_with<M: MulAdd>(x: f64, err: f64) -> f64 {
    exp_parts_plus_f64::<M>(x, err).normal()
}

/// [`exp_f64_with`] for `x` in [`EXP_NORMAL_F64`], where the result is a
/// normal number (as [`exp_normal_f32_with`]).
#[inline(always)]
pub(crate) fn exp_normal_f64_with<M: MulAdd>(x: f64) -> f64 {
    exp_parts_f64::<M>(x).normal()
}

/// Where [`exp_normal_f64_with`] holds: `k <= 1023` and the result above
/// `2^-1021`.
pub(crate) const EXP_NORMAL_F64: (f64, f64) = (-706.0, 709.0);

/// `e^x - 1` for `f32`, accurate for small `x`, vectorisable.
///
/// The reduction of [`exp_f32`] gives `e^x = 2^k (hi + lo)`, `2^k = s1 s2`;
/// `e^x - 1 = s2 (s1 hi - 1 / s2 + s1 lo)`: `s1 hi - 1 / s2` is summed exactly
/// (2Sum) and `s1 lo` added to its error term, so the only large rounding is
/// the final one (the product with `s2` is exact, or overflows correctly).
/// **Error: at most 1.09 ULP** (the relative error of `lo`, doubled when
/// `k = 1`), proven over
/// all non-trivial inputs by `expm1_f32_all_inputs` in
/// `tests/math_f32_exhaustive.rs`. `expm1(±0) = ±0`, `expm1(-inf) = -1`.
///
/// ```
/// use loss_core::math::expm1_f32;
/// assert_eq!(expm1_f32(1e-10), 1e-10);
/// assert_eq!(expm1_f32(-100.0), -1.0);
/// assert!((expm1_f32(1.0) - 1.718_281_8).abs() <= f32::EPSILON);
/// ```
#[inline(always)]
pub fn expm1_f32(x: f32) -> f32 {
    expm1_f32_with::<Plain>(x)
}

/// [`expm1_f32`] with `a * b + c` evaluated as `M` says.
#[inline(always)]
pub(crate) fn expm1_f32_with<M: MulAdd>(x: f32) -> f32 {
    // e^-30 - 1 already rounds to -1; -k2 stays in [-64, 22].
    let p = exp_parts_f32::<M>(clamp_f32(x, -30.0, 89.0));
    let k1 = p.k >> 1;
    let k2 = p.k.wrapping_sub(k1);
    let a = p.hi * pow2_f32(k1);
    let one = pow2_f32(k2.wrapping_neg());
    let big = a - one;
    let b = big - a;
    let err = (a - (big - b)) + (-one - b);
    let v = (big + M::f32(p.lo, pow2_f32(k1), err)) * pow2_f32(k2);
    if x == 0.0 {
        x
    } else {
        v
    }
}

/// `e^x - 1` for `f64`, accurate for small `x`, vectorisable.
///
/// As [`expm1_f32`]. **Error: 1.02 ULP**, the maximum measured on random
/// inputs and hard cases against a double-double reference by
/// `expm1_f64_random_and_hard_cases` in `tests/math_f64.rs` (bound checked:
/// 1.1).
///
/// ```
/// use loss_core::math::expm1_f64;
/// assert_eq!(expm1_f64(1e-20), 1e-20);
/// assert_eq!(expm1_f64(-1000.0), -1.0);
/// ```
#[inline(always)]
pub fn expm1_f64(x: f64) -> f64 {
    expm1_f64_with::<Plain>(x)
}

/// [`expm1_f64`] with `a * b + c` evaluated as `M` says.
#[inline(always)]
pub(crate) fn expm1_f64_with<M: MulAdd>(x: f64) -> f64 {
    // e^-40 - 1 already rounds to -1; -k2 stays in [-512, 29].
    let p = exp_parts_f64::<M>(clamp_f64(x, -40.0, 710.0));
    let k1 = p.k >> 1;
    let k2 = p.k.wrapping_sub(k1);
    let a = p.hi * pow2_f64(k1);
    let one = pow2_f64(k2.wrapping_neg());
    let big = a - one;
    let b = big - a;
    let err = (a - (big - b)) + (-one - b);
    let v = (big + M::f64(p.lo, pow2_f64(k1), err)) * pow2_f64(k2);
    if x == 0.0 {
        x
    } else {
        v
    }
}

/// `1 / (n + 2)!` for `n < 24`, rounded: the Taylor series of `(e^x - 1 -
/// x) / x^2`. On `-1 < x < 1.25` the first omitted term, `1.25^24 / 26!`, is
/// below `2^-78` of the sum (at least `e^-1`).
const EXPM1MX_SERIES: [f64; 24] = [
    0.5,
    0.16666666666666666,
    0.041666666666666664,
    0.008333333333333333,
    0.001388888888888889,
    0.0001984126984126984,
    2.48015873015873e-05,
    2.7557319223985893e-06,
    2.755731922398589e-07,
    2.505210838544172e-08,
    2.08767569878681e-09,
    1.6059043836821613e-10,
    1.1470745597729725e-11,
    7.647163731819816e-13,
    4.779477332387385e-14,
    2.8114572543455206e-15,
    1.5619206968586225e-16,
    8.22063524662433e-18,
    4.110317623312165e-19,
    1.9572941063391263e-20,
    8.896791392450574e-22,
    3.868170170630684e-23,
    1.6117375710961184e-24,
    6.446950284384474e-26,
];

/// `e^x - 1 - x` for `f64`, accurate where the terms cancel, vectorisable.
///
/// On `-1 < x < 1.25`, `x^2 q(x)` with `q` the Taylor series of `(e^x - 1 -
/// x) / x^2` (24 terms, no cancellation: for `x < 0` its terms alternate but
/// fall by a factor of at least 3); elsewhere [`expm1_f64`]` - x`, whose
/// cancellation is at most 2.0 (at `x = 1.25`; 1.72 at `x = -1`). **Error:
/// 2.1 ULP**, the maximum measured on random inputs and hard cases against a
/// double-double reference by `expm1mx_f64_random_and_hard_cases` in
/// `tests/math_f64.rs` (bound checked: 2.25; the limit is the series near
/// its end, where Horner's roundings add up). `expm1mx(±inf)` is `+inf`,
/// `expm1mx(NaN)` NaN.
///
/// The Gaussian KL of a VAE, `1 + lv - mu² - exp(lv)`, takes it for `1 + lv
/// - exp(lv)` (see `docs/dsl.md`): near `lv = 0` the three terms cancel.
///
/// ```
/// use loss_core::math::expm1mx_f64;
/// assert_eq!(expm1mx_f64(1e-10), 5.000000000166667e-21);
/// assert_eq!(expm1mx_f64(0.0), 0.0);
/// assert!((expm1mx_f64(1.0) - (core::f64::consts::E - 2.0)).abs() <= f64::EPSILON);
/// assert_eq!(expm1mx_f64(f64::NEG_INFINITY), f64::INFINITY);
/// ```
#[inline(always)]
pub fn expm1mx_f64(x: f64) -> f64 {
    expm1mx_f64_with::<Plain>(x)
}

/// [`expm1mx_f64`] with `a * b + c` evaluated as `M` says.
#[inline(always)]
pub(crate) fn expm1mx_f64_with<M: MulAdd>(x: f64) -> f64 {
    let c = &EXPM1MX_SERIES;
    let mut q = c[c.len() - 1];
    for &coefficient in c[..c.len() - 1].iter().rev() {
        q = M::f64(q, x, coefficient);
    }
    let series = (x * x) * q;
    // `inf - inf` would be NaN.
    let tail = if x == f64::INFINITY {
        x
    } else {
        expm1_f64_with::<M>(x) - x
    };
    if x > -1.0 && x < 1.25 {
        series
    } else {
        tail
    }
}

/// `e^x - 1 - x` for `f32`, accurate where the terms cancel.
///
/// [`expm1mx_f64`] of the input, rounded to `f32` once: **error 0.5 ULP**
/// plus `2^-28` (the f64 error), proven over all non-trivial inputs by
/// `expm1mx_f32_all_inputs` in `tests/math_f32_exhaustive.rs`.
///
/// ```
/// use loss_core::math::expm1mx_f32;
/// assert_eq!(expm1mx_f32(1e-3), 5.001668e-7);
/// assert_eq!(expm1mx_f32(-100.0), 99.0);
/// assert_eq!(expm1mx_f32(100.0), f32::INFINITY);
/// ```
#[inline(always)]
pub fn expm1mx_f32(x: f32) -> f32 {
    expm1mx_f32_with::<Plain>(x)
}

/// [`expm1mx_f32`] with `a * b + c` evaluated as `M` says.
#[inline(always)]
pub(crate) fn expm1mx_f32_with<M: MulAdd>(x: f32) -> f32 {
    expm1mx_f64_with::<M>(f64::from(x)) as f32
}
