//! The committed kernel facts (`crates/abi/src/helper_access/linux.facts`) against the
//! running kernel, probed by `bpfbox_kernel::facts`.
//!
//! On the kernel build the committed file was generated from (same release and BTF
//! hash) the two must be equal. On another build they may differ — kernels built with
//! other options allow other helpers — so the test prints the differences and passes;
//! `bpfbox verify` then uses the running kernel's facts anyway. To rewrite the file from
//! the running kernel:
//!
//! ```text
//! BPFBOX_REGEN_HELPER_ACCESS=1 cargo test -p bpfbox-kernel --test helper_access
//! ```

mod common;

use bpfbox_abi::kernel_facts::KernelFacts;
use bpfbox_abi::prog_types::ProgType;
use bpfbox_kernel::facts::{self, load_call, says_not_allowed, CONFIGS};
use std::path::PathBuf;

fn facts_path() -> PathBuf {
    common::repo().join("crates/abi/src/helper_access/linux.facts")
}

const HEADER: &str = "\
bpfbox kernel facts (format 1): what one kernel build allows, as bpfbox's verifier uses it.
Generated from the running kernel (root: CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN) by
crates/kernel/tests/helper_access.rs; do not edit. Regenerate:
BPFBOX_REGEN_HELPER_ACCESS=1 cargo test -p bpfbox-kernel --test helper_access";

#[test]
fn check_committed_facts() {
    if !common::kernel_available() {
        return;
    }
    let start = std::time::Instant::now();
    let running = facts::probe().expect("probe the running kernel");
    eprintln!(
        "probed {} configurations x {} helpers in {:?}: {} allowed pairs, {} configurations not probed ({})",
        CONFIGS.len(),
        bpfbox_abi::MAX_HELPER_ID,
        start.elapsed(),
        running.helpers.allowed_pairs(),
        running.helpers.not_probed.len(),
        running.stamp
    );
    let path = facts_path();
    if std::env::var_os("BPFBOX_REGEN_HELPER_ACCESS").is_some() {
        std::fs::write(&path, running.to_text(HEADER)).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        eprintln!("wrote {}", path.display());
        return;
    }
    let committed = KernelFacts::committed();
    let diffs = committed.helper_differences(&running);
    if committed.stamp.same_build(&running.stamp) {
        assert!(
            diffs.is_empty() && committed.helpers.not_probed == running.helpers.not_probed,
            "the committed facts come from this kernel build ({}) but differ from what it answers now:\n{}",
            running.stamp,
            diffs.join("\n")
        );
        println!("committed facts equal the running kernel's ({})", running.stamp);
    } else {
        // Another build: report, do not fail (verify uses the running kernel's facts).
        println!(
            "the committed facts ({}) come from another kernel build than the running one ({}): {} difference(s)",
            committed.stamp,
            running.stamp,
            diffs.len()
        );
        for d in &diffs {
            println!("  {d}");
        }
    }
}

/// A cached probe is reused only for the same kernel build, and is what a fresh probe gives.
#[test]
fn running_facts_are_cached_per_build() {
    if !common::kernel_available() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("bpfbox-facts-cache-{}", std::process::id()));
    let (first, o1) = facts::running_facts(Some(&dir)).expect("probe");
    assert_eq!(o1, facts::Origin::Probed);
    let file = facts::cache_file(&dir, &first.stamp);
    assert!(file.exists(), "{}", file.display());
    let (second, o2) = facts::running_facts(Some(&dir)).expect("cached");
    assert_eq!(o2, facts::Origin::Cached);
    assert_eq!(first, second);
    // A cache file whose stamp is not this build's is not used.
    let mut other = first.clone();
    other.stamp.release.push_str("-other");
    std::fs::write(&file, other.to_text("stale")).unwrap();
    let (third, o3) = facts::running_facts(Some(&dir)).expect("re-probe");
    assert_eq!(o3, facts::Origin::Probed);
    assert_eq!(third, first);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The classification itself, on cases whose answer is known from the kernel sources.
#[test]
fn known_cases() {
    if !common::kernel_available() {
        return;
    }
    let find = |t: ProgType| CONFIGS.iter().find(|c| c.0 == t).expect("config");
    let (xdp, cls) = (find(ProgType::Xdp), find(ProgType::SchedCls));
    // bpf_skb_load_bytes#26: sched_cls yes (then complains about R2), xdp no.
    let err = load_call(xdp, Some(26)).expect_err("skb_load_bytes in xdp");
    assert!(err.1.contains("program of this type cannot use helper bpf_skb_load_bytes#26"), "{}", err.1);
    assert!(says_not_allowed(&err.1));
    let err = load_call(cls, Some(26)).expect_err("uninitialized R2");
    assert!(!says_not_allowed(&err.1), "{}", err.1);
    // bpf_ktime_get_ns#5 takes no argument: loads everywhere it is allowed.
    assert_eq!(load_call(xdp, Some(5)), Ok(()));
    assert_eq!(load_call(cls, Some(5)), Ok(()));
    // bpf_get_current_pid_tgid#14 reaches socket filters through bpf_base_func_proto.
    assert_eq!(load_call(find(ProgType::SocketFilter), Some(14)), Ok(()));
}
