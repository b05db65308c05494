#!/usr/bin/env python3
"""xdpdrop: drop UDP datagrams to a port on an interface with XDP, and count what is
passed and dropped by IP protocol (in the spirit of bcc's xdp_drop_count).

    xdpdrop.py -i IFACE [-P PORT] [-d SECONDS] [-S]
"""

import argparse
import sys

from _common import announce, start, stop_on_signals, wait

PROTOS = {1: "icmp", 6: "tcp", 17: "udp", 58: "icmpv6", 255: "non-ipv4"}
XDP_FLAGS_SKB_MODE = 2


def main(argv=None):
    p = argparse.ArgumentParser(description="Drop UDP to a port with XDP and count packets.")
    p.add_argument("-i", "--iface", required=True, help="network interface")
    p.add_argument("-P", "--port", type=int, default=0, help="drop UDP datagrams to this port (0: drop nothing)")
    p.add_argument("-S", "--skb-mode", action="store_true", help="generic (skb) mode")
    args, b = start(p, "xdpdrop", argv, pid=False)
    b["config"][0] = args.port
    b.attach_xdp(args.iface, fn_name="xdp_drop_port", flags=XDP_FLAGS_SKB_MODE if args.skb_mode else 0)
    stop = stop_on_signals()
    announce("Dropping UDP to port %d on %s... Ctrl-C to end." % (args.port, args.iface))
    wait(stop, args.duration)
    counts = b["counts"]
    rows = {}
    for k, per_cpu in counts.items():
        n = sum(per_cpu)
        if n:
            rows.setdefault(k % 256, [0, 0])[k // 256] += n
    print("%-10s %10s %10s" % ("PROTO", "PASSED", "DROPPED"))
    for proto in sorted(rows):
        passed, dropped = rows[proto]
        print("%-10s %10d %10d" % (PROTOS.get(proto, str(proto)), passed, dropped))
    sys.stdout.flush()
    b.remove_xdp(args.iface)


if __name__ == "__main__":
    main()
