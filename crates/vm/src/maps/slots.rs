//! Maps whose values are references: `prog_array` (tail-call targets),
//! `array_of_maps` / `hash_of_maps` (inner maps), and `perf_event_array` (one perf
//! buffer per CPU, where `bpf_perf_event_output` records go).

use super::storage::{ByteMap, BytesHash};
use super::{Errno, Map};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, RwLock};

/// A loaded program, as a `prog_array` slot holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProgId(pub u32);

impl std::fmt::Display for ProgId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "prog#{}", self.0)
    }
}

#[derive(Debug)]
pub(crate) struct ProgSlots {
    /// (program, its program type) per index.
    pub slots: RwLock<Vec<Option<(ProgId, u32)>>>,
}

impl ProgSlots {
    pub fn new(n: u32) -> ProgSlots {
        ProgSlots { slots: RwLock::new(vec![None; n as usize]) }
    }

    pub fn get(&self, i: u32) -> Option<(ProgId, u32)> {
        let s = self.slots.read().unwrap_or_else(|e| e.into_inner());
        s.get(i as usize).copied().flatten()
    }

    /// Put `prog` (of `prog_type`) at `i`. Every program of one array has the type of
    /// the first one (the kernel's owner check), else `EINVAL`.
    pub fn set(&self, i: u32, prog: ProgId, prog_type: u32) -> Result<(), Errno> {
        let mut s = self.slots.write().unwrap_or_else(|e| e.into_inner());
        if i as usize >= s.len() {
            return Err(Errno::E2BIG);
        }
        if s.iter().flatten().any(|(_, t)| *t != prog_type) {
            return Err(Errno::EINVAL);
        }
        s[i as usize] = Some((prog, prog_type));
        Ok(())
    }

    pub fn clear(&self, i: u32) -> Result<(), Errno> {
        let mut s = self.slots.write().unwrap_or_else(|e| e.into_inner());
        let slot = s.get_mut(i as usize).ok_or(Errno::E2BIG)?;
        slot.take().map(|_| ()).ok_or(Errno::ENOENT)
    }

    pub fn entries(&self) -> Vec<(u32, ProgId)> {
        let s = self.slots.read().unwrap_or_else(|e| e.into_inner());
        s.iter().enumerate().filter_map(|(i, x)| x.map(|(p, _)| (i as u32, p))).collect()
    }
}

#[derive(Debug)]
pub(crate) struct MapSlots {
    pub slots: RwLock<Vec<Option<Arc<Map>>>>,
}

impl MapSlots {
    pub fn new(n: u32) -> MapSlots {
        MapSlots { slots: RwLock::new(vec![None; n as usize]) }
    }

    pub fn get(&self, i: u32) -> Option<Arc<Map>> {
        let s = self.slots.read().unwrap_or_else(|e| e.into_inner());
        s.get(i as usize).cloned().flatten()
    }

    pub fn set(&self, i: u32, m: Option<Arc<Map>>) -> Result<Option<Arc<Map>>, Errno> {
        let mut s = self.slots.write().unwrap_or_else(|e| e.into_inner());
        let slot = s.get_mut(i as usize).ok_or(Errno::E2BIG)?;
        Ok(std::mem::replace(slot, m))
    }

    pub fn entries(&self) -> Vec<(u32, Arc<Map>)> {
        let s = self.slots.read().unwrap_or_else(|e| e.into_inner());
        s.iter().enumerate().filter_map(|(i, x)| x.clone().map(|m| (i as u32, m))).collect()
    }
}

#[derive(Debug)]
pub(crate) struct MapHash {
    pub max_entries: u32,
    pub map: RwLock<ByteMap<Arc<Map>>>,
}

impl MapHash {
    pub fn new(max_entries: u32) -> MapHash {
        MapHash { max_entries, map: RwLock::new(ByteMap::with_hasher(BytesHash)) }
    }

    pub fn get(&self, key: &[u8]) -> Option<Arc<Map>> {
        self.map.read().unwrap_or_else(|e| e.into_inner()).get(key).cloned()
    }

    pub fn set(&self, key: &[u8], m: Arc<Map>, flag: u64) -> Result<(), Errno> {
        let mut g = self.map.write().unwrap_or_else(|e| e.into_inner());
        let exists = g.contains_key(key);
        match (exists, flag) {
            (true, super::BPF_NOEXIST) => return Err(Errno::EEXIST),
            (false, super::BPF_EXIST) => return Err(Errno::ENOENT),
            (false, _) if g.len() >= self.max_entries as usize => return Err(Errno::E2BIG),
            _ => {}
        }
        g.insert(key.into(), m);
        Ok(())
    }

    pub fn delete(&self, key: &[u8]) -> Result<(), Errno> {
        let mut g = self.map.write().unwrap_or_else(|e| e.into_inner());
        g.remove(key).map(|_| ()).ok_or(Errno::ENOENT)
    }

    pub fn entries(&self) -> Vec<(Vec<u8>, Arc<Map>)> {
        let g = self.map.read().unwrap_or_else(|e| e.into_inner());
        let mut v: Vec<_> = g.iter().map(|(k, m)| (k.to_vec(), m.clone())).collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }
}

/// Per-index perf buffers. Every index starts connected (as after libbpf's
/// `perf_buffer__new`); deleting an index disconnects it (`-ENOENT` on output).
#[derive(Debug)]
pub(crate) struct PerfArray {
    pub connected: RwLock<Vec<bool>>,
    pub records: Mutex<Vec<VecDeque<Vec<u8>>>>,
}

impl PerfArray {
    pub fn new(n: u32) -> PerfArray {
        PerfArray {
            connected: RwLock::new(vec![true; n as usize]),
            records: Mutex::new(vec![VecDeque::new(); n as usize]),
        }
    }

    pub fn is_connected(&self, i: u32) -> Option<bool> {
        let c = self.connected.read().unwrap_or_else(|e| e.into_inner());
        c.get(i as usize).copied()
    }

    pub fn set_connected(&self, i: u32, on: bool) -> Result<bool, Errno> {
        let mut c = self.connected.write().unwrap_or_else(|e| e.into_inner());
        let slot = c.get_mut(i as usize).ok_or(Errno::E2BIG)?;
        Ok(std::mem::replace(slot, on))
    }

    pub fn push(&self, i: u32, data: Vec<u8>) {
        let mut r = self.records.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(q) = r.get_mut(i as usize) {
            q.push_back(data);
        }
    }

    pub fn drain(&self) -> Vec<(u32, Vec<u8>)> {
        let mut r = self.records.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = Vec::new();
        for (i, q) in r.iter_mut().enumerate() {
            out.extend(q.drain(..).map(|d| (i as u32, d)));
        }
        out
    }
}

/// `cgroup_array`: one optional cgroup (by id, standing for the kernel's cgroup fd)
/// per index.
#[derive(Debug)]
pub(crate) struct ValSlots {
    pub vals: RwLock<Vec<Option<u32>>>,
}

impl ValSlots {
    pub fn new(n: u32) -> ValSlots {
        ValSlots { vals: RwLock::new(vec![None; n as usize]) }
    }

    pub fn get(&self, i: u32) -> Result<Option<u32>, Errno> {
        let v = self.vals.read().unwrap_or_else(|e| e.into_inner());
        v.get(i as usize).copied().ok_or(Errno::E2BIG)
    }

    pub fn set(&self, i: u32, val: Option<u32>) -> Result<Option<u32>, Errno> {
        let mut v = self.vals.write().unwrap_or_else(|e| e.into_inner());
        let slot = v.get_mut(i as usize).ok_or(Errno::E2BIG)?;
        Ok(std::mem::replace(slot, val))
    }

    pub fn entries(&self) -> Vec<(u32, u32)> {
        let v = self.vals.read().unwrap_or_else(|e| e.into_inner());
        v.iter().enumerate().filter_map(|(i, x)| x.map(|x| (i as u32, x))).collect()
    }
}
