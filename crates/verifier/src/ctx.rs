//! Which context fields each program type may read or write, and what a load
//! from them yields (`*_is_valid_access` of `net/core/filter.c` and
//! `kernel/trace/bpf_trace.c`, x86-64 layouts).

use bpfbox_abi::prog_types::ProgType;

/// What a valid context load produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CtxValue {
    Scalar,
    Packet,
    PacketMeta,
    PacketEnd,
    /// `struct bpf_sock *` (or NULL), e.g. `__sk_buff->sk`.
    SockOrNull,
    /// A kernel pointer or integer argument typed by BTF (tracing programs).
    BtfArg,
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
        return (!write && size == 8 && off == SK).then_some(CtxValue::SockOrNull);
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
            skb_common(off, size_i, write)
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

/// `struct bpf_sock` as a `cgroup_sock` context (`sock_filter_is_valid_access` and
/// `bpf_sock_is_valid_access`): 80 bytes; `bound_dev_if`, `mark` and `priority`
/// (offsets 0, 16, 20) only at socket creation/release (attach types 2 and 34), and
/// writable there; the source address and port only in post_bind (12 and 13).
fn cgroup_sock(expected_attach: Option<u32>, off: i64, size: u32, write: bool) -> Option<CtxValue> {
    const SRC_IP4: i64 = 24;
    const SRC_IP6: i64 = 28;
    const SRC_PORT: i64 = 44;
    const DST_PORT: i64 = 48;
    const DST_IP4: i64 = 52;
    let create_or_release = matches!(expected_attach, Some(2 | 34));
    let writable = match off {
        0 | 16 | 20 => {
            if !create_or_release {
                return None;
            }
            true
        }
        SRC_IP4..=27 if expected_attach != Some(12) => return None,
        SRC_IP6..=43 if expected_attach != Some(13) => return None,
        SRC_PORT..=47 if !matches!(expected_attach, Some(12 | 13)) => return None,
        _ => false,
    };
    if write && !writable {
        return None;
    }
    let size_i = size as i64;
    if !(0..80).contains(&off) || off % size_i != 0 {
        return None;
    }
    // Fields that allow narrow loads: family, type, protocol (4, 8, 12), src_ip4,
    // src_ip6, src_port, dst_ip4, dst_ip6, state, rx_queue_mapping; dst_port is 16 bits
    // followed by padding.
    let narrow_ok = matches!(off & !3, 4 | 8 | 12 | SRC_IP4..=SRC_PORT | DST_IP4..=76);
    let ok = match off {
        DST_PORT..=49 => size == 4 && off == DST_PORT || size <= 2 && off + size_i <= 50,
        50..=51 => false,
        _ if narrow_ok => size <= 4,
        _ => size == 4,
    };
    ok.then_some(CtxValue::Scalar)
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
        assert_eq!(access(ProgType::SchedCls, None, 168, 8, false), Some(CtxValue::SockOrNull));
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
