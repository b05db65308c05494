//! Storage shared with running programs: zeroed, 8-byte aligned bytes at a stable
//! address, written by programs through raw pointers while other threads may read.
//!
//! Like the kernel's map memory, values are not copied atomically (unless the map
//! uses `bpf_spin_lock` and the caller asks for `BPF_F_LOCK`): a reader racing with
//! a writer may see a torn value, exactly as with a kernel map.

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

    pub fn len(&self) -> usize {
        self.len
    }

    /// Host address of byte `off` (what programs see).
    pub fn ptr(&self, off: usize) -> *mut u8 {
        debug_assert!(off <= self.len);
        (self.ptr.as_ptr() as *mut u8).wrapping_add(off)
    }

    pub fn addr(&self, off: usize) -> u64 {
        self.ptr(off).expose_provenance() as u64
    }

    /// Copy `out.len()` bytes from `off`. Panics (a bug in bpfbox) if out of range.
    pub fn read(&self, off: usize, out: &mut [u8]) {
        assert!(off + out.len() <= self.len, "Bytes::read out of range");
        // SAFETY: in range of the allocation; see the module comment on races.
        unsafe { std::ptr::copy(self.ptr(off), out.as_mut_ptr(), out.len()) }
    }

    pub fn write(&self, off: usize, data: &[u8]) {
        assert!(off + data.len() <= self.len, "Bytes::write out of range");
        // SAFETY: as for `read`.
        unsafe { std::ptr::copy(data.as_ptr(), self.ptr(off), data.len()) }
    }

    pub fn to_vec(&self, off: usize, len: usize) -> Vec<u8> {
        let mut v = vec![0; len];
        self.read(off, &mut v);
        v
    }

    /// The `bpf_spin_lock` word at `off` (4-byte aligned by construction of the value).
    pub fn lock_word(&self, off: usize) -> &AtomicU32 {
        assert!(off + 4 <= self.len && off % 4 == 0, "spin lock out of range");
        // SAFETY: aligned (the buffer is 8-aligned, `off` 4-aligned), in range, and
        // only ever accessed atomically as a lock word while `self` lives.
        unsafe { AtomicU32::from_ptr(self.ptr(off) as *mut u32) }
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
#[derive(Debug)]
pub(crate) struct Entry {
    pub key: Box<[u8]>,
    pub value: Bytes,
    /// LRU maps: the map's clock at the last use.
    pub used: AtomicU64,
    /// LRU maps: the clock under which the entry sits in the eviction order.
    pub order: AtomicU64,
}

impl Entry {
    pub fn new(key: &[u8], value_len: usize) -> Entry {
        Entry {
            key: key.into(),
            value: Bytes::zeroed(value_len),
            used: AtomicU64::new(0),
            order: AtomicU64::new(0),
        }
    }
}

/// A fast hash for byte keys (no HashDoS concern: keys come from the program's author).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct BytesHash;

#[derive(Debug, Default)]
pub(crate) struct BytesHasher(u64);

const K: u64 = 0x9e37_79b9_7f4a_7c15;

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
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            h = (h.rotate_left(23) ^ u64::from_le_bytes(w) ^ (rest.len() as u64) << 59).wrapping_mul(K);
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

pub(crate) type ByteMap<V> = std::collections::HashMap<Box<[u8]>, V, BytesHash>;

pub(crate) fn round8(n: u32) -> usize {
    (n as usize).div_ceil(8) * 8
}

#[cfg(test)]
mod tests {
    use super::*;

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
