//! A validated, slot-indexed program and its functions.

use crate::error::VmError;
use bpfbox_isa::{check_jumps, CallTarget, Imm64, Insn};

/// A program ready for execution: every jump, local call and function address
/// targets an instruction (checked with [`check_jumps`]), every `lddw` is followed by
/// its second slot, and the function entry points are known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    insns: Vec<Insn>,
    functions: Vec<usize>,
}

impl Program {
    pub fn new(insns: Vec<Insn>) -> Result<Program, VmError> {
        if insns.is_empty() {
            return Err(VmError::EmptyProgram);
        }
        for (pc, insn) in insns.iter().enumerate() {
            let ok = match insn {
                Insn::LoadImm64 { .. } => insns.get(pc + 1) == Some(&Insn::LoadImm64Tail),
                Insn::LoadImm64Tail => pc > 0 && matches!(insns[pc - 1], Insn::LoadImm64 { .. }),
                _ => true,
            };
            if !ok {
                return Err(VmError::MalformedLddw { pc });
            }
        }
        check_jumps(&insns)?;
        let mut functions = vec![0];
        for (pc, insn) in insns.iter().enumerate() {
            match *insn {
                Insn::Call(CallTarget::Local(rel)) | Insn::LoadImm64 { imm: Imm64::Func(rel), .. } => {
                    // In range: check_jumps accepted it.
                    functions.push((pc as i64 + 1 + rel as i64) as usize);
                }
                _ => {}
            }
        }
        functions.sort_unstable();
        functions.dedup();
        Ok(Program { insns, functions })
    }

    /// One instruction per 8-byte slot.
    pub fn insns(&self) -> &[Insn] {
        &self.insns
    }

    /// Entry points of the main program (0) and of every subprogram, sorted.
    pub fn functions(&self) -> &[usize] {
        &self.functions
    }

    pub fn is_function(&self, pc: usize) -> bool {
        self.functions.binary_search(&pc).is_ok()
    }

    /// The entry of the function containing `pc` (functions are contiguous).
    pub fn function_of(&self, pc: usize) -> usize {
        match self.functions.binary_search(&pc) {
            Ok(i) => self.functions[i],
            Err(i) => self.functions[i.saturating_sub(1)],
        }
    }
}
