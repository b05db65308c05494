//! Execution control for debuggers: a hook called before every instruction.
//!
//! The interpreter loop is instantiated twice per memory mode: without a hook (the
//! plain loop, unchanged) and with one. [`with_hook`] installs a [`DebugHook`] for the
//! current thread while a closure runs; every interpreter loop that *starts* on that
//! thread meanwhile (a `Runtime::test_run`, its tail calls, the callbacks of
//! `bpf_loop`) takes the hooked instantiation, so a debugger runs programs through
//! exactly the runtime path `bpfbox run` uses. The plain path pays one thread-local
//! read per loop entry, nothing per instruction.

use crate::error::VmError;
use crate::memory::{Mem, MAX_CALL_FRAMES};
use crate::Vm;
use bpfbox_isa::Insn;
use std::cell::Cell;
use std::ptr::NonNull;

/// Called by the interpreter before it executes each instruction.
pub trait DebugHook {
    /// Inspect the state before the instruction at [`Step::pc`]. Blocking here pauses
    /// the program; an error ends the run with that error.
    fn before_insn(&mut self, step: &mut Step<'_>) -> Result<(), VmError>;

    /// A recorder the interpreter fills itself for the steps that need no call
    /// ([`Recorder`]); `None`: call [`DebugHook::before_insn`] before every step.
    /// The interpreter asks again after every call to `before_insn`.
    fn recorder(&mut self) -> Option<&mut Recorder> {
        None
    }
}

/// [`Recorder::kinds`]: the instruction writes no register.
pub const NO_REG: u8 = 10;
/// [`Recorder::kinds`]: call the hook before this instruction.
pub const CALL_HOOK: u8 = 0xff;
/// [`Recorder::kinds`]: a store; the interpreter logs the bytes it overwrites in
/// [`Recorder::mem`] (or calls the hook when it cannot read them).
pub const STORE: u8 = 11;

/// Bytes a store is about to overwrite. Which step it belongs to, and how many of
/// the bytes count, the hook knows from [`Recorder::runs`]: the interpreter logs one
/// entry per [`STORE`] step it records (16 bytes, no step number: a long recording is
/// mostly fresh memory, and page faults on it are most of its cost).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemUndo {
    pub addr: u64,
    /// The old bytes: the first `size` of the store's.
    pub old: [u8; 8],
}

/// [`Run::at`]: the bits of an entry that hold the pc (`depth` is above them).
pub const TRACE_PC_BITS: u32 = 24;

/// A trace entry: `pc | depth << 24`.
#[inline(always)]
pub fn trace_entry(pc: usize, depth: usize) -> u32 {
    pc as u32 | (depth as u32) << TRACE_PC_BITS
}

/// [`Recorder::next`] when no step continues a run (nothing recorded yet): never a
/// trace entry (depths stay far below 255).
pub const NO_RUN: u32 = u32::MAX;

/// Steps `step..` (up to the next run) executed the instructions at `pc`, `pc + 1` ...
/// at one call depth: the trace keeps an entry only where control flow is not
/// sequential (a taken jump, a call, an exit, an undo, a new loop), not one per step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Run {
    /// The first step of the run.
    pub step: u32,
    /// [`trace_entry`]`(pc, depth)` of that step.
    pub at: u32,
}

/// What the interpreter records inline, without calling the hook, for the
/// instructions the hook does not need to see: a debugger's recording at a few
/// nanoseconds a step.
#[derive(Debug, Clone)]
pub struct Recorder {
    /// The trace of (pc, depth) per step as runs of sequential steps, in step order.
    /// Which program ran (tail calls, callbacks) is the hook's to keep: it changes
    /// only at the first step of an interpreter loop, where the hook is called
    /// ([`Step::is_first`]).
    pub runs: Vec<Run>,
    /// Steps recorded.
    pub steps: u32,
    /// The entry of a step that continues the last run: the last step's entry plus
    /// one ([`NO_RUN`] when there is none).
    pub next: u32,
    /// Per step whose instruction overwrites a register (kind 0..=9) or that calls the
    /// hook: the register's value before (the hook decides what it keeps for its steps).
    pub old: Vec<u64>,
    /// Per [`STORE`] step the interpreter records, in step order: what it overwrote.
    pub mem: Vec<MemUndo>,
    /// Per pc of the running program: the register its instruction overwrites
    /// (0..=9), [`NO_REG`], [`STORE`] or [`CALL_HOOK`]. A pc past the end calls the
    /// hook. Other values (12..=254) are the hook's own marks: the interpreter records
    /// the trace entry only, as for [`NO_REG`].
    pub kinds: std::sync::Arc<[u8]>,
    /// Call the hook when the run's executed-instruction count reaches this.
    pub call_at: u64,
    /// Call the hook before every instruction.
    pub call_always: bool,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder {
            runs: Vec::new(),
            steps: 0,
            next: NO_RUN,
            old: Vec::new(),
            mem: Vec::new(),
            kinds: std::sync::Arc::from(Vec::new()),
            call_at: 0,
            call_always: false,
        }
    }
}

impl Recorder {
    /// Record the next step: the instruction at `pc`, at call depth `depth`. The
    /// caller makes sure `runs` has room (the fast path must not reallocate often).
    #[inline(always)]
    pub fn push_step(&mut self, pc: usize, depth: usize) {
        let e = trace_entry(pc, depth);
        if e != self.next {
            self.runs.push(Run { step: self.steps, at: e });
        }
        self.next = e.wrapping_add(1);
        self.steps += 1;
    }

    /// Make room for at least a million more entries in each buffer (doubling, so
    /// that the fast path never reallocates in the middle of a loop). Returns the
    /// entries every buffer can take without reallocating.
    pub fn reserve(&mut self) -> usize {
        grow(&mut self.runs).min(grow(&mut self.old)).min(grow(&mut self.mem))
    }

    /// Forget steps `m..` (the trace part: `old` and `mem` are the hook's to cut).
    pub fn truncate_steps(&mut self, m: u32) {
        let keep = self.runs.partition_point(|r| r.step < m);
        self.runs.truncate(keep);
        self.steps = m.min(self.steps);
        self.next = match self.runs.last() {
            Some(r) if self.steps > 0 => r.at + (self.steps - r.step),
            _ => NO_RUN,
        };
    }
}

fn grow<T>(v: &mut Vec<T>) -> usize {
    const CHUNK: usize = 1 << 20;
    if v.capacity() - v.len() < CHUNK {
        v.reserve(v.capacity().max(4 * CHUNK));
        huge_pages(v);
    }
    v.capacity() - v.len() - 1
}

/// Ask for transparent huge pages under a recording buffer: a long recording is mostly
/// fresh memory, and faulting it in 4 KiB at a time (a microsecond or more each) was
/// most of the cost of recording. Advice only: without it (other systems, THP off)
/// the buffer is the same.
fn huge_pages<T>(v: &Vec<T>) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let start = v.as_ptr() as usize;
        let end = start + v.capacity() * std::mem::size_of::<T>();
        let (a, b) = (start.next_multiple_of(HUGE), end / HUGE * HUGE);
        if b > a {
            // SAFETY: `a..b` lies inside the vector's allocation, which it owns; the
            // advice changes how the kernel backs it, not its contents.
            unsafe { libc::madvise(a as *mut libc::c_void, b - a, libc::MADV_HUGEPAGE) };
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = v;
}

/// The machine state before one instruction, as the hook sees it. The hook may also
/// change it (registers, pc, call frames, memory): that is how a debugger undoes
/// instructions in place.
#[derive(Debug)]
pub struct Step<'a> {
    pub(crate) vm: &'a Vm,
    pub(crate) pc: usize,
    pub(crate) reg: &'a mut [u64; 16],
    pub(crate) depth: usize,
    pub(crate) base_depth: usize,
    pub(crate) frames: &'a mut [crate::interp::Frame; MAX_CALL_FRAMES],
    pub(crate) loops: &'a mut [u64; MAX_CALL_FRAMES],
    pub(crate) mem: &'a mut Mem,
    pub(crate) executed: u64,
    pub(crate) first: bool,
    /// The hook changed pc, depth or the executed count.
    pub(crate) moved: bool,
}

/// A bpf-to-bpf call frame: where its `exit` returns and the caller's r6..r9.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SavedFrame {
    pub ret: usize,
    pub saved: [u64; 4],
}

impl Step<'_> {
    /// The program being executed (tail calls switch programs).
    pub fn vm(&self) -> &Vm {
        self.vm
    }

    /// The slot index of the next instruction.
    pub fn pc(&self) -> usize {
        self.pc
    }

    /// Whether this is the first instruction of an interpreter loop (a run, a tail
    /// call's program, a callback): earlier steps cannot be undone in place.
    pub fn is_first(&self) -> bool {
        self.first
    }

    /// The instruction about to execute.
    pub fn insn(&self) -> Option<&Insn> {
        self.vm.program().insns().get(self.pc)
    }

    /// r0..r10.
    pub fn regs(&self) -> [u64; 11] {
        let mut r = [0; 11];
        r.copy_from_slice(&self.reg[..11]);
        r
    }

    /// Register `r` (0..=10).
    #[inline(always)]
    pub fn reg(&self, r: usize) -> u64 {
        self.reg[r & 15]
    }

    /// Set r0..r9 (r10 follows the call depth).
    pub fn set_reg(&mut self, r: usize, v: u64) {
        if r < 10 {
            self.reg[r] = v;
        }
    }

    /// The bpf-to-bpf call depth (0 in the main function; callbacks of `bpf_loop`
    /// start one deeper than their caller).
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// The depth at which this interpreter loop started (0, or a callback's depth).
    pub fn base_depth(&self) -> usize {
        self.base_depth
    }

    /// Return addresses of the calls made in this loop, outermost first: the
    /// instruction after each `call` still on the stack.
    pub fn return_pcs(&self) -> Vec<usize> {
        self.frames[self.base_depth..self.depth].iter().map(|f| f.ret).collect()
    }

    /// The frame saved by the call made at depth `d` (meaningful while deeper).
    pub fn frame(&self, d: usize) -> Option<SavedFrame> {
        self.frames.get(d).map(|f| SavedFrame { ret: f.ret, saved: f.saved })
    }

    /// The `may_goto` budget left at depth `d`.
    pub fn loop_budget(&self, d: usize) -> u64 {
        self.loops.get(d).copied().unwrap_or(0)
    }

    /// Move execution back to `pc` at call depth `depth` (within this loop), with the
    /// frame saved at each depth and the `may_goto` budget: undoing instructions.
    /// Registers are set separately ([`Step::set_reg`]); r10 follows `depth`.
    pub fn rewind(&mut self, pc: usize, depth: usize, frames: &[(usize, SavedFrame)], budgets: &[(usize, u64)]) {
        if depth < self.base_depth || depth >= MAX_CALL_FRAMES || pc >= self.vm.program().insns().len() {
            return;
        }
        for (d, f) in frames {
            if let Some(slot) = self.frames.get_mut(*d) {
                *slot = crate::interp::Frame { ret: f.ret, saved: f.saved };
            }
        }
        for (d, b) in budgets {
            if let Some(slot) = self.loops.get_mut(*d) {
                *slot = *b;
            }
        }
        self.pc = pc;
        self.depth = depth;
        self.moved = true;
        self.reg[10] = self.mem.set_depth(depth);
    }

    /// The frame pointer (r10) of frame `depth`.
    pub fn frame_pointer(&self, depth: usize) -> u64 {
        self.mem.frame_pointer(depth)
    }

    /// Instructions executed by this run so far (this one not included).
    pub fn executed(&self) -> u64 {
        self.executed
    }

    /// Set the count of executed instructions (after undoing some).
    pub fn set_executed(&mut self, n: u64) {
        self.executed = n;
        self.moved = true;
    }

    /// Copy program memory (stack, packet, context, map values) at `addr`.
    pub fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), VmError> {
        self.mem.read(addr, buf, self.pc)
    }

    /// Write program memory (checked as the program's own stores are).
    pub fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), VmError> {
        self.mem.write(addr, data, self.pc)
    }
}

pub(crate) type HookPtr = NonNull<dyn DebugHook + 'static>;

thread_local! {
    static HOOK: Cell<Option<HookPtr>> = const { Cell::new(None) };
}

/// Run `f` with `hook` called before every instruction that the interpreter executes
/// on this thread (programs loaded on a JIT engine are not hooked).
pub fn with_hook<R>(hook: &mut dyn DebugHook, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<HookPtr>);
    impl Drop for Restore {
        fn drop(&mut self) {
            HOOK.with(|h| h.set(self.0));
        }
    }
    let ptr = NonNull::from(hook);
    // SAFETY: only the lifetime is erased; the pointer is removed from the
    // thread-local (by `Restore`, also on unwinding) before `hook`'s borrow ends.
    let ptr: HookPtr = unsafe { std::mem::transmute::<NonNull<dyn DebugHook + '_>, HookPtr>(ptr) };
    let _restore = Restore(HOOK.with(|h| h.replace(Some(ptr))));
    f()
}

/// The hook installed on this thread, if any.
#[inline(always)]
pub(crate) fn current() -> Option<HookPtr> {
    HOOK.with(|h| h.get())
}

/// Call the hook behind `ptr` (a fresh, short borrow per call: nested loops of
/// callbacks call the same hook).
///
/// # Safety
/// `ptr` must come from [`current`] within the [`with_hook`] call that installed it.
#[inline(always)]
pub(crate) unsafe fn call(ptr: HookPtr, step: &mut Step<'_>) -> Result<(), VmError> {
    // SAFETY: the caller's contract; no other borrow of the hook is live while the
    // interpreter calls it.
    unsafe { (*ptr.as_ptr()).before_insn(step) }
}

/// The hook's recorder, as a pointer the interpreter uses until its next hook call.
///
/// # Safety
/// As for [`call`].
#[inline(always)]
pub(crate) unsafe fn recorder(ptr: HookPtr) -> Option<NonNull<Recorder>> {
    // SAFETY: the caller's contract; the borrow ends here, the pointer is used only
    // until the next call into the hook.
    unsafe { (*ptr.as_ptr()).recorder().map(NonNull::from) }
}
