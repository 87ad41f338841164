//! With the `rayon` feature, rows are split across threads in fixed blocks
//! whose partial sums combine in a fixed tree: the results are bit-identical
//! for any number of threads, and equal to the single-threaded build's.
//!
//! `cargo test -p loss-core --features rayon --release --test threads`
#![cfg(feature = "rayon")]

mod common;

use common::declared::{distill_temp, weighted_ce_kl};
use common::Rng;
use loss_core::Rows;

fn run(threads: usize) -> Vec<u64> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a pool");
    pool.install(|| {
        let mut rng = Rng::new(5);
        let (n, c) = (1000, 37);
        let s = rng.vec(n * c, -8.0, 8.0);
        let t = rng.vec(n * c, -8.0, 8.0);
        let y = rng.labels(n, c);
        let mut g = vec![0.0; n * c];
        let mut dt = 0.0;
        let v = distill_temp::value_and_grad(
            Rows::new(&s, n, c),
            Rows::new(&t, n, c),
            &y,
            0.3,
            0.7,
            3.0,
            &mut g[..],
            &mut dt,
        )
        .unwrap();
        let q = rng.probabilities(n, c);
        let w = rng.vec(c, 0.5, 2.0);
        let mut g2 = vec![0.0; n * c];
        let v2 = weighted_ce_kl::value_and_grad(
            Rows::new(&s, n, c),
            &y,
            &w,
            Rows::new(&q, n, c),
            0.5,
            &mut g2[..],
        )
        .unwrap();
        let mut bits = vec![v.to_bits(), dt.to_bits(), v2.to_bits()];
        bits.extend(g.iter().chain(&g2).map(|x| x.to_bits()));
        bits
    })
}

#[test]
fn any_thread_count_gives_the_same_bits() {
    let one = run(1);
    for threads in [2, 3, 8] {
        assert!(run(threads) == one, "{threads} threads differ from 1");
    }
}
