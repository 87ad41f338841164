//! nalgebra matrices as batches: one sample per column.
//!
//! nalgebra stores a matrix column after column, so a `C × N` matrix whose
//! columns are samples has exactly the memory layout of `N` rows of width `C`.

use crate::rows::{AsRows, Rows, RowsMut};
use nalgebra::{Dim, IsContiguous, Matrix, RawStorage, RawStorageMut, Scalar};

impl<F: Scalar, R: Dim, C: Dim, S> AsRows<F> for Matrix<F, R, C, S>
where
    S: RawStorage<F, R, C> + IsContiguous,
{
    fn as_rows(&self) -> Rows<'_, F> {
        Rows::new(self.as_slice(), self.ncols(), self.nrows())
    }
}

impl<'a, F: Scalar, R: Dim, C: Dim, S> From<&'a mut Matrix<F, R, C, S>> for RowsMut<'a, F>
where
    S: RawStorageMut<F, R, C> + IsContiguous,
{
    fn from(m: &'a mut Matrix<F, R, C, S>) -> Self {
        let (width, rows) = m.shape();
        RowsMut::new(m.as_mut_slice(), rows, width)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::DMatrix;

    #[test]
    fn a_column_is_a_row() {
        // 3 classes × 2 samples: columns (1,2,3) and (4,5,6).
        let m = DMatrix::from_column_slice(3, 2, &[1.0_f64, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let rows = m.as_rows();
        assert_eq!((rows.rows, rows.width), (2, 3));
        assert_eq!(rows.row(1), Some(&[4.0, 5.0, 6.0][..]));
    }

    #[test]
    fn a_mutable_matrix_keeps_its_shape() {
        let mut m = DMatrix::<f32>::zeros(4, 5);
        let g = RowsMut::from(&mut m);
        assert_eq!(g.shape, Some((5, 4)));
        assert_eq!(g.data.len(), 20);
    }
}
