"""bpfbox's Python package in user space: eBPF programs run, verified and inspected
without root, as pytest unit tests. The objects are the repository's committed ones."""

import os
import shutil
import struct

import pytest

import bpfbox
from bpfbox import BPF

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIREWALL = os.path.join(ROOT, "examples", "xdp_firewall.bpf.o")
RINGBUF = os.path.join(ROOT, "examples", "ringbuf_events.bpf.o")
BAD = os.path.join(ROOT, "tests", "verifier", "c", "pkt_short_check_bad.o")

XDP_DROP, XDP_PASS = 1, 2


def ipv4_from(src):
    """An Ethernet + IPv4 header from address `src` (bytes)."""
    eth = b"\0" * 12 + b"\x08\x00"
    ip = bytes([0x45]) + b"\0" * 11 + src + bytes([10, 0, 0, 99])
    return eth + ip


@pytest.fixture(params=[False, True], ids=["interpreter", "jit"])
def fw(request):
    return BPF(obj=FIREWALL, jit=request.param)


def test_run_passes_and_drops(fw):
    fw["blocklist"][bytes([10, 0, 0, 1])] = 0
    pkt = ipv4_from(bytes([10, 0, 0, 1]))
    retval, data_out = fw.run("xdp_firewall", data=pkt)
    assert retval == XDP_DROP
    assert data_out == pkt
    assert fw.run("xdp_firewall", data=ipv4_from(bytes([10, 0, 0, 2])))[0] == XDP_PASS
    assert fw.run("xdp_firewall", data=b"\0" * 14, repeat=5)[0] == XDP_PASS
    assert fw["blocklist"][bytes([10, 0, 0, 1])] == 1
    assert fw["stats"][XDP_DROP] == 1
    assert fw["stats"][XDP_PASS] == 6


def test_tables_like_bcc(fw):
    stats = fw["stats"]
    assert (stats.name, stats.map_type, stats.key_size, stats.value_size) == ("stats", "array", 4, 8)
    assert len(stats) == 5
    assert stats.keys() == [0, 1, 2, 3, 4]
    stats[3] = 42
    assert dict(stats.items())[3] == 42
    assert sum(stats.values()) == 42
    assert list(stats) == [0, 1, 2, 3, 4]
    stats.clear()
    assert stats.values() == [0] * 5

    bl = fw.get_table("blocklist")
    key = struct.unpack("<I", bytes([192, 168, 0, 1]))[0]
    bl[key] = 7
    assert bl[bytes([192, 168, 0, 1])] == 7
    assert key in bl and 123 not in bl
    assert bl.items() == [(key, 7)]
    del bl[key]
    assert len(bl) == 0
    with pytest.raises(KeyError):
        bl[key]
    with pytest.raises(KeyError):
        del bl[key]
    bl[1] = b"\x01" + b"\0" * 7
    bl.clear()
    assert bl.keys() == []


def test_map_errors(fw):
    bl = fw["blocklist"]
    with pytest.raises(ValueError, match="the key is 4 bytes, 2 bytes given"):
        bl[b"\0\0"] = 1
    with pytest.raises(ValueError, match="does not fit"):
        bl[1 << 40] = 1
    with pytest.raises(ValueError, match="int or bytes"):
        bl["ten"] = 1
    with pytest.raises(RuntimeError, match="E2BIG"):
        fw["stats"][9] = 1
    with pytest.raises(KeyError, match="no map named `nope`"):
        fw["nope"]


def test_verify_accepts_and_rejects():
    assert BPF(obj=FIREWALL).verify() == []
    assert BPF(obj=FIREWALL).verify("xdp_firewall") == []
    b = BPF(obj=BAD)
    diags = b.verify()
    assert len(diags) == 1
    d = diags[0]
    assert d["program"] == "prog"
    assert "invalid access to packet, off=12 size=2" in d["message"]
    assert d["file"].endswith("pkt_short_check_bad.c") and d["line"] == 5
    assert d["hint"] and "bounds check" in d["hint"]
    assert isinstance(d["pc"], int) and d["kind"]
    # A rejected program is not run ...
    with pytest.raises(RuntimeError, match="rejected by the verifier"):
        b.run("prog", data=b"\0" * 64)
    # ... unless loaded unverified: every access is then checked at run time.
    assert BPF(obj=BAD, verify=False).run("prog", data=b"\0" * 64)[0] is not None


def test_bad_input_raises(tmp_path):
    junk = tmp_path / "junk.o"
    junk.write_bytes(b"\x7fELF" + os.urandom(200))
    with pytest.raises(ValueError):
        BPF(obj=str(junk))
    with open(FIREWALL, "rb") as f:
        half = f.read()
    (tmp_path / "half.o").write_bytes(half[: len(half) // 2])
    with pytest.raises(ValueError):
        BPF(obj=str(tmp_path / "half.o"))
    with pytest.raises(OSError):
        BPF(obj=str(tmp_path / "missing.o"))
    with pytest.raises(ValueError, match="exactly one"):
        BPF()
    b = BPF(obj=FIREWALL)
    with pytest.raises(KeyError, match="no program named `nope`"):
        b.run("nope")
    with pytest.raises(KeyError):
        b.verify("nope")
    with pytest.raises(RuntimeError, match="at least 14 bytes"):
        b.run("xdp_firewall", data=b"\0" * 4)


def test_instruction_budget():
    b = BPF(obj=FIREWALL, max_insns=3)
    with pytest.raises(RuntimeError):
        b.run("xdp_firewall", data=ipv4_from(bytes([1, 2, 3, 4])))


def test_ring_buffer_events():
    b = BPF(obj=RINGBUF)
    ctx = bytearray(64)
    ctx[8:16] = struct.pack("<q", 257)  # openat
    assert b.run("emit_openat", ctx=bytes(ctx))[0] == 0
    ctx[8:16] = struct.pack("<q", 0)  # read: no event
    b.run("emit_openat", ctx=bytes(ctx))
    events = b.ring_buffer_consume("events")
    assert len(events) == 1
    pid, tgid, uid, flags, syscall = struct.unpack_from("<IIIIq", events[0])
    assert syscall == 257
    assert b.ring_buffer_consume("events") == []
    with pytest.raises(ValueError, match="not a ring buffer"):
        BPF(obj=FIREWALL).ring_buffer_consume("stats")


def test_module_surface():
    b = BPF(obj=FIREWALL)
    assert b.programs == ["xdp_firewall"]
    assert b.maps == ["blocklist", "stats"]
    assert "xdp_firewall" in repr(b)
    assert bpfbox.__version__


@pytest.mark.skipif(not (shutil.which("clang-19") or shutil.which("clang")), reason="no clang")
def test_compile_text():
    text = """
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} seen SEC(".maps");
SEC("xdp")
int count(struct xdp_md *ctx)
{
    __u32 k = 0;
    __u64 *n = bpf_map_lookup_elem(&seen, &k);
    if (n)
        __sync_fetch_and_add(n, 1);
    return XDP_PASS;
}
char LICENSE[] SEC("license") = "GPL";
"""
    b = BPF(text=text)
    assert b.verify() == []
    assert b.run("count", data=b"\0" * 14)[0] == XDP_PASS
    assert b["seen"][0] == 1
    with pytest.raises(ValueError, match="failed to compile"):
        BPF(text="int broken(")


def test_struct_values_are_decoded_with_btf():
    b = BPF(obj=os.path.join(ROOT, "examples", "proto_counter.bpf.o"))
    b.run("count_protocols", data=b"\0" * 60)
    per_cpu = b["proto_stats"][0]
    assert isinstance(per_cpu, list)
    assert {"packets": 1, "bytes": 60} in per_cpu
    assert sum(c["packets"] for c in per_cpu) == 1


def test_attaching_needs_kernel_mode():
    b = BPF(obj=FIREWALL)
    assert not b.in_kernel
    with pytest.raises(AttributeError, match="kernel=True"):
        b.attach_xdp("lo", fn_name="xdp_firewall")


HOST = os.path.join(ROOT, "crates", "api", "tests", "host", "host_helpers.bpf.o")


def fnv1a(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def host_helpers(calls):
    def host_add(a, b):
        calls.append((a, b))
        return a + b

    def host_fill(buf, size):
        buf[:] = bytes(range(1, size + 1))

    return [
        (1000, "host_add", ["scalar", "scalar"], host_add),
        (1001, "host_hash", ["memory", "size"], lambda data, size: fnv1a(data)),
        (1003, "host_fill", ["memory_out", "size"], host_fill, "void"),
    ]


@pytest.mark.parametrize("jit", [False, True], ids=["interpreter", "jit"])
def test_host_helpers_written_in_python(jit):
    calls = []
    b = BPF(obj=HOST, jit=jit, helpers=host_helpers(calls))
    pkt = bytes(range(1, 21))
    assert b.run("good", data=pkt)[0] == XDP_PASS
    assert calls == [(20, 1000)]
    assert b["results"][0] == fnv1a(pkt[:8])
    assert b["results"][1] == 1020
    b.run("fill", data=pkt)
    assert b["results"][2] == sum(range(1, 17))
    # The verifier checks the programs against the prototypes.
    kinds = {d["program"]: d for d in b.verify()}
    assert set(kinds) == {"wrong_arg_type", "bad_size", "unknown_helper"}
    assert kinds["wrong_arg_type"]["message"].startswith("R1 type=scalar expected=")
    assert kinds["bad_size"]["message"].startswith("invalid access to packet, off=0 size=16")
    assert "host_add#1000" in kinds["unknown_helper"]["hint"]
    with pytest.raises(RuntimeError, match="rejected by the verifier"):
        b.run("bad_size", data=pkt)


def test_host_helper_errors_are_python_exceptions():
    def boom(a, b):
        raise ValueError("no quota left")

    b = BPF(obj=HOST, helpers=[(1000, "host_add", ["scalar", "scalar"], boom),
                               (1001, "host_hash", ["memory", "size"], lambda d, s: "not an int")])
    with pytest.raises(RuntimeError, match="host_hash: the helper must return an int"):
        b.run("good", data=bytes(20))
    b = BPF(obj=HOST, helpers=[(1000, "host_add", ["scalar", "scalar"], boom),
                               (1001, "host_hash", ["memory", "size"], lambda d, s: 0)])
    with pytest.raises(RuntimeError, match="host_add: ValueError: no quota left"):
        b.run("good", data=bytes(20))
    with pytest.raises(ValueError, match="kernel helper bpf_map_lookup_elem"):
        BPF(obj=HOST, helpers=[(1, "mine", ["scalar"], abs)])
    with pytest.raises(ValueError, match="unknown argument kind `pointer`"):
        BPF(obj=HOST, helpers=[(1000, "mine", ["pointer"], abs)])
    with pytest.raises(ValueError, match="must be followed by its size"):
        BPF(obj=HOST, helpers=[(1000, "mine", ["memory"], abs)])
    with pytest.raises(ValueError, match="not callable"):
        BPF(obj=HOST, helpers=[(1000, "mine", ["scalar"], 42)])
