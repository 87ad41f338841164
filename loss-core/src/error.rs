//! [`LossError`]: what a generated loss returns for input it cannot use.

use core::fmt;

/// Why a loss could not be computed. Every variant names the offending input
/// (as declared in `loss!`) so that the message points at the caller's bug.
///
/// Nothing is written to any output buffer when an error is returned: all
/// shapes and labels are checked before the first write.
///
/// ```
/// use loss_core::LossError;
/// let e = LossError::LabelOutOfRange { input: "y", row: 3, label: 12, classes: 10 };
/// assert_eq!(e.to_string(), "label `y` at row 3 is 12, outside 0..10");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LossError {
    /// Two per-sample inputs disagree on the number of samples.
    BatchMismatch {
        /// The input whose batch size differs.
        input: &'static str,
        /// Its number of samples.
        found: usize,
        /// The batch size set by the first per-sample input.
        expected: usize,
        /// The input that set the batch size.
        reference: &'static str,
    },
    /// A vector input's rows, or a weight vector (`Weights<C>`), do not have
    /// the width its dim requires.
    WidthMismatch {
        /// The input.
        input: &'static str,
        /// The declared dim (e.g. `C`).
        dim: &'static str,
        /// Its width: a row's length, or a weight vector's.
        found: usize,
        /// The width the dim already has from an earlier input.
        expected: usize,
        /// The input that fixed the dim.
        reference: &'static str,
    },
    /// A buffer's length is not `rows * width` for the shape it claims.
    BufferLength {
        /// The input or output buffer.
        input: &'static str,
        /// Its length.
        found: usize,
        /// The length its shape requires.
        expected: usize,
    },
    /// A class label is negative or not below the number of classes.
    LabelOutOfRange {
        /// The label input.
        input: &'static str,
        /// The sample's index in the batch.
        row: usize,
        /// The offending label, exactly (every label type fits in `i128`).
        label: i128,
        /// The number of classes (the dim's size).
        classes: usize,
    },
    /// A dim has width 0 while the batch has samples. A sample's loss
    /// reduces over each of its dims, and an empty row has no max,
    /// log-sum-exp or mean, so every dim needs at least one element (as in
    /// `reference`).
    EmptyDim {
        /// The declared dim.
        dim: &'static str,
        /// The input that gave it width 0.
        input: &'static str,
    },
}

impl fmt::Display for LossError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            LossError::BatchMismatch {
                input,
                found,
                expected,
                reference,
            } => write!(
                f,
                "`{input}` has {found} samples but `{reference}` has {expected}"
            ),
            LossError::WidthMismatch {
                input,
                dim,
                found,
                expected,
                reference,
            } => write!(
                f,
                "`{input}` has width {found}, but dim `{dim}` is {expected} (from `{reference}`)"
            ),
            LossError::BufferLength {
                input,
                found,
                expected,
            } => write!(f, "`{input}` has length {found}, expected {expected}"),
            LossError::LabelOutOfRange {
                input,
                row,
                label,
                classes,
            } => write!(
                f,
                "label `{input}` at row {row} is {label}, outside 0..{classes}"
            ),
            LossError::EmptyDim { dim, input } => write!(
                f,
                "dim `{dim}` is 0 (from `{input}`), but the loss reduces over it"
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for LossError {}
