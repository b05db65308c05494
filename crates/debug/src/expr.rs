//! C expressions over the stopped program: parse (`p->f`, `*p`, `a[i]`, `$r1`,
//! arithmetic and comparisons for breakpoint conditions), evaluate against registers,
//! the stack and memory with DWARF types, and print values as gdb does.

use crate::dwarf::{DebugInfo, Function, Location, Type, TypeId};
use std::collections::HashMap;

/// An expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    Num(u64),
    Var(String),
    /// `$r0`, `$pc`, `$packet` ...
    Conv(String),
    Deref(Box<Expr>),
    AddrOf(Box<Expr>),
    Neg(Box<Expr>),
    Not(Box<Expr>),
    Member(Box<Expr>, String),
    Arrow(Box<Expr>, String),
    Index(Box<Expr>, Box<Expr>),
    Bin(BinOp, Box<Expr>, Box<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    And,
    Or,
    BitAnd,
    BitOr,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// Why an expression cannot be parsed or evaluated (the message gdb would print).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ExprError(pub String);

fn err<T>(m: impl Into<String>) -> Result<T, ExprError> {
    Err(ExprError(m.into()))
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(u64),
    Ident(String),
    Dollar(String),
    Op(&'static str),
}

fn lex(s: &str) -> Result<Vec<Tok>, ExprError> {
    const OPS: [&str; 22] = [
        "->", "==", "!=", "<=", ">=", "&&", "||", "+", "-", "*", "/", "%", "&", "|", "<", ">", "!", ".", "[", "]", "(",
        ")",
    ];
    let b = s.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    'outer: while i < b.len() {
        let c = b[i] as char;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c.is_ascii_digit() {
            let start = i;
            while i < b.len() && (b[i] as char).is_ascii_alphanumeric() {
                i += 1;
            }
            let t = &s[start..i];
            let v = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
                u64::from_str_radix(h, 16)
            } else {
                t.parse::<u64>()
            };
            out.push(Tok::Num(v.map_err(|_| ExprError(format!("Invalid number \"{t}\".")))?));
            continue;
        }
        if c.is_ascii_alphabetic() || c == '_' || c == '$' {
            let start = i;
            i += 1;
            while i < b.len() && ((b[i] as char).is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            let t = &s[start..i];
            out.push(match t.strip_prefix('$') {
                Some(n) => Tok::Dollar(n.to_string()),
                None => Tok::Ident(t.to_string()),
            });
            continue;
        }
        for op in OPS {
            if s[i..].starts_with(op) {
                out.push(Tok::Op(op));
                i += op.len();
                continue 'outer;
            }
        }
        return err(format!("Invalid character '{c}' in expression."));
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    i: usize,
}

impl Parser {
    fn peek_op(&self) -> Option<&'static str> {
        match self.toks.get(self.i) {
            Some(Tok::Op(o)) => Some(o),
            _ => None,
        }
    }
    fn eat(&mut self, op: &str) -> bool {
        if self.peek_op() == Some(op) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn binary(&mut self, level: usize) -> Result<Expr, ExprError> {
        const LEVELS: [&[(&str, BinOp)]; 7] = [
            &[("||", BinOp::Or)],
            &[("&&", BinOp::And)],
            &[("|", BinOp::BitOr)],
            &[("&", BinOp::BitAnd)],
            &[
                ("==", BinOp::Eq),
                ("!=", BinOp::Ne),
                ("<=", BinOp::Le),
                (">=", BinOp::Ge),
                ("<", BinOp::Lt),
                (">", BinOp::Gt),
            ],
            &[("+", BinOp::Add), ("-", BinOp::Sub)],
            &[("*", BinOp::Mul), ("/", BinOp::Div), ("%", BinOp::Rem)],
        ];
        if level == LEVELS.len() {
            return self.unary();
        }
        let mut lhs = self.binary(level + 1)?;
        'more: loop {
            for (s, op) in LEVELS[level] {
                if self.eat(s) {
                    let rhs = self.binary(level + 1)?;
                    lhs = Expr::Bin(*op, Box::new(lhs), Box::new(rhs));
                    continue 'more;
                }
            }
            return Ok(lhs);
        }
    }
    fn unary(&mut self) -> Result<Expr, ExprError> {
        if self.eat("*") {
            return Ok(Expr::Deref(Box::new(self.unary()?)));
        }
        if self.eat("&") {
            return Ok(Expr::AddrOf(Box::new(self.unary()?)));
        }
        if self.eat("-") {
            return Ok(Expr::Neg(Box::new(self.unary()?)));
        }
        if self.eat("!") {
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        self.postfix()
    }
    fn postfix(&mut self) -> Result<Expr, ExprError> {
        let mut e = self.primary()?;
        loop {
            if self.eat(".") {
                e = Expr::Member(Box::new(e), self.ident()?);
            } else if self.eat("->") {
                e = Expr::Arrow(Box::new(e), self.ident()?);
            } else if self.eat("[") {
                let i = self.binary(0)?;
                if !self.eat("]") {
                    return err("A syntax error in expression, near `'.");
                }
                e = Expr::Index(Box::new(e), Box::new(i));
            } else {
                return Ok(e);
            }
        }
    }
    fn ident(&mut self) -> Result<String, ExprError> {
        match self.toks.get(self.i) {
            Some(Tok::Ident(n)) => {
                self.i += 1;
                Ok(n.clone())
            }
            _ => err("A syntax error in expression: a field name is expected."),
        }
    }
    fn primary(&mut self) -> Result<Expr, ExprError> {
        let t = self.toks.get(self.i).cloned();
        self.i += 1;
        match t {
            Some(Tok::Num(n)) => Ok(Expr::Num(n)),
            Some(Tok::Ident(n)) => Ok(Expr::Var(n)),
            Some(Tok::Dollar(n)) => Ok(Expr::Conv(n)),
            Some(Tok::Op("(")) => {
                let e = self.binary(0)?;
                if !self.eat(")") {
                    return err("A syntax error in expression: missing ')'.");
                }
                Ok(e)
            }
            Some(Tok::Op(o)) => err(format!("A syntax error in expression, near `{o}'.")),
            None => err("A syntax error in expression, near `'."),
        }
    }
}

/// Parse a C expression.
pub fn parse(s: &str) -> Result<Expr, ExprError> {
    let toks = lex(s)?;
    if toks.is_empty() {
        return err("An expression is required.");
    }
    let mut p = Parser { toks, i: 0 };
    let e = p.binary(0)?;
    if p.i < p.toks.len() {
        return err(format!("A syntax error in expression, near `{}'.", rest(&p.toks[p.i..])));
    }
    Ok(e)
}

fn rest(t: &[Tok]) -> String {
    t.iter()
        .map(|t| match t {
            Tok::Num(n) => n.to_string(),
            Tok::Ident(s) => s.clone(),
            Tok::Dollar(s) => format!("${s}"),
            Tok::Op(o) => o.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Where a value is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// In program memory at this address.
    Mem(u64),
    /// Not in memory (a register, a constant, a computed value).
    Bytes(Vec<u8>),
}

/// A typed value (`ty: None`: a 64-bit integer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    pub ty: Option<TypeId>,
    pub place: Place,
    /// `&x` of a type the object has no pointer type for: the pointee's type.
    pub pointee: Option<Option<TypeId>>,
}

/// Reads program memory at the stop.
pub trait Memory {
    fn read(&mut self, addr: u64, len: usize) -> Result<Vec<u8>, String>;
}

/// What a register of a caller's frame that the call clobbered shows (gdb's words).
pub const NOT_SAVED: &str = "<not saved>";

/// What expressions see: the stopped frame.
#[derive(Debug)]
pub struct Scope<'a> {
    pub info: Option<&'a DebugInfo>,
    pub func: Option<&'a Function>,
    /// The pc's byte offset in the function's section (for location lists).
    pub offset: u64,
    pub regs: [u64; 11],
    /// Bit `r`: the value of register `r` in this frame is not known (r0..r5 of a
    /// caller's frame: the call clobbered them).
    pub unsaved: u16,
    /// The DWARF frame base of the function: r10 minus its stack size.
    pub frame_base: u64,
    /// Convenience variables (`pc`, `packet`, `step`), without `$`.
    pub conv: HashMap<String, u64>,
}

impl Scope<'_> {
    fn int(v: u64) -> Value {
        Value { ty: None, place: Place::Bytes(v.to_le_bytes().to_vec()), pointee: None }
    }

    /// The variables visible at the stop: (name, is_param, value or why not).
    pub fn variables(&self) -> Vec<(&str, bool, Result<Value, ExprError>)> {
        let Some(f) = self.func else { return Vec::new() };
        let mut out: Vec<(&str, bool, Result<Value, ExprError>)> = Vec::new();
        for v in f.vars.iter().filter(|v| v.in_scope(self.offset)) {
            out.retain(|(n, _, _)| *n != v.name);
            out.push((&v.name, v.is_param, self.var_value(v)));
        }
        out
    }

    /// Register `r` of this frame, or `<not saved>`.
    fn reg(&self, r: u8) -> Result<u64, ExprError> {
        match self.regs.get(usize::from(r)) {
            Some(v) if self.unsaved & (1 << r) == 0 => Ok(*v),
            _ => err(NOT_SAVED),
        }
    }

    fn var_value(&self, v: &crate::dwarf::Variable) -> Result<Value, ExprError> {
        let size = self.info.map(|i| i.size_of(v.ty)).unwrap_or(8).clamp(1, 8) as usize;
        let loc = v.location_at(self.offset);
        if let Location::Reg(r) | Location::RegOffset(r, _) | Location::RegValue(r, _) = loc {
            if r < 10 {
                self.reg(r)?;
            }
        }
        let place = match loc {
            Location::Reg(r) if r <= 10 => Place::Bytes(self.regs[r as usize].to_le_bytes()[..size].to_vec()),
            Location::FrameOffset(o) => Place::Mem(self.frame_base.wrapping_add(o as u64)),
            Location::RegOffset(r, o) if r <= 10 => Place::Mem(self.regs[r as usize].wrapping_add(o as u64)),
            Location::RegValue(r, o) if r <= 10 => {
                let base = if r == 10 { self.frame_base } else { self.regs[r as usize] };
                Place::Bytes(base.wrapping_add(o as u64).to_le_bytes()[..size].to_vec())
            }
            Location::Value(x) => Place::Bytes(x.to_le_bytes()[..size].to_vec()),
            _ => return err("<optimized out>"),
        };
        Ok(Value { ty: v.ty, place, pointee: None })
    }

    fn lookup(&self, name: &str) -> Result<Value, ExprError> {
        let f = self.func.ok_or_else(|| ExprError("No symbol table is loaded (no DWARF).".into()))?;
        let v = f.vars.iter().rfind(|v| v.name == name && v.in_scope(self.offset));
        match v {
            Some(v) => self.var_value(v),
            None => err(format!("No symbol \"{name}\" in current context.")),
        }
    }

    /// Evaluate `e`.
    pub fn eval(&self, e: &Expr, mem: &mut dyn Memory) -> Result<Value, ExprError> {
        match e {
            Expr::Num(n) => Ok(Scope::int(*n)),
            Expr::Var(n) => self.lookup(n),
            Expr::Conv(n) => {
                if let Some(r) = n.strip_prefix('r').and_then(|r| r.parse::<u8>().ok()).filter(|r| *r <= 10) {
                    return Ok(Scope::int(self.reg(r)?));
                }
                let v = if n == "fp" { Some(self.regs[10]) } else { self.conv.get(n.as_str()).copied() };
                v.map(Scope::int).ok_or_else(|| ExprError(format!("History has not yet reached ${n}.")))
            }
            Expr::Deref(inner) => {
                let v = self.eval(inner, mem)?;
                if let (None, Some(to)) = (v.ty, v.pointee) {
                    return Ok(Value { ty: to, place: Place::Mem(self.to_u64(&v, mem)?), pointee: None });
                }
                let to = match self.kind(v.ty) {
                    Some(Type::Pointer { to }) => *to,
                    Some(Type::Array { of, .. }) => {
                        return Ok(Value { ty: *of, place: Place::Mem(self.address_of(&v)?), pointee: None });
                    }
                    _ => return err("Attempt to take contents of a non-pointer value."),
                };
                if to.is_none() {
                    return err("Attempt to take contents of a non-pointer value.");
                }
                Ok(Value { ty: to, place: Place::Mem(self.to_u64(&v, mem)?), pointee: None })
            }
            Expr::AddrOf(inner) => {
                let v = self.eval(inner, mem)?;
                let addr = self.address_of(&v)?;
                // A pointer type to the value's type, when the object has one.
                let ty = self.info.and_then(|i| {
                    i.types.iter().position(|t| matches!(t, Type::Pointer { to } if *to == v.ty && v.ty.is_some()))
                });
                let pointee = if ty.is_none() { Some(v.ty) } else { None };
                Ok(Value { ty, place: Place::Bytes(addr.to_le_bytes().to_vec()), pointee })
            }
            Expr::Neg(inner) => Ok(Scope::int(self.to_u64(&self.eval(inner, mem)?, mem)?.wrapping_neg())),
            Expr::Not(inner) => Ok(Scope::int((self.to_u64(&self.eval(inner, mem)?, mem)? == 0) as u64)),
            Expr::Member(inner, field) => {
                let v = self.eval(inner, mem)?;
                self.member(v, field)
            }
            Expr::Arrow(inner, field) => {
                let v = self.eval(&Expr::Deref(inner.clone()), mem)?;
                self.member(v, field)
            }
            Expr::Index(base, idx) => {
                let b = self.eval(base, mem)?;
                let i = self.to_u64(&self.eval(idx, mem)?, mem)?;
                let (elem, start) = match self.kind(b.ty) {
                    Some(Type::Array { of, .. }) => (*of, self.address_of(&b)?),
                    Some(Type::Pointer { to }) => (*to, self.to_u64(&b, mem)?),
                    _ => return err("cannot subscript something of this type"),
                };
                let size = self.info.map(|x| x.size_of(elem)).unwrap_or(1).max(1);
                Ok(Value { ty: elem, place: Place::Mem(start.wrapping_add(i.wrapping_mul(size))), pointee: None })
            }
            Expr::Bin(op, a, b) => {
                let av = self.eval(a, mem)?;
                let x = self.to_u64(&av, mem)?;
                if *op == BinOp::And && x == 0 {
                    return Ok(Scope::int(0));
                }
                if *op == BinOp::Or && x != 0 {
                    return Ok(Scope::int(1));
                }
                let y = self.to_u64(&self.eval(b, mem)?, mem)?;
                let signed = self.is_signed(av.ty);
                let (sx, sy) = (x as i64, y as i64);
                let r = match op {
                    BinOp::Add => {
                        // Pointer arithmetic scales by the pointee's size.
                        let scale = match self.kind(av.ty) {
                            Some(Type::Pointer { to }) => self.info.map(|i| i.size_of(*to)).unwrap_or(1).max(1),
                            _ => 1,
                        };
                        return Ok(Value {
                            ty: if scale > 1 { av.ty } else { None },
                            place: Place::Bytes(x.wrapping_add(y.wrapping_mul(scale)).to_le_bytes().to_vec()),
                            pointee: None,
                        });
                    }
                    BinOp::Sub => x.wrapping_sub(y),
                    BinOp::Mul => x.wrapping_mul(y),
                    BinOp::Div | BinOp::Rem if y == 0 => return err("Division by zero"),
                    BinOp::Div if signed => sx.wrapping_div(sy) as u64,
                    BinOp::Div => x / y,
                    BinOp::Rem if signed => sx.wrapping_rem(sy) as u64,
                    BinOp::Rem => x % y,
                    BinOp::BitAnd => x & y,
                    BinOp::BitOr => x | y,
                    BinOp::And | BinOp::Or => (y != 0) as u64,
                    BinOp::Eq => (x == y) as u64,
                    BinOp::Ne => (x != y) as u64,
                    BinOp::Lt if signed => (sx < sy) as u64,
                    BinOp::Le if signed => (sx <= sy) as u64,
                    BinOp::Gt if signed => (sx > sy) as u64,
                    BinOp::Ge if signed => (sx >= sy) as u64,
                    BinOp::Lt => (x < y) as u64,
                    BinOp::Le => (x <= y) as u64,
                    BinOp::Gt => (x > y) as u64,
                    BinOp::Ge => (x >= y) as u64,
                };
                Ok(Scope::int(r))
            }
        }
    }

    fn kind(&self, ty: Option<TypeId>) -> Option<&Type> {
        let info = self.info?;
        info.resolve(ty).map(|t| &info.types[t])
    }

    fn is_signed(&self, ty: Option<TypeId>) -> bool {
        matches!(self.kind(ty), Some(Type::Base { signed: true, .. }) | Some(Type::Enum { .. }))
    }

    /// The address of a value in memory.
    pub fn address_of(&self, v: &Value) -> Result<u64, ExprError> {
        match v.place {
            Place::Mem(a) => Ok(a),
            Place::Bytes(_) => err("Attempt to take address of value not located in memory."),
        }
    }

    fn member(&self, v: Value, field: &str) -> Result<Value, ExprError> {
        let Some(Type::Struct { members, .. }) = self.kind(v.ty) else {
            return err(format!(
                "Attempt to extract a component of a value that is not a structure (field `{field}`)."
            ));
        };
        let m = find_member(self.info, members, field)
            .ok_or_else(|| ExprError(format!("There is no member named {field}.")))?;
        let (ty, off) = m;
        let size = self.info.map(|i| i.size_of(ty)).unwrap_or(0) as usize;
        let place = match v.place {
            Place::Mem(a) => Place::Mem(a.wrapping_add(off)),
            Place::Bytes(b) => {
                Place::Bytes(b.get(off as usize..off as usize + size).map(<[u8]>::to_vec).unwrap_or_default())
            }
        };
        Ok(Value { ty, place, pointee: None })
    }

    /// The bytes of a value (`len` = its type's size, 8 for plain integers).
    pub fn bytes(&self, v: &Value, mem: &mut dyn Memory) -> Result<Vec<u8>, ExprError> {
        // Bounded: sizes come from the object's DWARF.
        let len = match v.ty {
            None => 8,
            t => self.info.map(|i| i.size_of(t)).unwrap_or(8).min(1 << 20) as usize,
        };
        match &v.place {
            Place::Bytes(b) => Ok(b.clone()),
            Place::Mem(a) => {
                mem.read(*a, len).map_err(|e| ExprError(format!("Cannot access memory at address {a:#x} ({e})")))
            }
        }
    }

    /// A scalar value as 64 bits (sign-extended for signed types).
    pub fn to_u64(&self, v: &Value, mem: &mut dyn Memory) -> Result<u64, ExprError> {
        if matches!(self.kind(v.ty), Some(Type::Struct { .. })) {
            return err("Cannot use a structure as a number.");
        }
        if let (Some(Type::Array { .. }), Place::Mem(a)) = (self.kind(v.ty), &v.place) {
            return Ok(*a);
        }
        let b = self.bytes(v, mem)?;
        let mut w = [0u8; 8];
        let n = b.len().min(8);
        w[..n].copy_from_slice(&b[..n]);
        let x = u64::from_le_bytes(w);
        Ok(if self.is_signed(v.ty) && (1..8).contains(&n) {
            let shift = 64 - 8 * n as u32;
            (((x << shift) as i64) >> shift) as u64
        } else {
            x
        })
    }

    /// Print a value as gdb does (`top`: pointers show their type).
    pub fn format(&self, v: &Value, mem: &mut dyn Memory) -> String {
        if let (None, Some(to)) = (v.ty, v.pointee) {
            let name = self.info.map(|i| i.type_name(to)).unwrap_or_else(|| "void".into());
            return match self.to_u64(v, mem) {
                Ok(a) => format!("({name} *) {a:#x}"),
                Err(e) => format!("<error: {e}>"),
            };
        }
        match self.bytes(v, mem) {
            Ok(b) => self.format_bytes(v.ty, &b, true, 0),
            Err(e) => format!("<error: {e}>"),
        }
    }

    fn format_bytes(&self, ty: Option<TypeId>, b: &[u8], top: bool, depth: usize) -> String {
        if depth > 8 {
            return "{...}".into();
        }
        let int = |n: usize, signed: bool| -> i128 {
            let mut w = [0u8; 16];
            let n = n.min(b.len()).min(8);
            w[..n].copy_from_slice(&b[..n]);
            let x = u128::from_le_bytes(w) as u64;
            if signed && n < 8 && n > 0 {
                let shift = 64 - 8 * n as u32;
                (((x << shift) as i64) >> shift) as i128
            } else if signed {
                x as i64 as i128
            } else {
                x as i128
            }
        };
        let Some(info) = self.info else { return int(8, false).to_string() };
        let Some(t) = info.resolve(ty) else { return int(8, false).to_string() };
        match &info.types[t] {
            Type::Base { size, signed, is_char, is_bool, .. } => {
                let v = int(*size as usize, *signed);
                if *is_bool {
                    (if v != 0 { "true" } else { "false" }).into()
                } else if *is_char {
                    format!("{v} {}", char_lit(v as u8))
                } else {
                    v.to_string()
                }
            }
            Type::Enum { values, size, .. } => {
                let v = int(*size as usize, true) as i64;
                values.iter().find(|(_, x)| *x == v).map(|(n, _)| n.clone()).unwrap_or_else(|| v.to_string())
            }
            Type::Pointer { .. } => {
                let p = int(8, false) as u64;
                if top {
                    format!("({}) {p:#x}", info.type_name(ty))
                } else {
                    format!("{p:#x}")
                }
            }
            Type::Struct { members, .. } => {
                if depth > 4 {
                    return "{...}".into();
                }
                let parts: Vec<String> = members
                    .iter()
                    .map(|m| {
                        let size = info.size_of(m.ty) as usize;
                        let field = b.get(m.offset as usize..m.offset as usize + size).unwrap_or(&[]);
                        let val = match m.bits {
                            Some((bit, bits)) => {
                                let mut w = [0u8; 8];
                                let n = field.len().min(8);
                                w[..n].copy_from_slice(&field[..n]);
                                let x = u64::from_le_bytes(w) >> bit;
                                (x & ((1u64 << bits.min(63)) - 1)).to_string()
                            }
                            None => self.format_bytes(m.ty, field, false, depth + 1),
                        };
                        if m.name.is_empty() {
                            val
                        } else {
                            format!("{} = {val}", m.name)
                        }
                    })
                    .collect();
                format!("{{{}}}", parts.join(", "))
            }
            Type::Array { of, count } => {
                let es = info.size_of(*of) as usize;
                let n = count.unwrap_or(0) as usize;
                if es == 0 {
                    return "{}".into();
                }
                if matches!(info.resolve(*of).map(|e| &info.types[e]), Some(Type::Base { is_char: true, .. })) {
                    // As gdb: up to the last non-NUL byte (a NUL-terminated string shows
                    // without its terminator), NULs inside as \000.
                    let bytes = &b[..n.min(b.len())];
                    let end = bytes.iter().rposition(|c| *c != 0).map(|i| i + 1).unwrap_or(0);
                    let end = if end == 0 { n.saturating_sub(1).min(bytes.len()) } else { end };
                    return format!("\"{}\"", bytes[..end].iter().map(|c| char_esc(*c)).collect::<String>());
                }
                let shown = n.min(200);
                let mut parts: Vec<String> = (0..shown)
                    .map(|i| self.format_bytes(*of, b.get(i * es..(i + 1) * es).unwrap_or(&[]), false, depth + 1))
                    .collect();
                if n > shown {
                    parts.push("...".into());
                }
                format!("{{{}}}", parts.join(", "))
            }
            Type::Alias { .. } | Type::Func | Type::Unknown => int(8, false).to_string(),
        }
    }
}

/// A member by name, also inside anonymous struct/union members: (type, byte offset).
fn find_member(
    info: Option<&DebugInfo>,
    members: &[crate::dwarf::Member],
    field: &str,
) -> Option<(Option<TypeId>, u64)> {
    for m in members {
        if m.name == field {
            return Some((m.ty, m.offset));
        }
        if m.name.is_empty() {
            let i = info?;
            if let Some(Type::Struct { members: inner, .. }) = i.resolve(m.ty).map(|t| &i.types[t]) {
                if let Some((t, o)) = find_member(info, inner, field) {
                    return Some((t, m.offset + o));
                }
            }
        }
    }
    None
}

fn char_esc(c: u8) -> String {
    match c {
        b'\n' => "\\n".into(),
        b'\t' => "\\t".into(),
        b'"' => "\\\"".into(),
        b'\\' => "\\\\".into(),
        0x20..=0x7e => (c as char).to_string(),
        _ => format!("\\{c:03o}"),
    }
}

fn char_lit(c: u8) -> String {
    match c {
        0 => "'\\000'".into(),
        b'\'' => "'\\''".into(),
        _ => format!("'{}'", char_esc(c)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_c_expressions() {
        assert_eq!(
            parse("ip->saddr == 5 && $packet > 1").expect("parses"),
            Expr::Bin(
                BinOp::And,
                Box::new(Expr::Bin(
                    BinOp::Eq,
                    Box::new(Expr::Arrow(Box::new(Expr::Var("ip".into())), "saddr".into())),
                    Box::new(Expr::Num(5))
                )),
                Box::new(Expr::Bin(BinOp::Gt, Box::new(Expr::Conv("packet".into())), Box::new(Expr::Num(1))))
            )
        );
        assert_eq!(
            parse("*a[0x10].b").expect("parses"),
            Expr::Deref(Box::new(Expr::Member(
                Box::new(Expr::Index(Box::new(Expr::Var("a".into())), Box::new(Expr::Num(16)))),
                "b".into()
            )))
        );
        assert!(parse("1 +").is_err());
        assert!(parse("a b").is_err());
        assert!(parse("p->").is_err());
        assert!(parse("#").is_err());
        assert!(parse("").is_err());
    }
}
