//! What the translator needs to know about a program before emitting code: the
//! instructions each function reaches, its basic blocks, and which registers cross
//! a bpf-to-bpf call.
//!
//! The interpreter has one register file shared by all frames: a callee starts with
//! the caller's r0 and r6–r9 (it only gets a fresh r10), and the caller gets back the
//! callee's r0–r5 (r6–r9 are restored). The JIT gives every eBPF function its own
//! native function (r1–r5 as arguments, r0 as result), and passes the other
//! registers through the run context only where a liveness analysis says someone
//! reads them — for compiled C, almost never.
//!
//! A "function" here is everything reachable from an entry point (instruction 0, a
//! `call` target or a function address) by jumps and fall-through. Unverified
//! programs may jump from one function's body into another's or fall off the end;
//! reachability makes the compiled code do what the interpreter does in those cases.

use bpfbox_isa::{CallTarget, Imm64, Insn, Operand, PacketMode, Reg};

/// A register set, bit n = rn, for r0..=r9 (r10 is the frame pointer, never passed).
pub(crate) type RegSet = u16;
pub(crate) const R0: RegSet = 1;
/// r1..=r5.
pub(crate) const ARGS: RegSet = 0b11_1110;
/// r0..=r5: what a call defines.
pub(crate) const CALL_DEFS: RegSet = 0b11_1111;
pub(crate) const ALL: RegSet = 0b11_1111_1111;

pub(crate) fn bit(r: Reg) -> RegSet {
    if r.num() >= 10 {
        0
    } else {
        1 << r.num()
    }
}

/// How control leaves an instruction slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    /// Falls through to the slot given.
    Next(usize),
    /// Unconditional jump.
    Jump(usize),
    /// Conditional jump: (taken, fall-through).
    Branch(usize, usize),
    /// A call that returns to the slot given (block boundary after it).
    Call(usize),
    /// Nothing follows (exit, or an instruction that always fails).
    Stop,
}

/// The program as the translator sees it: instructions plus resolved `lddw` values.
#[derive(Debug)]
pub(crate) struct Prog<'a> {
    pub insns: &'a [Insn],
    /// For each `LoadImm64` slot: its value, if resolved.
    pub lddw: Vec<Option<u64>>,
    /// Sorted entry points of all functions.
    pub entries: &'a [usize],
    pub has_callx: bool,
    /// Some instruction writes r10 (so r10 is not known to be the frame pointer).
    pub r10_written: bool,
    /// Per slot: a converted access ([`crate::JitOptions::converted`]), translated
    /// through the slow path even in unchecked code.
    pub converted: Vec<bool>,
    /// [`crate::JitOptions::ctx_direct`].
    pub ctx_direct: Option<Vec<u8>>,
    /// [`crate::JitOptions::inline_arrays`].
    pub inline_arrays: Vec<bpfbox_vm::InlineArray>,
    /// The handles of [`crate::JitOptions::direct_hashes`], in order.
    pub direct_hashes: Vec<u64>,
}

impl Prog<'_> {
    /// Slot `pc`, or `None` for the "fell off the end" slot `len`.
    pub fn insn(&self, pc: usize) -> Option<&Insn> {
        self.insns.get(pc)
    }

    pub fn flow(&self, pc: usize) -> Flow {
        let rel = |off: i64| (pc as i64 + 1 + off) as usize;
        let Some(insn) = self.insn(pc) else { return Flow::Stop };
        match *insn {
            Insn::Ja { off, .. } => Flow::Jump(rel(off as i64)),
            Insn::Jump { off, .. } | Insn::MayGoto { off } => Flow::Branch(rel(off as i64), pc + 1),
            Insn::Exit | Insn::LoadImm64Tail => Flow::Stop,
            Insn::Call(CallTarget::Kfunc { .. }) => Flow::Stop,
            Insn::Call(CallTarget::Helper(_)) | Insn::Call(CallTarget::Local(_)) | Insn::CallX { .. } => {
                Flow::Call(pc + 1)
            }
            Insn::LoadImm64 { .. } => match self.lddw[pc] {
                Some(_) => Flow::Next(pc + 2),
                None => Flow::Stop,
            },
            _ => Flow::Next(pc + 1),
        }
    }

    /// Whether control from `pc` reaches `exit` (or a failing instruction) within a
    /// few instructions without a conditional branch.
    pub fn leads_to_exit(&self, mut pc: usize) -> bool {
        for _ in 0..12 {
            match self.flow(pc) {
                Flow::Next(s) | Flow::Jump(s) => pc = s,
                Flow::Stop => return true,
                Flow::Branch(..) | Flow::Call(_) => return false,
            }
        }
        false
    }

    /// Registers read and written by the instruction at `pc`, given the live-in
    /// sets of functions (for local calls).
    fn use_def(&self, pc: usize, func_livein: &dyn Fn(usize) -> RegSet) -> (RegSet, RegSet) {
        let Some(insn) = self.insn(pc) else { return (0, 0) };
        let op = |o: Operand| match o {
            Operand::Reg(r) => bit(r),
            Operand::Imm(_) => 0,
        };
        match *insn {
            Insn::Alu { op: bpfbox_isa::AluOp::Mov, dst, src, .. } => (op(src), bit(dst)),
            Insn::Alu { dst, src, .. } => (bit(dst) | op(src), bit(dst)),
            Insn::Neg { dst, .. } | Insn::Endian { dst, .. } => (bit(dst), bit(dst)),
            Insn::MovSx { dst, src, .. } => (bit(src), bit(dst)),
            Insn::Load { dst, src, .. } => (bit(src), bit(dst)),
            Insn::Store { dst, src, .. } => (bit(dst) | op(src), 0),
            Insn::Atomic { op: bpfbox_isa::AtomicOp::CmpXchg, dst, src, .. } => (bit(dst) | bit(src) | R0, R0),
            Insn::Atomic { fetch, dst, src, .. } => (bit(dst) | bit(src), if fetch { bit(src) } else { 0 }),
            Insn::LoadImm64 { dst, .. } => (0, bit(dst)),
            Insn::LoadImm64Tail => (0, 0),
            Insn::LoadPacket { mode: PacketMode::Ind(r), .. } => (bit(r), R0),
            Insn::LoadPacket { .. } => (0, R0),
            Insn::Ja { .. } | Insn::MayGoto { .. } => (0, 0),
            Insn::Jump { dst, src, .. } => (bit(dst) | op(src), 0),
            Insn::LoadAcquire { dst, src, .. } | Insn::AddrSpaceCast { dst, src, .. } => (bit(src), bit(dst)),
            Insn::StoreRelease { dst, src, .. } => (bit(dst) | bit(src), 0),
            Insn::Call(CallTarget::Helper(_)) => (ARGS, R0),
            Insn::Call(CallTarget::Local(rel)) => {
                let t = (pc as i64 + 1 + rel as i64) as usize;
                (func_livein(t), CALL_DEFS)
            }
            Insn::Call(CallTarget::Kfunc { .. }) => (0, 0),
            // Either a helper (r1-r5 unchanged) or any function: uses everything.
            Insn::CallX { reg } => (ALL | bit(reg), CALL_DEFS),
            Insn::Exit => (R0, 0),
        }
    }
}

/// One basic block: consecutive slots (an `lddw` counts once), entered only at the top.
#[derive(Debug, Clone)]
pub(crate) struct BlockInfo {
    pub pcs: Vec<usize>,
}

/// One compiled function.
#[derive(Debug, Clone)]
pub(crate) struct FuncInfo {
    pub entry: usize,
    /// Blocks in slot order; `blocks[0]` starts at `entry`.
    pub blocks: Vec<BlockInfo>,
    /// Registers (other than r10) read before written: what callers must pass.
    pub livein: RegSet,
    /// Registers r0..r5 some caller reads after a call returns.
    pub retout: RegSet,
    /// Live registers after each reachable slot (indexed like the program; 0 elsewhere).
    pub live_out: Vec<RegSet>,
    reach: Vec<bool>,
}

/// Blocks and liveness of every function of `prog`.
pub(crate) fn analyze(prog: &Prog<'_>) -> Vec<FuncInfo> {
    let n = prog.insns.len();
    let mut funcs: Vec<FuncInfo> = prog.entries.iter().map(|&e| build_blocks(prog, e)).collect();
    let index = |pc: usize| prog.entries.binary_search(&pc).ok();

    // Fixpoint over live-in / ret-out sets of all functions (both only grow). A
    // function's liveness depends only on its own ret-out set and, if it makes local
    // calls, on the live-in sets: it is recomputed only when one of those changed.
    let calls: Vec<bool> = funcs
        .iter()
        .map(|f| (0..n).any(|pc| f.reach[pc] && matches!(prog.insn(pc), Some(Insn::Call(CallTarget::Local(_))))))
        .collect();
    let mut seen: Option<Vec<RegSet>> = None;
    let mut seen_retout: Vec<Option<RegSet>> = vec![None; funcs.len()];
    loop {
        let liveins: Vec<RegSet> = funcs.iter().map(|f| f.livein).collect();
        let mut retouts: Vec<RegSet> = funcs.iter().map(|f| f.retout).collect();
        if prog.has_callx {
            retouts.iter_mut().for_each(|r| *r = CALL_DEFS);
        }
        let livein_of = |t: usize| index(t).map_or(ALL, |i| liveins[i]);
        let same_liveins = seen.as_ref() == Some(&liveins);
        let mut changed = false;
        for (fi, f) in funcs.iter_mut().enumerate() {
            if (same_liveins || !calls[fi]) && seen_retout[fi] == Some(f.retout) {
                continue;
            }
            seen_retout[fi] = Some(f.retout);
            let exit_use = R0 | f.retout;
            // Backward iteration to a fixpoint over the reachable slots.
            let mut live_in = vec![0 as RegSet; n + 1];
            loop {
                let mut again = false;
                for pc in (0..=n).rev() {
                    if !f.reach[pc] {
                        continue;
                    }
                    let out = match prog.flow(pc) {
                        Flow::Next(s) | Flow::Jump(s) | Flow::Call(s) => live_in[s],
                        Flow::Branch(t, s) => live_in[t] | live_in[s],
                        Flow::Stop => 0,
                    };
                    let (mut u, d) = prog.use_def(pc, &livein_of);
                    if matches!(prog.insn(pc), Some(Insn::Exit)) {
                        u |= exit_use;
                    }
                    let inn = u | (out & !d);
                    f.live_out[pc] = out;
                    if inn != live_in[pc] {
                        live_in[pc] = inn;
                        again = true;
                    }
                }
                if !again {
                    break;
                }
            }
            let li = live_in[f.entry] & ALL;
            if li != f.livein {
                f.livein = li;
                changed = true;
            }
            // What callers read after each static local call.
            for pc in 0..n {
                if !f.reach[pc] {
                    continue;
                }
                if let Some(Insn::Call(CallTarget::Local(rel))) = prog.insn(pc) {
                    let t = (pc as i64 + 1 + *rel as i64) as usize;
                    if let Some(i) = index(t) {
                        let want = f.live_out[pc] & CALL_DEFS;
                        retouts[i] |= want;
                    }
                }
            }
        }
        for (f, r) in funcs.iter_mut().zip(&retouts) {
            if f.retout != *r {
                f.retout = *r;
                changed = true;
            }
        }
        seen = Some(liveins);
        if !changed {
            break;
        }
    }
    funcs
}

fn build_blocks(prog: &Prog<'_>, entry: usize) -> FuncInfo {
    let n = prog.insns.len();
    let mut reach = vec![false; n + 1];
    let mut leader = vec![false; n + 1];
    leader[entry] = true;
    let mut work = vec![entry];
    reach[entry] = true;
    while let Some(pc) = work.pop() {
        let mut visit = |s: usize, lead: bool, work: &mut Vec<usize>| {
            if s > n {
                return;
            }
            if lead {
                leader[s] = true;
            }
            if !reach[s] {
                reach[s] = true;
                work.push(s);
            }
        };
        match prog.flow(pc) {
            Flow::Next(s) => visit(s, false, &mut work),
            Flow::Jump(t) => visit(t, true, &mut work),
            Flow::Branch(t, s) => {
                visit(t, true, &mut work);
                visit(s, true, &mut work);
            }
            Flow::Call(s) => visit(s, true, &mut work),
            Flow::Stop => {}
        }
    }
    // A slot reached only as the second half of an lddw never starts a block, but a
    // jump into one does (it fails at run time).
    let mut blocks = Vec::new();
    let mut pc = entry;
    // Blocks in slot order, starting with the entry block.
    let mut starts: Vec<usize> = (0..=n).filter(|&p| reach[p] && leader[p]).collect();
    starts.retain(|&p| p != entry);
    starts.insert(0, entry);
    let mut in_block = vec![false; n + 1];
    for &s in &starts {
        pc = s;
        let mut pcs = Vec::new();
        loop {
            pcs.push(pc);
            in_block[pc] = true;
            match prog.flow(pc) {
                Flow::Next(s) if s <= n && !leader[s] && !in_block[s] => pc = s,
                _ => break,
            }
        }
        blocks.push(BlockInfo { pcs });
    }
    let _ = pc;
    FuncInfo { entry, blocks, livein: 0, retout: 0, live_out: vec![0; n + 1], reach }
}

/// Resolve every `lddw` slot: constants, function addresses, and pseudo values
/// through the resolver.
pub(crate) fn resolve_lddw(insns: &[Insn], resolver: Option<&bpfbox_vm::Resolver>) -> Vec<Option<u64>> {
    insns
        .iter()
        .enumerate()
        .map(|(pc, insn)| match *insn {
            Insn::LoadImm64 { imm: Imm64::Value(v), .. } => Some(v),
            Insn::LoadImm64 { imm: Imm64::Func(rel), .. } => {
                Some(bpfbox_vm::FUNC_ADDR_TAG | (pc as i64 + 1 + rel as i64) as u64)
            }
            Insn::LoadImm64 { imm, .. } => resolver.and_then(|f| f(pc, imm)),
            _ => None,
        })
        .collect()
}
