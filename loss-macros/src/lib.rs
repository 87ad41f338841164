//! The `loss!` compiler. Use it through `loss_core::loss!`; the DSL is
//! documented on the macro and in `docs/dsl.md`.
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
/// The builtins and every error message are listed in `docs/dsl.md`.
#[proc_macro]
pub fn loss(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    compile::loss(input.into()).into()
}
