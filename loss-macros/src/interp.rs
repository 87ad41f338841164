//! A test-only interpreter of the IR, and the differential test it enables:
//! thousands of random well-typed loss expressions, each compiled through
//! the real pipeline, with the rewritten and expanded program checked
//! against the unoptimised one (value) and its symbolic gradient against
//! central differences of the unoptimised one.

use std::collections::HashMap;

use crate::ir::{Binary, Graph, InputKind, NodeId, Op, Reduction, Shape, Unary};

/// One sample's inputs: a row per vector input, a label per `Class`, a
/// number per scalar input.
#[derive(Clone, Debug)]
pub enum Arg {
    Row(Vec<f64>),
    Label(usize),
    Number(f64),
}

/// A node's value at one sample.
#[derive(Clone, Debug)]
enum Val {
    S(f64),
    V(Vec<f64>),
}

impl Val {
    fn at(&self, j: usize) -> f64 {
        match self {
            Val::S(x) => *x,
            Val::V(v) => v[j],
        }
    }
}

/// Evaluates `roots` of `g` at `args` (indexed like `g.inputs`), in `f64`.
pub fn eval(g: &Graph, roots: &[NodeId], args: &[Arg]) -> Vec<Vec<f64>> {
    let mut vals: HashMap<NodeId, Val> = HashMap::new();
    for n in g.reachable(roots) {
        let v = eval_node(g, n, args, &vals);
        vals.insert(n, v);
    }
    roots
        .iter()
        .map(|r| match &vals[r] {
            Val::S(x) => vec![*x],
            Val::V(v) => v.clone(),
        })
        .collect()
}

fn label(args: &[Arg], i: crate::ir::InputId) -> usize {
    match args[i.0 as usize] {
        Arg::Label(y) => y,
        _ => panic!("input {} is not a label", i.0),
    }
}

fn eval_node(g: &Graph, n: NodeId, args: &[Arg], vals: &HashMap<NodeId, Val>) -> Val {
    let width = |d: crate::ir::DimId| {
        g.inputs
            .iter()
            .zip(args)
            .find_map(|(inp, a)| match (inp.kind, a) {
                (InputKind::Vector(e) | InputKind::Weights(e), Arg::Row(r)) if e == d => {
                    Some(r.len())
                }
                _ => None,
            })
            .expect("every dim has a row")
    };
    let map = |x: &Val, f: &dyn Fn(f64) -> f64| match x {
        Val::S(a) => Val::S(f(*a)),
        Val::V(v) => Val::V(v.iter().map(|&a| f(a)).collect()),
    };
    let zip = |x: &Val, y: &Val, f: &dyn Fn(f64, f64) -> f64, shape: Shape| match shape {
        Shape::Scalar => Val::S(f(x.at(0), y.at(0))),
        Shape::Vector(d) => Val::V((0..width(d)).map(|j| f(x.at(j), y.at(j))).collect()),
    };
    match g.op(n) {
        Op::Const(bits) => Val::S(f64::from_bits(bits)),
        Op::Input(i) => match &args[i.0 as usize] {
            Arg::Row(r) => Val::V(r.clone()),
            Arg::Number(x) => Val::S(*x),
            Arg::Label(_) => panic!("a label used as a number"),
        },
        Op::DimLen(d) => Val::S(width(d) as f64),
        Op::OneHot(y) => {
            let Shape::Vector(d) = g.shape(n) else {
                unreachable!()
            };
            let y = label(args, y);
            Val::V(
                (0..width(d))
                    .map(|j| if j == y { 1.0 } else { 0.0 })
                    .collect(),
            )
        }
        Op::Unary(u, a) => {
            let f: &dyn Fn(f64) -> f64 = match u {
                Unary::Neg => &|x| -x,
                Unary::Exp => &f64::exp,
                Unary::Ln => &f64::ln,
                Unary::Log1p => &f64::ln_1p,
                Unary::Expm1 => &f64::exp_m1,
                Unary::Sqrt => &f64::sqrt,
                Unary::Abs => &f64::abs,
                Unary::Sign => &|x| {
                    if x > 0.0 {
                        1.0
                    } else if x < 0.0 {
                        -1.0
                    } else {
                        x
                    }
                },
                Unary::Sigmoid => &|x| 1.0 / (1.0 + (-x).exp()),
                Unary::Softplus => &|x| x.max(0.0) + (-x.abs()).exp().ln_1p(),
                Unary::Tanh => &f64::tanh,
                Unary::Recip => &|x| 1.0 / x,
                Unary::FiniteOrZero => &|x| if x.is_finite() { x + 0.0 } else { 0.0 },
                Unary::Detach => &|x| x,
            };
            map(&vals[&a], f)
        }
        Op::Binary(b, x, y) => {
            let f: &dyn Fn(f64, f64) -> f64 = match b {
                Binary::Add => &|a, b| a + b,
                Binary::Sub => &|a, b| a - b,
                Binary::Mul => &|a, b| a * b,
                Binary::Div => &|a, b| a / b,
                Binary::Max => &|a, b| {
                    if a.is_nan() || b.is_nan() {
                        f64::NAN
                    } else {
                        a.max(b)
                    }
                },
                Binary::Min => &|a, b| {
                    if a.is_nan() || b.is_nan() {
                        f64::NAN
                    } else {
                        a.min(b)
                    }
                },
                Binary::Pow => &f64::powf,
                Binary::Xlogy => &|a, b| if a == 0.0 { 0.0 } else { a * b.ln() },
                Binary::Xdivy => &|a, b| if a == 0.0 { 0.0 } else { a / b },
                Binary::Gt => &|a, b| f64::from(u8::from(a > b)),
                Binary::Ge => &|a, b| f64::from(u8::from(a >= b)),
                Binary::Eq => &|a, b| f64::from(u8::from(a == b)),
                Binary::ExpDiff => &|a, b| (a - b).exp(),
            };
            zip(&vals[&x], &vals[&y], f, g.shape(n))
        }
        Op::Powi(a, k) => map(&vals[&a], &|x| x.powi(k)),
        Op::Reduce(r, a) => {
            let Val::V(v) = &vals[&a] else {
                panic!("a reduction of a scalar")
            };
            Val::S(match r {
                Reduction::Sum => v.iter().sum(),
                Reduction::Max => v.iter().copied().fold(f64::NEG_INFINITY, |m, x| {
                    if x.is_nan() || m.is_nan() {
                        f64::NAN
                    } else {
                        m.max(x)
                    }
                }),
                Reduction::ShiftMax => v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                Reduction::LogSumExp => {
                    let m = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    m + v.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
                }
            })
        }
        Op::Index(v, y) => Val::S(vals[&v].at(label(args, y))),
        Op::Select(c, a, b) => {
            let shape = g.shape(n);
            let (c, a, b) = (&vals[&c], &vals[&a], &vals[&b]);
            match shape {
                Shape::Scalar => Val::S(if c.at(0) != 0.0 { a.at(0) } else { b.at(0) }),
                Shape::Vector(d) => Val::V(
                    (0..width(d))
                        .map(|j| if c.at(j) != 0.0 { a.at(j) } else { b.at(j) })
                        .collect(),
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::Compiled;
    use crate::errors::Errors;
    use crate::{lower, parse};

    /// SplitMix64.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
            lo + (hi - lo) * ((self.next() >> 11) as f64 / (1u64 << 53) as f64)
        }
    }

    /// The signature every random program shares.
    const SIGNATURE: &str =
        "#[grad] a: Vector<C>, #[grad] b: Vector<C>, y: Class<C>, #[grad] s: PerSample, #[grad] t: Scalar, #[grad] u: Vector<D>";

    /// A random scalar expression (DSL source) of at most `depth` levels.
    /// Functions with a restricted domain get arguments inside it; the
    /// result stays moderate so that the comparisons are well-conditioned.
    fn scalar(rng: &mut Rng, depth: u32) -> String {
        if depth == 0 {
            return match rng.below(5) {
                0 => "s".into(),
                1 => "t".into(),
                2 => format!("{:.3}", rng.uniform(-2.0, 2.0)),
                3 => "a[y]".into(),
                _ => "b[y]".into(),
            };
        }
        let d = depth - 1;
        match rng.below(16) {
            0 => format!("({} + {})", scalar(rng, d), scalar(rng, d)),
            1 => format!("({} - {})", scalar(rng, d), scalar(rng, d)),
            2 => format!("({} * {})", scalar(rng, d), scalar(rng, d)),
            3 => format!("({} / (1.5 + sigmoid({})))", scalar(rng, d), scalar(rng, d)),
            4 => format!("tanh({})", scalar(rng, d)),
            5 => format!("sigmoid({})", scalar(rng, d)),
            6 => format!("softplus({})", scalar(rng, d)),
            7 => format!("ln(1.0 + {}.powi(2))", scalar(rng, d)),
            8 => format!("sqrt({}.powi(2) + 0.5)", scalar(rng, d)),
            9 => format!("sum({})", vector(rng, d)),
            10 => format!("mean({})", vector(rng, d)),
            11 => format!("logsumexp({})", vector(rng, d)),
            12 => format!("cross_entropy({}, y)", vector(rng, d)),
            13 => format!("log_softmax({})[y]", vector(rng, d)),
            14 => format!("sum(u * {})", scalar(rng, d)),
            _ => format!("exp(tanh({}))", scalar(rng, d)),
        }
    }

    /// A random `Vector<C>` expression.
    fn vector(rng: &mut Rng, depth: u32) -> String {
        if depth == 0 {
            return if rng.below(2) == 0 {
                "a".into()
            } else {
                "b".into()
            };
        }
        let d = depth - 1;
        match rng.below(12) {
            0 => format!("({} + {})", vector(rng, d), vector(rng, d)),
            1 => format!("({} - {})", vector(rng, d), scalar(rng, d)),
            2 => format!("({} * {})", vector(rng, d), vector(rng, d)),
            3 => format!("({} * {})", scalar(rng, d), vector(rng, d)),
            4 => format!("softmax({})", vector(rng, d)),
            5 => format!("log_softmax({})", vector(rng, d)),
            6 => format!("tanh({})", vector(rng, d)),
            7 => format!("softplus({})", vector(rng, d)),
            8 => format!("exp(tanh({}))", vector(rng, d)),
            9 => format!("({} * onehot(y))", vector(rng, d)),
            10 => format!(
                "binary_cross_entropy_with_logits({}, sigmoid(b))",
                vector(rng, d)
            ),
            _ => format!(
                "(({}) / (1.0 + {}.powi(2)))",
                vector(rng, d),
                scalar(rng, d)
            ),
        }
    }

    fn compile(source: &str) -> Option<(lower::Lowered, Compiled)> {
        let tokens: proc_macro2::TokenStream = source.parse().ok()?;
        let decls = parse::parse(tokens).ok()?;
        let errors = Errors::new();
        let lowered = lower::lower(&decls.items[0], &errors);
        // Programs that leave an input unused are rejected; skip them.
        errors.finish().ok()?;
        let lowered = lowered?;
        let compiled = Compiled::new(&lowered);
        Some((lowered, compiled))
    }

    fn args(rng: &mut Rng, c: usize, d: usize) -> Vec<Arg> {
        vec![
            Arg::Row((0..c).map(|_| rng.uniform(-3.0, 3.0)).collect()),
            Arg::Row((0..c).map(|_| rng.uniform(-3.0, 3.0)).collect()),
            Arg::Label(rng.below(c as u64) as usize),
            Arg::Number(rng.uniform(-1.5, 1.5)),
            Arg::Number(rng.uniform(-1.5, 1.5)),
            Arg::Row((0..d).map(|_| rng.uniform(-1.0, 1.0)).collect()),
        ]
    }

    /// The `#[grad]` coordinates of `args`, flattened (a, b, s, t, u).
    fn flatten(args: &[Arg]) -> Vec<f64> {
        let mut out = Vec::new();
        for (k, a) in args.iter().enumerate() {
            match a {
                Arg::Row(r) => out.extend(r),
                Arg::Number(x) => out.push(*x),
                Arg::Label(_) => {}
            }
            let _ = k;
        }
        out
    }

    fn unflatten(args: &[Arg], x: &[f64]) -> Vec<Arg> {
        let mut at = 0;
        args.iter()
            .map(|a| match a {
                Arg::Row(r) => {
                    let row = x[at..at + r.len()].to_vec();
                    at += r.len();
                    Arg::Row(row)
                }
                Arg::Number(_) => {
                    at += 1;
                    Arg::Number(x[at - 1])
                }
                Arg::Label(y) => Arg::Label(*y),
            })
            .collect()
    }

    #[test]
    fn random_programs_compile_to_what_they_say() {
        let mut rng = Rng(0xd1ff);
        let (mut programs, mut points, mut skipped) = (0, 0, 0);
        for _ in 0..1500 {
            let depth = 1 + rng.below(4) as u32;
            let body = format!(
                "{} + 0.0 * (s + t + a[y] + b[y] + sum(u))",
                scalar(&mut rng, depth)
            );
            let source = format!("fn f({SIGNATURE}) {{ {body} }}");
            let Some((lowered, compiled)) = compile(&source) else {
                panic!("does not compile: {source}")
            };
            programs += 1;
            for _ in 0..3 {
                let (c, d) = (1 + rng.below(6) as usize, 1 + rng.below(3) as usize);
                let args = args(&mut rng, c, d);
                let plain = eval(&lowered.graph, &[lowered.value], &args)[0][0];
                if !plain.is_finite() || plain.abs() > 1e6 {
                    skipped += 1;
                    continue;
                }
                let mut roots = vec![compiled.value];
                roots.extend(compiled.grads.iter().map(|&(_, n)| n));
                let fast = eval(&compiled.fast, &roots, &args);
                assert!(
                    (fast[0][0] - plain).abs() <= 1e-9 * plain.abs().max(1.0),
                    "{source}\nvalue {} vs unoptimised {plain} at {args:?}",
                    fast[0][0]
                );
                // The gradient in the order of the #[grad] inputs: a, b, s, t, u.
                let grad: Vec<f64> = fast[1..]
                    .iter()
                    .zip(&compiled.grads)
                    .flat_map(|(g, &(i, _))| {
                        // A vector input's adjoint may be scalar-shaped (broadcast).
                        let len = match &args[i.0 as usize] {
                            Arg::Row(r) => r.len(),
                            _ => 1,
                        };
                        if g.len() == 1 {
                            vec![g[0]; len]
                        } else {
                            g.clone()
                        }
                    })
                    .collect();
                let x = flatten(&args);
                let f =
                    |x: &[f64]| eval(&lowered.graph, &[lowered.value], &unflatten(&args, x))[0][0];
                let scale = grad.iter().fold(1.0_f64, |m, g| m.max(g.abs()));
                for k in 0..x.len() {
                    let diff = |h: f64| {
                        let (mut p, mut m) = (x.clone(), x.clone());
                        p[k] += h;
                        m[k] -= h;
                        (f(&p) - f(&m)) / (2.0 * h)
                    };
                    let (d1, d2) = (diff(1e-4), diff(5e-5));
                    // Richardson: the O(h²) error cancels.
                    let fd = (4.0 * d2 - d1) / 3.0;
                    if (d1 - d2).abs() > 1e-3 * scale {
                        continue; // a kink or steep region: differences mean nothing here
                    }
                    assert!(
                        (grad[k] - fd).abs() <= 1e-6 * scale,
                        "{source}\ncoordinate {k}: symbolic {} vs finite differences {fd} at {args:?}",
                        grad[k]
                    );
                }
                points += 1;
            }
        }
        println!(
            "{programs} random programs, {points} inputs checked, {skipped} skipped (non-finite)"
        );
        assert!(points > 3000, "too few inputs were checked: {points}");
    }
}
