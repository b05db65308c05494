"""What the bpfbox Python tools share: opening their BPF object (the prebuilt one next
to the script, or their C source compiled and cached with --compile), the syscall
names of this machine, and a clean exit on Ctrl-C."""

import os
import re
import signal
import sys
import threading

try:
    from bpfbox import BPF
except ImportError:  # pragma: no cover - the message is for people, not tests
    sys.exit("bpfbox is not installed: pip install ./python (from the bpfbox repository)")

HERE = os.path.dirname(os.path.abspath(__file__))


def open_bpf(name, compile_source=False, cflags=None):
    """BPF(kernel=True), as bcc's BPF, for tools/python/NAME.bpf.o, or NAME.bpf.c
    compiled when asked to or when there is no prebuilt object."""
    obj = os.path.join(HERE, name + ".bpf.o")
    if not compile_source and os.path.exists(obj):
        return BPF(obj=obj, kernel=True)
    return BPF(src_file=os.path.join(HERE, name + ".bpf.c"), cflags=cflags or [], kernel=True)


def syscall_names():
    """{number: name} from the kernel's uapi header (as bcc's syscall table)."""
    names = {}
    for path in ("/usr/include/x86_64-linux-gnu/asm/unistd_64.h", "/usr/include/asm/unistd_64.h"):
        try:
            with open(path) as f:
                for line in f:
                    m = re.match(r"#define __NR_(\w+)\s+(\d+)", line)
                    if m:
                        names[int(m.group(2))] = m.group(1)
            break
        except OSError:
            continue
    return names


def announce(line):
    """Print the line that says the tool is attached and counting (flushed: scripts and
    benchmarks wait for it)."""
    print(line, flush=True)


def stop_on_signals():
    """An event set by SIGINT or SIGTERM (installed before the tool announces itself,
    so a signal right after the announcement still ends it cleanly)."""
    stop = threading.Event()

    def handler(signum, frame):
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    return stop


def wait(stop, seconds):
    """Wait until `seconds` passed (None: forever) or a signal came; True if it did."""
    if seconds is None:
        while not stop.wait(1):
            pass
        return True
    return stop.wait(seconds)


def start(parser, name, argv, pid=True, duration=True):
    """Parse the command line with the options every tool has (-p PID when it can
    filter, -d SECONDS, --compile) and open the tool's object, its pid filter set.
    Returns (args, BPF)."""
    if pid:
        parser.add_argument("-p", "--pid", type=int, help="trace only this pid")
    if duration:
        parser.add_argument("-d", "--duration", type=float, help="total duration of the trace, seconds")
    parser.add_argument("--compile", action="store_true",
                        help="compile %s.bpf.c instead of the prebuilt object" % name)
    args = parser.parse_args(argv)
    b = open_bpf(name, args.compile)
    if pid and args.pid:
        b["config"][0] = args.pid
    return args, b
