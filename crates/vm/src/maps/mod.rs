//! Maps with the kernel's semantics: creation checks, update flags, `max_entries`,
//! error numbers, per-CPU values, and the user-space API of `bpf(2)`
//! (lookup / update / delete / get_next_key over byte slices).
//!
//! A [`Map`] is `Send + Sync`: programs on several threads may use one map at
//! once. Value addresses handed to programs are stable: array values live in one
//! allocation for the map's lifetime; hash and trie values each in their own,
//! kept alive by the run that looked them up (see `hash.rs`).
//!
//! Per-CPU maps: the user API sees all CPUs' values one after the other, each
//! rounded up to 8 bytes (`nr_cpus * round_up(value_size, 8)` bytes), as `bpf(2)`
//! does; a program sees the value of the CPU it runs on.

mod bloom;
mod errno;
mod hash;
mod lpm;
mod queue;
mod ringbuf;
mod slots;
mod storage;

pub use errno::Errno;
pub use slots::ProgId;

pub(crate) use storage::{spin_lock, spin_unlock, Entry};

use bpfbox_abi::map_types::MapType;
use hash::{Existing, HashTable};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use storage::{round8, Bytes, Store};

/// `BPF_ANY`: create or update.
pub const BPF_ANY: u64 = 0;
/// `BPF_NOEXIST`: create only.
pub const BPF_NOEXIST: u64 = 1;
/// `BPF_EXIST`: update only (queue/stack push: overwrite the oldest when full).
pub const BPF_EXIST: u64 = 2;
/// `BPF_F_LOCK`: copy the value under its `bpf_spin_lock`.
pub const BPF_F_LOCK: u64 = 4;

/// Map creation flags (`BPF_F_*` of `map_flags`).
pub mod flags {
    pub const NO_PREALLOC: u32 = 1 << 0;
    pub const NO_COMMON_LRU: u32 = 1 << 1;
    pub const NUMA_NODE: u32 = 1 << 2;
    pub const RDONLY: u32 = 1 << 3;
    pub const WRONLY: u32 = 1 << 4;
    pub const STACK_BUILD_ID: u32 = 1 << 5;
    pub const ZERO_SEED: u32 = 1 << 6;
    pub const RDONLY_PROG: u32 = 1 << 7;
    pub const WRONLY_PROG: u32 = 1 << 8;
    pub const CLONE: u32 = 1 << 9;
    pub const MMAPABLE: u32 = 1 << 10;
    pub const PRESERVE_ELEMS: u32 = 1 << 11;
    pub const INNER_MAP: u32 = 1 << 12;
    /// `BPF_F_ACCESS_MASK`.
    pub const ACCESS: u32 = RDONLY | RDONLY_PROG | WRONLY | WRONLY_PROG;
}

/// A map of a [`crate::Runtime`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MapId(pub u32);

impl fmt::Display for MapId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "map#{}", self.0)
    }
}

/// The creation attributes of a map (`union bpf_attr` for `BPF_MAP_CREATE`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MapInfo {
    pub name: String,
    pub map_type: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub map_flags: u32,
    pub map_extra: u64,
}

/// Why a map could not be created: the kernel's error number and what was wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreateError {
    pub errno: Errno,
    pub reason: &'static str,
}

impl fmt::Display for CreateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.errno, self.reason)
    }
}

fn bad(errno: Errno, reason: &'static str) -> CreateError {
    CreateError { errno, reason }
}

/// A value a program's `map_lookup_elem` found.
#[derive(Debug)]
pub(crate) enum Found {
    /// Memory: where, its length, and whether the program may write it.
    Mem { ptr: *mut u8, len: usize, writable: bool },
    /// An inner map (map-in-map lookups).
    Map(Arc<Map>),
}

#[derive(Debug)]
pub(crate) enum Imp {
    Array(Bytes),
    Hash(HashTable),
    /// devmap / cpumap / xskmap: sparse arrays (a hash keyed by index < max_entries).
    DevArray(HashTable),
    Lpm(lpm::Lpm),
    Queue(queue::QueueMap),
    Bloom(bloom::Bloom),
    Ringbuf(ringbuf::RingBuf),
    PerfEventArray(slots::PerfArray),
    ProgArray(slots::ProgSlots),
    ArrayOfMaps(slots::MapSlots),
    HashOfMaps(slots::MapHash),
    CgroupArray(slots::ValSlots),
    /// `stack_trace`: bpfbox has no kernel stacks, so it stays empty.
    StackTrace,
}

/// One map: its attributes and its contents. See the module documentation.
#[derive(Debug)]
pub struct Map {
    id: MapId,
    info: MapInfo,
    ty: MapType,
    nr_cpus: u32,
    frozen: AtomicBool,
    spin_lock_off: Option<u32>,
    inner: Option<MapInfo>,
    pub(crate) imp: Imp,
}

fn check_flags(f: u32, allowed: u32) -> Result<(), CreateError> {
    if f & !allowed != 0 {
        return Err(bad(Errno::EINVAL, "map_flags has flags this map type does not take"));
    }
    Ok(())
}

/// `bpf_map_meta_equal` (+ the array variant's max_entries rule): may `m` sit in a
/// map-in-map whose inner template is `t`?
fn meta_equal(t: &MapInfo, m: &MapInfo) -> bool {
    let base = t.map_type == m.map_type
        && t.key_size == m.key_size
        && t.value_size == m.value_size
        && t.map_flags == m.map_flags;
    let array = matches!(MapType::from_u32(t.map_type), Some(MapType::Array | MapType::PercpuArray));
    base && (!array || t.map_flags & flags::INNER_MAP != 0 || t.max_entries == m.max_entries)
}

/// Largest value storage bpfbox allocates for one map (arrays are preallocated).
const MAX_ALLOC: u64 = 1 << 30;
/// `PCPU_MIN_UNIT_SIZE`: largest per-CPU value.
const PCPU_MAX_VALUE: usize = 32 * 1024;
/// `KMALLOC_MAX_SIZE` on x86-64.
const KMALLOC_MAX: u64 = 4 << 20;

impl Map {
    /// Create a map, checking its attributes as `BPF_MAP_CREATE` does. `inner` is the
    /// inner-map template of a map-in-map; `spin_lock_off` the offset of a
    /// `struct bpf_spin_lock` in the value (from BTF), which `BPF_F_LOCK` needs.
    pub fn new(
        id: MapId,
        info: MapInfo,
        nr_cpus: u32,
        inner: Option<&MapInfo>,
        spin_lock_off: Option<u32>,
    ) -> Result<Map, CreateError> {
        use flags::*;
        let mut info = info;
        let ty = MapType::from_u32(info.map_type).ok_or(bad(Errno::EINVAL, "unknown map type"))?;
        let f = info.map_flags;
        let nr_cpus = nr_cpus.max(1);
        if f & (RDONLY | WRONLY) == RDONLY | WRONLY || f & (RDONLY_PROG | WRONLY_PROG) == RDONLY_PROG | WRONLY_PROG {
            return Err(bad(Errno::EINVAL, "map_flags asks for read-only and write-only at once"));
        }
        if info.map_extra != 0 && ty != MapType::BloomFilter {
            return Err(bad(Errno::EINVAL, "map_extra is only for bloom filters"));
        }
        if let Some(off) = spin_lock_off {
            if off % 4 != 0 || off as u64 + 4 > info.value_size as u64 {
                return Err(bad(Errno::EINVAL, "bpf_spin_lock must be 4-byte aligned inside the value"));
            }
        }
        let (ks, vs, max) = (info.key_size, info.value_size, info.max_entries);
        let percpu = ty.is_percpu();
        let slots = if percpu { nr_cpus as usize } else { 1 };
        let imp = match ty {
            MapType::Array | MapType::PercpuArray => {
                if max == 0 || ks != 4 || vs == 0 {
                    return Err(bad(Errno::EINVAL, "array maps need key_size 4, value_size > 0, max_entries > 0"));
                }
                let mut allowed = NUMA_NODE | ACCESS;
                if ty == MapType::Array {
                    allowed |= MMAPABLE | INNER_MAP;
                }
                check_flags(f, allowed)?;
                if percpu && round8(vs) > PCPU_MAX_VALUE {
                    return Err(bad(Errno::E2BIG, "per-CPU values are at most 32 KiB"));
                }
                let total = max as u64 * slots as u64 * round8(vs) as u64;
                if total > MAX_ALLOC {
                    return Err(bad(Errno::ENOMEM, "array too large"));
                }
                Imp::Array(Bytes::zeroed(total as usize))
            }
            MapType::Hash | MapType::PercpuHash | MapType::LruHash | MapType::LruPercpuHash => {
                let lru = matches!(ty, MapType::LruHash | MapType::LruPercpuHash);
                check_flags(f, NO_PREALLOC | NO_COMMON_LRU | NUMA_NODE | ACCESS | ZERO_SEED)?;
                if !lru && f & NO_COMMON_LRU != 0 {
                    return Err(bad(Errno::EINVAL, "BPF_F_NO_COMMON_LRU is only for LRU maps"));
                }
                if lru && f & NO_PREALLOC != 0 {
                    return Err(bad(Errno::ENOTSUPP, "LRU maps cannot be BPF_F_NO_PREALLOC"));
                }
                if max == 0 || ks == 0 || vs == 0 {
                    return Err(bad(Errno::EINVAL, "hash maps need key_size, value_size and max_entries > 0"));
                }
                if ks > 512 {
                    return Err(bad(Errno::E2BIG, "keys are at most 512 bytes (MAX_BPF_STACK)"));
                }
                if ks as u64 + vs as u64 >= KMALLOC_MAX - 512 {
                    return Err(bad(Errno::E2BIG, "key and value too large"));
                }
                if percpu && round8(vs) > PCPU_MAX_VALUE {
                    return Err(bad(Errno::E2BIG, "per-CPU values are at most 32 KiB"));
                }
                Imp::Hash(HashTable::new(lru, percpu, max, slots * round8(vs)))
            }
            MapType::Devmap | MapType::Cpumap | MapType::Xskmap | MapType::DevmapHash => {
                let value_ok = match ty {
                    MapType::Xskmap => vs == 4,
                    _ => vs == 4 || vs == 8,
                };
                if max == 0 || ks != 4 || !value_ok {
                    return Err(bad(
                        Errno::EINVAL,
                        "device maps need key_size 4, value_size 4 (or 8), max_entries > 0",
                    ));
                }
                check_flags(f, NUMA_NODE | ACCESS)?;
                let t = HashTable::new(false, false, max, round8(vs));
                if ty == MapType::DevmapHash {
                    Imp::Hash(t)
                } else {
                    Imp::DevArray(t)
                }
            }
            MapType::LpmTrie => {
                if max == 0 || f & NO_PREALLOC == 0 {
                    return Err(bad(Errno::EINVAL, "lpm_trie needs BPF_F_NO_PREALLOC and max_entries > 0"));
                }
                check_flags(f, NO_PREALLOC | NUMA_NODE | ACCESS)?;
                if !(5..=4 + 256).contains(&ks) || vs == 0 || vs as u64 > KMALLOC_MAX {
                    return Err(bad(Errno::EINVAL, "lpm_trie keys are 4 + 1..=256 bytes, values > 0 bytes"));
                }
                Imp::Lpm(lpm::Lpm::new(ks, max, round8(vs)))
            }
            MapType::Queue | MapType::Stack => {
                if max == 0 || ks != 0 || vs == 0 {
                    return Err(bad(
                        Errno::EINVAL,
                        "queue/stack maps need key_size 0, value_size > 0, max_entries > 0",
                    ));
                }
                check_flags(f, NUMA_NODE | ACCESS)?;
                if vs as u64 > KMALLOC_MAX {
                    return Err(bad(Errno::E2BIG, "value too large"));
                }
                Imp::Queue(queue::QueueMap::new(ty == MapType::Stack, max))
            }
            MapType::BloomFilter => {
                if ks != 0 || vs == 0 || max == 0 || info.map_extra & !0xf != 0 {
                    return Err(bad(
                        Errno::EINVAL,
                        "bloom filters need key_size 0, value_size > 0, max_entries > 0, map_extra <= 15",
                    ));
                }
                check_flags(f, NUMA_NODE | ZERO_SEED | ACCESS)?;
                Imp::Bloom(bloom::Bloom::new(max, (info.map_extra & 0xf) as u32))
            }
            MapType::Ringbuf => {
                if ks != 0 || vs != 0 {
                    return Err(bad(Errno::EINVAL, "ring buffers need key_size 0 and value_size 0"));
                }
                check_flags(f, NUMA_NODE)?;
                if !max.is_power_of_two() || max % 4096 != 0 {
                    return Err(bad(Errno::EINVAL, "ring buffer size must be a power of 2 and a multiple of 4096"));
                }
                Imp::Ringbuf(ringbuf::RingBuf::new(max))
            }
            MapType::PerfEventArray => {
                if ks != 4 || vs != 4 {
                    return Err(bad(Errno::EINVAL, "perf_event_array needs key_size 4 and value_size 4"));
                }
                check_flags(f, NUMA_NODE | ACCESS | PRESERVE_ELEMS)?;
                // libbpf sizes a perf_event_array without max_entries to the CPU count.
                if max == 0 {
                    info.max_entries = nr_cpus;
                }
                Imp::PerfEventArray(slots::PerfArray::new(info.max_entries))
            }
            MapType::ProgArray => {
                if max == 0 || ks != 4 || vs != 4 {
                    return Err(bad(Errno::EINVAL, "prog_array needs key_size 4, value_size 4, max_entries > 0"));
                }
                check_flags(f, NUMA_NODE | ACCESS)?;
                Imp::ProgArray(slots::ProgSlots::new(max))
            }
            MapType::ArrayOfMaps | MapType::HashOfMaps => {
                let Some(t) = inner else {
                    return Err(bad(Errno::EINVAL, "a map-in-map needs an inner map template"));
                };
                match MapType::from_u32(t.map_type) {
                    Some(MapType::ProgArray | MapType::ArrayOfMaps | MapType::HashOfMaps) | None => {
                        return Err(bad(Errno::EINVAL, "this inner map type cannot sit in a map-in-map"))
                    }
                    _ => {}
                }
                if vs != 4 || max == 0 || (ty == MapType::ArrayOfMaps && ks != 4) || ks == 0 {
                    return Err(bad(
                        Errno::EINVAL,
                        "map-in-map needs value_size 4, max_entries > 0 (and key_size 4 for arrays)",
                    ));
                }
                check_flags(f, NUMA_NODE | ACCESS | NO_PREALLOC)?;
                if ty == MapType::ArrayOfMaps {
                    Imp::ArrayOfMaps(slots::MapSlots::new(max))
                } else {
                    Imp::HashOfMaps(slots::MapHash::new(max))
                }
            }
            MapType::CgroupArray => {
                if max == 0 || ks != 4 || vs != 4 {
                    return Err(bad(Errno::EINVAL, "cgroup_array needs key_size 4, value_size 4, max_entries > 0"));
                }
                check_flags(f, NUMA_NODE | ACCESS)?;
                Imp::CgroupArray(slots::ValSlots::new(max))
            }
            MapType::StackTrace => {
                if max == 0 || ks != 4 || vs < 8 || vs % 8 != 0 || vs / 8 > 127 {
                    return Err(bad(
                        Errno::EINVAL,
                        "stack_trace needs key_size 4, value_size a multiple of 8 (<= 127 frames)",
                    ));
                }
                check_flags(f, NUMA_NODE | ACCESS | STACK_BUILD_ID)?;
                Imp::StackTrace
            }
            _ => return Err(bad(Errno::EOPNOTSUPP, "bpfbox does not implement this map type")),
        };
        Ok(Map { id, info, ty, nr_cpus, frozen: AtomicBool::new(false), spin_lock_off, inner: inner.cloned(), imp })
    }

    // ---- attributes ----

    pub fn id(&self) -> MapId {
        self.id
    }
    pub fn name(&self) -> &str {
        &self.info.name
    }
    pub fn info(&self) -> &MapInfo {
        &self.info
    }
    pub fn map_type(&self) -> u32 {
        self.info.map_type
    }
    pub fn kind(&self) -> MapType {
        self.ty
    }
    pub fn key_size(&self) -> u32 {
        self.info.key_size
    }
    pub fn value_size(&self) -> u32 {
        self.info.value_size
    }
    pub fn max_entries(&self) -> u32 {
        self.info.max_entries
    }
    pub fn map_flags(&self) -> u32 {
        self.info.map_flags
    }
    pub fn nr_cpus(&self) -> u32 {
        self.nr_cpus
    }
    /// The inner-map template of a map-in-map.
    pub fn inner_template(&self) -> Option<&MapInfo> {
        self.inner.as_ref()
    }
    /// Offset of the value's `bpf_spin_lock`, if the map was created with one.
    pub fn spin_lock_off(&self) -> Option<u32> {
        self.spin_lock_off
    }
    pub fn is_percpu(&self) -> bool {
        self.ty.is_percpu()
    }
    /// Bytes of a per-CPU value as user space sees it: `nr_cpus * round_up(value_size, 8)`.
    pub fn percpu_value_len(&self) -> usize {
        self.nr_cpus as usize * round8(self.info.value_size)
    }
    /// Bytes of a value as the user-space API takes and returns it.
    pub fn user_value_len(&self) -> usize {
        if self.is_percpu() {
            self.percpu_value_len()
        } else {
            self.info.value_size as usize
        }
    }
    pub fn is_frozen(&self) -> bool {
        self.frozen.load(Ordering::Acquire)
    }
    /// `BPF_MAP_FREEZE`: no more writes from user space.
    pub fn freeze(&self) {
        self.frozen.store(true, Ordering::Release);
    }
    /// Whether programs may write values (`BPF_F_RDONLY_PROG` not set).
    pub fn prog_writable(&self) -> bool {
        self.info.map_flags & flags::RDONLY_PROG == 0
    }
    /// Whether programs may read values (`BPF_F_WRONLY_PROG` not set).
    pub fn prog_readable(&self) -> bool {
        self.info.map_flags & flags::WRONLY_PROG == 0
    }

    fn stride(&self) -> usize {
        round8(self.info.value_size)
    }

    fn slots(&self) -> usize {
        if self.is_percpu() {
            self.nr_cpus as usize
        } else {
            1
        }
    }

    fn check_key(&self, key: &[u8]) -> Result<(), Errno> {
        if key.len() != self.info.key_size as usize {
            return Err(Errno::EINVAL);
        }
        Ok(())
    }

    fn user_readable(&self) -> Result<(), Errno> {
        if self.info.map_flags & flags::WRONLY != 0 {
            return Err(Errno::EPERM);
        }
        Ok(())
    }

    fn user_writable(&self) -> Result<(), Errno> {
        if self.info.map_flags & flags::RDONLY != 0 || self.is_frozen() {
            return Err(Errno::EPERM);
        }
        Ok(())
    }

    fn index(key: &[u8]) -> u32 {
        u32::from_le_bytes([key[0], key[1], key[2], key[3]])
    }

    /// Copy one CPU's value out of `b` at `off`, the spin lock zeroed.
    fn read_value(&self, b: &(impl Store + ?Sized), off: usize, out: &mut [u8]) {
        b.read(off, out);
        if let Some(l) = self.spin_lock_off {
            out[l as usize..l as usize + 4].fill(0);
        }
    }

    /// Copy `value` (one CPU's) into `b` at `off`, leaving the spin lock alone.
    fn write_value(&self, b: &(impl Store + ?Sized), off: usize, value: &[u8]) {
        match self.spin_lock_off {
            Some(l) => {
                let l = l as usize;
                b.write(off, &value[..l]);
                b.write(off + l + 4, &value[l + 4..]);
            }
            None => b.write(off, value),
        }
    }

    /// User layout (all CPUs, 8-byte strides) out of element storage.
    fn read_all(&self, b: &(impl Store + ?Sized), base: usize, out: &mut [u8]) {
        let (vs, st) = (self.info.value_size as usize, self.stride());
        if self.is_percpu() {
            for c in 0..self.nr_cpus as usize {
                self.read_value(b, base + c * st, &mut out[c * st..c * st + vs]);
                out[c * st + vs..(c + 1) * st].fill(0);
            }
        } else {
            self.read_value(b, base, &mut out[..vs]);
        }
    }

    fn write_all(&self, b: &(impl Store + ?Sized), base: usize, value: &[u8]) {
        let (vs, st) = (self.info.value_size as usize, self.stride());
        if self.is_percpu() {
            for c in 0..self.nr_cpus as usize {
                self.write_value(b, base + c * st, &value[c * st..c * st + vs]);
            }
        } else {
            self.write_value(b, base, value);
        }
    }

    /// Copy under the value's spin lock (`BPF_F_LOCK`).
    fn locked<R>(&self, b: &(impl Store + ?Sized), base: usize, f: impl FnOnce() -> R) -> Result<R, Errno> {
        let l = self.spin_lock_off.ok_or(Errno::EINVAL)?;
        let w = b.lock_word(base + l as usize);
        spin_lock(w);
        let r = f();
        spin_unlock(w);
        Ok(r)
    }

    // ---- user-space API (bpf(2)) ----

    /// `BPF_MAP_LOOKUP_ELEM`: the value of `key` (all CPUs' for per-CPU maps; the
    /// front element of a queue/stack with an empty key; the id of a program or
    /// inner map for prog_array / map-in-map).
    pub fn lookup(&self, key: &[u8]) -> Result<Vec<u8>, Errno> {
        self.lookup_flags(key, 0)
    }

    /// [`Map::lookup`] with `flags` (`BPF_F_LOCK`).
    pub fn lookup_flags(&self, key: &[u8], flags: u64) -> Result<Vec<u8>, Errno> {
        let n = match &self.imp {
            Imp::ProgArray(_)
            | Imp::ArrayOfMaps(_)
            | Imp::HashOfMaps(_)
            | Imp::PerfEventArray(_)
            | Imp::CgroupArray(_) => 4,
            _ => self.user_value_len(),
        };
        let mut v = vec![0; n];
        self.lookup_into_flags(key, &mut v, flags)?;
        Ok(v)
    }

    /// [`Map::lookup`] into a caller's buffer of [`Map::user_value_len`] bytes (no allocation).
    pub fn lookup_into(&self, key: &[u8], out: &mut [u8]) -> Result<(), Errno> {
        self.lookup_into_flags(key, out, 0)
    }

    pub fn lookup_into_flags(&self, key: &[u8], out: &mut [u8], flags: u64) -> Result<(), Errno> {
        self.user_readable()?;
        if flags & !BPF_F_LOCK != 0 {
            return Err(Errno::EINVAL);
        }
        let lock = flags & BPF_F_LOCK != 0;
        if lock && self.spin_lock_off.is_none() {
            return Err(Errno::EINVAL);
        }
        let want = match &self.imp {
            Imp::ProgArray(_)
            | Imp::ArrayOfMaps(_)
            | Imp::HashOfMaps(_)
            | Imp::PerfEventArray(_)
            | Imp::CgroupArray(_) => 4,
            _ => self.user_value_len(),
        };
        if out.len() != want {
            return Err(Errno::EINVAL);
        }
        match &self.imp {
            Imp::Queue(q) => {
                self.check_key(key)?;
                out.copy_from_slice(&q.peek()?);
                Ok(())
            }
            Imp::Bloom(b) => {
                // bpf(2) passes the value to test in the value buffer.
                if b.maybe_contains(out) {
                    Ok(())
                } else {
                    Err(Errno::ENOENT)
                }
            }
            Imp::Ringbuf(_) => Err(Errno::EOPNOTSUPP),
            _ => {
                self.check_key(key)?;
                match &self.imp {
                    Imp::Array(b) => {
                        let i = Self::index(key);
                        if i >= self.info.max_entries {
                            return Err(Errno::ENOENT);
                        }
                        let base = i as usize * self.slots() * self.stride();
                        if lock {
                            self.locked(b, base, || self.read_all(b, base, out))
                        } else {
                            self.read_all(b, base, out);
                            Ok(())
                        }
                    }
                    Imp::Hash(t) | Imp::DevArray(t) => t
                        .with(key, |e| {
                            if lock {
                                self.locked(&e.value, 0, || self.read_all(&e.value, 0, out))
                            } else {
                                self.read_all(&e.value, 0, out);
                                Ok(())
                            }
                        })
                        .unwrap_or(Err(Errno::ENOENT)),
                    Imp::Lpm(t) => {
                        let e = t.lookup(key).ok_or(Errno::ENOENT)?;
                        self.read_all(&e.value, 0, out);
                        Ok(())
                    }
                    Imp::ProgArray(s) => {
                        let (p, _) = s.get(Self::index(key)).ok_or(Errno::ENOENT)?;
                        out.copy_from_slice(&p.0.to_le_bytes());
                        Ok(())
                    }
                    Imp::ArrayOfMaps(s) => {
                        let m = s.get(Self::index(key)).ok_or(Errno::ENOENT)?;
                        out.copy_from_slice(&m.id.0.to_le_bytes());
                        Ok(())
                    }
                    Imp::HashOfMaps(h) => {
                        let m = h.get(key).ok_or(Errno::ENOENT)?;
                        out.copy_from_slice(&m.id.0.to_le_bytes());
                        Ok(())
                    }
                    Imp::PerfEventArray(_) => Err(Errno::EOPNOTSUPP),
                    Imp::CgroupArray(_) => Err(Errno::EOPNOTSUPP),
                    Imp::StackTrace => Err(Errno::ENOENT),
                    Imp::Queue(_) | Imp::Bloom(_) | Imp::Ringbuf(_) => Err(Errno::EINVAL),
                }
            }
        }
    }

    /// `BPF_MAP_UPDATE_ELEM` with `flags` (`BPF_ANY`, `BPF_NOEXIST`, `BPF_EXIST`,
    /// `| BPF_F_LOCK`). Queue, stack and bloom filter take an empty key (a push).
    /// prog_array and map-in-map slots are set through the [`crate::Runtime`].
    pub fn update(&self, key: &[u8], value: &[u8], flags: u64) -> Result<(), Errno> {
        self.user_writable()?;
        let lock = flags & BPF_F_LOCK != 0;
        let flag = flags & !BPF_F_LOCK;
        if flag > BPF_EXIST {
            return Err(Errno::EINVAL);
        }
        if lock && self.spin_lock_off.is_none() {
            return Err(Errno::EINVAL);
        }
        if value.len() != self.user_value_len() {
            return Err(Errno::EINVAL);
        }
        self.check_key(key)?;
        match &self.imp {
            Imp::Array(b) => {
                let i = Self::index(key);
                if i >= self.info.max_entries {
                    return Err(Errno::E2BIG);
                }
                if flag == BPF_NOEXIST {
                    return Err(Errno::EEXIST);
                }
                let base = i as usize * self.slots() * self.stride();
                if lock {
                    self.locked(b, base, || self.write_all(b, base, value))
                } else {
                    self.write_all(b, base, value);
                    Ok(())
                }
            }
            Imp::Hash(t) => self.hash_update(t, key, value, flag, lock, None),
            Imp::DevArray(t) => {
                if Self::index(key) >= self.info.max_entries {
                    return Err(Errno::E2BIG);
                }
                if flag == BPF_NOEXIST {
                    return Err(Errno::EEXIST);
                }
                self.hash_update(t, key, value, BPF_ANY, false, None)
            }
            Imp::Lpm(t) => t.update(key, flag, |e| self.write_all(&e.value, 0, value)),
            Imp::Queue(q) => q.push(value, flags),
            Imp::Bloom(b) => {
                if flags != BPF_ANY {
                    return Err(Errno::EINVAL);
                }
                b.push(value);
                Ok(())
            }
            Imp::Ringbuf(_) => Err(Errno::EOPNOTSUPP),
            Imp::PerfEventArray(p) => p.set_connected(Self::index(key), true).map(|_| ()),
            Imp::CgroupArray(c) => {
                if flag == BPF_NOEXIST {
                    return Err(Errno::EEXIST);
                }
                c.set(Self::index(key), Some(u32::from_le_bytes([value[0], value[1], value[2], value[3]]))).map(|_| ())
            }
            Imp::StackTrace => Err(Errno::EINVAL),
            Imp::ProgArray(_) | Imp::ArrayOfMaps(_) | Imp::HashOfMaps(_) => Err(Errno::EINVAL),
        }
    }

    /// Hash update: `cpu` is the CPU of a program's update of a per-CPU map (which
    /// writes that CPU's value only), `None` for user space (all CPUs).
    fn hash_update(
        &self,
        t: &HashTable,
        key: &[u8],
        value: &[u8],
        flag: u64,
        lock: bool,
        cpu: Option<u32>,
    ) -> Result<(), Errno> {
        if lock {
            if let Some(e) = t.get(key) {
                if flag == BPF_NOEXIST {
                    return Err(Errno::EEXIST);
                }
                return self.locked(&e.value, 0, || self.write_value(&e.value, 0, value));
            }
        }
        let existing = if t.percpu { Existing::InPlace } else { Existing::Replace };
        t.update(key, flag, existing, |e, _old| match cpu {
            Some(c) => self.write_value(&e.value, c as usize * self.stride(), value),
            None => self.write_all(&e.value, 0, value),
        })
    }

    /// `BPF_MAP_DELETE_ELEM`.
    pub fn delete(&self, key: &[u8]) -> Result<(), Errno> {
        self.user_writable()?;
        self.delete_inner(key)
    }

    fn delete_inner(&self, key: &[u8]) -> Result<(), Errno> {
        self.check_key(key)?;
        match &self.imp {
            Imp::Array(_) | Imp::Queue(_) => Err(Errno::EINVAL),
            Imp::Hash(t) => t.delete(key).map(|_| ()),
            Imp::DevArray(t) => {
                if Self::index(key) >= self.info.max_entries {
                    return Err(Errno::EINVAL);
                }
                let _ = t.delete(key);
                Ok(())
            }
            Imp::Lpm(t) => t.delete(key),
            Imp::Bloom(_) | Imp::Ringbuf(_) => Err(Errno::EOPNOTSUPP),
            Imp::PerfEventArray(p) => match p.set_connected(Self::index(key), false)? {
                true => Ok(()),
                false => Err(Errno::ENOENT),
            },
            Imp::ProgArray(s) => s.clear(Self::index(key)),
            Imp::ArrayOfMaps(s) => match s.set(Self::index(key), None)? {
                Some(_) => Ok(()),
                None => Err(Errno::ENOENT),
            },
            Imp::HashOfMaps(h) => h.delete(key),
            Imp::CgroupArray(c) => match c.set(Self::index(key), None)? {
                Some(_) => Ok(()),
                None => Err(Errno::ENOENT),
            },
            Imp::StackTrace => Err(Errno::ENOENT),
        }
    }

    /// `BPF_MAP_LOOKUP_AND_DELETE_ELEM`: pop for queue/stack (empty key); lookup then
    /// delete for hash maps.
    pub fn lookup_and_delete(&self, key: &[u8]) -> Result<Vec<u8>, Errno> {
        self.user_writable()?;
        self.check_key(key)?;
        match &self.imp {
            Imp::Queue(q) => Ok(q.pop()?.into_vec()),
            Imp::Hash(t) => {
                let e = t.delete(key)?;
                let mut out = vec![0; self.user_value_len()];
                self.read_all(&e.value, 0, &mut out);
                Ok(out)
            }
            // bpf(2) answers the kernel-internal ENOTSUPP (524) for every other type.
            _ => Err(Errno::ENOTSUPP),
        }
    }

    /// Push (queue, stack, bloom filter): [`Map::update`] with an empty key.
    pub fn push(&self, value: &[u8], flags: u64) -> Result<(), Errno> {
        self.update(&[], value, flags)
    }

    /// Pop (queue, stack): [`Map::lookup_and_delete`] with an empty key.
    pub fn pop(&self) -> Result<Vec<u8>, Errno> {
        self.lookup_and_delete(&[])
    }

    /// Peek (queue, stack): [`Map::lookup`] with an empty key.
    pub fn peek(&self) -> Result<Vec<u8>, Errno> {
        self.lookup(&[])
    }

    /// Bloom filter membership from user space: `Ok(())` if `value` may be in the
    /// filter, `ENOENT` if it is not.
    pub fn bloom_contains(&self, value: &[u8]) -> Result<(), Errno> {
        let mut v = value.to_vec();
        self.lookup_into(&[], &mut v)
    }

    /// `BPF_MAP_GET_NEXT_KEY`: the key after `key` (the first one for `None` or for a
    /// key that is not in the map). `ENOENT` after the last.
    pub fn get_next_key(&self, key: Option<&[u8]>) -> Result<Vec<u8>, Errno> {
        self.user_readable()?;
        if let Some(k) = key {
            self.check_key(k)?;
        }
        let next_index = |n: u32| -> Result<Vec<u8>, Errno> {
            let i = match key {
                None => 0,
                Some(k) => {
                    let i = Self::index(k);
                    if i >= n {
                        0
                    } else if i == n - 1 {
                        return Err(Errno::ENOENT);
                    } else {
                        i + 1
                    }
                }
            };
            Ok(i.to_le_bytes().to_vec())
        };
        match &self.imp {
            Imp::Array(_)
            | Imp::ProgArray(_)
            | Imp::ArrayOfMaps(_)
            | Imp::PerfEventArray(_)
            | Imp::DevArray(_)
            | Imp::CgroupArray(_) => next_index(self.info.max_entries),
            Imp::StackTrace => Err(Errno::ENOENT),
            Imp::Hash(t) => t.next_key(key),
            Imp::Lpm(t) => t.next_key(key),
            Imp::HashOfMaps(h) => {
                let all = h.entries();
                let pos = key.and_then(|k| all.iter().position(|(x, _)| x == k));
                let next = match pos {
                    Some(i) => all.get(i + 1),
                    None => all.first(),
                };
                next.map(|(k, _)| k.clone()).ok_or(Errno::ENOENT)
            }
            Imp::Queue(_) => Err(Errno::EINVAL),
            Imp::Bloom(_) | Imp::Ringbuf(_) => Err(Errno::EOPNOTSUPP),
        }
    }

    /// Every (key, value) pair as user space would dump it: arrays by index, hash
    /// maps by key bytes, tries in the kernel's iteration order, queues/stacks in pop
    /// order with empty keys, prog_array and map-in-map slots with the program or
    /// map id as value. Bloom filters, ring buffers and perf arrays have no entries.
    pub fn entries(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        let n = self.user_value_len();
        let val = |b: &dyn Store, base: usize| {
            let mut v = vec![0; n];
            self.read_all(b, base, &mut v);
            v
        };
        match &self.imp {
            Imp::Array(b) => (0..self.info.max_entries)
                .map(|i| (i.to_le_bytes().to_vec(), val(b, i as usize * self.slots() * self.stride())))
                .collect(),
            Imp::Hash(t) | Imp::DevArray(t) => {
                t.snapshot().iter().map(|e| (e.key().to_vec(), val(&e.value, 0))).collect()
            }
            Imp::Lpm(t) => t.snapshot().iter().map(|e| (e.key().to_vec(), val(&e.value, 0))).collect(),
            Imp::Queue(q) => q.snapshot().into_iter().map(|v| (Vec::new(), v.into_vec())).collect(),
            Imp::Bloom(_) | Imp::Ringbuf(_) | Imp::PerfEventArray(_) => Vec::new(),
            Imp::ProgArray(s) => {
                s.entries().into_iter().map(|(i, p)| (i.to_le_bytes().to_vec(), p.0.to_le_bytes().to_vec())).collect()
            }
            Imp::ArrayOfMaps(s) => s
                .entries()
                .into_iter()
                .map(|(i, m)| (i.to_le_bytes().to_vec(), m.id.0.to_le_bytes().to_vec()))
                .collect(),
            Imp::HashOfMaps(h) => h.entries().into_iter().map(|(k, m)| (k, m.id.0.to_le_bytes().to_vec())).collect(),
            Imp::CgroupArray(c) => {
                c.entries().into_iter().map(|(i, v)| (i.to_le_bytes().to_vec(), v.to_le_bytes().to_vec())).collect()
            }
            Imp::StackTrace => Vec::new(),
        }
    }

    /// [`Map::entries`] as an iterator.
    pub fn iter(&self) -> std::vec::IntoIter<(Vec<u8>, Vec<u8>)> {
        self.entries().into_iter()
    }

    /// Number of elements present (arrays: max_entries).
    pub fn len(&self) -> usize {
        match &self.imp {
            Imp::Array(_) => self.info.max_entries as usize,
            Imp::Hash(t) | Imp::DevArray(t) => t.len(),
            Imp::Lpm(t) => t.len(),
            Imp::Queue(q) => q.snapshot().len(),
            Imp::ProgArray(s) => s.entries().len(),
            Imp::ArrayOfMaps(s) => s.entries().len(),
            Imp::HashOfMaps(h) => h.entries().len(),
            Imp::CgroupArray(c) => c.entries().len(),
            Imp::Bloom(_) | Imp::Ringbuf(_) | Imp::PerfEventArray(_) | Imp::StackTrace => 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Ring buffer consumer: every submitted record not consumed yet, in order
    /// (discarded ones skipped); stops at a record still being written.
    pub fn ringbuf_consume(&self) -> Vec<Vec<u8>> {
        match &self.imp {
            Imp::Ringbuf(r) => r.consume(),
            _ => Vec::new(),
        }
    }

    /// The records [`Map::ringbuf_consume`] would return, left in the ring.
    pub fn ringbuf_pending(&self) -> Vec<Vec<u8>> {
        match &self.imp {
            Imp::Ringbuf(r) => r.pending(),
            _ => Vec::new(),
        }
    }

    /// Perf buffer consumer: every record kept (see `RuntimeOptions::consume_events`),
    /// as (CPU index, data), CPU by CPU.
    pub fn perf_consume(&self) -> Vec<(u32, Vec<u8>)> {
        match &self.imp {
            Imp::PerfEventArray(p) => p.drain(),
            _ => Vec::new(),
        }
    }

    /// `bpf_ringbuf_query` from user space.
    pub fn ringbuf_query(&self, what: u64) -> Option<u64> {
        match &self.imp {
            Imp::Ringbuf(r) => Some(r.query(what)),
            _ => None,
        }
    }

    // ---- crate-internal: what the runtime needs ----

    /// Fill element 0 of an array (global data: `.data`, `.rodata`, `.bss`).
    pub(crate) fn init_data(&self, data: &[u8]) -> Result<(), Errno> {
        match &self.imp {
            Imp::Array(b) if data.len() <= self.info.value_size as usize && !self.is_percpu() => {
                b.write(0, data);
                Ok(())
            }
            _ => Err(Errno::EINVAL),
        }
    }

    /// (address of element 0, stride, `max_entries`) of a plain array programs may
    /// read, for lookups compiled inline.
    pub(crate) fn inline_array(&self) -> Option<(u64, u64, u32)> {
        match &self.imp {
            Imp::Array(b) if !self.is_percpu() && self.prog_readable() && self.info.max_entries > 0 => {
                Some((b.addr(0), self.stride() as u64, self.info.max_entries))
            }
            _ => None,
        }
    }

    /// Address and length of the value of key 0 for direct value access (`lddw`
    /// src=2/6): arrays with one element, like `array_map_direct_value_addr`.
    pub(crate) fn direct_value(&self) -> Result<(u64, usize), Errno> {
        match &self.imp {
            Imp::Array(b) if !self.is_percpu() => {
                if self.info.max_entries != 1 {
                    return Err(Errno::ENOTSUPP);
                }
                Ok((b.addr(0), self.info.value_size as usize))
            }
            _ => Err(Errno::EINVAL),
        }
    }

    pub(crate) fn set_inner(&self, key: &[u8], m: Arc<Map>, flag: u64) -> Result<(), Errno> {
        self.check_key(key)?;
        if flag > BPF_EXIST {
            return Err(Errno::EINVAL);
        }
        let t = self.inner.as_ref().ok_or(Errno::EINVAL)?;
        if !meta_equal(t, &m.info) {
            return Err(Errno::EINVAL);
        }
        match &self.imp {
            Imp::ArrayOfMaps(s) => {
                if flag == BPF_NOEXIST {
                    return Err(Errno::EEXIST);
                }
                s.set(Self::index(key), Some(m)).map(|_| ())
            }
            Imp::HashOfMaps(h) => h.set(key, m, flag),
            _ => Err(Errno::EINVAL),
        }
    }

    pub(crate) fn set_prog(&self, index: u32, prog: ProgId, prog_type: u32) -> Result<(), Errno> {
        match &self.imp {
            Imp::ProgArray(s) => s.set(index, prog, prog_type),
            _ => Err(Errno::EINVAL),
        }
    }

    pub(crate) fn prog_at(&self, index: u32) -> Option<ProgId> {
        match &self.imp {
            Imp::ProgArray(s) => s.get(index).map(|(p, _)| p),
            _ => None,
        }
    }

    fn found(&self, b: &(impl Store + ?Sized), off: usize) -> Found {
        Found::Mem { ptr: b.ptr(off), len: self.info.value_size as usize, writable: self.prog_writable() }
    }

    /// Whether a verified program's `map_lookup_elem` on this map may be a direct
    /// call of [`Map::lookup_direct`]: a preallocated hash map (its elements are
    /// recycled, never freed, while the map lives: a program may see a deleted
    /// element reused by a later insert, as the kernel's preallocated maps recycle
    /// theirs through a free list), not per-CPU, readable by programs.
    pub fn direct_hash(&self) -> bool {
        matches!(self.imp, Imp::Hash(_))
            && matches!(self.ty, MapType::Hash | MapType::LruHash)
            && self.info.map_flags & flags::NO_PREALLOC == 0
            && self.prog_readable()
    }

    /// A verified program's `map_lookup_elem(key)` on a [`Map::direct_hash`] map:
    /// the value's address (null when absent) and whether programs may write it.
    /// The address stays valid while the map lives.
    ///
    /// # Safety
    /// `key` must be readable for the map's key size.
    pub unsafe fn lookup_direct(&self, key: *const u8) -> (*mut u8, bool) {
        let Imp::Hash(t) = &self.imp else { return (std::ptr::null_mut(), false) };
        // SAFETY: the caller's contract.
        let key = unsafe { std::slice::from_raw_parts(key, self.info.key_size as usize) };
        let p = t.get_unpinned(key);
        if p.is_null() {
            return (p.cast(), false);
        }
        // SAFETY: a live element; elements are not freed while the map lives.
        let e = unsafe { &*p };
        t.touch(e);
        (e.value.ptr(0), self.prog_writable())
    }

    /// `map_lookup_elem` from a program on `cpu`. Hash and trie elements are pinned
    /// in `pins` for the rest of the run. `Err` for map types programs cannot look
    /// up (the verifier would refuse the call).
    pub(crate) fn prog_lookup(&self, key: &[u8], cpu: u32, pins: &mut Vec<Arc<Entry>>) -> Result<Option<Found>, Errno> {
        let off = cpu as usize * self.stride();
        Ok(match &self.imp {
            Imp::Array(b) => {
                let i = Self::index(key);
                if i >= self.info.max_entries {
                    return Ok(None);
                }
                Some(self.found(b, i as usize * self.slots() * self.stride() + if self.is_percpu() { off } else { 0 }))
            }
            Imp::Hash(t) | Imp::DevArray(t) => match t.get(key) {
                Some(e) => {
                    t.touch(&e);
                    let f = Found::Mem {
                        ptr: e.value.ptr(if self.is_percpu() { off } else { 0 }),
                        len: self.info.value_size as usize,
                        writable: self.prog_writable()
                            && matches!(
                                self.ty,
                                MapType::Hash | MapType::PercpuHash | MapType::LruHash | MapType::LruPercpuHash
                            ),
                    };
                    pins.push(e);
                    Some(f)
                }
                None => None,
            },
            Imp::Lpm(t) => match t.lookup(key) {
                Some(e) => {
                    let f = self.found(&e.value, 0);
                    pins.push(e);
                    Some(f)
                }
                None => None,
            },
            Imp::ArrayOfMaps(s) => s.get(Self::index(key)).map(Found::Map),
            Imp::HashOfMaps(h) => h.get(key).map(Found::Map),
            _ => return Err(Errno::EOPNOTSUPP),
        })
    }

    /// `map_update_elem` from a program on `cpu`.
    pub(crate) fn prog_update(&self, key: &[u8], value: &[u8], flags: u64, cpu: u32) -> Result<(), Errno> {
        let lock = flags & BPF_F_LOCK != 0;
        let flag = flags & !BPF_F_LOCK;
        if flag > BPF_EXIST {
            return Err(Errno::EINVAL);
        }
        if lock && self.spin_lock_off.is_none() {
            return Err(Errno::EINVAL);
        }
        match &self.imp {
            Imp::Array(b) => {
                let i = Self::index(key);
                if i >= self.info.max_entries {
                    return Err(Errno::E2BIG);
                }
                if flag == BPF_NOEXIST {
                    return Err(Errno::EEXIST);
                }
                let mut base = i as usize * self.slots() * self.stride();
                if self.is_percpu() {
                    base += cpu as usize * self.stride();
                }
                if lock {
                    self.locked(b, base, || self.write_value(b, base, value))
                } else {
                    self.write_value(b, base, value);
                    Ok(())
                }
            }
            Imp::Hash(t) => self.hash_update(t, key, value, flag, lock, self.is_percpu().then_some(cpu)),
            Imp::Lpm(t) => t.update(key, flag, |e| self.write_value(&e.value, 0, value)),
            Imp::Queue(q) => q.push(value, flags),
            Imp::Bloom(b) => {
                if flags != BPF_ANY {
                    return Err(Errno::EINVAL);
                }
                b.push(value);
                Ok(())
            }
            _ => Err(Errno::EOPNOTSUPP),
        }
    }

    /// `map_delete_elem` from a program.
    pub(crate) fn prog_delete(&self, key: &[u8]) -> Result<(), Errno> {
        match &self.imp {
            Imp::Array(_) => Err(Errno::EINVAL),
            Imp::Hash(_) | Imp::Lpm(_) => self.delete_inner(key),
            _ => Err(Errno::EOPNOTSUPP),
        }
    }

    /// `map_pop_elem` / `map_peek_elem` from a program; `Err(EOPNOTSUPP)` for maps
    /// that have neither.
    pub(crate) fn prog_pop(&self, pop: bool) -> Result<Box<[u8]>, Errno> {
        match &self.imp {
            Imp::Queue(q) if pop => q.pop(),
            Imp::Queue(q) => q.peek(),
            _ => Err(Errno::EOPNOTSUPP),
        }
    }

    /// `map_peek_elem` on a bloom filter: is `value` (maybe) present?
    pub(crate) fn prog_bloom_peek(&self, value: &[u8]) -> Result<bool, Errno> {
        match &self.imp {
            Imp::Bloom(b) => Ok(b.maybe_contains(value)),
            _ => Err(Errno::EOPNOTSUPP),
        }
    }

    /// The elements `bpf_for_each_map_elem` visits on `cpu`: (key, value address),
    /// hash elements pinned in `pins`. `Err` for map types it does not support.
    pub(crate) fn prog_elems(&self, cpu: u32, pins: &mut Vec<Arc<Entry>>) -> Result<Vec<(Vec<u8>, u64)>, Errno> {
        let off = if self.is_percpu() { cpu as usize * self.stride() } else { 0 };
        match &self.imp {
            Imp::Array(b) => Ok((0..self.info.max_entries)
                .map(|i| (i.to_le_bytes().to_vec(), b.addr(i as usize * self.slots() * self.stride() + off)))
                .collect()),
            Imp::Hash(t) => {
                let all = t.snapshot();
                let v = all.iter().map(|e| (e.key().to_vec(), e.value.addr(off))).collect();
                pins.extend(all);
                Ok(v)
            }
            _ => Err(Errno::EINVAL),
        }
    }

    /// The cgroup at `index` of a cgroup_array: `Err(E2BIG)` out of range, `Ok(None)` empty.
    pub(crate) fn cgroup_at(&self, index: u32) -> Option<Result<Option<u32>, Errno>> {
        match &self.imp {
            Imp::CgroupArray(c) => Some(c.get(index)),
            _ => None,
        }
    }

    pub(crate) fn ringbuf(&self) -> Option<&ringbuf::RingBuf> {
        match &self.imp {
            Imp::Ringbuf(r) => Some(r),
            _ => None,
        }
    }

    pub(crate) fn perf(&self) -> Option<&slots::PerfArray> {
        match &self.imp {
            Imp::PerfEventArray(p) => Some(p),
            _ => None,
        }
    }

    /// Value of a device map slot (devmap, cpumap, xskmap, devmap_hash) for `redirect_map`.
    pub(crate) fn dev_value(&self, key: u32) -> Option<Vec<u8>> {
        match &self.imp {
            Imp::DevArray(t) | Imp::Hash(t)
                if matches!(self.ty, MapType::Devmap | MapType::DevmapHash | MapType::Cpumap | MapType::Xskmap) =>
            {
                t.with(&key.to_le_bytes(), |e| e.value.to_vec(0, self.info.value_size as usize))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
