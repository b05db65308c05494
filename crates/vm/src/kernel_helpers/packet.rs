//! XDP and `__sk_buff` packet helpers: head/tail/meta adjustments, bytes,
//! checksums, redirects, room.

use super::*;

// ---- XDP ----

pub(super) fn with_xdp<T>(
    c: &mut HelperCtx<'_>,
    ctx: u64,
    f: impl FnOnce(&mut crate::ctx::Xdp, &mut MemView<'_>) -> T,
) -> Result<T, VmError> {
    ensure_ctx(c, ctx)?;
    let (s, mut mem) = split(c)?;
    match &mut s.ctx {
        Ctx::Xdp(x) => {
            let r = f(x, &mut mem);
            x.sync_shadow();
            Ok(r)
        }
        _ => Err(fail_at(c, "not an XDP context")),
    }
}

pub(super) fn set_xdp_packet(x: &crate::ctx::Xdp, mem: &mut MemView<'_>) {
    // SAFETY: the frame buffer lives in the run state for the whole run.
    unsafe { mem.set_packet(Some(x.packet_region())) }
}

const ETH_HLEN: i64 = 14;

pub(super) fn xdp_adjust_head(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let delta = a[1] as i32 as i64;
    let r = with_xdp(c, a[0], |x, mem| {
        let metalen = (x.data - x.meta) as i64;
        let new = x.data as i64 + delta;
        if new < XDP_FRAME_HDR as i64 + metalen || new > x.end as i64 - ETH_HLEN {
            return Errno::EINVAL.ret();
        }
        let new_meta = (x.meta as i64 + delta) as usize;
        if metalen > 0 {
            x.buf.copy_within(x.meta..x.data, new_meta);
        }
        x.meta = new_meta;
        x.data = new as usize;
        set_xdp_packet(x, mem);
        0
    })?;
    ret(r)
}

pub(super) fn xdp_adjust_meta(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let delta = a[1] as i32 as i64;
    let r = with_xdp(c, a[0], |x, mem| {
        let meta = x.meta as i64 + delta;
        if meta < XDP_FRAME_HDR as i64 || meta > x.data as i64 {
            return Errno::EINVAL.ret();
        }
        let metalen = x.data as i64 - meta;
        if metalen % 4 != 0 || metalen > 32 {
            return Errno::EACCES.ret();
        }
        x.meta = meta as usize;
        set_xdp_packet(x, mem);
        0
    })?;
    ret(r)
}

pub(super) fn xdp_adjust_tail(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let delta = a[1] as i32 as i64;
    let r = with_xdp(c, a[0], |x, mem| {
        let end = x.end as i64 + delta;
        if end > x.hard_end() as i64 || end < x.data as i64 + ETH_HLEN {
            return Errno::EINVAL.ret();
        }
        if delta > 0 {
            x.buf[x.end..end as usize].fill(0);
        }
        x.end = end as usize;
        set_xdp_packet(x, mem);
        0
    })?;
    ret(r)
}

pub(super) fn xdp_get_buff_len(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    ret(with_xdp(c, a[0], |x, _| (x.end - x.data) as u64)?)
}

pub(super) fn xdp_bytes(c: &mut HelperCtx<'_>, a: [u64; 5], store: bool) -> R {
    let (off, len) = (a[1] as u32 as usize, a[3] as u32 as usize);
    if off > 0xffff || len > 0xffff {
        return err(Errno::EFAULT);
    }
    let data = if store { read_vec(c, a[2], len)? } else { Vec::new() };
    let got = with_xdp(c, a[0], |x, _| {
        if off + len > x.end - x.data {
            return Err(Errno::EINVAL);
        }
        let p = x.data + off;
        if store {
            x.buf[p..p + len].copy_from_slice(&data);
            Ok(Vec::new())
        } else {
            Ok(x.buf[p..p + len].to_vec())
        }
    })?;
    match got {
        Ok(v) => {
            if !store {
                c.write(a[2], &v)?;
            }
            ret(0)
        }
        Err(e) => err(e),
    }
}

pub(super) fn xdp_load_bytes(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    xdp_bytes(c, a, false)
}

pub(super) fn xdp_store_bytes(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    xdp_bytes(c, a, true)
}

// ---- skb ----

pub(super) fn with_skb<T>(
    c: &mut HelperCtx<'_>,
    ctx: u64,
    f: impl FnOnce(&mut crate::ctx::Skb, &mut MemView<'_>) -> T,
) -> Result<T, VmError> {
    ensure_ctx(c, ctx)?;
    let (s, mut mem) = split(c)?;
    match &mut s.ctx {
        Ctx::Skb(k) => {
            let r = f(k, &mut mem);
            k.sync_shadow();
            Ok(r)
        }
        _ => Err(fail_at(c, "not an __sk_buff context")),
    }
}

pub(super) fn set_skb_packet(k: &crate::ctx::Skb, mem: &mut MemView<'_>) {
    // SAFETY: the buffer lives in the run state; helpers that reallocate it call
    // this right after.
    unsafe { mem.set_packet(Some(k.packet_region())) }
}

pub(super) fn skb_load_bytes(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let (off, len) = (a[1] as u32 as usize, a[3] as u32 as usize);
    let got = with_skb(c, a[0], |k, _| {
        if off > 0xffff || off + len > k.len {
            None
        } else {
            Some(k.data()[off..off + len].to_vec())
        }
    })?;
    bytes_or_efault(c, a[2], got, len)
}

/// `BPF_F_RECOMPUTE_CSUM`, `BPF_F_INVALIDATE_HASH`.
const RECOMPUTE_CSUM: u64 = 1;
const INVALIDATE_HASH: u64 = 2;

pub(super) fn skb_store_bytes(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let (off, len, flags) = (a[1] as u32 as usize, a[3] as u32 as usize, a[4]);
    if flags & !(RECOMPUTE_CSUM | INVALIDATE_HASH) != 0 {
        return err(Errno::EINVAL);
    }
    let data = read_vec(c, a[2], len)?;
    let r = with_skb(c, a[0], |k, _| {
        if off > i32::MAX as usize || off + len > k.len {
            return Errno::EFAULT.ret();
        }
        // BPF_F_RECOMPUTE_CSUM updates skb->csum, which matters only for
        // CHECKSUM_COMPLETE skbs; test-run skbs are CHECKSUM_NONE.
        k.data_mut()[off..off + len].copy_from_slice(&data);
        if flags & INVALIDATE_HASH != 0 {
            k.hash = 0;
        }
        0
    })?;
    ret(r)
}

/// `BPF_F_HDR_FIELD_MASK`, `BPF_F_PSEUDO_HDR`, `BPF_F_MARK_MANGLED_0`, `BPF_F_MARK_ENFORCE`, `BPF_F_IPV6`.
const HDR_FIELD_MASK: u64 = 0xf;
const PSEUDO_HDR: u64 = 1 << 4;
const MARK_MANGLED_0: u64 = 1 << 5;
const MARK_ENFORCE: u64 = 1 << 6;
const IPV6: u64 = 1 << 7;

pub(super) fn csum_replace(c: &mut HelperCtx<'_>, a: [u64; 5], l4: bool) -> R {
    let (off, from, to, flags) = (a[1] as u32 as usize, a[2], a[3], a[4]);
    let allowed = if l4 { MARK_MANGLED_0 | MARK_ENFORCE | PSEUDO_HDR | HDR_FIELD_MASK | IPV6 } else { HDR_FIELD_MASK };
    if flags & !allowed != 0 {
        return err(Errno::EINVAL);
    }
    let r = with_skb(c, a[0], |k, _| {
        if off > 0xffff || off & 1 != 0 || off + 2 > k.len {
            return Errno::EFAULT.ret();
        }
        let d = k.data_mut();
        let sum = u16::from_le_bytes([d[off], d[off + 1]]);
        let mmzero = l4 && flags & MARK_MANGLED_0 != 0;
        if mmzero && flags & MARK_ENFORCE == 0 && sum == 0 {
            return 0;
        }
        // Test-run skbs are CHECKSUM_NONE: BPF_F_PSEUDO_HDR changes nothing in the packet.
        let new = match flags & HDR_FIELD_MASK {
            0 if from != 0 => return Errno::EINVAL.ret(),
            0 => csum::replace_by_diff(sum, to as u32),
            2 => csum::replace2(sum, from as u16, to as u16),
            4 => csum::replace4(sum, from as u32, to as u32),
            _ => return Errno::EINVAL.ret(),
        };
        // CSUM_MANGLED_0: a UDP checksum that comes out 0 is sent as 0xffff.
        let new = if mmzero && new == 0 { 0xffff } else { new };
        d[off..off + 2].copy_from_slice(&new.to_le_bytes());
        0
    })?;
    ret(r)
}

pub(super) fn l3_csum_replace(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    csum_replace(c, a, false)
}

pub(super) fn l4_csum_replace(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    csum_replace(c, a, true)
}

pub(super) fn csum_diff(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let (fs, ts) = (a[1] as u32 as usize, a[3] as u32 as usize);
    if (fs | ts) % 4 != 0 {
        return err(Errno::EINVAL);
    }
    let from = if fs > 0 { read_vec(c, a[0], fs)? } else { Vec::new() };
    let to = if ts > 0 { read_vec(c, a[2], ts)? } else { Vec::new() };
    ret(csum::diff(&from, &to, a[4] as u32) as u64)
}

pub(super) fn csum_update(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    with_skb(c, a[0], |_, _| ())?;
    err(Errno::ENOTSUPP)
}

pub(super) fn skb_pull_data(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let len = a[1] as u32 as usize;
    let r = with_skb(c, a[0], |k, mem| {
        if len > k.len {
            return Errno::ENOMEM.ret();
        }
        set_skb_packet(k, mem);
        0
    })?;
    ret(r)
}

pub(super) fn skb_change_tail(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let (new_len, flags) = (a[1] as u32 as usize, a[2]);
    let r = with_skb(c, a[0], |k, mem| {
        if flags != 0 || new_len > crate::ctx::SKB_MAX_LEN || new_len < k.network_off {
            return Errno::EINVAL.ret();
        }
        k.set_len(new_len);
        set_skb_packet(k, mem);
        0
    })?;
    ret(r)
}

pub(super) fn skb_change_head(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let (room, flags) = (a[1] as u32 as usize, a[2]);
    let r = with_skb(c, a[0], |k, mem| {
        let new_len = k.len + room;
        if flags != 0 || new_len > crate::ctx::SKB_MAX_ALLOC {
            return Errno::EINVAL.ret();
        }
        k.push_head(room);
        k.network_off += room;
        set_skb_packet(k, mem);
        0
    })?;
    ret(r)
}

pub(super) fn set_hash(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    with_skb(c, a[0], |k, _| k.hash = a[1] as u32)?;
    ret(0)
}

pub(super) fn get_hash_recalc(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let h = with_skb(c, a[0], |k, _| {
        if k.hash == 0 {
            let net = &k.data()[k.network_off.min(k.len)..];
            let h = csum::partial(&net[..net.len().min(40)], 0x9e37_79b9).wrapping_mul(0x9e37_79b1);
            k.hash = h.max(1);
        }
        k.hash
    })?;
    ret(h as u64)
}

// ---- redirect ----

const XDP_ABORTED: u64 = 0;
const XDP_REDIRECT: u64 = 4;
const TC_ACT_SHOT: u64 = 2;
const TC_ACT_REDIRECT: u64 = 7;
const BPF_F_INGRESS: u64 = 1;

pub(super) fn redirect(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let s = st(c)?;
    let xdp = matches!(s.ctx, Ctx::Xdp(_));
    let (ok, done) = if xdp { (a[1] == 0, XDP_REDIRECT) } else { (a[1] & !BPF_F_INGRESS == 0, TC_ACT_REDIRECT) };
    if !ok {
        return ret(if xdp { XDP_ABORTED } else { TC_ACT_SHOT });
    }
    s.redirect = Some(Redirect { ifindex: a[0] as u32, flags: a[1], map: None, key: None });
    ret(done)
}

pub(super) fn redirect_map(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let m = map_arg(c, a[0])?;
    let (key, flags) = (a[1] as u32, a[2]);
    // BPF_F_ACTION_MASK (the low 2 bits: the action when the key is absent),
    // BPF_F_BROADCAST, BPF_F_EXCLUDE_INGRESS.
    if flags & !(3 | 1 << 3 | 1 << 4) != 0 {
        return ret(XDP_ABORTED);
    }
    use bpfbox_abi::map_types::MapType;
    if !matches!(m.kind(), MapType::Devmap | MapType::DevmapHash | MapType::Cpumap | MapType::Xskmap) {
        return Err(fail_at(c, format!("redirect_map needs a devmap, cpumap or xskmap, not {}", m.kind())));
    }
    let Some(v) = m.dev_value(key) else { return ret(flags & 3) };
    let ifindex = u32::from_le_bytes([v[0], v[1], v[2], v[3]]);
    st(c)?.redirect = Some(Redirect { ifindex, flags, map: Some(m.name().to_string()), key: Some(key) });
    ret(XDP_REDIRECT)
}

/// `BPF_F_ADJ_ROOM_*` flags the kernel accepts (encap/decap kinds, L2 length).
const ADJ_ROOM_FLAGS: u64 = 0xff << 56 | 0x3ff;

/// `bpf_skb_adjust_room`: insert (zeroed) or remove room after the MAC header
/// (`BPF_ADJ_ROOM_MAC`) or after the base network header (`BPF_ADJ_ROOM_NET`: 20
/// bytes for IPv4, 40 for IPv6), for IPv4/IPv6 packets.
pub(super) fn skb_adjust_room(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let (diff, mode, flags) = (a[1] as i32 as i64, a[2] as u32, a[3]);
    let r = with_skb(c, a[0], |k, mem| {
        if flags & !ADJ_ROOM_FLAGS != 0 {
            return Errno::EINVAL.ret();
        }
        let abs = diff.unsigned_abs() as usize;
        if abs > 0xfff {
            return Errno::EFAULT.ret();
        }
        let base = match k.protocol {
            0x0008 => 20,
            0xdd86 => 40,
            _ => return Errno::ENOTSUPP.ret(),
        };
        let off = k.network_off
            + match mode {
                0 => base,
                1 => 0,
                _ => return Errno::ENOTSUPP.ret(),
            };
        let shrink = diff < 0;
        let len_cur = k.len.saturating_sub(k.network_off);
        if (shrink && (abs >= len_cur || len_cur - abs < base))
            || (!shrink && k.len + abs > crate::ctx::SKB_MAX_ALLOC)
            || off > k.len
        {
            return Errno::ENOTSUPP.ret();
        }
        if shrink {
            k.data_mut().copy_within(0..off, abs);
            k.head += abs;
            k.len -= abs;
        } else {
            k.push_head(abs);
            k.data_mut().copy_within(abs..abs + off, 0);
            k.data_mut()[off..off + abs].fill(0);
        }
        set_skb_packet(k, mem);
        0
    })?;
    ret(r)
}
