//! Tristate numbers (`struct tnum` of `kernel/bpf/tnum.c`): each bit is known 0,
//! known 1, or unknown. `value` holds the known-1 bits, `mask` the unknown bits;
//! `value & mask == 0` always.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tnum {
    pub value: u64,
    pub mask: u64,
}

// `add`, `sub`, `neg` and `mul` are the kernel's tnum operations (named as in tnum.c), not `std::ops`.
#[allow(clippy::should_implement_trait)]
impl Tnum {
    pub const UNKNOWN: Tnum = Tnum { value: 0, mask: u64::MAX };

    pub const fn konst(v: u64) -> Tnum {
        Tnum { value: v, mask: 0 }
    }

    /// The smallest tnum containing every value of `[min, max]` (`tnum_range`).
    pub fn range(min: u64, max: u64) -> Tnum {
        let chi = min ^ max;
        let bits = 64 - chi.leading_zeros();
        if bits > 63 {
            return Tnum::UNKNOWN;
        }
        let delta = (1u64 << bits) - 1;
        Tnum { value: min & !delta, mask: delta }
    }

    pub fn is_const(self) -> bool {
        self.mask == 0
    }
    pub fn is_unknown(self) -> bool {
        self.mask == u64::MAX
    }
    pub fn equals_const(self, v: u64) -> bool {
        self.is_const() && self.value == v
    }
    /// Smallest and largest unsigned value.
    pub fn umin(self) -> u64 {
        self.value
    }
    pub fn umax(self) -> u64 {
        self.value | self.mask
    }

    pub fn lshift(self, s: u32) -> Tnum {
        if s >= 64 {
            return Tnum::konst(0);
        }
        Tnum { value: self.value << s, mask: self.mask << s }
    }
    pub fn rshift(self, s: u32) -> Tnum {
        if s >= 64 {
            return Tnum::konst(0);
        }
        Tnum { value: self.value >> s, mask: self.mask >> s }
    }
    /// Arithmetic right shift at 32 or 64 bits (`tnum_arshift`).
    pub fn arshift(self, s: u32, bits: u32) -> Tnum {
        if bits == 32 {
            let s = s.min(31);
            Tnum {
                value: ((self.value as u32 as i32) >> s) as u32 as u64,
                mask: ((self.mask as u32 as i32) >> s) as u32 as u64,
            }
        } else {
            let s = s.min(63);
            Tnum { value: ((self.value as i64) >> s) as u64, mask: ((self.mask as i64) >> s) as u64 }
        }
    }

    pub fn add(self, b: Tnum) -> Tnum {
        let sm = self.mask.wrapping_add(b.mask);
        let sv = self.value.wrapping_add(b.value);
        let sigma = sm.wrapping_add(sv);
        let chi = sigma ^ sv;
        let mu = chi | self.mask | b.mask;
        Tnum { value: sv & !mu, mask: mu }
    }
    pub fn sub(self, b: Tnum) -> Tnum {
        let dv = self.value.wrapping_sub(b.value);
        let alpha = dv.wrapping_add(self.mask);
        let beta = dv.wrapping_sub(b.mask);
        let chi = alpha ^ beta;
        let mu = chi | self.mask | b.mask;
        Tnum { value: dv & !mu, mask: mu }
    }
    pub fn neg(self) -> Tnum {
        Tnum::konst(0).sub(self)
    }
    pub fn and(self, b: Tnum) -> Tnum {
        let alpha = self.value | self.mask;
        let beta = b.value | b.mask;
        let v = self.value & b.value;
        Tnum { value: v, mask: alpha & beta & !v }
    }
    pub fn or(self, b: Tnum) -> Tnum {
        let v = self.value | b.value;
        let mu = self.mask | b.mask;
        Tnum { value: v, mask: mu & !v }
    }
    pub fn xor(self, b: Tnum) -> Tnum {
        let v = self.value ^ b.value;
        let mu = self.mask | b.mask;
        Tnum { value: v & !mu, mask: mu }
    }
    /// Multiplication (`tnum_mul`, the shift-and-add form of kernel 6.x).
    pub fn mul(self, b: Tnum) -> Tnum {
        let acc_v = self.value.wrapping_mul(b.value);
        let mut acc_m = Tnum::konst(0);
        let (mut a, mut b) = (self, b);
        while a.value != 0 || a.mask != 0 {
            if a.value & 1 != 0 {
                acc_m = acc_m.add(Tnum { value: 0, mask: b.mask });
            } else if a.mask & 1 != 0 {
                acc_m = acc_m.add(Tnum { value: 0, mask: b.value | b.mask });
            }
            a = a.rshift(1);
            b = b.lshift(1);
        }
        Tnum::konst(acc_v).add(acc_m)
    }
    /// Values in both `self` and `b` (`tnum_intersect`).
    pub fn intersect(self, b: Tnum) -> Tnum {
        let v = self.value | b.value;
        let mu = self.mask & b.mask;
        Tnum { value: v & !mu, mask: mu }
    }
    /// Whether some value is in both.
    pub fn overlaps(self, b: Tnum) -> bool {
        let mu = self.mask | b.mask;
        (self.value & !mu) == (b.value & !mu)
    }
    /// Keep the low `size` bytes (`tnum_cast`).
    pub fn cast(self, size: u32) -> Tnum {
        if size >= 8 {
            return self;
        }
        let m = (1u64 << (size * 8)) - 1;
        Tnum { value: self.value & m, mask: self.mask & m }
    }
    pub fn is_aligned(self, size: u64) -> bool {
        if size == 0 {
            return true;
        }
        (self.value | self.mask) & (size - 1) == 0
    }
    /// Whether every value of `b` is a value of `self` (`tnum_in`).
    pub fn contains(self, b: Tnum) -> bool {
        if b.mask & !self.mask != 0 {
            return false;
        }
        self.value == b.value & !self.mask
    }
    pub fn subreg(self) -> Tnum {
        self.cast(4)
    }
    pub fn clear_subreg(self) -> Tnum {
        self.rshift(32).lshift(32)
    }
    pub fn with_subreg(self, sub: Tnum) -> Tnum {
        self.clear_subreg().or(sub.subreg())
    }
    /// Whether `v` is one of the values.
    pub fn has(self, v: u64) -> bool {
        v & !self.mask == self.value
    }
}

impl fmt::Display for Tnum {
    /// The kernel's `tnum_strn` form: `(0x0; 0xff)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({:#x}; {:#x})", self.value, self.mask)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every concrete value of a small tnum (mask limited to a few bits).
    fn members(t: Tnum) -> Vec<u64> {
        let bits: Vec<u32> = (0..64).filter(|b| t.mask >> b & 1 == 1).collect();
        assert!(bits.len() <= 8);
        (0..1u64 << bits.len())
            .map(|n| {
                let mut v = t.value;
                for (i, b) in bits.iter().enumerate() {
                    if n >> i & 1 == 1 {
                        v |= 1 << b;
                    }
                }
                v
            })
            .collect()
    }

    fn samples() -> Vec<Tnum> {
        let mut out = vec![Tnum::konst(0), Tnum::konst(1), Tnum::konst(7), Tnum::konst(u64::MAX), Tnum::konst(1 << 63)];
        for (v, m) in [(0, 3), (4, 3), (0, 0xf0), (1, 6), (0x100, 0x11), (0xffff_ffff_0000_0000, 0x3), (8, 0x81)] {
            out.push(Tnum { value: v, mask: m });
        }
        out
    }

    #[test]
    fn binary_ops_are_sound() {
        type Op = (&'static str, fn(Tnum, Tnum) -> Tnum, fn(u64, u64) -> u64);
        let ops: [Op; 6] = [
            ("add", Tnum::add, u64::wrapping_add),
            ("sub", Tnum::sub, u64::wrapping_sub),
            ("mul", Tnum::mul, u64::wrapping_mul),
            ("and", Tnum::and, |a, b| a & b),
            ("or", Tnum::or, |a, b| a | b),
            ("xor", Tnum::xor, |a, b| a ^ b),
        ];
        for a in samples() {
            for b in samples() {
                for (name, abs, conc) in ops {
                    let r = abs(a, b);
                    assert_eq!(r.value & r.mask, 0, "{name} {a} {b}");
                    for x in members(a) {
                        for y in members(b) {
                            assert!(r.has(conc(x, y)), "{name}: {a} {b} -> {r} misses {x:#x},{y:#x}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn shifts_and_casts() {
        let t = Tnum { value: 0x10, mask: 0x3 };
        assert_eq!(t.lshift(4), Tnum { value: 0x100, mask: 0x30 });
        assert_eq!(t.rshift(4), Tnum { value: 1, mask: 0 });
        let n = Tnum::konst(0x8000_0000);
        assert_eq!(n.arshift(4, 32), Tnum::konst(0xf800_0000));
        assert_eq!(Tnum::konst(u64::MAX).cast(2), Tnum::konst(0xffff));
        assert_eq!(Tnum::konst(0x1_2345_6789).subreg(), Tnum::konst(0x2345_6789));
        assert_eq!(Tnum::konst(0x1_2345_6789).clear_subreg(), Tnum::konst(0x1_0000_0000));
    }

    #[test]
    fn range_and_intersect() {
        assert_eq!(Tnum::range(0, 255), Tnum { value: 0, mask: 0xff });
        assert_eq!(Tnum::range(5, 5), Tnum::konst(5));
        assert_eq!(Tnum::range(0, u64::MAX), Tnum::UNKNOWN);
        let r = Tnum::range(16, 31);
        assert!(members(r).iter().all(|v| (16..=31).contains(v)));
        assert_eq!(Tnum::UNKNOWN.intersect(Tnum::konst(3)), Tnum::konst(3));
        assert!(Tnum::UNKNOWN.contains(Tnum::konst(9)));
        assert!(!Tnum::konst(9).contains(Tnum::UNKNOWN));
        assert!(Tnum { value: 0, mask: 0xf }.is_aligned(1));
        assert!(Tnum { value: 8, mask: 0xf0 }.is_aligned(8));
        assert!(!Tnum { value: 8, mask: 0xf4 }.is_aligned(8));
        assert!(!Tnum::konst(1).overlaps(Tnum::konst(2)));
        assert!(Tnum { value: 0, mask: 3 }.overlaps(Tnum::konst(2)));
    }
}
