//! The three composites of the mission, declared with `loss!`, checked for
//! value and every requested gradient against independent f64 formulas
//! written here and against central differences, on ordinary and hard
//! inputs, through slices and nalgebra matrices.

mod common;

use common::declared::*;
use common::*;
use loss_core::{LossError, Rows};
use nalgebra::DMatrix;

// ---------------------------------------------------------------------------
// Independent formulas (per batch, f64), written from the math, not the IR.

fn ref_weighted_ce_kl(
    z: &[f64],
    y: &[usize],
    w: &[f64],
    q: &[f64],
    beta: f64,
    c: usize,
    weighted_mean: bool,
) -> (f64, Vec<f64>, f64) {
    let n = y.len();
    let mut total = 0.0;
    let mut den = 0.0;
    let mut grad = vec![0.0; n * c];
    let mut dbeta = 0.0;
    for i in 0..n {
        let zi = &z[i * c..(i + 1) * c];
        let qi = &q[i * c..(i + 1) * c];
        let p = softmax(zi);
        let ce = logsumexp(zi) - zi[y[i]];
        let kl = kl_to_softmax(qi, zi);
        total += w[y[i]] * ce + beta * kl;
        den += w[y[i]];
        dbeta += kl;
        let qsum: f64 = qi.iter().sum();
        for j in 0..c {
            let hot = if j == y[i] { 1.0 } else { 0.0 };
            grad[i * c + j] = w[y[i]] * (p[j] - hot) + beta * (p[j] * qsum - qi[j]);
        }
    }
    let scale = if weighted_mean { den } else { n as f64 };
    grad.iter_mut().for_each(|g| *g /= scale);
    (total / scale, grad, dbeta / scale)
}

/// Distillation per batch (sum reduction): value, d/ds, d/dT.
fn ref_distill(
    s: &[f64],
    t: &[f64],
    y: &[usize],
    alpha: f64,
    beta: f64,
    temp: f64,
    c: usize,
) -> (f64, Vec<f64>, f64) {
    let n = y.len();
    let (mut total, mut dtemp) = (0.0, 0.0);
    let mut grad = vec![0.0; n * c];
    for i in 0..n {
        let si = &s[i * c..(i + 1) * c];
        let ti = &t[i * c..(i + 1) * c];
        let u: Vec<f64> = ti.iter().map(|x| x / temp).collect();
        let v: Vec<f64> = si.iter().map(|x| x / temp).collect();
        let (p, q) = (softmax(&u), softmax(&v));
        let (lp, lq) = (log_softmax(&u), log_softmax(&v));
        let kl: f64 = (0..c)
            .map(|j| {
                if p[j] == 0.0 {
                    0.0
                } else {
                    p[j] * (lp[j] - lq[j])
                }
            })
            .sum();
        total += alpha * (logsumexp(si) - si[y[i]]) + beta * temp * temp * kl;
        let ps = softmax(si);
        for j in 0..c {
            let hot = if j == y[i] { 1.0 } else { 0.0 };
            grad[i * c + j] = alpha * (ps[j] - hot) + beta * temp * (q[j] - p[j]);
        }
        // dKL/dT through u = t/T and v = s/T.
        let dkl: f64 = -(0..c)
            .map(|j| p[j] * (lp[j] - lq[j] - kl) * ti[j] + (q[j] - p[j]) * si[j])
            .sum::<f64>()
            / (temp * temp);
        dtemp += beta * (2.0 * temp * kl + temp * temp * dkl);
    }
    (total, grad, dtemp)
}

fn ref_vae(
    xl: &[f64],
    x: &[f64],
    mu: &[f64],
    lv: &[f64],
    d: usize,
    k: usize,
) -> (f64, Vec<f64>, Vec<f64>, Vec<f64>) {
    let n = xl.len() / d;
    let mut total = 0.0;
    for i in 0..n {
        for j in 0..d {
            let (a, b) = (xl[i * d + j], x[i * d + j]);
            total += softplus(a) - a * b;
        }
        for j in 0..k {
            let (m, l) = (mu[i * k + j], lv[i * k + j]);
            total -= 0.5 * (1.0 + l - m * m - l.exp());
        }
    }
    let nf = n as f64;
    let dxl = xl
        .iter()
        .zip(x)
        .map(|(&a, &b)| (sigmoid(a) - b) / nf)
        .collect();
    let dmu = mu.iter().map(|&m| m / nf).collect();
    let dlv = lv.iter().map(|&l| 0.5 * (l.exp() - 1.0) / nf).collect();
    (total / nf, dxl, dmu, dlv)
}

// ---------------------------------------------------------------------------

const SHAPES: &[(usize, usize)] = &[(1, 1), (1, 7), (5, 1), (8, 10), (3, 1000), (17, 33)];

/// The VAE's value and its gradients with respect to the logits, `mu` and
/// `lv`, over `n` rows of `d` pixels and `k` latents.
fn vae_value_and_grads<F: loss_core::Float>(
    (xl, x, mu, lv): (&[F], &[F], &[F], &[F]),
    (n, d, k): (usize, usize, usize),
) -> (F, Vec<F>, Vec<F>, Vec<F>) {
    let (mut gx, mut gm, mut gl) = (
        vec![F::ZERO; n * d],
        vec![F::ZERO; n * k],
        vec![F::ZERO; n * k],
    );
    let v = vae::value_and_grad(
        Rows::new(xl, n, d),
        Rows::new(x, n, d),
        Rows::new(mu, n, k),
        Rows::new(lv, n, k),
        &mut gx,
        &mut gm,
        &mut gl,
    )
    .unwrap();
    (v, gx, gm, gl)
}

#[test]
fn weighted_ce_kl_matches_the_formula_and_finite_differences() {
    let mut rng = Rng::new(1);
    for &(n, c) in SHAPES {
        let z = rng.vec(n * c, -6.0, 6.0);
        let y = rng.labels(n, c);
        let w = rng.vec(c, 0.1, 2.0);
        let q = rng.probabilities(n, c);
        let beta = 0.7;
        let mut g = vec![0.0; n * c];
        let v = weighted_ce_kl::value_and_grad(
            Rows::new(&z, n, c),
            &y,
            &w,
            Rows::new(&q, n, c),
            beta,
            &mut g,
        )
        .unwrap();
        let (rv, rg, _) = ref_weighted_ce_kl(&z, &y, &w, &q, beta, c, false);
        assert!(
            (v - rv).abs() <= 1e-13 * rv.abs().max(1.0),
            "{n}x{c}: {v} vs {rv}"
        );
        assert!(
            max_relative_error(&g, &rg) < 1e-12,
            "{n}x{c}: {}",
            max_relative_error(&g, &rg)
        );
        let only =
            weighted_ce_kl::value(Rows::new(&z, n, c), &y, &w, Rows::new(&q, n, c), beta).unwrap();
        assert_eq!(only, v, "value and value_and_grad agree");

        // The weighted mean with a gradient for β.
        let mut g2 = vec![0.0; n * c];
        let mut dbeta = 0.0;
        let v2 = weighted_ce_kl_beta::value_and_grad(
            Rows::new(&z, n, c),
            &y,
            &w,
            Rows::new(&q, n, c),
            beta,
            &mut g2,
            &mut dbeta,
        )
        .unwrap();
        let (rv2, rg2, rdb) = ref_weighted_ce_kl(&z, &y, &w, &q, beta, c, true);
        assert!((v2 - rv2).abs() <= 1e-13 * rv2.abs().max(1.0));
        assert!(max_relative_error(&g2, &rg2) < 1e-12);
        assert!(
            (dbeta - rdb).abs() <= 1e-12 * rdb.abs().max(1.0),
            "{dbeta} vs {rdb}"
        );
    }
}

#[test]
fn gradients_match_central_differences() {
    let mut rng = Rng::new(2);
    let (n, c) = (3, 5);
    let z = rng.vec(n * c, -3.0, 3.0);
    let t = rng.vec(n * c, -3.0, 3.0);
    let y = rng.labels(n, c);
    let w = rng.vec(c, 0.5, 2.0);
    let q = rng.probabilities(n, c);

    // weighted_ce_kl_beta: in z and β.
    let f = |x: &[f64]| {
        weighted_ce_kl_beta::value(
            Rows::new(&x[..n * c], n, c),
            &y,
            &w,
            Rows::new(&q, n, c),
            x[n * c],
        )
        .unwrap()
    };
    let mut point = z.clone();
    point.push(0.3);
    let mut g = vec![0.0; n * c];
    let mut db = 0.0;
    weighted_ce_kl_beta::value_and_grad(
        Rows::new(&z, n, c),
        &y,
        &w,
        Rows::new(&q, n, c),
        0.3,
        &mut g,
        &mut db,
    )
    .unwrap();
    g.push(db);
    let fd: Vec<f64> = (0..point.len())
        .map(|k| central_difference(&f, &point, k))
        .collect();
    assert!(max_relative_error(&g, &fd) < 1e-8, "{g:?}\n{fd:?}");

    // distill_temp: in s and T.
    let f = |x: &[f64]| {
        distill_temp::value(
            Rows::new(&x[..n * c], n, c),
            Rows::new(&t, n, c),
            &y,
            0.4,
            0.6,
            x[n * c],
        )
        .unwrap()
    };
    let mut point = z.clone();
    point.push(2.5);
    let mut g = vec![0.0; n * c];
    let mut dt = 0.0;
    distill_temp::value_and_grad(
        Rows::new(&z, n, c),
        Rows::new(&t, n, c),
        &y,
        0.4,
        0.6,
        2.5,
        &mut g,
        &mut dt,
    )
    .unwrap();
    g.push(dt);
    let fd: Vec<f64> = (0..point.len())
        .map(|k| central_difference(&f, &point, k))
        .collect();
    assert!(max_relative_error(&g, &fd) < 1e-8, "{g:?}\n{fd:?}");

    // vae: in xl, mu and lv.
    let (d, k) = (4, 3);
    let xl = rng.vec(n * d, -4.0, 4.0);
    let x = rng.vec(n * d, 0.0, 1.0);
    let mu = rng.vec(n * k, -2.0, 2.0);
    let lv = rng.vec(n * k, -2.0, 1.0);
    let split = |p: &[f64]| -> f64 {
        let (a, rest) = p.split_at(n * d);
        let (m, l) = rest.split_at(n * k);
        vae::value(
            Rows::new(a, n, d),
            Rows::new(&x, n, d),
            Rows::new(m, n, k),
            Rows::new(l, n, k),
        )
        .unwrap()
    };
    let point: Vec<f64> = xl.iter().chain(&mu).chain(&lv).copied().collect();
    let (_, gx, gm, gl) = vae_value_and_grads((&xl, &x, &mu, &lv), (n, d, k));
    let g: Vec<f64> = gx.iter().chain(&gm).chain(&gl).copied().collect();
    let fd: Vec<f64> = (0..point.len())
        .map(|k| central_difference(&split, &point, k))
        .collect();
    assert!(max_relative_error(&g, &fd) < 1e-8, "{g:?}\n{fd:?}");
}

#[test]
fn distillation_matches_the_formula() {
    let mut rng = Rng::new(3);
    for &(n, c) in SHAPES {
        for &temp in &[0.5, 1.0, 4.0] {
            let s = rng.vec(n * c, -8.0, 8.0);
            let t = rng.vec(n * c, -8.0, 8.0);
            let y = rng.labels(n, c);
            let (rv, rg, rdt) = ref_distill(&s, &t, &y, 0.3, 0.7, temp, c);
            let mut g = vec![0.0; n * c];
            let v = distill::value_and_grad(
                Rows::new(&s, n, c),
                Rows::new(&t, n, c),
                &y,
                0.3,
                0.7,
                temp,
                &mut g,
            )
            .unwrap();
            let nf = n as f64;
            assert!(
                (v - rv / nf).abs() <= 1e-13 * (rv / nf).abs().max(1.0),
                "{v} vs {}",
                rv / nf
            );
            let rg_mean: Vec<f64> = rg.iter().map(|x| x / nf).collect();
            assert!(max_relative_error(&g, &rg_mean) < 1e-12);

            let mut g2 = vec![0.0; n * c];
            let mut dt = 0.0;
            let v2 = distill_temp::value_and_grad(
                Rows::new(&s, n, c),
                Rows::new(&t, n, c),
                &y,
                0.3,
                0.7,
                temp,
                &mut g2,
                &mut dt,
            )
            .unwrap();
            assert!((v2 - rv).abs() <= 1e-12 * rv.abs().max(1.0));
            assert!(max_relative_error(&g2, &rg) < 1e-12);
            assert!(
                (dt - rdt).abs() <= 1e-10 * rdt.abs().max(1.0),
                "{dt} vs {rdt}"
            );
        }
    }
}

#[test]
fn vae_matches_the_formula() {
    let mut rng = Rng::new(4);
    for &(n, d, k) in &[(1, 1, 1), (4, 784, 20), (6, 10, 3)] {
        let xl = rng.vec(n * d, -30.0, 30.0);
        let x = rng.vec(n * d, 0.0, 1.0);
        let mu = rng.vec(n * k, -3.0, 3.0);
        let lv = rng.vec(n * k, -5.0, 2.0);
        let (v, gx, gm, gl) = vae_value_and_grads((&xl, &x, &mu, &lv), (n, d, k));
        let (rv, rx, rm, rl) = ref_vae(&xl, &x, &mu, &lv, d, k);
        assert!((v - rv).abs() <= 1e-12 * rv.abs(), "{v} vs {rv}");
        assert!(max_relative_error(&gx, &rx) < 1e-13);
        assert!(max_relative_error(&gm, &rm) < 1e-13);
        assert!(max_relative_error(&gl, &rl) < 1e-13);
    }
}

#[test]
fn the_gaussian_kl_keeps_its_accuracy_where_lv_is_near_0() {
    // A posterior close to the prior: mu = 0 and lv near 0, where `1 + lv -
    // exp(lv)` is -lv^2 / 2 and its three terms cancel (as written, 1e-4
    // gives about 1e-12 relative error in f64, 1e-3 in f32). The
    // reconstruction is certain (x = 1 at logits of 40: e^-40 each), so the
    // divergence is the value; against its series, exact to 1e-30 here.
    fn check<F: loss_core::Float>(from: fn(f64) -> F, ulps: f64) {
        let lv64 = [1e-4, -3e-4, 2.5e-3, -1e-2, 7e-6, 0.0];
        let (n, d, k) = (1, 2, lv64.len());
        let lv: Vec<F> = lv64.iter().map(|&x| from(x)).collect();
        let (xl, x, mu) = (vec![from(40.0); d], vec![F::ONE; d], vec![F::ZERO; k]);
        let (v, _, _, gl) = vae_value_and_grads((&xl, &x, &mu, &lv), (n, d, k));
        let v = v.to_f64();
        // e^l - 1 - l by its series, for the numbers F holds.
        let expm1mx = |l: f64| {
            (2..12)
                .map(|m| l.powi(m) / (1..=m).map(f64::from).product::<f64>())
                .sum::<f64>()
        };
        let exact = 0.5 * lv.iter().map(|l| expm1mx(l.to_f64())).sum::<f64>()
            + d as f64 * (-40.0_f64).exp();
        let error = (v - exact).abs() / (exact * F::EPSILON.to_f64());
        assert!(
            error <= ulps,
            "{}: {v:e} vs {exact:e}, {error:.2} eps",
            std::any::type_name::<F>()
        );
        for (g, l) in gl.iter().zip(&lv) {
            let want = 0.5 * l.to_f64().exp_m1();
            assert!(
                (g.to_f64() - want).abs() <= 2.0 * F::EPSILON.to_f64() * want.abs(),
                "{:e} vs {want:e}",
                g.to_f64()
            );
        }
    }
    check::<f32>(|x| x as f32, 4.0);
    check::<f64>(|x| x, 4.0);
}

/// Where a row's maxima may fall for the fused kernels: in the first chunk,
/// across a chunk boundary, in the last whole chunk and in the tail, once
/// or tied in several chunks, or everywhere.
fn placements_of_maxima(c: usize) -> Vec<Vec<usize>> {
    let mut placements: Vec<Vec<usize>> = [0, 7, 8, 15, 16, 31, 32, 33, c / 2, c - 2, c - 1]
        .iter()
        .filter(|&&j| j < c)
        .map(|&j| vec![j])
        .collect();
    placements.push(vec![1, c - 1]);
    placements.push(vec![3, c / 2, c - 3]);
    placements.push((0..c).collect());
    placements
}

#[test]
fn confident_rows_keep_their_accuracy_wherever_their_maximum_falls() {
    // The fused passes look for a row's maxima chunk by chunk and take the
    // plain statements where a chunk holds none. A row whose maxima lead
    // the rest by `lead` to `lead + 4` has `ln(sum(exp(z - max)))` about
    // `C e^-lead`, far below the rounding of 1: its cross-entropy against
    // a one-hot at a maximum keeps its accuracy only if every maximum is
    // counted wherever it falls (in the first chunk, across a boundary, in
    // the tail, or tied in several chunks; with the chunks' test forced to
    // find none it fails). A distillation's gradient where teacher and
    // student agree, whose split at the maximum takes the same passes, is
    // checked at the same places.
    fn check<F: loss_core::Float>(lead: f64, from: fn(f64) -> F) {
        let mut rng = Rng::new(21);
        let eps = F::EPSILON.to_f64();
        let round = |x: &[f64]| -> Vec<F> { x.iter().map(|&v| from(v)).collect() };
        let widen = |x: &[F]| -> Vec<f64> { x.iter().map(|v| v.to_f64()).collect() };
        for c in [9, 40, 41, 100, 257] {
            for maxima in placements_of_maxima(c) {
                let leading = |rng: &mut Rng, scale: f64, lead: f64| -> Vec<F> {
                    let row: Vec<f64> = (0..c)
                        .map(|k| match maxima.contains(&k) {
                            true => 0.0,
                            false => -scale * (lead + rng.uniform(0.0, 4.0)),
                        })
                        .collect();
                    round(&row)
                };
                let z = leading(&mut rng, 1.0, lead);
                let j = maxima[0];
                let p: Vec<F> = (0..c).map(|k| from(f64::from(u8::from(k == j)))).collect();
                let value = soft_ce::value(Rows::new(&z, 1, c), Rows::new(&p, 1, c)).unwrap();
                // ln(ties + rest) as ln(ties) + ln(1 + rest / ties), in f64
                // from the numbers F holds.
                let ties = maxima.len() as f64;
                let rest: f64 = widen(&z)
                    .iter()
                    .enumerate()
                    .filter(|(k, _)| !maxima.contains(k))
                    .map(|(_, x)| x.exp())
                    .sum();
                let want = ties.ln() + (rest / ties).ln_1p();
                let got = value.to_f64();
                assert!(
                    (got - want).abs() <= 8.0 * eps * want,
                    "{}, C = {c}, maxima at {maxima:?}: {got:e} vs {want:e}",
                    std::any::type_name::<F>()
                );
                if maxima.len() > 1 {
                    continue;
                }
                let (alpha, beta, temp) = (0.5, 0.5, 2.0);
                // The teacher leads by one more, as in the test above, so
                // that the gradient at the maximum, about the difference of
                // the two rows' sums below it, is not itself a cancellation.
                let s = leading(&mut rng, temp, lead);
                let t = leading(&mut rng, temp, lead + 1.0);
                // The label at the maximum (the largest component is then
                // about C e^-lead, which the split alone gets right) and
                // beside it.
                for label in [j, (j + 1) % c] {
                    let mut g = vec![F::ZERO; c];
                    distill::value_and_grad(
                        Rows::new(&s, 1, c),
                        Rows::new(&t, 1, c),
                        &[label],
                        from(alpha),
                        from(beta),
                        from(temp),
                        &mut g,
                    )
                    .unwrap();
                    let (s, t) = (widen(&s), widen(&t));
                    let want = ref_distill_agreeing_grad(&s, &t, j, label, alpha, beta, temp);
                    let scale = want.iter().fold(0.0_f64, |m, x| m.max(x.abs()));
                    for (k, (got, want)) in widen(&g).iter().zip(&want).enumerate() {
                        assert!(
                            (got - want).abs() <= 16.0 * eps * scale,
                            "{}, C = {c}, maximum at {j}, label {label}, class {k}: {got:e} vs {want:e}",
                            std::any::type_name::<F>()
                        );
                    }
                }
            }
        }
    }
    check::<f32>(15.0, |x| x as f32);
    check::<f64>(38.0, |x| x);
}

#[test]
fn huge_logits_stay_finite_and_exact_in_f64() {
    // Logits of magnitude 1e4: exp overflows for any unshifted formula.
    let mut rng = Rng::new(5);
    let (n, c) = (6, 9);
    let z: Vec<f64> = rng.vec(n * c, -1e4, 1e4);
    let t: Vec<f64> = rng.vec(n * c, -1e4, 1e4);
    let y = rng.labels(n, c);
    let mut g = vec![0.0; n * c];
    let v = distill::value_and_grad(
        Rows::new(&z, n, c),
        Rows::new(&t, n, c),
        &y,
        0.5,
        0.5,
        2.0,
        &mut g,
    )
    .unwrap();
    let (rv, rg, _) = ref_distill(&z, &t, &y, 0.5, 0.5, 2.0, c);
    assert!(v.is_finite() && g.iter().all(|x| x.is_finite()));
    assert!((v - rv / n as f64).abs() <= 1e-12 * v.abs());
    let rg: Vec<f64> = rg.iter().map(|x| x / n as f64).collect();
    assert!(max_relative_error(&g, &rg) < 1e-12);

    let p = rng.probabilities(n, c);
    let (mut g1, mut g2) = (vec![0.0; n * c], vec![0.0; n * c]);
    let v1 =
        naive_soft_ce::value_and_grad(Rows::new(&z, n, c), Rows::new(&p, n, c), &mut g1).unwrap();
    let v2 = soft_ce::value_and_grad(Rows::new(&z, n, c), Rows::new(&p, n, c), &mut g2).unwrap();
    assert!(v1.is_finite() && g1.iter().all(|x| x.is_finite()));
    assert!(ulps_f64(v1, v2) <= 4, "{v1} vs {v2}");
    for (a, b) in g1.iter().zip(&g2) {
        assert!(ulps_f64(*a, *b) <= 4, "{a} vs {b}");
    }
}

#[test]
fn logits_near_1e4_keep_f32_accuracy() {
    // Logits 1e4 + k/64 with |k/64| < 4, and a temperature of 4: every
    // input, and `t / T`, is exact in f32, so the f64 formula sees the same
    // numbers, and what is lost is lost in the kernels (the short exp of
    // `x - max`, the shift before the logarithm). In the narrow kernel (C =
    // 10) and the row kernel (C = 1000).
    for (n, c) in [(5, 10), (3, 1000)] {
        let mut rng = Rng::new(14);
        let s64 = on_grid(&mut rng, n * c, 1e4, 4.0);
        let t64 = on_grid(&mut rng, n * c, 1e4, 4.0);
        let y = rng.labels(n, c);
        let s: Vec<f32> = s64.iter().map(|&x| x as f32).collect();
        let t: Vec<f32> = t64.iter().map(|&x| x as f32).collect();
        let mut g = vec![0.0_f32; n * c];
        let v = distill::value_and_grad(
            Rows::new(&s, n, c),
            Rows::new(&t, n, c),
            &y,
            0.5,
            0.5,
            4.0,
            &mut g,
        )
        .unwrap();
        let (rv, rg, _) = ref_distill(&s64, &t64, &y, 0.5, 0.5, 4.0, c);
        let rv = rv / n as f64;
        // 16 ε of the value and of the largest gradient component (the
        // errors are 0.6–3 ε); `m + ln S` rounded at 1e4 would be 4000 ε.
        let bound = 16.0 * f64::from(f32::EPSILON);
        assert!(
            (f64::from(v) - rv).abs() <= bound * rv.abs(),
            "C = {c}: {v} vs {rv}"
        );
        let scale = rg.iter().fold(0.0_f64, |m, x| m.max(x.abs())) / n as f64;
        for (k, (&got, want)) in g.iter().zip(&rg).enumerate() {
            let want = want / n as f64;
            assert!(
                (f64::from(got) - want).abs() <= bound * scale,
                "C = {c}, element {k}: {got} vs {want}"
            );
        }
    }
}

/// The distillation gradient in s of a row whose teacher and student both
/// put nearly all their mass on class `j`, from the sums below that class:
/// at `j`, `q_j - p_j = R_p / S_p - R_q / S_q` with `R = sum_{k≠j} e^(x_k -
/// x_j)` and `S = 1 + R`, which has no difference of two numbers near 1.
fn ref_distill_agreeing_grad(
    s: &[f64],
    t: &[f64],
    j: usize,
    label: usize,
    alpha: f64,
    beta: f64,
    temp: f64,
) -> Vec<f64> {
    let below = |x: &[f64]| -> f64 {
        (0..x.len())
            .filter(|&k| k != j)
            .map(|k| (x[k] - x[j]).exp())
            .sum()
    };
    let (u, v): (Vec<f64>, Vec<f64>) = (
        t.iter().map(|x| x / temp).collect(),
        s.iter().map(|x| x / temp).collect(),
    );
    let (r_p, r_q, r_s) = (below(&u), below(&v), below(s));
    let (p, q, ps) = (softmax(&u), softmax(&v), softmax(s));
    (0..s.len())
        .map(|k| {
            let kl = if k == j {
                r_p / (1.0 + r_p) - r_q / (1.0 + r_q)
            } else {
                q[k] - p[k]
            };
            let ce = match (k == label, k == j) {
                (true, true) => -r_s / (1.0 + r_s),
                (true, false) => ps[k] - 1.0,
                (false, _) => ps[k],
            };
            alpha * ce + beta * temp * kl
        })
        .collect()
}

#[test]
fn a_teacher_and_student_that_agree_confidently_keep_the_gradient_accurate() {
    // Student and teacher lead at the same class j by 15-20 (f32) or 38-43
    // (f64) over T, so that q_j and p_j are both about 1 - 3e-7 (1 - 3e-17):
    // their difference, the gradient's largest component where the label is
    // j, is the size of the rounding of either unless it is taken as `(1 -
    // p_j) - (1 - q_j)` (as written it erred by 2 % of it in f32, by more
    // than all of it in f64). In the narrow kernel (C = 2, 10) and the row
    // kernel (C = 1000); the label on j in even rows, beside it in odd ones.

    /// Logits that lead at `leaders` by `lead` to `lead + 4` over T.
    fn leading(rng: &mut Rng, leaders: &[usize], c: usize, lead: f64, temp: f64) -> Vec<f64> {
        let mut x = vec![0.0; leaders.len() * c];
        for (i, &j) in leaders.iter().enumerate() {
            for k in (0..c).filter(|&k| k != j) {
                x[i * c + k] = -temp * (lead + rng.vec(1, 0.0, 4.0)[0]);
            }
        }
        x
    }
    fn check<F: loss_core::Float>(lead: f64, from: fn(f64) -> F) {
        let (alpha, beta, temp) = (0.5, 0.5, 2.0);
        for (n, c) in [(4, 2), (4, 10), (3, 1000)] {
            let mut rng = Rng::new(15);
            let leaders = rng.labels(n, c);
            let y: Vec<usize> = (0..n).map(|i| (leaders[i] + i % 2) % c).collect();
            let s: Vec<F> = leading(&mut rng, &leaders, c, lead, temp)
                .into_iter()
                .map(from)
                .collect();
            let t: Vec<F> = leading(&mut rng, &leaders, c, lead + 1.0, temp)
                .into_iter()
                .map(from)
                .collect();
            // The f64 formula of the numbers F holds.
            let s64: Vec<f64> = s.iter().map(|x| x.to_f64()).collect();
            let t64: Vec<f64> = t.iter().map(|x| x.to_f64()).collect();
            let mut g = vec![F::ZERO; n * c];
            distill::value_and_grad(
                Rows::new(&s, n, c),
                Rows::new(&t, n, c),
                &y,
                from(alpha),
                from(beta),
                from(temp),
                &mut g,
            )
            .unwrap();
            for i in 0..n {
                let range = i * c..(i + 1) * c;
                let want: Vec<f64> = ref_distill_agreeing_grad(
                    &s64[range.clone()],
                    &t64[range.clone()],
                    leaders[i],
                    y[i],
                    alpha,
                    beta,
                    temp,
                )
                .into_iter()
                .map(|x| x / n as f64)
                .collect();
                let scale = want.iter().fold(0.0_f64, |m, x| m.max(x.abs()));
                // 16 ε of the largest component, as for the shifted logits.
                let bound = 16.0 * F::EPSILON.to_f64() * scale;
                for (k, (&got, want)) in g[range].iter().zip(&want).enumerate() {
                    let got = got.to_f64();
                    assert!(
                        (got - want).abs() <= bound,
                        "{}, C = {c}, row {i}, class {k}: {got:e} vs {want:e} (largest {scale:e})",
                        std::any::type_name::<F>()
                    );
                }
            }
        }
    }
    check::<f32>(15.0, |x| x as f32);
    check::<f64>(38.0, |x| x);
}

#[test]
fn logits_of_80_stay_finite_in_f32() {
    let mut rng = Rng::new(6);
    let (n, c) = (5, 12);
    let z64 = rng.vec(n * c, -80.0, 80.0);
    let p64 = rng.probabilities(n, c);
    let y = rng.labels(n, c);
    let z: Vec<f32> = z64.iter().map(|&x| x as f32).collect();
    let p: Vec<f32> = p64.iter().map(|&x| x as f32).collect();
    let (mut g1, mut g2) = (vec![0.0_f32; n * c], vec![0.0_f32; n * c]);
    let v1 =
        naive_soft_ce::value_and_grad(Rows::new(&z, n, c), Rows::new(&p, n, c), &mut g1).unwrap();
    let v2 = soft_ce::value_and_grad(Rows::new(&z, n, c), Rows::new(&p, n, c), &mut g2).unwrap();
    assert!(v1.is_finite() && g1.iter().all(|x| x.is_finite()));
    assert!(ulps_f32(v1, v2) <= 4, "{v1} vs {v2}");
    for (a, b) in g1.iter().zip(&g2) {
        assert!(ulps_f32(*a, *b) <= 4, "{a} vs {b}");
    }
    // And against the f64 formula, to f32 accuracy.
    let zr: Vec<f64> = z.iter().map(|&x| f64::from(x)).collect();
    let pr: Vec<f64> = p.iter().map(|&x| f64::from(x)).collect();
    let exact: f64 = (0..n)
        .map(|i| {
            let ls = log_softmax(&zr[i * c..(i + 1) * c]);
            -(0..c).map(|j| pr[i * c + j] * ls[j]).sum::<f64>()
        })
        .sum::<f64>()
        / n as f64;
    assert!(
        (f64::from(v1) - exact).abs() <= 1e-5 * exact.abs(),
        "{v1} vs {exact}"
    );

    let (mut g3, mut g4) = (vec![0.0_f32; n * c], vec![0.0_f32; n * c]);
    let v3 = naive_ce::value_and_grad(Rows::new(&z, n, c), &y, &mut g3).unwrap();
    let v4 = ce::value_and_grad(Rows::new(&z, n, c), &y, &mut g4).unwrap();
    assert!(v3.is_finite());
    assert!(ulps_f32(v3, v4) <= 4);
    assert!(g3.iter().zip(&g4).all(|(a, b)| ulps_f32(*a, *b) <= 4));
}

#[test]
fn a_confident_correct_label_keeps_full_relative_accuracy() {
    // p_y = 1 - 1e-30: the loss is 1e-30 and the label's gradient is -1e-30,
    // which `ln(sum)` and `p_y - 1` would both round to 0.
    let z = [0.0_f64, -69.07755278982137, -1e4]; // e^-69.08 = 1e-30
    let mut g = [0.0; 3];
    let v = ce::value_and_grad(Rows::new(&z, 1, 3), &[0usize], &mut g).unwrap();
    assert!((v / 1e-30 - 1.0).abs() < 1e-12, "{v}");
    assert!((g[0] / -1e-30 - 1.0).abs() < 1e-12, "{}", g[0]);
    assert!((g[1] / 1e-30 - 1.0).abs() < 1e-12, "{}", g[1]);
    assert_eq!(g[2], 0.0);
    // The same in f32 (e^-40 ≈ 4.25e-18).
    let z = [0.0_f32, -40.0, -80.0];
    let mut g = [0.0_f32; 3];
    let v = ce::value_and_grad(Rows::new(&z, 1, 3), &[0usize], &mut g).unwrap();
    let expect = (-40.0_f64).exp();
    assert!((f64::from(v) / expect - 1.0).abs() < 1e-6, "{v}");
    assert!((f64::from(g[0]) / -expect - 1.0).abs() < 1e-6, "{}", g[0]);
}

#[test]
fn zeros_and_one_hot_targets_give_finite_results() {
    let (n, c) = (4, 6);
    let mut rng = Rng::new(7);
    let z = rng.vec(n * c, -50.0, 50.0);
    let y = rng.labels(n, c);
    let w = vec![1.0; c];
    // One-hot targets: every other entry is an exact zero.
    let mut q = vec![0.0; n * c];
    for i in 0..n {
        q[i * c + y[i]] = 1.0;
    }
    let mut g = vec![0.0; n * c];
    let v = weighted_ce_kl::value_and_grad(
        Rows::new(&z, n, c),
        &y,
        &w,
        Rows::new(&q, n, c),
        1.0,
        &mut g,
    )
    .unwrap();
    let (rv, rg, _) = ref_weighted_ce_kl(&z, &y, &w, &q, 1.0, c, false);
    assert!(v.is_finite() && g.iter().all(|x| x.is_finite()));
    assert!((v - rv).abs() <= 1e-12 * rv.abs().max(1.0));
    assert!(max_relative_error(&g, &rg) < 1e-12);
    // With a one-hot q, KL(q ‖ softmax z) is exactly the cross-entropy.
    let ce_only = ce::value(Rows::new(&z, n, c), &y).unwrap();
    assert!((v - 2.0 * ce_only).abs() <= 1e-12 * v.abs());
}

#[test]
fn empty_batches_follow_the_documented_convention() {
    let z: [f64; 0] = [];
    let y: [usize; 0] = [];
    // mean: NaN (0/0, as PyTorch); sum: 0; gradients: nothing to write, scalars 0.
    let mut g: [f64; 0] = [];
    assert!(ce::value_and_grad(Rows::new(&z, 0, 4), &y, &mut g[..])
        .unwrap()
        .is_nan());
    let mut dt = f64::NAN;
    let v = distill_temp::value_and_grad(
        Rows::new(&z, 0, 4),
        Rows::new(&z, 0, 4),
        &y,
        1.0,
        1.0,
        2.0,
        &mut g[..],
        &mut dt,
    )
    .unwrap();
    assert_eq!((v, dt), (0.0, 0.0));
    let w = [1.0; 4];
    assert!(
        weighted_ce_kl_beta::value(Rows::new(&z, 0, 4), &y, &w, Rows::new(&z, 0, 4), 1.0)
            .unwrap()
            .is_nan()
    );
}

#[test]
fn slices_and_nalgebra_give_identical_results() {
    let mut rng = Rng::new(8);
    let (n, c) = (7, 11);
    let s = rng.vec(n * c, -5.0, 5.0);
    let t = rng.vec(n * c, -5.0, 5.0);
    let y = rng.labels(n, c);
    let mut g = vec![0.0; n * c];
    let v = distill::value_and_grad(
        Rows::new(&s, n, c),
        Rows::new(&t, n, c),
        &y,
        0.5,
        0.5,
        3.0,
        &mut g,
    )
    .unwrap();
    // One sample per column.
    let sm = DMatrix::from_column_slice(c, n, &s);
    let tm = DMatrix::from_column_slice(c, n, &t);
    let mut gm = DMatrix::<f64>::zeros(c, n);
    let vm = distill::value_and_grad(&sm, &tm, &y, 0.5, 0.5, 3.0, &mut gm).unwrap();
    assert_eq!(v.to_bits(), vm.to_bits());
    assert_eq!(g.as_slice(), gm.as_slice());
}

#[test]
fn the_reference_transcription_agrees_with_the_fast_path() {
    let mut rng = Rng::new(9);
    let (n, c) = (4, 8);
    let s = rng.vec(n * c, -5.0, 5.0);
    let t = rng.vec(n * c, -5.0, 5.0);
    let y = rng.labels(n, c);
    let fast = distill::value(Rows::new(&s, n, c), Rows::new(&t, n, c), &y, 0.3, 0.7, 2.0).unwrap();
    let slow: f64 = (0..n)
        .map(|i| {
            distill::reference(
                &s[i * c..(i + 1) * c],
                &t[i * c..(i + 1) * c],
                y[i],
                0.3,
                0.7,
                2.0,
            )
            .unwrap()
        })
        .sum::<f64>()
        / n as f64;
    assert!((fast - slow).abs() <= 1e-13 * slow.abs());
    assert!(matches!(
        ce::reference(&[1.0, 2.0], 2).unwrap_err(),
        LossError::LabelOutOfRange {
            label: 2,
            classes: 2,
            ..
        }
    ));
}

#[test]
fn the_derived_gradients_read_as_the_math() {
    assert_eq!(ce::GRADIENT, &[("z", "softmax(z) - onehot(y)")]);
    assert_eq!(naive_ce::GRADIENT, ce::GRADIENT);
    assert_eq!(soft_ce::GRADIENT, &[("z", "sum(p) * softmax(z) - p")]);
    assert_eq!(vae::GRADIENT[1], ("mu", "mu"));
    assert_eq!(distill::FORMULA, "alpha * cross_entropy(s, y) + beta * temp.powi(2) * kl_div(softmax(t / temp), softmax(s / temp))");
}

#[test]
fn losses_are_fused_into_three_passes_per_row() {
    assert_eq!(ce::GRAD_PASSES, 3, "max, sum of exponentials, gradient");
    assert_eq!(ce::VALUE_PASSES, 2);
    assert_eq!(distill::GRAD_PASSES, 3);
    assert_eq!(weighted_ce_kl::GRAD_PASSES, 3);
    assert_eq!(vae::GRAD_PASSES, 2, "one pass over each of its two dims");
}

#[test]
fn runtime_errors_name_the_input_and_write_nothing() {
    let z = [0.5_f64; 6];
    let mut g = [7.0_f64; 6];
    let e = ce::value_and_grad(Rows::new(&z, 2, 3), &[0usize, 3], &mut g[..]).unwrap_err();
    assert_eq!(e.to_string(), "label `y` at row 1 is 3, outside 0..3");
    assert_eq!(g, [7.0; 6], "nothing written on error");
    let e = ce::value_and_grad(Rows::new(&z, 2, 3), &[0_i64, -100], &mut g[..]).unwrap_err();
    assert_eq!(e.to_string(), "label `y` at row 1 is -100, outside 0..3");
    let e = ce::value(Rows::new(&z, 2, 3), &[0usize]).unwrap_err();
    assert_eq!(e.to_string(), "`y` has 1 samples but `z` has 2");
    let e = ce::value(Rows::new(&z, 3, 3), &[0usize; 3]).unwrap_err();
    assert_eq!(e.to_string(), "`z` has length 6, expected 9");
    let e = ce::value_and_grad(Rows::new(&z, 2, 3), &[0usize, 1], &mut g[..5]).unwrap_err();
    assert_eq!(e.to_string(), "`gradient of z` has length 5, expected 6");
    let e = distill::value(
        Rows::new(&z, 2, 3),
        Rows::new(&z, 3, 2),
        &[0usize, 1],
        1.0,
        1.0,
        1.0,
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "`t` has 3 samples but `s` has 2");
    let e = distill::value(
        Rows::new(&z, 2, 3),
        Rows::new(&z[..4], 2, 2),
        &[0usize, 1],
        1.0,
        1.0,
        1.0,
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "`t` has width 2, but dim `C` is 3 (from `s`)"
    );
    // A weight vector is one row: its length is its width.
    let e = loss_core::losses::nll_loss_weighted::value(
        Rows::new(&z, 2, 3),
        &[0i64, 1],
        -100,
        &[1.0, 1.0, 1.0, 1.0],
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "`weight` has width 4, but dim `C` is 3 (from `input`)"
    );
    let mut gm = DMatrix::<f64>::zeros(2, 3);
    let e = ce::value_and_grad(Rows::new(&z, 2, 3), &[0usize, 1], &mut gm).unwrap_err();
    assert!(
        matches!(
            e,
            LossError::BatchMismatch {
                input: "gradient of z",
                found: 3,
                expected: 2,
                ..
            }
        ),
        "{e}"
    );
    let e = ce::value(Rows::<f64>::new(&[], 2, 0), &[0usize, 0]).unwrap_err();
    assert!(matches!(e, LossError::EmptyDim { dim: "C", .. }), "{e}");
}

/// A dim of width 0 is an error for every loss, as in `reference`, not only
/// where a max or log-sum-exp needs an element: a mean over it would be NaN,
/// a batch of empty rows is not bounded by its data, and a class weight
/// would be read from an empty slice.
#[test]
fn a_dim_of_width_zero_is_an_error_for_every_loss() {
    use loss_core::losses::{mse, nll_loss_per_sample, nll_loss_weighted};
    let empty: &[f64] = &[];
    let e = mse::value(Rows::new(empty, 3, 0), Rows::new(empty, 3, 0)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "dim `D` is 0 (from `input`), but the loss reduces over it"
    );
    assert!(mse::reference(empty, empty).is_err());
    let mut g: [f64; 0] = [];
    let e = mse::value_and_grad(Rows::new(empty, 3, 0), Rows::new(empty, 3, 0), &mut g[..]);
    assert!(matches!(e, Err(LossError::EmptyDim { dim: "D", .. })));
    // As many empty rows as a usize holds: an error, not a loop that long.
    let e = mse::value(
        Rows::new(empty, usize::MAX, 0),
        Rows::new(empty, usize::MAX, 0),
    );
    assert!(matches!(e, Err(LossError::EmptyDim { .. })));
    // Every sample ignored and no classes: each kernel width gives the error
    // (the narrow kernel read `weight[0]` of an empty slice for such rows).
    for n in [1, 7, 40, 41] {
        let ignored = vec![-100_i64; n];
        let e = nll_loss_weighted::value(Rows::new(empty, n, 0), &ignored, -100, empty);
        assert!(
            matches!(e, Err(LossError::EmptyDim { dim: "C", .. })),
            "{e:?}"
        );
        let mut losses = vec![0.0; n];
        let e =
            nll_loss_per_sample::value(Rows::new(empty, n, 0), &ignored, -100, empty, &mut losses);
        assert!(
            matches!(e, Err(LossError::EmptyDim { dim: "C", .. })),
            "{e:?}"
        );
    }
    // No samples: nothing to reduce over, and no error (`sum` is 0).
    assert!(mse::value(Rows::new(empty, 0, 0), Rows::new(empty, 0, 0)).is_ok());
}

/// A `u64` label of 2^63 or more is out of range, not the ignore index
/// `i64::MAX` it once saturated to, and the message gives its exact value.
#[test]
fn a_huge_unsigned_label_is_out_of_range_with_its_exact_value() {
    use loss_core::losses::nll_loss_weighted;
    let z = [0.5_f64; 3];
    let w = [1.0_f64; 3];
    let e = nll_loss_weighted::value(Rows::new(&z, 1, 3), &[u64::MAX], i64::MAX, &w).unwrap_err();
    assert_eq!(
        e.to_string(),
        "label `target` at row 0 is 18446744073709551615, outside 0..3"
    );
    let e =
        nll_loss_weighted::value(Rows::new(&z, 1, 3), &[1_u64 << 63], i64::MAX, &w).unwrap_err();
    assert!(matches!(e, LossError::LabelOutOfRange { label, .. } if label == 1 << 63));
    // The ignore index itself, as a `u64`, is still ignored.
    let v =
        nll_loss_weighted::value(Rows::new(&z, 1, 3), &[i64::MAX as u64], i64::MAX, &w).unwrap();
    assert!(v.is_nan(), "every sample ignored: the mean of nothing");
}

/// A gradient matrix of the wrong shape names the dim and the input that
/// fixed it, as the inputs' own checks do (a matrix holds a sample per
/// column).
#[test]
fn a_gradient_matrix_of_the_wrong_shape_names_the_dim_and_the_input() {
    let z = [0.5_f64; 6];
    let mut wide = DMatrix::<f64>::zeros(4, 2);
    let e = ce::value_and_grad(Rows::new(&z, 2, 3), &[0usize, 1], &mut wide).unwrap_err();
    assert_eq!(
        e.to_string(),
        "`gradient of z` has width 4, but dim `C` is 3 (from `z`)"
    );
    let mut tall = DMatrix::<f64>::zeros(3, 3);
    let e = ce::value_and_grad(Rows::new(&z, 2, 3), &[0usize, 1], &mut tall).unwrap_err();
    assert_eq!(e.to_string(), "`gradient of z` has 3 samples but `z` has 2");
}

/// A sample's gradient row does not depend on where it sits in its block:
/// the last rows of a block, which have no spare rows after them to keep
/// exponentials in, recompute them, to the same bits.
#[test]
fn a_row_gives_the_same_bits_wherever_it_sits_in_its_block() {
    fn check<F: loss_core::Float + std::fmt::Debug>(s1: &[F], t1: &[F], y1: usize, what: &str) {
        // 70 rows: blocks of 32, 32 and 6.
        let (n, c) = (70, s1.len());
        let s: Vec<F> = s1.iter().copied().cycle().take(n * c).collect();
        let t: Vec<F> = t1.iter().copied().cycle().take(n * c).collect();
        let y = vec![y1; n];
        let (alpha, beta, temp) = (F::from_f64(0.3), F::from_f64(0.7), F::from_f64(4.0));
        let mut g = vec![F::ZERO; n * c];
        distill::value_and_grad(
            Rows::new(&s, n, c),
            Rows::new(&t, n, c),
            &y,
            alpha,
            beta,
            temp,
            &mut g,
        )
        .unwrap();
        let mut g2 = vec![F::ZERO; n * c];
        let mut dt = F::ZERO;
        distill_temp::value_and_grad(
            Rows::new(&s, n, c),
            Rows::new(&t, n, c),
            &y,
            alpha,
            beta,
            temp,
            &mut g2,
            &mut dt,
        )
        .unwrap();
        for grad in [&g, &g2] {
            let first = &grad[..c];
            assert!(first.iter().all(|x| x.is_finite()), "{what}");
            for (i, row) in grad.chunks_exact(c).enumerate() {
                let same = row
                    .iter()
                    .zip(first)
                    .all(|(a, b)| a.to_f64().to_bits() == b.to_f64().to_bits());
                assert!(
                    same,
                    "{what}: row {i} differs from row 0\n{row:?}\n{first:?}"
                );
            }
        }
    }
    let mut rng = Rng::new(11);
    // Narrow kernel, row kernel with a tail, wide chunks.
    for c in [10, 37, 1000] {
        let s = rng.vec(c, -8.0, 8.0);
        let t = rng.vec(c, -8.0, 8.0);
        let y = rng.below(c);
        check(&s, &t, y, &format!("f64, C = {c}"));
        let s: Vec<f32> = s.iter().map(|&x| x as f32).collect();
        let t: Vec<f32> = t.iter().map(|&x| x as f32).collect();
        check(&s, &t, y, &format!("f32, C = {c}"));
    }
}

loss_core::loss! {
    /// Each element's clamped binary cross-entropy, with the derivative of
    /// the clamped value (a row of width 1 per element).
    #[reduce(none)]
    fn bce_value_each(#[grad] p: Vector<D>, y: Vector<D>) {
        sum(binary_cross_entropy_value(p, y))
    }
}

/// `-(y max(ln p, -100) + (1 - y) max(ln(1 - p), -100))` and its derivative
/// in `p` (0 from a clamped log), from the definition, in f64.
fn ref_bce_value(p: f64, y: f64) -> (f64, f64) {
    let (lp, lq) = (p.ln(), (-p).ln_1p());
    let value = -(y * lp.max(-100.0) + (1.0 - y) * lq.max(-100.0));
    let dp = if lp > -100.0 { y / p } else { 0.0 };
    let dq = if lq > -100.0 {
        (1.0 - y) / (1.0 - p)
    } else {
        0.0
    };
    (value, dq - dp)
}

/// The builtin tests and uses one `ln` and one `log1p` per element
/// (`loss-macros`' `binary_cross_entropy_takes_two_logs_per_element`). At
/// both clamps and both sides of each, in f32 and f64, it still gives the
/// clamped value, and a derivative that is 0 where a log is clamped and
/// never NaN (`0 · inf` from the side of an `if` not taken).
#[test]
fn binary_cross_entropy_value_is_clamped_and_its_derivative_never_nan() {
    fn check<F: loss_core::Float>(ps: &[f64], ulp: f64) {
        let ys = [0.0, 0.3, 1.0];
        let (p, y): (Vec<F>, Vec<F>) = ps
            .iter()
            .flat_map(|&p| ys.iter().map(move |&y| (F::from_f64(p), F::from_f64(y))))
            .unzip();
        let n = p.len();
        let (mut losses, upstream) = (vec![F::ZERO; n], vec![F::ONE; n]);
        let mut g = vec![F::ZERO; n];
        bce_value_each::value_and_grad(
            Rows::new(&p, n, 1),
            Rows::new(&y, n, 1),
            &mut losses,
            &upstream,
            &mut g,
        )
        .unwrap();
        for i in 0..n {
            let (pi, yi) = (p[i].to_f64(), y[i].to_f64());
            let (rv, rg) = ref_bce_value(pi, yi);
            let (v, d) = (losses[i].to_f64(), g[i].to_f64());
            assert!(
                (v - rv).abs() <= 4.0 * ulp * rv.abs().max(1.0),
                "p = {pi:e}, y = {yi}: value {v} against {rv}"
            );
            if !F::from_f64(rg).is_finite() {
                // y / p just above the clamp overflows f32: -inf, as PyTorch.
                assert_eq!(d, rg.signum() * f64::INFINITY, "p = {pi:e}, y = {yi}");
            } else {
                assert!(
                    (d - rg).abs() <= 4.0 * ulp * rg.abs().max(1.0),
                    "p = {pi:e}, y = {yi}: derivative {d} against {rg}"
                );
            }
        }
    }
    // ln p crosses -100 between 26 and 27 times 2^-149 (e^-100 = 3.72e-44).
    let tiny = f64::from(f32::from_bits(1));
    let common = [
        0.0,
        tiny,
        26.0 * tiny,
        27.0 * tiny,
        1e-30,
        0.25,
        0.5 - 2f64.powi(-25),
        0.5,
        0.75,
        1.0 - 2f64.powi(-24),
        1.0,
    ];
    check::<f32>(&common, f64::from(f32::EPSILON));
    let e100 = (-100f64).exp();
    let mut wide = common.to_vec();
    wide.extend([1e-300, e100 * 0.999, e100 * 1.001, 1.0 - f64::EPSILON / 2.0]);
    check::<f64>(&wide, f64::EPSILON);
}

/// A generated `Sample` writes its point only into a buffer of its length,
/// and says so otherwise, as its `value_and_grad` does.
#[test]
fn a_sample_point_of_the_wrong_length_is_an_error() {
    use loss_core::SampleLoss;
    let sample = distill::Sample {
        s: &[1.0_f64, 2.0, 3.0],
        t: &[0.5, 0.5, 0.5],
        y: 1,
        alpha: 0.3,
        beta: 0.7,
        temp: 2.0,
    };
    let mut short = [9.0; 2];
    let e = sample.point(&mut short).unwrap_err();
    assert_eq!(e.to_string(), "`out` has length 2, expected 3");
    assert_eq!(short, [9.0; 2], "nothing written on error");
    let mut x = [0.0; 3];
    sample.point(&mut x).unwrap();
    assert_eq!(x, [1.0, 2.0, 3.0]);
}

loss_core::loss! {
    /// Parentheses Rust allows: around an `if` condition and a `powi`
    /// exponent.
    #[reduce(sum)]
    fn parenthesised(#[grad] x: PerSample) {
        if (x > 0.0) { x.powi((-2)) } else { 0.0 }
    }
}

#[test]
fn parentheses_around_a_condition_or_an_exponent_are_accepted() {
    let x = [2.0_f64, -1.0];
    let mut g = [0.0; 2];
    let v = parenthesised::value_and_grad(&x[..], &mut g[..]).unwrap();
    // 2^-2 + 0, and d/dx x^-2 = -2 x^-3 at 2, 0 where the `else` is taken.
    assert_eq!(v, 0.25);
    assert_eq!(g, [-0.25, 0.0]);
}
