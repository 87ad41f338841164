//! `reference` and `Sample`: the lowered formula of one sample, transcribed
//! without fusion or rewriting and generic over `loss_core::Real`, for
//! `verify` to evaluate in exact interval arithmetic and dual numbers.

use std::collections::{BTreeSet, HashSet};

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use super::{dim_ident, internal, literal, real_binary, real_unary, rt, Plan, Reduce, Result};
use crate::ir::{Binary, DimId, Graph, InputKind, NodeId, Op, Reduction, Shape, Unary};

/// `reference`: the lowered formula for one sample, generic over `Real`.
pub(super) fn reference_fn(plan: &Plan<'_>) -> Result<TokenStream> {
    let (g, value) = plan.reference;
    let idents = &plan.input_idents;
    let rt = rt();
    // `__reference_rows` reads vector inputs through `RefRow`, so that the
    // same transcription serves `reference` (slices of `R`) and `Sample`
    // (rows of the fast type, converted element by element, or a slice of
    // the point being checked): no allocation anywhere.
    let mut row_generics = Vec::new();
    let mut params = Vec::new();
    let mut public_params = Vec::new();
    let mut args = Vec::new();
    for (k, (input, ident)) in g.inputs.iter().zip(idents).enumerate() {
        match input.kind {
            InputKind::Vector(_) | InputKind::Weights(_) => {
                let t = format_ident!("__Row{}", k);
                row_generics.push(quote!(#t: #rt::RefRow<R> + ?Sized));
                params.push(quote!(#ident: &#t));
                public_params.push(quote!(#ident: &[R]));
            }
            InputKind::Class(_) => {
                params.push(quote!(#ident: usize));
                public_params.push(quote!(#ident: usize));
            }
            InputKind::PerSample | InputKind::Scalar => {
                params.push(quote!(#ident: R));
                public_params.push(quote!(#ident: R));
            }
        }
        args.push(quote!(#ident));
    }
    let mut checks = Vec::new();
    let dims: BTreeSet<DimId> = g
        .inputs
        .iter()
        .filter_map(|i| match i.kind {
            InputKind::Vector(d) | InputKind::Weights(d) => Some(d),
            _ => None,
        })
        .collect();
    for &d in &dims {
        let di = format_ident!("__dimcheck_{}", d.0);
        let dn = &g.dims[d.0 as usize];
        checks.push(quote!(let mut #di = #rt::Dim::new(#dn);));
        for (input, ident) in g.inputs.iter().zip(idents) {
            if matches!(input.kind, InputKind::Vector(e) | InputKind::Weights(e) if e == d) {
                let name = ident.to_string();
                checks.push(quote!(#di.width(#name, #rt::RefRow::<R>::len(#ident))?;));
            }
        }
        let dim = dim_ident(d);
        checks.push(quote!(let #dim = #di.size(); #di.nonempty(1)?;));
    }
    for (input, ident) in g.inputs.iter().zip(idents) {
        if let InputKind::Class(d) = input.kind {
            let name = ident.to_string();
            let dim = dim_ident(d);
            checks.push(quote!(#rt::label_in_range(#name, #ident, #dim)?;));
        }
    }
    let mut roots = vec![value];
    roots.extend(plan.reference_denominator);
    let mut lets = Vec::new();
    for n in g.reachable(&roots) {
        if g.shape(n) == Shape::Scalar
            && !matches!(g.op(n), Op::Const(_) | Op::Input(_) | Op::DimLen(_))
            && !is_comparison(g, n)
        {
            let id = format_ident!("__s{}", n.0);
            let e = reference_expr(g, n, idents, None)?;
            lets.push(quote!(let #id: R = #e;));
        }
    }
    let result = reference_ref(g, value, idents, None)?;
    let denominator = match plan.reference_denominator {
        Some(d) => reference_ref(g, d, idents, None)?,
        None => quote!(<R as ::loss_core::Real>::from_f64(1.0)),
    };
    let row_holes: Vec<TokenStream> = row_generics.iter().map(|_| quote!(_)).collect();
    let sample = sample_type(plan, &row_holes)?;
    Ok(quote! {
        /// The per-sample loss, transcribed from the formula without fusion or
        /// rewriting, in any `Real` number type: what `verify` evaluates in exact
        /// interval arithmetic and in dual numbers.
        ///
        /// Vector inputs are one row; a label is its class index.
        ///
        /// # Errors
        ///
        /// A `LossError` if rows of one dim differ in length, a reduced dim is
        /// empty, or a label is out of range.
        #[allow(clippy::too_many_arguments)]
        pub fn reference<R: ::loss_core::Real>(#(#public_params),*) -> ::core::result::Result<R, ::loss_core::LossError> {
            __reference_rows::<R, #(#row_holes),*>(#(#args),*).map(|(value, _)| value)
        }

        /// `reference`, with rows read through `RefRow`; returns the loss
        /// and the weighted mean's denominator (1 without one).
        #[doc(hidden)]
        #[allow(clippy::too_many_arguments)]
        pub fn __reference_rows<R: ::loss_core::Real, #(#row_generics),*>(#(#params),*)
            -> ::core::result::Result<(R, R), ::loss_core::LossError>
        {
            #(#checks)*
            #(#lets)*
            Ok((#result, #denominator))
        }

        #sample
    })
}

/// `Sample`: one sample's inputs as a function of its `#[grad]` inputs,
/// for `verify` (the `loss_core::ScalarFn` and `loss_core::SampleLoss`
/// implementations).
fn sample_type(plan: &Plan<'_>, row_holes: &[TokenStream]) -> Result<TokenStream> {
    let (g, _) = plan.reference;
    let idents = &plan.input_idents;
    let rt = rt();
    let mut fields = Vec::new();
    for (input, ident) in g.inputs.iter().zip(idents) {
        let doc = format!(
            "`{ident}` of this sample{}.",
            if input.grad {
                " (the point where the gradient is checked)"
            } else {
                ""
            }
        );
        fields.push(match input.kind {
            InputKind::Vector(_) | InputKind::Weights(_) => {
                quote!(#[doc = #doc] pub #ident: &'a [F])
            }
            InputKind::Class(_) => quote!(#[doc = #doc] pub #ident: usize),
            InputKind::PerSample | InputKind::Scalar => quote!(#[doc = #doc] pub #ident: F),
        });
    }
    // The flat layout of the `#[grad]` inputs: (input, width expression).
    let grads: Vec<(usize, TokenStream)> = g
        .inputs
        .iter()
        .zip(idents)
        .enumerate()
        .filter(|(_, (i, _))| i.grad)
        .map(|(k, (i, ident))| {
            let width = match i.kind {
                InputKind::Vector(_) | InputKind::Weights(_) => quote!(self.#ident.len()),
                _ => quote!(1usize),
            };
            (k, width)
        })
        .collect();
    let widths: Vec<&TokenStream> = grads.iter().map(|(_, w)| w).collect();
    // eval: each input from `x` (if #[grad]) or converted from `self`.
    let mut eval_lets = Vec::new();
    let mut point_writes = Vec::new();
    let mut fast_lets = Vec::new();
    let mut fast_args = Vec::new();
    let mut fast_grads = Vec::new();
    let mut offset = quote!(0usize);
    for (k, (input, ident)) in g.inputs.iter().zip(idents).enumerate() {
        let is_vector = matches!(input.kind, InputKind::Vector(_) | InputKind::Weights(_));
        if input.grad {
            let width = &grads.iter().find(|(i, _)| *i == k).expect("a grad input").1;
            let start = offset.clone();
            let end = quote!((#start + #width));
            offset = end.clone();
            let slot = format_ident!("__x_{}", ident);
            let gslot = format_ident!("__g_{}", ident);
            eval_lets.push(if is_vector {
                quote!(let #ident: &[R] = match __x.get(#start..#end) { Some(v) => v, None => return __nan };)
            } else {
                quote!(let #ident: R = match __x.get(#start) { Some(v) => v.clone(), None => return __nan };)
            });
            point_writes.push(if is_vector {
                quote!(if let Some(__o) = __out.get_mut(#start..#end) { __o.copy_from_slice(self.#ident); })
            } else {
                quote!(if let Some(__o) = __out.get_mut(#start) { *__o = self.#ident; })
            });
            fast_lets.push(if is_vector {
                quote!(let #slot: &[F] = __x.get(#start..#end).ok_or(__short("x", __x.len()))?;)
            } else {
                quote!(let #slot: F = *__x.get(#start).ok_or(__short("x", __x.len()))?;)
            });
            fast_args.push(match input.kind {
                InputKind::Vector(_) => quote!(::loss_core::Rows::new(#slot, 1, #slot.len())),
                InputKind::Weights(_) => quote!(#slot),
                InputKind::PerSample => quote!(&[#slot][..]),
                _ => quote!(#slot),
            });
            fast_grads.push((input.kind, gslot, start, end));
        } else {
            if is_vector {
                eval_lets.push(quote!(let #ident = #rt::ConvertedRow(self.#ident);));
            } else if !matches!(input.kind, InputKind::Class(_)) {
                eval_lets.push(quote!(let #ident: R = <R as ::loss_core::Real>::from_f64(::loss_core::Float::to_f64(self.#ident));));
            } else {
                eval_lets.push(quote!(let #ident: usize = self.#ident;));
            }
            fast_args.push(match input.kind {
                InputKind::Vector(_) => {
                    quote!(::loss_core::Rows::new(self.#ident, 1, self.#ident.len()))
                }
                InputKind::Weights(_) => quote!(self.#ident),
                InputKind::PerSample => quote!(&[self.#ident][..]),
                // A sample being checked is never ignored.
                InputKind::Class(_) if input.ignore_index => quote!(&[self.#ident][..], i64::MIN),
                InputKind::Class(_) => quote!(&[self.#ident][..]),
                InputKind::Scalar => quote!(self.#ident),
            });
        }
    }
    let eval_args: Vec<TokenStream> = g
        .inputs
        .iter()
        .zip(idents)
        .map(|(input, ident)| match input.kind {
            InputKind::Vector(_) | InputKind::Weights(_) if !input.grad => quote!(&#ident),
            _ => quote!(#ident),
        })
        .collect();
    // value_and_grad on the one-sample batch.
    let mut grad_splits = Vec::new();
    let mut grad_args = Vec::new();
    let mut scalar_finish = Vec::new();
    for (kind, gslot, start, end) in &fast_grads {
        match kind {
            InputKind::Vector(_) | InputKind::Weights(_) | InputKind::PerSample => {
                grad_splits
                    .push(quote!(let (#gslot, __grad) = __grad.split_at_mut(#end - #start);));
                grad_args.push(quote!(#gslot));
            }
            _ => {
                let tmp = format_ident!("{}_scalar", gslot);
                grad_splits.push(quote!(let (#gslot, __grad) = __grad.split_at_mut(1); let mut #tmp = <F as ::loss_core::Float>::ZERO;));
                grad_args.push(quote!(&mut #tmp));
                scalar_finish.push(quote!(#gslot[0] = #tmp;));
            }
        }
    }
    // A sample with no row (only scalars) borrows nothing.
    let borrows = g
        .inputs
        .iter()
        .any(|i| matches!(i.kind, InputKind::Vector(_) | InputKind::Weights(_)));
    let (lifetime, anonymous) = if borrows {
        (quote!('a,), quote!('_,))
    } else {
        (quote!(), quote!())
    };
    let none = plan.reduce == Reduce::None;
    let call = if none {
        quote!({
            let mut __loss = [<F as ::loss_core::Float>::ZERO];
            value_and_grad(#(#fast_args,)* &mut __loss[..], &[<F as ::loss_core::Float>::ONE][..], #(#grad_args),*)?;
            __loss[0]
        })
    } else {
        quote!(value_and_grad(#(#fast_args,)* #(#grad_args),*)?)
    };
    Ok(quote! {
        /// One sample, for checking this loss with `verify`: every input of
        /// the sample (the `#[grad]` ones give the point to check at).
        ///
        /// As a `loss_core::ScalarFn` it is the loss of the batch made of this
        /// one sample, as a function of the `#[grad]` inputs flattened in
        /// declaration order (`value_and_grad` on one row computes the same
        /// value and gradient); `loss_core::SampleLoss` runs that fast path.
        #[derive(Clone, Copy, Debug)]
        pub struct Sample<#lifetime F> {
            #(#fields,)*
        }

        impl<F: ::loss_core::Float> ::loss_core::ScalarFn for Sample<#anonymous F> {
            fn eval<R: ::loss_core::Real>(&self, __x: &[R]) -> R {
                let __nan = <R as ::loss_core::Real>::from_f64(f64::NAN);
                #(#eval_lets)*
                match __reference_rows::<R, #(#row_holes),*>(#(#eval_args),*) {
                    Ok((value, denominator)) => value / denominator,
                    Err(_) => __nan,
                }
            }
        }

        impl<F: ::loss_core::Float> ::loss_core::SampleLoss<F> for Sample<#anonymous F> {
            fn len(&self) -> usize {
                0usize #(+ #widths)*
            }

            fn point(&self, __out: &mut [F]) -> ::core::result::Result<(), ::loss_core::LossError> {
                #rt::buffer("out", __out.len(), ::loss_core::SampleLoss::<F>::len(self))?;
                #(#point_writes)*
                Ok(())
            }

            fn value_and_grad(&self, __x: &[F], __grad: &mut [F]) -> ::core::result::Result<F, ::loss_core::LossError> {
                let __short = |input: &'static str, found: usize| ::loss_core::LossError::BufferLength {
                    input, found, expected: ::loss_core::SampleLoss::<F>::len(self),
                };
                if __x.len() != ::loss_core::SampleLoss::<F>::len(self) {
                    return Err(__short("x", __x.len()));
                }
                if __grad.len() != ::loss_core::SampleLoss::<F>::len(self) {
                    return Err(__short("grad", __grad.len()));
                }
                #(#fast_lets)*
                #(#grad_splits)*
                let _ = __grad;
                let __value = #call;
                #(#scalar_finish)*
                Ok(__value)
            }
        }
    })
}

/// A comparison node: the reference path reads its operands where a select
/// uses it, and never computes it as a number.
fn is_comparison(g: &Graph, n: NodeId) -> bool {
    matches!(
        g.op(n),
        Op::Binary(Binary::Gt | Binary::Ge | Binary::Eq, ..)
    )
}

fn reference_ref(
    g: &Graph,
    n: NodeId,
    idents: &[Ident],
    j: Option<&TokenStream>,
) -> Result<TokenStream> {
    Ok(match g.op(n) {
        Op::Const(bits) => {
            let l = literal(f64::from_bits(bits));
            quote!(<R as ::loss_core::Real>::from_f64(#l))
        }
        Op::Input(i) => {
            let ident = &idents[i.0 as usize];
            match (g.inputs[i.0 as usize].kind, j) {
                (InputKind::Scalar | InputKind::PerSample, _) => quote!(#ident.clone()),
                (InputKind::Vector(_) | InputKind::Weights(_), Some(j)) => {
                    let rt = rt();
                    quote!(#rt::RefRow::<R>::at(#ident, #j))
                }
                _ => return internal(format!("vector input `{ident}` used as a scalar")),
            }
        }
        Op::DimLen(d) => {
            let dim = dim_ident(d);
            let rt = rt();
            quote!(#rt::ref_len::<R>(#dim))
        }
        Op::OneHot(i) => match j {
            Some(j) => {
                let ident = &idents[i.0 as usize];
                quote!((if #j == #ident { <R as ::loss_core::Real>::from_f64(1.0) } else { <R as ::loss_core::Real>::from_f64(0.0) }))
            }
            None => return internal("onehot used as a scalar"),
        },
        _ => match g.shape(n) {
            Shape::Vector(_) => match j {
                Some(_) => {
                    let id = format_ident!("__e{}", n.0);
                    quote!(#id.clone())
                }
                None => return internal("a vector node used as a scalar"),
            },
            Shape::Scalar => {
                let id = format_ident!("__s{}", n.0);
                quote!(#id.clone())
            }
        },
    })
}

/// A closure `|j| element j of v` for the reference path.
fn reference_element_closure(g: &Graph, v: NodeId, idents: &[Ident]) -> Result<TokenStream> {
    let j = quote!(__j);
    let mut seen = HashSet::new();
    let mut stack = vec![v];
    while let Some(n) = stack.pop() {
        if g.shape(n) == Shape::Scalar || !seen.insert(n) {
            continue;
        }
        stack.extend(g.op(n).operands());
    }
    let mut nodes: Vec<NodeId> = seen.into_iter().collect();
    nodes.sort();
    let mut lets = Vec::new();
    for n in nodes {
        if matches!(g.op(n), Op::Input(_) | Op::OneHot(_)) || is_comparison(g, n) {
            continue;
        }
        let id = format_ident!("__e{}", n.0);
        let e = reference_expr(g, n, idents, Some(&j))?;
        lets.push(quote!(let #id: R = #e;));
    }
    let r = reference_ref(g, v, idents, Some(&j))?;
    Ok(quote!(|__j: usize| -> R { #(#lets)* #r }))
}

fn reference_expr(
    g: &Graph,
    n: NodeId,
    idents: &[Ident],
    j: Option<&TokenStream>,
) -> Result<TokenStream> {
    let rt = rt();
    let arg = |a: NodeId| reference_ref(g, a, idents, j);
    let real = quote!(<R as ::loss_core::Real>);
    Ok(match g.op(n) {
        Op::Unary(u, a) => {
            let a = arg(a)?;
            match (real_unary(u, &a, &real), u) {
                (Some(e), _) => e,
                (None, Unary::Recip) => quote!(#real::from_f64(1.0) / #a),
                (None, _) => return internal("a fast path's own function in a reference"),
            }
        }
        Op::Binary(b, x, y) => {
            let (x, y) = (arg(x)?, arg(y)?);
            match real_binary(b, &x, &y, &real) {
                Some(e) => e,
                None => return internal("a comparison in a reference"),
            }
        }
        Op::Powi(a, k) => {
            let a = arg(a)?;
            quote!(#real::powi(#a, #k))
        }
        Op::Reduce(r, v) => {
            let Shape::Vector(d) = g.shape(v) else {
                return internal("a reduction of a scalar");
            };
            let dim = dim_ident(d);
            let f = reference_element_closure(g, v, idents)?;
            match r {
                Reduction::Sum => quote!(#rt::ref_sum::<R>(#dim, #f)),
                Reduction::Max | Reduction::ShiftMax => quote!(#rt::ref_max::<R>(#dim, #f)),
                Reduction::LogSumExp => quote!(#rt::ref_logsumexp::<R>(#dim, #f)),
            }
        }
        Op::Index(v, y) => {
            let f = reference_element_closure(g, v, idents)?;
            let label = &idents[y.0 as usize];
            quote!((#f)(#label))
        }
        // An `if`: decided by `Real::compare`, undefined (NaN) where the
        // number type cannot decide.
        Op::Select(c, a, b) => {
            let Op::Binary(test, p, q) = g.op(c) else {
                return internal("a select whose condition is not a comparison, in a reference");
            };
            let (p, q, a, b) = (arg(p)?, arg(q)?, arg(a)?, arg(b)?);
            let holds = match test {
                Binary::Gt => quote!(__o == ::core::cmp::Ordering::Greater),
                Binary::Ge => quote!(__o != ::core::cmp::Ordering::Less),
                Binary::Eq => quote!(__o == ::core::cmp::Ordering::Equal),
                _ => {
                    return internal("a select whose condition is not a comparison, in a reference")
                }
            };
            quote!(match #real::compare(&#p, &#q) {
                Some(__o) => if #holds { #a } else { #b },
                None => #real::from_f64(f64::NAN),
            })
        }
        _ => return reference_ref(g, n, idents, j),
    })
}
