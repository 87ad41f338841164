//! The check users run: a fast loss's value and gradient against the exact
//! enclosures of a reference implementation.

use core::fmt;

use crate::ulps::{distances, mignitude};
use crate::{with_precision, Dual, FastFloat, Interval, IntervalError};

// `ScalarFn` lives in loss-core, so that the code `loss!` generates can
// implement it without depending on this crate.
pub use loss_core::ScalarFn;

/// When a fast result passes.
///
/// The value passes when it is within `value_ulps` ULPs (of the fast type) of
/// the exact value, or within `value_abs` absolutely (useful where the exact
/// value is zero and ULPs lose their meaning). A gradient component passes
/// when `|got - exact| <= gradient_rel · ‖exact gradient‖∞ + gradient_abs`:
/// errors are measured against the largest component, since a small
/// component computed as a difference of large terms cannot be expected to
/// have a small relative error.
///
/// ```
/// use verify::Tolerance;
/// let t = Tolerance::default_for::<f32>();
/// assert_eq!(t.gradient_rel, 16.0 * f32::EPSILON as f64);
/// let strict = Tolerance { value_ulps: 1.0, value_abs: 0.0, ..Tolerance::default_for::<f64>() };
/// assert_eq!(strict.gradient_abs, f64::MIN_POSITIVE);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerance {
    /// Allowed distance of the value from the exact one, in ULPs.
    pub value_ulps: f64,
    /// Allowed absolute distance of the value (an alternative to ULPs).
    pub value_abs: f64,
    /// Allowed error of each gradient component, relative to the max-norm
    /// of the exact gradient.
    pub gradient_rel: f64,
    /// Allowed absolute error of each gradient component, on top.
    pub gradient_abs: f64,
}

impl Tolerance {
    /// 4 ULPs for the value, `16 ε` of the max-norm for the gradient, and the
    /// smallest normal number absolutely for both (underflow is not a bug):
    /// what a careful fused implementation (pairwise sums, stable rewrites)
    /// achieves on rows of moderate length.
    ///
    /// ```
    /// use verify::Tolerance;
    /// assert_eq!(Tolerance::default_for::<f64>().value_ulps, 4.0);
    /// ```
    pub fn default_for<F: FastFloat>() -> Tolerance {
        // Differences below the smallest normal number are underflow, not
        // bugs: a gradient of e^-10000 is 0 in every float type.
        let smallest_normal = 2f64.powi(F::MIN_EXP - 1);
        Tolerance {
            value_ulps: 4.0,
            value_abs: smallest_normal,
            gradient_rel: 16.0 * F::EPSILON.to_f64(),
            gradient_abs: smallest_normal,
        }
    }
}

/// Enclosures start at this precision ...
const START_PRECISION: u32 = 128;
/// ... and double while a verdict depends on the enclosure's width, up to this.
const MAX_PRECISION: u32 = 4096;

/// The value's part of a [`Report`].
#[derive(Clone, Debug)]
pub struct ValueReport {
    /// The exact value's enclosure.
    pub expected: Interval,
    /// The fast value.
    pub got: f64,
    /// Distance from the enclosure in ULPs of the fast type (a lower bound
    /// of the distance from the true value; the upper bound differs by the
    /// enclosure's width).
    pub ulps: f64,
    /// Absolute distance from the enclosure.
    pub abs_error: f64,
    /// Within tolerance.
    pub passed: bool,
}

/// One gradient component of a [`Report`].
#[derive(Clone, Debug)]
pub struct GradientReport {
    /// The input index.
    pub index: usize,
    /// The exact partial derivative's enclosure.
    pub expected: Interval,
    /// The fast gradient's component.
    pub got: f64,
    /// Absolute distance from the enclosure.
    pub abs_error: f64,
    /// `abs_error` divided by the exact gradient's max-norm.
    pub rel_error: f64,
    /// Within tolerance.
    pub passed: bool,
}

/// Why a check could not compare the numbers.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Problem {
    /// The gradient has another length than the inputs.
    LengthMismatch {
        /// Number of inputs.
        inputs: usize,
        /// Length of the gradient given.
        gradient: usize,
    },
    /// The reference has no value (or no derivative) at this point.
    ReferenceUndefined(IntervalError),
    /// The fast path returned an error instead of a value.
    FastPathFailed(loss_core::LossError),
    /// Even at the highest precision the enclosures are too wide to decide
    /// whether the tolerance is met (the verdicts shown are optimistic).
    Undecided {
        /// The precision reached.
        precision: u32,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::LengthMismatch { inputs, gradient } => {
                write!(f, "the gradient has {gradient} components but there are {inputs} inputs")
            }
            Problem::ReferenceUndefined(e) => write!(f, "the reference is undefined at this point: {e}"),
            Problem::FastPathFailed(e) => write!(f, "the fast path failed: {e}"),
            Problem::Undecided { precision } => write!(
                f,
                "enclosures at {precision} bits are still too wide to decide the tolerance; loosen it \
                 or set an absolute tolerance"
            ),
        }
    }
}

/// The outcome of comparing a fast value (and gradient) with the exact ones.
///
/// `Display` says what failed, where, and by how much: the input index, the
/// exact enclosure as decimals, the fast number, and the distance (in ULPs
/// for the value, relative to the gradient's max-norm for the gradient).
///
/// ```
/// use loss_core::Real;
/// use verify::{check_value_and_grad, ScalarFn, Tolerance};
/// struct Square;
/// impl ScalarFn for Square {
///     fn eval<R: Real>(&self, x: &[R]) -> R { x[0].clone() * x[0].clone() }
/// }
/// let r = check_value_and_grad(&Square, &[3.0_f64], 9.0, &[5.0], Tolerance::default_for::<f64>());
/// assert!(!r.passed());
/// assert!(r.to_string().contains("x[0]"), "{r}");
/// ```
#[derive(Clone, Debug)]
pub struct Report {
    /// The fast type's name (`f32`, `f64`).
    pub float: &'static str,
    /// Bits of the enclosures behind the verdicts.
    pub precision: u32,
    /// The tolerance applied.
    pub tolerance: Tolerance,
    /// The value's comparison (`None` if the reference is undefined).
    pub value: Option<ValueReport>,
    /// The gradient's comparison (empty for a value-only check).
    pub gradient: Vec<GradientReport>,
    /// A lower bound of the exact gradient's max-norm.
    pub gradient_scale: f64,
    /// What prevented a complete comparison, if anything.
    pub problem: Option<Problem>,
}

impl Report {
    /// `true` if everything compared is within tolerance and nothing
    /// prevented the comparison.
    ///
    /// ```
    /// use loss_core::Real;
    /// use verify::{check_value, ScalarFn, Tolerance};
    /// struct Exp;
    /// impl ScalarFn for Exp {
    ///     fn eval<R: Real>(&self, x: &[R]) -> R { x[0].clone().exp() }
    /// }
    /// assert!(check_value(&Exp, &[1.0_f64], 1f64.exp(), Tolerance::default_for::<f64>()).passed());
    /// ```
    pub fn passed(&self) -> bool {
        self.problem.is_none()
            && self.value.as_ref().is_some_and(|v| v.passed)
            && self.gradient.iter().all(|g| g.passed)
    }

    /// The gradient components outside tolerance.
    ///
    /// ```
    /// use loss_core::Real;
    /// use verify::{check_value_and_grad, ScalarFn, Tolerance};
    /// struct Dot;
    /// impl ScalarFn for Dot {
    ///     fn eval<R: Real>(&self, x: &[R]) -> R { x[0].clone() * x[1].clone() }
    /// }
    /// let r = check_value_and_grad(&Dot, &[2.0_f32, 3.0], 6.0, &[3.0, 2.5], Tolerance::default_for::<f32>());
    /// assert_eq!(r.gradient_failures().map(|g| g.index).collect::<Vec<_>>(), vec![1]);
    /// ```
    pub fn gradient_failures(&self) -> impl Iterator<Item = &GradientReport> {
        self.gradient.iter().filter(|g| !g.passed)
    }

    /// The largest gradient error relative to the max-norm.
    ///
    /// ```
    /// use loss_core::Real;
    /// use verify::{check_value_and_grad, ScalarFn, Tolerance};
    /// struct Half;
    /// impl ScalarFn for Half {
    ///     fn eval<R: Real>(&self, x: &[R]) -> R { x[0].clone() * R::from_f64(0.5) }
    /// }
    /// let r = check_value_and_grad(&Half, &[1.0_f64], 0.5, &[0.5], Tolerance::default_for::<f64>());
    /// assert_eq!(r.worst_gradient_error(), 0.0);
    /// ```
    pub fn worst_gradient_error(&self) -> f64 {
        self.gradient
            .iter()
            .map(|g| g.rel_error)
            .fold(0.0, f64::max)
    }

    /// Panics with the report unless it passed.
    ///
    /// ```should_panic
    /// use loss_core::Real;
    /// use verify::{check_value, ScalarFn, Tolerance};
    /// struct Ln;
    /// impl ScalarFn for Ln {
    ///     fn eval<R: Real>(&self, x: &[R]) -> R { x[0].clone().ln() }
    /// }
    /// check_value(&Ln, &[0.0_f64], f64::NEG_INFINITY, Tolerance::default_for::<f64>()).assert_passed();
    /// ```
    pub fn assert_passed(&self) {
        if !self.passed() {
            panic!("{self}");
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.passed() { "passed" } else { "FAILED" };
        let what = if self.gradient.is_empty() {
            "value"
        } else {
            "value and gradient"
        };
        writeln!(
            f,
            "{what} check {verdict} ({}, enclosures at {} bits)",
            self.float, self.precision
        )?;
        if let Some(p) = &self.problem {
            writeln!(f, "  problem: {p}")?;
        }
        let t = &self.tolerance;
        if let Some(v) = &self.value {
            writeln!(
                f,
                "  value: expected {}, got {:e}: {:.3} ULP, abs error {:.3e} (tolerance {} ULP or {:e} absolute){}",
                v.expected,
                v.got,
                v.ulps,
                v.abs_error,
                t.value_ulps,
                t.value_abs,
                if v.passed { "" } else { "  <-- FAIL" }
            )?;
        }
        if self.gradient.is_empty() {
            return Ok(());
        }
        writeln!(
            f,
            "  gradient: max-norm {:.6e}, tolerance {:.3e} of it + {:e} absolute",
            self.gradient_scale, t.gradient_rel, t.gradient_abs
        )?;
        let line = |f: &mut fmt::Formatter<'_>, g: &GradientReport, tag: &str| {
            writeln!(
                f,
                "    x[{}]: expected {}, got {:e}, off by {:.3e} = {:.3e} of max-norm{tag}",
                g.index, g.expected, g.got, g.abs_error, g.rel_error
            )
        };
        let failures = self.gradient_failures().count();
        for g in self.gradient_failures() {
            line(f, g, "  <-- FAIL")?;
        }
        let worst_passing = self
            .gradient
            .iter()
            .filter(|g| g.passed)
            .max_by(|a, b| a.rel_error.total_cmp(&b.rel_error));
        if let Some(g) = worst_passing {
            writeln!(
                f,
                "    {} of {} components within tolerance; the worst of them:",
                self.gradient.len() - failures,
                self.gradient.len()
            )?;
            line(f, g, "")?;
        }
        Ok(())
    }
}

/// A verdict from bounds on a distance: `Some(true)` if even the upper bound
/// is within tolerance, `Some(false)` if even the lower bound exceeds it,
/// `None` if the enclosure's width decides.
fn verdict(near: f64, far: f64, tolerance: f64) -> Option<bool> {
    if far <= tolerance {
        Some(true)
    } else if near > tolerance {
        Some(false)
    } else {
        None
    }
}

/// The reference's value and, if `n_grad > 0`, gradient enclosures at `x`.
fn evaluate<S: ScalarFn + ?Sized>(
    reference: &S,
    x: &[f64],
    gradient: bool,
    precision: u32,
) -> (Interval, Vec<Interval>) {
    with_precision(precision, || {
        if gradient {
            let vars = Dual::variables(x.iter().map(|&v| Interval::from_f64(v)));
            let y = reference.eval(&vars);
            let grad = y.gradient(x.len());
            (y.into_parts().0, grad)
        } else {
            let xs: Vec<Interval> = x.iter().map(|&v| Interval::from_f64(v)).collect();
            (reference.eval(&xs), Vec::new())
        }
    })
}

fn build<F: FastFloat>(
    expected: Interval,
    grad_expected: Vec<Interval>,
    value: f64,
    gradient: &[F],
    tolerance: Tolerance,
    precision: u32,
) -> (Report, bool) {
    let mut report = Report {
        float: F::NAME,
        precision,
        tolerance,
        value: None,
        gradient: Vec::new(),
        gradient_scale: 0.0,
        problem: None,
    };
    let first_error = core::iter::once(&expected)
        .chain(&grad_expected)
        .find_map(|i| i.error().cloned());
    if let Some(e) = first_error {
        report.problem = Some(Problem::ReferenceUndefined(e));
        return (report, true);
    }
    let mut decided = true;
    let d = distances::<F>(value, &expected).expect("valid enclosure");
    let by_ulps = verdict(d.near_ulps, d.far_ulps, tolerance.value_ulps);
    let by_abs = verdict(d.near_abs, d.far_abs, tolerance.value_abs);
    let passed = match (by_ulps, by_abs) {
        (Some(true), _) | (_, Some(true)) => true,
        (Some(false), Some(false)) => false,
        _ => {
            decided = false;
            true
        }
    };
    report.value = Some(ValueReport {
        expected,
        got: value,
        ulps: d.near_ulps,
        abs_error: d.near_abs,
        passed,
    });

    let scale = grad_expected.iter().map(mignitude).fold(0.0, f64::max);
    report.gradient_scale = scale;
    let allowed = tolerance.gradient_rel * scale + tolerance.gradient_abs;
    for (index, (exp, &got)) in grad_expected.into_iter().zip(gradient).enumerate() {
        let got = got.to_f64();
        let d = distances::<F>(got, &exp).expect("valid enclosure");
        let passed = match verdict(d.near_abs, d.far_abs, allowed) {
            Some(p) => p,
            None => {
                decided = false;
                true
            }
        };
        let rel_error = if scale > 0.0 {
            d.near_abs / scale
        } else if d.near_abs == 0.0 {
            0.0
        } else {
            f64::INFINITY
        };
        report.gradient.push(GradientReport {
            index,
            expected: exp,
            got,
            abs_error: d.near_abs,
            rel_error,
            passed,
        });
    }
    (report, decided)
}

fn run<F: FastFloat, S: ScalarFn + ?Sized>(
    reference: &S,
    x: &[F],
    value: F,
    gradient: Option<&[F]>,
    tolerance: Tolerance,
) -> Report {
    let xs: Vec<f64> = x.iter().map(|v| v.to_f64()).collect();
    if let Some(g) = gradient {
        if g.len() != x.len() {
            let problem = Problem::LengthMismatch {
                inputs: x.len(),
                gradient: g.len(),
            };
            return Report {
                float: F::NAME,
                precision: 0,
                tolerance,
                value: None,
                gradient: Vec::new(),
                gradient_scale: 0.0,
                problem: Some(problem),
            };
        }
    }
    let mut precision = START_PRECISION;
    loop {
        let (v, g) = evaluate(reference, &xs, gradient.is_some(), precision);
        let (mut report, decided) = build(
            v,
            g,
            value.to_f64(),
            gradient.unwrap_or(&[]),
            tolerance,
            precision,
        );
        if decided {
            return report;
        }
        if precision >= MAX_PRECISION {
            report.problem = Some(Problem::Undecided { precision });
            return report;
        }
        precision *= 2;
    }
}

/// Compares a fast value and gradient at `x` with the exact value and
/// gradient of `reference`.
///
/// The reference runs once in `Dual<Interval>` (vector forward mode: the
/// value part is the interval evaluation, the partials enclose the exact
/// gradient). Enclosures start at 128 bits and double (up to 4096) while a
/// verdict depends on their width.
///
/// ```
/// use loss_core::Real;
/// use verify::{check_value_and_grad, ScalarFn, Tolerance};
/// /// Binary cross-entropy with logits: softplus(z) - z y.
/// struct Bce { y: f64 }
/// impl ScalarFn for Bce {
///     fn eval<R: Real>(&self, x: &[R]) -> R {
///         x[0].clone().softplus() - x[0].clone() * R::from_f64(self.y)
///     }
/// }
/// let z = 0.3_f32;
/// let value = (1.0 + (-z).exp()).ln() + z - z * 1.0;   // a careless fast path
/// let grad = 1.0 / (1.0 + (-z).exp()) - 1.0;
/// let report = check_value_and_grad(&Bce { y: 1.0 }, &[z], value, &[grad], Tolerance::default_for::<f32>());
/// assert!(report.passed(), "{report}");
/// ```
pub fn check_value_and_grad<F: FastFloat, S: ScalarFn + ?Sized>(
    reference: &S,
    x: &[F],
    value: F,
    gradient: &[F],
    tolerance: Tolerance,
) -> Report {
    run(reference, x, value, Some(gradient), tolerance)
}

/// Compares a fast value at `x` with the exact value of `reference` (one
/// interval evaluation; no gradient).
///
/// ```
/// use loss_core::Real;
/// use verify::{check_value, ScalarFn, Tolerance};
/// struct Softplus;
/// impl ScalarFn for Softplus {
///     fn eval<R: Real>(&self, x: &[R]) -> R { x[0].clone().softplus() }
/// }
/// // The naive ln(1 + e^x) overflows at x = 1000.
/// let naive = (1.0_f64 + 1000f64.exp()).ln();
/// assert!(!check_value(&Softplus, &[1000.0], naive, Tolerance::default_for::<f64>()).passed());
/// ```
pub fn check_value<F: FastFloat, S: ScalarFn + ?Sized>(
    reference: &S,
    x: &[F],
    value: F,
    tolerance: Tolerance,
) -> Report {
    run(reference, x, value, None, tolerance)
}

/// Panics with a report unless the fast value and gradient at `x` are within
/// `tolerance` of the exact ones of `reference`.
///
/// ```
/// use loss_core::Real;
/// use verify::{assert_value_and_grad, ScalarFn, Tolerance};
/// struct Sum;
/// impl ScalarFn for Sum {
///     fn eval<R: Real>(&self, x: &[R]) -> R { x[0].clone() + x[1].clone() }
/// }
/// assert_value_and_grad(&Sum, &[1.0_f64, 2.0], 3.0, &[1.0, 1.0], Tolerance::default_for::<f64>());
/// ```
pub fn assert_value_and_grad<F: FastFloat, S: ScalarFn + ?Sized>(
    reference: &S,
    x: &[F],
    value: F,
    gradient: &[F],
    tolerance: Tolerance,
) {
    check_value_and_grad(reference, x, value, gradient, tolerance).assert_passed();
}

/// Panics with a report unless the fast value at `x` is within `tolerance`
/// of the exact value of `reference`.
///
/// ```
/// use loss_core::Real;
/// use verify::{assert_value, ScalarFn, Tolerance};
/// struct Tanh;
/// impl ScalarFn for Tanh {
///     fn eval<R: Real>(&self, x: &[R]) -> R { x[0].clone().tanh() }
/// }
/// assert_value(&Tanh, &[0.5_f32], 0.5f32.tanh(), Tolerance::default_for::<f32>());
/// ```
pub fn assert_value<F: FastFloat, S: ScalarFn + ?Sized>(
    reference: &S,
    x: &[F],
    value: F,
    tolerance: Tolerance,
) {
    check_value(reference, x, value, tolerance).assert_passed();
}

/// Checks a loss declared with `loss!` at one sample: runs its fast
/// `value_and_grad` in `F` (on the batch made of this sample, at the
/// sample's own `#[grad]` inputs) and compares value and gradient with the
/// exact enclosures of its `reference` transcription.
///
/// ```
/// use loss_core::loss;
/// use verify::{check_loss, Tolerance};
/// loss! {
///     fn ce(#[grad] z: Vector<C>, y: Class<C>) { cross_entropy(z, y) }
/// }
/// // Logits of 1e4: any unshifted formula overflows.
/// let report = check_loss(&ce::Sample { z: &[1e4_f64, -1e4, 0.0], y: 1 }, Tolerance::default_for::<f64>());
/// assert!(report.passed(), "{report}");
/// ```
pub fn check_loss<F, L>(loss: &L, tolerance: Tolerance) -> Report
where
    F: FastFloat + loss_core::Float,
    L: loss_core::SampleLoss<F>,
{
    let mut x = vec![<F as loss_core::Float>::ZERO; loss.len()];
    let mut gradient = vec![<F as loss_core::Float>::ZERO; loss.len()];
    let fast = loss
        .point(&mut x)
        .and_then(|()| loss.value_and_grad(&x, &mut gradient));
    match fast {
        Ok(value) => check_value_and_grad(loss, &x, value, &gradient, tolerance),
        Err(e) => Report {
            float: F::NAME,
            precision: 0,
            tolerance,
            value: None,
            gradient: Vec::new(),
            gradient_scale: 0.0,
            problem: Some(Problem::FastPathFailed(e)),
        },
    }
}

/// [`check_loss`], panicking with the report if it fails.
///
/// ```
/// use loss_core::loss;
/// loss! {
///     fn bce(#[grad] x: Vector<D>, y: Vector<D>) { sum(binary_cross_entropy_with_logits(x, y)) }
/// }
/// verify::assert_loss(&bce::Sample { x: &[-80.0_f32, 0.0, 80.0], y: &[1.0, 0.5, 0.0] }, verify::Tolerance::default_for::<f32>());
/// ```
#[track_caller]
pub fn assert_loss<F, L>(loss: &L, tolerance: Tolerance)
where
    F: FastFloat + loss_core::Float,
    L: loss_core::SampleLoss<F>,
{
    check_loss(loss, tolerance).assert_passed();
}
