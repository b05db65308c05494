#!/bin/sh
# Rebuild the example programs (examples/*.bpf.c -> *.bpf.o) with clang-19, and the
# sample traffic (examples/traffic.pcap). The objects and the pcap are committed, so
# nothing here is needed to run the examples or the tests.
set -eu
CLANG=${CLANG:-clang-19}
cd "$(dirname "$0")/../examples"
for src in *.bpf.c; do
	echo "CC $src"
	"$CLANG" -O2 -g -target bpf -D__TARGET_ARCH_x86 -I/usr/include/x86_64-linux-gnu -Wall -Werror -c "$src" -o "${src%.c}.o"
done
python3 gen_traffic.py traffic.pcap
