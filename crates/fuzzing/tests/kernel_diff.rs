//! The kernel-differential verifier fuzzer for a bounded time (`BPFBOX_FUZZ_SECS`,
//! default 3): generated programs are verified by bpfbox and loaded into the running
//! kernel, and their verdicts compared. Long campaigns:
//! `cargo run --release -p bpfbox-fuzzing --example kernel_diff -- SECONDS [SEED]`.

mod kernel_oracle;

use bpfbox_fuzzing::kernel_diff::Tally;
use std::time::Duration;

#[test]
fn verdicts_agree_with_the_kernel_for_a_bounded_time() {
    if !bpfbox_kernel::available_or_skip() {
        return;
    }
    let secs = std::env::var("BPFBOX_FUZZ_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(3);
    let seed = std::env::var("BPFBOX_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x6b65_726e);
    let mut t = Tally::default();
    t.run(seed, Duration::from_secs(secs), u64::MAX, kernel_oracle::verdict);
    println!("{}", kernel_oracle::report(&t));
    assert!(t.programs > 50, "too few programs in {secs} s: {}", t.programs);
    assert!(t.both_accept > 0 && t.both_reject > 0, "the generator must produce both verdicts");
    let unsound: Vec<&String> = t.samples.iter().filter(|(k, _)| k.starts_with("unsound")).map(|(_, v)| &v.1).collect();
    assert!(
        unsound.is_empty(),
        "bpfbox accepted programs the kernel rejects:\n{}",
        unsound.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n")
    );
}
