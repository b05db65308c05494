#!/bin/sh
# Build the BPF programs of the kernel attach tests (committed *.bpf.o):
#   foo.bpf.c -> foo.bpf.o   (clang-19 -O2 -g -target bpf -mcpu=v3, libbpf-dev headers)
# probe_target.c is built by the tests themselves (cc), not here.
# Usage: tests/kernel/build.sh [CLANG]
set -eu
CLANG=${1:-clang-19}
cd "$(dirname "$0")"
ARCH_INC=/usr/include/$(uname -m)-linux-gnu
for src in *.bpf.c; do
	echo "CC $src"
	"$CLANG" -O2 -g -target bpf -mcpu=v3 -D__TARGET_ARCH_x86 -I"$ARCH_INC" -Wall -Werror -c "$src" -o "${src%.c}.o"
done
