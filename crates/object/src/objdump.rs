//! `llvm-objdump -d` for BPF objects.
//!
//! Reproduces the layout of llvm-objdump-19 (checked against it on every object
//! in `tests/progs` and on hand-made corner cases):
//!
//! * every executable section with data gets `Disassembly of section NAME:`;
//! * a section without a symbol at offset 0 gets a dummy symbol named after it;
//! * section and file symbols are ignored; where several symbols share an
//!   address, the header shows the alphabetically last code symbol (`STT_FUNC`
//!   or `STT_NOTYPE`), or if there is none the alphabetically last data symbol,
//!   whose bytes are then dumped as data (`   8: 05 00 ...   ........`);
//! * branch annotations `<sym+0x28>` name the alphabetically last symbol at the
//!   highest address not above the target (any type), with wrapping
//!   arithmetic (`<f+0xffffffffffffffe8>` for a jump before the section start);
//!   calls and `lddw` get no annotation.
//!
//! Instruction text comes from [`bpfbox_isa::llvm::objdump_insn`]; so unlike
//! the default-cpu objdump, 32-bit atomics print as what they are rather than
//! `<unknown>` (and a 32-bit `atomic_fetch_add` is not shown as `lock +=`).
//! Slots our decoder rejects print as `<unknown>`.

use crate::{CodeSection, Object, ObjectError, Symbol};
use bpfbox_isa::llvm::objdump_insn;
use bpfbox_isa::{decode_at, raw, Insn};
use std::fmt::Write as _;

/// The symbol objdump names a region after: code symbols first, then the
/// alphabetically last name. `syms` all have the same address.
fn pick_header<'a>(syms: &[&'a Symbol]) -> Option<&'a Symbol> {
    let best = |code: bool| {
        syms.iter().filter(|s| s.kind.is_code() == code).max_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()))
    };
    best(true).or_else(|| best(false)).copied()
}

fn hex_bytes(b: &[u8]) -> String {
    let v: Vec<String> = b.iter().map(|x| format!("{x:02x}")).collect();
    v.join(" ")
}

/// The symbols objdump uses for a section: its own plus a dummy at 0 named after
/// the section when nothing is defined there.
fn display_symbols(sec: &CodeSection) -> Vec<Symbol> {
    let mut syms = sec.symbols.clone();
    if !syms.iter().any(|s| s.offset == 0) {
        syms.push(Symbol {
            name: sec.name.clone(),
            offset: 0,
            size: 0,
            kind: crate::SymbolKind::Func,
            binding: crate::Binding::Local,
        });
    }
    syms.sort_by(|a, b| (a.offset, a.name.as_bytes()).cmp(&(b.offset, b.name.as_bytes())));
    syms
}

/// ` <sym+0x28>` for a branch to byte address `target` (wrapping arithmetic).
fn annotation(syms: &[Symbol], target: u64) -> String {
    // Sorted by (offset, name): the last one not above the target.
    match syms.iter().rev().find(|s| s.offset <= target) {
        Some(s) if s.offset == target => format!(" <{}>", s.name),
        Some(s) => format!(" <{}+{:#x}>", s.name, target.wrapping_sub(s.offset)),
        None => String::new(),
    }
}

fn disassemble_code(out: &mut String, bytes: &[u8], start: usize, end: usize, syms: &[Symbol]) {
    let mut at = start;
    while at < end {
        let rest = &bytes[at..end];
        if rest.len() < 8 {
            for b in rest {
                let _ = writeln!(out, "{:>8}:\t{b:02x}\t<unknown>", at / 8);
            }
            return;
        }
        let slots = raw::slots(&rest[..rest.len().min(16)]);
        match decode_at(&slots, 0) {
            Ok(insn) => {
                let n = insn.slots() * 8;
                let mut text = objdump_insn(&insn);
                let off = match insn {
                    Insn::Ja { off, .. } => Some(off as i64),
                    Insn::Jump { off, .. } => Some(off as i64),
                    Insn::MayGoto { off } => Some(off as i64),
                    _ => None,
                };
                if let Some(off) = off {
                    let target = (at as u64).wrapping_add(8).wrapping_add((off as u64).wrapping_mul(8));
                    text.push_str(&annotation(syms, target));
                }
                let _ = writeln!(out, "{:>8}:\t{}\t{text}", at / 8, hex_bytes(&rest[..n]));
                at += n;
            }
            Err(_) => {
                let _ = writeln!(out, "{:>8}:\t{}\t<unknown>", at / 8, hex_bytes(&rest[..8]));
                at += 8;
            }
        }
    }
}

fn dump_data(out: &mut String, bytes: &[u8], start: usize, end: usize) {
    for chunk_start in (start..end).step_by(8) {
        let chunk = &bytes[chunk_start..(chunk_start + 8).min(end)];
        let ascii: String = chunk.iter().map(|&b| if (0x20..0x7f).contains(&b) { b as char } else { '.' }).collect();
        let _ = writeln!(out, "{chunk_start:>8x}: {:<32}{ascii}", hex_bytes(chunk));
    }
}

/// What `llvm-objdump-19 -d FILE` prints for `obj`; `file_name` is the `FILE`
/// shown on the first line. With `prog`, only the function (symbol region)
/// starting at a symbol with that name is printed, like
/// `--disassemble-symbols=NAME`; a name that matches nothing is an error.
pub fn objdump(obj: &Object, file_name: &str, prog: Option<&str>) -> Result<String, ObjectError> {
    let mut out = format!("\n{file_name}:\tfile format elf64-bpf\n");
    let mut found = false;
    for sec in &obj.sections {
        let syms = display_symbols(sec);
        let size = sec.bytes.len();
        let mut header_done = false;
        let mut i = 0;
        while i < syms.len() {
            let addr = syms[i].offset;
            let mut j = i;
            while j < syms.len() && syms[j].offset == addr {
                j += 1;
            }
            let group: Vec<&Symbol> = syms[i..j].iter().collect();
            let end = syms.get(j).map_or(size as u64, |s| s.offset).min(size as u64);
            i = j;
            if addr >= size as u64 {
                continue;
            }
            let Some(sym) = pick_header(&group) else { continue };
            // With a filter the header shows the requested name (any symbol at the
            // address); code or data is still decided by the preferred symbol.
            let shown = match prog {
                None => sym.name.as_str(),
                Some(p) if group.iter().any(|s| s.name == p) => p,
                Some(_) => continue,
            };
            found = true;
            if !header_done {
                let _ = writeln!(out, "\nDisassembly of section {}:", sec.name);
                header_done = true;
            }
            let _ = writeln!(out, "\n{addr:016x} <{shown}>:");
            if sym.kind.is_code() {
                disassemble_code(&mut out, &sec.bytes, addr as usize, end as usize, &syms);
            } else {
                dump_data(&mut out, &sec.bytes, addr as usize, end as usize);
            }
        }
    }
    match prog {
        Some(p) if !found => Err(ObjectError::NoSuchFunction(p.to_string())),
        _ => Ok(out),
    }
}
