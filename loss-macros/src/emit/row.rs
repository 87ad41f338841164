//! The row kernel: one sample's statements, its passes over the row in
//! chunks of `LANES` numbers (or two `LANES`, where they fill a register),
//! each reduction in `LANES` independent accumulators, and the tail.

use std::collections::{HashMap, HashSet};

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote, ToTokens};

use super::{
    block_ident, dim_ident, element_ref, fast_expr, grad_ident, grad_row_ident, internal,
    label_ident, row_ident, rt, scalar_ref, Elem, Program, Result, Site,
};
use crate::ir::{Binary, Graph, InputId, InputKind, NodeId, Op, Reduction, Shape, Unary};
use crate::schedule::{Pass, Schedule, Slot, Step};

/// One sample's statements: row views, then the scheduled steps, their
/// passes in chunks of `LANES` elements, or (`may_be_wide`, in the row
/// kernel) of two `LANES` where `__wide` says so.
pub(super) fn sample_body(
    p: &Program<'_>,
    schedule: &Schedule,
    idents: &[Ident],
    writes: &[(InputId, NodeId)],
    with_grad: bool,
    may_be_wide: bool,
) -> Result<TokenStream> {
    let g = p.graph;
    let used = used_inputs(p, writes);
    let rt = rt();
    let mut out = Vec::new();
    for (k, (input, ident)) in g.inputs.iter().zip(idents).enumerate() {
        if !used.contains(&InputId(k as u16)) {
            continue;
        }
        match input.kind {
            InputKind::Vector(d) => {
                let row = row_ident(ident);
                let dim = dim_ident(d);
                out.push(quote!(let #row: &[F] = &#ident.data[__i * #dim..(__i + 1) * #dim];));
            }
            InputKind::Class(_) => {
                let l = label_ident(ident);
                out.push(quote!(let #l: usize = #rt::label(#ident[__i]);));
            }
            InputKind::PerSample => {
                let v = label_ident(ident);
                out.push(quote!(let #v: F = #ident[__i];));
            }
            _ => {}
        }
    }
    if with_grad {
        for &(i, _) in writes {
            let ident = &idents[i.0 as usize];
            if let InputKind::Vector(d) = g.inputs[i.0 as usize].kind {
                let blk = block_ident(ident);
                let row = grad_row_ident(ident);
                let dim = dim_ident(d);
                let spares = schedule
                    .spare_rows
                    .iter()
                    .find(|&&(input, _)| input == i)
                    .map_or(0, |&(_, k)| k);
                if spares == 0 {
                    out.push(quote!(let #row: &mut [F] = &mut #blk[__r * #dim..(__r + 1) * #dim];));
                } else {
                    let spare =
                        (1..=spares).map(|spare| slot_row_ident(Slot { input: i, spare }, idents));
                    out.push(quote! {
                        let (#row, [#(#spare),*]) = #rt::row_and_spares::<F, #spares>(&mut *#blk, __r, #dim);
                    });
                }
            }
        }
    }
    if let Some(&(input, _)) = schedule
        .spare_rows
        .iter()
        .find(|&&(input, _)| !writes.iter().any(|&(i, _)| i == input))
    {
        return internal(format!(
            "spare rows of input {} that writes no row",
            input.0
        ));
    }
    // The second pass fetches the next row (see `next_row_prefetch`).
    let prefetch = next_row_prefetch(g, schedule, idents);
    let mut pass_index = 0;
    // Writes are placed by the schedule; match them to the requested ones.
    for step in &schedule.steps {
        match step {
            Step::Scalar(n) => {
                let id = format_ident!("__s{}", n.0);
                let e = fast_expr(g, *n, idents, Site::Sample)?;
                out.push(quote!(let #id: F = #e;));
            }
            Step::Pass(pass) => {
                let prefetch = if pass_index == 1 {
                    &prefetch
                } else {
                    &TokenStream::new()
                };
                pass_index += 1;
                out.push(emit_pass(
                    g,
                    pass,
                    &pass_writes(pass, writes),
                    idents,
                    may_be_wide,
                    prefetch,
                )?);
            }
        }
    }
    Ok(quote!(#(#out)*))
}

/// The statements, run once a chunk of a row's second pass, that ask the
/// CPU for the same chunk of the next row's inputs to its first pass. The
/// first pass of a row (its maxima, typically) reads rows the cache has
/// not seen; the second (the exponentials) is bound by arithmetic, with
/// memory idle. Fetched then, a wide row is in the cache when its turn
/// comes: cross-entropy's value and gradient at 256x32000 take 0.80x the
/// time, the same bits (docs/performance.md).
fn next_row_prefetch(g: &Graph, schedule: &Schedule, idents: &[Ident]) -> TokenStream {
    let rt = rt();
    let mut passes = schedule.passes();
    let (Some(first), Some(second)) = (passes.next(), passes.next()) else {
        return TokenStream::new();
    };
    let mut seen = HashSet::new();
    let fetches = first.elements.iter().filter_map(|&e| {
        let Op::Input(i) = g.op(e) else { return None };
        let InputKind::Vector(d) = g.inputs[i.0 as usize].kind else {
            return None;
        };
        if d != first.dim || d != second.dim || !seen.insert(i) {
            return None;
        }
        let ident = &idents[i.0 as usize];
        let dim = dim_ident(d);
        Some(quote!(#rt::prefetch(#ident.data, (__i + 1) * #dim + __j);))
    });
    quote!(#(#fetches)*)
}

/// The gradient rows of `writes` that `pass` writes (the schedule places
/// every write; the function writes the requested ones).
pub(super) fn pass_writes(pass: &Pass, writes: &[(InputId, NodeId)]) -> Vec<(InputId, NodeId)> {
    pass.writes
        .iter()
        .copied()
        .filter(|w| writes.contains(w))
        .collect()
}

/// The inputs a sample's computation reads (its value, its gradients and
/// the gradient rows it writes).
pub(super) fn used_inputs(p: &Program<'_>, writes: &[(InputId, NodeId)]) -> HashSet<InputId> {
    let g = p.graph;
    g.reachable(&all_roots(p, writes))
        .into_iter()
        .filter_map(|n| match g.op(n) {
            Op::Input(i) | Op::OneHot(i) | Op::Index(_, i) => Some(i),
            _ => None,
        })
        .collect()
}

fn all_roots(p: &Program<'_>, writes: &[(InputId, NodeId)]) -> Vec<NodeId> {
    let mut roots = vec![p.value];
    roots.extend(p.grads.iter().map(|&(_, n)| n));
    roots.extend(writes.iter().map(|&(_, n)| n));
    roots
}

/// A pass: accumulators, a blocked loop over the row, the tail, the results.
fn emit_pass(
    g: &Graph,
    pass: &Pass,
    writes: &[(InputId, NodeId)],
    idents: &[Ident],
    may_be_wide: bool,
    prefetch: &TokenStream,
) -> Result<TokenStream> {
    let rt = rt();
    let dim = dim_ident(pass.dim);
    let mut init = Vec::new();
    let mut merge = Vec::new();
    let mut barriers = Vec::new();
    let mut done = Vec::new();
    let scaled = scaled_shifts(g, pass);
    for &r in &pass.reductions {
        let acc = format_ident!("__acc{}", r.0);
        let result = format_ident!("__s{}", r.0);
        let Op::Reduce(kind, _) = g.op(r) else {
            return internal("a pass reduction is a Reduce node");
        };
        let scaled_shift = scaled.get(&r);
        if let Some(shift) = scaled_shift {
            // The extremes of the scaled row from the row's own, kept in the
            // lanes of `shift.lanes`: this shift's, or its twin's.
            let (row_max, row_min) = (
                format_ident!("__acc{}", shift.lanes.0),
                min_ident(shift.lanes),
            );
            let h = scalar_ref(g, shift.scale, idents)?;
            let (low, in_range) = (min_ident(r), in_range_ident(r));
            done.push(quote! {
                let (#result, #low): (F, F) =
                    #rt::scaled_extremes(#row_max.maximum(), #row_min.minimum(), #h);
                let #in_range: bool = #rt::exps_in_range(#result, #low);
            });
            if shift.lanes != r {
                continue;
            }
        }
        let (start, finish) = match kind {
            Reduction::Sum => (quote!(zeros), quote!(sum)),
            Reduction::ShiftMax => (quote!(neg_infinity), quote!(maximum)),
            Reduction::Max => (quote!(neg_infinity), quote!(maximum_nan)),
            Reduction::LogSumExp => {
                return internal("log-sum-exp must be expanded before emission")
            }
        };
        init.push(quote!(let mut #acc = #rt::Lanes::<F>::#start();));
        if scaled_shift.is_none() {
            done.push(quote!(let #result: F = #acc.#finish();));
        }
        if kind == Reduction::ShiftMax {
            // The row's minimum beside its maximum: whether every `x - max`
            // of the row is in the short exp's range, tested once here
            // instead of in every chunk of the pass of exponentials (see
            // `exps_in_range`).
            let low = min_ident(r);
            init.push(quote!(let mut #low = #rt::Lanes::<F>::infinity();));
            barriers.push(quote!(let mut #low = #low.barrier();));
            if may_be_wide {
                // The second halves of the wide chunks go into lanes of
                // their own, merged after the chunk loop (see the chunk's
                // body).
                let (hi, low_hi) = (second_half(&acc), second_half(&low));
                init.push(quote! {
                    let mut #hi = #rt::Lanes::<F>::neg_infinity();
                    let mut #low_hi = #rt::Lanes::<F>::infinity();
                });
                merge.push(quote!(#acc.merge_max(#hi); #low.merge_min(#low_hi);));
            }
            if scaled_shift.is_none() {
                let in_range = in_range_ident(r);
                done.push(
                    quote!(let #in_range: bool = #rt::exps_in_range(#result, #low.minimum());),
                );
            }
        }
    }
    // The statements for one element, or (with `chunk`) for the elements of
    // a chunk (`LANES` of them, or twice that), each element node an array
    // computed by a short loop of its own: the form LLVM vectorises
    // reliably.
    //
    // Which version of the chunk's statements (see `Version`); `in_body` says which elements
    // the body computes (in a chunk's two versions, the others were
    // computed before its test, see `MaxMasks::before_test`; a version that
    // holds no maximum declares every mask of `MaxMasks::zero` as 0s, the
    // tested ones again), and `with_effects` whether it also stashes,
    // accumulates and writes.
    let maxima = MaxMasks::of(g, pass, writes);
    let body = |chunk: Option<Chunk>,
                version: Version,
                in_body: &dyn Fn(NodeId) -> bool,
                with_effects: bool|
     -> Result<TokenStream> {
        let lanes = chunk.is_some();
        let (j, lane) = if lanes {
            (quote!(__l), quote!(__l))
        } else {
            (quote!(__j), quote!(0))
        };
        let width = chunk.map(Chunk::width).unwrap_or_default();
        let at = Elem { index: &j, lanes };
        let each = |stmt: TokenStream| {
            if lanes {
                let jj = index_in_row(&stmt, quote!(__j + __l));
                lane_loop(&width, quote!(#jj #stmt))
            } else {
                stmt
            }
        };
        let mut stmts = Vec::new();
        for &e in &pass.elements {
            let id = format_ident!("__e{}", e.0);
            let load = pass.load_of(e);
            if lanes && version == Version::Plain && maxima.zero.contains(&e) {
                // A chunk without a row's maximum: its masks of the maxima
                // are 0 (also the tested ones, computed already, whose
                // lanes LLVM cannot know from the test).
                stmts.push(quote! {
                    let #id: [F; #width] = [<F as ::loss_core::Float>::ZERO; #width];
                });
                continue;
            }
            if !in_body(e) || (load.is_none() && is_leaf(g, e)) {
                continue;
            }
            if lanes && version == Version::Plain && load.is_none() {
                // A select on a mask of the maxima is its other operand.
                if let Op::Select(c, _, b) = g.op(e) {
                    if maxima.zero.contains(&c) {
                        let b = element_ref(g, b, idents, at)?;
                        let fill = each(quote!(#id[__l] = #b;));
                        stmts.push(quote! {
                            let mut #id: [F; #width] = [<F as ::loss_core::Float>::ZERO; #width];
                            #fill
                        });
                        continue;
                    }
                }
            }
            let x = match load {
                Some(slot) => {
                    let row = slot_row_ident(slot, idents);
                    quote!(#row[#j])
                }
                None => fast_expr(g, e, idents, Site::Element(at))?,
            };
            if lanes {
                // A choice by a label (`onehot(y)` itself, or a select on it)
                // holds one value everywhere but at the label: fill the chunk
                // with that value, then, in the chunk that holds the label,
                // patch its lane. No per-element index compare (64-bit
                // compares and shuffles cost more than the exp they guard).
                if let Some(y) = chosen_by_label(g, pass, e) {
                    let (at_label, elsewhere) = match g.op(e) {
                        Op::Select(_, a, b) => (
                            element_ref(g, a, idents, at)?,
                            element_ref(g, b, idents, at)?,
                        ),
                        _ => (
                            quote!(<F as ::loss_core::Float>::ONE),
                            quote!(<F as ::loss_core::Float>::ZERO),
                        ),
                    };
                    let label = label_ident(&idents[y.0 as usize]);
                    let fill = each(quote!(#id[__l] = #elsewhere;));
                    stmts.push(quote! {
                        let mut #id: [F; #width] = [<F as ::loss_core::Float>::ZERO; #width];
                        #fill
                    });
                    if version == Version::Full {
                        stmts.push(quote! {
                            if #label >= __j && #label - __j < #width {
                                let __l = #label - __j;
                                #id[__l] = #at_label;
                            }
                        });
                    }
                    continue;
                }
                // `exp(a - shift)`, `x ln y`, `ln x` and `ln(1 + x)` of a
                // whole chunk: one range test, then the short exp or ln for
                // every lane (see `exp_diff_lanes`, `xlogy_lanes`,
                // `xlogx_lanes`, `ln_lanes`, `log1p_lanes`). The exps of a
                // log-sum-exp, `exp(x - shift(x))`, take the max pass's test
                // of their whole row instead where it passed.
                let in_lanes = lanes_function(g, e, |a, b| match shift_of_row(g, a, b) {
                    Some(max) => in_range_ident(max).to_token_stream(),
                    None => quote!(false),
                });
                if let (Some((function, operands, row_test)), None) = (in_lanes, load) {
                    // Each operand as an array of the chunk's width: the
                    // chunk of an input row or the array of a node as they
                    // are, anything else (a scalar repeated, a constant)
                    // filled by a loop of its own (one loop filling both
                    // cost distillation 10-20 % at 1024x1000).
                    let lanes_of = |n: NodeId, name: Ident| -> Result<(TokenStream, TokenStream)> {
                        if let Some(array) = chunk_array(g, n, idents) {
                            return Ok((quote!(), array));
                        }
                        let v = element_ref(g, n, idents, at)?;
                        let fill = if g.shape(n) == Shape::Scalar {
                            quote!(let #name = [#v; #width];)
                        } else {
                            let fill = each(quote!(#name[__l] = #v;));
                            quote! {
                                let mut #name = [<F as ::loss_core::Float>::ZERO; #width];
                                #fill
                            }
                        };
                        Ok((fill, quote!(&#name)))
                    };
                    let names = [format_ident!("__a"), format_ident!("__b")];
                    let (fills, arrays): (Vec<_>, Vec<_>) = operands
                        .iter()
                        .zip(names)
                        .map(|(&n, name)| lanes_of(n, name))
                        .collect::<Result<Vec<_>>>()?
                        .into_iter()
                        .unzip();
                    let mut call =
                        quote!(#rt::#function::<__M, F, { #width }>(#(#arrays),* #row_test));
                    if may_be_wide {
                        call = quote!(#rt::whole_lanes::<__M, F, { #width }>(#call, __wide));
                    }
                    stmts.push(quote! {
                        let #id: [F; #width] = {
                            #(#fills)*
                            #call
                        };
                    });
                    continue;
                }
                let fill = each(quote!(#id[__l] = #x;));
                stmts.push(quote!(let mut #id: [F; #width] = [<F as ::loss_core::Float>::ZERO; #width]; #fill));
            } else {
                stmts.push(quote!(let #id: F = #x;));
            }
        }
        if !with_effects {
            return Ok(quote!(#(#stmts)*));
        }
        for &(slot, node) in &pass.stashes {
            let row = slot_row_ident(slot, idents);
            let v = element_ref(g, node, idents, at)?;
            stmts.push(each(quote!(#row[#j] = #v;)));
        }
        for &r in &pass.reductions {
            let acc = format_ident!("__acc{}", r.0);
            let Op::Reduce(kind, x) = g.op(r) else {
                return internal("a pass reduction is a Reduce node");
            };
            // A shift's maximum of an input row scaled by a scalar keeps the
            // row's own extremes, in its own lanes or its twin's (see
            // `scaled_shifts`).
            let x = match scaled.get(&r) {
                Some(shift) if shift.lanes != r => continue,
                Some(shift) => shift.row,
                None => x,
            };
            // A sum of masks of the maxima gains nothing where they are 0
            // (and its lanes, sums of 0s and 1s, are never -0).
            if lanes
                && version == Version::Plain
                && kind == Reduction::Sum
                && maxima.zero.contains(&x)
            {
                continue;
            }
            let method = match kind {
                Reduction::Sum => quote!(add),
                Reduction::ShiftMax => quote!(max),
                _ => quote!(max_nan),
            };
            if chunk == Some(Chunk::Double) {
                // The accumulators keep `LANES` lanes: the chunk's first half
                // goes in, then its second, the order of two chunks of
                // `LANES` (so the same bits as the other widths).
                let first = element_ref(g, x, idents, at)?;
                let shifted = quote!((__l + #rt::LANES));
                let second = element_ref(
                    g,
                    x,
                    idents,
                    Elem {
                        index: &shifted,
                        lanes,
                    },
                )?;
                let jj_first = index_in_row(&first, quote!(__j + __l));
                let jj_second = index_in_row(&second, quote!(__j + #rt::LANES + __l));
                if kind == Reduction::ShiftMax {
                    // A shift's maximum does not depend on the order
                    // (`finite_or_zero` makes a zero `+0`): the second half
                    // goes into lanes of its own, so that the two halves'
                    // maxima do not wait for each other (the max pass ran
                    // at their latency). The same for the minimum.
                    let low = min_ident(r);
                    let (hi, low_hi) = (second_half(&acc), second_half(&low));
                    stmts.push(lane_loop(
                        &quote!(#rt::LANES),
                        quote! {
                            #jj_first
                            #acc.max(__l, #first);
                            #low.min(__l, #first);
                            #jj_second
                            #hi.max(__l, #second);
                            #low_hi.min(__l, #second);
                        },
                    ));
                    continue;
                }
                if kind == Reduction::Sum && whole_before_sum(g, pass, x, writes, &maxima) {
                    let terms = format_ident!("__e{}", x.0);
                    stmts.push(quote!(let #terms = ::core::hint::black_box(#terms);));
                }
                stmts.push(lane_loop(
                    &quote!(#rt::LANES),
                    quote! {
                        #jj_first
                        #acc.#method(__l, #first);
                        #jj_second
                        #acc.#method(__l, #second);
                    },
                ));
            } else {
                let v = element_ref(g, x, idents, at)?;
                stmts.push(each(quote!(#acc.#method(#lane, #v);)));
                if kind == Reduction::ShiftMax {
                    let low = min_ident(r);
                    stmts.push(each(quote!(#low.min(#lane, #v);)));
                }
            }
        }
        for &(i, node) in writes {
            let ident = &idents[i.0 as usize];
            let v = element_ref(g, node, idents, at)?;
            stmts.push(each(match g.inputs[i.0 as usize].kind {
                InputKind::Vector(_) => {
                    let row = grad_row_ident(ident);
                    quote!(#row[#j] = __seed * #v;)
                }
                _ => {
                    let gi = grad_ident(ident);
                    quote!(#gi[#j] += __seed * #v;)
                }
            }));
        }
        Ok(quote!(#(#stmts)*))
    };
    // In the blocked loop every row is re-borrowed as a fixed-size chunk, so
    // the lanes index it without bounds checks and the body vectorises;
    // `__jj` is the element's index in the row (for `onehot`).
    let mut rows = Vec::new();
    let mut seen = HashSet::new();
    let mut row = |row: Ident, mutable: bool| {
        if seen.insert(row.to_string()) {
            rows.push((row, mutable));
        }
    };
    for &e in &pass.elements {
        if let Op::Input(i) = g.op(e) {
            let ident = &idents[i.0 as usize];
            match g.inputs[i.0 as usize].kind {
                InputKind::Vector(_) => row(row_ident(ident), false),
                InputKind::Weights(_) => row(ident.clone(), false),
                _ => {}
            }
        }
    }
    for &(i, _) in writes {
        let ident = &idents[i.0 as usize];
        match g.inputs[i.0 as usize].kind {
            InputKind::Vector(_) => row(grad_row_ident(ident), true),
            _ => row(grad_ident(ident), true),
        }
    }
    let slots = pass.stashes.iter().map(|&(slot, _)| slot);
    for slot in slots.chain(pass.loads.iter().map(|&(_, slot)| slot)) {
        row(slot_row_ident(slot, idents), true);
    }
    let chunks = |width: TokenStream| {
        let rt = &rt;
        rows.iter().map(move |(row, mutable)| {
            if *mutable {
                quote!(let #row: &mut [F; #width] = #rt::chunk_mut(&mut *#row, __j);)
            } else {
                quote!(let #row: &[F; #width] = #rt::chunk(#row, __j);)
            }
        })
    };
    // A chunk's body, in two versions where the pass chooses by a label:
    // the patch indexes the chunk's arrays with a variable, which moves them
    // out of registers to the stack (cross-entropy's gradient at 1024x1000
    // ran 1.6x slower at AVX-512, 1.1x at AVX2), so only the chunk that
    // holds a label runs it. (A compare of each lane with the label's lane
    // instead of the store: LLVM folds it into one scalar branch per lane,
    // 1.5x slower again.)
    //
    // The same for a row's maxima (see `MaxMasks`): the masks that find them
    // are computed first, with everything that does not read them, and only
    // a chunk that holds a maximum computes what is chosen or summed by
    // them. A choice by a label among what comes first is patched there,
    // under its own test of the label, in every chunk (see `MaxMasks::of`);
    // the chunk's test then needs only the labels chosen by after it.
    let labels = pass_labels(g, pass, idents, |e| !maxima.before_test.contains(&e));
    let everything = |_: NodeId| true;
    let chunk_body = |chunk: Chunk| -> Result<TokenStream> {
        if labels.is_empty() && maxima.tested.is_empty() {
            return body(Some(chunk), Version::Full, &everything, true);
        }
        let width = chunk.width();
        let before_test = |e: NodeId| maxima.before_test.contains(&e);
        let after_test = |e: NodeId| !maxima.before_test.contains(&e);
        let first = body(Some(chunk), Version::Full, &before_test, false)?;
        let plain = body(Some(chunk), Version::Plain, &after_test, true)?;
        let full = body(Some(chunk), Version::Full, &after_test, true)?;
        let label_tests = labels
            .iter()
            .map(|label| quote!(#label.wrapping_sub(__j) < #width));
        let max_tests = maxima.tested.iter().map(|m| {
            let id = format_ident!("__e{}", m.0);
            quote!(#rt::any_set(&#id))
        });
        let tests = label_tests.chain(max_tests);
        Ok(quote! {
            #first
            if #(#tests)||* {
                #full
            } else {
                #plain
            }
        })
    };
    let single = {
        let views = chunks(Chunk::Single.width());
        let body = chunk_body(Chunk::Single)?;
        quote!(#(#views)* #prefetch #body __j += #rt::LANES;)
    };
    // In the row kernel, where `__wide` (a constant in each compiled copy)
    // says so: chunks of two `LANES` while they fit, then at most one of
    // `LANES`. Else chunks of `LANES`. The tail is the same either way. One
    // body for both widths keeps the source the compiler checks small; each
    // copy keeps only its own loops. A pass of maxima alone takes the chunks
    // of two `LANES` in every copy, not only where they fill a register:
    // their two halves then keep separate lanes, whose compares do not wait
    // for each other.
    let max_only = pass
        .reductions
        .iter()
        .all(|&r| matches!(g.op(r), Op::Reduce(Reduction::ShiftMax, _)))
        && writes.is_empty()
        && pass.stashes.is_empty();
    let wide = if max_only {
        quote!(true)
    } else {
        quote!(__wide)
    };
    let wide_loop = if may_be_wide {
        let views = chunks(Chunk::Double.width());
        let body = chunk_body(Chunk::Double)?;
        quote! {
            if #wide {
                while __j + #rt::WIDE <= #dim {
                    #(#views)*
                    #prefetch
                    #body
                    __j += #rt::WIDE;
                }
            }
        }
    } else {
        quote!()
    };
    let blocked = quote! {
        #wide_loop
        while __j + #rt::LANES <= #dim {
            #single
        }
    };
    let tail = body(None, Version::Full, &everything, true)?;
    // The tail adds to lane 0 alone; without the barrier LLVM would split the
    // accumulators of the blocked loop into lanes to suit it.
    barriers.extend(
        pass.reductions
            .iter()
            .filter(|r| scaled.get(r).is_none_or(|shift| shift.lanes == **r))
            .map(|r| {
                let acc = format_ident!("__acc{}", r.0);
                quote!(let mut #acc = #acc.barrier();)
            }),
    );
    Ok(quote! {
        #(#init)*
        let mut __j = 0usize;
        #blocked
        #(#merge)*
        #(#barriers)*
        while __j < #dim {
            let __jj = __j;
            #tail
            __j += 1;
        }
        #(#done)*
    })
}

/// Which of a chunk's two versions a body is, where the pass chooses by a
/// label or splits at a row's maxima.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Version {
    /// Every statement: for a chunk that may hold a label of the pass (its
    /// choices patched at the label's lane) or a row's maximum, and for the
    /// tail.
    Full,
    /// For a chunk that holds neither: no patch, and the masks of
    /// `MaxMasks::zero` taken as 0.
    Plain,
}

/// The masks of a pass that are set only at a row's maxima (`x ==
/// max(x)`, `exp(x - max(x)) == 1`, products of them with other masks): the
/// split of a log-sum-exp at its maxima (`rewrite::lse_parts`). A row has
/// its maxima in one chunk or a few, so a chunk first computes the masks
/// of `tested` and what does not read them, and where no mask is set takes
/// every mask of `zero` as 0: no selects on them, no sums of them. The
/// same bits either way.
///
/// Only in a pass that writes no gradient row, such as a pass of
/// exponentials: there distillation at 1024×1000 took 0.94–0.965× the time
/// (KL 1.00×); in the gradient's pass, whose masks choose one form of the
/// gradient, the test cost more than the selects it skips (distillation
/// 1.02×; see docs/performance.md, "Chunks without a maximum").
struct MaxMasks {
    /// The compares, tested before the rest of the chunk.
    tested: Vec<NodeId>,
    /// The elements computed before the test: the tested compares and
    /// whatever reads none of them, directly or not; empty where nothing is
    /// tested.
    before_test: HashSet<NodeId>,
    /// The masks that are 0 in every lane of a chunk where every tested
    /// mask is 0.
    zero: HashSet<NodeId>,
}

impl MaxMasks {
    fn of(g: &Graph, pass: &Pass, writes: &[(InputId, NodeId)]) -> MaxMasks {
        let none = MaxMasks {
            tested: Vec::new(),
            before_test: HashSet::new(),
            zero: HashSet::new(),
        };
        if !writes.is_empty() {
            return none;
        }
        let loaded = |e: NodeId| pass.load_of(e).is_some();
        // One walk in dependency order. An element waits for the test (each
        // version of the chunk computes it) if it reads a tested compare or
        // an element that waits; everything else is computed once, before
        // the test. A compare at the maxima that waits for nothing is
        // tested. (A choice by a label that reads no tested compare is then
        // patched before the test, in every chunk: distillation took 0.99×
        // the time of its choice computed in each version of the chunk. A
        // pass with no compare to test computes nothing before its chunk's
        // test and patches only the chunk that holds the label: computing
        // everything first there took cross-entropy 1.03× the time.)
        let mut tested = Vec::new();
        let mut after_test: HashSet<NodeId> = HashSet::new();
        for &e in &pass.elements {
            let waits = g
                .op(e)
                .operands()
                .any(|a| tested.contains(&a) || after_test.contains(&a));
            if waits {
                after_test.insert(e);
            } else if !loaded(e) && is_at_row_max(g, e) {
                tested.push(e);
            }
        }
        if tested.is_empty() {
            return none;
        }
        let mut zero: HashSet<NodeId> = tested.iter().copied().collect();
        for &e in &pass.elements {
            if let (Op::Binary(Binary::Mul, a, b), false) = (g.op(e), loaded(e)) {
                let zero_times_mask = |x: NodeId, m: NodeId| zero.contains(&x) && is_mask(g, m);
                if zero_times_mask(a, b) || zero_times_mask(b, a) {
                    zero.insert(e);
                }
            }
        }
        let before_test = pass
            .elements
            .iter()
            .copied()
            .filter(|e| !after_test.contains(e))
            .collect();
        MaxMasks {
            tested,
            before_test,
            zero,
        }
    }
}

/// Whether `e` is `x == max(x)` or `exp(x - max(x)) == 1` of a row `x`:
/// set at the row's maxima only (the second also within rounding of them).
fn is_at_row_max(g: &Graph, e: NodeId) -> bool {
    let Op::Binary(Binary::Eq, a, b) = g.op(e) else {
        return false;
    };
    let is_one = |n: NodeId| g.op(n) == Op::Const(1f64.to_bits());
    let is_exp_of_centred_row = |n: NodeId| match g.op(n) {
        Op::Binary(Binary::ExpDiff, x, s) => shift_of_row(g, x, s).is_some(),
        _ => false,
    };
    shift_of_row(g, a, b).is_some()
        || shift_of_row(g, b, a).is_some()
        || (is_one(b) && is_exp_of_centred_row(a))
        || (is_one(a) && is_exp_of_centred_row(b))
}

/// Whether `n` is 0 or 1 everywhere: a compare, or a product of them.
fn is_mask(g: &Graph, n: NodeId) -> bool {
    match g.op(n) {
        Op::Binary(Binary::Eq | Binary::Gt | Binary::Ge, ..) => true,
        Op::Binary(Binary::Mul, a, b) => is_mask(g, a) && is_mask(g, b),
        _ => false,
    }
}

/// The lanes that take the second halves of the wide chunks for the
/// accumulator `lanes` of a shift's maximum or minimum.
fn second_half(lanes: &Ident) -> Ident {
    format_ident!("{}_hi", lanes)
}

/// The lanes of a row's minimum, kept beside the maximum of log-sum-exp
/// shift `max`.
fn min_ident(max: NodeId) -> Ident {
    format_ident!("__min{}", max.0)
}

/// Whether every `x - shift` of the row whose maximum is `max` is in the
/// short exp's range (from the max pass).
/// The whole-chunk function of `loss_core::__private` that computes node
/// `e` over a chunk of any width, its operands, and its arguments after
/// them: `exp(a - b)` (`exp_diff_lanes`, whose last argument, from
/// `exp_test(a, b)`, says whether a test of the whole row already found
/// every `a - b` in the short exp's range), `x ln y`, `x ln x`, `ln x` and
/// `ln(1 + x)`.
pub(super) fn lanes_function(
    g: &Graph,
    e: NodeId,
    exp_test: impl FnOnce(NodeId, NodeId) -> TokenStream,
) -> Option<(TokenStream, Vec<NodeId>, TokenStream)> {
    Some(match g.op(e) {
        Op::Binary(Binary::ExpDiff, a, b) => {
            let test = exp_test(a, b);
            (quote!(exp_diff_lanes), vec![a, b], quote!(, #test))
        }
        Op::Binary(Binary::Xlogy, a, b) if a == b => (quote!(xlogx_lanes), vec![a], quote!()),
        Op::Binary(Binary::Xlogy, a, b) => (quote!(xlogy_lanes), vec![a, b], quote!()),
        Op::Unary(Unary::Ln, a) => (quote!(ln_lanes), vec![a], quote!()),
        Op::Unary(Unary::Log1p, a) => (quote!(log1p_lanes), vec![a], quote!()),
        _ => return None,
    })
}

/// A shift's maximum of an input row times a scalar (`z / T` is `z * (1 /
/// T)` by then), taken from the row's own extremes (`scaled_extremes`):
/// the max pass of a distillation keeps the extremes of `z` and `t`, not
/// also those of `z / T` and `t / T`, two products and two compares fewer
/// per element.
struct ScaledShift {
    /// The input row.
    row: NodeId,
    /// The scalar it is scaled by.
    scale: NodeId,
    /// The shift whose lanes keep the row's extremes: this one, or the
    /// pass's shift of the row itself (`max(z)` beside `max(z / T)`).
    lanes: NodeId,
}

/// The pass's shifts of scaled input rows, by their reduction.
fn scaled_shifts(g: &Graph, pass: &Pass) -> HashMap<NodeId, ScaledShift> {
    let mut scaled = HashMap::new();
    for &r in &pass.reductions {
        let Op::Reduce(Reduction::ShiftMax, x) = g.op(r) else {
            continue;
        };
        let Op::Binary(Binary::Mul, p, q) = g.op(x) else {
            continue;
        };
        let found = [(p, q), (q, p)].into_iter().find(|&(a, h)| {
            matches!(g.op(a), Op::Input(i) if matches!(g.inputs[i.0 as usize].kind, InputKind::Vector(_)))
                && g.shape(h) == Shape::Scalar
        });
        if let Some((row, scale)) = found {
            let twin = pass
                .reductions
                .iter()
                .copied()
                .find(|&o| g.op(o) == Op::Reduce(Reduction::ShiftMax, row));
            let lanes = twin.unwrap_or(r);
            scaled.insert(r, ScaledShift { row, scale, lanes });
        }
    }
    scaled
}

/// Whether a double chunk's terms `x` of a sum pass through an optimisation
/// barrier before their two halves are added (the order of two chunks of
/// `LANES`). Without it LLVM's SLP vectoriser computes what leads to the
/// sum in halves of `LANES` too, with twice the instructions (and a shuffle
/// to join the halves where an exp takes the whole chunk): at 1024×1000
/// distillation took 1.07× and KL 1.08× the time (docs/performance.md,
/// "Whole chunks before their sums"). In a pass that writes a gradient,
/// every node's sum takes one. In a pass that writes none, not where the
/// barrier cost more than it saved: a term chosen by a label (whose array
/// the label's patch sends through memory already), and an input's chunk
/// or its copy (`select(mask, 0, p)`, which is `p` in a chunk without a
/// maximum), which have nothing before them to split (cross-entropy took
/// 1.03–1.04×, KL 1.02–1.05× the time with those barriers too).
fn whole_before_sum(
    g: &Graph,
    pass: &Pass,
    x: NodeId,
    writes: &[(InputId, NodeId)],
    maxima: &MaxMasks,
) -> bool {
    if is_leaf(g, x) {
        return false;
    }
    if !writes.is_empty() {
        return true;
    }
    let copied = match g.op(x) {
        Op::Select(c, _, b) if maxima.zero.contains(&c) => b,
        _ => x,
    };
    chosen_by_label(g, pass, x).is_none() && !is_leaf(g, copied)
}

fn in_range_ident(max: NodeId) -> Ident {
    format_ident!("__in_range{}", max.0)
}

/// The maximum node if `b` is the log-sum-exp shift of `a`,
/// `finite_or_zero(max(a))`.
fn shift_of_row(g: &Graph, a: NodeId, b: NodeId) -> Option<NodeId> {
    let Op::Unary(Unary::FiniteOrZero, max) = g.op(b) else {
        return None;
    };
    (g.op(max) == Op::Reduce(Reduction::ShiftMax, a)).then_some(max)
}

/// The row-kernel row a stash slot is: the sample's gradient row, or its
/// `k`-th spare (the gradient row of the sample `k` rows on).
fn slot_row_ident(slot: Slot, idents: &[Ident]) -> Ident {
    let ident = &idents[slot.input.0 as usize];
    match slot.spare {
        0 => grad_row_ident(ident),
        k => format_ident!("__spare{}_{}_row", k, ident),
    }
}

/// The label by which element `e` of `pass` is chosen (`onehot(y)` itself,
/// or a select on it), unless the pass loads `e` from a stash.
fn chosen_by_label(g: &Graph, pass: &Pass, e: NodeId) -> Option<InputId> {
    if pass.load_of(e).is_some() {
        return None;
    }
    match g.op(e) {
        Op::Select(c, ..) => match g.op(c) {
            Op::OneHot(y) => Some(y),
            _ => None,
        },
        _ => None,
    }
}

/// `let __jj = index;`, the element's index in its row, where `stmt` reads
/// it (a one-hot named in place does); else nothing.
fn index_in_row(stmt: &TokenStream, index: TokenStream) -> TokenStream {
    fn mentions(tokens: &TokenStream) -> bool {
        tokens.clone().into_iter().any(|t| match t {
            proc_macro2::TokenTree::Ident(i) => i == "__jj",
            proc_macro2::TokenTree::Group(g) => mentions(&g.stream()),
            _ => false,
        })
    }
    if mentions(stmt) {
        quote!(let __jj = #index;)
    } else {
        quote!()
    }
}

/// A reference to the array of `n` in a chunk, where it has one: an input
/// row's chunk (a vector or weights), or a node's own array.
fn chunk_array(g: &Graph, n: NodeId, idents: &[Ident]) -> Option<TokenStream> {
    match g.op(n) {
        Op::Input(i) => {
            let ident = &idents[i.0 as usize];
            match g.inputs[i.0 as usize].kind {
                InputKind::Vector(_) => Some(row_ident(ident).to_token_stream()),
                InputKind::Weights(_) => Some(ident.to_token_stream()),
                _ => None,
            }
        }
        _ if is_leaf(g, n) || g.shape(n) == Shape::Scalar => None,
        _ => {
            let id = format_ident!("__e{}", n.0);
            Some(quote!(&#id))
        }
    }
}

/// Whether `n` is a leaf: a constant, an input, a dim's length or a
/// one-hot row. Its users name it in place (see `leaf_or_named`), so a pass
/// computes no array for it: an array nobody reads still costs the
/// compiler its checks and LLVM its loop.
pub(super) fn is_leaf(g: &Graph, n: NodeId) -> bool {
    matches!(
        g.op(n),
        Op::Const(_) | Op::Input(_) | Op::DimLen(_) | Op::OneHot(_)
    )
}

/// The labels by which `pass` chooses the elements `among` picks, each once.
fn pass_labels(
    g: &Graph,
    pass: &Pass,
    idents: &[Ident],
    among: impl Fn(NodeId) -> bool,
) -> Vec<Ident> {
    let mut labels: Vec<InputId> = Vec::new();
    for &e in pass.elements.iter().filter(|&&e| among(e)) {
        if let Some(y) = chosen_by_label(g, pass, e) {
            if !labels.contains(&y) {
                labels.push(y);
            }
        }
    }
    labels
        .into_iter()
        .map(|y| label_ident(&idents[y.0 as usize]))
        .collect()
}

/// `body` for each lane `__l` below `width` (a constant of at least 1), as
/// a loop whose test is at its end: LLVM then has no loop to rotate, a pass
/// whose cost grows with the loops times the function's size.
pub(super) fn lane_loop(width: &TokenStream, body: TokenStream) -> TokenStream {
    quote! {{
        let mut __l = 0usize;
        loop {
            #body
            __l += 1;
            if __l == #width {
                break;
            }
        }
    }}
}

/// The width of the row kernel's chunks: `LANES` elements, or two `LANES`
/// where that fills a vector register (f32 at AVX-512).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Chunk {
    Single,
    Double,
}

impl Chunk {
    fn width(self) -> TokenStream {
        let rt = rt();
        match self {
            Chunk::Single => quote!(#rt::LANES),
            Chunk::Double => quote!(#rt::WIDE),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::{schedule, Output};

    /// The inputs' identifiers of `sample_graph`, and the fast path's
    /// graph of `logsumexp(z)` and `sum(z)` (its roots, in that order).
    fn lse_and_sum() -> ([Ident; 3], Graph, Vec<NodeId>) {
        let idents = [format_ident!("z"), format_ident!("y"), format_ident!("t")];
        let mut g = crate::ir::tests::sample_graph();
        let z = g.intern(Op::Input(InputId(0)));
        let lse = g.intern(Op::Reduce(Reduction::LogSumExp, z));
        let total = g.intern(Op::Reduce(Reduction::Sum, z));
        let (g, roots) = crate::rewrite::expand(&g, &[lse, total]);
        (idents, g, roots)
    }

    /// The second pass of a log-sum-exp (its exponentials) asks for the next
    /// row of the first pass's input; a single pass asks for nothing.
    #[test]
    fn the_second_pass_fetches_the_next_rows_first_pass_inputs() {
        let (idents, two, roots) = lse_and_sum();
        let fetch = next_row_prefetch(
            &two,
            &schedule(&two, &[Output::Scalar(roots[0])], 0),
            &idents,
        );
        let expected = quote!(::loss_core::__private::prefetch(z.data, (__i + 1) * __dim_0 + __j););
        assert_eq!(fetch.to_string(), expected.to_string());
        let one = next_row_prefetch(
            &two,
            &schedule(&two, &[Output::Scalar(roots[1])], 0),
            &idents,
        );
        assert!(one.is_empty(), "{one}");
    }

    /// The max pass of a log-sum-exp keeps the row's minimum beside its
    /// maximum and tests the whole row once; the pass of exponentials takes
    /// that verdict instead of testing each chunk.
    #[test]
    fn the_exps_take_the_max_pass_test_of_their_row() {
        let (idents, mut g, roots) = lse_and_sum();
        // The input's node, already in the graph.
        let z = g.intern(Op::Input(InputId(0)));
        let plan = schedule(&g, &[Output::Scalar(roots[0])], 0);
        let passes: Vec<&Pass> = plan.passes().collect();
        let max = passes[0].reductions[0];
        assert_eq!(g.op(max), Op::Reduce(Reduction::ShiftMax, z));
        let code = |pass| {
            emit_pass(&g, pass, &[], &idents, true, &quote!())
                .unwrap()
                .to_string()
        };
        let (maximum, minimum, in_range) = (
            format_ident!("__s{}", max.0),
            min_ident(max),
            in_range_ident(max),
        );
        let verdict = quote! {
            let #in_range: bool = ::loss_core::__private::exps_in_range(#maximum, #minimum.minimum());
        };
        let first = code(passes[0]);
        assert!(first.contains(&verdict.to_string()), "{first}");
        assert!(
            first.contains(&format!("{minimum} . min (__l ,")),
            "{first}"
        );
        let second = code(passes[1]);
        // The input's chunk as it is, the shift repeated.
        let call = quote!((__z_row, &__b, #in_range));
        assert!(second.contains(&call.to_string()), "{second}");
    }

    /// The masks to test of the pass of exponentials (the second pass) of
    /// `root`, a scalar of `g` after the expansion, and that pass as text.
    fn pass_of_exponentials(g: &Graph, root: NodeId, idents: &[Ident]) -> (MaxMasks, String) {
        let plan = schedule(g, &[Output::Scalar(root)], 0);
        let exps = plan.passes().nth(1).expect("a pass of exponentials");
        let code = emit_pass(g, exps, &[], idents, true, &quote!())
            .unwrap()
            .to_string();
        (MaxMasks::of(g, exps, &[]), code)
    }

    /// `logsumexp(z) - z[y]`, the cross-entropy of `sample_graph`'s `z` and
    /// label `y`, before the expansion.
    fn label_cross_entropy(g: &mut Graph, z: NodeId) -> NodeId {
        let lse = g.intern(Op::Reduce(Reduction::LogSumExp, z));
        let at_label = g.intern(Op::Index(z, InputId(1)));
        g.intern(Op::Binary(Binary::Sub, lse, at_label))
    }

    /// The versions of a chunk after its test for a maximum: the text from
    /// each test (`any_set`, or a label's `wrapping_sub`) to its `else`, and
    /// from there to the chunk's end.
    fn versions(code: &str, test: &str) -> Vec<(String, String)> {
        code.match_indices(test)
            .map(|(at, _)| {
                let otherwise = at + code[at..].find("} else {").expect(code);
                let end = otherwise + code[otherwise..].find("__j +=").expect(code);
                (
                    code[at..otherwise].to_string(),
                    code[otherwise..end].to_string(),
                )
            })
            .collect()
    }

    /// A pass of exponentials split at the row's maxima tests each chunk
    /// for a maximum and, where it holds none, sums the exponentials with
    /// no select on the compare and no count of the maxima; the version
    /// for a chunk that holds one has both.
    #[test]
    fn chunks_without_a_maximum_skip_the_split() {
        let (idents, mut g, roots) = lse_and_sum();
        let (masks, code) = pass_of_exponentials(&g, roots[0], &idents);
        assert_eq!(masks.tested.len(), 1);
        // The node exists already: the count of the maxima.
        let count = g.intern(Op::Reduce(Reduction::Sum, masks.tested[0]));
        let count = format!("__acc{} . add", count.0);
        let test = format!("any_set (& __e{})", masks.tested[0].0);
        let versions = versions(&code, &test);
        // The chunks of two `LANES` and of one.
        assert_eq!(versions.len(), 2, "{code}");
        for (full, plain) in versions {
            assert!(full.contains("select (") && full.contains(&count), "{full}");
            assert!(
                !plain.contains("select (") && !plain.contains(&count),
                "{plain}"
            );
        }
    }

    /// A pass that chooses by a label and has no maximum to test computes
    /// nothing before its chunk's test, and patches the label's lane only
    /// in the version for the chunk that holds the label.
    #[test]
    fn a_labels_patch_comes_after_the_chunks_test() {
        let idents = [format_ident!("z"), format_ident!("y"), format_ident!("t")];
        let mut g = crate::ir::tests::sample_graph();
        let z = g.intern(Op::Input(InputId(0)));
        let ce = label_cross_entropy(&mut g, z);
        let (g, roots) = crate::rewrite::expand(&g, &[ce]);
        let (masks, code) = pass_of_exponentials(&g, roots[0], &idents);
        assert!(masks.tested.is_empty());
        let test = "__y_i . wrapping_sub (__j)";
        let first = code.find(test).expect(&code);
        assert!(!code[..first].contains("__e"), "{code}");
        let patch = "if __y_i >= __j";
        let versions = versions(&code, test);
        assert_eq!(versions.len(), 2, "{code}");
        for (full, plain) in versions {
            assert!(
                full.contains(patch) && !plain.contains(patch),
                "{full}\n{plain}"
            );
        }
    }

    /// The barriers of a pass's double chunks before their sums (see
    /// `whole_before_sum`): the nodes whose arrays pass through one.
    fn barriers(code: &str) -> Vec<NodeId> {
        let statement = "= :: core :: hint :: black_box (__e";
        code.match_indices(statement)
            .map(|(at, _)| {
                let rest = &code[at + statement.len()..];
                let digits = rest.find(')').expect(code);
                NodeId(rest[..digits].trim().parse().expect(code))
            })
            .collect()
    }

    /// In a pass of exponentials, the sum of the exponentials below the
    /// maximum (a node of the chunk) takes its double chunk whole before
    /// the halves are added; a leaf's chunk and a term chosen by a label
    /// (which the patch sends through memory already) do not.
    #[test]
    fn sums_of_double_chunks_take_their_terms_whole() {
        let (idents, g, roots) = lse_and_sum();
        let (_, code) = pass_of_exponentials(&g, roots[0], &idents);
        let whole = barriers(&code);
        // The exponentials below the maximum in the full version and the
        // plain one of the double chunk (and the count of the maxima, in
        // the full version alone).
        let exps = whole.first().copied().expect(&code);
        assert!(matches!(g.op(exps), Op::Select(..)), "{code}");
        assert_eq!(whole.iter().filter(|&&n| n == exps).count(), 2, "{code}");
        assert!(whole.iter().all(|&n| !is_leaf(&g, n)), "{code}");
        let idents = [format_ident!("z"), format_ident!("y"), format_ident!("t")];
        let mut g = crate::ir::tests::sample_graph();
        let z = g.intern(Op::Input(InputId(0)));
        let ce = label_cross_entropy(&mut g, z);
        let (g, roots) = crate::rewrite::expand(&g, &[ce]);
        let (_, code) = pass_of_exponentials(&g, roots[0], &idents);
        assert!(code.contains("__acc"), "{code}");
        assert!(barriers(&code).is_empty(), "{code}");
    }

    /// A max pass of `z` and of `z t` and `y t` (`t` a scalar, as a
    /// distillation's `1 / T`) keeps the extremes of `z` and `y` alone: the
    /// products' come from `scaled_extremes`, and `z t`'s from `z`'s lanes.
    #[test]
    fn a_scaled_rows_shift_comes_from_the_rows_extremes() {
        let idents = [format_ident!("z"), format_ident!("y"), format_ident!("t")];
        let mut g = crate::ir::tests::sample_graph();
        g.inputs[1].kind = InputKind::Vector(crate::ir::DimId(0));
        let z = g.intern(Op::Input(InputId(0)));
        let y = g.intern(Op::Input(InputId(1)));
        let t = g.intern(Op::Input(InputId(2)));
        let zt = g.intern(Op::Binary(Binary::Mul, z, t));
        let yt = g.intern(Op::Binary(Binary::Mul, y, t));
        let lses = [z, zt, yt].map(|x| g.intern(Op::Reduce(Reduction::LogSumExp, x)));
        let both = g.intern(Op::Binary(Binary::Add, lses[0], lses[1]));
        let all = g.intern(Op::Binary(Binary::Add, both, lses[2]));
        let (g, roots) = crate::rewrite::expand(&g, &[all]);
        let plan = schedule(&g, &[Output::Scalar(roots[0])], 0);
        let max_pass = plan.passes().next().expect("a max pass");
        assert_eq!(max_pass.reductions.len(), 3);
        let code = emit_pass(&g, max_pass, &[], &idents, true, &quote!())
            .unwrap()
            .to_string();
        let kept: HashSet<&str> = code
            .match_indices(". max (__l , ")
            .chain(code.match_indices(". max (0 , "))
            .map(|(at, m)| {
                let rest = &code[at + m.len()..];
                &rest[..rest.find(") ;").expect(&code)]
            })
            .collect();
        let rows: HashSet<&str> = [
            "__z_row [__l]",
            "__z_row [(__l + :: loss_core :: __private :: LANES)]",
            "__z_row [__j]",
            "__y_row [__l]",
            "__y_row [(__l + :: loss_core :: __private :: LANES)]",
            "__y_row [__j]",
        ]
        .into_iter()
        .collect();
        assert_eq!(kept, rows, "{code}");
        assert_eq!(code.matches("scaled_extremes").count(), 2, "{code}");
        // `z`'s lanes, once: `z t` has none of its own.
        let accumulators = code.matches("Lanes :: < F > :: neg_infinity ()").count();
        assert_eq!(accumulators, 2 * 2, "{code}");
    }

    /// Where a pass has both a maximum to test and a choice by a label that
    /// reads no compare (a distillation's cross-entropy beside its
    /// divergence), the choice is made, and patched under its own test of
    /// the label, before the chunk's test, which then tests the maxima
    /// alone.
    #[test]
    fn a_label_beside_a_maximum_is_patched_before_the_test() {
        let idents = [format_ident!("z"), format_ident!("y"), format_ident!("t")];
        let mut g = crate::ir::tests::sample_graph();
        let z = g.intern(Op::Input(InputId(0)));
        // `t` is a scalar: the second row is `z t`, as a distillation's
        // `z / T`.
        let t = g.intern(Op::Input(InputId(2)));
        let ce = label_cross_entropy(&mut g, z);
        let scaled = g.intern(Op::Binary(Binary::Mul, z, t));
        let lse_scaled = g.intern(Op::Reduce(Reduction::LogSumExp, scaled));
        let both = g.intern(Op::Binary(Binary::Add, ce, lse_scaled));
        let (g, roots) = crate::rewrite::expand(&g, &[both]);
        let (masks, code) = pass_of_exponentials(&g, roots[0], &idents);
        assert_eq!(masks.tested.len(), 1);
        let test = format!("any_set (& __e{})", masks.tested[0].0);
        let first_test = code.find(&test).expect(&code);
        let first_patch = code.find("if __y_i >= __j").expect(&code);
        assert!(first_patch < first_test, "{code}");
        assert!(!code.contains("__y_i . wrapping_sub (__j)"), "{code}");
    }

    /// The row kernel's passes for the scalar outputs `roots` of `g`, as
    /// text.
    fn row_kernel_passes(g: &Graph, roots: &[NodeId], idents: &[Ident]) -> String {
        let outputs: Vec<Output> = roots.iter().map(|&r| Output::Scalar(r)).collect();
        schedule(g, &outputs, 0)
            .passes()
            .map(|pass| {
                emit_pass(g, pass, &[], idents, true, &quote!())
                    .unwrap()
                    .to_string()
            })
            .collect()
    }

    /// A leaf gets no array of its own: its users name it in place (the
    /// input's chunk, the one-hot's compare). A lane loop binds `__jj`, the
    /// element's index in its row, only where a one-hot reads it.
    #[test]
    fn leaves_take_no_array_and_lanes_bind_the_index_only_where_read() {
        let idents = [format_ident!("z"), format_ident!("y"), format_ident!("t")];
        let mut g = crate::ir::tests::sample_graph();
        let z = g.intern(Op::Input(InputId(0)));
        let onehot = g.intern(Op::OneHot(InputId(1)));
        let two = g.intern(Op::Const(2f64.to_bits()));
        let scaled = g.intern(Op::Binary(Binary::Mul, z, two));
        let picked = g.intern(Op::Binary(Binary::Mul, onehot, scaled));
        let plain = g.intern(Op::Reduce(Reduction::Sum, scaled));
        let chosen = g.intern(Op::Reduce(Reduction::Sum, picked));
        let code = row_kernel_passes(&g, &[plain, chosen], &idents);
        for leaf in [z, onehot, two] {
            let array = format!("__e{} :", leaf.0);
            assert!(!code.contains(&array), "{array} in {code}");
        }
        for node in [scaled, picked] {
            let array = format!("__e{} :", node.0);
            assert!(code.contains(&array), "no {array} in {code}");
        }
        // The chunks of two `LANES` and of one, and the tail: one binding
        // each, in the statement of the one-hot's product alone.
        assert_eq!(code.matches("let __jj").count(), 3, "{code}");
        let bound = format!("let __jj = __j + __l ; __e{} [__l] =", picked.0);
        assert_eq!(code.matches(&bound).count(), 2, "{code}");
    }

    /// `ln x`, `ln(1 + x)` and `x ln x` of a chunk take one range test of
    /// the chunk (`ln_lanes`, `log1p_lanes`, `xlogx_lanes`) instead of each
    /// lane's special values.
    #[test]
    fn the_lns_of_a_chunk_take_one_range_test() {
        let idents = [format_ident!("z"), format_ident!("y"), format_ident!("t")];
        let mut g = crate::ir::tests::sample_graph();
        let z = g.intern(Op::Input(InputId(0)));
        let ln = g.intern(Op::Unary(Unary::Ln, z));
        let log1p = g.intern(Op::Unary(Unary::Log1p, z));
        let entropy = g.intern(Op::Binary(Binary::Xlogy, z, z));
        let both = g.intern(Op::Binary(Binary::Add, ln, log1p));
        let all = g.intern(Op::Binary(Binary::Add, both, entropy));
        let total = g.intern(Op::Reduce(Reduction::Sum, all));
        let (g, roots) = crate::rewrite::expand(&g, &[total]);
        let code = row_kernel_passes(&g, &roots, &idents);
        for function in ["ln_lanes", "log1p_lanes", "xlogx_lanes"] {
            let function = format_ident!("{}", function);
            let call = quote! {
                ::loss_core::__private::#function::<__M, F, { ::loss_core::__private::LANES }>(__z_row)
            };
            let call = call.to_string();
            assert!(code.contains(&call), "{call} in {code}");
        }
    }
}
