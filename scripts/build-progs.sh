#!/bin/sh
# Build the C test programs in tests/progs/ into BPF objects and record what
# llvm-objdump-19 prints for each (the committed *.objdump files are the
# expected output the object crate's tests compare against).
#
#   foo.bpf.c     -> foo.bpf.o     (clang-19 -O2 -g -target bpf)
#   foo.vN.bpf.c  -> foo.vN.bpf.o  (same, plus -mcpu=vN)
#
# Usage: scripts/build-progs.sh [CLANG] [OBJDUMP]
set -eu
CLANG=${1:-clang-19}
OBJDUMP=${2:-llvm-objdump-19}
cd "$(dirname "$0")/../tests/progs"
for src in *.bpf.c; do
	base=${src%.c}
	cpu=
	case "$base" in
	*.v[1-4].bpf) cpu="-mcpu=$(echo "$base" | sed 's/.*\.\(v[1-4]\)\.bpf$/\1/')" ;;
	esac
	echo "CC $src $cpu"
	# shellcheck disable=SC2086
	"$CLANG" -O2 -g -target bpf $cpu -Wall -Werror -c "$src" -o "$base.o"
	# Expected disassembly (default cpu, as `llvm-objdump-19 -d FILE` prints it).
	"$OBJDUMP" -d "$base.o" > "$base.objdump"
done
