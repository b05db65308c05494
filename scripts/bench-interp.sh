#!/usr/bin/env bash
# Interpreter benchmark: bpfbox vs rbpf 0.4 on the programs in crates/vm/benches/progs.
#
#   scripts/bench-interp.sh           criterion runs, then the summary table
#   scripts/bench-interp.sh --quick   only the summary table (a plain timed loop per engine)
#
# Prints `program | bpfbox ns/run | ... | rbpf ns/run | speedup`; the full criterion
# output goes to target/bench-interp.log.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${1:-}" == "--quick" ]]; then
    export BPFBOX_BENCH_QUICK=1
fi
log=target/bench-interp.log
mkdir -p target
cargo bench -p bpfbox-vm --bench interp 2>&1 | tee "$log" | grep -E '^[a-z_0-9]+/[a-z_]+ +time:|^ +time:|^[a-z_0-9]+/[a-z_]+$' || true
echo
echo "Interpreter speed (lower ns/run is better; speedup = rbpf time / bpfbox time):"
grep '^|' "$log"
