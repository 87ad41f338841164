//! Distances between a fast floating-point result and an exact enclosure, in
//! units in the last place (ULPs) of the fast type.

use crate::dyadic::{Dyadic, Round};
use crate::{Interval, IntervalError};

/// The floating-point types of the fast path (`f32`, `f64`), with the format
/// parameters needed to measure ULPs.
///
/// ```
/// use verify::FastFloat;
/// assert_eq!(<f32 as FastFloat>::MANTISSA_DIGITS, 24);
/// assert_eq!(<f64 as FastFloat>::NAME, "f64");
/// ```
pub trait FastFloat: loss_core::Float {
    /// Significant bits, including the implicit one (24 for `f32`, 53 for `f64`).
    const MANTISSA_DIGITS: u32;
    /// One more than the exponent of the smallest normal number (Rust's
    /// `MIN_EXP`: `-125` for `f32`, `-1021` for `f64`).
    const MIN_EXP: i32;
    /// One more than the exponent of the largest finite number (`MAX_EXP`).
    const MAX_EXP: i32;
    /// The type's name, for reports.
    const NAME: &'static str;
}

impl FastFloat for f32 {
    const MANTISSA_DIGITS: u32 = f32::MANTISSA_DIGITS;
    const MIN_EXP: i32 = f32::MIN_EXP;
    const MAX_EXP: i32 = f32::MAX_EXP;
    const NAME: &'static str = "f32";
}

impl FastFloat for f64 {
    const MANTISSA_DIGITS: u32 = f64::MANTISSA_DIGITS;
    const MIN_EXP: i32 = f64::MIN_EXP;
    const MAX_EXP: i32 = f64::MAX_EXP;
    const NAME: &'static str = "f64";
}

/// The exponent of `ulp(x)` in format `F`: `2^(e - p + 1)` for
/// `2^e <= |x| < 2^(e+1)`, with `e` clamped to the normal range (so the
/// subnormal spacing below it and the top binade's spacing above it).
fn ulp_exponent<F: FastFloat>(x: &Dyadic) -> i64 {
    let min_e = i64::from(F::MIN_EXP) - 1;
    let max_e = i64::from(F::MAX_EXP) - 1;
    let e = if x.is_zero() {
        min_e
    } else {
        x.top().clamp(min_e, max_e)
    };
    e - i64::from(F::MANTISSA_DIGITS) + 1
}

/// How far `got` lies outside the enclosure `exact`, in ULPs of `F`:
/// `|got - x| / ulp(x)` where `x` is the point of the enclosure nearest to
/// `got` (0 inside the enclosure, infinite for NaN or infinite `got`),
/// rounded up.
///
/// A correctly rounded result has a distance of at most 0.5 from any
/// enclosure of its true value; a faithful one (like a good `exp`) below 1.
///
/// ```
/// use verify::{distance_in_ulps, Interval};
/// let third = Interval::from_f64(1.0) / Interval::from_f64(3.0);
/// assert!(distance_in_ulps(1.0_f64 / 3.0, &third).unwrap() <= 0.5);
/// let d = distance_in_ulps(1.0_f32 / 3.0 + f32::EPSILON, &third).unwrap();
/// assert!(d > 4.0 && d < 5.0); // 4 ulps added to a result 1/3 ulp off
/// ```
pub fn distance_in_ulps<F: FastFloat>(got: F, exact: &Interval) -> Result<f64, IntervalError> {
    let (lo, hi, _) = exact.parts().map_err(Clone::clone)?;
    let Some(g) = Dyadic::from_f64(got.to_f64()) else {
        return Ok(f64::INFINITY);
    };
    let nearest = if &g < lo {
        lo
    } else if &g > hi {
        hi
    } else {
        return Ok(0.0);
    };
    let diff = g.sub_exact(nearest).abs();
    Ok(diff.shift(-ulp_exponent::<F>(nearest)).to_f64(Round::Up))
}

/// The width of the enclosure in ULPs of `F` at its endpoint of smaller
/// magnitude, rounded up: how finely the enclosure can resolve an `F` result.
///
/// ```
/// use verify::{width_in_ulps, Interval};
/// let x = Interval::from_f64_with_precision(0.1, 64).exp();
/// // 64 bits resolve an f64 result to about 2^-11 of its ulp.
/// assert!(width_in_ulps::<f64>(&x).unwrap() < 1e-2);
/// ```
pub fn width_in_ulps<F: FastFloat>(exact: &Interval) -> Result<f64, IntervalError> {
    let (lo, hi, _) = exact.parts().map_err(Clone::clone)?;
    let small = if lo.abs() <= hi.abs() { lo } else { hi };
    let small = if lo.sign() != hi.sign() {
        Dyadic::zero()
    } else {
        small.clone()
    };
    let width = hi.sub_exact(lo);
    Ok(width.shift(-ulp_exponent::<F>(&small)).to_f64(Round::Up))
}

/// Bounds on how far `got` is from the true value enclosed by `exact`: the
/// distance to the nearest point of the enclosure (a lower bound) and to its
/// farthest endpoint (an upper bound), in ULPs of `F` and absolutely, each
/// rounded up.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Distances {
    pub(crate) near_ulps: f64,
    pub(crate) far_ulps: f64,
    pub(crate) near_abs: f64,
    pub(crate) far_abs: f64,
}

pub(crate) fn distances<F: FastFloat>(
    got: f64,
    exact: &Interval,
) -> Result<Distances, IntervalError> {
    let (lo, hi, _) = exact.parts().map_err(Clone::clone)?;
    let Some(g) = Dyadic::from_f64(got) else {
        let inf = f64::INFINITY;
        return Ok(Distances {
            near_ulps: inf,
            far_ulps: inf,
            near_abs: inf,
            far_abs: inf,
        });
    };
    let measure = |end: &Dyadic| {
        let diff = g.sub_exact(end).abs();
        (
            diff.shift(-ulp_exponent::<F>(end)).to_f64(Round::Up),
            diff.to_f64(Round::Up),
        )
    };
    let (to_lo, to_hi) = (measure(lo), measure(hi));
    let far = if g.sub_exact(lo).abs() >= g.sub_exact(hi).abs() {
        to_lo
    } else {
        to_hi
    };
    let near = if &g < lo {
        to_lo
    } else if &g > hi {
        to_hi
    } else {
        (0.0, 0.0)
    };
    Ok(Distances {
        near_ulps: near.0,
        far_ulps: far.0,
        near_abs: near.1,
        far_abs: far.1,
    })
}

/// The smallest absolute value in the enclosure, rounded down.
pub(crate) fn mignitude(exact: &Interval) -> f64 {
    match exact.parts() {
        Ok((lo, hi, _)) if lo.sign() == hi.sign() => lo.abs().min(hi.abs()).to_f64(Round::Down),
        _ => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbours_are_one_ulp_apart() {
        for x in [
            1.0_f64,
            1.5,
            1e-300,
            3e300,
            -7.25,
            5e-324,
            2.2250738585072014e-308,
        ] {
            let exact = Interval::from_f64(x);
            let up = f64::from_bits(x.to_bits() + 1);
            assert_eq!(distance_in_ulps(x, &exact).unwrap(), 0.0);
            assert_eq!(distance_in_ulps(up, &exact).unwrap(), 1.0, "{x}");
        }
        let x = 1.0_f32;
        let exact = Interval::from_f64(1.0);
        assert_eq!(
            distance_in_ulps(f32::from_bits(x.to_bits() + 3), &exact).unwrap(),
            3.0
        );
        assert_eq!(distance_in_ulps(f64::NAN, &exact).unwrap(), f64::INFINITY);
    }
}
