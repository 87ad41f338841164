//! The checker passes careful fast implementations on adversarial inputs and
//! reports each deliberate bug: a sign flip, a missing factor, an off-by-one
//! index, a 1e-6 relative error, a wrong value. The same bugs are caught by
//! the finite-difference check on plain closures.

use loss_core::{Float, Real};
use proptest::prelude::*;
use verify::finite_diff::{check_gradient, FdOptions, FdTolerance};
use verify::strategies::{logits, logits_and_label, probabilities};
use verify::{check_value, check_value_and_grad, Dual, Interval, ScalarFn, Tolerance};

/// Cross-entropy of logits against a label: logsumexp(z) - z[y], written
/// plainly (the checker is exact, so no stability tricks are needed).
struct CrossEntropy {
    label: usize,
}

impl ScalarFn for CrossEntropy {
    fn eval<R: Real>(&self, z: &[R]) -> R {
        let sum = z.iter().fold(R::from_f64(0.0), |s, v| s + v.clone().exp());
        sum.ln() - z[self.label].clone()
    }
}

/// Mean binary cross-entropy with logits: mean(softplus(z) - z y).
struct SigmoidBce {
    targets: Vec<f64>,
}

impl ScalarFn for SigmoidBce {
    fn eval<R: Real>(&self, z: &[R]) -> R {
        let total = z
            .iter()
            .zip(&self.targets)
            .fold(R::from_f64(0.0), |s, (v, &y)| {
                s + v.clone().softplus() - v.clone() * R::from_f64(y)
            });
        total / R::from_f64(z.len() as f64)
    }
}

/// A careful fast cross-entropy: max shift, ln_1p of the sum without its
/// largest term, and the label's gradient as minus the other probabilities
/// (no cancellation in `p_y - 1`).
fn fast_cross_entropy<F: Float>(z: &[F], y: usize, grad: &mut [F]) -> F {
    let top = (0..z.len()).fold(0, |b, j| if z[j] > z[b] { j } else { b });
    let m = z[top];
    let mut rest = F::ZERO;
    for (j, g) in grad.iter_mut().enumerate() {
        *g = (z[j] - m).exp();
        if j != top {
            rest += *g;
        }
    }
    let sum = F::ONE + rest;
    for g in grad.iter_mut() {
        *g = *g / sum;
    }
    let others = (0..z.len())
        .filter(|&j| j != y)
        .fold(F::ZERO, |s, j| s + grad[j]);
    grad[y] = -others;
    (m - z[y]) + rest.ln_1p()
}

/// A careful fast BCE: per element `z (1 - y) + ln_1p(e^-z)` for `z >= 0` and
/// `-z y + ln_1p(e^z)` otherwise; gradient `sigmoid(z) - y` as
/// `(1 - y) - sigmoid(-z)` for `z >= 0`.
fn fast_bce<F: Float>(z: &[F], targets: &[F], grad: &mut [F]) -> F {
    let n = F::from_usize(z.len());
    let mut total = F::ZERO;
    for ((&v, &y), g) in z.iter().zip(targets).zip(grad.iter_mut()) {
        if v >= F::ZERO {
            total += v * (F::ONE - y) + (-v).exp().ln_1p();
            *g = ((F::ONE - y) - (-v).sigmoid()) / n;
        } else {
            total += -(v * y) + v.exp().ln_1p();
            *g = (v.sigmoid() - y) / n;
        }
    }
    total / n
}

/// The tolerance a careful cross-entropy meets: a few ULPs of its own
/// rounding, plus the conditioning of the inputs: rounding `z_j - m` loses
/// up to `ε |z_j - m| / 2` absolutely, which the loss passes on times
/// `|∂/∂z_j| = |g_j|` (no fast path avoids this without extra precision).
fn cross_entropy_tolerance<F: verify::FastFloat>(z: &[F], g: &[F]) -> Tolerance {
    let m = z
        .iter()
        .fold(F::NEG_INFINITY, |a, &b| if b > a { b } else { a })
        .to_f64();
    let eps = F::EPSILON.to_f64();
    let conditioning: f64 = z
        .iter()
        .zip(g)
        .map(|(&v, &d)| (v.to_f64() - m).abs() * d.to_f64().abs())
        .sum();
    let default = Tolerance::default_for::<F>();
    Tolerance {
        value_ulps: 8.0,
        value_abs: default.value_abs + 2.0 * eps * conditioning,
        gradient_abs: default.gradient_abs + 2.0 * eps * conditioning,
        ..default
    }
}

/// The tolerance a careful BCE meets: `sigmoid(z) - y` subtracts numbers of
/// size up to 1, so each gradient component carries up to `2 ε / n`
/// absolutely whatever the max-norm.
fn bce_tolerance(n: usize) -> Tolerance {
    Tolerance {
        value_ulps: 8.0,
        gradient_abs: 4.0 * f64::EPSILON / n as f64,
        ..Tolerance::default_for::<f64>()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn careful_cross_entropy_passes_in_f64_and_f32((z, y) in logits_and_label(1..8usize)) {
        let mut g = vec![0.0; z.len()];
        let v = fast_cross_entropy(&z, y, &mut g);
        let r = check_value_and_grad(&CrossEntropy { label: y }, &z, v, &g, cross_entropy_tolerance(&z, &g));
        prop_assert!(r.passed(), "{}", r);

        let z32: Vec<f32> = z.iter().map(|&v| v as f32).collect();
        let mut g32 = vec![0.0f32; z.len()];
        let v32 = fast_cross_entropy(&z32, y, &mut g32);
        let r = check_value_and_grad(&CrossEntropy { label: y }, &z32, v32, &g32, cross_entropy_tolerance(&z32, &g32));
        prop_assert!(r.passed(), "{}", r);
    }

    #[test]
    fn careful_bce_passes(z in logits(1..6usize), p in probabilities(6)) {
        let t = &p[..z.len()];
        let mut g = vec![0.0; z.len()];
        let v = fast_bce(&z, t, &mut g);
        let r = check_value_and_grad(&SigmoidBce { targets: t.to_vec() }, &z, v, &g, bce_tolerance(z.len()));
        prop_assert!(r.passed(), "{}", r);
    }
}

fn ce_case() -> (Vec<f64>, usize, f64, Vec<f64>) {
    let z = vec![0.5, -1.25, 2.0, 0.75];
    let y = 1;
    let mut g = vec![0.0; 4];
    let v = fast_cross_entropy(&z, y, &mut g);
    (z, y, v, g)
}

/// Checks that `bad` gradient is reported, at exactly the indices `at`, and
/// that the report names them.
fn assert_gradient_bug(bad: &[f64], at: &[usize]) {
    let (z, y, v, _) = ce_case();
    let r = check_value_and_grad(
        &CrossEntropy { label: y },
        &z,
        v,
        bad,
        Tolerance::default_for::<f64>(),
    );
    assert!(!r.passed(), "{r}");
    let failed: Vec<usize> = r.gradient_failures().map(|g| g.index).collect();
    assert_eq!(failed, at, "{r}");
    let text = r.to_string();
    for i in at {
        assert!(text.contains(&format!("x[{i}]: expected [")), "{text}");
    }
    assert!(
        text.contains("FAIL") && text.contains("of max-norm"),
        "{text}"
    );
}

#[test]
fn the_correct_gradient_passes() {
    let (z, y, v, g) = ce_case();
    let r = check_value_and_grad(
        &CrossEntropy { label: y },
        &z,
        v,
        &g,
        Tolerance::default_for::<f64>(),
    );
    assert!(r.passed(), "{r}");
}

#[test]
fn a_sign_flip_is_reported() {
    let (_, _, _, mut g) = ce_case();
    g[2] = -g[2];
    assert_gradient_bug(&g, &[2]);
}

#[test]
fn a_missing_factor_is_reported() {
    // The gradient of the mean of two copies, forgetting the 1/2 ... here:
    // every component doubled.
    let (_, _, _, g) = ce_case();
    let doubled: Vec<f64> = g.iter().map(|v| 2.0 * v).collect();
    assert_gradient_bug(&doubled, &[0, 1, 2, 3]);
}

#[test]
fn an_off_by_one_label_is_reported() {
    let (z, y, _, _) = ce_case();
    let mut g = vec![0.0; 4];
    fast_cross_entropy(&z, y + 1, &mut g);
    assert_gradient_bug(&g, &[1, 2]);
}

#[test]
fn a_relative_error_of_1e_minus_6_is_reported() {
    let (_, _, _, mut g) = ce_case();
    g[3] *= 1.0 + 1e-6;
    assert_gradient_bug(&g, &[3]);
}

#[test]
fn wrong_values_are_reported_in_ulps() {
    let (z, y, v, g) = ce_case();
    let reference = CrossEntropy { label: y };
    let off = f64::from_bits(v.to_bits() + 40);
    let r = check_value_and_grad(&reference, &z, off, &g, Tolerance::default_for::<f64>());
    assert!(!r.passed() && r.value.as_ref().unwrap().ulps >= 39.0, "{r}");
    assert!(r.to_string().contains("ULP"), "{r}");
    // A naive f32 log-sum-exp overflows at large logits: reported, not hidden.
    let big = [100.0f32, 99.0];
    let naive = (big[0].exp() + big[1].exp()).ln() - big[0];
    let r = check_value(
        &CrossEntropy { label: 0 },
        &big,
        naive,
        Tolerance::default_for::<f32>(),
    );
    assert!(!r.passed(), "{r}");
}

#[test]
fn an_undefined_reference_is_reported() {
    // ln(0) in the reference: an actionable message, not a panic.
    struct LnOfFirst;
    impl ScalarFn for LnOfFirst {
        fn eval<R: Real>(&self, x: &[R]) -> R {
            x[0].clone().ln()
        }
    }
    let r = check_value_and_grad(
        &LnOfFirst,
        &[0.0f64],
        f64::NEG_INFINITY,
        &[f64::INFINITY],
        Tolerance::default_for::<f64>(),
    );
    assert!(!r.passed());
    assert!(r.to_string().contains("undefined at this point"), "{r}");
}

#[test]
fn finite_differences_catch_the_same_bugs() {
    let (z, y, _, g) = ce_case();
    let f = |x: &[f64]| CrossEntropy { label: y }.eval(x);
    let opts = FdOptions::default();
    let tol = FdTolerance::default();
    assert!(check_gradient(f, &z, &g, &opts, tol).passed());
    let mut flipped = g.clone();
    flipped[0] = -flipped[0];
    let r = check_gradient(f, &z, &flipped, &opts, tol);
    assert_eq!(
        r.failures()
            .map(|c| c.position.to_string())
            .collect::<Vec<_>>(),
        vec!["x[0]"],
        "{r}"
    );
    let mut slightly = g.clone();
    slightly[2] *= 1.0 + 1e-5;
    assert!(!check_gradient(f, &z, &slightly, &opts, tol).passed());
}

/// Measures the finite differences against the exact gradient: the error of
/// the extrapolated estimates relative to the max-norm, on the test losses.
#[test]
fn finite_differences_are_accurate_against_exact_gradients() {
    type Case = (Box<dyn Fn(&[f64]) -> f64>, Vec<f64>, Vec<Interval>);
    let cases: Vec<Case> = vec![
        {
            let z = vec![0.5, -1.25, 2.0, 0.75, 3.5];
            let exact = exact_gradient(&CrossEntropy { label: 3 }, &z);
            (
                Box::new(|x: &[f64]| CrossEntropy { label: 3 }.eval(x)),
                z,
                exact,
            )
        },
        {
            let z = vec![-2.0, 0.1, 4.0];
            let t = vec![0.0, 0.3, 1.0];
            let exact = exact_gradient(&SigmoidBce { targets: t.clone() }, &z);
            (
                Box::new(move |x: &[f64]| SigmoidBce { targets: t.clone() }.eval(x)),
                z,
                exact,
            )
        },
    ];
    for (f, z, exact) in cases {
        let est = verify::finite_diff::gradient(&f, &z, &FdOptions::default());
        let scale = exact
            .iter()
            .map(|e| e.midpoint_f64().abs())
            .fold(0.0, f64::max);
        for (e, x) in est.iter().zip(&exact) {
            let err = (e.value - x.midpoint_f64()).abs() / scale;
            assert!(
                err < 1e-9,
                "finite-difference error {err:e} of the max-norm"
            );
        }
    }
}

fn exact_gradient<S: ScalarFn>(f: &S, x: &[f64]) -> Vec<Interval> {
    let vars = Dual::variables(x.iter().map(|&v| Interval::from_f64(v)));
    f.eval(&vars).gradient(x.len())
}

#[test]
fn an_exact_zero_behind_a_huge_logit_is_decided() {
    // ln(e^3220) - 3220 = 0 exactly; the enclosure around 0 must shrink
    // (by raising the precision) until the verdict is clear.
    let z = [3220.016746633214];
    let mut g = [0.0];
    let v = fast_cross_entropy(&z, 0, &mut g);
    let r = check_value_and_grad(
        &CrossEntropy { label: 0 },
        &z,
        v,
        &g,
        Tolerance::default_for::<f64>(),
    );
    assert!(r.passed(), "{r}");
    assert!(r.precision > 1024, "{r}");
}
