//! The translator's rewrites of common clang shapes, held to the interpreter's
//! results: big-endian 16-bit reads made of two byte loads (folded into one load
//! in unchecked code), and loop counters compared after their increment.

#![allow(clippy::unwrap_used)]

use bpfbox_isa::{assemble, Syntax};
use bpfbox_jit::{JitOptions, JitProgram};
use bpfbox_vm::{Vm, VmOptions};

const MEM: [u8; 8] = [0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0];

fn unchecked() -> JitOptions {
    JitOptions { checked: false, count_insns: false, ..Default::default() }
}

/// r0 after running `src` on the interpreter, the checked JIT and the unchecked
/// JIT (which must all agree on it and on memory); and how many halfword reads the
/// unchecked code folded.
fn run_all(src: &str) -> (u64, usize) {
    let insns = assemble(src, Syntax::Ubpf).unwrap();
    let vm = Vm::new(insns.clone(), VmOptions::default()).unwrap();
    let mut m0 = MEM;
    let want = vm.run(&mut m0).unwrap().r0;
    let checked = JitProgram::compile(&insns, &JitOptions::default()).unwrap();
    let mut m1 = MEM;
    assert_eq!(checked.run(&mut m1).unwrap().r0, want, "checked JIT, {src}");
    assert_eq!(m1, m0, "checked JIT memory, {src}");
    let fast = JitProgram::compile(&insns, &unchecked()).unwrap();
    let mut m2 = MEM;
    // SAFETY: every program here reads and writes only MEM (offsets < 8).
    assert_eq!(unsafe { fast.run_unchecked(&mut m2) }.unwrap().r0, want, "unchecked JIT, {src}");
    assert_eq!(m2, m0, "unchecked JIT memory, {src}");
    assert_eq!(checked.folded_reads(), 0, "checked code folds nothing");
    (want, fast.folded_reads())
}

#[test]
fn big_endian_halfwords_read_byte_by_byte() {
    let cases = [
        // clang's shape: low byte first, then the high byte shifted (32-bit ops).
        ("ldxb %r0, [%r1+1]\nldxb %r2, [%r1+0]\nlsh32 %r2, 8\nor32 %r2, %r0\nmov %r0, %r2\nexit", 0x1234),
        // 64-bit shift and or.
        ("ldxb %r0, [%r1+3]\nldxb %r2, [%r1+2]\nlsh %r2, 8\nor %r2, %r0\nmov %r0, %r2\nexit", 0x5678),
        // The shifted byte as the second operand.
        ("ldxb %r2, [%r1+4]\nlsh32 %r2, 8\nldxb %r0, [%r1+5]\nor32 %r0, %r2\nexit", 0x9abc),
        // The low byte still used afterwards.
        ("ldxb %r3, [%r1+7]\nldxb %r2, [%r1+6]\nlsh32 %r2, 8\nor32 %r2, %r3\nmov %r0, %r2\nadd %r0, %r3\nexit", 0xdef0 + 0xf0),
        // The result stored back and reread.
        ("ldxb %r3, [%r1+1]\nldxb %r2, [%r1+0]\nlsh32 %r2, 8\nor32 %r2, %r3\nstxh [%r1+6], %r2\nldxdw %r0, [%r1+0]\nexit", 0x1234_bc9a_7856_3412),
    ];
    for (src, want) in cases {
        assert_eq!(run_all(src), (want, 1), "{src}");
    }
}

#[test]
fn big_endian_words_read_byte_by_byte() {
    let cases = [
        // be32 as clang shapes it: two halves, then together.
        (
            "ldxb %r2, [%r1+0]\nlsh32 %r2, 24\nldxb %r3, [%r1+1]\nlsh32 %r3, 16\nor32 %r3, %r2\nldxb %r4, [%r1+2]\nlsh32 %r4, 8\nldxb %r0, [%r1+3]\nor32 %r0, %r4\nor32 %r0, %r3\nexit",
            0x1234_5678,
        ),
        // One byte at a time onto an accumulator, 64-bit operations.
        (
            "ldxb %r0, [%r1+4]\nlsh %r0, 8\nldxb %r2, [%r1+5]\nor %r0, %r2\nlsh %r0, 8\nldxb %r2, [%r1+6]\nor %r0, %r2\nlsh %r0, 8\nldxb %r2, [%r1+7]\nor %r0, %r2\nexit",
            0,
        ),
    ];
    // The accumulator shape shifts an `or`, which is not folded (only shifted
    // bytes are); it must still compute the same.
    let (v, folds) = run_all(cases[0].0);
    assert_eq!((v, folds), (cases[0].1, 1), "{}", cases[0].0);
    assert_eq!(run_all(cases[1].0).0, 0x9abc_def0);
}

#[test]
fn little_endian_reads_byte_by_byte() {
    // clang's reads of packed fields: the high byte from the higher address.
    let cases = [
        ("ldxb %r0, [%r1+0]\nldxb %r2, [%r1+1]\nlsh32 %r2, 8\nor32 %r2, %r0\nmov %r0, %r2\nexit", 0x3412),
        ("ldxb %r5, [%r1+4]\nldxb %r4, [%r1+5]\nlsh %r4, 8\nor %r4, %r5\nmov %r0, %r4\nexit", 0xbc9a),
        (
            "ldxb %r2, [%r1+3]\nlsh32 %r2, 24\nldxb %r3, [%r1+2]\nlsh32 %r3, 16\nor32 %r3, %r2\nldxb %r4, [%r1+1]\nlsh32 %r4, 8\nldxb %r0, [%r1+0]\nor32 %r0, %r4\nor32 %r0, %r3\nexit",
            0x7856_3412,
        ),
    ];
    for (src, want) in cases {
        assert_eq!(run_all(src), (want, 1), "{src}");
    }
    // A store between: not folded.
    let src = "ldxb %r0, [%r1+0]\nstb [%r1+0], 0\nldxb %r2, [%r1+1]\nlsh32 %r2, 8\nor32 %r2, %r0\nmov %r0, %r2\nexit";
    assert_eq!(run_all(src), (0x3412, 0));
}

#[test]
fn only_adjacent_bytes_are_folded() {
    // Bytes 0 and 2 are not a halfword; a shift other than 8 is not a read; a
    // register changed between the loads is another base.
    let cases = [
        ("ldxb %r0, [%r1+2]\nldxb %r2, [%r1+0]\nlsh32 %r2, 8\nor32 %r2, %r0\nmov %r0, %r2\nexit", 0x1256),
        ("ldxb %r0, [%r1+1]\nldxb %r2, [%r1+0]\nlsh32 %r2, 4\nor32 %r2, %r0\nmov %r0, %r2\nexit", 0x134),
        ("ldxb %r0, [%r1+2]\nadd %r1, 1\nldxb %r2, [%r1+0]\nlsh32 %r2, 8\nor32 %r2, %r0\nmov %r0, %r2\nexit", 0x3456),
        // Memory written between the byte loads and the `or`: the bytes read before
        // the store count, not what a wide load at the `or` would read.
        ("ldxb %r0, [%r1+1]\nstb [%r1+1], 0\nldxb %r2, [%r1+0]\nlsh32 %r2, 8\nor32 %r2, %r0\nmov %r0, %r2\nexit", 0x1234),
        ("ldxb %r0, [%r1+1]\nldxb %r2, [%r1+0]\nsth [%r1+0], 0\nlsh32 %r2, 8\nor32 %r2, %r0\nmov %r0, %r2\nexit", 0x1234),
        // Or by an atomic.
        ("ldxb %r0, [%r1+1]\nldxb %r2, [%r1+0]\nmov %r3, 1\nlock add [%r1+0], %r3\nlsh32 %r2, 8\nor32 %r2, %r0\nmov %r0, %r2\nexit", 0x1234),
    ];
    for (src, want) in cases {
        assert_eq!(run_all(src), (want, 0), "{src}");
    }
}

#[test]
fn loop_counters_compared_after_their_increment() {
    // clang's loop shape: copy the counter, increment it, compare the copy.
    let src = "mov %r0, 0\nmov %r3, 0\nL: mov %r5, %r3\nadd %r3, 2\nadd %r0, %r5\njlt %r5, 100, L\nadd %r0, %r3\nexit";
    assert_eq!(run_all(src).0, (0..=100).step_by(2).sum::<u64>() + 102);
    // The increment wraps: the copy (u64::MAX) is not below 5, the new value (1) is.
    let src = "mov %r0, 0\nmov %r3, -1\nmov %r5, %r3\nadd %r3, 2\njlt %r5, 5, +1\nmov %r0, 1\nexit";
    assert_eq!(run_all(src).0, 1);
    // 32-bit, the increment made on a copy (`w9 = w8; w9 += 1; if w8 < 7`).
    let src = "mov %r0, 0\nmov32 %r9, 0\nL: mov32 %r8, %r9\nmov32 %r9, %r8\nadd32 %r9, 1\nadd %r0, %r8\njlt32 %r8, 7, L\nexit";
    assert_eq!(run_all(src).0, (0..=7).sum::<u64>());
    // 32-bit wrap: the copy is 0xffffffff, the increment 0.
    let src = "mov %r0, 0\nmov32 %r8, -1\nmov32 %r9, %r8\nadd32 %r9, 1\njlt32 %r8, 7, +1\nmov %r0, 1\nexit";
    assert_eq!(run_all(src).0, 1);
    // Signed compare, negative increment.
    let src = "mov %r0, 0\nmov %r3, 10\nL: mov %r5, %r3\nadd %r3, -3\nadd %r0, 1\njsgt %r5, -5, L\nexit";
    assert_eq!(run_all(src).0, 6);
}
