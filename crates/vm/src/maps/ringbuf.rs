//! `ringbuf`: a multi-producer ring of variable-size records, with the kernel's
//! accounting. Every record takes an 8-byte header plus its data, rounded up to 8;
//! the producer may run at most `size - 1` bytes ahead of the consumer and of the
//! oldest record not yet submitted or discarded. A reserved record is BUSY until
//! the program submits it (then the consumer sees it) or discards it (then the
//! consumer skips it); the consumer stops at the first BUSY record.
//!
//! Records live in their own allocations (the kernel maps the ring twice so that a
//! record is contiguous across the wrap; an allocation per record gives programs
//! the same contiguous view).

use super::storage::{Bytes, Store};
use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};

/// `BPF_RINGBUF_HDR_SZ`.
pub const HDR_SZ: u64 = 8;
/// `RINGBUF_MAX_RECORD_SZ` (`UINT_MAX / 4`).
pub const MAX_RECORD: u64 = (u32::MAX / 4) as u64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Busy,
    Committed,
    Discarded,
}

#[derive(Debug)]
struct Record {
    pos: u64,
    total: u64,
    state: State,
    data: Bytes,
}

#[derive(Debug, Default)]
struct Ring {
    records: VecDeque<Record>,
    cons: u64,
    prod: u64,
}

#[derive(Debug)]
pub(crate) struct RingBuf {
    size: u64,
    ring: Mutex<Ring>,
}

impl RingBuf {
    pub fn new(size: u32) -> RingBuf {
        RingBuf { size: size as u64, ring: Mutex::new(Ring::default()) }
    }

    fn lock(&self) -> MutexGuard<'_, Ring> {
        self.ring.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reserve a zeroed record of `size` bytes; its data address, or `None` when the
    /// record cannot fit now.
    pub fn reserve(&self, size: u64) -> Option<(u64, usize)> {
        if size > MAX_RECORD {
            return None;
        }
        let total = (size + HDR_SZ).div_ceil(8) * 8;
        if total > self.size {
            return None;
        }
        let mut r = self.lock();
        let pend = r.records.iter().find(|x| x.state == State::Busy).map_or(r.prod, |x| x.pos);
        let new_prod = r.prod + total;
        if new_prod - r.cons > self.size - 1 || new_prod - pend > self.size - 1 {
            return None;
        }
        let data = Bytes::zeroed(size as usize);
        let addr = data.addr(0);
        let pos = r.prod;
        r.records.push_back(Record { pos, total, state: State::Busy, data });
        r.prod = new_prod;
        Some((addr, size as usize))
    }

    /// End the BUSY record whose data starts at `addr`. Returns its data when
    /// committed, `None` when discarded; `Err(())` if no BUSY record starts there.
    #[allow(clippy::result_unit_err)]
    pub fn finish(&self, addr: u64, commit: bool) -> Result<Option<Vec<u8>>, ()> {
        let mut r = self.lock();
        let rec = r.records.iter_mut().rev().find(|x| x.state == State::Busy && x.data.addr(0) == addr).ok_or(())?;
        if commit {
            rec.state = State::Committed;
            Ok(Some(rec.data.to_vec(0, rec.data.len())))
        } else {
            rec.state = State::Discarded;
            Ok(None)
        }
    }

    /// Consume every submitted record from the consumer position on (skipping
    /// discarded ones, stopping at the first BUSY one).
    pub fn consume(&self) -> Vec<Vec<u8>> {
        let mut r = self.lock();
        let mut out = Vec::new();
        while let Some(front) = r.records.front() {
            match front.state {
                State::Busy => break,
                State::Committed => out.push(front.data.to_vec(0, front.data.len())),
                State::Discarded => {}
            }
            let total = front.total;
            r.records.pop_front();
            r.cons += total;
        }
        out
    }

    /// Submitted records not consumed yet (what `consume` would return), without consuming.
    pub fn pending(&self) -> Vec<Vec<u8>> {
        let r = self.lock();
        r.records
            .iter()
            .take_while(|x| x.state != State::Busy)
            .filter(|x| x.state == State::Committed)
            .map(|x| x.data.to_vec(0, x.data.len()))
            .collect()
    }

    /// `bpf_ringbuf_query`: `BPF_RB_AVAIL_DATA`, `BPF_RB_RING_SIZE`, `BPF_RB_CONS_POS`, `BPF_RB_PROD_POS`.
    pub fn query(&self, what: u64) -> u64 {
        let r = self.lock();
        match what {
            0 => r.prod - r.cons,
            1 => self.size,
            2 => r.cons,
            3 => r.prod,
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounting_matches_the_kernel() {
        let rb = RingBuf::new(4096);
        // 4088 bytes of data take the whole ring: refused (at most size - 1 ahead).
        assert!(rb.reserve(4088).is_none());
        let (a, _) = rb.reserve(4080).expect("4080 + 8 = 4088 <= 4095");
        assert_eq!(rb.query(0), 4088);
        assert!(rb.reserve(1).is_none(), "needs 16 more bytes");
        assert_eq!(rb.finish(a, true), Ok(Some(vec![0; 4080])));
        assert!(rb.reserve(1).is_none(), "not consumed yet");
        assert_eq!(rb.consume().len(), 1);
        assert_eq!(rb.query(2), 4088);
        let (b, _) = rb.reserve(5).expect("space again");
        let (c, _) = rb.reserve(3).expect("more");
        assert_eq!(rb.query(3) - rb.query(2), 32);
        rb.finish(c, true).expect("c");
        assert!(rb.consume().is_empty(), "b still busy blocks the consumer");
        rb.finish(b, false).expect("b");
        assert_eq!(rb.consume(), vec![vec![0; 3]]);
        assert_eq!(rb.finish(b, true), Err(()), "already finished");
    }
}
