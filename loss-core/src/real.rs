//! The two scalar traits: [`Real`] for exact and reference code, [`Float`] for
//! the fast path.

use core::fmt::Debug;
use core::ops::{Add, AddAssign, Div, Mul, MulAssign, Neg, Sub, SubAssign};

use crate::math;

/// A number the generated `reference` functions can be evaluated in.
///
/// `reference` is the plain, unfused transcription of a declared loss. It is
/// generic over `Real` so that the `verify` crate can run it in exact interval
/// arithmetic and in dual numbers, independently of the fast path. `f32` and
/// `f64` implement it here (with [`libm`]), `verify` implements it for its
/// interval and dual types.
///
/// Every method takes `self` by value: an implementation may be a big type
/// (intervals of big rationals), and the reference code clones where it reuses.
/// A method whose argument is outside its domain (`ln` of a negative number)
/// returns the type's own representation of "undefined" (NaN for floats); it
/// never panics.
///
/// ```
/// use loss_core::Real;
/// fn logistic<R: Real>(x: R) -> R {
///     R::from_f64(1.0) / (R::from_f64(1.0) + (-x).exp())
/// }
/// assert!((logistic(0.0_f64) - 0.5).abs() < 1e-16);
/// ```
pub trait Real:
    Clone
    + Debug
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
{
    /// The exact value of `x` (for intervals: the point interval at `x`).
    fn from_f64(x: f64) -> Self;
    /// `e^self`.
    fn exp(self) -> Self;
    /// Natural logarithm.
    fn ln(self) -> Self;
    /// `ln(1 + self)`, accurate for small `self`.
    fn ln_1p(self) -> Self;
    /// `e^self - 1`, accurate for small `self`.
    fn exp_m1(self) -> Self;
    /// Square root.
    fn sqrt(self) -> Self;
    /// Absolute value.
    fn abs(self) -> Self;
    /// Hyperbolic tangent.
    fn tanh(self) -> Self;
    /// Logistic sigmoid `1 / (1 + e^-self)`.
    fn sigmoid(self) -> Self;
    /// `ln(1 + e^self)`.
    fn softplus(self) -> Self;
    /// `self^n` for an integer `n`.
    fn powi(self, n: i32) -> Self;
    /// `self^e` for a real exponent (`self > 0`, or `self = 0` with `e > 0`).
    fn powf(self, e: Self) -> Self;
    /// The larger of two numbers (NaN if either is NaN, for floats).
    fn max(self, other: Self) -> Self;
    /// The smaller of two numbers (NaN if either is NaN, for floats).
    fn min(self, other: Self) -> Self;
    /// `self * ln(y)`, with the convention `0 * ln(y) = 0` for every `y`
    /// (including `y = 0`), as in `scipy.special.xlogy`: the entropy and KL
    /// terms of a zero probability vanish.
    ///
    /// The default is `self * y.ln()`, which is right whenever `self != 0`;
    /// types that can tell an exact zero (floats, intervals) override it.
    fn xlogy(self, y: Self) -> Self {
        self * y.ln()
    }

    /// The same number, with no derivative attached: an identity for plain
    /// numbers; dual numbers return a constant.
    ///
    /// The reference path shifts a log-sum-exp by its maximum, an identity
    /// for any shift; detaching the shift keeps an undecidable `max` of
    /// overlapping intervals from poisoning the exact derivative.
    fn detached(self) -> Self {
        self
    }

    /// How `self` compares with `other`: `None` if they are unordered (a
    /// NaN) or the type cannot decide (overlapping intervals). The
    /// reference path of an `if` in a loss body asks this; the default
    /// cannot decide anything.
    fn compare(&self, other: &Self) -> Option<core::cmp::Ordering> {
        let _ = other;
        None
    }
}

/// The scalar of the fast path: `f32` or `f64`.
///
/// Generated `value` and `value_and_grad` functions are generic over `Float`,
/// so one declaration serves both precisions. Sealed: only `f32` and `f64`
/// implement it, since the kernels rely on their bits (for a number type of
/// your own, use the reference path, generic over [`Real`]).
///
/// ```
/// use loss_core::Float;
/// fn mean<F: Float>(xs: &[F]) -> F {
///     xs.iter().fold(F::ZERO, |a, &x| a + x) / F::from_usize(xs.len())
/// }
/// assert_eq!(mean(&[1.0_f32, 2.0, 3.0]), 2.0);
/// ```
pub trait Float:
    crate::sealed::Sealed
    + Real
    + math::FastMath
    + Copy
    + Default
    + PartialOrd
    + AddAssign
    + SubAssign
    + MulAssign
    + Send
    + Sync
    + 'static
{
    /// 0.
    const ZERO: Self;
    /// 1.
    const ONE: Self;
    /// Not a number.
    const NAN: Self;
    /// Positive infinity.
    const INFINITY: Self;
    /// Negative infinity.
    const NEG_INFINITY: Self;
    /// Machine epsilon (the gap between 1 and the next number).
    const EPSILON: Self;
    /// `true` for `f32` only. A constant, so that code for one type guarded
    /// by `if F::IS_F32` (the row-vector kernel) is not even compiled for
    /// the other: rustc drops a branch on a constant from an instantiation
    /// before code generation.
    ///
    /// ```
    /// use loss_core::Float;
    /// assert!(f32::IS_F32 && !f64::IS_F32);
    /// ```
    const IS_F32: bool = false;
    /// `n`, rounded to nearest.
    fn from_usize(n: usize) -> Self;
    /// The value as an `f64` (exact).
    fn to_f64(self) -> f64;
    /// `true` if the value is NaN.
    fn is_nan(self) -> bool;
    /// `true` if the value is neither infinite nor NaN.
    fn is_finite(self) -> bool;
    /// `self * a + b` with a single rounding where the hardware has FMA,
    /// else two roundings.
    fn mul_add(self, a: Self, b: Self) -> Self;
}

// The transcendental functions (`tanh` too, and `powf` in f32) are the
// vectorisable kernels of `math` (with proven f32 error bounds); `sqrt` is
// `std`'s where there is a `std` (LLVM's, which vectorises), and the rest
// (`powf` in f64, which has no wider type to evaluate in) come from `libm`.
macro_rules! impl_float {
    ($t:ident, $sqrt:ident, $powf:path, $fma:ident,
     $fast_exp:ident, $fast_ln:ident, $fast_log1p:ident, $fast_expm1:ident, $sigmoid:ident,
     $softplus:ident, $tanh:ident) => {
        impl Real for $t {
            #[inline]
            fn from_f64(x: f64) -> Self {
                x as $t
            }
            #[inline(always)]
            fn exp(self) -> Self {
                math::$fast_exp(self)
            }
            #[inline(always)]
            fn ln(self) -> Self {
                math::$fast_ln(self)
            }
            #[inline(always)]
            fn ln_1p(self) -> Self {
                math::$fast_log1p(self)
            }
            #[inline(always)]
            fn exp_m1(self) -> Self {
                math::$fast_expm1(self)
            }
            // IEEE square roots, correctly rounded either way, so the same
            // bits. `std`'s is LLVM's `sqrt`, one `vsqrtps` per vector in a
            // lane loop; `libm`'s is an out-of-line `sqrtss` that keeps the
            // loop scalar (0.03x the speed of an elementwise `sqrt`,
            // docs/performance.md), so it serves `no_std` builds only.
            #[cfg(feature = "std")]
            #[inline(always)]
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            #[cfg(not(feature = "std"))]
            #[inline]
            fn sqrt(self) -> Self {
                libm::$sqrt(self)
            }
            // `core`'s, one `and` inline: `sign`, the gradient of `abs`,
            // runs in the generated lane loops, where a call across the crate
            // boundary (as `libm`'s `fabs`) would keep them scalar.
            #[inline(always)]
            fn abs(self) -> Self {
                <$t>::abs(self)
            }
            #[inline(always)]
            fn tanh(self) -> Self {
                math::$tanh(self)
            }
            #[inline(always)]
            fn sigmoid(self) -> Self {
                math::$sigmoid(self)
            }
            #[inline(always)]
            fn softplus(self) -> Self {
                math::$softplus(self)
            }
            #[inline]
            fn powi(self, n: i32) -> Self {
                powi_by_squaring(self, n)
            }
            #[inline(always)]
            fn powf(self, e: Self) -> Self {
                $powf(self, e)
            }
            #[inline]
            fn xlogy(self, y: Self) -> Self {
                if self == 0.0 && !y.is_nan() {
                    0.0
                } else {
                    self * Real::ln(y)
                }
            }
            #[inline]
            fn compare(&self, other: &Self) -> Option<core::cmp::Ordering> {
                self.partial_cmp(other)
            }
            // A compare and a select, as `libm`'s `fmax` and `fmin` (the same
            // zero of two, the first for `max`, the second for `min`), but
            // inline: called across the crate boundary, they stayed calls in
            // the generated kernels' lane loops and kept them scalar.
            #[inline(always)]
            fn max(self, other: Self) -> Self {
                if self.is_nan() || other.is_nan() {
                    <$t>::NAN
                } else if self < other {
                    other
                } else {
                    self
                }
            }
            #[inline(always)]
            fn min(self, other: Self) -> Self {
                if self.is_nan() || other.is_nan() {
                    <$t>::NAN
                } else if self < other {
                    self
                } else {
                    other
                }
            }
        }

        impl Float for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            const NAN: Self = <$t>::NAN;
            const INFINITY: Self = <$t>::INFINITY;
            const NEG_INFINITY: Self = <$t>::NEG_INFINITY;
            const EPSILON: Self = <$t>::EPSILON;
            const IS_F32: bool = core::mem::size_of::<$t>() == 4;
            #[inline]
            fn from_usize(n: usize) -> Self {
                n as $t
            }
            #[inline]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline]
            fn is_nan(self) -> bool {
                <$t>::is_nan(self)
            }
            #[inline]
            fn is_finite(self) -> bool {
                <$t>::is_finite(self)
            }
            #[inline]
            fn mul_add(self, a: Self, b: Self) -> Self {
                if cfg!(target_feature = "fma") {
                    libm::$fma(self, a, b)
                } else {
                    self * a + b
                }
            }
        }
    };
}

impl_float!(
    f32,
    sqrtf,
    math::powf_f32,
    fmaf,
    exp_f32,
    ln_f32,
    log1p_f32,
    expm1_f32,
    sigmoid_f32,
    softplus_f32,
    tanh_f32
);
impl_float!(
    f64,
    sqrt,
    libm::pow,
    fma,
    exp_f64,
    ln_f64,
    log1p_f64,
    expm1_f64,
    sigmoid_f64,
    softplus_f64,
    tanh_f64
);

/// `x^n` by binary powering: exact for small `n` where the result is
/// representable, `1/x^-n` for negative `n`.
#[inline]
fn powi_by_squaring<F: Copy + Mul<Output = F> + Div<Output = F> + From<u8>>(x: F, n: i32) -> F {
    let mut base = x;
    let mut k = n.unsigned_abs();
    let mut acc = F::from(1u8);
    while k > 0 {
        if k & 1 == 1 {
            acc = acc * base;
        }
        base = base * base;
        k >>= 1;
    }
    if n < 0 {
        F::from(1u8) / acc
    } else {
        acc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_and_min_are_libms_with_nan_for_nan() {
        let values = [
            0.0_f32,
            -0.0,
            1.5,
            -1.5,
            f32::MIN_POSITIVE / 4.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::MAX,
        ];
        for &x in &values {
            for &y in &values {
                let (a, b) = (f64::from(x), f64::from(y));
                let pairs = [
                    (
                        "max",
                        Real::max(x, y).to_bits().into(),
                        libm::fmaxf(x, y).to_bits().into(),
                    ),
                    (
                        "min",
                        Real::min(x, y).to_bits().into(),
                        libm::fminf(x, y).to_bits().into(),
                    ),
                    (
                        "max f64",
                        Real::max(a, b).to_bits(),
                        libm::fmax(a, b).to_bits(),
                    ),
                    (
                        "min f64",
                        Real::min(a, b).to_bits(),
                        libm::fmin(a, b).to_bits(),
                    ),
                ];
                for (op, ours, libms) in pairs {
                    assert_eq!(ours, libms, "{op}({x}, {y})");
                }
            }
            assert!(Real::max(x, f32::NAN).is_nan() && Real::max(f32::NAN, x).is_nan());
            assert!(Real::min(x, f32::NAN).is_nan() && Real::min(f32::NAN, x).is_nan());
        }
    }

    #[test]
    fn sigmoid_and_softplus_are_finite_in_both_tails() {
        assert_eq!(Real::sigmoid(-1000.0_f64), 0.0);
        assert_eq!(Real::sigmoid(1000.0_f64), 1.0);
        assert_eq!(Real::softplus(1000.0_f32), 1000.0);
        // softplus(-50) = e^-50 to full relative precision.
        let sp = Real::softplus(-50.0_f64);
        assert!((sp / 1.928_749_847_963_918e-22 - 1.0).abs() < 1e-15);
    }

    #[test]
    fn powi_matches_repeated_multiplication() {
        assert_eq!(Real::powi(3.0_f64, 5), 243.0);
        assert_eq!(Real::powi(2.0_f64, -3), 0.125);
        assert_eq!(Real::powi(7.0_f32, 0), 1.0);
    }

    #[test]
    fn max_and_min_propagate_nan() {
        assert!(Real::max(f64::NAN, 1.0).is_nan());
        assert!(Real::min(1.0_f32, f32::NAN).is_nan());
        assert_eq!(Real::max(-1.0_f64, 2.0), 2.0);
    }
}
