//! Hash maps: `hash`, `percpu_hash`, `lru_hash`, `lru_percpu_hash`, `devmap_hash`,
//! and the index-keyed device maps (`devmap`, `cpumap`, `xskmap`).
//!
//! Each element is an `Arc<Entry>` (key and value in their own allocations), so the
//! value address a program got stays valid after a concurrent delete or replace
//! for as long as the run that saw it holds the `Arc` (what RCU guarantees in the
//! kernel). Replacing an element allocates a new one, as the kernel does; per-CPU
//! maps update in place.
//!
//! LRU maps evict the least recently used element when an insert finds the map full.
//! The kernel's LRU is approximate (per-CPU lists, reference bits); this one is exact:
//! `used` is a map-wide clock value stamped by program lookups and updates, and
//! `order` a lazily maintained index by clock value (an entry touched since it was
//! indexed is re-indexed when the eviction scan reaches it).

use super::storage::{ByteMap, BytesHash, Entry};
use super::Errno;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

#[derive(Debug, Default)]
struct Inner {
    map: ByteMap<Arc<Entry>>,
    order: BTreeMap<u64, Box<[u8]>>,
}

#[derive(Debug)]
pub(crate) struct HashTable {
    pub lru: bool,
    /// Values are in place per CPU.
    pub percpu: bool,
    max_entries: u32,
    /// Bytes of one element's value storage (all CPUs).
    pub value_len: usize,
    inner: RwLock<Inner>,
    clock: AtomicU64,
}

/// What an update does when the key exists.
pub(crate) enum Existing {
    /// Allocate a new element and fill it (the old one stays alive for its readers).
    Replace,
    /// Write into the existing element.
    InPlace,
}

impl HashTable {
    pub fn new(lru: bool, percpu: bool, max_entries: u32, value_len: usize) -> HashTable {
        HashTable {
            lru,
            percpu,
            max_entries,
            value_len,
            inner: RwLock::new(Inner { map: ByteMap::with_hasher(BytesHash), order: BTreeMap::new() }),
            clock: AtomicU64::new(0),
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
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

    pub fn get(&self, key: &[u8]) -> Option<Arc<Entry>> {
        self.read().map.get(key).cloned()
    }

    /// Run `f` on the element under the read lock, without cloning the `Arc`.
    pub fn with<R>(&self, key: &[u8], f: impl FnOnce(&Entry) -> R) -> Option<R> {
        self.read().map.get(key).map(|e| f(e))
    }

    pub fn len(&self) -> usize {
        self.read().map.len()
    }

    /// Insert or update `key` per `flags` (`BPF_ANY`/`BPF_NOEXIST`/`BPF_EXIST`,
    /// already validated). `fill(new_or_existing, old)` writes the value.
    pub fn update(
        &self,
        key: &[u8],
        flag: u64,
        existing: Existing,
        fill: impl FnOnce(&Entry, Option<&Entry>),
    ) -> Result<(), Errno> {
        let mut g = self.write();
        let old = g.map.get(key).cloned();
        match (&old, flag) {
            (Some(_), super::BPF_NOEXIST) => return Err(Errno::EEXIST),
            (None, super::BPF_EXIST) => return Err(Errno::ENOENT),
            _ => {}
        }
        if let (Some(o), Existing::InPlace) = (&old, &existing) {
            fill(o, Some(o));
            self.touch(o);
            return Ok(());
        }
        if old.is_none() && g.map.len() >= self.max_entries as usize {
            if !self.lru || !Self::evict(&mut g) {
                return Err(if self.lru { Errno::ENOMEM } else { Errno::E2BIG });
            }
        }
        let e = Entry::new(key, self.value_len);
        fill(&e, old.as_deref());
        if self.lru {
            let t = self.tick();
            e.used.store(t, Ordering::Relaxed);
            e.order.store(t, Ordering::Relaxed);
            if let Some(o) = &old {
                g.order.remove(&o.order.load(Ordering::Relaxed));
            }
            g.order.insert(t, key.into());
        }
        g.map.insert(key.into(), Arc::new(e));
        Ok(())
    }

    /// Evict the least recently used element. Returns false if there is none.
    fn evict(g: &mut Inner) -> bool {
        while let Some((t, k)) = g.order.pop_first() {
            let Some(e) = g.map.get(&k) else { continue };
            if e.order.load(Ordering::Relaxed) != t {
                continue;
            }
            let used = e.used.load(Ordering::Relaxed);
            if used == t {
                g.map.remove(&k);
                return true;
            }
            e.order.store(used, Ordering::Relaxed);
            g.order.insert(used, k);
        }
        false
    }

    pub fn delete(&self, key: &[u8]) -> Result<Arc<Entry>, Errno> {
        let mut g = self.write();
        let e = g.map.remove(key).ok_or(Errno::ENOENT)?;
        if self.lru {
            g.order.remove(&e.order.load(Ordering::Relaxed));
        }
        Ok(e)
    }

    /// The smallest key greater than `key` (all keys in byte order; the kernel's
    /// order is its bucket order, which no program may rely on).
    pub fn next_key(&self, key: Option<&[u8]>) -> Result<Vec<u8>, Errno> {
        let g = self.read();
        let exists = key.is_some_and(|k| g.map.contains_key(k));
        let best = g
            .map
            .keys()
            .filter(|k| match key {
                Some(cur) if exists => &***k > cur,
                _ => true,
            })
            .min();
        best.map(|k| k.to_vec()).ok_or(Errno::ENOENT)
    }

    /// Every element, by key.
    pub fn snapshot(&self) -> Vec<Arc<Entry>> {
        let mut v: Vec<Arc<Entry>> = self.read().map.values().cloned().collect();
        v.sort_by(|a, b| a.key.cmp(&b.key));
        v
    }
}
