//! `bpfbox-trace`: the bpftrace language compiled straight to eBPF instructions.
//!
//! Stages: [`lexer`] → [`parser`] (→ [`ast`]) → type checking → code generation → an ELF
//! object with BTF (written by `bpfbox-object`) → bpfbox's verifier → the kernel. Output
//! (`@map` printing, `printf`, histograms) is in [`output`], in bpftrace's format.

pub mod ast;
pub mod diag;
pub mod lexer;
pub mod output;
pub mod parser;

pub use diag::{Diagnostic, Span, Stage};
