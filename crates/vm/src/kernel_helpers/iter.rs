//! The open-coded number iterator (kernel/bpf/bpf_iter.c): the kfuncs
//! `bpf_iter_num_new` / `bpf_iter_num_next` / `bpf_iter_num_destroy` behind libbpf's
//! `bpf_for` and `bpf_repeat`, run as helpers under bpfbox's kfunc ids.
//!
//! The 8-byte `struct bpf_iter_num` on the program's stack holds, as the kernel's
//! `struct bpf_iter_num_kern`: the current value and the end, each an `s32`.

use super::*;

/// `BPF_MAX_LOOPS`: the longest range `bpf_iter_num_new` accepts.
const MAX_LOOPS: i64 = 8 * 1024 * 1024;

fn write_iter(c: &mut HelperCtx<'_>, it: u64, cur: i32, end: i32) -> Result<(), VmError> {
    let mut b = [0u8; 8];
    b[..4].copy_from_slice(&cur.to_le_bytes());
    b[4..].copy_from_slice(&end.to_le_bytes());
    c.write(it, &b)
}

/// `bpf_iter_num_new(it, start, end)`: 0, or `-EINVAL` (start > end) / `-E2BIG` (a
/// range over `BPF_MAX_LOOPS`) with an iterator that yields nothing.
fn iter_num_new(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let (start, end) = (a[1] as i32, a[2] as i32);
    if start > end {
        write_iter(c, a[0], 0, 0)?;
        return err(Errno::EINVAL);
    }
    if end as i64 - start as i64 > MAX_LOOPS {
        write_iter(c, a[0], 0, 0)?;
        return err(Errno::E2BIG);
    }
    // The first next() makes cur exactly start (wrapping at i32::MIN, as in C).
    write_iter(c, a[0], start.wrapping_sub(1), end)?;
    ret(0)
}

/// `bpf_iter_num_next(it)`: the address of the next value (the iterator's own first
/// 4 bytes), or NULL once the range is done (then for good).
fn iter_num_next(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let b = read_vec(c, a[0], 8)?;
    let cur = i32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    let end = i32::from_le_bytes([b[4], b[5], b[6], b[7]]);
    if cur.wrapping_add(1) as i64 >= end as i64 {
        write_iter(c, a[0], 0, 0)?;
        return ret(0);
    }
    write_iter(c, a[0], cur.wrapping_add(1), end)?;
    ret(a[0])
}

/// `bpf_iter_num_destroy(it)`.
fn iter_num_destroy(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    write_iter(c, a[0], 0, 0)?;
    ret(0)
}

pub(super) const KFUNCS: [(&str, HelperFn); 3] = [
    ("bpf_iter_num_new", iter_num_new),
    ("bpf_iter_num_next", iter_num_next),
    ("bpf_iter_num_destroy", iter_num_destroy),
];
