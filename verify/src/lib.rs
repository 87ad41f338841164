//! Numerical verification for `loss`: exact intervals, dual numbers, finite
//! differences, and the checks that compare a fast loss against them.
//!
//! See `docs/verify.md` in the repository for what each part guarantees.
//!
//! ```
//! use loss_core::loss;
//! use verify::{check_loss, Interval, Tolerance};
//!
//! // Exact arithmetic: an enclosure that provably holds e, 128 bits tight.
//! let e = Interval::from_f64(1.0).exp();
//! assert_eq!(e.midpoint_f64(), std::f64::consts::E);
//! assert!(e.width_f64() < 1e-30);
//!
//! // A declared loss, checked at one sample against its exact reference.
//! loss! {
//!     fn bce(#[grad] x: Vector<D>, y: Vector<D>) { sum(binary_cross_entropy_with_logits(x, y)) }
//! }
//! let report = check_loss(&bce::Sample { x: &[-30.0_f32, 0.0, 30.0], y: &[1.0, 0.5, 0.999] }, Tolerance::default_for::<f32>());
//! assert!(report.passed(), "{report}");
//!
//! // Any closure, by finite differences.
//! let f = |x: &[f64]| x[0].sin() * x[1];
//! let fd = verify::finite_diff::check_gradient(f, &[0.5, 2.0], &[0.5_f64.cos() * 2.0, 0.5_f64.sin()], &Default::default(), Default::default());
//! assert!(fd.passed(), "{fd}");
//! ```
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
