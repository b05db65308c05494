//! The debuggee: one run of the program on a worker thread, paused inside the
//! interpreter's debug hook, and the recording that makes reverse execution a
//! deterministic replay.
//!
//! A run goes through [`bpfbox_vm::Runtime::test_run`] (the path `bpfbox run` takes)
//! with a [`DebugHook`] installed by [`bpfbox_vm::debug::with_hook`]. Before every
//! instruction the hook numbers the step, extends the recording (a [`Trace`]: runs
//! of sequential `(pc, depth)`, the program per stretch) and appends the undo
//! information of the previous instruction to the [`Undo`] log (the registers it
//! changed, the bytes a store or atomic is about to overwrite, the frame a call
//! overwrites, the memory a helper may write), then checks the [`Stop`] condition;
//! when it holds, the worker sends a [`Snapshot`] and waits, serving memory reads,
//! until it is resumed, rewound or killed.
//!
//! Going back to step `m` undoes the instructions in place, newest first, when they
//! all ran in the same interpreter loop and none had effects the log cannot undo
//! (map updates, packet resizes, random numbers, tail calls: [`Undo::barriers`]).
//! Otherwise a fresh run (a fresh runtime from the [`Target`]: new maps, the same
//! inputs, a fixed clock and seed) is stopped at step `m`: the same state, as runs
//! are deterministic, but at the addresses of the new run.

use bpfbox_isa::{CallTarget, Insn};
use bpfbox_vm::debug::{DebugHook, MemUndo, Recorder, Run, SavedFrame, Step, CALL_HOOK, NO_REG, STORE, TRACE_PC_BITS};
use bpfbox_vm::{Map, ProgId, Runtime, TestRunInput, VmError};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;

/// A fresh runtime with the program to debug and its inputs.
pub struct Launch {
    pub runtime: Runtime,
    pub prog: ProgId,
    /// One test run per input (a pcap's packets); map state carries over.
    pub inputs: Vec<TestRunInput>,
    /// What a return value means (`XDP_PASS` ...), if the program type says.
    pub describe: Box<dyn Fn(u64) -> Option<&'static str> + Send>,
}

impl std::fmt::Debug for Launch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Launch").field("prog", &self.prog).field("inputs", &self.inputs.len()).finish()
    }
}

/// Makes runs of the debugged program: every call must build the same runtime (the
/// same maps, map contents and inputs) so that replays are exact.
pub trait Target: Send + Sync + 'static {
    fn launch(&self) -> Result<Launch, String>;
}

/// One recorded step: the instruction about to execute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepRec {
    pub pc: u32,
    /// Index into the session's programs (tail calls switch programs).
    pub prog: u16,
    pub depth: u8,
    /// Index of the input (packet) of the run.
    pub packet: u8,
}

/// The steps from `start` on (to the next stretch) ran program `prog` on input
/// `packet`: a program changes only where an interpreter loop starts (a run, a tail
/// call, a callback), so the recording keeps it once per stretch, not per step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stretch {
    pub start: u32,
    pub prog: u16,
    pub packet: u8,
}

/// The recording: per step (pc, depth) as [`Run`]s of sequential steps (an entry only
/// where control flow is not sequential: the interpreter writes one inline for a taken
/// jump), and the program and input per [`Stretch`].
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Trace {
    /// In step order; the first starts at step 0.
    pub runs: Vec<Run>,
    /// The number of steps recorded.
    pub steps: u32,
    /// In step order; the first starts at step 0.
    pub stretches: Vec<Stretch>,
}

fn pc_of(x: u32) -> usize {
    (x & ((1 << TRACE_PC_BITS) - 1)) as usize
}

/// Step `n` of run `r` in stretch `s` (`n` in the run).
fn unpack(r: Run, n: usize, s: Stretch) -> StepRec {
    let x = r.at.wrapping_add((n as u32).wrapping_sub(r.step));
    StepRec { pc: pc_of(x) as u32, depth: (x >> TRACE_PC_BITS) as u8, prog: s.prog, packet: s.packet }
}

/// The index of the last element whose start is at most `n` (0 when none is).
fn last_at<T>(v: &[T], n: usize, start: impl Fn(&T) -> u32) -> usize {
    v.partition_point(|x| start(x) as usize <= n).saturating_sub(1)
}

/// Steps of a recording in order, from both ends ([`Trace::range`]).
#[derive(Debug, Clone)]
pub struct Steps<'a> {
    runs: &'a [Run],
    stretches: &'a [Stretch],
    /// Steps `front..back` are left.
    front: usize,
    back: usize,
    /// The run and stretch of `front`, and of `back - 1`.
    rf: usize,
    sf: usize,
    rb: usize,
    sb: usize,
}

impl<'a> Steps<'a> {
    fn new(runs: &'a [Run], steps: usize, stretches: &'a [Stretch], range: std::ops::Range<usize>) -> Self {
        let back = range.end.min(steps);
        let front = range.start.min(back);
        let last = back.saturating_sub(1);
        Steps {
            runs,
            stretches,
            front,
            back,
            rf: last_at(runs, front, |r| r.step),
            sf: last_at(stretches, front, |s| s.start),
            rb: last_at(runs, last, |r| r.step),
            sb: last_at(stretches, last, |s| s.start),
        }
    }

    fn rec(&self, n: usize, r: usize, s: usize) -> StepRec {
        let s = self.stretches.get(s).copied().unwrap_or(Stretch { start: 0, prog: 0, packet: 0 });
        unpack(self.runs.get(r).copied().unwrap_or_default(), n, s)
    }
}

impl Iterator for Steps<'_> {
    type Item = StepRec;

    fn next(&mut self) -> Option<StepRec> {
        if self.front >= self.back {
            return None;
        }
        let n = self.front;
        while self.runs.get(self.rf + 1).is_some_and(|r| r.step as usize <= n) {
            self.rf += 1;
        }
        while self.stretches.get(self.sf + 1).is_some_and(|s| s.start as usize <= n) {
            self.sf += 1;
        }
        self.front += 1;
        Some(self.rec(n, self.rf, self.sf))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.back - self.front;
        (n, Some(n))
    }
}

impl DoubleEndedIterator for Steps<'_> {
    fn next_back(&mut self) -> Option<StepRec> {
        if self.front >= self.back {
            return None;
        }
        self.back -= 1;
        let n = self.back;
        while self.rb > 0 && self.runs[self.rb].step as usize > n {
            self.rb -= 1;
        }
        while self.sb > 0 && self.stretches[self.sb].start as usize > n {
            self.sb -= 1;
        }
        Some(self.rec(n, self.rb, self.sb))
    }
}

impl ExactSizeIterator for Steps<'_> {}

impl Trace {
    /// The number of steps recorded.
    pub fn len(&self) -> usize {
        self.steps as usize
    }

    pub fn is_empty(&self) -> bool {
        self.steps == 0
    }

    /// Step `n`.
    pub fn get(&self, n: usize) -> Option<StepRec> {
        (n < self.len()).then(|| self.range(n..n + 1).next()).flatten()
    }

    /// Steps `range` in order (`.rev()` for newest first).
    pub fn range(&self, range: std::ops::Range<usize>) -> Steps<'_> {
        Steps::new(&self.runs, self.len(), &self.stretches, range)
    }

    /// Every step in order.
    pub fn iter(&self) -> Steps<'_> {
        self.range(0..self.len())
    }

    /// The steps before step `n`, newest first, with their numbers.
    pub fn before(&self, n: usize) -> impl Iterator<Item = (usize, StepRec)> + '_ {
        let n = n.min(self.len());
        (0..n).rev().zip(self.range(0..n).rev())
    }
}

/// A new interpreter loop starts at step `start` (the next one recorded).
fn begin_stretch(stretches: &mut Vec<Stretch>, start: u32, prog: u16, packet: u8) {
    if let Some(last) = stretches.last_mut() {
        if last.start == start {
            // The last loop recorded no step.
            *last = Stretch { start, prog, packet };
            return;
        }
        if (last.prog, last.packet) == (prog, packet) {
            return;
        }
    }
    stretches.push(Stretch { start, prog, packet });
}

/// A stop condition over (step record, step number).
pub type StopFn = Box<dyn FnMut(&StepRec, u64) -> bool + Send>;

/// When a resumed run stops again (any condition; steps after the current one).
#[derive(Default)]
pub struct Stop {
    /// Stop at this step number.
    pub at_step: Option<u64>,
    /// Per program: pcs with a breakpoint.
    pub breakpoints: Vec<Vec<bool>>,
    /// Stop when these bytes change: (address, length, last value).
    pub watches: Vec<(u64, usize, Vec<u8>)>,
    /// Any other condition (stepping by lines, finishing a frame).
    pub custom: Option<StopFn>,
}

impl std::fmt::Debug for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stop").field("at_step", &self.at_step).field("watches", &self.watches.len()).finish()
    }
}

/// What undoing recorded instructions needs besides [`Recorder::old`], by step
/// number (each list in step order).
#[derive(Debug, Default, Clone)]
pub struct Undo {
    /// Larger memory a helper may write: (step, address, bytes before).
    pub blocks: Vec<(u32, u64, Vec<u8>)>,
    /// (step, depth, frame saved there before a call overwrote it, `may_goto` budget
    /// of the callee's depth before the call reset it).
    pub frames: Vec<(u32, u8, SavedFrame, u64)>,
    /// (step, depth, budget before a `may_goto`).
    pub budgets: Vec<(u32, u8, u64)>,
    /// (step, r0..r9 before an instruction that writes several: exits, atomics).
    pub regs: Vec<(u32, [u64; 10])>,
    /// Steps whose instruction cannot be undone.
    pub barriers: Vec<u32>,
    /// Steps that start an interpreter loop (a run, a tail call, a callback).
    pub segments: Vec<u32>,
}

fn cut<T>(v: &mut Vec<T>, m: u32, step: impl Fn(&T) -> u32) {
    let keep = v.partition_point(|x| step(x) < m);
    v.truncate(keep);
}

impl Undo {
    fn truncate(&mut self, m: u32) {
        cut(&mut self.blocks, m, |x| x.0);
        cut(&mut self.frames, m, |x| x.0);
        cut(&mut self.budgets, m, |x| x.0);
        cut(&mut self.regs, m, |x| x.0);
        cut(&mut self.barriers, m, |x| *x);
        // A loop that starts at `m` is the loop execution is back in.
        let keep = self.segments.partition_point(|x| *x <= m);
        self.segments.truncate(keep);
    }

    /// Whether the steps `m..n` can be undone from step `n`.
    pub fn can_undo(&self, m: u32, n: u32) -> bool {
        let seg = self.segments.partition_point(|x| *x <= m);
        let crosses_segment = self.segments.get(seg).is_some_and(|s| *s <= n);
        let b = self.barriers.partition_point(|x| *x < m);
        let crosses_barrier = self.barriers.get(b).is_some_and(|x| *x < n);
        m <= n && !crosses_segment && !crosses_barrier
    }
}

/// Helpers whose only effects are r0 and, for some, memory at (r1, r2): undone in
/// place. Any other helper is a barrier.
fn helper_undo(id: i32) -> Option<bool> {
    match id {
        // map_lookup_elem, ktime_get_ns, trace_printk, smp_processor_id, pid_tgid,
        // uid_gid, get_numa_node_id, ktime_get_boot_ns, ktime_get_coarse_ns.
        1 | 5 | 6 | 8 | 14 | 15 | 42 | 125 | 160 => Some(false),
        // probe_read, get_current_comm, probe_read_{user,kernel}[_str]: (dst, size).
        4 | 16 | 45 | 112 | 113 | 114 | 115 => Some(true),
        _ => None,
    }
}

/// [`register_table`]: the instruction's old register value is computed back from the
/// new one when it is undone ([`invertible`]), so nothing is logged for it.
pub const INVERTIBLE: u8 = 12;

/// 64-bit `dst += src`, `dst -= src`, `dst ^= src` (src a constant or another register
/// than dst, not r10) and `dst = -dst`: undone from the value after them. Most of a
/// program's arithmetic (pointer offsets, counters, hashes) needs no undo log entry.
fn invertible(i: &Insn) -> bool {
    use bpfbox_isa::{AluOp, Operand, Width};
    match *i {
        Insn::Alu { op: AluOp::Add | AluOp::Sub | AluOp::Xor, width: Width::W64, dst, src } => {
            dst.num() < 10 && !matches!(src, Operand::Reg(s) if s == dst || s.num() >= 10)
        }
        Insn::Neg { width: Width::W64, dst } => dst.num() < 10,
        _ => false,
    }
}

/// The value of `dst` before the [`invertible`] instruction `i`, from the registers
/// after it.
fn invert(i: &Insn, regs: &[u64; 10]) -> Option<(usize, u64)> {
    use bpfbox_isa::{AluOp, Operand};
    let reg = |r: bpfbox_isa::Reg| regs.get(usize::from(r.num())).copied();
    match *i {
        Insn::Alu { op, dst, src, .. } => {
            let x = match src {
                Operand::Imm(v) => v as i64 as u64,
                Operand::Reg(s) => reg(s)?,
            };
            let now = reg(dst)?;
            let old = match op {
                AluOp::Add => now.wrapping_sub(x),
                AluOp::Sub => now.wrapping_add(x),
                _ => now ^ x,
            };
            Some((usize::from(dst.num()), old))
        }
        Insn::Neg { dst, .. } => Some((usize::from(dst.num()), reg(dst)?.wrapping_neg())),
        _ => None,
    }
}

/// Per pc: the register the instruction overwrites, [`NO_REG`], [`INVERTIBLE`], or
/// [`CALL_HOOK`] for the instructions the hook records itself (stores, atomics, calls,
/// exits, `may_goto`).
pub fn register_table(insns: &[Insn]) -> Arc<[u8]> {
    insns
        .iter()
        .map(|i| match (i.dst_written(), i) {
            _ if invertible(i) => INVERTIBLE,
            (Some(dst), _) => dst.num().min(NO_REG),
            (None, Insn::LoadPacket { .. }) => 0,
            (None, Insn::Ja { .. } | Insn::Jump { .. } | Insn::LoadImm64Tail) => NO_REG,
            (None, Insn::Store { .. }) => STORE,
            (None, _) => CALL_HOOK,
        })
        .collect()
}

/// Why the run stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    Step,
    Breakpoint,
    /// Watch `index` changed from `old` to `new`.
    Watch {
        index: usize,
        old: Vec<u8>,
        new: Vec<u8>,
    },
    Custom,
    /// Before the `exit` that ends the last input's run (r0 is the return value).
    End,
    /// Moved back by undoing instructions.
    Rewound,
}

/// The machine state where the run stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub step: u64,
    pub rec: StepRec,
    pub regs: [u64; 11],
    /// Return pcs of the calls on the stack, outermost first.
    pub return_pcs: Vec<usize>,
    /// r10 of frames 0..=depth.
    pub frame_pointers: Vec<u64>,
    /// r6..r9 of the caller of each call on the stack as the call saved them
    /// (outermost first, as `return_pcs`): the callers' registers while they wait.
    pub saved_regs: Vec<[u64; 4]>,
    pub reason: StopReason,
}

/// The result of one input's run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketEnd {
    pub packet: usize,
    pub result: Result<(u64, Option<&'static str>), String>,
    pub printk: Vec<String>,
    /// The run faulted at this pc (out-of-bounds access, bad call ...).
    pub fault_pc: Option<usize>,
    /// The step of the faulting instruction (recorded before it ran).
    pub fault_step: Option<u64>,
}

enum ToWorker {
    Read(u64, usize),
    Resume(Box<Stop>, Trace),
    /// Undo back to this step if the log allows.
    Undo(u64, Trace),
    /// The latest step before the current one that wrote into (address, length).
    LastWrite(u64, usize, Trace),
    Kill,
}

enum FromWorker {
    Started(Vec<Arc<Map>>),
    Stopped(Box<Snapshot>, Trace),
    Read(Result<Vec<u8>, String>),
    /// The undo log does not reach that step.
    CannotUndo(Trace),
    LastWrite(Option<u64>, Trace),
    PacketEnd(PacketEnd),
    Exited(Trace),
    Failed(String),
}

/// What the controller learns when it waits for the worker.
#[derive(Debug)]
pub enum Event {
    Stopped(Box<Snapshot>),
    /// Every input ran; the run is over.
    Exited,
}

/// Marker of a run killed by the debugger (never shown: the worker is gone).
const KILLED: &str = "killed by the debugger";

struct Hook {
    rx: Receiver<ToWorker>,
    tx: Sender<FromWorker>,
    progs: Arc<Vec<Vec<Insn>>>,
    /// The debugged program's index.
    main: usize,
    /// Per program: [`register_table`].
    regs_of: Vec<Arc<[u8]>>,
    /// Per program: the register table with the breakpoints of `stop` as `CALL_HOOK`.
    kinds_of: Vec<Option<Arc<[u8]>>>,
    /// The last program seen (address of its `Vm`) and its index.
    last_vm: (usize, u16),
    prog: u16,
    packet: u8,
    last_packet: u8,
    rec: Recorder,
    /// The recording's stretches ([`Recorder::trace`] holds its steps).
    stretches: Vec<Stretch>,
    stop: Box<Stop>,
    undo: Undo,
}

/// [`MemUndo::addr`] of a store whose bytes could not be read (its step is a barrier).
const NO_ADDR: u64 = u64::MAX;

/// (base register, offset, size) of an instruction that writes memory: stores,
/// store-release and atomics. The steps of these have one [`MemUndo`] each.
fn store_target(i: &Insn) -> Option<(u8, i16, usize)> {
    match *i {
        Insn::Store { size, dst, off, .. }
        | Insn::StoreRelease { size, dst, off, .. }
        | Insn::Atomic { size, dst, off, .. } => Some((dst.num(), off, size.bytes().min(8))),
        _ => None,
    }
}

fn killed(pc: usize) -> VmError {
    VmError::Helper { pc, id: u32::MAX, reason: KILLED.into() }
}

impl Hook {
    fn prog_index(&mut self, step: &Step<'_>) -> u16 {
        let addr = step.vm() as *const _ as usize;
        if addr != self.last_vm.0 {
            // The runtime may rewrite instructions when it loads them (kfunc ids): the
            // same instructions, else the same length, else the debugged program.
            let insns = step.vm().program().insns();
            let i = self
                .progs
                .iter()
                .position(|p| p.as_slice() == insns)
                .or_else(|| self.progs.iter().position(|p| p.len() == insns.len()))
                .unwrap_or(self.main);
            self.last_vm = (addr, i as u16);
        }
        self.last_vm.1
    }

    /// [`store_target`] of the instruction at `pc` of program `prog`.
    fn store_at(&self, prog: usize, pc: usize) -> Option<(u8, i16, usize)> {
        self.progs.get(prog).and_then(|p| p.get(pc)).and_then(store_target)
    }

    /// The recording, for the controller while the run is paused.
    fn lend_trace(&mut self) -> Trace {
        Trace {
            runs: std::mem::take(&mut self.rec.runs),
            steps: self.rec.steps,
            stretches: std::mem::take(&mut self.stretches),
        }
    }

    fn return_trace(&mut self, t: Trace) {
        self.rec.runs = t.runs;
        self.rec.steps = t.steps;
        self.stretches = t.stretches;
        // Recomputes `next`.
        self.rec.truncate_steps(t.steps);
    }

    /// Step `n` of the recording (the worker holds it).
    fn step_rec(&self, n: usize) -> StepRec {
        self.steps(n..n + 1).next().unwrap_or(StepRec { pc: 0, prog: 0, depth: 0, packet: 0 })
    }

    /// Steps `range` of the recording (the worker holds it).
    fn steps(&self, range: std::ops::Range<usize>) -> Steps<'_> {
        Steps::new(&self.rec.runs, self.len(), &self.stretches, range)
    }

    /// The number of steps recorded.
    fn len(&self) -> usize {
        self.rec.steps as usize
    }

    /// The fast path's table for the current program and stop condition.
    fn kinds(&mut self) -> Arc<[u8]> {
        let p = usize::from(self.prog);
        if let Some(Some(k)) = self.kinds_of.get(p) {
            return k.clone();
        }
        let Some(base) = self.regs_of.get(p) else { return Arc::from(Vec::new()) };
        let mut k = base.to_vec();
        if let Some(bp) = self.stop.breakpoints.get(p) {
            for (pc, b) in bp.iter().enumerate() {
                if *b {
                    if let Some(x) = k.get_mut(pc) {
                        *x = CALL_HOOK;
                    }
                }
            }
        }
        let k: Arc<[u8]> = Arc::from(k);
        if let Some(slot) = self.kinds_of.get_mut(p) {
            *slot = Some(k.clone());
        }
        k
    }

    /// Set when the fast path calls back: at `at_step`, before every step while
    /// watches or a custom condition are active.
    fn arm(&mut self, step: &Step<'_>, n: u64) {
        self.rec.call_always = !self.stop.watches.is_empty() || self.stop.custom.is_some();
        // Room for the fast path: the hook is called back before it runs out.
        let room = self.rec.reserve() as u64;
        // Step numbers are u32 (the hook refuses the last one).
        let room = room.min(u64::from(u32::MAX - self.rec.steps));
        self.rec.call_at = match self.stop.at_step {
            Some(s) if s > n => step.executed() + (s - n).min(room),
            _ => step.executed() + room,
        };
        self.rec.kinds = self.kinds();
    }

    /// Record step `n` (the instruction at the current pc): its trace entry, the
    /// register it overwrites and what else undoing it needs.
    fn record(&mut self, step: &mut Step<'_>) {
        let n = self.rec.steps;
        let pc = step.pc();
        self.rec.push_step(pc, step.depth());
        let k = self.regs_of.get(usize::from(self.prog)).and_then(|t| t.get(pc)).copied().unwrap_or(CALL_HOOK);
        if k < NO_REG {
            self.rec.old.push(step.reg(usize::from(k)));
            return;
        }
        // Exactly one `MemUndo` per step whose instruction (in `progs`, as the
        // register table) writes memory: undoing finds each entry's step that way.
        if let Some((base, off, size)) = self.store_at(usize::from(self.prog), pc) {
            let addr = step.reg(usize::from(base)).wrapping_add(off as i64 as u64);
            let mut old = [0u8; 8];
            if step.read(addr, &mut old[..size]).is_ok() {
                self.rec.mem.push(MemUndo { addr, old });
            } else {
                self.rec.mem.push(MemUndo { addr: NO_ADDR, old });
                self.undo.barriers.push(n);
            }
        }
        if k != CALL_HOOK {
            // Stores are logged; jumps change no register.
            return;
        }
        // Helper calls write r0.
        self.rec.old.push(step.reg(0));
        let all_regs = |step: &Step<'_>| {
            let mut r = [0u64; 10];
            for (i, x) in r.iter_mut().enumerate() {
                *x = step.reg(i);
            }
            r
        };
        match step.insn().copied() {
            // Memory is logged above.
            Some(Insn::Store { .. }) | Some(Insn::StoreRelease { .. }) => {}
            Some(Insn::Atomic { .. }) => self.undo.regs.push((n, all_regs(step))),
            Some(Insn::Exit) => self.undo.regs.push((n, all_regs(step))),
            Some(Insn::Call(CallTarget::Local(_))) | Some(Insn::CallX { .. }) => {
                let d = step.depth();
                let f = step.frame(d).unwrap_or(SavedFrame { ret: 0, saved: [0; 4] });
                self.undo.frames.push((n, d as u8, f, step.loop_budget(d + 1)));
                if let Some(Insn::CallX { reg }) = step.insn().copied() {
                    // callx of a helper: undoable as helpers are.
                    if step.reg(usize::from(reg.num())) >> 32 != bpfbox_vm::FUNC_ADDR_TAG >> 32 {
                        self.undo.barriers.push(n);
                    }
                }
            }
            Some(Insn::MayGoto { .. }) => {
                let d = step.depth();
                self.undo.budgets.push((n, d as u8, step.loop_budget(d)));
            }
            Some(Insn::Call(CallTarget::Helper(id))) => match helper_undo(id) {
                Some(true) => {
                    let (addr, len) = (step.reg(1), step.reg(2).min(1 << 16) as usize);
                    let mut b = vec![0; len];
                    if step.read(addr, &mut b).is_ok() {
                        self.undo.blocks.push((n, addr, b));
                    } else {
                        self.undo.barriers.push(n);
                    }
                }
                Some(false) => {}
                None => self.undo.barriers.push(n),
            },
            _ => self.undo.barriers.push(n),
        }
    }

    fn check(&mut self, rec: &StepRec, n: u64, step: &mut Step<'_>) -> Option<StopReason> {
        let stop = &mut *self.stop;
        if stop.at_step == Some(n) {
            return Some(StopReason::Step);
        }
        if let Some(bp) = stop.breakpoints.get(usize::from(rec.prog)) {
            if bp.get(rec.pc as usize).copied().unwrap_or(false) {
                return Some(StopReason::Breakpoint);
            }
        }
        for (i, (addr, len, old)) in stop.watches.iter_mut().enumerate() {
            let mut now = vec![0; *len];
            if step.read(*addr, &mut now).is_ok() && now != *old {
                let was = std::mem::replace(old, now.clone());
                return Some(StopReason::Watch { index: i, old: was, new: now });
            }
        }
        if let Some(f) = stop.custom.as_mut() {
            if f(rec, n) {
                return Some(StopReason::Custom);
            }
        }
        if self.packet == self.last_packet && step.depth() == 0 && matches!(step.insn(), Some(Insn::Exit)) {
            return Some(StopReason::End);
        }
        None
    }

    fn snapshot(&self, step: &Step<'_>, reason: StopReason) -> Snapshot {
        let n = self.len().saturating_sub(1);
        Snapshot {
            step: n as u64,
            rec: self.step_rec(n),
            regs: step.regs(),
            return_pcs: step.return_pcs(),
            frame_pointers: (0..=step.depth()).map(|d| step.frame_pointer(d)).collect(),
            saved_regs: (step.base_depth()..step.depth()).filter_map(|d| step.frame(d)).map(|f| f.saved).collect(),
            reason,
        }
    }

    /// Undo steps `m..n` in place (the current step is `n`, already recorded), then
    /// record step `m` again. `false` when the log does not allow it.
    fn undo_to(&mut self, m: u64, step: &mut Step<'_>) -> bool {
        let Some(n) = (self.len() as u64).checked_sub(1) else { return false };
        if m >= n || !self.undo.can_undo(m as u32, n as u32) {
            return false;
        }
        // Steps m..=n ran in one interpreter loop: one program.
        let prog = usize::from(self.prog);
        let (Some(kinds), Some(insns)) = (self.regs_of.get(prog).cloned(), self.progs.get(prog).cloned()) else {
            return false;
        };
        let mut regs = [0u64; 10];
        for (i, r) in regs.iter_mut().enumerate() {
            *r = step.reg(i);
        }
        let (mut ri, mut bi) = (self.undo.regs.len(), self.undo.blocks.len());
        // The current step's own entries (recorded already) are not undone.
        let n32 = n as u32;
        while ri > 0 && self.undo.regs[ri - 1].0 >= n32 {
            ri -= 1;
        }
        while bi > 0 && self.undo.blocks[bi - 1].0 >= n32 {
            bi -= 1;
        }
        let kind_of = |pc: usize| kinds.get(pc).copied().unwrap_or(CALL_HOOK);
        let pushes = |kind: u8| kind < NO_REG || kind == CALL_HOOK;
        // `old` and `mem` have the current step's entries too.
        let cur = self.step_rec(n as usize).pc as usize;
        let mut oi = self.rec.old.len() - usize::from(pushes(kind_of(cur)));
        let mut mi = self.rec.mem.len() - usize::from(self.store_at(prog, cur).is_some());
        // Every frame writable while memory is restored (stores of deeper frames).
        step.rewind(step.pc(), bpfbox_vm::MAX_CALL_FRAMES - 1, &[], &[]);
        // Newest first: registers from `old` or the multi-register log, memory from
        // the store and block logs.
        // One stretch: the pcs come from the runs alone.
        let runs = &self.rec.runs;
        let mut run = last_at(runs, n as usize, |r| r.step);
        for k in (m..n).rev() {
            while run > 0 && u64::from(runs[run].step) > k {
                run -= 1;
            }
            let pc = pc_of(runs[run].at.wrapping_add(k as u32 - runs[run].step));
            let kind = kind_of(pc);
            let k32 = k as u32;
            if pushes(kind) {
                oi -= 1;
            }
            if kind == STORE || kind == CALL_HOOK {
                if let Some((_, _, size)) = insns.get(pc).and_then(store_target) {
                    mi -= 1;
                    let u = self.rec.mem[mi];
                    if u.addr != NO_ADDR {
                        let _ = step.write(u.addr, &u.old[..size]);
                    }
                }
            }
            if kind < NO_REG {
                regs[usize::from(kind)] = self.rec.old[oi];
            } else if kind == INVERTIBLE {
                if let Some((r, v)) = insns.get(pc).and_then(|i| invert(i, &regs)) {
                    regs[r] = v;
                }
            } else if kind == CALL_HOOK {
                if ri > 0 && self.undo.regs[ri - 1].0 == k32 {
                    ri -= 1;
                    regs = self.undo.regs[ri].1;
                } else {
                    // Helper calls write r0.
                    regs[0] = self.rec.old[oi];
                }
                while bi > 0 && self.undo.blocks[bi - 1].0 == k32 {
                    bi -= 1;
                    let (addr, old) = (self.undo.blocks[bi].1, self.undo.blocks[bi].2.clone());
                    let _ = step.write(addr, &old);
                }
            }
        }
        let m32 = m as u32;
        let mut frames = Vec::new();
        let mut budgets = Vec::new();
        for &(_, d, f, b) in self.undo.frames.iter().rev().take_while(|x| x.0 >= m32) {
            frames.push((usize::from(d), f));
            budgets.push((usize::from(d) + 1, b));
        }
        for &(_, d, b) in self.undo.budgets.iter().rev().take_while(|x| x.0 >= m32) {
            budgets.push((usize::from(d), b));
        }
        let to = self.step_rec(m as usize);
        step.rewind(to.pc as usize, usize::from(to.depth), &frames, &budgets);
        for (r, v) in regs.iter().enumerate() {
            step.set_reg(r, *v);
        }
        step.set_executed(step.executed() - (n - m));
        self.undo.truncate(m32);
        self.rec.mem.truncate(mi);
        self.rec.truncate_steps(m32);
        let keep = self.stretches.partition_point(|s| s.start <= m32);
        self.stretches.truncate(keep);
        self.rec.old.truncate(oi);
        self.record(step);
        true
    }

    /// The latest step before `n` whose store, atomic or helper wrote into `len`
    /// bytes at `addr`.
    fn last_write(&self, n: u32, addr: u64, len: usize) -> Option<u64> {
        let hit = |a: u64, l: u64| a < addr.saturating_add(len as u64) && addr < a.saturating_add(l);
        let block = self.undo.blocks.iter().rev().find(|b| b.0 < n && hit(b.1, b.2.len() as u64)).map(|b| b.0);
        // `mem` has one entry per step that writes memory: walk the steps back.
        let mut mi = self.rec.mem.len();
        let end = self.len();
        for (k, r) in (0..end).rev().zip(self.steps(0..end).rev()) {
            if block.is_some_and(|b| k as u32 <= b) {
                return block.map(u64::from);
            }
            let Some((_, _, size)) = self.store_at(usize::from(r.prog), r.pc as usize) else {
                continue;
            };
            let Some(i) = mi.checked_sub(1) else { return block.map(u64::from) };
            mi = i;
            let u = self.rec.mem[mi];
            if (k as u32) < n && u.addr != NO_ADDR && hit(u.addr, size as u64) {
                return Some(k as u64);
            }
        }
        block.map(u64::from)
    }

    /// Paused: serve requests until resumed. `Err` when killed.
    fn pause(&mut self, snap: Snapshot, step: &mut Step<'_>) -> Result<(), VmError> {
        // The step paused at (the trace is with the controller meanwhile).
        let mut at = snap.step as u32;
        let trace = self.lend_trace();
        if self.tx.send(FromWorker::Stopped(Box::new(snap), trace)).is_err() {
            return Err(killed(step.pc()));
        }
        loop {
            match self.rx.recv() {
                Ok(ToWorker::Read(addr, len)) => {
                    let mut buf = vec![0; len.min(1 << 20)];
                    let r = step.read(addr, &mut buf).map(|_| buf).map_err(|e| e.to_string());
                    let _ = self.tx.send(FromWorker::Read(r));
                }
                Ok(ToWorker::Resume(stop, trace)) => {
                    self.stop = stop;
                    self.return_trace(trace);
                    self.kinds_of.iter_mut().for_each(|k| *k = None);
                    return Ok(());
                }
                Ok(ToWorker::LastWrite(addr, len, trace)) => {
                    self.return_trace(trace);
                    let step = self.last_write(at, addr, len);
                    let trace = self.lend_trace();
                    let _ = self.tx.send(FromWorker::LastWrite(step, trace));
                }
                Ok(ToWorker::Undo(m, trace)) => {
                    self.return_trace(trace);
                    let msg = if self.undo_to(m, step) {
                        let snap = self.snapshot(step, StopReason::Rewound);
                        at = snap.step as u32;
                        FromWorker::Stopped(Box::new(snap), self.lend_trace())
                    } else {
                        FromWorker::CannotUndo(self.lend_trace())
                    };
                    if self.tx.send(msg).is_err() {
                        return Err(killed(step.pc()));
                    }
                }
                Ok(ToWorker::Kill) | Err(_) => return Err(killed(step.pc())),
            }
        }
    }
}

impl DebugHook for Hook {
    fn before_insn(&mut self, step: &mut Step<'_>) -> Result<(), VmError> {
        if step.is_first() {
            // A pc + 1 must fit beside the depth ([`Recorder::next`]).
            if step.vm().program().insns().len() >= 1 << TRACE_PC_BITS {
                return Err(VmError::Helper {
                    pc: step.pc(),
                    id: u32::MAX,
                    reason: "the debugger records programs of fewer than 16M instructions".into(),
                });
            }
            self.prog = self.prog_index(step);
            let start = self.rec.steps;
            self.undo.segments.push(start);
            begin_stretch(&mut self.stretches, start, self.prog, self.packet);
        }
        if self.rec.steps == u32::MAX {
            return Err(VmError::Helper {
                pc: step.pc(),
                id: u32::MAX,
                reason: "the debugger records runs of fewer than 4G instructions".into(),
            });
        }
        self.record(step);
        let n = self.len() as u64 - 1;
        let rec = self.step_rec(n as usize);
        if let Some(reason) = self.check(&rec, n, step) {
            let snap = self.snapshot(step, reason);
            self.pause(snap, step)?;
        }
        let n = self.len() as u64 - 1;
        self.arm(step, n);
        Ok(())
    }

    fn recorder(&mut self) -> Option<&mut Recorder> {
        Some(&mut self.rec)
    }
}

/// A run of the program on its worker thread.
pub struct Debuggee {
    tx: Sender<ToWorker>,
    rx: Receiver<FromWorker>,
    worker: Option<JoinHandle<()>>,
    /// The maps of this run's runtime.
    pub maps: Vec<Arc<Map>>,
    /// Runs of inputs that ended since the last wait.
    pub ended: Vec<PacketEnd>,
    alive: bool,
}

impl std::fmt::Debug for Debuggee {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Debuggee").field("alive", &self.alive).finish()
    }
}

impl Debuggee {
    /// Start a run that stops as `stop` says (checked from step 0), with the
    /// recording so far (extended when the run goes further).
    /// `main` indexes `progs`: the debugged program (the fallback for instructions
    /// the runtime rewrote).
    pub fn start(
        target: Arc<dyn Target>,
        progs: Arc<Vec<Vec<Insn>>>,
        main: usize,
        stop: Stop,
    ) -> Result<(Debuggee, Event, Trace), String> {
        let (to_tx, to_rx) = channel();
        let (from_tx, from_rx) = channel();
        let worker = std::thread::Builder::new()
            .name("bpfbox-debuggee".into())
            .spawn(move || worker(target, progs, main, stop, to_rx, from_tx))
            .map_err(|e| format!("cannot start the debuggee thread: {e}"))?;
        let mut d =
            Debuggee { tx: to_tx, rx: from_rx, worker: Some(worker), maps: Vec::new(), ended: Vec::new(), alive: true };
        let (ev, trace) = d.wait()?;
        Ok((d, ev, trace))
    }

    fn wait(&mut self) -> Result<(Event, Trace), String> {
        loop {
            match self.rx.recv() {
                Ok(FromWorker::Started(maps)) => self.maps = maps,
                Ok(FromWorker::Stopped(s, trace)) => return Ok((Event::Stopped(s), trace)),
                Ok(FromWorker::PacketEnd(e)) => self.ended.push(e),
                Ok(FromWorker::Exited(trace)) => {
                    self.finish();
                    return Ok((Event::Exited, trace));
                }
                Ok(FromWorker::Failed(e)) => {
                    self.finish();
                    return Err(e);
                }
                Ok(FromWorker::Read(_)) | Ok(FromWorker::CannotUndo(_)) | Ok(FromWorker::LastWrite(..)) => {}
                Err(_) => {
                    self.finish();
                    return Err("the debuggee thread ended unexpectedly".into());
                }
            }
        }
    }

    fn finish(&mut self) {
        self.alive = false;
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }

    /// Whether the run is paused (not exited).
    pub fn alive(&self) -> bool {
        self.alive
    }

    /// Continue until `stop` holds or the run ends.
    pub fn resume(&mut self, stop: Stop, trace: Trace) -> Result<(Event, Trace), String> {
        if !self.alive {
            return Err("the program is not being run".into());
        }
        self.tx.send(ToWorker::Resume(Box::new(stop), trace)).map_err(|_| "the debuggee is gone".to_string())?;
        self.wait()
    }

    /// Go back to step `m` by undoing instructions in place. `Ok(None)` (and the
    /// recording back) when the undo log does not reach it.
    pub fn undo(&mut self, m: u64, trace: Trace) -> Result<(Option<Event>, Trace), String> {
        if !self.alive {
            return Ok((None, trace));
        }
        self.tx.send(ToWorker::Undo(m, trace)).map_err(|_| "the debuggee is gone".to_string())?;
        loop {
            match self.rx.recv() {
                Ok(FromWorker::Stopped(s, t)) => return Ok((Some(Event::Stopped(s)), t)),
                Ok(FromWorker::CannotUndo(t)) => return Ok((None, t)),
                Ok(FromWorker::PacketEnd(e)) => self.ended.push(e),
                Ok(_) => {}
                Err(_) => return Err("the debuggee is gone".into()),
            }
        }
    }

    /// The latest recorded step before this one whose store, atomic or helper wrote
    /// into `len` bytes at `addr` (map updates by helpers are not seen), and the
    /// recording back.
    pub fn last_write(&mut self, addr: u64, len: usize, trace: Trace) -> Result<(Option<u64>, Trace), String> {
        if !self.alive {
            return Ok((None, trace));
        }
        self.tx.send(ToWorker::LastWrite(addr, len, trace)).map_err(|_| "the debuggee is gone".to_string())?;
        loop {
            match self.rx.recv() {
                Ok(FromWorker::LastWrite(s, t)) => return Ok((s, t)),
                Ok(FromWorker::PacketEnd(e)) => self.ended.push(e),
                Ok(_) => {}
                Err(_) => return Err("the debuggee is gone".into()),
            }
        }
    }

    /// Read program memory at the stop.
    pub fn read(&mut self, addr: u64, len: usize) -> Result<Vec<u8>, String> {
        if !self.alive {
            return Err("the program is not being run".into());
        }
        self.tx.send(ToWorker::Read(addr, len)).map_err(|_| "the debuggee is gone".to_string())?;
        loop {
            match self.rx.recv() {
                Ok(FromWorker::Read(r)) => return r,
                Ok(FromWorker::PacketEnd(e)) => self.ended.push(e),
                Ok(_) => {}
                Err(_) => return Err("the debuggee is gone".into()),
            }
        }
    }
}

impl Drop for Debuggee {
    fn drop(&mut self) {
        if self.alive {
            let _ = self.tx.send(ToWorker::Kill);
            // Drain until the worker says it is done.
            while let Ok(m) = self.rx.recv() {
                if matches!(m, FromWorker::Exited(_) | FromWorker::Failed(_)) {
                    break;
                }
            }
        }
        self.finish();
    }
}

fn worker(
    target: Arc<dyn Target>,
    progs: Arc<Vec<Vec<Insn>>>,
    main: usize,
    stop: Stop,
    rx: Receiver<ToWorker>,
    tx: Sender<FromWorker>,
) {
    let launch = match target.launch() {
        Ok(l) => l,
        Err(e) => {
            let _ = tx.send(FromWorker::Failed(e));
            return;
        }
    };
    let _ = tx.send(FromWorker::Started(launch.runtime.maps()));
    let regs_of: Vec<Arc<[u8]>> = progs.iter().map(|p| register_table(p)).collect();
    let mut hook = Hook {
        rx,
        tx: tx.clone(),
        kinds_of: vec![None; progs.len()],
        progs,
        main,
        regs_of,
        last_vm: (0, 0),
        prog: 0,
        packet: 0,
        last_packet: launch.inputs.len().saturating_sub(1).min(255) as u8,
        stretches: Vec::new(),
        rec: Recorder { runs: pool::take_runs(), old: pool::take_old(), mem: pool::take_mem(), ..Recorder::default() },
        stop: Box::new(stop),
        undo: Undo::default(),
    };
    for (i, input) in launch.inputs.iter().enumerate() {
        hook.packet = i.min(255) as u8;
        let out = bpfbox_vm::debug::with_hook(&mut hook, || launch.runtime.test_run(launch.prog, input));
        let fault_pc = match &out {
            Err(bpfbox_vm::RuntimeError::Fault { error, .. }) => error.pc(),
            _ => None,
        };
        let last = hook.len().checked_sub(1);
        let fault_step = match (fault_pc, last) {
            (Some(pc), Some(n)) if hook.step_rec(n).pc as usize == pc => Some(n as u64),
            _ => None,
        };
        let (result, printk) = match out {
            Ok(o) => (Ok((o.retval, (launch.describe)(o.retval))), o.printk),
            Err(e) => {
                let msg = e.to_string();
                if msg.contains(KILLED) {
                    pool::give_mem(std::mem::take(&mut hook.rec.mem));
                    pool::give_old(std::mem::take(&mut hook.rec.old));
                    let _ = tx.send(FromWorker::Exited(Trace::default()));
                    return;
                }
                (Err(msg), Vec::new())
            }
        };
        let _ = tx.send(FromWorker::PacketEnd(PacketEnd { packet: i, result, printk, fault_pc, fault_step }));
    }
    pool::give_mem(std::mem::take(&mut hook.rec.mem));
    pool::give_old(std::mem::take(&mut hook.rec.old));
    let _ = tx.send(FromWorker::Exited(hook.lend_trace()));
}

/// Recording buffers kept for the next run of this process: replays and restarts
/// reuse memory the kernel has already mapped in (page faults are most of the cost of
/// recording a long run).
pub mod pool {
    use bpfbox_vm::debug::{MemUndo, Run};
    use std::sync::Mutex;

    const KEEP: usize = 4;
    static RUNS: Mutex<Vec<Vec<Run>>> = Mutex::new(Vec::new());
    static OLD: Mutex<Vec<Vec<u64>>> = Mutex::new(Vec::new());
    static MEM: Mutex<Vec<Vec<MemUndo>>> = Mutex::new(Vec::new());

    fn take<T>(p: &Mutex<Vec<Vec<T>>>) -> Vec<T> {
        let mut p = p.lock().unwrap_or_else(|e| e.into_inner());
        let best = (0..p.len()).max_by_key(|&i| p[i].capacity());
        best.map(|i| p.swap_remove(i)).unwrap_or_default()
    }

    fn give<T>(p: &Mutex<Vec<Vec<T>>>, mut v: Vec<T>) {
        if v.capacity() == 0 {
            return;
        }
        v.clear();
        let mut p = p.lock().unwrap_or_else(|e| e.into_inner());
        p.push(v);
        if p.len() > KEEP {
            // Keep the largest.
            p.sort_by_key(|v| std::cmp::Reverse(v.capacity()));
            p.truncate(KEEP);
        }
    }

    pub fn take_runs() -> Vec<Run> {
        take(&RUNS)
    }

    pub fn take_old() -> Vec<u64> {
        take(&OLD)
    }

    pub fn give_old(v: Vec<u64>) {
        give(&OLD, v)
    }

    pub fn take_mem() -> Vec<MemUndo> {
        take(&MEM)
    }

    /// Hand back a trace the session no longer needs.
    pub fn give_trace(t: super::Trace) {
        give(&RUNS, t.runs)
    }

    pub fn give_mem(v: Vec<MemUndo>) {
        give(&MEM, v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (pc, depth) of the steps of the tests: sequential stretches, jumps back and
    /// forth, calls and returns.
    const STEPS: [(usize, usize); 9] = [(10, 0), (11, 0), (12, 1), (13, 1), (3, 1), (4, 1), (4, 0), (5, 0), (9, 0)];

    fn recorded(steps: &[(usize, usize)]) -> Recorder {
        let mut rec = Recorder::default();
        for &(pc, depth) in steps {
            rec.push_step(pc, depth);
        }
        rec
    }

    #[test]
    fn steps_take_their_program_from_their_stretch() {
        let mut stretches = Vec::new();
        begin_stretch(&mut stretches, 0, 0, 0);
        begin_stretch(&mut stretches, 3, 2, 0);
        // Same program and packet: no new stretch.
        begin_stretch(&mut stretches, 4, 2, 0);
        begin_stretch(&mut stretches, 5, 0, 1);
        assert_eq!(stretches.len(), 3);
        let rec = recorded(&STEPS);
        // A run per jump or depth change, not per step.
        assert_eq!(rec.runs.len(), 5);
        let t = Trace { runs: rec.runs, steps: rec.steps, stretches };
        let n = STEPS.len();
        let want = |k: usize| StepRec {
            pc: STEPS[k].0 as u32,
            depth: STEPS[k].1 as u8,
            prog: [0, 0, 0, 2, 2, 0, 0, 0, 0][k],
            packet: [0, 0, 0, 0, 0, 1, 1, 1, 1][k],
        };
        let all: Vec<StepRec> = (0..n).map(want).collect();
        assert_eq!(t.len(), n);
        assert_eq!(t.iter().collect::<Vec<_>>(), all);
        assert_eq!((0..n).filter_map(|k| t.get(k)).collect::<Vec<_>>(), all);
        assert_eq!(t.get(n), None);
        for a in 0..=n + 1 {
            for b in a..=n + 1 {
                let got: Vec<StepRec> = t.range(a..b).rev().collect();
                let want: Vec<StepRec> = all[a.min(n)..b.min(n)].iter().rev().copied().collect();
                assert_eq!(got, want, "{a}..{b}");
                // Both ends at once.
                let mut it = t.range(a..b);
                let (mut front, mut back) = (Vec::new(), Vec::new());
                loop {
                    match (it.next(), it.next_back()) {
                        (Some(x), Some(y)) => {
                            front.push(x);
                            back.push(y);
                        }
                        (Some(x), None) => front.push(x),
                        _ => break,
                    }
                }
                front.extend(back.into_iter().rev());
                assert_eq!(front, all[a.min(n)..b.min(n)], "{a}..{b} from both ends");
            }
        }
    }

    #[test]
    fn cutting_the_recording_and_going_on_is_recording_afresh() {
        for m in 0..=STEPS.len() {
            let mut rec = recorded(&STEPS);
            rec.truncate_steps(m as u32);
            assert_eq!((rec.runs.clone(), rec.steps), (recorded(&STEPS[..m]).runs, m as u32), "cut at {m}");
            // Going on the same way, or elsewhere, gives what recording it afresh does.
            let other = [(STEPS[m.saturating_sub(1)].0 + 1, STEPS[m.saturating_sub(1)].1), (0, 0)];
            for next in other {
                let mut rec = recorded(&STEPS);
                rec.truncate_steps(m as u32);
                rec.push_step(next.0, next.1);
                let mut want = STEPS[..m].to_vec();
                want.push(next);
                let fresh = recorded(&want);
                assert_eq!(
                    (rec.runs, rec.steps, rec.next),
                    (fresh.runs, fresh.steps, fresh.next),
                    "cut at {m}, {next:?}"
                );
            }
        }
    }
}
