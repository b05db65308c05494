//! Kernel helpers by number, with the kernel's semantics, for programs run by a
//! [`crate::Runtime`]. Each reaches the run's state (`RunState`) through
//! [`HelperCtx::env`]. Error paths return `-errno` in r0 as the kernel does; a
//! call the kernel's verifier would have refused (a wrong map type, a pointer that
//! is not the context, releasing a lock not held) stops the run with
//! [`VmError::Helper`] naming the helper and pc.

use crate::csum;
use crate::ctx::{Ctx, XDP_FRAME_HDR};
use crate::maps::{spin_lock, spin_unlock, Errno, Found, Map};
use crate::memory::{Region, RegionKind};
use crate::printk::{self, Reader};
use crate::runtime::{map_handle, Event, Redirect, RunState, MAX_TAIL_CALL_CNT};
use crate::{HelperCtx, HelperFn, HelperOutcome, HelperTable, MemView, VmError};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

type R = Result<HelperOutcome, VmError>;

fn ret(v: u64) -> R {
    Ok(HelperOutcome::Return(v))
}

fn err(e: Errno) -> R {
    ret(e.ret())
}

fn fail_at(c: &HelperCtx<'_>, why: impl Into<String>) -> VmError {
    c.fail(why)
}

fn st<'a>(c: &'a mut HelperCtx<'_>) -> Result<&'a mut RunState, VmError> {
    let (pc, id) = (c.pc(), c.helper_id());
    c.env::<RunState>().ok_or_else(|| VmError::Helper { pc, id, reason: "kernel helpers need a bpfbox Runtime".into() })
}

fn split<'a>(c: &'a mut HelperCtx<'_>) -> Result<(&'a mut RunState, MemView<'a>), VmError> {
    let (pc, id) = (c.pc(), c.helper_id());
    c.env_and_mem::<RunState>().ok_or_else(|| VmError::Helper {
        pc,
        id,
        reason: "kernel helpers need a bpfbox Runtime".into(),
    })
}

/// The map a handle argument names.
fn map_arg(c: &mut HelperCtx<'_>, h: u64) -> Result<Arc<Map>, VmError> {
    let m = st(c)?.shared.map_of_handle(h).cloned();
    m.ok_or_else(|| fail_at(c, format!("argument {h:#x} is not a map")))
}

fn read_vec(c: &mut HelperCtx<'_>, addr: u64, len: usize) -> Result<Vec<u8>, VmError> {
    let mut v = vec![0; len];
    c.read(addr, &mut v)?;
    Ok(v)
}

fn ensure_ctx(c: &mut HelperCtx<'_>, addr: u64) -> Result<(), VmError> {
    if st(c)?.ctx.is_ctx(addr) {
        Ok(())
    } else {
        Err(fail_at(c, format!("argument {addr:#x} is not the context")))
    }
}

/// Register a value region the program was handed.
fn hand_out(mem: &mut MemView<'_>, addr: u64, len: usize, writable: bool, kind: RegionKind) {
    if len == 0 {
        return;
    }
    // SAFETY: callers pass memory that outlives the run: map storage (kept alive by
    // the map or by the run's pins), ring buffer records (until submitted or
    // discarded, when the region is removed), key buffers owned by the run state.
    unsafe {
        mem.add_region(Region::from_raw_parts(
            kind,
            std::ptr::with_exposed_provenance_mut(addr as usize),
            len as u64,
            writable,
        ))
    }
}

// ---- maps ----

fn map_lookup_elem(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let m = map_arg(c, a[0])?;
    if !m.prog_readable() {
        return Err(fail_at(c, format!("map `{}` is write-only for programs", m.name())));
    }
    let key = read_vec(c, a[1], m.key_size() as usize)?;
    lookup_common(c, &m, &key, None)
}

fn lookup_common(c: &mut HelperCtx<'_>, m: &Arc<Map>, key: &[u8], cpu: Option<u32>) -> R {
    let (s, mut mem) = split(c)?;
    let cpu = cpu.unwrap_or(s.cpu);
    match m.prog_lookup(key, cpu, &mut s.pins) {
        Ok(Some(Found::Mem { ptr, len, writable })) => {
            let addr = ptr.expose_provenance() as u64;
            hand_out(&mut mem, addr, len, writable, RegionKind::MapValue);
            ret(addr)
        }
        Ok(Some(Found::Map(inner))) => ret(map_handle(inner.id())),
        Ok(None) => ret(0),
        Err(_) => Err(fail_at(c, format!("programs cannot look up {} maps", m.kind()))),
    }
}

fn map_lookup_percpu_elem(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let m = map_arg(c, a[0])?;
    if !m.is_percpu() {
        return Err(fail_at(c, format!("map `{}` is not per-CPU", m.name())));
    }
    let key = read_vec(c, a[1], m.key_size() as usize)?;
    if a[2] >= m.nr_cpus() as u64 {
        return ret(0);
    }
    lookup_common(c, &m, &key, Some(a[2] as u32))
}

fn writable_map(c: &mut HelperCtx<'_>, h: u64) -> Result<Arc<Map>, VmError> {
    let m = map_arg(c, h)?;
    if !m.prog_writable() {
        return Err(fail_at(c, format!("map `{}` is read-only for programs", m.name())));
    }
    Ok(m)
}

fn map_update_elem(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let m = writable_map(c, a[0])?;
    let key = read_vec(c, a[1], m.key_size() as usize)?;
    let value = read_vec(c, a[2], m.value_size() as usize)?;
    let cpu = st(c)?.cpu;
    match m.prog_update(&key, &value, a[3], cpu) {
        Err(Errno::EOPNOTSUPP) => Err(fail_at(c, format!("programs cannot update {} maps", m.kind()))),
        r => ret(r.err().map_or(0, Errno::ret)),
    }
}

fn map_delete_elem(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let m = writable_map(c, a[0])?;
    let key = read_vec(c, a[1], m.key_size() as usize)?;
    match m.prog_delete(&key) {
        Err(Errno::EOPNOTSUPP) => Err(fail_at(c, format!("programs cannot delete from {} maps", m.kind()))),
        r => ret(r.err().map_or(0, Errno::ret)),
    }
}

fn map_push_elem(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let m = writable_map(c, a[0])?;
    let value = read_vec(c, a[1], m.value_size() as usize)?;
    use bpfbox_abi::map_types::MapType;
    if !matches!(m.kind(), MapType::Queue | MapType::Stack | MapType::BloomFilter) {
        return Err(fail_at(c, format!("map_push_elem needs a queue, stack or bloom filter, not {}", m.kind())));
    }
    let cpu = st(c)?.cpu;
    ret(m.prog_update(&[], &value, a[2], cpu).err().map_or(0, Errno::ret))
}

fn map_pop_peek(c: &mut HelperCtx<'_>, a: [u64; 5], pop: bool) -> R {
    let m = map_arg(c, a[0])?;
    let n = m.value_size() as usize;
    if !pop {
        if let Ok(v) = {
            let value = read_vec(c, a[1], n)?;
            m.prog_bloom_peek(&value)
        } {
            return ret(if v { 0 } else { Errno::ENOENT.ret() });
        }
    }
    if pop && !m.prog_writable() {
        return Err(fail_at(c, format!("map `{}` is read-only for programs", m.name())));
    }
    match m.prog_pop(pop) {
        Ok(v) => {
            c.write(a[1], &v)?;
            ret(0)
        }
        Err(Errno::EOPNOTSUPP) => Err(fail_at(c, format!("{} maps have no pop/peek", m.kind()))),
        Err(e) => {
            c.write(a[1], &vec![0; n])?;
            err(e)
        }
    }
}

fn map_pop_elem(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    map_pop_peek(c, a, true)
}

fn map_peek_elem(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    map_pop_peek(c, a, false)
}

fn for_each_map_elem(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let m = map_arg(c, a[0])?;
    if a[3] != 0 {
        return err(Errno::EINVAL);
    }
    let (s, _) = split(c)?;
    let cpu = s.cpu;
    let elems = match m.prog_elems(cpu, &mut s.pins) {
        Ok(e) => e,
        Err(_) => return Err(fail_at(c, format!("for_each_map_elem does not support {} maps", m.kind()))),
    };
    let mut n = 0u64;
    for (key, value) in elems {
        let (s, mut mem) = split(c)?;
        let k: Box<[u8]> = key.into_boxed_slice();
        let kaddr = k.as_ptr().expose_provenance() as u64;
        hand_out(&mut mem, kaddr, k.len(), false, RegionKind::Other);
        hand_out(&mut mem, value, m.value_size() as usize, m.prog_writable(), RegionKind::MapValue);
        s.scratch.push(k);
        n += 1;
        let r = c.call_function(a[1], [map_handle(m.id()), kaddr, value, a[2], 0])?;
        if r != 0 {
            break;
        }
    }
    ret(n)
}

/// `BPF_MAX_LOOPS`.
const MAX_LOOPS: u64 = 1 << 23;

fn bpf_loop(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    if a[3] != 0 {
        return err(Errno::EINVAL);
    }
    let nr = a[0] as u32 as u64;
    if nr > MAX_LOOPS {
        return err(Errno::E2BIG);
    }
    for i in 0..nr {
        if c.call_function(a[1], [i, a[2], 0, 0, 0])? != 0 {
            return ret(i + 1);
        }
    }
    ret(nr)
}

fn tail_call(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let m = map_arg(c, a[1])?;
    if m.kind() != bpfbox_abi::map_types::MapType::ProgArray {
        return Err(fail_at(c, format!("tail_call needs a prog_array, not {}", m.kind())));
    }
    if c.depth() > 0 {
        return Err(fail_at(c, "tail calls from subprograms or callbacks are not supported by bpfbox"));
    }
    let index = a[2] as u32;
    let s = st(c)?;
    if s.held_lock.is_some() {
        return Err(fail_at(c, "tail call while holding a bpf_spin_lock"));
    }
    if index >= m.max_entries() || s.tail_calls >= MAX_TAIL_CALL_CNT {
        return err(Errno::ENOENT);
    }
    let Some(p) = m.prog_at(index).and_then(|id| s.shared.prog(id).cloned()) else {
        return err(Errno::ENOENT);
    };
    s.tail_calls += 1;
    s.tail_call = Some((p, a[0]));
    Ok(HelperOutcome::Exit(0))
}

// ---- time, random, cpu, task ----

fn ktime_get_ns(c: &mut HelperCtx<'_>, _: [u64; 5]) -> R {
    ret(st(c)?.shared.now(libc::CLOCK_MONOTONIC))
}

fn ktime_get_boot_ns(c: &mut HelperCtx<'_>, _: [u64; 5]) -> R {
    ret(st(c)?.shared.now(libc::CLOCK_BOOTTIME))
}

fn ktime_get_coarse_ns(c: &mut HelperCtx<'_>, _: [u64; 5]) -> R {
    ret(st(c)?.shared.now(libc::CLOCK_MONOTONIC_COARSE))
}

fn ktime_get_tai_ns(c: &mut HelperCtx<'_>, _: [u64; 5]) -> R {
    ret(st(c)?.shared.now(libc::CLOCK_TAI))
}

/// `jiffies_64` with HZ=1000, from `INITIAL_JIFFIES` (5 minutes before the wrap).
fn jiffies64(c: &mut HelperCtx<'_>, _: [u64; 5]) -> R {
    let ns = st(c)?.shared.now(libc::CLOCK_MONOTONIC);
    ret((u32::MAX as u64 + 1 - 300 * 1000) + ns / 1_000_000)
}

fn get_prandom_u32(c: &mut HelperCtx<'_>, _: [u64; 5]) -> R {
    let s = st(c)?;
    // splitmix64 over a shared counter.
    let mut z =
        s.shared.prandom.fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed).wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    ret((z ^ (z >> 31)) as u32 as u64)
}

fn get_smp_processor_id(c: &mut HelperCtx<'_>, _: [u64; 5]) -> R {
    ret(st(c)?.cpu as u64)
}

fn zero(_: &mut HelperCtx<'_>, _: [u64; 5]) -> R {
    ret(0)
}

fn get_current_pid_tgid(c: &mut HelperCtx<'_>, _: [u64; 5]) -> R {
    let t = &st(c)?.shared.opts.task;
    ret((t.tgid as u64) << 32 | t.pid as u64)
}

fn get_current_uid_gid(c: &mut HelperCtx<'_>, _: [u64; 5]) -> R {
    let t = &st(c)?.shared.opts.task;
    ret((t.gid as u64) << 32 | t.uid as u64)
}

fn get_current_comm(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
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

fn get_current_task(c: &mut HelperCtx<'_>, _: [u64; 5]) -> R {
    ret(st(c)?.shared.opts.task.task_addr)
}

fn get_current_cgroup_id(c: &mut HelperCtx<'_>, _: [u64; 5]) -> R {
    ret(st(c)?.shared.opts.task.cgroup_id)
}

fn get_func_ip(c: &mut HelperCtx<'_>, _: [u64; 5]) -> R {
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

fn get_attach_cookie(c: &mut HelperCtx<'_>, _: [u64; 5]) -> R {
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

fn format_with(c: &mut HelperCtx<'_>, fmt: &[u8], args: &[u64]) -> Result<Result<Vec<u8>, Errno>, VmError> {
    let mut mem = c.mem();
    Ok(printk::format(fmt, args, &mut MemReader { mem: &mut mem }))
}

/// The format of trace_printk / trace_vprintk: `fmt_size` bytes holding a NUL.
fn read_fmt(c: &mut HelperCtx<'_>, addr: u64, size: u64) -> Result<Option<Vec<u8>>, VmError> {
    if size == 0 || size > 1 << 16 {
        return Ok(None);
    }
    let b = read_vec(c, addr, size as usize)?;
    Ok(b.iter().position(|x| *x == 0).map(|n| b[..n].to_vec()))
}

/// The u64 array of trace_vprintk / snprintf (`data_len` a multiple of 8, at most 12 values).
fn read_args(c: &mut HelperCtx<'_>, addr: u64, len: u64) -> Result<Option<Vec<u64>>, VmError> {
    if !len.is_multiple_of(8) || len / 8 > 12 {
        return Ok(None);
    }
    let b = read_vec(c, addr, len as usize)?;
    Ok(Some(b.chunks(8).map(|w| u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]])).collect()))
}

fn emit(c: &mut HelperCtx<'_>, mut text: Vec<u8>) -> R {
    text.truncate(printk::MAX_BUF - 1);
    let n = text.len() as u64;
    if text.last() == Some(&b'\n') {
        text.pop();
    }
    st(c)?.printk.push(String::from_utf8_lossy(&text).into_owned());
    ret(n)
}

fn trace_printk(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let Some(fmt) = read_fmt(c, a[0], a[1])? else { return err(Errno::EINVAL) };
    match format_with(c, &fmt, &[a[2], a[3], a[4]])? {
        Ok(t) => emit(c, t),
        Err(e) => err(e),
    }
}

fn trace_vprintk(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let Some(fmt) = read_fmt(c, a[0], a[1])? else { return err(Errno::EINVAL) };
    let Some(args) = read_args(c, a[2], a[3])? else { return err(Errno::EINVAL) };
    match format_with(c, &fmt, &args)? {
        Ok(t) => emit(c, t),
        Err(e) => err(e),
    }
}

fn snprintf(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
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
fn probe(c: &mut HelperCtx<'_>, addr: u64, len: usize) -> Result<Option<Vec<u8>>, VmError> {
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

fn probe_read(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
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

fn probe_read_str(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
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

// ---- ring buffer, perf buffer ----

fn ringbuf_of(c: &mut HelperCtx<'_>, h: u64) -> Result<Arc<Map>, VmError> {
    let m = map_arg(c, h)?;
    if m.ringbuf().is_none() {
        return Err(fail_at(c, format!("map `{}` is not a ring buffer", m.name())));
    }
    Ok(m)
}

fn record_event(s: &mut RunState, m: &Arc<Map>, cpu: Option<u32>, data: Vec<u8>) {
    if let (Some(i), Some(p)) = (cpu, m.perf()) {
        if !s.shared.opts.consume_events {
            p.push(i, data.clone());
        }
    }
    s.touch(m);
    s.events.push(Event { map: m.name().to_string(), cpu, data });
}

fn ringbuf_output(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let m = ringbuf_of(c, a[0])?;
    if a[3] & !3 != 0 {
        return err(Errno::EINVAL);
    }
    let data = read_vec(c, a[1], a[2] as usize)?;
    let rb = m.ringbuf().ok_or_else(|| fail_at(c, "not a ring buffer"))?;
    let Some((addr, _)) = rb.reserve(data.len() as u64) else { return err(Errno::EAGAIN) };
    // SAFETY: the record was just reserved: its data is `data.len()` bytes at `addr`.
    unsafe {
        std::ptr::copy_nonoverlapping(data.as_ptr(), std::ptr::with_exposed_provenance_mut(addr as usize), data.len())
    };
    let _ = rb.finish(addr, true);
    record_event(st(c)?, &m, None, data);
    ret(0)
}

fn ringbuf_reserve(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let m = ringbuf_of(c, a[0])?;
    if a[2] != 0 {
        return ret(0);
    }
    let rb = m.ringbuf().ok_or_else(|| fail_at(c, "not a ring buffer"))?;
    let Some((addr, len)) = rb.reserve(a[1]) else { return ret(0) };
    let (s, mut mem) = split(c)?;
    hand_out(&mut mem, addr, len, true, RegionKind::RingbufRecord);
    s.reservations.push((m, addr));
    ret(addr)
}

fn ringbuf_finish(c: &mut HelperCtx<'_>, a: [u64; 5], commit: bool) -> R {
    let (s, mut mem) = split(c)?;
    let Some(i) = s.reservations.iter().position(|(_, addr)| *addr == a[0]) else {
        return Err(fail_at(c, format!("{:#x} is not a reserved ring buffer record", a[0])));
    };
    let (m, addr) = s.reservations.swap_remove(i);
    mem.remove_region(addr);
    let data = m.ringbuf().and_then(|rb| rb.finish(addr, commit).ok()).flatten();
    if let Some(d) = data {
        record_event(s, &m, None, d);
    }
    ret(0)
}

fn ringbuf_submit(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    ringbuf_finish(c, a, true)
}

fn ringbuf_discard(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    ringbuf_finish(c, a, false)
}

fn ringbuf_query(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let m = ringbuf_of(c, a[0])?;
    ret(m.ringbuf_query(a[1]).unwrap_or(0))
}

/// `BPF_F_INDEX_MASK`, `BPF_F_CURRENT_CPU`, `BPF_F_CTXLEN_MASK`.
const INDEX_MASK: u64 = 0xffff_ffff;
const CTXLEN_MASK: u64 = 0xf_ffff << 32;

fn perf_event_output(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let m = map_arg(c, a[1])?;
    let Some(p) = m.perf() else {
        return Err(fail_at(c, format!("map `{}` is not a perf_event_array", m.name())));
    };
    let flags = a[2];
    if flags & !(INDEX_MASK | CTXLEN_MASK) != 0 {
        return err(Errno::EINVAL);
    }
    let ctxlen = ((flags & CTXLEN_MASK) >> 32) as usize;
    let data = read_vec(c, a[3], a[4] as usize)?;
    let s = st(c)?;
    let mut index = (flags & INDEX_MASK) as u32;
    if index == u32::MAX {
        index = s.cpu;
    }
    match p.is_connected(index) {
        None => return err(Errno::E2BIG),
        Some(false) => return err(Errno::ENOENT),
        Some(true) => {}
    }
    let mut data = data;
    if ctxlen > 0 {
        let pkt = match &s.ctx {
            Ctx::Skb(k) => k.data().to_vec(),
            Ctx::Xdp(x) => x.buf[x.data..x.end].to_vec(),
            _ => return err(Errno::EINVAL),
        };
        if ctxlen > pkt.len() {
            return err(Errno::EFAULT);
        }
        data.extend_from_slice(&pkt[..ctxlen]);
    }
    record_event(s, &m, Some(index), data);
    ret(0)
}

// ---- spin locks ----

fn spin_lock_h(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let addr = a[0];
    if !addr.is_multiple_of(4) || c.region_kind(addr) != Some(RegionKind::MapValue) {
        return Err(fail_at(c, format!("{addr:#x} is not a bpf_spin_lock in a map value")));
    }
    let p = c.mem().translate(addr, 4, true)?;
    let s = st(c)?;
    if s.held_lock.is_some() {
        return Err(fail_at(c, "a bpf_spin_lock is already held (one at a time)"));
    }
    // SAFETY: 4-aligned, inside a writable map value kept alive for the run; lock
    // words are only accessed atomically.
    let w = unsafe { AtomicU32::from_ptr(p as *mut u32) };
    spin_lock(w);
    s.held_lock = Some((addr, p as *const AtomicU32));
    ret(0)
}

fn spin_unlock_h(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let s = st(c)?;
    match s.held_lock {
        Some((addr, w)) if addr == a[0] => {
            // SAFETY: taken by spin_lock_h in this run.
            spin_unlock(unsafe { &*w });
            s.held_lock = None;
            ret(0)
        }
        _ => Err(fail_at(c, format!("bpf_spin_unlock of {:#x}, which is not held", a[0]))),
    }
}

// ---- strings ----

fn is_kspace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | 0xa0)
}

/// `__bpf_strtoull`: Ok((consumed, value, negative)).
fn strtoull(buf: &[u8], flags: u64) -> Result<(usize, u64, bool), Errno> {
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

fn strto(c: &mut HelperCtx<'_>, a: [u64; 5], signed: bool) -> R {
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

fn strtol(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    strto(c, a, true)
}

fn strtoul(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    strto(c, a, false)
}

fn strncmp(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
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

// ---- XDP ----

fn with_xdp<T>(
    c: &mut HelperCtx<'_>,
    ctx: u64,
    f: impl FnOnce(&mut crate::ctx::Xdp, &mut MemView<'_>) -> T,
) -> Result<T, VmError> {
    ensure_ctx(c, ctx)?;
    let (s, mut mem) = split(c)?;
    match &mut s.ctx {
        Ctx::Xdp(x) => Ok(f(x, &mut mem)),
        _ => Err(fail_at(c, "not an XDP context")),
    }
}

fn set_xdp_packet(x: &crate::ctx::Xdp, mem: &mut MemView<'_>) {
    // SAFETY: the frame buffer lives in the run state for the whole run.
    unsafe { mem.set_packet(Some(x.packet_region())) }
}

const ETH_HLEN: i64 = 14;

fn xdp_adjust_head(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
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

fn xdp_adjust_meta(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
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

fn xdp_adjust_tail(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
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

fn xdp_get_buff_len(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    ret(with_xdp(c, a[0], |x, _| (x.end - x.data) as u64)?)
}

fn xdp_bytes(c: &mut HelperCtx<'_>, a: [u64; 5], store: bool) -> R {
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

fn xdp_load_bytes(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    xdp_bytes(c, a, false)
}

fn xdp_store_bytes(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    xdp_bytes(c, a, true)
}

// ---- skb ----

fn with_skb<T>(
    c: &mut HelperCtx<'_>,
    ctx: u64,
    f: impl FnOnce(&mut crate::ctx::Skb, &mut MemView<'_>) -> T,
) -> Result<T, VmError> {
    ensure_ctx(c, ctx)?;
    let (s, mut mem) = split(c)?;
    match &mut s.ctx {
        Ctx::Skb(k) => Ok(f(k, &mut mem)),
        _ => Err(fail_at(c, "not an __sk_buff context")),
    }
}

fn set_skb_packet(k: &crate::ctx::Skb, mem: &mut MemView<'_>) {
    // SAFETY: the buffer lives in the run state; helpers that reallocate it call
    // this right after.
    unsafe { mem.set_packet(Some(k.packet_region())) }
}

fn skb_load_bytes(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let (off, len) = (a[1] as u32 as usize, a[3] as u32 as usize);
    let got = with_skb(c, a[0], |k, _| {
        if off > 0xffff || off + len > k.len {
            None
        } else {
            Some(k.data()[off..off + len].to_vec())
        }
    })?;
    match got {
        Some(v) => {
            c.write(a[2], &v)?;
            ret(0)
        }
        None => {
            c.write(a[2], &vec![0; len])?;
            err(Errno::EFAULT)
        }
    }
}

/// `BPF_F_RECOMPUTE_CSUM`, `BPF_F_INVALIDATE_HASH`.
const RECOMPUTE_CSUM: u64 = 1;
const INVALIDATE_HASH: u64 = 2;

fn skb_store_bytes(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
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

fn csum_replace(c: &mut HelperCtx<'_>, a: [u64; 5], l4: bool) -> R {
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

fn l3_csum_replace(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    csum_replace(c, a, false)
}

fn l4_csum_replace(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    csum_replace(c, a, true)
}

fn csum_diff(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let (fs, ts) = (a[1] as u32 as usize, a[3] as u32 as usize);
    if (fs | ts) % 4 != 0 {
        return err(Errno::EINVAL);
    }
    let from = if fs > 0 { read_vec(c, a[0], fs)? } else { Vec::new() };
    let to = if ts > 0 { read_vec(c, a[2], ts)? } else { Vec::new() };
    ret(csum::diff(&from, &to, a[4] as u32) as u64)
}

fn csum_update(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    with_skb(c, a[0], |_, _| ())?;
    err(Errno::ENOTSUPP)
}

fn skb_pull_data(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
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

fn skb_change_tail(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
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

fn skb_change_head(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
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

fn set_hash(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    with_skb(c, a[0], |k, _| k.hash = a[1] as u32)?;
    ret(0)
}

fn get_hash_recalc(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
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

fn redirect(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let s = st(c)?;
    let xdp = matches!(s.ctx, Ctx::Xdp(_));
    let (ok, done) = if xdp { (a[1] == 0, XDP_REDIRECT) } else { (a[1] & !BPF_F_INGRESS == 0, TC_ACT_REDIRECT) };
    if !ok {
        return ret(if xdp { XDP_ABORTED } else { TC_ACT_SHOT });
    }
    s.redirect = Some(Redirect { ifindex: a[0] as u32, flags: a[1], map: None, key: None });
    ret(done)
}

fn redirect_map(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
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

// ---- stacks, cgroups, user memory ----

/// `BPF_F_SKIP_FIELD_MASK | BPF_F_USER_STACK | BPF_F_FAST_STACK_CMP | BPF_F_REUSE_STACKID`
/// (and `BPF_F_USER_BUILD_ID` for `get_stack`).
const STACK_FLAGS: u64 = 0xff | 1 << 8 | 1 << 9 | 1 << 10 | 1 << 11;

/// `bpf_get_stackid`: there is no kernel or user stack to walk in user space: `-EFAULT`.
fn get_stackid(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
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
fn get_stack(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let size = a[2] as u32 as usize;
    if a[3] & !STACK_FLAGS != 0 {
        return err(Errno::EINVAL);
    }
    c.write(a[1], &vec![0; size])?;
    err(Errno::EFAULT)
}

/// `bpf_current_task_under_cgroup`: the slot holds a cgroup id (standing for the
/// kernel's cgroup fd); the task is under it when it is the task's cgroup id.
fn current_task_under_cgroup(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
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
fn copy_from_user(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    probe_read(c, [a[0], a[1], a[2], 0, 0])
}

/// `BPF_F_ADJ_ROOM_*` flags the kernel accepts (encap/decap kinds, L2 length).
const ADJ_ROOM_FLAGS: u64 = 0xff << 56 | 0x3ff;

/// `bpf_skb_adjust_room`: insert (zeroed) or remove room after the MAC header
/// (`BPF_ADJ_ROOM_MAC`) or after the base network header (`BPF_ADJ_ROOM_NET`: 20
/// bytes for IPv4, 40 for IPv6), for IPv4/IPv6 packets.
fn skb_adjust_room(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
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

// ---- the table ----

const HELPERS: &[(&str, HelperFn)] = &[
    ("map_lookup_elem", map_lookup_elem),
    ("map_update_elem", map_update_elem),
    ("map_delete_elem", map_delete_elem),
    ("map_push_elem", map_push_elem),
    ("map_pop_elem", map_pop_elem),
    ("map_peek_elem", map_peek_elem),
    ("map_lookup_percpu_elem", map_lookup_percpu_elem),
    ("for_each_map_elem", for_each_map_elem),
    ("loop", bpf_loop),
    ("tail_call", tail_call),
    ("ktime_get_ns", ktime_get_ns),
    ("ktime_get_boot_ns", ktime_get_boot_ns),
    ("ktime_get_coarse_ns", ktime_get_coarse_ns),
    ("ktime_get_tai_ns", ktime_get_tai_ns),
    ("jiffies64", jiffies64),
    ("get_prandom_u32", get_prandom_u32),
    ("get_smp_processor_id", get_smp_processor_id),
    ("get_numa_node_id", zero),
    ("get_current_pid_tgid", get_current_pid_tgid),
    ("get_current_uid_gid", get_current_uid_gid),
    ("get_current_comm", get_current_comm),
    ("get_current_task", get_current_task),
    ("get_current_task_btf", get_current_task),
    ("get_current_cgroup_id", get_current_cgroup_id),
    ("get_func_ip", get_func_ip),
    ("get_attach_cookie", get_attach_cookie),
    ("trace_printk", trace_printk),
    ("trace_vprintk", trace_vprintk),
    ("snprintf", snprintf),
    ("probe_read", probe_read),
    ("probe_read_kernel", probe_read),
    ("probe_read_user", probe_read),
    ("probe_read_str", probe_read_str),
    ("probe_read_kernel_str", probe_read_str),
    ("probe_read_user_str", probe_read_str),
    ("ringbuf_output", ringbuf_output),
    ("ringbuf_reserve", ringbuf_reserve),
    ("ringbuf_submit", ringbuf_submit),
    ("ringbuf_discard", ringbuf_discard),
    ("ringbuf_query", ringbuf_query),
    ("perf_event_output", perf_event_output),
    ("spin_lock", spin_lock_h),
    ("spin_unlock", spin_unlock_h),
    ("strtol", strtol),
    ("strtoul", strtoul),
    ("strncmp", strncmp),
    ("xdp_adjust_head", xdp_adjust_head),
    ("xdp_adjust_meta", xdp_adjust_meta),
    ("xdp_adjust_tail", xdp_adjust_tail),
    ("xdp_get_buff_len", xdp_get_buff_len),
    ("xdp_load_bytes", xdp_load_bytes),
    ("xdp_store_bytes", xdp_store_bytes),
    ("skb_load_bytes", skb_load_bytes),
    ("skb_store_bytes", skb_store_bytes),
    ("l3_csum_replace", l3_csum_replace),
    ("l4_csum_replace", l4_csum_replace),
    ("csum_diff", csum_diff),
    ("csum_update", csum_update),
    ("skb_pull_data", skb_pull_data),
    ("skb_change_tail", skb_change_tail),
    ("skb_change_head", skb_change_head),
    ("set_hash", set_hash),
    ("get_hash_recalc", get_hash_recalc),
    ("get_cgroup_classid", zero),
    ("get_route_realm", zero),
    ("redirect", redirect),
    ("redirect_map", redirect_map),
    ("get_stackid", get_stackid),
    ("get_stack", get_stack),
    ("current_task_under_cgroup", current_task_under_cgroup),
    ("copy_from_user", copy_from_user),
    ("skb_adjust_room", skb_adjust_room),
];

/// The helpers a [`crate::Runtime`] gives its programs, by kernel number.
pub(crate) fn table() -> HelperTable {
    let mut t = HelperTable::empty();
    for (name, f) in HELPERS {
        if let Some(p) = bpfbox_abi::helper_by_name(name) {
            t.register(*p, *f);
        }
    }
    t
}

/// Names of the helpers bpfbox implements.
pub fn implemented() -> impl Iterator<Item = &'static str> {
    HELPERS.iter().map(|(n, _)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_helper_is_a_kernel_helper() {
        for (name, _) in HELPERS {
            assert!(bpfbox_abi::helper_by_name(name).is_some(), "{name}");
        }
        assert_eq!(table().len(), HELPERS.len());
        assert!(HELPERS.len() >= 40);
    }

    #[test]
    fn strtoull_follows_the_kernel() {
        assert_eq!(strtoull(b"  -123abc", 10), Ok((6, 123, true)));
        assert_eq!(strtoull(b"0x1f", 0), Ok((4, 31, false)));
        assert_eq!(strtoull(b"0x1f", 16), Ok((4, 31, false)));
        assert_eq!(strtoull(b"017", 0), Ok((3, 15, false)));
        assert_eq!(strtoull(b"0", 0), Ok((1, 0, false)));
        assert_eq!(strtoull(b"0x", 16), Err(Errno::EINVAL));
        assert_eq!(strtoull(b"   ", 10), Err(Errno::EINVAL));
        assert_eq!(strtoull(b"12", 7), Err(Errno::EINVAL));
        assert_eq!(strtoull(b"12", 10 | 0x20), Err(Errno::EINVAL));
        assert_eq!(strtoull(b"99999999999999999999", 10), Err(Errno::ERANGE));
        assert_eq!(strtoull(b"z", 10), Err(Errno::EINVAL));
    }
}
