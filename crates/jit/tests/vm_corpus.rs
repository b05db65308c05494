//! The interpreter's unit-test programs, run on both engines.
//!
//! Rather than copying `crates/vm/src/tests.rs`, this test reads it: every string
//! literal that assembles as a uBPF-syntax program (with `{name}` placeholders filled
//! from the file's `let name = "..."` bindings, numeric ones tried with a few values)
//! runs on the interpreter and on the JIT, checked and unchecked, with several
//! memories, helper tables and budgets. Result (r0, instruction count or error) and
//! memory afterwards must be identical.

#![allow(clippy::unwrap_used)]

use bpfbox_abi::{ArgType, HelperProto, RetType};
use bpfbox_isa::{assemble, Insn, Syntax};
use bpfbox_jit::{JitOptions, JitProgram};
use bpfbox_vm::{HelperCtx, HelperOutcome, HelperTable, Region, RegionKind, Vm, VmError, VmOptions};
use std::collections::BTreeMap;

const VM_TESTS: &str = include_str!("../../vm/src/tests.rs");

/// String literals of Rust source, unescaped (`"..."` and `r"..."`/`r#"..."#`).
fn string_literals(src: &str) -> Vec<(usize, String)> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'\'' => {
                // A char literal ('"' in particular) or a lifetime: skip it.
                if b.get(i + 2) == Some(&b'\'') {
                    i += 3;
                } else if b.get(i + 1) == Some(&b'\\') && b.get(i + 3) == Some(&b'\'') {
                    i += 4;
                } else {
                    i += 1;
                }
            }
            b'r' if (b.get(i + 1) == Some(&b'"') || b.get(i + 1) == Some(&b'#'))
                && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')) =>
            {
                let mut j = i + 1;
                let mut hashes = 0;
                while b.get(j) == Some(&b'#') {
                    hashes += 1;
                    j += 1;
                }
                if b.get(j) != Some(&b'"') {
                    i += 1;
                    continue;
                }
                let close: String = std::iter::once('"').chain(std::iter::repeat_n('#', hashes)).collect();
                let start = j + 1;
                let end = src[start..].find(&close).map_or(b.len(), |e| start + e);
                out.push((start, src[start..end].to_string()));
                i = end + close.len();
            }
            b'"' => {
                let start = i;
                let mut s = String::new();
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                        match b.get(i) {
                            Some(b'n') => s.push('\n'),
                            Some(b't') => s.push('\t'),
                            Some(b'\\') => s.push('\\'),
                            Some(b'"') => s.push('"'),
                            Some(b'\'') => s.push('\''),
                            Some(b'0') => s.push('\0'),
                            Some(b'\n') => {
                                // Line continuation: skip the newline and leading whitespace.
                                while i + 1 < b.len() && (b[i + 1] as char).is_whitespace() {
                                    i += 1;
                                }
                            }
                            Some(&c) => s.push(c as char),
                            None => {}
                        }
                        i += 1;
                    } else {
                        let ch = src[i..].chars().next().unwrap();
                        s.push(ch);
                        i += ch.len_utf8();
                    }
                }
                out.push((start, s));
                i += 1;
            }
            _ => i += 1,
        }
    }
    out
}

/// `let name = "...";` bindings of the file.
fn bindings(src: &str) -> BTreeMap<String, String> {
    let lits = string_literals(src);
    let mut m = BTreeMap::new();
    for (pos, text) in lits {
        let before = src[..pos].trim_end();
        let Some(before) = before.strip_suffix('=') else { continue };
        let name: String =
            before.trim_end().chars().rev().take_while(|c| c.is_alphanumeric() || *c == '_').collect::<String>();
        let name: String = name.chars().rev().collect();
        if !name.is_empty() && before.trim_end().ends_with(&name) {
            m.insert(name, text);
        }
    }
    m
}

/// Fill `{name}` placeholders; numeric ones get each of `nums`.
fn expand(text: &str, binds: &BTreeMap<String, String>) -> Vec<String> {
    let mut t = text.to_string();
    for (k, v) in binds {
        t = t.replace(&format!("{{{k}}}"), v);
    }
    if !t.contains('{') {
        return vec![t];
    }
    // Remaining placeholders (e.g. `{n}` in a generated chain): try small numbers.
    ["1", "7", "8"]
        .iter()
        .map(|n| {
            let mut out = String::new();
            let mut rest = t.as_str();
            while let Some(a) = rest.find('{') {
                out.push_str(&rest[..a]);
                match rest[a..].find('}') {
                    Some(e) => {
                        out.push_str(n);
                        rest = &rest[a + e + 1..];
                    }
                    None => {
                        rest = &rest[a..];
                        break;
                    }
                }
            }
            out.push_str(rest);
            out
        })
        .collect()
}

fn corpus() -> Vec<(String, Vec<Insn>)> {
    let binds = bindings(VM_TESTS);
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for (_, lit) in string_literals(VM_TESTS) {
        if !lit.contains("exit") && !lit.contains("mov") {
            continue;
        }
        for text in expand(&lit, &binds) {
            if let Ok(insns) = assemble(&text, Syntax::Ubpf) {
                if seen.insert(text.clone()) {
                    out.push((text, insns));
                }
            }
        }
    }
    out
}

/// A helper with memory, environment and exit behaviour: `sum(ptr, len)` as in the
/// interpreter's tests (reads memory, counts calls in a `u32` env, writes back).
fn sum(ctx: &mut HelperCtx<'_>, a: [u64; 5]) -> Result<HelperOutcome, VmError> {
    let mut buf = vec![0u8; (a[1] as usize).min(64)];
    ctx.read(a[0], &mut buf)?;
    if let Some(n) = ctx.env::<u32>() {
        *n += 1;
    }
    ctx.write_u64(a[0], 0xdead)?;
    Ok(HelperOutcome::Return(buf.iter().map(|&b| b as u64).sum()))
}

fn helper_tables() -> Vec<HelperTable> {
    let mut t = HelperTable::conformance();
    t.register(HelperProto::new(100, "sum", RetType::INTEGER, &[ArgType::PTR_TO_MEM, ArgType::CONST_SIZE]), sum);
    vec![t, HelperTable::empty()]
}

type Outcome = (Result<bpfbox_vm::RunOutcome, VmError>, Vec<u8>, u32);

/// Which engine runs.
enum Engine<'a> {
    Interp(&'a Vm),
    Jit(&'a JitProgram),
}

/// Run on `buf` (reset to `pkt` first; the same buffer for both engines, so error
/// addresses compare) and the read-only `ro`.
fn run(e: Engine<'_>, buf: &mut [u8], pkt: &[u8], ro: &[u8], checked: bool) -> Outcome {
    buf.copy_from_slice(pkt);
    let mut env = 0u32;
    let rp = Region::from_mut(RegionKind::Packet, buf);
    let rr = Region::from_ref(RegionKind::Ctx, ro);
    let args = [if pkt.is_empty() { 0 } else { rp.start() }, rp.len(), rr.start(), 0, 0];
    let regions = [rp, rr];
    let regions = if pkt.is_empty() { &regions[1..] } else { &regions[..] };
    // SAFETY (unchecked runs): only after a checked run of the same deterministic
    // program on the same memory succeeded.
    let r = match (e, checked) {
        (Engine::Interp(vm), true) => vm.run_with(args, regions, &mut env),
        (Engine::Interp(vm), false) => unsafe { vm.run_with_unchecked(args, regions, &mut env) },
        (Engine::Jit(p), true) => p.run_with(args, regions, &mut env),
        (Engine::Jit(p), false) => unsafe { p.run_with_unchecked(args, regions, &mut env) },
    };
    (r, buf.to_vec(), env)
}

/// Errors may name stack addresses, which differ between the engines' runs.
fn same_error(x: &VmError, y: &VmError, known: &[(u64, u64)]) -> bool {
    if x == y {
        return true;
    }
    let outside = |a: u64| known.iter().all(|&(s, l)| a.wrapping_sub(s) >= l.max(1));
    match (x, y) {
        (
            VmError::OutOfBounds { pc, addr, size, write },
            VmError::OutOfBounds { pc: p2, addr: a2, size: s2, write: w2 },
        ) => (pc, size, write) == (p2, s2, w2) && outside(*addr) && outside(*a2),
        (VmError::BadCallTarget { pc, .. }, VmError::BadCallTarget { pc: p2, .. }) => pc == p2,
        _ => false,
    }
}

#[test]
fn vm_unit_test_programs_agree_on_both_engines() {
    let progs = corpus();
    assert!(progs.len() >= 100, "only {} programs extracted from crates/vm/src/tests.rs", progs.len());
    let pkt: Vec<u8> = (0..16u8).map(|i| 0x88u8.wrapping_add(i.wrapping_mul(0x11))).collect();
    let ro = [5u8; 12];
    let mut runs = 0;
    let mut failures = Vec::new();
    for (text, insns) in &progs {
        for helpers in helper_tables() {
            for max in [bpfbox_vm::DEFAULT_MAX_INSNS, 3, 1000] {
                let vo = VmOptions { helpers: helpers.clone(), max_insns: max, ..Default::default() };
                let Ok(vm) = Vm::new(insns.clone(), vo) else { continue };
                let jo = JitOptions { helpers: helpers.clone(), max_insns: max, ..Default::default() };
                let jit = match JitProgram::compile(insns, &jo) {
                    Ok(j) => j,
                    Err(e) => {
                        failures.push(format!("compile failed: {e}\n{text}"));
                        continue;
                    }
                };
                let unchecked = JitProgram::compile(insns, &JitOptions { checked: false, ..jo.clone() }).unwrap();
                for p in [&pkt[..], &pkt[..4], &[]] {
                    runs += 1;
                    let mut buf = p.to_vec();
                    let known = [(buf.as_ptr() as u64, buf.len() as u64), (ro.as_ptr() as u64, ro.len() as u64)];
                    let a = run(Engine::Interp(&vm), &mut buf, p, &ro, true);
                    let b = run(Engine::Jit(&jit), &mut buf, p, &ro, true);
                    let same = match (&a.0, &b.0) {
                        (Ok(x), Ok(y)) => x == y,
                        (Err(x), Err(y)) => same_error(x, y, &known),
                        _ => false,
                    };
                    if !same || a.1 != b.1 || a.2 != b.2 {
                        failures.push(format!("max {max}, mem {}: interp {a:?}\n   vs jit {b:?}\n{text}", p.len()));
                        continue;
                    }
                    if a.0.is_ok() {
                        let c = run(Engine::Interp(&vm), &mut buf, p, &ro, false);
                        let d = run(Engine::Jit(&unchecked), &mut buf, p, &ro, false);
                        if c != d {
                            failures.push(format!("unchecked: {c:?}\n   vs {d:?}\n{text}"));
                        }
                    }
                }
            }
        }
    }
    println!("vm corpus: {} programs, {runs} runs per engine, {} failures", progs.len(), failures.len());
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
