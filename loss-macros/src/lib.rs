//! The `loss!` compiler. Use it through `loss_core::loss!`; the DSL is
//! documented on the macro and in the repository's `docs/dsl.md`.
//!
//! The stages, one module each, data flowing one way: `parse` (tokens to
//! declarations), `lower` (to the IR of `ir`, names and shapes checked),
//! `rewrite` (simplification and stability rewrites), `diff` (reverse-mode
//! differentiation), `factor` (elementwise sums of products, per-row
//! coefficients), `schedule` (passes over rows), `emit` (Rust code);
//! `compile` runs them in order.
#![forbid(unsafe_code)]

mod builtins;
mod compile;
mod diff;
mod emit;
mod errors;
mod factor;
#[cfg(test)]
mod interp;
mod ir;
mod lower;
mod parse;
mod rewrite;
mod schedule;

/// Declares losses; generates their fused value and gradient code.
///
/// Each declaration is a Rust-shaped function whose body is the loss of ONE
/// sample; the batch is implicit. At compile time the macro differentiates
/// the body symbolically, rewrites it into numerically stable form and emits
/// a module of the same name with:
///
/// - `value(inputs...) -> Result<F, LossError>`: the reduced loss;
/// - `value_and_grad(inputs..., grads...) -> Result<F, LossError>`: the same,
///   writing the gradient of every `#[grad]` input into caller buffers;
/// - `reference(one sample's inputs) -> Result<R, LossError>`: the formula
///   transcribed without fusion, generic over `loss_core::Real`, for `verify`;
/// - `FORMULA`, `GRADIENT` (the derived gradients as text), and the number
///   of passes over each row, `VALUE_PASSES` and `GRAD_PASSES`.
///
/// `F` is `f32` or `f64`; vector inputs are `loss_core::Rows` (a slice and
/// its shape) or nalgebra matrices holding one sample per column. Nothing
/// allocates; bad shapes and labels are errors naming the input.
///
/// ```
/// use loss_core::{loss, Rows};
///
/// loss! {
///     /// Knowledge distillation: hard-label cross-entropy plus the
///     /// temperature-scaled KL to a teacher.
///     #[reduce(mean)]
///     pub fn distill(
///         #[grad] s: Vector<C>, // student logits
///         t: Vector<C>,         // teacher logits
///         y: Class<C>,          // labels in 0..C
///         alpha: Scalar, beta: Scalar, temp: Scalar,
///     ) {
///         alpha * cross_entropy(s, y)
///             + beta * temp.powi(2) * kl_div(softmax(t / temp), softmax(s / temp))
///     }
/// }
///
/// let s = [1.0_f32, 2.0, 0.5, -1.0, 0.0, 3.0];
/// let t = [0.5_f32, 2.5, 0.0, 0.0, 0.5, 2.0];
/// let mut ds = [0.0_f32; 6];
/// let loss = distill::value_and_grad(
///     Rows::new(&s, 2, 3), Rows::new(&t, 2, 3), &[1_usize, 2], 0.5, 0.5, 4.0, &mut ds[..],
/// )?;
/// assert!(loss > 0.0);
/// assert_eq!(distill::GRADIENT[0].0, "s");
/// # Ok::<(), loss_core::LossError>(())
/// ```
///
/// Input types: `Vector<D>` (a float row per sample over dim `D`),
/// `Class<D>` (an integer label in `0..D` per sample), `PerSample` (a float
/// per sample), `Scalar` (a float shared by the batch), `Weights<D>` (a float
/// row shared by the batch). Reductions: `#[reduce(mean)]` (the default),
/// `#[reduce(sum)]`, `#[reduce(none)]`, `#[reduce(mean, denominator = EXPR)]`.
///
/// # Builtins
///
/// - Operators: `+ - * /`, unary `-`, `v[y]` (the element at a label), and
///   `if a > b { x } else { y }` (any comparison).
/// - Elementwise: `exp`, `ln`, `log1p` (or `ln_1p`), `expm1` (or `exp_m1`),
///   `sqrt`, `abs`, `tanh`, `sigmoid`, `softplus`, `powi`, `powf`, `max`,
///   `min`, `clamp`, `xlogy`, `onehot`, `detach`. Each also has Rust's
///   method form (`x.exp()`, `x.powi(2)`, `a.max(b)`).
/// - Over a vector's dim: `sum`, `mean`, `logsumexp`, and `max`, `min` with
///   one argument.
/// - Vector to vector: `softmax`, `log_softmax`.
/// - Losses: `cross_entropy` (label or probability target), `kl_div`,
///   `binary_cross_entropy_with_logits`, `mse`.
/// - Losses written in the DSL itself (`loss_core::losses` calls them):
///   `label_smoothed_cross_entropy`, `weighted_cross_entropy`,
///   `weighted_soft_cross_entropy`, `nll_loss`, `binary_cross_entropy`,
///   `binary_cross_entropy_value`, `binary_cross_entropy_with_logits_pos_weight`,
///   `sigmoid_focal_loss`, `poly1_cross_entropy`, `positive_part`,
///   `multi_margin`, `multi_margin_squared`, `multilabel_soft_margin`,
///   `soft_margin`, `hinge`, `squared_hinge`, `categorical_hinge`,
///   `kl_div_log_input`, `kl_div_log_target`, `generalized_kl`,
///   `js_divergence`, `entropy`, `l1`, `smooth_l1`, `huber`, `log_cosh`,
///   `mape`, `msle`, `keras_poisson`, `poisson_nll_log_input`,
///   `poisson_nll`, `poisson_stirling`, `gaussian_nll`, `cosine_similarity`,
///   `cosine_embedding`, `hinge_embedding`, `margin_ranking`,
///   `triplet_margin`, `triplet_margin_swap`, `triplet_margin_l1`,
///   `triplet_margin_l1_swap`.
///
/// The repository's `docs/dsl.md` gives each builtin's formula and
/// gradient, the grammar, and every error message; `docs/losses.md` maps the
/// losses to PyTorch, Keras and optax.
#[proc_macro]
pub fn loss(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    compile::loss(input.into()).into()
}
