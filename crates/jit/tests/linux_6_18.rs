//! The instructions Linux added after RFC 9669 (`may_goto`, load-acquire,
//! store-release, `addr_space_cast`) give the interpreter's results on the JIT,
//! checked and unchecked.

#![allow(clippy::unwrap_used)]

use bpfbox_isa::{assemble, Syntax, MAY_GOTO_BUDGET};
use bpfbox_jit::{JitOptions, JitProgram};
use bpfbox_vm::{Region, RegionKind, Vm, VmOptions};

/// r0 of `src` (uBPF syntax) with `mem` as r1, on both engines; they must agree.
fn r0(src: &str, mem: &mut [u8]) -> u64 {
    let p = assemble(src, Syntax::Ubpf).unwrap();
    let vm = Vm::new(p.clone(), VmOptions::default()).unwrap();
    let jit = JitProgram::compile(&p, &JitOptions::default()).unwrap();
    let mut m2 = mem.to_vec();
    let a = vm.run(mem);
    let b = jit.run(&mut m2);
    assert_eq!(a, b, "{src}");
    assert_eq!(mem, &m2[..]);
    // Unchecked code gives the same answer for these in-bounds programs.
    let unchecked = JitProgram::compile(&p, &JitOptions { checked: false, ..Default::default() }).unwrap();
    let mut m3 = m2.clone();
    // SAFETY: the checked runs above proved every access in bounds (the programs are deterministic).
    let c = unsafe { unchecked.run_unchecked(&mut m3) };
    assert_eq!(b, c, "unchecked: {src}");
    a.unwrap().r0
}

#[test]
fn may_goto_budget_per_function_invocation() {
    assert_eq!(r0("mov %r0, 0\nL: may_goto done\nadd %r0, 1\nja L\ndone: exit", &mut []), MAY_GOTO_BUDGET);
    let two = "mov %r0, 0\nL: may_goto done\nmay_goto done\nadd %r0, 1\nja L\ndone: exit";
    assert_eq!(r0(two, &mut []), MAY_GOTO_BUDGET / 2);
    let calls = "mov %r6, 0\nA: may_goto out\ncall local f\nadd %r6, %r0\nmov %r1, %r6\nrsh %r1, 20\n\
                 jeq %r1, 0, A\nout: mov %r0, %r6\nexit\n\
                 f: mov %r0, 0\nB: may_goto ret\nadd %r0, 1\nja B\nret: exit";
    assert_eq!(r0(calls, &mut []), MAY_GOTO_BUDGET);
    assert_eq!(r0("mov %r0, 3\nmay_goto +0\nexit", &mut []), 3);
    // A bounded loop whose condition is also `can_loop`.
    let bounded = "mov %r0, 0\nmov %r1, 10\nL: may_goto done\nadd %r0, 2\nsub %r1, 1\njne %r1, 0, L\ndone: exit";
    assert_eq!(r0(bounded, &mut []), 20);
}

#[test]
fn acquire_release_and_casts() {
    let mut mem = [0x11u8, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0, 0, 0, 0, 0, 0, 0, 0];
    assert_eq!(r0("ldxacqdw %r0, [%r1+0]\nexit", &mut mem), 0x8877_6655_4433_2211);
    assert_eq!(r0("ldxacqw %r0, [%r1+4]\nexit", &mut mem), 0x8877_6655);
    assert_eq!(r0("ldxacqh %r0, [%r1+2]\nexit", &mut mem), 0x4433);
    assert_eq!(r0("ldxacqb %r0, [%r1+7]\nexit", &mut mem), 0x88);
    assert_eq!(r0("ldxacqw %r0, [%r1+1]\nexit", &mut mem), 0x5544_3322, "misaligned: a plain load");
    let st = "lddw %r2, 0x0102030405060708\nstxreldw [%r1+8], %r2\nstxrelb [%r1+0], %r2\nstxrelh [%r1+2], %r2\n\
              stxrelw [%r1+4], %r2\nldxdw %r0, [%r1+8]\nexit";
    assert_eq!(r0(st, &mut mem), 0x0102_0304_0506_0708);
    assert_eq!(mem[..8], [0x08, 0x22, 0x08, 0x07, 0x08, 0x07, 0x06, 0x05]);
    let stack = "mov %r1, 0x55\nstxrelb [%r10-1], %r1\nldxacqb %r0, [%r10-1]\nexit";
    assert_eq!(r0(stack, &mut []), 0x55);
    let cast = "lddw %r1, 0xabcdef0012345678\naddr_space_cast %r0, %r1, 0, 1\naddr_space_cast %r2, %r1, 1, 0\n\
                sub %r0, %r2\nadd %r0, %r2\nexit";
    assert_eq!(r0(cast, &mut []), 0x1234_5678);
    // Faults name the same pc on both engines.
    let p = assemble("mov %r2, 1\nstxrelw [%r1+0], %r2\nexit", Syntax::Ubpf).unwrap();
    let data = [0u8; 4];
    let ro = Region::from_ref(RegionKind::Ctx, &data);
    let vm = Vm::new(p.clone(), VmOptions::default()).unwrap().run_with([ro.start(), 0, 0, 0, 0], &[ro], &mut ());
    let jit =
        JitProgram::compile(&p, &JitOptions::default()).unwrap().run_with([ro.start(), 0, 0, 0, 0], &[ro], &mut ());
    assert!(vm.is_err());
    assert_eq!(vm, jit);
}
