//! The public functions of a declaration, `value` and `value_and_grad`:
//! their signature; every shape, label and buffer check before any write;
//! the batch in blocks of rows (on one thread or many); in each block the
//! row kernel ([`row`](super::row)) or, for short rows, the narrow kernel
//! ([`narrow`](super::narrow)); all written once for both flavours of
//! multiply-add, which the CPU picks at run time.

use std::collections::BTreeSet;

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use super::row::sample_body;
use super::{
    block_ident, dim_float_ident, dim_ident, fast_expr, grad_ident, internal, leaf_or_named,
    narrow, rt, scalar_ref, Plan, Program, Reduce, Result, Site,
};
use crate::ir::{DimId, Graph, InputId, InputKind, NodeId};
use crate::parse::ignore_index_ident;

/// `value` (`with_grad` false) or `value_and_grad`: the checks, then a
/// kernel written once for both flavours of multiply-add, run in the one
/// the CPU has.
pub(super) fn fast_fn(plan: &Plan<'_>, with_grad: bool) -> Result<TokenStream> {
    let f = Function::new(plan, with_grad);
    let (fn_name, doc) = if with_grad {
        (
            format_ident!("value_and_grad"),
            gradient_fn_doc(plan, f.g, f.idents, &f.grads),
        )
    } else {
        (format_ident!("value"), value_fn_doc(plan))
    };
    let (params, generics, ret) = f.signature()?;
    let skip = f.skip_test();
    let checks = f.checks(&skip);
    let KernelInterface {
        params: kernel_params,
        args: kernel_args,
        written,
    } = f.kernel_interface()?;
    let kernel = f.kernel(&skip, &ret, &kernel_params)?;
    Ok(quote! {
        #[doc = #doc]
        #[allow(clippy::too_many_arguments)]
        pub fn #fn_name #generics (#(#params),*) -> ::core::result::Result<#ret, ::loss_core::LossError> {
            #(#checks)*
            // The work, written once for both flavours of multiply-add
            // (`__M`): fused where the CPU has FMA, plain elsewhere. Each
            // flavour's copy is compiled for the widest vector instructions
            // it can use (see `loss_core::simd`). A function, not a closure,
            // so that the compiler checks its body once, not once per
            // flavour.
            #kernel
            // The checks above already ran.
            ::loss_core::simd::run_flavoured(
                (#(#written,)*),
                #[inline(always)] |(#(#written,)*), __isa| __kernel(__isa, #(#kernel_args,)* #(#written),*),
                #[inline(always)] |(#(#written,)*), __isa| __kernel(__isa, #(#kernel_args,)* #(#written),*),
            )
        }
    })
}

/// What every part of one function reads.
struct Function<'a> {
    plan: &'a Plan<'a>,
    program: &'a Program<'a>,
    g: &'a Graph,
    idents: &'a [Ident],
    with_grad: bool,
    /// The `#[grad]` inputs, none in `value`.
    grads: Vec<InputId>,
    /// The dims of the row inputs, labels and weights.
    dims: BTreeSet<DimId>,
}

/// The test of whether sample `__i` is skipped (its label is the ignore
/// index), `false` where no input has one.
struct SkipTest {
    test: TokenStream,
    /// Whether any input has an ignore index.
    any: bool,
}

/// A sample's outputs besides its value, as each kernel writes them.
struct Outputs {
    /// Gradients of shared weights, zeroed before the batch.
    zero_grads: Vec<TokenStream>,
    /// Per-sample gradients and the scalars' sums, in the row kernel and in
    /// the narrow one (lane `__l`).
    per_sample: [Vec<TokenStream>; 2],
    /// The scalars' gradient sums.
    accumulators: Vec<TokenStream>,
    /// The scalars' gradients, from their sums.
    finish: Vec<TokenStream>,
    /// The gradients the passes write into rows.
    row_writes: Vec<(InputId, NodeId)>,
}

/// The buffers a block of rows writes, and what it returns.
struct Blocks {
    /// Each buffer, its name in the block and its width per row.
    buffers: Vec<TokenStream>,
    names: Vec<Ident>,
    widths: Vec<TokenStream>,
    /// The block's partial sums: the loss, the scalars' gradients.
    totals: Vec<Ident>,
    /// Whether every row adds to one buffer (a gradient of shared weights),
    /// so that the blocks run in order on the calling thread.
    shares_a_buffer: bool,
    /// Those buffers.
    shared_grads: Vec<Ident>,
}

/// The kernel's parameters, and the call's arguments for them: the buffers
/// it writes (`written`) last, after the rest (`args`).
struct KernelInterface {
    params: Vec<TokenStream>,
    args: Vec<TokenStream>,
    written: Vec<Ident>,
}

/// A sample's outputs other than gradient rows, in the row kernel and in
/// the narrow kernel (lane `__l`).
const SITES: [Site<'static>; 2] = [Site::Sample, Site::Rows { column: false }];

impl<'a> Function<'a> {
    fn new(plan: &'a Plan<'a>, with_grad: bool) -> Self {
        let program = if with_grad { &plan.grad } else { &plan.value };
        let g = program.graph;
        let grads = if with_grad {
            program.grads.iter().map(|&(i, _)| i).collect()
        } else {
            Vec::new()
        };
        let dims = g
            .inputs
            .iter()
            .filter_map(|i| match i.kind {
                InputKind::Vector(d) | InputKind::Class(d) | InputKind::Weights(d) => Some(d),
                _ => None,
            })
            .collect();
        Function {
            plan,
            program,
            g,
            idents: &plan.input_idents,
            with_grad,
            grads,
            dims,
        }
    }

    fn kind(&self, i: InputId) -> InputKind {
        self.g.inputs[i.0 as usize].kind
    }

    fn ident(&self, i: InputId) -> &'a Ident {
        &self.idents[i.0 as usize]
    }

    fn has_labels(&self) -> bool {
        self.g
            .inputs
            .iter()
            .any(|i| matches!(i.kind, InputKind::Class(_)))
    }

    /// The parameters, the generics and the return type.
    fn signature(&self) -> Result<(Vec<TokenStream>, TokenStream, TokenStream)> {
        let mut params = Vec::new();
        for (input, ident) in self.g.inputs.iter().zip(self.idents) {
            params.push(match input.kind {
                InputKind::Vector(_) => quote!(#ident: impl ::loss_core::AsRows<F>),
                InputKind::Class(_) if input.ignore_index => {
                    let ignore = ignore_index_ident(ident);
                    quote!(#ident: &[L], #ignore: i64)
                }
                InputKind::Class(_) => quote!(#ident: &[L]),
                InputKind::PerSample | InputKind::Weights(_) => quote!(#ident: &[F]),
                InputKind::Scalar => quote!(#ident: F),
            });
        }
        if self.plan.reduce == Reduce::None {
            params.push(quote!(losses: &mut [F]));
            if self.with_grad {
                params.push(quote!(upstream: &[F]));
            }
        }
        for &i in &self.grads {
            let gi = grad_ident(self.ident(i));
            params.push(match self.kind(i) {
                InputKind::Vector(_) => {
                    quote!(#gi: impl ::core::convert::Into<::loss_core::RowsMut<'g, F>>)
                }
                InputKind::PerSample | InputKind::Weights(_) => quote!(#gi: &mut [F]),
                InputKind::Scalar => quote!(#gi: &mut F),
                InputKind::Class(_) => return internal("a label cannot have a gradient"),
            });
        }
        let lifetime = if self.with_grad {
            quote!('g,)
        } else {
            quote!()
        };
        let generics = if self.has_labels() {
            quote!(<#lifetime F: ::loss_core::Float, L: ::loss_core::Label>)
        } else {
            quote!(<#lifetime F: ::loss_core::Float>)
        };
        let ret = if self.plan.reduce == Reduce::None {
            quote!(())
        } else {
            quote!(F)
        };
        Ok((params, generics, ret))
    }

    /// Samples whose label is the ignore index are skipped: they add
    /// nothing to the value, the gradients or the mean's count.
    fn skip_test(&self) -> SkipTest {
        let rt = rt();
        let ignored: Vec<TokenStream> = self
            .g
            .inputs
            .iter()
            .zip(self.idents)
            .filter(|(i, _)| i.ignore_index)
            .map(|(_, ident)| {
                let ignore = ignore_index_ident(ident);
                quote!(#rt::is_ignored(#ident[__i], #ignore))
            })
            .collect();
        if ignored.is_empty() {
            SkipTest {
                test: quote!(false),
                any: false,
            }
        } else {
            SkipTest {
                test: quote!(#(#ignored)||*),
                any: true,
            }
        }
    }

    /// The shape, label and buffer checks, all of them before any write;
    /// then the batch size `__n`, each dim's width and `__kept`, the
    /// samples not skipped.
    fn checks(&self, skip: &SkipTest) -> Vec<TokenStream> {
        let (g, rt) = (self.g, rt());
        let mut checks = Vec::new();
        for &d in &self.dims {
            let dn = &g.dims[d.0 as usize];
            let di = format_ident!("__dimcheck_{}", d.0);
            checks.push(quote!(let mut #di = #rt::Dim::new(#dn);));
        }
        checks.push(quote!(let mut __batch = #rt::Batch::new();));
        for (input, ident) in g.inputs.iter().zip(self.idents) {
            let name = ident.to_string();
            match input.kind {
                InputKind::Vector(d) => {
                    let di = format_ident!("__dimcheck_{}", d.0);
                    checks.push(quote! {
                        let #ident = ::loss_core::AsRows::as_rows(&#ident);
                        #rt::rows(#name, &#ident)?;
                        __batch.samples(#name, #ident.rows)?;
                        #di.width(#name, #ident.width)?;
                    });
                }
                InputKind::Class(_) | InputKind::PerSample => {
                    checks.push(quote!(__batch.samples(#name, #ident.len())?;));
                }
                InputKind::Weights(d) => {
                    let di = format_ident!("__dimcheck_{}", d.0);
                    checks.push(quote!(#di.width(#name, #ident.len())?;));
                }
                InputKind::Scalar => {}
            }
        }
        checks.push(quote!(let __n = __batch.size();));
        for &d in &self.dims {
            let di = format_ident!("__dimcheck_{}", d.0);
            let dim = dim_ident(d);
            let dimf = dim_float_ident(d);
            checks.push(quote! {
                let #dim = #di.size();
                let #dimf = <F as ::loss_core::Float>::from_usize(#dim);
            });
            // Every dim, as `reference` checks: a width of 0 is a mistake in
            // the caller's shapes, and running with it would give NaN (a mean
            // over nothing) or loop over a batch its data does not bound.
            checks.push(quote!(#di.nonempty(__n)?;));
        }
        for (input, ident) in g.inputs.iter().zip(self.idents) {
            if let InputKind::Class(d) = input.kind {
                let name = ident.to_string();
                let dim = dim_ident(d);
                if input.ignore_index {
                    let ignore = ignore_index_ident(ident);
                    checks.push(quote!(#rt::labels_ignoring(#name, #ident, #dim, #ignore)?;));
                } else {
                    checks.push(quote!(#rt::labels(#name, #ident, #dim)?;));
                }
            }
        }
        if self.plan.reduce == Reduce::None {
            checks.push(quote!(#rt::buffer("losses", losses.len(), __n)?;));
            if self.with_grad {
                checks.push(quote!(#rt::buffer("upstream", upstream.len(), __n)?;));
            }
        }
        for &i in &self.grads {
            let ident = self.ident(i);
            let gi = grad_ident(ident);
            let name = format!("gradient of {ident}");
            checks.push(match self.kind(i) {
                InputKind::Vector(d) => {
                    let di = format_ident!("__dimcheck_{}", d.0);
                    quote! {
                        let mut #gi: ::loss_core::RowsMut<'g, F> = ::core::convert::Into::into(#gi);
                        #rt::grad_rows(#name, &#gi, &mut __batch, &mut #di)?;
                    }
                }
                InputKind::PerSample => quote!(#rt::buffer(#name, #gi.len(), __n)?;),
                InputKind::Weights(d) => {
                    let dim = dim_ident(d);
                    quote!(#rt::buffer(#name, #gi.len(), #dim)?;)
                }
                _ => quote!(),
            });
        }
        let skip_test = &skip.test;
        checks.push(if skip.any {
            quote!(let __kept = (0..__n).filter(|&__i| !(#skip_test)).count();)
        } else {
            quote!(let __kept = __n;)
        });
        checks
    }

    /// The weighted mean's denominator, where there is one: its own pass
    /// over the batch.
    fn denominator(&self, skip: &SkipTest) -> Result<Option<TokenStream>> {
        let Some(den) = &self.plan.denominator else {
            return Ok(None);
        };
        let (rt, idents, skip_test) = (rt(), self.idents, &skip.test);
        let body = sample_body(den, &den.schedule, idents, &[], false, false)?;
        let hoisted = hoisted(den, idents)?;
        let v = scalar_ref(den.graph, den.value, idents)?;
        Ok(Some(quote! {
            let __denominator = {
                #(#hoisted)*
                let mut __den = #rt::Total::<F>::new();
                for __i in 0..__n {
                    if #skip_test {
                        continue;
                    }
                    #body
                    __den.add(#v);
                }
                __den.total()
            };
        }))
    }

    /// Whether the gradients take a seed: the reduction's factor of a
    /// sample's loss (`1/n`, `1`, `1/Σw`, `upstream[i]`).
    fn uses_seed(&self) -> bool {
        self.with_grad && !self.grads.is_empty()
    }

    /// The seed, declared once for the batch and per row.
    fn seeds(&self) -> (TokenStream, TokenStream) {
        if !self.uses_seed() {
            return (quote!(), quote!());
        }
        let seed = match self.plan.reduce {
            Reduce::Mean => {
                quote!(
                    <F as ::loss_core::Float>::ONE / <F as ::loss_core::Float>::from_usize(__kept)
                )
            }
            Reduce::Sum => quote!(<F as ::loss_core::Float>::ONE),
            Reduce::WeightedMean => quote!(<F as ::loss_core::Float>::ONE / __denominator),
            Reduce::None => quote!(upstream[__i]),
        };
        if self.plan.reduce == Reduce::None {
            (quote!(), quote!(let __seed: F = #seed;))
        } else {
            (
                quote!(let __seed_all: F = #seed;),
                quote!(let __seed: F = __seed_all;),
            )
        }
    }

    /// The gradient outputs, by the kind of their input.
    fn outputs(&self) -> Result<Outputs> {
        let (g, rt, idents) = (self.g, rt(), self.idents);
        let mut out = Outputs {
            zero_grads: Vec::new(),
            per_sample: [Vec::new(), Vec::new()],
            accumulators: Vec::new(),
            finish: Vec::new(),
            row_writes: Vec::new(),
        };
        if !self.with_grad {
            return Ok(out);
        }
        for &(i, node) in &self.program.grads {
            let ident = self.ident(i);
            let gi = grad_ident(ident);
            match self.kind(i) {
                InputKind::Vector(_) => out.row_writes.push((i, node)),
                InputKind::Weights(_) => {
                    out.zero_grads.push(quote!(for __x in #gi.iter_mut() { *__x = <F as ::loss_core::Float>::ZERO; }));
                    out.row_writes.push((i, node));
                }
                InputKind::PerSample => {
                    let blk = block_ident(ident);
                    for (per_sample, site) in out.per_sample.iter_mut().zip(SITES) {
                        let r = leaf_or_named(g, node, idents, site)?;
                        per_sample.push(quote!(#blk[__r] = __seed * #r;));
                    }
                }
                InputKind::Scalar => {
                    let acc = format_ident!("__acc_{}", ident);
                    out.accumulators
                        .push(quote!(let mut #acc = #rt::Total::<F>::new();));
                    for (per_sample, site) in out.per_sample.iter_mut().zip(SITES) {
                        let r = leaf_or_named(g, node, idents, site)?;
                        per_sample.push(quote!(#acc.add(__seed * #r);));
                    }
                    out.finish.push(quote!(*#gi = #acc.total();));
                }
                InputKind::Class(_) => return internal("a label cannot have a gradient"),
            }
        }
        Ok(out)
    }

    /// What a skipped sample writes: zero gradient rows, a zero loss.
    fn skipped_row(&self, skip: &SkipTest) -> Vec<TokenStream> {
        let mut skipped_row = Vec::new();
        if !skip.any {
            return skipped_row;
        }
        if self.plan.reduce == Reduce::None {
            skipped_row.push(quote!(__blk_losses[__r] = <F as ::loss_core::Float>::ZERO;));
        }
        for &i in &self.grads {
            let blk = block_ident(self.ident(i));
            match self.kind(i) {
                InputKind::Vector(d) => {
                    let dim = dim_ident(d);
                    skipped_row.push(quote! {
                        for __v in &mut #blk[__r * #dim..(__r + 1) * #dim] {
                            *__v = <F as ::loss_core::Float>::ZERO;
                        }
                    });
                }
                InputKind::PerSample => {
                    skipped_row.push(quote!(#blk[__r] = <F as ::loss_core::Float>::ZERO;))
                }
                _ => {}
            }
        }
        skipped_row
    }

    /// The value's total, declared before a block, and the function's
    /// result.
    fn value_total(&self) -> (TokenStream, TokenStream) {
        let rt = rt();
        match self.plan.reduce {
            Reduce::None => (quote!(), quote!(Ok(()))),
            Reduce::Sum => (
                quote!(let mut __total = #rt::Total::<F>::new();),
                quote!(Ok(__total.total())),
            ),
            Reduce::Mean => (
                quote!(let mut __total = #rt::Total::<F>::new();),
                quote!(Ok(
                    __total.total() / <F as ::loss_core::Float>::from_usize(__kept)
                )),
            ),
            Reduce::WeightedMean => (
                quote!(let mut __total = #rt::Total::<F>::new();),
                quote!(Ok(__total.total() / __denominator)),
            ),
        }
    }

    /// A row's value added to the total (or written to `losses`), at `site`.
    /// Both kernels add the losses to the total row by row, in order: the
    /// narrow kernel gives the row kernel's bits.
    fn value_add(&self, site: Site<'_>) -> Result<TokenStream> {
        let value = leaf_or_named(self.g, self.program.value, self.idents, site)?;
        Ok(match self.plan.reduce {
            Reduce::None => quote!(__blk_losses[__r] = #value;),
            _ => quote!(__total.add(#value);),
        })
    }

    /// The batch runs in blocks of rows, each with its own partial sums,
    /// combined in a fixed tree: the same bits on one thread or many (with
    /// the `rayon` feature). A block writes only its own rows, except into a
    /// gradient of shared weights, which every row adds to: such a loss runs
    /// its blocks in order on the calling thread.
    fn blocks(&self) -> Blocks {
        let mut blocks = Blocks {
            buffers: Vec::new(),
            names: Vec::new(),
            widths: Vec::new(),
            totals: Vec::new(),
            shares_a_buffer: false,
            shared_grads: Vec::new(),
        };
        if self.plan.reduce == Reduce::None {
            blocks.buffers.push(quote!(&mut losses[..]));
            blocks.names.push(format_ident!("__blk_losses"));
            blocks.widths.push(quote!(1usize));
        }
        for &i in &self.grads {
            let ident = self.ident(i);
            let gi = grad_ident(ident);
            match self.kind(i) {
                InputKind::Vector(d) => {
                    blocks.buffers.push(quote!(&mut #gi.data[..]));
                    blocks.names.push(block_ident(ident));
                    let dim = dim_ident(d);
                    blocks.widths.push(quote!(#dim));
                }
                InputKind::PerSample => {
                    blocks.buffers.push(quote!(&mut #gi[..]));
                    blocks.names.push(block_ident(ident));
                    blocks.widths.push(quote!(1usize));
                }
                _ => {}
            }
        }
        if self.plan.reduce != Reduce::None {
            blocks.totals.push(format_ident!("__total"));
        }
        for &i in &self.grads {
            if self.kind(i) == InputKind::Scalar {
                blocks.totals.push(format_ident!("__acc_{}", self.ident(i)));
            }
        }
        blocks.shared_grads = self
            .grads
            .iter()
            .filter(|&&i| matches!(self.kind(i), InputKind::Weights(_)))
            .map(|&i| grad_ident(self.ident(i)))
            .collect();
        blocks.shares_a_buffer = !blocks.shared_grads.is_empty();
        blocks
    }

    /// `__kernel`, the work after the checks, generic over the flavour.
    fn kernel(
        &self,
        skip: &SkipTest,
        ret: &TokenStream,
        kernel_params: &[TokenStream],
    ) -> Result<TokenStream> {
        let (program, idents, with_grad) = (self.program, self.idents, self.with_grad);
        let rt = rt();
        let prologue = self.denominator(skip)?;
        let (seed_decl, seed_row) = self.seeds();
        let Outputs {
            zero_grads,
            per_sample: [per_sample_out, per_sample_out_lane],
            accumulators,
            finish,
            row_writes,
        } = self.outputs()?;
        let skipped_row = self.skipped_row(skip);
        let skip_test = &skip.test;
        let body = sample_body(
            program,
            &program.schedule,
            idents,
            &row_writes,
            with_grad,
            true,
        )?;
        // Where a schedule keeps more stashes in spare rows (only a gradient
        // program has one), the samples that have the rows in their block run
        // it; the last few recompute.
        let spared = match &program.spared {
            Some(spared) => Some((
                spared.spares(),
                sample_body(program, spared, idents, &row_writes, with_grad, true)?,
            )),
            None => None,
        };
        let hoisted = hoisted(program, idents)?;
        let (value_init, value_result) = self.value_total();
        let (value_add, value_add_lane) = (self.value_add(SITES[0])?, self.value_add(SITES[1])?);
        let uses_seed = self.uses_seed();
        let Blocks {
            buffers: block_buffers,
            names: block_names,
            widths: block_widths,
            totals,
            shares_a_buffer,
            shared_grads,
        } = self.blocks();
        let block_fn = if shares_a_buffer {
            quote!(blocks_in_order)
        } else {
            quote!(blocks)
        };
        let block_count = block_names.len();
        // Short rows run in the narrow kernel (see `narrow`), `LANES` rows at a
        // time; the lanes past the end of the block are computed, never stored.
        let short_rows = |layout| {
            narrow::group(
                program,
                program.spared.as_ref().unwrap_or(&program.schedule),
                idents,
                &row_writes,
                with_grad,
                layout,
            )
        };
        let in_columns = short_rows(narrow::Layout::Columns)?;
        let in_row_vectors = short_rows(narrow::Layout::RowVectors)?;
        let widths = self.dims.iter().map(|&d| dim_ident(d));
        let seed_lane = if uses_seed {
            quote!(let __seed: F = __seeds[__l];)
        } else {
            quote!()
        };
        // A group of `rows` rows (see `narrow::Layout::rows`).
        let narrow_kernel = |group: narrow::Group, rows: TokenStream| {
            let narrow::Group {
                buffers: narrow_buffers,
                body: narrow_body,
                scatter: narrow_scatter,
            } = group;
            let seeds = match (uses_seed, self.plan.reduce) {
                (false, _) => quote!(),
                (true, Reduce::None) => quote! {
                    let __seeds: [F; #rows] = #rt::per_lane(|__l| upstream[__rows[__l]]);
                },
                (true, _) => quote!(let __seeds: [F; #rows] = [__seed_all; #rows];),
            };
            let keep = if shares_a_buffer {
                quote! {
                    let __keep: [bool; #rows] = #rt::per_lane(|__l| {
                        let __i = __rows[__l];
                        __l < __live && !(#skip_test)
                    });
                }
            } else {
                quote!()
            };
            quote! {
                #narrow_buffers
                let mut __first = __start;
                while __first < __end {
                    let __live = (__end - __first).min(#rows);
                    let __rows: [usize; #rows] = #rt::group_rows(__first, __live);
                    #keep
                    #seeds
                    #narrow_body
                    for __l in 0..__live {
                        let __i = __first + __l;
                        let __r = __i - __start;
                        if #skip_test {
                            #(#skipped_row)*
                            continue;
                        }
                        #seed_lane
                        #narrow_scatter
                        #value_add_lane
                        #(#per_sample_out_lane)*
                    }
                    __first += #rows;
                }
            }
        };
        let row_vectors_kernel = narrow_kernel(in_row_vectors, narrow::Layout::RowVectors.rows());
        let narrow_kernel = narrow_kernel(in_columns, narrow::Layout::Columns.rows());
        // The row's value and per-sample outputs name the body's results, so
        // they go in each body's scope.
        let row = |body: &TokenStream| {
            quote! {
                #body
                #value_add
                #(#per_sample_out)*
            }
        };
        let plain_row = row(&body);
        let row_work = match &spared {
            None => plain_row,
            Some((spares, spared_body)) => {
                let spared_row = row(spared_body);
                quote! {
                    if __r + #spares < __end - __start {
                        #spared_row
                    } else {
                        #plain_row
                    }
                }
            }
        };
        // About how many numbers the batch holds, for `blocks` to decide
        // whether it pays to hand them to other threads: a row's dimensions,
        // or one number where its inputs are all per-sample scalars.
        let numbers = if shares_a_buffer {
            quote!()
        } else {
            quote!(__n.saturating_mul(__widths.iter().sum::<usize>().max(1)),)
        };
        let run_blocks = quote! {
            let [#(mut #totals),*] = #rt::#block_fn(
                __n,
                #numbers
                [#(#block_widths),*],
                [#(#block_buffers),*],
                #[inline(always)] |__start: usize, __end: usize, [#(#block_names),*]: [&mut [F]; #block_count]| {
                    // Each block, on whichever thread, runs the flavour of the
                    // call (`__isa`, its token), compiled for the widest vector
                    // instructions the CPU has; the narrow kernel, whose vectors
                    // are `LANES` wide, in one copy (AVX2 where there is FMA), in
                    // the flavours that have it (a constant: `Flavour::NARROW`).
                    if <__I as ::loss_core::simd::Flavour>::NARROW && __narrow {
                        // At AVX-512, f32 rows of at most `ROW` numbers go a
                        // row per vector (the same bits), where the block's
                        // rows and widths suit it (`row_vectors_fit`). What the
                        // kernels write goes to the one that runs.
                        __isa.run_short_rows::<F, _, _>(
                            #rt::row_vectors_fit(&__widths, __end - __start),
                            (#(#block_names,)* #(&mut *#shared_grads,)*),
                            #[inline(always)] |(#(#block_names,)* #(#shared_grads,)*), __proof: #rt::RowVectors| {
                                #value_init
                                #(#accumulators)*
                                #row_vectors_kernel
                                [#(#totals),*]
                            },
                            #[inline(always)] |(#(#block_names,)* #(#shared_grads,)*)| {
                                #value_init
                                #(#accumulators)*
                                #narrow_kernel
                                [#(#totals),*]
                            },
                        )
                    } else {
                        // Chunks of two `LANES` where they fill a register (f32
                        // at AVX-512), else of `LANES`: the same bits. `__wide`
                        // is a constant in each compiled copy.
                        __isa.run_rows::<F, _>(#[inline(always)] |__wide: bool| {
                            #value_init
                            #(#accumulators)*
                            for __i in __start..__end {
                                let __r = __i - __start;
                                if #skip_test {
                                    #(#skipped_row)*
                                    continue;
                                }
                                #seed_row
                                #row_work
                            }
                            [#(#totals),*]
                        })
                    }
                },
            );
        };
        let kernel_generics = if self.has_labels() {
            quote!(<F: ::loss_core::Float, L: ::loss_core::Label, __M: ::loss_core::math::MulAdd, __I: ::loss_core::simd::Flavour<Math = __M>>)
        } else {
            quote!(<F: ::loss_core::Float, __M: ::loss_core::math::MulAdd, __I: ::loss_core::simd::Flavour<Math = __M>>)
        };
        Ok(quote! {
            #[inline(always)]
            #[allow(clippy::too_many_arguments, unused_variables, unused_mut)]
            fn __kernel #kernel_generics (
                __isa: __I,
                #(#kernel_params),*
            ) -> ::core::result::Result<#ret, ::loss_core::LossError> {
                let __widths = [#(#widths),*];
                let __narrow: bool = #rt::narrow(&__widths);
                #prologue
                #(#zero_grads)*
                #seed_decl
                #(#hoisted)*
                #run_blocks
                #(#finish)*
                #value_result
            }
        })
    }

    /// What the kernel reads and writes: its parameters, and the arguments
    /// that pass them. The buffers it writes (`written`) move into the copy
    /// that runs; the rest is copied.
    fn kernel_interface(&self) -> Result<KernelInterface> {
        let mut k = KernelInterface {
            params: Vec::new(),
            args: Vec::new(),
            written: Vec::new(),
        };
        for (input, ident) in self.g.inputs.iter().zip(self.idents) {
            k.args.push(quote!(#ident));
            k.params.push(match input.kind {
                InputKind::Vector(_) => quote!(#ident: ::loss_core::Rows<'_, F>),
                InputKind::Class(_) => quote!(#ident: &[L]),
                InputKind::PerSample | InputKind::Weights(_) => quote!(#ident: &[F]),
                InputKind::Scalar => quote!(#ident: F),
            });
            if input.ignore_index {
                let ignore = ignore_index_ident(ident);
                k.args.push(quote!(#ignore));
                k.params.push(quote!(#ignore: i64));
            }
        }
        for &d in &self.dims {
            let (dim, dimf) = (dim_ident(d), dim_float_ident(d));
            k.args.extend([quote!(#dim), quote!(#dimf)]);
            k.params.extend([quote!(#dim: usize), quote!(#dimf: F)]);
        }
        k.args.extend([quote!(__n), quote!(__kept)]);
        k.params.extend([quote!(__n: usize), quote!(__kept: usize)]);
        if self.plan.reduce == Reduce::None {
            if self.with_grad {
                k.args.push(quote!(upstream));
                k.params.push(quote!(upstream: &[F]));
            }
            k.written.push(format_ident!("losses"));
            k.params.push(quote!(losses: &mut [F]));
        }
        for &i in &self.grads {
            let gi = grad_ident(self.ident(i));
            k.params.push(match self.kind(i) {
                InputKind::Vector(_) => quote!(mut #gi: ::loss_core::RowsMut<'_, F>),
                InputKind::PerSample | InputKind::Weights(_) => quote!(#gi: &mut [F]),
                InputKind::Scalar => quote!(#gi: &mut F),
                InputKind::Class(_) => return internal("a label cannot have a gradient"),
            });
            k.written.push(gi);
        }
        Ok(k)
    }
}

fn value_fn_doc(plan: &Plan<'_>) -> String {
    let ret = match plan.reduce {
        Reduce::Mean => "the mean of the per-sample losses over the batch (NaN for an empty batch, as PyTorch)",
        Reduce::Sum => "the sum of the per-sample losses (0 for an empty batch)",
        Reduce::WeightedMean => "the sum of the per-sample losses divided by the sum of the per-sample denominators (NaN if that sum is 0)",
        Reduce::None => "nothing: the per-sample losses are written to `losses`",
    };
    format!(
        "The loss over a batch: returns {ret}.\n\n\
         Vector inputs are rows (a slice with its shape as `loss_core::Rows`, or an nalgebra matrix with one sample per column).\n\n\
         # Errors\n\nA `LossError` naming the input if batch sizes or row widths disagree, a buffer has the wrong length, or a label is out of range; nothing is written then."
    )
}

fn gradient_fn_doc(plan: &Plan<'_>, g: &Graph, idents: &[Ident], grads: &[InputId]) -> String {
    let outs: Vec<String> = grads
        .iter()
        .map(|&i| {
            let ident = &idents[i.0 as usize];
            let shape = match g.inputs[i.0 as usize].kind {
                InputKind::Vector(_) => "rows shaped like the input",
                InputKind::Scalar => "one number",
                _ => "one number per sample or element",
            };
            format!("`__d_{ident}` ({shape})")
        })
        .collect();
    let seed = if plan.reduce == Reduce::None {
        " The gradient is that of `sum_i upstream[i] * loss_i` (a vector-Jacobian product)."
    } else {
        ""
    };
    format!(
        "The value, as `value`, and the gradient of the reduced loss, written over {}.{seed}\n\n\
         Gradient buffers are overwritten, not accumulated into.\n\n# Errors\n\nAs `value`, and if a gradient buffer has the wrong length; nothing is written then.",
        if outs.is_empty() { "nothing".to_string() } else { outs.join(", ") }
    )
}

/// The batch-invariant scalars, computed before the batch loop.
fn hoisted(p: &Program<'_>, idents: &[Ident]) -> Result<Vec<TokenStream>> {
    p.schedule
        .hoisted
        .iter()
        .map(|&n| {
            let id = format_ident!("__h{}", n.0);
            let e = fast_expr(p.graph, n, idents, Site::Sample)?;
            Ok(quote!(let #id: F = #e;))
        })
        .collect()
}
