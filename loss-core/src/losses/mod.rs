//! Ready-made losses, each declared with [`loss!`](crate::loss) itself, so
//! each has the generated `value`, `value_and_grad` and `reference`
//! functions and the `FORMULA` and `GRADIENT` constants.
//!
//! Each is also a builtin function of the `loss!` DSL, where it composes
//! with anything else (`alpha * cross_entropy(z, y) + ...`); the builtins
//! written in the DSL itself are listed in docs/dsl.md.
//!
//! Reductions are compile-time, one declaration each:
//!
//! - the plain name is PyTorch's default reduction (`'mean'`; `kl_div`:
//!   `'batchmean'`). Elementwise losses average over every element (the mean
//!   of the row means: the same number);
//! - `<name>_per_sample` is `reduction='none'` per sample: `value` writes one
//!   loss per row and `value_and_grad` takes an `upstream` vector.
//!   `reduction='sum'` is this with an upstream of ones (sum the written
//!   losses); an elementwise loss's per-element `'none'` is this on rows of
//!   width 1 (its per-sample variant sums over the row). For the Keras
//!   losses the per-sample variant takes Keras's `sample_weight` (one per
//!   sample); Keras's `sum_over_batch_size` is the sum of the weighted
//!   per-sample losses divided by the batch size (not by the weight sum):
//!   an upstream of `1/n`;
//! - `_weighted` variants take PyTorch's class weights (`cross_entropy` and
//!   `nll_loss` divide by `Σ w[y_i]`, as PyTorch) or per-element weights.
//!   For `cross_entropy` and `nll_loss` they, and the `_per_sample`
//!   variants, also take PyTorch's `ignore_index`; the plain names take
//!   neither (pass ones as the weight for an ignore index alone).
//!
//! Compile-time options of PyTorch become separate declarations
//! (`kl_div_log_target`, `poisson_nll_loss_rate` for `log_input=False`,
//! `triplet_margin_loss_l1` for `p=1`, `_swap`, `multi_margin_loss_squared`
//! for `p=2`); runtime options (margin, beta, delta, eps, label smoothing,
//! alpha, gamma) are `Scalar` inputs, and `full` is a `Scalar` of `0.0` or
//! `1.0`. docs/losses.md maps every PyTorch, Keras and optax name and option
//! to these, with the subgradient at each kink and the deliberate
//! differences.
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

mod classification;
mod divergence;
mod ranking;
mod regression;

pub use classification::*;
pub use divergence::*;
pub use ranking::*;
pub use regression::*;
