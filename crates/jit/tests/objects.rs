//! The repository's C test programs (`tests/progs/*.o`), examples (`examples/*.o`,
//! `examples/asm/*`) and benchmark programs (`tests/bench/*.o`), each program run on
//! the interpreter and on the JIT with the same memory: a 512-byte context in r1 and
//! the object's global data as a writable region (maps resolve to opaque values;
//! helpers are absent, so a program that calls one stops there, on both engines).
//! Result, instruction count and memory must be identical.

#![allow(clippy::unwrap_used)]

use bpfbox_isa::{assemble, Imm64, Insn, Syntax};
use bpfbox_jit::{JitOptions, JitProgram};
use bpfbox_object::{load, LoadOptions};
use bpfbox_vm::{Region, RegionKind, Resolver, RunOutcome, Vm, VmError, VmOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;

const GLOBAL: usize = 4096;

fn files(dir: &str, ext: &[&str]) -> Vec<PathBuf> {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(dir);
    let mut v: Vec<PathBuf> =
        std::fs::read_dir(&d).map(|r| r.filter_map(|e| e.ok().map(|e| e.path())).collect()).unwrap_or_default();
    v.retain(|p| p.extension().is_some_and(|e| ext.iter().any(|x| e == *x)));
    v.sort();
    v
}

/// (name, instructions, number of maps)
fn programs() -> Vec<(String, Vec<Insn>, usize)> {
    let mut out = Vec::new();
    for f in
        files("tests/progs", &["o"]).into_iter().chain(files("examples", &["o"])).chain(files("tests/bench", &["o"]))
    {
        let bytes = std::fs::read(&f).unwrap();
        let Ok(obj) = load(&bytes, &LoadOptions::default()) else { continue };
        for p in &obj.programs {
            out.push((format!("{}:{}", f.display(), p.name), p.insns.clone(), obj.maps.len()));
        }
    }
    for f in files("examples/asm", &["s", "ubpf"]) {
        let text = std::fs::read_to_string(&f).unwrap();
        let syntax = if f.extension().is_some_and(|e| e == "s") { Syntax::Llvm } else { Syntax::Ubpf };
        if let Ok(insns) = assemble(&text, syntax) {
            out.push((f.display().to_string(), insns, 0));
        }
    }
    out
}

fn outcome(r: &Result<RunOutcome, VmError>, known: &[(u64, u64)]) -> String {
    match r {
        // Addresses outside the given memory (stack) differ between engines.
        Err(VmError::OutOfBounds { pc, addr, size, write })
            if known.iter().all(|&(s, l)| addr.wrapping_sub(s) >= l) =>
        {
            format!("OutOfBounds {{ pc: {pc}, size: {size}, write: {write} }}")
        }
        other => format!("{other:?}"),
    }
}

#[test]
fn repository_programs_agree_on_both_engines() {
    let progs = programs();
    assert!(progs.len() >= 10, "found only {} programs", progs.len());
    let mut failures = Vec::new();
    let mut ran = 0;
    for (name, insns, nmaps) in &progs {
        let mut globals = vec![0u8; GLOBAL * nmaps.max(&1)];
        let gbase = globals.as_ptr() as u64;
        let resolver: Resolver = Arc::new(move |_, imm| match imm {
            Imm64::MapIdx(i) | Imm64::MapFd(i) => Some(0xdead_0000 + i as u64 * 0x100),
            Imm64::MapIdxValue { idx, off } => Some(gbase + idx as u64 * GLOBAL as u64 + off as u64),
            _ => None,
        });
        let vo = VmOptions { resolver: Some(resolver.clone()), max_insns: 1_000_000, ..Default::default() };
        let Ok(vm) = Vm::new(insns.clone(), vo) else { continue };
        let jo = JitOptions { resolver: Some(resolver), max_insns: 1_000_000, ..Default::default() };
        let jit = match JitProgram::compile(insns, &jo) {
            Ok(j) => j,
            Err(e) => {
                failures.push(format!("{name}: JIT refused: {e}"));
                continue;
            }
        };
        let init: Vec<u8> = (0..512u32).map(|i| (i * 7 + 3) as u8).collect();
        let mut ctx = init.clone();
        let mut results = Vec::new();
        for engine in 0..2 {
            ctx.copy_from_slice(&init);
            globals.iter_mut().for_each(|b| *b = 0);
            let known = [(ctx.as_ptr() as u64, ctx.len() as u64), (gbase, globals.len() as u64)];
            let c = Region::from_mut(RegionKind::Ctx, &mut ctx);
            let g = Region::from_mut(RegionKind::Other, &mut globals);
            let args = [c.start(), 0, 0, 0, 0];
            let r =
                if engine == 0 { vm.run_with(args, &[c, g], &mut ()) } else { jit.run_with(args, &[c, g], &mut ()) };
            results.push((outcome(&r, &known), ctx.clone(), globals.clone()));
        }
        ran += 1;
        if results[0] != results[1] {
            failures.push(format!("{name}: interpreter {} / JIT {}", results[0].0, results[1].0));
        }
    }
    println!("objects: {ran} programs run on both engines, {} differ", failures.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
