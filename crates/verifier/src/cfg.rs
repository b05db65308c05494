//! Control-flow graph and the structural checks the kernel makes before
//! abstract interpretation (`check_subprogs` + `check_cfg`): jump targets,
//! subprogram boundaries, the last instruction, reachability, back-edges in
//! unprivileged mode; plus register liveness, used by state pruning.

use bpfbox_abi::helper_by_id;
use bpfbox_isa::{CallTarget, Imm64, Insn, Operand, PacketMode};

/// A structural error, with the kernel's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CfgError {
    pub pc: usize,
    pub kind: crate::Rule,
    pub message: String,
}

/// The result of the structural pass.
#[derive(Debug, Clone)]
pub struct Cfg {
    /// First instruction of each subprogram, sorted; `subprogs[0] == 0`.
    pub subprogs: Vec<usize>,
    /// Where the abstract interpreter may compare states (jump targets,
    /// instructions after branches and calls).
    pub prune_point: Vec<bool>,
    /// Registers live on entry to each instruction (bit n: rn).
    pub live_in: Vec<u16>,
    /// Local calls: (call pc, callee subprogram index).
    pub calls: Vec<(usize, usize)>,
}

impl Cfg {
    pub fn subprog_of(&self, pc: usize) -> usize {
        match self.subprogs.binary_search(&pc) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        }
    }
    pub fn subprog_end(&self, idx: usize, len: usize) -> usize {
        self.subprogs.get(idx + 1).copied().unwrap_or(len)
    }
}

fn err(pc: usize, kind: crate::Rule, message: String) -> CfgError {
    CfgError { pc, kind, message }
}

/// Successors of `pc` inside its function (calls fall through).
fn successors(insns: &[Insn], pc: usize) -> Vec<i64> {
    let next = pc as i64 + 1;
    match insns[pc] {
        Insn::Exit => vec![],
        Insn::Ja { off, .. } => vec![next + off as i64],
        Insn::Jump { off, .. } | Insn::MayGoto { off } => vec![next, next + off as i64],
        Insn::LoadImm64 { .. } => vec![next + 1],
        _ => vec![next],
    }
}

/// Build the CFG of a slot-indexed program and run the structural checks.
pub fn build(insns: &[Insn], unprivileged: bool) -> Result<Cfg, CfgError> {
    use crate::Rule;
    let len = insns.len();
    if len == 0 {
        return Err(err(0, Rule::Structure, "empty program".into()));
    }
    // Subprogram starts: local call targets and function addresses.
    let mut subprogs = vec![0usize];
    for (pc, insn) in insns.iter().enumerate() {
        let rel = match *insn {
            Insn::Call(CallTarget::Local(rel)) => rel as i64,
            Insn::LoadImm64 { imm: Imm64::Func(rel), .. } => rel as i64,
            _ => continue,
        };
        let t = pc as i64 + 1 + rel;
        if t < 0 || t >= len as i64 {
            return Err(err(pc, Rule::JumpOutOfRange, "call to invalid destination".to_string()));
        }
        if insns[t as usize] == Insn::LoadImm64Tail {
            return Err(err(pc, Rule::JumpIntoLddw, format!("jump into the middle of ldimm64 insn {}", t - 1)));
        }
        subprogs.push(t as usize);
    }
    subprogs.sort_unstable();
    subprogs.dedup();
    let cfg_sub = |pc: usize| match subprogs.binary_search(&pc) {
        Ok(i) => i,
        Err(i) => i - 1,
    };
    // Jumps stay inside their subprogram, and each subprogram ends in exit or ja.
    for (i, &start) in subprogs.iter().enumerate() {
        let end = subprogs.get(i + 1).copied().unwrap_or(len);
        for pc in start..end {
            if let Insn::Ja { .. } | Insn::Jump { .. } | Insn::MayGoto { .. } = insns[pc] {
                for t in successors(insns, pc) {
                    if t < 0 || t >= len as i64 || cfg_sub(t as usize) != i {
                        return Err(err(pc, Rule::JumpOutOfRange, format!("jump out of range from insn {pc} to {t}")));
                    }
                    if insns[t as usize] == Insn::LoadImm64Tail {
                        return Err(err(
                            pc,
                            Rule::JumpIntoLddw,
                            format!("jump into the middle of ldimm64 insn {}", t - 1),
                        ));
                    }
                }
            }
        }
        let mut last = end - 1;
        if matches!(insns[last], Insn::LoadImm64Tail) && last > 0 {
            // Reported at the lddw itself, the instruction the tail belongs to.
            last -= 1;
        }
        if !matches!(insns[last], Insn::Exit | Insn::Ja { .. }) {
            return Err(err(last, Rule::FallThrough, "last insn is not an exit or jmp".into()));
        }
    }
    // Reachability (depth-first, as check_cfg) and back-edges.
    let mut prune_point = vec![false; len];
    let mut state = vec![0u8; len]; // 0 unseen, 1 on stack, 2 done
    let mut stack: Vec<(usize, Vec<usize>)> = Vec::new();
    let succ_all = |pc: usize| -> Vec<usize> {
        let mut s: Vec<usize> = successors(insns, pc).into_iter().map(|t| t as usize).collect();
        match insns[pc] {
            Insn::Call(CallTarget::Local(rel)) | Insn::LoadImm64 { imm: Imm64::Func(rel), .. } => {
                s.push((pc as i64 + 1 + rel as i64) as usize);
            }
            _ => {}
        }
        s
    };
    state[0] = 1;
    stack.push((0, succ_all(0)));
    while let Some((pc, mut rest)) = stack.pop() {
        if let Some(t) = rest.pop() {
            stack.push((pc, rest));
            match state[t] {
                0 => {
                    state[t] = 1;
                    stack.push((t, succ_all(t)));
                }
                1 => {
                    // Recursion is not refused here: privileged, it ends at the call depth
                    // limit ("the call stack of 9 frames is too deep"), as in the kernel.
                    if unprivileged {
                        return Err(err(pc, Rule::BackEdge, format!("back-edge from insn {pc} to {t}")));
                    }
                }
                _ => {}
            }
        } else {
            state[pc] = 2;
        }
    }
    for pc in 0..len {
        if state[pc] == 0 && insns[pc] != Insn::LoadImm64Tail {
            return Err(err(pc, Rule::Unreachable, format!("unreachable insn {pc}")));
        }
    }
    let mut calls = Vec::new();
    for (pc, insn) in insns.iter().enumerate() {
        // Prune points where Linux 6.18's check_cfg puts them (visit_insn, push_insn): a
        // conditional jump itself (its state is compared before either way is taken)
        // and its target, the target of an unconditional jump, the instruction after a
        // call, a local call and a callback reference themselves (and what follows the
        // reference).
        match *insn {
            Insn::Jump { off, .. } => {
                prune_point[pc] = true;
                // push_insn marks a BRANCH edge's target (not the fall-through).
                if let Ok(t) = usize::try_from(pc as i64 + 1 + i64::from(off)) {
                    if t < len {
                        prune_point[t] = true;
                    }
                }
            }
            Insn::Ja { .. } => {
                for t in successors(insns, pc) {
                    prune_point[t as usize] = true;
                }
            }
            Insn::LoadImm64 { imm: Imm64::Func(_), .. } => {
                prune_point[pc] = true;
                if pc + 2 < len {
                    prune_point[pc + 2] = true;
                }
            }
            Insn::MayGoto { .. } => {
                // The kernel's checkpoint at every may_goto (`mark_force_checkpoint`).
                prune_point[pc] = true;
                for t in successors(insns, pc) {
                    prune_point[t as usize] = true;
                }
            }
            Insn::Call(CallTarget::Local(rel)) => {
                prune_point[pc] = true;
                prune_point[pc + 1] = true;
                let t = (pc as i64 + 1 + rel as i64) as usize;
                calls.push((pc, cfg_sub(t)));
            }
            Insn::Call(_) if pc + 1 < len => {
                // An iterator's `next` is a forced checkpoint too (visit_insn).
                if crate::check::is_iter_next_insn(insn) {
                    prune_point[pc] = true;
                }
                prune_point[pc + 1] = true;
            }
            _ => {}
        }
    }
    let live_in = liveness(insns);
    Ok(Cfg { subprogs, prune_point, live_in, calls })
}

/// Registers an instruction reads and writes (bit masks).
fn uses_defs(insn: &Insn) -> (u16, u16) {
    let b = |r: bpfbox_isa::Reg| 1u16 << r.idx();
    let op = |o: &Operand| match o {
        Operand::Reg(r) => b(*r),
        Operand::Imm(_) => 0,
    };
    const ARGS: u16 = 0b11_1110;
    const CLOBBER: u16 = 0b11_1111;
    match insn {
        Insn::Alu { op: bpfbox_isa::AluOp::Mov, dst, src, .. } => (op(src), b(*dst)),
        Insn::Alu { dst, src, .. } => (b(*dst) | op(src), b(*dst)),
        Insn::Neg { dst, .. } | Insn::Endian { dst, .. } => (b(*dst), b(*dst)),
        Insn::MovSx { dst, src, .. } => (b(*src), b(*dst)),
        Insn::Load { dst, src, .. } => (b(*src), b(*dst)),
        Insn::Store { dst, src, .. } => (b(*dst) | op(src), 0),
        Insn::Atomic { dst, src, fetch, op: aop, .. } => {
            let cmp = *aop == bpfbox_isa::AtomicOp::CmpXchg;
            let u = b(*dst) | b(*src) | if cmp { 1 } else { 0 };
            let d = if cmp {
                1
            } else if *fetch || *aop == bpfbox_isa::AtomicOp::Xchg {
                b(*src)
            } else {
                0
            };
            (u, d)
        }
        Insn::LoadImm64 { dst, .. } => (0, b(*dst)),
        Insn::LoadImm64Tail => (0, 0),
        Insn::LoadPacket { mode, .. } => {
            let ind = match mode {
                PacketMode::Ind(r) => b(*r),
                PacketMode::Abs => 0,
            };
            (1 << 6 | ind, CLOBBER)
        }
        Insn::Ja { .. } | Insn::MayGoto { .. } => (0, 0),
        Insn::Jump { dst, src, .. } => (b(*dst) | op(src), 0),
        Insn::LoadAcquire { dst, src, .. } | Insn::AddrSpaceCast { dst, src, .. } => (b(*src), b(*dst)),
        Insn::StoreRelease { dst, src, .. } => (b(*dst) | b(*src), 0),
        Insn::Call(CallTarget::Helper(id)) => {
            let n = u32::try_from(*id).ok().and_then(helper_by_id).map_or(5, |p| p.declared_args().len());
            (((1u16 << n) - 1) << 1, CLOBBER)
        }
        Insn::Call(_) => (ARGS, CLOBBER),
        Insn::CallX { reg } => (ARGS | b(*reg), CLOBBER),
        Insn::Exit => (1, 0),
    }
}

/// Backward may-liveness of registers within each function.
fn liveness(insns: &[Insn]) -> Vec<u16> {
    let len = insns.len();
    let mut live = vec![0u16; len];
    let ud: Vec<(u16, u16)> = insns.iter().map(uses_defs).collect();
    let mut changed = true;
    while changed {
        changed = false;
        for pc in (0..len).rev() {
            if insns[pc] == Insn::LoadImm64Tail {
                continue;
            }
            let mut out = 0u16;
            for t in successors(insns, pc) {
                if let Some(&l) = live.get(t as usize) {
                    out |= l;
                }
            }
            let (u, d) = ud[pc];
            let inn = u | (out & !d) | 1 << 10;
            if inn != live[pc] {
                live[pc] = inn;
                changed = true;
            }
        }
    }
    live
}

#[cfg(test)]
mod tests {
    use super::*;
    use bpfbox_isa::llvm::assemble;

    fn check(src: &str) -> Result<Cfg, CfgError> {
        build(&assemble(src).expect("asm"), false)
    }

    #[test]
    fn structural_errors() {
        assert_eq!(check("r0 = 0\nexit").map(|c| c.subprogs).ok(), Some(vec![0]));
        let e = check("r0 = 0").expect_err("error");
        assert_eq!(e.message, "last insn is not an exit or jmp");
        let e = check("goto +5\nexit").expect_err("error");
        assert_eq!(e.message, "jump out of range from insn 0 to 6");
        let e = check("r0 = 0\nexit\nr0 = 1\nexit").expect_err("error");
        assert_eq!(e.message, "unreachable insn 2");
        let e = check("goto +1\nr0 = 0 ll\nexit").expect_err("error");
        assert_eq!(e.message, "jump into the middle of ldimm64 insn 1");
        let e = build(&assemble("r0 = 0\nl: r0 += 1\nif r0 < 3 goto l\nexit").expect("asm"), true).expect_err("err");
        assert_eq!(e.message, "back-edge from insn 2 to 1");
    }

    #[test]
    fn subprograms_and_liveness() {
        let c = check("call f\nexit\nf: r0 = 1\nexit").expect("ok");
        assert_eq!(c.subprogs, vec![0, 2]);
        assert_eq!(c.calls, vec![(0, 1)]);
        let c = check("r1 = 1\nr2 = 2\nr0 = r1\nexit").expect("ok");
        assert_eq!(c.live_in[2] & 0b111, 0b010);
        assert_eq!(c.live_in[3] & 0b111, 0b001);
    }
}
