//! Symbols of user-space binaries (uprobe wildcards, `usym`, `uaddr`).

use object::{Object, ObjectSymbol, SymbolKind};
use std::path::Path;

/// The defined function symbols of an ELF binary (`.symtab`, else `.dynsym`), sorted.
pub fn function_symbols(binary: &Path) -> Result<Vec<String>, String> {
    let data = std::fs::read(binary).map_err(|e| format!("{}: {e}", binary.display()))?;
    let file = object::File::parse(&*data).map_err(|e| format!("{}: not an ELF file: {e}", binary.display()))?;
    let mut out: Vec<String> = file
        .symbols()
        .chain(file.dynamic_symbols())
        .filter(|s| s.kind() == SymbolKind::Text && s.is_definition())
        .filter_map(|s| s.name().ok().map(str::to_string))
        .filter(|n| !n.is_empty())
        .collect();
    out.sort();
    out.dedup();
    Ok(out)
}

/// The address of a function symbol (its `st_value`), for `uaddr`.
pub fn symbol_address(binary: &Path, name: &str) -> Result<Option<u64>, String> {
    let data = std::fs::read(binary).map_err(|e| format!("{}: {e}", binary.display()))?;
    let file = object::File::parse(&*data).map_err(|e| format!("{}: not an ELF file: {e}", binary.display()))?;
    Ok(file.symbols().chain(file.dynamic_symbols()).find(|s| s.name() == Ok(name)).map(|s| s.address()))
}

/// Function symbols of one ELF file, sorted by address: `(address, size, name)`.
pub fn symbol_table(binary: &Path) -> Vec<(u64, u64, String)> {
    let Ok(data) = std::fs::read(binary) else { return Vec::new() };
    let Ok(file) = object::File::parse(&*data) else { return Vec::new() };
    let mut out: Vec<(u64, u64, String)> = file
        .symbols()
        .chain(file.dynamic_symbols())
        .filter(|s| s.kind() == SymbolKind::Text && s.is_definition() && s.address() != 0)
        .filter_map(|s| s.name().ok().map(|n| (s.address(), s.size(), n.to_string())))
        .collect();
    out.sort();
    out.dedup_by(|a, b| a.0 == b.0);
    out
}

/// The symbol `addr` falls in, as `name+offset` (or `name` at its start), using a
/// process's memory map (the text of `/proc/PID/maps`); `None` when no mapped file's symbol covers it.
pub fn resolve_user(
    maps: &str,
    addr: u64,
    cache: &mut std::collections::HashMap<std::path::PathBuf, Vec<(u64, u64, String)>>,
) -> Option<String> {
    for line in maps.lines() {
        let mut f = line.split_whitespace();
        let range = f.next()?;
        let _perms = f.next()?;
        let off = u64::from_str_radix(f.next()?, 16).ok()?;
        let _dev = f.next();
        let _inode = f.next();
        let Some(path) = f.next().filter(|p| p.starts_with('/')) else { continue };
        let (lo, hi) = range.split_once('-')?;
        let (lo, hi) = (u64::from_str_radix(lo, 16).ok()?, u64::from_str_radix(hi, 16).ok()?);
        if addr < lo || addr >= hi {
            continue;
        }
        let path = std::path::PathBuf::from(path);
        let syms = cache.entry(path.clone()).or_insert_with(|| symbol_table(&path));
        // File offset, then the ELF's virtual address: for PIE executables and shared
        // objects the first PT_LOAD is at 0, so the two agree.
        let fileoff = addr - lo + off;
        let vaddr = elf_vaddr_of_offset(&path, fileoff).unwrap_or(fileoff);
        let i = syms.partition_point(|(a, _, _)| *a <= vaddr);
        if i == 0 {
            return None;
        }
        let (a, size, name) = &syms[i - 1];
        if *size != 0 && vaddr >= a + size {
            return None;
        }
        return Some(if vaddr == *a { name.clone() } else { format!("{name}+{}", vaddr - a) });
    }
    None
}

/// The virtual address a file offset is loaded at (program headers of the ELF).
fn elf_vaddr_of_offset(path: &Path, fileoff: u64) -> Option<u64> {
    use object::read::elf::{FileHeader, ProgramHeader};
    let data = std::fs::read(path).ok()?;
    let hdr = object::elf::FileHeader64::<object::Endianness>::parse(&*data).ok()?;
    let endian = hdr.endian().ok()?;
    for ph in hdr.program_headers(endian, &*data).ok()? {
        if ph.p_type(endian) != object::elf::PT_LOAD {
            continue;
        }
        let (o, fsz, va) = (ph.p_offset(endian), ph.p_filesz(endian), ph.p_vaddr(endian));
        if fileoff >= o && fileoff < o + fsz {
            return Some(va + (fileoff - o));
        }
    }
    None
}

/// Where a USDT argument is, as the note's `SIZE@OPERAND` says (x86-64 AT&T syntax).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum UsdtLoc {
    /// `%reg`: the value of a `struct pt_regs` slot (byte offset).
    Reg(u16),
    /// `DISP(%reg)`: memory at the register plus a displacement.
    Mem { reg: u16, disp: i64 },
    /// `$N`.
    Const(i64),
}

/// One USDT argument: its size in bytes (1, 2, 4, 8), signedness and place.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UsdtArg {
    pub size: u8,
    pub signed: bool,
    pub loc: UsdtLoc,
}

/// One USDT probe site of a binary (`.note.stapsdt`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsdtNote {
    pub provider: String,
    pub name: String,
    /// File offsets of the probe's instruction and of its semaphore (0: none).
    pub offset: u64,
    pub semaphore: u64,
    pub args: Vec<UsdtArg>,
}

/// The `struct pt_regs` byte offset of an x86-64 register named in AT&T syntax
/// (`%rdi`, `%edi`, `%di`, `%dil`, `%r8d`...).
fn pt_regs_offset(name: &str) -> Option<u16> {
    let n = name.trim_start_matches('%');
    let reg = match n {
        "rax" | "eax" | "ax" | "al" | "ah" => "ax",
        "rbx" | "ebx" | "bx" | "bl" | "bh" => "bx",
        "rcx" | "ecx" | "cx" | "cl" | "ch" => "cx",
        "rdx" | "edx" | "dx" | "dl" | "dh" => "dx",
        "rsi" | "esi" | "si" | "sil" => "si",
        "rdi" | "edi" | "di" | "dil" => "di",
        "rbp" | "ebp" | "bp" | "bpl" => "bp",
        "rsp" | "esp" | "sp" | "spl" => "sp",
        "rip" => "ip",
        // r8..r15 and their d/w/b forms.
        _ => n.strip_suffix(['d', 'w', 'b']).unwrap_or(n),
    };
    crate::probes::pt_regs_offset(reg).map(|o| o as u16)
}

/// Parse one `SIZE@OPERAND` argument.
pub fn parse_usdt_arg(s: &str) -> Option<UsdtArg> {
    let (size, op) = s.split_once('@')?;
    let size: i32 = size.parse().ok()?;
    let (signed, size) = (size < 0, size.unsigned_abs() as u8);
    if ![1, 2, 4, 8].contains(&size) {
        return None;
    }
    let loc = if let Some(c) = op.strip_prefix('$') {
        UsdtLoc::Const(c.parse().ok()?)
    } else if op.starts_with('%') {
        UsdtLoc::Reg(pt_regs_offset(op)?)
    } else {
        let (disp, rest) = op.split_once('(')?;
        let reg = rest.strip_suffix(')')?;
        let disp = if disp.is_empty() { 0 } else { disp.parse().ok()? };
        UsdtLoc::Mem { reg: pt_regs_offset(reg)?, disp }
    };
    Some(UsdtArg { size, signed, loc })
}

/// The USDT probes of a binary, with file offsets.
pub fn usdt_notes(binary: &Path) -> Result<Vec<UsdtNote>, String> {
    use object::read::elf::{FileHeader, ProgramHeader, SectionHeader};
    let data = std::fs::read(binary).map_err(|e| format!("{}: {e}", binary.display()))?;
    let hdr = object::elf::FileHeader64::<object::Endianness>::parse(&*data)
        .map_err(|e| format!("{}: not a 64-bit ELF file: {e}", binary.display()))?;
    let endian = hdr.endian().map_err(|e| e.to_string())?;
    let sections = hdr.sections(endian, &*data).map_err(|e| e.to_string())?;
    let phdrs = hdr.program_headers(endian, &*data).map_err(|e| e.to_string())?;
    let to_off = |va: u64| -> u64 {
        phdrs
            .iter()
            .filter(|p| p.p_type(endian) == object::elf::PT_LOAD)
            .find(|p| va >= p.p_vaddr(endian) && va < p.p_vaddr(endian) + p.p_memsz(endian))
            .map_or(va, |p| va - p.p_vaddr(endian) + p.p_offset(endian))
    };
    let base_sec = sections
        .iter()
        .find(|s| sections.section_name(endian, s).ok() == Some(b".stapsdt.base".as_slice()))
        .map(|s| s.sh_addr(endian));
    let mut out = Vec::new();
    for s in sections.iter() {
        if sections.section_name(endian, s).ok() != Some(b".note.stapsdt".as_slice()) {
            continue;
        }
        let Ok(Some(mut notes)) = s.notes(endian, &*data) else { continue };
        while let Ok(Some(note)) = notes.next() {
            if note.name() != b"stapsdt" || note.n_type(endian) != 3 {
                continue;
            }
            let d = note.desc();
            if d.len() < 24 {
                continue;
            }
            let word = |i: usize| u64::from_le_bytes(d[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
            let (mut pc, base, mut sem) = (word(0), word(1), word(2));
            if let Some(actual) = base_sec {
                pc = pc.wrapping_add(actual).wrapping_sub(base);
                if sem != 0 {
                    sem = sem.wrapping_add(actual).wrapping_sub(base);
                }
            }
            let mut strs = d[24..].split(|&b| b == 0).map(|b| String::from_utf8_lossy(b).into_owned());
            let provider = strs.next().unwrap_or_default();
            let name = strs.next().unwrap_or_default();
            let args_text = strs.next().unwrap_or_default();
            let args = args_text.split_whitespace().filter_map(parse_usdt_arg).collect();
            out.push(UsdtNote {
                provider,
                name,
                offset: to_off(pc),
                semaphore: if sem == 0 { 0 } else { to_off(sem) },
                args,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::{parse_usdt_arg, UsdtArg, UsdtLoc};

    #[test]
    fn usdt_arguments_parse_as_stap_writes_them() {
        let a = |size, signed, loc| Some(UsdtArg { size, signed, loc });
        assert_eq!(parse_usdt_arg("8@%rbx"), a(8, false, UsdtLoc::Reg(40)));
        assert_eq!(parse_usdt_arg("-4@%ebp"), a(4, true, UsdtLoc::Reg(32)));
        assert_eq!(parse_usdt_arg("-4@112(%rsp)"), a(4, true, UsdtLoc::Mem { reg: 152, disp: 112 }));
        assert_eq!(parse_usdt_arg("8@-8(%rbp)"), a(8, false, UsdtLoc::Mem { reg: 32, disp: -8 }));
        assert_eq!(parse_usdt_arg("2@%r12w"), a(2, false, UsdtLoc::Reg(24)));
        assert_eq!(parse_usdt_arg("-1@$5"), a(1, true, UsdtLoc::Const(5)));
        assert_eq!(parse_usdt_arg("3@%rax"), None);
        assert_eq!(parse_usdt_arg("8@%xmm0"), None);
        assert_eq!(parse_usdt_arg("garbage"), None);
    }
}
