//! Shared helpers of the runtime tests: programs in llvm-objdump syntax.
#![allow(dead_code)]

use bpfbox_isa::{assemble, Imm64, Insn, Syntax};
use bpfbox_vm::{MapDef, MapId, ProgId, Runtime, RuntimeOptions, TestRunInput, TestRunOutput};

pub fn asm(src: &str) -> Vec<Insn> {
    match assemble(src, Syntax::Llvm) {
        Ok(p) => p,
        Err(e) => panic!("assembly failed: {e}\n{src}"),
    }
}

/// `main` followed by `callbacks` (each a function); every `ld_pseudo rN, 0x4, K`
/// in `main` is patched to point at the K-th callback.
pub fn with_callbacks(main: &str, callbacks: &[&str]) -> Vec<Insn> {
    let mut p = asm(main);
    let mut starts = Vec::new();
    for cb in callbacks {
        starts.push(p.len());
        p.extend(asm(cb));
    }
    for (pc, insn) in p.iter_mut().enumerate() {
        if let Insn::LoadImm64 { imm: Imm64::Func(k), .. } = insn {
            let target = starts[*k as usize];
            *k = (target as i64 - pc as i64 - 1) as i32;
        }
    }
    p
}

/// The options every test runtime starts from: deterministic, on the engine
/// `BPFBOX_TEST_ENGINE` names (`interp`, the default, or `jit`: scripts/test.sh runs
/// these tests once more on bpfbox's JIT, which must give the same results).
pub fn options() -> RuntimeOptions {
    let mut o = RuntimeOptions::deterministic(2);
    match std::env::var("BPFBOX_TEST_ENGINE").as_deref() {
        Ok("jit") => o.engine = Some(std::sync::Arc::new(bpfbox_jit::JitEngine)),
        Ok("interp") | Err(_) => {}
        Ok(other) => panic!("BPFBOX_TEST_ENGINE={other}: interp or jit"),
    }
    o
}

pub fn rt() -> Runtime {
    Runtime::new(options())
}

pub fn map(rt: &Runtime, name: &str, map_type: u32, key: u32, value: u32, max: u32) -> MapId {
    map_flags(rt, name, map_type, key, value, max, 0)
}

pub fn map_flags(rt: &Runtime, name: &str, map_type: u32, key: u32, value: u32, max: u32, flags: u32) -> MapId {
    let def = MapDef {
        name: name.into(),
        map_type,
        key_size: key,
        value_size: value,
        max_entries: max,
        map_flags: flags,
        ..Default::default()
    };
    match rt.create_map(&def) {
        Ok(id) => id,
        Err(e) => panic!("{e}"),
    }
}

pub fn load(rt: &Runtime, prog_type: u32, src: &str, maps: &[MapId]) -> ProgId {
    load_insns(rt, prog_type, asm(src), maps)
}

pub fn load_insns(rt: &Runtime, prog_type: u32, insns: Vec<Insn>, maps: &[MapId]) -> ProgId {
    match rt.load_program("test", prog_type, insns, maps) {
        Ok(id) => id,
        Err(e) => panic!("{e}"),
    }
}

pub fn run(rt: &Runtime, prog: ProgId, data: &[u8]) -> TestRunOutput {
    run_input(rt, prog, TestRunInput { data_in: data.to_vec(), ..Default::default() })
}

pub fn run_input(rt: &Runtime, prog: ProgId, input: TestRunInput) -> TestRunOutput {
    match rt.test_run(prog, &input) {
        Ok(o) => o,
        Err(e) => panic!("{e}"),
    }
}

pub fn ctx_run(rt: &Runtime, prog: ProgId, ctx: &[u8]) -> TestRunOutput {
    run_input(rt, prog, TestRunInput { ctx_in: Some(ctx.to_vec()), ..Default::default() })
}

pub const XDP: u32 = 6;
pub const SCHED_CLS: u32 = 3;
pub const SOCKET_FILTER: u32 = 1;
pub const CGROUP_SKB: u32 = 8;
pub const KPROBE: u32 = 2;
pub const TRACEPOINT: u32 = 5;
pub const RAW_TP: u32 = 17;
pub const SYSCALL: u32 = 31;

pub const HASH: u32 = 1;
pub const ARRAY: u32 = 2;
pub const PROG_ARRAY: u32 = 3;
pub const PERF_EVENT_ARRAY: u32 = 4;
pub const PERCPU_HASH: u32 = 5;
pub const PERCPU_ARRAY: u32 = 6;
pub const LRU_HASH: u32 = 9;
pub const LRU_PERCPU_HASH: u32 = 10;
pub const LPM_TRIE: u32 = 11;
pub const ARRAY_OF_MAPS: u32 = 12;
pub const HASH_OF_MAPS: u32 = 13;
pub const DEVMAP: u32 = 14;
pub const QUEUE: u32 = 22;
pub const STACK: u32 = 23;
pub const RINGBUF: u32 = 27;
pub const BLOOM: u32 = 30;

/// An Ethernet + IPv4 + UDP packet (42 bytes of headers + `payload`).
pub fn udp_packet(payload: &[u8]) -> Vec<u8> {
    let mut p = vec![
        0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02, 0x08, 0x00, // eth
        0x45, 0x00, 0, 0, 0x00, 0x01, 0x40, 0x00, 0x40, 0x11, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, // ipv4
        0x30, 0x39, 0x00, 0x35, 0, 0, 0, 0, // udp 12345 -> 53
    ];
    p.extend_from_slice(payload);
    let ip_len = (p.len() - 14) as u16;
    p[16..18].copy_from_slice(&ip_len.to_be_bytes());
    let udp_len = (p.len() - 34) as u16;
    p[38..40].copy_from_slice(&udp_len.to_be_bytes());
    let mut sum: u32 = 0;
    for w in p[14..34].chunks(2) {
        sum += u16::from_be_bytes([w[0], w[1]]) as u32;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    p[24..26].copy_from_slice(&(!(sum as u16)).to_be_bytes());
    p
}

/// Asm that stores `bytes` (zero-padded to 8) on the stack from `r10 - off` up (clobbers r9).
pub fn stack_bytes(off: i32, bytes: &[u8]) -> String {
    let mut s = String::new();
    for (i, c) in bytes.chunks(8).enumerate() {
        let mut w = [0u8; 8];
        w[..c.len()].copy_from_slice(c);
        let v = u64::from_le_bytes(w);
        s.push_str(&format!("r9 = {v:#x} ll\n*(u64 *)(r10 - {}) = r9\n", off - 8 * i as i32));
    }
    s
}

/// A deterministic runtime with `RuntimeOptions` tweaked by `f`.
pub fn rt_with(f: impl FnOnce(&mut RuntimeOptions)) -> Runtime {
    let mut o = options();
    f(&mut o);
    Runtime::new(o)
}

pub fn err_of(rt: &Runtime, prog: ProgId, input: TestRunInput) -> bpfbox_vm::RuntimeError {
    match rt.test_run(prog, &input) {
        Ok(o) => panic!("expected an error, got {o:?}"),
        Err(e) => e,
    }
}

pub fn neg(e: i32) -> u64 {
    (-(e as i64)) as u64
}
