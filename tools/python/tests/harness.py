"""Processes for the tool tests and benchmarks: a tool or the workload, with its
stdout read line by line by a thread so that callers can wait for a line."""

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKLOAD = os.path.join(TOOLS, "tests", "workload.py")


class Proc:
    """A process whose stdout lines are read by a thread, so tests can wait for one."""

    def __init__(self, argv, env=None, stdin=subprocess.DEVNULL):
        self.p = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, env=env)
        self.lines = []
        self.q = queue.Queue()
        self.err = []
        threading.Thread(target=self._read, args=(self.p.stdout, self.q), daemon=True).start()
        threading.Thread(target=self._read, args=(self.p.stderr, None), daemon=True).start()

    def _read(self, f, q):
        for line in f:
            if q is None:
                self.err.append(line)
            else:
                q.put(line.rstrip("\n"))
        if q is not None:
            q.put(None)

    def _lines(self, timeout):
        """Lines as they come, until the output ends or `timeout` seconds pass."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                line = self.q.get(timeout=0.1)
            except queue.Empty:
                continue
            if line is None:
                return
            self.lines.append(line)
            yield line

    def wait_for(self, pred, timeout=60):
        for line in self._lines(timeout):
            if pred(line):
                return line
        raise AssertionError("no such line; got %r, stderr %r" % (self.lines, "".join(self.err)))

    def finish(self, sig=signal.SIGINT, timeout=60):
        if self.p.poll() is None:
            self.p.send_signal(sig)
        self.p.wait(timeout=timeout)
        for _ in self._lines(5):
            pass
        return self.lines


def tool(name, *args):
    return Proc([sys.executable, os.path.join(TOOLS, name + ".py")] + list(args))


def workload(*args):
    w = Proc([sys.executable, WORKLOAD] + [str(a) for a in args], stdin=subprocess.PIPE)
    pid = int(w.wait_for(lambda l: l.startswith("ready")).split()[1])
    return w, pid


def run_workload(w):
    w.p.stdin.write("go\n")
    w.p.stdin.flush()
    w.wait_for(lambda l: l == "done")


def end_workload(w):
    w.p.stdin.close()
    w.p.wait(timeout=30)


def syscall_counts(lines):
    counts = {}
    for line in lines:
        m = re.match(r"^(\w+)\s+(\d+)$", line)
        if m and m.group(1) != "SYSCALL":
            counts[m.group(1)] = int(m.group(2))
    return counts


def rss_kib(pid):
    """(VmRSS, VmHWM) of a process, in KiB."""
    vals = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                vals[k] = int(v.split()[0])
    return vals.get("VmRSS", 0), vals.get("VmHWM", 0)


def count_syscalls(argv_prefix, env=None, stats=None):
    """Run a syscount (ours or bcc's) on the syscalls workload (1000 getppid, 300
    getuid); its counts and the seconds until it said it was attached and counting.
    `stats`, a dict, gets the tool's memory at that moment (rss_kib)."""
    w, pid = workload("syscalls", 1000, 300)
    start = time.perf_counter()
    t = Proc(argv_prefix + ["-p", str(pid), "-T", "20"], env=env)
    t.wait_for(lambda l: l.startswith("Tracing syscalls"), timeout=120)
    attach = time.perf_counter() - start
    if stats is not None:
        stats["rss_kib"], stats["hwm_kib"] = rss_kib(t.p.pid)
    # bcc's syscount reaches its try/except KeyboardInterrupt only after announcing.
    time.sleep(0.2)
    run_workload(w)
    lines = t.finish()
    end_workload(w)
    counts = syscall_counts(lines)
    assert counts, "no counts: %r, stderr %r" % (lines, "".join(t.err))
    return counts, attach


