//! Storage shared with running programs: zeroed, 8-byte aligned bytes at a stable
//! address, written by programs through raw pointers while other threads may read.
//!
//! Like the kernel's map memory, values are not copied atomically (unless the map
//! uses `bpf_spin_lock` and the caller asks for `BPF_F_LOCK`): a reader racing with
//! a writer may see a torn value, exactly as with a kernel map.

use std::cell::UnsafeCell;
use std::hash::{BuildHasher, Hasher};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// A fixed-size, zero-initialized byte buffer with a stable address.
pub(crate) struct Bytes {
    ptr: NonNull<u64>,
    words: usize,
    len: usize,
}

// SAFETY: the buffer is plain memory owned by `Bytes`; concurrent access goes
// through raw pointers, with the same (racy) semantics as kernel map memory.
unsafe impl Send for Bytes {}
// SAFETY: as above.
unsafe impl Sync for Bytes {}

impl Bytes {
    pub fn zeroed(len: usize) -> Bytes {
        let words = len.div_ceil(8).max(1);
        let b: Box<[u64]> = vec![0u64; words].into_boxed_slice();
        let raw = Box::into_raw(b) as *mut u64;
        // SAFETY: Box::into_raw never returns null.
        let ptr = unsafe { NonNull::new_unchecked(raw) };
        Bytes { ptr, words, len }
    }
}

/// `ptr::copy` without a libc call for the common small value sizes.
///
/// # Safety
/// As for `ptr::copy`.
#[inline(always)]
unsafe fn copy_small(src: *const u8, dst: *mut u8, n: usize) {
    // SAFETY: forwarded to the caller.
    unsafe {
        match n {
            4 => std::ptr::write_unaligned(dst as *mut u32, std::ptr::read_unaligned(src as *const u32)),
            8 => std::ptr::write_unaligned(dst as *mut u64, std::ptr::read_unaligned(src as *const u64)),
            16 => std::ptr::write_unaligned(dst as *mut u128, std::ptr::read_unaligned(src as *const u128)),
            _ => std::ptr::copy(src, dst, n),
        }
    }
}

/// Memory shared with programs: a base address and a length, with checked copies.
pub(crate) trait Store {
    fn base(&self) -> *mut u8;
    fn len(&self) -> usize;

    /// Host address of byte `off` (what programs see).
    fn ptr(&self, off: usize) -> *mut u8 {
        debug_assert!(off <= self.len());
        self.base().wrapping_add(off)
    }

    fn addr(&self, off: usize) -> u64 {
        self.ptr(off).expose_provenance() as u64
    }

    /// Copy `out.len()` bytes from `off`. Panics (a bug in bpfbox) if out of range.
    fn read(&self, off: usize, out: &mut [u8]) {
        assert!(off + out.len() <= self.len(), "Store::read out of range");
        // SAFETY: in range of the allocation; see the module comment on races.
        unsafe { copy_small(self.ptr(off), out.as_mut_ptr(), out.len()) }
    }

    fn write(&self, off: usize, data: &[u8]) {
        assert!(off + data.len() <= self.len(), "Store::write out of range");
        // SAFETY: as for `read`.
        unsafe { copy_small(data.as_ptr(), self.ptr(off), data.len()) }
    }

    fn to_vec(&self, off: usize, len: usize) -> Vec<u8> {
        let mut v = vec![0; len];
        self.read(off, &mut v);
        v
    }

    /// The `bpf_spin_lock` word at `off` (4-byte aligned by construction of the value).
    fn lock_word(&self, off: usize) -> &AtomicU32 {
        assert!(off + 4 <= self.len() && off.is_multiple_of(4), "spin lock out of range");
        // SAFETY: aligned (the storage is 8-aligned, `off` 4-aligned), in range, and
        // only ever accessed atomically as a lock word while `self` lives.
        unsafe { AtomicU32::from_ptr(self.ptr(off) as *mut u32) }
    }
}

impl Store for Bytes {
    fn base(&self) -> *mut u8 {
        self.ptr.as_ptr() as *mut u8
    }
    fn len(&self) -> usize {
        self.len
    }
}

/// Words of a value kept inside its element (no allocation of its own).
const INLINE_WORDS: usize = 4;

/// The value of a hash or trie element: inline up to 32 bytes, else its own
/// allocation. Only ever read or written through its address once the element sits
/// in its `Arc` (it must not move after that).
#[repr(C)]
pub(crate) struct EntryValue {
    inline: [UnsafeCell<u64>; INLINE_WORDS],
    heap: Option<Bytes>,
    len: usize,
}

// SAFETY: plain memory, accessed through raw pointers like `Bytes`.
unsafe impl Sync for EntryValue {}
// SAFETY: as above.
unsafe impl Send for EntryValue {}

impl EntryValue {
    pub fn zeroed(len: usize) -> EntryValue {
        let heap = (len > INLINE_WORDS * 8).then(|| Bytes::zeroed(len));
        EntryValue { inline: Default::default(), heap, len }
    }
}

impl Store for EntryValue {
    fn base(&self) -> *mut u8 {
        match &self.heap {
            Some(b) => b.base(),
            None => UnsafeCell::raw_get(self.inline.as_ptr()) as *mut u8,
        }
    }
    fn len(&self) -> usize {
        self.len
    }
}

impl std::fmt::Debug for EntryValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EntryValue({} bytes)", self.len)
    }
}

/// A key, inline up to 16 bytes. Hashes and compares as its bytes.
#[derive(Clone)]
pub(crate) enum KeyBuf {
    Inline { len: u8, b: [u8; 16] },
    Heap(Box<[u8]>),
}

impl KeyBuf {
    pub fn as_slice(&self) -> &[u8] {
        match self {
            KeyBuf::Inline { len, b } => &b[..*len as usize],
            KeyBuf::Heap(h) => h,
        }
    }
}

impl From<&[u8]> for KeyBuf {
    fn from(k: &[u8]) -> KeyBuf {
        if k.len() <= 16 {
            let mut b = [0u8; 16];
            b[..k.len()].copy_from_slice(k);
            KeyBuf::Inline { len: k.len() as u8, b }
        } else {
            KeyBuf::Heap(k.into())
        }
    }
}

impl std::ops::Deref for KeyBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl std::borrow::Borrow<[u8]> for KeyBuf {
    fn borrow(&self) -> &[u8] {
        self.as_slice()
    }
}

impl std::hash::Hash for KeyBuf {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.as_slice().hash(h)
    }
}

impl PartialEq for KeyBuf {
    fn eq(&self, o: &KeyBuf) -> bool {
        self.as_slice() == o.as_slice()
    }
}

impl Eq for KeyBuf {}

impl PartialOrd for KeyBuf {
    fn partial_cmp(&self, o: &KeyBuf) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

impl Ord for KeyBuf {
    fn cmp(&self, o: &KeyBuf) -> std::cmp::Ordering {
        self.as_slice().cmp(o.as_slice())
    }
}

impl std::fmt::Debug for KeyBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:02x?}", self.as_slice())
    }
}

impl Drop for Bytes {
    fn drop(&mut self) {
        let slice = std::ptr::slice_from_raw_parts_mut(self.ptr.as_ptr(), self.words);
        // SAFETY: allocated by `zeroed` with Box<[u64]> of `words` elements.
        drop(unsafe { Box::from_raw(slice) });
    }
}

impl std::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bytes({} @ {:p})", self.len, self.ptr)
    }
}

/// Take a `bpf_spin_lock` word: spin, then yield.
pub(crate) fn spin_lock(w: &AtomicU32) {
    let mut spins = 0u32;
    while w.compare_exchange_weak(0, 1, Ordering::Acquire, Ordering::Relaxed).is_err() {
        spins += 1;
        if spins < 64 {
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
}

pub(crate) fn spin_unlock(w: &AtomicU32) {
    w.store(0, Ordering::Release);
}

/// One element of a hash-like map: its key and value (per-CPU values one after the
/// other), kept alive by runs that looked it up even after it is deleted.
///
/// A hash map recycles elements nobody holds any more (as the kernel's
/// preallocated hash maps do): the key is then rewritten in place, which is why it
/// sits in an `UnsafeCell`. See [`Entry::key`] for who may read it.
///
/// Aligned to a cache line with the key and a small value first: a lookup touches
/// one line of the element (the `Arc` counts sit in the line before).
#[repr(C, align(64))]
pub(crate) struct Entry {
    key: UnsafeCell<KeyBuf>,
    pub value: EntryValue,
    /// LRU maps: the map's clock at the last use.
    pub used: AtomicU64,
    /// LRU maps: the clock under which the entry sits in the eviction order.
    pub order: AtomicU64,
}

// SAFETY: the key is only written by a map's writer while no one else holds the
// element (see `Entry::key`); the value is racy map memory like `Bytes`.
unsafe impl Sync for Entry {}
// SAFETY: as above.
unsafe impl Send for Entry {}

impl Entry {
    pub fn new(key: &[u8], value_len: usize) -> Entry {
        Entry {
            key: UnsafeCell::new(key.into()),
            value: EntryValue::zeroed(value_len),
            used: AtomicU64::new(0),
            order: AtomicU64::new(0),
        }
    }

    /// The key. Sound for whoever holds an `Arc` of the element besides the map's
    /// own (the map never recycles an element someone else holds), for the map's
    /// writer, and for maps that never recycle (tries).
    pub fn key(&self) -> &[u8] {
        // SAFETY: see above.
        unsafe { (*self.key.get()).as_slice() }
    }

    /// The key's bytes as raw memory, for optimistic readers that validate what
    /// they read afterwards. The address is stable: keys are rewritten in place.
    pub fn key_raw(&self) -> (*const u8, usize) {
        // SAFETY: the variant and a heap key's pointer never change after creation.
        unsafe {
            match &*self.key.get() {
                KeyBuf::Inline { len, b } => (b.as_ptr(), *len as usize),
                KeyBuf::Heap(h) => (h.as_ptr(), h.len()),
            }
        }
    }

    /// Rewrite the key (same length) and zero the value, to recycle the element.
    ///
    /// # Safety
    /// Only the map's writer may call this, on an element no one else holds.
    pub unsafe fn recycle(&self, key: &[u8]) {
        // SAFETY: the caller owns the element; writes stay in place.
        unsafe {
            let (p, n) = self.key_raw();
            debug_assert_eq!(n, key.len());
            std::ptr::copy_nonoverlapping(key.as_ptr(), p as *mut u8, n.min(key.len()));
            std::ptr::write_bytes(self.value.base(), 0, self.value.len());
        }
        self.used.store(0, std::sync::atomic::Ordering::Relaxed);
        self.order.store(0, std::sync::atomic::Ordering::Relaxed);
    }
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry").field("value", &self.value).finish_non_exhaustive()
    }
}

/// A fast hash for byte keys (no HashDoS concern: keys come from the program's author).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct BytesHash;

#[derive(Debug, Default)]
pub(crate) struct BytesHasher(u64);

const K: u64 = 0x9e37_79b9_7f4a_7c15;

/// The little-endian value of `rest` (under 8 bytes) zero-extended, read in at most
/// two overlapping loads: no variable-length copy (a `memcpy` call whose stores
/// the next load cannot forward from, a stall on every 4-byte key).
#[inline(always)]
fn tail_le(rest: &[u8]) -> u64 {
    let n = rest.len();
    let u32_at = |i: usize| u32::from_le_bytes([rest[i], rest[i + 1], rest[i + 2], rest[i + 3]]) as u64;
    let u16_at = |i: usize| u16::from_le_bytes([rest[i], rest[i + 1]]) as u64;
    match n {
        0 => 0,
        1 => rest[0] as u64,
        2 | 3 => u16_at(0) | u16_at(n - 2) << (8 * (n - 2)),
        _ => u32_at(0) | u32_at(n - 4) << (8 * (n - 4)),
    }
}

impl Hasher for BytesHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut h = self.0;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            h = (h.rotate_left(23) ^ u64::from_le_bytes(w)).wrapping_mul(K);
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            h = (h.rotate_left(23) ^ tail_le(rest) ^ (rest.len() as u64) << 59).wrapping_mul(K);
        }
        self.0 = h;
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.0 = (self.0.rotate_left(23) ^ n as u64).wrapping_mul(K);
    }

    #[inline]
    fn finish(&self) -> u64 {
        // murmur3 fmix64: spread the bits hashbrown takes its control byte from.
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

impl BuildHasher for BytesHash {
    type Hasher = BytesHasher;
    fn build_hasher(&self) -> BytesHasher {
        BytesHasher(0)
    }
}

pub(crate) type ByteMap<V> = std::collections::HashMap<KeyBuf, V, BytesHash>;

pub(crate) fn round8(n: u32) -> usize {
    (n as usize).div_ceil(8) * 8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_is_the_zero_padded_little_endian_value() {
        let bytes = [0x11u8, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77];
        for n in 0..8 {
            let mut w = [0u8; 8];
            w[..n].copy_from_slice(&bytes[..n]);
            assert_eq!(tail_le(&bytes[..n]), u64::from_le_bytes(w), "{n} bytes");
        }
    }

    #[test]
    fn bytes_are_zeroed_aligned_and_stable() {
        let b = Bytes::zeroed(13);
        assert_eq!(b.addr(0) % 8, 0);
        assert_eq!(b.to_vec(0, 13), vec![0; 13]);
        b.write(3, &[1, 2, 3]);
        assert_eq!(b.to_vec(2, 5), vec![0, 1, 2, 3, 0]);
        let z = Bytes::zeroed(0);
        assert_eq!(z.len(), 0);
    }

    #[test]
    fn hasher_distinguishes_lengths() {
        let h = |b: &[u8]| BytesHash.hash_one(b);
        assert_ne!(h(&[0]), h(&[0, 0]));
        assert_ne!(h(&[1, 2, 3, 4, 5, 6, 7, 8]), h(&[1, 2, 3, 4, 5, 6, 7, 9]));
    }
}
