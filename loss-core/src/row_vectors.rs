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
//! across the rows ([`group_sums`], [`group_maxima`]): the same bits as the
//! narrow and row kernels.
//!
//! Plain arrays cannot do this: LLVM splits a row's loads and stores into
//! pieces, and a masked store followed by a load of the same row stalls (the
//! prototype in docs/performance.md, "Rows in vectors, with intrinsics for
//! what LLVM splits"), and a transpose written in plain Rust goes through
//! memory. So these operations use AVX-512 instructions
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

/// `true` if a block of `rows` rows of these widths takes row vectors:
/// every width at most [`ROW`] and one wider than [`LANES`], and at least
/// [`ROW`] rows. Rows of eight or fewer stay transposed: there the narrow
/// kernel's columns are as few as its vectors, and the row vectors measured
/// 1.0–1.5× its time. A group computes all its sixteen rows, so a block of
/// fewer stays with eight at a time (1.5× the time for one row in row
/// vectors; docs/performance.md).
///
/// ```
/// use loss_core::__private::row_vectors_fit;
/// assert!(row_vectors_fit(&[10, 10], 32));
/// assert!(!row_vectors_fit(&[10, 17], 32)); // a row longer than a vector
/// assert!(!row_vectors_fit(&[8, 4], 32)); // short enough to stay transposed
/// assert!(!row_vectors_fit(&[10], 15)); // less than a group
/// ```
#[inline]
pub fn row_vectors_fit(widths: &[usize], rows: usize) -> bool {
    rows >= ROW && widths.iter().all(|&w| w <= ROW) && widths.iter().any(|&w| w > LANES)
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

/// Each row's sum of its first `width` numbers, in the narrow kernel's
/// order: number `j` into partial sum `partial(j, width)`, the partials
/// combined pairwise (`row_sums`). At AVX-512 the group's columns stay in
/// registers from the transpose to the sum.
#[inline(always)]
pub fn group_sums<F: Float>(proof: RowVectors, rows: &[[F; ROW]; ROW], width: usize) -> [F; ROW] {
    let _ = proof;
    #[cfg(target_arch = "x86_64")]
    if let Some(rows) = as_f32_rows(rows) {
        return from_f32(avx512::sums(rows, width));
    }
    column_sums(&columns(rows), width)
}

/// Each row's maximum of its first `width` numbers, NaN ignored (as
/// `Lanes::max`), a column at a time.
#[inline(always)]
pub fn group_maxima<F: Float>(proof: RowVectors, rows: &[[F; ROW]; ROW], width: usize) -> [F; ROW] {
    maxima(proof, rows, width, false)
}

/// Each row's maximum of its first `width` numbers, NaN kept (as
/// `Lanes::max_nan`), a column at a time.
#[inline(always)]
pub fn group_maxima_nan<F: Float>(
    proof: RowVectors,
    rows: &[[F; ROW]; ROW],
    width: usize,
) -> [F; ROW] {
    maxima(proof, rows, width, true)
}

/// [`group_maxima`], or with `nan` [`group_maxima_nan`].
#[inline(always)]
fn maxima<F: Float>(
    proof: RowVectors,
    rows: &[[F; ROW]; ROW],
    width: usize,
    nan: bool,
) -> [F; ROW] {
    let _ = proof;
    #[cfg(target_arch = "x86_64")]
    if let Some(rows) = as_f32_rows(rows) {
        return from_f32(avx512::maxima(rows, width, nan));
    }
    let columns = columns(rows);
    if nan {
        maxima_by(&columns, width, |x: F, m| x > m || x.is_nan())
    } else {
        maxima_by(&columns, width, |x, m| x > m)
    }
}

/// The group's rows as f32, the instructions' type, where `F` is f32;
/// `None` for any other `F`. With [`from_f32`], the one place the group's
/// reductions reinterpret their arrays. (No closure between the two: the
/// intrinsics stay in the caller, compiled for AVX-512, with nothing whose
/// inlining they depend on; `.ci/inlined-intrinsics` checks it.)
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn as_f32_rows<F: Float>(rows: &[[F; ROW]; ROW]) -> Option<&[[f32; ROW]; ROW]> {
    if !is_f32::<F>() {
        return None;
    }
    // SAFETY: `F` is f32 (its `TypeId`), so the arrays are the same type.
    Some(unsafe { &*(rows as *const [[F; ROW]; ROW] as *const [[f32; ROW]; ROW]) })
}

/// A reduction's f32 result as `F`, which [`as_f32_rows`] found to be f32.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn from_f32<F: Float>(out: [f32; ROW]) -> [F; ROW] {
    // A constant in each instantiation: free, and it keeps the function sound.
    assert!(is_f32::<F>(), "from_f32 of a non-f32 type");
    // SAFETY: `F` is f32 (asserted above), so the arrays are the same type.
    unsafe { core::mem::transmute_copy::<[f32; ROW], [F; ROW]>(&out) }
}

/// A group's rows as its columns: `columns(rows)[j][l] == rows[l][j]`, the
/// portable form of the transpose.
#[inline(always)]
fn columns<F: Float>(rows: &[[F; ROW]; ROW]) -> [[F; ROW]; ROW] {
    let mut c = [[F::ZERO; ROW]; ROW];
    for (j, column) in c.iter_mut().enumerate() {
        for (x, row) in column.iter_mut().zip(rows) {
            *x = row[j];
        }
    }
    c
}

/// [`group_sums`] from the group's [`columns`].
#[inline(always)]
fn column_sums<F: Float>(columns: &[[F; ROW]; ROW], width: usize) -> [F; ROW] {
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
    use crate::private::LANES;
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

    /// Each row's sum in the narrow kernel's order (see
    /// [`group_sums`](super::group_sums)), the columns and partial sums in
    /// registers: the loop over the columns unrolls, so each step's partial
    /// is a constant.
    #[inline(always)]
    pub fn sums(rows: &[[f32; ROW]; ROW], width: usize) -> [f32; ROW] {
        let columns = transpose(rows);
        // `partial(j, width)`: column `j` into partial `j % LANES` in the
        // whole chunks, into partial 0 in the tail.
        let whole = width - width % LANES;
        // SAFETY: AVX-512F is there (the proof).
        unsafe {
            let mut parts = [_mm512_setzero_ps(); LANES];
            for (j, &column) in columns.iter().enumerate() {
                if j < whole {
                    parts[j % LANES] = _mm512_add_ps(parts[j % LANES], column);
                } else if j < width {
                    parts[0] = _mm512_add_ps(parts[0], column);
                }
            }
            let mut half = LANES;
            while half > 1 {
                half /= 2;
                for k in 0..half {
                    parts[k] = _mm512_add_ps(parts[k], parts[k + half]);
                }
            }
            core::mem::transmute::<__m512, [f32; ROW]>(parts[0])
        }
    }

    /// Each row's maximum (see [`group_maxima`](super::group_maxima)): a
    /// column replaces the running maximum where it is greater, or with
    /// `nan` also where it is NaN.
    #[inline(always)]
    pub fn maxima(rows: &[[f32; ROW]; ROW], width: usize, nan: bool) -> [f32; ROW] {
        let columns = transpose(rows);
        // SAFETY: AVX-512F is there (the proof).
        unsafe {
            let mut m = _mm512_set1_ps(f32::NEG_INFINITY);
            for (j, &x) in columns.iter().enumerate() {
                if j < width {
                    let mut replaces = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(x, m);
                    if nan {
                        replaces |= _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(x, x);
                    }
                    m = _mm512_mask_blend_ps(replaces, m, x);
                }
            }
            core::mem::transmute::<__m512, [f32; ROW]>(m)
        }
    }

    /// Sixteen rows of 16 as their 16 columns, in four rounds of sixteen
    /// shuffles (pairs of numbers, then of pairs, then of 128-bit blocks
    /// twice), in registers.
    #[inline(always)]
    fn transpose(rows: &[[f32; ROW]; ROW]) -> [__m512; ROW] {
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
            let mut c = [_mm512_setzero_ps(); ROW];
            for k in 0..4 {
                c[k] = _mm512_shuffle_f32x4::<0x88>(v[k], v[8 + k]);
                c[8 + k] = _mm512_shuffle_f32x4::<0xDD>(v[k], v[8 + k]);
                c[4 + k] = _mm512_shuffle_f32x4::<0x88>(v[4 + k], v[12 + k]);
                c[12 + k] = _mm512_shuffle_f32x4::<0xDD>(v[4 + k], v[12 + k]);
            }
            c
        }
    }

    /// The transpose as arrays, for the tests.
    #[cfg(test)]
    pub fn columns(rows: &[[f32; ROW]; ROW]) -> [[f32; ROW]; ROW] {
        // SAFETY: the vectors and arrays are the same bits.
        transpose(rows).map(|c| unsafe { core::mem::transmute::<__m512, [f32; ROW]>(c) })
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
        let mut transposed = [columns(&rows)].to_vec();
        #[cfg(target_arch = "x86_64")]
        if is_f32::<F>() {
            // SAFETY: `F` is f32; the caller has AVX-512 (`at_avx512`).
            let rows = unsafe { &*(&rows as *const [[F; ROW]; ROW] as *const [[f32; ROW]; ROW]) };
            let c = avx512::columns(rows);
            transposed.push(unsafe {
                core::mem::transmute_copy::<[[f32; ROW]; ROW], [[F; ROW]; ROW]>(&c)
            });
        }
        for c in transposed {
            for (j, column) in c.iter().enumerate() {
                for (l, x) in column.iter().enumerate() {
                    assert_eq!(x.to_f64(), rows[l][j].to_f64(), "column {j}, lane {l}");
                }
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

    /// `want` and `got` the same number: the same bits, or both NaN.
    fn same(got: f32, want: f32) -> bool {
        got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan())
    }

    #[test]
    fn group_sums_and_maxima_are_each_rows_in_the_narrow_kernels_order() {
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
            // NaN last, first and in the middle; and a row whose maximum
            // is a tie of -0 and +0 (the first stays).
            rows[3][width - 1] = f32::NAN;
            rows[5][0] = f32::NAN;
            rows[7][width / 2] = f32::NAN;
            rows[9] = [-1.0; ROW];
            rows[9][0] = -0.0;
            if width > 1 {
                rows[9][1] = 0.0;
            }
            let want_sums: [f32; ROW] = core::array::from_fn(|l| narrow_sum(&rows[l][..width]));
            let want_maxima: [f32; ROW] = core::array::from_fn(|l| {
                rows[l][..width]
                    .iter()
                    .fold(f32::NEG_INFINITY, |m, &x| if x > m { x } else { m })
            });
            let want_maxima_nan: [f32; ROW] = core::array::from_fn(|l| {
                rows[l][..width].iter().fold(f32::NEG_INFINITY, |m, &x| {
                    if x > m || x.is_nan() {
                        x
                    } else {
                        m
                    }
                })
            });
            assert!(want_maxima_nan[3].is_nan() && want_maxima_nan[5].is_nan());
            assert_eq!(want_maxima[9].to_bits(), (-0.0f32).to_bits());
            let check =
                |sums: [f32; ROW], maxima: [f32; ROW], maxima_nan: [f32; ROW], how: &str| {
                    for l in 0..ROW {
                        assert!(
                            same(sums[l], want_sums[l]),
                            "{how} sums, width {width}, row {l}"
                        );
                        assert!(
                            same(maxima[l], want_maxima[l]),
                            "{how} maxima, width {width}, row {l}"
                        );
                        assert!(
                            same(maxima_nan[l], want_maxima_nan[l]),
                            "{how} maxima with NaN, width {width}, row {l}"
                        );
                    }
                };
            // The portable code, from the columns.
            let c = columns(&rows);
            check(
                column_sums(&c, width),
                maxima_by(&c, width, |x, m| x > m),
                maxima_by(&c, width, |x: f32, m| x > m || x.is_nan()),
                "portable",
            );
            // The instructions, where the CPU has them.
            at_avx512(|proof| {
                check(
                    group_sums(proof, &rows, width),
                    group_maxima(proof, &rows, width),
                    group_maxima_nan(proof, &rows, width),
                    "AVX-512",
                )
            });
        }
    }

    #[test]
    fn loads_stores_and_the_transpose_keep_to_their_definitions() {
        // Where the CPU has no AVX-512 (or another test capped the level),
        // only the portable code is checked here.
        at_avx512(|proof| check::<f32>(proof, |x| x as f32));
        check::<f64>(RowVectors::assume(), |x| x);
    }
}
