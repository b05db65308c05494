#!/usr/bin/env bash
# Installs what bpfbox's tests and scripts need on Debian 12: clang-19 (to rebuild the
# C test programs), llvm-19 (llvm-objdump-19, the disassembly reference), bpftool and
# libbpf-dev (bpf_helpers.h & co. for the C programs), qemu-user (qemu-aarch64), bpftrace (the
# reference for `bpfbox trace`).
# Idempotent: skips apt when everything is present.
set -euo pipefail
need=()
command -v clang-19 >/dev/null || need+=(clang-19)
command -v llvm-objdump-19 >/dev/null || need+=(llvm-19)
command -v bpftool >/dev/null || need+=(bpftool)
[ -f /usr/include/bpf/bpf_helpers.h ] || need+=(libbpf-dev)
# The kernel crate: libbpf-sys builds its vendored libbpf against libelf and zlib; its
# tests use ip (veth pairs in network namespaces) and cc (a uprobe target binary).
[ -f /usr/include/libelf.h ] || need+=(libelf-dev)
[ -f /usr/include/zlib.h ] || need+=(zlib1g-dev)
command -v pkg-config >/dev/null || need+=(pkg-config)
command -v ip >/dev/null || need+=(iproute2)
command -v cc >/dev/null || need+=(gcc)
# The JIT's AArch64 code runs under qemu-aarch64 in crates/jit/tests/cross.rs.
command -v qemu-aarch64 >/dev/null || need+=(qemu-user)
# `bpfbox trace` is compared with bpftrace on the same scripts and workloads
# (crates/trace/tests); bpftrace's stdlib headers come from the kernel headers it depends on.
command -v bpftrace >/dev/null || need+=(bpftrace)
# The Python package's tests (scripts/test-python.sh) build it in a virtualenv; its tool
# tests compare tools/python/syscount.py with bcc's syscount-bpfcc, which compiles
# against kernel headers (Debian's, merged by tools/python/bcc_headers.py when the
# running kernel has none).
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
[ -x /usr/sbin/syscount-bpfcc ] || need+=(bpfcc-tools python3-bpfcc)
[ -d "/lib/modules/$(uname -r)/build" ] || ls -d /usr/src/linux-headers-*-amd64 >/dev/null 2>&1 || need+=(linux-headers-amd64)
if [ ${#need[@]} -eq 0 ]; then
    echo "install-deps: everything already present"
    exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing ${need[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
