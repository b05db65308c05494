//! bpfbox-debug: a source-level debugger for eBPF objects, with reverse execution.
//!
//! - `dwarf.rs`: DWARF (gimli) of a relocatable BPF object: line tables, functions,
//!   variables with their locations, C types.
//! - `source.rs`: per program instruction → source line / function (DWARF, else BTF
//!   line info) and source text.
//! - `engine.rs`: the debuggee — a run on a worker thread paused in the VM's debug
//!   hook, the step recording, replays for reverse execution.
//! - `expr.rs`: C expressions (`p->f`, `*p`, `a[i]`, registers) and gdb-style values.
//! - `session.rs`: the command interpreter, lines in and text out.
//! - `verifier_view.rs`: `info verifier`, the verifier's states at a pc beside the
//!   concrete registers.
//! - `dap.rs`: the Debug Adapter Protocol over a byte stream, on the same session.

pub mod dap;
pub mod dwarf;
pub mod engine;
pub mod expr;
pub mod session;
pub mod source;
pub mod verifier_view;

pub use engine::{Launch, Target};
pub use session::{FrameInfo, Session, SessionError, Status};
