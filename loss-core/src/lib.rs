//! Runtime and standard library of `loss`: fused, allocation-free loss values
//! and analytic gradients, declared with [`loss!`].
//!
//! ```
//! use loss_core::{loss, Rows};
//!
//! loss! {
//!     /// Cross-entropy plus a confidence penalty (the entropy of the prediction).
//!     pub fn penalised(#[grad] z: Vector<C>, y: Class<C>, beta: Scalar) {
//!         cross_entropy(z, y) - beta * sum(-softmax(z) * log_softmax(z))
//!     }
//! }
//!
//! let logits = [2.0_f32, 0.5, -1.0, /* sample 2 */ 0.0, 3.0, 0.1];
//! let mut grad = [0.0_f32; 6];
//! let loss = penalised::value_and_grad(Rows::new(&logits, 2, 3), &[0_usize, 1], 0.1, &mut grad[..])?;
//! assert!(loss.is_finite());
//! println!("d/dz = {}", penalised::GRADIENT[0].1);
//! # Ok::<(), loss_core::LossError>(())
//! ```
//!
//! The pieces: [`Float`] (the fast path's `f32`/`f64`) and [`Real`] (any
//! number the reference path runs in), [`Rows`]/[`RowsMut`] (batches as
//! slices with a shape, or nalgebra matrices), [`LossError`], [`losses`]
//! (ready-made losses), [`math`] (vectorisable `exp`, `ln`, ...), [`simd`]
//! (run-time CPU dispatch), and [`ScalarFn`]/[`SampleLoss`] (what `verify`
//! checks).
#![no_std]
// `unsafe` in two places, each measured (docs/performance.md): in `simd`,
// calling a kernel compiled for the CPU's vector extensions after detecting
// them; in `__private::prefetch`, a cache hint for the next row.
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
    pub use crate::row_vectors::{
        group_maxima, group_maxima_nan, group_sums, load, row_vectors_fit, store, RowVectors, ROW,
    };
}
pub mod math;
#[cfg(feature = "nalgebra")]
mod nalgebra_impls;
mod private;
mod real;
mod row_vectors;
mod rows;
mod sample;
pub mod simd;

/// The supertrait of the traits only this crate implements: [`Float`],
/// [`math::FastMath`], [`math::MulAdd`] and [`simd::Flavour`]. The kernels
/// rely on what each implementation does (the bits of f32 and f64, the proven
/// bounds of the fast math, the instructions a token proves the CPU has), so
/// no other crate can implement them; and so new methods on them break no
/// one.
mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
    impl Sealed for crate::math::Plain {}
    impl Sealed for crate::math::Fused {}
    impl Sealed for crate::simd::Fma {}
    impl Sealed for crate::simd::NoFma {}
}

pub use error::LossError;
pub use loss_macros::loss;
pub use real::{Float, Real};
pub use rows::{AsRows, Label, Rows, RowsMut};
pub use sample::{SampleLoss, ScalarFn};
