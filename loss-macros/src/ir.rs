//! The intermediate representation every stage shares: a hash-consed DAG of
//! per-sample operations with inferred shapes.
//!
//! A graph describes the loss of ONE sample. Its leaves are the declared
//! inputs, constants and dim lengths; every other node is an operation on
//! earlier nodes, so node ids are a topological order. Building the same
//! operation twice returns the same id (hash-consing), which gives common
//! subexpression elimination for free: a softmax used in the value and in the
//! gradient exists once.

use std::collections::HashMap;
use std::fmt;

/// Index of a node in its [`Graph`]. Operands always have smaller ids.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct NodeId(pub u32);

/// Index of a declared dim (`C` in `Vector<C>`) in [`Graph::dims`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct DimId(pub u16);

/// Index of a declared input in [`Graph::inputs`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct InputId(pub u16);

/// The shape of one sample's value of a node.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Shape {
    /// One number.
    Scalar,
    /// One number per element of a dim.
    Vector(DimId),
}

/// What a declared input holds.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum InputKind {
    /// `Vector<C>`: a float row per sample.
    Vector(DimId),
    /// `Class<C>`: an integer label in `0..C` per sample.
    Class(DimId),
    /// `PerSample`: one float per sample (e.g. a sample weight).
    PerSample,
    /// `Scalar`: one float shared by the whole batch.
    Scalar,
    /// `Weights<C>`: one float row shared by the whole batch.
    Weights(DimId),
}

impl InputKind {
    /// The shape of the input's value in one sample (`None` for labels, which
    /// are not numbers).
    pub fn shape(self) -> Option<Shape> {
        match self {
            InputKind::Vector(d) | InputKind::Weights(d) => Some(Shape::Vector(d)),
            InputKind::PerSample | InputKind::Scalar => Some(Shape::Scalar),
            InputKind::Class(_) => None,
        }
    }

    /// `true` if the value differs from sample to sample.
    pub fn is_per_sample(self) -> bool {
        matches!(
            self,
            InputKind::Vector(_) | InputKind::Class(_) | InputKind::PerSample
        )
    }
}

/// A declared input, as the later stages need it.
#[derive(Clone, Debug)]
pub struct Input {
    /// The name the user gave it.
    pub name: String,
    /// Its kind.
    pub kind: InputKind,
    /// `true` if marked `#[grad]`.
    pub grad: bool,
    /// `true` for a label marked `#[ignore_index]`.
    pub ignore_index: bool,
}

/// Elementwise functions of one operand.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Unary {
    Neg,
    Exp,
    Ln,
    Log1p,
    Expm1,
    /// `e^x - 1 - x`, which the simplifier makes of a sum holding `e^x`,
    /// `-1` and `-x` (a VAE's `1 + lv - exp(lv)`): its terms cancel near 0.
    Expm1mx,
    Sqrt,
    Abs,
    /// -1, 0 or 1 (0 at 0: the subgradient of `abs` PyTorch uses).
    Sign,
    Sigmoid,
    Softplus,
    Tanh,
    Recip,
    /// `x` if finite (`+0` for `-0`), else 0: the shift of a log-sum-exp, so
    /// that a row of `-inf` gives `-inf` rather than NaN, and a row whose
    /// maximum is zero gets the same shift whichever zero came first.
    FiniteOrZero,
    /// `x` itself, with no gradient through it (a stop-gradient).
    Detach,
}

/// Elementwise functions of two operands (broadcasting a scalar operand).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Binary {
    Add,
    Sub,
    Mul,
    Div,
    /// NaN-propagating maximum.
    Max,
    /// NaN-propagating minimum.
    Min,
    /// `a^b` for real `b`.
    Pow,
    /// `a * ln(b)`, 0 where `a == 0`.
    Xlogy,
    /// `a / b`, 0 where `a == 0`.
    Xdivy,
    /// 1 where `a > b`, else 0.
    Gt,
    /// 1 where `a == b`, else 0.
    Eq,
    /// 1 where `a >= b`, else 0.
    Ge,
    /// `exp(a - b)` with the rounding error of the subtraction compensated:
    /// the shifted exponentials of a log-sum-exp keep full relative accuracy
    /// however far apart `a` and `b` are. Only made by the expansion.
    ExpDiff,
}

impl Binary {
    /// `true` if the operands can be swapped, so hash-consing can put them
    /// in a canonical order.
    pub fn is_commutative(self) -> bool {
        matches!(
            self,
            Binary::Add | Binary::Mul | Binary::Max | Binary::Min | Binary::Eq
        )
    }
}

/// Reductions over the dim of a vector operand, giving a scalar.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Reduction {
    Sum,
    /// NaN-propagating maximum.
    Max,
    /// `ln(sum(exp(x)))`; expanded into max, sum and ln before scheduling.
    LogSumExp,
    /// The maximum ignoring NaN (a NaN row still gives NaN through the sum
    /// it shifts); only made by the log-sum-exp expansion.
    ShiftMax,
}

/// One operation. Scalars broadcast against vectors; two vector operands
/// share a dim (checked when lowering).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Op {
    /// A constant, stored as the bits of an `f64` so that it can be hashed.
    Const(u64),
    /// A declared input (never a `Class`: labels enter through `Index`
    /// and `OneHot`).
    Input(InputId),
    /// The length of a dim, as a number.
    DimLen(DimId),
    /// The row `[j == y]` of a class label `y`.
    OneHot(InputId),
    Unary(Unary, NodeId),
    Binary(Binary, NodeId, NodeId),
    /// `x^n` for an integer `n`.
    Powi(NodeId, i32),
    Reduce(Reduction, NodeId),
    /// Element `y` of a vector, for a class label `y` over the vector's dim.
    Index(NodeId, InputId),
    /// `if cond != 0 { a } else { b }`, elementwise.
    Select(NodeId, NodeId, NodeId),
}

impl Op {
    /// The node ids this operation reads, in order.
    pub fn operands(&self) -> impl Iterator<Item = NodeId> {
        let (a, b, c) = match *self {
            Op::Const(_) | Op::Input(_) | Op::DimLen(_) | Op::OneHot(_) => (None, None, None),
            Op::Unary(_, a) | Op::Powi(a, _) | Op::Reduce(_, a) | Op::Index(a, _) => {
                (Some(a), None, None)
            }
            Op::Binary(_, a, b) => (Some(a), Some(b), None),
            Op::Select(c, a, b) => (Some(c), Some(a), Some(b)),
        };
        a.into_iter().chain(b).chain(c)
    }
}

/// A node: an operation and the shape of its value.
#[derive(Clone, Copy, Debug)]
pub struct Node {
    pub op: Op,
    pub shape: Shape,
}

/// A hash-consed DAG of operations, with the dims and inputs it refers to.
#[derive(Clone, Debug, Default)]
pub struct Graph {
    pub dims: Vec<String>,
    pub inputs: Vec<Input>,
    nodes: Vec<Node>,
    interned: HashMap<Op, NodeId>,
}

impl Graph {
    /// An empty graph over the given dims and inputs.
    pub fn new(dims: Vec<String>, inputs: Vec<Input>) -> Self {
        Graph {
            dims,
            inputs,
            nodes: Vec::new(),
            interned: HashMap::new(),
        }
    }

    /// A graph with the same dims and inputs and no nodes, to rebuild into.
    pub fn empty_like(&self) -> Self {
        Graph::new(self.dims.clone(), self.inputs.clone())
    }

    /// The node with id `id`.
    pub fn node(&self, id: NodeId) -> Node {
        self.nodes[id.0 as usize]
    }

    /// The operation of node `id`.
    pub fn op(&self, id: NodeId) -> Op {
        self.node(id).op
    }

    /// The shape of node `id`.
    pub fn shape(&self, id: NodeId) -> Shape {
        self.node(id).shape
    }

    /// The constant value of node `id`, if it is a constant.
    pub fn constant(&self, id: NodeId) -> Option<f64> {
        match self.op(id) {
            Op::Const(bits) => Some(f64::from_bits(bits)),
            _ => None,
        }
    }

    /// The shape an operation's value has, from its operands' shapes.
    ///
    /// Operand shapes must already agree (lowering checks them with spans).
    fn infer_shape(&self, op: &Op) -> Shape {
        match *op {
            Op::Const(_) | Op::DimLen(_) => Shape::Scalar,
            Op::Input(i) => self.inputs[i.0 as usize]
                .kind
                .shape()
                .unwrap_or(Shape::Scalar),
            Op::OneHot(i) => match self.inputs[i.0 as usize].kind {
                InputKind::Class(d) => Shape::Vector(d),
                _ => Shape::Scalar,
            },
            Op::Reduce(..) | Op::Index(..) => Shape::Scalar,
            Op::Unary(_, a) | Op::Powi(a, _) => self.shape(a),
            Op::Binary(_, a, b) => self.broadcast(self.shape(a), self.shape(b)),
            Op::Select(c, a, b) => {
                let ab = self.broadcast(self.shape(a), self.shape(b));
                self.broadcast(self.shape(c), ab)
            }
        }
    }

    fn broadcast(&self, a: Shape, b: Shape) -> Shape {
        match (a, b) {
            (Shape::Vector(d), _) | (_, Shape::Vector(d)) => Shape::Vector(d),
            _ => Shape::Scalar,
        }
    }

    /// The node for `op`, added if it is new. No rewriting happens here;
    /// see `rewrite` for the simplifying constructors.
    pub fn intern(&mut self, op: Op) -> NodeId {
        let op = match op {
            Op::Binary(f, a, b) if f.is_commutative() && b < a => Op::Binary(f, b, a),
            Op::Const(bits) if f64::from_bits(bits) == 0.0 => Op::Const(0), // -0 and +0 are one constant
            Op::Const(bits) if f64::from_bits(bits).is_nan() => Op::Const(f64::NAN.to_bits()),
            other => other,
        };
        if let Some(&id) = self.interned.get(&op) {
            return id;
        }
        let shape = self.infer_shape(&op);
        let id = NodeId(u32::try_from(self.nodes.len()).expect("graph has fewer than 2^32 nodes"));
        self.nodes.push(Node { op, shape });
        self.interned.insert(op, id);
        id
    }

    /// The constant `x`.
    pub fn constant_node(&mut self, x: f64) -> NodeId {
        self.intern(Op::Const(x.to_bits()))
    }

    /// The ids of every node `roots` depend on (themselves included), in
    /// topological order.
    pub fn reachable(&self, roots: &[NodeId]) -> Vec<NodeId> {
        let mut seen = vec![false; self.nodes.len()];
        let mut stack: Vec<NodeId> = roots.to_vec();
        while let Some(id) = stack.pop() {
            if std::mem::replace(&mut seen[id.0 as usize], true) {
                continue;
            }
            stack.extend(self.op(id).operands());
        }
        (0..self.nodes.len() as u32)
            .map(NodeId)
            .filter(|id| seen[id.0 as usize])
            .collect()
    }

    /// `(k, z)` for a product `id = k z` with a negative constant `k`: what
    /// reads, and simplifies, as a negation (`x + (-k) z` is `x - k z`, to
    /// the bit).
    pub fn as_negative_scale(&self, id: NodeId) -> Option<(f64, NodeId)> {
        let Op::Binary(Binary::Mul, p, q) = self.op(id) else {
            return None;
        };
        match (self.constant(p), self.constant(q)) {
            (Some(k), _) if k < 0.0 => Some((k, q)),
            (_, Some(k)) if k < 0.0 => Some((k, p)),
            _ => None,
        }
    }

    /// The softmax pattern `exp(x - logsumexp(x))`: returns `x`.
    pub fn as_softmax(&self, id: NodeId) -> Option<NodeId> {
        if let Op::Unary(Unary::Exp, inner) = self.op(id) {
            if let Op::Binary(Binary::Sub, x, lse) = self.op(inner) {
                if self.op(lse) == Op::Reduce(Reduction::LogSumExp, x) {
                    return Some(x);
                }
            }
        }
        None
    }

    /// `logsumexp(x) - x[y]`: returns `(x, y)`.
    pub fn as_label_cross_entropy(&self, id: NodeId) -> Option<(NodeId, InputId)> {
        if let Op::Binary(Binary::Sub, lse, xy) = self.op(id) {
            if let (Op::Reduce(Reduction::LogSumExp, x), Op::Index(x2, y)) =
                (self.op(lse), self.op(xy))
            {
                if x == x2 {
                    return Some((x, y));
                }
            }
        }
        None
    }

    /// `softmax(x) - onehot(y)`: returns `(x, y)`.
    pub fn as_softmax_minus_onehot(&self, id: NodeId) -> Option<(NodeId, InputId)> {
        if let Op::Binary(Binary::Sub, p, hot) = self.op(id) {
            if let (Some(x), Op::OneHot(y)) = (self.as_softmax(p), self.op(hot)) {
                return Some((x, y));
            }
        }
        None
    }

    /// `x - logsumexp(x)`, a log-softmax: returns `x`.
    pub fn as_log_softmax(&self, id: NodeId) -> Option<NodeId> {
        match self.op(id) {
            Op::Binary(Binary::Sub, x, lse)
                if self.op(lse) == Op::Reduce(Reduction::LogSumExp, x) =>
            {
                Some(x)
            }
            _ => None,
        }
    }

    /// `c - s * softmax(x)` (or its negation `s * softmax(x) - c`), the
    /// backward of a log-softmax: returns `(c, s, x, negated)`. That `s` is
    /// the sum of `c` is for the caller to check.
    pub fn as_log_softmax_backward(&self, id: NodeId) -> Option<(NodeId, NodeId, NodeId, bool)> {
        let Op::Binary(Binary::Sub, left, right) = self.op(id) else {
            return None;
        };
        let scaled_softmax = |n: NodeId| -> Option<(NodeId, NodeId)> {
            let Op::Binary(Binary::Mul, a, b) = self.op(n) else {
                return None;
            };
            [(a, b), (b, a)].into_iter().find_map(|(s, q)| {
                self.as_softmax(q)
                    .filter(|_| self.shape(s) == Shape::Scalar)
                    .map(|x| (s, x))
            })
        };
        if let Some((s, x)) = scaled_softmax(right) {
            return Some((left, s, x, false));
        }
        scaled_softmax(left).map(|(s, x)| (right, s, x, true))
    }

    /// `softplus(x) - x * y`, binary cross-entropy from logits: returns
    /// `(x, y)`.
    pub fn as_binary_cross_entropy(&self, id: NodeId) -> Option<(NodeId, NodeId)> {
        let Op::Binary(Binary::Sub, sp, xy) = self.op(id) else {
            return None;
        };
        let (Op::Unary(Unary::Softplus, x), Op::Binary(Binary::Mul, a, b)) =
            (self.op(sp), self.op(xy))
        else {
            return None;
        };
        if a == x {
            Some((x, b))
        } else if b == x {
            Some((x, a))
        } else {
            None
        }
    }

    /// A displayable view of node `id` in math notation.
    pub fn display(&self, id: NodeId) -> Display<'_> {
        Display { graph: self, id }
    }
}

/// Math notation for a node, e.g. `softmax(z) - onehot(y)`; see
/// [`Graph::display`].
pub struct Display<'a> {
    graph: &'a Graph,
    id: NodeId,
}

impl fmt::Display for Display<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_node(self.graph, self.id, 0, f)
    }
}

// Binding strength, as in Rust: a child that binds less tightly than its
// context is parenthesised.
const PREC_ADD: u8 = 1;
const PREC_MUL: u8 = 2;
const PREC_UNARY: u8 = 3;
const PREC_ATOM: u8 = 4;

fn write_node(g: &Graph, id: NodeId, context: u8, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let (prec, text) = render(g, id);
    if prec < context {
        write!(f, "({text})")
    } else {
        f.write_str(&text)
    }
}

/// The text of node `id` where its context binds as tightly as `context`:
/// in parentheses if it binds less.
fn shown(g: &Graph, id: NodeId, context: u8) -> String {
    let (prec, text) = render(g, id);
    if prec < context {
        format!("({text})")
    } else {
        text
    }
}

/// A constant as the DSL writes it: `2.0`, `0.5`, `0.0000001`.
fn constant_text(x: f64) -> String {
    if x == x.trunc() && x.abs() < 1e15 {
        format!("{x:.1}")
    } else {
        format!("{x}")
    }
}

fn render(g: &Graph, id: NodeId) -> (u8, String) {
    let show = |id: NodeId, context: u8| shown(g, id, context);
    let call = |name: &str, args: &[NodeId]| -> (u8, String) {
        let args: Vec<String> = args.iter().map(|&a| show(a, 0)).collect();
        (PREC_ATOM, format!("{name}({})", args.join(", ")))
    };
    if let Some(x) = g.as_softmax(id) {
        return call("softmax", &[x]);
    }
    match g.op(id) {
        Op::Const(bits) => {
            let x = f64::from_bits(bits);
            // (No `-0.0`: interning makes every zero `0.0`.)
            let prec = if x < 0.0 { PREC_UNARY } else { PREC_ATOM };
            (prec, constant_text(x))
        }
        Op::Input(i) => (PREC_ATOM, g.inputs[i.0 as usize].name.clone()),
        Op::DimLen(d) => (PREC_ATOM, format!("len({})", g.dims[d.0 as usize])),
        Op::OneHot(i) => (
            PREC_ATOM,
            format!("onehot({})", g.inputs[i.0 as usize].name),
        ),
        Op::Unary(Unary::Neg, a) => (PREC_UNARY, format!("-{}", show(a, PREC_UNARY))),
        Op::Unary(Unary::Recip, a) => (PREC_MUL, format!("1.0 / {}", show(a, PREC_UNARY))),
        Op::Unary(u, a) => call(unary_name(u), &[a]),
        Op::Binary(b, x, y) => match b {
            // The right operand of a sum or product binds tighter than its
            // context, so that the text groups as the expression does (`a *
            // (b * c)` rounds differently from `a * b * c`). A sum whose
            // right term is a negation reads as a difference, and a
            // difference of one as a sum: `x + (-k) y` is `x - k y`, to the
            // bit.
            Binary::Add | Binary::Sub => {
                let (sign, flipped) = if b == Binary::Add {
                    ("+", "-")
                } else {
                    ("-", "+")
                };
                let text = match negated(g, y) {
                    Some(y) => format!("{} {flipped} {}", show(x, PREC_ADD), show_negated(g, y)),
                    None => format!("{} {sign} {}", show(x, PREC_ADD), show(y, PREC_MUL)),
                };
                (PREC_ADD, text)
            }
            Binary::Mul => {
                let (x, y) = product_order(g, x, y);
                (
                    PREC_MUL,
                    format!("{} * {}", show(x, PREC_MUL), show(y, PREC_UNARY)),
                )
            }
            Binary::Div => (
                PREC_MUL,
                format!("{} / {}", show(x, PREC_MUL), show(y, PREC_UNARY)),
            ),
            Binary::Max => call("max", &[x, y]),
            Binary::Min => call("min", &[x, y]),
            Binary::Pow => call("powf", &[x, y]),
            Binary::Xlogy => call("xlogy", &[x, y]),
            Binary::Xdivy => call("xdivy", &[x, y]),
            Binary::Gt => call("gt", &[x, y]),
            Binary::Eq => call("eq", &[x, y]),
            Binary::Ge => call("ge", &[x, y]),
            Binary::ExpDiff => call("exp_diff", &[x, y]),
        },
        Op::Powi(a, n) => (PREC_ATOM, format!("{}.powi({n})", show(a, PREC_ATOM))),
        Op::Reduce(r, a) => call(
            match r {
                Reduction::Sum => "sum",
                Reduction::Max => "max",
                Reduction::LogSumExp => "logsumexp",
                Reduction::ShiftMax => "shift_max",
            },
            &[a],
        ),
        Op::Index(v, i) => (
            PREC_ATOM,
            format!("{}[{}]", show(v, PREC_ATOM), g.inputs[i.0 as usize].name),
        ),
        Op::Select(c, a, b) => call("select", &[c, a, b]),
    }
}

/// A product's operands in the order they read best: constants and scalar
/// factors in front (`t * (p - q)`); exact, since a product commutes.
fn product_order(g: &Graph, x: NodeId, y: NodeId) -> (NodeId, NodeId) {
    let front = |n: NodeId| (g.constant(n).is_none(), g.shape(n) != Shape::Scalar);
    if front(y) < front(x) {
        (y, x)
    } else {
        (x, y)
    }
}

/// What a node negates, if it is a negation.
enum Negated {
    /// A negative constant `-k`.
    Constant(f64),
    /// `-v`.
    Of(NodeId),
    /// `(-k) * v` ([`Graph::as_negative_scale`]).
    Scaled(f64, NodeId),
}

/// `n` as a negation, if it reads as one.
fn negated(g: &Graph, n: NodeId) -> Option<Negated> {
    match g.op(n) {
        Op::Const(bits) if f64::from_bits(bits) < 0.0 => {
            Some(Negated::Constant(-f64::from_bits(bits)))
        }
        Op::Unary(Unary::Neg, v) => Some(Negated::Of(v)),
        _ => g.as_negative_scale(n).map(|(k, v)| Negated::Scaled(-k, v)),
    }
}

/// The text of what [`negated`] found negated, as the right operand of a
/// difference.
fn show_negated(g: &Graph, n: Negated) -> String {
    match n {
        Negated::Constant(k) => constant_text(k),
        Negated::Of(v) => shown(g, v, PREC_MUL),
        Negated::Scaled(k, v) => format!("{} * {}", constant_text(k), shown(g, v, PREC_UNARY)),
    }
}

/// The DSL name of an elementwise function.
pub fn unary_name(u: Unary) -> &'static str {
    match u {
        Unary::Neg => "neg",
        Unary::Exp => "exp",
        Unary::Ln => "ln",
        Unary::Log1p => "log1p",
        Unary::Expm1 => "expm1",
        Unary::Expm1mx => "expm1mx",
        Unary::Sqrt => "sqrt",
        Unary::Abs => "abs",
        Unary::Sign => "sign",
        Unary::Sigmoid => "sigmoid",
        Unary::Softplus => "softplus",
        Unary::Tanh => "tanh",
        Unary::Recip => "recip",
        Unary::FiniteOrZero => "finite_or_zero",
        Unary::Detach => "detach",
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A graph with `z: Vector<C>`, `y: Class<C>`, `t: Scalar`.
    pub(crate) fn sample_graph() -> Graph {
        Graph::new(
            vec!["C".into()],
            vec![
                Input {
                    name: "z".into(),
                    kind: InputKind::Vector(DimId(0)),
                    grad: true,
                    ignore_index: false,
                },
                Input {
                    name: "y".into(),
                    kind: InputKind::Class(DimId(0)),
                    grad: false,
                    ignore_index: false,
                },
                Input {
                    name: "t".into(),
                    kind: InputKind::Scalar,
                    grad: false,
                    ignore_index: false,
                },
            ],
        )
    }

    #[test]
    fn equal_operations_are_one_node() {
        let mut g = sample_graph();
        let z = g.intern(Op::Input(InputId(0)));
        let t = g.intern(Op::Input(InputId(2)));
        let a = g.intern(Op::Binary(Binary::Mul, z, t));
        let b = g.intern(Op::Binary(Binary::Mul, t, z));
        assert_eq!(a, b, "commutative operands are put in one order");
        assert_eq!(g.shape(a), Shape::Vector(DimId(0)));
        let s = g.intern(Op::Reduce(Reduction::Sum, a));
        assert_eq!(g.shape(s), Shape::Scalar);
    }

    #[test]
    fn display_recognises_softmax_and_parenthesises() {
        let mut g = sample_graph();
        let z = g.intern(Op::Input(InputId(0)));
        let lse = g.intern(Op::Reduce(Reduction::LogSumExp, z));
        let centred = g.intern(Op::Binary(Binary::Sub, z, lse));
        let p = g.intern(Op::Unary(Unary::Exp, centred));
        let hot = g.intern(Op::OneHot(InputId(1)));
        let grad = g.intern(Op::Binary(Binary::Sub, p, hot));
        assert_eq!(g.display(grad).to_string(), "softmax(z) - onehot(y)");
        let t = g.intern(Op::Input(InputId(2)));
        let scaled = g.intern(Op::Binary(Binary::Mul, t, grad));
        assert_eq!(
            g.display(scaled).to_string(),
            "t * (softmax(z) - onehot(y))"
        );
    }

    #[test]
    fn display_groups_as_the_expression_and_reads_negated_terms_as_differences() {
        let mut g = sample_graph();
        let z = g.intern(Op::Input(InputId(0)));
        let t = g.intern(Op::Input(InputId(2)));
        let e = g.intern(Op::Unary(Unary::Exp, z));
        let show = |g: &Graph, n: NodeId| g.display(n).to_string();
        // Right-nested products and sums keep their parentheses.
        let te = g.intern(Op::Binary(Binary::Mul, t, e));
        let nested = g.intern(Op::Binary(Binary::Mul, z, te));
        assert_eq!(show(&g, nested), "z * (t * exp(z))");
        // (Interning orders a product's operands by id: this is `e (t z)`.)
        let zt = g.intern(Op::Binary(Binary::Mul, z, t));
        let other = g.intern(Op::Binary(Binary::Mul, zt, e));
        assert_eq!(show(&g, other), "exp(z) * (t * z)");
        let left = g.intern(Op::Binary(Binary::Div, zt, e));
        assert_eq!(show(&g, left), "t * z / exp(z)");
        let diff = g.intern(Op::Binary(Binary::Sub, e, t));
        let sum = g.intern(Op::Binary(Binary::Add, z, diff));
        assert_eq!(show(&g, sum), "z + (exp(z) - t)");
        // x + (-k), x + (-k) y and x + (-v) read as differences.
        let minus_one = g.constant_node(-1.0);
        let shifted = g.intern(Op::Binary(Binary::Add, e, minus_one));
        assert_eq!(show(&g, shifted), "exp(z) - 1.0");
        let minus_half = g.constant_node(-0.5);
        let scaled = g.intern(Op::Binary(Binary::Mul, minus_half, e));
        let less = g.intern(Op::Binary(Binary::Add, z, scaled));
        assert_eq!(show(&g, less), "z - 0.5 * exp(z)");
        let negated = g.intern(Op::Unary(Unary::Neg, diff));
        let minus = g.intern(Op::Binary(Binary::Add, z, negated));
        assert_eq!(show(&g, minus), "z - (exp(z) - t)");
        // And x - (-k) y as x + k y.
        let plus = g.intern(Op::Binary(Binary::Sub, z, scaled));
        assert_eq!(show(&g, plus), "z + 0.5 * exp(z)");
        // A negative constant binds as a negation.
        let squared = g.intern(Op::Powi(minus_half, 2));
        assert_eq!(show(&g, squared), "(-0.5).powi(2)");
    }

    #[test]
    fn reachable_is_topological() {
        let mut g = sample_graph();
        let z = g.intern(Op::Input(InputId(0)));
        let unused = g.intern(Op::Input(InputId(2)));
        let e = g.intern(Op::Unary(Unary::Exp, z));
        let s = g.intern(Op::Reduce(Reduction::Sum, e));
        assert_eq!(g.reachable(&[s]), vec![z, e, s]);
        assert!(!g.reachable(&[s]).contains(&unused));
    }
}
