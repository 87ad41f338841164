//! Dyadic rationals `m · 2^e` with exact arithmetic and directed rounding.
//!
//! Interval endpoints are kept in this form: rounding a rational outward to
//! `p` bits always yields a dyadic number, and keeping the power of two apart
//! spares every operation the gcd normalisation a general `BigRational` pays.
//! Endpoints are exposed as `BigRational` through [`Dyadic::to_rational`].

use core::cmp::Ordering;

use num_bigint::{BigInt, Sign};
use num_integer::Integer;
use num_rational::BigRational;
use num_traits::{One, Signed, ToPrimitive, Zero};

/// The direction in which a result is rounded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Round {
    /// Towards minus infinity: the result is a lower bound.
    Down,
    /// Towards plus infinity: the result is an upper bound.
    Up,
}

/// `mant · 2^exp`, normalised so that `mant` is odd, or `mant = 0, exp = 0`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Dyadic {
    mant: BigInt,
    exp: i64,
}

/// `floor(n / 2^k)` for `k >= 0` (num-bigint's `>>` on a negative `BigInt`
/// rounds towards minus infinity).
fn shr_floor(n: &BigInt, k: u64) -> BigInt {
    n >> k
}

fn shr_ceil(n: &BigInt, k: u64) -> BigInt {
    -((-n) >> k)
}

fn shr_round(n: &BigInt, k: u64, dir: Round) -> BigInt {
    match dir {
        Round::Down => shr_floor(n, k),
        Round::Up => shr_ceil(n, k),
    }
}

fn div_round(n: &BigInt, d: &BigInt, dir: Round) -> BigInt {
    match dir {
        Round::Down => n.div_floor(d),
        Round::Up => -((-n).div_floor(d)),
    }
}

impl Dyadic {
    pub(crate) fn zero() -> Dyadic {
        Dyadic {
            mant: BigInt::zero(),
            exp: 0,
        }
    }

    pub(crate) fn one() -> Dyadic {
        Dyadic::from_i64(1)
    }

    /// `mant · 2^exp`, normalised.
    pub(crate) fn new(mant: BigInt, exp: i64) -> Dyadic {
        match mant.trailing_zeros() {
            None => Dyadic::zero(),
            Some(0) => Dyadic { mant, exp },
            Some(tz) => Dyadic {
                mant: mant >> tz,
                exp: exp + tz as i64,
            },
        }
    }

    pub(crate) fn from_i64(v: i64) -> Dyadic {
        Dyadic::new(BigInt::from(v), 0)
    }

    /// `2^e`.
    pub(crate) fn pow2(e: i64) -> Dyadic {
        Dyadic {
            mant: BigInt::one(),
            exp: e,
        }
    }

    /// The exact value of a finite `f64` (every finite `f64` is dyadic).
    pub(crate) fn from_f64(x: f64) -> Option<Dyadic> {
        if !x.is_finite() {
            return None;
        }
        let bits = x.to_bits();
        let negative = bits >> 63 == 1;
        let biased = ((bits >> 52) & 0x7ff) as i64;
        let fraction = bits & ((1u64 << 52) - 1);
        let (m, e) = if biased == 0 {
            (fraction, -1074)
        } else {
            (fraction | (1u64 << 52), biased - 1075)
        };
        let m = BigInt::from(m);
        Some(Dyadic::new(if negative { -m } else { m }, e))
    }

    pub(crate) fn is_zero(&self) -> bool {
        self.mant.is_zero()
    }

    pub(crate) fn sign(&self) -> Sign {
        self.mant.sign()
    }

    pub(crate) fn is_negative(&self) -> bool {
        self.mant.is_negative()
    }

    pub(crate) fn is_positive(&self) -> bool {
        self.mant.is_positive()
    }

    /// `floor(log2 |self|)`; meaningless for zero (returns `i64::MIN`).
    pub(crate) fn top(&self) -> i64 {
        if self.is_zero() {
            i64::MIN
        } else {
            self.exp + self.mant.bits() as i64 - 1
        }
    }

    pub(crate) fn neg(&self) -> Dyadic {
        Dyadic {
            mant: -&self.mant,
            exp: self.exp,
        }
    }

    pub(crate) fn abs(&self) -> Dyadic {
        Dyadic {
            mant: self.mant.abs(),
            exp: self.exp,
        }
    }

    /// `self · 2^k`, exact.
    pub(crate) fn shift(&self, k: i64) -> Dyadic {
        if self.is_zero() {
            return Dyadic::zero();
        }
        Dyadic {
            mant: self.mant.clone(),
            exp: self.exp + k,
        }
    }

    pub(crate) fn mul_exact(&self, other: &Dyadic) -> Dyadic {
        if self.is_zero() || other.is_zero() {
            return Dyadic::zero();
        }
        // odd · odd is odd: already normalised.
        Dyadic {
            mant: &self.mant * &other.mant,
            exp: self.exp + other.exp,
        }
    }

    pub(crate) fn add_exact(&self, other: &Dyadic) -> Dyadic {
        if self.is_zero() {
            return other.clone();
        }
        if other.is_zero() {
            return self.clone();
        }
        let e = self.exp.min(other.exp);
        let a = &self.mant << (self.exp - e) as u64;
        let b = &other.mant << (other.exp - e) as u64;
        Dyadic::new(a + b, e)
    }

    pub(crate) fn sub_exact(&self, other: &Dyadic) -> Dyadic {
        self.add_exact(&other.neg())
    }

    /// Rounds to at most `prec` significant bits in direction `dir`.
    pub(crate) fn round(&self, prec: u32, dir: Round) -> Dyadic {
        let bits = self.mant.bits();
        if bits <= u64::from(prec) {
            return self.clone();
        }
        let drop = bits - u64::from(prec);
        Dyadic::new(shr_round(&self.mant, drop, dir), self.exp + drop as i64)
    }

    /// `self + other` rounded to `prec` bits in direction `dir`.
    ///
    /// When the smaller operand lies far below the last bit of the larger
    /// one, it is replaced by a single "sticky" bit of the same sign. Why this
    /// gives the same rounded result: let `L = M·2^E` (M odd) be the larger
    /// operand and `P = min(E - 2, top(L) - prec - 1)`. Every representable
    /// `prec`-bit number near `L` (in its binade or the one below) is a
    /// multiple of `g >= 2^(top(L) - prec) >= 2^(P + 1)`, and `L` is a multiple
    /// of `2^(P + 2)`; so no representable number lies strictly between `L`
    /// and `L ± 2^P`. Any `t` with `0 < |t| < 2^P` therefore rounds `L + t`
    /// exactly as it rounds `L + sign(t)·2^(P-1)`. This bounds the cost of
    /// `1 + e^-10000` by the precision instead of by the exponent gap.
    pub(crate) fn add_round(&self, other: &Dyadic, prec: u32, dir: Round) -> Dyadic {
        if self.is_zero() {
            return other.round(prec, dir);
        }
        if other.is_zero() {
            return self.round(prec, dir);
        }
        let (big, small) = if self.top() >= other.top() {
            (self, other)
        } else {
            (other, self)
        };
        let p = (big.exp - 2).min(big.top() - i64::from(prec) - 1);
        if small.top() < p {
            let sticky = Dyadic {
                mant: if small.is_negative() {
                    -BigInt::one()
                } else {
                    BigInt::one()
                },
                exp: p - 1,
            };
            return big.add_exact(&sticky).round(prec, dir);
        }
        big.add_exact(small).round(prec, dir)
    }

    pub(crate) fn sub_round(&self, other: &Dyadic, prec: u32, dir: Round) -> Dyadic {
        self.add_round(&other.neg(), prec, dir)
    }

    pub(crate) fn mul_round(&self, other: &Dyadic, prec: u32, dir: Round) -> Dyadic {
        self.mul_exact(other).round(prec, dir)
    }

    /// `self / other` (`other != 0`) rounded to `prec` bits in direction `dir`.
    pub(crate) fn div_round(&self, other: &Dyadic, prec: u32, dir: Round) -> Dyadic {
        assert!(!other.is_zero(), "Dyadic::div_round by zero");
        if self.is_zero() {
            return Dyadic::zero();
        }
        // Scale the numerator so that the integer quotient has at least
        // prec + 1 bits; the directed integer division is then a bound, and
        // rounding it again in the same direction stays a bound.
        let want = i64::from(prec) + 2 + other.mant.bits() as i64 - self.mant.bits() as i64;
        let s = want.max(0);
        let num = &self.mant << s as u64;
        let q = div_round(&num, &other.mant, dir);
        Dyadic::new(q, self.exp - other.exp - s).round(prec, dir)
    }

    /// `sqrt(self)` (`self >= 0`) rounded to `prec` bits in direction `dir`.
    pub(crate) fn sqrt_round(&self, prec: u32, dir: Round) -> Dyadic {
        assert!(
            !self.is_negative(),
            "Dyadic::sqrt_round of a negative number"
        );
        if self.is_zero() {
            return Dyadic::zero();
        }
        // self = N · 2^(exp - t) with exp - t even and N of at least 2·prec + 4
        // bits, so floor(sqrt(N)) has at least prec + 2 bits.
        let mut t = (2 * i64::from(prec) + 4 - self.mant.bits() as i64).max(0);
        if (self.exp - t).rem_euclid(2) != 0 {
            t += 1;
        }
        let n = &self.mant << t as u64;
        let mut r = n.sqrt();
        if dir == Round::Up && &r * &r != n {
            r += 1;
        }
        Dyadic::new(r, (self.exp - t) / 2).round(prec, dir)
    }

    /// The nearest dyadic with `prec` bits below or above `q`.
    pub(crate) fn from_rational(q: &BigRational, prec: u32, dir: Round) -> Dyadic {
        let numer = Dyadic::new(q.numer().clone(), 0);
        let denom = Dyadic::new(q.denom().clone(), 0);
        numer.div_round(&denom, prec, dir)
    }

    pub(crate) fn to_rational(&self) -> BigRational {
        if self.exp >= 0 {
            BigRational::from_integer(&self.mant << self.exp as u64)
        } else {
            // mant is odd and the denominator a power of two: already reduced.
            BigRational::new_raw(self.mant.clone(), BigInt::one() << (-self.exp) as u64)
        }
    }

    /// The nearest `f64` in direction `dir` (infinite beyond the range when
    /// rounding away from zero, `±f64::MAX` when rounding towards zero).
    pub(crate) fn to_f64(&self, dir: Round) -> f64 {
        if self.is_zero() {
            return 0.0;
        }
        let top = self.top();
        if top > 1023 {
            let positive = self.is_positive();
            return match (positive, dir) {
                (true, Round::Up) => f64::INFINITY,
                (true, Round::Down) => f64::MAX,
                (false, Round::Down) => f64::NEG_INFINITY,
                (false, Round::Up) => -f64::MAX,
            };
        }
        // Significant bits available at this magnitude (fewer for subnormals).
        let avail = (top + 1074 + 1).min(53);
        if avail <= 0 {
            let tiny = f64::from_bits(1);
            return match (self.is_positive(), dir) {
                (true, Round::Up) => tiny,
                (true, Round::Down) => 0.0,
                (false, Round::Down) => -tiny,
                (false, Round::Up) => -0.0,
            };
        }
        let r = self.round(avail as u32, dir);
        if r.top() > 1023 {
            return if r.is_positive() {
                f64::INFINITY
            } else {
                f64::NEG_INFINITY
            };
        }
        let m = r.mant.to_f64().expect("at most 53 bits");
        // r may have gained a bit (rounding up to a power of two); both
        // factors stay exact because the product is representable.
        m * pow2_f64(r.exp)
    }

    /// The nearest `f64` (ties of the approximation do not matter: used for
    /// estimates only).
    pub(crate) fn to_f64_approx(&self) -> f64 {
        self.to_f64(Round::Down)
    }
}

/// `2^e` as an `f64`, for `-1074 <= e <= 1023`; products with a mantissa of at
/// most 53 bits are then exact whenever the result is representable. Outside
/// that range the exponent is split in two steps.
fn pow2_f64(e: i64) -> f64 {
    let one = |e: i64| -> f64 {
        if e >= -1022 {
            f64::from_bits(((e + 1023) as u64) << 52)
        } else {
            f64::from_bits(1u64 << (e + 1074))
        }
    };
    if e < -1074 {
        one(e + 600) * one(-600)
    } else if e > 1023 {
        one(e - 600) * one(600)
    } else {
        one(e)
    }
}

impl PartialOrd for Dyadic {
    fn partial_cmp(&self, other: &Dyadic) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Dyadic {
    fn cmp(&self, other: &Dyadic) -> Ordering {
        let (sa, sb) = (self.sign(), other.sign());
        if sa != sb {
            let rank = |s: Sign| match s {
                Sign::Minus => 0,
                Sign::NoSign => 1,
                Sign::Plus => 2,
            };
            return rank(sa).cmp(&rank(sb));
        }
        if sa == Sign::NoSign {
            return Ordering::Equal;
        }
        let by_magnitude = self.top().cmp(&other.top());
        if by_magnitude != Ordering::Equal {
            return if sa == Sign::Plus {
                by_magnitude
            } else {
                by_magnitude.reverse()
            };
        }
        // Same sign and binade: the exact difference is cheap.
        match self.sub_exact(other).sign() {
            Sign::Minus => Ordering::Less,
            Sign::NoSign => Ordering::Equal,
            Sign::Plus => Ordering::Greater,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(n: i64, d: i64) -> BigRational {
        BigRational::new(BigInt::from(n), BigInt::from(d))
    }

    #[test]
    fn f64_round_trips_exactly_including_subnormals() {
        for x in [
            0.0,
            1.0,
            -2.5,
            0.1,
            f64::MAX,
            f64::MIN_POSITIVE,
            5e-324,
            -1e-310,
            1e300,
        ] {
            let d = Dyadic::from_f64(x).unwrap();
            assert_eq!(d.to_f64(Round::Down), x);
            assert_eq!(d.to_f64(Round::Up), x);
        }
        assert!(Dyadic::from_f64(f64::NAN).is_none());
    }

    #[test]
    fn directed_division_brackets_one_third() {
        let one = Dyadic::from_i64(1);
        let three = Dyadic::from_i64(3);
        let lo = one.div_round(&three, 64, Round::Down).to_rational();
        let hi = one.div_round(&three, 64, Round::Up).to_rational();
        assert!(lo < q(1, 3) && q(1, 3) < hi);
        // Two neighbours at 64 bits: gap of one unit in the 64th bit.
        let gap = &hi - &lo;
        assert!(gap <= q(1, 1) / BigRational::from_integer(BigInt::one() << 65u32));
    }

    #[test]
    fn sticky_addition_rounds_like_the_exact_sum() {
        let one = Dyadic::one();
        for k in [70i64, 200, 5000, 1 << 40] {
            let tiny = Dyadic::pow2(-k);
            // 1 + tiny rounded up at 64 bits is the next number above 1.
            assert_eq!(
                one.add_round(&tiny, 64, Round::Up),
                Dyadic::one().add_exact(&Dyadic::pow2(-63))
            );
            assert_eq!(one.add_round(&tiny, 64, Round::Down), one);
            // 1 - tiny rounded down is the number just below 1 (spacing 2^-64).
            assert_eq!(
                one.add_round(&tiny.neg(), 64, Round::Down),
                one.sub_exact(&Dyadic::pow2(-64))
            );
            assert_eq!(one.add_round(&tiny.neg(), 64, Round::Up), one);
        }
    }

    #[test]
    fn sqrt_brackets_the_root_of_two() {
        let two = Dyadic::from_i64(2);
        let lo = two.sqrt_round(100, Round::Down);
        let hi = two.sqrt_round(100, Round::Up);
        assert!(lo.mul_exact(&lo) < two && two < hi.mul_exact(&hi));
        let four = Dyadic::from_i64(4);
        assert_eq!(four.sqrt_round(10, Round::Up), two);
    }

    #[test]
    fn ordering_matches_rationals() {
        let xs = [
            -3.5,
            -1e-300,
            0.0,
            1e-300,
            0.75,
            1.0,
            1.0 + f64::EPSILON,
            1e300,
        ];
        for a in xs {
            for b in xs {
                let (da, db) = (Dyadic::from_f64(a).unwrap(), Dyadic::from_f64(b).unwrap());
                assert_eq!(da.cmp(&db), a.partial_cmp(&b).unwrap(), "{a} vs {b}");
            }
        }
    }
}
