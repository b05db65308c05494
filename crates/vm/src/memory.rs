//! Memory regions the program may touch, and the checked address translation.
//!
//! eBPF registers hold host addresses (as in rbpf and uBPF): `r1` is the real address
//! of the context or packet, `r10` the real address of the top of the current stack
//! frame. In checked mode every access is translated through the region list
//! (the live stack frames first, then the regions given by the caller), so nothing
//! outside them is ever dereferenced.

use crate::error::VmError;
use std::marker::PhantomData;

/// Bytes of stack per frame (kernel `MAX_BPF_STACK`).
pub const STACK_SIZE: usize = 512;
/// Maximum number of frames: the main program plus 7 nested bpf-to-bpf calls
/// (kernel `MAX_CALL_FRAMES`).
pub const MAX_CALL_FRAMES: usize = 8;

/// What a region holds. The interpreter only uses `Packet` (for legacy `LD_ABS`/`LD_IND`);
/// helpers may look at the kind of the region a pointer falls in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RegionKind {
    Ctx,
    Packet,
    /// The live stack frames (added by the VM itself).
    Stack,
    MapValue,
    Other,
}

/// A piece of host memory lent to one run of a program.
///
/// The fields are private on purpose: a region is a promise that `len` bytes at
/// `start` may be read (and written, if `writable`) for the lifetime `'a`. Safe code
/// makes regions from slices; [`Region::from_raw_parts`] is the unsafe escape hatch.
#[derive(Debug, Clone, Copy)]
pub struct Region<'a> {
    ptr: *mut u8,
    start: u64,
    len: u64,
    writable: bool,
    kind: RegionKind,
    _borrow: PhantomData<&'a mut [u8]>,
}

impl<'a> Region<'a> {
    /// A writable region over `mem`.
    pub fn from_mut(kind: RegionKind, mem: &'a mut [u8]) -> Region<'a> {
        let ptr = mem.as_mut_ptr();
        Region { ptr, start: ptr.expose_provenance() as u64, len: mem.len() as u64, writable: true, kind, _borrow: PhantomData }
    }

    /// A read-only region over `mem`. Checked mode rejects stores into it.
    pub fn from_ref(kind: RegionKind, mem: &'a [u8]) -> Region<'a> {
        let ptr = mem.as_ptr() as *mut u8;
        Region {
            ptr,
            start: ptr.expose_provenance() as u64,
            len: mem.len() as u64,
            writable: false,
            kind,
            _borrow: PhantomData,
        }
    }

    /// A region from a raw pointer.
    ///
    /// # Safety
    /// `ptr..ptr+len` must be valid for reads (and writes if `writable`) for as long
    /// as the region is used by a run, and must not be accessed through other
    /// references during that run.
    pub unsafe fn from_raw_parts(kind: RegionKind, ptr: *mut u8, len: u64, writable: bool) -> Region<'a> {
        Region { ptr, start: ptr.expose_provenance() as u64, len, writable, kind, _borrow: PhantomData }
    }

    /// The host address of the first byte (what the program sees).
    pub fn start(&self) -> u64 {
        self.start
    }
    pub fn len(&self) -> u64 {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    pub fn writable(&self) -> bool {
        self.writable
    }
    pub fn kind(&self) -> RegionKind {
        self.kind
    }
}

/// A region as the interpreter keeps it during a run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RegionRt {
    pub start: u64,
    pub len: u64,
    pub ptr: *mut u8,
    pub writable: bool,
    pub kind: RegionKind,
}

/// The memory map of one run: index 0 is the live stack (its start moves with the
/// call depth), the rest are the caller's regions. `last` caches the region of the
/// most recent successful access.
#[derive(Debug)]
pub(crate) struct Mem {
    pub regions: Vec<RegionRt>,
    last: usize,
    /// Host pointer to the lowest byte of the whole stack area.
    stack_base: *mut u8,
    /// Address of one past the top of frame 0.
    pub stack_top: u64,
}

impl Mem {
    /// `stack` must point to `MAX_CALL_FRAMES * STACK_SIZE` writable bytes that outlive `Mem`.
    pub fn new(stack: *mut u8, regions: &[Region<'_>]) -> Mem {
        let top = stack.expose_provenance() as u64 + (MAX_CALL_FRAMES * STACK_SIZE) as u64;
        let mut v = Vec::with_capacity(regions.len() + 1);
        v.push(RegionRt { start: 0, len: 0, ptr: stack, writable: true, kind: RegionKind::Stack });
        v.extend(regions.iter().map(|r| RegionRt {
            start: r.start,
            len: r.len,
            ptr: r.ptr,
            writable: r.writable,
            kind: r.kind,
        }));
        let mut m = Mem { regions: v, last: 0, stack_base: stack, stack_top: top };
        m.set_depth(0);
        m
    }

    /// Make frames `0..=depth` the accessible stack. Returns `r10` of frame `depth`.
    #[inline(always)]
    pub fn set_depth(&mut self, depth: usize) -> u64 {
        let live = (depth + 1) * STACK_SIZE;
        let total = MAX_CALL_FRAMES * STACK_SIZE;
        let s = &mut self.regions[0];
        s.len = live as u64;
        s.start = self.stack_top - live as u64;
        // In bounds: live <= total because depth < MAX_CALL_FRAMES.
        s.ptr = self.stack_base.wrapping_add(total - live);
        self.stack_top - (depth * STACK_SIZE) as u64
    }

    /// Translate `addr..addr+size` to a host pointer if it lies inside one region
    /// (writable, for a write). Checks the most recently hit region first.
    #[inline(always)]
    pub fn translate(&mut self, addr: u64, size: u64, write: bool, pc: usize) -> Result<*mut u8, VmError> {
        let r = &self.regions[self.last];
        let off = addr.wrapping_sub(r.start);
        if off < r.len && r.len - off >= size && (r.writable || !write) {
            // In bounds of the region's allocation: off + size <= len.
            return Ok(r.ptr.wrapping_add(off as usize));
        }
        self.translate_slow(addr, size, write, pc)
    }

    #[cold]
    #[inline(never)]
    fn translate_slow(&mut self, addr: u64, size: u64, write: bool, pc: usize) -> Result<*mut u8, VmError> {
        for (i, r) in self.regions.iter().enumerate() {
            let off = addr.wrapping_sub(r.start);
            if off < r.len && r.len - off >= size {
                if write && !r.writable {
                    return Err(VmError::ReadOnly { pc, addr, size });
                }
                self.last = i;
                return Ok(r.ptr.wrapping_add(off as usize));
            }
        }
        Err(VmError::OutOfBounds { pc, addr, size, write })
    }

    /// The region containing `addr`, if any.
    pub fn region_of(&self, addr: u64) -> Option<&RegionRt> {
        self.regions.iter().find(|r| addr.wrapping_sub(r.start) < r.len)
    }

    /// The first region of kind `Packet`, as (pointer, length).
    pub fn packet(&self) -> Option<(*const u8, u64)> {
        self.regions.iter().find(|r| r.kind == RegionKind::Packet).map(|r| (r.ptr as *const u8, r.len))
    }

    /// Checked copy out of program memory.
    pub fn read(&mut self, addr: u64, buf: &mut [u8], pc: usize) -> Result<(), VmError> {
        if buf.is_empty() {
            return Ok(());
        }
        let p = self.translate(addr, buf.len() as u64, false, pc)?;
        // SAFETY: `translate` proved `p..p+len` lies in a region, valid for reads.
        unsafe { std::ptr::copy(p as *const u8, buf.as_mut_ptr(), buf.len()) };
        Ok(())
    }

    /// Checked copy into program memory.
    pub fn write(&mut self, addr: u64, data: &[u8], pc: usize) -> Result<(), VmError> {
        if data.is_empty() {
            return Ok(());
        }
        let p = self.translate(addr, data.len() as u64, true, pc)?;
        // SAFETY: `translate` proved `p..p+len` lies in a writable region.
        unsafe { std::ptr::copy(data.as_ptr(), p, data.len()) };
        Ok(())
    }
}
