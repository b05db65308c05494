#!/bin/sh
# Rebuild the run-path benchmark objects (crates/cli/benches/run_path.rs) with
# clang-19; the objects are committed so the benchmark needs no clang.
set -eu
cd "$(dirname "$0")"
for src in *.c; do
	echo "CC $src"
	clang-19 -O2 -g -target bpf -mcpu=v3 -Wall -Werror -c "$src" -o "${src%.c}.bpf.o"
done
