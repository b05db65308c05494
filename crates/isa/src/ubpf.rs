//! The uBPF assembly syntax used by the bpf_conformance suite:
//! `mov32 %r0, 1`, `ldxh %r3, [%r1+12]`, `jne %r3, 0x81, L1`, `lock fetch add [%r10-8], %r1`,
//! `call local func1`, labels (`L1:`), `#` comments.
//!
//! Conventions kept from that suite's assembler: a jump target is `+N`/`-N` or a label;
//! the label `exit` names the first `exit` instruction unless defined explicitly;
//! `call N` is a helper call (`call helper N`), `call local L` a bpf-to-bpf call,
//! `call runtime N` a kfunc call and `call %rN` (or `callx %rN`) a call through a register.
//! Decimal immediates must fit in `i32`; hex immediates in 32 bits (`0xffffffff` is `-1`).
//!
//! Extensions for what that suite cannot express: pseudo `lddw` sources
//! (`lddw %r1, map_fd(3)`, `map_value(3, 8)`, `btf_id(7)`, `func(+2)`, `map_idx(0)`,
//! `map_idx_value(0, 8)`) and legacy packet loads (`ldabsw 12`, `ldindh %r1, 14`).

use crate::asm::{imm32, parse_int, AsmError};
use crate::{AluOp, AtomicOp, CallTarget, Cond, Endian, Imm64, Insn, Operand, PacketMode, Reg, Size, Width};
use std::collections::HashMap;
use std::fmt::Write as _;

fn alu_name(op: AluOp) -> &'static str {
    match op {
        AluOp::Add => "add",
        AluOp::Sub => "sub",
        AluOp::Mul => "mul",
        AluOp::Div => "div",
        AluOp::SDiv => "sdiv",
        AluOp::Or => "or",
        AluOp::And => "and",
        AluOp::Lsh => "lsh",
        AluOp::Rsh => "rsh",
        AluOp::Mod => "mod",
        AluOp::SMod => "smod",
        AluOp::Xor => "xor",
        AluOp::Mov => "mov",
        AluOp::Arsh => "arsh",
    }
}

fn cond_name(c: Cond) -> &'static str {
    match c {
        Cond::Eq => "jeq",
        Cond::Gt => "jgt",
        Cond::Ge => "jge",
        Cond::Set => "jset",
        Cond::Ne => "jne",
        Cond::SGt => "jsgt",
        Cond::SGe => "jsge",
        Cond::Lt => "jlt",
        Cond::Le => "jle",
        Cond::SLt => "jslt",
        Cond::SLe => "jsle",
    }
}

fn size_suffix(s: Size) -> &'static str {
    match s {
        Size::B => "b",
        Size::H => "h",
        Size::W => "w",
        Size::DW => "dw",
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

fn w32(w: Width) -> &'static str {
    if w == Width::W32 {
        "32"
    } else {
        ""
    }
}

fn mem(r: Reg, off: i16) -> String {
    if off < 0 {
        format!("[%r{}-{}]", r.num(), -(off as i32))
    } else {
        format!("[%r{}+{}]", r.num(), off)
    }
}

fn rel(off: i64) -> String {
    if off < 0 {
        format!("{off}")
    } else {
        format!("+{off}")
    }
}

fn operand(o: Operand) -> String {
    match o {
        Operand::Reg(r) => format!("%r{}", r.num()),
        Operand::Imm(i) => format!("{i}"),
    }
}

/// Print one instruction in uBPF syntax (`LoadImm64Tail` prints as an empty string).
pub fn disasm_insn(insn: &Insn) -> String {
    match *insn {
        Insn::Alu { op, width, dst, src } => {
            format!("{}{} %r{}, {}", alu_name(op), w32(width), dst.num(), operand(src))
        }
        Insn::Neg { width, dst } => format!("neg{} %r{}", w32(width), dst.num()),
        Insn::MovSx { width, dst, src, bits } => {
            format!("movsx{}{} %r{}, %r{}", bits, if width == Width::W32 { 32 } else { 64 }, dst.num(), src.num())
        }
        Insn::Endian { kind, bits, dst } => {
            let k = match kind {
                Endian::Le => "le",
                Endian::Be => "be",
                Endian::Swap => "bswap",
            };
            format!("{k}{bits} %r{}", dst.num())
        }
        Insn::Load { size, dst, src, off, sign_extend } => {
            format!("ldx{}{} %r{}, {}", if sign_extend { "s" } else { "" }, size_suffix(size), dst.num(), mem(src, off))
        }
        Insn::Store { size, dst, off, src: Operand::Reg(s) } => {
            format!("stx{} {}, %r{}", size_suffix(size), mem(dst, off), s.num())
        }
        Insn::Store { size, dst, off, src: Operand::Imm(i) } => {
            format!("st{} {}, {}", size_suffix(size), mem(dst, off), i)
        }
        Insn::Atomic { size, op, fetch, dst, off, src } => {
            let f = if fetch && !matches!(op, AtomicOp::Xchg | AtomicOp::CmpXchg) { "fetch " } else { "" };
            let w = if size == Size::W { "32" } else { "" };
            format!("lock {f}{}{w} {}, %r{}", atomic_name(op), mem(dst, off), src.num())
        }
        Insn::LoadAcquire { size, dst, src, off } => {
            format!("ldxacq{} %r{}, {}", size_suffix(size), dst.num(), mem(src, off))
        }
        Insn::StoreRelease { size, dst, off, src } => {
            format!("stxrel{} {}, %r{}", size_suffix(size), mem(dst, off), src.num())
        }
        Insn::AddrSpaceCast { dst, src, dst_as, src_as } => {
            format!("addr_space_cast %r{}, %r{}, {dst_as}, {src_as}", dst.num(), src.num())
        }
        Insn::LoadImm64 { dst, imm } => {
            let v = match imm {
                Imm64::Value(v) => format!("{v:#x}"),
                Imm64::MapFd(fd) => format!("map_fd({fd})"),
                Imm64::MapValue { fd, off } => format!("map_value({fd}, {off:#x})"),
                Imm64::BtfId { id, btf_fd: 0 } => format!("btf_id({id})"),
                Imm64::BtfId { id, btf_fd } => format!("btf_id({id}, {btf_fd})"),
                Imm64::Func(r) => format!("func({})", rel(r as i64)),
                Imm64::MapIdx(i) => format!("map_idx({i})"),
                Imm64::MapIdxValue { idx, off } => format!("map_idx_value({idx}, {off:#x})"),
            };
            format!("lddw %r{}, {v}", dst.num())
        }
        Insn::LoadImm64Tail => String::new(),
        Insn::LoadPacket { size, mode: PacketMode::Abs, imm } => format!("ldabs{} {imm}", size_suffix(size)),
        Insn::LoadPacket { size, mode: PacketMode::Ind(r), imm } => {
            format!("ldind{} %r{}, {imm}", size_suffix(size), r.num())
        }
        Insn::Ja { off, wide } => format!("ja{} {}", if wide { "32" } else { "" }, rel(off as i64)),
        Insn::Jump { cond, width, dst, src, off } => {
            format!("{}{} %r{}, {}, {}", cond_name(cond), w32(width), dst.num(), operand(src), rel(off as i64))
        }
        Insn::MayGoto { off } => format!("may_goto {}", rel(off as i64)),
        Insn::Call(CallTarget::Helper(id)) => format!("call {id}"),
        Insn::Call(CallTarget::Local(r)) => format!("call local {}", rel(r as i64)),
        Insn::Call(CallTarget::Kfunc { btf_id, off: 0 }) => format!("call runtime {btf_id}"),
        Insn::Call(CallTarget::Kfunc { btf_id, off }) => format!("call runtime {btf_id}, {off}"),
        Insn::CallX { reg } => format!("callx %r{}", reg.num()),
        Insn::Exit => "exit".to_string(),
    }
}

/// Print a slot-indexed program, one instruction per line.
pub fn disasm(insns: &[Insn]) -> String {
    let mut s = String::new();
    for i in insns {
        if *i != Insn::LoadImm64Tail {
            let _ = writeln!(s, "{}", disasm_insn(i));
        }
    }
    s
}

/// A jump/call target waiting for label resolution.
enum Fixup {
    Jump(String),
    Call(String),
    Func(String),
}

struct Parser {
    line: usize,
}

impl Parser {
    fn err(&self, msg: impl Into<String>) -> AsmError {
        AsmError::new(self.line, msg)
    }

    fn reg(&self, s: &str) -> Result<Reg, AsmError> {
        let n = s
            .strip_prefix("%r")
            .and_then(
                |n| if n.bytes().all(|b| b.is_ascii_digit()) && !n.is_empty() { n.parse::<u32>().ok() } else { None },
            )
            .ok_or_else(|| self.err(format!("invalid register `{s}` (expected %r0..%r10)")))?;
        if n > 10 {
            return Err(self.err(format!("invalid register `{s}` (expected %r0..%r10)")));
        }
        Ok(Reg::new(n as u8).expect("checked above"))
    }

    fn imm(&self, s: &str) -> Result<i32, AsmError> {
        let v = parse_int(s).ok_or_else(|| self.err(format!("invalid immediate `{s}`")))?;
        let hex = s.trim_start_matches(['-', '+']).starts_with("0x");
        let ok = if hex { imm32(v) } else { i32::try_from(v).ok() };
        ok.ok_or_else(|| self.err(format!("immediate `{s}` out of 32-bit range")))
    }

    fn off(&self, s: &str) -> Result<i16, AsmError> {
        let v = parse_int(s).ok_or_else(|| self.err(format!("invalid offset `{s}`")))?;
        let hex = s.trim_start_matches(['-', '+']).starts_with("0x");
        let ok = if hex && v >= 0 { u16::try_from(v).ok().map(|u| u as i16) } else { i16::try_from(v).ok() };
        ok.ok_or_else(|| self.err(format!("offset `{s}` out of 16-bit range")))
    }

    fn operand(&self, s: &str) -> Result<Operand, AsmError> {
        if s.starts_with('%') {
            Ok(Operand::Reg(self.reg(s)?))
        } else {
            Ok(Operand::Imm(self.imm(s)?))
        }
    }

    /// `[%rN]`, `[%rN+off]`, `[%rN-off]`.
    fn mem(&self, s: &str) -> Result<(Reg, i16), AsmError> {
        let inner = s
            .strip_prefix('[')
            .and_then(|s| s.strip_suffix(']'))
            .ok_or_else(|| self.err(format!("expected a memory operand like [%r1+4], found `{s}`")))?;
        let inner: String = inner.chars().filter(|c| !c.is_whitespace()).collect();
        match inner.find(['+', '-']) {
            None => Ok((self.reg(&inner)?, 0)),
            Some(i) => Ok((self.reg(&inner[..i])?, self.off(&inner[i..])?)),
        }
    }

    fn count(&self, mnemonic: &str, ops: &[String], n: usize) -> Result<(), AsmError> {
        if ops.len() != n {
            return Err(
                self.err(format!("invalid number of operands for `{mnemonic}`: expected {n}, found {}", ops.len()))
            );
        }
        Ok(())
    }
}

fn size_from(s: &str) -> Option<Size> {
    Some(match s {
        "b" => Size::B,
        "h" => Size::H,
        "w" => Size::W,
        "dw" => Size::DW,
        _ => return None,
    })
}

fn split_width(m: &str) -> (&str, Width) {
    match m.strip_suffix("32") {
        Some(base) => (base, Width::W32),
        None => (m, Width::W64),
    }
}

fn alu_from(s: &str) -> Option<AluOp> {
    AluOp::ALL.into_iter().find(|op| alu_name(*op) == s)
}

fn cond_from(s: &str) -> Option<Cond> {
    Cond::ALL.into_iter().find(|c| cond_name(*c) == s)
}

/// Split the operand text on commas, keeping `[...]` and `(...)` groups whole.
fn split_operands(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0i32;
    for c in s.chars() {
        match c {
            '[' | '(' => {
                depth += 1;
                cur.push(c);
            }
            ']' | ')' => {
                depth -= 1;
                cur.push(c);
            }
            ',' if depth <= 0 => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out.into_iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()
}

/// Assemble uBPF-syntax text into a slot-indexed program.
pub fn assemble(text: &str) -> Result<Vec<Insn>, AsmError> {
    let mut p = Parser { line: 0 };
    let mut out: Vec<Insn> = Vec::new();
    let mut labels: HashMap<String, usize> = HashMap::new();
    let mut first_exit: Option<usize> = None;
    let mut fixups: Vec<(usize, usize, Fixup)> = Vec::new(); // (pc, line, target)

    for (i, raw_line) in text.lines().enumerate() {
        p.line = i + 1;
        let mut line = raw_line;
        if let Some(c) = line.find(['#', ';']) {
            line = &line[..c];
        }
        if let Some(c) = line.find("//") {
            line = &line[..c];
        }
        let mut line = line.trim();
        // Labels, possibly followed by an instruction on the same line.
        while let Some(colon) = line.find(':') {
            let name = line[..colon].trim();
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.') {
                return Err(p.err(format!("invalid label `{name}`")));
            }
            if labels.insert(name.to_string(), out.len()).is_some() {
                return Err(p.err(format!("duplicate label `{name}`")));
            }
            line = line[colon + 1..].trim();
        }
        if line.is_empty() {
            continue;
        }
        let (mnemonic, rest) = match line.find(char::is_whitespace) {
            Some(i) => (&line[..i], line[i..].trim()),
            None => (line, ""),
        };
        let mnemonic = mnemonic.to_ascii_lowercase();
        let ops = split_operands(rest);
        let pc = out.len();
        let insn = parse_insn(&p, &mnemonic, &ops, pc, &mut fixups)?;
        if insn == Insn::Exit && first_exit.is_none() {
            first_exit = Some(pc);
        }
        out.push(insn);
        if insn.slots() == 2 {
            out.push(Insn::LoadImm64Tail);
        }
    }
    if let Some(e) = first_exit {
        labels.entry("exit".to_string()).or_insert(e);
    }
    for (pc, line, fix) in fixups {
        let name = match &fix {
            Fixup::Jump(n) | Fixup::Call(n) | Fixup::Func(n) => n,
        };
        let target = *labels.get(name).ok_or_else(|| AsmError::new(line, format!("unknown label `{name}`")))?;
        let delta = target as i64 - pc as i64 - 1;
        let range_err = || AsmError::new(line, format!("label `{name}` is out of jump range"));
        out[pc] = match out[pc] {
            Insn::Ja { wide: true, .. } => Insn::Ja { off: i32::try_from(delta).map_err(|_| range_err())?, wide: true },
            Insn::Ja { wide: false, .. } => {
                Insn::Ja { off: i16::try_from(delta).map_err(|_| range_err())? as i32, wide: false }
            }
            Insn::Jump { cond, width, dst, src, .. } => {
                Insn::Jump { cond, width, dst, src, off: i16::try_from(delta).map_err(|_| range_err())? }
            }
            Insn::MayGoto { .. } => Insn::MayGoto { off: i16::try_from(delta).map_err(|_| range_err())? },
            Insn::Call(CallTarget::Local(_)) => {
                Insn::Call(CallTarget::Local(i32::try_from(delta).map_err(|_| range_err())?))
            }
            Insn::LoadImm64 { dst, imm: Imm64::Func(_) } => {
                Insn::LoadImm64 { dst, imm: Imm64::Func(i32::try_from(delta).map_err(|_| range_err())?) }
            }
            other => other,
        };
    }
    if out.is_empty() {
        return Err(AsmError::new(p.line.max(1), "no instructions"));
    }
    Ok(out)
}

fn is_rel(s: &str) -> bool {
    s.starts_with('+') || s.starts_with('-')
}

fn parse_insn(
    p: &Parser,
    m: &str,
    ops: &[String],
    pc: usize,
    fixups: &mut Vec<(usize, usize, Fixup)>,
) -> Result<Insn, AsmError> {
    let jump_target =
        |s: &str, fixups: &mut Vec<(usize, usize, Fixup)>, mk: fn(String) -> Fixup| -> Result<i64, AsmError> {
            if is_rel(s) {
                let v = parse_int(s).ok_or_else(|| p.err(format!("invalid jump offset `{s}`")))?;
                i64::try_from(v).map_err(|_| p.err(format!("jump offset `{s}` out of range")))
            } else if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.') {
                fixups.push((pc, p.line, mk(s.to_string())));
                Ok(0)
            } else {
                Err(p.err(format!("invalid jump target `{s}`")))
            }
        };
    match m {
        "exit" => {
            p.count(m, ops, 0)?;
            Ok(Insn::Exit)
        }
        "ja" | "ja32" => {
            p.count(m, ops, 1)?;
            let off = jump_target(&ops[0], fixups, Fixup::Jump)?;
            if m == "ja" {
                let off = i16::try_from(off).map_err(|_| p.err("jump offset out of 16-bit range"))?;
                Ok(Insn::Ja { off: off as i32, wide: false })
            } else {
                let off = i32::try_from(off).map_err(|_| p.err("jump offset out of 32-bit range"))?;
                Ok(Insn::Ja { off, wide: true })
            }
        }
        "call" | "callx" => {
            if m == "callx" || (ops.len() == 1 && ops[0].starts_with('%')) {
                p.count(m, ops, 1)?;
                return Ok(Insn::CallX { reg: p.reg(&ops[0])? });
            }
            // `call N`, `call helper N`, `call local L`, `call runtime N[, off]`
            let words: Vec<&str> = ops.iter().flat_map(|o| o.split_whitespace()).collect();
            match words.as_slice() {
                [n] => Ok(Insn::Call(CallTarget::Helper(p.imm(n)?))),
                ["helper", n] => Ok(Insn::Call(CallTarget::Helper(p.imm(n)?))),
                ["local", t] => {
                    let off = jump_target(t, fixups, Fixup::Call)?;
                    Ok(Insn::Call(CallTarget::Local(
                        i32::try_from(off).map_err(|_| p.err("call offset out of range"))?,
                    )))
                }
                ["runtime", n] => Ok(Insn::Call(CallTarget::Kfunc { btf_id: p.imm(n)?, off: 0 })),
                ["runtime", n, o] => Ok(Insn::Call(CallTarget::Kfunc { btf_id: p.imm(n)?, off: p.off(o)? })),
                _ => Err(p.err("invalid call: expected `call N`, `call local LABEL`, `call runtime N` or `call %rN`")),
            }
        }
        "lock" => parse_lock(p, ops),
        "may_goto" => {
            p.count(m, ops, 1)?;
            let off = jump_target(&ops[0], fixups, Fixup::Jump)?;
            Ok(Insn::MayGoto { off: i16::try_from(off).map_err(|_| p.err("jump offset out of 16-bit range"))? })
        }
        "addr_space_cast" => {
            p.count(m, ops, 4)?;
            let (dst, src) = (p.reg(&ops[0])?, p.reg(&ops[1])?);
            match (ops[2].as_str(), ops[3].as_str()) {
                ("0", "1") => Ok(Insn::AddrSpaceCast { dst, src, dst_as: 0, src_as: 1 }),
                ("1", "0") => Ok(Insn::AddrSpaceCast { dst, src, dst_as: 1, src_as: 0 }),
                _ => Err(p.err("addr_space_cast converts between address spaces 1 and 0 (`0, 1` or `1, 0`)")),
            }
        }
        _ if m.starts_with("ldxacq") || m.starts_with("stxrel") => {
            p.count(m, ops, 2)?;
            let size = size_from(&m[6..]).ok_or_else(|| p.err(format!("unknown mnemonic `{m}`")))?;
            if m.starts_with("ldxacq") {
                let (src, off) = p.mem(&ops[1])?;
                Ok(Insn::LoadAcquire { size, dst: p.reg(&ops[0])?, src, off })
            } else {
                let (dst, off) = p.mem(&ops[0])?;
                Ok(Insn::StoreRelease { size, dst, off, src: p.reg(&ops[1])? })
            }
        }
        "lddw" => {
            p.count(m, ops, 2)?;
            let dst = p.reg(&ops[0])?;
            let s = ops[1].as_str();
            let imm = if let Some((kind, args)) = s.strip_suffix(')').and_then(|s| s.split_once('(')) {
                let args: Vec<&str> = args.split(',').map(str::trim).collect();
                let one = || -> Result<i32, AsmError> {
                    match args.as_slice() {
                        [a] => p.imm(a),
                        _ => Err(p.err(format!("`{kind}(..)` takes one argument"))),
                    }
                };
                let two = || -> Result<(i32, u32), AsmError> {
                    match args.as_slice() {
                        [a, b] => Ok((p.imm(a)?, p.imm(b)? as u32)),
                        _ => Err(p.err(format!("`{kind}(..)` takes two arguments"))),
                    }
                };
                match kind.trim() {
                    "map_fd" => Imm64::MapFd(one()?),
                    "map_value" => {
                        let (fd, off) = two()?;
                        Imm64::MapValue { fd, off }
                    }
                    "btf_id" => match args.as_slice() {
                        [a] => Imm64::BtfId { id: p.imm(a)?, btf_fd: 0 },
                        _ => {
                            let (id, fd) = two()?;
                            Imm64::BtfId { id, btf_fd: fd as i32 }
                        }
                    },
                    "map_idx" => Imm64::MapIdx(one()?),
                    "map_idx_value" => {
                        let (idx, off) = two()?;
                        Imm64::MapIdxValue { idx, off }
                    }
                    "func" => match args.as_slice() {
                        [t] => {
                            let off = jump_target(t, fixups, Fixup::Func)?;
                            Imm64::Func(i32::try_from(off).map_err(|_| p.err("function offset out of range"))?)
                        }
                        _ => return Err(p.err("`func(..)` takes one argument")),
                    },
                    k => return Err(p.err(format!("unknown lddw source `{k}`"))),
                }
            } else {
                let v = parse_int(s).ok_or_else(|| p.err(format!("invalid immediate `{s}`")))?;
                if !(i64::MIN as i128..=u64::MAX as i128).contains(&v) {
                    return Err(p.err(format!("immediate `{s}` out of 64-bit range")));
                }
                Imm64::Value(v as u64)
            };
            Ok(Insn::LoadImm64 { dst, imm })
        }
        _ => parse_regular(p, m, ops, pc, fixups, &jump_target),
    }
}

type JumpTargetFn<'a> =
    dyn Fn(&str, &mut Vec<(usize, usize, Fixup)>, fn(String) -> Fixup) -> Result<i64, AsmError> + 'a;

fn parse_regular(
    p: &Parser,
    m: &str,
    ops: &[String],
    _pc: usize,
    fixups: &mut Vec<(usize, usize, Fixup)>,
    jump_target: &JumpTargetFn<'_>,
) -> Result<Insn, AsmError> {
    // Byte swaps: be16 le32 swap64 bswap16 ...
    for (prefix, kind) in [("bswap", Endian::Swap), ("swap", Endian::Swap), ("be", Endian::Be), ("le", Endian::Le)] {
        if let Some(bits) = m.strip_prefix(prefix) {
            if let Ok(bits @ (16 | 32 | 64)) = bits.parse::<u8>() {
                p.count(m, ops, 1)?;
                return Ok(Insn::Endian { kind, bits, dst: p.reg(&ops[0])? });
            }
        }
    }
    // movsx{8,16,32}{32,64}
    if let Some(rest) = m.strip_prefix("movsx") {
        let parsed = match rest {
            "832" => Some((8, Width::W32)),
            "1632" => Some((16, Width::W32)),
            "864" => Some((8, Width::W64)),
            "1664" => Some((16, Width::W64)),
            "3264" => Some((32, Width::W64)),
            _ => None,
        };
        if let Some((bits, width)) = parsed {
            p.count(m, ops, 2)?;
            return Ok(Insn::MovSx { width, dst: p.reg(&ops[0])?, src: p.reg(&ops[1])?, bits });
        }
    }
    if let Some(rest) = m.strip_prefix("ldabs") {
        if let Some(size @ (Size::B | Size::H | Size::W)) = size_from(rest) {
            p.count(m, ops, 1)?;
            return Ok(Insn::LoadPacket { size, mode: PacketMode::Abs, imm: p.imm(&ops[0])? });
        }
    }
    if let Some(rest) = m.strip_prefix("ldind") {
        if let Some(size @ (Size::B | Size::H | Size::W)) = size_from(rest) {
            p.count(m, ops, 2)?;
            return Ok(Insn::LoadPacket { size, mode: PacketMode::Ind(p.reg(&ops[0])?), imm: p.imm(&ops[1])? });
        }
    }
    if let Some(rest) = m.strip_prefix("ldxs") {
        if let Some(size @ (Size::B | Size::H | Size::W)) = size_from(rest) {
            p.count(m, ops, 2)?;
            let (src, off) = p.mem(&ops[1])?;
            return Ok(Insn::Load { size, dst: p.reg(&ops[0])?, src, off, sign_extend: true });
        }
    }
    if let Some(rest) = m.strip_prefix("ldx") {
        if let Some(size) = size_from(rest) {
            p.count(m, ops, 2)?;
            let (src, off) = p.mem(&ops[1])?;
            return Ok(Insn::Load { size, dst: p.reg(&ops[0])?, src, off, sign_extend: false });
        }
    }
    if let Some(rest) = m.strip_prefix("stx") {
        if let Some(size) = size_from(rest) {
            p.count(m, ops, 2)?;
            let (dst, off) = p.mem(&ops[0])?;
            return Ok(Insn::Store { size, dst, off, src: Operand::Reg(p.reg(&ops[1])?) });
        }
    }
    if let Some(rest) = m.strip_prefix("st") {
        if let Some(size) = size_from(rest) {
            p.count(m, ops, 2)?;
            let (dst, off) = p.mem(&ops[0])?;
            return Ok(Insn::Store { size, dst, off, src: Operand::Imm(p.imm(&ops[1])?) });
        }
    }
    let (base, width) = split_width(m);
    if base == "neg" {
        p.count(m, ops, 1)?;
        return Ok(Insn::Neg { width, dst: p.reg(&ops[0])? });
    }
    if let Some(op) = alu_from(base) {
        p.count(m, ops, 2)?;
        return Ok(Insn::Alu { op, width, dst: p.reg(&ops[0])?, src: p.operand(&ops[1])? });
    }
    if let Some(cond) = cond_from(base) {
        p.count(m, ops, 3)?;
        let dst = p.reg(&ops[0])?;
        let src = p.operand(&ops[1])?;
        let off = jump_target(&ops[2], fixups, Fixup::Jump)?;
        let off = i16::try_from(off).map_err(|_| p.err("jump offset out of 16-bit range"))?;
        return Ok(Insn::Jump { cond, width, dst, src, off });
    }
    Err(p.err(format!("invalid mnemonic `{m}`")))
}

/// `lock [fetch] op[32] [%rD+off], %rS`
fn parse_lock(p: &Parser, ops: &[String]) -> Result<Insn, AsmError> {
    // ops were split on commas: ["[fetch] op [%rD+off]", "%rS"]
    let invalid = || p.err("invalid number of operands for lock: expected `lock [fetch] OP [%rD+OFF], %rS`");
    if ops.len() != 2 {
        return Err(invalid());
    }
    let words: Vec<&str> = ops[0].split_whitespace().collect();
    let (fetch, name, memop) = match words.as_slice() {
        ["fetch", name, memop] => (true, *name, *memop),
        [name, memop] => (false, *name, *memop),
        _ => return Err(invalid()),
    };
    let (base, width) = split_width(name);
    let size = if width == Width::W32 { Size::W } else { Size::DW };
    let op = match base {
        "add" => AtomicOp::Add,
        "or" => AtomicOp::Or,
        "and" => AtomicOp::And,
        "xor" => AtomicOp::Xor,
        "xchg" => AtomicOp::Xchg,
        "cmpxchg" => AtomicOp::CmpXchg,
        _ => return Err(p.err(format!("invalid atomic operation `{name}`"))),
    };
    let fetch = fetch || matches!(op, AtomicOp::Xchg | AtomicOp::CmpXchg);
    let (dst, off) = p.mem(memop)?;
    Ok(Insn::Atomic { size, op, fetch, dst, off, src: p.reg(&ops[1])? })
}
