//! Errors of program construction and execution. Every run-time error names the
//! instruction (`pc`, a slot index) where it happened.

use bpfbox_isa::JumpError;

/// Why a program could not be prepared or why a run stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VmError {
    // ---- construction ----
    #[error("program is empty")]
    EmptyProgram,
    #[error(transparent)]
    Jump(#[from] JumpError),
    #[error("pc {pc}: lddw is not followed by its second slot (or a second slot stands alone)")]
    MalformedLddw { pc: usize },

    // ---- execution ----
    /// A load, store or atomic touched memory outside every region it may use.
    #[error("pc {pc}: out-of-bounds {} of {size} bytes at {addr:#x}", if *.write { "write" } else { "read" })]
    OutOfBounds { pc: usize, addr: u64, size: u64, write: bool },
    /// A store or atomic targeted a read-only region.
    #[error("pc {pc}: write of {size} bytes at {addr:#x} to a read-only region")]
    ReadOnly { pc: usize, addr: u64, size: u64 },
    #[error("pc {pc}: call to unknown helper {id}")]
    UnknownHelper { pc: usize, id: u64 },
    #[error("pc {pc}: callx target {target:#x} is not a function of this program")]
    BadCallTarget { pc: usize, target: u64 },
    #[error("pc {pc}: call depth exceeds {max} frames")]
    CallDepthExceeded { pc: usize, max: usize },
    #[error("pc {pc}: instruction budget exhausted after {executed} instructions")]
    BudgetExceeded { pc: usize, executed: u64 },
    #[error("pc {pc}: execution fell off the end of the program")]
    FellOffEnd { pc: usize },
    #[error("pc {pc}: jumped into the second slot of an lddw")]
    IntoLddwTail { pc: usize },
    /// A pseudo `lddw` (map fd, map value, BTF id, ...) that no resolver turned into a value.
    #[error("pc {pc}: lddw of a {what} needs a loaded object")]
    Unresolved { pc: usize, what: &'static str },
    #[error("pc {pc}: kfunc call (btf id {btf_id}) needs a loaded object")]
    Kfunc { pc: usize, btf_id: i32 },
    /// A load or store into a converted context (`__sk_buff`, `xdp_md`) that the
    /// kernel's verifier would refuse.
    #[error("pc {pc}: invalid {} of {size} bytes at context offset {off} ({field}): {reason}", if *.write { "write" } else { "read" })]
    CtxAccess { pc: usize, off: u32, size: u8, write: bool, field: &'static str, reason: &'static str },
    /// A helper implementation failed for its own reasons.
    #[error("pc {pc}: helper {id} failed: {reason}")]
    Helper { pc: usize, id: u32, reason: String },
}

impl VmError {
    /// The instruction the error is about, if it is a run-time error.
    pub fn pc(&self) -> Option<usize> {
        use VmError::*;
        match *self {
            EmptyProgram | Jump(_) => None,
            MalformedLddw { pc }
            | OutOfBounds { pc, .. }
            | ReadOnly { pc, .. }
            | UnknownHelper { pc, .. }
            | BadCallTarget { pc, .. }
            | CallDepthExceeded { pc, .. }
            | BudgetExceeded { pc, .. }
            | FellOffEnd { pc }
            | IntoLddwTail { pc }
            | Unresolved { pc, .. }
            | Kfunc { pc, .. }
            | CtxAccess { pc, .. }
            | Helper { pc, .. } => Some(pc),
        }
    }
}
