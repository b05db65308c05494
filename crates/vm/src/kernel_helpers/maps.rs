//! Map helpers, `bpf_loop`, tail calls, ring and perf buffers, spin locks.

use super::*;

// ---- maps ----

pub(super) fn map_lookup_elem(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let m = map_arg(c, a[0])?;
    if !m.prog_readable() {
        return Err(fail_at(c, format!("map `{}` is write-only for programs", m.name())));
    }
    // Keys of up to 64 bytes are read onto the stack: a lookup allocates nothing.
    let len = m.key_size() as usize;
    let mut small = [0u8; 64];
    let big;
    let key: &[u8] = match small.get_mut(..len) {
        Some(k) => {
            c.read(a[1], k)?;
            k
        }
        None => {
            big = read_vec(c, a[1], len)?;
            &big
        }
    };
    lookup_common(c, &m, key, None)
}

pub(super) fn lookup_common(c: &mut HelperCtx<'_>, m: &Arc<Map>, key: &[u8], cpu: Option<u32>) -> R {
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

pub(super) fn map_lookup_percpu_elem(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
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

pub(super) fn writable_map(c: &mut HelperCtx<'_>, h: u64) -> Result<Arc<Map>, VmError> {
    let m = map_arg(c, h)?;
    if !m.prog_writable() {
        return Err(fail_at(c, format!("map `{}` is read-only for programs", m.name())));
    }
    Ok(m)
}

pub(super) fn map_update_elem(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let m = writable_map(c, a[0])?;
    let key = read_vec(c, a[1], m.key_size() as usize)?;
    let value = read_vec(c, a[2], m.value_size() as usize)?;
    let cpu = st(c)?.cpu;
    match m.prog_update(&key, &value, a[3], cpu) {
        Err(Errno::EOPNOTSUPP) => Err(fail_at(c, format!("programs cannot update {} maps", m.kind()))),
        r => ret(r.err().map_or(0, Errno::ret)),
    }
}

pub(super) fn map_delete_elem(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let m = writable_map(c, a[0])?;
    let key = read_vec(c, a[1], m.key_size() as usize)?;
    match m.prog_delete(&key) {
        Err(Errno::EOPNOTSUPP) => Err(fail_at(c, format!("programs cannot delete from {} maps", m.kind()))),
        r => ret(r.err().map_or(0, Errno::ret)),
    }
}

pub(super) fn map_push_elem(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let m = writable_map(c, a[0])?;
    let value = read_vec(c, a[1], m.value_size() as usize)?;
    use bpfbox_abi::map_types::MapType;
    if !matches!(m.kind(), MapType::Queue | MapType::Stack | MapType::BloomFilter) {
        return Err(fail_at(c, format!("map_push_elem needs a queue, stack or bloom filter, not {}", m.kind())));
    }
    let cpu = st(c)?.cpu;
    ret(m.prog_update(&[], &value, a[2], cpu).err().map_or(0, Errno::ret))
}

pub(super) fn map_pop_peek(c: &mut HelperCtx<'_>, a: [u64; 5], pop: bool) -> R {
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

pub(super) fn map_pop_elem(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    map_pop_peek(c, a, true)
}

pub(super) fn map_peek_elem(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    map_pop_peek(c, a, false)
}

pub(super) fn for_each_map_elem(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
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

pub(super) fn bpf_loop(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
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

pub(super) fn tail_call(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
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

// ---- ring buffer, perf buffer ----

pub(super) fn ringbuf_of(c: &mut HelperCtx<'_>, h: u64) -> Result<Arc<Map>, VmError> {
    let m = map_arg(c, h)?;
    if m.ringbuf().is_none() {
        return Err(fail_at(c, format!("map `{}` is not a ring buffer", m.name())));
    }
    Ok(m)
}

pub(super) fn record_event(s: &mut RunState, m: &Arc<Map>, cpu: Option<u32>, data: Vec<u8>) {
    if let (Some(i), Some(p)) = (cpu, m.perf()) {
        if !s.shared.opts.consume_events {
            p.push(i, data.clone());
        }
    }
    s.touch(m);
    s.events.push(Event { map: m.name().to_string(), cpu, data });
}

pub(super) fn ringbuf_output(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
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

pub(super) fn ringbuf_reserve(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
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

pub(super) fn ringbuf_finish(c: &mut HelperCtx<'_>, a: [u64; 5], commit: bool) -> R {
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

pub(super) fn ringbuf_submit(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    ringbuf_finish(c, a, true)
}

pub(super) fn ringbuf_discard(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    ringbuf_finish(c, a, false)
}

pub(super) fn ringbuf_query(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
    let m = ringbuf_of(c, a[0])?;
    ret(m.ringbuf_query(a[1]).unwrap_or(0))
}

/// `BPF_F_INDEX_MASK`, `BPF_F_CURRENT_CPU`, `BPF_F_CTXLEN_MASK`.
const INDEX_MASK: u64 = 0xffff_ffff;
const CTXLEN_MASK: u64 = 0xf_ffff << 32;

pub(super) fn perf_event_output(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
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

pub(super) fn spin_lock_h(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
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

pub(super) fn spin_unlock_h(c: &mut HelperCtx<'_>, a: [u64; 5]) -> R {
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
