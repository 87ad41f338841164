//! Decimal text of dyadic endpoints, rounded outward so that the printed
//! interval still contains the true value.

use num_bigint::BigInt;
use num_integer::Integer;
use num_traits::{Pow, Signed, Zero};

use crate::dyadic::{Dyadic, Round};

/// `x` with `digits` significant decimal digits, rounded in direction `dir`,
/// as `d.ddde±k`.
pub(crate) fn to_decimal(x: &Dyadic, digits: u32, dir: Round) -> String {
    if x.is_zero() {
        return "0".to_string();
    }
    let digits = digits.max(1);
    let (mant, exp) = parts(x);
    // First guess of floor(log10 |x|); corrected by at most a step or two.
    let mut k = ((x.top() as f64) * core::f64::consts::LOG10_2).floor() as i64;
    let low = BigInt::from(10u32).pow(digits - 1);
    let high = &low * 10u32;
    loop {
        let d = scaled(&mant, exp, i64::from(digits) - 1 - k, dir);
        let a = d.abs();
        if a >= high {
            k += 1;
        } else if a < low && !a.is_zero() {
            k -= 1;
        } else {
            let s = a.to_string();
            let sign = if d.is_negative() { "-" } else { "" };
            let (first, rest) = s.split_at(1);
            return if rest.is_empty() {
                format!("{sign}{first}e{k}")
            } else {
                format!("{sign}{first}.{rest}e{k}")
            };
        }
    }
}

fn parts(x: &Dyadic) -> (BigInt, i64) {
    // Recover mantissa and exponent through the exact rational form.
    let r = x.to_rational();
    let denom_bits = r.denom().bits() as i64 - 1;
    if denom_bits > 0 {
        (r.numer().clone(), -denom_bits)
    } else {
        (r.numer().clone(), 0)
    }
}

/// `mant · 2^exp · 10^j`, rounded to an integer in direction `dir`.
fn scaled(mant: &BigInt, exp: i64, j: i64, dir: Round) -> BigInt {
    let ten = BigInt::from(10u32);
    let mut num = mant.clone();
    let mut den = BigInt::from(1u32);
    if j >= 0 {
        num *= ten.pow(j as u64);
    } else {
        den *= ten.pow((-j) as u64);
    }
    if exp >= 0 {
        num <<= exp as u64;
    } else {
        den <<= (-exp) as u64;
    }
    match dir {
        Round::Down => num.div_floor(&den),
        Round::Up => -((-num).div_floor(&den)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_outward_roundings() {
        let third_lo = Dyadic::one().div_round(&Dyadic::from_i64(3), 80, Round::Down);
        assert_eq!(to_decimal(&third_lo, 5, Round::Down), "3.3333e-1");
        assert_eq!(to_decimal(&third_lo, 5, Round::Up), "3.3334e-1");
        assert_eq!(
            to_decimal(&Dyadic::from_i64(-1000), 3, Round::Down),
            "-1.00e3"
        );
        // The f64 nearest 1e-300 is 1.00000000000000002506e-300.
        let x = Dyadic::from_f64(1e-300).unwrap();
        assert_eq!(to_decimal(&x, 4, Round::Down), "1.000e-300");
        assert_eq!(to_decimal(&x, 4, Round::Up), "1.001e-300");
        assert_eq!(
            to_decimal(&Dyadic::from_f64(0.999_999).unwrap(), 3, Round::Up),
            "1.00e0"
        );
    }
}
