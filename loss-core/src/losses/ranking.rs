//! Embedding and ranking losses.

use crate::loss;

loss! {
    /// Keras `cosine_similarity(y_true, y_pred)`: `-Σ n(x) n(y)` per sample
    /// with `n(v) = v min(1/‖v‖, 1e7)` (Keras 3's `normalize`), averaged.
    pub fn cosine_similarity(#[grad] y_pred: Vector<D>, #[grad] y_true: Vector<D>) {
        cosine_similarity(y_pred, y_true)
    }

    /// Keras `cosine_similarity` per sample, times a Keras `sample_weight`.
    #[reduce(none)]
    pub fn cosine_similarity_per_sample(#[grad] y_pred: Vector<D>, #[grad] y_true: Vector<D>, sample_weight: PerSample) {
        sample_weight * cosine_similarity(y_pred, y_true)
    }

    /// PyTorch's `cosine_embedding_loss(a, b, y, margin)`: with
    /// `cos = a·b / sqrt((‖a‖² + 1e-12)(‖b‖² + 1e-12))`, `1 - cos` where
    /// `y = 1` and `max(0, cos - margin)` where `y = -1`, averaged.
    pub fn cosine_embedding_loss(#[grad] input1: Vector<D>, #[grad] input2: Vector<D>, target: PerSample, margin: Scalar) {
        cosine_embedding(input1, input2, target, margin)
    }

    /// `cosine_embedding_loss` per sample.
    #[reduce(none)]
    pub fn cosine_embedding_loss_per_sample(#[grad] input1: Vector<D>, #[grad] input2: Vector<D>, target: PerSample, margin: Scalar) {
        cosine_embedding(input1, input2, target, margin)
    }

    /// PyTorch's `hinge_embedding_loss(x, y, margin)`: `x` where `y = 1`,
    /// `max(0, margin - x)` where `y = -1`, averaged over every element.
    pub fn hinge_embedding_loss(#[grad] input: Vector<D>, target: Vector<D>, margin: Scalar) {
        mean(hinge_embedding(input, target, margin))
    }

    /// `hinge_embedding_loss`, summed over each row.
    #[reduce(none)]
    pub fn hinge_embedding_loss_per_sample(#[grad] input: Vector<D>, target: Vector<D>, margin: Scalar) {
        sum(hinge_embedding(input, target, margin))
    }

    /// PyTorch's `margin_ranking_loss(x1, x2, y, margin)`:
    /// `max(0, -y (x1 - x2) + margin)`, averaged over every element
    /// (PyTorch's 1-d inputs are rows of width 1).
    pub fn margin_ranking_loss(#[grad] input1: Vector<D>, #[grad] input2: Vector<D>, target: Vector<D>, margin: Scalar) {
        mean(margin_ranking(input1, input2, target, margin))
    }

    /// `margin_ranking_loss`, summed over each row.
    #[reduce(none)]
    pub fn margin_ranking_loss_per_sample(#[grad] input1: Vector<D>, #[grad] input2: Vector<D>, target: Vector<D>, margin: Scalar) {
        sum(margin_ranking(input1, input2, target, margin))
    }

    /// PyTorch's `triplet_margin_loss(a, p, n, margin, p=2, eps, swap=False)`:
    /// `max(0, d(a,p) - d(a,n) + margin)` with `d(u,v) = ‖u - v + eps‖₂`,
    /// averaged.
    pub fn triplet_margin_loss(#[grad] anchor: Vector<D>, #[grad] positive: Vector<D>, #[grad] negative: Vector<D>, margin: Scalar, eps: Scalar) {
        triplet_margin(anchor, positive, negative, margin, eps)
    }

    /// `triplet_margin_loss` per sample.
    #[reduce(none)]
    pub fn triplet_margin_loss_per_sample(#[grad] anchor: Vector<D>, #[grad] positive: Vector<D>, #[grad] negative: Vector<D>, margin: Scalar, eps: Scalar) {
        triplet_margin(anchor, positive, negative, margin, eps)
    }

    /// `triplet_margin_loss` with `swap=True`: the negative distance is
    /// `min(d(a,n), d(p,n))`.
    pub fn triplet_margin_loss_swap(#[grad] anchor: Vector<D>, #[grad] positive: Vector<D>, #[grad] negative: Vector<D>, margin: Scalar, eps: Scalar) {
        triplet_margin_swap(anchor, positive, negative, margin, eps)
    }

    /// `triplet_margin_loss_swap` per sample.
    #[reduce(none)]
    pub fn triplet_margin_loss_swap_per_sample(#[grad] anchor: Vector<D>, #[grad] positive: Vector<D>, #[grad] negative: Vector<D>, margin: Scalar, eps: Scalar) {
        triplet_margin_swap(anchor, positive, negative, margin, eps)
    }

    /// `triplet_margin_loss` with `p=1`: `d(u,v) = ‖u - v + eps‖₁`.
    pub fn triplet_margin_loss_l1(#[grad] anchor: Vector<D>, #[grad] positive: Vector<D>, #[grad] negative: Vector<D>, margin: Scalar, eps: Scalar) {
        triplet_margin_l1(anchor, positive, negative, margin, eps)
    }

    /// `triplet_margin_loss_l1` per sample.
    #[reduce(none)]
    pub fn triplet_margin_loss_l1_per_sample(#[grad] anchor: Vector<D>, #[grad] positive: Vector<D>, #[grad] negative: Vector<D>, margin: Scalar, eps: Scalar) {
        triplet_margin_l1(anchor, positive, negative, margin, eps)
    }

    /// `triplet_margin_loss` with `p=1, swap=True`.
    pub fn triplet_margin_loss_l1_swap(#[grad] anchor: Vector<D>, #[grad] positive: Vector<D>, #[grad] negative: Vector<D>, margin: Scalar, eps: Scalar) {
        triplet_margin_l1_swap(anchor, positive, negative, margin, eps)
    }

    /// `triplet_margin_loss_l1_swap` per sample.
    #[reduce(none)]
    pub fn triplet_margin_loss_l1_swap_per_sample(#[grad] anchor: Vector<D>, #[grad] positive: Vector<D>, #[grad] negative: Vector<D>, margin: Scalar, eps: Scalar) {
        triplet_margin_l1_swap(anchor, positive, negative, margin, eps)
    }
}
