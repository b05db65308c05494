#!/usr/bin/env bash
# `bpfbox trace` against bpftrace, side by side in one run (interleaved, median of N):
#   1. wall time from launch to the end of `BEGIN { exit(); }`;
#   2. wall time of a tracepoint one-liner that exits from an `interval` probe;
#   3. peak RSS of both (from /usr/bin/time -f %M, or /proc when absent);
#   4. compile time of bench/trace/hundred_lines.bt: bpfbox `--dry-run --emit-elf`
#      (compile + verify + write) against bpftrace `--emit-elf` (its dry run).
# Needs root, bpftrace (scripts/install-deps.sh) and a release build with the kernel
# feature (built here). Prints a table and the ratios (bpftrace / bpfbox: above 1 means
# bpfbox is faster or smaller).
#
#   scripts/bench-trace.sh [--runs N]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=10
while [[ $# -gt 0 ]]; do
    case "$1" in
    --runs) runs="$2"; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
command -v bpftrace >/dev/null || { echo "bench-trace: bpftrace is not installed (scripts/install-deps.sh)" >&2; exit 2; }
cargo build -q --release --features kernel
B="$PWD/target/release/bpfbox"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# One run: wall ms and peak RSS KiB of a command (its output discarded).
measure() {
    local t0 t1
    t0=$(date +%s%N)
    /usr/bin/time -f "%M" -o "$tmp/rss" "$@" >/dev/null 2>"$tmp/err" || { cat "$tmp/err" >&2; return 1; }
    t1=$(date +%s%N)
    echo "$(( (t1 - t0) / 1000 )) $(tail -1 "$tmp/rss")"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

declare -A wall rss
cases=(begin tracepoint compile)
run_case() {
    local tool="$1" case="$2"
    case "$tool/$case" in
    bpfbox/begin) measure "$B" trace -e 'BEGIN { exit(); }' ;;
    bpftrace/begin) measure bpftrace -e 'BEGIN { exit(); }' ;;
    bpfbox/tracepoint) measure "$B" trace -e 'tracepoint:syscalls:sys_enter_openat { @[comm] = count(); } interval:ms:100 { exit(); }' ;;
    bpftrace/tracepoint) measure bpftrace -e 'tracepoint:syscalls:sys_enter_openat { @[comm] = count(); } interval:ms:100 { exit(); }' ;;
    bpfbox/compile) measure "$B" trace --dry-run --emit-elf "$tmp/a.o" bench/trace/hundred_lines.bt ;;
    bpftrace/compile) measure bpftrace --emit-elf "$tmp/b.o" bench/trace/hundred_lines.bt ;;
    esac
}

for ((i = 0; i < runs; i++)); do
    for c in "${cases[@]}"; do
        for tool in bpfbox bpftrace; do
            read -r us kb < <(run_case "$tool" "$c")
            echo "$us" >>"$tmp/$tool.$c.wall"
            echo "$kb" >>"$tmp/$tool.$c.rss"
        done
    done
done

printf "%-34s %12s %12s %8s\n" "case (median of $runs)" bpfbox bpftrace ratio
for c in "${cases[@]}"; do
    bw=$(median <"$tmp/bpfbox.$c.wall"); tw=$(median <"$tmp/bpftrace.$c.wall")
    br=$(median <"$tmp/bpfbox.$c.rss"); tr=$(median <"$tmp/bpftrace.$c.rss")
    case "$c" in
    begin) label="BEGIN { exit(); } wall" ;;
    tracepoint) label="tracepoint + interval:ms:100 wall" ;;
    compile) label="100-line script compile wall" ;;
    esac
    printf "%-34s %9.1f ms %9.1f ms %7.1fx\n" "$label" "$(echo "$bw/1000" | bc -l)" "$(echo "$tw/1000" | bc -l)" "$(echo "$tw/$bw" | bc -l)"
    printf "%-34s %9.1f MB %9.1f MB %7.1fx\n" "  peak RSS" "$(echo "$br/1024" | bc -l)" "$(echo "$tr/1024" | bc -l)" "$(echo "$tr/$br" | bc -l)"
done
echo "bpfbox's own split of the compile case (from -v):"
"$B" trace -v --dry-run bench/trace/hundred_lines.bt 2>&1 | head -1
