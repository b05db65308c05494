//! Program contexts with the kernel's layouts and `BPF_PROG_TEST_RUN`'s rules
//! (`net/bpf/test_run.c`).
//!
//! - XDP: `struct xdp_md` (24 bytes). The packet sits in a 4096-byte frame after
//!   `XDP_PACKET_HEADROOM` (256) bytes; the last 320 bytes (`skb_shared_info`) are
//!   tailroom no adjustment may reach; `xdp_adjust_head` may not go below the
//!   `struct xdp_frame` (40 bytes) plus metadata. `ctx_in` may give
//!   `data` (= metadata length: the first bytes of `data_in` are metadata),
//!   `data_end` (= the length of `data_in`), `ingress_ifindex`, `rx_queue_index`;
//!   `data_out` starts at `data_meta`.
//! - tc (`sched_cls`/`sched_act`), socket filter, cgroup_skb, lwt: `struct
//!   __sk_buff` (192 bytes) on a packet of at least 14 bytes received on the
//!   loopback device: `protocol` and `pkt_type` come from the Ethernet header
//!   (`eth_type_trans`); tc programs see the packet from the MAC header, the others
//!   from the network header, and their `data_out` gets the 14 bytes of Ethernet
//!   header back, zeroed, as the kernel pushes them. `ctx_in` may set `mark`,
//!   `priority`, `ingress_ifindex`, `ifindex`, `cb[]`, `tstamp`, `wire_len`,
//!   `gso_segs`, `gso_size`, `hwtstamp`; any other non-zero byte is `EINVAL`.
//!   Divergence: the kernel's test run leaves cgroup_skb's `data_end` unset; here it
//!   is the real end of the packet.
//! - kprobe (`struct pt_regs`, 168 bytes), perf_event (`struct
//!   bpf_perf_event_data`, 184), tracepoint (raw record), raw_tracepoint and
//!   tracing (u64 arguments, at most 12): read-only context bytes from `ctx_in`,
//!   zero-padded (zeros if none). The kernel has no test run for kprobe, tracepoint
//!   and perf_event; bpfbox runs them on these synthetic contexts.
//!   tracing (fentry/fexit/tp_btf/iter), lsm and struct_ops programs read kernel
//!   pointers directly: a load outside every region reads `probe_memory` or 0, as
//!   the kernel's PROBE_MEM loads read 0 when they fault.
//! - syscall: `ctx_in` is user memory the program may write (`ctx_out`); no
//!   `ctx_in` means a NULL context.
//! - Other types: `ctx_in` as a writable raw context if given, else the packet as
//!   memory with r1 = its address and r2 = its length.
//!
//! `__sk_buff` and `xdp_md` are not memory the program reads: their fields are
//! converted like the kernel's `convert_ctx_access` (a 32-bit load of `data` gives
//! the 64-bit packet address). The context address is outside every region and
//! each access comes here (`Ctx::access`); accesses the kernel's verifier would
//! refuse (unknown offsets, read-only fields, wrong sizes) stop the run with
//! [`VmError::CtxAccess`], naming the field.

use crate::maps::Errno;
use crate::memory::{Region, RegionKind};
use crate::{AccessKind, VirtualAccess, VmError};

pub(crate) mod types {
    pub const SOCKET_FILTER: u32 = 1;
    pub const KPROBE: u32 = 2;
    pub const SCHED_CLS: u32 = 3;
    pub const SCHED_ACT: u32 = 4;
    pub const TRACEPOINT: u32 = 5;
    pub const XDP: u32 = 6;
    pub const PERF_EVENT: u32 = 7;
    pub const CGROUP_SKB: u32 = 8;
    pub const LWT_IN: u32 = 10;
    pub const LWT_OUT: u32 = 11;
    pub const LWT_XMIT: u32 = 12;
    pub const RAW_TRACEPOINT: u32 = 17;
    pub const RAW_TRACEPOINT_WRITABLE: u32 = 24;
    pub const TRACING: u32 = 26;
    pub const LSM: u32 = 29;
    pub const SYSCALL: u32 = 31;
}

use types::*;

/// Name of a program type number, for messages.
pub(crate) fn prog_type_name(t: u32) -> String {
    let n = match t {
        0 => "unspec",
        SOCKET_FILTER => "socket_filter",
        KPROBE => "kprobe",
        SCHED_CLS => "sched_cls",
        SCHED_ACT => "sched_act",
        TRACEPOINT => "tracepoint",
        XDP => "xdp",
        PERF_EVENT => "perf_event",
        CGROUP_SKB => "cgroup_skb",
        LWT_IN => "lwt_in",
        LWT_OUT => "lwt_out",
        LWT_XMIT => "lwt_xmit",
        RAW_TRACEPOINT => "raw_tracepoint",
        RAW_TRACEPOINT_WRITABLE => "raw_tracepoint_writable",
        TRACING => "tracing",
        LSM => "lsm",
        SYSCALL => "syscall",
        _ => return format!("type {t}"),
    };
    n.to_string()
}

/// Program types whose loads through kernel (BTF) pointers are PROBE_MEM loads.
pub(crate) fn probe_mem_loads(t: u32) -> bool {
    matches!(t, TRACING | LSM | 27)
}

fn is_skb(t: u32) -> bool {
    matches!(t, SOCKET_FILTER | SCHED_CLS | SCHED_ACT | CGROUP_SKB | LWT_IN | LWT_OUT | LWT_XMIT)
}

/// Whether a program of type `t` may call helper `name` (the kernel's per-type
/// `get_func_proto`, for the helpers bpfbox implements that are type-specific).
/// Type 0 (unknown) may call everything.
pub(crate) fn helper_allowed(t: u32, name: &str) -> bool {
    if t == 0 {
        return true;
    }
    let tc = matches!(t, SCHED_CLS | SCHED_ACT);
    match name {
        "xdp_adjust_head" | "xdp_adjust_meta" | "xdp_adjust_tail" | "xdp_get_buff_len" | "xdp_load_bytes"
        | "xdp_store_bytes" | "redirect_map" => t == XDP,
        "skb_load_bytes" => is_skb(t),
        "skb_store_bytes" | "skb_pull_data" => tc || matches!(t, LWT_XMIT),
        "l3_csum_replace" | "l4_csum_replace" | "skb_change_tail" | "skb_change_head" | "set_hash" | "csum_update"
        | "skb_change_type" | "get_hash_recalc" | "get_cgroup_classid" | "get_route_realm" | "skb_adjust_room" => tc,
        "redirect" => tc || t == XDP || t == LWT_XMIT,
        "get_func_ip" | "get_attach_cookie" => !is_skb(t) && t != XDP,
        _ => true,
    }
}

// ---- XDP ----

/// The test-run frame: 4096 bytes, headroom 256, `skb_shared_info` tailroom 320.
pub(crate) const XDP_FRAME: usize = 4096;
pub(crate) const XDP_HEADROOM: usize = 256;
pub(crate) const XDP_TAILROOM: usize = 320;
/// `sizeof(struct xdp_frame)`, at the start of the headroom.
pub(crate) const XDP_FRAME_HDR: usize = 40;
/// `sizeof(struct xdp_md)`.
pub(crate) const XDP_MD_SIZE: usize = 24;
const ETH_HLEN: usize = 14;

#[derive(Debug)]
pub(crate) struct Xdp {
    pub buf: Box<[u8]>,
    pub meta: usize,
    pub data: usize,
    pub end: usize,
    pub ingress_ifindex: u32,
    pub rx_queue_index: u32,
    ctx_in: Option<[u8; XDP_MD_SIZE]>,
    /// What r1 points at: the shadow (see [`Ctx::sync_shadow`]).
    shadow: Box<[u64; XDP_MD_SIZE / 4]>,
}

impl Xdp {
    pub fn addr(&self, off: usize) -> u64 {
        self.buf.as_ptr().wrapping_add(off).expose_provenance() as u64
    }

    pub fn packet_region(&self) -> Region<'static> {
        // SAFETY: `buf` is never reallocated while the run state lives; the region
        // lies inside it.
        unsafe {
            Region::from_raw_parts(
                RegionKind::Packet,
                (self.buf.as_ptr() as *mut u8).wrapping_add(self.meta),
                (self.end - self.meta) as u64,
                true,
            )
        }
    }

    pub fn hard_end(&self) -> usize {
        XDP_FRAME - XDP_TAILROOM
    }

    /// Refresh the shadow after the frame or a field changed.
    pub fn sync_shadow(&mut self) {
        let (data, end, meta) = (self.addr(self.data), self.addr(self.end), self.addr(self.meta));
        *self.shadow = [data, end, meta, self.ingress_ifindex as u64, self.rx_queue_index as u64, 0];
    }
}

// ---- __sk_buff ----

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SkbKind {
    SocketFilter,
    Tc,
    CgroupSkb,
    Lwt { xmit: bool },
}

/// `sizeof(struct __sk_buff)`.
pub(crate) const SKB_SIZE: usize = 192;
/// `NET_SKB_PAD + NET_IP_ALIGN` on x86-64.
const SKB_HEADROOM: usize = 64;
/// Largest packet a test run takes: `PAGE_SIZE - headroom - SKB_DATA_ALIGN(skb_shared_info)`.
const SKB_MAX_DATA: usize = 4096 - SKB_HEADROOM - 320;
/// Largest skb `skb_change_tail` may make (loopback: MTU 65536 + 14).
pub(crate) const SKB_MAX_LEN: usize = 65536 + ETH_HLEN;
/// `BPF_SKB_MAX_LEN` (`SKB_MAX_ALLOC`) for `skb_change_head`.
pub(crate) const SKB_MAX_ALLOC: usize = 16384 - 320;

/// `struct ip_tunnel_info` as the tunnel-key helpers keep it; addresses as the
/// fields of `struct bpf_tunnel_key` hold them (IPv4: a host-order `u32` in the first
/// word; IPv6: the address bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TunnelInfo {
    pub v6: bool,
    pub id: u64,
    /// Outer source and destination.
    pub src: [u32; 4],
    pub dst: [u32; 4],
    pub tos: u8,
    pub ttl: u8,
    pub label: u32,
    /// `TUNNEL_*` flags (`IP_TUNNEL_*_BIT` bits 0..16).
    pub flags: u16,
}

#[derive(Debug)]
pub(crate) struct Skb {
    pub kind: SkbKind,
    pub buf: Vec<u8>,
    /// Offset of `skb->data` in `buf`.
    pub head: usize,
    pub len: usize,
    /// Offset of the network header from `skb->data` (14 for tc, 0 for the others).
    pub network_off: usize,
    pub protocol: u32,
    pub pkt_type: u32,
    pub ingress_ifindex: u32,
    pub ifindex: u32,
    pub hash: u32,
    pub queue_mapping: u32,
    pub tstamp: u64,
    pub wire_len: u32,
    pub gso_segs: u32,
    pub gso_size: u32,
    pub hwtstamp: u64,
    pub family: u32,
    pub remote_ip4: u32,
    pub local_ip4: u32,
    pub remote_ip6: [u32; 4],
    pub local_ip6: [u32; 4],
    /// The tunnel metadata `bpf_skb_set_tunnel_key` attached (the skb's metadata dst).
    pub tunnel: Option<TunnelInfo>,
    /// `ip_summed == CHECKSUM_UNNECESSARY` and its `csum_level`; `None`: `CHECKSUM_NONE`
    /// (what test runs build).
    pub csum_unnecessary: Option<u8>,
    /// The out-of-band VLAN tag (`skb->vlan_proto` as its `__be16` bytes read natively,
    /// `skb->vlan_tci`), as `bpf_skb_vlan_push` sets it.
    pub vlan: Option<(u16, u16)>,
    ctx_in: [u8; SKB_SIZE],
    /// What r1 points at: the shadow (see [`Ctx::sync_shadow`]).
    shadow: Box<[u64; SKB_SIZE / 4]>,
}

impl Skb {
    pub fn data_addr(&self) -> u64 {
        self.buf.as_ptr().wrapping_add(self.head).expose_provenance() as u64
    }

    pub fn packet_writable(&self) -> bool {
        matches!(self.kind, SkbKind::Tc | SkbKind::Lwt { xmit: true })
    }

    pub fn packet_region(&self) -> Region<'static> {
        // SAFETY: `buf` is only reallocated by helpers, which replace the packet
        // region right after; the region lies inside it.
        unsafe {
            Region::from_raw_parts(
                RegionKind::Packet,
                (self.buf.as_ptr() as *mut u8).wrapping_add(self.head),
                self.len as u64,
                self.packet_writable(),
            )
        }
    }

    pub fn data(&self) -> &[u8] {
        &self.buf[self.head..self.head + self.len]
    }

    pub fn data_mut(&mut self) -> &mut [u8] {
        let (h, l) = (self.head, self.len);
        &mut self.buf[h..h + l]
    }

    /// Make the linear data `new_len` bytes long (zero-filling growth), moving the
    /// buffer if needed.
    pub fn set_len(&mut self, new_len: usize) {
        if self.head + new_len > self.buf.len() {
            self.buf.resize(self.head + new_len + 256, 0);
        }
        if new_len > self.len {
            let (h, l) = (self.head, self.len);
            self.buf[h + l..h + new_len].fill(0);
        }
        self.len = new_len;
    }

    /// Refresh the shadow after the packet or a field changed: every slot gets what
    /// a whole-field load returns (`skb_access`; a unit test holds them equal).
    pub fn sync_shadow(&mut self) {
        let d = self.data_addr();
        let mut sh = [0u64; SKB_SIZE / 4];
        let (vlan_proto, vlan_tci) = self.vlan.map_or((0, 0), |v| (v.0 as u64, v.1 as u64));
        // The program-writable fields live in the shadow only (compiled code may
        // store into it directly): keep them.
        for i in Skb::OWN_SLOTS {
            sh[i] = self.shadow[i];
        }
        sh[0] = self.len as u64;
        sh[1] = self.pkt_type as u64;
        sh[3] = self.queue_mapping as u64;
        sh[4] = self.protocol as u64;
        sh[5] = self.vlan.is_some() as u64;
        sh[6] = vlan_tci;
        sh[7] = vlan_proto;
        sh[9] = self.ingress_ifindex as u64;
        sh[10] = self.ifindex as u64;
        sh[17] = self.hash as u64;
        sh[19] = d;
        sh[20] = d + self.len as u64;
        sh[22] = self.family as u64;
        sh[23] = self.remote_ip4 as u64;
        sh[24] = self.local_ip4 as u64;
        for i in 0..4 {
            sh[25 + i] = self.remote_ip6[i] as u64;
            sh[29 + i] = self.local_ip6[i] as u64;
        }
        sh[35] = d;
        sh[38] = self.tstamp;
        sh[40] = self.wire_len as u64;
        sh[41] = self.gso_segs as u64;
        sh[44] = self.gso_size as u64;
        sh[46] = self.hwtstamp;
        *self.shadow = sh;
    }

    /// Shadow slots that are the fields themselves: `mark`, `priority`, `tc_index`,
    /// `cb[0..5]`, `tc_classid` (the plain fields programs write).
    const OWN_SLOTS: [usize; 9] = [2, 8, 11, 12, 13, 14, 15, 16, 18];

    /// A program-writable field, by its `__sk_buff` offset.
    pub fn own(&self, off: u32) -> u32 {
        self.shadow[off as usize / 4] as u32
    }

    fn set_own(&mut self, off: u32, v: u32) {
        self.shadow[off as usize / 4] = v as u64;
    }

    /// Push `n` zero bytes in front of the data (`skb_change_head`).
    pub fn push_head(&mut self, n: usize) {
        if n > self.head {
            let mut nb = vec![0u8; SKB_HEADROOM + n + self.len + 256];
            let start = SKB_HEADROOM + n;
            nb[start..start + self.len].copy_from_slice(self.data());
            self.buf = nb;
            self.head = start;
        }
        self.head -= n;
        self.len += n;
        let h = self.head;
        self.buf[h..h + n].fill(0);
    }
}

/// Context bytes handed over as they are.
#[derive(Debug)]
pub(crate) struct Raw {
    pub buf: Vec<u8>,
    pub writable: bool,
    /// r1 = NULL (syscall programs without `ctx_in`).
    pub null: bool,
    /// Report the bytes as `ctx_out`.
    pub out: bool,
}

/// The context of a run (one per test run: the size difference does not matter).
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub(crate) enum Ctx {
    Xdp(Xdp),
    Skb(Skb),
    Raw(Raw),
    /// Unknown program type without `ctx_in`: the packet as memory.
    Packet(Vec<u8>),
}

type Bad = (Errno, String);

fn bad<T>(errno: Errno, reason: impl Into<String>) -> Result<T, Bad> {
    Err((errno, reason.into()))
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(w)
}

/// `bpf_ctx_init`: copy `ctx_in` into a zeroed context of `size` bytes; bytes past
/// `size` must be zero (`E2BIG`).
fn ctx_init<const N: usize>(ctx_in: &[u8]) -> Result<[u8; N], Bad> {
    if ctx_in.len() > N && ctx_in[N..].iter().any(|b| *b != 0) {
        return bad(Errno::E2BIG, format!("ctx_in has non-zero bytes past the {N}-byte context"));
    }
    let mut c = [0u8; N];
    let n = ctx_in.len().min(N);
    c[..n].copy_from_slice(&ctx_in[..n]);
    Ok(c)
}

impl Ctx {
    pub fn new(prog_type: u32, input: &crate::runtime::TestRunInput) -> Result<Ctx, Bad> {
        let data = &input.data_in;
        match prog_type {
            XDP => Self::xdp(data, input.ctx_in.as_deref()),
            t if is_skb(t) => Self::skb(t, data, input.ctx_in.as_deref()),
            KPROBE | TRACEPOINT | PERF_EVENT | RAW_TRACEPOINT | RAW_TRACEPOINT_WRITABLE | TRACING | LSM => {
                if !data.is_empty() {
                    return bad(Errno::EINVAL, format!("{} programs take no data_in", prog_type_name(prog_type)));
                }
                let (size, exact) = match prog_type {
                    KPROBE => (168, true),
                    PERF_EVENT => (184, true),
                    TRACEPOINT => (256, false),
                    _ => (12 * 8, true),
                };
                let given = input.ctx_in.clone().unwrap_or_default();
                if exact && given.len() > size {
                    return bad(Errno::EINVAL, format!("ctx_in is larger than the {size}-byte context"));
                }
                let mut buf = given;
                if buf.len() < size && (exact || input.ctx_in.is_none()) {
                    buf.resize(size, 0);
                }
                Ok(Ctx::Raw(Raw { buf, writable: prog_type == RAW_TRACEPOINT_WRITABLE, null: false, out: false }))
            }
            SYSCALL => {
                if !data.is_empty() {
                    return bad(Errno::EINVAL, "syscall programs take no data_in");
                }
                match &input.ctx_in {
                    Some(c) if c.len() > u16::MAX as usize => bad(Errno::E2BIG, "ctx_in is larger than 65535 bytes"),
                    Some(c) if !c.is_empty() => {
                        Ok(Ctx::Raw(Raw { buf: c.clone(), writable: true, null: false, out: true }))
                    }
                    _ => Ok(Ctx::Raw(Raw { buf: Vec::new(), writable: true, null: true, out: false })),
                }
            }
            _ => match &input.ctx_in {
                Some(c) => Ok(Ctx::Raw(Raw { buf: c.clone(), writable: true, null: false, out: true })),
                None => Ok(Ctx::Packet(data.clone())),
            },
        }
    }

    fn xdp(data: &[u8], ctx_in: Option<&[u8]>) -> Result<Ctx, Bad> {
        let mut md = None;
        let mut metalen = 0usize;
        let (mut ingress, mut rxq) = (1u32, 0u32);
        if let Some(c) = ctx_in {
            let m: [u8; XDP_MD_SIZE] = ctx_init(c)?;
            let (d, de, dm) = (u32_at(&m, 0), u32_at(&m, 4), u32_at(&m, 8));
            if dm != 0 || de as usize != data.len() || d > de || d % 4 != 0 || d > 32 {
                return bad(
                    Errno::EINVAL,
                    "xdp_md in ctx_in: data_meta must be 0, data_end the data length, data (metadata length) a multiple of 4 up to 32",
                );
            }
            if u32_at(&m, 20) != 0 {
                return bad(Errno::EINVAL, "xdp_md in ctx_in: egress_ifindex must be 0");
            }
            ingress = u32_at(&m, 12);
            rxq = u32_at(&m, 16);
            if ingress == 0 && rxq != 0 {
                return bad(Errno::EINVAL, "xdp_md in ctx_in: rx_queue_index needs ingress_ifindex");
            }
            if ingress == 0 {
                ingress = 1;
            }
            metalen = d as usize;
            md = Some(m);
        }
        let headroom = XDP_HEADROOM - metalen;
        let max = XDP_FRAME - headroom - XDP_TAILROOM;
        if data.len() < ETH_HLEN {
            return bad(Errno::EINVAL, "XDP needs at least 14 bytes of data");
        }
        if data.len() > max {
            return bad(
                Errno::EOPNOTSUPP,
                format!(
                    "{} bytes need a multi-buffer XDP frame (at most {max} fit in one); bpfbox has none",
                    data.len()
                ),
            );
        }
        let mut buf = vec![0u8; XDP_FRAME].into_boxed_slice();
        buf[headroom..headroom + data.len()].copy_from_slice(data);
        Ok(Ctx::Xdp(Xdp {
            buf,
            meta: headroom,
            data: headroom + metalen,
            end: headroom + data.len(),
            ingress_ifindex: ingress,
            rx_queue_index: rxq,
            ctx_in: md,
            shadow: Box::new([0; XDP_MD_SIZE / 4]),
        })
        .synced())
    }

    fn skb(t: u32, data: &[u8], ctx_in: Option<&[u8]>) -> Result<Ctx, Bad> {
        let kind = skb_kind(t);
        if data.len() < ETH_HLEN || data.len() > SKB_MAX_DATA {
            return bad(Errno::EINVAL, format!("skb test runs take 14..={SKB_MAX_DATA} bytes of data"));
        }
        let c: [u8; SKB_SIZE] = match ctx_in {
            Some(c) => ctx_init(c)?,
            None => [0; SKB_SIZE],
        };
        // Fields test_run accepts: mark 8, priority 32, ingress_ifindex 36, ifindex 40,
        // cb 48..68, tstamp 152, wire_len 160, gso_segs 164, gso_size 176, hwtstamp 184.
        let allowed = [(8, 12), (32, 44), (48, 68), (152, 168), (176, 180), (184, 192)];
        if let Some(i) = (0..SKB_SIZE).find(|i| c[*i] != 0 && !allowed.iter().any(|(a, b)| (*a..*b).contains(i))) {
            return bad(Errno::EINVAL, format!("__sk_buff in ctx_in: byte {i} is not a field test_run accepts"));
        }
        let mut buf = vec![0u8; SKB_HEADROOM + data.len() + 256];
        buf[SKB_HEADROOM..SKB_HEADROOM + data.len()].copy_from_slice(data);
        // eth_type_trans on the loopback device (address 00:00:00:00:00:00).
        let dst = &data[..6];
        let pkt_type = if dst.iter().all(|b| *b == 0) {
            0
        } else if dst[0] & 1 == 1 {
            if dst.iter().all(|b| *b == 0xff) {
                1
            } else {
                2
            }
        } else {
            3
        };
        let h_proto = u16::from_be_bytes([data[12], data[13]]);
        let proto_be: u16 = if h_proto >= 0x600 {
            h_proto
        } else if data.len() >= 16 && data[14] == 0xff && data[15] == 0xff {
            0x0001
        } else {
            0x0004
        };
        // skb->protocol is __be16: the program reads its bytes as a native u32.
        let protocol = u16::from_ne_bytes(proto_be.to_be_bytes()) as u32;
        let net = &data[ETH_HLEN..];
        let (mut family, mut rip4, mut lip4, mut rip6, mut lip6) = (0, 0, 0, [0u32; 4], [0u32; 4]);
        match proto_be {
            0x0800 => {
                family = 2;
                if net.len() >= 20 {
                    lip4 = u32::from_ne_bytes([net[12], net[13], net[14], net[15]]);
                    rip4 = u32::from_ne_bytes([net[16], net[17], net[18], net[19]]);
                }
            }
            0x86dd => {
                family = 10;
                if net.len() >= 40 {
                    for i in 0..4 {
                        lip6[i] =
                            u32::from_ne_bytes([net[8 + 4 * i], net[9 + 4 * i], net[10 + 4 * i], net[11 + 4 * i]]);
                        rip6[i] =
                            u32::from_ne_bytes([net[24 + 4 * i], net[25 + 4 * i], net[26 + 4 * i], net[27 + 4 * i]]);
                    }
                }
            }
            _ => {}
        }
        let l2 = kind == SkbKind::Tc;
        let (head, len) =
            if l2 { (SKB_HEADROOM, data.len()) } else { (SKB_HEADROOM + ETH_HLEN, data.len() - ETH_HLEN) };
        let wire_len = u32_at(&c, 160);
        if wire_len != 0 && (wire_len < len as u32 || wire_len > 65536) {
            return bad(Errno::EINVAL, "__sk_buff in ctx_in: wire_len must be 0 or between len and 65536");
        }
        let gso_segs = u32_at(&c, 164);
        if gso_segs > 65535 {
            return bad(Errno::EINVAL, "__sk_buff in ctx_in: gso_segs above GSO_MAX_SEGS");
        }
        let ifindex = match u32_at(&c, 40) {
            0 => 1,
            i => i,
        };
        let mut shadow = Box::new([0u64; SKB_SIZE / 4]);
        for off in [8, 32, 48, 52, 56, 60, 64] {
            // mark, priority, cb[]: what ctx_in gives (tc_index and tc_classid start 0).
            shadow[off / 4] = u32_at(&c, off) as u64;
        }
        Ok(Ctx::Skb(Skb {
            kind,
            buf,
            head,
            len,
            network_off: if l2 { ETH_HLEN } else { 0 },
            protocol,
            pkt_type,
            ingress_ifindex: u32_at(&c, 36),
            ifindex,
            hash: 0,
            queue_mapping: 0,
            tstamp: u64_at(&c, 152),
            wire_len: if wire_len == 0 { len as u32 } else { wire_len },
            gso_segs,
            gso_size: u32_at(&c, 176),
            hwtstamp: u64_at(&c, 184),
            family,
            remote_ip4: rip4,
            local_ip4: lip4,
            remote_ip6: rip6,
            local_ip6: lip6,
            tunnel: None,
            csum_unnecessary: None,
            vlan: None,
            ctx_in: c,
            shadow,
        })
        .synced())
    }

    /// The context address (r1), 0 for none.
    /// The interfaces the context names (XDP's `ingress_ifindex`, an skb's `ifindex`)
    /// must exist in the world, as the kernel looks them up in its namespace.
    pub fn check_devices(&self, world: &crate::World) -> Result<(), Bad> {
        let (ifindex, field) = match self {
            Ctx::Xdp(x) => (x.ingress_ifindex, "xdp_md ingress_ifindex"),
            Ctx::Skb(k) => (k.ifindex, "__sk_buff ifindex"),
            _ => return Ok(()),
        };
        if world.interface(ifindex).is_none() {
            return Err((Errno::ENODEV, format!("{field} {ifindex}: no such interface in the world")));
        }
        Ok(())
    }

    pub fn r1(&self) -> u64 {
        match self {
            Ctx::Xdp(x) => x.shadow.as_ptr().expose_provenance() as u64,
            Ctx::Skb(s) => s.shadow.as_ptr().expose_provenance() as u64,
            Ctx::Raw(r) if r.null => 0,
            Ctx::Raw(r) => r.buf.as_ptr().expose_provenance() as u64,
            Ctx::Packet(p) if p.is_empty() => 0,
            Ctx::Packet(p) => p.as_ptr().expose_provenance() as u64,
        }
    }

    /// r2: the packet length for the raw-packet convention, else 0.
    pub fn r2(&self) -> u64 {
        match self {
            Ctx::Packet(p) => p.len() as u64,
            _ => 0,
        }
    }

    /// Whether `addr` is this run's context pointer.
    pub fn is_ctx(&self, addr: u64) -> bool {
        addr == self.r1() && addr != 0
    }

    /// The memory regions of a run, appended to `out` (a buffer the run state
    /// reuses: no allocation per run).
    pub fn regions_into(&mut self, out: &mut Vec<Region<'static>>) {
        match self {
            Ctx::Xdp(x) => out.push(x.packet_region()),
            Ctx::Skb(s) => out.push(s.packet_region()),
            Ctx::Raw(r) if r.null || r.buf.is_empty() => {}
            // SAFETY: the buffer lives in the run state, unmoved during runs.
            Ctx::Raw(r) => out.push(unsafe {
                Region::from_raw_parts(RegionKind::Ctx, r.buf.as_mut_ptr(), r.buf.len() as u64, r.writable)
            }),
            Ctx::Packet(p) if p.is_empty() => {}
            // SAFETY: as above.
            Ctx::Packet(p) => {
                out.push(unsafe { Region::from_raw_parts(RegionKind::Packet, p.as_mut_ptr(), p.len() as u64, true) })
            }
        }
    }

    /// `data_out` and `ctx_out` after the runs.
    pub fn finish(&mut self) -> (Vec<u8>, Option<Vec<u8>>) {
        match self {
            Ctx::Xdp(x) => {
                let out = x.buf[x.meta..x.end].to_vec();
                let ctx = x.ctx_in.map(|mut m| {
                    m[0..4].copy_from_slice(&((x.data - x.meta) as u32).to_le_bytes());
                    m[4..8].copy_from_slice(&((x.end - x.meta) as u32).to_le_bytes());
                    m.to_vec()
                });
                (out, ctx)
            }
            Ctx::Skb(s) => {
                let mut out = Vec::with_capacity(s.len + ETH_HLEN);
                if s.kind != SkbKind::Tc {
                    out.extend_from_slice(&[0; ETH_HLEN]);
                }
                out.extend_from_slice(s.data());
                let mut c = s.ctx_in;
                let mut put = |off: usize, v: &[u8]| c[off..off + v.len()].copy_from_slice(v);
                put(8, &s.own(8).to_le_bytes());
                put(32, &s.own(32).to_le_bytes());
                put(36, &s.ingress_ifindex.to_le_bytes());
                put(40, &s.ifindex.to_le_bytes());
                for i in 0..5 {
                    put(48 + 4 * i, &s.own(48 + 4 * i as u32).to_le_bytes());
                }
                put(152, &s.tstamp.to_le_bytes());
                put(160, &s.wire_len.to_le_bytes());
                put(164, &s.gso_segs.to_le_bytes());
                put(184, &s.hwtstamp.to_le_bytes());
                (out, Some(c.to_vec()))
            }
            Ctx::Raw(r) => (Vec::new(), r.out.then(|| r.buf.clone())),
            Ctx::Packet(p) => (p.clone(), None),
        }
    }

    /// A program access to the converted context (`__sk_buff`, `xdp_md`).
    pub fn access(&mut self, a: VirtualAccess) -> Option<Result<u64, VmError>> {
        let base = self.r1();
        let off = a.addr.wrapping_sub(base);
        match self {
            Ctx::Xdp(x) if off < XDP_MD_SIZE as u64 => Some(xdp_access(x, off as u32, a)),
            Ctx::Skb(s) if off < SKB_SIZE as u64 => Some(skb_access(s, off as u32, a)),
            _ => None,
        }
    }
}

impl Ctx {
    fn synced(mut self) -> Ctx {
        self.sync_shadow();
        self
    }

    /// Refresh the shadow r1 points at (XDP and `__sk_buff`): call after anything
    /// that changes the packet or a context field outside [`Ctx::access`].
    pub fn sync_shadow(&mut self) {
        match self {
            Ctx::Xdp(x) => x.sync_shadow(),
            Ctx::Skb(s) => s.sync_shadow(),
            _ => {}
        }
    }
}

/// For program type `prog_type`, per 4-byte context offset: the size of a load
/// that may read the context's shadow directly (its slot `off / 4`, 8 bytes at
/// r1 + 2 * off, holds what a whole-field unsigned load returns), 0 where the
/// access must go through [`Ctx::access`]; plus [`DIRECT_STORE`] where a 4-byte
/// store may write the slot's low half (the field lives in the shadow and a store
/// has no other effect). `None`: the context is not converted. This is what the
/// kernel's `convert_ctx_access` compiles into plain loads and stores.
pub(crate) fn direct_loads(prog_type: u32) -> Option<Vec<u8>> {
    match prog_type {
        XDP => Some(vec![4, 4, 4, 4, 4, 0]),
        t if is_skb(t) => {
            let kind = skb_kind(t);
            let mut v = vec![0u8; SKB_SIZE / 4];
            for &(foff, fsize, field) in SKB_FIELDS {
                if foff % 4 == 0 && (fsize == 4 || fsize == 8) {
                    v[(foff / 4) as usize] = skb_direct(kind, field, foff, fsize);
                }
            }
            for off in skb_writable(kind) {
                v[off / 4] |= DIRECT_STORE;
            }
            Some(v)
        }
        _ => None,
    }
}

/// The flag of [`direct_loads`] entries whose 4-byte stores may go to the shadow.
pub(crate) const DIRECT_STORE: u8 = crate::CTX_DIRECT_STORE;

/// Offsets of the plain fields `kind` may write (`skb_access`'s list, without
/// `queue_mapping`, whose large values are ignored).
fn skb_writable(kind: SkbKind) -> &'static [usize] {
    match kind {
        SkbKind::Tc => &[8, 32, 44, 48, 52, 56, 60, 64, 72],
        SkbKind::SocketFilter => &[48, 52, 56, 60, 64],
        SkbKind::CgroupSkb | SkbKind::Lwt { .. } => &[8, 32, 48, 52, 56, 60, 64],
    }
}

fn skb_kind(t: u32) -> SkbKind {
    match t {
        SOCKET_FILTER => SkbKind::SocketFilter,
        SCHED_CLS | SCHED_ACT => SkbKind::Tc,
        CGROUP_SKB => SkbKind::CgroupSkb,
        _ => SkbKind::Lwt { xmit: t == LWT_XMIT },
    }
}

fn ctx_err(a: &VirtualAccess, off: u32, field: &'static str, reason: &'static str) -> VmError {
    VmError::CtxAccess { pc: a.pc, off, size: a.size, write: !matches!(a.kind, AccessKind::Load { .. }), field, reason }
}

fn xdp_access(x: &Xdp, off: u32, a: VirtualAccess) -> Result<u64, VmError> {
    const NAMES: [&str; 6] = ["data", "data_end", "data_meta", "ingress_ifindex", "rx_queue_index", "egress_ifindex"];
    let field = NAMES[(off / 4) as usize];
    if a.size != 4 || !off.is_multiple_of(4) {
        return Err(ctx_err(&a, off, field, "xdp_md fields are read with 4-byte loads"));
    }
    match a.kind {
        AccessKind::Load { signed: false } => {}
        AccessKind::Load { signed: true } => {
            return Err(ctx_err(&a, off, field, "sign-extending loads of the context are not allowed"))
        }
        _ => return Err(ctx_err(&a, off, field, "xdp_md is read-only")),
    }
    Ok(match off / 4 {
        0 => x.addr(x.data),
        1 => x.addr(x.end),
        2 => x.addr(x.meta),
        3 => x.ingress_ifindex as u64,
        4 => x.rx_queue_index as u64,
        _ => return Err(ctx_err(&a, off, field, "only devmap programs may read egress_ifindex")),
    })
}

/// `(offset, size, name)` of every `__sk_buff` field.
const SKB_FIELDS: &[(u32, u32, &str)] = &[
    (0, 4, "len"),
    (4, 4, "pkt_type"),
    (8, 4, "mark"),
    (12, 4, "queue_mapping"),
    (16, 4, "protocol"),
    (20, 4, "vlan_present"),
    (24, 4, "vlan_tci"),
    (28, 4, "vlan_proto"),
    (32, 4, "priority"),
    (36, 4, "ingress_ifindex"),
    (40, 4, "ifindex"),
    (44, 4, "tc_index"),
    (48, 4, "cb[0]"),
    (52, 4, "cb[1]"),
    (56, 4, "cb[2]"),
    (60, 4, "cb[3]"),
    (64, 4, "cb[4]"),
    (68, 4, "hash"),
    (72, 4, "tc_classid"),
    (76, 4, "data"),
    (80, 4, "data_end"),
    (84, 4, "napi_id"),
    (88, 4, "family"),
    (92, 4, "remote_ip4"),
    (96, 4, "local_ip4"),
    (100, 4, "remote_ip6[0]"),
    (104, 4, "remote_ip6[1]"),
    (108, 4, "remote_ip6[2]"),
    (112, 4, "remote_ip6[3]"),
    (116, 4, "local_ip6[0]"),
    (120, 4, "local_ip6[1]"),
    (124, 4, "local_ip6[2]"),
    (128, 4, "local_ip6[3]"),
    (132, 4, "remote_port"),
    (136, 4, "local_port"),
    (140, 4, "data_meta"),
    (144, 8, "flow_keys"),
    (152, 8, "tstamp"),
    (160, 4, "wire_len"),
    (164, 4, "gso_segs"),
    (168, 8, "sk"),
    (176, 4, "gso_size"),
    (180, 1, "tstamp_type"),
    (181, 3, "(padding)"),
    (184, 8, "hwtstamp"),
];

/// Whether program type `kind` may not touch `field` at all.
fn skb_denied(kind: SkbKind, field: &str, foff: u32) -> bool {
    let denied: &[&str] = match kind {
        SkbKind::SocketFilter => &["tc_classid", "data", "data_meta", "data_end", "tstamp", "wire_len", "hwtstamp"],
        SkbKind::CgroupSkb => &["tc_classid", "data_meta", "wire_len"],
        SkbKind::Tc => &[],
        SkbKind::Lwt { .. } => &["tc_classid", "data_meta", "wire_len", "tstamp", "hwtstamp"],
    };
    let sk_fields = (88..140).contains(&foff);
    denied.contains(&field) || (sk_fields && kind != SkbKind::CgroupSkb)
}

/// The value of a 4-byte `__sk_buff` field other than the packet pointers.
fn skb_read_u32(s: &Skb, field: &str, foff: u32) -> u32 {
    match field {
        "len" => s.len as u32,
        "pkt_type" => s.pkt_type,
        "mark" => s.own(8),
        "queue_mapping" => s.queue_mapping,
        "protocol" => s.protocol,
        "priority" => s.own(32),
        "ingress_ifindex" => s.ingress_ifindex,
        "ifindex" => s.ifindex,
        "tc_index" => s.own(44),
        "hash" => s.hash,
        "tc_classid" => s.own(72),
        "family" => s.family,
        "remote_ip4" => s.remote_ip4,
        "local_ip4" => s.local_ip4,
        "wire_len" => s.wire_len,
        "gso_segs" => s.gso_segs,
        "gso_size" => s.gso_size,
        f if f.starts_with("cb[") => s.own(foff),
        f if f.starts_with("remote_ip6[") => s.remote_ip6[((foff - 100) / 4) as usize],
        f if f.starts_with("local_ip6[") => s.local_ip6[((foff - 116) / 4) as usize],
        "vlan_present" => s.vlan.is_some() as u32,
        "vlan_tci" => s.vlan.map_or(0, |v| v.1 as u32),
        "vlan_proto" => s.vlan.map_or(0, |v| v.0 as u32),
        _ => 0, // napi_id, ports: 0 on the test device
    }
}

/// Fields whose whole-field loads read the shadow directly: the packet pointers,
/// the timestamps and the plain 4-byte fields (not `sk`, `flow_keys`,
/// `tstamp_type` or padding).
fn skb_direct(kind: SkbKind, field: &str, foff: u32, fsize: u32) -> u8 {
    if skb_denied(kind, field, foff) || matches!(field, "flow_keys" | "(padding)" | "sk" | "tstamp_type") {
        return 0;
    }
    fsize as u8
}

fn skb_access(s: &mut Skb, off: u32, a: VirtualAccess) -> Result<u64, VmError> {
    let Some(&(foff, fsize, field)) = SKB_FIELDS.iter().find(|(o, n, _)| (*o..*o + *n).contains(&off)) else {
        return Err(ctx_err(&a, off, "?", "no __sk_buff field at this offset"));
    };
    let kind = s.kind;
    if skb_denied(kind, field, foff) {
        return Err(ctx_err(&a, off, field, "not accessible to this program type"));
    }
    let (write, signed) = match a.kind {
        AccessKind::Load { signed } => (None, signed),
        AccessKind::Store(v) => (Some(v), false),
        AccessKind::Atomic => return Err(ctx_err(&a, off, field, "atomic operations on the context are not allowed")),
    };
    let size = a.size as u32;
    match field {
        "flow_keys" | "(padding)" => return Err(ctx_err(&a, off, field, "not accessible")),
        "sk" => return Err(ctx_err(&a, off, field, "socket pointers are not supported by bpfbox")),
        "data" | "data_end" | "data_meta" => {
            if write.is_some() {
                return Err(ctx_err(&a, off, field, "read-only field"));
            }
            if size != 4 || off != foff || signed {
                return Err(ctx_err(&a, off, field, "packet pointers are read with 4-byte loads"));
            }
            let d = s.data_addr();
            return Ok(match field {
                "data_end" => d + s.len as u64,
                _ => d,
            });
        }
        "tstamp" | "hwtstamp" => {
            if size != 8 || off != foff {
                return Err(ctx_err(&a, off, field, "timestamps are accessed with 8-byte loads and stores"));
            }
            return match (field, write) {
                ("tstamp", Some(v)) if matches!(kind, SkbKind::Tc | SkbKind::CgroupSkb) => {
                    s.tstamp = v;
                    s.sync_shadow();
                    Ok(0)
                }
                (_, Some(_)) => Err(ctx_err(&a, off, field, "read-only field")),
                ("tstamp", None) => Ok(s.tstamp),
                _ => Ok(s.hwtstamp),
            };
        }
        "tstamp_type" => {
            if kind != SkbKind::Tc || write.is_some() || size != 1 {
                return Err(ctx_err(&a, off, field, "only tc programs read tstamp_type, with 1-byte loads"));
            }
            return Ok(0);
        }
        _ => {}
    }
    if !off.is_multiple_of(size) {
        return Err(ctx_err(&a, off, field, "misaligned context access"));
    }
    if let Some(v) = write {
        let writable: &[&str] = match kind {
            SkbKind::Tc => &["mark", "tc_index", "priority", "tc_classid", "queue_mapping", "cb"],
            SkbKind::SocketFilter => &["cb"],
            SkbKind::CgroupSkb | SkbKind::Lwt { .. } => &["mark", "priority", "cb"],
        };
        let base = field.split('[').next().unwrap_or(field);
        if !writable.contains(&base) {
            return Err(ctx_err(&a, off, field, "read-only field"));
        }
        if size != 4 || off != foff {
            return Err(ctx_err(&a, off, field, "context fields are written with 4-byte stores"));
        }
        let v = v as u32;
        match field {
            "mark" | "tc_index" | "priority" | "tc_classid" => s.set_own(foff, v),
            "queue_mapping" => {
                // The kernel ignores NO_QUEUE_MAPPING (0xffff) and above.
                if v < 0xffff {
                    s.queue_mapping = v;
                }
            }
            _ => s.set_own(foff, v),
        }
        s.sync_shadow();
        return Ok(0);
    }
    if size > fsize {
        return Err(ctx_err(&a, off, field, "load wider than the field"));
    }
    let v = skb_read_u32(s, field, foff);
    let shift = (off - foff) * 8;
    let mask = if size == 4 { u32::MAX } else { (1u32 << (size * 8)) - 1 };
    Ok(((v >> shift) & mask) as u64)
}

#[cfg(test)]
mod shadow_tests {
    use super::*;
    use crate::runtime::TestRunInput;

    fn shadow_slot(ctx: &Ctx, i: usize) -> u64 {
        // SAFETY: r1 points at the shadow, one slot per 4 context bytes.
        unsafe { *(std::ptr::with_exposed_provenance::<u64>(ctx.r1() as usize)).add(i) }
    }

    fn load(ctx: &mut Ctx, off: u32, size: u8) -> Result<u64, VmError> {
        let addr = ctx.r1() + off as u64;
        ctx.access(VirtualAccess { pc: 0, addr, size, kind: AccessKind::Load { signed: false } }).unwrap()
    }

    /// Every slot a direct load may read holds what `Ctx::access` returns for that
    /// load, at the start and after writes through `access` and packet changes.
    fn check(ctx: &mut Ctx, table: &[u8], what: &str) {
        let mut checked = 0;
        for (i, &n) in table.iter().enumerate() {
            let n = n & !DIRECT_STORE;
            if n == 0 {
                continue;
            }
            let want = load(ctx, 4 * i as u32, n).unwrap_or_else(|e| panic!("{what}: slot {i}: {e}"));
            // SAFETY: r1 points at the shadow, `table.len()` slots of 8 bytes.
            let got = unsafe { *(std::ptr::with_exposed_provenance::<u64>(ctx.r1() as usize)).add(i) };
            assert_eq!(got, want, "{what}: slot {i} (offset {})", 4 * i);
            checked += 1;
        }
        assert!(checked >= 5, "{what}: only {checked} direct fields");
    }

    #[test]
    fn the_shadow_equals_what_context_accesses_return() {
        let packet: Vec<u8> = (0..100u8).map(|b| if b == 12 { 8 } else { b }).collect();
        for t in [XDP, SCHED_CLS, SCHED_ACT, SOCKET_FILTER, CGROUP_SKB, LWT_IN, LWT_OUT, LWT_XMIT] {
            let table = direct_loads(t).unwrap();
            let mut ctx_in = vec![0u8; SKB_SIZE];
            ctx_in[8..12].copy_from_slice(&7u32.to_le_bytes()); // mark
            ctx_in[48..52].copy_from_slice(&0xabcdu32.to_le_bytes()); // cb[0]
            ctx_in[152..160].copy_from_slice(&99u64.to_le_bytes()); // tstamp
            let input =
                TestRunInput { data_in: packet.clone(), ctx_in: (t != XDP).then_some(ctx_in), ..Default::default() };
            let mut ctx = Ctx::new(t, &input).unwrap();
            let name = prog_type_name(t);
            check(&mut ctx, &table, &name);
            // A write through the slow path (mark where writable, else cb[0]).
            let store = |ctx: &mut Ctx, off: u32, v: u64| {
                let addr = ctx.r1() + off as u64;
                ctx.access(VirtualAccess { pc: 0, addr, size: 4, kind: AccessKind::Store(v) })
            };
            if let Some(Ok(_)) = store(&mut ctx, 8, 0x1234) {
                assert_eq!(load(&mut ctx, 8, 4).unwrap(), 0x1234);
            }
            let _ = store(&mut ctx, 48, 0x5678);
            check(&mut ctx, &table, &format!("{name} after stores"));
            // A direct store writes the slot's low half: the same as a store through
            // `access`, which must succeed and change nothing else.
            for (i, &n) in table.iter().enumerate() {
                if n & DIRECT_STORE == 0 {
                    continue;
                }
                let before: Vec<u64> = table.iter().enumerate().map(|(j, _)| shadow_slot(&ctx, j)).collect();
                store(&mut ctx, 4 * i as u32, 0xfeed_0000 + i as u64).unwrap().unwrap();
                for (j, b) in before.iter().enumerate() {
                    let want = if j == i { 0xfeed_0000 + i as u64 } else { *b };
                    assert_eq!(shadow_slot(&ctx, j), want, "{name}: store to slot {i} changed slot {j}");
                }
            }
            // Packet geometry changes as helpers make them.
            match &mut ctx {
                Ctx::Xdp(x) => {
                    x.data += 14;
                    x.sync_shadow();
                }
                Ctx::Skb(s) => {
                    s.push_head(8);
                    s.set_len(s.len + 32);
                    s.sync_shadow();
                }
                _ => unreachable!(),
            }
            check(&mut ctx, &table, &format!("{name} after a packet change"));
        }
    }
}
