//! With the `rayon` feature, a batch of fewer than `PARALLEL_FROM` numbers
//! runs on the calling thread even where rayon's pool has several threads:
//! handing it to the workers would cost more than its work (on a VM, some
//! tens of µs a call against a few µs; docs/performance.md). A larger batch
//! does go to the workers. A test binary of its own, since rayon's global
//! pool can be built once per process.
//!
//! `cargo test -p loss-core --features rayon --release --test threads_small`
#![cfg(feature = "rayon")]

use std::collections::HashSet;
use std::sync::Mutex;
use std::thread::{self, ThreadId};

use loss_core::__private::{blocks, Total, PARALLEL_FROM};

/// The threads that ran the blocks of a batch of `n` rows of `c` numbers.
fn threads_of_blocks(n: usize, c: usize) -> HashSet<ThreadId> {
    let mut buffer = vec![0.0_f32; n * c];
    let threads = Mutex::new(HashSet::new());
    let [total] = blocks(
        n,
        n * c,
        [c],
        [&mut buffer[..]],
        |start, end, [part]: [&mut [f32]; 1]| {
            threads.lock().unwrap().insert(thread::current().id());
            part.fill(1.0);
            let mut rows = Total::new();
            rows.add((end - start) as f32);
            [rows]
        },
    );
    assert_eq!(total.total(), n as f32);
    assert!(buffer.iter().all(|&x| x == 1.0));
    threads.into_inner().unwrap()
}

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
        let threads = threads_of_blocks(n, c);
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
