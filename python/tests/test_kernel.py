"""bpfbox's Python package against the running kernel (KernelBPF): programs compiled
from C, loaded, attached to tracepoints, raw tracepoints, uprobes, uretprobes, perf
events and XDP, their maps read as bcc tables, ring/perf buffers polled with
callbacks, trace_pipe read. Needs root and bpf(); elsewhere each test is skipped with
the reason (and fails under CI=true, where the machine is expected to allow it)."""

import os
import socket
import struct
import subprocess
import time

import pytest

import bpfbox

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "bpf", "kernel_probes.bpf.c")
# counts[] slots (kernel_probes.bpf.c)
TP, RAW_TP, UPROBE, URETPROBE, PERF, XDP, RETVAL = range(7)


def kernel_or_skip():
    reason = None
    if not getattr(bpfbox, "HAS_KERNEL", False):
        reason = "bpfbox was built without the kernel feature"
    elif os.geteuid() != 0:
        reason = "not root (bpf() and attaching need CAP_BPF/CAP_PERFMON)"
    elif not os.path.exists("/sys/kernel/btf/vmlinux"):
        reason = "no /sys/kernel/btf/vmlinux"
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but the kernel tests cannot run: " + reason)
        pytest.skip(reason)


@pytest.fixture
def b(tmp_path_factory):
    kernel_or_skip()
    os.environ.setdefault("BPFBOX_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))
    with bpfbox.BPF(src_file=SRC, kernel=True) as bpf:
        bpf["filter"][0] = os.getpid()
        yield bpf


def test_bpf_kernel_mode_is_a_kernel_bpf_and_bpfbox_verifies_it_too(b):
    assert b.in_kernel
    assert "on_getppid" in b.programs and "counts" in b.maps
    # bpfbox's verifier accepts what the kernel accepted.
    assert b.verify() == []
    assert "(kernel)" in repr(b)


def test_compiled_objects_are_cached(b):
    again = bpfbox.KernelBPF(src_file=SRC)
    assert again.path == b.path
    assert os.path.dirname(b.path) == os.environ["BPFBOX_CACHE_DIR"]
    start = time.perf_counter()
    bpfbox.KernelBPF(obj=b.path)
    assert time.perf_counter() - start < 2.0


def test_tracepoint_counts_and_events(b):
    b.attach_tracepoint(tp="syscalls:sys_enter_getppid", fn_name="on_getppid")
    ring, perf = [], []
    b["ring"].open_ring_buffer(lambda ctx, data, size: ring.append(struct.unpack("<II", data)))
    b["perf"].open_perf_buffer(lambda cpu, data, size: perf.append(struct.unpack("<II", data[:8])))
    for _ in range(10):
        os.getppid()
    assert b["counts"][TP] == 10
    deadline = time.time() + 5
    while (len(ring) < 10 or len(perf) < 10) and time.time() < deadline:
        b.ring_buffer_poll(100)
        b.perf_buffer_poll(100)
    assert [e[1] for e in ring] == list(range(1, 11))
    assert sorted(e[1] for e in perf) == list(range(1, 11))
    assert {e[0] for e in ring + perf} == {os.getpid()}
    # A struct value, decoded with the object's BTF.
    assert b["last"][0] == {"pid": os.getpid(), "seq": 10}
    b.cleanup()
    os.getppid()
    assert b["counts"][TP] == 10, "detached: no more counts"


def test_tracepoint_from_section_and_trace_pipe(b):
    b.attach_tracepoint(fn_name="on_getppid")
    # Drain what others left in trace_pipe, then look for our lines.
    while b.trace_readline(nonblocking=True) is not None:
        pass
    os.getppid()
    os.getppid()
    seen = []
    deadline = time.time() + 5
    while len(seen) < 2 and time.time() < deadline:
        line = b.trace_readline(nonblocking=True)
        if line is None:
            time.sleep(0.01)
        elif "bpfbox-python-test getppid" in line:
            seen.append(line.split()[-1])
    assert seen == ["1", "2"]


def test_raw_tracepoint(b):
    b.attach_raw_tracepoint(tp="sys_enter", fn_name="on_sys_enter")
    for _ in range(5):
        os.getppid()
    assert b["counts"][RAW_TP] >= 5


def test_uprobe_and_uretprobe_on_libc(b):
    b.attach_uprobe(name="c", sym="getpid", fn_name="on_getpid", pid=os.getpid())
    b.attach_uretprobe(name="c", sym="getpid", fn_name="on_getpid_ret", pid=os.getpid())
    assert b.num_attached() == 2
    for _ in range(7):
        os.getpid()
    assert b["counts"][UPROBE] >= 7
    assert b["counts"][URETPROBE] >= 7
    assert b["counts"][RETVAL] == os.getpid()


def test_perf_event_samples(b):
    # software (1) cpu-clock (0), 1000 Hz on every CPU, while this process spins.
    b.attach_perf_event(ev_type=1, ev_config=0, fn_name="on_sample", sample_freq=1000)
    end = time.time() + 0.3
    while time.time() < end:
        pass
    assert b["counts"][PERF] > 10


def test_xdp_on_a_veth_pair(b):
    a, peer = "bbpy%da" % (os.getpid() % 100000), "bbpy%db" % (os.getpid() % 100000)
    subprocess.run(["ip", "link", "add", a, "type", "veth", "peer", "name", peer], check=True)
    try:
        for dev in (a, peer):
            subprocess.run(["ip", "link", "set", dev, "up"], check=True)
        b.attach_xdp(peer, fn_name="count_frames", flags=2)  # XDP_FLAGS_SKB_MODE
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        s.bind((a, 0))
        frame = b"\xff" * 6 + b"\x02\0\0\0\0\x01" + struct.pack("!H", 0x88B5) + b"\0" * 46
        for _ in range(5):
            s.send(frame)
        deadline = time.time() + 5
        while b["counts"][XDP] < 5 and time.time() < deadline:
            time.sleep(0.01)
        assert b["counts"][XDP] == 5
        assert b.remove_xdp(peer) is True
        assert b.remove_xdp(peer) is False
        s.send(frame)
        time.sleep(0.1)
        assert b["counts"][XDP] == 5
        s.close()
    finally:
        subprocess.run(["ip", "link", "del", a], check=False)


def test_kernel_tables_like_bcc(b):
    t = b["scratch"]
    assert (t.name, t.map_type, t.key_size, t.value_size) == ("scratch", "hash", 4, 8)
    assert len(t) == 0
    t[1] = 10
    t[2] = 20
    assert t[1] == 10 and 2 in t and 3 not in t
    assert sorted(t.items()) == [(1, 10), (2, 20)]
    assert sorted(t.keys()) == [1, 2] and sorted(t.values()) == [10, 20]
    del t[1]
    with pytest.raises(KeyError):
        t[1]
    with pytest.raises(KeyError):
        del t[1]
    t.clear()
    assert len(t) == 0
    counts = b["counts"]
    counts[TP] = 5
    counts.clear()
    assert counts.values() == [0] * 8


def test_kernel_test_run(b):
    retval, out = b.run("count_frames", data=b"\xff" * 12 + b"\x88\xb5" + b"\0" * 50)
    assert retval == 1  # XDP_DROP
    assert b["counts"][XDP] == 1
    assert b.run("count_frames", data=b"\0" * 64)[0] == 2  # XDP_PASS


def test_bad_input_raises(b):
    with pytest.raises(KeyError, match="no map named `nope`"):
        b["nope"]
    with pytest.raises(ValueError, match="CATEGORY:NAME"):
        b.attach_tracepoint(tp="nocolon", fn_name="on_getppid")
    with pytest.raises(KeyError):
        b.attach_tracepoint(tp="syscalls:sys_enter_getppid", fn_name="no_such_prog")
    with pytest.raises(ValueError):
        b.attach_tracepoint(tp="syscalls:sys_enter_getppid", fn_name="count_frames")
    with pytest.raises(ValueError, match="no tracepoint nosuchcat:nosuchtp"):
        b.attach_tracepoint(tp="nosuchcat:nosuchtp", fn_name="on_getppid")
    with pytest.raises(ValueError, match="not a ring buffer"):
        b["counts"].open_ring_buffer(lambda *a: None)
    with pytest.raises(ValueError, match="the key is 4 bytes"):
        b["counts"][b"\0" * 8]
    with pytest.raises(ValueError):
        bpfbox.KernelBPF(text="int broken(")
    with pytest.raises(OSError):
        bpfbox.KernelBPF(obj="/nonexistent.bpf.o")
