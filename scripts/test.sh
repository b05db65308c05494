#!/usr/bin/env bash
# The test command (README). It installs what the tests need first (scripts/install-deps.sh:
# clang-19, llvm-19, bpftool, libbpf-dev, libelf-dev, zlib1g-dev, qemu-user; idempotent,
# apt only when something is missing), then runs every crate's tests with the kernel
# backend built in, including the bpf_conformance suite read from ../shared/conformance
# (or $BPFBOX_CONFORMANCE_DIR). --show-output prints what passing tests report (how
# many conformance files ran, SKIP lines).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# Everything, libbpfbox.so included (crates/capi/tests/c_host.rs links the C example
# host with it; cargo builds no cdylib for tests), then the tests with the same features.
cargo build --workspace --locked --features bpfbox-cli/kernel --features bpfbox/kernel
cargo test --workspace --locked --features bpfbox-cli/kernel --features bpfbox/kernel -- --show-output
# The runtime's tests (maps, helpers, tail calls, contexts) once more with every
# program on bpfbox's JIT: one corpus, both engines.
echo "runtime tests on the JIT (BPFBOX_TEST_ENGINE=jit):"
BPFBOX_TEST_ENGINE=jit cargo test -p bpfbox-vm --tests --locked
# The Python package (crates/python, python/): built into a virtualenv, its pytest suite.
scripts/test-python.sh
