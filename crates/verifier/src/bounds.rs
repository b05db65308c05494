//! Scalar abstract values: a [`Tnum`] plus signed/unsigned 64- and 32-bit bounds,
//! kept consistent by [`Scalar::sync`] (the kernel's `reg_bounds_sync`), with the
//! kernel's ALU transfer functions and conditional-jump refinement.

use crate::tnum::Tnum;
use bpfbox_isa::{AluOp, Cond};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Scalar {
    pub var: Tnum,
    pub smin: i64,
    pub smax: i64,
    pub umin: u64,
    pub umax: u64,
    pub s32min: i32,
    pub s32max: i32,
    pub u32min: u32,
    pub u32max: u32,
}

impl Default for Scalar {
    fn default() -> Self {
        Scalar::unknown()
    }
}

impl Scalar {
    pub const fn unknown() -> Scalar {
        Scalar {
            var: Tnum::UNKNOWN,
            smin: i64::MIN,
            smax: i64::MAX,
            umin: 0,
            umax: u64::MAX,
            s32min: i32::MIN,
            s32max: i32::MAX,
            u32min: 0,
            u32max: u32::MAX,
        }
    }
    pub const fn konst(v: u64) -> Scalar {
        Scalar {
            var: Tnum::konst(v),
            smin: v as i64,
            smax: v as i64,
            umin: v,
            umax: v,
            s32min: v as u32 as i32,
            s32max: v as u32 as i32,
            u32min: v as u32,
            u32max: v as u32,
        }
    }
    /// An unsigned range `[lo, hi]`.
    pub fn urange(lo: u64, hi: u64) -> Scalar {
        let mut s = Scalar::unknown();
        s.umin = lo;
        s.umax = hi;
        s.sync();
        s
    }
    pub fn is_const(&self) -> bool {
        self.var.is_const()
    }
    pub fn const_value(&self) -> Option<u64> {
        self.var.is_const().then_some(self.var.value)
    }
    pub fn is_const32(&self) -> bool {
        self.var.subreg().is_const()
    }
    pub fn is_unknown(&self) -> bool {
        *self == Scalar::unknown()
    }
    /// Whether the bounds are contradictory (an impossible path).
    pub fn is_empty(&self) -> bool {
        self.smin > self.smax
            || self.umin > self.umax
            || self.s32min > self.s32max
            || self.u32min > self.u32max
            || !self.var.has(self.umin) && self.umin == self.umax
    }
    /// Whether every value of `other` is a value of `self` (`range_within` + `tnum_in`).
    pub fn contains(&self, o: &Scalar) -> bool {
        self.umin <= o.umin
            && self.umax >= o.umax
            && self.smin <= o.smin
            && self.smax >= o.smax
            && self.u32min <= o.u32min
            && self.u32max >= o.u32max
            && self.s32min <= o.s32min
            && self.s32max >= o.s32max
            && self.var.contains(o.var)
    }

    fn unbound32(&mut self) {
        self.s32min = i32::MIN;
        self.s32max = i32::MAX;
        self.u32min = 0;
        self.u32max = u32::MAX;
    }

    fn update_bounds(&mut self) {
        let v32 = self.var.subreg();
        self.s32min = self.s32min.max((v32.value | (v32.mask & 0x8000_0000)) as u32 as i32);
        self.s32max = self.s32max.min((v32.value | (v32.mask & 0x7fff_ffff)) as u32 as i32);
        self.u32min = self.u32min.max(v32.value as u32);
        self.u32max = self.u32max.min((v32.value | v32.mask) as u32);
        let v = self.var;
        self.smin = self.smin.max((v.value | (v.mask & (1 << 63))) as i64);
        self.smax = self.smax.min((v.value | (v.mask & !(1 << 63))) as i64);
        self.umin = self.umin.max(v.value);
        self.umax = self.umax.min(v.value | v.mask);
    }

    fn deduce32(&mut self) {
        if self.umin >> 32 == self.umax >> 32 {
            self.u32min = self.u32min.max(self.umin as u32);
            self.u32max = self.u32max.min(self.umax as u32);
            if (self.umin as i32) <= (self.umax as i32) {
                self.s32min = self.s32min.max(self.umin as i32);
                self.s32max = self.s32max.min(self.umax as i32);
            }
        }
        if self.smin >> 32 == self.smax >> 32 {
            if (self.smin as u32) <= (self.smax as u32) {
                self.u32min = self.u32min.max(self.smin as u32);
                self.u32max = self.u32max.min(self.smax as u32);
            }
            if (self.smin as i32) <= (self.smax as i32) {
                self.s32min = self.s32min.max(self.smin as i32);
                self.s32max = self.s32max.min(self.smax as i32);
            }
        }
        if ((self.umin >> 32) as u32).wrapping_add(1) == (self.umax >> 32) as u32
            && (self.umin as i32) < 0
            && (self.umax as i32) >= 0
        {
            self.s32min = self.s32min.max(self.umin as i32);
            self.s32max = self.s32max.min(self.umax as i32);
        }
        if ((self.smin >> 32) as u32).wrapping_add(1) == (self.smax >> 32) as u32
            && (self.smin as i32) < 0
            && (self.smax as i32) >= 0
        {
            self.s32min = self.s32min.max(self.smin as i32);
            self.s32max = self.s32max.min(self.smax as i32);
        }
        if (self.u32min as i32) <= (self.u32max as i32) {
            self.s32min = self.s32min.max(self.u32min as i32);
            self.s32max = self.s32max.min(self.u32max as i32);
        }
        if (self.s32min as u32) <= (self.s32max as u32) {
            self.u32min = self.u32min.max(self.s32min as u32);
            self.u32max = self.u32max.min(self.s32max as u32);
        }
    }

    fn deduce64(&mut self) {
        if (self.umin as i64) <= (self.umax as i64) {
            self.smin = self.smin.max(self.umin as i64);
            self.smax = self.smax.min(self.umax as i64);
        }
        if (self.smin as u64) <= (self.smax as u64) {
            self.umin = self.umin.max(self.smin as u64);
            self.umax = self.umax.min(self.smax as u64);
        } else if self.umax < self.smin as u64 {
            self.smin = self.umin as i64;
            self.umax = self.umax.min(self.smax as u64);
        } else if (self.smax as u64) < self.umin {
            self.smax = self.umax as i64;
            self.umin = self.umin.max(self.smin as u64);
        }
    }

    fn deduce_mixed(&mut self) {
        let new_umin = (self.umin & !0xffff_ffff) | self.u32min as u64;
        let new_umax = (self.umax & !0xffff_ffff) | self.u32max as u64;
        self.umin = self.umin.max(new_umin);
        self.umax = self.umax.min(new_umax);
        let new_smin = ((self.smin as u64 & !0xffff_ffff) | self.u32min as u64) as i64;
        let new_smax = ((self.smax as u64 & !0xffff_ffff) | self.u32max as u64) as i64;
        self.smin = self.smin.max(new_smin);
        self.smax = self.smax.min(new_smax);
        if self.s32min >= 0 && self.smin >= i32::MIN as i64 && self.smax <= i32::MAX as i64 {
            self.smin = self.s32min as i64;
            self.smax = self.s32max as i64;
            self.umin = self.s32min as u64;
            self.umax = self.s32max as u64;
            self.var = self.var.intersect(Tnum::range(self.smin as u64, self.smax as u64));
        }
    }

    fn bound_offset(&mut self) {
        let v64 = self.var.intersect(Tnum::range(self.umin, self.umax));
        let v32 = v64.subreg().intersect(Tnum::range(self.u32min as u64, self.u32max as u64));
        self.var = v64.clear_subreg().or(v32);
    }

    /// The kernel's `reg_bounds_sync`: make tnum and the four ranges agree.
    pub fn sync(&mut self) {
        self.update_bounds();
        for _ in 0..3 {
            self.deduce32();
            self.deduce64();
            self.deduce_mixed();
        }
        self.bound_offset();
        self.update_bounds();
    }

    /// The low 32 bits, zero-extended (`zext_32_to_64` after a 32-bit operation).
    pub fn zext32(&self) -> Scalar {
        let mut s = *self;
        s.sync();
        let mut r = Scalar::unknown();
        r.var = s.var.subreg();
        r.u32min = s.u32min;
        r.u32max = s.u32max;
        r.s32min = s.s32min;
        r.s32max = s.s32max;
        r.umin = s.u32min as u64;
        r.umax = s.u32max as u64;
        r.smin = r.umin as i64;
        r.smax = r.umax as i64;
        r.sync();
        r
    }

    /// The low 32 bits, sign-extended to 64.
    pub fn sext32(&self) -> Scalar {
        let mut s = *self;
        s.sync();
        let mut r = Scalar::unknown();
        let sub = s.var.subreg();
        r.var = if sub.mask & 0x8000_0000 != 0 {
            Tnum { value: sub.value, mask: sub.mask | 0xffff_ffff_0000_0000 }
        } else if sub.value & 0x8000_0000 != 0 {
            Tnum { value: sub.value | 0xffff_ffff_0000_0000, mask: sub.mask }
        } else {
            sub
        };
        r.smin = s.s32min as i64;
        r.smax = s.s32max as i64;
        r.s32min = s.s32min;
        r.s32max = s.s32max;
        r.u32min = s.u32min;
        r.u32max = s.u32max;
        r.sync();
        r
    }

    /// Sign-extension of the low `bits` (8, 16, 32) to 64 bits (`movsx`).
    pub fn sext_from(&self, bits: u32) -> Scalar {
        if let Some(v) = self.const_value() {
            let sh = 64 - bits;
            return Scalar::konst((((v << sh) as i64) >> sh) as u64);
        }
        let half = 1u64 << (bits - 1);
        if self.umax < half {
            return *self;
        }
        let mut r = Scalar::unknown();
        r.smin = -(half as i64);
        r.smax = half as i64 - 1;
        r.sync();
        r
    }

    /// Keep the low `bytes` bytes (zero-extended), as a narrow load or a truncation does.
    pub fn truncate(&self, bytes: u32) -> Scalar {
        if bytes >= 8 {
            return *self;
        }
        if bytes == 4 {
            return self.zext32();
        }
        let m = (1u64 << (bytes * 8)) - 1;
        let mut r = Scalar::unknown();
        r.var = self.var.cast(bytes);
        if self.umin >> (bytes * 8) == self.umax >> (bytes * 8) {
            r.umin = self.umin & m;
            r.umax = self.umax & m;
        } else {
            r.umin = 0;
            r.umax = m;
        }
        r.sync();
        r
    }

    /// 64-bit `self op src` for the operations the kernel tracks; `None` for
    /// operations whose result is an unknown scalar.
    pub fn alu64(&self, op: AluOp, src: &Scalar) -> Scalar {
        let (a, b) = (self, src);
        let mut r = Scalar::unknown();
        match op {
            AluOp::Mov => return *b,
            AluOp::Add => {
                r.var = a.var.add(b.var);
                match (a.smin.checked_add(b.smin), a.smax.checked_add(b.smax)) {
                    (Some(lo), Some(hi)) => (r.smin, r.smax) = (lo, hi),
                    _ => (r.smin, r.smax) = (i64::MIN, i64::MAX),
                }
                match (a.umin.checked_add(b.umin), a.umax.checked_add(b.umax)) {
                    (Some(lo), Some(hi)) => (r.umin, r.umax) = (lo, hi),
                    _ => (r.umin, r.umax) = (0, u64::MAX),
                }
            }
            AluOp::Sub => {
                r.var = a.var.sub(b.var);
                match (a.smin.checked_sub(b.smax), a.smax.checked_sub(b.smin)) {
                    (Some(lo), Some(hi)) => (r.smin, r.smax) = (lo, hi),
                    _ => (r.smin, r.smax) = (i64::MIN, i64::MAX),
                }
                if a.umin < b.umax {
                    (r.umin, r.umax) = (0, u64::MAX);
                } else {
                    (r.umin, r.umax) = (a.umin - b.umax, a.umax - b.umin);
                }
            }
            AluOp::Mul => {
                r.var = a.var.mul(b.var);
                match (a.umin.checked_mul(b.umin), a.umax.checked_mul(b.umax)) {
                    (Some(lo), Some(hi)) => (r.umin, r.umax) = (lo, hi),
                    _ => (r.umin, r.umax) = (0, u64::MAX),
                }
                let p = [
                    a.smin.checked_mul(b.smin),
                    a.smin.checked_mul(b.smax),
                    a.smax.checked_mul(b.smin),
                    a.smax.checked_mul(b.smax),
                ];
                if p.iter().all(Option::is_some) {
                    let v: Vec<i64> = p.iter().flatten().copied().collect();
                    r.smin = v.iter().copied().min().unwrap_or(i64::MIN);
                    r.smax = v.iter().copied().max().unwrap_or(i64::MAX);
                }
            }
            AluOp::And => {
                r.var = a.var.and(b.var);
                r.umin = r.var.value;
                r.umax = a.umax.min(b.umax);
                if a.smin >= 0 && b.smin >= 0 {
                    (r.smin, r.smax) = (r.umin as i64, r.umax as i64);
                }
            }
            AluOp::Or => {
                r.var = a.var.or(b.var);
                r.umin = a.umin.max(b.umin);
                r.umax = r.var.value | r.var.mask;
                if a.smin >= 0 && b.smin >= 0 {
                    (r.smin, r.smax) = (r.umin as i64, r.umax as i64);
                }
            }
            AluOp::Xor => {
                r.var = a.var.xor(b.var);
                r.umin = r.var.value;
                r.umax = r.var.value | r.var.mask;
                if a.smin >= 0 && b.smin >= 0 {
                    (r.smin, r.smax) = (r.umin as i64, r.umax as i64);
                }
            }
            AluOp::Lsh | AluOp::Rsh | AluOp::Arsh => {
                let Some(s) = b.const_value().filter(|&s| s < 64) else {
                    return Scalar::unknown();
                };
                let s = s as u32;
                match op {
                    AluOp::Lsh => {
                        r.var = a.var.lshift(s);
                        if a.umax.leading_zeros() >= s {
                            (r.umin, r.umax) = (a.umin << s, a.umax << s);
                        }
                    }
                    AluOp::Rsh => {
                        r.var = a.var.rshift(s);
                        (r.umin, r.umax) = (a.umin >> s, a.umax >> s);
                    }
                    _ => {
                        r.var = a.var.arshift(s, 64);
                        (r.smin, r.smax) = (a.smin >> s, a.smax >> s);
                    }
                }
            }
            // Division and modulo: the kernel tracks no range (an unknown scalar),
            // except that constants fold.
            AluOp::Div | AluOp::SDiv | AluOp::Mod | AluOp::SMod => {
                return Scalar::unknown();
            }
        }
        r.unbound32();
        r.sync();
        r
    }

    /// 32-bit `self op src`, zero-extended to 64 bits.
    pub fn alu32(&self, op: AluOp, src: &Scalar) -> Scalar {
        let (a, b) = (self.zext32(), src.zext32());
        let r = match op {
            // Untracked: the kernel marks the whole register unknown, not zero-extended.
            AluOp::Div | AluOp::SDiv | AluOp::Mod | AluOp::SMod => return Scalar::unknown(),
            // A shift by an amount not known to be below 32: the kernel marks the whole
            // register unknown and returns before zero-extending
            // (is_safe_to_compute_dst_reg_range), so the upper half is unknown too.
            AluOp::Arsh => {
                let Some(s) = b.const_value().filter(|&s| s < 32) else {
                    return Scalar::unknown();
                };
                self.sext32().alu64(AluOp::Arsh, &Scalar::konst(s))
            }
            AluOp::Lsh | AluOp::Rsh if b.const_value().is_none_or(|s| s >= 32) => return Scalar::unknown(),
            AluOp::Sub => {
                // Two's complement: a - b == a + (2^32 - b) modulo 2^32.
                let mut r = a.alu64(AluOp::Sub, &b);
                if a.umin < b.umax {
                    // Possible borrow: only the tnum is meaningful.
                    let v = r.var;
                    r = Scalar::unknown();
                    r.var = v;
                    r.sync();
                }
                r
            }
            _ => a.alu64(op, &b),
        };
        r.zext32()
    }

    /// Constant folding of every ALU operation with BPF semantics (division by
    /// zero gives 0, modulo by zero leaves the dividend).
    pub fn fold(op: AluOp, a: u64, b: u64, w32: bool) -> u64 {
        if w32 {
            let (a, b) = (a as u32, b as u32);
            let r = match op {
                AluOp::Add => a.wrapping_add(b),
                AluOp::Sub => a.wrapping_sub(b),
                AluOp::Mul => a.wrapping_mul(b),
                AluOp::Div => a.checked_div(b).unwrap_or(0),
                AluOp::SDiv => {
                    if b == 0 {
                        0
                    } else {
                        (a as i32).wrapping_div(b as i32) as u32
                    }
                }
                AluOp::Mod => {
                    if b == 0 {
                        a
                    } else {
                        a % b
                    }
                }
                AluOp::SMod => {
                    if b == 0 {
                        a
                    } else {
                        (a as i32).wrapping_rem(b as i32) as u32
                    }
                }
                AluOp::Or => a | b,
                AluOp::And => a & b,
                AluOp::Xor => a ^ b,
                AluOp::Lsh => a.wrapping_shl(b),
                AluOp::Rsh => a.wrapping_shr(b),
                AluOp::Arsh => (a as i32).wrapping_shr(b) as u32,
                AluOp::Mov => b,
            };
            r as u64
        } else {
            match op {
                AluOp::Add => a.wrapping_add(b),
                AluOp::Sub => a.wrapping_sub(b),
                AluOp::Mul => a.wrapping_mul(b),
                AluOp::Div => a.checked_div(b).unwrap_or(0),
                AluOp::SDiv => {
                    if b == 0 {
                        0
                    } else {
                        (a as i64).wrapping_div(b as i64) as u64
                    }
                }
                AluOp::Mod => {
                    if b == 0 {
                        a
                    } else {
                        a % b
                    }
                }
                AluOp::SMod => {
                    if b == 0 {
                        a
                    } else {
                        (a as i64).wrapping_rem(b as i64) as u64
                    }
                }
                AluOp::Or => a | b,
                AluOp::And => a & b,
                AluOp::Xor => a ^ b,
                AluOp::Lsh => a.wrapping_shl(b as u32),
                AluOp::Rsh => a.wrapping_shr(b as u32),
                AluOp::Arsh => (a as i64).wrapping_shr(b as u32) as u64,
                AluOp::Mov => b,
            }
        }
    }

    /// The kernel's ALU on scalars: constants fold exactly (for div/mod too, since
    /// a known divisor makes the result known), the rest as [`Scalar::alu64`]/[`Scalar::alu32`].
    pub fn alu(&self, op: AluOp, src: &Scalar, w32: bool) -> Scalar {
        let (ca, cb) = if w32 {
            (
                self.is_const32().then_some(self.var.value as u32 as u64),
                src.is_const32().then_some(src.var.value as u32 as u64),
            )
        } else {
            (self.const_value(), src.const_value())
        };
        if let (Some(a), Some(b)) = (ca, cb) {
            let shift_ok = !matches!(op, AluOp::Lsh | AluOp::Rsh | AluOp::Arsh) || b < if w32 { 32 } else { 64 };
            let divmod = matches!(op, AluOp::Div | AluOp::SDiv | AluOp::Mod | AluOp::SMod);
            if shift_ok && !divmod {
                return Scalar::konst(Scalar::fold(op, a, b, w32));
            }
        }
        if w32 {
            self.alu32(op, src)
        } else {
            self.alu64(op, src)
        }
    }

    fn view(&self, w32: bool) -> View {
        if w32 {
            View {
                umin: self.u32min as u64,
                umax: self.u32max as u64,
                smin: self.s32min as i64,
                smax: self.s32max as i64,
                var: self.var.subreg(),
            }
        } else {
            View { umin: self.umin, umax: self.umax, smin: self.smin, smax: self.smax, var: self.var }
        }
    }
    fn set_view(&mut self, v: View, w32: bool) {
        if w32 {
            self.u32min = v.umin as u32;
            self.u32max = v.umax as u32;
            self.s32min = v.smin as i32;
            self.s32max = v.smax as i32;
            self.var = self.var.with_subreg(v.var);
        } else {
            self.umin = v.umin;
            self.umax = v.umax;
            self.smin = v.smin;
            self.smax = v.smax;
            self.var = v.var;
        }
    }

    /// `is_scalar_branch_taken`: `Some(true)` when `self cond other` always holds,
    /// `Some(false)` when it never does, `None` when both are possible.
    pub fn branch_taken(&self, cond: Cond, other: &Scalar, w32: bool) -> Option<bool> {
        let (a, b) = (self.view(w32), other.view(w32));
        match cond {
            Cond::Eq | Cond::Ne => {
                let eq = if a.var.is_const() && b.var.is_const() {
                    Some(a.var.value == b.var.value)
                } else if a.umin > b.umax
                    || a.umax < b.umin
                    || a.smin > b.smax
                    || a.smax < b.smin
                    || !a.var.overlaps(b.var)
                    || (!w32
                        && (self.u32min > other.u32max
                            || self.u32max < other.u32min
                            || self.s32min > other.s32max
                            || self.s32max < other.s32min))
                {
                    Some(false)
                } else {
                    None
                };
                if cond == Cond::Eq {
                    eq
                } else {
                    eq.map(|e| !e)
                }
            }
            Cond::Set => {
                let (t1, t2) = if b.var.is_const() { (a.var, b.var) } else { (b.var, a.var) };
                if !t2.is_const() {
                    return None;
                }
                if t1.value & t2.value != 0 {
                    Some(true)
                } else if (t1.value | t1.mask) & t2.value == 0 {
                    Some(false)
                } else {
                    None
                }
            }
            Cond::Gt => decide(a.umin > b.umax, a.umax <= b.umin),
            Cond::Ge => decide(a.umin >= b.umax, a.umax < b.umin),
            Cond::Lt => decide(a.umax < b.umin, a.umin >= b.umax),
            Cond::Le => decide(a.umax <= b.umin, a.umin > b.umax),
            Cond::SGt => decide(a.smin > b.smax, a.smax <= b.smin),
            Cond::SGe => decide(a.smin >= b.smax, a.smax < b.smin),
            Cond::SLt => decide(a.smax < b.smin, a.smin >= b.smax),
            Cond::SLe => decide(a.smax <= b.smin, a.smin > b.smax),
        }
    }

    /// `regs_refine_cond_op` + `reg_bounds_sync`: what `self cond other` being
    /// true teaches about both sides. `negated` selects the false branch
    /// (`rev_opcode`). Returns `None` when the branch is impossible.
    pub fn refine(&self, cond: Cond, negated: bool, other: &Scalar, w32: bool) -> Option<(Scalar, Scalar)> {
        match self.refine_sides(cond, negated, other, w32) {
            Refined { a, b, a_ok: true, b_ok: true } => Some((a, b)),
            _ => None,
        }
    }

    /// `reg_set_min_max` for one branch as Linux 6.18 walks it: a branch that
    /// `is_scalar_branch_taken` left undecided is walked even when the refinement
    /// contradicts itself; a side whose bounds fail `reg_bounds_sanity_check` keeps
    /// the refined tnum, its ranges recomputed from that tnum alone (`a_ok`/`b_ok`
    /// false then).
    pub fn refine_or_reset(&self, cond: Cond, negated: bool, other: &Scalar, w32: bool) -> Refined {
        let mut r = self.refine_sides(cond, negated, other, w32);
        let reset = |s: &Scalar| {
            let mut u = Scalar { var: s.var, ..Scalar::unknown() };
            u.sync();
            u
        };
        if !r.a_ok {
            r.a = reset(&r.a);
        }
        if !r.b_ok {
            r.b = reset(&r.b);
        }
        r
    }

    fn refine_sides(&self, cond: Cond, negated: bool, other: &Scalar, w32: bool) -> Refined {
        // Contradictions found before the ranges are set: both sides unknown.
        let impossible = Refined { a: Scalar::unknown(), b: Scalar::unknown(), a_ok: false, b_ok: false };
        let (mut s1, mut s2) = (*self, *other);
        let (mut a, mut b) = (s1.view(w32), s2.view(w32));
        let umax_t = if w32 { u32::MAX as u64 } else { u64::MAX };
        let (smin_t, smax_t) = if w32 { (i32::MIN as i64, i32::MAX as i64) } else { (i64::MIN, i64::MAX) };
        // Express everything as one of Eq, Ne, Set, NotSet, Le, Lt, SLe, SLt with a possible swap.
        #[derive(Clone, Copy, PartialEq)]
        enum Op {
            Eq,
            Ne,
            Set,
            NotSet,
            Le,
            Lt,
            SLe,
            SLt,
        }
        let c = if negated {
            match cond {
                Cond::Eq => Cond::Ne,
                Cond::Ne => Cond::Eq,
                Cond::Gt => Cond::Le,
                Cond::Ge => Cond::Lt,
                Cond::Lt => Cond::Ge,
                Cond::Le => Cond::Gt,
                Cond::SGt => Cond::SLe,
                Cond::SGe => Cond::SLt,
                Cond::SLt => Cond::SGe,
                Cond::SLe => Cond::SGt,
                Cond::Set => Cond::Set,
            }
        } else {
            cond
        };
        let (op, swap) = match c {
            Cond::Eq => (Op::Eq, false),
            Cond::Ne => (Op::Ne, false),
            Cond::Set if negated => (Op::NotSet, false),
            Cond::Set => (Op::Set, false),
            Cond::Le => (Op::Le, false),
            Cond::Lt => (Op::Lt, false),
            Cond::Ge => (Op::Le, true),
            Cond::Gt => (Op::Lt, true),
            Cond::SLe => (Op::SLe, false),
            Cond::SLt => (Op::SLt, false),
            Cond::SGe => (Op::SLe, true),
            Cond::SGt => (Op::SLt, true),
        };
        if swap {
            std::mem::swap(&mut a, &mut b);
        }
        match op {
            Op::Eq => {
                a.umin = a.umin.max(b.umin);
                a.umax = a.umax.min(b.umax);
                a.smin = a.smin.max(b.smin);
                a.smax = a.smax.min(b.smax);
                if !a.var.overlaps(b.var) {
                    return impossible;
                }
                a.var = a.var.intersect(b.var);
                b = a;
            }
            Op::Ne | Op::Set | Op::NotSet => {
                let swapped = !b.var.is_const();
                if swapped {
                    std::mem::swap(&mut a, &mut b);
                }
                if b.var.is_const() {
                    let val = b.var.value;
                    match op {
                        Op::Ne => {
                            let sval = if w32 { val as u32 as i32 as i64 } else { val as i64 };
                            if a.umin == val {
                                a.umin = a.umin.wrapping_add(1);
                            }
                            if a.umax == val {
                                a.umax = a.umax.wrapping_sub(1);
                            }
                            if a.smin == sval {
                                a.smin = a.smin.wrapping_add(1);
                            }
                            if a.smax == sval {
                                a.smax = a.smax.wrapping_sub(1);
                            }
                        }
                        Op::Set => {
                            if val.is_power_of_two() {
                                a.var = a.var.or(Tnum::konst(val));
                            }
                        }
                        _ => {
                            let m = if w32 { !val & 0xffff_ffff } else { !val };
                            a.var = a.var.and(Tnum::konst(m));
                        }
                    }
                }
                if swapped {
                    std::mem::swap(&mut a, &mut b);
                }
            }
            Op::Le => {
                a.umax = a.umax.min(b.umax);
                b.umin = b.umin.max(a.umin);
            }
            Op::Lt => {
                if b.umax == 0 || a.umin == umax_t {
                    return impossible;
                }
                a.umax = a.umax.min(b.umax - 1);
                b.umin = b.umin.max(a.umin + 1);
            }
            Op::SLe => {
                a.smax = a.smax.min(b.smax);
                b.smin = b.smin.max(a.smin);
            }
            Op::SLt => {
                if b.smax == smin_t || a.smin == smax_t {
                    return impossible;
                }
                a.smax = a.smax.min(b.smax - 1);
                b.smin = b.smin.max(a.smin + 1);
            }
        }
        if swap {
            std::mem::swap(&mut a, &mut b);
        }
        let (a_ok, b_ok) = (a.umin <= a.umax && a.smin <= a.smax, b.umin <= b.umax && b.smin <= b.smax);
        s1.set_view(a, w32);
        s2.set_view(b, w32);
        s1.sync();
        s2.sync();
        Refined { a: s1, b: s2, a_ok: a_ok && !s1.is_empty(), b_ok: b_ok && !s2.is_empty() }
    }
}

/// Both sides of a comparison after `reg_set_min_max` on one branch; `a_ok`/`b_ok`
/// false where that side's bounds contradict each other (the branch cannot be
/// taken at run time).
#[derive(Clone, Copy, Debug)]
pub struct Refined {
    pub a: Scalar,
    pub b: Scalar,
    pub a_ok: bool,
    pub b_ok: bool,
}

#[derive(Clone, Copy)]
struct View {
    umin: u64,
    umax: u64,
    smin: i64,
    smax: i64,
    var: Tnum,
}

fn decide(always: bool, never: bool) -> Option<bool> {
    if always {
        Some(true)
    } else if never {
        Some(false)
    } else {
        None
    }
}

impl fmt::Display for Scalar {
    /// The kernel's log form: a constant prints as its value, otherwise
    /// `scalar(...)` with the bounds that are not implied by the defaults.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(v) = self.const_value() {
            return write!(f, "{}", v as i64);
        }
        let mut parts = Vec::new();
        if self.smin != i64::MIN {
            parts.push(format!("smin={}", self.smin));
        }
        if self.smax != i64::MAX {
            parts.push(format!("smax={}", self.smax));
        }
        if self.umin != 0 {
            parts.push(format!("umin={}", self.umin));
        }
        if self.umax != u64::MAX {
            parts.push(format!("umax={}", self.umax));
        }
        if self.smin as i32 as i64 != self.s32min as i64 && self.s32min != i32::MIN {
            parts.push(format!("smin32={}", self.s32min));
        }
        if self.s32max != i32::MAX && (self.smax != self.s32max as i64) {
            parts.push(format!("smax32={}", self.s32max));
        }
        if self.u32min != 0 && self.umin != self.u32min as u64 {
            parts.push(format!("umin32={}", self.u32min));
        }
        if self.u32max != u32::MAX && self.umax != self.u32max as u64 {
            parts.push(format!("umax32={}", self.u32max));
        }
        if !self.var.is_unknown() {
            parts.push(format!("var_off={}", self.var));
        }
        write!(f, "scalar({})", parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<(Scalar, Vec<u64>)> {
        // Abstract values with a set of concrete members each.
        let mut out = Vec::new();
        for (lo, hi) in
            [(0u64, 0u64), (1, 10), (0, 255), (250, 260), (u64::MAX - 3, u64::MAX), (0xffff_fff0, 0x1_0000_0010)]
        {
            let members = (lo..=hi).step_by(((hi - lo) / 16 + 1) as usize).chain([hi]).collect();
            out.push((Scalar::urange(lo, hi), members));
        }
        let mut s = Scalar::unknown();
        s.smin = -5;
        s.smax = 5;
        s.sync();
        out.push((s, vec![(-5i64) as u64, (-1i64) as u64, 0, 3, 5]));
        out
    }

    #[test]
    fn sync_deductions() {
        let s = Scalar::urange(0, 255);
        assert_eq!(s.var, Tnum { value: 0, mask: 0xff });
        assert_eq!((s.smin, s.smax, s.u32max, s.s32max), (0, 255, 255, 255));
        let mut n = Scalar::unknown();
        n.smin = -1;
        n.smax = -1;
        n.sync();
        assert_eq!(n.const_value(), Some(u64::MAX));
        let mut t = Scalar::unknown();
        t.var = Tnum { value: 0x10, mask: 0x0f };
        t.sync();
        assert_eq!((t.umin, t.umax, t.smin, t.smax), (16, 31, 16, 31));
    }

    #[test]
    fn alu_is_sound_on_samples() {
        let ops = [
            AluOp::Add,
            AluOp::Sub,
            AluOp::Mul,
            AluOp::And,
            AluOp::Or,
            AluOp::Xor,
            AluOp::Lsh,
            AluOp::Rsh,
            AluOp::Arsh,
        ];
        let shifts = [Scalar::konst(0), Scalar::konst(3), Scalar::konst(31)];
        for (a, am) in samples() {
            for (b, bm) in samples().into_iter().chain(shifts.iter().map(|s| (*s, vec![s.var.value]))) {
                for op in ops {
                    for w32 in [false, true] {
                        let r = a.alu(op, &b, w32);
                        for &x in &am {
                            for &y in &bm {
                                if matches!(op, AluOp::Lsh | AluOp::Rsh | AluOp::Arsh) && y >= 32 {
                                    continue;
                                }
                                let c = Scalar::fold(op, x, y, w32);
                                assert!(
                                    r.var.has(c)
                                        && r.umin <= c
                                        && c <= r.umax
                                        && r.smin <= c as i64
                                        && c as i64 <= r.smax,
                                    "{op:?} w32={w32} {a} {b} -> {r} misses {x:#x} op {y:#x} = {c:#x}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn branch_refinement() {
        let x = Scalar::urange(0, 100);
        let ten = Scalar::konst(10);
        let (t, _) = x.refine(Cond::Gt, false, &ten, false).expect("possible");
        assert_eq!((t.umin, t.umax), (11, 100));
        let (f, _) = x.refine(Cond::Gt, true, &ten, false).expect("possible");
        assert_eq!((f.umin, f.umax), (0, 10));
        assert_eq!(x.branch_taken(Cond::Gt, &Scalar::konst(100), false), Some(false));
        assert_eq!(x.branch_taken(Cond::Le, &Scalar::konst(100), false), Some(true));
        assert_eq!(x.branch_taken(Cond::Eq, &Scalar::konst(200), false), Some(false));
        assert!(x.refine(Cond::Gt, false, &Scalar::konst(100), false).is_none());
        let (e, _) = x.refine(Cond::Eq, false, &Scalar::konst(7), false).expect("possible");
        assert_eq!(e.const_value(), Some(7));
        let (n, _) = x.refine(Cond::Ne, false, &Scalar::konst(0), false).expect("possible");
        assert_eq!(n.umin, 1);
        let (s, _) = Scalar::unknown().refine(Cond::SGt, false, &Scalar::konst(-1i64 as u64), false).expect("possible");
        assert_eq!((s.smin, s.umax), (0, i64::MAX as u64));
        let (w, _) = Scalar::unknown().refine(Cond::Lt, false, &Scalar::konst(16), true).expect("possible");
        assert_eq!((w.u32min, w.u32max), (0, 15));
        let (j, _) = Scalar::unknown().refine(Cond::Set, true, &Scalar::konst(0xff00), false).expect("possible");
        assert_eq!(j.var.mask & 0xff00, 0);
    }

    #[test]
    fn display() {
        assert_eq!(Scalar::konst(5).to_string(), "5");
        assert_eq!(Scalar::urange(0, 255).to_string(), "scalar(smin=0,smax=255,umax=255,var_off=(0x0; 0xff))");
    }
}
