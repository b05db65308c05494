//! The BPF assembly syntax that `llvm-objdump -d` prints (LLVM 19).
//!
//! Printing: [`objdump_insn`] gives exactly the text `llvm-objdump-19 -d` prints
//! for an instruction (numbers in hex, `r1 = *(u32 *)(r6 + 0x4)`, `goto +0x13`,
//! `r4 = 0x0 ll`, `lock *(u64 *)(r4 + 0x0) += r3`, ...), except that it always
//! prints the real instruction where the default (generic cpu) objdump prints
//! `<unknown>` (32-bit atomics other than `lock +=`) or misprints it (a 32-bit
//! `atomic_fetch_add`, which objdump shows as `lock ... += rN`). Loads and 32-bit
//! stores use the `r` register form, as the default objdump does.
//!
//! Objdump's text loses information in four places; [`disasm_insn`] uses the
//! objdump text everywhere else and these lossless forms there, so that
//! `assemble(disasm(p)) == p` for every valid program:
//!
//! | instruction                      | llvm-objdump                 | [`disasm_insn`]                    |
//! |----------------------------------|------------------------------|------------------------------------|
//! | local call (`src=1`)             | `call -0x1`                  | `call pc-0x1`                      |
//! | kfunc call (`src=2`)             | `call 0x7b`                  | `call kfunc 0x7b` (`, 0x3` if off) |
//! | `lddw` src 2/3/6 with a second immediate (value offset, module BTF fd) | `ld_pseudo\tr1, 0x2, 0x7`    | `ld_pseudo\tr1, 0x2, 0x7, 0x10`    |
//! | `BPF_IND` packet load with imm   | `r0 = *(u8 *)skb[r3]`        | `r0 = *(u8 *)skb[r3 + 0x10]`       |
//!
//! [`assemble`] reads both, plus what `llvm-mc -triple bpfel` accepts (decimal
//! numbers, `w` register forms of loads/stores/atomics), labels, comments and
//! lines pasted from `llvm-objdump -d` output.

use crate::asm::{imm32, off16, parse_int, AsmError};
use crate::{AluOp, AtomicOp, CallTarget, Cond, Endian, Imm64, Insn, Operand, PacketMode, Reg, Size, Width};
use std::collections::HashMap;

// ---------------------------------------------------------------------------
// Printing
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Exactly what llvm-objdump prints.
    Objdump,
    /// Objdump text, with lossless forms where objdump drops information.
    Lossless,
}

/// `0x13`, `-0x8`, `0x0`.
fn hex(v: i128) -> String {
    if v < 0 {
        format!("-{:#x}", -v)
    } else {
        format!("{v:#x}")
    }
}

/// `+0x13`, `-0x1`, `+0x0` (jump offsets).
fn rel(v: i128) -> String {
    if v < 0 {
        format!("-{:#x}", -v)
    } else {
        format!("+{v:#x}")
    }
}

fn reg(r: Reg, w: Width) -> String {
    match w {
        Width::W64 => format!("r{}", r.num()),
        Width::W32 => format!("w{}", r.num()),
    }
}

fn bits_of(size: Size) -> u32 {
    size.bits()
}

/// `(r1 + 0x4)` / `(r1 - 0x8)` without the parentheses.
fn addr(base: Reg, off: i16) -> String {
    if off < 0 {
        format!("{base} - {:#x}", -(off as i32))
    } else {
        format!("{base} + {off:#x}")
    }
}

/// The operator of an ALU instruction (`+=`, `s>>=`...), shared with `kernel_fmt`.
pub(crate) fn alu_op_str(op: AluOp) -> &'static str {
    match op {
        AluOp::Add => "+=",
        AluOp::Sub => "-=",
        AluOp::Mul => "*=",
        AluOp::Div => "/=",
        AluOp::SDiv => "s/=",
        AluOp::Or => "|=",
        AluOp::And => "&=",
        AluOp::Lsh => "<<=",
        AluOp::Rsh => ">>=",
        AluOp::Mod => "%=",
        AluOp::SMod => "s%=",
        AluOp::Xor => "^=",
        AluOp::Mov => "=",
        AluOp::Arsh => "s>>=",
    }
}

/// The comparison of a conditional jump (`==`, `s<`...), shared with `kernel_fmt`.
pub(crate) fn cond_str(c: Cond) -> &'static str {
    match c {
        Cond::Eq => "==",
        Cond::Gt => ">",
        Cond::Ge => ">=",
        Cond::Set => "&",
        Cond::Ne => "!=",
        Cond::SGt => "s>",
        Cond::SGe => "s>=",
        Cond::Lt => "<",
        Cond::Le => "<=",
        Cond::SLt => "s<",
        Cond::SLe => "s<=",
    }
}

fn atomic_name(op: AtomicOp) -> &'static str {
    match op {
        AtomicOp::Add => "add",
        AtomicOp::Or => "or",
        AtomicOp::And => "and",
        AtomicOp::Xor => "xor",
        AtomicOp::Xchg => "xchg",
        AtomicOp::CmpXchg => "cmpxchg",
    }
}

fn print(insn: &Insn, mode: Mode) -> String {
    match *insn {
        Insn::Alu { op, width, dst, src } => {
            let rhs = match src {
                Operand::Reg(s) => reg(s, width),
                Operand::Imm(i) => hex(i as i128),
            };
            format!("{} {} {}", reg(dst, width), alu_op_str(op), rhs)
        }
        Insn::Neg { width, dst } => format!("{0} = -{0}", reg(dst, width)),
        Insn::MovSx { width, dst, src, bits } => format!("{} = (s{bits}){}", reg(dst, width), reg(src, width)),
        Insn::Endian { kind, bits, dst } => {
            let name = match kind {
                Endian::Le => "le",
                Endian::Be => "be",
                Endian::Swap => "bswap",
            };
            format!("{dst} = {name}{bits} {dst}")
        }
        Insn::Load { size, dst, src, off, sign_extend } => {
            let s = if sign_extend { 's' } else { 'u' };
            format!("{dst} = *({s}{} *)({})", bits_of(size), addr(src, off))
        }
        Insn::Store { size, dst, off, src } => {
            let rhs = match src {
                Operand::Reg(s) => s.to_string(),
                Operand::Imm(i) => hex(i as i128),
            };
            format!("*(u{} *)({}) = {rhs}", bits_of(size), addr(dst, off))
        }
        Insn::Atomic { size, op, fetch, dst, off, src } => {
            let bits = bits_of(size);
            let w = if size == Size::DW { Width::W64 } else { Width::W32 };
            let s = reg(src, w);
            let a = addr(dst, off);
            match op {
                AtomicOp::Add | AtomicOp::Or | AtomicOp::And | AtomicOp::Xor if !fetch => {
                    let sym = match op {
                        AtomicOp::Add => "+=",
                        AtomicOp::Or => "|=",
                        AtomicOp::And => "&=",
                        _ => "^=",
                    };
                    // objdump (and llvm-mc) write the 32-bit `lock +=` with an r register.
                    let s = if op == AtomicOp::Add { src.to_string() } else { s };
                    format!("lock *(u{bits} *)({a}) {sym} {s}")
                }
                AtomicOp::Add | AtomicOp::Or | AtomicOp::And | AtomicOp::Xor => {
                    format!("{s} = atomic_fetch_{}((u{bits} *)({a}), {s})", atomic_name(op))
                }
                AtomicOp::Xchg => {
                    let name = if size == Size::DW { "xchg_64" } else { "xchg32_32" };
                    format!("{s} = {name}({a}, {s})")
                }
                AtomicOp::CmpXchg => {
                    let (name, r0) = if size == Size::DW { ("cmpxchg_64", "r0") } else { ("cmpxchg32_32", "w0") };
                    format!("{r0} = {name}({a}, {r0}, {s})")
                }
            }
        }
        Insn::LoadAcquire { size, dst, src, off } => {
            let w = if size == Size::DW { Width::W64 } else { Width::W32 };
            format!("{} = load_acquire((u{} *)({}))", reg(dst, w), bits_of(size), addr(src, off))
        }
        Insn::StoreRelease { size, dst, off, src } => {
            let w = if size == Size::DW { Width::W64 } else { Width::W32 };
            format!("store_release((u{} *)({}), {})", bits_of(size), addr(dst, off), reg(src, w))
        }
        Insn::AddrSpaceCast { dst, src, dst_as, src_as } => {
            format!("{dst} = addr_space_cast({src}, {dst_as:#x}, {src_as:#x})")
        }
        Insn::LoadImm64 { dst, imm } => {
            let (src, lo, hi) = match imm {
                Imm64::Value(v) => return format!("{dst} = {} ll", hex(v as i64 as i128)),
                Imm64::MapFd(fd) => (1, fd, 0),
                Imm64::MapValue { fd, off } => (2, fd, off),
                Imm64::BtfId { id, btf_fd } => (3, id, btf_fd as u32),
                Imm64::Func(r) => (4, r, 0),
                Imm64::MapIdx(i) => (5, i, 0),
                Imm64::MapIdxValue { idx, off } => (6, idx, off),
            };
            let mut s = format!("ld_pseudo\t{dst}, {src:#x}, {:#x}", lo as u32);
            if mode == Mode::Lossless && hi != 0 {
                s.push_str(&format!(", {hi:#x}"));
            }
            s
        }
        Insn::LoadImm64Tail => String::new(),
        Insn::LoadPacket { size, mode: pm, imm } => {
            let idx = match pm {
                PacketMode::Abs => hex(imm as i128),
                PacketMode::Ind(r) if mode == Mode::Lossless && imm != 0 => {
                    let sign = if imm < 0 { '-' } else { '+' };
                    format!("{r} {sign} {:#x}", (imm as i128).abs())
                }
                PacketMode::Ind(r) => r.to_string(),
            };
            format!("r0 = *(u{} *)skb[{idx}]", bits_of(size))
        }
        Insn::Ja { off, wide } => format!("{} {}", if wide { "gotol" } else { "goto" }, rel(off as i128)),
        Insn::Jump { cond, width, dst, src, off } => {
            let rhs = match src {
                Operand::Reg(s) => reg(s, width),
                Operand::Imm(i) => hex(i as i128),
            };
            format!("if {} {} {rhs} goto {}", reg(dst, width), cond_str(cond), rel(off as i128))
        }
        Insn::MayGoto { off } => format!("may_goto {}", rel(off as i128)),
        Insn::Call(CallTarget::Helper(id)) => format!("call {}", hex(id as i128)),
        Insn::Call(CallTarget::Local(r)) => match mode {
            Mode::Objdump => format!("call {}", hex(r as i128)),
            Mode::Lossless => format!("call pc{}", rel(r as i128)),
        },
        Insn::Call(CallTarget::Kfunc { btf_id, off }) => match mode {
            Mode::Objdump => format!("call {}", hex(btf_id as i128)),
            Mode::Lossless if off == 0 => format!("call kfunc {}", hex(btf_id as i128)),
            Mode::Lossless => format!("call kfunc {}, {}", hex(btf_id as i128), hex(off as i128)),
        },
        Insn::CallX { reg } => format!("callx {reg}"),
        Insn::Exit => "exit".to_string(),
    }
}

/// One instruction in llvm syntax, lossless (see the module docs for the four
/// places it differs from objdump). Jump offsets are relative (`goto +0x13`);
/// [`Insn::LoadImm64Tail`] prints as the empty string.
pub fn disasm_insn(insn: &Insn) -> String {
    print(insn, Mode::Lossless)
}

/// One instruction exactly as `llvm-objdump-19 -d` prints it (without the
/// ` <sym+0x..>` branch annotation, which needs the symbol table), except that
/// 32-bit atomics are always printed as what they are.
pub fn objdump_insn(insn: &Insn) -> String {
    print(insn, Mode::Objdump)
}

/// A slot-indexed program, one line per instruction (tails of `lddw` produce no
/// line), no addresses. [`assemble`] reads it back.
pub fn disasm(insns: &[Insn]) -> String {
    let mut out = String::new();
    for insn in insns {
        if *insn == Insn::LoadImm64Tail {
            continue;
        }
        out.push_str(&disasm_insn(insn));
        out.push('\n');
    }
    out
}

// ---------------------------------------------------------------------------
// Lexing
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Tok<'a> {
    Ident(&'a str),
    Num(i128),
    P(&'static str),
}

impl Tok<'_> {
    fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("`{s}`"),
            Tok::Num(n) => format!("`{}`", hex(*n)),
            Tok::P(p) => format!("`{p}`"),
        }
    }
}

/// Punctuation, longest first. The `s`-prefixed ones are signed operators.
const PUNCT: &[&str] = &[
    "s>>=", "s/=", "s%=", "s>=", "s<=", "<<=", ">>=", "s>", "s<", "+=", "-=", "*=", "/=", "%=", "|=", "&=", "^=", "==",
    "!=", ">=", "<=", ">", "<", "=", "+", "-", "*", "(", ")", "[", "]", ",", "&", ":",
];

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c == b'.' || c == b'$'
}

fn is_ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || c == b'$'
}

fn lex(s: &str, line: usize) -> Result<Vec<Tok<'_>>, AsmError> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    'outer: while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        // Signed operators start with `s`, which could also start an identifier.
        if c == b's' && b.get(i + 1).is_some_and(|n| matches!(n, b'>' | b'<' | b'/' | b'%')) {
            for p in PUNCT.iter().filter(|p| p.starts_with('s')) {
                if b[i..].starts_with(p.as_bytes()) {
                    out.push(Tok::P(p));
                    i += p.len();
                    continue 'outer;
                }
            }
        }
        if is_ident_start(c) {
            let start = i;
            while i < b.len() && is_ident_char(b[i]) {
                i += 1;
            }
            out.push(Tok::Ident(&s[start..i]));
            continue;
        }
        if c.is_ascii_digit() {
            let start = i;
            while i < b.len() && is_ident_char(b[i]) {
                i += 1;
            }
            let text = &s[start..i];
            match parse_int(text) {
                Some(v) => out.push(Tok::Num(v)),
                None => return Err(AsmError::new(line, format!("bad number `{text}`"))),
            }
            continue;
        }
        for p in PUNCT.iter().filter(|p| !p.starts_with('s')) {
            if b[i..].starts_with(p.as_bytes()) {
                out.push(Tok::P(p));
                i += p.len();
                continue 'outer;
            }
        }
        let ch = s[i..].chars().next().unwrap_or('?');
        return Err(AsmError::new(line, format!("unexpected character `{ch}`")));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------

/// Where a branch goes: a relative offset or a label resolved after the pass.
#[derive(Debug, Clone)]
enum Target<'a> {
    Rel(i128),
    Label(&'a str),
}

/// A register as written: number and whether it was `wN`.
#[derive(Debug, Clone, Copy)]
struct R {
    reg: Reg,
    w: bool,
}

impl R {
    fn name(self) -> String {
        format!("{}{}", if self.w { 'w' } else { 'r' }, self.reg.num())
    }
    fn width(self) -> Width {
        if self.w {
            Width::W32
        } else {
            Width::W64
        }
    }
}

/// A parsed instruction whose branch target may still be a label.
#[derive(Debug)]
struct Parsed<'a> {
    insn: Insn,
    target: Option<Target<'a>>,
}

impl<'a> Parsed<'a> {
    fn plain(insn: Insn) -> Self {
        Parsed { insn, target: None }
    }
}

struct Parser<'t, 'a> {
    toks: &'t [Tok<'a>],
    i: usize,
    line: usize,
}

/// Register syntax: `r0`..`r10` / `w0`..`w10`. `Ok(None)` if `s` does not look like
/// a register at all, an error for `r11`, `w99`...
fn reg_name(s: &str, line: usize) -> Result<Option<R>, AsmError> {
    let b = s.as_bytes();
    if b.len() < 2 || !(b[0] == b'r' || b[0] == b'w') || !b[1..].iter().all(u8::is_ascii_digit) {
        return Ok(None);
    }
    let n: Option<u8> = s[1..].parse().ok();
    match n.and_then(Reg::new) {
        Some(reg) => Ok(Some(R { reg, w: b[0] == b'w' })),
        None => Err(AsmError::new(line, format!("bad register `{s}` (registers are r0..r10, w0..w10)"))),
    }
}

impl<'t, 'a> Parser<'t, 'a> {
    fn err<T>(&self, msg: impl Into<String>) -> Result<T, AsmError> {
        Err(AsmError::new(self.line, msg))
    }

    fn peek(&self) -> Option<&'t Tok<'a>> {
        self.toks.get(self.i)
    }

    fn peek_at(&self, k: usize) -> Option<&'t Tok<'a>> {
        self.toks.get(self.i + k)
    }

    fn next(&mut self) -> Option<&'t Tok<'a>> {
        let t = self.toks.get(self.i);
        if t.is_some() {
            self.i += 1;
        }
        t
    }

    fn found(&self) -> String {
        match self.peek() {
            Some(t) => t.describe(),
            None => "end of line".to_string(),
        }
    }

    fn at_punct(&self, p: &str) -> bool {
        matches!(self.peek(), Some(Tok::P(q)) if *q == p)
    }

    fn eat_punct(&mut self, p: &str) -> bool {
        if self.at_punct(p) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect_punct(&mut self, p: &str, ctx: &str) -> Result<(), AsmError> {
        if self.eat_punct(p) {
            Ok(())
        } else {
            self.err(format!("expected `{p}` {ctx}, found {}", self.found()))
        }
    }

    fn at_ident(&self, s: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(q)) if *q == s)
    }

    fn expect_ident(&mut self, s: &str, ctx: &str) -> Result<(), AsmError> {
        if self.at_ident(s) {
            self.i += 1;
            Ok(())
        } else {
            self.err(format!("expected `{s}` {ctx}, found {}", self.found()))
        }
    }

    fn end(&self) -> Result<(), AsmError> {
        match self.peek() {
            None => Ok(()),
            Some(t) => self.err(format!("unexpected {} after the instruction", t.describe())),
        }
    }

    /// A register if the next token is one.
    fn try_reg(&mut self) -> Result<Option<R>, AsmError> {
        if let Some(Tok::Ident(s)) = self.peek() {
            if let Some(r) = reg_name(s, self.line)? {
                self.i += 1;
                return Ok(Some(r));
            }
        }
        Ok(None)
    }

    fn reg(&mut self, ctx: &str) -> Result<R, AsmError> {
        match self.try_reg()? {
            Some(r) => Ok(r),
            None => self.err(format!("expected a register {ctx}, found {}", self.found())),
        }
    }

    /// A 64-bit register (`rN`), e.g. an address base.
    fn reg64(&mut self, ctx: &str) -> Result<Reg, AsmError> {
        let r = self.reg(ctx)?;
        if r.w {
            return self.err(format!("expected an r register {ctx}, found `{}`", r.name()));
        }
        Ok(r.reg)
    }

    /// A number with an optional sign, if the next tokens are one.
    fn try_num(&mut self) -> Option<i128> {
        match (self.peek(), self.peek_at(1)) {
            (Some(Tok::Num(n)), _) => {
                self.i += 1;
                Some(*n)
            }
            (Some(Tok::P("-")), Some(Tok::Num(n))) => {
                self.i += 2;
                Some(-*n)
            }
            (Some(Tok::P("+")), Some(Tok::Num(n))) => {
                self.i += 2;
                Some(*n)
            }
            _ => None,
        }
    }

    fn num(&mut self, ctx: &str) -> Result<i128, AsmError> {
        match self.try_num() {
            Some(v) => Ok(v),
            None => self.err(format!("expected a number {ctx}, found {}", self.found())),
        }
    }

    fn imm32(&self, v: i128, what: &str) -> Result<i32, AsmError> {
        imm32(v).map_or_else(|| self.err(format!("immediate {} out of range for {what} (32 bits)", hex(v))), Ok)
    }

    /// A memory offset after `+`/`-` (or none: `(r1)`), then `)` is not consumed.
    fn mem_off(&mut self) -> Result<i16, AsmError> {
        let neg = if self.eat_punct("+") {
            false
        } else if self.eat_punct("-") {
            true
        } else {
            return Ok(0);
        };
        let v = match self.next() {
            Some(Tok::Num(n)) => *n,
            _ => return self.err(format!("expected an offset after `{}`", if neg { '-' } else { '+' })),
        };
        let v = if neg { -v } else { v };
        off16(v).map_or_else(|| self.err(format!("offset {} out of range (16 bits)", hex(v))), Ok)
    }

    /// `(rN + off)` including the parentheses.
    fn mem(&mut self) -> Result<(Reg, i16), AsmError> {
        self.expect_punct("(", "before the address")?;
        let base = self.reg64("as the address base")?;
        let off = self.mem_off()?;
        self.expect_punct(")", "after the address")?;
        Ok((base, off))
    }

    /// `rN + off` without parentheses (xchg/cmpxchg operands).
    fn mem_bare(&mut self) -> Result<(Reg, i16), AsmError> {
        let base = self.reg64("as the address base")?;
        let off = self.mem_off()?;
        Ok((base, off))
    }

    /// `(u32 *)` / `(s8 *)`: returns (size, signed).
    fn size_cast(&mut self) -> Result<(Size, bool), AsmError> {
        self.expect_punct("(", "before the access size")?;
        let (size, signed) = match self.next() {
            Some(Tok::Ident(s)) => match *s {
                "u8" => (Size::B, false),
                "u16" => (Size::H, false),
                "u32" => (Size::W, false),
                "u64" => (Size::DW, false),
                "s8" => (Size::B, true),
                "s16" => (Size::H, true),
                "s32" => (Size::W, true),
                other => return self.err(format!("unknown access size `{other}` (u8/u16/u32/u64, s8/s16/s32)")),
            },
            _ => return self.err("expected an access size like `u32`"),
        };
        self.expect_punct("*", "in the access size cast")?;
        self.expect_punct(")", "after the access size")?;
        Ok((size, signed))
    }

    /// A branch target: `+0x13`, `-1`, `5` or a label.
    fn target(&mut self) -> Result<Target<'a>, AsmError> {
        if let Some(v) = self.try_num() {
            return Ok(Target::Rel(v));
        }
        match self.next() {
            Some(Tok::Ident(l)) => {
                if reg_name(l, self.line)?.is_some() {
                    return self.err(format!("expected a jump offset or label, found register `{l}`"));
                }
                Ok(Target::Label(l))
            }
            _ => self.err("expected a jump offset like `+0x3` or a label"),
        }
    }

    fn insn(&mut self) -> Result<Parsed<'a>, AsmError> {
        let first = match self.peek() {
            Some(t) => t,
            None => return self.err("empty instruction"),
        };
        let p = match first {
            Tok::Ident("exit") => {
                self.i += 1;
                Parsed::plain(Insn::Exit)
            }
            Tok::Ident(m @ ("goto" | "gotol" | "ja")) => {
                self.i += 1;
                let wide = *m == "gotol";
                let t = self.target()?;
                Parsed { insn: Insn::Ja { off: 0, wide }, target: Some(t) }
            }
            Tok::Ident("may_goto") => {
                self.i += 1;
                let t = self.target()?;
                Parsed { insn: Insn::MayGoto { off: 0 }, target: Some(t) }
            }
            Tok::Ident("store_release") => {
                self.i += 1;
                self.store_release()?
            }
            Tok::Ident("callx") => {
                self.i += 1;
                let r = self.reg64("to call through")?;
                Parsed::plain(Insn::CallX { reg: r })
            }
            Tok::Ident("call") => {
                self.i += 1;
                self.call()?
            }
            Tok::Ident("if") => {
                self.i += 1;
                self.cond_jump()?
            }
            Tok::Ident("lock") => {
                self.i += 1;
                self.lock()?
            }
            Tok::Ident("ld_pseudo") => {
                self.i += 1;
                self.ld_pseudo()?
            }
            Tok::P("*") => {
                self.i += 1;
                self.store()?
            }
            Tok::Ident(s) => match reg_name(s, self.line)? {
                Some(_) => self.reg_insn()?,
                None => return self.err(format!("unknown mnemonic `{s}`")),
            },
            Tok::P("<") if matches!(self.peek_at(1), Some(Tok::Ident("unknown"))) => {
                return self.err("`<unknown>`: llvm-objdump could not decode this instruction")
            }
            t => return self.err(format!("unknown instruction starting with {}", t.describe())),
        };
        self.end()?;
        Ok(p)
    }

    fn call(&mut self) -> Result<Parsed<'a>, AsmError> {
        if let Some(v) = self.try_num() {
            let id = self.imm32(v, "a helper id")?;
            return Ok(Parsed::plain(Insn::Call(CallTarget::Helper(id))));
        }
        // `call pc+0x2`: local call by relative offset.
        if self.at_ident("pc") && matches!(self.peek_at(1), Some(Tok::P("+" | "-"))) {
            self.i += 1;
            let v = self.num("after `call pc`")?;
            return Ok(Parsed { insn: Insn::Call(CallTarget::Local(0)), target: Some(Target::Rel(v)) });
        }
        // `call kfunc 0x7b[, off]`.
        if self.at_ident("kfunc") && self.peek_at(1).is_some() {
            self.i += 1;
            let id = self.num("as the kfunc BTF id")?;
            let btf_id = self.imm32(id, "a kfunc BTF id")?;
            let off = if self.eat_punct(",") {
                let v = self.num("as the kfunc module offset")?;
                off16(v).map_or_else(|| self.err(format!("kfunc offset {} out of range (16 bits)", hex(v))), Ok)?
            } else {
                0
            };
            return Ok(Parsed::plain(Insn::Call(CallTarget::Kfunc { btf_id, off })));
        }
        match self.next() {
            Some(Tok::Ident(l)) => {
                if reg_name(l, self.line)?.is_some() {
                    return self.err(format!("`call {l}`: to call through a register use `callx {l}`"));
                }
                Ok(Parsed { insn: Insn::Call(CallTarget::Local(0)), target: Some(Target::Label(l)) })
            }
            _ => self.err("expected a helper id, `pc+N`, `kfunc ID` or a function label after `call`"),
        }
    }

    fn cond_jump(&mut self) -> Result<Parsed<'a>, AsmError> {
        let lhs = self.reg("after `if`")?;
        let cond = match self.next() {
            Some(Tok::P(p)) => match *p {
                "==" => Cond::Eq,
                ">" => Cond::Gt,
                ">=" => Cond::Ge,
                "&" => Cond::Set,
                "!=" => Cond::Ne,
                "s>" => Cond::SGt,
                "s>=" => Cond::SGe,
                "<" => Cond::Lt,
                "<=" => Cond::Le,
                "s<" => Cond::SLt,
                "s<=" => Cond::SLe,
                other => return self.err(format!("unknown comparison `{other}`")),
            },
            t => {
                let f = t.map_or_else(|| "end of line".to_string(), Tok::describe);
                return self.err(format!("expected a comparison after `if {}`, found {f}", lhs.name()));
            }
        };
        let src = if let Some(r) = self.try_reg()? {
            if r.w != lhs.w {
                return self.err(format!("register width mismatch: `{}` compared with `{}`", lhs.name(), r.name()));
            }
            Operand::Reg(r.reg)
        } else {
            let v = self.num("to compare with")?;
            Operand::Imm(self.imm32(v, "a comparison")?)
        };
        self.expect_ident("goto", "in a conditional jump")?;
        let t = self.target()?;
        Ok(Parsed { insn: Insn::Jump { cond, width: lhs.width(), dst: lhs.reg, src, off: 0 }, target: Some(t) })
    }

    /// Check the register width used for a memory operand of `size`: `w` only for
    /// sizes up to 32 bits.
    fn mem_reg_ok(&self, r: R, size: Size) -> Result<(), AsmError> {
        if r.w && size == Size::DW {
            return self.err(format!("`{}` is a 32-bit register but the access is 64-bit", r.name()));
        }
        Ok(())
    }

    fn lock(&mut self) -> Result<Parsed<'a>, AsmError> {
        self.expect_punct("*", "after `lock`")?;
        let (size, signed) = self.size_cast()?;
        if signed || !matches!(size, Size::W | Size::DW) {
            return self.err("atomic operations are u32 or u64");
        }
        let (dst, off) = self.mem()?;
        let op = match self.next() {
            Some(Tok::P("+=")) => AtomicOp::Add,
            Some(Tok::P("|=")) => AtomicOp::Or,
            Some(Tok::P("&=")) => AtomicOp::And,
            Some(Tok::P("^=")) => AtomicOp::Xor,
            _ => return self.err("expected `+=`, `|=`, `&=` or `^=` after `lock *(..)`"),
        };
        let src = self.reg("as the atomic operand")?;
        self.mem_reg_ok(src, size)?;
        Ok(Parsed::plain(Insn::Atomic { size, op, fetch: false, dst, off, src: src.reg }))
    }

    /// `store_release((u32 *)(r1 + 0x8), w2)`.
    fn store_release(&mut self) -> Result<Parsed<'a>, AsmError> {
        self.expect_punct("(", "after `store_release`")?;
        let (size, signed) = self.size_cast()?;
        if signed {
            return self.err("store_release takes an unsigned size (u8/u16/u32/u64)");
        }
        let (dst, off) = self.mem()?;
        self.expect_punct(",", "after the address")?;
        let src = self.reg("as the stored value")?;
        self.mem_reg_ok(src, size)?;
        self.expect_punct(")", "to close `store_release`")?;
        Ok(Parsed::plain(Insn::StoreRelease { size, dst, off, src: src.reg }))
    }

    /// `r0 = load_acquire((u64 *)(r1 + 0x0))` after the `load_acquire`.
    fn load_acquire(&mut self, dst: R) -> Result<Parsed<'a>, AsmError> {
        self.expect_punct("(", "after `load_acquire`")?;
        let (size, signed) = self.size_cast()?;
        if signed {
            return self.err("load_acquire takes an unsigned size (u8/u16/u32/u64)");
        }
        let (src, off) = self.mem()?;
        self.mem_reg_ok(dst, size)?;
        self.expect_punct(")", "to close `load_acquire`")?;
        Ok(Parsed::plain(Insn::LoadAcquire { size, dst: dst.reg, src, off }))
    }

    /// `r0 = addr_space_cast(r1, 0x0, 0x1)` after the `addr_space_cast`.
    fn addr_space_cast(&mut self, dst: R) -> Result<Parsed<'a>, AsmError> {
        if dst.w {
            return self.err("`addr_space_cast` needs an r register");
        }
        self.expect_punct("(", "after `addr_space_cast`")?;
        let src = self.reg64("to cast")?;
        self.expect_punct(",", "after the register")?;
        let d = self.num("as the destination address space")?;
        self.expect_punct(",", "after the destination address space")?;
        let s = self.num("as the source address space")?;
        self.expect_punct(")", "to close `addr_space_cast`")?;
        let (dst_as, src_as) = match (d, s) {
            (0, 1) => (0, 1),
            (1, 0) => (1, 0),
            _ => {
                return self.err(format!(
                    "addr_space_cast converts between address spaces 1 and 0, found ({}, {})",
                    hex(d),
                    hex(s)
                ))
            }
        };
        Ok(Parsed::plain(Insn::AddrSpaceCast { dst: dst.reg, src, dst_as, src_as }))
    }

    fn ld_pseudo(&mut self) -> Result<Parsed<'a>, AsmError> {
        let dst = self.reg("after `ld_pseudo`")?;
        if dst.w {
            return self.err("`ld_pseudo` needs an r register");
        }
        self.expect_punct(",", "after the register")?;
        let src = self.num("as the pseudo source")?;
        self.expect_punct(",", "after the pseudo source")?;
        let v = self.num("as the immediate")?;
        let lo = self.imm32(v, "the ld_pseudo immediate")?;
        let hi = if self.eat_punct(",") {
            let v = self.num("as the second immediate")?;
            self.imm32(v, "the ld_pseudo second immediate")?
        } else {
            0
        };
        let need_no_hi = |imm: Imm64| -> Result<Imm64, AsmError> {
            if hi != 0 {
                self.err(format!("ld_pseudo source {src} has no second immediate"))
            } else {
                Ok(imm)
            }
        };
        let imm = match src {
            0 => Imm64::Value(lo as u32 as u64 | ((hi as u32 as u64) << 32)),
            1 => need_no_hi(Imm64::MapFd(lo))?,
            2 => Imm64::MapValue { fd: lo, off: hi as u32 },
            3 => Imm64::BtfId { id: lo, btf_fd: hi },
            4 => need_no_hi(Imm64::Func(lo))?,
            5 => need_no_hi(Imm64::MapIdx(lo))?,
            6 => Imm64::MapIdxValue { idx: lo, off: hi as u32 },
            _ => return self.err(format!("ld_pseudo source {} is not one of 0..=6", hex(src))),
        };
        Ok(Parsed::plain(Insn::LoadImm64 { dst: dst.reg, imm }))
    }

    fn store(&mut self) -> Result<Parsed<'a>, AsmError> {
        let (size, signed) = self.size_cast()?;
        if signed {
            return self.err("stores take an unsigned size (u8/u16/u32/u64)");
        }
        let (dst, off) = self.mem()?;
        self.expect_punct("=", "in a store")?;
        let src = if let Some(r) = self.try_reg()? {
            self.mem_reg_ok(r, size)?;
            Operand::Reg(r.reg)
        } else {
            let v = self.num("as the stored value")?;
            Operand::Imm(self.imm32(v, "a store")?)
        };
        Ok(Parsed::plain(Insn::Store { size, dst, off, src }))
    }

    /// Instructions starting with a register: ALU, loads, lddw, atomics with a result.
    fn reg_insn(&mut self) -> Result<Parsed<'a>, AsmError> {
        let dst = self.reg("")?;
        let op = match self.next() {
            Some(Tok::P(p)) => *p,
            t => {
                let f = t.map_or_else(|| "end of line".to_string(), Tok::describe);
                return self.err(format!("expected an assignment operator after `{}`, found {f}", dst.name()));
            }
        };
        let alu = match op {
            "=" => return self.assign(dst),
            "+=" => AluOp::Add,
            "-=" => AluOp::Sub,
            "*=" => AluOp::Mul,
            "/=" => AluOp::Div,
            "s/=" => AluOp::SDiv,
            "|=" => AluOp::Or,
            "&=" => AluOp::And,
            "<<=" => AluOp::Lsh,
            ">>=" => AluOp::Rsh,
            "%=" => AluOp::Mod,
            "s%=" => AluOp::SMod,
            "^=" => AluOp::Xor,
            "s>>=" => AluOp::Arsh,
            other => return self.err(format!("unknown operator `{other}` after `{}`", dst.name())),
        };
        let src = self.alu_src(dst)?;
        Ok(Parsed::plain(Insn::Alu { op: alu, width: dst.width(), dst: dst.reg, src }))
    }

    fn alu_src(&mut self, dst: R) -> Result<Operand, AsmError> {
        if let Some(r) = self.try_reg()? {
            if r.w != dst.w {
                return self.err(format!("register width mismatch: `{}` and `{}`", dst.name(), r.name()));
            }
            return Ok(Operand::Reg(r.reg));
        }
        let v = self.num("as the operand")?;
        Ok(Operand::Imm(self.imm32(v, "an ALU operand")?))
    }

    fn assign(&mut self, dst: R) -> Result<Parsed<'a>, AsmError> {
        match self.peek() {
            Some(Tok::P("*")) => {
                self.i += 1;
                self.load(dst)
            }
            Some(Tok::P("(")) => {
                // movsx: `r1 = (s8)r2`.
                self.i += 1;
                let bits = match self.next() {
                    Some(Tok::Ident("s8")) => 8,
                    Some(Tok::Ident("s16")) => 16,
                    Some(Tok::Ident("s32")) => 32,
                    _ => return self.err("expected `s8`, `s16` or `s32` in a sign-extending move"),
                };
                self.expect_punct(")", "after the cast")?;
                let src = self.reg("to sign-extend")?;
                if src.w != dst.w {
                    return self.err(format!("register width mismatch: `{}` and `{}`", dst.name(), src.name()));
                }
                if dst.w && bits == 32 {
                    return self.err("32-bit sign-extending moves take s8 or s16");
                }
                Ok(Parsed::plain(Insn::MovSx { width: dst.width(), dst: dst.reg, src: src.reg, bits }))
            }
            Some(Tok::P("-")) if matches!(self.peek_at(1), Some(Tok::Ident(_))) => {
                self.i += 1;
                let src = self.reg("to negate")?;
                if src.reg != dst.reg || src.w != dst.w {
                    return self.err(format!("negation is `{0} = -{0}`, found `-{1}`", dst.name(), src.name()));
                }
                Ok(Parsed::plain(Insn::Neg { width: dst.width(), dst: dst.reg }))
            }
            Some(Tok::Ident(name)) if reg_name(name, self.line)?.is_none() => {
                self.i += 1;
                self.named_rhs(dst, name)
            }
            _ => {
                if let Some(v) = self.try_num() {
                    if self.at_ident("ll") {
                        self.i += 1;
                        if dst.w {
                            return self.err("`ll` loads need an r register");
                        }
                        if !(i64::MIN as i128..=u64::MAX as i128).contains(&v) {
                            return self.err(format!("immediate {} out of range for lddw (64 bits)", hex(v)));
                        }
                        return Ok(Parsed::plain(Insn::LoadImm64 { dst: dst.reg, imm: Imm64::Value(v as u64) }));
                    }
                    let imm = self.imm32(v, "a move")?;
                    return Ok(Parsed::plain(Insn::Alu {
                        op: AluOp::Mov,
                        width: dst.width(),
                        dst: dst.reg,
                        src: Operand::Imm(imm),
                    }));
                }
                let src = self.alu_src(dst)?;
                Ok(Parsed::plain(Insn::Alu { op: AluOp::Mov, width: dst.width(), dst: dst.reg, src }))
            }
        }
    }

    fn load(&mut self, dst: R) -> Result<Parsed<'a>, AsmError> {
        let (size, signed) = self.size_cast()?;
        if self.at_ident("skb") {
            self.i += 1;
            if dst.reg != Reg::R0 || dst.w {
                return self.err("legacy packet loads (`skb[..]`) always load into r0");
            }
            if signed || size == Size::DW {
                return self.err("legacy packet loads are u8, u16 or u32");
            }
            self.expect_punct("[", "after `skb`")?;
            let (mode, imm) = if let Some(r) = self.try_reg()? {
                if r.w {
                    return self.err("the packet index register must be an r register");
                }
                let imm = if self.at_punct("+") || self.at_punct("-") {
                    let neg = self.at_punct("-");
                    self.i += 1;
                    let v = match self.next() {
                        Some(Tok::Num(n)) => *n,
                        _ => return self.err("expected a number after the index register"),
                    };
                    self.imm32(if neg { -v } else { v }, "a packet offset")?
                } else {
                    0
                };
                (PacketMode::Ind(r.reg), imm)
            } else {
                let v = self.num("as the packet offset")?;
                (PacketMode::Abs, self.imm32(v, "a packet offset")?)
            };
            self.expect_punct("]", "after the packet offset")?;
            return Ok(Parsed::plain(Insn::LoadPacket { size, mode, imm }));
        }
        let (src, off) = self.mem()?;
        if dst.w && (signed || size == Size::DW) {
            return self.err(format!(
                "`{}` cannot hold a {} load",
                dst.name(),
                if signed { "sign-extending" } else { "64-bit" }
            ));
        }
        Ok(Parsed::plain(Insn::Load { size, dst: dst.reg, src, off, sign_extend: signed }))
    }

    /// `rX = le16 rX`, `rX = atomic_fetch_add((u64 *)(..), rX)`, `xchg_64`, `cmpxchg_64`...
    fn named_rhs(&mut self, dst: R, name: &str) -> Result<Parsed<'a>, AsmError> {
        let endian = |k: Endian, b: &str| -> Option<(Endian, u8)> {
            match b {
                "16" => Some((k, 16)),
                "32" => Some((k, 32)),
                "64" => Some((k, 64)),
                _ => None,
            }
        };
        let e = if let Some(b) = name.strip_prefix("bswap") {
            endian(Endian::Swap, b)
        } else if let Some(b) = name.strip_prefix("le") {
            endian(Endian::Le, b)
        } else if let Some(b) = name.strip_prefix("be") {
            endian(Endian::Be, b)
        } else {
            None
        };
        if let Some((kind, bits)) = e {
            let r = self.reg("to convert")?;
            if r.reg != dst.reg {
                return self.err(format!("`{name}` converts in place: `{0} = {name} {0}`", dst.name()));
            }
            return Ok(Parsed::plain(Insn::Endian { kind, bits, dst: dst.reg }));
        }
        let same_reg = |p: &Self, r: R| -> Result<(), AsmError> {
            if r.reg != dst.reg {
                return p.err(format!(
                    "the result register `{}` must also be the operand, found `{}`",
                    dst.name(),
                    r.name()
                ));
            }
            Ok(())
        };
        match name {
            "load_acquire" => return self.load_acquire(dst),
            "addr_space_cast" => return self.addr_space_cast(dst),
            _ => {}
        }
        if let Some(opname) = name.strip_prefix("atomic_fetch_") {
            let op = match opname {
                "add" => AtomicOp::Add,
                "or" => AtomicOp::Or,
                "and" => AtomicOp::And,
                "xor" => AtomicOp::Xor,
                _ => return self.err(format!("unknown atomic operation `{name}`")),
            };
            self.expect_punct("(", "after the atomic operation")?;
            let (size, signed) = self.size_cast()?;
            if signed || !matches!(size, Size::W | Size::DW) {
                return self.err("atomic operations are u32 or u64");
            }
            let (base, off) = self.mem()?;
            self.expect_punct(",", "after the address")?;
            let src = self.reg("as the atomic operand")?;
            same_reg(self, src)?;
            self.mem_reg_ok(dst, size)?;
            self.expect_punct(")", "to close the atomic operation")?;
            return Ok(Parsed::plain(Insn::Atomic { size, op, fetch: true, dst: base, off, src: src.reg }));
        }
        let size = match name {
            "xchg_64" | "cmpxchg_64" => Size::DW,
            "xchg32_32" | "cmpxchg32_32" => Size::W,
            _ => return self.err(format!("unknown operation `{name}`")),
        };
        self.mem_reg_ok(dst, size)?;
        self.expect_punct("(", &format!("after `{name}`"))?;
        let (base, off) = self.mem_bare()?;
        self.expect_punct(",", "after the address")?;
        let op = if name.starts_with("cmpxchg") {
            if dst.reg != Reg::R0 {
                return self.err(format!("`{name}` returns in r0/w0, found `{}`", dst.name()));
            }
            let r0 = self.reg("(r0) as the expected value")?;
            if r0.reg != Reg::R0 {
                return self.err(format!("`{name}` compares with r0/w0, found `{}`", r0.name()));
            }
            self.expect_punct(",", "after the expected value")?;
            AtomicOp::CmpXchg
        } else {
            AtomicOp::Xchg
        };
        let src = self.reg("as the new value")?;
        if op == AtomicOp::Xchg {
            same_reg(self, src)?;
        }
        self.mem_reg_ok(src, size)?;
        self.expect_punct(")", &format!("to close `{name}`"))?;
        Ok(Parsed::plain(Insn::Atomic { size, op, fetch: true, dst: base, off, src: src.reg }))
    }
}

// ---------------------------------------------------------------------------
// Lines
// ---------------------------------------------------------------------------

/// Remove `;`, `#` and `//` comments.
fn strip_comment(s: &str) -> &str {
    let mut end = s.len();
    for pat in [";", "#", "//"] {
        if let Some(i) = s.find(pat) {
            end = end.min(i);
        }
    }
    &s[..end]
}

fn is_hex_byte(t: &str) -> bool {
    t.len() == 2 && t.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Strip the `   12:\t07 01 00 00 05 00 00 00\t` prefix of an llvm-objdump line.
fn strip_objdump_prefix(s: &str) -> &str {
    let t = s.trim_start();
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || t.as_bytes().get(digits) != Some(&b':') {
        return s;
    }
    let mut rest = &t[digits + 1..];
    loop {
        let r = rest.trim_start();
        let tok_len = r.bytes().take_while(|b| !b.is_ascii_whitespace()).count();
        let tok = &r[..tok_len];
        let after = &r[tok_len..];
        // A byte is two hex digits followed by whitespace or the end of the line.
        if is_hex_byte(tok) && (after.is_empty() || after.starts_with(|c: char| c.is_ascii_whitespace())) {
            rest = after;
        } else {
            return r;
        }
    }
}

/// Strip a trailing ` <sym+0x28>` branch annotation.
fn strip_annotation(s: &str) -> &str {
    let t = s.trim_end();
    if !t.ends_with('>') {
        return t;
    }
    if let Some(lt) = t.rfind('<') {
        let inner = &t[lt + 1..t.len() - 1];
        let before = &t[..lt];
        if !inner.is_empty() && !inner.contains(char::is_whitespace) && before.ends_with(char::is_whitespace) {
            return before.trim_end();
        }
    }
    t
}

/// Label name syntax.
fn is_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty() && is_ident_start(b[0]) && b.iter().all(|&c| is_ident_char(c))
}

/// `0000000000000000 <prog>:` (an objdump symbol header) -> `prog`.
fn objdump_symbol_header(s: &str) -> Option<&str> {
    let (addr, rest) = s.split_once(' ')?;
    if addr.is_empty() || !addr.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    rest.strip_prefix('<')?.strip_suffix(">:")
}

/// Assembler directives that emit nothing and are skipped (as in `clang -S`
/// and `llvm-mc` output). Sections are not tracked: all code is one program.
const IGNORED_DIRECTIVES: &[&str] = &[
    ".text",
    ".section",
    ".globl",
    ".global",
    ".local",
    ".weak",
    ".hidden",
    ".p2align",
    ".align",
    ".type",
    ".size",
    ".file",
    ".loc",
    ".addrsig",
    ".addrsig_sym",
];

/// `.text` / `.p2align 3` -> the directive name; `None` for labels like `.LBB0_1:`.
fn directive(s: &str) -> Option<&str> {
    if !s.starts_with('.') {
        return None;
    }
    let name_len = s.bytes().take_while(|&b| is_ident_char(b)).count();
    let (name, rest) = s.split_at(name_len);
    if rest.trim_start().starts_with(':') {
        return None;
    }
    Some(name)
}

/// Assemble llvm-syntax text into a slot-indexed program (tails of `lddw` are
/// [`Insn::LoadImm64Tail`]).
///
/// Accepts every form [`disasm_insn`] and `llvm-objdump -d` print, `llvm-mc`'s
/// decimal and `w`-register forms, labels (`LBB0_3:`, `goto LBB0_3`,
/// `call func`), `;`/`#`/`//` comments, blank lines and lines pasted from
/// `llvm-objdump -d` output (address, bytes, ` <sym+0x..>` annotations, header
/// lines; `<sym>:` headers define labels). Directives that emit nothing
/// (`.text`, `.globl`, ...) are skipped. Never panics; errors carry the 1-based
/// line.
pub fn assemble(text: &str) -> Result<Vec<Insn>, AsmError> {
    let mut labels: HashMap<&str, usize> = HashMap::new();
    // (slot, parsed, line)
    let mut items: Vec<(usize, Parsed<'_>, usize)> = Vec::new();
    let mut pc = 0usize;
    for (n, raw) in text.lines().enumerate() {
        let line = n + 1;
        let s = strip_comment(raw).trim();
        if s.is_empty() || s.starts_with("Disassembly of section ") || s.ends_with("file format elf64-bpf") {
            continue;
        }
        if let Some(name) = objdump_symbol_header(s) {
            if labels.insert(name, pc).is_some() {
                return Err(AsmError::new(line, format!("label `{name}` defined twice")));
            }
            continue;
        }
        if let Some(d) = directive(s) {
            if IGNORED_DIRECTIVES.contains(&d) || d.starts_with(".cfi_") {
                continue;
            }
            return Err(AsmError::new(line, format!("unsupported directive `{d}`")));
        }
        let mut s = strip_annotation(strip_objdump_prefix(s)).trim();
        // Label definitions, possibly followed by an instruction.
        while let Some((head, rest)) = s.split_once(':') {
            let head = head.trim();
            if !is_label(head) {
                break;
            }
            if reg_name(head, line).ok().flatten().is_some() {
                return Err(AsmError::new(line, format!("`{head}` is a register, not a label")));
            }
            if labels.insert(head, pc).is_some() {
                return Err(AsmError::new(line, format!("label `{head}` defined twice")));
            }
            s = rest.trim();
        }
        if s.is_empty() {
            continue;
        }
        let toks = lex(s, line)?;
        let mut p = Parser { toks: &toks, i: 0, line };
        let parsed = p.insn()?;
        let slots = parsed.insn.slots();
        items.push((pc, parsed, line));
        pc += slots;
    }

    let mut out = Vec::with_capacity(pc);
    for (at, parsed, line) in items {
        let mut insn = parsed.insn;
        if let Some(t) = parsed.target {
            let (r, from_label) = match t {
                Target::Rel(v) => (v, false),
                Target::Label(l) => match labels.get(l) {
                    Some(&dest) => (dest as i128 - at as i128 - 1, true),
                    None => return Err(AsmError::new(line, format!("unknown label `{l}`"))),
                },
            };
            let range_err =
                |bits: u32| AsmError::new(line, format!("jump offset {} out of range ({bits} bits)", rel(r)));
            // Written offsets may use the unsigned bit pattern (`+0xffff`), as for
            // other fields; offsets computed from labels must fit as signed values.
            let off16 = |v: i128| if from_label { i16::try_from(v).ok() } else { off16(v) };
            let imm32 = |v: i128| if from_label { i32::try_from(v).ok() } else { imm32(v) };
            insn = match insn {
                Insn::Ja { wide: false, .. } => {
                    Insn::Ja { off: off16(r).ok_or_else(|| range_err(16))? as i32, wide: false }
                }
                Insn::Ja { wide: true, .. } => Insn::Ja { off: imm32(r).ok_or_else(|| range_err(32))?, wide: true },
                Insn::Jump { cond, width, dst, src, .. } => {
                    Insn::Jump { cond, width, dst, src, off: off16(r).ok_or_else(|| range_err(16))? }
                }
                Insn::MayGoto { .. } => Insn::MayGoto { off: off16(r).ok_or_else(|| range_err(16))? },
                Insn::Call(CallTarget::Local(_)) => {
                    Insn::Call(CallTarget::Local(imm32(r).ok_or_else(|| range_err(32))?))
                }
                other => other,
            };
        }
        out.push(insn);
        if insn.slots() == 2 {
            out.push(Insn::LoadImm64Tail);
        }
    }
    Ok(out)
}
