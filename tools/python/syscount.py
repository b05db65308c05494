#!/usr/bin/env python3
"""syscount: count syscalls, system-wide or for one process, and print the top ones
(bcc's syscount, on bpfbox; raw_syscalls tracepoints, no kprobes).

    syscount.py [-p PID] [-d SECONDS] [-i SECONDS] [-T TOP]
"""

import argparse
import time

from _common import announce, start, stop_on_signals, syscall_names, wait


def main(argv=None):
    p = argparse.ArgumentParser(description="Summarize syscall counts.")
    p.add_argument("-i", "--interval", type=int, help="print a summary every this many seconds")
    p.add_argument("-T", "--top", type=int, default=10, help="print only the top syscalls by count")
    args, b = start(p, "syscount", argv)
    b.attach_tracepoint(tp="raw_syscalls:sys_exit", fn_name="sys_exit")
    names = syscall_names()
    stop = stop_on_signals()
    announce("Tracing syscalls, printing top %d... Ctrl+C to quit." % args.top)
    deadline = time.monotonic() + args.duration if args.duration else None
    done = False
    while not done:
        step = args.interval or args.duration
        if deadline is not None:
            step = min(step, max(0.0, deadline - time.monotonic()))
        done = wait(stop, step) or (deadline is not None and time.monotonic() >= deadline)
        counts = b["counts"]
        print("[%s]" % time.strftime("%H:%M:%S"))
        print("%-22s %8s" % ("SYSCALL", "COUNT"))
        top = sorted(counts.items(), key=lambda kv: -kv[1])[: args.top]
        for nr, n in top:
            print("%-22s %8d" % (names.get(nr, "[unknown: %d]" % nr), n))
        print("", flush=True)
        counts.clear()
    print("Detaching...")
    b.cleanup()


if __name__ == "__main__":
    main()
