//! `objdump()` against llvm-objdump-19 on every object in `tests/progs` (C
//! programs) and `crates/object/tests/data` (hand-written corner cases).
//!
//! Each object is compared with the committed `*.objdump` file (written by
//! `scripts/build-progs.sh` / `tests/data/build.sh` with llvm-objdump-19), so the
//! test means something on machines without LLVM, and, when llvm-objdump-19 is
//! installed, with its live output as well (also per function with
//! `--disassemble-symbols`). Without it the live part prints
//! `SKIP: llvm-objdump-19 not found`, and fails if `CI=true`.
//!
//! Lines are compared whitespace-normalised, one to one, with two documented
//! exceptions where the default-cpu llvm-objdump does not know the instruction
//! and bpfbox prints the real one:
//! * a line llvm prints as `<unknown>` matches any text with the same index and
//!   bytes (32-bit atomics other than `lock +=`);
//! * a 32-bit `atomic_fetch_add` (bytes `c3 .. .. .. 01 00 00 00`), which llvm
//!   misprints as `lock *(u32 *)(..) += rN`, matches our
//!   `wN = atomic_fetch_add((u32 *)(..), wN)`.

#![allow(clippy::unwrap_used)]

use bpfbox_object::{objdump, Object};
use std::path::{Path, PathBuf};
use std::process::Command;

fn progs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/progs")
}

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn objects(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_str().is_some_and(|s| s.ends_with(suffix)))
        .collect();
    v.sort();
    v
}

fn norm(line: &str) -> String {
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `(index and bytes, text)` of an instruction line `   12:\t<bytes>\t<text>`.
fn split_insn(line: &str) -> Option<(String, String)> {
    let mut parts = line.splitn(3, '\t');
    let (idx, bytes, text) = (parts.next()?, parts.next()?, parts.next()?);
    idx.trim().strip_suffix(':')?.parse::<u64>().ok()?;
    Some((norm(&format!("{idx} {bytes}")), norm(text)))
}

/// Compare llvm's output with ours under the rules in the module docs.
fn compare(what: &str, llvm: &str, ours: &str) -> Result<usize, String> {
    let l: Vec<&str> = llvm.lines().collect();
    let o: Vec<&str> = ours.lines().collect();
    let mut insns = 0;
    for (n, (a, b)) in l.iter().zip(o.iter()).enumerate() {
        if norm(a) == norm(b) {
            if split_insn(a).is_some() {
                insns += 1;
            }
            continue;
        }
        let ok = match (split_insn(a), split_insn(b)) {
            (Some((pa, ta)), Some((pb, tb))) if pa == pb => {
                let bytes: Vec<&str> = pa.split(' ').skip(1).collect();
                let is_fetch_add32 = bytes.len() == 8 && bytes[0] == "c3" && bytes[4..] == ["01", "00", "00", "00"];
                ta == "<unknown>"
                    || (is_fetch_add32 && ta.starts_with("lock *(u32 *)") && tb.contains("= atomic_fetch_add((u32 *)"))
            }
            _ => false,
        };
        if ok {
            insns += 1;
        } else {
            return Err(format!("{what}: line {}:\n  llvm: {a}\n  ours: {b}", n + 1));
        }
    }
    if l.len() != o.len() {
        return Err(format!("{what}: llvm prints {} lines, we print {}\n--- ours ---\n{ours}", l.len(), o.len()));
    }
    Ok(insns)
}

fn ours(path: &Path, prog: Option<&str>) -> String {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let obj = Object::parse(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    objdump(&obj, name, prog).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn all_objects() -> Vec<PathBuf> {
    let progs = objects(&progs_dir(), ".bpf.o");
    assert!(progs.len() >= 8, "expected the C test programs in tests/progs, found {}", progs.len());
    let mut all = progs;
    all.extend(objects(&data_dir(), ".o"));
    all
}

#[test]
fn matches_committed_llvm_objdump_output() {
    let mut insns = 0;
    for path in all_objects() {
        let expected_path = path.with_extension("objdump");
        let expected = std::fs::read_to_string(&expected_path)
            .unwrap_or_else(|e| panic!("{}: {e} (run scripts/build-progs.sh)", expected_path.display()));
        match compare(&path.display().to_string(), &expected, &ours(&path, None)) {
            Ok(n) => insns += n,
            Err(e) => panic!("{e}"),
        }
    }
    println!("{insns} instruction lines match the committed llvm-objdump-19 output");
    assert!(insns > 300);
}

fn llvm_objdump() -> Option<&'static str> {
    let tool = "llvm-objdump-19";
    Command::new(tool).arg("--version").output().ok().filter(|o| o.status.success()).map(|_| tool)
}

#[test]
fn matches_live_llvm_objdump() {
    let Some(tool) = llvm_objdump() else {
        println!("SKIP: llvm-objdump-19 not found");
        assert!(std::env::var("CI").as_deref() != Ok("true"), "llvm-objdump-19 is required when CI=true");
        return;
    };
    let mut insns = 0;
    for path in all_objects() {
        let dir = path.parent().expect("parent");
        let name = path.file_name().and_then(|n| n.to_str()).expect("name");
        let run = |extra: Option<&str>| {
            let mut c = Command::new(tool);
            c.current_dir(dir).arg("-d");
            if let Some(sym) = extra {
                c.arg(format!("--disassemble-symbols={sym}"));
            }
            let out = c.arg(name).output().expect("llvm-objdump-19 runs");
            assert!(out.status.success(), "{tool} failed on {name}");
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        match compare(name, &run(None), &ours(&path, None)) {
            Ok(n) => insns += n,
            Err(e) => panic!("{e}"),
        }
        // Per symbol, like `--disassemble-symbols=NAME`.
        let bytes = std::fs::read(&path).expect("read");
        let obj = Object::parse(&bytes).expect("parse");
        for f in obj.sections.iter().flat_map(|s| s.symbols.iter()) {
            let what = format!("{name} --disassemble-symbols={}", f.name);
            if let Err(e) = compare(&what, &run(Some(&f.name)), &ours(&path, Some(&f.name))) {
                panic!("{e}");
            }
        }
    }
    println!("{insns} instruction lines match live llvm-objdump-19 output");
}

#[test]
fn unknown_function_is_an_error() {
    let path = progs_dir().join("xdp_parse.bpf.o");
    let obj = Object::parse(&std::fs::read(path).expect("read")).expect("parse");
    let err = objdump(&obj, "x.o", Some("nope")).expect_err("no such function");
    assert_eq!(err.to_string(), "no function named `nope` in any code section");
}

/// Our objdump output, pasted into the llvm-syntax assembler, gives back the
/// instructions of all code sections (up to what objdump text does not show).
#[test]
fn objdump_output_assembles_back() {
    use bpfbox_isa::llvm::{assemble, objdump_insn};
    for path in objects(&progs_dir(), ".bpf.o") {
        let text = ours(&path, None);
        let back = assemble(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let obj = Object::parse(&std::fs::read(&path).expect("read")).expect("parse");
        let mut all = Vec::new();
        for sec in &obj.sections {
            all.extend(sec.insns().expect("decodes"));
        }
        let shown = |p: &[bpfbox_isa::Insn]| p.iter().map(objdump_insn).collect::<Vec<_>>();
        assert_eq!(shown(&back), shown(&all), "{}", path.display());
    }
}
