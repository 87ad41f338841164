//! Every declaration of `loss_core::losses`, as data: one line of [`table!`]
//! per ready loss names its reduction and its inputs in declaration order,
//! and from it the macro writes a function that calls the loss's `value` or
//! `value_and_grad` on a [`Call`] (the inputs) and an [`Out`] (the output
//! buffers). The tests that must cover the whole standard library iterate
//! over [`LOSSES`] instead of spelling out 82 signatures.
//!
//! Included with `#[path]` by `loss-core/tests/no_alloc.rs` and
//! `verify/tests/standard_library_runtime.rs`; self-contained.
#![allow(dead_code)]

use loss_core::{Float, LossError, Rows};

/// Where the numbers of an input live for the "ordinary inputs give finite
/// results" property (the wild tests ignore it and pass anything).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Domain {
    /// Any number (ordinary: within ±10).
    Any,
    /// In [0, 1], the ends included (probabilities of a binary target,
    /// label smoothing, β of smooth L1).
    Unit,
    /// ±1 (hinge and margin labels).
    Sign,
    /// Positive (weights, rates, variances, γ, δ).
    Pos,
    /// A probability row: nonnegative, some exact zeros, summing to 1.
    Prob,
    /// A log-probability: at most 0.
    LogP,
    /// `full`: exactly 0 or 1.
    Full,
    /// A small positive `eps`.
    Eps,
}

/// One input of a ready loss, in the order of its generated signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `#[grad] Vector<D>`: rows, and a gradient buffer at the end.
    Grad(Domain),
    /// `Vector<D>`: rows.
    Vector(Domain),
    /// `Class<C>`: a label per sample.
    Class,
    /// `#[ignore_index] Class<C>`: a label per sample and the ignore index
    /// (an `i64`) right after it.
    Ignore,
    /// `Weights<D>`: one row for the batch.
    Weights(Domain),
    /// `PerSample`: one number per sample.
    PerSample(Domain),
    /// `Scalar`: one number.
    Scalar(Domain),
}

/// The batch reduction of a declaration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reduce {
    /// `#[reduce(mean)]`: the mean over the kept samples (NaN for none).
    Mean,
    /// `#[reduce(mean, denominator = weight[target])]`.
    Weighted,
    /// `#[reduce(none)]`: `losses` written, `upstream` taken.
    None,
}

/// What a NaN in a differentiated input does to its sample (checked by
/// `one_nan_in_an_ordinary_batch` in verify/tests/standard_library_runtime.rs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nan {
    /// docs/dsl.md, "The generated module": a NaN anywhere in the row makes
    /// the sample's loss NaN, and its gradient (some entry of it).
    Propagates,
    /// The loss is NaN; the gradient stays finite. Keras `hinge`,
    /// `max(1 - y x, 0)`: the gradient of `max` picks a side by comparisons,
    /// which a NaN fails (0 at the NaN, where docs/dsl.md promises NaN).
    /// The PyTorch hinges that are linear in the input (`margin_ranking`,
    /// `multi_margin`, `hinge_embedding`, whose `positive_part(h)` keeps a
    /// NaN `h` in the value): their slope, ±1 or `w[y]/C`, does not depend
    /// on the input's value.
    ValueOnly,
    /// The loss reads one element of the row, the one at the label
    /// (`nll_loss`: `-x[y]`): a NaN there makes the loss NaN (its gradient,
    /// `-w[y] onehot(y)`, does not depend on `x`); a NaN elsewhere changes
    /// nothing.
    AtLabel,
}

/// A call's inputs, one [`Arg`] per generated parameter (an ignore-index
/// label is two), and the `upstream` of a `#[reduce(none)]` gradient.
#[derive(Clone, Debug)]
pub struct Call<F> {
    pub args: Vec<Arg<F>>,
    pub upstream: Vec<F>,
}

/// One parameter of `value`.
#[derive(Clone, Debug)]
pub enum Arg<F> {
    /// A `Vector` input: `Rows::new(&data, rows, width)`.
    Rows {
        data: Vec<F>,
        rows: usize,
        width: usize,
    },
    /// A label per sample (`i64`: negative labels are representable).
    Labels(Vec<i64>),
    /// The ignore index after an `#[ignore_index]` label.
    IgnoreIndex(i64),
    /// `Weights` or `PerSample`.
    Slice(Vec<F>),
    Scalar(F),
}

/// The output buffers: `losses` (for `#[reduce(none)]`) and one gradient
/// buffer per `#[grad]` input.
#[derive(Clone, Debug)]
pub struct Out<F> {
    pub losses: Vec<F>,
    pub grads: Vec<Vec<F>>,
}

/// Calls `value` (`with_grad = false`) or `value_and_grad`; `Some(value)`
/// for a reduced loss, `None` for a per-sample one (which wrote `losses`).
pub type Run<F> = fn(&Call<F>, &mut Out<F>, bool) -> Result<Option<F>, LossError>;

/// One ready loss.
pub struct Loss {
    pub name: &'static str,
    pub reduce: Reduce,
    pub kinds: &'static [Kind],
    /// What a NaN in a differentiated input does to its sample.
    pub nan: Nan,
    run_f64: Run<f64>,
    run_f32: Run<f32>,
}

/// `f32` and `f64`, with the loss's function for each.
pub trait TableFloat: Float {
    const NAME: &'static str;
    fn run_of(loss: &Loss) -> Run<Self>;
    /// The value's bits (as an exact `f64`), for bit-for-bit comparisons.
    fn bits(self) -> u64 {
        self.to_f64().to_bits()
    }
}

impl TableFloat for f64 {
    const NAME: &'static str = "f64";
    fn run_of(loss: &Loss) -> Run<f64> {
        loss.run_f64
    }
}

impl TableFloat for f32 {
    const NAME: &'static str = "f32";
    fn run_of(loss: &Loss) -> Run<f32> {
        loss.run_f32
    }
}

/// A quiet NaN with a payload no arithmetic produces (computed NaNs are the
/// default NaN or carry an input's payload): a buffer entry still equal to
/// it was not written.
pub fn sentinel<F: Float>() -> F {
    F::from_f64(f64::from_bits(0x7ffd_eadb_eef0_0000))
}

/// `true` if `x` is the [`sentinel`].
pub fn is_sentinel<F: Float>(x: F) -> bool {
    x.to_f64().to_bits() == sentinel::<F>().to_f64().to_bits()
}

impl Loss {
    /// `value` (`with_grad = false`) or `value_and_grad` in `F`.
    pub fn run<F: TableFloat>(
        &self,
        call: &Call<F>,
        out: &mut Out<F>,
        with_grad: bool,
    ) -> Result<Option<F>, LossError> {
        F::run_of(self)(call, out, with_grad)
    }

    /// Number of `#[grad]` inputs.
    pub fn grads(&self) -> usize {
        self.kinds
            .iter()
            .filter(|k| matches!(k, Kind::Grad(_)))
            .count()
    }

    /// Output buffers for `n` samples of width `c`, filled with the
    /// [`sentinel`].
    pub fn out<F: Float>(&self, n: usize, c: usize) -> Out<F> {
        let losses = if self.reduce == Reduce::None { n } else { 0 };
        Out {
            losses: vec![sentinel(); losses],
            grads: vec![vec![sentinel(); n * c]; self.grads()],
        }
    }

    /// `(kind, arg index)` for each kind: where its parameter sits in
    /// `Call::args` (an ignore-index label takes two).
    pub fn arg_positions(&self) -> impl Iterator<Item = (Kind, usize)> + '_ {
        self.kinds.iter().scan(0, |next, &k| {
            let at = *next;
            *next += if k == Kind::Ignore { 2 } else { 1 };
            Some((k, at))
        })
    }

    /// Whether the generated shape and label checks accept the call: the
    /// rules of docs/dsl.md ("The generated module") written independently.
    /// Every row buffer as long as its shape, one batch size for every
    /// per-sample input, one width for the (single) dim, every label in
    /// `0..width` or equal to the ignore index, `losses` and `upstream` of
    /// length `n`, gradients of `n × width`. (A dim of width 0 is never
    /// generated: its rules differ by loss.)
    pub fn accepts<F: Float>(&self, call: &Call<F>, out: &Out<F>, with_grad: bool) -> bool {
        let mut batch: Option<usize> = None;
        let mut width: Option<usize> = None;
        let same = |slot: &mut Option<usize>, v: usize| match *slot {
            None => {
                *slot = Some(v);
                true
            }
            Some(w) => w == v,
        };
        let mut ok = true;
        for (kind, at) in self.arg_positions() {
            match (&call.args[at], kind) {
                (
                    Arg::Rows {
                        data,
                        rows,
                        width: w,
                    },
                    Kind::Grad(_) | Kind::Vector(_),
                ) => {
                    ok &= data.len() == rows * w;
                    ok &= same(&mut batch, *rows);
                    ok &= same(&mut width, *w);
                }
                (Arg::Labels(l), Kind::Class | Kind::Ignore) => ok &= same(&mut batch, l.len()),
                (Arg::Slice(s), Kind::Weights(_)) => ok &= same(&mut width, s.len()),
                (Arg::Slice(s), Kind::PerSample(_)) => ok &= same(&mut batch, s.len()),
                (Arg::Scalar(_), Kind::Scalar(_)) => {}
                (_, k) => panic!("{}: wrong argument for a {k:?}", self.name),
            }
        }
        let n = batch.unwrap_or(0);
        let c = width.unwrap_or(0);
        if !ok {
            return false;
        }
        for (kind, at) in self.arg_positions() {
            if let Arg::Labels(l) = &call.args[at] {
                let ignore = match kind {
                    Kind::Ignore => self.ignore_index(call),
                    _ => None,
                };
                ok &= l
                    .iter()
                    .all(|&y| (0..c as i64).contains(&y) || Some(y) == ignore);
            }
        }
        if self.reduce == Reduce::None {
            ok &= out.losses.len() == n;
            ok &= !with_grad || call.upstream.len() == n;
        }
        if with_grad {
            ok &= out.grads.iter().all(|g| g.len() == n * c);
        }
        ok
    }

    /// The ignore index, if the loss has one.
    pub fn ignore_index<F>(&self, call: &Call<F>) -> Option<i64> {
        self.arg_positions()
            .find(|(k, _)| *k == Kind::Ignore)
            .map(|(_, at)| match call.args[at + 1] {
                Arg::IgnoreIndex(i) => i,
                _ => panic!("{}: no ignore index after the label", self.name),
            })
    }

    /// `true` if sample `i`'s label is the ignore index (it is skipped).
    pub fn is_ignored<F>(&self, call: &Call<F>, i: usize) -> bool {
        match (self.ignore_index(call), self.labels(call)) {
            (Some(ignore), Some(l)) => l[i] == ignore,
            _ => false,
        }
    }

    /// The labels, if the loss has any.
    pub fn labels<'a, F>(&self, call: &'a Call<F>) -> Option<&'a [i64]> {
        self.arg_positions()
            .find_map(|(_, at)| match &call.args[at] {
                Arg::Labels(l) => Some(&l[..]),
                _ => None,
            })
    }

    /// The row buffers of the `#[grad]` inputs, in order (the inputs the
    /// gradient buffers belong to).
    pub fn grad_inputs<'a, F>(&self, call: &'a Call<F>) -> Vec<&'a [F]> {
        self.arg_positions()
            .filter(|(k, _)| matches!(k, Kind::Grad(_)))
            .map(|(_, at)| match &call.args[at] {
                Arg::Rows { data, .. } => &data[..],
                _ => panic!("{}: no rows for a #[grad] vector", self.name),
            })
            .collect()
    }
}

/// `f64` inputs rounded to `F` (±1e308 become infinities in f32, f64
/// subnormals zeros).
pub fn convert<F: Float>(call: &Call<f64>) -> Call<F> {
    let v = |x: &[f64]| x.iter().map(|&x| F::from_f64(x)).collect::<Vec<F>>();
    Call {
        args: call
            .args
            .iter()
            .map(|a| match a {
                Arg::Rows { data, rows, width } => Arg::Rows {
                    data: v(data),
                    rows: *rows,
                    width: *width,
                },
                Arg::Labels(l) => Arg::Labels(l.clone()),
                Arg::IgnoreIndex(i) => Arg::IgnoreIndex(*i),
                Arg::Slice(s) => Arg::Slice(v(s)),
                Arg::Scalar(x) => Arg::Scalar(F::from_f64(*x)),
            })
            .collect(),
        upstream: v(&call.upstream),
    }
}

/// Where the numbers and labels of a generated call come from.
pub trait Source {
    /// `len` numbers of `domain` (a row, the weights, the per-sample
    /// inputs, a scalar, the upstream).
    fn row(&mut self, domain: Domain, len: usize) -> Vec<f64>;
    /// One label of `classes`; `ignore` is the loss's ignore index, if any.
    fn label(&mut self, classes: usize, ignore: Option<i64>) -> i64;
    /// The ignore index of a loss that has one.
    fn ignore_index(&mut self, classes: usize) -> i64;
}

impl Loss {
    /// A call on `n` samples of width `c`, each number and label from `src`
    /// (for `#[reduce(none)]`, an upstream of `Domain::Any`).
    pub fn call(&self, n: usize, c: usize, src: &mut impl Source) -> Call<f64> {
        let mut args = Vec::new();
        for &kind in self.kinds {
            match kind {
                Kind::Grad(d) | Kind::Vector(d) => {
                    let mut data = Vec::with_capacity(n * c);
                    for _ in 0..n {
                        data.extend(src.row(d, c));
                    }
                    args.push(Arg::Rows {
                        data,
                        rows: n,
                        width: c,
                    });
                }
                Kind::Class => args.push(Arg::Labels((0..n).map(|_| src.label(c, None)).collect())),
                Kind::Ignore => {
                    let ignore = src.ignore_index(c);
                    let l = (0..n).map(|_| src.label(c, Some(ignore))).collect();
                    args.push(Arg::Labels(l));
                    args.push(Arg::IgnoreIndex(ignore));
                }
                Kind::Weights(d) => args.push(Arg::Slice(src.row(d, c))),
                Kind::PerSample(d) => args.push(Arg::Slice(src.row(d, n))),
                Kind::Scalar(d) => args.push(Arg::Scalar(src.row(d, 1)[0])),
            }
        }
        let upstream = if self.reduce == Reduce::None {
            src.row(Domain::Any, n)
        } else {
            Vec::new()
        };
        Call { args, upstream }
    }

    /// How many numbers [`Loss::call`] asks `src.row` for, and how many labels.
    pub fn draws(&self, n: usize, c: usize) -> (usize, usize) {
        let mut numbers = if self.reduce == Reduce::None { n } else { 0 };
        let mut labels = 0;
        for &kind in self.kinds {
            match kind {
                Kind::Grad(_) | Kind::Vector(_) => numbers += n * c,
                Kind::Class | Kind::Ignore => labels += n,
                Kind::Weights(_) => numbers += c,
                Kind::PerSample(_) => numbers += n,
                Kind::Scalar(_) => numbers += 1,
            }
        }
        (numbers, labels)
    }
}

/// Ordinary inputs, each in its [`Domain`], made from uniform numbers in
/// [0, 1) (`next`): what every loss must map to a finite value and
/// gradient. Labels are in range; an `#[ignore_index]` label is `-100`
/// (PyTorch's default ignore index) with probability 1/5.
pub struct Ordinary<U: FnMut() -> f64>(pub U);

impl<U: FnMut() -> f64> Source for Ordinary<U> {
    fn row(&mut self, domain: Domain, len: usize) -> Vec<f64> {
        let mut row: Vec<f64> = (0..len)
            .map(|_| {
                let u = (self.0)();
                match domain {
                    Domain::Any => -10.0 + 20.0 * u,
                    Domain::Unit if u < 0.1 => 0.0,
                    Domain::Unit if u >= 0.9 => 1.0,
                    Domain::Unit => (u - 0.1) / 0.8,
                    Domain::Sign if u < 0.5 => -1.0,
                    Domain::Sign => 1.0,
                    Domain::Pos => 0.01 + 5.0 * u,
                    Domain::Prob if u < 0.3 => 0.0,
                    Domain::Prob => u,
                    Domain::LogP => -10.0 * u,
                    Domain::Full if u < 0.5 => 0.0,
                    Domain::Full => 1.0,
                    Domain::Eps => 1e-8 * 1e5f64.powf(u),
                }
            })
            .collect();
        if domain == Domain::Prob && len > 0 {
            if row.iter().all(|&p| p == 0.0) {
                row[len - 1] = 1.0;
            }
            let total: f64 = row.iter().sum();
            row.iter_mut().for_each(|p| *p /= total);
        }
        row
    }

    fn label(&mut self, classes: usize, ignore: Option<i64>) -> i64 {
        let u = (self.0)();
        match ignore {
            Some(i) if u < 0.2 => i,
            Some(_) => (((u - 0.2) / 0.8 * classes as f64) as i64).min(classes as i64 - 1),
            None => ((u * classes as f64) as i64).min(classes as i64 - 1),
        }
    }

    fn ignore_index(&mut self, _classes: usize) -> i64 {
        -100
    }
}

// The parameters, read in order by the generated calls. A mismatch is a bug
// of the table, not of the loss.
fn rows<'a, F>(a: Option<&'a Arg<F>>) -> Rows<'a, F> {
    match a {
        Some(Arg::Rows { data, rows, width }) => Rows::new(data, *rows, *width),
        _ => panic!("expected rows"),
    }
}

fn labels<F>(a: Option<&Arg<F>>) -> &[i64] {
    match a {
        Some(Arg::Labels(l)) => l,
        _ => panic!("expected labels"),
    }
}

fn index<F>(a: Option<&Arg<F>>) -> i64 {
    match a {
        Some(Arg::IgnoreIndex(i)) => *i,
        _ => panic!("expected an ignore index"),
    }
}

fn slice<F>(a: Option<&Arg<F>>) -> &[F] {
    match a {
        Some(Arg::Slice(s)) => s,
        _ => panic!("expected a slice"),
    }
}

fn scalar<F: Copy>(a: Option<&Arg<F>>) -> F {
    match a {
        Some(Arg::Scalar(x)) => *x,
        _ => panic!("expected a scalar"),
    }
}

/// Writes the call of one loss from its kinds: each kind appends its
/// parameters (`$a`), each `grad` also a gradient buffer (`$gr`); then the
/// reduction decides where `losses` and `upstream` go.
macro_rules! invoke {
    ($name:ident $reduce:ident $mode:ident $it:ident $l:ident $u:ident $g:ident [$($a:tt)*] [$($gr:tt)*]) => {
        invoke!(@call $reduce $mode $name $l $u [$($a)*] [$($gr)*])
    };
    ($name:ident $reduce:ident $mode:ident $it:ident $l:ident $u:ident $g:ident [$($a:tt)*] [$($gr:tt)*] grad($d:ident) $(, $($rest:tt)*)?) => {
        invoke!($name $reduce $mode $it $l $u $g [$($a)* rows($it.next()),]
            [$($gr)* &mut $g.next().expect("a gradient buffer per #[grad] input")[..],] $($($rest)*)?)
    };
    ($name:ident $reduce:ident $mode:ident $it:ident $l:ident $u:ident $g:ident [$($a:tt)*] [$($gr:tt)*] vector($d:ident) $(, $($rest:tt)*)?) => {
        invoke!($name $reduce $mode $it $l $u $g [$($a)* rows($it.next()),] [$($gr)*] $($($rest)*)?)
    };
    ($name:ident $reduce:ident $mode:ident $it:ident $l:ident $u:ident $g:ident [$($a:tt)*] [$($gr:tt)*] class $(, $($rest:tt)*)?) => {
        invoke!($name $reduce $mode $it $l $u $g [$($a)* labels($it.next()),] [$($gr)*] $($($rest)*)?)
    };
    ($name:ident $reduce:ident $mode:ident $it:ident $l:ident $u:ident $g:ident [$($a:tt)*] [$($gr:tt)*] ignore $(, $($rest:tt)*)?) => {
        invoke!($name $reduce $mode $it $l $u $g [$($a)* labels($it.next()), index($it.next()),] [$($gr)*] $($($rest)*)?)
    };
    ($name:ident $reduce:ident $mode:ident $it:ident $l:ident $u:ident $g:ident [$($a:tt)*] [$($gr:tt)*] weights($d:ident) $(, $($rest:tt)*)?) => {
        invoke!($name $reduce $mode $it $l $u $g [$($a)* slice($it.next()),] [$($gr)*] $($($rest)*)?)
    };
    ($name:ident $reduce:ident $mode:ident $it:ident $l:ident $u:ident $g:ident [$($a:tt)*] [$($gr:tt)*] per_sample($d:ident) $(, $($rest:tt)*)?) => {
        invoke!($name $reduce $mode $it $l $u $g [$($a)* slice($it.next()),] [$($gr)*] $($($rest)*)?)
    };
    ($name:ident $reduce:ident $mode:ident $it:ident $l:ident $u:ident $g:ident [$($a:tt)*] [$($gr:tt)*] scalar($d:ident) $(, $($rest:tt)*)?) => {
        invoke!($name $reduce $mode $it $l $u $g [$($a)* scalar($it.next()),] [$($gr)*] $($($rest)*)?)
    };
    (@call none value $name:ident $l:ident $u:ident [$($a:tt)*] [$($gr:tt)*]) => {
        loss_core::losses::$name::value($($a)* &mut $l[..]).map(|()| None)
    };
    (@call none grad $name:ident $l:ident $u:ident [$($a:tt)*] [$($gr:tt)*]) => {
        loss_core::losses::$name::value_and_grad($($a)* &mut $l[..], &$u[..], $($gr)*).map(|()| None)
    };
    (@call $reduce:ident value $name:ident $l:ident $u:ident [$($a:tt)*] [$($gr:tt)*]) => {
        loss_core::losses::$name::value($($a)*).map(Some)
    };
    (@call $reduce:ident grad $name:ident $l:ident $u:ident [$($a:tt)*] [$($gr:tt)*]) => {
        loss_core::losses::$name::value_and_grad($($a)* $($gr)*).map(Some)
    };
}

macro_rules! kind {
    (grad($d:ident)) => {
        Kind::Grad(Domain::$d)
    };
    (vector($d:ident)) => {
        Kind::Vector(Domain::$d)
    };
    (class) => {
        Kind::Class
    };
    (ignore) => {
        Kind::Ignore
    };
    (weights($d:ident)) => {
        Kind::Weights(Domain::$d)
    };
    (per_sample($d:ident)) => {
        Kind::PerSample(Domain::$d)
    };
    (scalar($d:ident)) => {
        Kind::Scalar(Domain::$d)
    };
}

macro_rules! reduce {
    (mean) => {
        Reduce::Mean
    };
    (weighted) => {
        Reduce::Weighted
    };
    (none) => {
        Reduce::None
    };
}

macro_rules! nan {
    () => {
        Nan::Propagates
    };
    ($n:ident) => {
        Nan::$n
    };
}

/// `name: reduction [inputs in signature order] nan(policy)?;`
/// (no `nan(...)`: `Nan::Propagates`).
macro_rules! table {
    ($( $name:ident : $reduce:ident [ $($kind:ident $(($d:ident))?),* ] $(nan($($nan:tt)*))? ; )*) => {
        $(
            mod $name {
                use super::*;

                // `up` is used by the `#[reduce(none)]` losses only.
                #[allow(unused_variables)]
                pub fn run<F: Float>(
                    call: &Call<F>,
                    out: &mut Out<F>,
                    with_grad: bool,
                ) -> Result<Option<F>, LossError> {
                    let mut it = call.args.iter();
                    let Out { losses, grads } = out;
                    let up = &call.upstream;
                    let mut g = grads.iter_mut();
                    let result = if with_grad {
                        invoke!($name $reduce grad it losses up g [] [] $($kind $(($d))?),*)
                    } else {
                        invoke!($name $reduce value it losses up g [] [] $($kind $(($d))?),*)
                    };
                    assert!(it.next().is_none(), "{}: arguments left over", stringify!($name));
                    result
                }
            }
        )*

        /// Every ready loss of `loss_core::losses`.
        pub const LOSSES: &[Loss] = &[$(
            Loss {
                name: stringify!($name),
                reduce: reduce!($reduce),
                kinds: &[$(kind!($kind $(($d))?)),*],
                nan: nan!($($($nan)*)?),
                run_f64: $name::run::<f64>,
                run_f32: $name::run::<f32>,
            }
        ),*];
    };
}

table! {
    // ---- classification.rs
    cross_entropy: mean [grad(Any), class];
    cross_entropy_soft: mean [grad(Any), vector(Prob)];
    cross_entropy_weighted: weighted [grad(Any), ignore, weights(Pos), scalar(Unit)];
    cross_entropy_per_sample: none [grad(Any), ignore, weights(Pos), scalar(Unit)];
    cross_entropy_soft_weighted: mean [grad(Any), vector(Prob), weights(Pos), scalar(Unit)];
    cross_entropy_soft_per_sample: none [grad(Any), vector(Prob), weights(Pos), scalar(Unit)];
    nll_loss: mean [grad(Any), class] nan(AtLabel);
    nll_loss_weighted: weighted [grad(Any), ignore, weights(Pos)] nan(AtLabel);
    nll_loss_per_sample: none [grad(Any), ignore, weights(Pos)] nan(AtLabel);
    binary_cross_entropy: mean [grad(Unit), vector(Unit)];
    binary_cross_entropy_weighted: mean [grad(Unit), vector(Unit), vector(Pos)];
    binary_cross_entropy_per_sample: none [grad(Unit), vector(Unit), vector(Pos)];
    binary_cross_entropy_with_logits: mean [grad(Any), vector(Unit)];
    binary_cross_entropy_with_logits_weighted: mean [grad(Any), vector(Unit), vector(Pos), weights(Pos)];
    binary_cross_entropy_with_logits_per_sample: none [grad(Any), vector(Unit), vector(Pos), weights(Pos)];
    sigmoid_focal_loss: mean [grad(Any), vector(Unit), scalar(Any), scalar(Pos)];
    sigmoid_focal_loss_per_sample: none [grad(Any), vector(Unit), scalar(Any), scalar(Pos)];
    poly1_cross_entropy: mean [grad(Any), class, scalar(Any)];
    poly1_cross_entropy_per_sample: none [grad(Any), class, scalar(Any)];
    multi_margin_loss: mean [grad(Any), class, scalar(Any), weights(Pos)] nan(ValueOnly);
    multi_margin_loss_per_sample: none [grad(Any), class, scalar(Any), weights(Pos)] nan(ValueOnly);
    multi_margin_loss_squared: mean [grad(Any), class, scalar(Any), weights(Pos)];
    multi_margin_loss_squared_per_sample: none [grad(Any), class, scalar(Any), weights(Pos)];
    multilabel_soft_margin_loss: mean [grad(Any), vector(Unit), weights(Pos)];
    multilabel_soft_margin_loss_per_sample: none [grad(Any), vector(Unit), weights(Pos)];
    soft_margin_loss: mean [grad(Any), vector(Sign)];
    soft_margin_loss_per_sample: none [grad(Any), vector(Sign)];
    hinge: mean [grad(Any), vector(Sign)] nan(ValueOnly);
    hinge_per_sample: none [grad(Any), vector(Sign), per_sample(Any)] nan(ValueOnly);
    squared_hinge: mean [grad(Any), vector(Sign)];
    squared_hinge_per_sample: none [grad(Any), vector(Sign), per_sample(Any)];
    categorical_hinge: mean [grad(Any), vector(Prob)];
    categorical_hinge_per_sample: none [grad(Any), vector(Prob), per_sample(Any)];

    // ---- divergence.rs
    kl_div_logits: mean [grad(Any), vector(Prob)];
    kl_div: mean [grad(LogP), grad(Prob)];
    kl_div_per_sample: none [grad(LogP), grad(Prob)];
    kl_div_log_target: mean [grad(LogP), grad(LogP)];
    kl_div_log_target_per_sample: none [grad(LogP), grad(LogP)];
    generalized_kl: mean [grad(Prob), grad(Pos)];
    generalized_kl_per_sample: none [grad(Prob), grad(Pos)];
    js_divergence: mean [grad(Prob), grad(Prob)];
    js_divergence_per_sample: none [grad(Prob), grad(Prob)];
    entropy: mean [grad(Prob)];
    entropy_per_sample: none [grad(Prob)];

    // ---- ranking.rs
    cosine_similarity: mean [grad(Any), grad(Any)];
    cosine_similarity_per_sample: none [grad(Any), grad(Any), per_sample(Any)];
    cosine_embedding_loss: mean [grad(Any), grad(Any), per_sample(Sign), scalar(Any)];
    cosine_embedding_loss_per_sample: none [grad(Any), grad(Any), per_sample(Sign), scalar(Any)];
    hinge_embedding_loss: mean [grad(Any), vector(Sign), scalar(Any)] nan(ValueOnly);
    hinge_embedding_loss_per_sample: none [grad(Any), vector(Sign), scalar(Any)] nan(ValueOnly);
    margin_ranking_loss: mean [grad(Any), grad(Any), vector(Sign), scalar(Any)] nan(ValueOnly);
    margin_ranking_loss_per_sample: none [grad(Any), grad(Any), vector(Sign), scalar(Any)] nan(ValueOnly);
    triplet_margin_loss: mean [grad(Any), grad(Any), grad(Any), scalar(Any), scalar(Eps)];
    triplet_margin_loss_per_sample: none [grad(Any), grad(Any), grad(Any), scalar(Any), scalar(Eps)];
    triplet_margin_loss_swap: mean [grad(Any), grad(Any), grad(Any), scalar(Any), scalar(Eps)];
    triplet_margin_loss_swap_per_sample: none [grad(Any), grad(Any), grad(Any), scalar(Any), scalar(Eps)];
    triplet_margin_loss_l1: mean [grad(Any), grad(Any), grad(Any), scalar(Any), scalar(Eps)];
    triplet_margin_loss_l1_per_sample: none [grad(Any), grad(Any), grad(Any), scalar(Any), scalar(Eps)];
    triplet_margin_loss_l1_swap: mean [grad(Any), grad(Any), grad(Any), scalar(Any), scalar(Eps)];
    triplet_margin_loss_l1_swap_per_sample: none [grad(Any), grad(Any), grad(Any), scalar(Any), scalar(Eps)];

    // ---- regression.rs
    mse: mean [grad(Any), vector(Any)];
    mse_per_sample: none [grad(Any), vector(Any)];
    l1_loss: mean [grad(Any), vector(Any)];
    l1_loss_per_sample: none [grad(Any), vector(Any)];
    smooth_l1_loss: mean [grad(Any), vector(Any), scalar(Unit)];
    smooth_l1_loss_per_sample: none [grad(Any), vector(Any), scalar(Unit)];
    huber_loss: mean [grad(Any), vector(Any), scalar(Pos)];
    huber_loss_per_sample: none [grad(Any), vector(Any), scalar(Pos)];
    log_cosh: mean [grad(Any), vector(Any)];
    log_cosh_per_sample: none [grad(Any), vector(Any), per_sample(Any)];
    mean_absolute_percentage_error: mean [grad(Any), vector(Any)];
    mean_absolute_percentage_error_per_sample: none [grad(Any), vector(Any), per_sample(Any)];
    mean_squared_logarithmic_error: mean [grad(Any), vector(Any)];
    mean_squared_logarithmic_error_per_sample: none [grad(Any), vector(Any), per_sample(Any)];
    keras_poisson: mean [grad(Pos), vector(Pos)];
    keras_poisson_per_sample: none [grad(Pos), vector(Pos), per_sample(Any)];
    poisson_nll_loss: mean [grad(Any), vector(Pos), scalar(Full)];
    poisson_nll_loss_per_sample: none [grad(Any), vector(Pos), scalar(Full)];
    poisson_nll_loss_rate: mean [grad(Pos), vector(Pos), scalar(Full), scalar(Eps)];
    poisson_nll_loss_rate_per_sample: none [grad(Pos), vector(Pos), scalar(Full), scalar(Eps)];
    gaussian_nll_loss: mean [grad(Any), vector(Any), grad(Pos), scalar(Full), scalar(Eps)];
    gaussian_nll_loss_per_sample: none [grad(Any), vector(Any), grad(Pos), scalar(Full), scalar(Eps)];
}
