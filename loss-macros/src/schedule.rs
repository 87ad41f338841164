//! Stage 5: scheduling one sample's work into the fewest passes over its rows.
//!
//! Every node gets a *level*: leaves are at 0, an elementwise node is at the
//! level of its latest operand, and a reduction is one level above its
//! operand (its result exists only after a whole pass). A vector node at
//! level `k` is computed inside pass `k` over its dim; all reductions over
//! the same dim whose operands are at the same level share that pass (the
//! maxima of a student's and a teacher's logits, then their sums of
//! exponentials). A sum then moves to the latest pass that still ends before
//! its first use, so that the max pass keeps the maxima alone (see
//! `delay_sums`). Gradient rows are written in the last pass over their dim,
//! so the value terms and the gradient come out of the same loop.
//!
//! Scalars that depend on nothing per sample (`1 / temp`, `temp²`) are
//! hoisted out of the batch loop.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::ir::{Binary, DimId, Graph, InputId, NodeId, Op, Reduction, Shape, Unary};

/// Where a per-sample result goes.
#[derive(Clone, Copy, Debug)]
pub enum Output {
    /// A per-sample scalar the caller of the schedule reads after the steps
    /// (the loss, a denominator, the gradient of a scalar input).
    Scalar(NodeId),
    /// The gradient row of a vector input, written element by element. The
    /// node may be scalar-shaped (the same number for every element).
    Row {
        input: InputId,
        dim: DimId,
        node: NodeId,
    },
}

/// Where a stashed element waits for the pass that reads it back: a
/// gradient row of a vector input, which is free memory until the pass that
/// writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Slot {
    pub input: InputId,
    /// 0: the row's own gradient row. `k >= 1`: the gradient row `k` rows
    /// further on in the block (not yet written: rows run in order), or in
    /// the narrow kernel a buffer of its own.
    pub spare: usize,
}

/// One pass over the elements of a dim.
#[derive(Debug)]
pub struct Pass {
    pub dim: DimId,
    /// Vector nodes evaluated per element, in dependency order.
    pub elements: Vec<NodeId>,
    /// Reduction nodes accumulated in this pass.
    pub reductions: Vec<NodeId>,
    /// Gradient rows written in this pass: `(input, node)`.
    pub writes: Vec<(InputId, NodeId)>,
    /// Elements this pass stores for a later pass to read back instead of
    /// recomputing: `(slot, node)`.
    pub stashes: Vec<(Slot, NodeId)>,
    /// Elements this pass reads back where an earlier pass stashed them:
    /// `(node, slot)`.
    pub loads: Vec<(NodeId, Slot)>,
}

/// One step of a sample's computation.
#[derive(Debug)]
pub enum Step {
    /// Compute a scalar node.
    Scalar(NodeId),
    /// Run a pass.
    Pass(Pass),
}

/// The plan the emitter follows.
#[derive(Debug)]
pub struct Schedule {
    /// Scalars computed once for the batch, in dependency order.
    pub hoisted: Vec<NodeId>,
    /// A sample's steps, in order.
    pub steps: Vec<Step>,
    /// The spare gradient rows the stashes use, per input: `(input, count)`.
    pub spare_rows: Vec<(InputId, usize)>,
}

impl Pass {
    fn new(dim: DimId) -> Self {
        Pass {
            dim,
            elements: vec![],
            reductions: vec![],
            writes: vec![],
            stashes: vec![],
            loads: vec![],
        }
    }

    /// Where this pass reads element `e` back from, if an earlier pass
    /// stashed it.
    pub fn load_of(&self, e: NodeId) -> Option<Slot> {
        self.loads
            .iter()
            .find(|&&(n, _)| n == e)
            .map(|&(_, slot)| slot)
    }
}

impl Schedule {
    /// The passes over row elements, in order (the steps between them are
    /// per-sample scalars).
    pub fn passes(&self) -> impl DoubleEndedIterator<Item = &Pass> {
        self.steps.iter().filter_map(|step| match step {
            Step::Pass(pass) => Some(pass),
            Step::Scalar(_) => None,
        })
    }

    /// How many rows after a sample's own the stashes use (the most of any
    /// input): the sample can run this schedule only where the block has
    /// that many rows left.
    pub fn spares(&self) -> usize {
        self.spare_rows.iter().map(|&(_, k)| k).max().unwrap_or(0)
    }
}

/// Plans the computation of `outputs`, stashing elements in at most
/// `spares` spare gradient rows per input besides the row's own.
pub fn schedule(g: &Graph, outputs: &[Output], spares: usize) -> Schedule {
    let roots: Vec<NodeId> = outputs
        .iter()
        .map(|o| match *o {
            Output::Scalar(n) | Output::Row { node: n, .. } => n,
        })
        .collect();
    let order = g.reachable(&roots);

    let mut level: HashMap<NodeId, usize> = HashMap::new();
    let mut invariant: HashSet<NodeId> = HashSet::new();
    for &n in &order {
        let op = g.op(n);
        let l = match op {
            Op::Reduce(_, x) => level[&x] + 1,
            _ => op.operands().map(|a| level[&a]).max().unwrap_or(0),
        };
        level.insert(n, l);
        let batch_constant = match op {
            Op::Const(_) | Op::DimLen(_) => true,
            Op::Input(i) => {
                g.inputs[i.0 as usize].kind.shape() == Some(Shape::Scalar)
                    && !g.inputs[i.0 as usize].kind.is_per_sample()
            }
            Op::Reduce(..) | Op::Index(..) | Op::OneHot(_) => false,
            _ => g.shape(n) == Shape::Scalar && op.operands().all(|a| invariant.contains(&a)),
        };
        if batch_constant {
            invariant.insert(n);
        }
    }

    // Passes, keyed by (level, dim) so that they run in level order.
    let mut passes: BTreeMap<(usize, DimId), Pass> = BTreeMap::new();
    for &n in &order {
        if let Op::Reduce(_, x) = g.op(n) {
            let Shape::Vector(dim) = g.shape(x) else {
                continue;
            };
            passes
                .entry((level[&x], dim))
                .or_insert_with(|| Pass::new(dim))
                .reductions
                .push(n);
        }
    }
    delay_sums(g, &order, &level, &mut passes);
    for o in outputs {
        if let Output::Row { input, dim, node } = *o {
            // The last pass over the dim that can compute the node, or a new one.
            let last = passes
                .keys()
                .filter(|&&(l, d)| d == dim && l >= level[&node])
                .map(|&(l, _)| l)
                .max();
            let key = (last.unwrap_or(level[&node]), dim);
            passes
                .entry(key)
                .or_insert_with(|| Pass::new(dim))
                .writes
                .push((input, node));
        }
    }
    for pass in passes.values_mut() {
        pass.elements = vector_closure(g, &pass_seeds(g, pass), &[]);
    }
    let spare_rows = stash_transcendentals(g, &mut passes, spares);

    let is_computed_scalar = |n: NodeId| {
        g.shape(n) == Shape::Scalar
            && !matches!(
                g.op(n),
                Op::Const(_) | Op::Input(_) | Op::DimLen(_) | Op::Reduce(..)
            )
    };
    let hoisted: Vec<NodeId> = order
        .iter()
        .copied()
        .filter(|&n| invariant.contains(&n) && is_computed_scalar(n))
        .collect();
    let mut by_level: BTreeMap<usize, Vec<NodeId>> = BTreeMap::new();
    for &n in &order {
        if is_computed_scalar(n) && !invariant.contains(&n) {
            by_level.entry(level[&n]).or_default().push(n);
        }
    }
    let max_level = level.values().copied().max().unwrap_or(0);
    let mut steps = Vec::new();
    for l in 0..=max_level {
        if let Some(scalars) = by_level.remove(&l) {
            steps.extend(scalars.into_iter().map(Step::Scalar));
        }
        let keys: Vec<(usize, DimId)> = passes.keys().copied().filter(|&(pl, _)| pl == l).collect();
        for k in keys {
            steps.push(Step::Pass(
                passes.remove(&k).expect("key taken from the map"),
            ));
        }
    }
    Schedule {
        hoisted,
        steps,
        spare_rows,
    }
}

/// Moves each sum to the latest pass over its dim that still ends before
/// the sum's first use. A sum of plain inputs (KL's `sum(p)`) would otherwise
/// share the maximum's pass, where nothing else hides its chain of additions
/// (the order of the additions, and so the bits, stays the same); and a pass
/// left with nothing to do disappears.
fn delay_sums(
    g: &Graph,
    order: &[NodeId],
    level: &HashMap<NodeId, usize>,
    passes: &mut BTreeMap<(usize, DimId), Pass>,
) {
    // The level of each node's earliest user: a scalar step at level `l`
    // runs before the passes of level `l`, an element of such a pass in it.
    let mut first_use: HashMap<NodeId, usize> = HashMap::new();
    for &n in order {
        for a in g.op(n).operands() {
            let used = first_use.entry(a).or_insert(usize::MAX);
            *used = (*used).min(level[&n]);
        }
    }
    let keys: Vec<(usize, DimId)> = passes.keys().copied().collect();
    for &(l, dim) in &keys {
        let sums: Vec<NodeId> = passes[&(l, dim)]
            .reductions
            .iter()
            .copied()
            .filter(|&r| matches!(g.op(r), Op::Reduce(Reduction::Sum, _)))
            .collect();
        for r in sums {
            let before = first_use.get(&r).copied().unwrap_or(usize::MAX);
            let Some(&(later, _)) = keys
                .iter()
                .filter(|&&(pl, d)| d == dim && pl > l && pl < before)
                .max()
            else {
                continue;
            };
            let pass = passes.get_mut(&(l, dim)).expect("key from the map");
            pass.reductions.retain(|&x| x != r);
            let target = passes.get_mut(&(later, dim)).expect("key from the map");
            target.reductions.push(r);
            target.reductions.sort();
        }
    }
    passes.retain(|_, p| !p.reductions.is_empty());
}

/// What a pass must compute: its reductions' operands and its writes.
fn pass_seeds(g: &Graph, pass: &Pass) -> Vec<NodeId> {
    let mut seeds: Vec<NodeId> = pass
        .reductions
        .iter()
        .filter_map(|&r| g.op(r).operands().next())
        .collect();
    seeds.extend(pass.writes.iter().map(|&(_, n)| n));
    seeds.extend(pass.stashes.iter().map(|&(_, n)| n));
    seeds
}

/// The vector nodes `seeds` need, stopping at scalars and at `leaves` (which
/// are included but not expanded), in dependency order.
fn vector_closure(g: &Graph, seeds: &[NodeId], leaves: &[NodeId]) -> Vec<NodeId> {
    let mut seen = HashSet::new();
    let mut stack: Vec<NodeId> = seeds
        .iter()
        .copied()
        .filter(|&s| g.shape(s) != Shape::Scalar)
        .collect();
    while let Some(n) = stack.pop() {
        if !seen.insert(n) || leaves.contains(&n) {
            continue;
        }
        stack.extend(g.op(n).operands().filter(|&a| g.shape(a) != Shape::Scalar));
    }
    let mut nodes: Vec<NodeId> = seen.into_iter().collect();
    nodes.sort();
    nodes
}

/// How many transcendental functions computing node `n` once takes, over
/// the vector nodes of its closure.
fn transcendental_cost(g: &Graph, n: NodeId) -> usize {
    vector_closure(g, &[n], &[])
        .into_iter()
        .filter(|&m| match g.op(m) {
            Op::Unary(u, _) => !matches!(
                u,
                Unary::Neg | Unary::Abs | Unary::Sign | Unary::FiniteOrZero | Unary::Detach
            ),
            Op::Binary(b, ..) => matches!(b, Binary::Pow | Binary::Xlogy | Binary::ExpDiff),
            Op::Powi(..) => false,
            _ => false,
        })
        .count()
}

/// The gradient row of a vector input is free memory until the pass that
/// writes it: an earlier pass over the same dim stores there the costliest
/// element both passes compute (`exp(z - max)` of a softmax, typically), and
/// the writing pass reads it back instead of evaluating it again. With
/// `spares`, the next costliest go to the gradient rows of the following
/// samples (distillation's `exp(t/T - max)` and `exp(z/T - max)`), which are
/// free too until those samples run. Returns the spare rows used per input.
fn stash_transcendentals(
    g: &Graph,
    passes: &mut BTreeMap<(usize, DimId), Pass>,
    spares: usize,
) -> Vec<(InputId, usize)> {
    let keys: Vec<(usize, DimId)> = passes.keys().copied().collect();
    let mut spare_rows: BTreeMap<InputId, usize> = BTreeMap::new();
    for &late in &keys {
        let rows: Vec<InputId> = passes[&late]
            .writes
            .iter()
            .filter(|&&(i, _)| {
                matches!(g.inputs[i.0 as usize].kind, crate::ir::InputKind::Vector(_))
            })
            .map(|&(i, _)| i)
            .collect();
        let own = rows.iter().map(|&input| Slot { input, spare: 0 });
        let spare = rows.first().into_iter().flat_map(|&input| {
            let used = spare_rows.get(&input).copied().unwrap_or(0);
            (used + 1..=spares).map(move |spare| Slot { input, spare })
        });
        let slots: Vec<Slot> = own.chain(spare).collect();
        for slot in slots {
            let best = keys
                .iter()
                .filter(|&&(l, d)| d == late.1 && l < late.0)
                .flat_map(|early| {
                    let loads = &passes[&late].loads;
                    passes[&late]
                        .elements
                        .iter()
                        .filter(|e| {
                            passes[early].elements.contains(e)
                                && !loads.iter().any(|(n, _)| n == *e)
                        })
                        .map(move |&e| (transcendental_cost(g, e), std::cmp::Reverse(e), *early))
                })
                .filter(|&(cost, ..)| cost > 0)
                .max();
            let Some((_, std::cmp::Reverse(node), early)) = best else {
                break;
            };
            if slot.spare > 0 {
                spare_rows.insert(slot.input, slot.spare);
            }
            passes
                .get_mut(&early)
                .expect("key from the map")
                .stashes
                .push((slot, node));
            let pass = passes.get_mut(&late).expect("key from the map");
            pass.loads.push((node, slot));
            let leaves: Vec<NodeId> = pass.loads.iter().map(|&(n, _)| n).collect();
            pass.elements = vector_closure(g, &pass_seeds(g, pass), &leaves);
        }
    }
    spare_rows.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::tests::sample_graph;
    use crate::rewrite;

    /// Cross-entropy value and gradient: a max pass, a sum pass, and a
    /// third pass that writes the gradient.
    #[test]
    fn cross_entropy_takes_three_passes() {
        let mut g = sample_graph();
        let z = g.intern(Op::Input(InputId(0)));
        let lse = g.intern(Op::Reduce(Reduction::LogSumExp, z));
        let zy = g.intern(Op::Index(z, InputId(1)));
        let ce = g.intern(Op::Binary(Binary::Sub, lse, zy));
        let grad = crate::diff::gradients(&mut g, ce)[0].1;
        let (g, roots) = rewrite::simplify(&g, &[ce, grad]);
        let (g, roots) = rewrite::expand(&g, &roots);
        let s = schedule(
            &g,
            &[
                Output::Scalar(roots[0]),
                Output::Row {
                    input: InputId(0),
                    dim: DimId(0),
                    node: roots[1],
                },
            ],
            2,
        );
        assert_eq!(s.passes().count(), 3, "{s:#?}");
        let last = s.passes().next_back().unwrap();
        assert_eq!(last.writes.len(), 1);
        assert!(last.reductions.is_empty());
        // The gradient pass reads exp(z - max) back from the gradient row,
        // where the sum pass stashed it, instead of evaluating it again.
        assert_eq!(last.loads.len(), 1, "{last:#?}");
        assert!(
            matches!(g.op(last.loads[0].0), Op::Binary(Binary::ExpDiff, ..)),
            "{last:#?}"
        );
        // One exp per element: nothing left for a spare row.
        assert_eq!(s.spares(), 0, "{s:#?}");
    }

    /// `sum(z)` could run with the maximum, but its first use comes after
    /// the sum of exponentials: it runs in that pass, and the max pass keeps
    /// the maximum alone.
    #[test]
    fn a_sum_runs_in_the_last_pass_before_its_use() {
        let mut g = sample_graph();
        let z = g.intern(Op::Input(InputId(0)));
        let total = g.intern(Op::Reduce(Reduction::Sum, z));
        let lse = g.intern(Op::Reduce(Reduction::LogSumExp, z));
        let loss = g.intern(Op::Binary(Binary::Mul, lse, total));
        let (g, roots) = rewrite::expand(&g, &[loss]);
        let s = schedule(&g, &[Output::Scalar(roots[0])], 0);
        let passes: Vec<&Pass> = s.passes().collect();
        assert_eq!(passes.len(), 2, "{s:#?}");
        let reduces = |p: &Pass, kind: Reduction| {
            p.reductions
                .iter()
                .filter(|&&r| matches!(g.op(r), Op::Reduce(k, _) if k == kind))
                .count()
        };
        assert_eq!(passes[0].reductions.len(), 1, "{s:#?}");
        assert_eq!(reduces(passes[0], Reduction::ShiftMax), 1, "{s:#?}");
        let sum_of_z = passes[1]
            .reductions
            .iter()
            .any(|&r| matches!(g.op(r), Op::Reduce(Reduction::Sum, x) if matches!(g.op(x), Op::Input(_))));
        assert!(sum_of_z, "{s:#?}");
    }

    #[test]
    fn reductions_of_one_level_share_a_pass_and_constants_are_hoisted() {
        let mut g = sample_graph();
        let z = g.intern(Op::Input(InputId(0)));
        let t = g.intern(Op::Input(InputId(2)));
        let inv = g.intern(Op::Unary(Unary::Recip, t));
        let scaled = g.intern(Op::Binary(Binary::Mul, z, inv));
        let a = g.intern(Op::Reduce(Reduction::Sum, scaled));
        let e = g.intern(Op::Unary(Unary::Exp, z));
        let b = g.intern(Op::Reduce(Reduction::Max, e));
        let total = g.intern(Op::Binary(Binary::Add, a, b));
        let s = schedule(&g, &[Output::Scalar(total)], 0);
        assert_eq!(s.passes().count(), 1);
        assert_eq!(s.hoisted, vec![inv]);
    }
}
