//! The last rewrite of the fast path: a row's elementwise sums of products
//! with as few operations per element as the algebra allows.
//!
//! Differentiation and the expansion leave elementwise terms nested as the
//! formula nests them. Distillation's gradient is `h (b c1 e_s - b c2 e_t) +
//! a g`, and its divergence's terms are `c q l_t - c q l_s`, where `h`, `b`,
//! `c1`, `c2`, `a`, `c` are per-sample scalars and `e_s`, `e_t`, `q`, `g`,
//! `l_t`, `l_s` vary along the row. An operation on a vector costs once per
//! element, one on scalars once per row. So a vector expression that is a
//! sum of products (built with `+`, `-`, negation and `*`) is rewritten:
//!
//! - its scalar factors are multiplied into one coefficient per term, which
//!   the schedule computes once per row: `(h b c1) e_s - (h b c2) e_t + a g`;
//! - a factor common to every term goes outside, so that `sum` can take a
//!   scalar one out of the pass: `c sum(q (l_t - l_s))`;
//! - terms with one coefficient share its product: `h t - h z` is `h (t -
//!   z)`.
//!
//! A vector shifted by a scalar (`z - m`, `(z - m) - l`) is kept whole: the
//! expansion subtracts a row's maximum first so that it cancels exactly, and
//! split into terms it would be regrouped as `z - (m + l)`, which rounds `m +
//! l`. Two sums multiplied together are not multiplied out (that can
//! cancel). Only the operands of sums and the gradient rows are rewritten,
//! and only where the new form has fewer operations per element; a graph it
//! cannot improve is returned as it was, node ids and all. Like the other
//! rewrites it holds for real numbers: the last bits of a result can differ
//! from the formula's order of operations (`docs/dsl.md`).

use crate::ir::{Binary, Graph, NodeId, Op, Reduction, Shape, Unary};
use crate::rewrite::{build, is_power_of_two, rebuild};

/// One product: `sign * scalars... * vectors...`, each list sorted.
#[derive(Clone, Debug, PartialEq)]
struct Term {
    negative: bool,
    scalars: Vec<NodeId>,
    vectors: Vec<NodeId>,
}

/// At most this many terms per expression: the products of two sums grow
/// fast, and a form that large is no longer worth expanding.
const MAX_TERMS: usize = 16;

/// Rewrites the operands of the sums and the gradient rows among `roots`
/// (`roots[0]` is the value, a scalar; see the module docs); returns the
/// graph and the new roots.
pub fn factor(src: &Graph, roots: &[NodeId]) -> (Graph, Vec<NodeId>) {
    let mut changed = false;
    let (mut g, mut new_roots) = rebuild(src, roots, |_, _, op, dst| match op {
        Op::Reduce(Reduction::Sum, v) => {
            let factored = factored(dst, v);
            if factored == v {
                return dst.intern(op);
            }
            changed = true;
            match (dst.shape(v), dst.shape(factored)) {
                // Every vector term cancelled (`(2 a - a) - a`): what is
                // left is one number for each element of the row.
                (Shape::Vector(d), Shape::Scalar) => {
                    let len = dst.intern(Op::DimLen(d));
                    build(dst, Op::Binary(Binary::Mul, factored, len))
                }
                _ => build(dst, Op::Reduce(Reduction::Sum, factored)),
            }
        }
        other => dst.intern(other),
    });
    for root in new_roots.iter_mut().skip(1) {
        if g.shape(*root) != Shape::Scalar {
            let factored = factored(&mut g, *root);
            changed |= factored != *root;
            *root = factored;
        }
    }
    if !changed {
        return (src.clone(), roots.to_vec());
    }
    // Drop what the trials left unreachable.
    rebuild(&g, &new_roots, |_, _, op, dst| dst.intern(op))
}

/// `v` rewritten as in the module docs, or `v` itself where that does not
/// save an operation per element.
fn factored(g: &mut Graph, v: NodeId) -> NodeId {
    match terms(g, v) {
        Some(terms) if terms.len() > 1 || terms.iter().any(|t| t.scalars.len() > 1) => {
            let before = vector_ops(g, v);
            let mut trial = g.clone();
            let candidate = build_terms(&mut trial, terms);
            if vector_ops(&trial, candidate) < before {
                *g = trial;
                candidate
            } else {
                v
            }
        }
        _ => v,
    }
}

/// The operations on vectors the tree of `v` makes, counting shared nodes
/// once.
fn vector_ops(g: &Graph, v: NodeId) -> usize {
    g.reachable(&[v])
        .into_iter()
        .filter(|&n| {
            g.shape(n) != Shape::Scalar
                && matches!(
                    g.op(n),
                    Op::Binary(Binary::Add | Binary::Sub | Binary::Mul, ..)
                        | Op::Unary(Unary::Neg, _)
                )
        })
        .count()
}

/// `v` as a sum of products, or `None` if it is not one (or too large).
fn terms(g: &Graph, v: NodeId) -> Option<Vec<Term>> {
    let atom = |n: NodeId| atom(g, n);
    if g.shape(v) == Shape::Scalar {
        return Some(vec![atom(v)]);
    }
    let out = match g.op(v) {
        // A vector shifted by a scalar stays whole: `(z - m) - l` subtracts
        // the row's maximum first, exactly, and regrouped as `z - (m + l)`
        // it would round `m + l` instead (the log-softmax of large logits).
        Op::Binary(Binary::Add | Binary::Sub, x, y)
            if g.shape(x) == Shape::Scalar || g.shape(y) == Shape::Scalar =>
        {
            vec![atom(v)]
        }
        Op::Binary(Binary::Add, x, y) => {
            let mut t = terms(g, x)?;
            t.extend(terms(g, y)?);
            whole_if_bare(g, t, v)
        }
        Op::Binary(Binary::Sub, x, y) => {
            let mut t = terms(g, x)?;
            t.extend(negated(terms(g, y)?));
            whole_if_bare(g, t, v)
        }
        Op::Unary(Unary::Neg, x) => negated(terms(g, x)?),
        Op::Binary(Binary::Mul, x, y) => {
            let (tx, ty) = (terms(g, x)?, terms(g, y)?);
            // Distribute only a single product over a sum: the expansion of
            // two sums multiplied out is larger, and can cancel.
            if tx.len() > 1 && ty.len() > 1 {
                vec![atom(v)]
            } else {
                let mut out = Vec::with_capacity(tx.len() * ty.len());
                for a in &tx {
                    for b in &ty {
                        out.push(product(a, b));
                    }
                }
                out
            }
        }
        _ => vec![atom(v)],
    };
    (out.len() <= MAX_TERMS).then_some(out)
}

/// `terms`, or `v` whole where every term is a bare vector (`a - b`, `a +
/// b - c`), or one scaled by a power of two (`b - 0.5 (a + b)`): their sum
/// is exact where they nearly cancel, and a coefficient multiplied into
/// each (`c a - c b`) would round the large products before they cancel
/// (the gradient of `huber(a, b, 1)` at `a`, `b` near 1e4 lost 6e-4, that
/// of `mse(b, (a + b) / 2)` beside a cross-entropy 1e-4).
fn whole_if_bare(g: &Graph, terms: Vec<Term>, v: NodeId) -> Vec<Term> {
    let exact_scale = |s: &NodeId| match g.op(*s) {
        Op::Const(bits) => is_power_of_two(f64::from_bits(bits)),
        _ => false,
    };
    if terms
        .iter()
        .all(|t| t.scalars.iter().all(exact_scale) && t.vectors.len() == 1)
    {
        vec![atom(g, v)]
    } else {
        terms
    }
}

/// `n` as a term of its own: a coefficient or a vector factor.
fn atom(g: &Graph, n: NodeId) -> Term {
    let scalar = g.shape(n) == Shape::Scalar;
    Term {
        negative: false,
        scalars: if scalar { vec![n] } else { vec![] },
        vectors: if scalar { vec![] } else { vec![n] },
    }
}

fn negated(mut terms: Vec<Term>) -> Vec<Term> {
    for t in &mut terms {
        t.negative = !t.negative;
    }
    terms
}

fn product(a: &Term, b: &Term) -> Term {
    let mut scalars = [a.scalars.as_slice(), b.scalars.as_slice()].concat();
    let mut vectors = [a.vectors.as_slice(), b.vectors.as_slice()].concat();
    scalars.sort();
    vectors.sort();
    Term {
        negative: a.negative != b.negative,
        scalars,
        vectors,
    }
}

/// Removes one occurrence of `x` from a sorted list; `false` if absent.
fn take(list: &mut Vec<NodeId>, x: NodeId) -> bool {
    match list.iter().position(|&n| n == x) {
        Some(i) => {
            list.remove(i);
            true
        }
        None => false,
    }
}

/// The factors every term has (each counted as often as every term has it).
fn common(terms: &[Term], of: impl Fn(&Term) -> &Vec<NodeId>) -> Vec<NodeId> {
    let mut shared = of(&terms[0]).clone();
    for t in &terms[1..] {
        let mut rest = of(t).clone();
        shared.retain(|&n| take(&mut rest, n));
    }
    shared
}

/// Builds `terms` with the fewest vector operations this greedy method finds.
fn build_terms(g: &mut Graph, mut terms: Vec<Term>) -> NodeId {
    merge_like_terms(g, &mut terms);
    if terms.is_empty() {
        return g.constant_node(0.0);
    }
    // Factors of every term go outside.
    let scalars = common(&terms, |t| &t.scalars);
    let vectors = common(&terms, |t| &t.vectors);
    let all_negative = terms.iter().all(|t| t.negative);
    for t in &mut terms {
        for &s in &scalars {
            take(&mut t.scalars, s);
        }
        for &v in &vectors {
            take(&mut t.vectors, v);
        }
        if all_negative {
            t.negative = false;
        }
    }
    let inner = if scalars.is_empty() && vectors.is_empty() || terms.len() == 1 {
        sum_of(g, terms)
    } else {
        build_terms(g, terms)
    };
    let coefficient = scalar_product(g, &scalars);
    let mut out = inner;
    for &v in &vectors {
        out = build(g, Op::Binary(Binary::Mul, v, out));
    }
    if let Some(c) = coefficient {
        out = build(g, Op::Binary(Binary::Mul, c, out));
    }
    if all_negative {
        out = build(g, Op::Unary(Unary::Neg, out));
    }
    out
}

/// Terms with the same factors add their signs: `a t + a t = (2 a) t`, and
/// `a t - a t` vanishes.
fn merge_like_terms(g: &mut Graph, terms: &mut Vec<Term>) {
    let mut merged: Vec<(Term, f64)> = Vec::new();
    for t in terms.drain(..) {
        let sign = if t.negative { -1.0 } else { 1.0 };
        match merged
            .iter_mut()
            .find(|(m, _)| m.scalars == t.scalars && m.vectors == t.vectors)
        {
            Some((_, k)) => *k += sign,
            None => merged.push((t, sign)),
        }
    }
    for (mut t, k) in merged {
        if k == 0.0 {
            continue;
        }
        t.negative = k < 0.0;
        if k.abs() != 1.0 {
            t.scalars.push(g.constant_node(k.abs()));
            t.scalars.sort();
        }
        terms.push(t);
    }
}

/// The product of `scalars`, or `None` for none.
fn scalar_product(g: &mut Graph, scalars: &[NodeId]) -> Option<NodeId> {
    let mut it = scalars.iter();
    let first = *it.next()?;
    Some(it.fold(first, |acc, &s| build(g, Op::Binary(Binary::Mul, acc, s))))
}

/// `sum of ±coefficient * vectors`, terms with one coefficient sharing its
/// product: `h t - h z` is `h (t - z)`.
fn sum_of(g: &mut Graph, terms: Vec<Term>) -> NodeId {
    // The terms without a vector factor add up per row, and join the
    // vector terms' sum in one operation per element.
    let (constants, terms): (Vec<Term>, Vec<Term>) =
        terms.into_iter().partition(|t| t.vectors.is_empty());
    let constants: Vec<(NodeId, bool)> = constants
        .iter()
        .map(|t| {
            let c = scalar_product(g, &t.scalars).unwrap_or_else(|| g.constant_node(1.0));
            (c, t.negative)
        })
        .collect();
    let constant = signed_sum(g, constants);
    // Group by coefficient, in the order of first appearance.
    let mut groups: Vec<(Vec<NodeId>, Vec<Term>)> = Vec::new();
    for t in terms {
        match groups.iter_mut().find(|(s, _)| *s == t.scalars) {
            Some((_, members)) => members.push(t),
            None => groups.push((t.scalars.clone(), vec![t])),
        }
    }
    let mut parts = Vec::with_capacity(groups.len() + 1);
    for (scalars, members) in groups {
        let products: Vec<(NodeId, bool)> = members
            .iter()
            .map(|t| (product_of(g, &t.vectors), t.negative))
            .collect();
        let (inner, negative) = signed_sum(g, products).expect("a group has a member");
        let part = match scalar_product(g, &scalars) {
            Some(c) => build(g, Op::Binary(Binary::Mul, c, inner)),
            None => inner,
        };
        parts.push((part, negative));
    }
    parts.extend(constant);
    let (node, negative) = signed_sum(g, parts).expect("terms is not empty");
    if negative {
        build(g, Op::Unary(Unary::Neg, node))
    } else {
        node
    }
}

/// The product of `vectors` (at least one).
fn product_of(g: &mut Graph, vectors: &[NodeId]) -> NodeId {
    let (&first, rest) = vectors.split_first().expect("a vector term has a vector");
    rest.iter()
        .fold(first, |acc, &x| build(g, Op::Binary(Binary::Mul, acc, x)))
}

/// `±a ± b ± ...`, in order, as a node and the sign still to apply to it;
/// `None` for no parts.
fn signed_sum(g: &mut Graph, parts: Vec<(NodeId, bool)>) -> Option<(NodeId, bool)> {
    let mut parts = parts.into_iter();
    let first = parts.next()?;
    Some(parts.fold(first, |(acc, acc_negative), (x, negative)| {
        add_signed(g, acc, acc_negative, x, negative)
    }))
}

/// `±a ± b` as a node and the sign still to apply to it.
fn add_signed(g: &mut Graph, a: NodeId, a_neg: bool, b: NodeId, b_neg: bool) -> (NodeId, bool) {
    match (a_neg, b_neg) {
        (false, false) => (build(g, Op::Binary(Binary::Add, a, b)), false),
        (false, true) => (build(g, Op::Binary(Binary::Sub, a, b)), false),
        (true, false) => (build(g, Op::Binary(Binary::Sub, b, a)), false),
        (true, true) => (build(g, Op::Binary(Binary::Add, a, b)), true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{DimId, Input, InputId, InputKind};

    /// Vectors `a`, `b`, `q` over one dim and scalars `h`, `u`, `w`, `m`, `k`.
    fn graph() -> (Graph, [NodeId; 8]) {
        let input = |name: &str, kind| Input {
            name: name.into(),
            kind,
            grad: false,
            ignore_index: false,
        };
        let vector = InputKind::Vector(DimId(0));
        let mut g = Graph::new(
            vec!["C".into()],
            vec![
                input("a", vector),
                input("b", vector),
                input("q", vector),
                input("h", InputKind::Scalar),
                input("u", InputKind::Scalar),
                input("w", InputKind::Scalar),
                input("m", InputKind::Scalar),
                input("k", InputKind::Scalar),
            ],
        );
        let ids = core::array::from_fn(|i| g.intern(Op::Input(InputId(i as u16))));
        (g, ids)
    }

    fn op(g: &mut Graph, b: Binary, x: NodeId, y: NodeId) -> NodeId {
        g.intern(Op::Binary(b, x, y))
    }

    #[test]
    fn scalar_factors_become_one_coefficient_per_term() {
        // h (u a - w b) + k exp(a): the gradient of a composite, nested as
        // differentiation leaves it.
        let (mut g, [a, b, _, h, u, w, _, k]) = graph();
        let ua = op(&mut g, Binary::Mul, u, a);
        let wb = op(&mut g, Binary::Mul, w, b);
        let diff = op(&mut g, Binary::Sub, ua, wb);
        let outer = op(&mut g, Binary::Mul, h, diff);
        let e = g.intern(Op::Unary(Unary::Exp, a));
        let ke = op(&mut g, Binary::Mul, k, e);
        let grad = op(&mut g, Binary::Add, outer, ke);
        let value = g.constant_node(0.0);
        let (f, roots) = factor(&g, &[value, grad]);
        assert_eq!(
            f.display(roots[1]).to_string(),
            "k * exp(a) + (h * u * a - h * w * b)"
        );
        assert_eq!((vector_ops(&g, grad), vector_ops(&f, roots[1])), (6, 5));
    }

    #[test]
    fn a_factor_of_every_term_leaves_the_terms_and_shifted_vectors_stay_whole() {
        // sum(u q (h a - m) - u q (h b - k)): a divergence's terms. `h a - m`
        // is not split into `h a` and `-m`: that would regroup the shifts.
        let (mut g, [a, b, q, h, u, _, m, k]) = graph();
        let uq = op(&mut g, Binary::Mul, u, q);
        let ha = op(&mut g, Binary::Mul, h, a);
        let la = op(&mut g, Binary::Sub, ha, m);
        let hb = op(&mut g, Binary::Mul, h, b);
        let lb = op(&mut g, Binary::Sub, hb, k);
        let ta = op(&mut g, Binary::Mul, uq, la);
        let tb = op(&mut g, Binary::Mul, uq, lb);
        let terms = op(&mut g, Binary::Sub, ta, tb);
        let total = g.intern(Op::Reduce(Reduction::Sum, terms));
        let (f, roots) = factor(&g, &[total]);
        assert_eq!(
            f.display(roots[0]).to_string(),
            "u * sum(q * (h * a - m - (h * b - k)))"
        );
    }

    #[test]
    fn a_form_it_cannot_improve_keeps_its_nodes() {
        // sum(a b + exp(a)) and the gradient u a + b are as short as they get.
        let (mut g, [a, b, _, _, u, ..]) = graph();
        let ab = op(&mut g, Binary::Mul, a, b);
        let e = g.intern(Op::Unary(Unary::Exp, a));
        let s = op(&mut g, Binary::Add, ab, e);
        let total = g.intern(Op::Reduce(Reduction::Sum, s));
        let ua = op(&mut g, Binary::Mul, u, a);
        let grad = op(&mut g, Binary::Add, ua, b);
        let (f, roots) = factor(&g, &[total, grad]);
        assert_eq!(roots, vec![total, grad]);
        assert_eq!(f.display(total).to_string(), g.display(total).to_string());
    }

    #[test]
    fn two_sums_multiplied_stay_a_product() {
        // (a + b)(a - b) is not multiplied out: that can cancel.
        let (mut g, [a, b, .., h, _]) = graph();
        let p = op(&mut g, Binary::Add, a, b);
        let n = op(&mut g, Binary::Sub, a, b);
        let pn = op(&mut g, Binary::Mul, p, n);
        let grad = op(&mut g, Binary::Mul, h, pn);
        let value = g.constant_node(0.0);
        let (f, roots) = factor(&g, &[value, grad]);
        assert_eq!(f.display(roots[1]).to_string(), g.display(grad).to_string());
    }

    #[test]
    fn terms_that_cancel_leave_no_sum_of_a_number() {
        // sum(q h a - h a q): the terms cancel. What is left is 0 for each
        // element, summed over the row: not a sum of a scalar, which the
        // emitter cannot write.
        let (mut g, [a, _, q, h, ..]) = graph();
        let ha = op(&mut g, Binary::Mul, h, a);
        let qha = op(&mut g, Binary::Mul, q, ha);
        let haq = op(&mut g, Binary::Mul, ha, q);
        let zero = op(&mut g, Binary::Sub, qha, haq);
        let total = g.intern(Op::Reduce(Reduction::Sum, zero));
        let (f, roots) = factor(&g, &[total]);
        assert_eq!(f.display(roots[0]).to_string(), "0.0");
    }

    #[test]
    fn a_difference_of_vectors_stays_whole() {
        // -(0.5 (q (2 (a - b))) + exp(a - b)), the shape of a Huber
        // gradient. `q b - q a - exp(a - b)` has fewer operations, but it
        // rounds both large products before they cancel, where `a - b` is
        // exact.
        let (mut g, [a, b, q, ..]) = graph();
        let d = op(&mut g, Binary::Sub, a, b);
        let two = g.constant_node(2.0);
        let half = g.constant_node(0.5);
        let d2 = op(&mut g, Binary::Mul, two, d);
        let qd = op(&mut g, Binary::Mul, q, d2);
        let hqd = op(&mut g, Binary::Mul, half, qd);
        let e = g.intern(Op::Unary(Unary::Exp, d));
        let sum = op(&mut g, Binary::Add, hqd, e);
        let grad = g.intern(Op::Unary(Unary::Neg, sum));
        let value = g.constant_node(0.0);
        let (f, roots) = factor(&g, &[value, grad]);
        let text = f.display(roots[1]).to_string();
        assert!(text.contains("q * (a - b)"), "{text}");
    }

    #[test]
    fn a_difference_scaled_by_powers_of_two_stays_whole() {
        // exp(a) - 0.5 (h (2 (a - 0.5 (a + b)))), the gradient of `mse(a, (a
        // + b) / 2)` beside another term, nested as differentiation leaves
        // it. `exp(a) - h a + (0.5 h) (a + b)` has fewer operations, but it
        // rounds both products at the size of `a` before they cancel, where
        // `a - 0.5 (a + b)` is exact when `a + b` is (f32 at `a`, `b` near
        // 1e4 lost 1e-4).
        let (mut g, [a, b, _, h, ..]) = graph();
        let (half, two) = (g.constant_node(0.5), g.constant_node(2.0));
        let ab = op(&mut g, Binary::Add, a, b);
        let mid = op(&mut g, Binary::Mul, half, ab);
        let d = op(&mut g, Binary::Sub, a, mid);
        let d2 = op(&mut g, Binary::Mul, two, d);
        let hd = op(&mut g, Binary::Mul, h, d2);
        let scaled = op(&mut g, Binary::Mul, half, hd);
        let e = g.intern(Op::Unary(Unary::Exp, a));
        let grad = op(&mut g, Binary::Sub, e, scaled);
        let value = g.constant_node(0.0);
        let (f, roots) = factor(&g, &[value, grad]);
        let text = f.display(roots[1]).to_string();
        assert!(text.contains("(a - 0.5 * (a + b))"), "{text}");
    }
}
