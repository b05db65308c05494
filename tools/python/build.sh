#!/bin/sh
# Rebuild the tools' prebuilt objects (tools/python/*.bpf.o, committed) with clang-19;
# runqlat includes a vmlinux.h generated from the running kernel's BTF (CO-RE makes the
# object work on other kernels).
set -eu
CLANG=${CLANG:-clang-19}
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bpftool btf dump file /sys/kernel/btf/vmlinux format c > "$tmp/vmlinux.h"
for src in *.bpf.c; do
	echo "CC $src"
	"$CLANG" -O2 -g -target bpf -D__TARGET_ARCH_x86 -I/usr/include/x86_64-linux-gnu -I"$tmp" -Wall -Werror \
		-c "$src" -o "${src%.c}.o"
done
