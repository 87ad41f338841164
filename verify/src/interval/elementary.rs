//! Rigorous enclosures of the elementary functions.
//!
//! Every function here is monotone on its domain (or split into monotone
//! pieces), so the enclosure of `f([lo, hi])` is `[lower(f(lo)), upper(f(hi))]`
//! and only point kernels are needed. Each kernel works on an [`Interval`] at
//! a working precision `wp` a few dozen bits above the target, so every
//! rounding inside is itself rigorous; the only non-interval step is the
//! truncation of a series, whose remainder bound is added as `[-R, R]` next to
//! the code that justifies it. The result is rounded outward to the target.

use core::cell::RefCell;

use super::{Interval, IntervalError};
use crate::dyadic::{Dyadic, Round};

/// Extra bits every kernel carries above the target precision.
const GUARD: u32 = 32;

/// `exp` reduces its argument below `2^-HALVINGS` before the Taylor series and
/// squares the result back `HALVINGS` times.
const HALVINGS: u32 = 12;

/// Beyond `|x| >= 2^EXP_LIMIT_BITS`, `exp(x)` overflows the exponent range we
/// allow (`e^(2^50)` has about `1.6e15` binary digits of exponent).
const EXP_LIMIT_BITS: i64 = 50;

impl Interval {
    /// `e^self`.
    ///
    /// ```
    /// use verify::Interval;
    /// let (lo, hi) = Interval::from_f64(1.0).exp().bounds_f64().unwrap();
    /// assert!(lo <= std::f64::consts::E && std::f64::consts::E <= hi);
    /// assert!(Interval::from_f64(-745.0).exp().is_valid()); // about 5e-324
    /// ```
    pub fn exp(&self) -> Interval {
        self.increasing(exp_point)
    }

    /// Natural logarithm; invalid ([`IntervalError::LogOfNonPositive`]) if
    /// the interval reaches zero or below.
    ///
    /// ```
    /// use verify::{Interval, IntervalError};
    /// assert!(Interval::from_f64(1.0).ln().contains_f64(0.0));
    /// assert!(matches!(Interval::from_f64(0.0).ln().error(),
    ///                  Some(IntervalError::LogOfNonPositive { .. })));
    /// ```
    pub fn ln(&self) -> Interval {
        if let Ok((lo, _, _)) = self.parts() {
            if !lo.is_positive() {
                return self.domain_error("ln");
            }
        }
        self.increasing(ln_point)
    }

    /// `ln(1 + self)`, accurate for tiny arguments; invalid if the interval
    /// reaches `-1` or below.
    ///
    /// ```
    /// use verify::Interval;
    /// let (lo, hi) = Interval::from_f64(1e-20).ln_1p().bounds_f64().unwrap();
    /// assert!(lo <= 1e-20 && 1e-20 <= hi * (1.0 + 1e-15));
    /// ```
    pub fn ln_1p(&self) -> Interval {
        if let Ok((lo, _, _)) = self.parts() {
            if *lo <= Dyadic::from_i64(-1) {
                return self.domain_error("ln_1p");
            }
        }
        self.increasing(ln_1p_point)
    }

    /// `e^self - 1`, accurate for tiny arguments.
    ///
    /// ```
    /// use verify::Interval;
    /// let (lo, hi) = Interval::from_f64(-1e-20).exp_m1().bounds_f64().unwrap();
    /// assert!(lo <= -1e-20 && -1e-20 <= hi * (1.0 - 1e-15));
    /// ```
    pub fn exp_m1(&self) -> Interval {
        self.increasing(exp_m1_point)
    }

    /// Square root; invalid ([`IntervalError::SqrtOfNegative`]) if the
    /// interval reaches below zero.
    ///
    /// ```
    /// use verify::Interval;
    /// let r = Interval::from_f64(2.0).sqrt();
    /// assert!((r.clone() * r).contains_f64(2.0));
    /// ```
    pub fn sqrt(&self) -> Interval {
        self.map(|lo, hi, p| {
            if lo.is_negative() {
                return Err(IntervalError::SqrtOfNegative {
                    argument: self.describe(),
                });
            }
            Ok(Interval::new(
                lo.sqrt_round(p, Round::Down),
                hi.sqrt_round(p, Round::Up),
                p,
            ))
        })
    }

    /// The logistic sigmoid `1 / (1 + e^-self)`.
    ///
    /// ```
    /// use verify::Interval;
    /// assert!(Interval::from_f64(0.0).sigmoid().contains_f64(0.5));
    /// let tail = Interval::from_f64(-1e4).sigmoid();   // about 1e-4343
    /// assert!(tail.is_valid() && tail.relative_width() < 1e-30);
    /// ```
    pub fn sigmoid(&self) -> Interval {
        self.increasing(sigmoid_point)
    }

    /// `ln(1 + e^self)`.
    ///
    /// ```
    /// use verify::Interval;
    /// let (lo, hi) = Interval::from_f64(1e4).softplus().bounds_f64().unwrap();
    /// assert!(lo <= 1e4 && 1e4 <= hi);
    /// ```
    pub fn softplus(&self) -> Interval {
        self.increasing(softplus_point)
    }

    /// Hyperbolic tangent.
    ///
    /// ```
    /// use verify::Interval;
    /// let t = Interval::from_f64(-0.5).tanh();
    /// let (lo, hi) = t.bounds_f64().unwrap();
    /// assert!(lo <= (-0.5f64).tanh() + 1e-16 && (-0.5f64).tanh() - 1e-16 <= hi);
    /// ```
    pub fn tanh(&self) -> Interval {
        self.increasing(tanh_point)
    }

    /// `self^e` for a real exponent: `exp(e · ln(self))` for `self > 0`;
    /// `0` for `self = 0` and `e > 0`; otherwise invalid
    /// ([`IntervalError::PowDomain`]).
    ///
    /// ```
    /// use verify::Interval;
    /// let x = Interval::from_f64(2.0).powf(&Interval::from_f64(0.5));
    /// assert!((x.clone() * x).contains_f64(2.0));
    /// assert!(Interval::from_f64(0.0).powf(&Interval::from_f64(1.5)).contains_f64(0.0));
    /// ```
    pub fn powf(&self, e: &Interval) -> Interval {
        let (Ok((lo, hi, p)), Ok((elo, _, _))) = (self.parts(), e.parts()) else {
            return self + e; // propagates the first error
        };
        if lo.is_positive() {
            // exp turns the absolute error of e·ln(x) into a relative one,
            // amplified by |e·ln(x)| < 2^50 (beyond that exp overflows):
            // 64 extra bits cover it.
            let wp = p.max(e.precision()) + 64;
            let t = e.with_precision(wp) * self.with_precision(wp).ln();
            return t.exp().with_precision(p.max(e.precision()));
        }
        if !lo.is_negative() && elo.is_positive() {
            // 0 <= x <= hi and e > 0: 0 <= x^e <= hi^e <= upper(exp(e·ln hi)).
            if hi.is_zero() {
                return Interval::exact(Dyadic::zero(), p);
            }
            let top = (e * &Interval::exact(hi.clone(), p).ln()).exp();
            return match top.parts() {
                Ok((_, up, tp)) => Interval::new(Dyadic::zero(), up.clone(), tp),
                Err(err) => Interval::invalid(err.clone()),
            };
        }
        Interval::invalid(IntervalError::PowDomain {
            base: self.describe(),
            exponent: e.describe(),
        })
    }

    /// `ln(sum(e^x_i))`, computed as `m + ln(sum(e^(x_i - m)))` with `m` the
    /// largest upper endpoint (any `m` gives a rigorous enclosure; this one
    /// keeps every exponential at most 1). Invalid for an empty slice.
    ///
    /// ```
    /// use verify::Interval;
    /// let xs = [Interval::from_f64(1e4), Interval::from_f64(1e4)];
    /// let (lo, hi) = Interval::logsumexp(&xs).bounds_f64().unwrap();
    /// let want = 1e4 + std::f64::consts::LN_2;
    /// assert!(lo <= want && want <= hi);
    /// ```
    pub fn logsumexp(xs: &[Interval]) -> Interval {
        let Some(first) = xs.first() else {
            return Interval::invalid(IntervalError::EmptyInput {
                function: "logsumexp",
            });
        };
        let mut shift = first.clone();
        for x in xs {
            let Ok((_, hi, p)) = x.parts() else {
                return x.clone();
            };
            if let Ok((_, shift_hi, _)) = shift.parts() {
                if hi > shift_hi {
                    shift = Interval::exact(hi.clone(), p);
                }
            }
        }
        let (_, m, p) = shift.parts().expect("checked valid above");
        let m = Interval::exact(m.clone(), p);
        let mut sum = Interval::exact(Dyadic::zero(), p);
        for x in xs {
            sum = sum + (x - &m).exp();
        }
        m + sum.ln()
    }

    /// Encloses `f` on an increasing function from point kernels, rounded to
    /// the interval's precision.
    fn increasing(&self, kernel: fn(&Dyadic, u32) -> Result<Interval, IntervalError>) -> Interval {
        self.map(|lo, hi, p| {
            let low = kernel(lo, p)?;
            let (lo_lo, _, _) = low.parts().map_err(Clone::clone)?;
            let lo_out = lo_lo.round(p, Round::Down);
            if lo == hi {
                let (_, lo_hi, _) = low.parts().map_err(Clone::clone)?;
                return Ok(Interval::new(lo_out, lo_hi.round(p, Round::Up), p));
            }
            let high = kernel(hi, p)?;
            let (_, hi_hi, _) = high.parts().map_err(Clone::clone)?;
            Ok(Interval::new(lo_out, hi_hi.round(p, Round::Up), p))
        })
    }

    fn domain_error(&self, function: &'static str) -> Interval {
        Interval::invalid(IntervalError::LogOfNonPositive {
            function,
            argument: self.describe(),
        })
    }
}

fn bits_of(k: i64) -> u32 {
    64 - k.unsigned_abs().leading_zeros()
}

thread_local! {
    /// The most precise enclosure of ln 2 computed so far on this thread.
    static LN2: RefCell<Option<Interval>> = const { RefCell::new(None) };
}

/// ln 2 at `prec` bits, from a per-thread cache (computed at a generous
/// precision once, rounded outward on each use).
fn ln2(prec: u32) -> Interval {
    LN2.with(|cell| {
        let mut cache = cell.borrow_mut();
        if let Some(c) = cache.as_ref() {
            if c.precision() >= prec {
                return c.with_precision(prec);
            }
        }
        // Compute at a multiple of 256 bits so that small changes of the
        // requested precision reuse the cache.
        let wp = (prec + GUARD).div_ceil(256) * 256;
        let third = Interval::exact(Dyadic::one(), wp) / Interval::exact(Dyadic::from_i64(3), wp);
        // ln 2 = 2 atanh(1/3), since (1 + 1/3) / (1 - 1/3) = 2.
        let value = atanh_series(&third, wp).scale_pow2(1);
        *cache = Some(value.clone());
        value.with_precision(prec)
    })
}

/// `atanh(z) = sum_{n>=0} z^(2n+1) / (2n+1)` for `|z| <= 1/2`, to a relative
/// accuracy of about `2^-wp`.
fn atanh_series(z: &Interval, wp: u32) -> Interval {
    let zmag = z.magnitude();
    debug_assert!(zmag <= Dyadic::pow2(-1));
    if zmag.is_zero() {
        return z.clone();
    }
    let z = z.with_precision(wp);
    let z2 = &z * &z;
    let z2mag = z2.magnitude();
    let mut power = z.clone();
    let mut sum = z.clone();
    let stop = zmag.top() - i64::from(wp) - 2;
    for n in 1u32.. {
        power = &power * &z2;
        sum = sum + &power / &Interval::exact(Dyadic::from_i64(i64::from(2 * n + 1)), wp);
        // Remainder after the term of index n: for |z| <= 1/2,
        //   sum_{m>n} |z|^(2m+1)/(2m+1) <= |z|^(2n+3) / ((2n+3)(1 - z^2))
        //                               <= (4/3)/(2n+3) |z|^(2n+3) <= |z|^(2n+3),
        // and |z|^(2n+3) <= mag(power) * mag(z^2) since `power` encloses z^(2n+1).
        let rem = power.magnitude().mul_round(&z2mag, 64, Round::Up);
        if rem.top() < stop || rem.is_zero() {
            return sum.widen(&rem);
        }
    }
    unreachable!("the loop returns once the remainder is small")
}

/// `sum_{n>=0} r^n / n!` (with `first = 0`) or `sum_{n>=1} r^n / n!` (with
/// `first = 1`, i.e. `e^r - 1`) for `|r| <= 1/2`, to `2^-wp` relative to the
/// first term.
fn exp_taylor(r: &Interval, first: u32, wp: u32) -> Interval {
    let rmag = r.magnitude();
    debug_assert!(rmag <= Dyadic::pow2(-1));
    let r = r.with_precision(wp);
    let (mut term, stop) = if first == 0 {
        (Interval::exact(Dyadic::one(), wp), -i64::from(wp) - 2)
    } else {
        if rmag.is_zero() {
            return r;
        }
        (r.clone(), rmag.top() - i64::from(wp) - 2)
    };
    let mut sum = term.clone();
    for n in (first + 1).. {
        term = &term * &r / Interval::exact(Dyadic::from_i64(i64::from(n)), wp);
        sum = sum + &term;
        // Remainder after the term of index n: for |r| <= 1/2,
        //   sum_{m>n} |r|^m/m! <= |r|^(n+1)/(n+1)! * sum_j |r|^j <= 2 |r|^(n+1)/(n+1)!
        //                      <= 2 mag(term) mag(r),
        // since `term` encloses r^n/n! and 1/(n+1) <= 1.
        let rem = term.magnitude().mul_round(&rmag, 64, Round::Up).shift(1);
        if rem.top() < stop || rem.is_zero() {
            return sum.widen(&rem);
        }
    }
    unreachable!("the loop returns once the remainder is small")
}

/// Enclosure of `e^x` at about `prec` bits.
fn exp_point(x: &Dyadic, prec: u32) -> Result<Interval, IntervalError> {
    if x.is_zero() {
        return Ok(Interval::exact(Dyadic::one(), prec));
    }
    if x.top() >= EXP_LIMIT_BITS {
        if x.is_positive() {
            return Err(IntervalError::Overflow {
                function: "exp",
                argument: Interval::exact(x.clone(), prec).describe(),
            });
        }
        // x <= -2^50: 0 < e^x < 2^x (as e > 2) <= 2^(-2^50).
        return Ok(Interval::new(
            Dyadic::zero(),
            Dyadic::pow2(-(1i64 << EXP_LIMIT_BITS)),
            prec,
        ));
    }
    // x = k ln2 + r with |r| <= ln2/2 (up to the enclosure of ln 2); then
    // e^x = 2^k (e^(r/2^H))^(2^H). The product k·ln2 needs bits(k) more bits
    // to keep r accurate to 2^-wp absolutely, and the H squarings each double
    // the relative width, so they need H more.
    let k = (x.to_f64_approx() / core::f64::consts::LN_2).round() as i64;
    let wp = prec + GUARD + HALVINGS + bits_of(k);
    let xi = Interval::exact(x.clone(), wp);
    let r = if k == 0 {
        xi
    } else {
        xi - ln2(wp) * Interval::exact(Dyadic::from_i64(k), wp)
    };
    let r = r.scale_pow2(-i64::from(HALVINGS));
    let mut e = exp_taylor(&r, 0, wp);
    for _ in 0..HALVINGS {
        e = &e * &e;
    }
    Ok(e.scale_pow2(k))
}

/// Enclosure of `ln(y)` for `y > 0` at about `prec` bits.
fn ln_point(y: &Dyadic, prec: u32) -> Result<Interval, IntervalError> {
    // y = 2^b m with m in [3/4, 3/2); ln y = b ln2 + 2 atanh((m-1)/(m+1)) and
    // |(m-1)/(m+1)| <= 1/5. m - 1 is exact, so y near 1 keeps its relative
    // accuracy; b ln2 needs bits(b) more bits.
    let mut b = y.top();
    let mut m = y.shift(-b);
    if m > Dyadic::new(3.into(), -1) {
        b += 1;
        m = m.shift(-1);
    }
    let wp = prec + GUARD + bits_of(b);
    let mi = Interval::exact(m, wp);
    let one = Interval::exact(Dyadic::one(), wp);
    let z = (&mi - &one) / (&mi + &one);
    let ln_m = atanh_series(&z, wp).scale_pow2(1);
    if b == 0 {
        return Ok(ln_m);
    }
    Ok(ln_m + ln2(wp) * Interval::exact(Dyadic::from_i64(b), wp))
}

/// Enclosure of `ln(1 + x)` for `x > -1`.
fn ln_1p_point(x: &Dyadic, prec: u32) -> Result<Interval, IntervalError> {
    let wp = prec + GUARD;
    if x.is_zero() {
        return Ok(Interval::exact(Dyadic::zero(), prec));
    }
    if x.top() < -i64::from(wp) {
        // For -1/2 <= x: x - x^2 <= ln(1+x) <= x (the difference
        // ln(1+x) - x + x^2 vanishes at 0 and its derivative x(1+2x)/(1+x)
        // has the sign of x). Here |x| < 2^-wp, so the width is below
        // 2^-wp relative.
        let x2 = x.mul_round(x, wp, Round::Up);
        return Ok(Interval::new(
            x.sub_round(&x2, wp, Round::Down),
            x.clone(),
            wp,
        ));
    }
    // 1 + x is exact and ln_point computes (m-1) exactly: no cancellation.
    ln_point(&Dyadic::one().add_exact(x), prec)
}

/// Enclosure of `e^x - 1`.
fn exp_m1_point(x: &Dyadic, prec: u32) -> Result<Interval, IntervalError> {
    if x.is_zero() {
        return Ok(Interval::exact(Dyadic::zero(), prec));
    }
    if x.top() < -10 {
        // |x| < 2^-10: the series of e^x - 1 without the 1, no cancellation.
        return Ok(exp_taylor(
            &Interval::exact(x.clone(), prec),
            1,
            prec + GUARD,
        ));
    }
    // |x| >= 2^-10: |e^x - 1| >= 2^-11, so subtracting 1 loses at most 11
    // bits, which the extra bits of the exponential cover.
    let e = exp_point(x, prec + 12)?;
    Ok(e - Interval::exact(Dyadic::one(), prec + 12))
}

/// Enclosure of `1 / (1 + e^-x)`; the exponential never exceeds 1.
fn sigmoid_point(x: &Dyadic, prec: u32) -> Result<Interval, IntervalError> {
    let wp = prec + 8;
    let one = Interval::exact(Dyadic::one(), wp);
    if x.is_negative() {
        let e = exp_point(x, wp)?;
        Ok(&e / (&one + &e))
    } else {
        let e = exp_point(&x.neg(), wp)?;
        Ok(&one / (&one + e))
    }
}

/// Enclosure of `ln(1 + e^x) = max(x, 0) + ln_1p(e^-|x|)`.
fn softplus_point(x: &Dyadic, prec: u32) -> Result<Interval, IntervalError> {
    let wp = prec + 8;
    let e = exp_point(&x.abs().neg(), wp)?;
    let tail = e.with_precision(wp).ln_1p();
    if x.is_positive() {
        Ok(Interval::exact(x.clone(), wp) + tail)
    } else {
        Ok(tail)
    }
}

/// Enclosure of `tanh(x) = -expm1(-2x) / (2 + expm1(-2x))` for `x >= 0`
/// (no overflow, no cancellation), and by oddness for `x < 0`.
fn tanh_point(x: &Dyadic, prec: u32) -> Result<Interval, IntervalError> {
    if x.is_negative() {
        return Ok(-tanh_point(&x.neg(), prec)?);
    }
    let wp = prec + 8;
    let t = exp_m1_point(&x.shift(1).neg(), wp)?;
    let two = Interval::exact(Dyadic::from_i64(2), wp);
    Ok(-(&t / (two + &t)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln2_matches_its_digits() {
        // ln 2 = 0.693147180559945309417232121458176568075500134360255254120680...
        let digits = "0.6931471805599453094172321214581765680755001343602552541206800";
        let lo = num_rational::BigRational::new(
            digits[2..].parse().unwrap(),
            num_bigint::BigInt::from(10).pow((digits.len() - 2) as u32),
        );
        let l = ln2(200);
        // The printed digits are truncated, so the true value is in [lo, lo + 1e-61].
        let (a, b) = l.bounds().unwrap();
        let ulp = num_rational::BigRational::new(1.into(), num_bigint::BigInt::from(10).pow(61u32));
        assert!(a <= &lo + &ulp && lo <= b);
        assert!(l.relative_width() < 1e-59);
    }

    #[test]
    fn identities_hold_on_enclosures() {
        for x in [-700.5, -3.25, -1e-9, 0.125, 1.0, 20.0, 650.0] {
            let xi = Interval::from_f64_with_precision(x, 150);
            // ln(exp(x)) contains x; exp_m1 = exp - 1; tanh(x) = 2 sigmoid(2x) - 1.
            assert!(xi.exp().ln().contains_f64(x));
            let one = Interval::from_f64(1.0);
            let d = xi.exp_m1() - (xi.exp() - &one);
            assert!(d.contains_f64(0.0));
            let t = xi.tanh()
                - ((xi.clone() * Interval::from_f64(2.0)).sigmoid() * Interval::from_f64(2.0)
                    - &one);
            assert!(t.contains_f64(0.0));
            // softplus(x) - softplus(-x) = x.
            assert!((xi.softplus() - (-&xi).softplus()).contains_f64(x));
        }
    }

    #[test]
    fn interval_arguments_cover_the_whole_range() {
        let x = Interval::from_bounds(
            &num_rational::BigRational::from_integer((-1).into()),
            &num_rational::BigRational::from_integer(2.into()),
            64,
        );
        let e = x.exp();
        let (lo, hi) = e.bounds_f64().unwrap();
        assert!(lo <= (-1f64).exp() && 2f64.exp() <= hi);
        assert!(x.tanh().contains_f64(0.5f64.tanh()));
    }

    #[test]
    fn huge_arguments_give_errors_or_tiny_enclosures() {
        let big = Interval::from_f64(1e300);
        assert!(matches!(
            big.exp().error(),
            Some(IntervalError::Overflow { .. })
        ));
        let tiny = (-big).exp();
        assert!(tiny.contains_f64(0.0) && !tiny.contains_f64(5e-324));
        assert!(Interval::from_f64(-1.0).ln_1p().error().is_some());
        assert!(Interval::from_f64(-0.5).sqrt().error().is_some());
        assert!(Interval::from_f64(-0.5)
            .powf(&Interval::from_f64(2.0))
            .error()
            .is_some());
        assert!(Interval::logsumexp(&[]).error().is_some());
    }
}
