//! Soundness property: whatever the verifier accepts must not fault at run time.
//!
//! Random XDP programs (straight-line scalar ALU, bounded loops, stack stores and
//! loads, packet reads and writes guarded by random — sometimes wrong — `data_end`
//! checks, fixed and variable offsets) are verified; each accepted one is run in the
//! interpreter's checked mode on random packets, and must never access memory out of
//! bounds (packet, stack or context). Time-bounded: ~3 s, `BPFBOX_FUZZ_SECS` overrides.

use bpfbox_abi::prog_types::ProgType;
use bpfbox_verifier::{verify, ProgramInput, VerifyOptions};
use bpfbox_vm::runtime::{Runtime, RuntimeError, RuntimeOptions, TestRunInput};
use bpfbox_vm::VmError;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
    fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }
}

/// Scalar registers; r2 = data, r3 = data_end, r1 / r9 are gadget temporaries.
const SCALARS: [u8; 6] = [0, 4, 5, 6, 7, 8];
const SIZES: [(&str, i64); 4] = [("u8", 1), ("u16", 2), ("u32", 4), ("u64", 8)];

fn alu(r: &mut Rng, s: &mut String) {
    let d = *r.pick(&SCALARS);
    let op = *r.pick(&["+=", "-=", "*=", "&=", "|=", "^=", "<<=", ">>=", "s>>=", "/=", "%=", "="]);
    let shift = matches!(op, "<<=" | ">>=" | "s>>=");
    if r.chance(50) {
        let imm: i64 = if shift { r.below(64) as i64 } else { r.below(64) as i64 - 16 };
        let _ = writeln!(s, "r{d} {op} {imm}");
    } else if shift {
        let _ = writeln!(s, "r{d} {op} {}", r.below(64));
    } else {
        let _ = writeln!(s, "r{d} {op} r{}", r.pick(&SCALARS));
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
            let (ty, sz) = *r.pick(&SIZES);
            let off = if r.chance(85) { 8 * (1 + r.below(8) as i64) } else { r.below(530) as i64 - 10 };
            if r.chance(50) {
                let _ = writeln!(s, "*({ty} *)(r10 {}) = r{}", fp(off), r.pick(&SCALARS));
            } else {
                let _ = writeln!(s, "*({ty} *)(r10 {}) = {}", fp(off), r.below(100));
            }
            let _ = sz;
        }
        3 => {
            let (ty, _) = *r.pick(&SIZES);
            let off = if r.chance(85) { 8 * (1 + r.below(8) as i64) } else { r.below(530) as i64 - 10 };
            let _ = writeln!(s, "r{} = *({ty} *)(r10 {})", r.pick(&SCALARS), fp(off));
        }
        4 | 5 => {
            // packet access at a constant offset behind a random data_end check
            let (ty, sz) = *r.pick(&SIZES);
            let checked = r.below(40) as i64;
            let off = if r.chance(70) { r.below((checked.max(sz) - sz + 1) as u64) as i64 } else { r.below(40) as i64 };
            let _ = writeln!(s, "r1 = r2\nr1 += {checked}");
            let cond =
                *r.pick(&["if r1 > r3 goto +1", "if r1 > r3 goto +1", "if r3 < r1 goto +1", "if r1 >= r3 goto +1"]);
            let guarded = r.chance(90);
            if guarded {
                let _ = writeln!(s, "{cond}");
            }
            if r.chance(60) {
                let _ = writeln!(s, "r{} = *({ty} *)(r2 + {off})", r.pick(&SCALARS));
            } else {
                let _ = writeln!(s, "*({ty} *)(r2 + {off}) = r{}", r.pick(&SCALARS));
            }
        }
        6 => {
            // variable-offset packet access: r9 = data + (rX & mask)
            let (ty, sz) = *r.pick(&SIZES);
            let mask = *r.pick(&[3u64, 7, 15, 31, 255]);
            let x = r.pick(&SCALARS);
            let extra = r.below(24) as i64;
            let off = if r.chance(70) { r.below((extra.max(sz) - sz + 1) as u64) as i64 } else { r.below(24) as i64 };
            let _ = writeln!(s, "r9 = r{x}\nr9 &= {mask}\nr9 += r2\nr1 = r9\nr1 += {extra}\nif r1 > r3 goto +1");
            let _ = writeln!(s, "r{} = *({ty} *)(r9 + {off})", r.pick(&SCALARS));
        }
        _ => {
            // bounded loop on r9 with a scalar ALU body, or a conditional skip
            if r.chance(50) {
                let n = 1 + r.below(6);
                let _ = writeln!(s, "r9 = {n}");
                alu(r, s);
                let _ = writeln!(s, "r9 -= 1\nif r9 != 0 goto -3");
            } else {
                let c = *r.pick(&["==", "!=", ">", "<", "s>", "s<", ">=", "&"]);
                let _ = writeln!(s, "if r{} {c} {} goto +1", r.pick(&SCALARS), r.below(32));
                alu(r, s);
            }
        }
    }
}

fn program(r: &mut Rng) -> String {
    let mut s = String::from("r2 = *(u32 *)(r1 + 0)\nr3 = *(u32 *)(r1 + 4)\n");
    for &d in &SCALARS {
        // Mostly initialised: the rest exercises uninitialised-register rejections.
        if r.chance(90) {
            let _ = writeln!(s, "r{d} = {}", r.below(64));
        }
    }
    for _ in 0..1 + r.below(12) {
        gadget(r, &mut s);
    }
    if r.chance(90) {
        s.push_str("r0 &= 3\n");
    }
    s.push_str("exit\n");
    s
}

#[test]
fn accepted_programs_never_fault() {
    let secs: f64 = std::env::var("BPFBOX_FUZZ_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(3.0);
    let seed: u64 = std::env::var("BPFBOX_FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0x5eed_b9f_b0c5);
    let mut r = Rng(seed | 1);
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let opts = VerifyOptions::default();
    let (mut generated, mut accepted, mut runs) = (0u64, 0u64, 0u64);
    let mut rt = Runtime::new(RuntimeOptions::deterministic(1));
    while Instant::now() < deadline {
        let src = program(&mut r);
        let insns =
            bpfbox_isa::llvm::assemble(&src).unwrap_or_else(|e| panic!("generator produced bad asm: {e}\n{src}"));
        generated += 1;
        let input = ProgramInput {
            name: "fuzz".into(),
            insns: insns.clone(),
            prog_type: ProgType::Xdp,
            expected_attach_type: None,
            maps: vec![],
        };
        let report = verify(&input, &opts);
        if !report.accepted() {
            continue;
        }
        accepted += 1;
        if accepted % 1000 == 0 {
            rt = Runtime::new(RuntimeOptions::deterministic(1));
        }
        let id =
            rt.load_program("fuzz", ProgType::Xdp.number(), insns, &[]).unwrap_or_else(|e| panic!("load: {e}\n{src}"));
        for _ in 0..4 {
            let len = 14 + r.below(50) as usize;
            let data_in: Vec<u8> = (0..len).map(|_| r.next() as u8).collect();
            match rt.test_run(id, &TestRunInput { data_in, ..Default::default() }) {
                Ok(_) => runs += 1,
                Err(RuntimeError::Fault { error, .. }) => match error {
                    VmError::OutOfBounds { .. } | VmError::ReadOnly { .. } | VmError::CtxAccess { .. } => {
                        panic!("verifier accepted a program that faulted ({error}), packet of {len} bytes:\n{src}")
                    }
                    other => panic!("accepted program failed: {other}\n{src}"),
                },
                Err(e) => panic!("test run: {e}\n{src}"),
            }
        }
    }
    println!("soundness: {generated} programs generated, {accepted} accepted, {runs} runs, 0 faults");
    assert!(generated > 0);
    assert!(accepted > 0, "no program accepted: the generator is off");
}
