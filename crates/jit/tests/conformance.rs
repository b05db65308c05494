//! Runs every file of the bpf_conformance suite on the JIT, judged as the suite's
//! runner does, and checks that the JIT's outcome (r0, instruction count, error) is
//! the interpreter's, checked and unchecked, with both register allocators.
//!
//! The suite is read from `../shared/conformance` beside the workspace or from
//! `$BPFBOX_CONFORMANCE_DIR`; when it is missing the test prints SKIP, except under
//! `CI=true`, where a missing suite is a failure.

#![allow(clippy::unwrap_used)]

use bpfbox_conformance::{judge, Outcome, TestFile, Verdict};
use bpfbox_isa::{check_jumps, decode_program};
use bpfbox_jit::{JitOptions, JitProgram, RegAlloc};
use bpfbox_vm::{HelperTable, RunOutcome, Vm, VmError, VmOptions};

fn on_jit(code: &[u8], mem: &[u8], checked: bool, regalloc: RegAlloc) -> Result<RunOutcome, String> {
    let insns = decode_program(code).map_err(|e| e.to_string())?;
    check_jumps(&insns).map_err(|e| e.to_string())?;
    let opts = JitOptions { checked, helpers: HelperTable::conformance(), regalloc, ..Default::default() };
    let prog = JitProgram::compile(&insns, &opts).map_err(|e| e.to_string())?;
    let mut mem = mem.to_vec();
    let r = if checked {
        prog.run(&mut mem)
    } else {
        // SAFETY: only called for programs whose checked run succeeded with this memory.
        unsafe { prog.run_unchecked(&mut mem) }
    };
    r.map_err(|e: VmError| e.to_string())
}

fn on_interp(code: &[u8], mem: &[u8]) -> Result<RunOutcome, String> {
    let insns = decode_program(code).map_err(|e| e.to_string())?;
    check_jumps(&insns).map_err(|e| e.to_string())?;
    let opts = VmOptions { helpers: HelperTable::conformance(), ..Default::default() };
    let vm = Vm::new(insns, opts).map_err(|e| e.to_string())?;
    vm.run(&mut mem.to_vec()).map_err(|e| e.to_string())
}

#[test]
fn conformance_suite_passes_on_jit() {
    let Some(files) = bpfbox_conformance::suite_files_or_skip("tests") else { return };
    let mut failures = Vec::new();
    for f in &files {
        let name = f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let text = std::fs::read_to_string(f).unwrap();
        let (t, code) = match TestFile::parse(&text).and_then(|t| t.bytecode().map(|b| (t, b))) {
            Ok(x) => x,
            Err(e) => {
                failures.push(format!("{name}: unusable: {e}"));
                continue;
            }
        };
        let jit = on_jit(&code, &t.mem, true, RegAlloc::Backtracking);
        let outcome = match &jit {
            Ok(o) => Outcome::Returned(o.r0),
            Err(e) => Outcome::Failed(e.clone()),
        };
        if let Verdict::Fail(why) = judge(&t, &outcome) {
            failures.push(format!("{name}: {why}"));
            continue;
        }
        let interp = on_interp(&code, &t.mem);
        if jit != interp {
            failures.push(format!("{name}: jit {jit:?} != interpreter {interp:?}"));
            continue;
        }
        if let Ok(o) = jit {
            let un = on_jit(&code, &t.mem, false, RegAlloc::Backtracking);
            if un != Ok(o) {
                failures.push(format!("{name}: unchecked jit {un:?} != checked {o:?}"));
            }
            for checked in [true, false] {
                let sp = on_jit(&code, &t.mem, checked, RegAlloc::SinglePass);
                if sp != Ok(o) {
                    failures.push(format!("{name}: single-pass jit (checked: {checked}) {sp:?} != {o:?}"));
                }
            }
        }
    }
    println!(
        "conformance (jit): {} run, {} passed, {} failed",
        files.len(),
        files.len() - failures.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "failures:\n{}", failures.join("\n"));
}
