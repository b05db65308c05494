//! The interpreter's internal form: one small `Op` per instruction slot, with the
//! operation, width and operand kind folded into the variant and jump targets
//! resolved to absolute slot indices. `Op` is 12 bytes; the hot loop is one `match`.

use crate::helpers::{HelperEntry, HelperTable};
use crate::program::Program;
use crate::Resolver;
use bpfbox_isa::{AluOp, AtomicOp, CallTarget, Cond, Endian, Imm64, Insn, Operand, PacketMode, Reg, Size, Width};

/// Value of a function address loaded by `lddw` with src=4 (`BPF_PSEUDO_FUNC`):
/// `FUNC_ADDR_TAG | entry_pc`. The tag makes the value a non-canonical address
/// (bit 63 set, bits 62..48 not all set), so it can never equal a host pointer on
/// x86-64 or AArch64 user space, and a checked access through it always faults.
/// `callx` recognizes it and calls the local function.
pub const FUNC_ADDR_TAG: u64 = 0xbf00_0000_0000_0000;
pub(crate) const FUNC_ADDR_MASK: u64 = 0xffff_ffff_0000_0000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AtomicKind {
    Add,
    Or,
    And,
    Xor,
    Xchg,
    CmpXchg,
}

/// Target slot of a jump or local call.
pub(crate) type Target = u32;

#[rustfmt::skip]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    // ALU64, immediate (sign-extended to 64 bits at run time) and register.
    Add64I(u8, i32), Sub64I(u8, i32), Mul64I(u8, i32), Div64I(u8, i32), SDiv64I(u8, i32),
    Or64I(u8, i32), And64I(u8, i32), Lsh64I(u8, i32), Rsh64I(u8, i32), Mod64I(u8, i32),
    SMod64I(u8, i32), Xor64I(u8, i32), Mov64I(u8, i32), Arsh64I(u8, i32),
    Add64R(u8, u8), Sub64R(u8, u8), Mul64R(u8, u8), Div64R(u8, u8), SDiv64R(u8, u8),
    Or64R(u8, u8), And64R(u8, u8), Lsh64R(u8, u8), Rsh64R(u8, u8), Mod64R(u8, u8),
    SMod64R(u8, u8), Xor64R(u8, u8), Mov64R(u8, u8), Arsh64R(u8, u8),
    // ALU32: results zero-extended.
    Add32I(u8, i32), Sub32I(u8, i32), Mul32I(u8, i32), Div32I(u8, i32), SDiv32I(u8, i32),
    Or32I(u8, i32), And32I(u8, i32), Lsh32I(u8, i32), Rsh32I(u8, i32), Mod32I(u8, i32),
    SMod32I(u8, i32), Xor32I(u8, i32), Mov32I(u8, i32), Arsh32I(u8, i32),
    Add32R(u8, u8), Sub32R(u8, u8), Mul32R(u8, u8), Div32R(u8, u8), SDiv32R(u8, u8),
    Or32R(u8, u8), And32R(u8, u8), Lsh32R(u8, u8), Rsh32R(u8, u8), Mod32R(u8, u8),
    SMod32R(u8, u8), Xor32R(u8, u8), Mov32R(u8, u8), Arsh32R(u8, u8),
    Neg64(u8), Neg32(u8),
    MovSx64B(u8, u8), MovSx64H(u8, u8), MovSx64W(u8, u8), MovSx32B(u8, u8), MovSx32H(u8, u8),
    Le16(u8), Le32(u8), Le64(u8), Swap16(u8), Swap32(u8), Swap64(u8),
    // Loads `dst = *(src + off)`, stores `*(dst + off) = src/imm`.
    LdB(u8, u8, i16), LdH(u8, u8, i16), LdW(u8, u8, i16), LdDW(u8, u8, i16),
    LdSB(u8, u8, i16), LdSH(u8, u8, i16), LdSW(u8, u8, i16),
    StB(u8, u8, i16), StH(u8, u8, i16), StW(u8, u8, i16), StDW(u8, u8, i16),
    StBI(u8, i16, i32), StHI(u8, i16, i32), StWI(u8, i16, i32), StDWI(u8, i16, i32),
    /// Converted accesses (`Vm::from_verified`): always translated, and given to the
    /// run's environment when outside every region, even in unchecked runs. Load:
    /// (dst, src, off, size in bytes | 0x80 when sign-extending); store of a register:
    /// (dst, src, off, size); store of an immediate: (dst, off, imm, size).
    CvLd(u8, u8, i16, u8), CvSt(u8, u8, i16, u8), CvStI(u8, i16, i32, u8),
    /// Load-acquire `dst = *(src + off)` and store-release `*(dst + off) = src`, size in
    /// bytes: real atomics with that ordering when aligned.
    LdAcq(u8, u8, i16, u8), StRel(u8, u8, i16, u8),
    Atomic32 { kind: AtomicKind, fetch: bool, dst: u8, src: u8, off: i16 },
    Atomic64 { kind: AtomicKind, fetch: bool, dst: u8, src: u8, off: i16 },
    /// `dst = lo | hi << 32`; skips the second slot.
    Lddw(u8, u32, u32),
    /// A pseudo `lddw` nobody resolved; the `lddw` src field (1..=6).
    Unresolved(u8),
    /// Legacy packet loads into r0; `u8` is the index register (Ind) or 0xff (Abs).
    LdAbsB(i32), LdAbsH(i32), LdAbsW(i32),
    LdIndB(u8, i32), LdIndH(u8, i32), LdIndW(u8, i32),
    Ja(Target),
    /// Falls through while the current frame's `may_goto` budget lasts.
    MayGoto(Target),
    // Conditional jumps, 64-bit (imm sign-extended) and 32-bit.
    Jeq64I(u8, i32, Target), Jgt64I(u8, i32, Target), Jge64I(u8, i32, Target), Jset64I(u8, i32, Target),
    Jne64I(u8, i32, Target), Jsgt64I(u8, i32, Target), Jsge64I(u8, i32, Target), Jlt64I(u8, i32, Target),
    Jle64I(u8, i32, Target), Jslt64I(u8, i32, Target), Jsle64I(u8, i32, Target),
    Jeq64R(u8, u8, Target), Jgt64R(u8, u8, Target), Jge64R(u8, u8, Target), Jset64R(u8, u8, Target),
    Jne64R(u8, u8, Target), Jsgt64R(u8, u8, Target), Jsge64R(u8, u8, Target), Jlt64R(u8, u8, Target),
    Jle64R(u8, u8, Target), Jslt64R(u8, u8, Target), Jsle64R(u8, u8, Target),
    Jeq32I(u8, i32, Target), Jgt32I(u8, i32, Target), Jge32I(u8, i32, Target), Jset32I(u8, i32, Target),
    Jne32I(u8, i32, Target), Jsgt32I(u8, i32, Target), Jsge32I(u8, i32, Target), Jlt32I(u8, i32, Target),
    Jle32I(u8, i32, Target), Jslt32I(u8, i32, Target), Jsle32I(u8, i32, Target),
    Jeq32R(u8, u8, Target), Jgt32R(u8, u8, Target), Jge32R(u8, u8, Target), Jset32R(u8, u8, Target),
    Jne32R(u8, u8, Target), Jsgt32R(u8, u8, Target), Jsge32R(u8, u8, Target), Jlt32R(u8, u8, Target),
    Jle32R(u8, u8, Target), Jslt32R(u8, u8, Target), Jsle32R(u8, u8, Target),
    /// Helper call; index into the VM's resolved helper list.
    CallHelper(u32),
    CallUnknown(u32),
    CallLocal(Target),
    CallX(u8),
    Kfunc(i32),
    Exit,
    /// Second slot of an lddw (never reached: jumps into it are rejected).
    LddwTail,
    /// Sentinel after the last instruction.
    FellOff,
}

/// Translate a validated program. Returns the ops (one per slot plus a `FellOff`
/// sentinel) and the helpers referenced by `CallHelper`.
pub(crate) fn compile(
    prog: &Program,
    helpers: &HelperTable,
    resolver: Option<&Resolver>,
) -> (Vec<Op>, Vec<HelperEntry>) {
    let insns = prog.insns();
    let mut ops = Vec::with_capacity(insns.len() + 1);
    let mut used: Vec<HelperEntry> = Vec::new();
    for (pc, insn) in insns.iter().enumerate() {
        let target = |rel: i64| (pc as i64 + 1 + rel) as Target;
        let r = |r: Reg| r.num();
        let op = match *insn {
            Insn::Alu { op, width, dst, src } => alu(op, width, r(dst), src),
            Insn::Neg { width: Width::W64, dst } => Op::Neg64(r(dst)),
            Insn::Neg { width: Width::W32, dst } => Op::Neg32(r(dst)),
            Insn::MovSx { width, dst, src, bits } => match (width, bits) {
                (Width::W64, 8) => Op::MovSx64B(r(dst), r(src)),
                (Width::W64, 16) => Op::MovSx64H(r(dst), r(src)),
                (Width::W64, _) => Op::MovSx64W(r(dst), r(src)),
                (Width::W32, 8) => Op::MovSx32B(r(dst), r(src)),
                // The decoder only produces 8 and 16 for 32-bit movsx.
                (Width::W32, _) => Op::MovSx32H(r(dst), r(src)),
            },
            Insn::Endian { kind, bits, dst } => match (kind, bits) {
                (Endian::Le, 16) => Op::Le16(r(dst)),
                (Endian::Le, 32) => Op::Le32(r(dst)),
                (Endian::Le, _) => Op::Le64(r(dst)),
                // `be` is a no-op truncation on a big-endian host.
                (Endian::Be, 16) if cfg!(target_endian = "big") => Op::Le16(r(dst)),
                (Endian::Be, 32) if cfg!(target_endian = "big") => Op::Le32(r(dst)),
                (Endian::Be, _) if cfg!(target_endian = "big") => Op::Le64(r(dst)),
                (Endian::Be | Endian::Swap, 16) => Op::Swap16(r(dst)),
                (Endian::Be | Endian::Swap, 32) => Op::Swap32(r(dst)),
                (Endian::Be | Endian::Swap, _) => Op::Swap64(r(dst)),
            },
            Insn::Load { size, dst, src, off, sign_extend } => {
                let (d, s) = (r(dst), r(src));
                match (size, sign_extend) {
                    (Size::B, false) => Op::LdB(d, s, off),
                    (Size::H, false) => Op::LdH(d, s, off),
                    (Size::W, false) => Op::LdW(d, s, off),
                    (Size::DW, _) => Op::LdDW(d, s, off),
                    (Size::B, true) => Op::LdSB(d, s, off),
                    (Size::H, true) => Op::LdSH(d, s, off),
                    (Size::W, true) => Op::LdSW(d, s, off),
                }
            }
            Insn::Store { size, dst, off, src } => {
                let d = r(dst);
                match (size, src) {
                    (Size::B, Operand::Reg(s)) => Op::StB(d, r(s), off),
                    (Size::H, Operand::Reg(s)) => Op::StH(d, r(s), off),
                    (Size::W, Operand::Reg(s)) => Op::StW(d, r(s), off),
                    (Size::DW, Operand::Reg(s)) => Op::StDW(d, r(s), off),
                    (Size::B, Operand::Imm(i)) => Op::StBI(d, off, i),
                    (Size::H, Operand::Imm(i)) => Op::StHI(d, off, i),
                    (Size::W, Operand::Imm(i)) => Op::StWI(d, off, i),
                    (Size::DW, Operand::Imm(i)) => Op::StDWI(d, off, i),
                }
            }
            Insn::Atomic { size, op, fetch, dst, off, src } => {
                let kind = match op {
                    AtomicOp::Add => AtomicKind::Add,
                    AtomicOp::Or => AtomicKind::Or,
                    AtomicOp::And => AtomicKind::And,
                    AtomicOp::Xor => AtomicKind::Xor,
                    AtomicOp::Xchg => AtomicKind::Xchg,
                    AtomicOp::CmpXchg => AtomicKind::CmpXchg,
                };
                let (dst, src) = (r(dst), r(src));
                if size == Size::DW {
                    Op::Atomic64 { kind, fetch, dst, src, off }
                } else {
                    Op::Atomic32 { kind, fetch, dst, src, off }
                }
            }
            Insn::LoadAcquire { size, dst, src, off } => Op::LdAcq(r(dst), r(src), off, size.bytes() as u8),
            Insn::StoreRelease { size, dst, off, src } => Op::StRel(r(dst), r(src), off, size.bytes() as u8),
            // Without an arena both casts keep the low 32 bits (a cast to as(1) would
            // add the arena's upper 32 user-space bits to a non-zero value).
            Insn::AddrSpaceCast { dst, src, .. } => Op::Mov32R(r(dst), r(src)),
            Insn::LoadImm64 { dst, imm } => {
                let value = match imm {
                    Imm64::Value(v) => Some(v),
                    Imm64::Func(rel) => Some(FUNC_ADDR_TAG | target(rel as i64) as u64),
                    other => resolver.and_then(|f| f(pc, other)),
                };
                match value {
                    Some(v) => Op::Lddw(r(dst), v as u32, (v >> 32) as u32),
                    None => Op::Unresolved(pseudo_src(imm)),
                }
            }
            Insn::LoadImm64Tail => Op::LddwTail,
            Insn::LoadPacket { size, mode, imm } => match (mode, size) {
                (PacketMode::Abs, Size::B) => Op::LdAbsB(imm),
                (PacketMode::Abs, Size::H) => Op::LdAbsH(imm),
                (PacketMode::Abs, _) => Op::LdAbsW(imm),
                (PacketMode::Ind(s), Size::B) => Op::LdIndB(r(s), imm),
                (PacketMode::Ind(s), Size::H) => Op::LdIndH(r(s), imm),
                (PacketMode::Ind(s), _) => Op::LdIndW(r(s), imm),
            },
            Insn::Ja { off, .. } => Op::Ja(target(off as i64)),
            Insn::MayGoto { off } => Op::MayGoto(target(off as i64)),
            Insn::Jump { cond, width, dst, src, off } => jump(cond, width, r(dst), src, target(off as i64)),
            Insn::Call(CallTarget::Helper(id)) => match helpers.get(id as u32) {
                Some(e) => {
                    let idx = used.iter().position(|u| u.proto.id == e.proto.id).unwrap_or_else(|| {
                        used.push(*e);
                        used.len() - 1
                    });
                    Op::CallHelper(idx as u32)
                }
                None => Op::CallUnknown(id as u32),
            },
            Insn::Call(CallTarget::Local(rel)) => Op::CallLocal(target(rel as i64)),
            Insn::Call(CallTarget::Kfunc { btf_id, .. }) => Op::Kfunc(btf_id),
            Insn::CallX { reg } => Op::CallX(r(reg)),
            Insn::Exit => Op::Exit,
        };
        ops.push(op);
    }
    ops.push(Op::FellOff);
    (ops, used)
}

fn pseudo_src(imm: Imm64) -> u8 {
    match imm {
        Imm64::Value(_) => 0,
        Imm64::MapFd(_) => 1,
        Imm64::MapValue { .. } => 2,
        Imm64::BtfId { .. } => 3,
        Imm64::Func(_) => 4,
        Imm64::MapIdx(_) => 5,
        Imm64::MapIdxValue { .. } => 6,
    }
}

/// What a pseudo `lddw` with this src field loads, for error messages.
/// Turn the loads and stores at `pcs` into their converted forms (`Op::CvLd`...).
/// `Err(pc)` when one of them is not a load or store (e.g. an atomic).
pub(crate) fn convert_accesses(ops: &mut [Op], pcs: &[usize]) -> Result<(), usize> {
    for &pc in pcs {
        let op = ops.get_mut(pc).ok_or(pc)?;
        *op = match *op {
            Op::LdB(d, s, o) => Op::CvLd(d, s, o, 1),
            Op::LdH(d, s, o) => Op::CvLd(d, s, o, 2),
            Op::LdW(d, s, o) => Op::CvLd(d, s, o, 4),
            Op::LdDW(d, s, o) => Op::CvLd(d, s, o, 8),
            Op::LdSB(d, s, o) => Op::CvLd(d, s, o, 0x81),
            Op::LdSH(d, s, o) => Op::CvLd(d, s, o, 0x82),
            Op::LdSW(d, s, o) => Op::CvLd(d, s, o, 0x84),
            Op::StB(d, s, o) => Op::CvSt(d, s, o, 1),
            Op::StH(d, s, o) => Op::CvSt(d, s, o, 2),
            Op::StW(d, s, o) => Op::CvSt(d, s, o, 4),
            Op::StDW(d, s, o) => Op::CvSt(d, s, o, 8),
            Op::StBI(d, o, i) => Op::CvStI(d, o, i, 1),
            Op::StHI(d, o, i) => Op::CvStI(d, o, i, 2),
            Op::StWI(d, o, i) => Op::CvStI(d, o, i, 4),
            Op::StDWI(d, o, i) => Op::CvStI(d, o, i, 8),
            Op::CvLd(..) | Op::CvSt(..) | Op::CvStI(..) => continue,
            _ => return Err(pc),
        };
    }
    Ok(())
}

pub(crate) fn pseudo_name(src: u8) -> &'static str {
    match src {
        0 => "constant",
        1 => "map (fd)",
        2 => "map value address (fd)",
        3 => "kernel variable (BTF id)",
        4 => "function address",
        5 => "map (index)",
        _ => "map value address (index)",
    }
}

#[rustfmt::skip]
fn alu(op: AluOp, width: Width, d: u8, src: Operand) -> Op {
    use AluOp::*;
    match (width, src) {
        (Width::W64, Operand::Imm(i)) => match op {
            Add => Op::Add64I(d, i), Sub => Op::Sub64I(d, i), Mul => Op::Mul64I(d, i), Div => Op::Div64I(d, i),
            SDiv => Op::SDiv64I(d, i), Or => Op::Or64I(d, i), And => Op::And64I(d, i), Lsh => Op::Lsh64I(d, i),
            Rsh => Op::Rsh64I(d, i), Mod => Op::Mod64I(d, i), SMod => Op::SMod64I(d, i), Xor => Op::Xor64I(d, i),
            Mov => Op::Mov64I(d, i), Arsh => Op::Arsh64I(d, i),
        },
        (Width::W64, Operand::Reg(s)) => { let s = s.num(); match op {
            Add => Op::Add64R(d, s), Sub => Op::Sub64R(d, s), Mul => Op::Mul64R(d, s), Div => Op::Div64R(d, s),
            SDiv => Op::SDiv64R(d, s), Or => Op::Or64R(d, s), And => Op::And64R(d, s), Lsh => Op::Lsh64R(d, s),
            Rsh => Op::Rsh64R(d, s), Mod => Op::Mod64R(d, s), SMod => Op::SMod64R(d, s), Xor => Op::Xor64R(d, s),
            Mov => Op::Mov64R(d, s), Arsh => Op::Arsh64R(d, s),
        }},
        (Width::W32, Operand::Imm(i)) => match op {
            Add => Op::Add32I(d, i), Sub => Op::Sub32I(d, i), Mul => Op::Mul32I(d, i), Div => Op::Div32I(d, i),
            SDiv => Op::SDiv32I(d, i), Or => Op::Or32I(d, i), And => Op::And32I(d, i), Lsh => Op::Lsh32I(d, i),
            Rsh => Op::Rsh32I(d, i), Mod => Op::Mod32I(d, i), SMod => Op::SMod32I(d, i), Xor => Op::Xor32I(d, i),
            Mov => Op::Mov32I(d, i), Arsh => Op::Arsh32I(d, i),
        },
        (Width::W32, Operand::Reg(s)) => { let s = s.num(); match op {
            Add => Op::Add32R(d, s), Sub => Op::Sub32R(d, s), Mul => Op::Mul32R(d, s), Div => Op::Div32R(d, s),
            SDiv => Op::SDiv32R(d, s), Or => Op::Or32R(d, s), And => Op::And32R(d, s), Lsh => Op::Lsh32R(d, s),
            Rsh => Op::Rsh32R(d, s), Mod => Op::Mod32R(d, s), SMod => Op::SMod32R(d, s), Xor => Op::Xor32R(d, s),
            Mov => Op::Mov32R(d, s), Arsh => Op::Arsh32R(d, s),
        }},
    }
}

#[rustfmt::skip]
fn jump(cond: Cond, width: Width, d: u8, src: Operand, t: Target) -> Op {
    use Cond::*;
    match (width, src) {
        (Width::W64, Operand::Imm(i)) => match cond {
            Eq => Op::Jeq64I(d, i, t), Gt => Op::Jgt64I(d, i, t), Ge => Op::Jge64I(d, i, t), Set => Op::Jset64I(d, i, t),
            Ne => Op::Jne64I(d, i, t), SGt => Op::Jsgt64I(d, i, t), SGe => Op::Jsge64I(d, i, t), Lt => Op::Jlt64I(d, i, t),
            Le => Op::Jle64I(d, i, t), SLt => Op::Jslt64I(d, i, t), SLe => Op::Jsle64I(d, i, t),
        },
        (Width::W64, Operand::Reg(s)) => { let s = s.num(); match cond {
            Eq => Op::Jeq64R(d, s, t), Gt => Op::Jgt64R(d, s, t), Ge => Op::Jge64R(d, s, t), Set => Op::Jset64R(d, s, t),
            Ne => Op::Jne64R(d, s, t), SGt => Op::Jsgt64R(d, s, t), SGe => Op::Jsge64R(d, s, t), Lt => Op::Jlt64R(d, s, t),
            Le => Op::Jle64R(d, s, t), SLt => Op::Jslt64R(d, s, t), SLe => Op::Jsle64R(d, s, t),
        }},
        (Width::W32, Operand::Imm(i)) => match cond {
            Eq => Op::Jeq32I(d, i, t), Gt => Op::Jgt32I(d, i, t), Ge => Op::Jge32I(d, i, t), Set => Op::Jset32I(d, i, t),
            Ne => Op::Jne32I(d, i, t), SGt => Op::Jsgt32I(d, i, t), SGe => Op::Jsge32I(d, i, t), Lt => Op::Jlt32I(d, i, t),
            Le => Op::Jle32I(d, i, t), SLt => Op::Jslt32I(d, i, t), SLe => Op::Jsle32I(d, i, t),
        },
        (Width::W32, Operand::Reg(s)) => { let s = s.num(); match cond {
            Eq => Op::Jeq32R(d, s, t), Gt => Op::Jgt32R(d, s, t), Ge => Op::Jge32R(d, s, t), Set => Op::Jset32R(d, s, t),
            Ne => Op::Jne32R(d, s, t), SGt => Op::Jsgt32R(d, s, t), SGe => Op::Jsge32R(d, s, t), Lt => Op::Jlt32R(d, s, t),
            Le => Op::Jle32R(d, s, t), SLt => Op::Jslt32R(d, s, t), SLe => Op::Jsle32R(d, s, t),
        }},
    }
}
