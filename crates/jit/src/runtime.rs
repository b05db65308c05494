//! The run-time side of compiled code: the context it reads and writes
//! ([`JitCtx`]), and the `extern "C"` shims it calls on slow paths. The shims work
//! through `bpfbox_vm::jit_support::JitMem` — the interpreter's own memory model
//! and helper interface — so errors, helper behaviour and region bookkeeping are the
//! interpreter's, not a copy of them.
//!
//! Shims never unwind into generated code: a panic (in a helper or an environment)
//! is caught, parked in [`Rt::panic`], reported as an error status, and resumed
//! once the generated code has returned.

use crate::codegen::{
    FAIL_BAD_CALL, FAIL_BUDGET, FAIL_DEPTH, FAIL_FELL_OFF, FAIL_KFUNC, FAIL_LDDW_TAIL, FAIL_UNKNOWN_HELPER,
    FAIL_UNRESOLVED, ST_ERROR, ST_EXIT, ST_RETURN,
};
use crate::Inner;
use bpfbox_isa::Imm64;
use bpfbox_vm::jit_support::{pseudo_name, JitMem, RegionBounds};
use bpfbox_vm::{
    AccessKind, HelperEntry, HelperOutcome, Region, RunEnv, VirtualAccess, VmError, MAX_CALL_FRAMES, STACK_SIZE,
};
use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

/// What generated code sees of a run. Field offsets are baked into the code.
#[repr(C)]
#[derive(Debug)]
pub(crate) struct JitCtx {
    /// One past the top of frame 0 (= r10 of the main program).
    pub stack_top: u64,
    /// A call from a frame whose fp is `<=` this would exceed `MAX_CALL_FRAMES`.
    pub depth_limit: u64,
    /// Instruction budget.
    pub max: u64,
    /// Instructions executed (kept in a register between calls).
    pub cnt: u64,
    /// The region that served the last slow-path access: `start`, `len - 8`.
    pub rcache_start: u64,
    pub rcache_lim8: u64,
    /// Same, for writes (always a writable region).
    pub wcache_start: u64,
    pub wcache_lim8: u64,
    /// Lowest stack address zeroed so far: frames are zeroed when first entered
    /// (the interpreter starts every run with a zeroed stack).
    pub zeroed_lo: u64,
    /// Registers crossing a bpf-to-bpf call other than r1..r5 in and r0 out.
    pub xregs: [u64; 11],
    pub ret_r0: u64,
    pub ret_status: u64,
    /// Results of a slow-path adapter call (value, status).
    pub slow_v: u64,
    pub slow_st: u64,
    /// Arguments of a slow-path adapter call after the context (the adapter takes
    /// only the context in a register): the shim's arguments in 0..5, then the
    /// budget check the adapter makes first (`codegen::SLOW_LIM`, `SLOW_IDX`,
    /// `SLOW_START`).
    pub slow_args: [u64; 8],
    /// The [`Rt`] of this run.
    pub rt: *mut (),
    /// r1 at entry: the context whose shadow direct context loads read
    /// ([`crate::JitOptions::ctx_direct`]).
    pub ctx_addr: u64,
}

/// The Rust side of a run.
pub(crate) struct Rt<'r> {
    pub inner: &'r Inner,
    pub regions: &'r [Region<'r>],
    pub stack: *mut u8,
    pub mem: Option<JitMem>,
    pub env: &'r mut dyn RunEnv,
    pub error: Option<VmError>,
    pub panic: Option<Box<dyn Any + Send>>,
}

/// The run's memory, made on first use (most runs of verified programs never need it).
/// A free function over the field, so that `rt.env` stays borrowable beside it.
fn mem_of<'m>(mem: &'m mut Option<JitMem>, stack: *mut u8, regions: &[Region<'_>]) -> &'m mut JitMem {
    // SAFETY: `stack` is the run's stack area and `regions` are borrowed for the run.
    mem.get_or_insert_with(|| unsafe { JitMem::new(stack, regions) })
}

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ret2 {
    pub a: u64,
    pub b: u64,
}

const STACK_AREA: u64 = (MAX_CALL_FRAMES * STACK_SIZE) as u64;

impl JitCtx {
    pub fn new(stack_top: u64, max: u64, rt: *mut ()) -> JitCtx {
        let mut c = JitCtx {
            stack_top,
            depth_limit: stack_top - ((MAX_CALL_FRAMES - 1) * STACK_SIZE) as u64,
            max,
            cnt: 0,
            rcache_start: 0,
            rcache_lim8: 0,
            wcache_start: 0,
            wcache_lim8: 0,
            zeroed_lo: stack_top - STACK_SIZE as u64,
            xregs: [0; 11],
            ret_r0: 0,
            ret_status: ST_ERROR as u64,
            slow_v: 0,
            slow_st: 0,
            slow_args: [0; 8],
            rt,
            ctx_addr: 0,
        };
        c.reset_caches();
        c
    }

    /// Reset what one run leaves behind, for the next run of the same setup
    /// (`JitProgram::execute_n`): as a fresh context, caches and region bounds kept.
    pub fn next_run(&mut self) {
        self.cnt = 0;
        self.zeroed_lo = self.stack_top - STACK_SIZE as u64;
        self.ret_r0 = 0;
        self.ret_status = ST_ERROR as u64;
    }

    /// Point both caches at frame 0 (always live, so never wrong).
    fn reset_caches(&mut self) {
        let s = self.stack_top - STACK_SIZE as u64;
        let l = STACK_SIZE as u64 - 8;
        (self.rcache_start, self.rcache_lim8, self.wcache_start, self.wcache_lim8) = (s, l, s, l);
    }

    /// Cache a region the program just used. The stack is never cached: its live
    /// part changes with the call depth (and the inline check covers it).
    pub fn remember(&mut self, r: RegionBounds) {
        let in_stack = r.start < self.stack_top && r.start >= self.stack_top - STACK_AREA;
        if r.len < 8 || in_stack {
            return;
        }
        (self.rcache_start, self.rcache_lim8) = (r.start, r.len - 8);
        if r.writable {
            (self.wcache_start, self.wcache_lim8) = (r.start, r.len - 8);
        }
    }

    /// After a helper ran: drop cached regions it removed or moved.
    fn revalidate(&mut self, mem: &JitMem) {
        let still = |start: u64, lim8: u64, write: bool| {
            mem.region_of(start).is_some_and(|r| r.start == start && r.len == lim8 + 8 && (r.writable || !write))
        };
        let frame0 = self.stack_top - STACK_SIZE as u64;
        if self.rcache_start != frame0 && !still(self.rcache_start, self.rcache_lim8, false) {
            (self.rcache_start, self.rcache_lim8) = (frame0, STACK_SIZE as u64 - 8);
        }
        if self.wcache_start != frame0 && !still(self.wcache_start, self.wcache_lim8, true) {
            (self.wcache_start, self.wcache_lim8) = (frame0, STACK_SIZE as u64 - 8);
        }
    }

    /// Zero the stack from `lo` up to what is zeroed already.
    fn zero_down_to(&mut self, lo: u64) {
        if lo < self.zeroed_lo {
            // SAFETY: `lo..zeroed_lo` lies in the run's stack area (generated code and
            // `zero_all` never pass an address below its bottom).
            unsafe {
                ptr::write_bytes(ptr::with_exposed_provenance_mut::<u8>(lo as usize), 0, (self.zeroed_lo - lo) as usize)
            };
            self.zeroed_lo = lo;
        }
    }

    /// Zero every frame (before helpers run: their callbacks may go deeper).
    fn zero_all(&mut self) {
        self.zero_down_to(self.stack_top - STACK_AREA);
    }

    fn depth(&self, fp: u64) -> usize {
        (self.stack_top.wrapping_sub(fp) / STACK_SIZE as u64) as usize
    }
}

/// Run `f` on the context and its runtime; errors and panics become `ST_ERROR`.
///
/// # Safety
/// `ctx` must be the live context of a run (generated code passes its own).
unsafe fn shim(ctx: *mut JitCtx, f: impl FnOnce(&mut JitCtx, &mut Rt<'_>) -> Result<Ret2, VmError>) -> Ret2 {
    // SAFETY: the caller's contract; the context and the runtime are distinct objects
    // that nothing else touches while generated code waits for this call.
    let (c, rt) = unsafe { (&mut *ctx, &mut *((*ctx).rt as *mut Rt<'_>)) };
    match catch_unwind(AssertUnwindSafe(|| f(c, rt))) {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            rt.error = Some(e);
            Ret2 { a: 0, b: ST_ERROR as u64 }
        }
        Err(p) => {
            rt.panic = Some(p);
            Ret2 { a: 0, b: ST_ERROR as u64 }
        }
    }
}

fn ok(a: u64) -> Result<Ret2, VmError> {
    Ok(Ret2 { a, b: ST_RETURN as u64 })
}

/// Little-endian `size` bytes at `p`, zero-extended.
///
/// # Safety
/// `p..p+size` must be valid for reads.
unsafe fn read_raw(p: *const u8, size: u64) -> u64 {
    // SAFETY: forwarded to the caller.
    unsafe {
        match size {
            1 => *p as u64,
            2 => ptr::read_unaligned(p as *const u16) as u64,
            4 => ptr::read_unaligned(p as *const u32) as u64,
            _ => ptr::read_unaligned(p as *const u64),
        }
    }
}

fn sign_extend(v: u64, size: u64) -> u64 {
    match size {
        1 => v as i8 as i64 as u64,
        2 => v as i16 as i64 as u64,
        4 => v as i32 as i64 as u64,
        _ => v,
    }
}

/// Checked load that missed the inline checks: regions, then the environment's
/// virtual memory (as the interpreter's `slow_load`).
pub(crate) unsafe extern "C" fn shim_load(
    ctx: *mut JitCtx,
    addr: u64,
    size: u64,
    signed: u64,
    pc: u64,
    fp: u64,
) -> Ret2 {
    // SAFETY: called by generated code with its context.
    unsafe {
        shim(ctx, |c, rt| {
            let depth = c.depth(fp);
            let pc = pc as usize;
            let mem = mem_of(&mut rt.mem, rt.stack, rt.regions);
            mem.set_depth(depth);
            let v = match mem.translate(addr, size, false, pc) {
                Ok(p) => {
                    if let Some(r) = mem.region_of(addr) {
                        c.remember(r);
                    }
                    // SAFETY: `translate` proved the bytes lie in a readable region.
                    read_raw(p, size)
                }
                Err(e @ VmError::OutOfBounds { .. }) => {
                    let a =
                        VirtualAccess { pc, addr, size: size as u8, kind: AccessKind::Load { signed: signed != 0 } };
                    rt.env.virtual_access(a).unwrap_or(Err(e))?
                }
                Err(e) => return Err(e),
            };
            ok(if signed != 0 { sign_extend(v, size) } else { v })
        })
    }
}

/// Checked store that missed the inline checks.
pub(crate) unsafe extern "C" fn shim_store(ctx: *mut JitCtx, addr: u64, size: u64, v: u64, pc: u64, fp: u64) -> Ret2 {
    // SAFETY: called by generated code with its context.
    unsafe {
        shim(ctx, |c, rt| {
            let depth = c.depth(fp);
            let pc = pc as usize;
            let mem = mem_of(&mut rt.mem, rt.stack, rt.regions);
            mem.set_depth(depth);
            match mem.translate(addr, size, true, pc) {
                Ok(p) => {
                    if let Some(r) = mem.region_of(addr) {
                        c.remember(r);
                    }
                    // SAFETY: `translate` proved the bytes lie in a writable region.
                    match size {
                        1 => *p = v as u8,
                        2 => ptr::write_unaligned(p as *mut u16, v as u16),
                        4 => ptr::write_unaligned(p as *mut u32, v as u32),
                        _ => ptr::write_unaligned(p as *mut u64, v),
                    }
                    ok(0)
                }
                Err(e @ VmError::OutOfBounds { .. }) => {
                    let a = VirtualAccess { pc, addr, size: size as u8, kind: AccessKind::Store(v) };
                    rt.env.virtual_access(a).unwrap_or(Err(e)).map(|_| Ret2 { a: 0, b: 0 })
                }
                Err(e) => Err(e),
            }
        })
    }
}

/// Checked atomic that missed the inline checks: the host pointer to operate on.
/// Virtual memory never takes atomics; the environment only gets to explain why.
pub(crate) unsafe extern "C" fn shim_atomic(ctx: *mut JitCtx, addr: u64, size: u64, pc: u64, fp: u64) -> Ret2 {
    // SAFETY: called by generated code with its context.
    unsafe {
        shim(ctx, |c, rt| {
            let depth = c.depth(fp);
            let pc = pc as usize;
            let mem = mem_of(&mut rt.mem, rt.stack, rt.regions);
            mem.set_depth(depth);
            match mem.translate(addr, size, true, pc) {
                Ok(p) => {
                    if let Some(r) = mem.region_of(addr) {
                        c.remember(r);
                    }
                    ok(p as u64)
                }
                Err(e @ VmError::OutOfBounds { .. }) => {
                    let a = VirtualAccess { pc, addr, size: size as u8, kind: AccessKind::Atomic };
                    match rt.env.virtual_access(a) {
                        Some(Err(why)) => Err(why),
                        _ => Err(e),
                    }
                }
                Err(e) => Err(e),
            }
        })
    }
}

fn call_helper(
    c: &mut JitCtx,
    rt: &mut Rt<'_>,
    e: &HelperEntry,
    pc: u64,
    fp: u64,
    args: [u64; 5],
) -> Result<Ret2, VmError> {
    let depth = c.depth(fp);
    c.zero_all();
    let inner = rt.inner;
    let (max, checked) = (c.max, inner.checked);
    let mem = mem_of(&mut rt.mem, rt.stack, rt.regions);
    let out = mem.call_helper(&inner.vm, e, &mut *rt.env, pc as usize, depth, &mut c.cnt, max, checked, args);
    // Unchecked code never reads the region caches.
    if checked {
        c.revalidate(mem);
    }
    match out? {
        HelperOutcome::Return(v) => ok(v),
        HelperOutcome::Exit(v) => Ok(Ret2 { a: v, b: ST_EXIT as u64 }),
    }
}

/// `call <helper>`: the helper in slot `idx` of the program's helper list.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe extern "C" fn shim_helper(
    ctx: *mut JitCtx,
    idx: u64,
    pc: u64,
    fp: u64,
    r1: u64,
    r2: u64,
    r3: u64,
    r4: u64,
    r5: u64,
) -> Ret2 {
    // SAFETY: called by generated code with its context.
    unsafe {
        shim(ctx, |c, rt| {
            if idx & crate::codegen::DIRECT_HASH != 0 {
                // A preallocated hash map's lookup: no pin, no generic helper frame.
                let d = &rt.inner.vm.options().direct_hashes[(idx >> 40) as usize];
                let (p, writable) = d.map.lookup_direct(ptr::with_exposed_provenance(r2 as usize));
                if !p.is_null() {
                    let len = d.map.info().value_size as u64;
                    mem_of(&mut rt.mem, rt.stack, rt.regions).add_map_value(p, len, writable);
                }
                return ok(p.expose_provenance() as u64);
            }
            if idx & crate::codegen::FAST_MAP_LOOKUP != 0 {
                // `map_lookup_elem` of a constant map from unchecked (verified) code:
                // the runtime's direct lookup when it has one.
                let mem = mem_of(&mut rt.mem, rt.stack, rt.regions);
                // SAFETY: unchecked code is verified: r2 points at the map's key.
                if let Some(v) = mem.map_lookup_verified(&mut *rt.env, r1, r2) {
                    return ok(v);
                }
            }
            let e = rt.inner.helpers[(idx & 0xffff_ffff) as usize];
            call_helper(c, rt, &e, pc, fp, [r1, r2, r3, r4, r5])
        })
    }
}

/// `callx` with a value that is not a function address: a helper by id.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe extern "C" fn shim_callx_helper(
    ctx: *mut JitCtx,
    v: u64,
    pc: u64,
    fp: u64,
    r1: u64,
    r2: u64,
    r3: u64,
    r4: u64,
    r5: u64,
) -> Ret2 {
    // SAFETY: called by generated code with its context.
    unsafe {
        shim(ctx, |c, rt| {
            let e = u32::try_from(v).ok().and_then(|id| rt.inner.vm.options().helpers.get(id)).copied();
            let Some(e) = e else {
                return Err(VmError::UnknownHelper { pc: pc as usize, id: v });
            };
            call_helper(c, rt, &e, pc, fp, [r1, r2, r3, r4, r5])
        })
    }
}

/// A call enters a frame not used before in this run: zero it (`lo` is its bottom).
pub(crate) unsafe extern "C" fn shim_zero(ctx: *mut JitCtx, lo: u64) {
    // SAFETY: called by generated code with its context; `lo` is the bottom of a
    // frame in the stack area (the call-depth check ran first).
    unsafe { (*ctx).zero_down_to(lo) }
}

/// Legacy packet load: big-endian `size` bytes at `off` of the packet; `b = 1` when
/// out of the packet (the program then ends with r0 = 0).
pub(crate) unsafe extern "C" fn shim_ld_packet(ctx: *mut JitCtx, off: i64, size: u64) -> Ret2 {
    // SAFETY: called by generated code with its context.
    unsafe {
        shim(ctx, |_, rt| {
            let Some((p, len)) = mem_of(&mut rt.mem, rt.stack, rt.regions).packet() else {
                return Ok(Ret2 { a: 0, b: 1 });
            };
            if off < 0 || off as u64 > len || len - (off as u64) < size {
                return Ok(Ret2 { a: 0, b: 1 });
            }
            // SAFETY: off + size <= len, and the packet region is valid for reads.
            let b = p.add(off as usize);
            let v = match size {
                1 => *b as u64,
                2 => u16::from_be_bytes(ptr::read_unaligned(b as *const [u8; 2])) as u64,
                _ => u32::from_be_bytes(ptr::read_unaligned(b as *const [u8; 4])) as u64,
            };
            ok(v)
        })
    }
}

/// A run-time error known at compile time but for `arg`. For the budget: `pc` is
/// the first slot of the block and `arg` the instructions of it that fit.
pub(crate) unsafe extern "C" fn shim_fail(ctx: *mut JitCtx, code: i64, pc: u64, arg: u64) {
    // SAFETY: called by generated code with its context.
    unsafe {
        shim(ctx, |c, rt| {
            let pc = pc as usize;
            Err(match code {
                FAIL_BUDGET => {
                    let insns = rt.inner.vm.program().insns();
                    let mut at = pc;
                    for _ in 0..arg {
                        at += insns.get(at).map_or(1, |i| i.slots());
                    }
                    VmError::BudgetExceeded { pc: at, executed: c.max }
                }
                FAIL_DEPTH => VmError::CallDepthExceeded { pc, max: arg as usize },
                FAIL_BAD_CALL => VmError::BadCallTarget { pc, target: arg },
                FAIL_FELL_OFF => VmError::FellOffEnd { pc },
                FAIL_LDDW_TAIL => VmError::IntoLddwTail { pc },
                FAIL_UNRESOLVED => {
                    let imm = match arg {
                        1 => Imm64::MapFd(0),
                        2 => Imm64::MapValue { fd: 0, off: 0 },
                        3 => Imm64::BtfId { id: 0, btf_fd: 0 },
                        4 => Imm64::Func(0),
                        5 => Imm64::MapIdx(0),
                        _ => Imm64::MapIdxValue { idx: 0, off: 0 },
                    };
                    VmError::Unresolved { pc, what: pseudo_name(imm) }
                }
                FAIL_KFUNC => VmError::Kfunc { pc, btf_id: arg as i32 },
                FAIL_UNKNOWN_HELPER => VmError::UnknownHelper { pc, id: arg },
                _ => VmError::Helper { pc, id: 0, reason: format!("internal JIT error code {code}") },
            })
        })
    };
}
