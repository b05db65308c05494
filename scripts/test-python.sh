#!/usr/bin/env bash
# The Python package's tests: a fresh virtualenv under target/python-venv, maturin and
# pytest from PyPI, `pip install ./python` (the bpfbox module, built by maturin from
# crates/python in the dev profile so it shares the workspace's cargo cache), then
# pytest python/tests. Without python3 or its venv module it prints SKIP and exits 0
# (fails with CI=true, where the tests must run).
set -euo pipefail
cd "$(dirname "$0")/.."
skip() {
    echo "SKIP: python tests: $1"
    if [ "${CI:-}" = "true" ]; then exit 1; fi
    exit 0
}
command -v python3 >/dev/null || skip "no python3 on PATH"
python3 -c 'import venv, ensurepip' 2>/dev/null || skip "python3 has no venv/ensurepip module (apt install python3-venv)"
venv=target/python-venv
if [ ! -x "$venv/bin/python" ]; then
    rm -rf "$venv"
    python3 -m venv "$venv"
fi
export PATH="$PWD/$venv/bin:$PATH" # the build backend runs `maturin`
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check 'maturin>=1.7,<2' pytest
# --no-build-isolation: use the venv's maturin; MATURIN_PEP517_ARGS: a dev build (the
# tests' programs are small; a release build would recompile Cranelift and the rest).
MATURIN_PEP517_ARGS="--profile dev" \
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-build-isolation --force-reinstall --no-deps ./python
"$venv/bin/python" -m pytest -q python/tests tools/python/tests "$@"
