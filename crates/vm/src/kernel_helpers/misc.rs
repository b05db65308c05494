//! Time, randomness, the task, printing, `probe_read*`, strings, stacks, cgroups.

use super::*;

// ---- time, random, cpu, task ----

pub(super) fn ktime_get_ns(c: &mut HelperCtx<'_>, _: [u64; 5]) -> R {
    ret(st(c)?.shared.now(libc::CLOCK_MONOTONIC))
}

pub(super) fn ktime_get_boot_ns(c: &mut HelperCtx<'_>, _: [u64; 5]) -> R {
    ret(st(c)?.shared.now(libc::CLOCK_BOOTTIME))
}

pub(super) fn ktime_get_coarse_ns(c: &mut HelperCtx<'_>, _: [u64; 5]) -> R {
    ret(st(c)?.shared.now(libc::CLOCK_MONOTONIC_COARSE))
}

pub(super) fn ktime_get_tai_ns(c: &mut HelperCtx<'_>, _: [u64; 5]) -> R {
    ret(st(c)?.shared.now(libc::CLOCK_TAI))
}

/// `jiffies_64` with HZ=1000, from `INITIAL_JIFFIES` (5 minutes before the wrap).
pub(super) fn jiffies64(c: &mut HelperCtx<'_>, _: [u64; 5]) -> R {
    let ns = st(c)?.shared.now(libc::CLOCK_MONOTONIC);
    ret((u32::MAX as u64 + 1 - 300 * 1000) + ns / 1_000_000)
}

pub(super) fn get_prandom_u32(c: &mut HelperCtx<'_>, _: [u64; 5]) -> R {
    let s = st(c)?;
    // splitmix64 over a shared counter.
    let mut z =
        s.shared.prandom.fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed).wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    ret((z ^ (z >> 31)) as u32 as u64)
}

pub(super) fn get_smp_processor_id(c: &mut HelperCtx<'_>, _: [u64; 5]) -> R {
    ret(st(c)?.cpu as u64)
}

pub(super) fn zero(_: &mut HelperCtx<'_>, _: [u64; 5]) -> R {
    ret(0)
}

pub(super) fn get_current_pid_tgid(c: &mut HelperCtx<'_>, _: [u64; 5]) -> R {
    let t = &st(c)?.shared.opts.task;
    ret((t.tgid as u64) << 32 | t.pid as u64)
}

pub(super) fn get_current_uid_gid(c: &mut HelperCtx<'_>, _: [u64; 5]) -> R {
    let t = &st(c)?.shared.opts.task;
    ret((t.gid as u64) << 32 | t.uid as u64)
}

pub(super) fn get_current_comm(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let size = a[1] as u32 as usize;
    if size == 0 {
        return err(Errno::EINVAL);
    }
    let comm = st(c)?.shared.opts.task.comm.clone().into_bytes();
    let mut buf = vec![0u8; size];
    let n = comm.len().min(15).min(size - 1);
    buf[..n].copy_from_slice(&comm[..n]);
    c.write(a[0], &buf)?;
    ret(0)
}

pub(super) fn get_current_task(c: &mut HelperCtx<'_>, _: [u64; 5]) -> R {
    ret(st(c)?.shared.opts.task.task_addr)
}

pub(super) fn get_current_cgroup_id(c: &mut HelperCtx<'_>, _: [u64; 5]) -> R {
    ret(st(c)?.shared.opts.task.cgroup_id)
}

pub(super) fn get_func_ip(c: &mut HelperCtx<'_>, _: [u64; 5]) -> R {
    let s = st(c)?;
    if s.prog_type == crate::ctx::types::KPROBE {
        if let Ctx::Raw(r) = &s.ctx {
            if r.buf.len() >= 136 {
                let mut w = [0u8; 8];
                w.copy_from_slice(&r.buf[128..136]);
                return ret(u64::from_le_bytes(w));
            }
        }
    }
    ret(s.shared.opts.func_ip)
}

pub(super) fn get_attach_cookie(c: &mut HelperCtx<'_>, _: [u64; 5]) -> R {
    ret(st(c)?.shared.opts.attach_cookie)
}

// ---- printing ----

struct MemReader<'m, 'a> {
    mem: &'m mut MemView<'a>,
}

impl Reader for MemReader<'_, '_> {
    fn string(&mut self, addr: u64, max: usize) -> Option<Vec<u8>> {
        self.mem.read_cstr(addr, max).ok()
    }
    fn bytes(&mut self, addr: u64, len: usize) -> Option<Vec<u8>> {
        let mut v = vec![0; len];
        self.mem.read(addr, &mut v).ok().map(|_| v)
    }
}

pub(super) fn format_with(c: &mut HelperCtx<'_>, fmt: &[u8], args: &[u64]) -> Result<Result<Vec<u8>, Errno>, VmError> {
    let mut mem = c.mem();
    Ok(printk::format(fmt, args, &mut MemReader { mem: &mut mem }))
}

/// The format of trace_printk / trace_vprintk: `fmt_size` bytes holding a NUL.
pub(super) fn read_fmt(c: &mut HelperCtx<'_>, addr: u64, size: u64) -> Result<Option<Vec<u8>>, VmError> {
    if size == 0 || size > 1 << 16 {
        return Ok(None);
    }
    let b = read_vec(c, addr, size as usize)?;
    Ok(b.iter().position(|x| *x == 0).map(|n| b[..n].to_vec()))
}

/// The u64 array of trace_vprintk / snprintf (`data_len` a multiple of 8, at most 12 values).
pub(super) fn read_args(c: &mut HelperCtx<'_>, addr: u64, len: u64) -> Result<Option<Vec<u64>>, VmError> {
    if !len.is_multiple_of(8) || len / 8 > 12 {
        return Ok(None);
    }
    let b = read_vec(c, addr, len as usize)?;
    Ok(Some(b.chunks(8).map(|w| u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]])).collect()))
}

pub(super) fn emit(c: &mut HelperCtx<'_>, mut text: Vec<u8>) -> R {
    text.truncate(printk::MAX_BUF - 1);
    let n = text.len() as u64;
    if text.last() == Some(&b'\n') {
        text.pop();
    }
    st(c)?.printk.push(String::from_utf8_lossy(&text).into_owned());
    ret(n)
}

pub(super) fn trace_printk(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let Some(fmt) = read_fmt(c, a[0], a[1])? else { return err(Errno::EINVAL) };
    match format_with(c, &fmt, &[a[2], a[3], a[4]])? {
        Ok(t) => emit(c, t),
        Err(e) => err(e),
    }
}

pub(super) fn trace_vprintk(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let Some(fmt) = read_fmt(c, a[0], a[1])? else { return err(Errno::EINVAL) };
    let Some(args) = read_args(c, a[2], a[3])? else { return err(Errno::EINVAL) };
    match format_with(c, &fmt, &args)? {
        Ok(t) => emit(c, t),
        Err(e) => err(e),
    }
}

pub(super) fn snprintf(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let Some(args) = read_args(c, a[3], a[4])? else { return err(Errno::EINVAL) };
    let fmt = c.read_cstr(a[2], 1 << 16)?;
    let text = match format_with(c, &fmt, &args)? {
        Ok(t) => t,
        Err(e) => return err(e),
    };
    let size = a[1] as u32 as usize;
    if size > 0 {
        let n = text.len().min(size - 1);
        let mut out = text[..n].to_vec();
        out.push(0);
        c.write(a[0], &out)?;
    }
    ret(text.len() as u64 + 1)
}

// ---- probe_read ----

/// Read `len` bytes the way `copy_from_*_nofault` can: from the run's regions or
/// the configured probe memory.
pub(super) fn probe(c: &mut HelperCtx<'_>, addr: u64, len: usize) -> Result<Option<Vec<u8>>, VmError> {
    let mut v = vec![0; len];
    if c.read(addr, &mut v).is_ok() {
        return Ok(Some(v));
    }
    let s = st(c)?;
    for (base, bytes) in &s.shared.opts.probe_memory {
        let off = addr.wrapping_sub(*base);
        if off < bytes.len() as u64 && bytes.len() as u64 - off >= len as u64 {
            return Ok(Some(bytes[off as usize..off as usize + len].to_vec()));
        }
    }
    Ok(None)
}

pub(super) fn probe_read(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let size = a[1] as u32 as usize;
    if size == 0 {
        return ret(0);
    }
    match probe(c, a[2], size)? {
        Some(v) => {
            c.write(a[0], &v)?;
            ret(0)
        }
        None => {
            c.write(a[0], &vec![0; size])?;
            err(Errno::EFAULT)
        }
    }
}

pub(super) fn probe_read_str(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let size = a[1] as u32 as usize;
    if size == 0 {
        return ret(0);
    }
    let mut out = Vec::with_capacity(size);
    let mut fault = false;
    while out.len() < size - 1 {
        match probe(c, a[2].wrapping_add(out.len() as u64), 1)? {
            Some(b) if b[0] == 0 => break,
            Some(b) => out.push(b[0]),
            None => {
                fault = true;
                break;
            }
        }
    }
    if fault {
        c.write(a[0], &vec![0; size])?;
        return err(Errno::EFAULT);
    }
    out.push(0);
    c.write(a[0], &out)?;
    ret(out.len() as u64)
}

// ---- strings ----

pub(super) fn is_kspace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | 0xa0)
}

/// `__bpf_strtoull`: Ok((consumed, value, negative)).
pub(super) fn strtoull(buf: &[u8], flags: u64) -> Result<(usize, u64, bool), Errno> {
    let mut base = (flags & 0x1f) as u32;
    if buf.is_empty() || flags & !0x1f != 0 || ![0, 8, 10, 16].contains(&base) {
        return Err(Errno::EINVAL);
    }
    let mut i = 0;
    while i < buf.len() && is_kspace(buf[i]) {
        i += 1;
    }
    let neg = i < buf.len() && buf[i] == b'-';
    if neg {
        i += 1;
    }
    if i == buf.len() {
        return Err(Errno::EINVAL);
    }
    let consumed = i;
    let s: Vec<u8> = buf[i..].iter().take(63).copied().chain(std::iter::once(0)).collect();
    let at = |j: usize| s.get(j).copied().unwrap_or(0);
    let mut j = 0;
    if base == 0 {
        base = if at(0) == b'0' {
            if at(1).eq_ignore_ascii_case(&b'x') && at(2).is_ascii_hexdigit() {
                16
            } else {
                8
            }
        } else {
            10
        };
    }
    if base == 16 && at(0) == b'0' && at(1).eq_ignore_ascii_case(&b'x') {
        j = 2;
    }
    let start = j;
    let mut v: u64 = 0;
    let mut overflow = false;
    loop {
        let d = match at(j) {
            c @ b'0'..=b'9' => (c - b'0') as u32,
            c @ b'a'..=b'f' => (c - b'a' + 10) as u32,
            c @ b'A'..=b'F' => (c - b'A' + 10) as u32,
            _ => break,
        };
        if d >= base {
            break;
        }
        match v.checked_mul(base as u64).and_then(|x| x.checked_add(d as u64)) {
            Some(x) => v = x,
            None => overflow = true,
        }
        j += 1;
    }
    if overflow {
        return Err(Errno::ERANGE);
    }
    if j == start {
        return Err(Errno::EINVAL);
    }
    Ok((consumed + j, v, neg))
}

pub(super) fn strto(c: &mut HelperCtx<'_>, a: [u64; 5], signed: bool) -> R {
    let len = a[1] as u32 as usize;
    let buf = read_vec(c, a[0], len)?;
    let r = strtoull(&buf, a[2]).and_then(|(n, v, neg)| {
        let out = if signed {
            if neg {
                if (v.wrapping_neg() as i64) > 0 {
                    return Err(Errno::ERANGE);
                }
                v.wrapping_neg()
            } else {
                if (v as i64) < 0 {
                    return Err(Errno::ERANGE);
                }
                v
            }
        } else {
            if neg {
                return Err(Errno::EINVAL);
            }
            v
        };
        Ok((n, out))
    });
    match r {
        Ok((n, v)) => {
            c.write_u64(a[3], v)?;
            ret(n as u64)
        }
        Err(e) => {
            c.write_u64(a[3], 0)?;
            err(e)
        }
    }
}

pub(super) fn strtol(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    strto(c, a, true)
}

pub(super) fn strtoul(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    strto(c, a, false)
}

pub(super) fn strncmp(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let n = a[1] as u32 as usize;
    let s1 = read_vec(c, a[0], n)?;
    let s2 = c.read_cstr(a[2], n)?;
    for (i, &x) in s1.iter().enumerate().take(n) {
        let y = s2.get(i).copied().unwrap_or(0);
        if x != y {
            return ret(if x < y { u64::MAX } else { 1 });
        }
        if x == 0 {
            break;
        }
    }
    ret(0)
}

// ---- stacks, cgroups, user memory ----

/// `BPF_F_SKIP_FIELD_MASK | BPF_F_USER_STACK | BPF_F_FAST_STACK_CMP | BPF_F_REUSE_STACKID`
/// (and `BPF_F_USER_BUILD_ID` for `get_stack`).
const STACK_FLAGS: u64 = 0xff | 1 << 8 | 1 << 9 | 1 << 10 | 1 << 11;

/// `bpf_get_stackid`: there is no kernel or user stack to walk in user space: `-EFAULT`.
pub(super) fn get_stackid(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let m = map_arg(c, a[1])?;
    if m.kind() != bpfbox_abi::map_types::MapType::StackTrace {
        return Err(fail_at(c, format!("get_stackid needs a stack_trace map, not {}", m.kind())));
    }
    if a[2] & !STACK_FLAGS != 0 {
        return err(Errno::EINVAL);
    }
    err(Errno::EFAULT)
}

/// `bpf_get_stack`: no stack to walk: the buffer is zeroed, `-EFAULT`.
pub(super) fn get_stack(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let size = a[2] as u32 as usize;
    if a[3] & !STACK_FLAGS != 0 {
        return err(Errno::EINVAL);
    }
    c.write(a[1], &vec![0; size])?;
    err(Errno::EFAULT)
}

/// `bpf_current_task_under_cgroup`: the slot holds a cgroup id (standing for the
/// kernel's cgroup fd); the task is under it when it is the task's cgroup id.
pub(super) fn current_task_under_cgroup(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let m = map_arg(c, a[0])?;
    let Some(slot) = m.cgroup_at(a[1] as u32) else {
        return Err(fail_at(c, format!("current_task_under_cgroup needs a cgroup_array, not {}", m.kind())));
    };
    match slot {
        Err(e) => err(e),
        Ok(None) => err(Errno::EAGAIN),
        Ok(Some(id)) => ret((id as u64 == st(c)?.shared.opts.task.cgroup_id) as u64),
    }
}

/// `bpf_copy_from_user`: user memory is what `probe_read_user` can read.
pub(super) fn copy_from_user(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    probe_read(c, [a[0], a[1], a[2], 0, 0])
}

/// `bpf_rcu_read_lock()` / `bpf_rcu_read_unlock()`: a run holds nothing another
/// thread could free under it; the verifier checks the pairing.
fn rcu_read_lock(_c: &mut HelperCtx<'_>, _a: [u64; 5]) -> R {
    ret(0)
}

fn rcu_read_unlock(_c: &mut HelperCtx<'_>, _a: [u64; 5]) -> R {
    ret(0)
}

pub(super) const RCU_KFUNCS: [(&str, HelperFn); 2] =
    [("bpf_rcu_read_lock", rcu_read_lock), ("bpf_rcu_read_unlock", rcu_read_unlock)];
