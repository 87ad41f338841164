//! With the `rayon` feature, a batch of fewer than `PARALLEL_FROM` numbers
//! runs on the calling thread even where rayon's pool has several threads:
//! handing it to the workers would cost more than its work (on a VM, some
//! tens of µs a call against a few µs; docs/performance.md). A larger batch
//! does go to the workers. A test binary of its own, since rayon's global
//! pool can be built once per process.
//!
//! `cargo test -p loss-core --features rayon --release --test threads_small`
#![cfg(feature = "rayon")]

mod common;

use std::collections::HashSet;
use std::thread;

use common::blocks::threads_of_blocks;
use loss_core::__private::PARALLEL_FROM;

#[test]
fn small_batches_stay_on_the_calling_thread() {
    rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build_global()
        .expect("the global pool, built once in this binary");
    let caller = thread::current().id();
    // A batch of 64 rows of 10, two blocks, and the largest one of rows of
    // 100 below the threshold.
    for (n, c) in [(64, 10), ((PARALLEL_FROM - 1) / 100, 100)] {
        let threads: HashSet<_> = threads_of_blocks(n, c).into_iter().collect();
        assert!(
            threads == HashSet::from([caller]),
            "a batch of {n}x{c} ran on {threads:?}, not on the calling thread"
        );
    }
    // From outside the pool, a large batch runs on its workers only.
    let threads = threads_of_blocks(PARALLEL_FROM / 100 + 1, 100);
    assert!(
        !threads.contains(&caller),
        "a large batch ran on the calling thread"
    );
}
