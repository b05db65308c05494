//! The whole of an ELF64 little-endian file, read with the `object` crate: every
//! section (with its bytes), every symbol and every relocation section. The loader
//! and the BTF reader work on this; `Object::parse` keeps its own narrower view.

use crate::error::ObjectError;
use object::elf;
use object::read::elf::{FileHeader, Rel as _, Rela as _, SectionHeader as _, Sym as _};
use object::read::SectionIndex;
use object::LittleEndian as LE;

#[derive(Debug, Clone)]
pub(crate) struct Section<'d> {
    pub index: usize,
    pub name: String,
    pub sh_type: u32,
    pub flags: u64,
    /// `sh_size` (also for `SHT_NOBITS`, whose `data` is empty).
    pub size: u64,
    pub data: &'d [u8],
}

impl Section<'_> {
    pub fn is_code(&self) -> bool {
        self.sh_type == elf::SHT_PROGBITS && self.flags & u64::from(elf::SHF_EXECINSTR) != 0
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Symbol {
    pub index: usize,
    pub name: String,
    pub value: u64,
    pub size: u64,
    /// `STT_*`.
    pub kind: u8,
    /// `STB_*`.
    pub bind: u8,
    /// `STV_*`.
    pub visibility: u8,
    /// `st_shndx` as stored (`SHN_UNDEF`, `SHN_ABS`, ...).
    pub shndx: u16,
    /// The section the symbol is defined in, if any.
    pub section: Option<usize>,
}

impl Symbol {
    /// libbpf's `sym_is_extern`: undefined, global or weak, a variable or function.
    pub fn is_extern(&self) -> bool {
        self.shndx == elf::SHN_UNDEF
            && matches!(self.bind, elf::STB_GLOBAL | elf::STB_WEAK)
            && matches!(self.kind, elf::STT_NOTYPE | elf::STT_OBJECT | elf::STT_FUNC)
            && !self.name.is_empty()
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Rel {
    pub offset: u64,
    pub r_type: u32,
    pub sym: u32,
}

#[derive(Debug, Clone)]
pub(crate) struct RelSection {
    pub name: String,
    /// The section the relocations apply to (`sh_info`).
    pub target: usize,
    pub entries: Vec<Rel>,
}

#[derive(Debug, Clone)]
pub(crate) struct Elf<'d> {
    pub machine: u16,
    /// Index = ELF section index; `sections[0]` is the null section.
    pub sections: Vec<Section<'d>>,
    /// Index = symbol index; `symbols[0]` is the null symbol (empty when there is
    /// no symbol table).
    pub symbols: Vec<Symbol>,
    pub rels: Vec<RelSection>,
}

impl<'d> Elf<'d> {
    /// Parse an ELF64 little-endian file. `data` must be 8-byte aligned (see
    /// `crate::aligned`).
    pub fn parse(data: &'d [u8]) -> Result<Elf<'d>, ObjectError> {
        let len = data.len() as u64;
        if data.len() < 4 || data[..4] != elf::ELFMAG {
            return Err(ObjectError::NotElf { magic: data[..data.len().min(4)].to_vec() });
        }
        if data.len() < crate::EI_NIDENT {
            return Err(ObjectError::Truncated { what: "ELF identification", needed: crate::EI_NIDENT as u64, len });
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
        let e = LE;
        let header = elf::FileHeader64::<LE>::parse(data).map_err(|err| ObjectError::malformed("header", err))?;
        let machine = header.e_machine(e);
        let shoff = header.e_shoff(e);
        let shnum = header.e_shnum(e) as u64;
        let shentsize = header.e_shentsize(e) as u64;
        if shoff != 0 && shnum != 0 {
            let needed = shnum.checked_mul(shentsize).and_then(|n| n.checked_add(shoff)).unwrap_or(u64::MAX);
            if needed > len {
                return Err(ObjectError::Truncated { what: "section header table", needed, len });
            }
        }
        let table = header.sections(e, data).map_err(|err| ObjectError::malformed("section headers", err))?;
        let mut sections = Vec::with_capacity(table.len());
        for (idx, sh) in table.enumerate() {
            let index = idx.0;
            let name = table
                .section_name(e, sh)
                .map(|n| String::from_utf8_lossy(n).into_owned())
                .map_err(|err| ObjectError::malformed(format!("name of section {index}"), err))?;
            let (sh_type, offset, size) = (sh.sh_type(e), sh.sh_offset(e), sh.sh_size(e));
            let data = if sh_type == elf::SHT_NOBITS || sh_type == elf::SHT_NULL {
                &[][..]
            } else {
                if offset.checked_add(size).is_none_or(|end| end > len) {
                    return Err(ObjectError::SectionOutOfBounds { index, name, offset, size, file_len: len });
                }
                &data[offset as usize..(offset + size) as usize]
            };
            sections.push(Section { index, name, sh_type, flags: sh.sh_flags(e), size, data });
        }

        let mut symbols = Vec::new();
        let symtab =
            table.symbols(e, data, elf::SHT_SYMTAB).map_err(|err| ObjectError::malformed("symbol table", err))?;
        for (si, sym) in symtab.enumerate() {
            let name = symtab
                .symbol_name(e, sym)
                .map(|n| String::from_utf8_lossy(n).into_owned())
                .map_err(|err| ObjectError::malformed(format!("name of symbol {}", si.0), err))?;
            let section = match symtab.symbol_section(e, sym, si) {
                Ok(Some(SectionIndex(s))) if s < sections.len() => Some(s),
                _ => None,
            };
            symbols.push(Symbol {
                index: si.0,
                name,
                value: sym.st_value(e),
                size: sym.st_size(e),
                kind: sym.st_type(),
                bind: sym.st_bind(),
                visibility: sym.st_visibility(),
                shndx: sym.st_shndx(e),
                section,
            });
        }

        let mut rels = Vec::new();
        for (idx, sh) in table.enumerate() {
            let ty = sh.sh_type(e);
            if ty != elf::SHT_REL && ty != elf::SHT_RELA {
                continue;
            }
            let name = sections.get(idx.0).map(|s| s.name.clone()).unwrap_or_default();
            let what = || format!("relocation section {} `{name}`", idx.0);
            let mut entries = Vec::new();
            if let Some((r, _)) = sh.rel(e, data).map_err(|err| ObjectError::malformed(what(), err))? {
                entries.extend(r.iter().map(|r| Rel { offset: r.r_offset(e), r_type: r.r_type(e), sym: r.r_sym(e) }));
            }
            if let Some((r, _)) = sh.rela(e, data).map_err(|err| ObjectError::malformed(what(), err))? {
                entries.extend(r.iter().map(|r| Rel {
                    offset: r.r_offset(e),
                    r_type: r.r_type(e, false),
                    sym: r.r_sym(e, false),
                }));
            }
            rels.push(RelSection { name, target: sh.sh_info(e) as usize, entries });
        }
        Ok(Elf { machine, sections, symbols, rels })
    }

    pub fn section_by_name(&self, name: &str) -> Option<&Section<'d>> {
        self.sections.iter().find(|s| s.name == name && s.sh_type != elf::SHT_NULL)
    }
}
