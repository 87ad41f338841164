//! Stage 6: Rust code for a scheduled loss.
//!
//! Emits one module per declaration with `value`, `value_and_grad` and
//! `reference`, plus the formula and the derived gradients as text. The fast
//! functions follow a [`Schedule`]: shapes and labels are checked first (so
//! an error writes nothing), batch-invariant scalars are computed once, and
//! each sample runs its passes; a pass keeps `LANES` independent
//! accumulators per reduction so that the loop vectorises and its sums are
//! blocked. Short rows run in the narrow kernel instead, a row per lane.
//! `reference` is a direct transcription of the lowered formula, generic
//! over `loss_core::Real`.
//!
//! - [`function`]: `value` and `value_and_grad`, from their signature and
//!   checks to the blocks of rows and the run-time dispatch;
//! - [`row`]: the row kernel, a sample's passes over its row;
//! - [`narrow`]: the narrow kernel, for rows shorter than a vector;
//! - [`reference`]: `reference` and `Sample`, for `verify`;
//! - this module: the names the kernels share and the expressions of a
//!   node's value, at each site ([`Site`]) a kernel evaluates it.

use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote};

use crate::ir::{Binary, DimId, Graph, InputId, InputKind, NodeId, Op, Shape, Unary};
use crate::schedule::Schedule;

mod function;
mod narrow;
mod reference;
mod row;

/// The path of the runtime support module.
fn rt() -> TokenStream {
    quote!(::loss_core::__private)
}

/// The batch reduction of a declaration.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Reduce {
    Mean,
    Sum,
    None,
    WeightedMean,
}

/// Everything the emitter needs about one declaration.
pub struct Plan<'a> {
    pub name: &'a Ident,
    /// The declared inputs' identifiers, in order (for spans and names).
    pub input_idents: Vec<Ident>,
    pub reduce: Reduce,
    /// The formula as the user wrote it.
    pub formula: String,
    /// The lowered, unrewritten graph and its value (for `reference`).
    pub reference: (&'a Graph, NodeId),
    /// The weighted mean's per-sample denominator in that graph.
    pub reference_denominator: Option<NodeId>,
    /// The value-only fast path.
    pub value: Program<'a>,
    /// The value-and-gradient fast path.
    pub grad: Program<'a>,
    /// The per-sample denominator of a weighted mean.
    pub denominator: Option<Program<'a>>,
    /// `(input, derived gradient as text)`, for docs and `GRADIENT`.
    pub gradient_text: Vec<(String, String)>,
}

/// A scheduled graph and where its outputs go.
pub struct Program<'a> {
    pub graph: &'a Graph,
    pub schedule: Schedule,
    /// The same work keeping more stashes in spare gradient rows (see
    /// `Slot`), where there is more than one to keep: run by the samples
    /// that have the rows.
    pub spared: Option<Schedule>,
    /// The per-sample loss (or denominator).
    pub value: NodeId,
    /// The gradient of each `#[grad]` input.
    pub grads: Vec<(InputId, NodeId)>,
}

/// A fast-path failure that should never happen: the compiler's own bug,
/// reported as a compile error rather than a panic.
#[derive(Debug)]
pub struct Internal(pub String);

type Result<T> = std::result::Result<T, Internal>;

fn internal<T>(what: impl Into<String>) -> Result<T> {
    Err(Internal(what.into()))
}

/// Checks that no reduction of `program` goes over a number: the schedule
/// puts a reduction in the pass over its operand's row, and a scalar has
/// none, so its result would be a name the emitted code never defines.
fn every_reduction_has_a_row(program: &Program<'_>) -> Result<()> {
    let g = program.graph;
    let mut roots = vec![program.value];
    roots.extend(program.grads.iter().map(|&(_, n)| n));
    match g
        .reachable(&roots)
        .into_iter()
        .find(|&n| matches!(g.op(n), Op::Reduce(_, x) if g.shape(x) == Shape::Scalar))
    {
        Some(n) => internal(format!("a reduction of a number: {}", g.display(n))),
        None => Ok(()),
    }
}

pub fn emit(
    plan: &Plan<'_>,
    vis: &syn::Visibility,
    docs: &[syn::Attribute],
) -> Result<TokenStream> {
    let name = plan.name;
    for program in [&plan.value, &plan.grad]
        .into_iter()
        .chain(&plan.denominator)
    {
        every_reduction_has_a_row(program)?;
    }
    let formula = &plan.formula;
    let grad_pairs = plan.gradient_text.iter().map(|(i, t)| quote!((#i, #t)));
    let grad_doc = if plan.gradient_text.is_empty() {
        "No input is marked `#[grad]`: `value_and_grad` computes the value only.".to_string()
    } else {
        plan.gradient_text
            .iter()
            .map(|(i, t)| format!("- `d/d{i}` = `{t}`\n"))
            .collect::<String>()
    };
    let value_passes = plan.value.schedule.passes().count();
    let grad_passes = plan.grad.schedule.passes().count();
    let module_doc = format!(
        "\n\n# Formula (per sample)\n\n```text\n{formula}\n```\n\n# Derived gradients (per sample, before the batch reduction)\n\n{grad_doc}\n\n\
         Generated by `loss!`: `value` and `value_and_grad` are the fused fast path \
         ({} passes over each row for the value, {} with the gradient); `reference` is the plain \
         transcription of the formula for `verify`.",
        value_passes, grad_passes
    );
    let value_fn = function::fast_fn(plan, false)?;
    let grad_fn = function::fast_fn(plan, true)?;
    let reference_fn = reference::reference_fn(plan)?;
    Ok(quote! {
        #(#docs)*
        #[doc = #module_doc]
        #[allow(clippy::all, clippy::pedantic, unused_variables, unused_mut, non_snake_case, unused_parens)]
        #vis mod #name {
            /// The per-sample formula, as declared.
            pub const FORMULA: &str = #formula;
            /// The derived per-sample gradient of each `#[grad]` input, as `(input, formula)`.
            pub const GRADIENT: &[(&str, &str)] = &[#(#grad_pairs),*];
            /// Passes over each row made by `value`.
            pub const VALUE_PASSES: usize = #value_passes;
            /// Passes over each row made by `value_and_grad`.
            pub const GRAD_PASSES: usize = #grad_passes;

            #value_fn
            #grad_fn
            #reference_fn
        }
    })
}

/// The identifier of a dim's width.
fn dim_ident(d: DimId) -> Ident {
    format_ident!("__dim_{}", d.0)
}

fn dim_float_ident(d: DimId) -> Ident {
    format_ident!("__dimf_{}", d.0)
}

fn row_ident(input: &Ident) -> Ident {
    format_ident!("__{}_row", input)
}

fn grad_ident(input: &Ident) -> Ident {
    format_ident!("__d_{}", input)
}

/// A sample's gradient row of a vector input, in the row kernel.
fn grad_row_ident(input: &Ident) -> Ident {
    format_ident!("__d_{}_row", input)
}

/// The block of rows of a per-row output (a gradient, the losses) that a
/// block of the batch writes.
fn block_ident(input: &Ident) -> Ident {
    format_ident!("__blk_{}", input)
}

fn label_ident(input: &Ident) -> Ident {
    format_ident!("__{}_i", input)
}

fn literal(x: f64) -> TokenStream {
    if x.is_nan() {
        quote!(f64::NAN)
    } else if x == f64::INFINITY {
        quote!(f64::INFINITY)
    } else if x == f64::NEG_INFINITY {
        quote!(f64::NEG_INFINITY)
    } else {
        let l = Literal::f64_suffixed(x);
        quote!(#l)
    }
}

/// Where an element is read inside a pass: at `index`, and, with `lanes`,
/// from per-chunk arrays indexed by lane.
#[derive(Clone, Copy)]
struct Elem<'a> {
    index: &'a TokenStream,
    lanes: bool,
}

/// Where the fast path evaluates a node, which decides how it names values.
#[derive(Clone, Copy)]
enum Site<'a> {
    /// A per-sample scalar of the row kernel.
    Sample,
    /// An element of a pass of the row kernel.
    Element(Elem<'a>),
    /// The narrow kernel (`narrow`): lane `__l` holds one row of a group, so
    /// per-sample scalars are arrays indexed by `__l`; inside a pass
    /// (`column`) the element is column `__j` of each row.
    Rows { column: bool },
    /// The narrow kernel in its row-vector layout (`narrow::Layout`): lane
    /// `__l` of a per-sample array is still one row of the group, but inside
    /// a pass (`element`) the element is number `__j` of row `__l`.
    RowVectors { element: bool },
}

/// A scalar node's value in the fast path.
fn scalar_ref(g: &Graph, n: NodeId, idents: &[Ident]) -> Result<TokenStream> {
    leaf_or_named(g, n, idents, Site::Sample)
}

/// An element `j` of a node (vector or broadcast scalar) inside a pass.
fn element_ref(g: &Graph, n: NodeId, idents: &[Ident], j: Elem<'_>) -> Result<TokenStream> {
    leaf_or_named(g, n, idents, Site::Element(j))
}

/// A label's class index at `site`: a `usize` in the row kernel, a lane's
/// `u32` (every class fits: the narrow kernel takes short rows only) widened
/// in the narrow one.
fn label_ref(label: &Ident, site: Site<'_>) -> TokenStream {
    match site {
        Site::Rows { .. } | Site::RowVectors { .. } => quote!((#label[__l] as usize)),
        _ => quote!(#label),
    }
}

fn leaf_or_named(g: &Graph, n: NodeId, idents: &[Ident], site: Site<'_>) -> Result<TokenStream> {
    let rt = rt();
    Ok(match g.op(n) {
        Op::Const(bits) => {
            let l = literal(f64::from_bits(bits));
            quote!(<F as ::loss_core::Real>::from_f64(#l))
        }
        Op::Input(i) => {
            let ident = &idents[i.0 as usize];
            match (g.inputs[i.0 as usize].kind, site) {
                (InputKind::Scalar, _) => quote!(#ident),
                (InputKind::PerSample, Site::Rows { .. } | Site::RowVectors { .. }) => {
                    let v = label_ident(ident);
                    quote!(#v[__l])
                }
                (InputKind::PerSample, _) => {
                    let v = label_ident(ident);
                    quote!(#v)
                }
                (InputKind::Vector(_), Site::Element(at)) => {
                    let row = row_ident(ident);
                    let j = at.index;
                    quote!(#row[#j])
                }
                (InputKind::Vector(_), Site::Rows { column: true }) => {
                    let columns = narrow::columns_ident(ident);
                    quote!(#columns[__j][__l])
                }
                (InputKind::Weights(_), Site::Element(at)) => {
                    let j = at.index;
                    quote!(#ident[#j])
                }
                (InputKind::Weights(_), Site::Rows { column: true }) => quote!(#ident[__j]),
                (InputKind::Vector(_), Site::RowVectors { element: true }) => {
                    let rows = narrow::row_vectors_ident(ident);
                    quote!(#rows[__l][__j])
                }
                (InputKind::Weights(_), Site::RowVectors { element: true }) => {
                    let v = narrow::weights_vector_ident(ident);
                    quote!(#v[__j])
                }
                _ => return internal(format!("vector input `{ident}` used as a scalar")),
            }
        }
        Op::DimLen(d) => {
            let f = dim_float_ident(d);
            quote!(#f)
        }
        Op::OneHot(i) => {
            let l = label_ident(&idents[i.0 as usize]);
            match site {
                Site::Element(_) => quote!(#rt::onehot::<F>(__jj, #l)),
                // A 32-bit compare, one vector instruction per 8 lanes, of
                // the column index the narrow kernel keeps opaque (`__j32`,
                // see `narrow::emit_pass`).
                Site::Rows { column: true } => quote!(#rt::onehot_lane::<F>(__j32, #l[__l])),
                Site::RowVectors { element: true } => {
                    quote!(#rt::onehot_lane::<F>(__j as u32, #l[__l]))
                }
                _ => return internal("onehot used as a scalar"),
            }
        }
        _ => match (g.shape(n), site) {
            (Shape::Vector(_), Site::Element(at)) => {
                let id = format_ident!("__e{}", n.0);
                let j = at.index;
                if at.lanes {
                    quote!(#id[#j])
                } else {
                    quote!(#id)
                }
            }
            // An element of the column being computed, one per lane.
            (Shape::Vector(_), Site::Rows { column: true }) => {
                let id = format_ident!("__e{}", n.0);
                quote!(#id[__l])
            }
            // Number `__j` of the row being computed.
            (Shape::Vector(_), Site::RowVectors { element: true }) => {
                let id = format_ident!("__e{}", n.0);
                quote!(#id[__j])
            }
            (Shape::Vector(_), _) => return internal("a vector node used as a scalar"),
            (Shape::Scalar, _) => {
                // Hoisted scalars are `__h` (one for the batch), per-sample
                // ones `__s` (one per lane in the narrow kernel): the
                // schedule's hoisting rule decides.
                if is_hoisted_name(g, n) {
                    let id = format_ident!("__h{}", n.0);
                    quote!(#id)
                } else {
                    let id = format_ident!("__s{}", n.0);
                    match site {
                        Site::Rows { .. } | Site::RowVectors { .. } => quote!(#id[__l]),
                        _ => quote!(#id),
                    }
                }
            }
        },
    })
}

/// `true` if a scalar node depends only on batch-wide inputs and constants
/// (the rule `schedule` hoists by).
fn is_hoisted_name(g: &Graph, n: NodeId) -> bool {
    fn invariant(g: &Graph, n: NodeId) -> bool {
        match g.op(n) {
            Op::Const(_) | Op::DimLen(_) => true,
            Op::Input(i) => g.inputs[i.0 as usize].kind == InputKind::Scalar,
            Op::Reduce(..) | Op::Index(..) | Op::OneHot(_) => false,
            op => g.shape(n) == Shape::Scalar && op.operands().all(|a| invariant(g, a)),
        }
    }
    invariant(g, n)
}

/// The elementary functions with a kernel in `loss_core::math`: the name of
/// the `Real` method (reference path, and the fast path's plain flavour;
/// none for `expm1mx`, which only the simplifier makes and so never reaches
/// a reference) and of the `FastMath` method that takes the flavour
/// (`exp_with::<M>`).
fn elementary(u: Unary) -> Option<(Option<&'static str>, &'static str)> {
    Some(match u {
        Unary::Exp => (Some("exp"), "exp_with"),
        Unary::Ln => (Some("ln"), "ln_with"),
        Unary::Log1p => (Some("ln_1p"), "ln_1p_with"),
        Unary::Expm1 => (Some("exp_m1"), "exp_m1_with"),
        Unary::Expm1mx => (None, "exp_m1_minus_x_with"),
        Unary::Sigmoid => (Some("sigmoid"), "sigmoid_with"),
        Unary::Softplus => (Some("softplus"), "softplus_with"),
        Unary::Tanh => (Some("tanh"), "tanh_with"),
        _ => return None,
    })
}

/// The elementwise operations both paths write as calls of `Real` (on `real`,
/// the path's number type) or as operators; `None` for the others, which
/// each path handles itself.
fn real_unary(u: Unary, a: &TokenStream, real: &TokenStream) -> Option<TokenStream> {
    Some(match u {
        Unary::Exp
        | Unary::Ln
        | Unary::Log1p
        | Unary::Expm1
        | Unary::Sigmoid
        | Unary::Softplus
        | Unary::Tanh => {
            let method = format_ident!("{}", elementary(u)?.0?);
            quote!(#real::#method(#a))
        }
        Unary::Neg => quote!(-#a),
        Unary::Sqrt => quote!(#real::sqrt(#a)),
        Unary::Abs => quote!(#real::abs(#a)),
        // A stop-gradient: the value itself (`Real::detached` drops a dual
        // number's derivative in the reference path; the fast path has no
        // derivative to drop).
        Unary::Detach => quote!(#real::detached(#a)),
        Unary::Recip | Unary::Sign | Unary::FiniteOrZero | Unary::Expm1mx => return None,
    })
}

/// See [`real_unary`].
fn real_binary(
    b: Binary,
    x: &TokenStream,
    y: &TokenStream,
    real: &TokenStream,
) -> Option<TokenStream> {
    Some(match b {
        Binary::Add => quote!(#x + #y),
        Binary::Sub => quote!(#x - #y),
        Binary::Mul => quote!(#x * #y),
        Binary::Div => quote!(#x / #y),
        Binary::Max => quote!(#real::max(#x, #y)),
        Binary::Min => quote!(#real::min(#x, #y)),
        Binary::Pow => quote!(#real::powf(#x, #y)),
        Binary::Xlogy => quote!(#real::xlogy(#x, #y)),
        Binary::Xdivy | Binary::Gt | Binary::Eq | Binary::Ge | Binary::ExpDiff => return None,
    })
}

/// The expression computing node `n` from its operands (fast path).
fn fast_expr(g: &Graph, n: NodeId, idents: &[Ident], site: Site<'_>) -> Result<TokenStream> {
    let rt = rt();
    let arg = |a: NodeId| leaf_or_named(g, a, idents, site);
    let real = quote!(<F as ::loss_core::Real>);
    Ok(match g.op(n) {
        Op::Unary(u, a) => {
            let a = arg(a)?;
            // The elementary kernels in the flavour `__M` of this copy of
            // the work (see `fast_fn`): fused multiply-adds where the CPU
            // has FMA.
            if let Some((_, method)) = elementary(u) {
                let method = format_ident!("{method}");
                return Ok(quote!(<F as ::loss_core::math::FastMath>::#method::<__M>(#a)));
            }
            match real_unary(u, &a, &real) {
                Some(e) => e,
                None => match u {
                    Unary::Recip => quote!(<F as ::loss_core::Float>::ONE / #a),
                    Unary::Sign => quote!(#rt::sign(#a)),
                    _ => quote!(#rt::finite_or_zero(#a)),
                },
            }
        }
        Op::Binary(b, x, y) => {
            let (x, y) = (arg(x)?, arg(y)?);
            match b {
                Binary::Xlogy => return Ok(quote!(#rt::xlogy::<__M, F>(#x, #y))),
                Binary::ExpDiff => return Ok(quote!(#rt::exp_diff::<__M, F>(#x, #y))),
                _ => {}
            }
            match real_binary(b, &x, &y, &real) {
                Some(e) => e,
                None => match b {
                    Binary::Xdivy => quote!(#rt::xdivy(#x, #y)),
                    Binary::Gt => quote!(#rt::gt(#x, #y)),
                    Binary::Ge => quote!(#rt::ge(#x, #y)),
                    _ => quote!(#rt::eq(#x, #y)),
                },
            }
        }
        Op::Powi(a, 2) => {
            let a = arg(a)?;
            quote!({ let __t: F = #a; __t * __t })
        }
        Op::Powi(a, k) => {
            let a = arg(a)?;
            quote!(#real::powi(#a, #k))
        }
        Op::Select(c, a, b) => {
            let (c, a, b) = (arg(c)?, arg(a)?, arg(b)?);
            quote!(#rt::select(#c, #a, #b))
        }
        Op::Index(v, y) => {
            let label = label_ref(&label_ident(&idents[y.0 as usize]), site);
            match g.op(v) {
                Op::Input(i) => {
                    let ident = &idents[i.0 as usize];
                    match (g.inputs[i.0 as usize].kind, site) {
                        (InputKind::Vector(_), Site::Rows { .. }) => {
                            let columns = narrow::columns_ident(ident);
                            quote!(#columns[#label][__l])
                        }
                        (InputKind::Vector(_), Site::RowVectors { .. }) => {
                            let rows = narrow::row_vectors_ident(ident);
                            quote!(#rows[__l][#label])
                        }
                        (InputKind::Vector(_), _) => {
                            let row = row_ident(ident);
                            quote!(#row[#label])
                        }
                        _ => quote!(#ident[#label]),
                    }
                }
                Op::OneHot(other) => {
                    let l2 = label_ref(&label_ident(&idents[other.0 as usize]), site);
                    quote!(#rt::onehot::<F>(#label, #l2))
                }
                _ => return internal("an index of a computed vector survived simplification"),
            }
        }
        _ => return leaf_or_named(g, n, idents, site),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::Reduction;
    use crate::schedule::{schedule, Output};

    #[test]
    fn literals_cover_non_finite_constants() {
        assert_eq!(literal(f64::NAN).to_string(), "f64 :: NAN");
        assert_eq!(literal(-f64::INFINITY).to_string(), "f64 :: NEG_INFINITY");
        assert_eq!(literal(0.5).to_string(), "0.5f64");
    }

    /// A reduction of a number is the compiler's bug, reported as one, not
    /// code that names a sum it never computed.
    #[test]
    fn a_reduction_of_a_number_is_an_internal_error() {
        let mut g = crate::ir::tests::sample_graph();
        let t = g.intern(Op::Input(InputId(2)));
        let z = g.intern(Op::Input(InputId(0)));
        let sum_t = g.intern(Op::Reduce(Reduction::Sum, t));
        let sum_z = g.intern(Op::Reduce(Reduction::Sum, z));
        let program = |value| Program {
            schedule: schedule(&g, &[Output::Scalar(value)], 0),
            graph: &g,
            spared: None,
            value,
            grads: vec![],
        };
        let Err(Internal(what)) = every_reduction_has_a_row(&program(sum_t)) else {
            panic!("a sum of a scalar passed")
        };
        assert_eq!(what, "a reduction of a number: sum(t)");
        assert!(every_reduction_has_a_row(&program(sum_z)).is_ok());
    }
}
