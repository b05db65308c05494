//! Building instruction sequences: labels, the stack frame, loading values into registers.

use crate::diag::{Diagnostic, Span, Stage};
use bpfbox_isa::{AluOp, CallTarget, Cond, Imm64, Insn, Operand, Reg, Size, Width};

/// The BPF stack's size.
pub const STACK_SIZE: i32 = 512;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Label(usize);

/// An instruction list under construction.
#[derive(Debug, Default)]
pub struct Emitter {
    pub insns: Vec<Insn>,
    labels: Vec<Option<usize>>,
    /// (instruction index, label) of jumps to patch.
    fixups: Vec<(usize, Label)>,
    /// Bytes of stack in use (the frame grows down from r10).
    pub sp: i32,
    pub max_sp: i32,
}

pub fn r(n: u8) -> Reg {
    Reg::new(n).expect("register number below 11")
}

impl Emitter {
    pub fn emit(&mut self, i: Insn) {
        self.insns.push(i);
        if matches!(i, Insn::LoadImm64 { .. }) {
            self.insns.push(Insn::LoadImm64Tail);
        }
    }
    pub fn label(&mut self) -> Label {
        self.labels.push(None);
        Label(self.labels.len() - 1)
    }
    pub fn bind(&mut self, l: Label) {
        self.labels[l.0] = Some(self.insns.len());
    }
    pub fn jump(&mut self, l: Label) {
        self.fixups.push((self.insns.len(), l));
        self.emit(Insn::Ja { off: 0, wide: false });
    }
    /// `if dst cond src goto l`.
    pub fn jump_if(&mut self, cond: Cond, dst: Reg, src: Operand, l: Label) {
        self.fixups.push((self.insns.len(), l));
        self.emit(Insn::Jump { cond, width: Width::W64, dst, src, off: 0 });
    }
    /// Patch jump offsets; every label must be bound.
    pub fn finish(&mut self) -> Result<(), String> {
        for &(at, l) in &self.fixups {
            let target = self.labels[l.0].ok_or("a jump to an unbound label")?;
            let off = target as i64 - at as i64 - 1;
            let off16 = i16::try_from(off).map_err(|_| format!("a jump of {off} instructions is too far"))?;
            match &mut self.insns[at] {
                Insn::Ja { off: o, .. } => *o = off16 as i32,
                Insn::Jump { off: o, .. } => *o = off16,
                _ => return Err("a fixup on a non-jump".into()),
            }
        }
        Ok(())
    }

    /// Drop instructions no path reaches (code after `return`, `exit()`, `break`, or the
    /// jump over an `else` that a `continue` made dead): the kernel refuses unreachable
    /// instructions. Call after [`Emitter::finish`]; returns old index → new index.
    pub fn prune_dead(&mut self) -> Vec<Option<usize>> {
        let n = self.insns.len();
        let mut live = vec![false; n];
        let mut work = vec![0usize];
        while let Some(i) = work.pop() {
            if i >= n || live[i] {
                continue;
            }
            live[i] = true;
            let next = i + self.insns[i].slots();
            match self.insns[i] {
                Insn::LoadImm64 { .. } => {
                    if next - 1 < n {
                        live[next - 1] = true;
                    }
                    work.push(next);
                }
                Insn::Ja { off, .. } => work.push((i as i64 + 1 + off as i64) as usize),
                Insn::Jump { off, .. } => {
                    work.push(next);
                    work.push((i as i64 + 1 + off as i64) as usize);
                }
                Insn::Exit => {}
                _ => work.push(next),
            }
        }
        let mut map = vec![None; n];
        let mut k = 0;
        for i in 0..n {
            if live[i] {
                map[i] = Some(k);
                k += 1;
            }
        }
        let old = std::mem::take(&mut self.insns);
        for (i, insn) in old.iter().enumerate() {
            if !live[i] {
                continue;
            }
            let mut insn = *insn;
            let target =
                |off: i64| map[(i as i64 + 1 + off) as usize].unwrap_or(0) as i64 - map[i].unwrap_or(0) as i64 - 1;
            match &mut insn {
                Insn::Ja { off, .. } => *off = target(*off as i64) as i32,
                Insn::Jump { off, .. } => *off = target(*off as i64) as i16,
                _ => {}
            }
            self.insns.push(insn);
        }
        map
    }

    /// Allocate `size` bytes (rounded up to 8) of stack; the offset from r10.
    pub fn alloc(&mut self, size: u32, span: Span) -> Result<i16, Diagnostic> {
        let size = size.div_ceil(8) as i32 * 8;
        if self.sp + size > STACK_SIZE {
            return Err(Diagnostic::new(
                Stage::Codegen,
                span,
                format!("this probe needs more than {STACK_SIZE} bytes of BPF stack (strings, tuples and printf arguments live there)"),
            ));
        }
        self.sp += size;
        self.max_sp = self.max_sp.max(self.sp);
        Ok(-self.sp as i16)
    }
    /// Zero `size` bytes at `off` (a multiple of 8).
    pub fn zero(&mut self, off: i16, size: u32) {
        for k in 0..size.div_ceil(8) as i16 {
            self.emit(Insn::Store { size: Size::DW, dst: r(10), off: off + 8 * k, src: Operand::Imm(0) });
        }
    }
    pub fn mov_imm(&mut self, dst: Reg, v: i64) {
        if let Ok(v32) = i32::try_from(v) {
            self.emit(Insn::Alu { op: AluOp::Mov, width: Width::W64, dst, src: Operand::Imm(v32) });
        } else {
            self.emit(Insn::LoadImm64 { dst, imm: Imm64::Value(v as u64) });
        }
    }
    pub fn mov(&mut self, dst: Reg, src: Reg) {
        self.emit(Insn::Alu { op: AluOp::Mov, width: Width::W64, dst, src: Operand::Reg(src) });
    }
    pub fn alu(&mut self, op: AluOp, dst: Reg, src: Operand) {
        self.emit(Insn::Alu { op, width: Width::W64, dst, src });
    }
    pub fn ldx(&mut self, size: Size, dst: Reg, src: Reg, off: i16) {
        self.emit(Insn::Load { size, dst, src, off, sign_extend: false });
    }
    pub fn stx(&mut self, size: Size, dst: Reg, off: i16, src: Reg) {
        self.emit(Insn::Store { size, dst, off, src: Operand::Reg(src) });
    }
    pub fn st_imm(&mut self, size: Size, dst: Reg, off: i16, v: i32) {
        self.emit(Insn::Store { size, dst, off, src: Operand::Imm(v) });
    }
    pub fn call(&mut self, helper: i32) {
        self.emit(Insn::Call(CallTarget::Helper(helper)));
    }
    pub fn ld_map(&mut self, dst: Reg, idx: usize) {
        self.emit(Insn::LoadImm64 { dst, imm: Imm64::MapIdx(idx as i32) });
    }
    /// `dst = r10 + off`.
    pub fn stack_ptr(&mut self, dst: Reg, off: i16) {
        self.mov(dst, r(10));
        self.alu(AluOp::Add, dst, Operand::Imm(off as i32));
    }
    /// `bpf_probe_read_{user,kernel}[_str](r10 + dst, size, r3)`: the source address must
    /// already be in r3.
    pub fn probe_read(&mut self, dst: i16, size: u32, user: bool, string: bool) {
        self.stack_ptr(r(1), dst);
        self.mov_imm(r(2), size as i64);
        self.call(match (user, string) {
            (true, false) => helper::PROBE_READ_USER,
            (false, false) => helper::PROBE_READ_KERNEL,
            (true, true) => helper::PROBE_READ_USER_STR,
            (false, true) => helper::PROBE_READ_KERNEL_STR,
        });
    }

    /// Copy `size` bytes (multiple of 8) from `src + soff` to `dst + doff` through r0... no:
    /// through `tmp`.
    pub fn copy(&mut self, dst: Reg, doff: i16, src: Reg, soff: i16, size: u32, tmp: Reg) {
        for k in 0..size.div_ceil(8) as i16 {
            self.ldx(Size::DW, tmp, src, soff + 8 * k);
            self.stx(Size::DW, dst, doff + 8 * k, tmp);
        }
    }
}

/// Helper ids the generated code calls.
pub mod helper {
    pub const MAP_LOOKUP_ELEM: i32 = 1;
    pub const MAP_UPDATE_ELEM: i32 = 2;
    pub const MAP_DELETE_ELEM: i32 = 3;
    pub const KTIME_GET_NS: i32 = 5;
    pub const GET_PRANDOM_U32: i32 = 7;
    pub const GET_SMP_PROCESSOR_ID: i32 = 8;
    pub const GET_CURRENT_PID_TGID: i32 = 14;
    pub const GET_CURRENT_UID_GID: i32 = 15;
    pub const GET_CURRENT_COMM: i32 = 16;
    pub const GET_STACKID: i32 = 27;
    pub const GET_CURRENT_TASK: i32 = 35;
    pub const GET_CURRENT_CGROUP_ID: i32 = 80;
    pub const SEND_SIGNAL: i32 = 109;
    pub const PROBE_READ_USER: i32 = 112;
    pub const PROBE_READ_KERNEL: i32 = 113;
    pub const PROBE_READ_USER_STR: i32 = 114;
    pub const PROBE_READ_KERNEL_STR: i32 = 115;
    pub const RINGBUF_OUTPUT: i32 = 130;
}
