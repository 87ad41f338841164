//! A test-only interpreter of the IR, and the differential test it enables:
//! thousands of random well-typed loss expressions, each compiled through
//! the real pipeline (one in four through the whole macro, which must give
//! code), with the rewritten and expanded program checked against the
//! unoptimised one (value) and its symbolic gradient against central
//! differences of the unoptimised one; and, in `f32`, that an output the
//! logits' shift by ±1e4 leaves unchanged stays as accurate as without it.
//! Ten programs of the two grammars go further, into Rust: their
//! declarations and the interpreter's values are a fixture
//! (`loss-core/tests/emitted/`) against which `loss-core` runs the code the
//! macro emits for them (`loss-core/tests/emitted_programs.rs`).

use std::collections::HashMap;

use num_traits::Float;

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
enum Val<F> {
    S(F),
    V(Vec<F>),
}

impl<F: Float> Val<F> {
    fn at(&self, j: usize) -> F {
        match self {
            Val::S(x) => *x,
            Val::V(v) => v[j],
        }
    }
}

/// Evaluates `roots` of `g` at `args` (indexed like `g.inputs`), every
/// operation rounded to `F` (`f64` or `f32`; the inputs and constants are
/// rounded to `F` first).
pub fn eval<F: Float>(g: &Graph, roots: &[NodeId], args: &[Arg]) -> Vec<Vec<F>> {
    let mut vals: HashMap<NodeId, Val<F>> = HashMap::new();
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

/// `e^x - 1 - x`: its series term by term below `|x| = 1/2` (no
/// cancellation), `expm1(x) - x` above (a cancellation of at most 4.4).
fn expm1mx<F: Float>(x: F) -> F {
    let half = real::<F>(0.5);
    if x.abs() >= half {
        return if x == F::infinity() {
            x
        } else {
            x.exp_m1() - x
        };
    }
    let (mut term, mut sum) = (x * x * half, F::zero());
    for n in 3..40 {
        sum = sum + term;
        term = term * x / real(f64::from(n));
    }
    sum
}

/// `x` rounded to `F`.
fn real<F: Float>(x: f64) -> F {
    F::from(x).expect("every float converts")
}

fn eval_node<F: Float>(
    g: &Graph,
    n: NodeId,
    args: &[Arg],
    vals: &HashMap<NodeId, Val<F>>,
) -> Val<F> {
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
    let map = |x: &Val<F>, f: &dyn Fn(F) -> F| match x {
        Val::S(a) => Val::S(f(*a)),
        Val::V(v) => Val::V(v.iter().map(|&a| f(a)).collect()),
    };
    let zip = |x: &Val<F>, y: &Val<F>, f: &dyn Fn(F, F) -> F, shape: Shape| match shape {
        Shape::Scalar => Val::S(f(x.at(0), y.at(0))),
        Shape::Vector(d) => Val::V((0..width(d)).map(|j| f(x.at(j), y.at(j))).collect()),
    };
    let (zero, one) = (F::zero(), F::one());
    let truth = |b: bool| if b { one } else { zero };
    // NaN wins, as in the runtime's max and min.
    let nan_or = |a: F, b: F, m: F| {
        if a.is_nan() || b.is_nan() {
            F::nan()
        } else {
            m
        }
    };
    match g.op(n) {
        Op::Const(bits) => Val::S(real(f64::from_bits(bits))),
        Op::Input(i) => match &args[i.0 as usize] {
            Arg::Row(r) => Val::V(r.iter().map(|&x| real(x)).collect()),
            Arg::Number(x) => Val::S(real(*x)),
            Arg::Label(_) => panic!("a label used as a number"),
        },
        Op::DimLen(d) => Val::S(real(width(d) as f64)),
        Op::OneHot(y) => {
            let Shape::Vector(d) = g.shape(n) else {
                unreachable!()
            };
            let y = label(args, y);
            Val::V((0..width(d)).map(|j| truth(j == y)).collect())
        }
        Op::Unary(u, a) => {
            let f: &dyn Fn(F) -> F = match u {
                Unary::Neg => &|x| -x,
                Unary::Exp => &F::exp,
                Unary::Ln => &F::ln,
                Unary::Log1p => &F::ln_1p,
                Unary::Expm1 => &F::exp_m1,
                Unary::Expm1mx => &expm1mx,
                Unary::Sqrt => &F::sqrt,
                Unary::Abs => &F::abs,
                Unary::Sign => &|x| {
                    if x > zero {
                        one
                    } else if x < zero {
                        -one
                    } else {
                        x
                    }
                },
                Unary::Sigmoid => &|x| one / (one + (-x).exp()),
                Unary::Softplus => &|x| x.max(zero) + (-x.abs()).exp().ln_1p(),
                Unary::Tanh => &F::tanh,
                Unary::Recip => &|x| one / x,
                Unary::FiniteOrZero => &|x| if x.is_finite() { x + zero } else { zero },
                Unary::Detach => &|x| x,
            };
            map(&vals[&a], f)
        }
        Op::Binary(b, x, y) => {
            let f: &dyn Fn(F, F) -> F = match b {
                Binary::Add => &|a, b| a + b,
                Binary::Sub => &|a, b| a - b,
                Binary::Mul => &|a, b| a * b,
                Binary::Div => &|a, b| a / b,
                Binary::Max => &|a, b| nan_or(a, b, a.max(b)),
                Binary::Min => &|a, b| nan_or(a, b, a.min(b)),
                Binary::Pow => &F::powf,
                Binary::Xlogy => &|a, b| if a == zero { zero } else { a * b.ln() },
                Binary::Xdivy => &|a, b| if a == zero { zero } else { a / b },
                Binary::Gt => &|a, b| truth(a > b),
                Binary::Ge => &|a, b| truth(a >= b),
                Binary::Eq => &|a, b| truth(a == b),
                Binary::ExpDiff => &|a, b| (a - b).exp(),
            };
            zip(&vals[&x], &vals[&y], f, g.shape(n))
        }
        Op::Powi(a, k) => map(&vals[&a], &|x| x.powi(k)),
        Op::Reduce(r, a) => {
            let Val::V(v) = &vals[&a] else {
                panic!("a reduction of a scalar")
            };
            let max = |v: &[F]| v.iter().fold(F::neg_infinity(), |m, &x| m.max(x));
            Val::S(match r {
                Reduction::Sum => v.iter().fold(zero, |s, &x| s + x),
                Reduction::Max => v
                    .iter()
                    .fold(F::neg_infinity(), |m, &x| nan_or(m, x, m.max(x))),
                Reduction::ShiftMax => max(v),
                Reduction::LogSumExp => {
                    let m = max(v);
                    m + v.iter().fold(zero, |s, &x| s + (x - m).exp()).ln()
                }
            })
        }
        Op::Index(v, y) => Val::S(vals[&v].at(label(args, y))),
        Op::Select(c, a, b) => {
            let shape = g.shape(n);
            let (c, a, b) = (&vals[&c], &vals[&a], &vals[&b]);
            let pick = |j: usize| if c.at(j) != zero { a.at(j) } else { b.at(j) };
            match shape {
                Shape::Scalar => Val::S(pick(0)),
                Shape::Vector(d) => Val::V((0..width(d)).map(pick).collect()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::{self, Compiled};
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

    /// How many random programs a differential test draws, from which seed,
    /// and how deep they nest at most: the test's own choice, or
    /// `LOSS_FUZZ_SEED`, `LOSS_FUZZ_PROGRAMS` and `LOSS_FUZZ_DEPTH`
    /// (decimal, or hex after `0x`) for a longer run, e.g. `LOSS_FUZZ_SEED=0xcafe
    /// LOSS_FUZZ_PROGRAMS=20000 LOSS_FUZZ_DEPTH=6 cargo test --release -p
    /// loss-macros --lib random_programs`.
    struct Runs {
        seed: u64,
        programs: usize,
        depth: u64,
    }

    impl Runs {
        fn from_env(seed: u64, programs: usize, depth: u64) -> Runs {
            fn var<T: TryFrom<u64>>(name: &str) -> Option<T> {
                let text = std::env::var(name).ok()?;
                let number = match text.strip_prefix("0x") {
                    Some(hex) => u64::from_str_radix(hex, 16).ok(),
                    None => text.parse().ok(),
                };
                let number = number.and_then(|n| T::try_from(n).ok());
                assert!(number.is_some(), "{name}={text} is not a number");
                number
            }
            let runs = Runs {
                seed: var("LOSS_FUZZ_SEED").unwrap_or(seed),
                programs: var("LOSS_FUZZ_PROGRAMS").unwrap_or(programs),
                depth: var("LOSS_FUZZ_DEPTH").unwrap_or(depth).max(1),
            };
            println!(
                "seed {:#x}, {} programs, depth up to {}",
                runs.seed, runs.programs, runs.depth
            );
            runs
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
                // In parentheses: `-1.000.powi(2)` is `-(1.000.powi(2))`.
                2 => format!("({:.3})", rng.uniform(-2.0, 2.0)),
                3 => "a[y]".into(),
                _ => "b[y]".into(),
            };
        }
        let d = depth - 1;
        match rng.below(19) {
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
            15 => format!("exp(tanh({}))", scalar(rng, d)),
            16 => {
                let t = format!("tanh({})", scalar(rng, d));
                near_exp_rule(rng, &t)
            }
            17 => {
                let (x, y) = (scalar(rng, d), scalar(rng, d));
                near_log_rule(rng, &x, &y)
            }
            _ => {
                let (v, w) = (vector(rng, d), vector(rng, d));
                near_softmax_rule(rng, &v, &w)
            }
        }
    }

    /// A scalar in the shape of the simplifier's rules on `exp(t)`, `|t| <
    /// 1`: the shapes they rewrite (`expm1`, `expm1mx`, scaled or in
    /// another order) and shapes next to them that they must leave alone (a
    /// product or a quotient in place of the sum, another constant, another
    /// sign, another scale). `exp(t) (t + 1)` once compiled to `expm1mx(t)`.
    fn near_exp_rule(rng: &mut Rng, t: &str) -> String {
        let e = format!("exp({t})");
        match rng.below(12) {
            0 => format!("({e} - 1.0)"),
            1 => format!("({e} - 1.0 - {t})"),
            2 => format!("(1.5 * {e} - 1.5 * {t} - 1.5)"),
            3 => format!("(1.0 + {t} - {e})"),
            4 => format!("(expm1({t}) - {t})"),
            5 => format!("({e} * ({t} + 1.0))"),
            6 => format!("({e} / (2.0 + {t}))"),
            7 => format!("({e} - 1.0 + {t})"),
            8 => format!("(2.0 * {e} - 1.0 - {t})"),
            9 => format!("({e} - {t} - 2.0)"),
            10 => format!("({e} - 1.0 - 2.0 * {t})"),
            _ => format!("(ln({e}) + exp(ln(1.5 + {t})))"),
        }
    }

    /// A scalar in the shape of the rules on logarithms of `1 + x`, of a
    /// sigmoid and of `xlogy`, or next to them (`ln(2 + x)`, `ln(1 - x)`).
    /// The sigmoids' arguments stay within 2 of 0: further out, `1 -
    /// sigmoid(x)` cancels in the unoptimised program, whose differences
    /// then stop being a reference for the rewritten one.
    fn near_log_rule(rng: &mut Rng, x: &str, y: &str) -> String {
        let (sx, sy) = (
            format!("sigmoid(2.0 * tanh({x}))"),
            format!("sigmoid(2.0 * tanh({y}))"),
        );
        match rng.below(10) {
            0 => format!("ln(1.0 + {sx})"),
            1 => format!("ln({sx} + 1.0)"),
            2 => format!("ln(1.0 - {sx})"),
            3 => format!("ln(2.0 + {sx})"),
            4 => format!("ln({sx})"),
            5 => format!("(1.0 - {sx})"),
            6 => format!("log1p(-{sx})"),
            7 => format!("log1p(exp(tanh({x})))"),
            8 => format!("xlogy({sx}, {sy})"),
            _ => format!("xlogy({sx}, exp(tanh({y})))"),
        }
    }

    /// A scalar in the shape of the rules on softmaxes: the log of a
    /// softmax, KL between two (a distillation's, with a temperature), the
    /// cross-entropy against soft labels, whose gradients take the
    /// cancellation-free `c - s softmax(x)` forms.
    fn near_softmax_rule(rng: &mut Rng, v: &str, w: &str) -> String {
        match rng.below(7) {
            0 => format!("sum(ln(softmax({v})))"),
            1 => format!("kl_div(softmax({v}), softmax({w}))"),
            2 => format!("(t.powi(2) * kl_div(softmax({v} / 2.0), softmax({w} / 2.0)))"),
            3 => format!("sum(-softmax({v}) * log_softmax({w}))"),
            4 => format!("sum(softmax({v}) * ln(softmax({v})))"),
            5 => format!("sum(xlogy(softmax({v}), softmax({w})))"),
            _ => format!("sum(xlogy(softmax({v}), exp(tanh({w}))))"),
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
        match rng.below(14) {
            0 => format!("({} + {})", vector(rng, d), vector(rng, d)),
            12 => format!("({} - {})", vector(rng, d), vector(rng, d)),
            // Terms that cancel once expanded.
            13 => {
                let v = vector(rng, d);
                format!("(2.0 * {v} - {v} - {v})")
            }
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

    /// `source` lowered and compiled; and with `emit`, expanded by the whole
    /// macro too, which must give code, not one of its internal errors
    /// (emitting the kernels takes most of the time, so the differential
    /// test asks for it on one program in four).
    fn compile(source: &str, emit: bool) -> Option<(lower::Lowered, Compiled)> {
        let tokens: proc_macro2::TokenStream = source.parse().ok()?;
        let decls = parse::parse(tokens).ok()?;
        let errors = Errors::new();
        let lowered = lower::lower(&decls.items[0], &errors);
        // Programs that leave an input unused are rejected; skip them.
        errors.finish().ok()?;
        let lowered = lowered?;
        let compiled = Compiled::new(&lowered);
        if emit {
            if let Err(e) = compile::declaration(&decls.items[0]) {
                panic!("{source}\n{e}");
            }
        }
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
        let runs = Runs::from_env(0xd1ff, 1500, 4);
        let mut rng = Rng(runs.seed);
        let (mut programs, mut points, mut skipped) = (0, 0, 0);
        for _ in 0..runs.programs {
            let depth = 1 + rng.below(runs.depth) as u32;
            let body = format!(
                "{} + 0.0 * (s + t + a[y] + b[y] + sum(u))",
                scalar(&mut rng, depth)
            );
            let source = format!("fn f({SIGNATURE}) {{ {body} }}");
            let Some((lowered, compiled)) = compile(&source, programs % 4 == 0) else {
                panic!("does not compile: {source}")
            };
            programs += 1;
            for _ in 0..3 {
                let (c, d) = (1 + rng.below(6) as usize, 1 + rng.below(3) as usize);
                let args = args(&mut rng, c, d);
                let plain: f64 = eval(&lowered.graph, &[lowered.value], &args)[0][0];
                if !plain.is_finite() || plain.abs() > 1e6 {
                    skipped += 1;
                    continue;
                }
                let mut roots = vec![compiled.value];
                roots.extend(compiled.grads.iter().map(|&(_, n)| n));
                let fast = eval::<f64>(&compiled.fast, &roots, &args);
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
                let f = |x: &[f64]| {
                    eval::<f64>(&lowered.graph, &[lowered.value], &unflatten(&args, x))[0][0]
                };
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
        assert!(
            points > 2 * runs.programs,
            "too few inputs were checked: {points}"
        );
    }

    /// Logits built from `a` and `b` by operations that are exact on the
    /// grid of `on_grid`, shifted or not: sums, differences, doubling,
    /// halving.
    fn logits(rng: &mut Rng, depth: u32) -> Logits {
        if depth == 0 || rng.below(3) == 0 {
            return if rng.below(2) == 0 {
                Logits::new("a", 1.0, 0.0)
            } else {
                Logits::new("b", 0.0, 1.0)
            };
        }
        let d = depth - 1;
        match rng.below(4) {
            0 => {
                let (x, y) = (logits(rng, d), logits(rng, d));
                Logits::new(format!("({} + {})", x.text, y.text), x.a + y.a, x.b + y.b)
            }
            1 => {
                let (x, y) = (logits(rng, d), logits(rng, d));
                Logits::new(format!("({} - {})", x.text, y.text), x.a - y.a, x.b - y.b)
            }
            2 => {
                let x = logits(rng, d);
                Logits::new(format!("(2.0 * {})", x.text), 2.0 * x.a, 2.0 * x.b)
            }
            _ => {
                let x = logits(rng, d);
                Logits::new(format!("({} / 2.0)", x.text), x.a / 2.0, x.b / 2.0)
            }
        }
    }

    /// A logits expression and how far it moves when `a` is shifted by 1 and
    /// when `b` is: two with the same moves keep their difference under any
    /// shift of `a` and `b`.
    struct Logits {
        text: String,
        a: f64,
        b: f64,
    }

    impl Logits {
        fn new(text: impl Into<String>, a: f64, b: f64) -> Logits {
            Logits {
                text: text.into(),
                a,
                b,
            }
        }
    }

    /// A scalar whose every use of the logits is invariant under their
    /// shift (the regression losses of two that move alike): the softmax
    /// family, the divergences, the cross-entropies, combined with the
    /// per-sample and scalar inputs. Shifted logits go only where the usual algorithm cancels the shift exactly: the
    /// gradient of `sum(softmax(z) * (z - w))`, say, is invariant too, but
    /// it subtracts a mean of shifted numbers, which rounds at their
    /// magnitude in any implementation.
    fn shift_invariant(rng: &mut Rng, depth: u32) -> String {
        if depth == 0 {
            let (first, other) = (logits(rng, 2), logits(rng, 2));
            // The second operand of a regression loss moves as the first:
            // the loss of two that move apart is not invariant, and a
            // product with a factor that vanishes at the point drawn
            // (`max(z) - z[y]` where `y` is the maximum, `js(p, p)`) would
            // pass the test's check of invariance in `f64` while its `f32`
            // terms grow with the shift.
            let alike = (0..16)
                .map(|_| logits(rng, 2))
                .find(|w| (w.a, w.b) == (first.a, first.b))
                .map_or_else(
                    || format!("({0} / 2.0 + {0} / 2.0)", first.text),
                    |w| w.text,
                );
            let (z, w) = (first.text, other.text);
            return match rng.below(21) {
                0 => format!("cross_entropy({z}, y)"),
                1 => format!("log_softmax({z})[y]"),
                2 => format!("softmax({z})[y]"),
                3 => format!("(logsumexp({z}) - {z}[y])"),
                4 => format!("nll_loss(log_softmax({z}), y)"),
                5 => format!("kl_div(softmax({z}), softmax({w}))"),
                6 => format!("label_smoothed_cross_entropy({z}, y, 0.1)"),
                7 => format!("poly1_cross_entropy({z}, y, 0.5)"),
                8 => format!("entropy(softmax({z}))"),
                9 => format!("cross_entropy(log_softmax({z}) * softmax({w}), y)"),
                10 => format!("cross_entropy({z}, softmax({w}))"),
                11 => format!("js_divergence(softmax({z}), softmax({w}))"),
                12 => format!("multi_margin({z}, y, 1.0)"),
                13 => format!("mean(log_softmax({z}))"),
                14 => format!("sum(kl_div_log_input(log_softmax({z}), softmax({w})))"),
                15 => format!("(max({z}) - {z}[y])"),
                // Regression losses of a difference, of two logits that
                // move alike.
                16 => format!("mse({z}, {alike})"),
                17 => format!("sum(huber({z}, {alike}, 1.0))"),
                18 => format!("sum(smooth_l1({z}, {alike}, 0.5))"),
                19 => format!("sum(log_cosh({z}, {alike}))"),
                _ => format!("sum(l1({z}, {alike}))"),
            };
        }
        let d = depth - 1;
        match rng.below(6) {
            0 => format!(
                "({} + {})",
                shift_invariant(rng, d),
                shift_invariant(rng, d)
            ),
            1 => format!(
                "({} * {})",
                shift_invariant(rng, d),
                shift_invariant(rng, d)
            ),
            2 => format!("(s * {})", shift_invariant(rng, d)),
            3 => format!("tanh({} - t)", shift_invariant(rng, d)),
            4 => format!("softplus({})", shift_invariant(rng, d)),
            _ => shift_invariant(rng, d),
        }
    }

    /// `args` with `a` and `b` on a grid of 2^-6 (so that they stay exact,
    /// in `f32` too, when shifted by ±1e4 and put through `logits`), `a`
    /// shifted by `shift_a` and `b` by `shift_b`.
    fn on_grid(args: &[Arg], shift_a: f64, shift_b: f64) -> Vec<Arg> {
        let grid = |x: f64| (x * 64.0).round() / 64.0;
        args.iter()
            .enumerate()
            .map(|(k, a)| match (k, a) {
                (0 | 1, Arg::Row(r)) => {
                    let shift = if k == 0 { shift_a } else { shift_b };
                    Arg::Row(r.iter().map(|&x| grid(x) + shift).collect())
                }
                (_, Arg::Row(r)) => Arg::Row(r.iter().map(|&x| f64::from(x as f32)).collect()),
                (_, Arg::Number(x)) => Arg::Number(f64::from(*x as f32)),
                (_, Arg::Label(y)) => Arg::Label(*y),
            })
            .collect()
    }

    /// The largest difference between `v` and `exact`, element by element (a
    /// scalar-shaped `v` standing for every element).
    fn largest_error(v: &[f32], exact: &[f64]) -> f64 {
        exact.iter().enumerate().fold(0.0, |m, (j, &x)| {
            m.max((f64::from(v[j.min(v.len() - 1)]) - x).abs())
        })
    }

    /// In `f32`, an output that does not change when the logits are shifted
    /// by ±1e4 (a cross-entropy, a log-softmax element, a softmax, their
    /// gradients) must come out as accurate as without the shift: its error
    /// against the `f64` evaluation of the program `expand` and `factor` were
    /// given at most 4 times the unshifted one plus 16 ULP of its scale.
    /// The shifts and sums are exact (`on_grid`), so any loss comes from how
    /// the compiled program groups them: `(z - m) - l` subtracts the
    /// maximum exactly where `z - (m + l)` rounds `m + l` at 1e4. The first
    /// `factor` did the latter, and the test above, in `f64` within ±3,
    /// could not see it.
    #[test]
    fn shift_invariant_outputs_stay_accurate_in_f32_at_large_logits() {
        let runs = Runs::from_env(0xf32, 1500, 2);
        let mut rng = Rng(runs.seed);
        let (mut checked, mut skipped) = (0, 0);
        for _ in 0..runs.programs {
            let depth = rng.below(runs.depth + 1) as u32;
            let body = format!(
                "{} + 0.0 * (s + t + a[y] + b[y] + sum(u))",
                shift_invariant(&mut rng, depth)
            );
            let source = format!("fn f({SIGNATURE}) {{ {body} }}");
            let Some((lowered, compiled)) = compile(&source, false) else {
                panic!("does not compile: {source}")
            };
            let (given, given_roots, _) = compile::simplified(&lowered);
            let mut fast_roots = vec![compiled.value];
            fast_roots.extend(compiled.grads.iter().map(|&(_, n)| n));
            for _ in 0..3 {
                let (c, d) = (1 + rng.below(6) as usize, 1 + rng.below(3) as usize);
                let args = args(&mut rng, c, d);
                let large = if rng.below(2) == 0 { 1e4 } else { -1e4 };
                let (shift_a, shift_b) =
                    [(large, large), (large, 0.0), (0.0, large)][rng.below(3) as usize];
                let (near, far) = (on_grid(&args, 0.0, 0.0), on_grid(&args, shift_a, shift_b));
                let (exact_near, exact_far) = (
                    eval::<f64>(&given, &given_roots, &near),
                    eval::<f64>(&given, &given_roots, &far),
                );
                let usable =
                    |v: &Vec<Vec<f64>>| v.iter().flatten().all(|x| x.is_finite() && x.abs() < 1e6);
                if !usable(&exact_near) || !usable(&exact_far) {
                    skipped += 1;
                    continue;
                }
                let fast_near = eval::<f32>(&compiled.fast, &fast_roots, &near);
                let fast_far = eval::<f32>(&compiled.fast, &fast_roots, &far);
                for k in 0..exact_near.len() {
                    let scale = exact_near[k].iter().fold(1.0_f64, |m, x| m.max(x.abs()));
                    let shift_invariant = exact_near[k]
                        .iter()
                        .zip(&exact_far[k])
                        .all(|(x, y)| (x - y).abs() <= 1e-9 * scale);
                    if !shift_invariant {
                        continue;
                    }
                    let error_near = largest_error(&fast_near[k], &exact_near[k]);
                    let error_far = largest_error(&fast_far[k], &exact_far[k]);
                    let allowed = 4.0 * error_near + 16.0 * f64::from(f32::EPSILON) * scale;
                    assert!(
                        error_far <= allowed,
                        "{source}\noutput {k}: f32 error {error_far:e} with a shift of \
                         {shift_a}, {shift_b}, {error_near:e} without, exact {:?} at {far:?}",
                        exact_far[k]
                    );
                    checked += 1;
                }
            }
        }
        println!("{checked} shift-invariant outputs checked in f32, {skipped} inputs skipped");
        assert!(
            checked > 2 * runs.programs,
            "too few outputs were checked: {checked}"
        );
    }

    /// Where the emitted programs' files live: `loss-core/tests/emitted/`.
    fn emitted_dir() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../loss-core/tests/emitted")
    }

    /// A term of an emitted program in its shared weights `v: Weights<C>`:
    /// a weight per class read at the label (as a class-weighted loss does),
    /// or the whole row of weights against each sample's row, linearly or
    /// inside a softmax.
    fn weights_term(rng: &mut Rng) -> String {
        match rng.below(4) {
            0 => format!("sum(v * {})", vector(rng, 1)),
            1 => format!("(v[y] * {})", scalar(rng, 1)),
            2 => "sum(softmax(v + a) * b)".into(),
            _ => "(v[y] * cross_entropy(b, y))".into(),
        }
    }

    /// How a point's inputs are drawn from its seed, the same in
    /// `loss-core/tests/emitted_programs.rs` (`Point::draw`): `a` and `b`
    /// uniform in ±3 (`n × c` each), a label per row, `s` in ±1.5 per row,
    /// `t` in ±1.5, `u` in ±1 (`n × d`); then the weights of the rows'
    /// losses under `#[reduce(none)]` (`upstream`), in ±1; then the shared
    /// weights `v` in ±1 and the class weights `q` in 0.5–1.5 (`c` each, one
    /// row for the batch). The rows' args,
    /// the weights, and a checksum.
    fn point_args(seed: u64, n: usize, c: usize, d: usize) -> (Vec<Vec<Arg>>, Vec<f64>, f64) {
        let mut rng = Rng(seed);
        let mut draw =
            |len: usize, r: f64| -> Vec<f64> { (0..len).map(|_| rng.uniform(-r, r)).collect() };
        let (a, b) = (draw(n * c, 3.0), draw(n * c, 3.0));
        let y: Vec<usize> = (0..n).map(|_| rng.below(c as u64) as usize).collect();
        let s: Vec<f64> = (0..n).map(|_| rng.uniform(-1.5, 1.5)).collect();
        let t = rng.uniform(-1.5, 1.5);
        let u: Vec<f64> = (0..n * d).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let w: Vec<f64> = (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let v: Vec<f64> = (0..c).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let q: Vec<f64> = (0..c).map(|_| rng.uniform(0.5, 1.5)).collect();
        let rows = (0..n)
            .map(|i| {
                vec![
                    Arg::Row(a[i * c..(i + 1) * c].to_vec()),
                    Arg::Row(b[i * c..(i + 1) * c].to_vec()),
                    Arg::Label(y[i]),
                    Arg::Number(s[i]),
                    Arg::Number(t),
                    Arg::Row(u[i * d..(i + 1) * d].to_vec()),
                    Arg::Row(v.clone()),
                    Arg::Row(q.clone()),
                ]
            })
            .collect();
        // A check that both sides drew the same numbers.
        let check = a
            .iter()
            .chain(&b)
            .chain(&u)
            .chain(&w)
            .chain(&v)
            .chain(&q)
            .sum::<f64>()
            + t;
        (rows, w, check)
    }

    /// Random programs whose emitted Rust `loss-core` runs
    /// (`loss-core/tests/emitted_programs.rs`), so that the code the macro
    /// writes is under the differential test too, not only its graphs:
    /// `emitted/programs.rs`, their declarations, and `emitted/values.txt`,
    /// the unoptimised program's value (the interpreter's, summed over the
    /// rows) at `POINTS` points each: of short rows (the narrow kernel, in
    /// either layout) and long ones (the row kernel, its chunks and tail).
    ///
    /// The test checks that the committed files are what it draws, within
    /// 1e-12 for the values (the platform's `exp` and `ln` may differ in a
    /// last bit); `LOSS_WRITE_FIXTURES=1` writes them instead, after a
    /// change to the grammar.
    /// The points of each emitted program (`loss-core/tests/emitted_programs.rs`
    /// reads them all).
    const POINTS: usize = 5;

    #[test]
    fn emitted_program_fixtures_are_the_interpreters() {
        // Other programs, to run the emitted test on more of them: the
        // `LOSS_FUZZ_*` variables with `LOSS_WRITE_FIXTURES=1` (then `git
        // checkout loss-core/tests/emitted` to restore the suite's ten).
        let write = std::env::var_os("LOSS_WRITE_FIXTURES").is_some();
        let runs = match write {
            true => Runs::from_env(0xe1e7, 10, 3),
            false => Runs {
                seed: 0xe1e7,
                programs: 10,
                depth: 3,
            },
        };
        let mut rng = Rng(runs.seed);
        let (mut declarations, mut bodies, mut values) =
            (String::new(), String::new(), String::new());
        let (mut arms, mut grad_arms) = (String::new(), String::new());
        for k in 0..runs.programs {
            // A scalar of the grammar plus a reduction of vectors, so that
            // every program has passes over its rows; every third one of
            // the shift test's grammar instead, for the losses with kinks
            // and selects (margins, Huber, L1, the maximum).
            let depth = 1 + rng.below(runs.depth) as u32;
            let program = if k % 3 == 2 {
                shift_invariant(&mut rng, depth - 1)
            } else {
                let (v, w) = (vector(&mut rng, depth), vector(&mut rng, depth));
                let rows = match rng.below(4) {
                    0 => format!("sum({v})"),
                    1 => format!("logsumexp({v})"),
                    2 => format!("cross_entropy({v}, y)"),
                    _ => near_softmax_rule(&mut rng, &v, &w),
                };
                format!("{} + {rows}", scalar(&mut rng, depth - 1))
            };
            // And a term in the shared weights `v` (one row for the whole
            // batch, as class weights are), whose gradient every row adds to.
            let shared = weights_term(&mut rng);
            let body =
                format!("{program} + {shared} + 0.0 * (s + t + a[y] + b[y] + sum(u) + q[y])");
            // `q`: class weights that are not differentiated, for the
            // weighted mean's denominator.
            let signature = format!("{SIGNATURE}, #[grad] v: Weights<C>, q: Weights<C>");
            // The batch's reductions in turn, each grammar meeting each
            // (`(k + 2 (k / 3)) % 4`); `none`'s losses are summed with the
            // weights `upstream` (a vector-Jacobian product); the weighted
            // mean divides by the sum of the labels' class weights `q`.
            let reduce = ["sum", "mean", "none", "mean, denominator = q[y]"][(k + 2 * (k / 3)) % 4];
            let source = format!("#[reduce({reduce})] fn f({signature}) {{ {body} }}");
            let Some((lowered, _)) = compile(&source, true) else {
                panic!("does not compile: {source}")
            };
            declarations.push_str(&format!(
                "    #[reduce({reduce})]\n    pub fn p{k:02}({signature}) {{\n        {body}\n    }}\n"
            ));
            bodies.push_str(&format!("    {body:?},\n"));
            let (inputs, grads) = (
                "x.a(), x.b(), &x.y, &x.s, x.t, x.u(), &x.v, &x.q",
                "&mut g.a, &mut g.b, &mut g.s, &mut g.t, &mut g.u, &mut g.v",
            );
            if reduce == "none" {
                arms.push_str(&format!(
                    "        {k} => {{\n            let mut losses = vec![F::ZERO; x.n];\n            \
                     p{k:02}::value({inputs}, &mut losses)?;\n            \
                     Ok(weighted(&losses, &x.w))\n        }}\n"
                ));
                grad_arms.push_str(&format!(
                    "        {k} => {{\n            let mut losses = vec![F::ZERO; x.n];\n            \
                     p{k:02}::value_and_grad({inputs}, &mut losses, &x.w, {grads})?;\n            \
                     Ok(weighted(&losses, &x.w))\n        }}\n"
                ));
            } else {
                arms.push_str(&format!("        {k} => p{k:02}::value({inputs}),\n"));
                grad_arms.push_str(&format!(
                    "        {k} => p{k:02}::value_and_grad({inputs}, {grads}),\n"
                ));
            }
            // Two points in the narrow kernel's widths, two in the row
            // kernel's, with batches that fill a group of eight and leave
            // one part-full; and one of 16 to 40 rows of 9 to 16 numbers,
            // which at AVX-512 in f32 take the narrow kernel's row vectors.
            let mut drawn = 0;
            while drawn < POINTS {
                let c = match drawn {
                    0 => 1 + rng.below(12) as usize,
                    1 => 13 + rng.below(28) as usize,
                    2 => 41 + rng.below(24) as usize,
                    3 => 65 + rng.below(100) as usize,
                    _ => 9 + rng.below(8) as usize,
                };
                let n = match drawn {
                    4 => 16 + rng.below(25) as usize,
                    _ => 1 + rng.below(11) as usize,
                };
                let d = 1 + rng.below(4) as usize;
                let seed = rng.next();
                let (rows, upstream, check) = point_args(seed, n, c, d);
                let losses = rows
                    .iter()
                    .map(|args| eval::<f64>(&lowered.graph, &[lowered.value], args)[0][0]);
                let value: f64 = match (reduce, lowered.denominator) {
                    ("sum", _) => losses.sum(),
                    ("mean", _) => losses.sum::<f64>() / n as f64,
                    ("none", _) => losses.zip(&upstream).map(|(l, w)| l * w).sum(),
                    (_, Some(denominator)) => {
                        let of = |args: &Vec<Arg>| {
                            eval::<f64>(&lowered.graph, &[denominator], args)[0][0]
                        };
                        losses.sum::<f64>() / rows.iter().map(of).sum::<f64>()
                    }
                    _ => unreachable!("a weighted mean has a denominator"),
                };
                if !value.is_finite() || value.abs() > 1e6 {
                    continue;
                }
                values.push_str(&format!(
                    "p{k:02} seed={seed:#018x} n={n} c={c} d={d} check={check:e} value={value:e}\n"
                ));
                drawn += 1;
            }
        }
        let programs = emitted_source(runs.programs, &declarations, &bodies, &arms, &grad_arms);
        let dir = emitted_dir();
        let (programs_path, values_path) = (dir.join("programs.rs"), dir.join("values.txt"));
        if write {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&programs_path, programs).unwrap();
            std::fs::write(&values_path, values).unwrap();
            return;
        }
        check_fixture(&programs_path, &programs, &values_path, &values);
    }

    /// The Rust of `emitted/programs.rs`: the `count` declarations, their
    /// bodies, and `value` and `value_and_grad` by a program's index.
    fn emitted_source(
        count: usize,
        declarations: &str,
        bodies: &str,
        arms: &str,
        grad_arms: &str,
    ) -> String {
        format!(
            "// The random programs of `emitted_programs.rs`, drawn by\n\
             // `loss-macros/src/interp.rs` (`emitted_program_fixtures_are_the_interpreters`):\n\
             // do not edit; `LOSS_WRITE_FIXTURES=1 cargo test -p loss-macros --lib emitted`\n\
             // writes them again.\n\n\
             loss_core::loss! {{\n{declarations}}}\n\n\
             /// Their bodies, in order.\n\
             pub const BODIES: [&str; {count}] = [\n{bodies}];\n\n\
             /// Program `k`'s value at `x`.\n\
             pub fn value<F: loss_core::Float>(k: usize, x: &Point<F>) -> Result<F, loss_core::LossError> {{\n    \
             match k {{\n{arms}        _ => unreachable!(\"{count} programs\"),\n    }}\n}}\n\n\
             /// Program `k`'s value at `x`, and its gradient into `g`.\n\
             pub fn value_and_grad<F: loss_core::Float>(\n    k: usize,\n    x: &Point<F>,\n    g: &mut Grads<F>,\n\
             ) -> Result<F, loss_core::LossError> {{\n    \
             match k {{\n{grad_arms}        _ => unreachable!(\"{count} programs\"),\n    }}\n}}\n"
        )
    }

    /// Asserts that the committed fixture is `programs` and `values`, the
    /// values within 1e-12 (the platform's `exp` and `ln` may differ in a
    /// last bit).
    fn check_fixture(
        programs_path: &std::path::Path,
        programs: &str,
        values_path: &std::path::Path,
        values: &str,
    ) {
        let stale = "is not what the generator draws: after a change to the grammar, \
                     `LOSS_WRITE_FIXTURES=1 cargo test -p loss-macros --lib emitted` writes it";
        let committed = std::fs::read_to_string(programs_path).unwrap_or_default();
        assert!(committed == programs, "{} {stale}", programs_path.display());
        let committed = std::fs::read_to_string(values_path).unwrap_or_default();
        let (committed, drawn): (Vec<&str>, Vec<&str>) =
            (committed.lines().collect(), values.lines().collect());
        assert_eq!(
            committed.len(),
            drawn.len(),
            "{} {stale}",
            values_path.display()
        );
        for (line, want) in committed.iter().zip(&drawn) {
            let (head, number) = line.rsplit_once("value=").expect("a value");
            let (want_head, want_number) = want.rsplit_once("value=").expect("a value");
            let (got, want): (f64, f64) = (number.parse().unwrap(), want_number.parse().unwrap());
            assert!(
                head == want_head && (got - want).abs() <= 1e-12 * want.abs().max(1.0),
                "{}: `{line}` {stale}",
                values_path.display()
            );
        }
    }
}
