//! Verified programs in a `Runtime`: unchecked code on both engines, except for the
//! converted (ctx) accesses, which still reach the run's context.

#![allow(clippy::unwrap_used)]

use bpfbox_isa::{assemble, Insn, Syntax};
use bpfbox_jit::JitEngine;
use bpfbox_vm::{Runtime, RuntimeOptions, TestRunInput};
use std::sync::Arc;

const XDP: u32 = 6;

/// XDP: the packet's byte 15 if the packet has 16 bytes, else 0. Slots 0 and 1 read
/// `xdp_md` (ctx, converted); slot 5 reads the packet (plain memory).
const SRC: &str = "
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
mov %r4, %r2
add %r4, 16
jgt %r4, %r3, +2
ldxb %r0, [%r2+15]
exit
mov %r0, 0
exit";

fn insns() -> Vec<Insn> {
    assemble(SRC, Syntax::Ubpf).unwrap()
}

fn runtime(jit: bool) -> Runtime {
    let mut opts = RuntimeOptions::deterministic(1);
    if jit {
        opts.engine = Some(Arc::new(JitEngine));
    }
    Runtime::new(opts)
}

#[test]
fn verified_programs_read_ctx_through_the_context_and_the_packet_directly() {
    let mut pkt = vec![0u8; 20];
    pkt[15] = 0x86;
    for jit in [false, true] {
        let rt = runtime(jit);
        // SAFETY: the program above is accepted by the kernel's and bpfbox's
        // verifiers as XDP, and slots 0 and 1 are its only ctx accesses.
        let id = unsafe { rt.load_verified_program("p", XDP, None, insns(), &[], &[0, 1]) }.unwrap();
        let checked = rt.load_program("q", XDP, insns(), &[]).unwrap();
        for (data, want) in [(pkt.clone(), 0x86), (vec![0u8; 15], 0)] {
            let input = TestRunInput { data_in: data, ..Default::default() };
            let out = rt.test_run(id, &input).unwrap();
            assert_eq!(out.retval, want, "jit={jit}");
            assert_eq!(rt.test_run(checked, &input).unwrap().retval, want, "jit={jit}");
        }
    }
}

#[test]
fn converted_atomics_fall_back_to_checked_runs() {
    // `lock *(u32 *)(r1 + 0) += r2` on the context: rejected by verifiers, and not
    // convertible; the runtime must then run the program checked, which faults
    // cleanly instead of writing through the context's address.
    let src = "r2 = 1\nlock *(u32 *)(r1 + 0) += w2\nr0 = 0\nexit";
    let insns = assemble(src, Syntax::Llvm).unwrap();
    for jit in [false, true] {
        let rt = runtime(jit);
        // SAFETY: deliberately a false promise about slot 1, which the runtime must not
        // trust for atomics (it loads the program checked).
        let id = unsafe { rt.load_verified_program("p", XDP, None, insns.clone(), &[], &[1]) }.unwrap();
        let input = TestRunInput { data_in: vec![0u8; 20], ..Default::default() };
        assert!(rt.test_run(id, &input).is_err(), "jit={jit}");
    }
}
