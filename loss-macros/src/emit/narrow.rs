//! The narrow kernel: the fast path for short rows.
//!
//! A row of ten numbers is one vector chunk and a scalar tail, and each of
//! its passes ends in a horizontal reduction and scalar `exp`s and `ln`s
//! whose latencies add up: about 70 ns a row, whatever the vector width.
//! The narrow kernel turns the batch on its side. It takes the rows of a
//! block `LANES` at a time, one row per lane: the group's rows are copied
//! transposed into a small buffer (`__t_x[j][l]` is number `j` of row `l`),
//! each pass walks the columns, and every element, per-sample scalar and
//! reduction is a `[F; LANES]` array computed by a short loop of its own
//! over the lanes, the form LLVM vectorises: a row's `exp`, `ln` and
//! division run for eight rows at once.
//!
//! The gradient rows are written into transposed buffers too, and copied
//! out row by row for the group's live rows. Lanes past the end of the block
//! repeat its last row: computed, never stored. A row's sums are taken in
//! the row kernel's order (`LANES` partial sums, combined pairwise), and the
//! losses added to the total row by row, so the two kernels give the same
//! bits. Taken only where every width is at most
//! `loss_core::__private::NARROW` (checked at run time).
//!
//! At AVX-512, f32 rows of 9 to 16 numbers in blocks of at least sixteen
//! rows take a second layout, [`Layout::RowVectors`]: sixteen rows a group,
//! each one vector read and written with one masked load and store
//! (`loss_core::__private::load`, `store`), each pass a loop over the rows
//! with a loop over a row's numbers per statement, and the per-sample
//! scalars still one row per lane (now sixteen). A reduction keeps its terms
//! and adds them after the loop, through a 16×16 transpose in registers
//! (`group_sums`, `group_maxima`), a column at a time as the transposed
//! layout does: the same bits. Cross-entropy at 32×10 takes 0.65–0.7× the transposed layout's
//! time there (docs/performance.md).

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use super::row::{is_leaf, lane_loop, lanes_function, pass_writes, used_inputs};
use super::{
    block_ident, dim_ident, fast_expr, grad_ident, internal, is_hoisted_name, label_ident,
    leaf_or_named, rt, Program, Result, Site,
};
use crate::ir::{Graph, InputId, InputKind, NodeId, Op, Reduction};
use crate::schedule::{Pass, Schedule, Slot, Step};

/// How a group holds its rows.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Layout {
    /// Transposed: `__t_x[j][l]` is number `j` of row `l`, and every
    /// element statement is a loop over the rows.
    Columns,
    /// A row per vector (f32 at AVX-512, rows of at most
    /// `loss_core::__private::ROW`): `__v_x[l]` is row `l`, read with one
    /// masked load, and every element statement is a loop over the row's
    /// numbers. The reductions transpose the group's terms and add them as
    /// `Columns` does, in the same order: the same bits.
    RowVectors,
}

impl Layout {
    /// The number of rows in a group: `LANES` transposed, `ROW` as vectors
    /// (a group's sums then transpose sixteen rows of sixteen).
    pub(super) fn rows(self) -> TokenStream {
        let rt = rt();
        match self {
            Layout::Columns => quote!(#rt::LANES),
            Layout::RowVectors => quote!(#rt::ROW),
        }
    }
}

/// The transposed rows of a vector input in a group (`[[F; LANES]; NARROW]`).
pub(super) fn columns_ident(input: &Ident) -> Ident {
    format_ident!("__t_{}", input)
}

/// The rows of a vector input in a group as vectors (`[[F; ROW]; ROW]`).
pub(super) fn row_vectors_ident(input: &Ident) -> Ident {
    format_ident!("__v_{}", input)
}

/// A shared weights input as one vector (`[F; ROW]`).
pub(super) fn weights_vector_ident(input: &Ident) -> Ident {
    format_ident!("__wv_{}", input)
}

/// The transposed gradient rows of a `#[grad]` vector input in a group.
fn grad_columns_ident(input: &Ident) -> Ident {
    format_ident!("__g_{}", input)
}

/// Where a stash slot is in a group: the gradient rows, or for a spare, a
/// buffer of its own (a group's rows are short: there is always room); in
/// either layout.
fn slot_columns_ident(slot: Slot, idents: &[Ident]) -> Ident {
    let ident = &idents[slot.input.0 as usize];
    match slot.spare {
        0 => grad_columns_ident(ident),
        k => format_ident!("__g{}_{}", k, ident),
    }
}

/// What the narrow kernel needs around the group loop that `fast_fn` writes.
pub(super) struct Group {
    /// The transposed buffers, declared once per block.
    pub buffers: TokenStream,
    /// One group's work, with `__rows` (the group's row per lane), `__keep`
    /// (the lanes that add to shared weights) and `__seeds` in scope: the
    /// inputs gathered, then the schedule's steps.
    pub body: TokenStream,
    /// The copy of lane `__l`'s gradient rows into the block's rows `__r`.
    pub scatter: TokenStream,
}

/// The narrow kernel for `p` following `schedule`, writing the gradients
/// `writes`.
pub(super) fn group(
    p: &Program<'_>,
    schedule: &Schedule,
    idents: &[Ident],
    writes: &[(InputId, NodeId)],
    with_grad: bool,
    layout: Layout,
) -> Result<Group> {
    let g = p.graph;
    let rt = rt();
    let zero = quote!(<F as ::loss_core::Float>::ZERO);
    // A group's buffer of rows, in the layout's shape.
    let buffer = match layout {
        Layout::Columns => quote!([[#zero; #rt::LANES]; #rt::NARROW]),
        Layout::RowVectors => quote!([[#zero; #rt::ROW]; #rt::ROW]),
    };
    let rows_in_group = layout.rows();
    let mut buffers = Vec::new();
    let mut body = Vec::new();
    let mut scatter = Vec::new();
    let used = used_inputs(p, writes);
    for (k, (input, ident)) in g.inputs.iter().zip(idents).enumerate() {
        if !used.contains(&InputId(k as u16)) {
            continue;
        }
        match input.kind {
            InputKind::Vector(d) => {
                let dim = dim_ident(d);
                match layout {
                    Layout::Columns => {
                        let columns = columns_ident(ident);
                        buffers.push(quote!(let mut #columns = #buffer;));
                        body.push(quote!(#rt::gather(#ident.data, #dim, &__rows, &mut #columns);));
                    }
                    Layout::RowVectors => {
                        let rows = row_vectors_ident(ident);
                        body.push(quote! {
                            let #rows: [[F; #rt::ROW]; #rt::ROW] = #rt::per_lane(|__l| {
                                #rt::load(__proof, &#ident.data[__rows[__l] * #dim..][..#dim])
                            });
                        });
                    }
                }
            }
            InputKind::Weights(_) if layout == Layout::RowVectors => {
                let v = weights_vector_ident(ident);
                buffers.push(quote!(let #v: [F; #rt::ROW] = #rt::load(__proof, #ident);));
            }
            InputKind::Class(d) => {
                let l = label_ident(ident);
                let dim = dim_ident(d);
                body.push(quote! {
                    let #l: [u32; #rows_in_group] =
                        #rt::per_lane(|__l| #rt::lane_label(#ident[__rows[__l]], #dim));
                });
            }
            InputKind::PerSample => {
                let v = label_ident(ident);
                body.push(quote! {
                    let #v: [F; #rows_in_group] = #rt::per_lane(|__l| #ident[__rows[__l]]);
                });
            }
            _ => {}
        }
    }
    if with_grad {
        for &(i, _) in writes {
            let ident = &idents[i.0 as usize];
            if let InputKind::Vector(d) = g.inputs[i.0 as usize].kind {
                let columns = grad_columns_ident(ident);
                let blk = block_ident(ident);
                let dim = dim_ident(d);
                buffers.push(quote!(let mut #columns = #buffer;));
                let out = quote!(&mut #blk[__r * #dim..(__r + 1) * #dim]);
                scatter.push(match layout {
                    Layout::Columns => quote!(#rt::scatter(&#columns, __l, #out);),
                    Layout::RowVectors => quote!(#rt::store(__proof, &#columns[__l], #out);),
                });
            }
        }
    }
    for &(input, spares) in &schedule.spare_rows {
        for spare in 1..=spares {
            let columns = slot_columns_ident(Slot { input, spare }, idents);
            buffers.push(quote!(let mut #columns = #buffer;));
        }
    }
    // Each per-sample step is an array filled by a loop of its own (see
    // the row kernel's `emit_pass` for why not one loop for several).
    for step in &schedule.steps {
        match step {
            Step::Scalar(n) => {
                let id = format_ident!("__s{}", n.0);
                let site = match layout {
                    Layout::Columns => Site::Rows { column: false },
                    Layout::RowVectors => Site::RowVectors { element: false },
                };
                // Sixteen rows' scalars fill a vector: the whole-chunk
                // functions, one range test for the sixteen (the short exp
                // and ln where every lane is in range).
                if let (Layout::RowVectors, Some((function, operands, extra))) =
                    (layout, lanes_function(g, *n, |_, _| quote!(false)))
                {
                    let mut fills = Vec::new();
                    let mut arrays = Vec::new();
                    for (k, &a) in operands.iter().enumerate() {
                        if !is_leaf(g, a) && !is_hoisted_name(g, a) {
                            let array = format_ident!("__s{}", a.0);
                            arrays.push(quote!(&#array));
                            continue;
                        }
                        let name = format_ident!("__op{}", k);
                        let v = leaf_or_named(g, a, idents, site)?;
                        let fill = lane_loop(&rows_in_group, quote!(#name[__l] = #v;));
                        fills.push(quote! {
                            let mut #name = [#zero; #rows_in_group];
                            #fill
                        });
                        arrays.push(quote!(&#name));
                    }
                    body.push(quote! {
                        let #id: [F; #rows_in_group] = {
                            #(#fills)*
                            #rt::#function::<__M, F, { #rows_in_group }>(#(#arrays),* #extra)
                        };
                    });
                    continue;
                }
                let e = fast_expr(g, *n, idents, site)?;
                let fill = lane_loop(&rows_in_group, quote!(#id[__l] = #e;));
                body.push(quote! {
                    let mut #id: [F; #rows_in_group] = [#zero; #rows_in_group];
                    #fill
                });
            }
            Step::Pass(pass) => {
                let writes = pass_writes(pass, writes);
                body.push(match layout {
                    Layout::Columns => emit_pass(g, pass, &writes, idents)?,
                    Layout::RowVectors => emit_row_vectors_pass(g, pass, &writes, idents)?,
                });
            }
        }
    }
    Ok(Group {
        buffers: quote!(#(#buffers)*),
        body: quote!(#(#body)*),
        scatter: quote!(#(#scatter)*),
    })
}

/// A pass of the narrow kernel: one accumulator per row (lane), a loop over
/// the columns, and in it a loop over the lanes per statement.
///
/// One loop over the lanes for the whole chain of a column's elements (the
/// form of 0808e1e) vectorised only with one codegen unit: in a default
/// release build (16 units, so ThinLTO's pipeline) LLVM unrolled it before
/// vectorising and left it scalar, 3-4x slower (distillation at 32x10: 2.3
/// against 8.7-10.1 us). Short loops of one statement vectorise either way.
fn emit_pass(
    g: &Graph,
    pass: &Pass,
    writes: &[(InputId, NodeId)],
    idents: &[Ident],
) -> Result<TokenStream> {
    let rt = rt();
    let dim = dim_ident(pass.dim);
    let site = Site::Rows { column: true };
    let each = |stmt: TokenStream| lane_loop(&quote!(#rt::LANES), stmt);
    let mut init = Vec::new();
    let mut done = Vec::new();
    let mut stmts = Vec::new();
    // Statements that add to one place from every lane, in lane order: a
    // loop of their own, after the vectorised ones.
    let mut in_order = Vec::new();
    elements_and_stashes(g, pass, idents, Layout::Columns, &mut stmts)?;
    for &r in &pass.reductions {
        let acc = format_ident!("__acc{}", r.0);
        let result = format_ident!("__s{}", r.0);
        let (kind, x) = match g.op(r) {
            Op::Reduce(kind, x) => (kind, x),
            _ => return internal("a pass reduction is a Reduce node"),
        };
        let v = leaf_or_named(g, x, idents, site)?;
        match kind {
            Reduction::Sum => {
                // A row's sum in the row kernel's order: `LANES` partial
                // sums, column `j` into partial `j % LANES` (the tail's into
                // partial 0), combined pairwise. A sum of 32 terms in one
                // running total is measurably less accurate (4.1 ULP at near
                // ties in f32).
                init.push(quote!(let mut #acc = [#rt::Lanes::<F>::zeros(); #rt::LANES];));
                done.push(quote!(let #result: [F; #rt::LANES] = #rt::row_sums(#acc);));
                stmts.push(each(quote!(#acc[__part].add(__l, #v);)));
            }
            // Lane `l` keeps row `l`'s maximum.
            Reduction::ShiftMax | Reduction::Max => {
                init.push(quote!(let mut #acc = #rt::Lanes::<F>::neg_infinity();));
                done.push(quote!(let #result: [F; #rt::LANES] = #acc.0;));
                stmts.push(each(if kind == Reduction::ShiftMax {
                    quote!(#acc.max(__l, #v);)
                } else {
                    quote!(#acc.max_nan(__l, #v);)
                }));
            }
            Reduction::LogSumExp => {
                return internal("log-sum-exp must be expanded before emission")
            }
        }
    }
    for &(i, node) in writes {
        let ident = &idents[i.0 as usize];
        let v = leaf_or_named(g, node, idents, site)?;
        match g.inputs[i.0 as usize].kind {
            InputKind::Vector(_) => {
                let columns = grad_columns_ident(ident);
                stmts.push(each(quote!(#columns[__j][__l] = __seeds[__l] * #v;)));
            }
            // Shared weights: every kept row adds, in row order (the order
            // of the row kernel, so the same bits), from the lanes' values.
            _ => {
                let gi = grad_ident(ident);
                let contribution = format_ident!("__w{}", i.0);
                init.push(
                    quote!(let mut #contribution = [<F as ::loss_core::Float>::ZERO; #rt::LANES];),
                );
                stmts.push(each(quote!(#contribution[__l] = __seeds[__l] * #v;)));
                in_order.push(quote! {
                    for __l in 0..#rt::LANES {
                        if __keep[__l] {
                            #gi[__j] += #contribution[__l];
                        }
                    }
                });
            }
        }
    }
    Ok(quote! {
        #(#init)*
        // `min` is a no-op (the kernel runs only for rows that short), but
        // it bounds `__j` for the compiler: no bounds checks on the columns.
        for __j in 0..#dim.min(#rt::NARROW) {
            // The column's index through a barrier, for two reasons. LLVM's
            // loop vectoriser then leaves the loop over the columns alone,
            // and the lanes are the vectors: without it, it vectorised some
            // passes across eight columns, with a transpose of every array
            // in and out (cross-entropy at 32x10: 10.3k instructions a call
            // against 9.5k). And the one-hot's `__j32 == y` stays a 32-bit
            // compare: from `__j as u32` LLVM widened it to 64 bits, two
            // compares, a pack and a permute per column (cross-entropy at
            // 32x10: 0.80 against 0.77 us, the same bits).
            let __j32: u32 = ::core::hint::black_box(__j as u32);
            let __part = #rt::partial(__j, #dim);
            #(#stmts)*
            #(#in_order)*
        }
        #(#done)*
    })
}

/// The statements of a pass that compute its elements (each an array over
/// the group's rows in `Layout::Columns`, over a row's numbers in
/// `Layout::RowVectors`) and store its stashes, in order.
fn elements_and_stashes(
    g: &Graph,
    pass: &Pass,
    idents: &[Ident],
    layout: Layout,
    stmts: &mut Vec<TokenStream>,
) -> Result<()> {
    let rt = rt();
    let zero = quote!(<F as ::loss_core::Float>::ZERO);
    let (site, width) = match layout {
        Layout::Columns => (Site::Rows { column: true }, quote!(#rt::LANES)),
        Layout::RowVectors => (Site::RowVectors { element: true }, quote!(#rt::ROW)),
    };
    // An element of an array, and of a slot's buffer.
    let (at, in_slot) = match layout {
        Layout::Columns => (quote!([__l]), quote!([__j][__l])),
        Layout::RowVectors => (quote!([__j]), quote!([__l][__j])),
    };
    let each = |stmt: TokenStream| match layout {
        Layout::Columns => lane_loop(&width, stmt),
        Layout::RowVectors => quote! {
            for __j in 0..#width {
                #stmt
            }
        },
    };
    for &e in &pass.elements {
        let id = format_ident!("__e{}", e.0);
        let load = pass.load_of(e);
        if load.is_none() && is_leaf(g, e) {
            continue;
        }
        if let (Layout::RowVectors, None, Some((function, operands, extra))) =
            (layout, load, lanes_function(g, e, |_, _| quote!(false)))
        {
            // The row kernel's whole-chunk functions (one range test, then
            // the short exp or ln in every lane): a row is a chunk.
            let mut fills = Vec::new();
            let mut arrays = Vec::new();
            for (k, &n) in operands.iter().enumerate() {
                let name = format_ident!("__op{}", k);
                match g.op(n) {
                    Op::Input(i) if matches!(g.inputs[i.0 as usize].kind, InputKind::Vector(_)) => {
                        let rows = row_vectors_ident(&idents[i.0 as usize]);
                        arrays.push(quote!(&#rows[__l]));
                    }
                    _ if g.shape(n) != crate::ir::Shape::Scalar && !is_leaf(g, n) => {
                        let array = format_ident!("__e{}", n.0);
                        arrays.push(quote!(&#array));
                    }
                    _ => {
                        let v = leaf_or_named(g, n, idents, site)?;
                        let fill = each(quote!(#name[__j] = #v;));
                        fills.push(quote! {
                            let mut #name = [#zero; #rt::ROW];
                            #fill
                        });
                        arrays.push(quote!(&#name));
                    }
                }
            }
            stmts.push(quote! {
                let #id: [F; #rt::ROW] = {
                    #(#fills)*
                    #rt::#function::<__M, F, { #rt::ROW }>(#(#arrays),* #extra)
                };
            });
            continue;
        }
        let x = match load {
            Some(slot) => {
                let buffer = slot_columns_ident(slot, idents);
                quote!(#buffer #in_slot)
            }
            None => fast_expr(g, e, idents, site)?,
        };
        let fill = each(quote!(#id #at = #x;));
        stmts.push(quote!(let mut #id: [F; #width] = [#zero; #width]; #fill));
    }
    for &(slot, node) in &pass.stashes {
        let buffer = slot_columns_ident(slot, idents);
        let v = leaf_or_named(g, node, idents, site)?;
        stmts.push(each(quote!(#buffer #in_slot = #v;)));
    }
    Ok(())
}

/// A pass of the kernel in the row-vector layout: a loop over the group's
/// rows, and in it a loop over the row's numbers per statement (the row
/// kernel's form for a chunk). Each reduction keeps every row's terms, and
/// after the loop takes them column by column as [`emit_pass`] does, so in
/// its order: the same bits. The numbers past a row's end are computed from
/// its first (see `loss_core::__private::load`) and never read: the sums
/// stop at the row's width, and the stores write only its numbers.
fn emit_row_vectors_pass(
    g: &Graph,
    pass: &Pass,
    writes: &[(InputId, NodeId)],
    idents: &[Ident],
) -> Result<TokenStream> {
    let rt = rt();
    let dim = dim_ident(pass.dim);
    let site = Site::RowVectors { element: true };
    let zero = quote!(<F as ::loss_core::Float>::ZERO);
    let each = |stmt: TokenStream| {
        quote! {
            for __j in 0..#rt::ROW {
                #stmt
            }
        }
    };
    let mut init = Vec::new();
    let mut done = Vec::new();
    let mut stmts = Vec::new();
    elements_and_stashes(g, pass, idents, Layout::RowVectors, &mut stmts)?;
    for &r in &pass.reductions {
        let terms = format_ident!("__terms{}", r.0);
        let result = format_ident!("__s{}", r.0);
        let (kind, x) = match g.op(r) {
            Op::Reduce(kind, x) => (kind, x),
            _ => return internal("a pass reduction is a Reduce node"),
        };
        let v = leaf_or_named(g, x, idents, site)?;
        // A reduction of an input takes its rows as they are.
        let terms = match g.op(x) {
            Op::Input(i) if matches!(g.inputs[i.0 as usize].kind, InputKind::Vector(_)) => {
                row_vectors_ident(&idents[i.0 as usize])
            }
            _ => {
                init.push(quote!(let mut #terms = [[#zero; #rt::ROW]; #rt::ROW];));
                stmts.push(each(quote!(#terms[__l][__j] = #v;)));
                terms
            }
        };
        // The terms column by column, as `emit_pass` adds them.
        let by_group = match kind {
            Reduction::Sum => quote!(group_sums),
            Reduction::ShiftMax => quote!(group_maxima),
            Reduction::Max => quote!(group_maxima_nan),
            Reduction::LogSumExp => {
                return internal("log-sum-exp must be expanded before emission")
            }
        };
        done.push(quote! {
            let #result: [F; #rt::ROW] = #rt::#by_group(__proof, &#terms, #dim);
        });
    }
    for &(i, node) in writes {
        let ident = &idents[i.0 as usize];
        let v = leaf_or_named(g, node, idents, site)?;
        match g.inputs[i.0 as usize].kind {
            InputKind::Vector(_) => {
                let rows = grad_columns_ident(ident);
                stmts.push(each(quote!(#rows[__l][__j] = __seeds[__l] * #v;)));
            }
            // Shared weights: every kept row adds, in row order (the order
            // of the other kernels, so the same bits).
            _ => {
                let gi = grad_ident(ident);
                let contribution = format_ident!("__w{}", i.0);
                stmts.push(quote! {
                    let mut #contribution = [#zero; #rt::ROW];
                });
                stmts.push(each(quote!(#contribution[__j] = __seeds[__l] * #v;)));
                stmts.push(quote! {
                    if __keep[__l] {
                        for (__g, __c) in #gi.iter_mut().zip(#contribution) {
                            *__g += __c;
                        }
                    }
                });
            }
        }
    }
    // A pass that only reduces rows as loaded has nothing to do per row.
    let per_row = (!stmts.is_empty()).then(|| {
        quote! {
            for __l in 0..#rt::ROW {
                // The row through a barrier: LLVM then vectorises each
                // statement's loop over the row's numbers, and not this loop
                // across the rows (which it did, with a scatter for every
                // store).
                let __l: usize = ::core::hint::black_box(__l);
                #(#stmts)*
            }
        }
    });
    Ok(quote! {
        #(#init)*
        #per_row
        #(#done)*
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::tests::sample_graph;
    use crate::ir::Binary;
    use crate::schedule::{schedule, Output};

    /// The one-hot reads the column index that went through the column
    /// loop's barrier, as a `u32`: LLVM cannot widen its compare.
    #[test]
    fn the_one_hot_compares_the_opaque_32_bit_column_index() {
        let idents = [format_ident!("z"), format_ident!("y"), format_ident!("t")];
        let mut g = sample_graph();
        let z = g.intern(Op::Input(InputId(0)));
        let hot = g.intern(Op::OneHot(InputId(1)));
        let picked = g.intern(Op::Binary(Binary::Mul, z, hot));
        let total = g.intern(Op::Reduce(Reduction::Sum, picked));
        let plan = schedule(&g, &[Output::Scalar(total)], 0);
        let pass = plan.passes().next().expect("a sum is a pass");
        let code = emit_pass(&g, pass, &[], &idents).unwrap().to_string();
        let barrier = quote!(let __j32: u32 = ::core::hint::black_box(__j as u32););
        let compare = quote!(::loss_core::__private::onehot_lane::<F>(__j32, __y_i[__l]));
        assert!(code.contains(&barrier.to_string()), "{code}");
        assert!(code.contains(&compare.to_string()), "{code}");
    }
}
