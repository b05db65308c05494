//! Socket structures as BPF programs see them (`struct bpf_sock`, its
//! `bpf_sock_common` subset, `struct bpf_tcp_sock`, `struct bpf_xdp_sock`): which
//! loads the kernel allows through the socket pointer types (`check_sock_access`
//! with `bpf_sock_is_valid_access`, `bpf_sock_common_is_valid_access`,
//! `bpf_tcp_sock_is_valid_access` and `bpf_xdp_sock_is_valid_access` of
//! `net/core/filter.c`), and which socket pointers a helper argument takes
//! (`compatible_reg_types` of `kernel/bpf/verifier.c`).

use bpfbox_abi::ArgKind;

use crate::state::{RegState, RegType};

/// The socket pointer types (`PTR_TO_SOCKET`, `PTR_TO_SOCK_COMMON`,
/// `PTR_TO_TCP_SOCK`, `PTR_TO_XDP_SOCK`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SockKind {
    Sock,
    SockCommon,
    TcpSock,
    XdpSock,
}

impl SockKind {
    /// The kernel's `reg_type_str`.
    pub fn name(self) -> &'static str {
        match self {
            SockKind::Sock => "sock",
            SockKind::SockCommon => "sock_common",
            SockKind::TcpSock => "tcp_sock",
            SockKind::XdpSock => "xdp_sock",
        }
    }
}

/// `bpf_ctx_narrow_access_ok`: a power-of-two size no wider than the field.
pub fn narrow_ok(size: u32, field: u32) -> bool {
    size <= field && size.is_power_of_two()
}

/// `struct bpf_sock` field offsets (80 bytes).
pub mod bpf_sock {
    pub const BOUND_DEV_IF: i64 = 0;
    pub const FAMILY: i64 = 4;
    pub const TYPE: i64 = 8;
    pub const PROTOCOL: i64 = 12;
    pub const MARK: i64 = 16;
    pub const PRIORITY: i64 = 20;
    pub const SRC_IP4: i64 = 24;
    pub const SRC_IP6: i64 = 28;
    pub const SRC_PORT: i64 = 44;
    pub const DST_PORT: i64 = 48;
    pub const DST_IP4: i64 = 52;
    pub const DST_IP6: i64 = 56;
    pub const STATE: i64 = 72;
    pub const RX_QUEUE_MAPPING: i64 = 76;
    pub const SIZE: i64 = 80;
}

/// `bpf_sock_is_valid_access`: `size` bytes at `off` of a `struct bpf_sock`.
pub fn sock_ok(off: i64, size: u32) -> bool {
    use bpf_sock::*;
    if !(0..SIZE).contains(&off) || off % size as i64 != 0 {
        return false;
    }
    match off {
        // Narrow loads: at the start of these fields only, anywhere in the addresses.
        FAMILY | TYPE | PROTOCOL | SRC_PORT | STATE | RX_QUEUE_MAPPING => narrow_ok(size, 4),
        SRC_IP4..=43 | DST_IP4..=71 => narrow_ok(size, 4),
        // dst_port is a 16-bit field: 4-byte loads of it, or loads within it.
        48..=49 => narrow_ok(size, if size == 4 { 4 } else { 2 }),
        // The padding after dst_port.
        50..=51 => false,
        _ => size == 4,
    }
}

/// `bpf_sock_common_is_valid_access`: `struct bpf_sock` without type..priority.
pub fn sock_common_ok(off: i64, size: u32) -> bool {
    !(bpf_sock::TYPE..bpf_sock::SRC_IP4).contains(&off) && sock_ok(off, size)
}

/// `bpf_tcp_sock_is_valid_access`: up to `icsk_retransmits` (112 bytes); the
/// byte counters (80, 88) are 8 bytes wide, the rest 4.
pub fn tcp_sock_ok(off: i64, size: u32) -> bool {
    if !(0..112).contains(&off) || off % size as i64 != 0 {
        return false;
    }
    match off {
        80 | 88 => size == 8,
        _ => size == 4,
    }
}

/// Whether a load of `size` bytes at `off` through a `kind` pointer is allowed.
pub fn load_ok(kind: SockKind, off: i64, size: u32) -> bool {
    match kind {
        SockKind::Sock => sock_ok(off, size),
        SockKind::SockCommon => sock_common_ok(off, size),
        SockKind::TcpSock => tcp_sock_ok(off, size),
        // struct bpf_xdp_sock: queue_id only.
        SockKind::XdpSock => off == 0 && size == 4,
    }
}

/// `check_mem_access` through a socket pointer `base` in R`regno`: `Err` holds the
/// kernel's message.
pub fn access(base: &RegState, kind: SockKind, regno: usize, off: i64, size: u32, write: bool) -> Result<(), String> {
    if base.maybe_null {
        return Err(format!("R{regno} invalid mem access '{}'", base.type_str()));
    }
    if write {
        return Err(format!("R{regno} cannot write into {}", kind.name()));
    }
    if base.var.smin < 0 {
        return Err(format!("R{regno} min value is negative, either use unsigned index or do a if (index >=0) check."));
    }
    if !load_ok(kind, off, size) {
        return Err(format!("R{regno} invalid {} access off={off} size={size}", kind.name()));
    }
    // bpf_tcp_sock_is_valid_access lets 4-byte loads into the upper halves of the
    // 8-byte counters through, and bpf_tcp_sock_convert_ctx_access has nothing for
    // them: the kernel fails the program when it converts the access.
    if kind == SockKind::TcpSock && matches!(off, 84 | 92) {
        return Err("verifier bug: error during ctx access conversion (0)".into());
    }
    Ok(())
}

const SOCK_TYPES: &str = "sock_common, sock, tcp_sock, xdp_sock";

/// `check_reg_type` for the socket arguments (and plain BTF pointers): `Err` holds
/// the expected types as the kernel lists them.
pub fn arg_ok(kind: ArgKind, maybe_null_ok: bool, reg: &RegState) -> Result<(), &'static str> {
    let nullable = !reg.maybe_null || maybe_null_ok;
    let sock = match reg.ty {
        RegType::Sock(k) if nullable => Some(k),
        _ => None,
    };
    match kind {
        ArgKind::PtrToSockCommon => sock.map(|_| ()).ok_or(SOCK_TYPES),
        ArgKind::PtrToSocket => match sock {
            Some(SockKind::Sock) => Ok(()),
            _ => Err("sock"),
        },
        ArgKind::PtrToBtfIdSockCommon => {
            if sock.is_some() || (reg.ty == RegType::BtfId && nullable) {
                Ok(())
            } else {
                Err("sock_common, sock, tcp_sock, xdp_sock, ptr_, trusted_ptr_")
            }
        }
        // PTR_TO_BTF_ID arguments: bpfbox checks only that a pointer comes.
        _ => {
            if reg.is_ptr() && nullable {
                Ok(())
            } else {
                Err("ptr_")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bpf_sock_fields() {
        assert!(sock_ok(4, 4) && sock_ok(4, 2) && sock_ok(4, 1));
        assert!(!sock_ok(5, 1) && !sock_ok(6, 2));
        assert!(sock_ok(25, 1) && sock_ok(30, 2) && sock_ok(59, 1));
        assert!(sock_ok(48, 4) && sock_ok(48, 2) && sock_ok(49, 1));
        assert!(!sock_ok(50, 2) && !sock_ok(51, 1));
        assert!(!sock_ok(0, 8) && !sock_ok(0, 2) && !sock_ok(80, 4) && !sock_ok(-4, 4));
        assert!(sock_common_ok(0, 4) && !sock_common_ok(8, 4) && !sock_common_ok(20, 4) && sock_common_ok(24, 4));
        assert!(tcp_sock_ok(80, 8) && !tcp_sock_ok(80, 4) && tcp_sock_ok(108, 4) && !tcp_sock_ok(112, 4));
    }
}
