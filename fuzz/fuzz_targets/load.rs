#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| bpfbox_fuzzing::load_object(data));
