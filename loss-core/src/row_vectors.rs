//! What the generated losses' kernel for short f32 rows at AVX-512 needs
//! beyond plain Rust: a row in one vector register, read and written with
//! masked loads and stores, and the transpose that hands a group's rows to
//! the narrow kernel's sums.
//!
//! The kernel (`loss-macros`' `emit::narrow`, in its row-vector layout)
//! runs sixteen rows at a time and computes each row's elements in one
//! vector of [`ROW`] numbers, where the transposed narrow kernel takes a
//! column at a time across eight rows: the loads and stores are one
//! instruction per row, and nothing is copied in and out of transposed
//! buffers. Its sums take the transposed kernel's order, column by column
//! across the rows, through [`columns`] and [`column_sums`]: the same bits
//! as the narrow and row kernels.
//!
//! Plain arrays cannot do this: LLVM splits a row's loads and stores into
//! pieces, and a masked store followed by a load of the same row stalls (the
//! prototype in docs/performance.md, "Rows in vectors, with intrinsics for
//! what LLVM splits"). So the three operations use AVX-512 instructions
//! directly, which is why this module may use `unsafe`: each use is a
//! pointer into a slice whose length bounds the mask, inside code compiled
//! for AVX-512 on a CPU that has it (the [`RowVectors`] proof).

#![allow(unsafe_code)]

use core::any::TypeId;

use crate::private::{partial, LANES};
use crate::Float;

/// The numbers of a row vector: f32 in a 512-bit register. A row of the
/// kernel has at most this many.
pub const ROW: usize = 16;

/// Proof that the code runs compiled for AVX-512 (F, BW, DQ, VL) on a CPU
/// that has it, and that the numbers are f32: only
/// [`Fma::run_short_rows`](crate::simd::Fma::run_short_rows) makes one.
#[derive(Clone, Copy, Debug)]
pub struct RowVectors(());

impl RowVectors {
    /// The proof; the caller guarantees what the type says (where there is
    /// no AVX-512, the functions here run their portable code). Only x86-64
    /// makes one outside the tests.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    pub(crate) fn assume() -> Self {
        RowVectors(())
    }
}

/// `true` if `F` is f32, the one type the row-vector kernel runs (on
/// x86-64, the one architecture that has it).
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
#[inline(always)]
pub fn is_f32<F: 'static>() -> bool {
    TypeId::of::<F>() == TypeId::of::<f32>()
}

/// `true` if rows of these widths take row vectors: each at most [`ROW`],
/// and one wider than [`LANES`]. Rows of eight or fewer stay transposed:
/// there the narrow kernel's columns are as few as its vectors, and the row
/// vectors measured 1.0–1.5× its time (docs/performance.md).
#[inline]
pub fn row_vectors_fit(widths: &[usize]) -> bool {
    widths.iter().all(|&w| w <= ROW) && widths.iter().any(|&w| w > LANES)
}

/// `row` as a vector of [`ROW`] numbers (at most that many; the kernel
/// takes only rows that short): the lanes past its end repeat its first
/// number, so that every lane computes with a number of the row (an
/// exponential of a lane past the end is then in range whenever the row's
/// are). An empty row gives zeros.
#[inline(always)]
pub fn load<F: Float>(proof: RowVectors, row: &[F]) -> [F; ROW] {
    let _ = proof;
    #[cfg(target_arch = "x86_64")]
    if is_f32::<F>() {
        // SAFETY: `F` is f32 (its `TypeId`), so the two slices and arrays
        // are the same type.
        let row: &[f32] = unsafe { &*(row as *const [F] as *const [f32]) };
        let v = avx512::load(row);
        return unsafe { core::mem::transmute_copy::<[f32; ROW], [F; ROW]>(&v) };
    }
    let first = row.first().copied().unwrap_or(F::ZERO);
    let mut v = [first; ROW];
    for (x, &y) in v.iter_mut().zip(row) {
        *x = y;
    }
    v
}

/// The first `out.len()` lanes of `v` written over `out` (at most [`ROW`]).
#[inline(always)]
pub fn store<F: Float>(proof: RowVectors, v: &[F; ROW], out: &mut [F]) {
    let _ = proof;
    #[cfg(target_arch = "x86_64")]
    if is_f32::<F>() {
        // SAFETY: `F` is f32 (its `TypeId`).
        let out: &mut [f32] = unsafe { &mut *(out as *mut [F] as *mut [f32]) };
        let v: &[f32; ROW] = unsafe { &*(v as *const [F; ROW] as *const [f32; ROW]) };
        avx512::store(v, out);
        return;
    }
    for (o, &x) in out.iter_mut().zip(v) {
        *o = x;
    }
}

/// A group's rows as its columns: `columns(rows)[j][l] == rows[l][j]`, so
/// that the sums below take the rows' numbers a column at a time, as the
/// narrow kernel does.
#[inline(always)]
pub fn columns<F: Float>(proof: RowVectors, rows: &[[F; ROW]; ROW]) -> [[F; ROW]; ROW] {
    let _ = proof;
    #[cfg(target_arch = "x86_64")]
    if is_f32::<F>() {
        // SAFETY: `F` is f32 (its `TypeId`).
        let rows: &[[f32; ROW]; ROW] =
            unsafe { &*(rows as *const [[F; ROW]; ROW] as *const [[f32; ROW]; ROW]) };
        let c = avx512::columns(rows);
        return unsafe { core::mem::transmute_copy::<[[f32; ROW]; ROW], [[F; ROW]; ROW]>(&c) };
    }
    let mut c = [[F::ZERO; ROW]; ROW];
    for (j, column) in c.iter_mut().enumerate() {
        for (x, row) in column.iter_mut().zip(rows) {
            *x = row[j];
        }
    }
    c
}

/// Each row's sum of its first `width` numbers, from the group's
/// [`columns`], in the narrow kernel's order: column `j` into partial sum
/// `partial(j, width)`, the partials combined pairwise (`row_sums`).
#[inline(always)]
pub fn column_sums<F: Float>(columns: &[[F; ROW]; ROW], width: usize) -> [F; ROW] {
    let mut parts = [[F::ZERO; ROW]; LANES];
    for (j, column) in columns[..width.min(ROW)].iter().enumerate() {
        let part = &mut parts[partial(j, width)];
        for (p, &x) in part.iter_mut().zip(column) {
            *p += x;
        }
    }
    let mut half = LANES;
    while half > 1 {
        half /= 2;
        for k in 0..half {
            let upper = parts[k + half];
            for (x, y) in parts[k].iter_mut().zip(upper) {
                *x += y;
            }
        }
    }
    parts[0]
}

/// Each row's maximum of its first `width` numbers, NaN ignored (as
/// `Lanes::max`), from the group's [`columns`].
#[inline(always)]
pub fn column_maxima<F: Float>(columns: &[[F; ROW]; ROW], width: usize) -> [F; ROW] {
    maxima_by(columns, width, |x, m| x > m)
}

/// Each row's maximum of its first `width` numbers, NaN kept (as
/// `Lanes::max_nan`), from the group's [`columns`].
#[inline(always)]
pub fn column_maxima_nan<F: Float>(columns: &[[F; ROW]; ROW], width: usize) -> [F; ROW] {
    maxima_by(columns, width, |x: F, m| x > m || x.is_nan())
}

/// Each row's running maximum over the first `width` columns, a column at a
/// time: `x` replaces it where `replaces(x, maximum)`.
#[inline(always)]
fn maxima_by<F: Float>(
    columns: &[[F; ROW]; ROW],
    width: usize,
    replaces: impl Fn(F, F) -> bool,
) -> [F; ROW] {
    let mut m = [F::NEG_INFINITY; ROW];
    for column in &columns[..width.min(ROW)] {
        for (m, &x) in m.iter_mut().zip(column) {
            if replaces(x, *m) {
                *m = x;
            }
        }
    }
    m
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    //! The instructions. Each function is `#[inline(always)]` into a kernel
    //! that [`RowVectors`](super::RowVectors) proves is compiled for AVX-512
    //! on a CPU that has it.
    use super::ROW;
    use core::arch::x86_64::*;

    /// The lanes below `n` (at most [`ROW`]).
    #[inline(always)]
    fn mask(n: usize) -> __mmask16 {
        (((1u32 << n.min(ROW)) - 1) & 0xffff) as __mmask16
    }

    #[inline(always)]
    pub fn load(row: &[f32]) -> [f32; ROW] {
        let first = row.first().copied().unwrap_or(0.0);
        // SAFETY: the mask covers `row`'s numbers only, and masked-off lanes
        // are neither read nor fault; AVX-512F is there (the proof).
        let v =
            unsafe { _mm512_mask_loadu_ps(_mm512_set1_ps(first), mask(row.len()), row.as_ptr()) };
        // SAFETY: a vector of 16 f32 is an array of 16 f32.
        unsafe { core::mem::transmute::<__m512, [f32; ROW]>(v) }
    }

    #[inline(always)]
    pub fn store(v: &[f32; ROW], out: &mut [f32]) {
        // SAFETY: as in `load`; the mask covers `out`'s numbers only.
        unsafe {
            let v = core::mem::transmute::<[f32; ROW], __m512>(*v);
            _mm512_mask_storeu_ps(out.as_mut_ptr(), mask(out.len()), v);
        }
    }

    /// Sixteen rows of 16 as their 16 columns, in four rounds of sixteen
    /// shuffles (pairs of numbers, then of pairs, then of 128-bit blocks
    /// twice).
    #[inline(always)]
    pub fn columns(rows: &[[f32; ROW]; ROW]) -> [[f32; ROW]; ROW] {
        // SAFETY: AVX-512F is there (the proof); the arrays and vectors are
        // the same bits.
        unsafe {
            let r: [__m512; ROW] =
                core::array::from_fn(|l| core::mem::transmute::<[f32; ROW], __m512>(rows[l]));
            let mut t = [_mm512_setzero_ps(); ROW];
            for i in 0..8 {
                t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
                t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
            }
            let pd = |x: __m512| _mm512_castps_pd(x);
            let ps = |x: __m512d| _mm512_castpd_ps(x);
            // `u[4i + k]`: in 128-bit block `b`, number `4b + k` of rows
            // `4i..4i + 4`.
            let mut u = [_mm512_setzero_ps(); ROW];
            for i in 0..4 {
                u[4 * i] = ps(_mm512_unpacklo_pd(pd(t[4 * i]), pd(t[4 * i + 2])));
                u[4 * i + 1] = ps(_mm512_unpackhi_pd(pd(t[4 * i]), pd(t[4 * i + 2])));
                u[4 * i + 2] = ps(_mm512_unpacklo_pd(pd(t[4 * i + 1]), pd(t[4 * i + 3])));
                u[4 * i + 3] = ps(_mm512_unpackhi_pd(pd(t[4 * i + 1]), pd(t[4 * i + 3])));
            }
            let mut v = [_mm512_setzero_ps(); ROW];
            for k in 0..4 {
                v[k] = _mm512_shuffle_f32x4::<0x88>(u[k], u[4 + k]);
                v[4 + k] = _mm512_shuffle_f32x4::<0xDD>(u[k], u[4 + k]);
                v[8 + k] = _mm512_shuffle_f32x4::<0x88>(u[8 + k], u[12 + k]);
                v[12 + k] = _mm512_shuffle_f32x4::<0xDD>(u[8 + k], u[12 + k]);
            }
            let mut c = [[0.0f32; ROW]; ROW];
            for k in 0..4 {
                c[k] = core::mem::transmute::<__m512, [f32; ROW]>(_mm512_shuffle_f32x4::<0x88>(
                    v[k],
                    v[8 + k],
                ));
                c[8 + k] = core::mem::transmute::<__m512, [f32; ROW]>(
                    _mm512_shuffle_f32x4::<0xDD>(v[k], v[8 + k]),
                );
                c[4 + k] = core::mem::transmute::<__m512, [f32; ROW]>(
                    _mm512_shuffle_f32x4::<0x88>(v[4 + k], v[12 + k]),
                );
                c[12 + k] = core::mem::transmute::<__m512, [f32; ROW]>(
                    _mm512_shuffle_f32x4::<0xDD>(v[4 + k], v[12 + k]),
                );
            }
            c
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simd::Fma;
    use std::vec;
    use std::vec::Vec;

    /// Runs `f` with the proof, compiled for AVX-512, where the CPU has it.
    fn at_avx512(f: impl Fn(RowVectors)) -> bool {
        match Fma::detect() {
            Some(fma) => fma.run_short_rows::<f32, _, _>(
                true,
                (),
                |(), proof| {
                    f(proof);
                    true
                },
                |()| false,
            ),
            None => false,
        }
    }

    /// Every operation against its definition: with the instructions where
    /// the CPU has them (f32), and the portable code (f64, which the kernel
    /// never runs but compiles).
    fn check<F: Float + core::fmt::Debug>(proof: RowVectors, of: impl Fn(f64) -> F) {
        let rows: [[F; ROW]; ROW] =
            core::array::from_fn(|l| core::array::from_fn(|j| of((100 * l + j) as f64 - 0.5)));
        let c = columns(proof, &rows);
        for (j, column) in c.iter().enumerate() {
            for (l, x) in column.iter().enumerate() {
                assert_eq!(x.to_f64(), rows[l][j].to_f64(), "column {j}, lane {l}");
            }
        }
        for width in 0..=ROW {
            // The row sits at the end of its buffer: a read or write past it
            // would leave the slice.
            let data: Vec<F> = (0..40).map(|i| of(i as f64 + 0.25)).collect();
            let row = &data[40 - width..];
            let v = load(proof, row);
            for (j, x) in v.iter().enumerate() {
                let want = row.get(j).or(row.first()).map_or(0.0, |y| y.to_f64());
                assert_eq!(x.to_f64(), want, "width {width}, lane {j}");
            }
            let mut out: Vec<F> = vec![of(-1.0); 40];
            let doubled = v.map(|x| x + x);
            store(proof, &doubled, &mut out[40 - width..]);
            for (i, o) in out.iter().enumerate() {
                let want = if i >= 40 - width {
                    2.0 * data[i].to_f64()
                } else {
                    -1.0
                };
                assert_eq!(o.to_f64(), want, "width {width}, index {i}");
            }
        }
    }

    /// A row's sum as the narrow kernel takes it, one number at a time:
    /// number `j` into partial `partial(j, width)`, the partials pairwise.
    fn narrow_sum(row: &[f32]) -> f32 {
        let mut parts = [0.0f32; LANES];
        for (j, &x) in row.iter().enumerate() {
            parts[partial(j, row.len())] += x;
        }
        let mut half = LANES;
        while half > 1 {
            half /= 2;
            for k in 0..half {
                parts[k] += parts[k + half];
            }
        }
        parts[0]
    }

    #[test]
    fn column_sums_and_maxima_are_each_rows_in_the_narrow_kernels_order() {
        // Numbers of mixed sizes and signs, so that the order of the sum
        // shows in its last bits.
        let mut seed = 0x9e37_79b9_u32;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            (seed as f32 / u32::MAX as f32 - 0.5) * 10f32.powi((seed % 7) as i32 - 3)
        };
        for width in 1..=ROW {
            let mut rows = [[0.0f32; ROW]; ROW];
            for row in rows.iter_mut() {
                for x in row[..width].iter_mut() {
                    *x = next();
                }
            }
            rows[3][width - 1] = f32::NAN;
            let columns: [[f32; ROW]; ROW] =
                core::array::from_fn(|j| core::array::from_fn(|l| rows[l][j]));
            let (sums, maxima, maxima_nan) = (
                column_sums(&columns, width),
                column_maxima(&columns, width),
                column_maxima_nan(&columns, width),
            );
            for (l, row) in rows.iter().enumerate() {
                let row = &row[..width];
                assert_eq!(
                    sums[l].to_bits(),
                    narrow_sum(row).to_bits(),
                    "width {width}, row {l}"
                );
                let max = row
                    .iter()
                    .fold(f32::NEG_INFINITY, |m, &x| if x > m { x } else { m });
                assert_eq!(maxima[l], max, "width {width}, row {l}");
                if l == 3 {
                    assert!(maxima_nan[l].is_nan(), "width {width}");
                } else {
                    assert_eq!(maxima_nan[l], max, "width {width}, row {l}");
                }
            }
        }
    }

    #[test]
    fn loads_stores_and_columns_keep_to_their_definitions() {
        // Where the CPU has no AVX-512 (or another test capped the level),
        // only the portable code is checked here.
        at_avx512(|proof| check::<f32>(proof, |x| x as f32));
        check::<f64>(RowVectors::assume(), |x| x);
    }
}
