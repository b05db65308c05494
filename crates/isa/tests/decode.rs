//! Decoder: invalid encodings are refused with the instruction index and reason, and
//! every accepted encoding is canonical (re-encodes to the same bytes).

#![allow(clippy::unwrap_used)]

use bpfbox_isa::{decode_program, encode_program, DecodeErrorKind, Insn};
use proptest::prelude::*;

fn insn(code: u8, regs: u8, off: i16, imm: i32) -> [u8; 8] {
    let o = off.to_le_bytes();
    let i = imm.to_le_bytes();
    [code, regs, o[0], o[1], i[0], i[1], i[2], i[3]]
}

fn prog(slots: &[[u8; 8]]) -> Vec<u8> {
    slots.concat()
}

const EXIT: [u8; 8] = [0x95, 0, 0, 0, 0, 0, 0, 0];

fn reject(slots: &[[u8; 8]]) -> (usize, DecodeErrorKind) {
    match decode_program(&prog(slots)) {
        Ok(p) => panic!("accepted {p:?}"),
        Err(e) => (e.pc, e.kind),
    }
}

#[test]
fn reserved_fields_are_refused() {
    // The bpf_conformance "unused field must be zero" cases.
    for (code, regs, off, imm) in [
        (0x07u8, 0x00u8, 1i16, 1i32), // add64 imm with offset
        (0x07, 0x10, 0, 1),           // add64 imm with src
        (0x0f, 0x00, 0, 1),           // add64 reg with imm
        (0x0f, 0x00, 1, 0),           // add64 reg with offset
        (0xdc, 0x00, 1, 16),          // be16 with offset
        (0xdc, 0x10, 0, 16),          // be16 with src
        (0x85, 0x01, 0, 0),           // call with dst
        (0x85, 0x00, 1, 0),           // call with offset
        (0x95, 0x01, 0, 0),           // exit with dst
        (0x95, 0x00, 0, 1),           // exit with imm
        (0x05, 0x01, 0, 0),           // ja with dst
        (0x05, 0x00, 0, 1),           // ja with imm
        (0x15, 0x10, 0, 0),           // jeq imm with src
        (0x1d, 0x00, 0, 1),           // jeq reg with imm
        (0x79, 0xa0, -8, 1),          // ldxdw with imm
        (0x62, 0x10, 0, 0),           // stw with src
        (0x7b, 0x00, 0, 1),           // stxdw with imm
        (0x87, 0x00, 0, 1),           // neg64 with imm
        (0xb7, 0x00, 1, 1),           // mov64 imm with offset
        (0xbf, 0x00, 7, 0),           // movsx with bad size
        (0xbc, 0x00, 32, 0),          // movsx32 from 32 bits does not exist
        (0xe5, 0x01, 2, 0),           // may_goto with dst
        (0xe5, 0x10, 2, 0),           // may_goto with src (only BPF_MAY_GOTO, 0)
        (0xe5, 0x00, 2, 1),           // may_goto with imm
        (0xe6, 0x00, 2, 0),           // JMP32 | JCOND does not exist
        (0xed, 0x00, 2, 0),           // JCOND | X does not exist
        (0xbf, 0x10, 1, 2),           // addr_space_cast between other address spaces
        (0xbf, 0x10, 1, 0x10001),     // addr_space_cast 1 -> 1
        (0xbc, 0x10, 1, 1),           // 32-bit addr_space_cast does not exist
        (0xdb, 0x10, 0, 0x101),       // load-acquire with another ordering
        (0xd3, 0x10, 0, 0x111),       // store-release with another ordering
    ] {
        let (pc, _) = reject(&[EXIT, insn(code, regs, off, imm), EXIT]);
        assert_eq!(pc, 1, "opcode {code:#x}");
    }
}

#[test]
fn linux_6_18_instructions() {
    use bpfbox_isa::{Reg, Size};
    let one = |code: u8, regs: u8, off: i16, imm: i32| {
        let p = decode_program(&prog(&[insn(code, regs, off, imm)])).unwrap();
        assert_eq!(encode_program(&p), insn(code, regs, off, imm));
        p[0]
    };
    assert_eq!(one(0xe5, 0, -3, 0), Insn::MayGoto { off: -3 });
    assert_eq!(one(0xe5, 0, 0, 0), Insn::MayGoto { off: 0 });
    let r = |n| Reg::new(n).unwrap();
    assert_eq!(one(0xbf, 0x21, 1, 1), Insn::AddrSpaceCast { dst: r(1), src: r(2), dst_as: 0, src_as: 1 });
    assert_eq!(one(0xbf, 0x21, 1, 0x10000), Insn::AddrSpaceCast { dst: r(1), src: r(2), dst_as: 1, src_as: 0 });
    for (code, size) in [(0xd3, Size::B), (0xcb, Size::H), (0xc3, Size::W), (0xdb, Size::DW)] {
        assert_eq!(one(code, 0x21, -8, 0x100), Insn::LoadAcquire { size, dst: r(1), src: r(2), off: -8 });
        assert_eq!(one(code, 0x21, 4, 0x110), Insn::StoreRelease { size, dst: r(1), off: 4, src: r(2) });
    }
    // Read-modify-writes stay 32/64-bit only.
    assert!(matches!(reject(&[insn(0xd3, 0x21, 0, 0x01)]).1, DecodeErrorKind::UnknownOpcode(0xd3)));
}

#[test]
fn bad_registers_opcodes_and_lddw() {
    assert_eq!(reject(&[insn(0xb7, 0x0b, 0, 0), EXIT]), (0, DecodeErrorKind::BadRegister(11)));
    assert_eq!(reject(&[EXIT, insn(0xff, 0, 0, 0)]), (1, DecodeErrorKind::UnknownOpcode(0xff)));
    assert_eq!(reject(&[EXIT, insn(0x18, 0, 0, 1)]), (1, DecodeErrorKind::TruncatedLddw));
    assert_eq!(reject(&[insn(0x18, 0, 0, 1), insn(0x95, 0, 0, 0)]), (0, DecodeErrorKind::BadLddwTail));
    assert_eq!(reject(&[insn(0x18, 0x70, 0, 1), insn(0, 0, 0, 0)]), (0, DecodeErrorKind::BadLddwSrc(7)));
    assert!(matches!(reject(&[insn(0xc3, 0x21, 0, 0x02)]).1, DecodeErrorKind::BadImm { .. }));
    assert_eq!(decode_program(&[]).unwrap_err().kind, DecodeErrorKind::Empty);
    assert_eq!(decode_program(&[0x95, 0, 0]).unwrap_err().kind, DecodeErrorKind::Length(3));
}

#[test]
fn every_opcode_byte_decodes_or_errors_without_panic() {
    let mut accepted = 0;
    for code in 0..=255u8 {
        for regs in [0x00u8, 0x21, 0xa1, 0x1a] {
            for (off, imm) in [(0i16, 0i32), (1, 0), (0, 16), (8, 0), (-4, 0xe1), (16, 0xf1), (0, 1)] {
                let second = if code == 0x18 { insn(0, 0, 0, 0) } else { EXIT };
                let bytes = prog(&[insn(code, regs, off, imm), second]);
                if let Ok(p) = decode_program(&bytes) {
                    accepted += 1;
                    assert_eq!(encode_program(&p), bytes, "opcode {code:#04x} not canonical");
                }
            }
        }
    }
    assert!(accepted > 500, "only {accepted} encodings accepted");
}

#[test]
fn pseudo_lddw_sources() {
    for src in 0..=6u8 {
        let hi = if matches!(src, 0 | 2 | 6) { 8 } else { 0 };
        let bytes = prog(&[insn(0x18, (src << 4) | 1, 0, 3), insn(0, 0, 0, hi)]);
        let p = decode_program(&bytes).unwrap_or_else(|e| panic!("src {src}: {e}"));
        assert!(matches!(p[0], Insn::LoadImm64 { .. }) && p[1] == Insn::LoadImm64Tail);
        assert_eq!(encode_program(&p), bytes);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 20000, ..ProptestConfig::default() })]
    /// Random bytes never panic the decoder, and whatever it accepts is canonical.
    #[test]
    fn random_bytes_decode_canonically(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        if let Ok(p) = decode_program(&bytes) {
            prop_assert_eq!(encode_program(&p), bytes);
        }
    }
}
