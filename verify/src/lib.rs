//! Numerical verification for `loss`: exact intervals, dual numbers, finite
//! differences, and the checks that compare a fast loss against them.
//!
//! See `docs/verify.md` in the repository for what each part guarantees.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod check;
mod dual;
mod dyadic;
pub mod finite_diff;
mod interval;
pub mod strategies;
mod ulps;

pub use check::{
    assert_loss, assert_value, assert_value_and_grad, check_loss, check_value,
    check_value_and_grad, GradientReport, Problem, Report, ScalarFn, Tolerance, ValueReport,
};
pub use dual::Dual;
pub use interval::{current_precision, with_precision, Interval, IntervalError, DEFAULT_PRECISION};
pub use ulps::{distance_in_ulps, width_in_ulps, FastFloat};
