"""Kernel headers for bcc (python3-bpfcc) on a kernel without its own headers package:
bcc compiles every tool with the running kernel's headers, which a custom kernel may
not ship (no /lib/modules/$(uname -r)/build, no CONFIG_IKHEADERS). Debian's
linux-headers-amd64 (another version) is merged here, as a tree of symbolic links,
into the one directory BCC_KERNEL_SOURCE names; tracepoint record layouts, all that
the compared tools read, come from tracefs anyway. Prints the directory."""

import glob
import os
import subprocess
import sys


def kernel_source():
    """BCC_KERNEL_SOURCE for this machine, or None when bcc finds headers itself or
    there are none to merge."""
    if os.path.isdir("/lib/modules/%s/build" % os.uname().release):
        return None
    amd64 = sorted(glob.glob("/usr/src/linux-headers-*-amd64"))
    if not amd64:
        return None
    arch = amd64[-1]
    common = arch[: -len("-amd64")] + "-common"
    if not os.path.isdir(common):
        return None
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    out = os.path.join(cache, "bpfbox", "bcc-headers", os.path.basename(arch))
    if not os.path.exists(os.path.join(out, "include", "generated", "autoconf.h")):
        os.makedirs(out, exist_ok=True)
        subprocess.run(["cp", "-rs", common + "/.", out + "/"], check=True)
        subprocess.run(["cp", "-rs", "--remove-destination", arch + "/.", out + "/"], check=True)
    return out


if __name__ == "__main__":
    d = kernel_source()
    if d is None:
        sys.exit(1)
    print(d)
