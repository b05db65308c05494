//! Path-sensitive abstract interpretation: the kernel's `do_check`. This file holds
//! the driver (`run`, the `lddw` pre-pass, the worklist walk, the stack-depth pass),
//! the `Verifier` struct and `step`, which dispatches each instruction to its stage:
//! `alu` (scalar and pointer arithmetic), `mem` (loads, stores, the stack), `calls`
//! (helpers, callbacks, frames, `exit`), `branch` (conditional jumps), `precision`
//! (which scalars matter), `prune` (stored states and their comparison), `log` (the
//! level-2 log); `linux_6_18` (post-RFC instructions) and `global_funcs`.

use crate::bounds::Scalar;
use crate::cfg::{self, Cfg};
use crate::ctx;
use crate::state::{Frame, RegState, RegType, State, MAX_STACK};
use crate::{BranchDecision, Diagnostic, ProgramInput, Report, Rule, Stats, Verdict, VerifyOptions};
use bpfbox_abi::map_types::MapType;
use bpfbox_abi::prog_types::ProgType;
use bpfbox_isa::kernel_fmt::kernel_insn_named;
use bpfbox_isa::{AluOp, AtomicOp, CallTarget, Endian, Imm64, Insn, Operand, PacketMode, Size, Width};
use std::fmt::Write as _;

mod alu;
mod branch;
mod calls;
mod global_funcs;
mod linux_6_18;
pub(crate) use linux_6_18::is_iter_next_insn;
mod log;
mod mem;
mod precision;
mod prune;

use log::{fmt_state, log_after, log_summary, LogBefore, LogHeader, LogNames, Pending};
use mem::strict_align;
use precision::Precision;
use prune::Explored;

/// A rejection before its registers and path are filled in.
struct Fail {
    kind: Rule,
    message: String,
    regs: Vec<u8>,
    hint: Option<String>,
}

type R<T> = Result<T, Box<Fail>>;

fn fail<T>(kind: Rule, message: impl Into<String>, regs: &[u8]) -> R<T> {
    Err(Box::new(Fail { kind, message: message.into(), regs: regs.to_vec(), hint: None }))
}

fn with_hint<T>(r: R<T>, hint: impl FnOnce() -> String) -> R<T> {
    r.map_err(|mut f| {
        if f.hint.is_none() {
            f.hint = Some(hint());
        }
        f
    })
}

/// `BPF_MAX_VAR_OFF`.
const MAX_VAR_OFF: i64 = 1 << 29;
/// `MAX_PACKET_OFF`.
const MAX_PACKET_OFF: u64 = 0xffff;
const MAX_CALL_FRAMES: usize = 8;
/// `BPF_COMPLEXITY_LIMIT_JMP_SEQ`: pending branches.
const MAX_JMP_SEQ: usize = 8192;
/// Branch decisions kept for a diagnostic's path.
const MAX_PATH: usize = 256;

/// One path being explored.
#[derive(Clone)]
struct Path {
    pc: usize,
    st: State,
    node: usize,
    path: Vec<BranchDecision>,
    /// How this path got here ([`precision::Hist`]): its jumps and the states it
    /// stored, newest first, shared with the paths it branched from.
    hist: precision::HistRef,
}

struct Node {
    parent: Option<usize>,
    branches: u32,
    /// What is precise in this stored state so far (innermost frame), as the kernel's
    /// per-state marks: backtracked from the places a value mattered on the paths
    /// explored from it ([`Verifier::backtrack`]). It decides which scalars a loop's
    /// next pass keeps exact when widened (`widen_imprecise_scalars`).
    dprec: precision::Need,
}

enum Next {
    Goto(usize),
    Branch(Box<Path>, usize),
    Done,
}

struct Verifier<'a> {
    prog: &'a ProgramInput,
    opts: &'a VerifyOptions,
    insns: &'a [Insn],
    cfg: Cfg,
    id_gen: u32,
    explored: Vec<Vec<Explored>>,
    nodes: Vec<Node>,
    processed: u64,
    stored: usize,
    total_states: usize,
    peak_states: usize,
    log: Option<String>,
    stack_depth: Vec<u32>,
    /// Set by a helper call that continues in a callback.
    redirect: Option<usize>,
    jumps: u64,
    last_add_insns: u64,
    last_add_jumps: u64,
    /// Per instruction: a load/store/atomic through a ctx or kernel-object pointer
    /// on some path (what the kernel rewrites: `Report::converted_accesses`).
    converted: Vec<bool>,
    /// Per load/store instruction: the pointer type it was first used with
    /// (`insn_aux_data[].ptr_type`, see `Verifier::save_aux_ptr_type`).
    ptr_types: Vec<Option<RegType>>,
    /// A tracing program's arguments, typed from the kernel's BTF.
    tracing: Option<crate::btf_model::Args>,
    /// Scalar precision ([`Precision`]); `None` in unprivileged mode (every scalar precise).
    prec: Option<Precision>,
    /// Stack slot liveness (a [`Precision`] that counts every read), with `prec`.
    stack_live: Option<Precision>,
    /// During a helper call: the arguments (bit n: rn) whose stack memory `helper_mem`
    /// checked, and per argument register the current-frame slots it covers.
    helper_reads: (u16, [u64; 6]),
    /// Where values mattered at the current instruction (pc, what), for [`Verifier::backtrack`].
    dseeds: Vec<(usize, precision::Need)>,
    /// Global functions: which are, which were called, which are verified.
    globals: global_funcs::Globals,
}

/// `resolve_pseudo_ldimm64`, before anything else and on every `lddw` whether or not a
/// path reaches it: map references name a map, direct value addresses are allowed for
/// the map and inside its value, and the map suits the program type.
fn resolve_ldimm64(prog: &ProgramInput) -> Result<(), cfg::CfgError> {
    let err = |pc: usize, kind: Rule, message: String| cfg::CfgError { pc, kind, message };
    for (pc, insn) in prog.insns.iter().enumerate() {
        let Insn::LoadImm64 { imm, .. } = *insn else { continue };
        let (idx, value_off) = match imm {
            Imm64::MapFd(i) | Imm64::MapIdx(i) => (i, None),
            Imm64::MapValue { fd: i, off } | Imm64::MapIdxValue { idx: i, off } => (i, Some(off)),
            _ => continue,
        };
        let Some(m) = usize::try_from(idx).ok().and_then(|i| prog.maps.get(i)) else {
            return Err(err(pc, Rule::InvalidMap, format!("fd {idx} is not pointing to valid bpf_map")));
        };
        if let Some(off) = value_off {
            if m.map_type != MapType::Array as u32 {
                return Err(err(pc, Rule::InvalidMap, "no direct value access support for this map type".into()));
            }
            if off >= m.value_size || m.max_entries != 1 {
                let vs = m.value_size;
                return Err(err(
                    pc,
                    Rule::MapValueAccess,
                    format!("invalid access to map value pointer, value_size={vs} off={off}"),
                ));
            }
        }
        if let Some(msg) = map_prog_refusal(m, prog.prog_type) {
            return Err(err(pc, Rule::InvalidMap, msg.into()));
        }
    }
    Ok(())
}

pub(crate) fn run(prog: &ProgramInput, opts: &VerifyOptions) -> Report {
    let mut log = opts.log.then(String::new);
    let cfg = match resolve_ldimm64(prog).and_then(|()| cfg::build(&prog.insns, opts.unprivileged)) {
        Ok(c) => c,
        Err(e) => {
            if let Some(l) = log.as_mut() {
                let _ = writeln!(l, "{}", e.message);
            }
            return Report {
                verdict: Verdict::Rejected,
                diagnostics: vec![Diagnostic {
                    pc: e.pc,
                    kind: e.kind,
                    message: e.message,
                    regs: vec![],
                    path: vec![],
                    hint: None,
                }],
                stats: Stats::default(),
                log,
                converted_accesses: vec![],
            };
        }
    };
    let n = prog.insns.len();
    let nsub = cfg.subprogs.len();
    let globals = global_funcs::Globals::new(prog, &cfg);
    let global_entries: Vec<usize> = prog.funcs.iter().filter(|f| f.global).map(|f| f.insn_off).collect();
    // The main function's exits, when nothing checks the program's return value.
    let free_exits_end = match crate::ctx::return_range(prog.prog_type, prog.expected_attach_type) {
        None => cfg.subprog_end(0, n),
        Some(_) => 0,
    };
    let mut v = Verifier {
        prog,
        opts,
        insns: &prog.insns,
        cfg,
        id_gen: 0,
        explored: (0..n).map(|_| Vec::new()).collect(),
        nodes: vec![Node { parent: None, branches: 1, dprec: precision::Need::default() }],
        processed: 0,
        stored: 0,
        total_states: 0,
        peak_states: 0,
        log: log.take(),
        stack_depth: vec![0; nsub],
        redirect: None,
        jumps: 0,
        last_add_insns: 0,
        last_add_jumps: 0,
        converted: vec![false; n],
        ptr_types: vec![None; n],
        tracing: match (&prog.kernel_btf, &prog.attach_target) {
            (Some(btf), Some(target)) => {
                crate::btf_model::tracing_args(&btf.0, prog.prog_type, prog.expected_attach_type, target)
            }
            _ => None,
        },
        prec: (!opts.unprivileged).then(|| Precision::new(&prog.insns, free_exits_end, false, &global_entries)),
        stack_live: (!opts.unprivileged).then(|| Precision::new(&prog.insns, free_exits_end, true, &global_entries)),
        helper_reads: (0, [0; 6]),
        dseeds: Vec::new(),
        globals,
    };
    let started = std::time::Instant::now();
    let result = v.main();
    let result = result.and_then(|()| v.check_global_funcs());
    let result = result.and_then(|()| v.check_stack_depth());
    let usec = started.elapsed().as_micros();
    let stats = Stats {
        processed_insns: v.processed,
        peak_states: v.peak_states,
        total_states: v.total_states,
        duration_ns: 0,
    };
    let mut log = v.log.take();
    let stack_depth = if result.is_ok() { v.stack_depth_after_fixups() } else { v.stack_depth.clone() };
    let max_states = v.explored.iter().map(|l| l.len().saturating_sub(1)).max().unwrap_or(0);
    let converted_accesses: Vec<usize> =
        v.converted.iter().enumerate().filter(|(_, c)| **c).map(|(pc, _)| pc).collect();
    match result {
        Ok(()) => {
            if let Some(l) = log.as_mut() {
                let _ = writeln!(l, "{}", log_summary(&stats, &stack_depth, max_states, usec));
            }
            Report { verdict: Verdict::Accepted, diagnostics: vec![], stats, log, converted_accesses }
        }
        Err(d) => {
            if let Some(l) = log.as_mut() {
                let _ = writeln!(l, "{}", d.message);
                let _ = writeln!(l, "{}", log_summary(&stats, &stack_depth, max_states, usec));
            }
            Report { verdict: Verdict::Rejected, diagnostics: vec![*d], stats, log, converted_accesses }
        }
    }
}

fn scalar_of_size(size: u32) -> Scalar {
    if size >= 8 {
        Scalar::unknown()
    } else {
        Scalar::urange(0, (1u64 << (size * 8)) - 1)
    }
}

fn size_bytes(s: Size) -> u32 {
    s.bytes() as u32
}

impl Verifier<'_> {
    fn main(&mut self) -> Result<(), Box<Diagnostic>> {
        let mut init =
            State { frames: vec![Frame::new(0, None, 0)], refs: vec![], lock: None, rcu: false, may_goto_depth: 0 };
        init.frames[0].regs[1] = RegState::ptr(RegType::Ctx);
        if let Some(l) = self.log.as_mut() {
            for (i, start) in self.cfg.subprogs.iter().enumerate() {
                let _ = writeln!(l, "func#{i} @{start}");
            }
            // The registers live before each instruction, r0..r9 (`compute_live_registers`).
            let _ = writeln!(l, "Live regs before insn:");
            for (pc, insn) in self.insns.iter().enumerate() {
                if *insn == Insn::LoadImm64Tail {
                    continue;
                }
                let live = self.cfg.live_in.get(pc).copied().unwrap_or(0);
                let regs: String =
                    (0..10u8).map(|r| if live & (1 << r) != 0 { char::from(b'0' + r) } else { '.' }).collect();
                let _ = writeln!(l, "{pc:7}: {regs} {}", kernel_insn_named(insn, &LogNames));
            }
        }
        self.walk(0, init)
    }

    /// Explore every path from `pc` in state `init` (`do_check`).
    fn walk(&mut self, pc: usize, init: State) -> Result<(), Box<Diagnostic>> {
        let mut work = vec![Path { pc, st: init, node: 0, path: vec![], hist: None }];
        // The log as the kernel writes it (level 2): what to print before the next
        // instruction (`do_print_state`), and the registers the last one touched.
        let mut header = LogHeader::Init;
        while let Some(mut p) = work.pop() {
            let mut pending: Option<Pending> = None;
            loop {
                if self.cfg.prune_point[p.pc] {
                    match self.visit(&mut p) {
                        Ok(true) => {
                            if let Some(l) = self.log.as_mut() {
                                match header {
                                    LogHeader::From(from, _) => {
                                        let _ = writeln!(l, "\nfrom {from} to {}: safe", p.pc);
                                    }
                                    _ => {
                                        let _ = writeln!(l, "{}: safe", p.pc);
                                    }
                                }
                            }
                            self.finish(p.node);
                            break;
                        }
                        Ok(false) => {}
                        Err(f) => return Err(self.diag(&p, *f)),
                    }
                }
                if let Some(l) = self.log.as_mut() {
                    let all = || fmt_state(self.prog, &p.st);
                    match header {
                        LogHeader::Init => {
                            let _ = writeln!(l, "{}:{}", p.pc, all());
                        }
                        LogHeader::From(from, again) => {
                            let _ = writeln!(l, "\nfrom {from} to {}:{}", p.pc, all());
                            if again {
                                let _ = writeln!(l, "{}:{}", p.pc, all());
                            }
                        }
                        LogHeader::None => {
                            if let Some(pend) = pending.take() {
                                pend.write(l, p.pc);
                            }
                        }
                    }
                }
                header = LogHeader::None;
                pending = None;
                self.processed += 1;
                if self.processed > self.opts.insn_limit {
                    let f = Fail {
                        kind: Rule::TooComplex,
                        message: format!("BPF program is too large. Processed {} insn", self.processed),
                        regs: vec![],
                        hint: Some("the verifier walks every path separately: make loops shorter or simpler, or move loop bodies into bpf_loop() callbacks".into()),
                    };
                    return Err(self.diag(&p, f));
                }
                let pc = p.pc;
                let mut before = self.log.is_some().then(|| LogBefore::new(&self.insns[pc], &p.st));
                if let (Some(l), Some(b)) = (self.log.as_mut(), before.as_mut()) {
                    let start = l.len();
                    let _ = writeln!(l, "{pc}: {}", kernel_insn_named(&self.insns[pc], &LogNames));
                    b.line_len = l.len() - start;
                }
                let hist_before = p.hist.clone();
                let stepped = self.step(&mut p);
                // Where values mattered at this instruction: backtracked along the path
                // that reached it (also when the instruction then failed).
                for (spc, need) in std::mem::take(&mut self.dseeds) {
                    self.backtrack(spc, need, hist_before.as_ref());
                }
                match stepped {
                    Ok(next) => {
                        if let (Some(l), Some(before)) = (self.log.as_mut(), before) {
                            let (pend, hdr) = log_after(self.prog, l, &self.insns[pc], pc, &before, &p, &next);
                            pending = pend;
                            if let Some(h) = hdr {
                                header = h;
                            }
                        }
                        let seq = pc + if matches!(self.insns[pc], Insn::LoadImm64 { .. }) { 2 } else { 1 };
                        match next {
                            Next::Goto(t) => {
                                if t != seq {
                                    precision::push_jump(&mut p.hist, pc, t);
                                }
                                p.pc = t
                            }
                            Next::Branch(mut other, t) => {
                                self.nodes[p.node].branches += 1;
                                if other.pc != seq {
                                    precision::push_jump(&mut other.hist, pc, other.pc);
                                }
                                if t != seq {
                                    precision::push_jump(&mut p.hist, pc, t);
                                }
                                work.push(*other);
                                if work.len() > MAX_JMP_SEQ {
                                    let f = Fail {
                                        kind: Rule::TooComplex,
                                        message: format!("The sequence of {} jumps is too complex.", work.len()),
                                        regs: vec![],
                                        hint: Some("too many branches are pending at once, usually a loop whose exit the verifier cannot prove: bound the loop with a constant".into()),
                                    };
                                    return Err(self.diag(&p, f));
                                }
                                p.pc = t;
                            }
                            Next::Done => {
                                self.finish(p.node);
                                break;
                            }
                        }
                    }
                    Err(f) => return Err(self.diag(&p, *f)),
                }
            }
            // The next path comes off the stack: the kernel prints where it branched
            // from and its whole state, twice (all registers are marked touched).
            if let Some(next) = work.last() {
                header = LogHeader::From(next.path.last().map_or(0, |d| d.pc), true);
            }
        }
        Ok(())
    }

    fn diag(&self, p: &Path, f: Fail) -> Box<Diagnostic> {
        let regs = f
            .regs
            .iter()
            .filter_map(|&r| {
                let st = p.st.frames.last()?;
                st.regs.get(r as usize).map(|reg| (r, reg.to_string()))
            })
            .collect();
        Box::new(Diagnostic { pc: p.pc, kind: f.kind, message: f.message, regs, path: p.path.clone(), hint: f.hint })
    }

    /// Map `idx`: `maps[idx]`, or for `idx >= maps.len()` the inner map of
    /// `maps[idx - maps.len()]` (what a map-in-map lookup yields).
    fn map(&self, idx: u32) -> &crate::MapInfo {
        let n = self.prog.maps.len();
        let i = idx as usize;
        if i < n {
            &self.prog.maps[i]
        } else {
            self.prog.maps[i - n].inner.as_deref().unwrap_or(&self.prog.maps[i - n])
        }
    }

    fn new_id(&mut self) -> u32 {
        self.id_gen += 1;
        self.id_gen
    }

    fn read_reg(&self, st: &State, r: usize) -> R<RegState> {
        let reg = *st.reg(r);
        if reg.ty == RegType::NotInit {
            return with_hint(fail(Rule::UninitRegister, format!("R{r} !read_ok"), &[r as u8]), || {
                format!("r{r} is read before anything was written to it on this path (after a call, r1-r5 are no longer valid)")
            });
        }
        Ok(reg)
    }

    fn write_check(&self, r: usize) -> R<()> {
        if r == 10 {
            return fail(Rule::ReadOnlyRegister, "frame pointer is read only", &[10]);
        }
        Ok(())
    }

    fn step(&mut self, p: &mut Path) -> R<Next> {
        let pc = p.pc;
        let insn = self.insns[pc];
        // env->jmps_processed counts every BPF_JMP-class instruction (the conditional
        // jumps are counted where they are handled).
        if matches!(insn, Insn::Ja { .. } | Insn::Call(_) | Insn::CallX { .. } | Insn::Exit | Insn::MayGoto { .. }) {
            self.jumps += 1;
        }
        let next = Next::Goto(pc + 1);
        match insn {
            Insn::Alu { op, width, dst, src } => {
                if let (Operand::Reg(r), false) = (src, op == AluOp::Mov) {
                    // Pointer arithmetic: the scalar side is the pointer's offset (a
                    // move is no arithmetic: the moved value matters only if the
                    // destination does).
                    if p.st.reg(dst.idx()).is_ptr() || p.st.reg(r.idx()).is_ptr() {
                        self.mark_precise(pc, 1 << dst.idx() | 1 << r.idx());
                    }
                }
                self.alu(&mut p.st, op, width == Width::W32, dst.idx(), src)?;
                Ok(next)
            }
            Insn::Neg { width, dst } => {
                let d = dst.idx();
                let v = self.read_reg(&p.st, d)?;
                if self.opts.unprivileged && v.is_ptr() {
                    return fail(Rule::PointerArithmetic, format!("R{d} pointer arithmetic prohibited"), &[d as u8]);
                }
                self.write_check(d)?;
                let w32 = width == Width::W32;
                let r = if v.ty == RegType::Scalar {
                    Scalar::konst(0).alu(AluOp::Sub, &v.var, w32)
                } else {
                    Scalar::unknown()
                };
                *p.st.reg_mut(d) = RegState::scalar(if w32 { r.zext32() } else { r });
                Ok(next)
            }
            Insn::MovSx { width, dst, src, bits } => {
                let s = self.read_reg(&p.st, src.idx())?;
                self.write_check(dst.idx())?;
                let v = if s.ty == RegType::Scalar { s.var.sext_from(bits as u32) } else { Scalar::unknown() };
                *p.st.reg_mut(dst.idx()) = RegState::scalar(if width == Width::W32 { v.zext32() } else { v });
                Ok(next)
            }
            Insn::Endian { kind, bits, dst } => {
                let d = dst.idx();
                let v = self.read_reg(&p.st, d)?;
                // check_alu_op (BPF_NEG, BPF_END): a pointer's bytes are not for the unprivileged.
                if self.opts.unprivileged && v.is_ptr() {
                    return fail(Rule::PointerArithmetic, format!("R{d} pointer arithmetic prohibited"), &[d as u8]);
                }
                self.write_check(d)?;
                let r = match (v.ty, v.var.const_value(), kind) {
                    (RegType::Scalar, Some(c), _) => {
                        let t = if bits == 64 { c } else { c & ((1u64 << bits) - 1) };
                        let swapped = match bits {
                            16 => (t as u16).swap_bytes() as u64,
                            32 => (t as u32).swap_bytes() as u64,
                            _ => t.swap_bytes(),
                        };
                        Scalar::konst(if kind == Endian::Le { t } else { swapped })
                    }
                    (RegType::Scalar, None, Endian::Le) => v.var.truncate(bits as u32 / 8),
                    (RegType::Scalar, None, _) => {
                        // A swap moves the known and unknown bits alike (the kernel's tnum_bswap).
                        let t = v.var.truncate(bits as u32 / 8).var;
                        let swap = |x: u64| match bits {
                            16 => (x as u16).swap_bytes() as u64,
                            32 => (x as u32).swap_bytes() as u64,
                            _ => x.swap_bytes(),
                        };
                        let mut r = Scalar::unknown();
                        r.var = crate::tnum::Tnum { value: swap(t.value), mask: swap(t.mask) };
                        r.sync();
                        r
                    }
                    // A pointer's bytes (privileged): an unknown value, not truncated
                    // (Linux 6.18 marks the register unknown).
                    _ => Scalar::unknown(),
                };
                *p.st.reg_mut(d) = RegState::scalar(r);
                Ok(next)
            }
            Insn::Load { size, dst, src, off, sign_extend } => {
                let s = src.idx();
                let base = self.read_reg(&p.st, s)?;
                self.write_check(dst.idx())?;
                if base.ty == RegType::Stack && s != 10 {
                    self.mark_stack_ptr_access(&p.st, &base, off as i64, size_bytes(size), pc);
                }
                let sz = size_bytes(size);
                let mut v = self.mem_access(&mut p.st, s, base, off as i64, sz, None, pc)?;
                self.save_aux_ptr_type(pc, base.ty, true)?;
                if sign_extend && base.ty == RegType::Ctx && v.is_ptr() {
                    // `info->is_ldsx`: no sign-extending loads of the context's pointers.
                    return fail(
                        Rule::CtxAccess,
                        format!("invalid bpf_context access off={off} size={sz}"),
                        &[s as u8],
                    );
                }
                if sign_extend && v.ty == RegType::Scalar {
                    v = RegState::scalar(v.var.sext_from(sz * 8));
                }
                *p.st.reg_mut(dst.idx()) = v;
                Ok(next)
            }
            Insn::Store { size, dst, off, src } => {
                let d = dst.idx();
                let base = self.read_reg(&p.st, d)?;
                let val = match src {
                    Operand::Reg(r) => self.read_reg(&p.st, r.idx())?,
                    Operand::Imm(i) => RegState::konst(i as i64 as u64),
                };
                let src_reg = match src {
                    Operand::Reg(r) => Some(r.idx()),
                    Operand::Imm(_) => None,
                };
                // Memory whose contents bpfbox does not track only checks what is stored
                // for pointers; a store into the stack through another pointer than r10
                // may come back as a value (`Precision`).
                let untracked = matches!(
                    base.ty,
                    RegType::MapValue
                        | RegType::MapKey
                        | RegType::Mem
                        | RegType::Packet
                        | RegType::PacketMeta
                        | RegType::Ctx
                );
                if let Some(r) = src_reg.filter(|_| d != 10 && !untracked) {
                    if base.ty == RegType::Stack && base.aux as usize + 1 == p.st.frames.len() {
                        // Into this frame: the value matters where the slots it fills do.
                        self.mark_stack_ptr_access(&p.st, &base, off as i64, size_bytes(size), pc);
                    } else {
                        self.mark_precise_static(pc, 1 << r);
                    }
                }
                self.mem_access(&mut p.st, d, base, off as i64, size_bytes(size), Some((val, src_reg)), pc)?;
                self.save_aux_ptr_type(pc, base.ty, false)?;
                Ok(next)
            }
            Insn::Atomic { size, op, fetch, dst, off, src } => {
                let d = dst.idx();
                let base = self.read_reg(&p.st, d)?;
                let sv = self.read_reg(&p.st, src.idx())?;
                if base.ty == RegType::Stack {
                    self.mark_stack_ptr_access(&p.st, &base, off as i64, size_bytes(size), pc);
                }
                if op == AtomicOp::CmpXchg {
                    self.read_reg(&p.st, 0)?;
                }
                if !matches!(base.ty, RegType::Stack | RegType::MapValue | RegType::Mem | RegType::BtfId)
                    || base.maybe_null
                {
                    if base.ty == RegType::Scalar || base.maybe_null {
                        self.mem_access(&mut p.st, d, base, off as i64, size_bytes(size), None, pc)?;
                    }
                    return fail(
                        Rule::InvalidMemAccess,
                        format!("BPF_ATOMIC stores into R{d} {} is not allowed", base.type_str()),
                        &[d as u8],
                    );
                }
                if sv.is_ptr() && self.opts.unprivileged {
                    return fail(Rule::PointerLeak, format!("R{} leaks addr into mem", src.idx()), &[src.idx() as u8]);
                }
                let sz = size_bytes(size);
                strict_align(&base, off, sz, d)?;
                // The value fetched is what a load from there gives, read before the
                // store (`check_atomic_rmw`): a spilled pointer comes back as that
                // pointer, not as a scalar.
                let out = self.mem_access(&mut p.st, d, base, off as i64, sz, None, pc)?;
                self.mem_access(&mut p.st, d, base, off as i64, sz, Some((RegState::unknown(), None)), pc)?;
                if op == AtomicOp::CmpXchg {
                    *p.st.reg_mut(0) = out;
                } else if fetch || op == AtomicOp::Xchg {
                    *p.st.reg_mut(src.idx()) = out;
                }
                Ok(next)
            }
            Insn::LoadImm64 { dst, imm } => {
                let d = dst.idx();
                self.write_check(d)?;
                let map_at = |idx: i32| -> R<u32> {
                    if idx < 0 || idx as usize >= self.prog.maps.len() {
                        return fail(Rule::InvalidMap, format!("fd {idx} is not pointing to valid bpf_map"), &[]);
                    }
                    Ok(idx as u32)
                };
                let v = match imm {
                    Imm64::Value(v) => RegState::konst(v),
                    Imm64::MapFd(i) | Imm64::MapIdx(i) => {
                        let m = map_at(i)?;
                        self.spin_lock_prog_compat(m)?;
                        RegState { map: m, ..RegState::ptr(RegType::ConstMapPtr) }
                    }
                    Imm64::MapValue { fd: i, off } | Imm64::MapIdxValue { idx: i, off } => {
                        let m = map_at(i)?;
                        self.spin_lock_prog_compat(m)?;
                        let (vs, mt, entries) = (self.map(m).value_size, self.map(m).map_type, self.map(m).max_entries);
                        // Only single-element arrays hand out a direct value address.
                        if mt != MapType::Array as u32 {
                            return fail(Rule::InvalidMap, "no direct value access support for this map type", &[]);
                        }
                        if off >= vs || entries != 1 {
                            return fail(
                                Rule::MapValueAccess,
                                format!("invalid access to map value pointer, value_size={vs} off={off}"),
                                &[],
                            );
                        }
                        RegState { map: m, off: off as i32, ..RegState::ptr(RegType::MapValue) }
                    }
                    Imm64::Func(rel) => {
                        RegState { aux: (pc as i64 + 1 + rel as i64) as u32, ..RegState::ptr(RegType::Func) }
                    }
                    Imm64::BtfId { .. } => RegState::ptr(RegType::BtfId),
                };
                *p.st.reg_mut(d) = v;
                Ok(Next::Goto(pc + 2))
            }
            Insn::LoadImm64Tail => fail(Rule::Structure, "invalid BPF_LD_IMM insn".to_string(), &[]),
            Insn::LoadPacket { size, mode, .. } => {
                if !ctx::may_access_skb(self.prog.prog_type) {
                    return fail(Rule::LdAbs, "BPF_LD_[ABS|IND] instructions not allowed for this program type", &[]);
                }
                if p.st.lock.is_some() {
                    return fail(Rule::LdAbs, "BPF_LD_[ABS|IND] cannot be used inside bpf_spin_lock-ed region", &[]);
                }
                if !p.st.refs.is_empty() {
                    return fail(Rule::LdAbs, "BPF_LD_[ABS|IND] cannot be mixed with socket references", &[]);
                }
                let r6 = self.read_reg(&p.st, 6)?;
                if r6.ty != RegType::Ctx {
                    return fail(Rule::LdAbs, "at the time of BPF_LD_ABS|IND R6 != pointer to skb", &[6]);
                }
                if let PacketMode::Ind(r) = mode {
                    self.read_reg(&p.st, r.idx())?;
                }
                self.clobber_caller_saved(&mut p.st);
                *p.st.reg_mut(0) = RegState::scalar(scalar_of_size(size_bytes(size)));
                Ok(next)
            }
            Insn::Ja { off, .. } => Ok(Next::Goto((pc as i64 + 1 + off as i64) as usize)),
            Insn::MayGoto { off } => Ok(self.may_goto(p, off)),
            Insn::LoadAcquire { size, dst, src, off } => self.load_acquire(p, size, dst, src, off),
            Insn::StoreRelease { size, dst, off, src } => self.store_release(p, size, dst, off, src),
            Insn::AddrSpaceCast { dst, src, dst_as, src_as } => self.addr_space_cast(p, dst, src, dst_as, src_as),
            Insn::Jump { cond, width, dst, src, off } => {
                self.jumps += 1;
                let next = self.cond_jump(p, cond, width == Width::W32, dst.idx(), src, off)?;
                if !matches!(next, Next::Branch(..)) {
                    // Only one way (or none) was possible: the operands' ranges decided it.
                    let s = match src {
                        Operand::Reg(r) => 1 << r.idx(),
                        Operand::Imm(_) => 0,
                    };
                    self.mark_precise(pc, 1 << dst.idx() | s);
                }
                Ok(next)
            }
            Insn::Call(CallTarget::Helper(id)) => {
                let args = [1, 2, 3, 4, 5].map(|r| *p.st.reg(r));
                let frameno = p.st.frames.len() as u32 - 1;
                self.helper_reads = (0, [0; 6]);
                self.spin_lock_call(&mut p.st, id, pc)?;
                if let Some(proto) = u32::try_from(id).ok().and_then(bpfbox_abi::helper_by_id) {
                    // The sizes a helper is given matter (check_mem_size_reg).
                    let sizes = proto.declared_args().iter().enumerate().fold(0u16, |m, (i, a)| {
                        use bpfbox_abi::ArgKind::*;
                        let sized = matches!(a.kind, ConstSize | ConstSizeOrZero | ConstAllocSizeOrZero);
                        if sized && i < 5 {
                            m | 1 << (i + 1)
                        } else {
                            m
                        }
                    });
                    if sizes != 0 {
                        self.dseeds.push((pc, precision::Need { regs: sizes, slots: 0 }));
                    }
                }
                self.helper_call(p, id)?;
                self.mark_helper_stack(&p.st, &args, frameno, pc);
                Ok(match self.redirect.take() {
                    Some(t) => Next::Goto(t),
                    None => next,
                })
            }
            Insn::Call(CallTarget::Local(rel)) => {
                let target = (pc as i64 + 1 + rel as i64) as usize;
                if let Some(sub) = self.global_callee(target) {
                    return self.global_call(p, sub);
                }
                self.push_frame(&mut p.st, pc, target, false)?;
                Ok(Next::Goto(target))
            }
            Insn::Call(CallTarget::Kfunc { btf_id, .. }) => self.kfunc_call(p, btf_id),
            Insn::CallX { .. } => fail(Rule::Structure, "unknown opcode 8d", &[]),
            Insn::Exit => self.exit(p),
        }
    }

    /// `check_map_prog_compatibility` for maps with a spin lock or a timer.
    fn spin_lock_prog_compat(&self, m: u32) -> R<()> {
        match map_prog_refusal(self.map(m), self.prog.prog_type) {
            Some(msg) => fail(Rule::InvalidMap, msg, &[]),
            None => Ok(()),
        }
    }

    /// `check_max_stack_depth`, after the path-sensitive walk: the call graph is walked
    /// statically from the main program, following every call and every function
    /// reference (`ld_imm64` of a callback) whether or not the walk above reached it,
    /// so recursion the path-sensitive walk never executed still ends at 8 frames ("the
    /// call stack of 8 frames is too deep !"), and the stacks of each chain add up
    /// (each frame rounded up to 16 bytes, `round_up_stack_depth` with the JIT).
    fn check_stack_depth(&self) -> Result<(), Box<Diagnostic>> {
        // (pc, callee subprogram) of calls and function references, in pc order.
        let mut edges: Vec<(usize, usize)> = self.cfg.calls.clone();
        for (pc, insn) in self.prog.insns.iter().enumerate() {
            if let Insn::LoadImm64 { imm: Imm64::Func(rel), .. } = *insn {
                let t = pc as i64 + 1 + i64::from(rel);
                if let Ok(t) = usize::try_from(t) {
                    if t < self.prog.insns.len() {
                        edges.push((pc, self.cfg.subprog_of(t)));
                    }
                }
            }
        }
        edges.sort_unstable();
        enum Too {
            Deep(usize, usize),
            Large(usize, u32),
        }
        fn walk(v: &Verifier<'_>, edges: &[(usize, usize)], sub: usize, depth: u32, frame: usize) -> Option<Too> {
            // With the JIT (always on here, as on most kernels) frames round up to 16 bytes.
            let total = depth + v.stack_depth[sub].div_ceil(16) * 16;
            if total > MAX_STACK as u32 {
                return Some(Too::Large(frame + 1, total));
            }
            for &(pc, callee) in edges.iter().filter(|(pc, _)| v.cfg.subprog_of(*pc) == sub) {
                if frame + 1 >= MAX_CALL_FRAMES {
                    return Some(Too::Deep(pc, frame + 1));
                }
                if let Some(r) = walk(v, edges, callee, total, frame + 1) {
                    return Some(r);
                }
            }
            None
        }
        let (pc, kind, message, hint) = match walk(self, &edges, 0, 0, 0) {
            None => return Ok(()),
            Some(Too::Large(frames, total)) => (
                0,
                Rule::StackSize,
                format!("combined stack size of {frames} calls is {total}. Too large"),
                "the stacks of all functions on a call chain share 512 bytes: move large buffers into a per-CPU array map",
            ),
            Some(Too::Deep(pc, frames)) => (
                pc,
                Rule::CallDepth,
                format!("the call stack of {frames} frames is too deep !"),
                "calls nest at most 8 deep, counted over every call in the code (even ones no path takes), so recursion is never allowed",
            ),
        };
        Err(Box::new(Diagnostic { pc, kind, message, regs: vec![], path: vec![], hint: Some(hint.into()) }))
    }
}

/// `check_map_prog_compatibility`: the program types that may not use a map holding a
/// `bpf_spin_lock`, with the kernel's refusal.
fn spin_lock_refusal(t: ProgType) -> Option<&'static str> {
    match t {
        ProgType::SocketFilter => Some("socket filter progs cannot use bpf_spin_lock yet"),
        ProgType::Kprobe
        | ProgType::Tracepoint
        | ProgType::PerfEvent
        | ProgType::RawTracepoint
        | ProgType::RawTracepointWritable => Some("tracing progs cannot use bpf_spin_lock yet"),
        _ => None,
    }
}

/// `check_map_prog_compatibility`: a map holding a `bpf_spin_lock` or a `bpf_timer`
/// that the program type may not use, with the kernel's refusal.
fn map_prog_refusal(m: &crate::MapInfo, t: ProgType) -> Option<&'static str> {
    let tracing = matches!(
        t,
        ProgType::Kprobe
            | ProgType::Tracepoint
            | ProgType::PerfEvent
            | ProgType::RawTracepoint
            | ProgType::RawTracepointWritable
    );
    m.spin_lock_off
        .and(spin_lock_refusal(t))
        .or_else(|| m.timer_off.and(tracing.then_some("tracing progs cannot use bpf_timer yet")))
}
