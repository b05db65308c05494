//! bpfbox's JIT side by side with every other way to run the same eBPF.
//!
//! Six programs written in C (`tests/bench/*.c`, built by `scripts/bench-jit.sh` with
//! clang-19 -O2 -target bpf -mcpu=v3 into committed `*.bpf.o`): a prime sieve, an
//! Internet checksum over 1500 bytes, header parsing with many branches, hash-table
//! lookups, an LPM trie walk and a byte-string comparison loop. Each runs on:
//!
//! - `native`: the same C compiled by the host compiler (`$CC`, default `cc`) -O2 into
//!   a shared library, loaded with dlopen;
//! - `native scalar`: the same with `-fno-tree-vectorize -fno-tree-slp-vectorize`
//!   (eBPF has no SIMD: this shows how much of native's lead is vectorisation; with
//!   gcc 12 -O2 on these programs, none);
//! - `kernel JIT`: the `xdp` section loaded with `bpf(BPF_PROG_LOAD)` and timed with
//!   `BPF_PROG_TEST_RUN` and `repeat` (needs root; skipped with the reason otherwise);
//! - `bpfbox JIT`: unchecked, no instruction counting (what a verified program gets);
//! - `JIT single-pass`: the same with Cranelift's single-pass register allocator
//!   ([`bpfbox_jit::RegAlloc::SinglePass`]: faster compilation, slower code);
//! - `JIT checked`: bounds-checked and counting (what `--no-verify` gets);
//! - `bpfbox interp`: the interpreter, checked;
//! - `rbpf JIT` / `rbpf interp`: rbpf 0.4 (its interpreter checks memory too).
//!
//! All engines must return the same value before anything is timed. Then criterion
//! measures each pair (skipped with `BPFBOX_BENCH_QUICK=1`), and a plain timed loop
//! fills the summary table: ns per run and ratios against native and the kernel.
//! The compile time of each program and of a 1,000-instruction program follows
//! (unchecked with each register allocator, and checked).
//! `--json FILE` (or `BPFBOX_BENCH_JSON=FILE`) writes the table as JSON.
//! `BPFBOX_BENCH_ROUNDS=n` (default 3): the table keeps each engine's best of n
//! interleaved rounds.

#![allow(clippy::unwrap_used)]

use bpfbox_isa::Insn;
use bpfbox_jit::{JitOptions, JitProgram, RegAlloc};
use bpfbox_vm::{HelperTable, Region, RegionKind, Vm, VmOptions};
use criterion::Criterion;
use std::ffi::{c_char, c_int, c_void, CString};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

mod common;
use common::{input, thousand};

const PROGRAMS: [&str; 6] = ["sieve", "checksum", "parse", "hash", "lpm", "strcmp"];

fn bench_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/bench")
}

// ---------------------------------------------------------------- inputs

// ---------------------------------------------------------------- native code

extern "C" {
    fn dlopen(filename: *const c_char, flag: c_int) -> *mut c_void;
    fn dlsym(handle: *mut c_void, symbol: *const c_char) -> *mut c_void;
}

type NativeFn = unsafe extern "C" fn(*mut u8, *mut u8) -> u32;

/// Build tests/bench/*.c with `$CC -O2` and `extra` flags into a shared library
/// `lib{name}.so` and look up the entries.
fn native(name: &str, extra: &[&str]) -> Result<Vec<NativeFn>, String> {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("lib{name}.so"));
    let srcs: Vec<PathBuf> = PROGRAMS.iter().map(|p| bench_dir().join(format!("{p}.c"))).collect();
    let st = std::process::Command::new(&cc)
        .args(["-O2", "-shared", "-fPIC"])
        .args(extra)
        .arg("-o")
        .arg(&out)
        .args(&srcs)
        .status()
        .map_err(|e| format!("{cc}: {e}"))?;
    if !st.success() {
        return Err(format!("{cc} failed: {st}"));
    }
    let path = CString::new(out.to_string_lossy().as_bytes()).unwrap();
    // SAFETY: loading a library we just built; RTLD_NOW = 2.
    let h = unsafe { dlopen(path.as_ptr(), 2) };
    if h.is_null() {
        return Err("dlopen failed".into());
    }
    PROGRAMS
        .iter()
        .map(|p| {
            let sym = CString::new(format!("native_{}", if *p == "strcmp" { "strcmp_bench" } else { p })).unwrap();
            // SAFETY: symbol lookup in the library above.
            let f = unsafe { dlsym(h, sym.as_ptr()) };
            if f.is_null() {
                return Err(format!("no symbol {sym:?}"));
            }
            // SAFETY: the symbol is `unsigned native_NAME(u8 *, u8 *)` (tests/bench/bench.h).
            Ok(unsafe { std::mem::transmute::<*mut c_void, NativeFn>(f) })
        })
        .collect()
}

// ---------------------------------------------------------------- the kernel

mod kernel {
    use std::ffi::c_long;

    extern "C" {
        fn syscall(num: c_long, ...) -> c_long;
        fn close(fd: i32) -> i32;
    }

    #[cfg(target_arch = "x86_64")]
    const SYS_BPF: c_long = 321;
    #[cfg(target_arch = "aarch64")]
    const SYS_BPF: c_long = 280;
    const BPF_PROG_LOAD: c_long = 5;
    const BPF_PROG_TEST_RUN: c_long = 10;
    const BPF_PROG_TYPE_XDP: u32 = 6;

    fn bpf(cmd: c_long, attr: &mut [u8; 160]) -> std::io::Result<i32> {
        // SAFETY: `attr` is a zero-padded `union bpf_attr` of the size given.
        let r = unsafe { syscall(SYS_BPF, cmd, attr.as_mut_ptr(), attr.len() as u32) };
        if r < 0 {
            Err(std::io::Error::last_os_error())
        } else {
            Ok(r as i32)
        }
    }

    fn put32(a: &mut [u8; 160], at: usize, v: u32) {
        a[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }
    fn put64(a: &mut [u8; 160], at: usize, v: u64) {
        a[at..at + 8].copy_from_slice(&v.to_le_bytes());
    }
    fn get32(a: &[u8; 160], at: usize) -> u32 {
        u32::from_le_bytes(a[at..at + 4].try_into().unwrap())
    }

    /// A loaded XDP program.
    pub struct Prog(i32);

    impl Drop for Prog {
        fn drop(&mut self) {
            // SAFETY: our own descriptor.
            unsafe { close(self.0) };
        }
    }

    impl Prog {
        pub fn load(code: &[u8]) -> Result<Prog, String> {
            let license = b"GPL\0";
            let mut log = vec![0u8; 1 << 20];
            let mut a = [0u8; 160];
            put32(&mut a, 0, BPF_PROG_TYPE_XDP);
            put32(&mut a, 4, (code.len() / 8) as u32);
            put64(&mut a, 8, code.as_ptr() as u64);
            put64(&mut a, 16, license.as_ptr() as u64);
            if let Ok(fd) = bpf(BPF_PROG_LOAD, &mut a) {
                return Ok(Prog(fd));
            }
            // Again with the verifier log, for the reason.
            put32(&mut a, 24, 1);
            put32(&mut a, 28, log.len() as u32);
            put64(&mut a, 32, log.as_mut_ptr() as u64);
            match bpf(BPF_PROG_LOAD, &mut a) {
                Ok(fd) => Ok(Prog(fd)),
                Err(e) => {
                    let text = String::from_utf8_lossy(&log);
                    let tail: Vec<&str> = text.trim_end_matches('\0').lines().rev().take(4).collect();
                    Err(format!(
                        "BPF_PROG_LOAD: {e}; verifier: {}",
                        tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
                    ))
                }
            }
        }

        /// (retval, average ns per run) of `repeat` runs on `data`.
        pub fn test_run(&self, data: &[u8], repeat: u32) -> Result<(u32, u32), String> {
            let mut out = vec![0u8; data.len() + 256];
            let mut a = [0u8; 160];
            put32(&mut a, 0, self.0 as u32);
            put32(&mut a, 8, data.len() as u32);
            put32(&mut a, 12, out.len() as u32);
            put64(&mut a, 16, data.as_ptr() as u64);
            put64(&mut a, 24, out.as_mut_ptr() as u64);
            put32(&mut a, 32, repeat);
            bpf(BPF_PROG_TEST_RUN, &mut a).map_err(|e| format!("BPF_PROG_TEST_RUN: {e}"))?;
            Ok((get32(&a, 4), get32(&a, 36)))
        }
    }
}

// ---------------------------------------------------------------- the programs

struct Case {
    name: &'static str,
    insns: Vec<Insn>,
    /// The `bpfbox` section (for rbpf).
    bytes: Vec<u8>,
    /// The `xdp` section (for the kernel).
    xdp: Vec<u8>,
    input: Vec<u8>,
}

fn cases() -> Vec<Case> {
    PROGRAMS
        .iter()
        .map(|&name| {
            let path = bench_dir().join(format!("{name}.bpf.o"));
            let data =
                std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e} (run scripts/bench-jit.sh)", path.display()));
            let obj = bpfbox_object::Object::parse(&data).unwrap();
            let sec = |s: &str| obj.section(s).unwrap_or_else(|| panic!("{name}: no section {s}")).bytes.clone();
            let bytes = sec("bpfbox");
            let insns = bpfbox_isa::decode_program(&bytes).unwrap();
            Case { name, insns, bytes, xdp: sec("xdp"), input: input(name) }
        })
        .collect()
}

/// r1 = the context (read-only), and the buffer (writable).
fn regions<'m>(ctx: &'m [u8], mem: &'m mut [u8]) -> ([u64; 5], [Region<'m>; 2]) {
    let c = Region::from_ref(RegionKind::Ctx, ctx);
    let p = Region::from_mut(RegionKind::Packet, mem);
    ([c.start(), 0, 0, 0, 0], [c, p])
}

/// Everything that runs one case.
struct Engines<'a> {
    case: &'a Case,
    native: Option<NativeFn>,
    native_scalar: Option<NativeFn>,
    kernel: Result<kernel::Prog, String>,
    jit: JitProgram,
    jit_fast: JitProgram,
    jit_checked: JitProgram,
    interp: Vm,
    rbpf: rbpf::EbpfVmMbuff<'a>,
    rbpf_jit: Result<rbpf::EbpfVmMbuff<'a>, String>,
    mem: Vec<u8>,
    ctx: Vec<u8>,
}

impl<'a> Engines<'a> {
    fn new(case: &'a Case, native: Option<NativeFn>, native_scalar: Option<NativeFn>) -> Engines<'a> {
        let unchecked = JitOptions { checked: false, count_insns: false, ..Default::default() };
        let jit = JitProgram::compile(&case.insns, &unchecked).unwrap();
        let fast = JitOptions { regalloc: RegAlloc::SinglePass, ..unchecked };
        let jit_fast = JitProgram::compile(&case.insns, &fast).unwrap();
        let jit_checked = JitProgram::compile(&case.insns, &JitOptions::default()).unwrap();
        let interp =
            Vm::new(case.insns.clone(), VmOptions { helpers: HelperTable::empty(), ..Default::default() }).unwrap();
        let rbpf = rbpf::EbpfVmMbuff::new(Some(&case.bytes)).unwrap();
        let rbpf_jit = rbpf::EbpfVmMbuff::new(Some(&case.bytes))
            .and_then(|mut v| v.jit_compile().map(|_| v))
            .map_err(|e| e.to_string());
        let kernel = if std::env::var_os("BPFBOX_BENCH_NO_KERNEL").is_some() {
            Err("BPFBOX_BENCH_NO_KERNEL is set".into())
        } else {
            kernel::Prog::load(&case.xdp)
        };
        let mem = case.input.clone();
        let mut e = Engines {
            case,
            native,
            native_scalar,
            kernel,
            jit,
            jit_fast,
            jit_checked,
            interp,
            rbpf,
            rbpf_jit,
            mem,
            ctx: vec![0; 16],
        };
        e.fix_ctx();
        e
    }

    /// The context the `bpfbox` entry reads: data and data_end of `mem`.
    fn fix_ctx(&mut self) {
        let start = self.mem.as_ptr() as u64;
        self.ctx[..8].copy_from_slice(&start.to_le_bytes());
        self.ctx[8..].copy_from_slice(&(start + self.mem.len() as u64).to_le_bytes());
    }

    fn native_scalar(&mut self) -> u32 {
        let f = self.native_scalar.unwrap();
        let p = self.mem.as_mut_ptr();
        // SAFETY: the C function reads and writes within [p, p + len).
        unsafe { f(p, p.add(self.mem.len())) }
    }

    fn native(&mut self) -> u32 {
        let f = self.native.unwrap();
        let p = self.mem.as_mut_ptr();
        // SAFETY: the C function reads and writes within [p, p + len).
        unsafe { f(p, p.add(self.mem.len())) }
    }

    fn jit(&mut self) -> u32 {
        let (a, r) = regions(&self.ctx, &mut self.mem);
        // SAFETY: the program only reads the context and stays inside the buffer (the
        // kernel verifier accepts it; all engines agree before anything is timed).
        unsafe { self.jit.run_with_unchecked(a, &r, &mut ()) }.unwrap().r0 as u32
    }

    fn jit_fast(&mut self) -> u32 {
        let (a, r) = regions(&self.ctx, &mut self.mem);
        // SAFETY: as for `jit`.
        unsafe { self.jit_fast.run_with_unchecked(a, &r, &mut ()) }.unwrap().r0 as u32
    }

    fn jit_checked(&mut self) -> u32 {
        let (a, r) = regions(&self.ctx, &mut self.mem);
        self.jit_checked.run_with(a, &r, &mut ()).unwrap().r0 as u32
    }

    fn interp(&mut self) -> u32 {
        let (a, r) = regions(&self.ctx, &mut self.mem);
        self.interp.run_with(a, &r, &mut ()).unwrap().r0 as u32
    }

    fn rbpf(&mut self) -> u32 {
        self.rbpf.execute_program(&self.mem, &self.ctx).unwrap() as u32
    }

    fn rbpf_jit(&mut self) -> Option<u32> {
        let vm = self.rbpf_jit.as_ref().ok()?;
        // SAFETY: as for `jit`.
        Some(unsafe { vm.execute_program_jit(&mut self.mem, &mut self.ctx) }.unwrap() as u32)
    }

    /// Kernel run: (retval, ns per run).
    fn kernel(&self, repeat: u32) -> Result<(u32, u32), String> {
        match &self.kernel {
            Ok(p) => p.test_run(&self.case.input, repeat),
            Err(e) => Err(e.clone()),
        }
    }
}

/// Best average over 30 batches of ~10 ms, in ns per run: the minimum filters out
/// the time the machine spent on other work.
fn time_per_run(mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_millis(10) {
        f();
        n += 1;
    }
    let per_batch = n.max(1);
    let mut best = f64::INFINITY;
    for _ in 0..30 {
        let t = Instant::now();
        for _ in 0..per_batch {
            f();
        }
        best = best.min(t.elapsed().as_nanos() as f64 / per_batch as f64);
    }
    best
}

fn kernel_time(e: &Engines<'_>) -> Result<f64, String> {
    let (_, probe) = e.kernel(1000)?;
    let repeat = (10_000_000 / probe.max(1) as u64).clamp(1000, 5_000_000) as u32;
    let mut best = f64::INFINITY;
    for _ in 0..30 {
        let t = Instant::now();
        let (_, d) = e.kernel(repeat)?;
        // The kernel reports whole ns; use the wall clock when that is coarse.
        let wall = t.elapsed().as_nanos() as f64 / repeat as f64;
        best = best.min(if d < 20 { wall.min(d as f64 + 1.0) } else { d as f64 });
    }
    Ok(best)
}

/// Median compile time in µs.
fn compile_us(insns: &[Insn], opts: &JitOptions) -> f64 {
    let mut v: Vec<f64> = (0..31)
        .map(|_| {
            let t = Instant::now();
            black_box(JitProgram::compile(insns, opts).unwrap());
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let json = args
        .iter()
        .position(|a| a == "--json")
        .and_then(|i| args.get(i + 1).cloned())
        .or_else(|| std::env::var("BPFBOX_BENCH_JSON").ok());
    let build = |name: &str, extra: &[&str]| match native(name, extra) {
        Ok(v) => Some(v),
        Err(e) => {
            println!("{name}: skipped ({e})");
            None
        }
    };
    let native_v = build("bpfbox_bench_native", &[]);
    // The same without SIMD (eBPF has none), to tell vectorisation apart from the
    // rest of native's lead.
    let native_s = build("bpfbox_bench_native_scalar", &["-fno-tree-vectorize", "-fno-tree-slp-vectorize"]);
    let cases = cases();
    let mut engines: Vec<Engines<'_>> = cases
        .iter()
        .enumerate()
        .map(|(i, c)| Engines::new(c, native_v.as_ref().map(|n| n[i]), native_s.as_ref().map(|n| n[i])))
        .collect();

    // Everyone computes the same thing before anything is timed.
    for e in &mut engines {
        let want = e.interp();
        e.mem.copy_from_slice(&e.case.input);
        let mut got = vec![
            ("jit", e.jit()),
            ("jit single-pass", e.jit_fast()),
            ("jit checked", e.jit_checked()),
            ("rbpf", e.rbpf()),
        ];
        if let Some(v) = e.rbpf_jit() {
            got.push(("rbpf jit", v));
        }
        if e.native.is_some() {
            got.push(("native", e.native()));
        }
        if e.native_scalar.is_some() {
            got.push(("native scalar", e.native_scalar()));
        }
        match e.kernel(1) {
            Ok((v, _)) => got.push(("kernel", v)),
            Err(why) => println!("{}: kernel skipped: {why}", e.case.name),
        }
        for (who, v) in got {
            assert_eq!(v, want, "{}: {who} returns {v:#x}, the interpreter {want:#x}", e.case.name);
        }
        if let Err(why) = &e.rbpf_jit {
            println!("{}: rbpf JIT skipped: {why}", e.case.name);
        }
        println!("{}: {} instructions, result {want:#x}: all engines agree", e.case.name, e.case.insns.len());
    }

    let quick = std::env::var_os("BPFBOX_BENCH_QUICK").is_some_and(|v| v != "0");
    let filter: Option<&String> = args.iter().skip(1).find(|a| !a.starts_with('-') && Some(*a) != json.as_ref());
    if !quick {
        // Criterion's reports go under the target dir, not the package dir it runs in.
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("../criterion");
        let mut crit = Criterion::default()
            .output_directory(&out)
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_secs(1));
        if json.is_none() {
            crit = crit.configure_from_args();
        }
        for e in &mut engines {
            let mut g = crit.benchmark_group(e.case.name);
            g.bench_function("bpfbox_jit", |b| b.iter(|| black_box(e.jit())));
            g.bench_function("bpfbox_jit_single_pass", |b| b.iter(|| black_box(e.jit_fast())));
            g.bench_function("bpfbox_jit_checked", |b| b.iter(|| black_box(e.jit_checked())));
            g.bench_function("bpfbox_interp", |b| b.iter(|| black_box(e.interp())));
            if e.rbpf_jit.is_ok() {
                g.bench_function("rbpf_jit", |b| b.iter(|| black_box(e.rbpf_jit())));
            }
            g.bench_function("rbpf_interp", |b| b.iter(|| black_box(e.rbpf())));
            if e.native.is_some() {
                g.bench_function("native", |b| b.iter(|| black_box(e.native())));
            }
            if e.native_scalar.is_some() {
                g.bench_function("native_scalar", |b| b.iter(|| black_box(e.native_scalar())));
            }
            g.finish();
        }
    }
    if filter.is_some() || args.iter().any(|a| a == "--list") {
        return;
    }
    summary(&mut engines, json.as_deref());
}

fn fmt(v: Option<f64>) -> String {
    match v {
        Some(x) if x >= 100.0 => format!("{x:.0}"),
        Some(x) => format!("{x:.1}"),
        None => "-".into(),
    }
}

fn summary(engines: &mut [Engines<'_>], json: Option<&str>) {
    // Each engine is timed in `rounds` rounds, interleaved with the others, and keeps
    // its best: on a shared machine a burst of load then slows one round of every
    // engine rather than one engine's only measurement.
    let rounds: usize = std::env::var("BPFBOX_BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(3).max(1);
    let mut rows = Vec::new();
    println!();
    println!("ns per run, best of {rounds} rounds (lower is better); ratios: bpfbox JIT time / other time");
    println!(
        "| program  | insns | native | native scalar | kernel JIT | bpfbox JIT | JIT single-pass | JIT checked | bpfbox interp | rbpf JIT | rbpf interp | JIT/native | JIT/native scalar | JIT/kernel |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for e in engines.iter_mut() {
        let best = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let (mut native, mut scalar, mut kernel, mut jit, mut fast) = (None, None, None, None, None);
        let (mut checked, mut interp, mut rbpf_jit, mut rbpf) = (None, None, None, None);
        for _ in 0..rounds {
            native = best(native, e.native.is_some().then(|| time_per_run(|| _ = black_box(e.native()))));
            scalar = best(scalar, e.native_scalar.is_some().then(|| time_per_run(|| _ = black_box(e.native_scalar()))));
            kernel = best(kernel, kernel_time(e).ok());
            jit = best(jit, Some(time_per_run(|| _ = black_box(e.jit()))));
            fast = best(fast, Some(time_per_run(|| _ = black_box(e.jit_fast()))));
            checked = best(checked, Some(time_per_run(|| _ = black_box(e.jit_checked()))));
            interp = best(interp, Some(time_per_run(|| _ = black_box(e.interp()))));
            rbpf_jit = best(rbpf_jit, e.rbpf_jit.is_ok().then(|| time_per_run(|| _ = black_box(e.rbpf_jit()))));
            rbpf = best(rbpf, Some(time_per_run(|| _ = black_box(e.rbpf()))));
        }
        let (jit, fast, checked, interp, rbpf) = (
            jit.unwrap_or(f64::NAN),
            fast.unwrap_or(f64::NAN),
            checked.unwrap_or(f64::NAN),
            interp.unwrap_or(f64::NAN),
            rbpf.unwrap_or(f64::NAN),
        );
        let ratio = |o: Option<f64>| o.map(|o| format!("{:.2}", jit / o)).unwrap_or_else(|| "-".into());
        println!(
            "| {:8} | {:5} | {:>6} | {:>13} | {:>10} | {:>10} | {:>15} | {:>11} | {:>13} | {:>8} | {:>11} | {:>10} | {:>17} | {:>10} |",
            e.case.name,
            e.case.insns.len(),
            fmt(native),
            fmt(scalar),
            fmt(kernel),
            fmt(Some(jit)),
            fmt(Some(fast)),
            fmt(Some(checked)),
            fmt(Some(interp)),
            fmt(rbpf_jit),
            fmt(Some(rbpf)),
            ratio(native),
            ratio(scalar),
            ratio(kernel)
        );
        rows.push(serde_json::json!({
            "program": e.case.name, "insns": e.case.insns.len(),
            "ns_per_run": { "native": native, "native_scalar": scalar, "kernel_jit": kernel, "bpfbox_jit": jit, "bpfbox_jit_single_pass": fast, "bpfbox_jit_checked": checked,
                             "bpfbox_interp": interp, "rbpf_jit": rbpf_jit, "rbpf_interp": rbpf },
        }));
    }

    println!();
    println!("compile time (median of 31, µs): bpfbox JIT unchecked (backtracking) / unchecked single-pass / checked");
    let unchecked = JitOptions { checked: false, count_insns: false, ..Default::default() };
    let fast = JitOptions { regalloc: RegAlloc::SinglePass, ..unchecked.clone() };
    let checked = JitOptions::default();
    let mut compile = Vec::new();
    let big = thousand();
    let mut progs: Vec<(&str, &[Insn])> = engines.iter().map(|e| (e.case.name, &e.case.insns[..])).collect();
    progs.push(("synthetic-1000", &big));
    for (name, insns) in progs {
        let (u, f, c) = (compile_us(insns, &unchecked), compile_us(insns, &fast), compile_us(insns, &checked));
        println!("| {name:14} | {:5} insns | {u:8.0} µs | {f:8.0} µs | {c:8.0} µs |", insns.len());
        compile.push(serde_json::json!({
            "program": name, "insns": insns.len(), "unchecked_us": u, "unchecked_single_pass_us": f, "checked_us": c
        }));
    }
    if let Some(path) = json {
        let doc = serde_json::json!({ "runs": rows, "compile": compile });
        std::fs::write(path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
        println!("wrote {path}");
    }
}
