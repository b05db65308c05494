//! What the JIT (`bpfbox-jit`) needs of the interpreter's run-time internals, so
//! that compiled code and the interpreter share one memory model and one helper
//! interface instead of two copies of them.
//!
//! A JIT run owns a [`JitMem`]: the same [`Mem`] the interpreter builds (live stack
//! frames over a caller-provided stack area, the caller's regions, the movable packet,
//! regions added by helpers). Compiled code reaches it only on slow paths: a memory
//! access outside its inline fast checks, a legacy packet load, a helper call.
//! Helper calls get a real [`HelperCtx`], so helpers cannot tell the engines apart,
//! and callbacks ([`HelperCtx::call_function`]) run in the interpreter on the [`Vm`]
//! the JIT keeps beside its code.

use crate::error::VmError;
use crate::helpers::{HelperCtx, HelperEntry, HelperOutcome, RunEnv};
use crate::memory::{Mem, Region, RegionKind};
use crate::Vm;
use bpfbox_isa::Imm64;

/// The high bits of a function address loaded by `lddw` src=4; see [`crate::FUNC_ADDR_TAG`].
pub const FUNC_ADDR_MASK: u64 = crate::ops::FUNC_ADDR_MASK;

/// What a pseudo `lddw` loads, as [`VmError::Unresolved`] names it.
pub fn pseudo_name(imm: Imm64) -> &'static str {
    let src = match imm {
        Imm64::Value(_) => 0,
        Imm64::MapFd(_) => 1,
        Imm64::MapValue { .. } => 2,
        Imm64::BtfId { .. } => 3,
        Imm64::Func(_) => 4,
        Imm64::MapIdx(_) => 5,
        Imm64::MapIdxValue { .. } => 6,
    };
    crate::ops::pseudo_name(src)
}

/// The memory of one JIT run.
#[derive(Debug)]
pub struct JitMem {
    mem: Mem,
}

/// A region as the JIT caches it: start address, length, writable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegionBounds {
    pub start: u64,
    pub len: u64,
    pub writable: bool,
}

impl JitMem {
    /// The memory of a run over `regions`, with the stack frames in `stack`.
    ///
    /// # Safety
    /// `stack` must point to `MAX_CALL_FRAMES * STACK_SIZE` writable bytes, and they and
    /// the regions' memory must stay valid (and unaliased) while this `JitMem` is used.
    pub unsafe fn new(stack: *mut u8, regions: &[Region<'_>]) -> JitMem {
        JitMem { mem: Mem::new(stack, regions) }
    }

    /// `map_lookup_elem(handle, key)` for a verified program, without a
    /// [`HelperCtx`]: the key is read where the verifier proved it readable
    /// (`key_size` bytes at `key`), the value handed out as the helper does. `None`
    /// when `env` is not a runtime's run or the map is not one to look up this way
    /// (the caller then makes the ordinary helper call).
    ///
    /// # Safety
    /// `key..key + key_size` must be readable: the program was verified.
    pub unsafe fn map_lookup_verified(&mut self, env: &mut dyn RunEnv, handle: u64, key: u64) -> Option<u64> {
        // SAFETY: forwarded.
        unsafe { crate::runtime::map_lookup_verified(&mut self.mem, env, handle, key) }
    }

    /// Hand `len` bytes of map value at `ptr` to the run (a value a direct lookup
    /// returned), so that helpers given its address find it.
    ///
    /// # Safety
    /// The memory must stay valid for the rest of the run.
    pub unsafe fn add_map_value(&mut self, ptr: *mut u8, len: u64, writable: bool) {
        // SAFETY: the caller's contract.
        self.mem.add(&unsafe { Region::from_raw_parts(RegionKind::MapValue, ptr, len, writable) });
    }

    /// Make frames `0..=depth` the live stack; returns `r10` of frame `depth`.
    pub fn set_depth(&mut self, depth: usize) -> u64 {
        self.mem.set_depth(depth)
    }

    /// Checked translation, exactly as the interpreter's checked mode does it (the
    /// live stack per the last [`JitMem::set_depth`]).
    pub fn translate(&mut self, addr: u64, size: u64, write: bool, pc: usize) -> Result<*mut u8, VmError> {
        self.mem.translate(addr, size, write, pc)
    }

    /// The region containing `addr`, if any (the live stack included).
    pub fn region_of(&self, addr: u64) -> Option<RegionBounds> {
        self.mem.region_of(addr).map(|r| RegionBounds { start: r.start, len: r.len, writable: r.writable })
    }

    /// The packet region (legacy `LD_ABS`/`LD_IND` read it) as (pointer, length).
    pub fn packet(&self) -> Option<(*const u8, u64)> {
        self.mem.packet()
    }

    /// Call a helper as the interpreter does at call depth `depth`; `executed` is the
    /// run's instruction count (callbacks add to it), `max` its budget, `checked`
    /// the mode callbacks run in.
    #[allow(clippy::too_many_arguments)]
    pub fn call_helper(
        &mut self,
        vm: &Vm,
        entry: &HelperEntry,
        env: &mut dyn RunEnv,
        pc: usize,
        depth: usize,
        executed: &mut u64,
        max: u64,
        checked: bool,
        args: [u64; 5],
    ) -> Result<HelperOutcome, VmError> {
        self.mem.set_depth(depth);
        let mut ctx = HelperCtx { mem: &mut self.mem, env, pc, id: entry.proto.id, vm, depth, executed, max, checked };
        (entry.func)(&mut ctx, args)
    }
}
