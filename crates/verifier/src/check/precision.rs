//! Precision and liveness of scalars ([`Precision`], the kernel's
//! `mark_chain_precision` in a conservative form): where a scalar's value decides
//! something, recorded as the walk executes, and the backward closure over the
//! control-flow graph that tells pruning which scalars it must compare by value.

use super::Verifier;
use crate::state::{RegState, RegType, State, MAX_STACK};
use bpfbox_abi::{helper_by_id, ArgKind, TypeFlags};
use bpfbox_isa::{AluOp, AtomicOp, CallTarget, Insn, Operand, PacketMode};
use std::rc::Rc;

/// A conservative form of the kernel's precision tracking (`mark_chain_precision`).
///
/// `need[pc]` holds the registers and stack slots of the current frame whose scalar
/// value may matter for safety on some path from `pc` in its function: a backward
/// data-flow closure over the control-flow graph from the places where a scalar's
/// range decides something (pointer arithmetic, a conditional jump that went only one
/// way, values stored into the stack through pointers other than r10, helper and
/// function arguments,
/// stack memory a helper or a callee may read, the return value, legacy packet
/// offsets, atomics). The places that depend on types are recorded as they are
/// executed (`used`, `indirect`), so when an explored state's exploration is complete,
/// every such place its paths reached is in the closure. Scalars (registers and
/// spilled or misc stack slots) of the innermost frame outside `need[pc]` are compared
/// by type, initialization and links only at `pc`, like the kernel's scalars never
/// marked precise. Outer frames stay exact.
pub(super) struct Precision {
    used: Vec<Need>,
    /// The slots a load or store through a stack pointer other than r10 reached, on
    /// any path (they are not known statically).
    indirect: Vec<u64>,
    /// Loads of an outer frame's stack (by a callee through a pointer its caller gave
    /// it), by load pc: the call instruction that left that frame and the slots read.
    /// The slots matter at that call when the loaded value matters at the load.
    outer: Vec<Vec<(usize, u64)>>,
    /// The loads that read the bytes of a spilled register (`fill`) on some path. A
    /// load of misc or zero bytes gives what their type says, an unknown scalar or 0,
    /// whatever the slot's value: only a fill's slot can matter by value, as the
    /// kernel tracks precision only through fills (`INSN_F_STACK_ACCESS`).
    fills: Vec<bool>,
    /// Stores of a register holding 0 as zero bytes, by pc: the register and the slots
    /// written. Which type the bytes get depends on its value, so it matters where the
    /// slots are read again ([`Verifier::settle_precision`]).
    zero_stores: Vec<(usize, u16, u64)>,
    pub(super) need: Vec<Need>,
    preds: Vec<Vec<usize>>,
    /// Per instruction: the entry of the static subprogram it calls. Its arguments
    /// matter where the callee's values depend on them: its need at entry.
    callee: Vec<Option<usize>>,
    /// Per subprogram entry: the static calls of it (their need follows its own).
    callers: Vec<Vec<usize>>,
    work: Vec<usize>,
    queued: Vec<bool>,
    /// Exits before this instruction leave the program with a return value nothing
    /// checks (the main function of a program type without a return range): r0 does
    /// not matter there, as the kernel marks it precise only to enforce a range.
    free_exits_end: usize,
    /// Stack liveness instead of precision: every read of a slot counts, whatever
    /// becomes of the value read (the kernel's `REG_LIVE_READ` on stack slots). The
    /// registers of such an instance mean nothing.
    reads_all: bool,
}

/// A path's history, newest first (the kernel's `jmp_history` plus the states it
/// stored): enough to walk it back instruction by instruction.
pub(super) struct Hist {
    ev: Ev,
    prev: HistRef,
}

pub(super) type HistRef = Option<Rc<Hist>>;

impl Drop for Hist {
    /// Without recursion: a path's history can be a million entries long.
    fn drop(&mut self) {
        let mut next = self.prev.take();
        while let Some(rc) = next {
            match Rc::try_unwrap(rc) {
                Ok(mut h) => next = h.prev.take(),
                Err(_) => break,
            }
        }
    }
}

enum Ev {
    /// Control went from `from` to `to`, not the next instruction.
    Jump { from: u32, to: u32 },
    /// The path stored its state as `node` before the instruction at `pc`.
    Check { node: u32, pc: u32 },
}

pub(super) fn push_jump(h: &mut HistRef, from: usize, to: usize) {
    let prev = h.take();
    *h = Some(Rc::new(Hist { ev: Ev::Jump { from: from as u32, to: to as u32 }, prev }));
}

pub(super) fn push_check(h: &mut HistRef, node: usize, pc: usize) {
    let prev = h.take();
    *h = Some(Rc::new(Hist { ev: Ev::Check { node: node as u32, pc: pc as u32 }, prev }));
}

/// Registers (bit n: rn) and current-frame stack slots (bit i: `stack[i]`).
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub(super) struct Need {
    pub(super) regs: u16,
    pub(super) slots: u64,
}

impl Need {
    pub(super) const ALL: Need = Need { regs: u16::MAX, slots: u64::MAX };
    pub(super) fn or(self, o: Need) -> Need {
        Need { regs: self.regs | o.regs, slots: self.slots | o.slots }
    }
    fn covers(self, o: Need) -> bool {
        o.regs & !self.regs == 0 && o.slots & !self.slots == 0
    }
}

/// The slots (bit i: `stack[i]`) holding bytes `off .. off + size` below the frame pointer.
pub(super) fn slot_bits(off: i64, size: i64) -> u64 {
    if off >= 0 || off < -(MAX_STACK as i64) || size <= 0 || off + size > 0 {
        return u64::MAX;
    }
    let lo = (-(off + size)) / 8;
    let hi = (-off - 1) / 8;
    (lo..=hi).fold(0, |m, i| m | 1u64 << i)
}

/// Successors of `pc` inside its function (calls fall through).
fn prec_successors(insns: &[Insn], pc: usize) -> [Option<usize>; 2] {
    let at = |d: i64| usize::try_from(pc as i64 + 1 + d).ok().filter(|t| *t < insns.len());
    match insns[pc] {
        Insn::Exit | Insn::LoadImm64Tail => [None, None],
        Insn::Ja { off, .. } => [at(off as i64), None],
        Insn::Jump { off, .. } | Insn::MayGoto { off } => [at(0), at(off as i64)],
        Insn::LoadImm64 { .. } => [at(1), None],
        _ => [at(0), None],
    }
}

/// The arguments (bit n: rn) of a helper whose scalar values its checks look at: sizes
/// (`ARG_CONST_SIZE*`, `ARG_CONST_ALLOC_SIZE_OR_ZERO`, made precise by the kernel too),
/// arguments that may be NULL (a scalar 0 is accepted, another scalar is not) and
/// `get_local_storage`'s flags (refused unless 0). A helper calling back into the
/// program hands its arguments to the callback: all of them. The others (`ARG_ANYTHING`
/// scalars, pointers, which are compared exactly anyway) decide nothing.
fn helper_value_args(proto: &bpfbox_abi::HelperProto) -> u16 {
    let args = proto.declared_args();
    if args.iter().any(|a| a.kind == ArgKind::PtrToFunc) {
        return 0b11_1110;
    }
    let mut m = 0;
    for (i, a) in args.iter().enumerate().take(5) {
        let sized = matches!(a.kind, ArgKind::ConstSize | ArgKind::ConstSizeOrZero | ArgKind::ConstAllocSizeOrZero);
        if sized || a.flags.contains(TypeFlags::MAYBE_NULL) || (proto.name == "get_local_storage" && i == 1) {
            m |= 1 << (i + 1);
        }
    }
    m
}

/// The register a load or atomic loads from memory: a load's destination, the
/// register an atomic fetches into (r0 for `cmpxchg`).
fn fetched(insn: &Insn) -> Option<bpfbox_isa::Reg> {
    match *insn {
        Insn::Load { dst, .. } | Insn::LoadAcquire { dst, .. } => Some(dst),
        Insn::Atomic { op: AtomicOp::CmpXchg, .. } => Some(bpfbox_isa::Reg::R0),
        Insn::Atomic { op, fetch, src, .. } if fetch || op == AtomicOp::Xchg => Some(src),
        _ => None,
    }
}

/// What may matter before `insn`, given what matters after it (`out`); `indirect`:
/// the instruction is a load that read the stack through a pointer other than r10;
/// `fill`: a load that read a spilled register ([`Precision::fills`]).
fn prec_transfer(insn: &Insn, out: Need, indirect: u64, fill: bool, reads_all: bool) -> Need {
    let b = |r: bpfbox_isa::Reg| 1u16 << r.idx();
    let op = |o: &Operand| match o {
        Operand::Reg(r) => b(*r),
        Operand::Imm(_) => 0,
    };
    let if_dst = |dst: bpfbox_isa::Reg, m: u16| if out.regs & b(dst) != 0 { m } else { 0 };
    const ARGS: u16 = 0b11_1110;
    const CLOBBER: u16 = 0b11_1111;
    let regs = |regs: u16| Need { regs, slots: out.slots };
    match insn {
        Insn::Alu { op: AluOp::Mov, dst, src, .. } => regs((out.regs & !b(*dst)) | if_dst(*dst, op(src))),
        Insn::MovSx { dst, src, .. } => regs((out.regs & !b(*dst)) | if_dst(*dst, b(*src))),
        Insn::Alu { dst, src, .. } => regs(out.regs | if_dst(*dst, op(src))),
        Insn::Neg { .. } | Insn::Endian { .. } | Insn::Ja { .. } | Insn::LoadImm64Tail | Insn::MayGoto { .. } => out,
        Insn::LoadImm64 { dst, .. } | Insn::AddrSpaceCast { dst, .. } => regs(out.regs & !b(*dst)),
        &Insn::LoadAcquire { size, dst, src, off } => {
            prec_transfer(&Insn::Load { size, dst, src, off, sign_extend: false }, out, indirect, fill, reads_all)
        }
        &Insn::StoreRelease { size, dst, off, src } => {
            prec_transfer(&Insn::Store { size, dst, off, src: Operand::Reg(src) }, out, indirect, fill, reads_all)
        }
        Insn::Load { dst, src, off, size, .. } => {
            let from = if src.idx() == 10 { slot_bits(*off as i64, size.bytes() as i64) } else { indirect };
            let slots = out.slots | if reads_all || fill && out.regs & b(*dst) != 0 { from } else { 0 };
            Need { regs: out.regs & !b(*dst), slots }
        }
        Insn::Store { dst, off, src, size } => {
            if dst.idx() != 10 {
                // Through another pointer into this frame: the slots it wrote on some
                // path (`indirect`); into other memory, recorded as it runs (`used`).
                let val = if out.slots & indirect != 0 { op(src) } else { 0 };
                return Need { regs: out.regs | val, slots: out.slots };
            }
            let bits = slot_bits(*off as i64, size.bytes() as i64);
            let val = if out.slots & bits != 0 { op(src) } else { 0 };
            // A full aligned slot is overwritten whole.
            let kill = if size.bytes() == 8 && *off % 8 == 0 && bits != u64::MAX { bits } else { 0 };
            Need { regs: out.regs | val, slots: out.slots & !kill }
        }
        // What an atomic stores is an unknown scalar whatever its operands. What it
        // fetches is what a load from there gives (`check_atomic_rmw`): a fill when it
        // read a spilled register, whose slots then matter as a load's do when the
        // fetched register does. Liveness: the slots it was executed on (`indirect`).
        Insn::Atomic { .. } => {
            let got = fetched(insn).is_some_and(|r| out.regs & b(r) != 0);
            // The fetched register is overwritten: its value before does not flow on.
            let killed = fetched(insn).map_or(0, b);
            Need { regs: out.regs & !killed, slots: out.slots | if reads_all || fill && got { indirect } else { 0 } }
        }
        Insn::LoadPacket { mode, .. } => regs(
            (out.regs & !CLOBBER)
                | match mode {
                    PacketMode::Ind(r) => b(*r),
                    PacketMode::Abs => 0,
                },
        ),
        Insn::Jump { dst, src, .. } => {
            // A comparison refines both sides from each other.
            let m = b(*dst) | op(src);
            regs(out.regs | if out.regs & m != 0 { m } else { 0 })
        }
        Insn::Call(CallTarget::Helper(id)) => {
            // The stack memory helpers read is recorded as they run (`used`).
            let args = u32::try_from(*id).ok().and_then(helper_by_id).map_or(ARGS, helper_value_args);
            regs((out.regs & !CLOBBER) | args)
        }
        // What a callee reads of this frame through pointers is recorded at the call (`used`).
        Insn::Call(CallTarget::Local(_)) => Need { regs: (out.regs & !CLOBBER) | ARGS, slots: out.slots },
        // The number iterator's kfuncs decide nothing from their scalar arguments (the
        // iterator slot they read is recorded as they run, `used`, and compared
        // exactly); the RCU ones take none.
        Insn::Call(CallTarget::Kfunc { btf_id, .. })
            if bpfbox_abi::kfuncs::kfunc_name(*btf_id)
                .is_some_and(|n| n.starts_with("bpf_iter_num_") || n.starts_with("bpf_rcu_read_")) =>
        {
            Need { regs: out.regs & !CLOBBER, slots: out.slots }
        }
        Insn::Call(_) => Need { regs: (out.regs & !CLOBBER) | ARGS, slots: u64::MAX },
        Insn::CallX { reg } => Need { regs: (out.regs & !CLOBBER) | ARGS | b(*reg), slots: u64::MAX },
        Insn::Exit => Need { regs: 1, slots: 0 },
    }
}

impl Precision {
    /// `free_exits_end`: see [`Precision::free_exits_end`] (0: r0 matters at every exit);
    /// `reads_all`: a stack liveness instance ([`Precision::reads_all`]); `global`: the
    /// entries of global functions, whose arguments are checked at the call (a scalar 0
    /// for a pointer that may be NULL) and all matter.
    pub(super) fn new(insns: &[Insn], free_exits_end: usize, reads_all: bool, global: &[usize]) -> Precision {
        let n = insns.len();
        let mut preds = vec![Vec::new(); n];
        let (mut callee, mut callers) = (vec![None; n], vec![Vec::new(); n]);
        for pc in 0..n {
            for t in prec_successors(insns, pc).into_iter().flatten() {
                preds[t].push(pc);
            }
            if let Insn::Call(CallTarget::Local(rel)) = insns[pc] {
                let t = usize::try_from(pc as i64 + 1 + rel as i64).ok().filter(|t| *t < n && !global.contains(t));
                if let Some(t) = t.filter(|_| !reads_all) {
                    callee[pc] = Some(t);
                    callers[t].push(pc);
                }
            }
        }
        Precision {
            used: vec![Need::default(); n],
            indirect: vec![0; n],
            outer: vec![Vec::new(); n],
            fills: vec![false; n],
            zero_stores: Vec::new(),
            need: vec![Need::default(); n],
            preds,
            callee,
            callers,
            work: (0..n).collect(),
            queued: vec![true; n],
            free_exits_end,
            reads_all,
        }
    }

    fn enqueue(&mut self, pc: usize) {
        if !self.queued[pc] {
            self.queued[pc] = true;
            self.work.push(pc);
        }
    }

    /// Record that the values of `what` matter at `pc`.
    fn mark(&mut self, pc: usize, what: Need) {
        if !self.used[pc].covers(what) {
            self.used[pc] = self.used[pc].or(what);
            self.enqueue(pc);
        }
    }

    /// Record that the load at `pc` read the stack through a pointer other than r10.
    fn mark_indirect(&mut self, pc: usize, slots: u64) {
        if self.indirect[pc] | slots != self.indirect[pc] {
            self.indirect[pc] |= slots;
            self.enqueue(pc);
        }
    }

    /// Record that the load at `pc` read `slots` of the outer frame that the call
    /// instruction `callsite` left.
    fn mark_outer_read(&mut self, pc: usize, callsite: usize, slots: u64) {
        match self.outer[pc].iter_mut().find(|e| e.0 == callsite) {
            Some(e) if e.1 | slots == e.1 => return,
            Some(e) => e.1 |= slots,
            None => self.outer[pc].push((callsite, slots)),
        }
        self.enqueue(pc);
    }

    /// Record that the load at `pc` read the bytes of a spilled register.
    fn mark_fill(&mut self, pc: usize) {
        if !self.fills[pc] {
            self.fills[pc] = true;
            self.enqueue(pc);
        }
    }

    /// Bring `need` up to date with `used` (the sets only grow).
    pub(super) fn settle(&mut self, insns: &[Insn]) {
        while let Some(pc) = self.work.pop() {
            self.queued[pc] = false;
            let out =
                prec_successors(insns, pc).into_iter().flatten().fold(Need::default(), |acc, t| acc.or(self.need[t]));
            let inn = match (&insns[pc], self.callee[pc]) {
                (Insn::Exit, _) if pc < self.free_exits_end => Need::default(),
                // A static call: the arguments the callee's values depend on.
                (_, Some(t)) => {
                    Need { regs: (out.regs & !0b11_1111) | (self.need[t].regs & 0b11_1110), slots: out.slots }
                }
                (insn, None) => prec_transfer(insn, out, self.indirect[pc], self.fills[pc], self.reads_all),
            }
            .or(self.used[pc]);
            if let Some(dst) = fetched(&insns[pc]) {
                if self.fills[pc] && out.regs & (1 << dst.idx()) != 0 {
                    for i in 0..self.outer[pc].len() {
                        let (cs, slots) = self.outer[pc][i];
                        self.mark(cs, Need { regs: 0, slots });
                    }
                }
            }
            if !self.need[pc].covers(inn) {
                self.need[pc] = self.need[pc].or(inn);
                for i in 0..self.preds[pc].len() {
                    let q = self.preds[pc][i];
                    self.enqueue(q);
                }
                for i in 0..self.callers[pc].len() {
                    let q = self.callers[pc][i];
                    self.enqueue(q);
                }
            }
        }
    }
}

impl Verifier<'_> {
    /// The scalar values of `regs` decided something at `pc` ([`Precision`]).
    /// Stack slots of the outer frame `frameno` read by a callee: they matter at the
    /// call instruction that left that frame.
    pub(super) fn mark_outer_stack(&mut self, st: &State, frameno: usize, slots: u64) {
        let Some(cs) = st.frames.get(frameno + 1).and_then(|f| f.callsite) else { return };
        for pr in self.prec.iter_mut().chain(self.stack_live.iter_mut()) {
            pr.mark(cs, Need { regs: 0, slots });
        }
    }

    /// A load, store or atomic through `base`, a pointer into the stack frame `aux`.
    pub(super) fn mark_stack_ptr_access(&mut self, st: &State, base: &RegState, off: i64, size: u32, pc: usize) {
        let cur = st.frames.len() - 1;
        let frameno = base.aux as usize;
        let lo = (base.off as i64).saturating_add(off).saturating_add(base.var.smin);
        let hi = (base.off as i64).saturating_add(off).saturating_add(base.var.smax);
        let slots = slot_bits(lo, hi.saturating_sub(lo).saturating_add(size as i64));
        if frameno == cur {
            for pr in self.prec.iter_mut().chain(self.stack_live.iter_mut()) {
                pr.mark_indirect(pc, slots);
            }
        } else if frameno < cur {
            // Every read counts for liveness; for precision, only a read whose value
            // matters in the callee (settled with the callee's closure).
            let Some(cs) = st.frames.get(frameno + 1).and_then(|f| f.callsite) else { return };
            if let Some(pr) = self.prec.as_mut() {
                pr.mark_outer_read(pc, cs, slots);
            }
            if let Some(live) = self.stack_live.as_mut() {
                live.mark(cs, Need { regs: 0, slots });
            }
        }
    }

    /// The store at `pc` wrote register `r`, holding 0, as zero bytes into `slots` of
    /// the innermost frame ([`Precision::zero_stores`]).
    pub(super) fn mark_zero_store(&mut self, pc: usize, r: usize, slots: u64) {
        if let Some(pr) = self.prec.as_mut() {
            match pr.zero_stores.iter_mut().find(|z| z.0 == pc) {
                Some(z) => {
                    z.1 |= 1 << r;
                    z.2 |= slots;
                }
                None => pr.zero_stores.push((pc, 1 << r, slots)),
            }
        }
    }

    /// Bring liveness and precision up to date: liveness first, for the zero stores
    /// whose slots are read again after them make their register matter.
    pub(super) fn settle_precision(&mut self) {
        if let Some(sl) = self.stack_live.as_mut() {
            sl.settle(self.insns);
        }
        let Some(pr) = self.prec.as_mut() else { return };
        for i in 0..pr.zero_stores.len() {
            let (pc, regs, slots) = pr.zero_stores[i];
            let after = self.stack_live.as_ref().and_then(|sl| sl.need.get(pc + 1)).map_or(u64::MAX, |n| n.slots);
            if after & slots != 0 {
                pr.mark(pc, Need { regs, slots: 0 });
            }
        }
        pr.settle(self.insns);
    }

    /// The load at `pc` read the bytes of a spilled register ([`Precision::fills`]).
    pub(super) fn mark_fill(&mut self, pc: usize) {
        if let Some(pr) = self.prec.as_mut() {
            pr.mark_fill(pc);
        }
    }

    /// For pruning only: a value bpfbox compares exactly from here that the kernel
    /// does not mark precise (a scalar stored through a pointer).
    pub(super) fn mark_precise_static(&mut self, pc: usize, regs: u16) {
        if let Some(pr) = self.prec.as_mut() {
            pr.mark(pc, Need { regs, slots: 0 });
        }
    }

    pub(super) fn mark_precise(&mut self, pc: usize, regs: u16) {
        if let Some(pr) = self.prec.as_mut() {
            pr.mark(pc, Need { regs, slots: 0 });
            self.dseeds.push((pc, Need { regs, slots: 0 }));
        }
    }

    /// `mark_chain_precision` for the stored states of this path: `need` matters
    /// before the instruction at `pc`; walking back along the path's history `h`
    /// (instruction by instruction, as `backtrack_insn`), each state the path stored
    /// on the way is marked with what matters in its innermost frame
    /// ([`Node::dprec`](super::Node)). A static subprogram the path returned from is
    /// walked through (its r0 is what the caller needed of r0; the caller's r6-r9 and
    /// stack wait for its entry, where its r1-r5 become the caller's arguments). It
    /// stops where nothing is left to mark, where a state already had it (its own
    /// history was marked then), and at a callback's boundary.
    pub(super) fn backtrack(&mut self, pc: usize, need: Need, h: Option<&Rc<Hist>>) {
        const CLOBBER: u16 = 0b11_1111;
        let Some(pr) = self.prec.as_ref() else { return };
        let (mut pc, mut need, mut h) = (pc, need, h);
        // The callers' needs while the walk is inside a callee (innermost last).
        let mut outer: Vec<Need> = Vec::new();
        loop {
            while let Some(Hist { ev: Ev::Check { node, pc: at }, prev }) = h.map(|x| &**x) {
                if *at as usize != pc {
                    break;
                }
                let n = &mut self.nodes[*node as usize];
                let new = Need { regs: need.regs & !n.dprec.regs, slots: need.slots & !n.dprec.slots };
                n.dprec = n.dprec.or(need);
                need = new;
                h = prev.as_ref();
            }
            if need == Need::default() && outer.iter().all(|o| *o == Need::default()) {
                return;
            }
            let q = match h.map(|x| &**x) {
                Some(Hist { ev: Ev::Jump { from, to }, prev }) if *to as usize == pc => {
                    let from = *from as usize;
                    h = prev.as_ref();
                    match self.insns[from] {
                        Insn::Exit => {
                            // Back into the callee this path returned from.
                            if pc == 0 || !matches!(self.insns[pc - 1], Insn::Call(CallTarget::Local(_))) {
                                return;
                            }
                            outer.push(Need { regs: need.regs & !CLOBBER, slots: need.slots });
                            need = Need { regs: need.regs & 1, slots: 0 };
                            from
                        }
                        Insn::Call(CallTarget::Local(_)) => {
                            // From a callee's entry back to its call, in the caller.
                            let args = need.regs & 0b11_1110;
                            need = match outer.pop() {
                                Some(o) => Need { regs: o.regs | args, slots: o.slots },
                                None => Need { regs: args, slots: 0 },
                            };
                            pc = from;
                            continue;
                        }
                        // A callback's entry.
                        Insn::Call(_) => return,
                        _ => from,
                    }
                }
                _ => {
                    // Fell through from the instruction before (not across a function start).
                    if pc == 0 || self.cfg.subprogs.contains(&pc) {
                        return;
                    }
                    if self.insns[pc - 1] == Insn::LoadImm64Tail {
                        pc - 2
                    } else {
                        pc - 1
                    }
                }
            };
            pc = q;
            need = match self.insns[pc] {
                // The exit of the callee entered above: r0 is what matters.
                Insn::Exit => need,
                // A helper, a kfunc, or a global function (verified on its own, never
                // entered): what it returns is its own, r1-r5 are gone.
                Insn::Call(_) => Need { regs: need.regs & !CLOBBER, slots: need.slots },
                ref insn => prec_transfer(insn, need, pr.indirect[pc], pr.fills[pc], false),
            };
        }
    }

    /// After the helper call at `pc` with arguments `args` (r1..r5 before the call) in frame
    /// `frameno`: the current frame's stack whose *values* the verifier's verdict may
    /// depend on. Plain memory arguments checked by `helper_mem` (`helper_reads`) only
    /// need to be initialized, as in the kernel, which marks no precision for them; so
    /// do map keys, but for a spilled constant in-range key of an array lookup, which
    /// cannot fail (the kernel's `get_constant_map_key` marks a spilled constant key of
    /// an array or per-CPU array precise). Other stack pointers (dynptrs, iterators, timers...)
    /// count from them up; callbacks, which read the frame through their context, or
    /// variable offsets, the whole frame.
    pub(super) fn mark_helper_stack(&mut self, st: &State, args: &[RegState; 5], frameno: u32, pc: usize) {
        let (handled, read) = std::mem::take(&mut self.helper_reads);
        if self.prec.is_none() {
            return;
        }
        let Insn::Call(CallTarget::Helper(id)) = self.insns[pc] else { return };
        let proto = u32::try_from(id).ok().and_then(helper_by_id);
        let n = proto.map_or(5, |p| p.declared_args().len().min(5));
        let (mut slots, mut read_slots) = (0, 0);
        // The one key whose value bpfbox looks at: a constant in range of an array or
        // per-CPU array lookup, which then cannot fail, spilled (zero bytes are compared
        // by type anyway). Whatever the key, a lookup that may fail covers every other
        // outcome.
        let spilled_key = (proto.is_some_and(|p| p.name == "map_lookup_elem") && args[0].ty == RegType::ConstMapPtr)
            .then(|| {
                let mi = self.map(args[0].map);
                if !matches!(mi.map_type, 2 | 6) {
                    return None;
                }
                let max = mi.max_entries as u64;
                self.const_stack_key(st, &args[1], mi.key_size).filter(|(_, spilled)| *spilled).map(|(k, _)| k < max)
            })
            .flatten();
        let const_key = spilled_key == Some(true);
        // The kernel's per-state marks (loop widening): get_constant_map_key marks a
        // spilled constant key precise whether or not it is in range.
        let kernel_const_key = spilled_key.is_some();
        for (i, a) in args.iter().enumerate().take(n) {
            if a.ty == RegType::Func {
                slots = u64::MAX;
            }
            if handled & (1 << (i + 1)) != 0 {
                let value_matters = proto.is_none_or(|p| p.args[i].kind == ArgKind::PtrToMapKey && const_key);
                if kernel_const_key && proto.is_some_and(|p| p.args[i].kind == ArgKind::PtrToMapKey) {
                    // get_constant_map_key marks the key's slot precise.
                    self.dseeds.push((pc, Need { regs: 0, slots: read[i + 1] }));
                }
                if value_matters {
                    slots |= read[i + 1];
                }
                read_slots |= read[i + 1];
                continue;
            }
            if a.ty != RegType::Stack {
                continue;
            }
            if a.aux < frameno {
                self.mark_outer_stack(st, a.aux as usize, u64::MAX);
                continue;
            }
            slots |= match a.var.const_value() {
                Some(v) => {
                    let off = (a.off as i64).wrapping_add(v as i64);
                    if off < 0 {
                        slot_bits(off, -off)
                    } else {
                        u64::MAX
                    }
                }
                None => u64::MAX,
            };
        }
        if let Some(pr) = self.prec.as_mut().filter(|_| slots != 0) {
            pr.mark(pc, Need { regs: 0, slots });
        }
        if let Some(live) = self.stack_live.as_mut().filter(|_| slots | read_slots != 0) {
            live.mark(pc, Need { regs: 0, slots: slots | read_slots });
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{verify, MapInfo, ProgramInput, VerifyOptions};
    use bpfbox_abi::prog_types::ProgType;
    use bpfbox_isa::llvm::assemble;

    /// An XDP program with one array map (`u32` key, 8-byte value) at index 0.
    fn run(src: &str) -> crate::Report {
        run_opts(src, &VerifyOptions::default(), ProgType::Xdp)
    }

    fn run_opts(src: &str, opts: &VerifyOptions, prog_type: ProgType) -> crate::Report {
        verify(&input(src, prog_type), opts)
    }

    fn input(src: &str, prog_type: ProgType) -> ProgramInput {
        let map = MapInfo {
            name: "m".into(),
            map_type: bpfbox_abi::map_types::MapType::Array as u32,
            key_size: 4,
            value_size: 8,
            max_entries: 1,
            frozen: false,
            map_flags: 0,
            inner: None,
            spin_lock_off: None,
            timer_off: None,
            frozen_data: None,
        };
        ProgramInput {
            name: "t".into(),
            insns: assemble(src).expect("asm"),
            prog_type,
            expected_attach_type: None,
            maps: vec![map],
            attach_target: None,
            sleepable: false,
            kernel_btf: None,
            funcs: vec![],
        }
    }

    /// [`run`] with a state stored at every prune point (`BPF_F_TEST_STATE_FREQ`), for
    /// tests about what pruning compares.
    fn run_freq(src: &str) -> crate::Report {
        run_freq_as(src, ProgType::Xdp)
    }

    /// [`run_freq`] with a hash map (`u32` key, 8-byte value) as map 1.
    fn run_freq_with_hash(src: &str) -> crate::Report {
        let opts = VerifyOptions { prog_flags: crate::BPF_F_TEST_STATE_FREQ, ..VerifyOptions::default() };
        let mut prog = input(src, ProgType::Xdp);
        let hash = crate::MapInfo {
            name: "h".into(),
            map_type: bpfbox_abi::map_types::MapType::Hash as u32,
            max_entries: 8,
            ..prog.maps[0].clone()
        };
        prog.maps.push(hash);
        verify(&prog, &opts)
    }

    fn run_freq_as(src: &str, prog_type: ProgType) -> crate::Report {
        let opts = VerifyOptions { prog_flags: crate::BPF_F_TEST_STATE_FREQ, ..VerifyOptions::default() };
        run_opts(src, &opts, prog_type)
    }

    /// Two paths meet at `p` with r6 = 0 (explored first) and r6 = 100; `use_r6`
    /// follows (it sets r0), then `exit`.
    fn two_paths(use_r6: &str) -> String {
        format!(
            "r1 = 0\n*(u32 *)(r10 - 4) = r1\nr2 = r10\nr2 += -4\nld_pseudo r1, 0x5, 0x0\ncall 1\n\
             if r0 == 0 goto out\nr7 = r0\ncall 7\nif r0 == 5 goto bad\nr6 = 0\ngoto p\nbad: r6 = 100\n\
             p: {use_r6}\nexit\nout: r0 = 0\nexit"
        )
    }

    #[test]
    fn scalars_that_decide_nothing_are_not_compared() {
        let (unused, returned) = ("r1 = r6\nr1 &= 1\nr0 = 0", "r1 = r6\nr1 &= 1\nr0 = r1");
        let unused = run_freq_as(&two_paths(unused), ProgType::CgroupSkb);
        let checked = run_freq_as(&two_paths(returned), ProgType::CgroupSkb);
        assert!(unused.accepted() && checked.accepted(), "{:?} {:?}", unused.diagnostics, checked.diagnostics);
        // With r6 not mattering (r0 is not derived from it), the second path is pruned at `p`.
        assert!(
            unused.stats.processed_insns < checked.stats.processed_insns,
            "{} vs {}",
            unused.stats.processed_insns,
            checked.stats.processed_insns
        );
        // XDP's return value is not range-checked (the kernel does not mark it precise):
        // returning r6 decides nothing either.
        let free = run_freq(&two_paths(returned));
        assert!(free.accepted(), "{:?}", free.diagnostics);
        assert_eq!(free.stats.processed_insns, unused.stats.processed_insns);
    }

    #[test]
    fn helper_arguments_that_decide_nothing_are_not_compared() {
        // bpf_redirect(ifindex, flags) takes two ARG_ANYTHING scalars: passing r6 makes
        // it matter no more than a constant does, so the second path is pruned at `p`.
        let redirect = |v: &str| run_freq(&two_paths(&format!("r1 = {v}\nr2 = 0\ncall 23\nr0 = 0")));
        let (passed, constant) = (redirect("r6"), redirect("7"));
        assert!(passed.accepted(), "{:?}", passed.diagnostics);
        assert_eq!(passed.stats.processed_insns, constant.stats.processed_insns);
        // A size (ARG_CONST_SIZE) does matter: probe_read_kernel of r6 bytes (0 is
        // refused) is not pruned.
        let r = run(&two_paths("r1 = r10\nr1 += -8\nr2 = r6\nr3 = 0\ncall 113\nr0 = 0"));
        assert!(!r.accepted());
    }

    #[test]
    fn stack_slots_never_read_again_are_not_compared() {
        // fp-24 holds a scalar on the first path and a pointer on the second; at `p`
        // the paths agree on everything else. Unless fp-24 is read after `p`, the
        // second path is pruned there (stack liveness), as the kernel prunes it.
        let prog = |tail: &str| {
            format!(
                "r1 = 0\n*(u32 *)(r10 - 4) = r1\nr2 = r10\nr2 += -4\nld_pseudo r1, 0x5, 0x0\ncall 1\n\
                 if r0 == 0 goto out\ncall 7\nif r0 == 5 goto bad\nr1 = 7\n*(u64 *)(r10 - 24) = r1\ngoto p\n\
                 bad: *(u64 *)(r10 - 24) = r10\np: r0 = 0\n{tail}\nr2 = 1\nr3 = 2\nr4 = 3\nexit\nout: r0 = 0\nexit"
            )
        };
        let dead = run_freq(&prog("r1 = 0"));
        let read = run_freq(&prog("r1 = *(u64 *)(r10 - 24)"));
        assert!(dead.accepted() && read.accepted(), "{:?} {:?}", dead.diagnostics, read.diagnostics);
        // Not pruned, the second path walks the 6 instructions after `p` again.
        assert_eq!(read.stats.processed_insns, dead.stats.processed_insns + 6, "{dead:?}");
    }

    /// Two paths (the first explored first) meet at `q`, where `tail` follows.
    fn two_spills(first: &str, second: &str, tail: &str) -> String {
        format!(
            "r1 = 0\n*(u32 *)(r10 - 4) = r1\nr2 = r10\nr2 += -4\nld_pseudo r1, 0x5, 0x0\ncall 1\n\
             if r0 == 0 goto out\nr7 = r0\ncall 7\nr9 = r0\nif r0 == 5 goto bad\n{first}\ngoto q\n\
             bad: {second}\nq: {tail}\nexit\nout: r0 = 0\nexit"
        )
    }

    #[test]
    fn narrow_spills_of_scalars_that_decide_nothing_are_not_compared() {
        // A 4-byte spill leaves the other half of its slot invalid on both paths; the
        // value (returned by an XDP program, unchecked) decides nothing, so the second
        // path is pruned at `q` whatever it spilled (parse.bpf.o's `flow`, issue 12
        // class 15: no pruning at all there took it over the 1M-instruction limit).
        let prog = |v: &str| {
            two_spills(
                "r6 = 0\n*(u32 *)(r10 - 16) = r6",
                &format!("r6 = {v}\n*(u32 *)(r10 - 16) = r6"),
                "r0 = *(u32 *)(r10 - 16)",
            )
        };
        let same = run_freq(&prog("0"));
        let other = run_freq(&prog("100"));
        assert!(same.accepted() && other.accepted(), "{:?} {:?}", same.diagnostics, other.diagnostics);
        assert_eq!(other.stats.processed_insns, same.stats.processed_insns);
    }

    #[test]
    fn a_fill_wider_than_the_spill_is_not_pruned_against_a_whole_spill() {
        // The first path spills 0 whole; the second spills 0 into the low 4 bytes over
        // misc bytes, so its 8-byte fill reads an unknown scalar: used as a map value
        // offset it is out of bounds, and the second path must not be pruned at `q`.
        let src = two_spills(
            "r6 = 0\n*(u64 *)(r10 - 16) = r6",
            "*(u32 *)(r10 - 12) = r9\nr6 = 0\n*(u32 *)(r10 - 16) = r6",
            "r1 = *(u64 *)(r10 - 16)\nr7 += r1\nr0 = *(u8 *)(r7 + 0)\nr0 = 0",
        );
        let r = run_freq(&src);
        assert!(!r.accepted(), "an 8-byte fill of a 4-byte spill was pruned against an 8-byte spill");
        assert!(r.diagnostics[0].message.contains("map_value pointer"), "{}", r.diagnostics[0].message);
    }

    #[test]
    fn a_load_through_another_stack_pointer_needs_only_the_slots_it_reads() {
        // fp-8 holds r6 (different on the two paths) and is never read; fp-16 is read
        // through r2 into the checked return value. Only fp-16 matters, so the second
        // path is pruned at `p` as when a constant is stored in fp-8.
        let prog = |v: &str| {
            two_paths(&format!(
                "r9 = {v}\n*(u64 *)(r10 - 8) = r9\nr1 = 5\n*(u64 *)(r10 - 16) = r1\nr2 = r10\nr2 += -16\n\
                 r0 = *(u64 *)(r2 + 0)\nr0 &= 1"
            ))
        };
        let stored = run_freq_as(&prog("r6"), ProgType::CgroupSkb);
        let constant = run_freq_as(&prog("7"), ProgType::CgroupSkb);
        assert!(stored.accepted(), "{:?}", stored.diagnostics);
        assert_eq!(stored.stats.processed_insns, constant.stats.processed_insns);
        // Reading fp-8 through r2 instead makes r6 matter again.
        let read = |v: &str| {
            let src = format!("r9 = {v}\n*(u64 *)(r10 - 8) = r9\nr2 = r10\nr2 += -8\nr0 = *(u64 *)(r2 + 0)\nr0 &= 1");
            run_freq_as(&two_paths(&src), ProgType::CgroupSkb).stats.processed_insns
        };
        assert!(read("r6") > read("7"), "{} vs {}", read("r6"), read("7"));
    }

    #[test]
    fn memory_a_helper_reads_matters_only_as_a_map_key() {
        // r6 stored on the stack and handed to map_update_elem as the value: only its
        // initialization matters (the kernel marks no precision for it), so the second
        // path is pruned at `p`, exactly as when a constant is stored instead.
        let update = |v: &str| {
            format!(
                "r9 = {v}\n*(u64 *)(r10 - 16) = r9\nr2 = r10\nr2 += -4\nr3 = r10\nr3 += -16\nr4 = 0\n\
                 ld_pseudo r1, 0x5, 0x0\ncall 2\nr0 = 0"
            )
        };
        let as_value = run_freq(&two_paths(&update("r6")));
        let constant = run_freq(&two_paths(&update("7")));
        assert!(as_value.accepted(), "{:?}", as_value.diagnostics);
        assert_eq!(as_value.stats.processed_insns, constant.stats.processed_insns);
        // As an array map key its value decides whether the lookup can return NULL:
        // key 0 (the first path) is in range, key 100 is not, so the second path must
        // not be pruned and its unchecked dereference is rejected.
        let key = "*(u32 *)(r10 - 8) = r6\nr2 = r10\nr2 += -8\nld_pseudo r1, 0x5, 0x0\ncall 1\n\
                   r0 = *(u64 *)(r0 + 0)\nr0 = 0";
        let r = run_freq(&two_paths(key));
        assert!(!r.accepted(), "an out-of-range constant key was pruned against an in-range one");
        assert!(r.diagnostics[0].message.contains("map_value_or_null"), "{}", r.diagnostics[0].message);
    }

    #[test]
    fn a_register_stored_as_zero_bytes_matters() {
        // At `p`, r6 is 0 on the first path and 100 on the second; stored at fp-4 (not
        // a slot's start) it makes zero bytes on the first path, a constant key of the
        // one-entry array, and misc bytes on the second (found by the kernel-differential
        // fuzzer): the second path's lookup may fail, it must not be pruned at `p`.
        let src = two_paths(
            "*(u32 *)(r10 - 4) = r6\nr2 = r10\nr2 += -4\nld_pseudo r1, 0x5, 0x0\ncall 1\n\
             r0 = *(u64 *)(r0 + 0)\nr0 = 0",
        );
        let r = run_freq(&src);
        assert!(!r.accepted(), "a register stored as zero bytes was pruned against another");
        assert!(r.diagnostics[0].message.contains("map_value_or_null"), "{}", r.diagnostics[0].message);
        // Never read again, the zero bytes a may_goto counter makes on the loop's first
        // exit do not keep it from being widened (the loop converges as in the kernel).
        let r = run("r7 = 0\nl: may_goto out\nr7 += 1\ngoto l\nout: *(u32 *)(r10 - 12) = r7\nr0 = 0\nexit");
        assert!(r.accepted(), "{:?}", r.diagnostics);
        assert!(r.stats.processed_insns < 1000, "{}", r.stats.processed_insns);
    }

    #[test]
    fn a_hash_map_key_is_not_compared_by_value() {
        // r6 as the key of a hash map lookup (map 1): the lookup may fail whatever the
        // key, so the second path is pruned at `p` as with a constant key.
        let lookup = |v: &str| {
            let src =
                format!("r9 = {v}\n*(u32 *)(r10 - 8) = r9\nr2 = r10\nr2 += -8\nld_pseudo r1, 0x5, 0x1\ncall 1\nr0 = 0");
            run_freq_with_hash(&two_paths(&src))
        };
        let (key, constant) = (lookup("r6"), lookup("7"));
        assert!(key.accepted(), "{:?}", key.diagnostics);
        assert_eq!(key.stats.processed_insns, constant.stats.processed_insns);
    }

    #[test]
    fn an_array_key_of_zero_bytes_is_compared_by_type() {
        // fp-4 holds zero bytes on the first path (a constant key 0: the lookup of the
        // one-entry array cannot fail) and misc bytes on the second (it may): the
        // second path must not be pruned at `q`, its unchecked dereference is refused.
        let src = two_spills(
            "r1 = 0\n*(u32 *)(r10 - 4) = r1",
            "*(u32 *)(r10 - 4) = r9",
            "r2 = r10\nr2 += -4\nld_pseudo r1, 0x5, 0x0\ncall 1\nr0 = *(u64 *)(r0 + 0)\nr0 = 0",
        );
        let r = run_freq(&src);
        assert!(!r.accepted(), "zero bytes were pruned against misc bytes as an array key");
        assert!(r.diagnostics[0].message.contains("map_value_or_null"), "{}", r.diagnostics[0].message);
    }

    #[test]
    fn a_callee_read_of_its_callers_stack_matters_where_its_value_does() {
        // The caller spills r6 (0 on the first path, 100 on the second) and hands f a
        // pointer to it. When f ignores the value it loads, the second path is pruned at
        // `p` as when a constant is spilled; when f adds it to a map value pointer, not.
        let callee = |body: &str| format!("\nf: r3 = *(u64 *)(r1 + 0)\n{body}\nr0 = 0\nexit");
        let caller =
            |v: &str| format!("r9 = {v}\n*(u64 *)(r10 - 16) = r9\nr1 = r10\nr1 += -16\nr2 = r7\ncall f\nr0 = 0");
        let ignored = |v: &str| run_freq(&(two_paths(&caller(v)) + &callee("r3 = 0")));
        let (spilled, constant) = (ignored("r6"), ignored("7"));
        assert!(spilled.accepted(), "{:?}", spilled.diagnostics);
        assert_eq!(spilled.stats.processed_insns, constant.stats.processed_insns);
        let used = run_freq(&(two_paths(&caller("r6")) + &callee("r2 += r3\nr0 = *(u8 *)(r2 + 0)")));
        assert!(!used.accepted(), "a value the callee adds to a pointer was pruned");
    }

    #[test]
    fn an_atomic_makes_no_stack_slot_matter() {
        // fp-16 holds 0 on the first path and r6 (5 or not) on the second; it is read
        // again after `q` but its value decides nothing, and an atomic add into a map
        // value (runqlat's histogram slot) does not change that.
        let prog = |v: &str| {
            two_spills(
                "r6 = 0\n*(u64 *)(r10 - 16) = r6",
                &format!("r6 = {v}\n*(u64 *)(r10 - 16) = r6"),
                "r1 = 1\nlock *(u64 *)(r7 + 0) += r1\nr1 = *(u64 *)(r10 - 16)\nr0 = 0",
            )
        };
        let (other, same) = (run_freq(&prog("r9")), run_freq(&prog("0")));
        assert!(other.accepted(), "{:?}", other.diagnostics);
        assert_eq!(other.stats.processed_insns, same.stats.processed_insns);
    }

    #[test]
    fn a_load_of_misc_bytes_does_not_make_a_spill_in_its_slot_matter() {
        // fp-16 holds a 2-byte spill of r6 (0, or 100 on the second path) and misc bytes
        // at fp-12 (katran's flow key next to its port). What is loaded from fp-12 is
        // an unknown scalar whatever the spill holds: used as a map value offset, it
        // makes the spill matter no more than a constant there does.
        let prog = |v: &str| {
            two_spills(
                "r6 = 0\n*(u16 *)(r10 - 16) = r6\n*(u32 *)(r10 - 12) = r9",
                &format!("r6 = {v}\n*(u16 *)(r10 - 16) = r6\n*(u32 *)(r10 - 12) = r9"),
                "r1 = *(u32 *)(r10 - 12)\nr1 &= 7\nr7 += r1\nr0 = *(u8 *)(r7 + 0)\nr0 = 0",
            )
        };
        let (other, same) = (run_freq(&prog("100")), run_freq(&prog("0")));
        assert!(other.accepted(), "{:?}", other.diagnostics);
        assert_eq!(other.stats.processed_insns, same.stats.processed_insns);
        // Filled from the spill itself, it matters: 100 is out of bounds.
        let fill = two_spills(
            "r6 = 0\n*(u16 *)(r10 - 16) = r6",
            "r6 = 100\n*(u16 *)(r10 - 16) = r6",
            "r1 = *(u16 *)(r10 - 16)\nr7 += r1\nr0 = *(u8 *)(r7 + 0)\nr0 = 0",
        );
        let r = run_freq(&fill);
        assert!(!r.accepted(), "a fill was pruned against another spilled value");
        assert!(r.diagnostics[0].message.contains("invalid access to map value"), "{}", r.diagnostics[0].message);
    }

    #[test]
    fn an_atomic_fetch_of_a_spill_is_a_fill() {
        // What atomic_fetch_add and xchg fetch from fp-16 is the spilled 0 or 100: used
        // as a map value offset, 100 is out of bounds, so the second path is not pruned.
        for fetch in ["r1 = atomic_fetch_add((u64 *)(r10 - 16), r1)", "r1 = xchg_64(r10 - 16, r1)"] {
            let src = two_spills(
                "r6 = 0\n*(u64 *)(r10 - 16) = r6",
                "r6 = 100\n*(u64 *)(r10 - 16) = r6",
                &format!("r1 = 0\n{fetch}\nr7 += r1\nr0 = *(u8 *)(r7 + 0)\nr0 = 0"),
            );
            let r = run_freq(&src);
            assert!(!r.accepted(), "{fetch}: a fetched spill was pruned against another");
        }
    }

    #[test]
    fn a_static_call_needs_the_arguments_its_callee_uses() {
        // A may_goto loop's counter passed to a function that ignores it does not stop
        // the loop from converging (the kernel widens it; bpfbox went to the 1M limit,
        // found by the kernel-differential fuzzer).
        let src = "r6 = r1\nr7 = *(u32 *)(r6 + 16)\nl: may_goto out\nr7 += 1\ngoto l\n\
                   out: r1 = r7\ncall f\nexit\nf: r0 = 0\nexit";
        let r = run(src);
        assert!(r.accepted(), "{:?}", r.diagnostics);
        assert!(r.stats.processed_insns < 1000, "{}", r.stats.processed_insns);
        // Used by the callee as a map value offset, r6 = 100 is out of bounds.
        let callee = "\nf: r2 += r1\nr0 = *(u8 *)(r2 + 0)\nr0 = 0\nexit";
        let r = run_freq(&(two_paths("r1 = r6\nr2 = r7\ncall f\nr0 = 0") + callee));
        assert!(!r.accepted(), "an argument the callee adds to a pointer was pruned");
    }

    #[test]
    fn precision_follows_values_through_the_stack() {
        // r6 reaches a map value offset through a spill and a fill: r6 = 100 is out of bounds.
        let r =
            run(&two_paths("*(u64 *)(r10 - 16) = r6\nr1 = *(u64 *)(r10 - 16)\nr7 += r1\nr0 = *(u8 *)(r7 + 0)\nr0 = 0"));
        assert!(!r.accepted());
        assert!(r.diagnostics[0].message.contains("invalid access to map value"), "{}", r.diagnostics[0].message);
        // Through a stack pointer other than r10.
        let r = run(&two_paths(
            "r2 = r10\nr2 += -16\n*(u64 *)(r2 + 0) = r6\nr1 = *(u64 *)(r10 - 16)\nr7 += r1\nr0 = *(u8 *)(r7 + 0)\nr0 = 0",
        ));
        assert!(!r.accepted());
        // Directly, and through a helper's size argument.
        let r = run(&two_paths("r7 += r6\nr0 = *(u8 *)(r7 + 0)\nr0 = 0"));
        assert!(!r.accepted());
        let r = run(&two_paths("r1 = r10\nr1 += -8\nr2 = r6\nr3 = 0\ncall 113\nr0 = 0"));
        assert!(!r.accepted());
        // A callee reads it through a pointer into the caller's frame.
        let callee = "\nf: r3 = *(u64 *)(r1 + 0)\nr2 += r3\nr0 = *(u8 *)(r2 + 0)\nr0 = 0\nexit";
        let caller = "*(u64 *)(r10 - 16) = r6\nr1 = r10\nr1 += -16\nr2 = r7\ncall f\nr0 = 0";
        let r = run(&(two_paths(caller) + callee));
        assert!(!r.accepted());
        assert!(r.diagnostics[0].message.contains("invalid access to map value"), "{}", r.diagnostics[0].message);
    }
}
