//! Support for the code `loss!` generates. Not a public API: names and
//! signatures here change without notice.

use crate::math::MulAdd;
use crate::{Float, Label, LossError, Real, Rows, RowsMut};

/// The batch size, set by the first per-sample input and checked against the
/// others.
#[derive(Default)]
pub struct Batch {
    size: Option<(usize, &'static str)>,
}

impl Batch {
    /// No input seen yet.
    pub fn new() -> Self {
        Batch { size: None }
    }

    /// Records that `input` has `count` samples.
    pub fn samples(&mut self, input: &'static str, count: usize) -> Result<(), LossError> {
        match self.size {
            None => {
                self.size = Some((count, input));
                Ok(())
            }
            Some((expected, _)) if expected == count => Ok(()),
            Some((expected, reference)) => Err(LossError::BatchMismatch {
                input,
                found: count,
                expected,
                reference,
            }),
        }
    }

    /// The batch size (0 if no per-sample input was seen).
    pub fn size(&self) -> usize {
        self.size.map_or(0, |(n, _)| n)
    }
}

/// The width of a dim, set by the first input that has it.
pub struct Dim {
    name: &'static str,
    width: Option<(usize, &'static str)>,
}

impl Dim {
    /// A dim no input has given a width yet.
    pub fn new(name: &'static str) -> Self {
        Dim { name, width: None }
    }

    /// Records that `input`'s rows have width `width`.
    pub fn width(&mut self, input: &'static str, width: usize) -> Result<(), LossError> {
        match self.width {
            None => {
                self.width = Some((width, input));
                Ok(())
            }
            Some((expected, _)) if expected == width => Ok(()),
            Some((expected, reference)) => Err(LossError::WidthMismatch {
                input,
                dim: self.name,
                found: width,
                expected,
                reference,
            }),
        }
    }

    /// The dim's width.
    pub fn size(&self) -> usize {
        self.width.map_or(0, |(w, _)| w)
    }

    /// An error unless the width is positive, when there is at least one
    /// sample: a sample's loss reduces over each of its dims, and an empty
    /// row has no max or log-sum-exp (and no mean).
    pub fn nonempty(&self, samples: usize) -> Result<(), LossError> {
        match self.width {
            Some((0, input)) if samples > 0 => Err(LossError::EmptyDim {
                dim: self.name,
                input,
            }),
            _ => Ok(()),
        }
    }
}

/// Checks that a batch of rows is as long as its shape says.
pub fn rows<F>(input: &'static str, r: &Rows<'_, F>) -> Result<(), LossError> {
    if r.is_consistent() {
        Ok(())
    } else {
        Err(LossError::BufferLength {
            input,
            found: r.data.len(),
            expected: r.rows.saturating_mul(r.width),
        })
    }
}

/// Checks a buffer of `expected` numbers.
pub fn buffer(input: &'static str, found: usize, expected: usize) -> Result<(), LossError> {
    if found == expected {
        Ok(())
    } else {
        Err(LossError::BufferLength {
            input,
            found,
            expected,
        })
    }
}

/// Checks a gradient destination for the batch's rows of `dim`'s width; a
/// shaped destination (a matrix) is checked as an input of that shape would
/// be, so its errors name the inputs that fixed the batch and the dim.
pub fn grad_rows<F>(
    input: &'static str,
    g: &RowsMut<'_, F>,
    batch: &mut Batch,
    dim: &mut Dim,
) -> Result<(), LossError> {
    if let Some((rows, width)) = g.shape {
        batch.samples(input, rows)?;
        dim.width(input, width)?;
    }
    buffer(input, g.data.len(), batch.size().saturating_mul(dim.size()))
}

/// Checks that every label is in `0..classes`.
pub fn labels<L: Label>(
    input: &'static str,
    labels: &[L],
    classes: usize,
) -> Result<(), LossError> {
    for (row, &l) in labels.iter().enumerate() {
        match l.class_index() {
            Some(k) if k < classes => {}
            _ => {
                return Err(LossError::LabelOutOfRange {
                    input,
                    row,
                    label: l.to_i128(),
                    classes,
                })
            }
        }
    }
    Ok(())
}

/// Checks that every label is in `0..classes` or equal to `ignore`.
pub fn labels_ignoring<L: Label>(
    input: &'static str,
    labels: &[L],
    classes: usize,
    ignore: i64,
) -> Result<(), LossError> {
    for (row, &l) in labels.iter().enumerate() {
        match l.class_index() {
            Some(k) if k < classes => {}
            _ if is_ignored(l, ignore) => {}
            _ => {
                return Err(LossError::LabelOutOfRange {
                    input,
                    row,
                    label: l.to_i128(),
                    classes,
                })
            }
        }
    }
    Ok(())
}

/// `true` if the label is the ignore index.
#[inline(always)]
pub fn is_ignored<L: Label>(l: L, ignore: i64) -> bool {
    // Exact: a `u64` label of 2^63 or more is not `i64::MAX`.
    l.to_i128() == i128::from(ignore)
}

/// A label already checked by [`labels`].
#[inline(always)]
pub fn label<L: Label>(l: L) -> usize {
    l.class_index().unwrap_or(0)
}

/// Checks one label of a `reference` call.
pub fn label_in_range(input: &'static str, label: usize, classes: usize) -> Result<(), LossError> {
    if label < classes {
        Ok(())
    } else {
        Err(LossError::LabelOutOfRange {
            input,
            row: 0,
            // Lossless: `usize` is at most 64 bits.
            label: label as i128,
            classes,
        })
    }
}

/// Number of independent accumulators of a pass: a vector register of `f32`
/// on AVX2 (two of SSE2), and a blocking factor for the sums.
pub const LANES: usize = 8;

/// The row kernel's chunks where twice [`LANES`] fills a vector register
/// (f32 at AVX-512); their sums still go into `LANES` partial sums.
pub const WIDE: usize = 2 * LANES;

/// The `N` numbers of `row` from `at` (in range: the caller's loop
/// guarantees it); `N` is `LANES` or twice that.
#[inline(always)]
pub fn chunk<F, const N: usize>(row: &[F], at: usize) -> &[F; N] {
    let part = &row[at..at + N];
    part.try_into()
        .unwrap_or_else(|_| unreachable!("a range of N numbers"))
}

/// [`chunk`], writable.
#[inline(always)]
pub fn chunk_mut<F, const N: usize>(row: &mut [F], at: usize) -> &mut [F; N] {
    let part = &mut row[at..at + N];
    part.try_into()
        .unwrap_or_else(|_| unreachable!("a range of N numbers"))
}

/// Row `r` of a block's gradient rows (`width` numbers each) and the `S`
/// rows after it, which the generated code borrows as scratch: their samples
/// run later and overwrite them whole. The caller checks that the block has
/// the rows (`r + S` below its row count).
#[inline(always)]
pub fn row_and_spares<F, const S: usize>(
    block: &mut [F],
    r: usize,
    width: usize,
) -> (&mut [F], [&mut [F]; S]) {
    let (row, mut rest) = block[r * width..].split_at_mut(width);
    let spares = core::array::from_fn(|_| {
        let (spare, after) = core::mem::take(&mut rest).split_at_mut(width);
        rest = after;
        spare
    });
    (row, spares)
}

/// Asks the CPU to bring the cache line of `data[index]` into its caches,
/// ahead of a later pass that reads it (the row kernel's next row, see
/// `loss_macros`' emission). Only a hint: nothing is read, and an index past
/// the end (the last row's next row) fetches nothing useful and is
/// harmless. A no-op but on x86-64.
#[inline(always)]
pub fn prefetch<F>(data: &[F], index: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // `wrapping_add`: no pointer past the allocation is ever formed by
        // offset arithmetic that could be undefined, and none is read.
        let line = data.as_ptr().wrapping_add(index).cast::<i8>();
        // SAFETY: PREFETCHT0 (SSE, in every x86-64 CPU) only hints the
        // cache; it dereferences nothing and never faults, whatever the
        // address. Measured need: cross-entropy's value and gradient at
        // 256x32000 take 0.80x the time with it (docs/performance.md);
        // ordinary loads of the next row instead measured no gain.
        #[allow(unsafe_code)]
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(line)
        };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (data, index);
}

/// The widest rows the narrow kernel takes (the generated code's path for
/// short rows, `LANES` rows at a time with one row per lane): past it, one
/// row at a time in vector chunks is faster. On rows of 33 to 40 the narrow
/// kernel takes 4–43 % less time on the three workloads; at 48
/// cross-entropy and KL take 7 % and 20 % more in it (docs/performance.md).
pub const NARROW: usize = 40;

/// `true` if rows of these widths run in the narrow kernel: each at most
/// [`NARROW`], and the kernel not switched off by
/// [`crate::simd::set_rows_in_lanes`].
#[inline]
pub fn narrow(widths: &[usize]) -> bool {
    crate::simd::rows_in_lanes() && widths.iter().all(|&w| w <= NARROW)
}

/// The rows of a group of the narrow kernel (`N` rows: `LANES`, or `ROW`
/// in its row-vector layout): lane `l` holds row `first + l`; the lanes past
/// the `live` rows left in the block repeat the last one (computed, never
/// stored), so that every lane reads a valid row.
#[inline(always)]
pub fn group_rows<const N: usize>(first: usize, live: usize) -> [usize; N] {
    per_lane(|l| first + l.min(live.saturating_sub(1)))
}

/// `[f(0), f(1), ..., f(N - 1)]`, by a plain loop: the narrow kernel's
/// per-group arrays. `core::array::from_fn` with a closure that indexes a
/// slice (and so may panic) stayed a call in release builds, one per group
/// and array (about 100 instructions a group of cross-entropy at 32x10).
#[inline(always)]
pub fn per_lane<T: Copy, const N: usize>(mut f: impl FnMut(usize) -> T) -> [T; N] {
    let mut out = [f(0); N];
    for (l, x) in out.iter_mut().enumerate().skip(1) {
        *x = f(l);
    }
    out
}

/// Copies the rows `rows` of `data` (rows of `width` numbers, at most
/// [`NARROW`]) into `columns`, transposed: `columns[j][l]` is number `j` of
/// row `rows[l]`. The narrow kernel's passes then read a column of the group
/// as one vector.
#[inline(always)]
pub fn gather<F: Copy>(
    data: &[F],
    width: usize,
    rows: &[usize; LANES],
    columns: &mut [[F; LANES]; NARROW],
) {
    let rows: [&[F]; LANES] = per_lane(|l| &data[rows[l] * width..][..width]);
    for (j, column) in columns[..width.min(NARROW)].iter_mut().enumerate() {
        for (x, row) in column.iter_mut().zip(rows) {
            *x = row[j];
        }
    }
}

/// Lane `lane` of `columns` (see [`gather`]) written over `row`.
#[inline(always)]
pub fn scatter<F: Copy>(columns: &[[F; LANES]; NARROW], lane: usize, row: &mut [F]) {
    for (x, column) in row.iter_mut().zip(columns) {
        *x = column[lane];
    }
}

/// The partial sum that column `j` of a row of `width` goes to in the
/// narrow kernel: the lane the row kernel adds it to (`j % LANES` in the
/// whole chunks, 0 in the tail), so both sum in the same order.
#[inline(always)]
pub fn partial(j: usize, width: usize) -> usize {
    if j < width - width % LANES {
        j % LANES
    } else {
        0
    }
}

/// Each row's sum from its `LANES` partial sums (`parts[k]` holds partial
/// `k` of the row in every lane), combined pairwise as [`Lanes::sum`].
#[inline(always)]
pub fn row_sums<F: Float>(mut parts: [Lanes<F>; LANES]) -> [F; LANES] {
    let mut width = LANES;
    while width > 1 {
        width /= 2;
        for k in 0..width {
            let upper = parts[k + width];
            for (x, y) in parts[k].0.iter_mut().zip(upper.0) {
                *x += y;
            }
        }
    }
    parts[0].0
}

/// A label of the narrow kernel's lane: its class, or 0 for a label out of
/// `0..classes`, which only an ignored row can hold (its lane is computed
/// with the others, and never stored) — so every index stays in range.
#[inline(always)]
pub fn lane_label<L: Label>(l: L, classes: usize) -> u32 {
    match l.class_index() {
        Some(k) if k < classes => k as u32,
        _ => 0,
    }
}

/// 1 where `j == y`, else 0: [`onehot`] for the narrow kernel's lanes, whose
/// classes fit in 32 bits (a 32-bit compare is one vector instruction for
/// eight lanes; a 64-bit one is four).
#[inline(always)]
pub fn onehot_lane<F: Float>(j: u32, y: u32) -> F {
    if j == y {
        F::ONE
    } else {
        F::ZERO
    }
}

/// Independent accumulators, one per lane, combined pairwise at the end.
///
/// LLVM shapes the accumulators of a loop to suit what follows it: a tail
/// that adds to lane 0 alone, or the pairwise combination, and it keeps them
/// as pairs of lanes or single lanes instead of one vector register, with
/// shuffles on every chunk. [`barrier`](Self::barrier), which the row
/// kernel's loop over whole chunks ends with (before its tail and the
/// combination), passes the lanes through [`core::hint::black_box`] and so
/// keeps the loop's shape its own, for one store and load per row.
#[derive(Clone, Copy)]
pub struct Lanes<F>(pub [F; LANES]);

impl<F: Float> Lanes<F> {
    /// All lanes 0.
    #[inline(always)]
    pub fn zeros() -> Self {
        Lanes([F::ZERO; LANES])
    }
    /// All lanes `-inf`.
    #[inline(always)]
    pub fn neg_infinity() -> Self {
        Lanes([F::NEG_INFINITY; LANES])
    }
    /// All lanes `+inf`.
    #[inline(always)]
    pub fn infinity() -> Self {
        Lanes([F::INFINITY; LANES])
    }
    /// The same lanes, opaque to the optimiser: the row kernel's loop over
    /// whole chunks ends with it, so that LLVM keeps the accumulators of
    /// that loop in vector registers.
    #[inline(always)]
    pub fn barrier(self) -> Self {
        Lanes(core::hint::black_box(self.0))
    }
    /// Adds `x` to lane `l`.
    #[inline(always)]
    pub fn add(&mut self, l: usize, x: F) {
        self.0[l] += x;
    }
    /// Keeps the larger of lane `l` and `x`, ignoring NaN.
    #[inline(always)]
    pub fn max(&mut self, l: usize, x: F) {
        if x > self.0[l] {
            self.0[l] = x;
        }
    }
    /// Keeps in each lane the larger of it and the same lane of `other`,
    /// ignoring NaN: the maximum of two sets of lanes that took turns (the
    /// two halves of the row kernel's wide chunks). A maximum is the same in
    /// any order but for the sign of a zero, which
    /// [`finite_or_zero`] makes `+0` for a log-sum-exp's shift.
    #[inline(always)]
    pub fn merge_max(&mut self, other: Self) {
        for (l, &x) in other.0.iter().enumerate() {
            self.max(l, x);
        }
    }
    /// Keeps the smaller of lane `l` and `x`, ignoring NaN.
    #[inline(always)]
    pub fn min(&mut self, l: usize, x: F) {
        if x < self.0[l] {
            self.0[l] = x;
        }
    }
    /// Keeps in each lane the smaller of it and the same lane of `other`,
    /// ignoring NaN (as [`merge_max`](Self::merge_max)).
    #[inline(always)]
    pub fn merge_min(&mut self, other: Self) {
        for (l, &x) in other.0.iter().enumerate() {
            self.min(l, x);
        }
    }
    /// Keeps the larger of lane `l` and `x`; NaN sticks.
    #[inline(always)]
    pub fn max_nan(&mut self, l: usize, x: F) {
        if x > self.0[l] || x.is_nan() {
            self.0[l] = x;
        }
    }
    /// The sum of the lanes, pairwise.
    #[inline(always)]
    pub fn sum(self) -> F {
        let mut v = self.0;
        let mut width = LANES;
        while width > 1 {
            width /= 2;
            for i in 0..width {
                v[i] += v[i + width];
            }
        }
        v[0]
    }
    /// The maximum of the lanes, ignoring NaN.
    #[inline(always)]
    pub fn maximum(self) -> F {
        self.0
            .iter()
            .fold(F::NEG_INFINITY, |m, &x| if x > m { x } else { m })
    }
    /// The minimum of the lanes, ignoring NaN.
    #[inline(always)]
    pub fn minimum(self) -> F {
        self.0
            .iter()
            .fold(F::INFINITY, |m, &x| if x < m { x } else { m })
    }
    /// The maximum of the lanes; NaN if any lane is NaN.
    #[inline(always)]
    pub fn maximum_nan(self) -> F {
        let mut m = F::NEG_INFINITY;
        for &x in &self.0 {
            if x.is_nan() {
                return x;
            }
            if x > m {
                m = x;
            }
        }
        m
    }
}

/// A compensated (Neumaier) sum, for totals over the batch.
#[derive(Clone, Copy)]
pub struct Total<F> {
    sum: F,
    compensation: F,
}

impl<F: Float> Total<F> {
    /// 0.
    #[inline(always)]
    pub fn new() -> Self {
        Total {
            sum: F::ZERO,
            compensation: F::ZERO,
        }
    }
    /// Adds `x`.
    #[inline(always)]
    pub fn add(&mut self, x: F) {
        let t = self.sum + x;
        if Real::abs(self.sum) >= Real::abs(x) {
            self.compensation += (self.sum - t) + x;
        } else {
            self.compensation += (x - t) + self.sum;
        }
        self.sum = t;
    }
    /// The sum so far. Infinite or NaN terms give the plain sum.
    #[inline(always)]
    pub fn total(self) -> F {
        let s = self.sum + self.compensation;
        if s.is_finite() {
            s
        } else {
            self.sum
        }
    }
}

impl<F: Float> Default for Total<F> {
    fn default() -> Self {
        Total::new()
    }
}

/// Rows per block of the batch. The blocks, and the tree their partial sums
/// combine in, depend on the batch size only: one thread or many give the
/// same bits.
pub const BLOCK_ROWS: usize = 32;

/// Batches of fewer numbers than this run on the calling thread even with
/// the `rayon` feature. Handing a call to rayon's workers and waking the
/// caller again cost 11–15 µs on a 2-vCPU VM, about the work of
/// cross-entropy's value and gradient on 10k numbers: two threads took
/// cross-entropy over 64×10 from 1.0 to 14–16 µs, and over 1024×10 from 16
/// to 17–22 µs. A costlier declaration gains from two threads below this
/// size (distillation over 1024×10, 1.3–1.5×), so the threshold is a
/// compromise (docs/performance.md, "Small batches on the calling thread").
pub const PARALLEL_FROM: usize = 1 << 14;

/// Runs `block(start, end, parts)` over the batch's blocks of rows, where
/// `parts[k]` is the block's share of `buffers[k]` (`width[k]` numbers per
/// row), in parallel with the `rayon` feature where rayon's pool has more
/// than one thread and the batch holds at least [`PARALLEL_FROM`] numbers
/// (`numbers`: the generated losses pass the rows times the sum of the
/// declaration's dimensions, or the rows where it has none); returns the
/// partial sums combined in a fixed tree.
pub fn blocks<F: Float, const K: usize, const M: usize>(
    n: usize,
    numbers: usize,
    widths: [usize; K],
    buffers: [&mut [F]; K],
    block: impl Fn(usize, usize, [&mut [F]; K]) -> [Total<F>; M] + Sync,
) -> [Total<F>; M] {
    // The size first: asking rayon for its pool starts the global one. A
    // pool of one thread gains nothing, and handing it the blocks costs two
    // wake-ups a call, the worker's and then the caller's: on a VM of two
    // vCPUs about 0.1 ms, 1.2x the time of cross-entropy at 1024x1000
    // (docs/performance.md). So the calling thread walks the same tree
    // itself, as it does for a batch too small to pay for the hand-over.
    #[cfg(feature = "rayon")]
    if numbers >= PARALLEL_FROM && rayon::current_num_threads() > 1 {
        return in_parallel(n, widths, buffers, &block);
    }
    #[cfg(not(feature = "rayon"))]
    let _ = numbers;
    blocks_in_order(n, widths, buffers, block)
}

/// [`blocks`]'s tree with its two halves under `rayon::join` at every node.
#[cfg(feature = "rayon")]
fn in_parallel<F: Float, const K: usize, const M: usize>(
    n: usize,
    widths: [usize; K],
    buffers: [&mut [F]; K],
    block: &(impl Fn(usize, usize, [&mut [F]; K]) -> [Total<F>; M] + Sync),
) -> [Total<F>; M] {
    fn tree<F: Float, const K: usize, const M: usize>(
        first: usize,
        last: usize,
        n: usize,
        widths: [usize; K],
        buffers: [&mut [F]; K],
        block: &(impl Fn(usize, usize, [&mut [F]; K]) -> [Total<F>; M] + Sync),
    ) -> [Total<F>; M] {
        if last - first <= 1 {
            return block(first * BLOCK_ROWS, n.min(last * BLOCK_ROWS), buffers);
        }
        let mid = first + (last - first) / 2;
        let (left, right) = split(buffers, widths, (mid - first) * BLOCK_ROWS);
        let (l, r) = rayon::join(
            || tree(first, mid, n, widths, left, block),
            || tree(mid, last, n, widths, right, block),
        );
        combine(l, r)
    }
    tree(0, n.div_ceil(BLOCK_ROWS).max(1), n, widths, buffers, block)
}

/// [`blocks`] for a block that also adds into a buffer shared by every row
/// (the gradient of shared weights): the blocks run in order on the calling
/// thread, and their partial sums combine in the same tree, so the result is
/// the one [`blocks`] would give. [`blocks`] itself runs a batch this way
/// where it stays on the calling thread.
pub fn blocks_in_order<F: Float, const K: usize, const M: usize>(
    n: usize,
    widths: [usize; K],
    buffers: [&mut [F]; K],
    mut block: impl FnMut(usize, usize, [&mut [F]; K]) -> [Total<F>; M],
) -> [Total<F>; M] {
    fn tree<F: Float, const K: usize, const M: usize>(
        first: usize,
        last: usize,
        n: usize,
        widths: [usize; K],
        buffers: [&mut [F]; K],
        block: &mut impl FnMut(usize, usize, [&mut [F]; K]) -> [Total<F>; M],
    ) -> [Total<F>; M] {
        if last - first <= 1 {
            return block(first * BLOCK_ROWS, n.min(last * BLOCK_ROWS), buffers);
        }
        let mid = first + (last - first) / 2;
        let (left, right) = split(buffers, widths, (mid - first) * BLOCK_ROWS);
        let l = tree(first, mid, n, widths, left, block);
        let r = tree(mid, last, n, widths, right, block);
        combine(l, r)
    }
    tree(
        0,
        n.div_ceil(BLOCK_ROWS).max(1),
        n,
        widths,
        buffers,
        &mut block,
    )
}

/// Each buffer split after `rows` rows.
#[inline]
fn split<F, const K: usize>(
    buffers: [&mut [F]; K],
    widths: [usize; K],
    rows: usize,
) -> ([&mut [F]; K], [&mut [F]; K]) {
    let mut rest: [Option<&mut [F]>; K] = buffers.map(Some);
    let left: [&mut [F]; K] = core::array::from_fn(|k| {
        let whole = rest[k].take().unwrap_or_default();
        let at = (rows * widths[k]).min(whole.len());
        let (l, r) = whole.split_at_mut(at);
        rest[k] = Some(r);
        l
    });
    (left, rest.map(Option::unwrap_or_default))
}

/// The partial sums of two halves, left then right.
#[inline]
fn combine<F: Float, const M: usize>(l: [Total<F>; M], r: [Total<F>; M]) -> [Total<F>; M] {
    core::array::from_fn(|m| {
        let mut t = Total::new();
        t.add(l[m].total());
        t.add(r[m].total());
        t
    })
}

/// -1, 0 or 1 (the zero itself for a zero, NaN for NaN).
// Two selects on one compare each: the chain `if x > 0 .. else if x < 0`
// became a branch per lane in the generated loops (l1_loss's gradient ran
// scalar, 20x slower).
#[inline(always)]
pub fn sign<F: Float>(x: F) -> F {
    let unit = if x < F::ZERO { -F::ONE } else { F::ONE };
    if x.abs() > F::ZERO {
        unit
    } else {
        x
    }
}

/// `x` if finite, else 0; `-0` becomes `+0`, so that a row's maximum gives
/// the same shift in whatever order its lanes were compared.
#[inline(always)]
pub fn finite_or_zero<F: Float>(x: F) -> F {
    if x.is_finite() {
        x + F::ZERO
    } else {
        F::ZERO
    }
}

/// `x / y`, 0 where `x == 0`.
#[inline(always)]
pub fn xdivy<F: Float>(x: F, y: F) -> F {
    if x == F::ZERO {
        F::ZERO
    } else {
        x / y
    }
}

/// 1 where `a > b`, else 0.
#[inline(always)]
pub fn gt<F: Float>(a: F, b: F) -> F {
    if a > b {
        F::ONE
    } else {
        F::ZERO
    }
}

/// 1 where `a >= b`, else 0.
#[inline(always)]
pub fn ge<F: Float>(a: F, b: F) -> F {
    if a >= b {
        F::ONE
    } else {
        F::ZERO
    }
}

/// 1 where `a == b`, else 0.
#[inline(always)]
pub fn eq<F: Float>(a: F, b: F) -> F {
    if a == b {
        F::ONE
    } else {
        F::ZERO
    }
}

/// `exp(a - b)`, with the rounding error of `a - b` compensated (TwoSum):
/// `a - b = d + e` exactly, and `e` joins the exp's reduced argument
/// ([`FastMath::exp_plus_with`](crate::math::FastMath::exp_plus_with)).
/// Without it, `exp(z_j - max)` is off by `|z_j - max| · ε/2` relatively
/// (16 ULP at a distance of 70), and so is a small loss built from it.
#[inline(always)]
pub fn exp_diff<M: MulAdd, F: Float>(a: F, b: F) -> F {
    let d = a - b;
    let e = subtraction_error(a, b, d);
    // Infinite or NaN operands make `e` NaN. Without it the result is the
    // plain exp (0 for `a = -inf`), but NaN where `a - b = +inf`: a `+inf`
    // logit makes its row's sum NaN.
    let e = if e.is_finite() || d == F::INFINITY {
        e
    } else {
        F::ZERO
    };
    d.exp_plus_with::<M>(e)
}

/// The rounding error of `d = a - b` (TwoSum): `a - b = d + error` exactly
/// where the operands are finite.
#[inline(always)]
fn subtraction_error<F: Float>(a: F, b: F, d: F) -> F {
    let a_part = d + b;
    let b_part = d - a_part;
    (a - a_part) + (-b - b_part)
}

/// [`exp_diff`] lane by lane: `exp(a[l] - b[l])`. Where every `a - b` is in
/// the normal range of
/// [`FastMath::exp_normal_with`](crate::math::FastMath::exp_normal_with)
/// (the common case: logits within 86 of their row's maximum), the lanes
/// take the short exp and none of the guards for infinite or NaN operands (a
/// finite `a - b` has finite operands); otherwise each lane takes
/// [`exp_diff`]. The same bits either way. The row kernel passes a chunk of
/// a row and its shift in every lane, and `row_in_range` when its max pass
/// found the whole row in that range ([`exps_in_range`]): the chunk then
/// skips the test. (The narrow kernel, one row per lane,
/// keeps the plain `exp_diff`: the test and branch per column cost it more
/// than the short exp saves, 13.1k instructions a call of cross-entropy at
/// 32×10 against 11.4k.)
#[inline(always)]
pub fn exp_diff_lanes<M: MulAdd, F: Float, const N: usize>(
    a: &[F; N],
    b: &[F; N],
    row_in_range: bool,
) -> [F; N] {
    let mut d = [F::ZERO; N];
    each_lane::<N>(|l| d[l] = a[l] - b[l]);
    let normal = row_in_range || all_within(&d, F::EXP_NORMAL);
    let mut out = [F::ZERO; N];
    if normal {
        each_lane::<N>(|l| {
            let e = subtraction_error(a[l], b[l], d[l]);
            out[l] = d[l].exp_normal_plus_with::<M>(e);
        });
    } else {
        each_lane::<N>(|l| out[l] = exp_diff::<M, F>(a[l], b[l]));
    }
    out
}

/// [`xlogy`] lane by lane: `x[l] ln y[l]`. Where every `y` is a positive
/// normal number (probabilities, typically), the lanes take
/// [`FastMath::ln_normal_with`](crate::math::FastMath::ln_normal_with),
/// without the selects for special values; otherwise each lane takes
/// [`xlogy`]. The same bits either way.
#[inline(always)]
pub fn xlogy_lanes<M: MulAdd, F: Float, const N: usize>(x: &[F; N], y: &[F; N]) -> [F; N] {
    by_domain(
        y,
        F::LN_NORMAL,
        #[inline(always)]
        |l| times_ln(x[l], y[l].ln_normal_with::<M>(), false),
        #[inline(always)]
        |l| xlogy::<M, F>(x[l], y[l]),
    )
}

/// [`xlogy_lanes`] of `x` with itself, `x ln x` (an entropy's terms, `p ln
/// p` of KL): where every `x` is a positive normal number, none is 0, so the
/// lanes skip `xlogy`'s test for a zero `x` too. The same bits.
#[inline(always)]
pub fn xlogx_lanes<M: MulAdd, F: Float, const N: usize>(x: &[F; N]) -> [F; N] {
    by_domain(
        x,
        F::LN_NORMAL,
        #[inline(always)]
        |l| x[l] * x[l].ln_normal_with::<M>(),
        #[inline(always)]
        |l| xlogy::<M, F>(x[l], x[l]),
    )
}

/// `ln x` lane by lane. Where every `x` is a positive normal number, the
/// lanes take [`FastMath::ln_normal_with`](crate::math::FastMath::ln_normal_with),
/// without the selects for special values; otherwise each lane takes
/// `ln_with`. The same bits either way. The selects cost the `ln` of a
/// chunk of 16 about 1.9× its time at AVX-512: 55 instructions against 30
/// (the subnormal input's scaling doubles the integer part of the
/// reduction, and the other special values take compares, mask operations
/// and blends).
#[inline(always)]
pub fn ln_lanes<M: MulAdd, F: Float, const N: usize>(x: &[F; N]) -> [F; N] {
    by_domain(
        x,
        F::LN_NORMAL,
        #[inline(always)]
        |l| x[l].ln_normal_with::<M>(),
        #[inline(always)]
        |l| x[l].ln_with::<M>(),
    )
}

/// `ln(1 + x)` lane by lane, as [`ln_lanes`]: where every `x` is above -1
/// (and not infinite or NaN) the lanes take
/// [`FastMath::ln_1p_normal_with`](crate::math::FastMath::ln_1p_normal_with).
#[inline(always)]
pub fn log1p_lanes<M: MulAdd, F: Float, const N: usize>(x: &[F; N]) -> [F; N] {
    by_domain(
        x,
        F::LN_1P_NORMAL,
        #[inline(always)]
        |l| x[l].ln_1p_normal_with::<M>(),
        #[inline(always)]
        |l| x[l].ln_1p_with::<M>(),
    )
}

/// `short(l)` in every lane `l` where every `x` is in `domain = [lo, hi]`
/// (so none is NaN), else `general(l)` in every lane: one test and one
/// branch for the chunk. The test has no early exit, so that it vectorises.
// Indexed lanes: with `iter_mut().enumerate()` keras_poisson at 1024×1000
// took 1.02× the time.
#[inline(always)]
fn by_domain<F: Float, const N: usize>(
    x: &[F; N],
    (lo, hi): (F, F),
    short: impl Fn(usize) -> F,
    general: impl Fn(usize) -> F,
) -> [F; N] {
    let mut out = [F::ZERO; N];
    if all_within(x, (lo, hi)) {
        each_lane::<N>(|l| out[l] = short(l));
    } else {
        each_lane::<N>(|l| out[l] = general(l));
    }
    out
}

/// Whether every lane of `x` is in `[lo, hi]` (so none is NaN), without an
/// early exit, so that it vectorises.
#[inline(always)]
fn all_within<F: Float, const N: usize>(x: &[F; N], (lo, hi): (F, F)) -> bool {
    let mut within = true;
    each_lane::<N>(|l| within &= (x[l] >= lo) & (x[l] <= hi));
    within
}

/// `true` if any lane of the mask `m` (0s and 1s) is set, without an early
/// exit (as `all_within`), so that a chunk's test is one compare of its
/// lanes, not one branch per lane.
#[inline(always)]
pub fn any_set<F: Float, const N: usize>(m: &[F; N]) -> bool {
    let mut any = false;
    each_lane::<N>(|l| any |= m[l] != F::ZERO);
    any
}

/// Calls `f` with each lane index below `N`, in order, as a loop whose test
/// is at its end. LLVM has no loop to rotate then, which matters to the
/// time a crate takes to build: its loop rotation costs in proportion to the
/// loops times the size of the function around them, and a generated
/// kernel holds thousands of short loops over lanes (the generated code
/// writes its own the same way, see `lane_loop` in `loss-macros`).
#[inline(always)]
fn each_lane<const N: usize>(mut f: impl FnMut(usize)) {
    if N == 0 {
        return;
    }
    let mut l = 0;
    loop {
        f(l);
        l += 1;
        if l == N {
            break;
        }
    }
}

/// The lanes `x`, unchanged, computed by [`exp_diff_lanes`], [`xlogy_lanes`],
/// [`xlogx_lanes`], [`ln_lanes`] or [`log1p_lanes`] in a chunk of the row
/// kernel. In the copy compiled for AVX2 (fused, not `wide`, `f32`) they
/// pass through an optimisation barrier first: without it LLVM's SLP
/// vectoriser computed the short `exp` of a chunk in two halves of four
/// lanes, twice the instructions (cross-entropy at 1024×1000 1.4× slower).
/// The same barrier slows the other copies (the AVX-512 one, `f64`, the
/// baseline), which keep the plain lanes.
#[inline(always)]
pub fn whole_lanes<M: MulAdd, F: Float, const N: usize>(x: [F; N], wide: bool) -> [F; N] {
    if M::FUSED && !wide && core::mem::size_of::<F>() == 4 && cfg!(target_arch = "x86_64") {
        core::hint::black_box(x)
    } else {
        x
    }
}

/// `true` if every `x - shift` of a row whose maximum is `maximum` and
/// minimum `minimum` (both ignoring NaN) is in the range of the short exp
/// (see [`exp_diff_lanes`]): the maximum is finite (so the shift is the
/// maximum) and the minimum within range of it. Each `x - shift` then lies
/// between `minimum - maximum` and 0, as rounding is monotonic. A NaN
/// element's lane still gives NaN: its subtraction's error term is NaN.
#[inline(always)]
pub fn exps_in_range<F: Float>(maximum: F, minimum: F) -> bool {
    let (lo, hi) = F::EXP_NORMAL;
    // The range holds 0, the largest `x - shift`.
    debug_assert!(hi >= F::ZERO);
    maximum.is_finite() && minimum - maximum >= lo
}

/// The maximum and the minimum of `x * h` over a row (NaN ignored, as
/// `Lanes::max` and `Lanes::min` ignore it), from `maximum` and `minimum`,
/// those of the row's `x`: rounding is monotonic, so for a positive finite
/// `h` they are `maximum * h` and `minimum * h`, the same numbers as the
/// products' own extremes (a zero's sign aside), and for a negative one the
/// two swap. This spares a max pass the products and their extremes: a
/// distillation's `z / T` and `t / T`.
///
/// For a zero, infinite or NaN `h` the two may differ from the products'
/// extremes, but not in what a log-sum-exp takes from them: its shift,
/// `finite_or_zero` of the maximum, is 0 either way, and [`exps_in_range`]
/// of the two holds only where it would hold of the products' own (for a
/// zero `h`, where the row's extremes are finite, so every product is ±0
/// or NaN; an infinite or NaN `h` never passes). Where theirs holds and
/// this fails, the exps take the general path: the same bits.
///
/// ```
/// use loss_core::__private::scaled_extremes;
/// assert_eq!(scaled_extremes(3.0f32, -1.5, 0.5), (1.5, -0.75));
/// assert_eq!(scaled_extremes(3.0f32, -1.5, -2.0), (3.0, -6.0));
/// ```
#[inline(always)]
pub fn scaled_extremes<F: Float>(maximum: F, minimum: F, h: F) -> (F, F) {
    if h < F::ZERO {
        (minimum * h, maximum * h)
    } else {
        (maximum * h, minimum * h)
    }
}

/// `x ln y`, 0 where `x == 0` and `y` is not NaN (as [`Real::xlogy`]), with
/// the `ln` of flavour `M`.
// The `ln` is evaluated first and the result chosen by a select: written as
// a branch around the `ln`, inlined into a lane loop of KL(p ‖ softmax z),
// the loop stayed scalar (w2 of the peers bench ran 2.4× slower).
#[inline(always)]
pub fn xlogy<M: MulAdd, F: Float>(x: F, y: F) -> F {
    times_ln(x, y.ln_with::<M>(), y.is_nan())
}

/// `x ln_y`, where `ln_y` is the logarithm of a `y`: 0 where `x == 0` and
/// `y` is not NaN.
#[inline(always)]
fn times_ln<F: Float>(x: F, ln_y: F, y_is_nan: bool) -> F {
    let product = x * ln_y;
    if x == F::ZERO && !y_is_nan {
        F::ZERO
    } else {
        product
    }
}

/// `a` where `cond != 0`, else `b`.
#[inline(always)]
pub fn select<F: Float>(cond: F, a: F, b: F) -> F {
    if cond != F::ZERO {
        a
    } else {
        b
    }
}

/// 1 where `j == y`, else 0.
#[inline(always)]
pub fn onehot<F: Float>(j: usize, y: usize) -> F {
    if j == y {
        F::ONE
    } else {
        F::ZERO
    }
}

/// A row the reference path reads element by element.
pub trait RefRow<R> {
    /// Element `j`.
    fn at(&self, j: usize) -> R;
    /// Number of elements.
    fn len(&self) -> usize;
    /// `true` if there are no elements.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<R: Real> RefRow<R> for [R] {
    #[inline]
    fn at(&self, j: usize) -> R {
        self[j].clone()
    }
    #[inline]
    fn len(&self) -> usize {
        <[R]>::len(self)
    }
}

/// A row of the fast type read as exact numbers of the reference type.
pub struct ConvertedRow<'a, F>(pub &'a [F]);

impl<F: Float, R: Real> RefRow<R> for ConvertedRow<'_, F> {
    #[inline]
    fn at(&self, j: usize) -> R {
        R::from_f64(self.0[j].to_f64())
    }
    #[inline]
    fn len(&self) -> usize {
        self.0.len()
    }
}

/// `n` as a number of the reference type.
pub fn ref_len<R: Real>(n: usize) -> R {
    R::from_f64(n as f64)
}

/// `sum_j f(j)` for the reference path, left to right.
pub fn ref_sum<R: Real>(len: usize, f: impl Fn(usize) -> R) -> R {
    (0..len).fold(R::from_f64(0.0), |acc, j| acc + f(j))
}

/// `max_j f(j)` for the reference path (`len > 0`, checked by the caller).
pub fn ref_max<R: Real>(len: usize, f: impl Fn(usize) -> R) -> R {
    (1..len).fold(f(0), |acc, j| acc.max(f(j)))
}

/// `ln(sum_j exp(f(j)))` for the reference path, shifted by the maximum.
pub fn ref_logsumexp<R: Real>(len: usize, f: impl Fn(usize) -> R) -> R {
    let m = ref_max(len, &f).detached();
    let s = ref_sum(len, |j| (f(j) - m.clone()).exp());
    m + s.ln()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    /// A prefetch is a hint: at any index, in the slice or far past it, it
    /// reads nothing, changes nothing and does not fault.
    #[test]
    fn a_prefetch_anywhere_changes_nothing() {
        let data: [f32; 1000] = core::array::from_fn(|k| k as f32);
        for index in [
            0,
            15,
            16,
            999,
            1000,
            1016,
            1 << 20,
            usize::MAX / 8,
            usize::MAX,
        ] {
            prefetch(&data, index);
        }
        prefetch::<f64>(&[], 3);
        assert!(data.iter().enumerate().all(|(k, &x)| x == k as f32));
    }

    /// Both paths of `exp_diff_lanes` give `exp_diff`'s bits: chunks within
    /// the short exp's range, and chunks with one lane beyond it (far below
    /// the shift, infinite, NaN), which send the whole chunk the long way.
    #[test]
    fn exp_diff_lanes_is_exp_diff_lane_by_lane() {
        use crate::math::{Fused, Plain};
        fn check<M: MulAdd, F: Float>(values: &[F], shifts: &[F]) {
            for &b in shifts {
                for start in 0..values.len() {
                    let a: [F; 16] = core::array::from_fn(|l| values[(start + l) % values.len()]);
                    let got = exp_diff_lanes::<M, F, 16>(&a, &[b; 16], false);
                    for l in 0..16 {
                        let want = exp_diff::<M, F>(a[l], b);
                        assert!(
                            got[l] == want || got[l].is_nan() && want.is_nan(),
                            "exp_diff({:?}, {:?})",
                            a[l].to_f64(),
                            b.to_f64()
                        );
                    }
                }
            }
        }
        let f32s = [
            0.1,
            -3.7,
            12.5,
            -80.0,
            -86.0,
            88.0,
            1e-30,
            -0.0,
            7.25,
            -1.5,
            3.0,
            0.3,
            -2.2,
            4.4,
            -5.5,
            6.6,
            -90.0,
            -200.0,
            f32::NEG_INFINITY,
            f32::INFINITY,
            f32::NAN,
            f32::MAX,
        ];
        let f64s: std::vec::Vec<f64> = f32s.iter().map(|&v| f64::from(v) * 8.1).collect();
        // The first 16 values are in range against a shift of 0 (for f32;
        // scaled by 8.1, against 0 and 101.25 for f64).
        check::<Plain, f32>(&f32s, &[0.0, 12.5, -3.0, 1e5]);
        check::<Fused, f32>(&f32s, &[0.0, 12.5, -3.0, 1e5]);
        check::<Plain, f64>(&f64s, &[0.0, 101.25, -24.3, 1e7]);
        check::<Fused, f64>(&f64s, &[0.0, 101.25, -24.3, 1e7]);
    }

    /// `exp(a - b)` in f32 within 0.72 ULP of the exact value (f64), the
    /// exp's own 0.70 and the little that the subtraction's error adds in
    /// the reduction, on pairs up to 86 apart, where the rounding of `a - b`
    /// alone costs up to 16 ULP; in the general exp and the short one, with
    /// and without fused multiply-add. (Applied after the exp, as `e^d (1 +
    /// e)`, the error was up to 1.14 ULP fused and 1.22 without.)
    #[test]
    fn exp_diff_takes_the_subtractions_error_into_the_reduction() {
        use crate::math::{Fused, Plain};
        fn ulps(x: f32, exact: f64) -> f64 {
            let ulp = 2f64.powi(exact.abs().log2().floor() as i32 - 23);
            (f64::from(x) - exact).abs() / ulp
        }
        fn check<M: MulAdd>(what: &str) {
            let mut state = 0x9e37_79b9_7f4a_7c15_u64;
            let mut uniform = || {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 40) as f32 / (1u64 << 24) as f32
            };
            let mut worst = (0.0, 0.0, 0.0);
            for _ in 0..200_000 {
                let b = uniform() * 40.0 - 20.0;
                let a = b - uniform() * 86.0;
                let exact = (f64::from(a) - f64::from(b)).exp();
                let lanes = exp_diff_lanes::<M, f32, 16>(&[a; 16], &[b; 16], true);
                for x in [exp_diff::<M, f32>(a, b), lanes[0]] {
                    let err = ulps(x, exact);
                    if err > worst.0 {
                        worst = (err, a, b);
                    }
                }
            }
            assert!(worst.0 <= 0.72, "{what}: {worst:?}");
        }
        check::<Fused>("fused");
        check::<Plain>("plain");
    }

    /// `exp(a - b)` far below the shift is exactly 0, and far above it
    /// `+inf` (NaN where `a - b` is `+inf`, as a `+inf` logit makes its
    /// row's sum NaN), however large the rounding error of `a - b` (the
    /// error of `-1e9 - 31` is 31: in the reduction unclamped, it gave a
    /// negative exp).
    #[test]
    fn exp_diff_far_from_the_shift_is_zero_or_infinite() {
        use crate::math::{Fused, Plain};
        fn check<M: MulAdd, F: Float>(below: &[f64], above: &[f64], shifts: &[f64]) {
            let f = F::from_f64;
            for &b in shifts {
                for &a in below {
                    let got = exp_diff::<M, F>(f(a), f(b));
                    assert!(got.to_f64().to_bits() == 0, "exp_diff({a}, {b})");
                    let lanes = exp_diff_lanes::<M, F, 16>(&[f(a); 16], &[f(b); 16], false);
                    assert!(lanes.iter().all(|&x| x.to_f64().to_bits() == 0), "{a}, {b}");
                }
                for &a in above {
                    let got = exp_diff::<M, F>(f(a), f(b));
                    if a == f64::INFINITY {
                        assert!(got.is_nan(), "exp_diff({a}, {b})");
                    } else {
                        assert!(got == F::INFINITY, "exp_diff({a}, {b})");
                    }
                }
            }
        }
        let shifts = [31.0, -3.5, 1e6, 3e6, -3e6, 0.0];
        let below = [-1e9, -3.4e38, -1e20, f64::NEG_INFINITY];
        let above = [1e9, 3.4e38, 1e20, f64::INFINITY];
        check::<Plain, f32>(&below, &above, &shifts);
        check::<Fused, f32>(&below, &above, &shifts);
        let below = [-1e18, -1.7e308, -1e300, -1e9, f64::NEG_INFINITY];
        let above = [1e18, 1.7e308, 1e300, 1e12, f64::INFINITY];
        let shifts = [31.0, -3.5, 1e6, 3e6, -3e6, 0.0, 1e10];
        check::<Plain, f64>(&below, &above, &shifts);
        check::<Fused, f64>(&below, &above, &shifts);
    }

    /// `exp(x - x)` is exactly 1 for every finite `x`, in the short exp and
    /// the guarded one: the compiler finds a row's maximum by it (a
    /// distillation's gradient, `rewrite::expand`).
    #[test]
    fn the_exp_of_a_maximum_less_itself_is_exactly_one() {
        use crate::math::{Fused, Plain};
        fn check<M: MulAdd, F: Float>(values: &[F]) {
            for &x in values {
                assert!(
                    exp_diff::<M, F>(x, x) == F::ONE,
                    "exp_diff({0:?}, {0:?})",
                    x.to_f64()
                );
                for in_range in [false, true] {
                    let lanes = exp_diff_lanes::<M, F, 16>(&[x; 16], &[x; 16], in_range);
                    assert!(lanes.iter().all(|&e| e == F::ONE), "{:?}", x.to_f64());
                }
            }
        }
        let f32s = [
            0.0,
            -0.0,
            1e-30,
            -1e-30,
            3.5,
            -7.25,
            1e4,
            -1e4,
            88.0,
            -104.0,
            3e38,
            f32::MIN_POSITIVE,
        ];
        let f64s: std::vec::Vec<f64> = f32s
            .iter()
            .map(|&v| f64::from(v) * 8.1)
            .chain([1e300, -1e300])
            .collect();
        check::<Plain, f32>(&f32s);
        check::<Fused, f32>(&f32s);
        check::<Plain, f64>(&f64s);
        check::<Fused, f64>(&f64s);
    }

    /// A row that its max pass found in range (`exps_in_range`) takes the
    /// short exp without testing its chunks, and gets `exp_diff`'s bits; a
    /// NaN element still gives NaN. Rows a step beyond the range, or with
    /// an infinite element, are not found in range.
    #[test]
    fn a_row_found_in_range_skips_the_test_with_the_same_bits() {
        use crate::math::{Fused, Plain};
        fn row_max_min<F: Float>(row: &[F; 16]) -> (F, F) {
            let mut extremes = (F::NEG_INFINITY, F::INFINITY);
            for &x in row {
                if x > extremes.0 {
                    extremes.0 = x;
                }
                if x < extremes.1 {
                    extremes.1 = x;
                }
            }
            extremes
        }
        fn check<M: MulAdd, F: Float>(row: [F; 16], in_range: bool) {
            let (max, min) = row_max_min(&row);
            assert_eq!(exps_in_range(max, min), in_range);
            if !in_range {
                return;
            }
            let shift = finite_or_zero(max);
            let got = exp_diff_lanes::<M, F, 16>(&row, &[shift; 16], true);
            for l in 0..16 {
                let want = exp_diff::<M, F>(row[l], shift);
                assert!(
                    got[l].to_f64().to_bits() == want.to_f64().to_bits()
                        || got[l].is_nan() && want.is_nan(),
                    "exp_diff({:?}, {:?})",
                    row[l].to_f64(),
                    shift.to_f64()
                );
            }
        }
        fn rows<M: MulAdd, F: Float>() {
            let (lo, _) = F::EXP_NORMAL;
            let f = F::from_f64;
            let spread: [F; 16] = core::array::from_fn(|l| f(3.5 - l as f64 * 5.7));
            check::<M, F>(spread, true);
            // The lowest element exactly at the range's end, then beyond.
            let mut edge = spread;
            edge[7] = f(3.5) + lo;
            check::<M, F>(edge, true);
            edge[7] = f(3.5) + lo - f(1.0);
            check::<M, F>(edge, false);
            let mut nan = spread;
            nan[4] = F::NAN;
            check::<M, F>(nan, true);
            let zeros: [F; 16] =
                core::array::from_fn(|l| f(if l % 2 == 0 { -0.0 } else { -(l as f64) }));
            check::<M, F>(zeros, true);
            for bad in [F::INFINITY, F::NEG_INFINITY] {
                let mut row = spread;
                row[9] = bad;
                check::<M, F>(row, false);
            }
        }
        rows::<Plain, f32>();
        rows::<Fused, f32>();
        rows::<Plain, f64>();
        rows::<Fused, f64>();
    }

    /// A chunk of sixteen positive normal numbers, in the domains of every
    /// short `ln` (from the smallest to the largest).
    const POSITIVE_NORMALS: [f32; 16] = [
        0.5,
        1e-3,
        0.25,
        1.0,
        3e-20,
        0.75,
        1e-37,
        0.1,
        0.9,
        2.0,
        1e30,
        f32::MAX,
        0.01,
        0.6,
        f32::MIN_POSITIVE,
        0.2,
    ];

    /// Both paths of `xlogy_lanes` and `xlogx_lanes` give `xlogy`'s bits:
    /// chunks of positive normal `y`, and chunks with one zero, subnormal,
    /// negative, infinite or NaN `y`, which send the whole chunk the long
    /// way.
    #[test]
    fn xlogy_lanes_is_xlogy_lane_by_lane() {
        use crate::math::{Fused, Plain};
        fn check<M: MulAdd, F: Float>(ys: &[F], xs: &[F]) {
            for start in 0..ys.len() {
                let y: [F; 16] = core::array::from_fn(|l| ys[(start + l) % ys.len()]);
                let x: [F; 16] = core::array::from_fn(|l| xs[(start + 3 * l) % xs.len()]);
                let got = xlogy_lanes::<M, F, 16>(&x, &y);
                let itself = xlogx_lanes::<M, F, 16>(&y);
                for l in 0..16 {
                    let want = xlogy::<M, F>(x[l], y[l]);
                    assert!(
                        got[l] == want || got[l].is_nan() && want.is_nan(),
                        "xlogy({:?}, {:?})",
                        x[l].to_f64(),
                        y[l].to_f64()
                    );
                    let want = xlogy::<M, F>(y[l], y[l]);
                    assert!(
                        itself[l].to_f64().to_bits() == want.to_f64().to_bits()
                            || itself[l].is_nan() && want.is_nan(),
                        "xlogy({:?}, itself)",
                        y[l].to_f64()
                    );
                }
            }
        }
        // A chunk of positive normal `y`, then `y` outside their domain.
        let ys = [
            &POSITIVE_NORMALS[..],
            &[0.0, -0.0, 1e-40, -0.5, f32::INFINITY, f32::NAN],
        ]
        .concat();
        let xs = [0.0, 0.5, -1.0, 1e-3, 2.5, f32::NAN, 0.25];
        check::<Plain, f32>(&ys, &xs);
        check::<Fused, f32>(&ys, &xs);
        let widen = |v: &[f32]| -> std::vec::Vec<f64> { v.iter().map(|&v| f64::from(v)).collect() };
        let (mut ys64, xs64) = (widen(&ys), widen(&xs));
        ys64[18] = 1e-310; // subnormal in f64 too
        check::<Plain, f64>(&ys64, &xs64);
        check::<Fused, f64>(&ys64, &xs64);
    }

    /// Both paths of `ln_lanes` and `log1p_lanes` give the bits of `ln_with`
    /// and `ln_1p_with`: chunks inside the short functions' domains, and
    /// chunks with one input outside, which send the whole chunk the long
    /// way.
    #[test]
    fn ln_lanes_and_log1p_lanes_are_the_lane_functions() {
        use crate::math::{Fused, Plain};
        fn check<M: MulAdd, F: Float>(xs: &[F]) {
            for start in 0..xs.len() {
                let x: [F; 16] = core::array::from_fn(|l| xs[(start + l) % xs.len()]);
                let (ln, log1p) = (ln_lanes::<M, F, 16>(&x), log1p_lanes::<M, F, 16>(&x));
                for l in 0..16 {
                    for (got, want, name) in [
                        (ln[l], x[l].ln_with::<M>(), "ln"),
                        (log1p[l], x[l].ln_1p_with::<M>(), "log1p"),
                    ] {
                        assert!(
                            got.to_f64().to_bits() == want.to_f64().to_bits()
                                || got.is_nan() && want.is_nan(),
                            "{name}({:?})",
                            x[l].to_f64()
                        );
                    }
                }
            }
        }
        // A chunk inside both domains, then inputs outside one or both.
        let xs = [
            &POSITIVE_NORMALS[..],
            &[
                0.0,
                -0.0,
                1e-40,
                -0.5,
                -0.99999994, // -1 + 2^-24, the lowest input of the short log1p
                -1.0,
                -3.0,
                f32::INFINITY,
                f32::NEG_INFINITY,
                f32::NAN,
            ],
        ]
        .concat();
        check::<Plain, f32>(&xs);
        check::<Fused, f32>(&xs);
        let mut xs64: std::vec::Vec<f64> = xs.iter().map(|&v| f64::from(v)).collect();
        xs64[18] = 1e-310; // subnormal in f64 too
        xs64[20] = -1.0 + f64::EPSILON / 2.0;
        check::<Plain, f64>(&xs64);
        check::<Fused, f64>(&xs64);
    }

    #[test]
    fn per_lane_calls_in_lane_order_and_gather_transposes() {
        let mut calls = [usize::MAX; LANES];
        let mut count = 0;
        let squares: [usize; LANES] = per_lane(|l| {
            calls[count] = l;
            count += 1;
            l * l
        });
        assert_eq!(calls, core::array::from_fn(|l| l));
        assert_eq!(squares, core::array::from_fn(|l| l * l));
        // Three rows of width 3, the last repeated past the live rows.
        let data: [f32; 9] = core::array::from_fn(|x| x as f32);
        let rows = group_rows(0, 3);
        let mut columns = [[0.0; LANES]; NARROW];
        gather(&data, 3, &rows, &mut columns);
        assert_eq!(columns[1][..4], [1.0, 4.0, 7.0, 7.0]);
        let mut row = [0.0; 3];
        scatter(&columns, 2, &mut row);
        assert_eq!(row, [6.0, 7.0, 8.0]);
    }

    #[test]
    fn lanes_sum_pairwise_and_max() {
        let mut l = Lanes::<f64>::zeros();
        for j in 0..100 {
            l.add(j % LANES, j as f64);
        }
        assert_eq!(l.sum(), 4950.0);
        let mut m = Lanes::<f32>::neg_infinity();
        m.max(3, 2.0);
        m.max(5, f32::NAN);
        assert_eq!(m.maximum(), 2.0);
        m.max_nan(5, f32::NAN);
        assert!(m.maximum_nan().is_nan());
    }

    #[test]
    fn a_shift_max_in_halves_is_the_max_in_one_run() {
        // The row kernel's wide chunks put their second halves in lanes of
        // their own and merge them at the end: the same maximum as one run
        // over the chunks in order, NaN ignored, and after `finite_or_zero`
        // the same shift even where only the sign of a zero differs.
        let mut rng = 0x2545_f491_4f6c_dd1d_u64;
        for trial in 0..200 {
            let mut one_run = Lanes::<f32>::neg_infinity();
            let (mut first, mut second) = (Lanes::neg_infinity(), Lanes::neg_infinity());
            for chunk in 0..(trial % 7 + 1) {
                for l in 0..2 * LANES {
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    let x = match rng % 8 {
                        0 => 0.0,
                        1 => -0.0,
                        2 => f32::NAN,
                        3 => f32::NEG_INFINITY,
                        _ => (rng >> 40) as f32 / 1e6 - 9.0 - chunk as f32,
                    };
                    one_run.max(l % LANES, x);
                    if l < LANES {
                        first.max(l, x);
                    } else {
                        second.max(l - LANES, x);
                    }
                }
            }
            first.merge_max(second);
            let (a, b) = (one_run.maximum(), first.maximum());
            assert_eq!(a, b, "trial {trial}");
            assert_eq!(
                finite_or_zero(a).to_bits(),
                finite_or_zero(b).to_bits(),
                "trial {trial}"
            );
        }
        assert_eq!(finite_or_zero(-0.0_f32).to_bits(), 0);
        assert_eq!(finite_or_zero(f64::NEG_INFINITY), 0.0);
        assert_eq!(finite_or_zero(-2.5_f64), -2.5);
    }

    #[test]
    fn whole_lanes_returns_its_lanes_in_every_copy() {
        use crate::math::{Fused, Plain};
        let x = [1.5_f32, -0.0, f32::NAN, f32::INFINITY, 3.0, -7.25, 0.1, 2.0];
        let bits = |v: [f32; 8]| v.map(f32::to_bits);
        for wide in [false, true] {
            assert_eq!(bits(whole_lanes::<Fused, f32, 8>(x, wide)), bits(x));
            assert_eq!(bits(whole_lanes::<Plain, f32, 8>(x, wide)), bits(x));
        }
        let y = [0.25_f64, -1.0];
        assert_eq!(whole_lanes::<Fused, f64, 2>(y, false), y);
    }

    #[test]
    fn sign_is_minus_one_zero_or_one() {
        let chain = |x: f32| {
            if x > 0.0 {
                1.0
            } else if x < 0.0 {
                -1.0
            } else {
                x
            }
        };
        for x in [
            0.0_f32,
            -0.0,
            2.5,
            -2.5,
            1e-45,
            -1e-45,
            f32::INFINITY,
            f32::NEG_INFINITY,
        ] {
            assert_eq!(sign(x).to_bits(), chain(x).to_bits(), "sign({x})");
        }
        assert!(sign(f32::NAN).is_nan());
        assert_eq!(sign(-3.0_f64), -1.0);
    }

    #[test]
    fn total_is_compensated() {
        let mut t = Total::<f64>::new();
        t.add(1.0);
        t.add(1e100);
        t.add(1.0);
        t.add(-1e100);
        assert_eq!(t.total(), 2.0);
    }

    #[test]
    fn shape_checks_name_the_input() {
        let mut b = Batch::new();
        b.samples("z", 3).unwrap();
        let e = b.samples("y", 4).unwrap_err();
        assert_eq!(e.to_string(), "`y` has 4 samples but `z` has 3");
        let e = labels("y", &[0_i64, 2, -1], 3).unwrap_err();
        assert_eq!(e.to_string(), "label `y` at row 2 is -1, outside 0..3");
    }
}
