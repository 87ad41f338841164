//! With the `rayon` feature and a pool of one thread, a call from outside
//! the pool runs its blocks on the calling thread: handing them to the
//! pool's one worker gains nothing and costs two wake-ups a call
//! (docs/performance.md). A test binary of its own, since rayon's global
//! pool can be built once per process.
//!
//! `cargo test -p loss-core --features rayon --release --test threads_one`
#![cfg(feature = "rayon")]

use std::sync::Mutex;
use std::thread;

use loss_core::__private::{blocks, Total, BLOCK_ROWS, PARALLEL_FROM};

#[test]
fn a_pool_of_one_leaves_the_blocks_on_the_calling_thread() {
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build_global()
        .expect("the global pool, built once in this binary");
    // Large enough to run in parallel in a pool of more threads.
    let (n, c) = (1000, PARALLEL_FROM / 1000 + 1);
    let mut buffer = vec![0.0_f32; n * c];
    let threads = Mutex::new(Vec::new());
    let [total] = blocks(
        n,
        n * c,
        [c],
        [&mut buffer[..]],
        |start, end, [part]: [&mut [f32]; 1]| {
            threads.lock().unwrap().push(thread::current().id());
            part.fill(1.0);
            let mut rows = Total::new();
            rows.add((end - start) as f32);
            [rows]
        },
    );
    // Every block ran once, over its own rows.
    assert_eq!(total.total(), n as f32);
    assert!(buffer.iter().all(|&x| x == 1.0));
    let threads = threads.into_inner().unwrap();
    assert_eq!(threads.len(), n.div_ceil(BLOCK_ROWS));
    let caller = thread::current().id();
    assert!(
        threads.iter().all(|&id| id == caller),
        "blocks ran on {threads:?}, not on the calling thread {caller:?}"
    );
}
