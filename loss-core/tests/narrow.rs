//! The two kernels of the generated code for short rows: the narrow one
//! (rows of at most `NARROW` = 40 numbers, eight rows at a time, one per
//! vector lane: the default) and the row kernel (one row at a time, as for
//! longer rows, `simd::set_rows_in_lanes(false)`). For every ready loss of
//! `loss_core::losses`, every width from 1 to 40, batches that fill a group
//! of eight rows, leave it partly empty and span several blocks of 32 rows,
//! in f64 and f32, `value` and `value_and_grad`: the two give the same bits
//! (the narrow kernel sums in the row kernel's order; a NaN may carry
//! another payload), and the narrow kernel writes every output entry and
//! gives the same bits twice. Where the CPU has AVX-512, f32 rows of 9 to
//! 16 numbers in blocks of at least sixteen rows take the narrow kernel's
//! row-vector layout (`loss_core::__private::RowVectors`): each run is also
//! compared with the level capped at AVX2, where they stay transposed. The
//! same again on rows with logits far below
//! their maximum and subnormal probabilities, where the row kernel's chunks
//! take the general `exp` and `ln` (the narrow kernel always does).
//!
//! A declared loss with a gradient for shared weights, which no ready loss
//! has, is compared in the three kernels too.
//!
//! Its own test binary: the switch is global to the process.

mod common;
#[path = "common/stdlib.rs"]
mod stdlib;

use common::Rng;
use loss_core::simd::{self, Level};
use loss_core::Rows;
use stdlib::{convert, is_sentinel, Call, Domain, Loss, Ordinary, Out, Source, TableFloat, LOSSES};

/// Batch sizes: one row, a partial group, a full one, one past it, a group
/// of row vectors, a block and one, several blocks.
const BATCHES: [usize; 7] = [1, 5, 8, 9, 16, 33, 70];

/// Checks that two outputs hold the same bits (any NaN for a NaN: a NaN's
/// payload depends on which operand was NaN first) and that the narrow
/// kernel wrote every entry.
fn same<F: TableFloat>(what: &str, narrow: &[F], rows: &[F]) {
    assert_eq!(narrow.len(), rows.len(), "{what}: lengths");
    for (k, (&a, &b)) in narrow.iter().zip(rows).enumerate() {
        assert!(!is_sentinel(a), "{what}: entry {k} not written");
        let (a, b) = (a.to_f64(), b.to_f64());
        assert!(
            a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
            "{what}: entry {k} is {a:e} narrow, {b:e} by rows"
        );
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

fn compare<F: TableFloat>(loss: &Loss, call: &Call<f64>, n: usize, c: usize) {
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
        // At AVX-512, f32 rows of 9 to 16 in blocks of sixteen rows or more
        // take row vectors; capped at AVX2 they stay transposed.
        simd::set_max_level(Some(Level::Avx2));
        let (v_columns, out_columns) = run(loss, &call, n, c, grad);
        simd::set_max_level(None);

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

        for (v_other, out_other, which) in [
            (v_rows, &out_rows, "by rows"),
            (v_columns, &out_columns, "transposed at AVX2"),
        ] {
            let what = |part: &str| what(&format!("{part}, against {which}"));
            if let (Some(a), Some(b)) = (v_narrow, v_other) {
                same(&what("value"), &[a], &[b]);
            }
            same(&what("losses"), &out_narrow.losses, &out_other.losses);
            if grad {
                for (k, (a, b)) in out_narrow.grads.iter().zip(&out_other.grads).enumerate() {
                    same(&what(&format!("gradient {k}")), a, b);
                }
            }
        }
    }
}

#[test]
fn narrow_and_row_kernels_agree_on_every_loss() {
    let mut rng = Rng::new(16);
    for loss in LOSSES {
        for c in 1..=loss_core::__private::NARROW {
            for n in BATCHES {
                let call = loss.call(n, c, &mut Ordinary(|| rng.uniform(0.0, 1.0)));
                compare::<f64>(loss, &call, n, c);
                compare::<f32>(loss, &call, n, c);
            }
        }
    }
}

/// Ordinary inputs, but about one logit in six far below the rest (-90 to
/// -290: `exp(z - max)` below the short exp's range) and about one
/// probability in ten subnormal in f32 (below the short `ln`'s range). A
/// chunk of the row kernel that holds one takes the general `exp` or `ln`
/// for all its lanes, the others the short ones; the narrow kernel takes
/// the general ones throughout.
struct Far(Rng);

impl Source for Far {
    fn row(&mut self, domain: Domain, len: usize) -> Vec<f64> {
        let rng = &mut self.0;
        let mut row = Ordinary(|| rng.uniform(0.0, 1.0)).row(domain, len);
        for x in &mut row {
            let u = self.0.uniform(0.0, 1.0);
            match domain {
                Domain::Any if u < 1.0 / 6.0 => *x = -90.0 - 1200.0 * u,
                Domain::Prob if u < 0.1 => *x = 1e-40,
                _ => {}
            }
        }
        row
    }
    fn label(&mut self, classes: usize, ignore: Option<i64>) -> i64 {
        let rng = &mut self.0;
        Ordinary(|| rng.uniform(0.0, 1.0)).label(classes, ignore)
    }
    fn ignore_index(&mut self, classes: usize) -> i64 {
        let rng = &mut self.0;
        Ordinary(|| rng.uniform(0.0, 1.0)).ignore_index(classes)
    }
}

#[test]
fn the_short_and_general_exp_and_ln_agree_in_generated_code() {
    let mut far = Far(Rng::new(17));
    for loss in LOSSES {
        for c in [8, 9, 16, 17, 24, 31, 32, 33, 39, 40] {
            for n in [9, 33] {
                let call = loss.call(n, c, &mut far);
                compare::<f64>(loss, &call, n, c);
                compare::<f32>(loss, &call, n, c);
            }
        }
    }
}

loss_core::loss! {
    /// Shared weights with a gradient (no ready loss has one): every row
    /// adds to it, in row order, in every kernel.
    pub fn shared_weights(#[grad] z: Vector<C>, y: Class<C>, #[grad] w: Weights<C>) {
        w[y] * cross_entropy(z, y) + sum(softmax(z) * w)
    }
}

/// The gradient of shared weights, which the kernels add to row by row,
/// is the same in the row-vector layout, the transposed one (capped at
/// AVX2) and the row kernel, in f32 at widths and batches that take the
/// row vectors where the CPU has AVX-512.
#[test]
fn the_gradient_of_shared_weights_is_the_same_in_every_kernel() {
    let mut rng = Rng::new(17);
    for (n, c) in [(16, 9), (20, 10), (33, 12), (70, 16)] {
        let z: Vec<f32> = rng
            .vec(n * c, -4.0, 4.0)
            .into_iter()
            .map(|x| x as f32)
            .collect();
        let y: Vec<u32> = rng.labels(n, c).into_iter().map(|l| l as u32).collect();
        let w: Vec<f32> = rng.vec(c, 0.1, 2.0).into_iter().map(|x| x as f32).collect();
        let run = || {
            let (mut dz, mut dw) = (vec![f32::NAN; n * c], vec![f32::NAN; c]);
            let v =
                shared_weights::value_and_grad(Rows::new(&z, n, c), &y, &w, &mut dz[..], &mut dw)
                    .unwrap();
            let bits = |xs: &[f32]| xs.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            (v.to_bits(), bits(&dz), bits(&dw))
        };
        let row_vectors = run();
        simd::set_max_level(Some(Level::Avx2));
        let columns = run();
        simd::set_max_level(None);
        simd::set_rows_in_lanes(false);
        let rows = run();
        simd::set_rows_in_lanes(true);
        assert_eq!(
            row_vectors, columns,
            "{n}x{c}: against the transposed layout"
        );
        assert_eq!(row_vectors, rows, "{n}x{c}: against the row kernel");
        assert!(
            row_vectors.2.iter().all(|&b| !f32::from_bits(b).is_nan()),
            "{n}x{c}: dw written"
        );
    }
}

loss_core::loss! {
    /// A distillation: the shifts of `z / temp` and `t / temp`, which the
    /// row kernel takes from the extremes of `z` and `t`
    /// (`__private::scaled_extremes`) and the narrow kernel from the
    /// products. Without the usual `temp²` factor, so that an infinite
    /// `temp` (every product 0) gives finite results to compare.
    pub fn distillation(
        #[grad] z: Vector<C>,
        t: Vector<C>,
        y: Class<C>,
        temp: Scalar,
    ) {
        0.25 * cross_entropy(z, y) + kl_div(softmax(t / temp), softmax(z / temp))
    }
}

/// A shift of `z / T` taken from the extremes of `z` (the row kernel) is
/// the same as one taken from the products (the narrow kernel): the same
/// bits for temperatures that scale by a positive or a negative number, by
/// 0, infinity or NaN, and by numbers that take the products to overflow
/// or below the normal range (in f32: `T = 1e-38` and `1e38`; in f64: `T =
/// 2.5e-308` and `1e307`).
#[test]
fn a_scaled_rows_shift_is_the_same_in_every_kernel() {
    let mut rng = Rng::new(23);
    let temps = [
        4.0,
        0.5,
        -3.0,
        0.0,
        -0.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        1e-38,
        1e38,
        2.5e-308,
        1e307,
    ];
    for (n, c) in [(20, 10), (9, 33), (33, 40)] {
        let z = rng.vec(n * c, -6.0, 6.0);
        let t = rng.vec(n * c, -6.0, 6.0);
        let y: Vec<u32> = rng.labels(n, c).into_iter().map(|l| l as u32).collect();
        for temp in temps {
            let runs: [(&str, Outputs); 2] = [
                ("f32", distillation_outputs::<f32>),
                ("f64", distillation_outputs::<f64>),
            ];
            let inputs = Inputs {
                z: &z,
                t: &t,
                y: &y,
                temp,
                n,
                c,
            };
            for (name, run) in runs {
                simd::set_rows_in_lanes(true);
                let narrow = run(&inputs);
                simd::set_rows_in_lanes(false);
                let rows = run(&inputs);
                simd::set_rows_in_lanes(true);
                // Finite results to compare, where the products are finite.
                if [4.0, 0.5, -3.0, f64::INFINITY, f64::NEG_INFINITY].contains(&temp) {
                    assert!(
                        narrow.iter().all(|x| x.is_finite()),
                        "{name} {n}x{c}, T = {temp:e}: {narrow:?}"
                    );
                }
                for (k, (a, b)) in narrow.iter().zip(&rows).enumerate() {
                    assert!(
                        a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
                        "{name} {n}x{c}, T = {temp:e}, entry {k} (0 is the value): \
                         {a:e} narrow, {b:e} by rows"
                    );
                }
            }
        }
    }
}

/// The inputs of `distillation`, in f64.
struct Inputs<'a> {
    z: &'a [f64],
    t: &'a [f64],
    y: &'a [u32],
    temp: f64,
    n: usize,
    c: usize,
}

/// A computation of `distillation`'s outputs in one type.
type Outputs = fn(&Inputs) -> Vec<f64>;

/// `distillation`'s value and then its gradient, as f64, computed in `F`.
fn distillation_outputs<F: TableFloat>(inputs: &Inputs) -> Vec<f64> {
    let &Inputs { n, c, .. } = inputs;
    let to_f = |xs: &[f64]| xs.iter().map(|&x| F::from_f64(x)).collect::<Vec<F>>();
    let (z, t) = (to_f(inputs.z), to_f(inputs.t));
    let mut dz = vec![F::NAN; n * c];
    let v = distillation::value_and_grad(
        Rows::new(&z, n, c),
        Rows::new(&t, n, c),
        inputs.y,
        F::from_f64(inputs.temp),
        &mut dz[..],
    )
    .unwrap();
    core::iter::once(v).chain(dz).map(|x| x.to_f64()).collect()
}
