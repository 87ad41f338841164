//! The claims of docs/guide-port-a-pytorch-loss.md, checked: the `loss!`
//! distillation loss equals PyTorch's formula with `reduction="batchmean"`,
//! and PyTorch's default `reduction="mean"` of `kl_div` is `C` times smaller.
//! PyTorch's reductions are transcribed here by hand from its documentation.

use loss_core::{loss, Rows};
use verify::{check_loss, Tolerance};

loss! {
    fn distillation(#[grad] s: Vector<C>, t: Vector<C>, y: Class<C>, alpha: Scalar, temp: Scalar) {
        (1.0 - alpha) * cross_entropy(s, y)
            + alpha * temp.powi(2) * kl_div(softmax(t / temp), softmax(s / temp))
    }
    fn smoothed_ce(#[grad] z: Vector<C>, y: Class<C>, eps: Scalar) {
        (1.0 - eps) * cross_entropy(z, y) + eps * mean(-log_softmax(z))
    }
}

fn log_softmax(row: &[f64]) -> Vec<f64> {
    let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let lse = m + row.iter().map(|v| (v - m).exp()).sum::<f64>().ln();
    row.iter().map(|v| v - lse).collect()
}

/// `F.kl_div(input, target, reduction)`: pointwise `target * (ln target - input)`,
/// then summed and divided by `n` ("batchmean") or by `n * C` ("mean").
fn torch_kl_div(input: &[Vec<f64>], target: &[Vec<f64>], batchmean: bool) -> f64 {
    let total: f64 = input
        .iter()
        .zip(target)
        .flat_map(|(i, t)| i.iter().zip(t))
        .map(|(&i, &t)| if t > 0.0 { t * (t.ln() - i) } else { 0.0 })
        .sum();
    let n = input.len() as f64;
    let c = input[0].len() as f64;
    if batchmean {
        total / n
    } else {
        total / (n * c)
    }
}

/// `F.cross_entropy(z, y, label_smoothing=eps)`, mean over the batch.
fn torch_cross_entropy(z: &[Vec<f64>], y: &[usize], eps: f64) -> f64 {
    let n = z.len() as f64;
    z.iter()
        .zip(y)
        .map(|(row, &y)| {
            let ls = log_softmax(row);
            let c = row.len() as f64;
            (1.0 - eps) * -ls[y] + eps * -ls.iter().sum::<f64>() / c
        })
        .sum::<f64>()
        / n
}

const N: usize = 3;
const C: usize = 5;
const S: [f64; N * C] = [
    1.0, -0.5, 2.0, 0.3, 0.0, -1.2, 0.4, 0.9, 2.2, -0.3, 0.0, 0.0, 3.0, -2.0, 1.0,
];
const T: [f64; N * C] = [
    2.0, -1.0, 3.0, 0.0, 0.5, -2.0, 1.0, 0.0, 4.0, 0.0, 1.0, 1.0, 5.0, -1.0, 0.0,
];
const Y: [usize; N] = [2, 3, 2];

fn rows(v: &[f64], scale: f64) -> Vec<Vec<f64>> {
    v.chunks(C)
        .map(|r| r.iter().map(|x| x / scale).collect())
        .collect()
}

#[test]
fn distillation_matches_pytorch_batchmean_and_not_mean() {
    let (alpha, temp) = (0.7, 4.0);
    let ours =
        distillation::value(Rows::new(&S, N, C), Rows::new(&T, N, C), &Y, alpha, temp).unwrap();
    let log_q = rows(&S, temp)
        .iter()
        .map(|r| log_softmax(r))
        .collect::<Vec<_>>();
    let p = rows(&T, temp)
        .iter()
        .map(|r| log_softmax(r).iter().map(|v| v.exp()).collect())
        .collect::<Vec<Vec<f64>>>();
    let hard = torch_cross_entropy(&rows(&S, 1.0), &Y, 0.0);
    let batchmean = (1.0 - alpha) * hard + alpha * temp * temp * torch_kl_div(&log_q, &p, true);
    let mean = (1.0 - alpha) * hard + alpha * temp * temp * torch_kl_div(&log_q, &p, false);
    assert!(
        (ours - batchmean).abs() < 1e-12 * batchmean,
        "{ours} vs {batchmean}"
    );
    assert!(
        (ours - mean).abs() > 1e-3,
        "'mean' differs: {ours} vs {mean}"
    );
    // The KL term alone: "mean" is exactly C times smaller than "batchmean".
    let ratio = torch_kl_div(&log_q, &p, true) / torch_kl_div(&log_q, &p, false);
    assert!((ratio - C as f64).abs() < 1e-12);
}

#[test]
fn label_smoothing_matches_pytorch() {
    let ours = smoothed_ce::value(Rows::new(&S, N, C), &Y, 0.1).unwrap();
    let theirs = torch_cross_entropy(&rows(&S, 1.0), &Y, 0.1);
    assert!((ours - theirs).abs() < 1e-12 * theirs, "{ours} vs {theirs}");
}

#[test]
fn the_port_is_exact_against_its_reference() {
    let sample = distillation::Sample {
        s: &S[..C],
        t: &T[..C],
        y: Y[0],
        alpha: 0.7,
        temp: 4.0,
    };
    // Held to 64 ULP and 64 ε, as docs/verify.md explains for distillation.
    let tol = Tolerance {
        value_ulps: 64.0,
        gradient_rel: 64.0 * f64::EPSILON,
        ..Tolerance::default_for::<f64>()
    };
    let report = check_loss(&sample, tol);
    assert!(report.passed(), "{report}");
}
