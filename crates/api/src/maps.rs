//! Map handles: untyped ([`RawMap`]), typed ([`Map`]) and event readers.

use crate::{Error, Result};
use bpfbox_abi::map_types::MapType;
use bpfbox_object::btf::Btf;
use bpfbox_vm::Errno;
use std::marker::PhantomData;
use std::sync::Arc;

/// A plain value that a map key or value can hold: its bytes are its value, in the
/// host's byte order (as a C program on the same machine lays it out). Implemented for
/// the integer types and `[u8; N]`; implement it for your own `#[repr(C)]` structs.
///
/// ```
/// use bpfbox::Pod;
/// assert_eq!(<u32 as Pod>::SIZE, 4);
/// assert_eq!(7u16.to_bytes(), 7u16.to_ne_bytes());
/// assert_eq!(<[u8; 3]>::from_bytes(&[1, 2, 3]), Some([1, 2, 3]));
/// assert_eq!(u64::from_bytes(&[0; 4]), None);
/// ```
pub trait Pod: Sized + Copy + Send + Sync + 'static {
    /// Its size in bytes.
    const SIZE: usize;
    /// Its bytes (`SIZE` of them).
    fn to_bytes(&self) -> Vec<u8>;
    /// The value of `bytes`; `None` when there are not exactly `SIZE` of them.
    fn from_bytes(bytes: &[u8]) -> Option<Self>;
}

macro_rules! pod_int {
    ($($t:ty),*) => {$(
        impl Pod for $t {
            const SIZE: usize = std::mem::size_of::<$t>();
            fn to_bytes(&self) -> Vec<u8> {
                self.to_ne_bytes().to_vec()
            }
            fn from_bytes(bytes: &[u8]) -> Option<Self> {
                Some(<$t>::from_ne_bytes(bytes.try_into().ok()?))
            }
        }
    )*};
}
pod_int!(u8, u16, u32, u64, u128, i8, i16, i32, i64, i128);

impl<const N: usize> Pod for [u8; N] {
    const SIZE: usize = N;
    fn to_bytes(&self) -> Vec<u8> {
        self.to_vec()
    }
    fn from_bytes(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok()
    }
}

/// A map's (key, value) pairs, as bytes.
pub(crate) type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// What a [`RawMap`] reads and writes: a map of bpfbox's runtime, or (feature `kernel`)
/// one the kernel created. Both give the kernel's errnos and value layouts.
#[derive(Clone)]
enum Backing {
    Vm(Arc<bpfbox_vm::Map>),
    #[cfg(feature = "kernel")]
    Kernel(Arc<crate::kernel::KernelMap>),
}

impl Backing {
    fn vm(&self) -> Option<&Arc<bpfbox_vm::Map>> {
        match self {
            Backing::Vm(m) => Some(m),
            #[cfg(feature = "kernel")]
            Backing::Kernel(_) => None,
        }
    }

    fn name(&self) -> &str {
        match self {
            Backing::Vm(m) => m.name(),
            #[cfg(feature = "kernel")]
            Backing::Kernel(m) => m.name(),
        }
    }

    fn map_type(&self) -> u32 {
        match self {
            Backing::Vm(m) => m.map_type(),
            #[cfg(feature = "kernel")]
            Backing::Kernel(m) => m.shape().map_type,
        }
    }

    fn kind(&self) -> Option<MapType> {
        MapType::from_u32(self.map_type())
    }

    fn key_size(&self) -> u32 {
        match self {
            Backing::Vm(m) => m.key_size(),
            #[cfg(feature = "kernel")]
            Backing::Kernel(m) => m.shape().key_size,
        }
    }

    fn value_size(&self) -> u32 {
        match self {
            Backing::Vm(m) => m.value_size(),
            #[cfg(feature = "kernel")]
            Backing::Kernel(m) => m.shape().value_size,
        }
    }

    fn is_percpu(&self) -> bool {
        match self {
            Backing::Vm(m) => m.is_percpu(),
            #[cfg(feature = "kernel")]
            Backing::Kernel(m) => m.shape().is_percpu(),
        }
    }

    fn nr_cpus(&self) -> u32 {
        match self {
            Backing::Vm(m) => m.nr_cpus(),
            #[cfg(feature = "kernel")]
            Backing::Kernel(m) => m.nr_cpus(),
        }
    }

    /// Bytes of a value as user space reads and writes it (every CPU's, for per-CPU maps).
    fn user_value_len(&self) -> usize {
        match self {
            Backing::Vm(m) => m.user_value_len(),
            #[cfg(feature = "kernel")]
            Backing::Kernel(m) => m.value_buf_size(),
        }
    }

    fn lookup(&self, key: &[u8]) -> std::result::Result<Vec<u8>, Errno> {
        match self {
            Backing::Vm(m) => m.lookup(key),
            #[cfg(feature = "kernel")]
            Backing::Kernel(m) => m.lookup(key),
        }
    }

    fn update(&self, key: &[u8], value: &[u8], flags: u64) -> std::result::Result<(), Errno> {
        match self {
            Backing::Vm(m) => m.update(key, value, flags),
            #[cfg(feature = "kernel")]
            Backing::Kernel(m) => m.update(key, value, flags),
        }
    }

    fn delete(&self, key: &[u8]) -> std::result::Result<(), Errno> {
        match self {
            Backing::Vm(m) => m.delete(key),
            #[cfg(feature = "kernel")]
            Backing::Kernel(m) => m.delete(key),
        }
    }

    fn entries(&self) -> std::result::Result<Entries, Errno> {
        match self {
            Backing::Vm(m) => Ok(m.entries()),
            #[cfg(feature = "kernel")]
            Backing::Kernel(m) => m.entries(),
        }
    }
}

/// A map with keys and values as bytes. Cloning shares the map.
///
/// ```
/// # let obj = bpfbox::Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?;
/// let inst = obj.load(&bpfbox::Engine::interpreter())?;
/// let m = inst.raw_map("blocklist")?;
/// m.insert(&[10, 0, 0, 1], &5u64.to_ne_bytes())?;
/// assert_eq!(m.get(&[10, 0, 0, 1])?, Some(5u64.to_ne_bytes().to_vec()));
/// assert_eq!(m.entries().len(), 1);
/// assert!(m.remove(&[10, 0, 0, 1])?);
/// assert!(m.get(&[1, 2]).is_err()); // wrong key size
/// # Ok::<(), bpfbox::Error>(())
/// ```
#[derive(Clone)]
pub struct RawMap {
    map: Backing,
    key_type: Option<u32>,
    value_type: Option<u32>,
    btf: Option<Arc<Btf>>,
}

impl std::fmt::Debug for RawMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawMap")
            .field("name", &self.map.name())
            .field("type", &self.map_type())
            .field("key_size", &self.map.key_size())
            .field("value_size", &self.map.value_size())
            .finish()
    }
}

impl RawMap {
    pub(crate) fn new(
        map: Arc<bpfbox_vm::Map>,
        key_type: Option<u32>,
        value_type: Option<u32>,
        btf: Option<Arc<Btf>>,
    ) -> RawMap {
        RawMap { map: Backing::Vm(map), key_type, value_type, btf }
    }

    #[cfg(feature = "kernel")]
    pub(crate) fn kernel(
        map: Arc<crate::kernel::KernelMap>,
        key_type: Option<u32>,
        value_type: Option<u32>,
        btf: Option<Arc<Btf>>,
    ) -> RawMap {
        RawMap { map: Backing::Kernel(map), key_type, value_type, btf }
    }

    fn err(&self, op: &'static str, errno: Errno) -> Error {
        Error::Map { map: self.name().into(), op, errno }
    }

    fn check(&self, what: &'static str, expected: usize, given: usize, type_name: &'static str) -> Result<()> {
        if expected == given {
            return Ok(());
        }
        Err(Error::SizeMismatch { map: self.name().into(), what, expected, given, type_name })
    }

    /// The map's name.
    ///
    /// ```
    /// # let obj = bpfbox::Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?;
    /// # let inst = obj.load(&bpfbox::Engine::interpreter())?;
    /// assert_eq!(inst.raw_map("stats")?.name(), "stats");
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn name(&self) -> &str {
        self.map.name()
    }

    /// The map type as bpftool names it (`hash`, `array`, `ringbuf`...).
    ///
    /// ```
    /// # let obj = bpfbox::Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?;
    /// # let inst = obj.load(&bpfbox::Engine::interpreter())?;
    /// assert_eq!(inst.raw_map("stats")?.map_type(), "array");
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn map_type(&self) -> &'static str {
        MapType::name_of(self.map.map_type())
    }

    /// Bytes of a key.
    ///
    /// ```
    /// # let obj = bpfbox::Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?;
    /// # let inst = obj.load(&bpfbox::Engine::interpreter())?;
    /// assert_eq!(inst.raw_map("blocklist")?.key_size(), 4);
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn key_size(&self) -> usize {
        self.map.key_size() as usize
    }

    /// Bytes of a value as the program sees it (one CPU's, for per-CPU maps).
    ///
    /// ```
    /// # let obj = bpfbox::Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?;
    /// # let inst = obj.load(&bpfbox::Engine::interpreter())?;
    /// assert_eq!(inst.raw_map("blocklist")?.value_size(), 8);
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn value_size(&self) -> usize {
        self.map.value_size() as usize
    }

    /// Whether values are per CPU: [`RawMap::get`] then returns every CPU's value, each
    /// padded to 8 bytes, one after the other (as `bpf_map_lookup_elem` from user space).
    ///
    /// ```
    /// # let obj = bpfbox::Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?;
    /// # let inst = obj.load(&bpfbox::Engine::interpreter())?;
    /// assert!(!inst.raw_map("stats")?.is_percpu());
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn is_percpu(&self) -> bool {
        self.map.is_percpu()
    }

    /// The number of CPUs of a per-CPU map's values (the engine's; in the kernel, the
    /// possible CPUs).
    ///
    /// ```
    /// # let obj = bpfbox::Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?;
    /// # let inst = obj.load(&bpfbox::Engine::interpreter().nr_cpus(3))?;
    /// assert_eq!(inst.raw_map("stats")?.nr_cpus(), 3);
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn nr_cpus(&self) -> usize {
        self.map.nr_cpus() as usize
    }

    /// The value under `key`; `None` when there is none.
    ///
    /// ```
    /// # let obj = bpfbox::Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?;
    /// # let inst = obj.load(&bpfbox::Engine::interpreter())?;
    /// assert_eq!(inst.raw_map("blocklist")?.get(&[1, 2, 3, 4])?, None);
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.check("key", self.key_size(), key.len(), "bytes")?;
        match self.map.lookup(key) {
            Ok(v) => Ok(Some(v)),
            Err(Errno::ENOENT) => Ok(None),
            Err(e) => Err(self.err("lookup", e)),
        }
    }

    /// Set `key` to `value` (created or replaced). Per-CPU maps take one value for
    /// every CPU, or all of them padded to 8 bytes each.
    ///
    /// ```
    /// # let obj = bpfbox::Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?;
    /// # let inst = obj.load(&bpfbox::Engine::interpreter())?;
    /// let stats = inst.raw_map("stats")?;
    /// assert!(stats.insert(&9u32.to_ne_bytes(), &[0; 8]).is_err()); // E2BIG: 5 entries
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn insert(&self, key: &[u8], value: &[u8]) -> Result<()> {
        self.check("key", self.key_size(), key.len(), "bytes")?;
        let full;
        let value = if self.is_percpu() && value.len() == self.value_size() {
            let slot = self.value_size().div_ceil(8) * 8;
            let mut one = value.to_vec();
            one.resize(slot, 0);
            full = one.repeat(self.nr_cpus());
            &full[..]
        } else {
            value
        };
        self.check("value", self.map.user_value_len(), value.len(), "bytes")?;
        self.map.update(key, value, 0).map_err(|e| self.err("update", e))
    }

    /// Delete `key`; `false` when it was not there. Arrays cannot delete (`EINVAL`).
    ///
    /// ```
    /// # let obj = bpfbox::Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?;
    /// # let inst = obj.load(&bpfbox::Engine::interpreter())?;
    /// assert!(!inst.raw_map("blocklist")?.remove(&[1, 2, 3, 4])?);
    /// assert!(inst.raw_map("stats")?.remove(&0u32.to_ne_bytes()).is_err());
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn remove(&self, key: &[u8]) -> Result<bool> {
        self.check("key", self.key_size(), key.len(), "bytes")?;
        match self.map.delete(key) {
            Ok(()) => Ok(true),
            Err(Errno::ENOENT) => Ok(false),
            Err(e) => Err(self.err("delete", e)),
        }
    }

    /// Every (key, value), as user space dumps them (arrays: every index). For a map in
    /// the kernel whose keys the kernel refuses to walk, empty; [`Map::iter`] returns
    /// that error instead.
    ///
    /// ```
    /// # let obj = bpfbox::Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?;
    /// # let inst = obj.load(&bpfbox::Engine::interpreter())?;
    /// assert_eq!(inst.raw_map("stats")?.entries().len(), 5);
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn entries(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.try_entries().unwrap_or_default()
    }

    /// [`RawMap::entries`], with the error of a kernel map whose keys could not be walked.
    fn try_entries(&self) -> Result<Entries> {
        self.map.entries().map_err(|e| self.err("get_next_key", e))
    }

    /// Empty the map: delete every key, or zero every element of an array (as bcc's
    /// `clear()` does).
    ///
    /// ```
    /// # let obj = bpfbox::Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?;
    /// # let inst = obj.load(&bpfbox::Engine::interpreter())?;
    /// let stats = inst.raw_map("stats")?;
    /// stats.insert(&1u32.to_ne_bytes(), &7u64.to_ne_bytes())?;
    /// stats.clear()?;
    /// assert_eq!(stats.get(&1u32.to_ne_bytes())?, Some(vec![0; 8]));
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn clear(&self) -> Result<()> {
        let zero = vec![0; self.map.user_value_len()];
        for (k, _) in self.try_entries()? {
            match self.map.delete(&k) {
                Ok(()) | Err(Errno::ENOENT) => {}
                Err(Errno::EINVAL) if matches!(self.map.kind(), Some(MapType::Array | MapType::PercpuArray)) => {
                    self.map.update(&k, &zero, 0).map_err(|e| self.err("update", e))?;
                }
                Err(e) => return Err(self.err("delete", e)),
            }
        }
        Ok(())
    }

    /// One value (`value_size` bytes; for per-CPU maps, one CPU's) decoded with the
    /// map's BTF value type, as JSON: structs as objects, arrays as arrays (`char`
    /// arrays holding a string as strings), ints as numbers, enums by name. `None`
    /// when the object has no BTF for the value.
    ///
    /// ```
    /// use bpfbox::{Engine, Input, Object};
    /// let obj = Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/proto_counter.bpf.o"))?;
    /// let inst = obj.load(&Engine::interpreter().nr_cpus(1))?;
    /// inst.test_run("count_protocols", &Input::data(vec![0u8; 60]))?;
    /// let stats = inst.raw_map("proto_stats")?;
    /// let v = stats.get(&0u32.to_ne_bytes())?.unwrap();
    /// let json = stats.value_json(&v[..16]).unwrap();
    /// assert_eq!(json, serde_json::json!({"packets": 1, "bytes": 60}));
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn value_json(&self, value: &[u8]) -> Option<serde_json::Value> {
        let btf = self.btf.as_ref()?;
        Some(btf.format_value(self.value_type?, value))
    }

    /// The size of a BTF type, when the object describes the key or value with one.
    fn btf_size(&self, id: Option<u32>) -> Option<usize> {
        let btf = self.btf.as_ref()?;
        btf.resolve_size(id?).ok().map(|s| s as usize)
    }
}

/// A map with typed keys and values; sizes were checked when it was made
/// ([`crate::Instance::map`]).
///
/// ```
/// # let obj = bpfbox::Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?;
/// let inst = obj.load(&bpfbox::Engine::interpreter())?;
/// let blocklist = inst.map::<u32, u64>("blocklist")?;
/// blocklist.insert(&0x0100_000a, &0)?;
/// assert_eq!(blocklist.iter()?.collect::<Vec<_>>(), [(0x0100_000a, 0)]);
/// # Ok::<(), bpfbox::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Map<K, V> {
    raw: RawMap,
    types: PhantomData<fn() -> (K, V)>,
}

impl<K: Pod, V: Pod> Map<K, V> {
    pub(crate) fn new(raw: RawMap) -> Result<Map<K, V>> {
        let (k, v) = (std::any::type_name::<K>(), std::any::type_name::<V>());
        raw.check("key", raw.key_size(), K::SIZE, k)?;
        raw.check("value", raw.value_size(), V::SIZE, v)?;
        if let Some(size) = raw.btf_size(raw.key_type) {
            raw.check("key (its BTF type)", size, K::SIZE, k)?;
        }
        if let Some(size) = raw.btf_size(raw.value_type) {
            raw.check("value (its BTF type)", size, V::SIZE, v)?;
        }
        Ok(Map { raw, types: PhantomData })
    }

    fn value(&self, bytes: &[u8]) -> Result<V> {
        V::from_bytes(bytes).ok_or_else(|| Error::SizeMismatch {
            map: self.raw.name().into(),
            what: "value",
            expected: V::SIZE,
            given: bytes.len(),
            type_name: std::any::type_name::<V>(),
        })
    }

    fn not_percpu(&self, op: &str) -> Result<()> {
        if self.raw.is_percpu() {
            return Err(Error::WrongMapKind {
                map: self.raw.name().into(),
                reason: format!("a per-CPU map has one value per CPU: use {op}_percpu"),
            });
        }
        Ok(())
    }

    /// The untyped map underneath.
    ///
    /// ```
    /// # let obj = bpfbox::Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?;
    /// # let inst = obj.load(&bpfbox::Engine::interpreter())?;
    /// assert_eq!(inst.map::<u32, u64>("stats")?.raw().name(), "stats");
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn raw(&self) -> &RawMap {
        &self.raw
    }

    /// The value under `key`.
    ///
    /// ```
    /// # let obj = bpfbox::Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?;
    /// # let inst = obj.load(&bpfbox::Engine::interpreter())?;
    /// let stats = inst.map::<u32, u64>("stats")?;
    /// assert_eq!((stats.get(&0)?, stats.get(&5)?), (Some(0), None));
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn get(&self, key: &K) -> Result<Option<V>> {
        self.not_percpu("get")?;
        self.raw.get(&key.to_bytes())?.map(|v| self.value(&v)).transpose()
    }

    /// Every CPU's value under `key` (per-CPU maps).
    ///
    /// ```
    /// let obj = bpfbox::Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/progs/map_types.bpf.o"))?;
    /// let inst = obj.load(&bpfbox::Engine::interpreter().nr_cpus(2))?;
    /// let m = inst.map::<u32, u32>("t_percpu_array")?;
    /// m.insert(&0, &3)?;
    /// assert_eq!(m.get_percpu(&0)?, Some(vec![3, 3]));
    /// assert!(m.get(&0).is_err());
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn get_percpu(&self, key: &K) -> Result<Option<Vec<V>>> {
        let Some(all) = self.raw.get(&key.to_bytes())? else { return Ok(None) };
        if !self.raw.is_percpu() {
            return Ok(Some(vec![self.value(&all)?]));
        }
        let slot = V::SIZE.div_ceil(8) * 8;
        all.chunks(slot).map(|c| self.value(&c[..V::SIZE.min(c.len())])).collect::<Result<Vec<V>>>().map(Some)
    }

    /// Set `key` to `value` (on every CPU, for per-CPU maps).
    ///
    /// ```
    /// # let obj = bpfbox::Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?;
    /// # let inst = obj.load(&bpfbox::Engine::interpreter())?;
    /// let stats = inst.map::<u32, u64>("stats")?;
    /// stats.insert(&3, &42)?;
    /// assert_eq!(stats.get(&3)?, Some(42));
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn insert(&self, key: &K, value: &V) -> Result<()> {
        self.raw.insert(&key.to_bytes(), &value.to_bytes())
    }

    /// Delete `key`; `false` when it was not there.
    ///
    /// ```
    /// # let obj = bpfbox::Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?;
    /// # let inst = obj.load(&bpfbox::Engine::interpreter())?;
    /// let b = inst.map::<[u8; 4], u64>("blocklist")?;
    /// b.insert(&[1, 1, 1, 1], &0)?;
    /// assert!(b.remove(&[1, 1, 1, 1])? && !b.remove(&[1, 1, 1, 1])?);
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn remove(&self, key: &K) -> Result<bool> {
        self.raw.remove(&key.to_bytes())
    }

    /// A snapshot of every (key, value).
    ///
    /// ```
    /// # let obj = bpfbox::Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/xdp_firewall.bpf.o"))?;
    /// # let inst = obj.load(&bpfbox::Engine::interpreter())?;
    /// let total: u64 = inst.map::<u32, u64>("stats")?.iter()?.map(|(_, n)| n).sum();
    /// assert_eq!(total, 0);
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn iter(&self) -> Result<impl Iterator<Item = (K, V)>> {
        self.not_percpu("iter")?;
        // Sizes were checked when the handle was made, so every entry converts.
        Ok(self.raw.try_entries()?.into_iter().filter_map(|(k, v)| Some((K::from_bytes(&k)?, V::from_bytes(&v)?))))
    }

    /// A snapshot of every (key, per-CPU values) of a per-CPU map.
    ///
    /// ```
    /// # let obj = bpfbox::Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/progs/map_types.bpf.o"))?;
    /// # let inst = obj.load(&bpfbox::Engine::interpreter().nr_cpus(2))?;
    /// let m = inst.map::<u32, u32>("t_percpu_array")?;
    /// assert!(m.iter_percpu()?.all(|(_, v)| v == [0, 0]));
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn iter_percpu(&self) -> Result<impl Iterator<Item = (K, Vec<V>)>> {
        let mut out = Vec::new();
        for (k, _) in self.raw.try_entries()? {
            let Some(key) = K::from_bytes(&k) else { continue };
            if let Some(v) = self.get_percpu(&key)? {
                out.push((key, v));
            }
        }
        Ok(out.into_iter())
    }
}

/// Reads the records programs submitted to a ring buffer (`BPF_MAP_TYPE_RINGBUF`),
/// oldest first; reading consumes them and frees their space, as a user-space consumer.
///
/// ```
/// # let obj = bpfbox::Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/ringbuf_events.bpf.o"))?;
/// let inst = obj.load(&bpfbox::Engine::interpreter())?;
/// let rb = inst.ring_buffer("events")?;
/// let mut n = 0;
/// rb.poll(|_record| n += 1);
/// assert_eq!(n, 0);
/// # Ok::<(), bpfbox::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct RingBuffer {
    raw: RawMap,
}

impl RingBuffer {
    pub(crate) fn new(raw: RawMap) -> Result<RingBuffer> {
        if raw.map.kind() != Some(MapType::Ringbuf) || raw.map.vm().is_none() {
            return Err(Error::WrongMapKind {
                map: raw.name().into(),
                reason: format!("a {} is not a ring buffer", raw.map_type()),
            });
        }
        Ok(RingBuffer { raw })
    }

    /// Every record not read yet.
    ///
    /// ```
    /// # let obj = bpfbox::Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/ringbuf_events.bpf.o"))?;
    /// # let inst = obj.load(&bpfbox::Engine::interpreter())?;
    /// assert!(inst.ring_buffer("events")?.drain().is_empty());
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn drain(&self) -> Vec<Vec<u8>> {
        self.raw.map.vm().map(|m| m.ringbuf_consume()).unwrap_or_default()
    }

    /// Call `f` on every record not read yet; returns how many.
    ///
    /// ```
    /// # let obj = bpfbox::Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/ringbuf_events.bpf.o"))?;
    /// # let inst = obj.load(&bpfbox::Engine::interpreter())?;
    /// assert_eq!(inst.ring_buffer("events")?.poll(|_| ()), 0);
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn poll(&self, mut f: impl FnMut(&[u8])) -> usize {
        let records = self.drain();
        for r in &records {
            f(r);
        }
        records.len()
    }
}

/// Reads the records programs wrote to a perf buffer (`BPF_MAP_TYPE_PERF_EVENT_ARRAY`)
/// with `bpf_perf_event_output`, as (CPU, bytes).
///
/// ```
/// let obj = bpfbox::Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/realworld/bashreadline.bpf.o"))?;
/// let inst = obj.load(&bpfbox::Engine::interpreter())?;
/// assert!(inst.perf_buffer("events")?.drain().is_empty());
/// # Ok::<(), bpfbox::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct PerfBuffer {
    raw: RawMap,
}

impl PerfBuffer {
    pub(crate) fn new(raw: RawMap) -> Result<PerfBuffer> {
        if raw.map.kind() != Some(MapType::PerfEventArray) || raw.map.vm().is_none() {
            return Err(Error::WrongMapKind {
                map: raw.name().into(),
                reason: format!("a {} is not a perf event array", raw.map_type()),
            });
        }
        Ok(PerfBuffer { raw })
    }

    /// Every record not read yet, as (CPU, bytes).
    ///
    /// ```
    /// # let obj = bpfbox::Object::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/realworld/bashreadline.bpf.o"))?;
    /// # let inst = obj.load(&bpfbox::Engine::interpreter())?;
    /// assert_eq!(inst.perf_buffer("events")?.drain(), vec![]);
    /// # Ok::<(), bpfbox::Error>(())
    /// ```
    pub fn drain(&self) -> Vec<(u32, Vec<u8>)> {
        self.raw.map.vm().map(|m| m.perf_consume()).unwrap_or_default()
    }
}
