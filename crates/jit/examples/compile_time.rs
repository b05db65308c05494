//! Compile time of the JIT, for working on it: the median time to compile each
//! benchmark program (tests/bench) and the synthetic 1,000-instruction program of
//! `benches/jit.rs`, unchecked with both register allocators and checked.
//!
//! ```text
//! cargo run --release -p bpfbox-jit --example compile_time            # the table
//! PASSES=1 cargo run --release -p bpfbox-jit --example compile_time   # + Cranelift's pass times
//! ONLY=checksum BPFBOX_JIT_DUMP=1 ...compile_time                 # one program's IR and code
//!                                                                     # (CHECKED=1: checked code)
//! SIZE=250 ...compile_time                                            # a synthetic program of 250
//!                                                                     # instructions instead of 1,000
//! OBJECTS=1 ...compile_time                                           # the repository's programs of
//!                                                                     # 200+ instructions instead
//! SYNTHETIC=20 REGALLOC=single_pass ...compile_time                   # only compile the synthetic
//!                                                                     # program 20 times (unchecked;
//!                                                                     # CHECKED=1: checked)
//! ```
//!
//! `SYNTHETIC=N` is for profilers: on a shared machine wall-clock times are noisy,
//! while `valgrind --tool=callgrind` instruction counts of `SYNTHETIC=10` minus
//! `SYNTHETIC=0` are exact.

#![allow(clippy::unwrap_used)]

#[path = "../benches/common/mod.rs"]
mod common;

use bpfbox_isa::Insn;
use bpfbox_jit::{JitOptions, JitProgram, RegAlloc};
use std::path::Path;
use std::time::Instant;

/// Median compile time in µs over `n` compiles.
fn median_us(insns: &[Insn], opts: &JitOptions, n: usize) -> f64 {
    let mut v: Vec<f64> = (0..n)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(JitProgram::compile(insns, opts).unwrap());
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn env_usize(name: &str) -> Option<usize> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

fn main() {
    let unchecked = JitOptions { checked: false, count_insns: false, ..Default::default() };
    let fast = JitOptions { regalloc: RegAlloc::SinglePass, ..unchecked.clone() };
    let checked = JitOptions::default();
    let synthetic = match env_usize("SIZE") {
        Some(n) => common::synthetic(n),
        None => common::thousand(),
    };
    if let Some(n) = env_usize("SYNTHETIC") {
        let opts = if std::env::var("CHECKED").is_ok_and(|v| v == "1") {
            &checked
        } else if std::env::var("REGALLOC").is_ok_and(|v| v == "single_pass") {
            &fast
        } else {
            &unchecked
        };
        for _ in 0..n {
            std::hint::black_box(JitProgram::compile(&synthetic, opts).unwrap());
        }
        return;
    }

    if std::env::var_os("OBJECTS").is_some() {
        objects(&unchecked, &fast);
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/bench");
    let mut progs: Vec<(String, Vec<Insn>)> = Vec::new();
    for name in ["sieve", "checksum", "parse", "hash", "lpm", "strcmp"] {
        let data = std::fs::read(dir.join(format!("{name}.bpf.o"))).unwrap();
        let obj = bpfbox_object::Object::parse(&data).unwrap();
        let insns = bpfbox_isa::decode_program(&obj.section("bpfbox").unwrap().bytes).unwrap();
        progs.push((name.into(), insns));
    }
    progs.push(("synthetic-1000".into(), synthetic));
    // `ONLY=name`: compile that program once, unchecked (with BPFBOX_JIT_DUMP=1: its code).
    if let Ok(only) = std::env::var("ONLY") {
        for (name, insns) in progs.iter().filter(|(n, _)| *n == only) {
            println!("{name}: {} insns", insns.len());
            let opts = if std::env::var("CHECKED").is_ok_and(|v| v == "1") { &checked } else { &unchecked };
            let p = JitProgram::compile(insns, opts).unwrap();
            println!("{} bytes of code, {} byte-by-byte reads folded", p.code_size(), p.folded_reads());
        }
        return;
    }
    let n = env_usize("N").unwrap_or(31);
    println!("median compile time (µs) of {n}: unchecked (backtracking) / unchecked single-pass / checked");
    for (name, insns) in &progs {
        let (u, f, c) = (median_us(insns, &unchecked, n), median_us(insns, &fast, n), median_us(insns, &checked, n));
        println!("| {name:14} | {:5} insns | {u:8.0} | {f:8.0} | {c:8.0} |", insns.len());
    }
    if std::env::var_os("PASSES").is_some() {
        let big = &progs[progs.len() - 1].1;
        for (label, opts) in [("unchecked", &unchecked), ("unchecked single-pass", &fast), ("checked", &checked)] {
            let _ = cranelift_codegen::timing::take_current();
            for _ in 0..10 {
                JitProgram::compile(big, opts).unwrap();
            }
            println!(
                "\nCranelift passes, {label}, synthetic-1000, 10 compiles:\n{}",
                cranelift_codegen::timing::take_current()
            );
        }
    }
}

/// Median compile times of the repository's object programs (tests/realworld,
/// tests/progs, examples) of at least 200 instructions, largest first, and how many
/// byte-by-byte reads their unchecked code folds. CO-RE
/// objects need /sys/kernel/btf/vmlinux; map references stay unresolved (they do
/// not change the code's size); helpers are the runtime's.
fn objects(unchecked: &JitOptions, fast: &JitOptions) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let btf = std::fs::read("/sys/kernel/btf/vmlinux")
        .ok()
        .and_then(|b| bpfbox_object::btf::Btf::parse(&b).ok())
        .map(std::sync::Arc::new);
    let opts = bpfbox_object::LoadOptions { target_btf: btf, ..Default::default() };
    let mut progs = Vec::new();
    let min: usize = env_usize("MIN_INSNS").unwrap_or(200);
    for dir in ["tests/realworld", "tests/progs", "examples"] {
        let Ok(rd) = std::fs::read_dir(root.join(dir)) else { continue };
        for f in rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|e| e == "o")) {
            let Ok(obj) = bpfbox_object::load(&std::fs::read(&f).unwrap(), &opts) else { continue };
            for p in obj.programs {
                if p.insns.len() >= min {
                    let name = format!("{}:{}", f.file_name().unwrap().to_string_lossy(), p.name);
                    progs.push((name, p.insns));
                }
            }
        }
    }
    progs.sort_by_key(|p| std::cmp::Reverse(p.1.len()));
    // With the runtime's helpers: an unknown helper ends the code there.
    let rt = bpfbox_vm::Runtime::new(bpfbox_vm::RuntimeOptions::deterministic(1));
    let unchecked = &JitOptions { helpers: rt.helpers().clone(), ..unchecked.clone() };
    let fast = &JitOptions { helpers: rt.helpers().clone(), ..fast.clone() };
    println!("median compile time (µs) of 11: unchecked (backtracking) / unchecked single-pass; reads folded");
    for (name, insns) in &progs {
        let (u, f) = (median_us(insns, unchecked, 11), median_us(insns, fast, 11));
        let folds = JitProgram::compile(insns, unchecked).map_or(0, |p| p.folded_reads());
        println!("| {name:50} | {:5} insns | {u:8.0} | {f:8.0} | {folds:3} |", insns.len());
    }
}
