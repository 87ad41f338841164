//! A VAE-style composite loss with gradients with respect to several inputs:
//! the decoder's logits and the encoder's mean and log-variance, each in its
//! own dim, in one fused pass over each dim. The derived gradients are printed, then
//! checked against finite differences with `verify`.
//!
//! Run with `cargo run --release --example vae_loss`.

use loss_core::{loss, Rows};
use verify::finite_diff::{check_gradient, FdOptions, FdTolerance};

loss! {
    /// Negative ELBO of a Bernoulli decoder and a diagonal Gaussian encoder:
    /// reconstruction (binary cross-entropy from logits, summed over the `D`
    /// pixels) plus `beta` times KL(N(mu, e^logvar) ‖ N(0, 1)) over the `K`
    /// latent dims.
    pub fn neg_elbo(
        #[grad] x_logits: Vector<D>,
        x: Vector<D>,
        #[grad] mu: Vector<K>,
        #[grad] logvar: Vector<K>,
        beta: Scalar,
    ) {
        sum(binary_cross_entropy_with_logits(x_logits, x))
            + beta * 0.5 * sum(mu.powi(2) + logvar.exp() - 1.0 - logvar)
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 2 samples, D = 4 pixels, K = 2 latent dims.
    let (n, d, k) = (2, 4, 2);
    let x_logits = [2.0_f64, -1.0, 0.5, -3.0, 0.0, 1.5, -0.5, 4.0];
    let x = [1.0_f64, 0.0, 1.0, 0.0, 0.2, 0.9, 0.1, 1.0];
    let mu = [0.3_f64, -0.8, 1.2, 0.0];
    let logvar = [-0.5_f64, 0.2, 0.0, -1.5];
    let beta = 0.5;

    println!("loss:      {}", neg_elbo::FORMULA);
    for (input, g) in neg_elbo::GRADIENT {
        println!("d/d{input:<9} {g}");
    }
    println!("passes over each row: {}\n", neg_elbo::GRAD_PASSES);

    let (mut dx, mut dmu, mut dlv) = (vec![0.0; n * d], vec![0.0; n * k], vec![0.0; n * k]);
    let value = neg_elbo::value_and_grad(
        Rows::new(&x_logits, n, d),
        Rows::new(&x, n, d),
        Rows::new(&mu, n, k),
        Rows::new(&logvar, n, k),
        beta,
        &mut dx[..],
        &mut dmu[..],
        &mut dlv[..],
    )?;
    println!("mean loss over the batch: {value:.6}");
    println!("d/dx_logits: {dx:+.4?}");
    println!("d/dmu:       {dmu:+.4?}");
    println!("d/dlogvar:   {dlv:+.4?}\n");

    // All three gradients at once against finite differences: the loss as a
    // function of the concatenated inputs.
    let point: Vec<f64> = [&x_logits[..], &mu, &logvar].concat();
    let claimed: Vec<f64> = [&dx[..], &dmu, &dlv].concat();
    let f = |p: &[f64]| {
        let (xl, rest) = p.split_at(n * d);
        let (m, lv) = rest.split_at(n * k);
        neg_elbo::value(
            Rows::new(xl, n, d),
            Rows::new(&x, n, d),
            Rows::new(m, n, k),
            Rows::new(lv, n, k),
            beta,
        )
        .unwrap_or(f64::NAN)
    };
    let report = check_gradient(
        f,
        &point,
        &claimed,
        &FdOptions::default(),
        FdTolerance::default(),
    )
    .named("[x_logits, mu, logvar]");
    print!("{report}");
    report.assert_passed();
    Ok(())
}
