//! Conditional jumps (`check_cond_jmp_op`): which way a comparison may go
//! (`is_branch_taken`), the bounds each side learns (`reg_set_min_max`, passed on to
//! linked scalars), null checks of maybe-NULL pointers (`mark_ptr_or_null_regs`), and
//! packet ranges learnt from comparisons with `data_end` (`try_match_pkt_pointers`).

use super::{fail, Next, Path, Verifier, MAX_PACKET_OFF, MAX_PATH, R};
use crate::bounds::Scalar;
use crate::state::{RegState, RegType, State};
use crate::{BranchDecision, Rule};
use bpfbox_isa::{AluOp, Cond, Operand};

/// `reg_not_null`: the pointer types whose comparison with 0 the kernel decides
/// (sockets are `BtfId` here: referenced ones, from lookups, count).
fn reg_not_null(r: &RegState) -> bool {
    !r.maybe_null
        && match r.ty {
            RegType::MapValue | RegType::MapKey | RegType::ConstMapPtr | RegType::Mem => true,
            RegType::BtfId => r.ref_obj_id != 0,
            RegType::Sock(k) => k != crate::sock::SockKind::XdpSock,
            _ => false,
        }
}

/// Set a refined scalar and propagate it to the registers linked by id.
fn set_scalar(st: &mut State, r: usize, v: Scalar) {
    let reg = *st.reg(r);
    if reg.ty != RegType::Scalar {
        return;
    }
    let id = reg.id;
    st.reg_mut(r).var = v;
    if id != 0 {
        st.for_each_reg(|x| {
            if x.ty == RegType::Scalar && x.id == id {
                let k = |c: i64| Scalar::konst(c as u64);
                x.var = if x.off == reg.off && x.link32 == reg.link32 {
                    v
                } else if reg.link32 && !x.link32 {
                    // Back to the base (which fits 32 bits), then the 64-bit delta.
                    let base = v.alu(AluOp::Add, &k(-(reg.off as i64)), true);
                    base.alu(AluOp::Add, &k(x.off as i64), false)
                } else {
                    v.alu(AluOp::Add, &k(x.off as i64 - reg.off as i64), x.link32)
                };
            }
        });
    }
}

/// `mark_ptr_or_null_regs`.
/// `mark_ptr_or_null_regs`: the registers sharing `id` are NULL, or all not NULL.
/// Not NULL, they keep their id only where a spin lock may be behind them
/// (`may_lock`): the kernel drops it so that state pruning can match them.
fn mark_null(st: &mut State, id: u32, is_null: bool, may_lock: impl Fn(&RegState) -> bool) {
    let mut released = None;
    st.for_each_reg(|r| {
        if r.maybe_null && r.id == id {
            if is_null {
                if r.ref_obj_id != 0 {
                    released = Some(r.ref_obj_id);
                }
                *r = RegState::konst(0);
            } else {
                r.maybe_null = false;
                if !may_lock(r) {
                    r.id = 0;
                }
            }
        }
    });
    if let Some(rid) = released {
        st.refs.retain(|x| x.id != rid);
    }
}

impl Verifier<'_> {
    /// `is_branch_taken` for a pointer compared with a constant 0: `Some(true)` when
    /// the jump is always taken, `Some(false)` never; `None` when undecided.
    fn ptr_vs_zero(&self, cond: Cond, w32: bool, dv: &RegState, sv: &RegState) -> Option<bool> {
        if !matches!(cond, Cond::Eq | Cond::Ne) || dv.is_ptr() == sv.is_ptr() {
            return None;
        }
        // A 32-bit comparison is not decided: the low half of a valid pointer may be 0.
        if w32 {
            return None;
        }
        let (p, k) = if dv.is_ptr() { (dv, sv) } else { (sv, dv) };
        let zero = k.ty == RegType::Scalar && k.var.const_value() == Some(0);
        (zero && reg_not_null(p)).then_some(cond == Cond::Ne)
    }

    pub(super) fn cond_jump(
        &mut self,
        p: &mut Path,
        cond: Cond,
        w32: bool,
        d: usize,
        src: Operand,
        off: i16,
    ) -> R<Next> {
        let pc = p.pc;
        let target = (pc as i64 + 1 + off as i64) as usize;
        let dv = self.read_reg(&p.st, d)?;
        let (sv, s_reg) = match src {
            Operand::Reg(r) => (self.read_reg(&p.st, r.idx())?, Some(r.idx())),
            Operand::Imm(i) => (RegState::konst(if w32 { i as u32 as u64 } else { i as i64 as u64 }), None),
        };
        // The source register is checked first (check_cond_jmp_op), unless both are packet pointers.
        let pkt_any = |r: &RegState| matches!(r.ty, RegType::Packet | RegType::PacketMeta);
        if let Some(sr) = s_reg.filter(|_| self.opts.unprivileged && sv.is_ptr() && !(pkt_any(&dv) && pkt_any(&sv))) {
            return fail(Rule::PointerComparison, format!("R{sr} pointer comparison prohibited"), &[sr as u8]);
        }
        let mut taken = p.st.clone();
        let mut fall = std::mem::replace(
            &mut p.st,
            State { frames: vec![], refs: vec![], lock: None, rcu: false, may_goto_depth: 0 },
        );
        // Which branches are possible, and the states after each.
        let (t_ok, f_ok) = if dv.ty == RegType::Scalar && sv.ty == RegType::Scalar {
            match dv.var.branch_taken(cond, &sv.var, w32) {
                Some(true) => (true, false),
                Some(false) => (false, true),
                None => {
                    // Undecided: both sides are walked, even one whose refinement
                    // contradicts itself (its registers keep the refined tnum only).
                    for (st, negated) in [(&mut taken, false), (&mut fall, true)] {
                        let r = dv.var.refine_or_reset(cond, negated, &sv.var, w32);
                        set_scalar(st, d, r.a);
                        if let Some(sr) = s_reg {
                            set_scalar(st, sr, r.b);
                        }
                    }
                    (true, true)
                }
            }
        } else if let Some(taken_if_ne) = self.ptr_vs_zero(cond, w32, &dv, &sv) {
            // A pointer that cannot be NULL against a constant 0, either side, 64-bit
            // (is_branch_taken): decided.
            (taken_if_ne, !taken_if_ne)
        } else if matches!(cond, Cond::Eq | Cond::Ne) && dv.is_ptr() && matches!(src, Operand::Imm(0)) && !w32 {
            // Only a comparison with the immediate 0 is a null check (not a register holding 0).
            let ptr = dv;
            let (eq_st, ne_st) = if cond == Cond::Eq { (&mut taken, &mut fall) } else { (&mut fall, &mut taken) };
            if ptr.maybe_null && ptr.id != 0 {
                let may_lock = |r: &RegState| r.ty == RegType::MapValue && self.map(r.map).spin_lock_off.is_some();
                mark_null(eq_st, ptr.id, true, may_lock);
                mark_null(ne_st, ptr.id, false, may_lock);
                (true, true)
            } else if reg_not_null(&ptr) {
                // A pointer that cannot be NULL (`is_branch_taken`).
                (cond == Cond::Ne, cond == Cond::Eq)
            } else if self.opts.unprivileged {
                return fail(Rule::PointerComparison, format!("R{d} pointer comparison prohibited"), &[d as u8]);
            } else {
                // ctx, stack and packet pointers are not NULL either, but the kernel
                // does not decide such branches: both are walked (a loop that only
                // such a test ends is an infinite loop to it).
                (true, true)
            }
        } else if dv.is_ptr() && sv.is_ptr() && !w32 {
            if self.opts.unprivileged {
                return fail(Rule::PointerComparison, format!("R{d} pointer comparison prohibited"), &[d as u8]);
            }
            self.pkt_compare(&mut taken, &mut fall, cond, &dv, &sv);
            // Equal to a pointer that cannot be NULL: not NULL either (only this register,
            // as mark_ptr_not_null_reg does; kernel-object pointers excepted).
            if let (Cond::Eq | Cond::Ne, Some(sr)) = (cond, s_reg) {
                if dv.maybe_null != sv.maybe_null && dv.ty != RegType::BtfId && sv.ty != RegType::BtfId {
                    let eq_st = if cond == Cond::Eq { &mut taken } else { &mut fall };
                    let r = if dv.maybe_null { d } else { sr };
                    eq_st.reg_mut(r).maybe_null = false;
                }
            }
            (true, true)
        } else {
            if self.opts.unprivileged && (dv.is_ptr() || sv.is_ptr()) {
                return fail(Rule::PointerComparison, format!("R{d} pointer comparison prohibited"), &[d as u8]);
            }
            (true, true)
        };
        let mut path = std::mem::take(&mut p.path);
        if path.len() >= MAX_PATH {
            path.drain(..path.len() - MAX_PATH / 2);
        }
        match (t_ok, f_ok) {
            (true, true) => {
                let mut tp = path.clone();
                tp.push(BranchDecision { pc, taken: true });
                path.push(BranchDecision { pc, taken: false });
                p.st = fall;
                p.path = path;
                Ok(Next::Branch(
                    Box::new(Path { pc: target, st: taken, node: p.node, path: tp, hist: p.hist.clone() }),
                    pc + 1,
                ))
            }
            (true, false) => {
                path.push(BranchDecision { pc, taken: true });
                p.st = taken;
                p.path = path;
                Ok(Next::Goto(target))
            }
            (false, true) => {
                path.push(BranchDecision { pc, taken: false });
                p.st = fall;
                p.path = path;
                Ok(Next::Goto(pc + 1))
            }
            (false, false) => {
                p.st = fall;
                p.path = path;
                Ok(Next::Done)
            }
        }
    }

    /// `try_match_pkt_pointers`: packet range learnt from comparisons with `data_end`.
    fn pkt_compare(&mut self, taken: &mut State, fall: &mut State, cond: Cond, dv: &RegState, sv: &RegState) {
        // Normalise to `pkt OP end`.
        // data against data_end, or data_meta against data (not data_meta against data_end).
        let (pkt, op) = if (dv.ty == RegType::Packet && sv.ty == RegType::PacketEnd)
            || (dv.ty == RegType::PacketMeta && sv.ty == RegType::Packet)
        {
            (dv, cond)
        } else if (sv.ty == RegType::Packet && dv.ty == RegType::PacketEnd)
            || (sv.ty == RegType::PacketMeta && dv.ty == RegType::Packet)
        {
            let flipped = match cond {
                Cond::Gt => Cond::Lt,
                Cond::Lt => Cond::Gt,
                Cond::Ge => Cond::Le,
                Cond::Le => Cond::Ge,
                c => c,
            };
            (sv, flipped)
        } else {
            return;
        };
        // (state where pkt <= end or pkt < end, right_open)
        let (good, right_open): (&mut State, bool) = match op {
            Cond::Gt => (fall, false),  // !(pkt > end): pkt <= end
            Cond::Le => (taken, false), // pkt <= end
            Cond::Lt => (taken, true),  // pkt < end
            Cond::Ge => (fall, true),   // !(pkt >= end): pkt < end
            _ => return,
        };
        if pkt.off < 0 || (pkt.off == 0 && right_open) {
            return;
        }
        if pkt.var.umax > MAX_PACKET_OFF || pkt.var.umax + pkt.off as u64 > MAX_PACKET_OFF {
            return;
        }
        let new_range = pkt.off + i32::from(right_open);
        let (ty, id) = (pkt.ty, pkt.id);
        good.for_each_reg(|r| {
            if r.ty == ty && r.id == id && r.var == pkt.var {
                r.range = r.range.max(new_range);
            }
        });
    }
}
