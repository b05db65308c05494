//! Verifier soundness oracle: whatever bpfbox's verifier accepts must not fault at
//! run time, and must run the same unchecked (as a verified program) as checked.
//!
//! Random XDP programs (straight-line scalar ALU, bounded loops, stack stores and
//! loads, packet reads and writes guarded by random — sometimes wrong — `data_end`
//! checks, fixed and variable offsets) are verified; each accepted one is run in the
//! interpreter's checked mode on random packets, where it must never access memory
//! out of bounds (packet, stack or context), and then loaded verified (unchecked but
//! for its converted ctx accesses), where it must give the same return value and
//! packet. The test suite runs it for a bounded time
//! (`crates/verifier/tests/soundness.rs`); `/fuzz` has a `verifier_soundness` target.

use crate::Rng;
use bpfbox_abi::prog_types::ProgType;
use bpfbox_verifier::{verify, ProgramInput, VerifyOptions};
use bpfbox_vm::runtime::{Runtime, RuntimeError, RuntimeOptions, TestRunInput};
use bpfbox_vm::VmError;
use std::fmt::Write as _;

/// Scalar registers; r2 = data, r3 = data_end, r1 / r9 are gadget temporaries.
const SCALARS: [u8; 6] = [0, 4, 5, 6, 7, 8];
const SIZES: [(&str, i64); 4] = [("u8", 1), ("u16", 2), ("u32", 4), ("u64", 8)];

fn pick<'a, T>(r: &mut Rng, xs: &'a [T]) -> &'a T {
    &xs[r.below(xs.len() as u64) as usize]
}

fn chance(r: &mut Rng, pct: u64) -> bool {
    r.below(100) < pct
}

fn alu(r: &mut Rng, s: &mut String) {
    let d = *pick(r, &SCALARS);
    let op = *pick(r, &["+=", "-=", "*=", "&=", "|=", "^=", "<<=", ">>=", "s>>=", "/=", "%=", "="]);
    let shift = matches!(op, "<<=" | ">>=" | "s>>=");
    if chance(r, 50) {
        let imm: i64 = if shift { r.below(64) as i64 } else { r.below(64) as i64 - 16 };
        let _ = writeln!(s, "r{d} {op} {imm}");
    } else if shift {
        let _ = writeln!(s, "r{d} {op} {}", r.below(64));
    } else {
        let _ = writeln!(s, "r{d} {op} r{}", pick(r, &SCALARS));
    }
}

/// `- off` below the frame pointer (a negative `off` is above it).
fn fp(off: i64) -> String {
    if off >= 0 {
        format!("- {off}")
    } else {
        format!("+ {}", -off)
    }
}

fn gadget(r: &mut Rng, s: &mut String) {
    match r.below(8) {
        0 | 1 => alu(r, s),
        2 => {
            // stack store (mostly well-formed)
            let (ty, _) = *pick(r, &SIZES);
            let off = if chance(r, 85) { 8 * (1 + r.below(8) as i64) } else { r.below(530) as i64 - 10 };
            if chance(r, 50) {
                let _ = writeln!(s, "*({ty} *)(r10 {}) = r{}", fp(off), pick(r, &SCALARS));
            } else {
                let _ = writeln!(s, "*({ty} *)(r10 {}) = {}", fp(off), r.below(100));
            }
        }
        3 => {
            let (ty, _) = *pick(r, &SIZES);
            let off = if chance(r, 85) { 8 * (1 + r.below(8) as i64) } else { r.below(530) as i64 - 10 };
            let _ = writeln!(s, "r{} = *({ty} *)(r10 {})", pick(r, &SCALARS), fp(off));
        }
        4 | 5 => {
            // packet access at a constant offset behind a random data_end check
            let (ty, sz) = *pick(r, &SIZES);
            let checked = r.below(40) as i64;
            let off =
                if chance(r, 70) { r.below((checked.max(sz) - sz + 1) as u64) as i64 } else { r.below(40) as i64 };
            let _ = writeln!(s, "r1 = r2\nr1 += {checked}");
            let cond =
                *pick(r, &["if r1 > r3 goto +1", "if r1 > r3 goto +1", "if r3 < r1 goto +1", "if r1 >= r3 goto +1"]);
            if chance(r, 90) {
                let _ = writeln!(s, "{cond}");
            }
            if chance(r, 60) {
                let _ = writeln!(s, "r{} = *({ty} *)(r2 + {off})", pick(r, &SCALARS));
            } else {
                let _ = writeln!(s, "*({ty} *)(r2 + {off}) = r{}", pick(r, &SCALARS));
            }
        }
        6 => {
            // variable-offset packet access: r9 = data + (rX & mask)
            let (ty, sz) = *pick(r, &SIZES);
            let mask = *pick(r, &[3u64, 7, 15, 31, 255]);
            let x = *pick(r, &SCALARS);
            let extra = r.below(24) as i64;
            let off = if chance(r, 70) { r.below((extra.max(sz) - sz + 1) as u64) as i64 } else { r.below(24) as i64 };
            let _ = writeln!(s, "r9 = r{x}\nr9 &= {mask}\nr9 += r2\nr1 = r9\nr1 += {extra}\nif r1 > r3 goto +1");
            let _ = writeln!(s, "r{} = *({ty} *)(r9 + {off})", pick(r, &SCALARS));
        }
        _ => {
            // bounded loop on r9 with a scalar ALU body, or a conditional skip
            if chance(r, 50) {
                let n = 1 + r.below(6);
                let _ = writeln!(s, "r9 = {n}");
                alu(r, s);
                let _ = writeln!(s, "r9 -= 1\nif r9 != 0 goto -3");
            } else {
                let c = *pick(r, &["==", "!=", ">", "<", "s>", "s<", ">=", "&"]);
                let _ = writeln!(s, "if r{} {c} {} goto +1", pick(r, &SCALARS), r.below(32));
                alu(r, s);
            }
        }
    }
}

/// A random XDP program in llvm-objdump syntax.
pub fn program(r: &mut Rng) -> String {
    let mut s = String::from("r2 = *(u32 *)(r1 + 0)\nr3 = *(u32 *)(r1 + 4)\n");
    for &d in &SCALARS {
        // Mostly initialised: the rest exercises uninitialised-register rejections.
        if chance(r, 90) {
            let _ = writeln!(s, "r{d} = {}", r.below(64));
        }
    }
    for _ in 0..1 + r.below(12) {
        gadget(r, &mut s);
    }
    if chance(r, 90) {
        s.push_str("r0 &= 3\n");
    }
    s.push_str("exit\n");
    s
}

/// What one check did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub accepted: bool,
    /// Test runs made (checked and verified-unchecked count once per packet).
    pub runs: u64,
}

/// Generate a program from `r`, verify it, and if accepted run it on four random
/// packets checked and verified. Panics on a fault or a difference.
pub fn check(r: &mut Rng, rt: &Runtime) -> Outcome {
    let src = program(r);
    let insns = bpfbox_isa::llvm::assemble(&src).unwrap_or_else(|e| panic!("generator produced bad asm: {e}\n{src}"));
    let input = ProgramInput {
        name: "fuzz".into(),
        insns: insns.clone(),
        prog_type: ProgType::Xdp,
        expected_attach_type: None,
        maps: vec![],
        attach_target: None,
        sleepable: false,
        kernel_btf: None,
        funcs: vec![],
    };
    let report = verify(&input, &VerifyOptions::default());
    if !report.accepted() {
        return Outcome::default();
    }
    let xdp = ProgType::Xdp.number();
    let checked = rt.load_program("fuzz", xdp, insns.clone(), &[]).unwrap_or_else(|e| panic!("load: {e}\n{src}"));
    let mut runs = 0;
    let mut packets = Vec::new();
    for _ in 0..4 {
        let len = 14 + r.below(50) as usize;
        let data_in: Vec<u8> = (0..len).map(|_| r.next_u64() as u8).collect();
        let out = match rt.test_run(checked, &TestRunInput { data_in: data_in.clone(), ..Default::default() }) {
            Ok(o) => o,
            Err(RuntimeError::Fault { error, .. }) => match error {
                VmError::OutOfBounds { .. } | VmError::ReadOnly { .. } | VmError::CtxAccess { .. } => {
                    panic!("verifier accepted a program that faulted ({error}), packet of {len} bytes:\n{src}")
                }
                other => panic!("accepted program failed: {other}\n{src}"),
            },
            Err(e) => panic!("test run: {e}\n{src}"),
        };
        packets.push((data_in, out.retval, out.data_out));
        runs += 1;
    }
    // The checked runs proved every access of these runs in bounds; the same runs
    // unchecked (the verified path) must give the same results.
    // SAFETY: accepted by bpfbox's verifier as XDP with no maps; `converted_accesses`
    // is that verification's list.
    let verified = unsafe {
        rt.load_verified_program("fuzz_v", xdp, None, insns, &[], &report.converted_accesses)
            .unwrap_or_else(|e| panic!("load verified: {e}\n{src}"))
    };
    for (data_in, retval, data_out) in packets {
        let out = rt
            .test_run(verified, &TestRunInput { data_in, ..Default::default() })
            .unwrap_or_else(|e| panic!("verified run failed where the checked one did not: {e}\n{src}"));
        assert_eq!((out.retval, &out.data_out), (retval, &data_out), "verified and checked runs differ\n{src}");
    }
    Outcome { accepted: true, runs }
}

/// The fuzz target: the bytes seed the generator.
pub fn fuzz(bytes: &[u8]) {
    let mut seed = [0u8; 8];
    for (i, b) in bytes.iter().enumerate() {
        seed[i % 8] ^= *b;
    }
    let rt = Runtime::new(RuntimeOptions::deterministic(1));
    let mut r = Rng::new(u64::from_le_bytes(seed));
    for _ in 0..8 {
        check(&mut r, &rt);
    }
}

/// Robustness: the verifier never panics, whatever instructions it is given (any
/// decodable program, any program type among common ones, maps of several kinds),
/// and a rejection always names an instruction inside the program. Returns whether
/// the bytes decoded (and so were verified).
pub fn verifier_robust(bytes: &[u8]) -> bool {
    let Ok(insns) = bpfbox_isa::decode_program(bytes) else { return false };
    if insns.is_empty() {
        return false;
    }
    let maps = vec![
        bpfbox_verifier::MapInfo {
            name: "h".into(),
            map_type: 1,
            key_size: 4,
            value_size: 8,
            max_entries: 16,
            ..Default::default()
        },
        bpfbox_verifier::MapInfo {
            name: "a".into(),
            map_type: 2,
            key_size: 4,
            value_size: 64,
            max_entries: 4,
            ..Default::default()
        },
        bpfbox_verifier::MapInfo { name: "rb".into(), map_type: 27, max_entries: 4096, ..Default::default() },
    ];
    let pick = bytes.iter().fold(0u8, |a, b| a.wrapping_add(*b));
    let types = [ProgType::Xdp, ProgType::SchedCls, ProgType::SocketFilter, ProgType::Kprobe, ProgType::Tracepoint];
    let prog_type = types[pick as usize % types.len()];
    let input = ProgramInput {
        name: "fuzz".into(),
        insns: insns.clone(),
        prog_type,
        expected_attach_type: None,
        maps,
        attach_target: None,
        sleepable: false,
        kernel_btf: None,
        funcs: vec![],
    };
    for unprivileged in [false, true] {
        let opts = VerifyOptions { unprivileged, insn_limit: 20_000, ..VerifyOptions::default() };
        let r = verify(&input, &opts);
        if let Some(d) = r.diagnostics.first() {
            assert!(d.pc <= insns.len(), "diagnostic pc {} outside a {}-slot program", d.pc, insns.len());
            assert!(!d.message.is_empty(), "empty diagnostic message");
        }
    }
    true
}
