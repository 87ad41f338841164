//! Gradient checks by finite differences, for any closure: central
//! differences on a shrinking sequence of steps, extrapolated with Richardson's
//! method (Ridders' algorithm), which also estimates its own error.

use core::fmt;

use nalgebra::allocator::Allocator;
use nalgebra::{DefaultAllocator, Dim, OMatrix};

/// How the derivative estimates are computed.
///
/// ```
/// use verify::finite_diff::FdOptions;
/// let o = FdOptions { initial_step: 0.01, ..FdOptions::default() };
/// assert_eq!(o.levels, 10);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FdOptions {
    /// The first (largest) step, relative to `max(|x_i|, 1)`. Later steps
    /// shrink by `shrink` each. Lower it for functions defined only near `x`.
    pub initial_step: f64,
    /// The factor between consecutive steps (Ridders uses 1.4).
    pub shrink: f64,
    /// The number of steps, i.e. the size of the Richardson tableau; two
    /// function evaluations each.
    pub levels: usize,
}

impl Default for FdOptions {
    fn default() -> FdOptions {
        FdOptions {
            initial_step: 0.1,
            shrink: 1.4,
            levels: 10,
        }
    }
}

/// When a claimed derivative passes: `|claimed - estimate| <= atol + rtol · |estimate|`
/// (the form of `torch.autograd.gradcheck`).
///
/// The defaults (`atol = 1e-8`, `rtol = 1e-6`) are far stricter than
/// gradcheck's (`atol = 1e-5`, `rtol = 1e-3` with a plain central difference
/// of step `1e-6`): Richardson extrapolation typically brings the estimate to
/// within `1e-10` relative of the true derivative for smooth functions of
/// moderate scale (measured in this crate's tests).
///
/// ```
/// use verify::finite_diff::FdTolerance;
/// let loose = FdTolerance { rtol: 1e-4, ..FdTolerance::default() };
/// assert_eq!(loose.atol, 1e-8);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FdTolerance {
    /// Absolute tolerance.
    pub atol: f64,
    /// Relative tolerance, times the estimate's magnitude.
    pub rtol: f64,
}

impl Default for FdTolerance {
    fn default() -> FdTolerance {
        FdTolerance {
            atol: 1e-8,
            rtol: 1e-6,
        }
    }
}

/// A derivative estimate and Ridders' estimate of its error.
///
/// ```
/// use verify::finite_diff::{derivative, FdOptions};
/// let d = derivative(|x| x.sin(), 1.0, &FdOptions::default());
/// assert!((d.value - 1f64.cos()).abs() < 1e-12 && d.error < 1e-9);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    /// The extrapolated derivative.
    pub value: f64,
    /// The estimated absolute error (infinite if no step gave a finite value).
    pub error: f64,
}

/// The derivative of `f` at `x` by Ridders' method.
///
/// ```
/// use verify::finite_diff::{derivative, FdOptions};
/// let d = derivative(|x| x.exp(), 0.0, &FdOptions::default());
/// assert!((d.value - 1.0).abs() < 1e-12);
/// ```
pub fn derivative(mut f: impl FnMut(f64) -> f64, x: f64, options: &FdOptions) -> Estimate {
    let mut h = options.initial_step * x.abs().max(1.0);
    let levels = options.levels.max(2);
    let con2 = options.shrink * options.shrink;
    // tableau[j] holds column j of the previous and current rows.
    let mut prev: Vec<f64> = Vec::with_capacity(levels);
    let mut best = Estimate {
        value: f64::NAN,
        error: f64::INFINITY,
    };
    for i in 0..levels {
        if i > 0 {
            h /= options.shrink;
        }
        // Use the steps actually representable around x, not the nominal h.
        let (xp, xm) = (x + h, x - h);
        let mut row = Vec::with_capacity(i + 1);
        row.push((f(xp) - f(xm)) / (xp - xm));
        let mut fac = con2;
        for j in 1..=i {
            // Eliminate the h^(2j) error term between this step and the last.
            let r = (row[j - 1] * fac - prev[j - 1]) / (fac - 1.0);
            fac *= con2;
            let err = (r - row[j - 1]).abs().max((r - prev[j - 1]).abs());
            if err <= best.error {
                best = Estimate {
                    value: r,
                    error: err,
                };
            }
            row.push(r);
        }
        // Stop once higher orders get worse by a safety factor: round-off
        // has taken over.
        if i > 0 && (row[i] - prev[i - 1]).abs() >= 2.0 * best.error {
            break;
        }
        prev = row;
    }
    best
}

/// The gradient of `f` at `x`, one Ridders estimate per component.
///
/// ```
/// use verify::finite_diff::{gradient, FdOptions};
/// let g = gradient(|x: &[f64]| x[0] * x[1], &[2.0, 3.0], &FdOptions::default());
/// assert!((g[0].value - 3.0).abs() < 1e-12 && (g[1].value - 2.0).abs() < 1e-12);
/// ```
pub fn gradient(mut f: impl FnMut(&[f64]) -> f64, x: &[f64], options: &FdOptions) -> Vec<Estimate> {
    let mut point = x.to_vec();
    (0..x.len())
        .map(|i| {
            derivative(
                |t| {
                    point[i] = t;
                    let v = f(&point);
                    point[i] = x[i];
                    v
                },
                x[i],
                options,
            )
        })
        .collect()
}

/// The Jacobian of `f` at `x`, row-major: entry `(out, inp)` at
/// `out * x.len() + inp`, with `f(x).len()` rows.
///
/// ```
/// use verify::finite_diff::{jacobian, FdOptions};
/// let j = jacobian(|x: &[f64]| vec![x[0] * x[1], x[0] + x[1]], &[2.0, 3.0], &FdOptions::default());
/// assert!((j[0].value - 3.0).abs() < 1e-12 && (j[3].value - 1.0).abs() < 1e-12);
/// ```
pub fn jacobian(f: impl Fn(&[f64]) -> Vec<f64>, x: &[f64], options: &FdOptions) -> Vec<Estimate> {
    let outputs = f(x).len();
    let n = x.len();
    let mut out = vec![
        Estimate {
            value: 0.0,
            error: 0.0
        };
        outputs * n
    ];
    for o in 0..outputs {
        let column = gradient(
            |p| {
                let y = f(p);
                assert_eq!(y.len(), outputs, "the closure changed its output length");
                y[o]
            },
            x,
            options,
        );
        out[o * n..(o + 1) * n].copy_from_slice(&column);
    }
    out
}

/// Which derivative a component of a check is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Position {
    /// Entry `i` of a flat input.
    Flat(usize),
    /// Derivative of output `output` with respect to input `input`.
    Jacobian {
        /// Output index.
        output: usize,
        /// Input index.
        input: usize,
    },
    /// Entry `(row, col)` of a matrix input.
    Matrix {
        /// Row.
        row: usize,
        /// Column.
        col: usize,
    },
}

impl Position {
    /// The position with the input called `name` (`x` in its `Display`):
    /// `W[(1, 0)]`, or `d y[0] / d W[3]`.
    ///
    /// ```
    /// use verify::finite_diff::Position;
    /// assert_eq!(Position::Matrix { row: 1, col: 0 }.named("W"), "W[(1, 0)]");
    /// assert_eq!(Position::Flat(2).to_string(), "x[2]");
    /// ```
    pub fn named(&self, name: &str) -> String {
        match self {
            Position::Flat(i) => format!("{name}[{i}]"),
            Position::Jacobian { output, input } => format!("d y[{output}] / d {name}[{input}]"),
            Position::Matrix { row, col } => format!("{name}[({row}, {col})]"),
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.named("x"))
    }
}

/// One compared derivative.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Component {
    /// Which derivative.
    pub position: Position,
    /// The finite-difference estimate.
    pub expected: Estimate,
    /// The claimed derivative.
    pub got: f64,
    /// `|got - expected|`.
    pub abs_error: f64,
    /// `|got - expected| / |expected|`.
    pub rel_error: f64,
    /// Whether it is within tolerance.
    pub passed: bool,
}

/// The result of a finite-difference gradient or Jacobian check.
///
/// Its `Display` lists every failing component (or, if none fails, the worst
/// one) with expected, got, absolute and relative error.
///
/// ```
/// use verify::finite_diff::{check_gradient, FdOptions, FdTolerance};
/// let report = check_gradient(|x: &[f64]| x[0] * x[0], &[3.0], &[5.0],
///                             &FdOptions::default(), FdTolerance::default());
/// assert!(!report.passed());
/// assert!(report.to_string().contains("x[0]"));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct FdReport {
    /// Every compared component, in input order.
    pub components: Vec<Component>,
    /// The tolerance used.
    pub tolerance: FdTolerance,
    /// A structural problem (length mismatch), if any.
    pub problem: Option<String>,
    /// What the report's lines call the input: `x` unless set by
    /// [`named`](Self::named).
    pub name: String,
}

impl FdReport {
    /// `true` if every component is within tolerance and the shapes agree.
    ///
    /// ```
    /// use verify::finite_diff::{check_gradient, FdOptions, FdTolerance};
    /// let r = check_gradient(|x: &[f64]| x[0].exp(), &[0.5], &[0.5f64.exp()],
    ///                        &FdOptions::default(), FdTolerance::default());
    /// assert!(r.passed());
    /// ```
    pub fn passed(&self) -> bool {
        self.problem.is_none() && self.components.iter().all(|c| c.passed)
    }

    /// The failing components.
    ///
    /// ```
    /// use verify::finite_diff::{check_gradient, FdOptions, FdTolerance};
    /// let r = check_gradient(|x: &[f64]| x[0] + 2.0 * x[1], &[0.0, 0.0], &[1.0, 3.0],
    ///                        &FdOptions::default(), FdTolerance::default());
    /// assert_eq!(r.failures().count(), 1);
    /// ```
    pub fn failures(&self) -> impl Iterator<Item = &Component> {
        self.components.iter().filter(|c| !c.passed)
    }

    /// The report with the input called `name` in its lines (`W[(1, 0)]`
    /// rather than `x[(1, 0)]`), for a model with several parameters.
    ///
    /// ```
    /// use verify::finite_diff::{check_gradient, FdOptions, FdTolerance};
    /// let r = check_gradient(|b: &[f64]| b[0] * b[0], &[3.0], &[5.0],
    ///                        &FdOptions::default(), FdTolerance::default()).named("bias");
    /// assert!(r.to_string().contains("bias[0]: expected 5.99"), "{r}");
    /// ```
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Panics with the report unless it passed.
    ///
    /// ```should_panic
    /// use verify::finite_diff::{check_gradient, FdOptions, FdTolerance};
    /// check_gradient(|x: &[f64]| x[0], &[0.0], &[-1.0],
    ///                &FdOptions::default(), FdTolerance::default()).assert_passed();
    /// ```
    pub fn assert_passed(&self) {
        if !self.passed() {
            panic!("{self}");
        }
    }
}

impl fmt::Display for FdReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.passed() { "passed" } else { "FAILED" };
        writeln!(
            f,
            "finite-difference gradient check {verdict} ({} components, atol {:e}, rtol {:e})",
            self.components.len(),
            self.tolerance.atol,
            self.tolerance.rtol
        )?;
        if let Some(p) = &self.problem {
            writeln!(f, "  {p}")?;
        }
        let line = |f: &mut fmt::Formatter<'_>, c: &Component, tag: &str| {
            writeln!(
                f,
                "  {}: expected {:e} (finite-difference error ~{:.1e}), got {:e}, abs error {:.3e}, rel error {:.3e}{tag}",
                c.position.named(&self.name), c.expected.value, c.expected.error, c.got, c.abs_error, c.rel_error
            )
        };
        let mut any = false;
        for c in self.failures() {
            line(f, c, "  <-- outside tolerance")?;
            any = true;
        }
        if !any {
            // The worst is the one nearest its tolerance, not the largest
            // relative error (an exact zero would otherwise win with 1.0).
            let used = |c: &Component| {
                c.abs_error / (self.tolerance.atol + self.tolerance.rtol * c.expected.value.abs())
            };
            if let Some(worst) = self
                .components
                .iter()
                .max_by(|a, b| used(a).total_cmp(&used(b)))
            {
                line(f, worst, "  (worst)")?;
            }
        }
        Ok(())
    }
}

fn compare(position: Position, expected: Estimate, got: f64, tol: FdTolerance) -> Component {
    let abs_error = (got - expected.value).abs();
    let rel_error = abs_error / expected.value.abs();
    // NaN on either side fails: `<=` is false.
    let passed = abs_error <= tol.atol + tol.rtol * expected.value.abs();
    Component {
        position,
        expected,
        got,
        abs_error,
        rel_error,
        passed,
    }
}

fn length_problem(what: &str, want: usize, got: usize) -> Option<String> {
    (want != got).then(|| format!("the claimed {what} has {got} entries, expected {want}"))
}

/// Compares a claimed gradient of `f` at `x` with finite differences.
///
/// ```
/// use verify::finite_diff::{check_gradient, FdOptions, FdTolerance};
/// // A hand-written gradient of sum(x_i^3).
/// let f = |x: &[f64]| x.iter().map(|v| v.powi(3)).sum::<f64>();
/// let x = [0.5, -1.5, 2.0];
/// let g: Vec<f64> = x.iter().map(|v| 3.0 * v * v).collect();
/// check_gradient(f, &x, &g, &FdOptions::default(), FdTolerance::default()).assert_passed();
/// ```
pub fn check_gradient(
    f: impl Fn(&[f64]) -> f64,
    x: &[f64],
    claimed: &[f64],
    options: &FdOptions,
    tolerance: FdTolerance,
) -> FdReport {
    let problem = length_problem("gradient", x.len(), claimed.len());
    let components = if problem.is_some() {
        Vec::new()
    } else {
        gradient(f, x, options)
            .into_iter()
            .zip(claimed)
            .enumerate()
            .map(|(i, (e, &g))| compare(Position::Flat(i), e, g, tolerance))
            .collect()
    };
    FdReport {
        components,
        tolerance,
        problem,
        name: "x".into(),
    }
}

/// Compares a claimed Jacobian (row-major, `outputs × inputs`) of the
/// vector-valued `f` at `x` with finite differences.
///
/// ```
/// use verify::finite_diff::{check_jacobian, FdOptions, FdTolerance};
/// let f = |x: &[f64]| vec![x[0] * x[1], x[1].sin()];
/// let x = [2.0_f64, 0.5];
/// let jac = [x[1], x[0], 0.0, x[1].cos()];
/// check_jacobian(f, &x, &jac, &FdOptions::default(), FdTolerance::default()).assert_passed();
/// ```
pub fn check_jacobian(
    f: impl Fn(&[f64]) -> Vec<f64>,
    x: &[f64],
    claimed: &[f64],
    options: &FdOptions,
    tolerance: FdTolerance,
) -> FdReport {
    let outputs = f(x).len();
    let n = x.len();
    let problem = length_problem("Jacobian", outputs * n, claimed.len());
    let components = if problem.is_some() {
        Vec::new()
    } else {
        jacobian(f, x, options)
            .into_iter()
            .zip(claimed)
            .enumerate()
            .map(|(k, (e, &g))| {
                compare(
                    Position::Jacobian {
                        output: k / n,
                        input: k % n,
                    },
                    e,
                    g,
                    tolerance,
                )
            })
            .collect()
    };
    FdReport {
        components,
        tolerance,
        problem,
        name: "x".into(),
    }
}

/// Compares a claimed gradient of a function of an nalgebra matrix (or
/// vector: a one-column matrix) with finite differences; failures name the
/// `(row, column)` entry.
///
/// ```
/// use nalgebra::{DMatrix, DVector};
/// use verify::finite_diff::{check_gradient_matrix, FdOptions, FdTolerance};
/// // f(W) = sum of squares: gradient 2 W.
/// let w = DMatrix::from_row_slice(2, 3, &[1.0, -2.0, 0.5, 3.0, 0.0, -1.0]);
/// check_gradient_matrix(|m: &DMatrix<f64>| m.norm_squared(), &w, &(&w * 2.0),
///                       &FdOptions::default(), FdTolerance::default()).assert_passed();
/// let v = DVector::from_vec(vec![1.0, 2.0]);
/// let r = check_gradient_matrix(|m: &DVector<f64>| m.sum(), &v, &DVector::from_vec(vec![1.0, 0.0]),
///                               &FdOptions::default(), FdTolerance::default());
/// assert!(r.to_string().contains("x[(1, 0)]"));
/// ```
pub fn check_gradient_matrix<R: Dim, C: Dim>(
    f: impl Fn(&OMatrix<f64, R, C>) -> f64,
    x: &OMatrix<f64, R, C>,
    claimed: &OMatrix<f64, R, C>,
    options: &FdOptions,
    tolerance: FdTolerance,
) -> FdReport
where
    DefaultAllocator: Allocator<R, C>,
{
    let rows = x.nrows();
    if claimed.shape() != x.shape() {
        let problem = Some(format!(
            "the claimed gradient has shape {:?}, expected {:?}",
            claimed.shape(),
            x.shape()
        ));
        return FdReport {
            components: Vec::new(),
            tolerance,
            problem,
            name: "x".into(),
        };
    }
    let mut point = x.clone();
    // Owned nalgebra storage is contiguous and column-major.
    let flat: Vec<f64> = x.iter().copied().collect();
    let estimates = gradient(
        |p| {
            point.iter_mut().zip(p).for_each(|(dst, &src)| *dst = src);
            f(&point)
        },
        &flat,
        options,
    );
    let components = estimates
        .into_iter()
        .zip(claimed.iter())
        .enumerate()
        .map(|(k, (e, &g))| {
            compare(
                Position::Matrix {
                    row: k % rows,
                    col: k / rows,
                },
                e,
                g,
                tolerance,
            )
        })
        .collect();
    FdReport {
        components,
        tolerance,
        problem: None,
        name: "x".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn richardson_beats_a_plain_central_difference() {
        // f(x) = e^x sin(3x) at x = 0.7: f' = e^x (sin 3x + 3 cos 3x).
        let f = |x: f64| x.exp() * (3.0 * x).sin();
        let x = 0.7_f64;
        let exact = x.exp() * ((3.0 * x).sin() + 3.0 * (3.0 * x).cos());
        let est = derivative(f, x, &FdOptions::default());
        let plain = (f(x + 1e-6) - f(x - 1e-6)) / 2e-6;
        assert!(
            (est.value - exact).abs() < 1e-11 * exact.abs(),
            "{est:?} vs {exact}"
        );
        assert!((plain - exact).abs() > 10.0 * (est.value - exact).abs());
        // The error estimate is honest: within a generous factor of the truth.
        assert!((est.value - exact).abs() <= 100.0 * est.error + 1e-15);
    }

    #[test]
    fn steps_outside_the_domain_are_skipped() {
        // ln near zero: the first steps reach negative x, giving NaN.
        let est = derivative(
            f64::ln,
            0.05,
            &FdOptions {
                levels: 16,
                ..FdOptions::default()
            },
        );
        assert!((est.value - 20.0).abs() < 1e-6, "{est:?}");
    }

    #[test]
    fn jacobian_positions_name_output_and_input() {
        let f = |x: &[f64]| vec![x[0] * x[1], x[0] - x[1]];
        let r = check_jacobian(
            f,
            &[1.0, 2.0],
            &[2.0, 1.0, 1.0, 1.0],
            &FdOptions::default(),
            FdTolerance::default(),
        );
        let bad: Vec<Position> = r.failures().map(|c| c.position).collect();
        assert_eq!(
            bad,
            vec![Position::Jacobian {
                output: 1,
                input: 1
            }]
        );
        assert!(r.to_string().contains("d y[1] / d x[1]"));
    }

    #[test]
    fn length_mismatches_are_reported() {
        let r = check_gradient(
            |x: &[f64]| x[0],
            &[1.0, 2.0],
            &[1.0],
            &FdOptions::default(),
            FdTolerance::default(),
        );
        assert!(!r.passed() && r.to_string().contains("has 1 entries, expected 2"));
    }
}
