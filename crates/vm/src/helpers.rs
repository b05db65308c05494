//! Helper functions: a table from helper id to a typed prototype and a host function.

use crate::error::VmError;
use crate::memory::{Mem, RegionKind};
use bpfbox_abi::{ArgType, HelperProto, RetType};
use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;

/// What a helper does to the program: return a value in r0, or stop the whole
/// program with r0 = the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelperOutcome {
    Return(u64),
    Exit(u64),
}

/// A host implementation of a helper. `args` are r1..r5.
pub type HelperFn = fn(&mut HelperCtx<'_>, [u64; 5]) -> Result<HelperOutcome, VmError>;

/// One registered helper.
#[derive(Clone, Copy)]
pub struct HelperEntry {
    pub proto: HelperProto,
    pub func: HelperFn,
}

impl fmt::Debug for HelperEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HelperEntry").field("id", &self.proto.id).field("name", &self.proto.name).finish()
    }
}

/// The helpers a VM may call, by id.
#[derive(Debug, Clone, Default)]
pub struct HelperTable {
    entries: BTreeMap<u32, HelperEntry>,
}

impl HelperTable {
    /// No helpers: every `call` fails with [`VmError::UnknownHelper`].
    pub fn empty() -> HelperTable {
        HelperTable::default()
    }

    /// The bpf_conformance convention: helper 5 ("unwind") returns its argument r1
    /// in r0 and, when that argument is 0, stops the program with r0 = 0.
    pub fn conformance() -> HelperTable {
        let mut t = HelperTable::empty();
        t.register(HelperProto::new(5, "unwind", RetType::INTEGER, &[ArgType::ANYTHING]), |_, a| {
            Ok(if a[0] == 0 { HelperOutcome::Exit(0) } else { HelperOutcome::Return(a[0]) })
        });
        t
    }

    /// Register (or replace) a helper under `proto.id`.
    pub fn register(&mut self, proto: HelperProto, func: HelperFn) -> &mut HelperTable {
        self.entries.insert(proto.id, HelperEntry { proto, func });
        self
    }

    /// Register a kernel helper by id, with the kernel's prototype from `bpfbox-abi`.
    /// Returns `None` if `id` is not a kernel helper.
    pub fn register_kernel(&mut self, id: u32, func: HelperFn) -> Option<&mut HelperTable> {
        let proto = *bpfbox_abi::helper_by_id(id)?;
        Some(self.register(proto, func))
    }

    pub fn get(&self, id: u32) -> Option<&HelperEntry> {
        self.entries.get(&id)
    }

    pub fn iter(&self) -> impl Iterator<Item = &HelperEntry> {
        self.entries.values()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// What a helper sees of the running program: its memory (through checked copies,
/// whatever the VM's mode) and the caller's environment.
pub struct HelperCtx<'a> {
    pub(crate) mem: &'a mut Mem,
    pub(crate) env: &'a mut dyn Any,
    pub(crate) pc: usize,
    pub(crate) id: u32,
}

impl fmt::Debug for HelperCtx<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HelperCtx").field("pc", &self.pc).field("id", &self.id).finish_non_exhaustive()
    }
}

impl HelperCtx<'_> {
    /// The `call` instruction being executed.
    pub fn pc(&self) -> usize {
        self.pc
    }

    /// The id of the helper being called.
    pub fn helper_id(&self) -> u32 {
        self.id
    }

    /// The environment passed to [`crate::Vm::run_with`], if it has type `T`.
    pub fn env<T: Any>(&mut self) -> Option<&mut T> {
        self.env.downcast_mut::<T>()
    }

    /// Copy `buf.len()` bytes at program address `addr` into `buf`.
    pub fn read(&mut self, addr: u64, buf: &mut [u8]) -> Result<(), VmError> {
        self.mem.read(addr, buf, self.pc)
    }

    /// Copy `data` to program address `addr`.
    pub fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), VmError> {
        self.mem.write(addr, data, self.pc)
    }

    pub fn read_u32(&mut self, addr: u64) -> Result<u32, VmError> {
        let mut b = [0; 4];
        self.read(addr, &mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    pub fn read_u64(&mut self, addr: u64) -> Result<u64, VmError> {
        let mut b = [0; 8];
        self.read(addr, &mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    pub fn write_u64(&mut self, addr: u64, v: u64) -> Result<(), VmError> {
        self.write(addr, &v.to_le_bytes())
    }

    /// Read a NUL-terminated string of at most `max` bytes (without the NUL).
    pub fn read_cstr(&mut self, addr: u64, max: usize) -> Result<Vec<u8>, VmError> {
        let mut out = Vec::new();
        let mut b = [0u8; 1];
        for i in 0..max as u64 {
            self.read(addr.wrapping_add(i), &mut b)?;
            if b[0] == 0 {
                break;
            }
            out.push(b[0]);
        }
        Ok(out)
    }

    /// The kind of the region `addr` points into, if any (live stack included).
    pub fn region_kind(&self, addr: u64) -> Option<RegionKind> {
        self.mem.region_of(addr).map(|r| r.kind)
    }

    /// A [`VmError::Helper`] for this call.
    pub fn fail(&self, reason: impl Into<String>) -> VmError {
        VmError::Helper { pc: self.pc, id: self.id, reason: reason.into() }
    }
}
