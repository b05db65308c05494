//! Dynptrs over the packet (kernel/bpf/helpers.c, net/core/filter.c): the kfuncs
//! `bpf_dynptr_from_skb` / `bpf_dynptr_from_xdp` / `bpf_dynptr_slice[_rdwr]` (run as
//! helpers with bpfbox's kfunc ids, see [`kfunc_table`]) and the helpers
//! `bpf_dynptr_read` / `bpf_dynptr_write`.
//!
//! The 16-byte `struct bpf_dynptr` on the program's stack holds, as bpfbox writes it:
//! the kind (0 null, 1 skb, 2 xdp), the flags (bit 0: read-only), the offset and the
//! size, each a `u32`.

use super::*;
use bpfbox_abi::prog_types::ProgType;
use bpfbox_abi::{ArgType, HelperProto, RetType};

const NULL: u32 = 0;
const SKB: u32 = 1;
const XDP: u32 = 2;
const RDONLY: u32 = 1;
const DYNPTR_SIZE: usize = 16;

#[derive(Debug, Clone, Copy)]
struct Dynptr {
    kind: u32,
    flags: u32,
    offset: u32,
    size: u32,
}

fn write_dynptr(c: &mut HelperCtx<'_>, addr: u64, d: Dynptr) -> Result<(), VmError> {
    let mut b = [0u8; DYNPTR_SIZE];
    for (i, v) in [d.kind, d.flags, d.offset, d.size].into_iter().enumerate() {
        b[4 * i..4 * i + 4].copy_from_slice(&v.to_le_bytes());
    }
    c.write(addr, &b)
}

fn read_dynptr(c: &mut HelperCtx<'_>, addr: u64) -> Result<Dynptr, VmError> {
    let b = read_vec(c, addr, DYNPTR_SIZE)?;
    let w = |i: usize| u32::from_le_bytes([b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]]);
    Ok(Dynptr { kind: w(0), flags: w(1), offset: w(2), size: w(3) })
}

/// `bpf_dynptr_check_off_len`.
fn check_off_len(d: &Dynptr, off: u32, len: u32) -> Result<(), Errno> {
    if len > d.size || off > d.size - len {
        return Err(Errno::E2BIG);
    }
    Ok(())
}

/// `bpf_dynptr_from_xdp(xdp, flags, ptr__uninit)`.
fn dynptr_from_xdp(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let size = with_xdp(c, a[0], |x, _| (x.end - x.data) as u32)?;
    from(c, a, XDP, 0, size)
}

/// `bpf_dynptr_from_skb(skb, flags, ptr__uninit)`: read-only for the program types
/// that may not write packets (the kernel's `bpf_dynptr_from_skb_rdonly`).
fn dynptr_from_skb(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let size = with_skb(c, a[0], |k, _| k.len as u32)?;
    let t = st(c)?.prog_type;
    let writable =
        [ProgType::SchedCls, ProgType::SchedAct, ProgType::LwtXmit, ProgType::SkSkb].iter().any(|p| p.number() == t);
    from(c, a, SKB, if writable { 0 } else { RDONLY }, size)
}

fn from(c: &mut HelperCtx<'_>, a: [u64; 5], kind: u32, flags: u32, size: u32) -> R {
    if a[1] != 0 {
        write_dynptr(c, a[2], Dynptr { kind: NULL, flags: 0, offset: 0, size: 0 })?;
        return err(Errno::EINVAL);
    }
    write_dynptr(c, a[2], Dynptr { kind, flags, offset: 0, size })?;
    ret(0)
}

/// The packet address of byte `off` of the dynptr's data (test-run packets are linear).
fn packet_addr(c: &mut HelperCtx<'_>, d: &Dynptr, off: u32) -> Result<Option<u64>, VmError> {
    let at = (d.offset + off) as usize;
    let s = st(c)?;
    Ok(match (&s.ctx, d.kind) {
        (Ctx::Xdp(x), XDP) => Some(x.addr(x.data + at)),
        (Ctx::Skb(k), SKB) => Some(k.data_addr() + at as u64),
        _ => None,
    })
}

/// `bpf_dynptr_slice[_rdwr](ptr, offset, buffer__opt, buffer__szk)`: a pointer into the
/// packet (never the buffer: test-run packets are linear), or NULL.
fn slice(c: &mut HelperCtx<'_>, a: [u64; 5], rdwr: bool) -> R {
    let d = read_dynptr(c, a[0])?;
    let (off, len) = (a[1] as u32, a[3] as u32);
    if d.kind == NULL || (rdwr && d.flags & RDONLY != 0) || check_off_len(&d, off, len).is_err() {
        return ret(0);
    }
    Ok(HelperOutcome::Return(packet_addr(c, &d, off)?.unwrap_or(0)))
}

fn dynptr_slice(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    slice(c, a, false)
}

fn dynptr_slice_rdwr(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    slice(c, a, true)
}

/// `bpf_dynptr_read(dst, len, src, offset, flags)`.
pub(super) fn dynptr_read(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let (len, off) = (a[1] as u32, a[3] as u32);
    let d = read_dynptr(c, a[2])?;
    if d.kind == NULL || a[4] != 0 {
        return err(Errno::EINVAL);
    }
    if let Err(e) = check_off_len(&d, off, len) {
        return err(e);
    }
    let Some(src) = packet_addr(c, &d, off)? else { return err(Errno::EINVAL) };
    let data = read_vec(c, src, len as usize)?;
    c.write(a[0], &data)?;
    ret(0)
}

/// `bpf_dynptr_write(dst, offset, src, len, flags)`.
pub(super) fn dynptr_write(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let (off, len, flags) = (a[1] as u32, a[3] as u32, a[4]);
    let d = read_dynptr(c, a[0])?;
    if d.kind == NULL || d.flags & RDONLY != 0 {
        return err(Errno::EINVAL);
    }
    if let Err(e) = check_off_len(&d, off, len) {
        return err(e);
    }
    let ok_flags = if d.kind == SKB { 1 | 2 } else { 0 }; // BPF_F_RECOMPUTE_CSUM | BPF_F_INVALIDATE_HASH
    if flags & !ok_flags != 0 {
        return err(Errno::EINVAL);
    }
    let data = read_vec(c, a[2], len as usize)?;
    let Some(dst) = packet_addr(c, &d, off)? else { return err(Errno::EINVAL) };
    c.write(dst, &data)?;
    if d.kind == SKB && flags & 2 != 0 {
        let ctx = d_ctx(c)?;
        with_skb(c, ctx, |k, _| k.hash = 0)?;
    }
    ret(0)
}

/// The context address (for `with_skb`).
fn d_ctx(c: &mut HelperCtx<'_>) -> Result<u64, VmError> {
    Ok(st(c)?.ctx.r1())
}

/// The kfuncs bpfbox runs (these and the conntrack ones), as helpers under their
/// bpfbox kfunc ids (`bpfbox_abi::kfuncs`); the runtime turns their calls into calls
/// of these.
pub(crate) fn kfunc_table() -> Vec<(HelperProto, HelperFn)> {
    let f: [(&'static str, HelperFn); 4] = [
        ("bpf_dynptr_from_skb", dynptr_from_skb),
        ("bpf_dynptr_from_xdp", dynptr_from_xdp),
        ("bpf_dynptr_slice", dynptr_slice),
        ("bpf_dynptr_slice_rdwr", dynptr_slice_rdwr),
    ];
    f.into_iter()
        .chain(super::conntrack::KFUNCS)
        .chain(super::iter::KFUNCS)
        .chain(super::misc::RCU_KFUNCS)
        .filter_map(|(name, func)| {
            let id = bpfbox_abi::kfuncs::kfunc_id(name)?;
            let proto = HelperProto::new(id as u32, name, RetType::INTEGER, &[ArgType::ANYTHING; 4]);
            Some((proto, func))
        })
        .collect()
}
