#!/bin/sh
# Rebuild host_helpers.bpf.o (committed) with clang-19.
set -eu
cd "$(dirname "$0")"
${CLANG:-clang-19} -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu -Wall -c host_helpers.bpf.c -o host_helpers.bpf.o
