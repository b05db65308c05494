#!/usr/bin/env bash
# The product path against the kernel: `bpfbox run` (JIT and interpreter) and the
# library call underneath it, side by side with the kernel's BPF_PROG_TEST_RUN of
# the same clang-built objects and with rbpf's interpreter, interleaved in one run
# (crates/cli/benches/run_path.rs). Needs root for the kernel column.
#
#   scripts/bench-run.sh              the table (BPFBOX_BENCH_ROUNDS rounds, default 3)
#   scripts/bench-run.sh --rebuild    rebuild tests/bench/run/*.bpf.o with clang-19 first
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${1:-}" == "--rebuild" ]]; then
    tests/bench/run/build.sh
fi
cargo bench -p bpfbox-cli --features bpfbox-cli/kernel --bench run_path
