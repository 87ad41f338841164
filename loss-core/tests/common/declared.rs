//! The losses the integration tests exercise, declared once.

use loss_core::loss;

loss! {
    /// Class-weighted cross-entropy plus β·KL(q ‖ softmax(z)).
    pub fn weighted_ce_kl(#[grad] z: Vector<C>, y: Class<C>, w: Weights<C>, q: Vector<C>, beta: Scalar) {
        w[y] * cross_entropy(z, y) + beta * kl_div(q, softmax(z))
    }

    /// The same with PyTorch's weighted mean and a learnable β.
    #[reduce(mean, denominator = w[y])]
    pub fn weighted_ce_kl_beta(#[grad] z: Vector<C>, y: Class<C>, w: Weights<C>, q: Vector<C>, #[grad] beta: Scalar) {
        w[y] * cross_entropy(z, y) + beta * kl_div(q, softmax(z))
    }

    /// Knowledge distillation.
    pub fn distill(#[grad] s: Vector<C>, t: Vector<C>, y: Class<C>, alpha: Scalar, beta: Scalar, temp: Scalar) {
        alpha * cross_entropy(s, y) + beta * temp.powi(2) * kl_div(softmax(t / temp), softmax(s / temp))
    }

    /// Knowledge distillation with a learnable temperature.
    #[reduce(sum)]
    pub fn distill_temp(#[grad] s: Vector<C>, t: Vector<C>, y: Class<C>, alpha: Scalar, beta: Scalar, #[grad] temp: Scalar) {
        alpha * cross_entropy(s, y) + beta * temp.powi(2) * kl_div(softmax(t / temp), softmax(s / temp))
    }

    /// A VAE's loss: Bernoulli reconstruction from logits plus the Gaussian KL.
    pub fn vae(#[grad] xl: Vector<D>, x: Vector<D>, #[grad] mu: Vector<K>, #[grad] lv: Vector<K>) {
        sum(binary_cross_entropy_with_logits(xl, x)) - 0.5 * sum(1.0 + lv - mu.powi(2) - lv.exp())
    }

    /// Cross-entropy against probabilities, spelled naively.
    pub fn naive_soft_ce(#[grad] z: Vector<C>, p: Vector<C>) {
        -sum(p * ln(softmax(z)))
    }

    /// The builtin it must match.
    pub fn soft_ce(#[grad] z: Vector<C>, p: Vector<C>) {
        cross_entropy(z, p)
    }

    /// Cross-entropy of a label, spelled naively.
    pub fn naive_ce(#[grad] z: Vector<C>, y: Class<C>) {
        -ln(softmax(z)[y])
    }

    /// The builtin.
    pub fn ce(#[grad] z: Vector<C>, y: Class<C>) {
        cross_entropy(z, y)
    }
}
