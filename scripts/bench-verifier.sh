#!/usr/bin/env bash
# Verifier speed: every object of examples/, tests/progs/, tests/realworld/ and
# tests/verifier/c/ verified by bpfbox (median of --iters runs, release build) and by
# the kernel (its own `verification time` at BPF_LOG_STATS, median of --kernel-iters
# loads; needs root), side by side.
#
#   scripts/bench-verifier.sh                   the table and the summary
#   scripts/bench-verifier.sh --json FILE       also write them as JSON
#   scripts/bench-verifier.sh --iters 50 --kernel-iters 10
#
# Prints `program insns ours-proc kern-proc bpfbox-µs kernel-µs kern/us` per program
# (kern/us above 1: bpfbox is faster), then the median and geometric mean of kern/us
# and how many programs bpfbox verifies faster or slower; programs one side rejects
# and objects the kernel refuses here (EPERM) are listed apart. Without a usable
# kernel the kernel columns read SKIP.
set -euo pipefail
cd "$(dirname "$0")/.."

args=()
while [[ $# -gt 0 ]]; do
    case "$1" in
    --json) args+=(--json "$(realpath -m "$2")"); shift ;;
    --iters | --kernel-iters) args+=("$1" "$2"); shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
export CARGO_TARGET_DIR="$(realpath -m "${CARGO_TARGET_DIR:-target/verifier}")"
cargo bench -q -p bpfbox-verifier --bench verify_vs_kernel -- "${args[@]}"
