//! bpfbox-isa: the eBPF instruction set (RFC 9669, v1–v4) as data.
//!
//! Bytes are decoded once into [`Insn`]; the interpreter, JIT, verifier and the
//! disassemblers all match on it. Two text syntaxes are supported: the one
//! `llvm-objdump -d` prints ([`llvm`]) and the uBPF syntax used by the
//! bpf_conformance suite ([`ubpf`]).

pub mod insn;
pub mod raw;

pub use insn::{
    check_jumps, decode_at, decode_program, decode_slots, encode, encode_program, AluOp, AtomicOp, CallTarget, Cond,
    DecodeError, DecodeErrorKind, Endian, Imm64, Insn, JumpError, Operand, PacketMode, Reg, Size, Width,
    MAY_GOTO_BUDGET,
};
pub use raw::RawInsn;

pub mod asm;
pub mod kernel_fmt;
pub mod llvm;
pub mod ubpf;

pub use asm::{assemble, AsmError, Syntax};
