//! Every ready loss of `loss_core::losses` (the standard library), checked
//! with `verify::check_loss`: the fast `value_and_grad` in f64 and f32
//! against the exact enclosure of its `reference` (intervals for the value,
//! dual intervals for the gradient), on ordinary and adversarial inputs:
//! huge logits, near ties, saturated (confident) samples, points exactly on
//! the kinks, zeros in probability vectors, zero vectors. Run with
//! `--nocapture` for the worst case per loss (the table in docs/losses.md).

use loss_core::{losses, Float};
use verify::{check_loss, FastFloat, Report, Tolerance};

mod support;
use support::{print, Worst};

/// SplitMix64, for reproducible inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * ((self.next() >> 11) as f64 / (1u64 << 53) as f64)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// The kinds of inputs each loss is checked on.
#[derive(Clone, Copy, Debug)]
enum Case {
    /// Values uniform in ±6, probabilities with zeros, soft targets.
    Ordinary,
    /// Values of ±1e4 in f64, ±80 in f32.
    Huge,
    /// All values within 1e-6 of one another (and of the targets).
    NearTies,
    /// The label's logit far above the others; logits of ±40 against hard targets.
    Saturated,
    /// Values on a grid of small integers and halves: exactly on the kinks
    /// of margins 1 and 0.5, on |d| = 0, and at exact ties.
    Kinks,
}

const CASES: [Case; 5] = [
    Case::Ordinary,
    Case::Huge,
    Case::NearTies,
    Case::Saturated,
    Case::Kinks,
];

/// One sample's inputs, exactly representable in `F`.
struct Data<F> {
    /// Logits, predictions, scores.
    x: Vec<F>,
    /// A second vector of the same kind (targets of a regression, another embedding).
    y: Vec<F>,
    /// A third (a negative embedding).
    z: Vec<F>,
    /// A probability vector, with exact zeros (ordinary case).
    p: Vec<F>,
    /// `p` without zeros: the divergences' gradient in `p` is infinite at
    /// 0 (one-sided), where the reference is undefined; the fixtures cover 0.
    pz: Vec<F>,
    /// A second probability vector, without zeros where `p` is positive.
    q: Vec<F>,
    /// Targets in [0, 1]: 0/1 except the ordinary case.
    t: Vec<F>,
    /// ±1 labels.
    s: Vec<F>,
    /// Positive numbers (rates, counts, variances).
    r: Vec<F>,
    /// Class weights, positive.
    w: Vec<F>,
    label: usize,
}

fn f<F: Float>(x: f64) -> F {
    F::from_f64(x)
}

fn data<F: Float>(case: Case, c: usize, rng: &mut Rng, huge: f64) -> Data<F> {
    let label = rng.below(c);
    let grid = [-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0];
    let vec_of = |rng: &mut Rng| -> Vec<f64> {
        match case {
            Case::Ordinary => (0..c).map(|_| rng.uniform(-6.0, 6.0)).collect(),
            Case::Huge => (0..c).map(|_| rng.uniform(-huge, huge)).collect(),
            Case::NearTies => {
                let base = 0.75;
                (0..c).map(|_| base + rng.uniform(-1e-6, 1e-6)).collect()
            }
            Case::Saturated => {
                let mut l: Vec<f64> = (0..c)
                    .map(|_| if rng.below(2) == 0 { -40.0 } else { 40.0 })
                    .collect();
                l[label] = 70.0;
                l
            }
            Case::Kinks => (0..c).map(|_| grid[rng.below(grid.len())]).collect(),
        }
    };
    let x = vec_of(rng);
    let y = vec_of(rng);
    let z = vec_of(rng);
    let raw: Vec<f64> = (0..c)
        .map(|j| {
            if matches!(case, Case::Ordinary | Case::Kinks) && j % 3 == 1 {
                0.0
            } else {
                rng.uniform(0.05, 1.0)
            }
        })
        .collect();
    let total: f64 = raw.iter().sum();
    let p: Vec<f64> = raw.iter().map(|v| v / total).collect();
    let raw_z: Vec<f64> = raw
        .iter()
        .map(|&v| if v == 0.0 { rng.uniform(1e-3, 1.0) } else { v })
        .collect();
    let total_z: f64 = raw_z.iter().sum();
    let pz: Vec<f64> = raw_z.iter().map(|v| v / total_z).collect();
    let raw_q: Vec<f64> = (0..c)
        .map(|j| match case {
            Case::NearTies => raw[j] * (1.0 + rng.uniform(-1e-6, 1e-6)) + 1e-3,
            _ => rng.uniform(0.05, 1.0),
        })
        .collect();
    let total_q: f64 = raw_q.iter().sum();
    let q: Vec<f64> = raw_q.iter().map(|v| v / total_q).collect();
    let t: Vec<f64> = (0..c)
        .map(|_| match case {
            Case::Ordinary => rng.uniform(0.0, 1.0),
            _ => rng.below(2) as f64,
        })
        .collect();
    let s: Vec<f64> = t
        .iter()
        .map(|&v| if v >= 0.5 { 1.0 } else { -1.0 })
        .collect();
    let r: Vec<f64> = (0..c)
        .map(|_| match case {
            Case::Huge => rng.uniform(0.0, 1e3).round(),
            Case::Kinks => [0.0, 1.0, 2.0, 0.5][rng.below(4)],
            Case::NearTies => 0.75 + rng.uniform(-1e-6, 1e-6),
            _ => rng.uniform(0.01, 5.0),
        })
        .collect();
    let w: Vec<f64> = (0..c).map(|j| 0.5 + j as f64 / 8.0).collect();
    let cv = |v: Vec<f64>| -> Vec<F> { v.into_iter().map(f).collect() };
    Data {
        x: cv(x),
        y: cv(y),
        z: cv(z),
        p: cv(p),
        pz: cv(pz),
        q: cv(q),
        t: cv(t),
        s: cv(s),
        r: cv(r),
        w: cv(w),
        label,
    }
}

/// The tolerance a loss is held to: the default (4 ULPs for the value, 16 ε
/// of the gradient's max-norm) except where the loss is a small difference
/// of larger terms by nature (see docs/losses.md, "Accuracy").
fn tolerance_of(name: &str, default: Tolerance) -> Tolerance {
    match name {
        // p ≈ q: the divergence is a difference of O(1) terms.
        // Their value is a sum of `p (ln p - ln q)` terms of either sign,
        // whose sum cancels where p ≈ q: an absolute bound of 64 ε (in
        // ULPs of so small a value it is large); their gradient's
        // log-ratios cancel likewise.
        "generalized_kl" | "js_divergence" | "kl_div" | "kl_div_log_target" | "kl_div_logits" => {
            Tolerance {
                value_abs: 4.0 * default.gradient_rel,
                gradient_rel: 4.0 * default.gradient_rel,
                ..default
            }
        }
        _ => default,
    }
}

/// The Euclidean norm.
fn norm<F: Float>(v: &[F]) -> f64 {
    v.iter().map(|x| x.to_f64().powi(2)).sum::<f64>().sqrt()
}

/// The size of the terms of a gradient `1 - y/(x + eps)`, averaged over the row.
fn ratio_scale<F: Float>(y: &[F], x: &[F], eps: f64) -> f64 {
    let worst = y
        .iter()
        .zip(x)
        .map(|(y, x)| 1.0 + y.to_f64().abs() / (x.to_f64() + eps))
        .fold(0.0, f64::max);
    worst / y.len() as f64
}

/// The size of the log-probabilities whose differences a divergence's
/// gradient takes.
fn log_scale<F: Float>(p: &[F], q: &[F]) -> f64 {
    p.iter()
        .chain(q)
        .map(|v| v.to_f64().ln().abs())
        .fold(1.0, f64::max)
}

/// The size of the distances a triplet loss subtracts: its value is a
/// difference of them, so its error is a few ε of their sum.
fn distance_scale<F: Float>(d: &Data<F>) -> f64 {
    let l1 = |a: &[F], b: &[F]| -> f64 {
        a.iter()
            .zip(b)
            .map(|(a, b)| (a.to_f64() - b.to_f64()).abs())
            .sum()
    };
    1.0 + l1(&d.x, &d.y) + l1(&d.x, &d.z) + l1(&d.y, &d.z)
}

fn check_all<F: FastFloat + Float>(huge: f64) -> Vec<(&'static str, Worst)> {
    let tolerance = Tolerance::default_for::<F>();
    let mut rng = Rng(0x57d_11b);
    let mut table = Vec::new();
    let mut run_skipping =
        |name: &'static str, skip: &[Case], f: &mut dyn FnMut(&Data<F>, Tolerance) -> Report| {
            let tolerance = tolerance_of(name, tolerance);
            let mut worst = Worst::default();
            for case in CASES {
                if skip.iter().any(|k| *k as u8 == case as u8) {
                    continue;
                }
                for c in [1, 2, 5, 16] {
                    for _ in 0..3 {
                        let d = data::<F>(case, c, &mut rng, huge);
                        worst.record::<F>(name, case, f(&d, tolerance));
                    }
                }
            }
            table.push((name, worst));
        };
    macro_rules! run {
        ($name:expr, $f:expr) => {
            run_skipping($name, &[], $f)
        };
    }
    let one: F = f(1.0);
    let eps = F::EPSILON.to_f64();
    let half: F = f(0.5);

    // ---- classification
    run!("cross_entropy", &mut |d, t| {
        check_loss(
            &losses::cross_entropy::Sample {
                logits: &d.x,
                target: d.label,
            },
            t,
        )
    });
    run!("cross_entropy_soft", &mut |d, t| {
        check_loss(
            &losses::cross_entropy_soft::Sample {
                logits: &d.x,
                target: &d.p,
            },
            t,
        )
    });
    run!("cross_entropy_weighted (ls 0.1)", &mut |d, t| {
        check_loss(
            &losses::cross_entropy_weighted::Sample {
                logits: &d.x,
                target: d.label,
                weight: &d.w,
                label_smoothing: f(0.1),
            },
            t,
        )
    });
    run!("cross_entropy_soft_weighted (ls 0.2)", &mut |d, t| {
        check_loss(
            &losses::cross_entropy_soft_weighted::Sample {
                logits: &d.x,
                target: &d.p,
                weight: &d.w,
                label_smoothing: f(0.2),
            },
            t,
        )
    });
    run!("nll_loss_weighted", &mut |d, t| {
        check_loss(
            &losses::nll_loss_weighted::Sample {
                input: &d.x,
                target: d.label,
                weight: &d.w,
            },
            t,
        )
    });
    run!("binary_cross_entropy", &mut |d, t| {
        // Probabilities with the zeros replaced by a number whose log is
        // clamped at -100 (ln 0 itself is undefined in the reference; the
        // fixtures cover p = 0 and 1).
        let tiny: F = f(if huge > 100.0 { 1e-300 } else { 1e-44 });
        let below_one = one - F::EPSILON;
        let prob: Vec<F> =
            d.p.iter()
                .map(|&p| {
                    if p == f(0.0) {
                        tiny
                    } else if p == one {
                        below_one
                    } else {
                        p
                    }
                })
                .collect();
        check_loss(
            &losses::binary_cross_entropy_weighted::Sample {
                input: &prob,
                target: &d.t,
                weight: &d.r,
            },
            t,
        )
    });
    run!("binary_cross_entropy_with_logits", &mut |d, t| {
        check_loss(
            &losses::binary_cross_entropy_with_logits::Sample {
                logits: &d.x,
                target: &d.t,
            },
            t,
        )
    });
    run!("binary_cross_entropy_with_logits_weighted", &mut |d, t| {
        check_loss(
            &losses::binary_cross_entropy_with_logits_weighted::Sample {
                logits: &d.x,
                target: &d.t,
                weight: &d.r,
                pos_weight: &d.w,
            },
            t,
        )
    });
    for (name, gamma) in [
        ("sigmoid_focal_loss (γ 2)", 2.0),
        ("sigmoid_focal_loss (γ 0.5)", 0.5),
    ] {
        run!(name, &mut |d, t| {
            // Targets within [0.001, 0.999]: a hard target's ln(y) = -inf
            // (which has no gradient) is undefined in the reference; hard
            // targets are checked against the PyTorch fixtures.
            // A product of three factors: 8 ULPs.
            let t = Tolerance {
                value_ulps: 8.0,
                ..t
            };
            let soft: Vec<F> = d.t.iter().map(|&y| f(y.to_f64() * 0.998 + 0.001)).collect();
            check_loss(
                &losses::sigmoid_focal_loss::Sample {
                    inputs: &d.x,
                    targets: &soft,
                    alpha: f(0.25),
                    gamma: f(gamma),
                },
                t,
            )
        });
    }
    run!("poly1_cross_entropy", &mut |d, t| {
        check_loss(
            &losses::poly1_cross_entropy::Sample {
                logits: &d.x,
                target: d.label,
                epsilon: f(2.0),
            },
            t,
        )
    });
    run!("multi_margin_loss", &mut |d, t| {
        check_loss(
            &losses::multi_margin_loss::Sample {
                input: &d.x,
                target: d.label,
                margin: one,
                weight: &d.w,
            },
            t,
        )
    });
    run!("multi_margin_loss_squared", &mut |d, t| {
        check_loss(
            &losses::multi_margin_loss_squared::Sample {
                input: &d.x,
                target: d.label,
                margin: half,
                weight: &d.w,
            },
            t,
        )
    });
    run!("multilabel_soft_margin_loss", &mut |d, t| {
        check_loss(
            &losses::multilabel_soft_margin_loss::Sample {
                input: &d.x,
                target: &d.t,
                weight: &d.w,
            },
            t,
        )
    });
    run!("soft_margin_loss", &mut |d, t| {
        check_loss(
            &losses::soft_margin_loss::Sample {
                input: &d.x,
                target: &d.s,
            },
            t,
        )
    });
    // Exact ties of max are left to the fixtures: verify's dual `max` gives
    // a tie to its first operand, the fast path splits it (Keras 3 on torch).
    run_skipping("hinge", &[Case::Kinks], &mut |d, t| {
        check_loss(
            &losses::hinge::Sample {
                y_pred: &d.x,
                y_true: &d.s,
            },
            t,
        )
    });
    run_skipping("squared_hinge", &[Case::Kinks], &mut |d, t| {
        check_loss(
            &losses::squared_hinge::Sample {
                y_pred: &d.x,
                y_true: &d.s,
            },
            t,
        )
    });
    run_skipping(
        "categorical_hinge",
        &[Case::Kinks, Case::Saturated],
        &mut |d, t| {
            check_loss(
                &losses::categorical_hinge::Sample {
                    y_pred: &d.x,
                    y_true: &d.t,
                },
                t,
            )
        },
    );

    // ---- divergences
    run!("kl_div_logits", &mut |d, t| {
        // The gradient softmax(z) - p is a difference of probabilities.
        let t = Tolerance {
            gradient_abs: 16.0 * eps,
            ..t
        };
        check_loss(
            &losses::kl_div_logits::Sample {
                logits: &d.x,
                target: &d.p,
            },
            t,
        )
    });
    run!("kl_div", &mut |d, t| {
        let log_q: Vec<F> = d.q.iter().map(|&v| f(v.to_f64().ln())).collect();
        check_loss(
            &losses::kl_div::Sample {
                input: &log_q,
                target: &d.pz,
            },
            t,
        )
    });
    run!("kl_div_log_target", &mut |d, t| {
        let log_q: Vec<F> = d.q.iter().map(|&v| f(v.to_f64().ln())).collect();
        let log_p: Vec<F> = d.x.iter().map(|&v| f(-v.to_f64().abs())).collect();
        check_loss(
            &losses::kl_div_log_target::Sample {
                input: &log_q,
                target: &log_p,
            },
            t,
        )
    });
    run!("generalized_kl", &mut |d, t| {
        let t = Tolerance {
            gradient_abs: 16.0 * eps * log_scale(&d.pz, &d.q),
            ..t
        };
        check_loss(&losses::generalized_kl::Sample { p: &d.pz, q: &d.q }, t)
    });
    run!("js_divergence", &mut |d, t| {
        let t = Tolerance {
            gradient_abs: 16.0 * eps * log_scale(&d.pz, &d.q),
            ..t
        };
        check_loss(&losses::js_divergence::Sample { p: &d.pz, q: &d.q }, t)
    });
    run!("entropy", &mut |d, t| check_loss(
        &losses::entropy::Sample { p: &d.pz },
        t
    ));

    // ---- regression
    run!("mse", &mut |d, t| check_loss(
        &losses::mse::Sample {
            input: &d.x,
            target: &d.y
        },
        t
    ));
    run!("l1_loss", &mut |d, t| check_loss(
        &losses::l1_loss::Sample {
            input: &d.x,
            target: &d.y
        },
        t
    ));
    for (name, beta) in [("smooth_l1_loss (β 1)", 1.0), ("smooth_l1_loss (β 0)", 0.0)] {
        run!(name, &mut |d, t| {
            check_loss(
                &losses::smooth_l1_loss::Sample {
                    input: &d.x,
                    target: &d.y,
                    beta: f(beta),
                },
                t,
            )
        });
    }
    run!("huber_loss", &mut |d, t| {
        check_loss(
            &losses::huber_loss::Sample {
                input: &d.x,
                target: &d.y,
                delta: half,
            },
            t,
        )
    });
    run!("log_cosh", &mut |d, t| check_loss(
        &losses::log_cosh::Sample {
            y_pred: &d.x,
            y_true: &d.y
        },
        t
    ));
    run!("mean_absolute_percentage_error", &mut |d, t| {
        check_loss(
            &losses::mean_absolute_percentage_error::Sample {
                y_pred: &d.x,
                y_true: &d.y,
            },
            t,
        )
    });
    run!("mean_squared_logarithmic_error", &mut |d, t| {
        check_loss(
            &losses::mean_squared_logarithmic_error::Sample {
                y_pred: &d.r,
                y_true: &d.p,
            },
            t,
        )
    });
    run!("keras_poisson", &mut |d, t| {
        let t = Tolerance {
            gradient_abs: ratio_scale(&d.p, &d.r, 1e-7) * 16.0 * eps,
            ..t
        };
        check_loss(
            &losses::keras_poisson::Sample {
                y_pred: &d.r,
                y_true: &d.p,
            },
            t,
        )
    });
    run!("poisson_nll_loss (full)", &mut |d, t| {
        // exp(x) of a logit above 709 is not finite: ±80 at most.
        let x: Vec<F> =
            d.x.iter()
                .map(|&v| f(v.to_f64().clamp(-80.0, 80.0)))
                .collect();
        check_loss(
            &losses::poisson_nll_loss::Sample {
                input: &x,
                target: &d.r,
                full: one,
            },
            t,
        )
    });
    run!("poisson_nll_loss_rate (full)", &mut |d, t| {
        let t = Tolerance {
            gradient_abs: ratio_scale(&d.p, &d.r, 1e-8) * 16.0 * eps,
            ..t
        };
        check_loss(
            &losses::poisson_nll_loss_rate::Sample {
                input: &d.r,
                target: &d.p,
                full: one,
                eps: f(1e-8),
            },
            t,
        )
    });
    run!("gaussian_nll_loss (full)", &mut |d, t| {
        check_loss(
            &losses::gaussian_nll_loss::Sample {
                input: &d.x,
                target: &d.y,
                var: &d.r,
                full: one,
                eps: f(1e-6),
            },
            t,
        )
    });

    // ---- embeddings and ranking
    run!("cosine_similarity", &mut |d, t| {
        let t = Tolerance {
            value_abs: 8.0 * eps,
            gradient_abs: 64.0 * eps / norm(&d.x).min(norm(&d.y)).max(1e-7),
            ..t
        };
        check_loss(
            &losses::cosine_similarity::Sample {
                y_pred: &d.x,
                y_true: &d.y,
            },
            t,
        )
    });
    for (name, y) in [
        ("cosine_embedding_loss (y 1)", 1.0),
        ("cosine_embedding_loss (y -1)", -1.0),
    ] {
        run!(name, &mut |d, t| {
            // 1 - cos and cos - margin cancel near cos = 1 and cos = margin.
            let t = Tolerance {
                value_abs: 8.0 * eps * 2.0,
                gradient_abs: 64.0 * eps / norm(&d.x).min(norm(&d.y)).max(1e-6),
                ..t
            };
            check_loss(
                &losses::cosine_embedding_loss::Sample {
                    input1: &d.x,
                    input2: &d.y,
                    target: f(y),
                    margin: half,
                },
                t,
            )
        });
    }
    run!("hinge_embedding_loss", &mut |d, t| {
        check_loss(
            &losses::hinge_embedding_loss::Sample {
                input: &d.x,
                target: &d.s,
                margin: one,
            },
            t,
        )
    });
    run!("margin_ranking_loss", &mut |d, t| {
        check_loss(
            &losses::margin_ranking_loss::Sample {
                input1: &d.x,
                input2: &d.y,
                target: &d.s,
                margin: half,
            },
            t,
        )
    });
    run!("triplet_margin_loss", &mut |d, t| {
        let t = Tolerance {
            value_abs: 8.0 * eps * distance_scale(d),
            ..t
        };
        check_loss(
            &losses::triplet_margin_loss::Sample {
                anchor: &d.x,
                positive: &d.y,
                negative: &d.z,
                margin: one,
                eps: f(1e-6),
            },
            t,
        )
    });
    run_skipping(
        "triplet_margin_loss_swap",
        &[Case::Kinks, Case::Saturated],
        &mut |d, t| {
            let t = Tolerance {
                value_abs: 8.0 * eps * distance_scale(d),
                ..t
            };
            check_loss(
                &losses::triplet_margin_loss_swap::Sample {
                    anchor: &d.x,
                    positive: &d.y,
                    negative: &d.z,
                    margin: one,
                    eps: f(1e-6),
                },
                t,
            )
        },
    );
    run!("triplet_margin_loss_l1", &mut |d, t| {
        let t = Tolerance {
            value_abs: 8.0 * eps * distance_scale(d),
            ..t
        };
        check_loss(
            &losses::triplet_margin_loss_l1::Sample {
                anchor: &d.x,
                positive: &d.y,
                negative: &d.z,
                margin: one,
                eps: f(1e-6),
            },
            t,
        )
    });
    run_skipping(
        "triplet_margin_loss_l1_swap",
        &[Case::Kinks, Case::Saturated],
        &mut |d, t| {
            let t = Tolerance {
                value_abs: 8.0 * eps * distance_scale(d),
                ..t
            };
            check_loss(
                &losses::triplet_margin_loss_l1_swap::Sample {
                    anchor: &d.x,
                    positive: &d.y,
                    negative: &d.z,
                    margin: one,
                    eps: f(1e-6),
                },
                t,
            )
        },
    );
    table
}

#[test]
fn every_standard_loss_passes_in_f64() {
    let table = check_all::<f64>(1e4);
    print(&table, "f64");
}

#[test]
fn every_standard_loss_passes_in_f32() {
    let table = check_all::<f32>(80.0);
    print(&table, "f32");
}
