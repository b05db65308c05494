//! `bpfbox-trace`: the bpftrace language compiled straight to eBPF instructions.
//!
//! Stages: [`lexer`] → [`parser`] (→ [`ast`]) → [`codegen`] (types found while generating;
//! attach points resolved by [`probes`]) → [`link`]: an ELF object with BTF (written by
//! `bpfbox-object`) and every program checked by bpfbox's verifier → with the `kernel`
//! feature, `run`: load, attach, read events, print. Output (`@map` printing, `printf`,
//! histograms) is in [`output`], in bpftrace's format.

pub mod ast;
pub mod codegen;
pub mod decode;
pub mod diag;
pub mod elfsyms;
pub mod lexer;
pub mod link;
pub mod output;
pub mod parser;
pub mod probes;
#[cfg(feature = "kernel")]
pub mod run;
pub mod types;

pub use codegen::{CompileOptions, Compiled};
pub use diag::{Diagnostic, Span, Stage};

/// Parse and compile a script.
pub fn compile(src: &str, env: &dyn probes::ProbeEnv, opts: &CompileOptions) -> Result<Compiled, Diagnostic> {
    let script = parser::parse(src)?;
    codegen::compile(&script, env, opts)
}
