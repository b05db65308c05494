//! `lpm_trie`: longest-prefix match over keys `struct { u32 prefixlen; u8 data[]; }`.
//!
//! Elements are kept per prefix length, under the prefix's masked data; a lookup
//! tries the present prefix lengths from the longest down. Iteration follows the
//! kernel trie's post-order: a prefix comes after every longer prefix it contains,
//! and of two diverging prefixes the one with a 0 bit at the first difference
//! comes first.

use super::storage::{ByteMap, BytesHash, Entry, KeyBuf};
use super::Errno;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

#[derive(Debug)]
pub(crate) struct Lpm {
    data_size: usize,
    max_entries: u32,
    value_len: usize,
    inner: RwLock<BTreeMap<u32, ByteMap<Arc<Entry>>>>,
}

fn bit(data: &[u8], i: usize) -> u8 {
    (data[i / 8] >> (7 - i % 8)) & 1
}

/// `data` with every bit from `len` on cleared.
fn masked(data: &[u8], len: u32) -> KeyBuf {
    let mut v = data.to_vec();
    let len = len as usize;
    for (i, b) in v.iter_mut().enumerate() {
        let lo = i * 8;
        if lo >= len {
            *b = 0;
        } else if len - lo < 8 {
            *b &= 0xffu8 << (8 - (len - lo));
        }
    }
    KeyBuf::from(&v[..])
}

fn prefixlen(key: &[u8]) -> u32 {
    u32::from_le_bytes([key[0], key[1], key[2], key[3]])
}

/// The kernel trie's iteration order on full keys.
pub(crate) fn postorder(a: &[u8], b: &[u8]) -> Ordering {
    let (la, lb) = (prefixlen(a) as usize, prefixlen(b) as usize);
    let (da, db) = (&a[4..], &b[4..]);
    for i in 0..la.min(lb) {
        let (x, y) = (bit(da, i), bit(db, i));
        if x != y {
            return x.cmp(&y);
        }
    }
    // One contains the other: the longer (the descendant) first.
    lb.cmp(&la)
}

impl Lpm {
    pub fn new(key_size: u32, max_entries: u32, value_len: usize) -> Lpm {
        Lpm { data_size: key_size as usize - 4, max_entries, value_len, inner: RwLock::new(BTreeMap::new()) }
    }

    fn read(&self) -> RwLockReadGuard<'_, BTreeMap<u32, ByteMap<Arc<Entry>>>> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, BTreeMap<u32, ByteMap<Arc<Entry>>>> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    fn max_prefixlen(&self) -> u32 {
        self.data_size as u32 * 8
    }

    /// Longest-prefix match for `key` (its prefixlen bounds the match).
    pub fn lookup(&self, key: &[u8]) -> Option<Arc<Entry>> {
        let want = prefixlen(key).min(self.max_prefixlen());
        let data = &key[4..];
        let g = self.read();
        for (len, m) in g.range(..=want).rev() {
            if let Some(e) = m.get(&*masked(data, *len)) {
                return Some(e.clone());
            }
        }
        None
    }

    pub fn update(&self, key: &[u8], flag: u64, fill: impl FnOnce(&Entry)) -> Result<(), Errno> {
        let len = prefixlen(key);
        if len > self.max_prefixlen() {
            return Err(Errno::EINVAL);
        }
        let m = masked(&key[4..], len);
        let mut g = self.write();
        let count: usize = g.values().map(|m| m.len()).sum();
        let exists = g.get(&len).is_some_and(|t| t.contains_key(&*m));
        match (exists, flag) {
            (true, super::BPF_NOEXIST) => return Err(Errno::EEXIST),
            (false, super::BPF_EXIST) => return Err(Errno::ENOENT),
            (false, _) if count >= self.max_entries as usize => return Err(Errno::ENOSPC),
            _ => {}
        }
        let e = Entry::new(key, self.value_len);
        fill(&e);
        g.entry(len).or_insert_with(|| ByteMap::with_hasher(BytesHash)).insert(m, Arc::new(e));
        Ok(())
    }

    pub fn delete(&self, key: &[u8]) -> Result<(), Errno> {
        let len = prefixlen(key);
        if len > self.max_prefixlen() {
            return Err(Errno::EINVAL);
        }
        let mut g = self.write();
        let t = g.get_mut(&len).ok_or(Errno::ENOENT)?;
        t.remove(&*masked(&key[4..], len)).ok_or(Errno::ENOENT)?;
        if t.is_empty() {
            g.remove(&len);
        }
        Ok(())
    }

    /// Every element, in the kernel's iteration order.
    pub fn snapshot(&self) -> Vec<Arc<Entry>> {
        let mut v: Vec<Arc<Entry>> = self.read().values().flat_map(|m| m.values().cloned()).collect();
        v.sort_by(|a, b| postorder(a.key(), b.key()));
        v
    }

    pub fn next_key(&self, key: Option<&[u8]>) -> Result<Vec<u8>, Errno> {
        let all = self.snapshot();
        let pos = match key {
            Some(k) if prefixlen(k) <= self.max_prefixlen() => {
                all.iter().position(|e| prefixlen(e.key()) == prefixlen(k) && postorder(e.key(), k) == Ordering::Equal)
            }
            _ => None,
        };
        let next = match pos {
            Some(i) => all.get(i + 1),
            None => all.first(),
        };
        next.map(|e| e.key().to_vec()).ok_or(Errno::ENOENT)
    }

    pub fn len(&self) -> usize {
        self.read().values().map(|m| m.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(len: u32, d: [u8; 4]) -> Vec<u8> {
        let mut v = len.to_le_bytes().to_vec();
        v.extend_from_slice(&d);
        v
    }

    #[test]
    fn masking() {
        assert_eq!(&*masked(&[0xff, 0xff], 12), &[0xff, 0xf0][..]);
        assert_eq!(&*masked(&[0xff, 0xff], 0), &[0, 0][..]);
        assert_eq!(&*masked(&[0xab, 0xcd], 16), &[0xab, 0xcd][..]);
    }

    #[test]
    fn postorder_children_first_left_first() {
        let a = k(8, [10, 0, 0, 0]);
        let b = k(16, [10, 1, 0, 0]);
        let c = k(16, [10, 128, 0, 0]);
        let d = k(8, [192, 0, 0, 0]);
        let mut v = vec![d.clone(), a.clone(), c.clone(), b.clone()];
        v.sort_by(|x, y| postorder(x, y));
        assert_eq!(v, vec![b, c, a, d]);
    }
}
