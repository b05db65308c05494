//! Loads folded into wider ones: a value or-ed together from byte loads of one
//! base at adjacent offsets becomes one load (`Fx::byte_tree`, `ByteTree`).

use super::*;

impl Fx<'_, '_> {
    /// `v` with extensions and reductions looked through (for values of at most 32
    /// bits, which they do not change).
    fn peel(&self, mut v: Value) -> Value {
        let dfg = &self.b.func.dfg;
        loop {
            v = dfg.resolve_aliases(v);
            match dfg.value_def(v) {
                ValueDef::Result(inst, 0) => match dfg.insts[inst] {
                    InstructionData::Unary { opcode: Opcode::Uextend | Opcode::Ireduce, arg } => v = arg,
                    _ => return v,
                },
                _ => return v,
            }
        }
    }

    /// The constant `v`, if it is one.
    pub(super) fn const_of(&self, v: Value) -> Option<i64> {
        let dfg = &self.b.func.dfg;
        let ValueDef::Result(inst, 0) = dfg.value_def(dfg.resolve_aliases(v)) else { return None };
        match dfg.insts[inst] {
            InstructionData::UnaryImm { opcode: Opcode::Iconst, imm } => Some(imm.bits()),
            _ => None,
        }
    }

    /// The bytes a wide load `ld` made by `folded_read` holds (byte-swapped when
    /// `swapped`), if it was made since the last store.
    fn folded_tree(&self, ld: cranelift_codegen::ir::Inst, swapped: bool) -> Option<ByteTree> {
        let dfg = &self.b.func.dfg;
        let InstructionData::Load { opcode: Opcode::Load, arg: base, offset, .. } = dfg.insts[ld] else {
            return None;
        };
        if !self.folded_loads.contains(&ld) || self.load_epochs.get(&ld) != Some(&self.mem_epoch) {
            return None;
        }
        let n = dfg.value_type(dfg.first_result(ld)).bytes() as usize;
        let k = i64::from(i32::from(offset));
        let mut t = ByteTree { base: dfg.resolve_aliases(base), pos: [None; 4], inner: 1 };
        for (i, p) in t.pos.iter_mut().take(n).enumerate() {
            *p = Some(if swapped { k + (n - 1 - i) as i64 } else { k + i as i64 });
        }
        Some(t)
    }

    /// Which memory bytes make up `v`, a value of at most 32 bits built from raw
    /// (unchecked) byte loads off one base with shifts by whole bytes and `or`s (or
    /// from a read this folding made before): `Some(ByteTree)` with, for each byte
    /// position (0 = least significant), the offset it was loaded from.
    fn byte_tree(&self, v: Value, depth: u32) -> Option<ByteTree> {
        if depth > 8 {
            return None;
        }
        let dfg = &self.b.func.dfg;
        let ValueDef::Result(inst, 0) = dfg.value_def(self.peel(v)) else { return None };
        match dfg.insts[inst] {
            InstructionData::Load { opcode: Opcode::Uload8, arg, offset, .. } => {
                if self.load_epochs.get(&inst) != Some(&self.mem_epoch) {
                    return None;
                }
                let mut t = ByteTree { base: dfg.resolve_aliases(arg), pos: [None; 4], inner: 0 };
                t.pos[0] = Some(i64::from(i32::from(offset)));
                Some(t)
            }
            // A read folded before: `bswap(load.iN base+k)` (big-endian) or the load
            // itself (little-endian).
            InstructionData::Unary { opcode: Opcode::Bswap, arg } => {
                let ValueDef::Result(ld, 0) = dfg.value_def(dfg.resolve_aliases(arg)) else { return None };
                self.folded_tree(ld, true)
            }
            InstructionData::Load { opcode: Opcode::Load, .. } => self.folded_tree(inst, false),
            InstructionData::Binary { opcode: Opcode::Ishl, args: [x, amt] } => {
                let sh = self.const_of(amt)?;
                if sh % 8 != 0 || !(0..32).contains(&sh) {
                    return None;
                }
                let t = self.byte_tree(x, depth + 1)?;
                let by = (sh / 8) as usize;
                // Bytes shifted out of 32 bits would be lost.
                if t.pos.iter().skip(4 - by).any(Option::is_some) {
                    return None;
                }
                let mut out = ByteTree { pos: [None; 4], ..t };
                out.pos[by..].copy_from_slice(&t.pos[..4 - by]);
                Some(out)
            }
            InstructionData::Binary { opcode: Opcode::Bor, args: [x, y] } => {
                self.byte_tree(x, depth + 1)?.merge(&self.byte_tree(y, depth + 1)?)
            }
            _ => None,
        }
    }

    /// `a | b` when it completes a 16- or 32-bit read made byte by byte: big-endian
    /// (`(p[k] << 8) | p[k + 1]`, clang's `be16`/`be32`) or little-endian (a packed
    /// field): clang makes no unaligned wide loads for eBPF. As one load (and a byte
    /// swap), of type `ty`. Unchecked code
    /// only: checked byte loads must fail one by one, as in the interpreter. The
    /// program reads every byte anyway, so the wide load reads nothing more.
    pub(super) fn folded_read(&mut self, a: Value, b: Value, ty: Type) -> Option<Value> {
        if self.cfg.checked {
            return None;
        }
        let t = self.byte_tree(a, 0)?.merge(&self.byte_tree(b, 0)?)?;
        let n = t.pos.iter().take_while(|p| p.is_some()).count();
        if t.pos[n..].iter().any(Option::is_some) || !(n == 2 || n == 4) {
            return None;
        }
        // Big-endian: the least significant byte comes last in memory; little-endian
        // (clang's reads of packed fields): first.
        let big = t.pos[n - 1].filter(|&k| (0..n).all(|i| t.pos[i] == Some(k + (n - 1 - i) as i64)));
        let little = t.pos[0].filter(|&k| (0..n).all(|i| t.pos[i] == Some(k + i as i64)));
        let k = big.or(little)?;
        let off = i32::try_from(k).ok()?;
        let wide = if n == 2 { types::I16 } else { I32 };
        let load = self.b.ins().load(wide, pm(), t.base, off);
        let swapped = if big.is_some() { self.b.ins().bswap(load) } else { load };
        if let ValueDef::Result(ld, _) = self.b.func.dfg.value_def(load) {
            self.folded_loads.push(ld);
            self.load_epochs.insert(ld, self.mem_epoch);
        }
        // An inner read folded before is part of this one now.
        self.folded_reads = (self.folded_reads + 1).saturating_sub(t.inner);
        Some(if wide == ty { swapped } else { self.b.ins().uextend(ty, swapped) })
    }

    /// After `folded_read`s: remove the byte loads (and the wide loads of inner
    /// folds) that nothing uses any more, with the dead shifts, `or`s, swaps,
    /// extensions and constants between them (Cranelift emits every load, used or
    /// not). Only raw unchecked byte loads can be left dead by a fold.
    pub(super) fn remove_folded_loads(&mut self) {
        if self.folded_reads == 0 {
            return;
        }
        let func = &mut *self.b.func;
        let mut uses: std::collections::HashMap<Value, u32> = std::collections::HashMap::new();
        for block in func.layout.blocks() {
            for inst in func.layout.block_insts(block) {
                for v in func.dfg.inst_values(inst) {
                    *uses.entry(func.dfg.resolve_aliases(v)).or_default() += 1;
                }
            }
        }
        let folded = &self.folded_loads;
        let removable = |func: &cranelift_codegen::ir::Function, inst| {
            func.layout.inst_block(inst).is_some()
                && (folded.contains(&inst)
                    || matches!(
                        func.dfg.insts[inst].opcode(),
                        Opcode::Uload8
                            | Opcode::Iconst
                            | Opcode::Uextend
                            | Opcode::Ireduce
                            | Opcode::Ishl
                            | Opcode::Bor
                            | Opcode::Bswap
                    ))
        };
        let unused = |func: &cranelift_codegen::ir::Function, uses: &std::collections::HashMap<Value, u32>, inst| {
            func.dfg.inst_results(inst).iter().all(|r| uses.get(r).copied().unwrap_or(0) == 0)
        };
        let mut work: Vec<_> = Vec::new();
        for block in func.layout.blocks() {
            for inst in func.layout.block_insts(block) {
                if removable(func, inst) && unused(func, &uses, inst) {
                    work.push(inst);
                }
            }
        }
        while let Some(inst) = work.pop() {
            if !removable(func, inst) || !unused(func, &uses, inst) {
                continue;
            }
            let args: Vec<Value> = func.dfg.inst_values(inst).map(|v| func.dfg.resolve_aliases(v)).collect();
            func.layout.remove_inst(inst);
            for v in args {
                let n = uses.entry(v).or_default();
                *n = n.saturating_sub(1);
                if *n == 0 {
                    if let ValueDef::Result(def, _) = func.dfg.value_def(v) {
                        work.push(def);
                    }
                }
            }
        }
    }
}

/// The memory bytes a value is made of (`Fx::byte_tree`): for each byte position,
/// least significant first, the offset from `base` it was loaded from.
#[derive(Debug, Clone, Copy)]
struct ByteTree {
    base: Value,
    pos: [Option<i64>; 4],
    /// Reads folded before that this one is made of.
    inner: usize,
}

impl ByteTree {
    /// The bytes of `a | b`, when both come from the same base into distinct
    /// positions.
    fn merge(&self, other: &ByteTree) -> Option<ByteTree> {
        if self.base != other.base {
            return None;
        }
        let mut out = *self;
        out.inner += other.inner;
        for (o, p) in out.pos.iter_mut().zip(other.pos) {
            match (*o, p) {
                (Some(_), Some(_)) => return None,
                (None, p) => *o = p,
                _ => {}
            }
        }
        Some(out)
    }
}
