//! Forward-mode dual numbers with a vector of partial derivatives.

use core::cmp::Ordering;
use core::ops::{Add, Div, Mul, Neg, Sub};

use loss_core::Real;

/// A value and its partial derivatives with respect to a set of inputs:
/// `value + sum_i partials[i] · ε_i` with `ε_i ε_j = 0`.
///
/// All partials travel in one pass (vector forward mode), so one evaluation
/// of a function of `n` inputs gives its whole gradient. Partials beyond the
/// stored length are zero: constants carry none and input `i` carries `i + 1`,
/// which keeps early partial sums short.
///
/// Generic over the scalar: `Dual<f64>` for plain forward-mode derivatives,
/// `Dual<Interval>` for rigorous enclosures of exact partial derivatives.
/// `loss_core::Real` is implemented for `Dual<T>` when `T: Real + PartialOrd`
/// (the order is needed for the derivatives of `max`, `min` and `abs`).
///
/// At a tie of `max`/`min` the derivative of the first argument is taken; at
/// `abs(0)` the derivative is 0 (PyTorch's convention). When the order cannot
/// be decided (overlapping intervals), the partials become
/// `T::from_f64(NaN)`: NaN for floats, an invalid interval for intervals.
///
/// ```
/// use verify::{Dual, Interval};
/// use loss_core::Real;
/// // d/dx (x · e^x) at x = 1 is 2e.
/// let x = Dual::variable(1.0_f64, 0);
/// let y = x.clone() * x.exp();
/// assert!((y.partial(0) - 2.0 * std::f64::consts::E).abs() < 1e-15);
/// // The same in intervals encloses 2e rigorously.
/// let x = Dual::variable(Interval::from_f64(1.0), 0);
/// let y = x.clone() * x.exp();
/// let (lo, hi) = y.partial(0).bounds_f64().unwrap();
/// assert!(lo <= 2.0 * std::f64::consts::E + 1e-15 && 2.0 * std::f64::consts::E - 1e-15 <= hi);
/// ```
#[derive(Clone, Debug)]
pub struct Dual<T> {
    value: T,
    partials: Vec<T>,
}

impl<T: Real> Dual<T> {
    /// A constant: all partials zero.
    ///
    /// ```
    /// use verify::Dual;
    /// assert_eq!(Dual::constant(3.0_f64).partial(5), 0.0);
    /// ```
    pub fn constant(value: T) -> Dual<T> {
        Dual {
            value,
            partials: Vec::new(),
        }
    }

    /// Input number `index`: partial 1 with respect to itself, 0 otherwise.
    ///
    /// ```
    /// use verify::Dual;
    /// let x = Dual::variable(2.0_f64, 1);
    /// assert_eq!((x.partial(0), x.partial(1)), (0.0, 1.0));
    /// ```
    pub fn variable(value: T, index: usize) -> Dual<T> {
        let mut partials = vec![T::from_f64(0.0); index + 1];
        partials[index] = T::from_f64(1.0);
        Dual { value, partials }
    }

    /// Inputs `0..n` from their values, ready for a gradient in one pass.
    ///
    /// ```
    /// use verify::Dual;
    /// let x = Dual::variables([1.0_f64, 2.0]);
    /// let y = x[0].clone() * x[1].clone();
    /// assert_eq!(y.gradient(2), vec![2.0, 1.0]);
    /// ```
    pub fn variables(values: impl IntoIterator<Item = T>) -> Vec<Dual<T>> {
        values
            .into_iter()
            .enumerate()
            .map(|(i, v)| Dual::variable(v, i))
            .collect()
    }

    /// A value with the given partials.
    ///
    /// ```
    /// use verify::Dual;
    /// let d = Dual::new(1.0_f64, vec![0.5, 2.0]);
    /// assert_eq!(d.partial(1), 2.0);
    /// ```
    pub fn new(value: T, partials: Vec<T>) -> Dual<T> {
        Dual { value, partials }
    }

    /// The value.
    ///
    /// ```
    /// use verify::Dual;
    /// assert_eq!(*Dual::constant(4.0_f64).value(), 4.0);
    /// ```
    pub fn value(&self) -> &T {
        &self.value
    }

    /// The stored partials (those beyond are zero).
    ///
    /// ```
    /// use verify::Dual;
    /// assert_eq!(Dual::variable(4.0_f64, 2).partials().len(), 3);
    /// ```
    pub fn partials(&self) -> &[T] {
        &self.partials
    }

    /// The partial derivative with respect to input `index`.
    ///
    /// ```
    /// use verify::Dual;
    /// use loss_core::Real;
    /// let x = Dual::variable(0.0_f64, 0);
    /// assert_eq!(x.sigmoid().partial(0), 0.25);
    /// ```
    pub fn partial(&self, index: usize) -> T {
        self.partials
            .get(index)
            .cloned()
            .unwrap_or_else(|| T::from_f64(0.0))
    }

    /// The first `n` partials (the gradient with respect to inputs `0..n`).
    ///
    /// ```
    /// use verify::Dual;
    /// assert_eq!(Dual::variable(1.0_f64, 0).gradient(3), vec![1.0, 0.0, 0.0]);
    /// ```
    pub fn gradient(&self, n: usize) -> Vec<T> {
        (0..n).map(|i| self.partial(i)).collect()
    }

    /// The value and the stored partials.
    ///
    /// ```
    /// use verify::Dual;
    /// let (v, d) = Dual::variable(1.5_f64, 0).into_parts();
    /// assert_eq!((v, d), (1.5, vec![1.0]));
    /// ```
    pub fn into_parts(self) -> (T, Vec<T>) {
        (self.value, self.partials)
    }

    /// The chain rule for a unary function with derivative `slope` at the value.
    fn chain(value: T, partials: &[T], slope: T) -> Dual<T> {
        Dual {
            value,
            partials: partials.iter().map(|d| d.clone() * slope.clone()).collect(),
        }
    }

    /// Every partial undefined (NaN for floats, invalid for intervals).
    fn undefined_partials(value: T, a: &[T], b: &[T]) -> Dual<T> {
        let n = a.len().max(b.len());
        Dual {
            value,
            partials: vec![T::from_f64(f64::NAN); n],
        }
    }
}

/// `a + b` over partials of different lengths (missing entries are zero).
fn zip_add<T: Real>(a: &[T], b: &[T]) -> Vec<T> {
    let (long, short) = if a.len() >= b.len() { (a, b) } else { (b, a) };
    let mut out = long.to_vec();
    for (o, s) in out.iter_mut().zip(short) {
        *o = o.clone() + s.clone();
    }
    out
}

/// `sa · a + sb · b` over partials of different lengths.
fn zip_combine<T: Real>(sa: &T, a: &[T], sb: &T, b: &[T]) -> Vec<T> {
    let n = a.len().max(b.len());
    (0..n)
        .map(|i| match (a.get(i), b.get(i)) {
            (Some(x), Some(y)) => sa.clone() * x.clone() + sb.clone() * y.clone(),
            (Some(x), None) => sa.clone() * x.clone(),
            (None, Some(y)) => sb.clone() * y.clone(),
            (None, None) => unreachable!("i < max length"),
        })
        .collect()
}

impl<T: Real> Add for Dual<T> {
    type Output = Dual<T>;
    fn add(self, rhs: Dual<T>) -> Dual<T> {
        Dual {
            partials: zip_add(&self.partials, &rhs.partials),
            value: self.value + rhs.value,
        }
    }
}

impl<T: Real> Sub for Dual<T> {
    type Output = Dual<T>;
    fn sub(self, rhs: Dual<T>) -> Dual<T> {
        self + (-rhs)
    }
}

impl<T: Real> Neg for Dual<T> {
    type Output = Dual<T>;
    fn neg(self) -> Dual<T> {
        Dual {
            value: -self.value,
            partials: self.partials.into_iter().map(|d| -d).collect(),
        }
    }
}

impl<T: Real> Mul for Dual<T> {
    type Output = Dual<T>;
    fn mul(self, rhs: Dual<T>) -> Dual<T> {
        // d(ab) = b da + a db
        let partials = zip_combine(&rhs.value, &self.partials, &self.value, &rhs.partials);
        Dual {
            value: self.value * rhs.value,
            partials,
        }
    }
}

impl<T: Real> Div for Dual<T> {
    type Output = Dual<T>;
    fn div(self, rhs: Dual<T>) -> Dual<T> {
        // d(a/b) = da/b - (a/b) db/b = (1/b) da + (-(a/b)/b) db
        let q = self.value.clone() / rhs.value.clone();
        let inv = T::from_f64(1.0) / rhs.value.clone();
        let slope_b = -(q.clone() / rhs.value);
        Dual {
            partials: zip_combine(&inv, &self.partials, &slope_b, &rhs.partials),
            value: q,
        }
    }
}

impl<T: Real + PartialOrd> Real for Dual<T> {
    fn from_f64(x: f64) -> Dual<T> {
        Dual::constant(T::from_f64(x))
    }
    fn detached(self) -> Dual<T> {
        Dual::constant(self.value)
    }
    fn compare(&self, other: &Dual<T>) -> Option<core::cmp::Ordering> {
        self.value.compare(&other.value)
    }
    fn exp(self) -> Dual<T> {
        let e = self.value.exp();
        Dual::chain(e.clone(), &self.partials, e)
    }
    fn ln(self) -> Dual<T> {
        let slope = T::from_f64(1.0) / self.value.clone();
        Dual::chain(self.value.ln(), &self.partials, slope)
    }
    fn ln_1p(self) -> Dual<T> {
        let slope = T::from_f64(1.0) / (T::from_f64(1.0) + self.value.clone());
        Dual::chain(self.value.ln_1p(), &self.partials, slope)
    }
    fn exp_m1(self) -> Dual<T> {
        let slope = self.value.clone().exp();
        Dual::chain(self.value.exp_m1(), &self.partials, slope)
    }
    fn sqrt(self) -> Dual<T> {
        let r = self.value.sqrt();
        let slope = T::from_f64(0.5) / r.clone();
        Dual::chain(r, &self.partials, slope)
    }
    fn abs(self) -> Dual<T> {
        let slope = match self.value.partial_cmp(&T::from_f64(0.0)) {
            Some(Ordering::Greater) => T::from_f64(1.0),
            Some(Ordering::Less) => T::from_f64(-1.0),
            Some(Ordering::Equal) => T::from_f64(0.0),
            None => return Dual::undefined_partials(self.value.abs(), &self.partials, &[]),
        };
        Dual::chain(self.value.abs(), &self.partials, slope)
    }
    fn tanh(self) -> Dual<T> {
        let t = self.value.tanh();
        let slope = T::from_f64(1.0) - t.clone() * t.clone();
        Dual::chain(t, &self.partials, slope)
    }
    fn sigmoid(self) -> Dual<T> {
        let s = self.value.sigmoid();
        let slope = s.clone() * (T::from_f64(1.0) - s.clone());
        Dual::chain(s, &self.partials, slope)
    }
    fn softplus(self) -> Dual<T> {
        let slope = self.value.clone().sigmoid();
        Dual::chain(self.value.softplus(), &self.partials, slope)
    }
    fn powi(self, n: i32) -> Dual<T> {
        if n == 0 {
            return Dual::constant(T::from_f64(1.0));
        }
        let slope = T::from_f64(f64::from(n)) * self.value.clone().powi(n - 1);
        Dual::chain(self.value.powi(n), &self.partials, slope)
    }
    fn powf(self, e: Dual<T>) -> Dual<T> {
        // d(a^b) = b a^(b-1) da + a^b ln(a) db; the second term only when b
        // varies, so that a constant exponent allows a = 0.
        let v = self.value.clone().powf(e.value.clone());
        let slope_a = e.value.clone() * self.value.clone().powf(e.value.clone() - T::from_f64(1.0));
        if e.partials.is_empty() {
            return Dual::chain(v, &self.partials, slope_a);
        }
        let slope_e = v.clone() * self.value.ln();
        Dual {
            partials: zip_combine(&slope_a, &self.partials, &slope_e, &e.partials),
            value: v,
        }
    }
    fn max(self, other: Dual<T>) -> Dual<T> {
        match self.value.partial_cmp(&other.value) {
            Some(Ordering::Greater | Ordering::Equal) => self,
            Some(Ordering::Less) => other,
            None if self.partials.is_empty() && other.partials.is_empty() => {
                Dual::constant(self.value.max(other.value))
            }
            None => Dual::undefined_partials(
                self.value.max(other.value),
                &self.partials,
                &other.partials,
            ),
        }
    }
    fn min(self, other: Dual<T>) -> Dual<T> {
        match self.value.partial_cmp(&other.value) {
            Some(Ordering::Less | Ordering::Equal) => self,
            Some(Ordering::Greater) => other,
            None if self.partials.is_empty() && other.partials.is_empty() => {
                Dual::constant(self.value.min(other.value))
            }
            None => Dual::undefined_partials(
                self.value.min(other.value),
                &self.partials,
                &other.partials,
            ),
        }
    }
    fn xlogy(self, y: Dual<T>) -> Dual<T> {
        // d(x ln y) = ln(y) dx + (x/y) dy, with the 0·ln 0 = 0 convention: an
        // exact zero x contributes nothing through y.
        let x_is_zero = self.value.partial_cmp(&T::from_f64(0.0)) == Some(Ordering::Equal);
        let value = self.value.clone().xlogy(y.value.clone());
        let slope_y = if x_is_zero {
            T::from_f64(0.0)
        } else {
            self.value.clone() / y.value.clone()
        };
        if self.partials.is_empty() {
            return Dual::chain(value, &y.partials, slope_y);
        }
        let slope_x = y.value.ln();
        Dual {
            partials: zip_combine(&slope_x, &self.partials, &slope_y, &y.partials),
            value,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Interval;

    /// d/dx f against a central difference in f64, for each unary function.
    #[test]
    fn unary_derivatives_match_difference_quotients() {
        type F = fn(Dual<f64>) -> Dual<f64>;
        let cases: [(&str, F, f64); 10] = [
            ("exp", |x| x.exp(), 0.7),
            ("ln", |x| x.ln(), 2.5),
            ("ln_1p", |x| x.ln_1p(), 0.3),
            ("exp_m1", |x| x.exp_m1(), -0.4),
            ("sqrt", |x| x.sqrt(), 3.0),
            ("tanh", |x| x.tanh(), 0.6),
            ("sigmoid", |x| x.sigmoid(), -1.2),
            ("softplus", |x| x.softplus(), 1.7),
            ("powi", |x| x.powi(-3), 1.3),
            ("powf", |x| x.clone().powf(x), 1.4),
        ];
        for (name, f, x) in cases {
            let d = f(Dual::variable(x, 0)).partial(0);
            let h = 1e-5;
            let fd = (f(Dual::constant(x + h)).value - f(Dual::constant(x - h)).value) / (2.0 * h);
            assert!(
                (d - fd).abs() <= 1e-8 * d.abs().max(1.0),
                "{name}: {d} vs {fd}"
            );
        }
    }

    #[test]
    fn interval_partials_enclose_the_known_derivative() {
        // f(x, y) = x / y + ln(x y): df/dx = 1/y + 1/x, df/dy = -x/y^2 + 1/y.
        let v = Dual::variables([Interval::from_f64(2.0), Interval::from_f64(0.5)]);
        let f = v[0].clone() / v[1].clone() + (v[0].clone() * v[1].clone()).ln();
        assert!(f.partial(0).contains_f64(2.5));
        assert!(f.partial(1).contains_f64(-6.0));
        assert!(f.partial(0).relative_width() < 1e-35);
    }

    #[test]
    fn kinks_follow_the_documented_conventions() {
        let x = Dual::variable(Interval::from_f64(0.0), 0);
        assert!(x.clone().abs().partial(0).contains_f64(0.0));
        let y = Dual::variable(Interval::from_f64(0.0), 1);
        // A tie of max takes the first argument's derivative.
        let m = x.clone().max(y.clone());
        assert!(m.partial(0).contains_f64(1.0) && m.partial(1).contains_f64(0.0));
        // Overlapping enclosures: the derivative is undefined, not guessed.
        let third = Interval::from_f64(1.0) / Interval::from_f64(3.0);
        let a = Dual::variable(third.clone(), 0);
        let b = Dual::variable(third, 1);
        assert!(a.max(b).partial(0).error().is_some());
        // xlogy at an exact zero x: value 0, no derivative through y.
        let z = Dual::constant(Interval::from_f64(0.0))
            .xlogy(Dual::variable(Interval::from_f64(0.0), 0));
        assert!(z.value().contains_f64(0.0) && z.partial(0).contains_f64(0.0));
    }
}
