//! Intervals with rational endpoints that provably contain a real value.

mod decimal;
mod elementary;
mod error;
mod real_impl;

use core::cell::Cell;
use core::cmp::Ordering;
use core::fmt;
use core::ops::{Add, Div, Mul, Neg, Sub};

use num_rational::BigRational;

use crate::dyadic::{Dyadic, Round};
pub use error::IntervalError;

/// The precision used when none is given: 128 significant bits per endpoint.
pub const DEFAULT_PRECISION: u32 = 128;

/// Precisions below this are raised to it (the kernels need some room).
const MIN_PRECISION: u32 = 16;

thread_local! {
    static CURRENT_PRECISION: Cell<u32> = const { Cell::new(DEFAULT_PRECISION) };
}

/// The precision [`Interval::from_f64`] (and so `Real::from_f64`) gives new
/// intervals on this thread.
///
/// ```
/// assert_eq!(verify::current_precision(), verify::DEFAULT_PRECISION);
/// ```
pub fn current_precision() -> u32 {
    CURRENT_PRECISION.with(Cell::get)
}

/// Runs `f` with [`current_precision`] set to `bits` on this thread, and
/// restores the previous value afterwards (also if `f` panics).
///
/// Results of an operation carry the larger precision of their operands, so
/// this decides the precision of a whole reference evaluation whose inputs
/// and constants come from `from_f64`.
///
/// ```
/// use verify::{with_precision, Interval};
/// let x = with_precision(300, || Interval::from_f64(2.0).sqrt());
/// assert_eq!(x.precision(), 300);
/// ```
pub fn with_precision<T>(bits: u32, f: impl FnOnce() -> T) -> T {
    struct Restore(u32);
    impl Drop for Restore {
        fn drop(&mut self) {
            CURRENT_PRECISION.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(current_precision());
    CURRENT_PRECISION.with(|c| c.set(bits.max(MIN_PRECISION)));
    f()
}

/// A closed interval `[lo, hi]` of rationals that contains the true real
/// value of the expression that produced it, or an error saying why there is
/// no such value.
///
/// Every operation rounds its endpoints outward to the interval's precision
/// (significant bits per endpoint, [`Interval::precision`]), so sizes stay
/// bounded while the enclosure stays rigorous. Endpoints are dyadic rationals
/// `m · 2^e` (what outward rounding to bits produces) and are returned as
/// [`BigRational`]. An operation on two intervals uses the larger of their
/// precisions.
///
/// Errors (division by an interval containing zero, `ln` of an interval
/// reaching zero, ...) do not panic: the result is an invalid interval that
/// propagates through later operations like NaN and keeps the first reason
/// ([`Interval::bounds`] returns it as `Err`).
///
/// Comparisons answer only what the enclosures decide: `a < b` holds when
/// every point of `a` is below every point of `b`, `partial_cmp` returns
/// `None` when the intervals overlap (and are not the same point), and
/// `a == b` only when both are the same single point.
///
/// ```
/// use verify::Interval;
/// use loss_core::Real;
/// let third = Interval::from_f64(1.0) / Interval::from_f64(3.0);
/// let (lo, hi) = third.bounds().unwrap();
/// let exact = num_rational::BigRational::new(1.into(), 3.into());
/// assert!(lo < exact && exact < hi);
/// // e^1 is certainly between 2.718 and 2.719.
/// let e = Interval::from_f64(1.0).exp();
/// assert!(e > Interval::from_f64(2.718) && e < Interval::from_f64(2.719));
/// ```
#[derive(Clone)]
pub struct Interval {
    state: State,
}

#[derive(Clone)]
enum State {
    Valid {
        lo: Dyadic,
        hi: Dyadic,
        precision: u32,
    },
    Invalid(IntervalError),
}

impl Interval {
    /// The point interval at `x`, exact, with [`current_precision`]; an
    /// invalid interval ([`IntervalError::NotFinite`]) for NaN or infinity.
    ///
    /// ```
    /// use verify::Interval;
    /// assert!(Interval::from_f64(0.1).contains_f64(0.1));
    /// assert!(!Interval::from_f64(f64::NAN).is_valid());
    /// ```
    pub fn from_f64(x: f64) -> Interval {
        Interval::from_f64_with_precision(x, current_precision())
    }

    /// The point interval at `x` with the given precision.
    ///
    /// ```
    /// use verify::Interval;
    /// assert_eq!(Interval::from_f64_with_precision(1.5, 200).precision(), 200);
    /// ```
    pub fn from_f64_with_precision(x: f64, precision: u32) -> Interval {
        match Dyadic::from_f64(x) {
            Some(d) => Interval::exact(d, precision),
            None => Interval::invalid(IntervalError::NotFinite { value: x }),
        }
    }

    /// The smallest interval at `precision` bits around the rational `q`
    /// (exact when `q` is dyadic with few enough bits).
    ///
    /// ```
    /// use verify::Interval;
    /// use num_rational::BigRational;
    /// let q = BigRational::new(2.into(), 3.into());
    /// assert!(Interval::from_rational(&q, 64).contains(&q));
    /// ```
    pub fn from_rational(q: &BigRational, precision: u32) -> Interval {
        Interval::from_bounds(q, q, precision)
    }

    /// The interval `[lo, hi]`, rounded outward to `precision` bits; invalid
    /// ([`IntervalError::InvertedBounds`]) if `lo > hi`.
    ///
    /// ```
    /// use verify::Interval;
    /// use num_rational::BigRational;
    /// let x = Interval::from_bounds(&BigRational::from_integer(1.into()),
    ///                               &BigRational::from_integer(2.into()), 64);
    /// assert!(x.contains_f64(1.5) && !x.contains_f64(2.5));
    /// ```
    pub fn from_bounds(lo: &BigRational, hi: &BigRational, precision: u32) -> Interval {
        let precision = precision.max(MIN_PRECISION);
        if lo > hi {
            return Interval::invalid(IntervalError::InvertedBounds {
                lo: lo.to_string(),
                hi: hi.to_string(),
            });
        }
        Interval::new(
            Dyadic::from_rational(lo, precision, Round::Down),
            Dyadic::from_rational(hi, precision, Round::Up),
            precision,
        )
    }

    /// An invalid interval carrying `error`.
    ///
    /// ```
    /// use verify::{Interval, IntervalError};
    /// let x = Interval::invalid(IntervalError::EmptyInput { function: "mine" });
    /// assert!((x + Interval::from_f64(1.0)).error().is_some());
    /// ```
    pub fn invalid(error: IntervalError) -> Interval {
        Interval {
            state: State::Invalid(error),
        }
    }

    pub(crate) fn new(lo: Dyadic, hi: Dyadic, precision: u32) -> Interval {
        debug_assert!(lo <= hi);
        Interval {
            state: State::Valid { lo, hi, precision },
        }
    }

    pub(crate) fn exact(d: Dyadic, precision: u32) -> Interval {
        Interval::new(d.clone(), d, precision.max(MIN_PRECISION))
    }

    pub(crate) fn parts(&self) -> Result<(&Dyadic, &Dyadic, u32), &IntervalError> {
        match &self.state {
            State::Valid { lo, hi, precision } => Ok((lo, hi, *precision)),
            State::Invalid(e) => Err(e),
        }
    }

    /// The endpoints `(lo, hi)`, or the reason there is no enclosure.
    ///
    /// ```
    /// use verify::Interval;
    /// use loss_core::Real;
    /// assert!(Interval::from_f64(-1.0).ln().bounds().is_err());
    /// assert!(Interval::from_f64(1.0).ln().bounds().is_ok());
    /// ```
    pub fn bounds(&self) -> Result<(BigRational, BigRational), IntervalError> {
        match &self.state {
            State::Valid { lo, hi, .. } => Ok((lo.to_rational(), hi.to_rational())),
            State::Invalid(e) => Err(e.clone()),
        }
    }

    /// The endpoints as `f64`, rounded outward (so the `f64` interval still
    /// contains the value; an endpoint beyond the `f64` range is infinite).
    ///
    /// ```
    /// use verify::Interval;
    /// let (lo, hi) = (Interval::from_f64(1.0) / Interval::from_f64(3.0)).bounds_f64().unwrap();
    /// assert!(lo <= 1.0 / 3.0 && 1.0 / 3.0 <= hi && hi - lo <= f64::EPSILON);
    /// ```
    pub fn bounds_f64(&self) -> Result<(f64, f64), IntervalError> {
        let (lo, hi, _) = self.parts().map_err(Clone::clone)?;
        Ok((lo.to_f64(Round::Down), hi.to_f64(Round::Up)))
    }

    /// The reason the interval is invalid, if it is.
    ///
    /// ```
    /// use verify::Interval;
    /// use loss_core::Real;
    /// assert!(Interval::from_f64(-4.0).sqrt().error().is_some());
    /// ```
    pub fn error(&self) -> Option<&IntervalError> {
        self.parts().err()
    }

    /// `true` unless an error occurred.
    ///
    /// ```
    /// use verify::Interval;
    /// assert!(Interval::from_f64(3.0).is_valid());
    /// ```
    pub fn is_valid(&self) -> bool {
        self.parts().is_ok()
    }

    /// Significant bits per endpoint (0 for an invalid interval).
    ///
    /// ```
    /// use verify::Interval;
    /// assert_eq!(Interval::from_f64_with_precision(1.0, 64).precision(), 64);
    /// ```
    pub fn precision(&self) -> u32 {
        self.parts().map(|p| p.2).unwrap_or(0)
    }

    /// The same enclosure at another precision (rounded outward when lower).
    ///
    /// ```
    /// use verify::Interval;
    /// let third = Interval::from_f64_with_precision(1.0, 200) / Interval::from_f64(3.0);
    /// let coarse = third.with_precision(20);
    /// assert!(coarse.width_f64() > third.width_f64());
    /// ```
    pub fn with_precision(&self, precision: u32) -> Interval {
        match self.parts() {
            Ok((lo, hi, _)) => {
                let p = precision.max(MIN_PRECISION);
                Interval::new(lo.round(p, Round::Down), hi.round(p, Round::Up), p)
            }
            Err(_) => self.clone(),
        }
    }

    /// `true` if `q` lies in the interval (`false` if invalid).
    ///
    /// ```
    /// use verify::Interval;
    /// use num_rational::BigRational;
    /// assert!(Interval::from_f64(0.5).contains(&BigRational::new(1.into(), 2.into())));
    /// ```
    pub fn contains(&self, q: &BigRational) -> bool {
        match self.parts() {
            Ok((lo, hi, _)) => &lo.to_rational() <= q && q <= &hi.to_rational(),
            Err(_) => false,
        }
    }

    /// `true` if the exact value of `x` lies in the interval.
    ///
    /// ```
    /// use verify::Interval;
    /// use loss_core::Real;
    /// assert!(Interval::from_f64(4.0).sqrt().contains_f64(2.0));
    /// ```
    pub fn contains_f64(&self, x: f64) -> bool {
        match (self.parts(), Dyadic::from_f64(x)) {
            (Ok((lo, hi, _)), Some(d)) => lo <= &d && &d <= hi,
            _ => false,
        }
    }

    /// `hi - lo` (exact).
    ///
    /// ```
    /// use verify::Interval;
    /// use num_traits::Zero;
    /// assert!(Interval::from_f64(7.0).width().unwrap().is_zero());
    /// ```
    pub fn width(&self) -> Result<BigRational, IntervalError> {
        let (lo, hi, _) = self.parts().map_err(Clone::clone)?;
        Ok(hi.sub_exact(lo).to_rational())
    }

    /// `hi - lo` rounded up to an `f64` (infinite for an invalid interval).
    ///
    /// ```
    /// use verify::Interval;
    /// use loss_core::Real;
    /// assert!(Interval::from_f64(2.0).ln().width_f64() < 1e-36);
    /// ```
    pub fn width_f64(&self) -> f64 {
        match self.parts() {
            Ok((lo, hi, _)) => hi.sub_exact(lo).to_f64(Round::Up),
            Err(_) => f64::INFINITY,
        }
    }

    /// The width relative to the magnitude, `(hi - lo) / min(|lo|, |hi|)`,
    /// rounded up (infinite if the interval contains zero and is not the
    /// point zero, or is invalid).
    ///
    /// ```
    /// use verify::Interval;
    /// use loss_core::Real;
    /// let x = Interval::from_f64_with_precision(-745.0, 200).exp();
    /// assert!(x.relative_width() < 1e-58);
    /// ```
    pub fn relative_width(&self) -> f64 {
        match self.parts() {
            Ok((lo, hi, _)) => {
                if lo == hi {
                    return 0.0;
                }
                if lo.sign() != hi.sign() || lo.is_zero() || hi.is_zero() {
                    return f64::INFINITY;
                }
                let small = lo.abs().min(hi.abs());
                hi.sub_exact(lo)
                    .div_round(&small, 64, Round::Up)
                    .to_f64(Round::Up)
            }
            Err(_) => f64::INFINITY,
        }
    }

    /// A point of the interval near its middle, as the nearest `f64` below
    /// (for printing and estimates only).
    ///
    /// ```
    /// use verify::Interval;
    /// assert_eq!(Interval::from_f64(0.25).midpoint_f64(), 0.25);
    /// ```
    pub fn midpoint_f64(&self) -> f64 {
        match self.parts() {
            Ok((lo, hi, _)) => lo.add_exact(hi).shift(-1).to_f64_approx(),
            Err(_) => f64::NAN,
        }
    }

    /// `true` if the interval is the single point zero.
    pub(crate) fn is_exact_zero(&self) -> bool {
        matches!(self.parts(), Ok((lo, hi, _)) if lo.is_zero() && hi.is_zero())
    }

    /// What the enclosures decide about the order of `self` and `other`:
    /// `Some(Less)` if `self` is entirely below `other`, `Some(Greater)` if
    /// entirely above, `Some(Equal)` if both are the same point, `None` when
    /// the intervals overlap otherwise or either is invalid.
    ///
    /// ```
    /// use verify::Interval;
    /// use core::cmp::Ordering;
    /// let third = Interval::from_f64(1.0) / Interval::from_f64(3.0);
    /// assert_eq!(third.compare(&Interval::from_f64(0.5)), Some(Ordering::Less));
    /// // The exact 1/3 is not an f64: only its enclosure is known, and that
    /// // cannot decide against itself.
    /// assert_eq!(third.compare(&third), None);
    /// ```
    pub fn compare(&self, other: &Interval) -> Option<Ordering> {
        let (alo, ahi, _) = self.parts().ok()?;
        let (blo, bhi, _) = other.parts().ok()?;
        if ahi < blo {
            Some(Ordering::Less)
        } else if alo > bhi {
            Some(Ordering::Greater)
        } else if alo == ahi && blo == bhi && alo == blo {
            Some(Ordering::Equal)
        } else {
            None
        }
    }

    /// `|self|`.
    ///
    /// ```
    /// use verify::Interval;
    /// assert!(Interval::from_f64(-2.0).abs().contains_f64(2.0));
    /// ```
    pub fn abs(&self) -> Interval {
        self.map(|lo, hi, p| {
            if !lo.is_negative() {
                Ok(Interval::new(lo.clone(), hi.clone(), p))
            } else if !hi.is_positive() {
                Ok(Interval::new(hi.neg(), lo.neg(), p))
            } else {
                Ok(Interval::new(Dyadic::zero(), lo.neg().max(hi.clone()), p))
            }
        })
    }

    /// The larger of two values: `[max(lo), max(hi)]`.
    ///
    /// ```
    /// use verify::Interval;
    /// let m = Interval::from_f64(1.0).max(&Interval::from_f64(3.0));
    /// assert!(m.contains_f64(3.0) && !m.contains_f64(1.0));
    /// ```
    pub fn max(&self, other: &Interval) -> Interval {
        self.zip(other, |alo, ahi, blo, bhi, p| {
            Ok(Interval::new(alo.max(blo).clone(), ahi.max(bhi).clone(), p))
        })
    }

    /// The smaller of two values: `[min(lo), min(hi)]`.
    ///
    /// ```
    /// use verify::Interval;
    /// assert!(Interval::from_f64(1.0).min(&Interval::from_f64(3.0)).contains_f64(1.0));
    /// ```
    pub fn min(&self, other: &Interval) -> Interval {
        self.zip(other, |alo, ahi, blo, bhi, p| {
            Ok(Interval::new(alo.min(blo).clone(), ahi.min(bhi).clone(), p))
        })
    }

    /// `self^n` for an integer `n` (`x^0 = 1`, also for `x = 0`); even powers
    /// of an interval around zero start at zero.
    ///
    /// ```
    /// use verify::Interval;
    /// assert!(Interval::from_f64(-3.0).powi(3).contains_f64(-27.0));
    /// assert!(Interval::from_f64(2.0).powi(-2).contains_f64(0.25));
    /// ```
    pub fn powi(&self, n: i32) -> Interval {
        if n < 0 {
            let one = Interval::exact(Dyadic::one(), self.precision());
            return one / self.powi_unsigned(n.unsigned_abs());
        }
        self.powi_unsigned(n as u32)
    }

    fn powi_unsigned(&self, n: u32) -> Interval {
        self.map(|lo, hi, p| {
            if n == 0 {
                return Ok(Interval::exact(Dyadic::one(), p));
            }
            // x^n is monotone on x >= 0 (and for odd n everywhere); an even
            // power of an interval around zero is the power of its magnitude.
            let (base_lo, base_hi) = if n.is_multiple_of(2) && lo.is_negative() {
                if hi.is_positive() {
                    (Dyadic::zero(), lo.neg().max(hi.clone()))
                } else {
                    (hi.neg(), lo.neg())
                }
            } else {
                (lo.clone(), hi.clone())
            };
            let low = pow_point(&base_lo, n, p, Round::Down);
            let high = pow_point(&base_hi, n, p, Round::Up);
            Ok(Interval::new(low, high, p))
        })
    }

    /// `self · ln(y)` with `0 · ln(y) = 0` for every valid `y`, also `y <= 0`
    /// (the `xlogy` convention of `loss_core::Real`).
    ///
    /// ```
    /// use verify::Interval;
    /// assert!(Interval::from_f64(0.0).xlogy(&Interval::from_f64(0.0)).contains_f64(0.0));
    /// ```
    pub fn xlogy(&self, y: &Interval) -> Interval {
        if let Err(e) = y.parts() {
            return Interval::invalid(e.clone());
        }
        if self.is_exact_zero() {
            return self.clone();
        }
        self * &y.ln()
    }

    /// Applies `f` to the endpoints of a valid interval; propagates an error.
    fn map(
        &self,
        f: impl FnOnce(&Dyadic, &Dyadic, u32) -> Result<Interval, IntervalError>,
    ) -> Interval {
        match self.parts() {
            Ok((lo, hi, p)) => f(lo, hi, p).unwrap_or_else(Interval::invalid),
            Err(e) => Interval::invalid(e.clone()),
        }
    }

    /// Applies `f` to the endpoints of two valid intervals at the larger
    /// precision; propagates the first error.
    fn zip(
        &self,
        other: &Interval,
        f: impl FnOnce(&Dyadic, &Dyadic, &Dyadic, &Dyadic, u32) -> Result<Interval, IntervalError>,
    ) -> Interval {
        match (self.parts(), other.parts()) {
            (Ok((alo, ahi, ap)), Ok((blo, bhi, bp))) => {
                f(alo, ahi, blo, bhi, ap.max(bp)).unwrap_or_else(Interval::invalid)
            }
            (Err(e), _) | (_, Err(e)) => Interval::invalid(e.clone()),
        }
    }

    /// `self · 2^k`, exact.
    pub(crate) fn scale_pow2(&self, k: i64) -> Interval {
        self.map(|lo, hi, p| Ok(Interval::new(lo.shift(k), hi.shift(k), p)))
    }

    /// The largest absolute value of the interval, rounded up (valid only).
    pub(crate) fn magnitude(&self) -> Dyadic {
        match self.parts() {
            Ok((lo, hi, _)) => lo.abs().max(hi.abs()),
            Err(_) => Dyadic::zero(),
        }
    }

    /// The hull of `self` and `[-r, r]` added to it: `self + [-r, r]`.
    pub(crate) fn widen(&self, r: &Dyadic) -> Interval {
        self.map(|lo, hi, p| {
            Ok(Interval::new(
                lo.sub_round(r, p, Round::Down),
                hi.add_round(r, p, Round::Up),
                p,
            ))
        })
    }

    pub(crate) fn describe(&self) -> String {
        self.to_string()
    }
}

/// `d^n` (n >= 1) rounded to `prec` bits in direction `dir`, by binary
/// powering on an enclosure at a higher working precision.
fn pow_point(d: &Dyadic, n: u32, prec: u32, dir: Round) -> Dyadic {
    // Each of the <= 2·log2(n) roundings costs a relative 2^-wp; the guard
    // bits keep their sum below 2^-prec.
    let wp = prec + 2 * (32 - n.leading_zeros()) + 8;
    let mut base = Interval::exact(d.clone(), wp);
    let mut acc = Interval::exact(Dyadic::one(), wp);
    let mut k = n;
    while k > 0 {
        if k & 1 == 1 {
            acc = &acc * &base;
        }
        k >>= 1;
        if k > 0 {
            base = &base * &base;
        }
    }
    let (lo, hi, _) = acc.parts().expect("products of valid intervals are valid");
    match dir {
        Round::Down => lo.round(prec, Round::Down),
        Round::Up => hi.round(prec, Round::Up),
    }
}

fn add(a: &Interval, b: &Interval) -> Interval {
    a.zip(b, |alo, ahi, blo, bhi, p| {
        Ok(Interval::new(
            alo.add_round(blo, p, Round::Down),
            ahi.add_round(bhi, p, Round::Up),
            p,
        ))
    })
}

fn sub(a: &Interval, b: &Interval) -> Interval {
    a.zip(b, |alo, ahi, blo, bhi, p| {
        Ok(Interval::new(
            alo.sub_round(bhi, p, Round::Down),
            ahi.sub_round(blo, p, Round::Up),
            p,
        ))
    })
}

fn mul(a: &Interval, b: &Interval) -> Interval {
    a.zip(b, |alo, ahi, blo, bhi, p| {
        // The extremes of a bilinear function on a box are at its corners;
        // exact products, then one outward rounding each.
        let (lo, hi) = if !alo.is_negative() && !blo.is_negative() {
            (alo.mul_exact(blo), ahi.mul_exact(bhi))
        } else {
            let c = [
                alo.mul_exact(blo),
                alo.mul_exact(bhi),
                ahi.mul_exact(blo),
                ahi.mul_exact(bhi),
            ];
            let lo = c.iter().min().expect("four corners").clone();
            let hi = c.iter().max().expect("four corners").clone();
            (lo, hi)
        };
        Ok(Interval::new(
            lo.round(p, Round::Down),
            hi.round(p, Round::Up),
            p,
        ))
    })
}

fn div(a: &Interval, b: &Interval) -> Interval {
    a.zip(b, |alo, ahi, blo, bhi, p| {
        if !blo.is_positive() && !bhi.is_negative() {
            return Err(IntervalError::DivisionByZero {
                divisor: b.describe(),
            });
        }
        // For a positive divisor the quotient is increasing in the dividend,
        // so the sign of the dividend's endpoints picks the divisor's
        // endpoint; a negative divisor is handled by symmetry.
        let (blo, bhi, negate) = if bhi.is_negative() {
            (bhi.neg(), blo.neg(), true)
        } else {
            (blo.clone(), bhi.clone(), false)
        };
        let (alo, ahi) = if negate {
            (ahi.neg(), alo.neg())
        } else {
            (alo.clone(), ahi.clone())
        };
        let lo_div = if alo.is_negative() { &blo } else { &bhi };
        let hi_div = if ahi.is_negative() { &bhi } else { &blo };
        let lo = alo.div_round(lo_div, p, Round::Down);
        let hi = ahi.div_round(hi_div, p, Round::Up);
        Ok(Interval::new(lo, hi, p))
    })
}

fn neg(a: &Interval) -> Interval {
    a.map(|lo, hi, p| Ok(Interval::new(hi.neg(), lo.neg(), p)))
}

macro_rules! binary_op {
    ($trait:ident, $method:ident, $f:ident) => {
        impl $trait<Interval> for Interval {
            type Output = Interval;
            fn $method(self, rhs: Interval) -> Interval {
                $f(&self, &rhs)
            }
        }
        impl $trait<&Interval> for Interval {
            type Output = Interval;
            fn $method(self, rhs: &Interval) -> Interval {
                $f(&self, rhs)
            }
        }
        impl $trait<Interval> for &Interval {
            type Output = Interval;
            fn $method(self, rhs: Interval) -> Interval {
                $f(self, &rhs)
            }
        }
        impl $trait<&Interval> for &Interval {
            type Output = Interval;
            fn $method(self, rhs: &Interval) -> Interval {
                $f(self, rhs)
            }
        }
    };
}

binary_op!(Add, add, add);
binary_op!(Sub, sub, sub);
binary_op!(Mul, mul, mul);
binary_op!(Div, div, div);

impl Neg for Interval {
    type Output = Interval;
    fn neg(self) -> Interval {
        neg(&self)
    }
}

impl Neg for &Interval {
    type Output = Interval;
    fn neg(self) -> Interval {
        neg(self)
    }
}

impl PartialEq for Interval {
    /// Certainly equal: both are the same single point.
    fn eq(&self, other: &Interval) -> bool {
        self.compare(other) == Some(Ordering::Equal)
    }
}

impl PartialOrd for Interval {
    /// See [`Interval::compare`]: `None` when the enclosures cannot decide.
    fn partial_cmp(&self, other: &Interval) -> Option<Ordering> {
        self.compare(other)
    }
}

/// Significant decimal digits of each printed endpoint.
const DISPLAY_DIGITS: u32 = 20;

impl fmt::Display for Interval {
    /// `[lo, hi]` with 20 significant digits (or the precision asked with
    /// `{:.N}`), rounded outward; or `invalid (reason)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.state {
            State::Valid { lo, hi, .. } => {
                let digits = f.precision().map_or(DISPLAY_DIGITS, |d| d.max(1) as u32);
                write!(
                    f,
                    "[{}, {}]",
                    decimal::to_decimal(lo, digits, Round::Down),
                    decimal::to_decimal(hi, digits, Round::Up)
                )
            }
            State::Invalid(e) => write!(f, "invalid ({e})"),
        }
    }
}

impl fmt::Debug for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use num_bigint::BigInt;

    fn q(n: i64, d: i64) -> BigRational {
        BigRational::new(BigInt::from(n), BigInt::from(d))
    }

    fn iv(lo: f64, hi: f64) -> Interval {
        Interval::from_bounds(
            &BigRational::from_float(lo).unwrap(),
            &BigRational::from_float(hi).unwrap(),
            64,
        )
    }

    /// Every arithmetic operation on small grids of endpoints contains the
    /// exact rational results at all corner and interior sample points.
    #[test]
    fn arithmetic_contains_all_pointwise_results() {
        let ends = [-3.0, -1.0, -0.25, 0.0, 0.5, 2.0, 7.0];
        let mut boxes = Vec::new();
        for (i, &a) in ends.iter().enumerate() {
            for &b in &ends[i..] {
                boxes.push((a, b));
            }
        }
        for &(alo, ahi) in &boxes {
            for &(blo, bhi) in &boxes {
                let (x, y) = (iv(alo, ahi), iv(blo, bhi));
                let sum = &x + &y;
                let diff = &x - &y;
                let prod = &x * &y;
                let quot = &x / &y;
                for s in [0.0, 0.3, 1.0] {
                    for t in [0.0, 0.7, 1.0] {
                        let a = BigRational::from_float(alo + s * (ahi - alo)).unwrap();
                        let b = BigRational::from_float(blo + t * (bhi - blo)).unwrap();
                        assert!(sum.contains(&(&a + &b)));
                        assert!(diff.contains(&(&a - &b)));
                        assert!(prod.contains(&(&a * &b)));
                        if blo > 0.0 || bhi < 0.0 {
                            assert!(quot.contains(&(&a / &b)), "{x} / {y}");
                        }
                    }
                }
                if blo <= 0.0 && bhi >= 0.0 {
                    assert!(matches!(
                        quot.error(),
                        Some(IntervalError::DivisionByZero { .. })
                    ));
                }
            }
        }
    }

    #[test]
    fn rounding_keeps_sizes_bounded_and_enclosures_tight() {
        let mut x = Interval::from_f64_with_precision(1.0, 100);
        let three = Interval::from_f64_with_precision(3.0, 100);
        for _ in 0..200 {
            x = &x / &three;
        }
        let exact = q(1, 1) / BigRational::from_integer(BigInt::from(3).pow(200u32));
        assert!(x.contains(&exact));
        // 200 divisions, each at most one ulp outward on each side.
        assert!(x.relative_width() < 500.0 * 2f64.powi(-99));
        let (lo, hi) = x.bounds().unwrap();
        assert!(lo.numer().bits() <= 101 && hi.numer().bits() <= 101);
    }

    #[test]
    fn comparisons_say_when_they_cannot_decide() {
        assert!(iv(0.0, 1.0) < iv(2.0, 3.0));
        assert!(iv(2.0, 3.0) > iv(0.0, 1.0));
        assert_eq!(iv(0.0, 2.0).partial_cmp(&iv(1.0, 3.0)), None);
        assert!(iv(1.0, 1.0) == iv(1.0, 1.0));
        assert!(iv(1.0, 2.0) != iv(1.0, 2.0));
    }

    #[test]
    fn errors_propagate_with_the_first_reason() {
        let bad = Interval::from_f64(1.0) / iv(-1.0, 1.0);
        let worse = (bad + Interval::from_f64(f64::NAN)) * Interval::from_f64(2.0);
        assert!(matches!(
            worse.error(),
            Some(IntervalError::DivisionByZero { .. })
        ));
        assert!(worse
            .to_string()
            .contains("division by an interval containing zero"));
    }

    #[test]
    fn powers_of_intervals_around_zero() {
        let x = iv(-2.0, 1.0);
        let sq = x.powi(2);
        assert!(sq.contains_f64(0.0) && sq.contains_f64(4.0) && !sq.contains_f64(-0.1));
        assert!(x.powi(3).contains_f64(-8.0) && x.powi(3).contains_f64(1.0));
        assert!(x.powi(-1).error().is_some());
        assert!(Interval::from_f64(0.0).powi(0).contains_f64(1.0));
        let big = Interval::from_f64(3.0).powi(100);
        assert!(big.contains(&BigRational::from_integer(BigInt::from(3).pow(100u32))));
        assert!(big.relative_width() < 2f64.powi(-125));
    }

    #[test]
    fn abs_max_min_contain_pointwise_results() {
        let x = iv(-2.0, 1.0);
        assert!(x.abs().contains_f64(0.0) && x.abs().contains_f64(2.0));
        let m = x.max(&iv(-1.0, 0.5));
        assert!(m.contains_f64(-1.0) && m.contains_f64(1.0) && !m.contains_f64(-1.5));
        let n = x.min(&iv(-1.0, 0.5));
        assert!(n.contains_f64(-2.0) && n.contains_f64(0.5) && !n.contains_f64(0.75));
    }
}
