//! Views of batched inputs and outputs: one row per sample.
//!
//! A per-sample vector input is a batch of rows stored contiguously, row after
//! row (row-major `N × C`). It can come from a slice with an explicit shape
//! ([`Rows::new`]) or from an nalgebra matrix in which each sample is a
//! column (nalgebra stores columns contiguously, so the memory is the same).

/// A read-only batch of rows: `rows * width` numbers, row-major.
///
/// Building one never fails; the generated loss checks the length against
/// the shape and reports a mismatch as an error naming the input.
///
/// ```
/// use loss_core::Rows;
/// let data = [1.0_f32, 2.0, 3.0, 4.0, 5.0, 6.0];
/// let z = Rows::new(&data, 2, 3); // 2 samples of 3 classes
/// assert_eq!(z.row(1), Some(&[4.0, 5.0, 6.0][..]));
/// ```
#[derive(Debug)]
pub struct Rows<'a, F> {
    /// The numbers, row after row.
    pub data: &'a [F],
    /// Number of rows (samples).
    pub rows: usize,
    /// Length of each row.
    pub width: usize,
}

// Manual impls: a view is copyable whatever `F` is.
impl<F> Clone for Rows<'_, F> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<F> Copy for Rows<'_, F> {}

impl<'a, F> Rows<'a, F> {
    /// A view of `data` as `rows` rows of `width` numbers each.
    pub fn new(data: &'a [F], rows: usize, width: usize) -> Self {
        Rows { data, rows, width }
    }

    /// Row `i`, or `None` if it is out of range or the buffer is too short.
    pub fn row(&self, i: usize) -> Option<&'a [F]> {
        let start = i.checked_mul(self.width)?;
        if i >= self.rows {
            return None;
        }
        self.data.get(start..start + self.width)
    }

    /// `true` if `data.len() == rows * width`.
    pub fn is_consistent(&self) -> bool {
        self.rows.checked_mul(self.width) == Some(self.data.len())
    }
}

/// A writable batch of rows, the destination of a gradient.
///
/// A plain slice carries no shape: the loss takes the shape of the matching
/// input and checks only the length. A matrix carries its shape, which is
/// checked too.
///
/// ```
/// use loss_core::RowsMut;
/// let mut buf = [0.0_f64; 6];
/// let g = RowsMut::from(&mut buf[..]);
/// assert_eq!(g.shape, None);
/// ```
#[derive(Debug)]
pub struct RowsMut<'a, F> {
    /// The numbers, row after row.
    pub data: &'a mut [F],
    /// `(rows, width)` if the destination knows its shape.
    pub shape: Option<(usize, usize)>,
}

impl<'a, F> RowsMut<'a, F> {
    /// A writable view of `data` as `rows` rows of `width` numbers.
    pub fn new(data: &'a mut [F], rows: usize, width: usize) -> Self {
        RowsMut {
            data,
            shape: Some((rows, width)),
        }
    }
}

impl<'a, F> From<&'a mut [F]> for RowsMut<'a, F> {
    fn from(data: &'a mut [F]) -> Self {
        RowsMut { data, shape: None }
    }
}

impl<'a, F, const N: usize> From<&'a mut [F; N]> for RowsMut<'a, F> {
    fn from(data: &'a mut [F; N]) -> Self {
        RowsMut {
            data: &mut data[..],
            shape: None,
        }
    }
}

#[cfg(feature = "std")]
impl<'a, F> From<&'a mut std::vec::Vec<F>> for RowsMut<'a, F> {
    fn from(data: &'a mut std::vec::Vec<F>) -> Self {
        RowsMut {
            data: &mut data[..],
            shape: None,
        }
    }
}

/// Anything that can be read as a batch of rows.
///
/// Implemented for [`Rows`] and, with the `nalgebra` feature, for nalgebra
/// matrices with contiguous storage (one sample per column).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a batch of rows",
    label = "a `Vector<D>` input takes rows",
    note = "wrap a slice of `n` rows of `width` numbers: `Rows::new(&data, n, width)`"
)]
pub trait AsRows<F> {
    /// The batch as rows.
    fn as_rows(&self) -> Rows<'_, F>;
}

impl<F> AsRows<F> for Rows<'_, F> {
    fn as_rows(&self) -> Rows<'_, F> {
        *self
    }
}

impl<F, T: AsRows<F> + ?Sized> AsRows<F> for &T {
    fn as_rows(&self) -> Rows<'_, F> {
        (**self).as_rows()
    }
}

/// A class label: any integer type; negative values are out of range.
///
/// ```
/// use loss_core::Label;
/// assert_eq!(3_i64.class_index(), Some(3));
/// assert_eq!((-100_i64).class_index(), None);
/// ```
pub trait Label: Copy + Send + Sync {
    /// The label as an index, `None` if negative or too big for `usize`.
    fn class_index(self) -> Option<usize>;
    /// The label's exact value (every label type fits in `i128`), for the
    /// ignore index and error messages.
    fn to_i128(self) -> i128;
}

macro_rules! impl_label {
    ($($t:ty),*) => {$(
        impl Label for $t {
            #[inline]
            fn class_index(self) -> Option<usize> {
                usize::try_from(self).ok()
            }
            #[inline]
            fn to_i128(self) -> i128 {
                // Lossless: the widest label types are 64 bits.
                self as i128
            }
        }
    )*};
}

impl_label!(u8, u16, u32, u64, usize, i8, i16, i32, i64, isize);
