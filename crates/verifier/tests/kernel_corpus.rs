//! Loads every case of `tests/verifier/asm/*.s` into the running kernel and requires
//! the kernel's verdict (accept or reject) to be the one the file expects. A case
//! where they differ fails the test unless it is listed in `EXPECTED_DISAGREEMENTS`
//! with the reason. For rejections, whether the kernel's log holds the expected
//! message text is counted and printed (informative: bpfbox aims at the kernel's
//! messages, the verdict is what must agree).
//!
//! With `BPFBOX_KERNEL_CORPUS_DUMP=FILE`, the kernel's verdict on every case is
//! written to FILE, one tab-separated line per case: file, case name, `accept` or
//! `reject`, the pc of the last instruction the log shows before the error (or -1),
//! and the error lines (joined by ` | `) — a help for writing the `; error:` annotations.
//!
//! `; unprivileged` cases are compared only when unprivileged bpf() is allowed
//! (`kernel.unprivileged_bpf_disabled` = 0) — and even then this test runs as root,
//! so they are listed as skipped with the reason.

mod common;

use bpfbox_kernel::{load_raw, RawLoad, RawMap};
use common::{all_cases, Case, Expect};

/// Cases where the kernel's verdict differs from the file's: (file, case, reason).
const EXPECTED_DISAGREEMENTS: &[(&str, &str, &str)] = &[];

fn kernel_available() -> bool {
    match bpfbox_kernel::availability() {
        Ok(()) => true,
        Err(why) => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("kernel unavailable in CI: {why}");
            }
            eprintln!("SKIP: {why}");
            false
        }
    }
}

/// The kernel's verdict: `Ok(())` or the last meaningful line of its log.
fn kernel_verdict(c: &Case) -> Result<(), (String, String)> {
    let bytes = bpfbox_isa::encode_program(&c.prog.insns);
    let maps: Vec<RawMap> = c
        .prog
        .maps
        .iter()
        .map(|m| RawMap {
            map_type: m.map_type,
            key_size: m.key_size,
            value_size: m.value_size,
            max_entries: m.max_entries,
            flags: 0,
            frozen: m.frozen,
            spin_lock_off: m.spin_lock_off,
        })
        .collect();
    let req = RawLoad {
        prog_type: c.prog.prog_type.number(),
        expected_attach_type: c.prog.expected_attach_type,
        insns: &bytes,
        maps: &maps,
    };
    match load_raw(&req) {
        Ok(_) => Ok(()),
        Err(e) => Err((e.to_string(), e.log)),
    }
}

#[test]
fn asm_cases_agree_with_the_kernel() {
    if !kernel_available() {
        return;
    }
    let unpriv_reason = match std::fs::read_to_string("/proc/sys/kernel/unprivileged_bpf_disabled") {
        Ok(s) if s.trim() == "0" => "this test runs privileged (dropping capabilities is not implemented)".to_string(),
        Ok(s) => format!("kernel.unprivileged_bpf_disabled = {}: unprivileged bpf() is refused", s.trim()),
        Err(e) => format!("kernel.unprivileged_bpf_disabled unreadable: {e}"),
    };
    let cases = all_cases();
    let listed = |c: &Case| EXPECTED_DISAGREEMENTS.iter().find(|(f, n, _)| *f == c.file && *n == c.name);
    let (mut loaded, mut agree, mut listed_n, mut skipped) = (0, 0, 0, 0);
    let (mut rejects, mut text_found) = (0, 0);
    let mut unexpected = Vec::new();
    let mut text_missing = Vec::new();
    let mut dump = String::new();
    for c in &cases {
        let what = format!("{}:{} `{}`", c.file, c.line, c.name);
        if c.unprivileged {
            skipped += 1;
            eprintln!("  skipped {what}: {unpriv_reason}");
            continue;
        }
        loaded += 1;
        let kernel = kernel_verdict(c);
        match &kernel {
            Ok(()) => dump.push_str(&format!("{}\t{}\taccept\t-1\t\n", c.file, c.name)),
            Err((e, log)) => {
                let msg = if log.is_empty() { e.clone() } else { error_lines(log) };
                dump.push_str(&format!("{}\t{}\treject\t{}\t{msg}\n", c.file, c.name, error_pc(log)));
            }
        }
        let expect_ok = matches!(c.expect, Expect::Accept);
        if let (Expect::Error { text, .. }, Err((_, log))) = (&c.expect, &kernel) {
            rejects += 1;
            if log.contains(text.as_str()) {
                text_found += 1;
            } else {
                text_missing.push(format!("{what}: expected `{text}`, kernel: {}", last_line(log)));
            }
        }
        if kernel.is_ok() == expect_ok {
            agree += 1;
            if let Some((_, _, why)) = listed(c) {
                unexpected.push(format!("{what}: listed as a disagreement ({why}) but the kernel agrees now"));
            }
            continue;
        }
        let kernel_says = match &kernel {
            Ok(()) => "accepts".to_string(),
            Err((e, _)) => format!("rejects: {e}"),
        };
        if let Some((_, _, why)) = listed(c) {
            listed_n += 1;
            eprintln!("  listed {what}: kernel {kernel_says} ({why})");
        } else {
            unexpected.push(format!("{what}: expected {:?}, kernel {kernel_says}", c.expect));
        }
    }
    eprintln!(
        "asm cases: {loaded} loaded into the kernel, {agree} agree, {listed_n} listed, {skipped} skipped (unprivileged)"
    );
    eprintln!("rejections: the kernel's log holds the expected text in {text_found} of {rejects}");
    for m in &text_missing {
        eprintln!("  message differs: {m}");
    }
    if let Ok(path) = std::env::var("BPFBOX_KERNEL_CORPUS_DUMP") {
        std::fs::write(&path, dump).unwrap_or_else(|e| panic!("writing {path}: {e}"));
    }
    assert!(
        unexpected.is_empty(),
        "{} disagreements with the kernel:\n  {}",
        unexpected.len(),
        unexpected.join("\n  ")
    );
}

fn last_line(log: &str) -> &str {
    log.lines().rev().find(|l| !l.trim().is_empty() && !l.starts_with("processed")).unwrap_or("")
}

/// The log's lines after the last instruction line, joined by ` | `.
fn error_lines(log: &str) -> String {
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty() && !l.starts_with("processed")).collect();
    let start = lines
        .iter()
        .rposition(|l| l.split_once(": (").is_some_and(|(n, _)| n.parse::<u32>().is_ok()))
        .map_or(0, |i| i + 1);
    lines[start..].join(" | ")
}

/// The pc of the last instruction line (`N: (op) ...`) the log shows before its error
/// line, or -1.
fn error_pc(log: &str) -> i64 {
    let lines: Vec<&str> = log.lines().collect();
    let err = lines.iter().rposition(|l| !l.trim().is_empty() && !l.starts_with("processed")).unwrap_or(0);
    lines[..err]
        .iter()
        .rev()
        .find_map(|l| {
            let (n, rest) = l.split_once(": (")?;
            n.parse::<i64>().ok().filter(|_| rest.contains(')'))
        })
        .unwrap_or(-1)
}
