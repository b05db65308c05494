//! Helper functions: a table from helper id to a typed prototype and a host function.

use crate::error::VmError;
use crate::memory::{Mem, Region, RegionKind, MAX_CALL_FRAMES};
use crate::ops::{FUNC_ADDR_MASK, FUNC_ADDR_TAG};
use crate::Vm;
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

/// One memory access the interpreter could not map to any region, offered to the
/// run's environment ([`RunEnv::virtual_access`]). This is how program contexts whose
/// fields the kernel rewrites (`__sk_buff`, `xdp_md`: 32-bit `data` fields that load
/// 64-bit pointers) are emulated: the context lives at an address that is no region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VirtualAccess {
    pub pc: usize,
    pub addr: u64,
    /// 1, 2, 4 or 8 bytes.
    pub size: u8,
    pub kind: AccessKind,
}

/// What a [`VirtualAccess`] does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessKind {
    /// A load; `signed` for the sign-extending loads (`ldsx`).
    Load { signed: bool },
    /// A store of the low `size` bytes of the value.
    Store(u64),
    /// An atomic read-modify-write (never performed virtually: only refused with a reason).
    Atomic,
}

/// The environment of a run: what helpers reach through [`HelperCtx::env`], and the
/// handler of accesses outside every region.
pub trait RunEnv {
    /// The environment as `Any`, for [`HelperCtx::env`].
    fn as_any(&mut self) -> &mut dyn Any;

    /// Handle an access outside every region: `Some(Ok(value))` for a load (the value
    /// goes to the register as is: a virtual 32-bit load may yield a 64-bit pointer; for
    /// a signed load, the interpreter sign-extends from `size`), `Some(Ok(_))` for a
    /// store done, `Some(Err(..))` to stop the run with a precise error, `None` for
    /// "not mine" (the run stops with [`VmError::OutOfBounds`]).
    fn virtual_access(&mut self, access: VirtualAccess) -> Option<Result<u64, VmError>> {
        let _ = access;
        None
    }
}

/// [`RunEnv`] over a plain `&mut dyn Any` (what [`crate::Vm::run_with`] takes).
pub(crate) struct AnyEnv<'a>(pub &'a mut dyn Any);

impl RunEnv for AnyEnv<'_> {
    fn as_any(&mut self) -> &mut dyn Any {
        self.0
    }
}

/// What a helper sees of the running program: its memory (through checked copies,
/// whatever the VM's mode), the caller's environment, and the means to call back
/// into the program ([`HelperCtx::call_function`]).
pub struct HelperCtx<'a> {
    pub(crate) mem: &'a mut Mem,
    pub(crate) env: &'a mut dyn RunEnv,
    pub(crate) pc: usize,
    pub(crate) id: u32,
    pub(crate) vm: &'a Vm,
    pub(crate) depth: usize,
    pub(crate) executed: &'a mut u64,
    pub(crate) max: u64,
    pub(crate) checked: bool,
}

impl fmt::Debug for HelperCtx<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HelperCtx").field("pc", &self.pc).field("id", &self.id).finish_non_exhaustive()
    }
}

/// The program memory of a run, as a helper may touch it: checked copies, and the
/// regions helpers add (map values, ring-buffer records) or move (the packet).
pub struct MemView<'a> {
    mem: &'a mut Mem,
    pc: usize,
}

impl fmt::Debug for MemView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemView").field("pc", &self.pc).finish_non_exhaustive()
    }
}

impl MemView<'_> {
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

    /// The host address of `addr..addr+len` if it lies in one region (a writable one
    /// if `write`). Obtaining the pointer is safe; using it is the caller's business
    /// (it stays valid for the rest of the run, like the region).
    pub fn translate(&mut self, addr: u64, len: u64, write: bool) -> Result<*mut u8, VmError> {
        self.mem.translate(addr, len, write, self.pc)
    }

    /// The kind of the region `addr` points into, if any (live stack included).
    pub fn region_kind(&self, addr: u64) -> Option<RegionKind> {
        self.mem.region_of(addr).map(|r| r.kind)
    }

    /// Make `region` accessible to the program for the rest of the run (how a map
    /// value returned by `map_lookup_elem` passes checked mode).
    ///
    /// # Safety
    /// The region's memory must stay valid (and not be freed or moved) until the run
    /// ends or [`MemView::remove_region`] removes it.
    pub unsafe fn add_region(&mut self, region: Region<'_>) {
        self.mem.add(&region);
    }

    /// Remove a region added with [`MemView::add_region`], by its start address.
    pub fn remove_region(&mut self, start: u64) {
        self.mem.remove(start)
    }

    /// Replace the packet region (after `xdp_adjust_head`, `skb_change_tail`, ...).
    ///
    /// # Safety
    /// As for [`MemView::add_region`].
    pub unsafe fn set_packet(&mut self, region: Option<Region<'_>>) {
        self.mem.set_packet(region.as_ref());
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

    /// Call depth of the caller: 0 in the main program, 1 in a subprogram or callback it called, ...
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// Instructions executed so far in this run.
    pub fn insns_executed(&self) -> u64 {
        *self.executed
    }

    /// The environment passed to [`crate::Vm::run_with`] / [`crate::Vm::run_env`], if it has type `T`.
    pub fn env<T: Any>(&mut self) -> Option<&mut T> {
        self.env.as_any().downcast_mut::<T>()
    }

    /// The environment and the program memory at once.
    pub fn env_and_mem<T: Any>(&mut self) -> Option<(&mut T, MemView<'_>)> {
        let pc = self.pc;
        let env = self.env.as_any().downcast_mut::<T>()?;
        Some((env, MemView { mem: &mut *self.mem, pc }))
    }

    /// The program memory.
    pub fn mem(&mut self) -> MemView<'_> {
        MemView { mem: &mut *self.mem, pc: self.pc }
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
        self.mem().read_u32(addr)
    }

    pub fn read_u64(&mut self, addr: u64) -> Result<u64, VmError> {
        self.mem().read_u64(addr)
    }

    pub fn write_u64(&mut self, addr: u64, v: u64) -> Result<(), VmError> {
        self.write(addr, &v.to_le_bytes())
    }

    /// Read a NUL-terminated string of at most `max` bytes (without the NUL).
    pub fn read_cstr(&mut self, addr: u64, max: usize) -> Result<Vec<u8>, VmError> {
        self.mem().read_cstr(addr, max)
    }

    /// The kind of the region `addr` points into, if any (live stack included).
    pub fn region_kind(&self, addr: u64) -> Option<RegionKind> {
        self.mem.region_of(addr).map(|r| r.kind)
    }

    /// Call the program's function at `func` (a function address as `lddw` src=4
    /// loads it, [`crate::FUNC_ADDR_TAG`] `| pc`) with r1..r5 = `args`, and return its
    /// r0: how `bpf_loop` and `bpf_for_each_map_elem` run their callbacks. The callee
    /// gets a new stack frame (it counts toward [`crate::MAX_CALL_FRAMES`]) and
    /// shares the run's instruction budget.
    pub fn call_function(&mut self, func: u64, args: [u64; 5]) -> Result<u64, VmError> {
        let pc = self.pc;
        if func & FUNC_ADDR_MASK != FUNC_ADDR_TAG {
            return Err(VmError::BadCallTarget { pc, target: func });
        }
        let target = (func & !FUNC_ADDR_MASK) as usize;
        if !self.vm.program().is_function(target) {
            return Err(VmError::BadCallTarget { pc, target: func });
        }
        let depth = self.depth + 1;
        if depth >= MAX_CALL_FRAMES {
            return Err(VmError::CallDepthExceeded { pc, max: MAX_CALL_FRAMES });
        }
        let flow = if self.checked {
            // SAFETY: the checked instantiation translates every access.
            unsafe {
                crate::interp::run_loop::<true>(
                    self.vm,
                    self.mem,
                    self.env,
                    self.executed,
                    self.max,
                    target,
                    depth,
                    args,
                )
            }
        } else {
            // SAFETY: this run is unchecked, so its caller promised (Vm::run_with_unchecked)
            // that every access of the program, callbacks included, is in bounds.
            unsafe {
                crate::interp::run_loop::<false>(
                    self.vm,
                    self.mem,
                    self.env,
                    self.executed,
                    self.max,
                    target,
                    depth,
                    args,
                )
            }
        };
        self.mem.set_depth(self.depth);
        match flow? {
            crate::interp::Flow::Return(v) => Ok(v),
            crate::interp::Flow::Exit(_) => {
                Err(self.fail("a helper called inside a callback asked to end the program (tail call?)"))
            }
        }
    }

    /// A [`VmError::Helper`] for this call.
    pub fn fail(&self, reason: impl Into<String>) -> VmError {
        VmError::Helper { pc: self.pc, id: self.id, reason: reason.into() }
    }
}
