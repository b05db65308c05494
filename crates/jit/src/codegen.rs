//! eBPF → Cranelift IR.
//!
//! Every eBPF function (see `analysis.rs`) becomes one native function
//! `fn(ctx, fp, r1, r2, r3, r4, r5) -> (r0, status)`; registers are Cranelift
//! variables, so the register allocator keeps them in machine registers. `status` is
//! [`ST_RETURN`], [`ST_EXIT`] (the whole program stops with r0: a helper's `Exit`, a
//! failed legacy packet load) or [`ST_ERROR`] (the error is in the run context);
//! callers pass anything but `ST_RETURN` straight up. A small entry trampoline
//! `fn(ctx)` reads r1..r5 from the context, calls the main function and stores r0
//! and the status back.
//!
//! Instruction counting is per basic block: on entry, `count + len > max` sends the
//! block to a cold copy of itself that checks the budget before each instruction,
//! so a budget error names the same pc and count as the interpreter's. Checked mode
//! guards each load, store and atomic with two inline range checks (the live stack
//! frames, then the region that served the last slow-path access) and calls into
//! the runtime (`runtime.rs`) when both miss.

use crate::analysis::{FuncInfo, Prog, RegSet, ARGS, R0};
use crate::runtime::{self, JitCtx};
use crate::JitError;
use bpfbox_isa::{AluOp, AtomicOp, CallTarget, Cond, Endian, Insn, Operand, PacketMode, Reg, Size, Width};
use bpfbox_vm::{HelperEntry, HelperTable, FUNC_ADDR_TAG, MAX_CALL_FRAMES, STACK_SIZE};
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    types, AbiParam, AtomicRmwOp, Block, BlockArg, FuncRef, InstBuilder, MemFlagsData, SigRef, Signature, Type,
    UserFuncName, Value,
};
use cranelift_codegen::isa::{CallConv, OwnedTargetIsa};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Switch, Variable};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{default_libcall_names, FuncId, Linkage, Module};
use std::mem::offset_of;
use std::sync::OnceLock;

pub(crate) const ST_RETURN: i64 = 0;
pub(crate) const ST_EXIT: i64 = 1;
pub(crate) const ST_ERROR: i64 = 2;

/// Codes of `runtime::shim_fail`.
pub(crate) const FAIL_BUDGET: i64 = 0;
pub(crate) const FAIL_DEPTH: i64 = 1;
pub(crate) const FAIL_BAD_CALL: i64 = 2;
pub(crate) const FAIL_FELL_OFF: i64 = 3;
pub(crate) const FAIL_LDDW_TAIL: i64 = 4;
pub(crate) const FAIL_UNRESOLVED: i64 = 5;
pub(crate) const FAIL_KFUNC: i64 = 6;
pub(crate) const FAIL_UNKNOWN_HELPER: i64 = 7;

const I64: Type = types::I64;
const I32: Type = types::I32;

/// The host ISA, built once per process.
fn host_isa() -> Result<OwnedTargetIsa, JitError> {
    static ISA: OnceLock<Result<OwnedTargetIsa, String>> = OnceLock::new();
    ISA.get_or_init(|| {
        let mut flags = settings::builder();
        let set = |f: &mut settings::Builder, k: &str, v: &str| f.set(k, v).map_err(|e| format!("{k}={v}: {e}"));
        set(&mut flags, "opt_level", "speed")?;
        set(&mut flags, "is_pic", "false")?;
        set(&mut flags, "use_colocated_libcalls", "false")?;
        // The IR verifier is a debugging aid: on in debug builds (tests), off in release.
        set(&mut flags, "enable_verifier", if cfg!(debug_assertions) { "true" } else { "false" })?;
        let isa = cranelift_native::builder().map_err(|e| format!("host not supported: {e}"))?;
        isa.finish(settings::Flags::new(flags)).map_err(|e| e.to_string())
    })
    .clone()
    .map_err(JitError::Isa)
}

/// What `compile` produced.
pub(crate) struct Compiled {
    pub module: JITModule,
    pub entry: unsafe extern "C" fn(*mut JitCtx),
    pub helpers: Vec<HelperEntry>,
    pub code_size: usize,
}

/// Options of one translation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cfg {
    pub checked: bool,
    pub count: bool,
}

#[derive(Clone, Copy)]
enum Shim {
    Load,
    Store,
    Atomic,
    Helper,
    CallxHelper,
    LdPacket,
    Fail,
}

impl Shim {
    const N: usize = 7;
    fn addr(self) -> usize {
        match self {
            Shim::Load => runtime::shim_load as *const () as usize,
            Shim::Store => runtime::shim_store as *const () as usize,
            Shim::Atomic => runtime::shim_atomic as *const () as usize,
            Shim::Helper => runtime::shim_helper as *const () as usize,
            Shim::CallxHelper => runtime::shim_callx_helper as *const () as usize,
            Shim::LdPacket => runtime::shim_ld_packet as *const () as usize,
            Shim::Fail => runtime::shim_fail as *const () as usize,
        }
    }
    /// (parameter count, returns two values)
    fn shape(self) -> (usize, bool) {
        match self {
            Shim::Load | Shim::Store => (6, true),
            Shim::Atomic => (5, true),
            Shim::Helper | Shim::CallxHelper => (9, true),
            Shim::LdPacket => (3, true),
            Shim::Fail => (4, false),
        }
    }
}

fn sig(cc: CallConv, params: usize, returns: usize) -> Signature {
    let mut s = Signature::new(cc);
    s.params.extend(std::iter::repeat_n(AbiParam::new(I64), params));
    s.returns.extend(std::iter::repeat_n(AbiParam::new(I64), returns));
    s
}

/// Translate `prog` (analyzed into `funcs`) into native code.
pub(crate) fn compile(prog: &Prog<'_>, funcs: &[FuncInfo], helpers: &HelperTable, cfg: Cfg) -> Result<Compiled, JitError> {
    let isa = host_isa()?;
    let cc = isa.default_call_conv();
    let mut module = JITModule::new(JITBuilder::with_isa(isa, default_libcall_names()));
    let cg = |e: cranelift_module::ModuleError| JitError::Codegen(format!("{e:?}"));

    let tcfg = module.target_config();
    let fsig = sig(cc, 7, 2);
    let mut ids = Vec::with_capacity(funcs.len());
    for (i, _) in funcs.iter().enumerate() {
        ids.push(module.declare_function(&format!("f{i}"), Linkage::Local, &fsig).map_err(cg)?);
    }
    let entry_sig = sig(cc, 1, 0);
    let entry_id = module.declare_function("entry", Linkage::Local, &entry_sig).map_err(cg)?;

    // Helpers called by id, resolved now (like the interpreter's `CallHelper`).
    let mut used: Vec<HelperEntry> = Vec::new();
    let mut helper_slot = vec![None; prog.insns.len()];
    for (pc, insn) in prog.insns.iter().enumerate() {
        if let Insn::Call(CallTarget::Helper(id)) = *insn {
            if let Some(e) = helpers.get(id as u32) {
                let idx = used.iter().position(|u| u.proto.id == e.proto.id).unwrap_or_else(|| {
                    used.push(*e);
                    used.len() - 1
                });
                helper_slot[pc] = Some(idx as u32);
            }
        }
    }

    let mut ctx = module.make_context();
    let mut fctx = FunctionBuilderContext::new();
    let mut code_size = 0;
    for (i, f) in funcs.iter().enumerate() {
        ctx.func.signature = fsig.clone();
        ctx.func.name = UserFuncName::user(0, ids[i].as_u32());
        {
            let b = FunctionBuilder::new(&mut ctx.func, &mut fctx);
            let mut fx = Fx::new(b, prog, f, funcs, &ids, &mut module, &helper_slot, cfg, cc);
            fx.build();
            fx.b.seal_all_blocks();
            fx.b.finalize(tcfg);
        }
        module.define_function(ids[i], &mut ctx).map_err(|e| JitError::Codegen(format!("function at {}: {e:?}", f.entry)))?;
        code_size += ctx.compiled_code().map_or(0, |c| c.code_buffer().len());
        module.clear_context(&mut ctx);
    }

    // Entry trampoline: args from the context, call main, results back.
    ctx.func.signature = entry_sig;
    ctx.func.name = UserFuncName::user(0, entry_id.as_u32());
    {
        let mut b = FunctionBuilder::new(&mut ctx.func, &mut fctx);
        let blk = b.create_block();
        b.switch_to_block(blk);
        b.append_block_params_for_function_params(blk);
        let c = b.block_params(blk)[0];
        let t = MemFlagsData::trusted();
        let mut args = vec![c, b.ins().load(I64, t, c, offset_of!(JitCtx, stack_top) as i32)];
        for k in 0..5 {
            args.push(b.ins().load(I64, t, c, (offset_of!(JitCtx, args) + 8 * k) as i32));
        }
        let main = module.declare_func_in_func(ids[0], b.func);
        let call = b.ins().call(main, &args);
        let (r0, st) = (b.inst_results(call)[0], b.inst_results(call)[1]);
        b.ins().store(t, r0, c, offset_of!(JitCtx, ret_r0) as i32);
        b.ins().store(t, st, c, offset_of!(JitCtx, ret_status) as i32);
        b.ins().return_(&[]);
        b.seal_all_blocks();
        b.finalize(tcfg);
    }
    module.define_function(entry_id, &mut ctx).map_err(cg)?;
    code_size += ctx.compiled_code().map_or(0, |c| c.code_buffer().len());
    module.clear_context(&mut ctx);

    module.finalize_definitions().map_err(cg)?;
    let p = module.get_finalized_function(entry_id);
    // SAFETY: `entry` was defined with the signature `fn(i64)` in the host's default
    // calling convention, which is `extern "C"`.
    let entry = unsafe { std::mem::transmute::<*const u8, unsafe extern "C" fn(*mut JitCtx)>(p) };
    Ok(Compiled { module, entry, helpers: used, code_size })
}

/// Translation state of one function.
struct Fx<'a, 'p> {
    b: FunctionBuilder<'a>,
    p: &'p Prog<'p>,
    f: &'p FuncInfo,
    funcs: &'p [FuncInfo],
    ids: &'p [FuncId],
    module: &'p mut JITModule,
    helper_slot: &'p [Option<u32>],
    cfg: Cfg,
    cc: CallConv,
    regs: [Variable; 11],
    cnt: Variable,
    ctx: Value,
    fp: Value,
    max: Value,
    stack_lo: Value,
    live_len: Value,
    /// Cranelift block of each leader slot.
    blocks: Vec<Option<Block>>,
    err_ret: Block,
    prop_ret: Block,
    shims: [Option<SigRef>; Shim::N],
    frefs: Vec<Option<FuncRef>>,
}

fn t() -> MemFlagsData {
    MemFlagsData::trusted()
}

/// Flags of program memory accesses (may be unaligned; never trap when the program
/// is correct or the access was checked).
fn pm() -> MemFlagsData {
    MemFlagsData::new().with_notrap()
}

impl<'a, 'p> Fx<'a, 'p> {
    #[allow(clippy::too_many_arguments)]
    fn new(
        mut b: FunctionBuilder<'a>,
        p: &'p Prog<'p>,
        f: &'p FuncInfo,
        funcs: &'p [FuncInfo],
        ids: &'p [FuncId],
        module: &'p mut JITModule,
        helper_slot: &'p [Option<u32>],
        cfg: Cfg,
        cc: CallConv,
    ) -> Self {
        let regs: [Variable; 11] = std::array::from_fn(|_| b.declare_var(I64));
        let cnt = b.declare_var(I64);
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        let params = b.block_params(entry).to_vec();
        let (ctx, fp) = (params[0], params[1]);
        let mut blocks = vec![None; p.insns.len() + 1];
        for blk in &f.blocks {
            blocks[blk.pcs[0]] = Some(b.create_block());
        }
        let err_ret = b.create_block();
        b.set_cold_block(err_ret);
        let prop_ret = b.create_block();
        b.set_cold_block(prop_ret);
        let zero = b.ins().iconst(I64, 0);
        let max = if cfg.count { b.ins().load(I64, t(), ctx, offset_of!(JitCtx, max) as i32) } else { zero };
        let (stack_lo, live_len) = if cfg.checked {
            let top = b.ins().load(I64, t(), ctx, offset_of!(JitCtx, stack_top) as i32);
            let lo = b.ins().iadd_imm_s(fp, -(STACK_SIZE as i64));
            (lo, b.ins().isub(top, lo))
        } else {
            (zero, zero)
        };
        let mut fx = Fx {
            b,
            p,
            f,
            funcs,
            ids,
            module,
            helper_slot,
            cfg,
            cc,
            regs,
            cnt,
            ctx,
            fp,
            max,
            stack_lo,
            live_len,
            blocks,
            err_ret,
            prop_ret,
            shims: [None; Shim::N],
            frefs: vec![None; funcs.len()],
        };
        // Registers at entry: r1..r5 arguments, r10 the frame, inherited ones from the
        // context, the rest zero (never read before written).
        for r in 0..10usize {
            let v = if (1..=5).contains(&r) {
                params[1 + r]
            } else if f.livein & (1 << r) != 0 {
                fx.b.ins().load(I64, t(), ctx, xreg(r))
            } else {
                zero
            };
            fx.b.def_var(fx.regs[r], v);
        }
        fx.b.def_var(fx.regs[10], fp);
        if cfg.count {
            let c = fx.b.ins().load(I64, t(), ctx, offset_of!(JitCtx, cnt) as i32);
            fx.b.def_var(cnt, c);
        }
        fx
    }

    fn get(&mut self, r: Reg) -> Value {
        self.b.use_var(self.regs[r.idx()])
    }

    fn set(&mut self, r: Reg, v: Value) {
        self.b.def_var(self.regs[r.idx()], v);
    }

    fn iconst(&mut self, v: i64) -> Value {
        self.b.ins().iconst(I64, v)
    }

    fn block_of(&self, pc: usize) -> Block {
        match self.blocks.get(pc).copied().flatten() {
            Some(b) => b,
            // Analysis makes every branch target and call return a leader.
            None => unreachable!("slot {pc} is not a block leader"),
        }
    }

    fn shim(&mut self, s: Shim, args: &[Value]) -> Option<(Value, Value)> {
        let (n, two) = s.shape();
        debug_assert_eq!(n, args.len());
        let sr = match self.shims[s as usize] {
            Some(r) => r,
            None => {
                let r = self.b.import_signature(sig(self.cc, n, if two { 2 } else { 0 }));
                self.shims[s as usize] = Some(r);
                r
            }
        };
        let callee = self.iconst(s.addr() as i64);
        let call = self.b.ins().call_indirect(sr, callee, args);
        two.then(|| (self.b.inst_results(call)[0], self.b.inst_results(call)[1]))
    }

    /// Record a static error at `pc` and return `ST_ERROR`.
    fn fail(&mut self, code: i64, pc: usize, arg: Value) {
        let (c, p) = (self.iconst(code), self.iconst(pc as i64));
        let ctx = self.ctx;
        self.shim(Shim::Fail, &[ctx, c, p, arg]);
        self.b.ins().jump(self.err_ret, &[]);
    }

    fn fail_const(&mut self, code: i64, pc: usize, arg: i64) {
        let a = self.iconst(arg);
        self.fail(code, pc, a);
    }

    fn store_cnt(&mut self, v: Value) {
        self.b.ins().store(t(), v, self.ctx, offset_of!(JitCtx, cnt) as i32);
    }

    fn reload_cnt(&mut self) {
        if self.cfg.count {
            let c = self.b.ins().load(I64, t(), self.ctx, offset_of!(JitCtx, cnt) as i32);
            self.b.def_var(self.cnt, c);
        }
    }

    fn build(&mut self) {
        let first = self.block_of(self.f.entry);
        self.b.ins().jump(first, &[]);
        let f = self.f;
        for blk in &f.blocks {
            let start = self.block_of(blk.pcs[0]);
            self.b.switch_to_block(start);
            let base = if self.cfg.count {
                let base = self.b.use_var(self.cnt);
                let len = blk.pcs.len() as i64;
                let nb = self.b.ins().iadd_imm_s(base, len);
                let over = self.b.ins().icmp(IntCC::UnsignedGreaterThan, nb, self.max);
                let body = self.b.create_block();
                let precise = self.b.create_block();
                self.b.set_cold_block(precise);
                self.b.ins().brif(over, precise, &[], body, &[]);
                self.b.switch_to_block(precise);
                self.precise(&blk.pcs, base);
                self.b.switch_to_block(body);
                self.b.def_var(self.cnt, nb);
                Some(base)
            } else {
                None
            };
            let mut open = true;
            for (idx, &pc) in blk.pcs.iter().enumerate() {
                open = self.emit(pc, idx, base);
            }
            if open {
                // Fell through into the next block.
                let last = blk.pcs[blk.pcs.len() - 1];
                let next = last + self.p.insn(last).map_or(1, |i| i.slots());
                let nb = self.block_of(next);
                self.b.ins().jump(nb, &[]);
            }
        }
        // Shared exits.
        self.b.switch_to_block(self.err_ret);
        let (z, e) = (self.iconst(0), self.iconst(ST_ERROR));
        self.b.ins().return_(&[z, e]);
        self.b.switch_to_block(self.prop_ret);
        let v = self.b.append_block_param(self.prop_ret, I64);
        let st = self.b.append_block_param(self.prop_ret, I64);
        self.b.ins().return_(&[v, st]);
    }

    /// The budget runs out inside this block: run its instructions one by one until it
    /// does (all but the last, which is the one that cannot run), then fail.
    fn precise(&mut self, pcs: &[usize], base: Value) {
        let rem = self.b.ins().isub(self.max, base);
        let max = self.max;
        let last = pcs.len() - 1;
        for (idx, &pc) in pcs[..last].iter().enumerate() {
            let out = self.b.create_block();
            let go = self.b.create_block();
            let hit = self.b.ins().icmp_imm_s(IntCC::Equal, rem, idx as i64);
            self.b.ins().brif(hit, out, &[], go, &[]);
            self.b.switch_to_block(out);
            self.fail(FAIL_BUDGET, pc, max);
            self.b.switch_to_block(go);
            let open = self.emit(pc, idx, Some(base));
            debug_assert!(open, "only the last instruction of a block ends it");
        }
        // rem < len: the last instruction is where the budget runs out.
        self.fail(FAIL_BUDGET, pcs[last], max);
    }

    /// Count after instruction `idx` of the block whose count at entry is `base`.
    fn count_at(&mut self, base: Option<Value>, idx: usize) -> Option<Value> {
        base.map(|b| self.b.ins().iadd_imm_s(b, idx as i64 + 1))
    }

    /// Emit slot `pc` (instruction `idx` of its block). Returns false when the
    /// instruction ended the block (the current Cranelift block is terminated).
    fn emit(&mut self, pc: usize, idx: usize, base: Option<Value>) -> bool {
        let Some(&insn) = self.p.insn(pc) else {
            self.fail_const(FAIL_FELL_OFF, pc, 0);
            return false;
        };
        match insn {
            Insn::Alu { op, width, dst, src } => self.alu(op, width, dst, src),
            Insn::Neg { width, dst } => {
                let a = self.get(dst);
                let v = match width {
                    Width::W64 => self.b.ins().ineg(a),
                    Width::W32 => {
                        let a = self.b.ins().ireduce(I32, a);
                        let n = self.b.ins().ineg(a);
                        self.b.ins().uextend(I64, n)
                    }
                };
                self.set(dst, v);
            }
            Insn::MovSx { width, dst, src, bits } => {
                let a = self.get(src);
                let nt = match bits {
                    8 => types::I8,
                    16 => types::I16,
                    _ => I32,
                };
                let n = self.b.ins().ireduce(nt, a);
                let v = match width {
                    Width::W64 => self.b.ins().sextend(I64, n),
                    Width::W32 => {
                        let s = if nt == I32 { n } else { self.b.ins().sextend(I32, n) };
                        self.b.ins().uextend(I64, s)
                    }
                };
                self.set(dst, v);
            }
            Insn::Endian { kind, bits, dst } => {
                let a = self.get(dst);
                let swap = match kind {
                    Endian::Le => cfg!(target_endian = "big"),
                    Endian::Be => cfg!(target_endian = "little"),
                    Endian::Swap => true,
                };
                let v = match (bits, swap) {
                    (64, false) => a,
                    (64, true) => self.b.ins().bswap(a),
                    (n, s) => {
                        let ty = if n == 16 { types::I16 } else { I32 };
                        let x = self.b.ins().ireduce(ty, a);
                        let x = if s { self.b.ins().bswap(x) } else { x };
                        self.b.ins().uextend(I64, x)
                    }
                };
                self.set(dst, v);
            }
            Insn::Load { size, dst, src, off, sign_extend } => {
                let base_v = self.get(src);
                let addr = self.b.ins().iadd_imm_s(base_v, off as i64);
                let signed = sign_extend && size != Size::DW;
                let v = self.load(pc, addr, size, signed, src, off);
                self.set(dst, v);
            }
            Insn::Store { size, dst, off, src } => {
                let base_v = self.get(dst);
                let addr = self.b.ins().iadd_imm_s(base_v, off as i64);
                let v = match src {
                    Operand::Reg(s) => self.get(s),
                    Operand::Imm(i) => self.iconst(i as i64),
                };
                self.store(pc, addr, size, v, dst, off);
            }
            Insn::Atomic { size, op, fetch, dst, off, src } => self.atomic(pc, size, op, fetch, dst, off, src),
            Insn::LoadImm64 { dst, .. } => match self.p.lddw[pc] {
                Some(v) => {
                    let c = self.iconst(v as i64);
                    self.set(dst, c);
                }
                None => {
                    let Insn::LoadImm64 { imm, .. } = insn else { unreachable!() };
                    self.fail_const(FAIL_UNRESOLVED, pc, pseudo_src(imm));
                    return false;
                }
            },
            Insn::LoadImm64Tail => {
                self.fail_const(FAIL_LDDW_TAIL, pc, 0);
                return false;
            }
            Insn::LoadPacket { size, mode, imm } => {
                let off = match mode {
                    PacketMode::Abs => self.iconst(imm as i64),
                    PacketMode::Ind(r) => {
                        let x = self.get(r);
                        let x = self.b.ins().ireduce(I32, x);
                        let i = self.b.ins().iconst(I32, imm as u32 as i64);
                        let x = self.b.ins().iadd(x, i);
                        self.b.ins().sextend(I64, x)
                    }
                };
                let sz = self.iconst(size.bytes() as i64);
                let ctx = self.ctx;
                let Some((v, bad)) = self.shim(Shim::LdPacket, &[ctx, off, sz]) else { unreachable!() };
                let exit = self.b.create_block();
                self.b.set_cold_block(exit);
                let cont = self.b.create_block();
                self.b.ins().brif(bad, exit, &[], cont, &[]);
                self.b.switch_to_block(exit);
                if let Some(c) = self.count_at(base, idx) {
                    self.store_cnt(c);
                }
                let (z, st) = (self.iconst(0), self.iconst(ST_EXIT));
                self.b.ins().return_(&[z, st]);
                self.b.switch_to_block(cont);
                self.set(Reg::R0, v);
            }
            Insn::Ja { off, .. } => {
                let tb = self.block_of((pc as i64 + 1 + off as i64) as usize);
                self.b.ins().jump(tb, &[]);
                return false;
            }
            Insn::Jump { cond, width, dst, src, off } => {
                let c = self.cond(cond, width, dst, src);
                let tb = self.block_of((pc as i64 + 1 + off as i64) as usize);
                let fb = self.block_of(pc + 1);
                self.b.ins().brif(c, tb, &[], fb, &[]);
                return false;
            }
            Insn::Exit => {
                if let Some(c) = self.count_at(base, idx) {
                    self.store_cnt(c);
                }
                for r in 1..=5 {
                    if self.f.retout & (1 << r) != 0 {
                        let v = self.b.use_var(self.regs[r]);
                        self.b.ins().store(t(), v, self.ctx, xreg(r));
                    }
                }
                let r0 = self.get(Reg::R0);
                let st = self.iconst(ST_RETURN);
                self.b.ins().return_(&[r0, st]);
                return false;
            }
            Insn::Call(CallTarget::Helper(id)) => {
                let Some(slot) = self.helper_slot[pc] else {
                    self.fail_const(FAIL_UNKNOWN_HELPER, pc, id as u32 as i64);
                    return false;
                };
                if let Some(c) = self.count_at(base, idx) {
                    self.store_cnt(c);
                }
                let s = self.iconst(slot as i64);
                self.helper_call(Shim::Helper, s, pc);
                let nb = self.block_of(pc + 1);
                self.b.ins().jump(nb, &[]);
                return false;
            }
            Insn::Call(CallTarget::Kfunc { btf_id, .. }) => {
                self.fail_const(FAIL_KFUNC, pc, btf_id as i64);
                return false;
            }
            Insn::Call(CallTarget::Local(rel)) => {
                if let Some(c) = self.count_at(base, idx) {
                    self.store_cnt(c);
                }
                let target = (pc as i64 + 1 + rel as i64) as usize;
                let fi = match self.p.entries.binary_search(&target) {
                    Ok(i) => i,
                    Err(_) => unreachable!("call target {target} is a function entry"),
                };
                let live_after = self.f.live_out[pc];
                self.local_call(fi, pc, live_after);
                let nb = self.block_of(pc + 1);
                self.b.ins().jump(nb, &[]);
                return false;
            }
            Insn::CallX { reg } => {
                if let Some(c) = self.count_at(base, idx) {
                    self.store_cnt(c);
                }
                self.callx(reg, pc);
                let nb = self.block_of(pc + 1);
                self.b.ins().jump(nb, &[]);
                return false;
            }
        }
        true
    }

    fn alu(&mut self, op: AluOp, width: Width, dst: Reg, src: Operand) {
        let (ty, bits) = match width {
            Width::W64 => (I64, 64),
            Width::W32 => (I32, 32),
        };
        // Immediates: sign-extended to 64 bits, or their low 32 bits.
        let imm = match src {
            Operand::Imm(i) => Some(if bits == 64 { i as i64 } else { i as u32 as i64 }),
            Operand::Reg(_) => None,
        };
        let narrow = |fx: &mut Self, v: Value| if bits == 64 { v } else { fx.b.ins().ireduce(I32, v) };
        let b = match src {
            Operand::Reg(s) => {
                let v = self.get(s);
                narrow(self, v)
            }
            Operand::Imm(_) => self.b.ins().iconst(ty, imm.unwrap_or(0)),
        };
        if op == AluOp::Mov {
            let v = if bits == 64 { b } else { self.b.ins().uextend(I64, b) };
            self.set(dst, v);
            return;
        }
        let a = self.get(dst);
        let a = narrow(self, a);
        let zero = self.b.ins().iconst(ty, 0);
        let v = match op {
            AluOp::Add => self.b.ins().iadd(a, b),
            AluOp::Sub => self.b.ins().isub(a, b),
            AluOp::Mul => self.b.ins().imul(a, b),
            AluOp::Or => self.b.ins().bor(a, b),
            AluOp::And => self.b.ins().band(a, b),
            AluOp::Xor => self.b.ins().bxor(a, b),
            AluOp::Lsh | AluOp::Rsh | AluOp::Arsh => {
                let amt = match imm {
                    Some(i) => self.b.ins().iconst(ty, i & (bits - 1)),
                    None => self.b.ins().band_imm_s(b, bits - 1),
                };
                match op {
                    AluOp::Lsh => self.b.ins().ishl(a, amt),
                    AluOp::Rsh => self.b.ins().ushr(a, amt),
                    _ => self.b.ins().sshr(a, amt),
                }
            }
            AluOp::Div | AluOp::Mod => match imm {
                // Division by zero: div gives 0, mod leaves dst.
                Some(0) => {
                    if op == AluOp::Div {
                        zero
                    } else {
                        a
                    }
                }
                Some(_) if op == AluOp::Div => self.b.ins().udiv(a, b),
                Some(_) => self.b.ins().urem(a, b),
                None => {
                    let one = self.b.ins().iconst(ty, 1);
                    let bz = self.b.ins().icmp_imm_s(IntCC::Equal, b, 0);
                    let safe = self.b.ins().select(bz, one, b);
                    if op == AluOp::Div {
                        let q = self.b.ins().udiv(a, safe);
                        self.b.ins().select(bz, zero, q)
                    } else {
                        let r = self.b.ins().urem(a, safe);
                        self.b.ins().select(bz, a, r)
                    }
                }
            },
            AluOp::SDiv | AluOp::SMod => {
                let is_div = op == AluOp::SDiv;
                let minus_one = if bits == 64 { -1 } else { u32::MAX as i64 };
                match imm {
                    Some(0) => {
                        if is_div {
                            zero
                        } else {
                            a
                        }
                    }
                    // INT_MIN / -1 wraps; x % -1 is 0.
                    Some(i) if i == minus_one => {
                        if is_div {
                            self.b.ins().ineg(a)
                        } else {
                            zero
                        }
                    }
                    Some(_) if is_div => self.b.ins().sdiv(a, b),
                    Some(_) => self.b.ins().srem(a, b),
                    None => {
                        let one = self.b.ins().iconst(ty, 1);
                        let bz = self.b.ins().icmp_imm_s(IntCC::Equal, b, 0);
                        let m1 = self.b.ins().iconst(ty, minus_one);
                        let bm = self.b.ins().icmp(IntCC::Equal, b, m1);
                        let odd = self.b.ins().bor(bz, bm);
                        let safe = self.b.ins().select(odd, one, b);
                        if is_div {
                            let q = self.b.ins().sdiv(a, safe);
                            let na = self.b.ins().ineg(a);
                            let q = self.b.ins().select(bz, zero, q);
                            self.b.ins().select(bm, na, q)
                        } else {
                            let r = self.b.ins().srem(a, safe);
                            let r = self.b.ins().select(bz, a, r);
                            self.b.ins().select(bm, zero, r)
                        }
                    }
                }
            }
            AluOp::Mov => b,
        };
        let v = if bits == 64 { v } else { self.b.ins().uextend(I64, v) };
        self.set(dst, v);
    }

    fn cond(&mut self, cond: Cond, width: Width, dst: Reg, src: Operand) -> Value {
        let a = self.get(dst);
        let (a, b) = match width {
            Width::W64 => {
                let b = match src {
                    Operand::Reg(s) => self.get(s),
                    Operand::Imm(i) => self.iconst(i as i64),
                };
                (a, b)
            }
            Width::W32 => {
                let a = self.b.ins().ireduce(I32, a);
                let b = match src {
                    Operand::Reg(s) => {
                        let v = self.get(s);
                        self.b.ins().ireduce(I32, v)
                    }
                    Operand::Imm(i) => self.b.ins().iconst(I32, i as u32 as i64),
                };
                (a, b)
            }
        };
        let cc = match cond {
            Cond::Set => {
                let x = self.b.ins().band(a, b);
                return self.b.ins().icmp_imm_s(IntCC::NotEqual, x, 0);
            }
            Cond::Eq => IntCC::Equal,
            Cond::Ne => IntCC::NotEqual,
            Cond::Gt => IntCC::UnsignedGreaterThan,
            Cond::Ge => IntCC::UnsignedGreaterThanOrEqual,
            Cond::Lt => IntCC::UnsignedLessThan,
            Cond::Le => IntCC::UnsignedLessThanOrEqual,
            Cond::SGt => IntCC::SignedGreaterThan,
            Cond::SGe => IntCC::SignedGreaterThanOrEqual,
            Cond::SLt => IntCC::SignedLessThan,
            Cond::SLe => IntCC::SignedLessThanOrEqual,
        };
        self.b.ins().icmp(cc, a, b)
    }

    /// `base + off .. + size` is in the current frame and r10 is never written: no check needed.
    fn static_frame_access(&self, base: Reg, off: i16, size: Size) -> bool {
        base == Reg::R10 && !self.p.r10_written && off >= -(STACK_SIZE as i16) && off as i64 + size.bytes() as i64 <= 0
    }

    /// Branch to `fast` if `addr..addr+size` is inside the live stack or the cached
    /// region (`write`: the cached writable region), else to `slow`.
    fn guard(&mut self, addr: Value, size: Size, write: bool, fast: Block, slow: Block) {
        let n = size.bytes() as i64;
        let off = self.b.ins().isub(addr, self.stack_lo);
        let lim = self.b.ins().iadd_imm_s(self.live_len, -n);
        let in_stack = self.b.ins().icmp(IntCC::UnsignedLessThanOrEqual, off, lim);
        let chk2 = self.b.create_block();
        self.b.ins().brif(in_stack, fast, &[], chk2, &[]);
        self.b.switch_to_block(chk2);
        let (so, lo) = if write {
            (offset_of!(JitCtx, wcache_start), offset_of!(JitCtx, wcache_lim8))
        } else {
            (offset_of!(JitCtx, rcache_start), offset_of!(JitCtx, rcache_lim8))
        };
        let cs = self.b.ins().load(I64, t(), self.ctx, so as i32);
        let cl = self.b.ins().load(I64, t(), self.ctx, lo as i32);
        let off = self.b.ins().isub(addr, cs);
        let lim = self.b.ins().iadd_imm_s(cl, 8 - n);
        let ok = self.b.ins().icmp(IntCC::UnsignedLessThanOrEqual, off, lim);
        self.b.ins().brif(ok, fast, &[], slow, &[]);
    }

    fn raw_load(&mut self, addr: Value, size: Size, signed: bool) -> Value {
        let ins = self.b.ins();
        match (size, signed) {
            (Size::B, false) => ins.uload8(I64, pm(), addr, 0),
            (Size::H, false) => ins.uload16(I64, pm(), addr, 0),
            (Size::W, false) => ins.uload32(pm(), addr, 0),
            (Size::B, true) => ins.sload8(I64, pm(), addr, 0),
            (Size::H, true) => ins.sload16(I64, pm(), addr, 0),
            (Size::W, true) => ins.sload32(pm(), addr, 0),
            (Size::DW, _) => ins.load(I64, pm(), addr, 0),
        }
    }

    fn raw_store(&mut self, addr: Value, size: Size, v: Value) {
        let ins = self.b.ins();
        match size {
            Size::B => ins.istore8(pm(), v, addr, 0),
            Size::H => ins.istore16(pm(), v, addr, 0),
            Size::W => ins.istore32(pm(), v, addr, 0),
            Size::DW => ins.store(pm(), v, addr, 0),
        };
    }

    fn load(&mut self, pc: usize, addr: Value, size: Size, signed: bool, base: Reg, off: i16) -> Value {
        if !self.cfg.checked || self.static_frame_access(base, off, size) {
            return self.raw_load(addr, size, signed);
        }
        let fast = self.b.create_block();
        let slow = self.b.create_block();
        self.b.set_cold_block(slow);
        let join = self.b.create_block();
        let v = self.b.append_block_param(join, I64);
        self.guard(addr, size, false, fast, slow);
        self.b.switch_to_block(fast);
        let x = self.raw_load(addr, size, signed);
        self.b.ins().jump(join, &[BlockArg::Value(x)]);
        self.b.switch_to_block(slow);
        let args = [self.ctx, addr, self.iconst(size.bytes() as i64), self.iconst(signed as i64), self.iconst(pc as i64), self.fp];
        let Some((x, st)) = self.shim(Shim::Load, &args) else { unreachable!() };
        self.b.ins().brif(st, self.err_ret, &[], join, &[BlockArg::Value(x)]);
        self.b.switch_to_block(join);
        v
    }

    fn store(&mut self, pc: usize, addr: Value, size: Size, v: Value, base: Reg, off: i16) {
        if !self.cfg.checked || self.static_frame_access(base, off, size) {
            self.raw_store(addr, size, v);
            return;
        }
        let fast = self.b.create_block();
        let slow = self.b.create_block();
        self.b.set_cold_block(slow);
        let join = self.b.create_block();
        self.guard(addr, size, true, fast, slow);
        self.b.switch_to_block(fast);
        self.raw_store(addr, size, v);
        self.b.ins().jump(join, &[]);
        self.b.switch_to_block(slow);
        let args = [self.ctx, addr, self.iconst(size.bytes() as i64), v, self.iconst(pc as i64), self.fp];
        let Some((_, st)) = self.shim(Shim::Store, &args) else { unreachable!() };
        self.b.ins().brif(st, self.err_ret, &[], join, &[]);
        self.b.switch_to_block(join);
    }

    #[allow(clippy::too_many_arguments)]
    fn atomic(&mut self, pc: usize, size: Size, op: AtomicOp, fetch: bool, dst: Reg, off: i16, src: Reg) {
        let base_v = self.get(dst);
        let addr = self.b.ins().iadd_imm_s(base_v, off as i64);
        let ptr = if !self.cfg.checked || self.static_frame_access(dst, off, size) {
            addr
        } else {
            let fast = self.b.create_block();
            let slow = self.b.create_block();
            self.b.set_cold_block(slow);
            let join = self.b.create_block();
            let p = self.b.append_block_param(join, I64);
            self.guard(addr, size, true, fast, slow);
            self.b.switch_to_block(fast);
            self.b.ins().jump(join, &[BlockArg::Value(addr)]);
            self.b.switch_to_block(slow);
            let args = [self.ctx, addr, self.iconst(size.bytes() as i64), self.iconst(pc as i64), self.fp];
            let Some((x, st)) = self.shim(Shim::Atomic, &args) else { unreachable!() };
            self.b.ins().brif(st, self.err_ret, &[], join, &[BlockArg::Value(x)]);
            self.b.switch_to_block(join);
            p
        };
        let ty = if size == Size::DW { I64 } else { I32 };
        let s = self.get(src);
        let s = if ty == I32 { self.b.ins().ireduce(I32, s) } else { s };
        let r0 = self.get(Reg::R0);
        let expected = if ty == I32 { self.b.ins().ireduce(I32, r0) } else { r0 };

        // Naturally aligned: a real atomic instruction; otherwise (the interpreter
        // allows it) a plain read-modify-write, which is what the interpreter does.
        let aligned = self.b.create_block();
        let plain = self.b.create_block();
        self.b.set_cold_block(plain);
        let join = self.b.create_block();
        let old = self.b.append_block_param(join, ty);
        let mis = self.b.ins().band_imm_s(ptr, size.bytes() as i64 - 1);
        self.b.ins().brif(mis, plain, &[], aligned, &[]);

        self.b.switch_to_block(aligned);
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

        self.b.switch_to_block(plain);
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

        self.b.switch_to_block(join);
        let old64 = if ty == I32 { self.b.ins().uextend(I64, old) } else { old };
        match op {
            AtomicOp::CmpXchg => self.set(Reg::R0, old64),
            _ if fetch => self.set(src, old64),
            _ => {}
        }
    }

    /// Call a helper through the runtime: `selector` is the helper slot (`Shim::Helper`)
    /// or the callx register value (`Shim::CallxHelper`).
    fn helper_call(&mut self, which: Shim, selector: Value, pc: usize) {
        let mut args = vec![self.ctx, selector, self.iconst(pc as i64), self.fp];
        for r in 1..=5 {
            args.push(self.b.use_var(self.regs[r]));
        }
        let Some((v, st)) = self.shim(which, &args) else { unreachable!() };
        let cont = self.b.create_block();
        self.b.ins().brif(st, self.prop_ret, &[BlockArg::Value(v), BlockArg::Value(st)], cont, &[]);
        self.b.switch_to_block(cont);
        self.set(Reg::R0, v);
        self.reload_cnt();
    }

    fn func_ref(&mut self, fi: usize) -> FuncRef {
        if let Some(r) = self.frefs[fi] {
            return r;
        }
        let r = self.module.declare_func_in_func(self.ids[fi], self.b.func);
        self.frefs[fi] = Some(r);
        r
    }

    /// Call function `fi`: depth check, registers it inherits, the call, status check,
    /// registers it gives back (those in `reload`).
    fn local_call(&mut self, fi: usize, pc: usize, live_after: RegSet) {
        let callee = &self.funcs[fi];
        let (livein, retout) = (callee.livein, callee.retout);
        // Frame depth: this frame is at `fp`; the new one would be frame
        // MAX_CALL_FRAMES if fp is already the deepest allowed.
        let limit = self.b.ins().load(I64, t(), self.ctx, offset_of!(JitCtx, depth_limit) as i32);
        let too_deep = self.b.ins().icmp(IntCC::UnsignedLessThanOrEqual, self.fp, limit);
        let deep = self.b.create_block();
        self.b.set_cold_block(deep);
        let go = self.b.create_block();
        self.b.ins().brif(too_deep, deep, &[], go, &[]);
        self.b.switch_to_block(deep);
        self.fail_const(FAIL_DEPTH, pc, MAX_CALL_FRAMES as i64);
        self.b.switch_to_block(go);
        for r in [0usize, 6, 7, 8, 9] {
            if livein & (1 << r) != 0 {
                let v = self.b.use_var(self.regs[r]);
                self.b.ins().store(t(), v, self.ctx, xreg(r));
            }
        }
        let new_fp = self.b.ins().iadd_imm_s(self.fp, -(STACK_SIZE as i64));
        let mut args = vec![self.ctx, new_fp];
        for r in 1..=5 {
            args.push(self.b.use_var(self.regs[r]));
        }
        let f = self.func_ref(fi);
        let call = self.b.ins().call(f, &args);
        let (v, st) = (self.b.inst_results(call)[0], self.b.inst_results(call)[1]);
        let cont = self.b.create_block();
        self.b.ins().brif(st, self.prop_ret, &[BlockArg::Value(v), BlockArg::Value(st)], cont, &[]);
        self.b.switch_to_block(cont);
        self.set(Reg::R0, v);
        for r in 1..=5usize {
            if retout & live_after & (1 << r) != 0 {
                let x = self.b.ins().load(I64, t(), self.ctx, xreg(r));
                self.b.def_var(self.regs[r], x);
            }
        }
        self.b.def_var(self.regs[10], self.fp);
        self.reload_cnt();
    }

    fn callx(&mut self, reg: Reg, pc: usize) {
        let v = self.get(reg);
        let join = self.b.create_block();
        let helper = self.b.create_block();
        let func = self.b.create_block();
        let hi = self.b.ins().band_imm_s(v, bpfbox_vm::jit_support::FUNC_ADDR_MASK as i64);
        let is_func = self.b.ins().icmp_imm_s(IntCC::Equal, hi, FUNC_ADDR_TAG as i64);
        self.b.ins().brif(is_func, func, &[], helper, &[]);

        self.b.switch_to_block(helper);
        self.helper_call(Shim::CallxHelper, v, pc);
        self.b.ins().jump(join, &[]);

        self.b.switch_to_block(func);
        // Whatever the target, pass every register it may inherit, and read back r1..r5
        // (with callx in the program every function returns them).
        for r in [0usize, 6, 7, 8, 9] {
            let x = self.b.use_var(self.regs[r]);
            self.b.ins().store(t(), x, self.ctx, xreg(r));
        }
        let target = self.b.ins().band_imm_s(v, 0xffff_ffff);
        let bad = self.b.create_block();
        self.b.set_cold_block(bad);
        let mut sw = Switch::new();
        let mut cases = Vec::new();
        for (fi, &e) in self.p.entries.iter().enumerate() {
            let blk = self.b.create_block();
            sw.set_entry(e as u128, blk);
            cases.push((fi, blk));
        }
        sw.emit(&mut self.b, target, bad);
        self.b.switch_to_block(bad);
        self.fail(FAIL_BAD_CALL, pc, v);
        for (fi, blk) in cases {
            self.b.switch_to_block(blk);
            self.local_call(fi, pc, ARGS | R0);
            self.b.ins().jump(join, &[]);
        }
        self.b.switch_to_block(join);
    }
}

fn xreg(r: usize) -> i32 {
    (offset_of!(JitCtx, xregs) + 8 * r) as i32
}

fn pseudo_src(imm: bpfbox_isa::Imm64) -> i64 {
    use bpfbox_isa::Imm64::*;
    match imm {
        Value(_) => 0,
        MapFd(_) => 1,
        MapValue { .. } => 2,
        BtfId { .. } => 3,
        Func(_) => 4,
        MapIdx(_) => 5,
        MapIdxValue { .. } => 6,
    }
}

