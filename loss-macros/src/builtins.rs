//! Builtin losses written in the `loss!` language itself.
//!
//! Each template is a function of the DSL: its parameters are bound to the
//! caller's arguments (numbers, vectors or labels) and its body is lowered
//! in their place, so a template composes like any expression and its
//! gradient is derived like the user's. The ready-made losses of
//! `loss_core::losses` call the same builtins, so there is one definition
//! of each formula.
//!
//! A body may use every builtin (including other templates declared
//! earlier in the list) and `if`/`else`; it must not refer to names other
//! than its parameters.

/// A builtin defined by a DSL expression.
pub struct Template {
    /// The name callers use.
    pub name: &'static str,
    /// The parameters, in call order.
    pub params: &'static [&'static str],
    /// What each argument is, for the arity error message.
    pub help: &'static str,
    /// The body, in the `loss!` language.
    pub body: &'static str,
}

/// Every template builtin.
pub const TEMPLATES: &[Template] = &[
    Template {
        name: "positive_part",
        params: &["h"],
        help: "a number",
        // max(h, 0) as PyTorch's hinge losses take it (`clamp_min(h, 0)`):
        // inactive at the kink (no gradient at h = 0), and NaN stays NaN, in
        // the value and in the gradient (a plain `if h > 0 { h } else { 0 }`
        // sends a NaN to the zero branch: a loss of 0 whose gated gradient
        // still meets the NaN derivative of h).
        body: "if h <= 0.0 { 0.0 } else { h }",
    },
    Template {
        name: "huber",
        params: &["x", "y", "delta"],
        help: "input, target and delta",
        // 0.5 d² where |d| <= delta, else delta (|d| - delta/2). A branch, so
        // that the quadratic piece's gradient is d exactly (a branch-free
        // form with min(|d|, delta) cancels to a few ε of delta).
        body: "if abs(x - y) <= delta { 0.5 * (x - y).powi(2) } else { delta * (abs(x - y) - 0.5 * delta) }",
    },
    Template {
        name: "log_cosh",
        params: &["x", "y"],
        help: "input and target",
        // ln(cosh(d)): below |d| = 1 as log1p(cosh d - 1) with
        // cosh d - 1 = 2 sinh²(d/2) = ½ (expm1(d/2) - expm1(-d/2))², full
        // relative accuracy down to d = 0; above, |d| + softplus(-2|d|) - ln 2
        // (no overflow). The clamp keeps the branch not taken finite.
        body: "if abs(x - y) < 1.0 { log1p(0.5 * (expm1(0.5 * clamp(x - y, -1.0, 1.0)) - expm1(-0.5 * clamp(x - y, -1.0, 1.0))).powi(2)) } else { abs(x - y) + softplus(-2.0 * abs(x - y)) - 0.6931471805599453 }",
    },
    // ---- classification ----
    Template {
        name: "label_smoothed_cross_entropy",
        params: &["z", "y", "eps"],
        help: "logits, class label and label smoothing",
        // PyTorch's label smoothing: (1 - eps) CE(z, y) + eps/C sum_c -log p_c.
        body: "(1.0 - eps) * cross_entropy(z, y) - eps * mean(log_softmax(z))",
    },
    Template {
        name: "weighted_cross_entropy",
        params: &["z", "y", "w", "eps"],
        help: "logits, class label, class weights and label smoothing",
        // PyTorch with weight and label_smoothing: the smoothing term is weighted too.
        body: "(1.0 - eps) * w[y] * cross_entropy(z, y) - eps * mean(w * log_softmax(z))",
    },
    Template {
        name: "weighted_soft_cross_entropy",
        params: &["z", "p", "w", "eps"],
        help: "logits, probability target, class weights and label smoothing",
        // target smoothed to p (1 - eps) + eps / C, each class weighted.
        body: "-(1.0 - eps) * sum(w * p * log_softmax(z)) - eps * mean(w * log_softmax(z))",
    },
    Template {
        name: "nll_loss",
        params: &["x", "y"],
        help: "log-probabilities and class label",
        body: "-x[y]",
    },
    Template {
        name: "binary_cross_entropy_value",
        params: &["p", "y"],
        help: "probability and target",
        // PyTorch clamps each log at -100, so p = 0 or 1 gives a finite loss.
        // A vector kernel evaluates both sides of every `if`, so each log is
        // the one its test reads (two logs per element):
        // - ln p, tested as written;
        // - ln(1 - p) as log1p(-p), accurate for every p < 1 (from 1/2 on,
        //   1 - p is exact and log1p(-p) has the bits of ln(1 - p)). It
        //   exceeds -100 exactly where p < 1 (1 - p >= 2^-53 > e^-100).
        // Where a log is clamped its derivative may be infinite (p = 0 or 1);
        // the gradient's gate (`select` before the product, rewrite.rs) keeps
        // it from becoming 0 · inf = NaN.
        body: "-(y * (if ln(p) > -100.0 { ln(p) } else { -100.0 }) + (1.0 - y) * (if p < 1.0 { log1p(-p) } else { -100.0 }))",
    },
    Template {
        name: "binary_cross_entropy",
        params: &["p", "y"],
        help: "probability and target",
        // PyTorch's value and PyTorch's gradient, which is not the derivative
        // of the value: `binary_cross_entropy_backward` returns
        // g = (p - y) / max(p (1 - p), ε) everywhere, also where a log is
        // clamped (p = 0 with y > 0 gives -1e12, not 0, so that the worst
        // prediction still gets a gradient); ε is its `float` 1e-12, i.e.
        // 9.999999960041972e-13, in every precision. So the value is detached and
        // `detach(g) * p - detach(g * p)` carries the gradient g: its two
        // products are the same rounded number, so it adds exactly 0.
        body: "detach(binary_cross_entropy_value(p, y)) + (detach((p - y) / max(p * (1.0 - p), 9.999999960041972e-13)) * p - detach((p - y) / max(p * (1.0 - p), 9.999999960041972e-13) * p))",
    },
    Template {
        name: "binary_cross_entropy_with_logits_pos_weight",
        params: &["x", "y", "pos_weight"],
        help: "logit, target and positive-class weight",
        // (1 - y) x + (1 + (pw - 1) y) softplus(-x), written without the
        // cancellation of x against softplus(-x): softplus(x) = x + softplus(-x).
        body: "(1.0 - y) * softplus(x) + pos_weight * y * softplus(-x)",
    },
    Template {
        name: "sigmoid_focal_loss",
        params: &["x", "y", "alpha", "gamma"],
        help: "logit, target in [0, 1], alpha (negative: no weighting) and gamma",
        // CE = (1-y) softplus(x) + y softplus(-x); 1 - p_t = y sigmoid(-x) +
        // (1-y) sigmoid(x), whose log is a log-add-exp of
        // a = ln y - softplus(x) and b = ln(1-y) - softplus(-x) (ln 0 = -inf
        // for a hard label, which has no gradient); (1 - p_t)^gamma =
        // exp(gamma ln(1 - p_t)): finite for any logit and any gamma >= 0.
        body: "(if alpha >= 0.0 { alpha * y + (1.0 - alpha) * (1.0 - y) } else { 1.0 }) * ((1.0 - y) * softplus(x) + y * softplus(-x)) * exp(gamma * (max(ln(y) - softplus(x), ln(1.0 - y) - softplus(-x)) + log1p(exp(min(ln(y) - softplus(x), ln(1.0 - y) - softplus(-x)) - max(ln(y) - softplus(x), ln(1.0 - y) - softplus(-x))))))",
    },
    Template {
        name: "poly1_cross_entropy",
        params: &["z", "y", "eps"],
        help: "logits, class label and epsilon",
        // CE + eps (1 - p_y), with 1 - p_y = sum_{j != y} p_j: no cancellation
        // when p_y is near 1, where 1 - exp(z[y] - logsumexp(z)) would lose
        // every digit.
        body: "cross_entropy(z, y) + eps * sum(softmax(z) * (1.0 - onehot(y)))",
    },
    Template {
        name: "multi_margin",
        params: &["x", "y", "margin"],
        help: "scores, class label and margin",
        // mean over i != y of max(0, margin - x[y] + x[i]); inactive at the kink (PyTorch).
        body: "mean(positive_part(margin - x[y] + x) * (1.0 - onehot(y)))",
    },
    Template {
        name: "multi_margin_squared",
        params: &["x", "y", "margin"],
        help: "scores, class label and margin",
        // multi_margin with p = 2.
        body: "mean(positive_part(margin - x[y] + x).powi(2) * (1.0 - onehot(y)))",
    },
    Template {
        name: "multilabel_soft_margin",
        params: &["x", "y"],
        help: "logits and multi-hot target",
        // -(y ln sigmoid(x) + (1 - y) ln sigmoid(-x)), elementwise.
        body: "y * softplus(-x) + (1.0 - y) * softplus(x)",
    },
    Template {
        name: "soft_margin",
        params: &["x", "y"],
        help: "score and ±1 label",
        // ln(1 + exp(-y x)), for any y x (PyTorch overflows past 709).
        body: "softplus(-y * x)",
    },
    Template {
        name: "hinge",
        params: &["x", "y"],
        help: "prediction and ±1 label",
        // Keras: max(1 - y x, 0); a tie splits the gradient (Keras 3 on torch).
        body: "max(1.0 - y * x, 0.0)",
    },
    Template {
        name: "squared_hinge",
        params: &["x", "y"],
        help: "prediction and ±1 label",
        body: "max(1.0 - y * x, 0.0).powi(2)",
    },
    Template {
        name: "categorical_hinge",
        params: &["x", "y"],
        help: "predictions and one-hot target",
        // Keras: max(max((1 - y) x) - sum(y x) + 1, 0).
        body: "max(max((1.0 - y) * x) - sum(y * x) + 1.0, 0.0)",
    },
    // ---- divergences ----
    Template {
        name: "kl_div_log_input",
        params: &["input", "target"],
        help: "log-probabilities and probabilities (PyTorch's order)",
        // PyTorch's kl_div, elementwise: target (ln target - input), 0 where target = 0.
        body: "xlogy(target, target) - target * input",
    },
    Template {
        name: "kl_div_log_target",
        params: &["input", "target"],
        help: "log-probabilities and log-probabilities (PyTorch's order)",
        // PyTorch's kl_div with log_target=True, elementwise.
        // t is clamped at -800 inside the product (e^t is 0 there anyway in
        // f64 and f32), so that t = -inf gives 0, the limit, not 0 · -inf.
        body: "exp(target) * (max(target, -800.0) - input)",
    },
    Template {
        name: "generalized_kl",
        params: &["p", "q"],
        help: "two nonnegative vectors",
        // sum(p ln(p / q) - p + q): the KL of unnormalised measures.
        body: "sum(xlogy(p, p) - xlogy(p, q) - p + q)",
    },
    Template {
        name: "js_divergence",
        params: &["p", "q"],
        help: "two probability vectors",
        // 0.5 KL(p || m) + 0.5 KL(q || m), m = (p + q) / 2, natural log.
        body: "0.5 * kl_div(p, 0.5 * (p + q)) + 0.5 * kl_div(q, 0.5 * (p + q))",
    },
    Template {
        name: "entropy",
        params: &["p"],
        help: "a probability vector",
        body: "-sum(xlogy(p, p))",
    },
    // ---- regression ----
    Template {
        name: "l1",
        params: &["x", "y"],
        help: "input and target",
        body: "abs(x - y)",
    },
    Template {
        name: "smooth_l1",
        params: &["x", "y", "beta"],
        help: "input, target and beta",
        // 0.5 d² / beta where |d| < beta, else |d| - beta/2 (beta = 0: |d|).
        // The quadratic piece divides by max(beta, |d|, 1e-30), equal to beta
        // where it is taken, so that the piece not taken stays finite (its
        // gradient would be NaN at beta = 0 otherwise).
        body: "if abs(x - y) < beta { 0.5 * (x - y).powi(2) / max(max(beta, abs(x - y)), 1e-30) } else { abs(x - y) - 0.5 * beta }",
    },
    Template {
        name: "mape",
        params: &["x", "y"],
        help: "prediction and target",
        // Keras: 100 |y - x| / max(|y|, 1e-7), elementwise.
        body: "100.0 * abs((y - x) / max(abs(y), 1e-7))",
    },
    Template {
        name: "msle",
        params: &["x", "y"],
        help: "prediction and target",
        // Keras: (ln(max(x, 1e-7) + 1) - ln(max(y, 1e-7) + 1))², elementwise.
        body: "(log1p(max(x, 1e-7)) - log1p(max(y, 1e-7))).powi(2)",
    },
    Template {
        name: "poisson_nll_log_input",
        params: &["x", "y"],
        help: "log-rate and count",
        // PyTorch's poisson_nll_loss, log_input=True: exp(x) - y x.
        body: "exp(x) - y * x",
    },
    Template {
        name: "poisson_nll",
        params: &["x", "y", "eps"],
        help: "rate, count and eps",
        // PyTorch's poisson_nll_loss, log_input=False: x - y ln(x + eps).
        body: "x - y * ln(x + eps)",
    },
    Template {
        name: "poisson_stirling",
        params: &["y"],
        help: "count",
        // Stirling's term of poisson_nll_loss(full=True), only where y > 1.
        body: "if y > 1.0 { xlogy(y, y) - y + 0.5 * ln(6.283185307179586 * y) } else { 0.0 }",
    },
    Template {
        name: "gaussian_nll",
        params: &["x", "y", "var", "eps"],
        help: "mean, target, variance and eps",
        // PyTorch: 0.5 (ln max(var, eps) + (x - y)² / max(var, eps)), the
        // clamp applied without gradient: below eps the value uses eps and
        // the gradient still reaches var (a straight-through clamp).
        body: "0.5 * (ln(var + detach(max(var, eps) - var)) + (x - y).powi(2) / (var + detach(max(var, eps) - var)))",
    },
    Template {
        name: "keras_poisson",
        params: &["x", "y"],
        help: "predicted rate and count",
        // Keras: x - y ln(x + 1e-7), elementwise.
        body: "x - y * ln(x + 1e-7)",
    },
    // ---- embeddings and ranking ----
    Template {
        name: "cosine_similarity",
        params: &["x", "y"],
        help: "prediction and target vectors",
        // Keras: -sum(normalize(x) normalize(y)), normalize(v) = v min(1/|v|, 1e7).
        // min(1/|v|, 1e7) = 1/sqrt(max(|v|², 1e-14)): finite gradient at a zero vector.
        body: "-sum(x * y) / sqrt(max(sum(x * x), 1e-14)) / sqrt(max(sum(y * y), 1e-14))",
    },
    Template {
        name: "cosine_embedding",
        params: &["a", "b", "y", "margin"],
        help: "two vectors, ±1 label and margin",
        // PyTorch: cos = a·b / sqrt((|a|² + 1e-12)(|b|² + 1e-12));
        // 1 - cos for y = 1, max(0, cos - margin) for y = -1 (inactive at the kink).
        body: "if y > 0.0 { 1.0 - sum(a * b) / sqrt((sum(a * a) + 1e-12) * (sum(b * b) + 1e-12)) } else { positive_part(sum(a * b) / sqrt((sum(a * a) + 1e-12) * (sum(b * b) + 1e-12)) - margin) }",
    },
    Template {
        name: "hinge_embedding",
        params: &["x", "y", "margin"],
        help: "distance, ±1 label and margin",
        // PyTorch: x where y = 1, max(0, margin - x) where y = -1 (inactive at the kink).
        body: "if y > 0.0 { x } else { positive_part(margin - x) }",
    },
    Template {
        name: "margin_ranking",
        params: &["x1", "x2", "y", "margin"],
        help: "two scores, ±1 label and margin",
        // PyTorch: max(0, -y (x1 - x2) + margin), inactive at the kink.
        body: "positive_part(margin - y * (x1 - x2))",
    },
    Template {
        name: "triplet_margin",
        params: &["a", "p", "n", "margin", "eps"],
        help: "anchor, positive, negative, margin and eps",
        // PyTorch, p = 2: d(u, v) = |u - v + eps|₂; max(0, d(a,p) - d(a,n) + margin).
        body: "positive_part(sqrt(sum((a - p + eps).powi(2))) - sqrt(sum((a - n + eps).powi(2))) + margin)",
    },
    Template {
        name: "triplet_margin_swap",
        params: &["a", "p", "n", "margin", "eps"],
        help: "anchor, positive, negative, margin and eps",
        // swap=True: the negative distance is min(d(a,n), d(p,n)).
        body: "positive_part(sqrt(sum((a - p + eps).powi(2))) - min(sqrt(sum((a - n + eps).powi(2))), sqrt(sum((p - n + eps).powi(2)))) + margin)",
    },
    Template {
        name: "triplet_margin_l1",
        params: &["a", "p", "n", "margin", "eps"],
        help: "anchor, positive, negative, margin and eps",
        // p = 1: d(u, v) = |u - v + eps|₁.
        body: "positive_part(sum(abs(a - p + eps)) - sum(abs(a - n + eps)) + margin)",
    },
    Template {
        name: "triplet_margin_l1_swap",
        params: &["a", "p", "n", "margin", "eps"],
        help: "anchor, positive, negative, margin and eps",
        body: "positive_part(sum(abs(a - p + eps)) - min(sum(abs(a - n + eps)), sum(abs(p - n + eps))) + margin)",
    },
];

/// The template called `name`.
pub fn template(name: &str) -> Option<&'static Template> {
    TEMPLATES.iter().find(|t| t.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses_and_names_are_unique() {
        for (k, t) in TEMPLATES.iter().enumerate() {
            let body: syn::Expr =
                syn::parse_str(t.body).unwrap_or_else(|e| panic!("{}: {e}", t.name));
            drop(body);
            assert!(
                TEMPLATES[..k].iter().all(|u| u.name != t.name),
                "{} is declared twice",
                t.name
            );
        }
    }
}
