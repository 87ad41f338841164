//! Which threads run the blocks of a batch (`loss_core::__private::blocks`),
//! for the tests of the `rayon` feature.

use std::sync::Mutex;
use std::thread::{self, ThreadId};

use loss_core::__private::{blocks, Total};

/// The thread that ran each block of a batch of `n` rows of `c` numbers,
/// in the order they ran; checks that every block ran once, over its rows.
pub fn threads_of_blocks(n: usize, c: usize) -> Vec<ThreadId> {
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
    assert_eq!(total.total(), n as f32);
    assert!(buffer.iter().all(|&x| x == 1.0));
    threads.into_inner().unwrap()
}
