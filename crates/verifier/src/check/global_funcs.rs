//! Global (non-static) functions as Linux 6.18 verifies them (`check_func_call`,
//! `btf_check_func_arg_match`, `do_check_subprogs`). A call to a global function
//! checks the registers against the function's BTF signature
//! ([`crate::FuncSig`]), and the caller continues after it with r1-r5 clobbered and
//! r0 an unknown scalar, without entering the callee. After the main program, every
//! global function some explored path called is verified once, on its own, from a
//! state built from its signature: the callee knows nothing its callers checked
//! (pointer arguments may be NULL, scalars are unbounded).

use super::calls::PKT_CHANGING;
use super::precision::Need;
use super::{fail, Next, Node, Path, Verifier, R};
use crate::cfg::Cfg;
use crate::state::{Frame, RegState, RegType, State};
use crate::{Diagnostic, FuncArg, ProgramInput, Rule};
use bpfbox_abi::helper_by_id;
use bpfbox_isa::{CallTarget, Insn};
use std::fmt::Write as _;

/// What the verifier knows of the program's global functions.
pub(super) struct Globals {
    /// Per subprogram: its index in `ProgramInput::funcs` when it is global.
    sig: Vec<Option<usize>>,
    /// Called on some explored path (`func_info_aux.called`).
    called: Vec<bool>,
    verified: Vec<bool>,
    /// Per subprogram: it, or a function it calls, may change packet data (the
    /// kernel's `changes_pkt_data`, merged over the call graph).
    changes_pkt: Vec<bool>,
}

impl Globals {
    pub(super) fn new(prog: &ProgramInput, cfg: &Cfg) -> Globals {
        let n = cfg.subprogs.len();
        let sig = cfg
            .subprogs
            .iter()
            .enumerate()
            .map(|(i, start)| {
                // The main program is never "called" as a global function.
                (i > 0).then(|| prog.funcs.iter().position(|f| f.insn_off == *start && f.global)).flatten()
            })
            .collect();
        let mut changes_pkt: Vec<bool> = (0..n)
            .map(|i| {
                let (start, end) = (cfg.subprogs[i], cfg.subprog_end(i, prog.insns.len()));
                prog.insns[start..end].iter().any(|insn| match *insn {
                    // A tail call counts: the program it reaches may change the packet.
                    Insn::Call(CallTarget::Helper(id)) => u32::try_from(id)
                        .ok()
                        .and_then(helper_by_id)
                        .is_some_and(|p| PKT_CHANGING.contains(&p.name) || p.name == "tail_call"),
                    _ => false,
                })
            })
            .collect();
        loop {
            let mut changed = false;
            for &(pc, callee) in &cfg.calls {
                let caller = cfg.subprog_of(pc);
                if changes_pkt.get(callee).copied().unwrap_or(false) && !changes_pkt[caller] {
                    changes_pkt[caller] = true;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        Globals { sig, called: vec![false; n], verified: vec![false; n], changes_pkt }
    }
}

/// `__check_ptr_off_reg`: the pointer as it was made, without offsets.
fn ptr_off_ok(reg: &RegState, regno: usize, fixed_off_ok: bool) -> R<()> {
    let ty = reg.type_str();
    if reg.off < 0 {
        return fail(Rule::HelperArg, format!("negative offset {ty} ptr R{regno} off={} disallowed", reg.off), &[]);
    }
    if !fixed_off_ok && reg.off != 0 {
        return fail(
            Rule::HelperArg,
            format!("dereference of modified {ty} ptr R{regno} off={} disallowed", reg.off),
            &[],
        );
    }
    if reg.var.const_value() != Some(0) {
        return fail(Rule::HelperArg, format!("variable {ty} access var_off={} disallowed", reg.var.var), &[]);
    }
    Ok(())
}

/// `check_func_arg_reg_off` for an argument of a global function (`ARG_DONTCARE`).
fn arg_reg_off(reg: &RegState, regno: usize) -> R<()> {
    match reg.ty {
        RegType::Stack | RegType::Packet | RegType::PacketMeta | RegType::MapKey | RegType::Scalar => Ok(()),
        RegType::MapValue | RegType::Mem if !reg.maybe_null => Ok(()),
        RegType::BtfId => ptr_off_ok(reg, regno, true),
        _ => ptr_off_ok(reg, regno, false),
    }
}

impl Verifier<'_> {
    /// The global function starting at `target`, if it is one (`subprog_is_global`).
    pub(super) fn global_callee(&self, target: usize) -> Option<usize> {
        let sub = self.cfg.subprog_of(target);
        self.globals.sig.get(sub).copied().flatten().map(|_| sub)
    }

    /// `check_func_call` of global function `sub`: the arguments must match its
    /// signature; the caller goes on after the call.
    pub(super) fn global_call(&mut self, p: &mut Path, sub: usize) -> R<Next> {
        let pc = p.pc;
        let Some(fi) = self.globals.sig[sub] else { return fail(Rule::Structure, "not a global function", &[]) };
        let name = self.prog.funcs[fi].name.clone();
        let matched = self.global_args_match(&mut p.st, fi, pc);
        self.helper_reads = (0, [0; 6]);
        if p.st.lock.is_some() {
            return fail(
                Rule::Unsupported,
                "global function calls are not allowed while holding a lock,\nuse static function instead",
                &[],
            );
        }
        if let Err(mut f) = matched {
            let _ = write!(f.message, "\nCaller passes invalid args into func#{sub} ('{name}')");
            return Err(f);
        }
        if let Some(l) = self.log.as_mut() {
            let _ = writeln!(l, "Func#{sub} ('{name}') is global and assumed valid.");
        }
        if self.globals.changes_pkt[sub] {
            p.st.for_each_reg(|r| {
                if matches!(r.ty, RegType::Packet | RegType::PacketMeta | RegType::PacketEnd) {
                    *r = RegState::unknown();
                }
            });
        }
        self.globals.called[sub] = true;
        self.clobber_caller_saved(&mut p.st);
        *p.st.reg_mut(0) = RegState::unknown();
        Ok(Next::Goto(pc + 1))
    }

    /// `btf_check_func_arg_match`: r1.. against the arguments of `funcs[fi]`.
    fn global_args_match(&mut self, st: &mut State, fi: usize, pc: usize) -> R<()> {
        let sig = &self.prog.funcs[fi];
        let args = match &sig.args {
            Ok(a) => a.clone(),
            Err(m) => return fail(Rule::HelperArg, m.clone(), &[]),
        };
        for (i, arg) in args.iter().enumerate() {
            let regno = i + 1;
            let reg = *st.reg(regno);
            let rn = [regno as u8];
            match arg {
                FuncArg::Scalar => {
                    if reg.ty != RegType::Scalar {
                        return fail(Rule::HelperArg, format!("R{regno} is not a scalar"), &rn);
                    }
                }
                FuncArg::Ctx => {
                    arg_reg_off(&reg, regno)?;
                    if reg.ty != RegType::Ctx {
                        return fail(Rule::HelperArg, format!("arg#{i} expects pointer to ctx"), &rn);
                    }
                }
                &FuncArg::Mem { size, nullable } => {
                    arg_reg_off(&reg, regno)?;
                    // `check_mem_reg`: NULL passes; else the memory as if not NULL,
                    // read and written.
                    if !reg.is_null_const() {
                        if size == 0 && !reg.is_ptr() {
                            let ty = reg.type_str();
                            return fail(Rule::HelperArg, format!("R{regno} type={ty} expected=fp"), &rn);
                        }
                        st.reg_mut(regno).maybe_null = false;
                        let checked = self
                            .helper_mem(st, regno, size as u64, size as u64, false, false, pc)
                            .and_then(|()| self.helper_mem(st, regno, size as u64, size as u64, true, false, pc));
                        *st.reg_mut(regno) = reg;
                        checked?;
                    }
                    if !nullable && reg.maybe_null {
                        return fail(Rule::NullDeref, format!("arg#{i} is expected to be non-NULL"), &rn);
                    }
                }
                FuncArg::Unsupported(what) => {
                    return fail(
                        Rule::Unsupported,
                        format!("{what}: bpfbox does not model this argument of global function {}() yet", sig.name),
                        &rn,
                    );
                }
            }
        }
        Ok(())
    }

    /// `At subprogram exit`: a global function returns a scalar.
    pub(super) fn global_exit(&mut self, p: &mut Path) -> R<Next> {
        let r0 = self.read_reg(&p.st, 0)?;
        if r0.is_ptr() && self.opts.unprivileged {
            return fail(Rule::PointerLeak, "R0 leaks addr as return value", &[0]);
        }
        if r0.ty != RegType::Scalar {
            return fail(
                Rule::ReturnValue,
                format!("At subprogram exit the register R0 is not a scalar value ({})", r0.type_str()),
                &[0],
            );
        }
        Ok(Next::Done)
    }

    /// `do_check_subprogs`: every global function called on an explored path,
    /// verified once from its signature (again while new ones are found).
    pub(super) fn check_global_funcs(&mut self) -> Result<(), Box<Diagnostic>> {
        loop {
            let mut new = 0;
            for sub in 1..self.cfg.subprogs.len() {
                let Some(fi) = self.globals.sig[sub] else { continue };
                if !self.globals.called[sub] || self.globals.verified[sub] {
                    continue;
                }
                let name = self.prog.funcs[fi].name.clone();
                if let Some(l) = self.log.as_mut() {
                    let _ = writeln!(l, "Validating {name}() func#{sub}...");
                }
                let init = self.global_entry_state(sub, fi);
                // Each walk starts afresh (the kernel frees explored states).
                for e in self.explored.iter_mut() {
                    e.clear();
                }
                self.stored = 0;
                self.nodes = vec![Node { parent: None, branches: 1, dprec: Need::default() }];
                self.walk(self.cfg.subprogs[sub], init)?;
                if let Some(l) = self.log.as_mut() {
                    let _ = writeln!(l, "Func#{sub} ('{name}') is safe for any args that match its prototype");
                }
                self.globals.verified[sub] = true;
                new += 1;
            }
            if new == 0 {
                return Ok(());
            }
        }
    }

    /// The state a global function starts in (`do_check_common` for a subprogram):
    /// ctx, unknown scalars, and memory of the pointee's size that may be NULL, with
    /// its own id so that a NULL check refines it.
    fn global_entry_state(&mut self, sub: usize, fi: usize) -> State {
        let mut st =
            State { frames: vec![Frame::new(sub, None, 0)], refs: vec![], lock: None, rcu: false, may_goto_depth: 0 };
        let args = self.prog.funcs[fi].args.clone().unwrap_or_default();
        for (i, arg) in args.iter().enumerate().take(5) {
            st.frames[0].regs[i + 1] = match *arg {
                FuncArg::Scalar | FuncArg::Unsupported(_) => RegState::unknown(),
                FuncArg::Ctx => RegState::ptr(RegType::Ctx),
                FuncArg::Mem { size, nullable } => RegState {
                    aux: size,
                    maybe_null: nullable,
                    id: if nullable { self.new_id() } else { 0 },
                    ..RegState::ptr(RegType::Mem)
                },
            };
        }
        st
    }
}
