//! Divergences between distributions, and the entropy.

use crate::loss;

loss! {
    /// `KL(target ‖ softmax(logits))` summed over classes and averaged over
    /// samples: PyTorch's `kl_div(log_softmax(z), target, reduction='batchmean')`.
    /// A zero target contributes 0 (the `xlogy` convention).
    pub fn kl_div_logits(#[grad] logits: Vector<C>, target: Vector<C>) {
        kl_div(target, softmax(logits))
    }

    /// PyTorch's `kl_div(input, target, reduction='batchmean')`, the KL
    /// divergence `Σ_c target (ln target - input)` with `input = ln q`,
    /// averaged over the rows. (PyTorch's `'mean'` divides by `N·C` and is
    /// not the KL: use [`kl_div_per_sample`](self::kl_div_per_sample) and divide by `N·C`.)
    pub fn kl_div(#[grad] input: Vector<C>, #[grad] target: Vector<C>) {
        sum(kl_div_log_input(input, target))
    }

    /// `kl_div` per row (`reduction='none'` per element: rows of width 1).
    #[reduce(none)]
    pub fn kl_div_per_sample(#[grad] input: Vector<C>, #[grad] target: Vector<C>) {
        sum(kl_div_log_input(input, target))
    }

    /// PyTorch's `kl_div(input, target, log_target=True, reduction='batchmean')`:
    /// `Σ_c exp(t) (t - input)`, averaged over the rows.
    pub fn kl_div_log_target(#[grad] input: Vector<C>, #[grad] target: Vector<C>) {
        sum(kl_div_log_target(input, target))
    }

    /// `kl_div_log_target` per row.
    #[reduce(none)]
    pub fn kl_div_log_target_per_sample(#[grad] input: Vector<C>, #[grad] target: Vector<C>) {
        sum(kl_div_log_target(input, target))
    }

    /// The generalized KL divergence of nonnegative vectors,
    /// `Σ p ln(p/q) - p + q` per row, averaged over the rows.
    pub fn generalized_kl(#[grad] p: Vector<C>, #[grad] q: Vector<C>) {
        generalized_kl(p, q)
    }

    /// `generalized_kl` per row.
    #[reduce(none)]
    pub fn generalized_kl_per_sample(#[grad] p: Vector<C>, #[grad] q: Vector<C>) {
        generalized_kl(p, q)
    }

    /// The Jensen-Shannon divergence `½ KL(p‖m) + ½ KL(q‖m)`, `m = (p+q)/2`,
    /// natural log, per row, averaged over the rows.
    pub fn js_divergence(#[grad] p: Vector<C>, #[grad] q: Vector<C>) {
        js_divergence(p, q)
    }

    /// `js_divergence` per row.
    #[reduce(none)]
    pub fn js_divergence_per_sample(#[grad] p: Vector<C>, #[grad] q: Vector<C>) {
        js_divergence(p, q)
    }

    /// The entropy `-Σ p ln p` of each row (`torch.special.entr(p).sum(-1)`),
    /// averaged over the rows; subtract it for a confidence penalty.
    pub fn entropy(#[grad] p: Vector<C>) {
        entropy(p)
    }

    /// `entropy` per row.
    #[reduce(none)]
    pub fn entropy_per_sample(#[grad] p: Vector<C>) {
        entropy(p)
    }
}
