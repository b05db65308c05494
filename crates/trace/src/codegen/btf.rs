//! Kernel structs through BTF: `curtask->comm`, `((struct sock *)arg0)->__sk_common.skc_family`.
//! A struct is a *place*: a value of type [`Ty::Record`] whose slot holds its address; a
//! field of a place is read with `bpf_probe_read_kernel` (or `_user`).

use super::emit::r;
use super::expr::{Loc, Val};
use super::stmt::{err, ProbeGen};
use crate::diag::{Diagnostic, Span};
use crate::types::Ty;
use bpfbox_isa::{AluOp, Operand, Size};
use bpfbox_object::btf::Kind;
use bpfbox_object::Btf;

/// A member found by name, anonymous structs and unions searched through.
fn find_member(btf: &Btf, id: u32, name: &str, depth: u32) -> Option<(u32, u32, u32)> {
    if depth > 8 {
        return None;
    }
    let (_, t) = btf.skip_mods_and_typedefs(id)?;
    for m in t.members() {
        let mname = btf.name(m.name_off);
        if mname == name {
            return Some((m.bit_offset, m.type_id, m.bitfield_size));
        }
        if mname.is_empty() {
            if let Some((off, ty, bits)) = find_member(btf, m.type_id, name, depth + 1) {
                return Some((m.bit_offset + off, ty, bits));
            }
        }
    }
    None
}

impl ProbeGen<'_, '_> {
    fn kernel_btf(&self, span: Span) -> Result<std::sync::Arc<Btf>, Diagnostic> {
        self.g.btf().ok_or_else(|| {
            err(span, "struct types need the kernel's BTF (/sys/kernel/btf/vmlinux), which this system does not have")
        })
    }

    /// `struct NAME` / `union NAME` → its BTF id.
    pub fn record_type(&self, name: &str, user: bool, span: Span) -> Result<Ty, Diagnostic> {
        let btf = self.kernel_btf(span)?;
        let (kind, bare) = match name.split_once(' ') {
            Some(("struct", n)) => (Kind::Struct, n.trim()),
            Some(("union", n)) => (Kind::Union, n.trim()),
            _ => (Kind::Struct, name.trim()),
        };
        let id = btf
            .find_by_name_kind(bare, kind)
            .ok_or_else(|| err(span, format!("unknown type `{name}` (not in the kernel's BTF)")))?;
        Ok(Ty::Record { btf_id: id, name: name.to_string(), user })
    }

    /// The type a BTF type id gives a value read from memory (None: unsupported).
    fn ty_of_btf(&self, btf: &Btf, id: u32, user: bool) -> Option<Ty> {
        let (rid, t) = btf.skip_mods_and_typedefs(id)?;
        Some(match t.kind {
            Kind::Int => {
                let bits = (t.size() * 8) as u8;
                Ty::Int { bits, signed: t.is_signed() && bits <= 64 }
            }
            Kind::Enum | Kind::Enum64 => Ty::Int { bits: (t.size() * 8) as u8, signed: t.kind_flag },
            Kind::Ptr => {
                let pointee = match btf.skip_mods_and_typedefs(t.type_id()) {
                    Some((pid, pt)) if matches!(pt.kind, Kind::Struct | Kind::Union) => {
                        let kw = if pt.kind == Kind::Struct { "struct" } else { "union" };
                        Ty::Record { btf_id: pid, name: format!("{kw} {}", btf.name(pt.name_off)), user }
                    }
                    Some((pid, _)) => self.ty_of_btf(btf, pid, user).unwrap_or(Ty::Int { bits: 8, signed: false }),
                    None => Ty::Int { bits: 8, signed: false },
                };
                Ty::Ptr { user, pointee: Box::new(pointee) }
            }
            Kind::Struct | Kind::Union => {
                let kw = if t.kind == Kind::Struct { "struct" } else { "union" };
                Ty::Record { btf_id: rid, name: format!("{kw} {}", btf.name(t.name_off)), user }
            }
            Kind::Array => {
                let a = t.array()?;
                let (_, et) = btf.skip_mods_and_typedefs(a.elem_type)?;
                if et.kind == Kind::Int && et.size() == 1 {
                    Ty::Str(a.nelems.max(1))
                } else {
                    return None;
                }
            }
            _ => return None,
        })
    }

    /// A place for `*ptr` / `ptr->`: the pointer's value is the struct's address.
    pub fn deref_record(&mut self, v: &Val, span: Span) -> Result<Val, Diagnostic> {
        match &v.ty {
            Ty::Ptr { pointee, .. } if matches!(**pointee, Ty::Record { .. }) => {
                Ok(Val { ty: (**pointee).clone(), loc: v.loc.clone() })
            }
            t => Err(err(span, format!("`->` needs a pointer to a struct, not {}", t.name()))),
        }
    }

    /// `place.field`: the member's value (read from memory), or a nested place.
    pub fn record_field(&mut self, place: &Val, field: &str, span: Span) -> Result<Val, Diagnostic> {
        let Ty::Record { btf_id, name, user } = &place.ty else {
            return Err(err(span, format!("`.{field}` needs a struct, not {}", place.ty.name())));
        };
        let btf = self.kernel_btf(span)?;
        let (bit_off, mty, bitfield) = find_member(&btf, *btf_id, field, 0)
            .ok_or_else(|| err(span, format!("{name} has no field named `{field}`")))?;
        if bitfield != 0 || bit_off % 8 != 0 {
            return Err(err(span, format!("`{field}` of {name} is a bitfield, which bpfbox cannot read yet")));
        }
        let ty = self.ty_of_btf(&btf, mty, *user).ok_or_else(|| {
            err(span, format!("`{field}` of {name} has a type bpfbox cannot read yet ({})", btf.display_type(mty)))
        })?;
        // The member's address.
        let off = (bit_off / 8) as i64;
        let addr = match &place.loc {
            Loc::Const(a) => Loc::Const(a.wrapping_add(off)),
            _ => {
                self.int_to_reg(&Val { ty: Ty::U64, loc: place.loc.clone() }, 1, span)?;
                self.e.mov_imm(r(2), off);
                self.e.alu(AluOp::Add, r(1), Operand::Reg(r(2)));
                let slot = self.e.alloc(8, span)?;
                self.e.stx(Size::DW, r(10), slot, r(1));
                Loc::Stack(slot)
            }
        };
        if let Ty::Record { .. } = ty {
            return Ok(Val { ty, loc: addr });
        }
        let size = match &ty {
            Ty::Str(n) => *n,
            Ty::Int { bits, .. } => *bits as u32 / 8,
            _ => 8,
        };
        let out = self.e.alloc(size.max(8), span)?;
        self.e.zero(out, size.max(8));
        self.int_to_reg(&Val { ty: Ty::U64, loc: addr }, 3, span)?;
        self.e.probe_read(out, size, *user, false);
        let v = Val { ty: ty.clone(), loc: Loc::Stack(out) };
        match ty {
            Ty::Int { bits, signed: true } if bits < 64 => self.resize_int(v, bits, true, span),
            Ty::Int { bits, signed: false } if bits < 64 => Ok(Val { ty: Ty::Int { bits, signed: false }, loc: v.loc }),
            _ => Ok(v),
        }
    }
}
