//! The conformance plugin, driven over its process protocol exactly as the
//! bpf_conformance runner drives it: memory as the first argument (hex bytes separated
//! by two spaces, or an empty string), plugin options as one more argument, the program
//! as hex on stdin, r0 read back as hex from stdout.

#![allow(clippy::unwrap_used)]

use bpfbox_conformance::{judge, run_plugin, Outcome, TestFile, Verdict};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

const PLUGIN: &str = env!("CARGO_BIN_EXE_bpfbox-conformance-plugin");

fn plugin_raw(args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut c = Command::new(PLUGIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("plugin starts");
    // The plugin may refuse its arguments and exit before reading stdin.
    let _ = c.stdin.take().expect("stdin").write_all(stdin.as_bytes());
    let o = c.wait_with_output().expect("plugin finishes");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn whole_suite_through_the_plugin_protocol() {
    let Some(files) = bpfbox_conformance::suite_files_or_skip("tests") else { return };
    for engine in ["interp", "jit"] {
        let mut failed = Vec::new();
        let opt = format!("--engine {engine}");
        for f in &files {
            let t = TestFile::parse(&std::fs::read_to_string(f).expect("read")).expect("parse");
            let code = t.bytecode().expect("bytecode");
            let out = run_plugin(Path::new(PLUGIN), &[opt.as_str()], &code, &t.mem).expect("plugin runs");
            if let Verdict::Fail(why) = judge(&t, &out) {
                failed.push(format!("{}: {why}", f.display()));
            }
        }
        println!(
            "conformance via plugin ({engine}): {} run, {} passed, {} failed",
            files.len(),
            files.len() - failed.len(),
            failed.len()
        );
        assert!(failed.is_empty(), "{engine}: {}", failed.join("\n"));
    }
}

#[test]
fn protocol_details() {
    // mov %r0, %r2 ; exit  -> r0 = memory length
    let prog = "bf  20  00  00  00  00  00  00  95  00  00  00  00  00  00  00  \n";
    assert_eq!(plugin_raw(&["00  00  00  01  00  00  00  02  ", ""], prog), (0, "0x8\n".into(), String::new()));
    // Empty memory string, no options.
    assert_eq!(plugin_raw(&[""], prog).1, "0x0\n");
    // No arguments at all.
    assert_eq!(plugin_raw(&[], prog).1, "0x0\n");
    // Options in one argument, as the runner passes them.
    assert_eq!(plugin_raw(&["01 02", "--engine interp"], prog).1, "0x2\n");
}

#[test]
fn plugin_errors_exit_nonzero_with_a_message() {
    let (code, out, err) = plugin_raw(&[""], "ff 00 00 00 00 00 00 00\n");
    assert_ne!(code, 0);
    assert!(out.is_empty());
    assert!(err.contains("instruction 0: unknown opcode 0xff"), "{err}");
    let (code, _, err) = plugin_raw(&["zz"], "95 00 00 00 00 00 00 00\n");
    assert_eq!(code, 2);
    assert!(err.contains("not hex"), "{err}");
    let (code, _, err) = plugin_raw(&["", "--engine nope"], "95 00 00 00 00 00 00 00\n");
    assert_eq!(code, 2);
    assert!(err.contains("unknown engine"), "{err}");
    // r1 = 0; ldxdw r0, [r1] : reads address 0 -> fault, never a crash.
    let (code, _, err) = plugin_raw(&[""], "b7 01 00 00 00 00 00 00 79 10 00 00 00 00 00 00 95 00 00 00 00 00 00 00\n");
    assert_eq!(code, 1);
    assert!(err.contains("instruction 1") || err.contains("pc 1"), "{err}");
}

#[test]
fn outcome_of_failed_plugin_run_is_failed() {
    let o = run_plugin(Path::new(PLUGIN), &[], &[0xff, 0, 0, 0, 0, 0, 0, 0], &[]).expect("runs");
    assert!(matches!(o, Outcome::Failed(_)));
}

#[test]
fn elf_mode_runs_the_objects_program() {
    let obj = std::fs::read(format!("{}/../../tests/progs/mem_sum.bpf.o", env!("CARGO_MANIFEST_DIR"))).expect("object");
    let hex: String = obj.iter().map(|b| format!("{b:02x} ")).collect();
    let (code, out, err) = plugin_raw(&["01 02 03 04  05", "--elf"], &hex);
    assert_eq!((code, out.as_str()), (0, "0xf\n"), "{err}");
    // Not an ELF object.
    let (code, _, err) = plugin_raw(&["", "--elf"], "95 00 00 00 00 00 00 00");
    assert_eq!(code, 2);
    assert!(!err.is_empty());
}
