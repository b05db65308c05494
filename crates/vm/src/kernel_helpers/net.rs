//! Helpers that ask the host ([`crate::World`]): `bpf_fib_lookup`; and the skb
//! helpers that change what the packet is: `bpf_skb_change_proto`,
//! `bpf_skb_set_tunnel_key` / `bpf_skb_get_tunnel_key` (net/core/filter.c).

use super::*;
use crate::ctx::TunnelInfo;
use crate::world::{FibResult, World};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// `struct bpf_fib_lookup` (64 bytes) field offsets.
const FIB_SIZE: usize = 64;
const F_FAMILY: usize = 0;
const F_TOT_LEN: usize = 6;
const F_IFINDEX: usize = 8;
const F_METRIC: usize = 12;
const F_SRC: usize = 16;
const F_DST: usize = 32;
const F_VLAN: usize = 48;
const F_SMAC: usize = 52;
const F_DMAC: usize = 58;

/// `BPF_FIB_LOOKUP_*` flags.
const LKUP_DIRECT: u64 = 1;
const LKUP_OUTPUT: u64 = 2;
const LKUP_SKIP_NEIGH: u64 = 4;
const LKUP_TBID: u64 = 8;
const LKUP_SRC: u64 = 16;
const LKUP_MARK: u64 = 32;
const LKUP_MASK: u64 = LKUP_DIRECT | LKUP_OUTPUT | LKUP_SKIP_NEIGH | LKUP_TBID | LKUP_SRC | LKUP_MARK;

/// `BPF_FIB_LKUP_RET_*`.
const RET_SUCCESS: u64 = 0;
const RET_BLACKHOLE: u64 = 1;
const RET_UNREACHABLE: u64 = 2;
const RET_PROHIBIT: u64 = 3;
const RET_NOT_FWDED: u64 = 4;
const RET_FWD_DISABLED: u64 = 5;
const RET_NO_NEIGH: u64 = 7;
const RET_FRAG_NEEDED: u64 = 8;
const RET_NO_SRC_ADDR: u64 = 9;

const EAFNOSUPPORT: Errno = Errno(97);
const EPROTO: Errno = Errno(71);
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;
const RT_TABLE_MAIN: u32 = 254;
const IPV6_MIN_MTU: u32 = 1280;
/// `ETH_HLEN + VLAN_HLEN`: what `is_skb_forwardable` allows above the MTU.
const FWD_SLACK: usize = 14 + 4;

fn u32_at(p: &[u8], off: usize) -> u32 {
    u32::from_le_bytes([p[off], p[off + 1], p[off + 2], p[off + 3]])
}

fn put_u32(p: &mut [u8], off: usize, v: u32) {
    p[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

fn addr_at(p: &[u8], off: usize, v6: bool) -> IpAddr {
    if v6 {
        let mut b = [0; 16];
        b.copy_from_slice(&p[off..off + 16]);
        IpAddr::V6(Ipv6Addr::from(b))
    } else {
        IpAddr::V4(Ipv4Addr::new(p[off], p[off + 1], p[off + 2], p[off + 3]))
    }
}

fn put_addr(p: &mut [u8], off: usize, a: IpAddr) {
    match a {
        IpAddr::V4(v) => p[off..off + 4].copy_from_slice(&v.octets()),
        IpAddr::V6(v) => p[off..off + 16].copy_from_slice(&v.octets()),
    }
}

/// `rt6_need_strict`: multicast, link-local and loopback addresses are never forwarded.
fn v6_strict(a: IpAddr) -> bool {
    match a {
        IpAddr::V6(v) => v.is_multicast() || v.is_loopback() || (v.segments()[0] & 0xffc0) == 0xfe80,
        IpAddr::V4(_) => false,
    }
}

/// `bpf_ipv4_fib_lookup` / `bpf_ipv6_fib_lookup` on `p`, against `w`.
fn fib(w: &World, p: &mut [u8], flags: u64, check_mtu: bool, v6: bool) -> u64 {
    let (src, dst) = (addr_at(p, F_SRC, v6), addr_at(p, F_DST, v6));
    if v6 && (v6_strict(dst) || v6_strict(src)) {
        return RET_NOT_FWDED;
    }
    let ifindex = u32_at(p, F_IFINDEX);
    let Some(dev) = w.interface(ifindex) else { return Errno::ENODEV.ret() };
    if !dev.forwarding {
        return RET_FWD_DISABLED;
    }
    // IPv4 lookups only take routes through the output interface; IPv6 ones merely
    // prefer them (rt6_score_route without RT6_LOOKUP_F_IFACE).
    let oif = (flags & LKUP_OUTPUT != 0 && !v6).then_some(ifindex);
    let direct = flags & LKUP_DIRECT != 0;
    if direct && flags & LKUP_TBID != 0 {
        let tbid = u32_at(p, F_VLAN);
        put_u32(p, F_VLAN, 0);
        // Only the main table exists in a world.
        if tbid != RT_TABLE_MAIN {
            return RET_NOT_FWDED;
        }
    }
    let (out, via, metric) = match w.lookup(dst, direct, oif) {
        FibResult::Unicast { dev, via, metric } => (dev, via, metric),
        FibResult::Blackhole => return RET_BLACKHOLE,
        FibResult::Unreachable => return RET_UNREACHABLE,
        FibResult::Prohibit => return RET_PROHIBIT,
        FibResult::NotForwarded => return RET_NOT_FWDED,
    };
    let Some(odev) = w.interface(out) else { return RET_NOT_FWDED };
    let mut mtu = 0;
    if check_mtu {
        mtu = if v6 { odev.mtu.max(IPV6_MIN_MTU) } else { odev.mtu };
        if u16::from_le_bytes([p[F_TOT_LEN], p[F_TOT_LEN + 1]]) as u32 > mtu {
            p[F_TOT_LEN..F_TOT_LEN + 2].copy_from_slice(&(mtu as u16).to_le_bytes());
            return RET_FRAG_NEEDED;
        }
    }
    let next_hop = via.unwrap_or(dst);
    put_addr(p, F_DST, next_hop);
    put_u32(p, F_METRIC, metric);
    put_u32(p, F_IFINDEX, out);
    if flags & LKUP_SRC != 0 {
        match w.source_addr(out, v6) {
            Some(a) => put_addr(p, F_SRC, a),
            None if v6 => return RET_NO_SRC_ADDR,
            None => put_addr(p, F_SRC, IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        }
    }
    if flags & LKUP_SKIP_NEIGH == 0 {
        match w.neighbour(out, next_hop) {
            Some(n) if n.nud.valid() => {
                p[F_DMAC..F_DMAC + 6].copy_from_slice(&n.mac);
                p[F_SMAC..F_SMAC + 6].copy_from_slice(&odev.mac);
            }
            _ => return RET_NO_NEIGH,
        }
    }
    // bpf_fib_set_fwd_params
    p[F_VLAN..F_VLAN + 4].fill(0);
    if mtu != 0 {
        p[F_TOT_LEN..F_TOT_LEN + 2].copy_from_slice(&(mtu as u16).to_le_bytes());
    }
    RET_SUCCESS
}

/// `bpf_fib_lookup` (XDP and skb programs): a route lookup in the run's world.
pub(super) fn fib_lookup(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let (plen, flags) = (a[2] as u32 as i32, a[3] as u32 as u64);
    ensure_ctx(c, a[0])?;
    if plen < FIB_SIZE as i32 || flags & !LKUP_MASK != 0 {
        return err(Errno::EINVAL);
    }
    let mut p = read_vec(c, a[1], FIB_SIZE)?;
    let s = st(c)?;
    let world = s.shared.opts.world.clone();
    // XDP always checks the MTU; skb programs when tot_len is given, else the skb
    // against the output device's MTU afterwards.
    let skb_len = match &s.ctx {
        Ctx::Xdp(_) => None,
        Ctx::Skb(k) => Some(k.len),
        _ => return Err(fail_at(c, "fib_lookup needs an XDP or __sk_buff context")),
    };
    let check_mtu = skb_len.is_none() || u16::from_le_bytes([p[F_TOT_LEN], p[F_TOT_LEN + 1]]) != 0;
    let mut rc = match p[F_FAMILY] {
        AF_INET => fib(&world, &mut p, flags, check_mtu, false),
        AF_INET6 => fib(&world, &mut p, flags, check_mtu, true),
        _ => EAFNOSUPPORT.ret(),
    };
    if let (RET_SUCCESS, Some(len), false) = (rc, skb_len, check_mtu) {
        if let Some(dev) = world.interface(u32_at(&p, F_IFINDEX)) {
            if len > dev.mtu as usize + FWD_SLACK {
                rc = RET_FRAG_NEEDED;
            }
            p[F_TOT_LEN..F_TOT_LEN + 2].copy_from_slice(&(dev.mtu as u16).to_le_bytes());
        }
    }
    c.write(a[1], &p)?;
    ret(rc)
}

/// `BPF_MTU_CHK_SEGS`; `BPF_MTU_CHK_RET_SUCCESS`, `BPF_MTU_CHK_RET_FRAG_NEEDED`.
const MTU_CHK_SEGS: u64 = 1;
const MTU_RET_FRAG_NEEDED: u64 = 1;
/// `hard_header_len` of the world's interfaces (Ethernet, loopback alike).
const HARD_HEADER_LEN: i64 = 14;

/// `bpf_check_mtu(ctx, ifindex, *mtu_len, len_diff, flags)`: whether the packet (or
/// `*mtu_len` bytes of L3, when not 0), changed by `len_diff`, fits the MTU of
/// interface `ifindex` (0: the packet's own); `*mtu_len` gets that MTU.
pub(super) fn check_mtu(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let (ifindex, mtu_addr, len_diff, flags) = (a[1] as u32, a[2], a[3] as i32 as i64, a[4]);
    ensure_ctx(c, a[0])?;
    let given = c.read_u32(mtu_addr)?;
    let s = st(c)?;
    let (own, len, xdp) = match &s.ctx {
        Ctx::Xdp(x) => (x.ingress_ifindex, (x.end - x.data) as i64, true),
        Ctx::Skb(k) => (k.ifindex, k.len as i64, false),
        _ => return Err(fail_at(c, "check_mtu needs an XDP or __sk_buff context")),
    };
    let allowed = if xdp { 0 } else { MTU_CHK_SEGS };
    if flags & !allowed != 0 || (flags & MTU_CHK_SEGS != 0 && (len_diff != 0 || given != 0)) {
        return err(Errno::EINVAL);
    }
    let world = s.shared.opts.world.clone();
    let Some(dev) = world.interface(if ifindex == 0 { own } else { ifindex }) else { return err(Errno::ENODEV) };
    let mtu = dev.mtu as i64;
    let pkt = if given != 0 { given as i64 + HARD_HEADER_LEN } else { len } + len_diff;
    let rc = if pkt > mtu + HARD_HEADER_LEN { MTU_RET_FRAG_NEEDED } else { 0 };
    c.write(mtu_addr, &(mtu as u32).to_le_bytes())?;
    ret(rc)
}

/// `bpf_skb_change_proto`: IPv4 <-> IPv6, making or taking 20 bytes of room right
/// after the MAC header (zeroed when made); the program rewrites the headers.
pub(super) fn skb_change_proto(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    const IPV4: u32 = 0x0008;
    const IPV6: u32 = 0xdd86;
    const DIFF: usize = 20;
    let (proto, flags) = (a[1] as u16 as u32, a[2]);
    let r = with_skb(c, a[0], |k, mem| {
        if flags != 0 {
            return Errno::EINVAL.ret();
        }
        let off = k.network_off;
        let r = match (k.protocol, proto) {
            (IPV4, IPV6) => {
                if k.len + DIFF > crate::ctx::SKB_MAX_ALLOC {
                    Errno::ENOMEM.ret()
                } else {
                    k.push_head(DIFF);
                    k.data_mut().copy_within(DIFF..DIFF + off, 0);
                    k.data_mut()[off..off + DIFF].fill(0);
                    k.protocol = IPV6;
                    k.hash = 0;
                    0
                }
            }
            (IPV6, IPV4) => {
                if k.len < off + DIFF {
                    Errno::ENOMEM.ret()
                } else {
                    k.data_mut().copy_within(0..off, DIFF);
                    k.head += DIFF;
                    k.len -= DIFF;
                    k.protocol = IPV4;
                    k.hash = 0;
                    0
                }
            }
            _ => Errno::ENOTSUPP.ret(),
        };
        set_skb_packet(k, mem);
        r
    })?;
    ret(r)
}

/// `bpf_skb_load_bytes_relative`: from the MAC (`BPF_HDR_START_MAC`, 0) or network
/// (`BPF_HDR_START_NET`, 1) header; the buffer is zeroed on `-EFAULT`.
pub(super) fn skb_load_bytes_relative(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let (off, len, start) = (a[1] as u32 as usize, a[3] as u32 as usize, a[4] as u32);
    let got = with_skb(c, a[0], |k, _| {
        // The MAC header sits ETH_HLEN before the network header (pulled for the
        // non-tc types, whose data starts at the network header).
        let base = match start {
            0 => (k.head + k.network_off).checked_sub(14)?,
            1 => k.head + k.network_off,
            _ => return None,
        };
        let from = base + off;
        (off <= 0xffff && from + len <= k.head + k.len).then(|| k.buf[from..from + len].to_vec())
    })?;
    bytes_or_efault(c, a[2], got, len)
}

/// `bpf_clone_redirect(skb, ifindex, flags)`: a clone goes to interface `ifindex` of
/// the world (egress, or ingress with `BPF_F_INGRESS`); 0, or `-EINVAL` for unknown
/// flags or interfaces. The clone leaves the run: nothing of it is visible.
pub(super) fn clone_redirect(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let (ifindex, flags) = (a[1] as u32, a[2]);
    with_skb(c, a[0], |_, _| ())?;
    let known = st(c)?.shared.opts.world.interface(ifindex).is_some();
    if flags & !1 != 0 || !known {
        return err(Errno::EINVAL);
    }
    ret(0)
}

/// `bpf_set_hash_invalid`: the skb's hash is cleared (recomputed when next asked for).
pub(super) fn set_hash_invalid(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    with_skb(c, a[0], |k, _| k.hash = 0)?;
    ret(0)
}

/// `ETH_P_8021Q` and `ETH_P_8021AD` as an skb's `__be16` fields read natively.
const VLAN_8021Q: u16 = 0x8100u16.to_be();
const VLAN_8021AD: u16 = 0x88a8u16.to_be();
const VLAN_HLEN: usize = 4;

fn is_vlan(protocol: u32) -> bool {
    protocol == VLAN_8021Q as u32 || protocol == VLAN_8021AD as u32
}

/// `__skb_vlan_pop`: the in-band tag after the MAC addresses goes; its TCI, or
/// `-ENOMEM` when the packet is shorter than a VLAN Ethernet header.
fn vlan_pop_inband(k: &mut crate::ctx::Skb) -> Result<u16, Errno> {
    if k.len < 14 + VLAN_HLEN {
        return Err(Errno::ENOMEM);
    }
    let d = k.data_mut();
    let tci = u16::from_be_bytes([d[14], d[15]]);
    let encap = u16::from_be_bytes([d[16], d[17]]);
    let next2 = [d.get(18).copied(), d.get(19).copied()];
    d.copy_within(0..12, VLAN_HLEN);
    k.head += VLAN_HLEN;
    k.len -= VLAN_HLEN;
    // vlan_set_encap_proto
    let proto: u16 = if encap >= 0x600 {
        encap
    } else if next2 == [Some(0xff), Some(0xff)] {
        1
    } else {
        4
    };
    k.protocol = proto.to_be() as u32;
    Ok(tci)
}

/// `bpf_skb_vlan_push(skb, vlan_proto, vlan_tci)`: the tag goes out of band; one
/// already there moves into the packet first.
pub(super) fn skb_vlan_push(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let (proto, tci) = (a[1] as u16, a[2] as u16);
    let proto = if proto == VLAN_8021Q || proto == VLAN_8021AD { proto } else { VLAN_8021Q };
    let r = with_skb(c, a[0], |k, mem| {
        if let Some((old_proto, old_tci)) = k.vlan {
            k.push_head(VLAN_HLEN);
            let d = k.data_mut();
            d.copy_within(VLAN_HLEN..VLAN_HLEN + 12, 0);
            d[12..14].copy_from_slice(&old_proto.to_ne_bytes());
            d[14..16].copy_from_slice(&old_tci.to_be_bytes());
            k.protocol = old_proto as u32;
        }
        k.vlan = Some((proto, tci));
        set_skb_packet(k, mem);
        0
    })?;
    ret(r)
}

/// `bpf_skb_vlan_pop`: the out-of-band tag goes (else an in-band one); a further
/// in-band tag becomes the out-of-band one.
pub(super) fn skb_vlan_pop(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let r = with_skb(c, a[0], |k, mem| {
        let r = (|| {
            if k.vlan.take().is_none() {
                if !is_vlan(k.protocol) {
                    return Ok(());
                }
                vlan_pop_inband(k)?;
            }
            if !is_vlan(k.protocol) {
                return Ok(());
            }
            let proto = k.protocol as u16;
            let tci = vlan_pop_inband(k)?;
            k.vlan = Some((proto, tci));
            Ok(())
        })();
        set_skb_packet(k, mem);
        r.map_or_else(Errno::ret, |()| 0)
    })?;
    ret(r)
}

/// `bpf_skb_change_type`: a `PACKET_*` type up to `PACKET_OTHERHOST` (3).
pub(super) fn skb_change_type(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let t = a[1] as u32;
    let r = with_skb(c, a[0], |k, _| {
        if k.pkt_type > 3 || t > 3 {
            return Errno::EINVAL.ret();
        }
        k.pkt_type = t;
        0
    })?;
    ret(r)
}

/// `bpf_csum_level`: `BPF_CSUM_LEVEL_QUERY` (0), `_INC` (1), `_DEC` (2), `_RESET` (3) of
/// `CHECKSUM_UNNECESSARY` (`SKB_MAX_CSUM_LEVEL` 3).
pub(super) fn csum_level(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let r = with_skb(c, a[0], |k, _| {
        let cur = k.csum_unnecessary;
        match a[1] {
            0 => return cur.map_or(Errno::EACCES.ret(), u64::from),
            1 => k.csum_unnecessary = Some(cur.map_or(0, |l| (l + 1).min(3))),
            2 => k.csum_unnecessary = cur.and_then(|l| l.checked_sub(1)),
            3 => k.csum_unnecessary = None,
            _ => return Errno::EINVAL.ret(),
        }
        0
    })?;
    ret(r)
}

/// `bpf_skb_ecn_set_ce`: an ECN-capable IPv4/IPv6 packet becomes Congestion
/// Experienced (the IPv4 checksum follows); 1 when it is CE afterwards, else 0.
pub(super) fn skb_ecn_set_ce(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let r = with_skb(c, a[0], |k, _| {
        let (net, v6) = match k.protocol {
            0x0008 => (k.network_off, false),
            0xdd86 => (k.network_off, true),
            _ => return 0,
        };
        let need = if v6 { 40 } else { 20 };
        if net + need > k.len {
            return 0;
        }
        let d = &mut k.data_mut()[net..];
        if v6 {
            let w = u32::from_be_bytes([d[0], d[1], d[2], d[3]]);
            if (w >> 20) & 3 == 0 {
                return 0;
            }
            d[..4].copy_from_slice(&(w | 3 << 20).to_be_bytes());
            return 1;
        }
        // IP_ECN_set_ce, on the checksum as the kernel adds (native u16s).
        let ecn = (d[1].wrapping_add(1) & 3) as u16;
        if ecn & 2 == 0 {
            return (ecn == 0) as u64;
        }
        let add = 0xfffbu16.to_be().wrapping_add(ecn.to_be());
        let sum = u16::from_ne_bytes([d[10], d[11]]);
        let res = sum.wrapping_add(add);
        let res = res.wrapping_add((res < add) as u16);
        d[10..12].copy_from_slice(&res.to_ne_bytes());
        d[1] |= 3;
        1
    })?;
    ret(r)
}

/// `struct bpf_tunnel_key` (44 bytes) and the older layouts the kernel still takes.
const TK_SIZE: usize = 44;
const TK_COMPAT: [usize; 4] = [28, 24, 22, 8];
/// `BPF_F_TUNINFO_IPV6`, `BPF_F_ZERO_CSUM_TX`, `BPF_F_DONT_FRAGMENT`,
/// `BPF_F_SEQ_NUMBER`, `BPF_F_NO_TUNNEL_KEY` (= `BPF_F_TUNINFO_FLAGS` for get).
const TF_IPV6: u64 = 1;
const TF_ZERO_CSUM: u64 = 2;
const TF_DONT_FRAG: u64 = 4;
const TF_SEQ: u64 = 8;
const TF_NO_KEY: u64 = 16;
/// `TUNNEL_CSUM`, `TUNNEL_KEY`, `TUNNEL_SEQ`, `TUNNEL_DONT_FRAGMENT`, `TUNNEL_NOCACHE`.
const TUN_CSUM: u16 = 0x01;
const TUN_KEY: u16 = 0x04;
const TUN_SEQ: u16 = 0x08;
const TUN_DONT_FRAG: u16 = 0x0100;
const TUN_NOCACHE: u16 = 0x2000;

fn words(b: &[u8], off: usize) -> [u32; 4] {
    [0, 1, 2, 3].map(|i| u32_at(b, off + 4 * i))
}

/// `bpf_skb_set_tunnel_key`: the skb gets TX tunnel metadata.
pub(super) fn skb_set_tunnel_key(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let (size, flags) = (a[2] as u32 as usize, a[3]);
    if flags & !(TF_IPV6 | TF_ZERO_CSUM | TF_DONT_FRAG | TF_SEQ | TF_NO_KEY) != 0 {
        return with_skb(c, a[0], |_, _| ()).and_then(|_| err(Errno::EINVAL));
    }
    if size != TK_SIZE && !TK_COMPAT.contains(&size) {
        return with_skb(c, a[0], |_, _| ()).and_then(|_| err(Errno::EINVAL));
    }
    let mut k = read_vec(c, a[1], size)?;
    k.resize(TK_SIZE, 0);
    let (ext, label) = (u16::from_le_bytes([k[22], k[23]]), u32_at(&k, 24));
    if (flags & TF_IPV6 == 0 && label != 0) || ext != 0 {
        return with_skb(c, a[0], |_, _| ()).and_then(|_| err(Errno::EINVAL));
    }
    let v6 = flags & TF_IPV6 != 0;
    let mut tflags = TUN_NOCACHE;
    for (on, bit) in [
        (flags & TF_DONT_FRAG != 0, TUN_DONT_FRAG),
        (flags & TF_ZERO_CSUM == 0, TUN_CSUM),
        (flags & TF_SEQ != 0, TUN_SEQ),
        (flags & TF_NO_KEY == 0, TUN_KEY),
    ] {
        if on {
            tflags |= bit;
        }
    }
    let (remote, local) =
        if v6 { (words(&k, 4), words(&k, 28)) } else { ([u32_at(&k, 4), 0, 0, 0], [u32_at(&k, 28), 0, 0, 0]) };
    let info = TunnelInfo {
        v6,
        id: u32_at(&k, 0) as u64,
        src: local,
        dst: remote,
        tos: k[20],
        ttl: k[21],
        label: if v6 { label & 0xf_ffff } else { 0 },
        flags: tflags,
    };
    with_skb(c, a[0], |s, _| s.tunnel = Some(info))?;
    ret(0)
}

/// The tunnel metadata of a world's received packet.
fn received(w: &World) -> Option<TunnelInfo> {
    let t = w.tunnel.as_ref()?;
    let word = |a: IpAddr| match a {
        IpAddr::V4(v) => [u32::from(v), 0, 0, 0],
        IpAddr::V6(v) => words(&v.octets(), 0),
    };
    Some(TunnelInfo {
        v6: t.remote.is_ipv6(),
        id: t.id,
        src: word(t.remote),
        dst: word(t.local),
        tos: t.tos,
        ttl: t.ttl,
        label: t.label & 0xf_ffff,
        flags: TUN_KEY,
    })
}

/// `bpf_skb_get_tunnel_key`: the skb's tunnel metadata (set by the program, else
/// the world's received packet's); on error the buffer is zeroed.
pub(super) fn skb_get_tunnel_key(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let (size, flags) = (a[2] as u32 as usize, a[3]);
    let s = st(c)?;
    let world = s.shared.opts.world.clone();
    let info = with_skb(c, a[0], |k, _| k.tunnel.clone())?.or_else(|| received(&world));
    let fail = |c: &mut HelperCtx<'_>, e: Errno| -> R {
        c.write(a[1], &vec![0; size])?;
        err(e)
    };
    let Some(info) = info else { return fail(c, Errno::EINVAL) };
    if flags & !(TF_IPV6 | TF_NO_KEY) != 0 {
        return fail(c, Errno::EINVAL);
    }
    if info.v6 != (flags & TF_IPV6 != 0) {
        return fail(c, EPROTO);
    }
    if size != TK_SIZE && !(TK_COMPAT[..3].contains(&size) || (size == 8 && !info.v6)) {
        return fail(c, Errno::EINVAL);
    }
    let mut to = vec![0u8; TK_SIZE];
    put_u32(&mut to, 0, info.id as u32);
    to[20] = info.tos;
    to[21] = info.ttl;
    if flags & TF_NO_KEY != 0 {
        to[22..24].copy_from_slice(&info.flags.to_be_bytes());
    }
    for i in 0..4 {
        put_u32(&mut to, 4 + 4 * i, info.src[i]);
        put_u32(&mut to, 28 + 4 * i, info.dst[i]);
    }
    put_u32(&mut to, 24, if info.v6 { info.label } else { 0 });
    c.write(a[1], &to[..size])?;
    ret(0)
}
