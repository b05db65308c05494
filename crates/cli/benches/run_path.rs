//! The path a user runs, side by side with the kernel in one run.
//!
//! Each case is a clang-built object of `tests/bench/run/` (rebuilt by
//! `tests/bench/run/build.sh`) or `tests/bench/`, run on one packet with `--repeat N`:
//!
//! - `kernel`: `bpfbox run --kernel` — the kernel's JIT through `BPF_PROG_TEST_RUN`,
//!   its own `duration` (needs root and the `kernel` feature; `-` otherwise);
//! - `run jit` / `run interp`: `bpfbox run --engine jit|interp`, the CLI's
//!   `duration_ns` (the mean of the repeated runs inside `Runtime::test_run`,
//!   measured as the kernel measures its own: around the loop of runs);
//! - `lib jit`: the library call underneath (`bpfbox::Instance::test_run` with
//!   `repeat`), timed from outside the call, divided by N;
//! - `rbpf interp`: rbpf 0.4's interpreter on the object's `bpfbox` twin (the same
//!   C body with a context of two 64-bit pointers, as rbpf has no `xdp_md`), for
//!   the cases that have one.
//!
//! Every engine must return the same value as the kernel before anything counts.
//! Rounds are interleaved (`BPFBOX_BENCH_ROUNDS`, default 3) and each column keeps
//! its best round. The table ends with the ratios: `jit/kernel` (want <= 1) and
//! `rbpf/interp` (how many times faster than rbpf bpfbox's interpreter is).
//!
//! Run: `scripts/bench-run.sh` (release build, kernel feature).

#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

struct Case {
    name: &'static str,
    /// Object path relative to the repository root.
    obj: &'static str,
    prog: &'static str,
    /// The `bpfbox` twin for rbpf, if any.
    twin: Option<&'static str>,
    data: Vec<u8>,
    repeat: u32,
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn eth(ethertype: u16) -> Vec<u8> {
    let mut p = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
    p.extend_from_slice(&ethertype.to_be_bytes());
    p
}

/// Ethernet, one 802.1Q tag, IPv6, hop-by-hop + destination options + fragment
/// headers, TCP to port 80.
fn vlan_ipv6_packet() -> Vec<u8> {
    let mut p = eth(0x8100);
    p.extend_from_slice(&[0, 100, 0x86, 0xdd]);
    p.extend_from_slice(&[0x60, 0, 0, 0, 0, 44, 0, 64]);
    p.extend_from_slice(&[0x20; 16]);
    p.extend_from_slice(&[0x30; 16]);
    p.extend_from_slice(&[60, 0, 1, 4, 0, 0, 0, 0]);
    p.extend_from_slice(&[44, 0, 1, 4, 0, 0, 0, 0]);
    p.extend_from_slice(&[6, 0, 0, 0, 0, 0, 0, 1]);
    p.extend_from_slice(&[0x30, 0x39, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 2, 3, 0xe8, 0, 0, 0, 0]);
    p.extend_from_slice(&[b'x'; 64]);
    p
}

fn udp4_packet() -> Vec<u8> {
    let mut p = eth(0x0800);
    p.extend_from_slice(&[0x45, 0, 0, 60, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
    p.extend_from_slice(&[0x03, 0xe8, 0x07, 0xd0, 0, 40, 0, 0]);
    p.extend_from_slice(&[b'y'; 32]);
    p
}

fn pseudo_random(n: usize, seed: u32) -> Vec<u8> {
    let mut x = seed;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

fn cases() -> Vec<Case> {
    let half = pseudo_random(1024, 7);
    let mut twice = half.clone();
    twice.extend_from_slice(&half);
    let c = |name, obj, prog, twin, data: Vec<u8>, repeat| Case { name, obj, prog, twin, data, repeat };
    vec![
        c("empty", "tests/bench/run/empty.bpf.o", "empty_xdp", Some("empty_bpfbox"), pseudo_random(64, 1), 1_000_000),
        c(
            "checksum_1500",
            "tests/bench/checksum.bpf.o",
            "checksum_xdp",
            Some("checksum_bpfbox"),
            pseudo_random(1500, 2),
            100_000,
        ),
        c(
            "vlan_ipv6_parse",
            "tests/bench/run/vlan_ipv6.bpf.o",
            "vlan_ipv6_xdp",
            Some("vlan_ipv6_bpfbox"),
            vlan_ipv6_packet(),
            1_000_000,
        ),
        c("memcmp_1k", "tests/bench/run/memcmp.bpf.o", "memcmp_1k_xdp", Some("memcmp_1k_bpfbox"), twice, 100_000),
        c("hash_lookup_x64", "tests/bench/run/hash64.bpf.o", "hash64", None, pseudo_random(64, 3), 20_000),
        c("array_lookup_x64", "tests/bench/run/array64.bpf.o", "array64", None, pseudo_random(64, 4), 20_000),
        c("tc_skb_fields", "tests/bench/run/tc_fields.bpf.o", "tc_fields", None, udp4_packet(), 1_000_000),
    ]
}

/// `bpfbox run ... --json`: (retval, duration_ns), or why not.
fn cli(case: &Case, data: &Path, engine: &[&str]) -> Result<(u64, f64), String> {
    let out = Command::new(env!("CARGO_BIN_EXE_bpfbox"))
        .arg("run")
        .arg(repo().join(case.obj))
        .args(["--prog", case.prog, "--data"])
        .arg(data)
        .args(["--repeat", &case.repeat.to_string(), "--json"])
        .args(engine)
        .output()
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|_| {
        let err = String::from_utf8_lossy(&out.stderr);
        err.lines().next().unwrap_or("no output").to_string()
    })?;
    let retval = v["retval"].as_u64().ok_or_else(|| format!("no retval in {text}"))?;
    let ns = v["duration_ns"].as_u64().ok_or_else(|| format!("no duration_ns in {text}"))?;
    Ok((retval, ns as f64))
}

/// The library call: one `test_run` with `repeat`, timed from outside.
fn library(case: &Case) -> Result<(u64, f64), String> {
    let obj = bpfbox::Object::open(repo().join(case.obj)).map_err(|e| e.to_string())?;
    let inst = obj.load(&bpfbox::Engine::jit()).map_err(|e| e.to_string())?;
    let input = bpfbox::Input { data: case.data.clone(), ctx: None, repeat: case.repeat };
    let t = Instant::now();
    let out = inst.test_run(case.prog, &input).map_err(|e| e.to_string())?;
    Ok((out.retval, t.elapsed().as_nanos() as f64 / case.repeat as f64))
}

/// rbpf 0.4's interpreter on the twin: r1 = two 64-bit pointers to the packet.
fn rbpf(case: &Case) -> Result<(u64, f64), String> {
    let Some(twin) = case.twin else { return Err("no twin".into()) };
    let bytes = std::fs::read(repo().join(case.obj)).map_err(|e| e.to_string())?;
    let obj = bpfbox_object::Object::parse(&bytes).map_err(|e| e.to_string())?;
    let code = obj.section("bpfbox").ok_or("no bpfbox section")?.bytes.clone();
    let _ = twin;
    let vm = rbpf::EbpfVmMbuff::new(Some(&code)).map_err(|e| e.to_string())?;
    let mut mem = case.data.clone();
    let mut mbuff = [0u8; 16];
    let start = mem.as_mut_ptr() as u64;
    mbuff[..8].copy_from_slice(&start.to_le_bytes());
    mbuff[8..].copy_from_slice(&(start + mem.len() as u64).to_le_bytes());
    let n = (case.repeat / 10).max(1);
    let mut r = 0;
    let t = Instant::now();
    for _ in 0..n {
        r = vm.execute_program(&mem, &mbuff).map_err(|e| e.to_string())?;
    }
    Ok((r, t.elapsed().as_nanos() as f64 / n as f64))
}

const COLS: [&str; 5] = ["kernel", "run jit", "lib jit", "run interp", "rbpf interp"];

fn main() {
    let rounds: usize = std::env::var("BPFBOX_BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    let dir = std::env::temp_dir().join(format!("bpfbox-bench-run-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases = cases();
    let mut best = vec![[f64::INFINITY; 5]; cases.len()];
    let mut notes: Vec<[Option<String>; 5]> = vec![Default::default(); cases.len()];
    for round in 0..rounds {
        eprintln!("round {}/{rounds}", round + 1);
        for (i, case) in cases.iter().enumerate() {
            let data = dir.join(format!("{}.bin", case.name));
            std::fs::write(&data, &case.data).unwrap();
            let results = [
                cli(case, &data, &["--kernel"]),
                cli(case, &data, &["--engine", "jit"]),
                library(case),
                cli(case, &data, &["--engine", "interp"]),
                rbpf(case),
            ];
            // The reference value: the kernel's, else bpfbox's JIT.
            let want = results[0].as_ref().or(results[1].as_ref()).map(|r| r.0).ok();
            for (c, r) in results.into_iter().enumerate() {
                match r {
                    Ok((v, ns)) => {
                        // rbpf's twin returns the C body's value, which for XDP is the verdict.
                        assert!(
                            want.is_none() || want == Some(v),
                            "{}: {} returned {v}, the reference {want:?}",
                            case.name,
                            COLS[c]
                        );
                        best[i][c] = best[i][c].min(ns);
                    }
                    Err(e) => notes[i][c] = Some(e),
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!("\nns per run, best of {rounds} interleaved rounds (`-`: not run, reason below)\n");
    println!(
        "| program | {} | jit/kernel | lib/kernel | rbpf/interp |",
        COLS.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(" | ")
    );
    println!("|---|{}---|---|---|", "---:|".repeat(COLS.len()));
    let fmt = |v: f64| if v.is_finite() { format!("{v:.1}") } else { "-".into() };
    let ratio =
        |a: f64, b: f64| if a.is_finite() && b.is_finite() && b > 0.0 { format!("{:.2}", a / b) } else { "-".into() };
    for (case, b) in cases.iter().zip(&best) {
        println!(
            "| {} | {} | {} | {} | {} |",
            case.name,
            b.iter().map(|v| fmt(*v)).collect::<Vec<_>>().join(" | "),
            ratio(b[1], b[0]),
            ratio(b[2], b[0]),
            ratio(b[4], b[3]),
        );
    }
    for (case, n) in cases.iter().zip(&notes) {
        for (c, why) in n.iter().enumerate() {
            if let Some(why) = why.as_ref().filter(|_| c != 4 || case.twin.is_some()) {
                println!("{} / {}: {why}", case.name, COLS[c]);
            }
        }
    }
}
