//! Memory regions the program may touch, and the checked address translation.
//!
//! eBPF registers hold host addresses (as in rbpf and uBPF): `r1` is the real address
//! of the context or packet, `r10` the real address of the top of the current stack
//! frame. In checked mode every access is translated through the region list
//! (the live stack frames first, then the regions given by the caller), so nothing
//! outside them is ever dereferenced.

use crate::error::VmError;
use std::cell::RefCell;
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
    /// A ring-buffer record reserved by the program (`ringbuf_reserve`).
    RingbufRecord,
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
        Region {
            ptr,
            start: ptr.expose_provenance() as u64,
            len: mem.len() as u64,
            writable: true,
            kind,
            _borrow: PhantomData,
        }
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

/// The memory map of one run: `fixed[0]` is the live stack (its start moves with
/// the call depth), the rest of `fixed` are the caller's regions except the packet,
/// which sits in its own slot (helpers may move it: `xdp_adjust_head`, ...).
/// `dynamic` holds the regions helpers added during the run (map values handed to
/// the program, ring-buffer records), sorted by start address. `cache` is a copy of
/// the region of the most recent successful access. `fixed` lives inline; the two
/// vectors are taken from a per-thread pool when a helper first hands a region out
/// and go back to it on drop: a run allocates nothing once a thread has run a
/// program of its shape before, and runs without helpers never touch the pool.
#[derive(Debug)]
pub(crate) struct Mem {
    pub fixed: Fixed,
    pub packet: Option<RegionRt>,
    pub dynamic: Vec<RegionRt>,
    /// Regions added since `dynamic` was last searched, in order: sorted into it on
    /// the next miss (most runs of verified programs never search it).
    pending: Vec<RegionRt>,
    cache: RegionRt,
    /// Host pointer to the lowest byte of the whole stack area.
    stack_base: *mut u8,
    /// Address of one past the top of frame 0.
    pub stack_top: u64,
    /// The run's context when its converted fields may be read from the shadow
    /// ([`crate::VmOptions::ctx_direct`]), else 0.
    pub ctx: u64,
    /// Frames `0..zeroed` are zeroed (the interpreter's stack is zeroed a frame at a
    /// time, when first entered; [`Mem::new`] takes a stack its owner manages).
    zeroed: usize,
}

impl RegionRt {
    fn from_region(r: &Region<'_>) -> RegionRt {
        RegionRt { start: r.start, len: r.len, ptr: r.ptr, writable: r.writable, kind: r.kind }
    }

    #[inline(always)]
    fn contains(&self, addr: u64, size: u64) -> Option<u64> {
        let off = addr.wrapping_sub(self.start);
        (off < self.len && self.len - off >= size).then_some(off)
    }
}

/// The stack and the caller's regions: inline up to [`Fixed::INLINE`], the rest
/// (rare: many direct-value arrays) in `more`.
#[derive(Debug)]
pub(crate) struct Fixed {
    inline: [RegionRt; Fixed::INLINE],
    len: usize,
    more: Vec<RegionRt>,
}

impl Fixed {
    const INLINE: usize = 6;

    fn new(first: RegionRt) -> Fixed {
        Fixed { inline: [first; Fixed::INLINE], len: 1, more: Vec::new() }
    }

    fn push(&mut self, r: RegionRt) {
        if self.len < Fixed::INLINE {
            self.inline[self.len] = r;
            self.len += 1;
        } else {
            self.more.push(r);
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &RegionRt> {
        self.inline[..self.len].iter().chain(self.more.iter())
    }

    /// The live stack.
    fn stack(&self) -> RegionRt {
        self.inline[0]
    }

    fn stack_mut(&mut self) -> &mut RegionRt {
        &mut self.inline[0]
    }
}

/// Buffers of dropped [`Mem`]s (`dynamic`, `pending`), cleared, for the next run.
type Buffers = (Vec<RegionRt>, Vec<RegionRt>);

thread_local! {
    static POOL: RefCell<Vec<Buffers>> = const { RefCell::new(Vec::new()) };
}

/// Runs nest (a helper's callback runs the program again) but not deeply.
const POOL_MAX: usize = 8;

impl Drop for Mem {
    fn drop(&mut self) {
        let (mut d, mut pend) = (std::mem::take(&mut self.dynamic), std::mem::take(&mut self.pending));
        if d.capacity() == 0 && pend.capacity() == 0 {
            return;
        }
        d.clear();
        pend.clear();
        // `try_with`: a Mem dropped while the thread's locals are destroyed just frees.
        let _ = POOL.try_with(|p| {
            if let Ok(mut p) = p.try_borrow_mut() {
                if p.len() < POOL_MAX {
                    p.push((d, pend));
                }
            }
        });
    }
}

impl Mem {
    /// `stack` must point to `MAX_CALL_FRAMES * STACK_SIZE` writable bytes that outlive `Mem`.
    pub fn new(stack: *mut u8, regions: &[Region<'_>]) -> Mem {
        let top = stack.expose_provenance() as u64 + (MAX_CALL_FRAMES * STACK_SIZE) as u64;
        let stack_rt = RegionRt { start: 0, len: 0, ptr: stack, writable: true, kind: RegionKind::Stack };
        let mut fixed = Fixed::new(stack_rt);
        let mut packet = None;
        for r in regions {
            if r.kind == RegionKind::Packet && packet.is_none() {
                packet = Some(RegionRt::from_region(r));
            } else {
                fixed.push(RegionRt::from_region(r));
            }
        }
        let mut m = Mem {
            fixed,
            packet,
            dynamic: Vec::new(),
            pending: Vec::new(),
            cache: stack_rt,
            stack_base: stack,
            stack_top: top,
            ctx: 0,
            zeroed: MAX_CALL_FRAMES,
        };
        m.set_depth(0);
        m
    }

    /// [`Mem::new`] over a stack area that may be uninitialised: each frame is
    /// zeroed when first made live (a run starts with zeroed frames without paying
    /// for the frames it never enters).
    ///
    /// # Safety
    /// As for `new`; the stack bytes need not be initialised.
    pub unsafe fn new_zeroing(stack: *mut u8, regions: &[Region<'_>]) -> Mem {
        let mut m = Mem::new_unzeroed(stack, regions);
        m.set_depth(0);
        m
    }

    fn new_unzeroed(stack: *mut u8, regions: &[Region<'_>]) -> Mem {
        let mut m = Mem::new(stack, regions);
        m.zeroed = 0;
        m
    }

    /// Back to the state of a new run over the same regions (the next of repeated
    /// runs of a program that calls no helper): frame 0 live, frames zeroed again
    /// as they are entered when this memory zeroes them.
    pub fn restart(&mut self) {
        if self.zeroed != MAX_CALL_FRAMES {
            self.zeroed = 0;
        }
        // The cache becomes the stack region, whose bounds `set_depth` writes (not a
        // copy of the region just written: 16-byte loads of 8-byte stores stall).
        self.cache.kind = RegionKind::Stack;
        self.cache.writable = self.fixed.stack().writable;
        self.set_depth(0);
    }

    /// Make frames `0..=depth` the accessible stack. Returns `r10` of frame `depth`.
    #[inline(always)]
    pub fn set_depth(&mut self, depth: usize) -> u64 {
        let live = (depth + 1) * STACK_SIZE;
        let total = MAX_CALL_FRAMES * STACK_SIZE;
        if depth >= self.zeroed {
            // In bounds: frames zeroed..=depth lie below the zeroed ones.
            let lo = total - live;
            let hi = total - self.zeroed * STACK_SIZE;
            // SAFETY: `lo..hi` is inside the stack area `new`'s caller provides.
            unsafe { self.stack_base.add(lo).write_bytes(0, hi - lo) };
            self.zeroed = depth + 1;
        }
        let start = self.stack_top - live as u64;
        // In bounds: live <= total because depth < MAX_CALL_FRAMES.
        let ptr = self.stack_base.wrapping_add(total - live);
        let s = self.fixed.stack_mut();
        s.len = live as u64;
        s.start = start;
        s.ptr = ptr;
        if self.cache.kind == RegionKind::Stack {
            self.cache.len = live as u64;
            self.cache.start = start;
            self.cache.ptr = ptr;
        }
        self.stack_top - (depth * STACK_SIZE) as u64
    }

    /// `r10` of frame `depth` (without changing the live frames).
    pub fn frame_pointer(&self, depth: usize) -> u64 {
        self.stack_top - (depth * STACK_SIZE) as u64
    }

    /// The cached region only: the interpreter's fast path.
    #[inline(always)]
    pub fn fast(&self, addr: u64, size: u64, write: bool) -> Option<*mut u8> {
        let r = &self.cache;
        let off = addr.wrapping_sub(r.start);
        if off < r.len && r.len - off >= size && (r.writable || !write) {
            // In bounds of the region's allocation: off + size <= len.
            return Some(r.ptr.wrapping_add(off as usize));
        }
        None
    }

    /// Translate `addr..addr+size` to a host pointer if it lies inside one region
    /// (writable, for a write). Checks the most recently hit region first.
    #[inline(always)]
    pub fn translate(&mut self, addr: u64, size: u64, write: bool, pc: usize) -> Result<*mut u8, VmError> {
        match self.fast(addr, size, write) {
            Some(p) => Ok(p),
            None => self.translate_slow(addr, size, write, pc),
        }
    }

    fn find(&self, addr: u64, size: u64) -> Option<(RegionRt, u64)> {
        for r in self.fixed.iter().chain(self.packet.iter()) {
            if let Some(off) = r.contains(addr, size) {
                return Some((*r, off));
            }
        }
        let i = self.dynamic.partition_point(|r| r.start <= addr);
        let r = self.dynamic.get(i.checked_sub(1)?)?;
        r.contains(addr, size).map(|off| (*r, off))
    }

    #[cold]
    #[inline(never)]
    pub fn translate_slow(&mut self, addr: u64, size: u64, write: bool, pc: usize) -> Result<*mut u8, VmError> {
        // The stack, the packet and the caller's regions first: a helper reading its
        // key off the stack does not need the regions handed out so far sorted.
        let fixed = self.fixed.iter().chain(self.packet.iter()).find_map(|r| r.contains(addr, size).map(|o| (*r, o)));
        if fixed.is_none() {
            self.merge_pending();
        }
        match fixed.or_else(|| self.find(addr, size)) {
            Some((r, _)) if write && !r.writable => Err(VmError::ReadOnly { pc, addr, size }),
            Some((r, off)) => {
                self.cache = r;
                Ok(r.ptr.wrapping_add(off as usize))
            }
            None => Err(VmError::OutOfBounds { pc, addr, size, write }),
        }
    }

    /// The region containing `addr`, if any.
    pub fn region_of(&self, addr: u64) -> Option<RegionRt> {
        if let Some(r) = self.pending.iter().rev().find(|r| r.contains(addr, 1).is_some()) {
            return Some(*r);
        }
        self.find(addr, 1).map(|(r, _)| r)
    }

    /// Sort the regions added since the last search into `dynamic` (a region with
    /// the start of an earlier one replaces it).
    fn merge_pending(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let mut p = std::mem::take(&mut self.pending);
        for rt in p.drain(..) {
            self.insert_sorted(rt);
        }
        self.pending = p;
    }

    fn insert_sorted(&mut self, rt: RegionRt) {
        // Map values handed out in address order (array elements) append.
        match self.dynamic.last() {
            Some(l) if l.start < rt.start => self.dynamic.push(rt),
            None => self.dynamic.push(rt),
            _ => match self.dynamic.binary_search_by_key(&rt.start, |r| r.start) {
                Ok(i) => self.dynamic[i] = rt,
                Err(i) => self.dynamic.insert(i, rt),
            },
        }
    }

    /// Add a region for the rest of the run (replacing one with the same start).
    pub fn add(&mut self, r: &Region<'_>) {
        let rt = RegionRt::from_region(r);
        let same =
            |c: &RegionRt| c.start == rt.start && c.len == rt.len && c.writable == rt.writable && c.kind == rt.kind;
        // The cache is always a live region: handing the same one out again is a no-op.
        if !same(&self.cache) {
            if self.pending.capacity() == 0 {
                // The first region a helper hands out: buffers from the pool.
                if let Some((d, p)) = POOL.with(|p| p.borrow_mut().pop()) {
                    if self.dynamic.is_empty() {
                        self.dynamic = d;
                    }
                    self.pending = p;
                }
            }
            self.pending.push(rt);
            if self.pending.len() >= 256 {
                self.merge_pending();
            }
        }
        // The program usually touches what a helper just handed it.
        self.cache = rt;
    }

    /// Remove the region a helper added at `start`.
    pub fn remove(&mut self, start: u64) {
        self.merge_pending();
        let Ok(i) = self.dynamic.binary_search_by_key(&start, |r| r.start) else { return };
        self.dynamic.remove(i);
        if self.cache.start == start {
            self.cache = self.fixed.stack();
        }
    }

    /// Replace the packet region (legacy packet loads read it too).
    pub fn set_packet(&mut self, r: Option<&Region<'_>>) {
        if self.cache.kind == RegionKind::Packet {
            self.cache = self.fixed.stack();
        }
        self.packet = r.map(RegionRt::from_region);
    }

    /// The packet region, as (pointer, length).
    #[inline(always)]
    pub fn packet(&self) -> Option<(*const u8, u64)> {
        self.packet.as_ref().map(|r| (r.ptr as *const u8, r.len))
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
