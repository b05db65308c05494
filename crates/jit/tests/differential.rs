//! Differential property tests: random programs on the interpreter and the JIT must
//! agree on r0, instruction count or error, memory and helper effects
//! (`bpfbox_jit::fuzz::check`). Each test stops generating after a few seconds
//! (`BPFBOX_DIFF_SECS`, default 4); cargo-fuzz runs the same oracle for longer.

#![allow(clippy::unwrap_used)]

use bpfbox_isa::{
    encode_program, AluOp, AtomicOp, CallTarget, Cond, Endian, Imm64, Insn, Operand, PacketMode, Reg, Size, Width,
};
use bpfbox_jit::fuzz::{check, generate, Case};
use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};
use std::time::{Duration, Instant};

fn budget() -> Duration {
    let secs = std::env::var("BPFBOX_DIFF_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(4.0);
    Duration::from_secs_f64(secs)
}

/// Generate and check cases of `strategy` until the time budget is spent (failures
/// are shrunk by proptest); returns the number of cases.
fn for_a_while<S: Strategy>(strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>) -> u64 {
    let mut runner = TestRunner::new(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() });
    let start = Instant::now();
    let mut n = 0;
    while start.elapsed() < budget() {
        let tree = strategy.new_tree(&mut runner).unwrap();
        if let Err(e) = runner.run_one(tree, &test) {
            panic!("{e}");
        }
        n += 1;
    }
    n
}

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
        1 => (-8i16..8).prop_map(|off| Insn::MayGoto { off }),
        1 => (reg(), reg(), any::<bool>()).prop_map(|(dst, src, k)| {
            let (dst_as, src_as) = if k { (0, 1) } else { (1, 0) };
            Insn::AddrSpaceCast { dst, src, dst_as, src_as }
        }),
        1 => (size(), reg(), prop_oneof![Just(Reg::R1), Just(Reg::R10), reg()], -72i16..72)
            .prop_map(|(size, dst, src, off)| Insn::LoadAcquire { size, dst, src, off }),
        1 => (size(), prop_oneof![Just(Reg::R1), Just(Reg::R10), reg()], -72i16..72, reg())
            .prop_map(|(size, dst, off, src)| Insn::StoreRelease { size, dst, off, src }),
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

/// Structured programs: terminating, mostly in bounds, helpers, calls, loops.
#[test]
fn structured_programs_agree() {
    let n = for_a_while(prop::collection::vec(any::<u8>(), 0..1200), |bytes| {
        let bytes = [&[0u8][..], &bytes].concat();
        if let Some(case) = generate(&bytes) {
            let r = check(&case);
            prop_assert!(r.is_ok(), "{}\nprogram: {:?}", r.unwrap_err(), case.insns);
        }
        Ok(())
    });
    println!("differential: {n} structured programs agree");
}

/// Instructions that write r10 other than through ALU ops (found by the arbitrary
/// programs below): the JIT must see the frame pointer change as the interpreter does.
#[test]
fn r10_written_by_addr_space_cast_or_load_acquire() {
    let r10 = Reg::new(10).unwrap();
    let r0 = Reg::new(0).unwrap();
    let writes = [
        Insn::AddrSpaceCast { dst: r10, src: r0, dst_as: 1, src_as: 0 },
        Insn::LoadAcquire { size: Size::DW, dst: r10, src: r10, off: -8 },
    ];
    for w in writes {
        let insns = vec![w, Insn::Load { size: Size::B, dst: r0, src: r10, off: -1, sign_extend: false }, Insn::Exit];
        let case = Case { insns, packet: vec![0; 64], max_insns: 100, raw: true };
        check(&case).unwrap_or_else(|e| panic!("{w:?}: {e}"));
    }
}

/// Arbitrary decodable programs: jumps anywhere, falling off, faults, budgets.
#[test]
fn arbitrary_programs_agree() {
    let strategy = (prop::collection::vec(any::<u8>(), 64), prop::collection::vec(insn(), 1..40));
    let n = for_a_while(strategy, |(mem, body)| {
        let code = encode_program(&with_tails(body));
        let bytes = [&[1u8][..], &mem, &code].concat();
        if let Some(case) = generate(&bytes) {
            let r = check(&case);
            prop_assert!(r.is_ok(), "{}\nprogram: {:?}", r.unwrap_err(), case.insns);
        }
        Ok(())
    });
    println!("differential: {n} arbitrary programs agree");
}
