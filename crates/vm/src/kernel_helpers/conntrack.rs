//! The conntrack kfuncs of net/netfilter/nf_conntrack_bpf.c on the world's table
//! ([`crate::world::Conntrack`]): `bpf_{xdp,skb}_ct_lookup`, `bpf_{xdp,skb}_ct_alloc`,
//! `bpf_ct_insert_entry`, `bpf_ct_set_timeout`, `bpf_ct_release`. A `struct nf_conn *`
//! is a tagged handle (never an address: reading its fields faults).

use super::*;
use crate::world::{reply_tuple, Conn};

/// Tag of `struct nf_conn *` handles (`| index` in the table); non-canonical.
const CT_TAG: u64 = 0xc700_0000_0000_0000;
const CT_MASK: u64 = 0xffff_ffff_0000_0000;
/// `NF_BPF_CT_OPTS_SZ` and the older 12-byte layout.
const OPTS_SZ: u32 = 16;
const OPTS_SZ_OLD: u32 = 12;
const IPPROTO_TCP: u8 = 6;
const IPPROTO_UDP: u8 = 17;
/// `BPF_F_CURRENT_NETNS`.
const CURRENT_NETNS: i32 = -1;
const EPROTO: Errno = Errno(71);
const EAFNOSUPPORT: Errno = Errno(97);
const ENONET: Errno = Errno(64);
/// Default timeout of an allocated entry (10 s).
const ALLOC_TIMEOUT_MS: u32 = 10_000;

/// The parsed arguments: protocol, zone, tuple.
type Args = (u8, u16, Vec<u8>);

/// `__bpf_nf_ct_lookup` / `__bpf_nf_ct_alloc_entry`'s checks, in the kernel's order
/// (the lookup checks the protocol before the namespace id, allocation after).
fn parse(c: &mut HelperCtx<'_>, a: [u64; 5], alloc: bool) -> Result<Result<Args, Errno>, VmError> {
    let (tuple_addr, tuple_len, opts_addr, opts_len) = (a[1], a[2] as u32, a[3], a[4] as u32);
    if opts_addr == 0 || tuple_addr == 0 || !(opts_len == OPTS_SZ || opts_len == OPTS_SZ_OLD) {
        return Ok(Err(Errno::EINVAL));
    }
    let o = read_vec(c, opts_addr, opts_len as usize)?;
    if opts_len == OPTS_SZ && o[13..16].iter().any(|b| *b != 0) {
        return Ok(Err(Errno::EINVAL));
    }
    let netns = i32::from_le_bytes([o[0], o[1], o[2], o[3]]);
    let l4proto = o[8];
    let zone = if opts_len == OPTS_SZ { u16::from_le_bytes([o[10], o[11]]) } else { 0 };
    let bad_proto = l4proto != IPPROTO_TCP && l4proto != IPPROTO_UDP;
    if bad_proto && !alloc {
        return Ok(Err(EPROTO));
    }
    if netns < CURRENT_NETNS {
        return Ok(Err(Errno::EINVAL));
    }
    if bad_proto {
        return Ok(Err(EPROTO));
    }
    if tuple_len != 12 && tuple_len != 36 {
        return Ok(Err(EAFNOSUPPORT));
    }
    // A world has one network namespace: no other has an id.
    if netns >= 0 {
        return Ok(Err(ENONET));
    }
    let tuple = read_vec(c, tuple_addr, tuple_len as usize)?;
    Ok(Ok((l4proto, zone, tuple)))
}

/// Write `opts->error` (offset 4) whenever there are options, as the kernel does
/// (whatever `opts__sz` said; a write outside the program's memory is skipped).
fn set_error(c: &mut HelperCtx<'_>, a: [u64; 5], e: Errno) -> Result<(), VmError> {
    if a[3] != 0 {
        let _ = c.write(a[3] + 4, &(e.ret() as i32).to_le_bytes());
    }
    Ok(())
}

fn world(c: &mut HelperCtx<'_>) -> Result<Arc<crate::World>, VmError> {
    Ok(st(c)?.shared.opts.world.clone())
}

fn ensure_kind(c: &mut HelperCtx<'_>, ctx: u64, xdp: bool) -> Result<(), VmError> {
    if xdp {
        with_xdp(c, ctx, |_, _| ())
    } else {
        with_skb(c, ctx, |_, _| ())
    }
}

/// The context checked, then the arguments; `None` when they fail (`opts->error` set).
fn checked_args(c: &mut HelperCtx<'_>, a: [u64; 5], xdp: bool, alloc: bool) -> Result<Option<Args>, VmError> {
    ensure_kind(c, a[0], xdp)?;
    match parse(c, a, alloc)? {
        Ok(v) => Ok(Some(v)),
        Err(e) => {
            set_error(c, a, e)?;
            Ok(None)
        }
    }
}

fn lookup(c: &mut HelperCtx<'_>, a: [u64; 5], xdp: bool) -> R {
    let Some((l4proto, zone, tuple)) = checked_args(c, a, xdp, false)? else { return ret(0) };
    let w = world(c)?;
    let found = {
        let conns = w.conntrack.conns.lock().unwrap_or_else(|e| e.into_inner());
        conns.iter().enumerate().find_map(|(i, k)| {
            if !k.confirmed || k.l4proto != l4proto || k.zone != zone || k.tuple.len() != tuple.len() {
                return None;
            }
            if k.tuple == tuple {
                Some((i, 0u8))
            } else if k.reply() == tuple {
                Some((i, 1u8))
            } else {
                None
            }
        })
    };
    match found {
        Some((i, dir)) => {
            c.write(a[3] + 9, &[dir])?;
            ret(CT_TAG | i as u64)
        }
        None => {
            set_error(c, a, Errno::ENOENT)?;
            ret(0)
        }
    }
}

fn alloc(c: &mut HelperCtx<'_>, a: [u64; 5], xdp: bool) -> R {
    let Some((l4proto, zone, tuple)) = checked_args(c, a, xdp, true)? else { return ret(0) };
    let w = world(c)?;
    let mut conns = w.conntrack.conns.lock().unwrap_or_else(|e| e.into_inner());
    conns.push(Conn { l4proto, zone, tuple, timeout_ms: ALLOC_TIMEOUT_MS, confirmed: false });
    ret(CT_TAG | (conns.len() - 1) as u64)
}

/// The table index a `struct nf_conn *` argument names.
fn conn_arg(c: &mut HelperCtx<'_>, h: u64) -> Result<usize, VmError> {
    let n = world(c)?.conntrack.conns.lock().unwrap_or_else(|e| e.into_inner()).len();
    match h & CT_MASK == CT_TAG && ((h & !CT_MASK) as usize) < n {
        true => Ok((h & !CT_MASK) as usize),
        false => Err(fail_at(c, format!("argument {h:#x} is not a struct nf_conn pointer"))),
    }
}

fn xdp_ct_lookup(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    lookup(c, a, true)
}

fn skb_ct_lookup(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    lookup(c, a, false)
}

fn xdp_ct_alloc(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    alloc(c, a, true)
}

fn skb_ct_alloc(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    alloc(c, a, false)
}

/// `bpf_ct_insert_entry`: into the table unless the tuple (either direction) is
/// there (`-EEXIST`: the entry is freed, NULL).
fn ct_insert_entry(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let i = conn_arg(c, a[0])?;
    let w = world(c)?;
    let mut conns = w.conntrack.conns.lock().unwrap_or_else(|e| e.into_inner());
    let new = conns[i].clone();
    let clash = conns.iter().any(|k| {
        k.confirmed
            && k.l4proto == new.l4proto
            && k.zone == new.zone
            && (k.tuple == new.tuple || k.tuple == reply_tuple(&new.tuple))
    });
    if clash || new.confirmed {
        return ret(0);
    }
    conns[i].confirmed = true;
    ret(a[0])
}

fn ct_set_timeout(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let i = conn_arg(c, a[0])?;
    let w = world(c)?;
    w.conntrack.conns.lock().unwrap_or_else(|e| e.into_inner())[i].timeout_ms = a[1] as u32;
    ret(0)
}

fn ct_release(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    conn_arg(c, a[0])?;
    ret(0)
}

/// The conntrack kfuncs, by name (registered under their bpfbox kfunc ids).
pub(super) const KFUNCS: [(&str, HelperFn); 7] = [
    ("bpf_xdp_ct_lookup", xdp_ct_lookup),
    ("bpf_skb_ct_lookup", skb_ct_lookup),
    ("bpf_xdp_ct_alloc", xdp_ct_alloc),
    ("bpf_skb_ct_alloc", skb_ct_alloc),
    ("bpf_ct_insert_entry", ct_insert_entry),
    ("bpf_ct_set_timeout", ct_set_timeout),
    ("bpf_ct_release", ct_release),
];
