//! BTF, the BPF Type Format: parser, type lookups, size and alignment resolution,
//! member offsets (bitfields included) and a value formatter for map dumps.
//!
//! [`Btf::parse`] reads raw BTF (`/sys/kernel/btf/vmlinux`, `bpftool btf dump file
//! X format raw` output) or an ELF file with a `.BTF` section. Every BTF kind of
//! `include/uapi/linux/btf.h` is understood, `enum64`, `decl_tag`, `type_tag` and
//! `float` included. Type ids index [`Btf::type_by_id`]; id 0 is `void`.
//!
//! Lookups never panic on malformed BTF: a dangling type id gives `None` or a
//! [`BtfError`], reference chains are followed to a bounded depth.

use serde_json::{Map, Value};
use std::fmt;
use std::sync::OnceLock;

/// `BTF_MAGIC`, as it reads in little-endian BTF.
pub const BTF_MAGIC: u16 = 0xeb9f;

/// How deep reference chains (typedef → const → typedef ...) are followed.
const MAX_DEPTH: usize = 32;

/// `BTF_INT_SIGNED` etc. (the `encoding` of an int).
pub const INT_SIGNED: u8 = 1;
pub const INT_CHAR: u8 = 2;
pub const INT_BOOL: u8 = 4;

/// `BTF_VAR_*` linkage of a variable.
pub const VAR_STATIC: u32 = 0;
pub const VAR_GLOBAL_ALLOCATED: u32 = 1;
pub const VAR_GLOBAL_EXTERN: u32 = 2;

/// Why BTF could not be read or a type could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BtfError {
    #[error("BTF is truncated: the {what} needs {needed} bytes at offset {offset}, there are {len}")]
    Truncated { what: &'static str, offset: u64, needed: u64, len: u64 },
    #[error("bad BTF magic {0:#06x} (expected 0xeb9f; big-endian BTF is not supported)")]
    BadMagic(u16),
    #[error("unsupported BTF version {0} (expected 1)")]
    BadVersion(u8),
    #[error("bad BTF header: {0}")]
    BadHeader(String),
    #[error("type [{id}]: unknown BTF kind {kind}")]
    UnknownKind { id: u32, kind: u32 },
    #[error("type [{id}]: {reason}")]
    BadType { id: u32, reason: String },
    #[error("no type [{0}]")]
    NoSuchType(u32),
    #[error("the ELF file has no .BTF section")]
    NoBtfSection,
    #[error("{0}")]
    Elf(String),
}

/// `BTF_KIND_*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Kind {
    /// `BTF_KIND_UNKN`: only `void` (id 0).
    Unknown = 0,
    Int = 1,
    Ptr = 2,
    Array = 3,
    Struct = 4,
    Union = 5,
    Enum = 6,
    Fwd = 7,
    Typedef = 8,
    Volatile = 9,
    Const = 10,
    Restrict = 11,
    Func = 12,
    FuncProto = 13,
    Var = 14,
    Datasec = 15,
    Float = 16,
    DeclTag = 17,
    TypeTag = 18,
    Enum64 = 19,
}

impl Kind {
    fn from_u32(k: u32) -> Option<Kind> {
        use Kind::*;
        Some(match k {
            0 => Unknown,
            1 => Int,
            2 => Ptr,
            3 => Array,
            4 => Struct,
            5 => Union,
            6 => Enum,
            7 => Fwd,
            8 => Typedef,
            9 => Volatile,
            10 => Const,
            11 => Restrict,
            12 => Func,
            13 => FuncProto,
            14 => Var,
            15 => Datasec,
            16 => Float,
            17 => DeclTag,
            18 => TypeTag,
            19 => Enum64,
            _ => return None,
        })
    }

    /// The name bpftool prints (`STRUCT`, `ENUM64` ...).
    pub fn name(self) -> &'static str {
        use Kind::*;
        match self {
            Unknown => "UNKN",
            Int => "INT",
            Ptr => "PTR",
            Array => "ARRAY",
            Struct => "STRUCT",
            Union => "UNION",
            Enum => "ENUM",
            Fwd => "FWD",
            Typedef => "TYPEDEF",
            Volatile => "VOLATILE",
            Const => "CONST",
            Restrict => "RESTRICT",
            Func => "FUNC",
            FuncProto => "FUNC_PROTO",
            Var => "VAR",
            Datasec => "DATASEC",
            Float => "FLOAT",
            DeclTag => "DECL_TAG",
            TypeTag => "TYPE_TAG",
            Enum64 => "ENUM64",
        }
    }

    /// Struct or union.
    pub fn is_composite(self) -> bool {
        matches!(self, Kind::Struct | Kind::Union)
    }

    /// Enum or enum64.
    pub fn is_any_enum(self) -> bool {
        matches!(self, Kind::Enum | Kind::Enum64)
    }

    /// The kinds that only qualify another type (skipped by `skip_mods`).
    pub fn is_modifier(self) -> bool {
        matches!(self, Kind::Volatile | Kind::Const | Kind::Restrict | Kind::TypeTag)
    }
}

/// A struct or union member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    pub name_off: u32,
    pub type_id: u32,
    /// Offset of the member from the start of the struct, in bits.
    pub bit_offset: u32,
    /// Bitfield width (kind_flag structs only); 0 for a plain member.
    pub bitfield_size: u32,
}

/// An enumerator of an enum or enum64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnumValue {
    pub name_off: u32,
    /// The value: 32-bit enumerators sign-extended (as libbpf reads them), enum64
    /// ones as stored.
    pub value: u64,
}

/// A parameter of a function prototype.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param {
    pub name_off: u32,
    pub type_id: u32,
}

/// A variable of a data section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VarSecinfo {
    pub type_id: u32,
    pub offset: u32,
    pub size: u32,
}

/// An array type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArrayInfo {
    pub elem_type: u32,
    pub index_type: u32,
    pub nelems: u32,
}

/// What follows `struct btf_type` for a kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detail {
    None,
    Int { encoding: u8, offset: u8, bits: u8 },
    Array(ArrayInfo),
    Members(Vec<Member>),
    Enum(Vec<EnumValue>),
    Params(Vec<Param>),
    Var { linkage: u32 },
    Datasec(Vec<VarSecinfo>),
    DeclTag { component_idx: i32 },
}

/// One BTF type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Type {
    pub name_off: u32,
    pub kind: Kind,
    pub kind_flag: bool,
    pub vlen: u16,
    /// `size` (int, enum, enum64, struct, union, datasec, float) or `type`
    /// (ptr, typedef, modifiers, func, func_proto return, var, decl_tag).
    pub size_or_type: u32,
    pub detail: Detail,
}

impl Type {
    const VOID: Type =
        Type { name_off: 0, kind: Kind::Unknown, kind_flag: false, vlen: 0, size_or_type: 0, detail: Detail::None };

    /// The size field (meaningful for sized kinds).
    pub fn size(&self) -> u32 {
        self.size_or_type
    }
    /// The referenced type (meaningful for reference kinds).
    pub fn type_id(&self) -> u32 {
        self.size_or_type
    }
    pub fn members(&self) -> &[Member] {
        match &self.detail {
            Detail::Members(m) => m,
            _ => &[],
        }
    }
    pub fn enum_values(&self) -> &[EnumValue] {
        match &self.detail {
            Detail::Enum(v) => v,
            _ => &[],
        }
    }
    pub fn params(&self) -> &[Param] {
        match &self.detail {
            Detail::Params(p) => p,
            _ => &[],
        }
    }
    pub fn secinfos(&self) -> &[VarSecinfo] {
        match &self.detail {
            Detail::Datasec(v) => v,
            _ => &[],
        }
    }
    pub fn array(&self) -> Option<ArrayInfo> {
        match self.detail {
            Detail::Array(a) => Some(a),
            _ => None,
        }
    }
    /// `(encoding, offset, bits)` of an int.
    pub fn int(&self) -> Option<(u8, u8, u8)> {
        match self.detail {
            Detail::Int { encoding, offset, bits } => Some((encoding, offset, bits)),
            _ => None,
        }
    }
    /// Linkage of a var (`VAR_STATIC`, `VAR_GLOBAL_ALLOCATED`, `VAR_GLOBAL_EXTERN`)
    /// or func (`vlen`).
    pub fn linkage(&self) -> u32 {
        match self.detail {
            Detail::Var { linkage } => linkage,
            _ => self.vlen as u32,
        }
    }
    /// Whether an int or enum is signed.
    pub fn is_signed(&self) -> bool {
        match self.detail {
            Detail::Int { encoding, .. } => encoding & INT_SIGNED != 0,
            _ => self.kind.is_any_enum() && self.kind_flag,
        }
    }
}

/// Parsed BTF.
///
/// Types are decoded on demand, [`CHUNK`] at a time: parsing only walks the type
/// records once to check them and note where each chunk starts and each type's name
/// offset, so vmlinux's ~150,000 types cost a few hundred microseconds to open and a
/// program that touches ten of them decodes a few chunks.
pub struct Btf {
    /// The raw BTF (header, types, strings) as given.
    raw: Vec<u8>,
    /// Where the type records and the strings sit in `raw`.
    type_sec: std::ops::Range<usize>,
    str_sec: std::ops::Range<usize>,
    /// Per type id (`void` included), its `name_off` as parsed: name lookups scan this
    /// instead of decoding types.
    name_offs: Vec<u32>,
    /// The record offset (in the type section) of the first type of every chunk.
    chunk_offs: Vec<u32>,
    /// The decoded types, `chunks[i]` holding ids `i * CHUNK ..` (`void` first).
    chunks: Box<[OnceLock<Box<[Type]>>]>,
    /// A type was changed through `type_mut`: names are read from the decoded types.
    edited: bool,
    /// Essential name (without `___flavor`) → ids, built once enough lookups were made
    /// ([`SCANS_BEFORE_INDEX`]): a program that asks for one or two types (a `tp_btf`
    /// program's prototype) is answered by scanning the string section.
    names: OnceLock<NameIndex>,
    /// Lookups answered by a scan so far.
    scans: std::sync::atomic::AtomicU32,
}

/// How many types are decoded together.
const CHUNK: usize = 64;

/// Name lookups answered by scanning before the name index is built.
const SCANS_BEFORE_INDEX: u32 = 16;

/// Type ids by the hash of their essential name: chained buckets, each chain in id
/// order (`heads[bucket]`, then `next[id]`; 0 ends a chain, as `void` has no name).
#[derive(Clone)]
struct NameIndex {
    heads: Vec<u32>,
    next: Vec<u32>,
}

/// A 64-bit hash of a name (FxHash's mixing, a word at a time).
fn name_hash(s: &[u8]) -> u64 {
    let mut h = 0u64;
    let mut words = s.chunks_exact(8);
    for w in &mut words {
        let v = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
        h = (h.rotate_left(5) ^ v).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    let mut tail = [0u8; 8];
    tail[..words.remainder().len()].copy_from_slice(words.remainder());
    h = (h.rotate_left(5) ^ u64::from_le_bytes(tail) ^ s.len() as u64).wrapping_mul(0x517c_c1b7_2722_0a95);
    h ^ (h >> 29)
}

impl Clone for Btf {
    fn clone(&self) -> Btf {
        Btf {
            raw: self.raw.clone(),
            type_sec: self.type_sec.clone(),
            str_sec: self.str_sec.clone(),
            name_offs: self.name_offs.clone(),
            chunk_offs: self.chunk_offs.clone(),
            chunks: self.chunks.clone(),
            edited: self.edited,
            names: self.names.clone(),
            scans: std::sync::atomic::AtomicU32::new(self.scans.load(std::sync::atomic::Ordering::Relaxed)),
        }
    }
}

impl fmt::Debug for Btf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Btf").field("types", &(self.len() - 1)).field("strings", &self.str_sec.len()).finish()
    }
}

/// Little-endian reads with bounds checks.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl Reader<'_> {
    fn u32(&mut self) -> Result<u32, BtfError> {
        let b = self.data.get(self.pos..self.pos + 4).ok_or(BtfError::Truncated {
            what: self.what,
            offset: self.pos as u64,
            needed: 4,
            len: self.data.len() as u64,
        })?;
        self.pos += 4;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

pub(crate) fn le_u32(data: &[u8], off: usize) -> Option<u32> {
    data.get(off..off.checked_add(4)?).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// The part of a C identifier before a `___flavor` suffix (libbpf's
/// `bpf_core_essential_name_len`): `task_struct___old` → `task_struct`.
pub fn essential_name(name: &str) -> &str {
    // The cut is before an ASCII `_`, so on a character boundary.
    &name[..essential_len(name.as_bytes())]
}

/// The length of [`essential_name`], on bytes.
fn essential_len(b: &[u8]) -> usize {
    let cut = b.windows(5).rposition(|w| w[1..4] == *b"___" && w[0] != b'_' && w[4] != b'_');
    cut.map_or(b.len(), |i| i + 1)
}

impl Btf {
    /// Parse BTF: raw BTF data, or an ELF file's `.BTF` section.
    pub fn parse(data: &[u8]) -> Result<Btf, BtfError> {
        if data.starts_with(b"\x7fELF") {
            let mut storage = Vec::new();
            let aligned = crate::aligned(data, &mut storage);
            let elf = crate::elf_file::Elf::parse(aligned).map_err(|e| BtfError::Elf(e.to_string()))?;
            let sec = elf.section_by_name(".BTF").ok_or(BtfError::NoBtfSection)?;
            return Btf::parse_raw(sec.data);
        }
        Btf::parse_raw(data)
    }

    /// [`Btf::parse`] keeping `data` (raw BTF is not copied: `/sys/kernel/btf/vmlinux`
    /// is 5 MB).
    pub fn parse_vec(data: Vec<u8>) -> Result<Btf, BtfError> {
        if data.starts_with(b"\x7fELF") {
            return Btf::parse(&data);
        }
        Btf::parse_cow(std::borrow::Cow::Owned(data))
    }

    /// Parse raw BTF (header, types, strings).
    pub fn parse_raw(data: &[u8]) -> Result<Btf, BtfError> {
        Btf::parse_cow(std::borrow::Cow::Borrowed(data))
    }

    fn parse_cow(cow: std::borrow::Cow<'_, [u8]>) -> Result<Btf, BtfError> {
        let data: &[u8] = &cow;
        let len = data.len() as u64;
        if data.len() < 24 {
            return Err(BtfError::Truncated { what: "header", offset: 0, needed: 24, len });
        }
        let magic = u16::from_le_bytes([data[0], data[1]]);
        if magic != BTF_MAGIC {
            return Err(BtfError::BadMagic(magic));
        }
        if data[2] != 1 {
            return Err(BtfError::BadVersion(data[2]));
        }
        let mut r = Reader { data, pos: 4, what: "header" };
        let hdr_len = r.u32()? as u64;
        let type_off = r.u32()? as u64;
        let type_len = r.u32()? as u64;
        let str_off = r.u32()? as u64;
        let str_len = r.u32()? as u64;
        if hdr_len < 24 || hdr_len > len {
            return Err(BtfError::BadHeader(format!("header length {hdr_len} (file has {len} bytes)")));
        }
        let section = |what: &'static str, off: u64, size: u64| -> Result<std::ops::Range<usize>, BtfError> {
            let start = hdr_len + off;
            let end = start.checked_add(size).filter(|e| *e <= len).ok_or(BtfError::Truncated {
                what,
                offset: start,
                needed: size,
                len,
            })?;
            Ok(start as usize..end as usize)
        };
        let type_sec = section("type section", type_off, type_len)?;
        let str_sec = section("string section", str_off, str_len)?;
        let (name_offs, chunk_offs) = scan_types(&data[type_sec.clone()])?;
        let chunks = (0..chunk_offs.len()).map(|_| OnceLock::new()).collect();
        Ok(Btf {
            raw: cow.into_owned(),
            type_sec,
            str_sec,
            name_offs,
            chunk_offs,
            chunks,
            edited: false,
            names: OnceLock::new(),
            scans: std::sync::atomic::AtomicU32::new(0),
        })
    }

    /// Number of type ids, `void` included (the largest id is `len() - 1`).
    pub fn len(&self) -> usize {
        self.name_offs.len()
    }

    /// Whether there is no type besides `void`.
    pub fn is_empty(&self) -> bool {
        self.len() <= 1
    }

    /// Chunk `i` of the types, decoded on first use.
    fn chunk(&self, i: usize) -> &[Type] {
        self.chunks[i].get_or_init(|| {
            let first = i * CHUNK;
            let end = (first + CHUNK).min(self.len());
            let data = &self.raw[self.type_sec.clone()];
            let mut r = Reader { data, pos: self.chunk_offs[i] as usize, what: "type section" };
            (first..end)
                .map(|id| match id {
                    0 => Type::VOID,
                    // `scan_types` checked every record when the BTF was parsed.
                    _ => parse_type(&mut r, id as u32).unwrap_or(Type::VOID),
                })
                .collect()
        })
    }

    /// How many types have been decoded so far (they are decoded on demand, a chunk
    /// of 64 at a time).
    pub fn decoded_types(&self) -> usize {
        self.chunks.iter().filter_map(|c| c.get()).map(|c| c.len()).sum()
    }

    /// The type with this id (`0` is `void`).
    pub fn type_by_id(&self, id: u32) -> Option<&Type> {
        let i = id as usize;
        (i < self.len()).then(|| &self.chunk(i / CHUNK)[i % CHUNK])
    }

    fn ty(&self, id: u32) -> Result<&Type, BtfError> {
        self.type_by_id(id).ok_or(BtfError::NoSuchType(id))
    }

    /// All types with their ids, `void` excluded.
    pub fn types(&self) -> impl Iterator<Item = (u32, &Type)> {
        (1..self.len()).map(move |i| (i as u32, &self.chunk(i / CHUNK)[i % CHUNK]))
    }

    fn strings(&self) -> &[u8] {
        &self.raw[self.str_sec.clone()]
    }

    /// The string at `off` in the string table (`None` if out of range or not UTF-8).
    pub fn str_at(&self, off: u32) -> Option<&str> {
        let s = self.strings().get(off as usize..)?;
        let end = memchr::memchr(0, s).unwrap_or(s.len());
        std::str::from_utf8(&s[..end]).ok()
    }

    /// The name at `off`, `""` if there is none.
    pub fn name(&self, off: u32) -> &str {
        self.str_at(off).unwrap_or("")
    }

    /// The name of type `id` (`""` for anonymous types and bad ids).
    pub fn type_name(&self, id: u32) -> &str {
        self.type_by_id(id).map_or("", |t| self.name(t.name_off))
    }

    /// The name offset of type `id` (as edited, if it was).
    fn name_off_of(&self, id: u32) -> u32 {
        match self.edited {
            true => self.type_by_id(id).map_or(0, |t| t.name_off),
            false => self.name_offs.get(id as usize).copied().unwrap_or(0),
        }
    }

    /// The name index once it is worth building (after [`SCANS_BEFORE_INDEX`] scans,
    /// or at once when types were edited: the parsed name offsets no longer hold).
    fn name_index(&self) -> Option<&NameIndex> {
        if let Some(ix) = self.names.get() {
            return Some(ix);
        }
        if !self.edited && self.scans.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < SCANS_BEFORE_INDEX {
            return None;
        }
        Some(self.names.get_or_init(|| {
            let n = self.len();
            let mut heads = vec![0u32; n.next_power_of_two()];
            let mut next = vec![0u32; n];
            let mask = heads.len() - 1;
            let strs = self.strings();
            for id in (1..n as u32).rev() {
                // Names that are not UTF-8 are indexed too, and never match a lookup.
                let name = strs.get(self.name_off_of(id) as usize..).unwrap_or_default();
                let name = &name[..memchr::memchr(0, name).unwrap_or(name.len())];
                if !name.is_empty() {
                    let b = name_hash(&name[..essential_len(name)]) as usize & mask;
                    next[id as usize] = heads[b];
                    heads[b] = id;
                }
            }
            NameIndex { heads, next }
        }))
    }

    /// The offsets of the strings equal to `name` (with `essential`, also those of
    /// `name___flavor` spellings whose essential name is `name`), by scanning the
    /// string section.
    fn string_offsets(&self, name: &str, essential: bool) -> Vec<u32> {
        let strs = self.strings();
        let mut out = Vec::new();
        if name.is_empty() {
            return out;
        }
        let finder = memchr::memmem::Finder::new(name.as_bytes());
        let mut at = 0;
        while let Some(p) = finder.find(&strs[at..]) {
            let p = at + p;
            at = p + 1;
            let ok = match strs.get(p + name.len()) {
                None | Some(0) => true,
                Some(_) => {
                    essential
                        && strs[p + name.len()..].starts_with(b"___")
                        && self.str_at(p as u32).is_some_and(|s| essential_name(s) == name)
                }
            };
            if ok {
                out.push(p as u32);
            }
        }
        out
    }

    /// Ids of the types named by one of the string offsets `offs`.
    fn ids_at_name_offs(&self, offs: &[u32]) -> Vec<u32> {
        if offs.is_empty() {
            return Vec::new();
        }
        // 64 offsets at a time, most of them skipped by one branch-free test.
        let mut out = Vec::new();
        for (c, chunk) in self.name_offs.chunks(64).enumerate() {
            if offs.iter().any(|&x| chunk.iter().fold(false, |hit, &o| hit | (o == x))) {
                let ids = chunk.iter().enumerate().filter(|(_, o)| offs.contains(o));
                out.extend(ids.map(|(i, _)| (c * 64 + i) as u32).filter(|&id| id != 0));
            }
        }
        out
    }

    /// Ids of the types whose essential name (flavor suffix removed) is `essential`,
    /// in id order.
    pub fn ids_by_essential_name(&self, essential: &str) -> Vec<u32> {
        let Some(ix) = self.name_index() else {
            return self.ids_at_name_offs(&self.string_offsets(essential, true));
        };
        let mut out = Vec::new();
        if essential.is_empty() {
            return out;
        }
        let mut id = ix.heads[name_hash(essential.as_bytes()) as usize & (ix.heads.len() - 1)];
        while id != 0 {
            if essential_name(self.name(self.name_off_of(id))) == essential {
                out.push(id);
            }
            id = ix.next[id as usize];
        }
        out
    }

    /// Ids of the types named exactly `name`, in id order.
    pub fn find_by_name(&self, name: &str) -> Vec<u32> {
        if self.name_index().is_none() {
            return self.ids_at_name_offs(&self.string_offsets(name, false));
        }
        let mut ids = self.ids_by_essential_name(essential_name(name));
        ids.retain(|&id| self.name(self.name_off_of(id)) == name);
        ids
    }

    /// The first type named `name` of kind `kind`.
    pub fn find_by_name_kind(&self, name: &str, kind: Kind) -> Option<u32> {
        self.find_by_name(name).into_iter().find(|&id| self.type_by_id(id).is_some_and(|t| t.kind == kind))
    }

    /// Follow modifiers (const, volatile, restrict, type_tag) and typedefs.
    pub fn skip_mods_and_typedefs(&self, id: u32) -> Option<(u32, &Type)> {
        self.skip(id, true)
    }

    /// Follow modifiers (const, volatile, restrict, type_tag), not typedefs.
    pub fn skip_mods(&self, id: u32) -> Option<(u32, &Type)> {
        self.skip(id, false)
    }

    fn skip(&self, mut id: u32, typedefs: bool) -> Option<(u32, &Type)> {
        for _ in 0..MAX_DEPTH {
            let t = self.type_by_id(id)?;
            if t.kind.is_modifier() || (typedefs && t.kind == Kind::Typedef) {
                id = t.type_id();
            } else {
                return Some((id, t));
            }
        }
        None
    }

    /// The size in bytes of a value of type `id` (libbpf's `btf__resolve_size`).
    pub fn resolve_size(&self, id: u32) -> Result<u64, BtfError> {
        let mut id = id;
        let mut nelems: u64 = 1;
        for _ in 0..MAX_DEPTH {
            let t = self.ty(id)?;
            let size = match t.kind {
                Kind::Int | Kind::Struct | Kind::Union | Kind::Enum | Kind::Enum64 | Kind::Datasec | Kind::Float => {
                    t.size() as u64
                }
                Kind::Ptr => 8,
                Kind::Typedef
                | Kind::Volatile
                | Kind::Const
                | Kind::Restrict
                | Kind::Var
                | Kind::DeclTag
                | Kind::TypeTag => {
                    id = t.type_id();
                    continue;
                }
                Kind::Array => {
                    let a = t.array().ok_or(BtfError::BadType { id, reason: "array without array info".into() })?;
                    nelems = nelems
                        .checked_mul(a.nelems as u64)
                        .filter(|n| *n <= u32::MAX as u64)
                        .ok_or(BtfError::BadType { id, reason: "array too large".into() })?;
                    id = a.elem_type;
                    continue;
                }
                k => return Err(BtfError::BadType { id, reason: format!("{} has no size", k.name()) }),
            };
            return nelems
                .checked_mul(size)
                .filter(|n| *n <= u32::MAX as u64)
                .ok_or(BtfError::BadType { id, reason: "size overflows 32 bits".into() });
        }
        Err(BtfError::BadType { id, reason: "type chain too long".into() })
    }

    /// The alignment of type `id` in bytes (libbpf's `btf__align_of`; packed
    /// structs have alignment 1).
    pub fn align_of(&self, id: u32) -> Result<u64, BtfError> {
        self.align_of_depth(id, 0)
    }

    fn align_of_depth(&self, id: u32, depth: usize) -> Result<u64, BtfError> {
        if depth > MAX_DEPTH {
            return Err(BtfError::BadType { id, reason: "type chain too long".into() });
        }
        let t = self.ty(id)?;
        match t.kind {
            Kind::Int | Kind::Enum | Kind::Enum64 | Kind::Float => Ok((t.size() as u64).clamp(1, 8)),
            Kind::Ptr => Ok(8),
            Kind::Typedef | Kind::Volatile | Kind::Const | Kind::Restrict | Kind::TypeTag => {
                self.align_of_depth(t.type_id(), depth + 1)
            }
            Kind::Array => self.align_of_depth(t.array().map_or(0, |a| a.elem_type), depth + 1),
            Kind::Struct | Kind::Union => {
                let mut max = 1;
                for m in t.members() {
                    let a = self.align_of_depth(m.type_id, depth + 1)?;
                    if m.bitfield_size == 0 && !(m.bit_offset as u64).is_multiple_of(8 * a) {
                        return Ok(1);
                    }
                    max = max.max(a);
                }
                if !(t.size() as u64).is_multiple_of(max) {
                    return Ok(1);
                }
                Ok(max)
            }
            k => Err(BtfError::BadType { id, reason: format!("{} has no alignment", k.name()) }),
        }
    }

    /// The DATASEC named `name`.
    pub fn datasec(&self, name: &str) -> Option<u32> {
        self.find_by_name_kind(name, Kind::Datasec)
    }

    /// A C-like spelling of type `id`: `struct task_struct`, `u32 *`, `char[16]`,
    /// `enum xdp_action`, `void`.
    pub fn display_type(&self, id: u32) -> String {
        self.display_depth(id, 0)
    }

    fn display_depth(&self, id: u32, depth: usize) -> String {
        let Some(t) = self.type_by_id(id) else { return format!("<bad type {id}>") };
        if depth > MAX_DEPTH {
            return "...".into();
        }
        let name = self.name(t.name_off);
        let named = |kw: &str| if name.is_empty() { format!("{kw} (anon)") } else { format!("{kw} {name}") };
        match t.kind {
            Kind::Unknown => "void".into(),
            Kind::Int | Kind::Float | Kind::Typedef => name.to_string(),
            Kind::Ptr => format!("{} *", self.display_depth(t.type_id(), depth + 1)),
            Kind::Array => {
                let a = t.array().unwrap_or(ArrayInfo { elem_type: 0, index_type: 0, nelems: 0 });
                format!("{}[{}]", self.display_depth(a.elem_type, depth + 1), a.nelems)
            }
            Kind::Struct => named("struct"),
            Kind::Union => named("union"),
            Kind::Enum | Kind::Enum64 => named("enum"),
            Kind::Fwd => named(if t.kind_flag { "union" } else { "struct" }),
            Kind::Const => format!("const {}", self.display_depth(t.type_id(), depth + 1)),
            Kind::Volatile => format!("volatile {}", self.display_depth(t.type_id(), depth + 1)),
            Kind::Restrict => format!("{} restrict", self.display_depth(t.type_id(), depth + 1)),
            Kind::TypeTag => self.display_depth(t.type_id(), depth + 1),
            Kind::Func => format!("func {name}"),
            Kind::FuncProto => "func_proto".into(),
            Kind::Var => format!("var {name}"),
            Kind::Datasec => format!("datasec {name}"),
            Kind::DeclTag => format!("decl_tag {name}"),
        }
    }

    pub(crate) fn type_mut(&mut self, id: u32) -> Option<&mut Type> {
        let i = id as usize;
        if i >= self.len() {
            return None;
        }
        let _ = self.chunk(i / CHUNK);
        // The caller may rename the type: names come from the decoded types from now on.
        self.edited = true;
        self.names = OnceLock::new();
        self.chunks[i / CHUNK].get_mut().and_then(|c| c.get_mut(i % CHUNK))
    }

    /// Format `data`, a value of type `id`, as JSON: structs and unions as objects
    /// (anonymous members merged into their parent), arrays as arrays (`char`
    /// arrays holding a printable NUL-terminated string as strings), ints as numbers
    /// (signed or unsigned as declared, `bool` as true/false, 128-bit ones as decimal
    /// strings), enums as the enumerator's name (its number when none matches),
    /// pointers as numbers, floats as numbers, data sections as objects of their
    /// variables. Bytes missing from `data` give `null`.
    pub fn format_value(&self, id: u32, data: &[u8]) -> Value {
        self.fmt_value(id, data, 0)
    }

    fn fmt_value(&self, id: u32, data: &[u8], depth: usize) -> Value {
        if depth > MAX_DEPTH {
            return Value::Null;
        }
        let Some((id, t)) = self.skip_mods_and_typedefs(id) else { return Value::Null };
        match t.kind {
            Kind::Int => {
                let (encoding, offset, bits) = t.int().unwrap_or((0, 0, 0));
                let size = t.size() as usize;
                if offset != 0 || (bits as usize) < size * 8 {
                    // Legacy bitfield-like int.
                    return match read_bits(data, offset as u64, bits as u32) {
                        Some(v) => int_value(v, bits as u32, encoding),
                        None => Value::Null,
                    };
                }
                match data.get(..size) {
                    Some(b) if size <= 8 => int_value(le_uint(b), (size * 8) as u32, encoding),
                    Some(b) if size == 16 => {
                        let mut a = [0u8; 16];
                        a.copy_from_slice(b);
                        if encoding & INT_SIGNED != 0 {
                            Value::String(i128::from_le_bytes(a).to_string())
                        } else {
                            Value::String(u128::from_le_bytes(a).to_string())
                        }
                    }
                    _ => Value::Null,
                }
            }
            Kind::Ptr => data.get(..8).map_or(Value::Null, |b| Value::from(le_uint(b))),
            Kind::Float => match (t.size(), data) {
                (4, d) if d.len() >= 4 => float(f32::from_le_bytes([d[0], d[1], d[2], d[3]]) as f64),
                (8, d) if d.len() >= 8 => float(f64::from_le_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]])),
                _ => Value::Null,
            },
            Kind::Enum | Kind::Enum64 => {
                let size = t.size() as usize;
                let Some(b) = data.get(..size).filter(|_| (1..=8).contains(&size)) else { return Value::Null };
                let raw = le_uint(b);
                let bits = size as u32 * 8;
                let mask = if bits == 64 { u64::MAX } else { (1u64 << bits) - 1 };
                for e in t.enum_values() {
                    if e.value & mask == raw {
                        return Value::String(self.name(e.name_off).to_string());
                    }
                }
                int_value(raw, bits, if t.kind_flag { INT_SIGNED } else { 0 })
            }
            Kind::Array => {
                let Some(a) = t.array() else { return Value::Null };
                let Ok(esize) = self.resolve_size(a.elem_type) else { return Value::Null };
                if self.is_char(a.elem_type) {
                    if let Some(s) = data.get(..a.nelems as usize).and_then(c_string) {
                        return Value::String(s);
                    }
                }
                let esize = esize as usize;
                let mut out = Vec::with_capacity(a.nelems.min(4096) as usize);
                for i in 0..a.nelems as usize {
                    let start = i.saturating_mul(esize);
                    let piece = data.get(start..start.saturating_add(esize)).unwrap_or(&[]);
                    if piece.is_empty() && esize > 0 {
                        out.push(Value::Null);
                        if start >= data.len() {
                            // Nothing more to read: stop instead of emitting nulls.
                            break;
                        }
                        continue;
                    }
                    out.push(self.fmt_value(a.elem_type, piece, depth + 1));
                }
                Value::Array(out)
            }
            Kind::Struct | Kind::Union => {
                let mut obj = Map::new();
                self.fmt_members(id, data, 0, depth, &mut obj);
                Value::Object(obj)
            }
            Kind::Datasec => {
                let mut obj = Map::new();
                for v in t.secinfos() {
                    let name = self.type_name(v.type_id).to_string();
                    let start = v.offset as usize;
                    let piece = data.get(start..start.saturating_add(v.size as usize)).unwrap_or(&[]);
                    obj.insert(name, self.fmt_value(v.type_id, piece, depth + 1));
                }
                Value::Object(obj)
            }
            Kind::Var => self.fmt_value(t.type_id(), data, depth + 1),
            _ => Value::Null,
        }
    }

    /// Members of struct/union `id` located at `base_bits` within `data`.
    fn fmt_members(&self, id: u32, data: &[u8], base_bits: u64, depth: usize, obj: &mut Map<String, Value>) {
        let Some(t) = self.type_by_id(id) else { return };
        if depth > MAX_DEPTH {
            return;
        }
        for m in t.members() {
            let bit_off = base_bits + m.bit_offset as u64;
            let name = self.name(m.name_off);
            if name.is_empty() {
                if let Some((mid, mt)) = self.skip_mods_and_typedefs(m.type_id) {
                    if mt.kind.is_composite() && m.bitfield_size == 0 {
                        self.fmt_members(mid, data, bit_off, depth + 1, obj);
                        continue;
                    }
                }
                continue;
            }
            let v = if m.bitfield_size > 0 {
                let enc = self.skip_mods_and_typedefs(m.type_id).map_or(0, |(_, mt)| {
                    if mt.is_signed() {
                        INT_SIGNED
                    } else {
                        mt.int().map_or(0, |i| i.0 & INT_BOOL)
                    }
                });
                read_bits(data, bit_off, m.bitfield_size).map_or(Value::Null, |v| int_value(v, m.bitfield_size, enc))
            } else if bit_off.is_multiple_of(8) {
                let start = (bit_off / 8) as usize;
                let size = self.resolve_size(m.type_id).unwrap_or(0) as usize;
                match data.get(start..start.saturating_add(size)) {
                    Some(piece) => self.fmt_value(m.type_id, piece, depth + 1),
                    None => Value::Null,
                }
            } else {
                Value::Null
            };
            obj.insert(name.to_string(), v);
        }
    }

    /// Whether `id` is a character type for string display: an int of size 1 with
    /// the CHAR encoding or spelled `char` (no typedef in between, so `__u8` arrays
    /// stay arrays of numbers).
    fn is_char(&self, id: u32) -> bool {
        let Some((_, t)) = self.skip_mods(id) else { return false };
        t.kind == Kind::Int
            && t.size() == 1
            && (t.int().is_some_and(|(enc, _, _)| enc & INT_CHAR != 0) || self.name(t.name_off) == "char")
    }
}

fn float(v: f64) -> Value {
    serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
}

fn le_uint(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    let n = b.len().min(8);
    a[..n].copy_from_slice(&b[..n]);
    u64::from_le_bytes(a)
}

/// `bits` bits (1..=64) at bit offset `off` of little-endian `data`.
fn read_bits(data: &[u8], off: u64, bits: u32) -> Option<u64> {
    if bits == 0 || bits > 64 {
        return None;
    }
    let first = (off / 8) as usize;
    let last = ((off + bits as u64 - 1) / 8) as usize;
    let bytes = data.get(first..=last)?;
    let mut v: u128 = 0;
    for (i, b) in bytes.iter().enumerate() {
        v |= (*b as u128) << (8 * i);
    }
    v >>= off % 8;
    let mask = if bits == 64 { u64::MAX as u128 } else { (1u128 << bits) - 1 };
    Some((v & mask) as u64)
}

fn int_value(v: u64, bits: u32, encoding: u8) -> Value {
    if encoding & INT_BOOL != 0 {
        return Value::Bool(v != 0);
    }
    if encoding & INT_SIGNED != 0 && bits > 0 && bits < 64 {
        let shift = 64 - bits;
        return Value::from(((v << shift) as i64) >> shift);
    }
    if encoding & INT_SIGNED != 0 {
        return Value::from(v as i64);
    }
    Value::from(v)
}

/// A printable (ASCII, tabs and newlines) NUL-terminated string filling the buffer
/// (zeros after the NUL).
fn c_string(b: &[u8]) -> Option<String> {
    let nul = b.iter().position(|&c| c == 0)?;
    let (s, rest) = b.split_at(nul);
    if s.iter().all(|&c| (0x20..0x7f).contains(&c) || matches!(c, b'\n' | b'\t' | b'\r'))
        && rest.iter().all(|&c| c == 0)
    {
        Some(String::from_utf8_lossy(s).into_owned())
    } else {
        None
    }
}

/// Walk the type records once, checking each as [`parse_type`] would (a known kind,
/// a complete record): every type's name offset (`void` first) and the record offset
/// of every chunk's first type.
fn scan_types(d: &[u8]) -> Result<(Vec<u32>, Vec<u32>), BtfError> {
    let len = d.len();
    // Where `parse_type`'s reads would first run out.
    let truncated = |pos: usize| BtfError::Truncated {
        what: "type section",
        offset: (pos + (len - pos) / 4 * 4) as u64,
        needed: 4,
        len: len as u64,
    };
    let mut name_offs = vec![0u32];
    let mut chunk_offs = vec![0u32];
    let mut pos = 0;
    while pos < len {
        let id = name_offs.len() as u32;
        if len - pos < 12 {
            return Err(truncated(pos));
        }
        let word = |at: usize| u32::from_le_bytes([d[at], d[at + 1], d[at + 2], d[at + 3]]);
        let (name_off, info) = (word(pos), word(pos + 4));
        let kind_num = (info >> 24) & 0x1f;
        let kind = Kind::from_u32(kind_num).ok_or(BtfError::UnknownKind { id, kind: kind_num })?;
        let n = (info & 0xffff) as usize;
        let extra = match kind {
            Kind::Unknown => return Err(BtfError::BadType { id, reason: "BTF_KIND_UNKN used for a type".into() }),
            Kind::Int | Kind::Var | Kind::DeclTag => 4,
            Kind::Array => 12,
            Kind::Struct | Kind::Union | Kind::Enum64 | Kind::Datasec => 12 * n,
            Kind::Enum | Kind::FuncProto => 8 * n,
            // The kinds `parse_type` gives `Detail::None`: nothing after `struct btf_type`.
            _ => 0,
        };
        if len - pos < 12 + extra {
            return Err(truncated(pos));
        }
        if (id as usize).is_multiple_of(CHUNK) {
            chunk_offs.push(pos as u32);
        }
        name_offs.push(name_off);
        pos += 12 + extra;
    }
    Ok((name_offs, chunk_offs))
}

fn parse_type(r: &mut Reader<'_>, id: u32) -> Result<Type, BtfError> {
    let name_off = r.u32()?;
    let info = r.u32()?;
    let size_or_type = r.u32()?;
    let vlen = (info & 0xffff) as u16;
    let kind_num = (info >> 24) & 0x1f;
    let kind = Kind::from_u32(kind_num).ok_or(BtfError::UnknownKind { id, kind: kind_num })?;
    let kind_flag = info >> 31 != 0;
    let n = vlen as usize;
    let detail = match kind {
        Kind::Unknown => return Err(BtfError::BadType { id, reason: "BTF_KIND_UNKN used for a type".into() }),
        Kind::Int => {
            let v = r.u32()?;
            Detail::Int { encoding: ((v >> 24) & 0x0f) as u8, offset: ((v >> 16) & 0xff) as u8, bits: (v & 0xff) as u8 }
        }
        Kind::Array => Detail::Array(ArrayInfo { elem_type: r.u32()?, index_type: r.u32()?, nelems: r.u32()? }),
        Kind::Struct | Kind::Union => {
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                let (name_off, type_id, off) = (r.u32()?, r.u32()?, r.u32()?);
                let (bit_offset, bitfield_size) = if kind_flag { (off & 0x00ff_ffff, off >> 24) } else { (off, 0) };
                v.push(Member { name_off, type_id, bit_offset, bitfield_size });
            }
            Detail::Members(v)
        }
        Kind::Enum => {
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                let (name_off, val) = (r.u32()?, r.u32()?);
                v.push(EnumValue { name_off, value: val as i32 as i64 as u64 });
            }
            Detail::Enum(v)
        }
        Kind::Enum64 => {
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                let (name_off, lo, hi) = (r.u32()?, r.u32()?, r.u32()?);
                v.push(EnumValue { name_off, value: ((hi as u64) << 32) | lo as u64 });
            }
            Detail::Enum(v)
        }
        Kind::FuncProto => {
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                v.push(Param { name_off: r.u32()?, type_id: r.u32()? });
            }
            Detail::Params(v)
        }
        Kind::Var => Detail::Var { linkage: r.u32()? },
        Kind::Datasec => {
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                v.push(VarSecinfo { type_id: r.u32()?, offset: r.u32()?, size: r.u32()? });
            }
            Detail::Datasec(v)
        }
        Kind::DeclTag => Detail::DeclTag { component_idx: r.u32()? as i32 },
        Kind::Ptr
        | Kind::Fwd
        | Kind::Typedef
        | Kind::Volatile
        | Kind::Const
        | Kind::Restrict
        | Kind::Func
        | Kind::Float
        | Kind::TypeTag => Detail::None,
    };
    Ok(Type { name_off, kind, kind_flag, vlen, size_or_type, detail })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny BTF blob built by hand.
    struct Builder {
        types: Vec<u8>,
        strings: Vec<u8>,
    }

    impl Builder {
        fn new() -> Builder {
            Builder { types: Vec::new(), strings: vec![0] }
        }
        fn s(&mut self, s: &str) -> u32 {
            let off = self.strings.len() as u32;
            self.strings.extend_from_slice(s.as_bytes());
            self.strings.push(0);
            off
        }
        fn t(&mut self, name: &str, kind: u32, kflag: bool, vlen: u32, size_or_type: u32, extra: &[u32]) {
            let name_off = if name.is_empty() { 0 } else { self.s(name) };
            let info = (kind << 24) | vlen | if kflag { 1 << 31 } else { 0 };
            for w in [name_off, info, size_or_type].iter().chain(extra) {
                self.types.extend_from_slice(&w.to_le_bytes());
            }
        }
        fn build(&self) -> Vec<u8> {
            let mut out = Vec::new();
            out.extend_from_slice(&BTF_MAGIC.to_le_bytes());
            out.extend_from_slice(&[1, 0]);
            for w in [24u32, 0, self.types.len() as u32, self.types.len() as u32, self.strings.len() as u32] {
                out.extend_from_slice(&w.to_le_bytes());
            }
            out.extend_from_slice(&self.types);
            out.extend_from_slice(&self.strings);
            out
        }
    }

    fn sample() -> Btf {
        let mut b = Builder::new();
        // [1] int
        b.t("int", 1, false, 0, 4, &[(1 << 24) | 32]);
        // [2] unsigned char
        b.t("unsigned char", 1, false, 0, 1, &[8]);
        // [3] char
        b.t("char", 1, false, 0, 1, &[(1 << 24) | 8]);
        // [4] char[8]
        b.t("", 3, false, 0, 0, &[3, 1, 8]);
        // [5] enum e { A = 1, B = -1 }
        let a = b.s("A");
        let bb = b.s("B");
        b.t("e", 6, true, 2, 4, &[a, 1, bb, (-1i32) as u32]);
        // [6] struct s { int x; unsigned y:3 (bitfield); unsigned z:5; char name[8]; enum e k; } kflag
        let x = b.s("x");
        let y = b.s("y");
        let z = b.s("z");
        let nm = b.s("name");
        let k = b.s("k");
        b.t("s", 4, true, 5, 20, &[x, 1, 0, y, 7, 32 | (3 << 24), z, 7, 35 | (5 << 24), nm, 4, 64, k, 5, 128]);
        // [7] unsigned int
        b.t("unsigned int", 1, false, 0, 4, &[32]);
        // [8] typedef struct s s_t
        b.t("s_t", 8, false, 0, 6, &[]);
        // [9] const s_t
        b.t("", 10, false, 0, 8, &[]);
        // [10] ptr to [9]
        b.t("", 2, false, 0, 9, &[]);
        // [11] enum64 big { BIG = 1 << 40 }
        let big = b.s("BIG");
        b.t("big", 19, false, 1, 8, &[big, 0, 1 << 8]);
        // [12] float
        b.t("double", 16, false, 0, 8, &[]);
        // [13] decl_tag on s
        b.t("tag", 17, false, 0, 6, &[u32::MAX]);
        // [14] type_tag
        b.t("user", 18, false, 0, 1, &[]);
        // [15] struct task_struct___old { int pid; }
        let pid = b.s("pid");
        b.t("task_struct___old", 4, false, 1, 4, &[pid, 1, 0]);
        Btf::parse(&b.build()).expect("parses")
    }

    #[test]
    fn kinds_and_lookups() {
        let btf = sample();
        assert_eq!(btf.len(), 16);
        assert_eq!(btf.type_by_id(11).map(|t| t.kind), Some(Kind::Enum64));
        assert_eq!(btf.type_by_id(11).map(|t| t.enum_values()[0].value), Some(1 << 40));
        assert_eq!(btf.type_by_id(12).map(|t| t.kind), Some(Kind::Float));
        assert_eq!(btf.type_by_id(13).map(|t| t.kind), Some(Kind::DeclTag));
        assert_eq!(btf.type_by_id(14).map(|t| t.kind), Some(Kind::TypeTag));
        assert_eq!(btf.find_by_name_kind("s", Kind::Struct), Some(6));
        assert_eq!(btf.find_by_name("s_t"), vec![8]);
        assert_eq!(btf.ids_by_essential_name("task_struct"), &[15]);
        assert_eq!(btf.skip_mods_and_typedefs(9).map(|(id, _)| id), Some(6));
        assert_eq!(btf.skip_mods(9).map(|(id, _)| id), Some(8));
        assert_eq!(btf.display_type(10), "const s_t *");
        assert_eq!(btf.display_type(4), "char[8]");
        let s = btf.type_by_id(6).expect("s");
        assert_eq!(s.members()[1].bit_offset, 32);
        assert_eq!(s.members()[1].bitfield_size, 3);
        assert_eq!(s.members()[2].bit_offset, 35);
    }

    #[test]
    fn sizes_and_alignment() {
        let btf = sample();
        assert_eq!(btf.resolve_size(4), Ok(8));
        assert_eq!(btf.resolve_size(6), Ok(20));
        assert_eq!(btf.resolve_size(9), Ok(20));
        assert_eq!(btf.resolve_size(10), Ok(8));
        assert_eq!(btf.align_of(6), Ok(4));
        assert_eq!(btf.align_of(12), Ok(8));
        assert!(btf.resolve_size(0).is_err());
        assert!(btf.resolve_size(999).is_err());
    }

    #[test]
    fn name_lookups_scan_then_index() {
        let btf = sample();
        let scanned = (btf.find_by_name("task_struct___old"), btf.ids_by_essential_name("task_struct"));
        assert_eq!(scanned, (vec![15], vec![15]));
        assert_eq!(btf.find_by_name("task_struct"), Vec::<u32>::new());
        for _ in 0..SCANS_BEFORE_INDEX {
            btf.find_by_name("no such name");
        }
        assert!(btf.names.get().is_some(), "the index is built after {SCANS_BEFORE_INDEX} scans");
        assert_eq!((btf.find_by_name("task_struct___old"), btf.ids_by_essential_name("task_struct")), scanned);
        assert_eq!(btf.find_by_name("s"), vec![6]);
        assert_eq!(btf.find_by_name(""), Vec::<u32>::new());
    }

    #[test]
    fn vmlinux_is_decoded_on_demand() {
        let Ok(data) = std::fs::read("/sys/kernel/btf/vmlinux") else {
            eprintln!("SKIP: no /sys/kernel/btf/vmlinux");
            return;
        };
        let btf = Btf::parse_vec(data).unwrap();
        assert_eq!(btf.decoded_types(), 0);
        let task = btf.find_by_name_kind("task_struct", Kind::Struct).unwrap();
        let flavors = btf.ids_by_essential_name("task_struct");
        assert!(flavors.contains(&task));
        // The struct's chunk, and those of the other types named `task_struct` (a FWD?).
        assert!(btf.decoded_types() <= CHUNK * flavors.len(), "{} types decoded", btf.decoded_types());
        for _ in 0..SCANS_BEFORE_INDEX {
            btf.find_by_name("no such name");
        }
        assert!(btf.names.get().is_some());
        assert_eq!(btf.find_by_name_kind("task_struct", Kind::Struct), Some(task));
        assert_eq!(btf.ids_by_essential_name("task_struct"), flavors);
        assert_eq!(btf.types().count(), btf.len() - 1);
    }

    #[test]
    fn essential_names() {
        assert_eq!(essential_name("task_struct___old"), "task_struct");
        assert_eq!(essential_name("task_struct"), "task_struct");
        assert_eq!(essential_name("a___b___c"), "a___b");
        assert_eq!(essential_name("____x"), "____x");
        assert_eq!(essential_name("x____y"), "x____y");
        assert_eq!(essential_name("ab___"), "ab___");
        assert_eq!(essential_name(""), "");
    }

    #[test]
    fn formats_values() {
        let btf = sample();
        let mut data = Vec::new();
        data.extend_from_slice(&(-5i32).to_le_bytes());
        data.extend_from_slice(&(0b1011_0101_u32).to_le_bytes()); // y = 0b101 = 5, z = 0b10110 = 22
        data.extend_from_slice(b"abc\0\0\0\0\0");
        data.extend_from_slice(&(-1i32).to_le_bytes());
        let v = btf.format_value(8, &data);
        assert_eq!(v, serde_json::json!({"x": -5, "y": 5, "z": 22, "name": "abc", "k": "B"}));
        // Non-printable char array: numbers.
        let v = btf.format_value(4, &[1, 2, 0, 0, 0, 0, 0, 0]);
        assert_eq!(v, serde_json::json!([1, 2, 0, 0, 0, 0, 0, 0]));
        // Short data gives nulls, never a panic.
        let v = btf.format_value(6, &[1, 0]);
        assert_eq!(v["x"], Value::Null);
        assert_eq!(btf.format_value(12, &2.5f64.to_le_bytes()), serde_json::json!(2.5));
        assert_eq!(btf.format_value(11, &(1u64 << 40).to_le_bytes()), serde_json::json!("BIG"));
        assert_eq!(btf.format_value(999, &[]), Value::Null);
    }

    #[test]
    fn malformed_never_panics() {
        let mut b = Builder::new();
        b.t("int", 1, false, 0, 4, &[32]);
        b.t("loop", 8, false, 0, 3, &[]);
        b.t("loop2", 8, false, 0, 2, &[]);
        let blob = b.build();
        let btf = Btf::parse(&blob).expect("parses");
        assert!(btf.resolve_size(2).is_err());
        assert!(btf.skip_mods_and_typedefs(2).is_none());
        assert_eq!(btf.format_value(2, &[0; 8]), Value::Null);
        for len in 0..blob.len() {
            let _ = Btf::parse(&blob[..len]);
        }
        let mut bad = blob.clone();
        bad[0] = 0;
        assert!(matches!(Btf::parse(&bad), Err(BtfError::BadMagic(_))));
    }
}
