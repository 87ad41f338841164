//! Quickstart: declare a composite loss, compute its value and gradient on a
//! small batch, and read the gradient the compiler derived.
//!
//! Run with `cargo run --release --example quickstart`.

use loss_core::{loss, Rows};

loss! {
    /// Class-weighted cross-entropy plus β·KL(q ‖ softmax(z)): a classifier
    /// trained on hard labels, pulled towards a soft target distribution.
    pub fn weighted_ce_kl(#[grad] z: Vector<C>, y: Class<C>, w: Weights<C>, q: Vector<C>, beta: Scalar) {
        w[y] * cross_entropy(z, y) + beta * kl_div(q, softmax(z))
    }
}

fn main() -> Result<(), loss_core::LossError> {
    // A batch of 3 samples over 4 classes, one row per sample.
    let logits = [
        2.0_f32, 0.5, -1.0, 0.1, //
        -0.3, 1.2, 0.8, 0.0, //
        0.0, 0.0, 0.0, 4.0,
    ];
    let labels = [0_usize, 2, 3];
    let class_weights = [1.0_f32, 2.0, 1.0, 0.5];
    let soft_targets = [
        0.7_f32, 0.1, 0.1, 0.1, //
        0.0, 0.5, 0.5, 0.0, // exact zeros are fine: 0 · ln 0 = 0
        0.0, 0.0, 0.0, 1.0,
    ];
    let mut grad = [0.0_f32; 12];

    let loss = weighted_ce_kl::value_and_grad(
        Rows::new(&logits, 3, 4),
        &labels,
        &class_weights,
        Rows::new(&soft_targets, 3, 4),
        0.5,
        &mut grad[..],
    )?;

    println!("formula:  {}", weighted_ce_kl::FORMULA);
    for (input, derived) in weighted_ce_kl::GRADIENT {
        println!("d/d{input}:    {derived}");
    }
    println!("passes over each row: {}", weighted_ce_kl::GRAD_PASSES);
    println!();
    println!("loss (mean over the batch): {loss:.6}");
    for (i, row) in grad.chunks(4).enumerate() {
        println!("gradient of sample {i}:  {row:+.5?}");
    }

    // Bad input is an error that says what and where, never a panic.
    let bad_labels = [0_usize, 2, 4];
    let err = weighted_ce_kl::value(
        Rows::new(&logits, 3, 4),
        &bad_labels,
        &class_weights,
        Rows::new(&soft_targets, 3, 4),
        0.5,
    )
    .unwrap_err();
    println!();
    println!("with a bad label: error: {err}");
    Ok(())
}
