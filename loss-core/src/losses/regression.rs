//! Regression losses: squared, absolute, smooth and robust errors, and the
//! Poisson and Gaussian negative log-likelihoods.
//!
//! PyTorch's elementwise losses average over every element under `'mean'`;
//! here the plain loss is the mean over each row averaged over the rows,
//! which is the same number. The `_per_sample` variants sum over each row,
//! so `reduction='sum'` is a per-sample variant with an upstream of ones and
//! `reduction='none'` (one loss per element) is a per-sample variant on rows
//! of width 1.

use crate::loss;

loss! {
    /// Mean squared error over every element (PyTorch's `mse_loss`).
    pub fn mse(#[grad] input: Vector<D>, target: Vector<D>) {
        mse(input, target)
    }

    /// `mse`, summed over each row: `sum((x - y)²)`.
    #[reduce(none)]
    pub fn mse_per_sample(#[grad] input: Vector<D>, target: Vector<D>) {
        sum((input - target).powi(2))
    }

    /// PyTorch's `l1_loss`: `|x - y|` averaged over every element; the
    /// gradient at `x = y` is 0 (PyTorch).
    pub fn l1_loss(#[grad] input: Vector<D>, target: Vector<D>) {
        mean(l1(input, target))
    }

    /// `l1_loss`, summed over each row.
    #[reduce(none)]
    pub fn l1_loss_per_sample(#[grad] input: Vector<D>, target: Vector<D>) {
        sum(l1(input, target))
    }

    /// PyTorch's `smooth_l1_loss(x, y, beta)`: `0.5 d²/β` where `|d| < β`,
    /// else `|d| - β/2`, averaged over every element; `β = 0` is `l1_loss`.
    pub fn smooth_l1_loss(#[grad] input: Vector<D>, target: Vector<D>, beta: Scalar) {
        mean(smooth_l1(input, target, beta))
    }

    /// `smooth_l1_loss`, summed over each row.
    #[reduce(none)]
    pub fn smooth_l1_loss_per_sample(#[grad] input: Vector<D>, target: Vector<D>, beta: Scalar) {
        sum(smooth_l1(input, target, beta))
    }

    /// PyTorch's `huber_loss(x, y, delta)`: `0.5 d²` where `|d| ≤ δ`, else
    /// `δ (|d| - δ/2)`, averaged over every element.
    pub fn huber_loss(#[grad] input: Vector<D>, target: Vector<D>, delta: Scalar) {
        mean(huber(input, target, delta))
    }

    /// `huber_loss`, summed over each row.
    #[reduce(none)]
    pub fn huber_loss_per_sample(#[grad] input: Vector<D>, target: Vector<D>, delta: Scalar) {
        sum(huber(input, target, delta))
    }

    /// Keras `log_cosh(y_true, y_pred)`: `mean_d ln cosh(x - y)` per sample,
    /// computed as `|d| + softplus(-2|d|) - ln 2` (no overflow), averaged.
    pub fn log_cosh(#[grad] y_pred: Vector<D>, y_true: Vector<D>) {
        mean(log_cosh(y_pred, y_true))
    }

    /// Keras `log_cosh` per sample, times a Keras `sample_weight`.
    #[reduce(none)]
    pub fn log_cosh_per_sample(#[grad] y_pred: Vector<D>, y_true: Vector<D>, sample_weight: PerSample) {
        sample_weight * mean(log_cosh(y_pred, y_true))
    }

    /// Keras `mean_absolute_percentage_error`:
    /// `mean_d 100 |y - x| / max(|y|, 1e-7)` per sample, averaged.
    pub fn mean_absolute_percentage_error(#[grad] y_pred: Vector<D>, y_true: Vector<D>) {
        mean(mape(y_pred, y_true))
    }

    /// Keras MAPE per sample, times `sample_weight`.
    #[reduce(none)]
    pub fn mean_absolute_percentage_error_per_sample(#[grad] y_pred: Vector<D>, y_true: Vector<D>, sample_weight: PerSample) {
        sample_weight * mean(mape(y_pred, y_true))
    }

    /// Keras `mean_squared_logarithmic_error`:
    /// `mean_d (log1p(max(x, 1e-7)) - log1p(max(y, 1e-7)))²` per sample, averaged.
    pub fn mean_squared_logarithmic_error(#[grad] y_pred: Vector<D>, y_true: Vector<D>) {
        mean(msle(y_pred, y_true))
    }

    /// Keras MSLE per sample, times `sample_weight`.
    #[reduce(none)]
    pub fn mean_squared_logarithmic_error_per_sample(#[grad] y_pred: Vector<D>, y_true: Vector<D>, sample_weight: PerSample) {
        sample_weight * mean(msle(y_pred, y_true))
    }

    /// Keras `poisson`: `mean_d x - y ln(x + 1e-7)` per sample, averaged.
    pub fn keras_poisson(#[grad] y_pred: Vector<D>, y_true: Vector<D>) {
        mean(keras_poisson(y_pred, y_true))
    }

    /// Keras `poisson` per sample, times `sample_weight`.
    #[reduce(none)]
    pub fn keras_poisson_per_sample(#[grad] y_pred: Vector<D>, y_true: Vector<D>, sample_weight: PerSample) {
        sample_weight * mean(keras_poisson(y_pred, y_true))
    }

    /// PyTorch's `poisson_nll_loss(x, y, log_input=True, full)`:
    /// `exp(x) - y x`, plus Stirling's `y ln y - y + ½ ln(2π y)` where
    /// `y > 1` when `full` is `1.0` (pass `0.0` or `1.0`), averaged over
    /// every element.
    pub fn poisson_nll_loss(#[grad] input: Vector<D>, target: Vector<D>, full: Scalar) {
        mean(poisson_nll_log_input(input, target) + full * poisson_stirling(target))
    }

    /// `poisson_nll_loss`, summed over each row.
    #[reduce(none)]
    pub fn poisson_nll_loss_per_sample(#[grad] input: Vector<D>, target: Vector<D>, full: Scalar) {
        sum(poisson_nll_log_input(input, target) + full * poisson_stirling(target))
    }

    /// PyTorch's `poisson_nll_loss(x, y, log_input=False, full, eps)`: the
    /// input is the rate, `x - y ln(x + eps)` (+ Stirling when `full = 1.0`),
    /// averaged over every element.
    pub fn poisson_nll_loss_rate(#[grad] input: Vector<D>, target: Vector<D>, full: Scalar, eps: Scalar) {
        mean(poisson_nll(input, target, eps) + full * poisson_stirling(target))
    }

    /// `poisson_nll_loss_rate`, summed over each row.
    #[reduce(none)]
    pub fn poisson_nll_loss_rate_per_sample(#[grad] input: Vector<D>, target: Vector<D>, full: Scalar, eps: Scalar) {
        sum(poisson_nll(input, target, eps) + full * poisson_stirling(target))
    }

    /// PyTorch's `gaussian_nll_loss(x, y, var, full, eps)`:
    /// `½ (ln max(var, eps) + (x - y)² / max(var, eps))` (+ `½ ln 2π` when
    /// `full = 1.0`), averaged over every element. `var` is per element
    /// (broadcast by the caller). Below `eps` the variance gets no gradient
    /// (PyTorch passes the gradient at `eps` through): see docs/losses.md.
    pub fn gaussian_nll_loss(#[grad] input: Vector<D>, target: Vector<D>, #[grad] var: Vector<D>, full: Scalar, eps: Scalar) {
        mean(gaussian_nll(input, target, var, eps) + full * 0.9189385332046728)
    }

    /// `gaussian_nll_loss`, summed over each row.
    #[reduce(none)]
    pub fn gaussian_nll_loss_per_sample(#[grad] input: Vector<D>, target: Vector<D>, #[grad] var: Vector<D>, full: Scalar, eps: Scalar) {
        sum(gaussian_nll(input, target, var, eps) + full * 0.9189385332046728)
    }
}

/// PyTorch's name for [`mse`](mod@mse) (`F.mse_loss`), beside `l1_loss`,
/// `smooth_l1_loss` and `huber_loss`. It is the same module, so no second
/// kernel is compiled.
///
/// ```
/// use loss_core::{losses, Rows};
/// let x = [1.0_f32, 2.0, 3.0, 5.0];
/// let y = [1.5_f32, 2.0, 2.0, 4.0];
/// let loss = losses::mse_loss::value(Rows::new(&x, 2, 2), Rows::new(&y, 2, 2))?;
/// assert_eq!(loss, (0.25 + 0.0 + 1.0 + 1.0) / 4.0);
/// # Ok::<(), loss_core::LossError>(())
/// ```
pub use mse as mse_loss;

/// [`mse_per_sample`](mod@mse_per_sample) under the name that goes with
/// `mse_loss`: the same module.
pub use mse_per_sample as mse_loss_per_sample;
