//! DWARF of a clang-built BPF object, read with `gimli`: line tables, functions with
//! their parameters and variables (locations, location lists, frame base) and types.
//!
//! Relocatable objects keep code addresses as relocations against each code
//! section's symbol, and every section starts at 0. Before parsing, the debug
//! sections are relocated in a copy: a code address becomes
//! `section_base(section) + offset`, with `section_base` = `(index + 1) << 32`, so
//! addresses of different sections never collide. [`Address`] splits them again.

use gimli::{AttributeValue, EndianSlice, LittleEndian, Reader};
use object::{Object, ObjectSection, ObjectSymbol, RelocationTarget};
use std::collections::HashMap;

type R<'a> = EndianSlice<'a, LittleEndian>;

/// A code address: ELF section index and byte offset in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address {
    pub section: usize,
    pub offset: u64,
}

impl Address {
    fn from_relocated(a: u64) -> Option<Address> {
        let hi = a >> 32;
        (hi > 0).then(|| Address { section: (hi - 1) as usize, offset: a & 0xffff_ffff })
    }
}

/// One row of a line table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineRow {
    pub addr: Address,
    pub file: usize,
    pub line: u32,
    pub is_stmt: bool,
    pub prologue_end: bool,
}

/// Where a variable lives over a range of addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// In register `n`.
    Reg(u8),
    /// In memory at frame base (r10) + offset.
    FrameOffset(i64),
    /// In memory at register + offset.
    RegOffset(u8, i64),
    /// The value register + offset (`DW_OP_bregN off, DW_OP_stack_value`).
    RegValue(u8, i64),
    /// A constant value.
    Value(u64),
    /// Not available here.
    OptimizedOut,
}

/// Locations over address ranges (`None`: everywhere).
pub type LocationList = Vec<(Option<(u64, u64)>, Location)>;

/// A parameter or local variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    pub name: String,
    pub ty: Option<TypeId>,
    pub is_param: bool,
    /// Locations by address range `[start, end)` in the function's section; an empty
    /// list means optimised out everywhere. `None` range: valid everywhere.
    pub locations: LocationList,
    /// The lexical block's ranges (section offsets), if the variable is block-scoped.
    pub scope: Option<Vec<(u64, u64)>>,
    pub decl_line: u32,
}

impl Variable {
    /// The location at `offset` (a byte offset in the function's section).
    pub fn location_at(&self, offset: u64) -> Location {
        for (range, loc) in &self.locations {
            match range {
                None => return loc.clone(),
                Some((s, e)) if (*s..*e).contains(&offset) => return loc.clone(),
                _ => {}
            }
        }
        Location::OptimizedOut
    }

    /// Whether the variable's block contains `offset`.
    pub fn in_scope(&self, offset: u64) -> bool {
        self.scope.as_ref().is_none_or(|rs| rs.iter().any(|(s, e)| (*s..*e).contains(&offset)))
    }
}

/// A function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    pub name: String,
    pub low: Address,
    /// Exclusive end offset in the same section.
    pub high: u64,
    pub decl_file: usize,
    pub decl_line: u32,
    pub ret: Option<TypeId>,
    pub vars: Vec<Variable>,
}

/// Index into [`DebugInfo::types`].
pub type TypeId = usize;

/// A C type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Type {
    Base {
        name: String,
        size: u64,
        signed: bool,
        is_char: bool,
        is_bool: bool,
    },
    Pointer {
        to: Option<TypeId>,
    },
    Struct {
        name: String,
        size: u64,
        members: Vec<Member>,
        is_union: bool,
    },
    Array {
        of: Option<TypeId>,
        count: Option<u64>,
    },
    Enum {
        name: String,
        size: u64,
        values: Vec<(String, i64)>,
    },
    /// typedef, const, volatile: the name (typedefs) and the type behind it.
    Alias {
        name: Option<String>,
        qualifier: Option<&'static str>,
        to: Option<TypeId>,
    },
    Func,
    Unknown,
}

/// A struct or union member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub name: String,
    pub ty: Option<TypeId>,
    pub offset: u64,
    /// Bit field: (bit offset from `offset` * 8, bit size).
    pub bits: Option<(u64, u64)>,
}

/// Everything the debugger reads from DWARF.
#[derive(Debug, Clone, Default)]
pub struct DebugInfo {
    pub files: Vec<String>,
    pub lines: Vec<LineRow>,
    pub functions: Vec<Function>,
    pub types: Vec<Type>,
}

/// Why DWARF could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DwarfError {
    #[error("not an ELF object: {0}")]
    Elf(String),
    #[error("the object has no DWARF (.debug_info); build it with -g")]
    Missing,
    #[error("malformed DWARF: {0}")]
    Gimli(#[from] gimli::Error),
}

/// Relocated copies of the debug sections.
fn relocated_sections(elf: &object::File<'_>) -> HashMap<String, Vec<u8>> {
    let mut out = HashMap::new();
    for sec in elf.sections() {
        let Ok(name) = sec.name() else { continue };
        if !name.starts_with(".debug_") {
            continue;
        }
        let Ok(data) = sec.uncompressed_data() else { continue };
        let mut data = data.into_owned();
        for (off, rel) in sec.relocations() {
            let RelocationTarget::Symbol(si) = rel.target() else { continue };
            let Ok(sym) = elf.symbol_by_index(si) else { continue };
            let base = match sym.section_index() {
                Some(i) => match elf.section_by_index(i) {
                    Ok(s) if s.kind() == object::SectionKind::Text => ((i.0 as u64) + 1) << 32,
                    _ => 0,
                },
                None => 0,
            };
            let off = off as usize;
            let size = match rel.flags() {
                object::RelocationFlags::Elf { r_type: 2 } => 8,     // R_BPF_64_ABS64
                object::RelocationFlags::Elf { r_type: 3 | 4 } => 4, // R_BPF_64_ABS32, NODYLD32
                _ => continue,
            };
            let Some(slot) = data.get_mut(off..off + size) else { continue };
            if size == 8 {
                let mut b = [0u8; 8];
                b.copy_from_slice(slot);
                let v = u64::from_le_bytes(b).wrapping_add(sym.address()).wrapping_add(base);
                slot.copy_from_slice(&v.to_le_bytes());
            } else {
                let mut b = [0u8; 4];
                b.copy_from_slice(slot);
                let v = u32::from_le_bytes(b).wrapping_add(sym.address() as u32);
                slot.copy_from_slice(&v.to_le_bytes());
            }
        }
        out.insert(name.to_string(), data);
    }
    out
}

impl DebugInfo {
    /// Read the DWARF of an ELF object.
    pub fn parse(elf_bytes: &[u8]) -> Result<DebugInfo, DwarfError> {
        let elf = object::File::parse(elf_bytes).map_err(|e| DwarfError::Elf(e.to_string()))?;
        let secs = relocated_sections(&elf);
        if !secs.contains_key(".debug_info") {
            return Err(DwarfError::Missing);
        }
        let empty: &[u8] = &[];
        let dwarf = gimli::Dwarf::load(|id| -> Result<R<'_>, gimli::Error> {
            let data = secs.get(id.name()).map(|v| v.as_slice()).unwrap_or(empty);
            Ok(EndianSlice::new(data, LittleEndian))
        })?;
        let mut b =
            Builder { dwarf: &dwarf, info: DebugInfo::default(), type_ids: HashMap::new(), file_ids: HashMap::new() };
        let mut units = dwarf.units();
        while let Some(header) = units.next()? {
            let unit = dwarf.unit(header)?;
            b.unit(&unit)?;
        }
        let mut info = b.info;
        info.lines.sort_by_key(|r| r.addr);
        Ok(info)
    }

    /// The function containing `addr`.
    pub fn function_at(&self, addr: Address) -> Option<&Function> {
        self.functions.iter().find(|f| f.low.section == addr.section && (f.low.offset..f.high).contains(&addr.offset))
    }

    pub fn function_named(&self, name: &str) -> Option<&Function> {
        self.functions.iter().find(|f| f.name == name)
    }

    /// The name of a type as C writes it.
    pub fn type_name(&self, ty: Option<TypeId>) -> String {
        self.type_name_depth(ty, 0)
    }

    fn type_name_depth(&self, ty: Option<TypeId>, depth: usize) -> String {
        let Some(id) = ty else { return "void".into() };
        if depth > 16 {
            return "...".into();
        }
        let type_name = |t: Option<TypeId>| self.type_name_depth(t, depth + 1);
        match &self.types[id] {
            Type::Base { name, .. } => name.clone(),
            Type::Pointer { to } => {
                let inner = type_name(*to);
                if inner.ends_with('*') {
                    format!("{inner}*")
                } else {
                    format!("{inner} *")
                }
            }
            Type::Struct { name, is_union, .. } => {
                format!(
                    "{} {}",
                    if *is_union { "union" } else { "struct" },
                    if name.is_empty() { "{...}" } else { name }
                )
            }
            Type::Array { of, count } => {
                format!("{} [{}]", type_name(*of), count.map(|c| c.to_string()).unwrap_or_default())
            }
            Type::Enum { name, .. } => format!("enum {name}"),
            Type::Alias { name: Some(n), .. } => n.clone(),
            Type::Alias { qualifier: Some(q), to, .. } => format!("{q} {}", type_name(*to)),
            Type::Alias { to, .. } => type_name(*to),
            Type::Func => "function".into(),
            Type::Unknown => "?".into(),
        }
    }

    /// Follow typedefs and qualifiers.
    pub fn resolve(&self, ty: Option<TypeId>) -> Option<TypeId> {
        let mut t = ty?;
        for _ in 0..32 {
            match &self.types[t] {
                Type::Alias { to, .. } => t = (*to)?,
                _ => return Some(t),
            }
        }
        Some(t)
    }

    /// Size in bytes of a type (0 when unknown).
    pub fn size_of(&self, ty: Option<TypeId>) -> u64 {
        self.size_of_depth(ty, 0)
    }

    fn size_of_depth(&self, ty: Option<TypeId>, depth: usize) -> u64 {
        let Some(t) = self.resolve(ty) else { return 0 };
        match &self.types[t] {
            Type::Base { size, .. } | Type::Struct { size, .. } | Type::Enum { size, .. } => *size,
            Type::Pointer { .. } => 8,
            Type::Array { of, count } if depth < 16 => {
                count.unwrap_or(0).saturating_mul(self.size_of_depth(*of, depth + 1))
            }
            _ => 0,
        }
    }
}

struct Builder<'d, 'a> {
    dwarf: &'d gimli::Dwarf<R<'a>>,
    info: DebugInfo,
    /// (unit offset in .debug_info, die offset) -> type id.
    type_ids: HashMap<(usize, usize), TypeId>,
    file_ids: HashMap<String, usize>,
}

impl<'a> Builder<'_, 'a> {
    fn string(&self, unit: &gimli::Unit<R<'a>>, v: AttributeValue<R<'a>>) -> Option<String> {
        self.dwarf.attr_string(unit, v).ok().map(|s| s.to_string_lossy().into_owned())
    }

    fn name(&self, unit: &gimli::Unit<R<'a>>, e: &gimli::DebuggingInformationEntry<R<'a>>) -> Option<String> {
        e.attr_value(gimli::DW_AT_name).and_then(|v| self.string(unit, v))
    }

    fn file_id(&mut self, path: String) -> usize {
        let n = self.info.files.len();
        *self.file_ids.entry(path.clone()).or_insert_with(|| {
            self.info.files.push(path);
            n
        })
    }

    fn unit(&mut self, unit: &gimli::Unit<R<'a>>) -> Result<(), gimli::Error> {
        let unit_off = unit.header.offset().0;
        let comp_dir = unit.comp_dir.map(|d| d.to_string_lossy().into_owned()).unwrap_or_default();
        // Line table; file indices of this unit -> global file ids.
        let mut unit_files: Vec<usize> = Vec::new();
        if let Some(program) = unit.line_program.clone() {
            let header = program.header().clone();
            let first = if header.version() >= 5 { 0 } else { 1 };
            for (i, f) in header.file_names().iter().enumerate() {
                let _ = i;
                let mut path = self.string(unit, f.path_name()).unwrap_or_default();
                if !path.starts_with('/') {
                    if let Some(dir) = f.directory(&header).and_then(|d| self.string(unit, d)) {
                        path = format!("{dir}/{path}");
                    }
                }
                if !path.starts_with('/') && !comp_dir.is_empty() {
                    path = format!("{comp_dir}/{path}");
                }
                unit_files.push(self.file_id(path));
            }
            let mut rows = program.rows();
            while let Some((_, row)) = rows.next_row()? {
                if row.end_sequence() {
                    continue;
                }
                let Some(addr) = Address::from_relocated(row.address()) else { continue };
                let Some(line) = row.line() else { continue };
                let fi = (row.file_index() as usize).checked_sub(first);
                let Some(&file) = fi.and_then(|i| unit_files.get(i)) else { continue };
                self.info.lines.push(LineRow {
                    addr,
                    file,
                    line: line.get() as u32,
                    is_stmt: row.is_stmt(),
                    prologue_end: row.prologue_end(),
                });
            }
        }
        let first = if unit.header.version() >= 5 { 0 } else { 1 };
        let decl_file = |v: Option<AttributeValue<R<'a>>>| -> usize {
            match v {
                Some(AttributeValue::FileIndex(i)) => {
                    (i as usize).checked_sub(first).and_then(|i| unit_files.get(i).copied()).unwrap_or(0)
                }
                _ => 0,
            }
        };
        // Functions and their variables.
        let mut tree = unit.entries_tree(None)?;
        let root = tree.root()?;
        let mut children = root.children();
        while let Some(child) = children.next()? {
            let e = child.entry();
            if e.tag() != gimli::DW_TAG_subprogram {
                continue;
            }
            let Some(name) = self.name(unit, e) else { continue };
            let Some(low) = e.attr_value(gimli::DW_AT_low_pc) else { continue };
            let low = match low {
                AttributeValue::Addr(a) => a,
                AttributeValue::DebugAddrIndex(i) => self.dwarf.address(unit, i)?,
                _ => continue,
            };
            let Some(low) = Address::from_relocated(low) else { continue };
            let high = match e.attr_value(gimli::DW_AT_high_pc) {
                Some(AttributeValue::Udata(n)) => low.offset + n,
                Some(AttributeValue::Addr(a)) => a & 0xffff_ffff,
                _ => low.offset,
            };
            let ret = self.type_ref(unit, unit_off, e.attr_value(gimli::DW_AT_type))?;
            let mut f = Function {
                name,
                low,
                high,
                decl_file: decl_file(e.attr_value(gimli::DW_AT_decl_file)),
                decl_line: line_attr(e),
                ret,
                vars: Vec::new(),
            };
            self.variables(unit, unit_off, child, None, &mut f)?;
            self.info.functions.push(f);
        }
        Ok(())
    }

    fn variables(
        &mut self,
        unit: &gimli::Unit<R<'a>>,
        unit_off: usize,
        node: gimli::EntriesTreeNode<'_, '_, R<'a>>,
        scope: Option<Vec<(u64, u64)>>,
        f: &mut Function,
    ) -> Result<(), gimli::Error> {
        let mut children = node.children();
        while let Some(child) = children.next()? {
            let e = child.entry();
            match e.tag() {
                gimli::DW_TAG_formal_parameter | gimli::DW_TAG_variable => {
                    let Some(name) = self.name(unit, e) else { continue };
                    let ty = self.type_ref(unit, unit_off, e.attr_value(gimli::DW_AT_type))?;
                    let locations = self.locations(unit, e.attr_value(gimli::DW_AT_location))?;
                    f.vars.push(Variable {
                        name,
                        ty,
                        is_param: e.tag() == gimli::DW_TAG_formal_parameter,
                        locations,
                        scope: scope.clone(),
                        decl_line: line_attr(e),
                    });
                }
                gimli::DW_TAG_lexical_block => {
                    let mut ranges = Vec::new();
                    let mut it = self.dwarf.die_ranges(unit, e)?;
                    while let Some(r) = it.next()? {
                        if let (Some(a), Some(b)) = (Address::from_relocated(r.begin), Address::from_relocated(r.end)) {
                            ranges.push((a.offset, b.offset));
                        }
                    }
                    let inner = if ranges.is_empty() { scope.clone() } else { Some(ranges) };
                    self.variables(unit, unit_off, child, inner, f)?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn locations(
        &self,
        unit: &gimli::Unit<R<'a>>,
        v: Option<AttributeValue<R<'a>>>,
    ) -> Result<LocationList, gimli::Error> {
        let Some(v) = v else { return Ok(Vec::new()) };
        if let AttributeValue::Exprloc(expr) = v {
            return Ok(vec![(None, self.expr(unit, expr))]);
        }
        let mut out = Vec::new();
        if let Some(mut it) = self.dwarf.attr_locations(unit, v)? {
            while let Some(l) = it.next()? {
                let (Some(a), Some(b)) = (Address::from_relocated(l.range.begin), Address::from_relocated(l.range.end))
                else {
                    continue;
                };
                out.push((Some((a.offset, b.offset)), self.expr(unit, l.data)));
            }
        }
        Ok(out)
    }

    /// The simple DWARF expressions clang emits for BPF.
    fn expr(&self, unit: &gimli::Unit<R<'a>>, expr: gimli::Expression<R<'a>>) -> Location {
        let mut ops = expr.operations(unit.encoding());
        let mut loc = Location::OptimizedOut;
        let mut first = true;
        while let Ok(Some(op)) = ops.next() {
            loc = match (op, first) {
                (gimli::Operation::Register { register }, true) => Location::Reg(register.0 as u8),
                (gimli::Operation::RegisterOffset { register, offset, .. }, true) => {
                    Location::RegOffset(register.0 as u8, offset)
                }
                (gimli::Operation::FrameOffset { offset }, true) => Location::FrameOffset(offset),
                (gimli::Operation::UnsignedConstant { value }, true) => Location::Value(value),
                (gimli::Operation::SignedConstant { value }, true) => Location::Value(value as u64),
                (gimli::Operation::StackValue, false) => match loc {
                    Location::RegOffset(r, o) => Location::RegValue(r, o),
                    Location::FrameOffset(o) => Location::RegValue(10, o),
                    other => other,
                },
                (gimli::Operation::Piece { .. }, false) => loc,
                _ => Location::OptimizedOut,
            };
            first = false;
        }
        loc
    }

    fn type_ref(
        &mut self,
        unit: &gimli::Unit<R<'a>>,
        unit_off: usize,
        v: Option<AttributeValue<R<'a>>>,
    ) -> Result<Option<TypeId>, gimli::Error> {
        match v {
            Some(AttributeValue::UnitRef(o)) => self.type_at(unit, unit_off, o).map(Some),
            _ => Ok(None),
        }
    }

    fn type_at(
        &mut self,
        unit: &gimli::Unit<R<'a>>,
        unit_off: usize,
        off: gimli::UnitOffset,
    ) -> Result<TypeId, gimli::Error> {
        if let Some(&id) = self.type_ids.get(&(unit_off, off.0)) {
            return Ok(id);
        }
        let id = self.info.types.len();
        self.info.types.push(Type::Unknown);
        self.type_ids.insert((unit_off, off.0), id);
        let e = unit.entry(off)?;
        let name = self.name(unit, &e);
        let size = match e.attr_value(gimli::DW_AT_byte_size) {
            Some(v) => v.udata_value().unwrap_or(0),
            None => 0,
        };
        let to = self.type_ref(unit, unit_off, e.attr_value(gimli::DW_AT_type))?;
        let ty = match e.tag() {
            gimli::DW_TAG_base_type => {
                let enc = match e.attr_value(gimli::DW_AT_encoding) {
                    Some(AttributeValue::Encoding(x)) => x,
                    _ => gimli::DW_ATE_unsigned,
                };
                Type::Base {
                    name: name.unwrap_or_default(),
                    size,
                    signed: matches!(enc, gimli::DW_ATE_signed | gimli::DW_ATE_signed_char),
                    is_char: matches!(enc, gimli::DW_ATE_signed_char | gimli::DW_ATE_unsigned_char),
                    is_bool: enc == gimli::DW_ATE_boolean,
                }
            }
            gimli::DW_TAG_pointer_type => Type::Pointer { to },
            gimli::DW_TAG_typedef => Type::Alias { name, qualifier: None, to },
            gimli::DW_TAG_const_type => Type::Alias { name: None, qualifier: Some("const"), to },
            gimli::DW_TAG_volatile_type => Type::Alias { name: None, qualifier: Some("volatile"), to },
            gimli::DW_TAG_restrict_type => Type::Alias { name: None, qualifier: None, to },
            gimli::DW_TAG_subroutine_type => Type::Func,
            gimli::DW_TAG_structure_type | gimli::DW_TAG_union_type => {
                let mut members = Vec::new();
                let mut tree = unit.entries_tree(Some(off))?;
                let root = tree.root()?;
                let mut ch = root.children();
                let mut raw = Vec::new();
                while let Some(c) = ch.next()? {
                    let m = c.entry();
                    if m.tag() != gimli::DW_TAG_member {
                        continue;
                    }
                    let mname = self.name(unit, m).unwrap_or_default();
                    let mty = match m.attr_value(gimli::DW_AT_type) {
                        Some(AttributeValue::UnitRef(o)) => Some(o),
                        _ => None,
                    };
                    let moff =
                        m.attr_value(gimli::DW_AT_data_member_location).and_then(|v| v.udata_value()).unwrap_or(0);
                    let bit_off = m.attr_value(gimli::DW_AT_data_bit_offset).and_then(|v| v.udata_value());
                    let bit_size = m.attr_value(gimli::DW_AT_bit_size).and_then(|v| v.udata_value());
                    raw.push((mname, mty, moff, bit_off, bit_size));
                }
                for (mname, mty, moff, bit_off, bit_size) in raw {
                    let ty = match mty {
                        Some(o) => Some(self.type_at(unit, unit_off, o)?),
                        None => None,
                    };
                    let (offset, bits) = match (bit_off, bit_size) {
                        (Some(bo), Some(bs)) => (bo / 8, Some((bo % 8, bs))),
                        (None, Some(bs)) => (moff, Some((0, bs))),
                        _ => (moff, None),
                    };
                    members.push(Member { name: mname, ty, offset, bits });
                }
                Type::Struct {
                    name: name.unwrap_or_default(),
                    size,
                    members,
                    is_union: e.tag() == gimli::DW_TAG_union_type,
                }
            }
            gimli::DW_TAG_array_type => {
                let mut count = None;
                let mut tree = unit.entries_tree(Some(off))?;
                let root = tree.root()?;
                let mut ch = root.children();
                while let Some(c) = ch.next()? {
                    let s = c.entry();
                    if s.tag() == gimli::DW_TAG_subrange_type {
                        count = s.attr_value(gimli::DW_AT_count).and_then(|v| v.udata_value()).or_else(|| {
                            s.attr_value(gimli::DW_AT_upper_bound).and_then(|v| v.udata_value()).map(|u| u + 1)
                        });
                        break;
                    }
                }
                Type::Array { of: to, count }
            }
            gimli::DW_TAG_enumeration_type => {
                let mut values = Vec::new();
                let mut tree = unit.entries_tree(Some(off))?;
                let root = tree.root()?;
                let mut ch = root.children();
                while let Some(c) = ch.next()? {
                    let v = c.entry();
                    if v.tag() == gimli::DW_TAG_enumerator {
                        let n = self.name(unit, v).unwrap_or_default();
                        let val = match v.attr_value(gimli::DW_AT_const_value) {
                            Some(AttributeValue::Sdata(x)) => x,
                            Some(other) => other.udata_value().unwrap_or(0) as i64,
                            None => 0,
                        };
                        values.push((n, val));
                    }
                }
                Type::Enum { name: name.unwrap_or_default(), size, values }
            }
            _ => Type::Unknown,
        };
        self.info.types[id] = ty;
        Ok(id)
    }
}

fn line_attr<T: Reader>(e: &gimli::DebuggingInformationEntry<T>) -> u32 {
    e.attr_value(gimli::DW_AT_decl_line).and_then(|v| v.udata_value()).unwrap_or(0) as u32
}
