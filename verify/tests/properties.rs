//! Property tests of the generated runtime over random shapes and values:
//! nothing panics; invalid shapes and labels are errors that write nothing;
//! NaN in gives NaN out for the sample; finite inputs whose exact loss is
//! finite give a finite loss and gradient (the exact value checked with
//! `verify` on every case small enough); and results are deterministic.

#[path = "../../loss-core/tests/common/declared.rs"]
mod declared;

use declared::{ce, distill, vae, weighted_ce_kl};
use loss_core::{Rows, SampleLoss};
use proptest::prelude::*;
use verify::strategies::logits;
use verify::{check_loss, Tolerance};

/// A value of any kind the runtime must survive.
fn wild() -> impl Strategy<Value = f64> {
    prop_oneof![
        6 => -10.0..10.0f64,
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(1e308),
        1 => Just(-1e308),
        1 => Just(f64::MIN_POSITIVE / 4.0), // subnormal
        1 => Just(3e38),
        1 => Just(-3e38),
        1 => Just(0.0),
    ]
}

/// A batch: `n` rows of width `c`, wild values, and labels that may be out
/// of range.
fn batch() -> impl Strategy<Value = (usize, usize, Vec<f64>, Vec<i64>)> {
    (
        0usize..5,
        prop_oneof![3 => 1usize..20, 1 => Just(8usize), 1 => Just(17usize)],
    )
        .prop_flat_map(|(n, c)| {
            (
                Just(n),
                Just(c),
                proptest::collection::vec(wild(), n * c),
                proptest::collection::vec(
                    prop_oneof![9 => 0..c as i64, 1 => Just(c as i64), 1 => Just(-1i64)],
                    n,
                ),
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn no_input_panics_and_errors_write_nothing((n, c, z, y) in batch()) {
        let labels_ok = y.iter().all(|&l| (0..c as i64).contains(&l));
        let mut g = vec![7.0; n * c];
        let r = ce::value_and_grad(Rows::new(&z, n, c), &y, &mut g[..]);
        prop_assert_eq!(r.is_ok(), labels_ok);
        if r.is_err() {
            prop_assert!(g.iter().all(|&v| v == 7.0), "an error wrote to the gradient");
        }
        // f32, the same inputs rounded (±1e308 become infinities).
        let z32: Vec<f32> = z.iter().map(|&v| v as f32).collect();
        let mut g32 = vec![0.0_f32; n * c];
        let t32: Vec<f32> = z32.iter().rev().copied().collect();
        let r32 = distill::value_and_grad(Rows::new(&z32, n, c), Rows::new(&t32, n, c), &y, 0.5, 0.5, 2.0, &mut g32[..]);
        prop_assert_eq!(r32.is_ok(), labels_ok);
        // A wrong gradient buffer is an error too.
        if n > 0 {
            prop_assert!(ce::value_and_grad(Rows::new(&z, n, c), &y, &mut g[..n * c - 1]).is_err());
        }
        // NaN in a row: that sample's loss is NaN, and so is the mean.
        if labels_ok && n > 0 {
            let v = r.unwrap();
            let any_nan = z.iter().any(|v| v.is_nan());
            if any_nan {
                prop_assert!(v.is_nan(), "NaN in, {} out", v);
            }
            // Deterministic: the same call gives the same bits.
            let mut g2 = vec![0.0; n * c];
            let v2 = ce::value_and_grad(Rows::new(&z, n, c), &y, &mut g2[..]).unwrap();
            prop_assert_eq!(v.to_bits(), v2.to_bits());
            prop_assert!(g.iter().zip(&g2).all(|(a, b)| a.to_bits() == b.to_bits()));
        }
    }

    #[test]
    fn finite_inputs_give_finite_exact_results(z in logits(1..12usize), seed in 0usize..1000) {
        let c = z.len();
        let y = seed % c;
        let q: Vec<f64> = (0..c).map(|j| if j == y { 1.0 } else { 0.0 }).collect();
        let w = vec![1.0; c];
        for report in [
            check_loss(&ce::Sample { z: &z, y }, Tolerance::default_for::<f64>()),
            check_loss(&weighted_ce_kl::Sample { z: &z, y, w: &w, q: &q, beta: 0.5 }, Tolerance::default_for::<f64>()),
        ] {
            prop_assert!(report.passed(), "{}", report);
        }
        let z32: Vec<f32> = z.iter().map(|&v| v as f32).collect();
        let sample = ce::Sample { z: &z32, y };
        let mut g = vec![0.0_f32; c];
        let v = sample.value_and_grad(&z32, &mut g).unwrap();
        prop_assert!(v.is_finite() && g.iter().all(|x| x.is_finite()));
    }
}

#[test]
fn long_rows_and_empty_batches() {
    // C = 32000 and odd widths around the lane count, in f32.
    for c in [1usize, 7, 8, 9, 15, 16, 17, 32000] {
        let n = 3;
        let z: Vec<f32> = (0..n * c)
            .map(|i| ((i * 7919) % 1000) as f32 / 50.0 - 10.0)
            .collect();
        let y: Vec<usize> = (0..n).map(|i| (i * 31) % c).collect();
        let mut g = vec![0.0_f32; n * c];
        let v = ce::value_and_grad(Rows::new(&z, n, c), &y, &mut g[..]).unwrap();
        assert!(v.is_finite() && g.iter().all(|x| x.is_finite()), "c = {c}");
        // Each row's gradient sums to 0 (softmax - onehot), to rounding.
        for i in 0..n {
            let s: f32 = g[i * c..(i + 1) * c].iter().sum();
            assert!(s.abs() < 1e-5, "c = {c}: row {i} sums to {s}");
        }
    }
    // N = 0 for every reduction kind: mean NaN, sum 0, per-sample nothing.
    let empty: [f64; 0] = [];
    assert!(ce::value(Rows::new(&empty, 0, 3), &[0usize; 0])
        .unwrap()
        .is_nan());
    let mut gx: [f64; 0] = [];
    let (mut gm, mut gl): ([f64; 0], [f64; 0]) = ([], []);
    assert!(vae::value_and_grad(
        Rows::new(&empty, 0, 2),
        Rows::new(&empty, 0, 2),
        Rows::new(&empty, 0, 2),
        Rows::new(&empty, 0, 2),
        &mut gx,
        &mut gm,
        &mut gl
    )
    .unwrap()
    .is_nan());
}
