//! CO-RE (compile once, run everywhere) relocations, resolved the way libbpf's
//! `relo_core.c` does: the local access specification (`0:1:2` on a root type) is
//! parsed against the object's BTF, candidate types are searched in the target BTF
//! by essential name (a `___flavor` suffix is ignored) and compatible kind, each
//! candidate's access path is walked member by member (by name, looking through
//! anonymous structs and unions), and the value the instruction needs (a byte
//! offset, a size, an existence flag, a shift, a type id, an enum value...) is
//! computed for the local and the target side. All matching candidates must agree.
//!
//! When no candidate matches, field offsets and sizes and `ENUMVAL_VALUE` *poison*
//! the instruction (it becomes `call 0xbad2310`, as libbpf does, so that a verifier
//! or an interpreter refuses it only if it is reached), while existence checks
//! resolve to 0.

use crate::btf::{essential_name, Btf, Kind, INT_SIGNED};
use crate::btf_ext::{CoreRelo, CoreReloKind};
use bpfbox_isa::{CallTarget, Imm64, Insn, Operand, Size};
use std::collections::HashMap;

/// The helper id libbpf writes into a poisoned instruction (`call 0xbad2310`).
pub const POISON_HELPER: i32 = 0xbad2310;

/// libbpf's `BPF_CORE_SPEC_MAX_LEN`.
const SPEC_MAX_LEN: usize = 64;
/// Recursion bound of the compatibility checks.
const MAX_DEPTH: i32 = 32;

/// Why a relocation could not be computed or applied (libbpf fails the whole object
/// in these cases; bpfbox poisons the instruction and reports the reason).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoreError {
    #[error("{0}")]
    Invalid(String),
    #[error("unsupported: {0}")]
    Unsupported(String),
}

fn invalid<T>(msg: impl Into<String>) -> Result<T, CoreError> {
    Err(CoreError::Invalid(msg.into()))
}

/// One step of an access path.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Accessor {
    type_id: u32,
    idx: u32,
    /// Member or enumerator name; `None` for array indexing.
    name: Option<String>,
}

/// A parsed access specification on one BTF.
#[derive(Debug, Clone)]
struct Spec<'b> {
    btf: &'b Btf,
    root_type_id: u32,
    kind: CoreReloKind,
    /// Named accessors and array indices (anonymous members are not listed).
    spec: Vec<Accessor>,
    /// Every index walked, anonymous members included.
    raw_spec: Vec<u32>,
    bit_offset: u64,
}

impl<'b> Spec<'b> {
    fn new(btf: &'b Btf, root: u32, kind: CoreReloKind) -> Spec<'b> {
        Spec { btf, root_type_id: root, kind, spec: Vec::new(), raw_spec: Vec::new(), bit_offset: 0 }
    }

    /// `task_struct.pid` style text for reports.
    fn describe(&self) -> String {
        let mut s = self.btf.type_name(self.root_type_id).to_string();
        if s.is_empty() {
            s = self.btf.display_type(self.root_type_id);
        }
        if self.kind.is_field_based() {
            for (i, a) in self.spec.iter().enumerate() {
                match &a.name {
                    Some(n) => {
                        s.push('.');
                        s.push_str(n);
                    }
                    None if i == 0 && a.idx == 0 => {}
                    None => s.push_str(&format!("[{}]", a.idx)),
                }
            }
        } else if self.kind.is_enumval_based() {
            if let Some(n) = self.spec.first().and_then(|a| a.name.as_ref()) {
                s.push_str("::");
                s.push_str(n);
            }
        }
        s
    }
}

fn sz(btf: &Btf, id: u32) -> Result<u64, CoreError> {
    btf.resolve_size(id).map_err(|e| CoreError::Invalid(e.to_string()))
}

fn skip(btf: &Btf, id: u32) -> Result<(u32, &crate::btf::Type), CoreError> {
    btf.skip_mods_and_typedefs(id).ok_or_else(|| CoreError::Invalid(format!("bad type [{id}]")))
}

fn kind_core_compat(a: Kind, b: Kind) -> bool {
    a == b || (a.is_any_enum() && b.is_any_enum())
}

/// Whether `acc` (the accessor before an array step) names the last member of its
/// struct and the array has no elements: a flexible array member.
fn is_flex_arr(btf: &Btf, acc: Option<&Accessor>, nelems: u32) -> bool {
    let Some(acc) = acc else { return false };
    if acc.name.is_none() || nelems > 0 {
        return false;
    }
    btf.type_by_id(acc.type_id).is_some_and(|t| acc.idx as usize + 1 == t.members().len())
}

/// libbpf's `bpf_core_parse_spec`.
fn parse_spec<'b>(btf: &'b Btf, type_id: u32, access: &str, kind: CoreReloKind) -> Result<Spec<'b>, CoreError> {
    let mut spec = Spec::new(btf, type_id, kind);
    if kind.is_type_based() {
        if access != "0" {
            return invalid(format!("type-based relocation with access string `{access}`"));
        }
        return Ok(spec);
    }
    for part in access.split(':') {
        let idx: u32 = part.trim().parse().map_err(|_| CoreError::Invalid(format!("bad access string `{access}`")))?;
        if spec.raw_spec.len() == SPEC_MAX_LEN {
            return invalid("access string too long");
        }
        spec.raw_spec.push(idx);
    }
    let (mut id, t) = skip(btf, type_id)?;
    let first = spec.raw_spec[0];
    if kind.is_enumval_based() {
        if !t.kind.is_any_enum() || spec.raw_spec.len() > 1 || first as usize >= t.enum_values().len() {
            return invalid(format!("enum value access `{access}` on {}", btf.display_type(type_id)));
        }
        let name = btf.name(t.enum_values()[first as usize].name_off).to_string();
        spec.spec.push(Accessor { type_id: id, idx: first, name: Some(name) });
        return Ok(spec);
    }
    if !kind.is_field_based() {
        return invalid("unknown relocation kind");
    }
    spec.spec.push(Accessor { type_id: id, idx: first, name: None });
    spec.bit_offset = first as u64 * sz(btf, id)? * 8;
    for i in 1..spec.raw_spec.len() {
        let (cur, t) = skip(btf, id)?;
        id = cur;
        let idx = spec.raw_spec[i];
        if t.kind.is_composite() {
            let Some(m) = t.members().get(idx as usize) else {
                return invalid(format!("member #{idx} of {} does not exist", btf.display_type(id)));
            };
            spec.bit_offset += m.bit_offset as u64;
            if m.name_off != 0 {
                let name = btf.name(m.name_off);
                if name.is_empty() {
                    return invalid("member name is not in the string table");
                }
                spec.spec.push(Accessor { type_id: id, idx, name: Some(name.to_string()) });
            }
            id = m.type_id;
        } else if let Some(a) = t.array() {
            let flex = is_flex_arr(btf, spec.spec.last(), a.nelems);
            let (eid, _) = skip(btf, a.elem_type)?;
            if !flex && idx >= a.nelems {
                return invalid(format!("index {idx} out of array bounds ({})", a.nelems));
            }
            spec.spec.push(Accessor { type_id: eid, idx, name: None });
            spec.bit_offset += idx as u64 * sz(btf, eid)? * 8;
            id = eid;
        } else {
            return invalid(format!("access `{access}` walks into {} (not a struct, union or array)", t.kind.name()));
        }
    }
    Ok(spec)
}

/// libbpf's `bpf_core_fields_are_compat`.
fn fields_are_compat(lb: &Btf, lid: u32, tb: &Btf, tid: u32) -> Result<bool, CoreError> {
    let (mut lid, mut tid) = (lid, tid);
    for _ in 0..MAX_DEPTH {
        let (_, lt) = skip(lb, lid)?;
        let (_, tt) = skip(tb, tid)?;
        if lt.kind.is_composite() && tt.kind.is_composite() {
            return Ok(true);
        }
        if !kind_core_compat(lt.kind, tt.kind) {
            return Ok(false);
        }
        return Ok(match lt.kind {
            Kind::Ptr | Kind::Float => true,
            Kind::Fwd | Kind::Enum | Kind::Enum64 => {
                let ln = essential_name(lb.name(lt.name_off));
                let tn = essential_name(tb.name(tt.name_off));
                ln.is_empty() || tn.is_empty() || ln == tn
            }
            Kind::Int => lt.int().is_some_and(|i| i.1 == 0) && tt.int().is_some_and(|i| i.1 == 0),
            Kind::Array => {
                lid = lt.array().map_or(0, |a| a.elem_type);
                tid = tt.array().map_or(0, |a| a.elem_type);
                continue;
            }
            _ => false,
        });
    }
    invalid("type nesting too deep")
}

/// libbpf's `__bpf_core_types_are_compat`.
fn types_are_compat(lb: &Btf, lid: u32, tb: &Btf, tid: u32, level: i32) -> Result<bool, CoreError> {
    let (Some(l0), Some(t0)) = (lb.type_by_id(lid), tb.type_by_id(tid)) else { return invalid("bad type id") };
    if !kind_core_compat(l0.kind, t0.kind) {
        return Ok(false);
    }
    let (mut lid, mut tid) = (lid, tid);
    for _ in 0..MAX_DEPTH {
        let (_, lt) = skip(lb, lid)?;
        let (_, tt) = skip(tb, tid)?;
        if !kind_core_compat(lt.kind, tt.kind) {
            return Ok(false);
        }
        match lt.kind {
            Kind::Unknown | Kind::Struct | Kind::Union | Kind::Enum | Kind::Enum64 | Kind::Fwd => return Ok(true),
            Kind::Int => return Ok(lt.int().is_some_and(|i| i.1 == 0) && tt.int().is_some_and(|i| i.1 == 0)),
            Kind::Ptr => {
                lid = lt.type_id();
                tid = tt.type_id();
            }
            Kind::Array => {
                lid = lt.array().map_or(0, |a| a.elem_type);
                tid = tt.array().map_or(0, |a| a.elem_type);
            }
            Kind::FuncProto => {
                if lt.params().len() != tt.params().len() {
                    return Ok(false);
                }
                for (lp, tp) in lt.params().iter().zip(tt.params()) {
                    if level <= 0 {
                        return invalid("type nesting too deep");
                    }
                    let (la, _) = skip(lb, lp.type_id)?;
                    let (ta, _) = skip(tb, tp.type_id)?;
                    if !types_are_compat(lb, la, tb, ta, level - 1)? {
                        return Ok(false);
                    }
                }
                lid = skip(lb, lt.type_id())?.0;
                tid = skip(tb, tt.type_id())?.0;
            }
            _ => return Ok(false),
        }
    }
    invalid("type nesting too deep")
}

/// libbpf's `bpf_core_names_match`: anonymous names match anything.
fn names_match(lb: &Btf, loff: u32, tb: &Btf, toff: u32) -> bool {
    let (ln, tn) = (lb.name(loff), tb.name(toff));
    ln.is_empty() || tn.is_empty() || essential_name(ln) == essential_name(tn)
}

fn enums_match(lb: &Btf, lt: &crate::btf::Type, tb: &Btf, tt: &crate::btf::Type) -> bool {
    if lt.size() != tt.size() || lt.enum_values().len() > tt.enum_values().len() {
        return false;
    }
    lt.enum_values().iter().all(|le| tt.enum_values().iter().any(|te| names_match(lb, le.name_off, tb, te.name_off)))
}

fn composites_match(
    lb: &Btf,
    lt: &crate::btf::Type,
    tb: &Btf,
    tt: &crate::btf::Type,
    behind_ptr: bool,
    level: i32,
) -> Result<bool, CoreError> {
    if lt.members().len() > tt.members().len() {
        return Ok(false);
    }
    for lm in lt.members() {
        let mut matched = false;
        for tm in tt.members() {
            if !names_match(lb, lm.name_off, tb, tm.name_off) {
                continue;
            }
            if types_match(lb, lm.type_id, tb, tm.type_id, behind_ptr, level - 1)? {
                matched = true;
                break;
            }
        }
        if !matched {
            return Ok(false);
        }
    }
    Ok(true)
}

/// libbpf's `__bpf_core_types_match` (TYPE_MATCHES).
fn types_match(lb: &Btf, lid: u32, tb: &Btf, tid: u32, behind_ptr: bool, level: i32) -> Result<bool, CoreError> {
    if level <= 0 {
        return invalid("type nesting too deep");
    }
    let (mut lid, mut tid, mut behind_ptr) = (lid, tid, behind_ptr);
    for _ in 0..MAX_DEPTH {
        let (Some(l0), Some(t0)) = (lb.type_by_id(lid), tb.type_by_id(tid)) else { return invalid("bad type id") };
        if !names_match(lb, l0.name_off, tb, t0.name_off) {
            return Ok(false);
        }
        let (_, lt) = skip(lb, lid)?;
        let (_, tt) = skip(tb, tid)?;
        let (lk, tk) = (lt.kind, tt.kind);
        match lk {
            Kind::Unknown => return Ok(lk == tk),
            Kind::Fwd => {
                let lf = lt.kind_flag;
                return Ok(if behind_ptr {
                    if lk == tk {
                        lf == tt.kind_flag
                    } else {
                        (tk == Kind::Struct && !lf) || (tk == Kind::Union && lf)
                    }
                } else {
                    lk == tk && lf == tt.kind_flag
                });
            }
            Kind::Enum | Kind::Enum64 => return Ok(tk.is_any_enum() && enums_match(lb, lt, tb, tt)),
            Kind::Struct | Kind::Union => {
                return if behind_ptr {
                    if lk == tk {
                        Ok(true)
                    } else if tk != Kind::Fwd {
                        Ok(false)
                    } else {
                        Ok((lk == Kind::Union) == tt.kind_flag)
                    }
                } else if lk != tk {
                    Ok(false)
                } else {
                    composites_match(lb, lt, tb, tt, behind_ptr, level)
                };
            }
            Kind::Int => {
                if lk != tk {
                    return Ok(false);
                }
                let ls = lt.int().is_some_and(|i| i.0 & INT_SIGNED != 0);
                let ts = tt.int().is_some_and(|i| i.0 & INT_SIGNED != 0);
                return Ok(lt.size() == tt.size() && ls == ts);
            }
            Kind::Ptr => {
                if lk != tk {
                    return Ok(false);
                }
                behind_ptr = true;
                lid = lt.type_id();
                tid = tt.type_id();
            }
            Kind::Array => {
                let (Some(la), Some(ta)) = (lt.array(), tt.array()) else { return Ok(false) };
                if lk != tk || la.nelems != ta.nelems {
                    return Ok(false);
                }
                lid = la.elem_type;
                tid = ta.elem_type;
            }
            Kind::FuncProto => {
                if lk != tk || lt.params().len() != tt.params().len() {
                    return Ok(false);
                }
                for (lp, tp) in lt.params().iter().zip(tt.params()) {
                    if !types_match(lb, lp.type_id, tb, tp.type_id, behind_ptr, level - 1)? {
                        return Ok(false);
                    }
                }
                lid = lt.type_id();
                tid = tt.type_id();
            }
            _ => return Ok(false),
        }
    }
    invalid("type nesting too deep")
}

/// libbpf's `bpf_core_match_member`: find `local_acc`'s member by name in target
/// composite `tid`, descending into anonymous members. On success the accessor is
/// pushed to `spec` and the member's type id returned.
fn match_member(
    lb: &Btf,
    local_acc: &Accessor,
    tb: &Btf,
    tid: u32,
    spec: &mut Spec<'_>,
    depth: usize,
) -> Result<Option<u32>, CoreError> {
    if depth > SPEC_MAX_LEN {
        return invalid("type nesting too deep");
    }
    let lt = lb.type_by_id(local_acc.type_id).ok_or_else(|| CoreError::Invalid("bad local type".into()))?;
    let lm = *lt.members().get(local_acc.idx as usize).ok_or_else(|| CoreError::Invalid("bad local member".into()))?;
    let local_name = lb.name(lm.name_off);
    let (tid, tt) = skip(tb, tid)?;
    if !tt.kind.is_composite() {
        return Ok(None);
    }
    for (i, m) in tt.members().iter().enumerate() {
        if spec.raw_spec.len() == SPEC_MAX_LEN {
            return invalid("access path too deep");
        }
        spec.bit_offset += m.bit_offset as u64;
        spec.raw_spec.push(i as u32);
        let tname = tb.name(m.name_off);
        if tname.is_empty() {
            if let Some(found) = match_member(lb, local_acc, tb, m.type_id, spec, depth + 1)? {
                return Ok(Some(found));
            }
        } else if tname == local_name {
            if fields_are_compat(lb, lm.type_id, tb, m.type_id)? {
                spec.spec.push(Accessor { type_id: tid, idx: i as u32, name: Some(tname.to_string()) });
                return Ok(Some(m.type_id));
            }
            // Same name, incompatible type: no match (libbpf returns here).
            spec.bit_offset -= m.bit_offset as u64;
            spec.raw_spec.pop();
            return Ok(None);
        }
        spec.bit_offset -= m.bit_offset as u64;
        spec.raw_spec.pop();
    }
    Ok(None)
}

/// libbpf's `bpf_core_spec_match`: `Ok(None)` if the candidate does not match.
fn spec_match<'b>(local: &Spec<'_>, tb: &'b Btf, targ_id: u32) -> Result<Option<Spec<'b>>, CoreError> {
    let mut targ = Spec::new(tb, targ_id, local.kind);
    if local.kind.is_type_based() {
        let ok = if local.kind == CoreReloKind::TypeMatches {
            types_match(local.btf, local.root_type_id, tb, targ_id, false, MAX_DEPTH)?
        } else {
            types_are_compat(local.btf, local.root_type_id, tb, targ_id, MAX_DEPTH)?
        };
        return Ok(ok.then_some(targ));
    }
    let Some(lacc) = local.spec.first() else { return invalid("empty access spec") };
    if local.kind.is_enumval_based() {
        let (tid, tt) = skip(tb, targ_id)?;
        if !tt.kind.is_any_enum() {
            return Ok(None);
        }
        let lname = essential_name(lacc.name.as_deref().unwrap_or(""));
        for (i, e) in tt.enum_values().iter().enumerate() {
            let tname = tb.name(e.name_off);
            if essential_name(tname) == lname {
                targ.spec.push(Accessor { type_id: tid, idx: i as u32, name: Some(tname.to_string()) });
                targ.raw_spec.push(i as u32);
                return Ok(Some(targ));
            }
        }
        return Ok(None);
    }
    if !local.kind.is_field_based() {
        return invalid("unknown relocation kind");
    }
    let mut tid = targ_id;
    for (i, lacc) in local.spec.iter().enumerate() {
        let (cur, tt) = skip(tb, tid)?;
        tid = cur;
        if lacc.name.is_some() {
            match match_member(local.btf, lacc, tb, tid, &mut targ, 0)? {
                Some(next) => tid = next,
                None => return Ok(None),
            }
        } else {
            if i > 0 {
                let Some(a) = tt.array() else { return Ok(None) };
                let flex = is_flex_arr(tb, targ.spec.last(), a.nelems);
                if !flex && lacc.idx >= a.nelems {
                    return Ok(None);
                }
                tid = skip(tb, a.elem_type)?.0;
            }
            if targ.raw_spec.len() == SPEC_MAX_LEN {
                return invalid("access path too deep");
            }
            targ.spec.push(Accessor { type_id: tid, idx: lacc.idx, name: None });
            targ.raw_spec.push(lacc.idx);
            targ.bit_offset += lacc.idx as u64 * sz(tb, tid)? * 8;
        }
    }
    Ok(Some(targ))
}

/// The result of one relocation (libbpf's `struct bpf_core_relo_res`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CoreRes {
    /// The value the compiler put in the instruction (local BTF).
    pub orig_val: u64,
    /// The value for the target.
    pub new_val: u64,
    /// Replace the instruction by `call 0xbad2310`.
    pub poison: bool,
    /// Check that the instruction holds `orig_val` before patching.
    pub validate: bool,
    /// The load/store cannot be resized safely.
    pub fail_memsz_adjust: bool,
    pub orig_sz: u32,
    pub new_sz: u32,
    orig_type_id: u32,
    new_type_id: u32,
}

/// Outcome of a field computation: a value, or "poison the instruction".
enum Calc<T> {
    Val(T),
    Poison,
}

struct FieldVal {
    val: u64,
    size: u32,
    type_id: u32,
    validate: bool,
}

/// libbpf's `bpf_core_calc_field_relo`.
fn calc_field(kind: CoreReloKind, spec: Option<&Spec<'_>>) -> Result<Calc<FieldVal>, CoreError> {
    if kind == CoreReloKind::FieldExists {
        return Ok(Calc::Val(FieldVal { val: spec.is_some() as u64, size: 0, type_id: 0, validate: true }));
    }
    let Some(spec) = spec else { return Ok(Calc::Poison) };
    let btf = spec.btf;
    let Some(acc) = spec.spec.last() else { return invalid("empty access spec") };
    if acc.name.is_none() {
        // Array element (or the root itself).
        let size = sz(btf, acc.type_id)?;
        return match kind {
            CoreReloKind::FieldByteOffset => Ok(Calc::Val(FieldVal {
                val: spec.bit_offset / 8,
                size: size as u32,
                type_id: acc.type_id,
                validate: true,
            })),
            CoreReloKind::FieldByteSize => Ok(Calc::Val(FieldVal { val: size, size: 0, type_id: 0, validate: true })),
            _ => invalid(format!("relocation {} cannot be applied to an array element", kind.name())),
        };
    }
    let t = btf.type_by_id(acc.type_id).ok_or_else(|| CoreError::Invalid("bad type".into()))?;
    let m = *t.members().get(acc.idx as usize).ok_or_else(|| CoreError::Invalid("bad member".into()))?;
    let (field_type_id, mt) = skip(btf, m.type_id)?;
    let bit_off = spec.bit_offset;
    let mut bit_sz = m.bitfield_size as u64;
    let bitfield = bit_sz > 0;
    let (byte_off, byte_sz);
    if bitfield {
        let mut bsz = mt.size() as u64;
        if bsz == 0 {
            return invalid("bitfield of a zero-sized type");
        }
        let mut boff = bit_off / 8 / bsz * bsz;
        while bit_off + bit_sz - boff * 8 > bsz * 8 {
            if bsz >= 8 {
                return invalid("bitfield cannot be read with a 64-bit load");
            }
            bsz *= 2;
            boff = bit_off / 8 / bsz * bsz;
        }
        byte_off = boff;
        byte_sz = bsz;
    } else {
        byte_sz = sz(btf, field_type_id)?;
        byte_off = bit_off / 8;
        bit_sz = byte_sz * 8;
    }
    let mut validate = !bitfield;
    let (val, size, type_id) = match kind {
        CoreReloKind::FieldByteOffset => {
            if bitfield {
                (byte_off, 0, 0)
            } else {
                (byte_off, byte_sz as u32, field_type_id)
            }
        }
        CoreReloKind::FieldByteSize => (byte_sz, 0, 0),
        CoreReloKind::FieldSigned => {
            validate = true;
            ((mt.kind.is_any_enum() && mt.kind_flag || mt.int().is_some_and(|i| i.0 & INT_SIGNED != 0)) as u64, 0, 0)
        }
        CoreReloKind::FieldLshiftU64 => {
            let v = 64i64 - (bit_off + bit_sz - byte_off * 8) as i64;
            (v as u64, 0, 0)
        }
        CoreReloKind::FieldRshiftU64 => {
            validate = true;
            (64 - bit_sz, 0, 0)
        }
        _ => return Err(CoreError::Unsupported(kind.name().into())),
    };
    Ok(Calc::Val(FieldVal { val, size, type_id, validate }))
}

/// libbpf's `bpf_core_calc_type_relo`.
fn calc_type(kind: CoreReloKind, spec: Option<&Spec<'_>>) -> Result<(u64, bool), CoreError> {
    let Some(spec) = spec else { return Ok((0, true)) };
    match kind {
        CoreReloKind::TypeIdTarget => Ok((spec.root_type_id as u64, false)),
        CoreReloKind::TypeExists | CoreReloKind::TypeMatches => Ok((1, true)),
        CoreReloKind::TypeSize => Ok((sz(spec.btf, spec.root_type_id)?, true)),
        _ => Err(CoreError::Unsupported(kind.name().into())),
    }
}

/// libbpf's `bpf_core_calc_enumval_relo`.
fn calc_enumval(kind: CoreReloKind, spec: Option<&Spec<'_>>) -> Result<Calc<u64>, CoreError> {
    match kind {
        CoreReloKind::EnumvalExists => Ok(Calc::Val(spec.is_some() as u64)),
        CoreReloKind::EnumvalValue => {
            let Some(spec) = spec else { return Ok(Calc::Poison) };
            let Some(acc) = spec.spec.first() else { return invalid("empty access spec") };
            let t = spec.btf.type_by_id(acc.type_id).ok_or_else(|| CoreError::Invalid("bad enum".into()))?;
            let e = t.enum_values().get(acc.idx as usize).ok_or_else(|| CoreError::Invalid("bad enumerator".into()))?;
            Ok(Calc::Val(e.value))
        }
        _ => Err(CoreError::Unsupported(kind.name().into())),
    }
}

/// libbpf's `bpf_core_calc_relo`: the local and target values of one relocation.
fn calc_relo(kind: CoreReloKind, local: &Spec<'_>, targ: Option<&Spec<'_>>) -> Result<CoreRes, CoreError> {
    let mut res = CoreRes { validate: true, ..CoreRes::default() };
    if kind.is_field_based() {
        let l = match calc_field(kind, Some(local))? {
            Calc::Val(v) => v,
            Calc::Poison => {
                res.poison = true;
                return Ok(res);
            }
        };
        res.orig_val = l.val;
        res.orig_sz = l.size;
        res.orig_type_id = l.type_id;
        res.validate = l.validate;
        match calc_field(kind, targ)? {
            Calc::Val(t) => {
                res.new_val = t.val;
                res.new_sz = t.size;
                res.new_type_id = t.type_id;
            }
            Calc::Poison => {
                res.poison = true;
                return Ok(res);
            }
        }
        if res.orig_sz != res.new_sz {
            let (Some(ot), Some(nt)) =
                (local.btf.type_by_id(res.orig_type_id), targ.and_then(|t| t.btf.type_by_id(res.new_type_id)))
            else {
                res.fail_memsz_adjust = true;
                return Ok(res);
            };
            let both_ptr = ot.kind == Kind::Ptr && nt.kind == Kind::Ptr;
            let both_unsigned = ot.kind == Kind::Int
                && nt.kind == Kind::Int
                && ot.int().is_some_and(|i| i.0 & INT_SIGNED == 0)
                && nt.int().is_some_and(|i| i.0 & INT_SIGNED == 0);
            res.fail_memsz_adjust = !(both_ptr || both_unsigned);
        }
    } else if kind.is_type_based() {
        let (o, v) = calc_type(kind, Some(local))?;
        res.orig_val = o;
        res.validate = v;
        res.new_val = calc_type(kind, targ)?.0;
    } else {
        match (calc_enumval(kind, Some(local))?, calc_enumval(kind, targ)?) {
            (Calc::Val(o), Calc::Val(n)) => {
                res.orig_val = o;
                res.new_val = n;
            }
            _ => res.poison = true,
        }
    }
    Ok(res)
}

/// What a relocation resolved to, for reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub res: CoreRes,
    /// The local access path (`task_struct.pid`).
    pub local: String,
    /// The matched target access path (`task_struct.pid`), if a candidate matched.
    pub target: Option<String>,
}

/// Resolves relocations of one object against one target, caching candidates.
#[derive(Debug)]
pub struct Relocator<'a> {
    local: &'a Btf,
    target: &'a Btf,
    cands: HashMap<u32, Vec<u32>>,
}

impl<'a> Relocator<'a> {
    pub fn new(local: &'a Btf, target: &'a Btf) -> Relocator<'a> {
        Relocator { local, target, cands: HashMap::new() }
    }

    /// Candidates for local type `id`: target types of a compatible kind with the
    /// same essential name (libbpf's `bpf_core_find_cands`).
    fn candidates(&mut self, id: u32) -> Result<Vec<u32>, CoreError> {
        if let Some(c) = self.cands.get(&id) {
            return Ok(c.clone());
        }
        let lt = self.local.type_by_id(id).ok_or_else(|| CoreError::Invalid(format!("no local type [{id}]")))?;
        let name = essential_name(self.local.name(lt.name_off));
        let c: Vec<u32> = self
            .target
            .ids_by_essential_name(name)
            .into_iter()
            .filter(|&t| self.target.type_by_id(t).is_some_and(|tt| kind_core_compat(lt.kind, tt.kind)))
            .collect();
        self.cands.insert(id, c.clone());
        Ok(c)
    }

    /// The local access path of `relo` (`task_struct.pid`), for reports; the root
    /// type's name when the access string does not parse.
    pub fn describe(&self, relo: &CoreRelo) -> String {
        let parsed = CoreReloKind::from_u32(relo.kind).and_then(|kind| {
            let access = self.local.str_at(relo.access_str_off)?;
            parse_spec(self.local, relo.type_id, access, kind).ok()
        });
        parsed.map_or_else(|| self.local.display_type(relo.type_id), |s| s.describe())
    }

    /// Compute one relocation (libbpf's `bpf_core_calc_relo_insn`).
    pub fn resolve(&mut self, relo: &CoreRelo) -> Result<Resolved, CoreError> {
        let kind = CoreReloKind::from_u32(relo.kind)
            .ok_or_else(|| CoreError::Unsupported(format!("relocation kind {}", relo.kind)))?;
        let lt = self
            .local
            .type_by_id(relo.type_id)
            .ok_or_else(|| CoreError::Invalid(format!("no local type [{}]", relo.type_id)))?;
        let access = self
            .local
            .str_at(relo.access_str_off)
            .ok_or_else(|| CoreError::Invalid("access string is not in the string table".into()))?;
        let local = parse_spec(self.local, relo.type_id, access, kind)
            .map_err(|e| CoreError::Invalid(format!("parsing [{}] + {access}: {e}", relo.type_id)))?;
        let local_desc = local.describe();
        if kind == CoreReloKind::TypeIdLocal {
            let v = relo.type_id as u64;
            let res = CoreRes { orig_val: v, new_val: v, validate: false, ..CoreRes::default() };
            return Ok(Resolved { res, local: local_desc, target: None });
        }
        if self.local.name(lt.name_off).is_empty() {
            return Err(CoreError::Unsupported(format!("{} relocation on an anonymous type", kind.name())));
        }
        let mut best: Option<(CoreRes, Spec<'_>)> = None;
        for cand in self.candidates(relo.type_id)? {
            let Some(cspec) = spec_match(&local, self.target, cand)? else { continue };
            let cres = calc_relo(kind, &local, Some(&cspec))?;
            match &best {
                None => best = Some((cres, cspec)),
                Some((bres, bspec)) => {
                    if cspec.bit_offset != bspec.bit_offset {
                        return invalid(format!(
                            "field offset ambiguity between candidates: {} != {} bits",
                            cspec.bit_offset, bspec.bit_offset
                        ));
                    }
                    if cres.poison != bres.poison || cres.new_val != bres.new_val {
                        return invalid(format!(
                            "relocation decision ambiguity between candidates: {} != {}",
                            cres.new_val, bres.new_val
                        ));
                    }
                }
            }
        }
        match best {
            Some((res, spec)) => Ok(Resolved { res, local: local_desc, target: Some(spec.describe()) }),
            None => Ok(Resolved { res: calc_relo(kind, &local, None)?, local: local_desc, target: None }),
        }
    }
}

/// Replace `insns[idx]` (both slots of an `lddw`) with `call 0xbad2310`.
///
/// The second slot of an `lddw` is never touched on its own (the program would lose
/// its slot structure).
pub fn poison(insns: &mut [Insn], idx: usize) {
    if matches!(insns.get(idx), Some(Insn::LoadImm64Tail) | None) {
        return;
    }
    let was_lddw = matches!(insns.get(idx), Some(Insn::LoadImm64 { .. }));
    if let Some(i) = insns.get_mut(idx) {
        *i = Insn::Call(CallTarget::Helper(POISON_HELPER));
    }
    if was_lddw {
        if let Some(i) = insns.get_mut(idx + 1) {
            *i = Insn::Call(CallTarget::Helper(POISON_HELPER));
        }
    }
}

fn size_from_bytes(n: u32) -> Option<Size> {
    Some(match n {
        1 => Size::B,
        2 => Size::H,
        4 => Size::W,
        8 => Size::DW,
        _ => return None,
    })
}

/// Apply a computed relocation to `insns[idx]` (libbpf's `bpf_core_patch_insn`).
/// Returns `Ok(true)` when the instruction was poisoned instead of patched.
pub fn patch(insns: &mut [Insn], idx: usize, res: &CoreRes) -> Result<bool, CoreError> {
    let Some(insn) = insns.get_mut(idx) else { return invalid(format!("instruction {idx} does not exist")) };
    if *insn == Insn::LoadImm64Tail {
        return invalid("relocation on the second slot of an lddw");
    }
    if res.poison {
        poison(insns, idx);
        return Ok(true);
    }
    let Some(insn) = insns.get_mut(idx) else { return invalid(format!("instruction {idx} does not exist")) };
    let (orig, new) = (res.orig_val, res.new_val);
    let mut do_poison = false;
    match insn {
        Insn::Alu { src: Operand::Imm(imm), .. } => {
            if res.validate && *imm as i64 as u64 != orig {
                return invalid(format!("unexpected ALU immediate: got {}, expected {orig} -> {new}", *imm));
            }
            *imm = new as i32;
        }
        Insn::Load { size, off, .. } | Insn::Store { size, off, .. } | Insn::Atomic { size, off, .. } => {
            if res.validate && *off as i64 as u64 != orig {
                return invalid(format!("unexpected load/store offset: got {}, expected {orig} -> {new}", *off));
            }
            if new > i16::MAX as u64 {
                return invalid(format!("load/store offset {new} is too big"));
            }
            if res.fail_memsz_adjust {
                do_poison = true;
            } else {
                *off = new as i16;
                if res.new_sz != res.orig_sz {
                    if size.bytes() as u32 != res.orig_sz {
                        return invalid(format!(
                            "unexpected memory size: got {}, expected {}",
                            size.bytes(),
                            res.orig_sz
                        ));
                    }
                    *size = size_from_bytes(res.new_sz)
                        .ok_or_else(|| CoreError::Invalid(format!("invalid new memory size {}", res.new_sz)))?;
                }
            }
        }
        Insn::LoadImm64 { imm: Imm64::Value(v), .. } => {
            if res.validate && *v != orig {
                return invalid(format!("unexpected lddw value: got {v}, expected {orig} -> {new}"));
            }
            *v = new;
        }
        Insn::LoadImm64 { .. } => return invalid("lddw with a pseudo source cannot be CO-RE relocated"),
        other => return invalid(format!("cannot CO-RE relocate instruction {other:?}")),
    }
    if do_poison {
        poison(insns, idx);
        return Ok(true);
    }
    Ok(false)
}
