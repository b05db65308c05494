//! Programs as the debugger sees them: per instruction, the DWARF address, the source
//! line and the function, from DWARF when the object has it, else from BTF line info.

use crate::dwarf::{Address, DebugInfo};
use bpfbox_isa::Insn;
use bpfbox_object::ProgramSpec;
use std::collections::HashMap;

/// One program (entry point with its sub-programs), slot-indexed like the VM runs it.
#[derive(Debug, Clone)]
pub struct ProgView {
    pub name: String,
    pub insns: Vec<Insn>,
    /// Per pc: the DWARF code address (DWARF only).
    pub addr: Vec<Option<Address>>,
    /// Per pc: (file index, line).
    pub line: Vec<Option<(usize, u32)>>,
    /// Per pc: a statement starts here (a line-table row or BTF line info).
    pub stmt: Vec<bool>,
    /// Per pc: DWARF says the function's prologue ends here.
    pub prologue_end: Vec<bool>,
    /// Function entries: (first pc, name), sorted.
    pub funcs: Vec<(usize, String)>,
    /// Per function (as `funcs`): its stack size, the distance from r10 to the DWARF
    /// frame base (LLVM's BPF frame base is the bottom of the frame).
    pub frame_sizes: Vec<u64>,
}

impl ProgView {
    /// The stack size of the function containing `pc`.
    pub fn frame_size(&self, pc: usize) -> u64 {
        let i = self.funcs.iter().rposition(|(start, _)| *start <= pc).unwrap_or(0);
        self.frame_sizes.get(i).copied().unwrap_or(0)
    }

    /// The function containing `pc`: (entry pc, name).
    pub fn func_of(&self, pc: usize) -> Option<&(usize, String)> {
        self.funcs.iter().rev().find(|(start, _)| *start <= pc)
    }

    /// The end (exclusive) of the function starting at `entry`.
    pub fn func_end(&self, entry: usize) -> usize {
        self.funcs.iter().map(|(s, _)| *s).filter(|s| *s > entry).min().unwrap_or(self.insns.len())
    }

    /// The pcs `[start, end)` around `pc` that share its line, contiguous.
    pub fn line_range(&self, pc: usize) -> (usize, usize) {
        if pc >= self.line.len() {
            return (pc, pc + 1);
        }
        let l = self.line.get(pc).copied().flatten();
        let mut s = pc;
        while s > 0 && self.line[s - 1] == l && !self.stmt[s] {
            s -= 1;
        }
        let mut e = pc + 1;
        while e < self.line.len() && self.line[e] == l && !self.stmt[e] {
            e += 1;
        }
        (s, e)
    }
}

/// Source files by index, with their text when it can be read.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    pub files: Vec<String>,
    ids: HashMap<String, usize>,
    /// Per file: lines (from disk, else what BTF line info carries).
    text: Vec<Option<Vec<String>>>,
    btf_lines: HashMap<(usize, u32), String>,
}

impl Sources {
    pub fn id(&mut self, path: &str) -> usize {
        if let Some(&i) = self.ids.get(path) {
            return i;
        }
        let i = self.files.len();
        self.files.push(path.to_string());
        self.ids.insert(path.to_string(), i);
        self.text.push(None);
        i
    }

    /// The text of `line` (1-based) of `file`.
    pub fn line_text(&mut self, file: usize, line: u32) -> Option<String> {
        if self.text.get(file)?.is_none() {
            let lines = std::fs::read_to_string(&self.files[file])
                .map(|t| t.lines().map(str::to_string).collect())
                .unwrap_or_default();
            self.text[file] = Some(lines);
        }
        let from_disk = self.text[file].as_ref().and_then(|t| t.get((line as usize).checked_sub(1)?).cloned());
        from_disk.or_else(|| self.btf_lines.get(&(file, line)).cloned())
    }

    /// Number of lines known for `file`.
    pub fn line_count(&mut self, file: usize) -> u32 {
        let _ = self.line_text(file, 1);
        let disk = self.text.get(file).and_then(|t| t.as_ref()).map(|t| t.len()).unwrap_or(0) as u32;
        let btf = self.btf_lines.keys().filter(|(f, _)| *f == file).map(|(_, l)| *l).max().unwrap_or(0);
        disk.max(btf)
    }

    /// The file whose path is `name` or ends with `/name`.
    pub fn find(&self, name: &str) -> Option<usize> {
        let exact = self.files.iter().position(|f| f == name || f.ends_with(&format!("/{name}")));
        // A path written another way (`a/../b`, a different checkout): the file name.
        let base = name.rsplit('/').next().unwrap_or(name);
        exact.or_else(|| self.files.iter().position(|f| f.rsplit('/').next() == Some(base)))
    }

    /// The last path component of a file.
    pub fn short(&self, file: usize) -> &str {
        let f = self.files.get(file).map(String::as_str).unwrap_or("??");
        f.rsplit('/').next().unwrap_or(f)
    }
}

/// Build the view of `spec`: DWARF when given, BTF line info otherwise.
pub fn view(spec: &ProgramSpec, info: Option<&DebugInfo>, sources: &mut Sources) -> ProgView {
    let n = spec.insns.len();
    let mut funcs: Vec<(usize, String)> = spec.func_info.iter().map(|f| (f.insn_off, f.name.clone())).collect();
    if funcs.is_empty() {
        funcs.push((0, spec.name.clone()));
    }
    funcs.sort();
    funcs.dedup_by_key(|f| f.0);
    let mut v = ProgView {
        name: spec.name.clone(),
        insns: spec.insns.clone(),
        addr: vec![None; n],
        line: vec![None; n],
        stmt: vec![false; n],
        prologue_end: vec![false; n],
        funcs: funcs.clone(),
        frame_sizes: Vec::new(),
    };
    for (i, (start, _)) in funcs.iter().enumerate() {
        let end = funcs.get(i + 1).map(|f| f.0).unwrap_or(n);
        v.frame_sizes.push(stack_size(&spec.insns[(*start).min(n)..end.min(n)]));
    }
    for l in &spec.line_info {
        let f = sources.id(&l.file);
        sources.btf_lines.entry((f, l.line)).or_insert_with(|| l.text.clone());
    }
    if let Some(info) = info {
        let file_ids: Vec<usize> = info.files.iter().map(|f| sources.id(f)).collect();
        for (i, (start, name)) in funcs.iter().enumerate() {
            let end = funcs.get(i + 1).map(|f| f.0).unwrap_or(n);
            let Some(f) = info.function_named(name) else { continue };
            for pc in *start..end {
                v.addr[pc] = Some(Address { section: f.low.section, offset: f.low.offset + 8 * (pc - start) as u64 });
            }
        }
        // Rows by address; the last row at an address wins.
        let mut rows: HashMap<Address, (usize, u32, bool)> = HashMap::new();
        let mut prologue = std::collections::HashSet::new();
        for r in &info.lines {
            let e = rows.entry(r.addr).or_insert((file_ids[r.file], r.line, r.is_stmt));
            *e = (file_ids[r.file], r.line, r.is_stmt || e.2);
            if r.prologue_end {
                prologue.insert(r.addr);
            }
        }
        let mut last: Option<(usize, u32)> = None;
        for pc in 0..n {
            let Some(a) = v.addr[pc] else {
                last = None;
                continue;
            };
            if v.funcs.iter().any(|(s, _)| *s == pc) {
                last = None;
            }
            v.prologue_end[pc] = prologue.contains(&a);
            if let Some(&(file, line, stmt)) = rows.get(&a) {
                if line != 0 {
                    v.stmt[pc] = stmt && last != Some((file, line)) || last.is_none();
                    last = Some((file, line));
                }
            }
            v.line[pc] = last;
        }
    }
    if v.line.iter().all(Option::is_none) {
        // BTF line info: the line of the closest record at or before each pc.
        let mut infos: Vec<_> = spec.line_info.iter().collect();
        infos.sort_by_key(|l| l.insn_off);
        let mut it = infos.iter().peekable();
        let mut cur: Option<(usize, u32)> = None;
        for pc in 0..n {
            while let Some(l) = it.peek() {
                if l.insn_off > pc {
                    break;
                }
                let next = Some((sources.id(&l.file), l.line));
                if l.insn_off == pc && next != cur {
                    v.stmt[pc] = true;
                }
                cur = next;
                it.next();
            }
            v.line[pc] = cur;
        }
    }
    v
}

/// The stack a function uses: the deepest byte below r10 it addresses (through r10
/// or a copy of it plus a constant), rounded up to 8.
fn stack_size(insns: &[Insn]) -> u64 {
    use bpfbox_isa::{AluOp, Operand};
    let fp = 10u8;
    let mut copies = [false; 11];
    copies[10] = true;
    let mut deepest: i64 = 0;
    for insn in insns {
        match *insn {
            Insn::Load { src, off, .. } if src.num() == fp => deepest = deepest.max(-i64::from(off)),
            Insn::Store { dst, off, .. } | Insn::Atomic { dst, off, .. } if dst.num() == fp => {
                deepest = deepest.max(-i64::from(off))
            }
            Insn::Alu { op: AluOp::Mov, dst, src: Operand::Reg(s), .. } => {
                let d = usize::from(dst.num()).min(10);
                if d != 10 {
                    copies[d] = copies[usize::from(s.num()).min(10)];
                }
            }
            Insn::Alu { op: AluOp::Add, dst, src: Operand::Imm(i), .. } if copies[usize::from(dst.num()).min(10)] => {
                deepest = deepest.max(-i64::from(i));
                let d = usize::from(dst.num()).min(10);
                if d != 10 {
                    copies[d] = false;
                }
            }
            Insn::Alu { dst, .. } | Insn::Load { dst, .. } | Insn::LoadImm64 { dst, .. } => {
                let d = usize::from(dst.num()).min(10);
                if d != 10 {
                    copies[d] = false;
                }
            }
            Insn::Call(_) | Insn::CallX { .. } => copies[..6].fill(false),
            _ => {}
        }
    }
    (deepest.max(0) as u64).div_ceil(8) * 8
}
