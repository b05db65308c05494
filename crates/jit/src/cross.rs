//! Code for another architecture: the same translation, for a target given by its
//! triple, linked for a chosen load address. It exists to test the JIT's other
//! backends where their machines run only under an emulator (`tests/cross.rs` runs
//! AArch64 code under `qemu-aarch64`): the code runs without bpfbox's runtime, so
//! only unchecked programs that call no helper and count no instructions qualify.
//!
//! The main function's ABI is the host's: `fn(ctx, fp, r1, r2, r3, r4, r5) -> (r0,
//! status)` in the target's C calling convention, `ctx` pointing at the bytes of
//! [`ctx_image`], `fp` one past the top of the [`STACK_AREA`] bytes of stack frames.
//! `status` 0 is a normal return; anything else means the program failed (a call too
//! deep, falling off the end...), which on the host the runtime would report.
//!
//! AArch64 needs the crate feature `cross` (always on in this crate's tests), which
//! compiles in Cranelift's AArch64 backend; without it `compile_for` says the target
//! is not supported.

use crate::codegen::{self, Cfg};
use crate::runtime::JitCtx;
use crate::{analysis, analysis_input, program_vm, JitError, JitOptions};
use bpfbox_isa::{CallTarget, Insn};
use bpfbox_vm::{MAX_CALL_FRAMES, STACK_SIZE};

/// Bytes of stack frames a run needs (all [`MAX_CALL_FRAMES`] frames).
pub const STACK_AREA: usize = MAX_CALL_FRAMES * STACK_SIZE;

/// A program compiled for another architecture.
#[derive(Debug, Clone)]
pub struct CrossCode {
    /// Machine code, linked to be loaded at the `base` given to [`compile_for`].
    pub code: Vec<u8>,
    /// Address of the main function.
    pub entry: u64,
}

/// Compile `insns` for `triple` (such as `aarch64-unknown-linux-gnu`), linked for
/// loading at `base`. `opts` must ask for unchecked code without instruction
/// counting; programs that call helpers or take function addresses are refused.
pub fn compile_for(triple: &str, insns: &[Insn], opts: &JitOptions, base: u64) -> Result<CrossCode, JitError> {
    if opts.checked || opts.count_insns {
        return Err(JitError::Codegen("cross compilation makes unchecked code without counting".into()));
    }
    let vm = program_vm(insns, opts)?;
    let prog = analysis_input(&vm, opts)?;
    if let Some(pc) = prog.insns.iter().position(|i| {
        matches!(i, Insn::Call(CallTarget::Helper(_) | CallTarget::Kfunc { .. }) | Insn::CallX { .. })
            || matches!(i, Insn::LoadPacket { .. })
    }) {
        return Err(JitError::Codegen(format!("instruction {pc} needs bpfbox's runtime, which cross code has not")));
    }
    let funcs = analysis::analyze(&prog);
    let cfg = Cfg { checked: false, count: false, regalloc: opts.regalloc };
    let isa = codegen::target_isa(triple, opts.regalloc)?;
    let (mut image, _, _) = codegen::translate(&prog, &funcs, &opts.helpers, cfg, &*isa)?;
    image.link(base)?;
    Ok(CrossCode { entry: base + image.start(0) as u64, code: image.bytes })
}

/// The run context of a run whose stack frames end at `stack_top` (the `fp`
/// argument of the main function), all of them zeroed: the bytes to place where the
/// `ctx` argument points.
pub fn ctx_image(stack_top: u64) -> Vec<u8> {
    let ctx = JitCtx::new(stack_top, u64::MAX, std::ptr::null_mut());
    let mut ctx = JitCtx { zeroed_lo: stack_top - STACK_AREA as u64, ..ctx };
    // SAFETY: `JitCtx` is `repr(C)` of u64s and a pointer: every byte is initialized.
    let bytes =
        unsafe { std::slice::from_raw_parts((&mut ctx as *mut JitCtx).cast::<u8>(), std::mem::size_of::<JitCtx>()) };
    bytes.to_vec()
}
