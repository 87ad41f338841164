//! `x^e` for `f32` with a real exponent, vectorisable.
//!
//! Computed as `e^(e ln|x|)` in `f64`: the `f64` kernels' errors, amplified
//! by `|e ln|x||` (below 104 wherever the `f32` result is neither 0 nor
//! infinite), stay below `2^-44` relative there, so the one rounding to
//! `f32` decides the result: within half an ULP plus a hair. The special
//! values are `libm::powf`'s (C99 `pow`), chosen with selects.

use super::exp::{abs_f32, abs_f64, exp_f64_with};
use super::log::ln_f64_with;
use super::Plain;

/// From this magnitude up every `f32` is an even integer: odd integers
/// exist only below it.
const INTEGRAL_F32: f32 = 16_777_216.0; // 2^24

/// `x` rounded to an integer (ties as the FPU rounds), for `|x| < 2^23`;
/// larger numbers are integers already. A vectorisable stand-in for
/// `round`, which `core` lacks.
#[inline(always)]
fn round_small_f32(x: f32) -> f32 {
    const SHIFT: f32 = 8_388_608.0; // 2^23
    let a = abs_f32(x);
    if a < SHIFT {
        let r = (a + SHIFT) - SHIFT;
        f32::from_bits(r.to_bits() | (x.to_bits() & 0x8000_0000))
    } else {
        x
    }
}

/// `x^e` for `f32` and a real exponent `e`, vectorisable.
///
/// **Error: at most 0.5 ULP plus `2^-19` ULP** (the `f64` evaluation's
/// error, then one rounding), checked against `f64::powf` on random pairs
/// by `powf_f32_random_pairs` in `tests/math_f32_exhaustive.rs`. Special
/// values as C99 `pow` (and `libm::powf`, checked against it on every pair
/// of special and ordinary values by `powf_f32_special_values_are_libms`):
/// `x^0 = 1` and `1^e = 1` for every `x` and `e` (NaN included), `(-1)^±inf
/// = 1`; a negative `x` gives `|x|^e` for an even integer or infinite `e`
/// and `-|x|^e` for an odd one; a finite negative `x` gives NaN for any
/// other `e`, and `-inf` gives `inf^e`; `(-0)^e` keeps its sign for odd
/// integers `e`; `0^e` for `e < 0` is infinite. A NaN anywhere else gives
/// NaN.
///
/// ```
/// use loss_core::math::powf_f32;
/// assert_eq!(powf_f32(2.0, 10.0), 1024.0);
/// assert_eq!(powf_f32(-2.0, 3.0), -8.0);
/// assert!(powf_f32(-2.0, 0.5).is_nan());
/// assert_eq!(powf_f32(f32::NAN, 0.0), 1.0);
/// assert!((powf_f32(0.3, 1.7) - 0.3_f64.powf(1.7) as f32).abs() <= f32::EPSILON);
/// ```
#[inline(always)]
pub fn powf_f32(x: f32, e: f32) -> f32 {
    let a = abs_f64(f64::from(x));
    let magnitude = exp_f64_with::<Plain>(f64::from(e) * ln_f64_with::<Plain>(a)) as f32;
    let integral = round_small_f32(e) == e;
    // An odd integer: integral, below 2^24, and not integral when halved
    // (`e * 0.5` is exact; the bound only says what halving would show).
    let odd = integral && abs_f32(e) < INTEGRAL_F32 && {
        let half = e * 0.5;
        round_small_f32(half) != half
    };
    let negative_base = x.to_bits() & 0x8000_0000 != 0;
    let signed = if negative_base && odd {
        -magnitude
    } else {
        magnitude
    };
    // A finite negative base with a fraction in its exponent has no real
    // power.
    let undefined = x < 0.0 && x > f32::NEG_INFINITY && !integral;
    // `(-1)^±inf = 1`, as C99 has it (`ln 1 * inf` would be NaN).
    let unit = x == 1.0 || (x == -1.0 && abs_f32(e) == f32::INFINITY);
    if e == 0.0 || unit {
        1.0
    } else if undefined {
        f32::NAN
    } else {
        signed
    }
}
