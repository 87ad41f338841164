//! The code the macro emits, run on random programs.
//!
//! loss-macros' differential tests check the compiler's graphs through an
//! interpreter; they never run the Rust the macro writes. This test does:
//! the programs of `emitted/programs.rs` (drawn by loss-macros'
//! `emitted_program_fixtures_are_the_interpreters` from its two grammars of
//! random programs, one in three from the shift test's, with its margins,
//! Huber, L1 and maxima) are declared with `loss!`, and at each point of
//! `emitted/values.txt` their emitted kernels must give
//!
//! - the value of the unoptimised program, computed by the interpreter;
//! - a gradient that agrees with central differences of their own value
//!   (away from kinks);
//! - in `f32`, what they give in `f64`, within the rounding of `f32`;
//! - the same bits in the narrow kernel (rows in lanes) as in the row
//!   kernel, and at AVX2 as at AVX-512; at the baseline, the same numbers
//!   within rounding.
//!
//! Every point has short rows (the narrow kernel's) or long ones (the row
//! kernel's chunks and tail), and batches of 1 to 11 rows (a group of eight
//! and a part-full one); the fifth of each program has 16 to 40 rows of 9
//! to 16 numbers, which at AVX-512 in f32 take the narrow kernel's row
//! vectors (compared with AVX2's transposed layout, bit for bit). Each
//! program has a term in shared weights `v: Weights<C>` (read at the label,
//! or the whole row against each sample's), whose gradient every row adds
//! to. The programs reduce the batch by `sum`, `mean`, `none` or a weighted
//! mean (`mean, denominator = q[y]`, with class weights `q`) in turn;
//! `none`'s losses are checked through `sum_i w_i loss_i`, with the point's
//! random `upstream` weights `w`.

mod common;

use common::{central_difference_and_spread, Rng};
use loss_core::simd::{self, Level};
use loss_core::{Float, Rows};

include!("emitted/programs.rs");

/// A point's inputs: `a`, `b` (`n × c`), a label per row, `s` per row, `t`,
/// `u` (`n × d`), the shared weights `v` and the class weights `q` (`c`
/// each, one row for the batch); and `w`, the weight of each row's loss
/// where the batch is not reduced (`#[reduce(none)]`'s `upstream`).
pub struct Point<F> {
    n: usize,
    c: usize,
    d: usize,
    a: Vec<F>,
    b: Vec<F>,
    y: Vec<usize>,
    s: Vec<F>,
    t: F,
    u: Vec<F>,
    v: Vec<F>,
    q: Vec<F>,
    w: Vec<F>,
}

impl<F: Float> Point<F> {
    fn a(&self) -> Rows<'_, F> {
        Rows::new(&self.a, self.n, self.c)
    }
    fn b(&self) -> Rows<'_, F> {
        Rows::new(&self.b, self.n, self.c)
    }
    fn u(&self) -> Rows<'_, F> {
        Rows::new(&self.u, self.n, self.d)
    }

    /// The point with `f` applied to each number (`f32` from `f64`, and back).
    fn map<G: Float>(&self, f: impl Fn(F) -> G) -> Point<G> {
        let each = |v: &[F]| v.iter().map(|&x| f(x)).collect();
        Point {
            n: self.n,
            c: self.c,
            d: self.d,
            a: each(&self.a),
            b: each(&self.b),
            y: self.y.clone(),
            s: each(&self.s),
            t: f(self.t),
            u: each(&self.u),
            v: each(&self.v),
            q: each(&self.q),
            w: each(&self.w),
        }
    }
}

impl Point<f64> {
    /// The inputs drawn from `seed`, in the order of loss-macros'
    /// `point_args`.
    fn draw(seed: u64, n: usize, c: usize, d: usize) -> Point<f64> {
        let mut rng = Rng::new(seed);
        let a = rng.vec(n * c, -3.0, 3.0);
        let b = rng.vec(n * c, -3.0, 3.0);
        let y = rng.labels(n, c);
        let s = rng.vec(n, -1.5, 1.5);
        let t = rng.uniform(-1.5, 1.5);
        let u = rng.vec(n * d, -1.0, 1.0);
        let w = rng.vec(n, -1.0, 1.0);
        let v = rng.vec(c, -1.0, 1.0);
        let q = rng.vec(c, 0.5, 1.5);
        Point {
            n,
            c,
            d,
            a,
            b,
            y,
            s,
            t,
            u,
            v,
            q,
            w,
        }
    }

    /// The sum loss-macros' generator took of the same numbers.
    fn check(&self) -> f64 {
        let numbers = self.a.iter().chain(&self.b).chain(&self.u).chain(&self.w);
        let numbers = numbers.chain(&self.v).chain(&self.q);
        numbers.sum::<f64>() + self.t
    }

    /// The gradient coordinates (a, b, s, t, u, v), flattened.
    fn flatten(&self) -> Vec<f64> {
        in_grad_order(&self.a, &self.b, &self.s, self.t, &self.u, &self.v)
    }

    /// The point with its gradient coordinates replaced by `x`.
    fn with(&self, x: &[f64]) -> Point<f64> {
        let (nc, n, nd) = (self.n * self.c, self.n, self.n * self.d);
        let u = 2 * nc + n + 1;
        Point {
            a: x[..nc].to_vec(),
            b: x[nc..2 * nc].to_vec(),
            s: x[2 * nc..2 * nc + n].to_vec(),
            t: x[2 * nc + n],
            u: x[u..u + nd].to_vec(),
            v: x[u + nd..].to_vec(),
            q: self.q.clone(),
            y: self.y.clone(),
            w: self.w.clone(),
            ..*self
        }
    }
}

/// A gradient for each `#[grad]` input.
pub struct Grads<F> {
    a: Vec<F>,
    b: Vec<F>,
    s: Vec<F>,
    t: F,
    u: Vec<F>,
    v: Vec<F>,
}

impl<F: Float> Grads<F> {
    /// NaN everywhere: every number must be written.
    fn for_point(x: &Point<F>) -> Grads<F> {
        Grads {
            a: vec![F::NAN; x.a.len()],
            b: vec![F::NAN; x.b.len()],
            s: vec![F::NAN; x.s.len()],
            t: F::NAN,
            u: vec![F::NAN; x.u.len()],
            v: vec![F::NAN; x.v.len()],
        }
    }

    fn flatten(&self) -> Vec<F> {
        in_grad_order(&self.a, &self.b, &self.s, self.t, &self.u, &self.v)
    }
}

/// The `#[grad]` inputs' numbers (or their gradients) in one vector, in
/// declaration order: a, b, s, t, u, v.
fn in_grad_order<F: Copy>(a: &[F], b: &[F], s: &[F], t: F, u: &[F], v: &[F]) -> Vec<F> {
    let mut x = [a, b, s].concat();
    x.push(t);
    x.extend_from_slice(u);
    x.extend_from_slice(v);
    x
}

/// `sum_i w_i losses_i`: what the programs reduced by `none` are checked
/// by, a vector-Jacobian product of their losses.
fn weighted<F: Float>(losses: &[F], w: &[F]) -> F {
    losses
        .iter()
        .zip(w)
        .fold(F::ZERO, |sum, (&l, &w)| sum + l * w)
}

/// Program `k`'s value and gradient at `x`, flattened.
fn run<F: Float>(k: usize, x: &Point<F>) -> (F, Vec<F>) {
    let mut g = Grads::for_point(x);
    let v = value_and_grad(k, x, &mut g).unwrap_or_else(|e| panic!("p{k:02}: {e}"));
    (v, g.flatten())
}

/// One line of `emitted/values.txt`.
struct Line {
    program: usize,
    point: Point<f64>,
    check: f64,
    expected: f64,
}

fn lines() -> Vec<Line> {
    include_str!("emitted/values.txt")
        .lines()
        .map(|line| {
            let mut fields = line.split(' ');
            let program = fields.next().and_then(|p| p.strip_prefix('p'));
            let program: usize = program.and_then(|p| p.parse().ok()).expect(line);
            let mut field = |name: &str| -> &str {
                let f = fields.next().and_then(|f| f.strip_prefix(name));
                f.and_then(|f| f.strip_prefix('=')).expect(line)
            };
            let seed = field("seed").strip_prefix("0x").expect(line);
            let seed = u64::from_str_radix(seed, 16).expect(line);
            let n = field("n").parse().expect(line);
            let c = field("c").parse().expect(line);
            let d = field("d").parse().expect(line);
            let check = field("check").parse().expect(line);
            let expected = field("value").parse().expect(line);
            let point = Point::draw(seed, n, c, d);
            Line {
                program,
                point,
                check,
                expected,
            }
        })
        .collect()
}

/// The largest difference between `got` and `want`, over `1 + max |want|`.
fn relative_gap(got: &[f64], want: &[f64]) -> f64 {
    let scale = want.iter().fold(1.0_f64, |m, x| m.max(x.abs()));
    let gap = got
        .iter()
        .zip(want)
        .fold(0.0_f64, |m, (g, w)| m.max((g - w).abs()));
    gap / scale
}

#[test]
fn emitted_programs_compute_what_they_say() {
    let lines = lines();
    assert_eq!(lines.len(), 5 * BODIES.len(), "five points per program");
    let (mut levels_compared, mut coordinates, mut kinks) = (0, 0, 0);
    for Line {
        program: k,
        point: x,
        check,
        expected,
    } in &lines
    {
        let (k, body) = (*k, BODIES[*k]);
        let at = format!("p{k:02} `{body}` at n = {}, c = {}, d = {}", x.n, x.c, x.d);
        assert!(
            (x.check() - check).abs() <= 1e-12 * check.abs().max(1.0),
            "{at}: the inputs are not the generator's ({} against {check})",
            x.check()
        );

        // The unoptimised program's value; the same from `value_and_grad`.
        let v = value(k, x).unwrap_or_else(|e| panic!("{at}: {e}"));
        assert!(
            (v - expected).abs() <= 1e-9 * expected.abs().max(1.0),
            "{at}: value {v} against the interpreter's {expected}"
        );
        let (v_grad, g) = run(k, x);
        assert!(
            (v_grad - v).abs() <= 1e-12 * v.abs().max(1.0),
            "{at}: value_and_grad's value {v_grad} against value's {v}"
        );

        // The gradient against central differences of the emitted value,
        // Richardson-extrapolated from steps h and h/2. Where those two
        // disagree, the coordinate is at a kink or in a steep region
        // (margins, L1, the maximum), where differences mean nothing.
        let flat = x.flatten();
        let f = |p: &[f64]| value(k, &x.with(p)).unwrap();
        let scale = g.iter().fold(1.0_f64, |m, v| m.max(v.abs()));
        for (j, &gj) in g.iter().enumerate() {
            let (fd, disagreement) = central_difference_and_spread(&f, &flat, j);
            if disagreement > 1e-3 * scale {
                kinks += 1;
                continue;
            }
            assert!(
                (gj - fd).abs() <= 1e-6 * scale,
                "{at}: gradient coordinate {j}: {gj} against central differences {fd}"
            );
            coordinates += 1;
        }

        // f32 against f64 at the same numbers.
        let x32 = x.map(|v| v as f32);
        let (v32, g32) = run(k, &x32);
        let (v64, g64) = run(k, &x32.map(f64::from));
        let widen = |g: &[f32]| g.iter().map(|&v| f64::from(v)).collect::<Vec<f64>>();
        let (gap_v, gap_g) = (
            relative_gap(&[f64::from(v32)], &[v64]),
            relative_gap(&widen(&g32), &g64),
        );
        assert!(
            gap_v <= 1e-4 && gap_g <= 1e-4,
            "{at}: f32 against f64: value {v32} against {v64}, gradient {gap_g:e} apart"
        );

        // The narrow kernel against the row kernel, bit for bit (longer
        // rows run in the row kernel either way).
        if x.c.max(x.d) <= loss_core::__private::NARROW {
            simd::set_rows_in_lanes(false);
            let (rows_v, rows_g) = (run(k, x), run(k, &x32));
            simd::set_rows_in_lanes(true);
            assert!(
                rows_v == (v_grad, g.clone()) && rows_g == (v32, g32.clone()),
                "{at}: the row kernel's bits differ from the narrow kernel's"
            );
        }

        // The instruction-set levels: AVX2 as AVX-512, the baseline within
        // rounding.
        for level in [Level::Avx2, Level::Baseline] {
            if level > simd::detected() {
                continue;
            }
            simd::set_max_level(Some(level));
            let (at_level, at_level32) = (run(k, x), run(k, &x32));
            simd::set_max_level(None);
            if level == Level::Baseline {
                let widened = widen(&at_level32.1);
                assert!(
                    relative_gap(&at_level.1, &g) <= 1e-12
                        && relative_gap(&widened, &widen(&g32)) <= 1e-5,
                    "{at}: the baseline's gradient is not within rounding of the vector kernels'"
                );
            } else {
                assert!(
                    at_level == (v_grad, g.clone()) && at_level32 == (v32, g32.clone()),
                    "{at}: AVX2's bits differ from {:?}'s",
                    simd::detected()
                );
                levels_compared += 1;
            }
        }
    }
    println!(
        "{} programs at {} points; {coordinates} gradient coordinates checked, {kinks} \
         skipped at kinks; AVX2 against {:?} at {levels_compared}",
        BODIES.len(),
        lines.len(),
        simd::detected()
    );
    assert!(
        kinks * 20 < coordinates,
        "{kinks} coordinates skipped as kinks, {coordinates} checked"
    );
}
