#!/bin/sh
# Rebuild the verifier C cases: *_ok.c must be accepted, *_bad.c rejected.
set -e
cd "$(dirname "$0")"
for c in *.c; do
	clang-19 -O2 -g -target bpf -c "$c" -o "${c%.c}.o"
done
