//! bpfbox-jit: eBPF to native code through Cranelift.
//!
//! ```
//! use bpfbox_isa::decode_program;
//! use bpfbox_jit::{JitOptions, JitProgram};
//! // r0 = *(u8 *)(r1 + 1); exit
//! let bytes = [0x71, 0x10, 1, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0];
//! let insns = decode_program(&bytes).unwrap();
//! let prog = JitProgram::compile(&insns, &JitOptions::default()).unwrap();
//! assert_eq!(prog.run(&mut [7, 42]).unwrap().r0, 42);
//! ```
//!
//! The interpreter (`bpfbox-vm`) is the reference: a compiled program gives the same
//! r0, memory, instruction count and errors (pc, address, size) as [`bpfbox_vm::Vm`]
//! in every case — division by zero, shift masking, 32-bit zero extension,
//! sign-extending loads, atomics, legacy packet loads, helper side effects, call
//! depth, the instruction budget. The differential tests hold it to that.
//!
//! Design (see `codegen.rs` and `analysis.rs` for the details):
//! - Each eBPF function becomes one native function; registers are SSA variables, so
//!   they live in machine registers. bpf-to-bpf calls are native calls with a new
//!   512-byte frame in the same stack area the interpreter would use; r6–r9 survive
//!   because they are the caller's own variables. Helpers are called through the
//!   interpreter's [`HelperTable`] with a real [`bpfbox_vm::HelperCtx`]; helper
//!   callbacks (`bpf_loop`, ...) run in the interpreter.
//! - **Checked** mode ([`JitOptions::checked`]): every load, store and atomic is
//!   checked inline against the live stack frames and the last region used, and
//!   otherwise goes through the interpreter's own region lookup (and
//!   [`RunEnv::virtual_access`]), failing with the same error. **Unchecked** mode
//!   emits raw accesses; runs are `unsafe` (for programs a sound verifier accepted).
//! - Instructions are counted per basic block (the count is exact, also when the
//!   budget runs out in the middle of a block); counting can be turned off for
//!   unchecked programs.
//! - The target is the host (`cranelift-native`); [`cross`] compiles the same
//!   translation for another triple (AArch64), which `tests/cross.rs` runs under
//!   qemu-aarch64 against the interpreter.
//!
//! **Invariant (W^X):** generated code is written into read-write pages that are
//! then made read+execute (`link::ExecCode` over `cranelift-jit`'s system memory
//! provider, `mprotect`);
//! no page is ever writable and executable at once. The pages are unmapped when the
//! [`JitProgram`] is dropped.
//!
//! Tail calls are a helper in bpfbox (`bpf_tail_call` records the next program and
//! returns [`bpfbox_vm::HelperOutcome::Exit`]; `bpfbox_vm::Runtime` then starts it,
//! compiled by the same engine: [`JitEngine`] in `RuntimeOptions::engine`), so the
//! JIT runs them as any helper. The runtime's own tests, tail calls included, run
//! on this engine too (`BPFBOX_TEST_ENGINE=jit`).
//!
//! `BPFBOX_JIT_DUMP=1` prints the Cranelift IR and machine code of every function.

mod analysis;
mod codegen;
pub mod cross;
pub mod fuzz;
mod link;
mod runtime;

use bpfbox_isa::{AtomicOp, Insn, Reg};
use bpfbox_vm::{HelperEntry, HelperTable, Region, RegionKind, Resolver, RunEnv, RunOutcome, Vm, VmError, VmOptions};
use bpfbox_vm::{DEFAULT_MAX_INSNS, MAX_CALL_FRAMES, STACK_SIZE};
use std::any::Any;
use std::fmt;

/// How a program is compiled.
#[derive(Clone)]
pub struct JitOptions {
    /// Bounds-check every memory access (as the interpreter's checked mode). Without
    /// it, runs are `unsafe` ([`JitProgram::run_unchecked`] and friends).
    pub checked: bool,
    pub helpers: HelperTable,
    /// Instruction budget of a run ([`VmError::BudgetExceeded`] after this many).
    pub max_insns: u64,
    /// Count instructions (for [`RunOutcome::insns_executed`] and the budget). Always
    /// on in checked mode; turning it off for unchecked code saves an add and a
    /// compare per basic block, and runs report 0 instructions.
    pub count_insns: bool,
    /// Resolves pseudo `lddw` immediates, as [`VmOptions::resolver`].
    pub resolver: Option<Resolver>,
    /// Unchecked mode: loads and stores (by slot) that still go through the checked
    /// translation and the run's [`RunEnv::virtual_access`] — a verifier's converted
    /// accesses (through ctx or kernel-object pointers), as for
    /// [`bpfbox_vm::Vm::from_verified`]. Atomics cannot be converted.
    pub converted: Vec<usize>,
    /// The register allocator: compile time against run time.
    pub regalloc: RegAlloc,
    /// Converted loads of context fields that read the context's shadow directly
    /// when their base is the run's context pointer: [`VmOptions::ctx_direct`].
    pub ctx_direct: Option<std::sync::Arc<[u8]>>,
    /// Array lookups unchecked code may do inline: [`VmOptions::inline_arrays`].
    pub inline_arrays: std::sync::Arc<[bpfbox_vm::InlineArray]>,
    /// Hash lookups unchecked code may call directly: [`VmOptions::direct_hashes`].
    pub direct_hashes: std::sync::Arc<[bpfbox_vm::DirectHash]>,
}

/// Cranelift's register allocators (its `regalloc_algorithm` setting).
///
/// Measured on the benchmark programs of `scripts/bench-jit.sh` (x86-64):
/// [`RegAlloc::SinglePass`] compiles a 1,000-instruction program about 30% faster
/// than [`RegAlloc::Backtracking`], but keeps values in stack slots across basic
/// blocks, so the code runs about 2-3.5x slower.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(usize)]
pub enum RegAlloc {
    /// regalloc2's backtracking allocator with live-range splitting: the best code.
    #[default]
    Backtracking,
    /// regalloc2's single-pass allocator (fastalloc): faster compilation, slower code.
    SinglePass,
}

impl Default for JitOptions {
    fn default() -> Self {
        JitOptions {
            checked: true,
            helpers: HelperTable::empty(),
            max_insns: DEFAULT_MAX_INSNS,
            count_insns: true,
            resolver: None,
            converted: Vec::new(),
            regalloc: RegAlloc::Backtracking,
            ctx_direct: None,
            inline_arrays: std::sync::Arc::new([]),
            direct_hashes: std::sync::Arc::new([]),
        }
    }
}

impl fmt::Debug for JitOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JitOptions")
            .field("checked", &self.checked)
            .field("helpers", &self.helpers)
            .field("max_insns", &self.max_insns)
            .field("count_insns", &self.count_insns)
            .field("resolver", &self.resolver.as_ref().map(|_| "<fn>"))
            .field("converted", &self.converted)
            .field("regalloc", &self.regalloc)
            .field("ctx_direct", &self.ctx_direct)
            .field("inline_arrays", &self.inline_arrays)
            .field("direct_hashes", &self.direct_hashes.len())
            .finish()
    }
}

/// Why a program could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JitError {
    /// The program is malformed (empty, bad jump, broken `lddw`), as [`Vm::new`] says.
    #[error(transparent)]
    Program(#[from] VmError),
    #[error("JIT not available on this host: {0}")]
    Isa(String),
    #[error("code generation failed: {0}")]
    Codegen(String),
}

/// The executable memory of a program; freed on drop (no run is in progress then:
/// runs borrow the [`JitProgram`], and no pointer into the code outlives it).
struct Code {
    #[allow(dead_code)] // owned: the code `entry` points into
    exec: link::ExecCode,
    entry: codegen::EntryFn,
    size: usize,
    folded_reads: usize,
}

// SAFETY: once placed, the code is immutable and reentrant; it is only unmapped on drop.
unsafe impl Send for Code {}
// SAFETY: as above.
unsafe impl Sync for Code {}

/// What runs need besides the code.
pub(crate) struct Inner {
    /// The interpreter over the same program: helper callbacks run on it.
    pub vm: Vm,
    /// Helpers called by id, in the slots the code refers to.
    pub helpers: Vec<HelperEntry>,
    pub checked: bool,
    pub count: bool,
    /// Runs zero frame 0 first (not needed when the code never touches it in memory).
    pub zero_frame: bool,
}

/// A compiled program. Runs take `&self`; one program can serve many runs, also
/// from several threads.
pub struct JitProgram {
    inner: Inner,
    code: Code,
}

impl fmt::Debug for JitProgram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JitProgram")
            .field("insns", &self.inner.vm.program().insns().len())
            .field("checked", &self.inner.checked)
            .field("code_size", &self.code.size)
            .finish()
    }
}

#[repr(C, align(16))]
struct StackArea([u8; MAX_CALL_FRAMES * STACK_SIZE]);

/// [`RunEnv`] over a plain `&mut dyn Any`.
struct AnyEnv<'a>(&'a mut dyn Any);

impl RunEnv for AnyEnv<'_> {
    fn as_any(&mut self) -> &mut dyn Any {
        self.0
    }
}

fn writes_r10(insn: &Insn) -> bool {
    let d = match *insn {
        Insn::Atomic { fetch: true, src, op, .. } if op != AtomicOp::CmpXchg => Some(src),
        Insn::Atomic { op: AtomicOp::Xchg, src, .. } => Some(src),
        ref i => i.dst_written(),
    };
    d == Some(Reg::R10)
}

/// The interpreter over `insns` (validated), which also serves the JIT's helper
/// callbacks.
fn program_vm(insns: &[Insn], opts: &JitOptions) -> Result<Vm, JitError> {
    let vm_opts = VmOptions {
        max_insns: opts.max_insns,
        helpers: opts.helpers.clone(),
        resolver: opts.resolver.clone(),
        ctx_direct: opts.ctx_direct.clone(),
        inline_arrays: opts.inline_arrays.clone(),
        direct_hashes: opts.direct_hashes.clone(),
    };
    Ok(Vm::new(insns.to_vec(), vm_opts)?)
}

/// What the translator needs to know of `vm`'s program.
fn analysis_input<'v>(vm: &'v Vm, opts: &JitOptions) -> Result<analysis::Prog<'v>, JitError> {
    let program = vm.program();
    let insns = program.insns();
    Ok(analysis::Prog {
        insns,
        lddw: analysis::resolve_lddw(insns, opts.resolver.as_ref()),
        entries: program.functions(),
        has_callx: insns.iter().any(|i| matches!(i, Insn::CallX { .. })),
        r10_written: insns.iter().any(writes_r10),
        ctx_direct: opts.ctx_direct.as_deref().map(<[u8]>::to_vec),
        inline_arrays: opts.inline_arrays.to_vec(),
        direct_hashes: opts.direct_hashes.iter().map(|d| d.handle).collect(),
        converted: {
            let mut c = vec![false; insns.len()];
            for &pc in &opts.converted {
                match insns.get(pc) {
                    Some(Insn::Load { .. } | Insn::Store { .. }) => c[pc] = true,
                    _ => return Err(JitError::Codegen(format!("converted access at {pc} is not a load or store"))),
                }
            }
            c
        },
    })
}

impl JitProgram {
    /// Validate `insns` (slot-indexed, as [`bpfbox_isa::decode_program`] gives them)
    /// and compile them for the host.
    pub fn compile(insns: &[Insn], opts: &JitOptions) -> Result<JitProgram, JitError> {
        let vm = program_vm(insns, opts)?;
        let count = opts.checked || opts.count_insns;
        let prog = analysis_input(&vm, opts)?;
        let funcs = analysis::analyze(&prog);
        let cfg = codegen::Cfg { checked: opts.checked, count, regalloc: opts.regalloc };
        let c = codegen::compile(&prog, &funcs, &opts.helpers, cfg)?;
        let code = Code { exec: c.code, entry: c.entry, size: c.code_size, folded_reads: c.folded_reads };
        let inner = Inner { vm, helpers: c.helpers, checked: opts.checked, count, zero_frame: c.uses_frame };
        Ok(JitProgram { inner, code })
    }

    /// Whether the program was compiled in checked mode (safe runs).
    pub fn is_checked(&self) -> bool {
        self.inner.checked
    }

    /// Bytes of machine code generated.
    pub fn code_size(&self) -> usize {
        self.code.size
    }

    /// How many big-endian 16- and 32-bit reads made of byte loads (`(p[k] << 8) |
    /// p[k + 1]`, clang's `be16` and `be32`) the unchecked code makes with one load.
    pub fn folded_reads(&self) -> usize {
        self.code.folded_reads
    }

    /// Address of the main function's code (to inspect the code pages' protection).
    pub fn code_address(&self) -> usize {
        self.code.entry as usize
    }

    /// The interpreter over the same program (what helper callbacks run on).
    pub fn vm(&self) -> &Vm {
        &self.inner.vm
    }

    /// Run with `mem` as the packet: r1 = its address, r2 = its length (both 0 when
    /// `mem` is empty), as [`Vm::run`].
    ///
    /// # Panics
    /// If the program was compiled unchecked (use [`JitProgram::run_unchecked`]).
    pub fn run(&self, mem: &mut [u8]) -> Result<RunOutcome, VmError> {
        let (args, region) = mem_args(mem);
        self.run_with(args, region.as_slice(), &mut ())
    }

    /// Run with r1..r5 = `args`, memory `regions` (besides the stack) and an
    /// environment helpers reach through [`bpfbox_vm::HelperCtx::env`], as [`Vm::run_with`].
    ///
    /// # Panics
    /// If the program was compiled unchecked.
    pub fn run_with(&self, args: [u64; 5], regions: &[Region<'_>], env: &mut dyn Any) -> Result<RunOutcome, VmError> {
        self.run_env(args, regions, &mut AnyEnv(env), None)
    }

    /// As [`Vm::run_env`]: an environment that also handles accesses outside every
    /// region, and optionally a budget for this run.
    ///
    /// # Panics
    /// If the program was compiled unchecked.
    pub fn run_env(
        &self,
        args: [u64; 5],
        regions: &[Region<'_>],
        env: &mut dyn RunEnv,
        max_insns: Option<u64>,
    ) -> Result<RunOutcome, VmError> {
        assert!(self.inner.checked, "JitProgram compiled unchecked: use the unsafe run_*_unchecked methods");
        // SAFETY: checked code translates every access through `regions` and the stack.
        unsafe { self.execute(args, regions, env, max_insns) }
    }

    /// [`JitProgram::run`] for any program (checked or not).
    ///
    /// # Safety
    /// For a program compiled unchecked: every memory access it makes must fall inside
    /// `mem` or the live stack frames of the current call chain — which holds for
    /// programs accepted by a sound verifier for a context of this shape. Otherwise
    /// behaviour is undefined.
    pub unsafe fn run_unchecked(&self, mem: &mut [u8]) -> Result<RunOutcome, VmError> {
        let (args, region) = mem_args(mem);
        // SAFETY: forwarded to the caller.
        unsafe { self.run_with_unchecked(args, region.as_slice(), &mut ()) }
    }

    /// [`JitProgram::run_with`] for any program.
    ///
    /// # Safety
    /// As for [`JitProgram::run_unchecked`], with `regions` (writable ones for
    /// stores and atomics) in place of `mem`. Helpers still get checked access.
    pub unsafe fn run_with_unchecked(
        &self,
        args: [u64; 5],
        regions: &[Region<'_>],
        env: &mut dyn Any,
    ) -> Result<RunOutcome, VmError> {
        // SAFETY: forwarded to the caller.
        unsafe { self.execute(args, regions, &mut AnyEnv(env), None) }
    }

    /// [`JitProgram::run_env`] for any program.
    ///
    /// # Safety
    /// As for [`JitProgram::run_with_unchecked`].
    pub unsafe fn run_env_unchecked(
        &self,
        args: [u64; 5],
        regions: &[Region<'_>],
        env: &mut dyn RunEnv,
        max_insns: Option<u64>,
    ) -> Result<RunOutcome, VmError> {
        // SAFETY: forwarded to the caller.
        unsafe { self.execute(args, regions, env, max_insns) }
    }

    /// # Safety
    /// Unchecked code: the contract of [`JitProgram::run_with_unchecked`].
    unsafe fn execute(
        &self,
        args: [u64; 5],
        regions: &[Region<'_>],
        env: &mut dyn RunEnv,
        max_insns: Option<u64>,
    ) -> Result<RunOutcome, VmError> {
        // SAFETY: forwarded.
        unsafe { self.execute_n(args, regions, env, max_insns, 1) }
    }

    /// `n` runs (n >= 1) with one setup, each as a fresh [`JitProgram::execute`] run
    /// (zeroed frame 0, its own budget): the last outcome or the first error. For
    /// `n > 1` the caller makes sure nothing outside the program's memory changes
    /// between runs (no helpers).
    ///
    /// # Safety
    /// As for `execute`.
    unsafe fn execute_n(
        &self,
        args: [u64; 5],
        regions: &[Region<'_>],
        env: &mut dyn RunEnv,
        max_insns: Option<u64>,
        n: u32,
    ) -> Result<RunOutcome, VmError> {
        // Frame 0 is zeroed before each run, deeper frames when first entered
        // (`JitCtx::zeroed_lo`).
        let mut stack = std::mem::MaybeUninit::<StackArea>::uninit();
        let base = stack.as_mut_ptr() as *mut u8;
        let top = base.expose_provenance() as u64 + (MAX_CALL_FRAMES * STACK_SIZE) as u64;
        let max = max_insns.unwrap_or(self.inner.vm.options().max_insns);
        let mut rt = runtime::Rt { inner: &self.inner, regions, stack: base, mem: None, env, error: None, panic: None };
        let mut ctx = runtime::JitCtx::new(top, max, &mut rt as *mut runtime::Rt<'_> as *mut ());
        ctx.ctx_addr = args[0];
        if let Some(r) = regions.first() {
            ctx.remember(bpfbox_vm::jit_support::RegionBounds {
                start: r.start(),
                len: r.len(),
                writable: r.writable(),
            });
        }
        let [a1, a2, a3, a4, a5] = args;
        let mut last = RunOutcome { r0: 0, insns_executed: 0 };
        for i in 0..n.max(1) {
            if i > 0 {
                ctx.next_run();
            }
            if self.inner.zero_frame {
                // SAFETY: the top frame of the area we own.
                unsafe { base.add((MAX_CALL_FRAMES - 1) * STACK_SIZE).write_bytes(0, STACK_SIZE) };
            }
            // SAFETY: `entry` is this program's main function; `ctx` and `rt` outlive the call.
            let out = unsafe { (self.code.entry)(&mut ctx, top, a1, a2, a3, a4, a5) };
            (ctx.ret_r0, ctx.ret_status) = (out.a, out.b);
            if let Some(p) = rt.panic.take() {
                std::panic::resume_unwind(p);
            }
            let executed = if self.inner.count { ctx.cnt } else { 0 };
            last = match ctx.ret_status as i64 {
                codegen::ST_RETURN | codegen::ST_EXIT => RunOutcome { r0: ctx.ret_r0, insns_executed: executed },
                _ => {
                    return Err(rt.error.take().unwrap_or(VmError::Helper {
                        pc: 0,
                        id: 0,
                        reason: "JIT run failed without an error (internal)".into(),
                    }))
                }
            };
        }
        Ok(last)
    }
}

fn mem_args(mem: &mut [u8]) -> ([u64; 5], Option<Region<'_>>) {
    if mem.is_empty() {
        return ([0; 5], None);
    }
    let len = mem.len() as u64;
    let region = Region::from_mut(RegionKind::Packet, mem);
    ([region.start(), len, 0, 0, 0], Some(region))
}

/// The JIT as a [`bpfbox_vm::Engine`]: plug it into
/// [`bpfbox_vm::RuntimeOptions::engine`] to run a [`bpfbox_vm::Runtime`]'s programs
/// compiled. Programs loaded with `load_program*` are compiled checked; programs
/// loaded with `Runtime::load_verified_program` unchecked, but for the verifier's
/// converted accesses (`Engine::compile_verified`).
#[derive(Debug, Clone, Copy, Default)]
pub struct JitEngine;

/// A runtime program's JIT options: the VM's helpers, budget and resolver, counting on.
///
/// Verified programs count instructions only when a budget other than the default
/// is set: the kernel runs them without one (the verifier proved they end), and
/// counting costs a load, an add and a branch per block.
fn engine_options(opts: &VmOptions, checked: bool, converted: &[usize]) -> JitOptions {
    JitOptions {
        checked,
        helpers: opts.helpers.clone(),
        max_insns: opts.max_insns,
        count_insns: checked || opts.max_insns != bpfbox_vm::DEFAULT_MAX_INSNS,
        resolver: opts.resolver.clone(),
        converted: converted.to_vec(),
        regalloc: RegAlloc::Backtracking,
        ctx_direct: opts.ctx_direct.clone(),
        inline_arrays: opts.inline_arrays.clone(),
        direct_hashes: opts.direct_hashes.clone(),
    }
}

impl bpfbox_vm::Engine for JitEngine {
    fn compile(
        &self,
        program: &bpfbox_vm::Program,
        opts: &VmOptions,
    ) -> Result<Box<dyn bpfbox_vm::CompiledProgram>, String> {
        let p = JitProgram::compile(program.insns(), &engine_options(opts, true, &[])).map_err(|e| e.to_string())?;
        Ok(Box::new(p))
    }

    unsafe fn compile_verified(
        &self,
        program: &bpfbox_vm::Program,
        opts: &VmOptions,
        converted: &[usize],
    ) -> Option<Result<Box<dyn bpfbox_vm::CompiledProgram>, String>> {
        Some(
            JitProgram::compile(program.insns(), &engine_options(opts, false, converted))
                .map(|p| Box::new(VerifiedJit(p)) as Box<dyn bpfbox_vm::CompiledProgram>)
                .map_err(|e| e.to_string()),
        )
    }
}

/// A program compiled unchecked for [`bpfbox_vm::Engine::compile_verified`]: its
/// runs rely on the verification the runtime's caller promised.
struct VerifiedJit(JitProgram);

impl bpfbox_vm::CompiledProgram for VerifiedJit {
    fn run_env(
        &self,
        args: [u64; 5],
        regions: &[Region<'_>],
        env: &mut dyn RunEnv,
        max_insns: Option<u64>,
    ) -> Result<RunOutcome, VmError> {
        // SAFETY: built only by `compile_verified`, whose caller promised that a sound
        // verifier accepted the program; its converted accesses are still translated.
        unsafe { self.0.run_env_unchecked(args, regions, env, max_insns) }
    }

    fn run_repeat(
        &self,
        args: [u64; 5],
        regions: &[Region<'_>],
        env: &mut dyn RunEnv,
        max_insns: Option<u64>,
        n: u32,
    ) -> Option<Result<RunOutcome, VmError>> {
        // SAFETY: as in `run_env`.
        Some(unsafe { self.0.execute_n(args, regions, env, max_insns, n) })
    }
}

impl bpfbox_vm::CompiledProgram for JitProgram {
    fn run_env(
        &self,
        args: [u64; 5],
        regions: &[Region<'_>],
        env: &mut dyn RunEnv,
        max_insns: Option<u64>,
    ) -> Result<RunOutcome, VmError> {
        JitProgram::run_env(self, args, regions, env, max_insns)
    }
}
