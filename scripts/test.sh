#!/usr/bin/env bash
# The test command (README): every crate's tests, including the bpf_conformance suite
# read from ../shared/conformance (or $BPFBOX_CONFORMANCE_DIR). --show-output prints
# what passing tests report (how many conformance files ran, SKIP lines).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --locked -- --show-output
# The runtime's tests (maps, helpers, tail calls, contexts) once more with every
# program on bpfbox's JIT: one corpus, both engines.
echo "runtime tests on the JIT (BPFBOX_TEST_ENGINE=jit):"
BPFBOX_TEST_ENGINE=jit cargo test -p bpfbox-vm --tests --locked
