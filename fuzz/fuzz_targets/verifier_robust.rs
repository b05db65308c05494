#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    bpfbox_fuzzing::soundness::verifier_robust(data);
});
