//! `queue` (FIFO) and `stack` (LIFO) maps: no keys, values pushed and popped.

use super::Errno;
use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};

#[derive(Debug)]
pub(crate) struct QueueMap {
    lifo: bool,
    max_entries: u32,
    q: Mutex<VecDeque<Box<[u8]>>>,
}

impl QueueMap {
    pub fn new(lifo: bool, max_entries: u32) -> QueueMap {
        QueueMap { lifo, max_entries, q: Mutex::new(VecDeque::new()) }
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<Box<[u8]>>> {
        self.q.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `flags`: `BPF_ANY` or `BPF_EXIST` (when full, drop the oldest element);
    /// `BPF_NOEXIST` is EINVAL, as in the kernel's `queue_stack_map_push_elem`.
    pub fn push(&self, value: &[u8], flags: u64) -> Result<(), Errno> {
        if flags & super::BPF_NOEXIST != 0 || flags > super::BPF_EXIST {
            return Err(Errno::EINVAL);
        }
        let mut q = self.lock();
        if q.len() >= self.max_entries as usize {
            if flags & super::BPF_EXIST == 0 {
                return Err(Errno::E2BIG);
            }
            // The oldest element sits at the front for both kinds.
            q.pop_front();
        }
        q.push_back(value.into());
        Ok(())
    }

    pub fn pop(&self) -> Result<Box<[u8]>, Errno> {
        let mut q = self.lock();
        let v = if self.lifo { q.pop_back() } else { q.pop_front() };
        v.ok_or(Errno::ENOENT)
    }

    pub fn peek(&self) -> Result<Box<[u8]>, Errno> {
        let q = self.lock();
        let v = if self.lifo { q.back() } else { q.front() };
        v.cloned().ok_or(Errno::ENOENT)
    }

    /// Every element in pop order.
    pub fn snapshot(&self) -> Vec<Box<[u8]>> {
        let q = self.lock();
        if self.lifo {
            q.iter().rev().cloned().collect()
        } else {
            q.iter().cloned().collect()
        }
    }
}
