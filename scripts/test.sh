#!/usr/bin/env bash
# The test command (README): every crate's tests, including the bpf_conformance suite
# read from ../shared/conformance (or $BPFBOX_CONFORMANCE_DIR). --show-output prints
# what passing tests report (how many conformance files ran, SKIP lines).
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo test --workspace --locked -- --show-output
