//! The generated kernels give bit-identical results whichever vector
//! instructions `simd::run` picks: the kernels use no fused multiply-add, so
//! a wider vector changes the speed, never the bits. (On a CPU without AVX2
//! every level is the baseline and the test compares the baseline with
//! itself.)

mod common;

use common::declared::{distill, vae};
use common::Rng;
use loss_core::simd::{self, Level};
use loss_core::Rows;

#[test]
fn every_level_gives_the_same_bits() {
    let mut rng = Rng::new(21);
    let (n, c) = (7, 1003); // not a multiple of the lane count: the tail runs too
    let s: Vec<f32> = rng
        .vec(n * c, -30.0, 30.0)
        .into_iter()
        .map(|x| x as f32)
        .collect();
    let t: Vec<f32> = rng
        .vec(n * c, -30.0, 30.0)
        .into_iter()
        .map(|x| x as f32)
        .collect();
    let y = rng.labels(n, c);
    let run = |level: Option<Level>| {
        simd::set_max_level(level);
        let mut g = vec![0.0_f32; n * c];
        let v = distill::value_and_grad(
            Rows::new(&s, n, c),
            Rows::new(&t, n, c),
            &y,
            0.3,
            0.7,
            4.0,
            &mut g[..],
        )
        .unwrap();
        let (d, k) = (c, 5);
        let mu: Vec<f64> = rng_vec(n * k);
        let (mut gx, mut gm, mut gl) = (vec![0.0; n * d], vec![0.0; n * k], vec![0.0; n * k]);
        let xs: Vec<f64> = s.iter().map(|&x| f64::from(x) / 10.0).collect();
        let ts: Vec<f64> = t.iter().map(|&x| (f64::from(x) + 30.0) / 60.0).collect();
        let w = vae::value_and_grad(
            Rows::new(&xs, n, d),
            Rows::new(&ts, n, d),
            Rows::new(&mu, n, k),
            Rows::new(&mu, n, k),
            &mut gx,
            &mut gm,
            &mut gl,
        )
        .unwrap();
        simd::set_max_level(None);
        (
            v.to_bits(),
            g.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            w.to_bits(),
            gx.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
        )
    };
    let baseline = run(Some(Level::Baseline));
    for level in [Level::Avx2, Level::Avx512] {
        assert!(
            run(Some(level)) == baseline,
            "results differ at {level:?} (detected {:?})",
            simd::detected()
        );
    }
}

fn rng_vec(len: usize) -> Vec<f64> {
    (0..len)
        .map(|i| ((i * 37) % 11) as f64 / 5.0 - 1.0)
        .collect()
}
