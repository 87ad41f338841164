//! With the `rayon` feature and a pool of one thread, a call from outside
//! the pool runs its blocks on the calling thread: handing them to the
//! pool's one worker gains nothing and costs two wake-ups a call
//! (docs/performance.md). A test binary of its own, since rayon's global
//! pool can be built once per process.
//!
//! `cargo test -p loss-core --features rayon --release --test threads_one`
#![cfg(feature = "rayon")]

mod common;

use std::thread;

use common::blocks::threads_of_blocks;
use loss_core::__private::{BLOCK_ROWS, PARALLEL_FROM};

#[test]
fn a_pool_of_one_leaves_the_blocks_on_the_calling_thread() {
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build_global()
        .expect("the global pool, built once in this binary");
    // Large enough to run in parallel in a pool of more threads.
    let (n, c) = (1000, PARALLEL_FROM / 1000 + 1);
    let threads = threads_of_blocks(n, c);
    assert_eq!(threads.len(), n.div_ceil(BLOCK_ROWS));
    let caller = thread::current().id();
    assert!(
        threads.iter().all(|&id| id == caller),
        "blocks ran on {threads:?}, not on the calling thread {caller:?}"
    );
}
