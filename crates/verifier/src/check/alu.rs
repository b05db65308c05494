//! ALU transfer (`adjust_reg_min_max_vals`): scalar arithmetic on the abstract domains,
//! with linked scalars kept linked through constant additions, and pointer
//! arithmetic (`adjust_ptr_min_max_vals`) with the kernel's refusals and its
//! unprivileged bounds (`sanitize_check_bounds`).

use super::{fail, with_hint, Verifier, MAX_VAR_OFF, R};
use crate::bounds::Scalar;
use crate::state::{RegState, RegType, State, MAX_STACK};
use crate::Rule;
use bpfbox_isa::{AluOp, Operand};

fn op_name(op: AluOp) -> &'static str {
    match op {
        AluOp::Add => "+=",
        AluOp::Sub => "-=",
        AluOp::Mul => "*=",
        AluOp::Div | AluOp::SDiv => "/=",
        AluOp::Mod | AluOp::SMod => "%=",
        AluOp::Or => "|=",
        AluOp::And => "&=",
        AluOp::Xor => "^=",
        AluOp::Lsh => "<<=",
        AluOp::Rsh => ">>=",
        AluOp::Arsh => "s>>=",
        AluOp::Mov => "=",
    }
}

impl Verifier<'_> {
    pub(super) fn alu(&mut self, st: &mut State, op: AluOp, w32: bool, d: usize, src: Operand) -> R<()> {
        let (s, s_reg) = match src {
            Operand::Reg(r) => (self.read_reg(st, r.idx())?, Some(r.idx())),
            Operand::Imm(i) => (RegState::konst(if w32 { i as u32 as u64 } else { i as i64 as u64 }), None),
        };
        if op == AluOp::Mov {
            self.write_check(d)?;
            let out = if w32 {
                if s.ty == RegType::Scalar {
                    RegState::scalar(s.var.zext32())
                } else {
                    if self.opts.unprivileged {
                        return fail(
                            Rule::PointerLeak,
                            format!("R{} partial copy of pointer", s_reg.unwrap_or(0)),
                            &[],
                        );
                    }
                    RegState::scalar(Scalar::unknown().zext32())
                }
            } else {
                let mut v = s;
                if let Some(sr) = s_reg {
                    if v.ty == RegType::Scalar && !v.var.is_const() && v.id == 0 {
                        v.id = self.new_id();
                        st.reg_mut(sr).id = v.id;
                    }
                }
                v
            };
            *st.reg_mut(d) = out;
            return Ok(());
        }
        let dv = self.read_reg(st, d)?;
        // A constant divisor of zero is refused (a register holding zero is not).
        if let Operand::Imm(0) = src {
            if matches!(op, AluOp::Div | AluOp::SDiv | AluOp::Mod | AluOp::SMod) {
                return fail(Rule::Unsupported, "div by zero", &[]);
            }
        }
        if let Operand::Imm(i) = src {
            let size = if w32 { 32 } else { 64 };
            if matches!(op, AluOp::Lsh | AluOp::Rsh | AluOp::Arsh) && !(0..size).contains(&i) {
                return fail(Rule::Unsupported, format!("invalid shift {i}"), &[]);
            }
        }
        self.write_check(d)?;
        let out = match (dv.ty, s.ty) {
            (RegType::Scalar, RegType::Scalar) => {
                let mut out = RegState::scalar(dv.var.alu(op, &s.var, w32));
                // Linked scalars: one 64-bit addition or subtraction of an s32 constant
                // keeps the link to the copies, with the constant as the delta (`off`),
                // so a bound learnt on either side reaches the other (BPF_ADD_CONST).
                // A 32-bit one (BPF_ADD_CONST32) only from a value that fits 32 bits.
                let linkable = matches!(op, AluOp::Add | AluOp::Sub)
                    && !self.opts.unprivileged
                    && (!w32 || (dv.var.umax <= u32::MAX as u64 && !dv.link32));
                if linkable && dv.id != 0 && dv.off == 0 {
                    let konst = if w32 {
                        s.var.is_const32().then_some(s.var.var.value as u32 as i32 as i64 as u64)
                    } else {
                        s.var.const_value()
                    };
                    let delta = konst.and_then(|c| i32::try_from(c as i64).ok()).and_then(|c| {
                        if op == AluOp::Sub {
                            c.checked_neg()
                        } else {
                            Some(c)
                        }
                    });
                    if let Some(c) = delta {
                        out.id = dv.id;
                        out.off = c;
                        out.link32 = w32;
                    }
                }
                out
            }
            (RegType::BtfId, _) | (_, RegType::BtfId) if !(dv.is_ptr() && s.is_ptr()) => {
                let (p, k) = if dv.ty == RegType::BtfId { (dv, s) } else { (s, dv) };
                let c = k.var.const_value().map(|c| c as i64);
                if let (Some(c), true) = (c, op == AluOp::Add || (op == AluOp::Sub && dv.ty == RegType::BtfId)) {
                    // A constant moves the fixed offset (`btf_struct_walk` sees it).
                    let c = if op == AluOp::Sub { c.wrapping_neg() } else { c };
                    match i32::try_from(i64::from(p.off).wrapping_add(c)) {
                        Ok(off) if p.var.is_const() => RegState { off, ..p },
                        _ => RegState { var: Scalar::unknown(), ..p },
                    }
                } else if op == AluOp::Add || op == AluOp::Sub {
                    if dv.ty == RegType::BtfId || op == AluOp::Add {
                        RegState { var: Scalar::unknown(), ..if dv.ty == RegType::BtfId { dv } else { s } }
                    } else {
                        RegState::unknown()
                    }
                } else {
                    RegState::unknown()
                }
            }
            _ if dv.is_ptr() && s.is_ptr() => {
                // Pointer minus pointer, any width, is an unknown scalar (allow_ptr_leaks).
                if op == AluOp::Sub && !self.opts.unprivileged {
                    RegState::unknown()
                } else {
                    return fail(
                        Rule::PointerArithmetic,
                        format!("R{d} pointer {} pointer prohibited", op_name(op)),
                        &[d as u8],
                    );
                }
            }
            _ => {
                // Exactly one side is a pointer.
                let (ptr, off, ptr_reg) = if dv.is_ptr() { (dv, s, d) } else { (s, dv, s_reg.unwrap_or(d)) };
                if w32 {
                    // 32-bit ALU on a pointer gives a meaningless scalar: only a privileged
                    // subtraction is allowed (adjust_ptr_min_max_vals).
                    if op == AluOp::Sub && !self.opts.unprivileged {
                        *st.reg_mut(d) = RegState::unknown();
                        return Ok(());
                    }
                    return fail(
                        Rule::PointerArithmetic,
                        format!("R{d} 32-bit pointer arithmetic prohibited"),
                        &[d as u8],
                    );
                }
                if !dv.is_ptr() && op == AluOp::Sub {
                    return fail(
                        Rule::PointerArithmetic,
                        format!("R{d} tried to subtract pointer from scalar"),
                        &[d as u8],
                    );
                }
                // JITs may not cope with a frame pointer moved down by a subtraction.
                if dv.ty == RegType::Stack && op == AluOp::Sub {
                    return fail(
                        Rule::PointerArithmetic,
                        format!("R{d} subtraction from stack pointer prohibited"),
                        &[d as u8],
                    );
                }
                match op {
                    AluOp::Add | AluOp::Sub => {}
                    AluOp::And | AluOp::Or | AluOp::Xor => {
                        return fail(
                            Rule::PointerArithmetic,
                            format!("R{d} bitwise operator {} on pointer prohibited", op_name(op)),
                            &[d as u8],
                        );
                    }
                    _ => {
                        return fail(
                            Rule::PointerArithmetic,
                            format!("R{d} pointer arithmetic with {} operator prohibited", op_name(op)),
                            &[d as u8],
                        );
                    }
                }
                self.ptr_arith(ptr, &off.var, op == AluOp::Sub, ptr_reg, d)?
            }
        };
        *st.reg_mut(d) = out;
        Ok(())
    }

    /// `adjust_ptr_min_max_vals` for `ptr +/- off`.
    fn ptr_arith(&mut self, ptr: RegState, off: &Scalar, sub: bool, ptr_reg: usize, d: usize) -> R<RegState> {
        let tstr = ptr.type_str();
        if ptr.maybe_null {
            return with_hint(
                fail(
                    Rule::NullDeref,
                    format!("R{ptr_reg} pointer arithmetic on {tstr} prohibited, null-check it first"),
                    &[ptr_reg as u8],
                ),
                || "compare the pointer with NULL (if (!p) return ...) before using it".into(),
            );
        }
        // A map pointer may only get + 0; a function pointer may move (passing it on
        // later is refused).
        let map_plus_zero = ptr.ty == RegType::ConstMapPtr && off.const_value() == Some(0) && !sub;
        match ptr.ty {
            RegType::ConstMapPtr | RegType::PacketEnd | RegType::Sock(_) if !map_plus_zero => {
                return fail(
                    Rule::PointerArithmetic,
                    format!("R{ptr_reg} pointer arithmetic on {tstr} prohibited"),
                    &[ptr_reg as u8],
                );
            }
            _ => {}
        }
        let ptype = tstr.trim_end_matches("_or_null").to_string();
        if let Some(c) = off.const_value() {
            let c = c as i64;
            if c >= MAX_VAR_OFF || c <= -MAX_VAR_OFF {
                return fail(
                    Rule::PointerArithmetic,
                    format!("math between {ptype} pointer and {c} is not allowed"),
                    &[d as u8],
                );
            }
        } else {
            if off.smin == i64::MIN {
                return with_hint(
                    fail(
                        Rule::PointerArithmetic,
                        format!("math between {ptype} pointer and register with unbounded min value is not allowed"),
                        &[d as u8],
                    ),
                    || "bound the offset first, e.g. `if (idx >= N) return ...;` or use an unsigned 32-bit type".into(),
                );
            }
            if off.smin >= MAX_VAR_OFF || off.smin <= -MAX_VAR_OFF {
                return fail(
                    Rule::PointerArithmetic,
                    format!("value {} makes {ptype} pointer be out of bounds", off.smin),
                    &[d as u8],
                );
            }
        }
        let mut r = ptr;
        match off.const_value() {
            Some(c) => {
                let c = c as i64;
                let new = if sub { r.off as i64 - c } else { r.off as i64 + c };
                if new >= MAX_VAR_OFF || new <= -MAX_VAR_OFF {
                    return fail(
                        Rule::PointerArithmetic,
                        format!("{ptype} pointer offset {new} is not allowed"),
                        &[d as u8],
                    );
                }
                r.off = new as i32;
            }
            None => {
                r.var = if sub { r.var.alu64(AluOp::Sub, off) } else { r.var.alu64(AluOp::Add, off) };
                // check_reg_sane_offset_ptr: the result's variable part stays within
                // BPF_MAX_VAR_OFF too.
                let bad = match r.var.const_value() {
                    Some(v) if (v as i64) >= MAX_VAR_OFF || (v as i64) <= -MAX_VAR_OFF => Some(v as i64),
                    _ if r.var.smin >= MAX_VAR_OFF || r.var.smin <= -MAX_VAR_OFF => Some(r.var.smin),
                    _ => None,
                };
                if let Some(v) = bad {
                    return fail(
                        Rule::PointerArithmetic,
                        format!("{ptype} pointer offset {v} is not allowed"),
                        &[d as u8],
                    );
                }
                if r.is_pkt() {
                    r.id = self.new_id();
                    r.range = 0;
                }
            }
        }
        if self.opts.unprivileged {
            self.unpriv_ptr_bounds(&r, d)?;
        }
        Ok(r)
    }

    /// `sanitize_check_bounds`: without CAP_BPF, stack pointers must stay constant and
    /// inside the stack, map value pointers inside the value.
    fn unpriv_ptr_bounds(&self, r: &RegState, d: usize) -> R<()> {
        let (lo, hi) = (r.off as i64 + r.var.smin, r.off as i64 + r.var.smax);
        match r.ty {
            RegType::Stack if !r.var.is_const() => fail(
                Rule::PointerArithmetic,
                format!(
                    "R{d} variable stack access prohibited for !root, var_off={} off={}",
                    r.var.var,
                    r.off as i64 + r.var.var.value as i64
                ),
                &[d as u8],
            ),
            RegType::Stack if lo >= 0 || lo < -(MAX_STACK as i64) => fail(
                Rule::PointerArithmetic,
                format!("R{d} stack pointer arithmetic goes out of range, prohibited for !root; off={lo}"),
                &[d as u8],
            ),
            RegType::MapValue if lo < 0 || hi >= self.map(r.map).value_size as i64 => fail(
                Rule::PointerArithmetic,
                format!("R{d} pointer arithmetic of map value goes out of range, prohibited for !root"),
                &[d as u8],
            ),
            _ => Ok(()),
        }
    }
}
