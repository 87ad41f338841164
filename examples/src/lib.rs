//! Shared code of the examples: the digits data set, a hand-rolled MLP in
//! nalgebra with hand-written backpropagation, a training loop that takes any
//! loss (written with [`loss_core::loss!`]), a finite-difference gradient
//! check of model + loss with [`verify::finite_diff`], and a plot of the
//! training curves.
//!
//! The main example, `digits_distillation`, is built from these parts; its
//! integration test (`examples/tests/`) runs a shortened version of it, and
//! [`cli`] checks its command-line numbers.
//!
//! ```
//! use examples::{digits::Digits, mlp::Mlp, rng::SplitMix64};
//! use loss_core::loss;
//!
//! loss! {
//!     fn ce(#[grad] z: Vector<C>, y: Class<C>) { cross_entropy(z, y) }
//! }
//!
//! let data = Digits::load().unwrap();
//! let (train, _test) = data.split(0.2, 7);
//! let model = Mlp::new(&[64, 16, 10], &mut SplitMix64::new(1));
//! // A gradient check of the hand-written backprop through `ce`'s generated gradient.
//! let sample = train.subset(&[0, 1, 2]);
//! let mut objective = |z: &nalgebra::DMatrix<f64>, b: &examples::train::Batch<'_>,
//!                      dz: &mut nalgebra::DMatrix<f64>| ce::value_and_grad(z, b.labels, dz);
//! let check = examples::train::gradcheck(&model, &sample, None, &mut objective, 200);
//! assert!(check.report.passed(), "{}", check.report);
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod cli;
pub mod digits;
pub mod mlp;
pub mod plot;
pub mod rng;
pub mod train;
