//! `bloom_filter`: values pushed set `nr_hash_funcs` bits; a peek answers "maybe
//! present" (0) or "definitely absent" (-ENOENT). The bit array is sized as the
//! kernel sizes it (max_entries * nr_hash_funcs * 7 / 5 bits, rounded up to a power
//! of two); the hash differs (the kernel's seed is random anyway).

use super::storage::BytesHash;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug)]
pub(crate) struct Bloom {
    bits: Box<[AtomicU64]>,
    mask: u32,
    nr_hash: u32,
}

impl Bloom {
    pub fn new(max_entries: u32, nr_hash: u32) -> Bloom {
        let nr_hash = if nr_hash == 0 { 5 } else { nr_hash };
        let mask = match (max_entries as u64).checked_mul(nr_hash as u64).map(|n| n / 5 * 7) {
            Some(n) if n <= 1 << 31 => {
                let n = if n <= 64 { 64 } else { n.next_power_of_two() };
                (n - 1) as u32
            }
            _ => u32::MAX,
        };
        let words = (mask as u64 + 1).div_ceil(64) as usize;
        Bloom { bits: (0..words).map(|_| AtomicU64::new(0)).collect(), mask, nr_hash }
    }

    fn hash(&self, value: &[u8], i: u32) -> u32 {
        let h = BytesHash.hash_one((i, value));
        (h ^ (h >> 32)) as u32 & self.mask
    }

    pub fn push(&self, value: &[u8]) {
        for i in 0..self.nr_hash {
            let b = self.hash(value, i);
            self.bits[(b / 64) as usize].fetch_or(1 << (b % 64), Ordering::Relaxed);
        }
    }

    pub fn maybe_contains(&self, value: &[u8]) -> bool {
        (0..self.nr_hash).all(|i| {
            let b = self.hash(value, i);
            self.bits[(b / 64) as usize].load(Ordering::Relaxed) & (1 << (b % 64)) != 0
        })
    }
}
