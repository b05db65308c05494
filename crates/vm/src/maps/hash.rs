//! Hash maps: `hash`, `percpu_hash`, `lru_hash`, `lru_percpu_hash`, `devmap_hash`,
//! and the index-keyed device maps (`devmap`, `cpumap`, `xskmap`).
//!
//! The table is open addressing (linear probing) over slots holding element
//! pointers. Readers take no lock: they probe optimistically and validate with a
//! sequence number that every writer bumps before and after changing anything
//! (a seqlock); a read that overlapped a write is retried. Writers are serialized
//! by a mutex.
//!
//! Elements are `Arc<Entry>`s that are never freed while the map lives: an element
//! taken out of the table (delete, replace, LRU eviction) is kept and recycled for a
//! later insert once nothing else holds it, as the kernel's preallocated hash maps
//! recycle theirs. So an optimistic reader never touches freed memory, and a program
//! that looked an element up (and holds an `Arc`, see `Map::prog_lookup`) keeps its
//! value address valid, with the deleted value, until its run ends — what RCU
//! guarantees in the kernel. Replacing an element fills a fresh (or recycled) one,
//! as the kernel does; per-CPU maps update in place.
//!
//! The table grows by doubling into a new slot array; old arrays are kept until the
//! map is dropped (readers may still be probing them), which at most doubles the
//! slot memory.
//!
//! LRU maps evict the least recently used element when an insert finds the map full.
//! The kernel's LRU is approximate (per-CPU lists, reference bits); this one is exact:
//! `used` is a map-wide clock value stamped by program lookups and updates, and
//! `order` a lazily maintained index by clock value (an entry touched since it was
//! indexed is re-indexed when the eviction scan reaches it).

use super::storage::{BytesHash, Entry, KeyBuf};
use super::Errno;
use std::collections::BTreeMap;
use std::hash::BuildHasher;
use std::ptr;
use std::sync::atomic::{fence, AtomicPtr, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// A slot whose element was deleted (probing continues past it).
fn tomb() -> *mut Entry {
    ptr::without_provenance_mut(1)
}

fn is_live(p: *mut Entry) -> bool {
    !p.is_null() && p != tomb()
}

/// A slot: the element and its key's hash (so that probing rarely touches elements).
struct Slot {
    h: AtomicU64,
    p: AtomicPtr<Entry>,
}

impl Slot {
    fn load(&self, o: Ordering) -> *mut Entry {
        self.p.load(o)
    }
}

struct Slots {
    mask: usize,
    s: Box<[Slot]>,
}

impl Slots {
    fn new(cap: usize) -> Slots {
        Slots {
            mask: cap - 1,
            s: (0..cap).map(|_| Slot { h: AtomicU64::new(0), p: AtomicPtr::new(ptr::null_mut()) }).collect(),
        }
    }
}

/// `a[..key.len()] == key` for racy memory, without a libc call for small keys.
///
/// # Safety
/// `a` must be valid for reads of `key.len()` bytes.
#[inline(always)]
unsafe fn key_eq(a: *const u8, key: &[u8]) -> bool {
    // SAFETY: forwarded to the caller.
    unsafe {
        match key.len() {
            4 => ptr::read_unaligned(a as *const u32) == ptr::read_unaligned(key.as_ptr() as *const u32),
            8 => ptr::read_unaligned(a as *const u64) == ptr::read_unaligned(key.as_ptr() as *const u64),
            n if n < 8 => (0..n).all(|i| *a.add(i) == key[i]),
            n => std::slice::from_raw_parts(a, n) == key,
        }
    }
}

/// Writer state, under the mutex.
struct W {
    len: usize,
    tombs: usize,
    /// LRU maps: eviction order (clock value -> key).
    order: BTreeMap<u64, KeyBuf>,
    /// Elements out of the table, recycled when no one else holds them.
    retired: Vec<Arc<Entry>>,
    /// Every slot array; the last one is current (and owns the elements in it).
    /// Boxed: readers hold their address while the vector grows.
    #[allow(clippy::vec_box)]
    tables: Vec<Box<Slots>>,
}

pub(crate) struct HashTable {
    pub lru: bool,
    /// Values are in place per CPU.
    pub percpu: bool,
    max_entries: u32,
    /// Bytes of one element's value storage (all CPUs).
    pub value_len: usize,
    seq: AtomicU64,
    cur: AtomicPtr<Slots>,
    w: Mutex<W>,
    clock: AtomicU64,
}

impl std::fmt::Debug for HashTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashTable").field("lru", &self.lru).field("len", &self.len()).finish_non_exhaustive()
    }
}

/// What an update does when the key exists.
pub(crate) enum Existing {
    /// Fill a new element and swap it in (the old one stays valid for its readers).
    Replace,
    /// Write into the existing element.
    InPlace,
}

fn hash(key: &[u8]) -> u64 {
    BytesHash.hash_one(key)
}

/// Probe `t` for `key` without any lock: the result must be validated.
///
/// # Safety
/// Elements reachable from `t` must be alive (they are, while the map lives).
unsafe fn probe_racy(t: &Slots, key: &[u8], h: u64) -> *mut Entry {
    let mut i = h as usize & t.mask;
    for _ in 0..=t.mask {
        let slot = &t.s[i];
        let p = slot.load(Ordering::Acquire);
        if p.is_null() {
            return p;
        }
        if p != tomb() && slot.h.load(Ordering::Relaxed) == h {
            // SAFETY: live elements are never freed while the map lives; the bytes may
            // be rewritten concurrently, which the caller's validation catches.
            let (kp, n) = unsafe { (*p).key_raw() };
            if n == key.len() && unsafe { key_eq(kp, key) } {
                return p;
            }
        }
        i = (i + 1) & t.mask;
    }
    ptr::null_mut()
}

impl HashTable {
    pub fn new(lru: bool, percpu: bool, max_entries: u32, value_len: usize) -> HashTable {
        let first = Box::new(Slots::new(16));
        let cur = &*first as *const Slots as *mut Slots;
        HashTable {
            lru,
            percpu,
            max_entries,
            value_len,
            seq: AtomicU64::new(0),
            cur: AtomicPtr::new(cur),
            w: Mutex::new(W { len: 0, tombs: 0, order: BTreeMap::new(), retired: Vec::new(), tables: vec![first] }),
            clock: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, W> {
        self.w.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn tick(&self) -> u64 {
        self.clock.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Mark an element used (LRU maps).
    pub fn touch(&self, e: &Entry) {
        if self.lru {
            e.used.store(self.tick(), Ordering::Relaxed);
        }
    }

    /// An optimistic read: run `f` on the element of `key` (or `None`) until a run
    /// overlapped no write. `f` may run more than once and may see a torn element on
    /// the runs that are discarded.
    fn read<R>(&self, key: &[u8], seqcst: bool, mut f: impl FnMut(*mut Entry) -> R) -> R {
        let h = hash(key);
        let mut spins = 0u32;
        loop {
            let s1 = self.seq.load(Ordering::Acquire);
            if s1 & 1 == 0 {
                // SAFETY: slot arrays are kept until the map is dropped.
                let t = unsafe { &*self.cur.load(Ordering::Acquire) };
                // SAFETY: elements are kept until the map is dropped.
                let p = unsafe { probe_racy(t, key, h) };
                let r = f(p);
                fence(if seqcst { Ordering::SeqCst } else { Ordering::Acquire });
                if self.seq.load(Ordering::Relaxed) == s1 {
                    return r;
                }
            }
            spins += 1;
            if spins < 64 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
    }

    /// The element of `key`, held: it stays valid (and is not recycled) while the
    /// `Arc` lives.
    pub fn get(&self, key: &[u8]) -> Option<Arc<Entry>> {
        self.read(key, true, |p| {
            if !is_live(p) {
                return None;
            }
            // SAFETY: `p` came from `Arc::into_raw` and the map holds one count for
            // as long as it lives, so the count is never 0 here.
            unsafe { Arc::increment_strong_count(p) };
            // Order the increment before the validation: a writer that recycles
            // checks the count after bumping the sequence (both SeqCst).
            fence(Ordering::SeqCst);
            // SAFETY: the count just taken.
            Some(unsafe { Arc::from_raw(p) })
        })
    }

    /// The element of `key` without holding it: for preallocated maps, whose
    /// elements a program may see recycled by a later insert (as the kernel's
    /// preallocated hash maps recycle theirs through a free list). The element's
    /// memory stays valid while the map lives (elements are never freed before).
    pub fn get_unpinned(&self, key: &[u8]) -> *mut Entry {
        self.read(key, false, |p| if is_live(p) { p } else { ptr::null_mut() })
    }

    /// Run `f` on the element of `key` without holding it (user-space reads: copy out).
    pub fn with<R>(&self, key: &[u8], mut f: impl FnMut(&Entry) -> R) -> Option<R> {
        self.read(key, false, |p| {
            // SAFETY: elements are kept alive while the map lives.
            is_live(p).then(|| f(unsafe { &*p }))
        })
    }

    pub fn len(&self) -> usize {
        self.lock().len
    }

    fn begin(&self) {
        self.seq.fetch_add(1, Ordering::SeqCst);
        fence(Ordering::SeqCst);
    }

    fn end(&self) {
        self.seq.fetch_add(1, Ordering::Release);
    }

    fn current(w: &W) -> &Slots {
        w.tables.last().map(|b| &**b).unwrap_or_else(|| unreachable!("a map always has a slot array"))
    }

    /// The slot holding `key` (writer side).
    fn find(w: &W, key: &[u8], h: u64) -> Option<usize> {
        let t = Self::current(w);
        let mut i = h as usize & t.mask;
        for _ in 0..=t.mask {
            let p = t.s[i].load(Ordering::Relaxed);
            if p.is_null() {
                return None;
            }
            // SAFETY: live elements are alive; the writer is the only one rewriting keys.
            if p != tomb() && t.s[i].h.load(Ordering::Relaxed) == h && unsafe { (*p).key() } == key {
                return Some(i);
            }
            i = (i + 1) & t.mask;
        }
        None
    }

    /// A free slot for `key` (growing the table first if it is too full).
    fn free_slot(&self, w: &mut W, h: u64) -> usize {
        let cap = Self::current(w).mask + 1;
        if (w.len + w.tombs + 1) * 4 > cap * 3 {
            let new_cap = ((w.len + 1) * 2).next_power_of_two().max(16);
            let t = Box::new(Slots::new(new_cap));
            for slot in Self::current(w).s.iter().filter(|a| is_live(a.load(Ordering::Relaxed))) {
                let (p, ph) = (slot.load(Ordering::Relaxed), slot.h.load(Ordering::Relaxed));
                let mut i = ph as usize & t.mask;
                while !t.s[i].load(Ordering::Relaxed).is_null() {
                    i = (i + 1) & t.mask;
                }
                t.s[i].h.store(ph, Ordering::Relaxed);
                t.s[i].p.store(p, Ordering::Relaxed);
            }
            self.cur.store(&*t as *const Slots as *mut Slots, Ordering::Release);
            w.tables.push(t);
            w.tombs = 0;
        }
        let t = Self::current(w);
        let mut i = h as usize & t.mask;
        loop {
            let p = t.s[i].load(Ordering::Relaxed);
            if !is_live(p) {
                if p == tomb() {
                    w.tombs -= 1;
                }
                return i;
            }
            i = (i + 1) & t.mask;
        }
    }

    /// A fresh element for `key`: a recycled one nobody holds, or a new one.
    fn alloc(&self, w: &mut W, key: &[u8]) -> Arc<Entry> {
        let n = w.retired.len();
        for j in (n.saturating_sub(8)..n).rev() {
            if Arc::strong_count(&w.retired[j]) == 1 {
                let e = w.retired.swap_remove(j);
                // SAFETY: only the map holds `e` (count 1, checked after the sequence
                // bump, see `get`), and optimistic readers validate what they read.
                unsafe { e.recycle(key) };
                return e;
            }
        }
        Arc::new(Entry::new(key, self.value_len))
    }

    /// Take the element out of slot `i` (marking it deleted) and keep it for recycling.
    fn take(w: &mut W, i: usize) -> Arc<Entry> {
        let p = Self::current(w).s[i].p.swap(tomb(), Ordering::Release);
        w.len -= 1;
        w.tombs += 1;
        // SAFETY: the table owned this count (from `Arc::into_raw`).
        let e = unsafe { Arc::from_raw(p) };
        w.retired.push(e.clone());
        e
    }

    /// Insert or update `key` per `flag` (`BPF_ANY`/`BPF_NOEXIST`/`BPF_EXIST`,
    /// already validated). `fill(new_or_existing, old)` writes the value.
    pub fn update(
        &self,
        key: &[u8],
        flag: u64,
        existing: Existing,
        fill: impl FnOnce(&Entry, Option<&Entry>),
    ) -> Result<(), Errno> {
        let h = hash(key);
        let mut w = self.lock();
        let found = Self::find(&w, key, h);
        match (found, flag) {
            (Some(_), super::BPF_NOEXIST) => return Err(Errno::EEXIST),
            (None, super::BPF_EXIST) => return Err(Errno::ENOENT),
            _ => {}
        }
        self.begin();
        let r = self.update_locked(&mut w, key, h, found, existing, fill);
        self.end();
        r
    }

    fn update_locked(
        &self,
        w: &mut W,
        key: &[u8],
        h: u64,
        found: Option<usize>,
        existing: Existing,
        fill: impl FnOnce(&Entry, Option<&Entry>),
    ) -> Result<(), Errno> {
        if let Some(i) = found {
            let old = Self::current(w).s[i].load(Ordering::Relaxed);
            // SAFETY: a live element of the table.
            let old = unsafe { &*old };
            if let Existing::InPlace = existing {
                fill(old, Some(old));
                self.touch(old);
                return Ok(());
            }
            let e = self.alloc(w, key);
            fill(&e, Some(old));
            if self.lru {
                let t = self.tick();
                e.used.store(t, Ordering::Relaxed);
                e.order.store(t, Ordering::Relaxed);
                w.order.remove(&old.order.load(Ordering::Relaxed));
                w.order.insert(t, key.into());
            }
            let prev = Self::current(w).s[i].p.swap(Arc::into_raw(e) as *mut Entry, Ordering::Release);
            // SAFETY: the table owned this count.
            w.retired.push(unsafe { Arc::from_raw(prev) });
            return Ok(());
        }
        if w.len >= self.max_entries as usize && (!self.lru || !self.evict(w)) {
            return Err(if self.lru { Errno::ENOMEM } else { Errno::E2BIG });
        }
        let e = self.alloc(w, key);
        fill(&e, None);
        if self.lru {
            let t = self.tick();
            e.used.store(t, Ordering::Relaxed);
            e.order.store(t, Ordering::Relaxed);
            w.order.insert(t, key.into());
        }
        let i = self.free_slot(w, h);
        let slot = &Self::current(w).s[i];
        slot.h.store(h, Ordering::Relaxed);
        slot.p.store(Arc::into_raw(e) as *mut Entry, Ordering::Release);
        w.len += 1;
        Ok(())
    }

    /// Evict the least recently used element. Returns false if there is none.
    fn evict(&self, w: &mut W) -> bool {
        while let Some((t, k)) = w.order.pop_first() {
            let Some(i) = Self::find(w, &k, hash(&k)) else { continue };
            // SAFETY: a live element of the table.
            let e = unsafe { &*Self::current(w).s[i].load(Ordering::Relaxed) };
            if e.order.load(Ordering::Relaxed) != t {
                continue;
            }
            let used = e.used.load(Ordering::Relaxed);
            if used == t {
                Self::take(w, i);
                return true;
            }
            e.order.store(used, Ordering::Relaxed);
            w.order.insert(used, k);
        }
        false
    }

    /// Delete `key`; the element is returned (held) for a lookup-and-delete.
    pub fn delete(&self, key: &[u8]) -> Result<Arc<Entry>, Errno> {
        let h = hash(key);
        let mut w = self.lock();
        let i = Self::find(&w, key, h).ok_or(Errno::ENOENT)?;
        self.begin();
        let e = Self::take(&mut w, i);
        if self.lru {
            w.order.remove(&e.order.load(Ordering::Relaxed));
        }
        self.end();
        Ok(e)
    }

    /// Every element, held, by key.
    pub fn snapshot(&self) -> Vec<Arc<Entry>> {
        let w = self.lock();
        let mut v: Vec<Arc<Entry>> = Self::current(&w)
            .s
            .iter()
            .map(|a| a.load(Ordering::Relaxed))
            .filter(|p| is_live(*p))
            .map(|p| {
                // SAFETY: the table holds a count; take one more.
                unsafe {
                    Arc::increment_strong_count(p);
                    Arc::from_raw(p)
                }
            })
            .collect();
        drop(w);
        v.sort_by(|a, b| a.key().cmp(b.key()));
        v
    }

    /// The smallest key greater than `key` (all keys in byte order; the kernel's
    /// order is its bucket order, which no program may rely on).
    pub fn next_key(&self, key: Option<&[u8]>) -> Result<Vec<u8>, Errno> {
        let w = self.lock();
        let exists = key.is_some_and(|k| Self::find(&w, k, hash(k)).is_some());
        let mut best: Option<&[u8]> = None;
        for p in Self::current(&w).s.iter().map(|a| a.load(Ordering::Relaxed)).filter(|p| is_live(*p)) {
            // SAFETY: a live element; keys only change under this lock.
            let k = unsafe { (*p).key() };
            let after = match key {
                Some(cur) if exists => k > cur,
                _ => true,
            };
            if after && best.is_none_or(|b| k < b) {
                best = Some(k);
            }
        }
        best.map(|k| k.to_vec()).ok_or(Errno::ENOENT)
    }
}

impl Drop for HashTable {
    fn drop(&mut self) {
        let w = self.w.get_mut().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = w.tables.last() {
            for p in t.s.iter().map(|a| a.load(Ordering::Relaxed)).filter(|p| is_live(*p)) {
                // SAFETY: the current table owns one count of each live element.
                drop(unsafe { Arc::from_raw(p) });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fill8(v: u64) -> impl FnOnce(&Entry, Option<&Entry>) {
        move |e, _| {
            use super::super::storage::Store;
            e.value.write(0, &v.to_le_bytes())
        }
    }

    #[test]
    fn grows_recycles_and_keeps_held_values() {
        let t = HashTable::new(false, false, 1000, 8);
        for i in 0..1000u32 {
            t.update(&i.to_le_bytes(), 0, Existing::Replace, fill8(i as u64)).expect("insert");
        }
        assert_eq!(t.len(), 1000);
        let held = t.get(&7u32.to_le_bytes()).expect("7");
        t.delete(&7u32.to_le_bytes()).expect("delete");
        for i in 0..500u32 {
            t.delete(&i.to_le_bytes()).ok();
            t.update(&(5000 + i).to_le_bytes(), 0, Existing::Replace, fill8(0)).expect("reinsert");
        }
        use super::super::storage::Store;
        assert_eq!(held.key(), 7u32.to_le_bytes(), "a held element is not recycled");
        assert_eq!(held.value.to_vec(0, 8), 7u64.to_le_bytes());
        assert!(t.get(&7u32.to_le_bytes()).is_none());
        assert_eq!(t.with(&999u32.to_le_bytes(), |e| e.value.to_vec(0, 8)), Some(999u64.to_le_bytes().to_vec()));
        let w = t.lock();
        assert!(w.retired.len() <= 16, "elements are recycled: {} retired", w.retired.len());
    }

    #[test]
    fn optimistic_readers_race_writers() {
        let t = Arc::new(HashTable::new(false, false, 64, 8));
        for i in 0..64u32 {
            t.update(&i.to_le_bytes(), 0, Existing::Replace, fill8(i as u64 * 3)).expect("insert");
        }
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let go = Arc::new(std::sync::Barrier::new(3));
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let (t, stop, go) = (t.clone(), stop.clone(), go.clone());
                std::thread::spawn(move || {
                    use super::super::storage::Store;
                    let mut n = 0u64;
                    go.wait();
                    while n == 0 || !stop.load(Ordering::Relaxed) {
                        for i in 0..64u32 {
                            if let Some(v) = t.with(&i.to_le_bytes(), |e| e.value.to_vec(0, 8)) {
                                let v = u64::from_le_bytes(v.try_into().expect("8"));
                                assert_eq!(v % 3, 0, "never a torn or foreign value");
                                assert!(v / 3 == i as u64 || v / 3 >= 1000, "value {v} for key {i}");
                                n += 1;
                            }
                        }
                    }
                    n
                })
            })
            .collect();
        go.wait();
        for round in 0..2000u64 {
            for i in 0..64u32 {
                if (i as u64 + round).is_multiple_of(5) {
                    t.delete(&i.to_le_bytes()).ok();
                } else {
                    t.update(
                        &i.to_le_bytes(),
                        0,
                        Existing::Replace,
                        fill8(if round % 2 == 0 { i as u64 * 3 } else { 3000 + 3 * round }),
                    )
                    .expect("update");
                }
            }
        }
        stop.store(true, Ordering::Relaxed);
        for r in readers {
            assert!(r.join().expect("reader") > 0);
        }
    }
}
