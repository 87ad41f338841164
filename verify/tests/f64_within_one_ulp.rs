//! Exhaustive-style: the f64 `exp` and `ln` of libm and of std lie within one
//! ULP of the exact enclosure on a large sample, including the extremes. This
//! checks the checker too: an enclosure that excluded the true value would
//! put these faithfully rounded results more than 1 ULP away.

use verify::{distance_in_ulps, width_in_ulps, Interval};

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

const SAMPLES: usize = 20_000;
/// Enough bits that the enclosure's width is far below one f64 ULP.
const PRECISION: u32 = 80;

fn check(name: &str, x: f64, exact: &Interval, results: [f64; 2]) -> f64 {
    assert!(
        width_in_ulps::<f64>(exact).unwrap() < 1e-3,
        "{name}({x:e}): enclosure too wide: {exact}"
    );
    let mut worst: f64 = 0.0;
    for got in results {
        let d = distance_in_ulps(got, exact).unwrap();
        assert!(d <= 1.0, "{name}({x:e}) = {got:e} is {d} ULP from {exact}");
        worst = worst.max(d);
    }
    worst
}

#[test]
fn exp_of_libm_and_std_is_within_one_ulp() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut worst: f64 = 0.0;
    let edges = [
        -745.0, -744.9, -708.4, -1e-300, 0.0, 1e-300, 1e-10, 709.0, 709.78,
    ];
    let sample = (0..SAMPLES).map(|i| match i % 4 {
        0 => rng.uniform(-745.0, 709.78),
        1 => rng.uniform(-1.0, 1.0),
        2 => rng.uniform(-1e-8, 1e-8),
        _ => rng.uniform(-40.0, 40.0),
    });
    for x in edges.into_iter().chain(sample) {
        let exact = Interval::from_f64_with_precision(x, PRECISION).exp();
        worst = worst.max(check("exp", x, &exact, [libm::exp(x), x.exp()]));
    }
    // Faithful, and most often correctly rounded: the worst case is above 0.5.
    assert!(worst > 0.5, "worst {worst}: suspiciously exact");
}

#[test]
fn ln_of_libm_and_std_is_within_one_ulp() {
    let mut rng = Rng(0x0123_4567_89ab_cdef);
    let mut worst: f64 = 0.0;
    let edges = [
        5e-324,
        1e-310,
        2.2250738585072014e-308,
        1e-300,
        0.5,
        1.0,
        1.0000000000000002,
        2.0,
        1e300,
        f64::MAX,
    ];
    let sample = (0..SAMPLES).map(|i| match i % 3 {
        // Random bit patterns of positive finite doubles: every binade.
        0 => loop {
            let x = f64::from_bits(rng.next() >> 1);
            if x.is_finite() && x > 0.0 {
                break x;
            }
        },
        1 => rng.uniform(0.5, 2.0),
        _ => 1.0 + rng.uniform(-1e-6, 1e-6),
    });
    for x in edges.into_iter().chain(sample) {
        let exact = Interval::from_f64_with_precision(x, PRECISION).ln();
        if x == 1.0 {
            assert_eq!(distance_in_ulps(libm::log(x), &exact).unwrap(), 0.0);
            continue;
        }
        worst = worst.max(check("ln", x, &exact, [libm::log(x), x.ln()]));
    }
    assert!(worst > 0.5, "worst {worst}: suspiciously exact");
}
