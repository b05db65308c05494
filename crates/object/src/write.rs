//! The object writer: programs and BTF-defined maps written as the ELF object
//! `clang -target bpf` would write, for libbpf (and [`crate::load`]) to open.
//!
//! An [`ObjectBuilder`] collects [`MapDef`]s and [`ProgDef`]s; [`ObjectBuilder::write`]
//! checks them and returns the bytes of an ELF64 little-endian `ET_REL` file for
//! `EM_BPF` with:
//!
//! - one `SHF_ALLOC | SHF_EXECINSTR` section per program section name (programs
//!   that share a section name are laid out one after the other in it), each
//!   program a global `STT_FUNC` symbol;
//! - `license`, the license string and its NUL, with a global `LICENSE` symbol;
//! - `.maps`, one zeroed definition per map with a global `STT_OBJECT` symbol;
//! - `.rel<section>`: an `R_BPF_64_64` relocation against the map's symbol for
//!   each `lddw` that loads a map (the `lddw` itself is written as `r = 0 ll`);
//! - `.BTF`: each map as a `VAR` of an anonymous `STRUCT` whose members `type`,
//!   `max_entries` (always), `key_size`, `value_size` and `map_flags` (when not 0)
//!   are `int (*)[N]`, in a `DATASEC .maps`; each program as a global `FUNC` of
//!   type `int (void *ctx)`;
//! - `.BTF.ext`: func_info for each program and line info (`file`, the line's
//!   text, `line << 10 | col`) for the slots the program's [`LineDef`]s name.
//!
//! Bad definitions give a [`WriteError`] naming the program or map and the slot;
//! nothing here panics.

mod btf;
mod elf;

use bpfbox_isa::{encode_program, llvm, Imm64, Insn};
use btf::{BtfWriter, FuncRec, LineRec, MapField, PerSection, MAX_VLEN};
use elf::{ElfWriter, Section, Symbol};
use object::elf as E;
use std::collections::{BTreeMap, HashMap, HashSet};

/// A BTF-defined map (`struct { __uint(type, ...); ... } name SEC(".maps");`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapDef {
    /// The map's name: a C identifier (the BTF `VAR` and the ELF symbol).
    pub name: String,
    /// `enum bpf_map_type` (`BPF_MAP_TYPE_HASH` = 1 ...).
    pub map_type: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub map_flags: u32,
}

/// One program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgDef {
    /// The function's name: a C identifier (the ELF symbol and the BTF `FUNC`).
    pub name: String,
    /// libbpf's section name, which gives the program type and attach point
    /// (`tracepoint/syscalls/sys_enter_openat`, `perf_event`, `uprobe` ...).
    pub section: String,
    /// Slot-indexed instructions (each [`Insn::LoadImm64`] followed by
    /// [`Insn::LoadImm64Tail`]), as [`bpfbox_isa::encode_program`] takes them.
    pub insns: Vec<Insn>,
    /// `(slot of an lddw, map name)`: the `lddw` loads that map. Its immediate is
    /// replaced by the relocation.
    pub map_relocs: Vec<(usize, String)>,
    /// Source lines, by increasing slot; the first at slot 0.
    pub lines: Vec<LineDef>,
}

/// The source line of the instructions from `slot` on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineDef {
    pub slot: usize,
    /// 1-based line; at most 2^22 - 1 (`line << 10` must fit 32 bits).
    pub line: u32,
    /// 1-based column; written as at most 1023 (10 bits).
    pub col: u32,
    /// The line's text.
    pub text: String,
}

/// Why [`ObjectBuilder::write`] refused its input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    #[error("{what} `{name}`: {reason}")]
    BadName { what: &'static str, name: String, reason: &'static str },
    #[error("{what} `{name}` is defined twice")]
    Duplicate { what: &'static str, name: String },
    #[error("program `{program}` has no instructions")]
    EmptyProgram { program: String },
    #[error("program `{program}`, slot {slot}: {reason}")]
    BadInsn { program: String, slot: usize, reason: String },
    #[error("program `{program}`: map `{map}` is relocated at slot {slot}, outside the program ({len} slots)")]
    RelocOutOfRange { program: String, slot: usize, map: String, len: usize },
    #[error("program `{program}`: map `{map}` is relocated at slot {slot}, which holds `{found}`, not an lddw")]
    NotLddw { program: String, slot: usize, map: String, found: String },
    #[error("program `{program}`: the lddw at slot {slot} names unknown map `{map}`")]
    UnknownMap { program: String, slot: usize, map: String },
    #[error("program `{program}`: two map relocations at slot {slot}")]
    DuplicateReloc { program: String, slot: usize },
    #[error("program `{program}`: line info #{index} (slot {slot}, line {line}): {reason}")]
    BadLine { program: String, index: usize, slot: usize, line: u32, reason: &'static str },
    #[error("{what}: {count} is more than an object can hold ({max})")]
    TooMany { what: &'static str, count: usize, max: usize },
}

/// Collects maps and programs; [`ObjectBuilder::write`] makes the ELF file.
#[derive(Debug, Clone, Default)]
pub struct ObjectBuilder {
    license: String,
    source_file: String,
    maps: Vec<MapDef>,
    progs: Vec<ProgDef>,
}

/// The symbol of the `license` section.
const LICENSE_SYMBOL: &str = "LICENSE";
/// `R_BPF_64_64`: the 64-bit immediate of an `lddw`.
const R_BPF_64_64: u32 = 1;
/// The largest line number `line << 10 | col` holds.
const MAX_LINE: u32 = (1 << 22) - 1;
const MAX_COL: u32 = (1 << 10) - 1;
/// Section names libbpf reads as something else than a program (besides the
/// names starting with `.`: `.text`, `.maps`, `.BTF`, `.rel...` ...).
const RESERVED_SECTIONS: [&str; 3] = ["license", "version", "maps"];

impl ObjectBuilder {
    /// An object with license `license` (`"GPL"` for GPL-only helpers) whose line
    /// info names `source_file_name`.
    pub fn new(license: &str, source_file_name: &str) -> Self {
        ObjectBuilder { license: license.to_string(), source_file: source_file_name.to_string(), ..Default::default() }
    }

    /// Add a map (written in the order added).
    pub fn map(&mut self, m: MapDef) {
        self.maps.push(m);
    }

    /// Add a program (written in the order added).
    pub fn prog(&mut self, p: ProgDef) {
        self.progs.push(p);
    }

    /// The object file.
    pub fn write(&self) -> Result<Vec<u8>, WriteError> {
        self.check()?;
        let mut elf = ElfWriter::new();
        let mut btf = BtfWriter::new();
        let mut symbols = vec![Symbol {
            name: self.source_file.clone(),
            bind: E::STB_LOCAL,
            kind: E::STT_FILE,
            section: E::SHN_ABS,
            value: 0,
            size: 0,
        }];

        // Code: one section per section name, programs in the order given.
        let mut sections: Vec<CodeSection> = Vec::new();
        for (pi, p) in self.progs.iter().enumerate() {
            let i = match sections.iter().position(|s| s.name == p.section) {
                Some(i) => i,
                None => {
                    let name_off = btf.str(&p.section);
                    sections.push(CodeSection { name: p.section.clone(), name_off, ..Default::default() });
                    sections.len() - 1
                }
            };
            let code = &mut sections[i];
            code.programs.push((pi, code.bytes.len()));
            let relocated: HashSet<usize> = p.map_relocs.iter().map(|(slot, _)| *slot).collect();
            let insns: Vec<Insn> = p
                .insns
                .iter()
                .enumerate()
                .map(|(slot, insn)| match insn {
                    Insn::LoadImm64 { dst, .. } if relocated.contains(&slot) => {
                        Insn::LoadImm64 { dst: *dst, imm: Imm64::Value(0) }
                    }
                    other => *other,
                })
                .collect();
            code.bytes.extend_from_slice(&encode_program(&insns));
        }
        let mut section_index = Vec::with_capacity(sections.len());
        for s in &sections {
            let flags = E::SHF_ALLOC | E::SHF_EXECINSTR;
            section_index.push(elf.add(Section::progbits(&s.name, flags, 8, s.bytes.clone())));
        }
        for (s, &index) in sections.iter().zip(&section_index) {
            for &(pi, offset) in &s.programs {
                let p = &self.progs[pi];
                symbols.push(Symbol {
                    name: p.name.clone(),
                    bind: E::STB_GLOBAL,
                    kind: E::STT_FUNC,
                    section: index,
                    value: offset as u64,
                    size: p.insns.len() as u64 * 8,
                });
            }
        }

        let mut license = self.license.as_bytes().to_vec();
        license.push(0);
        let license_size = license.len() as u64;
        let license_index = elf.add(Section::progbits("license", E::SHF_ALLOC | E::SHF_WRITE, 1, license));
        symbols.push(Symbol {
            name: LICENSE_SYMBOL.into(),
            bind: E::STB_GLOBAL,
            kind: E::STT_OBJECT,
            section: license_index,
            value: 0,
            size: license_size,
        });

        // Maps, and the symbol index of each (relocations name them).
        let mut map_symbol: HashMap<&str, u32> = HashMap::new();
        if !self.maps.is_empty() {
            let defs: Vec<(&str, Vec<MapField>)> = self.maps.iter().map(|m| (m.name.as_str(), map_fields(m))).collect();
            let (slots, size) = btf.map_defs(&defs);
            let maps_index =
                elf.add(Section::progbits(".maps", E::SHF_ALLOC | E::SHF_WRITE, 8, vec![0; size as usize]));
            for (m, slot) in self.maps.iter().zip(slots) {
                map_symbol.insert(&m.name, symbols.len() as u32 + 1);
                symbols.push(Symbol {
                    name: m.name.clone(),
                    bind: E::STB_GLOBAL,
                    kind: E::STT_OBJECT,
                    section: maps_index,
                    value: slot.offset as u64,
                    size: slot.size as u64,
                });
            }
        }

        // Relocations, function and line info, section by section.
        let file_off = btf.str(&self.source_file);
        let mut funcs: PerSection<FuncRec> = Vec::new();
        let mut lines: PerSection<LineRec> = Vec::new();
        for (s, &index) in sections.iter().zip(&section_index) {
            let mut rels: BTreeMap<usize, u32> = BTreeMap::new();
            let (mut fs, mut ls) = (Vec::new(), Vec::new());
            for &(pi, offset) in &s.programs {
                let p = &self.progs[pi];
                for (slot, map) in &p.map_relocs {
                    rels.insert(offset + slot * 8, map_symbol[map.as_str()]);
                }
                fs.push(FuncRec { insn_off: offset as u32, type_id: btf.program_func(&p.name) });
                for l in &p.lines {
                    ls.push(LineRec {
                        insn_off: (offset + l.slot * 8) as u32,
                        file_name_off: file_off,
                        line_off: btf.str(&l.text),
                        line_col: (l.line << 10) | l.col.min(MAX_COL),
                    });
                }
            }
            funcs.push((s.name_off, fs));
            lines.push((s.name_off, ls));
            if !rels.is_empty() {
                let data = rels.iter().flat_map(|(&off, &sym)| elf::rel(off as u64, sym, R_BPF_64_64)).collect();
                elf.add(Section {
                    name: format!(".rel{}", s.name),
                    sh_type: E::SHT_REL,
                    flags: E::SHF_INFO_LINK as u64,
                    data,
                    info: index as u32,
                    align: 8,
                    entsize: elf::REL_SIZE,
                });
            }
        }

        elf.add(Section::progbits(".BTF", 0, 4, btf.finish()));
        if !self.progs.is_empty() {
            elf.add(Section::progbits(".BTF.ext", 0, 4, btf::btf_ext(&funcs, &lines)));
        }
        Ok(elf.finish(&symbols))
    }

    /// Everything [`ObjectBuilder::write`] relies on.
    fn check(&self) -> Result<(), WriteError> {
        // Maps, programs and the license symbol share the ELF symbol namespace.
        let mut symbols: HashSet<&str> = HashSet::from([LICENSE_SYMBOL]);
        for m in &self.maps {
            check_identifier("map", &m.name)?;
            if !symbols.insert(&m.name) {
                return Err(WriteError::Duplicate { what: "map", name: m.name.clone() });
            }
        }
        if self.maps.len() > MAX_VLEN {
            return Err(WriteError::TooMany { what: "maps", count: self.maps.len(), max: MAX_VLEN });
        }
        for p in &self.progs {
            check_identifier("program", &p.name)?;
            if !symbols.insert(&p.name) {
                return Err(WriteError::Duplicate { what: "program", name: p.name.clone() });
            }
            check_section(&p.section)?;
            self.check_program(p)?;
        }
        let mut per_section: HashMap<&str, usize> = HashMap::new();
        for p in &self.progs {
            *per_section.entry(&p.section).or_default() += p.insns.len() * 8;
        }
        // Byte offsets in `.BTF.ext` are 32-bit.
        if let Some((_, &size)) = per_section.iter().find(|(_, &size)| size > u32::MAX as usize) {
            return Err(WriteError::TooMany {
                what: "bytes of code in a section",
                count: size,
                max: u32::MAX as usize,
            });
        }
        if let Some(bad) = [&self.license, &self.source_file].into_iter().find(|s| s.contains('\0')) {
            return Err(WriteError::BadName { what: "string", name: bad.clone(), reason: "contains a NUL byte" });
        }
        Ok(())
    }

    fn check_program(&self, p: &ProgDef) -> Result<(), WriteError> {
        let program = || p.name.clone();
        if p.insns.is_empty() {
            return Err(WriteError::EmptyProgram { program: program() });
        }
        let bad = |slot, reason: &str| WriteError::BadInsn { program: program(), slot, reason: reason.to_string() };
        for (slot, insn) in p.insns.iter().enumerate() {
            let next = p.insns.get(slot + 1);
            let prev = slot.checked_sub(1).map(|s| &p.insns[s]);
            match insn {
                Insn::LoadImm64 { .. } if next != Some(&Insn::LoadImm64Tail) => {
                    return Err(bad(slot, "lddw is not followed by its second slot (Insn::LoadImm64Tail)"));
                }
                Insn::LoadImm64Tail if !matches!(prev, Some(Insn::LoadImm64 { .. })) => {
                    return Err(bad(slot, "the second slot of an lddw (Insn::LoadImm64Tail) follows no lddw"));
                }
                _ => {}
            }
        }
        let mut relocated = HashSet::new();
        for (slot, map) in &p.map_relocs {
            let (slot, map) = (*slot, map.clone());
            let Some(insn) = p.insns.get(slot) else {
                return Err(WriteError::RelocOutOfRange { program: program(), slot, map, len: p.insns.len() });
            };
            if !matches!(insn, Insn::LoadImm64 { .. }) {
                let found = llvm::disasm_insn(insn);
                let found = if found.is_empty() { "the second slot of an lddw".into() } else { found };
                return Err(WriteError::NotLddw { program: program(), slot, map, found });
            }
            if !self.maps.iter().any(|m| m.name == map) {
                return Err(WriteError::UnknownMap { program: program(), slot, map });
            }
            if !relocated.insert(slot) {
                return Err(WriteError::DuplicateReloc { program: program(), slot });
            }
        }
        // An lddw of a map by fd or index means nothing in an object file.
        for (slot, insn) in p.insns.iter().enumerate() {
            if let Insn::LoadImm64 { imm, .. } = insn {
                let map_ref = matches!(
                    imm,
                    Imm64::MapFd(_) | Imm64::MapValue { .. } | Imm64::MapIdx(_) | Imm64::MapIdxValue { .. }
                );
                if map_ref && !relocated.contains(&slot) {
                    return Err(bad(slot, "lddw of a map without a map relocation (add it to map_relocs)"));
                }
            }
        }
        self.check_lines(p)
    }

    /// Line info as the kernel takes it: the first at slot 0, slots increasing,
    /// none on the second slot of an `lddw`.
    fn check_lines(&self, p: &ProgDef) -> Result<(), WriteError> {
        let mut prev: Option<usize> = None;
        for (index, l) in p.lines.iter().enumerate() {
            let bad =
                |reason| WriteError::BadLine { program: p.name.clone(), index, slot: l.slot, line: l.line, reason };
            if index == 0 && l.slot != 0 {
                return Err(bad("the first line info must be at slot 0"));
            }
            if prev.is_some_and(|s| l.slot <= s) {
                return Err(bad("slots must increase from one line info to the next"));
            }
            match p.insns.get(l.slot) {
                None => return Err(bad("the slot is outside the program")),
                Some(Insn::LoadImm64Tail) => return Err(bad("the slot is the second half of an lddw")),
                Some(_) => {}
            }
            if l.line > MAX_LINE {
                return Err(bad("the line number does not fit 22 bits"));
            }
            if l.text.contains('\0') {
                return Err(bad("the line's text contains a NUL byte"));
            }
            prev = Some(l.slot);
        }
        Ok(())
    }
}

/// An ELF or BTF string table: NUL-terminated strings, each once, `""` at 0.
struct StringTable {
    bytes: Vec<u8>,
    offsets: HashMap<String, u32>,
}

impl StringTable {
    fn new() -> StringTable {
        StringTable { bytes: vec![0], offsets: HashMap::from([(String::new(), 0)]) }
    }

    /// The offset of `s`, added on first use.
    fn add(&mut self, s: &str) -> u32 {
        if let Some(&off) = self.offsets.get(s) {
            return off;
        }
        let off = self.bytes.len() as u32;
        self.bytes.extend_from_slice(s.as_bytes());
        self.bytes.push(0);
        self.offsets.insert(s.to_string(), off);
        off
    }
}

/// A section of code being laid out.
#[derive(Default)]
struct CodeSection {
    name: String,
    /// The name in the BTF string table (`.BTF.ext` refers to sections by it).
    name_off: u32,
    bytes: Vec<u8>,
    /// `(index in ObjectBuilder::progs, byte offset)`.
    programs: Vec<(usize, usize)>,
}

/// The members of a map's BTF definition: `type` and `max_entries` always, the
/// others when not zero (as clang leaves out a `__uint` that is not written).
fn map_fields(m: &MapDef) -> Vec<MapField> {
    let all = [
        ("type", m.map_type, true),
        ("max_entries", m.max_entries, true),
        ("key_size", m.key_size, false),
        ("value_size", m.value_size, false),
        ("map_flags", m.map_flags, false),
    ];
    all.into_iter()
        .filter(|&(_, v, always)| always || v != 0)
        .map(|(name, value, _)| MapField { name, value })
        .collect()
}

/// BTF names `VAR`s and `FUNC`s with C identifiers only (the kernel checks).
fn check_identifier(what: &'static str, name: &str) -> Result<(), WriteError> {
    let bad = |reason| Err(WriteError::BadName { what, name: name.to_string(), reason });
    let mut chars = name.chars();
    match chars.next() {
        None => bad("the name is empty"),
        Some(c) if !(c.is_ascii_alphabetic() || c == '_') => {
            bad("not a C identifier (it must start with a letter or _)")
        }
        _ if !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') => {
            bad("not a C identifier (letters, digits and _ only)")
        }
        _ => Ok(()),
    }
}

fn check_section(name: &str) -> Result<(), WriteError> {
    let bad = |reason| Err(WriteError::BadName { what: "section", name: name.to_string(), reason });
    if name.is_empty() {
        bad("the name is empty")
    } else if name.contains('\0') {
        bad("contains a NUL byte")
    } else if RESERVED_SECTIONS.contains(&name) || name.starts_with('.') {
        bad("not a program section (libbpf gives this name another meaning)")
    } else {
        Ok(())
    }
}
