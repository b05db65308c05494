//! Expressions: builtins, operators, casts, tracepoint fields, function calls.

use super::emit::{helper, r};
use super::stmt::{err, ProbeGen};
use super::{EventKind, MapOp, PrintfSpec};
use crate::ast::{BinOp, Expr, ExprKind, UnOp};
use crate::diag::{Diagnostic, Span};
use crate::probes::{pt_regs_offset, ProbeKind, ARG_REGS, PT_REGS};
use crate::types::{Ty, COMM_LEN, STRLEN};
use bpfbox_isa::{AluOp, Cond, Insn, Operand, Size, Width};

/// Where a value is.
#[derive(Debug, Clone, PartialEq)]
pub enum Loc {
    Const(i64),
    ConstStr(String),
    /// `r10 + off`, laid out as its type says.
    Stack(i16),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Val {
    pub ty: Ty,
    pub loc: Loc,
}

impl Val {
    fn int(v: i64) -> Val {
        Val { ty: Ty::I64, loc: Loc::Const(v) }
    }
    fn void() -> Val {
        Val { ty: Ty::Void, loc: Loc::Const(0) }
    }
}

/// What a C pointer type (`const char *`, `const char *const *`) points to.
fn c_pointee(c_type: &str, user: bool) -> Ty {
    let t = c_type.trim();
    let inner = t.strip_suffix('*').unwrap_or(t).trim();
    let inner = inner.strip_suffix("const").unwrap_or(inner).trim();
    if inner.ends_with('*') {
        return Ty::Ptr { user, pointee: Box::new(c_pointee(inner, user)) };
    }
    int_ty(inner.trim_start_matches("const ").trim()).unwrap_or(Ty::Int { bits: 8, signed: false })
}

/// A kernel symbol's address from /proc/kallsyms.
fn kallsyms_addr(sym: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/kallsyms").ok()?;
    text.lines().find_map(|l| {
        let mut it = l.split_whitespace();
        let a = it.next()?;
        let _t = it.next()?;
        (it.next()? == sym).then(|| u64::from_str_radix(a, 16).ok()).flatten()
    })
}

fn int_ty(name: &str) -> Option<Ty> {
    let t = |bits, signed| Some(Ty::Int { bits, signed });
    match name {
        "int8" | "char" | "signed char" | "s8" | "__s8" => t(8, true),
        "uint8" | "unsigned char" | "u8" | "__u8" | "bool" | "_Bool" => t(8, false),
        "int16" | "short" | "s16" | "__s16" => t(16, true),
        "uint16" | "unsigned short" | "u16" | "__u16" => t(16, false),
        "int32" | "int" | "s32" | "__s32" | "pid_t" => t(32, true),
        "uint32" | "unsigned int" | "unsigned" | "u32" | "__u32" => t(32, false),
        "int64" | "long" | "long long" | "s64" | "__s64" | "ssize_t" | "loff_t" => t(64, true),
        "uint64" | "unsigned long" | "unsigned long long" | "u64" | "__u64" | "size_t" => t(64, false),
        _ => None,
    }
}

impl ProbeGen<'_, '_> {
    /// An expression used as a statement (`printf(...)`, `@x++`, `exit()`).
    pub fn expr_stmt(&mut self, e: &Expr) -> Result<(), Diagnostic> {
        self.expr(e).map(|_| ())
    }

    pub fn expr(&mut self, e: &Expr) -> Result<Val, Diagnostic> {
        let span = e.span;
        match &e.kind {
            ExprKind::Int(v) => Ok(Val::int(*v as i64)),
            ExprKind::Str(s) => Ok(Val { ty: Ty::Str((s.len() as u32 + 1).max(1)), loc: Loc::ConstStr(s.clone()) }),
            ExprKind::Builtin(b) => self.builtin(b, span),
            ExprKind::Positional(n) => {
                let s = self.g.opts.positional.get(*n as usize - 1).cloned().unwrap_or_default();
                match parse_int(&s) {
                    Some(v) => Ok(Val::int(v)),
                    None if s.is_empty() => Ok(Val::int(0)),
                    None => Ok(Val { ty: Ty::Str(s.len() as u32 + 1), loc: Loc::ConstStr(s) }),
                }
            }
            ExprKind::PositionalCount => Ok(Val::int(self.g.opts.positional.len() as i64)),
            ExprKind::Var(n) => self.var_read(n, span),
            ExprKind::Map(m) => self.map_read(m),
            ExprKind::Call { name, args, .. } => self.call(name, args, span),
            ExprKind::Ident(n) => match self.define(n) {
                Some(v) => Ok(v),
                None => Err(err(span, format!("unknown identifier `{n}`"))),
            },
            ExprKind::Binary { op: BinOp::LogAnd, lhs, rhs } => self.logical(true, lhs, rhs, span),
            ExprKind::Binary { op: BinOp::LogOr, lhs, rhs } => self.logical(false, lhs, rhs, span),
            ExprKind::Binary { op, lhs, rhs } => {
                let a = self.expr(lhs)?;
                let b = self.expr(rhs)?;
                self.binary(*op, a, b, span)
            }
            ExprKind::Unary { op, expr } => self.unary(*op, expr, span),
            ExprKind::Ternary { cond, then, els } => self.ternary(cond, then, els, span),
            ExprKind::Field { expr, field, arrow } => self.field(expr, field, *arrow, span),
            ExprKind::Index { expr, index } => self.index(expr, index, span),
            ExprKind::Cast { ty, expr } => {
                let v = self.expr(expr)?;
                if ty.ptr_depth > 0 {
                    if !v.ty.is_int() {
                        return Err(err(span, format!("cannot cast {} to a pointer", v.ty.name())));
                    }
                    let user = matches!(v.ty, Ty::Ptr { user: true, .. })
                        || matches!(self.kind, ProbeKind::Uprobe { .. } | ProbeKind::Usdt { .. });
                    let pointee = if ty.name.starts_with("struct ") || ty.name.starts_with("union ") {
                        if ty.ptr_depth > 1 {
                            Ty::U64
                        } else {
                            self.record_type(&ty.name, user, ty.span)?
                        }
                    } else {
                        int_ty(&ty.name).unwrap_or(Ty::Int { bits: 8, signed: false })
                    };
                    return Ok(Val { ty: Ty::Ptr { user, pointee: Box::new(pointee) }, loc: v.loc });
                }
                let Some(Ty::Int { bits, signed }) = int_ty(&ty.name) else {
                    return Err(err(
                        ty.span,
                        format!(
                            "unknown type `{}` in a cast (bpfbox knows integer types; structs come with BTF)",
                            ty.name
                        ),
                    ));
                };
                if !v.ty.is_int() {
                    return Err(err(span, format!("cannot cast {} to {}", v.ty.name(), ty.name)));
                }
                self.resize(v, bits, signed, span)
            }
            ExprKind::Tuple(elems) => {
                let vals = elems.iter().map(|x| self.expr(x)).collect::<Result<Vec<_>, _>>()?;
                let tys: Vec<Ty> = vals.iter().map(|v| v.ty.clone()).collect();
                let ty = Ty::Tuple(tys.clone());
                let off = self.e.alloc(ty.size(), span)?;
                self.e.zero(off, ty.size());
                let mut o = off;
                for (v, t) in vals.iter().zip(&tys) {
                    self.store_val(v, t, 10, o, span)?;
                    o += t.size() as i16;
                }
                Ok(Val { ty, loc: Loc::Stack(off) })
            }
            ExprKind::IncDec { target, inc, prefix } => self.incdec(target, *inc, *prefix, span),
        }
    }

    /// `buf[i]` (a byte of a buffer or string, constant index) or `ptr[i]` (`*(ptr + i)`).
    fn index(&mut self, base: &Expr, index: &Expr, span: Span) -> Result<Val, Diagnostic> {
        let v = self.expr(base)?;
        let i = self.expr(index)?;
        match &v.ty {
            Ty::Buf(n) | Ty::Str(n) => {
                let Loc::Const(k) = i.loc else {
                    return Err(err(index.span, "an index into a buffer or string must be an integer literal"));
                };
                if k < 0 || k >= *n as i64 {
                    return Err(err(index.span, format!("index {k} is out of bounds (the array has {n} elements)")));
                }
                let base_off = self.in_slot(&v, span)? + if matches!(v.ty, Ty::Buf(_)) { 8 } else { 0 };
                self.e.ldx(Size::B, r(1), r(10), base_off + k as i16);
                let signed = matches!(v.ty, Ty::Str(_));
                let out = self.reg_val(1, Ty::Int { bits: 8, signed: false }, span)?;
                if signed {
                    self.resize(out, 8, true, span)
                } else {
                    Ok(out)
                }
            }
            Ty::Ptr { .. } => {
                let p = self.binary(BinOp::Add, v, i, span)?;
                self.deref_val(p, span)
            }
            t => Err(err(span, format!("cannot index {}", t.name()))),
        }
    }

    /// A `#define NAME VALUE` of the script's preamble (integer or string values).
    fn define(&self, name: &str) -> Option<Val> {
        self.g.script.preamble.iter().find_map(|(line, _)| {
            let rest = line.trim().strip_prefix("#define")?.trim();
            let (n, value) = rest.split_once(char::is_whitespace)?;
            if n != name {
                return None;
            }
            let value = value.trim();
            if let Some(s) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
                return Some(Val { ty: Ty::Str(s.len() as u32 + 1), loc: Loc::ConstStr(s.to_string()) });
            }
            parse_int(value.trim_start_matches('(').trim_end_matches(')')).map(Val::int)
        })
    }

    /// An integer in a register.
    pub fn int_to_reg(&mut self, v: &Val, reg: u8, span: Span) -> Result<(), Diagnostic> {
        if !v.ty.is_int() {
            return Err(err(span, format!("expected an integer, found {}", v.ty.name())));
        }
        match &v.loc {
            Loc::Const(c) => self.e.mov_imm(r(reg), *c),
            Loc::Stack(off) => self.e.ldx(Size::DW, r(reg), r(10), *off),
            Loc::ConstStr(_) => return Err(err(span, "expected an integer, found a string")),
        }
        Ok(())
    }

    /// A condition's truth (integer non-zero) in a register.
    pub fn truth_to_reg(&mut self, v: &Val, reg: u8, span: Span) -> Result<(), Diagnostic> {
        if matches!(v.ty, Ty::Str(_)) {
            return Err(err(span, "a string cannot be used as a condition"));
        }
        self.int_to_reg(v, reg, span)
    }

    /// The value in a stack slot (allocating one for constants).
    pub fn in_slot(&mut self, v: &Val, span: Span) -> Result<i16, Diagnostic> {
        if let Loc::Stack(off) = v.loc {
            return Ok(off);
        }
        let size = v.ty.size().max(8);
        let off = self.e.alloc(size, span)?;
        self.e.zero(off, size);
        let ty = v.ty.clone();
        self.store_val(v, &ty, 10, off, span)?;
        Ok(off)
    }

    /// A register with an integer result: store it in a fresh slot.
    fn reg_val(&mut self, reg: u8, ty: Ty, span: Span) -> Result<Val, Diagnostic> {
        let off = self.e.alloc(8, span)?;
        self.e.stx(Size::DW, r(10), off, r(reg));
        Ok(Val { ty, loc: Loc::Stack(off) })
    }

    /// Write `v` at `base + off` in the layout of `ty` (strings truncated or zero-padded).
    pub fn store_val(&mut self, v: &Val, ty: &Ty, base: u8, off: i16, span: Span) -> Result<(), Diagnostic> {
        if let Ty::Record { name, .. } = &v.ty {
            return Err(err(
                span,
                format!("{name} is a struct: it cannot be used as a value (read one of its fields)"),
            ));
        }
        match (ty, &v.loc) {
            (t, _) if t.is_int() => {
                self.int_to_reg(v, 1, span)?;
                self.e.stx(Size::DW, r(base), off, r(1));
            }
            (Ty::Str(n), Loc::ConstStr(s)) => {
                let bytes = s.as_bytes();
                let len = bytes.len().min(*n as usize - 1);
                for chunk in 0..len.div_ceil(8) {
                    let mut w = [0u8; 8];
                    let part = &bytes[chunk * 8..(chunk * 8 + 8).min(len)];
                    w[..part.len()].copy_from_slice(part);
                    self.e.mov_imm(r(1), i64::from_le_bytes(w));
                    self.e.stx(Size::DW, r(base), off + 8 * chunk as i16, r(1));
                }
                // The rest is zero already when the destination was zeroed; make sure of the
                // terminating word.
                if len % 8 == 0 && len < *n as usize {
                    self.e.st_imm(Size::DW, r(base), off + len as i16, 0);
                }
            }
            (Ty::Str(n), Loc::Stack(src)) => {
                let have = match v.ty {
                    Ty::Str(m) => m,
                    _ => return Err(err(span, format!("expected a string, found {}", v.ty.name()))),
                };
                let words = (*n).min(have).div_ceil(8);
                self.e.copy(r(base), off, r(10), *src, words * 8, r(1));
                if have > *n {
                    // Truncated: keep a terminating NUL.
                    self.e.st_imm(Size::B, r(base), off + *n as i16 - 1, 0);
                }
            }
            (Ty::Tuple(elems), Loc::Stack(src)) => {
                let Ty::Tuple(have) = &v.ty else {
                    return Err(err(span, format!("expected a tuple, found {}", v.ty.name())));
                };
                if have.len() != elems.len() {
                    return Err(err(span, "tuples of different lengths"));
                }
                let (mut so, mut d) = (*src, off);
                for (h, t) in have.iter().zip(elems) {
                    let sub = Val { ty: h.clone(), loc: Loc::Stack(so) };
                    self.store_val(&sub, t, base, d, span)?;
                    so += h.size() as i16;
                    d += t.size() as i16;
                }
            }
            (t, Loc::Stack(src)) if t.size() == v.ty.size() => {
                self.e.copy(r(base), off, r(10), *src, t.size(), r(1));
            }
            _ => return Err(err(span, format!("cannot store a {} as {}", v.ty.name(), ty.name()))),
        }
        Ok(())
    }

    pub fn resize_int(&mut self, v: Val, bits: u8, signed: bool, span: Span) -> Result<Val, Diagnostic> {
        self.resize(v, bits, signed, span)
    }

    fn resize(&mut self, v: Val, bits: u8, signed: bool, span: Span) -> Result<Val, Diagnostic> {
        let ty = Ty::Int { bits, signed };
        if let Loc::Const(c) = v.loc {
            let c = match (bits, signed) {
                (8, true) => c as i8 as i64,
                (8, false) => c as u8 as i64,
                (16, true) => c as i16 as i64,
                (16, false) => c as u16 as i64,
                (32, true) => c as i32 as i64,
                (32, false) => c as u32 as i64,
                _ => c,
            };
            return Ok(Val { ty, loc: Loc::Const(c) });
        }
        self.int_to_reg(&v, 1, span)?;
        if bits < 64 {
            let sh = 64 - bits as i32;
            self.e.alu(AluOp::Lsh, r(1), Operand::Imm(sh));
            self.e.alu(if signed { AluOp::Arsh } else { AluOp::Rsh }, r(1), Operand::Imm(sh));
        }
        self.reg_val(1, ty, span)
    }

    pub fn binary(&mut self, op: BinOp, a: Val, b: Val, span: Span) -> Result<Val, Diagnostic> {
        let str_like = |t: &Ty| matches!(t, Ty::Str(_));
        if str_like(&a.ty) || str_like(&b.ty) {
            return match op {
                BinOp::Eq | BinOp::Ne if str_like(&a.ty) && str_like(&b.ty) => self.str_eq(a, b, op == BinOp::Ne, span),
                _ => Err(err(
                    span,
                    format!("invalid operands to `{}`: {} and {}", op.symbol(), a.ty.name(), b.ty.name()),
                )),
            };
        }
        if !a.ty.is_int() || !b.ty.is_int() {
            return Err(err(
                span,
                format!("invalid operands to `{}`: {} and {}", op.symbol(), a.ty.name(), b.ty.name()),
            ));
        }
        // Pointer arithmetic: `p + n` and `p - n` advance by n elements, as in C.
        if let (Ty::Ptr { pointee, .. }, BinOp::Add | BinOp::Sub) = (&a.ty, op) {
            if matches!(b.ty, Ty::Int { .. }) {
                let elem = match &**pointee {
                    Ty::Int { bits, .. } => *bits as i64 / 8,
                    Ty::Record { btf_id, .. } => {
                        self.g.btf().and_then(|btf| btf.resolve_size(*btf_id).ok()).unwrap_or(1) as i64
                    }
                    _ => 8,
                };
                let ptr_ty = a.ty.clone();
                let scaled = self.binary(BinOp::Mul, b, Val::int(elem), span)?;
                let a_int = Val { ty: Ty::U64, loc: a.loc };
                let sum = self.binary(op, a_int, scaled, span)?;
                return Ok(Val { ty: ptr_ty, loc: sum.loc });
            }
        }
        let signed = a.ty.is_signed() || b.ty.is_signed();
        if let (Loc::Const(x), Loc::Const(y)) = (&a.loc, &b.loc) {
            if let Some(v) = fold(op, *x, *y, signed) {
                return Ok(Val::int(v));
            }
        }
        self.int_to_reg(&a, 1, span)?;
        self.int_to_reg(&b, 2, span)?;
        let alu = match op {
            BinOp::Add => Some(AluOp::Add),
            BinOp::Sub => Some(AluOp::Sub),
            BinOp::Mul => Some(AluOp::Mul),
            BinOp::Div => Some(AluOp::Div),
            BinOp::Mod => Some(AluOp::Mod),
            BinOp::BitAnd => Some(AluOp::And),
            BinOp::BitOr => Some(AluOp::Or),
            BinOp::BitXor => Some(AluOp::Xor),
            BinOp::Shl => Some(AluOp::Lsh),
            BinOp::Shr => Some(AluOp::Rsh),
            _ => None,
        };
        if let Some(alu) = alu {
            self.e.alu(alu, r(1), Operand::Reg(r(2)));
            let ty = if signed { Ty::I64 } else { Ty::U64 };
            return self.reg_val(1, ty, span);
        }
        let cond = match (op, signed) {
            (BinOp::Eq, _) => Cond::Eq,
            (BinOp::Ne, _) => Cond::Ne,
            (BinOp::Lt, true) => Cond::SLt,
            (BinOp::Le, true) => Cond::SLe,
            (BinOp::Gt, true) => Cond::SGt,
            (BinOp::Ge, true) => Cond::SGe,
            (BinOp::Lt, false) => Cond::Lt,
            (BinOp::Le, false) => Cond::Le,
            (BinOp::Gt, false) => Cond::Gt,
            (BinOp::Ge, false) => Cond::Ge,
            _ => unreachable!("logical operators are handled by the caller"),
        };
        self.compare_regs(cond, span)
    }

    /// r0 = (r1 cond r2) as 0/1, stored.
    fn compare_regs(&mut self, cond: Cond, span: Span) -> Result<Val, Diagnostic> {
        let yes = self.e.label();
        self.e.mov_imm(r(0), 1);
        self.e.jump_if(cond, r(1), Operand::Reg(r(2)), yes);
        self.e.mov_imm(r(0), 0);
        self.e.bind(yes);
        self.reg_val(0, Ty::Int { bits: 64, signed: false }, span)
    }

    /// String (in)equality with strcmp's meaning: equal up to and including the first NUL.
    pub fn str_eq(&mut self, a: Val, b: Val, negate: bool, span: Span) -> Result<Val, Diagnostic> {
        let (a, b) = if matches!(a.loc, Loc::ConstStr(_)) { (b, a) } else { (a, b) };
        let out = self.e.alloc(8, span)?;
        let ne = self.e.label();
        let done = self.e.label();
        let (Ty::Str(na), Ty::Str(nb)) = (&a.ty, &b.ty) else { unreachable!() };
        let a_off = self.in_slot(&a, span)?;
        match &b.loc {
            Loc::ConstStr(s) => {
                let bytes = s.as_bytes();
                // Compare the literal's bytes and its NUL (if the buffer can hold one).
                let n = (bytes.len() + 1).min(*na as usize);
                for i in 0..n {
                    let c = bytes.get(i).copied().unwrap_or(0);
                    self.e.ldx(Size::B, r(1), r(10), a_off + i as i16);
                    self.e.jump_if(Cond::Ne, r(1), Operand::Imm(c as i32), ne);
                }
            }
            _ => {
                let b_off = self.in_slot(&b, span)?;
                let eq = self.e.label();
                for i in 0..(*na).min(*nb) as i16 {
                    self.e.ldx(Size::B, r(1), r(10), a_off + i);
                    self.e.ldx(Size::B, r(2), r(10), b_off + i);
                    self.e.jump_if(Cond::Ne, r(1), Operand::Reg(r(2)), ne);
                    self.e.jump_if(Cond::Eq, r(1), Operand::Imm(0), eq);
                }
                self.e.bind(eq);
            }
        }
        self.e.st_imm(Size::DW, r(10), out, if negate { 0 } else { 1 });
        self.e.jump(done);
        self.e.bind(ne);
        self.e.st_imm(Size::DW, r(10), out, if negate { 1 } else { 0 });
        self.e.bind(done);
        Ok(Val { ty: Ty::Int { bits: 64, signed: false }, loc: Loc::Stack(out) })
    }

    fn logical(&mut self, and: bool, lhs: &Expr, rhs: &Expr, span: Span) -> Result<Val, Diagnostic> {
        let out = self.e.alloc(8, span)?;
        let short = self.e.label();
        let done = self.e.label();
        let a = self.expr(lhs)?;
        self.truth_to_reg(&a, 1, lhs.span)?;
        self.e.jump_if(if and { Cond::Eq } else { Cond::Ne }, r(1), Operand::Imm(0), short);
        let b = self.expr(rhs)?;
        self.truth_to_reg(&b, 1, rhs.span)?;
        let f = self.e.label();
        self.e.jump_if(Cond::Eq, r(1), Operand::Imm(0), f);
        self.e.st_imm(Size::DW, r(10), out, 1);
        self.e.jump(done);
        self.e.bind(f);
        self.e.st_imm(Size::DW, r(10), out, 0);
        self.e.jump(done);
        self.e.bind(short);
        self.e.st_imm(Size::DW, r(10), out, if and { 0 } else { 1 });
        self.e.bind(done);
        Ok(Val { ty: Ty::Int { bits: 64, signed: false }, loc: Loc::Stack(out) })
    }

    fn unary(&mut self, op: UnOp, x: &Expr, span: Span) -> Result<Val, Diagnostic> {
        let v = self.expr(x)?;
        match op {
            UnOp::Neg | UnOp::BitNot | UnOp::Not => {
                if let Loc::Const(c) = v.loc {
                    return Ok(Val::int(match op {
                        UnOp::Neg => c.wrapping_neg(),
                        UnOp::BitNot => !c,
                        _ => (c == 0) as i64,
                    }));
                }
                self.int_to_reg(&v, 1, span)?;
                match op {
                    UnOp::Neg => self.e.emit(Insn::Neg { width: Width::W64, dst: r(1) }),
                    UnOp::BitNot => self.e.alu(AluOp::Xor, r(1), Operand::Imm(-1)),
                    _ => {
                        let z = self.e.label();
                        let d = self.e.label();
                        self.e.jump_if(Cond::Eq, r(1), Operand::Imm(0), z);
                        self.e.mov_imm(r(1), 0);
                        self.e.jump(d);
                        self.e.bind(z);
                        self.e.mov_imm(r(1), 1);
                        self.e.bind(d);
                    }
                }
                let ty = if op == UnOp::Not { Ty::Int { bits: 64, signed: false } } else { Ty::I64 };
                self.reg_val(1, ty, span)
            }
            UnOp::Deref => self.deref_val(v, span),
            UnOp::AddrOf => Err(err(span, "`&` is not supported by bpfbox yet")),
        }
    }

    /// `*p`: a struct place, a pointer or an integer read through `p`.
    fn deref_val(&mut self, v: Val, span: Span) -> Result<Val, Diagnostic> {
        if matches!(&v.ty, Ty::Ptr { pointee, .. } if matches!(**pointee, Ty::Record { .. })) {
            return self.deref_record(&v, span);
        }
        let Ty::Ptr { user, pointee } = v.ty.clone() else {
            return Err(err(span, format!("cannot dereference {}", v.ty.name())));
        };
        let (bits, signed) = match *pointee {
            Ty::Int { bits, signed } => (bits, signed),
            Ty::Ptr { .. } => (64, false),
            _ => return Err(err(span, "bpfbox dereferences pointers to integers, pointers and structs")),
        };
        if let Ty::Ptr { .. } = *pointee {
            let out = self.e.alloc(8, span)?;
            self.e.zero(out, 8);
            self.int_to_reg(&v, 3, span)?;
            self.e.probe_read(out, 8, user, false);
            return Ok(Val { ty: *pointee, loc: Loc::Stack(out) });
        }
        let out = self.e.alloc(8, span)?;
        self.e.zero(out, 8);
        self.int_to_reg(&v, 3, span)?;
        self.e.probe_read(out, bits as u32 / 8, user, false);
        let val = Val { ty: Ty::Int { bits: 64, signed: false }, loc: Loc::Stack(out) };
        self.resize(val, bits, signed, span)
    }

    fn ternary(&mut self, cond: &Expr, then: &Expr, els: &Expr, span: Span) -> Result<Val, Diagnostic> {
        let c = self.expr(cond)?;
        self.truth_to_reg(&c, 1, cond.span)?;
        // Generate both arms into one slot; the type is their union, known after the first
        // round (the slot is sized for a 64-byte string at most).
        let else_l = self.e.label();
        let done = self.e.label();
        let out = self.e.alloc(STRLEN, span)?;
        self.e.zero(out, STRLEN);
        self.e.jump_if(Cond::Eq, r(1), Operand::Imm(0), else_l);
        let a = self.expr(then)?;
        // Use the arm types to decide the result type before storing.
        let a_ty = a.ty.clone();
        let mark = self.e.insns.len();
        let _ = mark;
        let b_ty_guess = self.peek_type(els).unwrap_or(a_ty.clone());
        let ty = a_ty.unify(&b_ty_guess).ok_or_else(|| {
            err(span, format!("the two arms of `?:` have different types: {} and {}", a_ty.name(), b_ty_guess.name()))
        })?;
        if ty.size() > STRLEN {
            return Err(err(span, "the arms of `?:` are too large"));
        }
        self.store_val(&a, &ty, 10, out, then.span)?;
        self.e.jump(done);
        self.e.bind(else_l);
        let b = self.expr(els)?;
        self.store_val(&b, &ty, 10, out, els.span)?;
        self.e.bind(done);
        Ok(Val { ty, loc: Loc::Stack(out) })
    }

    /// The type of a simple expression without generating code (literals, variables,
    /// builtins of fixed type); `None` when it would need generation.
    fn peek_type(&self, e: &Expr) -> Option<Ty> {
        match &e.kind {
            ExprKind::Int(_) => Some(Ty::I64),
            ExprKind::Str(s) => Some(Ty::Str(s.len() as u32 + 1)),
            ExprKind::Var(n) => self.vars.get(n).map(|(t, _)| t.clone()),
            ExprKind::Builtin(b) if b == "comm" => Some(Ty::Str(COMM_LEN)),
            _ => None,
        }
    }

    fn incdec(&mut self, target: &Expr, inc: bool, prefix: bool, span: Span) -> Result<Val, Diagnostic> {
        let one = Val::int(1);
        let op = if inc { BinOp::Add } else { BinOp::Sub };
        match &target.kind {
            ExprKind::Var(n) => {
                let old = self.var_read(n, target.span)?;
                let old_copy = Val { ty: old.ty.clone(), loc: Loc::Stack(self.copy_to_slot(&old, span)?) };
                let new = self.binary(op, old, one, span)?;
                let stmt = crate::ast::StmtKind::AssignVar {
                    name: n.clone(),
                    name_span: target.span,
                    op: None,
                    value: target.clone(),
                };
                let _ = stmt;
                self.assign_var_val(n, new.clone(), span)?;
                Ok(if prefix { new } else { old_copy })
            }
            ExprKind::Map(m) => {
                let old = self.map_read(m)?;
                let new = self.binary(op, old.clone(), one, span)?;
                let (key, key_ty) = self.map_key(m, 0)?;
                self.g.learn_map(&m.name, key_ty, crate::types::MapKind::Scalar(Ty::I64), span)?;
                let val = self.in_slot(&new, span)?;
                let idx = self.g.map_idx(&m.name);
                self.update(idx, key, val, 0);
                Ok(if prefix { new } else { old })
            }
            _ => Err(err(span, "++ and -- apply to variables and maps")),
        }
    }

    fn copy_to_slot(&mut self, v: &Val, span: Span) -> Result<i16, Diagnostic> {
        let off = self.e.alloc(v.ty.size().max(8), span)?;
        let ty = v.ty.clone();
        self.store_val(v, &ty, 10, off, span)?;
        Ok(off)
    }

    fn assign_var_val(&mut self, name: &str, v: Val, span: Span) -> Result<(), Diagnostic> {
        // Through the statement path so types are learned the same way.
        let (t, off) = self.vars.get(name).cloned().ok_or_else(|| err(span, format!("undefined variable: ${name}")))?;
        self.store_val(&v, &t, 10, off, span)
    }

    /// `args->field` (tracepoints), `$tuple.N`.
    fn field(&mut self, base: &Expr, field: &str, arrow: bool, span: Span) -> Result<Val, Diagnostic> {
        if matches!(&base.kind, ExprKind::Builtin(b) if b == "args") {
            return self.tp_field(field, span);
        }
        let v = self.expr(base)?;
        match (&v.ty, arrow) {
            (Ty::Ptr { pointee, .. }, true) if matches!(**pointee, Ty::Record { .. }) => {
                let place = self.deref_record(&v, span)?;
                return self.record_field(&place, field, span);
            }
            (Ty::Record { .. }, false) => return self.record_field(&v, field, span),
            _ => {}
        }
        if let (Ty::Tuple(elems), Ok(i)) = (&v.ty, field.parse::<usize>()) {
            let Some(t) = elems.get(i) else {
                return Err(err(
                    span,
                    format!("tuple index {i} out of range (the tuple has {} elements)", elems.len()),
                ));
            };
            let Loc::Stack(off) = v.loc else { unreachable!("tuples live on the stack") };
            let at = off + elems[..i].iter().map(Ty::size).sum::<u32>() as i16;
            return Ok(Val { ty: t.clone(), loc: Loc::Stack(at) });
        }
        Err(err(span, format!("cannot access field `{field}` of {}", v.ty.name())))
    }

    fn tp_field(&mut self, name: &str, span: Span) -> Result<Val, Diagnostic> {
        let ProbeKind::Tracepoint { category, name: tp } = &self.kind else {
            return Err(err(span, "`args` is only available in tracepoint probes in bpfbox"));
        };
        let user = category == "syscalls";
        let Some(f) = self.tp.iter().find(|f| f.name == name).cloned() else {
            let names: Vec<&str> = self.tp.iter().map(|f| f.name.as_str()).collect();
            return Err(err(
                span,
                format!("tracepoint {category}:{tp} has no field `{name}` (fields: {})", names.join(", ")),
            ));
        };
        if f.data_loc {
            // `len << 16 | offset` of the data within the record.
            let out = self.e.alloc(STRLEN, span)?;
            self.e.zero(out, STRLEN);
            self.e.ldx(Size::W, r(3), r(6), f.offset as i16);
            self.e.alu(AluOp::And, r(3), Operand::Imm(0xffff));
            self.e.alu(AluOp::Add, r(3), Operand::Reg(r(6)));
            self.e.probe_read(out, STRLEN, false, true);
            return Ok(Val { ty: Ty::Str(STRLEN), loc: Loc::Stack(out) });
        }
        if let Some(n) = f.array_len {
            let bytes =
                matches!(f.c_type.trim_start_matches("const ").trim(), "__u8" | "u8" | "unsigned char" | "uint8_t");
            if bytes && n <= 64 {
                // Byte arrays (addresses: `__u8 saddr[4]`) are buffers: ntop() and %r take them.
                let size = 8 + n;
                let out = self.e.alloc(size, span)?;
                self.e.zero(out, size);
                self.e.st_imm(Size::DW, r(10), out, n as i32);
                self.read_ctx_bytes(out + 8, f.offset, n.min(f.size));
                return Ok(Val { ty: Ty::Buf(n), loc: Loc::Stack(out) });
            }
            if f.c_type.contains("char") {
                let out = self.e.alloc(n, span)?;
                self.e.zero(out, n);
                self.read_ctx_bytes(out, f.offset, n.min(f.size));
                return Ok(Val { ty: Ty::Str(n), loc: Loc::Stack(out) });
            }
            return Err(err(
                span,
                format!("array field `{name}` of type {}[] is not supported by bpfbox yet", f.c_type),
            ));
        }
        if f.c_type.contains('*') {
            let pointee = c_pointee(&f.c_type, user);
            self.e.ldx(Size::DW, r(1), r(6), f.offset as i16);
            return self.reg_val(1, Ty::Ptr { user, pointee: Box::new(pointee) }, span);
        }
        // Integers: the C type's width when known, else the field's size.
        let (bits, signed) = match int_ty(f.c_type.trim_start_matches("const ").trim()) {
            Some(Ty::Int { bits, signed }) if bits as u32 / 8 <= f.size => (bits, signed),
            _ => ((f.size.min(8) * 8) as u8, f.signed),
        };
        let size = match bits {
            8 => Size::B,
            16 => Size::H,
            32 => Size::W,
            _ => Size::DW,
        };
        self.e.ldx(size, r(1), r(6), f.offset as i16);
        let v = self.reg_val(1, Ty::Int { bits: 64, signed: false }, span)?;
        if signed && bits < 64 {
            self.resize(v, bits, true, span)
        } else {
            Ok(Val { ty: Ty::Int { bits, signed }, loc: v.loc })
        }
    }

    /// Copy `n` bytes of the context at `off` to the stack (probe_read_kernel).
    fn read_ctx_bytes(&mut self, dst: i16, off: u32, n: u32) {
        self.e.stack_ptr(r(1), dst);
        self.e.mov_imm(r(2), n as i64);
        self.e.mov(r(3), r(6));
        self.e.alu(AluOp::Add, r(3), Operand::Imm(off as i32));
        self.e.call(helper::PROBE_READ_KERNEL);
    }

    fn builtin(&mut self, b: &str, span: Span) -> Result<Val, Diagnostic> {
        let u32t = Ty::Int { bits: 32, signed: false };
        let u64t = Ty::U64;
        match b {
            "pid" | "tid" => {
                self.e.call(helper::GET_CURRENT_PID_TGID);
                if b == "pid" {
                    self.e.alu(AluOp::Rsh, r(0), Operand::Imm(32));
                } else {
                    self.e.emit(Insn::Alu { op: AluOp::Mov, width: Width::W32, dst: r(0), src: Operand::Reg(r(0)) });
                }
                self.reg_val(0, u32t, span)
            }
            "uid" | "gid" | "username" => {
                self.e.call(helper::GET_CURRENT_UID_GID);
                if b == "gid" {
                    self.e.alu(AluOp::Rsh, r(0), Operand::Imm(32));
                } else {
                    self.e.emit(Insn::Alu { op: AluOp::Mov, width: Width::W32, dst: r(0), src: Operand::Reg(r(0)) });
                }
                self.reg_val(0, if b == "username" { Ty::Username } else { u32t }, span)
            }
            "nsecs" => {
                self.e.call(helper::KTIME_GET_NS);
                self.reg_val(0, u64t, span)
            }
            "elapsed" => {
                self.e.call(helper::KTIME_GET_NS);
                self.e.mov_imm(r(1), self.g.opts.start_ns as i64);
                self.e.alu(AluOp::Sub, r(0), Operand::Reg(r(1)));
                self.reg_val(0, u64t, span)
            }
            "cpu" => {
                self.e.call(helper::GET_SMP_PROCESSOR_ID);
                self.reg_val(0, u32t, span)
            }
            "cgroup" => {
                self.e.call(helper::GET_CURRENT_CGROUP_ID);
                self.reg_val(0, u64t, span)
            }
            "rand" => {
                self.e.call(helper::GET_PRANDOM_U32);
                self.reg_val(0, u32t, span)
            }
            "curtask" => {
                self.e.call(helper::GET_CURRENT_TASK);
                let ty = match self.g.btf() {
                    Some(_) => {
                        Ty::Ptr { user: false, pointee: Box::new(self.record_type("struct task_struct", false, span)?) }
                    }
                    None => u64t,
                };
                self.reg_val(0, ty, span)
            }
            "cpid" => Ok(Val { ty: u32t, loc: Loc::Const(self.g.opts.cpid as i64) }),
            "comm" => {
                let out = self.e.alloc(COMM_LEN, span)?;
                self.e.zero(out, COMM_LEN);
                self.e.stack_ptr(r(1), out);
                self.e.mov_imm(r(2), COMM_LEN as i64);
                self.e.call(helper::GET_CURRENT_COMM);
                Ok(Val { ty: Ty::Str(COMM_LEN), loc: Loc::Stack(out) })
            }
            "probe" => {
                let s = self.kind.full_name();
                Ok(Val { ty: Ty::Str(s.len() as u32 + 1), loc: Loc::ConstStr(s) })
            }
            "func" => {
                let s = match &self.kind {
                    ProbeKind::Uprobe { symbol, .. } => symbol.clone(),
                    ProbeKind::Kprobe { func, .. } | ProbeKind::Kfunc { func, .. } => func.clone(),
                    _ => return Err(err(span, "`func` is only available in uprobe, kprobe and kfunc probes")),
                };
                Ok(Val { ty: Ty::Str(s.len() as u32 + 1), loc: Loc::ConstStr(s) })
            }
            "retval" => match &self.kind {
                ProbeKind::Uprobe { ret: true, .. } | ProbeKind::Kprobe { ret: true, .. } => {
                    self.e.ldx(Size::DW, r(1), r(6), pt_regs_offset("ax").expect("x86-64 has ax"));
                    self.reg_val(1, Ty::I64, span)
                }
                _ => Err(err(span, "`retval` is only available in uretprobe and kretprobe probes")),
            },
            "kstack" | "ustack" => self.stack(b == "ustack", span),
            "args" => Err(err(span, "`args` is used as args->FIELD")),
            _ if b.starts_with("arg") => {
                let n: usize = b[3..].parse().map_err(|_| err(span, format!("unknown builtin `{b}`")))?;
                match &self.kind {
                    ProbeKind::Usdt { args, .. } => {
                        let a = args.get(n).cloned().ok_or_else(|| {
                            err(span, format!("`{b}`: this USDT probe has {} argument(s)", args.len()))
                        })?;
                        self.usdt_arg(&a, span)
                    }
                    k if k.has_pt_regs() => {
                        let off = ARG_REGS
                            .get(n)
                            .and_then(|reg| pt_regs_offset(reg))
                            .ok_or_else(|| err(span, format!("`{b}`: only arg0..arg5 are passed in registers")))?;
                        self.e.ldx(Size::DW, r(1), r(6), off);
                        self.reg_val(1, u64t, span)
                    }
                    ProbeKind::RawTracepoint { .. } => {
                        if n > 11 {
                            return Err(err(span, "raw tracepoints have at most 12 arguments"));
                        }
                        self.e.ldx(Size::DW, r(1), r(6), 8 * n as i16);
                        self.reg_val(1, u64t, span)
                    }
                    _ => Err(err(span, format!("`{b}` is only available in uprobe, kprobe and rawtracepoint probes"))),
                }
            }
            _ => Err(err(span, format!("unknown builtin `{b}`"))),
        }
    }

    /// A USDT argument: a register, memory at a register plus a displacement, or a constant.
    fn usdt_arg(&mut self, a: &crate::elfsyms::UsdtArg, span: Span) -> Result<Val, Diagnostic> {
        use crate::elfsyms::UsdtLoc;
        let bits = a.size * 8;
        let raw = match &a.loc {
            UsdtLoc::Const(c) => return Ok(Val { ty: Ty::Int { bits, signed: a.signed }, loc: Loc::Const(*c) }),
            UsdtLoc::Reg(off) => {
                self.e.ldx(Size::DW, r(1), r(6), *off as i16);
                self.reg_val(1, Ty::U64, span)?
            }
            UsdtLoc::Mem { reg, disp } => {
                let out = self.e.alloc(8, span)?;
                self.e.zero(out, 8);
                self.e.ldx(Size::DW, r(3), r(6), *reg as i16);
                self.e.mov_imm(r(1), *disp);
                self.e.alu(AluOp::Add, r(3), Operand::Reg(r(1)));
                self.e.probe_read(out, a.size as u32, true, false);
                Val { ty: Ty::U64, loc: Loc::Stack(out) }
            }
        };
        if bits < 64 {
            self.resize(raw, bits, a.signed, span)
        } else {
            Ok(Val { ty: Ty::Int { bits: 64, signed: a.signed }, loc: raw.loc })
        }
    }

    fn stack(&mut self, user: bool, span: Span) -> Result<Val, Diagnostic> {
        let idx = self.g.stack_idx();
        self.e.mov(r(1), r(6));
        self.e.ld_map(r(2), idx);
        self.e.mov_imm(r(3), if user { 256 } else { 0 });
        self.e.call(helper::GET_STACKID);
        // Keep the pid with user stacks (symbols are per process).
        self.e.alu(AluOp::Lsh, r(0), Operand::Imm(32));
        self.e.alu(AluOp::Rsh, r(0), Operand::Imm(32));
        if user {
            self.e.mov(r(7), r(0));
            self.e.call(helper::GET_CURRENT_PID_TGID);
            self.e.alu(AluOp::Rsh, r(0), Operand::Imm(32));
            self.e.alu(AluOp::Lsh, r(0), Operand::Imm(32));
            self.e.alu(AluOp::Or, r(0), Operand::Reg(r(7)));
        }
        self.reg_val(0, if user { Ty::Ustack } else { Ty::Kstack }, span)
    }

    /// `join(argv)`: read up to [`JOIN_MAX`] string pointers from `argv` (stopping at NULL)
    /// and their strings into the per-CPU scratch buffer, then send it.
    fn join(&mut self, argv: &Val, user: bool, idx: usize, span: Span) -> Result<(), Diagnostic> {
        use super::JOIN_MAX;
        let key = self.e.alloc(8, span)?;
        self.e.zero(key, 8);
        let ptr = self.e.alloc(8, span)?;
        self.int_to_reg(argv, 8, span)?;
        let scratch = self.g.scratch_idx();
        self.e.ld_map(r(1), scratch);
        self.e.stack_ptr(r(2), key);
        self.e.call(helper::MAP_LOOKUP_ELEM);
        let done = self.e.label();
        self.e.jump_if(Cond::Eq, r(0), Operand::Imm(0), done);
        self.e.mov(r(7), r(0));
        self.e.mov_imm(r(1), ((EventKind::Join as i64) << 32) | idx as i64);
        self.e.stx(Size::DW, r(7), 0, r(1));
        self.e.st_imm(Size::DW, r(7), 8, 0);
        let send = self.e.label();
        for i in 0..JOIN_MAX as i16 {
            self.e.st_imm(Size::DW, r(10), ptr, 0);
            self.e.stack_ptr(r(1), ptr);
            self.e.mov_imm(r(2), 8);
            self.e.mov(r(3), r(8));
            self.e.alu(AluOp::Add, r(3), Operand::Imm(8 * i as i32));
            self.e.call(if user { helper::PROBE_READ_USER } else { helper::PROBE_READ_KERNEL });
            self.e.ldx(Size::DW, r(3), r(10), ptr);
            self.e.jump_if(Cond::Eq, r(3), Operand::Imm(0), send);
            self.e.mov(r(1), r(7));
            self.e.alu(AluOp::Add, r(1), Operand::Imm(16 + i as i32 * STRLEN as i32));
            self.e.mov_imm(r(2), STRLEN as i64);
            self.e.call(if user { helper::PROBE_READ_USER_STR } else { helper::PROBE_READ_KERNEL_STR });
            self.e.st_imm(Size::DW, r(7), 8, i as i32 + 1);
        }
        self.e.bind(send);
        self.e.ld_map(r(1), self.g.ringbuf_idx());
        self.e.mov(r(2), r(7));
        self.e.mov_imm(r(3), 16 + (JOIN_MAX * STRLEN) as i64);
        self.e.mov_imm(r(4), 0);
        self.e.call(helper::RINGBUF_OUTPUT);
        self.e.bind(done);
        Ok(())
    }

    fn call(&mut self, name: &str, args: &[Expr], span: Span) -> Result<Val, Diagnostic> {
        let nargs = |lo: usize, hi: usize| -> Result<(), Diagnostic> {
            if (lo..=hi).contains(&args.len()) {
                Ok(())
            } else if lo == hi {
                Err(err(
                    span,
                    format!("{name}() takes {lo} argument{} ({} given)", if lo == 1 { "" } else { "s" }, args.len()),
                ))
            } else {
                Err(err(span, format!("{name}() takes {lo} to {hi} arguments ({} given)", args.len())))
            }
        };
        match name {
            "printf" | "cat" | "system" => {
                if args.is_empty() {
                    return Err(err(span, format!("{name}() needs a format string")));
                }
                let ExprKind::Str(fmt) = &args[0].kind else {
                    return Err(err(args[0].span, format!("{name}()'s first argument must be a string literal")));
                };
                if name == "system" && !self.g.opts.unsafe_ {
                    return Err(err(span, "system() is an unsafe function: run with --unsafe to allow it"));
                }
                let mut vals = Vec::new();
                for a in &args[1..] {
                    let v = self.expr(a)?;
                    if v.ty == Ty::Void {
                        return Err(err(a.span, "this expression has no value to print"));
                    }
                    let t = match &v.ty {
                        Ty::Str(_) if matches!(v.loc, Loc::ConstStr(_)) => v.ty.clone(),
                        t => t.clone(),
                    };
                    vals.push((v, t));
                }
                let tys: Vec<Ty> = vals.iter().map(|(_, t)| t.clone()).collect();
                let idx = self.g.printfs.len();
                self.g.printfs.push(PrintfSpec { format: fmt.clone(), args: tys });
                let kind = match name {
                    "printf" => EventKind::Printf,
                    "cat" => EventKind::Cat,
                    _ => EventKind::System,
                };
                self.event_with(kind, idx, &vals, span)?;
                Ok(Val::void())
            }
            "exit" => {
                nargs(0, 1)?;
                self.event(EventKind::Exit, 0, span)?;
                let l = self.exit_label();
                self.e.jump(l);
                Ok(Val::void())
            }
            "print" | "clear" | "zero" => {
                nargs(1, if name == "print" { 3 } else { 1 })?;
                if let ExprKind::Map(m) = &args[0].kind {
                    if m.keys.is_empty() {
                        let mut consts = [0u64; 2];
                        for (i, a) in args[1..].iter().enumerate() {
                            match self.expr(a)?.loc {
                                Loc::Const(c) if c >= 0 => consts[i] = c as u64,
                                _ => {
                                    return Err(err(
                                        a.span,
                                        "print()'s top and div must be non-negative integer literals",
                                    ))
                                }
                            }
                        }
                        if self.g.map_decl(&m.name).is_none() {
                            self.g.unresolved_reads.entry(m.name.clone()).or_insert(m.span);
                        }
                        let op = match name {
                            "print" => MapOp::Print { map: m.name.clone(), top: consts[0], div: consts[1] },
                            "clear" => MapOp::Clear(m.name.clone()),
                            _ => MapOp::Zero(m.name.clone()),
                        };
                        let idx = self.g.map_ops.len();
                        self.g.map_ops.push(op);
                        self.event(EventKind::MapOp, idx, span)?;
                        return Ok(Val::void());
                    }
                }
                if name != "print" {
                    return Err(err(args[0].span, format!("{name}() takes a whole map (`@name`)")));
                }
                let v = self.expr(&args[0])?;
                let idx = self.g.prints.len();
                self.g.prints.push(v.ty.clone());
                let t = v.ty.clone();
                self.event_with(EventKind::PrintValue, idx, &[(v, t)], span)?;
                Ok(Val::void())
            }
            "delete" => {
                nargs(1, 2)?;
                let ExprKind::Map(m) = &args[0].kind else {
                    return Err(err(args[0].span, "delete() takes a map element (`@name[key]`)"));
                };
                let (key, _) = self.map_key(m, 0)?;
                let idx = self.g.map_idx(&m.name);
                self.e.ld_map(r(1), idx);
                self.e.stack_ptr(r(2), key);
                self.e.call(helper::MAP_DELETE_ELEM);
                Ok(Val::void())
            }
            "time" => {
                nargs(0, 1)?;
                let fmt = match args.first().map(|a| &a.kind) {
                    None => "%H:%M:%S\n".to_string(),
                    Some(ExprKind::Str(s)) => s.clone(),
                    Some(_) => return Err(err(args[0].span, "time()'s argument must be a string literal")),
                };
                let idx = self.g.time_formats.len();
                self.g.time_formats.push(fmt);
                self.event(EventKind::Time, idx, span)?;
                Ok(Val::void())
            }
            "str" => {
                nargs(1, 2)?;
                let v = self.expr(&args[0])?;
                if let Ty::Str(_) = v.ty {
                    return Ok(v);
                }
                let mut n = STRLEN;
                if let Some(a) = args.get(1) {
                    match self.expr(a)?.loc {
                        Loc::Const(c) if (1..=STRLEN as i64).contains(&(c + 1)) => n = c as u32 + 1,
                        Loc::Const(_) => n = STRLEN,
                        _ => return Err(err(a.span, "str()'s length must be an integer literal")),
                    }
                }
                let user = match &v.ty {
                    Ty::Ptr { user, .. } => *user,
                    Ty::Int { .. } => matches!(self.kind, ProbeKind::Uprobe { .. } | ProbeKind::Usdt { .. }),
                    t => {
                        return Err(err(
                            args[0].span,
                            format!("str() expects a pointer or an integer, not {}", t.name()),
                        ))
                    }
                };
                let out = self.e.alloc(n, span)?;
                self.e.zero(out, n);
                self.int_to_reg(&v, 3, span)?;
                self.e.probe_read(out, n, user, true);
                Ok(Val { ty: Ty::Str(n), loc: Loc::Stack(out) })
            }
            "join" => {
                nargs(1, 2)?;
                let delim = match args.get(1).map(|a| &a.kind) {
                    None => " ".to_string(),
                    Some(ExprKind::Str(d)) => d.clone(),
                    Some(_) => return Err(err(args[1].span, "join()'s delimiter must be a string literal")),
                };
                let v = self.expr(&args[0])?;
                if !v.ty.is_int() {
                    return Err(err(
                        args[0].span,
                        format!("join() expects an array of strings (a pointer), not {}", v.ty.name()),
                    ));
                }
                let user = !matches!(v.ty, Ty::Ptr { user: false, .. });
                let idx = self.g.joins.len();
                self.g.joins.push(delim);
                self.join(&v, user, idx, span)?;
                Ok(Val::void())
            }
            "buf" => {
                nargs(1, 2)?;
                let v = self.expr(&args[0])?;
                let n = match args.get(1) {
                    Some(a) => match self.expr(a)?.loc {
                        Loc::Const(n) if (1..=64).contains(&n) => n as u32,
                        _ => return Err(err(a.span, "buf()'s length must be an integer literal from 1 to 64")),
                    },
                    None => match &v.ty {
                        Ty::Buf(n) | Ty::Str(n) => *n,
                        _ => return Err(err(span, "buf() of a pointer needs a length: buf(ptr, LEN)")),
                    },
                };
                let out = self.e.alloc(8 + n, span)?;
                self.e.zero(out, 8 + n);
                self.e.st_imm(Size::DW, r(10), out, n as i32);
                match &v.ty {
                    Ty::Buf(m) => {
                        let src = self.in_slot(&v, span)?;
                        self.e.copy(r(10), out + 8, r(10), src + 8, n.min(*m), r(1));
                    }
                    Ty::Str(m) => {
                        let src = self.in_slot(&v, span)?;
                        self.e.copy(r(10), out + 8, r(10), src, n.min(*m), r(1));
                    }
                    t if t.is_int() => {
                        let user = match t {
                            Ty::Ptr { user, .. } => *user,
                            _ => matches!(self.kind, ProbeKind::Uprobe { .. } | ProbeKind::Usdt { .. }),
                        };
                        self.int_to_reg(&v, 3, span)?;
                        self.e.probe_read(out + 8, n, user, false);
                    }
                    t => {
                        return Err(err(
                            args[0].span,
                            format!("buf() reads memory through a pointer, not {}", t.name()),
                        ))
                    }
                }
                Ok(Val { ty: Ty::Buf(n), loc: Loc::Stack(out) })
            }
            "sizeof" => {
                nargs(1, 1)?;
                let size = match &args[0].kind {
                    ExprKind::Ident(t) => match int_ty(t) {
                        Some(Ty::Int { bits, .. }) => bits as u64 / 8,
                        _ => {
                            let Ty::Record { btf_id, .. } = self.record_type(t, false, args[0].span)? else {
                                unreachable!()
                            };
                            let btf = self.g.btf().ok_or_else(|| err(span, "sizeof(struct) needs the kernel's BTF"))?;
                            btf.resolve_size(btf_id).map_err(|e| err(span, e.to_string()))?
                        }
                    },
                    _ => {
                        let v = self.expr(&args[0])?;
                        match v.ty {
                            Ty::Int { bits, .. } => bits as u64 / 8,
                            Ty::Str(n) | Ty::Buf(n) => n as u64,
                            ref t => t.size() as u64,
                        }
                    }
                };
                Ok(Val { ty: Ty::U64, loc: Loc::Const(size as i64) })
            }
            "reg" => {
                nargs(1, 1)?;
                let ExprKind::Str(name) = &args[0].kind else {
                    return Err(err(args[0].span, "reg() takes a register name literal (\"ip\", \"sp\", \"di\"...)"));
                };
                if !self.kind.has_pt_regs() {
                    return Err(err(span, "reg() is only available in uprobe and kprobe probes"));
                }
                let off = pt_regs_offset(name).ok_or_else(|| {
                    err(args[0].span, format!("unknown register `{name}` (x86-64: {})", PT_REGS.join(", ")))
                })?;
                self.e.ldx(Size::DW, r(1), r(6), off);
                self.reg_val(1, Ty::U64, span)
            }
            "kaddr" => {
                nargs(1, 1)?;
                let ExprKind::Str(sym) = &args[0].kind else {
                    return Err(err(args[0].span, "kaddr() takes a symbol name literal"));
                };
                let addr = kallsyms_addr(sym)
                    .ok_or_else(|| err(args[0].span, format!("no kernel symbol `{sym}` in /proc/kallsyms")))?;
                Ok(Val { ty: Ty::U64, loc: Loc::Const(addr as i64) })
            }
            "uaddr" => {
                nargs(1, 1)?;
                let ExprKind::Str(sym) = &args[0].kind else {
                    return Err(err(args[0].span, "uaddr() takes a symbol name literal"));
                };
                let ProbeKind::Uprobe { binary, .. } = &self.kind else {
                    return Err(err(span, "uaddr() is only available in uprobe probes"));
                };
                let addr = crate::elfsyms::symbol_address(binary, sym)
                    .map_err(|m| err(span, m))?
                    .ok_or_else(|| err(args[0].span, format!("no symbol `{sym}` in {}", binary.display())))?;
                Ok(Val { ty: Ty::U64, loc: Loc::Const(addr as i64) })
            }
            "strncmp" => {
                nargs(3, 3)?;
                let a = self.expr(&args[0])?;
                let b = self.expr(&args[1])?;
                let n = match self.expr(&args[2])?.loc {
                    Loc::Const(n) if n >= 0 => n as u32,
                    _ => return Err(err(args[2].span, "strncmp()'s length must be a non-negative integer literal")),
                };
                let (Ty::Str(na), Ty::Str(nb)) = (&a.ty, &b.ty) else {
                    return Err(err(span, "strncmp() compares two strings"));
                };
                // 0 when the first n bytes agree (up to a NUL), 1 otherwise (bpftrace's result).
                let n = n.min(*na).min(*nb) as i16;
                if let (Loc::ConstStr(x), Loc::ConstStr(y)) = (&a.loc, &b.loc) {
                    let (x, y) = (x.as_bytes(), y.as_bytes());
                    let differ = (0..n as usize)
                        .map(|i| (x.get(i).copied().unwrap_or(0), y.get(i).copied().unwrap_or(0)))
                        .take_while(|p| p.0 != 0 || p.1 != 0)
                        .any(|(p, q)| p != q);
                    return Ok(Val::int(differ as i64));
                }
                let (a, b) = if matches!(a.loc, Loc::ConstStr(_)) { (b, a) } else { (a, b) };
                let a_off = self.in_slot(&a, span)?;
                let out = self.e.alloc(8, span)?;
                let ne = self.e.label();
                let done = self.e.label();
                let eq = self.e.label();
                for i in 0..n {
                    self.e.ldx(Size::B, r(1), r(10), a_off + i);
                    match &b.loc {
                        Loc::ConstStr(c) => {
                            let byte = c.as_bytes().get(i as usize).copied().unwrap_or(0);
                            self.e.jump_if(Cond::Ne, r(1), Operand::Imm(byte as i32), ne);
                            if byte == 0 {
                                break;
                            }
                        }
                        _ => {
                            let b_off = self.in_slot(&b, span)?;
                            self.e.ldx(Size::B, r(2), r(10), b_off + i);
                            self.e.jump_if(Cond::Ne, r(1), Operand::Reg(r(2)), ne);
                            self.e.jump_if(Cond::Eq, r(1), Operand::Imm(0), eq);
                        }
                    }
                }
                self.e.bind(eq);
                self.e.st_imm(Size::DW, r(10), out, 0);
                self.e.jump(done);
                self.e.bind(ne);
                self.e.st_imm(Size::DW, r(10), out, 1);
                self.e.bind(done);
                Ok(Val { ty: Ty::U64, loc: Loc::Stack(out) })
            }
            "ntop" => {
                nargs(1, 2)?;
                let (af, x) = if args.len() == 2 {
                    let af = match self.expr(&args[0])?.loc {
                        Loc::Const(c) => c,
                        _ => {
                            return Err(err(
                                args[0].span,
                                "ntop()'s address family must be an integer literal (2 or 10)",
                            ))
                        }
                    };
                    (Some(af), &args[1])
                } else {
                    (None, &args[0])
                };
                let v = self.expr(x)?;
                let out = self.e.alloc(Ty::Inet.size(), span)?;
                self.e.zero(out, Ty::Inet.size());
                match &v.ty {
                    t if t.is_int() => {
                        self.e.st_imm(Size::DW, r(10), out, af.unwrap_or(2) as i32);
                        self.int_to_reg(&v, 1, span)?;
                        self.e.stx(Size::W, r(10), out + 8, r(1));
                    }
                    Ty::Buf(n) | Ty::Str(n) if *n == 4 || *n == 16 => {
                        let af = af.unwrap_or(if *n == 4 { 2 } else { 10 });
                        self.e.st_imm(Size::DW, r(10), out, af as i32);
                        let src = self.in_slot(&v, span)? + if matches!(v.ty, Ty::Buf(_)) { 8 } else { 0 };
                        self.e.copy(r(10), out + 8, r(10), src, *n, r(1));
                    }
                    t => {
                        return Err(err(
                            x.span,
                            format!("ntop() takes an IPv4 address (an integer) or 4 or 16 bytes, not {}", t.name()),
                        ))
                    }
                }
                Ok(Val { ty: Ty::Inet, loc: Loc::Stack(out) })
            }
            "ksym" | "usym" => {
                nargs(1, 1)?;
                let v = self.expr(&args[0])?;
                if !v.ty.is_int() {
                    return Err(err(args[0].span, format!("{name}() expects an address")));
                }
                Ok(Val { ty: if name == "ksym" { Ty::Ksym } else { Ty::Usym }, loc: v.loc })
            }
            "kstack" | "ustack" => {
                nargs(0, 2)?;
                self.stack(name == "ustack", span)
            }
            "signal" => {
                nargs(1, 1)?;
                if !self.g.opts.unsafe_ {
                    return Err(err(span, "signal() is an unsafe function: run with --unsafe to allow it"));
                }
                let sig = match &args[0].kind {
                    ExprKind::Str(s) => {
                        signal_number(s).ok_or_else(|| err(args[0].span, format!("unknown signal `{s}`")))?
                    }
                    _ => {
                        let v = self.expr(&args[0])?;
                        match v.loc {
                            Loc::Const(c) => c,
                            _ => return Err(err(args[0].span, "signal() takes a signal name or number literal")),
                        }
                    }
                };
                self.e.mov_imm(r(1), sig);
                self.e.call(helper::SEND_SIGNAL);
                Ok(Val::void())
            }
            "count" | "sum" | "min" | "max" | "avg" | "stats" | "hist" | "lhist" => {
                Err(err(span, format!("{name}() can only be assigned to a map: @x = {name}(...)")))
            }
            _ => Err(err(span, format!("unknown function `{name}`"))),
        }
    }
}

fn fold(op: BinOp, x: i64, y: i64, signed: bool) -> Option<i64> {
    let b = |v: bool| Some(v as i64);
    match op {
        BinOp::Add => Some(x.wrapping_add(y)),
        BinOp::Sub => Some(x.wrapping_sub(y)),
        BinOp::Mul => Some(x.wrapping_mul(y)),
        BinOp::Div => Some(if y == 0 { 0 } else { (x as u64 / y as u64) as i64 }),
        BinOp::Mod => Some(if y == 0 { x } else { (x as u64 % y as u64) as i64 }),
        BinOp::BitAnd => Some(x & y),
        BinOp::BitOr => Some(x | y),
        BinOp::BitXor => Some(x ^ y),
        BinOp::Shl => Some(if (0..64).contains(&y) { x << y } else { 0 }),
        BinOp::Shr => Some(if (0..64).contains(&y) { ((x as u64) >> y) as i64 } else { 0 }),
        BinOp::Eq => b(x == y),
        BinOp::Ne => b(x != y),
        BinOp::Lt => b(if signed { x < y } else { (x as u64) < y as u64 }),
        BinOp::Le => b(if signed { x <= y } else { x as u64 <= y as u64 }),
        BinOp::Gt => b(if signed { x > y } else { x as u64 > y as u64 }),
        BinOp::Ge => b(if signed { x >= y } else { x as u64 >= y as u64 }),
        BinOp::LogAnd | BinOp::LogOr => None,
    }
}

fn parse_int(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Some(h) = s.strip_prefix("0x") {
        return u64::from_str_radix(h, 16).ok().map(|v| v as i64);
    }
    s.parse().ok()
}

fn signal_number(s: &str) -> Option<i64> {
    let s = s.trim_start_matches("SIG");
    Some(match s {
        "HUP" => 1,
        "INT" => 2,
        "QUIT" => 3,
        "ILL" => 4,
        "TRAP" => 5,
        "ABRT" => 6,
        "BUS" => 7,
        "FPE" => 8,
        "KILL" => 9,
        "USR1" => 10,
        "SEGV" => 11,
        "USR2" => 12,
        "PIPE" => 13,
        "ALRM" => 14,
        "TERM" => 15,
        "CHLD" => 17,
        "CONT" => 18,
        "STOP" => 19,
        "TSTP" => 20,
        _ => return s.parse().ok(),
    })
}
