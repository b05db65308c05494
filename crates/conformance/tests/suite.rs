//! Runs every file of the bpf_conformance suite on the bpfbox interpreter.
//!
//! The suite is not in this repository; it is read from `../shared/conformance` beside
//! the workspace, or from `$BPFBOX_CONFORMANCE_DIR`. When it is missing the tests print
//! SKIP, except under `CI=true`, where a missing suite is a failure.

#![allow(clippy::unwrap_used)]

use bpfbox_conformance::{judge, run_bytecode, Engine, Outcome, TestFile, Verdict};
use bpfbox_isa::{decode_program, encode_program, ubpf};
use std::path::PathBuf;

fn suite(sub: &str) -> Option<Vec<PathBuf>> {
    bpfbox_conformance::suite_files_or_skip(sub)
}

fn name(p: &std::path::Path) -> String {
    p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

#[test]
fn conformance_suite_passes_on_interpreter() {
    let Some(files) = suite("tests") else { return };
    let mut failures = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("readable test file");
        let verdict = match TestFile::parse(&text).and_then(|t| t.bytecode().map(|b| (t, b))) {
            Err(e) => Verdict::Fail(format!("unusable: {e}")),
            Ok((t, code)) => judge(&t, &run_bytecode(&code, &t.mem, Engine::Interp)),
        };
        if let Verdict::Fail(why) = verdict {
            failures.push(format!("{}: {why}", name(f)));
        }
    }
    println!(
        "conformance (interp): {} run, {} passed, {} failed",
        files.len(),
        files.len() - failures.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "failures:\n{}", failures.join("\n"));
}

#[test]
fn negative_files_are_rejected() {
    let Some(files) = suite("negative") else { return };
    let mut wrongly_passed = Vec::new();
    let mut by_stage = std::collections::BTreeMap::<&str, usize>::new();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("readable test file");
        let stage = match TestFile::parse(&text) {
            Err(_) => "test file refused",
            Ok(t) => match t.bytecode() {
                Err(_) => "assembler refused",
                Ok(code) => {
                    let out = run_bytecode(&code, &t.mem, Engine::Interp);
                    match judge(&t, &out) {
                        Verdict::Pass => {
                            wrongly_passed.push(name(f));
                            "passed"
                        }
                        Verdict::Fail(_) => match out {
                            Outcome::Failed(_) => "engine refused",
                            Outcome::Returned(_) => "result differs",
                        },
                    }
                }
            },
        };
        *by_stage.entry(stage).or_default() += 1;
    }
    println!("conformance negative: {} files, rejected as {:?}", files.len(), by_stage);
    assert!(wrongly_passed.is_empty(), "negative tests that passed: {wrongly_passed:?}");
}

/// The assembler agrees with the suite's own `raw` encodings, and every program survives
/// a disassemble/assemble round trip in uBPF syntax.
#[test]
fn assembler_matches_raw_and_round_trips() {
    let Some(files) = suite("tests") else { return };
    let mut checked_raw = 0;
    for f in &files {
        let text = std::fs::read_to_string(f).expect("readable test file");
        let t = TestFile::parse(&text).expect("parsable");
        if let (Some(asm), Some(raw)) = (&t.asm, &t.raw) {
            let ours = encode_program(&ubpf::assemble(asm).unwrap_or_else(|e| panic!("{}: {e}", name(f))));
            assert_eq!(&ours, raw, "{}: assembled bytes differ from the raw section", name(f));
            checked_raw += 1;
        }
        let code = t.bytecode().unwrap_or_else(|e| panic!("{}: {e}", name(f)));
        let insns = decode_program(&code).unwrap_or_else(|e| panic!("{}: {e}", name(f)));
        let text = ubpf::disasm(&insns);
        let back = ubpf::assemble(&text).unwrap_or_else(|e| panic!("{}: {e}\n{text}", name(f)));
        assert_eq!(back, insns, "{}: ubpf round trip", name(f));
    }
    println!("assembler: {checked_raw} files checked against their raw sections, {} round-tripped", files.len());
}
