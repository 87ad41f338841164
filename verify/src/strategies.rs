//! proptest strategies for the inputs of losses, with the adversarial cases
//! a fast path gets wrong: huge logits (overflow of a naive `exp`), near-ties
//! (cancellation in `p_y - 1`), exact zeros and near one-hot probabilities
//! (`0 · ln 0`, `ln` of tiny numbers), and extreme shapes.
//!
//! Values are `f64`; map to `f32` with
//! `.prop_map(|v| v.into_iter().map(|x| x as f32).collect::<Vec<_>>())`.
//!
//! ```
//! use proptest::prelude::*;
//! use verify::strategies::{logits_and_label, probabilities};
//! proptest!(|((z, y) in logits_and_label(1..6usize), p in probabilities(4))| {
//!     prop_assert!(y < z.len());
//!     prop_assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
//! });
//! ```

use proptest::collection::{vec, SizeRange};
use proptest::prelude::*;

/// Logits of everyday size: each in `[-10, 10]`.
///
/// ```
/// use proptest::prelude::*;
/// use verify::strategies::ordinary_logits;
/// proptest!(|(z in ordinary_logits(3))| prop_assert!(z.iter().all(|v| v.abs() <= 10.0)));
/// ```
pub fn ordinary_logits(len: impl Into<SizeRange>) -> impl Strategy<Value = Vec<f64>> {
    vec(-10.0..=10.0, len)
}

/// Logits where `exp` overflows or underflows: magnitudes up to `1e4`
/// (including `±1e4` exactly and the edges of `f64::exp`), mixed with small
/// ones.
///
/// ```
/// use proptest::prelude::*;
/// use verify::strategies::huge_logits;
/// proptest!(|(z in huge_logits(5))| prop_assert!(z.iter().all(|v| v.abs() <= 1e4)));
/// ```
pub fn huge_logits(len: impl Into<SizeRange>) -> impl Strategy<Value = Vec<f64>> {
    let entry = prop_oneof![
        3 => -1e4..=1e4,
        1 => Just(1e4),
        1 => Just(-1e4),
        1 => prop_oneof![Just(709.0), Just(-745.0), Just(88.0), Just(-104.0)],
        2 => -5.0..=5.0,
    ];
    vec(entry, len)
}

/// Logits that (nearly) tie: a common base in `[-30, 30]` plus a few units
/// of its last place each, so that softmax probabilities are almost equal
/// and `p - 1` cancels for the top ones.
///
/// ```
/// use proptest::prelude::*;
/// use verify::strategies::near_tie_logits;
/// proptest!(|(z in near_tie_logits(4))| {
///     let spread = z.iter().cloned().fold(f64::MIN, f64::max) - z.iter().cloned().fold(f64::MAX, f64::min);
///     prop_assert!(spread <= 1e-13);
/// });
/// ```
pub fn near_tie_logits(len: impl Into<SizeRange>) -> impl Strategy<Value = Vec<f64>> {
    let len = len.into();
    (-30.0..=30.0f64).prop_flat_map(move |base| {
        let unit = f64::EPSILON * base.abs().max(1.0);
        vec(
            (-4i32..=4).prop_map(move |k| base + f64::from(k) * unit),
            len.clone(),
        )
    })
}

/// Any of the above: ordinary, huge, near-tie logits.
///
/// ```
/// use proptest::prelude::*;
/// use verify::strategies::logits;
/// proptest!(|(z in logits(1..8usize))| prop_assert!(!z.is_empty() && z.iter().all(|v| v.is_finite())));
/// ```
pub fn logits(len: impl Into<SizeRange>) -> impl Strategy<Value = Vec<f64>> {
    let len = len.into();
    prop_oneof![
        ordinary_logits(len.clone()),
        huge_logits(len.clone()),
        near_tie_logits(len)
    ]
}

/// Probability vectors (non-negative, summing to 1 up to rounding) with exact
/// zeros, near one-hot (`1 - δ` with `δ` down to `1e-12`), exact one-hot, and
/// dense cases. Lengths of at least 1.
///
/// ```
/// use proptest::prelude::*;
/// use verify::strategies::probabilities;
/// proptest!(|(p in probabilities(1..6usize))| {
///     prop_assert!(p.iter().all(|&v| (0.0..=1.0).contains(&v)));
/// });
/// ```
pub fn probabilities(len: impl Into<SizeRange>) -> impl Strategy<Value = Vec<f64>> {
    let len = len.into();
    let n = len.start().max(1)..len.end_excl().max(2);
    let dense = vec(prop_oneof![1 => Just(0.0), 3 => 1e-3..1.0f64], n.clone()).prop_map(normalise);
    let near_one_hot = (n.clone(), -12.0..-3.0f64).prop_flat_map(|(k, log_delta)| {
        let delta = 10f64.powf(log_delta);
        (0..k, vec(prop_oneof![Just(0.0), 0.0..1.0f64], k)).prop_map(move |(hot, mut rest)| {
            if k == 1 {
                return vec![1.0];
            }
            rest[hot] = 0.0;
            if rest.iter().all(|&v| v == 0.0) {
                rest[(hot + 1) % k] = 1.0;
            }
            let total: f64 = rest.iter().sum();
            rest.iter_mut().for_each(|v| *v *= delta / total);
            rest[hot] = 1.0 - delta;
            rest
        })
    });
    let one_hot = n.prop_flat_map(|k| {
        (0..k).prop_map(move |hot| (0..k).map(|i| f64::from(u8::from(i == hot))).collect())
    });
    prop_oneof![dense, near_one_hot, one_hot]
}

fn normalise(mut w: Vec<f64>) -> Vec<f64> {
    if w.iter().all(|&v| v == 0.0) {
        w[0] = 1.0;
    }
    let total: f64 = w.iter().sum();
    w.iter_mut().for_each(|v| *v /= total);
    w
}

/// A class label in `0..classes` (`classes >= 1`).
///
/// ```
/// use proptest::prelude::*;
/// use verify::strategies::label;
/// proptest!(|(y in label(3))| prop_assert!(y < 3));
/// ```
pub fn label(classes: usize) -> impl Strategy<Value = usize> {
    0..classes.max(1)
}

/// Logits of a length in `classes` (at least 1) and a label for them.
///
/// ```
/// use proptest::prelude::*;
/// use verify::strategies::logits_and_label;
/// proptest!(|((z, y) in logits_and_label(2..5usize))| prop_assert!(y < z.len()));
/// ```
pub fn logits_and_label(classes: impl Into<SizeRange>) -> impl Strategy<Value = (Vec<f64>, usize)> {
    let classes = classes.into();
    let n = classes.start().max(1)..classes.end_excl().max(2);
    n.prop_flat_map(|k| (logits(k), label(k)))
}

/// The shape of a batch: `batch` rows of `classes` entries.
///
/// ```
/// use verify::strategies::Shape;
/// let s = Shape { batch: 2, classes: 3 };
/// assert_eq!(s.len(), 6);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    /// Number of samples.
    pub batch: usize,
    /// Entries per sample.
    pub classes: usize,
}

impl Shape {
    /// `batch · classes`.
    ///
    /// ```
    /// use verify::strategies::Shape;
    /// assert!(Shape { batch: 0, classes: 3 }.is_empty());
    /// ```
    pub fn len(&self) -> usize {
        self.batch * self.classes
    }

    /// `true` for an empty batch (or rows).
    ///
    /// ```
    /// use verify::strategies::Shape;
    /// assert!(!Shape { batch: 1, classes: 1 }.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Shapes up to `max_batch × max_classes`, favouring the extremes: a single
/// sample, a single class, and the maxima.
///
/// ```
/// use proptest::prelude::*;
/// use verify::strategies::shapes;
/// proptest!(|(s in shapes(64, 10))| prop_assert!(s.batch >= 1 && s.batch <= 64 && s.classes <= 10));
/// ```
pub fn shapes(max_batch: usize, max_classes: usize) -> impl Strategy<Value = Shape> {
    let (mb, mc) = (max_batch.max(1), max_classes.max(1));
    let batch = prop_oneof![Just(1), Just(mb), 1..=mb];
    let classes = prop_oneof![Just(1), Just(2.min(mc)), Just(mc), 1..=mc];
    (batch, classes).prop_map(|(batch, classes)| Shape { batch, classes })
}
