#!/usr/bin/env bash
# bpfbox debug's costs on a run of 10 million instructions (crates/debug/examples/bench_debug.rs):
# the plain interpreter and the same run recorded by the debugger side by side (goal: < 3x),
# then, from the stop before the final exit, reverse-stepi (goal: < 50 ms), going back to
# step 0 by undoing every step, and a replay from the start (the fallback when the undo log
# cannot go back). Wall and CPU time (the process's threads, from /proc): on a shared,
# loaded machine CPU time is the steadier number. The first recording of a process is a
# single measurement; run the script 2-3 times.
#
#   scripts/bench-debug.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --quiet --release --locked -p bpfbox-debug --example bench_debug
