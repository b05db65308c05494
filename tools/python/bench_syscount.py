"""Side by side: bpfbox's syscount (tools/python/syscount.py, prebuilt object) and
bcc's syscount-bpfcc (python3-bpfcc), each run RUNS times on the same workload (1000
getppid + 300 getuid by one process): the counts each reports, the time from starting
the tool until it says it is attached and counting, and its memory (RSS, and the peak
VmHWM) at that moment. Used by scripts/bench-python.sh.

    python bench_syscount.py [RUNS]
"""

import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import bcc_headers  # noqa: E402
from tests.harness import count_syscalls  # noqa: E402

BCC = "/usr/sbin/syscount-bpfcc"


def bench(name, argv, runs, env=None):
    times, rss, hwm, counts = [], [], [], None
    for _ in range(runs):
        stats = {}
        c, t = count_syscalls(argv, env=env, stats=stats)
        times.append(t * 1000)
        rss.append(stats["rss_kib"] / 1024)
        hwm.append(stats["hwm_kib"] / 1024)
        counts = {k: c.get(k) for k in ("getppid", "getuid")}
    print("%-16s attached+counting: median %7.1f ms (min %7.1f, max %7.1f)   RSS %6.1f MiB (peak %6.1f MiB)   counts %s"
          % (name, statistics.median(times), min(times), max(times), statistics.median(rss),
             statistics.median(hwm), counts), flush=True)
    return counts, statistics.median(times)


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    ours, ours_ms = bench("bpfbox syscount", [sys.executable, os.path.join(HERE, "syscount.py")], runs)
    if not os.path.exists(BCC):
        print("bcc: %s missing (apt install bpfcc-tools python3-bpfcc); bpfbox only" % BCC)
        return 0
    env = dict(os.environ)
    src = bcc_headers.kernel_source()
    if src:
        env["BCC_KERNEL_SOURCE"] = src
    theirs, _ = bench("bcc syscount", ["/usr/bin/python3", BCC], runs, env=env)
    same = ours == theirs
    print("same counts: %s; bpfbox goal (< 100 ms attached with a prebuilt object): %s"
          % ("yes" if same else "NO", "met" if ours_ms < 100 else "NOT met"))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
