//! Ready-made losses, each declared with [`loss!`](crate::loss) itself, so
//! each has the generated `value`, `value_and_grad` and `reference`
//! functions and the `FORMULA` and `GRADIENT` constants.
//!
//! Each is also a builtin function of the `loss!` DSL, where it composes
//! with anything else (`alpha * cross_entropy(z, y) + ...`). The reduction
//! over the batch is the mean, as PyTorch's default `reduction='mean'`.
//!
//! ```
//! use loss_core::{losses, Rows};
//! let logits = [2.0_f32, 0.5, -1.0, 0.0, 0.0, 3.0];
//! let labels = [0_usize, 2];
//! let mut grad = [0.0_f32; 6];
//! let loss = losses::cross_entropy::value_and_grad(Rows::new(&logits, 2, 3), &labels, &mut grad[..])?;
//! assert!((loss - 0.2).abs() < 0.1);
//! # Ok::<(), loss_core::LossError>(())
//! ```

use crate::loss;

loss! {
    /// Cross-entropy from logits and class labels: `logsumexp(z) - z[y]`
    /// per sample, averaged over the batch (PyTorch's `cross_entropy` with a
    /// class-index target). The gradient is `softmax(z) - onehot(y)`,
    /// computed without cancellation at the label.
    pub fn cross_entropy(#[grad] logits: Vector<C>, target: Class<C>) {
        cross_entropy(logits, target)
    }

    /// Cross-entropy from logits and probability targets:
    /// `-sum(p * log_softmax(z))` per sample, averaged over the batch
    /// (PyTorch's `cross_entropy` with a probability target).
    pub fn cross_entropy_soft(#[grad] logits: Vector<C>, target: Vector<C>) {
        cross_entropy(logits, target)
    }

    /// `KL(target ‖ softmax(logits))` summed over classes and averaged over
    /// samples: PyTorch's `kl_div(log_softmax(z), target, reduction='batchmean')`.
    /// A zero target contributes 0 (the `xlogy` convention).
    pub fn kl_div_logits(#[grad] logits: Vector<C>, target: Vector<C>) {
        kl_div(target, softmax(logits))
    }

    /// Binary cross-entropy from logits, averaged over every element:
    /// `softplus(x) - x * y`, exact for any logit (PyTorch's
    /// `binary_cross_entropy_with_logits`; no clamping is needed).
    pub fn binary_cross_entropy_with_logits(#[grad] logits: Vector<D>, target: Vector<D>) {
        mean(binary_cross_entropy_with_logits(logits, target))
    }

    /// Mean squared error over every element (PyTorch's `mse_loss`).
    pub fn mse(#[grad] input: Vector<D>, target: Vector<D>) {
        mse(input, target)
    }
}
