#!/usr/bin/env bash
# JIT benchmark: the six C programs of tests/bench on bpfbox's JIT (unchecked and
# checked), bpfbox's interpreter, rbpf 0.4 (JIT and interpreter), the kernel's JIT
# (BPF_PROG_TEST_RUN with repeat; needs root) and the same C compiled natively -O2.
#
#   scripts/bench-jit.sh                 criterion runs, then the summary table
#   scripts/bench-jit.sh --quick         only the summary table
#   scripts/bench-jit.sh --json FILE     also write the table as JSON
#   scripts/bench-jit.sh --rebuild       rebuild tests/bench/*.bpf.o with clang-19 first
#
# Prints `| program | insns | native | kernel JIT | bpfbox JIT | ... | JIT/native |
# JIT/kernel |` in ns per run, then compile times; criterion output goes to
# target/bench-jit.log. CC picks the native compiler (default cc).
set -euo pipefail
cd "$(dirname "$0")/.."

json=""
while [[ $# -gt 0 ]]; do
    case "$1" in
    --quick) export BPFBOX_BENCH_QUICK=1 ;;
    --json) json="$(realpath -m "$2")"; shift ;;
    --rebuild)
        for src in tests/bench/*.c; do
            echo "CC $src"
            clang-19 -O2 -g -target bpf -mcpu=v3 -Wall -Werror -c "$src" -o "${src%.c}.bpf.o"
        done ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
if [[ -n "$json" ]]; then
    export BPFBOX_BENCH_JSON="$json"
fi
# The JIT's own target dir keeps the Cranelift build out of everyone else's way.
export CARGO_TARGET_DIR="$(realpath -m "${CARGO_TARGET_DIR:-target/jit}")"
log="$CARGO_TARGET_DIR/bench-jit.log"
mkdir -p "$CARGO_TARGET_DIR"
cargo bench -p bpfbox-jit --bench jit 2>&1 | tee "$log" | grep -aE '^[a-z_]+/[a-z_]+ +time:|^ +time:|agree|skipped' || true
echo
grep -a -A40 '^ns per run' "$log"
