#!/usr/bin/env bash
# bpfbox's Python syscount (tools/python/syscount.py) against bcc's syscount-bpfcc on
# the same workload: same counts, time until attached and counting, RSS
# (tools/python/bench_syscount.py). Needs root. Uses the virtualenv scripts/test-python.sh
# builds (target/python-venv, a dev build of the extension; BPFBOX_BENCH_RELEASE=1
# reinstalls it as a release build first). bcc needs kernel headers: on a kernel
# without them, tools/python/bcc_headers.py merges Debian's linux-headers-amd64 for it.
#   scripts/bench-python.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/python-venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import bpfbox' 2>/dev/null; then
    scripts/test-python.sh --co -q >/dev/null
fi
if [ "${BPFBOX_BENCH_RELEASE:-}" = "1" ]; then
    export PATH="$PWD/$venv/bin:$PATH"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-build-isolation --force-reinstall --no-deps ./python
fi
"$venv/bin/python" -c 'import bpfbox, glob, os; so = glob.glob(os.path.join(os.path.dirname(bpfbox.__file__), "*.so")); print("bpfbox extension:", so[0], os.path.getsize(so[0]) // 1024, "KiB")'
"$venv/bin/python" tools/python/bench_syscount.py "${1:-5}"
