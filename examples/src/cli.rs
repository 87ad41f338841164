//! Checks of the examples' command-line numbers, for `clap`'s
//! `value_parser`. The losses do not check their hyper-parameters (a
//! temperature of 0 gives NaN, as in PyTorch), so the examples check their
//! own before training on them.

/// A finite number above 0, e.g. a temperature.
///
/// ```
/// use examples::cli::above_zero;
/// assert_eq!(above_zero("4"), Ok(4.0));
/// assert_eq!(above_zero("0").unwrap_err(), "0 is not a finite number above 0");
/// assert!(above_zero("inf").is_err());
/// assert!(above_zero("four").is_err());
/// ```
pub fn above_zero(s: &str) -> Result<f64, String> {
    let x = number(s)?;
    if x.is_finite() && x > 0.0 {
        Ok(x)
    } else {
        Err(format!("{x} is not a finite number above 0"))
    }
}

/// A number in [0, 1], e.g. a mixing weight or a label smoothing.
///
/// ```
/// use examples::cli::in_unit_interval;
/// assert_eq!(in_unit_interval("0.7"), Ok(0.7));
/// assert_eq!(in_unit_interval("1.5").unwrap_err(), "1.5 is not in [0, 1]");
/// assert!(in_unit_interval("NaN").is_err());
/// ```
pub fn in_unit_interval(s: &str) -> Result<f64, String> {
    let x = number(s)?;
    if (0.0..=1.0).contains(&x) {
        Ok(x)
    } else {
        Err(format!("{x} is not in [0, 1]"))
    }
}

fn number(s: &str) -> Result<f64, String> {
    s.parse().map_err(|e| format!("`{s}` is not a number: {e}"))
}
