//! The seeded generator of the tests' data (and of the elementwise bench,
//! which includes this file with `#[path]`); self-contained.
#![allow(dead_code)]

/// SplitMix64: deterministic, dependency-free test data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [lo, hi).
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    pub fn vec(&mut self, len: usize, lo: f64, hi: f64) -> Vec<f64> {
        (0..len).map(|_| self.uniform(lo, hi)).collect()
    }
    pub fn labels(&mut self, n: usize, classes: usize) -> Vec<usize> {
        (0..n).map(|_| self.below(classes)).collect()
    }
    /// Rows of probabilities; each row sums to 1 and about a third are zeros.
    pub fn probabilities(&mut self, n: usize, c: usize) -> Vec<f64> {
        let mut out = Vec::with_capacity(n * c);
        for _ in 0..n {
            let mut row: Vec<f64> = (0..c)
                .map(|_| {
                    if self.below(3) == 0 {
                        0.0
                    } else {
                        self.uniform(0.01, 1.0)
                    }
                })
                .collect();
            if row.iter().all(|&x| x == 0.0) {
                row[self.below(c)] = 1.0;
            }
            let total: f64 = row.iter().sum();
            out.extend(row.iter().map(|x| x / total));
        }
        out
    }
}
