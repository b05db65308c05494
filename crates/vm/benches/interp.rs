//! bpfbox's interpreter against rbpf 0.4's interpreter on the same bytecode.
//!
//! Three programs (`benches/progs/*.asm`, uBPF syntax, assembled with bpfbox-isa):
//! a tight arithmetic loop, a checksum over a 1500-byte packet and a loop of
//! bpf-to-bpf calls (rbpf 0.4 supports local calls, so both engines run the same
//! code). Criterion measures each pair; then the binary measures each engine again
//! with a plain timed loop and prints `program | bpfbox ns/run | rbpf ns/run | speedup`.
//!
//! rbpf sets only r1 (the memory address), not r2, so the programs do not read r2.

use bpfbox_isa::{assemble, encode_program, Insn, Syntax};
use bpfbox_vm::{Vm, VmOptions};
use criterion::Criterion;
use std::hint::black_box;
use std::time::{Duration, Instant};

struct Case {
    name: &'static str,
    insns: Vec<Insn>,
    bytes: Vec<u8>,
    packet: Vec<u8>,
}

fn case(name: &'static str, src: &str, packet: Vec<u8>) -> Case {
    let insns = match assemble(src, Syntax::Ubpf) {
        Ok(p) => p,
        Err(e) => panic!("{name}: {e}"),
    };
    let bytes = encode_program(&insns);
    Case { name, insns, bytes, packet }
}

fn cases() -> Vec<Case> {
    let packet: Vec<u8> = (0..1500u32).map(|i| (i.wrapping_mul(131) ^ (i >> 3)) as u8).collect();
    vec![
        case("arith_loop", include_str!("progs/arith_loop.asm"), Vec::new()),
        case("checksum_1500", include_str!("progs/checksum.asm"), packet),
        case("local_calls", include_str!("progs/calls.asm"), Vec::new()),
    ]
}

/// The three engines, ready to run one case.
struct Engines<'a> {
    ours: Vm,
    rbpf: rbpf::EbpfVmMbuff<'a>,
}

impl<'a> Engines<'a> {
    fn new(c: &'a Case) -> Engines<'a> {
        let ours = Vm::new(c.insns.clone(), VmOptions::default()).expect("bpfbox accepts the program");
        let rbpf = rbpf::EbpfVmMbuff::new(Some(&c.bytes)).expect("rbpf accepts the program");
        Engines { ours, rbpf }
    }
    fn bpfbox(&self, mem: &mut [u8]) -> u64 {
        self.ours.run(mem).expect("bpfbox runs").r0
    }
    fn bpfbox_unchecked(&self, mem: &mut [u8]) -> u64 {
        // SAFETY: the benchmark programs only touch the packet and their stack frame
        // (checked against the checked run below before any measurement).
        unsafe { self.ours.run_unchecked(mem) }.expect("bpfbox runs").r0
    }
    fn rbpf(&self, mem: &[u8]) -> u64 {
        // With an empty metadata buffer rbpf passes `mem` in r1.
        self.rbpf.execute_program(mem, &[]).expect("rbpf runs")
    }
}

/// Best average over several ~150 ms batches, in ns per run.
fn time_per_run(mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_millis(100) {
        f();
        n += 1;
    }
    let per_batch = (n.max(1) * 3 / 2).max(1);
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let t = Instant::now();
        for _ in 0..per_batch {
            f();
        }
        best = best.min(t.elapsed().as_nanos() as f64 / per_batch as f64);
    }
    best
}

fn main() {
    let cases = cases();
    for c in &cases {
        let e = Engines::new(c);
        let mut mem = c.packet.clone();
        let a = e.bpfbox(&mut mem);
        let b = e.rbpf(&c.packet);
        let u = e.bpfbox_unchecked(&mut mem);
        assert_eq!(a, b, "{}: bpfbox and rbpf disagree", c.name);
        assert_eq!(a, u, "{}: checked and unchecked disagree", c.name);
    }

    // BPFBOX_BENCH_QUICK=1: only the summary table.
    let quick = std::env::var_os("BPFBOX_BENCH_QUICK").is_some_and(|v| v != "0");
    if !quick {
        run_criterion(&cases);
    }

    // `cargo bench -- <filter>` or `--list`: skip the summary.
    if std::env::args().skip(1).any(|a| !a.starts_with('-')) || std::env::args().any(|a| a == "--list") {
        return;
    }
    summary(&cases);
}

fn run_criterion(cases: &[Case]) {
    let mut crit = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    for c in cases {
        let e = Engines::new(c);
        let mut g = crit.benchmark_group(c.name);
        let mut mem = c.packet.clone();
        g.bench_function("bpfbox", |b| b.iter(|| e.bpfbox(black_box(&mut mem))));
        g.bench_function("bpfbox_unchecked", |b| b.iter(|| e.bpfbox_unchecked(black_box(&mut mem))));
        g.bench_function("rbpf", |b| b.iter(|| e.rbpf(black_box(&c.packet))));
        g.finish();
    }
    crit.final_summary();
}

fn summary(cases: &[Case]) {
    println!();
    println!(
        "| program | bpfbox ns/run | bpfbox unchecked ns/run | rbpf ns/run | speedup (checked) | speedup (unchecked) |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for c in cases {
        let e = Engines::new(c);
        let mut mem = c.packet.clone();
        let ours = time_per_run(|| {
            black_box(e.bpfbox(black_box(&mut mem)));
        });
        let unchecked = time_per_run(|| {
            black_box(e.bpfbox_unchecked(black_box(&mut mem)));
        });
        let theirs = time_per_run(|| {
            black_box(e.rbpf(black_box(&c.packet)));
        });
        println!(
            "| {} | {:.0} | {:.0} | {:.0} | {:.2}x | {:.2}x |",
            c.name,
            ours,
            unchecked,
            theirs,
            theirs / ours,
            theirs / unchecked
        );
    }
}
