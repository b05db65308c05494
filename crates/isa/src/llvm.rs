//! The BPF assembly syntax that `llvm-objdump -d` prints. (Being written.)
use crate::{asm::AsmError, Insn};

/// Assemble llvm-syntax text into a slot-indexed program.
pub fn assemble(_text: &str) -> Result<Vec<Insn>, AsmError> {
    Err(AsmError::new(1, "llvm syntax assembler not yet implemented"))
}
