//! Why an interval computation has no valid enclosure.

use core::fmt;

/// The reason an [`Interval`](crate::Interval) is invalid.
///
/// An invalid interval propagates through every later operation, like NaN
/// does for floats, and keeps the first reason. Read it with
/// [`Interval::bounds`](crate::Interval::bounds) or
/// [`Interval::error`](crate::Interval::error).
///
/// ```
/// use verify::{Interval, IntervalError};
/// let x = Interval::from_f64(1.0) / Interval::from_f64(0.0);
/// assert!(matches!(x.error(), Some(IntervalError::DivisionByZero { .. })));
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum IntervalError {
    /// The divisor contains zero.
    DivisionByZero {
        /// The divisor's enclosure, as decimals.
        divisor: String,
    },
    /// `ln`, `ln_1p` or `powf` of an argument that reaches zero or below (or
    /// `-1` or below for `ln_1p`).
    LogOfNonPositive {
        /// The function that was called.
        function: &'static str,
        /// The argument's enclosure, as decimals.
        argument: String,
    },
    /// `sqrt` of an argument that reaches below zero.
    SqrtOfNegative {
        /// The argument's enclosure, as decimals.
        argument: String,
    },
    /// `powf(x, e)` outside its domain (`x > 0`, or `x >= 0` with `e > 0`).
    PowDomain {
        /// The base's enclosure.
        base: String,
        /// The exponent's enclosure.
        exponent: String,
    },
    /// A NaN or infinite `f64` became an interval. [`Dual`](crate::Dual) also
    /// marks an undefined derivative this way (for example of `max` of two
    /// values whose order cannot be decided).
    NotFinite {
        /// The offending value.
        value: f64,
    },
    /// The result is too large for the exponent range (`exp` of an argument
    /// beyond `2^50`).
    Overflow {
        /// The function that was called.
        function: &'static str,
        /// The argument's enclosure.
        argument: String,
    },
    /// A reduction of an empty list (`logsumexp(&[])`).
    EmptyInput {
        /// The function that was called.
        function: &'static str,
    },
    /// Bounds given in the wrong order.
    InvertedBounds {
        /// The lower bound given.
        lo: String,
        /// The upper bound given.
        hi: String,
    },
}

impl fmt::Display for IntervalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IntervalError::DivisionByZero { divisor } => {
                write!(f, "division by an interval containing zero: {divisor}")
            }
            IntervalError::LogOfNonPositive { function, argument } => {
                write!(
                    f,
                    "{function} of an argument outside its domain: {argument}"
                )
            }
            IntervalError::SqrtOfNegative { argument } => {
                write!(f, "sqrt of an interval reaching below zero: {argument}")
            }
            IntervalError::PowDomain { base, exponent } => {
                write!(
                    f,
                    "powf outside its domain: base {base}, exponent {exponent}"
                )
            }
            IntervalError::NotFinite { value } => write!(
                f,
                "not a finite number: {value} (a NaN or infinite input, or a derivative that is \
                 undefined here, such as of max/min/abs where the order cannot be decided)"
            ),
            IntervalError::Overflow { function, argument } => {
                write!(f, "{function} overflows the exponent range at {argument}")
            }
            IntervalError::EmptyInput { function } => write!(f, "{function} of an empty list"),
            IntervalError::InvertedBounds { lo, hi } => {
                write!(f, "lower bound {lo} is above upper bound {hi}")
            }
        }
    }
}

impl std::error::Error for IntervalError {}
