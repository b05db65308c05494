//! Runs every case of `tests/verifier/asm/*.s` through the verifier.
//!
//! File format: `=== name` starts a case. `; prog: TYPE` and `; map: TYPE key=N
//! value=N entries=N [frozen]` lines set the program type and append maps (lines
//! before the first case apply to every case; a case's own `; map:` lines are
//! added after them; maps are referenced as `ld_pseudo rN, 0x5, INDEX`).
//! `; accept` expects acceptance; `; error: TEXT` on an instruction's line expects
//! a rejection at that instruction whose message contains TEXT. `; unprivileged`
//! verifies the case with the unprivileged rules (e.g. uninitialized stack reads).
//! `; btf` verifies it with the running kernel's BTF (skipped, with a SKIP line,
//! where /sys/kernel/btf/vmlinux is unreadable).
//! `; attach: N` sets the expected attach type (`enum bpf_attach_type` number). A map's
//! `spinlock=N` gives it (in the kernel) a BTF value type with a `bpf_spin_lock` at N.
//! `kernel_corpus.rs` loads every case into the kernel too.

mod common;

use bpfbox_verifier::{verify, VerifyOptions};
use common::{all_cases, Expect};

#[test]
fn corpus() {
    let cases = all_cases();
    assert!(common::corpus_filter().is_some() || cases.len() >= 60, "corpus too small: {}", cases.len());
    let mut failures = Vec::new();
    let (mut acc, mut rej) = (0, 0);
    for c in cases.iter().filter(|c| common::runnable(c)) {
        let r = verify(
            &c.prog,
            &VerifyOptions { unprivileged: c.unprivileged, prog_flags: c.prog_flags, ..VerifyOptions::default() },
        );
        let what = format!("{}:{} `{}`", c.file, c.line, c.name);
        match (&c.expect, r.diagnostics.first()) {
            (Expect::Accept, None) => acc += 1,
            (Expect::Accept, Some(d)) => {
                failures.push(format!("{what}: expected accept, got pc {}: {}", d.pc, d.message))
            }
            (Expect::Error { pc, text }, Some(d)) => {
                if d.message.contains(text.as_str()) && d.pc == *pc {
                    rej += 1;
                } else {
                    failures
                        .push(format!("{what}: expected pc {pc}: {text}\n      got      pc {}: {}", d.pc, d.message));
                }
            }
            (Expect::Error { pc, text }, None) => {
                failures.push(format!("{what}: expected pc {pc}: {text}, got accept"))
            }
        }
    }
    eprintln!("verifier corpus: {} cases, {acc} accepted and {rej} rejected as expected", cases.len());
    assert!(failures.is_empty(), "{} of {} cases failed:\n  {}", failures.len(), cases.len(), failures.join("\n  "));
}
