//! `tests/progs/can_loop.bpf.o` (clang-19, `may_goto` through inline asm: a counted
//! loop with `can_loop` in its condition and one bounded only by the budget) is
//! accepted, as Linux 6.18 accepts it (checked by hand with `bpftool prog load`).

use bpfbox_object::{load, LoadOptions};
use bpfbox_verifier::object::input_from_object;
use bpfbox_verifier::{verify, VerifyOptions};
use std::path::Path;

#[test]
fn can_loop_object_verifies() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/progs/can_loop.bpf.o");
    let data = std::fs::read(&path).expect("object");
    let obj = load(&data, &LoadOptions::default()).expect("loads");
    let p = &obj.programs[0];
    let input = input_from_object(&obj, p).expect("known type");
    let r = verify(&input, &VerifyOptions { log: true, ..VerifyOptions::default() });
    assert!(r.accepted(), "{:?}\n{}", r.diagnostics, r.log.unwrap_or_default());
    assert!(r.log.unwrap_or_default().contains("stack depth 80"), "64 bytes of array + the may_goto slots");
}
