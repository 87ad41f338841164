//! Every loss declared so far, checked with `verify`: the fast
//! `value_and_grad` (f64 and f32) against the exact enclosure of its
//! `reference` (intervals for the value, dual intervals for the gradient),
//! on ordinary and adversarial inputs. Run with `--nocapture` to see the
//! measured worst case per loss (the figures in docs/verify.md).

#[path = "../../loss-core/tests/common/mod.rs"]
mod common;

use common::declared::*;
use common::Rng;
use loss_core::{losses, Float, SampleLoss};
use verify::{check_loss, FastFloat, Report, Tolerance};

mod support;
use support::{print, Worst};

/// The kinds of rows each loss is checked on.
#[derive(Clone, Copy, Debug)]
enum Case {
    /// Logits uniform in ±6, probabilities with zeros.
    Ordinary,
    /// Logits of ±1e4 in f64, ±80 in f32.
    Huge,
    /// All logits within 1e-6 of one another.
    NearTies,
    /// The label's logit far above the others: p_y within 1e-30 of 1.
    Confident,
    /// One-hot probability targets, a single class.
    OneHot,
    /// Ordinary logits, both rows shifted by 1e4, on a grid of 1/64 (exact
    /// in f32 too, shifts and differences included): a kernel that rounds
    /// `max + ln(sum)` at the logits' magnitude, or a coefficient times each
    /// of two large numbers before they cancel, fails here in f32.
    Shifted,
}

const CASES: [Case; 6] = [
    Case::Ordinary,
    Case::Huge,
    Case::NearTies,
    Case::Confident,
    Case::OneHot,
    Case::Shifted,
];

/// Numbers exactly representable in `F` (so that f32 and the exact
/// reference see the same input).
fn round<F: Float>(x: f64) -> F {
    F::from_f64(x)
}

struct Data<F> {
    logits: Vec<F>,
    other: Vec<F>,
    probs: Vec<F>,
    label: usize,
}

fn data<F: Float>(case: Case, c: usize, rng: &mut Rng, huge: f64) -> Data<F> {
    let label = rng.below(c);
    let (logits, other): (Vec<f64>, Vec<f64>) = match case {
        Case::Ordinary | Case::OneHot => (
            (0..c).map(|_| rng.uniform(-6.0, 6.0)).collect(),
            (0..c).map(|_| rng.uniform(-6.0, 6.0)).collect(),
        ),
        Case::Huge => (
            (0..c).map(|_| rng.uniform(-huge, huge)).collect(),
            (0..c).map(|_| rng.uniform(-huge, huge)).collect(),
        ),
        Case::Shifted => {
            let mut near_1e4 = || 1e4 + (rng.uniform(-6.0, 6.0) * 64.0).round() / 64.0;
            (
                (0..c).map(|_| near_1e4()).collect(),
                (0..c).map(|_| near_1e4()).collect(),
            )
        }
        Case::NearTies => {
            let base = rng.uniform(-3.0, 3.0);
            (
                (0..c).map(|_| base + rng.uniform(-1e-6, 1e-6)).collect(),
                (0..c).map(|_| base + rng.uniform(-1e-6, 1e-6)).collect(),
            )
        }
        Case::Confident => {
            let mut l: Vec<f64> = (0..c).map(|_| rng.uniform(-5.0, 0.0)).collect();
            l[label] = 70.0;
            (l.clone(), l)
        }
    };
    let probs: Vec<f64> = match case {
        Case::OneHot | Case::Confident => {
            (0..c).map(|j| if j == label { 1.0 } else { 0.0 }).collect()
        }
        _ => {
            let raw: Vec<f64> = (0..c)
                .map(|j| {
                    if j % 3 == 1 {
                        0.0
                    } else {
                        rng.uniform(0.05, 1.0)
                    }
                })
                .collect();
            let total: f64 = raw.iter().sum();
            raw.iter().map(|x| x / total).collect()
        }
    };
    Data {
        logits: logits.into_iter().map(round).collect(),
        other: other.into_iter().map(round).collect(),
        probs: probs.into_iter().map(round).collect(),
        label,
    }
}

fn check_all<F: FastFloat + Float>(huge: f64) -> Vec<(&'static str, Worst)> {
    let tolerance = Tolerance::default_for::<F>();
    let mut rng = Rng::new(0x5eed);
    // The shifted rows draw from their own generator, so that adding them
    // left every other case's inputs as they were.
    let mut shifted_rng = Rng::new(0x5_41f7);
    let mut table = Vec::new();
    let mut run =
        |name: &'static str,
         f: &mut dyn FnMut(Case, usize, &mut Rng, Tolerance) -> Option<Report>| {
            let tolerance = tolerance_of(name, tolerance);
            let mut worst = Worst::default();
            for case in CASES {
                let rng = match case {
                    Case::Shifted => &mut shifted_rng,
                    _ => &mut rng,
                };
                for c in [1, 2, 7, 32] {
                    for _ in 0..3 {
                        if let Some(report) = f(case, c, rng, tolerance) {
                            worst.record::<F>(name, case, report);
                        }
                    }
                }
            }
            table.push((name, worst));
        };

    run("losses::cross_entropy", &mut |case, c, rng, tolerance| {
        let d = data::<F>(case, c, rng, huge);
        Some(check_loss(
            &losses::cross_entropy::Sample {
                logits: &d.logits,
                target: d.label,
            },
            tolerance,
        ))
    });
    run(
        "losses::cross_entropy_soft",
        &mut |case, c, rng, tolerance| {
            let d = data::<F>(case, c, rng, huge);
            Some(check_loss(
                &losses::cross_entropy_soft::Sample {
                    logits: &d.logits,
                    target: &d.probs,
                },
                tolerance,
            ))
        },
    );
    run("losses::kl_div_logits", &mut |case, c, rng, tolerance| {
        let d = data::<F>(case, c, rng, huge);
        Some(check_loss(
            &losses::kl_div_logits::Sample {
                logits: &d.logits,
                target: &d.probs,
            },
            tolerance,
        ))
    });
    run(
        "losses::binary_cross_entropy_with_logits",
        &mut |case, c, rng, tolerance| {
            let d = data::<F>(case, c, rng, huge);
            Some(check_loss(
                &losses::binary_cross_entropy_with_logits::Sample {
                    logits: &d.logits,
                    target: &d.probs,
                },
                tolerance,
            ))
        },
    );
    run("losses::mse", &mut |case, c, rng, tolerance| {
        let d = data::<F>(case, c, rng, huge);
        Some(check_loss(
            &losses::mse::Sample {
                input: &d.logits,
                target: &d.other,
            },
            tolerance,
        ))
    });
    run("weighted_ce_kl", &mut |case, c, rng, tolerance| {
        let d = data::<F>(case, c, rng, huge);
        let w: Vec<F> = (0..c).map(|j| round(0.5 + j as f64 / 8.0)).collect();
        let s = weighted_ce_kl::Sample {
            z: &d.logits,
            y: d.label,
            w: &w,
            q: &d.probs,
            beta: round(0.7),
        };
        Some(check_loss(&s, tolerance))
    });
    run(
        "weighted_ce_kl_beta (weighted mean, d/dβ)",
        &mut |case, c, rng, tolerance| {
            let d = data::<F>(case, c, rng, huge);
            let w: Vec<F> = (0..c).map(|j| round(0.5 + j as f64 / 8.0)).collect();
            let s = weighted_ce_kl_beta::Sample {
                z: &d.logits,
                y: d.label,
                w: &w,
                q: &d.probs,
                beta: round(0.7),
            };
            Some(check_loss(&s, tolerance))
        },
    );
    run("distill", &mut |case, c, rng, tolerance| {
        let d = data::<F>(case, c, rng, huge);
        let s = distill::Sample {
            s: &d.logits,
            t: &d.other,
            y: d.label,
            alpha: round(0.3),
            beta: round(0.7),
            temp: round(4.0),
        };
        Some(check_loss(&s, tolerance))
    });
    run("distill_temp (d/dT)", &mut |case, c, rng, tolerance| {
        let d = data::<F>(case, c, rng, huge);
        // Logits near 1e4 divided by 2.5 round at their magnitude (2.4e-4
        // in f32) in any implementation; divided by 2 they stay exact.
        let temp = match case {
            Case::Shifted => 2.0,
            _ => 2.5,
        };
        let s = distill_temp::Sample {
            s: &d.logits,
            t: &d.other,
            y: d.label,
            alpha: round(0.3),
            beta: round(0.7),
            temp: round(temp),
        };
        Some(check_loss(&s, tolerance))
    });
    run("vae", &mut |case, c, rng, tolerance| {
        let d = data::<F>(case, c, rng, huge);
        let k = c.div_ceil(2);
        let mu: Vec<F> = (0..k).map(|_| round(rng.uniform(-3.0, 3.0))).collect();
        let lv: Vec<F> = (0..k).map(|_| round(rng.uniform(-4.0, 2.0))).collect();
        let s = vae::Sample {
            xl: &d.logits,
            x: &d.probs,
            mu: &mu,
            lv: &lv,
        };
        Some(check_loss(&s, tolerance))
    });
    run(
        "naive_soft_ce (rewritten)",
        &mut |case, c, rng, tolerance| {
            let d = data::<F>(case, c, rng, huge);
            Some(check_loss(
                &naive_soft_ce::Sample {
                    z: &d.logits,
                    p: &d.probs,
                },
                tolerance,
            ))
        },
    );
    run("naive_ce (rewritten)", &mut |case, c, rng, tolerance| {
        let d = data::<F>(case, c, rng, huge);
        Some(check_loss(
            &naive_ce::Sample {
                z: &d.logits,
                y: d.label,
            },
            tolerance,
        ))
    });
    table
}

/// The tolerance a loss is held to. Most meet the default (4 ULP for the
/// value, 16 ε of the gradient's max-norm). Distillation's KL of two nearly
/// equal distributions is a sum of `p (log p - log q)` whose log-softmax
/// differences cancel: its absolute error is a few ε of `log C`, which in
/// ULPs of a value that small exceeds 4; the temperature's gradient is a
/// sum of such differences.
fn tolerance_of(name: &str, default: Tolerance) -> Tolerance {
    if name.starts_with("distill_temp") {
        // d/dT sums differences of O(1) terms: an absolute bound of 64 ε,
        // which matters where the whole gradient is tiny (a confident,
        // already-distilled sample, where the exact d/dT is 0).
        Tolerance {
            value_ulps: 64.0,
            gradient_rel: 4.0 * default.gradient_rel,
            gradient_abs: 4.0 * default.gradient_rel,
            ..default
        }
    } else if name.starts_with("distill") {
        Tolerance {
            value_ulps: 64.0,
            gradient_rel: 4.0 * default.gradient_rel,
            ..default
        }
    } else {
        default
    }
}

#[test]
fn every_declared_loss_passes_in_f64() {
    let table = check_all::<f64>(1e4);
    print(&table, "f64");
}

#[test]
fn every_declared_loss_passes_in_f32() {
    let table = check_all::<f32>(80.0);
    print(&table, "f32");
}

#[test]
fn a_long_row_keeps_its_accuracy() {
    // C = 1000, value only (a dual number with 1000 partials is slow in
    // intervals): the row sums are blocked, so the error stays small.
    let mut rng = Rng::new(7);
    let logits: Vec<f32> = (0..1000).map(|_| rng.uniform(-8.0, 8.0) as f32).collect();
    let sample = losses::cross_entropy::Sample {
        logits: &logits,
        target: 17,
    };
    let mut g = vec![0.0_f32; 1000];
    let value = sample.value_and_grad(&logits, &mut g).unwrap();
    let report = verify::check_value(&sample, &logits, value, Tolerance::default_for::<f32>());
    assert!(report.passed(), "{report}");
}
