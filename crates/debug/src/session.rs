//! The debugger session: gdb's commands, one line in, text out.
//!
//! Forward commands resume the debuggee with a [`Stop`] condition; reverse commands
//! find the step to return to in the recording and replay to it
//! ([`crate::engine`]). Everything printed is returned as text, so a terminal, a
//! script or a test drives the same code.

use crate::dwarf::{DebugInfo, DwarfError, Function};
use crate::engine::{self, Debuggee, Event, Snapshot, StepRec, Stop, StopReason, Target, Trace};
use crate::expr::{self, Memory, Scope, Value};
use crate::source::{self, ProgView, Sources};
use bpfbox_isa::Insn;
use bpfbox_object::LoadedObject;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

mod verifier;
mod view;
pub use view::{FrameInfo, Status};

/// Why a session cannot start.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("no program named `{0}` in the object")]
    NoProgram(String),
}

#[derive(Debug, Clone)]
struct Breakpoint {
    id: usize,
    /// (program, pc) locations.
    locs: Vec<(usize, usize)>,
    what: String,
    temporary: bool,
    cond: Option<(String, expr::Expr)>,
    hits: u64,
}

#[derive(Debug, Clone)]
struct Watch {
    id: usize,
    what: String,
    addr: u64,
    len: usize,
    ty: Option<crate::dwarf::TypeId>,
    old: Vec<u8>,
}

type Custom = crate::engine::StopFn;
/// Makes the custom stop condition of a forward command (again after a conditional
/// breakpoint that did not hold).
type MakeCustom<'a> = &'a dyn Fn(&Snapshot) -> Option<Custom>;

/// Line tables shared with stop conditions running on the debuggee thread.
#[derive(Debug)]
struct Lines {
    line: Vec<Vec<Option<(usize, u32)>>>,
    stmt: Vec<Vec<bool>>,
}

impl Lines {
    fn line(&self, r: &StepRec) -> Option<(usize, u32)> {
        self.line.get(usize::from(r.prog))?.get(r.pc as usize).copied().flatten()
    }
    fn stmt(&self, r: &StepRec) -> bool {
        self.stmt.get(usize::from(r.prog)).and_then(|s| s.get(r.pc as usize)).copied().unwrap_or(false)
    }
}

/// A debugging session over one program of an object.
pub struct Session {
    target: Arc<dyn Target>,
    progs: Vec<ProgView>,
    insns: Arc<Vec<Vec<Insn>>>,
    lines: Arc<Lines>,
    main: usize,
    info: Option<DebugInfo>,
    sources: Sources,
    dbg: Option<Debuggee>,
    trace: Trace,
    stop: Option<Snapshot>,
    /// Every input ran: the position is after the last recorded step.
    finished: bool,
    breakpoints: Vec<Breakpoint>,
    watches: Vec<Watch>,
    displays: Vec<(usize, String)>,
    next_id: usize,
    history: usize,
    list_at: Option<(usize, u32)>,
    quit: bool,
    /// The next stop reported is a breakpoint reached backwards (reverse-continue).
    reverse_hit: bool,
    /// Why the program last stopped, as reported.
    last_reason: Option<StopReason>,
    /// The next stop reported is watch `index` reached backwards, its value then.
    reverse_watch: Option<(usize, Vec<u8>)>,
    /// The frame `up`, `down` and `frame` selected (0: the innermost); `print`, `info
    /// locals|args|frame|registers`, `x`, `finish` work in it. Every stop selects 0.
    frame: usize,
    /// The step of the fault the session stopped before, once: going on from there ends
    /// the run.
    fault_stop: Option<u64>,
    /// The object, for the verifier (`info verifier`), and its logs per program.
    obj: Arc<LoadedObject>,
    verifier_logs: HashMap<usize, Result<String, String>>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("prog", &self.progs[self.main].name).finish_non_exhaustive()
    }
}

struct Mem<'a>(Option<&'a mut Debuggee>);

impl Memory for Mem<'_> {
    fn read(&mut self, addr: u64, len: usize) -> Result<Vec<u8>, String> {
        match self.0.as_mut() {
            Some(d) => d.read(addr, len),
            None => Err("the program is not being run".into()),
        }
    }
}

impl Session {
    /// A session over `prog` of `obj` (whose ELF bytes are `elf`), running through
    /// `target`. Returns the banner (what debug info was found).
    pub fn new(
        elf: &[u8],
        obj: &LoadedObject,
        prog: &str,
        target: Arc<dyn Target>,
    ) -> Result<(Session, String), SessionError> {
        let main =
            obj.programs.iter().position(|p| p.name == prog).ok_or_else(|| SessionError::NoProgram(prog.into()))?;
        let mut banner = String::new();
        let info = match DebugInfo::parse(elf) {
            Ok(i) => Some(i),
            Err(e @ DwarfError::Missing) => {
                let _ = writeln!(banner, "{e}: source lines from BTF line info, values as registers only.");
                None
            }
            Err(e) => {
                let _ = writeln!(banner, "cannot read DWARF ({e}): source lines from BTF line info only.");
                None
            }
        };
        let mut sources = Sources::default();
        let progs: Vec<ProgView> = obj.programs.iter().map(|p| source::view(p, info.as_ref(), &mut sources)).collect();
        if progs[main].line.iter().all(Option::is_none) {
            let _ = writeln!(banner, "no line information for `{prog}`: stepping is by instruction.");
        }
        let lines = Arc::new(Lines {
            line: progs.iter().map(|p| p.line.clone()).collect(),
            stmt: progs.iter().map(|p| p.stmt.clone()).collect(),
        });
        let insns = Arc::new(progs.iter().map(|p| p.insns.clone()).collect());
        let _ = writeln!(
            banner,
            "Debugging `{prog}` ({} instructions). Type `help` for commands, `run` to start.",
            progs[main].insns.len()
        );
        let s = Session {
            target,
            progs,
            insns,
            lines,
            main,
            info,
            sources,
            dbg: None,
            trace: Trace::default(),
            stop: None,
            finished: false,
            breakpoints: Vec::new(),
            watches: Vec::new(),
            displays: Vec::new(),
            next_id: 1,
            history: 0,
            list_at: None,
            quit: false,
            reverse_hit: false,
            last_reason: None,
            reverse_watch: None,
            frame: 0,
            fault_stop: None,
            obj: Arc::new(obj.clone()),
            verifier_logs: HashMap::new(),
        };
        Ok((s, banner))
    }

    /// Stopped before an instruction that faulted (a run that went wrong in checked mode).
    pub fn at_fault(&self) -> bool {
        self.fault_stop.is_some() && self.stop.as_ref().is_some_and(|s| Some(s.step) == self.fault_stop)
    }

    /// The user asked to quit.
    pub fn quit_requested(&self) -> bool {
        self.quit
    }

    /// The prompt.
    pub fn prompt(&self) -> &'static str {
        "(bpfbox-debug) "
    }

    /// The recorded steps so far.
    pub fn recorded_steps(&self) -> usize {
        self.trace.len()
    }

    /// Run one command line and return what it prints.
    pub fn execute(&mut self, line: &str) -> String {
        let mut out = String::new();
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return out;
        }
        let (cmd, arg) = match line.find(|c: char| c.is_whitespace() || c == '/') {
            Some(i) if line.as_bytes()[i] == b'/' => (&line[..i], &line[i..]),
            Some(i) => (&line[..i], line[i..].trim()),
            None => (line, ""),
        };
        match cmd {
            "help" | "h" => out.push_str(HELP),
            "quit" | "q" => self.quit = true,
            "run" | "r" | "restart" => self.run(None, &mut out),
            "start" => self.run(Some(0), &mut out),
            "break" | "b" | "br" => self.cmd_break(arg, false, &mut out),
            "tbreak" => self.cmd_break(arg, true, &mut out),
            "delete" | "d" => self.cmd_delete(arg, &mut out),
            "continue" | "c" => self.forward(|_| None, &mut out),
            "step" | "s" => self.cmd_step(false, false, &mut out),
            "next" | "n" => self.cmd_step(true, false, &mut out),
            "until" | "u" => self.cmd_step(true, true, &mut out),
            "stepi" | "si" => self.cmd_stepi(false, &mut out),
            "nexti" | "ni" => self.cmd_stepi(true, &mut out),
            "finish" | "fin" => self.cmd_finish(&mut out),
            "reverse-stepi" | "rsi" => self.reverse(Rev::StepI, &mut out),
            "reverse-nexti" | "rni" => self.reverse(Rev::NextI, &mut out),
            "reverse-step" | "rs" => self.reverse(Rev::Step, &mut out),
            "reverse-next" | "rn" => self.reverse(Rev::Next, &mut out),
            "reverse-continue" | "rc" => self.reverse(Rev::Continue, &mut out),
            "reverse-finish" => self.reverse(Rev::Finish, &mut out),
            "print" | "p" | "inspect" | "output" | "call" => self.cmd_print(arg, &mut out),
            "display" => self.cmd_display(arg, &mut out),
            "undisplay" => {
                self.displays.retain(|(n, _)| arg.split_whitespace().all(|a| a.parse::<usize>().ok() != Some(*n)))
            }
            "x" => self.cmd_x(arg, &mut out),
            "info" | "i" => self.cmd_info(arg, &mut out),
            "backtrace" | "bt" | "where" => self.cmd_backtrace(&mut out),
            "frame" | "f" => self.cmd_frame(arg, Move::To, &mut out),
            "up" => self.cmd_frame(arg, Move::Up, &mut out),
            "down" => self.cmd_frame(arg, Move::Down, &mut out),
            "watch" => self.cmd_watch(arg, &mut out),
            "list" | "l" => self.cmd_list(arg, &mut out),
            "disassemble" | "disas" => self.cmd_disassemble(&mut out),
            "kill" | "k" => {
                self.frame = 0;
                self.dbg = None;
                self.stop = None;
                out.push_str("[Inferior 1 killed]\n");
            }
            _ => {
                let _ = writeln!(out, "Undefined command: \"{cmd}\".  Try \"help\".");
            }
        }
        out
    }

    // ---- state helpers ----

    fn running(&self) -> bool {
        self.stop.is_some() && self.dbg.as_ref().is_some_and(Debuggee::alive)
    }

    fn not_running(out: &mut String) {
        out.push_str("The program is not being run.\n");
    }

    fn func_name(&self, prog: usize, pc: usize) -> String {
        self.progs[prog].func_of(pc).map(|f| f.1.clone()).unwrap_or_else(|| "??".into())
    }

    /// `func (a=1, b=2) at file.c:12`
    fn frame_line(&mut self, snap: &Snapshot, frame: usize) -> String {
        let prog = usize::from(snap.rec.prog);
        let pc = frame_pc(snap, frame);
        let name = self.func_name(prog, pc);
        let args = {
            let scope = scope_in(&self.progs, self.info.as_ref(), snap, frame);
            let mut dbg = self.dbg.as_mut();
            let mut parts = Vec::new();
            for (n, is_param, v) in scope.variables() {
                if !is_param {
                    continue;
                }
                let shown = match v {
                    Ok(v) => short_value(&scope, &v, &mut Mem(dbg.as_deref_mut())),
                    Err(e) => e.0,
                };
                parts.push(format!("{n}={shown}"));
            }
            parts.join(", ")
        };
        match self.progs[prog].line.get(pc).copied().flatten() {
            Some((f, l)) => format!("{name} ({args}) at {}:{l}", self.sources.short(f)),
            None => format!("{name} ({args}) at pc {pc}"),
        }
    }

    fn source_line(&mut self, prog: usize, pc: usize, with_pc: bool) -> String {
        match self.progs[prog].line.get(pc).copied().flatten() {
            Some((f, l)) => {
                let text = self.sources.line_text(f, l).unwrap_or_default();
                self.list_at = Some((f, l.saturating_sub(5).max(1)));
                if with_pc {
                    format!("pc {pc}\t{l}\t{text}\n")
                } else {
                    format!("{l}\t{text}\n")
                }
            }
            None => format!("pc {pc}\t{}\n", disasm(&self.progs[prog].insns, pc)),
        }
    }

    // ---- running ----

    fn base_stop(&self) -> Stop {
        let mut bps: Vec<Vec<bool>> = self.progs.iter().map(|p| vec![false; p.insns.len()]).collect();
        for b in &self.breakpoints {
            for &(p, pc) in &b.locs {
                if let Some(x) = bps.get_mut(p).and_then(|v| v.get_mut(pc)) {
                    *x = true;
                }
            }
        }
        Stop {
            at_step: None,
            breakpoints: bps,
            watches: self.watches.iter().map(|w| (w.addr, w.len, w.old.clone())).collect(),
            custom: None,
        }
    }

    fn run(&mut self, at_step: Option<u64>, out: &mut String) {
        self.frame = 0;
        self.dbg = None;
        self.fault_stop = None;
        self.stop = None;
        self.finished = false;
        let mut stop = self.base_stop();
        stop.at_step = at_step;
        engine::pool::give_trace(std::mem::take(&mut self.trace));
        match Debuggee::start(self.target.clone(), self.insns.clone(), self.main, stop) {
            Ok((d, ev, trace)) => {
                self.dbg = Some(d);
                self.handle(ev, trace, None, out);
            }
            Err(e) => {
                let _ = writeln!(out, "cannot start the program: {e}");
            }
        }
    }

    /// Resume with the breakpoints, watches and `custom` (made afresh when a
    /// conditional breakpoint does not hold and the run goes on).
    fn forward(&mut self, custom: impl Fn(&Snapshot) -> Option<Custom>, out: &mut String) {
        if !self.running() {
            Self::not_running(out);
            return;
        }
        let Some(snap) = self.stop.clone() else { return };
        let mut stop = self.base_stop();
        stop.custom = custom(&snap);
        let trace = std::mem::take(&mut self.trace);
        let Some(d) = self.dbg.as_mut() else { return };
        match d.resume(stop, trace) {
            Ok((ev, trace)) => self.handle(ev, trace, Some(&custom), out),
            Err(e) => {
                let _ = writeln!(out, "{e}");
            }
        }
    }

    /// Report an event; resume past breakpoints whose condition is false.
    fn handle(&mut self, mut ev: Event, mut trace: Trace, custom: Option<MakeCustom<'_>>, out: &mut String) {
        loop {
            self.trace = std::mem::take(&mut trace);
            let faults = self.report_packets(out);
            // A run that faulted (the first fault not just stopped at, as a signal
            // stops gdb): back to the faulting instruction, the history before it to
            // step through. Continuing from there runs the remaining inputs.
            let again = std::mem::take(&mut self.fault_stop);
            if let Some((packet, pc, step)) = faults.into_iter().find(|f| Some(f.2) != again) {
                self.fault_stop = Some(step);
                let _ = writeln!(
                    out,
                    "\nThe program faulted at pc {pc} (packet {}): stopped before that instruction; reverse commands go back.",
                    packet + 1
                );
                self.replay(step, out);
                return;
            }
            match ev {
                Event::Exited => {
                    self.stop = None;
                    self.finished = true;
                    let name = &self.progs[self.main].name;
                    let _ = writeln!(out, "[Inferior 1 (program {name}) exited]");
                    return;
                }
                Event::Stopped(snap) => {
                    let snap = *snap;
                    let prev = self.stop.replace(snap.clone());
                    if let StopReason::Breakpoint = snap.reason {
                        if !self.breakpoint_holds(&snap) {
                            // Not this time: go on with the same conditions.
                            let mut stop = self.base_stop();
                            stop.custom = custom.and_then(|c| prev.as_ref().and_then(c));
                            let Some(d) = self.dbg.as_mut() else { return };
                            match d.resume(stop, std::mem::take(&mut self.trace)) {
                                Ok((e, t)) => {
                                    ev = e;
                                    trace = t;
                                    self.stop = prev;
                                    continue;
                                }
                                Err(e) => {
                                    let _ = writeln!(out, "{e}");
                                    return;
                                }
                            }
                        }
                    }
                    self.report_stop(&snap, prev.as_ref(), out);
                    return;
                }
            }
        }
    }

    fn breakpoint_holds(&mut self, snap: &Snapshot) -> bool {
        let at = (usize::from(snap.rec.prog), snap.rec.pc as usize);
        let ids: Vec<usize> = self.breakpoints.iter().filter(|b| b.locs.contains(&at)).map(|b| b.id).collect();
        let mut any = false;
        for id in ids {
            let Some(b) = self.breakpoints.iter().find(|b| b.id == id).cloned() else { continue };
            let ok = match &b.cond {
                None => true,
                Some((text, e)) => {
                    let scope = scope_in(&self.progs, self.info.as_ref(), snap, 0);
                    let mut mem = Mem(self.dbg.as_mut());
                    match scope.eval(e, &mut mem).and_then(|v| scope.to_u64(&v, &mut mem)) {
                        Ok(v) => v != 0,
                        Err(err) => {
                            // gdb stops when a condition cannot be evaluated.
                            let _ = (text, err);
                            true
                        }
                    }
                }
            };
            any |= ok;
        }
        any
    }

    /// Print the inputs whose run ended; those that faulted: (input, pc, step).
    fn report_packets(&mut self, out: &mut String) -> Vec<(usize, usize, u64)> {
        let Some(d) = self.dbg.as_mut() else { return Vec::new() };
        let mut fault = Vec::new();
        for e in std::mem::take(&mut d.ended) {
            if let (Some(pc), Some(step)) = (e.fault_pc, e.fault_step) {
                fault.push((e.packet, pc, step));
            }
            for l in &e.printk {
                let _ = writeln!(out, "[printk] {l}");
            }
            match e.result {
                Ok((r, Some(name))) => {
                    let _ = writeln!(out, "[packet {}: returned {r} ({name})]", e.packet + 1);
                }
                Ok((r, None)) => {
                    let _ = writeln!(out, "[packet {}: returned {r}]", e.packet + 1);
                }
                Err(err) => {
                    let _ = writeln!(out, "[packet {}: the run failed: {err}]", e.packet + 1);
                }
            }
        }
        fault
    }

    fn report_stop(&mut self, snap: &Snapshot, prev: Option<&Snapshot>, out: &mut String) {
        self.frame = 0;
        if self.fault_stop != Some(snap.step) {
            // Moved away from the fault: reaching it again stops again.
            self.fault_stop = None;
        }
        let prog = usize::from(snap.rec.prog);
        let pc = snap.rec.pc as usize;
        let at_stmt = self.progs[prog].stmt.get(pc).copied().unwrap_or(false);
        let new_frame = prev.is_none_or(|p| {
            p.rec.prog != snap.rec.prog
                || p.rec.depth != snap.rec.depth
                || self.progs[prog].func_of(p.rec.pc as usize) != self.progs[prog].func_of(pc)
        });
        let reason = match &snap.reason {
            StopReason::Rewound | StopReason::Step if std::mem::take(&mut self.reverse_hit) => StopReason::Breakpoint,
            r => r.clone(),
        };
        if let Some((i, later)) = self.reverse_watch.take() {
            // Going backwards: "old" is the value after the write, "new" the one before.
            if let Some(w) = self.watches.get(i).cloned() {
                let o = self.format_raw(snap, w.ty, &later);
                let n = self.format_raw(snap, w.ty, &w.old);
                let _ = writeln!(out, "\nHardware watchpoint {}: {}\n\nOld value = {o}\nNew value = {n}", w.id, w.what);
            }
        }
        self.last_reason = Some(reason.clone());
        match &reason {
            StopReason::Breakpoint => {
                let at = (prog, pc);
                let hit: Vec<usize> = self.breakpoints.iter().filter(|b| b.locs.contains(&at)).map(|b| b.id).collect();
                for b in self.breakpoints.iter_mut().filter(|b| hit.contains(&b.id)) {
                    b.hits += 1;
                }
                let temp = self.breakpoints.iter().find(|b| hit.contains(&b.id)).is_some_and(|b| b.temporary);
                let id = hit.first().copied().unwrap_or(0);
                let frame = self.frame_line(snap, 0);
                let kind = if temp { "Temporary breakpoint" } else { "Breakpoint" };
                let _ = writeln!(out, "\n{kind} {id}, {frame}");
                self.breakpoints.retain(|b| !(b.temporary && hit.contains(&b.id)));
                out.push_str(&self.source_line(prog, pc, !at_stmt));
            }
            StopReason::Watch { index, old, new } => {
                if let Some(w) = self.watches.get_mut(*index) {
                    w.old = new.clone();
                    let (id, what, ty) = (w.id, w.what.clone(), w.ty);
                    let o = self.format_raw(snap, ty, old);
                    let n = self.format_raw(snap, ty, new);
                    let _ = writeln!(out, "\nHardware watchpoint {id}: {what}\n\nOld value = {o}\nNew value = {n}");
                }
                let frame = self.frame_line(snap, 0);
                let _ = writeln!(out, "{frame}");
                out.push_str(&self.source_line(prog, pc, !at_stmt));
            }
            StopReason::End => {
                let what = match self.dbg.as_ref().map(|_| ()) {
                    Some(()) => format!("returns {}", snap.regs[0] as i64),
                    None => String::new(),
                };
                let _ = writeln!(
                    out,
                    "\nThe program {what} from packet {} at its exit (pc {pc}): `continue` ends the run, reverse commands go back.",
                    u32::from(snap.rec.packet) + 1
                );
                out.push_str(&self.source_line(prog, pc, !at_stmt));
            }
            StopReason::Step | StopReason::Custom | StopReason::Rewound => {
                if new_frame {
                    let frame = self.frame_line(snap, 0);
                    let _ = writeln!(out, "{frame}");
                }
                out.push_str(&self.source_line(prog, pc, !at_stmt));
            }
        }
        self.show_displays(out);
    }

    fn format_raw(&mut self, snap: &Snapshot, ty: Option<crate::dwarf::TypeId>, bytes: &[u8]) -> String {
        let scope = scope_in(&self.progs, self.info.as_ref(), snap, 0);
        let v = Value { ty, place: expr::Place::Bytes(bytes.to_vec()), pointee: None };
        scope.format(&v, &mut Mem(self.dbg.as_mut()))
    }

    fn show_displays(&mut self, out: &mut String) {
        let Some(snap) = self.stop.clone() else { return };
        for (n, text) in self.displays.clone() {
            let v = self.eval_text(&snap, &text);
            let _ = writeln!(out, "{n}: {text} = {}", v.unwrap_or_else(|e| format!("<error: {e}>")));
        }
    }

    fn eval_text(&mut self, snap: &Snapshot, text: &str) -> Result<String, String> {
        let e = expr::parse(text).map_err(|e| e.0)?;
        let scope = scope_in(&self.progs, self.info.as_ref(), snap, self.frame);
        let mut mem = Mem(self.dbg.as_mut());
        let v = scope.eval(&e, &mut mem).map_err(|e| e.0)?;
        Ok(scope.format(&v, &mut mem))
    }

    fn cmd_step(&mut self, over: bool, until: bool, out: &mut String) {
        let Some(snap) = self.stop.clone() else {
            return Self::not_running(out);
        };
        let lines = self.lines.clone();
        let cur = snap.rec;
        if lines.line(&cur).is_none() {
            return self.cmd_stepi(over, out);
        }
        let prog = usize::from(cur.prog);
        let range = self.progs[prog].line_range(cur.pc as usize);
        self.forward(
            move |_| {
                let lines = lines.clone();
                Some(Box::new(move |r: &StepRec, _| {
                    if over && r.depth > cur.depth {
                        return false;
                    }
                    if !lines.stmt(r) {
                        return false;
                    }
                    let same_frame = r.prog == cur.prog && r.depth == cur.depth;
                    if until && same_frame && r.pc <= cur.pc {
                        return false;
                    }
                    !same_frame || (r.pc as usize) < range.0 || (r.pc as usize) >= range.1
                }) as Custom)
            },
            out,
        );
    }

    fn cmd_stepi(&mut self, over: bool, out: &mut String) {
        let Some(snap) = self.stop.clone() else {
            return Self::not_running(out);
        };
        let cur = snap.rec;
        let n = snap.step;
        self.forward(
            move |_| {
                Some(Box::new(move |r: &StepRec, step| {
                    step > n && (!over || r.depth <= cur.depth || r.packet != cur.packet)
                }) as Custom)
            },
            out,
        );
    }

    fn cmd_finish(&mut self, out: &mut String) {
        let Some(snap) = self.stop.clone() else {
            return Self::not_running(out);
        };
        let f = self.frame;
        if snap.rec.depth == 0 || snap.return_pcs.len() <= f {
            out.push_str("\"finish\" not meaningful in the outermost frame.\n");
            return;
        }
        let _ = writeln!(out, "Run till exit from #{f}  {}", self.frame_line(&snap, f));
        let cur = snap.rec;
        // The depth to return below: the selected frame's.
        let depth = cur.depth.saturating_sub(f as u8);
        let func = self.progs[usize::from(cur.prog)].func_of(frame_pc(&snap, f)).map(|f| f.1.clone());
        self.forward(
            move |_| Some(Box::new(move |r: &StepRec, _| r.depth < depth || r.packet != cur.packet) as Custom),
            out,
        );
        // The value returned: r0 at the return.
        if let (Some(s), Some(name)) = (self.stop.clone(), func) {
            if s.rec.depth < depth {
                let ret = self.info.as_ref().and_then(|i| i.function_named(&name)).and_then(|f: &Function| f.ret);
                if ret.is_some() || self.info.is_none() {
                    let v = self.format_raw(&s, ret, &s.regs[0].to_le_bytes());
                    self.history += 1;
                    let _ = writeln!(out, "Value returned is ${} = {v}", self.history);
                }
            }
        }
    }

    // ---- reverse ----

    fn reverse(&mut self, how: Rev, out: &mut String) {
        let (n, cur) = match (&self.stop, self.finished) {
            (Some(s), _) => (s.step, Some(s.rec)),
            (None, true) if !self.trace.is_empty() => (self.trace.len() as u64, None),
            _ => return Self::not_running(out),
        };
        if n == 0 {
            out.push_str("\nNo more reverse-execution history.\n");
            return;
        }
        let n = (n as usize).min(self.trace.len());
        let Some(last) = n.checked_sub(1).and_then(|k| self.trace.get(k)) else {
            out.push_str("\nNo more reverse-execution history.\n");
            return;
        };
        let lines = self.lines.clone();
        let cur = cur.unwrap_or(last);
        // The latest step before the current one where `f` holds (the recording is
        // walked, never copied: it may hold millions of steps).
        let rfind = |t: &Trace, f: &dyn Fn(&StepRec) -> bool| t.before(n).find(|(_, r)| f(r)).map(|(k, _)| k);
        let target = match how {
            Rev::StepI => Some(n - 1),
            Rev::NextI => rfind(&self.trace, &|r| r.depth <= cur.depth || r.packet != cur.packet),
            Rev::Finish => {
                if cur.depth == 0 {
                    out.push_str("\"finish\" not meaningful in the outermost frame.\n");
                    return;
                }
                rfind(&self.trace, &|r| r.depth < cur.depth || r.packet != cur.packet)
            }
            Rev::Continue => {
                let bp: Vec<(usize, usize)> = self.breakpoints.iter().flat_map(|b| b.locs.iter().copied()).collect();
                let hit = rfind(&self.trace, &|r| bp.contains(&(usize::from(r.prog), r.pc as usize)));
                // Watches: the last recorded write into them (in this run).
                let mut watch_hit: Option<(u64, usize)> = None;
                if self.stop.is_some() {
                    for (i, w) in self.watches.iter().enumerate() {
                        let Some(d) = self.dbg.as_mut() else { break };
                        match d.last_write(w.addr, w.len, std::mem::take(&mut self.trace)) {
                            Ok((k, trace)) => {
                                self.trace = trace;
                                if let Some(k) = k {
                                    if watch_hit.is_none_or(|(best, _)| k > best) {
                                        watch_hit = Some((k, i));
                                    }
                                }
                            }
                            Err(e) => {
                                let _ = writeln!(out, "{e}");
                                return;
                            }
                        }
                    }
                }
                match (hit, watch_hit) {
                    (h, Some((k, i))) if h.is_none_or(|h| (k as usize) >= h) => {
                        let now = self.watches[i].old.clone();
                        self.reverse_watch = Some((i, now));
                        Some(k as usize)
                    }
                    (Some(h), _) => {
                        self.reverse_hit = true;
                        Some(h)
                    }
                    (None, _) => {
                        out.push_str("\nNo more reverse-execution history.\n");
                        Some(0)
                    }
                }
            }
            Rev::Step | Rev::Next => {
                let over = matches!(how, Rev::Next);
                let prog = usize::from(cur.prog);
                let range = if (cur.pc as usize) < self.progs[prog].insns.len() && self.stop.is_some() {
                    self.progs[prog].line_range(cur.pc as usize)
                } else {
                    (0, 0)
                };
                let in_cur = |r: &StepRec| {
                    (r.prog == cur.prog && r.depth == cur.depth && (range.0..range.1).contains(&(r.pc as usize)))
                        || (over && r.depth > cur.depth)
                };
                // The latest step outside the current line (and, for reverse-next,
                // not deeper); then back to its statement's start.
                let mut steps = self.trace.before(n).skip_while(|(_, r)| in_cur(r)).peekable();
                match steps.next() {
                    None => Some(0),
                    Some(mut k) => {
                        while over && k.0 > 0 && k.1.depth > cur.depth {
                            k = steps.next().unwrap_or(k);
                        }
                        let same = |a: &StepRec, b: &StepRec| {
                            a.prog == b.prog && a.depth == b.depth && lines.line(a) == lines.line(b)
                        };
                        while k.0 > 0 && !lines.stmt(&k.1) && steps.peek().is_some_and(|p| same(&p.1, &k.1)) {
                            k = steps.next().unwrap_or(k);
                        }
                        Some(k.0)
                    }
                }
            }
        };
        let Some(target) = target else {
            out.push_str("\nNo more reverse-execution history.\n");
            return;
        };
        self.goto(target as u64, out);
    }

    /// Go back to step `m`: undo in place when the log allows, else replay.
    fn goto(&mut self, m: u64, out: &mut String) {
        if self.running() && self.stop.as_ref().is_some_and(|s| s.step > m) {
            let trace = std::mem::take(&mut self.trace);
            let Some(d) = self.dbg.as_mut() else { return };
            match d.undo(m, trace) {
                Ok((Some(Event::Stopped(s)), trace)) => {
                    let s = *s;
                    self.trace = trace;
                    let prev = self.stop.replace(s.clone());
                    self.refresh_watches();
                    self.report_stop(&s, prev.as_ref(), out);
                    return;
                }
                Ok((_, trace)) => self.trace = trace,
                Err(e) => {
                    let _ = writeln!(out, "{e}");
                    return;
                }
            }
            out.push_str("(replaying from the start: an instruction on the way back has effects the undo log does not keep; addresses of the stack, packet and maps may differ from the first run)\n");
        }
        self.replay(m, out);
    }

    /// Watches restart from the values at the current point.
    fn refresh_watches(&mut self) {
        for i in 0..self.watches.len() {
            let (addr, len) = (self.watches[i].addr, self.watches[i].len);
            if let Some(d) = self.dbg.as_mut() {
                if let Ok(b) = d.read(addr, len) {
                    self.watches[i].old = b;
                }
            }
        }
    }

    /// Replay to step `m` (a fresh run stopped there).
    fn replay(&mut self, m: u64, out: &mut String) {
        let prev = self.stop.take();
        self.dbg = None;
        engine::pool::give_trace(std::mem::take(&mut self.trace));
        let stop = Stop { at_step: Some(m), ..Stop::default() };
        match Debuggee::start(self.target.clone(), self.insns.clone(), self.main, stop) {
            Ok((d, Event::Stopped(s), trace)) => {
                let s = *s;
                self.dbg = Some(d);
                self.trace = trace;
                self.finished = false;
                self.stop = Some(s.clone());
                self.refresh_watches();
                let mut s2 = s.clone();
                s2.reason = StopReason::Step;
                if let Some(d) = self.dbg.as_mut() {
                    d.ended.clear();
                }
                self.report_stop(&s2, prev.as_ref(), out);
            }
            Ok((_, Event::Exited, trace)) => {
                self.trace = trace;
                let _ = writeln!(out, "cannot replay to step {m}: the run ended before it (not deterministic?)");
            }
            Err(e) => {
                let _ = writeln!(out, "cannot replay: {e}");
            }
        }
    }

    // ---- breakpoints and watches ----

    fn cmd_break(&mut self, arg: &str, temporary: bool, out: &mut String) {
        let (loc, cond) = match arg.find(" if ") {
            Some(i) => (arg[..i].trim(), Some(arg[i + 4..].trim())),
            None if arg.starts_with("if ") => ("", Some(arg[3..].trim())),
            None => (arg.trim(), None),
        };
        let cond = match cond.map(|c| (c.to_string(), expr::parse(c))) {
            Some((_, Err(e))) => {
                let _ = writeln!(out, "{e}");
                return;
            }
            Some((c, Ok(e))) => Some((c, e)),
            None => None,
        };
        let locs = match self.resolve_location(loc) {
            Ok(l) => l,
            Err(e) => {
                let _ = writeln!(out, "{e}");
                return;
            }
        };
        let id = self.next_id;
        self.next_id += 1;
        let (p, pc) = locs[0];
        let what = match self.progs[p].line.get(pc).copied().flatten() {
            Some((f, l)) => format!("file {}, line {l}", self.sources.short(f)),
            None => format!("pc {pc}"),
        };
        let kind = if temporary { "Temporary breakpoint" } else { "Breakpoint" };
        let more = if locs.len() > 1 { format!(" ({} locations)", locs.len()) } else { String::new() };
        let _ = writeln!(out, "{kind} {id} at pc {pc} in {}: {what}.{more}", self.func_name(p, pc));
        self.breakpoints.push(Breakpoint { id, locs, what, temporary, cond, hits: 0 });
    }

    /// `FILE:LINE`, `LINE`, `FUNC` or `*PC` -> (program, pc) locations.
    fn resolve_location(&mut self, loc: &str) -> Result<Vec<(usize, usize)>, String> {
        let cur_prog = self.stop.as_ref().map(|s| usize::from(s.rec.prog)).unwrap_or(self.main);
        if loc.is_empty() {
            return match &self.stop {
                Some(s) => Ok(vec![(cur_prog, s.rec.pc as usize)]),
                None => Err("No default breakpoint location: the program is not being run.".into()),
            };
        }
        if let Some(pc) = loc.strip_prefix('*') {
            let pc = parse_u64(pc.trim()).ok_or_else(|| format!("Invalid instruction index \"{pc}\"."))? as usize;
            if pc >= self.progs[cur_prog].insns.len() || matches!(self.progs[cur_prog].insns[pc], Insn::LoadImm64Tail) {
                return Err(format!("No instruction {pc} in `{}`.", self.progs[cur_prog].name));
            }
            return Ok(vec![(cur_prog, pc)]);
        }
        let (file, line) = match loc.rsplit_once(':') {
            Some((f, l)) => (Some(f), l),
            None => (None, loc),
        };
        if let Ok(line) = line.parse::<u32>() {
            let file_id = match file {
                Some(f) => self.sources.find(f).ok_or_else(|| format!("No source file named {f}."))?,
                None => match self.list_at.map(|l| l.0).or_else(|| self.main_file()) {
                    Some(f) => f,
                    None => return Err("No line information: cannot break on a line.".into()),
                },
            };
            // The first line at or after `line` that has code.
            let mut best: Option<u32> = None;
            for p in &self.progs {
                for l in p.line.iter().flatten() {
                    if l.0 == file_id && l.1 >= line && best.is_none_or(|b| l.1 < b) {
                        best = Some(l.1);
                    }
                }
            }
            let Some(found) = best else {
                return Err(format!("No line {line} in file \"{}\".", self.sources.short(file_id)));
            };
            let mut locs = Vec::new();
            for (pi, p) in self.progs.iter().enumerate() {
                let mut funcs_seen = Vec::new();
                for pc in 0..p.insns.len() {
                    if p.line[pc] == Some((file_id, found)) && (p.stmt[pc] || pc == 0 || p.line[pc - 1] != p.line[pc]) {
                        let f = p.func_of(pc).map(|f| f.0);
                        if !funcs_seen.contains(&f) {
                            funcs_seen.push(f);
                            locs.push((pi, pc));
                        }
                    }
                }
            }
            return Ok(locs);
        }
        // A function.
        let mut locs = Vec::new();
        for (pi, p) in self.progs.iter().enumerate() {
            for (entry, name) in &p.funcs {
                if name == loc {
                    let end = p.func_end(*entry);
                    let pc = (*entry..end).find(|&pc| p.prologue_end[pc]).unwrap_or(*entry);
                    locs.push((pi, pc));
                }
            }
        }
        if locs.is_empty() {
            return Err(format!("Function \"{loc}\" not defined."));
        }
        Ok(locs)
    }

    fn main_file(&self) -> Option<usize> {
        self.progs[self.main].line.iter().flatten().next().map(|l| l.0)
    }

    fn cmd_delete(&mut self, arg: &str, out: &mut String) {
        if arg.is_empty() {
            self.breakpoints.clear();
            self.watches.clear();
            return;
        }
        for a in arg.split_whitespace() {
            match a.parse::<usize>() {
                Ok(n) if self.breakpoints.iter().any(|b| b.id == n) || self.watches.iter().any(|w| w.id == n) => {
                    self.breakpoints.retain(|b| b.id != n);
                    self.watches.retain(|w| w.id != n);
                }
                _ => {
                    let _ = writeln!(out, "No breakpoint number {a}.");
                }
            }
        }
    }

    fn cmd_watch(&mut self, arg: &str, out: &mut String) {
        let Some(snap) = self.stop.clone() else {
            out.push_str("Cannot watch without a running program (watches need an address).\n");
            return;
        };
        let Some(e) = parse_or_report(arg, out) else { return };
        let scope = scope_in(&self.progs, self.info.as_ref(), &snap, self.frame);
        let mut mem = Mem(self.dbg.as_mut());
        let v = match scope.eval(&e, &mut mem) {
            Ok(v) => v,
            Err(e) => {
                let _ = writeln!(out, "{e}");
                return;
            }
        };
        let addr = match scope.address_of(&v) {
            Ok(a) => a,
            Err(_) => {
                out.push_str("Cannot watch constant value or a value in a register.\n");
                return;
            }
        };
        let len = match v.ty {
            None => 8,
            t => self.info.as_ref().map(|i| i.size_of(t)).unwrap_or(8).clamp(1, 4096) as usize,
        };
        let old = match mem.read(addr, len) {
            Ok(b) => b,
            Err(e) => {
                let _ = writeln!(out, "Cannot access memory at address {addr:#x} ({e})");
                return;
            }
        };
        let id = self.next_id;
        self.next_id += 1;
        let _ = writeln!(out, "Hardware watchpoint {id}: {arg}");
        self.watches.push(Watch { id, what: arg.to_string(), addr, len, ty: v.ty, old });
    }

    // ---- printing ----

    fn cmd_print(&mut self, arg: &str, out: &mut String) {
        let Some(snap) = self.stop.clone() else {
            // Constants still evaluate.
            match expr::parse(arg) {
                Ok(expr::Expr::Num(n)) => {
                    self.history += 1;
                    let _ = writeln!(out, "${} = {n}", self.history);
                }
                Ok(_) => Self::not_running(out),
                Err(e) => {
                    let _ = writeln!(out, "{e}");
                }
            }
            return;
        };
        let (fmt, text) = match arg.strip_prefix('/') {
            Some(r) => {
                let (f, t) = r.split_once(char::is_whitespace).unwrap_or((r, ""));
                (f.chars().next(), t.trim())
            }
            None => (None, arg),
        };
        let Some(e) = parse_or_report(text, out) else { return };
        let scope = scope_in(&self.progs, self.info.as_ref(), &snap, self.frame);
        let mut mem = Mem(self.dbg.as_mut());
        match scope.eval(&e, &mut mem) {
            Ok(v) => {
                let shown = match fmt {
                    Some('x') => scope.to_u64(&v, &mut mem).map(|x| format!("{x:#x}")).unwrap_or_else(|e| e.0),
                    Some('d') => scope.to_u64(&v, &mut mem).map(|x| (x as i64).to_string()).unwrap_or_else(|e| e.0),
                    Some('u') => scope.to_u64(&v, &mut mem).map(|x| x.to_string()).unwrap_or_else(|e| e.0),
                    _ => scope.format(&v, &mut mem),
                };
                self.history += 1;
                let _ = writeln!(out, "${} = {shown}", self.history);
            }
            Err(e) if e.0 == "<optimized out>" || e.0 == expr::NOT_SAVED => {
                self.history += 1;
                let _ = writeln!(out, "${} = {}", self.history, e.0);
            }
            Err(e) => {
                let _ = writeln!(out, "{e}");
            }
        }
    }

    fn cmd_display(&mut self, arg: &str, out: &mut String) {
        if arg.is_empty() {
            self.show_displays(out);
            return;
        }
        if let Err(e) = expr::parse(arg) {
            let _ = writeln!(out, "{e}");
            return;
        }
        let n = self.displays.len() + 1;
        self.displays.push((n, arg.to_string()));
        if let Some(snap) = self.stop.clone() {
            let v = self.eval_text(&snap, arg);
            let _ = writeln!(out, "{n}: {arg} = {}", v.unwrap_or_else(|e| format!("<error: {e}>")));
        }
    }

    fn cmd_x(&mut self, arg: &str, out: &mut String) {
        let Some(snap) = self.stop.clone() else {
            return Self::not_running(out);
        };
        let (spec, text) = match arg.strip_prefix('/') {
            Some(r) => r.split_once(char::is_whitespace).map(|(a, b)| (a, b.trim())).unwrap_or((r, "")),
            None => ("", arg),
        };
        let digits: String = spec.chars().take_while(char::is_ascii_digit).collect();
        let count = digits.parse::<usize>().unwrap_or(1).clamp(1, 4096);
        let mut fmt = 'x';
        let mut size = 4usize;
        for c in spec[digits.len()..].chars() {
            match c {
                'b' => size = 1,
                'h' => size = 2,
                'w' => size = 4,
                'g' => size = 8,
                'x' | 'd' | 'u' | 'c' => fmt = c,
                _ => {
                    let _ = writeln!(out, "Invalid format letter '{c}' (use x, d, u, c and b, h, w, g).");
                    return;
                }
            }
        }
        if fmt == 'c' {
            size = 1;
        }
        let Some(e) = parse_or_report(text, out) else { return };
        let scope = scope_in(&self.progs, self.info.as_ref(), &snap, self.frame);
        let mut mem = Mem(self.dbg.as_mut());
        let addr = match scope.eval(&e, &mut mem).and_then(|v| scope.to_u64(&v, &mut mem)) {
            Ok(a) => a,
            Err(e) => {
                let _ = writeln!(out, "{e}");
                return;
            }
        };
        let bytes = match mem.read(addr, count * size) {
            Ok(b) => b,
            Err(e) => {
                let _ = writeln!(out, "Cannot access memory at address {addr:#x} ({e})");
                return;
            }
        };
        let per_line = match size {
            1 => 8,
            2 => 8,
            4 => 4,
            _ => 2,
        };
        for (i, chunk) in bytes.chunks(size).enumerate() {
            if i % per_line == 0 {
                if i > 0 {
                    out.push('\n');
                }
                let _ = write!(out, "{:#x}:", addr + (i * size) as u64);
            }
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            let v = u64::from_le_bytes(w);
            let _ = match fmt {
                'd' => {
                    let shift = 64 - 8 * size as u32;
                    write!(out, "\t{}", ((v << shift) as i64) >> shift)
                }
                'u' => write!(out, "\t{v}"),
                'c' => write!(out, "\t{v} '{}'", if (0x20..0x7f).contains(&v) { v as u8 as char } else { '.' }),
                _ => write!(out, "\t{:#0w$x}", v, w = 2 + 2 * size),
            };
        }
        out.push('\n');
    }

    fn cmd_info(&mut self, arg: &str, out: &mut String) {
        let (what, _rest) = arg.split_once(char::is_whitespace).unwrap_or((arg, ""));
        match what {
            "breakpoints" | "b" | "break" | "watchpoints" => self.info_breakpoints(out),
            "maps" => self.info_maps(out),
            "registers" | "r" | "reg" | "all-registers" => {
                let Some(s) = &self.stop else { return Self::not_running(out) };
                let scope = scope_in(&self.progs, self.info.as_ref(), s, self.frame);
                for (i, r) in scope.regs.iter().enumerate() {
                    if scope.unsaved & (1 << i) != 0 {
                        let _ = writeln!(out, "{:<15}{}", format!("r{i}"), expr::NOT_SAVED);
                    } else {
                        let _ = writeln!(out, "{:<15}{:<19}{}", format!("r{i}"), format!("{r:#x}"), *r as i64);
                    }
                }
                let pc = frame_pc(s, self.frame);
                let _ = writeln!(out, "{:<15}{:<19}{}", "pc", format!("{pc:#x}"), pc);
            }
            "locals" | "args" => {
                let Some(snap) = self.stop.clone() else { return Self::not_running(out) };
                let want_params = what == "args";
                let scope = scope_in(&self.progs, self.info.as_ref(), &snap, self.frame);
                if scope.func.is_none() {
                    out.push_str("No symbol table info available.\n");
                    return;
                }
                let mut mem = Mem(self.dbg.as_mut());
                let mut any = false;
                for (n, p, v) in scope.variables() {
                    if p != want_params {
                        continue;
                    }
                    any = true;
                    let shown = match v {
                        Ok(v) => scope.format(&v, &mut mem),
                        Err(e) => e.0,
                    };
                    let _ = writeln!(out, "{n} = {shown}");
                }
                if !any {
                    out.push_str(if want_params { "No arguments.\n" } else { "No locals.\n" });
                }
            }
            "frame" | "f" => {
                let Some(snap) = self.stop.clone() else { return Self::not_running(out) };
                let f = self.frame;
                let line = self.frame_line(&snap, f);
                let prog = &self.progs[usize::from(snap.rec.prog)].name;
                let scope = scope_in(&self.progs, self.info.as_ref(), &snap, f);
                let _ = writeln!(
                    out,
                    "Stack level {f}, pc {} in program {prog}, step {} of packet {}:\n {line}\n frame pointer (r10) {:#x}, call depth {}",
                    frame_pc(&snap, f),
                    snap.step,
                    u32::from(snap.rec.packet) + 1,
                    scope.regs[10],
                    usize::from(snap.rec.depth).saturating_sub(f)
                );
                if f < snap.return_pcs.len() {
                    let _ = writeln!(out, " called by frame at level {}", f + 1);
                }
                if f > 0 {
                    let _ = writeln!(out, " caller of frame at level {}", f - 1);
                    let r = &scope.regs;
                    let _ = writeln!(
                        out,
                        " saved registers: r6 {:#x}, r7 {:#x}, r8 {:#x}, r9 {:#x} (r0..r5 not saved)",
                        r[6], r[7], r[8], r[9]
                    );
                }
            }
            "display" => self.show_displays(out),
            "line" => {
                let Some(s) = self.stop.clone() else { return Self::not_running(out) };
                out.push_str(&self.source_line(usize::from(s.rec.prog), s.rec.pc as usize, true));
            }
            "record" => {
                let _ = writeln!(out, "{} steps recorded.", self.trace.len());
            }
            "verifier" => self.info_verifier(out),
            _ => {
                let _ = writeln!(out, "Undefined info command: \"{arg}\".  Try \"help info\".");
            }
        }
    }

    fn info_breakpoints(&mut self, out: &mut String) {
        if self.breakpoints.is_empty() && self.watches.is_empty() {
            out.push_str("No breakpoints or watchpoints.\n");
            return;
        }
        out.push_str("Num     Type           Disp Enb What\n");
        let mut rows: Vec<(usize, String)> = Vec::new();
        for b in &self.breakpoints {
            let (p, pc) = b.locs[0];
            let mut s = format!(
                "{:<7} breakpoint     {} y   pc {pc} in {} at {}\n",
                b.id,
                if b.temporary { "del " } else { "keep" },
                self.func_name(p, pc),
                b.what
            );
            if let Some((c, _)) = &b.cond {
                let _ = writeln!(s, "\tstop only if {c}");
            }
            if b.hits > 0 {
                let _ = writeln!(s, "\tbreakpoint already hit {} time{}", b.hits, if b.hits == 1 { "" } else { "s" });
            }
            rows.push((b.id, s));
        }
        for w in &self.watches {
            rows.push((w.id, format!("{:<7} hw watchpoint  keep y   {}\n", w.id, w.what)));
        }
        rows.sort_by_key(|r| r.0);
        for (_, r) in rows {
            out.push_str(&r);
        }
    }

    fn info_maps(&mut self, out: &mut String) {
        let Some(d) = self.dbg.as_ref() else {
            out.push_str("The program is not being run (maps are created by `run`).\n");
            return;
        };
        for m in &d.maps {
            let n = m.len();
            let _ = writeln!(
                out,
                "{}: type {}, key {} bytes, value {} bytes, {} entr{}",
                m.name(),
                m.map_type(),
                m.key_size(),
                m.value_size(),
                n,
                if n == 1 { "y" } else { "ies" }
            );
            // The first entries in key order; arrays hold every index, their all-zero
            // values are not shown.
            const SCAN: usize = 4096;
            let (mut key, mut scanned, mut shown, mut zero) = (None::<Vec<u8>>, 0, 0, 0);
            while scanned < SCAN {
                let Ok(k) = m.get_next_key(key.as_deref()) else { break };
                scanned += 1;
                match m.lookup(&k) {
                    Ok(v) if v.iter().all(|b| *b == 0) => zero += 1,
                    Ok(v) if shown < 64 => {
                        shown += 1;
                        let _ = writeln!(out, "  {}: {}", hex(&k), hex(&v));
                    }
                    _ => {}
                }
                key = Some(k);
            }
            if zero > 0 {
                let _ = writeln!(out, "  ({zero} entries all zero)");
            }
            if scanned == SCAN && n > SCAN || shown == 64 {
                let _ = writeln!(out, "  (the first {scanned} entries looked at)");
            }
        }
    }

    fn cmd_backtrace(&mut self, out: &mut String) {
        let Some(snap) = self.stop.clone() else {
            out.push_str("No stack.\n");
            return;
        };
        let frames = snap.return_pcs.len() + 1;
        for f in 0..frames {
            let line = self.frame_line(&snap, f);
            let _ = writeln!(out, "#{f}  {line}");
        }
        // The tail-call chain of this packet, most recent first.
        let n = (snap.step as usize).min(self.trace.len());
        let mut chain: Vec<u16> = Vec::new();
        for r in self.trace.range(0..n).rev() {
            if r.packet != snap.rec.packet {
                break;
            }
            let last = chain.last().copied().unwrap_or(snap.rec.prog);
            if r.depth == 0 && r.prog != last {
                chain.push(r.prog);
            }
        }
        for (i, p) in chain.iter().enumerate() {
            let name = self.progs.get(usize::from(*p)).map(|p| p.name.as_str()).unwrap_or("??");
            let _ = writeln!(out, "#{}  [tail call from program {name}]", frames + i);
        }
    }

    /// `frame [N]`, `up [N]`, `down [N]`: select a frame and show it.
    fn cmd_frame(&mut self, arg: &str, how: Move, out: &mut String) {
        let Some(snap) = self.stop.clone() else {
            out.push_str("No stack.\n");
            return;
        };
        let n = match arg {
            "" => None,
            a => match parse_u64(a) {
                Some(n) => Some(usize::try_from(n).unwrap_or(usize::MAX)),
                None => {
                    let _ = writeln!(out, "Invalid number \"{a}\".");
                    return;
                }
            },
        };
        let outermost = snap.return_pcs.len();
        let f = match how {
            Move::To => match n {
                Some(n) if n > outermost => {
                    let _ = writeln!(out, "No frame at level {arg}.");
                    return;
                }
                Some(n) => n,
                None => self.frame,
            },
            Move::Up if self.frame == outermost => {
                out.push_str("Initial frame selected; you cannot go up.\n");
                return;
            }
            Move::Up => self.frame.saturating_add(n.unwrap_or(1)).min(outermost),
            Move::Down if self.frame == 0 => {
                out.push_str("Bottom (innermost) frame selected; you cannot go down.\n");
                return;
            }
            Move::Down => self.frame.saturating_sub(n.unwrap_or(1)),
        };
        self.frame = f;
        let line = self.frame_line(&snap, f);
        let _ = writeln!(out, "#{f}  {line}");
        out.push_str(&self.source_line(usize::from(snap.rec.prog), frame_pc(&snap, f), false));
    }

    fn cmd_list(&mut self, arg: &str, out: &mut String) {
        let start = if arg.is_empty() {
            self.list_at.or_else(|| self.main_file().map(|f| (f, 1)))
        } else {
            match self.resolve_location(arg) {
                Ok(locs) => {
                    let (p, pc) = locs[0];
                    self.progs[p].line.get(pc).copied().flatten().map(|(f, l)| (f, l.saturating_sub(5).max(1)))
                }
                Err(e) => {
                    let _ = writeln!(out, "{e}");
                    return;
                }
            }
        };
        let Some((file, first)) = start else {
            out.push_str("No line information.\n");
            return;
        };
        let count = self.sources.line_count(file);
        if first > count {
            let _ =
                writeln!(out, "Line number {first} out of range; \"{}\" has {count} lines.", self.sources.short(file));
            return;
        }
        let last = (first + 9).min(count);
        for l in first..=last {
            let t = self.sources.line_text(file, l).unwrap_or_default();
            let _ = writeln!(out, "{l}\t{t}");
        }
        self.list_at = Some((file, last + 1));
    }

    fn cmd_disassemble(&mut self, out: &mut String) {
        let (prog, pc) = match &self.stop {
            Some(s) => (usize::from(s.rec.prog), Some(frame_pc(s, self.frame))),
            None => (self.main, None),
        };
        let entry = pc.and_then(|pc| self.progs[prog].func_of(pc).map(|f| f.0)).unwrap_or(0);
        let end = self.progs[prog].func_end(entry);
        let _ = writeln!(out, "Dump of assembler code for function {}:", self.func_name(prog, entry));
        let mut last_line = None;
        for i in entry..end {
            if matches!(self.progs[prog].insns[i], Insn::LoadImm64Tail) {
                continue;
            }
            let line = self.progs[prog].line[i];
            if line != last_line {
                if let Some((f, l)) = line {
                    let t = self.sources.line_text(f, l).unwrap_or_default();
                    let _ = writeln!(out, "{}:{l}\t{t}", self.sources.short(f));
                }
                last_line = line;
            }
            let mark = if Some(i) == pc { "=> " } else { "   " };
            let _ = writeln!(out, "{mark}{i:>5}:\t{}", disasm(&self.progs[prog].insns, i));
        }
        out.push_str("End of assembler dump.\n");
    }
}

fn scope_in<'s>(progs: &'s [ProgView], info: Option<&'s DebugInfo>, snap: &Snapshot, frame: usize) -> Scope<'s> {
    let prog = &progs[usize::from(snap.rec.prog).min(progs.len() - 1)];
    let depth = usize::from(snap.rec.depth);
    let pc = if frame == 0 { snap.rec.pc as usize } else { frame_pc(snap, frame) };
    let mut regs = snap.regs;
    let mut unsaved = 0;
    if frame > 0 {
        regs[10] = snap.frame_pointers.get(depth.wrapping_sub(frame)).copied().unwrap_or(regs[10]);
        // r6..r9 as the call saved them; r0..r5 the call clobbered.
        let n = snap.saved_regs.len();
        if let Some(saved) = snap.saved_regs.get(n.wrapping_sub(frame)) {
            regs[6..10].copy_from_slice(saved);
        }
        unsaved = 0b11_1111;
    }
    let addr = prog.addr.get(pc).copied().flatten();
    let func = match (info, addr) {
        (Some(i), Some(a)) => i.function_at(a),
        _ => None,
    };
    let mut conv = HashMap::new();
    conv.insert("pc".to_string(), pc as u64);
    conv.insert("packet".to_string(), u64::from(snap.rec.packet) + 1);
    conv.insert("step".to_string(), snap.step);
    let frame_base = regs[10].wrapping_sub(prog.frame_size(pc));
    Scope { info, func, offset: addr.map(|a| a.offset).unwrap_or(0), regs, unsaved, frame_base, conv }
}

/// The pc of frame `frame` (0 = innermost): the call instruction for outer frames.
fn frame_pc(snap: &Snapshot, frame: usize) -> usize {
    if frame == 0 {
        return snap.rec.pc as usize;
    }
    let n = snap.return_pcs.len();
    snap.return_pcs.get(n.wrapping_sub(frame)).map(|r| r.saturating_sub(1)).unwrap_or(0)
}

/// How `frame`, `up` and `down` move.
#[derive(Debug, Clone, Copy)]
enum Move {
    To,
    Up,
    Down,
}

#[derive(Debug, Clone, Copy)]
enum Rev {
    StepI,
    NextI,
    Step,
    Next,
    Continue,
    Finish,
}

fn short_value(scope: &Scope<'_>, v: &Value, mem: &mut dyn Memory) -> String {
    let s = scope.format(v, mem);
    // Frame lines show pointers without their type, as gdb does.
    match s.strip_prefix('(') {
        Some(r) if s.contains(") 0x") => r.split_once(") ").map(|x| x.1.to_string()).unwrap_or(s),
        _ => s,
    }
}

/// Parse an expression, or print why not.
fn parse_or_report(text: &str, out: &mut String) -> Option<expr::Expr> {
    match expr::parse(text) {
        Ok(e) => Some(e),
        Err(e) => {
            let _ = writeln!(out, "{e}");
            None
        }
    }
}

fn disasm(insns: &[Insn], pc: usize) -> String {
    insns.get(pc).map(bpfbox_isa::llvm::disasm_insn).unwrap_or_default()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join(" ")
}

fn parse_u64(s: &str) -> Option<u64> {
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

const HELP: &str = "\
Running:   run | restart | start | continue (c) | kill | quit (q)
Stepping:  step (s) | next (n) | until (u) | finish | stepi (si) | nexti (ni)
Reverse:   reverse-step (rs) | reverse-next (rn) | reverse-stepi (rsi) | reverse-nexti (rni)
           reverse-continue (rc) | reverse-finish
Breaks:    break FILE:LINE | LINE | FUNC | *INSN [if EXPR]; tbreak ...; delete [N...]
           watch EXPR (a stack slot, packet byte or map value; stops when it changes)
Data:      print[/x|d|u] EXPR | display EXPR | undisplay N | x/NFU EXPR (F: x d u c, U: b h w g)
           EXPR: C variables, p->f, s.f, *p, &v, a[i], $r0..$r10, $fp, $pc, $packet, $step,
           arithmetic and comparisons
Info:      info registers|locals|args|frame|breakpoints|maps|display|line|record|verifier
           backtrace (bt) | list [LOC] | disassemble (source interleaved)
Frames:    frame [N] | up [N] | down [N]: select a bpf-to-bpf frame; print, x, info locals|
           args|frame|registers and finish then work in it (r6..r9 as the call saved them)
";
