//! Property tests of the llvm syntax: `assemble(disasm(p)) == p` and
//! `decode(encode(p)) == p` for random valid programs, and the assembler never
//! panics on arbitrary text.

#![allow(clippy::unwrap_used)]

use bpfbox_isa::llvm::{assemble, disasm};
use bpfbox_isa::{
    decode_program, encode_program, AluOp, AtomicOp, CallTarget, Cond, Endian, Imm64, Insn, Operand, PacketMode, Reg,
    Size, Width,
};
use proptest::prelude::*;

fn reg() -> impl Strategy<Value = Reg> {
    (0u8..=10).prop_map(|n| Reg::new(n).expect("0..=10 is a register"))
}

fn width() -> impl Strategy<Value = Width> {
    prop_oneof![Just(Width::W32), Just(Width::W64)]
}

/// Interesting 32-bit immediates: small, edges and anything.
fn imm() -> impl Strategy<Value = i32> {
    prop_oneof![-16i32..16, Just(i32::MIN), Just(i32::MAX), Just(-1), any::<i32>()]
}

fn off() -> impl Strategy<Value = i16> {
    prop_oneof![-16i16..16, Just(i16::MIN), Just(i16::MAX), any::<i16>()]
}

fn operand() -> impl Strategy<Value = Operand> {
    prop_oneof![reg().prop_map(Operand::Reg), imm().prop_map(Operand::Imm)]
}

fn size() -> impl Strategy<Value = Size> {
    prop::sample::select(Size::ALL.to_vec())
}

fn imm64() -> impl Strategy<Value = Imm64> {
    prop_oneof![
        prop_oneof![any::<u64>(), Just(0u64), Just(u64::MAX), Just(1u64 << 63), 0u64..0x1_0000_0000]
            .prop_map(Imm64::Value),
        imm().prop_map(Imm64::MapFd),
        (imm(), any::<u32>()).prop_map(|(fd, off)| Imm64::MapValue { fd, off }),
        (imm(), imm()).prop_map(|(id, btf_fd)| Imm64::BtfId { id, btf_fd }),
        imm().prop_map(Imm64::Func),
        imm().prop_map(Imm64::MapIdx),
        (imm(), prop_oneof![Just(0u32), any::<u32>()]).prop_map(|(idx, off)| Imm64::MapIdxValue { idx, off }),
    ]
}

/// Any instruction the decoder can produce (never a tail).
fn insn() -> impl Strategy<Value = Insn> {
    prop_oneof![
        4 => (prop::sample::select(AluOp::ALL.to_vec()), width(), reg(), operand())
            .prop_map(|(op, width, dst, src)| Insn::Alu { op, width, dst, src }),
        1 => (width(), reg()).prop_map(|(width, dst)| Insn::Neg { width, dst }),
        1 => (width(), reg(), reg(), prop_oneof![Just(8u8), Just(16), Just(32)]).prop_map(|(width, dst, src, bits)| {
            let bits = if width == Width::W32 && bits == 32 { 16 } else { bits };
            Insn::MovSx { width, dst, src, bits }
        }),
        1 => (
            prop_oneof![Just(Endian::Le), Just(Endian::Be), Just(Endian::Swap)],
            prop_oneof![Just(16u8), Just(32), Just(64)],
            reg()
        )
            .prop_map(|(kind, bits, dst)| Insn::Endian { kind, bits, dst }),
        2 => (size(), reg(), reg(), off(), any::<bool>()).prop_map(|(size, dst, src, off, sx)| Insn::Load {
            size,
            dst,
            src,
            off,
            sign_extend: sx && size != Size::DW,
        }),
        2 => (size(), reg(), off(), operand()).prop_map(|(size, dst, off, src)| Insn::Store { size, dst, off, src }),
        2 => (
            prop_oneof![Just(Size::W), Just(Size::DW)],
            prop_oneof![
                Just(AtomicOp::Add),
                Just(AtomicOp::Or),
                Just(AtomicOp::And),
                Just(AtomicOp::Xor),
                Just(AtomicOp::Xchg),
                Just(AtomicOp::CmpXchg)
            ],
            any::<bool>(),
            reg(),
            off(),
            reg()
        )
            .prop_map(|(size, op, fetch, dst, off, src)| {
                let fetch = fetch || matches!(op, AtomicOp::Xchg | AtomicOp::CmpXchg);
                Insn::Atomic { size, op, fetch, dst, off, src }
            }),
        2 => (reg(), imm64()).prop_map(|(dst, imm)| Insn::LoadImm64 { dst, imm }),
        1 => (
            prop_oneof![Just(Size::B), Just(Size::H), Just(Size::W)],
            prop_oneof![Just(PacketMode::Abs), reg().prop_map(PacketMode::Ind)],
            imm()
        )
            .prop_map(|(size, mode, imm)| Insn::LoadPacket { size, mode, imm }),
        1 => off().prop_map(|o| Insn::Ja { off: o as i32, wide: false }),
        1 => imm().prop_map(|o| Insn::Ja { off: o, wide: true }),
        3 => (prop::sample::select(Cond::ALL.to_vec()), width(), reg(), operand(), off())
            .prop_map(|(cond, width, dst, src, off)| Insn::Jump { cond, width, dst, src, off }),
        2 => prop_oneof![
            imm().prop_map(CallTarget::Helper),
            imm().prop_map(CallTarget::Local),
            (imm(), prop_oneof![Just(0i16), off()]).prop_map(|(btf_id, off)| CallTarget::Kfunc { btf_id, off }),
        ]
        .prop_map(Insn::Call),
        1 => reg().prop_map(|reg| Insn::CallX { reg }),
        1 => Just(Insn::Exit),
        1 => off().prop_map(|off| Insn::MayGoto { off }),
        1 => (reg(), reg(), any::<bool>()).prop_map(|(dst, src, to_kern)| {
            let (dst_as, src_as) = if to_kern { (0, 1) } else { (1, 0) };
            Insn::AddrSpaceCast { dst, src, dst_as, src_as }
        }),
        1 => (size(), reg(), reg(), off()).prop_map(|(size, dst, src, off)| Insn::LoadAcquire { size, dst, src, off }),
        1 => (size(), reg(), off(), reg()).prop_map(|(size, dst, off, src)| Insn::StoreRelease { size, dst, off, src }),
    ]
}

/// Load-acquire and store-release came with LLVM 20: llvm-objdump-19 prints them as
/// `<unknown>` or as the `lock +=` they share their opcode with.
fn llvm19_knows(i: &Insn) -> bool {
    !matches!(i, Insn::LoadAcquire { .. } | Insn::StoreRelease { .. })
}

/// A slot-indexed program: each `lddw` followed by its tail.
fn program() -> impl Strategy<Value = Vec<Insn>> {
    prop::collection::vec(insn(), 1..40).prop_map(|v| {
        let mut out = Vec::new();
        for i in v {
            out.push(i);
            if i.slots() == 2 {
                out.push(Insn::LoadImm64Tail);
            }
        }
        out
    })
}

/// Random slots biased towards decodable ones: any opcode, registers in range,
/// reserved fields often zero.
fn raw_slot() -> impl Strategy<Value = [u8; 8]> {
    (
        any::<u8>(),
        prop_oneof![3 => (0u8..=10, 0u8..=10).prop_map(|(d, s)| d | (s << 4)), 1 => Just(0u8), 1 => any::<u8>()],
        prop_oneof![2 => Just(0i16), 1 => -4i16..4, 1 => prop_oneof![Just(8i16), Just(16), Just(32)], 1 => any::<i16>()],
        prop_oneof![2 => Just(0i32), 1 => -4i32..4, 1 => prop_oneof![Just(16i32), Just(32), Just(64), Just(0xe1), Just(0xf1), Just(0x100), Just(0x110), Just(0x10000)], 1 => any::<i32>()],
    )
        .prop_map(|(code, regs, off, imm)| {
            let o = off.to_le_bytes();
            let i = imm.to_le_bytes();
            [code, regs, o[0], o[1], i[0], i[1], i[2], i[3]]
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn text_roundtrip(p in program()) {
        let text = disasm(&p);
        let back = assemble(&text);
        prop_assert_eq!(back.as_ref(), Ok(&p), "text:\n{}", text);
    }

    #[test]
    fn bytes_roundtrip(p in program()) {
        let bytes = encode_program(&p);
        prop_assert_eq!(bytes.len(), p.len() * 8);
        prop_assert_eq!(decode_program(&bytes), Ok(p));
    }

    /// Any 8-byte slots the decoder accepts print and assemble back to themselves.
    #[test]
    fn decoded_bytes_roundtrip(slots in prop::collection::vec(raw_slot(), 1..8)) {
        let bytes: Vec<u8> = slots.concat();
        if let Ok(p) = decode_program(&bytes) {
            prop_assert_eq!(assemble(&disasm(&p)), Ok(p.clone()));
            prop_assert_eq!(encode_program(&p), bytes);
        }
    }
}

/// Text made of the pieces the grammar uses, so that the parser gets deep.
fn garbage_line() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "r1",
        "w2",
        "r11",
        "r99999999999",
        "w",
        "=",
        "+=",
        "s>>=",
        "s<",
        "s",
        "*",
        "(",
        ")",
        "u32",
        "s8",
        "u64",
        "s64",
        "+",
        "-",
        "0x",
        "0x10",
        "-0x8000",
        "4294967296",
        "99999999999999999999999999999999999999999",
        "ll",
        "goto",
        "gotol",
        "if",
        "call",
        "callx",
        "pc",
        "kfunc",
        "exit",
        "lock",
        "ld_pseudo",
        ",",
        "skb",
        "[",
        "]",
        "atomic_fetch_add",
        "xchg_64",
        "cmpxchg32_32",
        "bswap16",
        "le64",
        "be",
        ":",
        "LBB0_1",
        "<",
        ">",
        "<f+0x8>",
        "\t",
        " ",
        ";",
        "#",
        "//",
        "é",
        "\u{0}",
        "12:",
        "07",
        "ff",
        "<unknown>",
        "0000000000000000",
        "(s8)",
        "==",
    ]);
    prop::collection::vec(piece, 0..14).prop_map(|v| v.join(" "))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn assemble_never_panics_on_tokens(lines in prop::collection::vec(garbage_line(), 1..6)) {
        let _ = assemble(&lines.join("\n"));
    }

    #[test]
    fn assemble_never_panics_on_any_string(s in "\\PC{0,80}") {
        let _ = assemble(&s);
    }

}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn assemble_never_panics_on_mutated_text(p in program(), cut in any::<prop::sample::Index>(), junk in "\\PC{0,6}") {
        let text = disasm(&p);
        let mut at = cut.index(text.len() + 1);
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        let mutated = format!("{}{}{}", &text[..at], junk, &text[at..]);
        let _ = assemble(&mutated);
    }
}

// ---------------------------------------------------------------------------
// Differential test against LLVM itself.
// ---------------------------------------------------------------------------

fn have(tool: &str) -> bool {
    std::process::Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success())
}

/// `(index, text)` of every instruction line of `llvm-objdump -d`, annotation removed.
fn objdump_lines(out: &str) -> Vec<(usize, String)> {
    let mut v = Vec::new();
    for line in out.lines() {
        let mut parts = line.splitn(3, '\t');
        let (Some(idx), Some(_bytes), Some(text)) = (parts.next(), parts.next(), parts.next()) else { continue };
        let Ok(idx) = idx.trim().trim_end_matches(':').parse::<usize>() else { continue };
        let text = match text.rfind(" <") {
            Some(i) if text.ends_with('>') && !text.ends_with("<unknown>") => &text[..i],
            _ => text,
        };
        v.push((idx, text.split_whitespace().collect::<Vec<_>>().join(" ")));
    }
    v
}

/// Random instructions are assembled into an ELF with `.byte` directives by
/// llvm-mc-19, disassembled by llvm-objdump-19 (default cpu and --mcpu=v4), and
/// compared with `objdump_insn`. Where the default cpu prints `<unknown>` (32-bit
/// atomics) or misprints a 32-bit `atomic_fetch_add` as `lock ... += rN`, the
/// v4 text is expected instead.
#[test]
fn objdump_insn_matches_llvm_objdump() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
    if !have("llvm-mc-19") || !have("llvm-objdump-19") {
        println!("SKIP: llvm-mc-19 / llvm-objdump-19 not found");
        assert!(std::env::var("CI").as_deref() != Ok("true"), "llvm tools are required when CI=true");
        return;
    }
    let mut runner = TestRunner::new_with_rng(Config::default(), TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]));
    let mut prog = Vec::new();
    for _ in 0..4000 {
        let i = insn().new_tree(&mut runner).expect("strategy").current();
        if !llvm19_knows(&i) {
            continue;
        }
        prog.push(i);
        if i.slots() == 2 {
            prog.push(Insn::LoadImm64Tail);
        }
    }
    let bytes = encode_program(&prog);
    let dir = std::env::temp_dir().join(format!("bpfbox-llvm-diff-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let s_path = dir.join("p.s");
    let o_path = dir.join("p.o");
    let mut src = String::from("\t.text\nprog:\n");
    for c in bytes.chunks(8) {
        let b: Vec<String> = c.iter().map(|b| b.to_string()).collect();
        src.push_str(&format!("\t.byte {}\n", b.join(",")));
    }
    std::fs::write(&s_path, src).expect("write asm");
    let st = std::process::Command::new("llvm-mc-19")
        .args(["-triple", "bpfel", "-filetype=obj", "-o"])
        .arg(&o_path)
        .arg(&s_path)
        .status()
        .expect("llvm-mc-19");
    assert!(st.success());
    let dump = |extra: &[&str]| {
        let o =
            std::process::Command::new("llvm-objdump-19").arg("-d").args(extra).arg(&o_path).output().expect("objdump");
        objdump_lines(&String::from_utf8_lossy(&o.stdout))
    };
    let default = dump(&[]);
    let v4: std::collections::HashMap<usize, String> = dump(&["--mcpu=v4"]).into_iter().collect();
    let v4_full =
        std::process::Command::new("llvm-objdump-19").args(["-d", "--mcpu=v4"]).arg(&o_path).output().expect("objdump");
    let v4_full = String::from_utf8_lossy(&v4_full.stdout).into_owned();
    // llvm-mc's own printer, decimal immediates.
    let hex_in: Vec<String> = bytes.iter().map(|b| format!("{b:#04x}")).collect();
    let mc = {
        use std::io::Write;
        let mut child = std::process::Command::new("llvm-mc-19")
            .args(["-disassemble", "-triple", "bpfel", "-mcpu=v4"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("llvm-mc-19");
        child.stdin.take().expect("stdin").write_all(hex_in.join(" ").as_bytes()).expect("write");
        String::from_utf8_lossy(&child.wait_with_output().expect("llvm-mc").stdout).into_owned()
    };
    let _ = std::fs::remove_dir_all(&dir);

    // What llvm prints, read back, is the program up to what objdump's text loses.
    let lossy = |p: &[Insn]| p.iter().map(bpfbox_isa::llvm::objdump_insn).collect::<Vec<_>>();
    for (what, text) in [("llvm-objdump-19 --mcpu=v4 output", &v4_full), ("llvm-mc-19 -disassemble output", &mc)] {
        match assemble(text) {
            Ok(back) => assert!(lossy(&back) == lossy(&prog), "{what} does not assemble back to the program"),
            Err(e) => panic!("{what} does not assemble: {e}\n{}", text.lines().nth(e.line - 1).unwrap_or("")),
        }
    }
    assert_eq!(default.len(), prog.iter().filter(|i| **i != Insn::LoadImm64Tail).count());
    let mut bad = Vec::new();
    println!("comparing {} instructions with llvm-objdump-19", default.len());
    for (idx, text) in default {
        let insn = &prog[idx];
        let ours = bpfbox_isa::llvm::objdump_insn(insn).split_whitespace().collect::<Vec<_>>().join(" ");
        let quirk = matches!(insn, Insn::Atomic { size: Size::W, op: AtomicOp::Add, fetch: true, .. });
        let expected = if text == "<unknown>" || quirk { v4.get(&idx).cloned().unwrap_or_default() } else { text };
        if ours != expected {
            bad.push(format!("{idx}: {insn:?}\n   llvm: {expected}\n   ours: {ours}"));
        }
    }
    assert!(bad.is_empty(), "{} mismatches:\n{}", bad.len(), bad[..bad.len().min(20)].join("\n"));
}
