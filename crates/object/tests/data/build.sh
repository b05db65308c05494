#!/bin/sh
# Assemble the hand-written corner-case objects and record llvm-objdump-19's output.
set -eu
cd "$(dirname "$0")"
for s in *.s; do
	o=${s%.s}.o
	llvm-mc-19 -triple bpfel -mcpu=v4 -filetype=obj "$s" -o "$o"
	llvm-objdump-19 -d "$o" > "${s%.s}.objdump"
done
