//! The verifier's log as the kernel writes it at level 2 (`BPF_LOG_LEVEL2`): the
//! state printed before and after each instruction (`print_verifier_state`,
//! `print_insn_state`), calls into and returns from subprograms, and the summary at
//! its end. The walk (`check.rs`) decides when to print; this module formats.

use super::{Next, Path};
use crate::state::{Frame, MapDesc, Reference, RegState, RegType, SlotType, State, MAX_STACK};
use crate::{ProgramInput, Stats};
use bpfbox_abi::helper_by_id;
use bpfbox_isa::{AtomicOp, Insn, Operand, PacketMode};
use std::fmt::Write as _;

/// The end of the kernel's log: `verification time N usec`, `stack depth 8` (per
/// subprogram) and
/// `processed N insns (limit 1000000) max_states_per_insn M total_states T peak_states P mark_read 0`.
pub(super) fn log_summary(stats: &Stats, stack_depth: &[u32], max_states: usize, usec: u128) -> String {
    let depth: Vec<String> = stack_depth.iter().map(|d| (d.div_ceil(8) * 8).to_string()).collect();
    format!(
        "verification time {usec} usec\nstack depth {}\nprocessed {} insns (limit 1000000) max_states_per_insn {max_states} total_states {} peak_states {} mark_read 0",
        depth.join("+"),
        stats.processed_insns,
        stats.total_states,
        stats.peak_states
    )
}

/// What the log prints before the next instruction of a path.
#[derive(Clone, Copy)]
pub(super) enum LogHeader {
    /// The first instruction: the whole initial state (`0: R1=ctx() R10=fp0`).
    Init,
    /// `from X to Y: <state>` (a path popped, or a return from a subprogram);
    /// `true`: the state again as `Y: <state>`.
    From(usize, bool),
    None,
}

/// Helper and kfunc names for the log (`call bpf_map_lookup_elem#1`).
pub(super) struct LogNames;

impl bpfbox_isa::kernel_fmt::CallNames for LogNames {
    fn helper(&self, id: i32) -> Option<String> {
        u32::try_from(id).ok().and_then(helper_by_id).map(|h| h.name.to_string())
    }
    /// The kfuncs bpfbox runs, by bpfbox's ids (the kernel prints its BTF id).
    fn kfunc(&self, btf_id: i32, _off: i16) -> Option<String> {
        bpfbox_abi::kfuncs::kfunc_name(btf_id).map(str::to_string)
    }
}

/// The registers (bit n: rn) and stack slots (indices of `Frame::stack`) an
/// instruction touched: what the kernel marks "scratched" and prints after it.
#[derive(Default)]
struct Scratch {
    regs: u16,
    slots: Vec<usize>,
    /// Print `;` even when nothing printable was touched (calls).
    always: bool,
}

/// What the log needs from the state before an instruction.
pub(super) struct LogBefore {
    frames: usize,
    /// The callee's frame, for `exit` from a subprogram or callback.
    callee: Option<Frame>,
    /// The pointer a load, store or atomic goes through.
    base: Option<RegState>,
    /// The instruction line's length with its newline (`prev_insn_print_pos`).
    pub(super) line_len: usize,
}

impl LogBefore {
    pub(super) fn new(insn: &Insn, st: &State) -> LogBefore {
        let base = match *insn {
            Insn::Load { src, .. } | Insn::LoadAcquire { src, .. } => Some(*st.reg(src.idx())),
            Insn::Store { dst, .. } | Insn::Atomic { dst, .. } | Insn::StoreRelease { dst, .. } => {
                Some(*st.reg(dst.idx()))
            }
            _ => None,
        };
        let callee = (matches!(insn, Insn::Exit) && st.frames.len() > 1).then(|| st.cur().clone());
        LogBefore { frames: st.frames.len(), callee, base, line_len: 0 }
    }
}

/// The registers and slots `insn` touches, the way the kernel's `check_reg_arg` and
/// stack accesses mark them.
fn scratched(insn: &Insn, before: &LogBefore, frameno: u32) -> Scratch {
    let mut s = Scratch::default();
    let mut reg = |r: bpfbox_isa::Reg| s.regs |= 1 << r.idx();
    let mut size = 0;
    let mut off = 0i64;
    match *insn {
        Insn::Alu { dst, src, .. } | Insn::Jump { dst, src, .. } => {
            reg(dst);
            if let Operand::Reg(r) = src {
                reg(r);
            }
        }
        Insn::Neg { dst, .. } | Insn::Endian { dst, .. } | Insn::LoadImm64 { dst, .. } => reg(dst),
        Insn::MovSx { dst, src, .. } | Insn::AddrSpaceCast { dst, src, .. } => {
            reg(dst);
            reg(src);
        }
        Insn::Load { size: sz, dst, src, off: o, .. }
        | Insn::LoadAcquire { size: sz, dst, src, off: o }
        | Insn::StoreRelease { size: sz, dst, src, off: o } => {
            reg(dst);
            reg(src);
            (size, off) = (sz.bytes() as i64, o as i64);
        }
        Insn::Store { size: sz, dst, off: o, src } => {
            reg(dst);
            if let Operand::Reg(r) = src {
                reg(r);
            }
            (size, off) = (sz.bytes() as i64, o as i64);
        }
        Insn::Atomic { size: sz, op, dst, off: o, src, .. } => {
            reg(dst);
            reg(src);
            if op == AtomicOp::CmpXchg {
                reg(bpfbox_isa::Reg::R0);
            }
            (size, off) = (sz.bytes() as i64, o as i64);
        }
        Insn::LoadPacket { mode, .. } => {
            reg(bpfbox_isa::Reg::R6);
            if let PacketMode::Ind(r) = mode {
                reg(r);
            }
            s.regs |= 0x3f;
        }
        Insn::Call(_) | Insn::CallX { .. } => {
            s.regs |= 0x3f;
            s.always = true;
        }
        Insn::Ja { .. } | Insn::MayGoto { .. } | Insn::Exit | Insn::LoadImm64Tail => {}
    }
    if let Some(b) = before.base.filter(|b| b.ty == RegType::Stack && b.aux == frameno && size > 0) {
        if let Some(v) = b.var.const_value() {
            let lo = (v as i64).wrapping_add(b.off as i64).wrapping_add(off);
            for a in lo..lo + size {
                if (-(MAX_STACK as i64)..0).contains(&a) {
                    let slot = ((-a - 1) / 8) as usize;
                    if !s.slots.contains(&slot) {
                        s.slots.push(slot);
                    }
                }
            }
        }
    }
    s
}

/// The state line the kernel prints after an instruction, to finish later: at the
/// next instruction of the path, and only if the path goes on.
pub(super) struct Pending {
    /// The touched registers, formatted (`" R0=1 R1=ctx()"`).
    text: String,
    /// The log's length right after the instruction's line.
    end: usize,
    /// The instruction line's length with its newline (`prev_insn_print_pos`).
    insn_len: usize,
}

impl Pending {
    /// On the instruction's line, at the kernel's column (`print_insn_state`), when
    /// nothing came after it; else on a line of its own, `pc:` first.
    pub(super) fn write(self, l: &mut String, pc: usize) {
        if l.len() == self.end && l.ends_with('\n') {
            l.pop();
            let pos = self.insn_len;
            let pad = (pos + 4).max(40).div_ceil(8) * 8 - pos - 1;
            let _ = writeln!(l, "{:pad$};{}", "", self.text);
        } else {
            let _ = writeln!(l, "{pc}:{}", self.text);
        }
    }
}

/// Logs what follows instruction `pc` (already printed): calls into and returns from
/// subprograms as the kernel prints them; returns the touched registers to print
/// before the next instruction and, for a return, the header of the next line.
pub(super) fn log_after(
    prog: &ProgramInput,
    l: &mut String,
    insn: &Insn,
    pc: usize,
    before: &LogBefore,
    p: &Path,
    next: &Next,
) -> (Option<Pending>, Option<LogHeader>) {
    let line_len = before.line_len;
    let st = &p.st;
    let n = st.frames.len();
    if n > before.frames && n >= 2 {
        let _ = writeln!(l, "caller:\n{}", fmt_regs(prog, st, n - 2, None));
        let _ = writeln!(l, "callee:\n{}", fmt_regs(prog, st, n - 1, None));
        let p = Pending { text: fmt_regs(prog, st, n - 1, None), end: 0, insn_len: line_len };
        return (Some(p), None);
    }
    if n < before.frames {
        let to = if let Next::Goto(t) = next { *t } else { p.pc };
        if let Some(callee) = &before.callee {
            let text = fmt_frame(prog, callee, n, &st.refs, None);
            let _ = writeln!(l, "returning from callee:\n{text}");
            let _ = writeln!(l, "to caller at {to}:\n{}", fmt_regs(prog, st, n - 1, None));
        }
        return (None, Some(LogHeader::From(pc, false)));
    }
    if matches!(next, Next::Done) {
        return (None, None);
    }
    let frameno = (n.saturating_sub(1)) as u32;
    let sc = scratched(insn, before, frameno);
    if sc.regs == 0 && sc.slots.is_empty() && !sc.always {
        return (None, None);
    }
    let text = fmt_regs(prog, st, n.saturating_sub(1), Some(&sc));
    (Some(Pending { text, end: l.len(), insn_len: line_len }), None)
}

/// Frame `fi` of `st` as the kernel's `print_verifier_state` prints it: every
/// register and stack slot (`only: None`) or those touched, then the references held.
fn fmt_regs(prog: &ProgramInput, st: &State, fi: usize, only: Option<&Scratch>) -> String {
    match st.frames.get(fi) {
        Some(f) => fmt_frame(prog, f, fi, &st.refs, only),
        None => String::new(),
    }
}

/// Frame `f` (frame number `fi`) as the kernel's `print_verifier_state` prints it,
/// with the references `refs` held.
fn fmt_frame(prog: &ProgramInput, f: &Frame, fi: usize, refs: &[Reference], only: Option<&Scratch>) -> String {
    let mut s = String::new();
    if fi > 0 {
        let _ = write!(s, " frame{fi}:");
    }
    let map = |r: &RegState| {
        let m = prog.maps.get(r.map as usize)?;
        Some(MapDesc { name: &m.name, key_size: m.key_size, value_size: m.value_size })
    };
    let fmt = |r: &RegState| r.kernel_fmt(fi as u32, if r.ty == RegType::Scalar { None } else { map(r) });
    for (i, r) in f.regs.iter().enumerate() {
        if r.ty != RegType::NotInit && only.is_none_or(|o| o.regs & (1 << i) != 0) {
            let _ = write!(s, " R{i}={}", fmt(r));
        }
    }
    for (i, slot) in f.stack.iter().enumerate() {
        if only.is_some_and(|o| !o.slots.contains(&i)) || slot.bytes.iter().all(|b| *b == SlotType::Invalid) {
            continue;
        }
        let off = -((i as i64 + 1) * 8);
        if let Some(it) = crate::state::IterState::of(slot) {
            let state = if it.drained { "drained" } else { "active" };
            let _ = write!(s, " fp{off}=iter_num(ref_id={},state={state},depth={})", it.ref_obj_id, it.depth);
            continue;
        }
        // The kernel lists a slot's bytes from fp-1 down (bpfbox keeps them from fp-8 up).
        let types: String = slot
            .bytes
            .iter()
            .rev()
            .map(|b| match b {
                SlotType::Invalid => '?',
                SlotType::Misc => 'm',
                SlotType::Zero => '0',
                SlotType::Spill => 'r',
                SlotType::Iter => 'i',
            })
            .collect();
        if slot.bytes[0] == SlotType::Spill {
            let prefix: String = types.chars().take_while(|c| *c != 'r').collect();
            let _ = write!(s, " fp{off}={prefix}{}", fmt(&slot.spilled));
        } else {
            let _ = write!(s, " fp{off}={types}");
        }
    }
    if !refs.is_empty() {
        let ids: Vec<String> = refs.iter().map(|r| r.id.to_string()).collect();
        let _ = write!(s, " refs={}", ids.join(","));
    }
    if f.callback {
        s.push_str(" cb");
    }
    s
}

/// The whole current frame (`print_verifier_state` with `print_all`).
pub(super) fn fmt_state(prog: &ProgramInput, st: &State) -> String {
    fmt_regs(prog, st, st.frames.len().saturating_sub(1), None)
}
