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

/// The bits of two composites' values and gradients, computed in a pool of
/// `threads`.
fn run(threads: usize, shape: (usize, usize)) -> Vec<u64> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a pool");
    pool.install(|| run_here(shape))
}

/// The same, called from this thread: from outside any pool, as most
/// callers do, with rayon's global pool.
fn run_here((n, c): (usize, usize)) -> Vec<u64> {
    let mut rng = Rng::new(5);
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
}

#[test]
fn any_thread_count_gives_the_same_bits() {
    // Rows of 37 run in the row kernel, rows of 10 in the narrow one; both
    // batches are large enough to run in parallel (`PARALLEL_FROM`), the
    // third is not.
    for shape in [(1000, 37), (2000, 10), (100, 10)] {
        let one = run(1, shape);
        for threads in [2, 3, 8] {
            assert!(
                run(threads, shape) == one,
                "{threads} threads differ from 1 at {shape:?}"
            );
        }
        assert!(
            run_here(shape) == one,
            "the global pool ({} threads) differs from 1 at {shape:?}",
            rayon::current_num_threads()
        );
    }
}
