//! The session as data, for front ends that are not a terminal (the Debug Adapter
//! Protocol): status, frames, variables, registers.

use super::{frame_pc, scope_in, Mem, Session};
use crate::engine::StopReason;

/// Where a session is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Not started (or killed).
    Idle,
    /// Paused, and why.
    Stopped(StopReason),
    /// Every input ran.
    Exited,
}

/// One frame of the stopped program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameInfo {
    pub name: String,
    /// The source file's path, when known.
    pub file: Option<String>,
    pub line: u32,
    pub pc: usize,
}

impl Session {
    /// Where the session is.
    pub fn status(&self) -> Status {
        match (&self.stop, self.finished) {
            (Some(_), _) => Status::Stopped(self.last_reason.clone().unwrap_or(StopReason::Step)),
            (None, true) => Status::Exited,
            (None, false) => Status::Idle,
        }
    }

    /// The frames of the stopped program, innermost first.
    pub fn frames(&self) -> Vec<FrameInfo> {
        let Some(snap) = &self.stop else { return Vec::new() };
        let prog = usize::from(snap.rec.prog);
        (0..=snap.return_pcs.len())
            .map(|f| {
                let pc = frame_pc(snap, f);
                let line = self.progs[prog].line.get(pc).copied().flatten();
                FrameInfo {
                    name: self.func_name(prog, pc),
                    file: line.and_then(|(file, _)| self.sources.files.get(file).cloned()),
                    line: line.map(|l| l.1).unwrap_or(0),
                    pc,
                }
            })
            .collect()
    }

    /// The variables of frame `frame` (arguments first), with their values as `print`
    /// shows them.
    pub fn variables(&mut self, frame: usize) -> Vec<(String, String)> {
        let Some(snap) = self.stop.clone() else { return Vec::new() };
        let scope = scope_in(&self.progs, self.info.as_ref(), &snap, frame);
        let mut mem = Mem(self.dbg.as_mut());
        let mut vars: Vec<(bool, String, String)> = scope
            .variables()
            .into_iter()
            .map(|(n, param, v)| {
                let shown = match v {
                    Ok(v) => scope.format(&v, &mut mem),
                    Err(e) => e.0,
                };
                (!param, n.to_string(), shown)
            })
            .collect();
        vars.sort_by_key(|v| v.0);
        vars.into_iter().map(|(_, n, v)| (n, v)).collect()
    }

    /// r0..r10 and pc of the stop.
    pub fn registers(&self) -> Vec<(String, String)> {
        let Some(s) = &self.stop else { return Vec::new() };
        let mut out: Vec<(String, String)> =
            s.regs.iter().enumerate().map(|(i, r)| (format!("r{i}"), format!("{r:#x}"))).collect();
        out.push(("pc".into(), s.rec.pc.to_string()));
        out
    }

    /// Delete the breakpoints set in `file` (by path or name).
    pub fn clear_breakpoints_in(&mut self, file: &str) {
        let Some(f) = self.sources.find(file.rsplit('/').next().unwrap_or(file)) else { return };
        let progs = &self.progs;
        self.breakpoints.retain(|b| {
            !b.locs.iter().any(|&(p, pc)| progs[p].line.get(pc).copied().flatten().map(|l| l.0) == Some(f))
        });
    }
}
