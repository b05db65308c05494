//! Unit tests per instruction family. Programs are written in uBPF syntax.

use super::*;
use bpfbox_abi::{ArgType, HelperProto, RetType};
use bpfbox_isa::{assemble, Reg, Syntax};

fn prog(src: &str) -> Vec<Insn> {
    match assemble(src, Syntax::Ubpf) {
        Ok(p) => p,
        Err(e) => panic!("assembly failed: {e}\n{src}"),
    }
}

fn vm_with(src: &str, opts: VmOptions) -> Vm {
    match Vm::new(prog(src), opts) {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    }
}

fn vm(src: &str) -> Vm {
    vm_with(src, VmOptions { helpers: HelperTable::conformance(), ..Default::default() })
}

fn try_run(src: &str, mem: &mut [u8]) -> Result<RunOutcome, VmError> {
    let v = vm(src);
    let checked = v.run(&mut mem.to_vec());
    // Every program that runs cleanly in checked mode must give the same answer unchecked.
    if let Ok(o) = checked {
        // SAFETY: the checked run proved every access of this deterministic program in bounds.
        let unchecked = unsafe { v.run_unchecked(&mut mem.to_vec()) };
        assert_eq!(unchecked, Ok(o), "unchecked mode differs\n{src}");
    }
    v.run(mem)
}

fn r0(src: &str) -> u64 {
    match try_run(src, &mut []) {
        Ok(o) => o.r0,
        Err(e) => panic!("{e}\n{src}"),
    }
}

fn r0_mem(src: &str, mem: &mut [u8]) -> u64 {
    match try_run(src, mem) {
        Ok(o) => o.r0,
        Err(e) => panic!("{e}\n{src}"),
    }
}

fn err(src: &str, mem: &mut [u8]) -> VmError {
    match vm(src).run(mem) {
        Ok(o) => panic!("expected an error, got {o:?}\n{src}"),
        Err(e) => e,
    }
}

#[test]
fn op_is_small() {
    assert!(std::mem::size_of::<ops::Op>() <= 12, "{}", std::mem::size_of::<ops::Op>());
}

#[test]
fn alu64_basics() {
    assert_eq!(r0("mov %r0, 7\nadd %r0, 5\nexit"), 12);
    assert_eq!(r0("mov %r0, 7\nsub %r0, 9\nexit"), (-2i64) as u64);
    assert_eq!(r0("mov %r0, -1\nexit"), u64::MAX, "mov imm sign-extends");
    assert_eq!(r0("lddw %r0, 0x100000000\nmul %r0, 3\nexit"), 0x3_0000_0000);
    assert_eq!(r0("mov %r0, 0xf0\nor %r0, 0x0f\nand %r0, 0x3c\nxor %r0, 0xff\nexit"), 0xc3);
    assert_eq!(r0("mov %r1, 3\nmov %r0, 4\nadd %r0, %r1\nexit"), 7);
    assert_eq!(r0("mov %r0, 1\nneg %r0\nexit"), u64::MAX);
    assert_eq!(r0("mov %r0, 5\nand %r0, -1\nexit"), 5, "and imm sign-extends");
}

#[test]
fn alu32_zero_extends() {
    assert_eq!(r0("mov32 %r0, -1\nexit"), 0xffff_ffff);
    assert_eq!(r0("lddw %r0, 0xffffffffffffffff\nadd32 %r0, 1\nexit"), 0);
    assert_eq!(r0("lddw %r0, 0x1234567800000001\nmov32 %r0, %r0\nexit"), 1);
    assert_eq!(r0("mov32 %r0, 1\nneg32 %r0\nexit"), 0xffff_ffff);
    assert_eq!(r0("lddw %r0, 0xffffffff00000002\nmul32 %r0, 3\nexit"), 6);
    assert_eq!(r0("lddw %r0, 0x100000000\nor32 %r0, 0\nexit"), 0);
}

#[test]
fn division_by_zero() {
    // div: dst = 0; mod: dst unchanged (64) / truncated to 32 bits (32).
    assert_eq!(r0("mov %r0, 9\nmov %r1, 0\ndiv %r0, %r1\nexit"), 0);
    assert_eq!(r0("mov %r0, 9\ndiv %r0, 0\nexit"), 0);
    assert_eq!(r0("lddw %r0, 0x100000009\nmov %r1, 0\ndiv32 %r0, %r1\nexit"), 0);
    assert_eq!(r0("lddw %r0, 0x100000009\nmov %r1, 0\nmod %r0, %r1\nexit"), 0x1_0000_0009);
    assert_eq!(r0("lddw %r0, 0x100000009\nmod %r0, 0\nexit"), 0x1_0000_0009);
    assert_eq!(r0("lddw %r0, 0x100000009\nmov %r1, 0\nmod32 %r0, %r1\nexit"), 9);
    assert_eq!(r0("lddw %r0, 0x100000009\nmod32 %r0, 0\nexit"), 9);
    // A 32-bit divisor is its low half: 0x1_0000_0000 is zero for div32.
    assert_eq!(r0("mov %r0, 9\nlddw %r1, 0x100000000\ndiv32 %r0, %r1\nexit"), 0);
    // Signed variants.
    assert_eq!(r0("mov %r0, -9\nmov %r1, 0\nsdiv %r0, %r1\nexit"), 0);
    assert_eq!(r0("mov %r0, -9\nmov %r1, 0\nsmod %r0, %r1\nexit"), (-9i64) as u64);
    assert_eq!(r0("mov %r0, -9\nsmod32 %r0, 0\nexit"), (-9i32) as u32 as u64);
    assert_eq!(r0("mov %r0, -9\nsdiv32 %r0, 0\nexit"), 0);
}

#[test]
fn signed_division() {
    assert_eq!(r0("mov %r0, -7\nsdiv %r0, 2\nexit"), (-3i64) as u64);
    assert_eq!(r0("mov %r0, -7\nsmod %r0, 2\nexit"), (-1i64) as u64);
    assert_eq!(r0("mov %r0, 7\nsmod %r0, -2\nexit"), 1);
    assert_eq!(r0("mov32 %r0, -7\nsdiv32 %r0, 2\nexit"), (-3i32) as u32 as u64);
    // INT_MIN / -1 does not trap: sdiv gives INT_MIN, smod gives 0.
    assert_eq!(r0("lddw %r0, 0x8000000000000000\nsdiv %r0, -1\nexit"), 0x8000_0000_0000_0000);
    assert_eq!(r0("lddw %r0, 0x8000000000000000\nmov %r1, -1\nsmod %r0, %r1\nexit"), 0);
    assert_eq!(r0("mov32 %r0, 0x80000000\nsdiv32 %r0, -1\nexit"), 0x8000_0000);
    assert_eq!(r0("mov32 %r0, 0x80000000\nmov32 %r1, -1\nsmod32 %r0, %r1\nexit"), 0);
    // Unsigned division by a negative immediate uses its sign-extended value.
    assert_eq!(r0("mov %r0, -1\ndiv %r0, -1\nexit"), 1);
}

#[test]
fn shifts_are_masked() {
    assert_eq!(r0("mov %r0, 1\nlsh %r0, 65\nexit"), 2);
    assert_eq!(r0("mov %r0, 1\nmov %r1, 64\nlsh %r0, %r1\nexit"), 1);
    assert_eq!(r0("mov32 %r0, 1\nlsh32 %r0, 33\nexit"), 2);
    assert_eq!(r0("mov32 %r0, 1\nmov %r1, 32\nlsh32 %r0, %r1\nexit"), 1);
    assert_eq!(r0("mov %r0, 4\nrsh %r0, 66\nexit"), 1);
    assert_eq!(r0("mov %r0, -8\narsh %r0, 1\nexit"), (-4i64) as u64);
    assert_eq!(r0("mov32 %r0, -8\narsh32 %r0, 1\nexit"), (-4i32) as u32 as u64);
    assert_eq!(r0("mov32 %r0, -8\narsh32 %r0, 33\nexit"), (-4i32) as u32 as u64);
    assert_eq!(r0("mov %r0, -1\nrsh32 %r0, 4\nexit"), 0x0fff_ffff);
}

#[test]
fn movsx_and_byte_swaps() {
    assert_eq!(r0("mov %r1, 0x80\nmovsx864 %r0, %r1\nexit"), (-128i64) as u64);
    assert_eq!(r0("mov %r1, 0x8000\nmovsx1664 %r0, %r1\nexit"), (-32768i64) as u64);
    assert_eq!(r0("mov32 %r1, 0x80000000\nmovsx3264 %r0, %r1\nexit"), 0xffff_ffff_8000_0000);
    assert_eq!(r0("mov %r1, 0x80\nmovsx832 %r0, %r1\nexit"), 0xffff_ff80);
    assert_eq!(r0("mov %r1, 0x8000\nmovsx1632 %r0, %r1\nexit"), 0xffff_8000);
    assert_eq!(r0("lddw %r0, 0x1122334455667788\nle16 %r0\nexit"), 0x7788);
    assert_eq!(r0("lddw %r0, 0x1122334455667788\nle32 %r0\nexit"), 0x5566_7788);
    assert_eq!(r0("lddw %r0, 0x1122334455667788\nle64 %r0\nexit"), 0x1122_3344_5566_7788);
    assert_eq!(r0("lddw %r0, 0x1122334455667788\nbe16 %r0\nexit"), 0x8877);
    assert_eq!(r0("lddw %r0, 0x1122334455667788\nbe32 %r0\nexit"), 0x8877_6655);
    assert_eq!(r0("lddw %r0, 0x1122334455667788\nbe64 %r0\nexit"), 0x8877_6655_4433_2211);
    assert_eq!(r0("lddw %r0, 0x1122334455667788\nbswap16 %r0\nexit"), 0x8877);
    assert_eq!(r0("lddw %r0, 0x1122334455667788\nbswap32 %r0\nexit"), 0x8877_6655);
    assert_eq!(r0("lddw %r0, 0x1122334455667788\nbswap64 %r0\nexit"), 0x8877_6655_4433_2211);
}

#[test]
fn loads_and_stores() {
    let mut mem = [0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0, 0, 0, 0, 0, 0, 0, 0];
    assert_eq!(r0_mem("ldxb %r0, [%r1+1]\nexit", &mut mem), 0x99);
    assert_eq!(r0_mem("ldxh %r0, [%r1+1]\nexit", &mut mem), 0xaa99);
    assert_eq!(r0_mem("ldxw %r0, [%r1+1]\nexit", &mut mem), 0xccbb_aa99);
    assert_eq!(r0_mem("ldxdw %r0, [%r1]\nexit", &mut mem), 0xffee_ddcc_bbaa_9988);
    assert_eq!(r0_mem("ldxsb %r0, [%r1]\nexit", &mut mem), 0xffff_ffff_ffff_ff88);
    assert_eq!(r0_mem("ldxsh %r0, [%r1]\nexit", &mut mem), 0xffff_ffff_ffff_9988);
    assert_eq!(r0_mem("ldxsw %r0, [%r1]\nexit", &mut mem), 0xffff_ffff_bbaa_9988);
    assert_eq!(r0_mem("mov %r0, %r2\nexit", &mut mem), 16, "r2 = length");
    // Stores land in the packet and are visible to the caller.
    let mut m = [0u8; 16];
    r0_mem("stb [%r1+0], 0x11\nsth [%r1+2], 0x2233\nstw [%r1+4], -1\nmov %r0, 0\nexit", &mut m);
    assert_eq!(&m[..8], &[0x11, 0, 0x33, 0x22, 0xff, 0xff, 0xff, 0xff]);
    let mut m = [0u8; 16];
    r0_mem("stdw [%r1+8], -2\nexit", &mut m);
    assert_eq!(u64::from_le_bytes(m[8..].try_into().expect("8 bytes")), (-2i64) as u64, "stdw imm sign-extends");
    let mut m = [0u8; 8];
    r0_mem("lddw %r2, 0x0102030405060708\nstxdw [%r1], %r2\nstxb [%r1], %r1\nexit", &mut m);
    assert_eq!(&m[1..], &[7, 6, 5, 4, 3, 2, 1]);
    // Stack.
    assert_eq!(r0("mov %r1, 0x55\nstxdw [%r10-8], %r1\nldxdw %r0, [%r10-8]\nexit"), 0x55);
    assert_eq!(r0("ldxdw %r0, [%r10-512]\nexit"), 0, "the stack starts zeroed");
}

#[test]
fn empty_memory_gives_null_r1_r2() {
    assert_eq!(r0("mov %r0, %r1\nor %r0, %r2\nexit"), 0);
    let e = err("ldxb %r0, [%r1]\nexit", &mut []);
    assert_eq!(e, VmError::OutOfBounds { pc: 0, addr: 0, size: 1, write: false });
}

#[test]
fn out_of_bounds_names_pc_and_address() {
    let mut mem = [0u8; 4];
    let e = err("mov %r0, 0\nldxw %r0, [%r1+2]\nexit", &mut mem);
    let VmError::OutOfBounds { pc, addr, size, write } = e.clone() else { panic!("{e:?}") };
    assert_eq!((pc, size, write), (1, 4, false));
    assert_eq!(e.pc(), Some(1));
    let text = e.to_string();
    assert!(text.contains("pc 1") && text.contains(&format!("{addr:#x}")), "{text}");
    assert!(text.contains("read"), "{text}");

    let e = err("stw [%r1+1], 0\nexit", &mut mem);
    assert!(matches!(e, VmError::OutOfBounds { pc: 0, size: 4, write: true, .. }), "{e:?}");
    assert!(e.to_string().contains("write"));

    // Just below the stack and at the top of the stack.
    assert!(matches!(err("ldxb %r0, [%r10-513]\nexit", &mut []), VmError::OutOfBounds { pc: 0, .. }));
    assert!(matches!(err("ldxb %r0, [%r10+0]\nexit", &mut []), VmError::OutOfBounds { pc: 0, .. }));
    // Address arithmetic wrapping around does not fool the check.
    assert!(matches!(
        err("lddw %r1, 0xffffffffffffffff\nldxdw %r0, [%r1]\nexit", &mut []),
        VmError::OutOfBounds { pc: 2, .. }
    ));
    // Unaligned in-bounds accesses are fine.
    let mut m = [1, 2, 3, 4, 5, 6, 7, 8, 9];
    assert_eq!(r0_mem("ldxdw %r0, [%r1+1]\nexit", &mut m), 0x0908_0706_0504_0302);
}

#[test]
fn read_only_regions() {
    let v = vm("ldxb %r0, [%r1]\nstb [%r1], 1\nexit");
    let data = [5u8; 4];
    let region = Region::from_ref(RegionKind::Ctx, &data);
    let e = v.run_with([region.start(), 0, 0, 0, 0], &[region], &mut ()).expect_err("write must fail");
    assert_eq!(e, VmError::ReadOnly { pc: 1, addr: region.start(), size: 1 });
    let v = vm("ldxb %r0, [%r1+3]\nexit");
    let o = v.run_with([region.start(), 0, 0, 0, 0], &[region], &mut ()).expect("read is fine");
    assert_eq!(o.r0, 5);
}

#[test]
fn several_regions() {
    // r1 = ctx, r2 = a second buffer; copy a byte from one to the other.
    let v = vm("ldxb %r3, [%r1+1]\nstxb [%r2+2], %r3\nldxb %r0, [%r2+2]\nldxb %r4, [%r1]\nadd %r0, %r4\nexit");
    let mut a = [10u8, 20];
    let mut b = [0u8; 3];
    let ra = Region::from_mut(RegionKind::Ctx, &mut a);
    let rb = Region::from_mut(RegionKind::MapValue, &mut b);
    let o = v.run_with([ra.start(), rb.start(), 0, 0, 0], &[ra, rb], &mut ()).expect("runs");
    assert_eq!(o.r0, 30);
    assert_eq!(b, [0, 0, 20]);
}

#[test]
fn atomics() {
    let pre = "stdw [%r10-8], 10\nmov %r1, 3\n";
    assert_eq!(r0(&format!("{pre}lock add [%r10-8], %r1\nldxdw %r0, [%r10-8]\nexit")), 13);
    assert_eq!(r0(&format!("{pre}lock fetch add [%r10-8], %r1\nmov %r0, %r1\nexit")), 10);
    assert_eq!(r0(&format!("{pre}lock or [%r10-8], %r1\nldxdw %r0, [%r10-8]\nexit")), 11);
    assert_eq!(r0(&format!("{pre}lock fetch or [%r10-8], %r1\nldxdw %r0, [%r10-8]\nadd %r0, %r1\nexit")), 21);
    assert_eq!(r0(&format!("{pre}lock and [%r10-8], %r1\nldxdw %r0, [%r10-8]\nexit")), 2);
    assert_eq!(r0(&format!("{pre}lock fetch and [%r10-8], %r1\nmov %r0, %r1\nexit")), 10);
    assert_eq!(r0(&format!("{pre}lock xor [%r10-8], %r1\nldxdw %r0, [%r10-8]\nexit")), 9);
    assert_eq!(
        r0(&format!("{pre}lock fetch xor [%r10-8], %r1\nldxdw %r0, [%r10-8]\nlsh %r0, 8\nor %r0, %r1\nexit")),
        0x90a
    );
    assert_eq!(r0(&format!("{pre}lock xchg [%r10-8], %r1\nldxdw %r0, [%r10-8]\nlsh %r0, 8\nor %r0, %r1\nexit")), 0x30a);
    // cmpxchg: success stores src and r0 = old; failure leaves memory, r0 = old.
    assert_eq!(
        r0(&format!(
            "{pre}mov %r0, 10\nlock cmpxchg [%r10-8], %r1\nldxdw %r2, [%r10-8]\nlsh %r0, 8\nor %r0, %r2\nexit"
        )),
        0xa03
    );
    assert_eq!(
        r0(&format!(
            "{pre}mov %r0, 11\nlock cmpxchg [%r10-8], %r1\nldxdw %r2, [%r10-8]\nlsh %r0, 8\nor %r0, %r2\nexit"
        )),
        0xa0a
    );
    // 32-bit: only the low word changes; fetched values are zero-extended.
    let pre32 = "lddw %r2, 0x1111111180000000\nstxdw [%r10-8], %r2\nlddw %r1, 0xffffffff00000001\n";
    assert_eq!(r0(&format!("{pre32}lock add32 [%r10-8], %r1\nldxdw %r0, [%r10-8]\nexit")), 0x1111_1111_8000_0001);
    assert_eq!(r0(&format!("{pre32}lock fetch add32 [%r10-8], %r1\nmov %r0, %r1\nexit")), 0x8000_0000);
    assert_eq!(r0(&format!("{pre32}lock xchg32 [%r10-8], %r1\nmov %r0, %r1\nexit")), 0x8000_0000);
    assert_eq!(
        r0(&format!("{pre32}lddw %r0, 0xffffffff80000000\nlock cmpxchg32 [%r10-8], %r1\nexit")),
        0x8000_0000,
        "cmpxchg32 compares the low word of r0 and zero-extends the old value"
    );
    assert_eq!(
        r0(&format!("{pre32}lddw %r0, 0xffffffff80000000\nlock cmpxchg32 [%r10-8], %r1\nldxdw %r0, [%r10-8]\nexit")),
        0x1111_1111_0000_0001
    );
    // Atomics are bounds-checked as writes.
    assert!(matches!(
        err("mov %r1, 1\nlock add [%r10+0], %r1\nexit", &mut []),
        VmError::OutOfBounds { pc: 1, write: true, .. }
    ));
}

#[test]
fn jumps() {
    let t = |cond: &str, a: &str, b: &str| -> u64 {
        r0(&format!("lddw %r1, {a}\nlddw %r2, {b}\nmov %r0, 1\n{cond} %r1, %r2, +1\nmov %r0, 0\nexit"))
    };
    assert_eq!(t("jeq", "5", "5"), 1);
    assert_eq!(t("jne", "5", "5"), 0);
    assert_eq!(t("jgt", "0xffffffffffffffff", "1"), 1);
    assert_eq!(t("jsgt", "0xffffffffffffffff", "1"), 0);
    assert_eq!(t("jge", "1", "1"), 1);
    assert_eq!(t("jsge", "0xfffffffffffffffe", "0xffffffffffffffff"), 0);
    assert_eq!(t("jlt", "1", "0xffffffffffffffff"), 1);
    assert_eq!(t("jslt", "1", "0xffffffffffffffff"), 0);
    assert_eq!(t("jle", "2", "1"), 0);
    assert_eq!(t("jsle", "0xffffffffffffffff", "0"), 1);
    assert_eq!(t("jset", "6", "2"), 1);
    assert_eq!(t("jset", "4", "2"), 0);
    // jmp32 only looks at the low halves.
    assert_eq!(t("jeq32", "0x100000005", "5"), 1);
    assert_eq!(t("jgt32", "0x100000000", "1"), 0);
    assert_eq!(t("jsgt32", "0x80000000", "1"), 0);
    assert_eq!(t("jslt32", "0xffffffff", "0"), 1);
    assert_eq!(t("jset32", "0x100000000", "0x100000000"), 0);
    // Immediates: sign-extended for 64-bit compares.
    assert_eq!(r0("mov %r0, -1\njeq %r0, -1, +1\nmov %r0, 0\nexit"), u64::MAX);
    assert_eq!(r0("mov32 %r0, -1\njeq %r0, -1, +1\nmov %r0, 0\nexit"), 0);
    assert_eq!(r0("mov32 %r0, -1\njeq32 %r0, -1, +1\nmov %r0, 0\nexit"), 0xffff_ffff);
    assert_eq!(r0("mov %r0, 0\njsgt %r0, -1, +1\nexit\nmov %r0, 2\nexit"), 2);
    // ja and ja32 (gotol).
    assert_eq!(r0("mov %r0, 1\nja +1\nmov %r0, 2\nexit"), 1);
    assert_eq!(r0("mov %r0, 1\nja32 +1\nmov %r0, 2\nexit"), 1);
    // A loop: sum 1..=10.
    assert_eq!(r0("mov %r0, 0\nmov %r1, 10\nL: add %r0, %r1\nsub %r1, 1\njne %r1, 0, L\nexit"), 55);
}

#[test]
fn lddw_and_pseudo_values() {
    assert_eq!(r0("lddw %r0, 0x123456789abcdef0\nexit"), 0x1234_5678_9abc_def0);
    let e = err("lddw %r1, map_fd(3)\nmov %r0, 0\nexit", &mut []);
    assert!(matches!(e, VmError::Unresolved { pc: 0, .. }), "{e:?}");
    assert!(e.to_string().contains("needs a loaded object"), "{e}");
    // A resolver turns it into a value when the VM is built.
    let resolver: Resolver = Arc::new(|pc, imm| match imm {
        Imm64::MapFd(fd) => Some(0x1000 + fd as u64 + pc as u64),
        _ => None,
    });
    let v =
        vm_with("mov %r0, 0\nlddw %r0, map_fd(3)\nexit", VmOptions { resolver: Some(resolver), ..Default::default() });
    assert_eq!(v.run(&mut []).map(|o| o.r0), Ok(0x1004));
    // The second slot counts as part of one instruction.
    assert_eq!(vm("lddw %r0, 1\nexit").run(&mut []).map(|o| o.insns_executed), Ok(2));
}

#[test]
fn legacy_packet_loads() {
    let mut pkt = [0x12, 0x34, 0x56, 0x78, 0x9a];
    assert_eq!(r0_mem("ldabsb 1\nexit", &mut pkt), 0x34);
    assert_eq!(r0_mem("ldabsh 1\nexit", &mut pkt), 0x3456);
    assert_eq!(r0_mem("ldabsw 1\nexit", &mut pkt), 0x3456_789a);
    assert_eq!(r0_mem("mov %r3, 2\nldindh %r3, 1\nexit", &mut pkt), 0x789a);
    assert_eq!(r0_mem("mov %r3, -1\nldindb %r3, 1\nexit", &mut pkt), 0x12);
    // Out of range: the program exits with r0 = 0 right there.
    assert_eq!(r0_mem("mov %r0, 7\nldabsw 2\nmov %r0, 9\nexit", &mut pkt), 0);
    assert_eq!(r0_mem("mov %r0, 7\nmov %r3, -3\nldindb %r3, 1\nmov %r0, 9\nexit", &mut pkt), 0);
    assert_eq!(r0("ldabsb 0\nmov %r0, 9\nexit"), 0, "no packet at all");
    let o = vm("mov %r0, 7\nldabsw 4\nmov %r0, 9\nexit").run(&mut pkt).expect("runs");
    assert_eq!(o, RunOutcome { r0: 0, insns_executed: 2 });
}

#[test]
fn local_calls_restore_callee_saved_registers() {
    let src = "
        mov %r6, 1
        mov %r7, 2
        mov %r1, 40
        call local f
        add %r0, %r6
        add %r0, %r7
        exit
    f:
        mov %r6, 100
        mov %r7, 200
        mov %r0, %r1
        add %r0, 2
        exit";
    assert_eq!(r0(src), 45);
}

#[test]
fn each_frame_has_its_own_stack() {
    let src = "
        stdw [%r10-8], 11
        mov %r1, %r10
        call local f
        ldxdw %r2, [%r10-8]
        lsh %r2, 8
        or %r0, %r2
        exit
    f:
        stdw [%r10-8], 22
        ldxdw %r0, [%r1-8]
        exit";
    // The callee's [r10-8] is not the caller's; the caller's slot is reachable by pointer.
    assert_eq!(r0(src), 0x0b0b);
    // The callee can write into the caller's frame through a pointer.
    let src = "
        mov %r1, %r10
        call local f
        ldxdw %r0, [%r10-16]
        exit
    f:
        stdw [%r1-16], 33
        exit";
    assert_eq!(r0(src), 33);
    // After the callee returned its frame is dead: reaching it through a stale pointer faults.
    let src = "
        call local f
        ldxdw %r0, [%r0-8]
        exit
    f:
        mov %r0, %r10
        exit";
    assert!(matches!(err(src, &mut []), VmError::OutOfBounds { pc: 1, write: false, .. }));
    // r10 is restored after a call.
    assert_eq!(r0("mov %r6, %r10\ncall local f\nmov %r0, %r10\nsub %r0, %r6\nexit\nf: mov %r0, 0\nexit"), 0);
}

#[test]
fn call_depth_limit() {
    // Depth counter in r6 (callee-saved, so each frame sees its caller's value + 1 in r1).
    let chain = |n: u32| {
        format!(
            "mov %r1, 1\ncall local f\nexit\nf: jge %r1, {n}, +3\nadd %r1, 1\ncall local f\nexit\nmov %r0, %r1\nexit"
        )
    };
    // 7 nested calls = 8 frames: fine.
    assert_eq!(r0(&chain(7)), 7);
    let e = err(&chain(8), &mut []);
    assert_eq!(e, VmError::CallDepthExceeded { pc: 5, max: 8 });
    // Unbounded recursion.
    assert!(matches!(err("call local f\nexit\nf: call local f\nexit", &mut []), VmError::CallDepthExceeded { .. }));
}

#[test]
fn callx() {
    // A helper id in a register (conformance helper 5 returns r1).
    assert_eq!(r0("mov %r1, 42\nmov %r8, 5\ncallx %r8\nexit"), 42);
    // A function address from lddw src=4.
    let src = "mov %r1, 5\nlddw %r2, func(g)\ncallx %r2\nexit\ng: mov %r0, %r1\nmul %r0, 3\nexit";
    assert_eq!(r0(src), 15);
    let v = vm(src);
    assert_eq!(v.program().functions(), &[0, 5]);
    // The tagged value is no pointer.
    let e = err("lddw %r1, func(+1)\nldxb %r0, [%r1]\nexit", &mut []);
    assert!(
        matches!(e, VmError::OutOfBounds { pc: 2, addr, .. } if addr & 0xffff_ffff_0000_0000 == FUNC_ADDR_TAG),
        "{e:?}"
    );
    // A tagged value that is not a function entry.
    let e = err(&format!("lddw %r1, {:#x}\ncallx %r1\nexit", FUNC_ADDR_TAG | 1), &mut []);
    assert!(matches!(e, VmError::BadCallTarget { pc: 2, .. }), "{e:?}");
    // Unknown ids.
    assert_eq!(err("mov %r1, 77\ncallx %r1\nexit", &mut []), VmError::UnknownHelper { pc: 1, id: 77 });
    assert_eq!(
        err("lddw %r1, 0x100000005\ncallx %r1\nexit", &mut []),
        VmError::UnknownHelper { pc: 2, id: 0x1_0000_0005 }
    );
}

#[test]
fn helpers() {
    // Conformance helper 5: returns r1, exits with 0 when r1 == 0.
    assert_eq!(r0("mov %r1, 9\ncall 5\nexit"), 9);
    let o = vm("mov %r0, 3\nmov %r1, 0\ncall 5\nmov %r0, 9\nexit").run(&mut []).expect("runs");
    assert_eq!(o, RunOutcome { r0: 0, insns_executed: 3 });
    assert_eq!(err("call 6\nexit", &mut []), VmError::UnknownHelper { pc: 0, id: 6 });
    let e = vm_with("mov %r1, 1\ncall 5\nexit", VmOptions::default()).run(&mut []).expect_err("no helpers");
    assert_eq!(e, VmError::UnknownHelper { pc: 1, id: 5 });
    assert!(e.to_string().contains("pc 1"));
}

#[test]
fn helper_context_memory_and_env() {
    #[derive(Default)]
    struct Env {
        calls: u32,
    }
    // sum(ptr, len): reads program memory through the checked context.
    fn sum(ctx: &mut HelperCtx<'_>, a: [u64; 5]) -> Result<HelperOutcome, VmError> {
        let mut buf = vec![0u8; a[1] as usize];
        ctx.read(a[0], &mut buf)?;
        let err = ctx.fail("no env");
        ctx.env::<Env>().ok_or(err)?.calls += 1;
        ctx.write_u64(a[0], 0xdead)?;
        Ok(HelperOutcome::Return(buf.iter().map(|&b| b as u64).sum()))
    }
    let mut helpers = HelperTable::empty();
    helpers.register(HelperProto::new(100, "sum", RetType::INTEGER, &[ArgType::PTR_TO_MEM, ArgType::CONST_SIZE]), sum);
    assert!(helpers.register_kernel(5, sum).is_some());
    assert!(helpers.register_kernel(5000, sum).is_none());
    assert_eq!(helpers.get(5).map(|e| e.proto.name), Some("ktime_get_ns"));
    let v = vm_with(
        "stdw [%r10-8], 0\nstb [%r10-8], 3\nstb [%r10-7], 4\nmov %r1, %r10\nsub %r1, 8\nmov %r2, 8\ncall 100\nldxdw %r1, [%r10-8]\nadd %r0, %r1\nexit",
        VmOptions { helpers: helpers.clone(), ..Default::default() },
    );
    let mut env = Env::default();
    let o = v.run_with([0; 5], &[], &mut env).expect("runs");
    assert_eq!(o.r0, 7 + 0xdead);
    assert_eq!(env.calls, 1);
    // Without the env the helper reports its own failure, naming the call.
    let e = v.run_with([0; 5], &[], &mut ()).expect_err("no env");
    assert!(matches!(&e, VmError::Helper { pc: 6, id: 100, .. }), "{e:?}");
    // Helper memory access is checked too.
    let v = vm_with("mov %r1, 0\nmov %r2, 4\ncall 100\nexit", VmOptions { helpers, ..Default::default() });
    assert_eq!(
        v.run_with([0; 5], &[], &mut Env::default()),
        Err(VmError::OutOfBounds { pc: 2, addr: 0, size: 4, write: false })
    );
}

#[test]
fn budget() {
    let v = vm_with("L: ja L\nexit", VmOptions { max_insns: 1000, ..Default::default() });
    assert_eq!(v.run(&mut []), Err(VmError::BudgetExceeded { pc: 0, executed: 1000 }));
    assert!(v.run(&mut []).expect_err("loops").to_string().contains("after 1000 instructions"));
    // Exactly enough budget.
    let v = vm_with("mov %r0, 1\nexit", VmOptions { max_insns: 2, ..Default::default() });
    assert_eq!(v.run(&mut []), Ok(RunOutcome { r0: 1, insns_executed: 2 }));
    let v = vm_with("mov %r0, 1\nexit", VmOptions { max_insns: 1, ..Default::default() });
    assert_eq!(v.run(&mut []), Err(VmError::BudgetExceeded { pc: 1, executed: 1 }));
    assert_eq!(VmOptions::default().max_insns, DEFAULT_MAX_INSNS);
}

#[test]
fn structural_errors() {
    assert_eq!(err("mov %r0, 0", &mut []), VmError::FellOffEnd { pc: 1 });
    assert!(matches!(Vm::new(vec![], VmOptions::default()), Err(VmError::EmptyProgram)));
    let bad = vec![Insn::Ja { off: 5, wide: false }, Insn::Exit];
    assert!(matches!(Vm::new(bad, VmOptions::default()), Err(VmError::Jump(_))));
    let lone_tail = vec![Insn::LoadImm64Tail, Insn::Exit];
    assert_eq!(Vm::new(lone_tail, VmOptions::default()).map(|_| ()), Err(VmError::MalformedLddw { pc: 0 }));
    let no_tail = vec![Insn::LoadImm64 { dst: Reg::R0, imm: Imm64::Value(1) }, Insn::Exit];
    assert_eq!(Vm::new(no_tail, VmOptions::default()).map(|_| ()), Err(VmError::MalformedLddw { pc: 0 }));
    let e = err("call runtime 7\nexit", &mut []);
    assert_eq!(e, VmError::Kfunc { pc: 0, btf_id: 7 });
}

#[test]
fn insn_count() {
    let o = vm("mov %r0, 0\nmov %r1, 3\nL: add %r0, 1\nsub %r1, 1\njne %r1, 0, L\nexit").run(&mut []).expect("runs");
    assert_eq!(o, RunOutcome { r0: 3, insns_executed: 2 + 3 * 3 + 1 });
}

#[test]
fn vm_is_shareable() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Vm>();
}

mod differential {
    //! Straight-line ALU programs agree with rbpf's interpreter where both follow
    //! RFC 9669 (rbpf lacks sdiv/smod/movsx and leaves `mod32` by zero untruncated).
    use super::*;
    use bpfbox_isa::{encode_program, AluOp, Operand, Width};
    use proptest::prelude::*;

    fn arb_insn() -> impl Strategy<Value = Insn> {
        let ops = prop::sample::select(vec![
            AluOp::Add,
            AluOp::Sub,
            AluOp::Mul,
            AluOp::Div,
            AluOp::Or,
            AluOp::And,
            AluOp::Lsh,
            AluOp::Rsh,
            AluOp::Mod,
            AluOp::Xor,
            AluOp::Mov,
            AluOp::Arsh,
        ]);
        let reg = (0u8..10).prop_map(|n| Reg::new(n).expect("r0..r9"));
        let imm = prop_oneof![Just(0i32), Just(-1), Just(1), Just(i32::MIN), any::<i32>(), 0i32..70];
        let src = prop_oneof![reg.clone().prop_map(Operand::Reg), imm.prop_map(Operand::Imm)];
        let width = prop_oneof![Just(Width::W64), Just(Width::W32)];
        (ops, width, reg, src).prop_map(|(op, width, dst, src)| Insn::Alu { op, width, dst, src })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]
        #[test]
        fn alu_matches_rbpf(seed in any::<[u64; 10]>(), body in prop::collection::vec(arb_insn(), 1..40)) {
            // mod32 by zero: rbpf keeps the upper half; skip those programs.
            let risky = body.iter().any(|i| matches!(i, Insn::Alu { op: AluOp::Mod, width: Width::W32, .. }));
            prop_assume!(!risky);
            let mut insns = Vec::new();
            for (n, v) in seed.iter().enumerate() {
                insns.push(Insn::LoadImm64 { dst: Reg::new(n as u8).expect("reg"), imm: Imm64::Value(*v) });
                insns.push(Insn::LoadImm64Tail);
            }
            insns.extend(body);
            // Fold every register into r0.
            for n in 1..10u8 {
                let r = Reg::new(n).expect("reg");
                insns.push(Insn::Alu { op: AluOp::Lsh, width: Width::W64, dst: Reg::R0, src: Operand::Imm(7) });
                insns.push(Insn::Alu { op: AluOp::Xor, width: Width::W64, dst: Reg::R0, src: Operand::Reg(r) });
            }
            insns.push(Insn::Exit);
            let bytes = encode_program(&insns);
            let ours = Vm::new(insns, VmOptions::default()).expect("valid").run(&mut []).expect("runs").r0;
            let theirs = rbpf::EbpfVmNoData::new(Some(&bytes)).expect("rbpf loads").execute_program().expect("rbpf runs");
            prop_assert_eq!(ours, theirs);
        }
    }
}

#[test]
fn may_goto_counts_per_frame_invocation() {
    // `while (can_loop) r0++`: the budget lets the body run MAY_GOTO_BUDGET times.
    let budget = bpfbox_isa::MAY_GOTO_BUDGET;
    assert_eq!(r0("mov %r0, 0\nL: may_goto done\nadd %r0, 1\nja L\ndone: exit"), budget);
    // Two may_goto in one function share its budget.
    assert_eq!(
        r0("mov %r0, 0\nL: may_goto done\nmay_goto done\nadd %r0, 1\nja L\ndone: exit"),
        budget / 2,
        "each execution of either instruction spends one"
    );
    // A callee's invocation starts with a fresh budget; the caller's is its own.
    let src = "mov %r6, 0\nA: may_goto out\ncall local f\nadd %r6, %r0\nmov %r1, %r6\nrsh %r1, 20\n\
               jeq %r1, 0, A\nout: mov %r0, %r6\nexit\n\
               f: mov %r0, 0\nB: may_goto ret\nadd %r0, 1\nja B\nret: exit";
    // Each call counts to the budget; the caller loops until 2^20 is passed, once.
    assert_eq!(r0(src), budget);
    // may_goto +0 is a no-op either way.
    assert_eq!(r0("mov %r0, 3\nmay_goto +0\nexit"), 3);
}

#[test]
fn load_acquire_store_release() {
    let pre = "lddw %r1, 0x8877665544332211\nstxdw [%r10-8], %r1\n";
    assert_eq!(r0(&format!("{pre}ldxacqdw %r0, [%r10-8]\nexit")), 0x8877_6655_4433_2211);
    assert_eq!(r0(&format!("{pre}ldxacqw %r0, [%r10-8]\nexit")), 0x4433_2211);
    assert_eq!(r0(&format!("{pre}ldxacqh %r0, [%r10-4]\nexit")), 0x6655);
    assert_eq!(r0(&format!("{pre}ldxacqb %r0, [%r10-1]\nexit")), 0x88, "zero-extends");
    let st = |size: &str| {
        r0(&format!("{pre}lddw %r2, 0xffffffffffffffff\nstxrel{size} [%r10-8], %r2\nldxdw %r0, [%r10-8]\nexit"))
    };
    assert_eq!(st("b"), 0x8877_6655_4433_22ff);
    assert_eq!(st("h"), 0x8877_6655_4433_ffff);
    assert_eq!(st("w"), 0x8877_6655_ffff_ffff);
    assert_eq!(st("dw"), u64::MAX);
    // Misaligned (the kernel refuses these; here a plain access) and out of bounds.
    assert_eq!(r0(&format!("{pre}ldxacqw %r0, [%r10-7]\nexit")), 0x5544_3322);
    assert!(matches!(err("ldxacqdw %r0, [%r10+0]\nexit", &mut []), VmError::OutOfBounds { pc: 0, write: false, .. }));
    assert!(matches!(
        err("mov %r1, 1\nstxreldw [%r10+0], %r1\nexit", &mut []),
        VmError::OutOfBounds { pc: 1, write: true, .. }
    ));
    // Read-only memory can be load-acquired, not store-released.
    let data = [7u8, 0, 0, 0];
    let ro = Region::from_ref(RegionKind::Ctx, &data);
    let v = vm("ldxacqw %r0, [%r1+0]\nexit");
    assert_eq!(v.run_with([ro.start(), 0, 0, 0, 0], &[ro], &mut ()).map(|o| o.r0), Ok(7));
    let v = vm("stxrelw [%r1+0], %r1\nexit");
    assert!(v.run_with([ro.start(), 0, 0, 0, 0], &[ro], &mut ()).is_err());
}

#[test]
fn addr_space_cast_keeps_the_low_32_bits() {
    assert_eq!(r0("lddw %r1, 0x123456789\naddr_space_cast %r0, %r1, 0, 1\nexit"), 0x2345_6789);
    assert_eq!(r0("lddw %r1, 0x123456789\naddr_space_cast %r0, %r1, 1, 0\nexit"), 0x2345_6789);
    assert_eq!(r0("lddw %r1, 0x100000000\naddr_space_cast %r0, %r1, 1, 0\nexit"), 0, "NULL stays NULL");
}
