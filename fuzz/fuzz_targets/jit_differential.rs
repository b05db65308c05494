#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| bpfbox_jit::fuzz::fuzz_differential(data));
