//! Per-sample losses with `#[reduce(none)]`, weighted by your own rule: here
//! the hardest samples of the batch count more (online hard-example mining
//! made smooth), and the weighted mean's gradient comes from the generated
//! code through its `upstream` argument, a vector-Jacobian product.
//!
//! Run with `cargo run --release --example per_sample_weights`.

use loss_core::{loss, Rows};
use verify::finite_diff::{check_gradient, FdOptions, FdTolerance};

loss! {
    /// Cross-entropy of each sample, not reduced.
    #[reduce(none)]
    pub fn ce_each(#[grad] z: Vector<C>, y: Class<C>) {
        cross_entropy(z, y)
    }
}

/// Weights from per-sample losses: samples at or above the median loss count
/// `hard` times as much; normalised to sum to 1. Treated as constants (no
/// gradient flows through the weights), as `loss.detach()` in PyTorch.
fn weights(losses: &[f64], hard: f64) -> Vec<f64> {
    let mut sorted = losses.to_vec();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    let w: Vec<f64> = losses
        .iter()
        .map(|&l| if l >= median { hard } else { 1.0 })
        .collect();
    let total: f64 = w.iter().sum();
    w.iter().map(|v| v / total).collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (n, c) = (4, 3);
    let z = [
        3.0_f64, 0.0, -1.0, // confidently right
        0.2, 0.1, 0.0, // unsure
        -2.0, 2.0, 0.5, // wrong
        1.0, 1.0, 1.0, // a tie
    ];
    let y = [0_usize, 0, 0, 2];

    // 1. The per-sample losses (no gradient yet).
    let mut losses = vec![0.0; n];
    ce_each::value(Rows::new(&z, n, c), &y, &mut losses)?;
    println!("per-sample losses: {losses:.4?}");

    // 2. Your weighting, from those losses.
    let w = weights(&losses, 3.0);
    println!("weights:           {w:.4?}");

    // 3. The gradient of sum_i w_i loss_i: `upstream[i]` scales sample i's
    //    gradient row. The losses are written again on the way.
    let mut dz = vec![0.0; n * c];
    ce_each::value_and_grad(Rows::new(&z, n, c), &y, &mut losses, &w, &mut dz[..])?;
    let weighted: f64 = losses.iter().zip(&w).map(|(l, w)| l * w).sum();
    println!("weighted loss:     {weighted:.6}");
    for (i, row) in dz.chunks(c).enumerate() {
        println!("gradient of sample {i}: {row:+.4?}");
    }

    // The same gradient by finite differences, the weights held fixed.
    let f = |p: &[f64]| {
        let mut l = vec![0.0; n];
        match ce_each::value(Rows::new(p, n, c), &y, &mut l) {
            Ok(()) => l.iter().zip(&w).map(|(l, w)| l * w).sum(),
            Err(_) => f64::NAN,
        }
    };
    let report = check_gradient(f, &z, &dz, &FdOptions::default(), FdTolerance::default());
    print!("\n{report}");
    report.assert_passed();
    Ok(())
}
