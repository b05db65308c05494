"""The bpfbox Python tools (tools/python/*.py) run against a workload whose syscalls,
opens, wakeups, packets and shell lines are known; syscount is also compared with
bcc's syscount-bpfcc on the same workload. Needs root and bpf(); elsewhere the tests
are skipped with the reason (and fail under CI=true)."""

import os
import pty
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

import pytest

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, TOOLS)

import bcc_headers  # noqa: E402
from tests.harness import Proc, count_syscalls, end_workload, run_workload, tool, workload  # noqa: E402


def need_kernel():
    reason = None
    try:
        import bpfbox

        if not getattr(bpfbox, "HAS_KERNEL", False):
            reason = "bpfbox was built without the kernel feature"
    except ImportError:
        reason = "bpfbox is not installed"
    if reason is None and os.geteuid() != 0:
        reason = "not root (attaching needs CAP_BPF/CAP_PERFMON)"
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but the tool tests cannot run: " + reason)
        pytest.skip(reason)


def test_syscount_counts_the_workload():
    need_kernel()
    counts, attach = count_syscalls([sys.executable, os.path.join(TOOLS, "syscount.py")])
    assert counts.get("getppid") == 1000, counts
    assert counts.get("getuid") == 300, counts
    print("bpfbox syscount attached in %.0f ms" % (attach * 1000))


def test_syscount_matches_bcc():
    need_kernel()
    bcc = shutil.which("syscount-bpfcc") or "/usr/sbin/syscount-bpfcc"
    if not os.path.exists(bcc):
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but bcc's syscount-bpfcc is missing (scripts/install-deps.sh installs bpfcc-tools)")
        pytest.skip("no syscount-bpfcc (apt install bpfcc-tools)")
    env = dict(os.environ)
    src = bcc_headers.kernel_source()
    if src:
        env["BCC_KERNEL_SOURCE"] = src
    # bcc imports from the system's Python (python3-bpfcc), not the venv.
    theirs, bcc_attach = count_syscalls(["/usr/bin/python3", bcc], env=env)
    ours, attach = count_syscalls([sys.executable, os.path.join(TOOLS, "syscount.py")])
    print("attached and counting: bcc %.0f ms, bpfbox %.0f ms" % (bcc_attach * 1000, attach * 1000))
    print("bcc: %s\nbpfbox: %s" % (sorted(theirs.items()), sorted(ours.items())))
    for name in ("getppid", "getuid"):
        assert ours[name] == theirs[name], (ours, theirs)
    assert ours["getppid"] == 1000 and ours["getuid"] == 300


def test_opensnoop_sees_the_opens(tmp_path):
    need_kernel()
    path = tmp_path / "opened-by-the-workload"
    path.write_text("x")
    w, pid = workload("opens", path, 3)
    t = tool("opensnoop", "-p", str(pid))
    t.wait_for(lambda l: l.startswith("PID"))
    run_workload(w)
    t.wait_for(lambda l: l.endswith(".missing"))
    lines = t.finish()
    end_workload(w)
    ours = [l.split() for l in lines if str(path) in l]
    assert len(ours) == 4, lines
    assert all(int(f[0]) == pid and f[1].startswith("python") for f in ours), ours
    assert [(int(f[2]) >= 0, f[3]) for f in ours] == [(True, "0")] * 3 + [(False, "2")]
    assert ours[-1][4] == str(path) + ".missing" and ours[-1][2] == "-1"


def test_runqlat_prints_a_histogram():
    need_kernel()
    w, _ = workload("sleeps", 200)
    t = tool("runqlat", "2", "1")
    t.wait_for(lambda l: l.startswith("Tracing run queue latency"))
    run_workload(w)
    lines = t.finish(sig=signal.SIGCONT)  # it ends by itself after one 2 s interval
    end_workload(w)
    assert any(re.search(r"usecs\s+: count\s+distribution", l) for l in lines), lines
    rows = [re.match(r"^\s*(\d+) -> (\d+)\s+: (\d+)\s+\|", l) for l in lines]
    total = sum(int(m.group(3)) for m in rows if m)
    assert total >= 200, lines  # at least the workload's 200 wakeups


def ipv4_udp(dport, proto=17):
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28, 0, 0, 64, proto, 0, bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
    udp = struct.pack("!HHHH", 12345, dport, 8, 0)
    return b"\xff" * 6 + b"\x02\0\0\0\0\x01" + b"\x08\x00" + ip + udp + b"\0" * 18


def test_xdpdrop_drops_one_port_and_counts(tmp_path):
    need_kernel()
    tag = "%d" % (os.getpid() % 100000)
    a, peer = "bbxd%sa" % tag, "bbxd%sb" % tag
    subprocess.run(["ip", "link", "add", a, "type", "veth", "peer", "name", peer], check=True)
    try:
        for dev in (a, peer):
            subprocess.run(["ip", "link", "set", dev, "up"], check=True)
        t = tool("xdpdrop", "-i", peer, "-P", "9999", "-S")
        t.wait_for(lambda l: l.startswith("Dropping UDP"))
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        s.bind((a, 0))
        for frame, n in ((ipv4_udp(9999), 3), (ipv4_udp(53), 2), (ipv4_udp(0, proto=1), 4)):
            for _ in range(n):
                s.send(frame)
        s.close()
        time.sleep(0.2)
        lines = t.finish()
        rows = {f[0]: (int(f[1]), int(f[2])) for f in (l.split() for l in lines) if len(f) == 3 and f[0] != "PROTO"}
        assert rows.get("udp") == (2, 3), lines
        assert rows.get("icmp") == (4, 0), lines
    finally:
        subprocess.run(["ip", "link", "del", a], check=False)


def test_bashreadline_prints_typed_commands(tmp_path):
    need_kernel()
    if not os.path.exists("/bin/bash"):
        pytest.skip("no /bin/bash")
    t = tool("bashreadline")
    t.wait_for(lambda l: l.startswith("TIME"))
    pid, fd = pty.fork()
    if pid == 0:
        os.execve("/bin/bash", ["bash", "--norc", "--noprofile", "-i"], {"PATH": "/usr/bin:/bin", "TERM": "dumb"})
    marker = "echo bpfbox-readline-%d" % os.getpid()
    try:
        time.sleep(0.3)
        os.write(fd, (marker + "\n").encode())
        os.write(fd, b"true second-line\n")
        got = t.wait_for(lambda l: l.endswith("true second-line"), timeout=30)
    finally:
        os.write(fd, b"exit\n")
        os.waitpid(pid, 0)
        os.close(fd)
    lines = t.finish()
    typed = [l for l in lines if marker in l]
    assert len(typed) == 1 and int(typed[0].split()[1]) == pid, lines
    assert int(got.split()[1]) == pid


def test_compiling_from_source_generates_and_caches_vmlinux_h(tmp_path):
    need_kernel()
    env = dict(os.environ, BPFBOX_CACHE_DIR=str(tmp_path))
    argv = [sys.executable, os.path.join(TOOLS, "runqlat.py"), "--compile", "0.2", "1"]
    first = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    headers = list(tmp_path.glob("vmlinux-*/vmlinux.h"))
    objects = list(tmp_path.glob("obj-*.bpf.o"))
    assert len(headers) == 1 and headers[0].stat().st_size > 1_000_000
    assert len(objects) == 1
    mtime = objects[0].stat().st_mtime_ns
    second = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr
    assert "usecs" in second.stdout or "Tracing run queue latency" in second.stdout
    assert list(tmp_path.glob("obj-*.bpf.o")) == objects and objects[0].stat().st_mtime_ns == mtime
