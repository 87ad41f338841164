//! Vectorisable elementary functions with proven error bounds.
//!
//! `f32::exp` and friends from `std` (or `libm`) are scalar calls that LLVM
//! cannot vectorise, so a loop calling them runs at the speed of one call per
//! element. The functions here are written so that a loop calling them
//! vectorises: they are `#[inline(always)]`, branch-free (range reduction by
//! bit manipulation with `to_bits`/`from_bits`, an Estrin polynomial, special
//! values chosen with selects) and free of table look-ups.
//!
//! Each comes in two flavours of multiply-add ([`MulAdd`]): [`Plain`] (a
//! rounded product, then a rounded sum: the same bits on every target and
//! with every set of target features) and [`Fused`] (one rounding, one FMA
//! instruction where the CPU has it). The public functions are plain; the
//! generated losses run the fused flavour where the CPU has FMA. Each flavour
//! has its own bounds, proven the same way:
//!
//! | function | f32 plain (proven) | f32 fused (proven) | f64 plain / fused (measured) |
//! |---|---|---|---|
//! | [`exp_f32`] / [`exp_f64`] | 0.70 ULP (0.78 subnormal results) | 0.69 (0.77) | 0.71 (0.76) / 0.70 (0.76) |
//! | [`ln_f32`] / [`ln_f64`] | 0.89 ULP | 0.86 | 0.89 / 0.89 |
//! | [`log1p_f32`] / [`log1p_f64`] | 0.90 ULP | 0.89 | 0.89 / 0.88 |
//! | [`expm1_f32`] / [`expm1_f64`] | 1.09 ULP | 0.94 | 1.1 / 1.15 |
//! | [`expm1mx_f32`] / [`expm1mx_f64`] (`e^x - 1 - x`) | 0.5 ULP (plus `2^-28`) | 0.5 | 2.25 / 2.25 |
//! | [`sigmoid_f32`] / [`sigmoid_f64`] | 2.41 ULP | 2.41 | 2.3 / 2.3 |
//! | [`softplus_f32`] / [`softplus_f64`] | 1.64 ULP | 1.61 | 2.0 / 2.0 |
//! | [`tanh_f32`] / [`tanh_f64`] | 2.44 ULP | 2.44 | 2.6 / 2.6 |
//!
//! [`powf_f32`], `x^e` with a real exponent, is evaluated in `f64` and
//! rounded once: at most 0.5 ULP plus `2^-19`, checked on 2^26 random pairs
//! (two inputs are too many for every pair); `f64` powers stay `libm`'s.
//!
//! "Proven" means checked on every f32 input where the function is not trivial
//! (and every 61st of the rest), by the release-mode tests in
//! `tests/math_f32_exhaustive.rs` against the `f64` functions of `std`.
//! "Measured" means 2^21 random inputs per function plus the known hard cases,
//! checked in `tests/math_f64.rs` against a double-double reference. An error
//! in ULPs is `|result - exact| / ulp(exact)`, with `ulp` the spacing of the
//! result's format at `exact` (the subnormal spacing below the normal range).
//!
//! The same functions are reachable generically through [`FastMath`] (in
//! either flavour: `x.exp_with::<Fused>()`), and over slices through
//! [`exp_slice`] and its siblings. [`FastMath::exp_normal_with`] and
//! [`FastMath::ln_normal_with`] are `exp` and `ln` without their special
//! cases, for callers that have checked a whole vector of inputs is in
//! range: the same bits there (checked on every f32 input of the range, and
//! on samples in f64), so the bounds above hold for them.
//!
//! ```
//! use loss_core::math::FastMath;
//! fn log_sum_exp<F: FastMath + core::ops::Add<Output = F> + PartialOrd>(xs: &[F]) -> F {
//!     let max = xs.iter().copied().fold(xs[0], |a, b| if b > a { b } else { a });
//!     let sum = xs[1..].iter().fold((xs[0] - max).fast_exp(), |acc, &x| acc + (x - max).fast_exp());
//!     max + sum.fast_ln()
//! }
//! assert!((log_sum_exp(&[1.0_f32, 2.0, 3.0]) - 3.407_606).abs() < 1e-6);
//! ```

mod exp;
mod log;
mod logistic;
mod pow;

pub use exp::{exp_f32, exp_f64, expm1_f32, expm1_f64, expm1mx_f32, expm1mx_f64};
pub use log::{ln_f32, ln_f64, log1p_f32, log1p_f64};
pub use logistic::{sigmoid_f32, sigmoid_f64, softplus_f32, softplus_f64, tanh_f32, tanh_f64};
pub use pow::powf_f32;

use core::ops::Sub;

use exp::{
    exp_f32_with, exp_f64_with, exp_normal_f32_with, exp_normal_f64_with, exp_normal_plus_f32_with,
    exp_normal_plus_f64_with, exp_plus_f32_with, exp_plus_f64_with, expm1_f32_with, expm1_f64_with,
    expm1mx_f32_with, expm1mx_f64_with, EXP_NORMAL_F32, EXP_NORMAL_F64,
};
use log::{
    ln_f32_with, ln_f64_with, ln_normal_f32_with, ln_normal_f64_with, log1p_f32_with,
    log1p_f64_with, log1p_normal_f32_with, log1p_normal_f64_with,
};
use logistic::{
    sigmoid_f32_with, sigmoid_f64_with, softplus_f32_with, softplus_f64_with, tanh_f32_with,
    tanh_f64_with,
};

/// How a kernel evaluates `a * b + c`: the one choice that changes the bits
/// of a result. [`Plain`] rounds twice, with the same bits on every target;
/// [`Fused`] rounds once, which is shorter and faster on a CPU with FMA.
/// Both are proven to the bounds in the table above. Sealed: these two are
/// the only ones.
///
/// ```compile_fail,E0277
/// use loss_core::math::MulAdd;
/// #[derive(Clone, Copy)]
/// struct Unproven;
/// impl MulAdd for Unproven {
///     const FUSED: bool = false;
///     fn f32(a: f32, b: f32, c: f32) -> f32 { a * b + c }
///     fn f64(a: f64, b: f64, c: f64) -> f64 { a * b + c }
/// }
/// ```
pub trait MulAdd: crate::sealed::Sealed + Copy + 'static {
    /// `true` for [`Fused`].
    const FUSED: bool;
    /// `a * b + c` in `f32`.
    fn f32(a: f32, b: f32, c: f32) -> f32;
    /// `a * b + c` in `f64`.
    fn f64(a: f64, b: f64, c: f64) -> f64;
}

/// `a * b + c` as a product and a sum, each rounded: the same bits on every
/// target and at every vector width.
///
/// ```
/// use loss_core::math::{MulAdd, Plain};
/// let third = 1.0_f32 / 3.0;
/// assert_eq!(Plain::f32(third, 3.0, -1.0), 0.0); // the product rounds to 1
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Plain;

/// `a * b + c` rounded once (a fused multiply-add).
///
/// One instruction where the code is compiled for FMA: inside
/// [`simd::run_as::<Fused, _>`](crate::simd::run_as), which the generated
/// losses enter at AVX2 and AVX-512 (see
/// [`simd::run_flavoured`](crate::simd::run_flavoured)). Elsewhere it is a
/// library call, correct but slow, so a fused kernel must be inlined into
/// that call.
///
/// ```
/// use loss_core::math::{Fused, MulAdd};
/// let third = 1.0_f32 / 3.0;
/// assert_eq!(Fused::f32(third, 3.0, -1.0), 2.0_f32.powi(-25)); // the exact error
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Fused;

impl MulAdd for Plain {
    const FUSED: bool = false;
    #[inline(always)]
    fn f32(a: f32, b: f32, c: f32) -> f32 {
        a * b + c
    }
    #[inline(always)]
    fn f64(a: f64, b: f64, c: f64) -> f64 {
        a * b + c
    }
}

impl MulAdd for Fused {
    const FUSED: bool = true;
    #[inline(always)]
    fn f32(a: f32, b: f32, c: f32) -> f32 {
        // `mul_add` is the LLVM intrinsic (one instruction with FMA); `core`
        // has no stable equivalent, so without `std` it is libm's.
        #[cfg(feature = "std")]
        return a.mul_add(b, c);
        #[cfg(not(feature = "std"))]
        return libm::fmaf(a, b, c);
    }
    #[inline(always)]
    fn f64(a: f64, b: f64, c: f64) -> f64 {
        #[cfg(feature = "std")]
        return a.mul_add(b, c);
        #[cfg(not(feature = "std"))]
        return libm::fma(a, b, c);
    }
}

/// The functions of this module as methods of `f32` and `f64`.
///
/// A generic kernel (`F: FastMath`) calls the `f32` or `f64` function with no
/// overhead: every method is `#[inline(always)]`. The `*_with` methods take
/// the [`MulAdd`] to evaluate with; the others use [`Plain`]. Sealed: the
/// bounds are proven for `f32` and `f64` only.
///
/// ```
/// use loss_core::math::{FastMath, Fused};
/// fn logistic<F: FastMath>(x: F) -> F {
///     x.fast_sigmoid()
/// }
/// assert_eq!(logistic(0.0_f32), 0.5);
/// assert_eq!(logistic(0.0_f64), 0.5);
/// assert_eq!(0.0_f32.exp_with::<Fused>(), 1.0);
/// ```
pub trait FastMath: crate::sealed::Sealed + Copy + Sub<Output = Self> {
    /// `e^self`, see [`exp_f32`], [`exp_f64`].
    fn exp_with<M: MulAdd>(self) -> Self;
    /// `e^self` where `self` is in [`EXP_NORMAL`](Self::EXP_NORMAL): the
    /// same bits as [`exp_with`](Self::exp_with) there, in fewer operations
    /// (no clamp; the power of two goes straight into the exponent bits).
    /// Outside that range the result is meaningless.
    ///
    /// ```
    /// use loss_core::math::{FastMath, Fused};
    /// let (lo, hi) = f32::EXP_NORMAL;
    /// for x in [lo, -1.5, 0.0, 2.0, hi] {
    ///     assert_eq!(x.exp_normal_with::<Fused>(), x.exp_with::<Fused>());
    /// }
    /// ```
    fn exp_normal_with<M: MulAdd>(self) -> Self;
    /// `e^(self + err)`, where `err` is far below the last bit of `self`
    /// (the rounding error of the subtraction that gave it, as a softmax's
    /// `exp(x - max)` keeps): `err` joins the reduced argument, so the result
    /// takes one rounding, not the two of `e^self (1 + err)`. The same bits
    /// as [`exp_with`](Self::exp_with) for `err = 0`.
    ///
    /// ```
    /// use loss_core::math::{FastMath, Plain};
    /// assert_eq!(1.5f32.exp_plus_with::<Plain>(0.0), 1.5f32.exp_with::<Plain>());
    /// // 80 + 2e-6 is not an f32 (the numbers near 80 are 7.6e-6 apart), and
    /// // e^(80 + 2e-6) is about 17 ULP above e^80: within one of it.
    /// let x = 80f32.exp_plus_with::<Plain>(2e-6);
    /// let exact = 80f64.exp() * (1.0 + 2e-6);
    /// assert!((x as f64 - exact).abs() <= f32::EPSILON as f64 * exact);
    /// assert!((80f32.exp_with::<Plain>() as f64 - exact).abs() > 8.0 * f32::EPSILON as f64 * exact);
    /// ```
    fn exp_plus_with<M: MulAdd>(self, err: Self) -> Self;
    /// [`exp_plus_with`](Self::exp_plus_with) where `self` is in
    /// [`EXP_NORMAL`](Self::EXP_NORMAL): the same bits there, in fewer
    /// operations (as [`exp_normal_with`](Self::exp_normal_with)).
    ///
    /// ```
    /// use loss_core::math::{FastMath, Fused};
    /// let err = 3e-9f32;
    /// for x in [-80.0f32, -1.5, 0.0, 2.0] {
    ///     assert_eq!(x.exp_normal_plus_with::<Fused>(err), x.exp_plus_with::<Fused>(err));
    /// }
    /// ```
    fn exp_normal_plus_with<M: MulAdd>(self, err: Self) -> Self;
    /// The inputs `[lo, hi]` where `e^x` is a normal number, with room to
    /// spare: the domain of [`exp_normal_with`](Self::exp_normal_with).
    const EXP_NORMAL: (Self, Self);
    /// `ln(self)`, see [`ln_f32`], [`ln_f64`].
    fn ln_with<M: MulAdd>(self) -> Self;
    /// `ln(self)` for `self` in [`LN_NORMAL`](Self::LN_NORMAL), the positive
    /// normal numbers: the same bits as [`ln_with`](Self::ln_with) there,
    /// without the selects for zero, subnormal, infinite, negative and NaN
    /// inputs. Elsewhere the result is meaningless.
    ///
    /// ```
    /// use loss_core::math::{FastMath, Plain};
    /// for x in [f32::MIN_POSITIVE, 0.3, 1.0, 7.5e30, f32::MAX] {
    ///     assert_eq!(x.ln_normal_with::<Plain>(), x.ln_with::<Plain>());
    /// }
    /// ```
    fn ln_normal_with<M: MulAdd>(self) -> Self;
    /// `[MIN_POSITIVE, MAX]`: the domain of
    /// [`ln_normal_with`](Self::ln_normal_with).
    const LN_NORMAL: (Self, Self);
    /// `ln(1 + self)`, see [`log1p_f32`], [`log1p_f64`].
    fn ln_1p_with<M: MulAdd>(self) -> Self;
    /// `ln(1 + self)` for `self` in [`LN_1P_NORMAL`](Self::LN_1P_NORMAL),
    /// where `1 + self` is a positive normal number: the same bits as
    /// [`ln_1p_with`](Self::ln_1p_with) there, without the selects for
    /// special values. Elsewhere the result is meaningless.
    ///
    /// ```
    /// use loss_core::math::{FastMath, Fused};
    /// let (lo, hi) = f64::LN_1P_NORMAL;
    /// for x in [lo, -0.5, -0.0, 0.0, 1e-300, 3.0, hi] {
    ///     let (short, general) = (x.ln_1p_normal_with::<Fused>(), x.ln_1p_with::<Fused>());
    ///     assert_eq!(short.to_bits(), general.to_bits());
    /// }
    /// ```
    fn ln_1p_normal_with<M: MulAdd>(self) -> Self;
    /// `[-1 + EPSILON / 2, MAX]`, the inputs above -1: the domain of
    /// [`ln_1p_normal_with`](Self::ln_1p_normal_with).
    const LN_1P_NORMAL: (Self, Self);
    /// `e^self - 1`, see [`expm1_f32`], [`expm1_f64`].
    fn exp_m1_with<M: MulAdd>(self) -> Self;
    /// `e^self - 1 - self`, see [`expm1mx_f32`], [`expm1mx_f64`].
    fn exp_m1_minus_x_with<M: MulAdd>(self) -> Self;
    /// `1 / (1 + e^-self)`, see [`sigmoid_f32`], [`sigmoid_f64`].
    fn sigmoid_with<M: MulAdd>(self) -> Self;
    /// `ln(1 + e^self)`, see [`softplus_f32`], [`softplus_f64`].
    fn softplus_with<M: MulAdd>(self) -> Self;
    /// `tanh(self)`, see [`tanh_f32`], [`tanh_f64`].
    ///
    /// ```
    /// use loss_core::math::{FastMath, Fused, Plain};
    /// assert_eq!((-0.0_f32).tanh_with::<Plain>().to_bits(), (-0.0_f32).to_bits());
    /// let (plain, fused) = (0.5_f64.tanh_with::<Plain>(), 0.5_f64.tanh_with::<Fused>());
    /// assert!((plain - fused).abs() <= 4.0 * f64::EPSILON);
    /// ```
    fn tanh_with<M: MulAdd>(self) -> Self;
    /// `self * a + b`, as `M` evaluates it.
    fn mul_add_with<M: MulAdd>(self, a: Self, b: Self) -> Self;

    /// `e^self`, [`Plain`].
    #[inline(always)]
    fn fast_exp(self) -> Self {
        self.exp_with::<Plain>()
    }
    /// `ln(self)`, [`Plain`].
    #[inline(always)]
    fn fast_ln(self) -> Self {
        self.ln_with::<Plain>()
    }
    /// `ln(1 + self)`, [`Plain`].
    #[inline(always)]
    fn fast_ln_1p(self) -> Self {
        self.ln_1p_with::<Plain>()
    }
    /// `e^self - 1`, [`Plain`].
    #[inline(always)]
    fn fast_exp_m1(self) -> Self {
        self.exp_m1_with::<Plain>()
    }
    /// `1 / (1 + e^-self)`, [`Plain`].
    #[inline(always)]
    fn fast_sigmoid(self) -> Self {
        self.sigmoid_with::<Plain>()
    }
    /// `ln(1 + e^self)`, [`Plain`].
    #[inline(always)]
    fn fast_softplus(self) -> Self {
        self.softplus_with::<Plain>()
    }
    /// `tanh(self)`, [`Plain`].
    ///
    /// ```
    /// use loss_core::math::FastMath;
    /// assert_eq!(f32::INFINITY.fast_tanh(), 1.0);
    /// assert!(f64::NAN.fast_tanh().is_nan());
    /// ```
    #[inline(always)]
    fn fast_tanh(self) -> Self {
        self.tanh_with::<Plain>()
    }
}

macro_rules! impl_fast_math {
    ($t:ident, $exp:ident, $exp_normal:ident, $exp_plus:ident, $exp_normal_plus:ident, $normal:ident, $ln:ident, $ln_normal:ident, $log1p:ident, $log1p_normal:ident, $expm1:ident, $expm1mx:ident, $sigmoid:ident, $softplus:ident, $tanh:ident) => {
        impl FastMath for $t {
            #[inline(always)]
            fn exp_with<M: MulAdd>(self) -> Self {
                $exp::<M>(self)
            }
            #[inline(always)]
            fn exp_normal_with<M: MulAdd>(self) -> Self {
                $exp_normal::<M>(self)
            }
            #[inline(always)]
            fn exp_plus_with<M: MulAdd>(self, err: Self) -> Self {
                $exp_plus::<M>(self, err)
            }
            #[inline(always)]
            fn exp_normal_plus_with<M: MulAdd>(self, err: Self) -> Self {
                $exp_normal_plus::<M>(self, err)
            }
            const EXP_NORMAL: (Self, Self) = $normal;
            #[inline(always)]
            fn ln_with<M: MulAdd>(self) -> Self {
                $ln::<M>(self)
            }
            #[inline(always)]
            fn ln_normal_with<M: MulAdd>(self) -> Self {
                $ln_normal::<M>(self)
            }
            const LN_NORMAL: (Self, Self) = ($t::MIN_POSITIVE, $t::MAX);
            #[inline(always)]
            fn ln_1p_with<M: MulAdd>(self) -> Self {
                $log1p::<M>(self)
            }
            #[inline(always)]
            fn ln_1p_normal_with<M: MulAdd>(self) -> Self {
                $log1p_normal::<M>(self)
            }
            const LN_1P_NORMAL: (Self, Self) = (-1.0 + $t::EPSILON / 2.0, $t::MAX);
            #[inline(always)]
            fn exp_m1_with<M: MulAdd>(self) -> Self {
                $expm1::<M>(self)
            }
            #[inline(always)]
            fn exp_m1_minus_x_with<M: MulAdd>(self) -> Self {
                $expm1mx::<M>(self)
            }
            #[inline(always)]
            fn sigmoid_with<M: MulAdd>(self) -> Self {
                $sigmoid::<M>(self)
            }
            #[inline(always)]
            fn softplus_with<M: MulAdd>(self) -> Self {
                $softplus::<M>(self)
            }
            #[inline(always)]
            fn tanh_with<M: MulAdd>(self) -> Self {
                $tanh::<M>(self)
            }
            #[inline(always)]
            fn mul_add_with<M: MulAdd>(self, a: Self, b: Self) -> Self {
                M::$t(self, a, b)
            }
        }
    };
}

impl_fast_math!(
    f32,
    exp_f32_with,
    exp_normal_f32_with,
    exp_plus_f32_with,
    exp_normal_plus_f32_with,
    EXP_NORMAL_F32,
    ln_f32_with,
    ln_normal_f32_with,
    log1p_f32_with,
    log1p_normal_f32_with,
    expm1_f32_with,
    expm1mx_f32_with,
    sigmoid_f32_with,
    softplus_f32_with,
    tanh_f32_with
);
impl_fast_math!(
    f64,
    exp_f64_with,
    exp_normal_f64_with,
    exp_plus_f64_with,
    exp_normal_plus_f64_with,
    EXP_NORMAL_F64,
    ln_f64_with,
    ln_normal_f64_with,
    log1p_f64_with,
    log1p_normal_f64_with,
    expm1_f64_with,
    expm1mx_f64_with,
    sigmoid_f64_with,
    softplus_f64_with,
    tanh_f64_with
);

macro_rules! slice_kernel {
    ($(#[$doc:meta])* $name:ident, $method:ident) => {
        $(#[$doc])*
        #[inline]
        pub fn $name<F: FastMath>(x: &[F], out: &mut [F]) {
            for (o, &v) in out.iter_mut().zip(x) {
                *o = v.$method();
            }
        }
    };
}

slice_kernel!(
    /// `out[i] = e^x[i]` for `i < min(x.len(), out.len())`; the loop vectorises.
    ///
    /// ```
    /// let x = [0.0_f32, 1.0, -1.0];
    /// let mut y = [0.0; 3];
    /// loss_core::math::exp_slice(&x, &mut y);
    /// assert_eq!(y[0], 1.0);
    /// assert!((y[1] * y[2] - 1.0).abs() < 1e-6);
    /// ```
    exp_slice,
    fast_exp
);
slice_kernel!(
    /// `out[i] = ln x[i]` for `i < min(x.len(), out.len())`; the loop vectorises.
    ///
    /// ```
    /// let x = [1.0_f64, 4.0];
    /// let mut y = [0.0; 2];
    /// loss_core::math::ln_slice(&x, &mut y);
    /// assert_eq!(y, [0.0, 2.0 * core::f64::consts::LN_2]);
    /// ```
    ln_slice,
    fast_ln
);
slice_kernel!(
    /// `out[i] = ln(1 + x[i])` for `i < min(x.len(), out.len())`; the loop
    /// vectorises.
    ///
    /// ```
    /// let x = [0.0_f32, 1e-9];
    /// let mut y = [1.0; 2];
    /// loss_core::math::log1p_slice(&x, &mut y);
    /// assert_eq!(y, [0.0, 1e-9]);
    /// ```
    log1p_slice,
    fast_ln_1p
);
slice_kernel!(
    /// `out[i] = e^x[i] - 1` for `i < min(x.len(), out.len())`; the loop
    /// vectorises.
    ///
    /// ```
    /// let x = [0.0_f64, 1e-20];
    /// let mut y = [1.0; 2];
    /// loss_core::math::expm1_slice(&x, &mut y);
    /// assert_eq!(y, [0.0, 1e-20]);
    /// ```
    expm1_slice,
    fast_exp_m1
);
slice_kernel!(
    /// `out[i] = 1 / (1 + e^-x[i])` for `i < min(x.len(), out.len())`; the
    /// loop vectorises.
    ///
    /// ```
    /// let x = [0.0_f32, f32::INFINITY, f32::NEG_INFINITY];
    /// let mut y = [9.0; 3];
    /// loss_core::math::sigmoid_slice(&x, &mut y);
    /// assert_eq!(y, [0.5, 1.0, 0.0]);
    /// ```
    sigmoid_slice,
    fast_sigmoid
);
slice_kernel!(
    /// `out[i] = ln(1 + e^x[i])` for `i < min(x.len(), out.len())`; the loop
    /// vectorises.
    ///
    /// ```
    /// let x = [100.0_f32, f32::NEG_INFINITY];
    /// let mut y = [9.0; 2];
    /// loss_core::math::softplus_slice(&x, &mut y);
    /// assert_eq!(y, [100.0, 0.0]);
    /// ```
    softplus_slice,
    fast_softplus
);
slice_kernel!(
    /// `out[i] = tanh(x[i])` for `i < min(x.len(), out.len())`; the loop
    /// vectorises.
    ///
    /// ```
    /// let x = [0.0_f64, -1e-300, 50.0];
    /// let mut y = [9.0; 3];
    /// loss_core::math::tanh_slice(&x, &mut y);
    /// assert_eq!(y, [0.0, -1e-300, 1.0]);
    /// ```
    tanh_slice,
    fast_tanh
);
