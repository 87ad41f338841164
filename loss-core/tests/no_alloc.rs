//! `value` and `value_and_grad` never touch the heap: a counting global
//! allocator sees zero allocations inside them, for every declared loss,
//! every ready loss of `loss_core::losses`, in f64 and f32, and for rows as
//! long as 32000 classes.

mod common;
#[path = "common/stdlib.rs"]
mod stdlib;

use common::declared::*;
use common::Rng;
use loss_core::Rows;
use stdlib::{convert, Call, Loss, Ordinary, TableFloat, LOSSES};

/// Runs `f` and returns how many heap allocations it made.
fn allocations(f: impl FnOnce()) -> u64 {
    allocation_counter::measure(f).count_total
}

#[test]
fn no_loss_allocates() {
    for &(n, c) in &[(4_usize, 10_usize), (2, 32000)] {
        let mut rng = Rng::new(c as u64);
        let z = rng.vec(n * c, -10.0, 10.0);
        let t = rng.vec(n * c, -10.0, 10.0);
        let q = rng.probabilities(n, c);
        let y = rng.labels(n, c);
        let w = rng.vec(c, 0.5, 2.0);
        let (z32, t32): (Vec<f32>, Vec<f32>) = (
            z.iter().map(|&x| x as f32).collect(),
            t.iter().map(|&x| x as f32).collect(),
        );
        let mut g = vec![0.0; n * c];
        let mut g32 = vec![0.0_f32; n * c];
        let mut scalar = 0.0;
        let (zr, tr, qr) = (
            Rows::new(&z, n, c),
            Rows::new(&t, n, c),
            Rows::new(&q, n, c),
        );

        let count = allocations(|| {
            ce::value(zr, &y).unwrap();
            ce::value_and_grad(zr, &y, &mut g[..]).unwrap();
            naive_ce::value_and_grad(zr, &y, &mut g[..]).unwrap();
            soft_ce::value_and_grad(zr, qr, &mut g[..]).unwrap();
            naive_soft_ce::value_and_grad(zr, qr, &mut g[..]).unwrap();
            weighted_ce_kl::value(zr, &y, &w, qr, 0.5).unwrap();
            weighted_ce_kl::value_and_grad(zr, &y, &w, qr, 0.5, &mut g[..]).unwrap();
            weighted_ce_kl_beta::value_and_grad(zr, &y, &w, qr, 0.5, &mut g[..], &mut scalar)
                .unwrap();
            distill::value(zr, tr, &y, 0.5, 0.5, 4.0).unwrap();
            distill::value_and_grad(zr, tr, &y, 0.5, 0.5, 4.0, &mut g[..]).unwrap();
            distill_temp::value_and_grad(zr, tr, &y, 0.5, 0.5, 4.0, &mut g[..], &mut scalar)
                .unwrap();
            distill::value_and_grad(
                Rows::new(&z32, n, c),
                Rows::new(&t32, n, c),
                &y,
                0.5,
                0.5,
                4.0,
                &mut g32[..],
            )
            .unwrap();
            // Errors allocate nothing either.
            ce::value(zr, &y[..1]).unwrap_err();
        });
        assert_eq!(count, 0, "{n}x{c}");

        let (d, k) = (c, 8);
        let xl = rng.vec(n * d, -5.0, 5.0);
        let x = rng.vec(n * d, 0.0, 1.0);
        let mu = rng.vec(n * k, -1.0, 1.0);
        let lv = rng.vec(n * k, -1.0, 1.0);
        let (mut gx, mut gm, mut gl) = (vec![0.0; n * d], vec![0.0; n * k], vec![0.0; n * k]);
        let count = allocations(|| {
            let args = (
                Rows::new(&xl, n, d),
                Rows::new(&x, n, d),
                Rows::new(&mu, n, k),
                Rows::new(&lv, n, k),
            );
            vae::value(args.0, args.1, args.2, args.3).unwrap();
            vae::value_and_grad(args.0, args.1, args.2, args.3, &mut gx, &mut gm, &mut gl).unwrap();
        });
        assert_eq!(count, 0, "vae {n}x{d}");
    }
}

/// Calls `value` and `value_and_grad` of `loss` on `call`, and then
/// `value_and_grad` with a gradient buffer one too short (an error), and
/// returns the allocations these made.
fn standard_allocations<F: TableFloat>(loss: &Loss, call: &Call<f64>, n: usize, c: usize) -> u64 {
    let call = convert::<F>(call);
    let mut out = loss.out::<F>(n, c);
    let mut short = loss.out::<F>(n, c);
    short.grads[0].pop();
    allocations(|| {
        loss.run(&call, &mut out, false).unwrap();
        loss.run(&call, &mut out, true).unwrap();
        loss.run(&call, &mut short, true).unwrap_err();
    })
}

#[test]
fn no_standard_loss_allocates() {
    assert_eq!(LOSSES.len(), 82);
    for &(n, c) in &[(4_usize, 10_usize), (2, 32000)] {
        let mut rng = Rng::new(7 + c as u64);
        for loss in LOSSES {
            let call = loss.call(n, c, &mut Ordinary(|| rng.uniform(0.0, 1.0)));
            let count = standard_allocations::<f64>(loss, &call, n, c);
            assert_eq!(count, 0, "{} in f64, {n}x{c}", loss.name);
            let count = standard_allocations::<f32>(loss, &call, n, c);
            assert_eq!(count, 0, "{} in f32, {n}x{c}", loss.name);
        }
    }
}

#[test]
fn the_counter_sees_allocations() {
    // Guards the test above against a counter that counts nothing.
    let count = allocations(|| {
        let v: Vec<u8> = Vec::with_capacity(16);
        std::hint::black_box(v);
    });
    assert_eq!(count, 1);
}
