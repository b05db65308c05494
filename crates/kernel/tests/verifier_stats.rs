//! Loads with a verifier log level: the kernel's statistics (processed instructions,
//! its own verification time) per program, and the log of a failed load.

mod common;

use bpfbox_kernel::types::{BPF_LOG_LEVEL1, BPF_LOG_LEVEL2, BPF_LOG_STATS};
use bpfbox_kernel::{KernelObject, OpenOptions};
use common::*;

#[test]
fn stats_log_gives_processed_insns_and_time_per_program() {
    if !kernel_available() {
        return;
    }
    let path = progs_dir().join("xdp_parse.bpf.o");
    let obj =
        KernelObject::load_with_log(&path, &OpenOptions::default(), BPF_LOG_STATS).unwrap_or_else(|e| panic!("{e}"));
    let names = obj.program_names();
    assert!(!names.is_empty());
    for name in &names {
        let log = obj.verifier_log(name).unwrap_or_else(|| panic!("{name}: no log"));
        let stats = obj.verifier_stats(name).unwrap_or_else(|| panic!("{name}: no stats in {log:?}"));
        assert!(stats.processed_insns > 0, "{name}: {log}");
        assert!(stats.peak_states > 0 || stats.total_states == 0, "{name}: {log}");
        // The statistics-only log has no instruction lines.
        assert!(!log.contains("R10=fp0"), "{name}: {log}");
    }
    assert!(obj.verifier_log("no_such_prog").is_none());

    // Level 2 as well (level 1 drops the log of paths that verified): the instruction
    // log comes first, the statistics still parse.
    let obj = KernelObject::load_with_log(&path, &OpenOptions::default(), BPF_LOG_LEVEL2 | BPF_LOG_STATS)
        .unwrap_or_else(|e| panic!("{e}"));
    let log = obj.verifier_log(&names[0]).expect("log");
    assert!(log.lines().count() > 3, "{log}");
    assert!(obj.verifier_stats(&names[0]).is_some(), "{log}");
}

#[test]
fn default_load_keeps_no_log() {
    if !kernel_available() {
        return;
    }
    let obj = KernelObject::load(&progs_dir().join("xdp_parse.bpf.o"), &OpenOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let name = &obj.program_names()[0];
    assert!(obj.verifier_log(name).is_none());
    assert!(obj.verifier_stats(name).is_none());
}

#[test]
fn failed_load_with_log_level_carries_the_log() {
    if !kernel_available() {
        return;
    }
    let bad = repo().join("tests/verifier/c");
    let Some(path) = std::fs::read_dir(&bad)
        .ok()
        .and_then(|d| d.filter_map(|e| e.ok().map(|e| e.path())).find(|p| p.to_string_lossy().ends_with("_bad.o")))
    else {
        println!("SKIP: no compiled *_bad.o in {}", bad.display());
        return;
    };
    let err = KernelObject::load_with_log(&path, &OpenOptions::default(), BPF_LOG_LEVEL1 | BPF_LOG_STATS)
        .expect_err("a *_bad.o case must be rejected");
    let log = err.verifier_log().unwrap_or_else(|| panic!("no log in {err}"));
    assert!(log.contains("processed "), "{log}");
}
