//! `bpfbox trace` against the running kernel: scripts attach, run and print as bpftrace
//! prints. Needs root and the `kernel` feature; says SKIP (and fails under CI=true)
//! without a usable kernel.

#![cfg(feature = "kernel")]
#![allow(clippy::unwrap_used)]

use std::process::Command;

const BPFBOX: &str = env!("CARGO_BIN_EXE_bpfbox");

fn kernel_or_skip(test: &str) -> bool {
    if bpfbox_kernel::available_or_skip() {
        return true;
    }
    println!("SKIP {test}: no usable kernel (root and bpf() needed)");
    false
}

fn trace(args: &[&str]) -> (i32, String, String) {
    let o = Command::new(BPFBOX).arg("trace").args(args).output().expect("bpfbox runs");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn begin_printf_exit_prints_as_bpftrace() {
    if !kernel_or_skip("begin_printf_exit_prints_as_bpftrace") {
        return;
    }
    let (code, out, err) = trace(&["-e", r#"BEGIN { printf("hello %d %s\n", 42, "x"); @n = count(); exit(); }"#]);
    assert_eq!(code, 0, "{err}");
    // Byte for byte what bpftrace 0.17 prints for this script.
    assert_eq!(out, "Attaching 1 probe...\nhello 42 x\n\n\n@n: 1\n");
}

#[test]
fn a_commands_syscalls_are_counted() {
    if !kernel_or_skip("a_commands_syscalls_are_counted") {
        return;
    }
    // /bin/true execs once (the execve of the command itself, after the probes attach).
    let (code, out, err) = trace(&[
        "-c",
        "/bin/true",
        "-e",
        "tracepoint:syscalls:sys_enter_execve /pid == cpid/ { @execs = count(); @who[comm] = count(); } \
         tracepoint:syscalls:sys_enter_exit_group /pid == cpid/ { @code = hist(args->error_code); }",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("Attaching 2 probes...\n"), "{out}");
    assert!(out.contains("@execs: 1\n"), "{out}");
    assert!(
        out.contains("@code: \n[0]                    1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n"),
        "{out}"
    );
}

#[test]
fn json_output_and_join() {
    if !kernel_or_skip("json_output_and_join") {
        return;
    }
    let (code, out, err) = trace(&[
        "-f",
        "json",
        "-c",
        "/bin/echo a b",
        "-e",
        "tracepoint:syscalls:sys_enter_execve /pid == cpid/ { join(args->argv); }",
    ]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], r#"{"type": "attached_probes", "data": {"probes": 1}}"#);
    assert!(lines.contains(&r#"{"type": "join", "data": "/bin/echo a b"}"#), "{out}");
}

#[test]
fn probes_this_kernel_cannot_take_say_why() {
    if !kernel_or_skip("probes_this_kernel_cannot_take_say_why") {
        return;
    }
    if !std::path::Path::new("/sys/kernel/tracing/kprobe_events").exists() {
        let (code, _, err) = trace(&["-e", "kprobe:do_nanosleep { @ = count(); }"]);
        assert_eq!(code, 1, "{err}");
        assert!(err.contains("this kernel has no kprobes"), "{err}");
    }
    let (code, _, err) = trace(&["--dry-run", "-e", "usdt:/bin/true:no:such { }"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no USDT probe of /bin/true matches `no:such`"), "{err}");
}

#[test]
fn usdt_probes_with_semaphores_fire() {
    if !kernel_or_skip("usdt_probes_with_semaphores_fire") {
        return;
    }
    // Debian's python3.11 has USDT probes behind semaphores (bpftrace's own test subject).
    let py = "/usr/bin/python3.11";
    let has_notes = std::fs::read(py).map(|d| d.windows(7).any(|w| w == b"stapsdt")).unwrap_or(false);
    if !has_notes {
        println!("SKIP usdt_probes_with_semaphores_fire: no {py} with .note.stapsdt");
        return;
    }
    let dir = std::env::temp_dir().join(format!("bpfbox-usdt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("imp.py");
    std::fs::write(&script, "import json\n").unwrap();
    let (code, out, err) = trace(&[
        "-c",
        &format!("{py} {}", script.display()),
        "-e",
        &format!("usdt:{py}:python:import__find__load__start {{ @[str(arg0)] = count(); }}"),
    ]);
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("@[json.decoder]: 1\n"), "{out}");
}
