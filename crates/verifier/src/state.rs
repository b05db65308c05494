//! The abstract machine state: registers ([`RegState`]), stack bytes
//! ([`SlotType`] per byte plus spilled registers), call frames and acquired references.

use crate::bounds::Scalar;
use std::fmt;

/// `enum bpf_reg_type` (the kinds bpfbox tracks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RegType {
    NotInit,
    Scalar,
    Ctx,
    /// `CONST_PTR_TO_MAP`: `map` is the map's index.
    ConstMapPtr,
    MapValue,
    MapKey,
    Stack,
    Packet,
    PacketMeta,
    PacketEnd,
    /// `PTR_TO_MEM` of `mem_size` bytes (ring buffer records: `ringbuf`).
    Mem,
    Func,
    /// A kernel object pointer typed by BTF (`PTR_TO_BTF_ID`), sockets included.
    /// bpfbox has no kernel BTF here: loads through it read unknown scalars.
    BtfId,
    /// `PTR_TO_SOCKET`, `PTR_TO_SOCK_COMMON`, `PTR_TO_TCP_SOCK`, `PTR_TO_XDP_SOCK`.
    Sock(crate::sock::SockKind),
}

/// One register.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RegState {
    pub ty: RegType,
    /// `PTR_MAYBE_NULL`.
    pub maybe_null: bool,
    /// The value of a scalar, or the variable part of a pointer's offset.
    pub var: Scalar,
    /// Fixed offset of a pointer.
    pub off: i32,
    /// Ties copies together: null checks, packet ranges, scalar bounds.
    pub id: u32,
    /// The acquired reference this pointer belongs to (0: none).
    pub ref_obj_id: u32,
    /// Packet pointers: bytes known to be inside the packet from `off` 0.
    pub range: i32,
    /// Map index (map pointers and map values/keys).
    pub map: u32,
    /// `PTR_TO_MEM` size; `PTR_TO_FUNC` target; stack pointer frame number;
    /// `PTR_TO_BTF_ID`: the kernel BTF id of the struct pointed to (0: untyped).
    pub aux: u32,
    /// `MEM_RINGBUF` for `Mem`.
    pub ringbuf: bool,
    /// `MEM_RDONLY` for `Mem` (an iterator's `next` value, a dynptr slice).
    pub rdonly: bool,
    /// Scalars linked by `id` through a 32-bit addition (`BPF_ADD_CONST32`): the
    /// delta `off` applies modulo 2^32.
    pub link32: bool,
}

impl RegState {
    pub const NOT_INIT: RegState = RegState {
        ty: RegType::NotInit,
        maybe_null: false,
        var: Scalar::unknown(),
        off: 0,
        id: 0,
        ref_obj_id: 0,
        range: 0,
        map: 0,
        aux: 0,
        ringbuf: false,
        rdonly: false,
        link32: false,
    };
    pub fn scalar(s: Scalar) -> RegState {
        RegState { ty: RegType::Scalar, var: s, ..RegState::NOT_INIT }
    }
    pub fn unknown() -> RegState {
        RegState::scalar(Scalar::unknown())
    }
    pub fn konst(v: u64) -> RegState {
        RegState::scalar(Scalar::konst(v))
    }
    pub fn ptr(ty: RegType) -> RegState {
        RegState { ty, var: Scalar::konst(0), ..RegState::NOT_INIT }
    }
    pub fn is_ptr(&self) -> bool {
        !matches!(self.ty, RegType::NotInit | RegType::Scalar)
    }
    pub fn is_pkt(&self) -> bool {
        matches!(self.ty, RegType::Packet | RegType::PacketMeta)
    }
    pub fn is_null_const(&self) -> bool {
        self.ty == RegType::Scalar && self.var.const_value() == Some(0)
    }

    /// The kernel's `reg_type_str`.
    pub fn type_str(&self) -> String {
        let base = match self.ty {
            RegType::NotInit => "?",
            RegType::Scalar => "scalar",
            RegType::Ctx => "ctx",
            RegType::ConstMapPtr => "map_ptr",
            RegType::MapValue => "map_value",
            RegType::MapKey => "map_key",
            RegType::Stack => "fp",
            RegType::Packet => "pkt",
            RegType::PacketMeta => "pkt_meta",
            RegType::PacketEnd => "pkt_end",
            RegType::Mem if self.ringbuf => "ringbuf_mem",
            RegType::Mem if self.rdonly => "rdonly_mem",
            RegType::Mem => "mem",
            RegType::Func => "func",
            RegType::BtfId => "ptr_",
            RegType::Sock(k) => k.name(),
        };
        if self.maybe_null {
            format!("{base}_or_null")
        } else {
            base.to_string()
        }
    }
}

impl fmt::Display for RegState {
    /// The kernel's `print_reg_state` form ([`RegState::kernel_fmt`]), in the
    /// register's own frame; map pointers name the map by its index (`map=0`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let frameno = if self.ty == RegType::Stack { self.aux } else { 0 };
        f.write_str(&self.kernel_fmt(frameno, None))
    }
}

/// What the kernel's log prints for a map pointer: the map's name (the kernel keeps
/// `BPF_OBJ_NAME_LEN - 1` = 15 characters of it), key and value sizes.
#[derive(Debug, Clone, Copy)]
pub struct MapDesc<'a> {
    pub name: &'a str,
    pub key_size: u32,
    pub value_size: u32,
}

/// A signed number as the kernel's log prints it (`verbose_snum`): decimal within
/// the `s16` range, hexadecimal (two's complement) outside.
pub fn kernel_snum(v: i64) -> String {
    if (i16::MIN as i64..=i16::MAX as i64).contains(&v) {
        v.to_string()
    } else {
        format!("{:#x}", v as u64)
    }
}

/// An unsigned number as the kernel's log prints it (`verbose_unum`): decimal up to
/// `u16::MAX`, hexadecimal above.
pub fn kernel_unum(v: u64) -> String {
    if v <= u16::MAX as u64 {
        v.to_string()
    } else {
        format!("{v:#x}")
    }
}

/// The bounds of `s` that differ from the defaults, the kernel's way
/// (`print_scalar_ranges`): one item per distinct value, naming every bound that has
/// it (`smax=umax=smax32=umax32=255`), never mixing negative and positive signed ones.
pub fn kernel_scalar_ranges(s: &Scalar) -> Vec<String> {
    // (name, value as the kernel holds it in a u64, signed, omitted)
    let s32 = |v: i32| if (i16::MIN as i32..=i16::MAX as i32).contains(&v) { v as i64 as u64 } else { v as u32 as u64 };
    let mut m = [
        ("smin", s.smin as u64, true, s.smin == i64::MIN),
        ("smax", s.smax as u64, true, s.smax == i64::MAX),
        ("umin", s.umin, false, s.umin == 0),
        ("umax", s.umax, false, s.umax == u64::MAX),
        ("smin32", s32(s.s32min), true, s.s32min == i32::MIN),
        ("smax32", s32(s.s32max), true, s.s32max == i32::MAX),
        ("umin32", s.u32min as u64, false, s.u32min == 0),
        ("umax32", s.u32max as u64, false, s.u32max == u32::MAX),
    ];
    let mut out = Vec::new();
    for i in 0..m.len() {
        let (name, val, signed, omit) = m[i];
        if omit {
            continue;
        }
        let neg = signed && (val as i64) < 0;
        let mut item = format!("{name}=");
        let mut j = i + 2;
        while j < m.len() {
            let (n2, v2, signed2, omit2) = m[j];
            if !omit2 && v2 == val && (signed2 && (v2 as i64) < 0) == neg {
                m[j].3 = true;
                item.push_str(n2);
                item.push('=');
            }
            j += 2;
        }
        item.push_str(&if signed { kernel_snum(val as i64) } else { kernel_unum(val) });
        out.push(item);
    }
    out
}

impl RegState {
    /// The register as the kernel's verifier log prints it (`print_reg_state`):
    /// `1`, `fp-8`, `pkt(off=14,r=14)`,
    /// `scalar(id=1,smin=smin32=0,smax=umax=smax32=umax32=255,var_off=(0x0; 0xff))`.
    /// `frameno` is the frame the register belongs to (stack pointers into another
    /// frame print it, `fp[0]-8`); `map` describes the map of a map pointer.
    /// Precision marks (`P`) are not printed: bpfbox does not track precision.
    pub fn kernel_fmt(&self, frameno: u32, map: Option<MapDesc<'_>>) -> String {
        let cst = self.var.const_value();
        match self.ty {
            RegType::NotInit => return "?".into(),
            RegType::Scalar => {
                if let Some(v) = cst {
                    return kernel_snum(v as i64);
                }
            }
            _ => {}
        }
        let mut out = self.type_str();
        if self.ty == RegType::Stack {
            if self.aux != frameno {
                out.push_str(&format!("[{}]", self.aux));
            }
            if let Some(v) = cst {
                out.push_str(&kernel_snum((v as i64).wrapping_add(self.off as i64)));
                return out;
            }
        }
        let mut parts = Vec::new();
        if self.id != 0 {
            if self.ty == RegType::Scalar && self.off != 0 {
                parts.push(format!("id={}{:+}", self.id, self.off));
            } else {
                parts.push(format!("id={}", self.id));
            }
        }
        if self.ref_obj_id != 0 {
            parts.push(format!("ref_obj_id={}", self.ref_obj_id));
        }
        if matches!(self.ty, RegType::MapValue | RegType::MapKey | RegType::ConstMapPtr) {
            match map {
                Some(m) => {
                    let name: String = m.name.chars().take(15).collect();
                    if !name.is_empty() {
                        parts.push(format!("map={name}"));
                    }
                    parts.push(format!("ks={},vs={}", m.key_size, m.value_size));
                }
                None => parts.push(format!("map={}", self.map)),
            }
        }
        if self.ty != RegType::Scalar && self.off != 0 {
            parts.push(format!("off={}", kernel_snum(self.off as i64)));
        }
        if self.is_pkt() {
            parts.push(format!("r={}", kernel_unum(self.range as i64 as u64)));
        }
        if self.ty == RegType::Mem {
            parts.push(format!("sz={}", kernel_unum(self.aux as u64)));
        }
        match cst {
            Some(0) => {}
            Some(v) => parts.push(format!("imm={}", kernel_snum(v as i64))),
            None => {
                parts.extend(kernel_scalar_ranges(&self.var));
                if !self.var.var.is_unknown() {
                    parts.push(format!("var_off={}", self.var.var));
                }
            }
        }
        out.push('(');
        out.push_str(&parts.join(","));
        out.push(')');
        out
    }
}

/// What one stack byte holds (`STACK_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SlotType {
    Invalid,
    /// Part of a spilled register (the whole 8-byte slot).
    Spill,
    Misc,
    Zero,
    /// An open-coded iterator's state (`STACK_ITER`, the whole slot): the slot's
    /// `spilled` register describes it ([`IterState`]).
    Iter,
}

/// An open-coded iterator (`bpf_iter_num`) in a stack slot, as the kernel keeps it in
/// the slot's `spilled_ptr`: the reference `bpf_iter_num_new` acquired, whether
/// `next` has returned NULL on this path (`BPF_ITER_STATE_DRAINED`), and how many
/// `next` calls returned an element (`depth`: successive loop iterations differ by it,
/// so they are not an infinite loop; ignored when states are compared for pruning).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IterState {
    pub ref_obj_id: u32,
    pub drained: bool,
    pub depth: u32,
}

impl IterState {
    /// The slot holding this iterator (`mark_stack_slots_iter`).
    pub fn slot(self) -> StackSlot {
        let spilled = RegState {
            ref_obj_id: self.ref_obj_id,
            range: self.drained as i32,
            aux: self.depth,
            ..RegState::ptr(RegType::Stack)
        };
        StackSlot { bytes: [SlotType::Iter; 8], spilled }
    }
    /// The iterator a slot holds, if it holds one whole.
    pub fn of(slot: &StackSlot) -> Option<IterState> {
        (slot.bytes.iter().all(|b| *b == SlotType::Iter) && slot.spilled.ref_obj_id != 0).then_some(IterState {
            ref_obj_id: slot.spilled.ref_obj_id,
            drained: slot.spilled.range != 0,
            depth: slot.spilled.aux,
        })
    }
}

/// One 8-byte stack slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StackSlot {
    pub bytes: [SlotType; 8],
    pub spilled: RegState,
}

impl StackSlot {
    pub const INVALID: StackSlot = StackSlot { bytes: [SlotType::Invalid; 8], spilled: RegState::NOT_INIT };
}

/// `MAX_BPF_STACK`.
pub const MAX_STACK: usize = 512;
pub const SLOTS: usize = MAX_STACK / 8;

/// One call frame.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Frame {
    pub regs: [RegState; 11],
    /// `stack[i]` covers bytes `-(i+1)*8 .. -i*8` below the frame pointer.
    pub stack: Vec<StackSlot>,
    /// Where to return to (the call instruction), `None` for the main program.
    pub callsite: Option<usize>,
    /// Index of the subprogram this frame runs.
    pub subprog: usize,
    /// For callbacks (`bpf_loop`): the return range the callback must respect.
    pub callback: bool,
}

impl Frame {
    pub fn new(subprog: usize, callsite: Option<usize>, frameno: u32) -> Frame {
        let mut regs = [RegState::NOT_INIT; 11];
        regs[10] = RegState { aux: frameno, ..RegState::ptr(RegType::Stack) };
        Frame { regs, stack: Vec::new(), callsite, subprog, callback: false }
    }
    pub fn slot(&self, i: usize) -> StackSlot {
        self.stack.get(i).copied().unwrap_or(StackSlot::INVALID)
    }
    pub fn slot_mut(&mut self, i: usize) -> &mut StackSlot {
        if self.stack.len() <= i {
            self.stack.resize(i + 1, StackSlot::INVALID);
        }
        &mut self.stack[i]
    }
    /// The type of the byte at frame offset `off` (negative).
    pub fn byte(&self, off: i64) -> SlotType {
        let pos = (-off - 1) as usize;
        self.slot(pos / 8).bytes[7 - pos % 8]
    }
    pub fn set_byte(&mut self, off: i64, t: SlotType) {
        let pos = (-off - 1) as usize;
        self.slot_mut(pos / 8).bytes[7 - pos % 8] = t;
    }
    /// The kernel's `allocated_stack`: bytes below r10 down to the deepest slot ever
    /// written (8-byte granularity). Unprivileged reads below it are out of bounds.
    pub fn allocated_stack(&self) -> i64 {
        let used = self.stack.iter().rposition(|s| s.bytes.iter().any(|t| *t != SlotType::Invalid));
        used.map_or(0, |i| (i as i64 + 1) * 8)
    }
}

/// An acquired reference (`struct bpf_reference_state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Reference {
    pub id: u32,
    pub insn: usize,
}

/// A held `bpf_spin_lock` (the kernel's active lock): the map value it lives in
/// (map index, constant offset, pointer id) and the instruction that took it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SpinLock {
    pub map: u32,
    pub off: i64,
    pub id: u32,
    pub insn: usize,
}

/// The whole abstract state on one path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct State {
    pub frames: Vec<Frame>,
    pub refs: Vec<Reference>,
    /// The spin lock held on this path, if any.
    pub lock: Option<SpinLock>,
    /// Inside `bpf_rcu_read_lock()` .. `bpf_rcu_read_unlock()` (`active_rcu_lock`).
    pub rcu: bool,
    /// `may_goto` fall-throughs taken on this path (the kernel's `may_goto_depth`):
    /// a loop that comes back to a `may_goto` one deeper is not an infinite loop.
    pub may_goto_depth: u32,
}

impl State {
    pub fn cur(&self) -> &Frame {
        &self.frames[self.frames.len() - 1]
    }
    pub fn cur_mut(&mut self) -> &mut Frame {
        let n = self.frames.len() - 1;
        &mut self.frames[n]
    }
    pub fn reg(&self, r: usize) -> &RegState {
        &self.cur().regs[r]
    }
    pub fn reg_mut(&mut self, r: usize) -> &mut RegState {
        &mut self.cur_mut().regs[r]
    }
    /// Every register and spilled register of every frame.
    pub fn for_each_reg(&mut self, mut f: impl FnMut(&mut RegState)) {
        for fr in &mut self.frames {
            for r in fr.regs.iter_mut() {
                f(r);
            }
            for s in fr.stack.iter_mut() {
                if s.bytes[0] == SlotType::Spill {
                    f(&mut s.spilled);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_bytes() {
        let mut f = Frame::new(0, None, 0);
        assert_eq!(f.byte(-1), SlotType::Invalid);
        f.set_byte(-1, SlotType::Misc);
        f.set_byte(-8, SlotType::Zero);
        assert_eq!(f.slot(0).bytes[7], SlotType::Misc);
        assert_eq!(f.slot(0).bytes[0], SlotType::Zero);
        assert_eq!(f.byte(-9), SlotType::Invalid);
        f.set_byte(-512, SlotType::Misc);
        assert_eq!(f.stack.len(), 64);
    }

    #[test]
    fn type_strings() {
        let mut r = RegState::ptr(RegType::MapValue);
        r.maybe_null = true;
        assert_eq!(r.type_str(), "map_value_or_null");
        assert_eq!(RegState::konst(3).to_string(), "3");
        let p = RegState { range: 14, ..RegState::ptr(RegType::Packet) };
        assert_eq!(p.to_string(), "pkt(r=14)");
    }

    /// Renderings taken from the kernel's (6.18) verifier logs.
    #[test]
    fn kernel_format() {
        let none = |r: RegState| r.kernel_fmt(0, None);
        assert_eq!(none(RegState::ptr(RegType::Ctx)), "ctx()");
        assert_eq!(none(RegState::ptr(RegType::PacketEnd)), "pkt_end()");
        assert_eq!(none(Frame::new(0, None, 0).regs[10]), "fp0");
        let fp4 = RegState { off: -4, ..Frame::new(0, None, 0).regs[10] };
        assert_eq!(none(fp4), "fp-4");
        assert_eq!(fp4.kernel_fmt(1, None), "fp[0]-4");
        assert_eq!(none(RegState::konst(1)), "1");
        assert_eq!(none(RegState::konst(-9i64 as u64)), "-9");
        assert_eq!(none(RegState::konst(0xdead)), "0xdead");
        assert_eq!(none(RegState::konst(0x8000_0000)), "0x80000000");
        assert_eq!(none(RegState::unknown()), "scalar()");
        assert_eq!(none(RegState { id: 1, ..RegState::unknown() }), "scalar(id=1)");
        let byte = RegState::scalar(Scalar::urange(0, 255));
        assert_eq!(none(byte), "scalar(smin=smin32=0,smax=umax=smax32=umax32=255,var_off=(0x0; 0xff))");
        let u32s = RegState::scalar(Scalar::urange(0, u32::MAX as u64));
        assert_eq!(none(u32s), "scalar(smin=0,smax=umax=0xffffffff,var_off=(0x0; 0xffffffff))");
        let pkt = RegState { off: 14, range: 14, ..RegState::ptr(RegType::Packet) };
        assert_eq!(none(pkt), "pkt(off=14,r=14)");
        let mv = RegState { off: 8, ..RegState::ptr(RegType::MapValue) };
        let arr = MapDesc { name: "atomics_.bss", key_size: 4, value_size: 40 };
        assert_eq!(mv.kernel_fmt(0, Some(arr)), "map_value(map=atomics_.bss,ks=4,vs=40,off=8)");
        let nul = RegState { id: 2, maybe_null: true, ..RegState::ptr(RegType::MapValue) };
        let h = MapDesc { name: "h", key_size: 8, value_size: 8 };
        assert_eq!(nul.kernel_fmt(0, Some(h)), "map_value_or_null(id=2,map=h,ks=8,vs=8)");
        let var = RegState { var: Scalar::urange(0, 60), ..RegState::ptr(RegType::MapValue) };
        let mut var = var;
        var.var.var = crate::tnum::Tnum { value: 0, mask: 0x3c };
        let arr64 = MapDesc { name: "arr", key_size: 4, value_size: 64 };
        assert_eq!(
            var.kernel_fmt(0, Some(arr64)),
            "map_value(map=arr,ks=4,vs=64,smin=smin32=0,smax=umax=smax32=umax32=60,var_off=(0x0; 0x3c))"
        );
        let shifted = Scalar {
            var: crate::tnum::Tnum { value: 0, mask: 0xffff_ffff_0000_0000 },
            smin: i64::MIN,
            smax: 0x7fff_ffff_0000_0000,
            umin: 0,
            umax: 0xffff_ffff_0000_0000,
            s32min: 0,
            s32max: 0,
            u32min: 0,
            u32max: 0,
        };
        assert_eq!(
            none(RegState::scalar(shifted)),
            "scalar(smax=0x7fffffff00000000,umax=0xffffffff00000000,smin32=0,smax32=umax32=0,var_off=(0x0; 0xffffffff00000000))"
        );
    }
}
