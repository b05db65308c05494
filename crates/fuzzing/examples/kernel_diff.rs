//! A kernel-differential verifier fuzzing campaign:
//! `cargo run --release -p bpfbox-fuzzing --example kernel_diff -- SECONDS [SEED] [MAX_PROGRAMS]`
//! (as root). Prints the counts, the agreement rate and one minimised program per kind
//! of disagreement.

#[path = "../tests/kernel_oracle/mod.rs"]
mod kernel_oracle;

use bpfbox_fuzzing::kernel_diff::Tally;
use std::time::Duration;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |i: usize, d: u64| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(d);
    if let Err(why) = bpfbox_kernel::availability() {
        eprintln!("kernel_diff: the kernel is not available: {why}");
        std::process::exit(2);
    }
    let mut t = Tally::default();
    t.run(num(1, 1), Duration::from_secs(num(0, 60)), num(2, u64::MAX), kernel_oracle::verdict);
    println!("{}", kernel_oracle::report(&t));
}
