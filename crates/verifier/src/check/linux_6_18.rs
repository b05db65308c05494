//! The instructions Linux added after RFC 9669, as its verifier treats them:
//! `may_goto` (a branch whose fall-through counts loop depth), load-acquire and
//! store-release (loads and stores with the atomics' pointer and alignment rules),
//! `addr_space_cast` (BPF arena only).

use super::mem::strict_align;
use super::precision::Need;
use super::{fail, size_bytes, Next, Path, Verifier, R};
use crate::state::{IterState, RegState, RegType, SlotType, State};
use crate::{BranchDecision, Rule};
use bpfbox_isa::{Reg, Size};

/// `atomic_ptr_type_ok`: no atomic access to ctx, packet or socket memory (bpfbox's
/// sockets are `BtfId` pointers, which the kernel allows for tracing objects).
fn atomic_ptr_ok(base: &RegState, regno: usize, what: &str) -> R<()> {
    if matches!(base.ty, RegType::Ctx | RegType::Packet | RegType::PacketMeta) {
        return fail(
            Rule::InvalidMemAccess,
            format!("BPF_ATOMIC {what} R{regno} {} is not allowed", base.type_str()),
            &[regno as u8],
        );
    }
    Ok(())
}

/// `maybe_widen_reg`: a scalar not known to matter that changed since the previous
/// loop entry becomes unknown, so that `while (can_loop)` loops converge.
fn widen(old: &RegState, cur: &mut RegState) {
    if old.ty == RegType::Scalar && cur.ty == RegType::Scalar && old.var != cur.var {
        *cur = RegState::unknown();
    }
}

/// Stack bytes the kernel adds below a function that uses `may_goto`, for its loop
/// budget (`do_misc_fixups`): 16 with the x86-64 and arm64 JITs (timed may_goto: a
/// counter and a deadline), 8 elsewhere. bpfbox reports the x86-64/arm64 figure, what
/// Linux 6.18 on x86-64 prints.
const MAY_GOTO_STACK: u32 = 16;

impl Verifier<'_> {
    /// The stack depth of each subprogram as the kernel reports it after its
    /// rewrites: with the hidden `may_goto` slot(s) below the program's stack.
    pub(super) fn stack_depth_after_fixups(&self) -> Vec<u32> {
        let subs = &self.cfg.subprogs;
        let mut depth = self.stack_depth.clone();
        for (i, d) in depth.iter_mut().enumerate() {
            let end = subs.get(i + 1).copied().unwrap_or(self.insns.len());
            let start = subs.get(i).copied().unwrap_or(end);
            if self.insns[start..end].iter().any(|i| matches!(i, bpfbox_isa::Insn::MayGoto { .. })) {
                *d = d.div_ceil(8) * 8 + MAY_GOTO_STACK;
            }
        }
        depth
    }

    /// `may_goto`: the kernel explores the jump (budget spent) first, and queues the
    /// fall-through one `may_goto_depth` deeper, its imprecise scalars widened against
    /// the previous entry of this loop.
    pub(super) fn may_goto(&mut self, p: &mut Path, off: i16) -> Next {
        self.jumps += 1;
        let pc = p.pc;
        let target = (pc as i64 + 1 + off as i64) as usize;
        let mut fall = Path { pc: pc + 1, st: p.st.clone(), node: p.node, path: p.path.clone(), hist: p.hist.clone() };
        fall.st.may_goto_depth += 1;
        fall.path.push(BranchDecision { pc, taken: false });
        p.path.push(BranchDecision { pc, taken: true });
        self.widen_loop_state(pc, p.node, &p.st, &mut fall.st);
        Next::Branch(Box::new(fall), target)
    }

    /// `widen_imprecise_scalars` for the next pass of a loop (a `may_goto`'s
    /// fall-through, an iterator's next element) queued at `pc` by the path `node` in
    /// state `st`: the scalars that do not matter from `pc` on and changed since the
    /// previous pass become unknown, so that the passes converge.
    pub(super) fn widen_loop_state(&mut self, pc: usize, node: usize, st: &State, next: &mut State) {
        let Some((prev, prev_node)) = self.prev_loop_entry(pc, node, st) else { return };
        // What is precise in the previous pass's state so far (the kernel's per-state
        // marks: not what may matter on some path from here, which would keep exact a
        // value that only mattered where it was a constant, e.g. before the first pass).
        let need = match self.prec.as_ref() {
            Some(_) => self.nodes[prev_node].dprec,
            // Unprivileged: every scalar is precise.
            None => Need::ALL,
        };
        // Precision is known for the innermost frame only: outer frames stay exact.
        if let (Some(of), Some(cf)) = (prev.frames.last(), next.frames.last_mut()) {
            for r in (0..10).filter(|r| need.regs & (1 << r) == 0) {
                widen(&of.regs[r], &mut cf.regs[r]);
            }
            let spilled = |b: &[SlotType; 8]| b.iter().all(|t| *t == SlotType::Spill);
            for (k, cs) in cf.stack.iter_mut().enumerate().take(64) {
                let os = of.slot(k);
                if need.slots & (1 << k) == 0 && spilled(&cs.bytes) && spilled(&os.bytes) {
                    widen(&os.spilled, &mut cs.spilled);
                }
            }
        }
    }

    /// Whether `pc` calls an iterator's `next` (`is_iter_next_insn`): a forced
    /// checkpoint where the loop's passes converge.
    pub(super) fn is_iter_next(&self, pc: usize) -> bool {
        is_iter_next_insn(&self.insns[pc])
    }

    /// `find_prev_entry`: the most recent state stored at `pc` on the current path
    /// before the one this path just stored (`node`), with the same call sites.
    fn prev_loop_entry(&self, pc: usize, node: usize, st: &State) -> Option<(State, usize)> {
        let same_sites = |o: &State| {
            o.frames.len() == st.frames.len() && o.frames.iter().zip(&st.frames).all(|(a, b)| a.callsite == b.callsite)
        };
        self.explored[pc]
            .iter()
            .rev()
            .find(|e| e.node != node && self.nodes[e.node].branches > 0 && same_sites(&e.st))
            .map(|e| (e.st.clone(), e.node))
    }

    /// At a `may_goto`, a state still being explored one loop iteration back whose
    /// ranges contain the current ones (`RANGE_WITHIN`: every scalar compared) covers
    /// it: the loop has converged.
    pub(super) fn may_goto_converged(&self, pc: usize, old: &State, cur: &State, live: u16) -> bool {
        matches!(self.insns[pc], bpfbox_isa::Insn::MayGoto { .. })
            && old.may_goto_depth != cur.may_goto_depth
            && super::prune::states_subsume(old, cur, live, &[Need::ALL; super::MAX_CALL_FRAMES], &[])
    }

    /// At an iterator's `next`, a state still being explored one loop iteration back
    /// whose ranges contain the current ones covers it while the current iterator is
    /// active (`is_state_visited`, `is_iter_next_insn`): the loop has converged.
    pub(super) fn iter_next_converged(&self, old: &State, cur: &State, live: u16) -> bool {
        let it = cur.reg(1);
        let active = it.ty == RegType::Stack
            && it.var.const_value().is_some_and(|v| {
                let off = it.off as i64 + v as i64;
                off < 0
                    && cur
                        .frames
                        .get(it.aux as usize)
                        .is_some_and(|f| IterState::of(&f.slot(((-off - 1) / 8) as usize)).is_some_and(|s| !s.drained))
            });
        active && super::prune::states_subsume(old, cur, live, &[Need::ALL; super::MAX_CALL_FRAMES], &[])
    }

    /// `dst = load_acquire((size *)(src + off))`: `check_load_mem` with strict
    /// alignment, then `atomic_ptr_type_ok`.
    pub(super) fn load_acquire(&mut self, p: &mut Path, size: Size, dst: Reg, src: Reg, off: i16) -> R<Next> {
        let (pc, s) = (p.pc, src.idx());
        let base = self.read_reg(&p.st, s)?;
        self.write_check(dst.idx())?;
        if base.ty == RegType::Stack && s != 10 {
            self.mark_stack_ptr_access(&p.st, &base, off as i64, size_bytes(size), pc);
        }
        let sz = size_bytes(size);
        strict_align(&base, off, sz, s)?;
        let v = self.mem_access(&mut p.st, s, base, off as i64, sz, None, pc)?;
        atomic_ptr_ok(&base, s, "loads from")?;
        *p.st.reg_mut(dst.idx()) = v;
        Ok(Next::Goto(pc + 1))
    }

    /// `store_release((size *)(dst + off), src)`: `check_store_reg` with strict
    /// alignment, then `atomic_ptr_type_ok`.
    pub(super) fn store_release(&mut self, p: &mut Path, size: Size, dst: Reg, off: i16, src: Reg) -> R<Next> {
        let (pc, d, s) = (p.pc, dst.idx(), src.idx());
        let val = self.read_reg(&p.st, s)?;
        let base = self.read_reg(&p.st, d)?;
        if d != 10 && matches!(base.ty, RegType::Stack) {
            // A store into the stack through another pointer may come back as a value.
            self.mark_precise_static(pc, 1 << s);
        }
        let sz = size_bytes(size);
        strict_align(&base, off, sz, d)?;
        self.mem_access(&mut p.st, d, base, off as i64, sz, Some((val, Some(s))), pc)?;
        atomic_ptr_ok(&base, d, "stores into")?;
        Ok(Next::Goto(pc + 1))
    }

    /// `addr_space_cast` converts BPF arena pointers; the kernel refuses it in a
    /// program without an arena map, and bpfbox does not model arena pointers.
    pub(super) fn addr_space_cast(&mut self, p: &mut Path, dst: Reg, src: Reg, _dst_as: u16, _src_as: u16) -> R<Next> {
        let arena = bpfbox_abi::map_types::MapType::Arena as u32;
        if !self.prog.maps.iter().any(|m| m.map_type == arena) {
            return fail(
                Rule::Structure,
                "addr_space_cast insn can only be used in a program that has an associated arena",
                &[],
            );
        }
        self.read_reg(&p.st, src.idx())?;
        self.write_check(dst.idx())?;
        fail(Rule::Unsupported, "bpfbox does not model BPF arena pointers (addr_space_cast)", &[dst.num()])
    }
}

/// A call of an iterator's `next` kfunc.
pub(crate) fn is_iter_next_insn(insn: &bpfbox_isa::Insn) -> bool {
    matches!(*insn, bpfbox_isa::Insn::Call(bpfbox_isa::CallTarget::Kfunc { btf_id, .. })
        if bpfbox_abi::kfuncs::kfunc_name(btf_id) == Some("bpf_iter_num_next"))
}

#[cfg(test)]
mod tests {
    use crate::{verify, ProgramInput, VerifyOptions};
    use bpfbox_abi::prog_types::ProgType;

    fn log(src: &str) -> (bool, String) {
        let prog = ProgramInput {
            name: "t".into(),
            insns: bpfbox_isa::llvm::assemble(src).expect("asm"),
            prog_type: ProgType::SocketFilter,
            expected_attach_type: None,
            maps: vec![],
            attach_target: None,
            sleepable: false,
            kernel_btf: None,
            funcs: vec![],
        };
        let r = verify(&prog, &VerifyOptions { log: true, ..VerifyOptions::default() });
        (r.accepted(), r.log.unwrap_or_default())
    }

    /// Linux 6.18 (x86-64) printed, for this program: `stack depth 24` (8 + 16 for the
    /// timed may_goto's counter and deadline), and these instruction lines.
    #[test]
    fn kernel_log_of_the_new_instructions() {
        let (ok, l) = log("r1 = 7\nstore_release((u64 *)(r10 - 8), r1)\nw0 = load_acquire((u8 *)(r10 - 1))\n\
                           may_goto +1\nr0 = 0\nexit");
        assert!(ok, "{l}");
        for line in [
            "1: (db) store_release((u64 *)(r10 -8), r1)",
            "2: (d3) r0 = load_acquire((u8 *)(r10 -1))",
            "3: (e5) may_goto pc+1",
            "stack depth 24",
        ] {
            assert!(l.contains(line), "`{line}` missing from\n{l}");
        }
        // Without may_goto, no hidden slot.
        let (_, l) = log("r1 = 7\n*(u64 *)(r10 - 8) = r1\nr0 = 0\nexit");
        assert!(l.contains("stack depth 8\n"), "{l}");
    }

    /// The loop converges one iteration after its counter was widened: the work does
    /// not grow with the loop's bound (there is none). (Were r6 returned, bpfbox would
    /// keep it exact, as it keeps r0 at `exit` for every program type, and give up at
    /// the instruction limit where Linux 6.18 widens it and accepts.)
    #[test]
    fn can_loop_converges() {
        let (ok, l) = log("r0 = 0\nr6 = 0\ntop: may_goto out\nr6 += 3\ngoto top\nout: r0 = 0\nexit");
        assert!(ok, "{l}");
        let processed: u64 = l
            .lines()
            .find_map(|x| x.strip_prefix("processed ")?.split(' ').next()?.parse().ok())
            .expect("processed line");
        assert!(processed < 60, "{processed} instructions processed\n{l}");
    }
}
