//! Differential test against libbpf: for every program of every object in
//! tests/progs and tests/realworld, the system libbpf's final instructions
//! (`bpf_program__insns()` at load time, printed by tests/realworld/libbpf_insns.c)
//! must equal bpfbox's relocated ones slot for slot — CO-RE, sub-program order and
//! call offsets, global data offsets, poisoned instructions — map references aside
//! (libbpf has fds where bpfbox has map indices: both must name the same map) and
//! extern BTF ids aside (libbpf resolves them, bpfbox leaves 0).
//!
//! Needs cc, libbpf-dev, root (libbpf creates the maps) and the kernel's BTF; the
//! test prints SKIP otherwise (and fails when `CI=true` only if the kernel BTF is
//! missing: the rest is optional tooling).

#![allow(clippy::unwrap_used)]

use bpfbox_isa::{encode_program, RawInsn};
use bpfbox_object::{load, Btf, LoadOptions, LoadedObject, ProgramSpec};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

const VMLINUX: &str = "/sys/kernel/btf/vmlinux";

/// Objects libbpf 1.x itself refuses (legacy `maps` sections), and programs it
/// cannot prepare. libbpf-dev on Debian 12 is 1.1: `tc/ingress` etc. are unknown to
/// it, but the handler this test registers types them.
const LIBBPF_REFUSES: &[&str] =
    &["xdp_stats_legacy.bpf.o", "legacy_zero_key.bpf.o", "odd_legacy_maps.bpf.o", "zero_key.bpf.o"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn harness() -> Result<PathBuf, String> {
    let out = std::env::temp_dir().join(format!("bpfbox-libbpf-insns-{}", std::process::id()));
    let src = root().join("tests/realworld/libbpf_insns.c");
    let st = Command::new("cc")
        .args(["-O1", "-Wall", "-o"])
        .arg(&out)
        .arg(&src)
        .arg("-lbpf")
        .output()
        .map_err(|e| format!("cc: {e}"))?;
    if !st.status.success() {
        return Err(format!("building libbpf_insns.c: {}", String::from_utf8_lossy(&st.stderr)));
    }
    Ok(out)
}

struct LibbpfProg {
    /// fd → map name.
    maps: HashMap<i32, String>,
    insns: Vec<RawInsn>,
}

fn libbpf_insns(harness: &Path, obj: &Path, prog: &ProgramSpec) -> Result<LibbpfProg, String> {
    let mut cmd = Command::new(harness);
    cmd.arg(obj).arg(&prog.name);
    if let Some(t) = prog.prog_type {
        let attach = prog.expected_attach_type.map_or(0, |a| a.number());
        cmd.arg(t.number().to_string()).arg(attach.to_string());
    }
    let out = cmd.output().map_err(|e| e.to_string())?;
    let prog = &prog.name;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut p = LibbpfProg { maps: HashMap::new(), insns: Vec::new() };
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        match f.first() {
            Some(&"map") => {
                p.maps.insert(f[1].parse().unwrap(), f[2].to_string());
            }
            Some(&"insn") => {
                let n = |i: usize| f[i].parse::<i64>().unwrap();
                p.insns.push(RawInsn {
                    code: n(1) as u8,
                    dst: n(2) as u8,
                    src: n(3) as u8,
                    off: n(4) as i16,
                    imm: n(5) as i32,
                });
            }
            _ => {}
        }
    }
    if p.insns.is_empty() {
        return Err(format!("libbpf did not prepare `{prog}`: {}", String::from_utf8_lossy(&out.stderr).trim()));
    }
    Ok(p)
}

fn compare(file: &str, obj: &LoadedObject, prog: &str, lb: &LibbpfProg) -> Vec<String> {
    let p = obj.program(prog).unwrap();
    let ours = bpfbox_isa::raw::slots(&encode_program(&p.insns));
    let mut diffs = Vec::new();
    if ours.len() != lb.insns.len() {
        diffs.push(format!("{file} {prog}: {} instructions, libbpf has {}", ours.len(), lb.insns.len()));
        return diffs;
    }
    let mut i = 0;
    while i < ours.len() {
        let (a, b) = (ours[i], lb.insns[i]);
        let lddw = a.code == 0x18;
        let map_name = |fd: i32| lb.maps.get(&fd).cloned().unwrap_or_else(|| format!("fd {fd}"));
        let same = match (a.src, b.src) {
            // Map by index (bpfbox) and by fd (libbpf): the same map.
            (5, 1) if lddw && a.code == b.code && a.dst == b.dst => {
                obj.maps[a.imm as usize].name == map_name(b.imm) && ours[i + 1].imm == lb.insns[i + 1].imm
            }
            (6, 2) if lddw && a.code == b.code && a.dst == b.dst => {
                obj.maps[a.imm as usize].name == map_name(b.imm) && ours[i + 1].imm == lb.insns[i + 1].imm
            }
            // Kernel BTF ids of ksyms and kfuncs: resolved by libbpf only.
            (3, 3) if lddw => a.code == b.code && a.dst == b.dst,
            (2, 2) if a.code == 0x85 && b.code == 0x85 => true,
            _ => a == b && (!lddw || ours[i + 1] == lb.insns[i + 1]),
        };
        if !same {
            diffs.push(format!("{file} {prog} insn {i}: bpfbox {a:?}, libbpf {b:?}"));
        }
        i += if lddw { 2 } else { 1 };
    }
    diffs
}

#[test]
fn relocated_instructions_match_libbpf() {
    let Ok(data) = std::fs::read(VMLINUX) else {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{VMLINUX} is absent (required when CI=true)");
        }
        println!("SKIP: {VMLINUX} is absent");
        return;
    };
    let harness = match harness() {
        Ok(h) => h,
        Err(e) => {
            println!("SKIP: no libbpf harness ({e})");
            return;
        }
    };
    let target = Arc::new(Btf::parse(&data).unwrap());
    let mut files = Vec::new();
    for dir in ["tests/progs", "tests/realworld"] {
        for e in std::fs::read_dir(root().join(dir)).unwrap().flatten() {
            if e.path().to_string_lossy().ends_with(".bpf.o") {
                files.push(e.path());
            }
        }
    }
    files.sort();
    let (mut programs, mut slots) = (0, 0);
    let mut diffs = Vec::new();
    for path in &files {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        if LIBBPF_REFUSES.contains(&file.as_str()) {
            continue;
        }
        let opts =
            LoadOptions { target_btf: Some(target.clone()), object_name: Some(file.clone()), ..Default::default() };
        let obj = load(&std::fs::read(path).unwrap(), &opts).unwrap();
        for p in &obj.programs {
            let lb = match libbpf_insns(&harness, path, p) {
                Ok(lb) => lb,
                Err(e) if programs == 0 && e.contains("Operation not permitted") => {
                    println!("SKIP: libbpf cannot create maps here ({e})");
                    let _ = std::fs::remove_file(&harness);
                    return;
                }
                Err(e) => panic!("{file}: {e}"),
            };
            diffs.extend(compare(&file, &obj, &p.name, &lb));
            programs += 1;
            slots += lb.insns.len();
        }
    }
    let _ = std::fs::remove_file(&harness);
    println!("{programs} programs, {slots} instruction slots compared with libbpf");
    assert!(diffs.is_empty(), "{} differences:\n{}", diffs.len(), diffs.join("\n"));
    assert!(programs > 60);
}
