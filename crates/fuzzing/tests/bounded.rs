//! Runs the fuzz oracles on generated inputs for a bounded time (the long runs are
//! `cargo fuzz run decode` / `assemble` under /fuzz).

#![allow(clippy::unwrap_used)]

use bpfbox_fuzzing::{assemble, decode, gen_program, Rng};
use std::time::{Duration, Instant};

fn budget() -> Duration {
    let secs = std::env::var("BPFBOX_FUZZ_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(3);
    Duration::from_secs(secs)
}

#[test]
fn decoder_oracle_holds_for_bounded_time() {
    let start = Instant::now();
    let mut rng = Rng::new(0x5eed_1234);
    let (mut n, mut accepted) = (0u64, 0u64);
    while start.elapsed() < budget() {
        let p = gen_program(&mut rng);
        if bpfbox_isa::decode_program(&p).is_ok() {
            accepted += 1;
        }
        decode(&p);
        n += 1;
    }
    println!("decode oracle: {n} programs, {accepted} accepted by the decoder");
    assert!(accepted > 100, "generator produced too few valid programs ({accepted} of {n})");
}

#[test]
fn assembler_oracle_holds_for_bounded_time() {
    let start = Instant::now();
    let mut rng = Rng::new(0xfeed_beef);
    let mut n = 0u64;
    // Mutate valid text in both syntaxes: the assembler sees near-valid garbage.
    while start.elapsed() < budget() {
        let p = gen_program(&mut rng);
        let Ok(insns) = bpfbox_isa::decode_program(&p) else { continue };
        for text in [bpfbox_isa::ubpf::disasm(&insns), bpfbox_isa::llvm::disasm(&insns)] {
            let mut b = text.into_bytes();
            for _ in 0..rng.below(4) {
                if b.is_empty() {
                    break;
                }
                let i = rng.below(b.len() as u64) as usize;
                match rng.below(3) {
                    0 => b[i] = b" +-,[]()%rwx0123456789abcdefgl:*="[rng.below(33) as usize],
                    1 => {
                        b.remove(i);
                    }
                    _ => b.insert(i, rng.next_u64() as u8),
                }
            }
            assemble(&b);
            n += 1;
        }
    }
    println!("assemble oracle: {n} texts");
}

#[test]
fn loader_oracle_holds_for_bounded_time() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut seeds = Vec::new();
    for dir in ["tests/progs", "tests/realworld", "tests/realworld/malformed"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            // The small objects: mutations of the 100 KB tracing ones add little.
            if p.to_string_lossy().ends_with(".bpf.o") && e.metadata().is_ok_and(|m| m.len() < 40_000) {
                seeds.push(std::fs::read(&p).unwrap());
            }
        }
    }
    assert!(seeds.len() >= 10, "seed objects");
    let start = Instant::now();
    let mut rng = Rng::new(0x10ad_0b1e);
    let mut n = 0u64;
    for s in &seeds {
        bpfbox_fuzzing::load_object(s);
    }
    while start.elapsed() < budget() {
        let seed = &seeds[rng.below(seeds.len() as u64) as usize];
        bpfbox_fuzzing::load_object(&bpfbox_fuzzing::mutate_object(&mut rng, seed));
        n += 1;
    }
    println!("load oracle: {n} mutated objects from {} seeds", seeds.len());
    assert!(n > 100);
}

/// Verifier soundness (`bpfbox_fuzzing::soundness`): accepted programs never fault
/// checked, and run the same verified (unchecked). `BPFBOX_FUZZ_SEED` picks the seed.
#[test]
fn verifier_soundness_holds_for_bounded_time() {
    use bpfbox_fuzzing::soundness;
    use bpfbox_vm::runtime::{Runtime, RuntimeOptions};
    let seed: u64 = std::env::var("BPFBOX_FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0x5eed_0b9f_b0c5);
    let mut r = Rng::new(seed);
    let start = Instant::now();
    let (mut generated, mut accepted, mut runs) = (0u64, 0u64, 0u64);
    let mut rt = Runtime::new(RuntimeOptions::deterministic(1));
    while start.elapsed() < budget() {
        let o = soundness::check(&mut r, &rt);
        generated += 1;
        if o.accepted {
            accepted += 1;
            runs += o.runs;
            if accepted % 500 == 0 {
                rt = Runtime::new(RuntimeOptions::deterministic(1)); // programs accumulate in a runtime
            }
        }
    }
    println!(
        "soundness: {generated} programs generated, {accepted} accepted, {runs} runs checked and verified, 0 faults"
    );
    assert!(accepted > 0, "no program accepted: the generator is off");
}

/// The verifier never panics on arbitrary decodable programs (`soundness::verifier_robust`).
#[test]
fn verifier_never_panics_for_bounded_time() {
    use bpfbox_fuzzing::soundness::verifier_robust;
    let start = Instant::now();
    let mut rng = Rng::new(0x0bad_5eed);
    let (mut n, mut verified) = (0u64, 0u64);
    while start.elapsed() < budget() {
        verified += u64::from(verifier_robust(&gen_program(&mut rng)));
        // A valid XDP program (the soundness generator's) with a few bytes changed:
        // deeper paths through the verifier than random bytes reach.
        let src = bpfbox_fuzzing::soundness::program(&mut rng);
        let mut bytes = bpfbox_isa::encode_program(&bpfbox_isa::llvm::assemble(&src).unwrap());
        for _ in 0..1 + rng.below(3) {
            let i = rng.below(bytes.len() as u64) as usize;
            bytes[i] ^= 1 << rng.below(8);
        }
        verified += u64::from(verifier_robust(&bytes));
        n += 2;
    }
    println!("verifier robustness: {n} random programs, {verified} decodable ones verified (privileged and unprivileged), no panic");
    assert!(verified > 100, "too few decodable programs ({verified} of {n})");
}
