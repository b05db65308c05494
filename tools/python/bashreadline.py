#!/usr/bin/env python3
"""bashreadline: print the commands typed into every interactive bash (bcc's
bashreadline, on bpfbox; a uretprobe on readline, no kprobes).

    bashreadline.py [-s SHARED] [-d SECONDS]
"""

import argparse
import struct
import time

from _common import announce, start, stop_on_signals

LINE = struct.Struct("<I80s")


def main(argv=None):
    p = argparse.ArgumentParser(description="Print entered bash commands from all running shells.")
    p.add_argument("-s", "--shared", default="/bin/bash",
                   help="the binary or library with readline (default /bin/bash; e.g. /lib/libreadline.so)")
    args, b = start(p, "bashreadline", argv, pid=False)
    b.attach_uretprobe(name=args.shared, sym="readline", fn_name="readline_ret")

    def on_line(cpu, data, size):
        pid, s = LINE.unpack(data[: LINE.size])
        print("%-9s %-7d %s" % (time.strftime("%H:%M:%S"), pid, s.split(b"\0", 1)[0].decode(errors="replace")),
              flush=True)

    b["events"].open_perf_buffer(on_line)
    stop = stop_on_signals()
    announce("%-9s %-7s %s" % ("TIME", "PID", "COMMAND"))
    deadline = time.monotonic() + args.duration if args.duration else None
    while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
        b.perf_buffer_poll(100)
    b.cleanup()


if __name__ == "__main__":
    main()
