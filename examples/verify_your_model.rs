//! Verifying your own model: a hand-written forward and backward pass
//! (closures over nalgebra, no framework) checked with `verify`'s
//! finite-difference gradcheck, first correct, then with a typical bug,
//! which the report pinpoints.
//!
//! Run with `cargo run --release --example verify_your_model`.

use loss_core::loss;
use nalgebra::{DMatrix, DVector};
use verify::finite_diff::{check_gradient_matrix, FdOptions, FdTolerance};

loss! {
    /// Mean squared error of a prediction.
    pub fn sq_err(#[grad] p: Vector<O>, t: Vector<O>) {
        mse(p, t)
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A one-hidden-layer regression model: p = V tanh(W x), one sample per column.
    let x = DMatrix::from_row_slice(
        3,
        4,
        &[
            0.5, -1.0, 2.0, 0.0, //
            1.5, 0.3, -0.7, 1.0, //
            -0.2, 0.8, 0.1, -1.3,
        ],
    );
    let t = DMatrix::from_row_slice(2, 4, &[1.0, 0.0, -1.0, 0.5, 0.2, 0.4, 0.0, -0.3]);
    let w = DMatrix::from_row_slice(
        5,
        3,
        &[
            0.3, -0.1, 0.2, 0.0, 0.5, -0.4, 0.1, 0.1, 0.3, -0.6, 0.2, 0.0, 0.4, -0.3, 0.2,
        ],
    );
    let v = DMatrix::from_row_slice(2, 5, &[0.5, -0.2, 0.1, 0.3, -0.4, 0.2, 0.6, -0.5, 0.1, 0.0]);

    // The model's loss as a function of W (V fixed), and its hand-written
    // gradient: the loss's gradient with respect to p from `loss!`, then
    // dW = (Vᵀ dp ∘ (1 - h²)) xᵀ.
    let loss_of_w = |w: &DMatrix<f64>| {
        let p = &v * (w * &x).map(f64::tanh);
        sq_err::value(&p, &t).unwrap_or(f64::NAN)
    };
    let grad_of_w = |w: &DMatrix<f64>, forget_tanh_slope: bool| -> DMatrix<f64> {
        let h = (w * &x).map(f64::tanh);
        let p = &v * &h;
        let mut dp = DMatrix::zeros(2, 4);
        sq_err::value_and_grad(&p, &t, &mut dp).expect("shapes agree");
        let dh = v.transpose() * dp;
        let dz = if forget_tanh_slope {
            dh // the bug: tanh's derivative left out
        } else {
            dh.zip_map(&h, |g, h| g * (1.0 - h * h))
        };
        dz * x.transpose()
    };

    let opts = FdOptions::default();
    let tol = FdTolerance::default();
    println!("correct backprop:");
    let good = check_gradient_matrix(loss_of_w, &w, &grad_of_w(&w, false), &opts, tol).named("W");
    print!("{good}");
    println!("\nbackprop that forgets tanh's slope:");
    let bad = check_gradient_matrix(loss_of_w, &w, &grad_of_w(&w, true), &opts, tol).named("W");
    print!("{bad}");

    // A bias as a vector: nalgebra vectors are one-column matrices.
    let b = DVector::from_vec(vec![0.1, -0.2]);
    let loss_of_b = |b: &DVector<f64>| {
        let mut p = &v * (&w * &x).map(f64::tanh);
        for mut col in p.column_iter_mut() {
            col += b;
        }
        sq_err::value(&p, &t).unwrap_or(f64::NAN)
    };
    let mut p = &v * (&w * &x).map(f64::tanh);
    for mut col in p.column_iter_mut() {
        col += &b;
    }
    let mut dp = DMatrix::zeros(2, 4);
    sq_err::value_and_grad(&p, &t, &mut dp)?;
    let db: DVector<f64> = dp.column_sum();
    println!("\nbias gradient:");
    let bias = check_gradient_matrix(loss_of_b, &b, &db, &opts, tol).named("b");
    print!("{bias}");

    assert!(good.passed() && bias.passed() && !bad.passed());
    Ok(())
}
