//! A minimal ELF64 little-endian relocatable writer: sections, one symbol table and
//! one string table (shared by section and symbol names, as clang does).
//!
//! Layout: the ELF header, each section's data at its alignment, then the section
//! header table. `.strtab` is section 1, `.symtab` the last section; `SHT_REL`
//! sections are linked to `.symtab` when the file is finished.

use super::StringTable;
use object::elf as E;

const EHDR_SIZE: usize = 64;
const SHDR_SIZE: usize = 64;
const SYM_SIZE: u64 = 24;
/// `Elf64_Rel`.
pub(super) const REL_SIZE: u64 = 16;

/// A section to write.
pub(super) struct Section {
    pub name: String,
    pub sh_type: u32,
    pub flags: u64,
    pub data: Vec<u8>,
    /// `sh_info` (the target section of `SHT_REL`).
    pub info: u32,
    pub align: u64,
    pub entsize: u64,
}

impl Section {
    pub fn progbits(name: &str, flags: u32, align: u64, data: Vec<u8>) -> Section {
        Section {
            name: name.to_string(),
            sh_type: E::SHT_PROGBITS,
            flags: flags as u64,
            data,
            info: 0,
            align,
            entsize: 0,
        }
    }
}

/// A symbol; `section` is an ELF section index.
pub(super) struct Symbol {
    pub name: String,
    pub bind: u8,
    pub kind: u8,
    pub section: u16,
    pub value: u64,
    pub size: u64,
}

/// Sections added in order; index 0 is the null section, 1 is `.strtab`.
pub(super) struct ElfWriter {
    sections: Vec<Section>,
    names: StringTable,
}

impl ElfWriter {
    pub fn new() -> ElfWriter {
        let mut w = ElfWriter { sections: Vec::new(), names: StringTable::new() };
        w.add(Section {
            name: ".strtab".into(),
            sh_type: E::SHT_STRTAB,
            flags: 0,
            data: Vec::new(),
            info: 0,
            align: 1,
            entsize: 0,
        });
        w
    }

    /// Append a section; returns its ELF index.
    pub fn add(&mut self, s: Section) -> u16 {
        self.sections.push(s);
        self.sections.len() as u16
    }

    /// Add `.symtab` with `symbols` (locals first: the caller orders them) and lay
    /// the file out. Symbol `i` of `symbols` gets index `i + 1`.
    pub fn finish(mut self, symbols: &[Symbol]) -> Vec<u8> {
        let mut symtab = vec![0u8; SYM_SIZE as usize];
        let mut first_global = symbols.len() + 1;
        for (i, s) in symbols.iter().enumerate() {
            if s.bind != E::STB_LOCAL && first_global > i + 1 {
                first_global = i + 1;
            }
            let name = self.names.add(&s.name);
            symtab.extend_from_slice(&name.to_le_bytes());
            symtab.push((s.bind << 4) | s.kind);
            symtab.push(E::STV_DEFAULT);
            symtab.extend_from_slice(&s.section.to_le_bytes());
            symtab.extend_from_slice(&s.value.to_le_bytes());
            symtab.extend_from_slice(&s.size.to_le_bytes());
        }
        let symtab_index = self.add(Section {
            name: ".symtab".into(),
            sh_type: E::SHT_SYMTAB,
            flags: 0,
            data: symtab,
            info: first_global as u32,
            align: 8,
            entsize: SYM_SIZE,
        });
        let name_offs: Vec<u32> = self.sections.iter().map(|s| self.names.add(&s.name)).collect();
        self.sections[0].data = std::mem::take(&mut self.names.bytes);

        let mut out = vec![0u8; EHDR_SIZE];
        let mut offsets = Vec::with_capacity(self.sections.len());
        for s in &self.sections {
            pad_to(&mut out, s.align.max(1) as usize);
            offsets.push(out.len() as u64);
            out.extend_from_slice(&s.data);
        }
        pad_to(&mut out, 8);
        let shoff = out.len() as u64;
        out.extend_from_slice(&[0u8; SHDR_SIZE]);
        for ((s, &offset), &name) in self.sections.iter().zip(&offsets).zip(&name_offs) {
            let link = match s.sh_type {
                E::SHT_SYMTAB => 1,
                E::SHT_REL => symtab_index as u32,
                _ => 0,
            };
            out.extend_from_slice(&name.to_le_bytes());
            out.extend_from_slice(&s.sh_type.to_le_bytes());
            for w in [s.flags, 0, offset, s.data.len() as u64] {
                out.extend_from_slice(&w.to_le_bytes());
            }
            out.extend_from_slice(&link.to_le_bytes());
            out.extend_from_slice(&s.info.to_le_bytes());
            out.extend_from_slice(&s.align.to_le_bytes());
            out.extend_from_slice(&s.entsize.to_le_bytes());
        }
        let shnum = self.sections.len() as u16 + 1;
        write_header(&mut out[..EHDR_SIZE], shoff, shnum);
        out
    }
}

fn pad_to(out: &mut Vec<u8>, align: usize) {
    out.resize(out.len().next_multiple_of(align), 0);
}

/// `Elf64_Ehdr` of a relocatable BPF object; `.strtab` (index 1) names sections.
fn write_header(h: &mut [u8], shoff: u64, shnum: u16) {
    h[..4].copy_from_slice(&E::ELFMAG);
    h[4] = E::ELFCLASS64;
    h[5] = E::ELFDATA2LSB;
    h[6] = E::EV_CURRENT;
    h[7] = E::ELFOSABI_NONE;
    let mut put = |off: usize, bytes: &[u8]| h[off..off + bytes.len()].copy_from_slice(bytes);
    put(16, &E::ET_REL.to_le_bytes());
    put(18, &E::EM_BPF.to_le_bytes());
    put(20, &(E::EV_CURRENT as u32).to_le_bytes());
    // e_entry, e_phoff stay 0.
    put(40, &shoff.to_le_bytes());
    // e_flags 0.
    put(52, &(EHDR_SIZE as u16).to_le_bytes());
    // e_phentsize, e_phnum 0.
    put(58, &(SHDR_SIZE as u16).to_le_bytes());
    put(60, &shnum.to_le_bytes());
    put(62, &1u16.to_le_bytes());
}

/// One `Elf64_Rel` of type `r_type` against symbol `sym` at byte `offset`.
pub(super) fn rel(offset: u64, sym: u32, r_type: u32) -> [u8; REL_SIZE as usize] {
    let mut r = [0u8; REL_SIZE as usize];
    r[..8].copy_from_slice(&offset.to_le_bytes());
    r[8..].copy_from_slice(&((u64::from(sym) << 32) | u64::from(r_type)).to_le_bytes());
    r
}
