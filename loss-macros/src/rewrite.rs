//! Stage 4: rewrites.
//!
//! Both passes rebuild the graph bottom-up through a simplifying constructor,
//! so every node is built from already-rewritten operands and hash-consing
//! merges what the rules make equal.
//!
//! - [`simplify`] (before and after differentiation): constant folding,
//!   algebraic identities, and the stability rewrites: `ln(exp(x))` → `x`
//!   (so `ln(softmax(z))` becomes `z - logsumexp(z)`), `ln(sigmoid(x))` →
//!   `-softplus(-x)`, `ln(1 + x)` → `log1p(x)`, `exp(x) - 1` → `expm1(x)`,
//!   `xlogy(p, exp(a))` → `p * a`, ...
//! - [`expand`] (fast path only, just before scheduling): a log-sum-exp
//!   becomes a max-shifted sum of exponentials, whose shift meets its own
//!   vector or a scalar before `ln(total)` does (`(x - m) - ln S`, `(u - m)
//!   - ln S`) and which a sum against a row that sums to 0 takes less its
//!   maximum (`sum((x - m) * g)`), and the cross-entropy of a
//!   class label gets the forms that never cancel: its value
//!   `log1p(sum_{j≠y} e^{z_j - z_y})` when the label logit is near the
//!   maximum, and its gradient at the label `-sum_{j≠y} p_j` instead of
//!   `p_y - 1`.

use std::collections::{HashMap, HashSet};

use crate::ir::{Binary, DimId, Graph, InputId, NodeId, Op, Reduction, Shape, Unary};

/// Rebuilds the part of `src` that `roots` need, passing each node through
/// `rule(src, old_id, new_operands_op, dst)`; returns the new graph and roots.
pub(crate) fn rebuild(
    src: &Graph,
    roots: &[NodeId],
    mut rule: impl FnMut(&Graph, NodeId, Op, &mut Graph) -> NodeId,
) -> (Graph, Vec<NodeId>) {
    let mut dst = src.empty_like();
    let mut map: HashMap<NodeId, NodeId> = HashMap::new();
    for id in src.reachable(roots) {
        let m = |x: NodeId| map[&x];
        let op = match src.op(id) {
            Op::Unary(u, a) => Op::Unary(u, m(a)),
            Op::Binary(b, x, y) => Op::Binary(b, m(x), m(y)),
            Op::Powi(a, n) => Op::Powi(m(a), n),
            Op::Reduce(r, a) => Op::Reduce(r, m(a)),
            Op::Index(v, y) => Op::Index(m(v), y),
            Op::Select(c, a, b) => Op::Select(m(c), m(a), m(b)),
            leaf => leaf,
        };
        let new = rule(src, id, op, &mut dst);
        map.insert(id, new);
    }
    let roots = roots.iter().map(|r| map[r]).collect();
    (dst, roots)
}

/// Constant folding, algebra and stability rewrites of the nodes `roots`
/// need.
pub fn simplify(src: &Graph, roots: &[NodeId]) -> (Graph, Vec<NodeId>) {
    rebuild(src, roots, |src, old, op, dst| {
        reduce_of_broadcast(src, old, op, dst).unwrap_or_else(|| build(dst, op))
    })
}

/// A reduction whose operand simplified to a scalar (`sum(0 * v)`): the
/// scalar stands for the same number at every element of the dim the
/// operand had, which the source graph still knows.
fn reduce_of_broadcast(src: &Graph, old: NodeId, op: Op, dst: &mut Graph) -> Option<NodeId> {
    let Op::Reduce(r, a) = op else { return None };
    if dst.shape(a) != Shape::Scalar {
        return None;
    }
    let Op::Reduce(_, a_old) = src.op(old) else {
        return None;
    };
    let Shape::Vector(d) = src.shape(a_old) else {
        return None;
    };
    let len = dst.intern(Op::DimLen(d));
    Some(match r {
        Reduction::Sum => bin(dst, Binary::Mul, a, len),
        Reduction::Max | Reduction::ShiftMax => a,
        Reduction::LogSumExp => {
            let log_len = un(dst, Unary::Ln, len);
            bin(dst, Binary::Add, a, log_len)
        }
    })
}

/// The simplifying constructor: the node for `op`, whose operands are
/// already simplified.
pub fn build(g: &mut Graph, op: Op) -> NodeId {
    if let Some(x) = fold(g, &op) {
        return g.constant_node(x);
    }
    let c = |g: &Graph, id: NodeId| g.constant(id);
    match op {
        Op::Unary(u, a) => unary(g, u, a),
        Op::Binary(b, x, y) => binary(g, b, x, y, c(g, x), c(g, y)),
        Op::Powi(_, 0) => g.constant_node(1.0),
        Op::Powi(a, 1) => a,
        Op::Powi(a, n) => match g.op(a) {
            Op::Powi(b, m) if m.checked_mul(n).is_some() => build(g, Op::Powi(b, m * n)),
            _ => g.intern(op),
        },
        Op::Reduce(Reduction::Sum, v) => sum(g, v),
        Op::Index(v, y) => index(g, v, y),
        Op::Select(cond, a, b) => match c(g, cond) {
            Some(k) if k != 0.0 => a,
            Some(_) => b,
            None if a == b => a,
            // `select(c, a, select(d, e, a))` where `c` and `d` never hold
            // together is `select(d, e, a)`: `h > 0 ? a : (h <= 0 ? 0 : a)`
            // is `h <= 0 ? 0 : a`.
            None => match g.op(b) {
                Op::Select(d, _, otherwise) if otherwise == a && exclusive(g, cond, d) => b,
                _ => g.intern(op),
            },
        },
        other => g.intern(other),
    }
}

fn un(g: &mut Graph, u: Unary, a: NodeId) -> NodeId {
    build(g, Op::Unary(u, a))
}
fn bin(g: &mut Graph, b: Binary, x: NodeId, y: NodeId) -> NodeId {
    build(g, Op::Binary(b, x, y))
}

/// `Some(x)` if the node is the constant `x`.
fn is_const(g: &Graph, id: NodeId, x: f64) -> bool {
    g.constant(id) == Some(x)
}

fn unary(g: &mut Graph, u: Unary, a: NodeId) -> NodeId {
    let inner = g.op(a);
    match (u, inner) {
        (Unary::Neg, Op::Unary(Unary::Neg, x)) => x,
        (Unary::Neg, Op::Binary(Binary::Sub, x, y)) => bin(g, Binary::Sub, y, x),
        (Unary::Exp, Op::Unary(Unary::Ln, x)) => x,
        (Unary::Ln, Op::Unary(Unary::Exp, x)) => x,
        // ln(σ(x)) = -softplus(-x), exact where σ(x) underflows.
        (Unary::Ln, Op::Unary(Unary::Sigmoid, x)) => {
            let neg = un(g, Unary::Neg, x);
            let sp = un(g, Unary::Softplus, neg);
            un(g, Unary::Neg, sp)
        }
        (Unary::Ln, Op::Binary(Binary::Add, x, y)) if is_const(g, x, 1.0) => un(g, Unary::Log1p, y),
        (Unary::Ln, Op::Binary(Binary::Add, x, y)) if is_const(g, y, 1.0) => un(g, Unary::Log1p, x),
        (Unary::Ln, Op::Binary(Binary::Sub, x, y)) if is_const(g, x, 1.0) => {
            let neg = un(g, Unary::Neg, y);
            un(g, Unary::Log1p, neg)
        }
        // ln(softmax(z)[y]) = (z - logsumexp(z))[y].
        (Unary::Ln, Op::Index(v, y)) if matches!(g.op(v), Op::Unary(Unary::Exp, _)) => {
            let Op::Unary(Unary::Exp, inner) = g.op(v) else {
                unreachable!()
            };
            build(g, Op::Index(inner, y))
        }
        (Unary::Log1p, Op::Unary(Unary::Exp, x)) => un(g, Unary::Softplus, x),
        (Unary::Log1p, Op::Unary(Unary::Neg, s))
            if matches!(g.op(s), Op::Unary(Unary::Sigmoid, _)) =>
        {
            let Op::Unary(Unary::Sigmoid, x) = g.op(s) else {
                unreachable!()
            };
            let sp = un(g, Unary::Softplus, x);
            un(g, Unary::Neg, sp)
        }
        (Unary::Abs, Op::Unary(Unary::Abs | Unary::Exp | Unary::Sigmoid | Unary::Softplus, _)) => a,
        _ => g.intern(Op::Unary(u, a)),
    }
}

/// The terms of a chain of additions, subtractions and negations, with
/// their signs (`true` for `+`), in order.
fn signed_terms(g: &Graph, n: NodeId, positive: bool, out: &mut Vec<(bool, NodeId)>) {
    match g.op(n) {
        Op::Binary(Binary::Add, a, b) => {
            signed_terms(g, a, positive, out);
            signed_terms(g, b, positive, out);
        }
        Op::Binary(Binary::Sub, a, b) => {
            signed_terms(g, a, positive, out);
            signed_terms(g, b, !positive, out);
        }
        Op::Unary(Unary::Neg, a) => signed_terms(g, a, !positive, out),
        _ => out.push((positive, n)),
    }
}

/// `x + y` (`x - y` unless `added`) where its terms hold `s e^a`, `-s a`
/// and `-s` (or `s expm1(a)` and `-s a`): those as `s expm1mx(a)`, the other
/// terms kept in order. Near `a = 0` the three cancel to `a^2 / 2`, which
/// `expm1mx` keeps to the last bit (a VAE's `1 + lv - mu^2 - exp(lv)`).
fn exp_minus_one_minus_x(g: &mut Graph, x: NodeId, y: NodeId, added: bool) -> Option<NodeId> {
    let mut terms = Vec::new();
    signed_terms(g, x, true, &mut terms);
    signed_terms(g, y, added, &mut terms);
    // (index of the exponential, its argument, its sign, whether it is `expm1`)
    let (e, a, s, has_one) = terms
        .iter()
        .enumerate()
        .find_map(|(i, &(s, n))| match g.op(n) {
            Op::Unary(Unary::Exp, a) => Some((i, a, s, false)),
            Op::Unary(Unary::Expm1, a) => Some((i, a, s, true)),
            _ => None,
        })?;
    let linear = terms.iter().position(|&(sign, n)| n == a && sign != s)?;
    let one = if has_one {
        None
    } else {
        let one = terms
            .iter()
            .position(|&(sign, n)| g.constant(n) == Some(if sign == s { -1.0 } else { 1.0 }))?;
        Some(one)
    };
    let mut rebuilt: Option<NodeId> = None;
    for (i, &(sign, n)) in terms.iter().enumerate() {
        if i == linear || Some(i) == one {
            continue;
        }
        let n = if i == e { un(g, Unary::Expm1mx, a) } else { n };
        rebuilt = Some(match (rebuilt, sign) {
            (None, true) => n,
            (None, false) => un(g, Unary::Neg, n),
            (Some(acc), true) => bin(g, Binary::Add, acc, n),
            (Some(acc), false) => bin(g, Binary::Sub, acc, n),
        });
    }
    rebuilt
}

fn binary(
    g: &mut Graph,
    b: Binary,
    x: NodeId,
    y: NodeId,
    cx: Option<f64>,
    cy: Option<f64>,
) -> NodeId {
    let (ox, oy) = (g.op(x), g.op(y));
    let zero_like = |g: &mut Graph| g.constant_node(0.0);
    // Only a sum holds the terms of `e^a - 1 - a` (a product or a quotient
    // read as one once compiled `e^t (t + 1)` to `expm1mx(t)`).
    if let Binary::Add | Binary::Sub = b {
        if let Some(n) = exp_minus_one_minus_x(g, x, y, b == Binary::Add) {
            return n;
        }
        if let Some(n) = complementary_gates(g, x, y, b == Binary::Sub) {
            return n;
        }
    }
    match b {
        Binary::Add => match (cx, cy, ox, oy) {
            (Some(k), ..) if k == 0.0 && g.shape(y) == broad(g, x, y) => y,
            (_, Some(k), ..) if k == 0.0 && g.shape(x) == broad(g, x, y) => x,
            (_, _, _, Op::Unary(Unary::Neg, ny)) => bin(g, Binary::Sub, x, ny),
            (_, _, Op::Unary(Unary::Neg, nx), _) => bin(g, Binary::Sub, y, nx),
            // x + (-k) z = x - k z, exactly.
            _ if g.as_negative_scale(y).is_some() => flip_scale(g, Binary::Sub, x, y),
            _ => g.intern(Op::Binary(b, x, y)),
        },
        Binary::Sub => match (cx, cy, ox, oy) {
            _ if x == y => zero_like(g),
            (_, Some(k), ..) if k == 0.0 && g.shape(x) == broad(g, x, y) => x,
            (Some(0.0), ..) => un(g, Unary::Neg, y),
            (_, _, _, Op::Unary(Unary::Neg, ny)) => bin(g, Binary::Add, x, ny),
            // x - (-k) z = x + k z, exactly.
            _ if g.as_negative_scale(y).is_some() => flip_scale(g, Binary::Add, x, y),
            // exp(a) - 1 = expm1(a), accurate for small a.
            (_, Some(1.0), Op::Unary(Unary::Exp, a), _) => un(g, Unary::Expm1, a),
            // 1 - σ(a) = σ(-a), with no cancellation.
            (Some(1.0), _, _, Op::Unary(Unary::Sigmoid, a)) => {
                let neg = un(g, Unary::Neg, a);
                un(g, Unary::Sigmoid, neg)
            }
            _ => g.intern(Op::Binary(b, x, y)),
        },
        // A gradient gated by a branch, times the branch's own derivative:
        // select first, so that the derivative of the branch not taken (an
        // infinity, say) is never multiplied by the gate's 0 into NaN.
        Binary::Mul | Binary::Div
            if gated(g, x).is_some() && (b == Binary::Div || g.shape(y) == broad(g, x, y)) =>
        {
            let (c, a, zero_first) = gated(g, x).expect("checked");
            let inner = bin(g, b, a, y);
            let zero = g.constant_node(0.0);
            if zero_first {
                build(g, Op::Select(c, zero, inner))
            } else {
                build(g, Op::Select(c, inner, zero))
            }
        }
        Binary::Mul if gated(g, y).is_some() && g.shape(x) == broad(g, x, y) => {
            let (c, a, zero_first) = gated(g, y).expect("checked");
            let inner = bin(g, Binary::Mul, x, a);
            let zero = g.constant_node(0.0);
            if zero_first {
                build(g, Op::Select(c, zero, inner))
            } else {
                build(g, Op::Select(c, inner, zero))
            }
        }
        Binary::Mul => match (cx, cy, ox, oy) {
            (Some(k), ..) if k == 1.0 && g.shape(y) == broad(g, x, y) => y,
            (_, Some(k), ..) if k == 1.0 && g.shape(x) == broad(g, x, y) => x,
            (Some(k), ..) | (_, Some(k), ..) if k == 0.0 => zero_like(g),
            (Some(-1.0), ..) => un(g, Unary::Neg, y),
            (_, Some(-1.0), ..) => un(g, Unary::Neg, x),
            (_, _, Op::Unary(Unary::Neg, nx), _) => {
                let p = bin(g, Binary::Mul, nx, y);
                un(g, Unary::Neg, p)
            }
            (_, _, _, Op::Unary(Unary::Neg, ny)) => {
                let p = bin(g, Binary::Mul, x, ny);
                un(g, Unary::Neg, p)
            }
            // n * (p / n) = p for a row's width n: the sum over a row of a
            // mean's share, which never rounds twice this way. A width is at
            // least 1 (an empty dim is a run-time error), so no 0/0 is lost.
            (_, _, _, Op::Binary(Binary::Div, p, n)) if n == x && is_width(g, x) => p,
            (_, _, Op::Binary(Binary::Div, p, n), _) if n == y && is_width(g, y) => p,
            // k1 * (... k2 ...) = (k1 k2) * (...) for a power of two k2
            // anywhere along a product or a quotient's numerator: exact,
            // since scaling by k2 is (`0.5 * (0.5 * s * 2.0 * d)` is `0.5 *
            // s * d`).
            (Some(k1), None, ..) if has_power_of_two_factor(g, y) => {
                constant_times_product(g, k1, y)
            }
            (None, Some(k1), ..) if has_power_of_two_factor(g, x) => {
                constant_times_product(g, k1, x)
            }
            // c1 * (c2 * z) = (c1 c2) * z
            (Some(k1), None, _, Op::Binary(Binary::Mul, p, q))
            | (None, Some(k1), Op::Binary(Binary::Mul, p, q), _)
                if g.constant(p).is_some() || g.constant(q).is_some() =>
            {
                let (k2, z) = match g.constant(p) {
                    Some(k2) => (k2, q),
                    None => (g.constant(q).unwrap_or(1.0), p),
                };
                let k = g.constant_node(k1 * k2);
                bin(g, Binary::Mul, k, z)
            }
            _ => g.intern(Op::Binary(b, x, y)),
        },
        Binary::Div => match (cx, cy, ox) {
            (_, Some(1.0), _) => x,
            (Some(0.0), ..) => zero_like(g),
            // (n p) / n = p and n / n = 1 for a row's width n (at least 1).
            _ if x == y && is_width(g, y) => g.constant_node(1.0),
            (_, _, Op::Binary(Binary::Mul, p, q)) if is_width(g, y) && (p == y || q == y) => {
                if p == y {
                    q
                } else {
                    p
                }
            }
            // (-p) / q = -(p / q), exactly: the sign moves out to where a
            // sum takes it (`a - -b` is `a + b`).
            (_, _, Op::Unary(Unary::Neg, p)) => {
                let quotient = bin(g, Binary::Div, p, y);
                un(g, Unary::Neg, quotient)
            }
            // Division by a power of two is an exact multiplication.
            (_, Some(k), _)
                if k != 0.0
                    && (1.0 / k) * k == 1.0
                    && (1.0 / k).is_normal()
                    && is_power_of_two(k) =>
            {
                let r = g.constant_node(1.0 / k);
                bin(g, Binary::Mul, x, r)
            }
            _ => g.intern(Op::Binary(b, x, y)),
        },
        Binary::Xlogy => match (cx, oy) {
            (Some(0.0), _) => zero_like(g),
            // p ln(e^a) = p a: the log of a softmax never materialises.
            (_, Op::Unary(Unary::Exp, a)) => bin(g, Binary::Mul, x, a),
            // p ln(σ(a)) = -p softplus(-a).
            (_, Op::Unary(Unary::Sigmoid, a)) => {
                let neg = un(g, Unary::Neg, a);
                let sp = un(g, Unary::Softplus, neg);
                let p = bin(g, Binary::Mul, x, sp);
                un(g, Unary::Neg, p)
            }
            _ if is_const(g, y, 1.0) => zero_like(g),
            _ => g.intern(Op::Binary(b, x, y)),
        },
        // min(max(x, lo), hi) is a clamp: PyTorch (2.x) passes no gradient
        // to x at a bound, where max/min would split it. Selects give that.
        Binary::Min
            if matches!(ox, Op::Binary(Binary::Max, ..))
                || matches!(oy, Op::Binary(Binary::Max, ..)) =>
        {
            // `min` is commutative too: the `max` may be either operand.
            let (inner, y) = if matches!(ox, Op::Binary(Binary::Max, ..)) {
                (ox, y)
            } else {
                (oy, x)
            };
            let Op::Binary(Binary::Max, a, lo) = inner else {
                unreachable!()
            };
            // `max` is commutative: take the bound to be the operand that is
            // a batch-wide scalar or constant when one is.
            let (xv, lo) = if g.shape(lo) == Shape::Scalar || g.shape(a) != Shape::Scalar {
                (a, lo)
            } else {
                (lo, a)
            };
            let below = bin(g, Binary::Ge, lo, xv);
            let raised = build(g, Op::Select(below, lo, xv));
            let above = bin(g, Binary::Ge, raised, y);
            build(g, Op::Select(above, y, raised))
        }
        Binary::Pow => match cy {
            Some(k) if k == k.trunc() && k.abs() <= 64.0 => build(g, Op::Powi(x, k as i32)),
            _ => g.intern(Op::Binary(b, x, y)),
        },
        _ => g.intern(Op::Binary(b, x, y)),
    }
}

/// Whether the node is a row's width, `len(D)`: a positive integer wherever
/// a row is computed, since a dim of width 0 in a batch with samples is an
/// error (`LossError::EmptyDim`) before any kernel runs.
fn is_width(g: &Graph, id: NodeId) -> bool {
    matches!(g.op(id), Op::DimLen(_))
}

/// `select(c, a, 0)` or `select(c, 0, a)`: returns `(c, a, zero first)`.
fn gated(g: &Graph, id: NodeId) -> Option<(NodeId, NodeId, bool)> {
    let Op::Select(c, a, b) = g.op(id) else {
        return None;
    };
    match (g.constant(a), g.constant(b)) {
        (_, Some(0.0)) => Some((c, a, false)),
        (Some(0.0), _) => Some((c, b, true)),
        _ => None,
    }
}

/// `x op (-k) z` for the `y = k z` of [`Graph::as_negative_scale`], `op`
/// being the other of `+` and `-`.
fn flip_scale(g: &mut Graph, op: Binary, x: NodeId, y: NodeId) -> NodeId {
    let (k, z) = g.as_negative_scale(y).expect("checked by the caller");
    let minus_k = g.constant_node(-k);
    let positive = bin(g, Binary::Mul, minus_k, z);
    bin(g, op, x, positive)
}

/// Whether the product or quotient `n` has a power-of-two constant factor
/// (see [`take_power_of_two_factor`]).
fn has_power_of_two_factor(g: &Graph, n: NodeId) -> bool {
    let power_of_two = |m: NodeId| g.constant(m).is_some_and(is_power_of_two);
    match g.op(n) {
        Op::Binary(Binary::Mul, p, q) => {
            power_of_two(p)
                || power_of_two(q)
                || has_power_of_two_factor(g, p)
                || has_power_of_two_factor(g, q)
        }
        Op::Binary(Binary::Div, p, _) => has_power_of_two_factor(g, p),
        _ => false,
    }
}

/// `k1 * product` with a power-of-two factor `k2` of `product` taken into
/// the constant: `(k1 k2) * (product / k2)`.
fn constant_times_product(g: &mut Graph, k1: f64, product: NodeId) -> NodeId {
    let (k2, rest) = take_power_of_two_factor(g, product).expect("checked by the caller");
    let k = g.constant_node(k1 * k2);
    bin(g, Binary::Mul, k, rest)
}

/// A power-of-two constant factor `k` of the product or quotient `n`, and
/// `n / k` (the same operations without it, which round alike).
fn take_power_of_two_factor(g: &mut Graph, n: NodeId) -> Option<(f64, NodeId)> {
    let power_of_two = |g: &Graph, m: NodeId| g.constant(m).filter(|&k| is_power_of_two(k));
    match g.op(n) {
        Op::Binary(Binary::Mul, p, q) => {
            if let Some(k) = power_of_two(g, p) {
                Some((k, q))
            } else if let Some(k) = power_of_two(g, q) {
                Some((k, p))
            } else if let Some((k, p)) = take_power_of_two_factor(g, p) {
                Some((k, bin(g, Binary::Mul, p, q)))
            } else {
                let (k, q) = take_power_of_two_factor(g, q)?;
                Some((k, bin(g, Binary::Mul, p, q)))
            }
        }
        Op::Binary(Binary::Div, p, q) => {
            let (k, p) = take_power_of_two_factor(g, p)?;
            Some((k, bin(g, Binary::Div, p, q)))
        }
        _ => None,
    }
}

/// Whether the comparisons `c` and `d` never hold together: `x > y` and `y
/// >= x` (or `y > x`), either way round. A NaN makes both false.
fn exclusive(g: &Graph, c: NodeId, d: NodeId) -> bool {
    let strict_and_other = |first: Op, second: Op| match (first, second) {
        (Op::Binary(Binary::Gt, x, y), Op::Binary(Binary::Gt | Binary::Ge, y2, x2)) => {
            x == x2 && y == y2
        }
        _ => false,
    };
    strict_and_other(g.op(c), g.op(d)) || strict_and_other(g.op(d), g.op(c))
}

/// `x ± y` as one select, where `x` is zero wherever a condition `c` fails
/// (or wherever it holds) and `y` is zero on the other side: `select(c, a, 0)
/// + y` is `select(c, a, y')`, with `y'` what `y` is where `c` fails. The
/// derivative of a branch is such a sum, since each branch's adjoint is gated
/// by the branch's condition, so an `if` differentiates to the one select a
/// reader would write (`if h > 0 { a } else if h <= 0 { 0 } else { a }`),
/// not two selects and a sum. The same numbers, but for the sign of a zero:
/// `a + 0` is `+0` where `a` is `-0`.
fn complementary_gates(g: &mut Graph, x: NodeId, y: NodeId, subtract: bool) -> Option<NodeId> {
    if g.shape(x) != g.shape(y) {
        return None;
    }
    for (gate, other, gate_is_y) in [(x, y, false), (y, x, true)] {
        let Some((c, a, zero_first)) = gated(g, gate) else {
            continue;
        };
        // `gate` is `a` where `c` is `live`, and 0 where it is not.
        let live = !zero_first;
        if !vanishes_where(g, other, c, live) {
            continue;
        }
        let rest = assuming(g, other, c, !live);
        let (a, rest) = match (subtract, gate_is_y) {
            (false, _) => (a, rest),
            (true, false) => (a, un(g, Unary::Neg, rest)),
            (true, true) => (un(g, Unary::Neg, a), rest),
        };
        let (if_true, if_false) = if live { (a, rest) } else { (rest, a) };
        let n = build(g, Op::Select(c, if_true, if_false));
        return (g.shape(n) == g.shape(x)).then_some(n);
    }
    None
}

/// Whether `n` is zero wherever the condition `c` is `holds`, as its selects
/// on `c` show: each select on `c` takes its branch, other selects both.
fn vanishes_where(g: &Graph, n: NodeId, c: NodeId, holds: bool) -> bool {
    match g.op(n) {
        Op::Select(d, a, b) if d == c => vanishes_where(g, if holds { a } else { b }, c, holds),
        Op::Select(_, a, b) => vanishes_where(g, a, c, holds) && vanishes_where(g, b, c, holds),
        _ => g.constant(n) == Some(0.0),
    }
}

/// `n` where the condition `c` is `holds`: its selects on `c` replaced by the
/// branch taken, through its other selects.
fn assuming(g: &mut Graph, n: NodeId, c: NodeId, holds: bool) -> NodeId {
    match g.op(n) {
        Op::Select(d, a, b) if d == c => assuming(g, if holds { a } else { b }, c, holds),
        Op::Select(d, a, b) => {
            let a = assuming(g, a, c, holds);
            let b = assuming(g, b, c, holds);
            build(g, Op::Select(d, a, b))
        }
        _ => n,
    }
}

/// Whether multiplying by `k` is exact (barring overflow and underflow).
pub(crate) fn is_power_of_two(k: f64) -> bool {
    let bits = k.abs().to_bits();
    k.is_normal() && bits & ((1u64 << 52) - 1) == 0
}

/// The shape `x op y` has.
fn broad(g: &Graph, x: NodeId, y: NodeId) -> Shape {
    match (g.shape(x), g.shape(y)) {
        (Shape::Vector(d), _) | (_, Shape::Vector(d)) => Shape::Vector(d),
        _ => Shape::Scalar,
    }
}

fn sum(g: &mut Graph, v: NodeId) -> NodeId {
    // A softmax sums to 1 exactly; the computed sum only adds rounding, and
    // a pass over the row to find it.
    if g.as_softmax(v).is_some() {
        return g.constant_node(1.0);
    }
    match g.op(v) {
        Op::OneHot(_) => g.constant_node(1.0),
        Op::Unary(Unary::Neg, a) => {
            let s = sum(g, a);
            un(g, Unary::Neg, s)
        }
        // Scalars factor out of a sum: one multiplication per row, not per element.
        Op::Binary(Binary::Mul, a, b)
            if g.shape(a) == Shape::Scalar || g.shape(b) == Shape::Scalar =>
        {
            let (s, vec) = if g.shape(a) == Shape::Scalar {
                (a, b)
            } else {
                (b, a)
            };
            let inner = sum(g, vec);
            bin(g, Binary::Mul, s, inner)
        }
        // sum(v * onehot(y)) = v[y].
        Op::Binary(Binary::Mul, a, b)
            if matches!(g.op(b), Op::OneHot(_)) || matches!(g.op(a), Op::OneHot(_)) =>
        {
            let (vec, hot) = if matches!(g.op(b), Op::OneHot(_)) {
                (a, b)
            } else {
                (b, a)
            };
            let Op::OneHot(y) = g.op(hot) else {
                unreachable!()
            };
            build(g, Op::Index(vec, y))
        }
        _ => g.intern(Op::Reduce(Reduction::Sum, v)),
    }
}

/// `v[y]`, distributed over elementwise operations so that the element is
/// computed as a scalar (and `ln(softmax(z)[y])` can simplify).
fn index(g: &mut Graph, v: NodeId, y: InputId) -> NodeId {
    let at = |g: &mut Graph, x: NodeId| -> NodeId {
        match g.shape(x) {
            Shape::Scalar => x,
            Shape::Vector(_) => index(g, x, y),
        }
    };
    match g.op(v) {
        _ if g.shape(v) == Shape::Scalar => v,
        Op::OneHot(label) if label == y => g.constant_node(1.0),
        Op::Unary(u, a) => {
            let e = at(g, a);
            un(g, u, e)
        }
        Op::Binary(b, p, q) => {
            let (ep, eq) = (at(g, p), at(g, q));
            bin(g, b, ep, eq)
        }
        Op::Powi(a, n) => {
            let e = at(g, a);
            build(g, Op::Powi(e, n))
        }
        Op::Select(c, p, q) => {
            let (ec, ep, eq) = (at(g, c), at(g, p), at(g, q));
            build(g, Op::Select(ec, ep, eq))
        }
        _ => g.intern(Op::Index(v, y)),
    }
}

/// Evaluates an operation on constant operands (in `f64`, as the host
/// computes it), or `None` if some operand is not constant.
fn fold(g: &Graph, op: &Op) -> Option<f64> {
    let k = |id: NodeId| g.constant(id);
    Some(match *op {
        Op::Unary(u, a) => {
            let x = k(a)?;
            match u {
                Unary::Neg => -x,
                Unary::Exp => x.exp(),
                Unary::Ln => x.ln(),
                Unary::Log1p => x.ln_1p(),
                Unary::Expm1 => x.exp_m1(),
                // Made by the simplifier from other nodes, never of a
                // constant (`exp(c)` folds first).
                Unary::Expm1mx => return None,
                Unary::Sqrt => x.sqrt(),
                Unary::Abs => x.abs(),
                Unary::Sign => {
                    if x == 0.0 || x.is_nan() {
                        x
                    } else {
                        x.signum()
                    }
                }
                Unary::Sigmoid => 1.0 / (1.0 + (-x).exp()),
                Unary::Softplus => x.max(0.0) + (-x.abs()).exp().ln_1p(),
                Unary::Tanh => x.tanh(),
                Unary::Recip => 1.0 / x,
                Unary::Detach => x,
                Unary::FiniteOrZero => {
                    if x.is_finite() {
                        x + 0.0
                    } else {
                        0.0
                    }
                }
            }
        }
        Op::Binary(b, p, q) => {
            let (x, y) = (k(p)?, k(q)?);
            match b {
                Binary::Add => x + y,
                Binary::Sub => x - y,
                Binary::Mul => x * y,
                Binary::Div => x / y,
                Binary::Max => {
                    if x.is_nan() || y.is_nan() {
                        f64::NAN
                    } else {
                        x.max(y)
                    }
                }
                Binary::Min => {
                    if x.is_nan() || y.is_nan() {
                        f64::NAN
                    } else {
                        x.min(y)
                    }
                }
                Binary::Pow => x.powf(y),
                Binary::Xlogy => {
                    if x == 0.0 {
                        0.0
                    } else {
                        x * y.ln()
                    }
                }
                Binary::Xdivy => {
                    if x == 0.0 {
                        0.0
                    } else {
                        x / y
                    }
                }
                Binary::Gt => f64::from(u8::from(x > y)),
                Binary::Eq => f64::from(u8::from(x == y)),
                Binary::Ge => f64::from(u8::from(x >= y)),
                Binary::ExpDiff => (x - y).exp(),
            }
        }
        Op::Powi(a, n) => k(a)?.powi(n),
        _ => return None,
    })
}

/// The parts of a max-shifted log-sum-exp of a vector `x`.
struct LseParts {
    /// `e^(x - shift)`, elementwise.
    exps: NodeId,
    /// `sum(exps)`.
    total: NodeId,
    /// `ln(total)`, accurate also when `total` is close to 1.
    log_total: NodeId,
    /// `logsumexp(x) = shift + ln(total)`.
    lse: NodeId,
    /// With a label `y` over `x`'s dim: `sum_{j≠y} exps_j`, `exps_y`, and
    /// `x_y - shift`.
    split: Option<(NodeId, NodeId, NodeId)>,
    /// Without: `sum` of the exps below the maximum, the number of maxima,
    /// and the elementwise `[x_j == max]`.
    max_split: Option<(NodeId, NodeId, NodeId)>,
}

/// The factors of a product `c` (the operands of its nested
/// multiplications), scalars and vectors apart, each in order.
fn factors(g: &Graph, c: NodeId) -> (Vec<NodeId>, Vec<NodeId>) {
    let (mut scalars, mut vectors) = (Vec::new(), Vec::new());
    let mut stack = vec![c];
    while let Some(n) = stack.pop() {
        match g.op(n) {
            Op::Binary(Binary::Mul, a, b) => stack.extend([b, a]),
            _ if g.shape(n) == Shape::Scalar => scalars.push(n),
            _ => vectors.push(n),
        }
    }
    (scalars, vectors)
}

/// A product `c` as its scalar factors multiplied together (none if it has
/// none) and its vector factors.
fn scalars_and_vector(g: &mut Graph, c: NodeId) -> (Option<NodeId>, NodeId) {
    let (scalars, vectors) = factors(g, c);
    let product = |g: &mut Graph, factors: Vec<NodeId>| {
        factors
            .into_iter()
            .reduce(|acc, f| bin(g, Binary::Mul, acc, f))
    };
    let k = product(g, scalars);
    let v = product(g, vectors).expect("a vector has a vector factor");
    (k, v)
}

/// The `y` of a product `c` whose one vector factor is `softmax(y)`.
fn softmax_factor(g: &Graph, c: NodeId) -> Option<NodeId> {
    match factors(g, c).1[..] {
        [v] => g.as_softmax(v),
        _ => None,
    }
}

/// Whether the scalar `s` is the row sum of the vector `c`: `row_sum` of
/// `c` against `s` with its sums taken apart the same way (`s` is usually
/// `sum(c)` itself, or a factor the simplifier took out of it). The test
/// `c - s softmax(x)` needs for its cancellation-free form, taken on the
/// source graph, where a softmax is still one (a distillation's `k
/// softmax(s / T) - k softmax(t / T)`, whose expanded sums of exponentials
/// no longer show it).
fn scale_is_row_sum(src: &Graph, c: NodeId, s: NodeId) -> bool {
    let Shape::Vector(dim) = src.shape(c) else {
        return false;
    };
    // Interning may add nodes: a scratch copy, whose existing ids are the
    // source's.
    let mut scratch = src.clone();
    let memo = &mut HashMap::new();
    row_sum(&mut scratch, c, dim, memo) == scalar_taken_apart(&mut scratch, s, dim, memo)
}

/// The finite maximum a log-sum-exp of `x` is shifted by.
fn shift_of(g: &mut Graph, x: NodeId) -> NodeId {
    let max = g.intern(Op::Reduce(Reduction::ShiftMax, x));
    un(g, Unary::FiniteOrZero, max)
}

/// The sum of exponentials, and its logarithm, with one term split off: the
/// term that dominates when `ln(total)` is small, so that the logarithm is
/// `ln(big) + log1p(rest / big)` and keeps its relative accuracy (a
/// confident prediction has `total = 1 + tiny`, whose `ln` rounding alone
/// would make worthless).
fn lse_parts(g: &mut Graph, x: NodeId, label: Option<InputId>) -> LseParts {
    let shift = shift_of(g, x);
    let centred = bin(g, Binary::Sub, x, shift);
    let exps = bin(g, Binary::ExpDiff, x, shift);
    let zero = g.constant_node(0.0);
    let one = g.constant_node(1.0);
    // The split at the maxima: `total = ties + rest`, ties ≥ 1 when the
    // maximum is finite (each tie contributes exactly e^0 = 1). Its sums are
    // only computed where something uses them.
    let at_max = bin(g, Binary::Eq, x, shift);
    let below_max = build(g, Op::Select(at_max, zero, exps));
    let rest_below_max = sum(g, below_max);
    let ties = sum(g, at_max);
    let max_split = Some((rest_below_max, ties, at_max));
    let (total, log_total, split) = match label {
        Some(y) => {
            // Split at the label: `total = e_y + rest`.
            let hot = g.intern(Op::OneHot(y));
            let others = build(g, Op::Select(hot, zero, exps));
            let rest = sum(g, others);
            let at_label = index(g, exps, y);
            let label_centred = index(g, centred, y);
            let total = bin(g, Binary::Add, rest, at_label);
            // Near the maximum (gap ≤ 1, e_y ≥ 1/e): ln(e_y) + log1p(rest / e_y).
            let gap = un(g, Unary::Neg, label_centred);
            let ratio = bin(g, Binary::Div, rest, at_label);
            let near = un(g, Unary::Log1p, ratio);
            let near = bin(g, Binary::Add, label_centred, near);
            let far = un(g, Unary::Ln, total);
            let is_far = bin(g, Binary::Gt, gap, one);
            let log_total = build(g, Op::Select(is_far, far, near));
            (total, log_total, Some((rest, at_label, label_centred)))
        }
        None => {
            let (rest, ties) = (rest_below_max, ties);
            let total = bin(g, Binary::Add, ties, rest);
            let ratio = bin(g, Binary::Div, rest, ties);
            let log_ties = un(g, Unary::Ln, ties);
            let log1p_ratio = un(g, Unary::Log1p, ratio);
            let split = bin(g, Binary::Add, log_ties, log1p_ratio);
            let plain = un(g, Unary::Ln, total);
            // No tie only when the maximum is not finite: then the plain form.
            let has_ties = bin(g, Binary::Gt, ties, zero);
            let log_total = build(g, Op::Select(has_ties, split, plain));
            (total, log_total, None)
        }
    };
    let lse = bin(g, Binary::Add, shift, log_total);
    LseParts {
        exps,
        total,
        log_total,
        lse,
        split,
        max_split,
    }
}

/// Lowers log-sum-exps to max-shifted sums and gives the cross-entropy of a
/// class label its cancellation-free forms (see the module docs).
pub fn expand(src: &Graph, roots: &[NodeId]) -> (Graph, Vec<NodeId>) {
    // Vectors with a label cross-entropy on them: their log-sum-exp is
    // computed with the label's term split off, and serves both forms.
    let mut labelled: HashMap<NodeId, InputId> = HashMap::new();
    for id in src.reachable(roots) {
        if let Some((x, y)) = src
            .as_label_cross_entropy(id)
            .or_else(|| src.as_softmax_minus_onehot(id))
        {
            labelled.entry(x).or_insert(y);
        }
    }
    // Vectors with a log-sum-exp: the ones whose shift is at hand.
    let shifted: HashSet<NodeId> = src
        .reachable(roots)
        .into_iter()
        .filter_map(|id| match src.op(id) {
            Op::Reduce(Reduction::LogSumExp, x) => Some(x),
            _ => None,
        })
        .collect();
    let mut translated: HashMap<NodeId, NodeId> = HashMap::new();
    let (expanded, roots) = rebuild(src, roots, |src, old, op, dst| {
        let new = expand_node(src, old, op, dst, &labelled, &shifted, &translated);
        translated.insert(old, new);
        new
    });
    lower_shared(expanded, roots)
}

/// Functions written as the steps of their runtime functions, so that
/// hash-consing merges what they share (the same operations on the same
/// numbers, so the same bits). The last step of `expand`: its nodes are
/// interned as they are, since `simplify`'s rules would fold `log1p(exp(u))`
/// back into a softplus.
///
/// - Softplus and the sigmoid: with `t = exp(-|x|)`, `softplus(x) = (x > 0 ?
///   x : 0) + log1p(t)` and `σ(x) = (x < 0 ? t : 1) / (1 + t)`, and `|-x|`
///   taken as `|x|`. So `softplus(x)`, `softplus(-x)`, `σ(x)` and `σ(-x)` of
///   one `x` take one exp, and the two softplus one log1p, where each took
///   its own.
/// - `xlogy(a, b)` where another `xlogy` has the same `b` (a divergence's
///   value and gradient: `p ln m`, `q ln m`, `[p ≠ 0] ln m`, ...): `a == 0 and
///   b not NaN ? 0 : a · ln b`, so that they take one `ln b`. A lone `xlogy`
///   keeps its chunk function (`xlogy_lanes`, `xlogx_lanes`).
///
/// A graph with nothing to lower is returned as it is, so that its node ids,
/// and the order in which the emitter writes its statements, stay.
fn lower_shared(src: Graph, roots: Vec<NodeId>) -> (Graph, Vec<NodeId>) {
    let reachable = src.reachable(&roots);
    let mut xlogys_of: HashMap<NodeId, usize> = HashMap::new();
    for &id in &reachable {
        if let Op::Binary(Binary::Xlogy, _, b) = src.op(id) {
            *xlogys_of.entry(b).or_default() += 1;
        }
    }
    let lowered: HashSet<NodeId> = reachable
        .into_iter()
        .filter(|&id| match src.op(id) {
            Op::Unary(Unary::Softplus | Unary::Sigmoid, _) => true,
            Op::Binary(Binary::Xlogy, _, b) => xlogys_of[&b] > 1,
            _ => false,
        })
        .collect();
    if lowered.is_empty() {
        return (src, roots);
    }
    rebuild(&src, &roots, |_, old, op, dst| match op {
        _ if !lowered.contains(&old) => dst.intern(op),
        Op::Unary(Unary::Softplus, x) => softplus_steps(dst, x),
        Op::Unary(Unary::Sigmoid, x) => sigmoid_steps(dst, x),
        Op::Binary(Binary::Xlogy, a, b) => xlogy_steps(dst, a, b),
        other => dst.intern(other),
    })
}

/// `softplus(x)` as `softplus_with` computes it: `(x > 0 ? x : 0) +
/// log1p(exp(-|x|))`.
fn softplus_steps(g: &mut Graph, x: NodeId) -> NodeId {
    let t = exp_of_minus_abs(g, x);
    let zero = g.constant_node(0.0);
    let is_positive = g.intern(Op::Binary(Binary::Gt, x, zero));
    let positive = g.intern(Op::Select(is_positive, x, zero));
    let tail = g.intern(Op::Unary(Unary::Log1p, t));
    g.intern(Op::Binary(Binary::Add, positive, tail))
}

/// `σ(x)` as `sigmoid_with` computes it: `(x < 0 ? t : 1) / (1 + t)` with
/// `t = exp(-|x|)`.
fn sigmoid_steps(g: &mut Graph, x: NodeId) -> NodeId {
    let t = exp_of_minus_abs(g, x);
    let zero = g.constant_node(0.0);
    let one = g.constant_node(1.0);
    let is_negative = g.intern(Op::Binary(Binary::Gt, zero, x));
    let numerator = g.intern(Op::Select(is_negative, t, one));
    let denominator = g.intern(Op::Binary(Binary::Add, one, t));
    g.intern(Op::Binary(Binary::Div, numerator, denominator))
}

/// `xlogy(a, b)` as `__private::xlogy` computes it: 0 where `a == 0` and `b`
/// is not NaN, else `a · ln b`.
fn xlogy_steps(g: &mut Graph, a: NodeId, b: NodeId) -> NodeId {
    let zero = g.constant_node(0.0);
    let ln_b = g.intern(Op::Unary(Unary::Ln, b));
    let product = g.intern(Op::Binary(Binary::Mul, a, ln_b));
    let a_is_zero = g.intern(Op::Binary(Binary::Eq, a, zero));
    let b_is_a_number = g.intern(Op::Binary(Binary::Eq, b, b));
    let vanishes = g.intern(Op::Binary(Binary::Mul, a_is_zero, b_is_a_number));
    g.intern(Op::Select(vanishes, zero, product))
}

/// `exp(-|x|)`, with `|-v|` and `||v||` taken as `|v|` (the same bits).
fn exp_of_minus_abs(g: &mut Graph, x: NodeId) -> NodeId {
    let mut inner = x;
    while let Op::Unary(Unary::Neg | Unary::Abs, v) = g.op(inner) {
        inner = v;
    }
    let abs = g.intern(Op::Unary(Unary::Abs, inner));
    let minus_abs = g.intern(Op::Unary(Unary::Neg, abs));
    g.intern(Op::Unary(Unary::Exp, minus_abs))
}

fn expand_node(
    src: &Graph,
    old: NodeId,
    op: Op,
    dst: &mut Graph,
    labelled: &HashMap<NodeId, InputId>,
    shifted: &HashSet<NodeId>,
    translated: &HashMap<NodeId, NodeId>,
) -> NodeId {
    let parts = |dst: &mut Graph, x_old: NodeId| {
        lse_parts(dst, translated[&x_old], labelled.get(&x_old).copied())
    };
    if let Some((x, y)) = src.as_label_cross_entropy(old) {
        if labelled.get(&x) == Some(&y) {
            let p = parts(dst, x);
            let (rest, at_label, label_centred) = p.split.expect("labelled vectors are split");
            // gap = shift - x_y ≥ 0 when the max is finite.
            let gap = un(dst, Unary::Neg, label_centred);
            // Far from the max: gap + ln(total), two non-negative terms.
            let log_total = un(dst, Unary::Ln, p.total);
            let far = bin(dst, Binary::Add, gap, log_total);
            // Near it: ln(total / e_y) = log1p(rest / e_y), exact when the
            // sample is confidently right (rest ≪ 1), where ln(total) rounds to 0.
            let ratio = bin(dst, Binary::Div, rest, at_label);
            let near = un(dst, Unary::Log1p, ratio);
            let one = dst.constant_node(1.0);
            let is_far = bin(dst, Binary::Gt, gap, one);
            return build(dst, Op::Select(is_far, far, near));
        }
    }
    if let Some((x, y)) = src.as_softmax_minus_onehot(old) {
        if labelled.get(&x) == Some(&y) {
            let p = parts(dst, x);
            let (rest, _, _) = p.split.expect("labelled vectors are split");
            let inv = un(dst, Unary::Recip, p.total);
            // At the label: p_y - 1 = -(sum_{j≠y} p_j), with no cancellation.
            let rest_share = bin(dst, Binary::Mul, rest, inv);
            let at_label = un(dst, Unary::Neg, rest_share);
            let elsewhere = bin(dst, Binary::Mul, p.exps, inv);
            let hot = dst.intern(Op::OneHot(y));
            return build(dst, Op::Select(hot, at_label, elsewhere));
        }
    }
    // log_softmax(x) = (x - shift) - ln(total): the large shift cancels
    // first, exactly, instead of rounding inside `shift + ln(total)`. The
    // same for a scalar added to or subtracted from a log-sum-exp: `u ±
    // shift` first, then `ln(total)`. An element of a log-softmax (`x[y] -
    // logsumexp(x)`, `a[y] + b[y] - logsumexp(a + b)`) then rounds as the
    // vector's element does, and a cross-entropy whose label logit is not
    // an element of the same node (`logsumexp(-b) + b[y]`) cancels its
    // shift exactly; a scalar far from the shift rounds once at its
    // magnitude either way.
    if let Some((u, x, u_added, lse_added)) = plus_or_minus_log_sum_exp(src, old) {
        let p = parts(dst, x);
        let shift = shift_of(dst, translated[&x]);
        let u = translated[&u];
        let centred = match (u_added, lse_added) {
            (true, true) => bin(dst, Binary::Add, u, shift),
            (true, false) => bin(dst, Binary::Sub, u, shift),
            (false, _) => bin(dst, Binary::Sub, shift, u),
        };
        let b = if lse_added { Binary::Add } else { Binary::Sub };
        return bin(dst, b, centred, p.log_total);
    }
    // c - s softmax(x) with s = sum(c), at a single maximum j: with
    // q_j = 1 - R/S it is s R/S - (sum_{k≠j} c_k), which has no cancellation
    // when c is concentrated at j (a one-hot or confident target); elsewhere
    // the plain form.
    if let Some((c_old, s_old, x, negated)) = src.as_log_softmax_backward(old) {
        let x_parts = parts(dst, x);
        let (c, s) = (translated[&c_old], translated[&s_old]);
        if let (Some((rest, ties, at_max)), true) =
            (x_parts.max_split, scale_is_row_sum(src, c_old, s_old))
        {
            let zero = dst.constant_node(0.0);
            let one = dst.constant_node(1.0);
            // `c` as `k v`, its scalars multiplied first, as `s softmax(x)`
            // is below (`(s / total) e`): when `c` is itself a scaled
            // softmax (a distillation's student, `k softmax(s / T)`) of the
            // same numbers as `x`, the two forms round alike and cancel
            // exactly.
            let (k, v) = scalars_and_vector(dst, c);
            // The sum of `c` below the maximum of `x`, and where to take the
            // split form: at the maximum of `x`. Where `c` is a scaled
            // softmax of a `y` (a distillation's student against its
            // teacher `x`), `y`'s own split at its maximum gives the sum,
            // with no sum of its own, and the form is taken where both
            // exponentials are 1, with both maxima single. Where `c` is
            // larger than its rest (below), that element is `y`'s maximum
            // (another `e_y = 1` would make the rest at least 1); it can be
            // an element of `x` within rounding of its maximum instead of
            // the maximum, where the two forms differ by less than `s ε / 4`,
            // the plain form's own rounding. Two compares of numbers the
            // pass has, where `x == max(x)` and `y == max(y)` would compute
            // `x` and `y` again: 3 % of distillation's time, not 4.4 %.
            let own_split = softmax_factor(src, c_old)
                .map(|y| parts(dst, y))
                .filter(|y| y.exps == v)
                .and_then(|y| y.max_split);
            // `(sum_{k≠j} v_k, where j is, the ties of y's maximum if j is
            // also y's)`.
            let (v_rest, at_max, ties_y) = match own_split {
                Some((rest_y, ties_y, _)) => {
                    let x_at_max = bin(dst, Binary::Eq, x_parts.exps, one);
                    let y_at_max = bin(dst, Binary::Eq, v, one);
                    let both = bin(dst, Binary::Mul, x_at_max, y_at_max);
                    (rest_y, both, Some(ties_y))
                }
                None => {
                    let v_below = build(dst, Op::Select(at_max, zero, v));
                    (sum(dst, v_below), at_max, None)
                }
            };
            let (c, c_rest) = match k {
                Some(k) => (
                    bin(dst, Binary::Mul, k, v),
                    bin(dst, Binary::Mul, k, v_rest),
                ),
                None => (v, v_rest),
            };
            let inv = un(dst, Unary::Recip, x_parts.total);
            let scale = bin(dst, Binary::Mul, s, inv);
            let rest_share = bin(dst, Binary::Mul, scale, rest);
            let q_scaled = bin(dst, Binary::Mul, scale, x_parts.exps);
            let (at_single_max, plain) = if negated {
                (
                    bin(dst, Binary::Sub, c_rest, rest_share),
                    bin(dst, Binary::Sub, q_scaled, c),
                )
            } else {
                (
                    bin(dst, Binary::Sub, rest_share, c_rest),
                    bin(dst, Binary::Sub, c, q_scaled),
                )
            };
            // Whether the row takes the split form at its maximum: a single
            // maximum, where `c` is larger than the rest of it. With one
            // maximum j, `c_j = s - c_rest`: a row's scalar, so that the
            // pass of the gradient tests only `x_k == max` per element.
            let single = bin(dst, Binary::Eq, ties, one);
            let single = match ties_y {
                Some(ties_y) => {
                    let y_single = bin(dst, Binary::Eq, ties_y, one);
                    bin(dst, Binary::Mul, single, y_single)
                }
                None => single,
            };
            let c_at_max = bin(dst, Binary::Sub, s, c_rest);
            let c_at_max_abs = un(dst, Unary::Abs, c_at_max);
            let rest_abs = un(dst, Unary::Abs, c_rest);
            let dominant = bin(dst, Binary::Gt, c_at_max_abs, rest_abs);
            let split_row = bin(dst, Binary::Mul, single, dominant);
            let here = bin(dst, Binary::Mul, at_max, split_row);
            return build(dst, Op::Select(here, at_single_max, plain));
        }
    }
    // Binary cross-entropy from logits, softplus(x) - x y, without the
    // cancellation of its two large terms when y is near 0 or 1:
    // log1p(e^-|x|) + (x (1 - y) where x > 0, else -x y), two non-negative
    // terms for y in [0, 1] (1 - y is exact for y in [1/2, 1]).
    if let Some((x_old, y_old)) = src.as_binary_cross_entropy(old) {
        let (x, y) = (translated[&x_old], translated[&y_old]);
        let zero = dst.constant_node(0.0);
        let one = dst.constant_node(1.0);
        let abs = un(dst, Unary::Abs, x);
        let minus_abs = un(dst, Unary::Neg, abs);
        let tail = un(dst, Unary::Softplus, minus_abs);
        let complement = bin(dst, Binary::Sub, one, y);
        let positive = bin(dst, Binary::Mul, x, complement);
        let xy = bin(dst, Binary::Mul, x, y);
        let negative = un(dst, Unary::Neg, xy);
        let is_positive = bin(dst, Binary::Gt, x, zero);
        let linear = build(dst, Op::Select(is_positive, positive, negative));
        return bin(dst, Binary::Add, tail, linear);
    }
    // Its gradient σ(x) - y: for x > 0 as (1 - y) - σ(-x), whose terms are
    // both small when σ(x) and y are near 1.
    if let Op::Binary(Binary::Sub, s_old, y_old) = src.op(old) {
        if let Op::Unary(Unary::Sigmoid, x_old) = src.op(s_old) {
            let (x, y) = (translated[&x_old], translated[&y_old]);
            let zero = dst.constant_node(0.0);
            let one = dst.constant_node(1.0);
            let complement = bin(dst, Binary::Sub, one, y);
            let neg_x = un(dst, Unary::Neg, x);
            let tail = un(dst, Unary::Sigmoid, neg_x);
            let positive = bin(dst, Binary::Sub, complement, tail);
            let plain = bin(dst, Binary::Sub, translated[&s_old], y);
            let is_positive = bin(dst, Binary::Gt, x, zero);
            return build(dst, Op::Select(is_positive, positive, plain));
        }
    }
    if let Some(x) = src.as_softmax(old) {
        let p = parts(dst, x);
        let inv = un(dst, Unary::Recip, p.total);
        return bin(dst, Binary::Mul, p.exps, inv);
    }
    // sum(x * g), with `x` a vector whose log-sum-exp is taken and `g` a
    // vector whose row sum is 0 (a softmax's backward: the temperature's
    // gradient of a distillation), is sum((x - shift) * g). The same in
    // real numbers; at logits of 1e4 the products of the first no longer
    // cancel in the sum.
    if let Op::Reduce(Reduction::Sum, v) = src.op(old) {
        if let Some(centred) = centred_against_zero_sum(src, v, dst, shifted, translated) {
            return build(dst, Op::Reduce(Reduction::Sum, centred));
        }
    }
    match op {
        Op::Reduce(Reduction::LogSumExp, _) => {
            let Op::Reduce(_, x_old) = src.op(old) else {
                unreachable!()
            };
            parts(dst, x_old).lse
        }
        // One reciprocal per row and a multiplication per element, instead of
        // a division per element.
        Op::Binary(Binary::Div, x, y)
            if dst.shape(x) != Shape::Scalar && dst.shape(y) == Shape::Scalar =>
        {
            let inv = un(dst, Unary::Recip, y);
            bin(dst, Binary::Mul, x, inv)
        }
        other => reduce_of_broadcast(src, old, other, dst).unwrap_or_else(|| build(dst, other)),
    }
}

/// `v`, a product, with its factor `x` (one of `shifted`) replaced by `x -
/// shift`, where the product of its other vector factors has a row sum of
/// 0; `None` where it has no such factor.
fn centred_against_zero_sum(
    src: &Graph,
    v: NodeId,
    dst: &mut Graph,
    shifted: &HashSet<NodeId>,
    translated: &HashMap<NodeId, NodeId>,
) -> Option<NodeId> {
    let Shape::Vector(dim) = src.shape(v) else {
        return None;
    };
    // `(factor, divides)`: a product, and quotients by scalars.
    let mut factors = Vec::new();
    let mut stack = vec![v];
    while let Some(n) = stack.pop() {
        match src.op(n) {
            _ if shifted.contains(&n) => factors.push((n, false)),
            Op::Binary(Binary::Mul, a, b) => stack.extend([b, a]),
            Op::Binary(Binary::Div, a, b) if src.shape(b) == Shape::Scalar => {
                factors.push((b, true));
                stack.push(a);
            }
            _ => factors.push((n, false)),
        }
    }
    let k = factors
        .iter()
        .position(|&(f, divides)| !divides && shifted.contains(&f))?;
    let vectors: Vec<NodeId> = factors
        .iter()
        .enumerate()
        .filter(|&(i, &(f, _))| i != k && src.shape(f) != Shape::Scalar)
        .map(|(_, &(f, _))| f)
        .collect();
    let [g] = vectors[..] else {
        return None;
    };
    let mut scratch = src.clone();
    let total = row_sum(&mut scratch, g, dim, &mut HashMap::new());
    if scratch.constant(total) != Some(0.0) {
        return None;
    }
    let x = translated[&factors[k].0];
    let shift = shift_of(dst, x);
    let mut out = bin(dst, Binary::Sub, x, shift);
    for (i, &(f, divides)) in factors.iter().enumerate() {
        if i != k {
            let b = if divides { Binary::Div } else { Binary::Mul };
            out = bin(dst, b, out, translated[&f]);
        }
    }
    Some(out)
}

/// The row sum of the vector `v` of dim `dim`, as a scalar node of `g`:
/// linear in `v`, `sum` (1 for a softmax) for anything else, and a
/// scalar's sum `sum(w)` itself taken apart the same way, so that the sums
/// of equal rows come out as one node and cancel. `memo` holds the sums
/// already taken (a graph shares its nodes).
fn row_sum(g: &mut Graph, v: NodeId, dim: DimId, memo: &mut HashMap<NodeId, NodeId>) -> NodeId {
    if let Some(&done) = memo.get(&v) {
        return done;
    }
    let scalar = |g: &Graph, n: NodeId| g.shape(n) == Shape::Scalar;
    let total = if scalar(g, v) {
        let v = scalar_taken_apart(g, v, dim, memo);
        let len = g.intern(Op::DimLen(dim));
        bin(g, Binary::Mul, v, len)
    } else {
        match g.op(v) {
            Op::Binary(b @ (Binary::Add | Binary::Sub), a, c) => {
                let (a, c) = (row_sum(g, a, dim, memo), row_sum(g, c, dim, memo));
                bin(g, b, a, c)
            }
            Op::Unary(Unary::Neg, a) => {
                let a = row_sum(g, a, dim, memo);
                un(g, Unary::Neg, a)
            }
            Op::Binary(Binary::Mul, a, c) if scalar(g, a) => {
                let a = scalar_taken_apart(g, a, dim, memo);
                let c = row_sum(g, c, dim, memo);
                bin(g, Binary::Mul, a, c)
            }
            Op::Binary(Binary::Mul, a, c) if scalar(g, c) => {
                let a = row_sum(g, a, dim, memo);
                let c = scalar_taken_apart(g, c, dim, memo);
                bin(g, Binary::Mul, a, c)
            }
            Op::Binary(Binary::Div, a, c) if scalar(g, c) => {
                let a = row_sum(g, a, dim, memo);
                bin(g, Binary::Div, a, c)
            }
            // The simplifier's own sums: 1 for a softmax or a one-hot.
            _ => sum(g, v),
        }
    };
    memo.insert(v, total);
    total
}

/// A scalar, with a `sum(w)` over `dim` taken apart by `row_sum`.
fn scalar_taken_apart(
    g: &mut Graph,
    s: NodeId,
    dim: DimId,
    memo: &mut HashMap<NodeId, NodeId>,
) -> NodeId {
    match g.op(s) {
        Op::Reduce(Reduction::Sum, w) if g.shape(w) == Shape::Vector(dim) => {
            row_sum(g, w, dim, memo)
        }
        _ => s,
    }
}

/// `old` as `u ± logsumexp(x)` or `logsumexp(x) - u`, with `u` a scalar or
/// `x` itself: `(u, x, u is added, the log-sum-exp is added)`.
fn plus_or_minus_log_sum_exp(src: &Graph, old: NodeId) -> Option<(NodeId, NodeId, bool, bool)> {
    let Op::Binary(b @ (Binary::Add | Binary::Sub), l, r) = src.op(old) else {
        return None;
    };
    let lse_of = |n: NodeId| match src.op(n) {
        Op::Reduce(Reduction::LogSumExp, x) => Some(x),
        _ => None,
    };
    let fits = |u: NodeId, x: NodeId| u == x || src.shape(u) == Shape::Scalar;
    let added = b == Binary::Add;
    match (lse_of(l), lse_of(r)) {
        (Some(x), _) if src.shape(r) == Shape::Scalar => Some((r, x, added, true)),
        (None, Some(x)) if fits(l, x) => Some((l, x, true, added)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::tests::sample_graph;

    fn input(g: &mut Graph, i: u16) -> NodeId {
        g.intern(Op::Input(InputId(i)))
    }

    #[test]
    fn log_of_softmax_becomes_log_softmax() {
        let mut g = sample_graph();
        let z = input(&mut g, 0);
        let lse = g.intern(Op::Reduce(Reduction::LogSumExp, z));
        let c = g.intern(Op::Binary(Binary::Sub, z, lse));
        let p = g.intern(Op::Unary(Unary::Exp, c));
        let lp = g.intern(Op::Unary(Unary::Ln, p));
        let (g2, roots) = simplify(&g, &[lp]);
        assert_eq!(g2.display(roots[0]).to_string(), "z - logsumexp(z)");
    }

    #[test]
    fn log_sigmoid_and_log1p_rewrites() {
        let mut g = sample_graph();
        let t = input(&mut g, 2);
        let s = g.intern(Op::Unary(Unary::Sigmoid, t));
        let ls = g.intern(Op::Unary(Unary::Ln, s));
        let one = g.constant_node(1.0);
        let sum = g.intern(Op::Binary(Binary::Add, one, t));
        let l1p = g.intern(Op::Unary(Unary::Ln, sum));
        let e = g.intern(Op::Unary(Unary::Exp, t));
        let em1 = g.intern(Op::Binary(Binary::Sub, e, one));
        let (g2, r) = simplify(&g, &[ls, l1p, em1]);
        assert_eq!(g2.display(r[0]).to_string(), "-softplus(-t)");
        assert_eq!(g2.display(r[1]).to_string(), "log1p(t)");
        assert_eq!(g2.display(r[2]).to_string(), "expm1(t)");
    }

    #[test]
    fn complementary_gates_become_one_select() {
        // The adjoint of `positive_part(h)`'s two branches, as `diff` builds
        // it: `select(h > 0, a, 0) + select(0 >= h, 0, select(h > 0, 0, a))`.
        let mut g = sample_graph();
        let (h, a) = (input(&mut g, 0), input(&mut g, 2));
        let zero = g.constant_node(0.0);
        let live = g.intern(Op::Binary(Binary::Gt, h, zero));
        let dead = g.intern(Op::Binary(Binary::Ge, zero, h));
        let to_then = g.intern(Op::Select(live, a, zero));
        let to_else = g.intern(Op::Select(live, zero, a));
        let inner = g.intern(Op::Select(dead, zero, to_else));
        let sum = g.intern(Op::Binary(Binary::Add, to_then, inner));
        let reversed = g.intern(Op::Binary(Binary::Add, inner, to_then));
        let difference = g.intern(Op::Binary(Binary::Sub, inner, to_then));
        // Not complementary: both are `a` where `h > 0`.
        let overlapping = g.intern(Op::Binary(Binary::Add, to_then, to_then));
        let (g2, r) = simplify(&g, &[sum, reversed, difference, overlapping]);
        let shown = |i: usize| g2.display(r[i]).to_string();
        // `h > 0` and `0 >= h` never hold together: one select is left.
        assert_eq!(shown(0), "select(ge(0.0, z), 0.0, t)");
        assert_eq!(shown(1), shown(0));
        assert_eq!(
            shown(2),
            "select(gt(z, 0.0), -t, select(ge(0.0, z), 0.0, t))"
        );
        assert_eq!(
            shown(3),
            "select(gt(z, 0.0), t, 0.0) + select(gt(z, 0.0), t, 0.0)"
        );
    }

    #[test]
    fn powers_of_two_join_a_constant_and_negative_scales_flip_the_sign() {
        let mut g = sample_graph();
        let (z, t) = (input(&mut g, 0), input(&mut g, 2));
        let (half, two, three) = (
            g.constant_node(0.5),
            g.constant_node(2.0),
            g.constant_node(3.0),
        );
        // 3 * ((0.5 t) / z * 2): both powers of two join the 3.
        let scaled = g.intern(Op::Binary(Binary::Mul, half, t));
        let quotient = g.intern(Op::Binary(Binary::Div, scaled, z));
        let doubled = g.intern(Op::Binary(Binary::Mul, quotient, two));
        let product = g.intern(Op::Binary(Binary::Mul, three, doubled));
        // 3 * (0.3 t): not a power of two, folded by the plain rule.
        let tenths = g.constant_node(0.3);
        let inexact = g.intern(Op::Binary(Binary::Mul, tenths, t));
        let inexact = g.intern(Op::Binary(Binary::Mul, three, inexact));
        // z + (-2) t and z - (-2) t.
        let minus_two = g.constant_node(-2.0);
        let negative = g.intern(Op::Binary(Binary::Mul, minus_two, t));
        let sum = g.intern(Op::Binary(Binary::Add, z, negative));
        let difference = g.intern(Op::Binary(Binary::Sub, z, negative));
        let (g2, r) = simplify(&g, &[product, inexact, sum, difference]);
        let shown = |i: usize| g2.display(r[i]).to_string();
        assert_eq!(shown(0), "3.0 * (t / z)");
        assert_eq!(shown(1), format!("{} * t", 3.0 * 0.3));
        assert_eq!(shown(2), "z - 2.0 * t");
        assert_eq!(shown(3), "z + 2.0 * t");
    }

    #[test]
    fn exp_less_one_less_its_argument_becomes_expm1mx() {
        // A VAE's `1 + t - z - exp(t)`, and `exp(t) - 1 - t` (whose first
        // step is `expm1(t)`); `exp(t) - 1 - z` keeps `expm1`.
        let mut g = sample_graph();
        let (t, z) = (input(&mut g, 2), input(&mut g, 0));
        let one = g.constant_node(1.0);
        let e = g.intern(Op::Unary(Unary::Exp, t));
        let a = g.intern(Op::Binary(Binary::Add, one, t));
        let a = g.intern(Op::Binary(Binary::Sub, a, z));
        let vae = g.intern(Op::Binary(Binary::Sub, a, e));
        let b = g.intern(Op::Binary(Binary::Sub, e, one));
        let plain = g.intern(Op::Binary(Binary::Sub, b, t));
        let other = g.intern(Op::Binary(Binary::Sub, b, z));
        let (g2, r) = simplify(&g, &[vae, plain, other]);
        assert_eq!(g2.display(r[0]).to_string(), "-z - expm1mx(t)");
        assert_eq!(g2.display(r[1]).to_string(), "expm1mx(t)");
        assert_eq!(g2.display(r[2]).to_string(), "expm1(t) - z");
    }

    #[test]
    fn a_product_or_quotient_with_exp_keeps_its_factors() {
        // `exp(t) * (t + 1)` holds the terms of `exp(t) - t - 1` once the
        // signs of a sum are read into it: only a sum or a difference takes
        // the rule.
        let mut g = sample_graph();
        let t = input(&mut g, 2);
        let one = g.constant_node(1.0);
        let e = g.intern(Op::Unary(Unary::Exp, t));
        let t1 = g.intern(Op::Binary(Binary::Add, t, one));
        let product = g.intern(Op::Binary(Binary::Mul, e, t1));
        let quotient = g.intern(Op::Binary(Binary::Div, e, t1));
        let (g2, r) = simplify(&g, &[product, quotient]);
        assert_eq!(g2.display(r[0]).to_string(), "exp(t) * (t + 1.0)");
        assert_eq!(g2.display(r[1]).to_string(), "exp(t) / (t + 1.0)");
    }

    #[test]
    fn constants_fold_and_identities_vanish() {
        let mut g = sample_graph();
        let t = input(&mut g, 2);
        let two = g.constant_node(2.0);
        let three = g.constant_node(3.0);
        let six = g.intern(Op::Binary(Binary::Mul, two, three));
        let one = g.constant_node(1.0);
        let t1 = g.intern(Op::Binary(Binary::Mul, t, one));
        let r = g.intern(Op::Binary(Binary::Add, t1, six));
        let (g2, roots) = simplify(&g, &[r]);
        assert_eq!(g2.display(roots[0]).to_string(), "t + 6.0");
    }

    #[test]
    fn a_row_width_cancels_and_a_quotients_sign_moves_out() {
        // Label smoothing's gradient sums a mean's share over the row,
        // `n * (-t / n)`: that is `-t`, without rounding twice.
        let mut g = sample_graph();
        let (z, t) = (input(&mut g, 0), input(&mut g, 2));
        let n = g.intern(Op::DimLen(DimId(0)));
        let neg = g.intern(Op::Unary(Unary::Neg, t));
        let share = g.intern(Op::Binary(Binary::Div, neg, n));
        let summed = g.intern(Op::Binary(Binary::Mul, n, share));
        let times = g.intern(Op::Binary(Binary::Mul, t, n));
        let back = g.intern(Op::Binary(Binary::Div, times, n));
        let whole = g.intern(Op::Binary(Binary::Div, n, n));
        let less = g.intern(Op::Binary(Binary::Sub, z, share));
        // Only a width cancels: a sum of the row may be 0 (or infinite). (The
        // text groups as the code evaluates: `s * (t / s)` stays.)
        let s = g.intern(Op::Reduce(Reduction::Sum, z));
        let ts = g.intern(Op::Binary(Binary::Div, t, s));
        let kept = g.intern(Op::Binary(Binary::Mul, s, ts));
        let (g2, r) = simplify(&g, &[summed, back, whole, less, kept]);
        let shown: Vec<String> = r.iter().map(|&n| g2.display(n).to_string()).collect();
        assert_eq!(
            shown,
            ["-t", "t", "1.0", "z + t / len(C)", "sum(z) * (t / sum(z))"]
        );
    }

    #[test]
    fn labelled_cross_entropy_is_expanded_without_cancellation() {
        let mut g = sample_graph();
        let z = input(&mut g, 0);
        let lse = g.intern(Op::Reduce(Reduction::LogSumExp, z));
        let zy = g.intern(Op::Index(z, InputId(1)));
        let ce = g.intern(Op::Binary(Binary::Sub, lse, zy));
        let (g2, roots) = expand(&g, &[ce]);
        let text = g2.display(roots[0]).to_string();
        assert!(text.starts_with("select(gt("), "{text}");
        assert!(text.contains("log1p("), "{text}");
        assert!(
            !g2.reachable(&roots)
                .iter()
                .any(|&n| matches!(g2.op(n), Op::Reduce(Reduction::LogSumExp, _))),
            "no log-sum-exp survives expansion"
        );
    }

    #[test]
    fn a_scalar_and_a_log_sum_exp_meet_the_shift_first() {
        let mut g = sample_graph();
        let z = input(&mut g, 0);
        let t = input(&mut g, 2);
        let minus_z = g.intern(Op::Unary(Unary::Neg, z));
        let lse = g.intern(Op::Reduce(Reduction::LogSumExp, minus_z));
        let forms = [
            g.intern(Op::Binary(Binary::Sub, t, lse)),
            g.intern(Op::Binary(Binary::Sub, lse, t)),
            g.intern(Op::Binary(Binary::Add, lse, t)),
        ];
        let (mut g2, roots) = expand(&g, &forms);
        // Each is `(t ± shift) ± ln(total)`: the scalar meets the shift
        // before the logarithm, never `shift + ln(total)` rounded first.
        let t = g2.intern(Op::Input(InputId(2)));
        let is_shift = |n: NodeId| g2.display(n).to_string() == "finite_or_zero(shift_max(-z))";
        let meets_shift = |n: NodeId| match g2.op(n) {
            Op::Binary(Binary::Add | Binary::Sub, a, b) => {
                (a == t && is_shift(b)) || (is_shift(a) && b == t)
            }
            _ => false,
        };
        for root in roots {
            let Op::Binary(Binary::Add | Binary::Sub, a, b) = g2.op(root) else {
                panic!("not a sum: {}", g2.display(root))
            };
            assert!(meets_shift(a) || meets_shift(b), "{}", g2.display(root));
        }
    }

    #[test]
    fn a_sum_against_a_zero_row_sum_subtracts_the_shift() {
        // sum(z * t (softmax(z) - softmax(-z))), a temperature's gradient:
        // the second factor sums to 0 over the row, so the logits are taken
        // less their maximum. Against softmax(z) alone (row sum 1) they are
        // not.
        let mut g = sample_graph();
        let z = input(&mut g, 0);
        let t = input(&mut g, 2);
        let softmax = |g: &mut Graph, x: NodeId| {
            let lse = g.intern(Op::Reduce(Reduction::LogSumExp, x));
            let centred = g.intern(Op::Binary(Binary::Sub, x, lse));
            g.intern(Op::Unary(Unary::Exp, centred))
        };
        let minus_z = g.intern(Op::Unary(Unary::Neg, z));
        let (p, q) = (softmax(&mut g, z), softmax(&mut g, minus_z));
        let (tp, tq) = (
            g.intern(Op::Binary(Binary::Mul, t, p)),
            g.intern(Op::Binary(Binary::Mul, t, q)),
        );
        let zero_sum = g.intern(Op::Binary(Binary::Sub, tp, tq));
        let against_zero = g.intern(Op::Binary(Binary::Mul, z, zero_sum));
        let against_one = g.intern(Op::Binary(Binary::Mul, z, p));
        let roots = [
            g.intern(Op::Reduce(Reduction::Sum, against_zero)),
            g.intern(Op::Reduce(Reduction::Sum, against_one)),
        ];
        let (g2, roots) = expand(&g, &roots);
        let centred = "(z - finite_or_zero(shift_max(z))) * ";
        let (zero, one) = (
            g2.display(roots[0]).to_string(),
            g2.display(roots[1]).to_string(),
        );
        assert!(zero.starts_with(&format!("sum({centred}")), "{zero}");
        assert!(!one.contains(centred), "{one}");
    }
}
