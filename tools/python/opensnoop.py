#!/usr/bin/env python3
"""opensnoop: trace openat() calls with their file descriptor or error (bcc's
opensnoop, on bpfbox; syscalls tracepoints, no kprobes).

    opensnoop.py [-p PID] [-x] [-d SECONDS] [-n NAME]
"""

import argparse
import struct
import time

from _common import announce, start, stop_on_signals

EVENT = struct.Struct("<Iii16s256s")


def main(argv=None):
    p = argparse.ArgumentParser(description="Trace open() syscalls.")
    p.add_argument("-x", "--failed", action="store_true", help="only show failed opens")
    p.add_argument("-n", "--name", help="only print processes whose name contains this")
    args, b = start(p, "opensnoop", argv)
    b.attach_tracepoint(tp="syscalls:sys_enter_openat", fn_name="enter_openat")
    b.attach_tracepoint(tp="syscalls:sys_exit_openat", fn_name="exit_openat")

    def on_event(ctx, data, size):
        pid, ret, _flags, comm, path = EVENT.unpack(data[: EVENT.size])
        comm = comm.split(b"\0", 1)[0].decode(errors="replace")
        if args.failed and ret >= 0:
            return
        if args.name and args.name not in comm:
            return
        fd, err = (ret, 0) if ret >= 0 else (-1, -ret)
        path = path.split(b"\0", 1)[0].decode(errors="replace")
        print("%-6d %-16s %4d %3d %s" % (pid, comm, fd, err, path), flush=True)

    b["events"].open_ring_buffer(on_event)
    stop = stop_on_signals()
    announce("%-6s %-16s %4s %3s %s" % ("PID", "COMM", "FD", "ERR", "PATH"))
    deadline = time.monotonic() + args.duration if args.duration else None
    while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
        b.ring_buffer_poll(100)
    b.ring_buffer_consume()
    b.cleanup()


if __name__ == "__main__":
    main()
