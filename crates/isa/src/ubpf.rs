//! The uBPF assembly syntax used by the bpf_conformance suite. (Being written.)
use crate::{asm::AsmError, Insn};

/// Assemble uBPF-syntax text into a slot-indexed program.
pub fn assemble(_text: &str) -> Result<Vec<Insn>, AsmError> {
    Err(AsmError::new(1, "ubpf syntax assembler not yet implemented"))
}
