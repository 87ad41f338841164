//! What the exact checks of many losses share: the worst case per loss,
//! and the table they print (`--nocapture`) before failing on any check
//! that did not pass.

use std::fmt::Debug;

use verify::{FastFloat, Report};

/// The worst case seen for one loss and float type, and the reports of the
/// checks that failed.
#[derive(Default)]
pub struct Worst {
    pub value_ulps: f64,
    pub gradient_eps: f64,
    pub checks: usize,
    pub failures: Vec<String>,
}

impl Worst {
    pub fn record<F: FastFloat>(&mut self, name: &str, case: impl Debug, report: Report) {
        if !report.passed() {
            self.failures
                .push(format!("{name} ({case:?}, {}):\n{report}", F::NAME));
        }
        if let Some(v) = &report.value {
            self.value_ulps = self.value_ulps.max(v.ulps);
        }
        let floor = 2f64.powi(F::MIN_EXP - 1) / F::EPSILON.to_f64();
        if report.gradient_scale > floor {
            let worst = report
                .gradient
                .iter()
                .map(|g| g.abs_error)
                .fold(0.0, f64::max);
            self.gradient_eps = self
                .gradient_eps
                .max(worst / report.gradient_scale / F::EPSILON.to_f64());
        }
        self.checks += 1;
    }
}

pub fn print(table: &[(&str, Worst)], float: &str) {
    println!(
        "\n| loss | {float} checks | value, worst ULPs | gradient, worst error / (ε · max-norm) |"
    );
    println!("|---|---|---|---|");
    for (name, w) in table {
        println!(
            "| {name} | {} | {:.2} | {:.2} |",
            w.checks, w.value_ulps, w.gradient_eps
        );
    }
    let mut failed = 0;
    for (_, w) in table {
        for f in w.failures.iter().take(2) {
            println!("FAIL {f}");
        }
        failed += w.failures.len();
    }
    assert_eq!(failed, 0, "{failed} checks failed (listed above)");
}
