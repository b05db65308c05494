//! The `.BTF` and `.BTF.ext` sections of a written object.
//!
//! [`BtfWriter`] appends types (`struct btf_type` + its kind's trailing data) and
//! interns strings; [`BtfWriter::map_defs`] describes BTF-defined maps the way
//! clang does for `__uint(type, ...)` definitions, [`BtfWriter::program_func`] a
//! program's `FUNC`. [`btf_ext`] lays out function and line info records.

use super::StringTable;
use crate::btf::{Kind, BTF_MAGIC, INT_SIGNED, VAR_GLOBAL_ALLOCATED};
use std::collections::HashMap;

/// `struct btf_header` is 24 bytes (magic, version, flags, hdr_len, 4 offsets/lengths).
const BTF_HDR_LEN: u32 = 24;
/// `struct btf_ext_header` with the core_relo fields: 32 bytes, as clang writes it.
const BTF_EXT_HDR_LEN: u32 = 32;
/// `BTF_FUNC_GLOBAL`.
const FUNC_GLOBAL: u16 = 1;
/// Largest `vlen` (16 bits of `info`).
pub(super) const MAX_VLEN: usize = 0xffff;

/// One `.maps` field: `int (*name)[value]`.
pub(super) struct MapField {
    pub name: &'static str,
    pub value: u32,
}

/// Where a map's definition sits in `.maps`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct MapSlot {
    pub offset: u32,
    pub size: u32,
}

/// Raw BTF under construction: type records and a deduplicated string table.
pub(super) struct BtfWriter {
    types: Vec<u8>,
    strings: StringTable,
    /// Id the next type gets (0 is `void`).
    next_id: u32,
    /// `int`, created on first use.
    int_id: Option<u32>,
    /// `int[N]` by `N`, then `int (*)[N]`.
    array_ptrs: HashMap<u32, u32>,
    /// `int (void *ctx)`, created on first use.
    prog_proto: Option<u32>,
}

impl BtfWriter {
    pub fn new() -> BtfWriter {
        BtfWriter {
            types: Vec::new(),
            strings: StringTable::new(),
            next_id: 1,
            int_id: None,
            array_ptrs: HashMap::new(),
            prog_proto: None,
        }
    }

    /// The string table offset of `s` (added once).
    pub fn str(&mut self, s: &str) -> u32 {
        self.strings.add(s)
    }

    /// Append `struct btf_type` and its trailing words; returns the new type's id.
    fn push(&mut self, name_off: u32, kind: Kind, vlen: u16, size_or_type: u32, extra: &[u32]) -> u32 {
        let info = ((kind as u32) << 24) | vlen as u32;
        for w in [name_off, info, size_or_type].iter().chain(extra) {
            self.types.extend_from_slice(&w.to_le_bytes());
        }
        self.next_id += 1;
        self.next_id - 1
    }

    /// `int`: 4 bytes, signed, 32 bits.
    fn int(&mut self) -> u32 {
        if let Some(id) = self.int_id {
            return id;
        }
        let name = self.str("int");
        let id = self.push(name, Kind::Int, 0, 4, &[(INT_SIGNED as u32) << 24 | 32]);
        self.int_id = Some(id);
        id
    }

    /// `int (*)[n]`, the type `__uint(field, n)` gives a map field.
    fn int_array_ptr(&mut self, n: u32) -> u32 {
        if let Some(&id) = self.array_ptrs.get(&n) {
            return id;
        }
        let int = self.int();
        let array = self.push(0, Kind::Array, 0, 0, &[int, int, n]);
        let ptr = self.push(0, Kind::Ptr, 0, array, &[]);
        self.array_ptrs.insert(n, ptr);
        ptr
    }

    /// BTF-defined maps: per map an anonymous `STRUCT` of `fields` and a global
    /// `VAR` named after the map, all in a `DATASEC .maps`. Returns each
    /// definition's place in the section and the section's size. The caller
    /// keeps `maps.len()` within [`MAX_VLEN`].
    pub fn map_defs(&mut self, maps: &[(&str, Vec<MapField>)]) -> (Vec<MapSlot>, u32) {
        let mut secinfo = Vec::with_capacity(maps.len() * 3);
        let mut slots = Vec::with_capacity(maps.len());
        let mut offset = 0u32;
        for (name, fields) in maps {
            let mut members = Vec::with_capacity(fields.len() * 3);
            for (i, f) in fields.iter().enumerate() {
                let ptr = self.int_array_ptr(f.value);
                members.extend_from_slice(&[self.str(f.name), ptr, i as u32 * 64]);
            }
            let size = fields.len() as u32 * 8;
            let def = self.push(0, Kind::Struct, fields.len() as u16, size, &members);
            let name_off = self.str(name);
            let var = self.push(name_off, Kind::Var, 0, def, &[VAR_GLOBAL_ALLOCATED]);
            secinfo.extend_from_slice(&[var, offset, size]);
            slots.push(MapSlot { offset, size });
            offset += size;
        }
        let sec = self.str(".maps");
        self.push(sec, Kind::Datasec, maps.len() as u16, offset, &secinfo);
        (slots, offset)
    }

    /// A program's `FUNC` (global) of type `int (void *ctx)`; returns its id.
    pub fn program_func(&mut self, name: &str) -> u32 {
        let proto = match self.prog_proto {
            Some(p) => p,
            None => {
                let int = self.int();
                let void_ptr = self.push(0, Kind::Ptr, 0, 0, &[]);
                let ctx = self.str("ctx");
                let p = self.push(0, Kind::FuncProto, 1, int, &[ctx, void_ptr]);
                self.prog_proto = Some(p);
                p
            }
        };
        let name_off = self.str(name);
        self.push(name_off, Kind::Func, FUNC_GLOBAL, proto, &[])
    }

    /// The raw BTF: header, types, strings.
    pub fn finish(self) -> Vec<u8> {
        let type_len = self.types.len() as u32;
        let strings = self.strings.bytes;
        let str_len = strings.len() as u32;
        let mut out = Vec::with_capacity(BTF_HDR_LEN as usize + self.types.len() + strings.len());
        out.extend_from_slice(&BTF_MAGIC.to_le_bytes());
        out.extend_from_slice(&[1, 0]); // version, flags
        for w in [BTF_HDR_LEN, 0, type_len, type_len, str_len] {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out.extend_from_slice(&self.types);
        out.extend_from_slice(&strings);
        out
    }
}

/// `bpf_func_info`: the `FUNC` starting at byte `insn_off` of its section.
#[derive(Debug, Clone, Copy)]
pub(super) struct FuncRec {
    pub insn_off: u32,
    pub type_id: u32,
}

/// `bpf_line_info`; strings are `.BTF` string offsets.
#[derive(Debug, Clone, Copy)]
pub(super) struct LineRec {
    pub insn_off: u32,
    pub file_name_off: u32,
    pub line_off: u32,
    /// `line << 10 | col`.
    pub line_col: u32,
}

/// Records of one ELF section: `(section name's string offset, records)`.
pub(super) type PerSection<T> = Vec<(u32, Vec<T>)>;

/// `.BTF.ext`: header, func_info, line_info and an empty core_relo subsection.
pub(super) fn btf_ext(funcs: &PerSection<FuncRec>, lines: &PerSection<LineRec>) -> Vec<u8> {
    let func = subsection(8, funcs, |r| vec![r.insn_off, r.type_id]);
    let line = subsection(16, lines, |r| vec![r.insn_off, r.file_name_off, r.line_off, r.line_col]);
    let (func_len, line_len) = (func.len() as u32, line.len() as u32);
    let mut out = Vec::with_capacity(BTF_EXT_HDR_LEN as usize + func.len() + line.len());
    out.extend_from_slice(&BTF_MAGIC.to_le_bytes());
    out.extend_from_slice(&[1, 0]);
    // func_info, line_info, core_relo: offsets from the end of the header.
    for w in [BTF_EXT_HDR_LEN, 0, func_len, func_len, line_len, func_len + line_len, 0] {
        out.extend_from_slice(&w.to_le_bytes());
    }
    out.extend_from_slice(&func);
    out.extend_from_slice(&line);
    out
}

/// `rec_size`, then per section `{sec_name_off, num_info, records}`; empty when
/// there is no record at all.
fn subsection<T>(rec_size: u32, sections: &PerSection<T>, words: impl Fn(&T) -> Vec<u32>) -> Vec<u8> {
    if sections.iter().all(|(_, recs)| recs.is_empty()) {
        return Vec::new();
    }
    let mut out = rec_size.to_le_bytes().to_vec();
    for (name_off, recs) in sections.iter().filter(|(_, recs)| !recs.is_empty()) {
        out.extend_from_slice(&name_off.to_le_bytes());
        out.extend_from_slice(&(recs.len() as u32).to_le_bytes());
        for w in recs.iter().flat_map(&words) {
            out.extend_from_slice(&w.to_le_bytes());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::btf::Btf;

    #[test]
    fn map_definitions_parse_back() {
        let mut w = BtfWriter::new();
        let fields = |t, n| vec![MapField { name: "type", value: t }, MapField { name: "max_entries", value: n }];
        let (slots, size) = w.map_defs(&[("a", fields(1, 16)), ("b", fields(27, 4096))]);
        assert_eq!(slots, [MapSlot { offset: 0, size: 16 }, MapSlot { offset: 16, size: 16 }]);
        assert_eq!(size, 32);
        let f = w.program_func("prog");
        let btf = Btf::parse_raw(&w.finish()).unwrap();
        let ds = btf.type_by_id(btf.datasec(".maps").unwrap()).unwrap();
        assert_eq!(ds.secinfos().len(), 2);
        assert_eq!(btf.type_by_id(f).unwrap().kind, Kind::Func);
        assert_eq!(btf.type_name(f), "prog");
    }
}
