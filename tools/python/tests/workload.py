"""A workload for the tool tests: prints `ready <pid>`, waits for a line on stdin,
does its work (deterministic syscalls), prints `done`, then waits for stdin to close.

    workload.py syscalls N M     N getppid() and M getuid()
    workload.py opens PATH N     N opens of PATH, then one of PATH + ".missing"
    workload.py sleeps N         N sleeps of 1 ms (wakeups for runqlat)
"""

import os
import sys
import time


def main():
    mode = sys.argv[1]
    print("ready %d" % os.getpid(), flush=True)
    sys.stdin.readline()
    if mode == "syscalls":
        for _ in range(int(sys.argv[2])):
            os.getppid()
        for _ in range(int(sys.argv[3])):
            os.getuid()
    elif mode == "opens":
        path = sys.argv[2]
        for _ in range(int(sys.argv[3])):
            os.close(os.open(path, os.O_RDONLY))
        try:
            os.open(path + ".missing", os.O_RDONLY)
        except FileNotFoundError:
            pass
    elif mode == "sleeps":
        for _ in range(int(sys.argv[2])):
            time.sleep(0.001)
    print("done", flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main()
