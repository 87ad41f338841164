//! Run-time selection of the vector instructions the fused kernels use.
//!
//! The generated code is plain Rust written so that LLVM vectorises it; how
//! wide the vectors are depends on the target features it is compiled for.
//! The default build targets baseline x86-64 (SSE2), which leaves most of a
//! modern CPU's width unused (the `exp` kernel runs 2.3× faster with AVX2).
//! [`run`] calls a kernel through a function compiled with AVX-512 or
//! AVX2+FMA when the CPU has them, so one binary gets the wide code on a
//! machine that supports it and stays correct on one that does not.
//!
//! The generated losses call [`run_flavoured`]: at AVX2 and AVX-512 they run
//! their kernels with fused multiply-adds ([`Fused`]),
//! at the baseline without ([`Plain`]; Rust never
//! contracts `a * b + c` by itself). The same operations in the same order
//! give the same bits at any vector width, so AVX2 and AVX-512 agree bit for
//! bit, and the baseline agrees with them within the proven error bounds of
//! `loss_core::math`.
//!
//! ```
//! use loss_core::simd::{self, Level};
//! let sum = simd::run(|| (0..100).map(|i| i as f32).sum::<f32>());
//! assert_eq!(sum, 4950.0);
//! assert!(simd::detected() >= Level::Baseline);
//! ```

use core::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use crate::math::MulAdd;
#[cfg(doc)]
use crate::math::{Fused, Plain};
#[cfg(target_arch = "x86_64")]
use crate::row_vectors::is_f32;
pub use crate::row_vectors::RowVectors;
use crate::Float;

/// A set of vector instructions a kernel can be compiled for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// What the crate is compiled for (SSE2 on x86-64).
    Baseline = 0,
    /// AVX2 and FMA (x86-64).
    Avx2 = 1,
    /// AVX-512 F/BW/DQ/VL (x86-64).
    Avx512 = 2,
}

/// `true` if the crate is compiled for AVX2 and FMA (`-C target-cpu=native`
/// on such a CPU, or `x86-64-v3`): every CPU it runs on has them, so the
/// plain flavour and the baseline copies of the kernels are never compiled.
const COMPILED_FOR_AVX2: bool = cfg!(all(
    target_arch = "x86_64",
    target_feature = "avx2",
    target_feature = "fma"
));

/// `true` if the crate is compiled for [`Level::Avx512`] (and so for AVX2
/// and FMA): the kernels exist in that copy only.
const COMPILED_FOR_AVX512: bool = cfg!(all(
    target_arch = "x86_64",
    target_feature = "avx2",
    target_feature = "fma",
    target_feature = "avx512f",
    target_feature = "avx512bw",
    target_feature = "avx512dq",
    target_feature = "avx512vl"
));

/// The level the crate is compiled for: no code below it exists.
const COMPILED: Level = if COMPILED_FOR_AVX512 {
    Level::Avx512
} else if COMPILED_FOR_AVX2 {
    Level::Avx2
} else {
    Level::Baseline
};

/// The highest level [`run`] may use (for tests and benchmarks); 255 means
/// no cap.
static CAP: AtomicU8 = AtomicU8::new(u8::MAX);

/// Caps the level [`run`] uses, or lifts the cap with `None`. Meant for
/// tests and benchmarks that compare levels. A build for a given CPU
/// (`-C target-cpu=...`) has no code below the level that CPU has, and the
/// cap stops there.
///
/// ```
/// use loss_core::simd::{self, Level};
/// simd::set_max_level(Some(Level::Baseline));
/// // The baseline, in a build for any x86-64 CPU.
/// assert_eq!(simd::current(), simd::compiled());
/// simd::set_max_level(None);
/// assert_eq!(simd::current(), simd::detected());
/// ```
pub fn set_max_level(level: Option<Level>) {
    CAP.store(level.map_or(u8::MAX, |l| l as u8), Ordering::Relaxed);
}

/// `false` once [`set_rows_in_lanes`] has switched the narrow kernel off.
static ROWS_IN_LANES: AtomicBool = AtomicBool::new(true);

/// Switches the generated losses' kernel for short rows on (the default) or
/// off. Rows of at most [`NARROW`](crate::__private::NARROW) numbers run
/// `LANES` rows at a time, one row per vector lane; switched off, they run
/// one row at a time, in vector chunks of the row, as longer rows do. The
/// two give the same bits (they sum in the same order); only the speed
/// differs. Meant for tests and benchmarks that compare the two.
///
/// ```
/// use loss_core::simd;
/// assert!(simd::rows_in_lanes());
/// simd::set_rows_in_lanes(false);
/// assert!(!simd::rows_in_lanes());
/// simd::set_rows_in_lanes(true);
/// ```
pub fn set_rows_in_lanes(enabled: bool) {
    ROWS_IN_LANES.store(enabled, Ordering::Relaxed);
}

/// `true` unless [`set_rows_in_lanes`] switched the kernel for short rows off.
pub fn rows_in_lanes() -> bool {
    ROWS_IN_LANES.load(Ordering::Relaxed)
}

/// The best level this CPU supports: at least [`compiled`], the level the
/// crate is compiled for (without `std`, which detects the rest at run time,
/// that is all it knows).
pub fn detected() -> Level {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    {
        if std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512bw")
            && std::is_x86_feature_detected!("avx512dq")
            && std::is_x86_feature_detected!("avx512vl")
        {
            return Level::Avx512;
        }
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            return Level::Avx2;
        }
    }
    COMPILED
}

/// The level the crate is compiled for: [`Level::Baseline`] unless it is
/// built for a CPU with AVX2 and FMA (`-C target-cpu=native` on one, or
/// `x86-64-v3`), and then the generated losses hold their kernels for that
/// level and above only (a smaller, faster build).
///
/// ```
/// use loss_core::simd;
/// assert!(simd::compiled() <= simd::detected());
/// ```
pub fn compiled() -> Level {
    COMPILED
}

/// The level [`run`] uses now: [`detected`], capped by [`set_max_level`]
/// but never below what the crate is compiled for.
pub fn current() -> Level {
    let cap = CAP.load(Ordering::Relaxed);
    let level = detected();
    let capped = if (level as u8) <= cap {
        level
    } else if cap >= Level::Avx2 as u8 {
        Level::Avx2
    } else {
        Level::Baseline
    };
    capped.max(COMPILED)
}

/// Runs `kernel`, compiled for the [`current`] level. For the wide code to
/// reach the kernel's loops, the kernel must be inlined into this call
/// (`#[inline(always)]` on the closure, as the generated code does).
#[inline(always)]
pub fn run<R>(kernel: impl FnOnce() -> R) -> R {
    // Constant tests first: in a build for one CPU the other copies are
    // never compiled.
    if COMPILED_FOR_AVX512 {
        return kernel();
    }
    #[cfg(target_arch = "x86_64")]
    match current() {
        Level::Avx512 => return wide::avx512(kernel),
        Level::Avx2 => return wide::avx2(kernel),
        Level::Baseline => {}
    }
    kernel()
}

/// Runs a kernel written for both [`MulAdd`] flavours: `fused` where the
/// [`current`] level has FMA (AVX2, AVX-512; and aarch64, whose baseline has
/// it), else `plain`. Each receives the token of its flavour ([`Fma`] or
/// [`NoFma`]), through which it runs its loops: what runs around them (the
/// checks and set-up of a batch) stays baseline code, so each loop exists in
/// one copy per level it can run at, not one per pair of levels. The
/// generated losses call this, so their results are the same bits at AVX2
/// and AVX-512 (and on any number of threads), and within the documented ULP
/// bounds of the baseline's.
///
/// `state` (the buffers the kernel writes) moves into the one that runs.
///
/// ```
/// use loss_core::math::{FastMath, Fused, Plain};
/// use loss_core::simd::run_flavoured;
/// let mut out = [0.0_f32; 2];
/// run_flavoured(
///     &mut out,
///     |out, fma| fma.run(|| out.iter_mut().for_each(|o| *o = 0.3_f32.exp_with::<Fused>())),
///     |out, plain| plain.run(|| out.iter_mut().for_each(|o| *o = 0.3_f32.exp_with::<Plain>())),
/// );
/// assert!((out[1] - 1.349_858_8).abs() <= 2.0 * f32::EPSILON);
/// ```
#[inline(always)]
pub fn run_flavoured<S, R>(
    state: S,
    fused: impl FnOnce(S, Fma) -> R,
    plain: impl FnOnce(S, NoFma) -> R,
) -> R {
    if COMPILED_FOR_AVX2 {
        return fused(state, Fma(()));
    }
    match Fma::detect() {
        Some(fma) if has_fma() => fused(state, fma),
        _ => plain(state, NoFma),
    }
}

/// `true` if the [`current`] level has fused multiply-add instructions.
fn has_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    return current() >= Level::Avx2;
    #[cfg(all(feature = "std", target_arch = "aarch64"))]
    return true;
    #[allow(unreachable_code)]
    false
}

/// Proof that this CPU has fused multiply-add instructions (on x86-64, AVX2
/// and FMA or better): the [`Fused`] flavour's kernels run through it.
///
/// Unlike [`run_as::<Fused, _>`](run_as), it needs no copy of a kernel for a
/// CPU without FMA, which is what the generated losses rely on to keep their
/// code small: [`run_flavoured`] hands it to the fused kernel only where it
/// exists.
///
/// ```
/// use loss_core::math::{Fused, MulAdd};
/// use loss_core::simd::Fma;
/// if let Some(fma) = Fma::detect() {
///     assert_eq!(fma.run(|| Fused::f32(3.0, 2.0, 1.0)), 7.0);
/// }
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Fma(());

impl Fma {
    /// The proof, if the CPU has FMA (whatever [`set_max_level`] says: the
    /// cap chooses a flavour in [`run_flavoured`], it does not make the
    /// instructions go away).
    pub fn detect() -> Option<Self> {
        #[cfg(target_arch = "x86_64")]
        return (detected() >= Level::Avx2).then_some(Fma(()));
        #[cfg(all(feature = "std", target_arch = "aarch64"))]
        return Some(Fma(()));
        #[allow(unreachable_code)]
        None
    }

    /// Runs `kernel` compiled for AVX-512 if [`current`] allows it, else for
    /// AVX2 and FMA (on x86-64; elsewhere as compiled). The two give the
    /// same bits when the kernel uses only [`Fused`] arithmetic. `kernel`
    /// must be inlined into this call (`#[inline(always)]` on the closure)
    /// for the wide code to reach its loops.
    #[inline(always)]
    pub fn run<R>(self, kernel: impl FnOnce() -> R) -> R {
        if COMPILED_FOR_AVX512 {
            return kernel();
        }
        #[cfg(target_arch = "x86_64")]
        {
            if current() == Level::Avx512 {
                return wide::avx512(kernel);
            }
            // The proof says the CPU has AVX2 and FMA, whatever the cap.
            wide::avx2(kernel)
        }
        #[cfg(not(target_arch = "x86_64"))]
        kernel()
    }

    /// Runs a row kernel written in two versions, compiled for the widest
    /// instructions that suit it: `kernel(true)`, whose chunks hold
    /// [`WIDE`](crate::__private::WIDE) = 2 × `LANES` numbers, at AVX-512
    /// when the numbers are f32 (a chunk fills a 512-bit register); else
    /// `kernel(false)`, chunks of [`LANES`](crate::__private::LANES), as
    /// [`run`](Self::run) would (f64 fills a 512-bit register with `LANES`;
    /// at AVX2 twice `LANES` spills, measured 1.45× slower). The generated
    /// losses' two versions sum in the same order: the same bits.
    ///
    /// ```
    /// use loss_core::simd::Fma;
    /// if let Some(fma) = Fma::detect() {
    ///     let width = fma.run_rows::<f32, _>(|wide| if wide { 16 } else { 8 });
    ///     assert!(width == 16 || width == 8);
    /// }
    /// ```
    #[inline(always)]
    pub fn run_rows<F, R>(self, kernel: impl FnOnce(bool) -> R) -> R {
        if COMPILED_FOR_AVX512 {
            return kernel(chunks_are_wide::<F>());
        }
        #[cfg(target_arch = "x86_64")]
        {
            if current() == Level::Avx512 {
                // One copy for both types, the width tested inside it, where
                // it is a constant: a branch between two closures compiled
                // both, and LLVM spent a second of distillation's build on
                // the one never called. A width computed out here would
                // reach the copy through the closure's captures, as a load
                // (docs/performance.md).
                return wide::avx512(
                    #[inline(always)]
                    || kernel(chunks_are_wide::<F>()),
                );
            }
            wide::avx2(
                #[inline(always)]
                || kernel(false),
            )
        }
        #[cfg(not(target_arch = "x86_64"))]
        kernel(false)
    }

    /// Runs the generated losses' kernel for short rows on `state` (what
    /// it writes, handed to whichever version runs): `vectors`, compiled for
    /// AVX-512 with the proof it needs, where the [`current`] level is
    /// AVX-512, `F` is f32 and `fits` (every row has at most
    /// [`ROW`](crate::__private::ROW) numbers); else `lanes`, as
    /// [`run_narrow`](Self::run_narrow). The two give the same bits.
    ///
    /// ```
    /// use loss_core::simd::Fma;
    /// if let Some(fma) = Fma::detect() {
    ///     let mut out = "";
    ///     fma.run_short_rows::<f32, _, _>(true, &mut out, |o, _| *o = "row vectors", |o| *o = "lanes");
    ///     assert!(out == "row vectors" || out == "lanes");
    /// }
    /// ```
    #[inline(always)]
    pub fn run_short_rows<F: Float, S, R>(
        self,
        fits: bool,
        state: S,
        vectors: impl FnOnce(S, RowVectors) -> R,
        lanes: impl FnOnce(S) -> R,
    ) -> R {
        #[cfg(target_arch = "x86_64")]
        // `F::IS_F32` first, a constant: an f64 instantiation compiles
        // neither this branch nor the `vectors` kernel it alone calls.
        if F::IS_F32 && fits && is_f32::<F>() && (COMPILED_FOR_AVX512 || current() == Level::Avx512)
        {
            // The proof: the level is AVX-512 (so the CPU has it) and the
            // numbers are f32 (their `TypeId`, which unsafe code can trust
            // where a trait's constant could lie).
            return wide::avx512(
                #[inline(always)]
                || vectors(state, RowVectors::assume()),
            );
        }
        let _ = (fits, vectors);
        self.run_narrow(
            #[inline(always)]
            || lanes(state),
        )
    }

    /// Runs `kernel` compiled for AVX2 and FMA only (on x86-64; elsewhere as
    /// compiled), even where AVX-512 is available: for kernels whose vectors
    /// are [`LANES`](crate::__private::LANES) numbers wide, as the generated
    /// losses' kernel for short rows is, which in f32 fill an AVX2 register
    /// and so would gain little from a second copy for AVX-512.
    #[inline(always)]
    pub fn run_narrow<R>(self, kernel: impl FnOnce() -> R) -> R {
        if COMPILED_FOR_AVX2 {
            return kernel();
        }
        #[cfg(target_arch = "x86_64")]
        return wide::avx2(kernel);
        #[cfg(not(target_arch = "x86_64"))]
        kernel()
    }
}

/// Whether a row kernel at AVX-512 takes chunks of
/// [`WIDE`](crate::__private::WIDE) numbers of `F`: where `F` is f32, so that
/// a chunk fills a 512-bit register (see [`Fma::run_rows`]).
#[inline(always)]
const fn chunks_are_wide<F>() -> bool {
    core::mem::size_of::<F>() == 4
}

/// The token of the [`Plain`] flavour, which runs anywhere: its kernels are
/// baseline code (what the crate is compiled for). The counterpart of
/// [`Fma`], so that code written for both flavours reads the same.
///
/// ```
/// use loss_core::simd::NoFma;
/// assert_eq!(NoFma.run(|| 2 + 2), 4);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct NoFma;

impl NoFma {
    /// Runs `kernel` as compiled.
    #[inline(always)]
    pub fn run<R>(self, kernel: impl FnOnce() -> R) -> R {
        kernel()
    }

    /// Runs `kernel(false)` (chunks of `LANES`) as compiled: the
    /// counterpart of [`Fma::run_rows`]; the baseline has no register that
    /// wider chunks would fill.
    #[inline(always)]
    pub fn run_rows<F, R>(self, kernel: impl FnOnce(bool) -> R) -> R {
        kernel(false)
    }

    /// Runs `kernel` as compiled: the counterpart of [`Fma::run_narrow`].
    #[inline(always)]
    pub fn run_narrow<R>(self, kernel: impl FnOnce() -> R) -> R {
        kernel()
    }

    /// Runs `lanes`: the counterpart of [`Fma::run_short_rows`] (the plain
    /// flavour has no AVX-512).
    #[inline(always)]
    pub fn run_short_rows<F: Float, S, R>(
        self,
        fits: bool,
        state: S,
        vectors: impl FnOnce(S, RowVectors) -> R,
        lanes: impl FnOnce(S) -> R,
    ) -> R {
        let _ = (fits, vectors);
        lanes(state)
    }
}

/// What the two flavour tokens, [`Fma`] and [`NoFma`], have in common: the
/// generated losses write their kernel once, as a function generic over
/// this trait, and [`run_flavoured`] calls it with the token the CPU has.
/// One body in the source instead of one per flavour halves the work of the
/// compiler's front end (borrow checking grows faster than the body does);
/// each token still gets its own compiled copy. Sealed: a token is a proof
/// about the CPU, which only this crate makes.
///
/// ```
/// use loss_core::math::{FastMath, MulAdd};
/// use loss_core::simd::{self, Flavour};
/// fn exp_of_one<T: Flavour>(token: T) -> f32 {
///     token.run_rows::<f32, _>(|_wide| 1.0_f32.exp_with::<T::Math>())
/// }
/// let e = simd::run_flavoured((), |(), fma| exp_of_one(fma), |(), plain| exp_of_one(plain));
/// assert!((e - core::f32::consts::E).abs() <= f32::EPSILON * 3.0);
/// ```
pub trait Flavour: crate::sealed::Sealed + Copy + Send + Sync + 'static {
    /// The multiply-add the kernels of this flavour compute with.
    type Math: MulAdd;
    /// Whether the generated losses run short rows in their narrow kernel
    /// ([`run_narrow`](Self::run_narrow)) in this flavour, or every row in
    /// the row kernel (the two give the same bits). A `const`, so that a
    /// kernel never taken is never compiled.
    const NARROW: bool;
    /// Runs a row kernel written in two versions (see [`Fma::run_rows`]).
    fn run_rows<F, R>(self, kernel: impl FnOnce(bool) -> R) -> R;
    /// Runs a kernel over vectors of `LANES` numbers (see
    /// [`Fma::run_narrow`]).
    fn run_narrow<R>(self, kernel: impl FnOnce() -> R) -> R;
    /// Runs the kernel for short rows in one of its two layouts (see
    /// [`Fma::run_short_rows`]).
    fn run_short_rows<F: Float, S, R>(
        self,
        fits: bool,
        state: S,
        vectors: impl FnOnce(S, RowVectors) -> R,
        lanes: impl FnOnce(S) -> R,
    ) -> R;
}

impl Flavour for Fma {
    type Math = crate::math::Fused;
    const NARROW: bool = true;
    #[inline(always)]
    fn run_rows<F, R>(self, kernel: impl FnOnce(bool) -> R) -> R {
        Fma::run_rows::<F, R>(self, kernel)
    }
    #[inline(always)]
    fn run_narrow<R>(self, kernel: impl FnOnce() -> R) -> R {
        Fma::run_narrow(self, kernel)
    }
    #[inline(always)]
    fn run_short_rows<F: Float, S, R>(
        self,
        fits: bool,
        state: S,
        vectors: impl FnOnce(S, RowVectors) -> R,
        lanes: impl FnOnce(S) -> R,
    ) -> R {
        Fma::run_short_rows::<F, S, R>(self, fits, state, vectors, lanes)
    }
}

impl Flavour for NoFma {
    type Math = crate::math::Plain;
    /// On x86-64 the plain flavour runs only on a CPU without AVX2 and FMA
    /// (older than 2013, or a VM that hides them), and there every row runs
    /// in the row kernel: short rows about 2× slower there, and one kernel
    /// fewer in every `loss!` declaration for everyone (a quarter of the
    /// machine code of the three mission composites; docs/performance.md).
    /// Elsewhere it is the main flavour and keeps the narrow kernel.
    const NARROW: bool = !cfg!(target_arch = "x86_64");
    #[inline(always)]
    fn run_rows<F, R>(self, kernel: impl FnOnce(bool) -> R) -> R {
        NoFma::run_rows::<F, R>(self, kernel)
    }
    #[inline(always)]
    fn run_narrow<R>(self, kernel: impl FnOnce() -> R) -> R {
        NoFma::run_narrow(self, kernel)
    }
    #[inline(always)]
    fn run_short_rows<F: Float, S, R>(
        self,
        fits: bool,
        state: S,
        vectors: impl FnOnce(S, RowVectors) -> R,
        lanes: impl FnOnce(S) -> R,
    ) -> R {
        NoFma::run_short_rows::<F, S, R>(self, fits, state, vectors, lanes)
    }
}

/// Runs one flavour's kernel at the widest level that suits it: a [`Fused`]
/// kernel compiled for the [`current`] level, a [`Plain`] one at the
/// baseline. Unlike [`Fma::run`] it works on any CPU: a fused kernel on one
/// without FMA (or with the level capped below AVX2) runs as compiled, its
/// fused multiply-adds as library calls, correct and slow. That fallback is
/// a third copy of the kernel, which is why the generated losses go through
/// [`run_flavoured`] and the tokens instead; this is for tests and
/// benchmarks that run a flavour on whatever machine they are on.
///
/// ```
/// use loss_core::math::{FastMath, Plain};
/// let e = loss_core::simd::run_as::<Plain, _>(|| 1.0_f64.exp_with::<Plain>());
/// assert_eq!(e, loss_core::math::exp_f64(1.0));
/// ```
#[inline(always)]
pub fn run_as<M: MulAdd, R>(kernel: impl FnOnce() -> R) -> R {
    if M::FUSED {
        run(kernel)
    } else {
        kernel()
    }
}

/// One of the two places this crate uses `unsafe` (the other is
/// `__private::prefetch`, a cache hint): calling a function compiled for
/// target features. The call is sound exactly when the CPU has them, which
/// the callers checked ([`current`], or the [`Fma`] proof). Measured gain: see docs/performance.md (the `exp`
/// kernel alone runs 2.3× faster with AVX2 than with SSE2).
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod wide {
    #[inline(always)]
    pub fn avx2<R>(kernel: impl FnOnce() -> R) -> R {
        #[target_feature(enable = "avx2,fma")]
        fn with_avx2<R>(kernel: impl FnOnce() -> R) -> R {
            kernel()
        }
        // SAFETY: every caller checked that the CPU has AVX2 and FMA: `current()`
        // returned `Avx2` or better, or an `Fma` exists (`detected()` did).
        unsafe { with_avx2(kernel) }
    }

    #[inline(always)]
    pub fn avx512<R>(kernel: impl FnOnce() -> R) -> R {
        #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")]
        fn with_avx512<R>(kernel: impl FnOnce() -> R) -> R {
            kernel()
        }
        // SAFETY: `current()` returned `Avx512`, so the CPU has these features.
        unsafe { with_avx512(kernel) }
    }
}
