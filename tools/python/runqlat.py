#!/usr/bin/env python3
"""runqlat: summarize run-queue (scheduler) latency as a histogram of microseconds
(bcc's runqlat, on bpfbox; sched tracepoints, no kprobes).

    runqlat.py [INTERVAL [COUNT]] [-T]
"""

import argparse
import sys
import time

from _common import announce, start, stop_on_signals, wait


def main(argv=None):
    p = argparse.ArgumentParser(description="Summarize run queue (scheduler) latency as a histogram.")
    p.add_argument("interval", nargs="?", type=float, default=99999999, help="output interval, seconds")
    p.add_argument("count", nargs="?", type=int, default=99999999, help="number of outputs")
    p.add_argument("-T", "--timestamp", action="store_true", help="include a timestamp on output")
    args, b = start(p, "runqlat", argv, pid=False, duration=False)
    for tp in ("sched_wakeup", "sched_wakeup_new", "sched_switch"):
        b.attach_tracepoint(tp="sched:" + tp, fn_name=tp)
    stop = stop_on_signals()
    announce("Tracing run queue latency... Hit Ctrl-C to end.")
    dist = b["hist"]
    for _ in range(args.count):
        stopped = wait(stop, args.interval)
        print()
        if args.timestamp:
            print("%-8s" % time.strftime("%H:%M:%S"))
        dist.print_log2_hist("usecs")
        sys.stdout.flush()
        dist.clear()
        if stopped:
            break
    b.cleanup()


if __name__ == "__main__":
    main()
