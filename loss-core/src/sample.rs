//! The interface between a declared loss and the `verify` crate.

use crate::{Float, LossError, Real};

/// A function of a flat vector, generic over the number type, so that it can
/// be evaluated exactly: in interval arithmetic (the value) and in dual
/// numbers (the gradient), as well as in `f64`.
///
/// Every loss declared with `loss!` has one: its `Sample` type, the loss of
/// a one-sample batch as a function of the sample's `#[grad]` inputs. Write
/// your own for a model you want to check with `verify`.
///
/// ```
/// use loss_core::{Real, ScalarFn};
/// /// Cross-entropy of logits `x` against the label `y`: logsumexp(x) - x[y].
/// struct CrossEntropy { y: usize }
/// impl ScalarFn for CrossEntropy {
///     fn eval<R: Real>(&self, x: &[R]) -> R {
///         let m = x.iter().cloned().reduce(R::max).unwrap();
///         let s = x.iter().fold(R::from_f64(0.0), |s, v| s + (v.clone() - m.clone()).exp());
///         m + s.ln() - x[self.y].clone()
///     }
/// }
/// let v: f64 = CrossEntropy { y: 0 }.eval(&[0.0, 0.0]);
/// assert!((v - core::f64::consts::LN_2).abs() < 1e-15);
/// ```
pub trait ScalarFn {
    /// The function's value at `x`.
    fn eval<R: Real>(&self, x: &[R]) -> R;
}

impl<S: ScalarFn + ?Sized> ScalarFn for &S {
    fn eval<R: Real>(&self, x: &[R]) -> R {
        (**self).eval(x)
    }
}

/// A declared loss at one sample, with its fast path: what `verify` needs to
/// compare the generated `value_and_grad` with the exact reference.
///
/// The coordinates are the sample's `#[grad]` inputs, flattened in
/// declaration order (a vector whole, a scalar as one number).
///
/// ```
/// use loss_core::{loss, SampleLoss, ScalarFn};
/// loss! {
///     fn ce(#[grad] z: Vector<C>, y: Class<C>) { cross_entropy(z, y) }
/// }
/// let sample = ce::Sample { z: &[1.0_f64, 2.0, 3.0], y: 2 };
/// let mut x = [0.0; 3];
/// sample.point(&mut x)?;
/// assert!(sample.point(&mut [0.0; 2]).is_err(), "a buffer of the wrong length");
/// let mut grad = [0.0; 3];
/// let fast = sample.value_and_grad(&x, &mut grad)?;
/// let plain: f64 = sample.eval(&x);
/// assert!((fast - plain).abs() < 1e-15);
/// # Ok::<(), loss_core::LossError>(())
/// ```
pub trait SampleLoss<F: Float>: ScalarFn {
    /// Number of coordinates.
    fn len(&self) -> usize;
    /// `true` if there are no coordinates (no `#[grad]` input).
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Writes the sample's own `#[grad]` inputs, flattened, to `out`.
    ///
    /// # Errors
    ///
    /// [`LossError::BufferLength`] if `out` is not `len()` long (nothing is
    /// written).
    fn point(&self, out: &mut [F]) -> Result<(), LossError>;
    /// The generated `value_and_grad` on the one-sample batch whose
    /// `#[grad]` inputs are `x`; the gradient is written to `grad`.
    ///
    /// # Errors
    ///
    /// As the generated function, and if `x` or `grad` is not `len()` long.
    fn value_and_grad(&self, x: &[F], grad: &mut [F]) -> Result<F, LossError>;
}
