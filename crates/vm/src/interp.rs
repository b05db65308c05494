//! The interpreter loop.
//!
//! One function, monomorphized twice: `CHECKED = true` translates every memory
//! access through [`Mem::translate`]; `CHECKED = false` dereferences the address in
//! the register directly and is only reachable through the `unsafe` entry points
//! of [`crate::Vm`], whose contract is the invariant stated there.

use crate::error::VmError;
use crate::helpers::{AccessKind, HelperCtx, HelperEntry, HelperOutcome, RunEnv, VirtualAccess};
use crate::memory::{Mem, Region, MAX_CALL_FRAMES, STACK_SIZE};
use crate::ops::{pseudo_name, AtomicKind, Op, FUNC_ADDR_MASK, FUNC_ADDR_TAG};
use crate::{RunOutcome, Vm};
use bpfbox_isa::MAY_GOTO_BUDGET;
use std::ptr;
use std::sync::atomic::Ordering;

#[repr(C, align(16))]
struct StackArea([u8; MAX_CALL_FRAMES * STACK_SIZE]);

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Frame {
    pub(crate) ret: usize,
    pub(crate) saved: [u64; 4],
}

/// Register index; the mask lets the compiler drop the bounds check on `[u64; 16]`.
#[inline(always)]
fn r(n: u8) -> usize {
    (n & 15) as usize
}

/// How a run of [`run_loop`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    /// `exit` of the function the loop started in.
    Return(u64),
    /// The whole program stops with this r0 (a helper's `Exit`, a failed legacy packet load).
    Exit(u64),
}

/// Everything a helper call needs besides the registers.
struct CallEnv<'r, 'e> {
    vm: &'r Vm,
    mem: &'r mut Mem,
    env: &'r mut (dyn RunEnv + 'e),
    executed: &'r mut u64,
    max: u64,
    depth: usize,
    checked: bool,
}

#[inline(always)]
fn call_helper(e: &HelperEntry, c: CallEnv<'_, '_>, reg: &mut [u64; 16], pc: usize) -> Result<Option<u64>, VmError> {
    let mut ctx = HelperCtx {
        mem: c.mem,
        env: c.env,
        pc,
        id: e.proto.id,
        vm: c.vm,
        depth: c.depth,
        executed: c.executed,
        max: c.max,
        checked: c.checked,
    };
    match (e.func)(&mut ctx, [reg[1], reg[2], reg[3], reg[4], reg[5]])? {
        HelperOutcome::Return(v) => {
            reg[0] = v;
            Ok(None)
        }
        HelperOutcome::Exit(v) => Ok(Some(v)),
    }
}

/// (base register, offset, size) of a plain store, for the debug recorder.
#[inline(always)]
fn store_target(op: Op) -> Option<(u8, i16, u8)> {
    match op {
        Op::StB(d, _, o) | Op::StBI(d, o, _) => Some((d, o, 1)),
        Op::StH(d, _, o) | Op::StHI(d, o, _) => Some((d, o, 2)),
        Op::StW(d, _, o) | Op::StWI(d, o, _) => Some((d, o, 4)),
        Op::StDW(d, _, o) | Op::StDWI(d, o, _) => Some((d, o, 8)),
        _ => None,
    }
}

/// Legacy packet load: big-endian `size` bytes at `off` of the packet region.
#[inline(always)]
fn ld_packet(packet: Option<(*const u8, u64)>, off: i64, size: u64) -> Option<u64> {
    let (p, len) = packet?;
    if off < 0 || off as u64 > len || len - (off as u64) < size {
        return None;
    }
    // SAFETY: off + size <= len, and the packet region is valid for reads.
    let b = unsafe { p.add(off as usize) };
    Some(unsafe {
        match size {
            1 => *b as u64,
            2 => u16::from_be_bytes(ptr::read_unaligned(b as *const [u8; 2])) as u64,
            _ => u32::from_be_bytes(ptr::read_unaligned(b as *const [u8; 4])) as u64,
        }
    })
}

/// Little-endian `size` bytes at `p`, zero-extended.
///
/// # Safety
/// `p..p+size` must be valid for reads.
#[inline(always)]
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

/// Store the low `size` bytes of `v` at `p`, little-endian.
///
/// # Safety
/// `p..p+size` must be valid for writes.
#[inline(always)]
unsafe fn write_raw(p: *mut u8, size: u64, v: u64) {
    // SAFETY: forwarded to the caller.
    unsafe {
        match size {
            1 => *p = v as u8,
            2 => ptr::write_unaligned(p as *mut u16, v as u16),
            4 => ptr::write_unaligned(p as *mut u32, v as u32),
            _ => ptr::write_unaligned(p as *mut u64, v),
        }
    }
}

/// Checked load that missed the cached region: the other regions, then the
/// environment's virtual memory. Returns the raw bits (zero-extended).
#[cold]
#[inline(never)]
fn slow_load(
    mem: &mut Mem,
    env: &mut dyn RunEnv,
    addr: u64,
    size: u64,
    signed: bool,
    pc: usize,
) -> Result<u64, VmError> {
    match mem.translate_slow(addr, size, false, pc) {
        // SAFETY: `translate_slow` proved the bytes lie in a readable region.
        Ok(p) => Ok(unsafe { read_raw(p, size) }),
        Err(e @ VmError::OutOfBounds { .. }) => {
            let a = VirtualAccess { pc, addr, size: size as u8, kind: AccessKind::Load { signed } };
            env.virtual_access(a).unwrap_or(Err(e))
        }
        Err(e) => Err(e),
    }
}

/// Checked store that missed the cached region.
#[cold]
#[inline(never)]
fn slow_store(mem: &mut Mem, env: &mut dyn RunEnv, addr: u64, size: u64, v: u64, pc: usize) -> Result<(), VmError> {
    match mem.translate_slow(addr, size, true, pc) {
        Ok(p) => {
            // SAFETY: `translate_slow` proved the bytes lie in a writable region.
            unsafe { write_raw(p, size, v) };
            Ok(())
        }
        Err(e @ VmError::OutOfBounds { .. }) => {
            let a = VirtualAccess { pc, addr, size: size as u8, kind: AccessKind::Store(v) };
            env.virtual_access(a).unwrap_or(Err(e)).map(|_| ())
        }
        Err(e) => Err(e),
    }
}

/// Checked atomic access that missed the cached region. Virtual memory never takes
/// atomics; the environment only gets to explain why.
#[cold]
#[inline(never)]
fn slow_atomic(mem: &mut Mem, env: &mut dyn RunEnv, addr: u64, size: u64, pc: usize) -> Result<*mut u8, VmError> {
    match mem.translate_slow(addr, size, true, pc) {
        Ok(p) => Ok(p),
        Err(e @ VmError::OutOfBounds { .. }) => {
            let a = VirtualAccess { pc, addr, size: size as u8, kind: AccessKind::Atomic };
            match env.virtual_access(a) {
                Some(Err(why)) => Err(why),
                _ => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

/// `size` bytes at `p` read with acquire ordering, zero-extended (a plain read when
/// misaligned, which the kernel refuses).
///
/// # Safety
/// `p..p+size` must be valid for reads and writes (atomic views need writable memory).
#[inline(always)]
unsafe fn load_acquire(p: *mut u8, size: u8) -> u64 {
    use std::sync::atomic::{AtomicU16, AtomicU32, AtomicU64, AtomicU8};
    let a = Ordering::Acquire;
    // SAFETY: forwarded to the caller; the atomic views are aligned.
    unsafe {
        match size {
            1 => AtomicU8::from_ptr(p).load(a) as u64,
            2 if (p as usize).is_multiple_of(2) => AtomicU16::from_ptr(p as *mut u16).load(a) as u64,
            4 if (p as usize).is_multiple_of(4) => AtomicU32::from_ptr(p as *mut u32).load(a) as u64,
            8 if (p as usize).is_multiple_of(8) => AtomicU64::from_ptr(p as *mut u64).load(a),
            _ => read_raw(p, u64::from(size)),
        }
    }
}

/// Store the low `size` bytes of `v` at `p` with release ordering.
///
/// # Safety
/// `p..p+size` must be valid for reads and writes.
#[inline(always)]
unsafe fn store_release(p: *mut u8, size: u8, v: u64) {
    use std::sync::atomic::{AtomicU16, AtomicU32, AtomicU64, AtomicU8};
    let o = Ordering::Release;
    // SAFETY: forwarded to the caller; the atomic views are aligned.
    unsafe {
        match size {
            1 => AtomicU8::from_ptr(p).store(v as u8, o),
            2 if (p as usize).is_multiple_of(2) => AtomicU16::from_ptr(p as *mut u16).store(v as u16, o),
            4 if (p as usize).is_multiple_of(4) => AtomicU32::from_ptr(p as *mut u32).store(v as u32, o),
            8 if (p as usize).is_multiple_of(8) => AtomicU64::from_ptr(p as *mut u64).store(v, o),
            _ => write_raw(p, u64::from(size), v),
        }
    }
}

/// A converted load (`Op::CvLd`): translated in every mode, `code` = size in bytes,
/// | 0x80 to sign-extend.
/// The run context's fields the options let code read or write directly: the
/// [`crate::VmOptions::ctx_direct`] entry for `base + off` when `base` is the run's
/// context, else 0.
#[inline(always)]
fn ctx_entry(vm: &Vm, mem: &Mem, base: u64, off: i16) -> u8 {
    match &vm.opts.ctx_direct {
        Some(t) if base == mem.ctx && base != 0 && off >= 0 && off % 4 == 0 => {
            t.get(off as usize / 4).copied().unwrap_or(0)
        }
        _ => 0,
    }
}

#[inline(always)]
fn converted_load(
    vm: &Vm,
    mem: &mut Mem,
    env: &mut dyn RunEnv,
    base: u64,
    off: i16,
    code: u8,
    pc: usize,
) -> Result<u64, VmError> {
    let size = u64::from(code & 0x0f);
    let signed = code & 0x80 != 0;
    let n = ctx_entry(vm, mem, base, off) & !crate::CTX_DIRECT_STORE;
    if !signed && n != 0 && u64::from(n) == size {
        // SAFETY: `base` is the run's context, whose shadow holds one 8-byte slot per
        // 4 context bytes (`ctx::direct_loads`), and `off / 4` is inside the table.
        return Ok(unsafe { *std::ptr::with_exposed_provenance::<u64>((base + 2 * off as u64) as usize) });
    }
    let addr = base.wrapping_add(off as i64 as u64);
    let bits = match mem.fast(addr, size, false) {
        // SAFETY: `fast` proved the bytes lie in a readable region.
        Some(p) => unsafe { read_raw(p, size) },
        None => slow_load(mem, env, addr, size, signed, pc)?,
    };
    Ok(match (signed, size) {
        (true, 1) => bits as i8 as i64 as u64,
        (true, 2) => bits as i16 as i64 as u64,
        (true, 4) => bits as i32 as i64 as u64,
        _ => bits,
    })
}

/// A converted store (`Op::CvSt`/`Op::CvStI`): translated in every mode.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn converted_store(
    vm: &Vm,
    mem: &mut Mem,
    env: &mut dyn RunEnv,
    base: u64,
    off: i16,
    size: u8,
    v: u64,
    pc: usize,
) -> Result<(), VmError> {
    if size == 4 && ctx_entry(vm, mem, base, off) & crate::CTX_DIRECT_STORE != 0 {
        // SAFETY: as in `converted_load`; the low half of a program-writable field's slot.
        unsafe { *std::ptr::with_exposed_provenance_mut::<u32>((base + 2 * off as u64) as usize) = v as u32 };
        return Ok(());
    }
    let addr = base.wrapping_add(off as i64 as u64);
    let size = u64::from(size);
    match mem.fast(addr, size, true) {
        Some(p) => {
            // SAFETY: `fast` proved the bytes lie in a writable region.
            unsafe { write_raw(p, size, v) };
            Ok(())
        }
        None => slow_store(mem, env, addr, size, v, pc),
    }
}

/// Run `vm` from instruction 0 with r1..r5 = `args`.
///
/// # Safety
/// With `CHECKED = false` every load, store and atomic the program executes must
/// address memory inside `regions` (writable ones for writes) or the live stack
/// frames. With `CHECKED = true` this function is safe to call.
pub(crate) unsafe fn execute<const CHECKED: bool>(
    vm: &Vm,
    args: [u64; 5],
    regions: &[Region<'_>],
    env: &mut dyn RunEnv,
    max: u64,
) -> Result<RunOutcome, VmError> {
    // SAFETY: forwarded.
    unsafe { execute_n::<CHECKED>(vm, args, regions, env, max, 1) }
}

/// `n` runs (n >= 1) over one memory map, each as a fresh [`execute`] run (stack
/// zeroed, its own budget): the last outcome or the first error. For `n > 1` the
/// caller makes sure nothing but the program's memory changes between runs (the
/// program calls no helper).
///
/// # Safety
/// As for [`execute`].
pub(crate) unsafe fn execute_n<const CHECKED: bool>(
    vm: &Vm,
    args: [u64; 5],
    regions: &[Region<'_>],
    env: &mut dyn RunEnv,
    max: u64,
    n: u32,
) -> Result<RunOutcome, VmError> {
    // Frames are zeroed as they are entered (`Mem::new_zeroing`): most runs use one;
    // a program that never names r10 cannot reach the stack (a debugger still may).
    let mut stack = std::mem::MaybeUninit::<StackArea>::uninit();
    let base = stack.as_mut_ptr() as *mut u8;
    let mut mem = if vm.uses_stack || crate::debug::current().is_some() {
        // SAFETY: the area outlives `mem`; only zeroed frames are ever live.
        unsafe { Mem::new_zeroing(base, regions) }
    } else {
        Mem::new(base, regions)
    };
    if vm.opts.ctx_direct.is_some() {
        mem.ctx = args[0];
    }
    let mut last = RunOutcome { r0: 0, insns_executed: 0 };
    for i in 0..n.max(1) {
        if i > 0 {
            mem.restart();
        }
        let mut executed = 0u64;
        // SAFETY: forwarded to the caller.
        let flow = unsafe { run_loop::<CHECKED>(vm, &mut mem, env, &mut executed, max, 0, 0, args)? };
        let (Flow::Return(r0) | Flow::Exit(r0)) = flow;
        last = RunOutcome { r0, insns_executed: executed };
    }
    Ok(last)
}

/// Run the function at `entry` in frame `base_depth` until it returns (or the
/// program ends), counting instructions in `executed_total`. With a debug hook
/// installed on this thread ([`crate::debug::with_hook`]) the hooked instantiation
/// of the loop runs instead.
///
/// # Safety
/// As for [`execute`]; `mem` must be the memory of the current run.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn run_loop<const CHECKED: bool>(
    vm: &Vm,
    mem: &mut Mem,
    env: &mut dyn RunEnv,
    executed_total: &mut u64,
    max: u64,
    entry: usize,
    base_depth: usize,
    args: [u64; 5],
) -> Result<Flow, VmError> {
    let hook = crate::debug::current();
    // SAFETY: forwarded to the caller; `hook` comes from `current` inside its `with_hook`.
    unsafe {
        if hook.is_some() {
            run_loop_impl::<CHECKED, true>(vm, mem, env, executed_total, max, entry, base_depth, args, hook)
        } else {
            run_loop_impl::<CHECKED, false>(vm, mem, env, executed_total, max, entry, base_depth, args, None)
        }
    }
}

/// The loop itself; `HOOKED` calls `hook` before every instruction.
///
/// # Safety
/// As for [`run_loop`]; `hook` must come from [`crate::debug::current`].
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn run_loop_impl<const CHECKED: bool, const HOOKED: bool>(
    vm: &Vm,
    mem: &mut Mem,
    env: &mut dyn RunEnv,
    executed_total: &mut u64,
    max: u64,
    entry: usize,
    base_depth: usize,
    args: [u64; 5],
    hook: Option<std::ptr::NonNull<dyn crate::debug::DebugHook>>,
) -> Result<Flow, VmError> {
    let ops: &[Op] = &vm.ops;
    let helpers: &[HelperEntry] = &vm.helpers_used;

    let mut reg = [0u64; 16];
    reg[1..6].copy_from_slice(&args);
    let mut depth = base_depth;
    reg[10] = mem.set_depth(depth);
    // Written by each local call before its return reads it: not zeroed per run
    // (a 320-byte memset was a sixth of an empty program's run). A debugger sees
    // (and may rewrite) every frame, so hooked runs start from defaults.
    let mut frames = [const { std::mem::MaybeUninit::<Frame>::uninit() }; MAX_CALL_FRAMES];
    if HOOKED {
        for f in &mut frames {
            f.write(Frame::default());
        }
    }
    // The `may_goto` budget of each frame's invocation (the kernel keeps it in a
    // hidden stack slot of the function, set in its prologue).
    let mut loops = [0u64; MAX_CALL_FRAMES];
    loops[depth] = MAY_GOTO_BUDGET;
    let mut executed: u64 = *executed_total;
    let mut pc = entry;
    // The hook learns which instruction starts this loop (a run, a callback, a tail call).
    let mut hook_first = HOOKED;
    let mut rec: Option<std::ptr::NonNull<crate::debug::Recorder>> = None;

    macro_rules! finish {
        ($flow:expr) => {{
            *executed_total = executed;
            return Ok($flow);
        }};
    }
    macro_rules! done {
        ($r0:expr) => {
            finish!(Flow::Exit($r0))
        };
    }
    // Effective address `reg[base] + off`.
    macro_rules! ea {
        ($base:expr, $off:expr) => {
            reg[r($base)].wrapping_add($off as i64 as u64)
        };
    }
    // Zero-extending load into a u64 (a virtual load may give a full 64-bit pointer).
    macro_rules! ldz {
        ($t:ty, $addr:expr, $pc:expr) => {{
            let a: u64 = $addr;
            let n = std::mem::size_of::<$t>() as u64;
            if CHECKED {
                match mem.fast(a, n, false) {
                    // SAFETY: `fast` proved the bytes lie in a readable region.
                    Some(p) => (unsafe { ptr::read_unaligned(p as *const $t) }) as u64,
                    None => slow_load(mem, env, a, n, false, $pc)?,
                }
            } else {
                // SAFETY: the caller's contract of `execute`.
                unsafe { ptr::read_unaligned(ptr::with_exposed_provenance::<$t>(a as usize)) as u64 }
            }
        }};
    }
    // Sign-extending load ($t is the signed type of the access).
    macro_rules! lds {
        ($t:ty, $addr:expr, $pc:expr) => {{
            let a: u64 = $addr;
            let n = std::mem::size_of::<$t>() as u64;
            let v: $t = if CHECKED {
                match mem.fast(a, n, false) {
                    // SAFETY: as for `ldz!`.
                    Some(p) => unsafe { ptr::read_unaligned(p as *const $t) },
                    None => slow_load(mem, env, a, n, true, $pc)? as $t,
                }
            } else {
                // SAFETY: the caller's contract of `execute`.
                unsafe { ptr::read_unaligned(ptr::with_exposed_provenance::<$t>(a as usize)) }
            };
            v as i64 as u64
        }};
    }
    macro_rules! st {
        ($t:ty, $addr:expr, $v:expr, $pc:expr) => {{
            let a: u64 = $addr;
            let v: $t = $v;
            let n = std::mem::size_of::<$t>() as u64;
            if CHECKED {
                match mem.fast(a, n, true) {
                    // SAFETY: `fast` proved the bytes lie in a writable region.
                    Some(p) => unsafe { ptr::write_unaligned(p as *mut $t, v) },
                    None => slow_store(mem, env, a, n, v as u64, $pc)?,
                }
            } else {
                // SAFETY: the caller's contract of `execute`.
                unsafe { ptr::write_unaligned(ptr::with_exposed_provenance_mut::<$t>(a as usize), v) }
            }
        }};
    }
    macro_rules! alu64i {
        ($d:expr, $i:expr, |$a:ident, $b:ident| $e:expr) => {{
            let $a = reg[r($d)];
            let $b = $i as i64 as u64;
            reg[r($d)] = $e;
        }};
    }
    macro_rules! alu64r {
        ($d:expr, $s:expr, |$a:ident, $b:ident| $e:expr) => {{
            let $a = reg[r($d)];
            let $b = reg[r($s)];
            reg[r($d)] = $e;
        }};
    }
    macro_rules! alu32i {
        ($d:expr, $i:expr, |$a:ident, $b:ident| $e:expr) => {{
            let $a = reg[r($d)] as u32;
            let $b = $i as u32;
            reg[r($d)] = ($e) as u32 as u64;
        }};
    }
    macro_rules! alu32r {
        ($d:expr, $s:expr, |$a:ident, $b:ident| $e:expr) => {{
            let $a = reg[r($d)] as u32;
            let $b = reg[r($s)] as u32;
            reg[r($d)] = ($e) as u32 as u64;
        }};
    }
    macro_rules! jmp {
        ($c:expr, $t:expr) => {
            if $c {
                pc = $t as usize;
            }
        };
    }
    macro_rules! atomic {
        ($t:ty, $at:ty, $kind:expr, $fetch:expr, $dst:expr, $src:expr, $off:expr, $pc:expr) => {{
            let a: u64 = ea!($dst, $off);
            let n = std::mem::size_of::<$t>() as u64;
            let p = if CHECKED {
                match mem.fast(a, n, true) {
                    Some(p) => p,
                    None => slow_atomic(mem, env, a, n, $pc)?,
                }
            } else {
                ptr::with_exposed_provenance_mut::<u8>(a as usize)
            } as *mut $t;
            let s = reg[r($src)] as $t;
            let expected = reg[0] as $t;
            let old: $t = if (p as usize) % std::mem::align_of::<$t>() == 0 {
                // SAFETY: as for `st!`, and aligned. Map values are shared with programs
                // running on other threads: read-modify-writes are real atomics.
                let at = unsafe { <$at>::from_ptr(p) };
                match $kind {
                    AtomicKind::Add => at.fetch_add(s, Ordering::SeqCst),
                    AtomicKind::Or => at.fetch_or(s, Ordering::SeqCst),
                    AtomicKind::And => at.fetch_and(s, Ordering::SeqCst),
                    AtomicKind::Xor => at.fetch_xor(s, Ordering::SeqCst),
                    AtomicKind::Xchg => at.swap(s, Ordering::SeqCst),
                    AtomicKind::CmpXchg => match at.compare_exchange(expected, s, Ordering::SeqCst, Ordering::SeqCst) {
                        Ok(v) | Err(v) => v,
                    },
                }
            } else {
                // SAFETY: as for `st!`. A misaligned atomic (which the kernel refuses) is a
                // plain read-modify-write.
                let old: $t = unsafe { ptr::read_unaligned(p) };
                let new = match $kind {
                    AtomicKind::Add => Some(old.wrapping_add(s)),
                    AtomicKind::Or => Some(old | s),
                    AtomicKind::And => Some(old & s),
                    AtomicKind::Xor => Some(old ^ s),
                    AtomicKind::Xchg => Some(s),
                    AtomicKind::CmpXchg => (old == expected).then_some(s),
                };
                if let Some(n) = new {
                    unsafe { ptr::write_unaligned(p, n) };
                }
                old
            };
            match $kind {
                AtomicKind::CmpXchg => reg[0] = old as u64,
                _ if $fetch => reg[r($src)] = old as u64,
                _ => {}
            }
        }};
    }
    macro_rules! call_local {
        ($target:expr, $pc:expr) => {{
            if depth + 1 >= MAX_CALL_FRAMES {
                return Err(VmError::CallDepthExceeded { pc: $pc, max: MAX_CALL_FRAMES });
            }
            frames[depth].write(Frame { ret: pc, saved: [reg[6], reg[7], reg[8], reg[9]] });
            depth += 1;
            loops[depth] = MAY_GOTO_BUDGET;
            reg[10] = mem.set_depth(depth);
            pc = $target as usize;
        }};
    }

    loop {
        if executed >= max {
            *executed_total = executed;
            return Err(VmError::BudgetExceeded { pc, executed });
        }
        if HOOKED {
            if let Some(h) = hook {
                // The recorder's fast path: record the step inline, no call.
                let mut fast = false;
                if let Some(mut rp) = rec {
                    // SAFETY: `rp` came from the hook's last `recorder()` call; the hook
                    // is not running, so this is the only live access.
                    let r = unsafe { rp.as_mut() };
                    let k = r.kinds.get(pc).copied().unwrap_or(crate::debug::CALL_HOOK);
                    if !hook_first && !r.call_always && executed != r.call_at && k != crate::debug::CALL_HOOK {
                        fast = true;
                        if k == crate::debug::STORE {
                            match store_target(ops[pc]) {
                                Some((d, o, n)) => {
                                    let a = ea!(d, o);
                                    match mem.fast(a, u64::from(n), true) {
                                        Some(p) => {
                                            let mut old = [0u8; 8];
                                            // SAFETY: `fast` proved `n` bytes at `p` lie in a writable region.
                                            // Fixed sizes: single loads, no call to memcpy.
                                            unsafe {
                                                match n {
                                                    1 => old[0] = *p,
                                                    2 => old[..2]
                                                        .copy_from_slice(&ptr::read_unaligned(p as *const [u8; 2])),
                                                    4 => old[..4]
                                                        .copy_from_slice(&ptr::read_unaligned(p as *const [u8; 4])),
                                                    _ => old = ptr::read_unaligned(p as *const [u8; 8]),
                                                }
                                            }
                                            r.mem.push(crate::debug::MemUndo { addr: a, old });
                                        }
                                        None => fast = false,
                                    }
                                }
                                None => fast = false,
                            }
                        }
                        if fast {
                            r.push_step(pc, depth);
                            if k < 10 {
                                r.old.push(reg[k as usize]);
                            }
                        }
                    }
                }
                if !fast {
                    let mut step = crate::debug::Step {
                        vm,
                        pc,
                        reg: &mut reg,
                        depth,
                        base_depth,
                        // SAFETY: hooked runs initialise every frame (above), and
                        // `MaybeUninit<Frame>` has `Frame`'s layout.
                        frames: unsafe {
                            &mut *(&mut frames as *mut [std::mem::MaybeUninit<Frame>; MAX_CALL_FRAMES]
                                as *mut [Frame; MAX_CALL_FRAMES])
                        },
                        loops: &mut loops,
                        mem: &mut *mem,
                        executed,
                        first: hook_first,
                        moved: false,
                    };
                    hook_first = false;
                    // SAFETY: `h` comes from `debug::current` (the contract of this function).
                    let r = unsafe { crate::debug::call(h, &mut step) };
                    if step.moved {
                        (pc, depth, executed) = (step.pc, step.depth, step.executed);
                    }
                    if let Err(e) = r {
                        *executed_total = executed;
                        return Err(e);
                    }
                    // SAFETY: as for `call`.
                    rec = unsafe { crate::debug::recorder(h) };
                    if executed >= max {
                        *executed_total = executed;
                        return Err(VmError::BudgetExceeded { pc, executed });
                    }
                }
            }
        }
        executed += 1;
        let cur = pc;
        let op = ops[pc];
        pc += 1;
        match op {
            Op::Add64I(d, i) => alu64i!(d, i, |a, b| a.wrapping_add(b)),
            Op::Sub64I(d, i) => alu64i!(d, i, |a, b| a.wrapping_sub(b)),
            Op::Mul64I(d, i) => alu64i!(d, i, |a, b| a.wrapping_mul(b)),
            Op::Div64I(d, i) => alu64i!(d, i, |a, b| a.checked_div(b).unwrap_or(0)),
            Op::SDiv64I(d, i) => {
                alu64i!(d, i, |a, b| if b == 0 { 0 } else { (a as i64).wrapping_div(b as i64) as u64 })
            }
            Op::Or64I(d, i) => alu64i!(d, i, |a, b| a | b),
            Op::And64I(d, i) => alu64i!(d, i, |a, b| a & b),
            Op::Lsh64I(d, i) => alu64i!(d, i, |a, b| a.wrapping_shl(b as u32)),
            Op::Rsh64I(d, i) => alu64i!(d, i, |a, b| a.wrapping_shr(b as u32)),
            Op::Mod64I(d, i) => alu64i!(d, i, |a, b| if b == 0 { a } else { a % b }),
            Op::SMod64I(d, i) => {
                alu64i!(d, i, |a, b| if b == 0 { a } else { (a as i64).wrapping_rem(b as i64) as u64 })
            }
            Op::Xor64I(d, i) => alu64i!(d, i, |a, b| a ^ b),
            Op::Mov64I(d, i) => reg[r(d)] = i as i64 as u64,
            Op::Arsh64I(d, i) => alu64i!(d, i, |a, b| (a as i64).wrapping_shr(b as u32) as u64),

            Op::Add64R(d, s) => alu64r!(d, s, |a, b| a.wrapping_add(b)),
            Op::Sub64R(d, s) => alu64r!(d, s, |a, b| a.wrapping_sub(b)),
            Op::Mul64R(d, s) => alu64r!(d, s, |a, b| a.wrapping_mul(b)),
            Op::Div64R(d, s) => alu64r!(d, s, |a, b| a.checked_div(b).unwrap_or(0)),
            Op::SDiv64R(d, s) => {
                alu64r!(d, s, |a, b| if b == 0 { 0 } else { (a as i64).wrapping_div(b as i64) as u64 })
            }
            Op::Or64R(d, s) => alu64r!(d, s, |a, b| a | b),
            Op::And64R(d, s) => alu64r!(d, s, |a, b| a & b),
            Op::Lsh64R(d, s) => alu64r!(d, s, |a, b| a.wrapping_shl(b as u32)),
            Op::Rsh64R(d, s) => alu64r!(d, s, |a, b| a.wrapping_shr(b as u32)),
            Op::Mod64R(d, s) => alu64r!(d, s, |a, b| if b == 0 { a } else { a % b }),
            Op::SMod64R(d, s) => {
                alu64r!(d, s, |a, b| if b == 0 { a } else { (a as i64).wrapping_rem(b as i64) as u64 })
            }
            Op::Xor64R(d, s) => alu64r!(d, s, |a, b| a ^ b),
            Op::Mov64R(d, s) => reg[r(d)] = reg[r(s)],
            Op::Arsh64R(d, s) => alu64r!(d, s, |a, b| (a as i64).wrapping_shr(b as u32) as u64),

            Op::Add32I(d, i) => alu32i!(d, i, |a, b| a.wrapping_add(b)),
            Op::Sub32I(d, i) => alu32i!(d, i, |a, b| a.wrapping_sub(b)),
            Op::Mul32I(d, i) => alu32i!(d, i, |a, b| a.wrapping_mul(b)),
            Op::Div32I(d, i) => alu32i!(d, i, |a, b| a.checked_div(b).unwrap_or(0)),
            Op::SDiv32I(d, i) => {
                alu32i!(d, i, |a, b| if b == 0 { 0 } else { (a as i32).wrapping_div(b as i32) as u32 })
            }
            Op::Or32I(d, i) => alu32i!(d, i, |a, b| a | b),
            Op::And32I(d, i) => alu32i!(d, i, |a, b| a & b),
            Op::Lsh32I(d, i) => alu32i!(d, i, |a, b| a.wrapping_shl(b)),
            Op::Rsh32I(d, i) => alu32i!(d, i, |a, b| a.wrapping_shr(b)),
            Op::Mod32I(d, i) => alu32i!(d, i, |a, b| if b == 0 { a } else { a % b }),
            Op::SMod32I(d, i) => {
                alu32i!(d, i, |a, b| if b == 0 { a } else { (a as i32).wrapping_rem(b as i32) as u32 })
            }
            Op::Xor32I(d, i) => alu32i!(d, i, |a, b| a ^ b),
            Op::Mov32I(d, i) => reg[r(d)] = i as u32 as u64,
            Op::Arsh32I(d, i) => alu32i!(d, i, |a, b| (a as i32).wrapping_shr(b) as u32),

            Op::Add32R(d, s) => alu32r!(d, s, |a, b| a.wrapping_add(b)),
            Op::Sub32R(d, s) => alu32r!(d, s, |a, b| a.wrapping_sub(b)),
            Op::Mul32R(d, s) => alu32r!(d, s, |a, b| a.wrapping_mul(b)),
            Op::Div32R(d, s) => alu32r!(d, s, |a, b| a.checked_div(b).unwrap_or(0)),
            Op::SDiv32R(d, s) => {
                alu32r!(d, s, |a, b| if b == 0 { 0 } else { (a as i32).wrapping_div(b as i32) as u32 })
            }
            Op::Or32R(d, s) => alu32r!(d, s, |a, b| a | b),
            Op::And32R(d, s) => alu32r!(d, s, |a, b| a & b),
            Op::Lsh32R(d, s) => alu32r!(d, s, |a, b| a.wrapping_shl(b)),
            Op::Rsh32R(d, s) => alu32r!(d, s, |a, b| a.wrapping_shr(b)),
            Op::Mod32R(d, s) => alu32r!(d, s, |a, b| if b == 0 { a } else { a % b }),
            Op::SMod32R(d, s) => {
                alu32r!(d, s, |a, b| if b == 0 { a } else { (a as i32).wrapping_rem(b as i32) as u32 })
            }
            Op::Xor32R(d, s) => alu32r!(d, s, |a, b| a ^ b),
            Op::Mov32R(d, s) => reg[r(d)] = reg[r(s)] as u32 as u64,
            Op::Arsh32R(d, s) => alu32r!(d, s, |a, b| (a as i32).wrapping_shr(b) as u32),

            Op::Neg64(d) => reg[r(d)] = reg[r(d)].wrapping_neg(),
            Op::Neg32(d) => reg[r(d)] = (reg[r(d)] as u32).wrapping_neg() as u64,
            Op::MovSx64B(d, s) => reg[r(d)] = reg[r(s)] as i8 as i64 as u64,
            Op::MovSx64H(d, s) => reg[r(d)] = reg[r(s)] as i16 as i64 as u64,
            Op::MovSx64W(d, s) => reg[r(d)] = reg[r(s)] as i32 as i64 as u64,
            Op::MovSx32B(d, s) => reg[r(d)] = reg[r(s)] as i8 as i32 as u32 as u64,
            Op::MovSx32H(d, s) => reg[r(d)] = reg[r(s)] as i16 as i32 as u32 as u64,
            Op::Le16(d) => reg[r(d)] = reg[r(d)] as u16 as u64,
            Op::Le32(d) => reg[r(d)] = reg[r(d)] as u32 as u64,
            Op::Le64(_) => {}
            Op::Swap16(d) => reg[r(d)] = (reg[r(d)] as u16).swap_bytes() as u64,
            Op::Swap32(d) => reg[r(d)] = (reg[r(d)] as u32).swap_bytes() as u64,
            Op::Swap64(d) => reg[r(d)] = reg[r(d)].swap_bytes(),

            Op::LdB(d, s, o) => reg[r(d)] = ldz!(u8, ea!(s, o), cur),
            Op::LdH(d, s, o) => reg[r(d)] = ldz!(u16, ea!(s, o), cur),
            Op::LdW(d, s, o) => reg[r(d)] = ldz!(u32, ea!(s, o), cur),
            Op::LdDW(d, s, o) => reg[r(d)] = ldz!(u64, ea!(s, o), cur),
            Op::LdSB(d, s, o) => reg[r(d)] = lds!(i8, ea!(s, o), cur),
            Op::LdSH(d, s, o) => reg[r(d)] = lds!(i16, ea!(s, o), cur),
            Op::LdSW(d, s, o) => reg[r(d)] = lds!(i32, ea!(s, o), cur),
            Op::StB(d, s, o) => st!(u8, ea!(d, o), reg[r(s)] as u8, cur),
            Op::StH(d, s, o) => st!(u16, ea!(d, o), reg[r(s)] as u16, cur),
            Op::StW(d, s, o) => st!(u32, ea!(d, o), reg[r(s)] as u32, cur),
            Op::StDW(d, s, o) => st!(u64, ea!(d, o), reg[r(s)], cur),
            Op::StBI(d, o, i) => st!(u8, ea!(d, o), i as u8, cur),
            Op::StHI(d, o, i) => st!(u16, ea!(d, o), i as u16, cur),
            Op::StWI(d, o, i) => st!(u32, ea!(d, o), i as u32, cur),
            Op::StDWI(d, o, i) => st!(u64, ea!(d, o), i as i64 as u64, cur),
            Op::CvLd(d, s, o, code) => reg[r(d)] = converted_load(vm, mem, env, reg[r(s)], o, code, cur)?,
            Op::CvSt(d, s, o, size) => converted_store(vm, mem, env, reg[r(d)], o, size, reg[r(s)], cur)?,
            Op::CvStI(d, o, i, size) => converted_store(vm, mem, env, reg[r(d)], o, size, i as i64 as u64, cur)?,
            // Acquire/release accesses to writable memory are atomics; the others (read-only
            // regions, the environment's virtual memory: the kernel refuses both) take
            // the plain slow paths, as the JIT's do.
            Op::LdAcq(d, s, o, size) => {
                let (a, n) = (ea!(s, o), u64::from(size));
                reg[r(d)] = if CHECKED {
                    match mem.fast(a, n, true) {
                        // SAFETY: `fast` proved the bytes lie in a writable region.
                        Some(p) => unsafe { load_acquire(p, size) },
                        None => slow_load(mem, env, a, n, false, cur)?,
                    }
                } else {
                    // SAFETY: the caller's contract of `execute` (verified programs
                    // load-acquire from the stack and map values; an acquire load does
                    // not write even where a map is mapped read-only).
                    unsafe { load_acquire(ptr::with_exposed_provenance_mut::<u8>(a as usize), size) }
                };
            }
            Op::StRel(d, s, o, size) => {
                let (a, n, v) = (ea!(d, o), u64::from(size), reg[r(s)]);
                if CHECKED {
                    match mem.fast(a, n, true) {
                        // SAFETY: `fast` proved the bytes lie in a writable region.
                        Some(p) => unsafe { store_release(p, size, v) },
                        None => slow_store(mem, env, a, n, v, cur)?,
                    }
                } else {
                    // SAFETY: the caller's contract of `execute`.
                    unsafe { store_release(ptr::with_exposed_provenance_mut::<u8>(a as usize), size, v) }
                }
            }
            Op::Atomic32 { kind, fetch, dst, src, off } => {
                atomic!(u32, std::sync::atomic::AtomicU32, kind, fetch, dst, src, off, cur)
            }
            Op::Atomic64 { kind, fetch, dst, src, off } => {
                atomic!(u64, std::sync::atomic::AtomicU64, kind, fetch, dst, src, off, cur)
            }

            Op::Lddw(d, lo, hi) => {
                reg[r(d)] = lo as u64 | (hi as u64) << 32;
                pc += 1;
            }
            Op::Unresolved(src) => return Err(VmError::Unresolved { pc: cur, what: pseudo_name(src) }),
            Op::LdAbsB(i) => match ld_packet(mem.packet(), i as i64, 1) {
                Some(v) => reg[0] = v,
                None => done!(0),
            },
            Op::LdAbsH(i) => match ld_packet(mem.packet(), i as i64, 2) {
                Some(v) => reg[0] = v,
                None => done!(0),
            },
            Op::LdAbsW(i) => match ld_packet(mem.packet(), i as i64, 4) {
                Some(v) => reg[0] = v,
                None => done!(0),
            },
            Op::LdIndB(s, i) => match ld_packet(mem.packet(), (reg[r(s)] as i32).wrapping_add(i) as i64, 1) {
                Some(v) => reg[0] = v,
                None => done!(0),
            },
            Op::LdIndH(s, i) => match ld_packet(mem.packet(), (reg[r(s)] as i32).wrapping_add(i) as i64, 2) {
                Some(v) => reg[0] = v,
                None => done!(0),
            },
            Op::LdIndW(s, i) => match ld_packet(mem.packet(), (reg[r(s)] as i32).wrapping_add(i) as i64, 4) {
                Some(v) => reg[0] = v,
                None => done!(0),
            },

            Op::Ja(t) => pc = t as usize,
            Op::MayGoto(t) => match loops[depth].checked_sub(1) {
                Some(left) => loops[depth] = left,
                None => pc = t as usize,
            },
            Op::Jeq64I(d, i, t) => jmp!(reg[r(d)] == i as i64 as u64, t),
            Op::Jgt64I(d, i, t) => jmp!(reg[r(d)] > i as i64 as u64, t),
            Op::Jge64I(d, i, t) => jmp!(reg[r(d)] >= i as i64 as u64, t),
            Op::Jset64I(d, i, t) => jmp!(reg[r(d)] & i as i64 as u64 != 0, t),
            Op::Jne64I(d, i, t) => jmp!(reg[r(d)] != i as i64 as u64, t),
            Op::Jsgt64I(d, i, t) => jmp!(reg[r(d)] as i64 > i as i64, t),
            Op::Jsge64I(d, i, t) => jmp!(reg[r(d)] as i64 >= i as i64, t),
            Op::Jlt64I(d, i, t) => jmp!(reg[r(d)] < i as i64 as u64, t),
            Op::Jle64I(d, i, t) => jmp!(reg[r(d)] <= i as i64 as u64, t),
            Op::Jslt64I(d, i, t) => jmp!((reg[r(d)] as i64) < i as i64, t),
            Op::Jsle64I(d, i, t) => jmp!(reg[r(d)] as i64 <= i as i64, t),
            Op::Jeq64R(d, s, t) => jmp!(reg[r(d)] == reg[r(s)], t),
            Op::Jgt64R(d, s, t) => jmp!(reg[r(d)] > reg[r(s)], t),
            Op::Jge64R(d, s, t) => jmp!(reg[r(d)] >= reg[r(s)], t),
            Op::Jset64R(d, s, t) => jmp!(reg[r(d)] & reg[r(s)] != 0, t),
            Op::Jne64R(d, s, t) => jmp!(reg[r(d)] != reg[r(s)], t),
            Op::Jsgt64R(d, s, t) => jmp!(reg[r(d)] as i64 > reg[r(s)] as i64, t),
            Op::Jsge64R(d, s, t) => jmp!(reg[r(d)] as i64 >= reg[r(s)] as i64, t),
            Op::Jlt64R(d, s, t) => jmp!(reg[r(d)] < reg[r(s)], t),
            Op::Jle64R(d, s, t) => jmp!(reg[r(d)] <= reg[r(s)], t),
            Op::Jslt64R(d, s, t) => jmp!((reg[r(d)] as i64) < reg[r(s)] as i64, t),
            Op::Jsle64R(d, s, t) => jmp!(reg[r(d)] as i64 <= reg[r(s)] as i64, t),
            Op::Jeq32I(d, i, t) => jmp!(reg[r(d)] as u32 == i as u32, t),
            Op::Jgt32I(d, i, t) => jmp!(reg[r(d)] as u32 > i as u32, t),
            Op::Jge32I(d, i, t) => jmp!(reg[r(d)] as u32 >= i as u32, t),
            Op::Jset32I(d, i, t) => jmp!(reg[r(d)] as u32 & i as u32 != 0, t),
            Op::Jne32I(d, i, t) => jmp!(reg[r(d)] as u32 != i as u32, t),
            Op::Jsgt32I(d, i, t) => jmp!(reg[r(d)] as i32 > i, t),
            Op::Jsge32I(d, i, t) => jmp!(reg[r(d)] as i32 >= i, t),
            Op::Jlt32I(d, i, t) => jmp!((reg[r(d)] as u32) < i as u32, t),
            Op::Jle32I(d, i, t) => jmp!(reg[r(d)] as u32 <= i as u32, t),
            Op::Jslt32I(d, i, t) => jmp!((reg[r(d)] as i32) < i, t),
            Op::Jsle32I(d, i, t) => jmp!(reg[r(d)] as i32 <= i, t),
            Op::Jeq32R(d, s, t) => jmp!(reg[r(d)] as u32 == reg[r(s)] as u32, t),
            Op::Jgt32R(d, s, t) => jmp!(reg[r(d)] as u32 > reg[r(s)] as u32, t),
            Op::Jge32R(d, s, t) => jmp!(reg[r(d)] as u32 >= reg[r(s)] as u32, t),
            Op::Jset32R(d, s, t) => jmp!(reg[r(d)] as u32 & reg[r(s)] as u32 != 0, t),
            Op::Jne32R(d, s, t) => jmp!(reg[r(d)] as u32 != reg[r(s)] as u32, t),
            Op::Jsgt32R(d, s, t) => jmp!(reg[r(d)] as i32 > reg[r(s)] as i32, t),
            Op::Jsge32R(d, s, t) => jmp!(reg[r(d)] as i32 >= reg[r(s)] as i32, t),
            Op::Jlt32R(d, s, t) => jmp!((reg[r(d)] as u32) < reg[r(s)] as u32, t),
            Op::Jle32R(d, s, t) => jmp!(reg[r(d)] as u32 <= reg[r(s)] as u32, t),
            Op::Jslt32R(d, s, t) => jmp!((reg[r(d)] as i32) < reg[r(s)] as i32, t),
            Op::Jsle32R(d, s, t) => jmp!(reg[r(d)] as i32 <= reg[r(s)] as i32, t),

            Op::CallHelper(idx) => {
                *executed_total = executed;
                let c = CallEnv {
                    vm,
                    mem: &mut *mem,
                    env: &mut *env,
                    executed: &mut *executed_total,
                    max,
                    depth,
                    checked: CHECKED,
                };
                let stop = call_helper(&helpers[idx as usize], c, &mut reg, cur)?;
                executed = *executed_total;
                if let Some(v) = stop {
                    done!(v);
                }
            }
            Op::CallUnknown(id) => return Err(VmError::UnknownHelper { pc: cur, id: id as u64 }),
            Op::CallLocal(t) => call_local!(t, cur),
            Op::CallX(rg) => {
                let v = reg[r(rg)];
                if v & FUNC_ADDR_MASK == FUNC_ADDR_TAG {
                    let t = (v & !FUNC_ADDR_MASK) as usize;
                    if !vm.program.is_function(t) {
                        return Err(VmError::BadCallTarget { pc: cur, target: v });
                    }
                    call_local!(t, cur);
                } else {
                    let e = u32::try_from(v).ok().and_then(|id| vm.opts.helpers.get(id));
                    let Some(e) = e else {
                        return Err(VmError::UnknownHelper { pc: cur, id: v });
                    };
                    *executed_total = executed;
                    let c = CallEnv {
                        vm,
                        mem: &mut *mem,
                        env: &mut *env,
                        executed: &mut *executed_total,
                        max,
                        depth,
                        checked: CHECKED,
                    };
                    let stop = call_helper(e, c, &mut reg, cur)?;
                    executed = *executed_total;
                    if let Some(v) = stop {
                        done!(v);
                    }
                }
            }
            Op::Kfunc(btf_id) => return Err(VmError::Kfunc { pc: cur, btf_id }),
            Op::Exit => {
                if depth == base_depth {
                    finish!(Flow::Return(reg[0]));
                }
                depth -= 1;
                // SAFETY: the call that entered frame `depth + 1` wrote frame `depth`
                // (hooked runs: every frame is initialised).
                let f = unsafe { frames[depth].assume_init() };
                reg[6..10].copy_from_slice(&f.saved);
                reg[10] = mem.set_depth(depth);
                pc = f.ret;
            }
            Op::LddwTail => return Err(VmError::IntoLddwTail { pc: cur }),
            Op::FellOff => return Err(VmError::FellOffEnd { pc: cur }),
        }
    }
}
