//! `.BTF.ext`: per-section function info, line info and CO-RE relocation records.
//!
//! Layout (`struct btf_ext_header`): magic, version, flags, `hdr_len`, then
//! offset/length pairs (relative to the end of the header) of the func_info,
//! line_info and — when `hdr_len` allows — core_relo subsections. Each subsection is
//! a record size followed by `{sec_name_off, num_info, records...}` groups. Strings
//! live in the `.BTF` string table. Record offsets (`insn_off`) are in bytes from the
//! start of the ELF section, as clang writes them.

use crate::btf::{le_u32, Btf, BtfError};

/// Function info: the BTF `FUNC` of the function starting at `insn_off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FuncInfoRec {
    /// Byte offset in the section.
    pub insn_off: u32,
    pub type_id: u32,
}

/// Line info: source position of the instruction at `insn_off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineInfoRec {
    /// Byte offset in the section.
    pub insn_off: u32,
    pub file_name_off: u32,
    /// The source line's text.
    pub line_off: u32,
    pub line: u32,
    pub col: u32,
}

/// `enum bpf_core_relo_kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum CoreReloKind {
    FieldByteOffset = 0,
    FieldByteSize = 1,
    FieldExists = 2,
    FieldSigned = 3,
    FieldLshiftU64 = 4,
    FieldRshiftU64 = 5,
    TypeIdLocal = 6,
    TypeIdTarget = 7,
    TypeExists = 8,
    TypeSize = 9,
    EnumvalExists = 10,
    EnumvalValue = 11,
    TypeMatches = 12,
}

impl CoreReloKind {
    pub fn from_u32(k: u32) -> Option<CoreReloKind> {
        use CoreReloKind::*;
        Some(match k {
            0 => FieldByteOffset,
            1 => FieldByteSize,
            2 => FieldExists,
            3 => FieldSigned,
            4 => FieldLshiftU64,
            5 => FieldRshiftU64,
            6 => TypeIdLocal,
            7 => TypeIdTarget,
            8 => TypeExists,
            9 => TypeSize,
            10 => EnumvalExists,
            11 => EnumvalValue,
            12 => TypeMatches,
            _ => return None,
        })
    }

    /// libbpf's name (`byte_off`, `exists`, `enumval_value` ...).
    pub fn name(self) -> &'static str {
        use CoreReloKind::*;
        match self {
            FieldByteOffset => "byte_off",
            FieldByteSize => "byte_sz",
            FieldExists => "field_exists",
            FieldSigned => "signed",
            FieldLshiftU64 => "lshift_u64",
            FieldRshiftU64 => "rshift_u64",
            TypeIdLocal => "local_type_id",
            TypeIdTarget => "target_type_id",
            TypeExists => "type_exists",
            TypeMatches => "type_matches",
            TypeSize => "type_size",
            EnumvalExists => "enumval_exists",
            EnumvalValue => "enumval_value",
        }
    }

    pub fn is_field_based(self) -> bool {
        (self as u32) <= 5
    }
    pub fn is_type_based(self) -> bool {
        matches!(
            self,
            CoreReloKind::TypeIdLocal
                | CoreReloKind::TypeIdTarget
                | CoreReloKind::TypeExists
                | CoreReloKind::TypeSize
                | CoreReloKind::TypeMatches
        )
    }
    pub fn is_enumval_based(self) -> bool {
        matches!(self, CoreReloKind::EnumvalExists | CoreReloKind::EnumvalValue)
    }
}

/// A CO-RE relocation record (`struct bpf_core_relo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoreRelo {
    /// Byte offset in the section.
    pub insn_off: u32,
    /// Root type in the object's BTF.
    pub type_id: u32,
    /// The access string (`0:1:2`) in the BTF string table.
    pub access_str_off: u32,
    /// Raw kind; see [`CoreReloKind::from_u32`].
    pub kind: u32,
}

/// The records of one ELF section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtSection<T> {
    pub sec_name: String,
    pub records: Vec<T>,
}

/// Parsed `.BTF.ext`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BtfExt {
    pub func_info: Vec<ExtSection<FuncInfoRec>>,
    pub line_info: Vec<ExtSection<LineInfoRec>>,
    pub core_relos: Vec<ExtSection<CoreRelo>>,
}

fn bad(msg: impl Into<String>) -> BtfError {
    BtfError::BadHeader(msg.into())
}

impl BtfExt {
    /// Parse `.BTF.ext` data; section names are resolved in `btf`'s string table.
    pub fn parse(data: &[u8], btf: &Btf) -> Result<BtfExt, BtfError> {
        let len = data.len() as u64;
        if data.len() < 8 {
            return Err(BtfError::Truncated { what: ".BTF.ext header", offset: 0, needed: 8, len });
        }
        let magic = u16::from_le_bytes([data[0], data[1]]);
        if magic != crate::btf::BTF_MAGIC {
            return Err(BtfError::BadMagic(magic));
        }
        if data[2] != 1 {
            return Err(BtfError::BadVersion(data[2]));
        }
        let hdr_len = le_u32(data, 4).unwrap_or(0) as usize;
        if hdr_len < 24 || hdr_len > data.len() {
            return Err(bad(format!(".BTF.ext header length {hdr_len} (data has {len} bytes)")));
        }
        let field = |off: usize| if off + 4 <= hdr_len { le_u32(data, off) } else { None };
        let sub = |what: &'static str, off_field: usize| -> Result<&[u8], BtfError> {
            let (Some(off), Some(size)) = (field(off_field), field(off_field + 4)) else { return Ok(&[]) };
            if size == 0 {
                return Ok(&[]);
            }
            let start = hdr_len as u64 + off as u64;
            let end = start + size as u64;
            if end > len {
                return Err(BtfError::Truncated { what, offset: start, needed: size as u64, len });
            }
            Ok(&data[start as usize..end as usize])
        };
        let func = sub(".BTF.ext func_info", 8)?;
        let line = sub(".BTF.ext line_info", 16)?;
        let core = sub(".BTF.ext core_relo", 24)?;
        Ok(BtfExt {
            func_info: parse_info(func, 8, btf, "func_info", |r| FuncInfoRec {
                insn_off: le_u32(r, 0).unwrap_or(0),
                type_id: le_u32(r, 4).unwrap_or(0),
            })?,
            line_info: parse_info(line, 16, btf, "line_info", |r| {
                let lc = le_u32(r, 12).unwrap_or(0);
                LineInfoRec {
                    insn_off: le_u32(r, 0).unwrap_or(0),
                    file_name_off: le_u32(r, 4).unwrap_or(0),
                    line_off: le_u32(r, 8).unwrap_or(0),
                    line: lc >> 10,
                    col: lc & 0x3ff,
                }
            })?,
            core_relos: parse_info(core, 16, btf, "core_relo", |r| CoreRelo {
                insn_off: le_u32(r, 0).unwrap_or(0),
                type_id: le_u32(r, 4).unwrap_or(0),
                access_str_off: le_u32(r, 8).unwrap_or(0),
                kind: le_u32(r, 12).unwrap_or(0),
            })?,
        })
    }
}

/// One subsection: `rec_size`, then groups of `{sec_name_off, num_info, records}`.
fn parse_info<T>(
    data: &[u8],
    min_rec: usize,
    btf: &Btf,
    what: &str,
    rec: impl Fn(&[u8]) -> T,
) -> Result<Vec<ExtSection<T>>, BtfError> {
    if data.is_empty() {
        return Ok(Vec::new());
    }
    let rec_size = le_u32(data, 0).ok_or_else(|| bad(format!("{what}: no record size")))? as usize;
    if rec_size < min_rec || !rec_size.is_multiple_of(4) {
        return Err(bad(format!("{what}: record size {rec_size} (at least {min_rec} expected)")));
    }
    let mut out = Vec::new();
    let mut pos = 4usize;
    while pos < data.len() {
        let (Some(name_off), Some(num)) = (le_u32(data, pos), le_u32(data, pos + 4)) else {
            return Err(bad(format!("{what}: truncated section header at offset {pos}")));
        };
        pos += 8;
        let total = (num as usize)
            .checked_mul(rec_size)
            .filter(|t| pos + t <= data.len())
            .ok_or_else(|| bad(format!("{what}: {num} records of {rec_size} bytes overrun the subsection")))?;
        let sec_name = btf
            .str_at(name_off)
            .ok_or_else(|| bad(format!("{what}: section name offset {name_off} is not in the string table")))?
            .to_string();
        let records = data[pos..pos + total].chunks_exact(rec_size).map(&rec).collect();
        pos += total;
        out.push(ExtSection { sec_name, records });
    }
    Ok(out)
}
