//! Shared pieces of the two assemblers.

/// An assembly error at a 1-based source line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {msg}")]
pub struct AsmError {
    pub line: usize,
    pub msg: String,
}

impl AsmError {
    pub fn new(line: usize, msg: impl Into<String>) -> AsmError {
        AsmError { line, msg: msg.into() }
    }
}

/// Which text syntax to read or write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// What `llvm-objdump -d` prints for BPF: `r1 = *(u32 *)(r6 + 0x4)`.
    Llvm,
    /// uBPF / bpf_conformance: `ldxw %r1, [%r6+4]`.
    Ubpf,
}

/// Parse an integer literal: decimal or `0x` hex, optional sign; the value is returned
/// as i128 so callers can range-check for their field.
pub fn parse_int(s: &str) -> Option<i128> {
    let s = s.trim();
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let v = if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        if h.is_empty() || h.len() > 32 {
            return None;
        }
        i128::from_str_radix(h, 16).ok()?
    } else {
        if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) || body.len() > 38 {
            return None;
        }
        body.parse::<i128>().ok()?
    };
    Some(if neg { -v } else { v })
}

/// A 32-bit immediate: accepts -2^31..2^32-1 (values above i32::MAX are taken as their
/// 32-bit two's-complement pattern, as assemblers do for `0xffffffff`).
pub fn imm32(v: i128) -> Option<i32> {
    if (i32::MIN as i128..=u32::MAX as i128).contains(&v) {
        Some(v as u32 as i32)
    } else {
        None
    }
}

/// A 16-bit offset: accepts -2^15..2^16-1 likewise.
pub fn off16(v: i128) -> Option<i16> {
    if (i16::MIN as i128..=u16::MAX as i128).contains(&v) {
        Some(v as u16 as i16)
    } else {
        None
    }
}

/// Assemble `text` in the given syntax into a slot-indexed program.
pub fn assemble(text: &str, syntax: Syntax) -> Result<Vec<crate::Insn>, AsmError> {
    match syntax {
        Syntax::Llvm => crate::llvm::assemble(text),
        Syntax::Ubpf => crate::ubpf::assemble(text),
    }
}
