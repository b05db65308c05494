//! Code for the instructions Linux added after RFC 9669: `may_goto`,
//! load-acquire/store-release and `addr_space_cast`.

use super::{Fx, I64};
use bpfbox_isa::{Reg, Size, MAY_GOTO_BUDGET};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::InstBuilder;
use cranelift_frontend::Variable;

impl Fx<'_, '_> {
    /// The `may_goto` budget of this function's invocation (every eBPF function is a
    /// native function, so each call starts with a full one, as in the kernel, whose
    /// prologue of each subprogram sets its hidden stack slot).
    pub(super) fn declare_loops(&mut self) -> Variable {
        let v = self.b.declare_var(I64);
        let full = self.b.ins().iconst(I64, MAY_GOTO_BUDGET as i64);
        self.b.def_var(v, full);
        v
    }

    /// `may_goto`: to `taken` when the budget is spent, else one less and on to `fall`.
    pub(super) fn may_goto(&mut self, taken: usize, fall: usize) {
        let loops = self.loops;
        let n = self.b.use_var(loops);
        let left = self.b.ins().icmp_imm_u(IntCC::NotEqual, n, 0);
        let dec = self.b.ins().uextend(I64, left);
        let n2 = self.b.ins().isub(n, dec);
        self.b.def_var(loops, n2);
        let (tb, fb) = (self.block_of(taken), self.block_of(fall));
        self.b.ins().brif(left, fb, &[], tb, &[]);
    }

    /// `dst = load_acquire((size *)(src + off))`: the checked or unchecked load,
    /// then a fence (later accesses stay after it).
    pub(super) fn load_acquire(&mut self, pc: usize, size: Size, dst: Reg, src: Reg, off: i16) {
        let base_v = self.get(src);
        let v = self.load(pc, base_v, size, false, src, off);
        self.b.ins().fence();
        // No byte fold may join this load with later ones.
        self.mem_epoch += 1;
        self.set(dst, v);
    }

    /// `store_release((size *)(dst + off), src)`: a fence (earlier accesses stay
    /// before it), then the store.
    pub(super) fn store_release(&mut self, pc: usize, size: Size, dst: Reg, off: i16, src: Reg) {
        let base_v = self.get(dst);
        let v = self.get(src);
        self.b.ins().fence();
        self.store(pc, base_v, size, v, dst, off);
    }

    /// `addr_space_cast` without an arena: both directions keep the low 32 bits, as
    /// the interpreter does.
    pub(super) fn addr_space_cast(&mut self, dst: Reg, src: Reg) {
        let v = self.get(src);
        let lo = self.lo32(v);
        let z = self.zext32(lo);
        self.set(dst, z);
    }
}
