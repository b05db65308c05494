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
