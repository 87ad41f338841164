//! Numerical verification for `loss`: exact intervals, dual numbers, finite differences.
#![forbid(unsafe_code)]
