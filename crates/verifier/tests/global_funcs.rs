//! Global functions (tests/verifier/c/global_*.c): their signatures as read from the
//! object's BTF, and bpfbox's message for each rejected case, which is the kernel's
//! (Linux 6.18; `kernel_agreement.rs` compares the verdicts with the running kernel).

use bpfbox_object::{load, LoadOptions};
use bpfbox_verifier::object::input_from_object;
use bpfbox_verifier::{verify, FuncArg, FuncSig, ProgramInput, VerifyOptions};
use std::path::Path;

fn input(case: &str) -> ProgramInput {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/verifier/c").join(format!("{case}.o"));
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let obj = load(&data, &LoadOptions::default()).unwrap_or_else(|e| panic!("{case}: {e}"));
    input_from_object(&obj, &obj.programs[0]).expect("program type")
}

fn sig<'a>(p: &'a ProgramInput, name: &str) -> &'a FuncSig {
    p.funcs.iter().find(|f| f.name == name).unwrap_or_else(|| panic!("no func {name}: {:?}", p.funcs))
}

#[test]
fn signatures_come_from_btf() {
    let p = input("global_nonnull_ok");
    assert!(sig(&p, "prog").global);
    assert_eq!(sig(&p, "twice").args, Ok(vec![FuncArg::Mem { size: 4, nullable: false }]));
    assert_eq!(
        sig(&input("global_null_check_ok"), "read_or_zero").args,
        Ok(vec![FuncArg::Mem { size: 4, nullable: true }])
    );
    assert_eq!(sig(&input("global_ctx_ok"), "eth_proto_byte").args, Ok(vec![FuncArg::Ctx]));
    assert_eq!(sig(&input("global_scalar_ok"), "lookup").args, Ok(vec![FuncArg::Scalar, FuncArg::Scalar]));
    assert_eq!(sig(&input("global_small_buf_bad"), "sum").args, Ok(vec![FuncArg::Mem { size: 64, nullable: true }]));
    assert_eq!(
        sig(&input("global_ret_ptr_bad"), "pick").args,
        Err("Global function pick() doesn't return scalar. Only those are supported.".into())
    );
    // libbpf gives hidden global functions static linkage.
    assert!(!sig(&input("global_hidden_static_ok"), "deref").global);
    assert_eq!(sig(&input("global_arg_ctx_ok"), "first_byte").args, Ok(vec![FuncArg::Ctx]));
    // Without BTF (raw and assembled programs) every subprogram is static.
    let mut raw = input("global_maybe_null_bad");
    raw.funcs.clear();
    assert!(verify(&raw, &VerifyOptions::default()).accepted());
}

#[test]
fn rejections_say_what_the_kernel_says() {
    let cases = [
        ("global_maybe_null_bad", "R1 invalid mem access 'mem_or_null'"),
        ("global_unbounded_bad", "unbounded memory access"),
        ("global_small_buf_bad", "Caller passes invalid args into func#1 ('sum')"),
        ("global_scalar_for_ptr_bad", "R1 type=scalar expected=fp"),
        ("global_ptr_for_scalar_bad", "R1 is not a scalar\nCaller passes invalid args into func#1 ('low_bit')"),
        ("global_ret_ptr_bad", "Global function pick() doesn't return scalar. Only those are supported."),
        ("global_lock_bad", "global function calls are not allowed while holding a lock,\nuse static function instead"),
        ("global_nonnull_maybe_null_bad", "arg#0 is expected to be non-NULL"),
        ("global_ctx_expected_bad", "arg#0 expects pointer to ctx"),
        ("global_pkt_changed_bad", "R6 invalid mem access 'scalar'"),
        ("global_chain_too_deep_bad", "the call stack of 8 frames is too deep !"),
        ("global_leak_bad", "Unreleased reference id="),
    ];
    let mut wrong = Vec::new();
    for (case, msg) in cases {
        let r = verify(&input(case), &VerifyOptions::default());
        let got = r.diagnostics.first().map(|d| d.message.clone()).unwrap_or_default();
        if !got.contains(msg) {
            wrong.push(format!("{case}: expected `{msg}`, got `{got}`"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
