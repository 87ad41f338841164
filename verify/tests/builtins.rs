//! Every builtin of the `loss!` language and every kind of input, checked:
//! one sample against the exact reference (`check_loss`), and whole batches
//! (reductions, shared inputs whose gradient sums over samples, per-sample
//! outputs with an upstream gradient) against central differences.

use loss_core::{loss, Rows, SampleLoss};
use verify::finite_diff::{check_gradient, FdOptions, FdTolerance};
use verify::{check_loss, Tolerance};

loss! {
    /// Elementwise functions, through sums.
    #[reduce(sum)]
    pub fn elementwise(#[grad] x: Vector<D>, #[grad] a: Scalar) {
        sum(x.exp() * 0.1 + log1p(x * x) + expm1(x / 4.0) + sqrt(x * x + 1.0) + abs(x) + tanh(x)
            + sigmoid(x) + softplus(-x) + x.powi(3) / 10.0 + x.powi(-2) * 0.01 + powf(x * x + 2.0, a)
            + ln(x * x + 0.5) - xlogy(x * x, x * x + 1.0))
    }

    /// max, min, clamp, elementwise and as reductions.
    pub fn extremes(#[grad] x: Vector<D>, #[grad] y: Vector<D>, lo: Scalar, hi: Scalar) {
        sum(max(x, y) - min(x, y) * 0.5 + x.clamp(lo, hi)) + max(x) - min(y) + mean(x * y) + logsumexp(y)
    }

    /// Softmax, log_softmax, onehot, indexing a computed vector.
    pub fn soft(#[grad] z: Vector<C>, y: Class<C>, #[grad] w: Weights<C>) {
        sum(softmax(z) * w) - log_softmax(z * 2.0)[y] + sum(onehot(y) * z) + (z * z)[y]
    }

    /// A per-sample scalar with a gradient, and a per-sample output.
    #[reduce(none)]
    pub fn per_sample(#[grad] z: Vector<C>, #[grad] s: PerSample, y: Class<C>) {
        s * s * cross_entropy(z, y) + mse(s, 0.5)
    }

    /// The weighted mean with shared weights that get a gradient through the loss only.
    #[reduce(mean, denominator = d)]
    pub fn weighted(#[grad] z: Vector<C>, y: Class<C>, d: PerSample, #[grad] w: Weights<C>) {
        d * w[y] * cross_entropy(z, y)
    }
}

struct Rng(u64);
impl Rng {
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        lo + (hi - lo) * ((self.0 >> 11) as f64 / (1u64 << 53) as f64)
    }
    fn vec(&mut self, n: usize, lo: f64, hi: f64) -> Vec<f64> {
        (0..n).map(|_| self.uniform(lo, hi)).collect()
    }
}

fn fd_check(f: impl Fn(&[f64]) -> f64, point: &[f64], grad: &[f64]) {
    let report = check_gradient(
        f,
        point,
        grad,
        &FdOptions::default(),
        FdTolerance::default(),
    );
    assert!(report.passed(), "{report}");
}

#[test]
fn each_builtin_matches_the_exact_reference_at_one_sample() {
    let mut rng = Rng(0x1234_5678);
    for _ in 0..5 {
        let x = rng.vec(6, 0.3, 2.0);
        let y = rng.vec(6, -2.0, 2.0);
        let t64 = Tolerance {
            value_ulps: 8.0,
            ..Tolerance::default_for::<f64>()
        };
        let r = check_loss(&elementwise::Sample { x: &x, a: 0.7 }, t64);
        assert!(r.passed(), "{r}");
        let r = check_loss(
            &extremes::Sample {
                x: &x,
                y: &y,
                lo: 0.5,
                hi: 1.5,
            },
            t64,
        );
        assert!(r.passed(), "{r}");
        let w = rng.vec(6, 0.5, 2.0);
        let r = check_loss(&soft::Sample { z: &y, y: 3, w: &w }, t64);
        assert!(r.passed(), "{r}");
        let r = check_loss(
            &per_sample::Sample {
                z: &y,
                s: 1.3,
                y: 2,
            },
            t64,
        );
        assert!(r.passed(), "{r}");
        let r = check_loss(
            &weighted::Sample {
                z: &y,
                y: 1,
                d: 0.8,
                w: &w,
            },
            t64,
        );
        assert!(r.passed(), "{r}");
        // The same in f32.
        let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        let t32 = Tolerance {
            value_ulps: 8.0,
            ..Tolerance::default_for::<f32>()
        };
        let r = check_loss(&elementwise::Sample { x: &x32, a: 0.7 }, t32);
        assert!(r.passed(), "{r}");
    }
}

#[test]
fn shared_inputs_collect_their_gradient_over_the_batch() {
    let (n, c) = (5, 4);
    let mut rng = Rng(99);
    let z = rng.vec(n * c, -3.0, 3.0);
    let labels: Vec<usize> = (0..n).map(|i| (i * 3) % c).collect();
    let w = rng.vec(c, 0.5, 2.0);
    // soft: z per sample, w shared (its gradient sums over samples).
    let mut gz = vec![0.0; n * c];
    let mut gw = vec![0.0; c];
    soft::value_and_grad(Rows::new(&z, n, c), &labels, &w, &mut gz[..], &mut gw).unwrap();
    let point: Vec<f64> = z.iter().chain(&w).copied().collect();
    let grad: Vec<f64> = gz.iter().chain(&gw).copied().collect();
    fd_check(
        |p| soft::value(Rows::new(&p[..n * c], n, c), &labels, &p[n * c..]).unwrap(),
        &point,
        &grad,
    );

    // weighted: the mean's denominator is sum(d), w gets a gradient.
    let d = rng.vec(n, 0.2, 1.5);
    weighted::value_and_grad(Rows::new(&z, n, c), &labels, &d, &w, &mut gz[..], &mut gw).unwrap();
    let grad: Vec<f64> = gz.iter().chain(&gw).copied().collect();
    fd_check(
        |p| weighted::value(Rows::new(&p[..n * c], n, c), &labels, &d, &p[n * c..]).unwrap(),
        &point,
        &grad,
    );
    let value = weighted::value(Rows::new(&z, n, c), &labels, &d, &w).unwrap();
    let by_hand: f64 = (0..n)
        .map(|i| d[i] * w[labels[i]] * weighted_ce(&z[i * c..(i + 1) * c], labels[i]))
        .sum::<f64>()
        / d.iter().sum::<f64>();
    assert!((value - by_hand).abs() <= 1e-14 * by_hand.abs());
}

fn weighted_ce(z: &[f64], y: usize) -> f64 {
    let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    m + z.iter().map(|v| (v - m).exp()).sum::<f64>().ln() - z[y]
}

#[test]
fn per_sample_outputs_take_an_upstream_gradient() {
    let (n, c) = (4, 3);
    let mut rng = Rng(7);
    let z = rng.vec(n * c, -3.0, 3.0);
    let s = rng.vec(n, 0.5, 1.5);
    let labels = [0_usize, 2, 1, 2];
    let upstream = rng.vec(n, -1.0, 1.0);
    let mut losses = vec![0.0; n];
    let mut gz = vec![0.0; n * c];
    let mut gs = vec![0.0; n];
    per_sample::value_and_grad(
        Rows::new(&z, n, c),
        &s,
        &labels,
        &mut losses,
        &upstream,
        &mut gz[..],
        &mut gs,
    )
    .unwrap();
    let mut plain = vec![0.0; n];
    per_sample::value(Rows::new(&z, n, c), &s, &labels, &mut plain).unwrap();
    assert_eq!(losses, plain);
    // The gradient of sum_i upstream_i * loss_i.
    let point: Vec<f64> = z.iter().chain(&s).copied().collect();
    let grad: Vec<f64> = gz.iter().chain(&gs).copied().collect();
    fd_check(
        |p| {
            let mut out = vec![0.0; n];
            per_sample::value(Rows::new(&p[..n * c], n, c), &p[n * c..], &labels, &mut out)
                .unwrap();
            out.iter().zip(&upstream).map(|(l, u)| l * u).sum()
        },
        &point,
        &grad,
    );
    // Wrong buffer sizes are errors.
    let e = per_sample::value(Rows::new(&z, n, c), &s, &labels, &mut plain[..3]).unwrap_err();
    assert_eq!(e.to_string(), "`losses` has length 3, expected 4");
}

#[test]
fn scalar_parameters_and_extremes_match_finite_differences() {
    let (n, d) = (3, 5);
    let mut rng = Rng(3);
    let x = rng.vec(n * d, 0.3, 2.0);
    let y = rng.vec(n * d, -2.0, 2.0);
    let mut gx = vec![0.0; n * d];
    let mut ga = 0.0;
    elementwise::value_and_grad(Rows::new(&x, n, d), 0.7, &mut gx[..], &mut ga).unwrap();
    let point: Vec<f64> = x.iter().copied().chain([0.7]).collect();
    let grad: Vec<f64> = gx.iter().copied().chain([ga]).collect();
    fd_check(
        |p| elementwise::value(Rows::new(&p[..n * d], n, d), p[n * d]).unwrap(),
        &point,
        &grad,
    );

    // max/min/clamp have kinks that central differences step across; here
    // each row of the batch is checked exactly instead, and the batch's
    // gradient must be the rows' gradients divided by n (the mean).
    let mut gy = vec![0.0; n * d];
    extremes::value_and_grad(
        Rows::new(&x, n, d),
        Rows::new(&y, n, d),
        0.5,
        1.5,
        &mut gx[..],
        &mut gy[..],
    )
    .unwrap();
    for i in 0..n {
        let row = i * d..(i + 1) * d;
        let sample = extremes::Sample {
            x: &x[row.clone()],
            y: &y[row.clone()],
            lo: 0.5,
            hi: 1.5,
        };
        let report = check_loss(&sample, Tolerance::default_for::<f64>());
        assert!(report.passed(), "{report}");
        let mut point = vec![0.0; 2 * d];
        sample.point(&mut point).unwrap();
        let mut g = vec![0.0; 2 * d];
        sample.value_and_grad(&point, &mut g).unwrap();
        let batch: Vec<f64> = gx[row.clone()]
            .iter()
            .chain(&gy[row])
            .map(|v| v * n as f64)
            .collect();
        for (a, b) in batch.iter().zip(&g) {
            assert!(
                (a - b).abs() <= 1e-15 * b.abs().max(1.0),
                "{batch:?} vs {g:?}"
            );
        }
    }
}

#[test]
fn subgradients_at_kinks_follow_pytorch() {
    // abs at 0 has slope 0; a tie in max(a, b) splits the gradient; clamp
    // passes none at its bounds; a max reduction shares it among tied
    // maxima (torch.amax). The PyTorch probes are in
    // loss-core/tests/fixtures/torch/subgradients.json.
    loss! {
        #[reduce(sum)]
        fn kinks(#[grad] x: Vector<D>, #[grad] y: Vector<D>) {
            sum(abs(x) + max(x, y) + x.clamp(0.0, 1.0)) + max(y)
        }
    }
    let x = [0.0, 1.0, 2.0];
    let y = [0.0, 2.0, 2.0];
    let (mut gx, mut gy) = ([0.0; 3], [0.0; 3]);
    kinks::value_and_grad(
        Rows::new(&x, 1, 3),
        Rows::new(&y, 1, 3),
        &mut gx[..],
        &mut gy[..],
    )
    .unwrap();
    // d/dx: abs' (0, 1, 1) + max tie (0.5, 0, 0.5) + clamp at 0, at 1, above (0, 0, 0)
    assert_eq!(gx, [0.5, 1.0, 1.5]);
    // d/dy: max (0.5, 1, 0.5) + max reduction shared by the two 2.0s (0, 0.5, 0.5)
    assert_eq!(gy, [0.5, 1.5, 1.0]);
}

loss! {
    /// `if` in all its spellings, elementwise and on scalars.
    pub fn branches(#[grad] x: Vector<D>, y: Vector<D>, #[grad] s: PerSample) {
        sum(if x > 0.0 { x * y } else { -x })
            + sum(if x <= y { x * x } else { y })
            + sum(if y != 1.0 { softplus(x) } else { 0.0 })
            + if s >= 1.0 { s.powi(2) } else if s < -1.0 { -s } else { s * 0.5 }
    }
}

#[test]
fn if_chooses_a_branch_and_its_gradient() {
    let x = [0.5, -0.7, 1.3, -2.0, 0.9];
    let y = [1.0, 0.2, 2.0, -1.0, -0.5];
    for s in [1.5, 0.3, -2.5] {
        let r = check_loss(
            &branches::Sample { x: &x, y: &y, s },
            Tolerance::default_for::<f64>(),
        );
        assert!(r.passed(), "{r}");
    }
    // At a tie the else branch is taken, as torch.where(x > 0, ...) does.
    let mut gx = [0.0; 1];
    let mut gs = [0.0; 1];
    branches::value_and_grad(
        Rows::new(&[0.0], 1, 1),
        Rows::new(&[1.0], 1, 1),
        &[1.0],
        &mut gx[..],
        &mut gs,
    )
    .unwrap();
    // d/dx at x = 0: -1 (else of `x > 0`), 0 (then of `x <= y`: 2x), 0 (y == 1: else).
    assert_eq!(gx, [-1.0]);
    assert_eq!(gs, [2.0]);
}

loss! {
    /// Template builtins compose like any expression.
    pub fn robust(#[grad] x: Vector<D>, y: Vector<D>, delta: Scalar) {
        sum(huber(x, y, delta) + 0.5 * log_cosh(x, y))
    }
}

#[test]
fn template_builtins_match_the_exact_reference() {
    let x = [0.1, -3.0, 2.5, 100.0, -0.4];
    let y = [0.0, 0.0, 1.0, -100.0, -0.4];
    let r = check_loss(
        &robust::Sample {
            x: &x,
            y: &y,
            delta: 1.0,
        },
        Tolerance::default_for::<f64>(),
    );
    assert!(r.passed(), "{r}");
    let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    let y32: Vec<f32> = y.iter().map(|&v| v as f32).collect();
    let r = check_loss(
        &robust::Sample {
            x: &x32,
            y: &y32,
            delta: 1.0,
        },
        Tolerance::default_for::<f32>(),
    );
    assert!(r.passed(), "{r}");
}

loss! {
    /// The branch not taken divides by zero: its gradient must not leak.
    #[reduce(sum)]
    pub fn guarded(#[grad] x: Vector<D>, b: Scalar) {
        sum(if x < b { x * x / b } else { x })
    }

    /// Only scalars: the `Sample` borrows nothing.
    pub fn scalars_only(#[grad] x: PerSample, b: Scalar) {
        (x - b).powi(2)
    }
}

#[test]
fn the_branch_not_taken_does_not_leak_into_the_gradient() {
    let mut g = [0.0];
    let v = guarded::value_and_grad(Rows::new(&[1.0], 1, 1), 0.0, &mut g[..]).unwrap();
    assert_eq!((v, g), (1.0, [1.0]));
    let r = check_loss(
        &scalars_only::Sample { x: 2.0_f64, b: 0.5 },
        Tolerance::default_for::<f64>(),
    );
    assert!(r.passed(), "{r}");
}

loss! {
    /// A stop-gradient: the value of `x * detach(x)` is `x²`, its gradient `x`.
    #[reduce(sum)]
    pub fn stopped(#[grad] x: Vector<D>) {
        sum(x * detach(x)) + sum(detach(x.exp()))
    }
}

#[test]
fn detach_stops_the_gradient_and_keeps_the_value() {
    let x: [f64; 3] = [0.5, -2.0, 3.0];
    let mut g = [0.0; 3];
    let v = stopped::value_and_grad(Rows::new(&x, 1, 3), &mut g[..]).unwrap();
    let expect: f64 = x.iter().map(|&v| v * v + v.exp()).sum();
    assert!((v - expect).abs() <= 1e-14 * expect);
    assert_eq!(g, x, "the gradient of x * detach(x) is x");
    // The exact reference agrees: a dual number's derivative is dropped too.
    let r = check_loss(&stopped::Sample { x: &x }, Tolerance::default_for::<f64>());
    assert!(r.passed(), "{r}");
}
