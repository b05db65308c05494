#!/bin/sh
# Build the real-world-style BPF programs in tests/realworld/ (libbpf-tools,
# xdp-tutorial and Katran styles) into committed objects.
#
#   foo.bpf.c -> foo.bpf.o   (clang-19 -O2 -g -target bpf -D__TARGET_ARCH_x86)
#
# Tracing programs include vmlinux.h, generated here from the running kernel's BTF
# (`bpftool btf dump file /sys/kernel/btf/vmlinux format c`; not committed), and the
# libbpf headers of libbpf-dev (bpf_helpers.h, bpf_core_read.h, bpf_tracing.h).
# Networking programs use the UAPI headers instead, as xdp-tutorial and Katran do.
# malformed/*.bpf.c are objects the loader must refuse with a clear error;
# worlds/*.bpf.c, objects the world tests (crates/cli/tests/world.rs) expect refused.
#
# As libbpf-tools do, objects are stripped of DWARF (`llvm-strip -g`); .BTF and
# .BTF.ext (with line info) stay.
#
# Usage: tests/realworld/build.sh [CLANG] [BPFTOOL] [LLVM_STRIP]
set -eu
CLANG=${1:-clang-19}
BPFTOOL=${2:-bpftool}
STRIP=${3:-llvm-strip-19}
cd "$(dirname "$0")"
if [ ! -s vmlinux.h ]; then
	echo "GEN vmlinux.h"
	"$BPFTOOL" btf dump file /sys/kernel/btf/vmlinux format c > vmlinux.h.tmp
	mv vmlinux.h.tmp vmlinux.h
fi
ARCH_INC=/usr/include/$(uname -m)-linux-gnu
for src in *.bpf.c malformed/*.bpf.c worlds/*.bpf.c; do
	[ -e "$src" ] || continue
	obj=${src%.c}.o
	echo "CC $src"
	"$CLANG" -O2 -g -target bpf -D__TARGET_ARCH_x86 -I. -Iinclude -idirafter "$ARCH_INC" \
		-Wall -Wno-unused-function -Wno-compare-distinct-pointer-types -c "$src" -o "$obj"
	"$STRIP" -g "$obj"
done
