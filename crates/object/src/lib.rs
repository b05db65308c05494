//! bpfbox-object: BPF ELF objects (as `clang -target bpf` writes them), read
//! with the `object` crate.
//!
//! [`Object::parse`] collects every executable section (programs such as `xdp`
//! and the `.text` subprograms) with its bytes, the symbols defined in it and the
//! relocations that apply to it. [`objdump`] prints an object the way
//! `llvm-objdump-19 -d` does.
//!
//! [`load`] is the loader, with libbpf 1.x's conventions: programs typed from their
//! section names, maps (`.maps`, legacy `maps`, global data, `.kconfig`), map, data,
//! call and extern relocations, `.text` sub-programs appended per program, and
//! CO-RE relocations against a target BTF ([`btf`], [`btf_ext`], [`relo_core`]).
//!
//! Only little-endian ELF64 objects (`bpfel`) are supported. No input makes this
//! crate panic: malformed files give an [`ObjectError`].

pub mod btf;
pub mod btf_ext;
mod elf_file;
mod error;
mod loader;
mod objdump;
pub mod relo_core;
pub mod write;

pub use btf::{Btf, BtfError};
pub use error::ObjectError;
pub use loader::{
    internal_map_name, load, CoreOutcome, CoreReloReport, ExternKind, ExternRef, ExternSpec, FuncInfo, InitSlot,
    LineInfo, LoadError, LoadOptions, LoadedObject, MapSpec, ProgramSpec, UnusableProgram,
};
pub use objdump::objdump;

use bpfbox_isa::{decode_program, DecodeError, Insn};
use object::elf;
use object::read::elf::{FileHeader, Rel as _, Rela as _, SectionHeader as _, Sym as _};
use object::read::{SectionIndex, SymbolIndex};
use object::LittleEndian as LE;

/// A parsed BPF object file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    /// Executable (`SHF_EXECINSTR`) sections with data, in file order.
    pub sections: Vec<CodeSection>,
}

/// One executable section: a program section (`xdp`, `tc`, `kprobe/...`) or `.text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeSection {
    /// ELF section index.
    pub index: usize,
    pub name: String,
    /// The instructions, a multiple of 8 bytes.
    pub bytes: Vec<u8>,
    /// Symbols defined in this section (no section or file symbols), sorted by
    /// offset, then name.
    pub symbols: Vec<Symbol>,
    /// Relocations applying to this section, in table order.
    pub relocations: Vec<Relocation>,
}

/// A symbol defined in a code section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbol {
    pub name: String,
    /// Byte offset in the section.
    pub offset: u64,
    /// Size in bytes (`st_size`; 0 for labels).
    pub size: u64,
    pub kind: SymbolKind,
    pub binding: Binding,
}

/// ELF symbol type (`STT_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SymbolKind {
    NoType,
    Object,
    Func,
    Other(u8),
}

impl SymbolKind {
    fn from_elf(t: u8) -> SymbolKind {
        match t {
            elf::STT_NOTYPE => SymbolKind::NoType,
            elf::STT_OBJECT => SymbolKind::Object,
            elf::STT_FUNC => SymbolKind::Func,
            other => SymbolKind::Other(other),
        }
    }

    /// Whether disassemblers treat the symbol as code (`STT_FUNC`, `STT_NOTYPE`).
    pub fn is_code(self) -> bool {
        matches!(self, SymbolKind::Func | SymbolKind::NoType)
    }
}

/// ELF symbol binding (`STB_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    Local,
    Global,
    Weak,
    Other(u8),
}

impl Binding {
    fn from_elf(b: u8) -> Binding {
        match b {
            elf::STB_LOCAL => Binding::Local,
            elf::STB_GLOBAL => Binding::Global,
            elf::STB_WEAK => Binding::Weak,
            other => Binding::Other(other),
        }
    }
}

/// A relocation entry applying to a code section, kept raw for the loader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relocation {
    /// Byte offset of the relocated instruction in the section.
    pub offset: u64,
    /// `R_BPF_*` type (1 = `R_BPF_64_64` for `lddw`, 10 = `R_BPF_64_32` for calls...).
    pub r_type: u32,
    /// Symbol table index (0 = no symbol).
    pub symbol_index: usize,
    /// Name of the symbol (empty for none).
    pub symbol_name: String,
    /// `st_value` of the symbol (its offset in its section when defined).
    pub symbol_value: u64,
    /// `STT_*` type of the symbol (`STT_SECTION` for relocations against a section).
    pub symbol_kind: u8,
    /// Where the symbol lives.
    pub target: RelocTarget,
    /// Explicit addend of `SHT_RELA` entries; `None` for `SHT_REL` (BPF's usual).
    pub addend: Option<i64>,
}

/// The section a relocation's symbol is defined in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelocTarget {
    /// Defined in section `index` (`.maps`, `.rodata`, `.text`, ...).
    Section { index: usize, name: String },
    /// Undefined: an `extern` (kfunc, kconfig) to be resolved by the loader.
    Undefined,
    /// `SHN_ABS` or another reserved section index.
    Absolute,
}

impl CodeSection {
    /// The `STT_FUNC` symbols of this section.
    pub fn functions(&self) -> impl Iterator<Item = &Symbol> {
        self.symbols.iter().filter(|s| s.kind == SymbolKind::Func)
    }

    /// The whole section decoded (slot-indexed, see [`bpfbox_isa::decode_program`]).
    pub fn insns(&self) -> Result<Vec<Insn>, DecodeError> {
        decode_program(&self.bytes)
    }

    /// The bytes of `sym` (clamped to the section).
    pub fn symbol_bytes(&self, sym: &Symbol) -> &[u8] {
        let len = self.bytes.len() as u64;
        let start = sym.offset.min(len) as usize;
        let end = sym.offset.saturating_add(sym.size).min(len) as usize;
        &self.bytes[start..end.max(start)]
    }
}

impl Object {
    /// The code section named `name`.
    pub fn section(&self, name: &str) -> Option<&CodeSection> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// The function symbol `name` and its section.
    pub fn function(&self, name: &str) -> Option<(&CodeSection, &Symbol)> {
        self.sections.iter().find_map(|sec| sec.functions().find(|f| f.name == name).map(|f| (sec, f)))
    }

    /// All function symbols as `(section, symbol)`, in file order.
    pub fn functions(&self) -> impl Iterator<Item = (&CodeSection, &Symbol)> {
        self.sections.iter().flat_map(|sec| sec.functions().map(move |f| (sec, f)))
    }

    /// Parse a BPF ELF object.
    pub fn parse(data: &[u8]) -> Result<Object, ObjectError> {
        let len = data.len() as u64;
        if data.len() < 4 || data[..4] != elf::ELFMAG {
            return Err(ObjectError::NotElf { magic: data[..data.len().min(4)].to_vec() });
        }
        if data.len() < EI_NIDENT {
            return Err(ObjectError::Truncated { what: "ELF identification", needed: EI_NIDENT as u64, len });
        }
        if data[4] != elf::ELFCLASS64 {
            return Err(ObjectError::Unsupported { what: "not ELF64 (BPF objects are 64-bit)" });
        }
        if data[5] != elf::ELFDATA2LSB {
            return Err(ObjectError::Unsupported { what: "not little-endian (only bpfel objects are supported)" });
        }
        let hdr_size = std::mem::size_of::<elf::FileHeader64<LE>>();
        if data.len() < hdr_size {
            return Err(ObjectError::Truncated { what: "ELF header", needed: hdr_size as u64, len });
        }
        // The `object` crate reads headers in place and needs them aligned.
        let mut storage = Vec::new();
        let data = aligned(data, &mut storage);

        let header = elf::FileHeader64::<LE>::parse(data).map_err(|e| ObjectError::malformed("header", e))?;
        let e = LE;
        let machine = header.e_machine(e);
        if machine != elf::EM_BPF {
            return Err(ObjectError::NotBpf { machine });
        }
        let shoff = header.e_shoff(e);
        let shnum = header.e_shnum(e) as u64;
        let shentsize = header.e_shentsize(e) as u64;
        if shoff != 0 && shnum != 0 {
            let needed = shnum.checked_mul(shentsize).and_then(|n| n.checked_add(shoff)).unwrap_or(u64::MAX);
            if needed > len {
                return Err(ObjectError::Truncated { what: "section header table", needed, len });
            }
        }
        let sections = header.sections(e, data).map_err(|err| ObjectError::malformed("section headers", err))?;
        let section_name = |index: usize, sh: &elf::SectionHeader64<LE>| -> Result<String, ObjectError> {
            sections
                .section_name(e, sh)
                .map(|n| String::from_utf8_lossy(n).into_owned())
                .map_err(|err| ObjectError::malformed(format!("name of section {index}"), err))
        };
        let bounds = |index: usize, name: &str, sh: &elf::SectionHeader64<LE>| -> Result<(), ObjectError> {
            let (offset, size) = (sh.sh_offset(e), sh.sh_size(e));
            if sh.sh_type(e) != elf::SHT_NOBITS && offset.checked_add(size).is_none_or(|end| end > len) {
                return Err(ObjectError::SectionOutOfBounds {
                    index,
                    name: name.to_string(),
                    offset,
                    size,
                    file_len: len,
                });
            }
            Ok(())
        };

        let mut code: Vec<CodeSection> = Vec::new();
        for (idx, sh) in sections.enumerate() {
            let index = idx.0;
            if sh.sh_flags(e) & u64::from(elf::SHF_EXECINSTR) == 0
                || sh.sh_type(e) == elf::SHT_NOBITS
                || sh.sh_type(e) == elf::SHT_NULL
            {
                continue;
            }
            let name = section_name(index, sh)?;
            bounds(index, &name, sh)?;
            let size = sh.sh_size(e);
            if size == 0 {
                continue;
            }
            if size % 8 != 0 {
                return Err(ObjectError::BadSectionSize { index, name, size });
            }
            let bytes =
                sh.data(e, data).map_err(|err| ObjectError::malformed(format!("section {index} `{name}`"), err))?;
            code.push(CodeSection { index, name, bytes: bytes.to_vec(), symbols: Vec::new(), relocations: Vec::new() });
        }
        let code_index: Vec<usize> = code.iter().map(|c| c.index).collect();
        let code_pos = |index: usize| code_index.iter().position(|&c| c == index);

        // Symbols.
        for (idx, sh) in sections.enumerate() {
            if sh.sh_type(e) == elf::SHT_SYMTAB {
                bounds(idx.0, &section_name(idx.0, sh)?, sh)?;
            }
        }
        let symtab =
            sections.symbols(e, data, elf::SHT_SYMTAB).map_err(|err| ObjectError::malformed("symbol table", err))?;
        let mut defined: Vec<(usize, Symbol)> = Vec::new();
        for (si, sym) in symtab.enumerate() {
            if si.0 == 0 || matches!(sym.st_type(), elf::STT_SECTION | elf::STT_FILE) {
                continue;
            }
            let Ok(Some(sec)) = symtab.symbol_section(e, sym, si) else { continue };
            let Some(pos) = code_pos(sec.0) else { continue };
            let name = symtab
                .symbol_name(e, sym)
                .map_err(|err| ObjectError::malformed(format!("name of symbol {}", si.0), err))?;
            defined.push((
                pos,
                Symbol {
                    name: String::from_utf8_lossy(name).into_owned(),
                    offset: sym.st_value(e),
                    size: sym.st_size(e),
                    kind: SymbolKind::from_elf(sym.st_type()),
                    binding: Binding::from_elf(sym.st_bind()),
                },
            ));
        }
        for (pos, sym) in defined {
            code[pos].symbols.push(sym);
        }
        for c in &mut code {
            c.symbols.sort_by(|a, b| (a.offset, a.name.as_bytes()).cmp(&(b.offset, b.name.as_bytes())));
        }

        // Relocations.
        let mut relocs: Vec<(usize, Relocation)> = Vec::new();
        for (idx, sh) in sections.enumerate() {
            let ty = sh.sh_type(e);
            if ty != elf::SHT_REL && ty != elf::SHT_RELA {
                continue;
            }
            let Some(pos) = code_pos(sh.sh_info(e) as usize) else { continue };
            let rel_name = section_name(idx.0, sh)?;
            bounds(idx.0, &rel_name, sh)?;
            let what = || format!("relocation section {} `{rel_name}`", idx.0);
            let mut entries: Vec<(u64, u32, u32, Option<i64>)> = Vec::new();
            if let Some((rels, _)) = sh.rel(e, data).map_err(|err| ObjectError::malformed(what(), err))? {
                entries.extend(rels.iter().map(|r| (r.r_offset(e), r.r_type(e), r.r_sym(e), None)));
            }
            if let Some((relas, _)) = sh.rela(e, data).map_err(|err| ObjectError::malformed(what(), err))? {
                entries.extend(
                    relas.iter().map(|r| (r.r_offset(e), r.r_type(e, false), r.r_sym(e, false), Some(r.r_addend(e)))),
                );
            }
            let section = &code[pos];
            for (entry, (offset, r_type, sym_idx, addend)) in entries.into_iter().enumerate() {
                let size = section.bytes.len() as u64;
                if offset.checked_add(8).is_none_or(|end| end > size) {
                    return Err(ObjectError::RelocationOutOfBounds {
                        rel_section: rel_name.clone(),
                        entry,
                        section: section.name.clone(),
                        offset,
                        size,
                    });
                }
                let mut r = Relocation {
                    offset,
                    r_type,
                    symbol_index: sym_idx as usize,
                    symbol_name: String::new(),
                    symbol_value: 0,
                    symbol_kind: elf::STT_NOTYPE,
                    target: RelocTarget::Absolute,
                    addend,
                };
                if sym_idx != 0 {
                    let si = SymbolIndex(sym_idx as usize);
                    let sym = symtab.symbol(si).map_err(|_| ObjectError::BadRelocationSymbol {
                        rel_section: rel_name.clone(),
                        entry,
                        symbol: sym_idx,
                        count: symtab.len(),
                    })?;
                    r.symbol_name = symtab
                        .symbol_name(e, sym)
                        .map(|n| String::from_utf8_lossy(n).into_owned())
                        .map_err(|err| ObjectError::malformed(format!("name of symbol {sym_idx}"), err))?;
                    r.symbol_value = sym.st_value(e);
                    r.symbol_kind = sym.st_type();
                    r.target = match symtab.symbol_section(e, sym, si) {
                        Ok(Some(SectionIndex(t))) => {
                            let name = match sections.section(SectionIndex(t)) {
                                Ok(tsh) => section_name(t, tsh)?,
                                Err(err) => {
                                    return Err(ObjectError::malformed(format!("section of symbol {sym_idx}"), err))
                                }
                            };
                            // Relocations against a section symbol are named after the section.
                            if r.symbol_name.is_empty() && r.symbol_kind == elf::STT_SECTION {
                                r.symbol_name = name.clone();
                            }
                            RelocTarget::Section { index: t, name }
                        }
                        Ok(None) if sym.st_shndx(e) == elf::SHN_UNDEF => RelocTarget::Undefined,
                        Ok(None) => RelocTarget::Absolute,
                        Err(err) => return Err(ObjectError::malformed(format!("section of symbol {sym_idx}"), err)),
                    };
                }
                relocs.push((pos, r));
            }
        }
        for (pos, r) in relocs {
            code[pos].relocations.push(r);
        }
        Ok(Object { sections: code })
    }
}

/// Size of `e_ident`; byte 4 is the class, byte 5 the data encoding.
pub(crate) const EI_NIDENT: usize = 16;

/// `data` itself if 8-byte aligned, else a copy at an aligned address in `storage`.
pub(crate) fn aligned<'a>(data: &'a [u8], storage: &'a mut Vec<u8>) -> &'a [u8] {
    if (data.as_ptr() as usize).is_multiple_of(8) {
        return data;
    }
    *storage = vec![0u8; data.len() + 8];
    let skew = storage.as_ptr() as usize % 8;
    let start = if skew == 0 { 0 } else { 8 - skew };
    storage[start..start + data.len()].copy_from_slice(data);
    &storage[start..start + data.len()]
}

/// The running kernel's version as `LINUX_KERNEL_VERSION` encodes it
/// (`KERNEL_VERSION(a, b, c)`, the patch level capped at 255 as libbpf does), from
/// `/proc/sys/kernel/osrelease`; `None` where that cannot be read (not Linux).
pub fn running_kernel_version() -> Option<u32> {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").ok()?;
    parse_kernel_release(&release)
}

/// `KERNEL_VERSION(a, b, c)` of a release string such as `6.18.0-1-amd64`.
pub fn parse_kernel_release(release: &str) -> Option<u32> {
    let mut nums = release.trim().split(|c: char| !c.is_ascii_digit()).filter(|s| !s.is_empty());
    let a: u32 = nums.next()?.parse().ok()?;
    let b: u32 = nums.next()?.parse().ok()?;
    let c: u32 = nums.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    Some((a.min(255) << 16) | (b.min(255) << 8) | c.min(255))
}

#[cfg(test)]
mod release_tests {
    #[test]
    fn kernel_release_strings() {
        assert_eq!(super::parse_kernel_release("6.18.0-1-amd64\n"), Some(0x061200));
        assert_eq!(super::parse_kernel_release("5.4.300"), Some(0x0504ff));
        assert_eq!(super::parse_kernel_release("6.1"), Some(0x060100));
        assert_eq!(super::parse_kernel_release("linux"), None);
    }
}
