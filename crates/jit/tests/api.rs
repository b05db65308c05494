//! Run-time interfaces the corpus tests do not reach: environments with virtual
//! memory, helpers that add regions or call back into the program, panicking
//! helpers, several threads, and the unchecked-mode contract. Each case runs on
//! both engines and compares.

#![allow(clippy::unwrap_used)]

use bpfbox_abi::{ArgType, HelperProto, RetType};
use bpfbox_isa::{assemble, Insn, Syntax};
use bpfbox_jit::{JitOptions, JitProgram};
use bpfbox_vm::{
    AccessKind, HelperCtx, HelperOutcome, HelperTable, Region, RegionKind, RunEnv, RunOutcome, VirtualAccess, Vm,
    VmError, VmOptions,
};
use std::any::Any;

fn prog(src: &str) -> Vec<Insn> {
    assemble(src, Syntax::Ubpf).unwrap()
}

fn both(src: &str, helpers: HelperTable) -> (Vm, JitProgram) {
    let vm = Vm::new(prog(src), VmOptions { helpers: helpers.clone(), ..Default::default() }).unwrap();
    let jit = JitProgram::compile(&prog(src), &JitOptions { helpers, ..Default::default() }).unwrap();
    (vm, jit)
}

/// An environment whose context lives at a virtual address: loads at 0x1000+k give
/// `k * 3` (a 32-bit field may give a 64-bit value), stores are recorded, atomics refused.
#[derive(Default)]
struct VirtEnv {
    stores: Vec<(u64, u8, u64)>,
}

impl RunEnv for VirtEnv {
    fn as_any(&mut self) -> &mut dyn Any {
        self
    }
    fn virtual_access(&mut self, a: VirtualAccess) -> Option<Result<u64, VmError>> {
        if !(0x1000..0x1100).contains(&a.addr) {
            return None;
        }
        Some(match a.kind {
            AccessKind::Load { .. } => Ok(if a.size == 4 { 0x1_0000_0000 + a.addr } else { (a.addr - 0x1000) * 3 }),
            AccessKind::Store(v) => {
                self.stores.push((a.addr, a.size, v));
                Ok(0)
            }
            AccessKind::Atomic => Err(VmError::Helper { pc: a.pc, id: 0, reason: "no atomics on ctx".into() }),
        })
    }
}

#[test]
fn virtual_memory_through_the_environment() {
    let src = "ldxb %r0, [%r1+5]\nldxw %r2, [%r1+8]\nadd %r0, %r2\nldxsb %r3, [%r1+0x50]\nadd %r0, %r3\nstxdw [%r1+16], %r0\nsth [%r1+2], 7\nexit";
    let (vm, jit) = both(src, HelperTable::empty());
    let (mut e1, mut e2) = (VirtEnv::default(), VirtEnv::default());
    let a = vm.run_env([0x1000, 0, 0, 0, 0], &[], &mut e1, None);
    let b = jit.run_env([0x1000, 0, 0, 0, 0], &[], &mut e2, None);
    assert_eq!(a, b);
    assert_eq!(e1.stores, e2.stores);
    assert_eq!(e1.stores.len(), 2);
    // Atomics are refused with the environment's reason; others fall back to OutOfBounds.
    let (vm, jit) = both("mov %r2, 1\nlock add [%r1+0], %r2\nexit", HelperTable::empty());
    let a = vm.run_env([0x1000, 0, 0, 0, 0], &[], &mut VirtEnv::default(), None);
    assert!(matches!(a, Err(VmError::Helper { pc: 1, .. })), "{a:?}");
    assert_eq!(a, jit.run_env([0x1000, 0, 0, 0, 0], &[], &mut VirtEnv::default(), None));
    let (vm, jit) = both("ldxb %r0, [%r1+0]\nexit", HelperTable::empty());
    let a = vm.run_env([0x9000, 0, 0, 0, 0], &[], &mut VirtEnv::default(), Some(10));
    assert_eq!(a, Err(VmError::OutOfBounds { pc: 0, addr: 0x9000, size: 1, write: false }));
    assert_eq!(a, jit.run_env([0x9000, 0, 0, 0, 0], &[], &mut VirtEnv::default(), Some(10)));
}

/// `loop(n, func, ctx)`: calls `func(i, ctx)` for i in 0..n, sums the results
/// (like `bpf_loop`); callbacks run in the interpreter, sharing frames and budget.
fn loop_helper(ctx: &mut HelperCtx<'_>, a: [u64; 5]) -> Result<HelperOutcome, VmError> {
    let mut sum = 0u64;
    for i in 0..a[0] {
        sum = sum.wrapping_add(ctx.call_function(a[1], [i, a[2], 0, 0, 0])?);
    }
    Ok(HelperOutcome::Return(sum))
}

/// `value()`: hands the program a 16-byte region (as `map_lookup_elem` does).
fn value_helper(ctx: &mut HelperCtx<'_>, _: [u64; 5]) -> Result<HelperOutcome, VmError> {
    let buf: &'static mut [u8; 16] = Box::leak(Box::new([3u8; 16]));
    let r = Region::from_mut(RegionKind::MapValue, buf);
    let start = r.start();
    // SAFETY: the buffer is leaked: it outlives the run.
    unsafe { ctx.mem().add_region(r) };
    Ok(HelperOutcome::Return(start))
}

fn table() -> HelperTable {
    let mut t = HelperTable::conformance();
    let any = [ArgType::ANYTHING; 4];
    t.register(HelperProto::new(181, "loop", RetType::INTEGER, &any), loop_helper);
    t.register(HelperProto::new(1, "value", RetType::INTEGER, &[]), value_helper);
    t
}

#[test]
fn helper_callbacks_and_added_regions() {
    // Callback f(i, p) = i * 10 + *(u8 *)p, with p pointing at the caller's stack.
    let src = "
        stb [%r10-1], 5
        mov %r1, 4
        lddw %r2, func(f)
        mov %r3, %r10
        sub %r3, 1
        call 181
        mov %r6, %r0
        call 1
        ldxb %r1, [%r0+15]
        stb [%r0+0], 9
        ldxb %r2, [%r0+0]
        add %r6, %r1
        add %r6, %r2
        mov %r0, %r6
        exit
    f:
        ldxb %r0, [%r2+0]
        mul %r1, 10
        add %r0, %r1
        exit";
    let (vm, jit) = both(src, table());
    let a = vm.run(&mut []);
    assert_eq!(a.as_ref().map(|o| o.r0), Ok(60 + 4 * 5 + 3 + 9));
    assert_eq!(jit.run(&mut []), a);
    // Unchecked: the same.
    let un = JitProgram::compile(&prog(src), &JitOptions { checked: false, helpers: table(), ..Default::default() })
        .unwrap();
    // SAFETY: the checked run above succeeded; the program is deterministic.
    assert_eq!(unsafe { un.run_unchecked(&mut []) }, a);
    // The callback's budget is the run's.
    let vm = Vm::new(prog(src), VmOptions { helpers: table(), max_insns: 20, ..Default::default() }).unwrap();
    let jit =
        JitProgram::compile(&prog(src), &JitOptions { helpers: table(), max_insns: 20, ..Default::default() }).unwrap();
    let a = vm.run(&mut []);
    assert!(matches!(a, Err(VmError::BudgetExceeded { .. })), "{a:?}");
    assert_eq!(jit.run(&mut []), a);
}

#[test]
fn helper_panics_reach_the_caller() {
    fn boom(_: &mut HelperCtx<'_>, _: [u64; 5]) -> Result<HelperOutcome, VmError> {
        panic!("helper exploded")
    }
    let mut t = HelperTable::empty();
    t.register(HelperProto::new(7, "boom", RetType::INTEGER, &[]), boom);
    let (_, jit) = both("call 7\nexit", t);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| jit.run(&mut [])));
    let p = r.expect_err("the panic propagates");
    assert_eq!(p.downcast_ref::<&str>(), Some(&"helper exploded"));
    // The program is still usable.
    let (_, jit) = both("mov %r0, 3\nexit", HelperTable::empty());
    assert_eq!(jit.run(&mut []).map(|o| o.r0), Ok(3));
}

#[test]
#[should_panic(expected = "compiled unchecked")]
fn safe_runs_of_unchecked_code_are_refused() {
    let p =
        JitProgram::compile(&prog("mov %r0, 1\nexit"), &JitOptions { checked: false, ..Default::default() }).unwrap();
    let _ = p.run(&mut []);
}

#[test]
fn programs_are_shared_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<JitProgram>();
    let src = "mov %r0, 0\nL: ldxb %r3, [%r1+0]\nadd %r0, %r3\nadd %r1, 1\nsub %r2, 1\njne %r2, 0, L\nexit";
    let (_, jit) = both(src, HelperTable::empty());
    std::thread::scope(|s| {
        for t in 0..4u8 {
            let jit = &jit;
            s.spawn(move || {
                for _ in 0..200 {
                    let mut mem = vec![t; 100];
                    assert_eq!(jit.run(&mut mem).map(|o| o.r0), Ok(100 * t as u64));
                }
            });
        }
    });
}

#[test]
fn errors_and_counts_match_the_interpreter() {
    let cases: &[(&str, u64)] = &[
        ("L: ja L\nexit", 1000),
        ("mov %r0, 1\nmov %r0, 2\nmov %r0, 3\nL: add %r0, 1\nja L", 7),
        ("mov %r0, 1\nexit", 1),
        ("mov %r0, 1\nexit", 2),
        ("stdw [%r10-8], 1\nldxdw %r0, [%r10-8]\nstdw [%r10+0], 1\nexit", 100),
        ("call local f\nexit\nf: call local f\nexit", 100),
        ("mov %r1, 7\nmov %r0, 0\nL: add %r0, %r1\nsub %r1, 1\njne %r1, 0, L\nexit", 1_000_000),
    ];
    for &(src, max) in cases {
        let vm = Vm::new(prog(src), VmOptions { max_insns: max, ..Default::default() }).unwrap();
        let jit = JitProgram::compile(&prog(src), &JitOptions { max_insns: max, ..Default::default() }).unwrap();
        let a = vm.run(&mut []);
        let b = jit.run(&mut []);
        match (&a, &b) {
            (
                Err(VmError::OutOfBounds { pc, size, write, .. }),
                Err(VmError::OutOfBounds { pc: p, size: s, write: w, .. }),
            ) => {
                assert_eq!((pc, size, write), (p, s, w), "{src}")
            }
            _ => assert_eq!(a, b, "{src} (max {max})"),
        }
    }
    // A per-run budget.
    let (vm, jit) = both("L: ja L\nexit", HelperTable::empty());
    let mut e = VirtEnv::default();
    assert_eq!(jit.run_env([0; 5], &[], &mut e, Some(77)), vm.run_env([0; 5], &[], &mut e, Some(77)));
    assert_eq!(jit.run_env([0; 5], &[], &mut e, Some(77)), Err(VmError::BudgetExceeded { pc: 0, executed: 77 }));
    // Counting off (unchecked): no count, no budget.
    let p = JitProgram::compile(
        &prog("mov %r0, 5\nexit"),
        &JitOptions { checked: false, count_insns: false, ..Default::default() },
    )
    .unwrap();
    // SAFETY: no memory accesses.
    assert_eq!(unsafe { p.run_unchecked(&mut []) }, Ok(RunOutcome { r0: 5, insns_executed: 0 }));
}

/// The budget running out at each instruction of blocks with checked accesses (the
/// check is folded into the access's guard): same error, count and memory as the
/// interpreter, with accesses that hit the fast path and ones that take the slow path.
#[test]
fn budget_at_every_checked_access_matches_the_interpreter() {
    // r1 = packet (16 bytes). Loads and stores through r1 and a copy of r10 (both
    // guarded), an atomic, an out-of-bounds load at the end.
    let src = "mov %r6, %r10\n\
               ldxw %r0, [%r1+0]\n\
               stxw [%r1+4], %r0\n\
               add %r0, 1\n\
               stxdw [%r6-8], %r0\n\
               ldxdw %r2, [%r6-8]\n\
               stw [%r1+8], 7\n\
               mov %r3, 1\n\
               lock add [%r6-8], %r3\n\
               add %r0, %r2\n\
               ldxb %r4, [%r1+15]\n\
               ldxb %r4, [%r1+16]\n\
               exit";
    let insns = prog(src);
    for max in 1..=insns.len() as u64 + 1 {
        let packet: Vec<u8> = (1..=16).collect();
        let vm = Vm::new(insns.clone(), VmOptions { max_insns: max, ..Default::default() }).unwrap();
        let jit = JitProgram::compile(&insns, &JitOptions { max_insns: max, ..Default::default() }).unwrap();
        let (mut m1, mut m2) = (packet.clone(), packet.clone());
        let a = vm.run(&mut m1);
        let b = jit.run(&mut m2);
        match (&a, &b) {
            (Err(VmError::OutOfBounds { pc, .. }), Err(VmError::OutOfBounds { pc: p, .. })) => {
                assert_eq!(pc, p, "max {max}")
            }
            _ => assert_eq!(a, b, "max {max}"),
        }
        assert_eq!(m1, m2, "memory after a run with max {max}");
        if max <= 11 {
            assert!(matches!(b, Err(VmError::BudgetExceeded { .. })), "max {max}: {b:?}");
        }
    }
}

/// Unchecked single-function programs keep r10-based stack slots in registers: the
/// slots must still behave as memory does (sizes, truncation on store, signed loads,
/// the zeroed frame, overlapping accesses of other sizes left in memory), and a
/// program that lets r10 escape keeps its whole frame in memory.
#[test]
fn stack_slots_in_registers_behave_as_memory() {
    let cases = [
        // Truncating stores, zero- and sign-extending loads, a never-written slot (0).
        "mov %r1, -2\n\
         stxb [%r10-1], %r1\n\
         stxh [%r10-4], %r1\n\
         stxw [%r10-8], %r1\n\
         stxdw [%r10-16], %r1\n\
         ldxb %r2, [%r10-1]\n\
         ldxsb %r3, [%r10-1]\n\
         ldxh %r4, [%r10-4]\n\
         ldxsh %r5, [%r10-4]\n\
         ldxw %r6, [%r10-8]\n\
         ldxsw %r7, [%r10-8]\n\
         ldxdw %r8, [%r10-16]\n\
         ldxdw %r9, [%r10-32]\n\
         mov %r0, %r2\n\
         xor %r0, %r3\n\
         lsh %r0, 3\n\
         xor %r0, %r4\n\
         lsh %r0, 3\n\
         xor %r0, %r5\n\
         lsh %r0, 3\n\
         xor %r0, %r6\n\
         add %r0, %r7\n\
         add %r0, %r8\n\
         add %r0, %r9\n\
         exit",
        // Store immediates; a slot written in a loop; overlapping slots (a word
        // written, its bytes read back) stay in memory.
        "stw [%r10-8], 0x11223344\n\
         stdw [%r10-24], -7\n\
         mov %r1, 0\n\
         ldxw %r2, [%r10-12]\n\
         add %r2, %r1\n\
         stxw [%r10-12], %r2\n\
         add %r1, 1\n\
         jlt %r1, 10, -5\n\
         ldxb %r3, [%r10-7]\n\
         ldxh %r4, [%r10-6]\n\
         ldxsw %r5, [%r10-24]\n\
         ldxw %r0, [%r10-12]\n\
         lsh %r0, 8\n\
         add %r0, %r3\n\
         lsh %r0, 16\n\
         add %r0, %r4\n\
         add %r0, %r5\n\
         exit",
        // r10 escapes: the frame stays in memory.
        "mov %r1, %r10\n\
         stw [%r10-4], 9\n\
         ldxw %r0, [%r1-4]\n\
         exit",
    ];
    for src in cases {
        let vm = Vm::new(prog(src), VmOptions::default()).unwrap();
        let want = vm.run(&mut []).unwrap().r0;
        for count_insns in [false, true] {
            let jit =
                JitProgram::compile(&prog(src), &JitOptions { checked: false, count_insns, ..Default::default() })
                    .unwrap();
            // SAFETY: the programs only access their own frame.
            let got = unsafe { jit.run_unchecked(&mut []) }.unwrap().r0;
            assert_eq!(got, want, "count_insns {count_insns}\n{src}");
        }
    }
}
