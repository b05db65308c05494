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
