//! Forms the compiler regroups, checked end to end in the generated code:
//! where the real-number identity it uses would round differently in
//! floating point (large logits, large regression targets), the result keeps
//! the accuracy of the formula computed as written; and forms that vanish
//! still compile.

mod common;

use common::*;
use loss_core::{loss, Rows};

loss! {
    /// A Huber loss between two predictions, weighted per sample.
    fn weighted_huber(#[grad] x: Vector<D>, #[grad] y: Vector<D>, w: PerSample) {
        w * sum(huber(x, y, 1.0))
    }

    /// One element of a log-softmax, taken from the vector.
    fn nll_of_log_softmax(#[grad] z: Vector<C>, y: Class<C>) {
        nll_loss(log_softmax(z), y)
    }

    /// A label-smoothed cross-entropy of a difference of logits: its label
    /// logit becomes `a[y] - b[y]`, not an element of the vector `a - b`.
    fn smoothed_ce_of_difference(#[grad] a: Vector<C>, #[grad] b: Vector<C>, y: Class<C>) {
        label_smoothed_cross_entropy(a - b, y, 0.1)
    }

    /// `exp(t)` times and over `t + 1`: the terms of `exp(t) - t - 1` are
    /// there, but in a product and a quotient, which the rule for
    /// `expm1mx` must leave alone.
    fn exp_and_linear(#[grad] t: Vector<D>) {
        sum(exp(t) * (t + 1.0)) + sum(exp(t) / (1.0 + t))
    }

    /// A regression to the midpoint of two logit vectors beside a
    /// cross-entropy: the gradient at `a` holds `b - 0.5 (a + b)` among
    /// other terms.
    fn midpoint_beside_cross_entropy(#[grad] a: Vector<C>, #[grad] b: Vector<C>, y: Class<C>) {
        mse(b, (a + b) / 2.0) + cross_entropy(a, y)
    }
}

/// `x`, each number moved by at most `radius` on the grid of `on_grid`: a
/// second vector near the first, every difference of the two exact.
fn near_on_grid(rng: &mut Rng, x: &[f64], radius: f64) -> Vec<f64> {
    x.iter()
        .zip(on_grid(rng, x.len(), 0.0, radius))
        .map(|(&x, e)| x + e)
        .collect()
}

/// `x` in `f32`: exact for numbers on the grid of `on_grid` near 1e4.
fn to_f32(x: &[f64]) -> Vec<f32> {
    x.iter().map(|&v| v as f32).collect()
}

#[test]
fn a_log_softmax_taken_apart_keeps_f32_accuracy_at_logits_of_1e4() {
    // Logits of ±1e4 on a grid (`on_grid`), so that `a - b` is exact in f32
    // and the f64 formulas see the same numbers. Every subtraction of the row's
    // maximum must come before the logarithm's: `z[y] - (m + ln S)` would
    // round `m + ln S` at 1e4 (an error of up to 5e-4).
    let mut rng = Rng::new(11);
    let (n, c) = (6, 9);
    let a64 = on_grid(&mut rng, n * c, 1e4, 4.0);
    let b64 = on_grid(&mut rng, n * c, -1e4, 4.0);
    let y = rng.labels(n, c);
    let (a, b) = (to_f32(&a64), to_f32(&b64));
    let (mut ga, mut gb) = (vec![0.0_f32; n * c], vec![0.0_f32; n * c]);
    let close = |got: f32, want: f64, scale: f64| (f64::from(got) - want).abs() <= 2e-6 * scale;

    // nll_loss(log_softmax(z), y) at z = a.
    let v = nll_of_log_softmax::value_and_grad(Rows::new(&a, n, c), &y, &mut ga).unwrap();
    let rows = |i: usize, z: &[f64]| z[i * c..(i + 1) * c].to_vec();
    let exact = (0..n)
        .map(|i| -log_softmax(&rows(i, &a64))[y[i]])
        .sum::<f64>()
        / n as f64;
    assert!(close(v, exact, exact.abs()), "{v} vs {exact}");
    for (i, &label) in y.iter().enumerate() {
        for (j, pj) in softmax(&rows(i, &a64)).into_iter().enumerate() {
            let want = (pj - f64::from(u8::from(j == label))) / n as f64;
            assert!(
                close(ga[i * c + j], want, 1.0 / n as f64),
                "({i}, {j}): {} vs {want}",
                ga[i * c + j]
            );
        }
    }

    // label_smoothed_cross_entropy(a - b, y, 0.1): z = a - b, about 2e4.
    let z64: Vec<f64> = a64.iter().zip(&b64).map(|(x, y)| x - y).collect();
    let v = smoothed_ce_of_difference::value_and_grad(
        Rows::new(&a, n, c),
        Rows::new(&b, n, c),
        &y,
        &mut ga,
        &mut gb,
    )
    .unwrap();
    let exact = (0..n)
        .map(|i| {
            let ls = log_softmax(&rows(i, &z64));
            -0.9 * ls[y[i]] - 0.1 * ls.iter().sum::<f64>() / c as f64
        })
        .sum::<f64>()
        / n as f64;
    assert!(close(v, exact, exact.abs()), "{v} vs {exact}");
    for (i, &label) in y.iter().enumerate() {
        for (j, pj) in softmax(&rows(i, &z64)).into_iter().enumerate() {
            let hot = f64::from(u8::from(j == label));
            let want = (pj - 0.9 * hot - 0.1 / c as f64) / n as f64;
            let k = i * c + j;
            assert!(
                close(ga[k], want, 1.0 / n as f64),
                "a ({i}, {j}): {} vs {want}",
                ga[k]
            );
            assert!(
                close(gb[k], -want, 1.0 / n as f64),
                "b ({i}, {j}): {} vs {}",
                gb[k],
                -want
            );
        }
    }
}

loss! {
    /// A term that cancels to 0 for every element once expanded: the
    /// compiler must still emit code that compiles (it once left a sum of a
    /// number, which it cannot write).
    fn cancelling(#[grad] z: Vector<C>) {
        sum(softmax(z) * ((2.0 * z - z) - z)) + sum(0.5 * z)
    }
}

#[test]
fn terms_that_cancel_compile_and_vanish() {
    let (n, c) = (3, 5);
    let z: Vec<f64> = Rng::new(12).vec(n * c, -3.0, 3.0);
    let mut g = vec![f64::NAN; n * c];
    let v = cancelling::value_and_grad(Rows::new(&z, n, c), &mut g).unwrap();
    let exact = 0.5 * z.iter().sum::<f64>() / n as f64;
    assert!((v - exact).abs() <= 1e-14, "{v} vs {exact}");
    assert!(
        g.iter().all(|&x| (x - 0.5 / n as f64).abs() <= 1e-15),
        "{g:?}"
    );
}

#[test]
fn a_weighted_huber_gradient_keeps_f32_accuracy_at_values_of_1e4() {
    // Two predictions near 1e4 on a grid (`on_grid`), within ±2 of each other:
    // every difference is exact in f32, and each gradient is that
    // difference (clamped) times the sample's weight over the batch size.
    // Multiplied into each side before they cancel (`w x - w y`), the
    // weight would round the large products first: 3e-4 lost (the first
    // `factor`).
    let mut rng = Rng::new(13);
    let (n, d) = (4, 19);
    let x64 = on_grid(&mut rng, n * d, 1e4, 8.0);
    let y64 = near_on_grid(&mut rng, &x64, 2.0);
    let w64 = rng.vec(n, 0.1, 1.0);
    let (x, y, w) = (to_f32(&x64), to_f32(&y64), to_f32(&w64));
    let (mut gx, mut gy) = (vec![0.0_f32; n * d], vec![0.0_f32; n * d]);
    weighted_huber::value_and_grad(
        Rows::new(&x, n, d),
        Rows::new(&y, n, d),
        &w,
        &mut gx,
        &mut gy,
    )
    .unwrap();
    for k in 0..n * d {
        let weight = f64::from(w[k / d]) / n as f64;
        let want = weight * (x64[k] - y64[k]).clamp(-1.0, 1.0);
        let tolerance = 4.0 * f64::from(f32::EPSILON) * want.abs();
        let (got_x, got_y) = (f64::from(gx[k]), f64::from(gy[k]));
        assert!(
            (got_x - want).abs() <= tolerance,
            "x {k}: {got_x} vs {want}"
        );
        assert!(
            (got_y + want).abs() <= tolerance,
            "y {k}: {got_y} vs {}",
            -want
        );
    }
}

#[test]
fn a_product_and_a_quotient_with_exp_keep_their_factors() {
    let (n, d) = (2, 7);
    let t: Vec<f64> = Rng::new(13).vec(n * d, -0.9, 2.0);
    let mut g = vec![f64::NAN; n * d];
    let v = exp_and_linear::value_and_grad(Rows::new(&t, n, d), &mut g).unwrap();
    let exact = t
        .iter()
        .map(|&x| x.exp() * (x + 1.0) + x.exp() / (1.0 + x))
        .sum::<f64>()
        / n as f64;
    assert!((v - exact).abs() <= 1e-13 * exact.abs(), "{v} vs {exact}");
    // d/dt e^t (t + 1) = e^t (t + 2); d/dt e^t / (1 + t) = e^t t / (1 + t)^2.
    let want: Vec<f64> = t
        .iter()
        .map(|&x| (x.exp() * (x + 2.0) + x.exp() * x / ((1.0 + x) * (1.0 + x))) / n as f64)
        .collect();
    assert!(max_relative_error(&g, &want) < 1e-13, "{g:?} vs {want:?}");
}

#[test]
fn a_difference_scaled_by_a_half_keeps_f32_accuracy_at_values_of_1e4() {
    // `a` and `b` near 1e4 on a grid, within ±4 of each other: `a + b`, its
    // half and `b` minus that are exact in f32. With `c = 1 / (C N)`, the
    // gradient at `a` is `-c (b - 0.5 (a + b)) + (softmax(a) - onehot(y)) /
    // N`. Split as `(0.5 c) (a + b) - c b` (`factor` before the tenth fix
    // in docs/verify.md), both products round at 1e4 before they cancel:
    // about 1e-4 lost.
    let mut rng = Rng::new(29);
    let (n, c) = (3, 11);
    let a64 = on_grid(&mut rng, n * c, 1e4, 4.0);
    let b64 = near_on_grid(&mut rng, &a64, 4.0);
    let labels = rng.labels(n, c);
    let (a, b) = (to_f32(&a64), to_f32(&b64));
    let (mut ga, mut gb) = (vec![0.0_f32; n * c], vec![0.0_f32; n * c]);
    midpoint_beside_cross_entropy::value_and_grad(
        Rows::new(&a, n, c),
        Rows::new(&b, n, c),
        &labels,
        &mut ga,
        &mut gb,
    )
    .unwrap();
    let scale = 1.0 / (c * n) as f64;
    for (i, &y) in labels.iter().enumerate() {
        let row = i * c..(i + 1) * c;
        let lse = logsumexp(&a64[row.clone()]);
        for (j, k) in row.enumerate() {
            let half_gap = b64[k] - 0.5 * (a64[k] + b64[k]);
            let softmax = (a64[k] - lse).exp() - f64::from(u8::from(j == y));
            let want_a = -scale * half_gap + softmax / n as f64;
            let want_b = scale * half_gap;
            // A few roundings of numbers no larger than the terms.
            let tolerance =
                8.0 * f64::from(f32::EPSILON) * (scale * half_gap.abs() + 1.0 / n as f64);
            let (got_a, got_b) = (f64::from(ga[k]), f64::from(gb[k]));
            assert!(
                (got_a - want_a).abs() <= tolerance,
                "a {k}: {got_a} vs {want_a}"
            );
            assert!(
                (got_b - want_b).abs() <= tolerance,
                "b {k}: {got_b} vs {want_b}"
            );
        }
    }
}
