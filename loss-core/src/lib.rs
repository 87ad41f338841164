//! Runtime and standard library of `loss`: fused, allocation-free loss values
//! and analytic gradients, declared with [`loss!`].
#![no_std]
// One `unsafe` block, in `simd`: calling a kernel compiled for the CPU's
// vector extensions after detecting them (measured in docs/performance.md).
#![deny(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "std")]
extern crate std;

// Generated code names this crate `::loss_core`; that path must also resolve
// inside the crate, where the standard losses are declared with `loss!`.
extern crate self as loss_core;

mod error;
pub mod losses;
#[doc(hidden)]
pub mod __private {
    //! Support for generated code; not a public API.
    pub use crate::private::*;
}
pub mod math;
#[cfg(feature = "nalgebra")]
mod nalgebra_impls;
mod private;
mod real;
mod rows;
mod sample;
pub mod simd;

pub use error::LossError;
pub use loss_macros::loss;
pub use real::{Float, Real};
pub use rows::{AsRows, Label, Rows, RowsMut};
pub use sample::{SampleLoss, ScalarFn};
