//! The generated kernels give bit-identical results at AVX2 and AVX-512 (both
//! run the fused flavour; a wider vector changes the speed, never the bits),
//! and results within a few rounding errors of those at the baseline (the
//! plain flavour, no fused multiply-add). (On a CPU without AVX2 every level
//! is the baseline and the test compares the baseline with itself.)

mod common;

use common::declared::{distill, vae};
use common::Rng;
use loss_core::simd::{self, Level};
use loss_core::Rows;

#[test]
fn fma_levels_agree_bit_for_bit_and_the_baseline_within_rounding() {
    // Rows of 1003 (not a multiple of the lane count: the tail runs too) in
    // the row kernel; 13 rows of 10 in the narrow one at AVX2 and AVX-512
    // (a full group of eight rows and a partial one), in the row kernel at
    // the baseline (on x86-64 the plain flavour has no narrow kernel).
    //
    // Then rows where teacher and student agree confidently, leading at the
    // same class by 45 to 90 (11 to 22 over T): the gradient's largest
    // component is then about 1e-7 of its rows' probabilities, and only the
    // form that avoids `q_s - q_t` near 1 (found where both exponentials are
    // exactly 1) keeps the baseline within 16 ε of it.
    for (n, c) in [(7, 1003), (13, 10)] {
        levels_agree(n, c, false);
        levels_agree(n, c, true);
    }
}

fn levels_agree(n: usize, c: usize, agreeing: bool) {
    let mut rng = Rng::new(21);
    let logits = |rng: &mut Rng| -> Vec<f32> {
        let mut x = rng.vec(n * c, -30.0, 30.0);
        if agreeing {
            for (i, row) in x.chunks_mut(c).enumerate() {
                row.iter_mut().for_each(|v| *v -= 60.0 + 0.25 * (*v + 30.0));
                row[(i * 7) % c] = 0.0;
            }
        }
        x.into_iter().map(|x| x as f32).collect()
    };
    let s = logits(&mut rng);
    let t = logits(&mut rng);
    // Agreeing rows' labels on their leaders, whose cross-entropy gradient
    // (e^-45) then leaves the divergence's the largest.
    let y = match agreeing {
        true => (0..n).map(|i| (i * 7) % c).collect(),
        false => rng.labels(n, c),
    };
    let run = |level: Option<Level>| {
        simd::set_max_level(level);
        let (v, g) = distillation(&s, &t, &y, c);
        let (d, k) = (c, 5.min(c));
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
    let avx2 = run(Some(Level::Avx2));
    assert!(
        run(Some(Level::Avx512)) == avx2,
        "results differ between AVX2 and AVX-512 (detected {:?})",
        simd::detected()
    );
    // The flavours differ by a few roundings: relative to the value, and to
    // the largest gradient component.
    let close = |a: &[u64], b: &[u64], to_f64: fn(u64) -> f64, tol: f64| {
        let (a, b): (Vec<f64>, Vec<f64>) = (
            a.iter().map(|&x| to_f64(x)).collect(),
            b.iter().map(|&x| to_f64(x)).collect(),
        );
        let scale = a.iter().fold(0.0_f64, |m, x| m.max(x.abs()));
        a.iter().zip(&b).all(|(x, y)| (x - y).abs() <= tol * scale)
    };
    let f32_of = |x: u64| f64::from(f32::from_bits(x as u32));
    let f64_of = f64::from_bits;
    let g = |v: &[u32]| v.iter().map(|&x| u64::from(x)).collect::<Vec<_>>();
    assert!(close(
        &[baseline.0.into()],
        &[avx2.0.into()],
        f32_of,
        16.0 * f64::from(f32::EPSILON)
    ));
    assert!(close(
        &g(&baseline.1),
        &g(&avx2.1),
        f32_of,
        16.0 * f64::from(f32::EPSILON)
    ));
    assert!(close(&[baseline.2], &[avx2.2], f64_of, 16.0 * f64::EPSILON));
    assert!(close(&baseline.3, &avx2.3, f64_of, 16.0 * f64::EPSILON));
    if agreeing {
        // Each level's gradient against the same kernel in f64, whose own
        // rounding (1e-16 absolute) is far below the bound.
        let (s64, t64): (Vec<f64>, Vec<f64>) = (
            s.iter().map(|&x| f64::from(x)).collect(),
            t.iter().map(|&x| f64::from(x)).collect(),
        );
        let (_, exact) = distillation(&s64, &t64, &y, c);
        let exact: Vec<u64> = exact.iter().map(|x| x.to_bits()).collect();
        for (level, got) in [("baseline", &baseline.1), ("AVX2", &avx2.1)] {
            let got: Vec<u64> = g(got).iter().map(|&x| f32_of(x).to_bits()).collect();
            assert!(
                close(&exact, &got, f64_of, 16.0 * f64::from(f32::EPSILON)),
                "{level}: the gradient of agreeing rows, C = {c}"
            );
        }
    }
}

/// Distillation's value and gradient (α = 0.3, β = 0.7, T = 4) over rows
/// of `c` logits.
fn distillation<F: loss_core::Float>(s: &[F], t: &[F], y: &[usize], c: usize) -> (F, Vec<F>) {
    let n = y.len();
    let mut g = vec![F::ZERO; n * c];
    let v = distill::value_and_grad(
        Rows::new(s, n, c),
        Rows::new(t, n, c),
        y,
        F::from_f64(0.3),
        F::from_f64(0.7),
        F::from_f64(4.0),
        &mut g[..],
    )
    .unwrap();
    (v, g)
}

fn rng_vec(len: usize) -> Vec<f64> {
    (0..len)
        .map(|i| ((i * 37) % 11) as f64 / 5.0 - 1.0)
        .collect()
}
