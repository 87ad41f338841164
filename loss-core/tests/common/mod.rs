//! Helpers shared by the integration tests: a seeded generator, independent
//! f64 reference formulas and central differences.
#![allow(dead_code)]

pub mod blocks;
pub mod declared;
pub mod rng;

pub use rng::Rng;

/// `len` numbers within `radius` of `centre`, on a grid of 1/64. Near 1e4
/// they are exact in f32, and so are their sums, differences, halves and
/// quarters: an f32 kernel and an f64 formula see the same numbers.
pub fn on_grid(rng: &mut Rng, len: usize, centre: f64, radius: f64) -> Vec<f64> {
    rng.vec(len, -radius, radius)
        .into_iter()
        .map(|x| centre + (x * 64.0).round() / 64.0)
        .collect()
}

/// `ln(sum(exp(z)))`, shifted by the maximum.
pub fn logsumexp(z: &[f64]) -> f64 {
    let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    m + z.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
}

pub fn softmax(z: &[f64]) -> Vec<f64> {
    let lse = logsumexp(z);
    z.iter().map(|x| (x - lse).exp()).collect()
}

pub fn log_softmax(z: &[f64]) -> Vec<f64> {
    let lse = logsumexp(z);
    z.iter().map(|x| x - lse).collect()
}

/// KL(p ‖ softmax(z)) with 0·ln 0 = 0.
pub fn kl_to_softmax(p: &[f64], z: &[f64]) -> f64 {
    let lq = log_softmax(z);
    p.iter()
        .zip(&lq)
        .map(|(&pj, &lqj)| if pj == 0.0 { 0.0 } else { pj * (pj.ln() - lqj) })
        .sum()
}

pub fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

pub fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        x.exp() / (1.0 + x.exp())
    }
}

/// Central difference of `f` at `x` along coordinate `k`, with step `h`
/// relative to the coordinate's size, Richardson-extrapolated once.
pub fn central_difference(f: &dyn Fn(&[f64]) -> f64, x: &[f64], k: usize) -> f64 {
    central_difference_and_spread(f, x, k).0
}

/// [`central_difference`], and how far apart the estimates of its two
/// steps (`h` and `h/2`) are: large at a kink or in a steep region, where
/// differences mean nothing.
pub fn central_difference_and_spread(f: &dyn Fn(&[f64]) -> f64, x: &[f64], k: usize) -> (f64, f64) {
    let h = 1e-4 * x[k].abs().max(1.0);
    let at = |d: f64| {
        let mut y = x.to_vec();
        y[k] += d;
        f(&y)
    };
    let d1 = (at(h) - at(-h)) / (2.0 * h);
    let d2 = (at(h / 2.0) - at(-h / 2.0)) / h;
    ((4.0 * d2 - d1) / 3.0, (d1 - d2).abs())
}

/// The largest `|a_i - b_i|` divided by the largest `|b_i|` (or 1 if all are tiny).
pub fn max_relative_error(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(0.0_f64, |m, x| m.max(x.abs())).max(1e-300);
    a.iter()
        .zip(b)
        .fold(0.0_f64, |m, (x, y)| m.max((x - y).abs()))
        / scale
}

/// Distance between two f64 in units in the last place.
pub fn ulps_f64(a: f64, b: f64) -> u64 {
    if a == b {
        return 0;
    }
    let key = |x: f64| {
        let bits = x.to_bits() as i64;
        if bits < 0 {
            i64::MIN - bits
        } else {
            bits
        }
    };
    key(a).abs_diff(key(b))
}

/// Distance between two f32 in units in the last place.
pub fn ulps_f32(a: f32, b: f32) -> u32 {
    if a == b {
        return 0;
    }
    let key = |x: f32| {
        let bits = x.to_bits() as i32;
        if bits < 0 {
            i32::MIN - bits
        } else {
            bits
        }
    };
    key(a).abs_diff(key(b))
}
