//! The semantic instruction model of RFC 9669 and its one decoder/encoder.
//!
//! **Invariant:** this module is the only place in bpfbox that looks at opcode
//! bits. Everything else matches on [`Insn`].

use crate::raw::{self, RawInsn};
use std::fmt;

/// `BPF_MAX_LOOPS`: how many times the `may_goto` instructions of one function
/// invocation fall through before they jump (the kernel's count-based budget; its
/// x86-64 and arm64 JITs refill a smaller budget while a time limit lasts instead).
pub const MAY_GOTO_BUDGET: u64 = 8 * 1024 * 1024;

/// A register number, `r0`..=`r10`. The decoder guarantees `0 <= n <= 10`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reg(u8);

impl Reg {
    pub const R0: Reg = Reg(0);
    pub const R1: Reg = Reg(1);
    pub const R2: Reg = Reg(2);
    pub const R3: Reg = Reg(3);
    pub const R4: Reg = Reg(4);
    pub const R5: Reg = Reg(5);
    pub const R6: Reg = Reg(6);
    pub const R10: Reg = Reg(10);
    /// Number of registers (r0..=r10).
    pub const COUNT: usize = 11;

    /// A register from its number; `None` above r10.
    pub fn new(n: u8) -> Option<Reg> {
        (n <= 10).then_some(Reg(n))
    }
    pub fn idx(self) -> usize {
        self.0 as usize
    }
    pub fn num(self) -> u8 {
        self.0
    }
}

impl fmt::Display for Reg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "r{}", self.0)
    }
}

/// Operand width of ALU and jump operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Width {
    /// `BPF_ALU` / `BPF_JMP32`: operate on the low 32 bits; ALU results are zero-extended.
    W32,
    /// `BPF_ALU64` / `BPF_JMP`.
    W64,
}

/// A second operand: a register (`BPF_X`) or the 32-bit immediate (`BPF_K`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operand {
    Reg(Reg),
    Imm(i32),
}

/// Binary ALU operations (`neg`, `movsx` and byte swaps have their own variants).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AluOp {
    Add,
    Sub,
    Mul,
    Div,
    SDiv,
    Or,
    And,
    Lsh,
    Rsh,
    Mod,
    SMod,
    Xor,
    Mov,
    Arsh,
}

impl AluOp {
    pub const ALL: [AluOp; 14] = [
        AluOp::Add,
        AluOp::Sub,
        AluOp::Mul,
        AluOp::Div,
        AluOp::SDiv,
        AluOp::Or,
        AluOp::And,
        AluOp::Lsh,
        AluOp::Rsh,
        AluOp::Mod,
        AluOp::SMod,
        AluOp::Xor,
        AluOp::Mov,
        AluOp::Arsh,
    ];
}

/// Byte-order conversions: `le`/`be` (class ALU) and unconditional `bswap` (class ALU64).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endian {
    /// Host (little endian) to little endian: truncates to `bits`, zero-extends.
    Le,
    /// Host to big endian: swaps on little-endian hosts.
    Be,
    /// Unconditional swap (`BPF_ALU64 | BPF_END`, v4).
    Swap,
}

/// Memory access size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Size {
    B,
    H,
    W,
    DW,
}

impl Size {
    pub const ALL: [Size; 4] = [Size::B, Size::H, Size::W, Size::DW];
    pub fn bytes(self) -> usize {
        match self {
            Size::B => 1,
            Size::H => 2,
            Size::W => 4,
            Size::DW => 8,
        }
    }
    pub fn bits(self) -> u32 {
        self.bytes() as u32 * 8
    }
}

/// Atomic read-modify-write operations (`BPF_STX | BPF_ATOMIC`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AtomicOp {
    Add,
    Or,
    And,
    Xor,
    /// Always fetches.
    Xchg,
    /// Always fetches; compares with r0.
    CmpXchg,
}

/// Conditions of conditional jumps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cond {
    Eq,
    Gt,
    Ge,
    Set,
    Ne,
    SGt,
    SGe,
    Lt,
    Le,
    SLt,
    SLe,
}

impl Cond {
    pub const ALL: [Cond; 11] = [
        Cond::Eq,
        Cond::Gt,
        Cond::Ge,
        Cond::Set,
        Cond::Ne,
        Cond::SGt,
        Cond::SGe,
        Cond::Lt,
        Cond::Le,
        Cond::SLt,
        Cond::SLe,
    ];
}

/// The meaning of a 64-bit immediate load (`lddw`), from its `src` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Imm64 {
    /// src=0: a plain 64-bit constant.
    Value(u64),
    /// src=1 `BPF_PSEUDO_MAP_FD`: the map with this fd.
    MapFd(i32),
    /// src=2 `BPF_PSEUDO_MAP_VALUE`: address of `off` in the value of the map with this fd.
    MapValue { fd: i32, off: u32 },
    /// src=3 `BPF_PSEUDO_BTF_ID`: address of a kernel variable by BTF id; `btf_fd` (the
    /// second slot's imm) names a module's BTF, 0 for vmlinux.
    BtfId { id: i32, btf_fd: i32 },
    /// src=4 `BPF_PSEUDO_FUNC`: address of the local function `pc + 1 + rel`.
    Func(i32),
    /// src=5 `BPF_PSEUDO_MAP_IDX`: the map at this index of the fd array.
    MapIdx(i32),
    /// src=6 `BPF_PSEUDO_MAP_IDX_VALUE`.
    MapIdxValue { idx: i32, off: u32 },
}

/// Targets of `call` (`BPF_JMP | BPF_CALL | BPF_K`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallTarget {
    /// src=0: a helper by its static id.
    Helper(i32),
    /// src=1 `BPF_PSEUDO_CALL`: the local function at `pc + 1 + rel`.
    Local(i32),
    /// src=2 `BPF_PSEUDO_KFUNC_CALL`: a kernel function by BTF id; `off` selects a module BTF.
    Kfunc { btf_id: i32, off: i16 },
}

/// Legacy packet access mode (`BPF_LD | BPF_ABS/BPF_IND`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketMode {
    Abs,
    /// Offset is `src + imm`.
    Ind(Reg),
}

/// One eBPF instruction, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Insn {
    /// `dst = dst op src` (mov: `dst = src`).
    Alu {
        op: AluOp,
        width: Width,
        dst: Reg,
        src: Operand,
    },
    /// `dst = -dst`.
    Neg {
        width: Width,
        dst: Reg,
    },
    /// `dst = (s<bits>) src`; `bits` is 8, 16 or (64-bit only) 32.
    MovSx {
        width: Width,
        dst: Reg,
        src: Reg,
        bits: u8,
    },
    /// Byte order conversion of the low `bits` (16, 32, 64) of `dst`.
    Endian {
        kind: Endian,
        bits: u8,
        dst: Reg,
    },
    /// `dst = *(size *)(src + off)`, sign-extended if `sign_extend`.
    Load {
        size: Size,
        dst: Reg,
        src: Reg,
        off: i16,
        sign_extend: bool,
    },
    /// `*(size *)(dst + off) = src`.
    Store {
        size: Size,
        dst: Reg,
        off: i16,
        src: Operand,
    },
    /// Atomic operation on `*(size *)(dst + off)`; `size` is W or DW.
    Atomic {
        size: Size,
        op: AtomicOp,
        fetch: bool,
        dst: Reg,
        off: i16,
        src: Reg,
    },
    /// `dst = load_acquire((size *)(src + off))` (`BPF_STX | BPF_ATOMIC`, imm
    /// `BPF_LOAD_ACQ` 0x100, Linux 6.15): a zero-extending load with acquire ordering.
    LoadAcquire {
        size: Size,
        dst: Reg,
        src: Reg,
        off: i16,
    },
    /// `store_release((size *)(dst + off), src)` (`BPF_STX | BPF_ATOMIC`, imm
    /// `BPF_STORE_REL` 0x110, Linux 6.15): a store with release ordering.
    StoreRelease {
        size: Size,
        dst: Reg,
        off: i16,
        src: Reg,
    },
    /// `dst = addr_space_cast(src, dst_as, src_as)` (`BPF_ALU64 | BPF_MOV | BPF_X`,
    /// off 1, imm `dst_as << 16 | src_as`; BPF arena, Linux 6.9). The decoder only
    /// accepts the two casts the kernel knows: as(1) to as(0) (imm 1) and as(0) to
    /// as(1) (imm 0x10000).
    AddrSpaceCast {
        dst: Reg,
        src: Reg,
        dst_as: u16,
        src_as: u16,
    },
    /// `lddw`: occupies two instruction slots.
    LoadImm64 {
        dst: Reg,
        imm: Imm64,
    },
    /// The second slot of an `lddw`; never executed, never printed.
    LoadImm64Tail,
    /// Legacy packet load into r0 (big-endian), only `B`, `H`, `W`.
    LoadPacket {
        size: Size,
        mode: PacketMode,
        imm: i32,
    },
    /// `goto +off` (`ja`); `wide` is the v4 `gotol` (`BPF_JMP32 | BPF_JA`, offset in imm).
    Ja {
        off: i32,
        wide: bool,
    },
    /// `if dst cond src goto +off`.
    Jump {
        cond: Cond,
        width: Width,
        dst: Reg,
        src: Operand,
        off: i16,
    },
    /// `may_goto +off` (`BPF_JMP | BPF_JCOND`, src `BPF_MAY_GOTO` 0, Linux 6.9): falls
    /// through while the per-frame loop budget lasts (`BPF_MAX_LOOPS`, decremented on
    /// every execution), jumps when it is exhausted.
    MayGoto {
        off: i16,
    },
    Call(CallTarget),
    /// `callx dst`: call through a register.
    CallX {
        reg: Reg,
    },
    Exit,
}

impl Insn {
    /// The register this instruction computes into through its `dst` field (ALU,
    /// moves, loads, `lddw`, `addr_space_cast`); `None` for the others, including
    /// atomics (whose fetched value lands in `src`), calls and legacy packet loads.
    ///
    /// ```
    /// use bpfbox_isa::{Insn, Reg};
    /// let r10 = Reg::new(10).unwrap();
    /// let cast = Insn::AddrSpaceCast { dst: r10, src: Reg::new(0).unwrap(), dst_as: 1, src_as: 0 };
    /// assert_eq!(cast.dst_written(), Some(r10));
    /// assert_eq!(Insn::Exit.dst_written(), None);
    /// ```
    pub fn dst_written(&self) -> Option<Reg> {
        match *self {
            Insn::Alu { dst, .. }
            | Insn::Neg { dst, .. }
            | Insn::MovSx { dst, .. }
            | Insn::Endian { dst, .. }
            | Insn::Load { dst, .. }
            | Insn::LoadAcquire { dst, .. }
            | Insn::AddrSpaceCast { dst, .. }
            | Insn::LoadImm64 { dst, .. } => Some(dst),
            _ => None,
        }
    }

    /// Number of 8-byte slots this instruction occupies.
    pub fn slots(&self) -> usize {
        match self {
            Insn::LoadImm64 { .. } => 2,
            _ => 1,
        }
    }

    /// Relative jump target in slots (from the next slot) if this instruction branches.
    pub fn branch_offset(&self) -> Option<i64> {
        match *self {
            Insn::Ja { off, .. } => Some(off as i64),
            Insn::Jump { off, .. } => Some(off as i64),
            Insn::MayGoto { off } => Some(off as i64),
            Insn::Call(CallTarget::Local(rel)) => Some(rel as i64),
            Insn::LoadImm64 { imm: Imm64::Func(rel), .. } => Some(rel as i64),
            _ => None,
        }
    }
}

/// Why an instruction could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeErrorKind {
    #[error("unknown opcode {0:#04x}")]
    UnknownOpcode(u8),
    #[error("invalid register r{0}")]
    BadRegister(u8),
    #[error("reserved field `{field}` must be 0 (is {value:#x}) for opcode {code:#04x}")]
    Reserved { code: u8, field: &'static str, value: i64 },
    #[error("invalid offset {off} for opcode {code:#04x}")]
    BadOffset { code: u8, off: i16 },
    #[error("invalid immediate {imm:#x} for opcode {code:#04x}")]
    BadImm { code: u8, imm: i32 },
    #[error("lddw is truncated: its second slot is missing")]
    TruncatedLddw,
    #[error("second slot of lddw is malformed")]
    BadLddwTail,
    #[error("invalid lddw source {0} (pseudo values are 0..=6)")]
    BadLddwSrc(u8),
    #[error("program is empty")]
    Empty,
    #[error("program size {0} bytes is not a multiple of 8")]
    Length(usize),
}

/// A decode failure at instruction index `pc` (in 8-byte slots).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("instruction {pc}: {kind}")]
pub struct DecodeError {
    pub pc: usize,
    pub kind: DecodeErrorKind,
}

fn reg(n: u8) -> Result<Reg, DecodeErrorKind> {
    Reg::new(n).ok_or(DecodeErrorKind::BadRegister(n))
}

fn zero(code: u8, field: &'static str, value: i64) -> Result<(), DecodeErrorKind> {
    if value == 0 {
        Ok(())
    } else {
        Err(DecodeErrorKind::Reserved { code, field, value })
    }
}

fn size_of(code: u8) -> Size {
    match code & 0x18 {
        raw::BPF_W => Size::W,
        raw::BPF_H => Size::H,
        raw::BPF_B => Size::B,
        _ => Size::DW,
    }
}

fn size_bits(size: Size) -> u8 {
    match size {
        Size::W => raw::BPF_W,
        Size::H => raw::BPF_H,
        Size::B => raw::BPF_B,
        Size::DW => raw::BPF_DW,
    }
}

/// Decode the instruction in slot `pc` of `slots` (one slot, or two for `lddw`).
///
/// The second slot of an `lddw` is not checked here; [`decode_program`] does that.
pub fn decode_at(slots: &[RawInsn], pc: usize) -> Result<Insn, DecodeError> {
    let r = slots[pc];
    decode_one(&r, slots.get(pc + 1)).map_err(|kind| DecodeError { pc, kind })
}

fn decode_one(r: &RawInsn, next: Option<&RawInsn>) -> Result<Insn, DecodeErrorKind> {
    let code = r.code;
    let class = code & 0x07;
    let unknown = || DecodeErrorKind::UnknownOpcode(code);
    match class {
        raw::BPF_ALU | raw::BPF_ALU64 => {
            let width = if class == raw::BPF_ALU64 { Width::W64 } else { Width::W32 };
            let is_reg = code & raw::BPF_X != 0;
            let dst = reg(r.dst)?;
            let op = code & 0xf0;
            let src_operand = |allow_off: &[i16]| -> Result<Operand, DecodeErrorKind> {
                if !allow_off.contains(&r.off) {
                    return Err(DecodeErrorKind::BadOffset { code, off: r.off });
                }
                if is_reg {
                    zero(code, "imm", r.imm as i64)?;
                    Ok(Operand::Reg(reg(r.src)?))
                } else {
                    zero(code, "src", r.src as i64)?;
                    Ok(Operand::Imm(r.imm))
                }
            };
            let alu = |op: AluOp, src: Operand| Insn::Alu { op, width, dst, src };
            Ok(match op {
                raw::BPF_ADD => alu(AluOp::Add, src_operand(&[0])?),
                raw::BPF_SUB => alu(AluOp::Sub, src_operand(&[0])?),
                raw::BPF_MUL => alu(AluOp::Mul, src_operand(&[0])?),
                raw::BPF_OR => alu(AluOp::Or, src_operand(&[0])?),
                raw::BPF_AND => alu(AluOp::And, src_operand(&[0])?),
                raw::BPF_LSH => alu(AluOp::Lsh, src_operand(&[0])?),
                raw::BPF_RSH => alu(AluOp::Rsh, src_operand(&[0])?),
                raw::BPF_XOR => alu(AluOp::Xor, src_operand(&[0])?),
                raw::BPF_ARSH => alu(AluOp::Arsh, src_operand(&[0])?),
                raw::BPF_DIV => {
                    let s = src_operand(&[0, 1])?;
                    alu(if r.off == 1 { AluOp::SDiv } else { AluOp::Div }, s)
                }
                raw::BPF_MOD => {
                    let s = src_operand(&[0, 1])?;
                    alu(if r.off == 1 { AluOp::SMod } else { AluOp::Mod }, s)
                }
                raw::BPF_MOV => {
                    if r.off == 0 {
                        alu(AluOp::Mov, src_operand(&[0])?)
                    } else if r.off == 1 && is_reg && width == Width::W64 {
                        // BPF_ADDR_SPACE_CAST.
                        if r.imm != 1 && r.imm != 1 << 16 {
                            return Err(DecodeErrorKind::BadImm { code, imm: r.imm });
                        }
                        Insn::AddrSpaceCast {
                            dst,
                            src: reg(r.src)?,
                            dst_as: (r.imm as u32 >> 16) as u16,
                            src_as: r.imm as u16,
                        }
                    } else {
                        let allowed: &[i16] = if width == Width::W64 { &[8, 16, 32] } else { &[8, 16] };
                        if !is_reg {
                            return Err(DecodeErrorKind::BadOffset { code, off: r.off });
                        }
                        match src_operand(allowed)? {
                            Operand::Reg(src) => Insn::MovSx { width, dst, src, bits: r.off as u8 },
                            Operand::Imm(_) => return Err(unknown()),
                        }
                    }
                }
                raw::BPF_NEG => {
                    if is_reg {
                        return Err(unknown());
                    }
                    zero(code, "src", r.src as i64)?;
                    zero(code, "off", r.off as i64)?;
                    zero(code, "imm", r.imm as i64)?;
                    Insn::Neg { width, dst }
                }
                raw::BPF_END => {
                    zero(code, "src", r.src as i64)?;
                    zero(code, "off", r.off as i64)?;
                    let kind = match (width, is_reg) {
                        (Width::W32, false) => Endian::Le,
                        (Width::W32, true) => Endian::Be,
                        (Width::W64, false) => Endian::Swap,
                        (Width::W64, true) => return Err(unknown()),
                    };
                    if !matches!(r.imm, 16 | 32 | 64) {
                        return Err(DecodeErrorKind::BadImm { code, imm: r.imm });
                    }
                    Insn::Endian { kind, bits: r.imm as u8, dst }
                }
                _ => return Err(unknown()),
            })
        }
        raw::BPF_LDX => {
            let mode = code & 0xe0;
            let sign_extend = match mode {
                raw::BPF_MEM => false,
                raw::BPF_MEMSX => true,
                _ => return Err(unknown()),
            };
            let size = size_of(code);
            if sign_extend && size == Size::DW {
                return Err(unknown());
            }
            zero(code, "imm", r.imm as i64)?;
            Ok(Insn::Load { size, dst: reg(r.dst)?, src: reg(r.src)?, off: r.off, sign_extend })
        }
        raw::BPF_ST => {
            if code & 0xe0 != raw::BPF_MEM {
                return Err(unknown());
            }
            zero(code, "src", r.src as i64)?;
            Ok(Insn::Store { size: size_of(code), dst: reg(r.dst)?, off: r.off, src: Operand::Imm(r.imm) })
        }
        raw::BPF_STX => {
            let size = size_of(code);
            match code & 0xe0 {
                raw::BPF_MEM => {
                    zero(code, "imm", r.imm as i64)?;
                    Ok(Insn::Store { size, dst: reg(r.dst)?, off: r.off, src: Operand::Reg(reg(r.src)?) })
                }
                raw::BPF_ATOMIC => {
                    match r.imm {
                        0x100 => return Ok(Insn::LoadAcquire { size, dst: reg(r.dst)?, src: reg(r.src)?, off: r.off }),
                        0x110 => {
                            return Ok(Insn::StoreRelease { size, dst: reg(r.dst)?, off: r.off, src: reg(r.src)? })
                        }
                        _ => {}
                    }
                    if !matches!(size, Size::W | Size::DW) {
                        return Err(unknown());
                    }
                    let (op, fetch) = match r.imm {
                        0x00 => (AtomicOp::Add, false),
                        0x01 => (AtomicOp::Add, true),
                        0x40 => (AtomicOp::Or, false),
                        0x41 => (AtomicOp::Or, true),
                        0x50 => (AtomicOp::And, false),
                        0x51 => (AtomicOp::And, true),
                        0xa0 => (AtomicOp::Xor, false),
                        0xa1 => (AtomicOp::Xor, true),
                        0xe1 => (AtomicOp::Xchg, true),
                        0xf1 => (AtomicOp::CmpXchg, true),
                        imm => return Err(DecodeErrorKind::BadImm { code, imm }),
                    };
                    Ok(Insn::Atomic { size, op, fetch, dst: reg(r.dst)?, off: r.off, src: reg(r.src)? })
                }
                _ => Err(unknown()),
            }
        }
        raw::BPF_LD => match code & 0xe0 {
            raw::BPF_IMM if code & 0x18 == raw::BPF_DW => {
                let dst = reg(r.dst)?;
                zero(code, "off", r.off as i64)?;
                let tail = next.ok_or(DecodeErrorKind::TruncatedLddw)?;
                if tail.code != 0 || tail.dst != 0 || tail.src != 0 || tail.off != 0 {
                    return Err(DecodeErrorKind::BadLddwTail);
                }
                let lo = r.imm as u32 as u64;
                let hi = tail.imm;
                let no_hi = |v: Imm64| {
                    if hi != 0 {
                        Err(DecodeErrorKind::BadLddwTail)
                    } else {
                        Ok(v)
                    }
                };
                let imm = match r.src {
                    0 => Imm64::Value(lo | ((hi as u32 as u64) << 32)),
                    1 => no_hi(Imm64::MapFd(r.imm))?,
                    2 => Imm64::MapValue { fd: r.imm, off: hi as u32 },
                    3 => Imm64::BtfId { id: r.imm, btf_fd: hi },
                    4 => no_hi(Imm64::Func(r.imm))?,
                    5 => no_hi(Imm64::MapIdx(r.imm))?,
                    6 => Imm64::MapIdxValue { idx: r.imm, off: hi as u32 },
                    s => return Err(DecodeErrorKind::BadLddwSrc(s)),
                };
                Ok(Insn::LoadImm64 { dst, imm })
            }
            mode @ (raw::BPF_ABS | raw::BPF_IND) => {
                let size = size_of(code);
                if size == Size::DW {
                    return Err(unknown());
                }
                zero(code, "dst", r.dst as i64)?;
                zero(code, "off", r.off as i64)?;
                let mode = if mode == raw::BPF_ABS {
                    zero(code, "src", r.src as i64)?;
                    PacketMode::Abs
                } else {
                    PacketMode::Ind(reg(r.src)?)
                };
                Ok(Insn::LoadPacket { size, mode, imm: r.imm })
            }
            _ => Err(unknown()),
        },
        raw::BPF_JMP | raw::BPF_JMP32 => {
            let width = if class == raw::BPF_JMP { Width::W64 } else { Width::W32 };
            let is_reg = code & raw::BPF_X != 0;
            let op = code & 0xf0;
            let cond = match op {
                raw::BPF_JA => {
                    if is_reg {
                        return Err(unknown());
                    }
                    zero(code, "dst", r.dst as i64)?;
                    zero(code, "src", r.src as i64)?;
                    return Ok(if width == Width::W64 {
                        zero(code, "imm", r.imm as i64)?;
                        Insn::Ja { off: r.off as i32, wide: false }
                    } else {
                        zero(code, "off", r.off as i64)?;
                        Insn::Ja { off: r.imm, wide: true }
                    });
                }
                raw::BPF_CALL => {
                    if width == Width::W32 {
                        return Err(unknown());
                    }
                    if is_reg {
                        zero(code, "src", r.src as i64)?;
                        zero(code, "off", r.off as i64)?;
                        zero(code, "imm", r.imm as i64)?;
                        return Ok(Insn::CallX { reg: reg(r.dst)? });
                    }
                    zero(code, "dst", r.dst as i64)?;
                    let target = match r.src {
                        0 => {
                            zero(code, "off", r.off as i64)?;
                            CallTarget::Helper(r.imm)
                        }
                        1 => {
                            zero(code, "off", r.off as i64)?;
                            CallTarget::Local(r.imm)
                        }
                        2 => CallTarget::Kfunc { btf_id: r.imm, off: r.off },
                        s => return Err(DecodeErrorKind::Reserved { code, field: "src", value: s as i64 }),
                    };
                    return Ok(Insn::Call(target));
                }
                raw::BPF_JCOND => {
                    if width == Width::W32 || is_reg {
                        return Err(unknown());
                    }
                    zero(code, "dst", r.dst as i64)?;
                    zero(code, "imm", r.imm as i64)?;
                    if r.src != 0 {
                        return Err(DecodeErrorKind::Reserved { code, field: "src", value: r.src as i64 });
                    }
                    return Ok(Insn::MayGoto { off: r.off });
                }
                raw::BPF_EXIT => {
                    if width == Width::W32 || is_reg {
                        return Err(unknown());
                    }
                    zero(code, "dst", r.dst as i64)?;
                    zero(code, "src", r.src as i64)?;
                    zero(code, "off", r.off as i64)?;
                    zero(code, "imm", r.imm as i64)?;
                    return Ok(Insn::Exit);
                }
                raw::BPF_JEQ => Cond::Eq,
                raw::BPF_JGT => Cond::Gt,
                raw::BPF_JGE => Cond::Ge,
                raw::BPF_JSET => Cond::Set,
                raw::BPF_JNE => Cond::Ne,
                raw::BPF_JSGT => Cond::SGt,
                raw::BPF_JSGE => Cond::SGe,
                raw::BPF_JLT => Cond::Lt,
                raw::BPF_JLE => Cond::Le,
                raw::BPF_JSLT => Cond::SLt,
                raw::BPF_JSLE => Cond::SLe,
                _ => return Err(unknown()),
            };
            let dst = reg(r.dst)?;
            let src = if is_reg {
                zero(code, "imm", r.imm as i64)?;
                Operand::Reg(reg(r.src)?)
            } else {
                zero(code, "src", r.src as i64)?;
                Operand::Imm(r.imm)
            };
            Ok(Insn::Jump { cond, width, dst, src, off: r.off })
        }
        _ => Err(unknown()),
    }
}

/// Decode a whole program: one [`Insn`] per 8-byte slot, the second slot of each
/// `lddw` being [`Insn::LoadImm64Tail`]. Jump targets are not checked here (that is
/// structural validation, see [`crate::check_jumps`]).
pub fn decode_program(bytes: &[u8]) -> Result<Vec<Insn>, DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError { pc: 0, kind: DecodeErrorKind::Empty });
    }
    if !bytes.len().is_multiple_of(8) {
        return Err(DecodeError { pc: bytes.len() / 8, kind: DecodeErrorKind::Length(bytes.len()) });
    }
    let slots: Vec<RawInsn> = bytes.chunks_exact(8).map(RawInsn::from_bytes).collect();
    decode_slots(&slots)
}

/// Like [`decode_program`] on already split slots.
pub fn decode_slots(slots: &[RawInsn]) -> Result<Vec<Insn>, DecodeError> {
    let mut out = Vec::with_capacity(slots.len());
    let mut pc = 0;
    while pc < slots.len() {
        let insn = decode_at(slots, pc)?;
        out.push(insn);
        if insn.slots() == 2 {
            out.push(Insn::LoadImm64Tail);
        }
        pc += insn.slots();
    }
    Ok(out)
}

/// Encode one instruction into one or two raw slots.
///
/// Panics never; an instruction built by hand with out-of-range fields (a `bits`
/// not in 8/16/32/64) encodes as given, and [`decode_slots`] will reject it.
pub fn encode(insn: &Insn) -> Vec<RawInsn> {
    let mk = |code: u8, dst: u8, src: u8, off: i16, imm: i32| RawInsn { code, dst, src, off, imm };
    let one = |r: RawInsn| vec![r];
    let wcls = |w: Width, c64: u8, c32: u8| if w == Width::W64 { c64 } else { c32 };
    match *insn {
        Insn::Alu { op, width, dst, src } => {
            let cls = wcls(width, raw::BPF_ALU64, raw::BPF_ALU);
            let (opc, off) = match op {
                AluOp::Add => (raw::BPF_ADD, 0),
                AluOp::Sub => (raw::BPF_SUB, 0),
                AluOp::Mul => (raw::BPF_MUL, 0),
                AluOp::Div => (raw::BPF_DIV, 0),
                AluOp::SDiv => (raw::BPF_DIV, 1),
                AluOp::Or => (raw::BPF_OR, 0),
                AluOp::And => (raw::BPF_AND, 0),
                AluOp::Lsh => (raw::BPF_LSH, 0),
                AluOp::Rsh => (raw::BPF_RSH, 0),
                AluOp::Mod => (raw::BPF_MOD, 0),
                AluOp::SMod => (raw::BPF_MOD, 1),
                AluOp::Xor => (raw::BPF_XOR, 0),
                AluOp::Mov => (raw::BPF_MOV, 0),
                AluOp::Arsh => (raw::BPF_ARSH, 0),
            };
            match src {
                Operand::Reg(s) => one(mk(cls | opc | raw::BPF_X, dst.0, s.0, off, 0)),
                Operand::Imm(i) => one(mk(cls | opc | raw::BPF_K, dst.0, 0, off, i)),
            }
        }
        Insn::Neg { width, dst } => one(mk(wcls(width, raw::BPF_ALU64, raw::BPF_ALU) | raw::BPF_NEG, dst.0, 0, 0, 0)),
        Insn::MovSx { width, dst, src, bits } => {
            one(mk(wcls(width, raw::BPF_ALU64, raw::BPF_ALU) | raw::BPF_MOV | raw::BPF_X, dst.0, src.0, bits as i16, 0))
        }
        Insn::Endian { kind, bits, dst } => {
            let code = match kind {
                Endian::Le => raw::BPF_ALU | raw::BPF_END | raw::BPF_K,
                Endian::Be => raw::BPF_ALU | raw::BPF_END | raw::BPF_X,
                Endian::Swap => raw::BPF_ALU64 | raw::BPF_END | raw::BPF_K,
            };
            one(mk(code, dst.0, 0, 0, bits as i32))
        }
        Insn::Load { size, dst, src, off, sign_extend } => {
            let mode = if sign_extend { raw::BPF_MEMSX } else { raw::BPF_MEM };
            one(mk(raw::BPF_LDX | mode | size_bits(size), dst.0, src.0, off, 0))
        }
        Insn::Store { size, dst, off, src } => match src {
            Operand::Reg(s) => one(mk(raw::BPF_STX | raw::BPF_MEM | size_bits(size), dst.0, s.0, off, 0)),
            Operand::Imm(i) => one(mk(raw::BPF_ST | raw::BPF_MEM | size_bits(size), dst.0, 0, off, i)),
        },
        Insn::Atomic { size, op, fetch, dst, off, src } => {
            let base = match op {
                AtomicOp::Add => 0x00,
                AtomicOp::Or => 0x40,
                AtomicOp::And => 0x50,
                AtomicOp::Xor => 0xa0,
                AtomicOp::Xchg => 0xe0,
                AtomicOp::CmpXchg => 0xf0,
            };
            let fetch = fetch || matches!(op, AtomicOp::Xchg | AtomicOp::CmpXchg);
            let imm = base | if fetch { 1 } else { 0 };
            one(mk(raw::BPF_STX | raw::BPF_ATOMIC | size_bits(size), dst.0, src.0, off, imm))
        }
        Insn::LoadAcquire { size, dst, src, off } => {
            one(mk(raw::BPF_STX | raw::BPF_ATOMIC | size_bits(size), dst.0, src.0, off, raw::BPF_LOAD_ACQ))
        }
        Insn::StoreRelease { size, dst, off, src } => {
            one(mk(raw::BPF_STX | raw::BPF_ATOMIC | size_bits(size), dst.0, src.0, off, raw::BPF_STORE_REL))
        }
        Insn::AddrSpaceCast { dst, src, dst_as, src_as } => one(mk(
            raw::BPF_ALU64 | raw::BPF_MOV | raw::BPF_X,
            dst.0,
            src.0,
            raw::BPF_ADDR_SPACE_CAST,
            ((dst_as as u32) << 16 | src_as as u32) as i32,
        )),
        Insn::LoadImm64 { dst, imm } => {
            let (src, lo, hi) = match imm {
                Imm64::Value(v) => (0, v as u32 as i32, (v >> 32) as u32 as i32),
                Imm64::MapFd(fd) => (1, fd, 0),
                Imm64::MapValue { fd, off } => (2, fd, off as i32),
                Imm64::BtfId { id, btf_fd } => (3, id, btf_fd),
                Imm64::Func(rel) => (4, rel, 0),
                Imm64::MapIdx(i) => (5, i, 0),
                Imm64::MapIdxValue { idx, off } => (6, idx, off as i32),
            };
            vec![mk(raw::BPF_LD | raw::BPF_IMM | raw::BPF_DW, dst.0, src, 0, lo), mk(0, 0, 0, 0, hi)]
        }
        Insn::LoadImm64Tail => Vec::new(),
        Insn::LoadPacket { size, mode, imm } => match mode {
            PacketMode::Abs => one(mk(raw::BPF_LD | raw::BPF_ABS | size_bits(size), 0, 0, 0, imm)),
            PacketMode::Ind(s) => one(mk(raw::BPF_LD | raw::BPF_IND | size_bits(size), 0, s.0, 0, imm)),
        },
        Insn::Ja { off, wide: false } => one(mk(raw::BPF_JMP | raw::BPF_JA, 0, 0, off as i16, 0)),
        Insn::Ja { off, wide: true } => one(mk(raw::BPF_JMP32 | raw::BPF_JA, 0, 0, 0, off)),
        Insn::Jump { cond, width, dst, src, off } => {
            let cls = wcls(width, raw::BPF_JMP, raw::BPF_JMP32);
            let op = match cond {
                Cond::Eq => raw::BPF_JEQ,
                Cond::Gt => raw::BPF_JGT,
                Cond::Ge => raw::BPF_JGE,
                Cond::Set => raw::BPF_JSET,
                Cond::Ne => raw::BPF_JNE,
                Cond::SGt => raw::BPF_JSGT,
                Cond::SGe => raw::BPF_JSGE,
                Cond::Lt => raw::BPF_JLT,
                Cond::Le => raw::BPF_JLE,
                Cond::SLt => raw::BPF_JSLT,
                Cond::SLe => raw::BPF_JSLE,
            };
            match src {
                Operand::Reg(s) => one(mk(cls | op | raw::BPF_X, dst.0, s.0, off, 0)),
                Operand::Imm(i) => one(mk(cls | op | raw::BPF_K, dst.0, 0, off, i)),
            }
        }
        Insn::MayGoto { off } => one(mk(raw::BPF_JMP | raw::BPF_JCOND, 0, raw::BPF_MAY_GOTO, off, 0)),
        Insn::Call(t) => {
            let code = raw::BPF_JMP | raw::BPF_CALL;
            match t {
                CallTarget::Helper(id) => one(mk(code, 0, 0, 0, id)),
                CallTarget::Local(rel) => one(mk(code, 0, 1, 0, rel)),
                CallTarget::Kfunc { btf_id, off } => one(mk(code, 0, 2, off, btf_id)),
            }
        }
        Insn::CallX { reg } => one(mk(raw::BPF_JMP | raw::BPF_CALL | raw::BPF_X, reg.0, 0, 0, 0)),
        Insn::Exit => one(mk(raw::BPF_JMP | raw::BPF_EXIT, 0, 0, 0, 0)),
    }
}

/// Encode a slot-indexed program (as returned by [`decode_program`]) to bytes.
pub fn encode_program(insns: &[Insn]) -> Vec<u8> {
    let mut out = Vec::with_capacity(insns.len() * 8);
    for insn in insns {
        for r in encode(insn) {
            out.extend_from_slice(&r.to_bytes());
        }
    }
    out
}

/// A structural problem with jump targets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JumpError {
    #[error("instruction {pc}: jump to {target} is out of the program (0..{len})")]
    OutOfRange { pc: usize, target: i64, len: usize },
    #[error("instruction {pc}: jump to {target} lands in the middle of lddw")]
    IntoLddw { pc: usize, target: usize },
}

/// Check that every branch, local call and function address of a slot-indexed program
/// targets an instruction inside the program (not the second half of an `lddw`).
pub fn check_jumps(insns: &[Insn]) -> Result<(), JumpError> {
    for (pc, insn) in insns.iter().enumerate() {
        if let Some(rel) = insn.branch_offset() {
            let target = pc as i64 + 1 + rel;
            if target < 0 || target >= insns.len() as i64 {
                return Err(JumpError::OutOfRange { pc, target, len: insns.len() });
            }
            if insns[target as usize] == Insn::LoadImm64Tail {
                return Err(JumpError::IntoLddw { pc, target: target as usize });
            }
        }
    }
    Ok(())
}
