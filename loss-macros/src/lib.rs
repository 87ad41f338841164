//! The `loss!` compiler. Use it through `loss_core::loss!`; the DSL is
//! documented in `docs/dsl.md` and on `loss_core::loss`.
//!
//! The stages, one module each: [`parse`] (tokens to declarations),
//! [`lower`] (to the IR of [`ir`], names and shapes checked), [`rewrite`]
//! (simplification and stability rewrites), [`diff`] (reverse-mode
//! differentiation), [`schedule`] (passes over rows), [`emit`] (Rust code);
//! [`compile`] runs them in order.
#![forbid(unsafe_code)]

mod compile;
mod diff;
mod emit;
mod errors;
mod ir;
mod lower;
mod parse;
mod rewrite;
mod schedule;

/// Declares losses and generates their fused value and gradient code; see
/// `loss_core::loss` for the documentation.
#[proc_macro]
pub fn loss(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    compile::loss(input.into()).into()
}
