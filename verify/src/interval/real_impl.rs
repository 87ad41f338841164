//! `loss_core::Real` for [`Interval`]: reference code runs in exact arithmetic.

use loss_core::Real;

use super::Interval;

impl Real for Interval {
    fn compare(&self, other: &Interval) -> Option<core::cmp::Ordering> {
        Interval::compare(self, other)
    }
    fn from_f64(x: f64) -> Interval {
        Interval::from_f64(x)
    }
    fn exp(self) -> Interval {
        Interval::exp(&self)
    }
    fn ln(self) -> Interval {
        Interval::ln(&self)
    }
    fn ln_1p(self) -> Interval {
        Interval::ln_1p(&self)
    }
    fn exp_m1(self) -> Interval {
        Interval::exp_m1(&self)
    }
    fn sqrt(self) -> Interval {
        Interval::sqrt(&self)
    }
    fn abs(self) -> Interval {
        Interval::abs(&self)
    }
    fn tanh(self) -> Interval {
        Interval::tanh(&self)
    }
    fn sigmoid(self) -> Interval {
        Interval::sigmoid(&self)
    }
    fn softplus(self) -> Interval {
        Interval::softplus(&self)
    }
    fn powi(self, n: i32) -> Interval {
        Interval::powi(&self, n)
    }
    fn powf(self, e: Interval) -> Interval {
        Interval::powf(&self, &e)
    }
    fn max(self, other: Interval) -> Interval {
        Interval::max(&self, &other)
    }
    fn min(self, other: Interval) -> Interval {
        Interval::min(&self, &other)
    }
    fn xlogy(self, y: Interval) -> Interval {
        Interval::xlogy(&self, &y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A generic function evaluated in f64 lies inside its interval
    /// evaluation (the f64 result is within a few ulps of the true value, and
    /// the enclosure is far narrower than that only if it is correct).
    fn bce<R: Real>(x: R, y: R) -> R {
        x.clone().softplus() - x * y
    }

    #[test]
    fn generic_code_runs_in_intervals() {
        let exact = bce(Interval::from_f64(2.5), Interval::from_f64(1.0));
        let fast = bce(2.5_f64, 1.0);
        let (lo, hi) = exact.bounds_f64().unwrap();
        assert!(
            lo - 4.0 * f64::EPSILON * fast.abs() <= fast
                && fast <= hi + 4.0 * f64::EPSILON * fast.abs()
        );
        assert!(Real::xlogy(Interval::from_f64(0.0), Interval::from_f64(0.0)).contains_f64(0.0));
        assert!(
            Real::xlogy(Interval::from_f64(1.0), Interval::from_f64(0.0))
                .error()
                .is_some()
        );
    }
}
