//! eBPF → Cranelift IR.
//!
//! Every eBPF function (see `analysis.rs`) becomes one native function
//! `fn(ctx, fp, r1, r2, r3, r4, r5) -> (r0, status)`; registers are Cranelift
//! variables, so the register allocator keeps them in machine registers. `status` is
//! [`ST_RETURN`], [`ST_EXIT`] (the whole program stops with r0: a helper's `Exit`, a
//! failed legacy packet load) or [`ST_ERROR`] (the error is in the run context);
//! callers pass anything but `ST_RETURN` straight up. A run calls the main function
//! directly, r1..r5 in argument registers.
//!
//! Instruction counting is per basic block: on entry, `count + len > max` sends the
//! block to a cold copy of itself that checks the budget before each instruction,
//! so a budget error names the same pc and count as the interpreter's. Checked mode
//! guards each load, store and atomic with two inline range checks (the live stack
//! frames, then the region that served the last slow-path access) and calls into
//! the runtime (`runtime.rs`) when both miss.

use crate::analysis::{Flow, FuncInfo, Prog, RegSet, ARGS, R0};
use crate::link::{ExecCode, Image};
use crate::runtime::{self, JitCtx};
use crate::{JitError, RegAlloc};
use bpfbox_isa::{AluOp, AtomicOp, CallTarget, Cond, Endian, Insn, Operand, PacketMode, Reg, Size, Width};
use bpfbox_vm::{HelperEntry, HelperTable, FUNC_ADDR_TAG, MAX_CALL_FRAMES, STACK_SIZE};
use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    types, AbiParam, AtomicRmwOp, Block, BlockArg, ExtFuncData, ExternalName, FuncRef, InstBuilder, InstructionData,
    MemFlagsData, Opcode, SigRef, Signature, Type, UserExternalName, UserFuncName, Value, ValueDef,
};
use cranelift_codegen::isa::{CallConv, OwnedTargetIsa, TargetIsa};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Switch, Variable};
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

/// Slots of `JitCtx::slow_args` for the budget check a slow-path adapter makes
/// before the access: instructions left in the budget at block entry (`u64::MAX`:
/// no check), the access's index in its block, the block's first slot.
const SLOW_LIM: usize = 5;
const SLOW_IDX: usize = 6;
const SLOW_START: usize = 7;

const I64: Type = types::I64;
const I32: Type = types::I32;

mod fold;
mod linux_6_18;
mod mem;

/// Cranelift's settings for translating eBPF with `regalloc`.
fn flags(regalloc: RegAlloc) -> Result<settings::Flags, String> {
    let algorithm = match regalloc {
        RegAlloc::Backtracking => "backtracking",
        RegAlloc::SinglePass => "single_pass",
    };
    let mut flags = settings::builder();
    let set = |f: &mut settings::Builder, k: &str, v: &str| f.set(k, v).map_err(|e| format!("{k}={v}: {e}"));
    // Cranelift's mid-end (e-graph GVN/LICM) makes eBPF code slower, not faster,
    // here: clang already optimized it, and hoisting raises register pressure in
    // loops (parse and strcmp run 25-30% faster without it); it also costs a third
    // of the compile time. BPFBOX_JIT_OPT=speed turns it back on.
    let opt = std::env::var("BPFBOX_JIT_OPT").unwrap_or_else(|_| "none".into());
    set(&mut flags, "opt_level", &opt)?;
    set(&mut flags, "regalloc_algorithm", algorithm)?;
    set(&mut flags, "is_pic", "false")?;
    set(&mut flags, "use_colocated_libcalls", "false")?;
    // Nothing unwinds through generated code (the runtime's shims catch panics).
    set(&mut flags, "unwind_info", "false")?;
    // The IR verifier is a debugging aid: on in debug builds (tests), off in release.
    set(&mut flags, "enable_verifier", if cfg!(debug_assertions) { "true" } else { "false" })?;
    Ok(settings::Flags::new(flags))
}

/// The host ISA for `regalloc`, built once per process.
pub(crate) fn host_isa(regalloc: RegAlloc) -> Result<OwnedTargetIsa, JitError> {
    static ISA: [OnceLock<Result<OwnedTargetIsa, String>>; 2] = [OnceLock::new(), OnceLock::new()];
    ISA[regalloc as usize]
        .get_or_init(|| {
            let isa = cranelift_native::builder().map_err(|e| format!("host not supported: {e}"))?;
            isa.finish(flags(regalloc)?).map_err(|e| e.to_string())
        })
        .clone()
        .map_err(JitError::Isa)
}

/// The ISA of the target `triple` (such as `aarch64-unknown-linux-gnu`), for code
/// that runs elsewhere; only targets whose Cranelift backend is compiled in (AArch64
/// with the crate feature `cross`, and in this crate's tests).
pub(crate) fn target_isa(triple: &str, regalloc: RegAlloc) -> Result<OwnedTargetIsa, JitError> {
    let isa = cranelift_codegen::isa::lookup_by_name(triple).map_err(|e| JitError::Isa(format!("{triple}: {e}")))?;
    isa.finish(flags(regalloc).map_err(JitError::Isa)?).map_err(|e| JitError::Isa(e.to_string()))
}

/// The main program: `(ctx, fp, r1, r2, r3, r4, r5) -> (r0, status)`.
pub(crate) type EntryFn = unsafe extern "C" fn(*mut JitCtx, u64, u64, u64, u64, u64, u64) -> runtime::Ret2;

/// Entry points of the slow-path adapters: functions in the `preserve_all` calling
/// convention that call a runtime shim and leave its two results in the run context
/// (`JitCtx::slow_v`, `JitCtx::slow_st`). Calling them clobbers no register, so the
/// eBPF registers live across a checked access stay where they are: without them
/// every guarded access would force the register allocator to save and restore all
/// caller-saved registers around its (cold) slow path. They take only the context
/// in a register; the shim's other arguments are stored in `JitCtx::slow_args`
/// (fixed argument registers at every checked access cost 8% of the compile time).
struct Adapters {
    load: usize,
    store: usize,
    atomic: usize,
}

/// The adapters, compiled once per process into code that lives as long as it.
fn adapters() -> Option<&'static Adapters> {
    static ADAPTERS: OnceLock<Option<Adapters>> = OnceLock::new();
    ADAPTERS.get_or_init(|| build_adapters().ok()).as_ref()
}

fn build_adapters() -> Result<Adapters, JitError> {
    let isa = host_isa(RegAlloc::Backtracking)?;
    let cc = isa.default_call_conv();
    let psig = sig(CallConv::PreserveAll, 1, 0);
    let mut ctx = cranelift_codegen::Context::new();
    let mut fctx = FunctionBuilderContext::new();
    let mut image = Image::default();
    for (i, (shim, nargs)) in [(Shim::Load, 6), (Shim::Store, 6), (Shim::Atomic, 5)].into_iter().enumerate() {
        ctx.func.signature = psig.clone();
        ctx.func.name = UserFuncName::user(0, i as u32);
        {
            let mut b = FunctionBuilder::new(&mut ctx.func, &mut fctx);
            let blk = b.create_block();
            b.append_block_params_for_function_params(blk);
            b.switch_to_block(blk);
            b.seal_block(blk);
            let jctx = b.block_params(blk)[0];
            let slot = |k: usize| (offset_of!(JitCtx, slow_args) + 8 * k) as i32;
            // The budget first: exhausted before this access means the budget error
            // (as `Fx::effect_check` would report it), and no access.
            let lim = b.ins().load(I64, t(), jctx, slot(SLOW_LIM));
            let idx = b.ins().load(I64, t(), jctx, slot(SLOW_IDX));
            let out = b.ins().icmp(IntCC::UnsignedLessThanOrEqual, lim, idx);
            let (over, access) = (b.create_block(), b.create_block());
            b.ins().brif(out, over, &[], access, &[]);
            b.switch_to_block(over);
            b.seal_block(over);
            let start = b.ins().load(I64, t(), jctx, slot(SLOW_START));
            let code = b.ins().iconst(I64, FAIL_BUDGET);
            let fsig = b.import_signature(sig(cc, 4, 0));
            let fail = b.ins().iconst(I64, Shim::Fail.addr() as i64);
            b.ins().call_indirect(fsig, fail, &[jctx, code, start, lim]);
            let st = b.ins().iconst(I64, ST_ERROR);
            b.ins().store(t(), st, jctx, offset_of!(JitCtx, slow_st) as i32);
            b.ins().return_(&[]);
            b.switch_to_block(access);
            b.seal_block(access);
            let mut params = vec![jctx];
            for k in 0..nargs - 1 {
                params.push(b.ins().load(I64, t(), jctx, slot(k)));
            }
            let sr = b.import_signature(sig(cc, nargs, 2));
            let callee = b.ins().iconst(I64, shim.addr() as i64);
            let call = b.ins().call_indirect(sr, callee, &params);
            let (v, st) = (b.inst_results(call)[0], b.inst_results(call)[1]);
            b.ins().store(t(), v, params[0], offset_of!(JitCtx, slow_v) as i32);
            b.ins().store(t(), st, params[0], offset_of!(JitCtx, slow_st) as i32);
            b.ins().return_(&[]);
            b.finalize(isa.frontend_config());
        }
        compile_into(&mut ctx, &*isa, &mut image, &[])?;
        ctx.clear();
    }
    let starts = [image.start(0), image.start(1), image.start(2)];
    let code = ExecCode::place(image)?;
    let a = Adapters {
        load: code.at(starts[0]) as usize,
        store: code.at(starts[1]) as usize,
        atomic: code.at(starts[2]) as usize,
    };
    // The adapters serve every program for the rest of the process.
    std::mem::forget(code);
    Ok(a)
}

/// Compile the function in `ctx` for `isa` and append it to `image`.
/// `loops`: the function's innermost loops as (header slot, latch slot), found in
/// the code by the source locations of its instructions (the slots).
fn compile_into(
    ctx: &mut cranelift_codegen::Context,
    isa: &dyn TargetIsa,
    image: &mut Image,
    loops: &[(usize, usize)],
) -> Result<(), JitError> {
    if let Err(e) = ctx.compile(isa, &mut ControlPlane::default()) {
        return Err(JitError::Codegen(format!("{:?}", e.inner)));
    }
    let Some(code) = ctx.compiled_code() else { unreachable!("compile succeeded") };
    image.push(code, ctx.func.params.user_named_funcs(), loops)
}

/// The innermost loops of function `f` as (header slot, latch slot): a jump to a slot
/// at or before itself closes a loop over the slots between; innermost ones contain
/// no other.
fn innermost_loops(prog: &Prog<'_>, f: &FuncInfo) -> Vec<(usize, usize)> {
    let mut loops = Vec::new();
    for blk in &f.blocks {
        let last = blk.pcs[blk.pcs.len() - 1];
        let t = match prog.flow(last) {
            Flow::Jump(t) | Flow::Branch(t, _) => t,
            _ => continue,
        };
        if t <= last {
            loops.push((t, last));
        }
    }
    let contains = |o: &(usize, usize), l: &(usize, usize)| o != l && o.0 <= l.0 && l.1 <= o.1;
    loops.iter().copied().filter(|l| !loops.iter().any(|i| contains(l, i))).collect()
}

/// `BPFBOX_JIT_DUMP=1` prints each function's IR and machine code to stderr (with
/// `BPFBOX_JIT_DUMP_BIN=PATH`, also the code bytes to `PATH.checked.f<n>` or `PATH.unchecked.f<n>`): a debugging aid.
fn dump_enabled() -> bool {
    static DUMP: OnceLock<bool> = OnceLock::new();
    *DUMP.get_or_init(|| std::env::var_os("BPFBOX_JIT_DUMP").is_some())
}

/// What `compile` produced.
pub(crate) struct Compiled {
    pub code: ExecCode,
    pub entry: EntryFn,
    pub helpers: Vec<HelperEntry>,
    pub code_size: usize,
    /// The code may touch frame 0 in memory: a run must zero it first.
    pub uses_frame: bool,
    /// Big-endian reads folded into one load (`Fx::folded_read`).
    pub folded_reads: usize,
}

/// Options of one translation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cfg {
    pub checked: bool,
    pub count: bool,
    pub regalloc: RegAlloc,
}

/// In a helper call's slot selector: `map_lookup_elem` of a constant map from
/// unchecked code, which the runtime may answer directly (`runtime::shim_helper`).
pub(crate) const FAST_MAP_LOOKUP: u64 = 1 << 32;
/// ... of a [`crate::JitOptions::direct_hashes`] map, whose index is in bits 40 up.
pub(crate) const DIRECT_HASH: u64 = 1 << 33;

#[derive(Clone, Copy)]
enum Shim {
    Load,
    Store,
    Atomic,
    Helper,
    CallxHelper,
    LdPacket,
    Fail,
    Zero,
}

impl Shim {
    const N: usize = 8;
    fn addr(self) -> usize {
        match self {
            Shim::Load => runtime::shim_load as *const () as usize,
            Shim::Store => runtime::shim_store as *const () as usize,
            Shim::Atomic => runtime::shim_atomic as *const () as usize,
            Shim::Helper => runtime::shim_helper as *const () as usize,
            Shim::CallxHelper => runtime::shim_callx_helper as *const () as usize,
            Shim::LdPacket => runtime::shim_ld_packet as *const () as usize,
            Shim::Fail => runtime::shim_fail as *const () as usize,
            Shim::Zero => runtime::shim_zero as *const () as usize,
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
            Shim::Zero => (2, false),
        }
    }
}

fn sig(cc: CallConv, params: usize, returns: usize) -> Signature {
    let mut s = Signature::new(cc);
    s.params.extend(std::iter::repeat_n(AbiParam::new(I64), params));
    s.returns.extend(std::iter::repeat_n(AbiParam::new(I64), returns));
    s
}

/// Translate `prog` (analyzed into `funcs`) into native code for the host.
pub(crate) fn compile(
    prog: &Prog<'_>,
    funcs: &[FuncInfo],
    helpers: &HelperTable,
    cfg: Cfg,
) -> Result<Compiled, JitError> {
    let isa = host_isa(cfg.regalloc)?;
    let (image, used, uses_frame) = translate(prog, funcs, helpers, cfg, &*isa)?;
    let code_size = image.bytes.len();
    let folded_reads = image.folded_reads;
    let main = image.start(0);
    let code = ExecCode::place(image)?;
    // SAFETY: function 0 (the main program) was defined as `fn(ctx, fp, r1..r5) ->
    // (r0, status)` of seven and two I64s in the host's default calling convention, which
    // is the C ABI: a `#[repr(C)]` pair of u64 comes back in the same two registers
    // (rax:rdx on x86-64 System V, x0:x1 on AArch64).
    let entry = unsafe { std::mem::transmute::<*const u8, EntryFn>(code.at(main)) };
    Ok(Compiled { code, entry, helpers: used, code_size, folded_reads, uses_frame })
}

/// Translate `prog` into an image of machine code for `isa` (function 0 is the main
/// program; calls between functions are still to be linked), the helpers its code
/// refers to by slot, and whether the code may touch frame 0 in memory.
pub(crate) fn translate(
    prog: &Prog<'_>,
    funcs: &[FuncInfo],
    helpers: &HelperTable,
    cfg: Cfg,
    isa: &dyn TargetIsa,
) -> Result<(Image, Vec<HelperEntry>, bool), JitError> {
    let cc = isa.default_call_conv();
    let slots = promotable_slots(prog, cfg);
    let tcfg = isa.frontend_config();
    let fsig = sig(cc, 7, 2);

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

    // Compile contexts are reused between programs (their allocations, mostly).
    thread_local! {
        static CONTEXTS: std::cell::RefCell<Option<(cranelift_codegen::Context, FunctionBuilderContext)>> =
            const { std::cell::RefCell::new(None) };
    }
    let (mut ctx, mut fctx) = CONTEXTS
        .with(|c| c.borrow_mut().take())
        .unwrap_or_else(|| (cranelift_codegen::Context::new(), FunctionBuilderContext::new()));
    ctx.clear();
    let dump = dump_enabled();
    let mut image = Image::default();
    for (i, f) in funcs.iter().enumerate() {
        ctx.func.signature = fsig.clone();
        ctx.func.name = UserFuncName::user(0, i as u32);
        {
            let b = FunctionBuilder::new(&mut ctx.func, &mut fctx);
            let mut fx = Fx::new(b, prog, f, funcs, &helper_slot, cfg, cc, &slots);
            fx.build();
            fx.b.seal_all_blocks();
            // After sealing: the SSA lookups it completes may still use a byte load.
            fx.remove_folded_loads();
            image.folded_reads += fx.folded_reads;
            fx.b.finalize(tcfg);
        }
        if dump {
            eprintln!("; function at slot {}\n{}", f.entry, ctx.func.display());
            ctx.set_disasm(true);
        }
        if let Err(e) = compile_into(&mut ctx, isa, &mut image, &innermost_loops(prog, f)) {
            return Err(JitError::Codegen(format!("function at {}: {e}", f.entry)));
        }
        if let Some(v) = ctx.compiled_code().and_then(|c| c.vcode.as_ref()).filter(|_| dump) {
            eprintln!("; machine code\n{v}");
            if let Some(path) = std::env::var_os("BPFBOX_JIT_DUMP_BIN") {
                let code = ctx.compiled_code().map(|c| c.code_buffer().to_vec()).unwrap_or_default();
                let mode = if cfg.checked { "checked" } else { "unchecked" };
                let _ = std::fs::write(format!("{}.{mode}.f{i}", path.to_string_lossy()), code);
            }
        }
        ctx.clear();
    }
    ctx.set_disasm(false);
    CONTEXTS.with(|c| *c.borrow_mut() = Some((ctx, fctx)));
    Ok((image, used, uses_frame(prog, cfg, &slots)))
}

/// How an instruction uses r10.
enum R10Use {
    None,
    /// Base of a load or store at a constant offset: `(offset, size)`.
    Slot(i16, Size),
    /// Anything else (written, copied, compared, offset by a register...).
    Other,
}

fn r10_use(insn: &Insn) -> R10Use {
    let r10 = |r: Reg| r == Reg::R10;
    let op = |o: Operand| o == Operand::Reg(Reg::R10);
    let other = |b: bool| if b { R10Use::Other } else { R10Use::None };
    match *insn {
        Insn::Load { size, dst, src, off, .. } if r10(src) && !r10(dst) => R10Use::Slot(off, size),
        Insn::Store { size, dst, off, src } if r10(dst) && !op(src) => R10Use::Slot(off, size),
        Insn::Load { dst, src, .. } => other(r10(dst) || r10(src)),
        Insn::Store { dst, src, .. } => other(r10(dst) || op(src)),
        Insn::Alu { dst, src, .. } | Insn::Jump { dst, src, .. } => other(r10(dst) || op(src)),
        Insn::Neg { dst, .. } | Insn::Endian { dst, .. } | Insn::LoadImm64 { dst, .. } => other(r10(dst)),
        Insn::MovSx { dst, src, .. } | Insn::Atomic { dst, src, .. } => other(r10(dst) || r10(src)),
        Insn::CallX { reg } => other(r10(reg)),
        Insn::LoadPacket { mode, .. } => other(mode == PacketMode::Ind(Reg::R10)),
        Insn::LoadAcquire { dst, src, .. } | Insn::AddrSpaceCast { dst, src, .. } => other(r10(dst) || r10(src)),
        Insn::StoreRelease { dst, src, .. } => other(r10(dst) || r10(src)),
        Insn::LoadImm64Tail | Insn::Ja { .. } | Insn::MayGoto { .. } | Insn::Call(_) | Insn::Exit => R10Use::None,
    }
}

/// Stack slots of unchecked single-function programs kept in SSA variables instead
/// of memory (clang spills registers to the stack; the kernel's JIT keeps every such
/// access a memory access): when r10 serves only as the base of loads and stores at
/// constant offsets, nothing but those accesses can reach the frame, and a slot whose
/// accesses all have one offset and size and overlap no other access behaves like a
/// register. Its first value is 0 (frame 0 is zeroed before each run). Returns the
/// `(offset, size)` of each such slot, the [`MAX_SLOT_VARS`] most used ones.
fn promotable_slots(prog: &Prog<'_>, cfg: Cfg) -> Vec<(i16, Size)> {
    if cfg.checked || prog.entries.len() != 1 || prog.has_callx || prog.r10_written {
        return Vec::new();
    }
    // (offset, size) -> static access count
    let mut counts: std::collections::HashMap<(i16, Size), usize> = std::collections::HashMap::new();
    for (pc, insn) in prog.insns.iter().enumerate() {
        match r10_use(insn) {
            R10Use::None => {}
            R10Use::Other => return Vec::new(),
            R10Use::Slot(..) if prog.converted[pc] => return Vec::new(),
            R10Use::Slot(off, size) => *counts.entry((off, size)).or_default() += 1,
        }
    }
    let mut slots: Vec<(i16, Size, usize)> = counts.into_iter().map(|((o, s), n)| (o, s, n)).collect();
    // Sorted by offset: overlaps are then between neighbours (and the result does not
    // depend on the map's order).
    slots.sort_by_key(|s| (s.0, s.1.bytes()));
    if prog.insns.iter().any(|i| matches!(i, Insn::Call(CallTarget::Local(_)))) {
        return Vec::new();
    }
    let end = |(off, size): (i16, Size)| off as i64 + size.bytes() as i64;
    let in_frame = |s: (i16, Size)| s.0 >= -(STACK_SIZE as i16) && end(s) <= 0;
    let overlap = |a: (i16, Size), b: (i16, Size)| a != b && (a.0 as i64) < end(b) && (b.0 as i64) < end(a);
    // Only neighbours can overlap a slot (accesses are at most 8 bytes): those that
    // start less than 8 bytes before it, or before its end.
    let overlaps = |i: usize| {
        let a = (slots[i].0, slots[i].1);
        slots[..i].iter().rev().take_while(|b| b.0 as i64 > a.0 as i64 - 8).any(|b| overlap(a, (b.0, b.1)))
            || slots[i + 1..].iter().take_while(|b| (b.0 as i64) < end(a)).any(|b| overlap(a, (b.0, b.1)))
    };
    let mut keep: Vec<(i16, Size, usize)> =
        (0..slots.len()).filter(|&i| in_frame((slots[i].0, slots[i].1)) && !overlaps(i)).map(|i| slots[i]).collect();
    // Most used first; ties by offset, for the same choice on every compile.
    keep.sort_by_key(|s| (std::cmp::Reverse(s.2), s.0, s.1.bytes()));
    keep.truncate(MAX_SLOT_VARS);
    keep.into_iter().map(|s| (s.0, s.1)).collect()
}

/// At most this many stack slots become variables: each one is another value for the
/// register allocator (a program with 60 slots compiled 40% slower with all of them),
/// and clang spills few registers in hot code.
const MAX_SLOT_VARS: usize = 8;

/// Whether the code may read or write the stack in memory: checked code always
/// (checked accesses may find the stack through any address), unchecked code when
/// r10 serves as more than the base of accesses to slots kept in variables.
fn uses_frame(prog: &Prog<'_>, cfg: Cfg, slots: &[(i16, Size)]) -> bool {
    if cfg.checked {
        return true;
    }
    prog.insns.iter().any(|i| match r10_use(i) {
        R10Use::None => false,
        R10Use::Slot(off, size) => !slots.contains(&(off, size)),
        R10Use::Other => true,
    })
}

/// Instruction counting in the block being emitted.
#[derive(Clone, Copy)]
struct BlockCount {
    /// Count at block entry.
    base: Value,
    /// Count at block exit.
    nb: Value,
    /// `max - base`, when the block has instructions with effects.
    lim: Option<Value>,
    /// First slot of the block.
    start: usize,
    /// The block's budget-exhausted exit, once made.
    fail: Option<Block>,
}

/// Instructions whose effects (memory, errors, program exit) are observable if the
/// budget runs out after them: the budget is checked right before them.
fn has_effects(insn: Option<&Insn>) -> bool {
    is_access(insn) || matches!(insn, Some(Insn::LoadPacket { .. }))
}

/// Loads, stores and atomics: checked code guards them (and folds the budget check
/// into the guard).
fn is_access(insn: Option<&Insn>) -> bool {
    matches!(
        insn,
        Some(
            Insn::Load { .. }
                | Insn::Store { .. }
                | Insn::Atomic { .. }
                | Insn::LoadAcquire { .. }
                | Insn::StoreRelease { .. }
        )
    )
}

/// Translation state of one function.
struct Fx<'a, 'p> {
    b: FunctionBuilder<'a>,
    p: &'p Prog<'p>,
    f: &'p FuncInfo,
    funcs: &'p [FuncInfo],
    helper_slot: &'p [Option<u32>],
    cfg: Cfg,
    cc: CallConv,
    regs: [Variable; 11],
    cnt: Variable,
    /// The `may_goto` budget left (`linux_6_18.rs`).
    loops: Variable,
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
    preserve_sig: Option<SigRef>,
    /// Counting state of the block being emitted.
    bc: Option<BlockCount>,
    /// Budget exits to fill at the end: (block, count at block entry, first slot).
    pending_fails: Vec<(Block, Value, usize)>,
    frefs: Vec<Option<FuncRef>>,
    /// Index (in its block) of the load, store or atomic being emitted, whose budget
    /// check is still to be made: folded into its access guard, or made on its own.
    pending_effect: Option<usize>,
    /// Stack slots kept in variables (`promotable_slots`): offset, size, variable.
    slots: Vec<(i16, Size, Variable)>,
    /// Values given to registers in the current block (`Fx::compared_after_increment` looks
    /// for an incremented copy of a compared value among them).
    block_defs: Vec<Value>,
    /// The wide loads `Fx::folded_read` made (an outer fold may use an inner one).
    folded_loads: Vec<cranelift_codegen::ir::Inst>,
    /// How many reads `Fx::folded_read` folded.
    folded_reads: usize,
    /// Counts stores, atomics, calls and block switches: a fold may only join
    /// loads made since the last of them (memory then still holds what they read).
    mem_epoch: u32,
    /// The last 4-byte store to `r10 + off` in unchecked code: (off, the value a
    /// 4-byte load gives back, `mem_epoch` right after it), for the inline array
    /// lookup's key (`codegen::mem::inline_array_lookup`).
    last_stack_w: Option<(i16, Value, u32)>,
    /// The `mem_epoch` of each raw byte load and of each wide load of a fold.
    load_epochs: std::collections::HashMap<cranelift_codegen::ir::Inst, u32>,
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
        helper_slot: &'p [Option<u32>],
        cfg: Cfg,
        cc: CallConv,
        slots: &[(i16, Size)],
    ) -> Self {
        let regs: [Variable; 11] = std::array::from_fn(|_| b.declare_var(I64));
        let cnt = b.declare_var(I64);
        let loops = b.declare_var(I64);
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        b.seal_block(entry);
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
            helper_slot,
            cfg,
            cc,
            regs,
            cnt,
            loops,
            ctx,
            fp,
            max,
            stack_lo,
            live_len,
            blocks,
            err_ret,
            prop_ret,
            shims: [None; Shim::N],
            preserve_sig: None,
            bc: None,
            pending_fails: Vec::new(),
            frefs: vec![None; funcs.len()],
            pending_effect: None,
            slots: Vec::new(),
            block_defs: Vec::new(),
            folded_loads: Vec::new(),
            folded_reads: 0,
            mem_epoch: 0,
            last_stack_w: None,
            load_epochs: std::collections::HashMap::new(),
        };
        for &(off, size) in slots {
            let var = fx.b.declare_var(I64);
            fx.b.def_var(var, zero);
            fx.slots.push((off, size, var));
        }
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
        if p.insns.iter().any(|i| matches!(i, Insn::MayGoto { .. })) {
            fx.loops = fx.declare_loops();
        }
        if cfg.count {
            let c = fx.b.ins().load(I64, t(), ctx, offset_of!(JitCtx, cnt) as i32);
            fx.b.def_var(cnt, c);
        }
        fx
    }

    /// Switch to a block made inside one instruction's code: all its predecessors are
    /// emitted by then, so it is sealed at once (fewer SSA block parameters to build
    /// and remove than sealing everything at the end).
    fn enter(&mut self, b: Block) {
        self.b.switch_to_block(b);
        self.block_defs.clear();
        self.mem_epoch += 1;
        self.b.seal_block(b);
    }

    fn get(&mut self, r: Reg) -> Value {
        if r == Reg::R10 && !self.p.r10_written {
            // The frame pointer, unchanged: no SSA variable to track.
            return self.fp;
        }
        self.b.use_var(self.regs[r.idx()])
    }

    fn set(&mut self, r: Reg, v: Value) {
        self.b.def_var(self.regs[r.idx()], v);
        self.block_defs.push(v);
    }

    /// The low 32 bits of the `i64` `v`, as an `i32`: the `i32` it was extended
    /// from when it is an extension (every 32-bit result is one), else a reduction.
    fn lo32(&mut self, v: Value) -> Value {
        if let ValueDef::Result(inst, _) = self.b.func.dfg.value_def(v) {
            if let InstructionData::Unary { opcode: Opcode::Uextend | Opcode::Sextend, arg } =
                self.b.func.dfg.insts[inst]
            {
                if self.b.func.dfg.value_type(arg) == I32 {
                    return arg;
                }
            }
        }
        self.b.ins().ireduce(I32, v)
    }

    /// The `i32` `x` zero-extended to an `i64`. (Reusing the `i64` a 32-bit value
    /// came from, when its upper half is known to be zero, saves a `mov` in some
    /// loops but moves the copy of `w1 = w2` onto the edges of conditional branches,
    /// into blocks of their own: parse and lpm ran 7-10% slower with it. Measured
    /// again with loops placed in one cache line: reusing the extension made in the
    /// same block changed nothing on checksum, lpm or hash, and parse ran 49 -> 59 ns.)
    fn zext32(&mut self, x: Value) -> Value {
        self.b.ins().uextend(I64, x)
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

    /// A slow-path call for a checked access: through the `preserve_all` adapter when
    /// there is one, else straight to the shim. Returns (value, status).
    /// `budget`: the access's budget check, made by the adapter before the access.
    fn slow_call(&mut self, s: Shim, args: &[Value], budget: Option<(Value, usize)>) -> (Value, Value) {
        let Some(a) = adapters() else {
            if let Some((lim, idx)) = budget {
                self.effect_check_with(lim, idx);
            }
            let Some(r) = self.shim(s, args) else { unreachable!("slow shims return two values") };
            return r;
        };
        let target = match s {
            Shim::Load => a.load,
            Shim::Store => a.store,
            _ => a.atomic,
        };
        let sr = match self.preserve_sig {
            Some(r) => r,
            None => {
                let r = self.b.import_signature(sig(CallConv::PreserveAll, 1, 0));
                self.preserve_sig = Some(r);
                r
            }
        };
        debug_assert!(args[0] == self.ctx && args.len() <= 6);
        let slot = |k: usize| (offset_of!(JitCtx, slow_args) + 8 * k) as i32;
        for (k, &a) in args.iter().skip(1).enumerate() {
            self.b.ins().store(t(), a, self.ctx, slot(k));
        }
        let (lim, idx, start) = match (budget, self.bc) {
            (Some((lim, idx)), Some(bc)) => (lim, idx as i64, bc.start as i64),
            _ => (self.iconst(-1), 0, 0),
        };
        let (idx, start) = (self.iconst(idx), self.iconst(start));
        self.b.ins().store(t(), lim, self.ctx, slot(SLOW_LIM));
        self.b.ins().store(t(), idx, self.ctx, slot(SLOW_IDX));
        self.b.ins().store(t(), start, self.ctx, slot(SLOW_START));
        let callee = self.iconst(target as i64);
        self.b.ins().call_indirect(sr, callee, &[self.ctx]);
        let v = self.b.ins().load(I64, t(), self.ctx, offset_of!(JitCtx, slow_v) as i32);
        let st = self.b.ins().load(I64, t(), self.ctx, offset_of!(JitCtx, slow_st) as i32);
        (v, st)
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
        // Leader blocks are sealed once every block that jumps or falls into them is
        // emitted (the entry block also has the jump from the function's entry).
        let f = self.f;
        let mut preds = vec![0u32; self.p.insns.len() + 1];
        preds[f.entry] += 1;
        for blk in &f.blocks {
            for s in self.succs(blk.pcs[blk.pcs.len() - 1]) {
                preds[s] += 1;
            }
        }
        let first = self.block_of(self.f.entry);
        self.b.ins().jump(first, &[]);
        self.done_pred(&mut preds, f.entry);
        for blk in &f.blocks {
            let start = self.block_of(blk.pcs[0]);
            self.b.switch_to_block(start);
            self.block_defs.clear();
            self.mem_epoch += 1;
            let len = blk.pcs.len();
            self.bc = if self.cfg.count {
                let base = self.b.use_var(self.cnt);
                let nb = self.b.ins().iadd_imm_s(base, len as i64);
                self.b.def_var(self.cnt, nb);
                // `lim` = instructions left in the budget at block entry, needed where
                // an instruction before the end of the block has observable effects.
                let effects = blk.pcs.iter().any(|&pc| has_effects(self.p.insn(pc)));
                let lim = effects.then(|| self.b.ins().isub(self.max, base));
                Some(BlockCount { base, nb, lim, start: blk.pcs[0], fail: None })
            } else {
                None
            };
            let mut open = true;
            let order = self.emit_order(&blk.pcs);
            for idx in order {
                let pc = blk.pcs[idx];
                let insn = self.p.insn(pc);
                if idx + 1 == len && !matches!(self.p.flow(pc), Flow::Next(_)) {
                    // The budget runs out before the block's last instruction runs.
                    self.end_check();
                } else if is_access(insn) {
                    // Checked accesses fold the budget check into their guard.
                    self.pending_effect = Some(idx);
                } else if has_effects(insn) {
                    self.effect_check(idx);
                }
                // The slot, so that the code of each loop can be found (`link`).
                self.b.set_srcloc(cranelift_codegen::ir::SourceLoc::new(pc as u32));
                open = self.emit(pc, idx);
                debug_assert!(self.pending_effect.is_none(), "budget check of slot {pc} not made");
            }
            if open {
                // Fell through into the next block.
                self.end_check();
                let last = blk.pcs[len - 1];
                let next = last + self.p.insn(last).map_or(1, |i| i.slots());
                let nb = self.block_of(next);
                self.b.ins().jump(nb, &[]);
            }
            for s in self.succs(blk.pcs[len - 1]) {
                self.done_pred(&mut preds, s);
            }
        }
        // Budget exits, then the shared exits.
        for (fb, base, start) in std::mem::take(&mut self.pending_fails) {
            self.b.switch_to_block(fb);
            let k = self.b.ins().isub(self.max, base);
            self.fail(FAIL_BUDGET, start, k);
        }
        self.b.switch_to_block(self.err_ret);
        let (z, e) = (self.iconst(0), self.iconst(ST_ERROR));
        self.b.ins().return_(&[z, e]);
        self.b.switch_to_block(self.prop_ret);
        let v = self.b.append_block_param(self.prop_ret, I64);
        let st = self.b.append_block_param(self.prop_ret, I64);
        self.b.ins().return_(&[v, st]);
    }

    /// The order to emit a block's instructions in (indices into `pcs`): slot order,
    /// except that in unchecked, uncounted code an increment by a constant (`r2 += 1`)
    /// sinks below the loads after it that neither read nor write its register.
    /// clang's loops compute an address from the counter, increment the counter, then
    /// load (`r3 = r1; r3 += r2; r2 += 1; r4 = *(u8 *)(r3 + 0)`): Cranelift folds the
    /// address into the load, so the old counter lives past the increment, the new
    /// one needs another register and the back edge a copy block (a `mov` and a
    /// second taken jump per iteration). After the loads the increment happens in
    /// place. Nothing observes the order: unchecked loads do not fault, and no
    /// instruction is counted.
    fn emit_order(&self, pcs: &[usize]) -> Vec<usize> {
        let mut order: Vec<usize> = (0..pcs.len()).collect();
        if self.cfg.checked || self.cfg.count || pcs.len() < 3 {
            return order;
        }
        let mut i = 0;
        while i + 2 < order.len() {
            let inc = match self.p.insn(pcs[order[i]]) {
                Some(&Insn::Alu { op: AluOp::Add | AluOp::Sub, dst, src: Operand::Imm(_), .. }) if dst != Reg::R10 => {
                    dst
                }
                _ => {
                    i += 1;
                    continue;
                }
            };
            // How far it may go: past loads and ALU instructions that leave `inc`
            // alone, never past the block's last instruction.
            let (mut j, mut loads) = (i + 1, 0);
            while j + 1 < order.len() {
                let pc = pcs[order[j]];
                let ok = match self.p.insn(pc) {
                    Some(&Insn::Load { dst, src, .. }) if !self.p.converted[pc] => {
                        loads += 1;
                        dst != inc && src != inc
                    }
                    Some(&Insn::Alu { dst, src, .. }) => dst != inc && src != Operand::Reg(inc),
                    _ => false,
                };
                if !ok {
                    break;
                }
                j += 1;
            }
            if loads > 0 {
                let moved = order.remove(i);
                order.insert(j - 1, moved);
                i = j;
            } else {
                i += 1;
            }
        }
        order
    }

    /// Leader slots control goes to from `last`, the last slot of a block.
    fn succs(&self, last: usize) -> Vec<usize> {
        match self.p.flow(last) {
            Flow::Next(s) | Flow::Jump(s) | Flow::Call(s) => vec![s],
            Flow::Branch(t, s) => vec![t, s],
            Flow::Stop => vec![],
        }
    }

    /// One more predecessor of leader `pc` is emitted; seal it after the last one.
    fn done_pred(&mut self, preds: &mut [u32], pc: usize) {
        preds[pc] -= 1;
        if preds[pc] == 0 {
            let b = self.block_of(pc);
            self.b.seal_block(b);
        }
    }

    /// The budget-exhausted exit of the current block (made on first use, filled at
    /// the end of the function): the interpreter stops at instruction `max - base`.
    fn budget_fail(&mut self) -> Block {
        let Some(bc) = self.bc else { unreachable!("counting is on") };
        if let Some(b) = bc.fail {
            return b;
        }
        let fb = self.b.create_block();
        self.b.set_cold_block(fb);
        self.pending_fails.push((fb, bc.base, bc.start));
        if let Some(c) = self.bc.as_mut() {
            c.fail = Some(fb);
        }
        fb
    }

    /// Before instruction `idx` with effects: has the budget run out at or before it?
    fn effect_check(&mut self, idx: usize) {
        let Some(BlockCount { lim: Some(lim), .. }) = self.bc else { return };
        self.effect_check_with(lim, idx);
    }

    fn effect_check_with(&mut self, lim: Value, idx: usize) {
        let out = self.b.ins().icmp_imm_u(IntCC::UnsignedLessThanOrEqual, lim, idx as i64);
        let fb = self.budget_fail();
        let go = self.b.create_block();
        self.b.ins().brif(out, fb, &[], go, &[]);
        self.enter(go);
    }

    /// The budget check of the access being emitted, made on its own.
    fn flush_effect(&mut self) {
        if let Some(idx) = self.pending_effect.take() {
            self.effect_check(idx);
        }
    }

    /// The budget check of the access being emitted, for its guard and slow path:
    /// (instructions left at block entry, index in the block), when one is needed.
    fn take_budget(&mut self) -> Option<(Value, usize)> {
        let idx = self.pending_effect.take()?;
        let lim = self.bc?.lim?;
        Some((lim, idx))
    }

    /// Before leaving the block: does the whole block fit in the budget?
    fn end_check(&mut self) {
        let Some(bc) = self.bc else { return };
        let out = self.b.ins().icmp(IntCC::UnsignedGreaterThan, bc.nb, self.max);
        let fb = self.budget_fail();
        let go = self.b.create_block();
        self.b.ins().brif(out, fb, &[], go, &[]);
        self.enter(go);
    }

    /// Count after instruction `idx` of the current block.
    fn count_at(&mut self, idx: usize) -> Option<Value> {
        let bc = self.bc?;
        Some(self.b.ins().iadd_imm_s(bc.base, idx as i64 + 1))
    }

    /// Emit slot `pc` (instruction `idx` of its block). Returns false when the
    /// instruction ended the block (the current Cranelift block is terminated).
    fn emit(&mut self, pc: usize, idx: usize) -> bool {
        let Some(&insn) = self.p.insn(pc) else {
            self.fail_const(FAIL_FELL_OFF, pc, 0);
            return false;
        };
        let pure = matches!(
            insn,
            Insn::Alu { .. }
                | Insn::Neg { .. }
                | Insn::MovSx { .. }
                | Insn::Endian { .. }
                | Insn::Load { .. }
                | Insn::LoadImm64 { .. }
                | Insn::LoadImm64Tail
                | Insn::Jump { .. }
                | Insn::Ja { .. }
                | Insn::MayGoto { .. }
                | Insn::AddrSpaceCast { .. }
        );
        if !pure {
            // May write memory (stores, atomics, calls) or leave the block.
            self.mem_epoch += 1;
        }
        match insn {
            Insn::Alu { op, width, dst, src } => self.alu(op, width, dst, src),
            Insn::Neg { width, dst } => {
                let a = self.get(dst);
                let v = match width {
                    Width::W64 => self.b.ins().ineg(a),
                    Width::W32 => {
                        let a = self.lo32(a);
                        let n = self.b.ins().ineg(a);
                        self.zext32(n)
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
                let n = if nt == I32 { self.lo32(a) } else { self.b.ins().ireduce(nt, a) };
                let v = match width {
                    Width::W64 => self.b.ins().sextend(I64, n),
                    Width::W32 => {
                        let s = if nt == I32 { n } else { self.b.ins().sextend(I32, n) };
                        self.zext32(s)
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
                let signed = sign_extend && size != Size::DW;
                let v = self.load(pc, base_v, size, signed, src, off);
                self.set(dst, v);
            }
            Insn::Store { size, dst, off, src } => {
                let base_v = self.get(dst);
                let v = match src {
                    Operand::Reg(s) => self.get(s),
                    Operand::Imm(i) => self.iconst(i as i64),
                };
                self.store(pc, base_v, size, v, dst, off);
                if dst == Reg::R10 && size == Size::W && !self.cfg.checked {
                    let lo = self.lo32(v);
                    let x = self.zext32(lo);
                    self.last_stack_w = Some((off, x, self.mem_epoch));
                }
            }
            Insn::Atomic { size, op, fetch, dst, off, src } => self.atomic(pc, size, op, fetch, dst, off, src),
            Insn::LoadAcquire { size, dst, src, off } => self.load_acquire(pc, size, dst, src, off),
            Insn::StoreRelease { size, dst, off, src } => self.store_release(pc, size, dst, off, src),
            Insn::AddrSpaceCast { dst, src, .. } => self.addr_space_cast(dst, src),
            Insn::MayGoto { off } => {
                self.may_goto((pc as i64 + 1 + off as i64) as usize, pc + 1);
                return false;
            }
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
                self.enter(exit);
                if let Some(c) = self.count_at(idx) {
                    self.store_cnt(c);
                }
                let (z, st) = (self.iconst(0), self.iconst(ST_EXIT));
                self.b.ins().return_(&[z, st]);
                self.enter(cont);
                self.set(Reg::R0, v);
            }
            Insn::Ja { off, .. } => {
                let tb = self.block_of((pc as i64 + 1 + off as i64) as usize);
                self.b.ins().jump(tb, &[]);
                return false;
            }
            Insn::Jump { cond, width, dst, src, off } => {
                let c = self.cond(cond, width, dst, src);
                let tb_pc = (pc as i64 + 1 + off as i64) as usize;
                let tb = self.block_of(tb_pc);
                let fb = self.block_of(pc + 1);
                // Branch layout (Ball-Larus "return" heuristic): a successor that runs
                // straight into `exit` is the unlikely one. Its edge goes through a cold
                // block of its own, so register moves for it never sit in the hot path.
                let (t_exit, f_exit) = (self.p.leads_to_exit(tb_pc), self.p.leads_to_exit(pc + 1));
                if tb_pc <= pc {
                    // A loop's back edge (likely taken, Ball-Larus' loop heuristic, which
                    // comes first): the exit falls through, so when the edge needs no
                    // register moves the loop ends in one conditional jump back.
                    self.b.ins().brif(c, tb, &[], fb, &[]);
                } else if t_exit && !f_exit {
                    let tramp = self.b.create_block();
                    self.b.set_cold_block(tramp);
                    self.b.ins().brif(c, tramp, &[], fb, &[]);
                    self.enter(tramp);
                    self.b.ins().jump(tb, &[]);
                } else if f_exit && !t_exit {
                    let tramp = self.b.create_block();
                    self.b.set_cold_block(tramp);
                    self.b.ins().brif(c, tb, &[], tramp, &[]);
                    self.enter(tramp);
                    self.b.ins().jump(fb, &[]);
                } else {
                    self.b.ins().brif(c, tb, &[], fb, &[]);
                }
                return false;
            }
            Insn::Exit => {
                if let Some(c) = self.count_at(idx) {
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
                if let Some(c) = self.count_at(idx) {
                    self.store_cnt(c);
                }
                if id == bpfbox_abi::ids::MAP_LOOKUP_ELEM as i32 && self.inline_array_lookup() {
                    let nb = self.block_of(pc + 1);
                    self.b.ins().jump(nb, &[]);
                    return false;
                }
                let r1 = self.get(Reg::R1);
                let lookup_of = (id == bpfbox_abi::ids::MAP_LOOKUP_ELEM as i32 && !self.cfg.checked)
                    .then(|| self.const_of(r1))
                    .flatten();
                let sel = match lookup_of {
                    Some(h) => match self.p.direct_hashes.iter().position(|&d| d == h as u64) {
                        Some(i) => DIRECT_HASH | (i as u64) << 40,
                        None => FAST_MAP_LOOKUP,
                    },
                    None => 0,
                };
                let s = self.iconst(slot as i64 | sel as i64);
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
                if let Some(c) = self.count_at(idx) {
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
                if let Some(c) = self.count_at(idx) {
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
        let narrow = |fx: &mut Self, v: Value| if bits == 64 { v } else { fx.lo32(v) };
        if op == AluOp::Mov {
            // Straight to the 64-bit value: an immediate is one constant.
            let v = match src {
                Operand::Imm(_) => self.iconst(imm.unwrap_or(0)),
                Operand::Reg(s) if bits == 64 => self.get(s),
                Operand::Reg(s) => {
                    let v = self.get(s);
                    let n = self.lo32(v);
                    self.zext32(n)
                }
            };
            self.set(dst, v);
            return;
        }
        if let (AluOp::And, 32, Some(mask)) = (op, bits, imm) {
            // A 32-bit mask clears the upper half too: one 64-bit `and` (the IR for
            // `w &= imm` is half as long as reduce, and, extend).
            let a = self.get(dst);
            let m = self.iconst(mask);
            let v = self.b.ins().band(a, m);
            self.set(dst, v);
            return;
        }
        // A shift by an immediate needs only the masked amount, not the operand.
        let shift_imm = matches!(op, AluOp::Lsh | AluOp::Rsh | AluOp::Arsh) && imm.is_some();
        let b = match src {
            Operand::Reg(s) => {
                let v = self.get(s);
                narrow(self, v)
            }
            Operand::Imm(_) if shift_imm => self.fp, // unused
            Operand::Imm(_) => self.b.ins().iconst(ty, imm.unwrap_or(0)),
        };
        let a = self.get(dst);
        let a = narrow(self, a);
        let zero = |fx: &mut Self| fx.b.ins().iconst(ty, 0);
        let v = match op {
            AluOp::Add => self.b.ins().iadd(a, b),
            AluOp::Sub => self.b.ins().isub(a, b),
            AluOp::Mul => self.b.ins().imul(a, b),
            AluOp::Or => match self.folded_read(a, b, ty) {
                Some(v) => v,
                None => self.b.ins().bor(a, b),
            },
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
                        zero(self)
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
                        {
                            let z = zero(self);
                            self.b.ins().select(bz, z, q)
                        }
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
                            zero(self)
                        } else {
                            a
                        }
                    }
                    // INT_MIN / -1 wraps; x % -1 is 0.
                    Some(i) if i == minus_one => {
                        if is_div {
                            self.b.ins().ineg(a)
                        } else {
                            zero(self)
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
                            let q = {
                                let z = zero(self);
                                self.b.ins().select(bz, z, q)
                            };
                            self.b.ins().select(bm, na, q)
                        } else {
                            let r = self.b.ins().srem(a, safe);
                            let r = self.b.ins().select(bz, a, r);
                            let z = zero(self);
                            self.b.ins().select(bm, z, r)
                        }
                    }
                }
            }
            AluOp::Mov => unreachable!("handled above"),
        };
        let v = if bits == 64 { v } else { self.zext32(v) };
        self.set(dst, v);
    }

    /// `v` recomputed from a value of this block that is `v + c`, if there is one.
    /// clang's loops copy the counter, increment it, then compare the copy (`r5 =
    /// r3; r3 += 2; if r5 < K goto loop`): the old value then lives past the
    /// increment, so the new one needs another register and the back edge a copy,
    /// which makes the increment a two-cycle chain (`lea`, `mov`: this CPU does not
    /// eliminate moves). Comparing `(r3 + 2) - 2` ends the old value at the
    /// increment, which then happens in place.
    fn compared_after_increment(&mut self, v: Value) -> Value {
        let dfg = &self.b.func.dfg;
        let v = dfg.resolve_aliases(v);
        let ty = dfg.value_type(v);
        let found = self.block_defs.iter().rev().find_map(|&w| {
            // A 32-bit increment is the zero extension of an `i32` addition.
            let w = match dfg.value_def(w) {
                ValueDef::Result(inst, 0) if ty == I32 => match dfg.insts[inst] {
                    InstructionData::Unary { opcode: Opcode::Uextend, arg } => dfg.resolve_aliases(arg),
                    _ => return None,
                },
                _ => w,
            };
            let ValueDef::Result(inst, 0) = dfg.value_def(w) else { return None };
            // Defined in this block (so it dominates the compare).
            if self.b.func.layout.inst_block(inst) != self.b.current_block() {
                return None;
            }
            let InstructionData::Binary { opcode: Opcode::Iadd, args: [x, k] } = dfg.insts[inst] else { return None };
            let c = self.const_of(k)?;
            // The same value, or the low halves of one (each `w = w` makes its own).
            let low = |y: Value| match dfg.value_def(dfg.resolve_aliases(y)) {
                ValueDef::Result(i, 0) => match dfg.insts[i] {
                    InstructionData::Unary { opcode: Opcode::Ireduce, arg } => dfg.resolve_aliases(arg),
                    _ => dfg.resolve_aliases(y),
                },
                _ => dfg.resolve_aliases(y),
            };
            (low(x) == low(v) && dfg.value_type(w) == ty).then_some((w, c))
        });
        match found {
            // A subtraction: Cranelift would fold an addition of `-c` back into an
            // address computation from the old value.
            Some((w, c)) => {
                let c = self.b.ins().iconst(ty, c);
                self.b.ins().isub(w, c)
            }
            None => v,
        }
    }

    fn cond(&mut self, cond: Cond, width: Width, dst: Reg, src: Operand) -> Value {
        let a = self.get(dst);
        let (a, b) = match width {
            Width::W64 => {
                let a = self.compared_after_increment(a);
                let b = match src {
                    Operand::Reg(s) => self.get(s),
                    Operand::Imm(i) => self.iconst(i as i64),
                };
                (a, b)
            }
            Width::W32 => {
                let a = self.lo32(a);
                let a = self.compared_after_increment(a);
                let b = match src {
                    Operand::Reg(s) => {
                        let v = self.get(s);
                        self.lo32(v)
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
        self.enter(cont);
        self.set(Reg::R0, v);
        self.reload_cnt();
    }

    fn func_ref(&mut self, fi: usize) -> FuncRef {
        if let Some(r) = self.frefs[fi] {
            return r;
        }
        // Linked by `Image::link`: the name is the callee's function index.
        let name = self.b.func.declare_imported_user_function(UserExternalName::new(0, fi as u32));
        let signature = self.b.import_signature(sig(self.cc, 7, 2));
        let r = self.b.import_function(ExtFuncData {
            name: ExternalName::User(name),
            signature,
            colocated: true,
            patchable: false,
        });
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
        self.enter(deep);
        self.fail_const(FAIL_DEPTH, pc, MAX_CALL_FRAMES as i64);
        self.enter(go);
        // First time at this depth in the run: zero the new frame.
        let new_lo = self.b.ins().iadd_imm_s(self.fp, -2 * STACK_SIZE as i64);
        let zeroed = self.b.ins().load(I64, t(), self.ctx, offset_of!(JitCtx, zeroed_lo) as i32);
        let fresh = self.b.ins().icmp(IntCC::UnsignedLessThan, new_lo, zeroed);
        let zero = self.b.create_block();
        self.b.set_cold_block(zero);
        let go = self.b.create_block();
        self.b.ins().brif(fresh, zero, &[], go, &[]);
        self.enter(zero);
        let ctx = self.ctx;
        self.shim(Shim::Zero, &[ctx, new_lo]);
        self.b.ins().jump(go, &[]);
        self.enter(go);
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
        self.enter(cont);
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

        self.enter(helper);
        self.helper_call(Shim::CallxHelper, v, pc);
        self.b.ins().jump(join, &[]);

        self.enter(func);
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
        self.enter(bad);
        self.fail(FAIL_BAD_CALL, pc, v);
        for (fi, blk) in cases {
            self.enter(blk);
            self.local_call(fi, pc, ARGS | R0);
            self.b.ins().jump(join, &[]);
        }
        self.enter(join);
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
