//! Differential property tests: random programs on the interpreter and the JIT must
//! agree on r0, instruction count or error, memory and helper effects
//! (`bpfbox_jit::fuzz::check`). Each test stops generating after a few seconds
//! (`BPFBOX_DIFF_SECS`, default 4) or after `BPFBOX_DIFF_CASES` cases; cargo-fuzz runs the same oracle for longer.

#![allow(clippy::unwrap_used)]

use bpfbox_isa::{encode_program, AluOp, AtomicOp, CallTarget, Cond, Endian, Imm64, Insn, Operand, PacketMode, Reg, Size, Width};
use bpfbox_jit::fuzz::{check, generate};
use proptest::prelude::*;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

fn budget() -> Duration {
    let secs = std::env::var("BPFBOX_DIFF_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(4.0);
    Duration::from_secs_f64(secs)
}

/// True while the test named by `start` is within its time budget.
fn in_time(start: &std::sync::OnceLock<Instant>) -> bool {
    start.get_or_init(Instant::now).elapsed() < budget()
}

/// Cases per test (`BPFBOX_DIFF_CASES`, default 1000); the time budget usually ends
/// the generation first (the remaining cases are skipped cheaply).
fn config() -> ProptestConfig {
    let cases = std::env::var("BPFBOX_DIFF_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(1000);
    ProptestConfig { cases, failure_persistence: None, max_shrink_time: 20_000, ..ProptestConfig::default() }
}

static STRUCTURED: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
static STRUCTURED_N: AtomicU64 = AtomicU64::new(0);
static RAW: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
static RAW_N: AtomicU64 = AtomicU64::new(0);

fn reg() -> impl Strategy<Value = Reg> {
    (0u8..=10).prop_map(|n| Reg::new(n).unwrap())
}

fn operand() -> impl Strategy<Value = Operand> {
    prop_oneof![reg().prop_map(Operand::Reg), any::<i32>().prop_map(Operand::Imm), (-4i32..70).prop_map(Operand::Imm)]
}

fn width() -> impl Strategy<Value = Width> {
    prop_oneof![Just(Width::W32), Just(Width::W64)]
}

fn size() -> impl Strategy<Value = Size> {
    prop::sample::select(Size::ALL.to_vec())
}

/// Any instruction the decoder accepts, with short jumps (most land in the program).
fn insn() -> impl Strategy<Value = Insn> {
    prop_oneof![
        6 => (prop::sample::select(AluOp::ALL.to_vec()), width(), reg(), operand())
            .prop_map(|(op, width, dst, src)| Insn::Alu { op, width, dst, src }),
        1 => (width(), reg()).prop_map(|(width, dst)| Insn::Neg { width, dst }),
        1 => (reg(), reg(), prop::sample::select(vec![(Width::W64, 8u8), (Width::W64, 16), (Width::W64, 32), (Width::W32, 8), (Width::W32, 16)]))
            .prop_map(|(dst, src, (width, bits))| Insn::MovSx { width, dst, src, bits }),
        1 => (prop::sample::select(vec![Endian::Le, Endian::Be, Endian::Swap]), prop::sample::select(vec![16u8, 32, 64]), reg())
            .prop_map(|(kind, bits, dst)| Insn::Endian { kind, bits, dst }),
        3 => (size(), reg(), prop_oneof![Just(Reg::R1), Just(Reg::R10), reg()], -520i16..80, any::<bool>())
            .prop_map(|(size, dst, src, off, sx)| Insn::Load { size, dst, src, off, sign_extend: sx && size != Size::DW }),
        3 => (size(), prop_oneof![Just(Reg::R1), Just(Reg::R10), reg()], -520i16..80, operand())
            .prop_map(|(size, dst, off, src)| Insn::Store { size, dst, off, src }),
        1 => (prop_oneof![Just(Size::W), Just(Size::DW)], prop::sample::select(vec![AtomicOp::Add, AtomicOp::Or, AtomicOp::And, AtomicOp::Xor, AtomicOp::Xchg, AtomicOp::CmpXchg]), any::<bool>(), prop_oneof![Just(Reg::R1), Just(Reg::R10)], -64i16..64, reg())
            .prop_map(|(size, op, f, dst, off, src)| Insn::Atomic { size, op, fetch: f || matches!(op, AtomicOp::Xchg | AtomicOp::CmpXchg), dst, off, src }),
        1 => (reg(), any::<u64>()).prop_map(|(dst, v)| Insn::LoadImm64 { dst, imm: Imm64::Value(v) }),
        1 => (reg(), -6i32..6).prop_map(|(dst, r)| Insn::LoadImm64 { dst, imm: Imm64::Func(r) }),
        1 => (prop::sample::select(vec![Size::B, Size::H, Size::W]), prop_oneof![Just(PacketMode::Abs), reg().prop_map(PacketMode::Ind)], -2i32..70)
            .prop_map(|(size, mode, imm)| Insn::LoadPacket { size, mode, imm }),
        2 => (-8i32..8, any::<bool>()).prop_map(|(off, wide)| Insn::Ja { off, wide }),
        4 => (prop::sample::select(Cond::ALL.to_vec()), width(), reg(), operand(), -8i16..8)
            .prop_map(|(cond, width, dst, src, off)| Insn::Jump { cond, width, dst, src, off }),
        1 => prop::sample::select(vec![1i32, 2, 3, 5, 9]).prop_map(|id| Insn::Call(CallTarget::Helper(id))),
        1 => (-8i32..8).prop_map(|r| Insn::Call(CallTarget::Local(r))),
        1 => reg().prop_map(|reg| Insn::CallX { reg }),
        2 => Just(Insn::Exit),
    ]
}

fn with_tails(v: Vec<Insn>) -> Vec<Insn> {
    let mut out = Vec::new();
    for i in v {
        out.push(i);
        if matches!(i, Insn::LoadImm64 { .. }) {
            out.push(Insn::LoadImm64Tail);
        }
    }
    out
}

proptest! {
    #![proptest_config(config())]

    /// Structured programs: terminating, mostly in bounds, helpers, calls, loops.
    #[test]
    fn structured_programs_agree(bytes in prop::collection::vec(any::<u8>(), 0..1200)) {
        if in_time(&STRUCTURED) {
            STRUCTURED_N.fetch_add(1, Ordering::Relaxed);
            let bytes = [&[0u8][..], &bytes].concat();
            if let Some(case) = generate(&bytes) {
                let r = check(&case);
                prop_assert!(r.is_ok(), "{}\nprogram: {:?}", r.unwrap_err(), case.insns);
            }
        }
    }

    /// Arbitrary decodable programs: jumps anywhere, falling off, faults, budgets.
    #[test]
    fn arbitrary_programs_agree(mem in prop::collection::vec(any::<u8>(), 64), body in prop::collection::vec(insn(), 1..40)) {
        if in_time(&RAW) {
            RAW_N.fetch_add(1, Ordering::Relaxed);
            let code = encode_program(&with_tails(body));
            let bytes = [&[1u8][..], &mem, &code].concat();
            if let Some(case) = generate(&bytes) {
                let r = check(&case);
                prop_assert!(r.is_ok(), "{}\nprogram: {:?}", r.unwrap_err(), case.insns);
            }
        }
    }
}

#[test]
fn zz_report_counts() {
    // Runs after the property tests only when tests run on one thread; informative.
    println!(
        "differential: {} structured, {} arbitrary cases checked",
        STRUCTURED_N.load(Ordering::Relaxed),
        RAW_N.load(Ordering::Relaxed)
    );
}
