//! Classification losses: cross-entropy and its relatives, binary
//! cross-entropy, focal, margin and hinge losses.

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

    /// PyTorch's `cross_entropy(logits, target, weight, ignore_index,
    /// label_smoothing=ε, reduction='mean')` with class-index targets:
    /// per sample `(1-ε) w[y] (logsumexp(z) - z[y]) - (ε/C) Σ_c w[c] log_softmax(z)_c`,
    /// summed and divided by `Σ_i w[y_i]` over the samples not ignored
    /// (all ignored or empty: NaN, as PyTorch). Pass ones as `weight` and
    /// `0.0` as `label_smoothing` for the plain options; PyTorch's default
    /// `ignore_index` is `-100`.
    #[reduce(mean, denominator = weight[target])]
    pub fn cross_entropy_weighted(#[grad] logits: Vector<C>, #[ignore_index] target: Class<C>, weight: Weights<C>, label_smoothing: Scalar) {
        weighted_cross_entropy(logits, target, weight, label_smoothing)
    }

    /// [`cross_entropy_weighted`](self::cross_entropy_weighted) per sample
    /// (`reduction='none'`; ignored samples give 0). `reduction='sum'` is
    /// this with an `upstream` of ones, summing the written losses.
    #[reduce(none)]
    pub fn cross_entropy_per_sample(#[grad] logits: Vector<C>, #[ignore_index] target: Class<C>, weight: Weights<C>, label_smoothing: Scalar) {
        weighted_cross_entropy(logits, target, weight, label_smoothing)
    }

    /// PyTorch's `cross_entropy` with probability targets, `weight` and
    /// `label_smoothing=ε`: per sample `-Σ_c w[c] t'_c log_softmax(z)_c` with
    /// `t' = (1-ε) t + ε/C`, averaged over the batch (PyTorch divides by `N`
    /// here, not by a sum of weights).
    pub fn cross_entropy_soft_weighted(#[grad] logits: Vector<C>, target: Vector<C>, weight: Weights<C>, label_smoothing: Scalar) {
        weighted_soft_cross_entropy(logits, target, weight, label_smoothing)
    }

    /// [`cross_entropy_soft_weighted`](self::cross_entropy_soft_weighted) per sample.
    #[reduce(none)]
    pub fn cross_entropy_soft_per_sample(#[grad] logits: Vector<C>, target: Vector<C>, weight: Weights<C>, label_smoothing: Scalar) {
        weighted_soft_cross_entropy(logits, target, weight, label_smoothing)
    }

    /// PyTorch's `nll_loss(input, target)`: `-input[y]` per sample,
    /// averaged over the batch. The input is not checked to be
    /// log-probabilities (as PyTorch). As with `cross_entropy`, the options
    /// `weight` and `ignore_index` are
    /// [`nll_loss_weighted`](self::nll_loss_weighted)'s (pass ones as
    /// `weight` for `ignore_index` alone).
    pub fn nll_loss(#[grad] input: Vector<C>, target: Class<C>) {
        nll_loss(input, target)
    }

    /// PyTorch's `nll_loss(input, target, weight, ignore_index,
    /// reduction='mean')`: `-w[y] input[y]`, summed and divided by
    /// `Σ_i w[y_i]` over the samples not ignored (all ignored or empty: NaN,
    /// as PyTorch).
    #[reduce(mean, denominator = weight[target])]
    pub fn nll_loss_weighted(#[grad] input: Vector<C>, #[ignore_index] target: Class<C>, weight: Weights<C>) {
        weight[target] * nll_loss(input, target)
    }

    /// `nll_loss` per sample: `-w[y] input[y]` (0 for an ignored sample).
    #[reduce(none)]
    pub fn nll_loss_per_sample(#[grad] input: Vector<C>, #[ignore_index] target: Class<C>, weight: Weights<C>) {
        weight[target] * nll_loss(input, target)
    }

    /// PyTorch's `binary_cross_entropy(p, y)`: `-(y log p + (1-y) log(1-p))`
    /// with each log clamped at `-100` as PyTorch, averaged over every
    /// element. `log(1-p)` is computed as `log1p(-p)`. The gradient is
    /// PyTorch's, `(p-y)/max(p(1-p), 1e-12)` per element, also where a log
    /// is clamped (the builtin `binary_cross_entropy_value` has the
    /// derivative of the clamped value instead: 0 there).
    pub fn binary_cross_entropy(#[grad] input: Vector<D>, target: Vector<D>) {
        mean(binary_cross_entropy(input, target))
    }

    /// `binary_cross_entropy` with a per-element `weight` (PyTorch's
    /// `weight`, broadcast by the caller to the input's shape), averaged over
    /// every element.
    pub fn binary_cross_entropy_weighted(#[grad] input: Vector<D>, target: Vector<D>, weight: Vector<D>) {
        mean(weight * binary_cross_entropy(input, target))
    }

    /// `binary_cross_entropy` with `weight`, summed over each row
    /// (`reduction='none'` per element: give rows of width 1).
    #[reduce(none)]
    pub fn binary_cross_entropy_per_sample(#[grad] input: Vector<D>, target: Vector<D>, weight: Vector<D>) {
        sum(weight * binary_cross_entropy(input, target))
    }

    /// Binary cross-entropy from logits, averaged over every element:
    /// `softplus(x) - x * y`, exact for any logit (PyTorch's
    /// `binary_cross_entropy_with_logits`; no clamping is needed).
    pub fn binary_cross_entropy_with_logits(#[grad] logits: Vector<D>, target: Vector<D>) {
        mean(binary_cross_entropy_with_logits(logits, target))
    }

    /// PyTorch's `binary_cross_entropy_with_logits(x, y, weight, pos_weight)`:
    /// `w ((1-y) softplus(x) + pw y softplus(-x))` (equal to PyTorch's
    /// `(1-y) x + (1 + (pw-1) y) softplus(-x)`, without its cancellation),
    /// averaged over every element. `weight` is per element (broadcast by the
    /// caller); `pos_weight` one per class (column).
    pub fn binary_cross_entropy_with_logits_weighted(#[grad] logits: Vector<D>, target: Vector<D>, weight: Vector<D>, pos_weight: Weights<D>) {
        mean(weight * binary_cross_entropy_with_logits_pos_weight(logits, target, pos_weight))
    }

    /// `binary_cross_entropy_with_logits_weighted`, summed over each row.
    #[reduce(none)]
    pub fn binary_cross_entropy_with_logits_per_sample(#[grad] logits: Vector<D>, target: Vector<D>, weight: Vector<D>, pos_weight: Weights<D>) {
        sum(weight * binary_cross_entropy_with_logits_pos_weight(logits, target, pos_weight))
    }

    /// torchvision's `sigmoid_focal_loss(x, y, alpha, gamma, reduction='mean')`
    /// for binary targets: `α_t CE (1 - p_t)^γ` averaged over every element,
    /// with `CE = softplus(-s x)`, `(1-p_t)^γ = exp(-γ softplus(s x))`,
    /// `s = 2y - 1` (log space: finite for any logit and any `γ ≥ 0`), and
    /// `α_t = α y + (1-α)(1-y)`, or 1 when `α < 0`.
    pub fn sigmoid_focal_loss(#[grad] inputs: Vector<D>, targets: Vector<D>, alpha: Scalar, gamma: Scalar) {
        mean(sigmoid_focal_loss(inputs, targets, alpha, gamma))
    }

    /// `sigmoid_focal_loss`, summed over each row.
    #[reduce(none)]
    pub fn sigmoid_focal_loss_per_sample(#[grad] inputs: Vector<D>, targets: Vector<D>, alpha: Scalar, gamma: Scalar) {
        sum(sigmoid_focal_loss(inputs, targets, alpha, gamma))
    }

    /// Poly-1 cross-entropy (Leng et al. 2022): `CE + ε (1 - softmax(z)[y])`
    /// per sample, averaged over the batch; `1 - p_y` is computed as
    /// `-expm1(-CE)`.
    pub fn poly1_cross_entropy(#[grad] logits: Vector<C>, target: Class<C>, epsilon: Scalar) {
        poly1_cross_entropy(logits, target, epsilon)
    }

    /// `poly1_cross_entropy` per sample.
    #[reduce(none)]
    pub fn poly1_cross_entropy_per_sample(#[grad] logits: Vector<C>, target: Class<C>, epsilon: Scalar) {
        poly1_cross_entropy(logits, target, epsilon)
    }

    /// PyTorch's `multi_margin_loss(x, y, p=1, margin, weight)`:
    /// `w[y] Σ_{i≠y} max(0, margin - x[y] + x[i]) / C`, averaged over the
    /// batch (divided by `N`, not by a sum of weights, as PyTorch). A term
    /// exactly at the margin gets no gradient (PyTorch).
    pub fn multi_margin_loss(#[grad] input: Vector<C>, target: Class<C>, margin: Scalar, weight: Weights<C>) {
        weight[target] * multi_margin(input, target, margin)
    }

    /// `multi_margin_loss` per sample.
    #[reduce(none)]
    pub fn multi_margin_loss_per_sample(#[grad] input: Vector<C>, target: Class<C>, margin: Scalar, weight: Weights<C>) {
        weight[target] * multi_margin(input, target, margin)
    }

    /// `multi_margin_loss` with `p=2`: each term squared.
    pub fn multi_margin_loss_squared(#[grad] input: Vector<C>, target: Class<C>, margin: Scalar, weight: Weights<C>) {
        weight[target] * multi_margin_squared(input, target, margin)
    }

    /// `multi_margin_loss_squared` per sample.
    #[reduce(none)]
    pub fn multi_margin_loss_squared_per_sample(#[grad] input: Vector<C>, target: Class<C>, margin: Scalar, weight: Weights<C>) {
        weight[target] * multi_margin_squared(input, target, margin)
    }

    /// PyTorch's `multilabel_soft_margin_loss(x, y, weight)`:
    /// `mean_c w[c] (y softplus(-x) + (1-y) softplus(x))` per sample,
    /// averaged over the batch.
    pub fn multilabel_soft_margin_loss(#[grad] input: Vector<C>, target: Vector<C>, weight: Weights<C>) {
        mean(weight * multilabel_soft_margin(input, target))
    }

    /// `multilabel_soft_margin_loss` per sample.
    #[reduce(none)]
    pub fn multilabel_soft_margin_loss_per_sample(#[grad] input: Vector<C>, target: Vector<C>, weight: Weights<C>) {
        mean(weight * multilabel_soft_margin(input, target))
    }

    /// PyTorch's `soft_margin_loss(x, y)`: `softplus(-y x)` averaged over
    /// every element; finite for any `y x` (PyTorch overflows to `inf` past
    /// `-y x ≈ 709`).
    pub fn soft_margin_loss(#[grad] input: Vector<D>, target: Vector<D>) {
        mean(soft_margin(input, target))
    }

    /// `soft_margin_loss` summed over each row.
    #[reduce(none)]
    pub fn soft_margin_loss_per_sample(#[grad] input: Vector<D>, target: Vector<D>) {
        sum(soft_margin(input, target))
    }

    /// Keras `hinge(y_true, y_pred)`: `mean_d max(1 - y x, 0)` per sample with
    /// `y = ±1` (Keras maps 0/1 labels to ±1 for the whole batch; pass ±1),
    /// averaged over the batch (`sum_over_batch_size`). At the margin the
    /// gradient is half the active one (Keras 3 on torch).
    pub fn hinge(#[grad] y_pred: Vector<D>, y_true: Vector<D>) {
        mean(hinge(y_pred, y_true))
    }

    /// Keras `hinge` per sample, times a Keras `sample_weight`. Keras's
    /// `sum_over_batch_size` is the sum of these divided by the batch size.
    #[reduce(none)]
    pub fn hinge_per_sample(#[grad] y_pred: Vector<D>, y_true: Vector<D>, sample_weight: PerSample) {
        sample_weight * mean(hinge(y_pred, y_true))
    }

    /// Keras `squared_hinge`: `mean_d max(1 - y x, 0)²` per sample, averaged.
    pub fn squared_hinge(#[grad] y_pred: Vector<D>, y_true: Vector<D>) {
        mean(squared_hinge(y_pred, y_true))
    }

    /// Keras `squared_hinge` per sample, times `sample_weight`.
    #[reduce(none)]
    pub fn squared_hinge_per_sample(#[grad] y_pred: Vector<D>, y_true: Vector<D>, sample_weight: PerSample) {
        sample_weight * mean(squared_hinge(y_pred, y_true))
    }

    /// Keras `categorical_hinge`: `max(max((1-y) x) - sum(y x) + 1, 0)` per
    /// sample, averaged over the batch.
    pub fn categorical_hinge(#[grad] y_pred: Vector<D>, y_true: Vector<D>) {
        categorical_hinge(y_pred, y_true)
    }

    /// Keras `categorical_hinge` per sample, times `sample_weight`.
    #[reduce(none)]
    pub fn categorical_hinge_per_sample(#[grad] y_pred: Vector<D>, y_true: Vector<D>, sample_weight: PerSample) {
        sample_weight * categorical_hinge(y_pred, y_true)
    }
}
