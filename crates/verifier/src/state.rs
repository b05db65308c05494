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
            RegType::Mem => "mem",
            RegType::Func => "func",
            RegType::BtfId => "ptr_",
        };
        if self.maybe_null {
            format!("{base}_or_null")
        } else {
            base.to_string()
        }
    }
}

impl fmt::Display for RegState {
    /// Close to the kernel's `print_verifier_state` form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ty {
            RegType::NotInit => return write!(f, "?"),
            RegType::Scalar => {
                if self.id != 0 && !self.var.is_const() {
                    let s = self.var.to_string();
                    let inner = s.trim_start_matches("scalar(").trim_end_matches(')');
                    let sep = if inner.is_empty() { "" } else { "," };
                    return write!(f, "scalar(id={}{sep}{inner})", self.id);
                }
                return write!(f, "{}", self.var);
            }
            _ => {}
        }
        let mut parts = Vec::new();
        if self.id != 0 {
            parts.push(format!("id={}", self.id));
        }
        if self.ref_obj_id != 0 {
            parts.push(format!("ref_obj_id={}", self.ref_obj_id));
        }
        if self.off != 0 || self.ty == RegType::Stack {
            parts.push(format!("off={}", self.off));
        }
        if self.is_pkt() {
            parts.push(format!("r={}", self.range));
        }
        if matches!(self.ty, RegType::MapValue | RegType::MapKey | RegType::ConstMapPtr) {
            parts.push(format!("map={}", self.map));
        }
        if self.ty == RegType::Mem {
            parts.push(format!("sz={}", self.aux));
        }
        if !self.var.is_const() {
            let s = self.var.to_string();
            parts.push(s.trim_start_matches("scalar(").trim_end_matches(')').to_string());
        }
        write!(f, "{}({})", self.type_str(), parts.join(","))
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
}
