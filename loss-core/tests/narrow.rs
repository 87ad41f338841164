//! The two kernels of the generated code for short rows: the narrow one
//! (rows of at most 16 numbers, eight rows at a time, one per vector lane:
//! the default) and the row kernel (one row at a time, as for longer rows,
//! `simd::set_rows_in_lanes(false)`). For every ready loss of
//! `loss_core::losses`, every width from 1 to 16, batches that fill a group
//! of eight rows, leave it partly empty and span several blocks of 32 rows,
//! in f64 and f32, `value` and `value_and_grad`: the two give the same
//! outputs within rounding (they sum a row in a different order), the same
//! non-finite entries, and the narrow kernel writes every output entry and
//! gives the same bits twice.
//!
//! Its own test binary: the switch is global to the process.

mod common;
#[path = "common/stdlib.rs"]
mod stdlib;

use std::sync::{Mutex, MutexGuard};

use common::Rng;
use loss_core::simd;
use stdlib::{convert, is_sentinel, Call, Loss, Ordinary, Out, TableFloat, LOSSES};

/// Batch sizes: one row, a partial group, a full one, one past it, a block
/// and one, several blocks.
const BATCHES: [usize; 6] = [1, 5, 8, 9, 33, 70];

/// The tests take turns with the switch.
fn switch() -> MutexGuard<'static, ()> {
    static SWITCH: Mutex<()> = Mutex::new(());
    SWITCH.lock().unwrap_or_else(|e| e.into_inner())
}

/// Normwise relative distance between two outputs, after checking that
/// their non-finite entries agree.
fn distance<F: TableFloat>(what: &str, narrow: &[F], rows: &[F]) -> f64 {
    assert_eq!(narrow.len(), rows.len(), "{what}: lengths");
    let mut scale = 0.0_f64;
    let mut diff = 0.0_f64;
    for (k, (&a, &b)) in narrow.iter().zip(rows).enumerate() {
        let (a, b) = (a.to_f64(), b.to_f64());
        assert!(
            !is_sentinel(F::from_f64(a)),
            "{what}: entry {k} not written"
        );
        if !a.is_finite() || !b.is_finite() {
            assert!(
                a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
                "{what}: entry {k} is {a} narrow, {b} by rows"
            );
            continue;
        }
        scale = scale.max(a.abs()).max(b.abs());
        diff = diff.max((a - b).abs());
    }
    // Below a few hundred roundings of 1, a difference is the cancellation
    // of a loss like `1 - cos`, not a wrong lane or row.
    if diff <= 256.0 * F::EPSILON.to_f64() {
        0.0
    } else {
        diff / scale
    }
}

fn run<F: TableFloat>(
    loss: &Loss,
    call: &Call<F>,
    n: usize,
    c: usize,
    grad: bool,
) -> (Option<F>, Out<F>) {
    let mut out = loss.out::<F>(n, c);
    let v = loss
        .run(call, &mut out, grad)
        .unwrap_or_else(|e| panic!("{} {}x{c}: {e}", loss.name, n));
    (v, out)
}

fn compare<F: TableFloat>(loss: &Loss, call: &Call<f64>, n: usize, c: usize, tolerance: f64) {
    let call: Call<F> = convert(call);
    for grad in [false, true] {
        let what = |part: &str| {
            format!(
                "{} {} {n}x{c} {}: {part}",
                loss.name,
                F::NAME,
                if grad { "value_and_grad" } else { "value" }
            )
        };
        simd::set_rows_in_lanes(true);
        let (v_narrow, out_narrow) = run(loss, &call, n, c, grad);
        let (v_again, out_again) = run(loss, &call, n, c, grad);
        simd::set_rows_in_lanes(false);
        let (v_rows, out_rows) = run(loss, &call, n, c, grad);
        simd::set_rows_in_lanes(true);

        let bits = |v: Option<F>| v.map(TableFloat::bits);
        assert_eq!(bits(v_narrow), bits(v_again), "{}", what("repeat"));
        let all = |o: &Out<F>| -> Vec<u64> {
            o.losses
                .iter()
                .chain(o.grads.iter().flatten())
                .map(|&x| x.bits())
                .collect()
        };
        assert_eq!(all(&out_narrow), all(&out_again), "{}", what("repeat"));

        if let (Some(a), Some(b)) = (v_narrow, v_rows) {
            let d = distance(&what("value"), &[a], &[b]);
            assert!(d <= tolerance, "{}: {d:e}", what("value"));
        }
        let d = distance(&what("losses"), &out_narrow.losses, &out_rows.losses);
        assert!(d <= tolerance, "{}: {d:e}", what("losses"));
        if grad {
            for (k, (a, b)) in out_narrow.grads.iter().zip(&out_rows.grads).enumerate() {
                let d = distance(&what(&format!("gradient {k}")), a, b);
                assert!(d <= tolerance, "{}: {d:e}", what(&format!("gradient {k}")));
            }
        }
    }
}

#[test]
fn narrow_and_row_kernels_agree_on_every_loss() {
    let _turn = switch();
    let mut rng = Rng::new(16);
    for loss in LOSSES {
        for c in 1..=16 {
            for n in BATCHES {
                let call = loss.call(n, c, &mut Ordinary(|| rng.uniform(0.0, 1.0)));
                // Each sums a row of at most 16 terms in its own order: a few
                // roundings apart, normwise.
                compare::<f64>(loss, &call, n, c, 1e-12);
                compare::<f32>(loss, &call, n, c, 1e-4);
            }
        }
    }
}

#[test]
fn rows_wider_than_the_narrow_kernel_run_by_rows_either_way() {
    // At width 17 the switch changes nothing: the same bits.
    let _turn = switch();
    let mut rng = Rng::new(17);
    for loss in LOSSES {
        let (n, c) = (9, 17);
        let call = loss.call(n, c, &mut Ordinary(|| rng.uniform(0.0, 1.0)));
        let call: Call<f32> = convert(&call);
        simd::set_rows_in_lanes(true);
        let (a, out_a) = run(loss, &call, n, c, true);
        simd::set_rows_in_lanes(false);
        let (b, out_b) = run(loss, &call, n, c, true);
        simd::set_rows_in_lanes(true);
        assert_eq!(
            a.map(TableFloat::bits),
            b.map(TableFloat::bits),
            "{}",
            loss.name
        );
        for (x, y) in out_a.grads.iter().zip(&out_b.grads) {
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(x), bits(y), "{}", loss.name);
        }
    }
}
