//! uBPF syntax: encodings of representative lines and one-line errors for bad input.

#![allow(clippy::unwrap_used)]

use bpfbox_isa::{encode_program, ubpf};

fn hex(text: &str) -> String {
    let insns = ubpf::assemble(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    encode_program(&insns).iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join("")
}

fn err(text: &str) -> String {
    match ubpf::assemble(text) {
        Ok(p) => panic!("{text:?} assembled to {p:?}, expected an error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn encodings() {
    assert_eq!(hex("mov32 %r0, 1"), "b400000001000000");
    assert_eq!(hex("add %r1, %r2"), "0f21000000000000");
    assert_eq!(hex("ldxh %r3, [%r1+12]"), "69130c0000000000");
    assert_eq!(hex("stxdw [%r10-8], %r1"), "7b1af8ff00000000");
    assert_eq!(hex("stw [%r1+4], -1"), "62010400ffffffff");
    assert_eq!(hex("sdiv32 %r0, 3"), "3400010003000000");
    assert_eq!(hex("smod %r0, %r1"), "9f10010000000000");
    assert_eq!(hex("movsx1664 %r0, %r1"), "bf10100000000000");
    assert_eq!(hex("ldxsb %r0, [%r10-1]"), "91a0ffff00000000");
    assert_eq!(hex("be16 %r0"), "dc00000010000000");
    assert_eq!(hex("le64 %r0"), "d400000040000000");
    assert_eq!(hex("bswap32 %r0"), "d700000020000000");
    assert_eq!(hex("swap16 %r0"), "d700000010000000");
    assert_eq!(hex("neg32 %r0"), "8400000000000000");
    assert_eq!(hex("lock fetch add [%r10-8], %r1"), "db1af8ff01000000");
    assert_eq!(hex("lock add32 [%r10-4], %r1"), "c31afcff00000000");
    assert_eq!(hex("lock cmpxchg [%r10-8], %r1"), "db1af8fff1000000");
    assert_eq!(hex("lock xchg32 [%r10-8], %r1"), "c31af8ffe1000000");
    assert_eq!(hex("lddw %r0, 0x1122334455667788"), "18000000887766550000000044332211");
    assert_eq!(hex("ja +1\nexit\nexit"), "05000100000000009500000000000000950000000000000000"[..48].to_string());
    assert_eq!(hex("call 5"), "8500000005000000");
    assert_eq!(hex("call %r2"), "8d02000000000000");
    assert_eq!(hex("ldabsh 12"), "280000000c000000");
    assert_eq!(hex("may_goto -2"), "e500feff00000000");
    assert_eq!(hex("addr_space_cast %r1, %r2, 0, 1"), "bf21010001000000");
    assert_eq!(hex("ldxacqh %r0, [%r1+2]"), "cb10020000010000");
    assert_eq!(hex("stxrelw [%r1-4], %r3"), "c331fcff10010000");
}

#[test]
fn labels_and_implicit_exit() {
    // `exit` names the first exit when no label of that name exists.
    assert_eq!(hex("jeq %r1, 0, exit\nmov %r0, 1\nexit"), "1501010000000000b7000000010000009500000000000000");
    assert_eq!(hex("ja32 L\nL:\nexit"), "06000000000000009500000000000000");
    assert_eq!(
        hex("call local f\nexit\nf:\nexit"),
        "85100000010000009500000000000000".to_string() + "9500000000000000"
    );
}

#[test]
fn errors_name_the_line() {
    assert_eq!(err("exit\nmov32 %r0, 2147483648"), "line 2: immediate `2147483648` out of 32-bit range");
    assert!(err("mov32 %r0, 0x100000000").contains("out of 32-bit range"));
    assert!(err("ja NOT_A_LABEL\nexit").contains("unknown label `NOT_A_LABEL`"));
    assert!(err("ldxq %r0, %r1").contains("invalid mnemonic `ldxq`"));
    assert!(err("ldxb %r0, %r1").contains("memory operand"));
    assert!(err("ldxb %r0, [%r1+0x10000]").contains("out of 16-bit range"));
    assert!(err("lddw %r0").contains("invalid number of operands"));
    assert!(err("or %r0, %r50").contains("invalid register"));
    assert!(err("or %r0, %r11").contains("invalid register"));
    assert!(err("lock or [%r10-8]").contains("lock"));
    assert!(err("lock").contains("lock"));
    assert!(err("").contains("no instructions"));
}

#[test]
fn disasm_round_trips() {
    let text = "may_goto +2\nldxacqb %r0, [%r1+0]\nstxreldw [%r10-8], %r2\naddr_space_cast %r1, %r2, 1, 0\nmov32 %r0, 1\nldxh %r3, [%r1+12]\nlock fetch xor32 [%r10-4], %r3\nlddw %r1, map_value(3, 0x8)\nlddw %r2, func(+0)\ncall runtime 77, 2\ncallx %r3\nldindw %r1, -4\nja32 -9\nexit\n";
    let p = ubpf::assemble(text).unwrap();
    assert_eq!(ubpf::disasm(&p), text);
}
