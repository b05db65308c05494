//! Differential oracle: the interpreter against the JIT, on programs generated from
//! bytes (for the property test and cargo-fuzz alike: `/fuzz` calls
//! [`fuzz_differential`]).
//!
//! Two generators share the input:
//! - **structured** (first byte even): a valid, terminating program built from the
//!   bytes — every ALU operation and width, loads/stores/atomics on the packet and the
//!   stack (mostly in bounds, sometimes not), forward branches, counted loops,
//!   helper calls from [`helpers`], bpf-to-bpf calls, `callx`, legacy packet loads —
//!   with a budget that is sometimes too small, so budget errors land mid-block;
//! - **raw** (first byte odd): the rest of the bytes decoded as bytecode, whatever it
//!   is (jumps across functions, falling off the end, writes to r10...).
//!
//! Both engines run on the same packet buffer (so pointers into it are equal); the
//! result (r0 and instruction count, or the error), the packet afterwards and the
//! helper environment must be identical. Stack addresses differ between engines, so
//! the generators never let one reach r0 or memory, and errors are compared with
//! addresses outside the packet masked.

use crate::{JitOptions, JitProgram};
use bpfbox_abi::{ArgType, HelperProto, RetType};
use bpfbox_isa::{AluOp, AtomicOp, CallTarget, Cond, Endian, Imm64, Insn, Operand, PacketMode, Reg, Size, Width};
use bpfbox_vm::{HelperCtx, HelperOutcome, HelperTable, Region, RegionKind, RunOutcome, Vm, VmError, VmOptions};

/// Size of the packet given to generated programs.
pub const PACKET: usize = 64;

/// A generated test case.
#[derive(Debug, Clone)]
pub struct Case {
    pub insns: Vec<Insn>,
    pub packet: Vec<u8>,
    pub max_insns: u64,
    /// Decoded from raw bytes (may fault anywhere): never run unchecked.
    pub raw: bool,
}

/// The helpers generated programs call:
/// 1 `mix(r1..r5)`: a hash of r2..r5, also stored at `r1 + 56`;
/// 2 `maybe_exit(x, v)`: ends the program with `v` when `x % 64 == 63`, else returns `x + 1`;
/// 3 `peek(p)`: the 8 bytes at `p` (checked);
/// 5 the conformance `unwind`. Each call counts itself in the environment (`u64`).
pub fn helpers() -> HelperTable {
    fn count(ctx: &mut HelperCtx<'_>) {
        let x = ctx.helper_id() as u64 + ctx.insns_executed();
        if let Some(n) = ctx.env::<u64>() {
            *n = n.wrapping_mul(31).wrapping_add(x);
        }
    }
    fn mix(ctx: &mut HelperCtx<'_>, a: [u64; 5]) -> Result<HelperOutcome, VmError> {
        count(ctx);
        let h = a[1].rotate_left(13) ^ a[2].wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ a[3] ^ (a[4] << 1);
        ctx.write_u64(a[0].wrapping_add(56), h)?;
        Ok(HelperOutcome::Return(h))
    }
    fn maybe_exit(ctx: &mut HelperCtx<'_>, a: [u64; 5]) -> Result<HelperOutcome, VmError> {
        count(ctx);
        Ok(if a[1] % 64 == 63 { HelperOutcome::Exit(a[2]) } else { HelperOutcome::Return(a[1].wrapping_add(1)) })
    }
    fn peek(ctx: &mut HelperCtx<'_>, a: [u64; 5]) -> Result<HelperOutcome, VmError> {
        count(ctx);
        Ok(HelperOutcome::Return(ctx.read_u64(a[1])?))
    }
    let mut t = HelperTable::conformance();
    let any = [ArgType::ANYTHING; 5];
    t.register(HelperProto::new(1, "mix", RetType::INTEGER, &any), mix);
    t.register(HelperProto::new(2, "maybe_exit", RetType::INTEGER, &any[..2]), maybe_exit);
    t.register(HelperProto::new(3, "peek", RetType::INTEGER, &any[..2]), peek);
    t
}

/// Reads the fuzz input as a stream of choices (zeros once exhausted).
struct Bytes<'a> {
    d: &'a [u8],
    i: usize,
}

impl Bytes<'_> {
    fn u8(&mut self) -> u8 {
        let v = self.d.get(self.i).copied().unwrap_or(0);
        self.i += 1;
        v
    }
    fn below(&mut self, n: u32) -> u32 {
        let v = u16::from_le_bytes([self.u8(), self.u8()]) as u32;
        v % n.max(1)
    }
    fn chance(&mut self, k: u32, n: u32) -> bool {
        self.below(n) < k
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u32) as usize]
    }
    fn i32(&mut self) -> i32 {
        match self.below(8) {
            0 => 0,
            1 => 1,
            2 => -1,
            3 => i32::MIN,
            4 => i32::MAX,
            5 => self.below(64) as i32 - 32,
            _ => i32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()]),
        }
    }
    fn u64(&mut self) -> u64 {
        match self.below(4) {
            0 => i64::MIN as u64,
            1 => u32::MAX as u64 + self.below(3) as u64,
            _ => u64::from_le_bytes(std::array::from_fn(|_| self.u8())),
        }
    }
}

/// Instructions with symbolic branch targets, patched by [`Asm::finish`].
#[derive(Default)]
struct Asm {
    insns: Vec<Insn>,
    labels: Vec<Option<usize>>,
    fixups: Vec<(usize, usize)>,
}

impl Asm {
    fn label(&mut self) -> usize {
        self.labels.push(None);
        self.labels.len() - 1
    }
    fn bind(&mut self, l: usize) {
        self.labels[l] = Some(self.insns.len());
    }
    fn push(&mut self, i: Insn) {
        self.insns.push(i);
        if matches!(i, Insn::LoadImm64 { .. }) {
            self.insns.push(Insn::LoadImm64Tail);
        }
    }
    fn push_to(&mut self, i: Insn, l: usize) {
        self.fixups.push((self.insns.len(), l));
        self.push(i);
    }
    fn finish(mut self) -> Vec<Insn> {
        for (pc, l) in self.fixups {
            let target = self.labels[l].unwrap_or(pc + 1) as i64;
            let rel = target - (pc as i64 + 1);
            self.insns[pc] = match self.insns[pc] {
                Insn::Ja { wide, .. } => Insn::Ja { off: rel as i32, wide },
                Insn::Jump { cond, width, dst, src, .. } => Insn::Jump { cond, width, dst, src, off: rel as i16 },
                Insn::MayGoto { .. } => Insn::MayGoto { off: rel as i16 },
                Insn::Call(CallTarget::Local(_)) => Insn::Call(CallTarget::Local(rel as i32)),
                Insn::LoadImm64 { dst, imm: Imm64::Func(_) } => Insn::LoadImm64 { dst, imm: Imm64::Func(rel as i32) },
                other => other,
            };
        }
        self.insns
    }
}

fn reg(n: u8) -> Reg {
    Reg::new(n).unwrap_or(Reg::R0)
}

/// r6 holds stack pointers only (used as a base, never as a value: stack addresses
/// differ between the engines); r1 is the packet; r8/r9 may be loop counters.
const STACK_PTR: u8 = 6;

struct Gen<'a> {
    b: Bytes<'a>,
    a: Asm,
    /// Entry labels of the functions; function `i` may call functions `> i`.
    funcs: Vec<usize>,
    /// Items left to emit in the whole program.
    left: u32,
}

#[derive(Clone, Copy)]
struct Scope {
    func: usize,
    counters: u16,
    depth: u32,
}

impl Gen<'_> {
    fn general(&mut self, s: Scope) -> Reg {
        let all = [0u8, 2, 3, 4, 5, 7, 8, 9];
        let ok: Vec<u8> = all.iter().copied().filter(|r| s.counters & (1 << r) == 0).collect();
        reg(self.b.pick(&ok))
    }

    /// A value operand: any register that holds no stack address, or an immediate.
    fn operand(&mut self, s: Scope) -> Operand {
        if self.b.chance(1, 2) {
            Operand::Imm(self.b.i32())
        } else if self.b.chance(1, 8) {
            Operand::Reg(Reg::R1)
        } else {
            Operand::Reg(self.general(s))
        }
    }

    fn size(&mut self) -> Size {
        self.b.pick(&Size::ALL)
    }

    /// A base register and offset for an access of `size`, mostly in bounds.
    fn place(&mut self, size: Size) -> (Reg, i16) {
        let n = size.bytes() as i16;
        let wild = self.b.chance(1, 150);
        match self.b.below(3) {
            0 => {
                let off = if wild {
                    self.b.below(96) as i16 - 16
                } else {
                    self.b.below((PACKET as u32) - n as u32 + 1) as i16
                };
                (Reg::R1, off)
            }
            1 => {
                let off =
                    if wild { -(self.b.below(530) as i16) + 8 } else { -(self.b.below(512 - n as u32 + 1) as i16) - n };
                (Reg::R10, off)
            }
            _ => {
                // Through the stack-pointer register: anywhere in the frame set by `derive`.
                let off = if wild { self.b.below(64) as i16 - 32 } else { self.b.below(8) as i16 * 8 - 64 };
                (reg(STACK_PTR), off)
            }
        }
    }

    /// A 16- or 32-bit read made byte by byte, big-endian as clang writes `be16` and
    /// `be32` for eBPF or little-endian as it reads packed fields (the JIT folds
    /// both into one load), sometimes with a store into those bytes in the middle
    /// (which must keep it from folding).
    fn bytewise_read(&mut self, s: Scope) {
        let n: i16 = if self.b.chance(1, 2) { 2 } else { 4 };
        let (base, off) = self.place(if n == 2 { Size::H } else { Size::W });
        let (d, t) = (self.general(s), self.general(s));
        let width = if self.b.chance(1, 2) { Width::W64 } else { Width::W32 };
        let clobber = self.b.chance(1, 3).then(|| self.b.below(n as u32) as i16);
        let load = |dst: Reg, k: i16| Insn::Load { size: Size::B, dst, src: base, off: off + k, sign_extend: false };
        let shl = |dst: Reg, by: i32| Insn::Alu { op: AluOp::Lsh, width, dst, src: Operand::Imm(by) };
        let or = |dst: Reg, src: Reg| Insn::Alu { op: AluOp::Or, width, dst, src: Operand::Reg(src) };
        // Byte k of the value (most significant first) from offset `at(k)`:
        // big-endian, or little-endian as clang reads packed fields.
        let little = self.b.chance(1, 3);
        let at = |k: i16| if little { n - 1 - k } else { k };
        let mut seq = Vec::new();
        if n == 2 {
            seq.extend([load(t, at(1)), load(d, at(0)), shl(d, 8), or(d, t)]);
        } else {
            seq.extend([load(d, at(0)), shl(d, 24), load(t, at(1)), shl(t, 16), or(d, t), load(t, at(2))]);
            seq.extend([shl(t, 8), or(d, t), load(t, at(3)), or(d, t)]);
        }
        if let Some(k) = clobber {
            let at = 1 + self.b.below(seq.len() as u32 - 1) as usize;
            let src = Operand::Imm(self.b.i32());
            seq.insert(at, Insn::Store { size: Size::B, dst: base, off: off + k, src });
        }
        for i in seq {
            self.a.push(i);
        }
    }

    fn block(&mut self, s: Scope, mut n: u32) {
        while n > 0 && self.left > 0 {
            n -= 1;
            self.left -= 1;
            self.item(s);
        }
    }

    fn item(&mut self, s: Scope) {
        let b = &mut self.b;
        match b.below(100) {
            // (Not at 0: a program whose choices have run out gets 0s, then ALU ops.)
            27..=29 => self.bytewise_read(s),
            0..=26 => {
                let op = b.pick(&AluOp::ALL);
                let width = if b.chance(1, 2) { Width::W64 } else { Width::W32 };
                let dst = self.general(s);
                let src = self.operand(s);
                self.a.push(Insn::Alu { op, width, dst, src });
            }
            30..=34 => {
                let dst = self.general(s);
                let insn = match self.b.below(4) {
                    3 => {
                        let (dst_as, src_as) = if self.b.chance(1, 2) { (0, 1) } else { (1, 0) };
                        Insn::AddrSpaceCast { dst, src: self.general(s), dst_as, src_as }
                    }
                    0 => Insn::Neg { width: if self.b.chance(1, 2) { Width::W64 } else { Width::W32 }, dst },
                    1 => {
                        let width = if self.b.chance(1, 2) { Width::W64 } else { Width::W32 };
                        let bits = if width == Width::W64 { self.b.pick(&[8, 16, 32]) } else { self.b.pick(&[8, 16]) };
                        let src = self.general(s);
                        Insn::MovSx { width, dst, src, bits }
                    }
                    _ => {
                        let kind = self.b.pick(&[Endian::Le, Endian::Be, Endian::Swap]);
                        Insn::Endian { kind, bits: self.b.pick(&[16, 32, 64]), dst }
                    }
                };
                self.a.push(insn);
            }
            35..=37 => {
                let dst = self.general(s);
                let v = self.b.u64();
                self.a.push(Insn::LoadImm64 { dst, imm: Imm64::Value(v) });
            }
            38..=49 => {
                let size = self.size();
                let (base, off) = self.place(size);
                let dst = self.general(s);
                if self.b.chance(1, 8) {
                    self.a.push(Insn::LoadAcquire { size, dst, src: base, off });
                } else {
                    let sign_extend = size != Size::DW && self.b.chance(1, 3);
                    self.a.push(Insn::Load { size, dst, src: base, off, sign_extend });
                }
            }
            50..=59 => {
                let size = self.size();
                let (base, off) = self.place(size);
                let src = if self.b.chance(1, 2) { Operand::Imm(self.b.i32()) } else { Operand::Reg(self.general(s)) };
                match src {
                    Operand::Reg(src) if self.b.chance(1, 4) => {
                        self.a.push(Insn::StoreRelease { size, dst: base, off, src })
                    }
                    _ => self.a.push(Insn::Store { size, dst: base, off, src }),
                }
            }
            60..=63 => {
                let size = if self.b.chance(1, 2) { Size::W } else { Size::DW };
                let (base, mut off) = self.place(size);
                if !self.b.chance(1, 8) {
                    off &= !(size.bytes() as i16 - 1); // aligned (the frames and packet are)
                }
                let op = self.b.pick(&[
                    AtomicOp::Add,
                    AtomicOp::Or,
                    AtomicOp::And,
                    AtomicOp::Xor,
                    AtomicOp::Xchg,
                    AtomicOp::CmpXchg,
                ]);
                let fetch = matches!(op, AtomicOp::Xchg | AtomicOp::CmpXchg) || self.b.chance(1, 2);
                let src = self.general(s);
                self.a.push(Insn::Atomic { size, op, fetch, dst: base, off, src });
            }
            64..=67 => {
                // Point the stack-pointer register into this frame.
                let k = self.b.below(57) as i32 * 8 + 64;
                self.a.push(Insn::Alu {
                    op: AluOp::Mov,
                    width: Width::W64,
                    dst: reg(STACK_PTR),
                    src: Operand::Reg(Reg::R10),
                });
                self.a.push(Insn::Alu {
                    op: AluOp::Add,
                    width: Width::W64,
                    dst: reg(STACK_PTR),
                    src: Operand::Imm(-k),
                });
            }
            68..=77 if s.depth < 4 => {
                // if (cond) skip { ... } [else { ... }]
                let cond = self.b.pick(&Cond::ALL);
                let width = if self.b.chance(1, 2) { Width::W64 } else { Width::W32 };
                let dst = self.general(s);
                let src = self.operand(s);
                let skip = self.a.label();
                self.a.push_to(Insn::Jump { cond, width, dst, src, off: 0 }, skip);
                let inner = Scope { depth: s.depth + 1, ..s };
                let n = self.b.below(6) + 1;
                self.block(inner, n);
                if self.b.chance(1, 3) {
                    let end = self.a.label();
                    self.a.push_to(Insn::Ja { off: 0, wide: self.b.chance(1, 4) }, end);
                    self.a.bind(skip);
                    let n = self.b.below(4) + 1;
                    self.block(inner, n);
                    self.a.bind(end);
                } else {
                    self.a.bind(skip);
                }
            }
            78..=81 if s.depth < 4 && s.counters.count_ones() < 2 => {
                // for (c = k; c != 0; c--) { ... }
                let c: u8 = if s.counters & (1 << 9) == 0 { 9 } else { 8 };
                let k = self.b.below(6) as i32 + 1;
                self.a.push(Insn::Alu { op: AluOp::Mov, width: Width::W64, dst: reg(c), src: Operand::Imm(k) });
                let top = self.a.label();
                self.a.bind(top);
                // `can_loop` in the condition (the budget outlasts the counter).
                let out = self.b.chance(1, 4).then(|| self.a.label());
                if let Some(out) = out {
                    self.a.push_to(Insn::MayGoto { off: 0 }, out);
                }
                let inner = Scope { counters: s.counters | (1 << c), depth: s.depth + 1, ..s };
                let n = self.b.below(8) + 1;
                self.block(inner, n);
                self.a.push(Insn::Alu { op: AluOp::Sub, width: Width::W64, dst: reg(c), src: Operand::Imm(1) });
                let dst = reg(c);
                self.a
                    .push_to(Insn::Jump { cond: Cond::Ne, width: Width::W64, dst, src: Operand::Imm(0), off: 0 }, top);
                if let Some(out) = out {
                    self.a.bind(out);
                }
            }
            82..=87 => {
                // Helper call; r2 may point at the stack for `peek` (then cleared).
                let id = if self.b.chance(1, 60) { 77 } else { self.b.pick(&[1, 2, 3, 5]) };
                if self.b.chance(1, 2) {
                    let v = self.operand(s);
                    self.a.push(Insn::Alu { op: AluOp::Mov, width: Width::W64, dst: reg(2), src: v });
                }
                let stack_arg = id == 3 && self.b.chance(7, 8);
                if stack_arg {
                    let off = -(self.b.below(64) as i32 * 8) - 8;
                    self.a.push(Insn::Alu {
                        op: AluOp::Mov,
                        width: Width::W64,
                        dst: reg(2),
                        src: Operand::Reg(Reg::R10),
                    });
                    self.a.push(Insn::Alu { op: AluOp::Add, width: Width::W64, dst: reg(2), src: Operand::Imm(off) });
                }
                self.a.push(Insn::Call(CallTarget::Helper(id)));
                if stack_arg {
                    self.a.push(Insn::Alu { op: AluOp::Mov, width: Width::W64, dst: reg(2), src: Operand::Imm(0) });
                }
            }
            88..=93 if s.func + 1 < self.funcs.len() => {
                let f = s.func + 1 + self.b.below((self.funcs.len() - s.func - 1) as u32) as usize;
                let l = self.funcs[f];
                if self.b.chance(1, 3) {
                    let r = self.general(s);
                    self.a.push_to(Insn::LoadImm64 { dst: r, imm: Imm64::Func(0) }, l);
                    self.a.push(Insn::CallX { reg: r });
                } else {
                    self.a.push_to(Insn::Call(CallTarget::Local(0)), l);
                }
            }
            94..=95 => {
                let r = self.general(s);
                let id = if self.b.chance(1, 20) { 77 } else { self.b.pick(&[1i32, 2, 5]) };
                self.a.push(Insn::Alu { op: AluOp::Mov, width: Width::W64, dst: r, src: Operand::Imm(id) });
                self.a.push(Insn::CallX { reg: r });
            }
            96..=97 => {
                let size = self.b.pick(&[Size::B, Size::H, Size::W]);
                let mode = if self.b.chance(1, 2) { PacketMode::Abs } else { PacketMode::Ind(self.general(s)) };
                let imm = self.b.below(PACKET as u32 + 8) as i32;
                self.a.push(Insn::LoadPacket { size, mode, imm });
            }
            98 if s.depth > 0 => self.a.push(Insn::Exit),
            _ => {
                let dst = self.general(s);
                let src = self.operand(s);
                self.a.push(Insn::Alu { op: AluOp::Mov, width: Width::W64, dst, src });
            }
        }
    }
}

fn structured(bytes: &[u8]) -> Case {
    let mut b = Bytes { d: bytes, i: 0 };
    let packet: Vec<u8> = (0..PACKET).map(|_| b.u8()).collect();
    let max_insns = if b.chance(1, 4) { b.below(400) as u64 + 1 } else { 200_000 };
    let nfuncs = b.below(3) as usize + 1;
    let mut g = Gen { b, a: Asm::default(), funcs: Vec::new(), left: 160 };
    g.funcs = (0..nfuncs).map(|_| g.a.label()).collect();
    for f in 0..nfuncs {
        let l = g.funcs[f];
        g.a.bind(l);
        if g.b.chance(1, 2) {
            g.a.push(Insn::Alu { op: AluOp::Mov, width: Width::W64, dst: Reg::R0, src: Operand::Imm(0) });
        }
        // The stack-pointer register starts in the middle of this frame.
        g.a.push(Insn::Alu { op: AluOp::Mov, width: Width::W64, dst: reg(STACK_PTR), src: Operand::Reg(Reg::R10) });
        g.a.push(Insn::Alu { op: AluOp::Add, width: Width::W64, dst: reg(STACK_PTR), src: Operand::Imm(-256) });
        let n = g.b.below(30) + 4;
        g.block(Scope { func: f, counters: 0, depth: 0 }, n);
        g.a.push(Insn::Exit);
    }
    Case { insns: g.a.finish(), packet, max_insns, raw: false }
}

fn raw(bytes: &[u8]) -> Option<Case> {
    let (head, code) = bytes.split_at(bytes.len().min(PACKET));
    let mut packet = head.to_vec();
    packet.resize(PACKET, 0);
    let code = &code[..code.len() / 8 * 8];
    let insns = bpfbox_isa::decode_program(code).ok()?;
    // Programs that compute with r10 (or overwrite it) see different stack addresses
    // on the two engines; keep the ones that use it only as a base.
    let reads_r10 = |o: Operand| o == Operand::Reg(Reg::R10);
    let leaky = insns.iter().any(|i| match *i {
        Insn::Alu { dst, src, .. } => dst == Reg::R10 || reads_r10(src),
        Insn::Neg { dst, .. } | Insn::Endian { dst, .. } => dst == Reg::R10,
        Insn::MovSx { dst, src, .. } => dst == Reg::R10 || src == Reg::R10,
        Insn::Load { dst, .. } | Insn::LoadImm64 { dst, .. } => dst == Reg::R10,
        Insn::Store { src, .. } => reads_r10(src),
        Insn::Atomic { src, .. } => src == Reg::R10,
        Insn::Jump { dst, src, .. } => dst == Reg::R10 || reads_r10(src),
        Insn::LoadPacket { mode: PacketMode::Ind(r), .. } => r == Reg::R10,
        Insn::CallX { reg } => reg == Reg::R10,
        Insn::LoadAcquire { dst, .. } => dst == Reg::R10,
        Insn::StoreRelease { src, .. } => src == Reg::R10,
        Insn::AddrSpaceCast { dst, src, .. } => dst == Reg::R10 || src == Reg::R10,
        _ => false,
    });
    (!leaky).then_some(Case { insns, packet, max_insns: 20_000, raw: true })
}

/// The case the input describes (`None`: the raw bytes are no usable program).
pub fn generate(bytes: &[u8]) -> Option<Case> {
    match bytes.split_first() {
        Some((m, rest)) if m & 1 == 1 => raw(rest),
        Some((_, rest)) => Some(structured(rest)),
        None => Some(structured(&[])),
    }
}

type Run = (Result<RunOutcome, VmError>, Vec<u8>, u64);
/// One engine's run over the given arguments, regions and environment.
type Runner<'a> = &'a dyn Fn([u64; 5], &[Region<'_>], &mut u64) -> Result<RunOutcome, VmError>;

/// Errors with the address masked when it is not near the packet (stack addresses
/// differ between engines).
fn norm(r: &Result<RunOutcome, VmError>, pkt: u64) -> Result<RunOutcome, VmError> {
    match r {
        Err(VmError::OutOfBounds { pc, addr, size, write }) if addr.wrapping_sub(pkt).wrapping_add(4096) > 8192 => {
            Err(VmError::OutOfBounds { pc: *pc, addr: 0, size: *size, write: *write })
        }
        Err(VmError::ReadOnly { pc, addr, size }) if addr.wrapping_sub(pkt).wrapping_add(4096) > 8192 => {
            Err(VmError::ReadOnly { pc: *pc, addr: 0, size: *size })
        }
        other => other.clone(),
    }
}

/// Run `case` on the interpreter and on the JIT; `Err` describes a difference.
pub fn check(case: &Case) -> Result<(), String> {
    let table = helpers();
    let vo = VmOptions { max_insns: case.max_insns, helpers: table.clone(), ..Default::default() };
    let vm = match Vm::new(case.insns.clone(), vo) {
        Ok(v) => v,
        Err(e) => {
            return match JitProgram::compile(&case.insns, &JitOptions::default()) {
                Err(crate::JitError::Program(j)) if j == e => Ok(()),
                other => Err(format!("interpreter refused ({e}), JIT: {other:?}")),
            };
        }
    };
    let jo = JitOptions { max_insns: case.max_insns, helpers: table, ..Default::default() };
    let jit = JitProgram::compile(&case.insns, &jo).map_err(|e| format!("JIT compile failed: {e}"))?;

    let mut buf = case.packet.clone();
    let pkt = buf.as_ptr() as u64;
    let mut go = |f: Runner<'_>| -> Run {
        buf.copy_from_slice(&case.packet);
        let r = Region::from_mut(RegionKind::Packet, &mut buf);
        let mut env = 0u64;
        let out = f([r.start(), r.len(), 0, 0, 0], &[r], &mut env);
        (norm(&out, pkt), buf.clone(), env)
    };
    let a = go(&|args, regions, env| vm.run_with(args, regions, env));
    let b = go(&|args, regions, env| jit.run_with(args, regions, env));
    if a != b {
        return Err(format!("interpreter {a:?}\n        jit {b:?}"));
    }
    // Structured programs that ran cleanly also run unchecked, counting or not.
    if a.0.is_ok() && !case.raw {
        for count_insns in [true, false] {
            let uo = JitOptions { checked: false, count_insns, ..jo.clone() };
            let un = JitProgram::compile(&case.insns, &uo).map_err(|e| format!("JIT compile failed: {e}"))?;
            // SAFETY: the checked run of this deterministic program on the same memory
            // succeeded, so every access it makes is in bounds.
            let c = go(&|args, regions, env| unsafe { un.run_with_unchecked(args, regions, env) });
            let want = match (&a.0, count_insns) {
                (Ok(o), false) => (Ok(RunOutcome { insns_executed: 0, ..*o }), a.1.clone()),
                _ => (a.0.clone(), a.1.clone()),
            };
            if (c.0.clone(), c.1.clone()) != want {
                return Err(format!("unchecked (count {count_insns}) {c:?}\n  expected {want:?}"));
            }
        }
    }
    Ok(())
}

/// Fuzz target: panics when the interpreter and the JIT disagree on the program
/// the bytes describe.
pub fn fuzz_differential(bytes: &[u8]) {
    if let Some(case) = generate(bytes) {
        if let Err(why) = check(&case) {
            panic!("interpreter and JIT disagree: {why}\nprogram: {:?}", case.insns);
        }
    }
}
