//! Memory accesses: promoted stack slots, bounds guards, raw and checked loads and
//! stores, atomics.

use super::*;

impl Fx<'_, '_> {
    /// The variable of the stack slot `base + off`, `size` bytes, if it is kept in one.
    pub(super) fn slot_var(&self, base: Reg, off: i16, size: Size) -> Option<Variable> {
        if base != Reg::R10 {
            return None;
        }
        self.slots.iter().find(|s| s.0 == off && s.1 == size).map(|s| s.2)
    }

    /// `map_lookup_elem` of a plain array in unchecked code, inline (the kernel's
    /// `array_map_gen_lookup`): r0 = element `*(u32 *)r2` if below `max_entries`,
    /// else NULL. Only when r1 is a constant naming one of
    /// [`crate::JitOptions::inline_arrays`]; false (nothing emitted) otherwise.
    pub(super) fn inline_array_lookup(&mut self) -> bool {
        if self.cfg.checked {
            return false;
        }
        let r1 = self.get(Reg::R1);
        let Some(handle) = self.const_of(r1) else { return false };
        let Some(a) = self.p.inline_arrays.iter().find(|a| a.handle == handle as u64).copied() else {
            return false;
        };
        self.flush_effect();
        let key_ptr = self.get(Reg::R2);
        // A key stored just before (`*(u32 *)(r10 - 4) = r6; r2 = r10; r2 += -4; ...`,
        // nothing but the call itself writing memory since): its value, not a reload
        // that waits for the store to forward.
        let key = match self.stack_store_before_call(key_ptr) {
            Some(v) => v,
            None => self.raw_load(key_ptr, 0, Size::W, false),
        };
        let ok = self.b.ins().icmp_imm_u(IntCC::UnsignedLessThan, key, a.max_entries as i64);
        let off = if a.stride.is_power_of_two() {
            self.b.ins().ishl_imm_u(key, a.stride.trailing_zeros() as i64)
        } else {
            self.b.ins().imul_imm_u(key, a.stride as i64)
        };
        let p = self.b.ins().iadd_imm_u(off, a.base as i64);
        // A branch, as the kernel's code has, not a select: the element's address does
        // not wait for the bounds check (the check is predicted), so its loads start
        // at once. An out-of-range key is the cold path.
        let (null, join) = (self.b.create_block(), self.b.create_block());
        self.b.set_cold_block(null);
        let r0 = self.b.append_block_param(join, I64);
        self.b.ins().brif(ok, join, &[BlockArg::Value(p)], null, &[]);
        self.enter(null);
        let z = self.iconst(0);
        self.b.ins().jump(join, &[BlockArg::Value(z)]);
        self.enter(join);
        self.set(Reg::R0, r0);
        true
    }

    /// The value of the 4-byte stack store `key_ptr` points at, if it was the last
    /// memory write before the call being emitted (whose own epoch step is the only
    /// one since).
    fn stack_store_before_call(&self, key_ptr: Value) -> Option<Value> {
        let (off, v, epoch) = self.last_stack_w?;
        if epoch + 1 != self.mem_epoch {
            return None;
        }
        let dfg = &self.b.func.dfg;
        let ValueDef::Result(inst, 0) = dfg.value_def(dfg.resolve_aliases(key_ptr)) else { return None };
        let InstructionData::Binary { opcode: Opcode::Iadd, args: [x, k] } = dfg.insts[inst] else { return None };
        let fp = dfg.resolve_aliases(self.fp);
        (dfg.resolve_aliases(x) == fp && self.const_of(k) == Some(off as i64)).then_some(v)
    }

    /// A converted load of `size` at context offset `off` that may read the shadow.
    fn direct_ctx_load(&self, off: i16, size: Size, signed: bool) -> bool {
        let n = self.ctx_direct_entry(off) & !bpfbox_vm::CTX_DIRECT_STORE;
        !signed && n != 0 && n as usize == size.bytes() as usize
    }

    /// The [`crate::JitOptions::ctx_direct`] entry of context offset `off` (0: none).
    fn ctx_direct_entry(&self, off: i16) -> u8 {
        match &self.p.ctx_direct {
            Some(table) if off >= 0 && off % 4 == 0 => table.get(off as usize / 4).copied().unwrap_or(0),
            _ => 0,
        }
    }

    /// `base + off .. + size` is in the current frame and r10 is never written: no check needed.
    pub(super) fn static_frame_access(&self, base: Reg, off: i16, size: Size) -> bool {
        base == Reg::R10 && !self.p.r10_written && off >= -(STACK_SIZE as i16) && off as i64 + size.bytes() as i64 <= 0
    }

    /// Branch to `fast` if `addr..addr+size` is inside the live stack or the cached
    /// region (`write`: the cached writable region), else to `slow`.
    /// With `budget`, also to `slow` when the budget runs out before this access (the
    /// slow path's adapter reports that).
    pub(super) fn guard(
        &mut self,
        addr: Value,
        size: Size,
        write: bool,
        budget: Option<(Value, usize)>,
        fast: Block,
        slow: Block,
    ) {
        // Both range checks without a branch between them: one block and one
        // (predictable) branch per access.
        let n = size.bytes() as i64;
        let off = self.b.ins().isub(addr, self.stack_lo);
        let lim = self.b.ins().iadd_imm_s(self.live_len, -n);
        let in_stack = self.b.ins().icmp(IntCC::UnsignedLessThanOrEqual, off, lim);
        let (so, lo) = if write {
            (offset_of!(JitCtx, wcache_start), offset_of!(JitCtx, wcache_lim8))
        } else {
            (offset_of!(JitCtx, rcache_start), offset_of!(JitCtx, rcache_lim8))
        };
        let cs = self.b.ins().load(I64, t(), self.ctx, so as i32);
        let cl = self.b.ins().load(I64, t(), self.ctx, lo as i32);
        let off = self.b.ins().isub(addr, cs);
        let lim = self.b.ins().iadd_imm_s(cl, 8 - n);
        let in_cache = self.b.ins().icmp(IntCC::UnsignedLessThanOrEqual, off, lim);
        let mut ok = self.b.ins().bor(in_stack, in_cache);
        if let Some((lim, idx)) = budget {
            let in_budget = self.b.ins().icmp_imm_u(IntCC::UnsignedGreaterThan, lim, idx as i64);
            ok = self.b.ins().band(ok, in_budget);
        }
        self.b.ins().brif(ok, fast, &[], slow, &[]);
    }

    /// `*(addr + off)`; the offset goes into the instruction's addressing mode.
    pub(super) fn raw_load(&mut self, addr: Value, off: i32, size: Size, signed: bool) -> Value {
        if (size, signed) == (Size::B, false) {
            let v = self.b.ins().uload8(I64, pm(), addr, off);
            if let ValueDef::Result(inst, _) = self.b.func.dfg.value_def(v) {
                self.load_epochs.insert(inst, self.mem_epoch);
            }
            return v;
        }
        let ins = self.b.ins();
        match (size, signed) {
            (Size::B, false) => unreachable!("made above"),
            (Size::H, false) => ins.uload16(I64, pm(), addr, off),
            (Size::W, false) => ins.uload32(pm(), addr, off),
            (Size::B, true) => ins.sload8(I64, pm(), addr, off),
            (Size::H, true) => ins.sload16(I64, pm(), addr, off),
            (Size::W, true) => ins.sload32(pm(), addr, off),
            (Size::DW, _) => ins.load(I64, pm(), addr, off),
        }
    }

    pub(super) fn raw_store(&mut self, addr: Value, off: i32, size: Size, v: Value) {
        let ins = self.b.ins();
        match size {
            Size::B => ins.istore8(pm(), v, addr, off),
            Size::H => ins.istore16(pm(), v, addr, off),
            Size::W => ins.istore32(pm(), v, addr, off),
            Size::DW => ins.store(pm(), v, addr, off),
        };
    }

    /// Load from `base_v + off` (`base` is the register holding `base_v`).
    pub(super) fn load(&mut self, pc: usize, base_v: Value, size: Size, signed: bool, base: Reg, off: i16) -> Value {
        if let Some(var) = self.slot_var(base, off, size) {
            self.flush_effect();
            let v = self.b.use_var(var);
            if !signed || size == Size::DW {
                return v;
            }
            let nt = match size {
                Size::B => types::I8,
                Size::H => types::I16,
                _ => I32,
            };
            let n = self.b.ins().ireduce(nt, v);
            return self.b.ins().sextend(I64, n);
        }
        if self.p.converted[pc] {
            // Unchecked code, ctx or kernel-pointer access: always the runtime's
            // translation (the region cache and frame bounds are not kept).
            self.flush_effect();
            let addr = self.b.ins().iadd_imm_s(base_v, off as i64);
            let join = self.b.create_block();
            let v = self.b.append_block_param(join, I64);
            if self.direct_ctx_load(off, size, signed) {
                // The run's context: its shadow slot, as the kernel's
                // convert_ctx_access compiles the field into a plain load.
                let c = self.b.ins().load(I64, t(), self.ctx, offset_of!(JitCtx, ctx_addr) as i32);
                let is_ctx = self.b.ins().icmp(IntCC::Equal, base_v, c);
                let (fast, slow) = (self.b.create_block(), self.b.create_block());
                self.b.ins().brif(is_ctx, fast, &[], slow, &[]);
                self.enter(fast);
                let x = self.b.ins().load(I64, pm(), base_v, 2 * off as i32);
                self.b.ins().jump(join, &[BlockArg::Value(x)]);
                self.enter(slow);
            }
            self.slow_load(pc, addr, size, signed, None, join);
            return v;
        }
        if !self.cfg.checked || self.static_frame_access(base, off, size) {
            self.flush_effect();
            return self.raw_load(base_v, off as i32, size, signed);
        }
        let budget = self.take_budget();
        let addr = self.b.ins().iadd_imm_s(base_v, off as i64);
        let fast = self.b.create_block();
        let slow = self.b.create_block();
        self.b.set_cold_block(slow);
        let join = self.b.create_block();
        let v = self.b.append_block_param(join, I64);
        self.guard(addr, size, false, budget, fast, slow);
        self.enter(fast);
        let x = self.raw_load(addr, 0, size, signed);
        self.b.ins().jump(join, &[BlockArg::Value(x)]);
        self.enter(slow);
        self.slow_load(pc, addr, size, signed, budget, join);
        v
    }

    /// A load through the runtime (`Shim::Load`): to `join` with the value, or to the
    /// error exit; emission continues in `join`.
    pub(super) fn slow_load(
        &mut self,
        pc: usize,
        addr: Value,
        size: Size,
        signed: bool,
        budget: Option<(Value, usize)>,
        join: Block,
    ) {
        let args = [
            self.ctx,
            addr,
            self.iconst(size.bytes() as i64),
            self.iconst(signed as i64),
            self.iconst(pc as i64),
            self.fp,
        ];
        let (x, st) = self.slow_call(Shim::Load, &args, budget);
        self.b.ins().brif(st, self.err_ret, &[], join, &[BlockArg::Value(x)]);
        self.enter(join);
    }

    /// Store to `base_v + off`.
    pub(super) fn store(&mut self, pc: usize, base_v: Value, size: Size, v: Value, base: Reg, off: i16) {
        if let Some(var) = self.slot_var(base, off, size) {
            self.flush_effect();
            // The slot holds what a load of its size gives back: the low bytes, zero-extended.
            let x = match size {
                Size::DW => v,
                Size::W => {
                    let n = self.lo32(v);
                    self.zext32(n)
                }
                _ => {
                    let n = self.b.ins().ireduce(if size == Size::B { types::I8 } else { types::I16 }, v);
                    self.b.ins().uextend(I64, n)
                }
            };
            self.b.def_var(var, x);
            return;
        }
        if self.p.converted[pc] {
            self.flush_effect();
            let addr = self.b.ins().iadd_imm_s(base_v, off as i64);
            let join = self.b.create_block();
            if size == Size::W && self.ctx_direct_entry(off) & bpfbox_vm::CTX_DIRECT_STORE != 0 {
                // A plain field of the run's context: its shadow slot's low half.
                let c = self.b.ins().load(I64, t(), self.ctx, offset_of!(JitCtx, ctx_addr) as i32);
                let is_ctx = self.b.ins().icmp(IntCC::Equal, base_v, c);
                let (fast, slow) = (self.b.create_block(), self.b.create_block());
                self.b.ins().brif(is_ctx, fast, &[], slow, &[]);
                self.enter(fast);
                self.raw_store(base_v, 2 * off as i32, Size::W, v);
                self.b.ins().jump(join, &[]);
                self.enter(slow);
            }
            let args = [self.ctx, addr, self.iconst(size.bytes() as i64), v, self.iconst(pc as i64), self.fp];
            let (_, st) = self.slow_call(Shim::Store, &args, None);
            self.b.ins().brif(st, self.err_ret, &[], join, &[]);
            self.enter(join);
            return;
        }
        if !self.cfg.checked || self.static_frame_access(base, off, size) {
            self.flush_effect();
            self.raw_store(base_v, off as i32, size, v);
            return;
        }
        let budget = self.take_budget();
        let addr = self.b.ins().iadd_imm_s(base_v, off as i64);
        let fast = self.b.create_block();
        let slow = self.b.create_block();
        self.b.set_cold_block(slow);
        let join = self.b.create_block();
        self.guard(addr, size, true, budget, fast, slow);
        self.enter(fast);
        self.raw_store(addr, 0, size, v);
        self.b.ins().jump(join, &[]);
        self.enter(slow);
        let args = [self.ctx, addr, self.iconst(size.bytes() as i64), v, self.iconst(pc as i64), self.fp];
        let (_, st) = self.slow_call(Shim::Store, &args, budget);
        self.b.ins().brif(st, self.err_ret, &[], join, &[]);
        self.enter(join);
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn atomic(&mut self, pc: usize, size: Size, op: AtomicOp, fetch: bool, dst: Reg, off: i16, src: Reg) {
        let base_v = self.get(dst);
        let addr = self.b.ins().iadd_imm_s(base_v, off as i64);
        let ptr = if !self.cfg.checked || self.static_frame_access(dst, off, size) {
            self.flush_effect();
            addr
        } else {
            let budget = self.take_budget();
            let fast = self.b.create_block();
            let slow = self.b.create_block();
            self.b.set_cold_block(slow);
            let join = self.b.create_block();
            let p = self.b.append_block_param(join, I64);
            self.guard(addr, size, true, budget, fast, slow);
            self.enter(fast);
            self.b.ins().jump(join, &[BlockArg::Value(addr)]);
            self.enter(slow);
            let args = [self.ctx, addr, self.iconst(size.bytes() as i64), self.iconst(pc as i64), self.fp];
            let (x, st) = self.slow_call(Shim::Atomic, &args, budget);
            self.b.ins().brif(st, self.err_ret, &[], join, &[BlockArg::Value(x)]);
            self.enter(join);
            p
        };
        let ty = if size == Size::DW { I64 } else { I32 };
        let s = self.get(src);
        let s = if ty == I32 { self.b.ins().ireduce(I32, s) } else { s };
        let r0 = self.get(Reg::R0);
        let expected = if ty == I32 {
            // The upper half cleared first: AArch64's compare-and-swap loop (without LSE)
            // compares all 64 bits of the register holding the 32-bit expected value
            // (Cranelift 0.135; found by tests/cross.rs).
            let low = self.b.ins().band_imm_u(r0, 0xffff_ffff);
            self.b.ins().ireduce(I32, low)
        } else {
            r0
        };

        // Naturally aligned: a real atomic instruction; otherwise (the interpreter
        // allows it) a plain read-modify-write, which is what the interpreter does.
        let aligned = self.b.create_block();
        let plain = self.b.create_block();
        self.b.set_cold_block(plain);
        let join = self.b.create_block();
        let old = self.b.append_block_param(join, ty);
        let mis = self.b.ins().band_imm_s(ptr, size.bytes() as i64 - 1);
        self.b.ins().brif(mis, plain, &[], aligned, &[]);

        self.enter(aligned);
        let o = match op {
            AtomicOp::CmpXchg => self.b.ins().atomic_cas(t(), ptr, expected, s),
            _ => {
                let rmw = match op {
                    AtomicOp::Add => AtomicRmwOp::Add,
                    AtomicOp::Or => AtomicRmwOp::Or,
                    AtomicOp::And => AtomicRmwOp::And,
                    AtomicOp::Xor => AtomicRmwOp::Xor,
                    _ => AtomicRmwOp::Xchg,
                };
                self.b.ins().atomic_rmw(ty, t(), rmw, ptr, s)
            }
        };
        self.b.ins().jump(join, &[BlockArg::Value(o)]);

        self.enter(plain);
        let o = self.b.ins().load(ty, pm(), ptr, 0);
        let new = match op {
            AtomicOp::Add => self.b.ins().iadd(o, s),
            AtomicOp::Or => self.b.ins().bor(o, s),
            AtomicOp::And => self.b.ins().band(o, s),
            AtomicOp::Xor => self.b.ins().bxor(o, s),
            AtomicOp::Xchg => s,
            AtomicOp::CmpXchg => {
                let eq = self.b.ins().icmp(IntCC::Equal, o, expected);
                self.b.ins().select(eq, s, o)
            }
        };
        self.b.ins().store(pm(), new, ptr, 0);
        self.b.ins().jump(join, &[BlockArg::Value(o)]);

        self.enter(join);
        let old64 = if ty == I32 { self.b.ins().uextend(I64, old) } else { old };
        match op {
            AtomicOp::CmpXchg => self.set(Reg::R0, old64),
            _ if fetch => self.set(src, old64),
            _ => {}
        }
    }
}
