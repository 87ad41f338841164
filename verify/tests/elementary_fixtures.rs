//! Enclosures contain mpmath's reference values (tests/fixtures/elementary.txt,
//! made by tests/fixtures/make_fixtures.py), are narrow, and narrow further as
//! the precision grows.

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{Signed, Zero};
use verify::Interval;

const FIXTURES: &str = include_str!("fixtures/elementary.txt");

/// The fixture values carry 90 significant digits.
fn slack() -> BigRational {
    BigRational::new(BigInt::from(1), BigInt::from(10).pow(85u32))
}

/// An exact rational from a decimal such as `-1.25e-300` or `0.0`.
fn parse_decimal(s: &str) -> BigRational {
    let (mant, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], s[i + 1..].parse::<i32>().unwrap()),
        None => (s, 0),
    };
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    let digits: BigInt = format!("{int}{frac}").parse().unwrap();
    let exp = exp - frac.len() as i32;
    let ten = BigInt::from(10);
    if exp >= 0 {
        BigRational::from_integer(digits * ten.pow(exp as u32))
    } else {
        BigRational::new(digits, ten.pow((-exp) as u32))
    }
}

struct Case {
    function: String,
    args: Vec<f64>,
    value: BigRational,
}

fn cases() -> Vec<Case> {
    FIXTURES
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let mut parts = l.split_whitespace();
            let function = parts.next().unwrap().to_string();
            let args = parts
                .next()
                .unwrap()
                .split(',')
                .map(|a| a.parse().unwrap())
                .collect();
            let value = parse_decimal(parts.next().unwrap());
            Case {
                function,
                args,
                value,
            }
        })
        .collect()
}

fn evaluate(case: &Case, precision: u32) -> Interval {
    let xs: Vec<Interval> = case
        .args
        .iter()
        .map(|&a| Interval::from_f64_with_precision(a, precision))
        .collect();
    match case.function.as_str() {
        "exp" => xs[0].exp(),
        "ln" => xs[0].ln(),
        "ln_1p" => xs[0].ln_1p(),
        "exp_m1" => xs[0].exp_m1(),
        "sqrt" => xs[0].sqrt(),
        "sigmoid" => xs[0].sigmoid(),
        "softplus" => xs[0].softplus(),
        "tanh" => xs[0].tanh(),
        "powf" => xs[0].powf(&xs[1]),
        "logsumexp" => Interval::logsumexp(&xs),
        other => panic!("fixture names an unknown function {other}"),
    }
}

/// `value` lies in the enclosure up to the fixture's own rounding.
fn contains_reference(enclosure: &Interval, value: &BigRational) -> bool {
    let (lo, hi) = enclosure.bounds().unwrap();
    let slack = value.abs() * slack();
    &lo - &slack <= *value && *value <= &hi + &slack
}

/// The width relative to the reference value (exact zero counts as 0).
fn relative_width(enclosure: &Interval, value: &BigRational) -> f64 {
    let w = enclosure.width().unwrap();
    if value.is_zero() {
        return if w.is_zero() { 0.0 } else { f64::INFINITY };
    }
    let r = w / value.abs();
    // f64 of a rational: via its decimal digits is enough for a bound check.
    let n: f64 = r.numer().to_string().parse().unwrap();
    let d: f64 = r.denom().to_string().parse().unwrap();
    if d.is_infinite() {
        // Extremely small: scale both down.
        let shift = r.denom().bits().saturating_sub(900);
        let n = (r.numer() >> shift).to_string().parse::<f64>().unwrap();
        let d = (r.denom() >> shift).to_string().parse::<f64>().unwrap();
        return n / d;
    }
    n / d
}

#[test]
fn fixtures_cover_the_extremes() {
    let cs = cases();
    assert!(cs.len() > 90);
    let has = |f: &str, x: f64| cs.iter().any(|c| c.function == f && c.args == [x]);
    assert!(has("exp", -745.0) && has("exp", 709.0));
    assert!(has("ln", 1e-300) && has("ln", 1e300));
    assert!(has("ln_1p", 1e-20) && has("exp_m1", 1e-20));
    assert!(has("sigmoid", 1e4) && has("sigmoid", -1e4));
    assert!(has("softplus", 1e4) && has("softplus", -1e4));
}

#[test]
fn enclosures_contain_mpmath_values_and_are_narrow() {
    for precision in [53u32, 64, 128, 200, 256] {
        for case in cases() {
            let e = evaluate(&case, precision);
            assert!(
                e.is_valid(),
                "{} {:?} at {precision} bits: {e}",
                case.function,
                case.args
            );
            assert!(
                contains_reference(&e, &case.value),
                "{} {:?} at {precision} bits: {e} misses the reference",
                case.function,
                case.args
            );
            // A few ulps of the target precision, at most.
            let rw = relative_width(&e, &case.value);
            assert!(
                rw <= 2f64.powi(4 - precision as i32),
                "{} {:?} at {precision} bits: relative width {rw:e}",
                case.function,
                case.args
            );
        }
    }
}

#[test]
fn widths_shrink_as_the_precision_grows() {
    for case in cases() {
        let mut last = f64::INFINITY;
        for precision in [32u32, 64, 128, 256, 512] {
            let w = relative_width(&evaluate(&case, precision), &case.value);
            // Exact results (sqrt of 0.25, ln 1, ...) have width zero at every precision.
            assert!(
                w == 0.0 || w < last * 2f64.powi(-20),
                "{} {:?}: {w:e} after {last:e}",
                case.function,
                case.args
            );
            last = w;
        }
    }
}
