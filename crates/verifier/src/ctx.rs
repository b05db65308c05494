//! Which context fields each program type may read or write, and what a load
//! from them yields (`*_is_valid_access` of `net/core/filter.c`,
//! `kernel/bpf/cgroup.c`, `net/netfilter/nf_bpf_link.c` and
//! `kernel/trace/bpf_trace.c`, x86-64 layouts).

use bpfbox_abi::prog_types::ProgType;

use crate::sock::{self, narrow_ok, SockKind};

/// What a valid context load produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CtxValue {
    Scalar,
    Packet,
    PacketMeta,
    PacketEnd,
    /// A socket pointer (`__sk_buff->sk`: `sock_common_or_null`).
    Sock {
        kind: SockKind,
        or_null: bool,
    },
    /// A kernel pointer or integer argument typed by BTF (tracing programs).
    BtfArg,
    /// A trusted pointer to the named kernel struct (`bpf_nf_ctx`).
    BtfStruct(&'static str),
}

/// `struct __sk_buff` field offsets.
mod skb {
    pub const MARK: i64 = 8;
    pub const QUEUE_MAPPING: i64 = 12;
    pub const PRIORITY: i64 = 32;
    pub const TC_INDEX: i64 = 44;
    pub const CB: i64 = 48;
    pub const CB_END: i64 = 68;
    pub const TC_CLASSID: i64 = 72;
    pub const DATA: i64 = 76;
    pub const DATA_END: i64 = 80;
    pub const FAMILY: i64 = 88;
    pub const REMOTE_IP4: i64 = 92;
    pub const LOCAL_IP6_END: i64 = 132;
    pub const LOCAL_PORT_END: i64 = 140;
    pub const DATA_META: i64 = 140;
    pub const FLOW_KEYS: i64 = 144;
    pub const TSTAMP: i64 = 152;
    pub const WIRE_LEN: i64 = 160;
    pub const SK: i64 = 168;
    pub const TSTAMP_TYPE: i64 = 180;
    pub const HWTSTAMP: i64 = 184;
    pub const SIZE: i64 = 192;
}

fn in_field(off: i64, start: i64, len: i64) -> bool {
    off >= start && off < start + len
}

/// `bpf_skb_is_valid_access`.
fn skb_common(off: i64, size: i64, write: bool) -> Option<CtxValue> {
    use skb::*;
    if !(0..SIZE).contains(&off) || off % size != 0 {
        return None;
    }
    if in_field(off, CB, CB_END - CB) {
        return (off + size <= CB_END).then_some(CtxValue::Scalar);
    }
    if in_field(off, REMOTE_IP4, LOCAL_IP6_END - REMOTE_IP4) {
        return (size == 4).then_some(CtxValue::Scalar);
    }
    for (f, v) in [(DATA, CtxValue::Packet), (DATA_META, CtxValue::PacketMeta), (DATA_END, CtxValue::PacketEnd)] {
        if in_field(off, f, 4) {
            return (size == 4).then_some(v);
        }
    }
    if in_field(off, FLOW_KEYS, 8) {
        return None;
    }
    if in_field(off, HWTSTAMP, 8) {
        return (!write && size == 8).then_some(CtxValue::Scalar);
    }
    if in_field(off, TSTAMP, 8) {
        return (size == 8).then_some(CtxValue::Scalar);
    }
    if in_field(off, SK, 8) {
        return (!write && size == 8 && off == SK)
            .then_some(CtxValue::Sock { kind: SockKind::SockCommon, or_null: true });
    }
    if in_field(off, TSTAMP_TYPE, HWTSTAMP - TSTAMP_TYPE) {
        return None;
    }
    if write {
        return (size == 4).then_some(CtxValue::Scalar);
    }
    (size <= 4).then_some(CtxValue::Scalar)
}

fn writable(off: i64, fields: &[(i64, i64)]) -> bool {
    fields.iter().any(|&(s, l)| in_field(off, s, l))
}

/// Whether `size` bytes at `off` of the context of `prog_type` may be read
/// (`write == false`) or written, and what a read yields. `None`: the kernel says
/// `invalid bpf_context access`.
pub fn access(prog_type: ProgType, expected_attach: Option<u32>, off: i64, size: u32, write: bool) -> Option<CtxValue> {
    use skb::*;
    let size_i = size as i64;
    match prog_type {
        ProgType::Xdp => {
            if write || !(0..24).contains(&off) || off % size_i != 0 || size != 4 {
                return None;
            }
            // egress_ifindex: only for devmap programs (BPF_XDP_DEVMAP = 33).
            if off == 20 && expected_attach != Some(33) {
                return None;
            }
            Some(match off {
                0 => CtxValue::Packet,
                4 => CtxValue::PacketEnd,
                8 => CtxValue::PacketMeta,
                _ => CtxValue::Scalar,
            })
        }
        ProgType::SchedCls | ProgType::SchedAct => {
            if write
                && !writable(
                    off,
                    &[
                        (MARK, 4),
                        (TC_INDEX, 4),
                        (PRIORITY, 4),
                        (TC_CLASSID, 4),
                        (CB, CB_END - CB),
                        (TSTAMP, 8),
                        (QUEUE_MAPPING, 4),
                    ],
                )
            {
                return None;
            }
            if in_field(off, FAMILY, LOCAL_PORT_END - FAMILY) {
                return None;
            }
            if off == TSTAMP_TYPE {
                return (size == 1).then_some(CtxValue::Scalar);
            }
            skb_common(off, size_i, write)
        }
        ProgType::LwtIn | ProgType::LwtOut | ProgType::LwtXmit | ProgType::LwtSeg6local => {
            // lwt_is_valid_access.
            let banned = [
                (TC_CLASSID, 4),
                (FAMILY, LOCAL_PORT_END - FAMILY),
                (DATA_META, 4),
                (TSTAMP, 8),
                (WIRE_LEN, 4),
                (HWTSTAMP, 8),
            ];
            if writable(off, &banned) || (write && !writable(off, &[(MARK, 4), (PRIORITY, 4), (CB, CB_END - CB)])) {
                return None;
            }
            skb_common(off, size_i, write)
        }
        ProgType::SkSkb => {
            // sk_skb_is_valid_access.
            let banned = [(TC_CLASSID, 4), (DATA_META, 4), (TSTAMP, 8), (WIRE_LEN, 4), (HWTSTAMP, 8), (MARK, 4)];
            if writable(off, &banned) || (write && !writable(off, &[(TC_INDEX, 4), (PRIORITY, 4)])) {
                return None;
            }
            skb_common(off, size_i, write)
        }
        ProgType::CgroupSockAddr => sock_addr(expected_attach, off, size, write),
        ProgType::SockOps => sock_ops(off, size, write),
        ProgType::CgroupSockopt => sockopt(expected_attach, off, size, write),
        ProgType::SkReuseport => reuseport(off, size, write),
        ProgType::SkMsg => sk_msg(off, size, write),
        ProgType::SkLookup => sk_lookup(off, size, write),
        ProgType::Netfilter => {
            // nf_is_valid_access: struct bpf_nf_ctx { state; skb; }, read-only.
            if write || !(0..16).contains(&off) || off % size_i != 0 || size != 8 {
                return None;
            }
            Some(CtxValue::BtfStruct(if off == 0 { "nf_hook_state" } else { "sk_buff" }))
        }
        ProgType::SocketFilter => {
            let banned = [
                (TC_CLASSID, 4),
                (DATA, 4),
                (DATA_META, 4),
                (DATA_END, 4),
                (FAMILY, LOCAL_PORT_END - FAMILY),
                (TSTAMP, 8),
                (WIRE_LEN, 4),
                (HWTSTAMP, 8),
            ];
            if writable(off, &banned) {
                return None;
            }
            if write && !writable(off, &[(CB, CB_END - CB)]) {
                return None;
            }
            skb_common(off, size_i, write)
        }
        ProgType::CgroupSkb => {
            if writable(off, &[(TC_CLASSID, 4), (DATA_META, 4), (WIRE_LEN, 4)]) {
                return None;
            }
            if write && !writable(off, &[(MARK, 4), (PRIORITY, 4), (CB, CB_END - CB), (TSTAMP, 8)]) {
                return None;
            }
            skb_common(off, size_i, write)
        }
        ProgType::Kprobe => {
            // struct pt_regs: 168 bytes.
            (!write && (0..168).contains(&off) && off % size_i == 0 && off + size_i <= 168).then_some(CtxValue::Scalar)
        }
        ProgType::Tracepoint => (!write && (8..8192).contains(&off) && off % size_i == 0).then_some(CtxValue::Scalar),
        ProgType::PerfEvent => {
            if write || !(0..184).contains(&off) || off % size_i != 0 {
                return None;
            }
            if off >= 168 {
                return Some(CtxValue::Scalar);
            }
            (size == 8).then_some(CtxValue::Scalar)
        }
        // Raw tracepoint arguments are plain u64s (`raw_tp_prog_is_valid_access`):
        // pointers among them are read with bpf_probe_read_kernel, not dereferenced.
        ProgType::RawTracepoint | ProgType::RawTracepointWritable => {
            (!write && (0..96).contains(&off) && off % size_i == 0).then_some(CtxValue::Scalar)
        }
        ProgType::CgroupSock => cgroup_sock(expected_attach, off, size, write),
        ProgType::Tracing | ProgType::Lsm | ProgType::StructOps | ProgType::Ext => {
            (!write && (0..96).contains(&off) && off % 8 == 0).then_some(CtxValue::BtfArg)
        }
        // Other program types: bpfbox does not model their context yet; reads
        // of aligned fields are allowed as scalars (see the crate's known gaps).
        _ => (off >= 0 && off % size_i == 0).then_some(CtxValue::Scalar),
    }
}

/// `struct bpf_sock` as a `cgroup_sock` context (`sock_filter_is_valid_access`:
/// `bpf_sock_is_valid_access`, then `__sock_filter_check_attach_type`):
/// `bound_dev_if`, `mark` and `priority` only at socket creation/release (attach
/// types 2 and 34; a program loaded without one is a creation program), and
/// writable there; the source address and port only in post_bind (12 and 13); the
/// rest read-only.
fn cgroup_sock(expected_attach: Option<u32>, off: i64, size: u32, write: bool) -> Option<CtxValue> {
    use sock::bpf_sock::*;
    if !sock::sock_ok(off, size) {
        return None;
    }
    // bpf_prog_load_fixup_attach_type: no attach type is BPF_CGROUP_INET_SOCK_CREATE.
    let attach = match expected_attach {
        None | Some(0) => 2,
        Some(a) => a,
    };
    let ok = match off {
        BOUND_DEV_IF | MARK | PRIORITY => matches!(attach, 2 | 34),
        SRC_IP4..=27 => attach == 12 && !write,
        SRC_IP6..=43 => attach == 13 && !write,
        SRC_PORT..=47 => matches!(attach, 12 | 13) && !write,
        _ => !write,
    };
    ok.then_some(CtxValue::Scalar)
}

/// `bpf_ctx_wide_access_ok`: an 8-byte access inside the field `[start, end)`.
fn wide_ok(off: i64, size: u32, start: i64, end: i64) -> bool {
    size == 8 && off >= start && off + 8 <= end && off % 8 == 0
}

/// `struct bpf_sock_addr` (`sock_addr_is_valid_access`, 72 bytes): the addresses of
/// the attach type's family only (msg_src_* in sendmsg only); addresses and port
/// written 4 bytes (8 inside the IPv6 arrays) and read narrowly; user_family,
/// family, type, protocol read-only, 4 bytes; `sk` a socket.
fn sock_addr(expected_attach: Option<u32>, off: i64, size: u32, write: bool) -> Option<CtxValue> {
    const USER_IP4: i64 = 4;
    const USER_IP6: i64 = 8;
    const USER_PORT: i64 = 24;
    const MSG_SRC_IP4: i64 = 40;
    const MSG_SRC_IP6: i64 = 44;
    const SK: i64 = 64;
    if !(0..72).contains(&off) || off % size as i64 != 0 {
        return None;
    }
    // Attach types: inet4/6 bind 8/9, connect 10/11, udp sendmsg 14/15, recvmsg 19/20,
    // getpeername 29/30, getsockname 31/32.
    let a = expected_attach.unwrap_or(u32::MAX);
    let family_ok = match off {
        USER_IP4..=7 => matches!(a, 8 | 10 | 14 | 19 | 29 | 31),
        USER_IP6..=23 => matches!(a, 9 | 11 | 15 | 20 | 30 | 32),
        MSG_SRC_IP4..=43 => a == 14,
        MSG_SRC_IP6..=59 => a == 15,
        _ => true,
    };
    if !family_ok {
        return None;
    }
    let ok = match off {
        USER_IP4..=27 | MSG_SRC_IP4..=59 => {
            wide_ok(off, size, USER_IP6, USER_PORT)
                || wide_ok(off, size, MSG_SRC_IP6, MSG_SRC_IP6 + 16)
                || if write { size == 4 } else { narrow_ok(size, 4) }
        }
        SK..=71 => return (!write && size == 8).then_some(CtxValue::Sock { kind: SockKind::Sock, or_null: false }),
        0..=3 | 28..=39 => !write && size == 4,
        _ => false,
    };
    ok.then_some(CtxValue::Scalar)
}

/// `struct bpf_sock_ops` (`sock_ops_is_valid_access`, 224 bytes): `reply` (4) and
/// `sk_txhash` (164) writable; bytes_received/acked and skb_hwtstamp 8 bytes; `sk`
/// a socket or NULL; `skb_data`/`skb_data_end` packet pointers; narrow loads of
/// `skb_tcp_flags` only; the rest 4 bytes.
fn sock_ops(off: i64, size: u32, write: bool) -> Option<CtxValue> {
    if !(0..224).contains(&off) || off % size as i64 != 0 {
        return None;
    }
    if write {
        return (matches!(off, 4 | 164) && size == 4).then_some(CtxValue::Scalar);
    }
    let (ok, v) = match off {
        168..=183 | 216..=223 => (size == 8, CtxValue::Scalar),
        184..=191 => (size == 8, CtxValue::Sock { kind: SockKind::Sock, or_null: true }),
        192..=199 => (size == 8, CtxValue::Packet),
        200..=207 => (size == 8, CtxValue::PacketEnd),
        212 => (narrow_ok(size, 4), CtxValue::Scalar),
        _ => (size == 4, CtxValue::Scalar),
    };
    ok.then_some(v)
}

/// `struct bpf_sockopt` (`cg_sockopt_is_valid_access`, 40 bytes): `sk` a socket,
/// `optval`/`optval_end` packet pointers; `retval` (36) only for getsockopt (21),
/// written there too; `level`/`optname` (24, 28) written only by setsockopt (22);
/// `optlen` (32) written by both; everything 4 bytes but the pointers.
fn sockopt(expected_attach: Option<u32>, off: i64, size: u32, write: bool) -> Option<CtxValue> {
    if !(0..40).contains(&off) || off % size as i64 != 0 {
        return None;
    }
    let get = expected_attach == Some(21);
    let set = expected_attach == Some(22);
    let (ok, v) = match off {
        _ if write => {
            (size == 4 && (off == 32 || (off == 36 && get) || (matches!(off, 24 | 28) && set)), CtxValue::Scalar)
        }
        // The pointers are 8 bytes wide, their halves no 4-byte fields.
        0..=7 => (size == 8, CtxValue::Sock { kind: SockKind::Sock, or_null: false }),
        8..=15 => (size == 8, CtxValue::Packet),
        16..=23 => (size == 8, CtxValue::PacketEnd),
        36 => (size == 4 && get, CtxValue::Scalar),
        _ => (size == 4, CtxValue::Scalar),
    };
    ok.then_some(v)
}

/// `struct sk_reuseport_md` (`sk_reuseport_is_valid_access`, 56 bytes), read-only:
/// data/data_end packet pointers, `hash` 4 bytes, `sk` a socket, `migrating_sk` a
/// sock_common or NULL; len, ip_protocol, bind_inany narrow, eth_protocol at least 2 bytes.
fn reuseport(off: i64, size: u32, write: bool) -> Option<CtxValue> {
    if write || !(0..56).contains(&off) || off % size as i64 != 0 {
        return None;
    }
    let (ok, v) = match off {
        0 => (size == 8, CtxValue::Packet),
        8 => (size == 8, CtxValue::PacketEnd),
        32 => (size == 4, CtxValue::Scalar),
        40 => (size == 8, CtxValue::Sock { kind: SockKind::Sock, or_null: false }),
        48 => (size == 8, CtxValue::Sock { kind: SockKind::SockCommon, or_null: true }),
        20..=23 => (size >= 2 && narrow_ok(size, 4), CtxValue::Scalar),
        16..=19 | 24..=31 => (narrow_ok(size, 4), CtxValue::Scalar),
        _ => (false, CtxValue::Scalar),
    };
    ok.then_some(v)
}

/// `struct sk_msg_md` (`sk_msg_is_valid_access`, 80 bytes), read-only: data and
/// data_end packet pointers, `sk` a socket, the other fields 4 bytes.
fn sk_msg(off: i64, size: u32, write: bool) -> Option<CtxValue> {
    if write || !(0..80).contains(&off) || off % size as i64 != 0 {
        return None;
    }
    let (ok, v) = match off {
        0..=7 => (size == 8, CtxValue::Packet),
        8..=15 => (size == 8, CtxValue::PacketEnd),
        72..=79 => (size == 8, CtxValue::Sock { kind: SockKind::Sock, or_null: false }),
        _ => (size == 4, CtxValue::Scalar),
    };
    ok.then_some(v)
}

/// `struct bpf_sk_lookup` (`sk_lookup_is_valid_access`, 72 bytes), read-only: `sk`
/// a socket or NULL; narrow loads of the fields; remote_port a 16-bit field (4-byte
/// loads allowed) followed by readable zero padding.
fn sk_lookup(off: i64, size: u32, write: bool) -> Option<CtxValue> {
    if write || !(0..72).contains(&off) || off % size as i64 != 0 {
        return None;
    }
    let (ok, v) = match off {
        0..=7 => (size == 8, CtxValue::Sock { kind: SockKind::Sock, or_null: true }),
        36..=37 => (size == 4 || narrow_ok(size, 2), CtxValue::Scalar),
        38..=39 => (narrow_ok(size, 2), CtxValue::Scalar),
        8..=35 | 40..=67 => (narrow_ok(size, 4), CtxValue::Scalar),
        _ => (false, CtxValue::Scalar),
    };
    ok.then_some(v)
}

/// The range a program type's return value must lie in (`check_return_code`),
/// `None` when the kernel does not check it.
pub fn return_range(prog_type: ProgType, expected_attach: Option<u32>) -> Option<(i32, i32)> {
    match prog_type {
        // BPF_CGROUP_INET_EGRESS = 1 may also return 2 and 3 (congestion notification).
        ProgType::CgroupSkb if expected_attach == Some(1) => Some((0, 3)),
        ProgType::CgroupSkb
        | ProgType::CgroupSock
        | ProgType::SockOps
        | ProgType::CgroupDevice
        | ProgType::CgroupSysctl
        | ProgType::CgroupSockopt
        | ProgType::SkLookup
        | ProgType::Netfilter => Some((0, 1)),
        // recvmsg, getpeername and getsockname must return 1; bind may return 0-3.
        ProgType::CgroupSockAddr => match expected_attach {
            Some(19 | 20 | 29..=32) => Some((1, 1)),
            Some(8 | 9) => Some((0, 3)),
            _ => Some((0, 1)),
        },
        _ => None,
    }
}

/// Whether the program may write packet data (`may_access_direct_pkt_data` for
/// `BPF_WRITE`; `cgroup_sockopt` writes its optval buffer).
pub fn may_write_packet(prog_type: ProgType) -> bool {
    matches!(
        prog_type,
        ProgType::Xdp
            | ProgType::SchedCls
            | ProgType::SchedAct
            | ProgType::LwtXmit
            | ProgType::SkSkb
            | ProgType::SkMsg
            | ProgType::CgroupSockopt
    )
}

/// Whether `LD_ABS`/`LD_IND` may be used (`may_access_skb`).
pub fn may_access_skb(prog_type: ProgType) -> bool {
    matches!(prog_type, ProgType::SocketFilter | ProgType::SchedCls | ProgType::SchedAct)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xdp_fields() {
        assert_eq!(access(ProgType::Xdp, None, 0, 4, false), Some(CtxValue::Packet));
        assert_eq!(access(ProgType::Xdp, None, 4, 4, false), Some(CtxValue::PacketEnd));
        assert_eq!(access(ProgType::Xdp, None, 0, 8, false), None);
        assert_eq!(access(ProgType::Xdp, None, 12, 4, true), None);
        assert_eq!(access(ProgType::Xdp, None, 24, 4, false), None);
        assert_eq!(access(ProgType::Xdp, None, 20, 4, false), None);
    }

    #[test]
    fn skb_fields() {
        assert_eq!(access(ProgType::SchedCls, None, 76, 4, false), Some(CtxValue::Packet));
        assert_eq!(access(ProgType::SchedCls, None, 8, 4, true), Some(CtxValue::Scalar));
        assert_eq!(access(ProgType::SchedCls, None, 0, 4, true), None);
        assert_eq!(access(ProgType::SchedCls, None, 0, 1, false), Some(CtxValue::Scalar));
        assert_eq!(access(ProgType::SchedCls, None, 0, 8, false), None);
        assert_eq!(access(ProgType::SocketFilter, None, 76, 4, false), None);
        assert_eq!(access(ProgType::SocketFilter, None, 48, 4, true), Some(CtxValue::Scalar));
        assert_eq!(access(ProgType::SocketFilter, None, 8, 4, true), None);
        assert_eq!(access(ProgType::CgroupSkb, None, 8, 4, true), Some(CtxValue::Scalar));
        assert_eq!(
            access(ProgType::SchedCls, None, 168, 8, false),
            Some(CtxValue::Sock { kind: SockKind::SockCommon, or_null: true })
        );
    }

    #[test]
    fn tracing_fields() {
        assert_eq!(access(ProgType::Kprobe, None, 160, 8, false), Some(CtxValue::Scalar));
        assert_eq!(access(ProgType::Kprobe, None, 168, 8, false), None);
        assert_eq!(access(ProgType::Kprobe, None, 0, 8, true), None);
        assert_eq!(access(ProgType::Tracepoint, None, 0, 8, false), None);
        assert_eq!(access(ProgType::Tracepoint, None, 8, 8, false), Some(CtxValue::Scalar));
        assert_eq!(return_range(ProgType::CgroupSkb, None), Some((0, 1)));
        assert_eq!(return_range(ProgType::Xdp, None), None);
    }
}
