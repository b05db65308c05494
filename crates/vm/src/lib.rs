//! bpfbox-vm: an RFC 9669 interpreter for eBPF.
//!
//! ```
//! use bpfbox_isa::decode_program;
//! use bpfbox_vm::{Vm, VmOptions};
//! // r0 = *(u8 *)(r1 + 1); exit
//! let bytes = [0x71, 0x10, 1, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0];
//! let vm = Vm::new(decode_program(&bytes).unwrap(), VmOptions::default()).unwrap();
//! assert_eq!(vm.run(&mut [7, 42]).unwrap().r0, 42);
//! ```
//!
//! Design:
//! - A [`Program`] (validated slot-indexed `Vec<Insn>`) is translated once into a
//!   compact internal form (`ops.rs`): one 12-byte op per slot, operation and operand
//!   kind folded into the variant, jump targets absolute. The loop (`interp.rs`) is
//!   a single `match` with no allocation per instruction.
//! - Registers hold host addresses. Memory is a list of [`Region`]s plus the live
//!   stack frames (512 bytes per frame, up to 8 frames). [`Vm::run`] and
//!   [`Vm::run_with`] check every access (most recently hit region first);
//!   [`Vm::run_unchecked`]/[`Vm::run_with_unchecked`] are `unsafe` and trust the program.
//! - Helpers come from a [`HelperTable`]; see [`HelperCtx`] for what they can reach:
//!   checked copies of program memory, regions they hand to the program
//!   ([`MemView::add_region`]: map values, ring-buffer records), the packet region
//!   they may move, and calls back into the program ([`HelperCtx::call_function`]).
//!   Accesses outside every region go to the run's [`RunEnv`] before faulting: that
//!   is how contexts whose fields the kernel rewrites (`__sk_buff`, `xdp_md`) work.
//!
//! On top of the interpreter, the user-space runtime that runs clang-built programs
//! the way `BPF_PROG_TEST_RUN` does:
//! - [`maps`]: every common map type with the kernel's semantics, shareable between
//!   threads ([`Map`], [`Errno`]);
//! - [`runtime`]: [`Runtime`] (create maps, load programs, `test_run`), kernel
//!   helpers by number (`kernel_helpers.rs`), program contexts (`ctx.rs`),
//!   `trace_printk` formatting (`printk.rs`), checksums (`csum.rs`);
//! - [`world`]: the described host (interfaces, routes, neighbours, tunnel metadata)
//!   that `bpf_fib_lookup` and the tunnel-key helpers read ([`World`]).
//!
//! **Invariant (checked mode):** the interpreter never dereferences an address
//! outside the regions of the run and the live stack frames.

mod csum;
mod ctx;
pub mod debug;
mod error;
mod helpers;
mod interp;
pub mod jit_support;
mod kernel_helpers;
pub mod maps;
mod memory;
mod ops;
mod printk;
mod program;
pub mod runtime;
pub mod world;
mod world_parse;

pub use error::VmError;
pub use helpers::{
    AccessKind, HelperCtx, HelperEntry, HelperFn, HelperOutcome, HelperTable, MemView, RunEnv, VirtualAccess,
};
pub use kernel_helpers::{
    coverage as helper_coverage, implemented as implemented_helpers, missing_reason, HelperCoverage,
};
pub use maps::{Errno, Map, MapId, MapInfo, ProgId};
pub use memory::{Region, RegionKind, MAX_CALL_FRAMES, STACK_SIZE};
pub use ops::FUNC_ADDR_TAG;
pub use program::Program;
pub use runtime::{
    Clock, CompiledProgram, Engine, Event, FakeTask, MapDef, ProgTypeNum, Redirect, Runtime, RuntimeError,
    RuntimeOptions, TestRunInput, TestRunOutput, MAP_HANDLE_TAG, MAX_TAIL_CALL_CNT,
};
pub use world::World;

use bpfbox_isa::{Imm64, Insn};
use std::any::Any;
use std::fmt;
use std::sync::Arc;

/// Resolves pseudo `lddw` immediates (map fds, map values, BTF ids, map indices)
/// to 64-bit values when the VM is built: `(pc, imm) -> value`. `None` leaves the
/// instruction unresolved; executing it fails with [`VmError::Unresolved`].
pub type Resolver = Arc<dyn Fn(usize, Imm64) -> Option<u64> + Send + Sync>;

/// Default instruction budget of one run.
pub const DEFAULT_MAX_INSNS: u64 = 100_000_000;

/// How a [`Vm`] is built.
#[derive(Clone)]
pub struct VmOptions {
    /// Stop with [`VmError::BudgetExceeded`] after this many instructions.
    pub max_insns: u64,
    pub helpers: HelperTable,
    pub resolver: Option<Resolver>,
    /// The run context's directly loadable fields (a runtime program of a type with
    /// a converted context: XDP, `__sk_buff`): per 4-byte context offset, the size of
    /// a load that reads 8 bytes at `ctx + 2 * off` (the context's shadow slot)
    /// instead of going through [`RunEnv::virtual_access`], 0 for the others; with
    /// [`CTX_DIRECT_STORE`] set, a 4-byte store may write the slot's low 4 bytes.
    /// Used for the converted accesses of verified programs whose base is the run's
    /// context pointer (r1 at entry).
    pub ctx_direct: Option<std::sync::Arc<[u8]>>,
    /// Array maps whose `map_lookup_elem` (helper 1) a verified program's compiled
    /// code may do inline, as the kernel's `array_map_gen_lookup`: (map handle, address
    /// of element 0, element stride, `max_entries`). The runtime lends every such
    /// array's storage to the run as a region, so helpers given a value pointer
    /// still find it.
    pub inline_arrays: std::sync::Arc<[InlineArray]>,
    /// Hash maps whose `map_lookup_elem` a verified program's compiled code may
    /// call directly (the kernel's `htab_map_gen_lookup` calls
    /// `__htab_map_lookup_elem`): by map handle, the map itself.
    pub direct_hashes: std::sync::Arc<[DirectHash]>,
}

/// A hash map a compiled program may look up directly ([`VmOptions::direct_hashes`]):
/// preallocated, not per-CPU, readable by programs.
#[derive(Debug, Clone)]
pub struct DirectHash {
    pub handle: u64,
    pub map: std::sync::Arc<Map>,
}

/// The store flag of [`VmOptions::ctx_direct`] entries.
pub const CTX_DIRECT_STORE: u8 = 0x80;

/// An array map a compiled program may look up inline ([`VmOptions::inline_arrays`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InlineArray {
    pub handle: u64,
    pub base: u64,
    pub stride: u64,
    pub max_entries: u32,
}

impl Default for VmOptions {
    fn default() -> Self {
        VmOptions {
            max_insns: DEFAULT_MAX_INSNS,
            helpers: HelperTable::empty(),
            resolver: None,
            ctx_direct: None,
            inline_arrays: std::sync::Arc::new([]),
            direct_hashes: std::sync::Arc::new([]),
        }
    }
}

impl fmt::Debug for VmOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VmOptions")
            .field("max_insns", &self.max_insns)
            .field("helpers", &self.helpers)
            .field("resolver", &self.resolver.as_ref().map(|_| "<fn>"))
            .field("ctx_direct", &self.ctx_direct)
            .field("inline_arrays", &self.inline_arrays)
            .field("direct_hashes", &self.direct_hashes.len())
            .finish()
    }
}

/// The result of a run that reached `exit` (or a helper's `Exit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunOutcome {
    pub r0: u64,
    /// Instructions executed, the final `exit` included (an `lddw` counts once).
    pub insns_executed: u64,
}

/// A program prepared for execution. Runs take `&self`: one `Vm` can serve many
/// runs, also from several threads.
#[derive(Debug)]
pub struct Vm {
    program: Program,
    ops: Vec<ops::Op>,
    helpers_used: Vec<HelperEntry>,
    opts: VmOptions,
    /// Some instruction names r10: without one, nothing can reach the stack and a
    /// run need not zero it.
    uses_stack: bool,
}

impl Vm {
    /// Validate `insns` (see [`Program::new`]) and prepare them.
    pub fn new(insns: Vec<Insn>, opts: VmOptions) -> Result<Vm, VmError> {
        Ok(Vm::from_program(Program::new(insns)?, opts))
    }

    pub fn from_program(program: Program, opts: VmOptions) -> Vm {
        let (ops, helpers_used) = ops::compile(&program, &opts.helpers, opts.resolver.as_ref());
        let uses_stack = program.insns().iter().flat_map(bpfbox_isa::encode).any(|r| r.dst == 10 || r.src == 10);
        Vm { program, ops, helpers_used, opts, uses_stack }
    }

    /// A VM for a program a verifier accepted, to run unchecked
    /// ([`Vm::run_env_unchecked`]): the loads and stores at `converted` (the
    /// verifier's [`converted accesses`](../bpfbox_verifier/struct.Report.html):
    /// through ctx or kernel-object pointers) keep the checked translation and reach
    /// the run's [`RunEnv::virtual_access`], as the kernel rewrites them; every other
    /// access runs unchecked. `Err(pc)` when `converted` names an instruction that is
    /// neither a load nor a store (an atomic on the context: run such programs checked).
    pub fn from_verified(program: Program, opts: VmOptions, converted: &[usize]) -> Result<Vm, usize> {
        let mut vm = Vm::from_program(program, opts);
        ops::convert_accesses(&mut vm.ops, converted)?;
        Ok(vm)
    }

    pub fn program(&self) -> &Program {
        &self.program
    }

    pub fn options(&self) -> &VmOptions {
        &self.opts
    }

    /// Run with `mem` as the packet: r1 = its address, r2 = its length (both 0
    /// when `mem` is empty). Checked mode.
    pub fn run(&self, mem: &mut [u8]) -> Result<RunOutcome, VmError> {
        let (args, region) = mem_args(mem);
        self.run_with(args, region.as_slice(), &mut ())
    }

    /// Run with r1..r5 = `args`, memory `regions` (besides the stack) and an
    /// environment that helpers reach through [`HelperCtx::env`]. Checked mode.
    pub fn run_with(&self, args: [u64; 5], regions: &[Region<'_>], env: &mut dyn Any) -> Result<RunOutcome, VmError> {
        // SAFETY: the checked instantiation translates every access through `regions`.
        unsafe { interp::execute::<true>(self, args, regions, &mut helpers::AnyEnv(env), self.opts.max_insns) }
    }

    /// [`Vm::run_with`] with an environment that also handles accesses outside every
    /// region ([`RunEnv::virtual_access`]) and, if given, an instruction budget for
    /// this run instead of [`VmOptions::max_insns`]. Checked mode.
    pub fn run_env(
        &self,
        args: [u64; 5],
        regions: &[Region<'_>],
        env: &mut dyn RunEnv,
        max_insns: Option<u64>,
    ) -> Result<RunOutcome, VmError> {
        let max = max_insns.unwrap_or(self.opts.max_insns);
        // SAFETY: the checked instantiation translates every access through `regions`.
        unsafe { interp::execute::<true>(self, args, regions, env, max) }
    }

    /// [`Vm::run_env`] without bounds checks, except on converted accesses
    /// ([`Vm::from_verified`]), which still reach `env`.
    ///
    /// # Safety
    /// Every access but the converted ones must fall inside `regions` (a writable
    /// one for stores and atomics) or the live stack frames: the program must have
    /// been accepted by a sound verifier for a context of this shape.
    pub unsafe fn run_env_unchecked(
        &self,
        args: [u64; 5],
        regions: &[Region<'_>],
        env: &mut dyn RunEnv,
        max_insns: Option<u64>,
    ) -> Result<RunOutcome, VmError> {
        let max = max_insns.unwrap_or(self.opts.max_insns);
        // SAFETY: forwarded to the caller.
        unsafe { interp::execute::<false>(self, args, regions, env, max) }
    }

    /// `n` runs as `n` calls of [`Vm::run_env`] (or, `unchecked`, of
    /// [`Vm::run_env_unchecked`]) would make them, over one memory map: for a
    /// program that calls no helper, so nothing but its memory changes between runs.
    /// The last outcome or the first error.
    ///
    /// # Safety
    /// With `unchecked`, as for [`Vm::run_env_unchecked`].
    pub(crate) unsafe fn run_repeat(
        &self,
        args: [u64; 5],
        regions: &[Region<'_>],
        env: &mut dyn RunEnv,
        max_insns: Option<u64>,
        n: u32,
        unchecked: bool,
    ) -> Result<RunOutcome, VmError> {
        let max = max_insns.unwrap_or(self.opts.max_insns);
        // SAFETY: forwarded to the caller; checked runs are safe.
        unsafe {
            match unchecked {
                true => interp::execute_n::<false>(self, args, regions, env, max, n),
                false => interp::execute_n::<true>(self, args, regions, env, max, n),
            }
        }
    }

    /// [`Vm::run`] without bounds checks on loads, stores and atomics.
    ///
    /// # Safety
    /// Every memory access the program makes must fall inside `mem` or the live
    /// stack frames of the current call chain — which holds for programs accepted by
    /// a sound verifier for a context of this shape. Otherwise behaviour is undefined.
    pub unsafe fn run_unchecked(&self, mem: &mut [u8]) -> Result<RunOutcome, VmError> {
        let (args, region) = mem_args(mem);
        // SAFETY: forwarded to the caller.
        unsafe { self.run_with_unchecked(args, region.as_slice(), &mut ()) }
    }

    /// [`Vm::run_with`] without bounds checks on loads, stores and atomics.
    ///
    /// # Safety
    /// Every memory access the program makes must fall inside `regions` (a writable
    /// one for stores and atomics) or the live stack frames. Helpers are still given
    /// checked access.
    pub unsafe fn run_with_unchecked(
        &self,
        args: [u64; 5],
        regions: &[Region<'_>],
        env: &mut dyn Any,
    ) -> Result<RunOutcome, VmError> {
        // SAFETY: the caller upholds the contract of `execute::<false>`.
        unsafe { interp::execute::<false>(self, args, regions, &mut helpers::AnyEnv(env), self.opts.max_insns) }
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

#[cfg(test)]
mod tests;
