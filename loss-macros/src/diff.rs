//! Stage 3: reverse-mode symbolic differentiation.
//!
//! Walks the DAG from the loss back to the inputs, building the adjoint of
//! every node as new nodes of the same graph, so the gradient shares every
//! subterm with the value (hash-consing). A vector node's adjoint may be
//! scalar-shaped, meaning the same number for every element; a contribution
//! flowing from a vector consumer into a scalar operand is summed over the
//! consumer's dim.
//!
//! Subgradients at non-differentiable points follow PyTorch: `abs` has slope
//! 0 at 0, `max`/`min` of two values split the gradient evenly on a tie, a
//! max reduction splits it evenly among tied maxima (like `amax`), and
//! `clamp` passes none to its input at a bound.

use std::collections::HashMap;

use crate::ir::{Binary, Graph, InputId, NodeId, Op, Reduction, Shape, Unary};

/// The adjoint of every `#[grad]` input, in declaration order: the
/// per-sample derivative of `root` with respect to that input.
pub fn gradients(g: &mut Graph, root: NodeId) -> Vec<(InputId, NodeId)> {
    let order = g.reachable(&[root]);
    let mut adjoint: HashMap<NodeId, NodeId> = HashMap::new();
    let one = g.constant_node(1.0);
    adjoint.insert(root, one);
    let mut d = Differ { g, adjoint };
    for &n in order.iter().rev() {
        if let Some(&a) = d.adjoint.get(&n) {
            d.propagate(n, a);
        }
    }
    let wanted: Vec<InputId> = (0..d.g.inputs.len())
        .map(|i| InputId(i as u16))
        .filter(|i| d.g.inputs[i.0 as usize].grad)
        .collect();
    wanted
        .into_iter()
        .map(|i| {
            let input = d.g.intern(Op::Input(i));
            let adj = d
                .adjoint
                .get(&input)
                .copied()
                .unwrap_or_else(|| d.g.constant_node(0.0));
            (i, adj)
        })
        .collect()
}

struct Differ<'g> {
    g: &'g mut Graph,
    adjoint: HashMap<NodeId, NodeId>,
}

impl Differ<'_> {
    fn node(&mut self, op: Op) -> NodeId {
        self.g.intern(op)
    }
    fn c(&mut self, x: f64) -> NodeId {
        self.g.constant_node(x)
    }
    fn un(&mut self, u: Unary, a: NodeId) -> NodeId {
        self.node(Op::Unary(u, a))
    }
    fn bin(&mut self, b: Binary, x: NodeId, y: NodeId) -> NodeId {
        self.node(Op::Binary(b, x, y))
    }
    fn mul(&mut self, x: NodeId, y: NodeId) -> NodeId {
        self.bin(Binary::Mul, x, y)
    }

    /// Adds `contribution` to the adjoint of `target`, reducing over the dim
    /// of the consumer when `target` is a scalar broadcast into a vector.
    fn push(&mut self, target: NodeId, contribution: NodeId, consumer: NodeId) {
        let contribution = match (
            self.g.shape(target),
            self.g.shape(contribution),
            self.g.shape(consumer),
        ) {
            (Shape::Scalar, Shape::Vector(_), _) => {
                self.node(Op::Reduce(Reduction::Sum, contribution))
            }
            (Shape::Scalar, Shape::Scalar, Shape::Vector(d)) => {
                let len = self.node(Op::DimLen(d));
                self.mul(contribution, len)
            }
            _ => contribution,
        };
        let total = match self.adjoint.get(&target) {
            Some(&existing) => self.bin(Binary::Add, existing, contribution),
            None => contribution,
        };
        self.adjoint.insert(target, total);
    }

    /// Sends the adjoint `a` of node `n` to its operands.
    fn propagate(&mut self, n: NodeId, a: NodeId) {
        // The cross-entropy of a label is differentiated as a unit, so that
        // its gradient `softmax(x) - onehot(y)` stays one node, which the
        // expansion turns into a form without cancellation at the label.
        if let Some((x, y)) = self.g.as_label_cross_entropy(n) {
            let lse = self.node(Op::Reduce(Reduction::LogSumExp, x));
            let centred = self.bin(Binary::Sub, x, lse);
            let softmax = self.un(Unary::Exp, centred);
            let hot = self.node(Op::OneHot(y));
            let slope = self.bin(Binary::Sub, softmax, hot);
            let c = self.mul(a, slope);
            self.push(x, c, n);
            return;
        }
        // And binary cross-entropy from logits, so that its gradient is the
        // one node `sigmoid(x) - y`.
        if let Some((x, y)) = self.g.as_binary_cross_entropy(n) {
            let s = self.un(Unary::Sigmoid, x);
            let slope = self.bin(Binary::Sub, s, y);
            let to_x = self.mul(a, slope);
            self.push(x, to_x, n);
            let ax = self.mul(a, x);
            let to_y = self.un(Unary::Neg, ax);
            self.push(y, to_y, n);
            return;
        }
        // A log-softmax sends `c - sum(c) * softmax(x)` to `x` as one node
        // (PyTorch's log_softmax backward), rather than `c` and a separate
        // term through the log-sum-exp: the expansion gives that node a form
        // without cancellation where c is concentrated at the maximum.
        if let Some(x) = self.g.as_log_softmax(n) {
            let softmax = self.un(Unary::Exp, n);
            let total = match (self.g.shape(a), self.g.shape(n)) {
                (Shape::Vector(_), _) => self.node(Op::Reduce(Reduction::Sum, a)),
                (Shape::Scalar, Shape::Vector(d)) => {
                    let len = self.node(Op::DimLen(d));
                    self.mul(a, len)
                }
                (Shape::Scalar, Shape::Scalar) => a,
            };
            let scaled = self.mul(total, softmax);
            let slope = self.bin(Binary::Sub, a, scaled);
            self.push(x, slope, n);
            return;
        }
        match self.g.op(n) {
            Op::Const(_) | Op::Input(_) | Op::DimLen(_) | Op::OneHot(_) => {}
            Op::Unary(u, x) => {
                let local = match u {
                    Unary::Neg => Some(self.un(Unary::Neg, a)),
                    Unary::Exp => Some(self.mul(a, n)),
                    Unary::Ln => Some(self.bin(Binary::Div, a, x)),
                    Unary::Log1p => {
                        let one = self.c(1.0);
                        let den = self.bin(Binary::Add, one, x);
                        Some(self.bin(Binary::Div, a, den))
                    }
                    Unary::Expm1 => {
                        let e = self.un(Unary::Exp, x);
                        Some(self.mul(a, e))
                    }
                    Unary::Expm1mx => {
                        let e = self.un(Unary::Expm1, x);
                        Some(self.mul(a, e))
                    }
                    Unary::Sqrt => {
                        let two = self.c(2.0);
                        let den = self.mul(two, n);
                        Some(self.bin(Binary::Div, a, den))
                    }
                    Unary::Abs => {
                        let s = self.un(Unary::Sign, x);
                        Some(self.mul(a, s))
                    }
                    Unary::Sigmoid => {
                        // σ'(x) = σ(x)·σ(-x): no cancellation in 1 - σ(x).
                        let neg = self.un(Unary::Neg, x);
                        let other = self.un(Unary::Sigmoid, neg);
                        let slope = self.mul(n, other);
                        Some(self.mul(a, slope))
                    }
                    Unary::Softplus => {
                        let s = self.un(Unary::Sigmoid, x);
                        Some(self.mul(a, s))
                    }
                    Unary::Tanh => {
                        let one = self.c(1.0);
                        let sq = self.node(Op::Powi(n, 2));
                        let slope = self.bin(Binary::Sub, one, sq);
                        Some(self.mul(a, slope))
                    }
                    Unary::Recip => {
                        let sq = self.node(Op::Powi(n, 2));
                        let t = self.mul(a, sq);
                        Some(self.un(Unary::Neg, t))
                    }
                    // Piecewise constant: zero almost everywhere.
                    Unary::Sign | Unary::FiniteOrZero | Unary::Detach => None,
                };
                if let Some(c) = local {
                    self.push(x, c, n);
                }
            }
            Op::Binary(b, x, y) => self.propagate_binary(n, a, b, x, y),
            Op::Powi(x, k) => {
                let c = match k {
                    0 => return,
                    1 => a,
                    _ => {
                        let k_node = self.c(f64::from(k));
                        let p = self.node(Op::Powi(x, k - 1));
                        let slope = self.mul(k_node, p);
                        self.mul(a, slope)
                    }
                };
                self.push(x, c, n);
            }
            Op::Reduce(r, x) => {
                let c = match r {
                    Reduction::Sum => a,
                    Reduction::LogSumExp => {
                        let centred = self.bin(Binary::Sub, x, n);
                        let softmax = self.un(Unary::Exp, centred);
                        self.mul(a, softmax)
                    }
                    Reduction::Max | Reduction::ShiftMax => {
                        let at_max = self.bin(Binary::Eq, x, n);
                        let count = self.node(Op::Reduce(Reduction::Sum, at_max));
                        let share = self.bin(Binary::Div, at_max, count);
                        self.mul(a, share)
                    }
                };
                self.push(x, c, n);
            }
            Op::Index(v, y) => {
                let hot = self.node(Op::OneHot(y));
                let c = self.mul(a, hot);
                self.push(v, c, n);
            }
            Op::Select(cond, p, q) => {
                let zero = self.c(0.0);
                let to_p = self.node(Op::Select(cond, a, zero));
                let to_q = self.node(Op::Select(cond, zero, a));
                self.push(p, to_p, n);
                self.push(q, to_q, n);
            }
        }
    }

    fn propagate_binary(&mut self, n: NodeId, a: NodeId, b: Binary, x: NodeId, y: NodeId) {
        let (dx, dy) = match b {
            Binary::Add => (Some(a), Some(a)),
            Binary::Sub => (Some(a), Some(self.un(Unary::Neg, a))),
            Binary::Mul => (Some(self.mul(a, y)), Some(self.mul(a, x))),
            Binary::Div => {
                let dx = self.bin(Binary::Div, a, y);
                let an = self.mul(a, n);
                let q = self.bin(Binary::Div, an, y);
                (Some(dx), Some(self.un(Unary::Neg, q)))
            }
            Binary::Max | Binary::Min => {
                let (win_x, win_y) = if b == Binary::Max { (x, y) } else { (y, x) };
                let half = self.c(0.5);
                let tie = self.bin(Binary::Eq, x, y);
                let half_tie = self.mul(half, tie);
                let x_wins = self.bin(Binary::Gt, win_x, win_y);
                let y_wins = self.bin(Binary::Gt, win_y, win_x);
                let sx = self.bin(Binary::Add, x_wins, half_tie);
                let sy = self.bin(Binary::Add, y_wins, half_tie);
                (Some(self.mul(a, sx)), Some(self.mul(a, sy)))
            }
            Binary::Pow => {
                let one = self.c(1.0);
                let e1 = self.bin(Binary::Sub, y, one);
                let p = self.bin(Binary::Pow, x, e1);
                let slope = self.mul(y, p);
                let dx = self.mul(a, slope);
                let lnx = self.un(Unary::Ln, x);
                let an = self.mul(a, n);
                (Some(dx), Some(self.mul(an, lnx)))
            }
            Binary::Xlogy => {
                // d/dx = ln(y) where x != 0, and 0 where x == 0 (the term is
                // identically 0 there); d/dy = x / y, 0 where x == 0.
                let zero = self.c(0.0);
                let one = self.c(1.0);
                let is_zero = self.bin(Binary::Eq, x, zero);
                let nonzero = self.bin(Binary::Sub, one, is_zero);
                let ln_y = self.bin(Binary::Xlogy, nonzero, y);
                let dy = self.bin(Binary::Xdivy, x, y);
                (Some(self.mul(a, ln_y)), Some(self.mul(a, dy)))
            }
            // Only gradients contain these; gradients are not differentiated again.
            Binary::ExpDiff => {
                let minus = self.un(Unary::Neg, a);
                (Some(self.mul(a, n)), Some(self.mul(minus, n)))
            }
            // Comparisons are piecewise constant: no gradient.
            Binary::Xdivy | Binary::Gt | Binary::Eq | Binary::Ge => (None, None),
        };
        if let Some(c) = dx {
            self.push(x, c, n);
        }
        if let Some(c) = dy {
            self.push(y, c, n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::tests::sample_graph;
    use crate::ir::InputId;

    #[test]
    fn cross_entropy_gradient_before_simplification() {
        let mut g = sample_graph();
        let z = g.intern(Op::Input(InputId(0)));
        let lse = g.intern(Op::Reduce(Reduction::LogSumExp, z));
        let zy = g.intern(Op::Index(z, InputId(1)));
        let ce = g.intern(Op::Binary(Binary::Sub, lse, zy));
        let grads = gradients(&mut g, ce);
        assert_eq!(grads.len(), 1);
        assert_eq!(
            g.display(grads[0].1).to_string(),
            "1.0 * (softmax(z) - onehot(y))"
        );
    }

    #[test]
    fn a_broadcast_scalar_collects_the_sum_over_the_dim() {
        let mut g = sample_graph();
        g.inputs[2].grad = true;
        g.inputs[0].grad = false;
        let z = g.intern(Op::Input(InputId(0)));
        let t = g.intern(Op::Input(InputId(2)));
        let scaled = g.intern(Op::Binary(Binary::Mul, z, t));
        let s = g.intern(Op::Reduce(Reduction::Sum, scaled));
        let grads = gradients(&mut g, s);
        assert_eq!(g.display(grads[0].1).to_string(), "sum(1.0 * z)");
    }
}
