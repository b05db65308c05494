//! Differential fuzzing oracle: interpreter vs JIT.
pub fn fuzz_differential(_bytes: &[u8]) {}
