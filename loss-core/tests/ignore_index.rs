//! `#[ignore_index]`: samples whose label is the ignore index are skipped,
//! as PyTorch's `ignore_index` (default -100): no value, zero gradient rows,
//! and not counted by the mean (or its weighted denominator).

mod common;

use common::{logsumexp, max_relative_error, softmax, Rng};
use loss_core::{loss, Rows};

loss! {
    fn ce(#[grad] z: Vector<C>, #[ignore_index] y: Class<C>) {
        cross_entropy(z, y)
    }

    #[reduce(mean, denominator = w[y])]
    fn weighted(#[grad] z: Vector<C>, #[ignore_index] y: Class<C>, w: Weights<C>) {
        w[y] * cross_entropy(z, y)
    }

    #[reduce(none)]
    fn each(#[grad] z: Vector<C>, #[ignore_index] y: Class<C>) {
        cross_entropy(z, y)
    }
}

#[test]
fn ignored_samples_are_skipped() {
    let (n, c) = (6, 5);
    let mut rng = Rng::new(11);
    let z = rng.vec(n * c, -4.0, 4.0);
    let y: Vec<i64> = vec![1, -100, 4, 0, -100, 2];
    let w = rng.vec(c, 0.5, 2.0);
    let kept: Vec<usize> = (0..n).filter(|&i| y[i] != -100).collect();

    // Mean over the kept samples only.
    let mut g = vec![f64::NAN; n * c];
    let v = ce::value_and_grad(Rows::new(&z, n, c), &y, -100, &mut g[..]).unwrap();
    let expect: f64 = kept
        .iter()
        .map(|&i| logsumexp(&z[i * c..(i + 1) * c]) - z[i * c + y[i] as usize])
        .sum::<f64>()
        / kept.len() as f64;
    assert!((v - expect).abs() <= 1e-14 * expect);
    let mut expect_g = vec![0.0; n * c];
    for &i in &kept {
        let p = softmax(&z[i * c..(i + 1) * c]);
        for j in 0..c {
            expect_g[i * c + j] =
                (p[j] - if j == y[i] as usize { 1.0 } else { 0.0 }) / kept.len() as f64;
        }
    }
    assert!(max_relative_error(&g, &expect_g) < 1e-13, "{g:?}");

    // The weighted mean divides by the weights of the kept samples.
    let v = weighted::value_and_grad(Rows::new(&z, n, c), &y, -100, &w, &mut g[..]).unwrap();
    let den: f64 = kept.iter().map(|&i| w[y[i] as usize]).sum();
    let num: f64 = kept
        .iter()
        .map(|&i| w[y[i] as usize] * (logsumexp(&z[i * c..(i + 1) * c]) - z[i * c + y[i] as usize]))
        .sum();
    assert!((v - num / den).abs() <= 1e-14 * v);

    // Per-sample losses: 0 where ignored.
    let mut losses = vec![f64::NAN; n];
    each::value(Rows::new(&z, n, c), &y, -100, &mut losses).unwrap();
    assert_eq!(losses[1], 0.0);
    assert_eq!(losses[4], 0.0);
    assert!(losses[0] > 0.0);

    // Every sample ignored: the mean is NaN (0/0), as PyTorch.
    let all = vec![-100_i64; n];
    assert!(ce::value(Rows::new(&z, n, c), &all, -100).unwrap().is_nan());
    // Another out-of-range label is still an error.
    let bad = vec![1_i64, -1, 0, 0, 0, 0];
    let e = ce::value(Rows::new(&z, n, c), &bad, -100).unwrap_err();
    assert_eq!(e.to_string(), "label `y` at row 1 is -1, outside 0..5");
}
