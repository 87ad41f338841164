//! Property tests of the generated runtime for every ready loss of
//! `loss_core::losses` (all 82 declarations: plain, `_weighted`,
//! `_per_sample`), `value` and `value_and_grad`, in f64 and f32, driven by
//! the table of `loss-core/tests/common/stdlib.rs`:
//!
//! - wild values (±inf, NaN, subnormals of both types, ±1e38, ±1e308, 0)
//!   and wild shapes (N = 0, C = 1, widths around the vector widths), with
//!   out-of-range labels and wrong buffer lengths: nothing panics; `Err`
//!   exactly when a shape or a label is invalid (an independent model of the
//!   checks), and an `Err` writes nothing; an `Ok` writes every output entry;
//!   an ignored sample gets a zero loss and zero gradient rows; a NaN in a
//!   differentiated input makes its sample's loss NaN (and its gradient,
//!   where the loss's `Nan` policy says so); the same call gives the same
//!   bits;
//! - ordinary inputs in each input's domain (probabilities, ±1 targets,
//!   `full` of 0 or 1, positive variances...): a finite value, finite
//!   per-sample losses and a finite gradient (NaN for an empty or
//!   all-ignored mean, as documented);
//! - one NaN put into an ordinary batch: what the loss's `Nan` policy in
//!   the table says (docs/dsl.md's "NaN in, NaN out" for 59 of the 82; the
//!   others, and why, are documented at `Nan`), and nothing changes in the
//!   other samples;
//! - C = 32000 and every width from 1 to 17, N = 0 to 3, deterministically.

#[path = "../../loss-core/tests/common/stdlib.rs"]
mod stdlib;

use std::cell::Cell;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use stdlib::{
    convert, is_sentinel, sentinel, Arg, Call, Domain, Kind, Loss, Nan, Ordinary, Out, Reduce,
    Source, TableFloat, LOSSES,
};

/// Cases per loss of each property (each case runs f64 and f32, `value`
/// and `value_and_grad`, twice).
const WILD_CASES: u32 = 128;
const ORDINARY_CASES: u32 = 64;
const NAN_CASES: u32 = 64;

// ---------------------------------------------------------------------------
// Inputs.

/// A value of any kind the runtime must survive. Drawn in f64 and rounded
/// for f32: ±1e308 become ±inf there, 1e-310 (an f64 subnormal) becomes 0,
/// 1e-40 is an f32 subnormal, ±1e38 and ±3e38 are near f32's largest.
fn wild() -> impl Strategy<Value = f64> {
    prop_oneof![
        8 => -10.0..10.0f64,
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(1e308),
        1 => Just(-1e308),
        1 => Just(1e-310),
        1 => Just(-1e-40),
        1 => Just(3e38),
        1 => Just(-3e38),
        1 => Just(1e38),
        1 => Just(-1e38),
        1 => Just(0.0),
        1 => Just(1.0),
    ]
}

/// Row widths: 1, around the f64 and f32 vector widths (4, 8, 16 lanes),
/// past two vectors, and past the narrow kernel's rows.
fn width() -> impl Strategy<Value = usize> {
    prop_oneof![
        Just(1usize),
        Just(2),
        Just(3),
        Just(7),
        Just(8),
        Just(9),
        Just(15),
        Just(16),
        Just(17),
        Just(33),
        // The row kernel's: its max pass finds a row in the short exp's
        // range or not, and a NaN in a row found in range still gives NaN.
        Just(64),
    ]
}

/// A label: mostly in range, sometimes out of it (or PyTorch's default
/// ignore index, which is out of range unless it is the ignore index).
fn label(c: usize) -> impl Strategy<Value = i64> {
    prop_oneof![
        40 => 0..c as i64,
        1 => Just(c as i64),
        1 => Just(-1i64),
        2 => Just(-100i64),
        1 => Just(i64::MIN),
        1 => Just(i64::MAX),
    ]
}

/// An ignore index: PyTorch's default, or one that collides with a valid
/// label or with an invalid one.
fn ignore_index(c: usize) -> impl Strategy<Value = i64> {
    prop_oneof![
        4 => Just(-100i64),
        1 => Just(-1i64),
        1 => Just(0i64),
        1 => Just(c as i64),
        1 => Just(i64::MIN),
    ]
}

/// One way to make a call invalid, applied to the `k`-th input or buffer of
/// its kind (if the loss has none, or the change is no change, the call
/// stays valid: the model in `Loss::accepts` decides, not the corruption).
#[derive(Clone, Copy, Debug)]
enum Corruption {
    None,
    /// A vector input's rows one wider (its data resized to match).
    RowsWidth(usize),
    /// A vector input with one more row.
    RowsCount(usize),
    /// A vector input's data one longer than its shape.
    RowsLength(usize),
    /// The labels one longer or shorter.
    LabelsLength(bool),
    /// Weights or per-sample inputs one longer or shorter.
    SliceLength(usize, bool),
    LossesLength(bool),
    UpstreamLength(bool),
    GradLength(usize, bool),
}

fn corruption() -> impl Strategy<Value = Corruption> {
    prop_oneof![
        10 => Just(Corruption::None),
        1 => any::<usize>().prop_map(Corruption::RowsWidth),
        1 => any::<usize>().prop_map(Corruption::RowsCount),
        1 => any::<usize>().prop_map(Corruption::RowsLength),
        1 => any::<bool>().prop_map(Corruption::LabelsLength),
        1 => (any::<usize>(), any::<bool>()).prop_map(|(k, b)| Corruption::SliceLength(k, b)),
        1 => any::<bool>().prop_map(Corruption::LossesLength),
        1 => any::<bool>().prop_map(Corruption::UpstreamLength),
        1 => (any::<usize>(), any::<bool>()).prop_map(|(k, b)| Corruption::GradLength(k, b)),
    ]
}

fn grow_or_shrink<T: Clone>(v: &mut Vec<T>, grow: bool, filler: T) {
    if grow {
        v.push(filler);
    } else {
        v.pop();
    }
}

fn corrupt<F: TableFloat>(how: Corruption, call: &mut Call<F>, out: &mut Out<F>) {
    let half = F::from_f64(0.5);
    match how {
        Corruption::None => {}
        Corruption::RowsWidth(k) | Corruption::RowsCount(k) | Corruption::RowsLength(k) => {
            let mut all: Vec<&mut Arg<F>> = call
                .args
                .iter_mut()
                .filter(|a| matches!(a, Arg::Rows { .. }))
                .collect();
            let len = all.len();
            if let Arg::Rows { data, rows, width } = all.swap_remove(k % len) {
                match how {
                    Corruption::RowsWidth(_) => {
                        *width += 1;
                        data.resize(*rows * *width, half);
                    }
                    Corruption::RowsCount(_) => {
                        *rows += 1;
                        data.resize(*rows * *width, half);
                    }
                    _ => data.push(half),
                }
            }
        }
        Corruption::LabelsLength(grow) => {
            if let Some(Arg::Labels(l)) = call.args.iter_mut().find(|a| matches!(a, Arg::Labels(_)))
            {
                grow_or_shrink(l, grow, 0);
            }
        }
        Corruption::SliceLength(k, grow) => {
            let mut slices: Vec<&mut Vec<F>> = call
                .args
                .iter_mut()
                .filter_map(|a| match a {
                    Arg::Slice(s) => Some(s),
                    _ => None,
                })
                .collect();
            let len = slices.len();
            if len > 0 {
                grow_or_shrink(slices[k % len], grow, half);
            }
        }
        // An output buffer grows by a sentinel: an Err must leave all of it.
        Corruption::LossesLength(grow) => grow_or_shrink(&mut out.losses, grow, sentinel()),
        Corruption::UpstreamLength(grow) => grow_or_shrink(&mut call.upstream, grow, half),
        Corruption::GradLength(k, grow) => {
            let len = out.grads.len();
            grow_or_shrink(&mut out.grads[k % len], grow, sentinel());
        }
    }
}

/// Numbers and labels in the order `Loss::call` asks for them.
struct Drawn {
    numbers: std::vec::IntoIter<f64>,
    labels: std::vec::IntoIter<i64>,
    ignore: i64,
}

impl Source for Drawn {
    fn row(&mut self, _domain: Domain, len: usize) -> Vec<f64> {
        (0..len)
            .map(|_| self.numbers.next().expect("enough numbers drawn"))
            .collect()
    }
    fn label(&mut self, _classes: usize, _ignore: Option<i64>) -> i64 {
        self.labels.next().expect("enough labels drawn")
    }
    fn ignore_index(&mut self, _classes: usize) -> i64 {
        self.ignore
    }
}

#[derive(Clone, Debug)]
struct WildCase {
    n: usize,
    c: usize,
    call: Call<f64>,
    corruption: Corruption,
}

fn wild_case(loss: &'static Loss) -> impl Strategy<Value = WildCase> {
    (prop_oneof![1 => Just(0usize), 4 => 1usize..5], width())
        .prop_flat_map(move |(n, c)| {
            let (numbers, labels) = loss.draws(n, c);
            (
                Just(n),
                Just(c),
                vec(wild(), numbers),
                vec(label(c), labels),
                ignore_index(c),
                corruption(),
            )
        })
        .prop_map(move |(n, c, numbers, labels, ignore, corruption)| {
            let mut src = Drawn {
                numbers: numbers.into_iter(),
                labels: labels.into_iter(),
                ignore,
            };
            WildCase {
                n,
                c,
                call: loss.call(n, c, &mut src),
                corruption,
            }
        })
}

/// An ordinary call (`Ordinary`: every input in its domain) on `n ≥ 1`
/// samples, from uniform numbers proptest draws and shrinks.
#[derive(Clone, Debug)]
struct OrdinaryCase {
    n: usize,
    c: usize,
    call: Call<f64>,
}

fn ordinary_case(loss: &'static Loss) -> impl Strategy<Value = OrdinaryCase> {
    (1usize..5, width())
        .prop_flat_map(move |(n, c)| {
            let (numbers, labels) = loss.draws(n, c);
            (Just(n), Just(c), vec(0.0..1.0f64, numbers + labels))
        })
        .prop_map(move |(n, c, uniforms)| {
            let mut u = uniforms.into_iter();
            let call = loss.call(n, c, &mut Ordinary(|| u.next().expect("enough uniforms")));
            OrdinaryCase { n, c, call }
        })
}

// ---------------------------------------------------------------------------
// Checks.

/// What the wild test exercised, printed with `--nocapture` (the figures of
/// docs/verify.md): calls made (each twice), how many the checks rejected,
/// and the samples whose NaN was checked to propagate. Per test thread, so
/// that the tests running alongside do not add to it.
struct Tally {
    calls: Cell<usize>,
    errors: Cell<usize>,
    nan_samples: Cell<usize>,
}

thread_local! {
    static TALLY: Tally = const {
        Tally {
            calls: Cell::new(0),
            errors: Cell::new(0),
            nan_samples: Cell::new(0),
        }
    };
}

fn tally(f: impl FnOnce(&Tally)) {
    TALLY.with(f)
}

fn same_bits<F: TableFloat>(a: &[F], b: &[F]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.bits() == y.bits())
}

fn option_bits<F: TableFloat>(v: Option<F>) -> Option<u64> {
    v.map(F::bits)
}

/// Sample `i`'s rows of every gradient buffer.
fn grad_rows<F: Copy>(out: &Out<F>, i: usize, c: usize) -> impl Iterator<Item = F> + '_ {
    out.grads
        .iter()
        .flat_map(move |g| g[i * c..(i + 1) * c].iter().copied())
}

/// Sample `i`'s loss: its per-sample loss, or for a reduced loss the value
/// (which a NaN sample makes NaN).
fn sample_loss<F: Copy>(loss: &Loss, value: Option<F>, out: &Out<F>, i: usize) -> F {
    match loss.reduce {
        Reduce::None => out.losses[i],
        _ => value.expect("a reduced loss returns its value"),
    }
}

fn name<F: TableFloat>(loss: &Loss, with_grad: bool) -> String {
    let f = if with_grad { "value_and_grad" } else { "value" };
    format!("{}::{f} in {}", loss.name, F::NAME)
}

/// Runs the call, then again on fresh buffers: the same bits.
fn run_twice<F: TableFloat>(
    loss: &Loss,
    call: &Call<F>,
    out: &mut Out<F>,
    with_grad: bool,
) -> Result<Result<Option<F>, loss_core::LossError>, TestCaseError> {
    let fresh = out.clone();
    let r = loss.run(call, out, with_grad);
    let mut again = fresh;
    let r2 = loss.run(call, &mut again, with_grad);
    let what = name::<F>(loss, with_grad);
    prop_assert_eq!(r.is_ok(), r2.is_ok(), "{}: Ok, then Err", what);
    if let (Ok(v), Ok(v2)) = (&r, &r2) {
        prop_assert_eq!(option_bits(*v), option_bits(*v2), "{}: value differs", what);
        prop_assert!(
            same_bits(&out.losses, &again.losses),
            "{}: losses differ",
            what
        );
        prop_assert!(
            out.grads
                .iter()
                .zip(&again.grads)
                .all(|(a, b)| same_bits(a, b)),
            "{}: gradient differs",
            what
        );
    }
    Ok(r)
}

/// Everything the wild property checks for one float type.
fn check_wild<F: TableFloat>(loss: &Loss, case: &WildCase) -> Result<(), TestCaseError> {
    for with_grad in [false, true] {
        let what = name::<F>(loss, with_grad);
        let mut call = convert::<F>(&case.call);
        let mut out = loss.out::<F>(case.n, case.c);
        corrupt(case.corruption, &mut call, &mut out);
        // The shape of a valid call (a corrupted one may still be valid:
        // `entropy::value` of rows one wider is a valid call).
        let Some(Arg::Rows {
            rows: n, width: c, ..
        }) = call.args.first()
        else {
            unreachable!("every ready loss takes a vector first")
        };
        let (n, c) = (*n, *c);
        let valid = loss.accepts(&call, &out, with_grad);
        tally(|t| {
            t.calls.set(t.calls.get() + 1);
            t.errors.set(t.errors.get() + usize::from(!valid));
        });
        let r = run_twice(loss, &call, &mut out, with_grad)?;
        prop_assert_eq!(
            r.is_ok(),
            valid,
            "{}: {:?} for a call the checks should {}",
            what,
            r,
            if valid { "accept" } else { "reject" }
        );
        let untouched = out
            .losses
            .iter()
            .chain(out.grads.iter().flatten())
            .all(|&x| is_sentinel(x));
        let Ok(value) = r else {
            prop_assert!(untouched, "{}: an Err wrote to an output buffer", what);
            continue;
        };
        // Valid: every input has n rows of width c, every buffer its length.
        prop_assert!(
            loss.reduce != Reduce::None || out.losses.iter().all(|&x| !is_sentinel(x)),
            "{}: a per-sample loss not written",
            what
        );
        if with_grad {
            prop_assert!(
                out.grads.iter().flatten().all(|&x| !is_sentinel(x)),
                "{}: a gradient entry not written",
                what
            );
        }
        if n == 0 && loss.reduce != Reduce::None {
            let v = value.expect("a value");
            prop_assert!(
                v.is_nan(),
                "{}: an empty batch's mean is {:?}, not NaN",
                what,
                v.to_f64()
            );
        }
        let inputs = loss.grad_inputs(&call);
        for i in 0..n {
            if loss.is_ignored(&call, i) {
                if loss.reduce == Reduce::None {
                    prop_assert!(
                        out.losses[i] == F::ZERO,
                        "{}: ignored sample {} has loss {:?}",
                        what,
                        i,
                        out.losses[i].to_f64()
                    );
                }
                prop_assert!(
                    !with_grad || grad_rows(&out, i, c).all(|g| g == F::ZERO),
                    "{}: ignored sample {} has a nonzero gradient",
                    what,
                    i
                );
                continue;
            }
            let nan_in_row = inputs
                .iter()
                .any(|x| x[i * c..(i + 1) * c].iter().any(|v| v.is_nan()));
            let nan_at_label = loss
                .labels(&call)
                .is_some_and(|l| inputs[0][i * c + l[i] as usize].is_nan());
            let must_be_nan = match loss.nan {
                Nan::Propagates | Nan::ValueOnly => nan_in_row,
                Nan::AtLabel => nan_at_label,
            };
            if must_be_nan {
                tally(|t| t.nan_samples.set(t.nan_samples.get() + 1));
                let l = sample_loss(loss, value, &out, i);
                prop_assert!(
                    l.is_nan(),
                    "{}: NaN in sample {}, loss {:?}",
                    what,
                    i,
                    l.to_f64()
                );
                if with_grad && loss.nan == Nan::Propagates {
                    prop_assert!(
                        grad_rows(&out, i, c).any(|g| g.is_nan()),
                        "{}: NaN in sample {}, no NaN in its gradient",
                        what,
                        i
                    );
                }
            }
        }
    }
    Ok(())
}

/// `true` if every sample of the call is skipped (or there are none).
fn all_ignored<F>(loss: &Loss, call: &Call<F>, n: usize) -> bool {
    (0..n).all(|i| loss.is_ignored(call, i))
}

/// Ordinary inputs: a finite value, losses and gradient, or the NaN mean
/// of a batch whose samples are all ignored (with a zero gradient).
fn check_ordinary<F: TableFloat>(
    loss: &Loss,
    n: usize,
    c: usize,
    call: &Call<f64>,
) -> Result<(), TestCaseError> {
    let call = convert::<F>(call);
    for with_grad in [false, true] {
        let what = name::<F>(loss, with_grad);
        let mut out = loss.out::<F>(n, c);
        let r = run_twice(loss, &call, &mut out, with_grad)?;
        let value = match r {
            Ok(v) => v,
            Err(e) => return Err(TestCaseError::fail(format!("{what}: {e}"))),
        };
        if all_ignored(loss, &call, n) && loss.reduce != Reduce::None {
            let v = value.expect("a value");
            prop_assert!(v.is_nan(), "{}: all ignored, mean {:?}", what, v.to_f64());
            prop_assert!(
                !with_grad || out.grads.iter().flatten().all(|&g| g == F::ZERO),
                "{}: all ignored, nonzero gradient",
                what
            );
            continue;
        }
        if let Some(v) = value {
            prop_assert!(v.is_finite(), "{}: value {:?}", what, v.to_f64());
        }
        if let Some(i) = out.losses.iter().position(|l| !l.is_finite()) {
            return Err(TestCaseError::fail(format!(
                "{what}: loss of sample {i} is {:?}",
                out.losses[i].to_f64()
            )));
        }
        if with_grad {
            for (k, g) in out.grads.iter().enumerate() {
                if let Some(j) = g.iter().position(|g| !g.is_finite()) {
                    return Err(TestCaseError::fail(format!(
                        "{what}: gradient {k} at sample {}, element {} is {:?}",
                        j / c,
                        j % c,
                        g[j].to_f64()
                    )));
                }
            }
        }
    }
    Ok(())
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Expect {
    /// `Nan::Propagates`: the sample's loss is NaN and so is some entry of
    /// its gradient.
    Nan,
    /// `Nan::ValueOnly`: the loss is NaN, the gradient finite.
    ValueOnly,
    /// `Nan::AtLabel` at the label: the loss is NaN, the gradient (which
    /// does not depend on the input) unchanged.
    NanAtLabel,
    /// `Nan::AtLabel` elsewhere: the element is not read.
    Unchanged,
    /// An ignored sample: nothing it holds is read.
    Skipped,
}

fn expectation(policy: Nan, at_label: bool) -> Expect {
    match policy {
        Nan::Propagates => Expect::Nan,
        Nan::ValueOnly => Expect::ValueOnly,
        Nan::AtLabel if at_label => Expect::NanAtLabel,
        Nan::AtLabel => Expect::Unchanged,
    }
}

/// One NaN at element `j` of sample `i` of the `k`-th differentiated input
/// of an ordinary call: that sample's loss and gradient are as the loss's
/// `Nan` policy says, and every other sample's per-sample loss and gradient
/// rows are bit for bit those of the call without the NaN.
fn check_one_nan<F: TableFloat>(
    loss: &Loss,
    n: usize,
    c: usize,
    call: &Call<f64>,
    (k, i, j): (usize, usize, usize),
) -> Result<(), TestCaseError> {
    let clean = convert::<F>(call);
    let positions: Vec<usize> = loss
        .arg_positions()
        .filter(|(kind, _)| matches!(kind, Kind::Grad(_)))
        .map(|(_, at)| at)
        .collect();
    let (k, i, j) = (k % positions.len(), i % n, j % c);
    let mut dirty = clean.clone();
    if let Arg::Rows { data, .. } = &mut dirty.args[positions[k]] {
        data[i * c + j] = F::NAN;
    }
    let at_label = loss.labels(&clean).is_some_and(|l| l[i] == j as i64);
    let expect = if loss.is_ignored(&clean, i) {
        Expect::Skipped
    } else {
        expectation(loss.nan, at_label)
    };
    for with_grad in [false, true] {
        let what = format!(
            "{} (NaN in input {k}, sample {i}, element {j}: {expect:?})",
            name::<F>(loss, with_grad)
        );
        let mut before = loss.out::<F>(n, c);
        let v0 = loss.run(&clean, &mut before, with_grad);
        let mut after = loss.out::<F>(n, c);
        let v1 = loss.run(&dirty, &mut after, with_grad);
        let (Ok(v0), Ok(v1)) = (v0, v1) else {
            return Err(TestCaseError::fail(format!("{what}: an error")));
        };
        // The other samples do not see the NaN.
        for s in (0..n).filter(|&s| s != i) {
            if loss.reduce == Reduce::None {
                prop_assert_eq!(
                    before.losses[s].bits(),
                    after.losses[s].bits(),
                    "{}: loss of sample {} changed",
                    what,
                    s
                );
            }
            let g0: Vec<F> = grad_rows(&before, s, c).collect();
            let g1: Vec<F> = grad_rows(&after, s, c).collect();
            prop_assert!(
                same_bits(&g0, &g1),
                "{}: gradient of sample {} changed",
                what,
                s
            );
        }
        let l0 = sample_loss(loss, v0, &before, i);
        let l1 = sample_loss(loss, v1, &after, i);
        let g0: Vec<F> = grad_rows(&before, i, c).collect();
        let g1: Vec<F> = grad_rows(&after, i, c).collect();
        match expect {
            Expect::Nan => {
                prop_assert!(l1.is_nan(), "{}: loss {:?}", what, l1.to_f64());
                prop_assert!(
                    !with_grad || g1.iter().any(|g| g.is_nan()),
                    "{}: no NaN in the gradient",
                    what
                );
            }
            Expect::ValueOnly => {
                prop_assert!(l1.is_nan(), "{}: loss {:?}", what, l1.to_f64());
                prop_assert!(
                    !with_grad || g1.iter().all(|g| g.is_finite()),
                    "{}: a non-finite gradient",
                    what
                );
            }
            Expect::NanAtLabel => {
                prop_assert!(l1.is_nan(), "{}: loss {:?}", what, l1.to_f64());
                prop_assert!(same_bits(&g0, &g1), "{}: the gradient changed", what);
            }
            Expect::Unchanged | Expect::Skipped => {
                prop_assert_eq!(
                    l0.bits(),
                    l1.bits(),
                    "{}: loss {:?}, was {:?}",
                    what,
                    l1.to_f64(),
                    l0.to_f64()
                );
                prop_assert!(same_bits(&g0, &g1), "{}: the gradient changed", what);
            }
        }
    }
    Ok(())
}

/// Runs `check` on `cases` cases of `strategy` for every loss; panics with
/// the loss, the message and the minimal failing case.
fn for_every_loss<S: Strategy>(
    cases: u32,
    strategy: impl Fn(&'static Loss) -> S,
    check: impl Fn(&Loss, &S::Value) -> Result<(), TestCaseError>,
) where
    S::Value: std::fmt::Debug,
{
    let mut failures = Vec::new();
    for loss in LOSSES {
        let mut runner = TestRunner::new(Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        });
        if let Err(e) = runner.run(&strategy(loss), |case| check(loss, &case)) {
            failures.push(format!("{}: {e}", loss.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} losses failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// ---------------------------------------------------------------------------
// The tests.

#[test]
fn the_table_is_the_standard_library() {
    // Parse the declarations of loss-core/src/losses/ and compare each
    // name, reduction and input kind with the table (the compiler checks
    // the arity of the generated calls; this checks Weights against
    // PerSample, which are both `&[F]`, and that nothing is missing).
    let sources = [
        include_str!("../../loss-core/src/losses/classification.rs"),
        include_str!("../../loss-core/src/losses/divergence.rs"),
        include_str!("../../loss-core/src/losses/ranking.rs"),
        include_str!("../../loss-core/src/losses/regression.rs"),
    ];
    let mut declared = Vec::new();
    for src in sources {
        let mut reduce = Reduce::Mean;
        for line in src.lines().map(str::trim) {
            if let Some(r) = line.strip_prefix("#[reduce(") {
                reduce = if r.starts_with("none") {
                    Reduce::None
                } else if r.contains("denominator") {
                    Reduce::Weighted
                } else {
                    assert!(r.starts_with("mean"), "unknown reduction {line}");
                    Reduce::Mean
                };
            }
            let Some(rest) = line.strip_prefix("pub fn ") else {
                continue;
            };
            let (name, rest) = rest.split_once('(').unwrap();
            let params = rest.rsplit_once(')').unwrap().0;
            let kinds: Vec<&str> = params
                .split(", ")
                .map(|p| {
                    let ty = p.rsplit_once(": ").unwrap().1;
                    match (
                        p.starts_with("#[grad]"),
                        p.starts_with("#[ignore_index]"),
                        ty.split('<').next().unwrap(),
                    ) {
                        (true, _, "Vector") => "grad",
                        (false, _, "Vector") => "vector",
                        (_, true, "Class") => "ignore",
                        (_, false, "Class") => "class",
                        (_, _, "Weights") => "weights",
                        (_, _, "PerSample") => "per_sample",
                        (_, _, "Scalar") => "scalar",
                        _ => panic!("{name}: unknown parameter {p}"),
                    }
                })
                .collect();
            declared.push((name.to_string(), reduce, kinds));
            reduce = Reduce::Mean;
        }
    }
    let table: Vec<(String, Reduce, Vec<&str>)> = LOSSES
        .iter()
        .map(|l| {
            let kinds = l
                .kinds
                .iter()
                .map(|k| match k {
                    Kind::Grad(_) => "grad",
                    Kind::Vector(_) => "vector",
                    Kind::Class => "class",
                    Kind::Ignore => "ignore",
                    Kind::Weights(_) => "weights",
                    Kind::PerSample(_) => "per_sample",
                    Kind::Scalar(_) => "scalar",
                })
                .collect();
            (l.name.to_string(), l.reduce, kinds)
        })
        .collect();
    assert_eq!(declared.len(), 82, "declarations in loss-core/src/losses/");
    assert_eq!(table, declared);
}

#[test]
fn wild_inputs_and_shapes() {
    for_every_loss(WILD_CASES, wild_case, |loss, case| {
        check_wild::<f64>(loss, case)?;
        check_wild::<f32>(loss, case)
    });
    println!(
        "{} losses x {WILD_CASES} cases x f64, f32 x value, value_and_grad: {} calls \
         (each made twice), {} rejected, {} samples with a NaN checked to propagate",
        LOSSES.len(),
        TALLY.with(|t| t.calls.get()),
        TALLY.with(|t| t.errors.get()),
        TALLY.with(|t| t.nan_samples.get())
    );
}

#[test]
fn ordinary_inputs_give_finite_results() {
    for_every_loss(ORDINARY_CASES, ordinary_case, |loss, case| {
        check_ordinary::<f64>(loss, case.n, case.c, &case.call)?;
        check_ordinary::<f32>(loss, case.n, case.c, &case.call)
    });
}

#[test]
fn one_nan_in_an_ordinary_batch() {
    let strategy = |loss| (ordinary_case(loss), any::<(usize, usize, usize)>());
    for_every_loss(NAN_CASES, strategy, |loss, (case, at)| {
        check_one_nan::<f64>(loss, case.n, case.c, &case.call, *at)?;
        check_one_nan::<f32>(loss, case.n, case.c, &case.call, *at)
    });
}

/// SplitMix64, for the deterministic test's uniforms.
struct SplitMix(u64);

impl SplitMix {
    fn uniform(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[test]
fn every_width_to_17_and_32000_deterministically() {
    let mut rng = SplitMix(0x5eed);
    let mut failures = Vec::new();
    let mut record = |loss: &Loss, n: usize, c: usize, r: Result<(), TestCaseError>| {
        if let Err(e) = r {
            failures.push(format!("{} {n}x{c}: {e}", loss.name));
        }
    };
    for loss in LOSSES {
        let small = (0..=3).flat_map(|n| (1..=17).map(move |c| (n, c)));
        for (n, c) in small.chain([(0, 32000), (2, 32000)]) {
            let call = loss.call(n, c, &mut Ordinary(|| rng.uniform()));
            // Accepted, every output entry written, the same bits twice, an
            // empty batch's mean NaN.
            let case = WildCase {
                n,
                c,
                call: call.clone(),
                corruption: Corruption::None,
            };
            record(loss, n, c, check_wild::<f64>(loss, &case));
            record(loss, n, c, check_wild::<f32>(loss, &case));
            if n == 0 {
                continue;
            }
            record(loss, n, c, check_ordinary::<f64>(loss, n, c, &call));
            record(loss, n, c, check_ordinary::<f32>(loss, n, c, &call));
            // A NaN in the last element of the last sample of the first
            // differentiated input (past its last full vector), and in the
            // first element of the last one.
            for at in [(0, n - 1, c - 1), (loss.grads() - 1, 0, 0)] {
                record(loss, n, c, check_one_nan::<f64>(loss, n, c, &call, at));
                record(loss, n, c, check_one_nan::<f32>(loss, n, c, &call, at));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
